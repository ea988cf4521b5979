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

/* Parses len bytes of element content (a decrypted Element, XML Encryption
 * 4.1 / 4.5) in the context of the element `context`: the namespace
 * declarations in scope there apply to it, as when xmlsec1 --decrypt puts
 * the plaintext in place of its EncryptedData (an IdP may serialise an
 * encrypted Assertion without repeating the saml prefix declared on the
 * Response). The bytes are checked as anc_xml_parse checks a document
 * (UTF-8 only; a UTF-8 BOM and an XML declaration in front are allowed),
 * then parsed inside a wrapper element that declares those namespaces, in
 * a document of its own owned by p, with every rule of anc_xml_parse: no
 * DTD, the attribute cap, max_depth counted from the content's root,
 * duplicate IDs. The content must be one element (white space, comments
 * and PIs around it aside), returned in *elem.
 * Errors: those of anc_xml_parse; ANC_E_XML_PARSE also when the content is
 * not exactly one element; ANC_E_XML_DTD for a DOCTYPE anywhere in it. */
anc_status_t anc_xml_parse_in_context(apr_pool_t *p, const char *data, apr_size_t len,
                                      const xmlNode *context, apr_size_t max_size,
                                      int max_depth, xmlNodePtr *elem, anc_error_t **err);

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

/* 1 when s holds white space or a control character anywhere: ASCII
 * (0x00-0x20, 0x7F), C1 controls (U+0080-U+009F) or a Unicode space or
 * separator (U+00A0, U+1680, U+180E, U+2000-U+200A, U+2028, U+2029,
 * U+202F, U+205F, U+3000, U+FEFF), or a byte that is not UTF-8. A class
 * URI holds none of them (RFC 3986 has no space; an IRI none of these), and
 * AUTHN_CONTEXT_CLASS separates classes with a space, which applications
 * split on with whatever "white space" means to them. */
int anc_xml_has_space_or_control(const char *s);

/* Fails with ANC_E_DUPLICATE_ID when a registered ID of doc b is also a
 * registered ID of doc a (a decrypted Assertion, parsed as its own
 * document, must not alias an element of the Response around it). */
anc_status_t anc_xml_ids_disjoint(apr_pool_t *p, xmlDocPtr a, xmlDocPtr b,
                                  anc_error_t **err);

/* Depth of node (the root element is 1). */
int anc_xml_depth(const xmlNode *node);

#endif
