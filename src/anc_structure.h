/*
 * anc_structure.h - the SAML 2.0 schema check of a Response or Assertion
 * (internal).
 *
 * A message whose structure the schema does not allow is refused even when
 * the part the signature covers is fine and the extra part would be
 * ignored: whatever else reads the message (a proxy, a log, an application
 * given the raw response) may read that part instead.
 */
#ifndef ANC_STRUCTURE_H
#define ANC_STRUCTURE_H

#include <stddef.h>

#include <apr_pools.h>
#include <libxml/tree.h>

#include "anc_error.h"

/* One schema document carried in the binary (src/schemas/, embedded
 * by src/schemas/embed.sh); the table ends with a NULL name. */
typedef struct anc_schema_file_t {
    const char *name;
    const char *text;
    size_t len;
} anc_schema_file_t;

extern const anc_schema_file_t anc_schema_files[];

/* Compiles the embedded OASIS SAML 2.0 protocol schema (with the assertion,
 * XML Signature and XML Encryption schemas it imports) once per process;
 * called by anc_lib_init(). Only the embedded documents can be loaded while
 * it runs (a private entity loader, swapped in and out around the compile).
 * Errors: ANC_E_INTERNAL when the schema does not compile. */
anc_status_t anc_structure_init(apr_pool_t *p, anc_error_t **err);

/* Frees the compiled schema (anc_lib_init's cleanup). */
void anc_structure_shutdown(void);

/* Checks the subtree at elem (a samlp:Response, a decrypted
 * saml:Assertion, or a samlp:LogoutRequest / LogoutResponse) against the
 * schema, then against the rules the schema's
 * wildcards leave open:
 *   - an element whose local name is a SAML 2.0 assertion or protocol
 *     element's but whose namespace is another (a typo, SAML 1.x, none) is
 *     refused anywhere, Extensions, Advice and AttributeValue included;
 *   - an element in the SAML protocol namespace is allowed only under
 *     samlp:Response, samlp:LogoutRequest, samlp:LogoutResponse,
 *     samlp:Status or samlp:StatusCode (so not in Extensions,
 *     StatusDetail, Advice, AttributeValue, ds:Object...);
 *   - an element in the SAML assertion namespace is allowed only under a
 *     SAML element other than samlp:Extensions and samlp:StatusDetail, and
 *     saml:Assertion / saml:EncryptedAssertion only under samlp:Response or
 *     saml:Advice;
 *   - no attribute is in a SAML namespace (SAML declares none).
 * Run it after every signature check: validation registers the schema's
 * xs:ID attributes (ds:Signature/@Id, xenc @Id) as IDs in the document,
 * which must not widen what a signature Reference can resolve to.
 * Thread-safe: the compiled schema is only read; each call has its own
 * validation context in p.
 * Errors: ANC_E_XML_SCHEMA (with libxml2's first message as the detail),
 * ANC_E_INTERNAL (no schema compiled, or libxml2 failed). */
anc_status_t anc_structure_check(apr_pool_t *p, xmlNodePtr elem, anc_error_t **err);

#endif
