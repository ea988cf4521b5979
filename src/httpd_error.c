/*
 * httpd_error.c - telling the user (and the application) why a login did
 * not succeed: a redirect to AuthnContextErrorURL with the query parameters
 * the Shibboleth SP uses (so existing error scripts keep working), or a
 * built-in page with the same facts. Never secrets: no assertion, no
 * session id, no key material, only what the IdP's Status and the request
 * already told the browser.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"
#include "apr_uri.h"

#include "anc_authnreq.h"
#include "httpd_glue.h"

APLOG_USE_MODULE(authncontext);

/* A local path, or an http(s) URL whose host is this request's host or is
 * listed in AuthnContextErrorHosts (no open redirect). */
static int error_url_allowed(request_rec *r, const char *url)
{
    const anc_srv_cfg_t *c = anc_srv(r->server);
    apr_uri_t u;
    int i;

    if (anc_is_local_url(url)) {
        return 1;
    }
    if (apr_uri_parse(r->pool, url, &u) != APR_SUCCESS || !u.scheme || !u.hostname ||
        (strcasecmp(u.scheme, "https") && strcasecmp(u.scheme, "http"))) {
        return 0;
    }
    if ((r->hostname && !strcasecmp(u.hostname, r->hostname)) ||
        !strcasecmp(u.hostname, ap_get_server_name(r))) {
        return 1;
    }
    if (c->error_hosts) {
        for (i = 0; i < c->error_hosts->nelts; i++) {
            if (!strcasecmp(u.hostname, APR_ARRAY_IDX(c->error_hosts, i, const char *))) {
                return 1;
            }
        }
    }
    return 0;
}

static void add_param(request_rec *r, apr_array_header_t *q, const char *name,
                      const char *value)
{
    if (value && *value) {
        APR_ARRAY_PUSH(q, const char *) =
            apr_pstrcat(r->pool, name, "=", anc_url_encode(r->pool, value), NULL);
    }
}

static const char *plain_text(const anc_error_facts_t *f)
{
    if (!strcmp(f->error_type, "insufficient-context")) {
        return "This page needs a stronger way of signing in (for example "
               "multi-factor authentication) than the identity provider confirmed.";
    }
    if (!strcmp(f->error_type, "saml-status")) {
        return "The identity provider could not sign you in as this page requires.";
    }
    if (!strcmp(f->error_type, "session-expired")) {
        return "Your session has expired. Please sign in again.";
    }
    return "The sign-in response could not be accepted.";
}

#define ST_PREFIX "urn:oasis:names:tc:SAML:2.0:status:"

/* Plain words for what happened and what the user can do: the title, the
 * message and the advice of the built-in error page. */
static void explain(const anc_error_facts_t *f, const char **title, const char **message,
                    const char **advice)
{
    const char *s2 = f->status_code2 ? f->status_code2 : "";

    *advice = NULL;
    if (!strcmp(f->error_type, "insufficient-context") ||
        !strcmp(s2, ST_PREFIX "NoAuthnContext")) {
        *title = "This page needs a stronger sign-in";
        *message = "Your identity provider could not confirm the way of signing in that "
                   "this page needs (for example multi-factor authentication).";
        *advice =
            "Sign in again and use your second factor, such as a one-time code or a "
            "security key. If you have none set up, ask your IT help desk to register "
            "one.";
    } else if (!strcmp(s2, ST_PREFIX "NoPassive")) {
        *title = "Please sign in";
        *message = "You are not signed in at your identity provider yet.";
    } else if (!strcmp(s2, ST_PREFIX "AuthnFailed")) {
        *title = "Sign-in failed";
        *message = "Your identity provider could not sign you in.";
        *advice = "Check your user name and password, then try again.";
    } else if (!strcmp(s2, ST_PREFIX "RequestDenied")) {
        *title = "Sign-in refused";
        *message = "Your identity provider refused to sign you in to this site.";
        *advice = "If you think you should have access, contact your IT help desk.";
    } else if (!strcmp(f->error_type, "saml-status")) {
        *title = "Sign-in problem";
        *message = "Your identity provider could not complete the sign-in.";
        *advice =
            "Try again in a moment. If it keeps happening, contact your IT help desk.";
    } else if (!strcmp(f->error_type, "session-expired")) {
        *title = "Your sign-in took too long";
        *message =
            "The sign-in you started here has expired, or its answer arrived twice.";
        *advice = "Please sign in again.";
    } else {
        *title = "Sign-in could not be completed";
        *message = "The answer from your identity provider could not be accepted.";
        *advice = "Please sign in again. If it keeps happening, contact this site's "
                  "support and quote the reference below.";
    }
}

static void set_fact(apr_table_t *t, const char *name, const char *value)
{
    if (value && *value) {
        apr_table_setn(t, name, value);
    }
}

/* The built-in error page (httpd_pages.c renders it). */
static int error_page(request_rec *r, const anc_error_facts_t *f, int status,
                      const char *request_url, const char *now)
{
    apr_table_t *t = apr_table_make(r->pool, 16);
    const char *title, *message, *advice;

    explain(f, &title, &message, &advice);
    set_fact(t, "message", message);
    set_fact(t, "advice", advice);
    set_fact(t, "errorType", f->error_type);
    set_fact(t, "statusCode", f->status_code);
    set_fact(t, "statusCode2", f->status_code2);
    set_fact(t, "statusMessage", f->status_message);
    set_fact(t, "entityID", f->entity_id);
    set_fact(t, "requestedContext", f->requested_context);
    set_fact(t, "requestURL", request_url);
    set_fact(t, "now", now);
    /* "Sign in again" through the login endpoint, for the page the user
     * wanted (its location's settings apply), never a bare "back" that
     * would post a stale answer again */
    if (f->request_url && anc_is_local_url(f->request_url)) {
        const anc_srv_cfg_t *c = anc_srv(r->server);

        apr_table_setn(t, "loginURL",
                       apr_pstrcat(r->pool, anc_srv_endpoint(c), "/login?target=",
                                   anc_url_encode(r->pool, f->request_url), NULL));
    }
    return anc_page_send(r, status, ANC_PAGE_ERROR, title, t);
}

int anc_error_respond(request_rec *r, const char *error_url, const anc_error_facts_t *f,
                      int page_status)
{
    const char *now = anc_time_format(r->pool, apr_time_now());
    const char *request_url = f->request_url;

    if (request_url && anc_is_local_url(request_url)) {
        request_url = ap_construct_url(r->pool, request_url, r);
    }
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    if (error_url && !error_url_allowed(r, error_url)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "authncontext: error: AuthnContextErrorURL %s is not local and its "
                      "host is not in AuthnContextErrorHosts; showing the built-in page",
                      error_url);
        error_url = NULL;
    }
    if (error_url) {
        apr_array_header_t *q = apr_array_make(r->pool, 12, sizeof(const char *));

        add_param(r, q, "now", now);
        add_param(r, q, "requestURL", request_url);
        add_param(r, q, "errorType", f->error_type);
        add_param(r, q, "errorText", f->error_text ? f->error_text : plain_text(f));
        add_param(r, q, "statusCode", f->status_code);
        add_param(r, q, "statusCode2", f->status_code2);
        add_param(r, q, "statusMessage", f->status_message);
        add_param(r, q, "entityID", f->entity_id);
        add_param(r, q, "RelayState", f->relay_state);
        add_param(r, q, "eventType", "Login");
        add_param(r, q, "requestedContext", f->requested_context);
        apr_table_setn(r->headers_out, "Location",
                       apr_pstrcat(r->pool, error_url, strchr(error_url, '?') ? "&" : "?",
                                   apr_array_pstrcat(r->pool, q, '&'), NULL));
        return r->method_number == M_POST ? HTTP_SEE_OTHER : HTTP_MOVED_TEMPORARILY;
    }

    return error_page(r, f, page_status, request_url, now);
}
