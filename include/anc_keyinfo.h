/*
 * anc_keyinfo.h - key fingerprints for people: which key signed, which keys
 * metadata holds. Diagnostic only: nothing here decides trust (a key in a
 * message's KeyInfo is never trusted; DESIGN.md).
 *
 * A fingerprint is the SHA-256 of the key's SubjectPublicKeyInfo (DER),
 * lowercase hex with colons, so a certificate and a bare key of the same
 * key pair (and a renewed certificate of the same key) print the same.
 */
#ifndef ANC_KEYINFO_H
#define ANC_KEYINFO_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "anc_error.h"
#include "anc_metadata.h"

/* The fingerprint of a loaded key, or NULL when it cannot be encoded. */
const char *anc_key_fingerprint(apr_pool_t *p, const anc_key_t *key);

/* The fingerprints (array of const char *) of every ds:X509Certificate in an
 * XML document (a Response as posted: base64 or raw XML), in document
 * order; a certificate that does not parse is listed as "unparsable".
 * The document is parsed with the core's safe parser and caps.
 * Errors: those of anc_response_decode and anc_xml_parse. */
anc_status_t anc_keyinfo_fingerprints(apr_pool_t *p, const char *data, apr_size_t len,
                                      apr_size_t max_size,
                                      apr_array_header_t **fingerprints,
                                      anc_error_t **err);

#endif
