/*
 * anc_disco.h - IdP discovery: the UI information of IdPs (mdui) as read
 * from metadata and carried in a per-entity directory's index, the
 * discovery feed (the Shibboleth SP's DiscoFeed JSON), the search a
 * built-in chooser runs over display names, the language a person reads
 * (Accept-Language), and which IdPs a location allows.
 *
 * Pure functions over immutable data: a list built once per metadata
 * snapshot may be read by many threads at once.
 */
#ifndef ANC_DISCO_H
#define ANC_DISCO_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "anc_error.h"
#include "anc_metadata.h"

struct _xmlNode;

/* The UI information of an EntityDescriptor: the first IDPSSODescriptor's
 * md:Extensions/mdui:UIInfo and the entity's mdattr:EntityAttributes.
 * Values are whitespace-collapsed; values with control characters other
 * than white space, empty values and values over 2048 bytes are left out;
 * at most 16 entries per kind and 64 entity attribute values are kept.
 * Never fails (an entity without UIInfo gets empty arrays). */
anc_ui_info_t *anc_ui_info_parse(apr_pool_t *p, const struct _xmlNode *ed);
/* An empty record. */
anc_ui_info_t *anc_ui_info_make(apr_pool_t *p);

/* The record as one line of printable ASCII with no TAB, space or
 * newline (the index's UI column): space-separated tokens "k:a:b[:c:d]"
 * whose fields are percent-encoded. */
const char *anc_ui_encode(apr_pool_t *p, const anc_ui_info_t *ui);
/* The reverse. Errors: ANC_E_INPUT (unknown token kind, bad escape,
 * control character, a field over 2048 bytes, over the per-kind caps). */
anc_status_t anc_ui_decode(apr_pool_t *p, const char *text, anc_ui_info_t **ui,
                           anc_error_t **err);

/* ---- languages ---------------------------------------------------------- */

/* The language tags of an Accept-Language header (RFC 9110 12.5.4), best
 * first (by q, then order), lower case, q=0 and malformed items dropped,
 * at most 16; "en" is appended when absent (the fallback). Never fails:
 * a NULL or garbage header gives {"en"}. */
apr_array_header_t *anc_lang_prefs(apr_pool_t *p, const char *accept_language);
/* The value of texts (anc_lang_text_t) in the best language of prefs:
 * an exact tag, then a prefix match either way ("de" for "de-ch" and the
 * reverse), then the text with no xml:lang, then the first one. NULL when
 * texts is empty. */
const anc_lang_text_t *anc_lang_pick(const apr_array_header_t *texts,
                                     const apr_array_header_t *prefs);
/* The same for logos; NULL when there is none. */
const anc_logo_t *anc_logo_pick(const apr_array_header_t *logos,
                                const apr_array_header_t *prefs);

/* ---- the IdP list ----------------------------------------------------------- */

typedef struct anc_disco_entry_t {
    const char *entity_id;
    const anc_ui_info_t *ui;
    const char *search_key; /* every display name and the entityID, lower case */
} anc_disco_entry_t;

typedef struct anc_disco_list_t anc_disco_list_t;

anc_disco_list_t *anc_disco_list_make(apr_pool_t *p);
/* Adds an IdP (ui may be NULL: no UI information); an entityID already in
 * the list is passed over (the first one wins, as in anc_trust_merge). */
void anc_disco_list_add(anc_disco_list_t *l, const char *entity_id,
                        const anc_ui_info_t *ui);
/* Adds the IdPs of a trust store (anc_trust_idps) and of an index. */
void anc_disco_list_add_trust(anc_disco_list_t *l, const anc_trust_t *trust);
void anc_disco_list_add_index(anc_disco_list_t *l, const anc_md_index_t *idx,
                              apr_time_t now);
int anc_disco_list_count(const anc_disco_list_t *l);
const anc_disco_entry_t *anc_disco_list_get(const anc_disco_list_t *l, int i);
const anc_disco_entry_t *anc_disco_list_find(const anc_disco_list_t *l,
                                             const char *entity_id);

/* The feed: a JSON array with one object per IdP, in list order, as the
 * Shibboleth SP's DiscoFeed handler writes it: entityID, and when present
 * DisplayNames, Descriptions, InformationURLs, PrivacyStatementURLs
 * ([{"value","lang"}]) and Logos ([{"value","height","width","lang"}]);
 * logos and URLs that anc_ui_url_safe() refuses are left out.
 * Strings are escaped per RFC 8259 7 (", \, control characters as \uXXXX),
 * and so that the feed is safe inside a script element: "</" as "<\/",
 * "<!" as "\u003c!", U+2028 and U+2029 as \u2028 and \u2029.
 * *etag is a strong validator of the bytes (a quoted SHA-256 prefix). */
anc_status_t anc_disco_feed_json(apr_pool_t *p, const anc_disco_list_t *l,
                                 const char **json, apr_size_t *len, const char **etag,
                                 anc_error_t **err);
/* Whether a URL from metadata may reach a page's src= or href= (or a feed
 * whose consumer puts it there): a logo (logo != 0) https: or an inline
 * image (data:image/), an information or privacy URL http: or https:
 * (scheme case-insensitive). Never javascript:, data:text/html and the
 * like. The feed leaves the others out. */
int anc_ui_url_safe(const char *url, int logo);
/* s as a JSON string literal, quotes included. Invalid UTF-8 bytes are
 * replaced with U+FFFD. */
const char *anc_json_string(apr_pool_t *p, const char *s);

/* ---- which IdPs a location offers --------------------------------------------- */

/* A location's IdP set: entityIDs and entity attributes (an IdP is allowed
 * when it is listed or carries one of the attributes); an empty set (both
 * NULL or empty) allows every IdP. */
typedef struct anc_idp_set_t {
    const apr_array_header_t *entity_ids; /* const char * */
    const apr_array_header_t *attrs;      /* anc_md_attr_t */
} anc_idp_set_t;

int anc_idp_set_is_empty(const anc_idp_set_t *set);
/* Whether the IdP (its entityID and UI information; ui may be NULL)
 * belongs to the set. */
int anc_idp_set_allows(const anc_idp_set_t *set, const char *entity_id,
                       const anc_ui_info_t *ui);

/* ---- search --------------------------------------------------------------- */

/* The entries of l allowed by set whose display names or entityID contain
 * query (case-insensitive for ASCII; NULL or "" matches every entry), in
 * list order: at most max of them from the offset-th match on, as indexes
 * into l (int) in *hits; *total is the number of matches. */
void anc_disco_search(apr_pool_t *p, const anc_disco_list_t *l, const anc_idp_set_t *set,
                      const char *query, int offset, int max, apr_array_header_t **hits,
                      int *total);

#endif
