/*
 * anc_replay.c - the in-memory replay cache (CLI and tests).
 *
 * SAML profiles 4.1.4.5: a bearer assertion must be used once; the SP keeps
 * its ID at least until the assertion's NotOnOrAfter. Entries live in a
 * sub-pool that is rebuilt when expired entries are purged, so memory stays
 * bounded by the live entries; purging is amortised (it runs when the table
 * has doubled since the last purge) so an insert stays O(1) on average.
 */
#include <apr_hash.h>
#include <apr_strings.h>

#include "anc_replay.h"

#define MIN_PURGE_COUNT 1024

typedef struct memory_replay_t {
    apr_pool_t *parent;
    apr_pool_t *pool; /* holds hash, keys and values */
    apr_hash_t *seen; /* id -> apr_time_t *expires */
    unsigned int purge_at;
} memory_replay_t;

static void purge(memory_replay_t *m, apr_time_t now)
{
    apr_pool_t *np;
    apr_hash_t *nh;
    apr_hash_index_t *hi;

    if (apr_pool_create(&np, m->parent) != APR_SUCCESS) {
        return;
    }
    nh = apr_hash_make(np);
    for (hi = apr_hash_first(m->pool, m->seen); hi != NULL; hi = apr_hash_next(hi)) {
        const void *key;
        apr_ssize_t klen;
        void *val;

        apr_hash_this(hi, &key, &klen, &val);
        if (*(apr_time_t *)val > now) {
            apr_time_t *exp = apr_palloc(np, sizeof(*exp));

            *exp = *(apr_time_t *)val;
            apr_hash_set(nh, apr_pstrmemdup(np, key, (apr_size_t)klen), klen, exp);
        }
    }
    apr_pool_destroy(m->pool);
    m->pool = np;
    m->seen = nh;
    m->purge_at = apr_hash_count(nh) * 2;
    if (m->purge_at < MIN_PURGE_COUNT) {
        m->purge_at = MIN_PURGE_COUNT;
    }
}

static anc_status_t memory_check_and_insert(void *ctx, const char *id, apr_time_t expires,
                                            apr_time_t now, apr_pool_t *scratch,
                                            anc_error_t **err)
{
    memory_replay_t *m = ctx;
    apr_time_t *old;

    if (id == NULL || *id == '\0') {
        return anc_error_set(scratch, err, ANC_E_INPUT, "empty assertion ID");
    }
    if (apr_hash_count(m->seen) >= m->purge_at) {
        purge(m, now);
    }
    old = apr_hash_get(m->seen, id, APR_HASH_KEY_STRING);
    if (old != NULL && *old > now) {
        return anc_error_set(scratch, err, ANC_E_REPLAY, "assertion ID %s already used",
                             id);
    }
    if (old != NULL) {
        *old = expires; /* an expired entry for the same ID is reused */
        return ANC_OK;
    }
    old = apr_palloc(m->pool, sizeof(*old));
    *old = expires;
    apr_hash_set(m->seen, apr_pstrdup(m->pool, id), APR_HASH_KEY_STRING, old);
    return ANC_OK;
}

anc_replay_cache_t *anc_replay_memory_create(apr_pool_t *p)
{
    anc_replay_cache_t *c = apr_pcalloc(p, sizeof(*c));
    memory_replay_t *m = apr_pcalloc(p, sizeof(*m));

    m->parent = p;
    if (apr_pool_create(&m->pool, p) != APR_SUCCESS) {
        return NULL;
    }
    m->seen = apr_hash_make(m->pool);
    m->purge_at = MIN_PURGE_COUNT;
    c->check_and_insert = memory_check_and_insert;
    c->ctx = m;
    return c;
}
