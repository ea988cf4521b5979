/*
 * anc_policy.c - authentication-context class policy: the vocabulary
 * (levels, aliases), the session class set, and rule evaluation.
 *
 * The comparisons follow SAML core 3.3.2.2.1 (RequestedAuthnContext), read
 * as an enforcement rule over the session's class set S and the listed
 * classes R:
 *   exact   - some s in S equals some r in R
 *   minimum - some s in S, some r in R with L(s) >= L(r)
 *   better  - some s in S with L(s) > L(r) for every r in R (strict)
 *   maximum - some s in S, some r in R with L(s) <= L(r)
 * A class without a level never takes part in an ordering: it satisfies a
 * rule only by being equal to a listed class (exact, minimum, maximum).
 */
#include <regex.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "anc_policy.h"
#include "anc_xml.h"

struct anc_vocab_t {
    apr_pool_t *pool;
    apr_hash_t *levels;          /* uri -> int * */
    apr_array_header_t *aliases; /* of anc_alias_t, configuration order */
};

typedef struct {
    const char *from;
    const char *to;
} anc_alias_t;

struct anc_class_rule_t {
    int negate;
    int is_regex;
    anc_comparison_t cmp;
    apr_array_header_t *classes; /* const char *; NULL for a regex rule */
    regex_t *re;                 /* compiled ^(REGEX)$ ; NULL otherwise */
};

static const char *const comparison_names[] = {
    [ANC_CMP_EXACT] = "exact",
    [ANC_CMP_MINIMUM] = "minimum",
    [ANC_CMP_BETTER] = "better",
    [ANC_CMP_MAXIMUM] = "maximum",
};

anc_status_t anc_comparison_parse(const char *word, anc_comparison_t *cmp)
{
    int i;

    if (word == NULL) {
        return ANC_E_CONFIG;
    }
    /* Case-sensitive, as the Comparison attribute's enumeration in the SAML
     * protocol schema is. */
    for (i = 0; i <= ANC_CMP_MAXIMUM; i++) {
        if (strcmp(word, comparison_names[i]) == 0) {
            *cmp = (anc_comparison_t)i;
            return ANC_OK;
        }
    }
    return ANC_E_CONFIG;
}

const char *anc_comparison_name(anc_comparison_t cmp)
{
    if ((int)cmp < 0 || cmp > ANC_CMP_MAXIMUM) {
        return "exact";
    }
    return comparison_names[cmp];
}

anc_vocab_t *anc_vocab_create(apr_pool_t *p)
{
    anc_vocab_t *v = apr_pcalloc(p, sizeof(*v));

    v->pool = p;
    v->levels = apr_hash_make(p);
    v->aliases = apr_array_make(p, 4, sizeof(anc_alias_t));
    return v;
}

anc_status_t anc_vocab_add_level(anc_vocab_t *v, int level, const char *uri,
                                 anc_error_t **err)
{
    int *old;
    int *slot;

    if (uri == NULL || *uri == '\0') {
        return anc_error_set(v->pool, err, ANC_E_CONFIG, "empty class URI");
    }
    old = apr_hash_get(v->levels, uri, APR_HASH_KEY_STRING);
    if (old != NULL) {
        if (*old == level) {
            return ANC_OK; /* repeated line: harmless */
        }
        return anc_error_set(v->pool, err, ANC_E_CONFIG,
                             "class %s already has level %d (not %d)", uri, *old, level);
    }
    slot = apr_palloc(v->pool, sizeof(*slot));
    *slot = level;
    apr_hash_set(v->levels, apr_pstrdup(v->pool, uri), APR_HASH_KEY_STRING, slot);
    return ANC_OK;
}

anc_status_t anc_vocab_add_alias(anc_vocab_t *v, const char *from, const char *to,
                                 anc_error_t **err)
{
    anc_alias_t *a;
    int i;

    if (from == NULL || to == NULL || *from == '\0' || *to == '\0') {
        return anc_error_set(v->pool, err, ANC_E_CONFIG, "empty class URI in alias");
    }
    if (anc_xml_has_space_or_control(from) || anc_xml_has_space_or_control(to)) {
        return anc_error_set(v->pool, err, ANC_E_CONFIG,
                             "a class URI in an alias holds white space or a control "
                             "character");
    }
    if (strcmp(from, to) == 0) {
        return anc_error_set(v->pool, err, ANC_E_CONFIG, "alias of %s to itself", from);
    }
    for (i = 0; i < v->aliases->nelts; i++) {
        a = &APR_ARRAY_IDX(v->aliases, i, anc_alias_t);
        if (strcmp(a->from, from) == 0 && strcmp(a->to, to) == 0) {
            return ANC_OK;
        }
    }
    a = apr_array_push(v->aliases);
    a->from = apr_pstrdup(v->pool, from);
    a->to = apr_pstrdup(v->pool, to);
    return ANC_OK;
}

int anc_vocab_level(const anc_vocab_t *v, const char *uri, int *level)
{
    const int *l;

    if (v == NULL || uri == NULL) {
        return 0;
    }
    l = apr_hash_get(v->levels, uri, APR_HASH_KEY_STRING);
    if (l == NULL) {
        return 0;
    }
    if (level != NULL) {
        *level = *l;
    }
    return 1;
}

static int array_has(const apr_array_header_t *arr, const char *s)
{
    int i;

    for (i = 0; i < arr->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(arr, i, const char *), s) == 0) {
            return 1;
        }
    }
    return 0;
}

static int is_xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Attribute values are whole text content; as class URIs (xs:anyURI) they
 * are compared after trimming XML whitespace (XML Schema 2, 3.2.17). */
static const char *trim_xml_space(apr_pool_t *p, const char *s)
{
    const char *end;

    while (is_xml_space(*s)) {
        s++;
    }
    end = s + strlen(s);
    while (end > s && is_xml_space(end[-1])) {
        end--;
    }
    return apr_pstrmemdup(p, s, (apr_size_t)(end - s));
}

static void add_unique(apr_array_header_t *set, const char *s)
{
    if (s != NULL && *s != '\0' && !array_has(set, s)) {
        APR_ARRAY_PUSH(set, const char *) = s;
    }
}

apr_array_header_t *anc_policy_session_classes(apr_pool_t *p, const anc_vocab_t *v,
                                               const anc_assertion_t *a,
                                               const apr_array_header_t *class_attributes)
{
    apr_array_header_t *set = apr_array_make(p, 4, sizeof(const char *));
    int direct;
    int i, j, k;

    if (a == NULL) {
        return set;
    }
    if (a->authn_context_class_refs != NULL) {
        for (i = 0; i < a->authn_context_class_refs->nelts; i++) {
            add_unique(set, APR_ARRAY_IDX(a->authn_context_class_refs, i, const char *));
        }
    }
    if (class_attributes != NULL && a->attributes != NULL) {
        for (i = 0; i < class_attributes->nelts; i++) {
            const char *want = APR_ARRAY_IDX(class_attributes, i, const char *);

            for (j = 0; j < a->attributes->nelts; j++) {
                const anc_attribute_t *at =
                    &APR_ARRAY_IDX(a->attributes, j, anc_attribute_t);

                if (at->name == NULL || strcmp(at->name, want) != 0 ||
                    at->values == NULL) {
                    continue;
                }
                for (k = 0; k < at->values->nelts; k++) {
                    const char *val = APR_ARRAY_IDX(at->values, k, const char *);

                    if (val != NULL) {
                        val = trim_xml_space(p, val);
                        /* see anc_policy_refused_class_values() */
                        if (!anc_xml_has_space_or_control(val)) {
                            add_unique(set, val);
                        }
                    }
                }
            }
        }
    }
    /* Aliases apply to received classes only (not to alias targets), so
     * they are not transitive: A->B, B->C gives {A, B} for a received A. */
    direct = set->nelts;
    if (v != NULL) {
        for (i = 0; i < direct; i++) {
            const char *c = APR_ARRAY_IDX(set, i, const char *);

            for (j = 0; j < v->aliases->nelts; j++) {
                const anc_alias_t *al = &APR_ARRAY_IDX(v->aliases, j, anc_alias_t);

                if (strcmp(al->from, c) == 0) {
                    add_unique(set, al->to);
                }
            }
        }
    }
    return set;
}

apr_array_header_t *
anc_policy_refused_class_values(apr_pool_t *p, const anc_assertion_t *a,
                                const apr_array_header_t *class_attributes)
{
    apr_array_header_t *out = NULL;
    int i, j, k;

    if (a == NULL || a->attributes == NULL || class_attributes == NULL) {
        return NULL;
    }
    for (i = 0; i < class_attributes->nelts; i++) {
        const char *want = APR_ARRAY_IDX(class_attributes, i, const char *);

        for (j = 0; j < a->attributes->nelts; j++) {
            const anc_attribute_t *at = &APR_ARRAY_IDX(a->attributes, j, anc_attribute_t);

            if (at->name == NULL || strcmp(at->name, want) != 0 || at->values == NULL) {
                continue;
            }
            for (k = 0; k < at->values->nelts; k++) {
                const char *val = APR_ARRAY_IDX(at->values, k, const char *);

                if (val == NULL) {
                    continue;
                }
                val = trim_xml_space(p, val);
                if (*val != '\0' && anc_xml_has_space_or_control(val)) {
                    if (out == NULL) {
                        out = apr_array_make(p, 1, sizeof(const char *));
                    }
                    APR_ARRAY_PUSH(out, const char *) = val;
                }
            }
        }
    }
    return out;
}

static apr_status_t regex_cleanup(void *data)
{
    regfree((regex_t *)data);
    return APR_SUCCESS;
}

/* The Shibboleth SP matches a `~` rule against the whole value; POSIX
 * regexec finds a substring, so the pattern is anchored as ^(REGEX)$. */
static anc_status_t compile_regex(apr_pool_t *p, const char *pattern, regex_t **out,
                                  anc_error_t **err)
{
    regex_t *re = apr_pcalloc(p, sizeof(*re));
    const char *anchored = apr_pstrcat(p, "^(", pattern, ")$", NULL);
    int rc;

    rc = regcomp(re, anchored, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[128];

        regerror(rc, re, msg, sizeof(msg));
        return anc_error_set(p, err, ANC_E_CONFIG, "bad regular expression '%s': %s",
                             pattern, msg);
    }
    apr_pool_cleanup_register(p, re, regex_cleanup, apr_pool_cleanup_null);
    *out = re;
    return ANC_OK;
}

anc_status_t anc_class_rule_make(apr_pool_t *p, const anc_vocab_t *v,
                                 anc_comparison_t cmp, const apr_array_header_t *classes,
                                 anc_class_rule_t **rule, anc_error_t **err)
{
    anc_class_rule_t *r;
    int i;

    if ((int)cmp < 0 || cmp > ANC_CMP_MAXIMUM) {
        return anc_error_set(p, err, ANC_E_CONFIG, "unknown comparison %d", (int)cmp);
    }
    if (classes == NULL || classes->nelts == 0) {
        return anc_error_set(p, err, ANC_E_CONFIG, "no authentication context class");
    }
    r = apr_pcalloc(p, sizeof(*r));
    r->cmp = cmp;
    r->classes = apr_array_make(p, classes->nelts, sizeof(const char *));
    for (i = 0; i < classes->nelts; i++) {
        const char *c = APR_ARRAY_IDX(classes, i, const char *);

        if (c == NULL || *c == '\0') {
            return anc_error_set(p, err, ANC_E_CONFIG, "empty class URI");
        }
        /* An ordering over an unranked class has no meaning; refusing it at
         * configuration time keeps a typo from silently denying (or, for
         * maximum, from granting) everything. */
        if (cmp != ANC_CMP_EXACT && !anc_vocab_level(v, c, NULL)) {
            return anc_error_set(p, err, ANC_E_CONFIG,
                                 "class %s has no AuthnContextClassLevel, so '%s' "
                                 "cannot compare it",
                                 c, comparison_names[cmp]);
        }
        APR_ARRAY_PUSH(r->classes, const char *) = apr_pstrdup(p, c);
    }
    *rule = r;
    return ANC_OK;
}

anc_status_t anc_class_rule_parse(apr_pool_t *p, const anc_vocab_t *v, int argc,
                                  const char *const *argv, anc_class_rule_t **rule,
                                  anc_error_t **err)
{
    anc_class_rule_t *r;
    anc_comparison_t cmp = ANC_CMP_EXACT;
    apr_array_header_t *classes;
    int negate = 0;
    int i = 0;
    const char *first;
    anc_status_t rc;

    if (argc <= 0 || argv == NULL) {
        return anc_error_set(p, err, ANC_E_CONFIG, "no authentication context class");
    }
    first = argv[0];
    /* `!` negates the whole rule, as a word of its own or glued to the
     * first word (`!~`, `!minimum`, `!URI`), as the Shibboleth SP accepts. */
    if (first != NULL && first[0] == '!') {
        negate = 1;
        if (first[1] == '\0') {
            i = 1;
            first = i < argc ? argv[i] : NULL;
        } else {
            first = first + 1;
        }
    }
    if (first == NULL) {
        return anc_error_set(p, err, ANC_E_CONFIG, "nothing after '!'");
    }
    if (strcmp(first, "~") == 0) {
        r = apr_pcalloc(p, sizeof(*r));
        if (argc - i != 2) {
            return anc_error_set(p, err, ANC_E_CONFIG,
                                 "'~' takes exactly one regular expression "
                                 "(quote it if it has spaces)");
        }
        rc = compile_regex(p, argv[i + 1], &r->re, err);
        if (rc != ANC_OK) {
            return rc;
        }
        r->negate = negate;
        r->is_regex = 1;
        r->cmp = ANC_CMP_EXACT;
        *rule = r;
        return ANC_OK;
    }
    classes = apr_array_make(p, argc, sizeof(const char *));
    if (anc_comparison_parse(first, &cmp) != ANC_OK) {
        cmp = ANC_CMP_EXACT;
        APR_ARRAY_PUSH(classes, const char *) = first;
    }
    for (i = i + 1; i < argc; i++) {
        if (argv[i] == NULL) {
            return anc_error_set(p, err, ANC_E_CONFIG, "empty class URI");
        }
        APR_ARRAY_PUSH(classes, const char *) = argv[i];
    }
    rc = anc_class_rule_make(p, v, cmp, classes, &r, err);
    if (rc != ANC_OK) {
        return rc;
    }
    r->negate = negate;
    *rule = r;
    return ANC_OK;
}

static int eval_listed(const anc_class_rule_t *rule, const anc_vocab_t *v,
                       const apr_array_header_t *s)
{
    const apr_array_header_t *req = rule->classes;
    int i, j, ls, lr;

    for (i = 0; i < s->nelts; i++) {
        const char *sc = APR_ARRAY_IDX(s, i, const char *);
        int s_ranked;

        if (sc == NULL) {
            continue;
        }
        s_ranked = anc_vocab_level(v, sc, &ls);
        if (rule->cmp == ANC_CMP_BETTER) {
            /* Strict reading of "better than any": stronger than every
             * listed class. An unranked listed class cannot be beaten. */
            int beats_all = s_ranked;

            for (j = 0; beats_all && j < req->nelts; j++) {
                const char *rc = APR_ARRAY_IDX(req, j, const char *);

                if (!anc_vocab_level(v, rc, &lr) || !(ls > lr)) {
                    beats_all = 0;
                }
            }
            if (beats_all) {
                return 1;
            }
            continue;
        }
        for (j = 0; j < req->nelts; j++) {
            const char *rc = APR_ARRAY_IDX(req, j, const char *);

            if (strcmp(sc, rc) == 0) {
                return 1; /* equal satisfies exact, minimum and maximum */
            }
            if (rule->cmp == ANC_CMP_EXACT || !s_ranked || !anc_vocab_level(v, rc, &lr)) {
                continue;
            }
            if (rule->cmp == ANC_CMP_MINIMUM && ls >= lr) {
                return 1;
            }
            if (rule->cmp == ANC_CMP_MAXIMUM && ls <= lr) {
                return 1;
            }
        }
    }
    return 0;
}

static int eval_regex(const anc_class_rule_t *rule, const apr_array_header_t *s)
{
    int i;

    for (i = 0; i < s->nelts; i++) {
        const char *sc = APR_ARRAY_IDX(s, i, const char *);

        if (sc != NULL && regexec(rule->re, sc, 0, NULL, 0) == 0) {
            return 1;
        }
    }
    return 0;
}

int anc_class_rule_eval(const anc_class_rule_t *rule, const anc_vocab_t *v,
                        const apr_array_header_t *session_classes)
{
    int ok = 0;

    if (rule == NULL) {
        return 0; /* fail closed */
    }
    if (session_classes == NULL || session_classes->nelts == 0) {
        /* Nothing to judge: "not X" is no grant for a session without any
         * class (an assertion with only an AuthnContextDeclRef), which
         * proves nothing about how the user signed in. Fail safe. */
        return 0;
    }
    ok = rule->is_regex ? eval_regex(rule, session_classes)
                        : eval_listed(rule, v, session_classes);
    return rule->negate ? !ok : ok;
}

anc_comparison_t anc_class_rule_comparison(const anc_class_rule_t *rule)
{
    return rule->cmp;
}

const apr_array_header_t *anc_class_rule_classes(const anc_class_rule_t *rule)
{
    return rule->is_regex ? NULL : rule->classes;
}

int anc_class_rule_negated(const anc_class_rule_t *rule)
{
    return rule->negate;
}

int anc_policy_fresh(apr_time_t authn_instant, int max_age, apr_time_t now,
                     int clock_skew)
{
    if (clock_skew < 0) {
        clock_skew = 0;
    }
    /* An authentication claimed to lie further in the future than the
     * allowed skew is not trusted as fresh (SAML core 2.7.2 AuthnInstant is
     * a past instant). */
    if (authn_instant > now + apr_time_from_sec((apr_time_t)clock_skew)) {
        return 0;
    }
    if (max_age <= 0) {
        return 1; /* no freshness requirement */
    }
    if (authn_instant <= 0) {
        return 0; /* unknown instant cannot prove freshness */
    }
    return now - authn_instant <= apr_time_from_sec((apr_time_t)max_age);
}

apr_array_header_t *anc_policy_class_instants(apr_pool_t *p, const anc_assertion_t *a)
{
    apr_array_header_t *out = apr_array_make(p, 2, sizeof(anc_class_instant_t));
    int i, j;

    if (a == NULL || a->authn_statements == NULL) {
        return out;
    }
    for (i = 0; i < a->authn_statements->nelts; i++) {
        const anc_authn_statement_t *st =
            &APR_ARRAY_IDX(a->authn_statements, i, anc_authn_statement_t);
        int n = st->class_refs != NULL ? st->class_refs->nelts : 0;
        anc_class_instant_t *ci;

        for (j = 0; j < n; j++) {
            ci = apr_array_push(out);
            ci->class_ref = APR_ARRAY_IDX(st->class_refs, j, const char *);
            ci->instant = st->authn_instant;
        }
        if (n == 0) {
            ci = apr_array_push(out);
            ci->class_ref = NULL;
            ci->instant = st->authn_instant;
        }
    }
    return out;
}

apr_time_t anc_policy_fresh_instant(const anc_class_rule_t *rule, const anc_vocab_t *v,
                                    const apr_array_header_t *class_instants)
{
    apr_time_t oldest = 0, oldest_match = 0;
    int any = 0, matched = 0;
    int i;

    if (class_instants == NULL) {
        return 0;
    }
    for (i = 0; i < class_instants->nelts; i++) {
        const anc_class_instant_t *ci =
            &APR_ARRAY_IDX(class_instants, i, anc_class_instant_t);

        if (!any || ci->instant < oldest) {
            oldest = ci->instant;
        }
        any = 1;
        if (rule != NULL && ci->class_ref != NULL) {
            /* the statement's own class alone, not the session's set: an
             * alias target or an attribute's class is not this statement's */
            const char *one_class = ci->class_ref;
            apr_array_header_t one = {NULL, (int)sizeof(const char *), 1, 1,
                                      (char *)&one_class};

            if (anc_class_rule_eval(rule, v, &one) &&
                (!matched || ci->instant < oldest_match)) {
                oldest_match = ci->instant;
                matched = 1;
            }
        }
    }
    return matched ? oldest_match : oldest;
}
