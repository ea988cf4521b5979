/*
 * fuzz_session.c - libFuzzer target for the session and request-state
 * codecs (anc_session_decode, anc_request_state_decode).
 *
 * Those bytes come back from a shared cache (Redis, memcached): another
 * writer, a truncated value or a corrupted entry must give ANC_E_INPUT, not
 * a crash. The first input byte picks the codec. A record that decodes is
 * encoded again and must decode to the same encoding (a round trip that
 * drifts would silently change a session's classes). The per-statement
 * (class, instant) pairs are also handed to the freshness function, which
 * must pick one of their instants, never an older one than the oldest.
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

/* The derived single values agree with the lists, and the instant that
 * freshness is judged on is one of the statements' instants (for no rule:
 * the oldest). */
static void check_statements(apr_pool_t *p, const anc_session_t *s)
{
    const apr_array_header_t *st = s->statements;
    anc_class_rule_t *rule = NULL;
    apr_array_header_t *classes;
    apr_time_t oldest = 0, got;
    int i, found = 0;

    if (st == NULL || s->session_indexes == NULL)
        abort();
    for (i = 0; i < st->nelts; i++) {
        apr_time_t t = APR_ARRAY_IDX(st, i, anc_class_instant_t).instant;

        if (t < 0)
            abort();
        if (i == 0 || t < oldest)
            oldest = t;
    }
    if (s->authn_instant != oldest)
        abort();
    if ((s->session_indexes->nelts == 0) != (s->session_index == NULL))
        abort();
    if (anc_policy_fresh_instant(NULL, NULL, st) != oldest)
        abort();
    if (st->nelts == 0 || APR_ARRAY_IDX(st, 0, anc_class_instant_t).class_ref == NULL)
        return;
    /* a rule naming the first statement's class */
    classes = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(classes, const char *) =
        APR_ARRAY_IDX(st, 0, anc_class_instant_t).class_ref;
    if (anc_class_rule_make(p, NULL, ANC_CMP_EXACT, classes, &rule, NULL) != ANC_OK)
        abort();
    got = anc_policy_fresh_instant(rule, NULL, st);
    for (i = 0; i < st->nelts; i++) {
        const anc_class_instant_t *ci = &APR_ARRAY_IDX(st, i, anc_class_instant_t);

        /* never judged on a statement of another class */
        if (ci->class_ref != NULL &&
            !strcmp(ci->class_ref, APR_ARRAY_IDX(classes, 0, const char *))) {
            if (ci->instant < got)
                abort();
            found |= ci->instant == got;
        }
    }
    if (!found)
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
        check_statements(p, skipped);
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
