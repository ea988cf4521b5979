/*
 * httpd_login_params.c - what an application may ask of PATH/login, with
 * the Shibboleth SP's parameter names (/Shibboleth.sso/Login), so that
 * applications written for it keep working:
 *   authnContextClassRef    space-separated class URIs (at most
 *                           ANC_LOGIN_MAX_CLASSES, each at most
 *                           ANC_LOGIN_MAX_CLASS_LEN bytes)
 *   authnContextComparison  exact|minimum|better|maximum
 *   forceAuthn, isPassive   1|true|0|false
 * (target and entityID are read by the endpoint itself.)
 *
 * They shape the AuthnRequest, and the answer must satisfy what they
 * asked (the ACS checks the pending request). They never touch
 * enforcement: the browser comes back to the target, whose Require lines
 * and AuthnContextRequest judge the new session as any other.
 *
 * Also the passive return: an answer NoPassive to an IsPassive request
 * sends the browser back to its target without a session, when the target
 * is a lazy location that lets a request without a session through.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"

#include "httpd_glue.h"

APLOG_USE_MODULE(authncontext);

#define NS_NO_PASSIVE "urn:oasis:names:tc:SAML:2.0:status:NoPassive"

/* Answers the 400 page; ANC_LOGIN_ANSWERED tells the endpoint it is done. */
static int refuse(request_rec *r, const char *detail, const char *text)
{
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "authncontext: login: rejected reason=%s detail=%s",
                  anc_reason(ANC_E_INPUT), detail);
    anc_simple_page(r, HTTP_BAD_REQUEST, "Bad sign-in request", text);
    return ANC_LOGIN_ANSWERED;
}

/* 1 or 0 into *on; -1 for anything else. */
static int parse_bool(const char *v, int *on)
{
    if (!strcmp(v, "1") || !strcasecmp(v, "true")) {
        *on = 1;
        return 0;
    }
    if (!strcmp(v, "0") || !strcasecmp(v, "false")) {
        *on = 0;
        return 0;
    }
    return -1;
}

/* The classes of authnContextClassRef: split on spaces (a '+' in the query
 * is a space once decoded), counted and measured. NULL after answering. */
static apr_array_header_t *split_classes(request_rec *r, const char *v, int *status)
{
    apr_array_header_t *a = apr_array_make(r->pool, 4, sizeof(const char *));
    const char *p = v;

    *status = OK;
    while (*p) {
        apr_size_t n;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        n = strcspn(p, " \t");
        if (!n) {
            break;
        }
        if (n > ANC_LOGIN_MAX_CLASS_LEN) {
            *status = refuse(r, "authnContextClassRef: a class over 1024 bytes",
                             "An authentication context class in the sign-in "
                             "request is too long.");
            return NULL;
        }
        if (a->nelts == ANC_LOGIN_MAX_CLASSES) {
            *status = refuse(r, "authnContextClassRef: more than 8 classes",
                             "The sign-in request names more than 8 "
                             "authentication context classes.");
            return NULL;
        }
        APR_ARRAY_PUSH(a, const char *) = apr_pstrmemdup(r->pool, p, n);
        p += n;
    }
    if (!a->nelts) {
        *status = refuse(r, "authnContextClassRef is empty",
                         "The sign-in request names no authentication context "
                         "class.");
        return NULL;
    }
    return a;
}

int anc_login_apply_params(request_rec *r, anc_login_t *l)
{
    const char *classes_v, *cmp_v, *force_v, *passive_v, *msg;
    const anc_vocab_t *vocab = anc_srv_vocab(anc_srv(r->server));
    const apr_array_header_t *classes = NULL;
    anc_comparison_t cmp = ANC_CMP_EXACT;
    anc_class_rule_t *rule = NULL;
    anc_error_t *err = NULL;
    int nc = 0, ncmp = 0, nf = 0, np = 0, on = 0, status = OK;

    classes_v = anc_query_param(r, "authnContextClassRef", &nc);
    cmp_v = anc_query_param(r, "authnContextComparison", &ncmp);
    force_v = anc_query_param(r, "forceAuthn", &nf);
    passive_v = anc_query_param(r, "isPassive", &np);
    if (nc > 1 || ncmp > 1 || nf > 1 || np > 1) {
        return refuse(r, "a login parameter given twice",
                      "A parameter of the sign-in request is given twice.");
    }
    if ((nc && !classes_v) || (ncmp && !cmp_v) || (nf && !force_v) ||
        (np && !passive_v)) {
        return refuse(r, "a login parameter is not URL-encoded properly",
                      "A parameter of the sign-in request is malformed.");
    }
    if (force_v) {
        if (parse_bool(force_v, &on) < 0) {
            return refuse(r, "forceAuthn is not 1, true, 0 or false",
                          "forceAuthn must be true or false.");
        }
        /* only adds: a location's AuthnContextForceAuthn stays */
        l->force_authn = l->force_authn || on;
    }
    if (passive_v) {
        if (parse_bool(passive_v, &on) < 0) {
            return refuse(r, "isPassive is not 1, true, 0 or false",
                          "isPassive must be true or false.");
        }
        l->passive = l->passive || on;
    }
    if (!classes_v && !cmp_v) {
        return OK; /* the target location's request, as it is */
    }
    if (cmp_v && anc_comparison_parse(cmp_v, &cmp) != ANC_OK) {
        return refuse(r,
                      apr_psprintf(r->pool,
                                   "authnContextComparison '%s' is not "
                                   "exact, minimum, better or maximum",
                                   cmp_v),
                      "authnContextComparison must be exact, minimum, better or "
                      "maximum.");
    }
    if (classes_v) {
        if (!(classes = split_classes(r, classes_v, &status))) {
            return status;
        }
    } else if (l->has_context) {
        classes = l->classes; /* a comparison alone: the location's classes */
    } else {
        return refuse(r, "authnContextComparison without authnContextClassRef",
                      "authnContextComparison needs authnContextClassRef.");
    }
    {
        /* the words as a rule line: "COMPARISON URI..." */
        const char **argv = apr_palloc(r->pool, sizeof(*argv) * (classes->nelts + 1));
        int i;
        argv[0] = anc_comparison_name(cmp);
        for (i = 0; i < classes->nelts; i++) {
            argv[i + 1] = APR_ARRAY_IDX(classes, i, const char *);
        }
        if ((msg = anc_check_class_words(r->pool, classes->nelts + 1, argv))) {
            return refuse(r, apr_pstrcat(r->pool, "authnContextClassRef: ", msg, NULL),
                          "An authentication context class in the sign-in request "
                          "is not an absolute URI.");
        }
    }
    /* An ordering over a class without a rank means nothing: refused, as
     * configtest refuses it in AuthnContextRequest. */
    if (anc_class_rule_make(r->pool, vocab, cmp, classes, &rule, &err) != ANC_OK) {
        return refuse(r, err && err->detail ? err->detail : "class rule",
                      apr_psprintf(r->pool,
                                   "The sign-in request asks for a '%s' comparison, "
                                   "but a class it names has no rank on this server "
                                   "(AuthnContextClassLevel). Ask for it with "
                                   "authnContextComparison=exact.",
                                   anc_comparison_name(cmp)));
    }
    l->classes = anc_class_rule_classes(rule);
    l->comparison = cmp;
    l->has_context = 1;
    return OK;
}

int anc_passive_return(request_rec *r, const anc_pending_t *pd, const char *status_code2)
{
    request_rec *rr;
    const char *target, *path;
    int ok;

    if (!pd || !pd->passive || !status_code2 ||
        strcmp(status_code2, NS_NO_PASSIVE) != 0) {
        return DECLINED;
    }
    target = pd->st->target;
    if (!anc_is_local_url(target)) {
        return DECLINED;
    }
    /* Back to the target only where that cannot start the same login
     * again: a lazy location that lets this browser through as it is (the
     * lookup runs its access checks with this request's cookies; the
     * authn hook never starts a login for a lookup). Anywhere else the
     * error page ends it: no loop. */
    path = apr_pstrmemdup(r->pool, target, strcspn(target, "?#"));
    rr = ap_sub_req_lookup_uri(path, r, NULL);
    ok = rr->status == HTTP_OK && anc_is_saml(rr) && anc_dir_is_lazy(anc_dir(rr));
    ap_destroy_sub_req(rr);
    if (!ok) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "authncontext: acs: NoPassive for %s, which is not a lazy location "
                      "open without a session; error page",
                      target);
        return DECLINED;
    }
    anc_store_pending_delete(r, pd->st->request_id);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "authncontext: acs: NoPassive (no session at the IdP); back to %s "
                  "without a session",
                  target);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Location", ap_construct_url(r->pool, target, r));
    return HTTP_SEE_OTHER;
}
