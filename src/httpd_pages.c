/*
 * httpd_pages.c - every page a person sees comes from here: one renderer
 * over the templates of src/anc_page.c, replaceable by the admin
 * (AuthnContextTemplateDir), with readable class names
 * (AuthnContextClassName) and a short reference that also stands in the
 * error log line of the event, so the help desk can find it.
 *
 * An ErrorDocument configured for the page's status wins over the module's
 * page (httpd serves it), so a site can keep one look for all its errors.
 *
 * Templates are read and checked in check_config (a bad one fails
 * configtest), kept in the configuration pool and only read afterwards.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_core.h"
#include "apr_file_io.h"
#include "apr_strings.h"

#include "anc_page.h"
#include "httpd_glue.h"

APLOG_USE_MODULE(authncontext);

struct anc_pages_cfg_t {
    const char *dir;          /* AuthnContextTemplateDir, or NULL */
    apr_table_t *class_names; /* AuthnContextClassName URI -> name */
    const anc_template_t *templates[ANC_PAGE__COUNT]; /* built in check_config */
};

static anc_pages_cfg_t *pages_of(server_rec *s, apr_pool_t *p)
{
    anc_srv_cfg_t *c = anc_srv(s);

    if (!c->pages) {
        c->pages = apr_pcalloc(p, sizeof(*c->pages));
    }
    return c->pages;
}

const char *anc_set_template_dir(cmd_parms *cmd, void *dummy, const char *arg)
{
    apr_finfo_t fi;
    const char *dir = ap_server_root_relative(cmd->pool, arg);

    if (!dir || apr_stat(&fi, dir, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS ||
        fi.filetype != APR_DIR) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a readable directory",
                            cmd->cmd->name, arg);
    }
    pages_of(cmd->server, cmd->pool)->dir = dir;
    return NULL;
}

const char *anc_set_class_name(cmd_parms *cmd, void *dummy, const char *uri,
                               const char *name)
{
    anc_pages_cfg_t *pc = pages_of(cmd->server, cmd->pool);

    if (!strchr(uri, ':') || !*name) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a class URI, or the name is empty",
                            cmd->cmd->name, uri);
    }
    if (!pc->class_names) {
        pc->class_names = apr_table_make(cmd->pool, 4);
    }
    apr_table_set(pc->class_names, uri, name);
    return NULL;
}

void anc_pages_merge(apr_pool_t *p, anc_srv_cfg_t *base, anc_srv_cfg_t *add)
{
    anc_pages_cfg_t *m;

    if (!base->pages || add->pages == base->pages) {
        return;
    }
    if (!add->pages) {
        add->pages = base->pages;
        return;
    }
    m = apr_pcalloc(p, sizeof(*m));
    m->dir = add->pages->dir ? add->pages->dir : base->pages->dir;
    m->class_names =
        base->pages->class_names && add->pages->class_names
            ? apr_table_overlay(p, base->pages->class_names, add->pages->class_names)
            : (add->pages->class_names ? add->pages->class_names
                                       : base->pages->class_names);
    add->pages = m;
}

/* Reads DIR/<page>.html where present (else the built-in page) and checks
 * it; every virtual host gets its own parsed set. */
int anc_pages_check_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *vs;

    for (vs = s; vs; vs = vs->next) {
        anc_pages_cfg_t *pc = pages_of(vs, pconf);
        int id;

        if (pc->templates[0]) {
            continue; /* shared with the main server, done */
        }
        for (id = 0; id < ANC_PAGE__COUNT; id++) {
            const char *text = anc_page_builtin(id), *from = "built-in";
            apr_size_t len = strlen(text);
            anc_error_t *err = NULL;

            if (pc->dir) {
                const char *path =
                    apr_pstrcat(ptemp, pc->dir, "/", anc_page_file(id), NULL);
                apr_file_t *f;
                apr_finfo_t fi;

                if (apr_file_open(&f, path, APR_READ, 0, ptemp) == APR_SUCCESS) {
                    char *buf;
                    apr_size_t n;

                    if (apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS ||
                        fi.size > 64 * 1024) {
                        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, vs,
                                     "authncontext: pages: reason=%s %s: unreadable or "
                                     "over 64 KB",
                                     anc_reason(ANC_E_CONFIG), path);
                        return !OK;
                    }
                    n = (apr_size_t)fi.size;
                    buf = apr_palloc(pconf, n + 1);
                    if (apr_file_read_full(f, buf, n, &n) != APR_SUCCESS && n != 0) {
                        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, vs,
                                     "authncontext: pages: reason=%s %s: read failed",
                                     anc_reason(ANC_E_CONFIG), path);
                        return !OK;
                    }
                    buf[n] = '\0';
                    apr_file_close(f);
                    text = buf;
                    len = n;
                    from = path;
                }
            }
            if (anc_template_parse(pconf, id, text, len, &pc->templates[id], &err) !=
                ANC_OK) {
                ap_log_error(APLOG_MARK, APLOG_EMERG, 0, vs,
                             "authncontext: pages: reason=%s template %s (%s): %s",
                             err ? err->reason : "config-invalid", anc_page_file(id),
                             from, err && err->detail ? err->detail : "");
                return !OK;
            }
        }
    }
    return OK;
}

const char *anc_request_ref(request_rec *r)
{
    request_rec *first = r;
    const char *ref;
    anc_error_t *err = NULL;

    /* one reference for the request and its internal redirects */
    while (first->prev) {
        first = first->prev;
    }
    while (first->main) {
        first = first->main;
    }
    if ((ref = apr_table_get(first->notes, "authncontext-ref")) != NULL) {
        return ref;
    }
    if (anc_random_hex(first->pool, 4, &ref, &err) != ANC_OK) {
        ref = apr_psprintf(first->pool, "%08" APR_UINT64_T_HEX_FMT,
                           (apr_uint64_t)(first->request_time & 0xffffffff));
    }
    apr_table_setn(first->notes, "authncontext-ref", ref);
    return ref;
}

const char *anc_class_display(request_rec *r, const char *uri)
{
    const anc_pages_cfg_t *pc = anc_srv(r->server)->pages;
    const char *name = pc && pc->class_names ? apr_table_get(pc->class_names, uri) : NULL;

    if (!name) {
        name = anc_class_readable(uri);
    }
    return name ? name : uri;
}

const char *anc_classes_display(request_rec *r, const apr_array_header_t *classes)
{
    const char *out = "";
    int i;

    for (i = 0; classes && i < classes->nelts; i++) {
        const char *n = anc_class_display(r, APR_ARRAY_IDX(classes, i, const char *));
        /* two URIs may share a readable name (Password, PasswordProtectedTransport) */
        if (!strstr(out, n)) {
            out = apr_pstrcat(r->pool, out,
                              *out ? (i + 1 == classes->nelts ? " or " : ", ") : "", n,
                              NULL);
        }
    }
    return *out ? out : NULL;
}

typedef struct render_ctx_t {
    apr_table_t *facts;
    anc_page_count_fn count; /* list sections, or NULL */
    anc_page_item_fn item;
    void *list_ctx;
} render_ctx_t;

static int list_count(void *vctx, const char *list)
{
    render_ctx_t *c = vctx;

    return c->count ? c->count(c->list_ctx, list) : 0;
}

static const char *list_item(void *vctx, const char *list, int i, const char *name)
{
    render_ctx_t *c = vctx;

    return c->item ? c->item(c->list_ctx, list, i, name) : NULL;
}

static const char *fact(void *vctx, const char *name)
{
    return apr_table_get(((render_ctx_t *)vctx)->facts, name);
}

/* The site's own ErrorDocument for status, served here rather than by
 * returning status: these pages are also answered from hooks and from the
 * internal redirect of a 401 (httpd_stepup.c), where httpd would take a
 * returned status for a recursive error and send its canned 401 page. The
 * three forms of the directive: "text", a local URL (an internal redirect
 * that keeps the status, as httpd's own), an absolute URL (302). */
static int error_document(request_rec *r, int status, const char *doc)
{
    r->status = status;
    if (doc[0] == '"') {
        ap_set_content_type(r, "text/html; charset=UTF-8");
        ap_rputs(doc + 1, r);
        return OK;
    }
    if (doc[0] == '/') {
        ap_internal_redirect(doc, r);
        return OK;
    }
    apr_table_setn(r->headers_out, "Location", doc);
    return HTTP_MOVED_TEMPORARILY;
}

int anc_page_send(request_rec *r, int status, anc_page_id_t id, const char *title,
                  apr_table_t *facts)
{
    return anc_page_send_lists(r, status, id, title, facts, NULL, NULL, NULL);
}

int anc_page_send_lists(request_rec *r, int status, anc_page_id_t id, const char *title,
                        apr_table_t *facts, anc_page_count_fn count,
                        anc_page_item_fn item, void *list_ctx)
{
    const anc_pages_cfg_t *pc = anc_srv(r->server)->pages;
    const anc_template_t *page, *layout;
    render_ctx_t ctx;
    const char *content;
    anc_error_t *err = NULL;
    const char *doc;
    int idx = ap_index_of_response(status);

    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    /* the module's pages (the chooser, logout, errors) are never shown in
     * another site's frame: a framed chooser or logout button is a
     * clickjacking target. An admin's `Header always set` still wins. */
    apr_table_setn(r->err_headers_out, "X-Frame-Options", "DENY");
    apr_table_setn(r->err_headers_out, "Content-Security-Policy",
                   "frame-ancestors 'none'");
    if (status != HTTP_OK && (doc = ap_response_code_string(r, idx)) != NULL) {
        return error_document(r, status, doc);
    }
    page = pc ? pc->templates[id] : NULL;
    layout = pc ? pc->templates[ANC_PAGE_LAYOUT] : NULL;
    if (!page || !layout) {
        /* no check_config for this server (cannot happen after a start-up
         * that succeeded): the built-in pages */
        if (anc_template_parse(r->pool, id, anc_page_builtin(id),
                               strlen(anc_page_builtin(id)), &page, &err) != ANC_OK ||
            anc_template_parse(
                r->pool, ANC_PAGE_LAYOUT, anc_page_builtin(ANC_PAGE_LAYOUT),
                strlen(anc_page_builtin(ANC_PAGE_LAYOUT)), &layout, &err) != ANC_OK) {
            return status == HTTP_OK ? HTTP_INTERNAL_SERVER_ERROR : status;
        }
    }
    if (!facts) {
        facts = apr_table_make(r->pool, 4);
    }
    apr_table_setn(facts, "title", title);
    if (!apr_table_get(facts, "ref")) {
        apr_table_setn(facts, "ref", anc_request_ref(r));
    }
    if (!apr_table_get(facts, "now")) {
        apr_table_setn(facts, "now", anc_time_format(r->pool, apr_time_now()));
    }
    if (!apr_table_get(facts, "homeURL")) {
        apr_table_setn(facts, "homeURL", "/");
    }
    ctx.facts = facts;
    ctx.count = count;
    ctx.item = item;
    ctx.list_ctx = list_ctx;
    content = anc_template_render_lists(r->pool, page, fact, list_count, list_item, &ctx);
    apr_table_setn(facts, "content", content);
    r->status = status;
    ap_set_content_type(r, "text/html; charset=UTF-8");
    ap_rputs(anc_template_render(r->pool, layout, fact, &ctx), r);
    return OK;
}

int anc_simple_page(request_rec *r, int status, const char *title, const char *text)
{
    apr_table_t *facts = apr_table_make(r->pool, 4);

    apr_table_setn(facts, "message", text);
    if (status == HTTP_SERVICE_UNAVAILABLE) {
        apr_table_setn(facts, "reason", anc_reason(ANC_E_CACHE));
        if (r->method_number == M_GET && anc_is_local_url(r->unparsed_uri)) {
            apr_table_setn(facts, "retryURL", r->unparsed_uri);
        }
        return anc_page_send(r, status, ANC_PAGE_UNAVAILABLE, title, facts);
    }
    return anc_page_send(r, status, ANC_PAGE_NOTICE, title, facts);
}

int anc_unavailable(request_rec *r)
{
    apr_table_t *facts = apr_table_make(r->pool, 4);
    int rc;

    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "authncontext: unavailable: ref=%s reason=%s uri=%s",
                  anc_request_ref(r), anc_reason(ANC_E_CACHE), r->uri);
    apr_table_setn(
        facts, "message",
        "The sign-in service of this site cannot reach its session store right "
        "now, so it cannot tell who you are.");
    apr_table_setn(facts, "reason", anc_reason(ANC_E_CACHE));
    if (r->method_number == M_GET && anc_is_local_url(r->unparsed_uri)) {
        apr_table_setn(facts, "retryURL", r->unparsed_uri);
        apr_table_setn(facts, "requestURL", r->unparsed_uri);
    }
    rc = anc_page_send(r, HTTP_SERVICE_UNAVAILABLE, ANC_PAGE_UNAVAILABLE,
                       "Sign-in is unavailable", facts);
    /* from a hook: the page is written, the request is done (an
     * ErrorDocument for 503 is httpd's to serve instead) */
    return rc == OK ? DONE : rc;
}
