/*
 * anc_page.c - page templates: the built-in ones, the parser that checks an
 * admin's replacement, and the renderer (see include/anc_page.h).
 *
 * A parsed template is a flat list of parts: literal text, a value, or the
 * start/end of a section. The end of a section records where its start is
 * and the start where its end is, so rendering skips a section in one step.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "anc_page.h"

#define MAX_TEMPLATE (64 * 1024)
#define MAX_NESTING 8
#define MAX_NAME 64

/* ---- the built-in pages --------------------------------------------------- */

static const char layout_html[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>{{title}}</title>\n"
    "<style>\n"
    "body{margin:0;font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;"
    "font-size:1.05rem;line-height:1.5;color:#1b1b1b;background:#f4f5f7}\n"
    "main{max-width:40rem;margin:3rem auto;padding:2rem 2.25rem;background:#fff;"
    "border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.15)}\n"
    "h1{font-size:1.6rem;line-height:1.25;margin:0 0 1rem}\n"
    "p{margin:0 0 1rem}\n"
    "ul.actions{list-style:none;padding:0;margin:1.5rem 0;display:flex;flex-wrap:wrap;"
    "gap:.75rem}\n"
    "a.button{display:inline-block;padding:.6rem 1.1rem;border-radius:6px;"
    "background:#0b57d0;color:#fff;text-decoration:none;font-weight:600}\n"
    "a.button.secondary{background:#fff;color:#0b57d0;border:2px solid #0b57d0}\n"
    "a:focus,summary:focus{outline:3px solid #e8a400;outline-offset:2px}\n"
    "details{margin-top:1.5rem;border-top:1px solid #d0d4da;padding-top:1rem;"
    "color:#3c4043}\n"
    "summary{cursor:pointer;font-weight:600}\n"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;"
    "font-size:.9rem;margin:1rem 0 0}\n"
    "dt{font-weight:600}\n"
    "dd{margin:0;overflow-wrap:anywhere}\n"
    "ul.idps{list-style:none;padding:0;margin:1rem 0}\n"
    "ul.idps li{margin:.5rem 0}\n"
    "a.idp{display:flex;align-items:center;gap:.75rem;padding:.6rem .8rem;"
    "border:1px solid #b0b6be;border-radius:6px;color:#0b57d0;text-decoration:none;"
    "font-weight:600}\n"
    "a.idp img{height:32px;width:auto}\n"
    "p.desc{margin:.25rem .8rem 0;font-size:.9rem;color:#3c4043}\n"
    "form.search{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:1rem "
    "0}\n"
    "form.search label{flex-basis:100%;font-weight:600}\n"
    "form.search input[type=search]{flex:1;min-width:12rem;padding:.5rem;font-size:1rem;"
    "border:1px solid #5f6368;border-radius:4px}\n"
    "form.search button{padding:.5rem 1rem;font-size:1rem;border-radius:4px;"
    "border:0;background:#0b57d0;color:#fff;font-weight:600}\n"
    "a.idp:focus,form.search input:focus,form.search button:focus{outline:3px solid "
    "#e8a400;outline-offset:2px}\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<main>\n"
    "{{content}}"
    "</main>\n"
    "</body>\n"
    "</html>\n";

/* Technical facts for the help desk, folded away; the reference also stands
 * in the error log line of this event. */
#define DETAILS_OPEN                                                                     \
    "<details>\n<summary>Details for your help desk</summary>\n"                         \
    "<p>Quote this reference when you ask for help: "                                    \
    "<strong>{{ref}}</strong></p>\n<dl>\n"
#define DETAILS_CLOSE                                                                    \
    "{{#now}}<dt>Time</dt><dd>{{now}}</dd>\n{{/now}}"                                    \
    "</dl>\n</details>\n"

static const char forbidden_html[] =
    "<h1>{{title}}</h1>\n"
    "<p>You are signed in, but this page needs a stronger way of signing in than the "
    "one you used.</p>\n"
    "{{#needs}}<p>This page needs: <strong>{{needs}}</strong>.</p>\n{{/needs}}"
    "{{#have}}<p>You signed in with: {{have}}.</p>\n{{/have}}"
    "<p>Sign in again and choose the stronger method (for example a one-time code or a "
    "security key). If you have none set up, ask your IT help desk to register one.</p>\n"
    "<ul class=\"actions\">\n"
    "{{#loginURL}}<li><a class=\"button\" href=\"{{loginURL}}\">Sign in again with a "
    "stronger method</a></li>\n{{/loginURL}}"
    "{{#logoutURL}}<li><a class=\"button secondary\" href=\"{{logoutURL}}\">Sign "
    "out</a></li>\n{{/logoutURL}}"
    "</ul>\n" DETAILS_OPEN "{{#requestURL}}<dt>Page</dt><dd>{{requestURL}}</dd>\n{{/"
    "requestURL}}"
    "{{#rule}}<dt>Rule</dt><dd>{{rule}}</dd>\n{{/rule}}"
    "{{#classes}}<dt>Your sign-in</dt><dd>{{classes}}</dd>\n{{/classes}}" DETAILS_CLOSE;

static const char error_html[] =
    "<h1>{{title}}</h1>\n"
    "<p>{{message}}</p>\n"
    "{{#advice}}<p>{{advice}}</p>\n{{/advice}}"
    "<ul class=\"actions\">\n"
    "{{#loginURL}}<li><a class=\"button\" href=\"{{loginURL}}\">Sign in "
    "again</a></li>\n{{/loginURL}}"
    "{{#homeURL}}<li><a class=\"button secondary\" href=\"{{homeURL}}\">Go to the home "
    "page</a></li>\n{{/homeURL}}"
    "</ul>\n" DETAILS_OPEN "{{#errorType}}<dt>Error type</dt><dd>{{errorType}}</dd>\n{{/"
    "errorType}}"
    "{{#reason}}<dt>Reason</dt><dd>{{reason}}</dd>\n{{/reason}}"
    "{{#statusCode}}<dt>Status</dt><dd>{{statusCode}}</dd>\n{{/statusCode}}"
    "{{#statusCode2}}<dt>Second-level status</dt><dd>{{statusCode2}}</dd>\n{{/"
    "statusCode2}}"
    "{{#statusMessage}}<dt>Message from the identity provider</dt><dd>{{statusMessage}}"
    "</dd>\n{{/statusMessage}}"
    "{{#entityID}}<dt>Identity provider</dt><dd>{{entityID}}</dd>\n{{/entityID}}"
    "{{#requestedContext}}<dt>Requested</dt><dd>{{requestedContext}}</dd>\n{{/"
    "requestedContext}}"
    "{{#requestURL}}<dt>Page</dt><dd>{{requestURL}}</dd>\n{{/requestURL}}" DETAILS_CLOSE;

static const char unavailable_html[] =
    "<h1>{{title}}</h1>\n"
    "<p>{{message}}</p>\n"
    "<p>This is a problem on our side, not with your account. Please wait a minute and "
    "try again.</p>\n"
    "<ul class=\"actions\">\n"
    "{{#retryURL}}<li><a class=\"button\" href=\"{{retryURL}}\">Try "
    "again</a></li>\n{{/retryURL}}"
    "</ul>\n" DETAILS_OPEN "{{#reason}}<dt>Reason</dt><dd>{{reason}}</dd>\n{{/reason}}"
    "{{#requestURL}}<dt>Page</dt><dd>{{requestURL}}</dd>\n{{/requestURL}}" DETAILS_CLOSE;

static const char logout_html[] =
    "<h1>{{title}}</h1>\n"
    "<p>{{message}}</p>\n"
    "{{#idpNote}}<p>{{idpNote}}</p>\n{{/idpNote}}"
    "<p>If you are using a shared computer, close the browser to finish.</p>\n"
    "<ul class=\"actions\">\n"
    "{{#homeURL}}<li><a class=\"button\" href=\"{{homeURL}}\">Go to the home "
    "page</a></li>\n{{/homeURL}}"
    "</ul>\n"
    "{{#statusCode}}" DETAILS_OPEN "<dt>Identity provider</dt><dd>{{entityID}}</dd>\n"
    "<dt>Status</dt><dd>{{statusCode}}</dd>\n"
    "{{#statusCode2}}<dt>Detail</dt><dd>{{statusCode2}}</dd>\n{{/statusCode2}}"
    "{{#statusMessage}}<dt>Message</dt><dd>{{statusMessage}}</dd>\n{{/"
    "statusMessage}}" DETAILS_CLOSE "{{/statusCode}}";

static const char notice_html[] =
    "<h1>{{title}}</h1>\n"
    "<p>{{message}}</p>\n"
    "<ul class=\"actions\">\n"
    "{{#homeURL}}<li><a class=\"button\" href=\"{{homeURL}}\">"
    "Go to the home page</a></li>\n{{/homeURL}}"
    "</ul>\n";

/* The IdP chooser: a server-side search (works without script), the IdP
 * remembered from the last sign-in first, then at most a page of matches. */
static const char chooser_html[] =
    "<h1>{{title}}</h1>\n"
    "<p>{{message}}</p>\n"
    "{{#rememberedURL}}<h2 id=\"anc-last\">Last used</h2>\n"
    "<ul class=\"idps\" aria-labelledby=\"anc-last\">\n"
    "<li><a class=\"idp\" href=\"{{rememberedURL}}\"{{#rememberedLang}} "
    "lang=\"{{rememberedLang}}\"{{/rememberedLang}}>{{#rememberedLogo}}<img "
    "src=\"{{rememberedLogo}}\" alt=\"Logo of {{rememberedName}}\" height=\"32\">"
    "{{/rememberedLogo}}<span>{{rememberedName}}</span></a></li>\n</ul>\n"
    "<p><a href=\"{{forgetURL}}\">Choose another organisation</a></p>\n"
    "{{/rememberedURL}}"
    "<form class=\"search\" method=\"get\" action=\"{{formAction}}\" "
    "role=\"search\">\n"
    "{{*params}}<input type=\"hidden\" name=\"{{paramName}}\" "
    "value=\"{{paramValue}}\">\n{{/params}}"
    "<label for=\"anc-q\">Search for your organisation</label>\n"
    "<input id=\"anc-q\" type=\"search\" name=\"q\" value=\"{{query}}\" "
    "autocomplete=\"organization\">\n"
    "<button type=\"submit\">Search</button>\n"
    "</form>\n"
    "<p role=\"status\">{{summary}}</p>\n"
    "{{#shown}}<ul class=\"idps\">\n"
    "{{*idps}}<li><a class=\"idp\" href=\"{{idpURL}}\"{{#idpLang}} "
    "lang=\"{{idpLang}}\"{{/idpLang}}>{{#idpLogo}}<img src=\"{{idpLogo}}\" "
    "alt=\"Logo of {{idpName}}\" height=\"32\">{{/idpLogo}}<span>{{idpName}}</span>"
    "</a>{{#idpDescription}}<p class=\"desc\"{{#idpLang}} lang=\"{{idpLang}}\""
    "{{/idpLang}}>{{idpDescription}}</p>{{/idpDescription}}</li>\n{{/idps}}"
    "</ul>\n{{/shown}}"
    "{{#moreURL}}<p><a href=\"{{moreURL}}\">Show more organisations</a></p>\n"
    "{{/moreURL}}";

/* The names each page may use (its facts; title everywhere). */
static const char *const layout_names[] = {"title", "content", NULL};
static const char *const forbidden_names[] = {
    "title", "needs",   "have", "loginURL", "logoutURL", "requestURL",
    "rule",  "classes", "ref",  "now",      "homeURL",   NULL};
static const char *const error_names[] = {
    "title",       "message",       "advice",   "loginURL",
    "homeURL",     "errorType",     "reason",   "statusCode",
    "statusCode2", "statusMessage", "entityID", "requestedContext",
    "requestURL",  "ref",           "now",      "needs",
    NULL};
static const char *const unavailable_names[] = {
    "title", "message", "retryURL", "reason", "requestURL", "ref", "now", NULL};
static const char *const logout_names[] = {
    "title",         "message",  "idpNote", "homeURL", "statusCode", "statusCode2",
    "statusMessage", "entityID", "ref",     "now",     NULL};
static const char *const notice_names[] = {"title", "message", "homeURL", NULL};
static const char *const chooser_names[] = {"title",
                                            "message",
                                            "homeURL",
                                            "ref",
                                            "now",
                                            "rememberedURL",
                                            "rememberedName",
                                            "rememberedLang",
                                            "rememberedLogo",
                                            "forgetURL",
                                            "formAction",
                                            "params",
                                            "paramName",
                                            "paramValue",
                                            "query",
                                            "summary",
                                            "shown",
                                            "idps",
                                            "idpURL",
                                            "idpName",
                                            "idpLang",
                                            "idpLogo",
                                            "idpDescription",
                                            "idpEntityID",
                                            "moreURL",
                                            NULL};

static const struct {
    const char *file;
    const char *text;
    const char *const *names;
} pages[ANC_PAGE__COUNT] = {
    [ANC_PAGE_LAYOUT] = {"layout.html", layout_html, layout_names},
    [ANC_PAGE_FORBIDDEN] = {"forbidden.html", forbidden_html, forbidden_names},
    [ANC_PAGE_ERROR] = {"error.html", error_html, error_names},
    [ANC_PAGE_UNAVAILABLE] = {"unavailable.html", unavailable_html, unavailable_names},
    [ANC_PAGE_LOGOUT] = {"logout.html", logout_html, logout_names},
    [ANC_PAGE_NOTICE] = {"notice.html", notice_html, notice_names},
    [ANC_PAGE_CHOOSER] = {"chooser.html", chooser_html, chooser_names},
};

const char *anc_page_file(anc_page_id_t id)
{
    return (unsigned)id < ANC_PAGE__COUNT ? pages[id].file : NULL;
}

const char *anc_page_builtin(anc_page_id_t id)
{
    return (unsigned)id < ANC_PAGE__COUNT ? pages[id].text : "";
}

const char *const *anc_page_names(anc_page_id_t id)
{
    static const char *const none[] = {NULL};

    return (unsigned)id < ANC_PAGE__COUNT ? pages[id].names : none;
}

/* ---- parsing -------------------------------------------------------------- */

typedef enum { PART_TEXT, PART_VALUE, PART_OPEN, PART_CLOSE, PART_LIST } part_kind_t;

typedef struct part_t {
    part_kind_t kind;
    const char *s; /* text, or the name */
    apr_size_t len;
    int jump; /* OPEN, LIST: index of its CLOSE; CLOSE: index of its start */
} part_t;

struct anc_template_t {
    apr_array_header_t *parts; /* part_t */
    int raw_content;           /* the layout: {{content}} is inserted unescaped */
};

static int name_allowed(const char *const *names, const char *name, apr_size_t len)
{
    for (; *names; names++) {
        if (strlen(*names) == len && !memcmp(*names, name, len)) {
            return 1;
        }
    }
    return 0;
}

static const char *joined_names(apr_pool_t *p, const char *const *names)
{
    const char *all = "";

    for (; *names; names++) {
        all = apr_pstrcat(p, all, *all ? " " : "", *names, NULL);
    }
    return all;
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

anc_status_t anc_template_parse(apr_pool_t *p, anc_page_id_t id, const char *text,
                                apr_size_t len, const anc_template_t **out,
                                anc_error_t **err)
{
    anc_template_t *t;
    const char *const *names = anc_page_names(id);
    int open[MAX_NESTING], depth = 0, in_list = 0;
    apr_size_t i = 0, lit = 0;

    if ((unsigned)id >= ANC_PAGE__COUNT) {
        return anc_error_set(p, err, ANC_E_CONFIG, "unknown page");
    }
    if (len > MAX_TEMPLATE) {
        return anc_error_set(p, err, ANC_E_CONFIG, "template over %d bytes",
                             MAX_TEMPLATE);
    }
    if (memchr(text, '\0', len)) {
        return anc_error_set(p, err, ANC_E_CONFIG, "template holds a NUL byte");
    }
    t = apr_pcalloc(p, sizeof(*t));
    t->parts = apr_array_make(p, 32, sizeof(part_t));
    t->raw_content = id == ANC_PAGE_LAYOUT;
    while (i + 1 < len) {
        apr_size_t start, n;
        part_kind_t kind = PART_VALUE;
        part_t *pt;

        if (text[i] != '{' || text[i + 1] != '{') {
            i++;
            continue;
        }
        if (i > lit) {
            pt = apr_array_push(t->parts);
            pt->kind = PART_TEXT;
            pt->s = text + lit;
            pt->len = i - lit;
        }
        start = i;
        i += 2;
        if (i < len && (text[i] == '#' || text[i] == '/' || text[i] == '*')) {
            kind = text[i] == '#' ? PART_OPEN : text[i] == '*' ? PART_LIST : PART_CLOSE;
            i++;
        }
        for (n = 0; i + n < len && name_char(text[i + n]) && n <= MAX_NAME; n++) {
        }
        if (n == 0 || n > MAX_NAME || i + n + 1 >= len || text[i + n] != '}' ||
            text[i + n + 1] != '}') {
            return anc_error_set(p, err, ANC_E_CONFIG,
                                 "bad markup at byte %" APR_SIZE_T_FMT
                                 ": expected {{name}}, {{#name}}, {{*name}} or "
                                 "{{/name}}",
                                 start);
        }
        if (!name_allowed(names, text + i, n)) {
            return anc_error_set(
                p, err, ANC_E_CONFIG,
                "unknown name '%s' at byte %" APR_SIZE_T_FMT " (this page knows: %s)",
                apr_pstrmemdup(p, text + i, n), start, joined_names(p, names));
        }
        pt = apr_array_push(t->parts);
        pt->kind = kind;
        pt->s = apr_pstrmemdup(p, text + i, n);
        pt->len = n;
        pt->jump = -1;
        if (kind == PART_LIST && in_list) {
            return anc_error_set(p, err, ANC_E_CONFIG,
                                 "list {{*%s}} at byte %" APR_SIZE_T_FMT
                                 " inside another list (lists do not nest)",
                                 pt->s, start);
        }
        if (kind == PART_OPEN || kind == PART_LIST) {
            in_list += kind == PART_LIST;
            if (depth == MAX_NESTING) {
                return anc_error_set(
                    p, err, ANC_E_CONFIG,
                    "sections nested deeper than %d at byte %" APR_SIZE_T_FMT,
                    MAX_NESTING, start);
            }
            open[depth++] = t->parts->nelts - 1;
        } else if (kind == PART_CLOSE) {
            part_t *o;

            if (depth == 0) {
                return anc_error_set(p, err, ANC_E_CONFIG,
                                     "{{/%s}} at byte %" APR_SIZE_T_FMT
                                     " closes no section",
                                     pt->s, start);
            }
            o = &APR_ARRAY_IDX(t->parts, open[depth - 1], part_t);
            if (strcmp(o->s, pt->s)) {
                return anc_error_set(
                    p, err, ANC_E_CONFIG,
                    "{{/%s}} at byte %" APR_SIZE_T_FMT " closes {{%c%s}}", pt->s, start,
                    o->kind == PART_LIST ? '*' : '#', o->s);
            }
            o->jump = t->parts->nelts - 1;
            pt->jump = open[depth - 1];
            in_list -= o->kind == PART_LIST;
            depth--;
        }
        i += n + 2;
        lit = i;
    }
    if (depth) {
        const part_t *o = &APR_ARRAY_IDX(t->parts, open[depth - 1], part_t);

        return anc_error_set(p, err, ANC_E_CONFIG, "section {{%c%s}} is not closed",
                             o->kind == PART_LIST ? '*' : '#', o->s);
    }
    if (len > lit) {
        part_t *pt = apr_array_push(t->parts);
        pt->kind = PART_TEXT;
        pt->s = text + lit;
        pt->len = len - lit;
    }
    *out = t;
    return ANC_OK;
}

/* ---- rendering ------------------------------------------------------------ */

typedef struct buf_t {
    apr_pool_t *p;
    char *data;
    apr_size_t len, cap;
} buf_t;

static void put(buf_t *b, const char *s, apr_size_t n)
{
    if (b->len + n + 1 > b->cap) {
        apr_size_t cap = b->cap ? b->cap : 4096;
        char *d;

        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        d = apr_palloc(b->p, cap);
        if (b->len) {
            memcpy(d, b->data, b->len);
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void put_escaped(buf_t *b, const char *s)
{
    const char *run = s;

    for (; *s; s++) {
        const char *rep;

        switch (*s) {
            case '&':
                rep = "&amp;";
                break;
            case '<':
                rep = "&lt;";
                break;
            case '>':
                rep = "&gt;";
                break;
            case '"':
                rep = "&quot;";
                break;
            case '\'':
                rep = "&#39;";
                break;
            default:
                continue;
        }
        put(b, run, (apr_size_t)(s - run));
        put(b, rep, strlen(rep));
        run = s + 1;
    }
    put(b, run, (apr_size_t)(s - run));
}

const char *anc_template_render(apr_pool_t *p, const anc_template_t *t,
                                anc_page_value_fn value, void *ctx)
{
    return anc_template_render_lists(p, t, value, NULL, NULL, ctx);
}

const char *anc_template_render_lists(apr_pool_t *p, const anc_template_t *t,
                                      anc_page_value_fn value, anc_page_count_fn count,
                                      anc_page_item_fn item, void *ctx)
{
    buf_t b = {p, NULL, 0, 0};
    const char *list = NULL; /* the list being repeated */
    int i, list_at = -1, list_i = 0, list_n = 0;

    put(&b, "", 0);
    for (i = 0; i < t->parts->nelts; i++) {
        const part_t *pt = &APR_ARRAY_IDX(t->parts, i, part_t);
        const char *v = NULL;

        /* inside a list, an item's own value first */
        if (list && item && (pt->kind == PART_VALUE || pt->kind == PART_OPEN)) {
            v = item(ctx, list, list_i, pt->s);
        }
        if (!v && (pt->kind == PART_VALUE || pt->kind == PART_OPEN)) {
            v = value(ctx, pt->s);
        }
        switch (pt->kind) {
            case PART_TEXT:
                put(&b, pt->s, pt->len);
                break;
            case PART_VALUE:
                if (v && *v) {
                    if (t->raw_content && !strcmp(pt->s, "content")) {
                        put(&b, v,
                            strlen(v)); /* the page, rendered and escaped already */
                    } else {
                        put_escaped(&b, v);
                    }
                }
                break;
            case PART_OPEN:
                if (!v || !*v) {
                    i = pt->jump; /* past the section */
                }
                break;
            case PART_LIST:
                list_n = count ? count(ctx, pt->s) : 0;
                if (list_n > ANC_PAGE_MAX_ITEMS) {
                    list_n = ANC_PAGE_MAX_ITEMS;
                }
                if (list_n <= 0) {
                    i = pt->jump;
                    break;
                }
                list = pt->s;
                list_at = i;
                list_i = 0;
                break;
            case PART_CLOSE:
                if (list && pt->jump == list_at) {
                    if (++list_i < list_n) {
                        i = list_at; /* the next item */
                    } else {
                        list = NULL;
                    }
                }
                break;
        }
    }
    return b.data;
}

/* ---- readable class names -------------------------------------------------- */

static const struct {
    const char *uri;
    const char *name;
} known_classes[] = {
    {"https://refeds.org/profile/mfa", "multi-factor authentication (REFEDS MFA)"},
    {"https://refeds.org/profile/sfa", "single-factor authentication (REFEDS SFA)"},
    {"http://schemas.microsoft.com/claims/multipleauthn", "multi-factor authentication"},
    {"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport", "password"},
    {"urn:oasis:names:tc:SAML:2.0:ac:classes:Password", "password"},
    {"urn:oasis:names:tc:SAML:2.0:ac:classes:X509", "certificate"},
    {"urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard", "smart card"},
    {"urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI", "smart card"},
    {"urn:oasis:names:tc:SAML:2.0:ac:classes:Kerberos", "Kerberos (Windows sign-in)"},
    {"urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
     "one-time code from a token"},
    {"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
     "two-factor authentication with a mobile device"},
    {"urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified", "an unspecified method"},
};

const char *anc_class_readable(const char *uri)
{
    apr_size_t i;

    for (i = 0; uri && i < sizeof(known_classes) / sizeof(known_classes[0]); i++) {
        if (!strcmp(uri, known_classes[i].uri)) {
            return known_classes[i].name;
        }
    }
    return NULL;
}
