/*
 * anc_metadata.h - trusted IdPs from SAML metadata, SP keys, SP metadata.
 *
 * A trust store (anc_trust_t) is built once at start-up from one or more
 * metadata files (EntityDescriptor or EntitiesDescriptor) and is read-only
 * afterwards, so worker threads may share it. Only IdPSSODescriptor entities
 * are kept. Signing keys come from KeyDescriptor use="signing" or without a
 * use attribute (ds:X509Certificate or ds:KeyValue). Keys carried in a
 * message are never trusted: only keys loaded here verify signatures.
 */
#ifndef ANC_METADATA_H
#define ANC_METADATA_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "anc_error.h"

#define ANC_BINDING_REDIRECT "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
#define ANC_BINDING_POST "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

typedef struct anc_endpoint_t {
    const char *binding;           /* binding URI */
    const char *location;          /* URL */
    const char *response_location; /* ResponseLocation (SAML metadata 2.2.2), or NULL */
} anc_endpoint_t;

/* An opaque key: an xmlsec key plus its OpenSSL EVP_PKEY. Owned by the pool
 * it was loaded into (freed by a pool cleanup). */
typedef struct anc_key_t anc_key_t;

typedef struct anc_md_attr_t {
    const char *name;  /* saml:Attribute Name inside mdattr:EntityAttributes */
    const char *value; /* one saml:AttributeValue, compared after collapsing */
} anc_md_attr_t;

/* A text in one language (mdui:DisplayName, Description, InformationURL,
 * PrivacyStatementURL). lang is "" when the element has no xml:lang. */
typedef struct anc_lang_text_t {
    const char *lang;
    const char *value;
} anc_lang_text_t;

/* An mdui:Logo: width and height in pixels (0 when not given). */
typedef struct anc_logo_t {
    const char *lang;
    const char *url;
    int width, height;
} anc_logo_t;

/* What a person choosing an IdP sees of it (the IDPSSODescriptor's
 * mdui:UIInfo, SAML V2.0 Metadata Extensions for Login and Discovery User
 * Interface 2.1) and the entity's mdattr:EntityAttributes (name/value
 * pairs, for per-location IdP sets). Every array is present, possibly
 * empty; strings are whitespace-collapsed and hold no control character. */
typedef struct anc_ui_info_t {
    apr_array_header_t *display_names; /* anc_lang_text_t */
    apr_array_header_t *descriptions;  /* anc_lang_text_t */
    apr_array_header_t *logos;         /* anc_logo_t */
    apr_array_header_t *info_urls;     /* anc_lang_text_t */
    apr_array_header_t *privacy_urls;  /* anc_lang_text_t */
    apr_array_header_t *entity_attrs;  /* anc_md_attr_t */
} anc_ui_info_t;

typedef struct anc_idp_t {
    const char *entity_id;
    apr_array_header_t *signing_keys;  /* of anc_key_t *; at least one */
    apr_array_header_t *sso_endpoints; /* of anc_endpoint_t, document order */
    apr_array_header_t *slo_endpoints; /* of anc_endpoint_t, document order */
    int want_authn_requests_signed;    /* WantAuthnRequestsSigned="true" */
    /* The earliest validUntil of the entity, its enclosing groups and the
     * document (SAML metadata 2.3.1/2.3.2); 0 when none is given. From
     * that instant on anc_trust_find() no longer returns it. */
    apr_time_t valid_until;
    const char *source;         /* the source's name (anc_md_options_t.name), or NULL */
    const char *source_version; /* anc_md_options_t.version, or NULL */
    const anc_ui_info_t *ui;    /* never NULL for a loaded IdP */
} anc_idp_t;

typedef struct anc_trust_t anc_trust_t;

/* Creates an empty trust store in pool p. */
anc_trust_t *anc_trust_create(apr_pool_t *p);
/* The pool a store was created in. */
apr_pool_t *anc_trust_pool(const anc_trust_t *trust);

/* Adds every IdP of a metadata document (file path or bytes) to the store:
 * anc_trust_add_source() with no signature, validity maximum or filter.
 * Errors: as anc_trust_add_source(); ANC_E_INPUT also for an unreadable
 * file. */
anc_status_t anc_trust_load_file(anc_trust_t *trust, const char *path, anc_error_t **err);
anc_status_t anc_trust_load_memory(anc_trust_t *trust, const char *data, apr_size_t len,
                                   anc_error_t **err);

/* ---- metadata sources -------------------------------------------------
 *
 * A source is one metadata document (an EntityDescriptor or an
 * EntitiesDescriptor aggregate). anc_trust_add_source() checks the
 * document as a whole first (root signature when a verify key is set,
 * root validUntil and maxValidity) and refuses it entirely when one of
 * those fails; then each entity is judged on its own: one that breaks a
 * rule is skipped with a recorded reason, one that a filter leaves out is
 * counted, the rest are added. A source that ends up with no IdP is
 * refused (with the first skip's reason when there was one). */

typedef struct anc_md_options_t {
    const char *name;                       /* for details and anc_idp_t.source */
    const anc_key_t *verify_key;            /* NULL: the document need not be signed */
    int allow_sha1;                         /* SHA-1 signature/digest on the root */
    apr_interval_time_t max_validity;       /* 0: none; else validUntil required and at
                                               most this far ahead of now */
    const apr_array_header_t *entities;     /* const char *: only these (NULL: all) */
    const apr_array_header_t *entity_attrs; /* anc_md_attr_t: carry one (NULL: all) */
    apr_time_t now;                         /* 0: apr_time_now() */
    const char *version; /* which version of the source, for anc_idp_t.source_version */
} anc_md_options_t;

typedef struct anc_md_skip_t {
    const char *entity_id; /* or the group's Name for an expired group */
    anc_status_t code;
    const char *detail;
} anc_md_skip_t;

typedef struct anc_md_info_t {
    apr_time_t valid_until;             /* the root's validUntil, 0 when none */
    apr_interval_time_t cache_duration; /* the root's cacheDuration, 0 when none */
    apr_time_t expires;          /* earliest valid_until of the added IdPs and the root,
                                    0 when none */
    int idps;                    /* IdPs added */
    int filtered;                /* IdPs left out by the entities/attribute filters */
    apr_array_header_t *skipped; /* anc_md_skip_t, in document order */
} anc_md_info_t;

/* Adds the IdPs of one metadata document to trust (see above). Checks, in
 * order: safe parsing (no DTD, depth); the root is md:EntityDescriptor or
 * md:EntitiesDescriptor; with opt->verify_key, exactly one ds:Signature
 * child of the root that verifies with that key only, under the rules of
 * anc_dsig_verify (one Reference to the root's ID, enveloped + exclusive
 * C14N, RSA/ECDSA SHA-256+); root validUntil not passed; with
 * opt->max_validity, a root validUntil no further ahead than that.
 * Per entity (skipped, recorded in info->skipped): validUntil of the entity
 * or an enclosing group passed (ANC_E_METADATA_VALIDITY), an entityID
 * already in trust (ANC_E_METADATA: the first one wins), an
 * IDPSSODescriptor that does not list the SAML 2.0 protocol, no signing
 * key (ANC_E_METADATA), a weak or unreadable key (ANC_E_KEY). Entities
 * with no IDPSSODescriptor (SPs, attribute authorities) are ignored.
 * info (may be NULL) is allocated in trust's pool.
 * Errors: ANC_E_INPUT, ANC_E_XML_PARSE, ANC_E_XML_DTD, ANC_E_XML_DEPTH,
 * ANC_E_DUPLICATE_ID, ANC_E_METADATA (wrong root, bad validUntil or
 * cacheDuration, no usable IdP), ANC_E_METADATA_SIG,
 * ANC_E_METADATA_VALIDITY, ANC_E_KEY (the only IdP's key refused). */
anc_status_t anc_trust_add_source(anc_trust_t *trust, const char *data, apr_size_t len,
                                  const anc_md_options_t *opt, anc_md_info_t **info,
                                  anc_error_t **err);

/* anc_trust_add_source() on the bytes of a file; details are prefixed
 * with the path. Errors: as anc_trust_add_source(); ANC_E_INPUT for an
 * unreadable file. */
anc_status_t anc_trust_add_source_file(anc_trust_t *trust, const char *path,
                                       const anc_md_options_t *opt, anc_md_info_t **info,
                                       anc_error_t **err);

struct _xmlNode; /* libxml2's xmlNode */

/* Called for each IdP anc_trust_add_source_cb() adds, with its
 * EntityDescriptor (valid until the call returns). A failure stops the
 * callbacks and fails the call with that status. */
typedef anc_status_t anc_md_entity_fn(void *baton, struct _xmlNode *ed,
                                      const anc_idp_t *idp, anc_error_t **err);
anc_status_t anc_trust_add_source_cb(anc_trust_t *trust, const char *data, apr_size_t len,
                                     const anc_md_options_t *opt, anc_md_info_t **info,
                                     anc_md_entity_fn *on_entity, void *baton,
                                     anc_error_t **err);

/* An IdP that a store does not hold, looked up elsewhere (a per-entity
 * directory): the record, which must stay valid as long as the overlay, or
 * NULL. */
typedef const anc_idp_t *anc_trust_resolve_fn(void *ctx, const char *entity_id);
/* A store in p that answers anc_trust_find() from base (may be NULL), then
 * from resolve. anc_trust_count() adds extra_count (the IdPs resolve can
 * find); anc_trust_first() and anc_trust_idps() see base only. */
anc_trust_t *anc_trust_overlay(apr_pool_t *p, const anc_trust_t *base,
                               anc_trust_resolve_fn *resolve, void *ctx, int extra_count);

/* ---- per-entity directories (the MDQ / LocalDynamic layout) -------------
 *
 * anc_md_split() checks an aggregate as anc_trust_add_source() does (run it
 * once, unprivileged, e.g. from a timer) and writes each usable IdP to
 * DIR/{sha1}HEX.xml (HEX: SHA-1 of the entityID, lower case), with the
 * effective validUntil on its root, then DIR/index.tsv:
 *   #anc-md-index 1 <TAB> source name <TAB> root validUntil (epoch s, 0)
 *   HEX <TAB> SHA-256 of the file <TAB> validUntil <TAB> entityID <TAB>
 *       display name (mdui:DisplayName, "" when none) <TAB> UI
 * (UI: anc_ui_encode() of the entity's anc_ui_info_t, so discovery lists
 * every IdP without reading its file). The header's version is 2; version
 * 1 indexes (no UI column) are still read (UI from the display name);
 * any other version is refused with a message saying so.
 * Split files carry no signature: they are trusted because the index that
 * the verifier wrote names their hash (keep DIR writable by the verifier
 * only). Files are written to temporary names and renamed; the index last.
 * Errors: anc_trust_add_source()'s, ANC_E_INPUT (cannot write DIR). */
anc_status_t anc_md_split(apr_pool_t *p, const char *data, apr_size_t len,
                          const anc_md_options_t *opt, const char *dir,
                          anc_md_info_t **info, anc_error_t **err);

typedef struct anc_md_index_t anc_md_index_t;
/* Reads DIR/index.tsv into p. Errors: ANC_E_INPUT, ANC_E_METADATA (not an
 * index). */
anc_status_t anc_md_index_load(apr_pool_t *p, const char *dir, anc_md_index_t **idx,
                               anc_error_t **err);
int anc_md_index_count(const anc_md_index_t *idx);
/* Whether the index lists the entityID (no file is read). */
int anc_md_index_has(const anc_md_index_t *idx, const char *entity_id);
/* The index's entityIDs (const char *), in file order. */
const apr_array_header_t *anc_md_index_entities(const anc_md_index_t *idx);
/* The UI information of the i-th entity (file order) and its validUntil
 * (0 when none), or NULL when i is out of range. */
const anc_ui_info_t *anc_md_index_ui(const anc_md_index_t *idx, int i,
                                     apr_time_t *valid_until);
/* Loads the entity's file into trust after checking its SHA-256 against
 * the index. Errors: ANC_E_UNKNOWN_IDP (not in the index), ANC_E_INPUT,
 * ANC_E_METADATA (hash mismatch, or the file's own checks). */
anc_status_t anc_md_index_load_entity(const anc_md_index_t *idx, anc_trust_t *trust,
                                      const char *entity_id, anc_error_t **err);

/* A trust store in p that holds the IdPs of parts[0..n-1] (NULL entries are
 * passed over) without copying them: the parts must outlive it. Precedence:
 * the first part that holds an entityID wins; each later duplicate is
 * appended to *dups (const char *entityID, may be NULL) and left out. */
anc_trust_t *anc_trust_merge(apr_pool_t *p, const anc_trust_t *const *parts, int n,
                             apr_array_header_t **dups);

/* The signing keys of two IdP records are the same certificates/keys, in
 * any order. */
int anc_idp_same_keys(const anc_idp_t *a, const anc_idp_t *b);

/* xs:duration (XML Schema part 2, 3.2.6) as an interval: PnYnMnDTnHnMnS with
 * a year of 365 days and a month of 30 days; fractions of seconds are
 * dropped. Errors: ANC_E_INPUT (negative or malformed). */
anc_status_t anc_duration_parse(const char *text, apr_interval_time_t *out);

/* The IdP with that entityID, or NULL (also once its valid_until passed). */
const anc_idp_t *anc_trust_find(const anc_trust_t *trust, const char *entity_id);
/* Number of IdPs, and the first one (the default when only one is loaded). */
int anc_trust_count(const anc_trust_t *trust);
const anc_idp_t *anc_trust_first(const anc_trust_t *trust);
/* All IdPs (array of const anc_idp_t *), in load order. */
const apr_array_header_t *anc_trust_idps(const anc_trust_t *trust);

/* The first SingleLogoutService of the IdP for the binding whose Location
 * (and ResponseLocation, when given) is an absolute http(s) URL, or NULL:
 * an endpoint URL becomes a 302 Location or a form action on the SP's own
 * origin, where "javascript:" and the like would run as the SP. */
const anc_endpoint_t *anc_idp_slo_endpoint(const anc_idp_t *idp, const char *binding);

/* The first SSO endpoint of the IdP for the binding whose Location is an
 * absolute http(s) URL (as for anc_idp_slo_endpoint), or NULL. */
const char *anc_idp_sso_location(const anc_idp_t *idp, const char *binding);

/* Loads the SP's private key (PEM, unencrypted) and, optionally, its
 * certificate (PEM). Errors: ANC_E_KEY. */
anc_status_t anc_key_load_private(apr_pool_t *p, const char *key_path,
                                  const char *cert_path, anc_key_t **key,
                                  anc_error_t **err);
/* Loads a certificate (PEM or DER) as a public key. Errors: ANC_E_KEY. */
anc_status_t anc_key_load_cert(apr_pool_t *p, const char *cert_path, anc_key_t **key,
                               anc_error_t **err);
/* The certificate as base64 DER without PEM armour (for metadata), or NULL
 * when the key has no certificate. */
const char *anc_key_cert_base64(const anc_key_t *key);
/* The OpenSSL EVP_PKEY (borrowed; as void * so this header needs no
 * OpenSSL include). */
void *anc_key_evp(const anc_key_t *key);
/* The xmlsec key (an xmlSecKeyPtr, borrowed; as void * so this header needs
 * no xmlsec include). Used to sign HTTP-POST AuthnRequests: callers that
 * hand it to an xmlSecDSigCtx duplicate it first (xmlSecKeyDuplicate),
 * because the context frees its signKey. Never NULL for a loaded key. */
void *anc_key_xmlsec(const anc_key_t *key);

typedef struct anc_sp_metadata_t {
    const char *entity_id;
    const char *acs_url;   /* HTTP-POST AssertionConsumerService */
    const char *slo_url;   /* SingleLogoutService for HTTP-Redirect and HTTP-POST;
                              may be NULL */
    const anc_key_t *cert; /* signing+encryption cert; may be NULL */
    const char *disco_url; /* idpdisc:DiscoveryResponse Location, or NULL */
    int authn_requests_signed;
    int want_assertions_signed;
} anc_sp_metadata_t;

/* The SP's EntityDescriptor as a UTF-8 XML string allocated in p.
 * Errors: ANC_E_CONFIG (no entityID or ACS URL). */
anc_status_t anc_sp_metadata_build(apr_pool_t *p, const anc_sp_metadata_t *sp,
                                   const char **xml, anc_error_t **err);

#endif
