/*
 * anc_page.h - the pages a person sees (sign-in problems, "this page needs
 * a stronger sign-in", logout done, service unavailable), as templates an
 * admin can replace, and the readable names of well-known classes.
 *
 * A template is UTF-8 text with two kinds of markup:
 *   {{name}}               the value of name, HTML-escaped (& < > " ' are
 *                          replaced), so it is safe in text and in a quoted
 *                          attribute value;
 *   {{#name}}...{{/name}}  the part between is kept only when name has a
 *                          non-empty value (sections may nest, 8 deep);
 *   {{*name}}...{{/name}}  a list: the part between is repeated once per
 *                          item of list name (none: left out); inside it a
 *                          name is first looked up in the item, then in the
 *                          page. Lists do not nest; an item repeats at most
 *                          ANC_PAGE_MAX_ITEMS times.
 * Only names the page declares are accepted: an unknown or misspelt name,
 * an unclosed or crossed section, or a template over 64 KB is refused when
 * the template is parsed (so a bad admin template fails configtest, never a
 * request). Rendering cannot fail.
 *
 * Every page is rendered into the layout template, whose {{content}} is the
 * rendered page (already escaped, inserted as it is) and {{title}} the
 * page's title.
 */
#ifndef ANC_PAGE_H
#define ANC_PAGE_H

#include <apr_pools.h>
#include "anc_error.h"

typedef enum {
    ANC_PAGE_LAYOUT = 0,  /* the frame around every page */
    ANC_PAGE_FORBIDDEN,   /* signed in, but the sign-in is too weak for this page */
    ANC_PAGE_ERROR,       /* a sign-in that did not succeed (IdP status, invalid answer,
                             expired login, context not met) */
    ANC_PAGE_UNAVAILABLE, /* the session store cannot answer */
    ANC_PAGE_LOGOUT,      /* signed out */
    ANC_PAGE_NOTICE,      /* a short message (bad request, wrong method) */
    ANC_PAGE_CHOOSER,     /* choose the identity provider to sign in with */
    ANC_PAGE__COUNT
} anc_page_id_t;

/* The file name of a page's template ("error.html", ...), or NULL. */
const char *anc_page_file(anc_page_id_t id);
/* The built-in template of a page (NUL-terminated). */
const char *anc_page_builtin(anc_page_id_t id);
/* The NULL-terminated list of names a page's template may use. */
const char *const *anc_page_names(anc_page_id_t id);

typedef struct anc_template_t anc_template_t;

/* Parses a template for page id. Errors: ANC_E_CONFIG (unknown name, bad
 * or unbalanced markup, nesting over 8, over 64 KB; the detail names the
 * byte offset and the name). */
anc_status_t anc_template_parse(apr_pool_t *p, anc_page_id_t id, const char *text,
                                apr_size_t len, const anc_template_t **t,
                                anc_error_t **err);

/* The value of a name, or NULL / "" when it has none. */
typedef const char *(*anc_page_value_fn)(void *ctx, const char *name);

/* The rendered text, allocated in p (lists render no item). */
const char *anc_template_render(apr_pool_t *p, const anc_template_t *t,
                                anc_page_value_fn value, void *ctx);

#define ANC_PAGE_MAX_ITEMS 1000
/* The number of items of a list (0 for none), and the value of a name in
 * item i of a list (NULL: not an item's name; the page's value is used). */
typedef int (*anc_page_count_fn)(void *ctx, const char *list);
typedef const char *(*anc_page_item_fn)(void *ctx, const char *list, int i,
                                        const char *name);
/* anc_template_render() with lists. */
const char *anc_template_render_lists(apr_pool_t *p, const anc_template_t *t,
                                      anc_page_value_fn value, anc_page_count_fn count,
                                      anc_page_item_fn item, void *ctx);

/* A readable name for a well-known class URI ("multi-factor
 * authentication (REFEDS MFA)"), or NULL when it is not one. */
const char *anc_class_readable(const char *uri);

#endif
