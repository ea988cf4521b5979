/*
 * anc_error.h - status codes of the core and their stable reason strings.
 *
 * Every function of the core that can fail returns an anc_status_t and, when
 * asked, fills an anc_error_t allocated in the caller's pool. The reason
 * string of a status is part of the product's contract: the CLI prints it,
 * the module logs it, README.md lists it. Never rename one; add new ones.
 */
#ifndef ANC_ERROR_H
#define ANC_ERROR_H

#include <apr_pools.h>

typedef enum {
    ANC_OK = 0,
    /* input and XML safety */
    ANC_E_INPUT,      /* "bad-input": empty, not base64, not XML */
    ANC_E_TOO_LARGE,  /* "too-large": over the size cap */
    ANC_E_XML_PARSE,  /* "xml-parse": malformed XML or bad UTF-8 */
    ANC_E_XML_DTD,    /* "xml-dtd": DOCTYPE / entity declarations */
    ANC_E_XML_DEPTH,  /* "xml-too-deep": nesting over the cap */
    ANC_E_XML_SCHEMA, /* "xml-schema": missing/duplicated required element or attribute */
    ANC_E_DUPLICATE_ID, /* "duplicate-id": two elements with one ID */
    ANC_E_NOT_RESPONSE, /* "not-a-response": root is not samlp:Response */
    ANC_E_VERSION,      /* "bad-version": Version is not 2.0 */
    /* issuer, destination, binding */
    ANC_E_ISSUER,         /* "issuer-mismatch": Response/Assertion Issuer not the IdP */
    ANC_E_UNKNOWN_IDP,    /* "unknown-idp": Issuer not in metadata */
    ANC_E_DESTINATION,    /* "destination-mismatch" */
    ANC_E_IN_RESPONSE_TO, /* "in-response-to-unknown": not a request we sent / consumed */
    ANC_E_UNSOLICITED,    /* "unsolicited-disallowed" */
    ANC_E_STATUS_WITH_ASSERTION, /* "status-with-assertion": non-Success carrying
                                    assertions */
    /* assertion presence */
    ANC_E_NO_ASSERTION,        /* "no-assertion" */
    ANC_E_MULTIPLE_ASSERTIONS, /* "multiple-assertions" */
    /* signatures */
    ANC_E_SIG_MISSING,   /* "signature-missing": nothing signed / assertion unsigned when
                            required */
    ANC_E_SIG_INVALID,   /* "signature-invalid": does not verify with any metadata key */
    ANC_E_SIG_REFERENCE, /* "signature-reference": not exactly one Reference to the
                            parent's ID */
    ANC_E_SIG_TRANSFORM, /* "signature-transform": transform not allowed */
    ANC_E_SIG_ALGORITHM, /* "signature-algorithm": digest/signature algorithm not allowed
                          */
    ANC_E_SIG_WRAPPING, /* "signature-wrapping": signed element is not the element used */
    /* encryption */
    ANC_E_DECRYPT,   /* "decrypt-failed" */
    ANC_E_NO_SP_KEY, /* "no-sp-key": EncryptedAssertion but no SP key configured */
    /* conditions and subject */
    ANC_E_EXPIRED,              /* "expired": NotOnOrAfter passed (Conditions or
                                   SubjectConfirmationData) */
    ANC_E_NOT_YET_VALID,        /* "not-yet-valid": NotBefore in the future */
    ANC_E_AUDIENCE,             /* "audience-mismatch" */
    ANC_E_SUBJECT_CONFIRMATION, /* "subject-confirmation": no valid bearer confirmation */
    ANC_E_RECIPIENT,            /* "recipient-mismatch" */
    ANC_E_NO_AUTHN_STATEMENT,   /* "no-authn-statement" */
    ANC_E_NO_NAMEID,            /* "no-subject": no Subject/NameID */
    ANC_E_REPLAY,               /* "replay": assertion ID already seen */
    /* configuration and environment */
    ANC_E_METADATA, /* "metadata-invalid" */
    ANC_E_KEY,      /* "key-invalid": unreadable key or certificate */
    ANC_E_CONFIG,   /* "config-invalid" */
    ANC_E_CACHE,    /* "cache-unavailable": replay/session store failed: fail closed */
    ANC_E_POLICY,   /* "insufficient-context": classes do not satisfy a policy */
    ANC_E_BINDING,  /* "binding-invalid": bad Redirect/POST binding encoding */
    ANC_E_INTERNAL, /* "internal": a library failed (out of memory, crypto init) */
    ANC_E_XML_ENCODING, /* "xml-encoding": a declared or detected encoding other than
                           UTF-8 (UTF-16, UTF-7, EBCDIC, ...) */
    /* metadata sources */
    ANC_E_METADATA_SIG,      /* "metadata-signature": signature required by verify= is
                                missing, by another key, or breaks a rule */
    ANC_E_METADATA_VALIDITY, /* "metadata-validity": past validUntil, or (maxValidity)
                                no validUntil or one too far ahead */
    ANC_E_TOO_MANY,          /* "too-many-requests": a client over a per-client bound */
    /* Single Logout (anc_logout.h) */
    ANC_E_LOGOUT_SIGNATURE,   /* "logout-signature": a logout message unsigned, or its
                                 signature not by the IdP's metadata key or breaking a
                                 rule (the detail names which) */
    ANC_E_LOGOUT_ISSUER,      /* "logout-issuer": no Issuer, or not a trusted IdP */
    ANC_E_LOGOUT_DESTINATION, /* "logout-destination": Destination absent or not our SLO
                                 URL */
    ANC_E_LOGOUT_STALE,       /* "logout-stale": IssueInstant outside the clock skew and
                                 transit time, or NotOnOrAfter passed */
    ANC_E_LOGOUT_REPLAY,      /* "logout-replay": LogoutRequest ID already seen */
    ANC_E_LOGOUT_UNSOLICITED, /* "logout-unsolicited": LogoutResponse that answers no
                                 pending LogoutRequest of ours (or another IdP's) */
    ANC_E_IDP_NOT_ALLOWED,    /* "idp-not-allowed": an IdP in metadata that this location
                                 does not offer (AuthnContextIdP) */
    ANC_E__COUNT
} anc_status_t;

typedef struct anc_error_t {
    anc_status_t code;
    const char *reason; /* anc_reason(code): stable, machine readable */
    const char *detail; /* human readable, may be NULL; never holds secrets */
} anc_error_t;

/* The stable reason string of a status ("ok" for ANC_OK, "internal" for
 * unknown values). Never NULL. */
const char *anc_reason(anc_status_t code);

/* Looks a reason string up; returns ANC_E__COUNT when unknown. */
anc_status_t anc_reason_lookup(const char *reason);

/* Fills *err (when err is not NULL) with an error allocated in pool p, the
 * detail formatted printf-style, and returns code. Usage:
 *     return anc_error_set(p, err, ANC_E_AUDIENCE, "audience %s", aud);   */
anc_status_t anc_error_set(apr_pool_t *p, anc_error_t **err, anc_status_t code,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
