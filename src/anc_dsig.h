/*
 * anc_dsig.h - XML Signature verification with trusted keys only (internal),
 * and the layout of anc_key_t shared by metadata, dsig and decrypt.
 */
#ifndef ANC_DSIG_H
#define ANC_DSIG_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <xmlsec/keys.h>

#include "anc_error.h"
#include "anc_metadata.h"

struct anc_key_t {
    /* The bare key value (no X509 data attached), so duplicating it for a
     * signature context is a reference-count bump, not a certificate copy. */
    xmlSecKeyPtr key;
    EVP_PKEY *evp;        /* borrowed from key's value */
    X509 *cert;           /* may be NULL; owned (X509_free by cleanup) */
    const char *cert_b64; /* base64 DER of cert, or NULL */
    int is_private;
};

/* Wraps an EVP_PKEY (the reference is taken over) and an optional X509
 * (taken over) in a pool-owned anc_key_t. Errors: ANC_E_KEY. */
anc_status_t anc_key_wrap(apr_pool_t *p, EVP_PKEY *evp, X509 *cert, int is_private,
                          anc_key_t **key, anc_error_t **err);

/* Verifies sig, the ds:Signature that must be a direct child of signed, with
 * each key of keys (anc_key_t *) in turn; never a key from the message.
 * Before xmlsec runs, the SignedInfo is checked: exclusive C14N, an allowed
 * SignatureMethod, exactly one Reference whose URI is "#" + signed's ID,
 * the enveloped-signature and exclusive C14N transforms once each, an allowed
 * DigestMethod. After it, the return code, the context status and the
 * element the Reference resolves to (pointer equal to signed) are checked.
 * Errors: ANC_E_SIG_REFERENCE, ANC_E_SIG_TRANSFORM, ANC_E_SIG_ALGORITHM,
 * ANC_E_SIG_INVALID, ANC_E_SIG_WRAPPING, ANC_E_XML_SCHEMA, ANC_E_INTERNAL. */
anc_status_t anc_dsig_verify(apr_pool_t *p, xmlNodePtr signed_elem, xmlNodePtr sig,
                             const apr_array_header_t *keys, int allow_sha1,
                             anc_error_t **err);

/* Decrypts a saml:EncryptedAssertion (or any element holding one
 * xenc:EncryptedData and its xenc:EncryptedKey) with the SP's private key.
 * The plaintext is parsed by anc_xml_parse_in_context (same limits) in
 * the namespace context of enc, into a document of its own owned by p;
 * *out is the plaintext's element (not that document's root).
 * Key transport: RSA-OAEP only (xmlenc#rsa-oaep-mgf1p); RSA PKCS#1 v1.5 is
 * refused because decrypting attacker-chosen v1.5 ciphertext is a padding
 * oracle (Bleichenbacher). Content: AES-128/192/256-CBC, AES-128/192/256-GCM.
 * *malleable is set to 1 once CBC content has been decrypted: nothing
 * authenticated that plaintext (no GCM tag), so the caller must not let
 * its refusals tell apart what the plaintext was (see anc_response.c).
 * Errors: ANC_E_DECRYPT (also for plaintext that is not one UTF-8
 * element), ANC_E_NO_SP_KEY, and anc_xml_parse's other codes. */
anc_status_t anc_decrypt_element(apr_pool_t *p, xmlNodePtr enc, const anc_key_t *sp_key,
                                 apr_size_t max_size, int max_depth, xmlNodePtr *out,
                                 int *malleable, anc_error_t **err);

#endif
