/*
 * anc_response.h - strict verification of a SAML 2.0 Response (HTTP-POST).
 *
 * A verifier (anc_verifier_t) is made once from the SP settings and the
 * trust store and is read-only afterwards. anc_response_verify() takes the
 * posted SAMLResponse value (base64) or raw XML and returns one of three
 * verdicts: an accepted assertion record, an IdP error status, or a
 * rejection with a stable reason (anc_error.h). It implements every rule of
 * DESIGN.md "Security rules"; each check cites its spec section in the code.
 */
#ifndef ANC_RESPONSE_H
#define ANC_RESPONSE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "anc_error.h"
#include "anc_metadata.h"
#include "anc_replay.h"

#define ANC_DEFAULT_MAX_RESPONSE_SIZE 262144
#define ANC_DEFAULT_CLOCK_SKEW 180 /* seconds */
#define ANC_MAX_XML_DEPTH 64

typedef struct anc_sp_config_t {
    const char *entity_id;        /* Audience we accept */
    const char *acs_url;          /* Destination / Recipient we accept */
    const anc_key_t *sp_key;      /* private key for EncryptedAssertion; NULL = none */
    int allow_unsolicited;        /* accept a Response without InResponseTo */
    int allow_sha1;               /* accept SHA-1 digests/signatures */
    int require_signed_assertion; /* the Assertion itself must be signed */
    apr_size_t max_response_size; /* bytes of the decoded XML; 0 = default */
    int clock_skew;               /* seconds; negative = default */
    /* seconds; 0 = no maximum (the default). An unsolicited assertion
     * whose IssueInstant is older than this (plus the clock skew) is
     * refused (ANC_E_EXPIRED), and its replay record is kept no longer
     * than that: an SP need not remember an unsolicited assertion for as
     * long as the IdP made it valid. Solicited ones are bounded by their
     * pending request instead. */
    int max_unsolicited_age;
} anc_sp_config_t;

typedef struct anc_verifier_t anc_verifier_t;

/* Errors: ANC_E_CONFIG (no entityID, ACS URL, or empty trust store). The
 * verifier keeps pointers to sp and trust: they must outlive it. */
anc_status_t anc_verifier_create(apr_pool_t *p, const anc_sp_config_t *sp,
                                 const anc_trust_t *trust, anc_verifier_t **verifier,
                                 anc_error_t **err);

/* Answers whether `in_response_to` names an outstanding AuthnRequest of
 * this SP (for this browser, in the module). Must not consume it: the
 * caller consumes after an accept. Returns ANC_OK, ANC_E_IN_RESPONSE_TO when
 * unknown or used, or ANC_E_CACHE when the store cannot answer. */
typedef anc_status_t (*anc_request_lookup_fn)(void *ctx, const char *in_response_to,
                                              apr_pool_t *scratch, anc_error_t **err);

typedef struct anc_verify_input_t {
    const char *data; /* SAMLResponse form value (base64) or raw XML */
    apr_size_t len;
    apr_time_t now;
    anc_request_lookup_fn request_lookup; /* NULL = no outstanding requests */
    void *request_lookup_ctx;
    const anc_replay_cache_t *replay; /* NULL = no replay check (tests only) */
    const char *expected_idp;         /* entityID the SP expects; NULL = any trusted */
} anc_verify_input_t;

typedef struct anc_name_id_t {
    const char *value;
    const char *format; /* NULL when absent */
    const char *name_qualifier;
    const char *sp_name_qualifier;
} anc_name_id_t;

typedef struct anc_attribute_t {
    const char *name;
    const char *name_format;    /* NULL when absent */
    const char *friendly_name;  /* NULL when absent */
    apr_array_header_t *values; /* of const char *: whole text content each */
} anc_attribute_t;

/* One AuthnStatement (SAML core 2.7.2): its own class(es), instant and
 * session. Freshness is judged per statement (anc_policy_fresh_instant),
 * never with one statement's instant for another's class. */
typedef struct anc_authn_statement_t {
    apr_array_header_t *class_refs;     /* const char *: its ClassRef (the schema
                                           allows one; empty with only a DeclRef) */
    apr_time_t authn_instant;           /* AuthnInstant (required) */
    const char *authn_instant_text;     /* as sent (xs:dateTime) */
    const char *session_index;          /* NULL when absent */
    apr_time_t session_not_on_or_after; /* 0 when absent */
} anc_authn_statement_t;

/* The immutable record of one verified assertion. Text values are whole
 * text content; class values are xs:anyURI whitespace-collapsed. */
typedef struct anc_assertion_t {
    const char *idp; /* Issuer (== metadata entityID) */
    anc_name_id_t name_id;
    apr_array_header_t *authn_context_class_refs; /* const char *, every
                                      AuthnStatement, document order */
    const char *authn_context_decl_ref;           /* NULL when absent */
    apr_array_header_t *authn_statements;         /* anc_authn_statement_t, every
                                                     one, document order */
    apr_time_t authn_instant;                     /* the OLDEST statement's (fail safe for
                                                     any single-instant use); 0 if none */
    const char *authn_instant_text;               /* that statement's, as sent */
    const char *session_index;                    /* the first SessionIndex present in
                                                     document order; NULL when none */
    apr_time_t session_not_on_or_after;           /* earliest of all; 0 when absent */
    apr_array_header_t *authenticating_authorities; /* const char * */
    apr_array_header_t *attributes;                 /* anc_attribute_t */
    const char *assertion_id;
    apr_time_t not_on_or_after; /* the replay horizon: Conditions or
                                   SubjectConfirmationData NotOnOrAfter */
    const char *response_id;
    const char *in_response_to; /* NULL for unsolicited */
    int was_encrypted;
} anc_assertion_t;

/* A non-Success Status (SAML core 3.2.2.2), for the error redirect. */
typedef struct anc_idp_status_t {
    const char *idp;            /* Issuer, when present and trusted */
    const char *status_code;    /* top-level StatusCode Value */
    const char *status_code2;   /* second-level StatusCode Value or NULL */
    const char *status_message; /* or NULL */
    const char *in_response_to; /* or NULL */
    const char *response_id;
} anc_idp_status_t;

typedef enum {
    ANC_VERDICT_ACCEPT = 0,
    ANC_VERDICT_REJECT,
    ANC_VERDICT_IDP_ERROR
} anc_verdict_t;

typedef struct anc_verify_result_t {
    anc_verdict_t verdict;
    const anc_assertion_t *assertion; /* ACCEPT only */
    const anc_idp_status_t *status;   /* IDP_ERROR only */
    const anc_error_t *error;         /* REJECT only */
} anc_verify_result_t;

/* Verifies one Response. Always fills *result (allocated in p) and returns
 * ANC_OK for ACCEPT and IDP_ERROR, or the rejection's status code (also in
 * result->error). An IDP_ERROR Response must still come from a trusted
 * Issuer, to this Destination, answering a known request (or be allowed
 * unsolicited); if it carries a Signature, the signature must verify.
 * Both verdicts also need a Response (and decrypted Assertion) that the
 * SAML 2.0 schemas allow, else ANC_E_XML_SCHEMA (src/anc_structure.h). The
 * replay cache is consulted last, only for an otherwise valid assertion.
 * Thread safe for one verifier used by many threads with distinct pools. */
anc_status_t anc_response_verify(apr_pool_t *p, const anc_verifier_t *verifier,
                                 const anc_verify_input_t *in,
                                 anc_verify_result_t **result);

/* Decodes a SAMLResponse form value: base64 (whitespace allowed) or raw
 * XML when the first non-space byte is '<'. Errors: ANC_E_INPUT,
 * ANC_E_TOO_LARGE. */
anc_status_t anc_response_decode(apr_pool_t *p, const char *data, apr_size_t len,
                                 apr_size_t max, const char **xml, apr_size_t *xml_len,
                                 anc_error_t **err);

/* Parses an xs:dateTime (UTC, 'Z' or an offset, optional fraction) into
 * apr_time_t. Errors: ANC_E_INPUT. */
anc_status_t anc_time_parse(const char *text, apr_time_t *t);
/* Formats t as xs:dateTime in UTC with a 'Z' and no fraction. */
const char *anc_time_format(apr_pool_t *p, apr_time_t t);

#endif
