/*
 * anc_authnreq.c - outbound AuthnRequests (SAML core 3.4.1) and the
 * HTTP-Redirect (SAML bindings 3.4) and HTTP-POST (bindings 3.5) bindings.
 *
 * The XML is built with libxml2's tree API, so every attribute value and
 * text node is escaped by the serializer rather than by hand. Redirect
 * signatures are computed with OpenSSL EVP over the exact query octets;
 * POST signatures are enveloped XML signatures made by xmlsec with the SP
 * key.
 */
#include <string.h>

#include <apr_base64.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <libxml/xmlstring.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>
#include <xmlsec/crypto.h>
#include <zlib.h>

#include "anc_authnreq.h"
#include "anc_response.h" /* anc_time_format */

#define NS_SAMLP "urn:oasis:names:tc:SAML:2.0:protocol"
#define NS_SAML "urn:oasis:names:tc:SAML:2.0:assertion"
#define NS_DS "http://www.w3.org/2000/09/xmldsig#"

/* SAML bindings 3.4.3 and 3.5.3: RelayState MUST NOT exceed 80 bytes. */
#define MAX_RELAY_STATE 80
/* Default cap of an inflated Redirect message when the caller gives 0. */
#define DEFAULT_MAX_INFLATED 262144

/* ---- small helpers ------------------------------------------------------ */

static apr_status_t doc_cleanup(void *data)
{
    xmlFreeDoc((xmlDocPtr)data);
    return APR_SUCCESS;
}

static apr_status_t md_ctx_cleanup(void *data)
{
    EVP_MD_CTX_free((EVP_MD_CTX *)data);
    return APR_SUCCESS;
}

static apr_status_t dsig_ctx_cleanup(void *data)
{
    xmlSecDSigCtxDestroy((xmlSecDSigCtxPtr)data);
    return APR_SUCCESS;
}

/* root serialised (no XML declaration, no added indentation) into p. */
static anc_status_t dump_node(apr_pool_t *p, xmlDocPtr doc, xmlNodePtr root,
                              const char **xml, anc_error_t **err)
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

static int utf8_ok(const char *s)
{
    return s == NULL || xmlCheckUTF8((const xmlChar *)s);
}

const char *anc_url_encode(apr_pool_t *p, const char *s)
{
    static const char hexd[] = "0123456789ABCDEF";
    apr_size_t n, i, o = 0;
    char *out;

    if (s == NULL) {
        return "";
    }
    n = strlen(s);
    out = apr_palloc(p, 3 * n + 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        /* RFC 3986 2.3: unreserved characters are never encoded. */
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hexd[c >> 4];
            out[o++] = hexd[c & 0x0f];
        }
    }
    out[o] = '\0';
    return out;
}

const char *anc_html_escape(apr_pool_t *p, const char *s)
{
    apr_size_t n = 0;
    const char *c;
    char *out, *o;

    if (s == NULL) {
        return "";
    }
    for (c = s; *c; c++) {
        switch (*c) {
            case '&':
                n += 5;
                break;
            case '<':
            case '>':
                n += 4;
                break;
            case '"':
                n += 6;
                break;
            case '\'':
                n += 5;
                break;
            default:
                n += 1;
                break;
        }
    }
    out = o = apr_palloc(p, n + 1);
    for (c = s; *c; c++) {
        switch (*c) {
            case '&':
                memcpy(o, "&amp;", 5);
                o += 5;
                break;
            case '<':
                memcpy(o, "&lt;", 4);
                o += 4;
                break;
            case '>':
                memcpy(o, "&gt;", 4);
                o += 4;
                break;
            case '"':
                memcpy(o, "&quot;", 6);
                o += 6;
                break;
            case '\'':
                memcpy(o, "&#39;", 5);
                o += 5;
                break;
            default:
                *o++ = *c;
                break;
        }
    }
    *o = '\0';
    return out;
}

static const char *b64_encode(apr_pool_t *p, const unsigned char *data, apr_size_t len)
{
    char *out = apr_palloc(p, (apr_size_t)apr_base64_encode_len((int)len));

    apr_base64_encode_binary(out, data, (int)len);
    return out;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Strict base64 (RFC 4648 4): alphabet only, length a multiple of 4,
 * padding only at the end. apr_base64_decode stops silently at the first
 * bad byte, which would let garbage through. Returns 0 on bad input. */
static int b64_decode_strict(apr_pool_t *p, const char *in, apr_size_t n,
                             unsigned char **out, apr_size_t *out_len)
{
    unsigned char *o;
    apr_size_t i, k = 0, pad = 0;

    if (n == 0 || n % 4 != 0) {
        return 0;
    }
    if (in[n - 1] == '=') {
        pad++;
        if (in[n - 2] == '=') {
            pad++;
        }
    }
    o = apr_palloc(p, n / 4 * 3 + 1);
    for (i = 0; i < n; i += 4) {
        int v[4], j;
        int last = (i + 4 == n);

        for (j = 0; j < 4; j++) {
            if (last && j >= 4 - (int)pad) {
                v[j] = 0;
                continue;
            }
            v[j] = b64_value((unsigned char)in[i + j]);
            if (v[j] < 0) {
                return 0;
            }
        }
        o[k++] = (unsigned char)((v[0] << 2) | (v[1] >> 4));
        if (!(last && pad == 2)) {
            o[k++] = (unsigned char)(((v[1] & 0x0f) << 4) | (v[2] >> 2));
        }
        if (!(last && pad >= 1)) {
            o[k++] = (unsigned char)(((v[2] & 0x03) << 6) | v[3]);
        }
    }
    o[k] = '\0';
    *out = o;
    *out_len = k;
    return 1;
}

/* ---- the AuthnRequest --------------------------------------------------- */

anc_status_t anc_authnreq_xml(apr_pool_t *p, const anc_authnreq_t *req, const char **xml,
                              anc_error_t **err)
{
    xmlDocPtr doc;
    xmlNodePtr root, node, rac;
    xmlNsPtr samlp, saml;
    int i;

    if (req == NULL || req->id == NULL || *req->id == '\0' || req->destination == NULL ||
        *req->destination == '\0' || req->acs_url == NULL || *req->acs_url == '\0' ||
        req->issuer == NULL || *req->issuer == '\0') {
        return anc_error_set(p, err, ANC_E_CONFIG,
                             "AuthnRequest needs an ID, a Destination, an ACS URL "
                             "and an Issuer");
    }
    if (req->has_requested_context &&
        (req->classes == NULL || req->classes->nelts == 0)) {
        return anc_error_set(p, err, ANC_E_CONFIG,
                             "RequestedAuthnContext without any class");
    }
    if ((int)req->comparison < 0 || req->comparison > ANC_CMP_MAXIMUM) {
        return anc_error_set(p, err, ANC_E_CONFIG, "unknown comparison");
    }
    if (!utf8_ok(req->id) || !utf8_ok(req->destination) || !utf8_ok(req->acs_url) ||
        !utf8_ok(req->issuer) || !utf8_ok(req->name_id_format)) {
        return anc_error_set(p, err, ANC_E_CONFIG, "AuthnRequest value is not UTF-8");
    }

    doc = xmlNewDoc(BAD_CAST "1.0");
    if (doc == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlNewDoc failed");
    }
    apr_pool_cleanup_register(p, doc, doc_cleanup, apr_pool_cleanup_null);

    root = xmlNewDocNode(doc, NULL, BAD_CAST "AuthnRequest", NULL);
    if (root == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlNewDocNode failed");
    }
    xmlDocSetRootElement(doc, root);
    samlp = xmlNewNs(root, BAD_CAST NS_SAMLP, BAD_CAST "samlp");
    saml = xmlNewNs(root, BAD_CAST NS_SAML, BAD_CAST "saml");
    xmlSetNs(root, samlp);

    /* SAML core 3.2.1 (RequestAbstractType) and 3.4.1 (AuthnRequest). */
    xmlNewProp(root, BAD_CAST "ID", BAD_CAST req->id);
    xmlNewProp(root, BAD_CAST "Version", BAD_CAST "2.0");
    xmlNewProp(root, BAD_CAST "IssueInstant",
               BAD_CAST anc_time_format(p, req->issue_instant)); /* UTC, core 1.3.3 */
    xmlNewProp(root, BAD_CAST "Destination", BAD_CAST req->destination);
    if (req->force_authn) {
        xmlNewProp(root, BAD_CAST "ForceAuthn", BAD_CAST "true");
    }
    if (req->is_passive) {
        xmlNewProp(root, BAD_CAST "IsPassive", BAD_CAST "true");
    }
    /* The SP's ACS takes the Response by HTTP-POST only. */
    xmlNewProp(root, BAD_CAST "ProtocolBinding", BAD_CAST ANC_BINDING_POST);
    xmlNewProp(root, BAD_CAST "AssertionConsumerServiceURL", BAD_CAST req->acs_url);

    /* Children in the schema's sequence: Issuer, (Signature), (Extensions),
     * (Subject), NameIDPolicy, (Conditions), RequestedAuthnContext. */
    node = xmlNewTextChild(root, saml, BAD_CAST "Issuer", BAD_CAST req->issuer);
    if (node == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlNewTextChild failed");
    }
    node = xmlNewChild(root, samlp, BAD_CAST "NameIDPolicy", NULL);
    if (node == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlNewChild failed");
    }
    if (req->name_id_format != NULL) {
        xmlNewProp(node, BAD_CAST "Format", BAD_CAST req->name_id_format);
    }
    xmlNewProp(node, BAD_CAST "AllowCreate",
               BAD_CAST(req->allow_create ? "true" : "false"));

    if (req->has_requested_context) {
        /* SAML core 3.3.2.2.1: the classes in the order of preference. */
        rac = xmlNewChild(root, samlp, BAD_CAST "RequestedAuthnContext", NULL);
        if (rac == NULL) {
            return anc_error_set(p, err, ANC_E_INTERNAL, "xmlNewChild failed");
        }
        xmlNewProp(rac, BAD_CAST "Comparison",
                   BAD_CAST anc_comparison_name(req->comparison));
        for (i = 0; i < req->classes->nelts; i++) {
            const char *c = APR_ARRAY_IDX(req->classes, i, const char *);

            if (c == NULL || *c == '\0' || !utf8_ok(c)) {
                return anc_error_set(p, err, ANC_E_CONFIG,
                                     "empty or non-UTF-8 class URI");
            }
            if (xmlNewTextChild(rac, saml, BAD_CAST "AuthnContextClassRef", BAD_CAST c) ==
                NULL) {
                return anc_error_set(p, err, ANC_E_INTERNAL, "xmlNewTextChild failed");
            }
        }
    }

    return dump_node(p, doc, root, xml, err);
}

/* ---- HTTP-Redirect ------------------------------------------------------ */

static const EVP_MD *sig_alg_md(const char *sig_alg)
{
    if (sig_alg == NULL) {
        return NULL;
    }
    if (strcmp(sig_alg, ANC_SIG_RSA_SHA256) == 0) {
        return EVP_sha256();
    }
    if (strcmp(sig_alg, ANC_SIG_RSA_SHA384) == 0) {
        return EVP_sha384();
    }
    if (strcmp(sig_alg, ANC_SIG_RSA_SHA512) == 0) {
        return EVP_sha512();
    }
    return NULL;
}

/* Raw DEFLATE (RFC 1951, no zlib header), bindings 3.4.4.1. */
static anc_status_t deflate_raw(apr_pool_t *p, const char *in, apr_size_t len,
                                unsigned char **out, apr_size_t *out_len,
                                anc_error_t **err)
{
    z_stream zs;
    uLong bound;
    unsigned char *buf;
    int rc;

    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "deflateInit2 failed");
    }
    bound = deflateBound(&zs, (uLong)len);
    buf = apr_palloc(p, bound);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = buf;
    zs.avail_out = (uInt)bound;
    rc = deflate(&zs, Z_FINISH);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "deflate failed (%d)", rc);
    }
    *out = buf;
    *out_len = (apr_size_t)zs.total_out;
    return ANC_OK;
}

static anc_status_t sign_octets(apr_pool_t *p, const anc_key_t *key, const EVP_MD *md,
                                const char *data, apr_size_t len, const char **sig_b64,
                                anc_error_t **err)
{
    EVP_PKEY *pkey = key != NULL ? (EVP_PKEY *)anc_key_evp(key) : NULL;
    EVP_MD_CTX *ctx;
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *sig;
    size_t siglen = 0;

    if (pkey == NULL || EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA) {
        return anc_error_set(p, err, ANC_E_CONFIG,
                             "request signing needs an RSA private key");
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "EVP_MD_CTX_new failed");
    }
    apr_pool_cleanup_register(p, ctx, md_ctx_cleanup, apr_pool_cleanup_null);
    /* RSASSA-PKCS1-v1_5 (RFC 3447 8.2) as the xmldsig-more RSA-SHA* URIs
     * name; set explicitly so a provider default cannot change it. */
    if (EVP_DigestSignInit(ctx, &pctx, md, NULL, pkey) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)data, len) != 1) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "EVP_DigestSign setup failed");
    }
    sig = apr_palloc(p, siglen);
    if (EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)data, len) != 1) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "EVP_DigestSign failed");
    }
    *sig_b64 = b64_encode(p, sig, siglen);
    return ANC_OK;
}

static anc_status_t check_relay_state(apr_pool_t *p, const char *relay_state,
                                      anc_error_t **err)
{
    if (relay_state != NULL && strlen(relay_state) > MAX_RELAY_STATE) {
        return anc_error_set(p, err, ANC_E_CONFIG,
                             "RelayState longer than %d bytes (bindings 3.4.3)",
                             MAX_RELAY_STATE);
    }
    return ANC_OK;
}

anc_status_t anc_redirect_encode(apr_pool_t *p, const char *destination, const char *xml,
                                 const char *relay_state, const anc_key_t *sign_key,
                                 const char *sig_alg, const char **url, anc_error_t **err)
{
    return anc_redirect_encode_param(p, "SAMLRequest", destination, xml, relay_state,
                                     sign_key, sig_alg, url, err);
}

anc_status_t anc_redirect_encode_param(apr_pool_t *p, const char *param,
                                       const char *destination, const char *xml,
                                       const char *relay_state, const anc_key_t *sign_key,
                                       const char *sig_alg, const char **url,
                                       anc_error_t **err)
{
    unsigned char *deflated = NULL;
    apr_size_t dlen = 0;
    const EVP_MD *md = NULL;
    const char *query;
    const char *sig = NULL;
    anc_status_t rc;

    if (destination == NULL || *destination == '\0' || strchr(destination, '#') ||
        xml == NULL || *xml == '\0') {
        return anc_error_set(p, err, ANC_E_CONFIG,
                             "redirect needs a destination without fragment and a "
                             "message");
    }
    if ((rc = check_relay_state(p, relay_state, err)) != ANC_OK) {
        return rc;
    }
    if (sign_key != NULL) {
        if (sig_alg == NULL) {
            sig_alg = ANC_SIG_RSA_SHA256;
        }
        md = sig_alg_md(sig_alg);
        if (md == NULL) {
            return anc_error_set(p, err, ANC_E_CONFIG,
                                 "unsupported signature algorithm %s", sig_alg);
        }
    }
    rc = deflate_raw(p, xml, strlen(xml), &deflated, &dlen, err);
    if (rc != ANC_OK) {
        return rc;
    }
    /* Bindings 3.4.4.1: SAMLRequest=value&RelayState=value&SigAlg=value,
     * each URL-encoded, and the signature over exactly these octets. */
    if (param == NULL ||
        (strcmp(param, "SAMLRequest") != 0 && strcmp(param, "SAMLResponse") != 0)) {
        return anc_error_set(p, err, ANC_E_CONFIG, "unknown message parameter");
    }
    query = apr_pstrcat(p, param, "=", anc_url_encode(p, b64_encode(p, deflated, dlen)),
                        NULL);
    if (relay_state != NULL && *relay_state != '\0') {
        query =
            apr_pstrcat(p, query, "&RelayState=", anc_url_encode(p, relay_state), NULL);
    }
    if (sign_key != NULL) {
        query = apr_pstrcat(p, query, "&SigAlg=", anc_url_encode(p, sig_alg), NULL);
        rc = sign_octets(p, sign_key, md, query, strlen(query), &sig, err);
        if (rc != ANC_OK) {
            return rc;
        }
        query = apr_pstrcat(p, query, "&Signature=", anc_url_encode(p, sig), NULL);
    }
    *url = apr_pstrcat(p, destination, strchr(destination, '?') ? "&" : "?", query, NULL);
    return ANC_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* application/x-www-form-urlencoded value decoding; 0 on a bad escape or
 * an encoded NUL. */
static int url_decode(apr_pool_t *p, const char *s, apr_size_t n, char **out,
                      apr_size_t *out_len)
{
    char *o = apr_palloc(p, n + 1);
    apr_size_t i, k = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '+') {
            o[k++] = ' ';
        } else if (s[i] == '%') {
            int hi, lo;

            if (i + 2 >= n) {
                return 0; /* '%' without two following characters */
            }
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                return 0;
            }
            o[k++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            o[k++] = s[i];
        }
    }
    o[k] = '\0';
    *out = o;
    *out_len = k;
    return 1;
}

typedef struct {
    const char *raw; /* the octets as received (still URL-encoded) */
    apr_size_t raw_len;
    int seen;
} qparam_t;

enum { Q_REQUEST, Q_RESPONSE, Q_RELAY, Q_SIGALG, Q_SIG, Q__N };
static const char *const qparam_names[Q__N] = {
    "SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature",
};

static anc_status_t inflate_capped(apr_pool_t *p, const unsigned char *in, apr_size_t len,
                                   apr_size_t max, char **out, apr_size_t *out_len,
                                   anc_error_t **err)
{
    z_stream zs;
    apr_size_t cap = 8192, used = 0;
    char *buf;
    int rc;

    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, -15) != Z_OK) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "inflateInit2 failed");
    }
    if (cap > max + 1) {
        cap = max + 1;
    }
    buf = apr_palloc(p, cap);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    for (;;) {
        if (used == cap) {
            /* Grow up to max + 1 bytes: one byte over the cap is enough to
             * know a deflate bomb is a bomb without inflating the rest. */
            apr_size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *nbuf;

            if (ncap <= cap) {
                inflateEnd(&zs);
                return anc_error_set(p, err, ANC_E_TOO_LARGE,
                                     "inflated message over %" APR_SIZE_T_FMT " bytes",
                                     max);
            }
            nbuf = apr_palloc(p, ncap);
            memcpy(nbuf, buf, used);
            buf = nbuf;
            cap = ncap;
        }
        zs.next_out = (Bytef *)buf + used;
        zs.avail_out = (uInt)(cap - used);
        rc = inflate(&zs, Z_NO_FLUSH);
        used = cap - zs.avail_out;
        if (rc == Z_STREAM_END) {
            break;
        }
        if (rc == Z_BUF_ERROR && zs.avail_out != 0) {
            inflateEnd(&zs);
            return anc_error_set(p, err, ANC_E_BINDING, "truncated DEFLATE data");
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            inflateEnd(&zs);
            return anc_error_set(p, err, ANC_E_BINDING, "bad DEFLATE data");
        }
    }
    if (zs.avail_in != 0) {
        inflateEnd(&zs);
        return anc_error_set(p, err, ANC_E_BINDING, "bytes after the DEFLATE stream");
    }
    inflateEnd(&zs);
    if (used > max) {
        return anc_error_set(p, err, ANC_E_TOO_LARGE,
                             "inflated message over %" APR_SIZE_T_FMT " bytes", max);
    }
    if (used == 0 || memchr(buf, '\0', used) != NULL) {
        return anc_error_set(p, err, ANC_E_BINDING, "empty message or NUL byte");
    }
    *out = apr_pstrmemdup(p, buf, used);
    *out_len = used;
    return ANC_OK;
}

static anc_status_t verify_query_sig(apr_pool_t *p, const qparam_t *q, int msg_idx,
                                     const char *sig_alg, const anc_key_t *key,
                                     anc_error_t **err)
{
    EVP_PKEY *pkey = (EVP_PKEY *)anc_key_evp(key);
    const EVP_MD *md = sig_alg_md(sig_alg);
    EVP_MD_CTX *ctx;
    EVP_PKEY_CTX *pctx = NULL;
    const char *signed_octets;
    char *sig_text;
    apr_size_t sig_text_len, sig_len;
    unsigned char *sig;

    if (!q[Q_SIG].seen || !q[Q_SIGALG].seen) {
        return anc_error_set(p, err, ANC_E_SIG_MISSING, "Redirect message not signed");
    }
    if (md == NULL) {
        return anc_error_set(p, err, ANC_E_SIG_ALGORITHM,
                             "signature algorithm not allowed: %s", sig_alg);
    }
    if (pkey == NULL || EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA) {
        return anc_error_set(p, err, ANC_E_SIG_ALGORITHM,
                             "key type does not match RSA SigAlg");
    }
    /* Bindings 3.4.4.1: the signed octets are the parameters as received,
     * still URL-encoded, in the fixed order message, RelayState, SigAlg
     * (whatever order they arrived in). */
    signed_octets = apr_pstrcat(
        p, qparam_names[msg_idx], "=",
        apr_pstrmemdup(p, q[msg_idx].raw, q[msg_idx].raw_len),
        q[Q_RELAY].seen ? "&RelayState=" : "",
        q[Q_RELAY].seen ? apr_pstrmemdup(p, q[Q_RELAY].raw, q[Q_RELAY].raw_len) : "",
        "&SigAlg=", apr_pstrmemdup(p, q[Q_SIGALG].raw, q[Q_SIGALG].raw_len), NULL);
    if (!url_decode(p, q[Q_SIG].raw, q[Q_SIG].raw_len, &sig_text, &sig_text_len) ||
        !b64_decode_strict(p, sig_text, sig_text_len, &sig, &sig_len)) {
        return anc_error_set(p, err, ANC_E_SIG_INVALID, "Signature is not base64");
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "EVP_MD_CTX_new failed");
    }
    apr_pool_cleanup_register(p, ctx, md_ctx_cleanup, apr_pool_cleanup_null);
    if (EVP_DigestVerifyInit(ctx, &pctx, md, NULL, pkey) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "EVP_DigestVerifyInit failed");
    }
    if (EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)signed_octets,
                         strlen(signed_octets)) != 1) {
        return anc_error_set(p, err, ANC_E_SIG_INVALID,
                             "Redirect signature does not verify");
    }
    return ANC_OK;
}

anc_status_t anc_redirect_decode(apr_pool_t *p, const char *query, apr_size_t max,
                                 const anc_key_t *verify_key, anc_redirect_msg_t **msg,
                                 anc_error_t **err)
{
    qparam_t q[Q__N];
    const char *cur, *end;
    int msg_idx, i;
    char *val;
    apr_size_t val_len, raw_len;
    unsigned char *deflated = NULL;
    char *xml = NULL;
    apr_size_t xml_len = 0;
    anc_redirect_msg_t *m;
    anc_status_t rc;

    if (query == NULL) {
        return anc_error_set(p, err, ANC_E_BINDING, "no query string");
    }
    if (max == 0) {
        max = DEFAULT_MAX_INFLATED;
    }
    memset(q, 0, sizeof(q));
    cur = query;
    if (*cur == '?') {
        cur++;
    }
    end = cur + strlen(cur);
    if (cur == end) {
        return anc_error_set(p, err, ANC_E_BINDING, "empty query string");
    }
    while (cur <= end) {
        const char *amp = memchr(cur, '&', (apr_size_t)(end - cur));
        const char *pend = amp != NULL ? amp : end;
        const char *eq = memchr(cur, '=', (apr_size_t)(pend - cur));

        if (eq == NULL || eq == cur) {
            return anc_error_set(p, err, ANC_E_BINDING, "malformed query parameter");
        }
        for (i = 0; i < Q__N; i++) {
            if ((apr_size_t)(eq - cur) == strlen(qparam_names[i]) &&
                memcmp(cur, qparam_names[i], (apr_size_t)(eq - cur)) == 0) {
                break;
            }
        }
        if (i < Q__N) {
            /* A repeated parameter makes "the" value ambiguous: which one
             * was signed and which one is used could differ. */
            if (q[i].seen) {
                return anc_error_set(p, err, ANC_E_BINDING, "duplicate %s",
                                     qparam_names[i]);
            }
            q[i].seen = 1;
            q[i].raw = eq + 1;
            q[i].raw_len = (apr_size_t)(pend - (eq + 1));
        }
        /* Other parameters (an IdP's own) are ignored but not signed. */
        if (amp == NULL) {
            break;
        }
        cur = amp + 1;
    }
    if (q[Q_REQUEST].seen == q[Q_RESPONSE].seen) {
        return anc_error_set(p, err, ANC_E_BINDING,
                             "exactly one of SAMLRequest and SAMLResponse is needed");
    }
    if (q[Q_SIG].seen != q[Q_SIGALG].seen) {
        return anc_error_set(p, err, ANC_E_BINDING, "SigAlg and Signature go together");
    }
    msg_idx = q[Q_REQUEST].seen ? Q_REQUEST : Q_RESPONSE;
    m = apr_pcalloc(p, sizeof(*m));
    m->param = qparam_names[msg_idx];

    if (q[Q_RELAY].seen) {
        if (!url_decode(p, q[Q_RELAY].raw, q[Q_RELAY].raw_len, &val, &val_len)) {
            return anc_error_set(p, err, ANC_E_BINDING, "bad RelayState encoding");
        }
        m->relay_state = val;
    }
    if (q[Q_SIGALG].seen) {
        if (!url_decode(p, q[Q_SIGALG].raw, q[Q_SIGALG].raw_len, &val, &val_len)) {
            return anc_error_set(p, err, ANC_E_BINDING, "bad SigAlg encoding");
        }
        m->sig_alg = val;
    }
    if (verify_key != NULL) {
        rc = verify_query_sig(p, q, msg_idx, m->sig_alg, verify_key, err);
        if (rc != ANC_OK) {
            return rc;
        }
    }
    raw_len = q[msg_idx].raw_len;
    /* base64 of a capped inflated message cannot be arbitrarily long
     * either: DEFLATE never expands by more than a little, so refuse early
     * anything whose base64 alone is bigger than the cap allows. */
    if (raw_len / 4 > max + 1024) {
        return anc_error_set(p, err, ANC_E_TOO_LARGE, "%s too long", m->param);
    }
    if (!url_decode(p, q[msg_idx].raw, raw_len, &val, &val_len) ||
        !b64_decode_strict(p, val, val_len, &deflated, &raw_len)) {
        return anc_error_set(p, err, ANC_E_BINDING, "%s is not base64", m->param);
    }
    rc = inflate_capped(p, deflated, raw_len, max, &xml, &xml_len, err);
    if (rc != ANC_OK) {
        return rc;
    }
    m->xml = xml;
    m->xml_len = xml_len;
    *msg = m;
    return ANC_OK;
}

/* ---- HTTP-POST ---------------------------------------------------------- */

static anc_status_t sign_enveloped(apr_pool_t *p, const char *xml, const anc_key_t *key,
                                   const char *sig_alg, const char **signed_xml,
                                   anc_error_t **err)
{
    xmlDocPtr doc;
    xmlNodePtr root, issuer, sig, ref, cur;
    xmlAttrPtr id_attr;
    xmlChar *id;
    xmlSecTransformId sig_id, digest_id;
    xmlSecDSigCtxPtr ctx;
    xmlSecKeyPtr xkey;
    const char *cert;
    const char *ref_uri;

    if (sig_alg == NULL || strcmp(sig_alg, ANC_SIG_RSA_SHA256) == 0) {
        sig_id = xmlSecTransformRsaSha256Id;
        digest_id = xmlSecTransformSha256Id;
    } else if (strcmp(sig_alg, ANC_SIG_RSA_SHA384) == 0) {
        sig_id = xmlSecTransformRsaSha384Id;
        digest_id = xmlSecTransformSha384Id;
    } else if (strcmp(sig_alg, ANC_SIG_RSA_SHA512) == 0) {
        sig_id = xmlSecTransformRsaSha512Id;
        digest_id = xmlSecTransformSha512Id;
    } else {
        return anc_error_set(p, err, ANC_E_CONFIG, "unsupported signature algorithm %s",
                             sig_alg);
    }
    xkey = (xmlSecKeyPtr)anc_key_xmlsec(key);
    if (xkey == NULL) {
        return anc_error_set(p, err, ANC_E_CONFIG, "no xmlsec key to sign with");
    }
    /* Our own output, but parsed as strictly as any input: no DTD, no
     * network, no entity substitution. */
    doc = xmlReadMemory(xml, (int)strlen(xml), "authnrequest.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    if (doc == NULL) {
        return anc_error_set(p, err, ANC_E_CONFIG, "AuthnRequest XML does not parse");
    }
    apr_pool_cleanup_register(p, doc, doc_cleanup, apr_pool_cleanup_null);
    root = xmlDocGetRootElement(doc);
    if (doc->intSubset != NULL || root == NULL) {
        return anc_error_set(p, err, ANC_E_CONFIG, "AuthnRequest XML has a DTD");
    }
    id_attr = xmlHasProp(root, BAD_CAST "ID");
    id = xmlGetProp(root, BAD_CAST "ID");
    if (id_attr == NULL || id == NULL || *id == '\0') {
        xmlFree(id);
        return anc_error_set(p, err, ANC_E_CONFIG, "message without an ID to sign");
    }
    ref_uri = apr_pstrcat(p, "#", (const char *)id, NULL);
    /* The Reference resolves "#ID" through the document's ID table. */
    if (xmlAddID(NULL, doc, id, id_attr) == NULL) {
        xmlFree(id);
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlAddID failed");
    }
    xmlFree(id);

    /* XML-DSig core 6.6.4 / SAML core 5.4: enveloped signature, exclusive
     * C14N (5.4.3), one Reference to the root's ID (5.4.2). */
    sig = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId, sig_id, NULL,
                                          BAD_CAST "ds");
    if (sig == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "signature template failed");
    }
    /* The schema puts ds:Signature right after saml:Issuer. */
    issuer = NULL;
    for (cur = root->children; cur != NULL; cur = cur->next) {
        if (cur->type == XML_ELEMENT_NODE) {
            if (xmlStrEqual(cur->name, BAD_CAST "Issuer") && cur->ns != NULL &&
                xmlStrEqual(cur->ns->href, BAD_CAST NS_SAML)) {
                issuer = cur;
            }
            break;
        }
    }
    if (issuer != NULL) {
        xmlAddNextSibling(issuer, sig);
    } else if (root->children != NULL) {
        xmlAddPrevSibling(root->children, sig);
    } else {
        xmlAddChild(root, sig);
    }
    ref = xmlSecTmplSignatureAddReference(sig, digest_id, NULL, BAD_CAST ref_uri, NULL);
    if (ref == NULL ||
        xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) == NULL ||
        xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "signature reference failed");
    }
    ctx = xmlSecDSigCtxCreate(NULL);
    if (ctx == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlSecDSigCtxCreate failed");
    }
    apr_pool_cleanup_register(p, ctx, dsig_ctx_cleanup, apr_pool_cleanup_null);
    /* The context destroys its signKey: hand it a copy of the shared key. */
    ctx->signKey = xmlSecKeyDuplicate(xkey);
    if (ctx->signKey == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlSecKeyDuplicate failed");
    }
    if (xmlSecDSigCtxSign(ctx, sig) < 0 || ctx->status != xmlSecDSigStatusSucceeded) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlSecDSigCtxSign failed");
    }
    /* KeyInfo is outside SignedInfo, so adding the certificate after
     * signing changes nothing that is signed; it only helps an IdP pick
     * the key. */
    cert = anc_key_cert_base64(key);
    if (cert != NULL) {
        xmlNsPtr ds = xmlSearchNsByHref(doc, sig, BAD_CAST NS_DS);
        xmlNodePtr ki = xmlNewChild(sig, ds, BAD_CAST "KeyInfo", NULL);
        xmlNodePtr xd =
            ki != NULL ? xmlNewChild(ki, ds, BAD_CAST "X509Data", NULL) : NULL;

        if (xd == NULL ||
            xmlNewTextChild(xd, ds, BAD_CAST "X509Certificate", BAD_CAST cert) == NULL) {
            return anc_error_set(p, err, ANC_E_INTERNAL, "KeyInfo failed");
        }
    }
    return dump_node(p, doc, root, signed_xml, err);
}

anc_status_t anc_post_form(apr_pool_t *p, const char *destination, const char *xml,
                           const char *relay_state, const anc_key_t *sign_key,
                           const char *sig_alg, const char **html, anc_error_t **err)
{
    return anc_post_form_param(p, "SAMLRequest", destination, xml, relay_state, sign_key,
                               sig_alg, html, err);
}

anc_status_t anc_post_form_param(apr_pool_t *p, const char *param,
                                 const char *destination, const char *xml,
                                 const char *relay_state, const anc_key_t *sign_key,
                                 const char *sig_alg, const char **html,
                                 anc_error_t **err)
{
    const char *msg = xml;
    const char *rs_input = "";
    anc_status_t rc;

    if (destination == NULL || *destination == '\0' || xml == NULL || *xml == '\0' ||
        param == NULL ||
        (strcmp(param, "SAMLRequest") != 0 && strcmp(param, "SAMLResponse") != 0)) {
        return anc_error_set(p, err, ANC_E_CONFIG,
                             "POST needs a destination and a message");
    }
    if ((rc = check_relay_state(p, relay_state, err)) != ANC_OK) {
        return rc;
    }
    if (sign_key != NULL) {
        rc = sign_enveloped(p, xml, sign_key, sig_alg, &msg, err);
        if (rc != ANC_OK) {
            return rc;
        }
    }
    if (relay_state != NULL && *relay_state != '\0') {
        rs_input = apr_pstrcat(p, "<input type=\"hidden\" name=\"RelayState\" value=\"",
                               anc_html_escape(p, relay_state), "\"/>\n", NULL);
    }
    /* Bindings 3.5.4: the base64 message in a form field; a script submits
     * it, and a visible button does when scripts are off. */
    *html = apr_pstrcat(
        p,
        "<!DOCTYPE html>\n"
        "<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n"
        "<head><meta charset=\"utf-8\"/>"
        "<title>Signing in</title></head>\n"
        "<body onload=\"document.forms[0].submit()\">\n"
        "<noscript><p>Scripts are off in your browser: press Continue to go on "
        "to your sign-in page.</p></noscript>\n"
        "<form method=\"post\" action=\"",
        anc_html_escape(p, destination), "\">\n", "<input type=\"hidden\" name=\"", param,
        "\" value=\"", b64_encode(p, (const unsigned char *)msg, strlen(msg)), "\"/>\n",
        rs_input,
        "<noscript><input type=\"submit\" value=\"Continue\"/></noscript>\n"
        "</form>\n</body>\n</html>\n",
        NULL);
    return ANC_OK;
}
