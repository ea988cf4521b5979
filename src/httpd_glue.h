/*
 * httpd_glue.h - what the glue files share: the session store over
 * ap_socache, pending requests, login/step-up, error answers, cookies and
 * the per-request note the authn hook leaves for the authz providers.
 */
#ifndef HTTPD_GLUE_H
#define HTTPD_GLUE_H

#include "httpd.h"
#include "http_config.h"

#include "anc_error.h"
#include "anc_policy.h"
#include "anc_replay.h"
#include "anc_response.h"
#include "anc_session.h"
#include "httpd_config.h"

/* ---- httpd_authz.c: the authorization providers. The Shibboleth SP's names
 * (kept for sites that migrate from mod_shib) and mod_authncontext's own,
 * which no other module registers; both pairs take the same rules. */
#define ANC_AUTHZ_CLASSREF "authnContextClassRef"
#define ANC_AUTHZ_MAXAGE "authnContextMaxAge"
#define ANC_AUTHZ_OWN_CLASSREF "authncontext-class"
#define ANC_AUTHZ_OWN_MAXAGE "authncontext-maxage"
/* 0: the class provider, 1: the max-age provider (to tell whether another
 * module has taken over one of the names). */
const void *anc_authz_provider(int which);

/* ---- httpd_configcheck.c: whole-configuration checks run by check_config
 * (configtest): Require names owned by another module, Require without
 * AuthType SAML, AuthnContextErrorURL hosts, Secure cookies on plain http,
 * several IdPs and no AuthnContextIdP. !OK after logging each error. */
int anc_configcheck(apr_pool_t *ptemp, server_rec *s);

/* ---- httpd_store.c: sessions "<c>s:<id>", retry markers "<c>x:<session id>"
 * (session cache), requests "<c>r:<id>" and per-client counters (request
 * cache), replay "<c>a:<id>" (replay cache), <c> spread by a hash. Every
 * cache error is ANC_E_CACHE (the caller fails closed, logs once). */

/* ANC_OK and *s, ANC_E_INPUT when there is no (valid, unexpired) session,
 * ANC_E_CACHE when the store cannot answer. */
/* flags: ANC_SESSION_SKIP_ATTRIBUTES when only the variables are needed */
anc_status_t anc_store_session_load(request_rec *r, const char *sid, int flags,
                                    anc_session_t **s);
anc_status_t anc_store_session_save(request_rec *r, const anc_session_t *s);
anc_status_t anc_store_session_delete(request_rec *r, const char *sid);
/* Logout: ANC_OK only when the store confirmed the session cannot be
 * loaded any more (a write to its key succeeded), else ANC_E_CACHE. */
anc_status_t anc_store_session_end(request_rec *r, const char *sid);
/* A marker that a session came from a retry without RequestedAuthnContext,
 * so the location that asked for the context does not ask again (no loop). */
anc_status_t anc_store_retry_mark(request_rec *r, const anc_session_t *s);
/* 1 marked, 0 not, -1 cache error */
int anc_store_retry_marked(request_rec *r, const char *sid);

/* A pending AuthnRequest: the core's record plus what the glue needs to
 * finish or retry the login for the location that started it. */
typedef struct anc_pending_t {
    anc_request_state_t *st;
    int retry_without_context;
    int binding; /* ANC_BINDING_IS_* */
    int sign;
    int passive;
    const char *sig_alg;
    const char *error_url; /* the location's AuthnContextErrorURL or NULL */
} anc_pending_t;

anc_status_t anc_store_pending_save(request_rec *r, const anc_pending_t *pd);
/* ANC_OK, ANC_E_IN_RESPONSE_TO (unknown, expired, garbage), ANC_E_CACHE. */
anc_status_t anc_store_pending_load(request_rec *r, const char *request_id,
                                    anc_pending_t **pd);
anc_status_t anc_store_pending_delete(request_rec *r, const char *request_id);
/* Removes the pending request and says whether this call removed it:
 * ANC_OK (it did: this answer is the one), ANC_E_IN_RESPONSE_TO (it was
 * gone: answered in parallel, or expired), ANC_E_CACHE. */
anc_status_t anc_store_pending_take(request_rec *r, const char *request_id);
/* Counts one login start of client (an address) in the current minute:
 * *count is the number so far, this one included. ANC_OK or ANC_E_CACHE
 * (logged). Atomic in the shared stores and under the mutex for shmcb. */
anc_status_t anc_store_client_count(request_rec *r, const char *client,
                                    unsigned long *count, apr_time_t *window_end);
/* Single Logout (httpd_store.c "the Single Logout index"): files session s
 * under its principal (anc_logout_principal_key). ANC_OK or ANC_E_CACHE. */
anc_status_t anc_store_slo_index_add(request_rec *r, const anc_session_t *s,
                                     const char *principal);
/* Ends every indexed session of principal for which match() says yes:
 * *ended counts those the store confirmed, *failed the slots or sessions
 * it could not (then ANC_E_CACHE: the caller answers PartialLogout). */
anc_status_t anc_store_slo_index_end(request_rec *r, const char *principal,
                                     int (*match)(void *ctx, const anc_session_t *s),
                                     void *ctx, int *ended, int *failed);
/* Pending LogoutRequests of ours, by request ID, in the request cache. */
anc_status_t anc_store_logout_pending_save(request_rec *r, const anc_request_state_t *st);
/* ANC_OK, ANC_E_IN_RESPONSE_TO (unknown, expired), ANC_E_CACHE. */
anc_status_t anc_store_logout_pending_load(request_rec *r, const char *request_id,
                                           anc_request_state_t **st);
/* ANC_OK (this call removed it), ANC_E_IN_RESPONSE_TO (gone), ANC_E_CACHE. */
anc_status_t anc_store_logout_pending_take(request_rec *r, const char *request_id);
/* The replay cache of the verifier, over the replay socache
 * (AuthnContextReplayCache). */
anc_replay_cache_t *anc_store_replay(request_rec *r);

/* ---- httpd_shared.c: atomic operations on redis and memcache, with the
 * store's own client beside ap_socache; httpd_store.c decides when. */
/* 1 when c is a store these functions serve (redis, memcache). */
int anc_shared_handles(const anc_cache_t *c);

/* Add-if-absent on the key's home server (never another): ANC_OK with
 * *added 1 (it was absent, now set) or 0 (present), ANC_E_CACHE (logged)
 * when that server does not answer. */
anc_status_t anc_shared_add(request_rec *r, const anc_cache_t *c, const char *key,
                            const char *val, apr_size_t len, apr_time_t expiry,
                            int *added);
/* Sets key on every server of c: ANC_OK only when each one took it, else
 * ANC_E_CACHE (logged; the servers that answered are written anyway). */
anc_status_t anc_shared_put_all(request_rec *r, const anc_cache_t *c, const char *key,
                                const char *val, apr_size_t len, apr_time_t expiry);
/* Increments a counter on the key's home server, creating it (at 0, kept
 * until expiry) when absent: ANC_OK and *value, or ANC_E_CACHE (logged). */
anc_status_t anc_shared_incr(request_rec *r, const anc_cache_t *c, const char *key,
                             apr_time_t expiry, unsigned long *value);

/* ---- httpd_login.c */
typedef struct anc_login_t {
    const char *target;       /* local URL to come back to */
    const char *idp;          /* entityID, NULL = the one the location allows, or
                                 discovery when it allows several */
    const anc_dir_cfg_t *dir; /* the target's location (its IdP set) */
    int has_context;
    anc_comparison_t comparison;
    const apr_array_header_t *classes;
    int force_authn;
    int passive;
    int max_age;
    int is_retry;
    int retry_without_context;
    int binding;
    int sign;
    const char *sig_alg;
    const char *error_url;
} anc_login_t;

/* The longest target a login keeps (bytes): the pending-request record
 * is written without authentication, so its size is bounded. */
#define ANC_MAX_TARGET 2048

/* Fills l from a location's configuration (AuthnContextRequest, MaxAge,
 * ForceAuthn, ...). force: the session is too old (ForceAuthn). */
void anc_login_from_dir(request_rec *r, const anc_dir_cfg_t *d, const char *target,
                        int force, anc_login_t *l);
/* Builds and stores the request, sets the browser-binding cookie in
 * r->err_headers_out, and gives either *url (Redirect binding) or *html
 * (POST binding). Returns OK or an HTTP status (logged once): 414 for a
 * target longer than ANC_MAX_TARGET. */
int anc_login_prepare(request_rec *r, const anc_login_t *l, const char **url,
                      const char **html);
/* prepare + answer from a handler: 302/303 with Location, or the POST
 * form page. Returns what a handler returns. */
int anc_login_send(request_rec *r, const anc_login_t *l, int redirect_status);
/* The URL the browser asked for, as a local target (path + query). */
const char *anc_request_target(request_rec *r);
/* 1 when u is a local URL ("/x", not "//x", no scheme, no CR/LF). */
int anc_is_local_url(const char *u);

/* ---- cookies (httpd_login.c) */
const char *anc_cookie_get(request_rec *r, const char *name);
void anc_cookie_set(request_rec *r, const char *name, const char *value, const char *path,
                    int max_age, const char *samesite);
const char *anc_binding_cookie_name(request_rec *r);

/* ---- httpd_error.c */
typedef struct anc_error_facts_t {
    const char *error_type; /* saml-status | insufficient-context |
                               invalid-response | session-expired */
    const char *error_text;
    const char *status_code;
    const char *status_code2;
    const char *status_message;
    const char *entity_id;
    const char *relay_state;
    const char *request_url;
    const char *requested_context;
} anc_error_facts_t;

/* Redirects to error_url (when set and allowed) with the Shibboleth SP's
 * parameters, else answers the built-in page with page_status. Returns
 * what a handler returns. */
int anc_error_respond(request_rec *r, const char *error_url, const anc_error_facts_t *f,
                      int page_status);
/* A plain HTML page with a status (400, 403, 405, 413, 500, 503). */

/* ---- httpd_pages.c: every page a person sees. */
#include "anc_page.h"
/* Renders page id into the layout with the facts (name -> value, escaped
 * by the template) plus title, ref, now and homeURL, and answers it with
 * status and Cache-Control: no-store. When an ErrorDocument is configured
 * for status it returns status instead, so httpd serves the site's page.
 * Returns what a handler returns. */
int anc_page_send(request_rec *r, int status, anc_page_id_t id, const char *title,
                  apr_table_t *facts);
/* The same with list sections ({{*name}}): count and item answer them. */
int anc_page_send_lists(request_rec *r, int status, anc_page_id_t id, const char *title,
                        apr_table_t *facts, anc_page_count_fn count,
                        anc_page_item_fn item, void *ctx);
/* The store cannot answer (fail closed): the unavailable page with 503,
 * from a hook or a handler; returns what the caller returns. */
int anc_unavailable(request_rec *r);
/* A short message page (notice, or unavailable for 503). */
int anc_simple_page(request_rec *r, int status, const char *title, const char *text);
/* The short reference of this request (8 hex), shared with its internal
 * redirects: pages show it, and log lines of the same event carry it. */
const char *anc_request_ref(request_rec *r);
/* A class URI (or a set) by its readable name (AuthnContextClassName, else
 * a known one, else the URI). */
const char *anc_class_display(request_rec *r, const char *uri);
const char *anc_classes_display(request_rec *r, const apr_array_header_t *classes);
const char *anc_set_template_dir(cmd_parms *cmd, void *dummy, const char *arg);
const char *anc_set_class_name(cmd_parms *cmd, void *dummy, const char *uri,
                               const char *name);
void anc_pages_merge(apr_pool_t *p, anc_srv_cfg_t *base, anc_srv_cfg_t *add);
int anc_pages_check_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);

/* ---- httpd_authn.c */
/* What the authn hook leaves on r->request_config for the providers. */
typedef struct anc_req_note_t {
    anc_session_t *session;
    /* the rule that denied this session, for the page that explains it */
    const anc_rule_ref_t *denied_rule; /* Require authnContextClassRef, or NULL */
    int denied_max_age;                /* Require authnContextMaxAge seconds, or 0 */
    const char *user;                  /* REMOTE_USER of the session */
    int lazy; /* set by anc_lazy_access (AuthnContextUnauthenticatedAction
                 pass): session is NULL when the request has none */
} anc_req_note_t;

anc_req_note_t *anc_note_get(request_rec *r);
int anc_is_saml(request_rec *r);
/* Whether any AuthType applies to r (the providers explain AH00027). */
int anc_has_auth_type(request_rec *r);
int anc_check_authn(request_rec *r);
int anc_strip_headers(request_rec *r);
/* AuthnContextUnauthenticatedAction pass: the access_checker hook reads the
 * session (variables, note) for every request there; the fixups hook sets
 * r->user when no Require asked for it. */
int anc_dir_is_lazy(const anc_dir_cfg_t *d);
int anc_lazy_access(request_rec *r);
int anc_lazy_fixups(request_rec *r);
/* 1 when the session meets the location's AuthnContextRequest and
 * AuthnContextMaxAge; *stale set when only freshness fails. */
int anc_session_meets_dir(request_rec *r, const anc_dir_cfg_t *d, const anc_session_t *s,
                          int *stale);
/* The AuthnInstant freshness is judged on at this location
 * (anc_policy_fresh_instant with its AuthnContextRequest). */
apr_time_t anc_session_fresh_instant(request_rec *r, const anc_dir_cfg_t *d,
                                     const anc_session_t *s);
/* insert_filter hook: responses to requests authenticated here get
 * Cache-Control "private, no-cache" unless the application set one. */
void anc_insert_cache_filter(request_rec *r);
void anc_register_cache_filter(void);

/* ---- httpd_authz.c */
void anc_register_authz_providers(apr_pool_t *p);

/* ---- httpd_stepup.c */
int anc_note_auth_failure(request_rec *r, const char *auth_type);

/* ---- httpd_endpoints.c */
int anc_quick_handler(request_rec *r, int lookup);
/* The decoded value of query parameter name (the last one; NULL when
 * absent or badly escaped); *count tells how often it appears. */
const char *anc_query_param(request_rec *r, const char *name, int *count);

/* ---- httpd_slo.c: Single Logout. PATH/slo (HTTP-Redirect GET, HTTP-POST)
 * takes the IdP's LogoutRequest and LogoutResponse. */
int anc_handle_slo(request_rec *r);
/* Whether PATH/logout sends a LogoutRequest for s: AuthnContextSingleLogout
 * On, s's IdP publishes a SingleLogoutService, the SP has a signing key. */
int anc_slo_applies(request_rec *r, const anc_session_t *s);
/* Called by PATH/logout once the local session s has ended (and only
 * then): sends the signed LogoutRequest (302 Redirect binding, or the POST
 * form) and returns the handler's answer, or DECLINED when it could not
 * (logged; the caller answers the local logout as without SLO). ret: the
 * validated local return URL or NULL. */
int anc_slo_start(request_rec *r, const anc_session_t *s, const char *ret);
/* At the ACS: index session s for IdP-initiated logout when its IdP
 * publishes a SingleLogoutService. ANC_OK or ANC_E_CACHE. */
anc_status_t anc_slo_index_session(request_rec *r, const anc_session_t *s);
/* The body of a POST, at most cap bytes (httpd_endpoints.c). */
int anc_read_body(request_rec *r, apr_size_t cap, char **body, apr_size_t *len);

/* ---- httpd_session_endpoint.c: GET PATH/session (JSON or HTML) */
int anc_handle_session(request_rec *r);

/* ---- httpd_login_params.c: PATH/login's authnContextClassRef,
 * authnContextComparison, forceAuthn, isPassive (Shibboleth's names) */
#define ANC_LOGIN_MAX_CLASSES 8
#define ANC_LOGIN_MAX_CLASS_LEN 1024
/* Applies them to l (filled from the target's location). OK, or
 * ANC_LOGIN_ANSWERED after answering a 400 page (logged, reason=bad-input). */
#define ANC_LOGIN_ANSWERED 1
int anc_login_apply_params(request_rec *r, anc_login_t *l);
/* An IdP answer NoPassive to an IsPassive request pd: HTTP_SEE_OTHER back
 * to the target without a session when the target is a lazy location that
 * lets the browser through as it is; DECLINED otherwise (error page). */
int anc_passive_return(request_rec *r, const anc_pending_t *pd, const char *status_code2);
#define ANC_FORBIDDEN_PATH "/forbidden"

/* ---- httpd_disco.c: discovery (PATH/discofeed, chooser, DS, IdP sets) */
/* ANC_OK when entity_id is in trusted metadata and allowed by d's
 * AuthnContextIdP set; ANC_E_UNKNOWN_IDP or ANC_E_IDP_NOT_ALLOWED. */
anc_status_t anc_idp_allowed(request_rec *r, const anc_dir_cfg_t *d,
                             const char *entity_id);
/* How many IdPs d allows (0, 1, or 2 for "several"); *only is the one when 1. */
int anc_idp_allowed_count(request_rec *r, const anc_dir_cfg_t *d, const char **only);
/* A login with no IdP chosen: DECLINED with l->idp set when d allows one
 * IdP only; else answers (the discovery service redirect, the chooser page,
 * or an error page) and returns what a handler returns. */
int anc_disco_start(request_rec *r, const anc_dir_cfg_t *d, anc_login_t *l);
/* Remembers the IdP of a login this browser completed (cookie NAME_idp),
 * when the metadata has several IdPs: called by the ACS for a solicited
 * answer, never for a choice a link merely names. */
void anc_disco_remember(request_rec *r, const char *entity_id);
int anc_handle_discofeed(request_rec *r);

#endif
