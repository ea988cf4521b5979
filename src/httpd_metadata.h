/*
 * httpd_metadata.h - IdP metadata sources in httpd: the
 * AuthnContextIdPMetadataFile directive's options, loading at start-up,
 * refresh without restart, and the snapshot a request reads.
 */
#ifndef HTTPD_METADATA_H
#define HTTPD_METADATA_H

#include "httpd.h"
#include "http_config.h"

#include "anc_metadata.h"

/* Seconds between two looks at a source file when refresh= is not given
 * (a stat(2) per source per process; the file is read only when its
 * mtime, size or inode changed). */
#define ANC_MD_DEFAULT_REFRESH 60

/* One AuthnContextIdPMetadataFile source as configured. */
typedef struct anc_md_source_cfg_t {
    const char *path;             /* absolute */
    const char *verify_file;      /* verify=, absolute, or NULL */
    anc_key_t *verify_key;        /* loaded in check_config */
    int max_validity;             /* maxValidity= seconds, 0 = none */
    int refresh;                  /* refresh= seconds, 0 = never re-read */
    apr_array_header_t *entities; /* entities=, const char *, or NULL */
    apr_array_header_t *attrs;    /* entityAttribute=, anc_md_attr_t, or NULL */
    const char *where;            /* "file:line" of the directive */
    int cache_max;                /* cache= entities per process (directories) */
    int is_dir;                   /* PATH is a per-entity directory (set at load) */
    const char *watch;            /* the file whose changes are looked for */
} anc_md_source_cfg_t;

/* Entities of a per-entity directory each process keeps loaded at most
 * (cache=): an unauthenticated ?idp= or Issuer naming listed IdPs one
 * after the other cannot grow a process beyond that. */
#define ANC_MD_DEFAULT_CACHE 1000

typedef struct anc_md_store_t anc_md_store_t;

/* Parses one AuthnContextIdPMetadataFile line (RAW_ARGS) and appends its
 * sources to *sources (created in cmd->pool when NULL). NULL or a message
 * for configtest. */
const char *anc_md_parse_directive(cmd_parms *cmd, const char *args,
                                   apr_array_header_t **sources);

/* Loads every source (configtest names the file and the reason of the
 * first that fails), logs skipped entities, and builds the first snapshot.
 * allow_sha1: AuthnContextAllowSHA1 of the server holding the sources.
 * OK, or !OK after logging. */
int anc_md_store_load(apr_pool_t *pconf, server_rec *s, apr_array_header_t *sources,
                      int allow_sha1, anc_md_store_t **store);

/* Start-up only (single-threaded): the IdPs of the current snapshot. */
const anc_trust_t *anc_md_config_trust(const anc_md_store_t *store);
/* Any source re-read at run time (refresh= not 0). */
int anc_md_refreshable(const anc_md_store_t *store);
/* Whether the current snapshot holds an entityID (thread-safe). */
int anc_md_has_idp(anc_md_store_t *store, const char *entity_id);

/* post_config: the shared memory that lets one process of the server log a
 * change of a source (its first look at it), not every process. */
void anc_md_post_config(apr_pool_t *pconf, server_rec *s);
/* child_init: starts the refresh thread of this process. */
void anc_md_child_init(apr_pool_t *pchild, server_rec *s);

/* The trust store for this request: the current snapshot of r's server,
 * held until r's pool is cleaned up (a refresh meanwhile does not free it).
 * NULL when the server has no metadata. */
const anc_trust_t *anc_idps_trust(request_rec *r);

/* Builds data from a snapshot in p (a pool of its own that lives as long
 * as the snapshot): base holds the IdPs loaded whole, indexes[0..n-1] the
 * per-entity directories' indexes (NULL entries for other sources). */
typedef const void *anc_md_derive_fn(apr_pool_t *p, const anc_trust_t *base,
                                     const anc_md_index_t *const *indexes, int n,
                                     void *ctx);
/* The data build made from r's snapshot, built once per snapshot and
 * process (thread-safe; one derivation per store: the discovery list of
 * httpd_disco.c). NULL without metadata or when build returned NULL. */
const void *anc_idps_derived(request_rec *r, anc_md_derive_fn *build, void *ctx);

#endif
