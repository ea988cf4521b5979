/*
 * anc_error.c - the reason strings of anc_status_t and error records.
 */
#include <stdarg.h>
#include <string.h>

#include <apr_strings.h>

#include "anc_error.h"

/* Indexed by anc_status_t. These strings are the product's contract (CLI
 * output, log lines, README): append, never rename. */
static const char *const reason_names[ANC_E__COUNT] = {
    [ANC_OK] = "ok",
    [ANC_E_INPUT] = "bad-input",
    [ANC_E_TOO_LARGE] = "too-large",
    [ANC_E_XML_PARSE] = "xml-parse",
    [ANC_E_XML_DTD] = "xml-dtd",
    [ANC_E_XML_DEPTH] = "xml-too-deep",
    [ANC_E_XML_SCHEMA] = "xml-schema",
    [ANC_E_DUPLICATE_ID] = "duplicate-id",
    [ANC_E_NOT_RESPONSE] = "not-a-response",
    [ANC_E_VERSION] = "bad-version",
    [ANC_E_ISSUER] = "issuer-mismatch",
    [ANC_E_UNKNOWN_IDP] = "unknown-idp",
    [ANC_E_DESTINATION] = "destination-mismatch",
    [ANC_E_IN_RESPONSE_TO] = "in-response-to-unknown",
    [ANC_E_UNSOLICITED] = "unsolicited-disallowed",
    [ANC_E_STATUS_WITH_ASSERTION] = "status-with-assertion",
    [ANC_E_NO_ASSERTION] = "no-assertion",
    [ANC_E_MULTIPLE_ASSERTIONS] = "multiple-assertions",
    [ANC_E_SIG_MISSING] = "signature-missing",
    [ANC_E_SIG_INVALID] = "signature-invalid",
    [ANC_E_SIG_REFERENCE] = "signature-reference",
    [ANC_E_SIG_TRANSFORM] = "signature-transform",
    [ANC_E_SIG_ALGORITHM] = "signature-algorithm",
    [ANC_E_SIG_WRAPPING] = "signature-wrapping",
    [ANC_E_DECRYPT] = "decrypt-failed",
    [ANC_E_NO_SP_KEY] = "no-sp-key",
    [ANC_E_EXPIRED] = "expired",
    [ANC_E_NOT_YET_VALID] = "not-yet-valid",
    [ANC_E_AUDIENCE] = "audience-mismatch",
    [ANC_E_SUBJECT_CONFIRMATION] = "subject-confirmation",
    [ANC_E_RECIPIENT] = "recipient-mismatch",
    [ANC_E_NO_AUTHN_STATEMENT] = "no-authn-statement",
    [ANC_E_NO_NAMEID] = "no-subject",
    [ANC_E_REPLAY] = "replay",
    [ANC_E_METADATA] = "metadata-invalid",
    [ANC_E_KEY] = "key-invalid",
    [ANC_E_CONFIG] = "config-invalid",
    [ANC_E_CACHE] = "cache-unavailable",
    [ANC_E_POLICY] = "insufficient-context",
    [ANC_E_BINDING] = "binding-invalid",
    [ANC_E_INTERNAL] = "internal",
    [ANC_E_XML_ENCODING] = "xml-encoding",
    [ANC_E_METADATA_SIG] = "metadata-signature",
    [ANC_E_METADATA_VALIDITY] = "metadata-validity",
    [ANC_E_TOO_MANY] = "too-many-requests",
    [ANC_E_LOGOUT_SIGNATURE] = "logout-signature",
    [ANC_E_LOGOUT_ISSUER] = "logout-issuer",
    [ANC_E_LOGOUT_DESTINATION] = "logout-destination",
    [ANC_E_LOGOUT_STALE] = "logout-stale",
    [ANC_E_LOGOUT_REPLAY] = "logout-replay",
    [ANC_E_LOGOUT_UNSOLICITED] = "logout-unsolicited",
    [ANC_E_IDP_NOT_ALLOWED] = "idp-not-allowed",
};

const char *anc_reason(anc_status_t code)
{
    if ((int)code < 0 || code >= ANC_E__COUNT || reason_names[code] == NULL) {
        return "internal";
    }
    return reason_names[code];
}

anc_status_t anc_reason_lookup(const char *reason)
{
    int i;

    if (reason == NULL) {
        return ANC_E__COUNT;
    }
    for (i = 0; i < ANC_E__COUNT; i++) {
        if (reason_names[i] != NULL && strcmp(reason_names[i], reason) == 0) {
            return (anc_status_t)i;
        }
    }
    return ANC_E__COUNT;
}

anc_status_t anc_error_set(apr_pool_t *p, anc_error_t **err, anc_status_t code,
                           const char *fmt, ...)
{
    anc_error_t *e;
    va_list ap;

    if (err == NULL) {
        return code;
    }
    e = apr_pcalloc(p, sizeof(*e));
    e->code = code;
    e->reason = anc_reason(code);
    if (fmt != NULL) {
        va_start(ap, fmt);
        e->detail = apr_pvsprintf(p, fmt, ap);
        va_end(ap);
    }
    *err = e;
    return code;
}
