/*
 * fuzz_logout.c - libFuzzer target for anc_logout_verify(): the Single
 * Logout decoders and parser from the network.
 *
 * Byte 0 picks the path: bit 0 clear = HTTP-Redirect (the rest is the raw
 * query string: URL decoding, base64, raw inflate with a size cap, the
 * query signature over the exact octets, then the XML); bit 0 set =
 * HTTP-POST (the rest is the form value, base64, and bit 1 names it
 * SAMLResponse instead of SAMLRequest). Every InResponseTo is pending (so
 * LogoutResponses reach the end), a fresh replay cache per input, the
 * clock fixed at the fixtures' time.
 *
 * Environment (set by run_fuzz.py): ANC_FUZZ_METADATA (IdP metadata file),
 * ANC_FUZZ_SP_ENTITY, ANC_FUZZ_NOW (seconds since the epoch); optional
 * ANC_FUZZ_VERBOSE (print each verdict, to check the seeds).
 */
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"
#include "anc_logout.h"
#include "anc_metadata.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LOGOUT_MAX 65536
/* samlforge's SP_SLO_URL: the seeds' Destination */
#define FUZZ_SLO_URL "https://sp.example.org/saml/slo"

static anc_logout_cfg_t cfg;
static apr_time_t fixed_now;
static int verbose; /* ANC_FUZZ_VERBOSE: print each verdict (seed checks) */

static anc_status_t any_pending(void *ctx, const char *irt, const char *issuer,
                                apr_pool_t *scratch, anc_error_t **err)
{
    (void)ctx;
    (void)scratch;
    (void)err;
    if (irt == NULL || issuer == NULL)
        abort();
    return ANC_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    anc_error_t *err = NULL;
    anc_trust_t *trust;

    (void)argc;
    (void)argv;
    fuzz_init_library();
    trust = anc_trust_create(fuzz_global_pool);
    if (anc_trust_load_file(trust, fuzz_env("ANC_FUZZ_METADATA"), &err) != ANC_OK)
        fuzz_die("loading ANC_FUZZ_METADATA", err);
    memset(&cfg, 0, sizeof(cfg));
    cfg.sp_entity_id = fuzz_env("ANC_FUZZ_SP_ENTITY");
    cfg.slo_url = FUZZ_SLO_URL;
    cfg.trust = trust;
    cfg.clock_skew = -1;
    cfg.max_size = FUZZ_LOGOUT_MAX;
    fixed_now = apr_time_from_sec(strtoll(fuzz_env("ANC_FUZZ_NOW"), NULL, 10));
    verbose = getenv("ANC_FUZZ_VERBOSE") != NULL;
    fuzz_init_done();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    anc_logout_input_t in;
    anc_logout_msg_t *m = NULL;
    anc_error_t *err = NULL;
    char *text;
    anc_status_t rc;
    uint8_t mode;

    if (size < 1)
        return 0;
    mode = data[0];
    data++;
    size--;
    if (apr_pool_create(&p, fuzz_global_pool) != APR_SUCCESS)
        abort();
    /* Exactly sized heap copy: ASan flags any read past the terminator. */
    text = malloc(size + 1);
    if (text == NULL)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    memset(&in, 0, sizeof(in));
    in.now = fixed_now;
    in.replay = anc_replay_memory_create(p);
    in.request_lookup = any_pending;
    if (mode & 1) {
        in.binding = ANC_LOGOUT_BINDING_POST;
        in.param = (mode & 2) ? "SAMLResponse" : "SAMLRequest";
        in.value = text;
        in.value_len = strlen(text);
        in.relay_state = "fuzz";
    } else {
        in.binding = ANC_LOGOUT_BINDING_REDIRECT;
        in.query = text;
    }
    rc = anc_logout_verify(p, &cfg, &in, &m, &err);
    if (verbose)
        fprintf(stderr, "fuzz_logout: %s %s\n", anc_reason(rc),
                err && err->detail ? err->detail : "");
    if (rc == ANC_OK) {
        /* an accepted message names its trusted IdP and is addressed to us */
        if (m == NULL || m->idp == NULL || m->issuer == NULL || m->id == NULL ||
            m->destination == NULL || strcmp(m->destination, FUZZ_SLO_URL) != 0)
            abort();
        if (m->is_request && (m->name_id.value == NULL || m->session_indexes == NULL))
            abort();
        if (!m->is_request && (m->status_code == NULL || m->in_response_to == NULL))
            abort();
    } else if (err == NULL || m != NULL) {
        abort();
    }
    free(text);
    apr_pool_destroy(p);
    return 0;
}
