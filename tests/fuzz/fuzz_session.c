/*
 * fuzz_session.c - libFuzzer target for the session and request-state
 * codecs (anc_session_decode, anc_request_state_decode).
 *
 * Those bytes come back from a shared cache (Redis, memcached): another
 * writer, a truncated value or a corrupted entry must give ANC_E_INPUT, not
 * a crash. The first input byte picks the codec. A record that decodes is
 * encoded again and must decode to the same encoding (a round trip that
 * drifts would silently change a session's classes).
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"
#include "anc_session.h"

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

static void same_or_die(const char *a, apr_size_t alen, const char *b, apr_size_t blen)
{
    if (alen != blen || memcmp(a, b, alen) != 0)
        abort();
}

static void count_var(void *ctx, const char *name, const char *value)
{
    /* touch every byte the module would hand to apr_table_addn */
    *(size_t *)ctx += strlen(name) + strlen(value);
}

static void walk_vars(const anc_session_t *s)
{
    size_t n = 0;

    anc_session_vars_each(s, count_var, &n);
    if (n > s->vars_len)
        abort();
}

static void fuzz_session(apr_pool_t *p, const char *buf, apr_size_t len)
{
    anc_session_t *s = NULL, *s2 = NULL, *skipped = NULL;
    anc_error_t *err = NULL;
    const char *enc, *enc2;
    apr_size_t enc_len, enc2_len;
    anc_status_t rc = anc_session_decode(p, buf, len, ANC_SESSION_DECODE_ALL, &s, &err);

    /* The request path stops after the variable block: whatever it
     * accepts it has checked, and what the whole decode accepts it must
     * accept too, with the same variables. */
    anc_status_t rc_skip =
        anc_session_decode(p, buf, len, ANC_SESSION_SKIP_ATTRIBUTES, &skipped, NULL);

    if (rc_skip == ANC_OK) {
        walk_vars(skipped);
    }
    if (rc != ANC_OK) {
        if (err == NULL)
            abort();
        return;
    }
    if (rc_skip != ANC_OK || skipped->vars_len != s->vars_len ||
        (s->vars_len && memcmp(skipped->vars, s->vars, s->vars_len) != 0))
        abort();
    /* The encoder may refuse what the decoder tolerates (it guards the
     * writer); what it does write must read back identically. */
    if (anc_session_encode(p, s, &enc, &enc_len, &err) != ANC_OK)
        return;
    if (anc_session_decode(p, enc, enc_len, ANC_SESSION_DECODE_ALL, &s2, &err) != ANC_OK)
        abort();
    if (anc_session_encode(p, s2, &enc2, &enc2_len, &err) != ANC_OK)
        abort();
    same_or_die(enc, enc_len, enc2, enc2_len);
}

static void fuzz_state(apr_pool_t *p, const char *buf, apr_size_t len)
{
    anc_request_state_t *st = NULL, *st2 = NULL;
    anc_error_t *err = NULL;
    const char *enc, *enc2;
    apr_size_t enc_len, enc2_len;

    if (anc_request_state_decode(p, buf, len, &st, &err) != ANC_OK) {
        if (err == NULL)
            abort();
        return;
    }
    /* The encoder may refuse what the decoder tolerates (it guards the
     * writer); what it does write must read back identically. */
    if (anc_request_state_encode(p, st, &enc, &enc_len, &err) != ANC_OK)
        return;
    if (anc_request_state_decode(p, enc, enc_len, &st2, &err) != ANC_OK)
        abort();
    if (anc_request_state_encode(p, st2, &enc2, &enc2_len, &err) != ANC_OK)
        abort();
    same_or_die(enc, enc_len, enc2, enc2_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *buf;

    if (size < 1)
        return 0;
    if (apr_pool_create(&p, fuzz_global_pool) != APR_SUCCESS)
        abort();
    /* Not NUL-terminated on purpose: the cache hands back (bytes, length). */
    buf = malloc(size - 1 ? size - 1 : 1);
    if (buf == NULL)
        abort();
    memcpy(buf, data + 1, size - 1);
    if (data[0] & 1)
        fuzz_state(p, buf, size - 1);
    else
        fuzz_session(p, buf, size - 1);
    free(buf);
    apr_pool_destroy(p);
    return 0;
}
