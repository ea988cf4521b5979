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
    apr_time_t authn_instant;
    const char *session_index; /* may be NULL */
    apr_time_t created;
    apr_time_t expires;
    apr_array_header_t *attributes; /* anc_attribute_t */
} anc_session_t;

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
 * request_id and target. Classes are non-empty strings; attribute values
 * may be empty; times and max_age are >= 0; a state with
 * has_requested_context has at least one class. The encoders refuse
 * (ANC_E_INPUT) what the decoders would refuse, and NULL lists decode as
 * empty arrays. The form is canonical: decode then encode gives the same
 * bytes. */
anc_status_t anc_session_encode(apr_pool_t *p, const anc_session_t *s, const char **buf,
                                apr_size_t *len, anc_error_t **err);
anc_status_t anc_session_decode(apr_pool_t *p, const char *buf, apr_size_t len,
                                anc_session_t **s, anc_error_t **err);
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
