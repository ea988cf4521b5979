/*
 * httpd_endpoints.c - the SP endpoints under AuthnContextEndpoint:
 *   POST PATH/acs       the Assertion Consumer Service (HTTP-POST binding)
 *   GET  PATH/discofeed the IdPs as DiscoFeed JSON (httpd_disco.c)
 *   GET/POST PATH/slo   Single Logout messages from the IdP (httpd_slo.c)
 *   GET  PATH/login     ?target=/local/url[&idp=|entityID=entityID] and the
 *                       parameters of httpd_login_params.c
 *   GET  PATH/logout    ?return=/local/url
 *   GET  PATH/metadata  the SP's metadata
 *   GET  PATH/session   the caller's session (httpd_session_endpoint.c)
 *        PATH/forbidden the 403 answer step-up uses instead of a 401
 * They are served from the quick_handler, keyed on the server's endpoint
 * path, so they work even inside a protected <Location>. The path is
 * compared as sent (no decoding, no normalisation): anything else falls
 * through to httpd.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_crypto.h"
#include "apr_strings.h"

#include "anc_authnreq.h"
#include "anc_metadata.h"
#include "anc_response.h"
#include "httpd_glue.h"

APLOG_USE_MODULE(authncontext);

#define NS_NO_AUTHN_CONTEXT "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext"

/* ---------------------------------------------------------------------- */
/* form and query parsing                                                  */

typedef struct form_t {
    const char *saml_response;
    const char *relay_state;
    int n_response;
    int n_relay;
} form_t;

static char *form_decode(apr_pool_t *p, const char *s, apr_size_t n)
{
    char *v = apr_pstrmemdup(p, s, n);

    if (ap_unescape_urlencoded(v) != OK) {
        return NULL;
    }
    return v;
}

/* Strict application/x-www-form-urlencoded: 0 when an escape is malformed;
 * the caller refuses a field given twice (counted in n_response/n_relay). */
static int form_parse(apr_pool_t *p, const char *body, apr_size_t len, form_t *f)
{
    const char *s = body, *end = body + len;

    memset(f, 0, sizeof(*f));
    while (s < end) {
        const char *amp = memchr(s, '&', (apr_size_t)(end - s));
        const char *fe = amp ? amp : end;
        const char *eq = memchr(s, '=', (apr_size_t)(fe - s));
        const char *name, *value;

        if (fe == s) {
            s = fe + 1;
            continue;
        }
        name = form_decode(p, s, (apr_size_t)((eq ? eq : fe) - s));
        value = eq ? form_decode(p, eq + 1, (apr_size_t)(fe - eq - 1)) : "";
        if (!name || !value) {
            return 0;
        }
        if (!strcmp(name, "SAMLResponse")) {
            f->saml_response = value;
            f->n_response++;
        } else if (!strcmp(name, "RelayState")) {
            f->relay_state = value;
            f->n_relay++;
        }
        s = fe + 1;
    }
    return 1;
}

const char *anc_query_param(request_rec *r, const char *name, int *count)
{
    const char *q = r->args, *found = NULL;
    apr_size_t nlen = strlen(name);

    *count = 0;
    while (q && *q) {
        const char *amp = strchr(q, '&');
        apr_size_t flen = amp ? (apr_size_t)(amp - q) : strlen(q);
        if (flen > nlen && !strncmp(q, name, nlen) && q[nlen] == '=') {
            found = form_decode(r->pool, q + nlen + 1, flen - nlen - 1);
            (*count)++;
        }
        q = amp ? amp + 1 : NULL;
    }
    return found;
}

/* The media type is exactly application/x-www-form-urlencoded (SAML
 * bindings 3.5.4: the HTTP-POST binding is an HTML form), parameters such
 * as charset allowed; a longer type that only starts with it is not. */
static int is_form_urlencoded(const char *ctype)
{
    static const char type[] = "application/x-www-form-urlencoded";
    const char *p;

    if (!ctype || strncasecmp(ctype, type, sizeof(type) - 1) != 0) {
        return 0;
    }
    for (p = ctype + sizeof(type) - 1; *p == ' ' || *p == '\t'; p++) {
    }
    return *p == '\0' || *p == ';';
}

/* The body, at most cap bytes. The buffer follows what arrives (the
 * announced length, or doubling for a chunked body), so a small POST does
 * not cost the whole cap in memory. */
int anc_read_body(request_rec *r, apr_size_t cap, char **body, apr_size_t *len)
{
    apr_size_t n = 0, size;
    char *buf;
    int rc;

    if ((rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK) {
        return rc;
    }
    if (r->remaining > (apr_off_t)cap) {
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    size = r->remaining > 0 ? (apr_size_t)r->remaining + 1 : 16384;
    buf = apr_palloc(r->pool, size);
    if (ap_should_client_block(r)) {
        long got;
        while ((got = ap_get_client_block(r, buf + n, size - n)) > 0) {
            n += (apr_size_t)got;
            if (n > cap) {
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
            }
            if (n == size) {
                /* full: room for cap + 1 bytes at the most, so that one
                 * byte too many is seen */
                apr_size_t bigger = size * 2 > cap + 1 ? cap + 1 : size * 2;
                char *nb = apr_palloc(r->pool, bigger);
                memcpy(nb, buf, n);
                buf = nb;
                size = bigger;
            }
        }
        if (got < 0) {
            return HTTP_BAD_REQUEST;
        }
    }
    buf[n] = '\0';
    *body = buf;
    *len = n;
    return OK;
}

/* ---------------------------------------------------------------------- */
/* ACS                                                                     */

typedef struct acs_ctx_t {
    request_rec *r;
    const char *browser_binding; /* cookie value, or NULL */
    anc_pending_t *pending;      /* the request answered, once known */
    int pending_gone;            /* this browser started a login, but the
                                    request answered is not pending (any more) */
} acs_ctx_t;

/* The binding cookie is a bearer secret: compare it in time that does not
 * depend on where it differs (no byte-by-byte oracle). Both are 32 hex
 * digits when well formed; anything else does not match. */
static int binding_matches(const char *cookie, const char *stored)
{
    if (!cookie || !stored || !anc_is_hex_id(cookie, 16) || !anc_is_hex_id(stored, 16)) {
        return 0;
    }
    return apr_crypto_equals(cookie, stored, strlen(stored));
}

/* The verifier's InResponseTo check: a request we sent, not yet answered,
 * from this browser (the binding cookie set when it was sent). */
static anc_status_t acs_lookup(void *vctx, const char *in_response_to,
                               apr_pool_t *scratch, anc_error_t **err)
{
    acs_ctx_t *ctx = vctx;
    anc_pending_t *pd = NULL;
    anc_status_t st = anc_store_pending_load(ctx->r, in_response_to, &pd);

    if (st == ANC_E_CACHE) {
        return anc_error_set(scratch, err, ANC_E_CACHE, "request store unavailable");
    }
    if (st != ANC_OK) {
        /* expired from the cache (or answered already) while the browser
         * still holds the binding cookie of a login it started here */
        ctx->pending_gone = anc_is_hex_id(ctx->browser_binding, 16);
        return anc_error_set(scratch, err, ANC_E_IN_RESPONSE_TO,
                             "no outstanding request with this ID");
    }
    if (!binding_matches(ctx->browser_binding, pd->st->browser_binding)) {
        /* the usual cause on a test host: Secure cookies over plain http,
         * which browsers never send back */
        int plain = !ctx->browser_binding &&
                    anc_srv_cookie_secure(anc_srv(ctx->r->server)) &&
                    strcasecmp(ap_http_scheme(ctx->r), "https");

        return anc_error_set(scratch, err, ANC_E_IN_RESPONSE_TO,
                             plain
                                 ? "binding cookie missing: this request came over plain "
                                   "http and the cookie is Secure "
                                   "(AuthnContextCookieSecure On), which browsers send "
                                   "over https only: serve the site over https"
                                 : "request was started by another browser (binding "
                                   "cookie missing or different)");
    }
    ctx->pending = pd;
    return ANC_OK;
}

/* The pending request named by RelayState (for IdP errors and rejects
 * without a usable InResponseTo), bound to this browser; NULL otherwise. */
static anc_pending_t *pending_from_relay(acs_ctx_t *ctx, const char *relay_state)
{
    anc_error_t *err = NULL;

    if (ctx->pending) {
        return ctx->pending;
    }
    if (relay_state && acs_lookup(ctx, relay_state, ctx->r->pool, &err) == ANC_OK) {
        return ctx->pending;
    }
    return NULL;
}

static const char *joined(apr_pool_t *p, const apr_array_header_t *a)
{
    return a && a->nelts ? apr_array_pstrcat(p, a, ' ') : NULL;
}

static const char *requested_text(request_rec *r, const anc_pending_t *pd)
{
    if (!pd || !pd->st->has_requested_context) {
        return NULL;
    }
    return apr_pstrcat(r->pool, anc_comparison_name(pd->st->comparison), " ",
                       joined(r->pool, pd->st->requested_classes), NULL);
}

static const char *error_url_for(request_rec *r, const anc_pending_t *pd)
{
    if (pd && pd->error_url) {
        return pd->error_url;
    }
    /* the server-level AuthnContextErrorURL (endpoints have no location) */
    return anc_dir(r)->error_url;
}

/* Ends the login pd started (when known) on the error URL or page; the
 * facts every ACS error shares come from the pending request. */
static int acs_error(request_rec *r, const anc_pending_t *pd, const char *relay_state,
                     anc_error_facts_t *f, int page_status)
{
    if (pd) {
        anc_store_pending_delete(r, pd->st->request_id);
    }
    f->relay_state = relay_state;
    f->request_url = pd ? pd->st->target : NULL;
    f->requested_context = requested_text(r, pd);
    return anc_error_respond(r, error_url_for(r, pd), f, page_status);
}

static int acs_reject(request_rec *r, acs_ctx_t *ctx, const char *relay_state,
                      anc_status_t code, const char *detail)
{
    anc_pending_t *pd = ctx->pending;
    anc_error_facts_t f;
    int status;

    ap_log_rerror(
        APLOG_MARK, APLOG_WARNING, 0, r,
        "authncontext: acs: rejected reason=%s ref=%s request=%s idp=%s detail=%s",
        anc_reason(code), anc_request_ref(r), pd ? pd->st->request_id : "-",
        pd && pd->st->idp ? pd->st->idp : "-", detail ? detail : "");
    if (code == ANC_E_CACHE) {
        return anc_simple_page(r, HTTP_SERVICE_UNAVAILABLE, "Service unavailable",
                               "The session store is not available. Please try "
                               "again later.");
    }
    status = code == ANC_E_TOO_LARGE ? HTTP_REQUEST_ENTITY_TOO_LARGE : HTTP_BAD_REQUEST;
    if (!pd && code != ANC_E_IN_RESPONSE_TO) {
        pd = pending_from_relay(ctx, relay_state);
    }
    memset(&f, 0, sizeof(f));
    /* "session-expired": the login this browser started took too long (or
     * its answer came twice); the application can simply offer a new
     * login. Everything else is a response we cannot accept. */
    f.error_type = code == ANC_E_IN_RESPONSE_TO && ctx->pending_gone ? "session-expired"
                                                                     : "invalid-response";
    f.error_text = anc_reason(code);
    return acs_error(r, pd, relay_state, &f, status);
}

static int acs_idp_error(request_rec *r, acs_ctx_t *ctx, const char *relay_state,
                         const anc_idp_status_t *status)
{
    anc_pending_t *pd =
        ctx->pending
            ? ctx->pending
            : pending_from_relay(ctx, status->in_response_to ? status->in_response_to
                                                             : relay_state);
    anc_error_facts_t f;

    ap_log_rerror(
        APLOG_MARK, APLOG_NOTICE, 0, r,
        "authncontext: acs: IdP error ref=%s request=%s in_response_to=%s idp=%s "
        "status=%s status2=%s message=%s",
        anc_request_ref(r), pd ? pd->st->request_id : "-",
        status->in_response_to ? status->in_response_to : "-",
        status->idp ? status->idp : "-", status->status_code,
        status->status_code2 ? status->status_code2 : "-",
        status->status_message ? status->status_message : "-");
    /* The "MFA with retry" pattern: once, without RequestedAuthnContext. */
    if (pd && pd->retry_without_context && pd->st->has_requested_context &&
        !pd->st->is_retry && status->status_code2 &&
        !strcmp(status->status_code2, NS_NO_AUTHN_CONTEXT)) {
        anc_login_t l;

        anc_store_pending_delete(r, pd->st->request_id);
        memset(&l, 0, sizeof(l));
        l.target = pd->st->target;
        l.idp = pd->st->idp;
        l.force_authn = pd->st->force_authn;
        l.passive = pd->passive;
        l.max_age = pd->st->max_age;
        l.is_retry = 1;
        l.retry_without_context = 1;
        l.binding = pd->binding;
        l.sign = pd->sign;
        l.sig_alg = pd->sig_alg;
        l.error_url = pd->error_url;
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "authncontext: acs: NoAuthnContext; retrying without "
                      "RequestedAuthnContext for %s",
                      pd->st->target);
        return anc_login_send(r, &l, HTTP_SEE_OTHER);
    }
    /* A passive attempt the IdP could not answer silently (NoPassive). */
    if (anc_passive_return(r, pd, status->status_code2) == HTTP_SEE_OTHER) {
        return HTTP_SEE_OTHER;
    }
    memset(&f, 0, sizeof(f));
    f.error_type = "saml-status";
    f.status_code = status->status_code;
    f.status_code2 = status->status_code2;
    f.status_message = status->status_message;
    f.entity_id = status->idp;
    return acs_error(r, pd, relay_state, &f, HTTP_FORBIDDEN);
}

static int acs_insufficient(request_rec *r, const anc_pending_t *pd,
                            const anc_assertion_t *a, const char *relay_state,
                            const char *detail)
{
    anc_error_facts_t f;

    ap_log_rerror(
        APLOG_MARK, APLOG_WARNING, 0, r,
        "authncontext: acs: rejected reason=%s ref=%s user=%s request=%s idp=%s "
        "detail=%s",
        anc_reason(ANC_E_POLICY), anc_request_ref(r), a->name_id.value,
        pd ? pd->st->request_id : "-", a->idp, detail);
    memset(&f, 0, sizeof(f));
    f.error_type = "insufficient-context";
    f.error_text = detail;
    f.entity_id = a->idp;
    return acs_error(r, pd, relay_state, &f, HTTP_FORBIDDEN);
}

/* Values of an AuthnContextClassAttribute attribute that are not classes
 * (white space inside) are left out of the session's classes; the login
 * goes on, the admin sees why a class is missing. */
static void log_refused_class_values(request_rec *r, const apr_array_header_t *refused)
{
    int i;

    for (i = 0; refused != NULL && i < refused->nelts; i++) {
        ap_log_rerror(
            APLOG_MARK, APLOG_WARNING, 0, r,
            "authncontext: acs: class value ignored reason=%s detail='%s' "
            "from AuthnContextClassAttribute holds white space or a control "
            "character",
            anc_reason(ANC_E_XML_SCHEMA),
            ap_escape_logitem(r->pool, APR_ARRAY_IDX(refused, i, const char *)));
    }
}

static int acs_accept(request_rec *r, acs_ctx_t *ctx, const char *relay_state,
                      const anc_assertion_t *a)
{
    const anc_srv_cfg_t *c = anc_srv(r->server);
    const anc_vocab_t *vocab = anc_srv_vocab(c);
    anc_pending_t *pd = ctx->pending;
    anc_session_t *s;
    anc_error_t *err = NULL;
    apr_array_header_t *classes;
    anc_class_rule_t *rule = NULL; /* the step-up request's classes, if any */
    const char *sid = NULL, *old, *target;
    apr_time_t now = apr_time_now(), fresh_at;
    int skew = anc_srv_clock_skew(c);

    if (a->in_response_to && !pd) {
        /* the verifier looked it up; look again (it was not kept) */
        if (acs_lookup(ctx, a->in_response_to, r->pool, &err) != ANC_OK) {
            return acs_reject(r, ctx, relay_state, err->code, err->detail);
        }
        pd = ctx->pending;
    }
    if (pd && pd->st->idp && strcmp(pd->st->idp, a->idp) != 0) {
        return acs_reject(r, ctx, relay_state, ANC_E_ISSUER,
                          apr_psprintf(r->pool, "request went to %s, answer from %s",
                                       pd->st->idp, a->idp));
    }
    classes = anc_policy_session_classes(r->pool, vocab, a, c->class_attributes);
    log_refused_class_values(
        r, anc_policy_refused_class_values(r->pool, a, c->class_attributes));

    /* An answer to a request with RequestedAuthnContext must itself
     * satisfy it (SAML core 3.3.2.2.1): a weaker class goes to the error
     * page, never into a new step-up (no loop). */
    if (pd && pd->st->has_requested_context) {
        if (anc_class_rule_make(r->pool, vocab, pd->st->comparison,
                                pd->st->requested_classes, &rule, &err) != ANC_OK ||
            !anc_class_rule_eval(rule, vocab, classes)) {
            return acs_insufficient(
                r, pd, a, relay_state,
                apr_psprintf(r->pool, "requested %s, got %s", requested_text(r, pd),
                             joined(r->pool, classes) ? joined(r->pool, classes)
                                                      : "(no class)"));
        }
    }
    /* ForceAuthn and the max age are judged on the statement whose class
     * answered the request (the oldest of those), or on the oldest
     * statement when nothing was requested: never on a fresh statement of
     * another class (issue 11 item 3). */
    fresh_at =
        anc_policy_fresh_instant(rule, vocab, anc_policy_class_instants(r->pool, a));
    if (pd && pd->st->force_authn &&
        fresh_at < pd->st->created - apr_time_from_sec(skew)) {
        return acs_insufficient(r, pd, a, relay_state,
                                apr_psprintf(r->pool,
                                             "ForceAuthn was requested but "
                                             "AuthnInstant %s predates the request",
                                             anc_time_format(r->pool, fresh_at)));
    }
    if (pd && pd->st->max_age > 0 &&
        !anc_policy_fresh(fresh_at, pd->st->max_age, now, skew)) {
        return acs_insufficient(r, pd, a, relay_state,
                                apr_psprintf(r->pool,
                                             "AuthnInstant %s is older than "
                                             "%d seconds",
                                             anc_time_format(r->pool, fresh_at),
                                             pd->st->max_age));
    }

    if (pd) {
        /* A request is answered once (SAML core 3.2.2, InResponseTo; profiles
         * 4.1.4.3): of several valid answers arriving in parallel, only the
         * one whose removal of the pending record finds it opens a session.
         * The removal is one atomic operation in every store (shmcb under
         * its mutex, DEL in redis, delete in memcache). */
        anc_status_t taken = anc_store_pending_take(r, pd->st->request_id);
        if (taken != ANC_OK) {
            ctx->pending = NULL;
            return acs_reject(r, ctx, relay_state, taken,
                              taken == ANC_E_CACHE
                                  ? "cannot consume the request"
                                  : "request answered by a parallel response");
        }
    }
    if (anc_random_hex(r->pool, 16, &sid, &err) != ANC_OK) {
        return acs_reject(r, ctx, relay_state, ANC_E_INTERNAL, "no random session id");
    }
    s = apr_pcalloc(r->pool, sizeof(*s));
    s->id = sid;
    s->idp = a->idp;
    s->name_id = a->name_id;
    s->classes = classes;
    anc_session_set_authn(r->pool, s, a);
    s->created = now;
    s->expires = now + apr_time_from_sec(anc_srv_session_lifetime(c));
    if (a->session_not_on_or_after && a->session_not_on_or_after < s->expires) {
        s->expires = a->session_not_on_or_after;
    }
    s->attributes = a->attributes ? a->attributes
                                  : apr_array_make(r->pool, 1, sizeof(anc_attribute_t));
    if (s->expires <= now) {
        return acs_reject(r, ctx, relay_state, ANC_E_EXPIRED,
                          "SessionNotOnOrAfter has passed");
    }
    if (anc_store_session_save(r, s) != ANC_OK) {
        return acs_reject(r, ctx, relay_state, ANC_E_CACHE, "cannot store the session");
    }
    /* Single Logout: the IdP's LogoutRequest names the user, not this
     * session id; without its index entry the session could outlive an
     * IdP logout, so no entry, no session (httpd_slo.c) */
    if (anc_slo_index_session(r, s) != ANC_OK) {
        anc_store_session_delete(r, s->id);
        return acs_reject(r, ctx, relay_state, ANC_E_CACHE,
                          "cannot index the session for Single Logout");
    }
    /* Without the mark, the retry's session would be stepped up again and
     * answered NoAuthnContext again: a loop. No mark, no session. */
    if (pd && pd->st->is_retry && anc_store_retry_mark(r, s) != ANC_OK) {
        anc_store_session_delete(r, s->id);
        return acs_reject(r, ctx, relay_state, ANC_E_CACHE,
                          "cannot store the retry mark");
    }
    /* A step-up replaces the old session only now that the new one exists. */
    old = anc_cookie_get(r, anc_srv_cookie_name(c));
    if (old && anc_is_hex_id(old, 16)) {
        anc_store_session_delete(r, old);
    }
    if (pd) {
        target = pd->st->target;
    } else {
        target = anc_is_local_url(relay_state) ? relay_state : "/";
    }
    anc_cookie_set(r, anc_srv_cookie_name(c), sid, "/", -1, anc_srv_cookie_samesite(c));
    /* the IdP of a login this browser started and finished, never one a
     * link merely named (httpd_disco.c) */
    if (pd) {
        anc_disco_remember(r, a->idp);
    }
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Location", ap_construct_url(r->pool, target, r));
    ap_log_rerror(
        APLOG_MARK, APLOG_DEBUG, 0, r,
        "authncontext: acs: assertion response=%s assertion=%s in_response_to=%s "
        "idp=%s user=%s format=%s authn_instant=%s classes=%s session_index=%s "
        "encrypted=%d",
        a->response_id ? a->response_id : "-", a->assertion_id ? a->assertion_id : "-",
        a->in_response_to ? a->in_response_to : "-", a->idp, a->name_id.value,
        a->name_id.format ? a->name_id.format : "-",
        a->authn_instant_text ? a->authn_instant_text : "-",
        joined(r->pool, a->authn_context_class_refs)
            ? joined(r->pool, a->authn_context_class_refs)
            : "-",
        a->session_index ? a->session_index : "-", a->was_encrypted);
    ap_log_rerror(
        APLOG_MARK, APLOG_INFO, 0, r,
        "authncontext: acs: session opened user=%s idp=%s request=%s classes=%s "
        "%s target=%s",
        a->name_id.value, a->idp, pd ? pd->st->request_id : "-",
        joined(r->pool, classes) ? joined(r->pool, classes) : "-",
        pd ? (pd->st->is_retry ? "retry" : "solicited") : "unsolicited", target);
    return HTTP_SEE_OTHER;
}

static int handle_acs(request_rec *r)
{
    const anc_srv_cfg_t *c = anc_srv(r->server);
    apr_size_t max = anc_srv_max_response_size(c), len = 0;
    const char *ctype = apr_table_get(r->headers_in, "Content-Type");
    anc_sp_config_t *sp;
    anc_verifier_t *v = NULL;
    anc_verify_input_t in;
    anc_verify_result_t *res = NULL;
    anc_error_t *err = NULL;
    acs_ctx_t ctx;
    form_t form;
    char *body = NULL;
    int rc;

    memset(&ctx, 0, sizeof(ctx));
    ctx.r = r;
    if (r->method_number != M_POST) {
        /* SAML bindings 3.5: the HTTP-POST binding; a rejection like any
         * other, logged with its reason */
        ap_log_rerror(
            APLOG_MARK, APLOG_WARNING, 0, r,
            "authncontext: acs: rejected reason=%s detail=method %s is not POST",
            anc_reason(ANC_E_BINDING), r->method);
        apr_table_setn(r->err_headers_out, "Allow", "POST");
        return anc_simple_page(r, HTTP_METHOD_NOT_ALLOWED, "Method not allowed",
                               "The assertion consumer service only accepts POST.");
    }
    if (!is_form_urlencoded(ctype)) {
        return acs_reject(r, &ctx, NULL, ANC_E_BINDING,
                          "Content-Type is not application/x-www-form-urlencoded");
    }
    /* base64 grows the XML by 4/3 and URL-encoding may triple a few
     * characters; the decoded size is capped again by the verifier. */
    rc = anc_read_body(r, max * 2 + 8192, &body, &len);
    if (rc == HTTP_REQUEST_ENTITY_TOO_LARGE) {
        return acs_reject(
            r, &ctx, NULL, ANC_E_TOO_LARGE,
            apr_psprintf(r->pool, "body over %" APR_SIZE_T_FMT " bytes", max * 2 + 8192));
    }
    if (rc != OK) {
        return acs_reject(r, &ctx, NULL, ANC_E_INPUT, "cannot read the request body");
    }
    if (!form_parse(r->pool, body, len, &form)) {
        return acs_reject(r, &ctx, NULL, ANC_E_INPUT, "malformed form");
    }
    if (form.n_response > 1 || form.n_relay > 1) {
        /* SAML bindings 3.5.4: one SAMLResponse and at most one RelayState
         * form control; an attacker's second field must not win by position */
        return acs_reject(r, &ctx, NULL, ANC_E_BINDING,
                          "SAMLResponse or RelayState given twice");
    }
    if (!form.saml_response || !*form.saml_response) {
        return acs_reject(r, &ctx, form.relay_state, ANC_E_INPUT, "no SAMLResponse");
    }
    ctx.browser_binding = anc_cookie_get(r, anc_binding_cookie_name(r));

    sp = apr_pcalloc(r->pool, sizeof(*sp));
    sp->entity_id = c->sp_entity_id;
    sp->acs_url = ap_construct_url(
        r->pool, apr_pstrcat(r->pool, anc_srv_endpoint(c), "/acs", NULL), r);
    sp->sp_key = anc_srv_key(c);
    sp->allow_unsolicited = anc_dir_flag(c->allow_unsolicited, 0);
    sp->allow_sha1 = anc_dir_flag(c->allow_sha1, 0);
    sp->require_signed_assertion = anc_dir_flag(c->require_signed_assertion, 0);
    sp->max_response_size = max;
    sp->clock_skew = anc_srv_clock_skew(c);
    sp->max_unsolicited_age = anc_srv_unsolicited_max_age(c);
    if (anc_verifier_create(r->pool, sp, anc_idps_trust(r), &v, &err) != ANC_OK) {
        return acs_reject(r, &ctx, form.relay_state, err->code, err->detail);
    }
    memset(&in, 0, sizeof(in));
    in.data = form.saml_response;
    in.len = strlen(form.saml_response);
    in.now = apr_time_now();
    in.request_lookup = acs_lookup;
    in.request_lookup_ctx = &ctx;
    in.replay = anc_store_replay(r);
    in.expected_idp = NULL; /* the pending request's IdP is checked after */

    anc_response_verify(r->pool, v, &in, &res);
    switch (res->verdict) {
        case ANC_VERDICT_ACCEPT:
            return acs_accept(r, &ctx, form.relay_state, res->assertion);
        case ANC_VERDICT_IDP_ERROR:
            return acs_idp_error(r, &ctx, form.relay_state, res->status);
        default:
            return acs_reject(r, &ctx, form.relay_state,
                              res->error ? res->error->code : ANC_E_INTERNAL,
                              res->error ? res->error->detail : NULL);
    }
}

/* ---------------------------------------------------------------------- */
/* login, logout, metadata, forbidden                                      */

/* Refuses a chosen IdP (idp=, entityID=, a discovery service's answer)
 * that is not in trusted metadata or not offered for the target's
 * location: 400 with the reason in the log and on the page. */
static int refuse_idp(request_rec *r, const char *idp, anc_status_t why,
                      const char *target)
{
    apr_table_t *facts = apr_table_make(r->pool, 4);

    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "authncontext: login: rejected reason=%s ref=%s detail=IdP %s %s %s",
                  anc_reason(why), anc_request_ref(r), idp,
                  why == ANC_E_UNKNOWN_IDP ? "is not in the trusted metadata; target"
                                           : "is not offered (AuthnContextIdP) for",
                  target);
    apr_table_setn(facts, "message",
                   why == ANC_E_UNKNOWN_IDP
                       ? "The organisation chosen for signing in is not one this site "
                         "trusts."
                       : "The organisation chosen for signing in cannot be used for this "
                         "page.");
    apr_table_setn(facts, "reason", anc_reason(why));
    apr_table_setn(facts, "entityID", idp);
    apr_table_setn(facts, "loginURL",
                   apr_pstrcat(r->pool, anc_srv_endpoint(anc_srv(r->server)),
                               "/login?target=", anc_url_encode(r->pool, target), NULL));
    return anc_page_send(r, HTTP_BAD_REQUEST, ANC_PAGE_ERROR, "Unknown organisation",
                         facts);
}

static int handle_login(request_rec *r)
{
    const char *target, *idp, *path, *eid;
    request_rec *rr;
    anc_login_t l;
    int n = 0, ni = 0, ne = 0, rc;
    anc_status_t allowed;

    if (r->method_number != M_GET) {
        apr_table_setn(r->err_headers_out, "Allow", "GET, HEAD");
        return anc_simple_page(r, HTTP_METHOD_NOT_ALLOWED, "Method not allowed",
                               "Use GET for the login endpoint.");
    }
    target = anc_query_param(r, "target", &n);
    /* idp= (ours) and entityID= (the Shibboleth SP's name, and the
     * discovery service's returnIDParam) name the IdP. Both at once must
     * agree: a page cannot pick one and a discovery answer another. */
    idp = anc_query_param(r, "idp", &ni);
    eid = anc_query_param(r, "entityID", &ne);
    if (n > 1 || ni > 1 || ne > 1 || (n == 1 && !anc_is_local_url(target))) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "authncontext: login: rejected reason=%s detail=target must be one "
                      "local URL",
                      anc_reason(ANC_E_INPUT));
        return anc_simple_page(r, HTTP_BAD_REQUEST, "Bad request",
                               "The target must be a local URL such as /app/.");
    }
    if ((ni && !idp) || (ne && !eid) || (idp && eid && strcmp(idp, eid) != 0)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "authncontext: login: rejected reason=%s detail=idp and entityID "
                      "name different IdPs, or one is malformed",
                      anc_reason(ANC_E_INPUT));
        return anc_simple_page(r, HTTP_BAD_REQUEST, "Bad request",
                               "The sign-in request names two different organisations.");
    }
    if (!idp) {
        idp = eid;
    }
    if (idp && !*idp) {
        idp = NULL; /* "entityID=": no choice (a discovery service that found none) */
    }
    if (n == 1 && strlen(target) > ANC_MAX_TARGET) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "authncontext: login: rejected reason=%s detail=target longer than "
                      "%d bytes",
                      anc_reason(ANC_E_INPUT), ANC_MAX_TARGET);
        return anc_simple_page(r, HTTP_BAD_REQUEST, "Bad request",
                               "The target is too long.");
    }
    if (!target) {
        target = "/";
    }
    /* The request the target's location would send: its
     * AuthnContextRequest, ForceAuthn, binding, error URL, IdP set. */
    path = apr_pstrmemdup(r->pool, target, strcspn(target, "?#"));
    rr = ap_sub_req_lookup_uri(path, r, NULL);
    anc_login_from_dir(r, anc_dir(rr), target, 0, &l);
    if (idp) {
        /* a choice (a page's link, the chooser, a discovery service's
         * answer): only an IdP in trusted metadata that the target's
         * location offers (AuthnContextIdP), else the location would
         * refuse the session anyway (httpd_authn.c) */
        allowed = anc_idp_allowed(r, l.dir, idp);
        if (allowed != ANC_OK) {
            rc = refuse_idp(r, idp, allowed, target);
            ap_destroy_sub_req(rr);
            return rc;
        }
        l.idp = idp;
    }
    if (anc_login_apply_params(r, &l) == ANC_LOGIN_ANSWERED) {
        ap_destroy_sub_req(rr);
        return OK;
    }
    if (!l.idp) {
        /* A browser with a session asks again (an application's "confirm
         * with MFA" link): the session's IdP, when the target offers it,
         * as a step-up does; no chooser. The store not answering only
         * means no shortcut. */
        const char *sid = anc_cookie_get(r, anc_srv_cookie_name(anc_srv(r->server)));
        anc_session_t *s = NULL;

        if (sid && anc_is_hex_id(sid, 16) &&
            anc_store_session_load(r, sid, ANC_SESSION_SKIP_ATTRIBUTES, &s) == ANC_OK &&
            s->idp && anc_idp_allowed(r, l.dir, s->idp) == ANC_OK) {
            l.idp = s->idp;
        }
    }
    if (!l.idp) {
        rc = anc_disco_start(r, l.dir, &l);
        if (rc != DECLINED) {
            ap_destroy_sub_req(rr);
            return rc;
        }
    }
    rc = anc_login_send(r, &l, HTTP_MOVED_TEMPORARILY);
    ap_destroy_sub_req(rr);
    return rc;
}

static int handle_logout(request_rec *r)
{
    const anc_srv_cfg_t *c = anc_srv(r->server);
    const char *sid = anc_cookie_get(r, anc_srv_cookie_name(c));
    const char *ret;
    anc_session_t *slo_session = NULL;
    int n = 0;

    ret = anc_query_param(r, "return", &n);
    if (n != 1 || !anc_is_local_url(ret)) {
        if (n) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          "authncontext: logout: return URL is not local; showing the "
                          "logout page");
        }
        ret = NULL; /* the page that confirms the logout */
    }
    /* Single Logout needs the session's IdP, NameID and SessionIndexes:
     * read before it ends (httpd_slo.c) */
    if (sid && anc_is_hex_id(sid, 16) &&
        anc_store_session_load(r, sid, ANC_SESSION_DECODE_ALL, &slo_session) != ANC_OK) {
        slo_session = NULL;
    }
    /* The browser forgets the cookie whatever the store says. */
    anc_cookie_set(r, anc_srv_cookie_name(c), "", "/", 0, anc_srv_cookie_samesite(c));
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    /* Fail closed (DESIGN: a cache that is down means no success): a
     * session the store did not confirm as ended may come back with the
     * store, and its id may still sit in another copy of the cookie, so
     * "signed out" would be a lie. */
    if (sid && anc_is_hex_id(sid, 16) && anc_store_session_end(r, sid) != ANC_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "authncontext: logout: failed reason=%s detail=the session store "
                      "did not confirm the end of the session; answering 503",
                      anc_reason(ANC_E_CACHE));
        return anc_simple_page(r, HTTP_SERVICE_UNAVAILABLE, "Service unavailable",
                               "The session store is not available, so you may not "
                               "be signed out. Please try again later.");
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "authncontext: logout: session ended");
    /* The local session has ended first (a user who closes the tab is
     * still signed out here); then the IdP, when it takes Single Logout */
    if (slo_session && anc_slo_applies(r, slo_session)) {
        int rc = anc_slo_start(r, slo_session, ret);

        if (rc != DECLINED) {
            return rc;
        }
    }
    if (!ret) {
        apr_table_t *t = apr_table_make(r->pool, 4);

        apr_table_setn(t, "message",
                       sid ? "You are signed out of this site."
                           : "You were not signed in to this site (or your session had "
                             "already ended).");
        /* Single Logout does not exist yet: say what did not happen */
        apr_table_setn(t, "idpNote",
                       "You may still be signed in at your identity provider, so signing "
                       "in here again may not ask for your password.");
        return anc_page_send(r, HTTP_OK, ANC_PAGE_LOGOUT, "You are signed out", t);
    }
    apr_table_setn(r->headers_out, "Location", ap_construct_url(r->pool, ret, r));
    return HTTP_MOVED_TEMPORARILY;
}

static int handle_metadata(request_rec *r)
{
    const anc_srv_cfg_t *c = anc_srv(r->server);
    anc_sp_metadata_t md;
    anc_error_t *err = NULL;
    const char *xml = NULL;

    if (r->method_number != M_GET) {
        apr_table_setn(r->err_headers_out, "Allow", "GET, HEAD");
        return anc_simple_page(r, HTTP_METHOD_NOT_ALLOWED, "Method not allowed",
                               "Use GET for the metadata endpoint.");
    }
    memset(&md, 0, sizeof(md));
    md.entity_id = c->sp_entity_id;
    md.acs_url = ap_construct_url(
        r->pool, apr_pstrcat(r->pool, anc_srv_endpoint(c), "/acs", NULL), r);
    md.cert =
        anc_srv_key(c) && anc_key_cert_base64(anc_srv_key(c)) ? anc_srv_key(c) : NULL;
    md.authn_requests_signed = anc_srv_key(c) != NULL;
    if (anc_dir_flag(c->single_logout, 1)) {
        md.slo_url = ap_construct_url(
            r->pool, apr_pstrcat(r->pool, anc_srv_endpoint(c), "/slo", NULL), r);
    }
    md.want_assertions_signed = anc_dir_flag(c->require_signed_assertion, 0);
    /* a discovery service's answer comes back to the login endpoint */
    md.disco_url = ap_construct_url(
        r->pool, apr_pstrcat(r->pool, anc_srv_endpoint(c), "/login", NULL), r);
    if (anc_sp_metadata_build(r->pool, &md, &xml, &err) != ANC_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "authncontext: metadata: failed reason=%s detail=%s",
                      err ? err->reason : "internal",
                      err && err->detail ? err->detail : "");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_set_content_type(r, "application/samlmetadata+xml");
    ap_rputs(xml, r);
    return OK;
}

/* The page for an authenticated user a Require denied (reached through the
 * internal redirect that httpd_stepup.c sets up, so r->prev is the request
 * that was denied): what the page needs, in readable words, and a link that
 * asks the IdP for exactly that. */
static int forbidden_page(request_rec *r)
{
    request_rec *orig = r->prev ? r->prev : r;
    const anc_req_note_t *n = anc_note_get(orig);
    const anc_srv_cfg_t *c = anc_srv(r->server);
    const char *ep = anc_srv_endpoint(c);
    const char *target = anc_is_local_url(orig->unparsed_uri) ? orig->unparsed_uri : "/";
    apr_table_t *t = apr_table_make(r->pool, 12);
    const char *login = NULL, *rule = NULL;

    apr_table_setn(t, "requestURL", target);
    apr_table_setn(t, "logoutURL", apr_pstrcat(r->pool, ep, "/logout?return=/", NULL));
    if (n && n->session && n->session->classes && n->session->classes->nelts) {
        apr_table_setn(t, "have", anc_classes_display(r, n->session->classes));
        apr_table_setn(t, "classes",
                       apr_array_pstrcat(r->pool, n->session->classes, ' '));
    }
    if (n && n->denied_rule) {
        const anc_rule_ref_t *ref = n->denied_rule;
        apr_array_header_t *want = apr_array_make(r->pool, 4, sizeof(const char *));
        const char *cmp_word = "exact";
        anc_comparison_t cmp;
        int i = 0;

        rule = apr_pstrcat(r->pool, "Require authnContextClassRef ", ref->words, NULL);
        if (ref->argc > 0 && (!strcmp(ref->argv[0], "!") || !strcmp(ref->argv[0], "~"))) {
            i = ref->argc; /* a negation or a pattern names no class to ask for */
        } else if (ref->argc > 0 && anc_comparison_parse(ref->argv[0], &cmp) == ANC_OK) {
            cmp_word = ref->argv[0];
            i = 1;
        }
        for (; i < ref->argc; i++) {
            APR_ARRAY_PUSH(want, const char *) = ref->argv[i];
        }
        if (want->nelts) {
            apr_table_setn(t, "needs", anc_classes_display(r, want));
            login = apr_pstrcat(
                r->pool, ep, "/login?target=", anc_url_encode(r->pool, target),
                "&authnContextClassRef=",
                anc_url_encode(r->pool, apr_array_pstrcat(r->pool, want, ' ')),
                "&authnContextComparison=", cmp_word, NULL);
        }
    } else if (n && n->denied_max_age) {
        rule = apr_psprintf(r->pool, "Require authnContextMaxAge %d", n->denied_max_age);
        apr_table_setn(t, "needs",
                       apr_psprintf(r->pool, "a sign-in within the last %d minute%s",
                                    (n->denied_max_age + 59) / 60,
                                    (n->denied_max_age + 59) / 60 == 1 ? "" : "s"));
        login =
            apr_pstrcat(r->pool, ep, "/login?target=", anc_url_encode(r->pool, target),
                        "&forceAuthn=true", NULL);
    }
    if (rule) {
        apr_table_setn(t, "rule", rule);
    }
    if (login) {
        apr_table_setn(t, "loginURL", login);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "authncontext: forbidden: ref=%s user=%s uri=%s rule=%s",
                  anc_request_ref(r), orig->user ? orig->user : "-", target,
                  rule ? rule : "-");
    return anc_page_send(r, HTTP_FORBIDDEN, ANC_PAGE_FORBIDDEN,
                         "This page needs a stronger sign-in", t);
}

int anc_quick_handler(request_rec *r, int lookup)
{
    const anc_srv_cfg_t *c = anc_srv(r->server);
    const char *path = r->parsed_uri.path, *ep, *rest;
    apr_size_t eplen;

    if (lookup || !c->sp_entity_id || !path) {
        return DECLINED;
    }
    ep = anc_srv_endpoint(c);
    eplen = strlen(ep);
    if (strncmp(path, ep, eplen) != 0 || path[eplen] != '/') {
        return DECLINED;
    }
    rest = path + eplen + 1;
    if (!strcmp(rest, ANC_FORBIDDEN_PATH + 1)) {
        /* the answer for an authenticated user a Require denies (see
         * httpd_stepup.c): a 403, not a 401 that would invite a login */
        return forbidden_page(r);
    }
    if (!anc_srv_ready(r, "endpoint")) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!strcmp(rest, "acs")) {
        return handle_acs(r);
    }
    if (!strcmp(rest, "login")) {
        return handle_login(r);
    }
    if (!strcmp(rest, "logout")) {
        return handle_logout(r);
    }
    if (!strcmp(rest, "session")) {
        return anc_handle_session(r);
    }
    if (!strcmp(rest, "slo")) {
        return anc_handle_slo(r);
    }
    if (!strcmp(rest, "discofeed")) {
        return anc_handle_discofeed(r);
    }
    if (!strcmp(rest, "metadata")) {
        return handle_metadata(r);
    }
    return DECLINED;
}
