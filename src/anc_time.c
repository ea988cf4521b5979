/*
 * anc_time.c - xs:dateTime parsing and formatting (SAML core 1.3.3).
 *
 * SAML times are UTC; the parser also accepts an explicit offset and a
 * missing zone (read as UTC, as SAML core 1.3.3 says every time is UTC).
 * The conversion is done by arithmetic, never through the process time
 * zone (TZ), so threads cannot disturb each other.
 */
#include <apr_strings.h>
#include <apr_time.h>

#include "anc_response.h"

static int read_digits(const char **s, int n, int *out)
{
    int v = 0;
    int i;

    for (i = 0; i < n; i++) {
        char c = (*s)[i];

        if (c < '0' || c > '9') {
            return 0;
        }
        v = v * 10 + (c - '0');
    }
    *s += n;
    *out = v;
    return 1;
}

static int is_leap(long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil algorithm). */
static long days_from_civil(long y, int m, int d)
{
    long era;
    long yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

anc_status_t anc_time_parse(const char *text, apr_time_t *t)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *s = text;
    int year, mon, day, hour, min, sec;
    long usec = 0;
    long offset = 0;
    long days;

    if (s == NULL) {
        return ANC_E_INPUT;
    }
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
        s++; /* xs:dateTime has whiteSpace="collapse" */
    }
    if (!read_digits(&s, 4, &year) || *s++ != '-' || !read_digits(&s, 2, &mon) ||
        *s++ != '-' || !read_digits(&s, 2, &day) || *s++ != 'T' ||
        !read_digits(&s, 2, &hour) || *s++ != ':' || !read_digits(&s, 2, &min) ||
        *s++ != ':' || !read_digits(&s, 2, &sec)) {
        return ANC_E_INPUT;
    }
    if (year < 1 || mon < 1 || mon > 12 || day < 1 || hour > 23 || min > 59 || sec > 59) {
        return ANC_E_INPUT;
    }
    if (day > mdays[mon - 1] + (mon == 2 && is_leap(year))) {
        return ANC_E_INPUT;
    }
    if (*s == '.') {
        long scale = 100000;
        int ndigits = 0;

        s++;
        while (*s >= '0' && *s <= '9') {
            if (scale > 0) {
                usec += (*s - '0') * scale;
                scale /= 10;
            }
            s++;
            ndigits++;
        }
        if (ndigits == 0) {
            return ANC_E_INPUT;
        }
    }
    if (*s == 'Z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int sign = *s == '-' ? -1 : 1;
        int oh, om;

        s++;
        if (!read_digits(&s, 2, &oh) || *s++ != ':' || !read_digits(&s, 2, &om) ||
            oh > 14 || om > 59) {
            return ANC_E_INPUT;
        }
        offset = sign * (oh * 3600L + om * 60L);
    }
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
        s++;
    }
    if (*s != '\0') {
        return ANC_E_INPUT;
    }
    days = days_from_civil(year, mon, day);
    *t = apr_time_from_sec((apr_time_t)days * 86400 + hour * 3600L + min * 60L + sec -
                           offset) +
         usec;
    return ANC_OK;
}

const char *anc_time_format(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;

    if (apr_time_exp_gmt(&tm, t) != APR_SUCCESS) {
        return "1970-01-01T00:00:00Z";
    }
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
