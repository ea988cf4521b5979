/*
 * anc_init.c - one-time start of libxml2, xmlsec1 and its OpenSSL back end.
 *
 * The only process-wide state of the core lives here. The caller's pool
 * bounds the libraries' life (see anc_init.h for which pool each caller
 * uses and why), so they are shut down exactly once per start.
 */
#include <libxml/parser.h>
#include <libxml/xmlIO.h>
#include <openssl/crypto.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/xmlsec.h>

#include "anc_init.h"
#include "anc_structure.h"

static int lib_started; /* set once; read-only afterwards */

/* SAML messages never need external entities or DTDs; any attempt by
 * libxml2 to load one is refused here as well as by the parser options
 * (defence in depth against a future caller that forgets XML_PARSE_NONET). */
static xmlParserInputPtr refuse_external_entity(const char *url, const char *id,
                                                xmlParserCtxtPtr ctxt)
{
    (void)url;
    (void)id;
    (void)ctxt;
    return NULL;
}

static apr_status_t lib_shutdown(void *unused)
{
    (void)unused;
    if (lib_started) {
        anc_structure_shutdown();
        xmlSecCryptoShutdown();
        xmlSecCryptoAppShutdown();
        xmlSecShutdown();
        /* xmlCleanupParser() is deliberately not called: other httpd
         * modules may share libxml2 in the same process. */
        lib_started = 0;
    }
    return APR_SUCCESS;
}

anc_status_t anc_lib_init(apr_pool_t *p, anc_error_t **err)
{
    if (lib_started) {
        return ANC_OK;
    }
    xmlInitParser();
    xmlSetExternalEntityLoader(refuse_external_entity);
    if (xmlSecInit() < 0) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlSecInit failed");
    }
    /* The core never logs (STYLE.md): xmlsec's default callback prints
     * every failed check to stderr, which in httpd is the error log and in
     * the CLI is noise on a rejected response. Failures are reported
     * through the return codes and anc_error_t instead. */
    xmlSecErrorsDefaultCallbackEnableOutput(0);
    if (xmlSecCheckVersion() != 1) {
        xmlSecShutdown();
        return anc_error_set(p, err, ANC_E_INTERNAL,
                             "xmlsec library version does not match its headers");
    }
    if (xmlSecCryptoAppInit(NULL) < 0) {
        xmlSecShutdown();
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlSecCryptoAppInit failed");
    }
    if (xmlSecCryptoInit() < 0) {
        xmlSecCryptoAppShutdown();
        xmlSecShutdown();
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlSecCryptoInit (openssl) failed");
    }
    /* the SAML schemas, compiled once and read-only afterwards */
    if (anc_structure_init(p, err) != ANC_OK) {
        xmlSecCryptoShutdown();
        xmlSecCryptoAppShutdown();
        xmlSecShutdown();
        return ANC_E_INTERNAL;
    }
    lib_started = 1;
    apr_pool_cleanup_register(p, NULL, lib_shutdown, apr_pool_cleanup_null);
    return ANC_OK;
}
