/*
 * anc_session.h - session and pending-request records, their codecs, and
 * random identifiers. Storage is the caller's (ap_socache in the module, a
 * hash in tests); these are the bytes that go into it.
 */
#ifndef ANC_SESSION_H
#define ANC_SESSION_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "anc_error.h"
#include "anc_response.h"
#include "anc_policy.h"

typedef struct anc_session_t {
    const char *id; /* 32 hex chars (128 bits, CSPRNG) */
    const char *idp;
    anc_name_id_t name_id;
    apr_array_header_t *classes; /* const char *: the session class set */
    /* Every AuthnStatement of the assertion as (class, instant) pairs
     * (anc_class_instant_t, anc_policy_class_instants), for freshness per
     * statement (anc_policy_fresh_instant). */
    apr_array_header_t *statements;
    /* Every SessionIndex of the assertion (const char *, document order,
     * each once), for Single Logout. */
    apr_array_header_t *session_indexes;
    /* Derived, kept for single-value uses: the oldest statement's instant
     * (0 when none) and the first SessionIndex (NULL when none). The
     * decoder sets them from the lists. The encoder takes them as a
     * one-element list when that list is empty, and refuses them
     * (ANC_E_INPUT) when they disagree with a non-empty list. */
    apr_time_t authn_instant;
    const char *session_index;
    apr_time_t created;
    apr_time_t expires;
    apr_array_header_t *attributes; /* anc_attribute_t; NULL when skipped */
    /* The request variables of this session (anc_session_variables),
     * computed once by the encoder and stored with the record, so that a
     * request with a session formats nothing: "NAME\0VALUE\0" pairs,
     * vars_len bytes. After a decode they point into the decoded buffer,
     * which must outlive the session. */
    const char *vars;
    apr_size_t vars_len;
    /* After a decode: the block as name, value, name, value... pointers. */
    apr_array_header_t *var_pairs;
    int attributes_skipped; /* decoded with ANC_SESSION_SKIP_ATTRIBUTES */
} anc_session_t;

/* anc_session_decode flags. The attributes are only needed where
 * AuthnContextUserAttribute picks r->user from one (the variables carry
 * their values already): skipping them stops reading after the variable
 * block, so the attribute section is neither used nor checked (a whole
 * decode still checks it). A session decoded so cannot be encoded
 * again. */
#define ANC_SESSION_DECODE_ALL 0
#define ANC_SESSION_SKIP_ATTRIBUTES 1

/* A pending AuthnRequest, kept under its request ID until answered. */
typedef struct anc_request_state_t {
    const char *request_id;
    const char *target;          /* local URL to return to */
    const char *idp;             /* entityID asked */
    const char *browser_binding; /* random value also set in a cookie */
    int has_requested_context;
    anc_comparison_t comparison;
    apr_array_header_t *requested_classes; /* const char * */
    int force_authn;
    int max_age;  /* seconds, 0 = none */
    int is_retry; /* second try without context */
    apr_time_t created;
    apr_time_t expires;
} anc_request_state_t;

/* Codecs: a compact, length-prefixed text form (format in
 * src/anc_session.c). Decoding checks every length and field; garbage
 * gives ANC_E_INPUT, never a crash. Required (non-NULL, non-empty): the
 * session's id, idp, name_id.value and attribute names; the state's
 * request_id and target. Classes are non-empty strings (a statement's
 * class may also be NULL); attribute values and SessionIndexes may be
 * empty; times and max_age are >= 0; a state with
 * has_requested_context has at least one class. The encoders refuse
 * (ANC_E_INPUT) what the decoders would refuse, and NULL lists decode as
 * empty arrays. The form is canonical: decode then encode gives the same
 * bytes. */
anc_status_t anc_session_encode(apr_pool_t *p, const anc_session_t *s, const char **buf,
                                apr_size_t *len, anc_error_t **err);
anc_status_t anc_session_decode(apr_pool_t *p, const char *buf, apr_size_t len, int flags,
                                anc_session_t **s, anc_error_t **err);

/* Sets s->statements (anc_policy_class_instants), s->session_indexes
 * (every SessionIndex of a, document order, repeats dropped) and the two
 * derived values from a verified assertion. */
void anc_session_set_authn(apr_pool_t *p, anc_session_t *s, const anc_assertion_t *a);

/* The variables a request with session s gets (README "Variables"):
 * AUTHN_CONTEXT_CLASS/INSTANT/IDP/SESSION_INDEX/NAMEID/NAMEID_FORMAT/
 * EXPIRES, the Shib-* aliases, and AUTHN_CONTEXT_ATTR_<name> per attribute
 * (several values and same-named attributes joined with ';'), as the
 * "NAME\0VALUE\0" block described above. Values are as the IdP sent them
 * (a header export must still remove control characters). */
anc_status_t anc_session_variables(apr_pool_t *p, const anc_session_t *s,
                                   const char **block, apr_size_t *len,
                                   anc_error_t **err);

/* Calls fn for each NAME/VALUE of a decoded session's variable block (the
 * decoder has checked its shape and found the pairs). */
typedef void (*anc_session_var_fn)(void *ctx, const char *name, const char *value);
void anc_session_vars_each(const anc_session_t *s, anc_session_var_fn fn, void *ctx);
anc_status_t anc_request_state_encode(apr_pool_t *p, const anc_request_state_t *st,
                                      const char **buf, apr_size_t *len,
                                      anc_error_t **err);
anc_status_t anc_request_state_decode(apr_pool_t *p, const char *buf, apr_size_t len,
                                      anc_request_state_t **st, anc_error_t **err);

/* nbytes random bytes from the OpenSSL CSPRNG, as lowercase hex (2*nbytes
 * chars). Errors: ANC_E_INTERNAL (RAND_bytes failed, nbytes 0 or > 256). */
anc_status_t anc_random_hex(apr_pool_t *p, apr_size_t nbytes, const char **hex,
                            anc_error_t **err);
/* 1 when s is exactly 2*nbytes lowercase hex chars (cookie validation). */
int anc_is_hex_id(const char *s, apr_size_t nbytes);

#endif
