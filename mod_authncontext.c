/*
 * mod_authncontext.c - httpd glue: the module record and hook registration.
 * The behaviour lives in src/httpd_*.c (glue) and src/anc_*.c (core).
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "anc_init.h"

static int authncontext_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                    apr_pool_t *ptemp, server_rec *s)
{
    anc_error_t *err = NULL;

    if (anc_lib_init(s->process->pool, &err) != ANC_OK) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "AH: authncontext: %s: %s",
                     err->reason, err->detail ? err->detail : "");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static void authncontext_register_hooks(apr_pool_t *p)
{
    ap_hook_post_config(authncontext_post_config, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(authncontext) = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, NULL, NULL, NULL,
    authncontext_register_hooks,
    AP_MODULE_FLAG_NONE
};
