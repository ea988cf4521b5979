/*
 * fuzz_common.h - process set-up shared by the libFuzzer targets.
 *
 * Every target initialises APR and the core library once (libFuzzer calls
 * LLVMFuzzerInitialize before the first input) and then works in a fresh
 * pool per input, destroyed afterwards, so LeakSanitizer sees anything the
 * core forgets to hang on a pool. The fixture paths come from the
 * environment (fuzz.mk sets them from the samlforge fixture directory) so the
 * same binaries also replay regression inputs by hand.
 */
#ifndef ANC_FUZZ_COMMON_H
#define ANC_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <sanitizer/lsan_interface.h>
#include <apr_general.h>
#include <apr_pools.h>
#include "anc_error.h"
#include "anc_init.h"

static apr_pool_t *fuzz_global_pool;

/* Aborts with a message: a target that cannot load its fixtures would
 * otherwise fuzz nothing and still "pass". */
static inline void fuzz_die(const char *what, const anc_error_t *err)
{
    fprintf(stderr, "fuzz init: %s%s%s\n", what, err ? ": " : "",
            err && err->detail ? err->detail : (err ? err->reason : ""));
    abort();
}

/* Start-up objects (library state, trust store, keys) live for the whole
 * run in fuzz_global_pool. APR's allocator takes its blocks with mmap on
 * Debian, memory LeakSanitizer does not scan, so those objects would look
 * leaked at the first per-input leak check. They are allocated with leak
 * tracking off (fuzz_init_library to fuzz_init_done); everything an input
 * allocates is still tracked. */
static inline void fuzz_init_library(void)
{
    anc_error_t *err = NULL;

    __lsan_disable();
    if (apr_initialize() != APR_SUCCESS)
        fuzz_die("apr_initialize failed", NULL);
    if (apr_pool_create(&fuzz_global_pool, NULL) != APR_SUCCESS)
        fuzz_die("apr_pool_create failed", NULL);
    if (anc_lib_init(fuzz_global_pool, &err) != ANC_OK)
        fuzz_die("anc_lib_init failed", err);
}

static inline void fuzz_init_done(void)
{
    __lsan_enable();
}

/* A required environment variable (a fixture path or value). */
static inline const char *fuzz_env(const char *name)
{
    const char *v = getenv(name);

    if (v == NULL || *v == '\0') {
        fprintf(stderr, "fuzz init: set %s (tests/fuzz/fuzz.mk sets it from the "
                        "samlforge fixtures)\n", name);
        abort();
    }
    return v;
}

#endif
