/*
 * httpd_config.c - server and directory configuration of mod_authncontext.
 *
 * Directives validate their value when the configuration is read, so a
 * mistake fails `apachectl configtest`. Files (IdP metadata, SP key and
 * certificate) are loaded in the check_config hook, which httpd runs after
 * the virtual hosts are merged and before a configtest exits, so an
 * unreadable metadata file or an IdP without a key also fails configtest.
 * The session caches are initialised in post_config (which runs twice at
 * start-up) and their mutexes reattached in child_init.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_core.h"
#include "ap_provider.h"
#include "ap_socache.h"
#include "util_mutex.h"
#include "apr_strings.h"
#include "apr_lib.h"
#include "apr_hash.h"

#include "anc_init.h"
#include <libxml/xmlversion.h>
#include <openssl/opensslv.h>
#include <xmlsec/version.h>
#include "anc_authnreq.h"
#include "httpd_config.h"
#include "httpd_glue.h"

APLOG_USE_MODULE(authncontext);

/* The checks that need the whole configuration (rules against the final
 * vocabulary, AuthnContextIdP against the loaded metadata), queued while
 * the files are read and run by check_config. It lives in pconf's userdata
 * from pre_config on: a directive that finds none is read from .htaccess,
 * per request, and is checked at once. */
#define DEFERRED_KEY "authncontext:deferred-checks"

/* mod_socache_shmcb without arguments is 512000 bytes, and a session
 * record is several KB: a busy server dropped sessions (and, when the
 * replay records shared that instance, replay records) within minutes.
 * Each default shmcb instance gets this size instead. */
#define ANC_DEFAULT_SHMCB_SIZE_TEXT "4194304"

typedef struct idp_use_t {
    const char *entity_id;
    const char *file;
    int line;
    server_rec *server;
} idp_use_t;

typedef struct deferred_t {
    apr_array_header_t *rules; /* anc_rule_ref_t * */
    apr_array_header_t *idps;  /* idp_use_t */
} deferred_t;

static deferred_t *deferred_of(cmd_parms *cmd)
{
    void *d = NULL;

    apr_pool_userdata_get(&d, DEFERRED_KEY, cmd->pool);
    return d;
}

/* ---------------------------------------------------------------------- */
/* create / merge                                                          */

void *anc_create_server_config(apr_pool_t *p, server_rec *s)
{
    anc_srv_cfg_t *c = apr_pcalloc(p, sizeof(*c));

    /* pointers are NULL (unset) by calloc */
    c->session_lifetime = ANC_UNSET;
    c->clock_skew = ANC_UNSET;
    c->unsolicited_max_age = ANC_UNSET;
    c->request_limit = ANC_UNSET;
    c->allow_unsolicited = ANC_UNSET;
    c->allow_sha1 = ANC_UNSET;
    c->require_signed_assertion = ANC_UNSET;
    c->max_response_size = ANC_UNSET;
    c->cookie_secure = ANC_UNSET;
    c->show_attribute_values = ANC_UNSET;
    c->single_logout = ANC_UNSET;
    return c;
}

#define MERGE_PTR(f) m->f = add->f ? add->f : base->f
#define MERGE_INT(f) m->f = add->f != ANC_UNSET ? add->f : base->f

void *anc_merge_server_config(apr_pool_t *p, void *basev, void *addv)
{
    const anc_srv_cfg_t *base = basev, *add = addv;
    anc_srv_cfg_t *m = apr_pcalloc(p, sizeof(*m));

    MERGE_PTR(sp_entity_id);
    MERGE_PTR(spkey);
    MERGE_PTR(idps);
    MERGE_PTR(endpoint);
    MERGE_PTR(cache);
    MERGE_PTR(replay_cache);
    MERGE_PTR(request_cache);
    MERGE_INT(request_limit);
    MERGE_INT(session_lifetime);
    MERGE_INT(clock_skew);
    MERGE_INT(unsolicited_max_age);
    MERGE_INT(allow_unsolicited);
    MERGE_INT(single_logout);
    MERGE_INT(allow_sha1);
    MERGE_INT(require_signed_assertion);
    MERGE_INT(max_response_size);
    MERGE_PTR(cookie_name);
    MERGE_INT(cookie_secure);
    MERGE_PTR(cookie_samesite);
    /* A virtual host's own levels or aliases come on top of the main
     * server's when check_config builds its vocabulary. */
    MERGE_PTR(levels);
    MERGE_PTR(aliases);
    MERGE_PTR(vocab);
    MERGE_PTR(class_attributes);
    MERGE_PTR(error_hosts);
    m->pages = add->pages;
    anc_pages_merge(p, (anc_srv_cfg_t *)base, m);
    MERGE_INT(show_attribute_values);
    return m;
}

void *anc_create_dir_config(apr_pool_t *p, char *dir)
{
    anc_dir_cfg_t *d = apr_pcalloc(p, sizeof(*d));

    /* pointers are NULL (unset) by calloc */
    d->request_set = ANC_UNSET;
    d->max_age = ANC_UNSET;
    d->force_authn = ANC_UNSET;
    d->passive = ANC_UNSET;
    d->retry_without_context = ANC_UNSET;
    d->request_binding = ANC_UNSET;
    d->sign_requests = ANC_UNSET;
    d->export_headers = ANC_UNSET;
    d->unauth_action = ANC_UNSET;
    return d;
}

void *anc_merge_dir_config(apr_pool_t *p, void *basev, void *addv)
{
    const anc_dir_cfg_t *base = basev, *add = addv;
    anc_dir_cfg_t *m = apr_pcalloc(p, sizeof(*m));

    /* the IdP set is one setting: a location that names any replaces it */
    if (add->idp_ids || add->idp_attrs) {
        m->idp = add->idp;
        m->idp_ids = add->idp_ids;
        m->idp_attrs = add->idp_attrs;
    } else {
        m->idp = base->idp;
        m->idp_ids = base->idp_ids;
        m->idp_attrs = base->idp_attrs;
    }
    MERGE_PTR(disco_url);
    if (add->request_set != ANC_UNSET) {
        m->request_set = add->request_set;
        m->request = add->request;
    } else {
        m->request_set = base->request_set;
        m->request = base->request;
    }
    MERGE_INT(max_age);
    MERGE_INT(force_authn);
    MERGE_INT(passive);
    MERGE_PTR(error_url);
    MERGE_INT(retry_without_context);
    MERGE_INT(request_binding);
    MERGE_INT(sign_requests);
    MERGE_PTR(sig_alg);
    MERGE_INT(export_headers);
    MERGE_INT(unauth_action);
    MERGE_PTR(user_attribute);
    return m;
}

/* ---------------------------------------------------------------------- */
/* accessors                                                               */

anc_srv_cfg_t *anc_srv(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &authncontext_module);
}

anc_dir_cfg_t *anc_dir(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &authncontext_module);
}

int anc_srv_enabled(const anc_srv_cfg_t *c)
{
    return c->sp_entity_id && c->idps && c->idps->store && c->cache &&
           c->cache->initialised && c->replay_cache && c->replay_cache->initialised &&
           c->request_cache && c->request_cache->initialised;
}

int anc_srv_ready(request_rec *r, const char *part)
{
    if (anc_srv_enabled(anc_srv(r->server))) {
        return 1;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "authncontext: %s: failed reason=%s detail=SAML is used here but this "
                  "server has no AuthnContextSPEntityID/AuthnContextIdPMetadataFile",
                  part, anc_reason(ANC_E_CONFIG));
    return 0;
}

const char *anc_srv_endpoint(const anc_srv_cfg_t *c)
{
    return c->endpoint ? c->endpoint : ANC_DEFAULT_ENDPOINT;
}

int anc_srv_session_lifetime(const anc_srv_cfg_t *c)
{
    return c->session_lifetime != ANC_UNSET ? c->session_lifetime
                                            : ANC_DEFAULT_SESSION_LIFETIME;
}

int anc_srv_clock_skew(const anc_srv_cfg_t *c)
{
    return c->clock_skew != ANC_UNSET ? c->clock_skew : ANC_DEFAULT_CLOCK_SKEW;
}

int anc_srv_request_limit(const anc_srv_cfg_t *c)
{
    if (c->request_limit != ANC_UNSET) {
        return c->request_limit;
    }
    return c->request_cache && c->request_cache->kind == ANC_STORE_LOCKED
               ? 0
               : ANC_DEFAULT_REQUEST_LIMIT;
}

int anc_srv_unsolicited_max_age(const anc_srv_cfg_t *c)
{
    return c->unsolicited_max_age != ANC_UNSET ? c->unsolicited_max_age
                                               : ANC_DEFAULT_UNSOLICITED_MAX_AGE;
}

const char *anc_srv_cookie_name(const anc_srv_cfg_t *c)
{
    return c->cookie_name ? c->cookie_name : ANC_DEFAULT_COOKIE_NAME;
}

int anc_srv_cookie_secure(const anc_srv_cfg_t *c)
{
    return c->cookie_secure != ANC_UNSET ? c->cookie_secure : 1;
}

const char *anc_srv_cookie_samesite(const anc_srv_cfg_t *c)
{
    return c->cookie_samesite ? c->cookie_samesite : ANC_DEFAULT_SAMESITE;
}

apr_size_t anc_srv_max_response_size(const anc_srv_cfg_t *c)
{
    return c->max_response_size != ANC_UNSET ? (apr_size_t)c->max_response_size
                                             : ANC_DEFAULT_MAX_RESPONSE_SIZE;
}

const anc_key_t *anc_srv_key(const anc_srv_cfg_t *c)
{
    return c->spkey ? c->spkey->key : NULL;
}

const anc_vocab_t *anc_srv_vocab(const anc_srv_cfg_t *c)
{
    return c->vocab;
}

int anc_dir_flag(int v, int dflt)
{
    return v != ANC_UNSET ? v : dflt;
}

int anc_dir_sign_requests(const anc_dir_cfg_t *d, const anc_srv_cfg_t *c)
{
    /* default On when an SP key is configured */
    return d->sign_requests != ANC_UNSET ? d->sign_requests : anc_srv_key(c) != NULL;
}

const char *anc_dir_sig_alg(const anc_dir_cfg_t *d)
{
    return d->sig_alg ? d->sig_alg : ANC_SIG_RSA_SHA256;
}

const anc_class_rule_t *anc_dir_request_rule(const anc_dir_cfg_t *d)
{
    return d->request_set == 1 && d->request ? d->request->rule : NULL;
}

/* ---------------------------------------------------------------------- */
/* directive helpers                                                       */

static anc_srv_cfg_t *cmd_srv(cmd_parms *cmd)
{
    return anc_srv(cmd->server);
}

static const char *parse_int(cmd_parms *cmd, const char *arg, long min, long max,
                             int *out)
{
    char *end = NULL;
    long v;

    if (!*arg || !(apr_isdigit(*arg) || *arg == '-')) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number", cmd->cmd->name, arg);
    }
    v = strtol(arg, &end, 10);
    if (*end != '\0') {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number", cmd->cmd->name, arg);
    }
    if (v < min || v > max) {
        return apr_psprintf(cmd->pool, "%s: %s is out of range (%ld..%ld)",
                            cmd->cmd->name, arg, min, max);
    }
    *out = (int)v;
    return NULL;
}

/* An absolute URI with a scheme, as SAML entityIDs and classes are
 * (xs:anyURI; URNs included): no whitespace, no control characters. */
static int looks_like_uri(const char *s)
{
    const char *p = s;

    if (!apr_isalpha(*p)) {
        return 0;
    }
    while (apr_isalnum(*p) || *p == '+' || *p == '-' || *p == '.') {
        p++;
    }
    if (*p != ':' || p[1] == '\0') {
        return 0;
    }
    for (p = s; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
            return 0;
        }
    }
    return 1;
}

const char *anc_check_class_words(apr_pool_t *p, int argc, const char *const *argv)
{
    anc_comparison_t cmp;
    const char *w0;
    int i = 0, j;

    if (argc < 1) {
        return NULL;
    }
    w0 = argv[0];
    if (w0[0] == '!') {
        if (w0[1]) {
            w0++;
        } else if (argc > 1) {
            w0 = argv[i = 1];
        } else {
            return "nothing after '!'";
        }
    }
    if (!strcmp(w0, "~")) {
        return NULL; /* the regex is checked by compiling it */
    }
    if (anc_comparison_parse(w0, &cmp) == ANC_OK) {
        if (i + 1 >= argc) {
            return apr_psprintf(p, "no class URI after '%s'", w0);
        }
    } else if (!looks_like_uri(w0)) {
        return apr_psprintf(p,
                            "'%s' is neither exact|minimum|better|maximum nor an "
                            "absolute class URI",
                            w0);
    }
    for (j = i + 1; j < argc; j++) {
        if (!looks_like_uri(argv[j])) {
            return apr_psprintf(p, "'%s' is not an absolute class URI", argv[j]);
        }
    }
    return NULL;
}

static const char *file_arg(cmd_parms *cmd, const char *arg, const char **out)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);

    if (!path || !*arg) {
        return apr_psprintf(cmd->pool, "%s: invalid path '%s'", cmd->cmd->name, arg);
    }
    *out = path;
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* server directives                                                       */

static const char *set_sp_entity_id(cmd_parms *cmd, void *dummy, const char *arg)
{
    if (!looks_like_uri(arg)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not an absolute URI", cmd->cmd->name,
                            arg);
    }
    cmd_srv(cmd)->sp_entity_id = arg;
    return NULL;
}

static anc_spkey_t *srv_spkey(cmd_parms *cmd)
{
    anc_srv_cfg_t *c = cmd_srv(cmd);

    if (!c->spkey) {
        c->spkey = apr_pcalloc(cmd->pool, sizeof(*c->spkey));
    }
    return c->spkey;
}

static const char *set_sp_key_file(cmd_parms *cmd, void *dummy, const char *arg)
{
    return file_arg(cmd, arg, &srv_spkey(cmd)->key_file);
}

static const char *set_sp_cert_file(cmd_parms *cmd, void *dummy, const char *arg)
{
    return file_arg(cmd, arg, &srv_spkey(cmd)->cert_file);
}

static const char *add_idp_metadata(cmd_parms *cmd, void *dummy, const char *args)
{
    anc_srv_cfg_t *c = cmd_srv(cmd);

    if (!c->idps) {
        c->idps = apr_pcalloc(cmd->pool, sizeof(*c->idps));
    }
    return anc_md_parse_directive(cmd, args, &c->idps->sources);
}

static const char *set_endpoint(cmd_parms *cmd, void *dummy, const char *arg)
{
    char *e = apr_pstrdup(cmd->pool, arg);
    apr_size_t n = strlen(e);
    const char *p;

    while (n > 1 && e[n - 1] == '/') {
        e[--n] = '\0';
    }
    if (e[0] != '/' || n < 2) {
        return apr_psprintf(cmd->pool, "%s: '%s' must be a local path such as /saml",
                            cmd->cmd->name, arg);
    }
    for (p = e; *p; p++) {
        if (!apr_isgraph(*p) || *p == '?' || *p == '#' || *p == '%') {
            return apr_psprintf(cmd->pool,
                                "%s: '%s' must be a plain path (no "
                                "query, fragment or escapes)",
                                cmd->cmd->name, arg);
        }
    }
    cmd_srv(cmd)->endpoint = e;
    return NULL;
}

/* PROVIDER[:ARGS], as mod_ssl's SSLSessionCache: the provider must be
 * loaded (LoadModule socache_..._module) and must accept ARGS. */
static const char *parse_cache(cmd_parms *cmd, const char *arg, anc_cache_t **out)
{
    anc_cache_t *cache = apr_pcalloc(cmd->pool, sizeof(*cache));
    const char *colon = strchr(arg, ':');
    const char *name = colon ? apr_pstrmemdup(cmd->pool, arg, colon - arg) : arg;
    const char *args = colon ? colon + 1 : NULL;
    const char *msg;

    cache->spec = arg;
    cache->provider =
        ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION);
    if (!cache->provider) {
        return apr_psprintf(cmd->pool,
                            "%s: unknown cache provider '%s' "
                            "(is mod_socache_%s loaded before this line?)",
                            cmd->cmd->name, name, name);
    }
    msg = cache->provider->create(&cache->instance, args, cmd->temp_pool, cmd->pool);
    if (msg) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, msg);
    }
    *out = cache;
    return NULL;
}

static const char *set_session_cache(cmd_parms *cmd, void *dummy, const char *arg)
{
    return parse_cache(cmd, arg, &cmd_srv(cmd)->cache);
}

static const char *set_replay_cache(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *msg = parse_cache(cmd, arg, &cmd_srv(cmd)->replay_cache);

    if (!msg) {
        cmd_srv(cmd)->replay_cache->replay = 1;
    }
    return msg;
}

static const char *set_request_cache(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *msg = parse_cache(cmd, arg, &cmd_srv(cmd)->request_cache);

    if (!msg) {
        cmd_srv(cmd)->request_cache->requests = 1;
    }
    return msg;
}

static const char *set_request_limit(cmd_parms *cmd, void *dummy, const char *arg)
{
    return parse_int(cmd, arg, 0, 1000000, &cmd_srv(cmd)->request_limit);
}

static const char *set_session_lifetime(cmd_parms *cmd, void *dummy, const char *arg)
{
    return parse_int(cmd, arg, 60, 31536000, &cmd_srv(cmd)->session_lifetime);
}

static const char *set_clock_skew(cmd_parms *cmd, void *dummy, const char *arg)
{
    return parse_int(cmd, arg, 0, 3600, &cmd_srv(cmd)->clock_skew);
}

static const char *set_unsolicited_max_age(cmd_parms *cmd, void *dummy, const char *arg)
{
    return parse_int(cmd, arg, 0, 31536000, &cmd_srv(cmd)->unsolicited_max_age);
}

static const char *set_max_response_size(cmd_parms *cmd, void *dummy, const char *arg)
{
    return parse_int(cmd, arg, 1024, 16 * 1024 * 1024, &cmd_srv(cmd)->max_response_size);
}

static const char *set_srv_flag(cmd_parms *cmd, void *dummy, int on)
{
    anc_srv_cfg_t *c = cmd_srv(cmd);
    int *field = (int *)((char *)c + (apr_size_t)cmd->info);

    *field = on ? 1 : 0;
    return NULL;
}

static const char *set_cookie_name(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *p;

    /* RFC 6265 cookie-name is an RFC 7230 token; keep it simple. */
    for (p = arg; *p; p++) {
        if (!apr_isalnum(*p) && *p != '_' && *p != '-' && *p != '.') {
            return apr_psprintf(cmd->pool,
                                "%s: '%s' may only hold letters, digits, "
                                "'_', '-' and '.'",
                                cmd->cmd->name, arg);
        }
    }
    if (!*arg || strlen(arg) > 64) {
        return apr_psprintf(cmd->pool, "%s: invalid name '%s'", cmd->cmd->name, arg);
    }
    cmd_srv(cmd)->cookie_name = arg;
    return NULL;
}

static const char *set_cookie_samesite(cmd_parms *cmd, void *dummy, const char *arg)
{
    static const char *const values[] = {"Lax", "Strict", "None", NULL};
    int i;

    for (i = 0; values[i]; i++) {
        if (!strcasecmp(arg, values[i])) {
            cmd_srv(cmd)->cookie_samesite = values[i];
            return NULL;
        }
    }
    return apr_psprintf(cmd->pool, "%s: '%s' must be Lax, Strict or None", cmd->cmd->name,
                        arg);
}

static const char *cmd_file(cmd_parms *cmd)
{
    return cmd->directive && cmd->directive->filename ? cmd->directive->filename
                                                      : "(unknown file)";
}

static int cmd_line(cmd_parms *cmd)
{
    return cmd->directive ? cmd->directive->line_num : 0;
}

static const char *rule_compile(apr_pool_t *p, anc_rule_ref_t *ref, const anc_vocab_t *v)
{
    anc_error_t *err = NULL;

    if (anc_class_rule_parse(p, v, ref->argc, ref->argv, &ref->rule, &err) != ANC_OK) {
        ref->rule = NULL;
        return apr_psprintf(p, "%s %s: %s", ref->what, ref->words,
                            err && err->detail ? err->detail : "invalid rule");
    }
    return NULL;
}

const char *anc_rule_ref_make(cmd_parms *cmd, const char *what, int argc,
                              const char *const *argv, anc_rule_ref_t **out)
{
    anc_rule_ref_t *ref = apr_pcalloc(cmd->pool, sizeof(*ref));
    const char **copy = apr_pcalloc(cmd->pool, sizeof(*copy) * (argc + 1));
    deferred_t *dc = deferred_of(cmd);
    int i;

    for (i = 0; i < argc; i++) {
        copy[i] = apr_pstrdup(cmd->pool, argv[i]);
        ref->words = i ? apr_pstrcat(cmd->pool, ref->words, " ", copy[i], NULL) : copy[i];
    }
    ref->argc = argc;
    ref->argv = copy;
    ref->what = what;
    ref->file = cmd_file(cmd);
    ref->line = cmd_line(cmd);
    ref->server = cmd->server;
    *out = ref;
    if (dc) {
        APR_ARRAY_PUSH(dc->rules, anc_rule_ref_t *) = ref;
        return NULL;
    }
    /* .htaccess: the server's vocabulary is final by now */
    return rule_compile(cmd->pool, ref, anc_srv_vocab(cmd_srv(cmd)));
}

static const char *add_class_level(cmd_parms *cmd, void *dummy, int argc,
                                   char *const argv[])
{
    anc_srv_cfg_t *c = cmd_srv(cmd);
    const char *msg;
    int level, i;

    if (argc < 2) {
        return apr_psprintf(cmd->pool, "%s needs a level and at least one class URI",
                            cmd->cmd->name);
    }
    if ((msg = parse_int(cmd, argv[0], -1000000, 1000000, &level)) != NULL) {
        return msg;
    }
    if (!c->levels) {
        c->levels = apr_array_make(cmd->pool, 8, sizeof(anc_level_t));
    }
    /* the ladder is built (and a class ranked twice refused) in
     * check_config, from every line wherever it stands */
    for (i = 1; i < argc; i++) {
        anc_level_t *l;
        if (!looks_like_uri(argv[i])) {
            return apr_psprintf(cmd->pool, "%s: '%s' is not an absolute URI",
                                cmd->cmd->name, argv[i]);
        }
        l = apr_array_push(c->levels);
        l->level = level;
        l->uri = argv[i];
        l->file = cmd_file(cmd);
        l->line = cmd_line(cmd);
    }
    return NULL;
}

static const char *add_class_alias(cmd_parms *cmd, void *dummy, const char *from,
                                   const char *to)
{
    anc_srv_cfg_t *c = cmd_srv(cmd);
    anc_alias_t *a;

    if (!looks_like_uri(from) || !looks_like_uri(to)) {
        return apr_psprintf(cmd->pool, "%s: both FROM and TO must be absolute URIs",
                            cmd->cmd->name);
    }
    if (!strcmp(from, to)) {
        return apr_psprintf(cmd->pool, "%s: FROM and TO are the same class",
                            cmd->cmd->name);
    }
    if (!c->aliases) {
        c->aliases = apr_array_make(cmd->pool, 4, sizeof(anc_alias_t));
    }
    a = apr_array_push(c->aliases);
    a->from = from;
    a->to = to;
    a->file = cmd_file(cmd);
    a->line = cmd_line(cmd);
    return NULL;
}

static const char *add_string_list(cmd_parms *cmd, apr_array_header_t **list,
                                   const char *arg)
{
    if (!*arg) {
        return apr_psprintf(cmd->pool, "%s: empty value", cmd->cmd->name);
    }
    if (!*list) {
        *list = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(*list, const char *) = arg;
    return NULL;
}

static const char *add_class_attribute(cmd_parms *cmd, void *dummy, const char *arg)
{
    return add_string_list(cmd, &cmd_srv(cmd)->class_attributes, arg);
}

static const char *add_error_host(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *p;
    char *lower = apr_pstrdup(cmd->pool, arg);

    for (p = arg; *p; p++) {
        if (!apr_isalnum(*p) && *p != '-' && *p != '.' && *p != ':' && *p != '[' &&
            *p != ']') {
            return apr_psprintf(cmd->pool,
                                "%s: '%s' is not a host name (no scheme, "
                                "no path)",
                                cmd->cmd->name, arg);
        }
    }
    ap_str_tolower(lower);
    return add_string_list(cmd, &cmd_srv(cmd)->error_hosts, lower);
}

/* ---------------------------------------------------------------------- */
/* directory directives                                                    */

/* AuthnContextIdP entityID... [entityAttribute=NAME=VALUE]...: the IdPs this
 * location offers (issue 15); every AuthnContextIdP line of one context
 * adds to its set. */
static const char *set_dir_idp(cmd_parms *cmd, void *dv, const char *arg)
{
    deferred_t *dc = deferred_of(cmd);
    anc_dir_cfg_t *d = dv;
    const anc_srv_cfg_t *c;

    if (!strncmp(arg, "entityAttribute=", 16)) {
        const char *nv = arg + 16, *eq = strchr(nv, '=');
        anc_md_attr_t *a;

        if (!eq || eq == nv || !eq[1] ||
            !looks_like_uri(apr_pstrmemdup(cmd->temp_pool, nv, (apr_size_t)(eq - nv)))) {
            return apr_psprintf(cmd->pool,
                                "%s: '%s' is not entityAttribute=NAME=VALUE with an "
                                "absolute URI as NAME",
                                cmd->cmd->name, arg);
        }
        if (!d->idp_attrs) {
            d->idp_attrs = apr_array_make(cmd->pool, 2, sizeof(anc_md_attr_t));
        }
        a = apr_array_push(d->idp_attrs);
        a->name = apr_pstrmemdup(cmd->pool, nv, (apr_size_t)(eq - nv));
        a->value = eq + 1;
        d->idp = NULL;
        return NULL;
    }
    if (!looks_like_uri(arg)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not an absolute URI", cmd->cmd->name,
                            arg);
    }
    if (!d->idp_ids) {
        d->idp_ids = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(d->idp_ids, const char *) = arg;
    d->idp = d->idp_ids->nelts == 1 && !d->idp_attrs ? arg : NULL;
    if (dc) {
        /* the metadata is loaded in check_config, which checks this then */
        idp_use_t *u = apr_array_push(dc->idps);
        u->entity_id = arg;
        u->file = cmd_file(cmd);
        u->line = cmd_line(cmd);
        u->server = cmd->server;
        return NULL;
    }
    c = cmd_srv(cmd);
    if (!c->idps || !c->idps->store ||
        (!anc_md_has_idp(c->idps->store, arg) && !anc_md_refreshable(c->idps->store))) {
        return apr_psprintf(cmd->pool, "%s: %s is not in the loaded metadata",
                            cmd->cmd->name, arg);
    }
    return NULL;
}

/* AuthnContextDiscoveryURL URL|Off: an external discovery service (OASIS
 * IdP Discovery Protocol); http(s) only, no fragment (the protocol adds a
 * query). */
static const char *set_dir_disco_url(cmd_parms *cmd, void *dv, const char *arg)
{
    anc_dir_cfg_t *d = dv;
    const char *q;

    if (!strcasecmp(arg, "Off")) {
        d->disco_url = "";
        return NULL;
    }
    if ((strncasecmp(arg, "https://", 8) && strncasecmp(arg, "http://", 7)) ||
        strchr(arg, '#')) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not an http or https URL without a fragment",
                            cmd->cmd->name, arg);
    }
    for (q = arg; *q; q++) {
        if ((unsigned char)*q <= 0x20 || *q == 0x7f) {
            return apr_psprintf(cmd->pool,
                                "%s: the URL holds white space or a control "
                                "character",
                                cmd->cmd->name);
        }
    }
    d->disco_url = arg;
    return NULL;
}

static const char *set_dir_request(cmd_parms *cmd, void *dv, int argc, char *const argv[])
{
    anc_dir_cfg_t *d = dv;
    anc_rule_ref_t *ref = NULL;
    const char *msg;

    if (argc == 1 && (!strcasecmp(argv[0], "Off") || !strcasecmp(argv[0], "none"))) {
        d->request_set = 0;
        d->request = NULL;
        return NULL;
    }
    if (argc < 1) {
        return apr_psprintf(cmd->pool, "%s needs at least one class URI", cmd->cmd->name);
    }
    /* What is sent to the IdP is a comparison and a list: the regex and
     * negation forms of Require make no AuthnRequest. */
    if (argv[0][0] == '!' || argv[0][0] == '~') {
        return apr_psprintf(cmd->pool,
                            "%s: '~' and '!' are only for Require "
                            "authnContextClassRef; list the classes to request",
                            cmd->cmd->name);
    }
    if ((msg = anc_check_class_words(cmd->pool, argc, (const char *const *)argv))) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, msg);
    }
    if ((msg = anc_rule_ref_make(cmd, cmd->cmd->name, argc, (const char *const *)argv,
                                 &ref)) != NULL) {
        return msg;
    }
    d->request_set = 1;
    d->request = ref;
    return NULL;
}

static const char *set_dir_max_age(cmd_parms *cmd, void *dv, const char *arg)
{
    if (!strcasecmp(arg, "Off")) {
        ((anc_dir_cfg_t *)dv)->max_age = 0;
        return NULL;
    }
    return parse_int(cmd, arg, 0, 31536000, &((anc_dir_cfg_t *)dv)->max_age);
}

static const char *set_dir_flag(cmd_parms *cmd, void *dv, int on)
{
    int *field = (int *)((char *)dv + (apr_size_t)cmd->info);

    *field = on ? 1 : 0;
    return NULL;
}

static const char *set_dir_error_url(cmd_parms *cmd, void *dv, const char *arg)
{
    apr_uri_t u;

    if (arg[0] == '/' && arg[1] != '/' && arg[1] != '\\') {
        ((anc_dir_cfg_t *)dv)->error_url = arg;
        return NULL;
    }
    if (apr_uri_parse(cmd->pool, arg, &u) != APR_SUCCESS || !u.scheme || !u.hostname ||
        (strcasecmp(u.scheme, "https") && strcasecmp(u.scheme, "http"))) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' must be a local path (/...) or an "
                            "http(s) URL",
                            cmd->cmd->name, arg);
    }
    ((anc_dir_cfg_t *)dv)->error_url = arg;
    return NULL;
}

static const char *set_dir_binding(cmd_parms *cmd, void *dv, const char *arg)
{
    anc_dir_cfg_t *d = dv;

    if (!strcasecmp(arg, "Redirect") || !strcmp(arg, ANC_BINDING_REDIRECT)) {
        d->request_binding = ANC_BINDING_IS_REDIRECT;
    } else if (!strcasecmp(arg, "POST") || !strcmp(arg, ANC_BINDING_POST)) {
        d->request_binding = ANC_BINDING_IS_POST;
    } else {
        return apr_psprintf(cmd->pool, "%s: '%s' must be Redirect or POST",
                            cmd->cmd->name, arg);
    }
    return NULL;
}

static const char *set_dir_sig_alg(cmd_parms *cmd, void *dv, const char *arg)
{
    static const struct {
        const char *name;
        const char *uri;
    } algs[] = {{"rsa-sha256", ANC_SIG_RSA_SHA256},
                {"rsa-sha384", ANC_SIG_RSA_SHA384},
                {"rsa-sha512", ANC_SIG_RSA_SHA512},
                {NULL, NULL}};
    int i;

    for (i = 0; algs[i].name; i++) {
        if (!strcasecmp(arg, algs[i].name) || !strcmp(arg, algs[i].uri)) {
            ((anc_dir_cfg_t *)dv)->sig_alg = algs[i].uri;
            return NULL;
        }
    }
    return apr_psprintf(cmd->pool,
                        "%s: '%s' must be rsa-sha256, rsa-sha384 or "
                        "rsa-sha512 (or the algorithm URI)",
                        cmd->cmd->name, arg);
}

static const char *set_dir_unauth(cmd_parms *cmd, void *dv, const char *arg)
{
    anc_dir_cfg_t *d = dv;

    if (!strcasecmp(arg, "redirect") || !strcasecmp(arg, "login")) {
        d->unauth_action = ANC_UNAUTH_REDIRECT;
    } else if (!strcmp(arg, "401")) {
        d->unauth_action = ANC_UNAUTH_401;
    } else if (!strcasecmp(arg, "pass")) {
        d->unauth_action = ANC_UNAUTH_PASS;
    } else {
        return apr_psprintf(cmd->pool, "%s: '%s' must be redirect, 401 or pass",
                            cmd->cmd->name, arg);
    }
    return NULL;
}

static const char *set_dir_user_attribute(cmd_parms *cmd, void *dv, const char *arg)
{
    if (!*arg) {
        return apr_psprintf(cmd->pool, "%s: empty attribute name", cmd->cmd->name);
    }
    ((anc_dir_cfg_t *)dv)->user_attribute = arg;
    return NULL;
}

#define SRV_OFF(f) ((void *)APR_OFFSETOF(anc_srv_cfg_t, f))
#define DIR_OFF(f) ((void *)APR_OFFSETOF(anc_dir_cfg_t, f))
#define DIR_WHERE (RSRC_CONF | ACCESS_CONF | OR_AUTHCFG)

const command_rec anc_cmds[] = {
    AP_INIT_TAKE1("AuthnContextSPEntityID", set_sp_entity_id, NULL, RSRC_CONF,
                  "The SP's entityID (the Audience accepted in assertions)"),
    AP_INIT_TAKE1("AuthnContextSPKeyFile", set_sp_key_file, NULL, RSRC_CONF,
                  "The SP's private key (PEM): request signing, decryption"),
    AP_INIT_TAKE1("AuthnContextSPCertFile", set_sp_cert_file, NULL, RSRC_CONF,
                  "The SP's certificate (PEM), published in the SP metadata"),
    AP_INIT_RAW_ARGS("AuthnContextIdPMetadataFile", add_idp_metadata, NULL, RSRC_CONF,
                     "IdP metadata file(s), or one file and options (verify=CERT "
                     "maxValidity=SECONDS refresh=SECONDS entities=ID,ID "
                     "entityAttribute=NAME=VALUE); repeatable"),
    AP_INIT_TAKE1("AuthnContextEndpoint", set_endpoint, NULL, RSRC_CONF,
                  "Path of the SP endpoints (acs, login, logout, metadata); "
                  "default /saml"),
    AP_INIT_TAKE1("AuthnContextSessionCache", set_session_cache, NULL, RSRC_CONF,
                  "ap_socache provider[:args] for sessions; "
                  "default shmcb with " ANC_DEFAULT_SHMCB_SIZE_TEXT " bytes"),
    AP_INIT_TAKE1("AuthnContextReplayCache", set_replay_cache, NULL, RSRC_CONF,
                  "ap_socache provider[:args] for the assertion replay cache; "
                  "default: an own shmcb of " ANC_DEFAULT_SHMCB_SIZE_TEXT
                  " bytes when the session cache is shmcb, else the session cache"),
    AP_INIT_TAKE1("AuthnContextRequestCache", set_request_cache, NULL, RSRC_CONF,
                  "ap_socache provider[:args] for pending AuthnRequests; "
                  "default: an own shmcb of " ANC_DEFAULT_SHMCB_SIZE_TEXT
                  " bytes when the session cache is shmcb, else the session cache"),
    AP_INIT_TAKE1("AuthnContextRequestLimit", set_request_limit, NULL, RSRC_CONF,
                  "Login starts per client address and minute; 0 = no limit "
                  "(default 0 with a shmcb request store, else 100)"),
    AP_INIT_TAKE1("AuthnContextSessionLifetime", set_session_lifetime, NULL, RSRC_CONF,
                  "Session lifetime in seconds (default 28800)"),
    AP_INIT_TAKE1("AuthnContextClockSkew", set_clock_skew, NULL, RSRC_CONF,
                  "Allowed clock skew in seconds (default 180)"),
    AP_INIT_TAKE1("AuthnContextUnsolicitedMaxAge", set_unsolicited_max_age, NULL,
                  RSRC_CONF,
                  "Seconds an unsolicited assertion may be old (IssueInstant); "
                  "0 = no maximum (default 300)"),
    AP_INIT_FLAG("AuthnContextAllowUnsolicited", set_srv_flag, SRV_OFF(allow_unsolicited),
                 RSRC_CONF, "Accept IdP-initiated responses (default Off)"),
    AP_INIT_FLAG("AuthnContextSingleLogout", set_srv_flag, SRV_OFF(single_logout),
                 RSRC_CONF,
                 "SAML Single Logout at PATH/slo and from PATH/logout (default On)"),
    AP_INIT_FLAG("AuthnContextAllowSHA1", set_srv_flag, SRV_OFF(allow_sha1), RSRC_CONF,
                 "Accept SHA-1 signatures and digests (default Off)"),
    AP_INIT_FLAG("AuthnContextRequireSignedAssertion", set_srv_flag,
                 SRV_OFF(require_signed_assertion), RSRC_CONF,
                 "The Assertion itself must be signed (default Off)"),
    AP_INIT_TAKE1("AuthnContextMaxResponseSize", set_max_response_size, NULL, RSRC_CONF,
                  "Largest accepted Response in bytes (default 262144)"),
    AP_INIT_TAKE1("AuthnContextCookieName", set_cookie_name, NULL, RSRC_CONF,
                  "Session cookie name (default authncontext_session)"),
    AP_INIT_FLAG("AuthnContextCookieSecure", set_srv_flag, SRV_OFF(cookie_secure),
                 RSRC_CONF, "Mark cookies Secure (default On)"),
    AP_INIT_TAKE1("AuthnContextCookieSameSite", set_cookie_samesite, NULL, RSRC_CONF,
                  "SameSite of the session cookie: Lax (default), Strict or None"),
    AP_INIT_TAKE_ARGV("AuthnContextClassLevel", add_class_level, NULL, RSRC_CONF,
                      "LEVEL URI...: rank classes (higher is stronger)"),
    AP_INIT_TAKE2("AuthnContextClassAlias", add_class_alias, NULL, RSRC_CONF,
                  "FROM TO: a received FROM class also counts as TO"),
    AP_INIT_ITERATE("AuthnContextClassAttribute", add_class_attribute, NULL, RSRC_CONF,
                    "Attribute name(s) whose values are also session classes"),
    AP_INIT_TAKE1(
        "AuthnContextTemplateDir", anc_set_template_dir, NULL, RSRC_CONF,
        "Directory of page templates (layout.html, forbidden.html, error.html, "
        "unavailable.html, logout.html, notice.html) replacing the built-in ones"),
    AP_INIT_TAKE2("AuthnContextClassName", anc_set_class_name, NULL, RSRC_CONF,
                  "A readable name for a class URI on the pages users see"),
    AP_INIT_ITERATE("AuthnContextErrorHosts", add_error_host, NULL, RSRC_CONF,
                    "Host names an absolute AuthnContextErrorURL may point at"),
    AP_INIT_FLAG("AuthnContextSessionShowAttributeValues", set_srv_flag,
                 SRV_OFF(show_attribute_values), RSRC_CONF,
                 "PATH/session shows attribute values, not only names (default Off)"),

    AP_INIT_ITERATE("AuthnContextIdP", set_dir_idp, NULL, DIR_WHERE,
                    "entityID... [entityAttribute=NAME=VALUE]...: the IdPs offered here"),
    AP_INIT_TAKE1("AuthnContextDiscoveryURL", set_dir_disco_url, NULL, DIR_WHERE,
                  "URL of an external IdP discovery service, or Off (the built-in "
                  "chooser)"),
    AP_INIT_TAKE_ARGV("AuthnContextRequest", set_dir_request, NULL, DIR_WHERE,
                      "[exact|minimum|better|maximum] URI...: RequestedAuthnContext "
                      "and the policy a session must meet here (else step-up)"),
    AP_INIT_TAKE1("AuthnContextMaxAge", set_dir_max_age, NULL, DIR_WHERE,
                  "Seconds since AuthnInstant beyond which ForceAuthn re-login"),
    AP_INIT_FLAG("AuthnContextForceAuthn", set_dir_flag, DIR_OFF(force_authn), DIR_WHERE,
                 "Send ForceAuthn=\"true\""),
    AP_INIT_FLAG("AuthnContextPassive", set_dir_flag, DIR_OFF(passive), DIR_WHERE,
                 "Send IsPassive=\"true\""),
    AP_INIT_TAKE1("AuthnContextErrorURL", set_dir_error_url, NULL, DIR_WHERE,
                  "Where IdP errors and context failures are redirected"),
    AP_INIT_FLAG("AuthnContextRetryWithoutContext", set_dir_flag,
                 DIR_OFF(retry_without_context), DIR_WHERE,
                 "On NoAuthnContext, retry once without RequestedAuthnContext"),
    AP_INIT_TAKE1("AuthnContextRequestBinding", set_dir_binding, NULL, DIR_WHERE,
                  "Redirect (default) or POST"),
    AP_INIT_FLAG("AuthnContextSignRequests", set_dir_flag, DIR_OFF(sign_requests),
                 DIR_WHERE, "Sign AuthnRequests (default On with an SP key)"),
    AP_INIT_TAKE1("AuthnContextSignatureAlgorithm", set_dir_sig_alg, NULL, DIR_WHERE,
                  "rsa-sha256 (default), rsa-sha384 or rsa-sha512"),
    AP_INIT_FLAG("AuthnContextExportHeaders", set_dir_flag, DIR_OFF(export_headers),
                 DIR_WHERE, "Copy the variables into request headers"),
    AP_INIT_TAKE1("AuthnContextUnauthenticatedAction", set_dir_unauth, NULL, DIR_WHERE,
                  "redirect (default: login at the IdP), 401, or pass (lazy: no "
                  "login unless a Require needs a user)"),
    AP_INIT_TAKE1("AuthnContextUserAttribute", set_dir_user_attribute, NULL, DIR_WHERE,
                  "Attribute (Name or FriendlyName) used as REMOTE_USER "
                  "instead of the NameID"),
    {NULL}};

/* ---------------------------------------------------------------------- */
/* start-up                                                                */

int anc_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    anc_error_t *err = NULL;

    /* The libraries must be up before check_config loads keys. Their
     * shutdown is tied to pconf, not the process pool: this module is a DSO
     * that mod_so unloads when pconf is cleared, and a cleanup left on the
     * process pool would call into unmapped code at exit. The next
     * generation (restart) loads the module and starts them again. */
    if (anc_lib_init(pconf, &err) != ANC_OK) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, NULL,
                     "authncontext: init: failed reason=%s detail=%s",
                     err ? err->reason : "internal",
                     err && err->detail ? err->detail : "");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ap_mutex_register(pconf, ANC_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0) !=
        APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    {
        deferred_t *dc = apr_pcalloc(pconf, sizeof(*dc));
        dc->rules = apr_array_make(pconf, 16, sizeof(anc_rule_ref_t *));
        dc->idps = apr_array_make(pconf, 4, sizeof(idp_use_t));
        apr_pool_userdata_set(dc, DEFERRED_KEY, NULL, pconf);
    }
    return OK;
}

static int config_fail(server_rec *s, const char *what, const char *detail)
{
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                 "authncontext: config: %s%s%s (server %s:%u)", what, detail ? ": " : "",
                 detail ? detail : "", s->server_hostname ? s->server_hostname : "(main)",
                 (unsigned)s->port);
    return !OK;
}

static int load_idps(apr_pool_t *pconf, server_rec *s, anc_idps_t *idps, int allow_sha1)
{
    if (anc_md_store_load(pconf, s, idps->sources, allow_sha1, &idps->store) != OK) {
        idps->store = NULL;
        return config_fail(s, "AuthnContextIdPMetadataFile rejected (see above)", NULL);
    }
    return OK;
}

static int load_spkey(apr_pool_t *pconf, server_rec *s, anc_spkey_t *k)
{
    anc_error_t *err = NULL;

    if (!k->key_file) {
        return config_fail(s,
                           "AuthnContextSPCertFile is set without "
                           "AuthnContextSPKeyFile",
                           NULL);
    }
    if (anc_key_load_private(pconf, k->key_file, k->cert_file, &k->key, &err) != ANC_OK) {
        k->key = NULL;
        return config_fail(s,
                           apr_psprintf(pconf,
                                        "AuthnContextSPKeyFile %s / "
                                        "AuthnContextSPCertFile %s rejected "
                                        "reason=%s",
                                        k->key_file,
                                        k->cert_file ? k->cert_file : "(none)",
                                        err ? err->reason : "key-invalid"),
                           err ? err->detail : NULL);
    }
    return OK;
}

/* Adds vocabulary lines to v; NULL or a message naming the line. */
static const char *vocab_add(apr_pool_t *p, anc_vocab_t *v,
                             const apr_array_header_t *levels,
                             const apr_array_header_t *aliases)
{
    anc_error_t *err = NULL;
    int i;

    for (i = 0; levels && i < levels->nelts; i++) {
        const anc_level_t *l = &APR_ARRAY_IDX(levels, i, anc_level_t);
        if (anc_vocab_add_level(v, l->level, l->uri, &err) != ANC_OK) {
            return apr_psprintf(p, "%s:%d: AuthnContextClassLevel %d %s: %s", l->file,
                                l->line, l->level, l->uri,
                                err && err->detail ? err->detail : "refused");
        }
    }
    for (i = 0; aliases && i < aliases->nelts; i++) {
        const anc_alias_t *a = &APR_ARRAY_IDX(aliases, i, anc_alias_t);
        if (anc_vocab_add_alias(v, a->from, a->to, &err) != ANC_OK) {
            return apr_psprintf(p, "%s:%d: AuthnContextClassAlias %s %s: %s", a->file,
                                a->line, a->from, a->to,
                                err && err->detail ? err->detail : "refused");
        }
    }
    return NULL;
}

/* Every server's vocabulary from the lines wherever they stood: the main
 * server's, and for a virtual host with lines of its own, the main
 * server's lines and then its own. */
static int build_vocabs(apr_pool_t *pconf, server_rec *s)
{
    anc_srv_cfg_t *mc = anc_srv(s);
    const char *msg;
    server_rec *vs;

    mc->vocab = anc_vocab_create(pconf);
    if ((msg = vocab_add(pconf, mc->vocab, mc->levels, mc->aliases)) != NULL) {
        return config_fail(s, msg, NULL);
    }
    for (vs = s->next; vs; vs = vs->next) {
        anc_srv_cfg_t *c = anc_srv(vs);
        const apr_array_header_t *own_levels = c->levels != mc->levels ? c->levels : NULL;
        const apr_array_header_t *own_aliases =
            c->aliases != mc->aliases ? c->aliases : NULL;

        if (!own_levels && !own_aliases) {
            c->vocab = mc->vocab;
            continue;
        }
        c->vocab = anc_vocab_create(pconf);
        if ((msg = vocab_add(pconf, c->vocab, mc->levels, mc->aliases)) != NULL ||
            (msg = vocab_add(pconf, c->vocab, own_levels, own_aliases)) != NULL) {
            return config_fail(vs, msg, NULL);
        }
    }
    return OK;
}

/* The rules and AuthnContextIdP lines read from the files, now that every
 * vocabulary and trust store exists. */
static int run_deferred(apr_pool_t *pconf, server_rec *s)
{
    void *v = NULL;
    const deferred_t *dc;
    const char *msg;
    int i;

    apr_pool_userdata_get(&v, DEFERRED_KEY, pconf);
    if (!(dc = v)) {
        return OK;
    }
    for (i = 0; i < dc->rules->nelts; i++) {
        anc_rule_ref_t *ref = APR_ARRAY_IDX(dc->rules, i, anc_rule_ref_t *);
        if ((msg = rule_compile(pconf, ref, anc_srv_vocab(anc_srv(ref->server)))) !=
            NULL) {
            return config_fail(
                ref->server, apr_psprintf(pconf, "%s:%d: %s", ref->file, ref->line, msg),
                NULL);
        }
    }
    for (i = 0; i < dc->idps->nelts; i++) {
        const idp_use_t *u = &APR_ARRAY_IDX(dc->idps, i, idp_use_t);
        int checked = 0;
        server_rec *vs;

        /* a line in a virtual host is for that host; a main server line is
         * inherited by every host that has IdP metadata */
        for (vs = s; vs; vs = vs->next) {
            const anc_srv_cfg_t *c = anc_srv(vs);
            if ((u->server->is_virtual && vs != u->server) || !c->idps ||
                !c->idps->store) {
                continue;
            }
            checked = 1;
            if (!anc_md_has_idp(c->idps->store, u->entity_id) &&
                anc_md_refreshable(c->idps->store)) {
                /* metadata changes at run time: the IdP may come with a
                 * later version of a source */
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, vs,
                             "authncontext: config: %s:%d: AuthnContextIdP %s is not "
                             "(yet) in the loaded metadata; logins there fail until a "
                             "refreshed source lists it",
                             u->file, u->line, u->entity_id);
            } else if (!anc_md_has_idp(c->idps->store, u->entity_id)) {
                return config_fail(vs,
                                   apr_psprintf(pconf,
                                                "%s:%d: AuthnContextIdP %s is not in the "
                                                "loaded metadata",
                                                u->file, u->line, u->entity_id),
                                   "check AuthnContextIdPMetadataFile");
            }
        }
        if (!checked) {
            return config_fail(u->server,
                               apr_psprintf(pconf,
                                            "%s:%d: AuthnContextIdP %s but no "
                                            "AuthnContextIdPMetadataFile is loaded",
                                            u->file, u->line, u->entity_id),
                               NULL);
        }
    }
    return OK;
}

/* A shmcb instance of ANC_DEFAULT_SHMCB_SIZE_TEXT bytes. The size can
 * only be given with a path: mod_socache_shmcb uses anonymous shared
 * memory and falls back to that file (in DefaultRuntimeDir) only where
 * anonymous memory is not supported. */
static const char *default_shmcb(apr_pool_t *pconf, apr_pool_t *ptemp, const char *file,
                                 anc_cache_t **out)
{
    anc_cache_t *c = apr_pcalloc(pconf, sizeof(*c));
    const char *path = ap_runtime_dir_relative(pconf, file);

    c->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, "shmcb",
                                     AP_SOCACHE_PROVIDER_VERSION);
    if (!c->provider) {
        return "the default 'shmcb' is not loaded: add LoadModule socache_shmcb_module "
               "or set AuthnContextSessionCache and AuthnContextReplayCache";
    }
    if (!path) {
        return "no usable DefaultRuntimeDir";
    }
    c->spec =
        apr_pstrcat(pconf, "shmcb:", path, "(" ANC_DEFAULT_SHMCB_SIZE_TEXT ")", NULL);
    *out = c;
    return c->provider->create(&c->instance, c->spec + 6, ptemp, pconf);
}

/* Which client the atomic operations use for c (httpd_shared.c), and for
 * redis and memcache the servers of its spec, parsed as their socache
 * providers parse it (host[:port] separated by commas). */
static const char *classify_cache(apr_pool_t *pconf, anc_cache_t *c)
{
    const char *name = c->provider ? c->provider->name : "";
    const char *args = strchr(c->spec, ':');
    char *list, *tok = NULL, *one;

    if (c->kind || c->servers) {
        return NULL; /* shared by several servers: done once */
    }
    if (c->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        c->kind = ANC_STORE_LOCKED;
        return NULL;
    }
    if (strcmp(name, "redis") != 0 && strcmp(name, "memcache") != 0) {
        c->kind = ANC_STORE_OTHER;
        return NULL;
    }
    c->kind = !strcmp(name, "redis") ? ANC_STORE_REDIS : ANC_STORE_MEMCACHE;
    c->servers = apr_array_make(pconf, 2, sizeof(anc_store_server_t));
    list = apr_pstrdup(pconf, args ? args + 1 : "");
    for (one = apr_strtok(list, ",", &tok); one; one = apr_strtok(NULL, ",", &tok)) {
        anc_store_server_t *sv = apr_array_push(c->servers);
        char *host = NULL, *scope = NULL;
        apr_port_t port = 0;

        if (apr_parse_addr_port(&host, &scope, &port, one, pconf) != APR_SUCCESS ||
            !host) {
            return apr_psprintf(pconf, "cannot parse the server '%s' of %s", one,
                                c->spec);
        }
        sv->host = host;
        sv->port = port ? port : c->kind == ANC_STORE_REDIS ? 6379 : 11211;
    }
    if (c->servers->nelts == 0) {
        return apr_psprintf(pconf, "no server in %s", c->spec);
    }
    return NULL;
}

/* Each distinct instance gets its own socache namespace. */
static void name_cache(apr_pool_t *pconf, apr_pool_t *ptemp, apr_hash_t *named,
                       int *ncache, anc_cache_t *c)
{
    if (!apr_hash_get(named, &c, sizeof(c))) {
        c->ns = *ncache ? apr_psprintf(pconf, "authncontext%d", *ncache) : "authncontext";
        (*ncache)++;
        apr_hash_set(named, apr_pmemdup(ptemp, &c, sizeof(c)), sizeof(c), c);
    }
}

/* 1 when this process is `apache2 -k stop` or `-k graceful-stop`: it reads
 * the configuration only to find the running server's pid file, signals
 * it and exits before post_config (when no server runs, it exits too). It
 * must not verify metadata: a source that went bad while the server ran
 * (the server keeps its last good version) would otherwise make the server
 * impossible to stop with apachectl, and a 10,000-IdP file would make every
 * stop cost a full verification. httpd keeps its -k argument to itself
 * (mpm_common.c), so it is read from the command line the kernel recorded;
 * where /proc is absent this answers 0 and the check runs as before.
 * `-k restart` and `-k graceful` are not skipped: they start a server when
 * none runs. */
static int signalling_stop(apr_pool_t *ptemp)
{
    static const char takes_value[] = "CcDdEefgkn";
    apr_file_t *f;
    char buf[8192];
    apr_size_t len = sizeof(buf) - 1, i = 0;
    const char *k = NULL;
    int first = 1;

    if (ap_state_query(AP_SQ_RUN_MODE) != AP_SQ_RM_NORMAL ||
        ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG ||
        apr_file_open(&f, "/proc/self/cmdline", APR_FOPEN_READ, APR_FPROT_OS_DEFAULT,
                      ptemp) != APR_SUCCESS) {
        return 0;
    }
    if (apr_file_read_full(f, buf, len, &len) != APR_SUCCESS && len == 0) {
        apr_file_close(f);
        return 0;
    }
    apr_file_close(f);
    buf[len] = '\0';
    while (i < len) {
        const char *arg = buf + i;

        i += strlen(arg) + 1;
        if (first) { /* the program's name */
            first = 0;
            continue;
        }
        if (!strcmp(arg, "-k")) {
            k = i < len ? buf + i : "";
            break;
        }
        if (!strncmp(arg, "-k", 2)) {
            k = arg + 2;
            break;
        }
        if (arg[0] == '-' && arg[1] && !arg[2] && strchr(takes_value, arg[1])) {
            i += i < len ? strlen(buf + i) + 1 : 0; /* -d ROOT and the like */
        }
    }
    return k && (!strcmp(k, "stop") || !strcmp(k, "graceful-stop"));
}

int anc_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                     server_rec *s)
{
    anc_cache_t *default_cache = NULL;
    apr_hash_t *named = apr_hash_make(ptemp);
    apr_hash_t *replay_of = apr_hash_make(ptemp);  /* session cache -> replay cache */
    apr_hash_t *request_of = apr_hash_make(ptemp); /* session cache -> request cache */
    const ap_socache_provider_t *shmcb = ap_lookup_provider(
        AP_SOCACHE_PROVIDER_GROUP, "shmcb", AP_SOCACHE_PROVIDER_VERSION);
    int ncache = 0, nreplay = 0, nrequests = 0;
    server_rec *vs;

    if (signalling_stop(ptemp)) {
        return OK; /* this process only tells the running server to stop */
    }
    if (build_vocabs(pconf, s) != OK) {
        return !OK;
    }
    for (vs = s; vs; vs = vs->next) {
        anc_srv_cfg_t *c = anc_srv(vs);

        if (!c->sp_entity_id && !c->idps) {
            continue; /* module not used by this server */
        }
        if (!c->sp_entity_id) {
            return config_fail(vs,
                               "AuthnContextIdPMetadataFile is set but "
                               "AuthnContextSPEntityID is not",
                               NULL);
        }
        if (!c->idps) {
            return config_fail(vs,
                               "AuthnContextSPEntityID is set but no "
                               "AuthnContextIdPMetadataFile",
                               NULL);
        }
        if (!c->idps->store &&
            load_idps(pconf, vs, c->idps, anc_dir_flag(c->allow_sha1, 0)) != OK) {
            return !OK;
        }
        if (c->spkey && !c->spkey->key && load_spkey(pconf, vs, c->spkey) != OK) {
            return !OK;
        }
        if (!anc_srv_cookie_secure(c) &&
            (!strncmp(anc_srv_cookie_name(c), "__Host-", 7) ||
             !strncmp(anc_srv_cookie_name(c), "__Secure-", 9))) {
            return config_fail(vs,
                               apr_psprintf(pconf,
                                            "AuthnContextCookieName %s needs "
                                            "AuthnContextCookieSecure On",
                                            anc_srv_cookie_name(c)),
                               "browsers drop __Host- and __Secure- cookies that are not "
                               "Secure (RFC 6265bis 4.1.3)");
        }
        if (!strcmp(anc_srv_cookie_samesite(c), "None") && !anc_srv_cookie_secure(c)) {
            return config_fail(vs,
                               "AuthnContextCookieSameSite None needs "
                               "AuthnContextCookieSecure On",
                               "browsers drop SameSite=None cookies that are not Secure");
        }
        if (!c->cache) {
            if (!default_cache) {
                const char *msg =
                    default_shmcb(pconf, ptemp, "authncontext-sessions", &default_cache);
                if (msg) {
                    return config_fail(vs, "AuthnContextSessionCache (default shmcb)",
                                       msg);
                }
            }
            c->cache = default_cache;
        }
        if (!c->replay_cache) {
            anc_cache_t *rc = apr_hash_get(replay_of, &c->cache, sizeof(c->cache));

            if (!rc && c->cache->provider == shmcb) {
                /* shmcb drops the oldest records of a full subcache without
                 * a word: an own instance keeps replay records out of reach
                 * of session churn */
                const char *msg = default_shmcb(
                    pconf, ptemp, apr_psprintf(ptemp, "authncontext-replay%d", nreplay++),
                    &rc);
                if (msg) {
                    return config_fail(vs, "AuthnContextReplayCache (default shmcb)",
                                       msg);
                }
                rc->replay = 1;
            } else if (!rc) {
                /* networked stores do not share shmcb's subcache scrolling;
                 * AuthnContextReplayCache can still name another one */
                rc = c->cache;
            }
            apr_hash_set(replay_of, apr_pmemdup(ptemp, &c->cache, sizeof(c->cache)),
                         sizeof(c->cache), rc);
            c->replay_cache = rc;
        }
        if (!c->request_cache) {
            anc_cache_t *qc = apr_hash_get(request_of, &c->cache, sizeof(c->cache));

            if (!qc && c->cache->provider == shmcb) {
                /* login starts come without authentication: in the session
                 * instance they would push sessions out of a full subcache */
                const char *msg = default_shmcb(
                    pconf, ptemp,
                    apr_psprintf(ptemp, "authncontext-requests%d", nrequests++), &qc);
                if (msg) {
                    return config_fail(vs, "AuthnContextRequestCache (default shmcb)",
                                       msg);
                }
                qc->requests = 1;
            } else if (!qc) {
                /* a networked store: every server of a cluster must find the
                 * request its browser started on another; see README
                 * (AuthnContextRequestCache) for a separate instance */
                qc = c->cache;
            }
            apr_hash_set(request_of, apr_pmemdup(ptemp, &c->cache, sizeof(c->cache)),
                         sizeof(c->cache), qc);
            c->request_cache = qc;
        }
        name_cache(pconf, ptemp, named, &ncache, c->cache);
        name_cache(pconf, ptemp, named, &ncache, c->replay_cache);
        name_cache(pconf, ptemp, named, &ncache, c->request_cache);
        {
            anc_cache_t *all[3] = {c->cache, c->replay_cache, c->request_cache};
            for (int i = 0; i < 3; i++) {
                const char *msg = classify_cache(pconf, all[i]);
                if (msg) {
                    return config_fail(vs, "cache", msg);
                }
            }
        }
    }
    if (run_deferred(pconf, s) != OK || anc_pages_check_config(pconf, ptemp, s) != OK) {
        return !OK;
    }
    return anc_configcheck(ptemp, s);
}

static apr_status_t cache_destroy(void *data)
{
    anc_cache_t *c = data;

    if (c->initialised && c->provider && c->instance) {
        c->provider->destroy(c->instance, c->server);
    }
    c->initialised = 0;
    return APR_SUCCESS;
}

/* Creates the mutex (for providers that are not MP/MT safe) and
 * initialises one cache once; vs names it in logs. */
static int init_cache(apr_pool_t *pconf, server_rec *vs, anc_cache_t *cache)
{
    /* sessions: ~34-byte keys, records of a few KB; replay: ~50-byte keys,
     * 1-byte values (the hints size shmcb's index) */
    struct ap_socache_hints session_hints = {34, 2048, 600 * APR_USEC_PER_SEC};
    struct ap_socache_hints replay_hints = {48, 8, 300 * APR_USEC_PER_SEC};
    /* pending requests: ~36-byte keys, a few hundred bytes to a few KB */
    struct ap_socache_hints request_hints = {36, 1024, 1800 * APR_USEC_PER_SEC};
    apr_status_t rv;

    if (cache->initialised) {
        return OK;
    }
    if (cache->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&cache->mutex, NULL, ANC_MUTEX_TYPE, cache->ns, vs,
                                    pconf, 0);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, vs,
                         "authncontext: cache: cannot create the mutex of %s",
                         cache->spec);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    rv = cache->provider->init(cache->instance, cache->ns,
                               cache->replay     ? &replay_hints
                               : cache->requests ? &request_hints
                                                 : &session_hints,
                               vs, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, vs,
                     "authncontext: cache: cannot initialise %s", cache->spec);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    cache->initialised = 1;
    cache->server = vs;
    apr_pool_cleanup_register(pconf, cache, cache_destroy, apr_pool_cleanup_null);
    return OK;
}

int anc_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *vs;

    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "authncontext: mod_authncontext %s (libxml2 %s, xmlsec1 %s, %s)",
                     ANC_VERSION, LIBXML_DOTTED_VERSION, XMLSEC_VERSION,
                     OPENSSL_VERSION_TEXT);
    }

    anc_md_post_config(pconf, s);
    for (vs = s; vs; vs = vs->next) {
        anc_srv_cfg_t *c = anc_srv(vs);
        int rc;

        if (!c->sp_entity_id || !c->cache || !c->replay_cache || !c->request_cache ||
            (c->cache->initialised && c->replay_cache->initialised &&
             c->request_cache->initialised)) {
            continue;
        }
        if ((rc = init_cache(pconf, vs, c->cache)) != OK ||
            (rc = init_cache(pconf, vs, c->replay_cache)) != OK ||
            (rc = init_cache(pconf, vs, c->request_cache)) != OK) {
            return rc;
        }
        ap_log_error(
            APLOG_MARK, APLOG_INFO, 0, vs,
            "authncontext: ready: sp=%s idps=%d endpoint=%s cache=%s%s "
            "replay=%s%s requests=%s%s",
            c->sp_entity_id, anc_trust_count(anc_md_config_trust(c->idps->store)),
            anc_srv_endpoint(c), c->cache->spec, c->cache->mutex ? " (mutex)" : "",
            c->replay_cache->spec, c->replay_cache->mutex ? " (mutex)" : "",
            c->request_cache->spec, c->request_cache->mutex ? " (mutex)" : "");
        if (c->request_cache == c->cache && c->cache->kind != ANC_STORE_LOCKED) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, vs,
                         "authncontext: pending requests share the session store %s: "
                         "name a separate instance with a memory limit in "
                         "AuthnContextRequestCache, so that a flood of login starts "
                         "cannot evict sessions or grow the store",
                         c->cache->spec);
        }
    }
    return OK;
}

static void reattach(apr_pool_t *p, server_rec *vs, apr_hash_t *done, anc_cache_t *cache)
{
    apr_status_t rv;

    if (!cache || !cache->mutex || apr_hash_get(done, &cache, sizeof(cache))) {
        return;
    }
    apr_hash_set(done, apr_pmemdup(p, &cache, sizeof(cache)), sizeof(cache), cache);
    rv = apr_global_mutex_child_init(&cache->mutex,
                                     apr_global_mutex_lockfile(cache->mutex), p);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, vs,
                     "authncontext: cache: cannot reattach the mutex of %s", cache->spec);
    }
}

void anc_child_init(apr_pool_t *p, server_rec *s)
{
    apr_hash_t *done = apr_hash_make(p);
    server_rec *vs;

    for (vs = s; vs; vs = vs->next) {
        anc_cache_t *all[3] = {anc_srv(vs)->cache, anc_srv(vs)->replay_cache,
                               anc_srv(vs)->request_cache};

        for (int i = 0; i < 3; i++) {
            apr_status_t rv = all[i] ? anc_shared_child_init(p, all[i]) : APR_SUCCESS;
            if (rv != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_CRIT, rv, vs,
                             "authncontext: cache: cannot make the clients of %s",
                             all[i]->spec);
            }
        }
        reattach(p, vs, done, anc_srv(vs)->cache);
        reattach(p, vs, done, anc_srv(vs)->replay_cache);
        reattach(p, vs, done, anc_srv(vs)->request_cache);
    }
    anc_md_child_init(p, s);
}
