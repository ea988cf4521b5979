/*
 * anc_xml.h - safe XML parsing and namespace-aware helpers (internal).
 *
 * Every document the core reads goes through anc_xml_parse(): no DTD, no
 * entities, no network, bounded size and depth, IDs registered and unique.
 * Lookups compare namespace URI and local name, never prefixes, because a
 * prefix is chosen by the sender and proves nothing.
 */
#ifndef ANC_XML_H
#define ANC_XML_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <libxml/tree.h>

#include "anc_error.h"

#define ANC_NS_SAMLP "urn:oasis:names:tc:SAML:2.0:protocol"
#define ANC_NS_SAML "urn:oasis:names:tc:SAML:2.0:assertion"
#define ANC_NS_MD "urn:oasis:names:tc:SAML:2.0:metadata"
#define ANC_NS_DS "http://www.w3.org/2000/09/xmldsig#"
#define ANC_NS_XENC "http://www.w3.org/2001/04/xmlenc#"

/* Most attributes (namespace declarations included) one element may have;
 * no SAML element comes near it. */
#define ANC_XML_MAX_ATTRS 256

/* Parses len bytes into a document owned by pool p (freed by a cleanup).
 * The bytes must be UTF-8 (a UTF-8 byte order mark allowed): any other
 * encoding, declared or detected (UTF-16 and UCS-4 with or without a BOM,
 * EBCDIC, UTF-7, ISO-8859-1, ...), is refused before libxml2 decodes
 * anything, and libxml2 decodes UTF-8 only, so the attribute cap counts
 * what the parser sees.
 * Refuses DOCTYPE (and thereby every entity declaration), nesting deeper
 * than max_depth, and duplicate ID/Id/xml:id values; registers the "ID"
 * attribute of SAML protocol/assertion elements with xmlAddID so that a
 * "#id" reference can only resolve to such an element.
 * Errors: ANC_E_INPUT (empty), ANC_E_TOO_LARGE (over max_size when not 0,
 * or an element with more than ANC_XML_MAX_ATTRS attributes),
 * ANC_E_XML_ENCODING (not UTF-8), ANC_E_XML_PARSE (not well-formed, invalid
 * UTF-8, a malformed XML declaration), ANC_E_XML_DTD,
 * ANC_E_XML_DEPTH, ANC_E_DUPLICATE_ID, ANC_E_INTERNAL. */
anc_status_t anc_xml_parse(apr_pool_t *p, const char *data, apr_size_t len,
                           apr_size_t max_size, int max_depth, xmlDocPtr *doc,
                           anc_error_t **err);

/* True when node is an element with that namespace URI and local name. */
int anc_xml_is(const xmlNode *node, const char *ns, const char *name);

/* The first element child (any name), the next element sibling. */
xmlNodePtr anc_xml_first_elem(const xmlNode *parent);
xmlNodePtr anc_xml_next_elem(const xmlNode *node);

/* The first element child of parent with that namespace and name, or NULL. */
xmlNodePtr anc_xml_child(const xmlNode *parent, const char *ns, const char *name);
/* Number of element children of parent with that namespace and name. */
int anc_xml_child_count(const xmlNode *parent, const char *ns, const char *name);
/* The next element sibling of node with that namespace and name, or NULL. */
xmlNodePtr anc_xml_next(const xmlNode *node, const char *ns, const char *name);

/* The value of an attribute without namespace copied into p, or NULL. */
const char *anc_xml_attr(apr_pool_t *p, const xmlNode *node, const char *name);

/* The whole text content of an element (every descendant text and CDATA
 * node concatenated), copied into p; "" when empty. A comment or an entity
 * boundary inside a value therefore cannot truncate it. */
const char *anc_xml_text(apr_pool_t *p, const xmlNode *node);

/* xs:anyURI / xs:token whitespace "collapse" (XML Schema part 2, 4.3.6):
 * trims XML whitespace and folds internal runs into one space. */
const char *anc_xml_collapse(apr_pool_t *p, const char *s);

/* Fails with ANC_E_DUPLICATE_ID when a registered ID of doc b is also a
 * registered ID of doc a (a decrypted Assertion, parsed as its own
 * document, must not alias an element of the Response around it). */
anc_status_t anc_xml_ids_disjoint(apr_pool_t *p, xmlDocPtr a, xmlDocPtr b,
                                  anc_error_t **err);

/* Depth of node (the root element is 1). */
int anc_xml_depth(const xmlNode *node);

#endif
