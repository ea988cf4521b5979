/*
 * anc_xml.c - safe libxml2 parsing, ID registration, namespace-aware lookups.
 *
 * The parser runs with the options that keep libxml2 from ever reading
 * anything but the given bytes (NONET, no NOENT/DTDLOAD/DTDATTR/XINCLUDE),
 * and a SAX hook stops it at the first DOCTYPE, before any entity
 * declaration is even read: SAML messages have no use for a DTD, and DTDs
 * are the root of XXE and entity-expansion ("billion laughs") attacks.
 *
 * Every document is UTF-8 (an optional UTF-8 byte order mark aside): a
 * declared or detected other encoding is refused before libxml2 decodes a
 * byte, and libxml2 is told the encoding and to ignore the declaration, so
 * the bytes the linear pre-scans read are the characters libxml2 parses.
 * Otherwise UTF-7, EBCDIC or UTF-16 hides '<', '=' and quotes from them.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/valid.h>

#include "anc_xml.h"

typedef struct parse_guard_t {
    int saw_dtd;
    int too_deep;
    int too_many_attrs;
    int max_depth;
    startElementNsSAX2Func start_element;
} parse_guard_t;

static apr_status_t free_doc(void *data)
{
    xmlFreeDoc((xmlDocPtr)data);
    return APR_SUCCESS;
}

static void guard_internal_subset(void *ctx, const xmlChar *name,
                                  const xmlChar *external_id, const xmlChar *system_id)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_guard_t *g = ctxt->_private;

    (void)name;
    (void)external_id;
    (void)system_id;
    g->saw_dtd = 1;
    xmlStopParser(ctxt);
}

/* Depth is checked while parsing so a deep document costs nothing more
 * than reading it up to the cap. */
static void guard_start_element(void *ctx, const xmlChar *localname,
                                const xmlChar *prefix, const xmlChar *uri,
                                int nb_namespaces, const xmlChar **namespaces,
                                int nb_attributes, int nb_defaulted,
                                const xmlChar **attributes)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_guard_t *g = ctxt->_private;

    if (ctxt->nameNr > g->max_depth) {
        g->too_deep = 1;
        xmlStopParser(ctxt);
        return;
    }
    /* The cap again on what libxml2 itself counted: the pre-scan below keeps
     * the cost away, this keeps the cap true whatever the pre-scan missed. */
    if (nb_attributes + nb_namespaces > ANC_XML_MAX_ATTRS) {
        g->too_many_attrs = 1;
        xmlStopParser(ctxt);
        return;
    }
    g->start_element(ctx, localname, prefix, uri, nb_namespaces, namespaces,
                     nb_attributes, nb_defaulted, attributes);
}

static int is_saml_ns(const xmlNode *node)
{
    return node->ns != NULL && node->ns->href != NULL &&
           (strcmp((const char *)node->ns->href, ANC_NS_SAMLP) == 0 ||
            strcmp((const char *)node->ns->href, ANC_NS_SAML) == 0);
}

static int is_id_attr(const xmlAttr *a)
{
    if (a->ns == NULL) {
        return strcmp((const char *)a->name, "ID") == 0 ||
               strcmp((const char *)a->name, "Id") == 0;
    }
    return strcmp((const char *)a->name, "id") == 0 && a->ns->href != NULL &&
           strcmp((const char *)a->ns->href, "http://www.w3.org/XML/1998/namespace") == 0;
}

/* One pass over the tree: depth (defence in depth after the SAX check),
 * uniqueness of every ID-like attribute, registration of SAML IDs. A
 * duplicate ID is how signature wrapping makes "#id" point at one element
 * while the application reads another (XML Signature best practices 4.3). */
static anc_status_t walk_ids(apr_pool_t *p, xmlDocPtr doc, int max_depth,
                             anc_error_t **err)
{
    apr_hash_t *seen = apr_hash_make(p);
    xmlNodePtr node = xmlDocGetRootElement(doc);
    int depth = 1;

    while (node != NULL) {
        if (node->type == XML_ELEMENT_NODE) {
            xmlAttrPtr a;

            if (depth > max_depth) {
                return anc_error_set(p, err, ANC_E_XML_DEPTH, "nesting deeper than %d",
                                     max_depth);
            }
            for (a = node->properties; a != NULL; a = a->next) {
                xmlChar *v;
                const char *val;

                if (!is_id_attr(a)) {
                    continue;
                }
                v = xmlNodeListGetString(doc, a->children, 1);
                val = apr_pstrdup(p, v != NULL ? (const char *)v : "");
                xmlFree(v);
                if (apr_hash_get(seen, val, APR_HASH_KEY_STRING) != NULL) {
                    return anc_error_set(p, err, ANC_E_DUPLICATE_ID,
                                         "ID '%s' appears twice", val);
                }
                apr_hash_set(seen, val, APR_HASH_KEY_STRING, val);
                if (a->ns == NULL && strcmp((const char *)a->name, "ID") == 0 &&
                    is_saml_ns(node) && xmlGetID(doc, BAD_CAST val) == NULL) {
                    if (xmlAddID(NULL, doc, BAD_CAST val, a) == NULL) {
                        return anc_error_set(p, err, ANC_E_INTERNAL,
                                             "cannot register ID '%s'", val);
                    }
                }
            }
            if (node->children != NULL) {
                node = node->children;
                depth++;
                continue;
            }
        }
        while (node != NULL && node->next == NULL) {
            node = node->parent;
            depth--;
            if (node == NULL || node->type == XML_DOCUMENT_NODE) {
                node = NULL;
                break;
            }
        }
        if (node != NULL) {
            node = node->next;
        }
    }
    return ANC_OK;
}

/* Where the construct opened at s[i] ("<!--", "<![CDATA[", "<?") ends. */
static apr_size_t skip_past(const char *s, apr_size_t len, apr_size_t i, const char *end)
{
    const char *e = memmem(s + i, len - i, end, strlen(end));

    return e != NULL ? (apr_size_t)(e - s) + strlen(end) : len;
}

/* libxml2 (2.9) compares each attribute of an element with every earlier
 * one, so 25000 attributes in one 240 KB start tag cost seconds of CPU per
 * request. This linear pre-scan counts the '=' outside quotes in every
 * start tag (one per attribute) and stops at the cap before libxml2 runs.
 * Comments, CDATA sections and PIs are skipped; a malformed document the
 * scan miscounts is refused by libxml2 anyway. */
static int too_many_attributes(const char *s, apr_size_t len)
{
    apr_size_t i = 0;

    while (i < len) {
        const char *lt = memchr(s + i, '<', len - i);
        int n = 0;
        char quote = 0;

        if (lt == NULL) {
            return 0;
        }
        i = (apr_size_t)(lt - s) + 1;
        if (len - i >= 3 && memcmp(s + i, "!--", 3) == 0) {
            i = skip_past(s, len, i + 3, "-->");
            continue;
        }
        if (len - i >= 8 && memcmp(s + i, "![CDATA[", 8) == 0) {
            i = skip_past(s, len, i + 8, "]]>");
            continue;
        }
        if (i < len && s[i] == '?') {
            i = skip_past(s, len, i + 1, "?>");
            continue;
        }
        /* a start tag (an end tag or a DOCTYPE counts no '=' that matters) */
        for (; i < len; i++) {
            char c = s[i];

            if (quote != 0) {
                quote = (c == quote) ? 0 : quote;
            } else if (c == '"' || c == '\'') {
                quote = c;
            } else if (c == '=') {
                if (++n > ANC_XML_MAX_ATTRS) {
                    return 1;
                }
            } else if (c == '>' || c == '<') {
                break;
            }
        }
    }
    return 0;
}

static int is_decl_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Reads the encoding pseudo-attribute of the XML declaration that starts s
 * (XML 1.0 2.8, 4.3.3: version, then encoding, then standalone, either
 * quote) into *enc, NULL when the declaration has none. Returns 0 when the
 * declaration is malformed. */
static int decl_encoding(apr_pool_t *p, const char *s, apr_size_t len, const char **enc)
{
    const char *end = memmem(s, len, "?>", 2);
    const char *c = s + 5; /* past "<?xml" */

    *enc = NULL;
    if (end == NULL) {
        return 0;
    }
    for (;;) {
        const char *name, *val;
        apr_size_t name_len;
        char quote;

        while (c < end && is_decl_space(*c)) {
            c++;
        }
        if (c == end) {
            return 1;
        }
        name = c;
        while (c < end && ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'))) {
            c++;
        }
        name_len = (apr_size_t)(c - name);
        while (c < end && is_decl_space(*c)) {
            c++;
        }
        if (name_len == 0 || c == end || *c != '=') {
            return 0;
        }
        c++;
        while (c < end && is_decl_space(*c)) {
            c++;
        }
        if (c == end || (*c != '"' && *c != '\'')) {
            return 0;
        }
        quote = *c++;
        val = c;
        while (c < end && *c != quote) {
            c++;
        }
        if (c == end) {
            return 0;
        }
        if (name_len == 8 && memcmp(name, "encoding", 8) == 0) {
            *enc = apr_pstrmemdup(p, val, (apr_size_t)(c - val));
        }
        c++;
        if (c < end && !is_decl_space(*c)) {
            return 0;
        }
    }
}

/* Refuses every encoding but UTF-8 before libxml2 sees the bytes (XML 1.0
 * appendix F lists how a parser detects one): the byte order marks of
 * UTF-16 and UCS-4, their BOM-less forms (a NUL among the first four
 * bytes), EBCDIC ("<?xm" is 4C 6F A7 94), any first byte outside ASCII
 * (a document starts with '<' or white space), and an XML declaration
 * naming another encoding. UTF-16 is refused too, with or without a BOM:
 * SAML bindings carry UTF-8, XML Encryption serialises Element plaintext
 * in UTF-8 (XML Encryption 1.0, 4.1), and one encoding is one parser. */
static anc_status_t check_encoding(apr_pool_t *p, const char *data, apr_size_t len,
                                   anc_error_t **err)
{
    const unsigned char *u = (const unsigned char *)data;
    apr_size_t i = 0, k;
    const char *enc;

    if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
        i = 3; /* the UTF-8 byte order mark */
    }
    if (i < len && (u[i] == 0 || u[i] >= 0x80)) {
        return anc_error_set(p, err, ANC_E_XML_ENCODING,
                             "not UTF-8: the document starts with byte 0x%02X "
                             "(a UTF-16 or UCS-4 byte order mark, or another encoding)",
                             u[i]);
    }
    for (k = i; k < len && k < i + 4; k++) {
        if (u[k] == 0) {
            return anc_error_set(p, err, ANC_E_XML_ENCODING,
                                 "not UTF-8: a NUL byte in the first characters "
                                 "(UTF-16 or UCS-4)");
        }
    }
    if (len - i >= 4 && memcmp(u + i, "\x4C\x6F\xA7\x94", 4) == 0) {
        return anc_error_set(p, err, ANC_E_XML_ENCODING, "not UTF-8: EBCDIC");
    }
    if (len - i < 6 || memcmp(data + i, "<?xml", 5) != 0 || !is_decl_space(data[i + 5])) {
        return ANC_OK; /* no XML declaration: UTF-8 by default (XML 1.0 4.3.3) */
    }
    if (!decl_encoding(p, data + i, len - i, &enc)) {
        return anc_error_set(p, err, ANC_E_XML_PARSE, "malformed XML declaration");
    }
    if (enc != NULL && strcasecmp(enc, "UTF-8") != 0) {
        return anc_error_set(p, err, ANC_E_XML_ENCODING,
                             "declared encoding '%s' is not UTF-8",
                             apr_pstrndup(p, enc, 40));
    }
    return ANC_OK;
}

anc_status_t anc_xml_parse(apr_pool_t *p, const char *data, apr_size_t len,
                           apr_size_t max_size, int max_depth, xmlDocPtr *doc,
                           anc_error_t **err)
{
    xmlParserCtxtPtr ctxt;
    parse_guard_t guard;
    xmlDocPtr d;
    anc_status_t rv;
    /* No XML_PARSE_NOENT (entity substitution), DTDLOAD, DTDATTR, DTDVALID,
     * XINCLUDE or HUGE (libxml2's own length limits stay on); NONET as a
     * second lock on network access; IGNORE_ENC with the "UTF-8" argument
     * below: no declaration or byte pattern switches the decoder. Errors
     * are reported through the return value, never printed. */
    const int options =
        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_IGNORE_ENC;

    *doc = NULL;
    if (data == NULL || len == 0) {
        return anc_error_set(p, err, ANC_E_INPUT, "empty document");
    }
    if (max_size != 0 && len > max_size) {
        return anc_error_set(p, err, ANC_E_TOO_LARGE,
                             "document of %" APR_SIZE_T_FMT " bytes over the cap", len);
    }
    if (len > (apr_size_t)INT32_MAX) {
        return anc_error_set(p, err, ANC_E_TOO_LARGE, "document too large");
    }
    rv = check_encoding(p, data, len, err);
    if (rv != ANC_OK) {
        return rv;
    }
    if (too_many_attributes(data, len)) {
        return anc_error_set(p, err, ANC_E_TOO_LARGE,
                             "an element with more than %d attributes",
                             ANC_XML_MAX_ATTRS);
    }
    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlNewParserCtxt failed");
    }
    memset(&guard, 0, sizeof(guard));
    guard.max_depth = max_depth > 0 ? max_depth : 64;
    guard.start_element = ctxt->sax->startElementNs;
    ctxt->sax->internalSubset = guard_internal_subset;
    ctxt->sax->externalSubset = guard_internal_subset;
    ctxt->sax->startElementNs = guard_start_element;
    ctxt->_private = &guard;

    d = xmlCtxtReadMemory(ctxt, data, (int)len, NULL, "UTF-8", options);
    if (guard.saw_dtd || guard.too_deep || guard.too_many_attrs || d == NULL) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        char *msg = (e != NULL && e->message != NULL) ? apr_pstrdup(p, e->message)
                                                      : "not well-formed";
        int line = e != NULL ? e->line : 0;
        size_t ml = strlen(msg);

        if (ml > 0 && msg[ml - 1] == '\n') {
            msg[ml - 1] = '\0';
        }
        if (d != NULL) {
            xmlFreeDoc(d);
        }
        xmlFreeParserCtxt(ctxt);
        if (guard.saw_dtd) {
            return anc_error_set(p, err, ANC_E_XML_DTD,
                                 "DOCTYPE declarations are not allowed");
        }
        if (guard.too_deep) {
            return anc_error_set(p, err, ANC_E_XML_DEPTH, "nesting deeper than %d",
                                 guard.max_depth);
        }
        if (guard.too_many_attrs) {
            return anc_error_set(p, err, ANC_E_TOO_LARGE,
                                 "an element with more than %d attributes",
                                 ANC_XML_MAX_ATTRS);
        }
        return anc_error_set(p, err, ANC_E_XML_PARSE, "line %d: %s", line, msg);
    }
    xmlFreeParserCtxt(ctxt);
    apr_pool_cleanup_register(p, d, free_doc, apr_pool_cleanup_null);
    /* Belt and braces: a document that still ended up with a DTD node. */
    if (d->intSubset != NULL || d->extSubset != NULL) {
        return anc_error_set(p, err, ANC_E_XML_DTD,
                             "DOCTYPE declarations are not allowed");
    }
    if (xmlDocGetRootElement(d) == NULL) {
        return anc_error_set(p, err, ANC_E_XML_PARSE, "no root element");
    }
    rv = walk_ids(p, d, guard.max_depth, err);
    if (rv != ANC_OK) {
        return rv;
    }
    *doc = d;
    return ANC_OK;
}

/* A namespace URI as an attribute value: the characters that attribute
 * value normalisation (XML 1.0 3.3.3) or the quoting would change are
 * written as references. */
static const char *escape_attr(apr_pool_t *p, const char *s)
{
    apr_size_t n = 0;
    const char *c;
    char *out, *o;

    for (c = s; *c != '\0'; c++) {
        n += strchr("&<\"\t\n\r", *c) != NULL ? 6 : 1;
    }
    out = o = apr_palloc(p, n + 1);
    for (c = s; *c != '\0'; c++) {
        switch (*c) {
            case '&':
                o += sprintf(o, "&amp;");
                break;
            case '<':
                o += sprintf(o, "&lt;");
                break;
            case '"':
                o += sprintf(o, "&quot;");
                break;
            case '\t':
            case '\n':
            case '\r':
                o += sprintf(o, "&#%d;", *c);
                break;
            default:
                *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

#define CONTEXT_WRAPPER "anc-decrypted-content"

anc_status_t anc_xml_parse_in_context(apr_pool_t *p, const char *data, apr_size_t len,
                                      const xmlNode *context, apr_size_t max_size,
                                      int max_depth, xmlNodePtr *elem, anc_error_t **err)
{
    apr_hash_t *seen = apr_hash_make(p);
    apr_array_header_t *open = apr_array_make(p, 8, sizeof(const char *));
    const xmlNode *n;
    const char *head, *tail = "</" CONTEXT_WRAPPER ">";
    apr_size_t i = 0, head_len, tail_len = strlen(tail), total;
    char *buf;
    xmlDocPtr doc;
    xmlNodePtr w, c, found = NULL;
    anc_status_t rv;

    *elem = NULL;
    if (data == NULL || len == 0) {
        return anc_error_set(p, err, ANC_E_INPUT, "empty content");
    }
    if (max_size != 0 && len > max_size) {
        return anc_error_set(p, err, ANC_E_TOO_LARGE,
                             "content of %" APR_SIZE_T_FMT " bytes over the cap", len);
    }
    rv = check_encoding(p, data, len, err);
    if (rv != ANC_OK) {
        return rv;
    }
    /* check_encoding accepted what stands in front: skip it, since inside
     * the wrapper neither a BOM nor a declaration is well-formed */
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        i = 3;
    }
    if (len - i >= 6 && memcmp(data + i, "<?xml", 5) == 0 && is_decl_space(data[i + 5])) {
        const char *e = memmem(data + i, len - i, "?>", 2);

        i = (apr_size_t)(e - data) + 2;
    }
    /* Inside an element a DOCTYPE is only a syntax error; name it. */
    if (memmem(data + i, len - i, "<!DOCTYPE", 9) != NULL) {
        return anc_error_set(p, err, ANC_E_XML_DTD,
                             "DOCTYPE declarations are not allowed");
    }
    /* The declarations in scope at context, the nearest one of a prefix
     * winning (XML Namespaces 6.1); "xml" is bound by definition. */
    APR_ARRAY_PUSH(open, const char *) = "<" CONTEXT_WRAPPER;
    for (n = context; n != NULL && n->type == XML_ELEMENT_NODE; n = n->parent) {
        const xmlNs *ns;

        for (ns = n->nsDef; ns != NULL; ns = ns->next) {
            const char *prefix = ns->prefix != NULL ? (const char *)ns->prefix : "";

            if (strcmp(prefix, "xml") == 0 ||
                apr_hash_get(seen, prefix, APR_HASH_KEY_STRING) != NULL) {
                continue;
            }
            apr_hash_set(seen, prefix, APR_HASH_KEY_STRING, prefix);
            APR_ARRAY_PUSH(open, const char *) = apr_psprintf(
                p, " xmlns%s%s=\"%s\"", *prefix != '\0' ? ":" : "", prefix,
                escape_attr(p, ns->href != NULL ? (const char *)ns->href : ""));
        }
    }
    APR_ARRAY_PUSH(open, const char *) = ">";
    head = apr_array_pstrcat(p, open, 0);
    head_len = strlen(head);
    total = head_len + (len - i) + tail_len;
    buf = apr_palloc(p, total + 1);
    memcpy(buf, head, head_len);
    memcpy(buf + head_len, data + i, len - i);
    memcpy(buf + head_len + (len - i), tail, tail_len + 1);

    /* one level more: the wrapper */
    rv = anc_xml_parse(p, buf, total, max_size != 0 ? max_size + head_len + tail_len : 0,
                       max_depth + 1, &doc, err);
    if (rv != ANC_OK) {
        return rv;
    }
    w = xmlDocGetRootElement(doc);
    if (w == NULL || strcmp((const char *)w->name, CONTEXT_WRAPPER) != 0) {
        return anc_error_set(p, err, ANC_E_XML_PARSE, "content is not one element");
    }
    for (c = w->children; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && found == NULL) {
            found = c;
        } else if (c->type == XML_TEXT_NODE) {
            const xmlChar *t;

            for (t = c->content; t != NULL && *t != '\0'; t++) {
                if (!is_decl_space((char)*t)) {
                    return anc_error_set(p, err, ANC_E_XML_PARSE,
                                         "text beside the content's element");
                }
            }
        } else if (c->type != XML_COMMENT_NODE && c->type != XML_PI_NODE) {
            return anc_error_set(p, err, ANC_E_XML_PARSE, "content is not one element");
        }
    }
    if (found == NULL) {
        return anc_error_set(p, err, ANC_E_XML_PARSE, "content is not one element");
    }
    *elem = found;
    return ANC_OK;
}

int anc_xml_is(const xmlNode *node, const char *ns, const char *name)
{
    return node != NULL && node->type == XML_ELEMENT_NODE && node->ns != NULL &&
           node->ns->href != NULL && strcmp((const char *)node->ns->href, ns) == 0 &&
           strcmp((const char *)node->name, name) == 0;
}

xmlNodePtr anc_xml_first_elem(const xmlNode *parent)
{
    xmlNodePtr c;

    if (parent == NULL) {
        return NULL;
    }
    for (c = parent->children; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            return c;
        }
    }
    return NULL;
}

xmlNodePtr anc_xml_next_elem(const xmlNode *node)
{
    xmlNodePtr c;

    for (c = node->next; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            return c;
        }
    }
    return NULL;
}

xmlNodePtr anc_xml_child(const xmlNode *parent, const char *ns, const char *name)
{
    xmlNodePtr c;

    if (parent == NULL) {
        return NULL;
    }
    for (c = parent->children; c != NULL; c = c->next) {
        if (anc_xml_is(c, ns, name)) {
            return c;
        }
    }
    return NULL;
}

int anc_xml_child_count(const xmlNode *parent, const char *ns, const char *name)
{
    xmlNodePtr c;
    int n = 0;

    if (parent == NULL) {
        return 0;
    }
    for (c = parent->children; c != NULL; c = c->next) {
        if (anc_xml_is(c, ns, name)) {
            n++;
        }
    }
    return n;
}

xmlNodePtr anc_xml_next(const xmlNode *node, const char *ns, const char *name)
{
    xmlNodePtr c;

    for (c = node->next; c != NULL; c = c->next) {
        if (anc_xml_is(c, ns, name)) {
            return c;
        }
    }
    return NULL;
}

const char *anc_xml_attr(apr_pool_t *p, const xmlNode *node, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(node, BAD_CAST name);
    const char *s;

    if (v == NULL) {
        return NULL;
    }
    s = apr_pstrdup(p, (const char *)v);
    xmlFree(v);
    return s;
}

const char *anc_xml_text(apr_pool_t *p, const xmlNode *node)
{
    xmlChar *v = xmlNodeGetContent(node);
    const char *s;

    if (v == NULL) {
        return "";
    }
    s = apr_pstrdup(p, (const char *)v);
    xmlFree(v);
    return s;
}

static int is_xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

const char *anc_xml_collapse(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) + 1);
    char *o = out;
    int pending_space = 0;

    for (; *s != '\0'; s++) {
        if (is_xml_space(*s)) {
            pending_space = (o != out);
            continue;
        }
        if (pending_space) {
            *o++ = ' ';
            pending_space = 0;
        }
        *o++ = *s;
    }
    *o = '\0';
    return out;
}

int anc_xml_has_space_or_control(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;

    while (*u != 0) {
        unsigned cp;
        int n, k;

        if (*u < 0x80) {
            if (*u <= 0x20 || *u == 0x7F) {
                return 1;
            }
            u++;
            continue;
        }
        if ((*u & 0xE0) == 0xC0) {
            cp = *u & 0x1Fu;
            n = 1;
        } else if ((*u & 0xF0) == 0xE0) {
            cp = *u & 0x0Fu;
            n = 2;
        } else if ((*u & 0xF8) == 0xF0) {
            cp = *u & 0x07u;
            n = 3;
        } else {
            return 1; /* not UTF-8: refuse rather than guess */
        }
        for (k = 1; k <= n; k++) {
            if ((u[k] & 0xC0) != 0x80) {
                return 1;
            }
            cp = (cp << 6) | (u[k] & 0x3Fu);
        }
        u += n + 1;
        if ((cp >= 0x80 && cp <= 0xA0) || cp == 0x1680 || cp == 0x180E ||
            (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
            cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF) {
            return 1;
        }
    }
    return 0;
}

typedef struct disjoint_ctx_t {
    xmlDocPtr other;
    const char *clash;
} disjoint_ctx_t;

static void check_id_clash(void *payload, void *data, const xmlChar *name)
{
    disjoint_ctx_t *c = data;

    (void)payload;
    if (c->clash == NULL && xmlGetID(c->other, name) != NULL) {
        c->clash = (const char *)name;
    }
}

anc_status_t anc_xml_ids_disjoint(apr_pool_t *p, xmlDocPtr a, xmlDocPtr b,
                                  anc_error_t **err)
{
    disjoint_ctx_t c;

    c.other = a;
    c.clash = NULL;
    if (b->ids != NULL) {
        xmlHashScan((xmlHashTablePtr)b->ids, check_id_clash, &c);
    }
    if (c.clash != NULL) {
        return anc_error_set(p, err, ANC_E_DUPLICATE_ID, "ID '%s' appears twice",
                             c.clash);
    }
    return ANC_OK;
}

int anc_xml_depth(const xmlNode *node)
{
    int d = 0;

    for (; node != NULL && node->type == XML_ELEMENT_NODE; node = node->parent) {
        d++;
    }
    return d;
}
