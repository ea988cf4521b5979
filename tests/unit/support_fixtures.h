/*
 * support_fixtures.h - access to the fixtures minted by tests/lib/samlforge.py
 * (directory in env ANC_TEST_DATA): settings, manifest, expected records,
 * files; plus a verifier configured like the manifest expects.
 */
#ifndef SUPPORT_FIXTURES_H
#define SUPPORT_FIXTURES_H

#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "anc_metadata.h"
#include "anc_response.h"

typedef struct fx_case_t {
    const char *file;       /* relative to the fixture directory */
    const char *verdict;    /* accept | reject | idp-error */
    const char *reason;     /* "-" for none */
    const char *request_id; /* NULL for none */
    const char *now;        /* RFC 3339 */
    const char *flags;      /* "-" or comma list */
} fx_case_t;

/* The fixture directory; fails the test (ck_abort) when unset. */
const char *fx_dir(void);
/* Absolute path of a fixture file. */
const char *fx_path(apr_pool_t *p, const char *rel);
/* A value of settings.tsv, or NULL. */
const char *fx_setting(apr_pool_t *p, const char *key);
/* The whole file (NUL-terminated); ck_abort when unreadable. */
char *fx_read(apr_pool_t *p, const char *rel, apr_size_t *len);
/* Every manifest line, in order (array of fx_case_t). */
apr_array_header_t *fx_manifest(apr_pool_t *p);
/* Manifest lines of another directory in the same format; file names are
 * made absolute (prefixed with dir) so fx_verify_case can read them. */
apr_array_header_t *fx_manifest_at(apr_pool_t *p, const char *dir);
/* Whether a comma-separated flag list holds flag. */
int fx_has_flag(const char *flags, const char *flag);
/* expected.json flattened: file -> (apr_hash of path -> value or NULL for
 * JSON null); arrays get "path#" -> element count. Made by python3. */
apr_hash_t *fx_expected(apr_pool_t *p);
/* The record of an accepted assertion flattened the same way. */
apr_hash_t *fx_flatten_record(apr_pool_t *p, const anc_assertion_t *a);

/* anc_lib_init + the trust store of metadata-all.xml (cached per pool). */
const anc_trust_t *fx_trust(apr_pool_t *p);
/* A verifier for one manifest case (flags applied to the SP settings). */
const anc_verifier_t *fx_verifier(apr_pool_t *p, const char *flags);
/* A request lookup that knows exactly one id (ctx is a const char *). */
anc_status_t fx_lookup_one(void *ctx, const char *id, apr_pool_t *scratch,
                           anc_error_t **err);
/* Runs one case through anc_response_verify with the given replay cache. */
anc_verify_result_t *fx_verify_case(apr_pool_t *p, const fx_case_t *c,
                                    const anc_replay_cache_t *replay);

#endif
