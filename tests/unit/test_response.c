/*
 * test_response.c - anc_response_verify against the samlforge fixtures
 * (every manifest line: verdict and reason; every accepted record against
 * expected.json), plus attacks made by editing signed fixtures in ways a
 * signature must or must not notice (comments inside values, wrapping,
 * tampering), decoding, and the lookup/replay callbacks failing closed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_base64.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "anc_init.h"
#include "anc_policy.h"
#include "anc_replay.h"
#include "anc_response.h"
#include "support_fixtures.h"
#include "support_runner.h"

static apr_pool_t *pool;

static void setup(void)
{
    anc_error_t *err = NULL;

    apr_pool_create(&pool, NULL);
    ck_assert_int_eq(anc_lib_init(pool, &err), ANC_OK);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const fx_case_t *find_case(const char *prefix)
{
    apr_array_header_t *m = fx_manifest(pool);
    int i;

    for (i = 0; i < m->nelts; i++) {
        const fx_case_t *c = &APR_ARRAY_IDX(m, i, fx_case_t);
        const char *base = strrchr(c->file, '/');

        base = base != NULL ? base + 1 : c->file;
        if (strncmp(base, prefix, strlen(prefix)) == 0) {
            return c;
        }
    }
    ck_abort_msg("no fixture %s", prefix);
    return NULL;
}

/* Verifies xml as if it were case c's file. */
static anc_verify_result_t *verify_text(const fx_case_t *c, const char *xml,
                                        const anc_replay_cache_t *replay)
{
    anc_verify_input_t in;
    anc_verify_result_t *res;
    apr_time_t now;

    memset(&in, 0, sizeof(in));
    in.data = xml;
    in.len = strlen(xml);
    ck_assert_int_eq(anc_time_parse(c->now, &now), ANC_OK);
    in.now = now;
    in.request_lookup = fx_lookup_one;
    in.request_lookup_ctx = (void *)c->request_id;
    in.replay = replay;
    anc_response_verify(pool, fx_verifier(pool, c->flags), &in, &res);
    return res;
}

static const char *reason_of(const anc_verify_result_t *r)
{
    if (r->verdict == ANC_VERDICT_ACCEPT) {
        return "(accepted)";
    }
    if (r->verdict == ANC_VERDICT_IDP_ERROR) {
        return "(idp-error)";
    }
    return r->error->reason;
}

/* Replaces the first occurrence of from by to; the test fails if absent. */
static char *replace1(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);

    ck_assert_msg(at != NULL, "fixture lacks '%s'", from);
    return apr_pstrcat(pool, apr_pstrmemdup(pool, s, (apr_size_t)(at - s)), to,
                       at + strlen(from), NULL);
}

static void compare_record(const char *file, apr_hash_t *want, const anc_assertion_t *a,
                           int *bad)
{
    apr_hash_t *got = fx_flatten_record(pool, a);
    apr_hash_index_t *hi;
    const char *cn =
        apr_hash_get(want, "conditions_not_on_or_after", APR_HASH_KEY_STRING);
    const char *sn = apr_hash_get(want, "subject_not_on_or_after", APR_HASH_KEY_STRING);
    const char *horizon;

    for (hi = apr_hash_first(pool, want); hi != NULL; hi = apr_hash_next(hi)) {
        const char *path = apr_hash_this_key(hi);
        const char *w = apr_hash_this_val(hi);
        const char *g = apr_hash_get(got, path, APR_HASH_KEY_STRING);

        if (strcmp(path, "conditions_not_on_or_after") == 0 ||
            strcmp(path, "subject_not_on_or_after") == 0) {
            continue;
        }
        if (g == NULL || strcmp(g, w) != 0) {
            fprintf(stderr, "%s: %s: want '%s' got '%s'\n", file, path,
                    w[0] == 1 ? "null" : w,
                    g == NULL   ? "(missing)"
                    : g[0] == 1 ? "null"
                                : g);
            (*bad)++;
        }
    }
    /* every field we report is in the expectation too */
    for (hi = apr_hash_first(pool, got); hi != NULL; hi = apr_hash_next(hi)) {
        if (apr_hash_get(want, apr_hash_this_key(hi), APR_HASH_KEY_STRING) == NULL) {
            fprintf(stderr, "%s: unexpected field %s\n", file,
                    (const char *)apr_hash_this_key(hi));
            (*bad)++;
        }
    }
    /* the replay horizon is the earlier of the two NotOnOrAfter values */
    horizon = (cn != NULL && cn[0] != 1) ? cn : sn;
    if (sn != NULL && sn[0] != 1 && horizon != NULL && strcmp(sn, horizon) < 0) {
        horizon = sn;
    }
    if (horizon == NULL ||
        strcmp(anc_time_format(pool, a->not_on_or_after), horizon) != 0) {
        fprintf(stderr, "%s: not_on_or_after %s, want %s\n", file,
                anc_time_format(pool, a->not_on_or_after), horizon ? horizon : "?");
        (*bad)++;
    }
}

/* Every manifest line in order through one replay cache, as one SP. */
START_TEST(test_manifest)
{
    apr_array_header_t *m = fx_manifest(pool);
    apr_hash_t *expected = fx_expected(pool);
    const anc_replay_cache_t *replay = anc_replay_memory_create(pool);
    int i, bad = 0, accepted = 0;

    ck_assert_int_gt(m->nelts, 40);
    for (i = 0; i < m->nelts; i++) {
        const fx_case_t *c = &APR_ARRAY_IDX(m, i, fx_case_t);
        anc_verify_result_t *r = fx_verify_case(pool, c, replay);
        const char *verdict = r->verdict == ANC_VERDICT_ACCEPT   ? "accept"
                              : r->verdict == ANC_VERDICT_REJECT ? "reject"
                                                                 : "idp-error";
        const char *reason = r->verdict == ANC_VERDICT_REJECT ? r->error->reason : "-";

        if (strcmp(verdict, c->verdict) != 0 || strcmp(reason, c->reason) != 0) {
            fprintf(stderr, "%s: want %s/%s, got %s/%s (%s)\n", c->file, c->verdict,
                    c->reason, verdict, reason,
                    r->error != NULL && r->error->detail ? r->error->detail : "");
            bad++;
            continue;
        }
        if (r->verdict == ANC_VERDICT_ACCEPT) {
            apr_hash_t *want = apr_hash_get(expected, c->file, APR_HASH_KEY_STRING);

            ck_assert_msg(want != NULL, "no expected record for %s", c->file);
            compare_record(c->file, want, r->assertion, &bad);
            accepted++;
        }
        if (r->verdict == ANC_VERDICT_IDP_ERROR) {
            ck_assert_ptr_nonnull(r->status);
            ck_assert_ptr_nonnull(r->status->status_code);
            ck_assert_ptr_null(r->assertion);
        }
        if (r->verdict == ANC_VERDICT_REJECT) {
            ck_assert_ptr_null(r->assertion);
        }
    }
    ck_assert_int_gt(accepted, 10);
    ck_assert_msg(bad == 0, "%d manifest mismatches (see stderr)", bad);
}
END_TEST

START_TEST(test_record_fields)
{
    const anc_replay_cache_t *replay = anc_replay_memory_create(pool);
    anc_verify_result_t *r;
    const anc_assertion_t *a;
    const anc_attribute_t *at;

    /* several AuthnStatements: every class, in document order */
    r = fx_verify_case(pool, find_case("05-ok-multi-authn"), replay);
    ck_assert_int_eq(r->verdict, ANC_VERDICT_ACCEPT);
    a = r->assertion;
    ck_assert_int_eq(a->authn_context_class_refs->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(a->authn_context_class_refs, 0, const char *),
                     "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport");
    ck_assert_str_eq(APR_ARRAY_IDX(a->authn_context_class_refs, 1, const char *),
                     "https://refeds.org/profile/mfa");
    ck_assert_str_eq(APR_ARRAY_IDX(a->authn_context_class_refs, 2, const char *),
                     "http://schemas.microsoft.com/claims/multipleauthn");
    ck_assert_ptr_nonnull(a->authn_context_decl_ref);
    ck_assert_int_eq(a->was_encrypted, 0);
    ck_assert_str_eq(a->in_response_to, "_req-ok-multi-authn");
    ck_assert_ptr_nonnull(a->response_id);

    /* xs:anyURI whitespace collapse of the class */
    r = fx_verify_case(pool, find_case("07-ok-class-whitespace"), replay);
    ck_assert_int_eq(r->verdict, ANC_VERDICT_ACCEPT);
    ck_assert_int_eq(r->assertion->authn_context_class_refs->nelts, 1);
    ck_assert_str_eq(
        APR_ARRAY_IDX(r->assertion->authn_context_class_refs, 0, const char *),
        "https://refeds.org/profile/mfa");

    /* attributes: names, formats, several values, markup-significant text */
    r = fx_verify_case(pool, find_case("06-ok-attributes"), replay);
    ck_assert_int_eq(r->verdict, ANC_VERDICT_ACCEPT);
    ck_assert_int_eq(r->assertion->attributes->nelts, 3);
    at = &APR_ARRAY_IDX(r->assertion->attributes, 1, anc_attribute_t);
    ck_assert_str_eq(at->friendly_name, "eduPersonEntitlement");
    ck_assert_int_eq(at->values->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(at->values, 1, const char *), "urn:example:admin");
    at = &APR_ARRAY_IDX(r->assertion->attributes, 2, anc_attribute_t);
    ck_assert_ptr_null(at->name_format);
    ck_assert_str_eq(APR_ARRAY_IDX(at->values, 0, const char *), "Alice <Admin> & Co");

    /* decryption: the record says so and carries the decrypted NameID */
    r = fx_verify_case(pool, find_case("11-ok-enc-rsa-oaep-aes256-gcm"), replay);
    ck_assert_msg(r->verdict == ANC_VERDICT_ACCEPT, "%s", reason_of(r));
    ck_assert_int_eq(r->assertion->was_encrypted, 1);
    ck_assert_str_eq(r->assertion->name_id.value, "alice@example.org");

    /* unsolicited: no InResponseTo in the record */
    r = fx_verify_case(pool, find_case("13-ok-unsolicited"), replay);
    ck_assert_int_eq(r->verdict, ANC_VERDICT_ACCEPT);
    ck_assert_ptr_null(r->assertion->in_response_to);
}
END_TEST

/* The fixture named `name` whatever its number in the manifest. */
static const fx_case_t *find_named(const char *name)
{
    apr_array_header_t *m = fx_manifest(pool);
    int i;

    for (i = 0; i < m->nelts; i++) {
        const fx_case_t *c = &APR_ARRAY_IDX(m, i, fx_case_t);
        const char *base = strrchr(c->file, '/'), *dash;

        base = base != NULL ? base + 1 : c->file;
        dash = strchr(base, '-');
        if (dash != NULL && strncmp(dash + 1, name, strlen(name)) == 0 &&
            dash[1 + strlen(name)] == '.') {
            return c;
        }
    }
    ck_abort_msg("no fixture %s", name);
    return NULL;
}

/* Several AuthnStatements, each kept with its own class, instant and
 * session (issue 11 item 3): a fresh password statement first, a
 * three-day-old MFA statement second. The record's single instant is the
 * oldest; freshness for an MFA rule is the MFA statement's. */
START_TEST(test_record_statements)
{
    const anc_replay_cache_t *replay = anc_replay_memory_create(pool);
    anc_verify_result_t *r;
    const anc_assertion_t *a;
    const anc_authn_statement_t *pw, *mfa;
    anc_class_rule_t *rule = NULL;
    const char *mfa_uri = "https://refeds.org/profile/mfa";
    anc_error_t *err = NULL;
    apr_array_header_t *ci, *want = apr_array_make(pool, 1, sizeof(const char *));

    r = fx_verify_case(pool, find_named("ok-multi-authn-old-second"), replay);
    ck_assert_msg(r->verdict == ANC_VERDICT_ACCEPT, "%s", reason_of(r));
    a = r->assertion;
    ck_assert_int_eq(a->authn_statements->nelts, 2);
    pw = &APR_ARRAY_IDX(a->authn_statements, 0, anc_authn_statement_t);
    mfa = &APR_ARRAY_IDX(a->authn_statements, 1, anc_authn_statement_t);
    ck_assert_int_eq(pw->class_refs->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(mfa->class_refs, 0, const char *), mfa_uri);
    ck_assert_ptr_null(pw->session_index);
    ck_assert_str_eq(mfa->session_index, "_s-mfa");
    ck_assert(pw->session_not_on_or_after > mfa->session_not_on_or_after);
    /* three days apart (the fixture's -5 s and -3 d) */
    ck_assert(pw->authn_instant - mfa->authn_instant >
              apr_time_from_sec(3 * 24 * 3600 - 60));
    ck_assert(a->authn_instant == mfa->authn_instant);
    ck_assert_str_eq(a->authn_instant_text, mfa->authn_instant_text);
    ck_assert_str_eq(a->session_index, "_s-mfa");
    ck_assert(a->session_not_on_or_after == mfa->session_not_on_or_after);

    APR_ARRAY_PUSH(want, const char *) = mfa_uri;
    ck_assert_int_eq(anc_class_rule_make(pool, NULL, ANC_CMP_EXACT, want, &rule, &err),
                     ANC_OK);
    ci = anc_policy_class_instants(pool, a);
    ck_assert_int_eq(ci->nelts, 2);
    ck_assert(anc_policy_fresh_instant(rule, NULL, ci) == mfa->authn_instant);
    ck_assert(anc_policy_fresh_instant(NULL, NULL, ci) == mfa->authn_instant);
    /* judged on the MFA statement, the session is not fresh for 300 s */
    ck_assert_int_eq(anc_policy_fresh(anc_policy_fresh_instant(rule, NULL, ci), 300,
                                      pw->authn_instant + apr_time_from_sec(5), 180),
                     0);

    /* the older fixture: every statement, the first SessionIndex */
    r = fx_verify_case(pool, find_case("05-ok-multi-authn"), replay);
    ck_assert_int_eq(r->verdict, ANC_VERDICT_ACCEPT);
    a = r->assertion;
    ck_assert_int_eq(a->authn_statements->nelts, 3);
    ck_assert_str_eq(a->session_index, "_session-0");
    ck_assert_ptr_null(
        APR_ARRAY_IDX(a->authn_statements, 2, anc_authn_statement_t).session_index);
}
END_TEST

/* The NameID / class is the whole text: a comment inside the value (which
 * exclusive C14N without comments does not sign) cannot cut it short. */
START_TEST(test_comment_inside_values)
{
    const fx_case_t *c = find_case("01-ok-assertion-signed");
    const char *xml = fx_read(pool, c->file, NULL);
    anc_verify_result_t *r;

    xml = replace1(xml, "alice@example.org</saml:NameID>",
                   "alice@example.org<!---->.evil.example</saml:NameID>");
    r = verify_text(c, xml, NULL);
    /* the comment is not signed, the text after it is: digest breaks */
    ck_assert_int_eq(r->verdict, ANC_VERDICT_REJECT);
    ck_assert_str_eq(r->error->reason, "signature-invalid");
}
END_TEST

START_TEST(test_comment_split_value_accepted_whole)
{
    const fx_case_t *c = find_case("01-ok-assertion-signed");
    const char *xml = fx_read(pool, c->file, NULL);
    anc_verify_result_t *r;

    /* same signed bytes, a comment inserted: C14N without comments gives
     * the same digest, and the value read must still be the whole one */
    xml = replace1(xml, "alice@example.org</saml:NameID>",
                   "alice@<!-- x -->example.org</saml:NameID>");
    r = verify_text(c, xml, NULL);
    ck_assert_msg(r->verdict == ANC_VERDICT_ACCEPT, "%s", reason_of(r));
    ck_assert_str_eq(r->assertion->name_id.value, "alice@example.org");

    xml = fx_read(pool, c->file, NULL);
    xml = replace1(xml, "PasswordProtectedTransport</saml:AuthnContextClassRef>",
                   "Password<!---->ProtectedTransport</saml:AuthnContextClassRef>");
    r = verify_text(c, xml, NULL);
    ck_assert_msg(r->verdict == ANC_VERDICT_ACCEPT, "%s", reason_of(r));
    ck_assert_str_eq(
        APR_ARRAY_IDX(r->assertion->authn_context_class_refs, 0, const char *),
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport");
}
END_TEST

static char *cut_assertion(const char *xml, char **before, char **after)
{
    const char *s = strstr(xml, "<saml:Assertion");
    const char *e = strstr(xml, "</saml:Assertion>");

    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(e);
    e += strlen("</saml:Assertion>");
    *before = apr_pstrmemdup(pool, xml, (apr_size_t)(s - xml));
    *after = apr_pstrdup(pool, e);
    return apr_pstrmemdup(pool, s, (apr_size_t)(e - s));
}

/* Signature wrapping: the genuine signed Assertion is moved where the SP
 * does not read (Extensions) and an attacker's Assertion takes its place. */
START_TEST(test_wrapping_assertion_in_extensions)
{
    const fx_case_t *c = find_case("01-ok-assertion-signed");
    char *before, *after, *signed_a, *evil, *xml;
    anc_verify_result_t *r;

    signed_a = cut_assertion(fx_read(pool, c->file, NULL), &before, &after);
    evil = replace1(signed_a, "alice@example.org", "admin@example.org");
    evil = replace1(evil, "ID=\"_assert-ok-assertion-signed\"", "ID=\"_evil\"");
    evil = replace1(evil, "<ds:Signature", "<ds:Foo");
    evil = replace1(evil, "</ds:Signature>", "</ds:Foo>");
    /* unsigned evil assertion used, signed one hidden in Extensions */
    xml = replace1(apr_pstrcat(pool, before, evil, after, NULL), "<samlp:Status>",
                   apr_pstrcat(pool, "<samlp:Extensions>", signed_a,
                               "</samlp:Extensions><samlp:Status>", NULL));
    r = verify_text(c, xml, NULL);
    ck_assert_int_eq(r->verdict, ANC_VERDICT_REJECT);
    ck_assert_str_eq(r->error->reason, "signature-missing");

    /* the evil one carries the genuine one's ID: IDs must be unique */
    evil = replace1(evil, "ID=\"_evil\"", "ID=\"_assert-ok-assertion-signed\"");
    xml = replace1(apr_pstrcat(pool, before, evil, after, NULL), "<samlp:Status>",
                   apr_pstrcat(pool, "<samlp:Extensions>", signed_a,
                               "</samlp:Extensions><samlp:Status>", NULL));
    r = verify_text(c, xml, NULL);
    ck_assert_int_eq(r->verdict, ANC_VERDICT_REJECT);
    ck_assert_str_eq(r->error->reason, "duplicate-id");

    /* the evil one keeps the genuine Signature (which points elsewhere) */
    evil = replace1(signed_a, "alice@example.org", "admin@example.org");
    evil = replace1(evil, "ID=\"_assert-ok-assertion-signed\"", "ID=\"_evil\"");
    xml = replace1(apr_pstrcat(pool, before, evil, after, NULL), "<samlp:Status>",
                   apr_pstrcat(pool, "<samlp:Extensions>", signed_a,
                               "</samlp:Extensions><samlp:Status>", NULL));
    r = verify_text(c, xml, NULL);
    ck_assert_int_eq(r->verdict, ANC_VERDICT_REJECT);
    ck_assert_msg(strcmp(r->error->reason, "signature-reference") == 0 ||
                      strcmp(r->error->reason, "duplicate-id") == 0,
                  "got %s", r->error->reason);

    /* two assertions, the signed one second */
    xml = apr_pstrcat(pool, before, evil, signed_a, after, NULL);
    r = verify_text(c, xml, NULL);
    ck_assert_int_eq(r->verdict, ANC_VERDICT_REJECT);
    ck_assert_str_eq(r->error->reason, "multiple-assertions");
}
END_TEST

/* The genuine signed Response is wrapped inside an attacker's Response. */
START_TEST(test_wrapping_response_in_extensions)
{
    const fx_case_t *c = find_case("00-ok-response-signed");
    const char *orig = fx_read(pool, c->file, NULL);
    const char *body = strstr(orig, "<samlp:Response");
    char *before, *after, *a, *xml;
    anc_verify_result_t *r;

    ck_assert_ptr_nonnull(body);
    a = cut_assertion(orig, &before, &after);
    a = replace1(a, "alice@example.org", "admin@example.org");
    a = replace1(a, "ID=\"_assert-ok-response-signed\"", "ID=\"_evil\"");
    xml = apr_psprintf(
        pool,
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\""
        " xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_outer\""
        " Version=\"2.0\" IssueInstant=\"2026-01-01T00:00:00Z\""
        " Destination=\"https://sp.example.org/saml/acs\""
        " InResponseTo=\"%s\"><saml:Issuer>https://idp.example.org/idp"
        "</saml:Issuer><samlp:Extensions>%s</samlp:Extensions>"
        "<samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:"
        "status:Success\"/></samlp:Status>%s</samlp:Response>",
        c->request_id, body, a);
    r = verify_text(c, xml, NULL);
    ck_assert_int_eq(r->verdict, ANC_VERDICT_REJECT);
    ck_assert_str_eq(r->error->reason, "signature-missing");
}
END_TEST

START_TEST(test_tampering_detected)
{
    const fx_case_t *c = find_case("00-ok-response-signed");
    const char *xml = fx_read(pool, c->file, NULL);
    anc_verify_result_t *r;

    r = verify_text(c, replace1(xml, "alice@example.org", "admin@example.org"), NULL);
    ck_assert_str_eq(reason_of(r), "signature-invalid");
    /* a KeyInfo swapped for the attacker's certificate changes nothing:
     * keys in the message are never used (verification still needs the
     * IdP key, and the digest of SignedInfo is untouched by KeyInfo) */
    r = verify_text(c, replace1(xml, "<ds:X509Certificate>", "<ds:X509Certificate>AAAA"),
                    NULL);
    ck_assert_msg(r->verdict == ANC_VERDICT_ACCEPT, "%s", reason_of(r));
    /* Destination is signed too: dropping it breaks the digest */
    r = verify_text(
        c, replace1(xml, " Destination=\"https://sp.example.org/saml/acs\"", ""), NULL);
    ck_assert_str_eq(reason_of(r), "signature-invalid");
}
END_TEST

/* Unsigned parts of a Response around a signed Assertion are still
 * checked: Issuer format, Destination, Status. */
START_TEST(test_unsigned_envelope_checked)
{
    const fx_case_t *c = find_case("01-ok-assertion-signed");
    const char *xml = fx_read(pool, c->file, NULL);
    anc_verify_result_t *r;

    r = verify_text(c,
                    replace1(xml, "<saml:Issuer>",
                             "<saml:Issuer Format=\"urn:oasis:names:tc:SAML:2.0:"
                             "nameid-format:persistent\">"),
                    NULL);
    ck_assert_str_eq(reason_of(r), "issuer-mismatch");
    r = verify_text(c,
                    replace1(xml, "<saml:Issuer>",
                             "<saml:Issuer Format=\"urn:oasis:names:tc:SAML:2.0:"
                             "nameid-format:entity\">"),
                    NULL);
    ck_assert_msg(r->verdict == ANC_VERDICT_ACCEPT, "%s", reason_of(r));
    r = verify_text(c,
                    replace1(xml, "Destination=\"https://sp.example.org/saml/acs\"",
                             "Destination=\"https://sp.example.org/saml/acs/\""),
                    NULL);
    ck_assert_str_eq(reason_of(r), "destination-mismatch");
    /* unsigned and without Destination is allowed (bindings 3.5.5.2) */
    r = verify_text(
        c, replace1(xml, "Destination=\"https://sp.example.org/saml/acs\"", ""), NULL);
    ck_assert_msg(r->verdict == ANC_VERDICT_ACCEPT, "%s", reason_of(r));
    r = verify_text(c, replace1(xml, "Version=\"2.0\"", "Version=\"1.1\""), NULL);
    ck_assert_str_eq(reason_of(r), "bad-version");
    /* the Status decides even when the Assertion is fine */
    r = verify_text(c, replace1(xml, "status:Success", "status:Responder"), NULL);
    ck_assert_str_eq(reason_of(r), "status-with-assertion");
}
END_TEST

/* The finer rules, on cases made by tests/unit/core_cases.py with
 * samlforge's signer and encrypter from the same keys. */
START_TEST(test_core_cases)
{
    char dir[] = "/tmp/anc-core-cases-XXXXXX";
    const char *script;
    char *src = apr_pstrdup(pool, __FILE__);
    char *slash = strrchr(src, '/');
    apr_array_header_t *m;
    int i, bad = 0;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    if (slash != NULL) {
        *slash = '\0';
    }
    script = apr_pstrcat(pool, slash != NULL ? src : ".", "/core_cases.py", NULL);
    ck_assert_msg(system(apr_psprintf(pool, "/usr/bin/python3 '%s' '%s' '%s'", script,
                                      fx_dir(), dir)) == 0,
                  "%s failed (run from the repository root)", script);
    m = fx_manifest_at(pool, dir);
    ck_assert_int_ge(m->nelts, 15);
    for (i = 0; i < m->nelts; i++) {
        const fx_case_t *c = &APR_ARRAY_IDX(m, i, fx_case_t);
        anc_verify_result_t *r = fx_verify_case(pool, c, NULL);
        const char *verdict = r->verdict == ANC_VERDICT_ACCEPT ? "accept" : "reject";
        const char *reason = r->verdict == ANC_VERDICT_REJECT ? r->error->reason : "-";

        if (strcmp(verdict, c->verdict) != 0 || strcmp(reason, c->reason) != 0) {
            fprintf(stderr, "%s: want %s/%s, got %s/%s (%s)\n", c->file, c->verdict,
                    c->reason, verdict, reason,
                    r->error != NULL && r->error->detail ? r->error->detail : "");
            bad++;
            continue;
        }
        if (strstr(c->file, "advice-ignored") != NULL) {
            /* the Assertion inside Advice (admin, MFA) is never read */
            ck_assert_str_eq(r->assertion->name_id.value, "alice@example.org");
            ck_assert_int_eq(r->assertion->authn_context_class_refs->nelts, 1);
            ck_assert_str_ne(
                APR_ARRAY_IDX(r->assertion->authn_context_class_refs, 0, const char *),
                "https://refeds.org/profile/mfa");
        }
        if (strstr(c->file, "sc-two-horizons") != NULL) {
            /* SAML profiles 4.1.4.5: kept until it can no longer be
             * accepted, i.e. until the later confirmation ends too */
            const anc_replay_cache_t *rc = anc_replay_memory_create(pool);
            fx_case_t an_hour_later = *c;
            apr_time_t t;

            ck_assert_int_eq(anc_time_parse(c->now, &t), ANC_OK);
            an_hour_later.now = anc_time_format(pool, t + apr_time_from_sec(3600));
            ck_assert_int_eq(fx_verify_case(pool, c, rc)->verdict, ANC_VERDICT_ACCEPT);
            ck_assert_str_eq(reason_of(fx_verify_case(pool, &an_hour_later, rc)),
                             "replay");
        }
        if (strstr(c->file, "idp-from-assertion.xml") != NULL) {
            ck_assert_str_eq(r->assertion->idp, "https://idp2.example.org/idp");
        }
        if (strstr(c->file, "enc-") != NULL && r->verdict == ANC_VERDICT_ACCEPT) {
            ck_assert_int_eq(r->assertion->was_encrypted, 1);
        }
    }
    ck_assert_int_eq(system(apr_psprintf(pool, "rm -rf '%s'", dir)), 0);
    ck_assert_msg(bad == 0, "%d core case mismatches (see stderr)", bad);
}
END_TEST

typedef struct thread_job_t {
    const anc_verifier_t *v;
    const anc_verifier_t *v_enc;
    const fx_case_t *plain, *both, *enc;
    const char *data[3];
    apr_size_t len[3];
    int accepted;
} thread_job_t;

static void *APR_THREAD_FUNC verify_many(apr_thread_t *th, void *arg)
{
    thread_job_t *job = arg;
    const fx_case_t *cases[3] = {job->plain, job->both, job->enc};
    apr_pool_t *tp;
    int i;

    apr_pool_create_unmanaged(&tp);
    for (i = 0; i < 60; i++) {
        apr_pool_t *sub;
        anc_verify_input_t in;
        anc_verify_result_t *r;
        int k = i % 3;

        apr_pool_create(&sub, tp);
        memset(&in, 0, sizeof(in));
        in.data = job->data[k];
        in.len = job->len[k];
        anc_time_parse(cases[k]->now, &in.now);
        in.request_lookup = fx_lookup_one;
        in.request_lookup_ctx = (void *)cases[k]->request_id;
        anc_response_verify(sub, k == 2 ? job->v_enc : job->v, &in, &r);
        if (r->verdict == ANC_VERDICT_ACCEPT) {
            job->accepted++;
        }
        apr_pool_destroy(sub);
    }
    apr_pool_destroy(tp);
    /* a plain return, not apr_thread_exit(): pthread_exit's forced unwind
     * leaves ASan's scope poisoning behind (a false stack-use-after-scope) */
    (void)th;
    return NULL;
}

/* One verifier shared by threads with their own pools (the worker MPM
 * case the header promises): every verification still succeeds. */
START_TEST(test_threads_share_verifier)
{
    enum { NTHREADS = 4 };
    apr_thread_t *th[NTHREADS];
    thread_job_t jobs[NTHREADS];
    const anc_verifier_t *v = fx_verifier(pool, "-");
    const anc_verifier_t *v_enc = fx_verifier(pool, "sp_key");
    const fx_case_t *plain = find_case("00-ok-response-signed");
    const fx_case_t *both = find_case("05-ok-multi-authn");
    const fx_case_t *enc = find_case("11-ok-enc-rsa-oaep-aes256-gcm");
    int i;

    for (i = 0; i < NTHREADS; i++) {
        jobs[i].v = v;
        jobs[i].v_enc = v_enc;
        jobs[i].plain = plain;
        jobs[i].both = both;
        jobs[i].enc = enc;
        jobs[i].data[0] = fx_read(pool, plain->file, &jobs[i].len[0]);
        jobs[i].data[1] = fx_read(pool, both->file, &jobs[i].len[1]);
        jobs[i].data[2] = fx_read(pool, enc->file, &jobs[i].len[2]);
        jobs[i].accepted = 0;
        ck_assert_int_eq(apr_thread_create(&th[i], NULL, verify_many, &jobs[i], pool),
                         APR_SUCCESS);
    }
    for (i = 0; i < NTHREADS; i++) {
        apr_status_t st;

        apr_thread_join(&st, th[i]);
        ck_assert_int_eq(jobs[i].accepted, 60);
    }
}
END_TEST

static anc_status_t lookup_down(void *ctx, const char *id, apr_pool_t *scratch,
                                anc_error_t **err)
{
    (void)ctx;
    return anc_error_set(scratch, err, ANC_E_CACHE, "store down for %s", id);
}

static anc_status_t replay_down(void *ctx, const char *id, apr_time_t expires,
                                apr_time_t now, apr_pool_t *scratch, anc_error_t **err)
{
    (void)ctx;
    (void)expires;
    (void)now;
    return anc_error_set(scratch, err, ANC_E_CACHE, "store down for %s", id);
}

START_TEST(test_fail_closed)
{
    const fx_case_t *c = find_case("00-ok-response-signed");
    anc_replay_cache_t down = {replay_down, NULL};
    anc_verify_input_t in;
    anc_verify_result_t *r;
    anc_status_t rv;

    memset(&in, 0, sizeof(in));
    in.data = fx_read(pool, c->file, &in.len);
    ck_assert_int_eq(anc_time_parse(c->now, &in.now), ANC_OK);
    in.request_lookup = lookup_down;
    rv = anc_response_verify(pool, fx_verifier(pool, "-"), &in, &r);
    ck_assert_int_eq(rv, ANC_E_CACHE);
    ck_assert_str_eq(r->error->reason, "cache-unavailable");

    in.request_lookup = fx_lookup_one;
    in.request_lookup_ctx = (void *)c->request_id;
    in.replay = &down;
    rv = anc_response_verify(pool, fx_verifier(pool, "-"), &in, &r);
    ck_assert_int_eq(rv, ANC_E_CACHE);
    ck_assert_int_eq(r->verdict, ANC_VERDICT_REJECT);

    /* no lookup at all: a solicited response cannot be matched */
    in.request_lookup = NULL;
    in.replay = NULL;
    rv = anc_response_verify(pool, fx_verifier(pool, "-"), &in, &r);
    ck_assert_str_eq(r->error->reason, "in-response-to-unknown");

    /* the caller expects another IdP */
    in.request_lookup = fx_lookup_one;
    in.expected_idp = "https://idp2.example.org/idp";
    rv = anc_response_verify(pool, fx_verifier(pool, "-"), &in, &r);
    ck_assert_str_eq(r->error->reason, "issuer-mismatch");
}
END_TEST

START_TEST(test_replay_and_time_window)
{
    const fx_case_t *c = find_case("00-ok-response-signed");
    const anc_replay_cache_t *replay = anc_replay_memory_create(pool);
    anc_verify_input_t in;
    anc_verify_result_t *r;
    apr_time_t now;

    memset(&in, 0, sizeof(in));
    in.data = fx_read(pool, c->file, &in.len);
    ck_assert_int_eq(anc_time_parse(c->now, &now), ANC_OK);
    in.request_lookup = fx_lookup_one;
    in.request_lookup_ctx = (void *)c->request_id;
    in.replay = replay;

    /* an hour later: expired, and not recorded as seen */
    in.now = now + apr_time_from_sec(3600);
    anc_response_verify(pool, fx_verifier(pool, "-"), &in, &r);
    ck_assert_str_eq(reason_of(r), "expired");
    /* an hour earlier: not yet valid */
    in.now = now - apr_time_from_sec(3600);
    anc_response_verify(pool, fx_verifier(pool, "-"), &in, &r);
    ck_assert_str_eq(reason_of(r), "not-yet-valid");
    in.now = now;
    anc_response_verify(pool, fx_verifier(pool, "-"), &in, &r);
    ck_assert_int_eq(r->verdict, ANC_VERDICT_ACCEPT);
    ck_assert_int_gt(r->assertion->not_on_or_after, now);
    anc_response_verify(pool, fx_verifier(pool, "-"), &in, &r);
    ck_assert_str_eq(reason_of(r), "replay");
}
END_TEST

START_TEST(test_decode)
{
    const char *xml = "<a/>";
    const char *out;
    apr_size_t len;
    anc_error_t *err = NULL;
    char b64[64];

    ck_assert_int_eq(anc_response_decode(pool, "  <a/>", 6, 0, &out, &len, &err), ANC_OK);
    ck_assert_int_eq(len, 4);
    ck_assert_int_eq(strncmp(out, xml, 4), 0);
    apr_base64_encode(b64, "<samlp:Response/>", 17);
    ck_assert_int_eq(anc_response_decode(pool, b64, strlen(b64), 0, &out, &len, &err),
                     ANC_OK);
    ck_assert_int_eq(len, 17);
    ck_assert_int_eq(memcmp(out, "<samlp:Response/>", 17), 0);
    ck_assert_int_eq(
        anc_response_decode(pool, "\xef\xbb\xbf<a/>", 7, 0, &out, &len, &err), ANC_OK);
    ck_assert_int_eq(len, 7);
    /* line-wrapped base64 as some IdPs post it */
    ck_assert_int_eq(anc_response_decode(pool, "PGEv\r\nPg==\n", 11, 0, &out, &len, &err),
                     ANC_OK);
    ck_assert_int_eq(len, 4);
    ck_assert_int_eq(anc_response_decode(pool, "PGEv!g==", 8, 0, &out, &len, &err),
                     ANC_E_INPUT);
    ck_assert_int_eq(anc_response_decode(pool, "PGEvPg=", 7, 0, &out, &len, &err),
                     ANC_E_INPUT);
    ck_assert_int_eq(anc_response_decode(pool, "PG=vPg==", 8, 0, &out, &len, &err),
                     ANC_E_INPUT);
    ck_assert_int_eq(anc_response_decode(pool, "   ", 3, 0, &out, &len, &err),
                     ANC_E_INPUT);
    ck_assert_int_eq(anc_response_decode(pool, "<aaaaa/>", 8, 4, &out, &len, &err),
                     ANC_E_TOO_LARGE);
    ck_assert_int_eq(anc_response_decode(pool, "PGFhYWFhYWEv", 12, 4, &out, &len, &err),
                     ANC_E_TOO_LARGE);
    ck_assert_str_eq(err->reason, "too-large");
    /* a padding character, then data; three pads; a lone '=' group */
    ck_assert_int_eq(anc_response_decode(pool, "PGEv=GEv", 8, 0, &out, &len, &err),
                     ANC_E_INPUT);
    ck_assert_int_eq(anc_response_decode(pool, "PGEvP===", 8, 0, &out, &len, &err),
                     ANC_E_INPUT);
    ck_assert_int_eq(anc_response_decode(pool, "====", 4, 0, &out, &len, &err),
                     ANC_E_INPUT);
    ck_assert_int_eq(anc_response_decode(pool, "PGE\x80Pg==", 8, 0, &out, &len, &err),
                     ANC_E_INPUT);
}
END_TEST

/* The one-pass decoder against APR's encoder over random bytes of every
 * length up to 600, wrapped at 76 columns with CRLF as IdPs post it. */
START_TEST(test_decode_random_round_trip)
{
    unsigned seed = 20261123;
    int n, i;

    srand(seed);
    for (n = 1; n <= 600; n++) {
        unsigned char *raw = apr_palloc(pool, (apr_size_t)n);
        char *b64 = apr_palloc(pool, (apr_size_t)apr_base64_encode_len(n));
        char *wrapped = apr_palloc(pool, (apr_size_t)apr_base64_encode_len(n) * 2 + 8);
        const char *out;
        apr_size_t len, w = 0, k;
        anc_error_t *err = NULL;

        for (i = 0; i < n; i++) {
            raw[i] = (unsigned char)(rand() % 256);
        }
        raw[0] = 'x'; /* not '<': base64, never taken for raw XML */
        apr_base64_encode_binary(b64, raw, n);
        for (k = 0; b64[k]; k++) {
            if (k && k % 76 == 0) {
                wrapped[w++] = '\r';
                wrapped[w++] = '\n';
            }
            wrapped[w++] = b64[k];
        }
        ck_assert_int_eq(anc_response_decode(pool, wrapped, w, 0, &out, &len, &err),
                         ANC_OK);
        ck_assert_uint_eq(len, (apr_size_t)n);
        ck_assert_int_eq(memcmp(out, raw, (size_t)n), 0);
        ck_assert_int_eq(out[len], '\0');
    }
}
END_TEST

START_TEST(test_verifier_config)
{
    anc_sp_config_t sp;
    anc_verifier_t *v;
    anc_error_t *err = NULL;

    memset(&sp, 0, sizeof(sp));
    sp.entity_id = "https://sp.example.org/sp";
    ck_assert_int_eq(anc_verifier_create(pool, &sp, fx_trust(pool), &v, &err),
                     ANC_E_CONFIG);
    sp.acs_url = "https://sp.example.org/saml/acs";
    ck_assert_int_eq(anc_verifier_create(pool, &sp, anc_trust_create(pool), &v, &err),
                     ANC_E_CONFIG);
    ck_assert_int_eq(anc_verifier_create(pool, &sp, fx_trust(pool), &v, &err), ANC_OK);
}
END_TEST

static Suite *response_suite(void)
{
    Suite *s = suite_create("response");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_manifest);
    tcase_add_test(tc, test_record_fields);
    tcase_add_test(tc, test_record_statements);
    tcase_add_test(tc, test_comment_inside_values);
    tcase_add_test(tc, test_comment_split_value_accepted_whole);
    tcase_add_test(tc, test_wrapping_assertion_in_extensions);
    tcase_add_test(tc, test_wrapping_response_in_extensions);
    tcase_add_test(tc, test_tampering_detected);
    tcase_add_test(tc, test_unsigned_envelope_checked);
    tcase_add_test(tc, test_core_cases);
    tcase_add_test(tc, test_threads_share_verifier);
    tcase_add_test(tc, test_fail_closed);
    tcase_add_test(tc, test_replay_and_time_window);
    tcase_add_test(tc, test_decode);
    tcase_add_test(tc, test_decode_random_round_trip);
    tcase_add_test(tc, test_verifier_config);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return anc_test_run_suite(response_suite());
}
