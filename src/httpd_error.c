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

int anc_simple_page(request_rec *r, int status, const char *title, const char *text)
{
    r->status = status;
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    ap_set_content_type(r, "text/html; charset=UTF-8");
    ap_rprintf(r,
               "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title>"
               "</head>\n<body><h1>%s</h1>\n<p>%s</p>\n</body></html>\n",
               anc_html_escape(r->pool, title), anc_html_escape(r->pool, title),
               anc_html_escape(r->pool, text));
    return OK;
}

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

static void fact_row(request_rec *r, const char *name, const char *value)
{
    if (value && *value) {
        ap_rprintf(r, "<tr><th>%s</th><td>%s</td></tr>\n", name,
                   anc_html_escape(r->pool, value));
    }
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

    r->status = page_status;
    ap_set_content_type(r, "text/html; charset=UTF-8");
    ap_rputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
             "<title>Sign-in problem</title></head>\n<body><h1>Sign-in problem</h1>\n",
             r);
    ap_rprintf(r, "<p>%s</p>\n", anc_html_escape(r->pool, plain_text(f)));
    ap_rputs("<table>\n", r);
    fact_row(r, "errorType", f->error_type);
    fact_row(r, "errorText", f->error_text);
    fact_row(r, "statusCode", f->status_code);
    fact_row(r, "statusCode2", f->status_code2);
    fact_row(r, "statusMessage", f->status_message);
    fact_row(r, "entityID", f->entity_id);
    fact_row(r, "requestedContext", f->requested_context);
    fact_row(r, "requestURL", request_url);
    fact_row(r, "now", now);
    ap_rputs("</table>\n", r);
    if (f->request_url && anc_is_local_url(f->request_url)) {
        ap_rprintf(r, "<p><a href=\"%s\">Try again</a></p>\n",
                   anc_html_escape(r->pool, f->request_url));
    }
    ap_rputs("</body></html>\n", r);
    return OK;
}
