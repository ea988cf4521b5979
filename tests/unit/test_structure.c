/*
 * test_structure.c - the schema check of src/anc_structure.c: the embedded
 * schemas compile, what the SAML 2.0 schemas refuse is refused, the rules
 * for the schemas' wildcards, the entity loader put back after the compile,
 * and concurrent checks against the one shared compiled schema.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "../../src/anc_structure.h"
#include "../../src/anc_xml.h"
#include "anc_init.h"
#include "support_runner.h"

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

#define NS                                                                               \
    "xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "                              \
    "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" "                              \
    "xmlns:x=\"urn:example:ext\" "                                                       \
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
#define OPEN                                                                             \
    "<samlp:Response " NS " ID=\"_r1\" Version=\"2.0\" "                                 \
    "IssueInstant=\"2026-11-23T10:00:00Z\">"
#define ISSUER "<saml:Issuer>https://idp.example.org/idp</saml:Issuer>"
#define STATUS                                                                           \
    "<samlp:Status><samlp:StatusCode "                                                   \
    "Value=\"urn:oasis:names:tc:SAML:2.0:status:Responder\"/></samlp:Status>"
#define CLOSE "</samlp:Response>"
#define STMT                                                                             \
    "<saml:AuthnStatement AuthnInstant=\"2026-11-23T10:00:00Z\"><saml:AuthnContext>"     \
    "<saml:AuthnContextClassRef>https://refeds.org/profile/mfa"                          \
    "</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"

static anc_status_t check(apr_pool_t *p, const char *xml, anc_error_t **err)
{
    xmlDocPtr doc = NULL;
    anc_status_t rv = anc_xml_parse(p, xml, strlen(xml), 0, 64, &doc, err);

    ck_assert_msg(rv == ANC_OK, "test document does not parse: %s", xml);
    return anc_structure_check(p, xmlDocGetRootElement(doc), err);
}

#define ASSERTION(attr_value)                                                            \
    "<saml:Assertion " NS " xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" ID=\"_a1\" "   \
    "Version=\"2.0\" IssueInstant=\"2026-11-23T10:00:00Z\">" ISSUER                      \
    "<saml:AttributeStatement><saml:Attribute Name=\"a\">" attr_value                    \
    "</saml:Attribute></saml:AttributeStatement></saml:Assertion>"

/* Allowed by the schema and by the wildcard rules. */
static const char *const good[] = {
    /* an Assertion on its own (as decrypted), typed values */
    ASSERTION(
        "<saml:AttributeValue xsi:type=\"xs:integer\">42</saml:AttributeValue>"
        "<saml:AttributeValue xsi:type=\"xs:anyType\"><x:E>v</x:E></saml:AttributeValue>"
        "<saml:AttributeValue xsi:nil=\"true\"/>"),
    OPEN ISSUER STATUS CLOSE,
    /* Entra ID's seven fractional digits, a zone offset; a default namespace */
    "<Response xmlns=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_r1\" Version=\"2.0\" "
    "IssueInstant=\"2026-11-23T10:00:00.1234567Z\"><Issuer "
    "xmlns=\"urn:oasis:names:tc:SAML:2.0:assertion\">i</Issuer><Status><StatusCode "
    "Value=\"urn:oasis:names:tc:SAML:2.0:status:Responder\"/></Status></Response>",
    "<samlp:Response " NS " ID=\"_r1\" Version=\"2.0\" "
    "IssueInstant=\"2026-11-23T11:00:00+01:00\">" ISSUER STATUS CLOSE,
    /* Extensions with foreign content; xsi:schemaLocation loads nothing */
    "<samlp:Response " NS " ID=\"_r1\" Version=\"2.0\" "
    "IssueInstant=\"2026-11-23T10:00:00Z\" "
    "xsi:schemaLocation=\"urn:example:ext http://127.0.0.1:9/x.xsd\">" ISSUER
    "<samlp:Extensions><x:Info>data</x:Info></samlp:Extensions>" STATUS CLOSE,
    /* StatusDetail with foreign content, a second-level code, a message */
    OPEN ISSUER
    "<samlp:Status><samlp:StatusCode "
    "Value=\"urn:oasis:names:tc:SAML:2.0:status:Responder\"><samlp:StatusCode "
    "Value=\"urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext\"/>"
    "</samlp:StatusCode><samlp:StatusMessage>no</samlp:StatusMessage>"
    "<samlp:StatusDetail><x:Why>policy</x:Why></samlp:StatusDetail>"
    "</samlp:Status>" CLOSE,
};

/* Refused: by the schema, then by the wildcard rules. */
static const char *const bad[] = {
    /* an xsi:type the schemas do not define */
    ASSERTION("<saml:AttributeValue xmlns:v=\"urn:vendor\" "
              "xsi:type=\"v:Custom\">1</saml:AttributeValue>"),
    /* a value that is not of its xsi:type */
    ASSERTION("<saml:AttributeValue xsi:type=\"xs:integer\">many</saml:AttributeValue>"),
    /* an Assertion inside an AttributeValue */
    ASSERTION("<saml:AttributeValue><saml:Assertion ID=\"_a2\" Version=\"2.0\" "
              "IssueInstant=\"2026-11-23T10:00:00Z\">" ISSUER "</saml:Assertion>"
              "</saml:AttributeValue>"),
    /* an AuthnStatement directly under the Response */
    OPEN ISSUER STATUS STMT CLOSE,
    /* Status before Issuer */
    OPEN STATUS ISSUER CLOSE,
    /* two Issuers */
    OPEN ISSUER ISSUER STATUS CLOSE,
    /* a foreign child outside Extensions */
    OPEN ISSUER "<x:Note/>" STATUS CLOSE,
    /* Issuer in a look-alike namespace */
    OPEN "<y:Issuer xmlns:y=\"urn:oasis:names:tc:SAML:2.0:assertlon\">i</y:Issuer>" STATUS
        CLOSE,
    /* an undeclared attribute */
    "<samlp:Response " NS " ID=\"_r1\" Version=\"2.0\" Extra=\"1\" "
    "IssueInstant=\"2026-11-23T10:00:00Z\">" ISSUER STATUS CLOSE,
    /* IssueInstant that is not an xs:dateTime */
    "<samlp:Response " NS
    " ID=\"_r1\" Version=\"2.0\" IssueInstant=\"yesterday\">" STATUS CLOSE,
    /* element content in StatusMessage (xs:string) */
    OPEN ISSUER "<samlp:Status><samlp:StatusCode Value=\"urn:x\"/><samlp:StatusMessage>"
                "<x:b>bold</x:b></samlp:StatusMessage></samlp:Status>" CLOSE,
    /* a look-alike in Extensions (##other admits it) */
    OPEN ISSUER
    "<samlp:Extensions><y:Assertion "
    "xmlns:y=\"urn:oasis:names:tc:SAML:2.0:assertlon\"/></samlp:Extensions>" STATUS CLOSE,
    /* a real SAML statement in Extensions */
    OPEN ISSUER "<samlp:Extensions>" STMT "</samlp:Extensions>" STATUS CLOSE,
    /* ... or below a foreign element there */
    OPEN ISSUER "<samlp:Extensions><x:Wrap>" STMT
                "</x:Wrap></samlp:Extensions>" STATUS CLOSE,
    /* a SAML statement in StatusDetail (##any) */
    OPEN ISSUER
    "<samlp:Status><samlp:StatusCode Value=\"urn:x\"/><samlp:StatusDetail>" STMT
    "</samlp:StatusDetail></samlp:Status>" CLOSE,
    /* an attribute in the protocol namespace on a foreign element */
    OPEN ISSUER
    "<samlp:Extensions><x:Info samlp:Evil=\"1\"/></samlp:Extensions>" STATUS CLOSE,
};

START_TEST(test_good)
{
    anc_error_t *err = NULL;

    ck_assert_msg(check(pool, good[_i], &err) == ANC_OK, "good[%d] refused: %s", _i,
                  err != NULL && err->detail != NULL ? err->detail : "");
}
END_TEST

START_TEST(test_bad)
{
    anc_error_t *err = NULL;

    ck_assert_msg(check(pool, bad[_i], &err) == ANC_E_XML_SCHEMA, "bad[%d] accepted", _i);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(err->detail);
}
END_TEST

/* The compile swaps in a loader that serves the embedded schemas; it must
 * be gone afterwards: the process-wide loader refuses everything again. */
START_TEST(test_loader_restored)
{
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    xmlParserInputPtr in;

    ck_assert_ptr_nonnull(ctxt);
    in = xmlLoadExternalEntity("saml-schema-protocol-2.0.xsd", NULL, ctxt);
    ck_assert_ptr_null(in);
    xmlFreeParserCtxt(ctxt);
}
END_TEST

/* Many threads, one compiled schema, alternating verdicts: every answer is
 * the one a single thread gets (httpd's event MPM checks responses in
 * several threads at once). */
#define THREADS 4
#define ROUNDS 150

static void *APR_THREAD_FUNC checker(apr_thread_t *t, void *data)
{
    int *wrong = data;
    apr_pool_t *p;
    int i;

    (void)t;
    /* its own allocator, as each httpd thread has (no shared free list) */
    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    for (i = 0; i < ROUNDS; i++) {
        apr_pool_t *sub;
        anc_error_t *err = NULL;
        xmlDocPtr doc = NULL;
        const char *xml = (i % 2) ? bad[i % (sizeof(bad) / sizeof(bad[0]))]
                                  : good[i % (sizeof(good) / sizeof(good[0]))];
        anc_status_t want = (i % 2) ? ANC_E_XML_SCHEMA : ANC_OK;

        apr_pool_create(&sub, p);
        if (anc_xml_parse(sub, xml, strlen(xml), 0, 64, &doc, &err) != ANC_OK ||
            anc_structure_check(sub, xmlDocGetRootElement(doc), &err) != want) {
            (*wrong)++;
        }
        apr_pool_destroy(sub);
    }
    apr_pool_destroy(p);
    return NULL;
}

START_TEST(test_threads)
{
    apr_thread_t *t[THREADS];
    int wrong[THREADS] = {0};
    apr_status_t rv;
    int i;

    for (i = 0; i < THREADS; i++) {
        ck_assert_int_eq(apr_thread_create(&t[i], NULL, checker, &wrong[i], pool),
                         APR_SUCCESS);
    }
    for (i = 0; i < THREADS; i++) {
        apr_thread_join(&rv, t[i]);
        ck_assert_int_eq(wrong[i], 0);
    }
}
END_TEST

static Suite *structure_suite(void)
{
    Suite *s = suite_create("structure");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_good, 0, (int)(sizeof(good) / sizeof(good[0])));
    tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, test_loader_restored);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return anc_test_run_suite(structure_suite());
}
