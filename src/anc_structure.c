/*
 * anc_structure.c - the SAML 2.0 schema check of a Response or Assertion.
 *
 * SAML core 3.2.2 and 2.3.3 define the Response and the Assertion by the
 * OASIS schemas (saml-schema-protocol-2.0.xsd, saml-schema-assertion-2.0.xsd);
 * a message those schemas do not allow is not a SAML message. The schemas
 * are carried in the binary (src/schemas/, with local schemaLocations and no
 * DOCTYPE) and compiled once at start-up with an entity loader that can
 * read nothing else; each check validates with its own context against the
 * shared, read-only compiled schema (libxml2 2.9: xmlSchemaValidCtxt is per
 * caller; with a schema given, xsi:schemaLocation in a message loads
 * nothing).
 *
 * The schemas leave wildcards (samlp:Extensions ##other, saml:Advice
 * ##other, AttributeValue and SubjectConfirmationData anyType, ds:Object,
 * ds:KeyInfo) where a SAML look-alike could sit unvalidated; walk() closes
 * them (see anc_structure.h for the rules).
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include "anc_structure.h"
#include "anc_xml.h"

#define MAIN_SCHEMA "saml-schema-protocol-2.0.xsd"
#define MAX_DETAIL 300

/* Set once by anc_structure_init() (anc_lib_init, before any request) and
 * only read afterwards. */
static xmlSchemaPtr saml_schema;

/* Serves the embedded schema documents, and nothing else, to libxml2's
 * schema compiler: imports name them by their bare file names. */
static xmlParserInputPtr embedded_loader(const char *url, const char *id,
                                         xmlParserCtxtPtr ctxt)
{
    const anc_schema_file_t *f;
    xmlParserInputPtr in;

    (void)id;
    if (url == NULL || ctxt == NULL) {
        return NULL;
    }
    for (f = anc_schema_files; f->name != NULL; f++) {
        if (strcmp(url, f->name) == 0) {
            break;
        }
    }
    if (f->name == NULL) {
        return NULL;
    }
    in = xmlNewStringInputStream(ctxt, (const xmlChar *)f->text);
    if (in != NULL) {
        /* the document's URL, against which its own imports resolve */
        in->filename = (const char *)xmlStrdup((const xmlChar *)f->name);
    }
    return in;
}

/* Compile errors go nowhere (the core never logs); the result says it. */
static void quiet_error(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    (void)e;
}

anc_status_t anc_structure_init(apr_pool_t *p, anc_error_t **err)
{
    xmlExternalEntityLoader previous;
    xmlSchemaParserCtxtPtr pc;

    if (saml_schema != NULL) {
        return ANC_OK;
    }
    previous = xmlGetExternalEntityLoader();
    xmlSetExternalEntityLoader(embedded_loader);
    pc = xmlSchemaNewParserCtxt(MAIN_SCHEMA);
    if (pc != NULL) {
        xmlSchemaSetParserStructuredErrors(pc, quiet_error, NULL);
        saml_schema = xmlSchemaParse(pc);
        xmlSchemaFreeParserCtxt(pc);
    }
    xmlSetExternalEntityLoader(previous);
    if (saml_schema == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL,
                             "the embedded SAML 2.0 schemas do not compile");
    }
    return ANC_OK;
}

void anc_structure_shutdown(void)
{
    if (saml_schema != NULL) {
        xmlSchemaFree(saml_schema);
        saml_schema = NULL;
    }
}

/* ---- validation ------------------------------------------------------------ */

typedef struct capture_t {
    apr_pool_t *p;
    const char *first; /* libxml2's first message, for the log */
} capture_t;

static void capture_error(void *ctx, xmlErrorPtr e)
{
    capture_t *cap = ctx;
    apr_size_t n;
    char *msg;

    if (cap->first != NULL || e == NULL || e->message == NULL) {
        return;
    }
    msg = apr_pstrdup(cap->p, e->message);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) {
        msg[--n] = '\0';
    }
    /* libxml2 lists every element it expected: enough for a log line */
    if (n > MAX_DETAIL) {
        memcpy(msg + MAX_DETAIL - 3, "...", 4);
    }
    cap->first = apr_psprintf(cap->p, "line %d: %s", e->line, msg);
}

static apr_status_t free_valid_ctxt(void *data)
{
    xmlSchemaFreeValidCtxt(data);
    return APR_SUCCESS;
}

/* ---- what the wildcards leave open ---------------------------------------- */

/* The local names of every element the SAML 2.0 assertion and protocol
 * schemas declare, sorted for bsearch. */
static const char *const saml_names[] = {
    "Action",
    "Advice",
    "Artifact",
    "ArtifactResolve",
    "ArtifactResponse",
    "Assertion",
    "AssertionIDRef",
    "AssertionIDRequest",
    "AssertionURIRef",
    "Attribute",
    "AttributeQuery",
    "AttributeStatement",
    "AttributeValue",
    "Audience",
    "AudienceRestriction",
    "AuthenticatingAuthority",
    "AuthnContext",
    "AuthnContextClassRef",
    "AuthnContextDecl",
    "AuthnContextDeclRef",
    "AuthnQuery",
    "AuthnRequest",
    "AuthnStatement",
    "AuthzDecisionQuery",
    "AuthzDecisionStatement",
    "BaseID",
    "Condition",
    "Conditions",
    "EncryptedAssertion",
    "EncryptedAttribute",
    "EncryptedID",
    "Evidence",
    "Extensions",
    "GetComplete",
    "IDPEntry",
    "IDPList",
    "Issuer",
    "LogoutRequest",
    "LogoutResponse",
    "ManageNameIDRequest",
    "ManageNameIDResponse",
    "NameID",
    "NameIDMappingRequest",
    "NameIDMappingResponse",
    "NameIDPolicy",
    "NewEncryptedID",
    "NewID",
    "OneTimeUse",
    "ProxyRestriction",
    "RequestedAuthnContext",
    "RequesterID",
    "Response",
    "Scoping",
    "SessionIndex",
    "Statement",
    "Status",
    "StatusCode",
    "StatusDetail",
    "StatusMessage",
    "Subject",
    "SubjectConfirmation",
    "SubjectConfirmationData",
    "SubjectLocality",
    "SubjectQuery",
    "Terminate",
};

static int cmp_name(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

static int is_saml_name(const xmlChar *name)
{
    return bsearch(name, saml_names, sizeof(saml_names) / sizeof(saml_names[0]),
                   sizeof(saml_names[0]), cmp_name) != NULL;
}

static const char *ns_of(const xmlNode *n)
{
    return n->ns != NULL && n->ns->href != NULL ? (const char *)n->ns->href : "";
}

static anc_status_t refuse(apr_pool_t *p, anc_error_t **err, const xmlNode *n,
                           const char *why)
{
    return anc_error_set(p, err, ANC_E_XML_SCHEMA, "line %ld: element {%s}%s %s",
                         (long)xmlGetLineNo(n), ns_of(n), (const char *)n->name, why);
}

/* One element against the wildcard rules; parent is NULL for the root of
 * the check. */
static anc_status_t check_placement(apr_pool_t *p, const xmlNode *n,
                                    const xmlNode *parent, anc_error_t **err)
{
    const char *ns = ns_of(n);
    const char *pns = parent != NULL ? ns_of(parent) : "";
    int saml = strcmp(ns, ANC_NS_SAML) == 0, samlp = strcmp(ns, ANC_NS_SAMLP) == 0;
    const xmlAttr *a;

    for (a = n->properties; a != NULL; a = a->next) {
        if (a->ns != NULL && a->ns->href != NULL &&
            (strcmp((const char *)a->ns->href, ANC_NS_SAML) == 0 ||
             strcmp((const char *)a->ns->href, ANC_NS_SAMLP) == 0)) {
            return anc_error_set(p, err, ANC_E_XML_SCHEMA,
                                 "line %ld: attribute {%s}%s: SAML declares no "
                                 "attribute in its namespaces",
                                 (long)xmlGetLineNo(n), (const char *)a->ns->href,
                                 (const char *)a->name);
        }
    }
    if (!saml && !samlp) {
        if (is_saml_name(n->name)) {
            return refuse(p, err, n, "has a SAML name outside the SAML namespaces");
        }
        return ANC_OK;
    }
    if (parent == NULL) {
        return ANC_OK;
    }
    if (samlp) {
        /* LogoutRequest (SessionIndex) and LogoutResponse (Status): SAML
         * core 3.7.1, 3.7.2 */
        if (!(anc_xml_is(parent, ANC_NS_SAMLP, "Response") ||
              anc_xml_is(parent, ANC_NS_SAMLP, "LogoutRequest") ||
              anc_xml_is(parent, ANC_NS_SAMLP, "LogoutResponse") ||
              anc_xml_is(parent, ANC_NS_SAMLP, "Status") ||
              anc_xml_is(parent, ANC_NS_SAMLP, "StatusCode"))) {
            return refuse(p, err, n, "is not where the protocol schema puts it");
        }
        return ANC_OK;
    }
    if ((strcmp(pns, ANC_NS_SAML) != 0 && strcmp(pns, ANC_NS_SAMLP) != 0) ||
        anc_xml_is(parent, ANC_NS_SAMLP, "Extensions") ||
        anc_xml_is(parent, ANC_NS_SAMLP, "StatusDetail")) {
        return refuse(p, err, n,
                      "is inside a wildcard (Extensions, StatusDetail or "
                      "foreign content)");
    }
    if ((anc_xml_is(n, ANC_NS_SAML, "Assertion") ||
         anc_xml_is(n, ANC_NS_SAML, "EncryptedAssertion")) &&
        !anc_xml_is(parent, ANC_NS_SAMLP, "Response") &&
        !anc_xml_is(parent, ANC_NS_SAML, "Advice")) {
        return refuse(p, err, n, "is neither in the Response nor in Advice");
    }
    return ANC_OK;
}

/* Every element of the subtree at root, in document order, iteratively
 * (the parser already capped the depth). */
static anc_status_t walk(apr_pool_t *p, const xmlNode *root, anc_error_t **err)
{
    const xmlNode *n = root;
    anc_status_t rv;

    while (n != NULL) {
        if (n->type == XML_ELEMENT_NODE) {
            rv = check_placement(p, n, n == root ? NULL : n->parent, err);
            if (rv != ANC_OK) {
                return rv;
            }
            if (n->children != NULL) {
                n = n->children;
                continue;
            }
        }
        while (n != root && n->next == NULL) {
            n = n->parent;
        }
        n = n == root ? NULL : n->next;
    }
    return ANC_OK;
}

anc_status_t anc_structure_check(apr_pool_t *p, xmlNodePtr elem, anc_error_t **err)
{
    xmlSchemaValidCtxtPtr vc;
    capture_t cap;
    int rc;

    if (saml_schema == NULL || elem == NULL || elem->type != XML_ELEMENT_NODE) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "no SAML schema to check with");
    }
    vc = xmlSchemaNewValidCtxt(saml_schema);
    if (vc == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlSchemaNewValidCtxt failed");
    }
    apr_pool_cleanup_register(p, vc, free_valid_ctxt, apr_pool_cleanup_null);
    cap.p = p;
    cap.first = NULL;
    xmlSchemaSetValidStructuredErrors(vc, capture_error, &cap);
    rc = xmlSchemaValidateOneElement(vc, elem);
    if (rc < 0) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "schema validation failed (%d)", rc);
    }
    if (rc > 0) {
        return anc_error_set(p, err, ANC_E_XML_SCHEMA,
                             "not allowed by the SAML schema: %s",
                             cap.first != NULL ? cap.first : "(no detail)");
    }
    return walk(p, elem, err);
}
