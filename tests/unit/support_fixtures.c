/*
 * support_fixtures.c - see support_fixtures.h.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "anc_init.h"
#include "support_fixtures.h"

const char *fx_dir(void)
{
    const char *d = getenv("ANC_TEST_DATA");

    if (d == NULL || *d == '\0') {
        ck_abort_msg("ANC_TEST_DATA is not set (make check-unit sets it)");
    }
    return d;
}

const char *fx_path(apr_pool_t *p, const char *rel)
{
    return apr_pstrcat(p, fx_dir(), "/", rel, NULL);
}

char *fx_read(apr_pool_t *p, const char *rel, apr_size_t *len)
{
    const char *path = rel[0] == '/' ? rel : fx_path(p, rel);
    apr_file_t *f;
    apr_finfo_t fi;
    char *buf;
    apr_size_t got = 0;

    if (apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p) != APR_SUCCESS ||
        apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS) {
        ck_abort_msg("cannot open %s", path);
    }
    buf = apr_palloc(p, (apr_size_t)fi.size + 1);
    if (fi.size > 0 &&
        apr_file_read_full(f, buf, (apr_size_t)fi.size, &got) != APR_SUCCESS) {
        ck_abort_msg("cannot read %s", path);
    }
    buf[got] = '\0';
    apr_file_close(f);
    if (len != NULL) {
        *len = got;
    }
    return buf;
}

/* Splits buf in place into lines and fields. */
static apr_array_header_t *read_tsv(apr_pool_t *p, const char *rel)
{
    char *buf = fx_read(p, rel, NULL);
    apr_array_header_t *rows = apr_array_make(p, 64, sizeof(apr_array_header_t *));
    char *line, *lstate;

    for (line = apr_strtok(buf, "\n", &lstate); line != NULL;
         line = apr_strtok(NULL, "\n", &lstate)) {
        apr_array_header_t *f = apr_array_make(p, 6, sizeof(char *));
        char *s = line;

        for (;;) {
            char *tab = strchr(s, '\t');

            if (tab != NULL) {
                *tab = '\0';
            }
            APR_ARRAY_PUSH(f, char *) = s;
            if (tab == NULL) {
                break;
            }
            s = tab + 1;
        }
        APR_ARRAY_PUSH(rows, apr_array_header_t *) = f;
    }
    return rows;
}

const char *fx_setting(apr_pool_t *p, const char *key)
{
    apr_array_header_t *rows = read_tsv(p, "settings.tsv");
    int i;

    for (i = 0; i < rows->nelts; i++) {
        apr_array_header_t *f = APR_ARRAY_IDX(rows, i, apr_array_header_t *);

        if (f->nelts >= 2 && strcmp(APR_ARRAY_IDX(f, 0, char *), key) == 0) {
            return APR_ARRAY_IDX(f, 1, char *);
        }
    }
    return NULL;
}

static apr_array_header_t *manifest_rows(apr_pool_t *p, apr_array_header_t *rows,
                                         const char *dir);

apr_array_header_t *fx_manifest(apr_pool_t *p)
{
    return manifest_rows(p, read_tsv(p, "manifest.tsv"), NULL);
}

apr_array_header_t *fx_manifest_at(apr_pool_t *p, const char *dir)
{
    return manifest_rows(p, read_tsv(p, apr_pstrcat(p, dir, "/manifest.tsv", NULL)), dir);
}

static apr_array_header_t *manifest_rows(apr_pool_t *p, apr_array_header_t *rows,
                                         const char *dir)
{
    apr_array_header_t *out = apr_array_make(p, rows->nelts, sizeof(fx_case_t));
    int i;

    for (i = 0; i < rows->nelts; i++) {
        apr_array_header_t *f = APR_ARRAY_IDX(rows, i, apr_array_header_t *);
        fx_case_t *c;

        ck_assert_msg(f->nelts == 6, "manifest line %d has %d fields", i + 1, f->nelts);
        c = apr_array_push(out);
        c->file = APR_ARRAY_IDX(f, 0, char *);
        if (dir != NULL) {
            c->file = apr_pstrcat(p, dir, "/", c->file, NULL);
        }
        c->verdict = APR_ARRAY_IDX(f, 1, char *);
        c->reason = APR_ARRAY_IDX(f, 2, char *);
        c->request_id = APR_ARRAY_IDX(f, 3, char *);
        if (strcmp(c->request_id, "-") == 0) {
            c->request_id = NULL;
        }
        c->now = APR_ARRAY_IDX(f, 4, char *);
        c->flags = APR_ARRAY_IDX(f, 5, char *);
    }
    return out;
}

int fx_has_flag(const char *flags, const char *flag)
{
    size_t n = strlen(flag);
    const char *s = flags;

    while ((s = strstr(s, flag)) != NULL) {
        if ((s == flags || s[-1] == ',') && (s[n] == '\0' || s[n] == ',')) {
            return 1;
        }
        s += n;
    }
    return 0;
}

static const char *unhex(apr_pool_t *p, const char *h)
{
    size_t n = strlen(h) / 2, i;
    char *out = apr_palloc(p, n + 1);

    for (i = 0; i < n; i++) {
        unsigned int b;

        sscanf(h + 2 * i, "%2x", &b);
        out[i] = (char)b;
    }
    out[n] = '\0';
    return out;
}

/* The flattening is done by python3 (json module) so this test does not
 * depend on a C JSON parser; values travel hex-encoded, null as "-". */
static const char flatten_py[] =
    "import json,sys\n"
    "d=json.load(open(sys.argv[1]))\n"
    "def walk(f,path,v):\n"
    "    if isinstance(v,dict):\n"
    "        for k in v: walk(f,(path+'.' if path else '')+k,v[k])\n"
    "    elif isinstance(v,list):\n"
    "        print(f,path+'#',len(v).__str__().encode().hex(),sep='\\t')\n"
    "        for i,x in enumerate(v): walk(f,'%s[%d]'%(path,i),x)\n"
    "    else:\n"
    "        print(f,path,'-' if v is None else 'x'+str(v).encode().hex(),sep='\\t')\n"
    "for f in d: walk(f,'',d[f])\n";

apr_hash_t *fx_expected(apr_pool_t *p)
{
    char tmpl[] = "/tmp/anc-flatten-XXXXXX";
    apr_file_t *tf;
    apr_hash_t *files = apr_hash_make(p);
    FILE *pipe;
    char line[65536];

    ck_assert_int_eq(apr_file_mktemp(&tf, tmpl,
                                     APR_FOPEN_CREATE | APR_FOPEN_READ | APR_FOPEN_WRITE |
                                         APR_FOPEN_EXCL | APR_FOPEN_DELONCLOSE,
                                     p),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_file_puts(flatten_py, tf), APR_SUCCESS);
    apr_file_flush(tf);
    pipe = popen(
        apr_psprintf(p, "/usr/bin/python3 '%s' '%s'", tmpl, fx_path(p, "expected.json")),
        "r");
    ck_assert_msg(pipe != NULL, "cannot run python3");
    while (fgets(line, sizeof(line), pipe) != NULL) {
        char *file = line, *path, *val, *nl;
        apr_hash_t *h;

        nl = strchr(line, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        path = strchr(file, '\t');
        ck_assert_msg(path != NULL, "bad flattened line");
        *path++ = '\0';
        val = strchr(path, '\t');
        ck_assert_msg(val != NULL, "bad flattened line");
        *val++ = '\0';
        h = apr_hash_get(files, file, APR_HASH_KEY_STRING);
        if (h == NULL) {
            h = apr_hash_make(p);
            apr_hash_set(files, apr_pstrdup(p, file), APR_HASH_KEY_STRING, h);
        }
        apr_hash_set(h, apr_pstrdup(p, path), APR_HASH_KEY_STRING,
                     strcmp(val, "-") == 0 ? "\x01null"
                                           : unhex(p, val[0] == 'x' ? val + 1 : val));
    }
    ck_assert_int_eq(pclose(pipe), 0);
    apr_file_close(tf);
    ck_assert_msg(apr_hash_count(files) > 0, "expected.json is empty");
    return files;
}

static void put(apr_pool_t *p, apr_hash_t *h, const char *path, const char *v)
{
    apr_hash_set(h, apr_pstrdup(p, path), APR_HASH_KEY_STRING,
                 v != NULL ? v : "\x01null");
}

static void put_list(apr_pool_t *p, apr_hash_t *h, const char *path,
                     const apr_array_header_t *a)
{
    int i;

    put(p, h, apr_pstrcat(p, path, "#", NULL), apr_itoa(p, a != NULL ? a->nelts : 0));
    for (i = 0; a != NULL && i < a->nelts; i++) {
        put(p, h, apr_psprintf(p, "%s[%d]", path, i), APR_ARRAY_IDX(a, i, const char *));
    }
}

static const char *tfmt(apr_pool_t *p, apr_time_t t)
{
    return t != 0 ? anc_time_format(p, t) : NULL;
}

apr_hash_t *fx_flatten_record(apr_pool_t *p, const anc_assertion_t *a)
{
    apr_hash_t *h = apr_hash_make(p);
    int i;

    put(p, h, "assertion_id", a->assertion_id);
    put(p, h, "idp", a->idp);
    put(p, h, "name_id.value", a->name_id.value);
    put(p, h, "name_id.format", a->name_id.format);
    put(p, h, "name_id.name_qualifier", a->name_id.name_qualifier);
    put(p, h, "name_id.sp_name_qualifier", a->name_id.sp_name_qualifier);
    put_list(p, h, "authn_context_class_refs", a->authn_context_class_refs);
    put(p, h, "authn_context_decl_ref", a->authn_context_decl_ref);
    put(p, h, "authn_instant", tfmt(p, a->authn_instant));
    put(p, h, "session_index", a->session_index);
    put(p, h, "session_not_on_or_after", tfmt(p, a->session_not_on_or_after));
    put(p, h, "authn_statements#",
        apr_itoa(p, a->authn_statements != NULL ? a->authn_statements->nelts : 0));
    for (i = 0; a->authn_statements != NULL && i < a->authn_statements->nelts; i++) {
        const anc_authn_statement_t *st =
            &APR_ARRAY_IDX(a->authn_statements, i, anc_authn_statement_t);
        const char *base = apr_psprintf(p, "authn_statements[%d]", i);

        put_list(p, h, apr_pstrcat(p, base, ".class_refs", NULL), st->class_refs);
        put(p, h, apr_pstrcat(p, base, ".authn_instant", NULL),
            tfmt(p, st->authn_instant));
        put(p, h, apr_pstrcat(p, base, ".session_index", NULL), st->session_index);
        put(p, h, apr_pstrcat(p, base, ".session_not_on_or_after", NULL),
            tfmt(p, st->session_not_on_or_after));
    }
    put_list(p, h, "authenticating_authorities", a->authenticating_authorities);
    put(p, h, "attributes#", apr_itoa(p, a->attributes->nelts));
    for (i = 0; i < a->attributes->nelts; i++) {
        const anc_attribute_t *at = &APR_ARRAY_IDX(a->attributes, i, anc_attribute_t);
        const char *base = apr_psprintf(p, "attributes[%d]", i);

        put(p, h, apr_pstrcat(p, base, ".name", NULL), at->name);
        put(p, h, apr_pstrcat(p, base, ".name_format", NULL), at->name_format);
        put(p, h, apr_pstrcat(p, base, ".friendly_name", NULL), at->friendly_name);
        put_list(p, h, apr_pstrcat(p, base, ".values", NULL), at->values);
    }
    return h;
}

/* ---- verifier ------------------------------------------------------------ */

const anc_trust_t *fx_trust(apr_pool_t *p)
{
    anc_trust_t *t;
    anc_error_t *err = NULL;

    ck_assert_int_eq(anc_lib_init(p, &err), ANC_OK);
    t = anc_trust_create(p);
    ck_assert_msg(anc_trust_load_file(t, fx_path(p, fx_setting(p, "metadata")), &err) ==
                      ANC_OK,
                  "metadata: %s", err != NULL ? err->detail : "?");
    return t;
}

const anc_verifier_t *fx_verifier(apr_pool_t *p, const char *flags)
{
    anc_sp_config_t *sp = apr_pcalloc(p, sizeof(*sp));
    anc_verifier_t *v;
    anc_error_t *err = NULL;

    sp->entity_id = fx_setting(p, "sp_entity_id");
    sp->acs_url = fx_setting(p, "acs_url");
    sp->clock_skew = atoi(fx_setting(p, "clock_skew"));
    sp->max_response_size = (apr_size_t)atol(fx_setting(p, "max_response_size"));
    sp->allow_unsolicited = fx_has_flag(flags, "allow_unsolicited");
    sp->allow_sha1 = fx_has_flag(flags, "allow_sha1");
    sp->require_signed_assertion = fx_has_flag(flags, "require_signed_assertion");
    if (fx_has_flag(flags, "sp_key")) {
        anc_key_t *k;

        ck_assert_int_eq(anc_key_load_private(p, fx_path(p, fx_setting(p, "sp_key")),
                                              fx_path(p, fx_setting(p, "sp_cert")), &k,
                                              &err),
                         ANC_OK);
        sp->sp_key = k;
    }
    ck_assert_int_eq(anc_verifier_create(p, sp, fx_trust(p), &v, &err), ANC_OK);
    return v;
}

anc_status_t fx_lookup_one(void *ctx, const char *id, apr_pool_t *scratch,
                           anc_error_t **err)
{
    const char *known = ctx;

    if (known != NULL && strcmp(known, id) == 0) {
        return ANC_OK;
    }
    return anc_error_set(scratch, err, ANC_E_IN_RESPONSE_TO, "unknown request %s", id);
}

anc_verify_result_t *fx_verify_case(apr_pool_t *p, const fx_case_t *c,
                                    const anc_replay_cache_t *replay)
{
    anc_verify_input_t in;
    anc_verify_result_t *res;
    apr_time_t now;

    memset(&in, 0, sizeof(in));
    in.data = fx_read(p, c->file, &in.len);
    ck_assert_int_eq(anc_time_parse(c->now, &now), ANC_OK);
    in.now = now;
    in.request_lookup = fx_lookup_one;
    in.request_lookup_ctx = (void *)c->request_id;
    in.replay = replay;
    anc_response_verify(p, fx_verifier(p, c->flags), &in, &res);
    return res;
}
