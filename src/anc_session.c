/*
 * anc_session.c - codecs of the session and pending-request records, and
 * random identifiers.
 *
 * Wire form (text, so a cache dump stays readable):
 *   magic "ANCS3\n" (session) or "ANCR1\n" (request state), then fields:
 *     string  's' <decimal length> ':' <bytes>     (may hold any byte but NUL)
 *     null    'n'                                  (a NULL string)
 *     integer 'i' ['-'] <decimal> ';'              (64-bit signed)
 *     block   'b' <decimal length> ':' <bytes>     (NUL-terminated strings)
 * Lists are an integer count followed by that many items. Nothing may
 * follow the last field.
 *
 * A session (ANCS3) is: id, idp, NameID value, Format, NameQualifier,
 * SPNameQualifier, the class list, the statements (a count, then per
 * statement its class, a string or null, and its instant), the
 * SessionIndex list, created, expires, the variable block, then the
 * attributes (a count, then name, NameFormat, FriendlyName and the value
 * list of each).
 *
 * A session holds, before its attributes, the block of its request
 * variables (anc_session_vars.c): pairs of NUL-terminated name and value,
 * which a request uses where they lie in the buffer. A request that needs
 * no attribute stops reading there (ANC_SESSION_SKIP_ATTRIBUTES): what it
 * does not read it does not use, and a decode of the whole record still
 * checks every byte. The decoder trusts nothing: every
 * length is checked against the bytes left, every count against what the remaining bytes
 * could hold, integers against overflow, and flags against their range, because the store
 * (a shared memcache/redis) is outside the module's control and a fuzzer drives this
 * code.
 */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/rand.h>

#include "anc_session.h"

/* 2: the variable block was added. 3: every AuthnStatement's (class,
 * instant) and every SessionIndex replace the single instant and index
 * (issue 11 item 3, Single Logout). An ANCS1 or ANCS2 record from an older
 * module reads as unknown: that user signs in again. */
#define SESSION_MAGIC "ANCS3\n"
#define STATE_MAGIC "ANCR1\n"
#define MAGIC_LEN 6
/* No single field of a record is legitimately larger than this; a larger
 * one means corruption (and would make the decoder allocate for nothing). */
#define MAX_FIELD_LEN (1024 * 1024)
#define MAX_RANDOM_BYTES 256

/* ---- encoding ---------------------------------------------------------- */

static void put_str(apr_pool_t *p, apr_array_header_t *out, const char *s)
{
    if (s == NULL) {
        APR_ARRAY_PUSH(out, const char *) = "n";
        return;
    }
    APR_ARRAY_PUSH(out, const char *) =
        apr_psprintf(p, "s%" APR_SIZE_T_FMT ":", strlen(s));
    APR_ARRAY_PUSH(out, const char *) = s;
}

static void put_int(apr_pool_t *p, apr_array_header_t *out, apr_int64_t v)
{
    APR_ARRAY_PUSH(out, const char *) = apr_psprintf(p, "i%" APR_INT64_T_FMT ";", v);
}

static void put_list(apr_pool_t *p, apr_array_header_t *out,
                     const apr_array_header_t *list)
{
    int i, n = list != NULL ? list->nelts : 0;

    put_int(p, out, n);
    for (i = 0; i < n; i++) {
        put_str(p, out, APR_ARRAY_IDX(list, i, const char *));
    }
}

/* Every list item must be a string (a non-empty one for classes, while
 * an attribute value may be empty): the decoder refuses
 * anything else, so the encoder refuses to write it. */
static int list_ok(const apr_array_header_t *list, int nonempty)
{
    int i;

    for (i = 0; list != NULL && i < list->nelts; i++) {
        const char *s = APR_ARRAY_IDX(list, i, const char *);

        if (s == NULL || (nonempty && *s == '\0')) {
            return 0;
        }
    }
    return 1;
}

static void finish(apr_pool_t *p, apr_array_header_t *out, const char **buf,
                   apr_size_t *len)
{
    char *s = apr_array_pstrcat(p, out, 0);

    *buf = s;
    *len = strlen(s);
}

/* head, then the block (which holds NULs, so it cannot go through the
 * string concatenation), then tail. */
static void finish_around_block(apr_pool_t *p, apr_array_header_t *head,
                                const char *block, apr_size_t block_len,
                                apr_array_header_t *tail, const char **buf,
                                apr_size_t *len)
{
    const char *h, *t;
    apr_size_t hlen, tlen;
    char *all;

    APR_ARRAY_PUSH(head, const char *) =
        apr_psprintf(p, "b%" APR_SIZE_T_FMT ":", block_len);
    finish(p, head, &h, &hlen);
    finish(p, tail, &t, &tlen);
    all = apr_palloc(p, hlen + block_len + tlen + 1);
    memcpy(all, h, hlen);
    memcpy(all + hlen, block, block_len);
    memcpy(all + hlen + block_len, t, tlen);
    all[hlen + block_len + tlen] = '\0';
    *buf = all;
    *len = hlen + block_len + tlen;
}

/* The oldest instant of the statements (0 when there are none). */
static apr_time_t oldest_instant(const apr_array_header_t *statements)
{
    apr_time_t t = 0;
    int i;

    for (i = 0; statements != NULL && i < statements->nelts; i++) {
        apr_time_t x = APR_ARRAY_IDX(statements, i, anc_class_instant_t).instant;

        if (i == 0 || x < t) {
            t = x;
        }
    }
    return t;
}

/* A copy of s with the lists filled and the derived single values set
 * from them: an empty list takes the single value (a caller that only
 * knows one instant or index), a non-empty one must agree with it, so
 * that what is stored is what decodes. */
static anc_status_t normalize(apr_pool_t *p, const anc_session_t *s, anc_session_t *n,
                              anc_error_t **err)
{
    int i;

    *n = *s;
    if (s->statements == NULL || s->statements->nelts == 0) {
        n->statements = apr_array_make(p, 1, sizeof(anc_class_instant_t));
        if (s->authn_instant != 0) {
            anc_class_instant_t *ci = apr_array_push(n->statements);

            ci->class_ref = NULL;
            ci->instant = s->authn_instant;
        }
    } else if (s->authn_instant != 0 &&
               s->authn_instant != oldest_instant(s->statements)) {
        return anc_error_set(p, err, ANC_E_INPUT,
                             "session authn_instant is not its oldest statement's");
    }
    for (i = 0; i < n->statements->nelts; i++) {
        const anc_class_instant_t *ci =
            &APR_ARRAY_IDX(n->statements, i, anc_class_instant_t);

        if (ci->instant < 0 || (ci->class_ref != NULL && *ci->class_ref == '\0')) {
            return anc_error_set(p, err, ANC_E_INPUT,
                                 "statement with a negative instant or an empty class");
        }
    }
    n->authn_instant = oldest_instant(n->statements);

    if (s->session_indexes == NULL || s->session_indexes->nelts == 0) {
        n->session_indexes = apr_array_make(p, 1, sizeof(const char *));
        if (s->session_index != NULL) {
            APR_ARRAY_PUSH(n->session_indexes, const char *) = s->session_index;
        }
    } else if (s->session_index != NULL &&
               (APR_ARRAY_IDX(s->session_indexes, 0, const char *) == NULL ||
                strcmp(s->session_index,
                       APR_ARRAY_IDX(s->session_indexes, 0, const char *)) != 0)) {
        return anc_error_set(p, err, ANC_E_INPUT,
                             "session session_index is not its first SessionIndex");
    }
    if (!list_ok(n->session_indexes, 0)) {
        return anc_error_set(p, err, ANC_E_INPUT, "NULL SessionIndex");
    }
    n->session_index = n->session_indexes->nelts > 0
                           ? APR_ARRAY_IDX(n->session_indexes, 0, const char *)
                           : NULL;
    return ANC_OK;
}

anc_status_t anc_session_encode(apr_pool_t *p, const anc_session_t *s, const char **buf,
                                apr_size_t *len, anc_error_t **err)
{
    apr_array_header_t *head, *out;
    anc_session_t norm;
    const char *block;
    apr_size_t block_len;
    int i, n;

    if (s == NULL || s->id == NULL || s->idp == NULL || s->name_id.value == NULL ||
        *s->id == '\0' || *s->idp == '\0' || *s->name_id.value == '\0') {
        return anc_error_set(p, err, ANC_E_INPUT,
                             "session without id, IdP or NameID cannot be stored");
    }
    if (!list_ok(s->classes, 1)) {
        return anc_error_set(p, err, ANC_E_INPUT, "empty session class");
    }
    if (s->authn_instant < 0 || s->created < 0 || s->expires < 0) {
        return anc_error_set(p, err, ANC_E_INPUT, "session with a negative time");
    }
    if (normalize(p, s, &norm, err) != ANC_OK) {
        return ANC_E_INPUT;
    }
    s = &norm;
    /* derived from the fields, never taken from s->vars: what is stored
     * always agrees with the session it belongs to */
    if (anc_session_variables(p, s, &block, &block_len, err) != ANC_OK) {
        return ANC_E_INPUT;
    }
    out = head = apr_array_make(p, 32, sizeof(const char *));
    APR_ARRAY_PUSH(out, const char *) = SESSION_MAGIC;
    put_str(p, out, s->id);
    put_str(p, out, s->idp);
    put_str(p, out, s->name_id.value);
    put_str(p, out, s->name_id.format);
    put_str(p, out, s->name_id.name_qualifier);
    put_str(p, out, s->name_id.sp_name_qualifier);
    put_list(p, out, s->classes);
    n = s->statements->nelts;
    put_int(p, out, n);
    for (i = 0; i < n; i++) {
        const anc_class_instant_t *ci =
            &APR_ARRAY_IDX(s->statements, i, anc_class_instant_t);

        put_str(p, out, ci->class_ref);
        put_int(p, out, ci->instant);
    }
    put_list(p, out, s->session_indexes);
    put_int(p, out, s->created);
    put_int(p, out, s->expires);
    /* the block goes between here and the attributes */
    out = apr_array_make(p, 64, sizeof(const char *));
    n = s->attributes != NULL ? s->attributes->nelts : 0;
    put_int(p, out, n);
    for (i = 0; i < n; i++) {
        const anc_attribute_t *a = &APR_ARRAY_IDX(s->attributes, i, anc_attribute_t);

        if (a->name == NULL || *a->name == '\0' || !list_ok(a->values, 0)) {
            return anc_error_set(p, err, ANC_E_INPUT,
                                 "attribute without a name or with a NULL value");
        }
        put_str(p, out, a->name);
        put_str(p, out, a->name_format);
        put_str(p, out, a->friendly_name);
        put_list(p, out, a->values);
    }
    finish_around_block(p, head, block, block_len, out, buf, len);
    return ANC_OK;
}

anc_status_t anc_request_state_encode(apr_pool_t *p, const anc_request_state_t *st,
                                      const char **buf, apr_size_t *len,
                                      anc_error_t **err)
{
    apr_array_header_t *out;

    if (st == NULL || st->request_id == NULL || st->target == NULL ||
        *st->request_id == '\0' || *st->target == '\0') {
        return anc_error_set(p, err, ANC_E_INPUT,
                             "request state without request id or target");
    }
    if ((int)st->comparison < 0 || st->comparison > ANC_CMP_MAXIMUM) {
        return anc_error_set(p, err, ANC_E_INPUT, "request state comparison %d",
                             (int)st->comparison);
    }
    if (!list_ok(st->requested_classes, 1) ||
        (st->has_requested_context &&
         (st->requested_classes == NULL || st->requested_classes->nelts == 0))) {
        return anc_error_set(p, err, ANC_E_INPUT,
                             "request state with an empty or missing class");
    }
    if (st->max_age < 0 || st->created < 0 || st->expires < 0) {
        return anc_error_set(p, err, ANC_E_INPUT,
                             "request state with a negative age or time");
    }
    out = apr_array_make(p, 32, sizeof(const char *));
    APR_ARRAY_PUSH(out, const char *) = STATE_MAGIC;
    put_str(p, out, st->request_id);
    put_str(p, out, st->target);
    put_str(p, out, st->idp);
    put_str(p, out, st->browser_binding);
    put_int(p, out, st->has_requested_context ? 1 : 0);
    put_int(p, out, (apr_int64_t)st->comparison);
    put_list(p, out, st->requested_classes);
    put_int(p, out, st->force_authn ? 1 : 0);
    put_int(p, out, st->max_age);
    put_int(p, out, st->is_retry ? 1 : 0);
    put_int(p, out, st->created);
    put_int(p, out, st->expires);
    finish(p, out, buf, len);
    return ANC_OK;
}

void anc_session_set_authn(apr_pool_t *p, anc_session_t *s, const anc_assertion_t *a)
{
    int i, j;

    s->statements = anc_policy_class_instants(p, a);
    s->authn_instant = oldest_instant(s->statements);
    s->session_indexes = apr_array_make(p, 2, sizeof(const char *));
    for (i = 0;
         a != NULL && a->authn_statements != NULL && i < a->authn_statements->nelts;
         i++) {
        const char *idx =
            APR_ARRAY_IDX(a->authn_statements, i, anc_authn_statement_t).session_index;

        for (j = 0; idx != NULL && j < s->session_indexes->nelts; j++) {
            if (strcmp(APR_ARRAY_IDX(s->session_indexes, j, const char *), idx) == 0) {
                idx = NULL;
            }
        }
        if (idx != NULL) {
            APR_ARRAY_PUSH(s->session_indexes, const char *) = idx;
        }
    }
    s->session_index = s->session_indexes->nelts > 0
                           ? APR_ARRAY_IDX(s->session_indexes, 0, const char *)
                           : NULL;
}

/* ---- decoding ---------------------------------------------------------- */

typedef struct {
    apr_pool_t *p;
    const char *cur;
    const char *end;
    const char *what; /* first failure, for the error detail */
} reader_t;

static int fail(reader_t *r, const char *what)
{
    if (r->what == NULL) {
        r->what = what;
    }
    return 0;
}

/* Reads decimal digits into *v; at least one, at most 18 before the
 * terminator check so no overflow can happen. */
static int read_digits(reader_t *r, apr_uint64_t *v, char term)
{
    apr_uint64_t acc = 0;
    int digits = 0;

    while (r->cur < r->end && *r->cur >= '0' && *r->cur <= '9') {
        if (++digits > 18) {
            return fail(r, "number too long");
        }
        acc = acc * 10 + (apr_uint64_t)(*r->cur - '0');
        r->cur++;
    }
    if (digits == 0) {
        return fail(r, "number expected");
    }
    /* One spelling per value (no leading zeros), so a record decodes to
     * exactly one meaning and re-encodes to the same bytes. */
    if (digits > 1 && r->cur[-digits] == '0') {
        return fail(r, "leading zero");
    }
    if (r->cur >= r->end || *r->cur != term) {
        return fail(r, "bad number terminator");
    }
    r->cur++;
    *v = acc;
    return 1;
}

static int get_int(reader_t *r, apr_int64_t *v)
{
    apr_uint64_t u;
    int neg = 0;

    if (r->cur >= r->end || *r->cur != 'i') {
        return fail(r, "integer expected");
    }
    r->cur++;
    if (r->cur < r->end && *r->cur == '-') {
        neg = 1;
        r->cur++;
    }
    if (!read_digits(r, &u, ';')) {
        return 0;
    }
    if (neg && u == 0) {
        return fail(r, "negative zero");
    }
    *v = neg ? -(apr_int64_t)u : (apr_int64_t)u;
    return 1;
}

static int get_int_range(reader_t *r, int *v, apr_int64_t lo, apr_int64_t hi)
{
    apr_int64_t x;

    if (!get_int(r, &x)) {
        return 0;
    }
    if (x < lo || x > hi) {
        return fail(r, "integer out of range");
    }
    *v = (int)x;
    return 1;
}

/* The head of a length-prefixed field: tag, decimal length, ':', and a
 * length that the rest of the record can hold. */
static int get_length(reader_t *r, char tag, const char *what, apr_uint64_t *n)
{
    if (r->cur >= r->end || *r->cur != tag) {
        return fail(r, apr_psprintf(r->p, "%s expected", what));
    }
    r->cur++;
    if (!read_digits(r, n, ':')) {
        return 0;
    }
    if (*n > MAX_FIELD_LEN || *n > (apr_uint64_t)(r->end - r->cur)) {
        return fail(r, apr_psprintf(r->p, "%s length exceeds record", what));
    }
    return 1;
}

/* One string field, checked in place: *at and *n give its bytes, *is_null
 * says it was 'n'. Nothing is copied. */
static int get_span(reader_t *r, const char **at, apr_size_t *n, int *is_null)
{
    apr_uint64_t len;

    if (r->cur >= r->end) {
        return fail(r, "truncated");
    }
    if (*r->cur == 'n') {
        r->cur++;
        *is_null = 1;
        *at = NULL;
        *n = 0;
        return 1;
    }
    if (!get_length(r, 's', "string", &len)) {
        return 0;
    }
    if (memchr(r->cur, '\0', (apr_size_t)len) != NULL) {
        return fail(r, "NUL byte in string");
    }
    *is_null = 0;
    *at = r->cur;
    *n = (apr_size_t)len;
    r->cur += len;
    return 1;
}

/* A string field, copied into the pool. */
static int get_str(reader_t *r, const char **s, int required)
{
    const char *at;
    apr_size_t n;
    int is_null;

    if (!get_span(r, &at, &n, &is_null)) {
        return 0;
    }
    if (required && is_null) {
        return fail(r, "required field is null");
    }
    if (required && n == 0) {
        return fail(r, "required field is empty");
    }
    *s = is_null ? NULL : apr_pstrmemdup(r->p, at, n);
    return 1;
}

/* A variable name: letters, digits, '_' and '-' (the Shib-* aliases), so
 * that it is a valid environment variable and header name whatever the
 * store held. A table, not isalnum(): this runs for every byte of every
 * name on every request. */
static const unsigned char var_name_char[256] = {
    ['-'] = 1, ['_'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
    ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1,
    ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,
    ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1,
    ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,
    ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1,
    ['z'] = 1,
};

/* Length of the name at q (up to its NUL), or 0 when it is empty or holds
 * a byte outside the set. */
static apr_size_t var_name_len(const char *q)
{
    const unsigned char *u = (const unsigned char *)q;

    while (var_name_char[*u]) {
        u++;
    }
    return *u == '\0' ? (apr_size_t)(u - (const unsigned char *)q) : 0;
}

/* The variable block: used where it lies (zero copy), after checking that
 * it is whole pairs of NUL-terminated strings with valid names. */
static int get_block(reader_t *r, anc_session_t *s)
{
    apr_uint64_t n;
    const char *q, *end;

    if (!get_length(r, 'b', "variable block", &n)) {
        return 0;
    }
    end = r->cur + n;
    if (n > 0 && end[-1] != '\0') {
        return fail(r, "block does not end with NUL");
    }
    /* the pairs, found while checking, so that a request walks an array */
    s->var_pairs = apr_array_make(r->p, 32, sizeof(const char *));
    for (q = r->cur; q < end;) {
        apr_size_t name_len = var_name_len(q);
        const char *value = q + name_len + 1;

        /* only the module's own names: whoever can write to a shared
         * cache must not get to set LD_PRELOAD for a CGI or an
         * Authorization header for a back end */
        if (name_len == 0 ||
            (strncmp(q, "AUTHN_CONTEXT_", 14) != 0 && strncmp(q, "Shib-", 5) != 0)) {
            return fail(r, "bad variable name in block");
        }
        if (value >= end) {
            return fail(r, "variable without a value in block");
        }
        APR_ARRAY_PUSH(s->var_pairs, const char *) = q;
        APR_ARRAY_PUSH(s->var_pairs, const char *) = value;
        q = value + strlen(value) + 1;
    }
    s->vars = r->cur;
    s->vars_len = (apr_size_t)n;
    r->cur = end;
    return 1;
}

/* A count can never exceed the bytes left: every item takes at least one
 * byte. This bounds the allocation by the input size. */
static int get_count(reader_t *r, int *n)
{
    apr_int64_t x;

    if (!get_int(r, &x)) {
        return 0;
    }
    if (x < 0 || x > (apr_int64_t)(r->end - r->cur) || x > 1000000) {
        return fail(r, "bad count");
    }
    *n = (int)x;
    return 1;
}

static int get_list(reader_t *r, apr_array_header_t **list, int nonempty)
{
    const char *at;
    apr_size_t len;
    int i, n, is_null;

    if (!get_count(r, &n)) {
        return 0;
    }
    *list = apr_array_make(r->p, n > 0 ? n : 1, sizeof(const char *));
    for (i = 0; i < n; i++) {
        if (!get_span(r, &at, &len, &is_null)) {
            return 0;
        }
        if (is_null || (nonempty && len == 0)) {
            return fail(r, "null or empty list item");
        }
        APR_ARRAY_PUSH(*list, const char *) = apr_pstrmemdup(r->p, at, len);
    }
    return 1;
}

static int get_time(reader_t *r, apr_time_t *t)
{
    apr_int64_t x;

    if (!get_int(r, &x)) {
        return 0;
    }
    if (x < 0) {
        return fail(r, "negative time");
    }
    *t = (apr_time_t)x;
    return 1;
}

static int check_magic(reader_t *r, const char *buf, apr_size_t len, const char *magic)
{
    if (buf == NULL || len < MAGIC_LEN || memcmp(buf, magic, MAGIC_LEN) != 0) {
        return fail(r, "bad magic");
    }
    r->cur = buf + MAGIC_LEN;
    r->end = buf + len;
    return 1;
}

/* The statements: a count, then (class or null, instant) each; the
 * derived oldest instant is set from them. */
static int get_statements(reader_t *r, anc_session_t *s)
{
    int i, n;

    if (!get_count(r, &n)) {
        return 0;
    }
    s->statements = apr_array_make(r->p, n > 0 ? n : 1, sizeof(anc_class_instant_t));
    for (i = 0; i < n; i++) {
        anc_class_instant_t *ci = apr_array_push(s->statements);
        const char *at;
        apr_size_t len;
        int is_null;

        if (!get_span(r, &at, &len, &is_null)) {
            return 0;
        }
        if (!is_null && len == 0) {
            return fail(r, "empty statement class");
        }
        ci->class_ref = is_null ? NULL : apr_pstrmemdup(r->p, at, len);
        if (!get_time(r, &ci->instant)) {
            return 0;
        }
    }
    s->authn_instant = oldest_instant(s->statements);
    return 1;
}

static int read_session(reader_t *r, anc_session_t *s, int skip_attributes)
{
    int i, n;

    if (!get_str(r, &s->id, 1) || !get_str(r, &s->idp, 1) ||
        !get_str(r, &s->name_id.value, 1) || !get_str(r, &s->name_id.format, 0) ||
        !get_str(r, &s->name_id.name_qualifier, 0) ||
        !get_str(r, &s->name_id.sp_name_qualifier, 0) || !get_list(r, &s->classes, 1) ||
        !get_statements(r, s) || !get_list(r, &s->session_indexes, 0) ||
        !get_time(r, &s->created) || !get_time(r, &s->expires) || !get_block(r, s)) {
        return 0;
    }
    s->session_index = s->session_indexes->nelts > 0
                           ? APR_ARRAY_IDX(s->session_indexes, 0, const char *)
                           : NULL;
    if (skip_attributes) {
        s->attributes_skipped = 1;
        r->cur = r->end;
        return 1;
    }
    if (!get_count(r, &n)) {
        return 0;
    }
    s->attributes = apr_array_make(r->p, n > 0 ? n : 1, sizeof(anc_attribute_t));
    for (i = 0; i < n; i++) {
        anc_attribute_t *a = apr_array_push(s->attributes);

        if (!get_str(r, &a->name, 1) || !get_str(r, &a->name_format, 0) ||
            !get_str(r, &a->friendly_name, 0) || !get_list(r, &a->values, 0)) {
            return 0;
        }
    }
    return 1;
}

anc_status_t anc_session_decode(apr_pool_t *p, const char *buf, apr_size_t len, int flags,
                                anc_session_t **out, anc_error_t **err)
{
    reader_t r = {p, NULL, NULL, NULL};
    anc_session_t *s = apr_pcalloc(p, sizeof(*s));

    if (!check_magic(&r, buf, len, SESSION_MAGIC) ||
        !read_session(&r, s, (flags & ANC_SESSION_SKIP_ATTRIBUTES) != 0)) {
        return anc_error_set(p, err, ANC_E_INPUT, "session record: %s", r.what);
    }
    if (r.cur != r.end) {
        return anc_error_set(p, err, ANC_E_INPUT, "session record: trailing bytes");
    }
    *out = s;
    return ANC_OK;
}

anc_status_t anc_request_state_decode(apr_pool_t *p, const char *buf, apr_size_t len,
                                      anc_request_state_t **out, anc_error_t **err)
{
    reader_t r = {p, NULL, NULL, NULL};
    anc_request_state_t *st = apr_pcalloc(p, sizeof(*st));
    int cmp = 0;

    if (!check_magic(&r, buf, len, STATE_MAGIC) || !get_str(&r, &st->request_id, 1) ||
        !get_str(&r, &st->target, 1) || !get_str(&r, &st->idp, 0) ||
        !get_str(&r, &st->browser_binding, 0) ||
        !get_int_range(&r, &st->has_requested_context, 0, 1) ||
        !get_int_range(&r, &cmp, ANC_CMP_EXACT, ANC_CMP_MAXIMUM) ||
        !get_list(&r, &st->requested_classes, 1) ||
        !get_int_range(&r, &st->force_authn, 0, 1) ||
        !get_int_range(&r, &st->max_age, 0, APR_INT32_MAX) ||
        !get_int_range(&r, &st->is_retry, 0, 1) || !get_time(&r, &st->created) ||
        !get_time(&r, &st->expires)) {
        return anc_error_set(p, err, ANC_E_INPUT, "request state: %s", r.what);
    }
    if (r.cur != r.end) {
        return anc_error_set(p, err, ANC_E_INPUT, "request state: trailing bytes");
    }
    /* A request that asked for a context must say which classes. */
    if (st->has_requested_context && st->requested_classes->nelts == 0) {
        return anc_error_set(p, err, ANC_E_INPUT,
                             "request state: requested context without classes");
    }
    st->comparison = (anc_comparison_t)cmp;
    *out = st;
    return ANC_OK;
}

/* ---- random identifiers ------------------------------------------------ */

anc_status_t anc_random_hex(apr_pool_t *p, apr_size_t nbytes, const char **hex,
                            anc_error_t **err)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char raw[MAX_RANDOM_BYTES];
    char *out;
    apr_size_t i;

    if (nbytes == 0 || nbytes > MAX_RANDOM_BYTES) {
        return anc_error_set(p, err, ANC_E_INTERNAL,
                             "random id of %" APR_SIZE_T_FMT " bytes", nbytes);
    }
    /* Session ids and request ids must be unpredictable: only the OpenSSL
     * CSPRNG, and a failure is an error, never a weaker fallback. */
    if (RAND_bytes(raw, (int)nbytes) != 1) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "RAND_bytes failed");
    }
    out = apr_palloc(p, 2 * nbytes + 1);
    for (i = 0; i < nbytes; i++) {
        out[2 * i] = digits[raw[i] >> 4];
        out[2 * i + 1] = digits[raw[i] & 0x0f];
    }
    out[2 * nbytes] = '\0';
    OPENSSL_cleanse(raw, nbytes);
    *hex = out;
    return ANC_OK;
}

int anc_is_hex_id(const char *s, apr_size_t nbytes)
{
    /* lower-case hex digits only: what anc_random_hex writes */
    static const unsigned char hex[256] = {
        ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
        ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1,
        ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    };
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i;

    if (s == NULL || nbytes == 0) {
        return 0;
    }
    for (i = 0; i < 2 * nbytes; i++) {
        if (!hex[u[i]]) {
            return 0; /* also stops at the NUL of a short string */
        }
    }
    return u[2 * nbytes] == '\0';
}
