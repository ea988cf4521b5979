/*
 * test_logout.c - Single Logout messages (anc_logout.h).
 *
 * Incoming: every message is forged by tests/lib/samlforge.py through
 * tests/unit/logout_check.py (signed with python3-xmlsec and
 * python3-cryptography), one line per rule, and must be refused for that
 * rule's reason (or accepted). Outgoing: what the C code builds is checked
 * by xmllint against the OASIS schema and taken apart (inflated, its query
 * signature verified with the SP certificate) by Python, not by the C
 * decoder.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "anc_authnreq.h"
#include "anc_logout.h"
#include "support_fixtures.h"
#include "support_runner.h"

#define PYTHON "/usr/bin/python3"
#define SCHEMA_DIR "/usr/lib/python3/dist-packages/saml2/data/schemas"
#define SLO_URL "https://sp.example.org/saml/slo"
#define SP_ID "https://sp.example.org/sp"
#define IDP_ID "https://idp.example.org/idp"

static apr_pool_t *pool;
static char tmpdir[256];

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const char *checker(void)
{
    const char *here = __FILE__;
    const char *slash = strrchr(here, '/');

    return slash ? apr_pstrcat(pool, apr_pstrndup(pool, here, (apr_size_t)(slash - here)),
                               "/logout_check.py", NULL)
                 : "logout_check.py";
}

static int run(const char *cmd)
{
    int rc = system(cmd);

    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *slurp(const char *file)
{
    FILE *f = fopen(file, "rb");
    char *buf;
    long n;

    ck_assert_msg(f != NULL, "cannot open %s", file);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = apr_palloc(pool, (apr_size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static const char *tpath(const char *name)
{
    return apr_pstrcat(pool, tmpdir, "/", name, NULL);
}

static anc_status_t lookup_pending(void *ctx, const char *irt, const char *issuer,
                                   apr_pool_t *scratch, anc_error_t **err)
{
    (void)ctx;
    if (strcmp(irt, "_pending") == 0 && strcmp(issuer, IDP_ID) == 0) {
        return ANC_OK;
    }
    return anc_error_set(scratch, err, ANC_E_IN_RESPONSE_TO, "not pending");
}

static anc_logout_cfg_t cfg_for(apr_pool_t *p)
{
    anc_logout_cfg_t cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.sp_entity_id = SP_ID;
    cfg.slo_url = SLO_URL;
    cfg.trust = fx_trust(p);
    cfg.clock_skew = 180;
    return cfg;
}

/* Every forged message, in order, through one replay cache. */
START_TEST(test_incoming_cases)
{
    const char *now_text;
    apr_time_t now = apr_time_now();
    anc_logout_cfg_t cfg = cfg_for(pool);
    anc_replay_cache_t *replay = anc_replay_memory_create(pool);
    char *tsv, *line, *save = NULL;
    int n = 0;

    now_text = anc_time_format(pool, now);
    ck_assert_int_eq(run(apr_psprintf(pool, PYTHON " %s cases %s %s %s", checker(),
                                      fx_dir(), tmpdir, now_text)),
                     0);
    tsv = slurp(tpath("cases.tsv"));
    for (line = apr_strtok(tsv, "\n", &save); line;
         line = apr_strtok(NULL, "\n", &save)) {
        char *f[6], *fs = NULL;
        anc_logout_input_t in;
        anc_logout_msg_t *m = NULL;
        anc_error_t *err = NULL;
        anc_status_t rc;
        const char *payload;
        int i;

        f[0] = apr_strtok(line, "\t", &fs);
        for (i = 1; i < 6; i++) {
            f[i] = apr_strtok(NULL, "\t", &fs);
            ck_assert_ptr_nonnull(f[i]);
        }
        payload = slurp(tpath(f[3]));
        memset(&in, 0, sizeof(in));
        in.now = now;
        in.replay = replay;
        in.request_lookup = lookup_pending;
        if (!strcmp(f[1], "redirect")) {
            in.binding = ANC_LOGOUT_BINDING_REDIRECT;
            in.query = payload;
        } else {
            in.binding = ANC_LOGOUT_BINDING_POST;
            in.param = f[2];
            in.value = payload;
            in.value_len = strlen(payload);
            in.relay_state = f[4];
        }
        rc = anc_logout_verify(pool, &cfg, &in, &m, &err);
        if (!strcmp(f[5], "ok")) {
            ck_assert_msg(rc == ANC_OK, "%s: refused %s (%s)", f[0], anc_reason(rc),
                          err && err->detail ? err->detail : "");
            ck_assert_ptr_nonnull(m);
            ck_assert_str_eq(m->issuer, IDP_ID);
            ck_assert_str_eq(m->relay_state, f[4]);
        } else {
            ck_assert_msg(rc != ANC_OK && !strcmp(anc_reason(rc), f[5]),
                          "%s: expected %s, got %s (%s)", f[0], f[5], anc_reason(rc),
                          err && err->detail ? err->detail : "");
            ck_assert_ptr_null(m);
        }
        if (!strcmp(f[0], "redirect-ok")) {
            ck_assert_int_eq(m->is_request, 1);
            ck_assert_str_eq(m->name_id.value, "alice@example.org");
            ck_assert_str_eq(m->name_id.format,
                             "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent");
            ck_assert_str_eq(m->name_id.sp_name_qualifier, SP_ID);
            ck_assert_int_eq(m->session_indexes->nelts, 2);
            ck_assert_str_eq(APR_ARRAY_IDX(m->session_indexes, 1, const char *), "s2");
        }
        if (!strcmp(f[0], "response-post-partial")) {
            ck_assert_int_eq(m->is_request, 0);
            ck_assert_str_eq(m->status_code, ANC_STATUS_SUCCESS);
            ck_assert_str_eq(m->status_code2, ANC_STATUS_PARTIAL_LOGOUT);
            ck_assert_str_eq(m->status_message, "one SP");
        }
        n++;
    }
    ck_assert_int_ge(n, 30);
}
END_TEST

static anc_key_t *sp_key(void)
{
    anc_key_t *k = NULL;
    anc_error_t *err = NULL;

    ck_assert_int_eq(anc_key_load_private(pool, fx_path(pool, "keys/sp.key"),
                                          fx_path(pool, "keys/sp.crt"), &k, &err),
                     ANC_OK);
    return k;
}

static char *capture(const char *cmd)
{
    ck_assert_msg(run(apr_pstrcat(pool, cmd, " > ", tpath("out.txt"), NULL)) == 0,
                  "failed: %s", cmd);
    return slurp(tpath("out.txt"));
}

static int schema_valid(const char *file)
{
    return run(apr_psprintf(pool,
                            "XML_CATALOG_FILES=%s/catalog.xml xmllint --nonet --noout "
                            "--schema " SCHEMA_DIR "/saml-schema-protocol-2.0.xsd %s "
                            "2>%s/xmllint.err",
                            tmpdir, file, tmpdir));
}

/* The SP's LogoutRequest: schema-valid, every SessionIndex, the NameID with
 * its qualifiers and Format, signed over the exact query octets. */
START_TEST(test_build_request_redirect)
{
    anc_logout_request_t req;
    apr_array_header_t *idx = apr_array_make(pool, 2, sizeof(const char *));
    const char *xml = NULL, *url = NULL, *out;
    anc_error_t *err = NULL;

    APR_ARRAY_PUSH(idx, const char *) = "idx-1";
    APR_ARRAY_PUSH(idx, const char *) = "idx <2>";
    memset(&req, 0, sizeof(req));
    req.id = "_0123456789abcdef0123456789abcdef";
    req.issue_instant = apr_time_now();
    req.destination = "https://idp.example.org/slo";
    req.issuer = SP_ID;
    req.name_id.value = "alice & <co>";
    req.name_id.format = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
    req.name_id.name_qualifier = IDP_ID;
    req.name_id.sp_name_qualifier = SP_ID;
    req.session_indexes = idx;
    ck_assert_int_eq(anc_logout_request_xml(pool, &req, &xml, &err), ANC_OK);
    ck_assert_int_eq(anc_redirect_encode_param(pool, "SAMLRequest", req.destination, xml,
                                               "rs", sp_key(), NULL, &url, &err),
                     ANC_OK);
    out = capture(apr_psprintf(pool, PYTHON " %s redirect '%s' %s %s", checker(), url,
                               fx_path(pool, "keys/sp.crt"), tmpdir));
    ck_assert_msg(strstr(out, "param=SAMLRequest\n") && strstr(out, "relay=rs\n") &&
                      strstr(out, "sig=ok\n") && strstr(out, "root=LogoutRequest\n") &&
                      strstr(out, "nameid=alice & <co>\n") &&
                      strstr(out, "namequalifier=" IDP_ID "\n") &&
                      strstr(out, "spnamequalifier=" SP_ID "\n") &&
                      strstr(out, "format=urn:oasis:names:tc:SAML:2.0:nameid-format:"
                                  "persistent\n") &&
                      strstr(out, "sessionindex=idx-1\nsessionindex=idx <2>\n") &&
                      strstr(out, "destination=https://idp.example.org/slo\n") &&
                      strstr(out, "issuer=" SP_ID "\n"),
                  "%s", out);
    ck_assert_msg(schema_valid(tpath("inflated.xml")) == 0, "%s",
                  slurp(tpath("xmllint.err")));
    /* a required part missing is a configuration error, not a message */
    req.name_id.value = NULL;
    ck_assert_int_eq(anc_logout_request_xml(pool, &req, &xml, &err), ANC_E_CONFIG);
}
END_TEST

/* The SP's LogoutResponse: PartialLogout as a second-level code, SAMLResponse
 * as the Redirect parameter, InResponseTo echoed. */
START_TEST(test_build_response_redirect)
{
    anc_logout_response_t res;
    const char *xml = NULL, *url = NULL, *out;
    anc_error_t *err = NULL;

    memset(&res, 0, sizeof(res));
    res.id = "_fedcba9876543210fedcba9876543210";
    res.issue_instant = apr_time_now();
    res.destination = "https://idp.example.org/slo?x=1";
    res.issuer = SP_ID;
    res.in_response_to = "_idp-request";
    res.status_code = ANC_STATUS_SUCCESS;
    res.status_code2 = ANC_STATUS_PARTIAL_LOGOUT;
    res.status_message = "the session store did not confirm";
    ck_assert_int_eq(anc_logout_response_xml(pool, &res, &xml, &err), ANC_OK);
    ck_assert_int_eq(anc_redirect_encode_param(pool, "SAMLResponse", res.destination, xml,
                                               NULL, sp_key(), NULL, &url, &err),
                     ANC_OK);
    ck_assert_ptr_nonnull(strstr(url, "?x=1&SAMLResponse="));
    out = capture(apr_psprintf(pool, PYTHON " %s redirect '%s' %s %s", checker(), url,
                               fx_path(pool, "keys/sp.crt"), tmpdir));
    ck_assert_msg(strstr(out, "param=SAMLResponse\n") && strstr(out, "sig=ok\n") &&
                      strstr(out, "root=LogoutResponse\n") &&
                      strstr(out, "inresponseto=_idp-request\n") &&
                      strstr(out, "status=" ANC_STATUS_SUCCESS "\n") &&
                      strstr(out, "status2=" ANC_STATUS_PARTIAL_LOGOUT "\n"),
                  "%s", out);
    ck_assert_msg(schema_valid(tpath("inflated.xml")) == 0, "%s",
                  slurp(tpath("xmllint.err")));
    ck_assert_int_eq(anc_redirect_encode_param(pool, "Other", res.destination, xml, NULL,
                                               NULL, NULL, &url, &err),
                     ANC_E_CONFIG);
}
END_TEST

static anc_logout_msg_t *msg_for(const char *idp, const char *value, const char *format,
                                 const char *idx)
{
    anc_logout_msg_t *m = apr_pcalloc(pool, sizeof(*m));

    m->is_request = 1;
    m->issuer = idp;
    m->name_id.value = value;
    m->name_id.format = format;
    m->session_indexes = apr_array_make(pool, 1, sizeof(const char *));
    if (idx) {
        APR_ARRAY_PUSH(m->session_indexes, const char *) = idx;
    }
    return m;
}

/* SAML core 3.7.3.2: which sessions a LogoutRequest names. */
START_TEST(test_matches)
{
    anc_session_t s;

    memset(&s, 0, sizeof(s));
    s.idp = IDP_ID;
    s.name_id.value = "alice";
    s.name_id.sp_name_qualifier = SP_ID;
    s.session_indexes = apr_array_make(pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(s.session_indexes, const char *) = "a";
    APR_ARRAY_PUSH(s.session_indexes, const char *) = "b";
    ck_assert(anc_logout_matches(msg_for(IDP_ID, "alice", NULL, NULL), &s));
    ck_assert(anc_logout_matches(msg_for(IDP_ID, "alice", NULL, "b"), &s));
    ck_assert(!anc_logout_matches(msg_for(IDP_ID, "alice", NULL, "c"), &s));
    ck_assert(!anc_logout_matches(msg_for(IDP_ID, "alicE", NULL, NULL), &s));
    ck_assert(!anc_logout_matches(msg_for("https://other/idp", "alice", NULL, NULL), &s));
    ck_assert(anc_logout_matches(
        msg_for(IDP_ID, "alice", "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
                NULL),
        &s));
    ck_assert(!anc_logout_matches(
        msg_for(IDP_ID, "alice", "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
                NULL),
        &s));
    /* the principal key separates its two parts */
    ck_assert_str_ne(anc_logout_principal_key(pool, SP_ID, "ab", "c"),
                     anc_logout_principal_key(pool, SP_ID, "a", "bc"));
    ck_assert_str_eq(anc_logout_principal_key(pool, SP_ID, IDP_ID, "alice"),
                     anc_logout_principal_key(pool, SP_ID, IDP_ID, "alice"));
    ck_assert_uint_eq(strlen(anc_logout_principal_key(pool, SP_ID, IDP_ID, "alice")), 32);
    ck_assert_str_ne(anc_logout_principal_key(pool, "https://other/sp", IDP_ID, "alice"),
                     anc_logout_principal_key(pool, SP_ID, IDP_ID, "alice"));
}
END_TEST

static Suite *logout_suite(void)
{
    Suite *s = suite_create("logout");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_incoming_cases);
    tcase_add_test(tc, test_build_request_redirect);
    tcase_add_test(tc, test_build_response_redirect);
    tcase_add_test(tc, test_matches);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    FILE *f;
    char cat[300];
    int rc;

    snprintf(tmpdir, sizeof(tmpdir), "%s/anc-logout-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        return EXIT_FAILURE;
    }
    /* xmllint resolves the schemas' http:// imports to the local copies */
    snprintf(cat, sizeof(cat), "%s/catalog.xml", tmpdir);
    f = fopen(cat, "w");
    if (f == NULL) {
        return EXIT_FAILURE;
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
    rc = anc_test_run_suite(logout_suite());
    snprintf(cat, sizeof(cat), "rm -rf '%s'", tmpdir);
    if (system(cat) != 0) {
        /* a temporary directory left behind fails nothing */
    }
    return rc;
}
