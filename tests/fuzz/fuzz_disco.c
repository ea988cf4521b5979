/*
 * fuzz_disco.c - libFuzzer target for the discovery parsers and encoders
 * (anc_disco.c). The first byte picks what the rest is:
 *   0: an Accept-Language header (anc_lang_prefs, anc_lang_pick): at most
 *      17 tags, each a lower-case tag of letters, digits and '-';
 *   1: an index UI column (anc_ui_decode): a record that decodes must
 *      encode to a line with no TAB/CR/LF that decodes to the same line
 *      again, and its feed JSON must hold no raw control character;
 *   2: any string through anc_json_string: the output holds no raw
 *      control character, no "</" or "<!", no raw U+2028 or U+2029.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "fuzz_common.h"
#include "anc_disco.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init_library();
    fuzz_init_done();
    return 0;
}

static void no_controls(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 && s[i] != '\n') {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *s;
    int i;

    if (size < 1) {
        return 0;
    }
    apr_pool_create(&p, fuzz_global_pool);
    s = apr_pstrmemdup(p, (const char *)data + 1, size - 1);
    switch (data[0] % 3) {
        case 0: {
            apr_array_header_t *prefs = anc_lang_prefs(p, s);
            apr_array_header_t *texts = apr_array_make(p, 2, sizeof(anc_lang_text_t));
            anc_lang_text_t *t = apr_array_push(texts);

            if (prefs->nelts < 1 || prefs->nelts > 17) {
                abort();
            }
            for (i = 0; i < prefs->nelts; i++) {
                const char *tag = APR_ARRAY_IDX(prefs, i, const char *);
                const char *c;

                for (c = tag; *c; c++) {
                    if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
                          *c == '-')) {
                        abort();
                    }
                }
            }
            t->lang = "de";
            t->value = "x";
            if (anc_lang_pick(texts, prefs) == NULL) {
                abort();
            }
            break;
        }
        case 1: {
            anc_ui_info_t *ui = NULL, *again = NULL;
            anc_error_t *err = NULL;

            if (anc_ui_decode(p, s, &ui, &err) == ANC_OK) {
                const char *line = anc_ui_encode(p, ui), *json, *etag;
                apr_size_t len;
                anc_disco_list_t *l = anc_disco_list_make(p);

                if (strpbrk(line, "\t\r\n") != NULL ||
                    anc_ui_decode(p, line, &again, &err) != ANC_OK ||
                    strcmp(anc_ui_encode(p, again), line) != 0) {
                    abort();
                }
                anc_disco_list_add(l, "https://idp.example/", ui);
                if (anc_disco_feed_json(p, l, &json, &len, &etag, &err) != ANC_OK) {
                    abort();
                }
                no_controls(json, len);
            } else if (err == NULL || err->reason == NULL) {
                abort();
            }
            break;
        }
        default: {
            const char *j = anc_json_string(p, s);

            no_controls(j, strlen(j));
            if (strstr(j, "</") != NULL || strstr(j, "<!") != NULL ||
                strstr(j, "\xe2\x80\xa8") != NULL || strstr(j, "\xe2\x80\xa9") != NULL) {
                abort();
            }
            break;
        }
    }
    apr_pool_destroy(p);
    return 0;
}
