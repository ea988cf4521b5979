/*
 * authncontext-verify - the offline SAML Response verifier.
 *
 * An administrator's debugging tool and the test harness of the core: it
 * runs the same verifier the module runs (anc_response_verify) over files,
 * in order, as one SP instance would: one verifier, one in-memory replay
 * cache, and a set of outstanding AuthnRequest IDs each answerable once.
 * One JSON object per file goes to stdout (JSON Lines).
 *
 * Exit status: 0 every file accepted, 1 some file rejected, 3 none rejected
 * but some carried an IdP error status, 2 usage or configuration error
 * (message on stderr).
 *
 * It uses only the public core API (include/).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "anc_error.h"
#include "anc_init.h"
#include "anc_keyinfo.h"
#include "anc_metadata.h"
#include "anc_page.h"
#include "anc_policy.h"
#include "anc_replay.h"
#include "anc_response.h"

#define EXIT_ACCEPT 0
#define EXIT_REJECT 1
#define EXIT_USAGE 2
#define EXIT_IDP_ERROR 3

static const char usage_text[] =
    "usage: authncontext-verify --idp-metadata FILE [--idp-metadata FILE]...\n"
    "           [--metadata-verify CERT] [--metadata-max-validity SECONDS]\n"
    "       authncontext-verify --metadata-only --idp-metadata FILE... "
    "[--metadata-verify\n"
    "           CERT] [--metadata-max-validity SECONDS] [--allow-sha1] [--now RFC3339]\n"
    "           --sp-entity-id URI --acs-url URL\n"
    "           [--request-id ID]... [--allow-unsolicited]\n"
    "           [--sp-key FILE [--sp-cert FILE]] [--now RFC3339]\n"
    "           [--clock-skew SECONDS] [--allow-sha1] [--require-signed-assertion]\n"
    "           [--max-size BYTES] RESPONSE-FILE...\n"
    "           [--require 'RULE'... [--class-level N URI]... [--class-alias FROM "
    "TO]...\n"
    "            [--class-attribute NAME]...]\n"
    "       authncontext-verify --version\n"
    "       authncontext-verify --print-template PAGE.html   (a built-in page template)\n"
    "\n"
    "Verifies SAML 2.0 Responses (raw XML or the base64 SAMLResponse form value;\n"
    "'-' reads stdin) in order, with one replay cache; each --request-id is an\n"
    "outstanding AuthnRequest that one Response may answer. Prints one JSON\n"
    "object per file. Exit: 0 all accepted, 1 some rejected, 3 some IdP error\n"
    "status (none rejected), 2 usage or configuration error.\n"
    "--metadata-verify and --metadata-max-validity apply to every --idp-metadata,\n"
    "as verify= and maxValidity= of AuthnContextIdPMetadataFile do; skipped\n"
    "entities are reported on stderr. --metadata-only checks the metadata alone\n"
    "(one JSON line per file; exit 0 when all are usable, 2 when not): a fetcher\n"
    "runs it on a download before renaming it over the file httpd reads.\n"
    "--metadata-split checks an aggregate the same way and writes each usable IdP\n"
    "to DIR/{sha1}HEX.xml plus DIR/index.tsv (their SHA-256 and display names),\n"
    "the per-entity directory AuthnContextIdPMetadataFile DIR loads lazily.\n";

/* The outstanding requests: id -> state. A request is consumed by the first
 * Response that answers it (accepted or an IdP error status), so a second
 * answer is "in-response-to-unknown" (SAML profiles 4.1.4.3: the SP must
 * match InResponseTo to a request it sent and not accept it twice). */
typedef struct requests_t {
    apr_hash_t *ids; /* const char * -> int * (1 outstanding, 0 consumed) */
} requests_t;

static anc_status_t request_lookup(void *ctx, const char *in_response_to,
                                   apr_pool_t *scratch, anc_error_t **err)
{
    requests_t *rq = ctx;
    int *state;

    if (in_response_to == NULL) {
        return anc_error_set(scratch, err, ANC_E_IN_RESPONSE_TO, "no InResponseTo");
    }
    state = apr_hash_get(rq->ids, in_response_to, APR_HASH_KEY_STRING);
    if (state == NULL) {
        return anc_error_set(scratch, err, ANC_E_IN_RESPONSE_TO,
                             "no outstanding request with this ID");
    }
    if (*state == 0) {
        return anc_error_set(scratch, err, ANC_E_IN_RESPONSE_TO,
                             "request already answered");
    }
    return ANC_OK;
}

static void request_consume(requests_t *rq, const char *id)
{
    int *state;

    if (id == NULL) {
        return;
    }
    state = apr_hash_get(rq->ids, id, APR_HASH_KEY_STRING);
    if (state != NULL) {
        *state = 0;
    }
}

/* A lookup that accepts any InResponseTo once and remembers it: the second
 * pass that tells an admin whether the request binding was the only thing
 * that failed. */
typedef struct probe_t {
    const char *seen;
} probe_t;

static anc_status_t probe_lookup(void *ctx, const char *in_response_to,
                                 apr_pool_t *scratch, anc_error_t **err)
{
    probe_t *pr = ctx;

    if (in_response_to == NULL) {
        return anc_error_set(scratch, err, ANC_E_IN_RESPONSE_TO, "no InResponseTo");
    }
    pr->seen = apr_pstrdup(scratch, in_response_to);
    return ANC_OK;
}

/* --- JSON output ---------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when the
 * bytes are not well-formed UTF-8 (overlongs, surrogates and values past
 * U+10FFFF included: RFC 3629). */
static size_t utf8_valid_len(const unsigned char *s, size_t n)
{
    unsigned int c = s[0];
    size_t len, i;
    unsigned long cp;

    if (c < 0x80) {
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
        return 0;
    }
    return len;
}

/* Writes s as a JSON string: quotes, backslash and every control character
 * escaped, and the line separators NEL, LS, PS; other valid UTF-8 passed
 * through; each byte of an invalid sequence
 * replaced by U+FFFD, so the output is always valid JSON in valid UTF-8.
 * NULL is written as null. */
static void json_str(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n;

    if (s == NULL) {
        fputs("null", out);
        return;
    }
    n = strlen(s);
    putc('"', out);
    while (n > 0) {
        unsigned int c = *p;
        size_t l;

        switch (c) {
            case '"':
                fputs("\\\"", out);
                break;
            case '\\':
                fputs("\\\\", out);
                break;
            case '\n':
                fputs("\\n", out);
                break;
            case '\r':
                fputs("\\r", out);
                break;
            case '\t':
                fputs("\\t", out);
                break;
            case '\b':
                fputs("\\b", out);
                break;
            case '\f':
                fputs("\\f", out);
                break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    fprintf(out, "\\u%04x", c);
                } else if (c < 0x80) {
                    putc((int)c, out);
                } else if ((l = utf8_valid_len(p, n)) > 0) {
                    /* NEL, LS and PS end a line for some line splitters
                     * (Python's splitlines): one record stays one line */
                    if (l == 2 && p[0] == 0xC2 && p[1] == 0x85) {
                        fputs("\\u0085", out);
                    } else if (l == 3 && p[0] == 0xE2 && p[1] == 0x80 &&
                               (p[2] == 0xA8 || p[2] == 0xA9)) {
                        fprintf(out, "\\u%04x", 0x2000u + (p[2] - 0x80u));
                    } else {
                        fwrite(p, 1, l, out);
                    }
                    p += l;
                    n -= l;
                    continue;
                } else {
                    fputs("\\ufffd", out);
                }
        }
        p++;
        n--;
    }
    putc('"', out);
}

static void json_key(FILE *out, const char *key, int *first)
{
    if (!*first) {
        putc(',', out);
    }
    *first = 0;
    json_str(out, key);
    putc(':', out);
}

static void json_field(FILE *out, const char *key, const char *value, int *first)
{
    json_key(out, key, first);
    json_str(out, value);
}

static void json_str_array(FILE *out, const apr_array_header_t *a)
{
    int i;

    putc('[', out);
    for (i = 0; a != NULL && i < a->nelts; i++) {
        if (i > 0) {
            putc(',', out);
        }
        json_str(out, APR_ARRAY_IDX(a, i, const char *));
    }
    putc(']', out);
}

static const char *time_or_null(apr_pool_t *p, apr_time_t t)
{
    return t == 0 ? NULL : anc_time_format(p, t);
}

static void print_accept(FILE *out, apr_pool_t *p, const anc_assertion_t *a, int *first)
{
    int i;

    json_field(out, "idp", a->idp, first);
    json_key(out, "name_id", first);
    {
        int f2 = 1;

        putc('{', out);
        json_field(out, "value", a->name_id.value, &f2);
        json_field(out, "format", a->name_id.format, &f2);
        json_field(out, "name_qualifier", a->name_id.name_qualifier, &f2);
        json_field(out, "sp_name_qualifier", a->name_id.sp_name_qualifier, &f2);
        putc('}', out);
    }
    json_key(out, "authn_context_class_refs", first);
    json_str_array(out, a->authn_context_class_refs);
    json_field(out, "authn_context_decl_ref", a->authn_context_decl_ref, first);
    json_field(out, "authn_instant", time_or_null(p, a->authn_instant), first);
    json_field(out, "session_index", a->session_index, first);
    json_field(out, "session_not_on_or_after",
               time_or_null(p, a->session_not_on_or_after), first);
    /* every AuthnStatement on its own: freshness is judged per statement */
    json_key(out, "authn_statements", first);
    putc('[', out);
    for (i = 0; a->authn_statements != NULL && i < a->authn_statements->nelts; i++) {
        const anc_authn_statement_t *st =
            &APR_ARRAY_IDX(a->authn_statements, i, anc_authn_statement_t);
        int f2 = 1;

        if (i > 0) {
            putc(',', out);
        }
        putc('{', out);
        json_key(out, "class_refs", &f2);
        json_str_array(out, st->class_refs);
        json_field(out, "authn_instant", time_or_null(p, st->authn_instant), &f2);
        json_field(out, "session_index", st->session_index, &f2);
        json_field(out, "session_not_on_or_after",
                   time_or_null(p, st->session_not_on_or_after), &f2);
        putc('}', out);
    }
    putc(']', out);
    json_key(out, "authenticating_authorities", first);
    json_str_array(out, a->authenticating_authorities);
    json_key(out, "attributes", first);
    putc('[', out);
    for (i = 0; a->attributes != NULL && i < a->attributes->nelts; i++) {
        const anc_attribute_t *at = &APR_ARRAY_IDX(a->attributes, i, anc_attribute_t);
        int f2 = 1;

        if (i > 0) {
            putc(',', out);
        }
        putc('{', out);
        json_field(out, "name", at->name, &f2);
        json_field(out, "name_format", at->name_format, &f2);
        json_field(out, "friendly_name", at->friendly_name, &f2);
        json_key(out, "values", &f2);
        json_str_array(out, at->values);
        putc('}', out);
    }
    putc(']', out);
    json_field(out, "assertion_id", a->assertion_id, first);
    json_field(out, "not_on_or_after", time_or_null(p, a->not_on_or_after), first);
    json_field(out, "response_id", a->response_id, first);
    json_field(out, "in_response_to", a->in_response_to, first);
    json_key(out, "encrypted", first);
    fputs(a->was_encrypted ? "true" : "false", out);
}

/* --- input ---------------------------------------------------------------- */

/* Reads a whole file ("-" = stdin) into p, reading at most cap + 1 bytes so
 * a huge file cannot exhaust memory: *too_big tells the caller the input is
 * over the cap. Returns 0 or errno. */
static int read_input(apr_pool_t *p, const char *path, apr_size_t cap, char **data,
                      apr_size_t *len, int *too_big)
{
    FILE *f;
    char *buf;
    apr_size_t size = 65536, used = 0;
    int e = 0;

    *too_big = 0;
    if (strcmp(path, "-") == 0) {
        f = stdin;
    } else if ((f = fopen(path, "rb")) == NULL) {
        return errno ? errno : EIO;
    }
    buf = malloc(size + 1);
    if (buf == NULL) {
        e = ENOMEM;
        goto done;
    }
    for (;;) {
        size_t got;

        if (used == size) {
            char *nb;

            if (size > cap) {
                *too_big = 1;
                break;
            }
            size *= 2;
            nb = realloc(buf, size + 1);
            if (nb == NULL) {
                e = ENOMEM;
                goto done;
            }
            buf = nb;
        }
        got = fread(buf + used, 1, size - used, f);
        used += got;
        if (got == 0) {
            if (ferror(f)) {
                e = errno ? errno : EIO;
                goto done;
            }
            break;
        }
    }
    if (used > cap) {
        *too_big = 1;
    }
    *data = apr_pmemdup(p, buf, used + 1);
    (*data)[used] = '\0';
    *len = used;
done:
    free(buf);
    if (f != stdin) {
        fclose(f);
    } else {
        clearerr(stdin);
    }
    return e;
}

/* --- options -------------------------------------------------------------- */

typedef struct options_t {
    apr_array_header_t *metadata; /* const char * */
    apr_array_header_t *requests; /* const char * */
    const char *sp_entity_id;
    const char *acs_url;
    const char *sp_key;
    const char *sp_cert;
    const char *now;
    long clock_skew;    /* -1 = default */
    long long max_size; /* 0 = default */
    int allow_unsolicited;
    int allow_sha1;
    int require_signed_assertion;
    /* rules to evaluate against an accepted response (--require), with the
     * vocabulary the module would have (--class-level, --class-alias,
     * --class-attribute) */
    apr_array_header_t *rules;            /* const char *: the rule's words */
    apr_array_header_t *levels;           /* const char * pairs: level, URI */
    apr_array_header_t *aliases;          /* const char * pairs: from, to */
    apr_array_header_t *class_attributes; /* const char * */
    const char *metadata_verify;          /* federation certificate, or NULL */
    long long metadata_max_validity;      /* seconds, 0 = none */
    int metadata_only;
    const char *metadata_split; /* DIR, or NULL */
} options_t;

enum {
    OPT_METADATA = 256,
    OPT_SP_ENTITY_ID,
    OPT_ACS_URL,
    OPT_REQUEST_ID,
    OPT_ALLOW_UNSOLICITED,
    OPT_SP_KEY,
    OPT_SP_CERT,
    OPT_NOW,
    OPT_CLOCK_SKEW,
    OPT_ALLOW_SHA1,
    OPT_REQUIRE_SIGNED_ASSERTION,
    OPT_MAX_SIZE,
    OPT_REQUIRE,
    OPT_CLASS_LEVEL,
    OPT_CLASS_ALIAS,
    OPT_CLASS_ATTRIBUTE,
    OPT_METADATA_VERIFY,
    OPT_METADATA_MAX_VALIDITY,
    OPT_METADATA_ONLY,
    OPT_METADATA_SPLIT
};

static const struct option long_options[] = {
    {"idp-metadata", required_argument, NULL, OPT_METADATA},
    {"sp-entity-id", required_argument, NULL, OPT_SP_ENTITY_ID},
    {"acs-url", required_argument, NULL, OPT_ACS_URL},
    {"request-id", required_argument, NULL, OPT_REQUEST_ID},
    {"allow-unsolicited", no_argument, NULL, OPT_ALLOW_UNSOLICITED},
    {"sp-key", required_argument, NULL, OPT_SP_KEY},
    {"sp-cert", required_argument, NULL, OPT_SP_CERT},
    {"now", required_argument, NULL, OPT_NOW},
    {"clock-skew", required_argument, NULL, OPT_CLOCK_SKEW},
    {"allow-sha1", no_argument, NULL, OPT_ALLOW_SHA1},
    {"require-signed-assertion", no_argument, NULL, OPT_REQUIRE_SIGNED_ASSERTION},
    {"max-size", required_argument, NULL, OPT_MAX_SIZE},
    {"require", required_argument, NULL, OPT_REQUIRE},
    {"class-level", required_argument, NULL, OPT_CLASS_LEVEL},
    {"class-alias", required_argument, NULL, OPT_CLASS_ALIAS},
    {"class-attribute", required_argument, NULL, OPT_CLASS_ATTRIBUTE},
    {"metadata-verify", required_argument, NULL, OPT_METADATA_VERIFY},
    {"metadata-max-validity", required_argument, NULL, OPT_METADATA_MAX_VALIDITY},
    {"metadata-only", no_argument, NULL, OPT_METADATA_ONLY},
    {"metadata-split", required_argument, NULL, OPT_METADATA_SPLIT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

static int usage_error(const char *msg, const char *arg)
{
    fputs("authncontext-verify: ", stderr);
    fputs(msg, stderr);
    if (arg != NULL) {
        fputs(": ", stderr);
        fputs(arg, stderr);
    }
    fputs("\n", stderr);
    fputs(usage_text, stderr);
    return EXIT_USAGE;
}

static int config_error(const char *what, const char *arg, const anc_error_t *err)
{
    fputs("authncontext-verify: ", stderr);
    fputs(what, stderr);
    if (arg != NULL) {
        fputs(" ", stderr);
        fputs(arg, stderr);
    }
    if (err != NULL) {
        fputs(": ", stderr);
        fputs(err->reason, stderr);
        if (err->detail != NULL) {
            fputs(": ", stderr);
            fputs(err->detail, stderr);
        }
    }
    fputs("\n", stderr);
    return EXIT_USAGE;
}

/* A whole decimal number in [lo, hi], or -1 on anything else. */
static long long parse_number(const char *s, long long lo, long long hi)
{
    char *end;
    long long v;

    if (s == NULL || *s < '0' || *s > '9') {
        return -1;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi) {
        return -1;
    }
    return v;
}

static int parse_options(apr_pool_t *p, int argc, char **argv, options_t *o)
{
    int c;
    long long v;

    memset(o, 0, sizeof(*o));
    o->metadata = apr_array_make(p, 2, sizeof(const char *));
    o->requests = apr_array_make(p, 4, sizeof(const char *));
    o->rules = apr_array_make(p, 2, sizeof(const char *));
    o->levels = apr_array_make(p, 4, sizeof(const char *));
    o->aliases = apr_array_make(p, 2, sizeof(const char *));
    o->class_attributes = apr_array_make(p, 1, sizeof(const char *));
    o->clock_skew = -1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        switch (c) {
            case OPT_METADATA:
                APR_ARRAY_PUSH(o->metadata, const char *) = optarg;
                break;
            case OPT_SP_ENTITY_ID:
                o->sp_entity_id = optarg;
                break;
            case OPT_ACS_URL:
                o->acs_url = optarg;
                break;
            case OPT_REQUEST_ID:
                if (*optarg == '\0') {
                    return usage_error("empty --request-id", NULL);
                }
                APR_ARRAY_PUSH(o->requests, const char *) = optarg;
                break;
            case OPT_ALLOW_UNSOLICITED:
                o->allow_unsolicited = 1;
                break;
            case OPT_SP_KEY:
                o->sp_key = optarg;
                break;
            case OPT_SP_CERT:
                o->sp_cert = optarg;
                break;
            case OPT_NOW:
                o->now = optarg;
                break;
            case OPT_CLOCK_SKEW:
                /* a day at most: a larger skew is a mistake, not a setting */
                if ((v = parse_number(optarg, 0, 86400)) < 0) {
                    return usage_error("--clock-skew wants whole seconds in 0..86400",
                                       optarg);
                }
                o->clock_skew = (long)v;
                break;
            case OPT_ALLOW_SHA1:
                o->allow_sha1 = 1;
                break;
            case OPT_REQUIRE_SIGNED_ASSERTION:
                o->require_signed_assertion = 1;
                break;
            case OPT_MAX_SIZE:
                if ((v = parse_number(optarg, 1, 1LL << 30)) < 0) {
                    return usage_error("--max-size wants bytes in 1..1073741824", optarg);
                }
                o->max_size = v;
                break;
            case OPT_REQUIRE:
                APR_ARRAY_PUSH(o->rules, const char *) = optarg;
                break;
            case OPT_CLASS_LEVEL:
            case OPT_CLASS_ALIAS:
                /* two values: N URI, or FROM TO */
                if (optind >= argc) {
                    return usage_error("option needs two values", argv[optind - 1]);
                }
                APR_ARRAY_PUSH(c == OPT_CLASS_LEVEL ? o->levels : o->aliases,
                               const char *) = optarg;
                APR_ARRAY_PUSH(c == OPT_CLASS_LEVEL ? o->levels : o->aliases,
                               const char *) = argv[optind++];
                break;
            case OPT_CLASS_ATTRIBUTE:
                APR_ARRAY_PUSH(o->class_attributes, const char *) = optarg;
                break;
            case OPT_METADATA_ONLY:
                o->metadata_only = 1;
                break;
            case OPT_METADATA_SPLIT:
                o->metadata_split = optarg;
                o->metadata_only = 1;
                break;
            case OPT_METADATA_VERIFY:
                o->metadata_verify = optarg;
                break;
            case OPT_METADATA_MAX_VALIDITY:
                if ((v = parse_number(optarg, 1, 100LL * 365 * 86400)) < 0) {
                    return usage_error("--metadata-max-validity wants positive seconds",
                                       optarg);
                }
                o->metadata_max_validity = v;
                break;
            case 'h':
                fputs(usage_text, stdout);
                exit(EXIT_ACCEPT);
            case ':':
                return usage_error("option needs a value", argv[optind - 1]);
            default:
                return usage_error("unknown option", argv[optind - 1]);
        }
    }
    if (o->metadata->nelts == 0) {
        return usage_error("at least one --idp-metadata is required", NULL);
    }
    if (o->metadata_split != NULL && o->metadata->nelts != 1) {
        return usage_error("--metadata-split takes exactly one --idp-metadata", NULL);
    }
    if (o->metadata_only) {
        return optind < argc
                   ? usage_error("--metadata-only takes no RESPONSE-FILE", argv[optind])
                   : 0;
    }
    if (o->sp_entity_id == NULL || *o->sp_entity_id == '\0') {
        return usage_error("--sp-entity-id is required", NULL);
    }
    if (o->acs_url == NULL || *o->acs_url == '\0') {
        return usage_error("--acs-url is required", NULL);
    }
    if (o->sp_cert != NULL && o->sp_key == NULL) {
        return usage_error("--sp-cert needs --sp-key", NULL);
    }
    if (optind >= argc) {
        return usage_error("no RESPONSE-FILE given", NULL);
    }
    return 0;
}

/* --- main ----------------------------------------------------------------- */

/* The session classes the module would derive, and whether each --require
 * rule would grant them (as `Require authnContextClassRef RULE`). */
static void print_rules(FILE *out, apr_pool_t *p, const options_t *o,
                        const anc_vocab_t *vocab, const apr_array_header_t *rules,
                        const anc_assertion_t *a, int *first)
{
    apr_array_header_t *classes =
        anc_policy_session_classes(p, vocab, a, o->class_attributes);
    int i;

    json_key(out, "session_classes", first);
    json_str_array(out, classes);
    json_key(out, "require", first);
    putc('[', out);
    for (i = 0; i < rules->nelts; i++) {
        int f2 = 1;

        if (i > 0) {
            putc(',', out);
        }
        putc('{', out);
        json_field(out, "rule", APR_ARRAY_IDX(o->rules, i, const char *), &f2);
        json_key(out, "granted", &f2);
        fputs(anc_class_rule_eval(APR_ARRAY_IDX(rules, i, anc_class_rule_t *), vocab,
                                  classes)
                  ? "true"
                  : "false",
              out);
        putc('}', out);
    }
    putc(']', out);
}

/* An answer refused for its InResponseTo: verify it once more, accepting
 * that ID (with a fresh replay cache), and say whether it was the only
 * failure, so the admin knows to pass --request-id. */
static void probe_request(FILE *out, apr_pool_t *p, anc_verifier_t *verifier,
                          const anc_verify_input_t *orig, int *first)
{
    anc_verify_input_t in = *orig;
    anc_verify_result_t *res = NULL;
    probe_t pr = {NULL};

    in.request_lookup = probe_lookup;
    in.request_lookup_ctx = &pr;
    in.replay = anc_replay_memory_create(p);
    anc_response_verify(p, verifier, &in, &res);
    if (!pr.seen) {
        return;
    }
    json_field(out, "in_response_to", pr.seen, first);
    if (res != NULL && res->verdict == ANC_VERDICT_ACCEPT) {
        json_field(out, "hint",
                   apr_psprintf(p,
                                "only the request binding failed: the response answers "
                                "request %s; rerun with --request-id %s",
                                pr.seen, pr.seen),
                   first);
    } else if (res != NULL && res->error != NULL) {
        json_field(out, "hint",
                   apr_psprintf(p,
                                "with --request-id %s the response is still refused: %s "
                                "(%s)",
                                pr.seen, res->error->reason,
                                res->error->detail ? res->error->detail : ""),
                   first);
    }
}

/* signature-invalid: the fingerprints of the metadata keys that were tried
 * and of any certificate the message carries, since a key rollover at the
 * IdP (a new key in the message, the old one in metadata) is the usual
 * cause. The message's certificates are only reported, never trusted. */
static void print_key_fingerprints(FILE *out, apr_pool_t *p, const anc_trust_t *trust,
                                   const char *data, apr_size_t len, apr_size_t max,
                                   int *first)
{
    const apr_array_header_t *idps = anc_trust_idps(trust);
    apr_array_header_t *mine = apr_array_make(p, 4, sizeof(const char *));
    apr_array_header_t *theirs = NULL;
    anc_error_t *err = NULL;
    int i, j, known = 0;

    json_key(out, "metadata_keys", first);
    putc('[', out);
    for (i = 0; i < idps->nelts; i++) {
        const anc_idp_t *idp = APR_ARRAY_IDX(idps, i, const anc_idp_t *);

        for (j = 0; idp->signing_keys && j < idp->signing_keys->nelts; j++) {
            const char *fp_ =
                anc_key_fingerprint(p, APR_ARRAY_IDX(idp->signing_keys, j, anc_key_t *));
            int f2 = 1;

            if (mine->nelts) {
                putc(',', out);
            }
            APR_ARRAY_PUSH(mine, const char *) = fp_ ? fp_ : "";
            putc('{', out);
            json_field(out, "idp", idp->entity_id, &f2);
            json_field(out, "sha256", fp_, &f2);
            putc('}', out);
        }
    }
    putc(']', out);
    if (anc_keyinfo_fingerprints(p, data, len, max, &theirs, &err) != ANC_OK) {
        return;
    }
    json_key(out, "message_certificates", first);
    json_str_array(out, theirs);
    for (i = 0; i < theirs->nelts; i++) {
        for (j = 0; j < mine->nelts; j++) {
            known |= !strcmp(APR_ARRAY_IDX(theirs, i, const char *),
                             APR_ARRAY_IDX(mine, j, const char *));
        }
    }
    if (theirs->nelts && !known) {
        json_field(out, "hint",
                   "the certificate in the response is not in the metadata: the IdP has "
                   "probably rolled its signing key; fetch its current metadata",
                   first);
    } else if (known) {
        json_field(
            out, "hint",
            "the response names a key that is in the metadata, and the signature "
            "does not verify with it: the signed content was changed after signing",
            first);
    }
}

/* Prints the built-in template of a page (the starting point of an admin's
 * AuthnContextTemplateDir copy) and, on stderr, the names it may use. */
static int print_template(const char *file)
{
    int id;

    for (id = 0; id < ANC_PAGE__COUNT; id++) {
        if (!strcmp(file, anc_page_file(id))) {
            const char *const *n;

            fputs(anc_page_builtin(id), stdout);
            fputs("authncontext-verify: names of this page:", stderr);
            for (n = anc_page_names(id); *n; n++) {
                fprintf(stderr, " %s", *n);
            }
            fputs("\n", stderr);
            return EXIT_ACCEPT;
        }
    }
    fputs("authncontext-verify: no such page; the pages are:", stderr);
    for (id = 0; id < ANC_PAGE__COUNT; id++) {
        fprintf(stderr, " %s", anc_page_file(id));
    }
    fputs("\n", stderr);
    return EXIT_USAGE;
}

static int run(apr_pool_t *pool, int argc, char **argv)
{
    options_t o;
    anc_error_t *err = NULL;
    anc_trust_t *trust;
    anc_md_options_t md;
    anc_key_t *md_key = NULL;
    anc_key_t *sp_key = NULL;
    anc_sp_config_t sp;
    anc_verifier_t *verifier;
    const anc_replay_cache_t *replay;
    requests_t rq;
    apr_time_t fixed_now = 0;
    apr_size_t read_cap;
    anc_vocab_t *vocab;
    apr_array_header_t *rules;
    int i, rc, rejected = 0, idp_errors = 0;

    if (argc == 2 && !strcmp(argv[1], "--version")) {
        printf("authncontext-verify %s\n", ANC_VERSION);
        return EXIT_ACCEPT;
    }
    if (argc == 3 && !strcmp(argv[1], "--print-template")) {
        return print_template(argv[2]);
    }
    if ((rc = parse_options(pool, argc, argv, &o)) != 0) {
        return rc;
    }
    if (anc_lib_init(pool, &err) != ANC_OK) {
        return config_error("library initialisation failed", NULL, err);
    }
    if (o.now != NULL && anc_time_parse(o.now, &fixed_now) != ANC_OK) {
        return usage_error("--now is not an RFC 3339 date-time", o.now);
    }
    memset(&md, 0, sizeof(md));
    md.allow_sha1 = o.allow_sha1;
    md.max_validity = apr_time_from_sec(o.metadata_max_validity);
    md.now = fixed_now;
    if (o.metadata_verify != NULL &&
        anc_key_load_cert(pool, o.metadata_verify, &md_key, &err) != ANC_OK) {
        return config_error("cannot load the metadata signing certificate",
                            o.metadata_verify, err);
    }
    md.verify_key = md_key;
    /* the sources in order: the first that lists an entityID wins */
    trust = anc_trust_create(pool);
    for (i = 0; i < o.metadata->nelts; i++) {
        const char *path = APR_ARRAY_IDX(o.metadata, i, const char *);
        anc_md_info_t *info = NULL;
        int j;

        md.name = path;
        if (o.metadata_split != NULL) {
            char *data = NULL;
            apr_size_t len = 0;
            apr_file_t *f;
            apr_finfo_t fi;

            if (apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, pool) !=
                    APR_SUCCESS ||
                apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS ||
                (data = apr_palloc(pool, (apr_size_t)fi.size + 1)) == NULL ||
                (fi.size > 0 &&
                 apr_file_read_full(f, data, (apr_size_t)fi.size, &len) != APR_SUCCESS)) {
                return config_error("cannot read IdP metadata", path, NULL);
            }
            if (anc_md_split(pool, data, len, &md, o.metadata_split, &info, &err) !=
                ANC_OK) {
                return config_error("cannot split IdP metadata", path, err);
            }
        } else if (anc_trust_add_source_file(trust, path, &md, &info, &err) != ANC_OK) {
            return config_error("cannot load IdP metadata", path, err);
        }
        if (o.metadata_only) {
            printf("{\"file\":");
            json_str(stdout, path);
            printf(",\"idps\":%d,\"skipped\":%d,\"filtered\":%d,\"valid_until\":",
                   info->idps, info->skipped->nelts, info->filtered);
            if (info->valid_until) {
                json_str(stdout, anc_time_format(pool, info->valid_until));
            } else {
                printf("null");
            }
            printf(",\"cache_duration\":%" APR_TIME_T_FMT "}\n",
                   apr_time_sec(info->cache_duration));
        }
        for (j = 0; j < info->skipped->nelts; j++) {
            const anc_md_skip_t *sk = &APR_ARRAY_IDX(info->skipped, j, anc_md_skip_t);

            fprintf(stderr, "authncontext-verify: %s: entity %s skipped reason=%s: %s\n",
                    path, sk->entity_id, anc_reason(sk->code),
                    sk->detail ? sk->detail : "");
        }
    }
    if (o.metadata_only) {
        return EXIT_ACCEPT;
    }
    if (o.sp_key != NULL &&
        anc_key_load_private(pool, o.sp_key, o.sp_cert, &sp_key, &err) != ANC_OK) {
        return config_error("cannot load SP key", o.sp_key, err);
    }

    memset(&sp, 0, sizeof(sp));
    sp.entity_id = o.sp_entity_id;
    sp.acs_url = o.acs_url;
    sp.sp_key = sp_key;
    sp.allow_unsolicited = o.allow_unsolicited;
    sp.allow_sha1 = o.allow_sha1;
    sp.require_signed_assertion = o.require_signed_assertion;
    sp.max_response_size = (apr_size_t)o.max_size;
    sp.clock_skew = (int)o.clock_skew;
    if (anc_verifier_create(pool, &sp, trust, &verifier, &err) != ANC_OK) {
        return config_error("invalid SP configuration", NULL, err);
    }
    vocab = anc_vocab_create(pool);
    for (i = 0; i + 1 < o.levels->nelts; i += 2) {
        long long lv = parse_number(APR_ARRAY_IDX(o.levels, i, const char *), 0, 1000000);
        if (lv < 0) {
            return usage_error("--class-level wants a number 0..1000000",
                               APR_ARRAY_IDX(o.levels, i, const char *));
        }
        if (anc_vocab_add_level(vocab, (int)lv,
                                APR_ARRAY_IDX(o.levels, i + 1, const char *),
                                &err) != ANC_OK) {
            return config_error("--class-level", NULL, err);
        }
    }
    for (i = 0; i + 1 < o.aliases->nelts; i += 2) {
        if (anc_vocab_add_alias(vocab, APR_ARRAY_IDX(o.aliases, i, const char *),
                                APR_ARRAY_IDX(o.aliases, i + 1, const char *),
                                &err) != ANC_OK) {
            return config_error("--class-alias", NULL, err);
        }
    }
    rules = apr_array_make(pool, o.rules->nelts, sizeof(anc_class_rule_t *));
    for (i = 0; i < o.rules->nelts; i++) {
        const char *words = APR_ARRAY_IDX(o.rules, i, const char *);
        char **wv = NULL;
        int wc = 0;

        if (apr_tokenize_to_argv(words, &wv, pool) != APR_SUCCESS) {
            return usage_error("--require: cannot split", words);
        }
        while (wv[wc]) {
            wc++;
        }
        if (anc_class_rule_parse(pool, vocab, wc, (const char *const *)wv,
                                 &APR_ARRAY_PUSH(rules, anc_class_rule_t *),
                                 &err) != ANC_OK) {
            return config_error("--require", words, err);
        }
    }
    replay = anc_replay_memory_create(pool);
    rq.ids = apr_hash_make(pool);
    for (i = 0; i < o.requests->nelts; i++) {
        int *state = apr_palloc(pool, sizeof(*state));

        *state = 1;
        apr_hash_set(rq.ids, APR_ARRAY_IDX(o.requests, i, const char *),
                     APR_HASH_KEY_STRING, state);
    }
    /* base64 of the largest acceptable XML, line breaks included, plus
     * slack; anything bigger is over the cap whatever its encoding */
    read_cap = (o.max_size > 0 ? (apr_size_t)o.max_size : ANC_DEFAULT_MAX_RESPONSE_SIZE);
    read_cap = read_cap * 2 + 65536;

    for (i = optind; i < argc; i++) {
        const char *path = argv[i];
        apr_pool_t *fp;
        char *data = NULL;
        apr_size_t len = 0;
        int too_big, e, first = 1;
        anc_verify_input_t in;
        anc_verify_result_t *res = NULL;

        apr_pool_create(&fp, pool);
        if ((e = read_input(fp, path, read_cap, &data, &len, &too_big)) != 0) {
            fputs("authncontext-verify: cannot read ", stderr);
            fputs(path, stderr);
            fputs(": ", stderr);
            fputs(strerror(e), stderr);
            fputs("\n", stderr);
            fflush(stdout);
            return EXIT_USAGE;
        }
        putc('{', stdout);
        json_field(stdout, "file", path, &first);
        if (too_big) {
            /* the core's own size check, made before reading it all */
            json_field(stdout, "verdict", "reject", &first);
            json_field(stdout, "reason", anc_reason(ANC_E_TOO_LARGE), &first);
            json_field(stdout, "detail", "input file larger than the size cap allows",
                       &first);
            rejected++;
        } else {
            memset(&in, 0, sizeof(in));
            in.data = data;
            in.len = len;
            in.now = o.now != NULL ? fixed_now : apr_time_now();
            in.request_lookup = request_lookup;
            in.request_lookup_ctx = &rq;
            in.replay = replay;
            anc_response_verify(fp, verifier, &in, &res);
            if (res != NULL && res->verdict == ANC_VERDICT_ACCEPT &&
                res->assertion != NULL) {
                json_field(stdout, "verdict", "accept", &first);
                print_accept(stdout, fp, res->assertion, &first);
                request_consume(&rq, res->assertion->in_response_to);
                if (rules->nelts) {
                    print_rules(stdout, fp, &o, vocab, rules, res->assertion, &first);
                }
            } else if (res != NULL && res->verdict == ANC_VERDICT_IDP_ERROR &&
                       res->status != NULL) {
                json_field(stdout, "verdict", "idp-error", &first);
                json_field(stdout, "status_code", res->status->status_code, &first);
                json_field(stdout, "status_code2", res->status->status_code2, &first);
                json_field(stdout, "status_message", res->status->status_message, &first);
                json_field(stdout, "idp", res->status->idp, &first);
                json_field(stdout, "in_response_to", res->status->in_response_to, &first);
                request_consume(&rq, res->status->in_response_to);
                idp_errors++;
            } else {
                const anc_error_t *re = res != NULL ? res->error : NULL;

                json_field(stdout, "verdict", "reject", &first);
                json_field(stdout, "reason",
                           re != NULL ? re->reason : anc_reason(ANC_E_INTERNAL), &first);
                json_field(stdout, "detail",
                           re != NULL ? re->detail : "verifier returned no result",
                           &first);
                if (re != NULL && !strcmp(re->reason, anc_reason(ANC_E_IN_RESPONSE_TO))) {
                    probe_request(stdout, fp, verifier, &in, &first);
                } else if (re != NULL &&
                           !strcmp(re->reason, anc_reason(ANC_E_SIG_INVALID))) {
                    print_key_fingerprints(stdout, fp, trust, data, len, read_cap,
                                           &first);
                }
                rejected++;
            }
        }
        fputs("}\n", stdout);
        if (fflush(stdout) != 0) {
            fputs("authncontext-verify: cannot write to stdout\n", stderr);
            return EXIT_USAGE;
        }
        apr_pool_destroy(fp);
    }
    if (rejected > 0) {
        return EXIT_REJECT;
    }
    return idp_errors > 0 ? EXIT_IDP_ERROR : EXIT_ACCEPT;
}

int main(int argc, char **argv)
{
    apr_pool_t *pool;
    int rc;

    if (apr_app_initialize(&argc, (const char *const **)&argv, NULL) != APR_SUCCESS ||
        apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        fputs("authncontext-verify: APR initialisation failed\n", stderr);
        return EXIT_USAGE;
    }
    rc = run(pool, argc, argv);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
