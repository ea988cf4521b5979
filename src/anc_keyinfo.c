/*
 * anc_keyinfo.c - key fingerprints (see include/anc_keyinfo.h).
 */
#include <string.h>

#include <apr_strings.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "anc_keyinfo.h"
#include "anc_response.h"
#include "anc_xml.h"

#define MAX_DEPTH 64

static const char *spki_fingerprint(apr_pool_t *p, EVP_PKEY *pk)
{
    unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;
    int n;
    char *out, *o;

    if (!pk || (n = i2d_PUBKEY(pk, &der)) <= 0) {
        return NULL;
    }
    if (!EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL)) {
        OPENSSL_free(der);
        return NULL;
    }
    OPENSSL_free(der);
    out = o = apr_palloc(p, mdlen * 3 + 1);
    for (i = 0; i < mdlen; i++) {
        o += apr_snprintf(o, 4, i ? ":%02x" : "%02x", md[i]);
    }
    *o = '\0';
    return out;
}

const char *anc_key_fingerprint(apr_pool_t *p, const anc_key_t *key)
{
    return key ? spki_fingerprint(p, anc_key_evp(key)) : NULL;
}

/* base64 (XML whitespace allowed) -> DER; NULL on bad input. */
static unsigned char *unbase64(apr_pool_t *p, const char *text, int *len)
{
    apr_size_t n = strlen(text), i, j = 0;
    char *clean = apr_palloc(p, n + 1);
    unsigned char *der;
    int out;

    for (i = 0; i < n; i++) {
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n') {
            clean[j++] = text[i];
        }
    }
    clean[j] = '\0';
    if (j == 0 || j % 4 != 0) {
        return NULL;
    }
    der = apr_palloc(p, j / 4 * 3 + 1);
    out = EVP_DecodeBlock(der, (const unsigned char *)clean, (int)j);
    if (out < 0) {
        return NULL;
    }
    if (j >= 1 && clean[j - 1] == '=') {
        out--;
    }
    if (j >= 2 && clean[j - 2] == '=') {
        out--;
    }
    *len = out;
    return der;
}

static void collect(apr_pool_t *p, const xmlNode *node, apr_array_header_t *out)
{
    const xmlNode *c;

    for (c = node; c; c = c->next) {
        if (anc_xml_is(c, ANC_NS_DS, "X509Certificate")) {
            const char *fp = NULL;
            int len = 0;
            const unsigned char *der = unbase64(p, anc_xml_text(p, c), &len), *q = der;
            X509 *x = der ? d2i_X509(NULL, &q, len) : NULL;

            if (x) {
                EVP_PKEY *pk = X509_get_pubkey(x);
                fp = spki_fingerprint(p, pk);
                EVP_PKEY_free(pk);
                X509_free(x);
            }
            APR_ARRAY_PUSH(out, const char *) = fp ? fp : "unparsable";
        } else if (c->type == XML_ELEMENT_NODE && c->children) {
            collect(p, c->children, out);
        }
    }
}

anc_status_t anc_keyinfo_fingerprints(apr_pool_t *p, const char *data, apr_size_t len,
                                      apr_size_t max_size,
                                      apr_array_header_t **fingerprints,
                                      anc_error_t **err)
{
    const char *xml = NULL;
    apr_size_t xml_len = 0;
    xmlDocPtr doc = NULL;
    anc_status_t st;

    *fingerprints = apr_array_make(p, 2, sizeof(const char *));
    if ((st = anc_response_decode(p, data, len, max_size, &xml, &xml_len, err)) !=
            ANC_OK ||
        (st = anc_xml_parse(p, xml, xml_len, max_size, MAX_DEPTH, &doc, err)) != ANC_OK) {
        return st;
    }
    collect(p, xmlDocGetRootElement(doc), *fingerprints);
    return ANC_OK;
}
