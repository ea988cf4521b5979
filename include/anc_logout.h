/*
 * anc_logout.h - SAML 2.0 Single Logout, front channel (SAML core 3.7,
 * profiles 4.4, bindings 3.4 HTTP-Redirect and 3.5 HTTP-POST).
 *
 * Builds the SP's LogoutRequest and LogoutResponse, and verifies the IdP's
 * LogoutRequest and LogoutResponse from either binding: signature by the
 * IdP's metadata key (Redirect: over the exact received query octets; POST:
 * the enveloped signature under anc_dsig_verify's rules), Issuer a trusted
 * IdP, Destination our SLO URL, IssueInstant fresh, NotOnOrAfter not
 * passed, InResponseTo a pending request of ours (responses), ID not seen
 * before (requests). The encodings (DEFLATE, base64, the query signature,
 * the POST form) are anc_authnreq.h's.
 */
#ifndef ANC_LOGOUT_H
#define ANC_LOGOUT_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "anc_error.h"
#include "anc_metadata.h"
#include "anc_replay.h"
#include "anc_response.h"
#include "anc_session.h"

#define ANC_STATUS_SUCCESS "urn:oasis:names:tc:SAML:2.0:status:Success"
#define ANC_STATUS_REQUESTER "urn:oasis:names:tc:SAML:2.0:status:Requester"
#define ANC_STATUS_RESPONDER "urn:oasis:names:tc:SAML:2.0:status:Responder"
#define ANC_STATUS_PARTIAL_LOGOUT "urn:oasis:names:tc:SAML:2.0:status:PartialLogout"

/* How long a logout message may have been under way (browser redirects),
 * on top of the clock skew, before it is stale. */
#define ANC_LOGOUT_MAX_AGE 120 /* seconds */

typedef struct anc_logout_request_t {
    const char *id; /* "_" + random hex */
    apr_time_t issue_instant;
    const char *destination;    /* the IdP's SingleLogoutService Location */
    const char *issuer;         /* SP entityID */
    apr_time_t not_on_or_after; /* 0 = none */
    anc_name_id_t name_id;      /* value required; the rest as the
                                   assertion gave them (NULL = none) */
    const apr_array_header_t *session_indexes; /* const char *, may be NULL */
} anc_logout_request_t;

/* <samlp:LogoutRequest> (SAML core 3.7.1), UTF-8, no XML declaration.
 * Errors: ANC_E_CONFIG (no id, destination, issuer or NameID value, a value
 * that is not UTF-8), ANC_E_INTERNAL. */
anc_status_t anc_logout_request_xml(apr_pool_t *p, const anc_logout_request_t *req,
                                    const char **xml, anc_error_t **err);

typedef struct anc_logout_response_t {
    const char *id;
    apr_time_t issue_instant;
    const char *destination;    /* ResponseLocation, else Location */
    const char *issuer;         /* SP entityID */
    const char *in_response_to; /* the request's ID */
    const char *status_code;    /* NULL = Success */
    const char *status_code2;   /* second level (PartialLogout) or NULL */
    const char *status_message; /* or NULL */
} anc_logout_response_t;

/* <samlp:LogoutResponse> (SAML core 3.7.2, StatusResponseType 3.2.2).
 * Errors: ANC_E_CONFIG (no id, destination, issuer; non-UTF-8),
 * ANC_E_INTERNAL. */
anc_status_t anc_logout_response_xml(apr_pool_t *p, const anc_logout_response_t *res,
                                     const char **xml, anc_error_t **err);

/* What a verification needs from the SP. */
typedef struct anc_logout_cfg_t {
    const char *sp_entity_id;
    const char *slo_url; /* the Destination we accept: PATH/slo as an absolute URL */
    const anc_trust_t *trust;
    int allow_sha1;
    int clock_skew;      /* seconds; negative = ANC_DEFAULT_CLOCK_SKEW */
    apr_size_t max_size; /* the decoded XML; 0 = ANC_DEFAULT_MAX_RESPONSE_SIZE */
} anc_logout_cfg_t;

#define ANC_LOGOUT_BINDING_REDIRECT 1
#define ANC_LOGOUT_BINDING_POST 2

typedef struct anc_logout_input_t {
    int binding;       /* ANC_LOGOUT_BINDING_* */
    const char *query; /* Redirect: the raw query string as received */
    const char *param; /* POST: "SAMLRequest" or "SAMLResponse" */
    const char *value; /* POST: the form value (base64) */
    apr_size_t value_len;
    const char *relay_state; /* POST: the RelayState field, or NULL */
    apr_time_t now;
    /* LogoutRequest: the replay cache (NULL = no check, tests only). */
    const anc_replay_cache_t *replay;
    /* LogoutResponse: whether InResponseTo is a pending LogoutRequest of
     * ours sent to this issuer (the glue's store); NULL = none pending. */
    anc_status_t (*request_lookup)(void *ctx, const char *in_response_to,
                                   const char *issuer, apr_pool_t *scratch,
                                   anc_error_t **err);
    void *request_lookup_ctx;
} anc_logout_input_t;

typedef struct anc_logout_msg_t {
    int is_request; /* LogoutRequest (1) or LogoutResponse (0) */
    int binding;
    const char *id;
    const char *issuer; /* == idp->entity_id */
    const anc_idp_t *idp;
    apr_time_t issue_instant;
    const char *destination;
    const char *relay_state; /* decoded; NULL when absent */
    /* LogoutRequest */
    anc_name_id_t name_id;
    apr_array_header_t *session_indexes; /* const char *, document order */
    apr_time_t not_on_or_after;          /* 0 when absent */
    const char *reason;                  /* @Reason or NULL */
    /* LogoutResponse */
    const char *in_response_to;
    const char *status_code;
    const char *status_code2;
    const char *status_message;
} anc_logout_msg_t;

/* Decodes, parses and verifies one incoming logout message. The order: the
 * binding (anc_redirect_decode / anc_response_decode), safe parsing (UTF-8
 * only, no DTD, depth and size caps), the root (LogoutRequest for
 * SAMLRequest, LogoutResponse for SAMLResponse), Version, ID, the SAML
 * schema (anc_structure_check), Issuer, the signature (required),
 * Destination (required), IssueInstant, NotOnOrAfter, then InResponseTo
 * (responses) or the replay cache (requests: the ID, kept until the
 * message is stale). Errors: ANC_E_BINDING, ANC_E_INPUT, ANC_E_TOO_LARGE,
 * the XML codes, ANC_E_XML_SCHEMA, ANC_E_NOT_RESPONSE (wrong root),
 * ANC_E_VERSION, ANC_E_NO_NAMEID (no NameID: BaseID and EncryptedID are
 * not supported), ANC_E_LOGOUT_ISSUER, ANC_E_LOGOUT_SIGNATURE,
 * ANC_E_LOGOUT_DESTINATION, ANC_E_LOGOUT_STALE, ANC_E_LOGOUT_UNSOLICITED,
 * ANC_E_LOGOUT_REPLAY, ANC_E_CACHE. *msg is set on success only. */
anc_status_t anc_logout_verify(apr_pool_t *p, const anc_logout_cfg_t *cfg,
                               const anc_logout_input_t *in, anc_logout_msg_t **msg,
                               anc_error_t **err);

/* 1 when session s is one that LogoutRequest m names (SAML core 3.7.3.2):
 * the same IdP, the same NameID value, Format, NameQualifier and
 * SPNameQualifier (each compared when both sides have it; an absent one
 * means the default), and when m lists SessionIndexes, one of them among
 * the session's. */
int anc_logout_matches(const anc_logout_msg_t *m, const anc_session_t *s);

/* The key under which the sessions of one principal at one SP are
 * indexed: 32 hex chars of SHA-256 over the SP's entityID, the IdP's
 * entityID and the NameID value (NUL-separated). Virtual hosts with other
 * entityIDs that share a store keep apart: an IdP's LogoutRequest to one
 * SP does not end the sessions of another. */
const char *anc_logout_principal_key(apr_pool_t *p, const char *sp, const char *idp,
                                     const char *name_id);

#endif
