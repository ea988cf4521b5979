/*
 * httpd_authn.c - the check_authn hook of AuthType SAML: one cache read per
 * request (no XML), r->user, the request variables, and the decision to
 * log in (no session) or step up (a session too weak or too old for this
 * location's AuthnContextRequest / AuthnContextMaxAge).
 *
 * Responses to requests it authenticated are marked private and
 * no-cache (see anc_insert_cache_filter) unless the application says
 * otherwise.
 *
 * Incoming headers that look like ours (AUTHN_CONTEXT_*, Shib-*,
 * REMOTE_USER, in any case and with any punctuation) are removed from every
 * request first, whatever AuthnContextExportHeaders says: a back end must
 * never see a value the client made up.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"
#include "apr_lib.h"

#include "httpd_glue.h"

APLOG_USE_MODULE(authncontext);

anc_req_note_t *anc_note_get(request_rec *r)
{
    /* Set by anc_check_authn on this very request: the providers never
     * read the cache again and never trust a header. */
    return ap_get_module_config(r->request_config, &authncontext_module);
}

int anc_has_auth_type(request_rec *r)
{
    return ap_auth_type(r) != NULL;
}

int anc_is_saml(request_rec *r)
{
    const char *t = ap_auth_type(r);

    return t && !strcasecmp(t, "SAML");
}

/* ---------------------------------------------------------------------- */
/* anti-spoofing                                                           */

/* Whether name starts with prefix once every byte that is not a letter or
 * digit is read as '_' and letters as upper case: back ends differ in how
 * they fold '-', '_', '.' and the like, and one that folds a spelling onto
 * ours must never see it. prefix is upper case and '_' only. */
static int folds_to_prefix(const char *name, const char *prefix)
{
    for (; *prefix; prefix++, name++) {
        unsigned char c = (unsigned char)*name;
        char f;

        if (c >= 'a' && c <= 'z') {
            f = (char)(c - 'a' + 'A');
        } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            f = (char)c;
        } else if (c == '\0') {
            return 0;
        } else {
            f = '_';
        }
        if (f != *prefix) {
            return 0;
        }
    }
    return 1;
}

/* Runs on every request for every header: the first byte rules out
 * nearly all names before any folding. */
static int header_is_ours(const char *name)
{
    switch (name[0]) {
        case 'a':
        case 'A':
            return folds_to_prefix(name, "AUTHN_CONTEXT_");
        case 's':
        case 'S':
            return folds_to_prefix(name, "SHIB_");
        case 'r':
        case 'R':
            return folds_to_prefix(name, "REMOTE_USER") && name[11] == '\0';
        default:
            return 0;
    }
}

/* Removes from t every key that is_ours accepts (collected first: the
 * table must not change under the walk). Nothing is allocated when none
 * matches, the common case. */
static void remove_keys(request_rec *r, apr_table_t *t, int (*is_ours)(const char *),
                        const char *what)
{
    const apr_array_header_t *h = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)h->elts;
    apr_array_header_t *found = NULL;
    int i;

    for (i = 0; i < h->nelts; i++) {
        if (e[i].key && is_ours(e[i].key)) {
            if (!found) {
                found = apr_array_make(r->pool, 4, sizeof(const char *));
            }
            APR_ARRAY_PUSH(found, const char *) = e[i].key;
        }
    }
    for (i = 0; found && i < found->nelts; i++) {
        const char *k = APR_ARRAY_IDX(found, i, const char *);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "authncontext: authn: removed %s %s",
                      what, k);
        apr_table_unset(t, k);
    }
}

int anc_strip_headers(request_rec *r)
{
    remove_keys(r, r->headers_in, header_is_ours, "incoming header");
    return DECLINED;
}

/* ---------------------------------------------------------------------- */
/* variables                                                               */

/* A value as a request header: every control character (CR and LF above
 * all) becomes a space. Attribute values and NameIDs are IdP data, often
 * editable by the user at the IdP; a line break in them would start a new
 * header line in the request a proxy sends on (RFC 9110 5.5: field values
 * hold no CR/LF/NUL). */
static const char *header_value(apr_pool_t *p, const char *value)
{
    char *v = NULL, *q;

    for (q = (char *)value; *q; q++) {
        if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f) {
            if (!v) {
                v = apr_pstrdup(p, value);
                q = v + (q - value);
            }
            *q = ' ';
        }
    }
    return v ? v : value;
}

/* The names the module sets: AUTHN_CONTEXT_* and the Shib-* aliases. */
static int var_is_ours(const char *name)
{
    return (apr_toupper(*name) == 'A' && !strncasecmp(name, "AUTHN_CONTEXT_", 14)) ||
           (apr_toupper(*name) == 'S' && !strncasecmp(name, "Shib-", 5));
}

/* Removes every variable of ours already in t: a SetEnvIf, a subrequest's
 * copy of its parent's table or an internal redirect may have put one
 * there. After this the module's values can be appended (apr_table_addn)
 * without the per-key search apr_table_setn makes, which with a dozen
 * names sharing the "AUTH" checksum costs a strcasecmp per pair. */
static void drop_ours(request_rec *r, apr_table_t *t)
{
    remove_keys(r, t, var_is_ours, "earlier variable");
}

typedef struct {
    request_rec *r;
    int export_headers;
} vars_ctx_t;

static void set_var(void *data, const char *name, const char *value)
{
    vars_ctx_t *ctx = data;

    apr_table_addn(ctx->r->subprocess_env, name, value);
    if (ctx->export_headers) {
        apr_table_addn(ctx->r->headers_in, name, header_value(ctx->r->pool, value));
    }
}

static const char *user_from_session(request_rec *r, const anc_dir_cfg_t *d,
                                     const anc_session_t *s)
{
    int i;

    if (d->user_attribute && s->attributes) {
        for (i = 0; i < s->attributes->nelts; i++) {
            const anc_attribute_t *a = &APR_ARRAY_IDX(s->attributes, i, anc_attribute_t);
            if ((!strcmp(a->name, d->user_attribute) ||
                 (a->friendly_name && !strcmp(a->friendly_name, d->user_attribute))) &&
                a->values && a->values->nelts &&
                *APR_ARRAY_IDX(a->values, 0, const char *)) {
                return APR_ARRAY_IDX(a->values, 0, const char *);
            }
        }
        return NULL;
    }
    return s->name_id.value;
}

/* The variables were computed when the session was stored
 * (anc_session_vars.c): here they are only appended, where they lie in
 * the record read from the cache. */
static void set_variables(request_rec *r, const anc_dir_cfg_t *d, const anc_session_t *s,
                          const char *user)
{
    vars_ctx_t ctx = {r, anc_dir_flag(d->export_headers, 0)};

    drop_ours(r, r->subprocess_env);
    if (ctx.export_headers) {
        drop_ours(r, r->headers_in);
    }
    anc_session_vars_each(s, set_var, &ctx);
    if (ctx.export_headers && user) {
        apr_table_setn(r->headers_in, "REMOTE_USER", header_value(r->pool, user));
    }
}

/* ---------------------------------------------------------------------- */
/* the location's policy                                                   */

int anc_session_meets_dir(request_rec *r, const anc_dir_cfg_t *d, const anc_session_t *s,
                          int *stale)
{
    const anc_srv_cfg_t *c = anc_srv(r->server);
    int ok = 1;

    *stale = 0;
    if (d->request_set == 1 &&
        (!anc_dir_request_rule(d) ||
         !anc_class_rule_eval(anc_dir_request_rule(d), anc_srv_vocab(c), s->classes))) {
        ok = 0;
    }
    if (d->max_age > 0 &&
        !anc_policy_fresh(anc_session_fresh_instant(r, d, s), d->max_age, r->request_time,
                          anc_srv_clock_skew(c))) {
        *stale = 1;
        ok = 0;
    }
    return ok;
}

apr_time_t anc_session_fresh_instant(request_rec *r, const anc_dir_cfg_t *d,
                                     const anc_session_t *s)
{
    /* the statement whose class meets this location's AuthnContextRequest
     * (the oldest of those); the oldest of all without one */
    return anc_policy_fresh_instant(anc_dir_request_rule(d),
                                    anc_srv_vocab(anc_srv(r->server)), s->statements);
}

/* A location with an IdP set (AuthnContextIdP) takes only sessions one of
 * its IdPs opened: with several IdPs in the metadata (a federation), any of
 * them could otherwise assert this location's users and classes (SAML core
 * 2.2.5: an assertion speaks for its Issuer only). The single-entityID form
 * needs no metadata lookup (as before); a set with entityAttribute= judges
 * the IdP by its current metadata. */
static int session_idp_allowed(request_rec *r, const anc_dir_cfg_t *d,
                               const anc_session_t *s)
{
    if (!d->idp_ids && !d->idp_attrs) {
        return 1;
    }
    if (!s->idp) {
        return 0;
    }
    if (d->idp) {
        return strcmp(s->idp, d->idp) == 0;
    }
    return anc_idp_allowed(r, d, s->idp) == ANC_OK;
}

/* idp: the IdP to go to (a step-up: the session's), or NULL (the one the
 * location allows, or discovery) */
static int start_login_at(request_rec *r, const anc_dir_cfg_t *d, int stale,
                          const char *why, const char *idp)
{
    anc_login_t l;
    int rc;

    if (r->main) {
        /* a subrequest only asks "would this be allowed?" */
        return HTTP_UNAUTHORIZED;
    }
    if (anc_dir_flag(d->unauth_action, ANC_UNAUTH_REDIRECT) == ANC_UNAUTH_401) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "authncontext: authn: %s; answering 401 "
                      "(AuthnContextUnauthenticatedAction 401)",
                      why);
        apr_table_setn(r->err_headers_out, "WWW-Authenticate", "SAML");
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
        return HTTP_UNAUTHORIZED;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "authncontext: authn: %s; sending the "
                  "browser to the IdP",
                  why);
    anc_login_from_dir(r, d, anc_request_target(r), stale, &l);
    if (idp && !l.idp) {
        l.idp = idp;
    }
    rc = anc_login_send(r, &l, HTTP_MOVED_TEMPORARILY);
    /* a POST-binding page was written: the request is complete */
    return rc == OK ? DONE : rc;
}

static int start_login(request_rec *r, const anc_dir_cfg_t *d, int stale, const char *why)
{
    return start_login_at(r, d, stale, why, NULL);
}

/* OK when s meets the location's AuthnContextRequest and
 * AuthnContextMaxAge (or came from a retry without context), else the
 * step-up login. */
static int step_up_if_needed(request_rec *r, const anc_dir_cfg_t *d,
                             const anc_session_t *s)
{
    int stale = 0;

    if (anc_session_meets_dir(r, d, s, &stale)) {
        return OK;
    }
    /* With "MFA with retry", a session that came from the retry has
     * already been offered the context: let Require decide. */
    if (anc_dir_flag(d->retry_without_context, 0)) {
        int marked = anc_store_retry_marked(r, s->id);
        if (marked < 0) {
            return anc_unavailable(r);
        }
        if (marked && !stale) {
            return OK;
        }
    }
    /* A step-up goes back to the IdP that opened the session (when the
     * location offers it): never a chooser in the middle of a step-up, and
     * never the first IdP of the metadata when there are several. */
    return start_login_at(r, d, stale,
                          stale ? "session older than AuthnContextMaxAge"
                                : "session does not meet AuthnContextRequest (step-up)",
                          s->idp && anc_idp_allowed(r, d, s->idp) == ANC_OK ? s->idp
                                                                            : NULL);
}

int anc_check_authn(request_rec *r)
{
    const anc_srv_cfg_t *c = anc_srv(r->server);
    const anc_dir_cfg_t *d;
    const char *sid, *user;
    anc_session_t *s = NULL;
    anc_req_note_t *note;
    anc_status_t st;

    if (!anc_is_saml(r)) {
        return DECLINED;
    }
    d = anc_dir(r);
    if (!anc_srv_ready(r, "authn")) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    note = anc_note_get(r);
    if (note && note->lazy) {
        /* AuthnContextUnauthenticatedAction pass, and a Require needs a
         * user: from here on the location behaves as any other (login,
         * step-up for AuthnContextRequest / AuthnContextMaxAge). The
         * access checker has read and judged the session already. */
        if (!note->session) {
            return start_login(r, d, 0, "no session, and a Require needs a user");
        }
        r->user = (char *)note->user;
        r->ap_auth_type = "SAML";
        return step_up_if_needed(r, d, note->session);
    }
    sid = anc_cookie_get(r, anc_srv_cookie_name(c));
    if (!sid || !anc_is_hex_id(sid, 16)) {
        return start_login(r, d, 0, "no session");
    }
    st = anc_store_session_load(
        r, sid, d->user_attribute ? ANC_SESSION_DECODE_ALL : ANC_SESSION_SKIP_ATTRIBUTES,
        &s);
    if (st == ANC_E_CACHE) {
        /* logged once by the store (reason=cache-unavailable); fail closed */
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
        return anc_unavailable(r);
    }
    if (st != ANC_OK) {
        return start_login(r, d, 0, "session unknown or expired");
    }
    /* A location pinned to one IdP (AuthnContextIdP) takes only sessions
     * that IdP opened: with several IdPs in the metadata (a federation),
     * any of them could otherwise assert this location's users and classes
     * (SAML core 2.2.5: an assertion speaks for its Issuer only). */
    if (!session_idp_allowed(r, d, s)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "authncontext: authn: session not usable here reason=%s "
                      "detail=session from %s, not in this location's AuthnContextIdP",
                      anc_reason(ANC_E_ISSUER), s->idp ? s->idp : "-");
        return start_login(r, d, 0, "session from another IdP");
    }
    user = user_from_session(r, d, s);
    if (!user || !*user) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "authncontext: authn: failed reason=%s detail=attribute %s "
                      "(AuthnContextUserAttribute) is not in the session",
                      anc_reason(ANC_E_CONFIG),
                      d->user_attribute ? d->user_attribute : "NameID");
        return HTTP_FORBIDDEN;
    }
    r->user = apr_pstrdup(r->pool, user);
    r->ap_auth_type = "SAML";
    note = apr_pcalloc(r->pool, sizeof(*note));
    note->session = s;
    note->user = r->user;
    ap_set_module_config(r->request_config, &authncontext_module, note);
    set_variables(r, d, s, r->user);

    return step_up_if_needed(r, d, s);
}

/* ---------------------------------------------------------------------- */
/* lazy sessions (AuthnContextUnauthenticatedAction pass)                  */

int anc_dir_is_lazy(const anc_dir_cfg_t *d)
{
    return anc_dir_flag(d->unauth_action, ANC_UNAUTH_REDIRECT) == ANC_UNAUTH_PASS;
}

/* The session of a lazy location, or NULL when there is none usable here
 * (no cookie, unknown or expired, another IdP than AuthnContextIdP, no
 * AuthnContextUserAttribute value). *user is what REMOTE_USER will be.
 * ANC_E_CACHE when the store cannot answer. */
static anc_status_t lazy_load(request_rec *r, const anc_dir_cfg_t *d, anc_session_t **out,
                              const char **user)
{
    const char *sid = anc_cookie_get(r, anc_srv_cookie_name(anc_srv(r->server)));
    anc_session_t *s = NULL;
    anc_status_t st;

    *out = NULL;
    *user = NULL;
    if (!sid || !anc_is_hex_id(sid, 16)) {
        return ANC_OK;
    }
    st = anc_store_session_load(
        r, sid, d->user_attribute ? ANC_SESSION_DECODE_ALL : ANC_SESSION_SKIP_ATTRIBUTES,
        &s);
    if (st == ANC_E_CACHE) {
        return st;
    }
    if (st != ANC_OK) {
        return ANC_OK;
    }
    if (!session_idp_allowed(r, d, s)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "authncontext: lazy: session not usable here reason=%s "
                      "detail=session from %s, not in this location's AuthnContextIdP",
                      anc_reason(ANC_E_ISSUER), s->idp ? s->idp : "-");
        return ANC_OK;
    }
    *user = user_from_session(r, d, s);
    if (!*user || !**user) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "authncontext: lazy: session not usable here reason=%s "
                      "detail=attribute %s (AuthnContextUserAttribute) is not in the "
                      "session",
                      anc_reason(ANC_E_CONFIG),
                      d->user_attribute ? d->user_attribute : "NameID");
        *user = NULL;
        return ANC_OK;
    }
    *user = apr_pstrdup(r->pool, *user);
    *out = s;
    return ANC_OK;
}

/* access_checker hook. httpd authenticates only when a Require needs a
 * user: under `Require all granted` the authn hook never runs. A lazy
 * location still wants the variables of a session when there is one, so
 * the session is read here, a hook that runs for every request, before
 * authorization. r->user is left NULL until the fixups (anc_lazy_fixups):
 * mod_authz_core answers a denial without authentication with 403, which
 * would take step-up away; with r->user NULL a Require that needs a user
 * answers "no user" and httpd runs the authn hook, which takes the
 * session from the note. */
int anc_lazy_access(request_rec *r)
{
    const anc_dir_cfg_t *d;
    anc_req_note_t *note;
    anc_session_t *s = NULL;
    const char *user = NULL;

    if (!anc_is_saml(r)) {
        return DECLINED;
    }
    d = anc_dir(r);
    if (!anc_dir_is_lazy(d)) {
        return DECLINED;
    }
    if (!anc_srv_ready(r, "lazy")) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* A subrequest with the main request's configuration never gets here
     * (httpd reuses the main request's checks: the hook is registered per
     * configuration); one with another configuration may pin another IdP
     * or user attribute, so it reads and judges the session itself. */
    if (lazy_load(r, d, &s, &user) == ANC_E_CACHE) {
        /* logged once by the store (reason=cache-unavailable); fail closed */
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
        return anc_unavailable(r);
    }
    note = apr_pcalloc(r->pool, sizeof(*note));
    note->lazy = 1;
    note->session = s;
    note->user = user;
    ap_set_module_config(r->request_config, &authncontext_module, note);
    if (s) {
        set_variables(r, d, s, user);
    } else {
        /* no session: none of our names, whoever set them (SetEnvIf) */
        drop_ours(r, r->subprocess_env);
        if (anc_dir_flag(d->export_headers, 0)) {
            drop_ours(r, r->headers_in);
        }
    }
    return DECLINED;
}

/* fixups hook: a lazy request with a session gets its user even when no
 * Require asked for one (REMOTE_USER for CGI, logs, proxies). */
int anc_lazy_fixups(request_rec *r)
{
    anc_req_note_t *note = anc_note_get(r);

    if (note && note->lazy && note->session && !r->user && anc_is_saml(r)) {
        r->user = (char *)note->user;
        r->ap_auth_type = "SAML";
    }
    return DECLINED;
}

/* ---------------------------------------------------------------------- */
/* caching of protected content                                            */

/* RFC 9111: "private" (5.2.2.7) keeps the page of one user out of shared
 * caches (proxies, mod_cache); "no-cache" (5.2.2.4) lets the browser keep
 * it but never reuse it without asking us first, so after logout (or when
 * the session has expired) the revalidation meets the login redirect
 * instead of showing the cached page. Without an explicit directive a
 * browser may reuse a page heuristically (4.2.2). no-store would also
 * forbid the back/forward cache and the validators that make a 304
 * possible, a cost the application may choose but we need not impose. */
#define PRIVATE_CACHE_CONTROL "private, no-cache"

static ap_filter_rec_t *cache_filter;

/* Runs once, on the first brigade, when a handler (static file, CGI,
 * mod_proxy) has set its headers and before the header filter sends them:
 * an application's own Cache-Control is kept as it is, never doubled. */
static apr_status_t cache_mark_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;

    if (f->ctx) {
        /* a lazy location: the same URL differs by session (RFC 9110
         * 12.5.5), also for the anonymous page a shared cache might keep */
        apr_table_mergen(r->headers_out, "Vary", "Cookie");
    }
    if (!apr_table_get(r->headers_out, "Cache-Control") &&
        !apr_table_get(r->err_headers_out, "Cache-Control")) {
        apr_table_setn(r->headers_out, "Cache-Control", PRIVATE_CACHE_CONTROL);
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

void anc_insert_cache_filter(request_rec *r)
{
    anc_req_note_t *note;

    if (r->main) {
        return;
    }
    /* A lazy location: with or without a session, its pages are private
     * and vary by the cookie. */
    if (!r->user && (note = anc_note_get(r)) && note->lazy) {
        ap_add_output_filter_handle(cache_filter, note, r, r->connection);
        return;
    }
    /* Otherwise only what we authenticated: r->user with AuthType SAML
     * (also carried over to an internal redirect that skips
     * authentication). One pointer test for every other request. */
    if (!r->user || !r->ap_auth_type || strcasecmp(r->ap_auth_type, "SAML")) {
        return;
    }
    note = anc_note_get(r);
    ap_add_output_filter_handle(cache_filter, note && note->lazy ? note : NULL, r,
                                r->connection);
}

void anc_register_cache_filter(void)
{
    /* before mod_cache's CACHE_SAVE (AP_FTYPE_CONTENT_SET + 1), so a
     * shared cache in front of the application sees "private" too */
    cache_filter = ap_register_output_filter(
        "AUTHNCONTEXT_CACHE_CONTROL", cache_mark_filter, NULL, AP_FTYPE_CONTENT_SET);
}
