/*
 * httpd_login.c - starting a login or a step-up: the AuthnRequest for a
 * location, the pending-request record, the browser-binding cookie, and
 * the Redirect or POST binding answer. Also the cookie and local-URL
 * helpers the other glue files use.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include "anc_authnreq.h"
#include "anc_metadata.h"
#include "httpd_glue.h"

APLOG_USE_MODULE(authncontext);

/* How long a started login may take at the IdP (MFA enrolment included). */
#define PENDING_LIFETIME 1800
/* The binding cookie lives longer than the requests it binds, so that an
 * answer arriving after its request expired is told apart from an answer
 * to a login this browser never started (errorType=session-expired). It
 * grants nothing alone: it only has to match a pending request. */
#define BINDING_COOKIE_LIFETIME (2 * PENDING_LIFETIME)

/* ---------------------------------------------------------------------- */
/* URLs and cookies                                                        */

int anc_is_local_url(const char *u)
{
    const char *p;

    /* "/path" only: "//host" and "/\host" are network paths to browsers. */
    if (!u || u[0] != '/' || u[1] == '/' || u[1] == '\\') {
        return 0;
    }
    for (p = u; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\') {
            return 0;
        }
    }
    return 1;
}

const char *anc_request_target(request_rec *r)
{
    request_rec *orig = r;
    const char *t;

    while (orig->prev) {
        orig = orig->prev;
    }
    while (orig->main) {
        orig = orig->main;
    }
    t = orig->unparsed_uri;
    if (!anc_is_local_url(t)) {
        t = apr_pstrcat(r->pool, orig->uri ? orig->uri : "/", orig->args ? "?" : "",
                        orig->args ? orig->args : "", NULL);
    }
    return anc_is_local_url(t) ? t : "/";
}

const char *anc_cookie_get(request_rec *r, const char *name)
{
    const char *hdr = apr_table_get(r->headers_in, "Cookie");
    apr_size_t nlen = strlen(name);
    const char *p;

    if (!hdr) {
        return NULL;
    }
    /* "a=b; c=d": the first cookie with exactly this name wins. */
    for (p = hdr; p && *p;) {
        const char *end;
        while (*p == ' ' || *p == '\t' || *p == ';' || *p == ',') {
            p++;
        }
        end = p + strcspn(p, ";,");
        if ((apr_size_t)(end - p) > nlen && !strncmp(p, name, nlen) && p[nlen] == '=') {
            const char *v = p + nlen + 1;
            apr_size_t vlen = (apr_size_t)(end - v);
            while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) {
                vlen--;
            }
            if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
                v++;
                vlen -= 2;
            }
            return apr_pstrmemdup(r->pool, v, vlen);
        }
        p = *end ? end + 1 : end;
    }
    return NULL;
}

void anc_cookie_set(request_rec *r, const char *name, const char *value, const char *path,
                    int max_age, const char *samesite)
{
    const anc_srv_cfg_t *c = anc_srv(r->server);
    const char *cookie;

    cookie = apr_psprintf(r->pool, "%s=%s; Path=%s; HttpOnly%s%s%s", name, value, path,
                          anc_srv_cookie_secure(c) ? "; Secure" : "",
                          samesite ? "; SameSite=" : "", samesite ? samesite : "");
    if (max_age == 0) {
        cookie = apr_pstrcat(r->pool, cookie,
                             "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT", NULL);
    } else if (max_age > 0) {
        cookie = apr_psprintf(r->pool, "%s; Max-Age=%d", cookie, max_age);
    }
    apr_table_addn(r->err_headers_out, "Set-Cookie", cookie);
}

const char *anc_binding_cookie_name(request_rec *r)
{
    return apr_pstrcat(r->pool, anc_srv_cookie_name(anc_srv(r->server)), "_req", NULL);
}

/* ---------------------------------------------------------------------- */
/* login                                                                   */

void anc_login_from_dir(request_rec *r, const anc_dir_cfg_t *d, const char *target,
                        int force, anc_login_t *l)
{
    memset(l, 0, sizeof(*l));
    l->target = target;
    l->idp = d->idp;
    l->dir = d;
    if (anc_dir_request_rule(d)) {
        l->classes = anc_class_rule_classes(anc_dir_request_rule(d));
        l->comparison = anc_class_rule_comparison(anc_dir_request_rule(d));
        l->has_context = l->classes && l->classes->nelts > 0;
    }
    l->force_authn = force || anc_dir_flag(d->force_authn, 0);
    l->passive = anc_dir_flag(d->passive, 0);
    l->max_age = d->max_age > 0 ? d->max_age : 0;
    l->retry_without_context = anc_dir_flag(d->retry_without_context, 0);
    l->binding = anc_dir_flag(d->request_binding, ANC_BINDING_IS_REDIRECT);
    l->sign = anc_dir_sign_requests(d, anc_srv(r->server));
    l->sig_alg = anc_dir_sig_alg(d);
    l->error_url = d->error_url;
}

static const anc_idp_t *pick_idp(request_rec *r, const char *want)
{
    const anc_idp_t *idp = anc_trust_find(anc_idps_trust(r), want);

    if (!idp) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "authncontext: login: failed reason=%s detail=IdP %s is not in the "
                      "loaded metadata",
                      anc_reason(ANC_E_UNKNOWN_IDP), want);
    }
    return idp;
}

int anc_login_prepare(request_rec *r, const anc_login_t *l, const char **url,
                      const char **html)
{
    const anc_srv_cfg_t *c = anc_srv(r->server);
    const char *endpoint = anc_srv_endpoint(c);
    const char *cname = anc_binding_cookie_name(r);
    const anc_key_t *key = NULL;
    const anc_idp_t *idp;
    const char *dest, *hex = NULL, *binding_value, *xml = NULL;
    anc_authnreq_t req;
    anc_request_state_t *st;
    anc_pending_t pd;
    anc_error_t *err = NULL;
    anc_status_t rc;
    int post = l->binding == ANC_BINDING_IS_POST;
    apr_time_t now = apr_time_now();

    *url = NULL;
    *html = NULL;
    if (!anc_srv_ready(r, "login")) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (l->target && strlen(l->target) > ANC_MAX_TARGET) {
        ap_log_rerror(
            APLOG_MARK, APLOG_INFO, 0, r,
            "authncontext: login: refused reason=%s detail=the URL to come back "
            "to is longer than %d bytes",
            anc_reason(ANC_E_INPUT), ANC_MAX_TARGET);
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
        return HTTP_REQUEST_URI_TOO_LARGE;
    }
    if (!l->idp) {
        /* No IdP chosen: the one the location allows, or, when it allows
         * several, discovery at the login endpoint (the chooser or the
         * external discovery service), which comes back here with one. */
        const char *only = NULL;
        int n = anc_idp_allowed_count(r, l->dir, &only);

        if (n > 1) {
            *url = apr_pstrcat(
                r->pool, ap_construct_url(r->pool, endpoint, r), "/login?target=",
                anc_url_encode(r->pool, anc_is_local_url(l->target) ? l->target : "/"),
                NULL);
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "authncontext: login: several IdPs allowed here; to discovery");
            return OK;
        }
        if (n == 0) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "authncontext: login: failed reason=%s detail=no IdP in the "
                          "metadata is allowed here (AuthnContextIdP)",
                          anc_reason(ANC_E_IDP_NOT_ALLOWED));
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!(idp = pick_idp(r, only))) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    } else if (!(idp = pick_idp(r, l->idp))) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    dest = anc_idp_sso_location(idp, post ? ANC_BINDING_POST : ANC_BINDING_REDIRECT);
    if (!dest) {
        /* the IdP offers only the other binding */
        post = !post;
        dest = anc_idp_sso_location(idp, post ? ANC_BINDING_POST : ANC_BINDING_REDIRECT);
    }
    if (!dest) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "authncontext: login: failed reason=%s detail=IdP %s has no "
                      "SingleSignOnService for HTTP-Redirect or HTTP-POST",
                      anc_reason(ANC_E_METADATA), idp->entity_id);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (l->sign) {
        key = anc_srv_key(c);
        if (!key) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "authncontext: login: failed reason=%s detail="
                          "AuthnContextSignRequests On needs AuthnContextSPKeyFile",
                          anc_reason(ANC_E_CONFIG));
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    } else if (idp->want_authn_requests_signed) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "authncontext: login: IdP %s wants signed AuthnRequests but "
                      "signing is off here",
                      idp->entity_id);
    }

    if (anc_random_hex(r->pool, 16, &hex, &err) != ANC_OK) {
        goto internal;
    }
    memset(&req, 0, sizeof(req));
    req.id = apr_pstrcat(r->pool, "_", hex, NULL);
    req.issue_instant = now;
    req.destination = dest;
    req.acs_url =
        ap_construct_url(r->pool, apr_pstrcat(r->pool, endpoint, "/acs", NULL), r);
    req.issuer = c->sp_entity_id;
    req.force_authn = l->force_authn;
    req.is_passive = l->passive;
    req.allow_create = 1;
    req.has_requested_context = l->has_context && !l->is_retry;
    req.comparison = l->comparison;
    req.classes = l->classes;
    if (anc_authnreq_xml(r->pool, &req, &xml, &err) != ANC_OK) {
        goto internal;
    }

    /* The browser binding: a random value in a cookie sent only to the
     * endpoints, reused across parallel logins of one browser. It must
     * survive the IdP's cross-site POST: SameSite=None (needs Secure),
     * else Lax (works when IdP and SP are same-site, as on loopback). */
    binding_value = anc_cookie_get(r, cname);
    if (!binding_value || !anc_is_hex_id(binding_value, 16)) {
        if (anc_random_hex(r->pool, 16, &binding_value, &err) != ANC_OK) {
            goto internal;
        }
    }
    /* A __Host- cookie must have Path=/ (RFC 6265bis 4.1.3.2), or the
     * browser drops it and no login could ever finish. */
    anc_cookie_set(r, cname, binding_value,
                   strncmp(cname, "__Host-", 7) == 0 ? "/" : endpoint,
                   BINDING_COOKIE_LIFETIME, anc_srv_cookie_secure(c) ? "None" : "Lax");

    st = apr_pcalloc(r->pool, sizeof(*st));
    st->request_id = req.id;
    st->target = anc_is_local_url(l->target) ? l->target : "/";
    st->idp = idp->entity_id;
    st->browser_binding = binding_value;
    st->has_requested_context = req.has_requested_context;
    st->comparison = l->comparison;
    st->requested_classes = apr_array_make(r->pool, 4, sizeof(const char *));
    if (req.has_requested_context) {
        apr_array_cat(st->requested_classes, l->classes);
    }
    st->force_authn = l->force_authn;
    st->max_age = l->max_age;
    st->is_retry = l->is_retry;
    st->created = now;
    st->expires = now + apr_time_from_sec(PENDING_LIFETIME);

    /* A bound per client address (as httpd sees it: r->useragent_ip, the
     * real client behind a proxy only with mod_remoteip): one client cannot
     * flush other users' pending requests, nor grow a shared store. */
    if (anc_srv_request_limit(c) > 0) {
        unsigned long n = 0;
        apr_time_t window_end = 0;

        rc = anc_store_client_count(r, r->useragent_ip ? r->useragent_ip : "-", &n,
                                    &window_end);
        if (rc != ANC_OK) {
            return HTTP_SERVICE_UNAVAILABLE; /* logged by the store */
        }
        if (n > (unsigned long)anc_srv_request_limit(c)) {
            ap_log_rerror(
                APLOG_MARK, APLOG_WARNING, 0, r,
                "authncontext: login: refused reason=%s detail=%lu login starts "
                "from %s this minute (AuthnContextRequestLimit %d)",
                anc_reason(ANC_E_TOO_MANY), n, r->useragent_ip, anc_srv_request_limit(c));
            apr_table_setn(r->err_headers_out, "Retry-After",
                           apr_psprintf(r->pool, "%" APR_TIME_T_FMT,
                                        apr_time_sec(window_end - now) + 1));
            apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
            return HTTP_TOO_MANY_REQUESTS;
        }
    }

    memset(&pd, 0, sizeof(pd));
    pd.st = st;
    pd.retry_without_context = l->retry_without_context;
    pd.binding = post ? ANC_BINDING_IS_POST : ANC_BINDING_IS_REDIRECT;
    pd.sign = l->sign;
    pd.passive = l->passive;
    pd.sig_alg = l->sig_alg;
    pd.error_url = l->error_url;
    rc = anc_store_pending_save(r, &pd);
    if (rc == ANC_E_CACHE) {
        /* already logged by the store */
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (rc != ANC_OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    /* RelayState: the request ID, an opaque key of ours; the target and
     * the requested context stay server side. */
    if (post) {
        rc = anc_post_form(r->pool, dest, xml, req.id, key, l->sig_alg, html, &err);
    } else {
        rc = anc_redirect_encode(r->pool, dest, xml, req.id, key, l->sig_alg, url, &err);
    }
    if (rc != ANC_OK) {
        goto internal;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "authncontext: login: AuthnRequest to %s binding=%s context=%s%s%s "
                  "force=%d passive=%d retry=%d target=%s",
                  idp->entity_id, post ? "POST" : "Redirect",
                  req.has_requested_context ? anc_comparison_name(l->comparison) : "none",
                  req.has_requested_context ? ":" : "",
                  req.has_requested_context
                      ? apr_array_pstrcat(r->pool, st->requested_classes, ' ')
                      : "",
                  l->force_authn, l->passive, l->is_retry, st->target);
    return OK;

internal:
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "authncontext: login: failed reason=%s detail=%s",
                  err ? err->reason : anc_reason(ANC_E_INTERNAL),
                  err && err->detail ? err->detail : "");
    return HTTP_INTERNAL_SERVER_ERROR;
}

int anc_login_send(request_rec *r, const anc_login_t *l, int redirect_status)
{
    const char *url = NULL, *html = NULL;
    int rc = anc_login_prepare(r, l, &url, &html);

    if (rc != OK) {
        return rc;
    }
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    if (url) {
        apr_table_setn(r->headers_out, "Location", url);
        return redirect_status;
    }
    r->status = HTTP_OK;
    ap_set_content_type(r, "text/html; charset=UTF-8");
    ap_rputs(html, r);
    return OK;
}
