/*
 * anc_dsig.c - XML Signature verification with metadata keys only.
 *
 * The signature is first read by hand (XML Signature core 4.4) so each
 * structural rule fails with its own reason, then xmlsec verifies it with
 * the same rules enforced again through its enabled-transform lists, with
 * dsigCtx->signKey preset to a trusted key so that the message's KeyInfo is
 * never consulted. Finally the Reference's target is compared by pointer
 * with the element the caller will read: the defence against signature
 * wrapping (Somorovsky et al., "On Breaking SAML", USENIX Security 2012).
 */
#include <string.h>

#include <apr_strings.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <xmlsec/crypto.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>

#include "anc_dsig.h"
#include "anc_xml.h"

typedef struct algo_t {
    xmlSecTransformId (*klass)(void);
    int sha1;
} algo_t;

/* SignatureMethod allow-list: RSA and ECDSA with SHA-2; SHA-1 only when
 * configured; never HMAC (a shared secret is not what metadata carries)
 * and never DSA. */
static const algo_t signature_algos[] = {
    {xmlSecOpenSSLTransformRsaSha256GetKlass, 0},
    {xmlSecOpenSSLTransformRsaSha384GetKlass, 0},
    {xmlSecOpenSSLTransformRsaSha512GetKlass, 0},
    {xmlSecOpenSSLTransformEcdsaSha256GetKlass, 0},
    {xmlSecOpenSSLTransformEcdsaSha384GetKlass, 0},
    {xmlSecOpenSSLTransformEcdsaSha512GetKlass, 0},
    {xmlSecOpenSSLTransformRsaSha1GetKlass, 1},
    {xmlSecOpenSSLTransformEcdsaSha1GetKlass, 1},
};

static const algo_t digest_algos[] = {
    {xmlSecOpenSSLTransformSha256GetKlass, 0},
    {xmlSecOpenSSLTransformSha384GetKlass, 0},
    {xmlSecOpenSSLTransformSha512GetKlass, 0},
    {xmlSecOpenSSLTransformSha1GetKlass, 1},
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const char *href_of(xmlSecTransformId (*klass)(void))
{
    return (const char *)klass()->href;
}

static int is_c14n(const char *alg)
{
    return strcmp(alg, (const char *)xmlSecTransformExclC14NId->href) == 0 ||
           strcmp(alg, (const char *)xmlSecTransformExclC14NWithCommentsId->href) == 0;
}

static int algo_allowed(const algo_t *list, size_t n, const char *alg, int allow_sha1,
                        int *known)
{
    size_t i;

    *known = 0;
    for (i = 0; i < n; i++) {
        if (strcmp(alg, href_of(list[i].klass)) == 0) {
            *known = 1;
            return !list[i].sha1 || allow_sha1;
        }
    }
    return 0;
}

static const char *alg_attr(apr_pool_t *p, xmlNodePtr node)
{
    const char *a = node != NULL ? anc_xml_attr(p, node, "Algorithm") : NULL;

    return a != NULL ? a : "";
}

/* XML Signature core 4.4 (SignedInfo), 4.4.3 (Reference), with the SAML
 * core 5.4.1-5.4.4 profile: one Reference to the enclosing element's ID,
 * enveloped-signature and exclusive C14N only. */
static anc_status_t check_signed_info(apr_pool_t *p, xmlNodePtr signed_elem,
                                      xmlNodePtr sig, int allow_sha1, const char **ref_id,
                                      anc_error_t **err)
{
    xmlNodePtr si = anc_xml_child(sig, ANC_NS_DS, "SignedInfo");
    xmlNodePtr c14n, method, ref, transforms, t, digest;
    const char *alg, *uri, *id;
    int known, n_enveloped = 0, n_exc_c14n = 0;

    if (si == NULL || anc_xml_child_count(sig, ANC_NS_DS, "SignedInfo") != 1 ||
        anc_xml_child_count(sig, ANC_NS_DS, "SignatureValue") != 1) {
        return anc_error_set(p, err, ANC_E_XML_SCHEMA,
                             "Signature needs one SignedInfo and one SignatureValue");
    }
    c14n = anc_xml_child(si, ANC_NS_DS, "CanonicalizationMethod");
    alg = alg_attr(p, c14n);
    if (!is_c14n(alg)) {
        return anc_error_set(p, err, ANC_E_SIG_TRANSFORM,
                             "canonicalization %s is not exclusive C14N", alg);
    }
    method = anc_xml_child(si, ANC_NS_DS, "SignatureMethod");
    alg = alg_attr(p, method);
    if (!algo_allowed(signature_algos, N_ELEMS(signature_algos), alg, allow_sha1,
                      &known)) {
        return anc_error_set(p, err, ANC_E_SIG_ALGORITHM,
                             "signature algorithm %s not allowed%s", alg,
                             known ? " (SHA-1 is off)" : "");
    }
    /* SAML core 5.4.2: exactly one Reference. */
    if (anc_xml_child_count(si, ANC_NS_DS, "Reference") != 1) {
        return anc_error_set(p, err, ANC_E_SIG_REFERENCE,
                             "SignedInfo has %d References, not one",
                             anc_xml_child_count(si, ANC_NS_DS, "Reference"));
    }
    ref = anc_xml_child(si, ANC_NS_DS, "Reference");
    uri = anc_xml_attr(p, ref, "URI");
    id = anc_xml_attr(p, signed_elem, "ID");
    if (id == NULL || *id == '\0') {
        return anc_error_set(p, err, ANC_E_XML_SCHEMA, "signed element has no ID");
    }
    /* SAML core 1.3.4: an ID is an xs:ID, i.e. an NCName. xmlsec resolves
     * "#v" as xpointer(id('v')) (and "#xpointer(...)" as an expression), so
     * a value with spaces, quotes or parentheses would make the digest cover
     * other elements while an ID lookup still finds this one. */
    if (xmlValidateNCName(BAD_CAST id, 0) != 0) {
        return anc_error_set(p, err, ANC_E_XML_SCHEMA,
                             "signed element's ID '%s' is not an NCName", id);
    }
    /* SAML core 5.4.2: URI is "#" + the ID of the signature's parent. */
    if (uri == NULL || uri[0] != '#' || strcmp(uri + 1, id) != 0) {
        return anc_error_set(p, err, ANC_E_SIG_REFERENCE,
                             "Reference URI '%s' is not '#%s'",
                             uri != NULL ? uri : "(none)", id);
    }
    transforms = anc_xml_child(ref, ANC_NS_DS, "Transforms");
    if (anc_xml_child_count(ref, ANC_NS_DS, "Transforms") > 1) {
        return anc_error_set(p, err, ANC_E_SIG_TRANSFORM, "two Transforms elements");
    }
    /* SAML core 5.4.4: enveloped-signature and exclusive C14N only; no
     * XPath, XSLT or base64 transform may change what is digested. The
     * WithComments variant is refused here (stricter than 5.4.4's SHOULD):
     * no SAML IdP digests comments, and DESIGN.md allows exclusive C14N. */
    for (t = anc_xml_first_elem(transforms); t != NULL; t = anc_xml_next_elem(t)) {
        alg = alg_attr(p, t);
        if (anc_xml_is(t, ANC_NS_DS, "Transform") &&
            strcmp(alg, (const char *)xmlSecTransformEnvelopedId->href) == 0) {
            n_enveloped++;
        } else if (anc_xml_is(t, ANC_NS_DS, "Transform") &&
                   strcmp(alg, (const char *)xmlSecTransformExclC14NId->href) == 0) {
            n_exc_c14n++;
        } else {
            return anc_error_set(p, err, ANC_E_SIG_TRANSFORM, "transform %s not allowed",
                                 alg);
        }
    }
    /* Each exactly once: without the explicit exclusive C14N xmlsec would
     * digest with its default, inclusive C14N 1.0 (XML Signature 4.4.3.2). */
    if (n_enveloped != 1 || n_exc_c14n != 1) {
        return anc_error_set(p, err, ANC_E_SIG_TRANSFORM,
                             "Transforms must be enveloped-signature and exclusive "
                             "C14N, once each (%d, %d)",
                             n_enveloped, n_exc_c14n);
    }
    digest = anc_xml_child(ref, ANC_NS_DS, "DigestMethod");
    alg = alg_attr(p, digest);
    if (!algo_allowed(digest_algos, N_ELEMS(digest_algos), alg, allow_sha1, &known)) {
        return anc_error_set(p, err, ANC_E_SIG_ALGORITHM,
                             "digest algorithm %s not allowed%s", alg,
                             known ? " (SHA-1 is off)" : "");
    }
    *ref_id = id;
    return ANC_OK;
}

static int enable_transforms(xmlSecDSigCtxPtr ctx, int allow_sha1)
{
    size_t i;

    if (xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
        xmlSecDSigCtxEnableSignatureTransform(
            ctx, xmlSecTransformExclC14NWithCommentsId) < 0 ||
        xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId) < 0 ||
        xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NId) < 0) {
        return -1;
    }
    for (i = 0; i < N_ELEMS(signature_algos); i++) {
        if ((!signature_algos[i].sha1 || allow_sha1) &&
            xmlSecDSigCtxEnableSignatureTransform(ctx, signature_algos[i].klass()) < 0) {
            return -1;
        }
    }
    /* the DigestMethod is read through the reference's transform context */
    for (i = 0; i < N_ELEMS(digest_algos); i++) {
        if ((!digest_algos[i].sha1 || allow_sha1) &&
            xmlSecDSigCtxEnableReferenceTransform(ctx, digest_algos[i].klass()) < 0) {
            return -1;
        }
    }
    return 0;
}

/* One attempt with one key. Returns 1 verified, 0 not verified by this key,
 * -1 internal error, -2 verified but the Reference does not designate
 * signed_elem. */
static int verify_with_key(xmlNodePtr signed_elem, xmlNodePtr sig, const anc_key_t *key,
                           const char *ref_id, int allow_sha1)
{
    xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
    int ok = 0;

    if (ctx == NULL) {
        return -1;
    }
    ctx->flags |= XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS;
    /* Only same-document references ("#id"): no file, no network. */
    ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
    if (enable_transforms(ctx, allow_sha1) < 0) {
        xmlSecDSigCtxDestroy(ctx);
        return -1;
    }
    ctx->signKey = xmlSecKeyDuplicate(key->key);
    if (ctx->signKey == NULL) {
        xmlSecDSigCtxDestroy(ctx);
        return -1;
    }
    /* xmlsec's own examples: both the return code and the status. */
    if (xmlSecDSigCtxVerify(ctx, sig) == 0 && ctx->status == xmlSecDSigStatusSucceeded) {
        xmlSecDSigReferenceCtxPtr ref = NULL;
        xmlAttrPtr target;

        if (xmlSecPtrListGetSize(&ctx->signedInfoReferences) == 1) {
            ref = xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0);
        }
        target = xmlGetID(signed_elem->doc, BAD_CAST ref_id);
        if (ref != NULL && ref->status == xmlSecDSigStatusSucceeded && ref->uri != NULL &&
            ref->uri[0] == '#' && strcmp((const char *)ref->uri + 1, ref_id) == 0 &&
            target != NULL && target->parent == signed_elem &&
            sig->parent == signed_elem) {
            ok = 1;
        } else {
            ok = -2;
        }
    }
    xmlSecDSigCtxDestroy(ctx);
    return ok;
}

anc_status_t anc_dsig_verify(apr_pool_t *p, xmlNodePtr signed_elem, xmlNodePtr sig,
                             const apr_array_header_t *keys, int allow_sha1,
                             anc_error_t **err)
{
    const char *ref_id = NULL;
    anc_status_t rv;
    int i;

    if (sig == NULL || signed_elem == NULL || sig->parent != signed_elem) {
        return anc_error_set(p, err, ANC_E_SIG_WRAPPING,
                             "Signature is not a child of the signed element");
    }
    rv = check_signed_info(p, signed_elem, sig, allow_sha1, &ref_id, err);
    if (rv != ANC_OK) {
        return rv;
    }
    if (keys == NULL || keys->nelts == 0) {
        return anc_error_set(p, err, ANC_E_SIG_INVALID, "no trusted key");
    }
    for (i = 0; i < keys->nelts; i++) {
        int r = verify_with_key(signed_elem, sig, APR_ARRAY_IDX(keys, i, anc_key_t *),
                                ref_id, allow_sha1);

        if (r == 1) {
            return ANC_OK;
        }
        if (r == -2) {
            return anc_error_set(p, err, ANC_E_SIG_WRAPPING,
                                 "signature does not cover the element used");
        }
        if (r == -1) {
            return anc_error_set(p, err, ANC_E_INTERNAL,
                                 "cannot set up signature verification");
        }
    }
    return anc_error_set(p, err, ANC_E_SIG_INVALID,
                         "signature does not verify with any of the IdP's %d key(s)",
                         keys->nelts);
}
