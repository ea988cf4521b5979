/*
 * test_metadata.c - the trust store (EntityDescriptor, EntitiesDescriptor,
 * nested groups, bad inputs), key loading, and SP metadata generation
 * validated against OASIS saml-schema-metadata-2.0.xsd with xmllint.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_base64.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "anc_init.h"
#include "anc_metadata.h"
#include "anc_response.h"
#include "support_fixtures.h"
#include "support_runner.h"

#define SCHEMAS "/usr/lib/python3/dist-packages/saml2/data/schemas"
#define MD_NS "urn:oasis:names:tc:SAML:2.0:metadata"
#define DS_NS "http://www.w3.org/2000/09/xmldsig#"

static apr_pool_t *pool;

static void setup(void)
{
    anc_error_t *err = NULL;

    apr_pool_create(&pool, NULL);
    ck_assert_int_eq(anc_lib_init(pool, &err), ANC_OK);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* The IdP certificate as samlforge wrote it into its metadata. */
static const char *idp_cert_b64(void)
{
    const char *md = fx_read(pool, "idp-metadata.xml", NULL);
    const char *s = strstr(md, "<ds:X509Certificate>");
    const char *e = strstr(md, "</ds:X509Certificate>");

    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(e);
    s += strlen("<ds:X509Certificate>");
    return apr_pstrmemdup(pool, s, (apr_size_t)(e - s));
}

static const char *entity(const char *id, const char *use_attr, const char *cert,
                          const char *extra_attrs)
{
    return apr_psprintf(pool,
                        "<md:EntityDescriptor entityID=\"%s\">"
                        "<md:IDPSSODescriptor protocolSupportEnumeration=\"urn:x "
                        "urn:oasis:names:tc:SAML:2.0:protocol\"%s>"
                        "<md:KeyDescriptor%s><ds:KeyInfo><ds:X509Data>"
                        "<ds:X509Certificate>\n%s\n</ds:X509Certificate>"
                        "</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
                        "<md:SingleLogoutService Binding=\"" ANC_BINDING_REDIRECT "\""
                        " Location=\"https://%s.example/slo\"/>"
                        "<md:SingleSignOnService Binding=\"" ANC_BINDING_POST "\""
                        " Location=\"https://%s.example/post\"/>"
                        "<md:SingleSignOnService Binding=\"" ANC_BINDING_REDIRECT "\""
                        " Location=\"https://%s.example/redirect\"/>"
                        "</md:IDPSSODescriptor></md:EntityDescriptor>",
                        id, extra_attrs, use_attr, cert, id, id, id);
}

static const char *doc(const char *root_name, const char *body)
{
    return apr_psprintf(pool,
                        "<md:%s xmlns:md=\"" MD_NS "\" xmlns:ds=\"" DS_NS "\">%s</md:%s>",
                        root_name, body, root_name);
}

static anc_status_t load(anc_trust_t *t, const char *xml, anc_error_t **err)
{
    return anc_trust_load_memory(t, xml, strlen(xml), err);
}

START_TEST(test_fixture_files)
{
    anc_trust_t *t = anc_trust_create(pool);
    anc_error_t *err = NULL;
    const anc_idp_t *idp;

    ck_assert_int_eq(anc_trust_load_file(t, fx_path(pool, "idp-metadata.xml"), &err),
                     ANC_OK);
    ck_assert_int_eq(anc_trust_count(t), 1);
    idp = anc_trust_first(t);
    ck_assert_str_eq(idp->entity_id, "https://idp.example.org/idp");
    ck_assert_int_eq(idp->signing_keys->nelts, 1);
    ck_assert_ptr_nonnull(anc_idp_sso_location(idp, ANC_BINDING_REDIRECT));
    ck_assert_ptr_eq(anc_trust_find(t, "https://idp.example.org/idp"), idp);
    ck_assert_ptr_null(anc_trust_find(t, "https://idp.example.org/idp "));

    /* the EntitiesDescriptor (RSA and EC IdPs) into a fresh store */
    t = anc_trust_create(pool);
    ck_assert_int_eq(anc_trust_load_file(t, fx_path(pool, "metadata-all.xml"), &err),
                     ANC_OK);
    ck_assert_int_eq(anc_trust_count(t), 2);
    ck_assert_int_eq(anc_trust_idps(t)->nelts, 2);
    idp = anc_trust_find(t, "https://idp2.example.org/idp");
    ck_assert_ptr_nonnull(idp);
    ck_assert_int_eq(idp->signing_keys->nelts, 1);
    ck_assert_ptr_nonnull(anc_key_evp(APR_ARRAY_IDX(idp->signing_keys, 0, anc_key_t *)));
    ck_assert_int_eq(idp->slo_endpoints->nelts, 1);
    /* loading the same IdP again is a configuration error */
    ck_assert_int_eq(anc_trust_load_file(t, fx_path(pool, "idp-metadata.xml"), &err),
                     ANC_E_METADATA);
    ck_assert_int_eq(anc_trust_load_file(t, fx_path(pool, "no-such-file.xml"), &err),
                     ANC_E_INPUT);
    ck_assert_str_eq(err->reason, "bad-input");
}
END_TEST

START_TEST(test_nested_and_fields)
{
    anc_trust_t *t = anc_trust_create(pool);
    anc_error_t *err = NULL;
    const char *cert = idp_cert_b64();
    const anc_idp_t *idp;
    const char *xml;

    /* nested EntitiesDescriptor; an SP entity and a SAML 1.1-only IdP are
     * skipped; no use attribute means signing too */
    xml = doc(
        "EntitiesDescriptor",
        apr_pstrcat(pool, entity("a", "", cert, " WantAuthnRequestsSigned=\"true\""),
                    "<md:EntitiesDescriptor>", entity("b", " use=\"signing\"", cert, ""),
                    "<md:EntityDescriptor entityID=\"sp\"><md:SPSSODescriptor "
                    "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:"
                    "protocol\"/></md:EntityDescriptor>"
                    "<md:EntityDescriptor entityID=\"old\"><md:IDPSSODescriptor "
                    "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:1.1:"
                    "protocol\"/></md:EntityDescriptor>",
                    "</md:EntitiesDescriptor>", NULL));
    ck_assert_int_eq(load(t, xml, &err), ANC_OK);
    ck_assert_int_eq(anc_trust_count(t), 2);
    idp = anc_trust_find(t, "a");
    ck_assert_int_eq(idp->want_authn_requests_signed, 1);
    ck_assert_str_eq(anc_idp_sso_location(idp, ANC_BINDING_POST),
                     "https://a.example/post");
    ck_assert_str_eq(anc_idp_sso_location(idp, ANC_BINDING_REDIRECT),
                     "https://a.example/redirect");
    ck_assert_ptr_null(anc_idp_sso_location(idp, "urn:other"));
    ck_assert_int_eq(idp->sso_endpoints->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(idp->slo_endpoints, 0, anc_endpoint_t).location,
                     "https://a.example/slo");
    ck_assert_int_eq(anc_trust_find(t, "b")->want_authn_requests_signed, 0);
    ck_assert_ptr_null(anc_trust_find(t, "sp"));
    ck_assert_ptr_null(anc_trust_find(t, "old"));
    /* the key read from metadata is the certificate samlforge made */
    ck_assert_str_eq(
        anc_key_cert_base64(APR_ARRAY_IDX(idp->signing_keys, 0, anc_key_t *)), cert);
}
END_TEST

/* An endpoint URL from metadata goes into a 302 Location or a form's
 * action on a page of the SP's own origin: only an absolute http(s) URL
 * is an endpoint. A "javascript:" action would run the IdP's script in the
 * SP's origin when the form is submitted (a federation member IdP against
 * every visitor of the SP, through a signed LogoutRequest of its own). */
START_TEST(test_endpoint_url_schemes)
{
    anc_trust_t *t = anc_trust_create(pool);
    anc_error_t *err = NULL;
    const char *cert = idp_cert_b64();
    const anc_idp_t *idp;
    const anc_endpoint_t *ep;
    const char *xml;

    xml = doc("EntitiesDescriptor",
              apr_psprintf(
                  pool,
                  "<md:EntityDescriptor entityID=\"evil\"><md:IDPSSODescriptor "
                  "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
                  "<md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>\n%s\n"
                  "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
                  "<md:SingleLogoutService Binding=\"" ANC_BINDING_POST "\""
                  " Location=\"javascript:alert(document.domain)\"/>"
                  "<md:SingleLogoutService Binding=\"" ANC_BINDING_REDIRECT "\""
                  " Location=\"https://evil.example/slo\""
                  " ResponseLocation=\" JavaScript:alert(1)\"/>"
                  "<md:SingleSignOnService Binding=\"" ANC_BINDING_POST "\""
                  " Location=\"data:text/html,x\"/>"
                  "<md:SingleSignOnService Binding=\"" ANC_BINDING_REDIRECT "\""
                  " Location=\"https:/no-host\"/>"
                  "</md:IDPSSODescriptor></md:EntityDescriptor>"
                  "<md:EntityDescriptor entityID=\"good\"><md:IDPSSODescriptor "
                  "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
                  "<md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>\n%s\n"
                  "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
                  "<md:SingleLogoutService Binding=\"" ANC_BINDING_POST "\""
                  " Location=\"javascript:alert(1)\"/>"
                  "<md:SingleLogoutService Binding=\"" ANC_BINDING_POST "\""
                  " Location=\"HTTPS://good.example/slo\""
                  " ResponseLocation=\"http://good.example:8080/slo-resp?a=b\"/>"
                  "<md:SingleSignOnService Binding=\"" ANC_BINDING_POST "\""
                  " Location=\"vbscript:x\"/>"
                  "<md:SingleSignOnService Binding=\"" ANC_BINDING_POST "\""
                  " Location=\"https://good.example/sso\"/>"
                  "</md:IDPSSODescriptor></md:EntityDescriptor>",
                  cert, cert));
    ck_assert_int_eq(load(t, xml, &err), ANC_OK);
    idp = anc_trust_find(t, "evil");
    ck_assert_ptr_nonnull(idp);
    ck_assert_ptr_null(anc_idp_slo_endpoint(idp, ANC_BINDING_POST));
    ck_assert_ptr_null(anc_idp_slo_endpoint(idp, ANC_BINDING_REDIRECT));
    ck_assert_ptr_null(anc_idp_sso_location(idp, ANC_BINDING_POST));
    ck_assert_ptr_null(anc_idp_sso_location(idp, ANC_BINDING_REDIRECT));
    /* the first usable endpoint of a binding, not the first listed */
    idp = anc_trust_find(t, "good");
    ep = anc_idp_slo_endpoint(idp, ANC_BINDING_POST);
    ck_assert_ptr_nonnull(ep);
    ck_assert_str_eq(ep->location, "HTTPS://good.example/slo");
    ck_assert_str_eq(ep->response_location, "http://good.example:8080/slo-resp?a=b");
    ck_assert_str_eq(anc_idp_sso_location(idp, ANC_BINDING_POST),
                     "https://good.example/sso");
}
END_TEST

START_TEST(test_bad_metadata)
{
    const char *cert = idp_cert_b64();
    struct {
        const char *xml;
        anc_status_t want;
    } cases[] = {
        {doc("EntityDescriptor", ""), ANC_E_METADATA}, /* no entityID */
        {doc("EntitiesDescriptor", entity("a", " use=\"encryption\"", cert, "")),
         ANC_E_METADATA},
        {doc("EntitiesDescriptor", entity("a", "", "AAAA", "")), ANC_E_KEY},
        {doc("EntitiesDescriptor", entity("a", "", "!!notbase64", "")), ANC_E_KEY},
        {doc("EntitiesDescriptor", entity("a", "", "", "")), ANC_E_KEY},
        /* a second entity of one entityID is skipped (test_source_skips);
         * a lone entity that is skipped refuses the source */
        {doc("EntitiesDescriptor", entity("a", "", "AAAA", "")), ANC_E_KEY},
        {doc("EntitiesDescriptor", ""), ANC_E_METADATA},
        {doc("SPSSODescriptor", ""), ANC_E_METADATA},
        {"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>",
         ANC_E_XML_DTD},
        {"<md:EntityDescriptor", ANC_E_XML_PARSE},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        anc_trust_t *t = anc_trust_create(pool);
        anc_error_t *err = NULL;
        anc_status_t rv = load(t, cases[i].xml, &err);

        ck_assert_msg(rv == cases[i].want, "case %zu: got %s (%s)", i, anc_reason(rv),
                      err != NULL && err->detail ? err->detail : "");
        ck_assert_ptr_nonnull(err);
        ck_assert_int_eq(err->code, rv);
    }
}
END_TEST

static const char *write_der_cert(const char *pem_path)
{
    char *out = apr_pstrdup(pool, "/tmp/anc-der-XXXXXX");
    int fd = mkstemp(out);
    FILE *in = fopen(pem_path, "r");
    FILE *o;
    X509 *x;

    ck_assert_int_ge(fd, 0);

    ck_assert_ptr_nonnull(in);
    x = PEM_read_X509(in, NULL, NULL, NULL);
    fclose(in);
    ck_assert_ptr_nonnull(x);
    o = fdopen(fd, "wb");
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(i2d_X509_fp(o, x), 1);
    fclose(o);
    X509_free(x);
    return out;
}

START_TEST(test_keys)
{
    anc_key_t *k;
    anc_error_t *err = NULL;
    const char *sp_key = fx_path(pool, fx_setting(pool, "sp_key"));
    const char *sp_cert = fx_path(pool, fx_setting(pool, "sp_cert"));
    const char *idp_cert = fx_path(pool, fx_setting(pool, "idp_cert"));
    const char *der;

    ck_assert_int_eq(anc_key_load_private(pool, sp_key, sp_cert, &k, &err), ANC_OK);
    ck_assert_ptr_nonnull(anc_key_evp(k));
    ck_assert_ptr_nonnull(anc_key_xmlsec(k));
    ck_assert_ptr_nonnull(anc_key_cert_base64(k));
    ck_assert_int_eq(anc_key_load_private(pool, sp_key, NULL, &k, &err), ANC_OK);
    ck_assert_ptr_null(anc_key_cert_base64(k));
    /* certificate of another key */
    ck_assert_int_eq(anc_key_load_private(pool, sp_key, idp_cert, &k, &err), ANC_E_KEY);
    ck_assert_str_eq(err->reason, "key-invalid");
    /* a certificate is not a private key; missing files */
    ck_assert_int_eq(anc_key_load_private(pool, sp_cert, NULL, &k, &err), ANC_E_KEY);
    ck_assert_int_eq(anc_key_load_private(pool, "/nonexistent", NULL, &k, &err),
                     ANC_E_KEY);
    ck_assert_int_eq(anc_key_load_cert(pool, "/nonexistent", &k, &err), ANC_E_KEY);
    ck_assert_int_eq(anc_key_load_cert(pool, sp_key, &k, &err), ANC_E_KEY);
    /* PEM and DER certificates give the same key */
    ck_assert_int_eq(anc_key_load_cert(pool, idp_cert, &k, &err), ANC_OK);
    ck_assert_str_eq(anc_key_cert_base64(k), idp_cert_b64());
    der = write_der_cert(idp_cert);
    ck_assert_int_eq(anc_key_load_cert(pool, der, &k, &err), ANC_OK);
    ck_assert_str_eq(anc_key_cert_base64(k), idp_cert_b64());
    unlink(der);
}
END_TEST

/* xmllint with a catalog mapping the W3C schema URLs to the local copies,
 * so validation never touches the network. */
static int validate(const char *xml, int quiet)
{
    char dir[] = "/tmp/anc-md-XXXXXX";
    const char *md_path, *cat_path, *cmd;
    FILE *f;
    int rc;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    md_path = apr_pstrcat(pool, dir, "/sp.xml", NULL);
    cat_path = apr_pstrcat(pool, dir, "/catalog.xml", NULL);
    f = fopen(md_path, "w");
    fputs(xml, f);
    fclose(f);
    f = fopen(cat_path, "w");
    fputs(
        "<catalog xmlns=\"urn:oasis:names:tc:entity:xmlns:xml:catalog\">\n"
        "<system systemId=\"http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/"
        "xmldsig-core-schema.xsd\" uri=\"file://" SCHEMAS "/xmldsig-core-schema.xsd\"/>\n"
        "<system systemId=\"http://www.w3.org/TR/2002/REC-xmlenc-core-20021210/"
        "xenc-schema.xsd\" uri=\"file://" SCHEMAS "/xenc-schema.xsd\"/>\n"
        "<system systemId=\"http://www.w3.org/2001/xml.xsd\" uri=\"file://" SCHEMAS
        "/xml.xsd\"/>\n"
        "<uri name=\"http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/"
        "xmldsig-core-schema.xsd\" uri=\"file://" SCHEMAS "/xmldsig-core-schema.xsd\"/>\n"
        "<uri name=\"http://www.w3.org/TR/2002/REC-xmlenc-core-20021210/xenc-schema.xsd\""
        " uri=\"file://" SCHEMAS "/xenc-schema.xsd\"/>\n"
        "<uri name=\"http://www.w3.org/2001/xml.xsd\" uri=\"file://" SCHEMAS
        "/xml.xsd\"/>\n</catalog>\n",
        f);
    fclose(f);
    cmd = apr_psprintf(pool,
                       "XML_CATALOG_FILES='%s' xmllint --nonet --noout --schema " SCHEMAS
                       "/saml-schema-metadata-2.0.xsd '%s' 2>'%s/err'",
                       cat_path, md_path, dir);
    rc = system(cmd);
    if (rc != 0 && !quiet) {
        fprintf(stderr, "%s\n",
                fx_read(pool, apr_pstrcat(pool, dir, "/err", NULL), NULL));
    }
    unlink(md_path);
    unlink(cat_path);
    unlink(apr_pstrcat(pool, dir, "/err", NULL));
    rmdir(dir);
    return rc;
}

START_TEST(test_sp_metadata)
{
    anc_sp_metadata_t sp;
    anc_key_t *k;
    anc_error_t *err = NULL;
    const char *xml;
    anc_trust_t *t = anc_trust_create(pool);

    memset(&sp, 0, sizeof(sp));
    ck_assert_int_eq(anc_sp_metadata_build(pool, &sp, &xml, &err), ANC_E_CONFIG);
    sp.entity_id = "https://sp.example.org/sp?a=1&b=<2>";
    sp.acs_url = "https://sp.example.org/saml/acs";
    ck_assert_int_eq(anc_sp_metadata_build(pool, &sp, &xml, &err), ANC_OK);
    ck_assert_ptr_nonnull(
        strstr(xml, "entityID=\"https://sp.example.org/sp?a=1&amp;b=&lt;2&gt;\""));
    ck_assert_ptr_null(strstr(xml, "KeyDescriptor"));
    ck_assert_int_eq(validate(xml, 0), 0);

    ck_assert_int_eq(anc_key_load_private(pool, fx_path(pool, fx_setting(pool, "sp_key")),
                                          fx_path(pool, fx_setting(pool, "sp_cert")), &k,
                                          &err),
                     ANC_OK);
    sp.cert = k;
    sp.slo_url = "https://sp.example.org/saml/logout";
    sp.authn_requests_signed = 1;
    sp.want_assertions_signed = 1;
    ck_assert_int_eq(anc_sp_metadata_build(pool, &sp, &xml, &err), ANC_OK);
    ck_assert_ptr_nonnull(strstr(xml, "use=\"signing\""));
    ck_assert_ptr_nonnull(strstr(xml, "use=\"encryption\""));
    ck_assert_ptr_nonnull(strstr(xml, anc_key_cert_base64(k)));
    ck_assert_ptr_nonnull(strstr(xml, "AuthnRequestsSigned=\"true\""));
    ck_assert_ptr_nonnull(strstr(xml, "https://sp.example.org/saml/logout"));
    ck_assert_ptr_nonnull(strstr(xml, "index=\"0\""));
    ck_assert_int_eq(validate(xml, 0), 0);
    /* our own parser reads it back; it is not an IdP, so nothing trusted */
    ck_assert_int_eq(anc_trust_load_memory(t, xml, strlen(xml), &err), ANC_E_METADATA);
    /* a broken document is caught by the validation (the test can fail) */
    ck_assert_int_ne(
        validate(apr_pstrcat(pool, "<md:EntityDescriptor xmlns:md=\"" MD_NS "\"/>", NULL),
                 1),
        0);
}
END_TEST

static const char *bn_b64(const EVP_PKEY *k, const char *name)
{
    BIGNUM *bn = NULL;
    unsigned char *bin;
    char *out;
    int n;

    ck_assert_int_eq(EVP_PKEY_get_bn_param(k, name, &bn), 1);
    n = BN_num_bytes(bn);
    bin = apr_palloc(pool, (apr_size_t)n);
    BN_bn2bin(bn, bin);
    BN_free(bn);
    out = apr_palloc(pool, (apr_size_t)apr_base64_encode_len(n));
    apr_base64_encode(out, (const char *)bin, n);
    return out;
}

static const char *rsa_key_value_md(const EVP_PKEY *k)
{
    return apr_psprintf(pool,
                        "<md:EntityDescriptor xmlns:md=\"" MD_NS "\" xmlns:ds=\"" DS_NS
                        "\" entityID=\"https://idp.example.org/idp\">"
                        "<md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:"
                        "names:tc:SAML:2.0:protocol\"><md:KeyDescriptor><ds:KeyInfo>"
                        "<ds:KeyValue><ds:RSAKeyValue><ds:Modulus>%s</ds:Modulus>"
                        "<ds:Exponent>%s</ds:Exponent></ds:RSAKeyValue></ds:KeyValue>"
                        "</ds:KeyInfo></md:KeyDescriptor></md:IDPSSODescriptor>"
                        "</md:EntityDescriptor>",
                        bn_b64(k, OSSL_PKEY_PARAM_RSA_N),
                        bn_b64(k, OSSL_PKEY_PARAM_RSA_E));
}

/* A bare ds:RSAKeyValue in metadata is a trusted key: fixture 00 (signed
 * by the IdP key) verifies with the store built from it alone. */
START_TEST(test_rsa_key_value)
{
    anc_trust_t *t = anc_trust_create(pool);
    anc_error_t *err = NULL;
    anc_key_t *cert_key;
    anc_sp_config_t sp;
    anc_verifier_t *v;
    anc_verify_input_t in;
    anc_verify_result_t *r;
    EVP_PKEY *small;
    const char *xml;

    ck_assert_int_eq(anc_key_load_cert(pool, fx_path(pool, fx_setting(pool, "idp_cert")),
                                       &cert_key, &err),
                     ANC_OK);
    xml = rsa_key_value_md(anc_key_evp(cert_key));
    ck_assert_msg(anc_trust_load_memory(t, xml, strlen(xml), &err) == ANC_OK, "%s",
                  err != NULL ? err->detail : "");
    ck_assert_int_eq(anc_trust_first(t)->signing_keys->nelts, 1);

    memset(&sp, 0, sizeof(sp));
    sp.entity_id = fx_setting(pool, "sp_entity_id");
    sp.acs_url = fx_setting(pool, "acs_url");
    sp.clock_skew = -1;
    ck_assert_int_eq(anc_verifier_create(pool, &sp, t, &v, &err), ANC_OK);
    memset(&in, 0, sizeof(in));
    in.data = fx_read(pool, "responses/00-ok-response-signed.xml", &in.len);
    ck_assert_int_eq(anc_time_parse(fx_setting(pool, "now"), &in.now), ANC_OK);
    in.request_lookup = fx_lookup_one;
    in.request_lookup_ctx = "_req-ok-response-signed";
    anc_response_verify(pool, v, &in, &r);
    ck_assert_msg(r->verdict == ANC_VERDICT_ACCEPT, "%s",
                  r->error != NULL ? r->error->detail : "");

    /* a short RSA key is refused as a trust anchor */
    small = EVP_RSA_gen(1024);
    ck_assert_ptr_nonnull(small);
    xml = rsa_key_value_md(small);
    t = anc_trust_create(pool);
    ck_assert_int_eq(anc_trust_load_memory(t, xml, strlen(xml), &err), ANC_E_KEY);
    EVP_PKEY_free(small);
}
END_TEST

/* A certificate made by the openssl CLI, as base64 DER for metadata. */
static const char *openssl_cert_b64(const char *dir, const char *newkey)
{
    const char *cmd = apr_psprintf(pool,
                                   "openssl req -x509 -newkey %s -nodes -keyout %s/k.pem "
                                   "-out %s/c.pem -days 30 -subj /CN=weak.example.org "
                                   ">/dev/null 2>&1",
                                   newkey, dir, dir);
    const char *pem, *s, *e;
    char *b64, *o;

    ck_assert_msg(system(cmd) == 0, "%s", cmd);
    pem = fx_read(pool, apr_pstrcat(pool, dir, "/c.pem", NULL), NULL);
    s = strstr(pem, "-----BEGIN CERTIFICATE-----");
    e = strstr(pem, "-----END CERTIFICATE-----");
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(e);
    s += strlen("-----BEGIN CERTIFICATE-----");
    b64 = apr_pstrmemdup(pool, s, (apr_size_t)(e - s));
    for (o = b64; *s != '\0' && s < e; s++) {
        if (*s != '\n' && *s != '\r') {
            *o++ = *s;
        }
    }
    *o = '\0';
    unlink(apr_pstrcat(pool, dir, "/k.pem", NULL));
    unlink(apr_pstrcat(pool, dir, "/c.pem", NULL));
    return b64;
}

/* Weak IdP keys are a configuration error, refused when the metadata is
 * loaded (so `apache2 -t` fails): RSA under 2048 bits, EC under 256 bits
 * (NIST SP 800-131A rev. 2: 112-bit security at least). */
START_TEST(test_weak_keys_refused)
{
    char dir[] = "/tmp/anc-weak-XXXXXX";
    struct {
        const char *newkey;
        anc_status_t want;
        const char *detail;
    } cases[] = {
        {"rsa:1024", ANC_E_KEY, "1024-bit RSA"},
        {"ec -pkeyopt ec_paramgen_curve:P-192", ANC_E_KEY, "192-bit EC"},
        {"rsa:2048", ANC_OK, NULL},
        {"ec -pkeyopt ec_paramgen_curve:P-256", ANC_OK, NULL},
    };
    size_t i;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *cert = openssl_cert_b64(dir, cases[i].newkey);
        anc_trust_t *t = anc_trust_create(pool);
        anc_error_t *err = NULL;
        anc_status_t rv =
            load(t, doc("EntitiesDescriptor", entity("weak", "", cert, "")), &err);

        ck_assert_msg(rv == cases[i].want, "%s: got %s (%s)", cases[i].newkey,
                      anc_reason(rv), err != NULL && err->detail ? err->detail : "");
        if (cases[i].detail != NULL) {
            ck_assert_str_eq(err->reason, "key-invalid");
            ck_assert_msg(strstr(err->detail, cases[i].detail) != NULL &&
                              strstr(err->detail, "weak") != NULL,
                          "detail: %s", err->detail);
        }
    }
    rmdir(dir);
}
END_TEST

/* ---- metadata sources ------------------------------------------------- */

#define MD_IDP "https://idp.example.org/idp"
#define MD_IDP2 "https://idp2.example.org/idp"
#define MD_OLD "https://old.example.org/idp"
#define MD_SIRTFI_NAME "urn:oasis:names:tc:SAML:attribute:assurance-certification"
#define MD_SIRTFI "https://refeds.org/sirtfi"

static const anc_key_t *md_key(const char *name)
{
    anc_key_t *k = NULL;
    anc_error_t *err = NULL;

    ck_assert_int_eq(
        anc_key_load_cert(pool, fx_path(pool, apr_pstrcat(pool, "metadata/", name, NULL)),
                          &k, &err),
        ANC_OK);
    return k;
}

static anc_status_t md_load(anc_trust_t *t, const char *file, const anc_md_options_t *o,
                            anc_md_info_t **info, anc_error_t **err)
{
    apr_size_t len = 0;
    const char *data = fx_read(pool, apr_pstrcat(pool, "metadata/", file, NULL), &len);

    return anc_trust_add_source(t, data, len, o, info, err);
}

/* Each broken rule of a signed aggregate refuses the whole source with
 * metadata-signature or metadata-validity; nothing is added. */
START_TEST(test_signed_sources)
{
    const anc_key_t *fed = md_key("fed.crt");
    const anc_key_t *other = md_key("other.crt");
    const apr_interval_time_t month = apr_time_from_sec(30 * 86400);
    struct {
        const char *file;
        const anc_key_t *key;
        apr_interval_time_t max_validity;
        int allow_sha1;
        anc_status_t want;
        const char *detail;
    } cases[] = {
        {"ok.xml", NULL, 0, 0, ANC_OK, NULL},
        {"ok.xml", NULL, month, 0, ANC_OK, NULL},
        {"unsigned.xml", NULL, 0, 0, ANC_OK, NULL}, /* no verify=: accepted */
        {"ok.xml", NULL, 0, 0, ANC_OK, NULL},
        {"unsigned.xml", NULL, 0, 0, ANC_OK, NULL},
        /* with the federation key */
        {"ok.xml", (const anc_key_t *)1, month, 0, ANC_OK, NULL},
        {"unsigned.xml", (const anc_key_t *)1, 0, 0, ANC_E_METADATA_SIG, "not signed"},
        {"ok.xml", (const anc_key_t *)2, 0, 0, ANC_E_METADATA_SIG, "signature-invalid"},
        {"other-key.xml", (const anc_key_t *)1, 0, 0, ANC_E_METADATA_SIG,
         "signature-invalid"},
        {"tampered.xml", (const anc_key_t *)1, 0, 0, ANC_E_METADATA_SIG,
         "signature-invalid"},
        {"moved.xml", (const anc_key_t *)1, 0, 0, ANC_E_METADATA_SIG,
         "signature-reference"},
        {"wrapped.xml", (const anc_key_t *)1, 0, 0, ANC_E_METADATA_SIG, "not signed"},
        {"sha1.xml", (const anc_key_t *)1, 0, 0, ANC_E_METADATA_SIG,
         "signature-algorithm"},
        {"sha1.xml", (const anc_key_t *)1, 0, 1, ANC_OK, NULL},
        {"inclusive-c14n.xml", (const anc_key_t *)1, 0, 0, ANC_E_METADATA_SIG,
         "signature-transform"},
        /* validity, signed or not */
        {"expired.xml", (const anc_key_t *)1, 0, 0, ANC_E_METADATA_VALIDITY,
         "has passed"},
        {"expired.xml", NULL, 0, 0, ANC_E_METADATA_VALIDITY, "has passed"},
        {"long.xml", (const anc_key_t *)1, 0, 0, ANC_OK, NULL},
        {"long.xml", (const anc_key_t *)1, month, 0, ANC_E_METADATA_VALIDITY,
         "maxValidity"},
        {"no-valid-until.xml", (const anc_key_t *)1, 0, 0, ANC_OK, NULL},
        {"no-valid-until.xml", (const anc_key_t *)1, month, 0, ANC_E_METADATA_VALIDITY,
         "no validUntil"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        anc_trust_t *t = anc_trust_create(pool);
        anc_md_options_t o;
        anc_md_info_t *info = NULL;
        anc_error_t *err = NULL;
        anc_status_t rv;

        memset(&o, 0, sizeof(o));
        o.name = cases[i].file;
        o.verify_key = cases[i].key == (const anc_key_t *)1   ? fed
                       : cases[i].key == (const anc_key_t *)2 ? other
                                                              : NULL;
        o.max_validity = cases[i].max_validity;
        o.allow_sha1 = cases[i].allow_sha1;
        rv = md_load(t, cases[i].file, &o, &info, &err);
        ck_assert_msg(rv == cases[i].want, "case %zu (%s): got %s (%s)", i, cases[i].file,
                      anc_reason(rv), err != NULL && err->detail ? err->detail : "");
        if (rv != ANC_OK) {
            ck_assert_int_eq(anc_trust_count(t), 0);
            ck_assert_msg(strstr(err->detail, cases[i].detail) != NULL,
                          "case %zu: detail '%s' lacks '%s'", i, err->detail,
                          cases[i].detail);
            continue;
        }
        /* idp and idp2; the expired entity skipped, the SP ignored */
        ck_assert_int_eq(anc_trust_count(t), 2);
        ck_assert_ptr_nonnull(anc_trust_find(t, MD_IDP));
        ck_assert_str_eq(anc_trust_find(t, MD_IDP)->source, cases[i].file);
        ck_assert_ptr_nonnull(anc_trust_find(t, MD_IDP2));
        ck_assert_ptr_null(anc_trust_find(t, MD_OLD));
        ck_assert_int_eq(info->idps, 2);
        ck_assert_int_eq(info->skipped->nelts, 1);
        ck_assert_str_eq(APR_ARRAY_IDX(info->skipped, 0, anc_md_skip_t).entity_id,
                         MD_OLD);
        ck_assert_int_eq(APR_ARRAY_IDX(info->skipped, 0, anc_md_skip_t).code,
                         ANC_E_METADATA_VALIDITY);
    }
    ck_assert_str_eq(anc_reason(ANC_E_METADATA_SIG), "metadata-signature");
    ck_assert_str_eq(anc_reason(ANC_E_METADATA_VALIDITY), "metadata-validity");
}
END_TEST

/* validUntil and cacheDuration are reported; an IdP whose own validUntil
 * passes while the store is in use is no longer found. */
START_TEST(test_source_validity)
{
    const char *cert = idp_cert_b64();
    anc_trust_t *t = anc_trust_create(pool);
    anc_md_options_t o;
    anc_md_info_t *info = NULL;
    anc_error_t *err = NULL;
    apr_time_t now = apr_time_now();
    const char *soon = anc_time_format(pool, now + apr_time_from_sec(2));
    const char *later = anc_time_format(pool, now + apr_time_from_sec(3600));
    const char *past = anc_time_format(pool, now - apr_time_from_sec(60));
    const char *xml = apr_psprintf(
        pool,
        "<md:EntitiesDescriptor xmlns:md=\"" MD_NS "\" xmlns:ds=\"" DS_NS
        "\" validUntil=\"%s\" cacheDuration=\"PT10M\">"
        "<md:EntitiesDescriptor Name=\"lapsed\" "
        "validUntil=\"%s\">%s</md:EntitiesDescriptor>"
        "%s%s</md:EntitiesDescriptor>",
        later, past, entity("in-lapsed-group", "", cert, ""),
        apr_psprintf(pool, "<md:EntityDescriptor validUntil=\"%s\"%s", soon,
                     entity("short", "", cert, "") + strlen("<md:EntityDescriptor")),
        entity("long", "", cert, ""));

    memset(&o, 0, sizeof(o));
    ck_assert_int_eq(anc_trust_add_source(t, xml, strlen(xml), &o, &info, &err), ANC_OK);
    ck_assert_int_eq(info->idps, 2);
    ck_assert_int_eq(info->skipped->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(info->skipped, 0, anc_md_skip_t).entity_id, "lapsed");
    ck_assert_int_eq(apr_time_sec(info->cache_duration), 600);
    ck_assert_int_eq(apr_time_sec(info->valid_until), apr_time_sec(now) + 3600);
    ck_assert_int_eq(apr_time_sec(info->expires), apr_time_sec(now) + 2);
    ck_assert_ptr_nonnull(anc_trust_find(t, "short"));
    ck_assert_ptr_null(anc_trust_find(t, "in-lapsed-group"));
    sleep(3);
    ck_assert_ptr_null(anc_trust_find(t, "short"));
    ck_assert_ptr_nonnull(anc_trust_find(t, "long"));
    /* a malformed validUntil on the root refuses the source */
    xml = apr_pstrcat(pool,
                      "<md:EntitiesDescriptor xmlns:md=\"" MD_NS "\" xmlns:ds=\"" DS_NS
                      "\" validUntil=\"tomorrow\">",
                      entity("a", "", cert, ""), "</md:EntitiesDescriptor>", NULL);
    t = anc_trust_create(pool);
    ck_assert_int_eq(anc_trust_add_source(t, xml, strlen(xml), &o, &info, &err),
                     ANC_E_METADATA);
}
END_TEST

/* One bad entity is skipped with its reason; the others are trusted. */
START_TEST(test_source_skips)
{
    const char *cert = idp_cert_b64();
    char dir[] = "/tmp/anc-skip-XXXXXX";
    const char *weak;
    anc_trust_t *t = anc_trust_create(pool);
    anc_md_info_t *info = NULL;
    anc_error_t *err = NULL;
    const char *xml;
    struct {
        const char *id;
        anc_status_t code;
        const char *detail;
    } want[] = {
        {"weak", ANC_E_KEY, "1024-bit RSA"},
        {"nokey", ANC_E_METADATA, "no signing certificate"},
        {"saml1", ANC_E_METADATA, "SAML 2.0"},
        {"a", ANC_E_METADATA, "already loaded"},
        {"bad?id", ANC_E_METADATA, "control character"},
        {NULL, ANC_E_METADATA, "longer than 1024"},
    };
    char long_id[1100];
    size_t i;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    weak = openssl_cert_b64(dir, "rsa:1024");
    rmdir(dir);
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    memcpy(long_id, "urn:", 4);
    xml =
        doc("EntitiesDescriptor",
            apr_pstrcat(pool, entity("a", "", cert, ""), entity("weak", "", weak, ""),
                        entity("nokey", " use=\"encryption\"", cert, ""),
                        "<md:EntityDescriptor entityID=\"saml1\"><md:IDPSSODescriptor "
                        "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:1.1:"
                        "protocol\"/></md:EntityDescriptor>",
                        entity("a", "", cert, ""), entity("bad&#10;id", "", cert, ""),
                        entity(long_id, "", cert, ""), entity("b", "", cert, ""), NULL));
    ck_assert_int_eq(anc_trust_add_source(t, xml, strlen(xml), NULL, &info, &err),
                     ANC_OK);
    ck_assert_int_eq(anc_trust_count(t), 2);
    ck_assert_ptr_nonnull(anc_trust_find(t, "a"));
    ck_assert_ptr_nonnull(anc_trust_find(t, "b"));
    ck_assert_int_eq(info->skipped->nelts, 6);
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const anc_md_skip_t *sk = &APR_ARRAY_IDX(info->skipped, i, anc_md_skip_t);

        if (want[i].id) {
            ck_assert_str_eq(sk->entity_id, want[i].id);
        } else {
            ck_assert_uint_eq(strlen(sk->entity_id), 203); /* 200 and "..." */
        }
        ck_assert_int_eq(sk->code, want[i].code);
        ck_assert_msg(strstr(sk->detail, want[i].detail) != NULL, "%s: %s", want[i].id,
                      sk->detail);
    }
}
END_TEST

/* entities= and entityAttribute= filters; both given: both must pass. */
START_TEST(test_source_filters)
{
    const anc_key_t *fed = md_key("fed.crt");
    apr_array_header_t *ids = apr_array_make(pool, 2, sizeof(const char *));
    apr_array_header_t *attrs = apr_array_make(pool, 2, sizeof(anc_md_attr_t));
    anc_md_attr_t *a;
    anc_md_options_t o;
    anc_md_info_t *info = NULL;
    anc_error_t *err = NULL;
    anc_trust_t *t;

    memset(&o, 0, sizeof(o));
    o.verify_key = fed;
    APR_ARRAY_PUSH(ids, const char *) = MD_IDP2;
    o.entities = ids;
    t = anc_trust_create(pool);
    ck_assert_int_eq(md_load(t, "ok.xml", &o, &info, &err), ANC_OK);
    ck_assert_int_eq(anc_trust_count(t), 1);
    ck_assert_ptr_nonnull(anc_trust_find(t, MD_IDP2));
    ck_assert_int_eq(info->filtered, 2); /* idp and the expired one */

    o.entities = NULL;
    a = apr_array_push(attrs);
    a->name = MD_SIRTFI_NAME;
    a->value = MD_SIRTFI;
    o.entity_attrs = attrs;
    t = anc_trust_create(pool);
    ck_assert_int_eq(md_load(t, "ok.xml", &o, &info, &err), ANC_OK);
    ck_assert_int_eq(anc_trust_count(t), 1);
    ck_assert_ptr_nonnull(anc_trust_find(t, MD_IDP));

    /* the right name with another value, or the value under another name */
    a->value = "https://refeds.org/sirtfi2";
    t = anc_trust_create(pool);
    ck_assert_int_eq(md_load(t, "ok.xml", &o, &info, &err), ANC_E_METADATA);
    ck_assert_msg(strstr(err->detail, "filters") != NULL, "%s", err->detail);
    a->name = "http://macedir.org/entity-category-support";
    a->value = MD_SIRTFI;
    t = anc_trust_create(pool);
    ck_assert_int_eq(md_load(t, "ok.xml", &o, &info, &err), ANC_E_METADATA);

    /* both filters: idp2 is listed but does not carry the attribute */
    a->name = MD_SIRTFI_NAME;
    o.entities = ids;
    t = anc_trust_create(pool);
    ck_assert_int_eq(md_load(t, "ok.xml", &o, &info, &err), ANC_E_METADATA);
}
END_TEST

/* Several sources: the first holding an entityID wins. */
START_TEST(test_source_merge)
{
    anc_trust_t *a = anc_trust_create(pool), *b = anc_trust_create(pool), *m;
    const anc_trust_t *parts[3];
    apr_array_header_t *dups = NULL;
    anc_error_t *err = NULL;

    ck_assert_int_eq(anc_trust_load_file(a, fx_path(pool, "idp-metadata.xml"), &err),
                     ANC_OK);
    ck_assert_int_eq(md_load(b, "ok.xml", NULL, NULL, &err), ANC_OK);
    parts[0] = a;
    parts[1] = NULL;
    parts[2] = b;
    m = anc_trust_merge(pool, parts, 3, &dups);
    ck_assert_int_eq(anc_trust_count(m), 2);
    ck_assert_ptr_eq(anc_trust_find(m, MD_IDP), anc_trust_find(a, MD_IDP));
    ck_assert_ptr_eq(anc_trust_find(m, MD_IDP2), anc_trust_find(b, MD_IDP2));
    ck_assert_ptr_nonnull(dups);
    ck_assert_int_eq(dups->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(dups, 0, const char *), MD_IDP);
    ck_assert(anc_idp_same_keys(anc_trust_find(a, MD_IDP), anc_trust_find(b, MD_IDP)));
    ck_assert(!anc_idp_same_keys(anc_trust_find(a, MD_IDP), anc_trust_find(b, MD_IDP2)));
}
END_TEST

START_TEST(test_duration)
{
    struct {
        const char *text;
        long secs; /* -1: refused */
    } cases[] = {
        {"PT1H", 3600},    {"P1D", 86400},   {"PT6H30M", 23400}, {"P1DT1S", 86401},
        {"PT0.5S", 0},     {" PT10M ", 600}, {"P1Y", 31536000},  {"P1M", 2592000},
        {"P", -1},         {"PT", -1},       {"-PT1H", -1},      {"PT1D", -1},
        {"P1H", -1},       {"PT1M1H", -1},   {"1H", -1},         {"PT99999999999H", -1},
        {"PT1H junk", -1},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        apr_interval_time_t d = 0;
        anc_status_t rv = anc_duration_parse(cases[i].text, &d);

        if (cases[i].secs < 0) {
            ck_assert_msg(rv != ANC_OK, "'%s' accepted", cases[i].text);
        } else {
            ck_assert_msg(rv == ANC_OK && apr_time_sec(d) == cases[i].secs,
                          "'%s': %d %ld", cases[i].text, (int)rv, (long)apr_time_sec(d));
        }
    }
}
END_TEST

static const anc_idp_t *resolve_from_index(void *ctx, const char *entity_id)
{
    anc_trust_t *t = anc_trust_create(pool);

    if (anc_md_index_load_entity(ctx, t, entity_id, NULL) != ANC_OK) {
        return NULL;
    }
    return anc_trust_find(t, entity_id);
}

/* The per-entity directory: an aggregate verified once, split into
 * {sha1}HEX.xml files and an index of their SHA-256; a file that does not
 * hash to the index's value is refused. */
static char *fx_read_abs(apr_pool_t *p, const char *path, apr_size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = apr_palloc(p, 1 << 20);

    ck_assert_ptr_nonnull(f);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void write_abs(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(test_split_and_index)
{
    char dir[] = "/tmp/anc-split-XXXXXX";
    const anc_key_t *fed = md_key("fed.crt");
    anc_md_options_t o;
    anc_md_info_t *info = NULL;
    anc_error_t *err = NULL;
    anc_md_index_t *idx = NULL;
    anc_trust_t *t, *ov;
    apr_size_t len = 0;
    const char *data;
    const char *file;
    FILE *f;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    memset(&o, 0, sizeof(o));
    o.verify_key = fed;
    /* a badly signed aggregate writes nothing */
    data = fx_read(pool, "metadata/tampered.xml", &len);
    ck_assert_int_eq(anc_md_split(pool, data, len, &o, dir, &info, &err),
                     ANC_E_METADATA_SIG);
    ck_assert_int_eq(anc_md_index_load(pool, dir, &idx, &err), ANC_E_INPUT);

    data = fx_read(pool, "metadata/ok.xml", &len);
    ck_assert_int_eq(anc_md_split(pool, data, len, &o, dir, &info, &err), ANC_OK);
    ck_assert_int_eq(info->idps, 2);
    ck_assert_int_eq(anc_md_index_load(pool, dir, &idx, &err), ANC_OK);
    ck_assert_int_eq(anc_md_index_count(idx), 2);
    t = anc_trust_create(pool);
    ck_assert_int_eq(anc_md_index_load_entity(idx, t, MD_IDP, &err), ANC_OK);
    ck_assert_ptr_nonnull(anc_trust_find(t, MD_IDP));
    /* the aggregate's validUntil travels with the entity */
    ck_assert(anc_trust_find(t, MD_IDP)->valid_until != 0);
    ck_assert_int_eq(anc_md_index_load_entity(idx, t, MD_OLD, &err), ANC_E_UNKNOWN_IDP);
    ck_assert_int_eq(anc_md_index_load_entity(idx, t, "https://nobody.example/", &err),
                     ANC_E_UNKNOWN_IDP);

    /* an overlay finds it through the resolver, and counts the index */
    ov = anc_trust_overlay(pool, NULL, resolve_from_index, idx, anc_md_index_count(idx));
    ck_assert_int_eq(anc_trust_count(ov), 2);
    ck_assert_ptr_nonnull(anc_trust_find(ov, MD_IDP2));
    ck_assert_ptr_null(anc_trust_find(ov, "https://nobody.example/"));
    ck_assert_ptr_null(anc_trust_first(ov));

    /* index version 2 (a UI column); version 1 still read; others refused */
    {
        const char *ipath = apr_pstrcat(pool, dir, "/index.tsv", NULL);
        apr_size_t ilen = 0;
        char *itext = (char *)fx_read_abs(pool, ipath, &ilen);
        const anc_ui_info_t *ui;
        apr_time_t vu = 0;
        char *tab;

        ck_assert_msg(!strncmp(itext, "#anc-md-index 2\t", 16), "%s", itext);
        ui = anc_md_index_ui(idx, 0, &vu);
        ck_assert_ptr_nonnull(ui);
        ck_assert(vu != 0);
        ck_assert_ptr_null(anc_md_index_ui(idx, 2, NULL));
        itext[14] = '9';
        write_abs(ipath, itext);
        ck_assert_int_eq(anc_md_index_load(pool, dir, &idx, &err), ANC_E_METADATA);
        ck_assert_msg(strstr(err->detail, "version 9") != NULL, "%s", err->detail);
        /* a version 1 line: no UI column */
        itext[14] = '1';
        while ((tab = strstr(itext, "\t-\n")) != NULL) {
            memmove(tab, tab + 2, strlen(tab + 2) + 1);
        }
        write_abs(ipath, itext);
        ck_assert_int_eq(anc_md_index_load(pool, dir, &idx, &err), ANC_OK);
        ck_assert_int_eq(anc_md_index_count(idx), 2);
        ck_assert_ptr_nonnull(anc_md_index_ui(idx, 1, NULL));
    }

    /* one byte changed in a split file: refused */
    file = apr_pstrcat(pool, dir, "/{sha1}b76909937076d62ecddf5065e0a61f312ce402c1.xml",
                       NULL); /* SHA-1 of https://idp2.example.org/idp */
    f = fopen(file, "ab");
    ck_assert_ptr_nonnull(f);
    fputs(" ", f);
    fclose(f);
    t = anc_trust_create(pool);
    ck_assert_int_eq(anc_md_index_load_entity(idx, t, MD_IDP2, &err), ANC_E_METADATA);
    ck_assert_msg(strstr(err->detail, "SHA-256") != NULL, "%s", err->detail);
    ck_assert_int_eq(system(apr_pstrcat(pool, "rm -rf ", dir, NULL)), 0);
}
END_TEST

static Suite *metadata_suite(void)
{
    Suite *s = suite_create("metadata");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_fixture_files);
    tcase_add_test(tc, test_nested_and_fields);
    tcase_add_test(tc, test_endpoint_url_schemes);
    tcase_add_test(tc, test_bad_metadata);
    tcase_add_test(tc, test_keys);
    tcase_add_test(tc, test_sp_metadata);
    tcase_add_test(tc, test_rsa_key_value);
    tcase_add_test(tc, test_weak_keys_refused);
    tcase_add_test(tc, test_signed_sources);
    tcase_add_test(tc, test_source_validity);
    tcase_add_test(tc, test_source_skips);
    tcase_add_test(tc, test_source_filters);
    tcase_add_test(tc, test_source_merge);
    tcase_add_test(tc, test_duration);
    tcase_add_test(tc, test_split_and_index);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return anc_test_run_suite(metadata_suite());
}
