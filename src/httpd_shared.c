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
 * One connection per operation: these run at the ACS and at logout, never
 * on the request path of an existing session, and a fresh connection
 * needs no per-thread state and no reconnect logic.
 */
#include <string.h>
#include <sys/time.h>

#include <hiredis.h>

#include "httpd.h"
#include "http_log.h"
#include "apr_memcache.h"
#include "apr_strings.h"

#include "httpd_glue.h"

APLOG_USE_MODULE(authncontext);

/* connect, read and write timeout of one operation */
#define SHARED_TIMEOUT_MS 2000

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

static const anc_store_server_t *home_server(const anc_cache_t *c, const char *wkey)
{
    unsigned int h = 2166136261u; /* FNV-1a */

    for (const unsigned char *q = (const unsigned char *)wkey; *q; q++) {
        h = (h ^ *q) * 16777619u;
    }
    return &APR_ARRAY_IDX(c->servers, h % (unsigned int)c->servers->nelts,
                          anc_store_server_t);
}

static long long ttl_ms(apr_time_t expiry)
{
    apr_time_t left = expiry - apr_time_now();

    return left > 1000 ? (long long)(left / 1000) : 1;
}

/* ---- Redis (hiredis) */

/* One command on one server: the reply (freed by the caller) or NULL with
 * *why set. */
static redisReply *redis_command(request_rec *r, const anc_store_server_t *sv,
                                 const char **why, const char *fmt, ...)
{
    struct timeval tv = {SHARED_TIMEOUT_MS / 1000, (SHARED_TIMEOUT_MS % 1000) * 1000};
    redisContext *ctx = redisConnectWithTimeout(sv->host, sv->port, tv);
    redisReply *reply = NULL;
    va_list ap;

    if (!ctx || ctx->err) {
        *why = apr_psprintf(r->pool, "connect: %s", ctx ? ctx->errstr : "out of memory");
        if (ctx) {
            redisFree(ctx);
        }
        return NULL;
    }
    redisSetTimeout(ctx, tv);
    va_start(ap, fmt);
    reply = redisvCommand(ctx, fmt, ap);
    va_end(ap);
    if (!reply) {
        *why = apr_psprintf(r->pool, "command: %s", ctx->errstr);
    } else if (reply->type == REDIS_REPLY_ERROR) {
        *why = apr_psprintf(r->pool, "server: %s", reply->str);
        freeReplyObject(reply);
        reply = NULL;
    }
    redisFree(ctx);
    return reply;
}

static apr_status_t redis_add(request_rec *r, const anc_store_server_t *sv,
                              const char *wkey, const char *val, apr_size_t len,
                              apr_time_t expiry, int *added, const char **why)
{
    redisReply *reply = redis_command(r, sv, why, "SET %s %b NX PX %lld", wkey, val,
                                      (size_t)len, ttl_ms(expiry));

    if (!reply) {
        return APR_EGENERAL;
    }
    /* "+OK" when set, a nil reply when the key was there */
    *added = reply->type == REDIS_REPLY_STATUS;
    if (!*added && reply->type != REDIS_REPLY_NIL) {
        *why = "unexpected reply to SET NX";
        freeReplyObject(reply);
        return APR_EGENERAL;
    }
    freeReplyObject(reply);
    return APR_SUCCESS;
}

static apr_status_t redis_put(request_rec *r, const anc_store_server_t *sv,
                              const char *wkey, const char *val, apr_size_t len,
                              apr_time_t expiry, const char **why)
{
    redisReply *reply = redis_command(r, sv, why, "SET %s %b PX %lld", wkey, val,
                                      (size_t)len, ttl_ms(expiry));
    int ok = reply && reply->type == REDIS_REPLY_STATUS;

    if (reply && !ok) {
        *why = "unexpected reply to SET";
    }
    if (reply) {
        freeReplyObject(reply);
    }
    return ok ? APR_SUCCESS : APR_EGENERAL;
}

/* SET key 0 NX PX ttl, then INCR key, pipelined on one connection: the
 * counter exists (with its expiry) before the increment, which never
 * creates a key without one. */
static apr_status_t redis_incr(request_rec *r, const anc_store_server_t *sv,
                               const char *wkey, apr_time_t expiry, unsigned long *value,
                               const char **why)
{
    struct timeval tv = {SHARED_TIMEOUT_MS / 1000, (SHARED_TIMEOUT_MS % 1000) * 1000};
    redisContext *ctx = redisConnectWithTimeout(sv->host, sv->port, tv);
    redisReply *set = NULL, *incr = NULL;
    apr_status_t rv = APR_EGENERAL;

    if (!ctx || ctx->err) {
        *why = apr_psprintf(r->pool, "connect: %s", ctx ? ctx->errstr : "out of memory");
        if (ctx) {
            redisFree(ctx);
        }
        return APR_EGENERAL;
    }
    redisSetTimeout(ctx, tv);
    if (redisAppendCommand(ctx, "SET %s 0 NX PX %lld", wkey, ttl_ms(expiry)) !=
            REDIS_OK ||
        redisAppendCommand(ctx, "INCR %s", wkey) != REDIS_OK ||
        redisGetReply(ctx, (void **)&set) != REDIS_OK ||
        redisGetReply(ctx, (void **)&incr) != REDIS_OK) {
        *why = apr_psprintf(r->pool, "command: %s", ctx->errstr);
    } else if (!incr || incr->type != REDIS_REPLY_INTEGER || incr->integer < 0) {
        *why = incr && incr->type == REDIS_REPLY_ERROR ? apr_pstrdup(r->pool, incr->str)
                                                       : "unexpected reply to INCR";
    } else {
        *value = (unsigned long)incr->integer;
        rv = APR_SUCCESS;
    }
    if (set) {
        freeReplyObject(set);
    }
    if (incr) {
        freeReplyObject(incr);
    }
    redisFree(ctx);
    return rv;
}

/* ---- memcached (apr_memcache) */

/* A client of one server, in r's pool (its connections close with it). */
static apr_status_t memcache_one(request_rec *r, const anc_store_server_t *sv,
                                 apr_memcache_t **mc)
{
    apr_memcache_server_t *ms = NULL;
    apr_status_t rv = apr_memcache_create(r->pool, 1, 0, mc);

    if (rv == APR_SUCCESS) {
        rv = apr_memcache_server_create(r->pool, sv->host, sv->port, 0, 1, 1,
                                        apr_time_from_sec(15), &ms);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_memcache_add_server(*mc, ms);
    }
    return rv;
}

/* memcached takes relative seconds up to 30 days */
static apr_uint32_t memcache_ttl(apr_time_t expiry)
{
    long long s = (ttl_ms(expiry) + 999) / 1000;

    return (apr_uint32_t)(s > 2592000 ? 2592000 : s);
}

static apr_status_t memcache_add(request_rec *r, const anc_store_server_t *sv,
                                 const char *wkey, const char *val, apr_size_t len,
                                 apr_time_t expiry, int *added, const char **why)
{
    apr_memcache_t *mc = NULL;
    apr_status_t rv = memcache_one(r, sv, &mc);

    if (rv == APR_SUCCESS) {
        rv = apr_memcache_add(mc, wkey, (char *)apr_pmemdup(r->pool, val, len), len,
                              memcache_ttl(expiry), 0);
    }
    if (rv == APR_EEXIST) {
        *added = 0;
        return APR_SUCCESS;
    }
    *added = rv == APR_SUCCESS;
    if (rv != APR_SUCCESS) {
        *why = "memcached add failed";
    }
    return rv;
}

static apr_status_t memcache_put(request_rec *r, const anc_store_server_t *sv,
                                 const char *wkey, const char *val, apr_size_t len,
                                 apr_time_t expiry, const char **why)
{
    apr_memcache_t *mc = NULL;
    apr_status_t rv = memcache_one(r, sv, &mc);

    if (rv == APR_SUCCESS) {
        rv = apr_memcache_set(mc, wkey, (char *)apr_pmemdup(r->pool, val, len), len,
                              memcache_ttl(expiry), 0);
    }
    if (rv != APR_SUCCESS) {
        *why = "memcached set failed";
    }
    return rv;
}

static apr_status_t memcache_incr(request_rec *r, const anc_store_server_t *sv,
                                  const char *wkey, apr_time_t expiry,
                                  unsigned long *value, const char **why)
{
    apr_memcache_t *mc = NULL;
    apr_uint32_t n = 0;
    apr_status_t rv = memcache_one(r, sv, &mc);

    if (rv == APR_SUCCESS) {
        /* created with its expiry; "already there" is the common case */
        rv = apr_memcache_add(mc, wkey, apr_pstrdup(r->pool, "0"), 1,
                              memcache_ttl(expiry), 0);
        if (rv == APR_EEXIST) {
            rv = APR_SUCCESS;
        }
    }
    if (rv == APR_SUCCESS) {
        rv = apr_memcache_incr(mc, wkey, 1, &n);
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

static void log_failure(request_rec *r, const anc_cache_t *c, apr_status_t rv,
                        const char *op, const anc_store_server_t *sv, const char *why)
{
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
    const anc_store_server_t *sv = home_server(c, wkey);
    apr_status_t rv;

    *added = 0;
    rv = c->kind == ANC_STORE_REDIS
             ? redis_add(r, sv, wkey, val, len, expiry, added, &why)
             : memcache_add(r, sv, wkey, val, len, expiry, added, &why);
    if (rv != APR_SUCCESS) {
        log_failure(r, c, rv, "add", sv, why);
        return ANC_E_CACHE;
    }
    return ANC_OK;
}

anc_status_t anc_shared_put_all(request_rec *r, const anc_cache_t *c, const char *key,
                                const char *val, apr_size_t len, apr_time_t expiry)
{
    const char *wkey = wire_key(r->pool, c, key);
    anc_status_t st = ANC_OK;

    for (int i = 0; i < c->servers->nelts; i++) {
        const anc_store_server_t *sv = &APR_ARRAY_IDX(c->servers, i, anc_store_server_t);
        const char *why = NULL;
        apr_status_t rv = c->kind == ANC_STORE_REDIS
                              ? redis_put(r, sv, wkey, val, len, expiry, &why)
                              : memcache_put(r, sv, wkey, val, len, expiry, &why);

        if (rv != APR_SUCCESS) {
            log_failure(r, c, rv, "store on every server", sv, why);
            st = ANC_E_CACHE; /* the others are still written */
        }
    }
    return st;
}

anc_status_t anc_shared_incr(request_rec *r, const anc_cache_t *c, const char *key,
                             apr_time_t expiry, unsigned long *value)
{
    const char *wkey = wire_key(r->pool, c, key), *why = NULL;
    const anc_store_server_t *sv = home_server(c, wkey);
    apr_status_t rv = c->kind == ANC_STORE_REDIS
                          ? redis_incr(r, sv, wkey, expiry, value, &why)
                          : memcache_incr(r, sv, wkey, expiry, value, &why);

    if (rv != APR_SUCCESS) {
        log_failure(r, c, rv, "count", sv, why);
        return ANC_E_CACHE;
    }
    return ANC_OK;
}
