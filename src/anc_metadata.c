/*
 * anc_metadata.c - trusted IdPs from SAML metadata, SP keys, SP metadata.
 *
 * Trust comes only from here: the keys of an IdP's IDPSSODescriptor
 * (SAML metadata 2.4.3) are loaded once, wrapped as bare xmlsec keys, and
 * later handed to the signature context one by one. A certificate is a key
 * container only; no chain, name or validity is checked (SAML metadata
 * interoperability profile: metadata is the trust anchor).
 */
#include <string.h>

#include <apr_base64.h>
#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <libxml/tree.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <xmlsec/keys.h>
#include <xmlsec/openssl/evp.h>

#include "anc_dsig.h"
#include "anc_metadata.h"
#include "anc_xml.h"

#define METADATA_MAX_DEPTH 64

struct anc_trust_t {
    apr_pool_t *pool;
    apr_array_header_t *idps; /* of const anc_idp_t * */
    apr_hash_t *by_id;
};

static apr_status_t destroy_xmlsec_key(void *data)
{
    xmlSecKeyDestroy((xmlSecKeyPtr)data);
    return APR_SUCCESS;
}

static apr_status_t free_x509(void *data)
{
    X509_free((X509 *)data);
    return APR_SUCCESS;
}

anc_status_t anc_key_wrap(apr_pool_t *p, EVP_PKEY *evp, X509 *cert, int is_private,
                          anc_key_t **key, anc_error_t **err)
{
    anc_key_t *k = apr_pcalloc(p, sizeof(*k));
    xmlSecKeyDataPtr data;

    if (cert != NULL) {
        unsigned char *der = NULL;
        int len;

        apr_pool_cleanup_register(p, cert, free_x509, apr_pool_cleanup_null);
        k->cert = cert;
        len = i2d_X509(cert, &der);
        if (len > 0) {
            char *b64 = apr_palloc(p, (apr_size_t)apr_base64_encode_len(len));

            apr_base64_encode(b64, (const char *)der, len);
            k->cert_b64 = b64;
        }
        OPENSSL_free(der);
    }
    data = xmlSecOpenSSLEvpKeyAdopt(evp);
    if (data == NULL) {
        EVP_PKEY_free(evp);
        return anc_error_set(p, err, ANC_E_KEY, "unsupported key type");
    }
    k->key = xmlSecKeyCreate();
    if (k->key == NULL) {
        xmlSecKeyDataDestroy(data);
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlSecKeyCreate failed");
    }
    apr_pool_cleanup_register(p, k->key, destroy_xmlsec_key, apr_pool_cleanup_null);
    if (xmlSecKeySetValue(k->key, data) < 0) {
        xmlSecKeyDataDestroy(data);
        return anc_error_set(p, err, ANC_E_KEY, "cannot use key");
    }
    k->evp = xmlSecOpenSSLEvpKeyDataGetEvp(data);
    k->is_private = is_private;
    *key = k;
    return ANC_OK;
}

const char *anc_key_cert_base64(const anc_key_t *key)
{
    return key != NULL ? key->cert_b64 : NULL;
}

void *anc_key_evp(const anc_key_t *key)
{
    return key != NULL ? key->evp : NULL;
}

/* Never prompt for a pass phrase: an encrypted key is a config error. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static X509 *read_cert_file(const char *path)
{
    BIO *bio = BIO_new_file(path, "rb");
    X509 *cert;

    if (bio == NULL) {
        return NULL;
    }
    cert = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
    if (cert == NULL && BIO_reset(bio) == 0) {
        cert = d2i_X509_bio(bio, NULL);
    }
    BIO_free(bio);
    return cert;
}

anc_status_t anc_key_load_private(apr_pool_t *p, const char *key_path,
                                  const char *cert_path, anc_key_t **key,
                                  anc_error_t **err)
{
    BIO *bio;
    EVP_PKEY *evp;
    X509 *cert = NULL;

    if (key_path == NULL) {
        return anc_error_set(p, err, ANC_E_KEY, "no key file");
    }
    bio = BIO_new_file(key_path, "rb");
    if (bio == NULL) {
        return anc_error_set(p, err, ANC_E_KEY, "cannot open %s", key_path);
    }
    evp = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (evp == NULL) {
        return anc_error_set(p, err, ANC_E_KEY,
                             "%s is not an unencrypted PEM private key", key_path);
    }
    if (cert_path != NULL) {
        cert = read_cert_file(cert_path);
        if (cert == NULL) {
            EVP_PKEY_free(evp);
            return anc_error_set(p, err, ANC_E_KEY, "%s is not a certificate", cert_path);
        }
        if (X509_check_private_key(cert, evp) != 1) {
            X509_free(cert);
            EVP_PKEY_free(evp);
            return anc_error_set(p, err, ANC_E_KEY,
                                 "%s does not match the private key in %s", cert_path,
                                 key_path);
        }
    }
    return anc_key_wrap(p, evp, cert, 1, key, err);
}

static anc_status_t key_from_cert(apr_pool_t *p, X509 *cert, anc_key_t **key,
                                  anc_error_t **err)
{
    EVP_PKEY *evp = X509_get_pubkey(cert);

    if (evp == NULL) {
        X509_free(cert);
        return anc_error_set(p, err, ANC_E_KEY, "certificate without a usable key");
    }
    return anc_key_wrap(p, evp, cert, 0, key, err);
}

anc_status_t anc_key_load_cert(apr_pool_t *p, const char *cert_path, anc_key_t **key,
                               anc_error_t **err)
{
    X509 *cert;

    if (cert_path == NULL) {
        return anc_error_set(p, err, ANC_E_KEY, "no certificate file");
    }
    cert = read_cert_file(cert_path);
    if (cert == NULL) {
        return anc_error_set(p, err, ANC_E_KEY, "%s is not a PEM or DER certificate",
                             cert_path);
    }
    return key_from_cert(p, cert, key, err);
}

/* ---- trust store ------------------------------------------------------- */

anc_trust_t *anc_trust_create(apr_pool_t *p)
{
    anc_trust_t *t = apr_pcalloc(p, sizeof(*t));

    t->pool = p;
    t->idps = apr_array_make(p, 2, sizeof(const anc_idp_t *));
    t->by_id = apr_hash_make(p);
    return t;
}

/* base64 text (XML whitespace allowed) to bytes in tmp; 0 length on error. */
static int decode_b64(apr_pool_t *tmp, const char *text, unsigned char **out)
{
    char *clean = apr_palloc(tmp, strlen(text) + 1);
    char *o = clean;

    for (; *text != '\0'; text++) {
        if (*text != ' ' && *text != '\t' && *text != '\r' && *text != '\n') {
            *o++ = *text;
        }
    }
    *o = '\0';
    if (*clean == '\0') {
        return 0;
    }
    *out = apr_palloc(tmp, (apr_size_t)apr_base64_decode_len(clean));
    return apr_base64_decode_binary(*out, clean);
}

static anc_status_t cert_from_base64(apr_pool_t *p, apr_pool_t *tmp, const char *text,
                                     anc_key_t **key, anc_error_t **err)
{
    unsigned char *der = NULL;
    const unsigned char *q;
    int len = decode_b64(tmp, text, &der);
    X509 *cert;

    if (len <= 0) {
        return anc_error_set(p, err, ANC_E_KEY, "empty or invalid X509Certificate");
    }
    q = der;
    cert = d2i_X509(NULL, &q, len);
    if (cert == NULL || q != der + len) {
        X509_free(cert);
        return anc_error_set(p, err, ANC_E_KEY, "X509Certificate does not parse");
    }
    return key_from_cert(p, cert, key, err);
}

/* ds:RSAKeyValue (XML Signature core 4.4.2.2): Modulus and Exponent as
 * base64 CryptoBinary. */
static anc_status_t key_from_rsa_value(apr_pool_t *p, apr_pool_t *tmp, xmlNodePtr rkv,
                                       anc_key_t **key, anc_error_t **err)
{
    xmlNodePtr mod = anc_xml_child(rkv, ANC_NS_DS, "Modulus");
    xmlNodePtr exp = anc_xml_child(rkv, ANC_NS_DS, "Exponent");
    unsigned char *nb = NULL, *eb = NULL;
    int nl, el;
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *evp = NULL;

    nl = mod != NULL ? decode_b64(tmp, anc_xml_text(tmp, mod), &nb) : 0;
    el = exp != NULL ? decode_b64(tmp, anc_xml_text(tmp, exp), &eb) : 0;
    if (nl <= 0 || el <= 0) {
        return anc_error_set(p, err, ANC_E_KEY, "RSAKeyValue without Modulus/Exponent");
    }
    n = BN_bin2bn(nb, nl, NULL);
    e = BN_bin2bn(eb, el, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (n != NULL && e != NULL && bld != NULL &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)) {
        params = OSSL_PARAM_BLD_to_param(bld);
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
            EVP_PKEY_fromdata(ctx, &evp, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
            evp = NULL;
        }
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    /* a toy modulus is no trust anchor */
    if (evp != NULL && EVP_PKEY_get_bits(evp) < 2048) {
        EVP_PKEY_free(evp);
        return anc_error_set(p, err, ANC_E_KEY, "RSAKeyValue shorter than 2048 bits");
    }
    if (evp == NULL) {
        return anc_error_set(p, err, ANC_E_KEY, "RSAKeyValue does not make a key");
    }
    return anc_key_wrap(p, evp, NULL, 0, key, err);
}

static int supports_saml2(const char *enumeration)
{
    const char *s = enumeration;
    size_t n = strlen(ANC_NS_SAMLP);

    /* A list of anyURI separated by whitespace (SAML metadata 2.4.1). */
    while (s != NULL && (s = strstr(s, ANC_NS_SAMLP)) != NULL) {
        int start_ok = (s == enumeration) || s[-1] == ' ' || s[-1] == '\t' ||
                       s[-1] == '\n' || s[-1] == '\r';
        char end = s[n];

        if (start_ok &&
            (end == '\0' || end == ' ' || end == '\t' || end == '\n' || end == '\r')) {
            return 1;
        }
        s += n;
    }
    return 0;
}

static void add_endpoints(apr_pool_t *p, xmlNodePtr role, const char *name,
                          apr_array_header_t *arr)
{
    xmlNodePtr e;

    for (e = anc_xml_child(role, ANC_NS_MD, name); e != NULL;
         e = anc_xml_next(e, ANC_NS_MD, name)) {
        const char *binding = anc_xml_attr(p, e, "Binding");
        const char *location = anc_xml_attr(p, e, "Location");

        if (binding != NULL && location != NULL) {
            anc_endpoint_t *ep = apr_array_push(arr);

            ep->binding = binding;
            ep->location = location;
        }
    }
}

/* A trust anchor must resist forgery for as long as the metadata is used:
 * RSA (and DSA) under 2048 bits and EC under 256 bits give less than the
 * 112-bit security NIST SP 800-131A rev. 2 allows for signatures, and a
 * 1024-bit RSA modulus is within reach of a well-funded forger. A weak key
 * is a configuration error found at load time (`apache2 -t` fails), never
 * a key that quietly verifies logins. */
static anc_status_t check_key_strength(apr_pool_t *p, const anc_key_t *key,
                                       const char *entity_id, const char *what,
                                       anc_error_t **err)
{
    const EVP_PKEY *evp = key->evp;
    int bits = evp != NULL ? EVP_PKEY_get_bits(evp) : 0;
    int min = 0;
    const char *kind = NULL;

    if (evp == NULL) {
        return anc_error_set(p, err, ANC_E_KEY, "IdP %s: %s without a usable key",
                             entity_id, what);
    }
    switch (EVP_PKEY_get_base_id(evp)) {
        case EVP_PKEY_RSA:
        case EVP_PKEY_RSA_PSS:
            kind = "RSA";
            min = 2048;
            break;
        case EVP_PKEY_DSA:
            kind = "DSA";
            min = 2048;
            break;
        case EVP_PKEY_EC:
            kind = "EC";
            min = 256;
            break;
        default:
            return ANC_OK; /* no signature algorithm we allow uses it */
    }
    if (bits < min) {
        return anc_error_set(p, err, ANC_E_KEY,
                             "IdP %s: %s has a %d-bit %s key; at least %d bits are "
                             "required",
                             entity_id, what, bits, kind, min);
    }
    return ANC_OK;
}

static anc_status_t load_entity(anc_trust_t *trust, apr_pool_t *tmp, xmlNodePtr ed,
                                anc_error_t **err)
{
    apr_pool_t *p = trust->pool;
    const char *entity_id = anc_xml_attr(p, ed, "entityID");
    xmlNodePtr role;
    xmlNodePtr kd;
    anc_idp_t *idp;
    const char *wars;

    if (entity_id == NULL || *entity_id == '\0') {
        return anc_error_set(p, err, ANC_E_METADATA, "EntityDescriptor without entityID");
    }
    for (role = anc_xml_child(ed, ANC_NS_MD, "IDPSSODescriptor"); role != NULL;
         role = anc_xml_next(role, ANC_NS_MD, "IDPSSODescriptor")) {
        const char *pse = anc_xml_attr(tmp, role, "protocolSupportEnumeration");

        if (pse != NULL && supports_saml2(pse)) {
            break;
        }
    }
    if (role == NULL) {
        return ANC_OK; /* an SP or attribute authority: not ours to trust */
    }
    if (apr_hash_get(trust->by_id, entity_id, APR_HASH_KEY_STRING) != NULL) {
        return anc_error_set(p, err, ANC_E_METADATA, "entityID %s seen twice", entity_id);
    }
    idp = apr_pcalloc(p, sizeof(*idp));
    idp->entity_id = entity_id;
    idp->signing_keys = apr_array_make(p, 2, sizeof(anc_key_t *));
    idp->sso_endpoints = apr_array_make(p, 2, sizeof(anc_endpoint_t));
    idp->slo_endpoints = apr_array_make(p, 2, sizeof(anc_endpoint_t));
    wars = anc_xml_attr(tmp, role, "WantAuthnRequestsSigned");
    idp->want_authn_requests_signed =
        wars != NULL && (strcmp(wars, "true") == 0 || strcmp(wars, "1") == 0);

    for (kd = anc_xml_child(role, ANC_NS_MD, "KeyDescriptor"); kd != NULL;
         kd = anc_xml_next(kd, ANC_NS_MD, "KeyDescriptor")) {
        const char *use = anc_xml_attr(tmp, kd, "use");
        xmlNodePtr ki = anc_xml_child(kd, ANC_NS_DS, "KeyInfo");
        xmlNodePtr xd;

        /* SAML metadata 2.4.1.1: no use attribute means both uses. */
        if (use != NULL && strcmp(use, "signing") != 0) {
            continue;
        }
        for (xd = anc_xml_child(ki, ANC_NS_DS, "X509Data"); xd != NULL;
             xd = anc_xml_next(xd, ANC_NS_DS, "X509Data")) {
            xmlNodePtr xc;

            for (xc = anc_xml_child(xd, ANC_NS_DS, "X509Certificate"); xc != NULL;
                 xc = anc_xml_next(xc, ANC_NS_DS, "X509Certificate")) {
                anc_key_t *key;
                anc_status_t rv =
                    cert_from_base64(p, tmp, anc_xml_text(tmp, xc), &key, err);

                if (rv == ANC_OK) {
                    rv =
                        check_key_strength(p, key, entity_id, "signing certificate", err);
                }
                if (rv != ANC_OK) {
                    return rv;
                }
                APR_ARRAY_PUSH(idp->signing_keys, anc_key_t *) = key;
            }
        }
        for (xd = anc_xml_child(ki, ANC_NS_DS, "KeyValue"); xd != NULL;
             xd = anc_xml_next(xd, ANC_NS_DS, "KeyValue")) {
            xmlNodePtr rkv = anc_xml_child(xd, ANC_NS_DS, "RSAKeyValue");
            anc_key_t *key;
            anc_status_t rv;

            if (rkv == NULL) {
                continue; /* DSA/EC KeyValue: not supported, never trusted */
            }
            rv = key_from_rsa_value(p, tmp, rkv, &key, err);
            if (rv == ANC_OK) {
                rv = check_key_strength(p, key, entity_id, "RSAKeyValue", err);
            }
            if (rv != ANC_OK) {
                return rv;
            }
            APR_ARRAY_PUSH(idp->signing_keys, anc_key_t *) = key;
        }
    }
    if (idp->signing_keys->nelts == 0) {
        return anc_error_set(p, err, ANC_E_METADATA, "IdP %s has no signing certificate",
                             entity_id);
    }
    add_endpoints(p, role, "SingleSignOnService", idp->sso_endpoints);
    add_endpoints(p, role, "SingleLogoutService", idp->slo_endpoints);
    APR_ARRAY_PUSH(trust->idps, const anc_idp_t *) = idp;
    apr_hash_set(trust->by_id, entity_id, APR_HASH_KEY_STRING, idp);
    return ANC_OK;
}

static anc_status_t load_node(anc_trust_t *trust, apr_pool_t *tmp, xmlNodePtr node,
                              anc_error_t **err)
{
    if (anc_xml_is(node, ANC_NS_MD, "EntityDescriptor")) {
        return load_entity(trust, tmp, node, err);
    }
    if (anc_xml_is(node, ANC_NS_MD, "EntitiesDescriptor")) {
        xmlNodePtr c;

        /* SAML metadata 2.3.1: nested groups; depth is bounded by the parser. */
        for (c = anc_xml_first_elem(node); c != NULL; c = anc_xml_next_elem(c)) {
            if (anc_xml_is(c, ANC_NS_MD, "EntityDescriptor") ||
                anc_xml_is(c, ANC_NS_MD, "EntitiesDescriptor")) {
                anc_status_t rv = load_node(trust, tmp, c, err);

                if (rv != ANC_OK) {
                    return rv;
                }
            }
        }
        return ANC_OK;
    }
    return anc_error_set(trust->pool, err, ANC_E_METADATA,
                         "root is neither md:EntityDescriptor nor md:EntitiesDescriptor");
}

anc_status_t anc_trust_load_memory(anc_trust_t *trust, const char *data, apr_size_t len,
                                   anc_error_t **err)
{
    apr_pool_t *tmp;
    xmlDocPtr doc;
    anc_status_t rv;
    int before = trust->idps->nelts;

    if (apr_pool_create(&tmp, trust->pool) != APR_SUCCESS) {
        return anc_error_set(trust->pool, err, ANC_E_INTERNAL, "out of memory");
    }
    /* The document lives in tmp: only what is extracted stays in the store. */
    rv = anc_xml_parse(tmp, data, len, 0, METADATA_MAX_DEPTH, &doc, err);
    if (rv != ANC_OK && err != NULL && *err != NULL) {
        anc_error_set(trust->pool, err, rv, "%s",
                      (*err)->detail != NULL ? (*err)->detail : "");
    }
    if (rv == ANC_OK) {
        rv = load_node(trust, tmp, xmlDocGetRootElement(doc), err);
        if (rv == ANC_OK && trust->idps->nelts == before) {
            rv = anc_error_set(trust->pool, err, ANC_E_METADATA,
                               "no SAML 2.0 IDPSSODescriptor in metadata");
        }
    }
    apr_pool_destroy(tmp);
    return rv;
}

anc_status_t anc_trust_load_file(anc_trust_t *trust, const char *path, anc_error_t **err)
{
    apr_pool_t *tmp;
    apr_file_t *f;
    apr_finfo_t fi;
    char *buf;
    apr_size_t got = 0;
    anc_status_t rv;

    if (path == NULL) {
        return anc_error_set(trust->pool, err, ANC_E_INPUT, "no metadata file");
    }
    if (apr_pool_create(&tmp, trust->pool) != APR_SUCCESS) {
        return anc_error_set(trust->pool, err, ANC_E_INTERNAL, "out of memory");
    }
    if (apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, tmp) !=
            APR_SUCCESS ||
        apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS) {
        apr_pool_destroy(tmp);
        return anc_error_set(trust->pool, err, ANC_E_INPUT, "cannot read %s", path);
    }
    buf = apr_palloc(tmp, (apr_size_t)fi.size + 1);
    if (fi.size > 0 &&
        apr_file_read_full(f, buf, (apr_size_t)fi.size, &got) != APR_SUCCESS) {
        apr_pool_destroy(tmp);
        return anc_error_set(trust->pool, err, ANC_E_INPUT, "cannot read %s", path);
    }
    rv = anc_trust_load_memory(trust, buf, got, err);
    if (rv != ANC_OK && err != NULL && *err != NULL) {
        (*err)->detail = apr_psprintf(trust->pool, "%s: %s", path,
                                      (*err)->detail != NULL ? (*err)->detail : "");
    }
    apr_pool_destroy(tmp);
    return rv;
}

const anc_idp_t *anc_trust_find(const anc_trust_t *trust, const char *entity_id)
{
    if (trust == NULL || entity_id == NULL) {
        return NULL;
    }
    return apr_hash_get(trust->by_id, entity_id, APR_HASH_KEY_STRING);
}

int anc_trust_count(const anc_trust_t *trust)
{
    return trust != NULL ? trust->idps->nelts : 0;
}

const anc_idp_t *anc_trust_first(const anc_trust_t *trust)
{
    if (trust == NULL || trust->idps->nelts == 0) {
        return NULL;
    }
    return APR_ARRAY_IDX(trust->idps, 0, const anc_idp_t *);
}

const apr_array_header_t *anc_trust_idps(const anc_trust_t *trust)
{
    return trust->idps;
}

const char *anc_idp_sso_location(const anc_idp_t *idp, const char *binding)
{
    int i;

    if (idp == NULL || binding == NULL) {
        return NULL;
    }
    for (i = 0; i < idp->sso_endpoints->nelts; i++) {
        const anc_endpoint_t *ep = &APR_ARRAY_IDX(idp->sso_endpoints, i, anc_endpoint_t);

        if (strcmp(ep->binding, binding) == 0) {
            return ep->location;
        }
    }
    return NULL;
}

/* ---- SP metadata --------------------------------------------------------- */

static apr_status_t free_doc_cleanup(void *data)
{
    xmlFreeDoc((xmlDocPtr)data);
    return APR_SUCCESS;
}

static void add_key_descriptor(xmlNodePtr role, xmlNsPtr md, const char *use,
                               const char *cert_b64, int with_methods)
{
    /* The content algorithms anc_decrypt accepts, strongest first, so an
     * IdP that reads EncryptionMethod (SAML metadata 2.4.1.1) picks one we
     * can decrypt; key transport is RSA-OAEP only (see anc_dsig.h). */
    static const char *const methods[] = {
        "http://www.w3.org/2009/xmlenc11#aes256-gcm",
        "http://www.w3.org/2009/xmlenc11#aes128-gcm",
        "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
    };
    xmlNodePtr kd = xmlNewChild(role, md, BAD_CAST "KeyDescriptor", NULL);
    xmlNsPtr ds;
    xmlNodePtr ki, xd;
    size_t i;

    xmlNewProp(kd, BAD_CAST "use", BAD_CAST use);
    ki = xmlNewChild(kd, NULL, BAD_CAST "KeyInfo", NULL);
    ds = xmlNewNs(ki, BAD_CAST ANC_NS_DS, BAD_CAST "ds");
    xmlSetNs(ki, ds);
    xd = xmlNewChild(ki, ds, BAD_CAST "X509Data", NULL);
    xmlNewTextChild(xd, ds, BAD_CAST "X509Certificate", BAD_CAST cert_b64);
    if (with_methods) {
        for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
            xmlNodePtr em = xmlNewChild(kd, md, BAD_CAST "EncryptionMethod", NULL);

            xmlNewProp(em, BAD_CAST "Algorithm", BAD_CAST methods[i]);
        }
    }
}

anc_status_t anc_sp_metadata_build(apr_pool_t *p, const anc_sp_metadata_t *sp,
                                   const char **xml, anc_error_t **err)
{
    xmlDocPtr doc;
    xmlNodePtr ed, role, ep;
    xmlNsPtr md;
    xmlChar *buf = NULL;
    int len = 0;

    if (sp == NULL || sp->entity_id == NULL || *sp->entity_id == '\0' ||
        sp->acs_url == NULL || *sp->acs_url == '\0') {
        return anc_error_set(p, err, ANC_E_CONFIG,
                             "SP metadata needs an entityID and an ACS URL");
    }
    doc = xmlNewDoc(BAD_CAST "1.0");
    if (doc == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlNewDoc failed");
    }
    apr_pool_cleanup_register(p, doc, free_doc_cleanup, apr_pool_cleanup_null);
    ed = xmlNewDocNode(doc, NULL, BAD_CAST "EntityDescriptor", NULL);
    xmlDocSetRootElement(doc, ed);
    md = xmlNewNs(ed, BAD_CAST ANC_NS_MD, BAD_CAST "md");
    xmlSetNs(ed, md);
    xmlNewProp(ed, BAD_CAST "entityID", BAD_CAST sp->entity_id);

    /* Element order is fixed by saml-schema-metadata-2.0 (SAML metadata
     * 2.4.1 RoleDescriptor, 2.4.2 SSODescriptor, 2.4.4 SPSSODescriptor). */
    role = xmlNewChild(ed, md, BAD_CAST "SPSSODescriptor", NULL);
    xmlNewProp(role, BAD_CAST "AuthnRequestsSigned",
               BAD_CAST(sp->authn_requests_signed ? "true" : "false"));
    xmlNewProp(role, BAD_CAST "WantAssertionsSigned",
               BAD_CAST(sp->want_assertions_signed ? "true" : "false"));
    xmlNewProp(role, BAD_CAST "protocolSupportEnumeration", BAD_CAST ANC_NS_SAMLP);
    if (sp->cert != NULL && anc_key_cert_base64(sp->cert) != NULL) {
        add_key_descriptor(role, md, "signing", anc_key_cert_base64(sp->cert), 0);
        add_key_descriptor(role, md, "encryption", anc_key_cert_base64(sp->cert), 1);
    }
    if (sp->slo_url != NULL && *sp->slo_url != '\0') {
        ep = xmlNewChild(role, md, BAD_CAST "SingleLogoutService", NULL);
        xmlNewProp(ep, BAD_CAST "Binding", BAD_CAST ANC_BINDING_REDIRECT);
        xmlNewProp(ep, BAD_CAST "Location", BAD_CAST sp->slo_url);
    }
    ep = xmlNewChild(role, md, BAD_CAST "AssertionConsumerService", NULL);
    xmlNewProp(ep, BAD_CAST "Binding", BAD_CAST ANC_BINDING_POST);
    xmlNewProp(ep, BAD_CAST "Location", BAD_CAST sp->acs_url);
    xmlNewProp(ep, BAD_CAST "index", BAD_CAST "0");
    xmlNewProp(ep, BAD_CAST "isDefault", BAD_CAST "true");

    xmlDocDumpFormatMemoryEnc(doc, &buf, &len, "UTF-8", 1);
    if (buf == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "cannot serialise metadata");
    }
    *xml = apr_pstrmemdup(p, (const char *)buf, (apr_size_t)len);
    xmlFree(buf);
    return ANC_OK;
}

void *anc_key_xmlsec(const anc_key_t *key)
{
    return key != NULL ? key->key : NULL;
}
