/*
 * httpd_metadata.c - IdP metadata sources in httpd: files, options,
 * refresh without restart, and the snapshot each request reads.
 *
 * The core (anc_metadata.c) turns a document into a trust store; this file
 * owns when that happens. Each source's last good version is a "part": an
 * immutable trust store in its own unmanaged pool. The IdPs a request sees
 * are a "snapshot": the parts merged (first source wins on a duplicate
 * entityID), also immutable, in its own pool.
 *
 * Thread safety: a snapshot is published by swapping store->current under
 * store->lock (an apr_thread_mutex), and is reference counted under the
 * same lock: the store holds one reference to its current snapshot, each
 * request that uses it one more (released by a cleanup of the request
 * pool), and each snapshot one reference to each part it merged. A
 * snapshot's pool (and a part's) is destroyed by whoever drops the last
 * reference, outside the lock, so a request that took the old snapshot
 * finishes with it while new requests get the new one. The lock is held
 * only to read a pointer and count: requests never wait for a refresh.
 *
 * Refresh: each child process runs one thread that stat()s every source at
 * most every refresh= seconds (shortened by the source's cacheDuration),
 * re-reads a file whose mtime, size or inode changed, and publishes a new
 * snapshot when the new version passes every check. A refused version is
 * logged and the last good part stays in force until its own validUntil
 * (then it is dropped and that is logged). Log lines about a version are
 * written by the first process that looks at it: a slot per source in
 * anonymous shared memory (created in post_config, before the fork) holds
 * a hash of the version last logged, swapped atomically.
 */
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include <openssl/evp.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "apr_allocator.h"
#include "apr_atomic.h"
#include "apr_file_io.h"
#include "apr_hash.h"
#include "apr_shm.h"
#include "apr_strings.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"
#include "apr_thread_proc.h"

#include "httpd_config.h"
#include "httpd_metadata.h"

APLOG_USE_MODULE(authncontext);

#define SNAPSHOT_NOTE "authncontext:md-snapshot"

typedef struct md_version_t {
    apr_time_t mtime;
    apr_off_t size;
    apr_ino_t inode;
} md_version_t;

typedef struct md_part_t {
    apr_pool_t *pool; /* unmanaged: destroyed when refs drops to 0 */
    anc_trust_t *trust;
    md_version_t version;
    /* SHA-256 of a file source's bytes: a new version of the file with the
     * same bytes (a cron job copying it again) is not parsed again */
    unsigned char digest[32];
    int has_digest;
    apr_time_t expires; /* earliest validUntil in it, 0 = none */
    apr_interval_time_t cache_duration;
    int refs; /* snapshots that merged it (under store->lock) */
    /* a per-entity directory: its index, and the entities this process
     * loaded from it (under store->lock) */
    anc_md_index_t *index;
    apr_hash_t *cache; /* entityID -> md_entry_t * */
    int cache_n;
    apr_uint64_t tick;
} md_part_t;

typedef struct md_entry_t {
    apr_pool_t *pool; /* unmanaged, destroyed on eviction or with the part */
    const char *entity_id;
    const anc_idp_t *idp;
    int refs; /* requests using it */
    apr_uint64_t used;
} md_entry_t;

typedef struct md_snap_t {
    apr_pool_t *pool; /* unmanaged */
    anc_trust_t *trust;
    md_part_t **parts; /* one per source, NULL when it has none in force */
    int refs;          /* the store while current, plus requests (store->lock) */
    /* what anc_idps_derived() built from this snapshot in this process
     * (set once under store->lock, read-only after), in its own pool */
    const void *derived;
    apr_pool_t *derived_pool;
    anc_md_derive_fn *derived_by; /* the build function it came from */
} md_snap_t;

struct anc_md_store_t {
    apr_array_header_t *sources; /* anc_md_source_cfg_t */
    int allow_sha1;
    server_rec *server;
    apr_thread_mutex_t *lock;
    md_snap_t *current;
    /* the refresh thread's own state (one thread per process) */
    md_part_t **parts;  /* the parts of the last snapshot published */
    md_version_t *seen; /* the version of each file last looked at */
    apr_time_t *next_check;
    apr_uint32_t *log_slots; /* shared memory, one per source, or NULL */
    /* second start-up pass: what each source's load found, logged in
     * post_config (its check_config runs after the detach, before the
     * error log is open again, so lines logged there are lost) */
    anc_md_info_t **start_info;
};

/* ---- directive --------------------------------------------------------- */

static int parse_seconds(const char *v, int *out)
{
    char *end;
    apr_int64_t n = apr_strtoi64(v, &end, 10);

    if (!*v || *end || n < 0 || n > 100 * 365 * 86400LL) {
        return 0;
    }
    *out = (int)n;
    return 1;
}

const char *anc_md_parse_directive(cmd_parms *cmd, const char *args,
                                   apr_array_header_t **sources)
{
    apr_array_header_t *paths = apr_array_make(cmd->temp_pool, 2, sizeof(const char *));
    anc_md_source_cfg_t opt;
    const char *name = cmd->cmd->name;
    int n_options = 0, i;

    memset(&opt, 0, sizeof(opt));
    opt.refresh = ANC_MD_DEFAULT_REFRESH;
    opt.cache_max = ANC_MD_DEFAULT_CACHE;
    while (*args) {
        const char *w = ap_getword_conf(cmd->pool, &args);
        const char *eq = strchr(w, '=');
        const char *v = eq ? eq + 1 : NULL;
        size_t klen = eq ? (size_t)(eq - w) : 0;

        if (!*w) {
            break;
        }
        if (eq && klen == 6 && !strncmp(w, "verify", 6)) {
            opt.verify_file = ap_server_root_relative(cmd->pool, v);
            if (!*v || !opt.verify_file) {
                return apr_psprintf(cmd->pool, "%s: invalid verify= path", name);
            }
        } else if (eq && klen == 11 && !strncmp(w, "maxValidity", 11)) {
            if (!parse_seconds(v, &opt.max_validity) || opt.max_validity == 0) {
                return apr_psprintf(
                    cmd->pool, "%s: maxValidity=%s is not positive seconds", name, v);
            }
        } else if (eq && klen == 7 && !strncmp(w, "refresh", 7)) {
            if (!parse_seconds(v, &opt.refresh)) {
                return apr_psprintf(cmd->pool, "%s: refresh=%s is not seconds", name, v);
            }
        } else if (eq && klen == 5 && !strncmp(w, "cache", 5)) {
            if (!parse_seconds(v, &opt.cache_max) || opt.cache_max < 1 ||
                opt.cache_max > 1000000) {
                return apr_psprintf(cmd->pool, "%s: cache=%s is not a number of entities",
                                    name, v);
            }
        } else if (eq && klen == 8 && !strncmp(w, "entities", 8)) {
            char *list = apr_pstrdup(cmd->pool, v), *state = NULL, *id;

            opt.entities = apr_array_make(cmd->pool, 4, sizeof(const char *));
            for (id = apr_strtok(list, ",", &state); id;
                 id = apr_strtok(NULL, ",", &state)) {
                APR_ARRAY_PUSH(opt.entities, const char *) = id;
            }
            if (opt.entities->nelts == 0) {
                return apr_psprintf(cmd->pool, "%s: entities= lists no entityID", name);
            }
        } else if (eq && klen == 15 && !strncmp(w, "entityAttribute", 15)) {
            const char *eq2 = strchr(v, '=');
            anc_md_attr_t *a;

            if (!eq2 || eq2 == v || !eq2[1]) {
                return apr_psprintf(cmd->pool,
                                    "%s: entityAttribute= needs NAME=VALUE (NAME without "
                                    "'=')",
                                    name);
            }
            if (!opt.attrs) {
                opt.attrs = apr_array_make(cmd->pool, 2, sizeof(anc_md_attr_t));
            }
            a = apr_array_push(opt.attrs);
            a->name = apr_pstrmemdup(cmd->pool, v, (apr_size_t)(eq2 - v));
            a->value = eq2 + 1;
        } else if (eq && klen > 0 && !strchr(w, '/')) {
            return apr_psprintf(cmd->pool,
                                "%s: unknown option '%.*s' (verify, maxValidity, "
                                "refresh, entities, entityAttribute, cache)",
                                name, (int)klen, w);
        } else {
            const char *path = ap_server_root_relative(cmd->pool, w);

            if (!path) {
                return apr_psprintf(cmd->pool, "%s: invalid path '%s'", name, w);
            }
            APR_ARRAY_PUSH(paths, const char *) = path;
            continue;
        }
        n_options++;
    }
    if (paths->nelts == 0) {
        return apr_psprintf(cmd->pool, "%s: no metadata file", name);
    }
    if (n_options > 0 && paths->nelts > 1) {
        return apr_psprintf(
            cmd->pool, "%s: options apply to one file: write one line per file", name);
    }
    if (!*sources) {
        *sources = apr_array_make(cmd->pool, 2, sizeof(anc_md_source_cfg_t));
    }
    for (i = 0; i < paths->nelts; i++) {
        anc_md_source_cfg_t *src = apr_array_push(*sources);

        *src = opt;
        src->path = APR_ARRAY_IDX(paths, i, const char *);
        src->where = cmd->directive
                         ? apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                                        cmd->directive->line_num)
                         : "-";
    }
    return NULL;
}

/* ---- parts and snapshots ------------------------------------------------- */

static void destroy_pool(apr_pool_t *p)
{
    if (p) {
        apr_pool_destroy(p);
    }
}

static apr_pool_t *unmanaged_pool(void)
{
    apr_pool_t *p = NULL;

    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        return NULL;
    }
    /* the file buffer of a large source lives in a subpool: without a
     * bound, its blocks would stay on this allocator's free list for as
     * long as the part is in force */
    apr_allocator_max_free_set(apr_pool_allocator_get(p), 256 * 1024);
    return p;
}

static int stat_version_why(apr_pool_t *tmp, const char *path, md_version_t *v,
                            apr_status_t *why)
{
    apr_finfo_t fi;
    apr_status_t rv =
        apr_stat(&fi, path, APR_FINFO_MTIME | APR_FINFO_SIZE | APR_FINFO_INODE, tmp);

    if (rv != APR_SUCCESS) {
        memset(v, 0, sizeof(*v));
        *why = rv;
        return 0;
    }
    v->mtime = fi.mtime;
    v->size = fi.size;
    v->inode = fi.inode;
    return 1;
}

static int stat_version(apr_pool_t *tmp, const char *path, md_version_t *v)
{
    apr_status_t why;

    return stat_version_why(tmp, path, v, &why);
}

static int same_version(const md_version_t *a, const md_version_t *b)
{
    return a->mtime == b->mtime && a->size == b->size && a->inode == b->inode;
}

static apr_uint32_t version_hash(const md_version_t *v)
{
    apr_uint64_t h = 1469598103934665603ULL;
    apr_uint64_t parts[3] = {(apr_uint64_t)v->mtime, (apr_uint64_t)v->size,
                             (apr_uint64_t)v->inode};
    int i;

    for (i = 0; i < 3; i++) {
        h = (h ^ parts[i]) * 1099511628211ULL;
    }
    return (apr_uint32_t)(h ^ (h >> 32)) | 1; /* 0 = nothing logged yet */
}

/* Whether this process should log what it found in version v of source i:
 * only the first process that looks at a version does. */
#define LOG_LOADED 0u
#define LOG_EXPIRED 0x5a5a5a5au
#define LOG_UNREADABLE 0x3c3c3c3cu

static int first_to_log(anc_md_store_t *st, int i, const md_version_t *v,
                        apr_uint32_t event)
{
    apr_uint32_t h = (version_hash(v) ^ event) | 1;

    if (!st->log_slots) {
        return 1;
    }
    return apr_atomic_xchg32(&st->log_slots[i], h) != h;
}

static const char *version_text(apr_pool_t *p, const md_version_t *v)
{
    char buf[APR_RFC822_DATE_LEN];

    apr_rfc822_date(buf, v->mtime);
    return apr_psprintf(p, "mtime %s, %" APR_OFF_T_FMT " bytes", buf, v->size);
}

static apr_status_t destroy_entries(void *data)
{
    md_part_t *part = data;
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(NULL, part->cache); hi; hi = apr_hash_next(hi)) {
        md_entry_t *e = apr_hash_this_val(hi);

        apr_pool_destroy(e->pool);
    }
    return APR_SUCCESS;
}

/* A per-entity directory (authncontext-verify --metadata-split): only its
 * index is read here; entities are loaded on first use (resolve_entity). */
static anc_status_t load_dir_part(anc_md_store_t *st, const anc_md_source_cfg_t *src,
                                  md_part_t *part, apr_pool_t *tmp, apr_pool_t *errp,
                                  md_part_t **out, anc_md_info_t **info_out,
                                  anc_error_t **err)
{
    apr_pool_t *pool = part->pool;
    anc_md_info_t *info = apr_pcalloc(pool, sizeof(*info));
    anc_error_t *e = NULL;

    (void)st;
    (void)tmp;
    if (!stat_version(pool, src->watch, &part->version) ||
        anc_md_index_load(pool, src->path, &part->index, &e) != ANC_OK) {
        anc_error_set(errp, err, e ? e->code : ANC_E_INPUT, "%s",
                      e && e->detail ? e->detail : src->watch);
        apr_pool_destroy(pool);
        return err && *err ? (*err)->code : ANC_E_INPUT;
    }
    if (anc_md_index_count(part->index) == 0) {
        apr_pool_destroy(pool);
        return anc_error_set(errp, err, ANC_E_METADATA, "%s lists no IdP", src->watch);
    }
    part->trust = anc_trust_create(pool);
    part->cache = apr_hash_make(pool);
    apr_pool_cleanup_register(pool, part, destroy_entries, apr_pool_cleanup_null);
    info->idps = anc_md_index_count(part->index);
    info->skipped = apr_array_make(pool, 0, sizeof(anc_md_skip_t));
    *out = part;
    *info_out = info;
    return ANC_OK;
}

/* Reads and checks one source into a new part. On failure *err is copied
 * into errp and the part's pool is gone. With cur (a refresh), a file
 * whose bytes are those of cur is not parsed: *out is cur itself. */
static anc_status_t load_part(anc_md_store_t *st, int i, apr_pool_t *errp, md_part_t *cur,
                              md_part_t **out, anc_md_info_t **info_out,
                              anc_error_t **err)
{
    const anc_md_source_cfg_t *src = &APR_ARRAY_IDX(st->sources, i, anc_md_source_cfg_t);
    apr_pool_t *pool = unmanaged_pool(), *tmp = NULL;
    md_part_t *part;
    anc_md_options_t o;
    anc_md_info_t *info = NULL;
    anc_error_t *e = NULL;
    apr_file_t *f;
    apr_finfo_t fi;
    char *buf = "";
    apr_size_t got = 0;
    anc_status_t rv;

    if (!pool || apr_pool_create(&tmp, pool) != APR_SUCCESS) {
        destroy_pool(pool);
        return anc_error_set(errp, err, ANC_E_INTERNAL, "out of memory");
    }
    part = apr_pcalloc(pool, sizeof(*part));
    part->pool = pool;
    if (src->is_dir) {
        return load_dir_part(st, src, part, tmp, errp, out, info_out, err);
    }
    if (apr_file_open(&f, src->path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, tmp) !=
            APR_SUCCESS ||
        apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_MTIME | APR_FINFO_INODE, f) !=
            APR_SUCCESS ||
        (fi.size > 0 && apr_file_read_full(f, buf = apr_palloc(tmp, (apr_size_t)fi.size),
                                           (apr_size_t)fi.size, &got) != APR_SUCCESS)) {
        apr_pool_destroy(pool);
        return anc_error_set(errp, err, ANC_E_INPUT, "cannot read %s", src->path);
    }
    if (fi.size == 0) {
        buf = "";
    }
    {
        unsigned int dn = 0;

        part->has_digest =
            EVP_Digest(buf, got, part->digest, &dn, EVP_sha256(), NULL) == 1 &&
            dn == sizeof(part->digest);
    }
    if (cur && cur->has_digest && part->has_digest &&
        !memcmp(cur->digest, part->digest, sizeof(part->digest))) {
        apr_pool_destroy(pool);
        *out = cur;
        *info_out = NULL;
        return ANC_OK;
    }
    /* the version read, from the open file (a rename after this is
     * seen at the next look) */
    part->version.mtime = fi.mtime;
    part->version.size = fi.size;
    part->version.inode = fi.inode;
    memset(&o, 0, sizeof(o));
    o.name = apr_pstrdup(pool, src->path);
    o.version = version_text(pool, &part->version);
    o.verify_key = src->verify_key;
    o.allow_sha1 = st->allow_sha1;
    o.max_validity = apr_time_from_sec(src->max_validity);
    o.entities = src->entities;
    o.entity_attrs = src->attrs;
    part->trust = anc_trust_create(pool);
    rv = anc_trust_add_source(part->trust, buf, got, &o, &info, &e);
    apr_pool_destroy(tmp);
    if (rv != ANC_OK) {
        anc_error_set(errp, err, rv, "%s", e && e->detail ? e->detail : "");
        apr_pool_destroy(pool);
        return rv;
    }
    part->expires = info->expires;
    part->cache_duration = info->cache_duration;
    *out = part;
    *info_out = info;
    return ANC_OK;
}

static void log_skips(server_rec *s, const anc_md_source_cfg_t *src,
                      const anc_md_info_t *info)
{
    int i;

    for (i = 0; i < info->skipped->nelts; i++) {
        const anc_md_skip_t *sk = &APR_ARRAY_IDX(info->skipped, i, anc_md_skip_t);

        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "authncontext: metadata: %s: entity %s skipped reason=%s detail=%s",
                     src->path, sk->entity_id, anc_reason(sk->code),
                     sk->detail ? sk->detail : "");
    }
}

/* A snapshot of parts (not yet current: refs 0). */
static md_snap_t *make_snapshot(anc_md_store_t *st, md_part_t **parts, int log)
{
    apr_pool_t *pool = unmanaged_pool();
    md_snap_t *snap;
    const anc_trust_t **tp;
    apr_array_header_t *dups = NULL;
    int i, n = st->sources->nelts;

    if (!pool) {
        return NULL;
    }
    snap = apr_pcalloc(pool, sizeof(*snap));
    snap->pool = pool;
    snap->parts = apr_pcalloc(pool, sizeof(md_part_t *) * (apr_size_t)n);
    tp = apr_pcalloc(pool, sizeof(*tp) * (apr_size_t)n);
    for (i = 0; i < n; i++) {
        snap->parts[i] = parts[i];
        tp[i] = parts[i] ? parts[i]->trust : NULL;
    }
    /* Several sources (a national federation and eduGAIN): the first
     * source in configuration order that holds an entityID wins. */
    snap->trust = anc_trust_merge(pool, tp, n, &dups);
    for (i = 0; log && dups && i < dups->nelts; i++) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, st->server,
                     "authncontext: metadata: entity %s is in several sources; the "
                     "first AuthnContextIdPMetadataFile that lists it is used",
                     APR_ARRAY_IDX(dups, i, const char *));
    }
    return snap;
}

/* Drops one reference; destroys the snapshot (and parts nobody else
 * holds) when it was the last. */
static void snap_release(anc_md_store_t *st, md_snap_t *snap)
{
    md_part_t **dead;
    int i, n = st->sources->nelts, ndead = 0, last;

    if (!snap) {
        return;
    }
    dead = malloc(sizeof(*dead) * (size_t)n);
    apr_thread_mutex_lock(st->lock);
    last = --snap->refs == 0;
    if (last) {
        for (i = 0; i < n; i++) {
            if (snap->parts[i] && --snap->parts[i]->refs == 0 && dead) {
                dead[ndead++] = snap->parts[i];
            }
        }
    }
    apr_thread_mutex_unlock(st->lock);
    if (last) {
        for (i = 0; i < ndead; i++) {
            apr_pool_destroy(dead[i]->pool);
        }
        if (snap->derived_pool) {
            apr_pool_destroy(snap->derived_pool);
        }
        apr_pool_destroy(snap->pool);
    }
    free(dead);
}

/* Makes snap current; the previous one is released. */
static void publish(anc_md_store_t *st, md_snap_t *snap)
{
    md_snap_t *old;
    int i;

    apr_thread_mutex_lock(st->lock);
    for (i = 0; i < st->sources->nelts; i++) {
        if (snap->parts[i]) {
            snap->parts[i]->refs++;
        }
    }
    snap->refs = 1;
    old = st->current;
    st->current = snap;
    apr_thread_mutex_unlock(st->lock);
    snap_release(st, old);
}

static apr_status_t store_cleanup(void *data)
{
    anc_md_store_t *st = data;
    md_snap_t *s = st->current;

    st->current = NULL;
    snap_release(st, s);
    return APR_SUCCESS;
}

/* ---- start-up ------------------------------------------------------------ */

static int second_pass(void)
{
    return ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_CONFIG &&
           ap_state_query(AP_SQ_CONFIG_GEN) == 1;
}

/* The start-up lines of source i: skipped entities, then the summary. */
static void log_loaded(apr_pool_t *p, const anc_md_store_t *st, int i)
{
    const anc_md_source_cfg_t *src = &APR_ARRAY_IDX(st->sources, i, anc_md_source_cfg_t);
    const anc_md_info_t *info = st->start_info[i];

    if (!info || !st->parts[i]) {
        return;
    }
    log_skips(st->server, src, info);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, st->server,
                 "authncontext: metadata: %s: %d IdP(s), %d skipped, %d filtered "
                 "out%s%s (%s)",
                 src->path, info->idps, info->skipped->nelts, info->filtered,
                 info->valid_until ? ", validUntil " : "",
                 info->valid_until ? anc_time_format(p, info->valid_until) : "",
                 version_text(p, &st->parts[i]->version));
}

int anc_md_store_load(apr_pool_t *pconf, server_rec *s, apr_array_header_t *sources,
                      int allow_sha1, anc_md_store_t **store)
{
    anc_md_store_t *st = apr_pcalloc(pconf, sizeof(*st));
    int i, n = sources->nelts;
    md_snap_t *snap;

    st->sources = sources;
    st->allow_sha1 = allow_sha1;
    st->server = s;
    st->parts = apr_pcalloc(pconf, sizeof(md_part_t *) * (apr_size_t)n);
    st->seen = apr_pcalloc(pconf, sizeof(md_version_t) * (apr_size_t)n);
    st->next_check = apr_pcalloc(pconf, sizeof(apr_time_t) * (apr_size_t)n);
    st->start_info = apr_pcalloc(pconf, sizeof(anc_md_info_t *) * (apr_size_t)n);
    if (apr_thread_mutex_create(&st->lock, APR_THREAD_MUTEX_DEFAULT, pconf) !=
        APR_SUCCESS) {
        return !OK;
    }
    apr_pool_cleanup_register(pconf, st, store_cleanup, apr_pool_cleanup_null);
    for (i = 0; i < n; i++) {
        anc_md_source_cfg_t *src = &APR_ARRAY_IDX(sources, i, anc_md_source_cfg_t);
        anc_md_info_t *info = NULL;
        anc_error_t *err = NULL;
        apr_finfo_t fi;

        src->is_dir = apr_stat(&fi, src->path, APR_FINFO_TYPE, pconf) == APR_SUCCESS &&
                      fi.filetype == APR_DIR;
        src->watch =
            src->is_dir ? apr_pstrcat(pconf, src->path, "/index.tsv", NULL) : src->path;
        if (src->is_dir &&
            (src->verify_file || src->max_validity || src->entities || src->attrs)) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                         "authncontext: config: %s: AuthnContextIdPMetadataFile %s is a "
                         "per-entity directory: it is trusted through its index, so "
                         "verify=, maxValidity=, entities= and entityAttribute= belong "
                         "to authncontext-verify --metadata-split",
                         src->where, src->path);
            return !OK;
        }
        if (src->verify_file && !src->verify_key &&
            anc_key_load_cert(pconf, src->verify_file, &src->verify_key, &err) !=
                ANC_OK) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                         "authncontext: config: %s: AuthnContextIdPMetadataFile %s "
                         "verify=%s rejected reason=%s: %s",
                         src->where, src->path, src->verify_file, err->reason,
                         err->detail ? err->detail : "");
            return !OK;
        }
        if (load_part(st, i, pconf, NULL, &st->parts[i], &info, &err) != ANC_OK) {
            for (; i >= 0; i--) {
                if (st->parts[i]) {
                    apr_pool_destroy(st->parts[i]->pool);
                    st->parts[i] = NULL;
                }
            }
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                         "authncontext: config: %s: AuthnContextIdPMetadataFile %s "
                         "rejected reason=%s: %s",
                         src->where, src->path, err->reason,
                         err->detail ? err->detail : "");
            return !OK;
        }
        st->seen[i] = st->parts[i]->version;
        st->start_info[i] = info;
        if (!second_pass()) {
            log_loaded(pconf, st, i);
        }
    }
    snap = make_snapshot(st, st->parts, 1);
    if (!snap) {
        return !OK;
    }
    publish(st, snap);
    *store = st;
    /* The documents were freed, but glibc keeps the freed heap mapped: the
     * DOM of a large aggregate would otherwise stay resident in the parent
     * and in every child it forks. */
    malloc_trim(0);
    return OK;
}

const anc_trust_t *anc_md_config_trust(const anc_md_store_t *store)
{
    return store && store->current ? store->current->trust : NULL;
}

int anc_md_refreshable(const anc_md_store_t *store)
{
    int i;

    for (i = 0; store && i < store->sources->nelts; i++) {
        if (APR_ARRAY_IDX(store->sources, i, anc_md_source_cfg_t).refresh > 0) {
            return 1;
        }
    }
    return 0;
}

int anc_md_has_idp(anc_md_store_t *store, const char *entity_id)
{
    int found, i;

    if (!store) {
        return 0;
    }
    apr_thread_mutex_lock(store->lock);
    found = store->current && anc_trust_find(store->current->trust, entity_id) != NULL;
    for (i = 0; !found && store->current && i < store->sources->nelts; i++) {
        const md_part_t *part = store->current->parts[i];

        found = part && part->index && anc_md_index_has(part->index, entity_id);
    }
    apr_thread_mutex_unlock(store->lock);
    return found;
}

static apr_hash_t *stores_of(apr_pool_t *p, server_rec *s)
{
    apr_hash_t *h = apr_hash_make(p);
    server_rec *vs;

    for (vs = s; vs; vs = vs->next) {
        anc_srv_cfg_t *c = anc_srv(vs);

        if (c->idps && c->idps->store) {
            apr_hash_set(h, &c->idps->store, sizeof(c->idps->store), c->idps->store);
        }
    }
    return h;
}

void anc_md_post_config(apr_pool_t *pconf, server_rec *s)
{
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(pconf, stores_of(pconf, s)); hi; hi = apr_hash_next(hi)) {
        anc_md_store_t *st = apr_hash_this_val(hi);
        apr_shm_t *shm = NULL;
        int i, n = st->sources->nelts;

        if (second_pass()) {
            for (i = 0; i < n; i++) {
                log_loaded(pconf, st, i);
            }
        }
        memset(st->start_info, 0, sizeof(anc_md_info_t *) * (apr_size_t)n);

        if (st->log_slots || !anc_md_refreshable(st)) {
            continue;
        }
        /* anonymous: inherited by the children, gone with pconf */
        if (apr_shm_create(&shm, sizeof(apr_uint32_t) * (apr_size_t)n, NULL, pconf) !=
            APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "authncontext: metadata: no shared memory for the refresh "
                         "log: every process logs a changed source");
            continue;
        }
        st->log_slots = apr_shm_baseaddr_get(shm);
        for (i = 0; i < n; i++) {
            st->log_slots[i] = version_hash(&st->seen[i]); /* logged at start-up */
        }
    }
}

/* ---- refresh (the refresh thread of a child process) --------------------- */

static apr_interval_time_t check_interval(const anc_md_source_cfg_t *src,
                                          const md_part_t *part)
{
    apr_interval_time_t iv = apr_time_from_sec(src->refresh);

    /* SAML metadata 2.3.1 cacheDuration: look again no later than that */
    if (part && part->cache_duration > 0 && part->cache_duration < iv) {
        iv = part->cache_duration;
    }
    return iv < apr_time_from_sec(1) ? apr_time_from_sec(1) : iv;
}

static void log_key_changes(anc_md_store_t *st, const anc_md_source_cfg_t *src,
                            const md_part_t *old, const md_part_t *part, apr_pool_t *tmp)
{
    const apr_array_header_t *idps = anc_trust_idps(part->trust);
    int i;

    for (i = 0; old && i < idps->nelts; i++) {
        const anc_idp_t *idp = APR_ARRAY_IDX(idps, i, const anc_idp_t *);
        const anc_idp_t *prev = anc_trust_find(old->trust, idp->entity_id);

        if (prev && !anc_idp_same_keys(prev, idp)) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, st->server,
                         "authncontext: metadata: %s: the signing keys of IdP %s "
                         "changed (%d key(s) now, %s)",
                         src->path, idp->entity_id, idp->signing_keys->nelts,
                         version_text(tmp, &part->version));
        }
    }
}

/* One look at every due source of st; returns when to look next. */
static apr_time_t refresh_store(anc_md_store_t *st, apr_pool_t *tmp)
{
    apr_time_t now = apr_time_now(), next = now + apr_time_from_sec(3600);
    int i, changed = 0, n = st->sources->nelts;

    for (i = 0; i < n; i++) {
        const anc_md_source_cfg_t *src =
            &APR_ARRAY_IDX(st->sources, i, anc_md_source_cfg_t);
        md_part_t *part = st->parts[i];
        md_version_t v;

        if (part && part->expires && now >= part->expires) {
            /* SAML metadata 2.3.1: never past validUntil, even the last
             * good version */
            if (first_to_log(st, i, &part->version, LOG_EXPIRED)) {
                ap_log_error(APLOG_MARK, APLOG_ERR, 0, st->server,
                             "authncontext: metadata: %s: reason=%s detail=the version "
                             "in force (%s) reached its validUntil; its IdPs are no "
                             "longer trusted",
                             src->path, anc_reason(ANC_E_METADATA_VALIDITY),
                             version_text(tmp, &part->version));
            }
            st->parts[i] = part = NULL;
            changed = 1;
        }
        if (src->refresh > 0 && now >= st->next_check[i]) {
            apr_status_t why = APR_SUCCESS;

            st->next_check[i] = now + check_interval(src, part);
            if (!stat_version_why(tmp, src->watch, &v, &why)) {
                /* Typically the root parent could read the source at
                 * start-up but the httpd User cannot: without this line,
                 * new versions would go unnoticed in silence. Logged once
                 * per cause, by the first process that meets it. */
                md_version_t bad = {0, -1, (apr_ino_t)why};
                char msg[120];

                if (first_to_log(st, i, &bad, LOG_UNREADABLE)) {
                    ap_log_error(APLOG_MARK, APLOG_ERR, why, st->server,
                                 "authncontext: metadata: %s: cannot look at it for a "
                                 "refresh reason=%s detail=%s (uid %ld); new versions "
                                 "are not seen until it is readable by the httpd user",
                                 src->watch, anc_reason(ANC_E_INPUT),
                                 apr_strerror(why, msg, sizeof(msg)), (long)getuid());
                }
            } else if (!same_version(&v, &st->seen[i])) {
                md_part_t *np = NULL;
                anc_md_info_t *info = NULL;
                anc_error_t *err = NULL;
                int log;

                st->seen[i] = v;
                if (load_part(st, i, tmp, part, &np, &info, &err) != ANC_OK) {
                    if (first_to_log(st, i, &v, LOG_LOADED)) {
                        ap_log_error(APLOG_MARK, APLOG_ERR, 0, st->server,
                                     "authncontext: metadata: %s: new version refused "
                                     "reason=%s detail=%s (%s); %s",
                                     src->path, err->reason,
                                     err->detail ? err->detail : "",
                                     version_text(tmp, &v),
                                     part ? "the last good version stays in force until "
                                            "its validUntil"
                                          : "no version of it is in force");
                    }
                } else if (np == part) {
                    /* the same bytes as the version in force: nothing to
                     * parse, nothing changes (seen[i] is the new stat) */
                    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, st->server,
                                 "authncontext: metadata: %s: new file, same bytes as "
                                 "the version in force (%s); not parsed again",
                                 src->path, version_text(tmp, &v));
                } else {
                    st->seen[i] = np->version;
                    log = first_to_log(st, i, &np->version, LOG_LOADED);
                    if (log) {
                        log_skips(st->server, src, info);
                        log_key_changes(st, src, part, np, tmp);
                        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, st->server,
                                     "authncontext: metadata: %s: refreshed, %d IdP(s), "
                                     "%d skipped, %d filtered out (%s)",
                                     src->path, info->idps, info->skipped->nelts,
                                     info->filtered, version_text(tmp, &np->version));
                    }
                    st->parts[i] = part = np;
                    st->next_check[i] = now + check_interval(src, part);
                    changed = 1;
                }
            }
        }
        if (src->refresh > 0 && st->next_check[i] < next) {
            next = st->next_check[i];
        }
        if (part && part->expires && part->expires < next) {
            next = part->expires;
        }
    }
    if (changed) {
        md_snap_t *snap = make_snapshot(st, st->parts, 0);

        if (snap) {
            publish(st, snap);
        }
        malloc_trim(0); /* as after the first load */
    }
    return next;
}

typedef struct md_thread_t {
    apr_thread_mutex_t *mu;
    apr_thread_cond_t *cond;
    apr_thread_t *thread;
    apr_array_header_t *stores; /* anc_md_store_t * */
    int stop;
} md_thread_t;

static void *APR_THREAD_FUNC refresher(apr_thread_t *thd, void *data)
{
    md_thread_t *mt = data;
    apr_pool_t *tmp = NULL;

    apr_pool_create_unmanaged_ex(&tmp, NULL, NULL);
    apr_thread_mutex_lock(mt->mu);
    while (!mt->stop) {
        apr_time_t next, now;
        int i;

        apr_thread_mutex_unlock(mt->mu);
        next = apr_time_now() + apr_time_from_sec(3600);
        for (i = 0; tmp && i < mt->stores->nelts; i++) {
            apr_time_t t =
                refresh_store(APR_ARRAY_IDX(mt->stores, i, anc_md_store_t *), tmp);

            if (t < next) {
                next = t;
            }
            apr_pool_clear(tmp);
        }
        now = apr_time_now();
        apr_thread_mutex_lock(mt->mu);
        if (!mt->stop) {
            apr_interval_time_t wait = next - now;

            if (wait < apr_time_from_msec(200)) {
                wait = apr_time_from_msec(200);
            }
            apr_thread_cond_timedwait(mt->cond, mt->mu, wait);
        }
    }
    apr_thread_mutex_unlock(mt->mu);
    destroy_pool(tmp);
    apr_thread_exit(thd, APR_SUCCESS);
    return NULL;
}

static apr_status_t stop_refresher(void *data)
{
    md_thread_t *mt = data;
    apr_status_t rv;

    apr_thread_mutex_lock(mt->mu);
    mt->stop = 1;
    apr_thread_cond_signal(mt->cond);
    apr_thread_mutex_unlock(mt->mu);
    apr_thread_join(&rv, mt->thread);
    return APR_SUCCESS;
}

void anc_md_child_init(apr_pool_t *pchild, server_rec *s)
{
    md_thread_t *mt = apr_pcalloc(pchild, sizeof(*mt));
    apr_hash_index_t *hi;

    mt->stores = apr_array_make(pchild, 2, sizeof(anc_md_store_t *));
    for (hi = apr_hash_first(pchild, stores_of(pchild, s)); hi; hi = apr_hash_next(hi)) {
        anc_md_store_t *st = apr_hash_this_val(hi);

        if (anc_md_refreshable(st)) {
            APR_ARRAY_PUSH(mt->stores, anc_md_store_t *) = st;
        }
    }
    if (mt->stores->nelts == 0) {
        return;
    }
    if (apr_thread_mutex_create(&mt->mu, APR_THREAD_MUTEX_DEFAULT, pchild) !=
            APR_SUCCESS ||
        apr_thread_cond_create(&mt->cond, pchild) != APR_SUCCESS ||
        apr_thread_create(&mt->thread, NULL, refresher, mt, pchild) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "authncontext: metadata: cannot start the refresh thread; metadata "
                     "is not re-read in this process until a restart");
        return;
    }
    /* before pchild's subpools (the thread's) are destroyed */
    apr_pool_pre_cleanup_register(pchild, mt, stop_refresher);
}

/* ---- the request path ------------------------------------------------------ */

typedef struct held_t {
    anc_md_store_t *store;
    md_snap_t *snap;
    request_rec *r;
    const anc_trust_t *trust; /* the snapshot's, or an overlay on it */
} held_t;

typedef struct entry_hold_t {
    anc_md_store_t *store;
    md_entry_t *entry;
} entry_hold_t;

static apr_status_t release_entry(void *data)
{
    entry_hold_t *h = data;

    apr_thread_mutex_lock(h->store->lock);
    h->entry->refs--;
    apr_thread_mutex_unlock(h->store->lock);
    return APR_SUCCESS;
}

/* Takes a cached entry for the request (under st->lock). */
static const anc_idp_t *hold_entry(held_t *h, md_part_t *part, md_entry_t *e)
{
    entry_hold_t *eh = apr_palloc(h->r->pool, sizeof(*eh));

    e->refs++;
    e->used = ++part->tick;
    eh->store = h->store;
    eh->entry = e;
    apr_pool_cleanup_register(h->r->pool, eh, release_entry, apr_pool_cleanup_null);
    return e->idp;
}

/* anc_trust_resolve_fn for the per-entity directories of a snapshot: the
 * process's cache, else the entity's file (hash checked against the
 * index), cached within cache= entries (least recently used and unused
 * ones are evicted). An entityID that no index lists costs a hash lookup. */
static const anc_idp_t *resolve_entity(void *ctx, const char *entity_id)
{
    held_t *h = ctx;
    anc_md_store_t *st = h->store;
    int i;

    for (i = 0; i < st->sources->nelts; i++) {
        const anc_md_source_cfg_t *src =
            &APR_ARRAY_IDX(st->sources, i, anc_md_source_cfg_t);
        md_part_t *part = h->snap->parts[i];
        md_entry_t *e, *mine, *dead[8];
        apr_pool_t *pool;
        anc_trust_t *t;
        anc_error_t *err = NULL;
        const anc_idp_t *idp;
        int ndead = 0, j;

        if (!part || !part->index || !anc_md_index_has(part->index, entity_id)) {
            continue;
        }
        apr_thread_mutex_lock(st->lock);
        e = apr_hash_get(part->cache, entity_id, APR_HASH_KEY_STRING);
        if (e) {
            idp = hold_entry(h, part, e);
            apr_thread_mutex_unlock(st->lock);
            return idp;
        }
        apr_thread_mutex_unlock(st->lock);
        /* read outside the lock: other requests go on */
        pool = unmanaged_pool();
        if (!pool) {
            return NULL;
        }
        t = anc_trust_create(pool);
        if (anc_md_index_load_entity(part->index, t, entity_id, &err) != ANC_OK) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, h->r,
                          "authncontext: metadata: %s: entity %s refused reason=%s "
                          "detail=%s",
                          src->path, entity_id, err ? err->reason : "metadata-invalid",
                          err && err->detail ? err->detail : "");
            apr_pool_destroy(pool);
            return NULL;
        }
        mine = apr_pcalloc(pool, sizeof(*mine));
        mine->pool = pool;
        mine->entity_id = apr_pstrdup(pool, entity_id);
        mine->idp = anc_trust_find(t, entity_id);
        apr_thread_mutex_lock(st->lock);
        e = apr_hash_get(part->cache, entity_id, APR_HASH_KEY_STRING);
        if (!e) {
            e = mine;
            mine = NULL;
            apr_hash_set(part->cache, e->entity_id, APR_HASH_KEY_STRING, e);
            part->cache_n++;
            /* bounded: evict the least recently used entries nobody holds */
            while (part->cache_n > src->cache_max && ndead < 8) {
                apr_hash_index_t *hi;
                md_entry_t *lru = NULL;

                for (hi = apr_hash_first(NULL, part->cache); hi; hi = apr_hash_next(hi)) {
                    md_entry_t *c = apr_hash_this_val(hi);

                    if (c != e && c->refs == 0 && (!lru || c->used < lru->used)) {
                        lru = c;
                    }
                }
                if (!lru) {
                    break;
                }
                apr_hash_set(part->cache, lru->entity_id, APR_HASH_KEY_STRING, NULL);
                part->cache_n--;
                dead[ndead++] = lru;
            }
        }
        idp = hold_entry(h, part, e);
        apr_thread_mutex_unlock(st->lock);
        if (mine) {
            apr_pool_destroy(mine->pool); /* another request loaded it first */
        }
        for (j = 0; j < ndead; j++) {
            apr_pool_destroy(dead[j]->pool);
        }
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, h->r,
                      "authncontext: metadata: %s: entity %s loaded", src->path,
                      entity_id);
        return idp;
    }
    return NULL;
}

static apr_status_t release_held(void *data)
{
    held_t *h = data;

    snap_release(h->store, h->snap);
    return APR_SUCCESS;
}

const anc_trust_t *anc_idps_trust(request_rec *r)
{
    anc_srv_cfg_t *c = anc_srv(r->server);
    anc_md_store_t *st = c->idps ? c->idps->store : NULL;
    held_t *h = NULL;

    if (!st) {
        return NULL;
    }
    apr_pool_userdata_get((void **)&h, SNAPSHOT_NOTE, r->pool);
    if (h && h->store == st) {
        return h->trust;
    }
    h = apr_palloc(r->pool, sizeof(*h));
    h->store = st;
    h->r = r;
    apr_thread_mutex_lock(st->lock);
    h->snap = st->current;
    if (h->snap) {
        h->snap->refs++;
    }
    apr_thread_mutex_unlock(st->lock);
    if (!h->snap) {
        return NULL;
    }
    apr_pool_cleanup_register(r->pool, h, release_held, apr_pool_cleanup_null);
    apr_pool_userdata_setn(h, SNAPSHOT_NOTE, NULL, r->pool);
    h->trust = h->snap->trust;
    {
        int i, lazy = 0;

        for (i = 0; i < st->sources->nelts; i++) {
            const md_part_t *part = h->snap->parts[i];

            if (part && part->index) {
                lazy += anc_md_index_count(part->index);
            }
        }
        if (lazy) {
            h->trust =
                anc_trust_overlay(r->pool, h->snap->trust, resolve_entity, h, lazy);
        }
    }
    return h->trust;
}

static apr_status_t destroy_derived_pool(void *data)
{
    apr_pool_destroy(data);
    return APR_SUCCESS;
}

/* Built at most once per snapshot and process: the first request that asks
 * builds it outside the lock (others go on; two first requests may both
 * build, one result is kept and the other freed), then it is published
 * under store->lock and read-only. It lives as long as the snapshot: the
 * request holds the snapshot (anc_idps_trust), so the result stays valid
 * until r's pool is cleaned up, even across a refresh. */
const void *anc_idps_derived(request_rec *r, anc_md_derive_fn *build, void *ctx)
{
    anc_srv_cfg_t *c = anc_srv(r->server);
    anc_md_store_t *st = c->idps ? c->idps->store : NULL;
    held_t *h = NULL;
    apr_pool_t *pool;
    const anc_md_index_t **indexes;
    const void *mine, *got;
    int i, n;

    if (!st || !anc_idps_trust(r)) {
        return NULL;
    }
    apr_pool_userdata_get((void **)&h, SNAPSHOT_NOTE, r->pool);
    if (!h || !h->snap) {
        return NULL;
    }
    apr_thread_mutex_lock(st->lock);
    got = h->snap->derived_by == build ? h->snap->derived : NULL;
    apr_thread_mutex_unlock(st->lock);
    if (got) {
        return got;
    }
    if (!(pool = unmanaged_pool())) {
        return NULL;
    }
    n = st->sources->nelts;
    indexes = apr_pcalloc(pool, sizeof(*indexes) * (apr_size_t)n);
    for (i = 0; i < n; i++) {
        indexes[i] = h->snap->parts[i] ? h->snap->parts[i]->index : NULL;
    }
    mine = build(pool, h->snap->trust, indexes, n, ctx);
    apr_thread_mutex_lock(st->lock);
    if (!h->snap->derived && mine) {
        h->snap->derived = mine;
        h->snap->derived_pool = pool;
        h->snap->derived_by = build;
        pool = NULL;
    }
    got = h->snap->derived_by == build ? h->snap->derived : NULL;
    apr_thread_mutex_unlock(st->lock);
    if (pool && !got) {
        /* the slot holds another function's data: this one is not cached
         * (one derivation per store is the intended use); it lives as long
         * as the request */
        apr_pool_cleanup_register(r->pool, pool, destroy_derived_pool,
                                  apr_pool_cleanup_null);
        return mine;
    }
    if (pool) {
        apr_pool_destroy(pool);
    }
    return got;
}
