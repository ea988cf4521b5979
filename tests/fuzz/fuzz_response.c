/*
 * fuzz_response.c - libFuzzer target for anc_response_verify().
 *
 * The verifier is built once from a real trust store (the samlforge IdP
 * metadata) and SP settings, with the clock fixed at the fixtures' minting
 * time, so that seeds taken from valid signed responses travel the whole
 * path (decode, parse, signature, conditions, replay) and mutations explore
 * the branches off it. Unsolicited responses are allowed and every
 * InResponseTo is "known" so the fuzzer is not stopped at the request
 * binding. A fresh in-memory replay cache per input keeps runs independent.
 *
 * Environment (set by fuzz.mk): ANC_FUZZ_METADATA (IdP metadata file),
 * ANC_FUZZ_SP_ENTITY, ANC_FUZZ_ACS_URL, ANC_FUZZ_NOW (seconds since the
 * epoch), optional ANC_FUZZ_SP_KEY (PEM private key, enables the
 * EncryptedAssertion path).
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"
#include "anc_metadata.h"
#include "anc_replay.h"
#include "anc_keyinfo.h"
#include "anc_response.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static anc_verifier_t *verifier;
static anc_sp_config_t sp;
static apr_time_t fixed_now;
static int verbose;

/* Every InResponseTo is an outstanding request: the binding to a request
 * is policy, and refusing here would hide the code after it. */
static anc_status_t lookup_any(void *ctx, const char *in_response_to, apr_pool_t *scratch,
                               anc_error_t **err)
{
    (void)ctx;
    (void)in_response_to;
    (void)scratch;
    (void)err;
    return ANC_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    anc_error_t *err = NULL;
    anc_trust_t *trust;
    const char *key_path;

    (void)argc;
    (void)argv;
    fuzz_init_library();
    trust = anc_trust_create(fuzz_global_pool);
    if (anc_trust_load_file(trust, fuzz_env("ANC_FUZZ_METADATA"), &err) != ANC_OK)
        fuzz_die("loading ANC_FUZZ_METADATA", err);

    memset(&sp, 0, sizeof(sp));
    sp.entity_id = fuzz_env("ANC_FUZZ_SP_ENTITY");
    sp.acs_url = fuzz_env("ANC_FUZZ_ACS_URL");
    sp.allow_unsolicited = 1;
    sp.allow_sha1 = 0;
    sp.require_signed_assertion = 0;
    sp.max_response_size = 0;
    sp.clock_skew = -1;
    verbose = getenv("ANC_FUZZ_VERBOSE") != NULL;
    key_path = getenv("ANC_FUZZ_SP_KEY");
    if (key_path != NULL && *key_path != '\0') {
        anc_key_t *key = NULL;
        if (anc_key_load_private(fuzz_global_pool, key_path, NULL, &key, &err) != ANC_OK)
            fuzz_die("loading ANC_FUZZ_SP_KEY", err);
        sp.sp_key = key;
    }
    fixed_now = apr_time_from_sec(strtoll(fuzz_env("ANC_FUZZ_NOW"), NULL, 10));
    if (anc_verifier_create(fuzz_global_pool, &sp, trust, &verifier, &err) != ANC_OK)
        fuzz_die("anc_verifier_create", err);
    fuzz_init_done();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    anc_verify_input_t in;
    anc_verify_result_t *result = NULL;
    anc_status_t rc;
    char *copy;

    if (apr_pool_create(&p, fuzz_global_pool) != APR_SUCCESS)
        abort();
    /* The module hands the verifier a NUL-terminated form value; a copy
     * that ends exactly at size also lets ASan catch reads past len. */
    copy = malloc(size + 1);
    if (copy == NULL)
        abort();
    memcpy(copy, data, size);
    copy[size] = '\0';

    memset(&in, 0, sizeof(in));
    in.data = copy;
    in.len = size;
    in.now = fixed_now;
    in.request_lookup = lookup_any;
    in.replay = anc_replay_memory_create(p);
    rc = anc_response_verify(p, verifier, &in, &result);

    /* The CLI's fingerprint report reads the same untrusted input (base64,
     * XML, certificates): it may refuse, never crash. */
    {
        apr_array_header_t *fps = NULL;
        anc_error_t *kerr = NULL;

        if (anc_keyinfo_fingerprints(p, copy, size, 262144, &fps, &kerr) == ANC_OK &&
            fps == NULL)
            abort();
    }
    /* The contract: *result is always filled and agrees with the code. */
    if (result == NULL)
        abort();
    if (rc == ANC_OK && result->verdict == ANC_VERDICT_REJECT)
        abort();
    if (result->verdict == ANC_VERDICT_ACCEPT &&
        (result->assertion == NULL || result->assertion->idp == NULL))
        abort();
    if (result->verdict == ANC_VERDICT_REJECT && result->error == NULL)
        abort();
    /* ANC_FUZZ_VERBOSE=1 prints each verdict, to check by hand that valid
     * seeds are accepted under the fixed clock (else the fuzzer would only
     * ever see the rejection paths). */
    if (verbose)
        fprintf(stderr, "verdict %d %s\n", (int)result->verdict,
                result->error != NULL ? result->error->reason : "-");

    free(copy);
    apr_pool_destroy(p);
    return 0;
}
