/*
 * httpd_authz.c - the authorization providers
 *   Require authnContextClassRef [exact|minimum|better|maximum] URI...
 *   Require authnContextClassRef [!] ~ REGEX      (the Shibboleth SP's form)
 *   Require authnContextMaxAge SECONDS
 * The require line is parsed once, when the configuration is read (errors
 * fail configtest). Evaluation uses the session the authn hook left on the
 * request (never a second cache read, never a header). Without a user the
 * answer is AUTHZ_DENIED_NO_USER so that httpd authenticates first.
 */
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_request.h"
#include "mod_auth.h"
#include "ap_provider.h"
#include "apr_strings.h"
#include "apr_lib.h"

#include "httpd_glue.h"

APLOG_USE_MODULE(authncontext);

typedef struct maxage_rule_t {
    int seconds;
} maxage_rule_t;

static const char *split_words(cmd_parms *cmd, const char *line, int *argc,
                               const char ***argv)
{
    apr_array_header_t *words = apr_array_make(cmd->temp_pool, 4, sizeof(const char *));
    const char *p = line;
    char *w;

    /* quotes arrive verbatim: ap_getword_conf removes them */
    while (*(w = ap_getword_conf(cmd->pool, &p)) != '\0') {
        APR_ARRAY_PUSH(words, const char *) = w;
    }
    *argc = words->nelts;
    *argv = (const char **)words->elts;
    return NULL;
}

static const char *classref_parse(cmd_parms *cmd, const char *require_line,
                                  const void **parsed)
{
    anc_rule_ref_t *ref = NULL;
    const char **argv = NULL, *msg;
    int argc = 0;

    split_words(cmd, require_line, &argc, &argv);
    if (argc < 1) {
        return "Require authnContextClassRef needs at least one class URI "
               "(or '~ REGEX')";
    }
    if ((msg = anc_check_class_words(cmd->pool, argc, argv)) != NULL) {
        return apr_psprintf(cmd->pool, "Require authnContextClassRef %s: %s",
                            require_line, msg);
    }
    /* compiled against the final vocabulary in check_config */
    if ((msg =
             anc_rule_ref_make(cmd, "Require authnContextClassRef", argc, argv, &ref))) {
        return msg;
    }
    *parsed = ref;
    return NULL;
}

/* No user yet: httpd authenticates first, which needs an AuthType. Without
 * one (a rule in .htaccess or a nested section that configtest could not
 * follow) httpd answers 500 with only AH00027: say why. */
static authz_status no_user(request_rec *r, const char *what)
{
    if (!anc_has_auth_type(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "authncontext: authz: failed reason=%s detail=Require %s in a "
                      "location without AuthType SAML (%s): add AuthType SAML there",
                      anc_reason(ANC_E_CONFIG), what, r->uri);
    }
    return AUTHZ_DENIED_NO_USER;
}

static anc_session_t *session_of(request_rec *r)
{
    anc_req_note_t *n = anc_note_get(r);

    return n ? n->session : NULL;
}

static authz_status classref_check(request_rec *r, const char *require_line,
                                   const void *parsed)
{
    const anc_rule_ref_t *ref = parsed;
    const anc_class_rule_t *rule = ref->rule;
    anc_session_t *s;

    if (!r->user) {
        return no_user(r, "authnContextClassRef");
    }
    if (!rule) {
        /* not compiled: check_config did not run for it (cannot happen
         * after a start-up that succeeded); never grant */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "authncontext: authz: failed reason=%s detail=rule %s not compiled",
                      anc_reason(ANC_E_CONFIG), require_line);
        return AUTHZ_GENERAL_ERROR;
    }
    if (!(s = session_of(r))) {
        /* a user from another authn module: no SAML session to judge */
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "authncontext: authz: no SAML session on this request");
        return AUTHZ_DENIED_NO_USER;
    }
    if (anc_class_rule_eval(rule, anc_srv_vocab(anc_srv(r->server)), s->classes)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "authncontext: authz: authnContextClassRef %s granted",
                      require_line);
        return AUTHZ_GRANTED;
    }
    anc_note_get(r)->denied_rule = ref;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "authncontext: authz: denied reason=%s ref=%s user=%s "
                  "detail=authnContextClassRef %s; session has %s",
                  anc_reason(ANC_E_POLICY), anc_request_ref(r), r->user, require_line,
                  s->classes && s->classes->nelts
                      ? apr_array_pstrcat(r->pool, s->classes, ' ')
                      : "(no class)");
    return AUTHZ_DENIED;
}

static const char *maxage_parse(cmd_parms *cmd, const char *require_line,
                                const void **parsed)
{
    maxage_rule_t *m = apr_pcalloc(cmd->pool, sizeof(*m));
    const char **argv = NULL;
    char *end = NULL;
    long v;
    int argc = 0;

    split_words(cmd, require_line, &argc, &argv);
    if (argc != 1) {
        return "Require authnContextMaxAge takes exactly one number of seconds";
    }
    v = strtol(argv[0], &end, 10);
    if (!apr_isdigit(argv[0][0]) || *end || v < 1 || v > 31536000) {
        return apr_psprintf(cmd->pool,
                            "Require authnContextMaxAge: '%s' is not a "
                            "number of seconds (1..31536000)",
                            argv[0]);
    }
    m->seconds = (int)v;
    *parsed = m;
    return NULL;
}

static authz_status maxage_check(request_rec *r, const char *require_line,
                                 const void *parsed)
{
    const maxage_rule_t *m = parsed;
    anc_session_t *s;
    apr_time_t at;

    if (!r->user) {
        return no_user(r, "authnContextMaxAge");
    }
    if (!(s = session_of(r))) {
        return AUTHZ_DENIED_NO_USER;
    }
    /* judged on the statement that meets the location's
     * AuthnContextRequest, or on the oldest statement without one */
    at = anc_session_fresh_instant(r, anc_dir(r), s);
    if (anc_policy_fresh(at, m->seconds, r->request_time,
                         anc_srv_clock_skew(anc_srv(r->server)))) {
        return AUTHZ_GRANTED;
    }
    anc_note_get(r)->denied_max_age = m->seconds;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "authncontext: authz: denied reason=%s ref=%s user=%s "
                  "detail=authnContextMaxAge %d; AuthnInstant %s",
                  anc_reason(ANC_E_POLICY), anc_request_ref(r), r->user, m->seconds,
                  anc_time_format(r->pool, at));
    return AUTHZ_DENIED;
}

static const authz_provider classref_provider = {classref_check, classref_parse};
static const authz_provider maxage_provider = {maxage_check, maxage_parse};

const void *anc_authz_provider(int which)
{
    return which ? (const void *)&maxage_provider : (const void *)&classref_provider;
}

void anc_register_authz_providers(apr_pool_t *p)
{
    static const char *const classref_names[] = {ANC_AUTHZ_CLASSREF,
                                                 ANC_AUTHZ_OWN_CLASSREF};
    static const char *const maxage_names[] = {ANC_AUTHZ_MAXAGE, ANC_AUTHZ_OWN_MAXAGE};
    int i;

    /* mod_shib registers authnContextClassRef too, and whichever module
     * registers last owns the name: httpd_configcheck.c fails configtest
     * when a rule under AuthType SAML would reach the other module */
    for (i = 0; i < 2; i++) {
        ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, classref_names[i],
                                  AUTHZ_PROVIDER_VERSION, &classref_provider,
                                  AP_AUTH_INTERNAL_PER_CONF);
        ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, maxage_names[i],
                                  AUTHZ_PROVIDER_VERSION, &maxage_provider,
                                  AP_AUTH_INTERNAL_PER_CONF);
    }
}
