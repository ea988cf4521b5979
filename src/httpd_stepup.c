/*
 * httpd_stepup.c - what an authenticated user denied by `Require` sees.
 *
 * mod_authz_core answers 401 and runs the note_auth_failure hook of the
 * location's AuthType. For AuthType SAML:
 *  - the session does not meet the location's AuthnContextRequest or
 *    AuthnContextMaxAge (and this is not the answer of a retry without
 *    context): step up. ap_custom_response(r, 401, absolute URL) makes
 *    httpd answer 302 with that Location;
 *  - otherwise logging in again cannot help: the custom response is the
 *    module's local PATH/forbidden, which answers 403 (never a 401 that a
 *    browser or client would take as "log in", never a loop).
 * `AuthzSendForbiddenOnFailure On` makes httpd answer 403 itself, without
 * this hook.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include "anc_authnreq.h"
#include "httpd_glue.h"

APLOG_USE_MODULE(authncontext);

static int forbid(request_rec *r)
{
    const anc_srv_cfg_t *c = anc_srv(r->server);

    ap_custom_response(
        r, HTTP_UNAUTHORIZED,
        apr_pstrcat(r->pool, anc_srv_endpoint(c), ANC_FORBIDDEN_PATH, NULL));
    return OK;
}

int anc_note_auth_failure(request_rec *r, const char *auth_type)
{
    const anc_dir_cfg_t *d;
    anc_req_note_t *note;
    anc_login_t l;
    const char *url = NULL, *html = NULL;
    int stale = 0, rc;

    if (!auth_type || strcasecmp(auth_type, "SAML") != 0) {
        return DECLINED;
    }
    note = anc_note_get(r);
    if (!r->user || !note || !note->session) {
        /* not authenticated by us: nothing to step up */
        return forbid(r);
    }
    d = anc_dir(r);
    if (r->main || anc_session_meets_dir(r, d, note->session, &stale)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "authncontext: stepup: the session meets this location's "
                      "AuthnContextRequest/MaxAge; a new login cannot help: 403");
        return forbid(r);
    }
    if (anc_dir_flag(d->retry_without_context, 0) && !stale) {
        int marked = anc_store_retry_marked(r, note->session->id);
        if (marked != 0) {
            /* the IdP already said it cannot do the context (or the cache
             * cannot tell): no second round */
            return forbid(r);
        }
    }
    anc_login_from_dir(r, d, anc_request_target(r), stale, &l);
    /* A step-up goes to the IdP that opened the session, when the location
     * offers it (the authn hook already refused sessions of IdPs it does
     * not): no chooser in the middle of a step-up, and never the first IdP
     * in metadata when there are several. */
    if (!l.idp && note->session->idp &&
        anc_idp_allowed(r, d, note->session->idp) == ANC_OK) {
        l.idp = note->session->idp;
    }
    if (l.binding == ANC_BINDING_IS_POST) {
        /* a 401 custom response cannot carry a form: go through the login
         * endpoint, which builds the POST for this target's location */
        const anc_srv_cfg_t *c = anc_srv(r->server);
        url = apr_pstrcat(r->pool, ap_construct_url(r->pool, anc_srv_endpoint(c), r),
                          "/login?target=", anc_url_encode(r->pool, l.target),
                          l.idp ? "&entityID=" : "",
                          l.idp ? anc_url_encode(r->pool, l.idp) : "", NULL);
    } else {
        rc = anc_login_prepare(r, &l, &url, &html);
        if (rc != OK || !url) {
            /* logged by anc_login_prepare */
            return forbid(r);
        }
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "authncontext: stepup: session does not meet %s here; sending the "
                  "browser to the IdP",
                  stale ? "AuthnContextMaxAge" : "AuthnContextRequest");
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    ap_custom_response(r, HTTP_UNAUTHORIZED, url);
    return OK;
}
