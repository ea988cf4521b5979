/*
 * anc_init.h - process-wide initialisation of libxml2, xmlsec1 and OpenSSL.
 *
 * Call anc_lib_init() before any other core function. It is idempotent and
 * registers the libraries' shutdown as a cleanup on the given pool, so the
 * pool decides how long they live: main()'s pool in the CLI and the tests;
 * pconf in the module (pre_config), so each configuration generation starts
 * them afresh. Not the process pool: its cleanups run after mod_so has
 * unloaded the module, and calling into an unloaded DSO crashes at exit.
 */
#ifndef ANC_INIT_H
#define ANC_INIT_H

#include "anc_error.h"

/* The product's version (configure.ac reads it from here). */
#define ANC_VERSION "0.2.0"

/* Errors: ANC_E_INTERNAL when xmlsec or its OpenSSL back end fails to start
 * (a version mismatch between headers and library included). */
anc_status_t anc_lib_init(apr_pool_t *p, anc_error_t **err);

#endif
