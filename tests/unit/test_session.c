/*
 * test_session.c - session and request-state codecs (round trip, every
 * truncation, byte flips, hand-made corrupt records) and random ids.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "anc_session.h"
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

static apr_array_header_t *strs(int n, ...)
{
    apr_array_header_t *a = apr_array_make(pool, n + 1, sizeof(const char *));
    va_list ap;
    int i;

    va_start(ap, n);
    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(a, const char *) = va_arg(ap, const char *);
    }
    va_end(ap);
    return a;
}

static void add_statement(anc_session_t *s, const char *class_ref, apr_time_t t)
{
    anc_class_instant_t *ci = apr_array_push(s->statements);

    ci->class_ref = class_ref;
    ci->instant = t;
}

static anc_session_t *sample_session(void)
{
    anc_session_t *s = apr_pcalloc(pool, sizeof(*s));
    anc_attribute_t *a;

    s->id = "0123456789abcdef0123456789abcdef";
    s->idp = "https://idp.example.org/idp";
    s->name_id.value = "alice@example.org";
    s->name_id.format = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
    s->name_id.name_qualifier = NULL;
    s->name_id.sp_name_qualifier = "https://sp.example.org";
    /* values with the codec's own delimiters and newlines in them */
    s->classes = strs(2, "https://refeds.org/profile/mfa", "urn:x:s3:odd;i9;n");
    /* three statements, the oldest in the middle, one without a class */
    s->statements = apr_array_make(pool, 3, sizeof(anc_class_instant_t));
    add_statement(s, "https://refeds.org/profile/mfa", APR_INT64_C(1700000100000000));
    add_statement(s, "urn:x:s3:odd;i9;n", APR_INT64_C(1700000000123456));
    add_statement(s, NULL, APR_INT64_C(1700000050000000));
    s->authn_instant = APR_INT64_C(1700000000123456); /* agrees: the oldest */
    s->session_indexes = strs(2, "_idx:42", "s3:i;n");
    s->session_index = "_idx:42"; /* agrees: the first */
    s->created = APR_INT64_C(1700000001000000);
    s->expires = APR_INT64_C(1700028801000000);
    s->attributes = apr_array_make(pool, 2, sizeof(anc_attribute_t));
    a = apr_array_push(s->attributes);
    a->name = "urn:oid:0.9.2342.19200300.100.1.3";
    a->name_format = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri";
    a->friendly_name = "mail";
    a->values = strs(2, "alice@example.org", "a\nb s9:x");
    a = apr_array_push(s->attributes);
    a->name = "groups";
    a->name_format = NULL;
    a->friendly_name = NULL;
    a->values = strs(3, "", "staff", "\xc3\xa9t\xc3\xa9"); /* empty and UTF-8 */
    return s;
}

static void assert_opt_str(const char *got, const char *want)
{
    if (want == NULL) {
        ck_assert_ptr_null(got);
    } else {
        ck_assert_ptr_nonnull(got);
        ck_assert_str_eq(got, want);
    }
}

static void assert_list(const apr_array_header_t *got, const apr_array_header_t *want)
{
    int i, n = want != NULL ? want->nelts : 0;

    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(got->nelts, n);
    for (i = 0; i < n; i++) {
        ck_assert_str_eq(APR_ARRAY_IDX(got, i, const char *),
                         APR_ARRAY_IDX(want, i, const char *));
    }
}

static void assert_session_eq(const anc_session_t *a, const anc_session_t *b)
{
    int i;

    ck_assert_str_eq(a->id, b->id);
    ck_assert_str_eq(a->idp, b->idp);
    ck_assert_str_eq(a->name_id.value, b->name_id.value);
    assert_opt_str(a->name_id.format, b->name_id.format);
    assert_opt_str(a->name_id.name_qualifier, b->name_id.name_qualifier);
    assert_opt_str(a->name_id.sp_name_qualifier, b->name_id.sp_name_qualifier);
    assert_list(a->classes, b->classes);
    ck_assert(a->authn_instant == b->authn_instant);
    assert_opt_str(a->session_index, b->session_index);
    ck_assert_ptr_nonnull(a->statements);
    ck_assert_int_eq(a->statements->nelts, b->statements ? b->statements->nelts : 0);
    for (i = 0; i < a->statements->nelts; i++) {
        const anc_class_instant_t *x =
            &APR_ARRAY_IDX(a->statements, i, anc_class_instant_t);
        const anc_class_instant_t *y =
            &APR_ARRAY_IDX(b->statements, i, anc_class_instant_t);

        assert_opt_str(x->class_ref, y->class_ref);
        ck_assert(x->instant == y->instant);
    }
    assert_list(a->session_indexes, b->session_indexes);
    ck_assert(a->created == b->created);
    ck_assert(a->expires == b->expires);
    ck_assert_int_eq(a->attributes->nelts, b->attributes ? b->attributes->nelts : 0);
    for (i = 0; i < a->attributes->nelts; i++) {
        const anc_attribute_t *x = &APR_ARRAY_IDX(a->attributes, i, anc_attribute_t);
        const anc_attribute_t *y = &APR_ARRAY_IDX(b->attributes, i, anc_attribute_t);

        ck_assert_str_eq(x->name, y->name);
        assert_opt_str(x->name_format, y->name_format);
        assert_opt_str(x->friendly_name, y->friendly_name);
        assert_list(x->values, y->values);
    }
}

START_TEST(session_round_trip)
{
    anc_session_t *s = sample_session(), *d = NULL;
    const char *buf = NULL, *buf2 = NULL;
    apr_size_t len = 0, len2 = 0;
    anc_error_t *err = NULL;

    ck_assert_int_eq(anc_session_encode(pool, s, &buf, &len, &err), ANC_OK);
    /* text fields, then the variable block with its NULs */
    ck_assert_uint_gt(len, strlen(buf));
    ck_assert_int_eq(anc_session_decode(pool, buf, len, ANC_SESSION_DECODE_ALL, &d, &err),
                     ANC_OK);
    assert_session_eq(d, s);
    /* the encoding is canonical: re-encoding gives the same bytes */
    ck_assert_int_eq(anc_session_encode(pool, d, &buf2, &len2, &err), ANC_OK);
    ck_assert_uint_eq(len, len2);
    ck_assert_int_eq(memcmp(buf, buf2, len), 0);

    /* minimal session: no optional fields, NULL lists decode as empty */
    s = apr_pcalloc(pool, sizeof(*s));
    s->id = "ab";
    s->idp = "i";
    s->name_id.value = "n";
    ck_assert_int_eq(anc_session_encode(pool, s, &buf, &len, &err), ANC_OK);
    ck_assert_int_eq(anc_session_decode(pool, buf, len, ANC_SESSION_DECODE_ALL, &d, &err),
                     ANC_OK);
    ck_assert_int_eq(d->classes->nelts, 0);
    ck_assert_int_eq(d->attributes->nelts, 0);
    ck_assert_int_eq(d->statements->nelts, 0);
    ck_assert_int_eq(d->session_indexes->nelts, 0);
    ck_assert(d->authn_instant == 0);
    ck_assert_ptr_null(d->session_index);
    ck_assert_ptr_null(d->name_id.format);
}
END_TEST

/* Collects a variable block into a table, checking that no name repeats. */
static void collect_var(void *ctx, const char *name, const char *value)
{
    apr_table_t *t = ctx;

    ck_assert_msg(apr_table_get(t, name) == NULL, "variable %s twice", name);
    apr_table_setn(t, name, value);
}

START_TEST(session_variables)
{
    anc_session_t *s = sample_session(), *d = NULL, *k = NULL;
    anc_attribute_t *a;
    const char *buf, *again;
    apr_size_t len, alen;
    apr_table_t *t = apr_table_make(pool, 8);

    /* a third attribute whose name folds onto the first one's */
    a = apr_array_push(s->attributes);
    a->name = "urn:x";
    a->name_format = NULL;
    a->friendly_name = "MAIL";
    a->values = strs(1, "second@example.org");
    ck_assert_int_eq(anc_session_encode(pool, s, &buf, &len, NULL), ANC_OK);
    ck_assert_int_eq(
        anc_session_decode(pool, buf, len, ANC_SESSION_SKIP_ATTRIBUTES, &k, NULL),
        ANC_OK);
    ck_assert_ptr_null(k->attributes);
    ck_assert_int_eq(k->attributes_skipped, 1);
    /* the request path's session cannot be written back without them */
    ck_assert_int_eq(anc_session_encode(pool, k, &again, &alen, NULL), ANC_E_INPUT);

    anc_session_vars_each(k, collect_var, t);
    ck_assert_str_eq(apr_table_get(t, "AUTHN_CONTEXT_CLASS"),
                     "https://refeds.org/profile/mfa urn:x:s3:odd;i9;n");
    ck_assert_str_eq(apr_table_get(t, "Shib-AuthnContext-Class"),
                     "https://refeds.org/profile/mfa urn:x:s3:odd;i9;n");
    /* 1700000000.123456 s: 2023-11-14T22:13:20Z (fraction dropped) */
    ck_assert_str_eq(apr_table_get(t, "AUTHN_CONTEXT_INSTANT"), "2023-11-14T22:13:20Z");
    ck_assert_str_eq(apr_table_get(t, "Shib-Authentication-Instant"),
                     "2023-11-14T22:13:20Z");
    /* 1700028801 s */
    ck_assert_str_eq(apr_table_get(t, "AUTHN_CONTEXT_EXPIRES"), "2023-11-15T06:13:21Z");
    ck_assert_str_eq(apr_table_get(t, "AUTHN_CONTEXT_IDP"),
                     "https://idp.example.org/idp");
    ck_assert_str_eq(apr_table_get(t, "Shib-Identity-Provider"),
                     "https://idp.example.org/idp");
    ck_assert_str_eq(apr_table_get(t, "AUTHN_CONTEXT_SESSION_INDEX"), "_idx:42");
    ck_assert_str_eq(apr_table_get(t, "Shib-Session-Index"), "_idx:42");
    ck_assert_str_eq(apr_table_get(t, "AUTHN_CONTEXT_NAMEID"), "alice@example.org");
    ck_assert_str_eq(apr_table_get(t, "AUTHN_CONTEXT_NAMEID_FORMAT"),
                     "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent");
    /* values as the IdP sent them, several joined with ';', same-named
     * attributes in order */
    ck_assert_str_eq(apr_table_get(t, "AUTHN_CONTEXT_ATTR_MAIL"),
                     "alice@example.org;a\nb s9:x;second@example.org");
    ck_assert_str_eq(apr_table_get(t, "AUTHN_CONTEXT_ATTR_GROUPS"),
                     ";staff;\xc3\xa9t\xc3\xa9");
    ck_assert_int_eq(apr_table_elts(t)->nelts, 13);

    /* a session without the optional fields leaves their variables out */
    s = apr_pcalloc(pool, sizeof(*s));
    s->id = "ab";
    s->idp = "i";
    s->name_id.value = "n";
    ck_assert_int_eq(anc_session_encode(pool, s, &buf, &len, NULL), ANC_OK);
    ck_assert_int_eq(anc_session_decode(pool, buf, len, ANC_SESSION_DECODE_ALL, &d, NULL),
                     ANC_OK);
    t = apr_table_make(pool, 8);
    anc_session_vars_each(d, collect_var, t);
    ck_assert_ptr_null(apr_table_get(t, "AUTHN_CONTEXT_INSTANT"));
    ck_assert_ptr_null(apr_table_get(t, "AUTHN_CONTEXT_SESSION_INDEX"));
    ck_assert_ptr_null(apr_table_get(t, "AUTHN_CONTEXT_NAMEID_FORMAT"));
    ck_assert_str_eq(apr_table_get(t, "AUTHN_CONTEXT_CLASS"), "");
    ck_assert_str_eq(apr_table_get(t, "AUTHN_CONTEXT_NAMEID"), "n");
}
END_TEST

static anc_session_t *round_trip(anc_session_t *s)
{
    const char *buf = NULL, *buf2 = NULL;
    apr_size_t len = 0, len2 = 0;
    anc_session_t *d = NULL;
    anc_error_t *err = NULL;

    ck_assert_msg(anc_session_encode(pool, s, &buf, &len, &err) == ANC_OK, "encode: %s",
                  err ? err->detail : "?");
    ck_assert_int_eq(anc_session_decode(pool, buf, len, ANC_SESSION_DECODE_ALL, &d, &err),
                     ANC_OK);
    ck_assert_int_eq(anc_session_encode(pool, d, &buf2, &len2, &err), ANC_OK);
    ck_assert_uint_eq(len, len2);
    ck_assert_int_eq(memcmp(buf, buf2, len), 0);
    return d;
}

static anc_session_t *bare_session(void)
{
    anc_session_t *s = apr_pcalloc(pool, sizeof(*s));

    s->id = "ab";
    s->idp = "i";
    s->name_id.value = "n";
    return s;
}

/* Every statement's (class, instant) and every SessionIndex are kept
 * (issue 11 item 3, Single Logout); the single values are derived. */
START_TEST(session_statements_and_indexes)
{
    anc_session_t *s, *d;
    const char *buf;
    apr_size_t len;
    apr_table_t *t;
    const anc_class_instant_t *ci;

    /* lists only: the oldest instant and the first index are derived */
    s = bare_session();
    s->statements = apr_array_make(pool, 2, sizeof(anc_class_instant_t));
    add_statement(s, "urn:pwd", apr_time_from_sec(1700000300));
    add_statement(s, "https://refeds.org/profile/mfa", apr_time_from_sec(1700000000));
    s->session_indexes = strs(2, "_s1", "_s0");
    d = round_trip(s);
    ck_assert_int_eq(d->statements->nelts, 2);
    ci = &APR_ARRAY_IDX(d->statements, 1, anc_class_instant_t);
    ck_assert_str_eq(ci->class_ref, "https://refeds.org/profile/mfa");
    ck_assert(ci->instant == apr_time_from_sec(1700000000));
    ck_assert(d->authn_instant == apr_time_from_sec(1700000000));
    assert_list(d->session_indexes, strs(2, "_s1", "_s0"));
    ck_assert_str_eq(d->session_index, "_s1");
    t = apr_table_make(pool, 8);
    anc_session_vars_each(d, collect_var, t);
    /* AUTHN_CONTEXT_INSTANT is the oldest statement's (2023-11-14T22:13:20Z),
     * AUTHN_CONTEXT_SESSION_INDEX the first */
    ck_assert_str_eq(apr_table_get(t, "AUTHN_CONTEXT_INSTANT"), "2023-11-14T22:13:20Z");
    ck_assert_str_eq(apr_table_get(t, "Shib-Authentication-Instant"),
                     "2023-11-14T22:13:20Z");
    ck_assert_str_eq(apr_table_get(t, "AUTHN_CONTEXT_SESSION_INDEX"), "_s1");

    /* a caller that only knows one instant and one index: one-element lists */
    s = bare_session();
    s->authn_instant = apr_time_from_sec(1700000000);
    s->session_index = "";
    d = round_trip(s);
    ck_assert_int_eq(d->statements->nelts, 1);
    ci = &APR_ARRAY_IDX(d->statements, 0, anc_class_instant_t);
    ck_assert_ptr_null(ci->class_ref);
    ck_assert(ci->instant == apr_time_from_sec(1700000000));
    ck_assert(d->authn_instant == apr_time_from_sec(1700000000));
    assert_list(d->session_indexes, strs(1, ""));
    ck_assert_str_eq(d->session_index, "");

    /* single values that disagree with the lists are refused */
    s = sample_session();
    s->authn_instant = APR_INT64_C(1700000100000000); /* not the oldest */
    ck_assert_int_eq(anc_session_encode(pool, s, &buf, &len, NULL), ANC_E_INPUT);
    s = sample_session();
    s->session_index = "s3:i;n"; /* not the first */
    ck_assert_int_eq(anc_session_encode(pool, s, &buf, &len, NULL), ANC_E_INPUT);
    /* and statements or indexes the decoder would refuse */
    s = sample_session();
    add_statement(s, "", APR_INT64_C(1700000200000000));
    ck_assert_int_eq(anc_session_encode(pool, s, &buf, &len, NULL), ANC_E_INPUT);
    s = sample_session();
    add_statement(s, "urn:x", -1);
    ck_assert_int_eq(anc_session_encode(pool, s, &buf, &len, NULL), ANC_E_INPUT);
    s = sample_session();
    APR_ARRAY_PUSH(s->session_indexes, const char *) = NULL;
    ck_assert_int_eq(anc_session_encode(pool, s, &buf, &len, NULL), ANC_E_INPUT);
}
END_TEST

/* The session's statements from a verified assertion record. */
START_TEST(session_set_authn_from_assertion)
{
    anc_assertion_t a;
    anc_authn_statement_t *st;
    anc_session_t *s = bare_session(), *d;
    const anc_class_instant_t *ci;

    memset(&a, 0, sizeof(a));
    a.authn_statements = apr_array_make(pool, 3, sizeof(anc_authn_statement_t));
    st = apr_array_push(a.authn_statements);
    memset(st, 0, sizeof(*st));
    st->class_refs = strs(1, "urn:pwd");
    st->authn_instant = apr_time_from_sec(1700000300);
    st->session_index = "_a";
    st = apr_array_push(a.authn_statements);
    memset(st, 0, sizeof(*st));
    st->class_refs = strs(0); /* a DeclRef only */
    st->authn_instant = apr_time_from_sec(1700000100);
    st->session_index = NULL;
    st = apr_array_push(a.authn_statements);
    memset(st, 0, sizeof(*st));
    st->class_refs = strs(1, "https://refeds.org/profile/mfa");
    st->authn_instant = apr_time_from_sec(1700000000);
    st->session_index = "_a"; /* a repeat: kept once */
    st = apr_array_push(a.authn_statements);
    memset(st, 0, sizeof(*st));
    st->class_refs = strs(1, "urn:otp");
    st->authn_instant = apr_time_from_sec(1700000200);
    st->session_index = "_b";

    anc_session_set_authn(pool, s, &a);
    d = round_trip(s);
    ck_assert_int_eq(d->statements->nelts, 4);
    ci = &APR_ARRAY_IDX(d->statements, 1, anc_class_instant_t);
    ck_assert_ptr_null(ci->class_ref);
    ck_assert(ci->instant == apr_time_from_sec(1700000100));
    ci = &APR_ARRAY_IDX(d->statements, 2, anc_class_instant_t);
    ck_assert_str_eq(ci->class_ref, "https://refeds.org/profile/mfa");
    ck_assert(d->authn_instant == apr_time_from_sec(1700000000));
    assert_list(d->session_indexes, strs(2, "_a", "_b"));
    ck_assert_str_eq(d->session_index, "_a");

    /* no statements at all (cannot come from the verifier): nothing known */
    s = bare_session();
    a.authn_statements = NULL;
    anc_session_set_authn(pool, s, &a);
    d = round_trip(s);
    ck_assert_int_eq(d->statements->nelts, 0);
    ck_assert(d->authn_instant == 0);
    ck_assert_ptr_null(d->session_index);
}
END_TEST

START_TEST(session_encode_refuses_what_decode_would_refuse)
{
    anc_session_t *s = sample_session();
    const char *buf;
    apr_size_t len;
    anc_error_t *err = NULL;

    s->idp = NULL;
    ck_assert_int_eq(anc_session_encode(pool, s, &buf, &len, &err), ANC_E_INPUT);
    s = sample_session();
    s->id = "";
    ck_assert_int_eq(anc_session_encode(pool, s, &buf, &len, &err), ANC_E_INPUT);
    s = sample_session();
    APR_ARRAY_PUSH(s->classes, const char *) = "";
    ck_assert_int_eq(anc_session_encode(pool, s, &buf, &len, &err), ANC_E_INPUT);
    s = sample_session();
    s->expires = -1;
    ck_assert_int_eq(anc_session_encode(pool, s, &buf, &len, &err), ANC_E_INPUT);
    ck_assert_int_eq(anc_session_encode(pool, NULL, &buf, &len, &err), ANC_E_INPUT);
}
END_TEST

START_TEST(session_every_truncation_rejected)
{
    const char *buf;
    apr_size_t len, cut;
    anc_session_t *d;
    anc_error_t *err = NULL;

    ck_assert_int_eq(anc_session_encode(pool, sample_session(), &buf, &len, &err),
                     ANC_OK);
    for (cut = 0; cut < len; cut++) {
        /* copy so that ASan sees any read past the given length */
        char *copy = malloc(cut ? cut : 1);

        memcpy(copy, buf, cut);
        err = NULL;
        ck_assert_msg(anc_session_decode(pool, copy, cut, ANC_SESSION_DECODE_ALL, &d,
                                         &err) == ANC_E_INPUT,
                      "prefix of %lu bytes accepted", (unsigned long)cut);
        ck_assert_str_eq(err->reason, "bad-input");
        free(copy);
    }
    /* and one byte too many */
    ck_assert_int_eq(anc_session_decode(pool, apr_pstrcat(pool, buf, "x", NULL), len + 1,
                                        ANC_SESSION_DECODE_ALL, &d, &err),
                     ANC_E_INPUT);
}
END_TEST

START_TEST(session_corrupt_records)
{
    /* fields after the NameID: classes, statements (class, instant each),
     * SessionIndexes, created, expires, block, attributes */
    static const char *const bad[] = {
        "",
        "ANCS3\n",
        "ANCS3",
        "ANCS3\ns2:ab",                    /* truncated */
        "ANCS3\ns99:ab",                   /* length past the end */
        "ANCS3\ns18446744073709551617:ab", /* overflowing length */
        "ANCS3\ns-1:ab",
        "ANCS3\nns1:is1:n",                                   /* required id is null */
        "ANCS3\ns0:s1:is1:n",                                 /* required id is empty */
        "ANCS3\ns2:abs1:is1:nnnni999999;",                    /* class count > bytes */
        "ANCS3\ns2:abs1:is1:nnnni-1;",                        /* negative count */
        "ANCS3\ns2:abs1:is1:nnnni1;ni0;i0;i0;i0;b0:i0;",      /* null class */
        "ANCS3\ns2:abs1:is1:nnnni0;i1;ni-5;i0;i0;i0;b0:i0;",  /* negative instant */
        "ANCS3\ns2:abs1:is1:nnnni0;i1;s0:i5;i0;i0;i0;b0:i0;", /* empty statement class */
        "ANCS3\ns2:abs1:is1:nnnni0;i1;i5;i0;i0;i0;b0:i0;", /* statement without class */
        "ANCS3\ns2:abs1:is1:nnnni0;i1;n;i0;i0;i0;b0:i0;",  /* statement without time */
        "ANCS3\ns2:abs1:is1:nnnni0;i999;ni5;i0;i0;i0;b0:i0;", /* statement count > bytes
                                                               */
        "ANCS3\ns2:abs1:is1:nnnni0;i-1;i0;i0;i0;b0:i0;",      /* negative statements */
        "ANCS3\ns2:abs1:is1:nnnni0;i0;i1;ni0;i0;b0:i0;",      /* null SessionIndex */
        "ANCS3\ns2:abs1:is1:nnnni0;i0;ni0;i0;b0:i0;",         /* ANCS2's instant, index */
        "ANCS3\ns2:abs1:is1:nnnni0;i0;i0;i-5;i0;b0:i0;",      /* negative time */
        "ANCS3\ns2:abs1:is1:nnnni0;i0;i0;i0x;i0;b0:i0;",      /* bad number */
        "ANCS3\ns2:abs1:is1:nnnni0;i0;i0;i;i0;b0:i0;",        /* empty number */
        "ANCS3\ns2:abs1:is1:nnnni0;i0;i0;i0;i0;b0:i1;ns0:nni0;", /* null attr name */
        "ANCS3\ns2:abs1:is1:nnnni0;i0;i0;i0;i0;b0:i1;s0:nni0;",  /* empty attr name */
        "ANCS3\ns2:abs1:is1:nnnni0;i0;i0;i0;i0;b0:i0;x",         /* trailing byte */
        "ANCS3\ns2:abs1:is1:nnnnx0;i0;i0;i0;i0;b0:i0;",          /* wrong tag */
        "ANCS3\ns2:abs1:is1:nnnni0;i0;i0;i0;i0;i0;",             /* no variable block */
        "ANCS3\ns2:abs1:is1:nnnni0;i0;i0;i0;i0;s0:i0;",  /* block of the wrong type */
        "ANCS3\ns2:abs1:is1:nnnni0;i0;i0;i0;i0;b9:i0;",  /* block past the end */
        "ANCS3\ns2:abs1:is1:nnnni0;i0;i0;i0;i0;b01:i0;", /* leading zero */
        "ANCS3\ns2:abs1:is1:nnnni0;i0;i0;i0;i0;b0:",     /* no attribute count */
        /* the older formats read as unknown (users sign in again) */
        "ANCS2\ns2:abs1:is1:nnnni0;i0;ni0;i0;b0:i0;",
        "ANCS1\ns2:abs1:is1:nnnni0;i0;ni0;i0;i0;",
    };
    size_t i;
    anc_session_t *d;
    anc_error_t *err;
    const char *good = "ANCS3\ns2:abs1:is1:nnnni0;i0;i0;i0;i0;b0:i0;";

    /* the hand-made baseline is itself valid, so each row tests one defect */
    ck_assert_int_eq(
        anc_session_decode(pool, good, strlen(good), ANC_SESSION_DECODE_ALL, &d, NULL),
        ANC_OK);
    ck_assert_str_eq(d->id, "ab");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = NULL;
        ck_assert_msg(anc_session_decode(pool, bad[i], strlen(bad[i]),
                                         ANC_SESSION_DECODE_ALL, &d, &err) == ANC_E_INPUT,
                      "row %u accepted", (unsigned)i);
        ck_assert_ptr_nonnull(err);
    }
    /* an embedded NUL inside a string field */
    {
        const char nul[] = "ANCS3\ns2:a\0s1:is1:nnnni0;i0;i0;i0;i0;b0:i0;";

        ck_assert_int_eq(anc_session_decode(pool, nul, sizeof(nul) - 1,
                                            ANC_SESSION_DECODE_ALL, &d, NULL),
                         ANC_E_INPUT);
    }
    /* variable blocks: whole NUL-terminated pairs with valid names only */
    {
        static const struct {
            const char *block;
            size_t len;
        } blocks[] = {
#define ROW(x) {x, sizeof(x) - 1}
            ROW("AUTHN_CONTEXT_A\0"),              /* a name without a value */
            ROW("AUTHN_CONTEXT_A\0v"),             /* no final NUL */
            ROW("\0v\0"),                          /* empty name */
            ROW("AUTHN_CONTEXT_A B\0v\0"),         /* space in a name */
            ROW("AUTHN_CONTEXT_A\nB\0v\0"),        /* newline in a name */
            ROW("AUTHN_CONTEXT_A:\0v\0"),          /* colon in a name */
            ROW("AUTHN_CONTEXT_A\0v\0Shib-B\0"),   /* odd count */
            ROW("LD_PRELOAD\0/tmp/x.so\0"),        /* a name that is not ours */
            ROW("Authorization\0Basic x\0"),       /* nor this one */
            ROW("AUTHN_CONTEXT_A\0v\0PATH\0/x\0"), /* one good, one not */
#undef ROW
        };
        const char *head = "ANCS3\ns2:abs1:is1:nnnni0;i0;i0;i0;i0;";
        size_t k;

        for (k = 0; k < sizeof(blocks) / sizeof(blocks[0]); k++) {
            char *rec = apr_psprintf(pool, "%sb%lu:", head, (unsigned long)blocks[k].len);
            size_t hl = strlen(rec);
            char *all = malloc(hl + blocks[k].len + 3);

            memcpy(all, rec, hl);
            memcpy(all + hl, blocks[k].block, blocks[k].len);
            memcpy(all + hl + blocks[k].len, "i0;", 3);
            ck_assert_msg(anc_session_decode(pool, all, hl + blocks[k].len + 3,
                                             ANC_SESSION_SKIP_ATTRIBUTES, &d,
                                             NULL) == ANC_E_INPUT,
                          "block row %u accepted", (unsigned)k);
            free(all);
        }
        /* and a good one, used where it lies */
        {
            const char rec[] =
                "ANCS3\ns2:abs1:is1:nnnni0;i0;i0;i0;i0;b26:Shib-X\0v\0AUTHN_"
                "CONTEXT_1\0\0i0;";
            const char tail[] = "ANCS3\ns2:abs1:is1:nnnni0;i0;i0;i0;i0;b0:i7;junk";

            ck_assert_int_eq(anc_session_decode(pool, rec, sizeof(rec) - 1,
                                                ANC_SESSION_DECODE_ALL, &d, NULL),
                             ANC_OK);
            ck_assert_uint_eq(d->vars_len, 26);
            ck_assert_ptr_eq(d->vars, rec + sizeof(rec) - 1 - 3 - 26);
            /* the request path reads no further than the block: a broken
             * attribute section is only refused by a whole decode */
            ck_assert_int_eq(anc_session_decode(pool, tail, sizeof(tail) - 1,
                                                ANC_SESSION_SKIP_ATTRIBUTES, &d, NULL),
                             ANC_OK);
            ck_assert_int_eq(anc_session_decode(pool, tail, sizeof(tail) - 1,
                                                ANC_SESSION_DECODE_ALL, &d, NULL),
                             ANC_E_INPUT);
        }
    }
    ck_assert_int_eq(anc_session_decode(pool, NULL, 10, ANC_SESSION_DECODE_ALL, &d, NULL),
                     ANC_E_INPUT);
}
END_TEST

/* Flips random bytes of a valid record: decoding must either fail with
 * ANC_E_INPUT or yield a record that re-encodes to the same bytes. */
START_TEST(session_random_corruption)
{
    const char *buf;
    apr_size_t len;
    unsigned seed = 4242;
    int i, ok = 0, rejected = 0;

    ck_assert_int_eq(anc_session_encode(pool, sample_session(), &buf, &len, NULL),
                     ANC_OK);
    srand(seed);
    printf("test_session: corruption seed %u\n", seed);
    for (i = 0; i < 5000; i++) {
        apr_pool_t *it;
        char *copy = malloc(len);
        anc_session_t *d = NULL, *skipped = NULL;
        anc_status_t rc;
        int flips = 1 + rand() % 3, f;

        apr_pool_create(&it, pool);
        memcpy(copy, buf, len);
        for (f = 0; f < flips; f++) {
            copy[rand() % (int)len] = (char)(rand() % 256);
        }
        rc = anc_session_decode(it, copy, len, ANC_SESSION_DECODE_ALL, &d, NULL);
        /* what a whole decode accepts, the request path's decode accepts,
         * with the same variables */
        if (rc == ANC_OK) {
            ck_assert_int_eq(anc_session_decode(it, copy, len,
                                                ANC_SESSION_SKIP_ATTRIBUTES, &skipped,
                                                NULL),
                             ANC_OK);
            ck_assert_uint_eq(skipped->vars_len, d->vars_len);
            ck_assert_int_eq(memcmp(skipped->vars, d->vars, d->vars_len), 0);
        }
        if (rc == ANC_OK) {
            const char *again, *again2;
            apr_size_t alen, alen2;
            anc_session_t *d2 = NULL;

            /* The fields read back as they were; the variable block is
             * derived from them again by the encoder, so a flipped byte
             * inside it is not carried over. */
            ck_assert_int_eq(anc_session_encode(it, d, &again, &alen, NULL), ANC_OK);
            ck_assert_int_eq(
                anc_session_decode(it, again, alen, ANC_SESSION_DECODE_ALL, &d2, NULL),
                ANC_OK);
            assert_session_eq(d2, d);
            ck_assert_int_eq(anc_session_encode(it, d2, &again2, &alen2, NULL), ANC_OK);
            ck_assert_uint_eq(alen, alen2);
            ck_assert_int_eq(memcmp(again, again2, alen), 0);
            ok++;
        } else {
            ck_assert_int_eq(rc, ANC_E_INPUT);
            rejected++;
        }
        free(copy);
        apr_pool_destroy(it);
    }
    printf("test_session: %d corrupted records decoded consistently, %d rejected\n", ok,
           rejected);
    ck_assert_int_gt(rejected, 1000);
}
END_TEST

static anc_request_state_t *sample_state(void)
{
    anc_request_state_t *st = apr_pcalloc(pool, sizeof(*st));

    st->request_id = "_3f2a9c";
    st->target = "/admin/?q=a&b=c";
    st->idp = "https://idp.example.org/idp";
    st->browser_binding = "feedfacefeedfacefeedfacefeedface";
    st->has_requested_context = 1;
    st->comparison = ANC_CMP_MINIMUM;
    st->requested_classes = strs(2, "https://refeds.org/profile/mfa",
                                 "urn:oasis:names:tc:SAML:2.0:ac:classes:X509");
    st->force_authn = 1;
    st->max_age = 300;
    st->is_retry = 0;
    st->created = APR_INT64_C(1700000000000000);
    st->expires = APR_INT64_C(1700000300000000);
    return st;
}

START_TEST(state_round_trip_and_truncation)
{
    anc_request_state_t *st = sample_state(), *d = NULL;
    const char *buf;
    apr_size_t len, cut;
    anc_error_t *err = NULL;

    ck_assert_int_eq(anc_request_state_encode(pool, st, &buf, &len, &err), ANC_OK);
    ck_assert_int_eq(anc_request_state_decode(pool, buf, len, &d, &err), ANC_OK);
    ck_assert_str_eq(d->request_id, st->request_id);
    ck_assert_str_eq(d->target, st->target);
    ck_assert_str_eq(d->idp, st->idp);
    ck_assert_str_eq(d->browser_binding, st->browser_binding);
    ck_assert_int_eq(d->has_requested_context, 1);
    ck_assert_int_eq(d->comparison, ANC_CMP_MINIMUM);
    assert_list(d->requested_classes, st->requested_classes);
    ck_assert_int_eq(d->force_authn, 1);
    ck_assert_int_eq(d->max_age, 300);
    ck_assert_int_eq(d->is_retry, 0);
    ck_assert(d->created == st->created);
    ck_assert(d->expires == st->expires);

    for (cut = 0; cut < len; cut++) {
        char *copy = malloc(cut ? cut : 1);

        memcpy(copy, buf, cut);
        ck_assert_msg(anc_request_state_decode(pool, copy, cut, &d, NULL) == ANC_E_INPUT,
                      "prefix of %lu bytes accepted", (unsigned long)cut);
        free(copy);
    }

    /* a retry without context, no IdP chosen */
    st = sample_state();
    st->has_requested_context = 0;
    st->requested_classes = NULL;
    st->idp = NULL;
    st->is_retry = 1;
    st->force_authn = 0;
    ck_assert_int_eq(anc_request_state_encode(pool, st, &buf, &len, &err), ANC_OK);
    ck_assert_int_eq(anc_request_state_decode(pool, buf, len, &d, &err), ANC_OK);
    ck_assert_ptr_null(d->idp);
    ck_assert_int_eq(d->is_retry, 1);
    ck_assert_int_eq(d->has_requested_context, 0);
    ck_assert_int_eq(d->requested_classes->nelts, 0);
}
END_TEST

START_TEST(state_corrupt_records)
{
    /* baseline: id, target, idp, binding, ctx, cmp, classes, force, age,
     * retry, created, expires */
    const char *good = "ANCR1\ns1:as1:/nni0;i0;i0;i0;i0;i0;i0;i0;";
    static const char *const bad[] = {
        "ANCR1\ns1:as1:/nni2;i0;i0;i0;i0;i0;i0;i0;", /* flag out of range */
        "ANCR1\ns1:as1:/nni0;i4;i0;i0;i0;i0;i0;i0;", /* comparison out of range */
        "ANCR1\ns1:as1:/nni0;i-1;i0;i0;i0;i0;i0;i0;",
        "ANCR1\ns1:as1:/nni0;i0;i0;i0;i-1;i0;i0;i0;",         /* negative max age */
        "ANCR1\ns1:as1:/nni0;i0;i0;i0;i9999999999;i0;i0;i0;", /* age > int */
        "ANCR1\ns1:as1:/nni1;i0;i0;i0;i0;i0;i0;i0;",          /* context, no classes */
        "ANCR1\ns1:as1:/nni0;i0;i1;s0:i0;i0;i0;i0;i0;",       /* empty class */
        "ANCR1\nns1:/nni0;i0;i0;i0;i0;i0;i0;i0;",             /* no request id */
        "ANCR1\ns1:ans1:nni0;i0;i0;i0;i0;i0;i0;i0;",          /* no target */
        "ANCS1\ns1:as1:/nni0;i0;i0;i0;i0;i0;i0;i0;",          /* session magic */
        "ANCR1\ns1:as1:/nni0;i0;i0;i0;i0;i0;i0;i0;;",
    };
    anc_request_state_t *d, *st;
    const char *buf;
    apr_size_t len;
    size_t i;

    ck_assert_int_eq(anc_request_state_decode(pool, good, strlen(good), &d, NULL),
                     ANC_OK);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(anc_request_state_decode(pool, bad[i], strlen(bad[i]), &d, NULL) ==
                          ANC_E_INPUT,
                      "row %u accepted", (unsigned)i);
    }
    st = sample_state();
    st->requested_classes = NULL;
    ck_assert_int_eq(anc_request_state_encode(pool, st, &buf, &len, NULL), ANC_E_INPUT);
    st = sample_state();
    st->target = NULL;
    ck_assert_int_eq(anc_request_state_encode(pool, st, &buf, &len, NULL), ANC_E_INPUT);
    st = sample_state();
    st->comparison = (anc_comparison_t)7;
    ck_assert_int_eq(anc_request_state_encode(pool, st, &buf, &len, NULL), ANC_E_INPUT);
}
END_TEST

START_TEST(random_ids)
{
    const char *a = NULL, *b = NULL;
    anc_error_t *err = NULL;
    int counts[16] = {0};
    int i, j;

    ck_assert_int_eq(anc_random_hex(pool, 16, &a, &err), ANC_OK);
    ck_assert_int_eq(anc_random_hex(pool, 16, &b, &err), ANC_OK);
    ck_assert_uint_eq(strlen(a), 32);
    ck_assert(anc_is_hex_id(a, 16));
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(anc_random_hex(pool, 0, &a, &err), ANC_E_INTERNAL);
    ck_assert_int_eq(anc_random_hex(pool, 100000, &a, &err), ANC_E_INTERNAL);

    /* crude uniformity: 2000 ids x 32 nibbles, every digit within 20% of
     * the expected 4000 (a stuck or biased generator fails this). */
    for (i = 0; i < 2000; i++) {
        ck_assert_int_eq(anc_random_hex(pool, 16, &a, NULL), ANC_OK);
        for (j = 0; j < 32; j++) {
            counts[a[j] <= '9' ? a[j] - '0' : a[j] - 'a' + 10]++;
        }
    }
    for (i = 0; i < 16; i++) {
        ck_assert_msg(counts[i] > 3200 && counts[i] < 4800, "digit %x seen %d times", i,
                      counts[i]);
    }

    ck_assert(!anc_is_hex_id("0123456789ABCDEF0123456789abcdef", 16));  /* upper */
    ck_assert(!anc_is_hex_id("0123456789abcdef0123456789abcde", 16));   /* short */
    ck_assert(!anc_is_hex_id("0123456789abcdef0123456789abcdef0", 16)); /* long */
    ck_assert(!anc_is_hex_id("0123456789abcdef0123456789abcdeg", 16));
    ck_assert(!anc_is_hex_id("", 16));
    ck_assert(!anc_is_hex_id(NULL, 16));
    ck_assert(anc_is_hex_id("00ff", 2));
}
END_TEST

static Suite *session_suite(void)
{
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, session_round_trip);
    tcase_add_test(tc, session_variables);
    tcase_add_test(tc, session_statements_and_indexes);
    tcase_add_test(tc, session_set_authn_from_assertion);
    tcase_add_test(tc, session_encode_refuses_what_decode_would_refuse);
    tcase_add_test(tc, session_every_truncation_rejected);
    tcase_add_test(tc, session_corrupt_records);
    tcase_add_test(tc, session_random_corruption);
    tcase_add_test(tc, state_round_trip_and_truncation);
    tcase_add_test(tc, state_corrupt_records);
    tcase_add_test(tc, random_ids);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return anc_test_run_suite(session_suite());
}
