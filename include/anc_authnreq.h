/*
 * anc_authnreq.h - outbound AuthnRequests and the SAML bindings.
 *
 * Builds <samlp:AuthnRequest> (SAML core 3.4.1) with RequestedAuthnContext,
 * encodes it for HTTP-Redirect (bindings 3.4.4: raw DEFLATE, base64, URL
 * encoding, SigAlg + Signature over the exact query string) or HTTP-POST
 * (bindings 3.5: enveloped-signed XML in an auto-submitting form), and
 * decodes a Redirect-binding message (for tests, the fuzzer and SLO).
 */
#ifndef ANC_AUTHNREQ_H
#define ANC_AUTHNREQ_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "anc_error.h"
#include "anc_metadata.h"
#include "anc_policy.h"

#define ANC_SIG_RSA_SHA256 "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
#define ANC_SIG_RSA_SHA384 "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
#define ANC_SIG_RSA_SHA512 "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"

typedef struct anc_authnreq_t {
    const char *id; /* "_" + random hex; see anc_random_hex */
    apr_time_t issue_instant;
    const char *destination; /* IdP SSO URL for the binding */
    const char *acs_url;
    const char *issuer; /* SP entityID */
    int force_authn;
    int is_passive;
    int allow_create;           /* NameIDPolicy AllowCreate */
    const char *name_id_format; /* NULL = none in NameIDPolicy */
    int has_requested_context;
    anc_comparison_t comparison;
    const apr_array_header_t *classes; /* const char *, in order */
} anc_authnreq_t;

/* The AuthnRequest XML (UTF-8, no XML declaration). Errors: ANC_E_CONFIG
 * (missing id/destination/acs_url/issuer, requested context without any
 * class). */
anc_status_t anc_authnreq_xml(apr_pool_t *p, const anc_authnreq_t *req, const char **xml,
                              anc_error_t **err);

/* The full redirect URL: destination + ('?' or '&') + SAMLRequest=...
 * [&RelayState=...][&SigAlg=...&Signature=...]. sign_key NULL = unsigned.
 * sig_alg one of ANC_SIG_RSA_SHA* (NULL = RSA-SHA256); the key must be RSA.
 * relay_state NULL or "" = none. Errors: ANC_E_CONFIG (destination with a
 * '#', RelayState over 80 bytes (bindings 3.4.3), unknown sig_alg, non-RSA
 * key), ANC_E_INTERNAL. */
anc_status_t anc_redirect_encode(apr_pool_t *p, const char *destination, const char *xml,
                                 const char *relay_state, const anc_key_t *sign_key,
                                 const char *sig_alg, const char **url,
                                 anc_error_t **err);

/* anc_redirect_encode with the message parameter named: "SAMLRequest" or
 * "SAMLResponse" (a LogoutResponse, SAML bindings 3.4.4.1). Errors: as
 * anc_redirect_encode; ANC_E_CONFIG for another name. */
anc_status_t anc_redirect_encode_param(apr_pool_t *p, const char *param,
                                       const char *destination, const char *xml,
                                       const char *relay_state, const anc_key_t *sign_key,
                                       const char *sig_alg, const char **url,
                                       anc_error_t **err);

/* An HTML page that POSTs SAMLRequest (enveloped-signed when sign_key is
 * given) and RelayState to destination, auto-submitting with a script and
 * with a visible button when scripts are off. Values HTML-escaped. The
 * signature: sig_alg (NULL = RSA-SHA256), exclusive C14N, one Reference to
 * the root's ID, placed after saml:Issuer, the certificate in KeyInfo when
 * the key has one. The auto-submit is an inline onload handler: a site
 * with a strict Content-Security-Policy must allow it. Errors:
 * ANC_E_CONFIG (RelayState over 80 bytes, unknown sig_alg, XML that does
 * not parse or has no ID), ANC_E_INTERNAL. */
anc_status_t anc_post_form(apr_pool_t *p, const char *destination, const char *xml,
                           const char *relay_state, const anc_key_t *sign_key,
                           const char *sig_alg, const char **html, anc_error_t **err);

/* anc_post_form with the form field named "SAMLRequest" or "SAMLResponse"
 * (bindings 3.5.4). Errors: as anc_post_form. */
anc_status_t anc_post_form_param(apr_pool_t *p, const char *param,
                                 const char *destination, const char *xml,
                                 const char *relay_state, const anc_key_t *sign_key,
                                 const char *sig_alg, const char **html,
                                 anc_error_t **err);

/* Decodes a Redirect-binding query string (SAMLRequest or SAMLResponse,
 * RelayState, SigAlg, Signature). The inflated XML is capped at max bytes
 * (0 = 262144). When verify_key is given, the signature is required and
 * checked over the exact octets of the query (the raw received values, in
 * the order bindings 3.4.4.1 fixes); only RSA-SHA256/384/512 are allowed.
 * A leading '?' is skipped; unknown parameters are ignored; a repeated
 * known parameter, both or neither of SAMLRequest/SAMLResponse, SigAlg
 * without Signature (or the reverse), bad %-escapes, %00, non-strict
 * base64, bad or trailing DEFLATE data, or a NUL in the XML give
 * ANC_E_BINDING. Errors: ANC_E_BINDING, ANC_E_TOO_LARGE,
 * ANC_E_SIG_MISSING, ANC_E_SIG_INVALID, ANC_E_SIG_ALGORITHM. */
typedef struct anc_redirect_msg_t {
    const char *param; /* "SAMLRequest" or "SAMLResponse" */
    const char *xml;
    apr_size_t xml_len;
    const char *relay_state; /* NULL when absent */
    const char *sig_alg;     /* NULL when absent */
} anc_redirect_msg_t;
anc_status_t anc_redirect_decode(apr_pool_t *p, const char *query, apr_size_t max,
                                 const anc_key_t *verify_key, anc_redirect_msg_t **msg,
                                 anc_error_t **err);

/* URL-encodes s (RFC 3986 unreserved kept) into p. */
const char *anc_url_encode(apr_pool_t *p, const char *s);
/* HTML-escapes s (& < > " ') into p. */
const char *anc_html_escape(apr_pool_t *p, const char *s);

#endif
