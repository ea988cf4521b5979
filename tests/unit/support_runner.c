/*
 * support_runner.c - the one main() body every Check suite shares: start
 * APR, run the suite (fork mode unless CK_FORK=no), report, stop APR.
 */
#include <stdlib.h>

#include <apr_general.h>
#include <check.h>

#include "support_runner.h"

int anc_test_run_suite(Suite *suite)
{
    SRunner *sr;
    int failed;

    apr_initialize();
    sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
