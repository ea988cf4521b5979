/*
 * anc_policy.h - authentication-context class policy.
 *
 * A vocabulary (levels and aliases, server-wide, read-only after config)
 * and rules (one per Require line or AuthnContextRequest) evaluated against
 * a session's class set. The comparisons are those of SAML core 3.3.2.2.1:
 *   exact   - S and R share a class
 *   minimum - some s in S, some r in R: L(s) >= L(r)
 *   better  - some s in S is stronger than every r in R (strict reading)
 *   maximum - some s in S, some r in R: L(s) <= L(r)
 * Unranked classes only ever match exactly (a session class without a
 * level never satisfies minimum/better/maximum except by being equal to a
 * listed class under minimum/maximum). Aliases are not transitive.
 */
#ifndef ANC_POLICY_H
#define ANC_POLICY_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "anc_error.h"
#include "anc_response.h"

typedef enum {
    ANC_CMP_EXACT = 0,
    ANC_CMP_MINIMUM,
    ANC_CMP_BETTER,
    ANC_CMP_MAXIMUM
} anc_comparison_t;

/* "exact", "minimum", "better", "maximum" -> *cmp. Errors: ANC_E_CONFIG. */
anc_status_t anc_comparison_parse(const char *word, anc_comparison_t *cmp);
const char *anc_comparison_name(anc_comparison_t cmp);

typedef struct anc_vocab_t anc_vocab_t;

anc_vocab_t *anc_vocab_create(apr_pool_t *p);
/* Ranks uri at level (higher is stronger). Errors: ANC_E_CONFIG when uri
 * already has another level. */
anc_status_t anc_vocab_add_level(anc_vocab_t *v, int level, const char *uri,
                                 anc_error_t **err);
/* A received `from` also counts as `to`. Errors: ANC_E_CONFIG (from == to,
 * white space or a control character in either). */
anc_status_t anc_vocab_add_alias(anc_vocab_t *v, const char *from, const char *to,
                                 anc_error_t **err);
/* Returns 1 and sets *level when uri is ranked, else 0. */
int anc_vocab_level(const anc_vocab_t *v, const char *uri, int *level);

/* The session class set: every AuthnStatement's ClassRef (document order),
 * then the values of the attributes named in class_attributes (array of
 * const char *, may be NULL), then the alias targets of those, without
 * duplicates. An attribute value (trimmed of XML white space) that still
 * holds white space or a control character is not a class and is left out
 * (anc_policy_refused_class_values lists them for the log): the class
 * variables separate classes with a space. */
apr_array_header_t *
anc_policy_session_classes(apr_pool_t *p, const anc_vocab_t *v, const anc_assertion_t *a,
                           const apr_array_header_t *class_attributes);

/* The attribute values that anc_policy_session_classes left out (white
 * space or a control character inside), for a log line; NULL when none. */
apr_array_header_t *
anc_policy_refused_class_values(apr_pool_t *p, const anc_assertion_t *a,
                                const apr_array_header_t *class_attributes);

typedef struct anc_class_rule_t anc_class_rule_t;

/* Parses the words of `Require authnContextClassRef ...` or of
 * `AuthnContextRequest ...`: [exact|minimum|better|maximum] URI..., or
 * `~ REGEX`, optionally preceded by `!` (negation, as the Shibboleth SP).
 * `!` may be a word of its own or glued to the first word (`!~`, `!URI`).
 * A REGEX is POSIX extended and must match a whole class (it is compiled
 * as ^(REGEX)$, as the Shibboleth SP matches whole values); exactly one
 * word follows `~`. The comparison word is case-sensitive; a first word
 * that is not one is the first URI (exact).
 * Errors: ANC_E_CONFIG (no URI, an unranked URI under minimum/better/
 * maximum, a regex that does not compile), with a detail for configtest. */
anc_status_t anc_class_rule_parse(apr_pool_t *p, const anc_vocab_t *v, int argc,
                                  const char *const *argv, anc_class_rule_t **rule,
                                  anc_error_t **err);
/* Builds a rule from a comparison and a list (array of const char *). */
anc_status_t anc_class_rule_make(apr_pool_t *p, const anc_vocab_t *v,
                                 anc_comparison_t cmp, const apr_array_header_t *classes,
                                 anc_class_rule_t **rule, anc_error_t **err);
/* 1 when the class set (array of const char *) satisfies the rule. An
 * empty or NULL class set satisfies no rule, a negated one included (`!
 * URI` denies a session without any class: fail safe). */
int anc_class_rule_eval(const anc_class_rule_t *rule, const anc_vocab_t *v,
                        const apr_array_header_t *session_classes);
anc_comparison_t anc_class_rule_comparison(const anc_class_rule_t *rule);
/* The listed classes (array of const char *); NULL for a regex rule. */
const apr_array_header_t *anc_class_rule_classes(const anc_class_rule_t *rule);
/* 1 when the rule was written with a leading `!`. AuthnContextRequest
 * cannot ask an IdP for "not X" or for a regex: the glue refuses a rule
 * for which this is 1 or anc_class_rule_classes() is NULL. */
int anc_class_rule_negated(const anc_class_rule_t *rule);

/* One AuthnStatement as freshness sees it: a class it carries (NULL for a
 * statement without a ClassRef) and its AuthnInstant. A session keeps
 * these pairs (anc_session_t.statements) so that a request judges
 * freshness without the assertion. */
typedef struct anc_class_instant_t {
    const char *class_ref; /* NULL: the statement has no ClassRef */
    apr_time_t instant;    /* its AuthnInstant */
} anc_class_instant_t;

/* The pairs of an assertion, in document order: one per ClassRef of each
 * AuthnStatement (one per statement as the schema has it), and one with a
 * NULL class for a statement without a ClassRef. Empty for NULL. */
apr_array_header_t *anc_policy_class_instants(apr_pool_t *p, const anc_assertion_t *a);

/* The instant freshness is judged on (issue 11, DESIGN.md "freshness is
 * judged on the statement whose class satisfies the rule"):
 *  - rule is a class rule (a location's AuthnContextRequest, or a step-up
 *    request): the OLDEST instant among the statements whose own class
 *    satisfies the rule on its own (fail safe when several do);
 *  - no rule (NULL: a bare `Require authnContextMaxAge`, a plain
 *    ForceAuthn), or no statement's own class satisfies it (the rule is
 *    met only through a class from an attribute or an alias, or not at
 *    all): the oldest instant of all statements.
 * Returns 0 (unknown, never fresh under a limit) when there are no pairs.
 * A pair's instant 0 counts as "unknown" and so as oldest. No allocation:
 * this runs on the request path. */
apr_time_t anc_policy_fresh_instant(const anc_class_rule_t *rule, const anc_vocab_t *v,
                                    const apr_array_header_t *class_instants);

/* Freshness: 1 when authn_instant is no older than max_age seconds at now
 * (allowing clock_skew seconds into the future). An instant further in the
 * future than the skew is never fresh. max_age <= 0 means no age limit;
 * with a limit, an unknown instant (<= 0) is not fresh. */
int anc_policy_fresh(apr_time_t authn_instant, int max_age, apr_time_t now,
                     int clock_skew);

#endif
