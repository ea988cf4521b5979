/*
 * mkseed_session.c - writes seed inputs for fuzz_session: sessions and
 * request states encoded by the core's own encoder, prefixed with the
 * selector byte fuzz_session expects (0 = session, 1 = request state).
 *
 * Usage: mkseed_session OUTDIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "anc_error.h"
#include "anc_init.h"
#include "anc_session.h"

static void write_seed(const char *dir, const char *name, unsigned char selector,
                       const char *buf, apr_size_t len)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || fputc(selector, f) == EOF || fwrite(buf, 1, len, f) != len ||
        fclose(f) != 0) {
        fprintf(stderr, "mkseed_session: cannot write %s\n", path);
        exit(1);
    }
}

static void die(const char *what, const anc_error_t *err)
{
    fprintf(stderr, "mkseed_session: %s: %s\n", what, err ? err->reason : "?");
    exit(1);
}

static apr_array_header_t *strings(apr_pool_t *p, int n, const char *const *v)
{
    apr_array_header_t *a = apr_array_make(p, n > 0 ? n : 1, sizeof(const char *));
    int i;

    for (i = 0; i < n; i++)
        APR_ARRAY_PUSH(a, const char *) = v[i];
    return a;
}

int main(int argc, char **argv)
{
    static const char *const classes[] = {
        "https://refeds.org/profile/mfa",
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
        "weird value with spaces\tand\ttabs and \xc3\xa9 utf-8"};
    static const char *const values[] = {"alice@example.org", "", "a\nb|c:d;e"};
    apr_pool_t *p;
    anc_error_t *err = NULL;
    anc_session_t s;
    anc_request_state_t st;
    anc_attribute_t attr;
    const char *buf;
    apr_size_t len;
    int variant, i;

    if (argc != 2) {
        fprintf(stderr, "usage: mkseed_session OUTDIR\n");
        return 2;
    }
    apr_initialize();
    apr_pool_create(&p, NULL);
    if (anc_lib_init(p, &err) != ANC_OK)
        die("anc_lib_init", err);

    for (variant = 0; variant < 3; variant++) {
        char name[64];

        memset(&s, 0, sizeof(s));
        s.id = "0123456789abcdef0123456789abcdef";
        s.idp = "https://idp.example.org/idp";
        s.name_id.value = variant == 2 ? "x" : "alice";
        s.name_id.format =
            variant ? "urn:oasis:names:tc:SAML:2.0:nameid-format:transient" : NULL;
        s.name_id.name_qualifier = variant == 1 ? "https://idp.example.org/idp" : NULL;
        s.classes = strings(p, variant + 1, classes);
        if (variant < 2) {
            /* a caller that knows one instant and index */
            s.authn_instant = apr_time_from_sec(1790000000 + variant);
            s.session_index = variant == 0 ? NULL : "_sessidx";
        } else {
            /* several statements (one without a class), several indexes */
            static const char *const indexes[] = {"_s1", "", "_s3;i2;"};
            anc_class_instant_t *ci;

            s.statements = apr_array_make(p, 3, sizeof(anc_class_instant_t));
            for (i = 0; i < 3; i++) {
                ci = apr_array_push(s.statements);
                ci->class_ref = i == 1 ? NULL : classes[i];
                ci->instant = apr_time_from_sec(1790000000 - 100000 * i);
            }
            s.session_indexes = strings(p, 3, indexes);
        }
        s.created = apr_time_from_sec(1790000000);
        s.expires = apr_time_from_sec(1790028800);
        s.attributes = apr_array_make(p, 1, sizeof(anc_attribute_t));
        if (variant > 0) {
            memset(&attr, 0, sizeof(attr));
            attr.name = "urn:oid:0.9.2342.19200300.100.1.3";
            attr.friendly_name = variant == 2 ? "mail" : NULL;
            attr.name_format = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri";
            attr.values = strings(p, variant + 1, values);
            APR_ARRAY_PUSH(s.attributes, anc_attribute_t) = attr;
        }
        if (anc_session_encode(p, &s, &buf, &len, &err) != ANC_OK)
            die("anc_session_encode", err);
        snprintf(name, sizeof(name), "session-%d", variant);
        write_seed(argv[1], name, 0, buf, len);

        memset(&st, 0, sizeof(st));
        st.request_id = "_0123456789abcdef0123456789abcdef";
        st.target = variant == 2 ? "/a?b=c&d=%20e" : "/admin/";
        st.idp = "https://idp.example.org/idp";
        st.browser_binding = "fedcba9876543210fedcba9876543210";
        st.has_requested_context = variant > 0;
        st.comparison = (anc_comparison_t)variant;
        st.requested_classes = strings(p, variant, classes);
        st.force_authn = variant == 1;
        st.max_age = variant == 2 ? 300 : 0;
        st.is_retry = variant == 2;
        st.created = apr_time_from_sec(1790000000);
        st.expires = apr_time_from_sec(1790000600);
        if (anc_request_state_encode(p, &st, &buf, &len, &err) != ANC_OK)
            die("anc_request_state_encode", err);
        snprintf(name, sizeof(name), "state-%d", variant);
        write_seed(argv[1], name, 1, buf, len);
    }
    apr_pool_destroy(p);
    apr_terminate();
    return 0;
}
