/*
 * httpd_configcheck.c - configtest checks for the traps admins hit that the
 * directive handlers cannot see on their own, because they need the whole
 * configuration: which module owns a `Require` name, which AuthType applies
 * to a `Require`, which host names a virtual host answers to, how its
 * cookies travel, how many IdPs it trusts.
 *
 * It walks httpd's parsed configuration tree (ap_conftree, kept after the
 * files are read) in check_config, which `apachectl configtest` runs. A
 * `<VirtualHost>` node is matched to its server_rec by file and line
 * (server_rec.defn_name / defn_line_number). .htaccess files are not in the
 * tree: what they get wrong is logged at run time (httpd_authz.c).
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "mod_auth.h"
#include "ap_provider.h"
#include "apr_strings.h"
#include "apr_uri.h"

#include "httpd_glue.h"
#include "httpd_metadata.h"

APLOG_USE_MODULE(authncontext);

/* Start-up reads the configuration twice: warnings are given once, on the
 * pass that writes to the error log, and on `apachectl configtest`. */
static int should_warn(void)
{
    return ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST ||
           ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG;
}

static const char *first_word(apr_pool_t *p, const char *args)
{
    return args ? ap_getword_conf(p, &args) : "";
}

static int is_section(const ap_directive_t *d)
{
    return d && d->directive[0] == '<';
}

/* The enclosing <VirtualHost> of d, or NULL (main server). */
static const ap_directive_t *vhost_of(const ap_directive_t *d)
{
    for (; d; d = d->parent) {
        if (!strcasecmp(d->directive, "<VirtualHost")) {
            return d;
        }
    }
    return NULL;
}

static server_rec *server_of(server_rec *s, const ap_directive_t *d)
{
    const ap_directive_t *vh = vhost_of(d);
    server_rec *vs;

    if (!vh) {
        return s;
    }
    for (vs = s->next; vs; vs = vs->next) {
        if (vs->defn_name && vh->filename && !strcmp(vs->defn_name, vh->filename) &&
            vs->defn_line_number == (unsigned)vh->line_num) {
            return vs;
        }
    }
    return s;
}

/* The AuthType set among d's siblings or in an enclosing block (RequireAll
 * and friends, <If>) up to and including the nearest section, or NULL. */
static const char *auth_type_near(apr_pool_t *p, const ap_directive_t *d,
                                  const ap_directive_t **section)
{
    const ap_directive_t *level = d, *x;

    *section = NULL;
    while (level) {
        const ap_directive_t *parent = level->parent;
        const ap_directive_t *first = parent ? parent->first_child : ap_conftree;

        for (x = first; x; x = x->next) {
            if (!strcasecmp(x->directive, "AuthType")) {
                return first_word(p, x->args);
            }
        }
        if (!parent || (strncasecmp(parent->directive, "<Require", 8) &&
                        strcasecmp(parent->directive, "<AuthzProviderAlias"))) {
            *section = parent;
            return NULL;
        }
        level = parent;
    }
    return NULL;
}

/* The path of a <Location /x> section ("" when it is not one). */
static const char *location_path(apr_pool_t *p, const ap_directive_t *sec)
{
    const char *a;
    char *path;

    if (!sec || strcasecmp(sec->directive, "<Location")) {
        return "";
    }
    a = sec->args;
    path = ap_getword_conf(p, &a);
    if ((a = strrchr(path, '>')) != NULL && a[1] == '\0') {
        path[a - path] = '\0';
    }
    return path;
}

/* 1 when some <Location P> with `AuthType SAML` in the same server scope (or
 * in the main server, whose sections every virtual host inherits) covers
 * path: P is a prefix of it at a segment boundary. */
static int saml_location_covers(apr_pool_t *p, const ap_directive_t *tree,
                                const ap_directive_t *vhost, const char *path)
{
    const ap_directive_t *d, *x;

    for (d = tree; d; d = d->next) {
        if (!strcasecmp(d->directive, "<VirtualHost")) {
            if (d == vhost && saml_location_covers(p, d->first_child, vhost, path)) {
                return 1;
            }
            continue;
        }
        if (!strcasecmp(d->directive, "<Location")) {
            const char *lp = location_path(p, d);
            apr_size_t n = strlen(lp);

            if (n && !strncmp(path, lp, n) &&
                (lp[n - 1] == '/' || path[n] == '\0' || path[n] == '/')) {
                for (x = d->first_child; x; x = x->next) {
                    if (!strcasecmp(x->directive, "AuthType") &&
                        !strcasecmp(first_word(p, x->args), "SAML")) {
                        return 1;
                    }
                }
            }
            continue;
        }
        if (is_section(d) && !strcasecmp(d->directive, "<IfModule") &&
            saml_location_covers(p, d->first_child, vhost, path)) {
            return 1;
        }
    }
    return 0;
}

typedef struct walk_t {
    apr_pool_t *p;
    server_rec *s;
    const authz_provider *ours[4];
    const char *names[4];
    int owned_by_other[4];
    const char *other_module; /* a module known to register such names */
    int errors;
} walk_t;

static int our_name(const walk_t *w, const char *word)
{
    int i;

    for (i = 0; i < 4; i++) {
        if (!strcasecmp(word, w->names[i])) {
            return i;
        }
    }
    return -1;
}

static void fail(walk_t *w, const ap_directive_t *d, const char *msg)
{
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, w->s,
                 "authncontext: configtest: reason=%s %s:%d: %s",
                 anc_reason(ANC_E_CONFIG), d->filename, d->line_num, msg);
    w->errors++;
}

static void check_require(walk_t *w, const ap_directive_t *d)
{
    const char *word = first_word(w->p, d->args);
    const ap_directive_t *section = NULL;
    const char *type;
    int i = our_name(w, word);

    if (i < 0) {
        return;
    }
    type = auth_type_near(w->p, d, &section);
    if (w->owned_by_other[i]) {
        if (type && !strcasecmp(type, "SAML")) {
            fail(w, d,
                 apr_psprintf(w->p,
                              "'Require %s' under AuthType SAML is handled by another "
                              "module%s%s%s, which registered the same name after "
                              "mod_authncontext: mod_authncontext would not see this "
                              "rule. Write 'Require %s ...' (mod_authncontext's own "
                              "name, same syntax) or disable the other module",
                              word, w->other_module ? " (" : "",
                              w->other_module ? w->other_module : "",
                              w->other_module ? " is loaded)" : "",
                              w->names[(i % 2) + 2]));
        }
        return;
    }
    if (type && !strcasecmp(type, "SAML")) {
        return;
    }
    if (type) {
        /* AuthType Basic, None, ...: these providers judge SAML sessions
         * only, so nobody else's user ever satisfies them. Not an error:
         * a <RequireAny> may hold it beside rules that do grant */
        if (should_warn()) {
            ap_log_error(
                APLOG_MARK, APLOG_WARNING, 0, w->s,
                "authncontext: configtest: %s:%d: 'Require %s' needs AuthType SAML, "
                "but AuthType %s applies here: it never grants",
                d->filename, d->line_num, word, type);
        }
        return;
    }
    if (!section || saml_location_covers(w->p, ap_conftree, vhost_of(d),
                                         location_path(w->p, section))) {
        return;
    }
    if (!strcasecmp(section->directive, "<Location")) {
        fail(w, d,
             apr_psprintf(w->p,
                          "'Require %s' in <Location %s> but no AuthType SAML applies "
                          "there (neither in this section nor in a <Location> above it): "
                          "add 'AuthType SAML', or every request gets 500 (AH00027)",
                          word, location_path(w->p, section)));
    } else if (should_warn()) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, w->s,
                     "authncontext: configtest: %s:%d: 'Require %s' in %s%s with no "
                     "AuthType SAML in that section; make sure one applies there (a "
                     "request without it gets 500, AH00027)",
                     d->filename, d->line_num, word, section->directive, section->args);
    }
}

/* The host names r->hostname can have in this virtual host: ServerName
 * and ServerAlias (run time accepts the request's own host, which name-based
 * virtual hosting matched to one of them). */
static int host_is_own(const server_rec *vs, const char *host)
{
    int i;

    if (vs->server_hostname && !strcasecmp(vs->server_hostname, host)) {
        return 1;
    }
    if (vs->names) {
        for (i = 0; i < vs->names->nelts; i++) {
            if (!strcasecmp(APR_ARRAY_IDX(vs->names, i, const char *), host)) {
                return 1;
            }
        }
    }
    if (vs->wild_names) {
        for (i = 0; i < vs->wild_names->nelts; i++) {
            if (!ap_strcasecmp_match(host,
                                     APR_ARRAY_IDX(vs->wild_names, i, const char *))) {
                return 1;
            }
        }
    }
    return 0;
}

static void check_error_url(walk_t *w, const ap_directive_t *d)
{
    server_rec *vs = server_of(w->s, d);
    const anc_srv_cfg_t *c = anc_srv(vs);
    const char *url = first_word(w->p, d->args);
    apr_uri_t u;
    int i;

    if (url[0] == '/' || apr_uri_parse(w->p, url, &u) != APR_SUCCESS || !u.hostname) {
        return; /* local, or refused by the directive itself */
    }
    if (host_is_own(vs, u.hostname)) {
        return;
    }
    if (c->error_hosts) {
        for (i = 0; i < c->error_hosts->nelts; i++) {
            if (!strcasecmp(u.hostname, APR_ARRAY_IDX(c->error_hosts, i, const char *))) {
                return;
            }
        }
    }
    fail(w, d,
         apr_psprintf(
             w->p,
             "AuthnContextErrorURL %s: host %s is neither this virtual host's "
             "ServerName/ServerAlias nor listed in AuthnContextErrorHosts, so the "
             "module would refuse to redirect there (no open redirect): add "
             "'AuthnContextErrorHosts %s' to the server or virtual host",
             url, u.hostname, u.hostname));
}

static void walk(walk_t *w, const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "Require")) {
            check_require(w, d);
        } else if (!strcasecmp(d->directive, "AuthnContextErrorURL")) {
            check_error_url(w, d);
        }
        if (d->first_child) {
            walk(w, d->first_child);
        }
    }
}

/* 1 when the tree has an AuthnContextIdP line for vs (in its own
 * <VirtualHost>, or anywhere outside virtual hosts, which vs inherits). */
static int idp_named_for(server_rec *s, server_rec *vs, const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "<VirtualHost") &&
            server_of(s, d->first_child) != vs && vs != s) {
            continue;
        }
        if (!strcasecmp(d->directive, "AuthnContextIdP")) {
            if (vs == s ? !vhost_of(d) : 1) {
                return 1;
            }
        }
        if (d->first_child && idp_named_for(s, vs, d->first_child)) {
            return 1;
        }
    }
    return 0;
}

/* Secure cookies on an evidently plain-http virtual host (ServerName
 * http://..., or port 80 with no scheme): browsers never send a Secure
 * cookie over http, so every login would end in-response-to-unknown. */
static void check_servers(walk_t *w)
{
    server_rec *vs;

    for (vs = w->s; vs; vs = vs->next) {
        const anc_srv_cfg_t *c = anc_srv(vs);
        const anc_trust_t *trust;
        int plain;

        if (!c->sp_entity_id || !should_warn()) {
            continue;
        }
        plain = (vs->server_scheme && !strcasecmp(vs->server_scheme, "http")) ||
                (!vs->server_scheme && vs->port == 80);
        if (plain && anc_srv_cookie_secure(c)) {
            ap_log_error(
                APLOG_MARK, APLOG_WARNING, 0, vs,
                "authncontext: configtest: virtual host %s:%u (%s:%u) is plain http "
                "but AuthnContextCookieSecure is On: browsers do not send Secure "
                "cookies over http, so every login would fail with "
                "in-response-to-unknown. Serve it over https (recommended) or set "
                "AuthnContextCookieSecure Off for a test host",
                vs->server_hostname ? vs->server_hostname : "?", vs->port,
                vs->defn_name ? vs->defn_name : "main server", vs->defn_line_number);
        }
        trust = c->idps && c->idps->store ? anc_md_config_trust(c->idps->store) : NULL;
        if (trust && anc_trust_count(trust) > 1 &&
            !idp_named_for(w->s, vs, ap_conftree)) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, vs,
                         "authncontext: configtest: %d IdPs in metadata and no "
                         "AuthnContextIdP for %s: a login shows the IdP chooser at "
                         "%s/login (or the AuthnContextDiscoveryURL service); name the "
                         "IdPs a location offers with AuthnContextIdP",
                         anc_trust_count(trust),
                         vs->server_hostname ? vs->server_hostname : "this server",
                         anc_srv_endpoint(c));
        }
    }
}

int anc_configcheck(apr_pool_t *ptemp, server_rec *s)
{
    walk_t w;
    module *m;
    int i;

    memset(&w, 0, sizeof(w));
    w.p = ptemp;
    w.s = s;
    w.names[0] = ANC_AUTHZ_CLASSREF;
    w.names[1] = ANC_AUTHZ_MAXAGE;
    w.names[2] = ANC_AUTHZ_OWN_CLASSREF;
    w.names[3] = ANC_AUTHZ_OWN_MAXAGE;
    for (i = 0; i < 4; i++) {
        const void *owner =
            ap_lookup_provider(AUTHZ_PROVIDER_GROUP, w.names[i], AUTHZ_PROVIDER_VERSION);
        w.owned_by_other[i] = owner != anc_authz_provider(i % 2);
    }
    for (m = ap_top_module; m; m = m->next) {
        if (m->name && !strncmp(m->name, "mod_shib", 8)) {
            w.other_module = "mod_shib";
        }
    }
    walk(&w, ap_conftree);
    check_servers(&w);
    return w.errors ? !OK : OK;
}
