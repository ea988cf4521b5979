/*
 * httpd_shared.c - the atomic operations ap_socache lacks, on a networked
 * store (redis, memcache), with that store's own client beside the socache
 * provider: hiredis for Redis (apr_redis has no SET NX), apr_memcache for
 * memcached (its `add` answers APR_EEXIST when the key is there).
 *
 * httpd_store.c is the one interface the rest of the glue sees; it calls
 * here for redis and memcache and does the same under the global mutex for
 * shmcb. Keys are written as the socache providers write theirs (the
 * instance's namespace, ':', the key in lower-case hex), so a record put
 * here is the record the provider reads, and the other way round.
 *
 * Placement: apr_redis and apr_memcache pick a key's server by a hash and
 * move the key to another server while its own is marked dead. An
 * add-if-absent is only atomic on one server, so anc_shared_add always
 * uses the key's home server (a hash over the configured list: every
 * httpd must list the same servers in the same order) and fails closed
 * when that server does not answer, never moving elsewhere.
 * anc_shared_put_all writes to every server, so that whatever server a
 * later read lands on holds the record (logout).
 *
 * Connections: each child process keeps, per server, a pool of Redis
 * connections (apr_reslist, one per thread at most) or an apr_memcache
 * client of that server alone (thread safe, its own pool), made in
 * child_init. A pooled Redis connection that fails (the server restarted)
 * is dropped and the command tried once on a new one. These operations
 * run at the ACS, at logout and at login starts, never on the request
 * path of an existing session.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis.h>

#include "httpd.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "apr_memcache.h"
#include "apr_reslist.h"
#include "apr_strings.h"

#include "httpd_glue.h"

APLOG_USE_MODULE(authncontext);

/* connect, read and write timeout of one operation */
#define SHARED_TIMEOUT_MS 2000
/* Tries of one operation: after a restart of the server every pooled
 * connection fails once (quickly), and a thread may be handed several. */
#define SHARED_TRIES 4

static const char *wire_key(apr_pool_t *p, const anc_cache_t *c, const char *key)
{
    apr_size_t n = strlen(key);
    char *hex = apr_palloc(p, 2 * n + 1);

    for (apr_size_t i = 0; i < n; i++) {
        static const char digits[] = "0123456789abcdef";
        hex[2 * i] = digits[(unsigned char)key[i] >> 4];
        hex[2 * i + 1] = digits[(unsigned char)key[i] & 15];
    }
    hex[2 * n] = '\0';
    return apr_pstrcat(p, c->ns, ":", hex, NULL);
}

/* The index of the key's home server in c's list. */
static int home_server(const anc_cache_t *c, const char *wkey)
{
    unsigned int h = 2166136261u; /* FNV-1a */

    for (const unsigned char *q = (const unsigned char *)wkey; *q; q++) {
        h = (h ^ *q) * 16777619u;
    }
    return (int)(h % (unsigned int)c->servers->nelts);
}

static const anc_store_server_t *server_at(const anc_cache_t *c, int i)
{
    return &APR_ARRAY_IDX(c->servers, i, anc_store_server_t);
}

static long long ttl_ms(apr_time_t expiry)
{
    apr_time_t left = expiry - apr_time_now();

    return left > 1000 ? (long long)(left / 1000) : 1;
}

/* ---- Redis (hiredis) */

/* Per child: what anc_shared_child_init made for one cache. */
typedef struct shared_clients_t {
    apr_reslist_t **redis;      /* per server: redisContext * */
    apr_memcache_t **memcache;  /* per server: a client of that server alone */
    apr_memcache_server_t **ms; /* per server: that client's server */
} shared_clients_t;

static apr_status_t redis_construct(void **out, void *params, apr_pool_t *pool)
{
    const anc_store_server_t *sv = params;
    struct timeval tv = {SHARED_TIMEOUT_MS / 1000, (SHARED_TIMEOUT_MS % 1000) * 1000};
    redisContext *ctx = redisConnectWithTimeout(sv->host, sv->port, tv);

    if (!ctx || ctx->err) {
        if (ctx) {
            redisFree(ctx);
        }
        return APR_ECONNREFUSED;
    }
    redisSetTimeout(ctx, tv);
    *out = ctx;
    return APR_SUCCESS;
}

static apr_status_t redis_destruct(void *res, void *params, apr_pool_t *pool)
{
    redisFree(res);
    return APR_SUCCESS;
}

/* One or two pipelined commands on server i: the replies (freed by the
 * caller) or APR_EGENERAL with *why. A pooled connection that fails is
 * dropped and the commands sent again on another (SHARED_TRIES in all):
 * after a restart of the server every pooled connection fails once. A
 * server that is down fails each try at once (connection refused). */
static apr_status_t redis_run(request_rec *r, const anc_cache_t *c, int i, int ncmd,
                              const char *const *cmd, const size_t *cmdlen,
                              redisReply **reply, const char **why)
{
    const shared_clients_t *sc = c->shared;
    apr_status_t rv = APR_EGENERAL;

    for (int attempt = 0; attempt < SHARED_TRIES; attempt++) {
        redisContext *ctx = NULL;
        int ok = 1, stalled;

        if (apr_reslist_acquire(sc->redis[i], (void **)&ctx) != APR_SUCCESS) {
            *why = "cannot connect";
            return APR_EGENERAL;
        }
        for (int k = 0; k < ncmd; k++) {
            reply[k] = NULL;
            ok = ok && redisAppendFormattedCommand(ctx, cmd[k], cmdlen[k]) == REDIS_OK;
        }
        for (int k = 0; ok && k < ncmd; k++) {
            ok = redisGetReply(ctx, (void **)&reply[k]) == REDIS_OK && reply[k];
        }
        if (ok) {
            apr_reslist_release(sc->redis[i], ctx);
            for (int k = 0; k < ncmd; k++) {
                if (reply[k]->type == REDIS_REPLY_ERROR) {
                    *why = apr_psprintf(r->pool, "server: %s", reply[k]->str);
                    rv = APR_EGENERAL;
                    goto fail;
                }
            }
            return APR_SUCCESS;
        }
        *why = apr_psprintf(r->pool, "command: %s", ctx->errstr);
        /* a server that does not answer in time is not tried again: only
         * a connection the server closed (a restart) is worth another */
        stalled = ctx->err == REDIS_ERR_IO &&
                  (errno == EAGAIN || errno == EWOULDBLOCK || errno == ETIMEDOUT);
        apr_reslist_invalidate(sc->redis[i], ctx);
        for (int k = 0; k < ncmd; k++) {
            if (reply[k]) {
                freeReplyObject(reply[k]);
                reply[k] = NULL;
            }
        }
        if (stalled) {
            break;
        }
    }
    return rv;
fail:
    for (int k = 0; k < ncmd; k++) {
        freeReplyObject(reply[k]);
        reply[k] = NULL;
    }
    return rv;
}

/* A formatted command (RESP), in r's pool. */
static const char *redis_format(request_rec *r, size_t *len, const char *fmt, ...)
{
    char *cmd = NULL;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || !cmd) {
        *len = 0;
        return NULL;
    }
    *len = (size_t)n;
    {
        const char *copy = apr_pmemdup(r->pool, cmd, (apr_size_t)n);
        free(cmd);
        return copy;
    }
}

/* SET key val PX ttl, with NX (only when absent: *added says whether it
 * was set) or without (always set; added may be NULL). */
static apr_status_t redis_set(request_rec *r, const anc_cache_t *c, int i,
                              const char *wkey, const char *val, apr_size_t len,
                              apr_time_t expiry, int nx, int *added, const char **why)
{
    size_t n = 0;
    const char *cmd =
        redis_format(r, &n, nx ? "SET %s %b NX PX %lld" : "SET %s %b PX %lld", wkey, val,
                     (size_t)len, ttl_ms(expiry));
    redisReply *reply = NULL;
    apr_status_t rv;
    int set;

    if (!cmd) {
        *why = "cannot format";
        return APR_ENOMEM;
    }
    if ((rv = redis_run(r, c, i, 1, &cmd, &n, &reply, why)) != APR_SUCCESS) {
        return rv;
    }
    /* "+OK" when set; with NX a nil reply when the key was there */
    set = reply->type == REDIS_REPLY_STATUS;
    if (!set && !(nx && reply->type == REDIS_REPLY_NIL)) {
        *why = nx ? "unexpected reply to SET NX" : "unexpected reply to SET";
        rv = APR_EGENERAL;
    }
    if (added) {
        *added = set;
    }
    freeReplyObject(reply);
    return rv;
}

/* SET key 0 NX PX ttl, then INCR key, pipelined: the counter exists (with
 * its expiry) before the increment, which never creates a key without
 * one. */
static apr_status_t redis_incr(request_rec *r, const anc_cache_t *c, int i,
                               const char *wkey, apr_time_t expiry, unsigned long *value,
                               const char **why)
{
    size_t n[2] = {0, 0};
    const char *cmd[2] = {
        redis_format(r, &n[0], "SET %s 0 NX PX %lld", wkey, ttl_ms(expiry)),
        redis_format(r, &n[1], "INCR %s", wkey)};
    redisReply *reply[2] = {NULL, NULL};
    apr_status_t rv;

    if (!cmd[0] || !cmd[1]) {
        *why = "cannot format";
        return APR_ENOMEM;
    }
    if ((rv = redis_run(r, c, i, 2, cmd, n, reply, why)) != APR_SUCCESS) {
        return rv;
    }
    if (reply[1]->type != REDIS_REPLY_INTEGER || reply[1]->integer < 0) {
        *why = "unexpected reply to INCR";
        rv = APR_EGENERAL;
    } else {
        *value = (unsigned long)reply[1]->integer;
    }
    freeReplyObject(reply[0]);
    freeReplyObject(reply[1]);
    return rv;
}

/* ---- memcached (apr_memcache) */

/* apr_memcache marks a server dead for 5 s after any failure, a stale
 * pooled connection's included, and answers without trying it: after a
 * failure the server is marked live again and the operation tried again
 * (SHARED_TRIES in all), as for Redis. A server that is down fails each
 * try at once. */
static void memcache_revive(const anc_cache_t *c, int i)
{
    const shared_clients_t *sc = c->shared;

    apr_memcache_enable_server(sc->memcache[i], sc->ms[i]);
}

/* memcached takes relative seconds up to 30 days */
static apr_uint32_t memcache_ttl(apr_time_t expiry)
{
    long long s = (ttl_ms(expiry) + 999) / 1000;

    return (apr_uint32_t)(s > 2592000 ? 2592000 : s);
}

static apr_status_t memcache_add(request_rec *r, const anc_cache_t *c, int i,
                                 const char *wkey, const char *val, apr_size_t len,
                                 apr_time_t expiry, int *added, const char **why)
{
    apr_memcache_t *mc = ((const shared_clients_t *)c->shared)->memcache[i];
    char *data = apr_pmemdup(r->pool, val, len);
    apr_status_t rv = APR_EGENERAL;

    for (int attempt = 0; attempt < SHARED_TRIES; attempt++) {
        if (attempt) {
            memcache_revive(c, i);
        }
        rv = apr_memcache_add(mc, wkey, data, len, memcache_ttl(expiry), 0);
        if (rv == APR_SUCCESS || rv == APR_EEXIST) {
            break;
        }
    }
    *added = rv == APR_SUCCESS;
    if (rv == APR_EEXIST) {
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        *why = "memcached add failed";
    }
    return rv;
}

static apr_status_t memcache_put(request_rec *r, const anc_cache_t *c, int i,
                                 const char *wkey, const char *val, apr_size_t len,
                                 apr_time_t expiry, const char **why)
{
    apr_memcache_t *mc = ((const shared_clients_t *)c->shared)->memcache[i];
    char *data = apr_pmemdup(r->pool, val, len);
    apr_status_t rv = APR_EGENERAL;

    for (int attempt = 0; attempt < SHARED_TRIES && rv != APR_SUCCESS; attempt++) {
        if (attempt) {
            memcache_revive(c, i);
        }
        rv = apr_memcache_set(mc, wkey, data, len, memcache_ttl(expiry), 0);
    }
    if (rv != APR_SUCCESS) {
        *why = "memcached set failed";
    }
    return rv;
}

static apr_status_t memcache_incr(request_rec *r, const anc_cache_t *c, int i,
                                  const char *wkey, apr_time_t expiry,
                                  unsigned long *value, const char **why)
{
    apr_memcache_t *mc = ((const shared_clients_t *)c->shared)->memcache[i];
    apr_uint32_t n = 0;
    apr_status_t rv = APR_EGENERAL;

    for (int attempt = 0; attempt < SHARED_TRIES && rv != APR_SUCCESS; attempt++) {
        if (attempt) {
            memcache_revive(c, i);
        }
        /* created with its expiry; "already there" is the common case */
        rv = apr_memcache_add(mc, wkey, apr_pstrdup(r->pool, "0"), 1,
                              memcache_ttl(expiry), 0);
        if (rv == APR_SUCCESS || rv == APR_EEXIST) {
            rv = apr_memcache_incr(mc, wkey, 1, &n);
        }
    }
    if (rv != APR_SUCCESS) {
        *why = "memcached add/incr failed";
        return rv;
    }
    *value = n;
    return APR_SUCCESS;
}

/* ---- the interface (httpd_glue.h) */

int anc_shared_handles(const anc_cache_t *c)
{
    return c && (c->kind == ANC_STORE_REDIS || c->kind == ANC_STORE_MEMCACHE) &&
           c->servers && c->servers->nelts > 0;
}

apr_status_t anc_shared_child_init(apr_pool_t *p, anc_cache_t *c)
{
    shared_clients_t *sc;
    int threads = 0;
    apr_status_t rv = APR_SUCCESS;

    if (!anc_shared_handles(c) || c->shared) {
        return APR_SUCCESS;
    }
    ap_mpm_query(AP_MPMQ_HARD_LIMIT_THREADS, &threads);
    if (threads < 1) {
        threads = 1;
    }
    sc = apr_pcalloc(p, sizeof(*sc));
    if (c->kind == ANC_STORE_REDIS) {
        sc->redis = apr_pcalloc(p, sizeof(*sc->redis) * (apr_size_t)c->servers->nelts);
    } else {
        sc->memcache =
            apr_pcalloc(p, sizeof(*sc->memcache) * (apr_size_t)c->servers->nelts);
        sc->ms = apr_pcalloc(p, sizeof(*sc->ms) * (apr_size_t)c->servers->nelts);
    }
    for (int i = 0; rv == APR_SUCCESS && i < c->servers->nelts; i++) {
        anc_store_server_t *sv = &APR_ARRAY_IDX(c->servers, i, anc_store_server_t);

        if (c->kind == ANC_STORE_REDIS) {
            /* none made up front, one kept idle, one per thread at most;
             * idle ones closed after a minute */
            rv = apr_reslist_create(&sc->redis[i], 0, 1, threads, apr_time_from_sec(60),
                                    redis_construct, redis_destruct, sv, p);
            if (rv == APR_SUCCESS) {
                apr_reslist_cleanup_order_set(sc->redis[i], APR_RESLIST_CLEANUP_FIRST);
            }
        } else {
            rv = apr_memcache_create(p, 1, 0, &sc->memcache[i]);
            if (rv == APR_SUCCESS) {
                rv = apr_memcache_server_create(p, sv->host, sv->port, 0, 1, threads,
                                                apr_time_from_sec(60), &sc->ms[i]);
            }
            if (rv == APR_SUCCESS) {
                rv = apr_memcache_add_server(sc->memcache[i], sc->ms[i]);
            }
        }
    }
    if (rv == APR_SUCCESS) {
        c->shared = sc;
    }
    return rv;
}

static void log_failure(request_rec *r, const anc_cache_t *c, apr_status_t rv,
                        const char *op, const anc_store_server_t *sv, const char *why)
{
    if (!sv) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "authncontext: cache: %s failed reason=%s cache=%s detail=no "
                      "clients in this process (see the child_init error)",
                      op, anc_reason(ANC_E_CACHE), c->spec);
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                  "authncontext: cache: %s failed reason=%s cache=%s server=%s:%u "
                  "detail=%s",
                  op, anc_reason(ANC_E_CACHE), c->spec, sv->host, (unsigned)sv->port,
                  why ? why : "");
}

anc_status_t anc_shared_add(request_rec *r, const anc_cache_t *c, const char *key,
                            const char *val, apr_size_t len, apr_time_t expiry,
                            int *added)
{
    const char *wkey = wire_key(r->pool, c, key), *why = NULL;
    int i = home_server(c, wkey);
    apr_status_t rv;

    *added = 0;
    if (!c->shared) {
        log_failure(r, c, APR_EINIT, "add", NULL, NULL);
        return ANC_E_CACHE;
    }
    rv = c->kind == ANC_STORE_REDIS
             ? redis_set(r, c, i, wkey, val, len, expiry, 1, added, &why)
             : memcache_add(r, c, i, wkey, val, len, expiry, added, &why);
    if (rv != APR_SUCCESS) {
        log_failure(r, c, rv, "add", server_at(c, i), why);
        return ANC_E_CACHE;
    }
    return ANC_OK;
}

anc_status_t anc_shared_put_all(request_rec *r, const anc_cache_t *c, const char *key,
                                const char *val, apr_size_t len, apr_time_t expiry)
{
    const char *wkey = wire_key(r->pool, c, key);
    anc_status_t st = ANC_OK;

    if (!c->shared) {
        log_failure(r, c, APR_EINIT, "store on every server", NULL, NULL);
        return ANC_E_CACHE;
    }
    for (int i = 0; i < c->servers->nelts; i++) {
        const char *why = NULL;
        apr_status_t rv = c->kind == ANC_STORE_REDIS
                              ? redis_set(r, c, i, wkey, val, len, expiry, 0, NULL, &why)
                              : memcache_put(r, c, i, wkey, val, len, expiry, &why);

        if (rv != APR_SUCCESS) {
            log_failure(r, c, rv, "store on every server", server_at(c, i), why);
            st = ANC_E_CACHE; /* the others are still written */
        }
    }
    return st;
}

anc_status_t anc_shared_incr(request_rec *r, const anc_cache_t *c, const char *key,
                             apr_time_t expiry, unsigned long *value)
{
    const char *wkey = wire_key(r->pool, c, key), *why = NULL;
    int i = home_server(c, wkey);
    apr_status_t rv;

    if (!c->shared) {
        log_failure(r, c, APR_EINIT, "count", NULL, NULL);
        return ANC_E_CACHE;
    }
    rv = c->kind == ANC_STORE_REDIS ? redis_incr(r, c, i, wkey, expiry, value, &why)
                                    : memcache_incr(r, c, i, wkey, expiry, value, &why);

    if (rv != APR_SUCCESS) {
        log_failure(r, c, rv, "count", server_at(c, i), why);
        return ANC_E_CACHE;
    }
    return ANC_OK;
}
