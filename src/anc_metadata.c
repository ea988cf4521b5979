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
#include <strings.h>

#include <apr_base64.h>
#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
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
#include "anc_disco.h"
#include "anc_metadata.h"
#include "anc_response.h"
#include "anc_xml.h"

#define METADATA_MAX_DEPTH 64

struct anc_trust_t {
    apr_pool_t *pool;
    apr_array_header_t *idps; /* of const anc_idp_t * */
    apr_hash_t *by_id;
    /* an overlay (anc_trust_overlay): base first, then the resolver */
    const anc_trust_t *base;
    anc_trust_resolve_fn *resolve;
    void *resolve_ctx;
    int extra_count;
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
            ep->response_location = anc_xml_attr(p, e, "ResponseLocation");
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

#define NS_MDATTR "urn:oasis:names:tc:SAML:metadata:attribute"

/* The state of one anc_trust_add_source() run. */
typedef struct load_ctx_t {
    anc_trust_t *trust;
    apr_pool_t *tmp;
    const anc_md_options_t *opt;
    anc_md_info_t *info;
    apr_time_t now;
    apr_hash_t *wanted; /* opt->entities as a set, or NULL */
    anc_md_entity_fn *on_entity;
    void *baton;
    anc_status_t cb_status; /* the first failure of on_entity */
    anc_error_t *cb_error;
} load_ctx_t;

static void skip_entity(load_ctx_t *c, const char *entity_id, anc_status_t code,
                        const char *detail)
{
    anc_md_skip_t *sk = apr_array_push(c->info->skipped);

    sk->entity_id = entity_id != NULL ? entity_id : "(no entityID)";
    sk->code = code;
    sk->detail = detail;
}

/* validUntil of an element (SAML metadata 2.3.1, 2.3.2) folded into the
 * earliest one seen on the path from the root: 0 means none. Returns 0 and
 * leaves *until alone when the attribute is absent; -1 when malformed. */
static int fold_valid_until(apr_pool_t *tmp, xmlNodePtr node, apr_time_t *until)
{
    const char *v = anc_xml_attr(tmp, node, "validUntil");
    apr_time_t t;

    if (v == NULL) {
        return 0;
    }
    if (anc_time_parse(v, &t) != ANC_OK) {
        return -1;
    }
    if (*until == 0 || t < *until) {
        *until = t;
    }
    return 0;
}

/* mdattr:EntityAttributes (SAML V2.0 Metadata Extension for Entity
 * Attributes, 2.4.1) in the entity's md:Extensions: true when one
 * saml:Attribute with the wanted Name has the wanted AttributeValue. */
static int has_entity_attr(apr_pool_t *tmp, xmlNodePtr ed, const anc_md_attr_t *want)
{
    xmlNodePtr ext = anc_xml_child(ed, ANC_NS_MD, "Extensions");
    xmlNodePtr ea, a, v;

    for (ea = anc_xml_child(ext, NS_MDATTR, "EntityAttributes"); ea != NULL;
         ea = anc_xml_next(ea, NS_MDATTR, "EntityAttributes")) {
        for (a = anc_xml_child(ea, ANC_NS_SAML, "Attribute"); a != NULL;
             a = anc_xml_next(a, ANC_NS_SAML, "Attribute")) {
            const char *name = anc_xml_attr(tmp, a, "Name");

            if (name == NULL || strcmp(name, want->name) != 0) {
                continue;
            }
            for (v = anc_xml_child(a, ANC_NS_SAML, "AttributeValue"); v != NULL;
                 v = anc_xml_next(v, ANC_NS_SAML, "AttributeValue")) {
                if (strcmp(anc_xml_collapse(tmp, anc_xml_text(tmp, v)), want->value) ==
                    0) {
                    return 1;
                }
            }
        }
    }
    return 0;
}

static int passes_filters(load_ctx_t *c, xmlNodePtr ed, const char *entity_id)
{
    const apr_array_header_t *attrs = c->opt->entity_attrs;
    int i;

    if (c->wanted != NULL &&
        apr_hash_get(c->wanted, entity_id, APR_HASH_KEY_STRING) == NULL) {
        return 0;
    }
    if (attrs == NULL || attrs->nelts == 0) {
        return 1;
    }
    for (i = 0; i < attrs->nelts; i++) {
        if (has_entity_attr(c->tmp, ed, &APR_ARRAY_IDX(attrs, i, anc_md_attr_t))) {
            return 1;
        }
    }
    return 0;
}

/* The signing keys of an IDPSSODescriptor into idp; ANC_OK or the first
 * key that is refused (unreadable or weak). */
static anc_status_t load_keys(load_ctx_t *c, xmlNodePtr role, anc_idp_t *idp,
                              anc_error_t **err)
{
    apr_pool_t *p = c->trust->pool, *tmp = c->tmp;
    const char *entity_id = idp->entity_id;
    xmlNodePtr kd;

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
    return ANC_OK;
}

/* SAML core 8.3.6: an entity identifier is at most 1024 characters. A
 * control character (a tab or a newline, say) has no place in one and would
 * reach log lines, the per-entity index and pages: such an entity is
 * skipped, not trusted under a name that prints differently. */
static int entity_id_ok(const char *id)
{
    size_t n = 0;

    for (; *id; id++, n++) {
        if ((unsigned char)*id < 0x20 || *id == 0x7f || n >= 1024) {
            return 0;
        }
    }
    return 1;
}

/* A refused entityID as it may be printed: control characters as '?', at
 * most 200 bytes. */
static const char *shown_entity_id(apr_pool_t *p, const char *id)
{
    size_t n = strlen(id) > 200 ? 200 : strlen(id), i;
    char *out = apr_pstrmemdup(p, id, n);

    for (i = 0; i < n; i++) {
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) {
            out[i] = '?';
        }
    }
    return n < strlen(id) ? apr_pstrcat(p, out, "...", NULL) : out;
}

/* One EntityDescriptor: added, ignored (not an IdP), filtered out, or
 * skipped with a recorded reason. Never fails the source. */
static void load_entity(load_ctx_t *c, xmlNodePtr ed, apr_time_t valid_until)
{
    apr_pool_t *p = c->trust->pool, *tmp = c->tmp;
    const char *entity_id = anc_xml_attr(p, ed, "entityID");
    xmlNodePtr role;
    anc_idp_t *idp;
    anc_error_t *e = NULL;
    const char *wars;
    int n_idp_roles = 0;

    if (entity_id == NULL || *entity_id == '\0') {
        skip_entity(c, NULL, ANC_E_METADATA, "EntityDescriptor without entityID");
        return;
    }
    for (role = anc_xml_child(ed, ANC_NS_MD, "IDPSSODescriptor"); role != NULL;
         role = anc_xml_next(role, ANC_NS_MD, "IDPSSODescriptor")) {
        const char *pse = anc_xml_attr(tmp, role, "protocolSupportEnumeration");

        n_idp_roles++;
        if (pse != NULL && supports_saml2(pse)) {
            break;
        }
    }
    if (role == NULL) {
        if (n_idp_roles > 0) {
            skip_entity(c, entity_id, ANC_E_METADATA,
                        "no IDPSSODescriptor lists the SAML 2.0 protocol");
        }
        return; /* an SP or attribute authority: not ours to trust */
    }
    if (!entity_id_ok(entity_id)) {
        skip_entity(c, shown_entity_id(p, entity_id), ANC_E_METADATA,
                    "entityID longer than 1024 characters or with a control "
                    "character (SAML core 8.3.6)");
        return;
    }
    if (!passes_filters(c, ed, entity_id)) {
        c->info->filtered++;
        return;
    }
    if (fold_valid_until(tmp, ed, &valid_until) < 0 ||
        fold_valid_until(tmp, role, &valid_until) < 0) {
        skip_entity(c, entity_id, ANC_E_METADATA, "validUntil is not an xs:dateTime");
        return;
    }
    if (valid_until != 0 && c->now >= valid_until) {
        skip_entity(
            c, entity_id, ANC_E_METADATA_VALIDITY,
            apr_psprintf(p, "validUntil %s has passed", anc_time_format(p, valid_until)));
        return;
    }
    /* Overlapping sources (a national federation and eduGAIN): the first
     * entity with an entityID wins, later ones are skipped. */
    if (apr_hash_get(c->trust->by_id, entity_id, APR_HASH_KEY_STRING) != NULL) {
        skip_entity(c, entity_id, ANC_E_METADATA,
                    "entityID already loaded (the first one is kept)");
        return;
    }
    idp = apr_pcalloc(p, sizeof(*idp));
    idp->entity_id = entity_id;
    idp->valid_until = valid_until;
    idp->source = c->opt->name;
    idp->ui = anc_ui_info_parse(p, ed);
    idp->source_version = c->opt->version;
    idp->signing_keys = apr_array_make(p, 2, sizeof(anc_key_t *));
    idp->sso_endpoints = apr_array_make(p, 2, sizeof(anc_endpoint_t));
    idp->slo_endpoints = apr_array_make(p, 2, sizeof(anc_endpoint_t));
    wars = anc_xml_attr(tmp, role, "WantAuthnRequestsSigned");
    idp->want_authn_requests_signed =
        wars != NULL && (strcmp(wars, "true") == 0 || strcmp(wars, "1") == 0);

    if (load_keys(c, role, idp, &e) != ANC_OK) {
        skip_entity(c, entity_id, e->code, e->detail);
        return;
    }
    if (idp->signing_keys->nelts == 0) {
        skip_entity(c, entity_id, ANC_E_METADATA,
                    apr_psprintf(p, "IdP %s has no signing certificate", entity_id));
        return;
    }
    add_endpoints(p, role, "SingleSignOnService", idp->sso_endpoints);
    add_endpoints(p, role, "SingleLogoutService", idp->slo_endpoints);
    APR_ARRAY_PUSH(c->trust->idps, const anc_idp_t *) = idp;
    apr_hash_set(c->trust->by_id, entity_id, APR_HASH_KEY_STRING, idp);
    c->info->idps++;
    if (c->on_entity != NULL && c->cb_status == ANC_OK) {
        c->cb_status = c->on_entity(c->baton, ed, idp, &c->cb_error);
    }
    if (valid_until != 0 && (c->info->expires == 0 || valid_until < c->info->expires)) {
        c->info->expires = valid_until;
    }
}

static void load_node(load_ctx_t *c, xmlNodePtr node, apr_time_t valid_until)
{
    xmlNodePtr ch;

    if (anc_xml_is(node, ANC_NS_MD, "EntityDescriptor")) {
        load_entity(c, node, valid_until);
        return;
    }
    /* SAML metadata 2.3.1: nested groups (depth bounded by the parser); a
     * group's validUntil bounds every entity inside it. */
    if (fold_valid_until(c->tmp, node, &valid_until) < 0) {
        skip_entity(c, anc_xml_attr(c->trust->pool, node, "Name"), ANC_E_METADATA,
                    "EntitiesDescriptor validUntil is not an xs:dateTime");
        return;
    }
    if (valid_until != 0 && c->now >= valid_until) {
        skip_entity(c, anc_xml_attr(c->trust->pool, node, "Name"),
                    ANC_E_METADATA_VALIDITY, "EntitiesDescriptor validUntil has passed");
        return;
    }
    for (ch = anc_xml_first_elem(node); ch != NULL; ch = anc_xml_next_elem(ch)) {
        if (anc_xml_is(ch, ANC_NS_MD, "EntityDescriptor") ||
            anc_xml_is(ch, ANC_NS_MD, "EntitiesDescriptor")) {
            load_node(c, ch, valid_until);
        }
    }
}

/* The root's enveloped signature by the federation's key. The root of a
 * metadata document is in the md namespace, whose IDs anc_xml_parse does
 * not register: the root's (and only the root's) ID is registered here,
 * so "#id" can resolve to nothing else (anc_dsig_verify then checks the
 * Reference designates the root by pointer). */
static anc_status_t verify_root(load_ctx_t *c, xmlDocPtr doc, xmlNodePtr root,
                                anc_error_t **err)
{
    apr_pool_t *p = c->trust->pool;
    apr_array_header_t *keys = apr_array_make(c->tmp, 1, sizeof(const anc_key_t *));
    xmlAttrPtr id = xmlHasProp(root, BAD_CAST "ID");
    anc_error_t *e = NULL;
    int n = anc_xml_child_count(root, ANC_NS_DS, "Signature");

    if (n != 1) {
        return anc_error_set(p, err, ANC_E_METADATA_SIG,
                             n == 0 ? "the metadata is not signed (verify= is set)"
                                    : "the root carries %d Signatures, not one",
                             n);
    }
    if (id != NULL && id->ns == NULL && id->children != NULL) {
        xmlChar *v = xmlNodeListGetString(doc, id->children, 1);

        if (v != NULL && xmlGetID(doc, v) == NULL && xmlAddID(NULL, doc, v, id) == NULL) {
            xmlFree(v);
            return anc_error_set(p, err, ANC_E_INTERNAL, "cannot register the root ID");
        }
        xmlFree(v);
    }
    APR_ARRAY_PUSH(keys, const anc_key_t *) = c->opt->verify_key;
    if (anc_dsig_verify(c->tmp, root, anc_xml_child(root, ANC_NS_DS, "Signature"), keys,
                        c->opt->allow_sha1, &e) != ANC_OK) {
        return anc_error_set(p, err, ANC_E_METADATA_SIG, "%s: %s",
                             e != NULL ? e->reason : "signature-invalid",
                             e != NULL && e->detail != NULL ? e->detail : "");
    }
    return ANC_OK;
}

/* Root validUntil, maxValidity, cacheDuration. */
static anc_status_t check_root_validity(load_ctx_t *c, xmlNodePtr root, anc_error_t **err)
{
    apr_pool_t *p = c->trust->pool;
    const char *cd = anc_xml_attr(c->tmp, root, "cacheDuration");
    apr_time_t until = 0;

    if (fold_valid_until(c->tmp, root, &until) < 0) {
        return anc_error_set(p, err, ANC_E_METADATA,
                             "root validUntil is not an xs:dateTime");
    }
    if (cd != NULL && anc_duration_parse(cd, &c->info->cache_duration) != ANC_OK) {
        return anc_error_set(p, err, ANC_E_METADATA,
                             "root cacheDuration '%s' is not an xs:duration", cd);
    }
    c->info->valid_until = until;
    /* SAML metadata 2.3.1: not to be used after validUntil. */
    if (until != 0 && c->now >= until) {
        return anc_error_set(p, err, ANC_E_METADATA_VALIDITY, "validUntil %s has passed",
                             anc_time_format(p, until));
    }
    /* As Shibboleth's RequireValidUntil with maxValidityInterval: metadata
     * whose publisher stops signing must stop being trusted soon. */
    if (c->opt->max_validity > 0) {
        if (until == 0) {
            return anc_error_set(p, err, ANC_E_METADATA_VALIDITY,
                                 "no validUntil on the root (maxValidity is set)");
        }
        if (until - c->now > c->opt->max_validity) {
            return anc_error_set(
                p, err, ANC_E_METADATA_VALIDITY,
                "validUntil %s is more than maxValidity %" APR_TIME_T_FMT " s ahead",
                anc_time_format(p, until), apr_time_sec(c->opt->max_validity));
        }
    }
    return ANC_OK;
}

anc_status_t anc_trust_add_source(anc_trust_t *trust, const char *data, apr_size_t len,
                                  const anc_md_options_t *opt, anc_md_info_t **info,
                                  anc_error_t **err)
{
    return anc_trust_add_source_cb(trust, data, len, opt, info, NULL, NULL, err);
}

anc_status_t anc_trust_add_source_cb(anc_trust_t *trust, const char *data, apr_size_t len,
                                     const anc_md_options_t *opt, anc_md_info_t **info,
                                     anc_md_entity_fn *on_entity, void *baton,
                                     anc_error_t **err)
{
    static const anc_md_options_t no_options;
    load_ctx_t c;
    xmlDocPtr doc;
    xmlNodePtr root;
    anc_status_t rv;
    int i;

    memset(&c, 0, sizeof(c));
    c.on_entity = on_entity;
    c.baton = baton;
    c.trust = trust;
    c.opt = opt != NULL ? opt : &no_options;
    c.now = c.opt->now != 0 ? c.opt->now : apr_time_now();
    c.info = apr_pcalloc(trust->pool, sizeof(*c.info));
    c.info->skipped = apr_array_make(trust->pool, 0, sizeof(anc_md_skip_t));
    if (info != NULL) {
        *info = c.info;
    }
    if (apr_pool_create(&c.tmp, trust->pool) != APR_SUCCESS) {
        return anc_error_set(trust->pool, err, ANC_E_INTERNAL, "out of memory");
    }
    if (c.opt->entities != NULL && c.opt->entities->nelts > 0) {
        c.wanted = apr_hash_make(c.tmp);
        for (i = 0; i < c.opt->entities->nelts; i++) {
            const char *id = APR_ARRAY_IDX(c.opt->entities, i, const char *);

            apr_hash_set(c.wanted, id, APR_HASH_KEY_STRING, id);
        }
    }
    /* The document lives in tmp: only what is extracted stays in the store. */
    rv = anc_xml_parse(c.tmp, data, len, 0, METADATA_MAX_DEPTH, &doc, err);
    if (rv != ANC_OK) {
        if (err != NULL && *err != NULL) {
            anc_error_set(trust->pool, err, rv, "%s",
                          (*err)->detail != NULL ? (*err)->detail : "");
        }
        apr_pool_destroy(c.tmp);
        return rv;
    }
    root = xmlDocGetRootElement(doc);
    if (!anc_xml_is(root, ANC_NS_MD, "EntityDescriptor") &&
        !anc_xml_is(root, ANC_NS_MD, "EntitiesDescriptor")) {
        rv = anc_error_set(
            trust->pool, err, ANC_E_METADATA,
            "root is neither md:EntityDescriptor nor md:EntitiesDescriptor");
    } else if (c.opt->verify_key != NULL &&
               (rv = verify_root(&c, doc, root, err)) != ANC_OK) {
        /* refused as a whole */
    } else if ((rv = check_root_validity(&c, root, err)) == ANC_OK) {
        load_node(&c, root, 0);
        if (c.info->idps == 0) {
            const anc_md_skip_t *sk =
                c.info->skipped->nelts > 0
                    ? &APR_ARRAY_IDX(c.info->skipped, 0, anc_md_skip_t)
                    : NULL;

            if (sk != NULL) {
                rv = anc_error_set(trust->pool, err, sk->code, "%s", sk->detail);
            } else {
                rv = anc_error_set(trust->pool, err, ANC_E_METADATA,
                                   c.info->filtered > 0
                                       ? "no SAML 2.0 IdP passes the source's filters"
                                       : "no SAML 2.0 IDPSSODescriptor in metadata");
            }
        }
        if (c.info->valid_until != 0 &&
            (c.info->expires == 0 || c.info->valid_until < c.info->expires)) {
            c.info->expires = c.info->valid_until;
        }
        if (rv == ANC_OK && c.cb_status != ANC_OK) {
            rv = anc_error_set(trust->pool, err, c.cb_status, "%s",
                               c.cb_error != NULL && c.cb_error->detail != NULL
                                   ? c.cb_error->detail
                                   : "");
        }
    }
    apr_pool_destroy(c.tmp);
    return rv;
}

anc_status_t anc_trust_load_memory(anc_trust_t *trust, const char *data, apr_size_t len,
                                   anc_error_t **err)
{
    return anc_trust_add_source(trust, data, len, NULL, NULL, err);
}

anc_trust_t *anc_trust_merge(apr_pool_t *p, const anc_trust_t *const *parts, int n,
                             apr_array_header_t **dups)
{
    anc_trust_t *t = anc_trust_create(p);
    int i, j;

    for (i = 0; i < n; i++) {
        if (parts[i] == NULL) {
            continue;
        }
        for (j = 0; j < parts[i]->idps->nelts; j++) {
            const anc_idp_t *idp = APR_ARRAY_IDX(parts[i]->idps, j, const anc_idp_t *);

            if (apr_hash_get(t->by_id, idp->entity_id, APR_HASH_KEY_STRING) != NULL) {
                if (dups != NULL) {
                    if (*dups == NULL) {
                        *dups = apr_array_make(p, 4, sizeof(const char *));
                    }
                    APR_ARRAY_PUSH(*dups, const char *) = idp->entity_id;
                }
                continue;
            }
            APR_ARRAY_PUSH(t->idps, const anc_idp_t *) = idp;
            apr_hash_set(t->by_id, idp->entity_id, APR_HASH_KEY_STRING, idp);
        }
    }
    return t;
}

int anc_idp_same_keys(const anc_idp_t *a, const anc_idp_t *b)
{
    int i, j;

    if (a->signing_keys->nelts != b->signing_keys->nelts) {
        return 0;
    }
    for (i = 0; i < a->signing_keys->nelts; i++) {
        const anc_key_t *ka = APR_ARRAY_IDX(a->signing_keys, i, const anc_key_t *);
        int found = 0;

        for (j = 0; j < b->signing_keys->nelts && !found; j++) {
            const anc_key_t *kb = APR_ARRAY_IDX(b->signing_keys, j, const anc_key_t *);

            found = EVP_PKEY_eq(ka->evp, kb->evp) == 1;
        }
        if (!found) {
            return 0;
        }
    }
    return 1;
}

anc_status_t anc_duration_parse(const char *text, apr_interval_time_t *out)
{
    /* seconds per unit, date part then time part */
    static const struct {
        char unit;
        int time_part;
        apr_int64_t secs;
    } units[] = {{'Y', 0, 365 * 86400}, {'M', 0, 30 * 86400}, {'D', 0, 86400},
                 {'H', 1, 3600},        {'M', 1, 60},         {'S', 1, 1}};
    const char *s = text;
    apr_int64_t total = 0;
    size_t next = 0;
    int time_part = 0, any = 0;

    if (s == NULL) {
        return ANC_E_INPUT;
    }
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
        s++;
    }
    if (*s++ != 'P') {
        return ANC_E_INPUT;
    }
    while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') {
        apr_int64_t v = 0;
        int digits = 0;

        if (*s == 'T' && !time_part) {
            time_part = 1;
            s++;
            if (*s == '\0') {
                return ANC_E_INPUT;
            }
            continue;
        }
        while (*s >= '0' && *s <= '9') {
            if (v > 1000000000) {
                return ANC_E_INPUT; /* over 30 years in any unit */
            }
            v = v * 10 + (*s++ - '0');
            digits++;
        }
        if (*s == '.' && time_part) { /* fractional seconds: dropped */
            s++;
            while (*s >= '0' && *s <= '9') {
                s++;
            }
            if (*s != 'S') {
                return ANC_E_INPUT;
            }
        }
        if (digits == 0) {
            return ANC_E_INPUT;
        }
        while (next < sizeof(units) / sizeof(units[0]) &&
               (units[next].unit != *s || units[next].time_part != time_part)) {
            next++;
        }
        if (next == sizeof(units) / sizeof(units[0])) {
            return ANC_E_INPUT; /* unknown unit, wrong order or part */
        }
        total += v * units[next].secs;
        next++;
        s++;
        any = 1;
    }
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
        s++;
    }
    if (!any || *s != '\0') {
        return ANC_E_INPUT;
    }
    *out = apr_time_from_sec(total);
    return ANC_OK;
}

anc_status_t anc_trust_add_source_file(anc_trust_t *trust, const char *path,
                                       const anc_md_options_t *opt, anc_md_info_t **info,
                                       anc_error_t **err)
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
    rv = anc_trust_add_source(trust, buf, got, opt, info, err);
    if (rv != ANC_OK && err != NULL && *err != NULL) {
        (*err)->detail = apr_psprintf(trust->pool, "%s: %s", path,
                                      (*err)->detail != NULL ? (*err)->detail : "");
    }
    apr_pool_destroy(tmp);
    return rv;
}

anc_status_t anc_trust_load_file(anc_trust_t *trust, const char *path, anc_error_t **err)
{
    return anc_trust_add_source_file(trust, path, NULL, NULL, err);
}

/* An IdP whose metadata lapsed while the store was in use is no longer
 * trusted (SAML metadata 2.3.1), even before a refresh drops it. */
static const anc_idp_t *unless_expired(const anc_idp_t *idp)
{
    if (idp != NULL && idp->valid_until != 0 && apr_time_now() >= idp->valid_until) {
        return NULL;
    }
    return idp;
}

const anc_idp_t *anc_trust_find(const anc_trust_t *trust, const char *entity_id)
{
    const anc_idp_t *idp;

    if (trust == NULL || entity_id == NULL) {
        return NULL;
    }
    if (trust->base != NULL || trust->resolve != NULL) {
        idp = anc_trust_find(trust->base, entity_id);
        if (idp == NULL && trust->resolve != NULL) {
            idp = unless_expired(trust->resolve(trust->resolve_ctx, entity_id));
        }
        return idp;
    }
    return unless_expired(apr_hash_get(trust->by_id, entity_id, APR_HASH_KEY_STRING));
}

apr_pool_t *anc_trust_pool(const anc_trust_t *trust)
{
    return trust->pool;
}

anc_trust_t *anc_trust_overlay(apr_pool_t *p, const anc_trust_t *base,
                               anc_trust_resolve_fn *resolve, void *ctx, int extra_count)
{
    anc_trust_t *t = anc_trust_create(p);

    t->base = base;
    t->resolve = resolve;
    t->resolve_ctx = ctx;
    t->extra_count = extra_count;
    return t;
}

int anc_trust_count(const anc_trust_t *trust)
{
    if (trust == NULL) {
        return 0;
    }
    if (trust->base != NULL || trust->resolve != NULL) {
        return anc_trust_count(trust->base) + trust->extra_count;
    }
    return trust->idps->nelts;
}

const anc_idp_t *anc_trust_first(const anc_trust_t *trust)
{
    if (trust != NULL && (trust->base != NULL || trust->resolve != NULL)) {
        return anc_trust_first(trust->base); /* lazily loaded IdPs are never a default */
    }
    if (trust == NULL || trust->idps->nelts == 0) {
        return NULL;
    }
    return unless_expired(APR_ARRAY_IDX(trust->idps, 0, const anc_idp_t *));
}

const apr_array_header_t *anc_trust_idps(const anc_trust_t *trust)
{
    if (trust->base != NULL) {
        return anc_trust_idps(trust->base); /* the lazily loaded ones are not listed */
    }
    return trust->idps;
}

/* 1 when u is an absolute http or https URL with a host and no space or
 * control character. An endpoint's URL becomes a 302 Location or the
 * action of a form on a page of the SP's own origin: "javascript:" (or
 * "data:", "vbscript:", ...) there would run the metadata's script in the
 * SP's origin, so an endpoint with any other URL is not used. */
static int endpoint_url_ok(const char *u)
{
    const char *rest, *q;

    if (u == NULL) {
        return 0;
    }
    if (strncasecmp(u, "https://", 8) == 0) {
        rest = u + 8;
    } else if (strncasecmp(u, "http://", 7) == 0) {
        rest = u + 7;
    } else {
        return 0;
    }
    if (*rest == '\0' || *rest == '/' || *rest == '?' || *rest == '#') {
        return 0; /* no host */
    }
    for (q = u; *q; q++) {
        if ((unsigned char)*q <= 0x20 || *q == 0x7f) {
            return 0;
        }
    }
    return 1;
}

const anc_endpoint_t *anc_idp_slo_endpoint(const anc_idp_t *idp, const char *binding)
{
    int i;

    if (idp == NULL || binding == NULL || idp->slo_endpoints == NULL) {
        return NULL;
    }
    for (i = 0; i < idp->slo_endpoints->nelts; i++) {
        const anc_endpoint_t *ep = &APR_ARRAY_IDX(idp->slo_endpoints, i, anc_endpoint_t);

        if (strcmp(ep->binding, binding) == 0 && endpoint_url_ok(ep->location) &&
            (ep->response_location == NULL || endpoint_url_ok(ep->response_location))) {
            return ep;
        }
    }
    return NULL;
}

const char *anc_idp_sso_location(const anc_idp_t *idp, const char *binding)
{
    int i;

    if (idp == NULL || binding == NULL) {
        return NULL;
    }
    for (i = 0; i < idp->sso_endpoints->nelts; i++) {
        const anc_endpoint_t *ep = &APR_ARRAY_IDX(idp->sso_endpoints, i, anc_endpoint_t);

        if (strcmp(ep->binding, binding) == 0 && endpoint_url_ok(ep->location)) {
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

#define NS_IDPDISC "urn:oasis:names:tc:SAML:profiles:SSO:idp-discovery-protocol"

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
    if (sp->disco_url != NULL && *sp->disco_url != '\0') {
        /* Identity Provider Discovery Service Protocol and Profile 2.4.1:
         * the return endpoint, in the role's md:Extensions (first child). */
        xmlNodePtr ext = xmlNewChild(role, md, BAD_CAST "Extensions", NULL);
        xmlNsPtr disc = xmlNewNs(ext, BAD_CAST NS_IDPDISC, BAD_CAST "idpdisc");

        ep = xmlNewChild(ext, disc, BAD_CAST "DiscoveryResponse", NULL);
        xmlNewProp(ep, BAD_CAST "Binding", BAD_CAST NS_IDPDISC);
        xmlNewProp(ep, BAD_CAST "Location", BAD_CAST sp->disco_url);
        xmlNewProp(ep, BAD_CAST "index", BAD_CAST "0");
        xmlNewProp(ep, BAD_CAST "isDefault", BAD_CAST "true");
    }
    if (sp->cert != NULL && anc_key_cert_base64(sp->cert) != NULL) {
        add_key_descriptor(role, md, "signing", anc_key_cert_base64(sp->cert), 0);
        add_key_descriptor(role, md, "encryption", anc_key_cert_base64(sp->cert), 1);
    }
    if (sp->slo_url != NULL && *sp->slo_url != '\0') {
        /* SAML metadata 2.4.2: one element per binding; one URL takes both */
        ep = xmlNewChild(role, md, BAD_CAST "SingleLogoutService", NULL);
        xmlNewProp(ep, BAD_CAST "Binding", BAD_CAST ANC_BINDING_REDIRECT);
        xmlNewProp(ep, BAD_CAST "Location", BAD_CAST sp->slo_url);
        ep = xmlNewChild(role, md, BAD_CAST "SingleLogoutService", NULL);
        xmlNewProp(ep, BAD_CAST "Binding", BAD_CAST ANC_BINDING_POST);
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
