/*
 * test_replay.c - the in-memory replay cache: one use per ID until its
 * expiry, reuse after it, amortised purging that keeps live entries.
 */
#include <check.h>
#include <stdlib.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "anc_replay.h"
#include "support_runner.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static anc_status_t ins(const anc_replay_cache_t *c, const char *id, apr_time_t exp,
                        apr_time_t now)
{
    anc_error_t *err = NULL;
    anc_status_t rv = c->check_and_insert(c->ctx, id, exp, now, pool, &err);

    if (rv != ANC_OK) {
        ck_assert_ptr_nonnull(err);
        ck_assert_int_eq(err->code, rv);
    }
    return rv;
}

#define SEC(n) apr_time_from_sec(n)

START_TEST(test_once)
{
    const anc_replay_cache_t *c = anc_replay_memory_create(pool);

    ck_assert_int_eq(ins(c, "_a1", SEC(1000), SEC(100)), ANC_OK);
    ck_assert_int_eq(ins(c, "_a1", SEC(1000), SEC(101)), ANC_E_REPLAY);
    ck_assert_int_eq(ins(c, "_a1", SEC(5000), SEC(999)), ANC_E_REPLAY);
    ck_assert_int_eq(ins(c, "_a2", SEC(1000), SEC(101)), ANC_OK);
    /* past its expiry the entry is gone (the verifier would reject the
     * assertion as expired anyway) and the ID is usable again */
    ck_assert_int_eq(ins(c, "_a1", SEC(3000), SEC(1000)), ANC_OK);
    ck_assert_int_eq(ins(c, "_a1", SEC(3000), SEC(2999)), ANC_E_REPLAY);
    ck_assert_int_eq(ins(c, "", SEC(1), SEC(0)), ANC_E_INPUT);
    ck_assert_int_eq(ins(c, NULL, SEC(1), SEC(0)), ANC_E_INPUT);
}
END_TEST

START_TEST(test_purge_keeps_live_entries)
{
    const anc_replay_cache_t *c = anc_replay_memory_create(pool);
    int i;

    /* 5000 short-lived and 50 long-lived IDs; later inserts run purges */
    for (i = 0; i < 5000; i++) {
        ck_assert_int_eq(ins(c, apr_psprintf(pool, "_short%d", i), SEC(10 + i), SEC(i)),
                         ANC_OK);
        if (i % 100 == 0) {
            ck_assert_int_eq(
                ins(c, apr_psprintf(pool, "_long%d", i), SEC(100000), SEC(i)), ANC_OK);
        }
    }
    for (i = 0; i < 5000; i += 100) {
        ck_assert_int_eq(ins(c, apr_psprintf(pool, "_long%d", i), SEC(100000), SEC(6000)),
                         ANC_E_REPLAY);
    }
    /* the last short ones are still live at t=5000 */
    ck_assert_int_eq(ins(c, "_short4999", SEC(20000), SEC(5000)), ANC_E_REPLAY);
    ck_assert_int_eq(ins(c, "_short0", SEC(20000), SEC(5000)), ANC_OK);
}
END_TEST

static Suite *replay_suite(void)
{
    Suite *s = suite_create("replay");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_once);
    tcase_add_test(tc, test_purge_keeps_live_entries);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return anc_test_run_suite(replay_suite());
}
