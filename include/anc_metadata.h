/*
 * anc_metadata.h - trusted IdPs from SAML metadata, SP keys, SP metadata.
 *
 * A trust store (anc_trust_t) is built once at start-up from one or more
 * metadata files (EntityDescriptor or EntitiesDescriptor) and is read-only
 * afterwards, so worker threads may share it. Only IdPSSODescriptor entities
 * are kept. Signing keys come from KeyDescriptor use="signing" or without a
 * use attribute (ds:X509Certificate or ds:KeyValue). Keys carried in a
 * message are never trusted: only keys loaded here verify signatures.
 */
#ifndef ANC_METADATA_H
#define ANC_METADATA_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "anc_error.h"

#define ANC_BINDING_REDIRECT "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
#define ANC_BINDING_POST "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

typedef struct anc_endpoint_t {
    const char *binding;  /* binding URI */
    const char *location; /* URL */
} anc_endpoint_t;

/* An opaque key: an xmlsec key plus its OpenSSL EVP_PKEY. Owned by the pool
 * it was loaded into (freed by a pool cleanup). */
typedef struct anc_key_t anc_key_t;

typedef struct anc_idp_t {
    const char *entity_id;
    apr_array_header_t *signing_keys;  /* of anc_key_t *; at least one */
    apr_array_header_t *sso_endpoints; /* of anc_endpoint_t, document order */
    apr_array_header_t *slo_endpoints; /* of anc_endpoint_t, document order */
    int want_authn_requests_signed;    /* WantAuthnRequestsSigned="true" */
} anc_idp_t;

typedef struct anc_trust_t anc_trust_t;

/* Creates an empty trust store in pool p. */
anc_trust_t *anc_trust_create(apr_pool_t *p);

/* Adds every IdP of a metadata document (file path or bytes) to the store.
 * Errors: ANC_E_INPUT (unreadable file), ANC_E_XML_PARSE, ANC_E_XML_DTD,
 * ANC_E_METADATA (no IdPSSODescriptor, an IdP without a usable signing key,
 * an entityID seen twice), ANC_E_KEY (a certificate that does not parse). */
anc_status_t anc_trust_load_file(anc_trust_t *trust, const char *path, anc_error_t **err);
anc_status_t anc_trust_load_memory(anc_trust_t *trust, const char *data, apr_size_t len,
                                   anc_error_t **err);

/* The IdP with that entityID, or NULL. */
const anc_idp_t *anc_trust_find(const anc_trust_t *trust, const char *entity_id);
/* Number of IdPs, and the first one (the default when only one is loaded). */
int anc_trust_count(const anc_trust_t *trust);
const anc_idp_t *anc_trust_first(const anc_trust_t *trust);
/* All IdPs (array of const anc_idp_t *), in load order. */
const apr_array_header_t *anc_trust_idps(const anc_trust_t *trust);

/* The first SSO endpoint of the IdP for the binding, or NULL. */
const char *anc_idp_sso_location(const anc_idp_t *idp, const char *binding);

/* Loads the SP's private key (PEM, unencrypted) and, optionally, its
 * certificate (PEM). Errors: ANC_E_KEY. */
anc_status_t anc_key_load_private(apr_pool_t *p, const char *key_path,
                                  const char *cert_path, anc_key_t **key,
                                  anc_error_t **err);
/* Loads a certificate (PEM or DER) as a public key. Errors: ANC_E_KEY. */
anc_status_t anc_key_load_cert(apr_pool_t *p, const char *cert_path, anc_key_t **key,
                               anc_error_t **err);
/* The certificate as base64 DER without PEM armour (for metadata), or NULL
 * when the key has no certificate. */
const char *anc_key_cert_base64(const anc_key_t *key);
/* The OpenSSL EVP_PKEY (borrowed; as void * so this header needs no
 * OpenSSL include). */
void *anc_key_evp(const anc_key_t *key);
/* The xmlsec key (an xmlSecKeyPtr, borrowed; as void * so this header needs
 * no xmlsec include). Used to sign HTTP-POST AuthnRequests: callers that
 * hand it to an xmlSecDSigCtx duplicate it first (xmlSecKeyDuplicate),
 * because the context frees its signKey. Never NULL for a loaded key. */
void *anc_key_xmlsec(const anc_key_t *key);

typedef struct anc_sp_metadata_t {
    const char *entity_id;
    const char *acs_url;   /* HTTP-POST AssertionConsumerService */
    const char *slo_url;   /* may be NULL */
    const anc_key_t *cert; /* signing+encryption cert; may be NULL */
    int authn_requests_signed;
    int want_assertions_signed;
} anc_sp_metadata_t;

/* The SP's EntityDescriptor as a UTF-8 XML string allocated in p.
 * Errors: ANC_E_CONFIG (no entityID or ACS URL). */
anc_status_t anc_sp_metadata_build(apr_pool_t *p, const anc_sp_metadata_t *sp,
                                   const char **xml, anc_error_t **err);

#endif
