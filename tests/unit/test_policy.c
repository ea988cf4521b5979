/*
 * test_policy.c - the class policy engine: truth tables for every
 * comparison (ladders with ties, unranked classes), aliases, several
 * statements, attribute-sourced classes, regex and negation rules,
 * freshness, and a randomized property test against a brute-force
 * reference written independently of src/anc_policy.c.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "anc_policy.h"
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

/* The test ladder: pw=1 < ppt=2 < x509=3 == mfa=3 (a tie) < sc=4;
 * kerb and otp are unranked. */
static anc_vocab_t *ladder(void)
{
    anc_vocab_t *v = anc_vocab_create(pool);
    anc_error_t *err = NULL;

    ck_assert_int_eq(anc_vocab_add_level(v, 1, "urn:pw", &err), ANC_OK);
    ck_assert_int_eq(anc_vocab_add_level(v, 2, "urn:ppt", &err), ANC_OK);
    ck_assert_int_eq(anc_vocab_add_level(v, 3, "urn:x509", &err), ANC_OK);
    ck_assert_int_eq(anc_vocab_add_level(v, 3, "urn:mfa", &err), ANC_OK);
    ck_assert_int_eq(anc_vocab_add_level(v, 4, "urn:sc", &err), ANC_OK);
    return v;
}

/* Splits a space-separated string into an array of const char *. */
static apr_array_header_t *words(const char *s)
{
    apr_array_header_t *arr = apr_array_make(pool, 4, sizeof(const char *));
    char *copy = apr_pstrdup(pool, s);
    char *last = NULL;
    char *tok;

    for (tok = apr_strtok(copy, " ", &last); tok != NULL;
         tok = apr_strtok(NULL, " ", &last)) {
        APR_ARRAY_PUSH(arr, const char *) = tok;
    }
    return arr;
}

static anc_status_t parse(const anc_vocab_t *v, const char *rule_text,
                          anc_class_rule_t **rule)
{
    apr_array_header_t *w = words(rule_text);
    anc_error_t *err = NULL;
    anc_status_t rc =
        anc_class_rule_parse(pool, v, w->nelts, (const char *const *)w->elts, rule, &err);

    if (rc != ANC_OK) {
        ck_assert_ptr_nonnull(err);
        ck_assert_int_eq(err->code, rc);
        ck_assert_ptr_nonnull(err->detail);
    }
    return rc;
}

typedef struct {
    const char *rule;
    const char *session; /* space-separated; "" = empty set */
    int expect;
} row_t;

static void run_table(const row_t *rows, size_t n)
{
    anc_vocab_t *v = ladder();
    size_t i;

    for (i = 0; i < n; i++) {
        anc_class_rule_t *rule = NULL;
        int got;

        ck_assert_msg(parse(v, rows[i].rule, &rule) == ANC_OK, "parse '%s'",
                      rows[i].rule);
        got = anc_class_rule_eval(rule, v, words(rows[i].session));
        ck_assert_msg(got == rows[i].expect, "rule '%s' session {%s}: got %d want %d",
                      rows[i].rule, rows[i].session, got, rows[i].expect);
    }
}

START_TEST(exact_table)
{
    static const row_t rows[] = {
        {"urn:ppt", "urn:ppt", 1},
        {"exact urn:ppt", "urn:ppt", 1},
        {"exact urn:ppt", "urn:pw", 0},
        {"exact urn:ppt", "urn:sc", 0},    /* stronger is not equal */
        {"exact urn:mfa", "urn:x509", 0},  /* a tie is not equal */
        {"exact urn:kerb", "urn:kerb", 1}, /* unranked matches itself */
        {"exact urn:kerb", "urn:otp", 0},
        {"exact urn:ppt", "", 0},
        {"exact urn:ppt", "urn:pw urn:ppt", 1}, /* any class of the set */
        {"exact urn:mfa urn:kerb", "urn:kerb", 1},
        {"exact urn:mfa urn:kerb", "urn:pw urn:otp", 0},
        {"exact urn:ppt", "urn:PPT", 0}, /* case-sensitive */
    };
    run_table(rows, sizeof(rows) / sizeof(rows[0]));
}
END_TEST

START_TEST(minimum_table)
{
    static const row_t rows[] = {
        {"minimum urn:ppt", "urn:pw", 0},
        {"minimum urn:ppt", "urn:ppt", 1},
        {"minimum urn:ppt", "urn:x509", 1},
        {"minimum urn:ppt", "urn:sc", 1},
        {"minimum urn:ppt", "urn:kerb", 0}, /* unranked never ordered */
        {"minimum urn:ppt", "urn:kerb urn:pw", 0},
        {"minimum urn:ppt", "urn:kerb urn:x509", 1},
        {"minimum urn:x509", "urn:mfa", 1}, /* tie counts */
        {"minimum urn:x509", "urn:ppt", 0},
        {"minimum urn:ppt urn:sc", "urn:ppt", 1}, /* some r suffices */
        {"minimum urn:ppt urn:sc", "urn:pw", 0},
        {"minimum urn:sc", "urn:mfa urn:x509", 0},
        {"minimum urn:pw", "", 0},
    };
    run_table(rows, sizeof(rows) / sizeof(rows[0]));
}
END_TEST

START_TEST(better_table)
{
    static const row_t rows[] = {
        {"better urn:ppt", "urn:ppt", 0}, /* equal is not better */
        {"better urn:ppt", "urn:pw", 0},
        {"better urn:ppt", "urn:x509", 1},
        {"better urn:ppt", "urn:mfa", 1},
        {"better urn:x509", "urn:mfa", 0}, /* a tie is not stronger */
        {"better urn:x509", "urn:sc", 1},
        {"better urn:pw urn:x509", "urn:ppt", 0}, /* strict: every r */
        {"better urn:pw urn:x509", "urn:mfa", 0},
        {"better urn:pw urn:x509", "urn:sc", 1},
        {"better urn:pw", "urn:kerb", 0},
        {"better urn:pw", "urn:kerb urn:ppt", 1},
        {"better urn:sc", "urn:sc urn:mfa", 0}, /* nothing above the top */
    };
    run_table(rows, sizeof(rows) / sizeof(rows[0]));
}
END_TEST

START_TEST(maximum_table)
{
    static const row_t rows[] = {
        {"maximum urn:ppt", "urn:pw", 1},
        {"maximum urn:ppt", "urn:ppt", 1},
        {"maximum urn:ppt", "urn:x509", 0},
        {"maximum urn:ppt", "urn:kerb", 0},
        {"maximum urn:x509", "urn:mfa", 1},        /* tie counts */
        {"maximum urn:pw urn:x509", "urn:mfa", 1}, /* some r suffices */
        {"maximum urn:pw urn:x509", "urn:sc", 0},
        {"maximum urn:pw", "urn:sc urn:pw", 1}, /* some s suffices */
        {"maximum urn:pw", "", 0},
    };
    run_table(rows, sizeof(rows) / sizeof(rows[0]));
}
END_TEST

START_TEST(regex_and_negation_table)
{
    static const row_t rows[] = {
        {"~ urn:(x509|mfa)", "urn:mfa", 1},
        {"~ urn:(x509|mfa)", "urn:pw urn:x509", 1},
        {"~ urn:(x509|mfa)", "urn:mfa2", 0}, /* anchored at the end */
        {"~ urn:(x509|mfa)", "xurn:mfa", 0}, /* and at the start */
        {"~ urn:.*", "urn:anything", 1},
        {"~ urn:.*", "", 0},
        {"~ a|urn:pw", "urn:pw", 1}, /* ^(a|b)$, not ^a|b$ */
        {"~ a|urn:pw", "xa", 0},
        {"! ~ urn:pw", "urn:pw", 0},
        {"! ~ urn:pw", "urn:ppt", 1},
        {"!~ urn:pw", "urn:ppt", 1},
        {"!urn:pw", "urn:pw", 0},
        {"!urn:pw", "urn:sc", 1},
        {"! exact urn:pw urn:ppt", "urn:ppt", 0},
        {"!minimum urn:x509", "urn:sc", 0},
        {"!minimum urn:x509", "urn:pw", 1},
        {"! better urn:ppt", "urn:mfa", 0},
        {"! maximum urn:ppt", "urn:sc", 1},
        /* no class at all (only an AuthnContextDeclRef): a negated rule
         * is no grant either (fail safe, issue 11 item 4) */
        {"!urn:pw", "", 0},
        {"! urn:pw", "", 0},
        {"! ~ urn:pw", "", 0},
        {"!minimum urn:x509", "", 0},
        {"! better urn:ppt", "", 0},
        {"! maximum urn:ppt", "", 0},
    };
    run_table(rows, sizeof(rows) / sizeof(rows[0]));
}
END_TEST

START_TEST(parse_errors)
{
    anc_vocab_t *v = ladder();
    anc_class_rule_t *rule = NULL;
    static const char *const bad[] = {
        "minimum urn:kerb", /* unranked under an ordering */
        "better urn:ppt urn:kerb",
        "maximum urn:otp",
        "minimum", /* no URI */
        "exact",
        "!",
        "~",
        "~ (unclosed",
        "~ a b", /* one regex only */
        "! ~",
    };
    size_t i;
    anc_comparison_t cmp = ANC_CMP_EXACT;
    anc_error_t *err = NULL;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(parse(v, bad[i], &rule) == ANC_E_CONFIG, "'%s' accepted", bad[i]);
    }
    ck_assert_int_eq(anc_class_rule_parse(pool, v, 0, NULL, &rule, &err), ANC_E_CONFIG);

    /* exact accepts unranked classes; the comparison word is recognised. */
    ck_assert_int_eq(parse(v, "exact urn:kerb urn:otp", &rule), ANC_OK);
    ck_assert_int_eq(anc_class_rule_comparison(rule), ANC_CMP_EXACT);
    ck_assert_int_eq(anc_class_rule_classes(rule)->nelts, 2);
    ck_assert_int_eq(parse(v, "better urn:pw urn:ppt", &rule), ANC_OK);
    ck_assert_int_eq(anc_class_rule_comparison(rule), ANC_CMP_BETTER);
    ck_assert_str_eq(APR_ARRAY_IDX(anc_class_rule_classes(rule), 1, const char *),
                     "urn:ppt");
    ck_assert_int_eq(anc_class_rule_negated(rule), 0);
    ck_assert_int_eq(parse(v, "~ urn:.*", &rule), ANC_OK);
    ck_assert_ptr_null(anc_class_rule_classes(rule));
    ck_assert_int_eq(parse(v, "! ~ urn:.*", &rule), ANC_OK);
    ck_assert_int_eq(anc_class_rule_negated(rule), 1);
    ck_assert_int_eq(parse(v, "!maximum urn:pw", &rule), ANC_OK);
    ck_assert_int_eq(anc_class_rule_negated(rule), 1);
    ck_assert_int_eq(anc_class_rule_comparison(rule), ANC_CMP_MAXIMUM);

    ck_assert_int_eq(anc_comparison_parse("maximum", &cmp), ANC_OK);
    ck_assert_int_eq(cmp, ANC_CMP_MAXIMUM);
    ck_assert_int_eq(anc_comparison_parse("Maximum", &cmp), ANC_E_CONFIG);
    ck_assert_int_eq(anc_comparison_parse(NULL, &cmp), ANC_E_CONFIG);
    ck_assert_str_eq(anc_comparison_name(ANC_CMP_BETTER), "better");

    /* vocabulary errors */
    ck_assert_int_eq(anc_vocab_add_level(v, 2, "urn:pw", &err), ANC_E_CONFIG);
    ck_assert_int_eq(anc_vocab_add_level(v, 1, "urn:pw", &err), ANC_OK);
    ck_assert_int_eq(anc_vocab_add_alias(v, "urn:a", "urn:a", &err), ANC_E_CONFIG);
    ck_assert_int_eq(anc_vocab_add_alias(v, "", "urn:a", &err), ANC_E_CONFIG);
}
END_TEST

START_TEST(rule_make_matches_parse)
{
    anc_vocab_t *v = ladder();
    anc_class_rule_t *made = NULL;
    anc_error_t *err = NULL;

    ck_assert_int_eq(
        anc_class_rule_make(pool, v, ANC_CMP_MINIMUM, words("urn:x509"), &made, &err),
        ANC_OK);
    ck_assert_int_eq(anc_class_rule_eval(made, v, words("urn:mfa")), 1);
    ck_assert_int_eq(anc_class_rule_eval(made, v, words("urn:ppt")), 0);
    ck_assert_int_eq(
        anc_class_rule_make(pool, v, ANC_CMP_BETTER, words("urn:kerb"), &made, &err),
        ANC_E_CONFIG);
    ck_assert_int_eq(anc_class_rule_make(pool, v, ANC_CMP_EXACT,
                                         apr_array_make(pool, 1, sizeof(char *)), &made,
                                         &err),
                     ANC_E_CONFIG);
    ck_assert_int_eq(anc_class_rule_eval(NULL, v, words("urn:mfa")), 0);
}
END_TEST

static anc_attribute_t *push_attr(apr_array_header_t *attrs, const char *name,
                                  const char *values_bar_separated)
{
    anc_attribute_t *a = apr_array_push(attrs);
    char *copy = apr_pstrdup(pool, values_bar_separated);
    char *last = NULL;
    char *tok;

    memset(a, 0, sizeof(*a));
    a->name = name;
    a->values = apr_array_make(pool, 2, sizeof(const char *));
    for (tok = apr_strtok(copy, "|", &last); tok != NULL;
         tok = apr_strtok(NULL, "|", &last)) {
        APR_ARRAY_PUSH(a->values, const char *) = tok;
    }
    return a;
}

static void assert_set(const apr_array_header_t *got, const char *want_spaced)
{
    apr_array_header_t *want = words(want_spaced);
    int i;

    ck_assert_msg(got->nelts == want->nelts, "set has %d classes, want %d (%s)",
                  got->nelts, want->nelts, want_spaced);
    for (i = 0; i < want->nelts; i++) {
        ck_assert_str_eq(APR_ARRAY_IDX(got, i, const char *),
                         APR_ARRAY_IDX(want, i, const char *));
    }
}

#define MS_MFA "http://schemas.microsoft.com/claims/multipleauthn"
#define MS_PWD                                                                           \
    "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password"
#define REFEDS_MFA "https://refeds.org/profile/mfa"
#define AMR "http://schemas.microsoft.com/claims/authnmethodsreferences"
#define PPT "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"

START_TEST(session_classes_statements_attributes_aliases)
{
    anc_vocab_t *v = anc_vocab_create(pool);
    anc_assertion_t a;
    apr_array_header_t *attr_names = words(AMR " urn:other");
    apr_array_header_t *set;
    anc_class_rule_t *rule = NULL;
    anc_error_t *err = NULL;

    ck_assert_int_eq(anc_vocab_add_level(v, 1, PPT, &err), ANC_OK);
    ck_assert_int_eq(anc_vocab_add_level(v, 3, REFEDS_MFA, &err), ANC_OK);
    ck_assert_int_eq(anc_vocab_add_alias(v, MS_MFA, REFEDS_MFA, &err), ANC_OK);
    /* Not transitive: refeds mfa -> urn:chained must not follow from MS_MFA. */
    ck_assert_int_eq(anc_vocab_add_alias(v, REFEDS_MFA, "urn:chained", &err), ANC_OK);
    ck_assert_int_eq(anc_vocab_add_alias(v, PPT, "urn:ppt-alias", &err), ANC_OK);

    memset(&a, 0, sizeof(a));
    /* Two AuthnStatements, one class repeated. */
    a.authn_context_class_refs = words(PPT " urn:second " PPT);
    a.attributes = apr_array_make(pool, 3, sizeof(anc_attribute_t));
    push_attr(a.attributes, "urn:ignored", "urn:not-a-class");
    /* Entra sends the factor and the generic flag; values are whole text
     * content, so whitespace around them is trimmed. */
    push_attr(a.attributes, AMR, MS_PWD "| " MS_MFA "\n|" PPT "| \t");
    push_attr(a.attributes, "urn:other", "urn:o1");

    set = anc_policy_session_classes(pool, v, &a, attr_names);
    assert_set(set,
               PPT " urn:second " MS_PWD " " MS_MFA " urn:o1 urn:ppt-alias " REFEDS_MFA);

    /* Alias makes the MFA location open; the class itself was never sent. */
    ck_assert_int_eq(parse(v, "exact " REFEDS_MFA, &rule), ANC_OK);
    ck_assert_int_eq(anc_class_rule_eval(rule, v, set), 1);
    ck_assert_int_eq(parse(v, "minimum " REFEDS_MFA, &rule), ANC_OK);
    ck_assert_int_eq(anc_class_rule_eval(rule, v, set), 1);
    ck_assert_int_eq(parse(v, "exact urn:chained", &rule), ANC_OK);
    ck_assert_int_eq(anc_class_rule_eval(rule, v, set), 0);

    /* Without class attributes: only statements and their aliases. */
    set = anc_policy_session_classes(pool, v, &a, NULL);
    assert_set(set, PPT " urn:second urn:ppt-alias");
    ck_assert_int_eq(parse(v, "exact " REFEDS_MFA, &rule), ANC_OK);
    ck_assert_int_eq(anc_class_rule_eval(rule, v, set), 0);

    /* A directly received REFEDS MFA gets the chained alias (one step). */
    a.authn_context_class_refs = words(REFEDS_MFA);
    a.attributes = NULL;
    set = anc_policy_session_classes(pool, v, &a, attr_names);
    assert_set(set, REFEDS_MFA " urn:chained");

    ck_assert_int_eq(anc_policy_session_classes(pool, v, NULL, NULL)->nelts, 0);
}
END_TEST

/* A class value with white space inside would make AUTHN_CONTEXT_CLASS
 * (classes joined with a space) read as several classes: "pwd
 * https://refeds.org/profile/mfa" is one value, not MFA, but an application
 * splitting the variable would see MFA. Such attribute values are left out
 * of the class set and listed for the log (issue 11 item 5). */
START_TEST(class_values_with_space_left_out)
{
    anc_vocab_t *v = anc_vocab_create(pool);
    anc_assertion_t a;
    apr_array_header_t *attr_names = words(AMR);
    apr_array_header_t *set, *refused;
    anc_class_rule_t *rule = NULL;
    anc_error_t *err = NULL;

    memset(&a, 0, sizeof(a));
    a.authn_context_class_refs = words(PPT);
    a.attributes = apr_array_make(pool, 1, sizeof(anc_attribute_t));
    /* values: one with an inner space, a tab, a NBSP, a line separator, a
     * C1 control, a plain one with white space around it (trimmed, kept) */
    push_attr(a.attributes, AMR,
              "pwd " REFEDS_MFA "|urn:a\tb|urn:nb\xc2\xa0sp|urn:ls\xe2\x80\xa8x|"
              "urn:c1\xc2\x85x| urn:kept\n");
    set = anc_policy_session_classes(pool, v, &a, attr_names);
    assert_set(set, PPT " urn:kept");
    refused = anc_policy_refused_class_values(pool, &a, attr_names);
    ck_assert_ptr_nonnull(refused);
    ck_assert_int_eq(refused->nelts, 5);
    ck_assert_str_eq(APR_ARRAY_IDX(refused, 0, const char *), "pwd " REFEDS_MFA);
    ck_assert_ptr_null(anc_policy_refused_class_values(pool, &a, NULL));
    /* the MFA location stays closed, however the variable is split */
    ck_assert_int_eq(parse(v, "exact " REFEDS_MFA, &rule), ANC_OK);
    ck_assert_int_eq(anc_class_rule_eval(rule, v, set), 0);

    /* an alias whose class holds white space would put one in the set */
    ck_assert_int_eq(anc_vocab_add_alias(v, "urn:a", "urn:b c", &err), ANC_E_CONFIG);
    ck_assert_int_eq(anc_vocab_add_alias(v, "urn:a b", "urn:c", &err), ANC_E_CONFIG);
    ck_assert_int_eq(anc_vocab_add_alias(v, "urn:a", "urn:c", &err), ANC_OK);
}
END_TEST

START_TEST(freshness)
{
    apr_time_t now = apr_time_from_sec(1700000000);

    ck_assert_int_eq(anc_policy_fresh(now - apr_time_from_sec(100), 100, now, 0), 1);
    ck_assert_int_eq(anc_policy_fresh(now - apr_time_from_sec(101), 100, now, 0), 0);
    ck_assert_int_eq(anc_policy_fresh(now - apr_time_from_sec(101), 100, now, 180), 0);
    ck_assert_int_eq(anc_policy_fresh(now, 1, now, 0), 1);
    ck_assert_int_eq(anc_policy_fresh(now + apr_time_from_sec(30), 100, now, 30), 1);
    ck_assert_int_eq(anc_policy_fresh(now + apr_time_from_sec(31), 100, now, 30), 0);
    ck_assert_int_eq(anc_policy_fresh(now + apr_time_from_sec(31), 0, now, 30), 0);
    ck_assert_int_eq(anc_policy_fresh(now - apr_time_from_sec(99999), 0, now, 0), 1);
    ck_assert_int_eq(anc_policy_fresh(0, 100, now, 0), 0);
}
END_TEST

/* Pairs "class@seconds-ago ..." (class "-" = a statement without one). */
static apr_array_header_t *pairs(const char *spec, apr_time_t now)
{
    apr_array_header_t *w = words(spec);
    apr_array_header_t *out = apr_array_make(pool, 4, sizeof(anc_class_instant_t));
    int i;

    for (i = 0; i < w->nelts; i++) {
        char *one = apr_pstrdup(pool, APR_ARRAY_IDX(w, i, const char *));
        char *at = strchr(one, '@');
        anc_class_instant_t *ci = apr_array_push(out);

        ck_assert_ptr_nonnull(at);
        *at = '\0';
        ci->class_ref = strcmp(one, "-") == 0 ? NULL : one;
        ci->instant = now - apr_time_from_sec(atoi(at + 1));
    }
    return out;
}

/* Issue 11 item 3: the instant freshness is judged on. */
START_TEST(fresh_instant_per_statement)
{
    static const struct {
        const char *rule; /* NULL = no class rule */
        const char *statements;
        int age; /* seconds before now of the instant expected */
    } rows[] = {
        /* the review's case, both orders: the MFA statement counts */
        {"exact urn:mfa", "urn:ppt@5 urn:mfa@259200", 259200},
        {"exact urn:mfa", "urn:mfa@259200 urn:ppt@5", 259200},
        /* the other way round: a fresh MFA is judged fresh */
        {"exact urn:mfa", "urn:mfa@5 urn:ppt@259200", 5},
        {"exact urn:mfa", "urn:ppt@259200 urn:mfa@5", 5},
        /* several statements satisfy: the oldest of them (fail safe) */
        {"exact urn:mfa", "urn:mfa@5 urn:ppt@9 urn:mfa@600", 600},
        {"exact urn:mfa urn:sc", "urn:sc@50 urn:ppt@9 urn:mfa@7", 50},
        /* levels: a statement satisfies by its own level */
        {"minimum urn:x509", "urn:pw@1 urn:sc@100 urn:ppt@2", 100},
        {"minimum urn:x509", "urn:pw@1 urn:sc@100 urn:mfa@300", 300},
        {"better urn:ppt", "urn:ppt@1 urn:x509@70", 70},
        {"maximum urn:ppt", "urn:sc@1 urn:pw@40 urn:ppt@30", 40},
        /* regex and negation judge each statement's class alone */
        {"~ urn:m.*", "urn:ppt@1 urn:mfa@80", 80},
        {"! urn:ppt", "urn:ppt@1 urn:kerb@90", 90},
        /* no statement's own class satisfies (the rule is met through an
         * attribute or an alias, or not at all): the oldest of all */
        {"exact urn:mfa", "urn:ppt@5 urn:kerb@700", 700},
        {"exact urn:mfa", "-@800 urn:ppt@5", 800},
        /* no rule: the oldest of all, a statement without a class too */
        {NULL, "urn:mfa@5 urn:ppt@259200", 259200},
        {NULL, "urn:ppt@5 -@900 urn:mfa@7", 900},
        {NULL, "urn:ppt@5", 5},
        /* a statement without a class never satisfies a rule */
        {"! urn:ppt", "-@1000 urn:kerb@10", 10},
    };
    anc_vocab_t *v = ladder();
    apr_time_t now = apr_time_from_sec(1700000000);
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        anc_class_rule_t *rule = NULL;
        apr_time_t got;

        if (rows[i].rule != NULL) {
            ck_assert_int_eq(parse(v, rows[i].rule, &rule), ANC_OK);
        }
        got = anc_policy_fresh_instant(rule, v, pairs(rows[i].statements, now));
        ck_assert_msg(got == now - apr_time_from_sec(rows[i].age),
                      "row %u (%s | %s): got %ld s before now, want %d", (unsigned)i,
                      rows[i].rule ? rows[i].rule : "-", rows[i].statements,
                      (long)apr_time_sec(now - got), rows[i].age);
    }
    /* nothing known: 0, which is never fresh under a limit */
    ck_assert(anc_policy_fresh_instant(NULL, v, NULL) == 0);
    ck_assert(anc_policy_fresh_instant(NULL, v, pairs("", now)) == 0);
    ck_assert_int_eq(
        anc_policy_fresh(anc_policy_fresh_instant(NULL, v, NULL), 300, now, 0), 0);
}
END_TEST

START_TEST(class_instants_of_an_assertion)
{
    anc_assertion_t a;
    anc_authn_statement_t *st;
    apr_array_header_t *ci;
    const anc_class_instant_t *x;

    memset(&a, 0, sizeof(a));
    ck_assert_int_eq(anc_policy_class_instants(pool, NULL)->nelts, 0);
    ck_assert_int_eq(anc_policy_class_instants(pool, &a)->nelts, 0);
    a.authn_statements = apr_array_make(pool, 3, sizeof(anc_authn_statement_t));
    st = apr_array_push(a.authn_statements);
    memset(st, 0, sizeof(*st));
    st->class_refs = words("urn:ppt");
    st->authn_instant = 100;
    st = apr_array_push(a.authn_statements);
    memset(st, 0, sizeof(*st));
    st->class_refs = words(""); /* DeclRef only */
    st->authn_instant = 200;
    st = apr_array_push(a.authn_statements);
    memset(st, 0, sizeof(*st));
    st->class_refs = words("urn:mfa urn:x509"); /* not schema-valid, but kept */
    st->authn_instant = 300;
    ci = anc_policy_class_instants(pool, &a);
    ck_assert_int_eq(ci->nelts, 4);
    x = &APR_ARRAY_IDX(ci, 0, anc_class_instant_t);
    ck_assert_str_eq(x->class_ref, "urn:ppt");
    ck_assert(x->instant == 100);
    x = &APR_ARRAY_IDX(ci, 1, anc_class_instant_t);
    ck_assert_ptr_null(x->class_ref);
    ck_assert(x->instant == 200);
    x = &APR_ARRAY_IDX(ci, 2, anc_class_instant_t);
    ck_assert_str_eq(x->class_ref, "urn:mfa");
    ck_assert(x->instant == 300);
    x = &APR_ARRAY_IDX(ci, 3, anc_class_instant_t);
    ck_assert_str_eq(x->class_ref, "urn:x509");
    ck_assert(x->instant == 300);
}
END_TEST

/* ---- randomized property test ------------------------------------------ */

#define UNIVERSE 10

/* xorshift64*: deterministic for a printed seed, independent of libc. */
static apr_uint64_t rng_state;
static apr_uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}
static int rnd_below(int n)
{
    return (int)(rnd() % (apr_uint64_t)n);
}

/* Brute force straight from the definitions in SAML core 3.3.2.2.1 as the
 * header states them, over class indexes and a level table (-1 =
 * unranked). */
static int reference(anc_comparison_t cmp, const int *lvl, const int *s, int ns,
                     const int *r, int nr)
{
    int i, j, all;

    for (i = 0; i < ns; i++) {
        if (cmp == ANC_CMP_BETTER) {
            if (lvl[s[i]] < 0) {
                continue;
            }
            all = 1;
            for (j = 0; j < nr; j++) {
                all = all && lvl[r[j]] >= 0 && lvl[s[i]] > lvl[r[j]];
            }
            if (all) {
                return 1;
            }
            continue;
        }
        for (j = 0; j < nr; j++) {
            if (s[i] == r[j]) {
                return 1;
            }
            if (lvl[s[i]] < 0 || lvl[r[j]] < 0) {
                continue;
            }
            if (cmp == ANC_CMP_MINIMUM && lvl[s[i]] >= lvl[r[j]]) {
                return 1;
            }
            if (cmp == ANC_CMP_MAXIMUM && lvl[s[i]] <= lvl[r[j]]) {
                return 1;
            }
        }
    }
    return 0;
}

START_TEST(randomized_against_reference)
{
    const char *seed_env = getenv("ANC_TEST_SEED");
    apr_uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10) : 20261123ULL;
    const char *names[UNIVERSE];
    int iter, i, checked = 0, granted = 0;

    printf("test_policy: randomized property test, seed %llu (set ANC_TEST_SEED)\n",
           (unsigned long long)seed);
    fflush(stdout);
    rng_state = seed ? seed : 1;
    for (i = 0; i < UNIVERSE; i++) {
        names[i] = apr_psprintf(pool, "urn:c%d", i);
    }
    for (iter = 0; iter < 4000; iter++) {
        apr_pool_t *it;
        anc_vocab_t *v;
        int lvl[UNIVERSE], s[UNIVERSE], r[UNIVERSE], ranked[UNIVERSE];
        int ns = 0, nr = 0, nranked = 0, c;
        apr_array_header_t *sarr, *rarr;
        anc_comparison_t cmp = (anc_comparison_t)rnd_below(4);
        anc_class_rule_t *rule = NULL, *neg = NULL;
        const char **argv;
        int got, want, k;

        apr_pool_create(&it, pool);
        v = anc_vocab_create(it);
        for (c = 0; c < UNIVERSE; c++) {
            /* ~70% ranked, levels 0..3 so ties are frequent */
            lvl[c] = rnd_below(10) < 7 ? rnd_below(4) : -1;
            if (lvl[c] >= 0) {
                ck_assert_int_eq(anc_vocab_add_level(v, lvl[c], names[c], NULL), ANC_OK);
                ranked[nranked++] = c;
            }
        }
        if (cmp != ANC_CMP_EXACT && nranked == 0) {
            apr_pool_destroy(it);
            continue;
        }
        /* R: 1..4 distinct classes, ranked ones only under an ordering */
        k = 1 + rnd_below(4);
        for (i = 0; i < k; i++) {
            int pick =
                cmp == ANC_CMP_EXACT ? rnd_below(UNIVERSE) : ranked[rnd_below(nranked)];
            int dup = 0, j;

            for (j = 0; j < nr; j++) {
                dup |= r[j] == pick;
            }
            if (!dup) {
                r[nr++] = pick;
            }
        }
        /* S: 0..5 distinct classes from the whole universe */
        k = rnd_below(6);
        for (i = 0; i < k; i++) {
            int pick = rnd_below(UNIVERSE), dup = 0, j;

            for (j = 0; j < ns; j++) {
                dup |= s[j] == pick;
            }
            if (!dup) {
                s[ns++] = pick;
            }
        }
        sarr = apr_array_make(it, ns + 1, sizeof(const char *));
        for (i = 0; i < ns; i++) {
            APR_ARRAY_PUSH(sarr, const char *) = names[s[i]];
        }
        rarr = apr_array_make(it, nr + 1, sizeof(const char *));
        for (i = 0; i < nr; i++) {
            APR_ARRAY_PUSH(rarr, const char *) = names[r[i]];
        }
        /* through the parser (as httpd.conf words), with and without '!' */
        argv = apr_pcalloc(it, sizeof(char *) * (size_t)(nr + 2));
        argv[0] = anc_comparison_name(cmp);
        for (i = 0; i < nr; i++) {
            argv[i + 1] = names[r[i]];
        }
        ck_assert_int_eq(anc_class_rule_parse(it, v, nr + 1, argv, &rule, NULL), ANC_OK);
        argv[0] = apr_pstrcat(it, "!", anc_comparison_name(cmp), NULL);
        ck_assert_int_eq(anc_class_rule_parse(it, v, nr + 1, argv, &neg, NULL), ANC_OK);

        want = reference(cmp, lvl, s, ns, r, nr);
        got = anc_class_rule_eval(rule, v, sarr);
        ck_assert_msg(got == want, "seed %llu iter %d: %s got %d want %d",
                      (unsigned long long)seed, iter, anc_comparison_name(cmp), got,
                      want);
        /* negation: the complement, except that no class is never a grant */
        ck_assert_int_eq(anc_class_rule_eval(neg, v, sarr), ns > 0 ? !want : 0);
        /* anc_class_rule_make agrees with the parser */
        ck_assert_int_eq(anc_class_rule_make(it, v, cmp, rarr, &rule, NULL), ANC_OK);
        ck_assert_int_eq(anc_class_rule_eval(rule, v, sarr), want);
        checked++;
        granted += want;
        apr_pool_destroy(it);
    }
    printf("test_policy: %d random cases checked, %d granted\n", checked, granted);
    /* the generator must exercise both outcomes, or the test proves little */
    ck_assert_int_gt(checked, 3000);
    ck_assert_int_gt(granted, checked / 10);
    ck_assert_int_lt(granted, checked - checked / 10);
}
END_TEST

static Suite *policy_suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, exact_table);
    tcase_add_test(tc, minimum_table);
    tcase_add_test(tc, better_table);
    tcase_add_test(tc, maximum_table);
    tcase_add_test(tc, regex_and_negation_table);
    tcase_add_test(tc, class_values_with_space_left_out);
    tcase_add_test(tc, parse_errors);
    tcase_add_test(tc, rule_make_matches_parse);
    tcase_add_test(tc, session_classes_statements_attributes_aliases);
    tcase_add_test(tc, freshness);
    tcase_add_test(tc, fresh_instant_per_statement);
    tcase_add_test(tc, class_instants_of_an_assertion);
    tcase_add_test(tc, randomized_against_reference);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return anc_test_run_suite(policy_suite());
}
