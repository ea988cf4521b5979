/*
 * anc_logout.c - SAML 2.0 Single Logout messages (see anc_logout.h).
 *
 * Outbound messages are built with libxml2's tree API (the serializer
 * escapes every value). Inbound ones are read in the order the response
 * verifier uses: safe parse, envelope, schema, signature, and only then
 * the values the caller acts on; every rule cites its section of SAML core
 * (3.2.1 RequestAbstractType, 3.2.2 StatusResponseType, 3.7 Single
 * Logout), profiles 4.4.4 and bindings 3.4 / 3.5.
 */
#include <stdarg.h>
#include <string.h>

#include <apr_strings.h>
#include <libxml/tree.h>
#include <libxml/xmlstring.h>
#include <openssl/evp.h>

#include "anc_authnreq.h"
#include "anc_dsig.h"
#include "anc_logout.h"
#include "anc_structure.h"
#include "anc_xml.h"

#define NAMEID_ENTITY "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
#define NAMEID_UNSPECIFIED "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"

/* ---- building ------------------------------------------------------------ */

static apr_status_t doc_cleanup(void *data)
{
    xmlFreeDoc((xmlDocPtr)data);
    return APR_SUCCESS;
}

static int utf8_ok(const char *s)
{
    return s == NULL || xmlCheckUTF8((const xmlChar *)s);
}

static int empty(const char *s)
{
    return s == NULL || *s == '\0';
}

static anc_status_t dump(apr_pool_t *p, xmlDocPtr doc, xmlNodePtr root, const char **xml,
                         anc_error_t **err)
{
    xmlBufferPtr buf = xmlBufferCreate();

    if (buf == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlBufferCreate failed");
    }
    if (xmlNodeDump(buf, doc, root, 0, 0) < 0) {
        xmlBufferFree(buf);
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlNodeDump failed");
    }
    *xml = apr_pstrmemdup(p, (const char *)xmlBufferContent(buf),
                          (apr_size_t)xmlBufferLength(buf));
    xmlBufferFree(buf);
    return ANC_OK;
}

/* A document with a samlp root, the common attributes of RequestAbstractType
 * / StatusResponseType (core 3.2.1, 3.2.2) and the saml:Issuer child. */
static anc_status_t new_message(apr_pool_t *p, const char *name, const char *id,
                                apr_time_t instant, const char *destination,
                                xmlDocPtr *doc_out, xmlNodePtr *root_out,
                                xmlNsPtr *samlp_out, xmlNsPtr *saml_out,
                                anc_error_t **err)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root;
    xmlNsPtr samlp, saml;

    if (doc == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlNewDoc failed");
    }
    apr_pool_cleanup_register(p, doc, doc_cleanup, apr_pool_cleanup_null);
    root = xmlNewDocNode(doc, NULL, BAD_CAST name, NULL);
    if (root == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlNewDocNode failed");
    }
    xmlDocSetRootElement(doc, root);
    samlp = xmlNewNs(root, BAD_CAST ANC_NS_SAMLP, BAD_CAST "samlp");
    saml = xmlNewNs(root, BAD_CAST ANC_NS_SAML, BAD_CAST "saml");
    xmlSetNs(root, samlp);
    xmlNewProp(root, BAD_CAST "ID", BAD_CAST id);
    xmlNewProp(root, BAD_CAST "Version", BAD_CAST "2.0");
    xmlNewProp(root, BAD_CAST "IssueInstant", BAD_CAST anc_time_format(p, instant));
    xmlNewProp(root, BAD_CAST "Destination", BAD_CAST destination);
    *doc_out = doc;
    *root_out = root;
    *samlp_out = samlp;
    *saml_out = saml;
    return ANC_OK;
}

anc_status_t anc_logout_request_xml(apr_pool_t *p, const anc_logout_request_t *req,
                                    const char **xml, anc_error_t **err)
{
    xmlDocPtr doc;
    xmlNodePtr root, nid;
    xmlNsPtr samlp, saml;
    anc_status_t rc;
    int i;

    if (req == NULL || empty(req->id) || empty(req->destination) || empty(req->issuer) ||
        empty(req->name_id.value)) {
        return anc_error_set(p, err, ANC_E_CONFIG,
                             "LogoutRequest needs an ID, a Destination, an Issuer and "
                             "a NameID");
    }
    if (!utf8_ok(req->id) || !utf8_ok(req->destination) || !utf8_ok(req->issuer) ||
        !utf8_ok(req->name_id.value) || !utf8_ok(req->name_id.format) ||
        !utf8_ok(req->name_id.name_qualifier) ||
        !utf8_ok(req->name_id.sp_name_qualifier)) {
        return anc_error_set(p, err, ANC_E_CONFIG, "LogoutRequest value is not UTF-8");
    }
    rc = new_message(p, "LogoutRequest", req->id, req->issue_instant, req->destination,
                     &doc, &root, &samlp, &saml, err);
    if (rc != ANC_OK) {
        return rc;
    }
    if (req->not_on_or_after != 0) {
        xmlNewProp(root, BAD_CAST "NotOnOrAfter",
                   BAD_CAST anc_time_format(p, req->not_on_or_after));
    }
    /* Reason: the user asked (core 3.7.3.3). */
    xmlNewProp(root, BAD_CAST "Reason",
               BAD_CAST "urn:oasis:names:tc:SAML:2.0:logout:user");
    /* Schema order: Issuer, (Signature), (Extensions), NameID, SessionIndex*. */
    if (xmlNewTextChild(root, saml, BAD_CAST "Issuer", BAD_CAST req->issuer) == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlNewTextChild failed");
    }
    /* Profiles 4.4.4.1: the NameID exactly as the assertion had it, with
     * its qualifiers and Format. */
    nid = xmlNewTextChild(root, saml, BAD_CAST "NameID", BAD_CAST req->name_id.value);
    if (nid == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlNewTextChild failed");
    }
    if (req->name_id.name_qualifier != NULL) {
        xmlNewProp(nid, BAD_CAST "NameQualifier", BAD_CAST req->name_id.name_qualifier);
    }
    if (req->name_id.sp_name_qualifier != NULL) {
        xmlNewProp(nid, BAD_CAST "SPNameQualifier",
                   BAD_CAST req->name_id.sp_name_qualifier);
    }
    if (req->name_id.format != NULL) {
        xmlNewProp(nid, BAD_CAST "Format", BAD_CAST req->name_id.format);
    }
    /* Every SessionIndex of the session (core 3.7.1). */
    for (i = 0; req->session_indexes != NULL && i < req->session_indexes->nelts; i++) {
        const char *si = APR_ARRAY_IDX(req->session_indexes, i, const char *);

        if (si == NULL || !utf8_ok(si)) {
            return anc_error_set(p, err, ANC_E_CONFIG, "SessionIndex is not UTF-8");
        }
        if (xmlNewTextChild(root, samlp, BAD_CAST "SessionIndex", BAD_CAST si) == NULL) {
            return anc_error_set(p, err, ANC_E_INTERNAL, "xmlNewTextChild failed");
        }
    }
    return dump(p, doc, root, xml, err);
}

anc_status_t anc_logout_response_xml(apr_pool_t *p, const anc_logout_response_t *res,
                                     const char **xml, anc_error_t **err)
{
    xmlDocPtr doc;
    xmlNodePtr root, status, code;
    xmlNsPtr samlp, saml;
    anc_status_t rc;

    if (res == NULL || empty(res->id) || empty(res->destination) || empty(res->issuer)) {
        return anc_error_set(p, err, ANC_E_CONFIG,
                             "LogoutResponse needs an ID, a Destination and an Issuer");
    }
    if (!utf8_ok(res->id) || !utf8_ok(res->destination) || !utf8_ok(res->issuer) ||
        !utf8_ok(res->in_response_to) || !utf8_ok(res->status_code) ||
        !utf8_ok(res->status_code2) || !utf8_ok(res->status_message)) {
        return anc_error_set(p, err, ANC_E_CONFIG, "LogoutResponse value is not UTF-8");
    }
    rc = new_message(p, "LogoutResponse", res->id, res->issue_instant, res->destination,
                     &doc, &root, &samlp, &saml, err);
    if (rc != ANC_OK) {
        return rc;
    }
    if (res->in_response_to != NULL) {
        xmlNewProp(root, BAD_CAST "InResponseTo", BAD_CAST res->in_response_to);
    }
    if (xmlNewTextChild(root, saml, BAD_CAST "Issuer", BAD_CAST res->issuer) == NULL ||
        (status = xmlNewChild(root, samlp, BAD_CAST "Status", NULL)) == NULL ||
        (code = xmlNewChild(status, samlp, BAD_CAST "StatusCode", NULL)) == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlNewChild failed");
    }
    xmlNewProp(code, BAD_CAST "Value",
               BAD_CAST(res->status_code ? res->status_code : ANC_STATUS_SUCCESS));
    /* core 3.2.2.2: PartialLogout is a second-level code */
    if (res->status_code2 != NULL) {
        xmlNodePtr c2 = xmlNewChild(code, samlp, BAD_CAST "StatusCode", NULL);

        if (c2 == NULL) {
            return anc_error_set(p, err, ANC_E_INTERNAL, "xmlNewChild failed");
        }
        xmlNewProp(c2, BAD_CAST "Value", BAD_CAST res->status_code2);
    }
    if (res->status_message != NULL &&
        xmlNewTextChild(status, samlp, BAD_CAST "StatusMessage",
                        BAD_CAST res->status_message) == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlNewTextChild failed");
    }
    return dump(p, doc, root, xml, err);
}

/* ---- verifying ----------------------------------------------------------- */

static anc_status_t failf(apr_pool_t *p, anc_error_t **err, anc_status_t code,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static anc_status_t failf(apr_pool_t *p, anc_error_t **err, anc_status_t code,
                          const char *fmt, ...)
{
    va_list ap;
    char *detail;

    va_start(ap, fmt);
    detail = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    return anc_error_set(p, err, code, "%s", detail);
}

/* An underlying signature failure becomes logout-signature, its own
 * reason kept in the detail (the admin needs both). */
static anc_status_t sig_fail(apr_pool_t *p, anc_error_t **err, anc_status_t code,
                             const char *detail)
{
    if (code == ANC_E_INTERNAL || code == ANC_E_CACHE) {
        return failf(p, err, code, "%s", detail ? detail : "");
    }
    return failf(p, err, ANC_E_LOGOUT_SIGNATURE, "%s: %s", anc_reason(code),
                 detail ? detail : "");
}

static const char *text_of(apr_pool_t *p, xmlNodePtr n)
{
    return anc_xml_collapse(p, anc_xml_text(p, n));
}

/* The Redirect signature by one of the IdP's keys, over the exact octets
 * received (bindings 3.4.4.1; anc_redirect_decode rebuilds nothing). */
static anc_status_t verify_redirect(apr_pool_t *p, const anc_logout_cfg_t *cfg,
                                    const char *query, const anc_idp_t *idp,
                                    anc_error_t **err)
{
    anc_status_t last = ANC_E_SIG_INVALID;
    const char *last_detail = "no key";
    int i;

    for (i = 0; idp->signing_keys != NULL && i < idp->signing_keys->nelts; i++) {
        const anc_key_t *k = APR_ARRAY_IDX(idp->signing_keys, i, const anc_key_t *);
        anc_redirect_msg_t *m = NULL;
        anc_error_t *e = NULL;
        anc_status_t rc = anc_redirect_decode(p, query, cfg->max_size, k, &m, &e);

        if (rc == ANC_OK) {
            return ANC_OK;
        }
        /* the message's own faults end the search; a key that does not
         * verify (or is not RSA) lets the next one try */
        if (rc != ANC_E_SIG_INVALID && rc != ANC_E_SIG_ALGORITHM) {
            return sig_fail(p, err, rc, e ? e->detail : NULL);
        }
        if (last == ANC_E_SIG_INVALID || rc == ANC_E_SIG_INVALID) {
            last = rc;
            last_detail = e ? e->detail : NULL;
        }
    }
    return sig_fail(p, err, last,
                    apr_psprintf(p, "%s (%d key(s) of %s%s%s)",
                                 last_detail ? last_detail : "", idp->signing_keys->nelts,
                                 idp->entity_id, idp->source ? ", from " : "",
                                 idp->source ? idp->source : ""));
}

anc_status_t anc_logout_verify(apr_pool_t *p, const anc_logout_cfg_t *cfg,
                               const anc_logout_input_t *in, anc_logout_msg_t **out,
                               anc_error_t **err)
{
    apr_size_t max = cfg->max_size ? cfg->max_size : ANC_DEFAULT_MAX_RESPONSE_SIZE;
    apr_time_t skew = apr_time_from_sec(cfg->clock_skew >= 0 ? cfg->clock_skew
                                                             : ANC_DEFAULT_CLOCK_SKEW);
    apr_time_t max_age = apr_time_from_sec(ANC_LOGOUT_MAX_AGE);
    const char *xml = NULL, *param, *version, *v;
    apr_size_t xml_len = 0;
    anc_logout_msg_t *m;
    xmlDocPtr doc = NULL;
    xmlNodePtr root, issuer, n;
    anc_status_t rc;

    *out = NULL;
    m = apr_pcalloc(p, sizeof(*m));
    m->binding = in->binding;
    /* ---- the binding */
    if (in->binding == ANC_LOGOUT_BINDING_REDIRECT) {
        anc_redirect_msg_t *rm = NULL;

        rc = anc_redirect_decode(p, in->query, max, NULL, &rm, err);
        if (rc != ANC_OK) {
            return rc;
        }
        /* Bindings 3.4.4.1: a Redirect message is signed in the query;
         * decoded here without a key, so check presence now and the value
         * once the Issuer names the key. */
        if (rm->sig_alg == NULL) {
            return failf(p, err, ANC_E_LOGOUT_SIGNATURE,
                         "Redirect logout message without SigAlg/Signature");
        }
        param = rm->param;
        xml = rm->xml;
        xml_len = rm->xml_len;
        m->relay_state = rm->relay_state;
    } else if (in->binding == ANC_LOGOUT_BINDING_POST) {
        if (in->param == NULL || in->value == NULL) {
            return failf(p, err, ANC_E_BINDING, "no SAMLRequest or SAMLResponse");
        }
        param = in->param;
        /* Bindings 3.5.4: base64 of the XML (line breaks allowed); raw XML
         * is not the binding */
        {
            apr_size_t k = 0;

            while (k < in->value_len && strchr(" \t\r\n", in->value[k]) != NULL) {
                k++;
            }
            if (k < in->value_len && in->value[k] == '<') {
                return failf(p, err, ANC_E_BINDING, "%s is not base64", param);
            }
        }
        rc = anc_response_decode(p, in->value, in->value_len, max, &xml, &xml_len, err);
        if (rc != ANC_OK) {
            return rc;
        }
        m->relay_state = in->relay_state;
    } else {
        return failf(p, err, ANC_E_BINDING, "unknown binding");
    }
    m->is_request = strcmp(param, "SAMLRequest") == 0;

    /* ---- safe parse and envelope */
    rc = anc_xml_parse(p, xml, xml_len, max, ANC_MAX_XML_DEPTH, &doc, err);
    if (rc != ANC_OK) {
        return rc;
    }
    root = xmlDocGetRootElement(doc);
    if (!anc_xml_is(root, ANC_NS_SAMLP,
                    m->is_request ? "LogoutRequest" : "LogoutResponse")) {
        return failf(p, err, ANC_E_NOT_RESPONSE, "%s carries %s, not samlp:%s", param,
                     root ? (const char *)root->name : "nothing",
                     m->is_request ? "LogoutRequest" : "LogoutResponse");
    }
    version = anc_xml_attr(p, root, "Version");
    if (version == NULL || strcmp(version, "2.0") != 0) {
        return failf(p, err, ANC_E_VERSION, "Version %s", version ? version : "(none)");
    }
    m->id = anc_xml_attr(p, root, "ID");
    if (empty(m->id)) {
        return failf(p, err, ANC_E_XML_SCHEMA, "logout message without ID");
    }
    /* A message the schema does not allow is not a SAML message (core 3.7). */
    rc = anc_structure_check(p, root, err);
    if (rc != ANC_OK) {
        return rc;
    }
    /* ---- Issuer: profiles 4.4.4.1 / 4.4.4.2 require it */
    if (anc_xml_child_count(root, ANC_NS_SAML, "Issuer") != 1) {
        return failf(p, err, ANC_E_LOGOUT_ISSUER, "logout message without one Issuer");
    }
    issuer = anc_xml_child(root, ANC_NS_SAML, "Issuer");
    v = anc_xml_attr(p, issuer, "Format");
    if (v != NULL && strcmp(v, NAMEID_ENTITY) != 0) {
        return failf(p, err, ANC_E_LOGOUT_ISSUER,
                     "Issuer Format %s is not the entity format", v);
    }
    m->issuer = text_of(p, issuer);
    m->idp = cfg->trust ? anc_trust_find(cfg->trust, m->issuer) : NULL;
    if (m->idp == NULL) {
        return failf(p, err, ANC_E_LOGOUT_ISSUER, "Issuer %s is not a trusted IdP",
                     m->issuer);
    }
    /* ---- the signature: required in both bindings (profiles 4.4.4.1,
     * 4.4.4.2: MUST be authenticated; a front-channel message can only be
     * by its signature) */
    if (in->binding == ANC_LOGOUT_BINDING_REDIRECT) {
        rc = verify_redirect(p, cfg, in->query, m->idp, err);
        if (rc != ANC_OK) {
            return rc;
        }
    } else {
        xmlNodePtr sig;
        anc_error_t *e = NULL;
        int nsig = anc_xml_child_count(root, ANC_NS_DS, "Signature");

        if (nsig != 1) {
            return failf(p, err, ANC_E_LOGOUT_SIGNATURE,
                         "POST logout message with %d Signatures, not one", nsig);
        }
        sig = anc_xml_child(root, ANC_NS_DS, "Signature");
        rc = anc_dsig_verify(p, root, sig, m->idp->signing_keys, cfg->allow_sha1, &e);
        if (rc != ANC_OK) {
            return sig_fail(p, err, rc, e ? e->detail : NULL);
        }
        /* anc_structure_check again: the dsig check must not have widened
         * what the values below are read from (it did not: the root is
         * the signed element, and the values are its children) */
    }
    /* ---- Destination: bindings 3.4.5.2 / 3.5.5.2, a signed message MUST
     * carry it, and it must be us */
    m->destination = anc_xml_attr(p, root, "Destination");
    if (m->destination == NULL) {
        return failf(p, err, ANC_E_LOGOUT_DESTINATION,
                     "signed logout message without "
                     "Destination");
    }
    if (cfg->slo_url == NULL || strcmp(m->destination, cfg->slo_url) != 0) {
        return failf(p, err, ANC_E_LOGOUT_DESTINATION, "Destination %s is not %s",
                     m->destination, cfg->slo_url ? cfg->slo_url : "(none)");
    }
    /* ---- freshness: IssueInstant (core 3.2.1) within the skew ahead and
     * the skew plus transit time behind; NotOnOrAfter (core 3.7.1) */
    v = anc_xml_attr(p, root, "IssueInstant");
    if (v == NULL || anc_time_parse(v, &m->issue_instant) != ANC_OK) {
        return failf(p, err, ANC_E_XML_SCHEMA, "IssueInstant missing or not a dateTime");
    }
    if (m->issue_instant > in->now + skew) {
        return failf(p, err, ANC_E_LOGOUT_STALE, "IssueInstant %s is in the future", v);
    }
    if (m->issue_instant < in->now - skew - max_age) {
        return failf(p, err, ANC_E_LOGOUT_STALE,
                     "IssueInstant %s is older than %d s plus the clock skew", v,
                     ANC_LOGOUT_MAX_AGE);
    }
    if (m->is_request) {
        v = anc_xml_attr(p, root, "NotOnOrAfter");
        if (v != NULL) {
            if (anc_time_parse(v, &m->not_on_or_after) != ANC_OK) {
                return failf(p, err, ANC_E_XML_SCHEMA, "NotOnOrAfter is not a dateTime");
            }
            if (in->now - skew >= m->not_on_or_after) {
                return failf(p, err, ANC_E_LOGOUT_STALE, "NotOnOrAfter %s has passed", v);
            }
        }
        m->reason = anc_xml_attr(p, root, "Reason");
        /* core 3.7.1: (BaseID | NameID | EncryptedID); only NameID is
         * supported (the SP never receives an EncryptedID in a login
         * either) */
        n = anc_xml_child(root, ANC_NS_SAML, "NameID");
        if (n == NULL || anc_xml_first_elem(n) != NULL) {
            return failf(p, err, ANC_E_NO_NAMEID, "LogoutRequest without a plain NameID");
        }
        m->name_id.value = anc_xml_text(p, n);
        if (*m->name_id.value == '\0') {
            return failf(p, err, ANC_E_NO_NAMEID, "empty NameID");
        }
        m->name_id.format = anc_xml_attr(p, n, "Format");
        m->name_id.name_qualifier = anc_xml_attr(p, n, "NameQualifier");
        m->name_id.sp_name_qualifier = anc_xml_attr(p, n, "SPNameQualifier");
        m->session_indexes = apr_array_make(p, 2, sizeof(const char *));
        for (n = anc_xml_child(root, ANC_NS_SAMLP, "SessionIndex"); n != NULL;
             n = anc_xml_next(n, ANC_NS_SAMLP, "SessionIndex")) {
            APR_ARRAY_PUSH(m->session_indexes, const char *) = anc_xml_text(p, n);
        }
        /* ---- replay, last, for an otherwise valid request: the ID is kept
         * until the message would be stale anyway */
        if (in->replay != NULL) {
            anc_error_t *e = NULL;

            rc = in->replay->check_and_insert(
                in->replay->ctx,
                /* a fixed-size key whatever the lengths of the entityID
                 * and ID (the replay store caps its keys) */
                apr_pstrcat(
                    p, "logout:", anc_logout_principal_key(p, "logout", m->issuer, m->id),
                    NULL),
                m->issue_instant + skew + max_age + skew, in->now, p, &e);
            if (rc == ANC_E_REPLAY) {
                return failf(p, err, ANC_E_LOGOUT_REPLAY, "LogoutRequest %s already seen",
                             m->id);
            }
            if (rc != ANC_OK) {
                return failf(p, err, rc, "%s",
                             e && e->detail ? e->detail : "replay cache");
            }
        }
    } else {
        xmlNodePtr status = anc_xml_child(root, ANC_NS_SAMLP, "Status");
        xmlNodePtr code =
            status ? anc_xml_child(status, ANC_NS_SAMLP, "StatusCode") : NULL;
        xmlNodePtr code2 = code ? anc_xml_child(code, ANC_NS_SAMLP, "StatusCode") : NULL;
        xmlNodePtr msg =
            status ? anc_xml_child(status, ANC_NS_SAMLP, "StatusMessage") : NULL;

        if (code == NULL || (m->status_code = anc_xml_attr(p, code, "Value")) == NULL) {
            return failf(p, err, ANC_E_XML_SCHEMA, "LogoutResponse without a StatusCode");
        }
        m->status_code2 = code2 ? anc_xml_attr(p, code2, "Value") : NULL;
        m->status_message = msg ? anc_xml_text(p, msg) : NULL;
        /* ---- core 3.2.2: InResponseTo names our pending LogoutRequest,
         * sent to this very IdP (the glue's lookup checks and consumes) */
        m->in_response_to = anc_xml_attr(p, root, "InResponseTo");
        if (m->in_response_to == NULL) {
            return failf(p, err, ANC_E_LOGOUT_UNSOLICITED,
                         "LogoutResponse without InResponseTo");
        }
        if (in->request_lookup == NULL) {
            return failf(p, err, ANC_E_LOGOUT_UNSOLICITED, "no pending LogoutRequest %s",
                         m->in_response_to);
        }
        {
            anc_error_t *e = NULL;

            rc = in->request_lookup(in->request_lookup_ctx, m->in_response_to, m->issuer,
                                    p, &e);
            if (rc == ANC_E_CACHE) {
                return failf(p, err, ANC_E_CACHE, "%s",
                             e && e->detail ? e->detail : "request store unavailable");
            }
            if (rc != ANC_OK) {
                return failf(p, err, ANC_E_LOGOUT_UNSOLICITED, "InResponseTo %s: %s",
                             m->in_response_to,
                             e && e->detail ? e->detail : "not a pending LogoutRequest");
            }
        }
    }
    *out = m;
    return ANC_OK;
}

/* ---- matching ------------------------------------------------------------ */

static int same_or_absent(const char *a, const char *b)
{
    return a == NULL || b == NULL || strcmp(a, b) == 0;
}

int anc_logout_matches(const anc_logout_msg_t *m, const anc_session_t *s)
{
    const char *mf, *sf;
    int i, j;

    if (m == NULL || s == NULL || !m->is_request || s->idp == NULL ||
        s->name_id.value == NULL || strcmp(m->issuer, s->idp) != 0 ||
        strcmp(m->name_id.value, s->name_id.value) != 0) {
        return 0;
    }
    /* core 8.3: an absent Format is "unspecified" */
    mf = m->name_id.format ? m->name_id.format : NAMEID_UNSPECIFIED;
    sf = s->name_id.format ? s->name_id.format : NAMEID_UNSPECIFIED;
    if (strcmp(mf, sf) != 0 ||
        !same_or_absent(m->name_id.name_qualifier, s->name_id.name_qualifier) ||
        !same_or_absent(m->name_id.sp_name_qualifier, s->name_id.sp_name_qualifier)) {
        return 0;
    }
    /* core 3.7.3.2: without SessionIndex, every session of the principal */
    if (m->session_indexes == NULL || m->session_indexes->nelts == 0) {
        return 1;
    }
    for (i = 0; s->session_indexes != NULL && i < s->session_indexes->nelts; i++) {
        const char *si = APR_ARRAY_IDX(s->session_indexes, i, const char *);

        for (j = 0; j < m->session_indexes->nelts; j++) {
            if (si != NULL &&
                strcmp(si, APR_ARRAY_IDX(m->session_indexes, j, const char *)) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

const char *anc_logout_principal_key(apr_pool_t *p, const char *sp, const char *idp,
                                     const char *name_id)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    static const char hexd[] = "0123456789abcdef";
    char *out = apr_palloc(p, 33);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int i;

    memset(md, 0, sizeof(md));
    if (ctx != NULL) {
        /* the NULs separate the parts: ("ab", "c") is not ("a", "bc") */
        if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
            EVP_DigestUpdate(ctx, sp ? sp : "", strlen(sp ? sp : "") + 1) != 1 ||
            EVP_DigestUpdate(ctx, idp ? idp : "", strlen(idp ? idp : "") + 1) != 1 ||
            EVP_DigestUpdate(ctx, name_id ? name_id : "",
                             strlen(name_id ? name_id : "")) != 1 ||
            EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
            memset(md, 0, sizeof(md));
        }
        EVP_MD_CTX_free(ctx);
    }
    for (i = 0; i < 16; i++) {
        out[2 * i] = hexd[md[i] >> 4];
        out[2 * i + 1] = hexd[md[i] & 15];
    }
    out[32] = '\0';
    return out;
}
