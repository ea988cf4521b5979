/*
 * mod_authncontext.c - httpd glue: the module record and hook registration.
 * The behaviour lives in src/httpd_*.c (glue) and src/anc_*.c (core):
 *   httpd_config.c     directives, create/merge, start-up hooks
 *   httpd_endpoints.c  PATH/acs, login, logout, metadata (quick_handler)
 *   httpd_login_params.c  PATH/login's Shibboleth parameters, passive return
 *   httpd_session_endpoint.c  PATH/session (JSON or HTML)
 *   httpd_authn.c      AuthType SAML: session, r->user, variables, step-up,
 *                      lazy locations (AuthnContextUnauthenticatedAction pass)
 *   httpd_authz.c      Require authnContextClassRef / authnContextMaxAge
 *   httpd_stepup.c     note_auth_failure: step-up or 403
 *   httpd_login.c      AuthnRequests, bindings, cookies
 *   httpd_error.c      error redirect / page
 *   httpd_store.c      sessions, requests, replay over ap_socache
 */
#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "http_request.h"

#include "httpd_config.h"
#include "httpd_glue.h"

static void authncontext_register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(anc_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(anc_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(anc_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(anc_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* endpoints before mod_cache and friends; they must answer even inside
     * a protected <Location> */
    ap_hook_quick_handler(anc_quick_handler, NULL, NULL, APR_HOOK_FIRST);
    /* anti-spoofing: as soon as the request is read, before mod_rewrite,
     * authn/authz or any handler sees the headers */
    ap_hook_post_read_request(anc_strip_headers, NULL, NULL, APR_HOOK_REALLY_FIRST);
    /* lazy locations: the session is read even when no Require needs a
     * user (the authn hook would not run) */
    /* per configuration, like the authn hook: a plain access_checker
     * would turn off httpd's reuse of the main request's authentication
     * for subrequests with the same configuration (mod_dir's index
     * lookups), one more cache read per request everywhere */
    ap_hook_check_access(anc_lazy_access, NULL, NULL, APR_HOOK_FIRST,
                         AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_fixups(anc_lazy_fixups, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_check_authn(anc_check_authn, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_note_auth_failure(anc_note_auth_failure, NULL, NULL, APR_HOOK_MIDDLE);
    /* protected responses must not be reused from a cache after logout */
    anc_register_cache_filter();
    ap_hook_insert_filter(anc_insert_cache_filter, NULL, NULL, APR_HOOK_MIDDLE);
    anc_register_authz_providers(p);
}

AP_DECLARE_MODULE(authncontext) = {STANDARD20_MODULE_STUFF,     anc_create_dir_config,
                                   anc_merge_dir_config,        anc_create_server_config,
                                   anc_merge_server_config,     anc_cmds,
                                   authncontext_register_hooks, AP_MODULE_FLAG_NONE};
