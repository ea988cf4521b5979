/*
 * httpd_session_endpoint.c - GET PATH/session: the caller's own session,
 * for single-page applications (JSON: `Accept: application/json` or
 * `?format=json`) and for people (an HTML page otherwise). The Shibboleth
 * SP's /Shibboleth.sso/Session handler, with its showAttributeValues as
 * AuthnContextSessionShowAttributeValues (default Off: names and counts
 * only, because values can be personal data that scripts and proxies of
 * the page need not see).
 *
 * Only the session the request's own cookie names is shown. The answer is
 * never stored (Cache-Control: no-store) and carries no CORS header, so
 * another origin's script cannot read it. Every string is escaped for its
 * context: JSON strings with \u escapes for control characters, <, >, &
 * and the line separators, HTML with entities.
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

/* ---------------------------------------------------------------------- */
/* JSON                                                                    */

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when the bytes are
 * not one (overlong forms, surrogates and values over U+10FFFF too). */
static int utf8_len(const unsigned char *s)
{
    unsigned int c = s[0];

    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    }
    if (c >= 0xe0 && c <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
            (c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0)) {
            return 0;
        }
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80 ||
            (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90)) {
            return 0;
        }
        return 4;
    }
    return 0;
}

/* s as a JSON string literal, quotes included. Bytes that are not UTF-8
 * become U+FFFD; the output is plain ASCII apart from valid sequences. */
static const char *json_str(apr_pool_t *p, const char *s)
{
    const unsigned char *c = (const unsigned char *)(s ? s : "");
    /* worst case: every byte as \uXXXX (6) */
    char *out = apr_palloc(p, strlen((const char *)c) * 6 + 3), *o = out;

    *o++ = '"';
    while (*c) {
        int n = utf8_len(c);
        if (n == 0) {
            memcpy(o, "\\ufffd", 6);
            o += 6;
            c++;
        } else if (n == 3 && c[0] == 0xe2 && c[1] == 0x80 &&
                   (c[2] == 0xa8 || c[2] == 0xa9)) {
            /* U+2028/U+2029 end a line in JavaScript source */
            o += sprintf(o, "\\u%04x", c[2] == 0xa8 ? 0x2028 : 0x2029);
            c += 3;
        } else if (n > 1) {
            memcpy(o, c, (size_t)n);
            o += n;
            c += n;
        } else if (*c == '"' || *c == '\\') {
            *o++ = '\\';
            *o++ = (char)*c++;
        } else if (*c < 0x20 || *c == 0x7f || *c == '<' || *c == '>' || *c == '&' ||
                   *c == '\'') {
            o += sprintf(o, "\\u%04x", (unsigned int)*c);
            c++;
        } else {
            *o++ = (char)*c++;
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

static const char *json_list(apr_pool_t *p, const apr_array_header_t *a)
{
    apr_array_header_t *parts = apr_array_make(p, 4, sizeof(const char *));
    int i;

    for (i = 0; a && i < a->nelts; i++) {
        APR_ARRAY_PUSH(parts, const char *) =
            json_str(p, APR_ARRAY_IDX(a, i, const char *));
    }
    return apr_pstrcat(p, "[", apr_array_pstrcat(p, parts, ','), "]", NULL);
}

/* ---------------------------------------------------------------------- */
/* the answers                                                             */

typedef struct view_t {
    request_rec *r;
    int json;
    int show_values;
    const char *login_url; /* PATH/login?target=/ */
} view_t;

static int wants_json(request_rec *r)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");
    const char *format;
    int n = 0;

    format = anc_query_param(r, "format", &n);
    if (n == 1 && format) {
        return !strcmp(format, "json");
    }
    return accept && ap_strcasestr(accept, "application/json") != NULL;
}

static void common_headers(request_rec *r, const view_t *v)
{
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "X-Content-Type-Options", "nosniff");
    /* the answer depends on these: no shared cache may mix them */
    apr_table_mergen(r->err_headers_out, "Vary", "Cookie, Accept");
    ap_set_content_type(r, v->json ? "application/json" : "text/html; charset=UTF-8");
}

static int no_session(const view_t *v)
{
    request_rec *r = v->r;

    r->status = HTTP_UNAUTHORIZED;
    apr_table_setn(r->err_headers_out, "WWW-Authenticate", "SAML");
    common_headers(r, v);
    if (v->json) {
        ap_rprintf(r, "{\"authenticated\":false,\"login\":%s}\n",
                   json_str(r->pool, v->login_url));
    } else {
        ap_rprintf(r,
                   "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                   "<title>Not signed in</title></head>\n<body><h1>Not signed in</h1>\n"
                   "<p>There is no session for this browser.</p>\n"
                   "<p><a href=\"%s\">Sign in</a></p>\n</body></html>\n",
                   anc_html_escape(r->pool, v->login_url));
    }
    return OK;
}

static long seconds(apr_time_t t)
{
    return (long)apr_time_sec(t);
}

static void show_json(const view_t *v, const anc_session_t *s, apr_time_t now)
{
    request_rec *r = v->r;
    apr_pool_t *p = r->pool;
    apr_array_header_t *attrs = apr_array_make(p, 8, sizeof(const char *));
    int i;

    for (i = 0; s->attributes && i < s->attributes->nelts; i++) {
        const anc_attribute_t *a = &APR_ARRAY_IDX(s->attributes, i, anc_attribute_t);
        int nvalues = a->values ? a->values->nelts : 0;
        APR_ARRAY_PUSH(attrs, const char *) =
            apr_psprintf(p, "{\"name\":%s,\"friendlyName\":%s,\"valueCount\":%d%s%s}",
                         json_str(p, a->name),
                         a->friendly_name ? json_str(p, a->friendly_name) : "null",
                         nvalues, v->show_values ? ",\"values\":" : "",
                         v->show_values ? json_list(p, a->values) : "");
    }
    ap_rprintf(r,
               "{\"authenticated\":true,\"idp\":%s,\"nameId\":%s,\"nameIdFormat\":%s,"
               "\"classes\":%s,\"authnInstant\":%s,\"created\":%s,\"expires\":%s,"
               "\"ageSeconds\":%ld,\"expiresInSeconds\":%ld,\"attributeValuesShown\":%s,"
               "\"attributes\":[%s]}\n",
               json_str(p, s->idp), json_str(p, s->name_id.value),
               s->name_id.format ? json_str(p, s->name_id.format) : "null",
               json_list(p, s->classes),
               json_str(p, anc_time_format(p, s->authn_instant)),
               json_str(p, anc_time_format(p, s->created)),
               json_str(p, anc_time_format(p, s->expires)), seconds(now - s->created),
               seconds(s->expires - now), v->show_values ? "true" : "false",
               apr_array_pstrcat(p, attrs, ','));
}

static const char *h(apr_pool_t *p, const char *s)
{
    return anc_html_escape(p, s ? s : "");
}

static void show_html(const view_t *v, const anc_session_t *s, apr_time_t now)
{
    request_rec *r = v->r;
    apr_pool_t *p = r->pool;
    const char *logout =
        apr_pstrcat(p, anc_srv_endpoint(anc_srv(r->server)), "/logout?return=/", NULL);
    int i, j;

    ap_rputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
             "<title>Your session</title></head>\n<body><h1>Your session</h1>\n<dl>\n",
             r);
    ap_rprintf(r, "<dt>Identity provider</dt><dd>%s</dd>\n", h(p, s->idp));
    ap_rprintf(r, "<dt>NameID</dt><dd>%s</dd>\n", h(p, s->name_id.value));
    if (s->name_id.format) {
        ap_rprintf(r, "<dt>NameID format</dt><dd>%s</dd>\n", h(p, s->name_id.format));
    }
    ap_rputs("<dt>Authentication context classes</dt><dd><ul>\n", r);
    for (i = 0; s->classes && i < s->classes->nelts; i++) {
        ap_rprintf(r, "<li>%s</li>\n", h(p, APR_ARRAY_IDX(s->classes, i, const char *)));
    }
    ap_rputs("</ul></dd>\n", r);
    ap_rprintf(r, "<dt>Authenticated at (AuthnInstant)</dt><dd>%s</dd>\n",
               h(p, anc_time_format(p, s->authn_instant)));
    ap_rprintf(r, "<dt>Session age</dt><dd>%ld seconds (since %s)</dd>\n",
               seconds(now - s->created), h(p, anc_time_format(p, s->created)));
    ap_rprintf(r, "<dt>Session expires</dt><dd>in %ld seconds (%s)</dd>\n",
               seconds(s->expires - now), h(p, anc_time_format(p, s->expires)));
    ap_rputs(
        "</dl>\n<h2>Attributes</h2>\n<table>\n<tr><th>Name</th><th>Friendly name</th>"
        "<th>Values</th></tr>\n",
        r);
    for (i = 0; s->attributes && i < s->attributes->nelts; i++) {
        const anc_attribute_t *a = &APR_ARRAY_IDX(s->attributes, i, anc_attribute_t);
        int nvalues = a->values ? a->values->nelts : 0;
        ap_rprintf(r, "<tr><td>%s</td><td>%s</td><td>", h(p, a->name),
                   h(p, a->friendly_name));
        if (!v->show_values) {
            ap_rprintf(r, "%d value%s", nvalues, nvalues == 1 ? "" : "s");
        } else {
            for (j = 0; j < nvalues; j++) {
                ap_rprintf(r, "%s%s", j ? "<br>" : "",
                           h(p, APR_ARRAY_IDX(a->values, j, const char *)));
            }
        }
        ap_rputs("</td></tr>\n", r);
    }
    ap_rputs("</table>\n", r);
    if (!v->show_values) {
        ap_rputs("<p>Attribute values are not shown "
                 "(AuthnContextSessionShowAttributeValues Off).</p>\n",
                 r);
    }
    ap_rprintf(r, "<p><a href=\"%s\">Sign out</a></p>\n</body></html>\n", h(p, logout));
}

int anc_handle_session(request_rec *r)
{
    const anc_srv_cfg_t *c = anc_srv(r->server);
    const char *sid;
    anc_session_t *s = NULL;
    anc_status_t st;
    view_t v;

    memset(&v, 0, sizeof(v));
    v.r = r;
    v.json = wants_json(r);
    v.show_values = anc_dir_flag(c->show_attribute_values, 0);
    v.login_url = apr_pstrcat(r->pool, anc_srv_endpoint(c), "/login?target=%2F", NULL);
    if (r->method_number != M_GET) {
        apr_table_setn(r->err_headers_out, "Allow", "GET, HEAD");
        return anc_simple_page(r, HTTP_METHOD_NOT_ALLOWED, "Method not allowed",
                               "Use GET for the session endpoint.");
    }
    sid = anc_cookie_get(r, anc_srv_cookie_name(c));
    if (!sid || !anc_is_hex_id(sid, 16)) {
        return no_session(&v);
    }
    st = anc_store_session_load(r, sid, ANC_SESSION_DECODE_ALL, &s);
    if (st == ANC_E_CACHE) {
        /* logged once by the store (reason=cache-unavailable) */
        if (v.json) {
            r->status = HTTP_SERVICE_UNAVAILABLE;
            common_headers(r, &v);
            ap_rputs("{\"error\":\"cache-unavailable\"}\n", r);
            return OK;
        }
        return anc_simple_page(r, HTTP_SERVICE_UNAVAILABLE, "Service unavailable",
                               "The session store is not available. Please try again "
                               "later.");
    }
    if (st != ANC_OK) {
        return no_session(&v);
    }
    r->status = HTTP_OK;
    common_headers(r, &v);
    if (v.json) {
        show_json(&v, s, apr_time_now());
    } else {
        show_html(&v, s, apr_time_now());
    }
    return OK;
}
