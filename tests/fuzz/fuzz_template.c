/*
 * fuzz_template.c - libFuzzer target for anc_template_parse/render.
 *
 * An admin's page template is parsed at start-up; a bad one must be refused
 * with a message, never crash or loop. The first input byte picks the page
 * (so every page's name list is explored), the rest is the template text.
 * A template that parses is rendered with a hostile value for every name,
 * and the output must not contain that value unescaped (outside the
 * layout's content slot, which carries an already escaped page). Lists
 * render three items, each item's values hostile too.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"
#include "anc_page.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HOSTILE "<i\"'&>"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init_library();
    fuzz_init_done();
    return 0;
}

static const char *value(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "content") ? HOSTILE : "";
}

static int count(void *ctx, const char *list)
{
    (void)ctx;
    (void)list;
    return 3;
}

static const char *item(void *ctx, const char *list, int i, const char *name)
{
    (void)ctx;
    (void)list;
    return i == 1 ? NULL : (strcmp(name, "content") ? HOSTILE : "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const anc_template_t *t = NULL;
    anc_error_t *err = NULL;
    anc_page_id_t id;
    const char *out;

    if (size < 1) {
        return 0;
    }
    id = (anc_page_id_t)(data[0] % ANC_PAGE__COUNT);
    apr_pool_create(&p, fuzz_global_pool);
    if (anc_template_parse(p, id, (const char *)data + 1, size - 1, &t, &err) == ANC_OK) {
        out = anc_template_render_lists(p, t, value, count, item, NULL);
        /* the template's own text may hold the same bytes: only a render
         * longer than the template by an unescaped value is a finding */
        if (strstr(out, HOSTILE) &&
            !memmem(data + 1, size - 1, HOSTILE, strlen(HOSTILE))) {
            abort();
        }
    } else if (!err || !err->reason) {
        abort(); /* every refusal says why */
    }
    apr_pool_destroy(p);
    return 0;
}
