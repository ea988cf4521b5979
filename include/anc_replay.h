/*
 * anc_replay.h - the replay cache interface (assertion IDs seen once).
 *
 * check_and_insert must atomically (as far as its store allows) record id
 * until `expires` and answer ANC_E_REPLAY when the id is already recorded,
 * ANC_E_CACHE when the store cannot answer (the verifier then rejects: fail
 * closed). The module implements it over ap_socache; an in-memory one lives
 * here for the CLI and the tests.
 */
#ifndef ANC_REPLAY_H
#define ANC_REPLAY_H

#include <apr_pools.h>
#include <apr_time.h>
#include "anc_error.h"

typedef struct anc_replay_cache_t {
    anc_status_t (*check_and_insert)(void *ctx, const char *id, apr_time_t expires,
                                     apr_time_t now, apr_pool_t *scratch,
                                     anc_error_t **err);
    void *ctx;
} anc_replay_cache_t;

/* An in-memory replay cache in pool p (not shared between processes; not
 * thread safe: one per thread). Expired entries are purged on insert. */
anc_replay_cache_t *anc_replay_memory_create(apr_pool_t *p);

#endif
