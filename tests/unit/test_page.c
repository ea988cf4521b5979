/*
 * test_page.c - page templates (anc_template_parse/render): escaping of
 * every value, sections, the names a page may use, refusal of bad admin
 * templates, and every built-in page parsing.
 */
#include <check.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "anc_page.h"
#include "support_runner.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const char *from_table(void *ctx, const char *name)
{
    return apr_table_get((apr_table_t *)ctx, name);
}

static const char *render(anc_page_id_t id, const char *tpl, apr_table_t *values)
{
    const anc_template_t *t = NULL;
    anc_error_t *err = NULL;

    ck_assert_int_eq(anc_template_parse(pool, id, tpl, strlen(tpl), &t, &err), ANC_OK);
    return anc_template_render(pool, t, from_table, values);
}

static anc_status_t parse(anc_page_id_t id, const char *tpl, anc_error_t **err)
{
    const anc_template_t *t = NULL;

    return anc_template_parse(pool, id, tpl, strlen(tpl), &t, err);
}

START_TEST(test_values_are_escaped)
{
    apr_table_t *v = apr_table_make(pool, 4);

    apr_table_setn(v, "message", "<script>alert('x')</script> & \"q\"");
    apr_table_setn(v, "homeURL", "/a\"><img src=x onerror=y>");
    ck_assert_str_eq(
        render(ANC_PAGE_NOTICE, "<p>{{message}}</p><a href=\"{{homeURL}}\">", v),
        "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        "</p><a href=\"/a&quot;&gt;&lt;img src=x onerror=y&gt;\">");
}
END_TEST

START_TEST(test_layout_content_is_raw_title_is_not)
{
    apr_table_t *v = apr_table_make(pool, 4);

    apr_table_setn(v, "content", "<p>already &amp; escaped</p>");
    apr_table_setn(v, "title", "<b>");
    ck_assert_str_eq(render(ANC_PAGE_LAYOUT, "<title>{{title}}</title>{{content}}", v),
                     "<title>&lt;b&gt;</title><p>already &amp; escaped</p>");
    /* only the layout inserts content raw: a page has no such name */
    ck_assert_int_eq(parse(ANC_PAGE_NOTICE, "{{content}}", NULL), ANC_E_CONFIG);
}
END_TEST

START_TEST(test_sections)
{
    apr_table_t *v = apr_table_make(pool, 4);

    apr_table_setn(v, "message", "m");
    apr_table_setn(v, "homeURL", "");
    ck_assert_str_eq(
        render(ANC_PAGE_NOTICE,
               "a{{#message}}[{{message}}{{#homeURL}}H{{/homeURL}}]{{/message}}"
               "{{#title}}T{{/title}}z",
               v),
        "a[m]z");
    apr_table_setn(v, "homeURL", "/h");
    ck_assert_str_eq(render(ANC_PAGE_NOTICE, "{{#homeURL}}<{{homeURL}}>{{/homeURL}}", v),
                     "</h>");
}
END_TEST

START_TEST(test_bad_templates_refused)
{
    static const char *const bad[] = {
        "{{nosuchname}}",                               /* not a name of this page */
        "{{message}",                                   /* unterminated */
        "{{ message }}",                                /* spaces */
        "{{#message}}x",                                /* unclosed section */
        "x{{/message}}",                                /* closes nothing */
        "{{#message}}{{#title}}{{/message}}{{/title}}", /* crossed */
        "{{}}",                                         /* empty name */
        "{{&message}}",                                 /* no raw form */
    };
    anc_error_t *err = NULL;
    char deep[256] = "";
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = NULL;
        ck_assert_msg(parse(ANC_PAGE_NOTICE, bad[i], &err) == ANC_E_CONFIG, "accepted %s",
                      bad[i]);
        ck_assert_ptr_nonnull(err);
        ck_assert_str_eq(err->reason, "config-invalid");
    }
    for (i = 0; i < 9; i++) {
        strcat(deep, "{{#title}}");
    }
    for (i = 0; i < 9; i++) {
        strcat(deep, "{{/title}}");
    }
    ck_assert_int_eq(parse(ANC_PAGE_NOTICE, deep, NULL), ANC_E_CONFIG);
    {
        apr_size_t n = 64 * 1024 + 1;
        char *big = apr_palloc(pool, n + 1);
        const anc_template_t *t = NULL;

        memset(big, 'a', n);
        big[n] = '\0';
        ck_assert_int_eq(anc_template_parse(pool, ANC_PAGE_NOTICE, big, n, &t, NULL),
                         ANC_E_CONFIG);
        ck_assert_int_eq(anc_template_parse(pool, ANC_PAGE_NOTICE, "a\0b", 3, &t, NULL),
                         ANC_E_CONFIG);
    }
}
END_TEST

START_TEST(test_builtin_pages_parse_and_escape)
{
    int id;

    for (id = 0; id < ANC_PAGE__COUNT; id++) {
        const anc_template_t *t = NULL;
        anc_error_t *err = NULL;
        const char *text = anc_page_builtin(id);
        const char *const *names = anc_page_names(id);
        apr_table_t *v = apr_table_make(pool, 16);
        const char *out;

        ck_assert_ptr_nonnull(anc_page_file(id));
        ck_assert_msg(anc_template_parse(pool, id, text, strlen(text), &t, &err) ==
                          ANC_OK,
                      "%s: %s", anc_page_file(id), err ? err->detail : "");
        for (; *names; names++) {
            if (strcmp(*names, "content")) {
                apr_table_setn(v, *names, "<x\"y>");
            }
        }
        out = anc_template_render(pool, t, from_table, v);
        ck_assert_ptr_null(strstr(out, "<x"));
        ck_assert_ptr_null(strstr(out, "{{"));
    }
    ck_assert_ptr_null(anc_page_file(ANC_PAGE__COUNT));
}
END_TEST

START_TEST(test_readable_classes)
{
    ck_assert_str_eq(anc_class_readable("https://refeds.org/profile/mfa"),
                     "multi-factor authentication (REFEDS MFA)");
    ck_assert_str_eq(
        anc_class_readable(
            "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"),
        "password");
    ck_assert_ptr_null(anc_class_readable("https://refeds.org/profile/mfa "));
    ck_assert_ptr_null(anc_class_readable("urn:example:unknown"));
    ck_assert_ptr_null(anc_class_readable(NULL));
}
END_TEST

typedef struct list_ctx_t {
    apr_table_t *values;
    int n;
} list_ctx_t;

static const char *list_value(void *ctx, const char *name)
{
    return apr_table_get(((list_ctx_t *)ctx)->values, name);
}

static int list_count(void *ctx, const char *list)
{
    return strcmp(list, "idps") ? 0 : ((list_ctx_t *)ctx)->n;
}

static const char *list_item(void *ctx, const char *list, int i, const char *name)
{
    apr_pool_t *p = pool;

    if (!strcmp(name, "idpName")) {
        return i == 1 ? "<b>&" : apr_psprintf(p, "IdP %d", i);
    }
    if (!strcmp(name, "idpURL")) {
        return i == 2 ? "" : apr_psprintf(p, "/x?i=%d&j", i);
    }
    return NULL;
}

START_TEST(test_lists)
{
    const char *tpl = "{{*idps}}[{{idpName}}{{#idpURL}}:{{idpURL}}{{/idpURL}}|{{title}}]"
                      "{{/idps}}.{{*params}}x{{/params}}";
    const anc_template_t *t = NULL;
    anc_error_t *err = NULL;
    list_ctx_t c;

    c.values = apr_table_make(pool, 2);
    apr_table_setn(c.values, "title", "T\"");
    c.n = 3;
    ck_assert_int_eq(
        anc_template_parse(pool, ANC_PAGE_CHOOSER, tpl, strlen(tpl), &t, &err), ANC_OK);
    /* each item escaped, its sections judged per item, page values inside */
    ck_assert_str_eq(
        anc_template_render_lists(pool, t, list_value, list_count, list_item, &c),
        "[IdP 0:/x?i=0&amp;j|T&quot;][&lt;b&gt;&amp;:/x?i=1&amp;j|T&quot;]"
        "[IdP 2|T&quot;].");
    c.n = 0;
    ck_assert_str_eq(
        anc_template_render_lists(pool, t, list_value, list_count, list_item, &c), ".");
    /* no lists given: none rendered */
    ck_assert_str_eq(anc_template_render(pool, t, list_value, &c), ".");
    /* capped */
    c.n = 5000;
    {
        const char *out =
            anc_template_render_lists(pool, t, list_value, list_count, list_item, &c);
        int items = 0;

        for (; *out; out++) {
            items += *out == '[';
        }
        ck_assert_int_eq(items, ANC_PAGE_MAX_ITEMS);
    }
    /* lists do not nest; a list closed as a section is refused */
    ck_assert_int_eq(
        parse(ANC_PAGE_CHOOSER, "{{*idps}}{{*params}}{{/params}}{{/idps}}", &err),
        ANC_E_CONFIG);
    ck_assert_ptr_nonnull(strstr(err->detail, "do not nest"));
    ck_assert_int_eq(parse(ANC_PAGE_CHOOSER, "{{*idps}}{{/shown}}", &err), ANC_E_CONFIG);
    ck_assert_int_eq(parse(ANC_PAGE_CHOOSER, "{{*idps}}", &err), ANC_E_CONFIG);
    ck_assert_ptr_nonnull(strstr(err->detail, "{{*idps}}"));
    ck_assert_int_eq(parse(ANC_PAGE_NOTICE, "{{*idps}}{{/idps}}", &err), ANC_E_CONFIG);
}
END_TEST

static Suite *page_suite(void)
{
    Suite *s = suite_create("page");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_values_are_escaped);
    tcase_add_test(tc, test_layout_content_is_raw_title_is_not);
    tcase_add_test(tc, test_sections);
    tcase_add_test(tc, test_lists);
    tcase_add_test(tc, test_bad_templates_refused);
    tcase_add_test(tc, test_builtin_pages_parse_and_escape);
    tcase_add_test(tc, test_readable_classes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return anc_test_run_suite(page_suite());
}
