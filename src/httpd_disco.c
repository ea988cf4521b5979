/*
 * httpd_disco.c - IdP discovery in httpd (issue 15):
 *   GET PATH/discofeed   the IdPs as the Shibboleth SP's DiscoFeed JSON,
 *                        with a strong ETag (304 on If-None-Match);
 *   PATH/login with no IdP chosen and several allowed for the target's
 *                        location: the external discovery service
 *                        (AuthnContextDiscoveryURL) or the built-in chooser
 *                        page (template "chooser", server-side search ?q=);
 *   the remembered IdP   a cookie NAME_idp (AuthnContextCookieName + "_idp")
 *                        offered first by the chooser, never trusted: it is
 *                        used only when it names an IdP in trusted metadata
 *                        that the location allows;
 *   the IdP set of a location (AuthnContextIdP entityIDs and
 *                        entityAttribute=NAME=VALUE).
 *
 * The list of IdPs with their UI information, and the feed's bytes and
 * ETag, are built once per metadata snapshot and process
 * (anc_idps_derived, httpd_metadata.c): the first request after a refresh
 * builds them outside any lock, later ones read the immutable result, which
 * stays valid while the request holds the snapshot. No mutable global.
 * The SAML meaning (which IdP is trusted, what the feed holds, search,
 * languages) is the core's (anc_disco.c); this file owns HTTP.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include "anc_authnreq.h"
#include "anc_disco.h"
#include "httpd_glue.h"
#include "httpd_metadata.h"

APLOG_USE_MODULE(authncontext);

/* IdPs per chooser page, and bounds on what a browser may send */
#define CHOOSER_PAGE 50
#define MAX_QUERY 256
#define MAX_START 100000
/* login parameters a choice keeps (target, the Shibboleth-style ones, an
 * application's own) */
#define MAX_KEPT 32
/* the remembered IdP: a year; its cookie value (a URL-encoded entityID)
 * at most this long */
#define REMEMBER_LIFETIME (365 * 86400)
#define MAX_REMEMBERED (3 * 1024)

typedef struct disco_data_t {
    anc_disco_list_t *list;
    const char *json;
    apr_size_t len;
    const char *etag;
} disco_data_t;

static const void *build_disco(apr_pool_t *p, const anc_trust_t *base,
                               const anc_md_index_t *const *indexes, int n, void *ctx)
{
    disco_data_t *dd = apr_pcalloc(p, sizeof(*dd));
    anc_error_t *err = NULL;
    apr_time_t now = apr_time_now();
    int i;

    dd->list = anc_disco_list_make(p);
    anc_disco_list_add_trust(dd->list, base);
    for (i = 0; i < n; i++) {
        if (indexes[i]) {
            anc_disco_list_add_index(dd->list, indexes[i], now);
        }
    }
    if (anc_disco_feed_json(p, dd->list, &dd->json, &dd->len, &dd->etag, &err) !=
        ANC_OK) {
        return NULL;
    }
    return dd;
}

static const disco_data_t *disco_data(request_rec *r)
{
    return anc_idps_derived(r, build_disco, NULL);
}

/* ---- the location's IdP set ---------------------------------------------------- */

static void dir_set(const anc_dir_cfg_t *d, anc_idp_set_t *set)
{
    set->entity_ids = d ? d->idp_ids : NULL;
    set->attrs = d ? d->idp_attrs : NULL;
}

anc_status_t anc_idp_allowed(request_rec *r, const anc_dir_cfg_t *d,
                             const char *entity_id)
{
    const disco_data_t *dd;
    const anc_disco_entry_t *e;
    anc_idp_set_t set;

    if (!entity_id || !anc_trust_find(anc_idps_trust(r), entity_id)) {
        return ANC_E_UNKNOWN_IDP;
    }
    dir_set(d, &set);
    if (anc_idp_set_is_empty(&set)) {
        return ANC_OK;
    }
    /* entity attributes from the discovery list (no entity file read) */
    dd = disco_data(r);
    e = dd ? anc_disco_list_find(dd->list, entity_id) : NULL;
    return anc_idp_set_allows(&set, entity_id, e ? e->ui : NULL) ? ANC_OK
                                                                 : ANC_E_IDP_NOT_ALLOWED;
}

int anc_idp_allowed_count(request_rec *r, const anc_dir_cfg_t *d, const char **only)
{
    const disco_data_t *dd = disco_data(r);
    anc_idp_set_t set;
    int i, n = 0, count;

    *only = NULL;
    if (!dd) {
        return 0;
    }
    dir_set(d, &set);
    count = anc_disco_list_count(dd->list);
    for (i = 0; i < count && n < 2; i++) {
        const anc_disco_entry_t *e = anc_disco_list_get(dd->list, i);

        if (anc_idp_set_allows(&set, e->entity_id, e->ui)) {
            n++;
            *only = e->entity_id;
        }
    }
    if (n != 1) {
        *only = NULL;
    }
    return n;
}

/* ---- the remembered IdP --------------------------------------------------------- */

static const char *remember_cookie_name(request_rec *r)
{
    return apr_pstrcat(r->pool, anc_srv_cookie_name(anc_srv(r->server)), "_idp", NULL);
}

void anc_disco_remember(request_rec *r, const char *entity_id)
{
    const char *name = remember_cookie_name(r);
    const disco_data_t *dd = disco_data(r);
    const char *value = anc_url_encode(r->pool, entity_id);

    /* only where there is a choice to shorten (several IdPs in the
     * metadata), and only what remembered() would read back */
    if (!dd || anc_disco_list_count(dd->list) < 2 || strlen(value) > MAX_REMEMBERED) {
        return;
    }

    /* Path=/: a __Host- prefix needs it, and the chooser may sit under
     * any endpoint path. Lax: sent on the top-level GET to the login. */
    anc_cookie_set(r, name, value, "/", REMEMBER_LIFETIME, "Lax");
}

static const char *remembered(request_rec *r)
{
    const char *v = anc_cookie_get(r, remember_cookie_name(r));
    char *dec;

    if (!v || strlen(v) > MAX_REMEMBERED) {
        return NULL;
    }
    dec = apr_pstrdup(r->pool, v);
    if (ap_unescape_urlencoded(dec) != OK) {
        return NULL;
    }
    return dec;
}

/* ---- the login parameters a choice keeps ----------------------------------------- */

/* The query of PATH/login without the discovery's own parameters (the
 * choice, the search, the page, forget, the DS return mark): the raw,
 * still encoded pairs, and the same decoded for hidden form fields. The
 * login endpoint checks each of them again when the choice comes back. */
static int discovery_param(const char *name, apr_size_t n)
{
    static const char *const own[] = {"idp",   "entityID", "q",
                                      "start", "forget",   "discoReturn"};
    apr_size_t i;

    for (i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
        if (strlen(own[i]) == n && !strncmp(own[i], name, n)) {
            return 1;
        }
    }
    return 0;
}

static char *form_decode(apr_pool_t *p, const char *s, apr_size_t n)
{
    char *o = apr_pstrmemdup(p, s, n);

    /* '+' is a space; %2F is a slash (a target is a path) */
    return ap_unescape_urlencoded(o) == OK ? o : NULL;
}

typedef struct kept_t {
    const char *query;         /* "a=b&c=d" (encoded), "" when none */
    apr_array_header_t *names; /* decoded */
    apr_array_header_t *values;
} kept_t;

/* 0, or -1 when the query holds more than MAX_KEPT parameters: each one is
 * repeated in every link of the chooser and in the discovery service's
 * return URL, so the count is bounded and the query is joined once
 * (linear in its length, not one copy per parameter). */
static int kept_params(request_rec *r, kept_t *k)
{
    const char *q = r->args;
    apr_array_header_t *raw = apr_array_make(r->pool, 4, sizeof(const char *));

    k->query = "";
    k->names = apr_array_make(r->pool, 4, sizeof(const char *));
    k->values = apr_array_make(r->pool, 4, sizeof(const char *));
    while (q && *q) {
        const char *amp = strchr(q, '&'), *eq;
        apr_size_t flen = amp ? (apr_size_t)(amp - q) : strlen(q), nlen;
        char *name, *value;

        eq = memchr(q, '=', flen);
        nlen = eq ? (apr_size_t)(eq - q) : flen;
        if (flen && !discovery_param(q, nlen)) {
            name = form_decode(r->pool, q, nlen);
            value = eq ? form_decode(r->pool, eq + 1, flen - nlen - 1) : "";
            if (name && value) {
                if (raw->nelts == MAX_KEPT) {
                    return -1;
                }
                APR_ARRAY_PUSH(raw, const char *) = apr_pstrmemdup(r->pool, q, flen);
                APR_ARRAY_PUSH(k->names, const char *) = name;
                APR_ARRAY_PUSH(k->values, const char *) = value;
            }
        }
        q = amp ? amp + 1 : NULL;
    }
    if (raw->nelts) {
        k->query = apr_array_pstrcat(r->pool, raw, '&');
    }
    return 0;
}

static const char *login_url(request_rec *r, const kept_t *k, const char *extra)
{
    const char *ep = anc_srv_endpoint(anc_srv(r->server));

    return apr_pstrcat(r->pool, ep, "/login?", k->query, *k->query && extra ? "&" : "",
                       extra ? extra : "", NULL);
}

/* ---- the external discovery service ---------------------------------------------- */

/* OASIS Identity Provider Discovery Service Protocol and Profile 2.4.1:
 * entityID (this SP), return (where the answer goes: built here from our
 * own endpoint URL and the kept login parameters, never taken from the
 * request, so the DS cannot be used to bounce anywhere else),
 * returnIDParam, isPassive. */
static int to_discovery_service(request_rec *r, const char *ds, const kept_t *k,
                                int passive)
{
    const anc_srv_cfg_t *c = anc_srv(r->server);
    const char *ret = ap_construct_url(r->pool, login_url(r, k, "discoReturn=1"), r);
    const char *url;

    url = apr_pstrcat(r->pool, ds, strchr(ds, '?') ? "&" : "?",
                      "entityID=", anc_url_encode(r->pool, c->sp_entity_id),
                      "&return=", anc_url_encode(r->pool, ret), "&returnIDParam=entityID",
                      passive ? "&isPassive=true" : "", NULL);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "authncontext: login: no IdP chosen; to the discovery service %s%s", ds,
                  passive ? " (passive)" : "");
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Location", url);
    return HTTP_MOVED_TEMPORARILY;
}

/* ---- the chooser --------------------------------------------------------------- */

typedef struct item_t {
    const char *url, *name, *lang, *logo, *description, *entity_id;
} item_t;

typedef struct chooser_ctx_t {
    apr_table_t *facts;
    const kept_t *kept;
    apr_array_header_t *items; /* item_t */
} chooser_ctx_t;

static int chooser_count(void *vctx, const char *list)
{
    chooser_ctx_t *c = vctx;

    if (!strcmp(list, "idps")) {
        return c->items->nelts;
    }
    if (!strcmp(list, "params")) {
        return c->kept->names->nelts;
    }
    return 0;
}

static const char *chooser_item(void *vctx, const char *list, int i, const char *name)
{
    chooser_ctx_t *c = vctx;

    if (!strcmp(list, "params")) {
        if (!strcmp(name, "paramName")) {
            return APR_ARRAY_IDX(c->kept->names, i, const char *);
        }
        if (!strcmp(name, "paramValue")) {
            return APR_ARRAY_IDX(c->kept->values, i, const char *);
        }
        return NULL;
    }
    if (!strcmp(list, "idps")) {
        const item_t *it = &APR_ARRAY_IDX(c->items, i, item_t);

        if (!strcmp(name, "idpURL")) {
            return it->url;
        }
        if (!strcmp(name, "idpName")) {
            return it->name;
        }
        if (!strcmp(name, "idpLang")) {
            return it->lang ? it->lang : "";
        }
        if (!strcmp(name, "idpLogo")) {
            return it->logo ? it->logo : "";
        }
        if (!strcmp(name, "idpDescription")) {
            return it->description ? it->description : "";
        }
        if (!strcmp(name, "idpEntityID")) {
            return it->entity_id;
        }
    }
    return NULL;
}

/* A logo a page may show: https, or an inline image (no http: mixed
 * content, no javascript: or other schemes). */
static const char *safe_logo(const anc_logo_t *lg)
{
    if (!lg) {
        return NULL;
    }
    return anc_ui_url_safe(lg->url, 1) ? lg->url : NULL;
}

static void describe(request_rec *r, const kept_t *k, const anc_disco_entry_t *e,
                     const apr_array_header_t *prefs, item_t *it)
{
    const anc_lang_text_t *dn = anc_lang_pick(e->ui->display_names, prefs);
    const anc_lang_text_t *de = anc_lang_pick(e->ui->descriptions, prefs);

    it->entity_id = e->entity_id;
    it->name = dn ? dn->value : e->entity_id;
    it->lang = dn && *dn->lang ? dn->lang : NULL;
    it->description = de ? de->value : NULL;
    it->logo = safe_logo(anc_logo_pick(e->ui->logos, prefs));
    it->url = login_url(
        r, k,
        apr_pstrcat(r->pool, "entityID=", anc_url_encode(r->pool, e->entity_id), NULL));
}

static int chooser(request_rec *r, const anc_dir_cfg_t *d, const kept_t *k)
{
    const disco_data_t *dd = disco_data(r);
    const apr_array_header_t *prefs =
        anc_lang_prefs(r->pool, apr_table_get(r->headers_in, "Accept-Language"));
    const char *q, *sv, *mine;
    apr_array_header_t *hits = NULL;
    anc_idp_set_t set;
    chooser_ctx_t ctx;
    int nq = 0, ns = 0, nf = 0, start = 0, total = 0, i;

    q = anc_query_param(r, "q", &nq);
    sv = anc_query_param(r, "start", &ns);
    anc_query_param(r, "forget", &nf);
    if (nq > 1 || ns > 1 || (nq && (!q || strlen(q) > MAX_QUERY))) {
        ap_log_rerror(
            APLOG_MARK, APLOG_INFO, 0, r,
            "authncontext: login: chooser refused reason=%s detail=q given twice, "
            "malformed or over %d bytes",
            anc_reason(ANC_E_INPUT), MAX_QUERY);
        return anc_simple_page(
            r, HTTP_BAD_REQUEST, "Bad request",
            "The search for an organisation is too long or malformed.");
    }
    if (sv) {
        char *end;
        apr_int64_t v = apr_strtoi64(sv, &end, 10);

        if (!*sv || *end || v < 0 || v > MAX_START) {
            return anc_simple_page(
                r, HTTP_BAD_REQUEST, "Bad request",
                "The page of the list of organisations is not a number.");
        }
        start = (int)v;
    }
    if (!dd) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "authncontext: login: failed reason=%s detail=no IdP list",
                      anc_reason(ANC_E_INTERNAL));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    dir_set(d, &set);
    anc_disco_search(r->pool, dd->list, &set, q, start, CHOOSER_PAGE, &hits, &total);

    memset(&ctx, 0, sizeof(ctx));
    ctx.facts = apr_table_make(r->pool, 16);
    ctx.kept = k;
    ctx.items = apr_array_make(r->pool, hits->nelts, sizeof(item_t));
    for (i = 0; i < hits->nelts; i++) {
        describe(r, k, anc_disco_list_get(dd->list, APR_ARRAY_IDX(hits, i, int)), prefs,
                 apr_array_push(ctx.items));
    }
    apr_table_setn(ctx.facts, "message",
                   "Choose the organisation you belong to. You sign in there, and come "
                   "back here.");
    apr_table_setn(
        ctx.facts, "formAction",
        apr_pstrcat(r->pool, anc_srv_endpoint(anc_srv(r->server)), "/login", NULL));
    apr_table_setn(ctx.facts, "query", q ? q : "");
    if (ctx.items->nelts) {
        apr_table_setn(ctx.facts, "shown", "1");
    }
    if (q && *q) {
        apr_table_setn(
            ctx.facts, "summary",
            total == 0
                ? apr_psprintf(r->pool,
                               "No organisation matches \xe2\x80\x9c%s\xe2\x80\x9d.", q)
                : apr_psprintf(r->pool,
                               "%d organisation%s match%s \xe2\x80\x9c%s\xe2\x80\x9d"
                               "%s.",
                               total, total == 1 ? "" : "s", total == 1 ? "es" : "", q,
                               total > ctx.items->nelts
                                   ? apr_psprintf(r->pool, "; showing %d to %d",
                                                  start + 1, start + ctx.items->nelts)
                                   : ""));
    } else if (total > ctx.items->nelts) {
        apr_table_setn(ctx.facts, "summary",
                       apr_psprintf(r->pool,
                                    "Showing %d to %d of %d organisations. Search to "
                                    "find yours.",
                                    start + 1, start + ctx.items->nelts, total));
    } else {
        apr_table_setn(
            ctx.facts, "summary",
            apr_psprintf(r->pool, "%d organisation%s.", total, total == 1 ? "" : "s"));
    }
    if (total > start + ctx.items->nelts) {
        apr_table_setn(ctx.facts, "moreURL",
                       login_url(r, k,
                                 apr_psprintf(r->pool, "%s%s%sstart=%d", q ? "q=" : "",
                                              q ? anc_url_encode(r->pool, q) : "",
                                              q ? "&" : "", start + ctx.items->nelts)));
    }
    /* the last IdP this browser used, first: only one that is trusted and
     * allowed here (the cookie is the browser's, never a decision) */
    mine = remembered(r);
    if (nf) {
        if (mine) {
            anc_cookie_set(r, remember_cookie_name(r), "", "/", 0, "Lax");
        }
    } else if (mine && anc_idp_allowed(r, d, mine) == ANC_OK) {
        const anc_disco_entry_t *e = anc_disco_list_find(dd->list, mine);

        if (e) {
            item_t it;

            describe(r, k, e, prefs, &it);
            apr_table_setn(ctx.facts, "rememberedURL", it.url);
            apr_table_setn(ctx.facts, "rememberedName", it.name);
            apr_table_setn(ctx.facts, "rememberedLang", it.lang ? it.lang : "");
            apr_table_setn(ctx.facts, "rememberedLogo", it.logo ? it.logo : "");
            apr_table_setn(ctx.facts, "forgetURL", login_url(r, k, "forget=1"));
        }
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "authncontext: login: no IdP chosen; chooser with %d of %d IdPs%s%s",
                  ctx.items->nelts, total, q ? " for " : "", q ? q : "");
    return anc_page_send_lists(r, HTTP_OK, ANC_PAGE_CHOOSER, "Choose your organisation",
                               ctx.facts, chooser_count, chooser_item, &ctx);
}

static int passive_without_idp(request_rec *r, const anc_dir_cfg_t *d,
                               const anc_login_t *l)
{
    apr_table_t *facts;

    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    if (anc_dir_is_lazy(d) && anc_is_local_url(l->target)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "authncontext: login: passive, several IdPs and none chosen or "
                      "remembered; back to %s without a session",
                      l->target);
        apr_table_setn(r->headers_out, "Location",
                       ap_construct_url(r->pool, l->target, r));
        return HTTP_SEE_OTHER;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "authncontext: login: passive, several IdPs and none chosen or "
                  "remembered; error page (%s needs a sign-in)",
                  l->target);
    facts = apr_table_make(r->pool, 4);
    apr_table_setn(facts, "message",
                   "Signing in without asking you was not possible: no organisation was "
                   "chosen for this page.");
    apr_table_setn(facts, "errorType", "saml-status");
    apr_table_setn(facts, "statusCode2", "urn:oasis:names:tc:SAML:2.0:status:NoPassive");
    apr_table_setn(facts, "loginURL",
                   apr_pstrcat(r->pool, anc_srv_endpoint(anc_srv(r->server)),
                               "/login?target=", anc_url_encode(r->pool, l->target),
                               NULL));
    return anc_page_send(r, HTTP_FORBIDDEN, ANC_PAGE_ERROR, "Sign-in needed", facts);
}

int anc_disco_start(request_rec *r, const anc_dir_cfg_t *d, anc_login_t *l)
{
    const char *only = NULL, *ds = d->disco_url;
    kept_t k;
    int n, back = 0;

    n = anc_idp_allowed_count(r, d, &only);
    if (n == 0) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            "authncontext: login: failed reason=%s detail=no IdP in the metadata "
            "is allowed for %s (AuthnContextIdP)",
            anc_reason(ANC_E_IDP_NOT_ALLOWED), l->target);
        return anc_simple_page(r, HTTP_FORBIDDEN, "No organisation available",
                               "No organisation you could sign in with is configured for "
                               "this page.");
    }
    if (n == 1) {
        l->idp = only; /* nothing to choose */
        return DECLINED;
    }
    if (kept_params(r, &k) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "authncontext: login: refused reason=%s detail=more than %d "
                      "parameters to keep through discovery",
                      anc_reason(ANC_E_INPUT), MAX_KEPT);
        return anc_simple_page(r, HTTP_BAD_REQUEST, "Bad request",
                               "The sign-in request has too many parameters.");
    }
    anc_query_param(r, "discoReturn", &back);
    if (l->passive && (!ds || !*ds || back)) {
        /* A passive login shows nothing: the remembered IdP may be tried
         * (when trusted and allowed here), else it ends as an IdP's
         * NoPassive would, without asking any IdP: back to a lazy target
         * without a session, or the error page. */
        const char *mine = remembered(r);

        if (mine && anc_idp_allowed(r, d, mine) == ANC_OK) {
            l->idp = mine;
            return DECLINED;
        }
        return passive_without_idp(r, d, l);
    }
    /* An answer without a choice (a passive DS that found none, a user who
     * came back without choosing): the built-in chooser, not the DS again. */
    if (ds && *ds && !back) {
        return to_discovery_service(r, ds, &k, l->passive);
    }
    return chooser(r, d, &k);
}

/* ---- PATH/discofeed ----------------------------------------------------------- */

/* 1 when an If-None-Match list holds etag (RFC 9110 13.1.2, weak
 * comparison: W/ prefixes are ignored) or is "*". */
static int etag_matches(const char *inm, const char *etag)
{
    apr_size_t n = strlen(etag);
    const char *p = inm;

    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (*p == '*') {
            return 1;
        }
        if (!strncmp(p, "W/", 2)) {
            p += 2;
        }
        if (!strncmp(p, etag, n) &&
            (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\t')) {
            return 1;
        }
        p = strchr(p, ',');
    }
    return 0;
}

int anc_handle_discofeed(request_rec *r)
{
    const disco_data_t *dd;
    const char *inm;

    if (r->method_number != M_GET) {
        apr_table_setn(r->err_headers_out, "Allow", "GET, HEAD");
        return anc_simple_page(r, HTTP_METHOD_NOT_ALLOWED, "Method not allowed",
                               "Use GET for the discovery feed.");
    }
    if (!(dd = disco_data(r))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "authncontext: discofeed: failed reason=%s detail=no IdP list",
                      anc_reason(ANC_E_INTERNAL));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* public data, the same for everyone: caches may keep it briefly and
     * revalidate with the ETag (a refresh of the metadata changes it) */
    apr_table_setn(r->headers_out, "ETag", dd->etag);
    apr_table_setn(r->headers_out, "Cache-Control", "public, max-age=60");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    inm = apr_table_get(r->headers_in, "If-None-Match");
    if (inm && etag_matches(inm, dd->etag)) {
        return HTTP_NOT_MODIFIED;
    }
    ap_set_content_type(r, "application/json");
    ap_set_content_length(r, (apr_off_t)dd->len);
    if (!r->header_only) {
        ap_rwrite(dd->json, (int)dd->len, r);
    }
    return OK;
}
