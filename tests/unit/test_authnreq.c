/*
 * test_authnreq.c - AuthnRequest XML (checked against the SAML protocol
 * schema by xmllint), HTTP-Redirect encoding (inflated and its query
 * signature verified independently by Python's zlib and the openssl CLI),
 * the strict Redirect decoder (duplicates, deflate bombs, bad encodings,
 * signatures), and the HTTP-POST form (enveloped signature verified by the
 * xmlsec1 CLI).
 *
 * Keys are made fresh by the openssl CLI in a temporary directory, so no
 * product code takes part in making or checking them.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <apr_base64.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "anc_authnreq.h"
#include "anc_init.h"

#define SCHEMA_DIR "/usr/lib/python3/dist-packages/saml2/data/schemas"
#define PYTHON "/usr/bin/python3"

static apr_pool_t *pool;  /* per test */
static apr_pool_t *gpool; /* process-wide: keys, library init */
static char tmpdir[256];
static const char *checker;  /* tests/unit/authnreq_check.py */
static anc_key_t *sp_key;    /* private key + certificate */
static anc_key_t *other_key; /* an unrelated key pair */
static anc_key_t *sp_pub;    /* the SP certificate as a public key */

static const char *path(const char *name)
{
    return apr_pstrcat(pool, tmpdir, "/", name, NULL);
}

/* Keys are loaded per test into the test's pool: in Check's fork mode
 * the child exits without destroying the process pool, and objects owned
 * only by (mmap'd) pool memory would look leaked to LeakSanitizer. */
static void setup(void)
{
    anc_error_t *err = NULL;

    apr_pool_create(&pool, gpool);
    ck_assert_msg(anc_key_load_private(pool, path("key.pem"), path("cert.pem"), &sp_key,
                                       &err) == ANC_OK,
                  "key load: %s", err ? err->detail : "?");
    ck_assert_int_eq(anc_key_load_private(pool, path("otherkey.pem"), path("other.pem"),
                                          &other_key, &err),
                     ANC_OK);
    ck_assert_int_eq(anc_key_load_cert(pool, path("cert.pem"), &sp_pub, &err), ANC_OK);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static int run(const char *cmd)
{
    int rc = system(cmd);

    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void write_file(const char *file, const char *data, apr_size_t len)
{
    FILE *f = fopen(file, "wb");

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static char *read_file(const char *file, apr_size_t *len)
{
    FILE *f = fopen(file, "rb");
    char *buf;
    long n;

    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = apr_palloc(pool, (apr_size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len) {
        *len = (apr_size_t)n;
    }
    return buf;
}

/* Runs a command and returns its stdout (trailing newline kept). */
static char *capture(const char *cmd)
{
    const char *out = path("capture.txt");

    ck_assert_msg(run(apr_pstrcat(pool, cmd, " > ", out, NULL)) == 0, "failed: %s", cmd);
    return read_file(out, NULL);
}

static int schema_valid(const char *xml_file)
{
    return run(apr_psprintf(pool,
                            "XML_CATALOG_FILES=%s/catalog.xml xmllint --nonet --noout "
                            "--schema " SCHEMA_DIR "/saml-schema-protocol-2.0.xsd %s "
                            "2>%s/xmllint.err",
                            tmpdir, xml_file, tmpdir));
}

static apr_array_header_t *strs(int n, ...)
{
    apr_array_header_t *a = apr_array_make(pool, n + 1, sizeof(const char *));
    va_list ap;
    int i;

    va_start(ap, n);
    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(a, const char *) = va_arg(ap, const char *);
    }
    va_end(ap);
    return a;
}

static anc_authnreq_t sample_request(void)
{
    anc_authnreq_t r;

    memset(&r, 0, sizeof(r));
    r.id = "_0123456789abcdef0123456789abcdef";
    r.issue_instant = apr_time_from_sec(1700000000); /* 2023-11-14T22:13:20Z */
    r.destination = "https://idp.example.org/sso?tenant=a&x=<b>";
    r.acs_url = "https://sp.example.org/saml/acs";
    r.issuer = "https://sp.example.org/\"sp\"&'x'";
    r.allow_create = 1;
    r.has_requested_context = 1;
    r.comparison = ANC_CMP_MINIMUM;
    r.classes = strs(3, "https://refeds.org/profile/mfa",
                     "urn:oasis:names:tc:SAML:2.0:ac:classes:X509",
                     "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport");
    return r;
}

static const char *attr(xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetProp(n, BAD_CAST name);
    const char *s;

    if (v == NULL) {
        return NULL;
    }
    s = apr_pstrdup(pool, (const char *)v);
    xmlFree(v);
    return s;
}

static xmlNodePtr next_elem(xmlNodePtr n)
{
    while (n != NULL && n->type != XML_ELEMENT_NODE) {
        n = n->next;
    }
    return n;
}

/* ---- AuthnRequest XML --------------------------------------------------- */

START_TEST(xml_matches_schema_and_content)
{
    anc_authnreq_t r = sample_request();
    const char *xml = NULL, *text;
    anc_error_t *err = NULL;
    xmlDocPtr doc;
    xmlNodePtr root, n, c;
    int i;

    r.force_authn = 1;
    r.is_passive = 1;
    r.name_id_format = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
    ck_assert_int_eq(anc_authnreq_xml(pool, &r, &xml, &err), ANC_OK);
    ck_assert_msg(strncmp(xml, "<?xml", 5) != 0, "no XML declaration expected");
    write_file(path("req.xml"), xml, strlen(xml));
    ck_assert_msg(schema_valid(path("req.xml")) == 0, "schema: %s",
                  read_file(path("xmllint.err"), NULL));

    doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(doc);
    root = xmlDocGetRootElement(doc);
    ck_assert_str_eq((const char *)root->name, "AuthnRequest");
    ck_assert_str_eq((const char *)root->ns->href,
                     "urn:oasis:names:tc:SAML:2.0:protocol");
    ck_assert_str_eq(attr(root, "ID"), r.id);
    ck_assert_str_eq(attr(root, "Version"), "2.0");
    ck_assert_str_eq(attr(root, "IssueInstant"), "2023-11-14T22:13:20Z");
    /* escaping round-trips the exact values */
    ck_assert_str_eq(attr(root, "Destination"), r.destination);
    ck_assert_str_eq(attr(root, "AssertionConsumerServiceURL"), r.acs_url);
    ck_assert_str_eq(attr(root, "ProtocolBinding"),
                     "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST");
    ck_assert_str_eq(attr(root, "ForceAuthn"), "true");
    ck_assert_str_eq(attr(root, "IsPassive"), "true");

    n = next_elem(root->children);
    ck_assert_str_eq((const char *)n->name, "Issuer");
    text = (const char *)xmlNodeGetContent(n);
    ck_assert_str_eq(text, r.issuer);
    xmlFree((xmlChar *)text);
    n = next_elem(n->next);
    ck_assert_str_eq((const char *)n->name, "NameIDPolicy");
    ck_assert_str_eq(attr(n, "AllowCreate"), "true");
    ck_assert_str_eq(attr(n, "Format"), r.name_id_format);
    n = next_elem(n->next);
    ck_assert_str_eq((const char *)n->name, "RequestedAuthnContext");
    ck_assert_str_eq(attr(n, "Comparison"), "minimum");
    for (i = 0, c = next_elem(n->children); c != NULL; c = next_elem(c->next), i++) {
        ck_assert_str_eq((const char *)c->name, "AuthnContextClassRef");
        text = (const char *)xmlNodeGetContent(c);
        ck_assert_str_eq(text, APR_ARRAY_IDX(r.classes, i, const char *)); /* order */
        xmlFree((xmlChar *)text);
    }
    ck_assert_int_eq(i, 3);
    ck_assert_ptr_null(next_elem(n->next));
    xmlFreeDoc(doc);

    /* the validator is not a rubber stamp: a broken request fails it */
    write_file(path("bad.xml"),
               "<samlp:AuthnRequest xmlns:samlp=\""
               "urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_a\" "
               "IssueInstant=\"2023-11-14T22:13:20Z\"/>",
               strlen("<samlp:AuthnRequest xmlns:samlp=\""
                      "urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_a\" "
                      "IssueInstant=\"2023-11-14T22:13:20Z\"/>"));
    ck_assert_int_ne(schema_valid(path("bad.xml")), 0);
}
END_TEST

START_TEST(xml_without_context_and_errors)
{
    anc_authnreq_t r = sample_request();
    const char *xml = NULL;
    anc_error_t *err = NULL;
    int cmp;

    r.has_requested_context = 0;
    ck_assert_int_eq(anc_authnreq_xml(pool, &r, &xml, &err), ANC_OK);
    ck_assert_ptr_null(strstr(xml, "RequestedAuthnContext"));
    ck_assert_ptr_null(strstr(xml, "ForceAuthn"));
    ck_assert_ptr_null(strstr(xml, "IsPassive"));
    write_file(path("req.xml"), xml, strlen(xml));
    ck_assert_int_eq(schema_valid(path("req.xml")), 0);

    /* every comparison is a valid schema value */
    for (cmp = ANC_CMP_EXACT; cmp <= ANC_CMP_MAXIMUM; cmp++) {
        r = sample_request();
        r.comparison = (anc_comparison_t)cmp;
        ck_assert_int_eq(anc_authnreq_xml(pool, &r, &xml, &err), ANC_OK);
        ck_assert_ptr_nonnull(
            strstr(xml, apr_psprintf(pool, "Comparison=\"%s\"",
                                     anc_comparison_name(r.comparison))));
        write_file(path("req.xml"), xml, strlen(xml));
        ck_assert_int_eq(schema_valid(path("req.xml")), 0);
    }

    r = sample_request();
    r.classes = strs(0);
    ck_assert_int_eq(anc_authnreq_xml(pool, &r, &xml, &err), ANC_E_CONFIG);
    r = sample_request();
    r.issuer = NULL;
    ck_assert_int_eq(anc_authnreq_xml(pool, &r, &xml, &err), ANC_E_CONFIG);
    r = sample_request();
    r.id = "";
    ck_assert_int_eq(anc_authnreq_xml(pool, &r, &xml, &err), ANC_E_CONFIG);
    r = sample_request();
    r.acs_url = "https://sp/\xff\xfe";
    ck_assert_int_eq(anc_authnreq_xml(pool, &r, &xml, &err), ANC_E_CONFIG);
    ck_assert_str_eq(err->reason, "config-invalid");
}
END_TEST

/* ---- HTTP-Redirect ------------------------------------------------------ */

static const char *sample_xml(void)
{
    anc_authnreq_t r = sample_request();
    const char *xml = NULL;

    ck_assert_int_eq(anc_authnreq_xml(pool, &r, &xml, NULL), ANC_OK);
    return xml;
}

static const char *query_of(const char *url)
{
    const char *q = strstr(url, "SAMLRequest=");

    ck_assert_ptr_nonnull(q);
    return q;
}

START_TEST(redirect_unsigned_round_trip)
{
    const char *xml = sample_xml(), *url = NULL;
    anc_redirect_msg_t *m = NULL;
    anc_error_t *err = NULL;
    apr_size_t len;

    ck_assert_int_eq(anc_redirect_encode(pool, "https://idp.example.org/sso", xml,
                                         "rs 1/&=", NULL, NULL, &url, &err),
                     ANC_OK);
    ck_assert(strncmp(url, "https://idp.example.org/sso?SAMLRequest=", 40) == 0);
    ck_assert_ptr_nonnull(strstr(url, "&RelayState=rs%201%2F%26%3D"));
    ck_assert_ptr_null(strstr(url, "Signature="));
    ck_assert_int_eq(anc_redirect_decode(pool, strchr(url, '?'), 0, NULL, &m, &err),
                     ANC_OK);
    ck_assert_str_eq(m->param, "SAMLRequest");
    ck_assert_str_eq(m->xml, xml);
    ck_assert_uint_eq(m->xml_len, strlen(xml));
    ck_assert_str_eq(m->relay_state, "rs 1/&=");
    ck_assert_ptr_null(m->sig_alg);

    /* independent: Python's zlib inflates the same XML */
    ck_assert_str_eq(
        capture(apr_psprintf(pool, PYTHON " %s redirect '%s' %s", checker, url, tmpdir)),
        "unsigned\n");
    ck_assert_str_eq(read_file(path("inflated.xml"), &len), xml);

    /* a destination with a query of its own gets '&' */
    ck_assert_int_eq(anc_redirect_encode(pool, "https://idp/sso?tenant=x", xml, NULL,
                                         NULL, NULL, &url, &err),
                     ANC_OK);
    ck_assert(strncmp(url, "https://idp/sso?tenant=x&SAMLRequest=", 37) == 0);
    ck_assert_ptr_null(strstr(url, "RelayState"));

    /* RelayState over 80 bytes (bindings 3.4.3) and fragments refused */
    ck_assert_int_eq(anc_redirect_encode(pool, "https://idp/sso", xml,
                                         "123456789012345678901234567890123456789012345"
                                         "678901234567890123456789012345678901",
                                         NULL, NULL, &url, &err),
                     ANC_E_CONFIG);
    ck_assert_int_eq(
        anc_redirect_encode(pool, "https://idp/sso#f", xml, NULL, NULL, NULL, &url, &err),
        ANC_E_CONFIG);
}
END_TEST

START_TEST(redirect_signature_verified_by_openssl)
{
    static const char *const algs[] = {ANC_SIG_RSA_SHA256, ANC_SIG_RSA_SHA384,
                                       ANC_SIG_RSA_SHA512};
    static const char *const names[] = {"sha256\n", "sha384\n", "sha512\n"};
    const char *xml = sample_xml();
    int i;

    for (i = 0; i < 3; i++) {
        const char *url = NULL, *digest;
        anc_error_t *err = NULL;
        anc_redirect_msg_t *m = NULL;
        char *signed_octets;

        ck_assert_int_eq(anc_redirect_encode(pool, "https://idp.example.org/sso?t=1", xml,
                                             "state-42", sp_key, algs[i], &url, &err),
                         ANC_OK);
        digest = capture(
            apr_psprintf(pool, PYTHON " %s redirect '%s' %s", checker, url, tmpdir));
        ck_assert_str_eq(digest, names[i]);
        ck_assert_str_eq(read_file(path("inflated.xml"), NULL), xml);
        /* the signed octets are exactly the query up to &Signature= */
        signed_octets = read_file(path("signed.txt"), NULL);
        ck_assert(strncmp(signed_octets, "SAMLRequest=", 12) == 0);
        ck_assert_ptr_nonnull(strstr(signed_octets, "&RelayState=state-42&SigAlg="));
        ck_assert_int_eq(
            run(apr_psprintf(pool,
                             "openssl dgst -%.6s -verify %s/pub.pem "
                             "-signature %s/sig.bin %s/signed.txt >/dev/null",
                             names[i], tmpdir, tmpdir, tmpdir)),
            0);
        /* a changed octet fails the same independent check */
        signed_octets[strlen(signed_octets) - 1] ^= 1;
        write_file(path("signed.txt"), signed_octets, strlen(signed_octets));
        ck_assert_int_ne(run(apr_psprintf(pool,
                                          "openssl dgst -%.6s -verify %s/pub.pem "
                                          "-signature %s/sig.bin %s/signed.txt "
                                          ">/dev/null 2>&1",
                                          names[i], tmpdir, tmpdir, tmpdir)),
                         0);
        /* and our decoder accepts it with the SP certificate */
        ck_assert_int_eq(
            anc_redirect_decode(pool, strchr(url, '?') + 1, 0, sp_pub, &m, &err), ANC_OK);
        ck_assert_str_eq(m->sig_alg, algs[i]);
        ck_assert_str_eq(m->relay_state, "state-42");
        ck_assert_str_eq(m->xml, xml);
    }
}
END_TEST

START_TEST(redirect_decode_signature_checks)
{
    const char *xml = sample_xml(), *url = NULL, *q, *tampered, *reordered;
    const char *sig, *sigalg, *relay, *req;
    anc_redirect_msg_t *m = NULL;
    anc_error_t *err = NULL;

    ck_assert_int_eq(anc_redirect_encode(pool, "https://idp/sso", xml, "abc", sp_key,
                                         ANC_SIG_RSA_SHA256, &url, &err),
                     ANC_OK);
    q = query_of(url);
    ck_assert_int_eq(anc_redirect_decode(pool, q, 0, sp_pub, &m, &err), ANC_OK);
    /* the private key object verifies too (it has the public half) */
    ck_assert_int_eq(anc_redirect_decode(pool, q, 0, sp_key, &m, &err), ANC_OK);
    /* another key: invalid */
    ck_assert_int_eq(anc_redirect_decode(pool, q, 0, other_key, &m, &err),
                     ANC_E_SIG_INVALID);
    ck_assert_str_eq(err->reason, "signature-invalid");
    /* a changed RelayState breaks the signature */
    tampered = apr_pstrdup(pool, q);
    memcpy(strstr(tampered, "RelayState=abc") + 11, "abd", 3);
    ck_assert_int_eq(anc_redirect_decode(pool, tampered, 0, sp_pub, &m, &err),
                     ANC_E_SIG_INVALID);
    /* a dropped RelayState too */
    relay = strstr(q, "&RelayState=abc");
    tampered = apr_pstrcat(pool, apr_pstrmemdup(pool, q, (apr_size_t)(relay - q)),
                           relay + strlen("&RelayState=abc"), NULL);
    ck_assert_int_eq(anc_redirect_decode(pool, tampered, 0, sp_pub, &m, &err),
                     ANC_E_SIG_INVALID);
    /* without a key the unsigned parts are still decoded */
    ck_assert_int_eq(anc_redirect_decode(pool, tampered, 0, NULL, &m, &err), ANC_OK);

    /* parameters in another order: the signed octets are rebuilt in the
     * order the binding fixes, from the raw received values */
    req = apr_pstrndup(pool, q, (apr_size_t)(strchr(q, '&') - q));
    relay = apr_pstrndup(
        pool, strstr(q, "RelayState="),
        (apr_size_t)(strchr(strstr(q, "RelayState="), '&') - strstr(q, "RelayState=")));
    sigalg = apr_pstrndup(
        pool, strstr(q, "SigAlg="),
        (apr_size_t)(strchr(strstr(q, "SigAlg="), '&') - strstr(q, "SigAlg=")));
    sig = strstr(q, "Signature=");
    reordered =
        apr_pstrcat(pool, "foo=bar&", sig, "&", relay, "&", sigalg, "&", req, NULL);
    ck_assert_int_eq(anc_redirect_decode(pool, reordered, 0, sp_pub, &m, &err), ANC_OK);

    /* unsigned with a key: missing */
    ck_assert_int_eq(
        anc_redirect_encode(pool, "https://idp/sso", xml, "abc", NULL, NULL, &url, &err),
        ANC_OK);
    ck_assert_int_eq(anc_redirect_decode(pool, query_of(url), 0, sp_pub, &m, &err),
                     ANC_E_SIG_MISSING);
    /* SHA-1 is not on the allow-list */
    ck_assert_int_eq(
        anc_redirect_decode(pool,
                            apr_pstrcat(pool, query_of(url),
                                        "&SigAlg=http%3A%2F%2Fwww.w3.org%2F2000%2F09%2F"
                                        "xmldsig%23rsa-sha1&Signature=AAAA",
                                        NULL),
                            0, sp_pub, &m, &err),
        ANC_E_SIG_ALGORITHM);
    /* encode refuses an unknown algorithm */
    ck_assert_int_eq(anc_redirect_encode(pool, "https://idp/sso", xml, NULL, sp_key,
                                         "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
                                         &url, &err),
                     ANC_E_CONFIG);
}
END_TEST

/* Raw DEFLATE with zlib directly (not the product's code), base64 and
 * URL-encoded into a SAMLRequest value. */
static const char *deflate_param(const char *data, apr_size_t len, const char *trailer)
{
    z_stream zs;
    uLong bound;
    unsigned char *out;
    apr_size_t n;
    char *b64;

    memset(&zs, 0, sizeof(zs));
    ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    bound = deflateBound(&zs, len) + 16;
    out = apr_palloc(pool, bound);
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)bound;
    ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    n = zs.total_out;
    deflateEnd(&zs);
    if (trailer != NULL) {
        memcpy(out + n, trailer, strlen(trailer));
        n += strlen(trailer);
    }
    b64 = apr_palloc(pool, (apr_size_t)apr_base64_encode_len((int)n));
    apr_base64_encode_binary(b64, out, (int)n);
    return anc_url_encode(pool, b64);
}

START_TEST(redirect_decode_strict)
{
    const char *xml = sample_xml();
    const char *good =
        apr_pstrcat(pool, "SAMLRequest=", deflate_param(xml, strlen(xml), NULL), NULL);
    anc_redirect_msg_t *m = NULL;
    anc_error_t *err = NULL;
    char *bomb;
    const apr_size_t bomb_len = 8 * 1024 * 1024;
    const char *bomb_q;
    struct {
        const char *query;
        anc_status_t want;
    } rows[] = {
        {"", ANC_E_BINDING},
        {"RelayState=x", ANC_E_BINDING},                           /* no message */
        {apr_pstrcat(pool, good, "&", good, NULL), ANC_E_BINDING}, /* duplicate */
        {apr_pstrcat(pool, good, "&RelayState=a&RelayState=b", NULL), ANC_E_BINDING},
        {apr_pstrcat(pool, good, "&SAMLResponse=AAAA", NULL), ANC_E_BINDING},
        {apr_pstrcat(pool, good, "&Signature=AAAA", NULL), ANC_E_BINDING}, /* no SigAlg */
        {apr_pstrcat(pool, good, "&&RelayState=a", NULL), ANC_E_BINDING},  /* empty */
        {apr_pstrcat(pool, good, "&novalue", NULL), ANC_E_BINDING},
        {apr_pstrcat(pool, good, "&RelayState=%zz", NULL), ANC_E_BINDING},
        {apr_pstrcat(pool, good, "&RelayState=%2", NULL), ANC_E_BINDING},
        {apr_pstrcat(pool, good, "&RelayState=a%00b", NULL), ANC_E_BINDING},
        {"SAMLRequest=not*base64", ANC_E_BINDING},
        {"SAMLRequest=QUJD", ANC_E_BINDING},     /* "ABC": not deflate */
        {"SAMLRequest=QUJ", ANC_E_BINDING},      /* bad length */
        {"SAMLRequest=Q%3D%3DQ", ANC_E_BINDING}, /* inner padding */
        {apr_pstrcat(pool, "SAMLRequest=", deflate_param(xml, strlen(xml), "junk"), NULL),
         ANC_E_BINDING},
        {apr_pstrcat(pool, "SAMLRequest=", deflate_param(xml, strlen(xml) / 2, NULL),
                     NULL),
         ANC_OK},
        {apr_pstrcat(pool, "SAMLRequest=", deflate_param("a\0b", 3, NULL), NULL),
         ANC_E_BINDING},                                      /* NUL in XML */
        {apr_pstrcat(pool, "?", good, "&x=1", NULL), ANC_OK}, /* unknown ignored */
    };
    size_t i;
    char *truncated;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        err = NULL;
        ck_assert_msg(anc_redirect_decode(pool, rows[i].query, 0, NULL, &m, &err) ==
                          rows[i].want,
                      "row %u: got %s", (unsigned)i, err ? err->reason : "ok");
    }
    /* a truncated DEFLATE stream */
    truncated = apr_pstrdup(pool, "SAMLRequest=");
    {
        z_stream zs;
        unsigned char out[4096];
        char b64[8192];

        memset(&zs, 0, sizeof(zs));
        deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
        zs.next_in = (Bytef *)(uintptr_t)xml;
        zs.avail_in = (uInt)strlen(xml);
        zs.next_out = out;
        zs.avail_out = sizeof(out);
        deflate(&zs, Z_FINISH);
        apr_base64_encode_binary(b64, out, (int)zs.total_out / 2 / 3 * 3);
        deflateEnd(&zs);
        truncated = apr_pstrcat(pool, truncated, anc_url_encode(pool, b64), NULL);
    }
    ck_assert_int_eq(anc_redirect_decode(pool, truncated, 0, NULL, &m, &err),
                     ANC_E_BINDING);

    /* deflate bomb: 8 MiB of '<' squeezes into a few KiB */
    bomb = malloc(bomb_len);
    memset(bomb, '<', bomb_len);
    bomb_q = apr_pstrcat(pool, "SAMLRequest=", deflate_param(bomb, bomb_len, NULL), NULL);
    free(bomb);
    ck_assert_uint_lt(strlen(bomb_q), 64 * 1024);
    ck_assert_int_eq(anc_redirect_decode(pool, bomb_q, 65536, NULL, &m, &err),
                     ANC_E_TOO_LARGE);
    ck_assert_str_eq(err->reason, "too-large");
    ck_assert_int_eq(anc_redirect_decode(pool, bomb_q, 0, NULL, &m, &err),
                     ANC_E_TOO_LARGE);
    /* the cap is exact: xml_len == max passes, max - 1 does not */
    ck_assert_int_eq(anc_redirect_decode(pool, good, strlen(xml), NULL, &m, &err),
                     ANC_OK);
    ck_assert_int_eq(anc_redirect_decode(pool, good, strlen(xml) - 1, NULL, &m, &err),
                     ANC_E_TOO_LARGE);
    /* a bare value without a name is malformed */
    ck_assert_int_eq(
        anc_redirect_decode(pool, good + strlen("SAMLRequest="), 0, NULL, &m, &err),
        ANC_E_BINDING);
    /* SAMLResponse is accepted as the message too */
    ck_assert_int_eq(
        anc_redirect_decode(
            pool, apr_pstrcat(pool, "SAMLResponse=", good + strlen("SAMLRequest="), NULL),
            0, NULL, &m, &err),
        ANC_OK);
    ck_assert_str_eq(m->param, "SAMLResponse");
}
END_TEST

/* ---- HTTP-POST ---------------------------------------------------------- */

START_TEST(post_form_signed_verified_by_xmlsec1)
{
    anc_authnreq_t r = sample_request();
    const char *xml = NULL, *html = NULL, *facts, *signed_xml;
    anc_error_t *err = NULL;
    xmlDocPtr doc;
    xmlNodePtr root, n;
    char *tampered;

    r.destination = "https://idp.example.org/sso?a=1&b=\"2\"";
    ck_assert_int_eq(anc_authnreq_xml(pool, &r, &xml, &err), ANC_OK);
    ck_assert_int_eq(anc_post_form(pool, r.destination, xml, "rs<\"'&>", sp_key,
                                   ANC_SIG_RSA_SHA256, &html, &err),
                     ANC_OK);
    ck_assert_ptr_null(strstr(html, "rs<\"")); /* escaped */
    write_file(path("form.html"), html, strlen(html));
    facts = capture(
        apr_psprintf(pool, PYTHON " %s post %s %s", checker, path("form.html"), tmpdir));
    ck_assert_str_eq(facts, apr_pstrcat(pool, "action=", r.destination,
                                        "\nrelaystate=rs<\"'&>\nnoscript-submit=1\n"
                                        "onload=document.forms[0].submit()\n",
                                        NULL));

    /* xmlsec1 verifies with the certificate given on its command line */
    ck_assert_int_eq(run(apr_psprintf(pool,
                                      "xmlsec1 --verify --pubkey-cert-pem %s/cert.pem "
                                      "--enabled-key-data key-name "
                                      "--id-attr:ID urn:oasis:names:tc:SAML:2.0:"
                                      "protocol:AuthnRequest %s/request.xml "
                                      ">%s/xmlsec.out 2>&1",
                                      tmpdir, tmpdir, tmpdir)),
                     0);
    /* and rejects it with another key */
    ck_assert_int_ne(run(apr_psprintf(pool,
                                      "xmlsec1 --verify --pubkey-cert-pem %s/other.pem "
                                      "--enabled-key-data key-name "
                                      "--id-attr:ID urn:oasis:names:tc:SAML:2.0:"
                                      "protocol:AuthnRequest %s/request.xml "
                                      ">%s/xmlsec.out 2>&1",
                                      tmpdir, tmpdir, tmpdir)),
                     0);
    /* the signed request still matches the schema (Signature after Issuer) */
    ck_assert_msg(schema_valid(path("request.xml")) == 0, "schema: %s",
                  read_file(path("xmllint.err"), NULL));

    signed_xml = read_file(path("request.xml"), NULL);
    doc = xmlReadMemory(signed_xml, (int)strlen(signed_xml), NULL, NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(doc);
    root = xmlDocGetRootElement(doc);
    n = next_elem(root->children);
    ck_assert_str_eq((const char *)n->name, "Issuer");
    n = next_elem(n->next);
    ck_assert_str_eq((const char *)n->name, "Signature");
    xmlFreeDoc(doc);
    ck_assert_ptr_nonnull(
        strstr(signed_xml, apr_pstrcat(pool, "URI=\"#", r.id, "\"", NULL)));
    ck_assert_ptr_nonnull(strstr(signed_xml, "http://www.w3.org/2001/10/xml-exc-c14n#"));
    ck_assert_ptr_nonnull(
        strstr(signed_xml, "http://www.w3.org/2000/09/xmldsig#enveloped-signature"));
    ck_assert_ptr_nonnull(strstr(signed_xml, "<ds:X509Certificate>"));

    /* a changed class breaks the signature for the independent verifier */
    tampered = apr_pstrdup(pool, signed_xml);
    memcpy(strstr(tampered, "refeds.org/profile/mfa"), "refeds.org/profile/sfa", 22);
    write_file(path("request.xml"), tampered, strlen(tampered));
    ck_assert_int_ne(run(apr_psprintf(pool,
                                      "xmlsec1 --verify --pubkey-cert-pem %s/cert.pem "
                                      "--enabled-key-data key-name "
                                      "--id-attr:ID urn:oasis:names:tc:SAML:2.0:"
                                      "protocol:AuthnRequest %s/request.xml "
                                      ">%s/xmlsec.out 2>&1",
                                      tmpdir, tmpdir, tmpdir)),
                     0);
}
END_TEST

START_TEST(post_form_unsigned_and_escaping)
{
    const char *xml = sample_xml(), *html = NULL, *facts;
    anc_error_t *err = NULL;

    ck_assert_int_eq(
        anc_post_form(pool, "https://idp/sso", xml, NULL, NULL, NULL, &html, &err),
        ANC_OK);
    ck_assert_ptr_null(strstr(html, "RelayState"));
    write_file(path("form.html"), html, strlen(html));
    facts = capture(
        apr_psprintf(pool, PYTHON " %s post %s %s", checker, path("form.html"), tmpdir));
    ck_assert_ptr_nonnull(strstr(facts, "relaystate=<absent>\n"));
    ck_assert_str_eq(read_file(path("request.xml"), NULL), xml);
    ck_assert_int_eq(anc_post_form(pool, "https://idp/sso", xml,
                                   "123456789012345678901234567890123456789012345678901"
                                   "234567890123456789012345678901",
                                   NULL, NULL, &html, &err),
                     ANC_E_CONFIG);
    ck_assert_int_eq(anc_post_form(pool, "https://idp/sso", xml, NULL, sp_key,
                                   "urn:bogus", &html, &err),
                     ANC_E_CONFIG);

    ck_assert_str_eq(anc_html_escape(pool, "a&b<c>d\"e'f"),
                     "a&amp;b&lt;c&gt;d&quot;e&#39;f");
    ck_assert_str_eq(anc_html_escape(pool, ""), "");
    ck_assert_str_eq(anc_url_encode(pool, "AZaz09-._~ /?#&=+%\xc3\xa9"),
                     "AZaz09-._~%20%2F%3F%23%26%3D%2B%25%C3%A9");
    ck_assert_str_eq(anc_url_encode(pool, ""), "");
}
END_TEST

static Suite *authnreq_suite(void)
{
    Suite *s = suite_create("authnreq");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, xml_matches_schema_and_content);
    tcase_add_test(tc, xml_without_context_and_errors);
    tcase_add_test(tc, redirect_unsigned_round_trip);
    tcase_add_test(tc, redirect_signature_verified_by_openssl);
    tcase_add_test(tc, redirect_decode_signature_checks);
    tcase_add_test(tc, redirect_decode_strict);
    tcase_add_test(tc, post_form_signed_verified_by_xmlsec1);
    tcase_add_test(tc, post_form_unsigned_and_escaping);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

static int make_fixtures(void)
{
    const char *d = tmpdir;
    FILE *f;
    char cmd[2048];

    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/key.pem -out "
             "%s/cert.pem -subj /CN=sp.example.org -days 2 >/dev/null 2>&1 && "
             "openssl pkey -in %s/key.pem -pubout -out %s/pub.pem 2>/dev/null && "
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/otherkey.pem -out "
             "%s/other.pem -subj /CN=other -days 2 >/dev/null 2>&1",
             d, d, d, d, d, d);
    if (run(cmd) != 0) {
        return -1;
    }
    /* xmllint resolves the schemas' http:// imports to the local copies */
    snprintf(cmd, sizeof(cmd), "%s/catalog.xml", d);
    f = fopen(cmd, "w");
    if (f == NULL) {
        return -1;
    }
    fprintf(f, "<?xml version=\"1.0\"?>\n"
               "<catalog xmlns=\"urn:oasis:names:tc:entity:xmlns:xml:catalog\">\n"
               "<system systemId=\"http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/"
               "xmldsig-core-schema.xsd\" uri=\"file://" SCHEMA_DIR
               "/xmldsig-core-schema.xsd\"/>\n"
               "<uri name=\"http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/"
               "xmldsig-core-schema.xsd\" uri=\"file://" SCHEMA_DIR
               "/xmldsig-core-schema.xsd\"/>\n"
               "<system systemId=\"http://www.w3.org/TR/2002/REC-xmlenc-core-20021210/"
               "xenc-schema.xsd\" uri=\"file://" SCHEMA_DIR "/xenc-schema.xsd\"/>\n"
               "<uri name=\"http://www.w3.org/TR/2002/REC-xmlenc-core-20021210/"
               "xenc-schema.xsd\" uri=\"file://" SCHEMA_DIR "/xenc-schema.xsd\"/>\n"
               "</catalog>\n");
    fclose(f);
    return 0;
}

static apr_status_t remove_tmpdir(void *unused)
{
    char cmd[512];

    (void)unused;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return run(cmd) == 0 ? APR_SUCCESS : APR_EGENERAL;
}

int main(void)
{
    SRunner *sr;
    anc_error_t *err = NULL;
    const char *here = __FILE__;
    const char *slash = strrchr(here, '/');
    int failed;

    apr_initialize();
    apr_pool_create(&gpool, NULL);
    if (anc_lib_init(gpool, &err) != ANC_OK) {
        fprintf(stderr, "anc_lib_init: %s\n", err->detail);
        return EXIT_FAILURE;
    }
    checker = getenv("ANC_AUTHNREQ_CHECKER");
    if (checker == NULL) {
        checker = slash
                      ? apr_pstrcat(gpool,
                                    apr_pstrndup(gpool, here, (apr_size_t)(slash - here)),
                                    "/authnreq_check.py", NULL)
                      : "authnreq_check.py";
    }
    snprintf(tmpdir, sizeof(tmpdir), "%s/anc-authnreq-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(tmpdir) == NULL || make_fixtures() != 0) {
        fprintf(stderr, "cannot make test keys in %s\n", tmpdir);
        return EXIT_FAILURE;
    }
    apr_pool_cleanup_register(gpool, NULL, remove_tmpdir, apr_pool_cleanup_null);
    sr = srunner_create(authnreq_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_pool_destroy(gpool);
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
