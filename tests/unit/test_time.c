/*
 * test_time.c - xs:dateTime parsing and formatting (anc_time_parse/format).
 */
#include <check.h>
#include <stdlib.h>

#include <apr_general.h>
#include <apr_time.h>

#include "anc_response.h"
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

/* The reference value computed by APR from broken-down UTC fields. */
static apr_time_t utc(int y, int mo, int d, int h, int mi, int s, int usec)
{
    apr_time_exp_t tm = {0};
    apr_time_t t;

    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    tm.tm_usec = usec;
    ck_assert_int_eq(apr_time_exp_gmt_get(&t, &tm), APR_SUCCESS);
    return t;
}

START_TEST(test_parse_valid)
{
    apr_time_t t;

    ck_assert_int_eq(anc_time_parse("2026-11-23T08:51:31Z", &t), ANC_OK);
    ck_assert_int_eq(t, utc(2026, 11, 23, 8, 51, 31, 0));
    ck_assert_int_eq(anc_time_parse("1970-01-01T00:00:00Z", &t), ANC_OK);
    ck_assert_int_eq(t, 0);
    ck_assert_int_eq(anc_time_parse("2026-11-23T08:51:31.123Z", &t), ANC_OK);
    ck_assert_int_eq(t, utc(2026, 11, 23, 8, 51, 31, 123000));
    /* more digits than microseconds: truncated, not rejected */
    ck_assert_int_eq(anc_time_parse("2026-11-23T08:51:31.1234567Z", &t), ANC_OK);
    ck_assert_int_eq(t, utc(2026, 11, 23, 8, 51, 31, 123456));
    /* an offset is converted to UTC */
    ck_assert_int_eq(anc_time_parse("2026-11-23T10:51:31+02:00", &t), ANC_OK);
    ck_assert_int_eq(t, utc(2026, 11, 23, 8, 51, 31, 0));
    ck_assert_int_eq(anc_time_parse("2026-11-22T23:51:31-09:00", &t), ANC_OK);
    ck_assert_int_eq(t, utc(2026, 11, 23, 8, 51, 31, 0));
    /* no zone: UTC (SAML core 1.3.3) */
    ck_assert_int_eq(anc_time_parse("2026-11-23T08:51:31", &t), ANC_OK);
    ck_assert_int_eq(t, utc(2026, 11, 23, 8, 51, 31, 0));
    /* leap day, year ends, surrounding whitespace (collapse) */
    ck_assert_int_eq(anc_time_parse("2024-02-29T12:00:00Z", &t), ANC_OK);
    ck_assert_int_eq(t, utc(2024, 2, 29, 12, 0, 0, 0));
    ck_assert_int_eq(anc_time_parse("2000-02-29T00:00:00Z", &t), ANC_OK);
    ck_assert_int_eq(anc_time_parse("1999-12-31T23:59:59Z", &t), ANC_OK);
    ck_assert_int_eq(t, utc(1999, 12, 31, 23, 59, 59, 0));
    ck_assert_int_eq(anc_time_parse(" \n2026-11-23T08:51:31Z\t", &t), ANC_OK);
    ck_assert_int_eq(t, utc(2026, 11, 23, 8, 51, 31, 0));
}
END_TEST

START_TEST(test_parse_invalid)
{
    static const char *const bad[] = {
        "",
        "2026",
        "2026-11-23",
        "2026-11-23 08:51:31Z",
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-11-23T24:00:00Z",
        "2026-11-23T08:60:00Z",
        "2026-11-23T08:51:60Z",
        "2026-11-23T08:51:31ZZ",
        "2026-11-23T08:51:31.Z",
        "2026-11-23T08:51:31+0200",
        "2026-11-23T08:51:31+15:00",
        "26-11-23T08:51:31Z",
        "2026-1-23T08:51:31Z",
        "+2026-11-23T08:51:31Z",
        "2026-11-23T08:51:31Z x",
        "0000-01-01T00:00:00Z",
        "2026-11-23T8:51:31Z",
    };
    size_t i;
    apr_time_t t;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(anc_time_parse(bad[i], &t) == ANC_E_INPUT, "accepted '%s'", bad[i]);
    }
    ck_assert_int_eq(anc_time_parse(NULL, &t), ANC_E_INPUT);
}
END_TEST

START_TEST(test_format)
{
    apr_time_t t;

    ck_assert_str_eq(anc_time_format(pool, 0), "1970-01-01T00:00:00Z");
    ck_assert_str_eq(anc_time_format(pool, utc(2026, 11, 23, 8, 51, 31, 999999)),
                     "2026-11-23T08:51:31Z");
    ck_assert_int_eq(anc_time_parse("2038-01-19T03:14:08Z", &t), ANC_OK);
    ck_assert_str_eq(anc_time_format(pool, t), "2038-01-19T03:14:08Z");
    ck_assert_int_eq(anc_time_parse("9999-12-31T23:59:59Z", &t), ANC_OK);
    ck_assert_str_eq(anc_time_format(pool, t), "9999-12-31T23:59:59Z");
}
END_TEST

static Suite *time_suite(void)
{
    Suite *s = suite_create("time");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_parse_valid);
    tcase_add_test(tc, test_parse_invalid);
    tcase_add_test(tc, test_format);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return anc_test_run_suite(time_suite());
}
