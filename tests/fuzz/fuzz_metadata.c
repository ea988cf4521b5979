/*
 * fuzz_metadata.c - libFuzzer target for anc_trust_load_memory().
 *
 * Metadata is configuration, not attacker input, but it is often fetched
 * from a federation feed; a malformed feed must fail the config check, not
 * crash httpd at start-up. Each input goes into a fresh trust store.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include "fuzz_common.h"
#include "anc_metadata.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static anc_key_t *fed_key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *cert = getenv("ANC_FUZZ_FED_CERT");
    anc_error_t *err = NULL;

    (void)argc;
    (void)argv;
    fuzz_init_library();
    if (cert != NULL &&
        anc_key_load_cert(fuzz_global_pool, cert, &fed_key, &err) != ANC_OK)
        fuzz_die("ANC_FUZZ_FED_CERT", err);
    fuzz_init_done();
    return 0;
}

/* The signed-source path: a source that loads holds only IdPs that are
 * in force and pass the filter, and merging it with itself keeps each
 * entityID once. */
static void signed_source(apr_pool_t *p, const uint8_t *data, size_t size)
{
    anc_trust_t *trust = anc_trust_create(p);
    apr_array_header_t *attrs = apr_array_make(p, 1, sizeof(anc_md_attr_t));
    anc_md_attr_t *a = apr_array_push(attrs);
    anc_md_options_t o = {0};
    anc_md_info_t *info = NULL;
    anc_error_t *err = NULL;
    const anc_trust_t *parts[2];
    apr_array_header_t *dups = NULL;
    int i;

    a->name = "urn:oasis:names:tc:SAML:attribute:assurance-certification";
    a->value = "https://refeds.org/sirtfi";
    o.name = "fuzz";
    o.verify_key = fed_key;
    o.max_validity = apr_time_from_sec(30 * 86400);
    o.entity_attrs = (size > 0 && (data[0] & 1)) ? attrs : NULL;
    if (anc_trust_add_source(trust, (const char *)data, size, &o, &info, &err) !=
        ANC_OK) {
        if (err == NULL || info == NULL || anc_trust_count(trust) != 0)
            abort();
        return;
    }
    if (info->idps != anc_trust_count(trust) || info->idps < 1)
        abort();
    for (i = 0; i < info->skipped->nelts; i++) {
        if (APR_ARRAY_IDX(info->skipped, i, anc_md_skip_t).entity_id == NULL)
            abort();
    }
    parts[0] = trust;
    parts[1] = trust;
    if (anc_trust_count(anc_trust_merge(p, parts, 2, &dups)) != info->idps ||
        dups == NULL || dups->nelts != info->idps)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    anc_trust_t *trust;
    anc_error_t *err = NULL;
    anc_status_t rc;

    if (apr_pool_create(&p, fuzz_global_pool) != APR_SUCCESS)
        abort();
    trust = anc_trust_create(p);
    rc = anc_trust_load_memory(trust, (const char *)data, size, &err);
    if (rc == ANC_OK) {
        /* A store that loaded must be usable: every IdP has an entityID
         * and at least one signing key, as the header promises. */
        const apr_array_header_t *idps = anc_trust_idps(trust);
        int i;
        for (i = 0; idps != NULL && i < idps->nelts; i++) {
            const anc_idp_t *idp = APR_ARRAY_IDX(idps, i, const anc_idp_t *);
            if (idp->entity_id == NULL || idp->signing_keys == NULL ||
                idp->signing_keys->nelts < 1)
                abort();
            if (anc_trust_find(trust, idp->entity_id) == NULL)
                abort();
            (void)anc_idp_sso_location(idp, ANC_BINDING_REDIRECT);
        }
    } else if (err == NULL) {
        abort();
    }
    signed_source(p, data, size);
    apr_pool_destroy(p);
    return 0;
}
