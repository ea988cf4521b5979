/*
 * httpd_store.c - sessions and retry markers in the session cache; pending
 * AuthnRequests and per-client counters in the request cache; replay
 * records in the replay cache (each its own instance by default with
 * shmcb, so that session churn cannot evict replay records and login
 * starts, which need no authentication, cannot evict sessions).
 *
 * Keys: "<c>s:<session id>", "<c>x:<session id>" in the session cache;
 * "<c>r:<request id>", "<c>c:<minute>:<client address>" in the request
 * cache; "<c>a:<assertion id>" in the replay cache, where <c> is a
 * printable character hashed from the rest (see store_key). The
 * operations ap_socache lacks (add-if-absent, increment, a write to every
 * server) go through httpd_shared.c for redis and memcache. Values
 * are the core's codecs (anc_session.h); a pending request is prefixed
 * with a short glue header (what the location wanted, so the ACS can
 * finish or retry the login). Providers that are not safe across
 * processes/threads (shmcb) are used under the global mutex. Any store
 * error is ANC_E_CACHE: the callers fail closed.
 */
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"

#include "httpd_glue.h"

APLOG_USE_MODULE(authncontext);

#define STORE_MAX_VALUE 65536
#define PENDING_MAGIC "ANCP1 "
/* What a logout writes over a session record (see anc_store_session_end). */
#define SESSION_ENDED "ANC-SESSION-ENDED"
#define SESSION_ENDED_SECONDS 300

/* mod_socache_shmcb picks the subcache by the key's first byte alone: with
 * a constant prefix ("s:", "a:") every record of a kind lands in one
 * subcache (1/8 to 1/128 of the instance), which fills and scrolls its
 * oldest records out long before the instance is full. The first
 * character is therefore spread from a hash of the rest over the 94
 * printable non-space characters (memcached keys allow no space or
 * control character). */
static const char *store_key(apr_pool_t *p, const char *tag, const char *id)
{
    unsigned int h = 2166136261u; /* FNV-1a */
    char lead[2];

    for (const unsigned char *q = (const unsigned char *)tag; *q; q++) {
        h = (h ^ *q) * 16777619u;
    }
    for (const unsigned char *q = (const unsigned char *)id; *q; q++) {
        h = (h ^ *q) * 16777619u;
    }
    lead[0] = (char)('!' + h % 94);
    lead[1] = '\0';
    return apr_pstrcat(p, lead, tag, id, NULL);
}

static anc_cache_t *cache_of(request_rec *r)
{
    anc_cache_t *c = anc_srv(r->server)->cache;

    return c && c->initialised ? c : NULL;
}

static anc_cache_t *request_cache_of(request_rec *r)
{
    anc_cache_t *c = anc_srv(r->server)->request_cache;

    return c && c->initialised ? c : NULL;
}

static anc_cache_t *replay_cache_of(request_rec *r)
{
    anc_cache_t *c = anc_srv(r->server)->replay_cache;

    return c && c->initialised ? c : NULL;
}

/* A store that is not safe across processes (shmcb) is only touched under
 * its mutex: when the lock fails, the store is not used at all (the caller
 * fails closed) rather than read or written unlocked. */
static apr_status_t lock(request_rec *r, anc_cache_t *c)
{
    apr_status_t rv = APR_SUCCESS;

    if (c->mutex && (rv = apr_global_mutex_lock(c->mutex)) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "authncontext: cache: cannot lock the mutex reason=%s cache=%s",
                      anc_reason(ANC_E_CACHE), c->spec);
    }
    return rv;
}

static void unlock(anc_cache_t *c)
{
    if (c->mutex) {
        apr_global_mutex_unlock(c->mutex);
    }
}

/* Most records (a session with a few attributes and its variables, a
 * pending request, a replay mark) fit in this much: with shmcb they are
 * read into a buffer of this size first, which keeps a 64 KB buffer out of
 * every request's pool. shmcb answers "not found" to a buffer too small,
 * so a miss is asked again with the full one. memcache and redis log an
 * error for a buffer too small and cost a network round trip per try:
 * they get the full buffer at once. */
#define STORE_SMALL_VALUE 8192

static apr_status_t retrieve_into(request_rec *r, anc_cache_t *c, const char *key,
                                  unsigned char *buf, unsigned int *n)
{
    return c->provider->retrieve(c->instance, r->server, (const unsigned char *)key,
                                 (unsigned int)strlen(key), buf, n, r->pool);
}

/* Unlocked primitives; APR_NOTFOUND passes through. max: the largest
 * value this kind of record can have (a replay mark or retry mark is a
 * byte, a session up to STORE_MAX_VALUE). */
static apr_status_t raw_get(request_rec *r, anc_cache_t *c, const char *key,
                            unsigned int max, char **val, unsigned int *len)
{
    unsigned char *buf = NULL;
    unsigned int n = STORE_SMALL_VALUE;
    int is_shmcb = !strcmp(c->provider->name, "shmcb");
    apr_status_t rv = APR_NOTFOUND;

    if (is_shmcb || max <= STORE_SMALL_VALUE) {
        buf = apr_palloc(r->pool, STORE_SMALL_VALUE + 1);
        rv = retrieve_into(r, c, key, buf, &n);
    }
    if (max > STORE_SMALL_VALUE && (!is_shmcb || rv == APR_NOTFOUND)) {
        buf = apr_palloc(r->pool, STORE_MAX_VALUE + 1);
        n = STORE_MAX_VALUE;
        rv = retrieve_into(r, c, key, buf, &n);
    }
    if (rv == APR_SUCCESS) {
        buf[n] = '\0';
        *val = (char *)buf;
        *len = n;
    }
    return rv;
}

static apr_status_t raw_put(request_rec *r, anc_cache_t *c, const char *key,
                            const char *val, apr_size_t len, apr_time_t expiry)
{
    if (len > STORE_MAX_VALUE) {
        return APR_ENOSPC;
    }
    return c->provider->store(c->instance, r->server, (const unsigned char *)key,
                              (unsigned int)strlen(key), expiry,
                              (unsigned char *)apr_pmemdup(r->pool, val, len ? len : 1),
                              (unsigned int)len, r->pool);
}

/* A networked store (redis, memcache) keeps connections per thread; after
 * the server restarts, the first use of a stale connection fails and the
 * client library reconnects. A few retries hide that; a store that is
 * really down keeps failing and the caller fails closed. Stores under a
 * mutex (shmcb) are local and never retried. */
#define RETRYABLE(c, rv) (!(c)->mutex && (rv) != APR_SUCCESS && (rv) != APR_NOTFOUND)
#define RETRIES 3

static void log_cache_error(request_rec *r, anc_cache_t *c, apr_status_t rv,
                            const char *op, const char *key)
{
    /* the key's kind only ("s:", after the spreading character of
     * store_key): ids are bearer secrets */
    ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                  "authncontext: cache: %s failed reason=%s cache=%s key=%.2s...", op,
                  anc_reason(ANC_E_CACHE), c ? c->spec : "(none)", *key ? key + 1 : key);
}

/* The given store (NULL: not there), locked when it needs a lock; NULL
 * (logged) when it is not there or cannot be locked. */
static anc_cache_t *open_cache(request_rec *r, anc_cache_t *c, const char *op,
                               const char *key)
{
    if (!c) {
        log_cache_error(r, c, APR_EINIT, op, key);
        return NULL;
    }
    if (lock(r, c) != APR_SUCCESS) {
        return NULL;
    }
    return c;
}

static apr_status_t get_retrying(request_rec *r, anc_cache_t *c, const char *key,
                                 unsigned int max, char **val, unsigned int *len)
{
    apr_status_t rv = raw_get(r, c, key, max, val, len), first = rv;

    for (int i = 0; i < RETRIES && RETRYABLE(c, rv); i++) {
        rv = raw_get(r, c, key, max, val, len);
    }
    /* apr_redis answers NOTFOUND once it has marked the server dead: after
     * an error that is not an answer, so it stays an error */
    return rv == APR_NOTFOUND && first != APR_NOTFOUND ? first : rv;
}

static apr_status_t put_retrying(request_rec *r, anc_cache_t *c, const char *key,
                                 const char *val, apr_size_t len, apr_time_t expiry)
{
    apr_status_t rv = raw_put(r, c, key, val, len, expiry);

    for (int i = 0; i < RETRIES && RETRYABLE(c, rv); i++) {
        rv = raw_put(r, c, key, val, len, expiry);
    }
    return rv;
}

static apr_status_t raw_del(request_rec *r, anc_cache_t *c, const char *key)
{
    return c->provider->remove(c->instance, r->server, (const unsigned char *)key,
                               (unsigned int)strlen(key), r->pool);
}

static apr_status_t del_retrying(request_rec *r, anc_cache_t *c, const char *key)
{
    apr_status_t rv = raw_del(r, c, key);

    for (int i = 0; i < RETRIES && RETRYABLE(c, rv); i++) {
        rv = raw_del(r, c, key);
    }
    return rv;
}

static anc_status_t store_get_in(request_rec *r, anc_cache_t *in, const char *key,
                                 unsigned int max, char **val, unsigned int *len,
                                 int *found)
{
    anc_cache_t *c;
    apr_status_t rv;

    *found = 0;
    /* trace1 lets a test count the reads a request costs */
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                  "authncontext: cache: retrieve key=%.2s...", *key ? key + 1 : key);
    if (!(c = open_cache(r, in, "retrieve", key))) {
        return ANC_E_CACHE;
    }
    rv = get_retrying(r, c, key, max, val, len);
    unlock(c);
    if (rv == APR_NOTFOUND) {
        return ANC_OK;
    }
    if (rv != APR_SUCCESS) {
        log_cache_error(r, c, rv, "retrieve", key);
        return ANC_E_CACHE;
    }
    *found = 1;
    return ANC_OK;
}

static anc_status_t store_get(request_rec *r, const char *key, unsigned int max,
                              char **val, unsigned int *len, int *found)
{
    return store_get_in(r, cache_of(r), key, max, val, len, found);
}

static anc_status_t store_put_in(request_rec *r, anc_cache_t *in, const char *key,
                                 const char *val, apr_size_t len, apr_time_t expiry)
{
    anc_cache_t *c;
    apr_status_t rv;

    if (!(c = open_cache(r, in, "store", key))) {
        return ANC_E_CACHE;
    }
    rv = put_retrying(r, c, key, val, len, expiry);
    unlock(c);
    if (rv != APR_SUCCESS) {
        log_cache_error(r, c, rv, "store", key);
        return ANC_E_CACHE;
    }
    return ANC_OK;
}

static anc_status_t store_put(request_rec *r, const char *key, const char *val,
                              apr_size_t len, apr_time_t expiry)
{
    return store_put_in(r, cache_of(r), key, val, len, expiry);
}

static anc_status_t store_del_in(request_rec *r, anc_cache_t *in, const char *key)
{
    anc_cache_t *c;
    apr_status_t rv;

    if (!(c = open_cache(r, in, "remove", key))) {
        return ANC_E_CACHE;
    }
    rv = del_retrying(r, c, key);
    unlock(c);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        log_cache_error(r, c, rv, "remove", key);
        return ANC_E_CACHE;
    }
    return ANC_OK;
}

static anc_status_t store_del(request_rec *r, const char *key)
{
    return store_del_in(r, cache_of(r), key);
}

/* ---------------------------------------------------------------------- */
/* sessions                                                                */

/* The last session record decoded on this connection. A browser (or a
 * client behind one keep-alive connection) sends the same cookie request
 * after request, and the cache hands back the same bytes: those that
 * match the copy kept here byte for byte decode to the session kept here,
 * so the decode is done once per connection instead of once per request.
 * The record is still read from the cache every time (a logout, an expiry
 * or a step-up changes or removes it), and only an exact match is reused.
 * Only records read without their attributes are kept, up to MEMO_MAX
 * bytes and MEMO_REPLACEMENTS times per connection: a connection that
 * carries many users (a proxy in front) soon stops keeping them, and the
 * connection pool never grows past a few small records. */
#define MEMO_MAX STORE_SMALL_VALUE
#define MEMO_REPLACEMENTS 4

typedef struct {
    const char *raw;
    unsigned int len;
    anc_session_t *session;
    int replacements;
} session_memo_t;

static anc_session_t *memo_lookup(request_rec *r, const char *val, unsigned int len)
{
    const session_memo_t *m =
        ap_get_module_config(r->connection->conn_config, &authncontext_module);

    if (m && m->session && m->len == len && !memcmp(m->raw, val, len)) {
        return m->session;
    }
    return NULL;
}

/* Decodes val (read without attributes) into the connection's pool and
 * keeps it; NULL when this connection keeps no more records. */
static anc_session_t *memo_store(request_rec *r, const char *val, unsigned int len)
{
    conn_rec *c = r->connection;
    session_memo_t *m = ap_get_module_config(c->conn_config, &authncontext_module);
    anc_session_t *s = NULL;
    char *raw;

    if (len > MEMO_MAX || (m && m->replacements >= MEMO_REPLACEMENTS)) {
        return NULL;
    }
    if (!m) {
        m = apr_pcalloc(c->pool, sizeof(*m));
        ap_set_module_config(c->conn_config, &authncontext_module, m);
    }
    /* counted before the decode: a record that does not decode costs the
     * connection's pool no more than one that does */
    m->replacements++;
    raw = apr_pmemdup(c->pool, val, len);
    if (anc_session_decode(c->pool, raw, len, ANC_SESSION_SKIP_ATTRIBUTES, &s, NULL) !=
        ANC_OK) {
        return NULL;
    }
    m->raw = raw;
    m->len = len;
    m->session = s;
    return s;
}

anc_status_t anc_store_session_load(request_rec *r, const char *sid, int flags,
                                    anc_session_t **s)
{
    anc_error_t *err = NULL;
    char *val = NULL;
    unsigned int len = 0;
    int found = 0;
    int memo = flags == ANC_SESSION_SKIP_ATTRIBUTES;
    anc_status_t st;

    *s = NULL;
    if (!anc_is_hex_id(sid, 16)) {
        return ANC_E_INPUT;
    }
    st = store_get(r, store_key(r->pool, "s:", sid), STORE_MAX_VALUE, &val, &len, &found);
    if (st != ANC_OK) {
        return st;
    }
    if (!found) {
        return ANC_E_INPUT;
    }
    if (len == sizeof(SESSION_ENDED) - 1 && !memcmp(val, SESSION_ENDED, len)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "authncontext: session: ended by logout");
        return ANC_E_INPUT;
    }
    if (memo && !(*s = memo_lookup(r, val, len))) {
        *s = memo_store(r, val, len);
    }
    /* a session from the memo is shared by this connection's requests:
     * read only */
    if (!*s && anc_session_decode(r->pool, val, len, flags, s, &err) != ANC_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "authncontext: session: undecodable record reason=%s detail=%s",
                      err ? err->reason : "bad-input",
                      err && err->detail ? err->detail : "");
        *s = NULL;
        return ANC_E_INPUT;
    }
    if (!(*s)->id || strcmp((*s)->id, sid) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "authncontext: session: record id does not match its key");
        *s = NULL;
        return ANC_E_INPUT;
    }
    if ((*s)->expires <= apr_time_now()) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "authncontext: session: expired");
        *s = NULL;
        return ANC_E_INPUT;
    }
    return ANC_OK;
}

anc_status_t anc_store_session_save(request_rec *r, const anc_session_t *s)
{
    anc_error_t *err = NULL;
    const char *buf = NULL;
    apr_size_t len = 0;

    if (anc_session_encode(r->pool, s, &buf, &len, &err) != ANC_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "authncontext: session: cannot encode reason=%s detail=%s",
                      err ? err->reason : "internal",
                      err && err->detail ? err->detail : "");
        return ANC_E_INTERNAL;
    }
    return store_put(r, store_key(r->pool, "s:", s->id), buf, len, s->expires);
}

anc_status_t anc_store_session_delete(request_rec *r, const char *sid)
{
    if (!anc_is_hex_id(sid, 16)) {
        return ANC_OK;
    }
    store_del(r, store_key(r->pool, "x:", sid));
    return store_del(r, store_key(r->pool, "s:", sid));
}

/* Logout must know that the session cannot come back. A networked store
 * cannot say so with a delete: apr_redis and apr_memcache answer "not
 * found" both for a key that is not there and for a server they have
 * marked dead (for a few seconds after a failure), and a session on a
 * server that was only unreachable returns with it. A write can: it
 * succeeds only when the server that holds this very key (same key, same
 * server, whatever the hashing over several servers) took it. So the
 * record is first overwritten with a marker that is no session, then
 * removed; the marker expires by itself should the removal not arrive. */
anc_status_t anc_store_session_end(request_rec *r, const char *sid)
{
    const char *key;
    anc_status_t st;

    if (!anc_is_hex_id(sid, 16)) {
        return ANC_OK;
    }
    key = store_key(r->pool, "s:", sid);
    /* With several redis or memcached servers the socache client writes to
     * whichever server is live for the key: while the session's own server
     * is marked dead the marker would land on another, and the session
     * return with its server. The marker goes to every server instead, and
     * one that does not take it fails the logout (503). */
    if (anc_shared_handles(cache_of(r)) && cache_of(r)->servers->nelts > 1) {
        st = anc_shared_put_all(
            r, cache_of(r), key, SESSION_ENDED, sizeof(SESSION_ENDED) - 1,
            apr_time_now() + apr_time_from_sec(SESSION_ENDED_SECONDS));
    } else {
        st = store_put(r, key, SESSION_ENDED, sizeof(SESSION_ENDED) - 1,
                       apr_time_now() + apr_time_from_sec(SESSION_ENDED_SECONDS));
    }
    if (st != ANC_OK) {
        return st; /* logged by store_put (reason=cache-unavailable) */
    }
    store_del(r, store_key(r->pool, "x:", sid));
    if (!anc_shared_handles(cache_of(r)) || cache_of(r)->servers->nelts == 1) {
        /* with several servers the markers stay until they expire: the
         * removal would take one of them, on whichever server is live */
        store_del(r, key);
    }
    return ANC_OK;
}

anc_status_t anc_store_retry_mark(request_rec *r, const anc_session_t *s)
{
    return store_put(r, store_key(r->pool, "x:", s->id), "1", 1, s->expires);
}

int anc_store_retry_marked(request_rec *r, const char *sid)
{
    char *val = NULL;
    unsigned int len = 0;
    int found = 0;

    if (store_get(r, store_key(r->pool, "x:", sid), STORE_SMALL_VALUE, &val, &len,
                  &found) != ANC_OK) {
        return -1;
    }
    return found;
}

/* ---------------------------------------------------------------------- */
/* pending requests                                                        */

/* Our request IDs are "_" + 32 lowercase hex; anything else is unknown
 * without touching the store. */
static int is_request_id(const char *id)
{
    return id && id[0] == '_' && anc_is_hex_id(id + 1, 16);
}

anc_status_t anc_store_pending_save(request_rec *r, const anc_pending_t *pd)
{
    anc_error_t *err = NULL;
    const char *buf = NULL, *head;
    apr_size_t len = 0;
    const char *eu = pd->error_url ? pd->error_url : "";

    if (anc_request_state_encode(r->pool, pd->st, &buf, &len, &err) != ANC_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "authncontext: login: cannot encode request state reason=%s "
                      "detail=%s",
                      err ? err->reason : "internal",
                      err && err->detail ? err->detail : "");
        return ANC_E_INTERNAL;
    }
    /* header: flags, signature algorithm, error URL (length-prefixed) */
    head = apr_psprintf(r->pool, PENDING_MAGIC "%d %d %d %d %s %" APR_SIZE_T_FMT "\n%s",
                        pd->retry_without_context ? 1 : 0, pd->binding, pd->sign ? 1 : 0,
                        pd->passive ? 1 : 0, pd->sig_alg ? pd->sig_alg : "-", strlen(eu),
                        eu);
    return store_put_in(
        r, request_cache_of(r), store_key(r->pool, "r:", pd->st->request_id),
        apr_pstrcat(r->pool, head, apr_pstrmemdup(r->pool, buf, len), NULL),
        strlen(head) + len, pd->st->expires);
}

static anc_status_t pending_parse(request_rec *r, char *val, unsigned int len,
                                  anc_pending_t *pd)
{
    anc_error_t *err = NULL;
    char alg[256];
    int retry, binding, sign, passive, used = 0;
    unsigned long eulen;
    char *nl;

    if (len < sizeof(PENDING_MAGIC) ||
        memcmp(val, PENDING_MAGIC, strlen(PENDING_MAGIC))) {
        return ANC_E_INPUT;
    }
    nl = memchr(val, '\n', len);
    if (!nl) {
        return ANC_E_INPUT;
    }
    *nl = '\0';
    if (sscanf(val + strlen(PENDING_MAGIC), "%d %d %d %d %255s %lu%n", &retry, &binding,
               &sign, &passive, alg, &eulen, &used) != 6 ||
        val[strlen(PENDING_MAGIC) + used] != '\0' ||
        eulen > (unsigned long)(len - (nl + 1 - val))) {
        return ANC_E_INPUT;
    }
    pd->retry_without_context = retry == 1;
    pd->binding =
        binding == ANC_BINDING_IS_POST ? ANC_BINDING_IS_POST : ANC_BINDING_IS_REDIRECT;
    pd->sign = sign == 1;
    pd->passive = passive == 1;
    pd->sig_alg = strcmp(alg, "-") ? apr_pstrdup(r->pool, alg) : NULL;
    pd->error_url = eulen ? apr_pstrmemdup(r->pool, nl + 1, eulen) : NULL;
    {
        const char *state = nl + 1 + eulen;
        apr_size_t state_len = len - (apr_size_t)(state - val);
        return anc_request_state_decode(r->pool, state, state_len, &pd->st, &err);
    }
}

anc_status_t anc_store_pending_load(request_rec *r, const char *request_id,
                                    anc_pending_t **out)
{
    anc_pending_t *pd;
    char *val = NULL;
    unsigned int len = 0;
    int found = 0;
    anc_status_t st;

    *out = NULL;
    if (!is_request_id(request_id)) {
        return ANC_E_IN_RESPONSE_TO;
    }
    st = store_get_in(r, request_cache_of(r), store_key(r->pool, "r:", request_id),
                      STORE_MAX_VALUE, &val, &len, &found);
    if (st != ANC_OK) {
        return st;
    }
    if (!found) {
        return ANC_E_IN_RESPONSE_TO;
    }
    pd = apr_pcalloc(r->pool, sizeof(*pd));
    if (pending_parse(r, val, len, pd) != ANC_OK || !pd->st || !pd->st->request_id ||
        strcmp(pd->st->request_id, request_id) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "authncontext: acs: undecodable pending request record");
        return ANC_E_IN_RESPONSE_TO;
    }
    if (pd->st->expires && pd->st->expires <= apr_time_now()) {
        return ANC_E_IN_RESPONSE_TO;
    }
    *out = pd;
    return ANC_OK;
}

anc_status_t anc_store_pending_take(request_rec *r, const char *request_id)
{
    const char *key;
    anc_cache_t *c;
    apr_status_t rv;

    if (!is_request_id(request_id)) {
        return ANC_E_IN_RESPONSE_TO;
    }
    key = store_key(r->pool, "r:", request_id);
    if (!(c = open_cache(r, request_cache_of(r), "remove", key))) {
        return ANC_E_CACHE;
    }
    rv = del_retrying(r, c, key);
    unlock(c);
    if (rv == APR_NOTFOUND) {
        return ANC_E_IN_RESPONSE_TO;
    }
    if (rv != APR_SUCCESS) {
        log_cache_error(r, c, rv, "remove", key);
        return ANC_E_CACHE;
    }
    return ANC_OK;
}

anc_status_t anc_store_pending_delete(request_rec *r, const char *request_id)
{
    if (!is_request_id(request_id)) {
        return ANC_OK;
    }
    return store_del_in(r, request_cache_of(r), store_key(r->pool, "r:", request_id));
}

/* ---------------------------------------------------------------------- */
/* per-client counters                                                     */

/* Fixed one-minute windows: the key names the client and the minute, and
 * lives a little past it. */
#define COUNT_WINDOW 60

/* Increments the counter at key in c, creating it when absent: atomic in
 * the shared stores (anc_shared_incr) and under the mutex for shmcb; a
 * read and a write for other providers. */
static anc_status_t counter_incr(request_rec *r, anc_cache_t *c, const char *key,
                                 apr_time_t expiry, unsigned long *count)
{
    char *val = NULL;
    unsigned int len = 0;
    apr_status_t rv;

    *count = 0;
    if (anc_shared_handles(c)) {
        return anc_shared_incr(r, c, key, expiry, count);
    }
    /* shmcb (and other local stores): a read and a write under the mutex */
    if (!(c = open_cache(r, c, "count", key))) {
        return ANC_E_CACHE;
    }
    rv = get_retrying(r, c, key, STORE_SMALL_VALUE, &val, &len);
    if (rv == APR_SUCCESS) {
        *count = strtoul(val, NULL, 10);
    } else if (rv != APR_NOTFOUND) {
        unlock(c);
        log_cache_error(r, c, rv, "count", key);
        return ANC_E_CACHE;
    }
    (*count)++;
    val = apr_psprintf(r->pool, "%lu", *count);
    rv = put_retrying(r, c, key, val, strlen(val), expiry);
    unlock(c);
    if (rv != APR_SUCCESS) {
        log_cache_error(r, c, rv, "count", key);
        return ANC_E_CACHE;
    }
    return ANC_OK;
}

anc_status_t anc_store_client_count(request_rec *r, const char *client,
                                    unsigned long *count, apr_time_t *window_end)
{
    apr_time_t now = apr_time_now();
    apr_int64_t minute = apr_time_sec(now) / COUNT_WINDOW;
    const char *key;

    *window_end = apr_time_from_sec((minute + 1) * COUNT_WINDOW);
    key = store_key(r->pool, "c:",
                    apr_psprintf(r->pool, "%" APR_INT64_T_FMT ":%.64s", minute, client));
    return counter_incr(r, request_cache_of(r), key,
                        *window_end + apr_time_from_sec(COUNT_WINDOW), count);
}

/* ---------------------------------------------------------------------- */
/* the Single Logout index                                                 */

/* An IdP's LogoutRequest names a principal (IdP, NameID), not a session,
 * and every session of that principal on every server sharing the store
 * must end. ap_socache can neither append to a record nor list keys
 * (DESIGN.md "Shared stores"), so a principal gets a fixed ring of
 * ANC_SLO_SLOTS slot keys, "<c>l:<principal>:<k>", each holding one
 * session id and expiring with that session; a logout reads them all (a
 * bounded number of reads, at logout only: the request path still reads
 * the session record alone). Which slot a new session takes comes from a
 * per-principal counter "<c>n:<principal>" incremented atomically (redis
 * INCR or memcached incr through httpd_shared.c, the mutex for shmcb), so
 * two logins of one user at the same instant on two servers take two
 * slots instead of overwriting one; a login costs the increment, a read
 * of its slot (and of the session there, if any) and a write, a few more
 * (ANC_SLO_PROBES) only when that slot's session still lives; never a
 * scan of the ring. A Redis set (SADD) would need no ring, but the same index must
 * work on shmcb and memcached, which have no such type.
 *
 * More than ANC_SLO_SLOTS live sessions of one user at once: the slot's
 * previous session is still live when it is reused. It is not ended (a
 * login must not sign out another browser); instead the principal gets an
 * overflow mark "<c>l:<principal>:over", kept as long as a session can
 * live, and an IdP logout of that principal answers PartialLogout (fail
 * closed and say so: some session may have escaped the index). The slot
 * value is only a pointer: the logout loads each session and matches it
 * against the request (anc_logout_matches). */
#define ANC_SLO_SLOTS 64

static const char *slot_key(request_rec *r, const char *principal, int k)
{
    return store_key(r->pool, "l:", apr_psprintf(r->pool, "%s:%d", principal, k));
}

static const char *overflow_key(request_rec *r, const char *principal)
{
    return store_key(r->pool, "l:", apr_pstrcat(r->pool, principal, ":over", NULL));
}

/* 1 when the slot is free for session sid (absent, its own, or its
 * session gone), 0 when another live session holds it (*until: when that
 * one ends), -1 cache error. */
static int slot_free(request_rec *r, const char *key, const char *sid, apr_time_t *until)
{
    char *val = NULL;
    unsigned int len = 0;
    int found = 0;
    anc_session_t *old = NULL;
    anc_status_t st;

    if (store_get(r, key, STORE_SMALL_VALUE, &val, &len, &found) != ANC_OK) {
        return -1;
    }
    if (!found || !anc_is_hex_id(val, 16) || !strcmp(val, sid)) {
        return 1;
    }
    st = anc_store_session_load(r, val, ANC_SESSION_DECODE_ALL, &old);
    if (st == ANC_E_CACHE) {
        return -1;
    }
    if (st != ANC_OK) {
        return 1;
    }
    *until = old->expires;
    return 0;
}

/* Slots tried after a collision before the principal counts as
 * overflowing: the counter may have restarted (it expires, and memcached
 * cannot extend an expiry) while a few sessions of the last round live. */
#define ANC_SLO_PROBES 4

anc_status_t anc_store_slo_index_add(request_rec *r, const anc_session_t *s,
                                     const char *principal)
{
    apr_interval_time_t lifetime =
        apr_time_from_sec(anc_srv_session_lifetime(anc_srv(r->server)));
    unsigned long count = 0;
    apr_time_t until = 0;
    const char *key = NULL;
    int k, first, state = 0;

    /* kept twice a session's lifetime: a restart of the count (once no
     * login came for that long) finds the earlier sessions gone */
    if (counter_incr(r, cache_of(r), store_key(r->pool, "n:", principal),
                     apr_time_now() + 2 * lifetime, &count) != ANC_OK) {
        return ANC_E_CACHE;
    }
    first = (int)((count - 1) % ANC_SLO_SLOTS);
    for (k = 0; k < ANC_SLO_PROBES; k++) {
        key = slot_key(r, principal, (first + k) % ANC_SLO_SLOTS);
        state = slot_free(r, key, s->id, &until);
        if (state < 0) {
            return ANC_E_CACHE;
        }
        if (state == 1) {
            break;
        }
    }
    if (state == 0) {
        /* the counter's own slot is reused; its session escapes the index */
        key = slot_key(r, principal, first);
        if (until < apr_time_now() + lifetime) {
            until = apr_time_now() + lifetime;
        }
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "authncontext: slo: more than %d sessions of one user at once: "
                      "an IdP logout of this user will answer PartialLogout",
                      ANC_SLO_SLOTS);
        if (store_put(r, overflow_key(r, principal), "1", 1, until) != ANC_OK) {
            return ANC_E_CACHE;
        }
    }
    return store_put(r, key, s->id, strlen(s->id), s->expires);
}

anc_status_t anc_store_slo_index_end(request_rec *r, const char *principal,
                                     int (*match)(void *ctx, const anc_session_t *s),
                                     void *ctx, int *ended, int *failed)
{
    int k;

    *ended = 0;
    *failed = 0;
    for (k = 0; k < ANC_SLO_SLOTS; k++) {
        const char *key = slot_key(r, principal, k);
        char *val = NULL;
        unsigned int len = 0;
        int found = 0;
        anc_session_t *s = NULL;
        anc_status_t st;

        if (store_get(r, key, STORE_SMALL_VALUE, &val, &len, &found) != ANC_OK) {
            (*failed)++;
            continue;
        }
        if (!found || !anc_is_hex_id(val, 16)) {
            continue;
        }
        st = anc_store_session_load(r, val, ANC_SESSION_DECODE_ALL, &s);
        if (st == ANC_E_CACHE) {
            (*failed)++;
            continue;
        }
        if (st != ANC_OK) {
            store_del(r, key); /* its session is gone: the slot is free */
            continue;
        }
        if (!match(ctx, s)) {
            continue;
        }
        if (anc_store_session_end(r, val) != ANC_OK) {
            (*failed)++;
            continue;
        }
        (*ended)++;
        store_del(r, key);
    }
    /* sessions that did not fit in the ring may live on: not a Success */
    {
        char *val = NULL;
        unsigned int len = 0;
        int found = 0;

        if (store_get(r, overflow_key(r, principal), STORE_SMALL_VALUE, &val, &len,
                      &found) != ANC_OK) {
            (*failed)++;
        } else if (found) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          "authncontext: slo: this user had more than %d sessions at "
                          "once: some may not be indexed",
                          ANC_SLO_SLOTS);
            (*failed)++;
        }
    }
    return *failed ? ANC_E_CACHE : ANC_OK;
}

/* ---------------------------------------------------------------------- */
/* pending LogoutRequests                                                  */

/* A LogoutRequest we sent, under "<c>o:<request id>" in the request cache:
 * the IdP's LogoutResponse comes back without our cookies (SameSite) and
 * is matched by its InResponseTo alone. The record is the core's request
 * state (request_id, idp, target = the local return URL). */
anc_status_t anc_store_logout_pending_save(request_rec *r, const anc_request_state_t *st)
{
    anc_error_t *err = NULL;
    const char *buf = NULL;
    apr_size_t len = 0;

    if (anc_request_state_encode(r->pool, st, &buf, &len, &err) != ANC_OK) {
        return ANC_E_INTERNAL;
    }
    return store_put_in(r, request_cache_of(r), store_key(r->pool, "o:", st->request_id),
                        buf, len, st->expires);
}

anc_status_t anc_store_logout_pending_load(request_rec *r, const char *request_id,
                                           anc_request_state_t **out)
{
    char *val = NULL;
    unsigned int len = 0;
    int found = 0;
    anc_status_t st;

    *out = NULL;
    if (!is_request_id(request_id)) {
        return ANC_E_IN_RESPONSE_TO;
    }
    st = store_get_in(r, request_cache_of(r), store_key(r->pool, "o:", request_id),
                      STORE_MAX_VALUE, &val, &len, &found);
    if (st != ANC_OK) {
        return st;
    }
    if (!found || anc_request_state_decode(r->pool, val, len, out, NULL) != ANC_OK ||
        strcmp((*out)->request_id, request_id) != 0 ||
        ((*out)->expires && (*out)->expires <= apr_time_now())) {
        *out = NULL;
        return ANC_E_IN_RESPONSE_TO;
    }
    return ANC_OK;
}

/* ANC_OK when this call removed it (the one answer), ANC_E_IN_RESPONSE_TO
 * when it was gone, ANC_E_CACHE. */
anc_status_t anc_store_logout_pending_take(request_rec *r, const char *request_id)
{
    const char *key;
    anc_cache_t *c;
    apr_status_t rv;

    if (!is_request_id(request_id)) {
        return ANC_E_IN_RESPONSE_TO;
    }
    key = store_key(r->pool, "o:", request_id);
    if (!(c = open_cache(r, request_cache_of(r), "remove", key))) {
        return ANC_E_CACHE;
    }
    rv = del_retrying(r, c, key);
    unlock(c);
    if (rv == APR_NOTFOUND) {
        return ANC_E_IN_RESPONSE_TO;
    }
    if (rv != APR_SUCCESS) {
        log_cache_error(r, c, rv, "remove", key);
        return ANC_E_CACHE;
    }
    return ANC_OK;
}

/* ---------------------------------------------------------------------- */
/* replay                                                                  */

static anc_status_t replay_check_and_insert(void *ctx, const char *id, apr_time_t expires,
                                            apr_time_t now, apr_pool_t *scratch,
                                            anc_error_t **err)
{
    request_rec *r = ctx;
    anc_cache_t *c = replay_cache_of(r);
    const char *key;
    char *val = NULL;
    unsigned int len = 0;
    apr_status_t rv;

    if (!c) {
        return anc_error_set(scratch, err, ANC_E_CACHE, "no replay cache");
    }
    if (!id || !*id || strlen(id) > 256) {
        return anc_error_set(scratch, err, ANC_E_REPLAY, "unusable assertion ID");
    }
    key = store_key(r->pool, "a:", id);
    if (expires <= now) {
        expires = now + apr_time_from_sec(60);
    }
    /* Keep the record a little past the horizon: the verifier allows
     * clock skew on NotOnOrAfter. */
    expires += apr_time_from_sec(anc_srv_clock_skew(anc_srv(r->server)));
    /* One atomic step in every shared store: SET NX (redis) or add
     * (memcache) on the key's home server, or a read and a write under the
     * global mutex (shmcb). Two servers given the same assertion at the
     * same instant: exactly one adds the record. */
    if (anc_shared_handles(c)) {
        int added = 0;

        if (anc_shared_add(r, c, key, "1", 1, expires, &added) != ANC_OK) {
            return anc_error_set(scratch, err, ANC_E_CACHE, "replay cache unavailable");
        }
        return added ? ANC_OK
                     : anc_error_set(scratch, err, ANC_E_REPLAY,
                                     "assertion ID already used");
    }
    /* A provider that is safe across processes but has no client of ours
     * (not shmcb, redis or memcache) is read then written: two servers may
     * race in the instant between. */
    if (!(c = open_cache(r, c, "retrieve", key))) {
        return anc_error_set(scratch, err, ANC_E_CACHE, "replay cache unavailable");
    }
    rv = get_retrying(r, c, key, STORE_SMALL_VALUE, &val, &len);
    if (rv == APR_SUCCESS) {
        unlock(c);
        return anc_error_set(scratch, err, ANC_E_REPLAY, "assertion ID already used");
    }
    if (rv != APR_NOTFOUND) {
        unlock(c);
        log_cache_error(r, c, rv, "retrieve", key);
        return anc_error_set(scratch, err, ANC_E_CACHE, "replay cache read failed");
    }
    rv = put_retrying(r, c, key, "1", 1, expires);
    unlock(c);
    if (rv != APR_SUCCESS) {
        log_cache_error(r, c, rv, "store", key);
        return anc_error_set(scratch, err, ANC_E_CACHE, "replay cache write failed");
    }
    return ANC_OK;
}

anc_replay_cache_t *anc_store_replay(request_rec *r)
{
    anc_replay_cache_t *rc = apr_pcalloc(r->pool, sizeof(*rc));

    rc->check_and_insert = replay_check_and_insert;
    rc->ctx = r;
    return rc;
}
