/*
 * anc_init.h - process-wide initialisation of libxml2, xmlsec1 and OpenSSL.
 *
 * Call anc_lib_init() once per process before any other core function (the
 * module calls it from its pre_config hook through a pool cleanup, the CLI
 * and the tests from main). It is idempotent; anc_lib_init registers
 * anc_lib_shutdown as a cleanup on the given pool.
 */
#ifndef ANC_INIT_H
#define ANC_INIT_H

#include "anc_error.h"

/* Errors: ANC_E_INTERNAL when xmlsec or its OpenSSL back end fails to start
 * (a version mismatch between headers and library included). */
anc_status_t anc_lib_init(apr_pool_t *p, anc_error_t **err);

#endif
