/*
 * anc_mdindex.c - per-entity metadata directories: an aggregate verified
 * once and split into one file per IdP ({sha1}HEX.xml, the MDQ /
 * Shibboleth LocalDynamic naming) plus an index with each file's SHA-256,
 * and the lookup that loads one entity from such a directory.
 *
 * The split files carry no signature of their own. They are trusted
 * because the index, written by the process that verified the aggregate,
 * names their hash: a file that does not hash to the index's value is
 * refused. The directory must be writable by that process only.
 */
#include <stdio.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <libxml/tree.h>
#include <openssl/evp.h>

#include "anc_disco.h"
#include "anc_metadata.h"
#include "anc_response.h"
#include "anc_xml.h"

#define INDEX_NAME "index.tsv"
#define INDEX_MAGIC_PREFIX "#anc-md-index "
#define INDEX_MAGIC "#anc-md-index 2"
#define NS_MDUI "urn:oasis:names:tc:SAML:metadata:ui"

typedef struct index_entry_t {
    const char *hex;    /* SHA-1 of the entityID */
    const char *sha256; /* of the file */
    apr_time_t valid_until;
    const char *entity_id;
    const char *display_name;
    const anc_ui_info_t *ui;
} index_entry_t;

struct anc_md_index_t {
    const char *dir;
    apr_hash_t *by_id; /* entityID -> index_entry_t * */
    apr_array_header_t *ids;
    apr_array_header_t *entries; /* index_entry_t *, file order */
};

static const char *hex_digest(apr_pool_t *p, const char *md_name, const void *data,
                              apr_size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;
    char *out;

    if (EVP_Digest(data, len, md, &n, EVP_get_digestbyname(md_name), NULL) != 1) {
        return NULL;
    }
    out = apr_palloc(p, n * 2 + 1);
    for (i = 0; i < n; i++) {
        snprintf(out + i * 2, 3, "%02x", md[i]);
    }
    return out;
}

/* TAB and newline would break the index line; any control character in a
 * display name is replaced. */
static const char *index_safe(apr_pool_t *p, const char *s)
{
    char *o = apr_pstrdup(p, s != NULL ? s : ""), *q;

    for (q = o; *q != '\0'; q++) {
        if ((unsigned char)*q < 0x20) {
            *q = ' ';
        }
    }
    return o;
}

static const char *display_name(apr_pool_t *p, xmlNodePtr ed)
{
    xmlNodePtr role = anc_xml_child(ed, ANC_NS_MD, "IDPSSODescriptor");
    xmlNodePtr ext = anc_xml_child(role, ANC_NS_MD, "Extensions");
    xmlNodePtr ui = anc_xml_child(ext, NS_MDUI, "UIInfo");
    xmlNodePtr dn, first = NULL;

    for (dn = anc_xml_child(ui, NS_MDUI, "DisplayName"); dn != NULL;
         dn = anc_xml_next(dn, NS_MDUI, "DisplayName")) {
        xmlChar *lang = xmlNodeGetLang(dn);
        int en = lang != NULL && strcmp((const char *)lang, "en") == 0;

        xmlFree(lang);
        if (en) {
            return anc_xml_text(p, dn);
        }
        if (first == NULL) {
            first = dn;
        }
    }
    return first != NULL ? anc_xml_text(p, first) : "";
}

static anc_status_t write_file(apr_pool_t *p, const char *dir, const char *name,
                               const char *data, apr_size_t len, anc_error_t **err)
{
    const char *final = apr_pstrcat(p, dir, "/", name, NULL);
    char *tmp = apr_pstrcat(p, final, ".XXXXXX", NULL);
    apr_file_t *f;
    apr_size_t written = 0;

    if (apr_file_mktemp(&f, tmp, APR_FOPEN_CREATE | APR_FOPEN_WRITE | APR_FOPEN_EXCL,
                        p) != APR_SUCCESS) {
        return anc_error_set(p, err, ANC_E_INPUT, "cannot write in %s", dir);
    }
    if (apr_file_write_full(f, data, len, &written) != APR_SUCCESS ||
        apr_file_perms_set(tmp, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GREAD |
                                    APR_FPROT_WREAD) != APR_SUCCESS ||
        apr_file_close(f) != APR_SUCCESS ||
        apr_file_rename(tmp, final, p) != APR_SUCCESS) {
        apr_file_remove(tmp, p);
        return anc_error_set(p, err, ANC_E_INPUT, "cannot write %s", final);
    }
    return ANC_OK;
}

typedef struct split_t {
    apr_pool_t *p;
    const char *dir;
    apr_array_header_t *lines; /* const char * */
} split_t;

static anc_status_t split_entity(void *baton, xmlNodePtr ed, const anc_idp_t *idp,
                                 anc_error_t **err)
{
    split_t *sp = baton;
    apr_pool_t *p = sp->p;
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr copy;
    xmlChar *buf = NULL;
    int len = 0;
    const char *hex, *sha256, *name;
    anc_status_t rv;

    if (doc == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "xmlNewDoc failed");
    }
    /* a deep copy declares on it the namespaces it inherited */
    copy = xmlDocCopyNode(ed, doc, 1);
    if (copy == NULL) {
        xmlFreeDoc(doc);
        return anc_error_set(p, err, ANC_E_INTERNAL, "cannot copy an entity");
    }
    xmlDocSetRootElement(doc, copy);
    xmlReconciliateNs(doc, copy);
    /* the aggregate's (and groups') validity travels with the entity */
    if (idp->valid_until != 0) {
        xmlSetProp(copy, BAD_CAST "validUntil",
                   BAD_CAST anc_time_format(p, idp->valid_until));
    }
    xmlDocDumpMemoryEnc(doc, &buf, &len, "UTF-8");
    xmlFreeDoc(doc);
    if (buf == NULL) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "cannot serialise an entity");
    }
    hex = hex_digest(p, "SHA1", idp->entity_id, strlen(idp->entity_id));
    sha256 = hex_digest(p, "SHA256", buf, (apr_size_t)len);
    name = apr_pstrcat(p, "{sha1}", hex, ".xml", NULL);
    rv = write_file(p, sp->dir, name, (const char *)buf, (apr_size_t)len, err);
    xmlFree(buf);
    if (rv != ANC_OK) {
        return rv;
    }
    APR_ARRAY_PUSH(sp->lines, const char *) =
        apr_psprintf(p, "%s\t%s\t%" APR_TIME_T_FMT "\t%s\t%s\t%s\n", hex, sha256,
                     apr_time_sec(idp->valid_until), index_safe(p, idp->entity_id),
                     index_safe(p, display_name(p, ed)), anc_ui_encode(p, idp->ui));
    return ANC_OK;
}

anc_status_t anc_md_split(apr_pool_t *p, const char *data, apr_size_t len,
                          const anc_md_options_t *opt, const char *dir,
                          anc_md_info_t **info, anc_error_t **err)
{
    apr_pool_t *tp;
    anc_trust_t *trust;
    split_t sp;
    anc_md_info_t *inf = NULL;
    anc_status_t rv;
    char *index;
    apr_size_t n = 0, off;
    int i;

    if (apr_pool_create(&tp, p) != APR_SUCCESS) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "out of memory");
    }
    trust = anc_trust_create(tp);
    sp.p = p;
    sp.dir = dir;
    sp.lines = apr_array_make(p, 256, sizeof(const char *));
    rv = anc_trust_add_source_cb(trust, data, len, opt, &inf, split_entity, &sp, err);
    if (rv == ANC_OK) {
        const char *head = apr_psprintf(
            p, INDEX_MAGIC "\t%s\t%" APR_TIME_T_FMT "\n",
            index_safe(p, opt != NULL && opt->name != NULL ? opt->name : "-"),
            apr_time_sec(inf->valid_until));

        n = strlen(head);
        for (i = 0; i < sp.lines->nelts; i++) {
            n += strlen(APR_ARRAY_IDX(sp.lines, i, const char *));
        }
        index = apr_palloc(p, n + 1);
        memcpy(index, head, strlen(head));
        off = strlen(head);
        for (i = 0; i < sp.lines->nelts; i++) {
            const char *l = APR_ARRAY_IDX(sp.lines, i, const char *);

            memcpy(index + off, l, strlen(l));
            off += strlen(l);
        }
        rv = write_file(p, dir, INDEX_NAME, index, n, err);
    } else if (err != NULL && *err != NULL) {
        anc_error_set(p, err, rv, "%s", (*err)->detail != NULL ? (*err)->detail : "");
    }
    if (info != NULL && inf != NULL) {
        *info = apr_pmemdup(p, inf, sizeof(*inf));
        (*info)->skipped = apr_array_copy(p, inf->skipped);
        for (i = 0; i < (*info)->skipped->nelts; i++) {
            anc_md_skip_t *sk = &APR_ARRAY_IDX((*info)->skipped, i, anc_md_skip_t);

            sk->entity_id = apr_pstrdup(p, sk->entity_id);
            sk->detail = sk->detail != NULL ? apr_pstrdup(p, sk->detail) : NULL;
        }
    }
    apr_pool_destroy(tp);
    return rv;
}

static anc_status_t read_whole(apr_pool_t *p, const char *path, char **data,
                               apr_size_t *len, anc_error_t **err)
{
    apr_file_t *f;
    apr_finfo_t fi;

    *len = 0;
    if (apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p) != APR_SUCCESS ||
        apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS) {
        return anc_error_set(p, err, ANC_E_INPUT, "cannot read %s", path);
    }
    *data = apr_palloc(p, (apr_size_t)fi.size + 1);
    if (fi.size > 0 &&
        apr_file_read_full(f, *data, (apr_size_t)fi.size, len) != APR_SUCCESS) {
        apr_file_close(f);
        return anc_error_set(p, err, ANC_E_INPUT, "cannot read %s", path);
    }
    (*data)[*len] = '\0';
    apr_file_close(f);
    return ANC_OK;
}

anc_status_t anc_md_index_load(apr_pool_t *p, const char *dir, anc_md_index_t **idx,
                               anc_error_t **err)
{
    const char *path = apr_pstrcat(p, dir, "/" INDEX_NAME, NULL);
    anc_md_index_t *x;
    char *data, *line, *state = NULL;
    int version;
    apr_size_t len;
    anc_status_t rv = read_whole(p, path, &data, &len, err);

    if (rv != ANC_OK) {
        return rv;
    }
    if (strncmp(data, INDEX_MAGIC_PREFIX, strlen(INDEX_MAGIC_PREFIX)) != 0) {
        return anc_error_set(p, err, ANC_E_METADATA, "%s is not an index", path);
    }
    /* Version 1 has no UI column; 2 adds it. A later version may mean
     * something this build cannot read: refused, not guessed at. */
    if (!strncmp(data, "#anc-md-index 1\t", 16)) {
        version = 1;
    } else if (!strncmp(data, "#anc-md-index 2\t", 16)) {
        version = 2;
    } else {
        return anc_error_set(
            p, err, ANC_E_METADATA,
            "%s: index version %.8s is not supported (this build reads "
            "versions 1 and 2): run authncontext-verify --metadata-split "
            "of this build again",
            path, data + strlen(INDEX_MAGIC_PREFIX));
    }
    x = apr_pcalloc(p, sizeof(*x));
    x->dir = apr_pstrdup(p, dir);
    x->by_id = apr_hash_make(p);
    x->ids = apr_array_make(p, 256, sizeof(const char *));
    x->entries = apr_array_make(p, 256, sizeof(index_entry_t *));
    line = apr_strtok(data, "\n", &state); /* the header */
    while ((line = apr_strtok(NULL, "\n", &state)) != NULL) {
        char *f[6], *fs = NULL;
        index_entry_t *e;
        int i;

        /* fields split one TAB each (apr_strtok would merge an empty
         * display name into the next separator) */
        f[0] = line;
        for (i = 1; i < 6; i++) {
            char *tab = f[i - 1] != NULL ? strchr(f[i - 1], '\t') : NULL;

            if (tab != NULL) {
                *tab = '\0';
            }
            f[i] = tab != NULL ? tab + 1 : NULL;
        }
        (void)fs;
        if (f[3] == NULL || strlen(f[0]) != 40 || strlen(f[1]) != 64 ||
            (version == 2 && f[5] == NULL)) {
            return anc_error_set(p, err, ANC_E_METADATA, "%s: a malformed line", path);
        }
        e = apr_pcalloc(p, sizeof(*e));
        e->hex = f[0];
        e->sha256 = f[1];
        e->valid_until = apr_time_from_sec(apr_atoi64(f[2]));
        e->entity_id = f[3];
        e->display_name = f[4] != NULL ? f[4] : "";
        if (version == 2) {
            anc_ui_info_t *ui = NULL;

            if (anc_ui_decode(p, f[5], &ui, err) != ANC_OK) {
                return anc_error_set(p, err, ANC_E_METADATA, "%s: entity %s: %s", path,
                                     e->entity_id,
                                     err != NULL && *err != NULL ? (*err)->detail : "");
            }
            e->ui = ui;
        } else {
            anc_ui_info_t *ui = anc_ui_info_make(p);

            if (*e->display_name) {
                anc_lang_text_t *t = apr_array_push(ui->display_names);
                t->lang = "";
                t->value = e->display_name;
            }
            e->ui = ui;
        }
        apr_hash_set(x->by_id, e->entity_id, APR_HASH_KEY_STRING, e);
        APR_ARRAY_PUSH(x->ids, const char *) = e->entity_id;
        APR_ARRAY_PUSH(x->entries, index_entry_t *) = e;
    }
    *idx = x;
    return ANC_OK;
}

int anc_md_index_has(const anc_md_index_t *idx, const char *entity_id)
{
    return idx != NULL && entity_id != NULL &&
           apr_hash_get(idx->by_id, entity_id, APR_HASH_KEY_STRING) != NULL;
}

int anc_md_index_count(const anc_md_index_t *idx)
{
    return idx != NULL ? idx->ids->nelts : 0;
}

const apr_array_header_t *anc_md_index_entities(const anc_md_index_t *idx)
{
    return idx->ids;
}

const anc_ui_info_t *anc_md_index_ui(const anc_md_index_t *idx, int i,
                                     apr_time_t *valid_until)
{
    const index_entry_t *e;

    if (idx == NULL || i < 0 || i >= idx->entries->nelts) {
        return NULL;
    }
    e = APR_ARRAY_IDX(idx->entries, i, const index_entry_t *);
    if (valid_until != NULL) {
        *valid_until = e->valid_until;
    }
    return e->ui;
}

anc_status_t anc_md_index_load_entity(const anc_md_index_t *idx, anc_trust_t *trust,
                                      const char *entity_id, anc_error_t **err)
{
    apr_pool_t *tmp;
    const index_entry_t *e;
    const char *path, *got;
    char *data;
    apr_size_t len;
    anc_md_options_t o;
    anc_status_t rv;
    /* errors are allocated where the trust store lives */
    apr_pool_t *p = NULL;

    /* trust's pool is private: a scratch pool under it */
    e = idx != NULL && entity_id != NULL
            ? apr_hash_get(idx->by_id, entity_id, APR_HASH_KEY_STRING)
            : NULL;
    p = anc_trust_pool(trust);
    if (e == NULL) {
        return anc_error_set(p, err, ANC_E_UNKNOWN_IDP, "%s is not in the index of %s",
                             entity_id != NULL ? entity_id : "(none)",
                             idx != NULL ? idx->dir : "-");
    }
    if (apr_pool_create(&tmp, p) != APR_SUCCESS) {
        return anc_error_set(p, err, ANC_E_INTERNAL, "out of memory");
    }
    path = apr_pstrcat(tmp, idx->dir, "/{sha1}", e->hex, ".xml", NULL);
    rv = read_whole(tmp, path, &data, &len, err);
    if (rv == ANC_OK) {
        got = hex_digest(tmp, "SHA256", data, len);
        if (got == NULL || strcmp(got, e->sha256) != 0) {
            rv = anc_error_set(p, err, ANC_E_METADATA,
                               "%s does not have the SHA-256 the index names", path);
        }
    } else if (err != NULL && *err != NULL) {
        anc_error_set(p, err, rv, "%s", (*err)->detail);
    }
    if (rv == ANC_OK) {
        memset(&o, 0, sizeof(o));
        o.name = idx->dir;
        o.entities = NULL;
        rv = anc_trust_add_source(trust, data, len, &o, NULL, err);
        if (rv == ANC_OK && anc_trust_find(trust, entity_id) == NULL) {
            rv = anc_error_set(p, err, ANC_E_METADATA, "%s does not hold %s", path,
                               entity_id);
        }
    }
    apr_pool_destroy(tmp);
    return rv;
}
