/*
 * anc_decrypt.c - saml:EncryptedAssertion with the SP's private key.
 *
 * SAML core 2.3.4 / 6.2: an EncryptedAssertion holds one xenc:EncryptedData
 * (Type Element) and the xenc:EncryptedKey for it, either inside the
 * EncryptedData's KeyInfo or as a sibling. The key transport is undone with
 * the configured SP key only (encCtx->encKey preset, no keys manager, so
 * nothing in the message selects or supplies a key), then the content is
 * decrypted with the recovered AES key. Each context enables exactly the
 * algorithms allowed below, so anything else fails inside xmlsec too.
 *
 * Every failure yields the same reason (decrypt-failed) with no detail of
 * which step failed: distinguishable errors are what padding-oracle
 * attacks on XML Encryption feed on (Jager and Somorovsky, CCS 2011).
 */
#include <string.h>

#include <apr_strings.h>
#include <xmlsec/crypto.h>
#include <xmlsec/keys.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmlenc.h>
#include <xmlsec/xmlsec.h>

#include "anc_dsig.h"
#include "anc_xml.h"

#define XENC_TYPE_ELEMENT "http://www.w3.org/2001/04/xmlenc#Element"

typedef struct content_algo_t {
    xmlSecTransformId (*klass)(void);
    apr_size_t key_bytes;
    int aead; /* the tag authenticates the ciphertext; CBC does not */
} content_algo_t;

static const content_algo_t content_algos[] = {
    {xmlSecOpenSSLTransformAes128CbcGetKlass, 16, 0},
    {xmlSecOpenSSLTransformAes192CbcGetKlass, 24, 0},
    {xmlSecOpenSSLTransformAes256CbcGetKlass, 32, 0},
    {xmlSecOpenSSLTransformAes128GcmGetKlass, 16, 1},
    {xmlSecOpenSSLTransformAes192GcmGetKlass, 24, 1},
    {xmlSecOpenSSLTransformAes256GcmGetKlass, 32, 1},
};

static const content_algo_t *find_content_algo(apr_pool_t *p, xmlNodePtr ed)
{
    xmlNodePtr em = anc_xml_child(ed, ANC_NS_XENC, "EncryptionMethod");
    const char *alg = em != NULL ? anc_xml_attr(p, em, "Algorithm") : NULL;
    size_t i;

    if (alg == NULL) {
        return NULL;
    }
    for (i = 0; i < sizeof(content_algos) / sizeof(content_algos[0]); i++) {
        if (strcmp(alg, (const char *)content_algos[i].klass()->href) == 0) {
            return &content_algos[i];
        }
    }
    return NULL;
}

/* XML Encryption 3.3.1 lets CipherData name its octets by URI
 * (CipherReference); xmlsec's contexts would fetch any URI (file, http) by
 * default. SAML core 6.2 carries them inline: only a CipherValue is
 * accepted, and the context may dereference no URI at all. */
static int cipher_value_only(xmlSecEncCtxPtr ctx, xmlNodePtr enc_type)
{
    xmlNodePtr cd = anc_xml_child(enc_type, ANC_NS_XENC, "CipherData");

    ctx->transformCtx.enabledUris = xmlSecTransformUriTypeNone;
    return cd != NULL && anc_xml_child_count(enc_type, ANC_NS_XENC, "CipherData") == 1 &&
           anc_xml_child_count(cd, ANC_NS_XENC, "CipherValue") == 1 &&
           anc_xml_child(cd, ANC_NS_XENC, "CipherReference") == NULL;
}

/* Decrypts one EncryptedKey (is_key) or EncryptedData node with key (taken
 * over: the context destroys it), only the transform `allowed` enabled;
 * the plaintext (want bytes exactly when want is not 0) goes into p. */
static int decrypt_node(apr_pool_t *p, xmlNodePtr node, int is_key,
                        xmlSecTransformId allowed, xmlSecKeyPtr key, apr_size_t want,
                        unsigned char **out, apr_size_t *out_len)
{
    xmlSecEncCtxPtr ctx;
    xmlSecBufferPtr buf;
    apr_size_t n;
    int ok = 0;

    if (key == NULL) {
        return 0;
    }
    ctx = xmlSecEncCtxCreate(NULL);
    if (ctx == NULL) {
        xmlSecKeyDestroy(key);
        return 0;
    }
    ctx->encKey = key;
    if (is_key) {
        ctx->mode = xmlEncCtxModeEncryptedKey;
    }
    if (cipher_value_only(ctx, node) &&
        xmlSecPtrListAdd(&ctx->transformCtx.enabledTransforms, (void *)allowed) >= 0) {
        buf = xmlSecEncCtxDecryptToBuffer(ctx, node);
        n = buf != NULL ? xmlSecBufferGetSize(buf) : 0;
        if (n > 0 && (want == 0 || n == want)) {
            *out = apr_pmemdup(p, xmlSecBufferGetData(buf), n);
            *out_len = n;
            ok = 1;
        }
    }
    xmlSecEncCtxDestroy(ctx);
    return ok;
}

/* Undoes one EncryptedKey with the SP key; the key bytes go into p.
 * RSA-OAEP only (see anc_dsig.h: no PKCS#1 v1.5 padding oracle). */
static int unwrap_key(apr_pool_t *p, xmlNodePtr ek, const anc_key_t *sp_key,
                      apr_size_t want, unsigned char **key_bytes)
{
    apr_size_t n;

    return decrypt_node(p, ek, 1, xmlSecTransformRsaOaepId,
                        xmlSecKeyDuplicate(sp_key->key), want, key_bytes, &n);
}

static int decrypt_content(apr_pool_t *p, xmlNodePtr ed, const content_algo_t *algo,
                           const unsigned char *key_bytes, char **plain,
                           apr_size_t *plain_len)
{
    return decrypt_node(
        p, ed, 0, algo->klass(),
        xmlSecKeyReadMemory(xmlSecKeyDataAesId, key_bytes, (xmlSecSize)algo->key_bytes),
        0, (unsigned char **)plain, plain_len);
}

anc_status_t anc_decrypt_element(apr_pool_t *p, xmlNodePtr enc, const anc_key_t *sp_key,
                                 apr_size_t max_size, int max_depth, xmlNodePtr *out,
                                 int *malleable, anc_error_t **err)
{
    xmlNodePtr ed, ki, ek;
    xmlNodePtr candidates[8];
    int n = 0, i;
    const content_algo_t *algo;
    const char *type;
    unsigned char *key_bytes = NULL;
    char *plain = NULL;
    apr_size_t plain_len = 0;
    anc_status_t rv;
    int depth_left;

    *malleable = 0;
    if (sp_key == NULL || sp_key->key == NULL || !sp_key->is_private) {
        return anc_error_set(p, err, ANC_E_NO_SP_KEY, "no SP private key configured");
    }
    ed = anc_xml_child(enc, ANC_NS_XENC, "EncryptedData");
    if (ed == NULL || anc_xml_child_count(enc, ANC_NS_XENC, "EncryptedData") != 1) {
        return anc_error_set(p, err, ANC_E_DECRYPT, "need one EncryptedData");
    }
    type = anc_xml_attr(p, ed, "Type");
    if (type != NULL && strcmp(type, XENC_TYPE_ELEMENT) != 0) {
        return anc_error_set(p, err, ANC_E_DECRYPT,
                             "EncryptedData is not of Type Element");
    }
    algo = find_content_algo(p, ed);
    if (algo == NULL) {
        return anc_error_set(p, err, ANC_E_DECRYPT, "content encryption not allowed");
    }
    ki = anc_xml_child(ed, ANC_NS_DS, "KeyInfo");
    for (ek = anc_xml_child(ki, ANC_NS_XENC, "EncryptedKey"); ek != NULL && n < 8;
         ek = anc_xml_next(ek, ANC_NS_XENC, "EncryptedKey")) {
        candidates[n++] = ek;
    }
    for (ek = anc_xml_child(enc, ANC_NS_XENC, "EncryptedKey"); ek != NULL && n < 8;
         ek = anc_xml_next(ek, ANC_NS_XENC, "EncryptedKey")) {
        candidates[n++] = ek;
    }
    /* Several EncryptedKeys are legitimate (one per recipient). */
    for (i = 0; i < n && key_bytes == NULL; i++) {
        unwrap_key(p, candidates[i], sp_key, algo->key_bytes, &key_bytes);
    }
    if (key_bytes == NULL ||
        !decrypt_content(p, ed, algo, key_bytes, &plain, &plain_len)) {
        return anc_error_set(p, err, ANC_E_DECRYPT, "cannot decrypt the assertion");
    }
    *malleable = !algo->aead;
    /* XML Encryption 4.5 (Type Element): the plaintext replaces the
     * EncryptedData, so it is read in that place: the namespace prefixes
     * declared around the EncryptedAssertion apply to it. It gets the same
     * parser and limits as the Response (UTF-8 only, no DTD, the attribute
     * cap), in a document of its own; its depth counts from where the
     * EncryptedAssertion sits. */
    depth_left = max_depth - anc_xml_depth(enc) + 1;
    if (depth_left < 1) {
        depth_left = 1;
    }
    rv = anc_xml_parse_in_context(p, plain, plain_len, enc, max_size, depth_left, out,
                                  err);
    if (rv != ANC_OK) {
        if (rv == ANC_E_XML_PARSE || rv == ANC_E_INPUT || rv == ANC_E_XML_ENCODING) {
            return anc_error_set(p, err, ANC_E_DECRYPT,
                                 "decrypted content is not an XML element");
        }
        return rv;
    }
    return ANC_OK;
}
