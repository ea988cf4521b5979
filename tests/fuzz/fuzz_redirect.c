/*
 * fuzz_redirect.c - libFuzzer target for anc_redirect_decode().
 *
 * The HTTP-Redirect decoder takes a raw query string from the network
 * (URL decoding, base64, raw inflate with a size cap, signature over the
 * exact octets). The first input byte picks whether a verification key is
 * given, so both the unsigned and the signed paths are explored; the rest
 * is the query string.
 *
 * Environment: ANC_FUZZ_IDP_CERT (a PEM certificate to verify with).
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"
#include "anc_authnreq.h"
#include "anc_metadata.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small enough that the zlib bomb checks are reached quickly. */
#define FUZZ_REDIRECT_MAX 65536

static anc_key_t *verify_key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    anc_error_t *err = NULL;

    (void)argc;
    (void)argv;
    fuzz_init_library();
    if (anc_key_load_cert(fuzz_global_pool, fuzz_env("ANC_FUZZ_IDP_CERT"), &verify_key,
                          &err) != ANC_OK)
        fuzz_die("loading ANC_FUZZ_IDP_CERT", err);
    fuzz_init_done();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    anc_redirect_msg_t *msg = NULL;
    anc_error_t *err = NULL;
    const anc_key_t *key;
    char *query;
    anc_status_t rc;

    if (size < 1)
        return 0;
    key = (data[0] & 1) ? verify_key : NULL;
    data++;
    size--;
    if (apr_pool_create(&p, fuzz_global_pool) != APR_SUCCESS)
        abort();
    /* Exactly sized heap copy: ASan flags any read past the terminator. */
    query = malloc(size + 1);
    if (query == NULL)
        abort();
    memcpy(query, data, size);
    query[size] = '\0';
    rc = anc_redirect_decode(p, query, FUZZ_REDIRECT_MAX, key, &msg, &err);
    if (rc == ANC_OK) {
        if (msg == NULL || msg->xml == NULL || msg->xml_len > FUZZ_REDIRECT_MAX)
            abort();
        /* A verified message must have named its algorithm. */
        if (key != NULL && msg->sig_alg == NULL)
            abort();
    } else if (err == NULL) {
        abort();
    }
    free(query);
    apr_pool_destroy(p);
    return 0;
}
