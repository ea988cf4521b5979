/*
 * support_runner.h - run a Check suite as a test binary's main().
 */
#ifndef ANC_SUPPORT_RUNNER_H
#define ANC_SUPPORT_RUNNER_H

#include <check.h>

/* Runs suite with APR started; EXIT_SUCCESS when no test failed. */
int anc_test_run_suite(Suite *suite);

#endif
