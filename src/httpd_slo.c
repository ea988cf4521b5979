/*
 * httpd_slo.c - SAML Single Logout, front channel (issue 16):
 *   GET  PATH/slo   HTTP-Redirect binding: the IdP's LogoutRequest or
 *                   LogoutResponse in the query string
 *   POST PATH/slo   HTTP-POST binding: the same in a form
 * and the SP-initiated half of PATH/logout (anc_slo_start).
 *
 * The SAML work is the core's (anc_logout.h: build, verify, match); this
 * file holds the httpd side: reading the request, the stores (the Single
 * Logout index and the pending LogoutRequests, httpd_store.c), cookies,
 * logging and the answer. The IdP's answer to our LogoutRequest arrives as
 * a cross-site navigation that carries no SameSite=Strict cookie (and no
 * Lax one when POSTed), so it is matched by its InResponseTo against the
 * pending request store, never by a cookie.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"

#include "anc_authnreq.h"
#include "anc_logout.h"
#include "anc_metadata.h"
#include "httpd_glue.h"
#include "httpd_metadata.h"

APLOG_USE_MODULE(authncontext);

/* How long a LogoutRequest of ours waits for its answer. */
#define SLO_PENDING_SECONDS 600
/* A LogoutRequest is valid this long (its NotOnOrAfter). */
#define SLO_REQUEST_VALIDITY 300

static int slo_on(const anc_srv_cfg_t *c)
{
    return anc_dir_flag(c->single_logout, 1);
}

static const char *slo_url(request_rec *r)
{
    return ap_construct_url(
        r->pool, apr_pstrcat(r->pool, anc_srv_endpoint(anc_srv(r->server)), "/slo", NULL),
        r);
}

/* The IdP's SingleLogoutService: HTTP-Redirect first (no page of ours in
 * between), then HTTP-POST. */
static const anc_endpoint_t *idp_slo(const anc_idp_t *idp, int prefer_post)
{
    const anc_endpoint_t *ep = NULL;

    if (prefer_post) {
        ep = anc_idp_slo_endpoint(idp, ANC_BINDING_POST);
    }
    if (!ep) {
        ep = anc_idp_slo_endpoint(idp, ANC_BINDING_REDIRECT);
    }
    if (!ep) {
        ep = anc_idp_slo_endpoint(idp, ANC_BINDING_POST);
    }
    return ep;
}

static void log_refused(request_rec *r, const char *what, anc_status_t code,
                        const char *detail)
{
    ap_log_rerror(APLOG_MARK, code == ANC_E_CACHE ? APLOG_ERR : APLOG_WARNING, 0, r,
                  "authncontext: slo: %s refused reason=%s detail=%s ref=%s", what,
                  anc_reason(code), detail ? detail : "", anc_request_ref(r));
}

/* Sends a signed message to the IdP with the endpoint's binding: a 302 for
 * HTTP-Redirect, the auto-submitting form for HTTP-POST. DECLINED (logged)
 * when it cannot be built. */
static int send_to_idp(request_rec *r, const char *param, const anc_endpoint_t *ep,
                       const char *dest, const char *xml, const char *relay)
{
    const anc_key_t *key = anc_srv_key(anc_srv(r->server));
    anc_error_t *err = NULL;
    const char *out = NULL;

    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    if (!strcmp(ep->binding, ANC_BINDING_POST)) {
        if (anc_post_form_param(r->pool, param, dest, xml, relay, key, NULL, &out,
                                &err) != ANC_OK) {
            log_refused(r, "sending", err ? err->code : ANC_E_INTERNAL,
                        err ? err->detail : NULL);
            return DECLINED;
        }
        ap_set_content_type(r, "text/html; charset=utf-8");
        ap_rputs(out, r);
        return OK;
    }
    if (anc_redirect_encode_param(r->pool, param, dest, xml, relay, key, NULL, &out,
                                  &err) != ANC_OK) {
        log_refused(r, "sending", err ? err->code : ANC_E_INTERNAL,
                    err ? err->detail : NULL);
        return DECLINED;
    }
    apr_table_setn(r->headers_out, "Location", out);
    return HTTP_MOVED_TEMPORARILY;
}

/* ---- SP-initiated --------------------------------------------------------- */

int anc_slo_applies(request_rec *r, const anc_session_t *s)
{
    const anc_srv_cfg_t *c = anc_srv(r->server);
    const anc_idp_t *idp;

    if (!slo_on(c) || !s || !s->idp) {
        return 0;
    }
    idp = anc_trust_find(anc_idps_trust(r), s->idp);
    if (!idp || !idp_slo(idp, 0)) {
        return 0;
    }
    if (!anc_srv_key(c)) {
        /* SAML profiles 4.4.4.1: the IdP must authenticate the request,
         * and on the front channel only a signature does that */
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "authncontext: slo: %s takes Single Logout but there is no "
                      "AuthnContextSPKeyFile to sign with: local logout only",
                      s->idp);
        return 0;
    }
    return 1;
}

int anc_slo_start(request_rec *r, const anc_session_t *s, const char *ret)
{
    const anc_srv_cfg_t *c = anc_srv(r->server);
    const anc_idp_t *idp = anc_trust_find(anc_idps_trust(r), s->idp);
    const anc_endpoint_t *ep = idp ? idp_slo(idp, 0) : NULL;
    anc_logout_request_t req;
    anc_request_state_t st;
    anc_error_t *err = NULL;
    const char *hex = NULL, *xml = NULL;
    apr_time_t now = apr_time_now();

    if (!ep || anc_random_hex(r->pool, 16, &hex, &err) != ANC_OK) {
        return DECLINED;
    }
    memset(&req, 0, sizeof(req));
    req.id = apr_pstrcat(r->pool, "_", hex, NULL);
    req.issue_instant = now;
    req.destination = ep->location;
    req.issuer = c->sp_entity_id;
    req.not_on_or_after = now + apr_time_from_sec(SLO_REQUEST_VALIDITY);
    req.name_id = s->name_id;
    req.session_indexes = s->session_indexes;
    if (anc_logout_request_xml(r->pool, &req, &xml, &err) != ANC_OK) {
        log_refused(r, "LogoutRequest", err->code, err->detail);
        return DECLINED;
    }
    /* The answer is matched by InResponseTo (no cookie comes back with a
     * cross-site request under SameSite); the return URL was checked to be
     * local by PATH/logout, and "-" means the logout page. */
    memset(&st, 0, sizeof(st));
    st.request_id = req.id;
    st.target = ret && strlen(ret) <= ANC_MAX_TARGET ? ret : "-";
    st.idp = s->idp;
    st.created = now;
    st.expires = now + apr_time_from_sec(SLO_PENDING_SECONDS);
    if (anc_store_logout_pending_save(r, &st) != ANC_OK) {
        log_refused(r, "LogoutRequest", ANC_E_CACHE, "cannot store the pending request");
        return DECLINED;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "authncontext: slo: LogoutRequest sent request=%s idp=%s user=%s "
                  "session_indexes=%d binding=%s",
                  req.id, s->idp, s->name_id.value,
                  s->session_indexes ? s->session_indexes->nelts : 0,
                  strcmp(ep->binding, ANC_BINDING_POST) ? "redirect" : "post");
    /* RelayState: some IdPs refuse a LogoutRequest without one (mellon#24);
     * ours is the request ID, opaque and short */
    return send_to_idp(r, "SAMLRequest", ep, ep->location, xml, req.id);
}

/* ---- PATH/slo ------------------------------------------------------------- */

typedef struct slo_form_t {
    const char *param; /* SAMLRequest or SAMLResponse */
    const char *value;
    const char *relay_state;
    int n_msg, n_relay;
} slo_form_t;

static char *form_value(apr_pool_t *p, const char *s, apr_size_t n)
{
    char *v = apr_pstrmemdup(p, s, n);

    return ap_unescape_urlencoded(v) == OK ? v : NULL;
}

static int slo_form_parse(apr_pool_t *p, const char *body, apr_size_t len, slo_form_t *f)
{
    const char *s = body, *end = body + len;

    memset(f, 0, sizeof(*f));
    while (s < end) {
        const char *amp = memchr(s, '&', (apr_size_t)(end - s));
        const char *fe = amp ? amp : end;
        const char *eq = memchr(s, '=', (apr_size_t)(fe - s));
        const char *name, *value;

        if (fe != s) {
            name = form_value(p, s, (apr_size_t)((eq ? eq : fe) - s));
            value = eq ? form_value(p, eq + 1, (apr_size_t)(fe - eq - 1)) : "";
            if (!name || !value) {
                return 0;
            }
            if (!strcmp(name, "SAMLRequest") || !strcmp(name, "SAMLResponse")) {
                f->param = strcmp(name, "SAMLRequest") ? "SAMLResponse" : "SAMLRequest";
                f->value = value;
                f->n_msg++;
            } else if (!strcmp(name, "RelayState")) {
                f->relay_state = value;
                f->n_relay++;
            }
        }
        s = fe + 1;
    }
    return 1;
}

typedef struct slo_lookup_t {
    request_rec *r;
    anc_request_state_t *st;
} slo_lookup_t;

/* The core's InResponseTo check: a LogoutRequest we sent, to this IdP. */
static anc_status_t slo_lookup(void *vctx, const char *irt, const char *issuer,
                               apr_pool_t *scratch, anc_error_t **err)
{
    slo_lookup_t *ctx = vctx;
    anc_status_t st = anc_store_logout_pending_load(ctx->r, irt, &ctx->st);

    if (st == ANC_E_CACHE) {
        return anc_error_set(scratch, err, ANC_E_CACHE, "request store unavailable");
    }
    if (st != ANC_OK) {
        return anc_error_set(scratch, err, ANC_E_IN_RESPONSE_TO,
                             "no pending LogoutRequest with this ID");
    }
    if (!ctx->st->idp || strcmp(ctx->st->idp, issuer) != 0) {
        return anc_error_set(scratch, err, ANC_E_IN_RESPONSE_TO,
                             "the LogoutRequest went to %s",
                             ctx->st->idp ? ctx->st->idp : "another IdP");
    }
    return ANC_OK;
}

static int match_session(void *ctx, const anc_session_t *s)
{
    return anc_logout_matches(ctx, s);
}

static int logout_page(request_rec *r, const char *title, const char *message,
                       const char *idp_note, const anc_logout_msg_t *m)
{
    apr_table_t *t = apr_table_make(r->pool, 8);

    apr_table_setn(t, "message", message);
    if (idp_note) {
        apr_table_setn(t, "idpNote", idp_note);
    }
    if (m) {
        apr_table_setn(t, "entityID", m->issuer);
        if (m->status_code) {
            apr_table_setn(t, "statusCode", m->status_code);
        }
        if (m->status_code2) {
            apr_table_setn(t, "statusCode2", m->status_code2);
        }
        if (m->status_message) {
            apr_table_setn(t, "statusMessage", m->status_message);
        }
    }
    apr_table_setn(t, "ref", anc_request_ref(r));
    return anc_page_send(r, HTTP_OK, ANC_PAGE_LOGOUT, title, t);
}

/* The IdP's answer to our LogoutRequest. */
static int slo_response(request_rec *r, const anc_logout_msg_t *m, slo_lookup_t *lk)
{
    anc_status_t taken = anc_store_logout_pending_take(r, m->in_response_to);
    int success = !strcmp(m->status_code, ANC_STATUS_SUCCESS) && !m->status_code2;

    if (taken != ANC_OK) {
        /* answered in parallel, or expired in between: one answer only */
        log_refused(r, "LogoutResponse",
                    taken == ANC_E_CACHE ? ANC_E_CACHE : ANC_E_LOGOUT_UNSOLICITED,
                    "the pending LogoutRequest was already answered");
        return taken == ANC_E_CACHE ? anc_unavailable(r)
                                    : anc_simple_page(r, HTTP_BAD_REQUEST, "Bad request",
                                                      "This logout answer is not valid "
                                                      "(any more).");
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "authncontext: slo: LogoutResponse request=%s idp=%s status=%s%s%s "
                  "ref=%s",
                  m->in_response_to, m->issuer, m->status_code,
                  m->status_code2 ? " " : "", m->status_code2 ? m->status_code2 : "",
                  anc_request_ref(r));
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    if (success && lk->st && anc_is_local_url(lk->st->target)) {
        apr_table_setn(r->headers_out, "Location",
                       ap_construct_url(r->pool, lk->st->target, r));
        return HTTP_MOVED_TEMPORARILY;
    }
    if (success) {
        return logout_page(r, "You are signed out",
                           "You are signed out of this site and at your identity "
                           "provider.",
                           NULL, NULL);
    }
    /* PartialLogout or another status: we are out, the IdP says not
     * everything is */
    return logout_page(r, "You are signed out of this site",
                       "You are signed out of this site.",
                       "Your identity provider could not confirm that you are signed out "
                       "everywhere: close the browser to finish signing out.",
                       m);
}

/* The IdP's LogoutRequest: every session of that principal (and
 * SessionIndex) ends, on every server that shares the store; then the
 * signed LogoutResponse goes back. */
static int slo_request(request_rec *r, const anc_logout_msg_t *m)
{
    const anc_srv_cfg_t *c = anc_srv(r->server);
    const char *principal =
        anc_logout_principal_key(r->pool, c->sp_entity_id, m->issuer, m->name_id.value);
    const char *own = anc_cookie_get(r, anc_srv_cookie_name(c));
    const anc_endpoint_t *ep;
    anc_logout_response_t res;
    anc_error_t *err = NULL;
    const char *hex = NULL, *xml = NULL, *relay;
    int ended = 0, failed = 0, rc;

    anc_store_slo_index_end(r, principal, match_session, (void *)m, &ended, &failed);
    /* The browser's own session too, when it is one of them and the index
     * did not hold it (the cookie comes with a Lax top-level GET) */
    if (own && anc_is_hex_id(own, 16)) {
        anc_session_t *s = NULL;
        anc_status_t st = anc_store_session_load(r, own, ANC_SESSION_DECODE_ALL, &s);

        if (st == ANC_OK && anc_logout_matches(m, s)) {
            if (anc_store_session_end(r, own) == ANC_OK) {
                ended++;
            } else {
                failed++;
            }
        } else if (st == ANC_E_CACHE) {
            failed++;
        }
        if (st == ANC_OK && anc_logout_matches(m, s)) {
            anc_cookie_set(r, anc_srv_cookie_name(c), "", "/", 0,
                           anc_srv_cookie_samesite(c));
        }
    }
    ap_log_rerror(APLOG_MARK, failed ? APLOG_ERR : APLOG_INFO, 0, r,
                  "authncontext: slo: LogoutRequest request=%s idp=%s user=%s "
                  "session_indexes=%d ended=%d failed=%d%s ref=%s",
                  m->id, m->issuer, m->name_id.value, m->session_indexes->nelts, ended,
                  failed,
                  failed ? " reason=cache-unavailable (answering PartialLogout)" : "",
                  anc_request_ref(r));
    /* Bindings: answer with the binding the request came with when the IdP
     * has it (ResponseLocation when given, metadata 2.2.2) */
    ep = idp_slo(m->idp, m->binding == ANC_LOGOUT_BINDING_POST);
    if (!ep || anc_random_hex(r->pool, 16, &hex, &err) != ANC_OK) {
        /* no answer can go back; the browser must not read "signed out"
         * when the store did not confirm it (as PATH/logout: 503) */
        if (failed) {
            apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
            return anc_simple_page(r, HTTP_SERVICE_UNAVAILABLE, "Service unavailable",
                                   "The session store is not available, so you may not "
                                   "be signed out. Please try again later.");
        }
        return logout_page(r, "You are signed out", "You are signed out of this site.",
                           NULL, NULL);
    }
    memset(&res, 0, sizeof(res));
    res.id = apr_pstrcat(r->pool, "_", hex, NULL);
    res.issue_instant = apr_time_now();
    res.destination = ep->response_location ? ep->response_location : ep->location;
    res.issuer = c->sp_entity_id;
    res.in_response_to = m->id;
    if (failed) {
        /* Fail closed (DESIGN: a store that cannot confirm means no
         * success), and say so: core 3.7.3.2 PartialLogout */
        res.status_code = ANC_STATUS_RESPONDER;
        res.status_code2 = ANC_STATUS_PARTIAL_LOGOUT;
        res.status_message = "the session store did not confirm the end of every session";
    }
    if (anc_logout_response_xml(r->pool, &res, &xml, &err) != ANC_OK) {
        log_refused(r, "LogoutResponse", err->code, err->detail);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* RelayState echoed (bindings 3.4.3 / 3.5.3); one over the binding's
     * 80 bytes is the IdP's error: answered without it rather than not
     * at all */
    relay = m->relay_state;
    if (relay && strlen(relay) > 80) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "authncontext: slo: RelayState over 80 bytes not echoed ref=%s",
                      anc_request_ref(r));
        relay = NULL;
    }
    rc = send_to_idp(r, "SAMLResponse", ep, res.destination, xml, relay);
    return rc == DECLINED ? HTTP_INTERNAL_SERVER_ERROR : rc;
}

int anc_handle_slo(request_rec *r)
{
    const anc_srv_cfg_t *c = anc_srv(r->server);
    apr_size_t max = anc_srv_max_response_size(c);
    anc_logout_cfg_t cfg;
    anc_logout_input_t in;
    anc_logout_msg_t *m = NULL;
    anc_error_t *err = NULL;
    slo_lookup_t lk;
    slo_form_t form;
    anc_status_t rv;

    if (!slo_on(c)) {
        return anc_simple_page(r, HTTP_NOT_FOUND, "Not found",
                               "Single Logout is off on this site.");
    }
    memset(&in, 0, sizeof(in));
    if (r->method_number == M_GET) {
        if (!r->args || !*r->args) {
            log_refused(r, "message", ANC_E_BINDING, "no query string");
            return anc_simple_page(r, HTTP_BAD_REQUEST, "Bad request",
                                   "This address takes logout messages from your "
                                   "identity provider.");
        }
        in.binding = ANC_LOGOUT_BINDING_REDIRECT;
        in.query = r->args; /* as received: the signature covers these octets */
    } else if (r->method_number == M_POST) {
        const char *ctype = apr_table_get(r->headers_in, "Content-Type");
        char *body = NULL;
        apr_size_t len = 0;

        if (!ctype || strncasecmp(ctype, "application/x-www-form-urlencoded", 33) ||
            (ctype[33] != '\0' && ctype[33] != ';' && ctype[33] != ' ') ||
            anc_read_body(r, max * 2 + 8192, &body, &len) != OK ||
            !slo_form_parse(r->pool, body, len, &form) || form.n_msg != 1 ||
            form.n_relay > 1) {
            /* bindings 3.5.4: one message field, at most one RelayState */
            log_refused(r, "message", ANC_E_BINDING,
                        "not one SAMLRequest/SAMLResponse form field");
            return anc_simple_page(r, HTTP_BAD_REQUEST, "Bad request",
                                   "This logout message is not valid.");
        }
        in.binding = ANC_LOGOUT_BINDING_POST;
        in.param = form.param;
        in.value = form.value;
        in.value_len = strlen(form.value);
        in.relay_state = form.relay_state;
    } else {
        apr_table_setn(r->err_headers_out, "Allow", "GET, POST");
        return anc_simple_page(r, HTTP_METHOD_NOT_ALLOWED, "Method not allowed",
                               "Use GET or POST for the logout endpoint.");
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.sp_entity_id = c->sp_entity_id;
    cfg.slo_url = slo_url(r);
    cfg.trust = anc_idps_trust(r);
    cfg.allow_sha1 = anc_dir_flag(c->allow_sha1, 0);
    cfg.clock_skew = anc_srv_clock_skew(c);
    cfg.max_size = max;
    memset(&lk, 0, sizeof(lk));
    lk.r = r;
    in.now = apr_time_now();
    in.replay = anc_store_replay(r);
    in.request_lookup = slo_lookup;
    in.request_lookup_ctx = &lk;
    rv = anc_logout_verify(r->pool, &cfg, &in, &m, &err);
    if (rv != ANC_OK) {
        log_refused(r, "message", rv, err ? err->detail : NULL);
        if (rv == ANC_E_CACHE) {
            return anc_unavailable(r);
        }
        return anc_simple_page(r, HTTP_BAD_REQUEST, "Logout message refused",
                               apr_pstrcat(r->pool,
                                           "This logout message is not valid, so nothing "
                                           "was signed out. Reference: ",
                                           anc_request_ref(r), NULL));
    }
    return m->is_request ? slo_request(r, m) : slo_response(r, m, &lk);
}

anc_status_t anc_slo_index_session(request_rec *r, const anc_session_t *s)
{
    const anc_srv_cfg_t *c = anc_srv(r->server);
    const anc_idp_t *idp;

    if (!slo_on(c) || !s->idp || !s->name_id.value) {
        return ANC_OK;
    }
    /* only IdPs that can send a LogoutRequest: one with no
     * SingleLogoutService costs no write */
    idp = anc_trust_find(anc_idps_trust(r), s->idp);
    if (!idp || !idp_slo(idp, 0)) {
        return ANC_OK;
    }
    return anc_store_slo_index_add(
        r, s,
        anc_logout_principal_key(r->pool, c->sp_entity_id, s->idp, s->name_id.value));
}
