/*
 * httpd_config.h - the module's configuration: server and directory records,
 * their create/merge functions, the directive table, and the start-up hooks
 * that turn configured paths into loaded keys, trust stores and caches.
 *
 * Every field has an UNSET sentinel (ANC_UNSET for ints, NULL for
 * pointers) and the merge functions handle every field explicitly; the
 * effective value (default applied) is read through the accessors below.
 */
#ifndef HTTPD_CONFIG_H
#define HTTPD_CONFIG_H

#include "httpd.h"
#include "http_config.h"
#include "ap_socache.h"
#include "apr_global_mutex.h"

#include "anc_metadata.h"
#include "anc_policy.h"
#include "httpd_metadata.h"

extern module AP_MODULE_DECLARE_DATA authncontext_module;

#define ANC_UNSET (-1)

#define ANC_DEFAULT_ENDPOINT "/saml"
#define ANC_DEFAULT_SESSION_LIFETIME 28800
#define ANC_DEFAULT_COOKIE_NAME "authncontext_session"
#define ANC_DEFAULT_SAMESITE "Lax"
#define ANC_MUTEX_TYPE "authncontext-cache"
/* Seconds an unsolicited assertion may be old (by its IssueInstant, plus
 * the clock skew): also how long its replay record must be kept. */
#define ANC_DEFAULT_UNSOLICITED_MAX_AGE 300
/* Login starts per client address and minute when pending requests are in
 * a networked store (AuthnContextRequestLimit); none with shmcb, whose
 * size bounds the store. */
#define ANC_DEFAULT_REQUEST_LIMIT 100

/* IdP trust: the metadata sources of one server and the store built from
 * them in check_config (httpd_metadata.c). Shared by the virtual hosts
 * that do not set their own sources. Requests read the IdPs through
 * anc_idps_trust(r), never the store directly: it is refreshed at run
 * time. */
typedef struct anc_idps_t {
    apr_array_header_t *sources; /* anc_md_source_cfg_t */
    anc_md_store_t *store;       /* NULL until loaded */
} anc_idps_t;

/* The SP's key pair (request signing, decryption, SP metadata). */
typedef struct anc_spkey_t {
    const char *key_file; /* absolute, or NULL */
    const char *cert_file;
    anc_key_t *key; /* NULL until loaded */
} anc_spkey_t;

/* One ap_socache instance: the session cache (sessions, pending requests,
 * retry markers) or the replay cache (assertion IDs). Shared by the virtual
 * hosts that do not set their own. */
/* Which client the glue's atomic operations (httpd_shared.c) use beside
 * ap_socache for an instance: ap_socache offers no add-if-absent. */
#define ANC_STORE_LOCKED 0   /* under the global mutex (shmcb, others not MP safe) */
#define ANC_STORE_REDIS 1    /* hiredis */
#define ANC_STORE_MEMCACHE 2 /* apr_memcache */
#define ANC_STORE_OTHER 3    /* MP safe, no client of ours: read then write */

typedef struct anc_store_server_t {
    const char *host;
    apr_port_t port;
} anc_store_server_t;

typedef struct anc_cache_t {
    const char *spec; /* as configured, for logs */
    int replay;       /* holds replay records: small values, its own hints */
    int requests;     /* holds pending requests: records up to a few KB */
    int kind;         /* ANC_STORE_*, set in check_config */
    /* redis/memcache: the servers of the spec, in its order (anc_store_server_t) */
    apr_array_header_t *servers;
    void *shared; /* per child: httpd_shared.c's clients of those servers */
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex; /* only when not MT/MP safe */
    const char *ns;            /* socache namespace */
    int initialised;
    server_rec *server; /* the one it was initialised for */
} anc_cache_t;

/* Vocabulary lines as written; check_config builds each server's
 * vocabulary from them (file and line name the line in its messages). */
typedef struct anc_level_t {
    int level;
    const char *uri;
    const char *file;
    int line;
} anc_level_t;

typedef struct anc_alias_t {
    const char *from;
    const char *to;
    const char *file;
    int line;
} anc_alias_t;

/* A class rule as written (`Require authnContextClassRef ...`,
 * `AuthnContextRequest ...`). Rules read from the configuration files are
 * compiled in check_config against the final vocabulary of their server,
 * so AuthnContextClassLevel/Alias lines may stand anywhere; a rule read
 * from .htaccess (per request, after start-up) is compiled at once. */
typedef struct anc_rule_ref_t {
    anc_class_rule_t *rule; /* NULL until compiled */
    const char *words;      /* the rule's words, for logs and messages */
    int argc;
    const char *const *argv;
    const char *what; /* the directive, for messages */
    const char *file;
    int line;
    server_rec *server;
} anc_rule_ref_t;

/* Page templates and readable class names (httpd_pages.c). */
typedef struct anc_pages_cfg_t anc_pages_cfg_t;

typedef struct anc_srv_cfg_t {
    const char *sp_entity_id;
    anc_spkey_t *spkey;
    anc_idps_t *idps;
    const char *endpoint;
    anc_cache_t *cache;
    /* Assertion IDs live apart from sessions: shmcb silently drops the
     * oldest records of a full subcache, and session churn must never
     * push a replay record out (AuthnContextReplayCache). */
    anc_cache_t *replay_cache;
    /* Pending AuthnRequests (written without authentication) live apart
     * from sessions, so that a flood of login starts cannot push a
     * session out (AuthnContextRequestCache). */
    anc_cache_t *request_cache;
    int request_limit; /* login starts per client and minute, 0 = none */
    int session_lifetime;
    int clock_skew;
    int unsolicited_max_age; /* seconds, 0 = off; AuthnContextUnsolicitedMaxAge */
    int allow_unsolicited;
    int allow_sha1;
    int require_signed_assertion;
    int max_response_size;
    const char *cookie_name;
    int cookie_secure;
    const char *cookie_samesite;
    /* policy vocabulary: the lines of this server (a virtual host's own
     * lines come on top of the main server's) and the vocabulary that
     * check_config builds from them */
    apr_array_header_t *levels;  /* anc_level_t */
    apr_array_header_t *aliases; /* anc_alias_t */
    anc_vocab_t *vocab;
    apr_array_header_t *class_attributes; /* const char * */
    apr_array_header_t *error_hosts;      /* const char *, lower case */
    anc_pages_cfg_t *pages;    /* AuthnContextTemplateDir, AuthnContextClassName */
    int show_attribute_values; /* PATH/session: values too (default Off) */
    int single_logout;         /* AuthnContextSingleLogout (default On) */
} anc_srv_cfg_t;

#define ANC_BINDING_IS_REDIRECT 0
#define ANC_BINDING_IS_POST 1
#define ANC_UNAUTH_REDIRECT 0
#define ANC_UNAUTH_401 1
/* lazy: a request without a session goes on without a user */
#define ANC_UNAUTH_PASS 2

typedef struct anc_dir_cfg_t {
    /* AuthnContextIdP: the one entityID when the location names exactly one
     * and no entityAttribute= (the old single-IdP meaning), else NULL */
    const char *idp;
    apr_array_header_t *idp_ids;   /* const char *: every entityID named, or NULL */
    apr_array_header_t *idp_attrs; /* anc_md_attr_t: entityAttribute=, or NULL */
    const char *disco_url;         /* AuthnContextDiscoveryURL, "" for Off, NULL unset */
    int request_set;               /* ANC_UNSET, 0 (Off), 1 (rule) */
    anc_rule_ref_t *request;       /* the AuthnContextRequest rule when 1 */
    int max_age;
    int force_authn;
    int passive;
    const char *error_url;
    int retry_without_context;
    int request_binding;
    int sign_requests;
    const char *sig_alg;
    int export_headers;
    int unauth_action;
    const char *user_attribute;
} anc_dir_cfg_t;

void *anc_create_server_config(apr_pool_t *p, server_rec *s);
void *anc_merge_server_config(apr_pool_t *p, void *basev, void *addv);
void *anc_create_dir_config(apr_pool_t *p, char *dir);
void *anc_merge_dir_config(apr_pool_t *p, void *basev, void *addv);
extern const command_rec anc_cmds[];

/* Start-up hooks (registered by mod_authncontext.c). */
int anc_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
int anc_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                     server_rec *s);
int anc_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                    server_rec *s);
void anc_child_init(apr_pool_t *p, server_rec *s);
/* httpd_shared.c, from child_init: the clients of c's servers for this
 * process when c is redis or memcache (connections made on first use). */
apr_status_t anc_shared_child_init(apr_pool_t *p, anc_cache_t *c);

/* Keeps the words of a class rule (what: the directive, for messages) and
 * compiles it in check_config, or at once when read from .htaccess.
 * Returns NULL or a message for configtest. */
const char *anc_rule_ref_make(cmd_parms *cmd, const char *what, int argc,
                              const char *const *argv, anc_rule_ref_t **out);
/* The compiled rule of a location's AuthnContextRequest, or NULL. */
const anc_class_rule_t *anc_dir_request_rule(const anc_dir_cfg_t *d);

/* NULL when the words of a class rule are a known comparison and absolute
 * URIs (or '!' / '~ REGEX'), else a message for configtest. */
const char *anc_check_class_words(apr_pool_t *p, int argc, const char *const *argv);

/* Accessors: effective values with defaults applied. */
anc_srv_cfg_t *anc_srv(const server_rec *s);
anc_dir_cfg_t *anc_dir(const request_rec *r);
int anc_srv_enabled(const anc_srv_cfg_t *c); /* entityID and IdPs loaded */
/* anc_srv_enabled for r's server; when not, logs once (part: "authn",
 * "login", ...) with reason=config-invalid and returns 0. */
int anc_srv_ready(request_rec *r, const char *part);
const char *anc_srv_endpoint(const anc_srv_cfg_t *c);
int anc_srv_session_lifetime(const anc_srv_cfg_t *c);
int anc_srv_clock_skew(const anc_srv_cfg_t *c);
/* default ANC_DEFAULT_UNSOLICITED_MAX_AGE */
int anc_srv_unsolicited_max_age(const anc_srv_cfg_t *c);
/* AuthnContextRequestLimit, its default depending on the request store */
int anc_srv_request_limit(const anc_srv_cfg_t *c);
const char *anc_srv_cookie_name(const anc_srv_cfg_t *c);
int anc_srv_cookie_secure(const anc_srv_cfg_t *c);
const char *anc_srv_cookie_samesite(const anc_srv_cfg_t *c);
apr_size_t anc_srv_max_response_size(const anc_srv_cfg_t *c);
const anc_key_t *anc_srv_key(const anc_srv_cfg_t *c);
const anc_vocab_t *anc_srv_vocab(const anc_srv_cfg_t *c);

int anc_dir_flag(int v, int dflt);
int anc_dir_sign_requests(const anc_dir_cfg_t *d, const anc_srv_cfg_t *c);
const char *anc_dir_sig_alg(const anc_dir_cfg_t *d);

#endif
