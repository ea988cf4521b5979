/*
 * anc_disco.c - IdP discovery data: mdui UI information, its index
 * encoding, languages, the DiscoFeed JSON, IdP sets and the chooser's
 * search (see include/anc_disco.h).
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <libxml/tree.h>
#include <openssl/evp.h>

#include "anc_disco.h"
#include "anc_xml.h"

#define NS_MDUI "urn:oasis:names:tc:SAML:metadata:ui"
#define NS_MDATTR "urn:oasis:names:tc:SAML:metadata:attribute"

#define MAX_VALUE 2048  /* bytes of one value */
#define MAX_PER_KIND 16 /* DisplayNames, Logos, ... per IdP */
#define MAX_ATTR_VALUES 64
#define MAX_LANGS 16
#define MAX_LANG_TAG 35

/* ---- parsing mdui ------------------------------------------------------------ */

anc_ui_info_t *anc_ui_info_make(apr_pool_t *p)
{
    anc_ui_info_t *ui = apr_pcalloc(p, sizeof(*ui));

    ui->display_names = apr_array_make(p, 1, sizeof(anc_lang_text_t));
    ui->descriptions = apr_array_make(p, 0, sizeof(anc_lang_text_t));
    ui->logos = apr_array_make(p, 0, sizeof(anc_logo_t));
    ui->info_urls = apr_array_make(p, 0, sizeof(anc_lang_text_t));
    ui->privacy_urls = apr_array_make(p, 0, sizeof(anc_lang_text_t));
    ui->entity_attrs = apr_array_make(p, 0, sizeof(anc_md_attr_t));
    return ui;
}

/* A value fit for a page, a feed and an index line: collapsed, not empty,
 * no control character, bounded. NULL otherwise. */
static const char *clean_value(apr_pool_t *p, const char *s)
{
    const unsigned char *q;

    if (s == NULL) {
        return NULL;
    }
    s = anc_xml_collapse(p, s);
    if (*s == '\0' || strlen(s) > MAX_VALUE) {
        return NULL;
    }
    for (q = (const unsigned char *)s; *q; q++) {
        if (*q < 0x20 || *q == 0x7f) {
            return NULL;
        }
    }
    return s;
}

/* A language tag (RFC 5646, loosely: letters, digits, '-'), lower case,
 * or NULL. "" for none. */
static const char *clean_lang(apr_pool_t *p, const char *s)
{
    char *o;
    apr_size_t i, n;

    if (s == NULL) {
        return "";
    }
    n = strlen(s);
    if (n > MAX_LANG_TAG) {
        return NULL;
    }
    o = apr_pstrdup(p, s);
    for (i = 0; i < n; i++) {
        if (!isalnum((unsigned char)o[i]) && o[i] != '-') {
            return NULL;
        }
        o[i] = (char)tolower((unsigned char)o[i]);
    }
    return o;
}

static const char *node_lang(apr_pool_t *p, const xmlNode *n)
{
    xmlChar *l = xmlNodeGetLang(n);
    const char *out = clean_lang(p, l != NULL ? (const char *)l : NULL);

    xmlFree(l);
    return out;
}

static void add_texts(apr_pool_t *p, const xmlNode *ui, const char *name,
                      apr_array_header_t *to)
{
    xmlNodePtr n;

    for (n = anc_xml_child(ui, NS_MDUI, name); n != NULL && to->nelts < MAX_PER_KIND;
         n = anc_xml_next(n, NS_MDUI, name)) {
        const char *v = clean_value(p, anc_xml_text(p, n));
        const char *lang = node_lang(p, n);
        anc_lang_text_t *t;

        if (v == NULL || lang == NULL) {
            continue;
        }
        t = apr_array_push(to);
        t->lang = lang;
        t->value = v;
    }
}

static int parse_dim(const char *s)
{
    char *end;
    long v;

    if (s == NULL) {
        return 0;
    }
    v = strtol(s, &end, 10);
    return (*s && !*end && v > 0 && v <= 100000) ? (int)v : 0;
}

anc_ui_info_t *anc_ui_info_parse(apr_pool_t *p, const xmlNode *ed)
{
    anc_ui_info_t *ui = anc_ui_info_make(p);
    xmlNodePtr role = anc_xml_child(ed, ANC_NS_MD, "IDPSSODescriptor");
    xmlNodePtr uii =
        anc_xml_child(anc_xml_child(role, ANC_NS_MD, "Extensions"), NS_MDUI, "UIInfo");
    xmlNodePtr n, a, v;
    int nvalues = 0;

    if (uii != NULL) {
        add_texts(p, uii, "DisplayName", ui->display_names);
        add_texts(p, uii, "Description", ui->descriptions);
        add_texts(p, uii, "InformationURL", ui->info_urls);
        add_texts(p, uii, "PrivacyStatementURL", ui->privacy_urls);
        for (n = anc_xml_child(uii, NS_MDUI, "Logo");
             n != NULL && ui->logos->nelts < MAX_PER_KIND;
             n = anc_xml_next(n, NS_MDUI, "Logo")) {
            const char *url = clean_value(p, anc_xml_text(p, n));
            const char *lang = node_lang(p, n);
            anc_logo_t *lg;

            if (url == NULL || lang == NULL) {
                continue;
            }
            lg = apr_array_push(ui->logos);
            lg->url = url;
            lg->lang = lang;
            lg->width = parse_dim(anc_xml_attr(p, n, "width"));
            lg->height = parse_dim(anc_xml_attr(p, n, "height"));
        }
    }
    for (n = anc_xml_child(anc_xml_child(ed, ANC_NS_MD, "Extensions"), NS_MDATTR,
                           "EntityAttributes");
         n != NULL; n = anc_xml_next(n, NS_MDATTR, "EntityAttributes")) {
        for (a = anc_xml_child(n, ANC_NS_SAML, "Attribute"); a != NULL;
             a = anc_xml_next(a, ANC_NS_SAML, "Attribute")) {
            const char *name = clean_value(p, anc_xml_attr(p, a, "Name"));

            for (v = anc_xml_child(a, ANC_NS_SAML, "AttributeValue");
                 name != NULL && v != NULL && nvalues < MAX_ATTR_VALUES;
                 v = anc_xml_next(v, ANC_NS_SAML, "AttributeValue")) {
                const char *val = clean_value(p, anc_xml_text(p, v));
                anc_md_attr_t *at;

                if (val == NULL) {
                    continue;
                }
                at = apr_array_push(ui->entity_attrs);
                at->name = name;
                at->value = val;
                nvalues++;
            }
        }
    }
    return ui;
}

/* ---- the index encoding ------------------------------------------------------- */

static int plain_char(unsigned char c)
{
    return isalnum(c) || c == '.' || c == '_' || c == '~' || c == '/' || c == '-' ||
           c == '@' || c == '+' || c == ',' || c == '=' || c == '?' || c == '&' ||
           c == '#' || c == '!' || c == '(' || c == ')' || c == ';' || c == '*';
}

static void enc_field(apr_pool_t *p, apr_array_header_t *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *q;

    for (q = (const unsigned char *)(s != NULL ? s : ""); *q; q++) {
        if (plain_char(*q)) {
            APR_ARRAY_PUSH(out, char) = (char)*q;
        } else {
            APR_ARRAY_PUSH(out, char) = '%';
            APR_ARRAY_PUSH(out, char) = hex[*q >> 4];
            APR_ARRAY_PUSH(out, char) = hex[*q & 15];
        }
    }
}

static void enc_token(apr_pool_t *p, apr_array_header_t *out, char kind, int nf,
                      const char **f)
{
    int i;

    if (out->nelts) {
        APR_ARRAY_PUSH(out, char) = ' ';
    }
    APR_ARRAY_PUSH(out, char) = kind;
    for (i = 0; i < nf; i++) {
        APR_ARRAY_PUSH(out, char) = ':';
        enc_field(p, out, f[i]);
    }
}

static void enc_texts(apr_pool_t *p, apr_array_header_t *out, char kind,
                      const apr_array_header_t *a)
{
    int i;

    for (i = 0; a != NULL && i < a->nelts; i++) {
        const anc_lang_text_t *t = &APR_ARRAY_IDX(a, i, anc_lang_text_t);
        const char *f[2] = {t->lang, t->value};

        enc_token(p, out, kind, 2, f);
    }
}

const char *anc_ui_encode(apr_pool_t *p, const anc_ui_info_t *ui)
{
    apr_array_header_t *out = apr_array_make(p, 256, sizeof(char));
    int i;

    if (ui != NULL) {
        enc_texts(p, out, 'n', ui->display_names);
        enc_texts(p, out, 'd', ui->descriptions);
        enc_texts(p, out, 'i', ui->info_urls);
        enc_texts(p, out, 'p', ui->privacy_urls);
        for (i = 0; ui->logos != NULL && i < ui->logos->nelts; i++) {
            const anc_logo_t *lg = &APR_ARRAY_IDX(ui->logos, i, anc_logo_t);
            const char *f[4] = {lg->lang, apr_itoa(p, lg->width), apr_itoa(p, lg->height),
                                lg->url};

            enc_token(p, out, 'l', 4, f);
        }
        for (i = 0; ui->entity_attrs != NULL && i < ui->entity_attrs->nelts; i++) {
            const anc_md_attr_t *a = &APR_ARRAY_IDX(ui->entity_attrs, i, anc_md_attr_t);
            const char *f[2] = {a->name, a->value};

            enc_token(p, out, 'a', 2, f);
        }
    }
    if (!out->nelts) {
        return "-"; /* an empty column would vanish in a TAB-split line */
    }
    APR_ARRAY_PUSH(out, char) = '\0';
    return out->elts;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* One field of s[0..n): percent-decoded, no control character. */
static const char *dec_field(apr_pool_t *p, const char *s, apr_size_t n)
{
    char *o;
    apr_size_t i, j = 0;

    if (n > 3 * MAX_VALUE) {
        return NULL;
    }
    o = apr_palloc(p, n + 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '%') {
            int h, l;

            if (i + 2 >= n) {
                return NULL;
            }
            h = hexval(s[i + 1]);
            l = hexval(s[i + 2]);
            if (h < 0 || l < 0) {
                return NULL;
            }
            c = (unsigned char)(h * 16 + l);
            i += 2;
        } else if (!plain_char(c)) {
            return NULL;
        }
        if (c < 0x20 || c == 0x7f) {
            return NULL;
        }
        o[j++] = (char)c;
    }
    o[j] = '\0';
    return j <= MAX_VALUE ? o : NULL;
}

anc_status_t anc_ui_decode(apr_pool_t *p, const char *text, anc_ui_info_t **out,
                           anc_error_t **err)
{
    anc_ui_info_t *ui = anc_ui_info_make(p);
    const char *s = text != NULL ? text : "";

    if (!strcmp(s, "-")) {
        *out = ui;
        return ANC_OK;
    }
    while (*s) {
        apr_size_t tl = strcspn(s, " ");
        const char *f[5];
        apr_size_t fl[5];
        int nf = 0, want, i;
        const char *q = s + 1, *end = s + tl;
        char kind = *s;

        if (tl < 2 || s[1] != ':') {
            return anc_error_set(p, err, ANC_E_INPUT, "UI column: malformed token");
        }
        while (q < end && *q == ':' && nf < 5) {
            apr_size_t n;

            q++;
            n = strcspn(q, ": ");
            if (q + n > end) {
                n = (apr_size_t)(end - q);
            }
            f[nf] = q;
            fl[nf] = n;
            nf++;
            q += n;
        }
        want = kind == 'l' ? 4 : 2;
        if (q != end || nf != want) {
            return anc_error_set(p, err, ANC_E_INPUT,
                                 "UI column: token '%c' with %d fields", kind, nf);
        }
        for (i = 0; i < nf; i++) {
            f[i] = dec_field(p, f[i], fl[i]);
            if (f[i] == NULL) {
                return anc_error_set(p, err, ANC_E_INPUT, "UI column: bad field");
            }
        }
        switch (kind) {
            case 'n':
            case 'd':
            case 'i':
            case 'p': {
                apr_array_header_t *a = kind == 'n'   ? ui->display_names
                                        : kind == 'd' ? ui->descriptions
                                        : kind == 'i' ? ui->info_urls
                                                      : ui->privacy_urls;
                anc_lang_text_t *t;
                const char *lang = clean_lang(p, f[0]);

                if (lang == NULL || !*f[1] || a->nelts >= MAX_PER_KIND) {
                    return anc_error_set(p, err, ANC_E_INPUT, "UI column: bad text");
                }
                t = apr_array_push(a);
                t->lang = lang;
                t->value = f[1];
                break;
            }
            case 'l': {
                anc_logo_t *lg;
                const char *lang = clean_lang(p, f[0]);

                if (lang == NULL || !*f[3] || ui->logos->nelts >= MAX_PER_KIND) {
                    return anc_error_set(p, err, ANC_E_INPUT, "UI column: bad logo");
                }
                lg = apr_array_push(ui->logos);
                lg->lang = lang;
                lg->width = parse_dim(f[1]);
                lg->height = parse_dim(f[2]);
                lg->url = f[3];
                break;
            }
            case 'a': {
                anc_md_attr_t *at;

                if (!*f[0] || !*f[1] || ui->entity_attrs->nelts >= MAX_ATTR_VALUES) {
                    return anc_error_set(p, err, ANC_E_INPUT,
                                         "UI column: bad entity attribute");
                }
                at = apr_array_push(ui->entity_attrs);
                at->name = f[0];
                at->value = f[1];
                break;
            }
            default:
                return anc_error_set(p, err, ANC_E_INPUT, "UI column: unknown token '%c'",
                                     isprint((unsigned char)kind) ? kind : '?');
        }
        s = end;
        if (*s == ' ') {
            s++;
            if (!*s) {
                return anc_error_set(p, err, ANC_E_INPUT, "UI column: trailing space");
            }
        }
    }
    *out = ui;
    return ANC_OK;
}

/* ---- languages ------------------------------------------------------------------ */

typedef struct lang_q_t {
    const char *tag;
    int q; /* thousandths */
    int order;
} lang_q_t;

static int parse_q(const char *s, apr_size_t n)
{
    int q = 0, i, scale = 100;

    if (n == 0 || (s[0] != '0' && s[0] != '1')) {
        return -1;
    }
    q = (s[0] - '0') * 1000;
    if (n == 1) {
        return q;
    }
    if (s[1] != '.' || n > 5) {
        return -1;
    }
    for (i = 2; i < (int)n; i++) {
        if (!isdigit((unsigned char)s[i])) {
            return -1;
        }
        q += (s[i] - '0') * scale;
        scale /= 10;
    }
    return q > 1000 ? -1 : q;
}

static int cmp_lang_q(const void *a, const void *b)
{
    const lang_q_t *x = a, *y = b;

    if (x->q != y->q) {
        return y->q - x->q;
    }
    return x->order - y->order;
}

apr_array_header_t *anc_lang_prefs(apr_pool_t *p, const char *h)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    lang_q_t items[MAX_LANGS];
    int n = 0, i, have_en = 0;

    while (h != NULL && *h && n < MAX_LANGS) {
        apr_size_t len = strcspn(h, ",");
        const char *item = h, *semi;
        apr_size_t tl;
        int q = 1000, ok = 1;

        h += len;
        if (*h == ',') {
            h++;
        }
        while (len && (*item == ' ' || *item == '\t')) {
            item++;
            len--;
        }
        semi = memchr(item, ';', len);
        tl = semi ? (apr_size_t)(semi - item) : len;
        while (tl && (item[tl - 1] == ' ' || item[tl - 1] == '\t')) {
            tl--;
        }
        if (semi) {
            /* parameters: only q counts */
            const char *ps = semi + 1, *pend = item + len;

            while (ps < pend) {
                while (ps < pend && (*ps == ' ' || *ps == '\t')) {
                    ps++;
                }
                if (pend - ps >= 2 && (ps[0] == 'q' || ps[0] == 'Q') && ps[1] == '=') {
                    const char *qv = ps + 2;
                    apr_size_t ql = 0;

                    while (qv + ql < pend && qv[ql] != ';' && qv[ql] != ' ' &&
                           qv[ql] != '\t') {
                        ql++;
                    }
                    q = parse_q(qv, ql);
                    if (q < 0) {
                        ok = 0;
                    }
                }
                while (ps < pend && *ps != ';') {
                    ps++;
                }
                if (ps < pend) {
                    ps++;
                }
            }
        }
        if (!ok || q <= 0 || tl == 0 || tl > MAX_LANG_TAG) {
            continue;
        }
        {
            char *tag = apr_pstrmemdup(p, item, tl);
            const char *clean = clean_lang(p, tag);

            if (clean == NULL || !*clean || !isalpha((unsigned char)clean[0])) {
                continue; /* "*" and garbage */
            }
            items[n].tag = clean;
            items[n].q = q;
            items[n].order = n;
            n++;
        }
    }
    qsort(items, (size_t)n, sizeof(items[0]), cmp_lang_q);
    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(out, const char *) = items[i].tag;
        if (!strcmp(items[i].tag, "en")) {
            have_en = 1;
        }
    }
    if (!have_en) {
        APR_ARRAY_PUSH(out, const char *) = "en";
    }
    return out;
}

/* 1 when one tag is the other or a prefix of it ending at a '-'. */
static int lang_prefix(const char *a, const char *b)
{
    apr_size_t na = strlen(a), nb = strlen(b);

    if (na > nb) {
        const char *t = a;
        a = b;
        b = t;
        na = nb;
    }
    return na > 0 && !strncmp(a, b, na) && (b[na] == '-' || b[na] == '\0');
}

/* The index in an array of items whose lang is at offset lang_off. */
static int pick_index(const apr_array_header_t *a, apr_size_t lang_off,
                      const apr_array_header_t *prefs)
{
    int i, j;

    if (a == NULL || a->nelts == 0) {
        return -1;
    }
#define LANG_AT(k)                                                                       \
    (*(const char *const *)(a->elts + (apr_size_t)(k)*a->elt_size + lang_off))
    for (j = 0; prefs != NULL && j < prefs->nelts; j++) {
        const char *want = APR_ARRAY_IDX(prefs, j, const char *);

        for (i = 0; i < a->nelts; i++) {
            if (!strcmp(LANG_AT(i), want)) {
                return i;
            }
        }
        for (i = 0; i < a->nelts; i++) {
            if (lang_prefix(LANG_AT(i), want)) {
                return i;
            }
        }
    }
    for (i = 0; i < a->nelts; i++) {
        if (!*LANG_AT(i)) {
            return i;
        }
    }
#undef LANG_AT
    return 0;
}

const anc_lang_text_t *anc_lang_pick(const apr_array_header_t *texts,
                                     const apr_array_header_t *prefs)
{
    int i = pick_index(texts, offsetof(anc_lang_text_t, lang), prefs);

    return i < 0 ? NULL : &APR_ARRAY_IDX(texts, i, anc_lang_text_t);
}

const anc_logo_t *anc_logo_pick(const apr_array_header_t *logos,
                                const apr_array_header_t *prefs)
{
    int i = pick_index(logos, offsetof(anc_logo_t, lang), prefs);

    return i < 0 ? NULL : &APR_ARRAY_IDX(logos, i, anc_logo_t);
}

/* ---- the list -------------------------------------------------------------------- */

struct anc_disco_list_t {
    apr_pool_t *p;
    apr_array_header_t *entries; /* anc_disco_entry_t */
    apr_hash_t *by_id;           /* entityID -> index + 1 */
};

anc_disco_list_t *anc_disco_list_make(apr_pool_t *p)
{
    anc_disco_list_t *l = apr_pcalloc(p, sizeof(*l));

    l->p = p;
    l->entries = apr_array_make(p, 64, sizeof(anc_disco_entry_t));
    l->by_id = apr_hash_make(p);
    return l;
}

static char *lower_ascii(apr_pool_t *p, const char *s)
{
    char *o = apr_pstrdup(p, s), *q;

    for (q = o; *q; q++) {
        *q = (char)tolower((unsigned char)*q);
    }
    return o;
}

void anc_disco_list_add(anc_disco_list_t *l, const char *entity_id,
                        const anc_ui_info_t *ui)
{
    anc_disco_entry_t *e;
    const char *key;
    int i;

    if (entity_id == NULL || apr_hash_get(l->by_id, entity_id, APR_HASH_KEY_STRING)) {
        return;
    }
    if (ui == NULL) {
        ui = anc_ui_info_make(l->p);
    }
    key = entity_id;
    for (i = 0; i < ui->display_names->nelts; i++) {
        key =
            apr_pstrcat(l->p, APR_ARRAY_IDX(ui->display_names, i, anc_lang_text_t).value,
                        "\n", key, NULL);
    }
    e = apr_array_push(l->entries);
    e->entity_id = apr_pstrdup(l->p, entity_id);
    e->ui = ui;
    e->search_key = lower_ascii(l->p, key);
    apr_hash_set(l->by_id, e->entity_id, APR_HASH_KEY_STRING,
                 (void *)(apr_uintptr_t)l->entries->nelts);
}

void anc_disco_list_add_trust(anc_disco_list_t *l, const anc_trust_t *trust)
{
    const apr_array_header_t *idps = trust != NULL ? anc_trust_idps(trust) : NULL;
    int i;

    for (i = 0; idps != NULL && i < idps->nelts; i++) {
        const anc_idp_t *idp = APR_ARRAY_IDX(idps, i, const anc_idp_t *);

        if (anc_trust_find(trust, idp->entity_id) == idp) { /* not expired */
            anc_disco_list_add(l, idp->entity_id, idp->ui);
        }
    }
}

void anc_disco_list_add_index(anc_disco_list_t *l, const anc_md_index_t *idx,
                              apr_time_t now)
{
    const apr_array_header_t *ids = idx != NULL ? anc_md_index_entities(idx) : NULL;
    int i;

    for (i = 0; ids != NULL && i < ids->nelts; i++) {
        apr_time_t vu = 0;
        const anc_ui_info_t *ui = anc_md_index_ui(idx, i, &vu);

        if (vu != 0 && now >= vu) {
            continue;
        }
        anc_disco_list_add(l, APR_ARRAY_IDX(ids, i, const char *), ui);
    }
}

int anc_disco_list_count(const anc_disco_list_t *l)
{
    return l != NULL ? l->entries->nelts : 0;
}

const anc_disco_entry_t *anc_disco_list_get(const anc_disco_list_t *l, int i)
{
    return l != NULL && i >= 0 && i < l->entries->nelts
               ? &APR_ARRAY_IDX(l->entries, i, anc_disco_entry_t)
               : NULL;
}

const anc_disco_entry_t *anc_disco_list_find(const anc_disco_list_t *l,
                                             const char *entity_id)
{
    apr_uintptr_t i;

    if (l == NULL || entity_id == NULL) {
        return NULL;
    }
    i = (apr_uintptr_t)apr_hash_get(l->by_id, entity_id, APR_HASH_KEY_STRING);
    return i ? anc_disco_list_get(l, (int)i - 1) : NULL;
}

/* ---- JSON ---------------------------------------------------------------------- */

typedef struct jbuf_t {
    apr_pool_t *p;
    char *d;
    apr_size_t len, cap;
} jbuf_t;

static void jput(jbuf_t *b, const char *s, apr_size_t n)
{
    if (b->len + n + 1 > b->cap) {
        apr_size_t cap = b->cap ? b->cap : 4096;
        char *d;

        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        d = apr_palloc(b->p, cap);
        if (b->len) {
            memcpy(d, b->d, b->len);
        }
        b->d = d;
        b->cap = cap;
    }
    memcpy(b->d + b->len, s, n);
    b->len += n;
    b->d[b->len] = '\0';
}

/* a literal, or &literal[1] (its leading comma dropped) */
#define JS(b, s) jput((b), (s), strlen(s))

/* The length of the valid UTF-8 sequence at s (RFC 3629 4), 0 if invalid. */
static int utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    }
    if (s[0] >= 0xe0 && s[0] <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80) {
            return 0;
        }
        if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)) {
            return 0; /* overlong, surrogate */
        }
        return 3;
    }
    if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80) {
            return 0;
        }
        if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90)) {
            return 0;
        }
        return 4;
    }
    return 0;
}

static void jstr(jbuf_t *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str != NULL ? str : "");

    JS(b, "\"");
    while (*s) {
        char esc[8];
        int n;

        if (*s == '"' || *s == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*s;
            jput(b, esc, 2);
            s++;
        } else if (*s < 0x20 || *s == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", *s);
            jput(b, esc, 6);
            s++;
        } else if (*s == '<' && s[1] == '/') {
            JS(b, "<\\/");
            s += 2;
        } else if (*s == '<' && s[1] == '!') {
            JS(b, "\\u003c"); /* "<!--" would open an escaped script state */
            s++;
        } else if (s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9)) {
            /* U+2028, U+2029: line ends in JavaScript before ES2019 */
            JS(b, s[2] == 0xa8 ? "\\u2028" : "\\u2029");
            s += 3;
        } else if ((n = utf8_len(s)) > 0) {
            jput(b, (const char *)s, (apr_size_t)n);
            s += n;
        } else {
            JS(b, "\\ufffd");
            s++;
        }
    }
    JS(b, "\"");
}

const char *anc_json_string(apr_pool_t *p, const char *s)
{
    jbuf_t b = {p, NULL, 0, 0};

    jstr(&b, s);
    return b.d;
}

/* urls: only values anc_ui_url_safe() accepts (a consumer links them) */
static void jtexts(jbuf_t *b, const char *name, const apr_array_header_t *a, int urls)
{
    int i, k = 0;

    if (a == NULL || a->nelts == 0) {
        return;
    }
    for (i = 0; i < a->nelts; i++) {
        const anc_lang_text_t *t = &APR_ARRAY_IDX(a, i, anc_lang_text_t);

        if (urls && !anc_ui_url_safe(t->value, 0)) {
            continue;
        }
        if (!k++) {
            JS(b, ",\"");
            jput(b, name, strlen(name));
            JS(b, "\":[");
        }
        JS(b, &",{\"value\":"[k > 1 ? 0 : 1]);
        jstr(b, t->value);
        if (*t->lang) {
            JS(b, ",\"lang\":");
            jstr(b, t->lang);
        }
        JS(b, "}");
    }
    if (k) {
        JS(b, "]");
    }
}

anc_status_t anc_disco_feed_json(apr_pool_t *p, const anc_disco_list_t *l,
                                 const char **json, apr_size_t *len, const char **etag,
                                 anc_error_t **err)
{
    jbuf_t b = {p, NULL, 0, 0};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdn = 0, k;
    char tag[64];
    int i, j;

    JS(&b, "[");
    for (i = 0; i < anc_disco_list_count(l); i++) {
        const anc_disco_entry_t *e = anc_disco_list_get(l, i);
        const anc_ui_info_t *ui = e->ui;

        JS(&b, &",\n{\"entityID\":"[i ? 0 : 1]);
        jstr(&b, e->entity_id);
        jtexts(&b, "DisplayNames", ui->display_names, 0);
        jtexts(&b, "Descriptions", ui->descriptions, 0);
        jtexts(&b, "InformationURLs", ui->info_urls, 1);
        jtexts(&b, "PrivacyStatementURLs", ui->privacy_urls, 1);
        {
            int nlogos = 0;

            for (j = 0; j < ui->logos->nelts; j++) {
                const anc_logo_t *lg = &APR_ARRAY_IDX(ui->logos, j, anc_logo_t);
                char dims[64];

                if (!anc_ui_url_safe(lg->url, 1)) {
                    continue;
                }
                JS(&b, nlogos ? ",{\"value\":" : ",\"Logos\":[{\"value\":");
                nlogos++;
                jstr(&b, lg->url);
                snprintf(dims, sizeof(dims), ",\"height\":\"%d\",\"width\":\"%d\"",
                         lg->height, lg->width);
                jput(&b, dims, strlen(dims));
                if (*lg->lang) {
                    JS(&b, ",\"lang\":");
                    jstr(&b, lg->lang);
                }
                JS(&b, "}");
            }
            if (nlogos) {
                JS(&b, "]");
            }
        }
        JS(&b, "}");
    }
    JS(&b, "\n]\n");
    if (EVP_Digest(b.d, b.len, md, &mdn, EVP_sha256(), NULL) != 1) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "SHA-256 failed");
    }
    tag[0] = '"';
    for (k = 0; k < 16 && k < mdn; k++) {
        snprintf(tag + 1 + k * 2, 3, "%02x", md[k]);
    }
    strcpy(tag + 1 + k * 2, "\"");
    *json = b.d;
    *len = b.len;
    *etag = apr_pstrdup(p, tag);
    return ANC_OK;
}

int anc_ui_url_safe(const char *url, int logo)
{
    if (url == NULL) {
        return 0;
    }
    if (!strncasecmp(url, "https://", 8)) {
        return 1;
    }
    return logo ? !strncasecmp(url, "data:image/", 11) : !strncasecmp(url, "http://", 7);
}

/* ---- IdP sets and search ------------------------------------------------------- */

int anc_idp_set_is_empty(const anc_idp_set_t *set)
{
    return set == NULL || ((set->entity_ids == NULL || set->entity_ids->nelts == 0) &&
                           (set->attrs == NULL || set->attrs->nelts == 0));
}

int anc_idp_set_allows(const anc_idp_set_t *set, const char *entity_id,
                       const anc_ui_info_t *ui)
{
    int i, j;

    if (entity_id == NULL) {
        return 0;
    }
    if (anc_idp_set_is_empty(set)) {
        return 1;
    }
    for (i = 0; set->entity_ids != NULL && i < set->entity_ids->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(set->entity_ids, i, const char *), entity_id)) {
            return 1;
        }
    }
    for (i = 0; ui != NULL && set->attrs != NULL && i < set->attrs->nelts; i++) {
        const anc_md_attr_t *want = &APR_ARRAY_IDX(set->attrs, i, anc_md_attr_t);

        for (j = 0; j < ui->entity_attrs->nelts; j++) {
            const anc_md_attr_t *a = &APR_ARRAY_IDX(ui->entity_attrs, j, anc_md_attr_t);

            if (!strcmp(a->name, want->name) && !strcmp(a->value, want->value)) {
                return 1;
            }
        }
    }
    return 0;
}

void anc_disco_search(apr_pool_t *p, const anc_disco_list_t *l, const anc_idp_set_t *set,
                      const char *query, int offset, int max, apr_array_header_t **hits,
                      int *total)
{
    const char *q = query != NULL ? lower_ascii(p, anc_xml_collapse(p, query)) : "";
    int i, n = anc_disco_list_count(l);

    *hits = apr_array_make(p, max > 0 && max < 64 ? max : 64, sizeof(int));
    *total = 0;
    for (i = 0; i < n; i++) {
        const anc_disco_entry_t *e = anc_disco_list_get(l, i);

        if (*q && strstr(e->search_key, q) == NULL) {
            continue;
        }
        if (!anc_idp_set_allows(set, e->entity_id, e->ui)) {
            continue;
        }
        if (*total >= offset && (*hits)->nelts < max) {
            APR_ARRAY_PUSH(*hits, int) = i;
        }
        (*total)++;
    }
}
