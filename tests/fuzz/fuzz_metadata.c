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

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init_library();
    fuzz_init_done();
    return 0;
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
    apr_pool_destroy(p);
    return 0;
}
