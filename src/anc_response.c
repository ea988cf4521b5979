/*
 * anc_response.c - strict verification of a SAML 2.0 Response (HTTP-POST).
 *
 * Order matters: the document is parsed safely, the envelope (Response)
 * is checked, the signature(s) verified, and only then is the one Assertion
 * that is (or is inside) the verified element read. Nothing is read from
 * any other element: not a second Assertion, not one inside Extensions,
 * Advice or a ds:Object (the signature-wrapping family of attacks). The
 * replay cache is written last, for an otherwise valid assertion only.
 */
#include <stdarg.h>
#include <string.h>

#include <apr_base64.h>
#include <apr_strings.h>

#include "anc_dsig.h"
#include "anc_response.h"
#include "anc_structure.h"
#include "anc_xml.h"

#define SAML_VERSION "2.0"
#define STATUS_SUCCESS "urn:oasis:names:tc:SAML:2.0:status:Success"
#define CM_BEARER "urn:oasis:names:tc:SAML:2.0:cm:bearer"
#define NAMEID_ENTITY "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"

struct anc_verifier_t {
    const anc_sp_config_t *sp;
    const anc_trust_t *trust;
    apr_size_t max_size;
    apr_time_t skew;
};

typedef struct verify_ctx_t {
    apr_pool_t *p;
    const anc_verifier_t *v;
    const anc_verify_input_t *in;
    anc_error_t *err;
    xmlDocPtr doc;
    xmlNodePtr response;
    const anc_idp_t *idp;
    const char *response_id;
    const char *in_response_to;
    apr_time_t response_issued;  /* the Response's IssueInstant */
    apr_time_t assertion_issued; /* the Assertion's IssueInstant */
} verify_ctx_t;

anc_status_t anc_verifier_create(apr_pool_t *p, const anc_sp_config_t *sp,
                                 const anc_trust_t *trust, anc_verifier_t **verifier,
                                 anc_error_t **err)
{
    anc_verifier_t *v;

    if (sp == NULL || sp->entity_id == NULL || *sp->entity_id == '\0' ||
        sp->acs_url == NULL || *sp->acs_url == '\0') {
        return anc_error_set(p, err, ANC_E_CONFIG,
                             "SP entityID and ACS URL are required");
    }
    if (trust == NULL || anc_trust_count(trust) == 0) {
        return anc_error_set(p, err, ANC_E_CONFIG, "no trusted IdP");
    }
    v = apr_pcalloc(p, sizeof(*v));
    v->sp = sp;
    v->trust = trust;
    v->max_size = sp->max_response_size != 0 ? sp->max_response_size
                                             : ANC_DEFAULT_MAX_RESPONSE_SIZE;
    v->skew =
        apr_time_from_sec(sp->clock_skew >= 0 ? sp->clock_skew : ANC_DEFAULT_CLOCK_SKEW);
    *verifier = v;
    return ANC_OK;
}

static int is_b64_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

#define B64_PAD 64
#define B64_SPACE 65
#define B64_BAD 66

/* The value of each byte as a base64 character (RFC 4648 section 4), or
 * one of the markers above. A table rather than comparisons: the form
 * field is ~9 KB of close to random letters, on which range tests
 * mispredict a branch every few bytes. */
static const unsigned char b64_value[256] = {
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0x00 */
    B64_BAD,   B64_SPACE, B64_SPACE, B64_BAD,
    B64_BAD,   B64_SPACE, B64_BAD,   B64_BAD, /* 0x08 */
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0x10 */
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0x18 */
    B64_SPACE, B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0x20 */
    B64_BAD,   B64_BAD,   B64_BAD,   62,
    B64_BAD,   B64_BAD,   B64_BAD,   63, /* 0x28 */
    52,        53,        54,        55,
    56,        57,        58,        59, /* 0x30 */
    60,        61,        B64_BAD,   B64_BAD,
    B64_BAD,   B64_PAD,   B64_BAD,   B64_BAD, /* 0x38 */
    B64_BAD,   0,         1,         2,
    3,         4,         5,         6, /* 0x40 */
    7,         8,         9,         10,
    11,        12,        13,        14, /* 0x48 */
    15,        16,        17,        18,
    19,        20,        21,        22, /* 0x50 */
    23,        24,        25,        B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0x58 */
    B64_BAD,   26,        27,        28,
    29,        30,        31,        32, /* 0x60 */
    33,        34,        35,        36,
    37,        38,        39,        40, /* 0x68 */
    41,        42,        43,        44,
    45,        46,        47,        48, /* 0x70 */
    49,        50,        51,        B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0x78 */
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0x80 */
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0x88 */
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0x90 */
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0x98 */
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0xa0 */
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0xa8 */
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0xb0 */
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0xb8 */
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0xc0 */
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0xc8 */
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0xd0 */
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0xd8 */
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0xe0 */
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0xe8 */
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0xf0 */
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD,
    B64_BAD,   B64_BAD,   B64_BAD,   B64_BAD, /* 0xf8 */
};

anc_status_t anc_response_decode(apr_pool_t *p, const char *data, apr_size_t len,
                                 apr_size_t max, const char **xml, apr_size_t *xml_len,
                                 anc_error_t **err)
{
    apr_size_t i = 0, n = 0, pad = 0;
    unsigned acc = 0, bits = 0;
    char *out;
    int olen = 0;

    if (max == 0) {
        max = ANC_DEFAULT_MAX_RESPONSE_SIZE;
    }
    while (i < len && is_b64_space(data[i])) {
        i++;
    }
    if (data == NULL || i == len) {
        return anc_error_set(p, err, ANC_E_INPUT, "empty SAMLResponse");
    }
    /* raw XML, possibly behind a UTF-8 byte order mark */
    if (data[i] == '<' || (len - i >= 4 && memcmp(data + i, "\xef\xbb\xbf<", 4) == 0)) {
        if (len - i > max) {
            return anc_error_set(p, err, ANC_E_TOO_LARGE,
                                 "%" APR_SIZE_T_FMT
                                 " bytes over the cap of %" APR_SIZE_T_FMT,
                                 len - i, max);
        }
        *xml = data + i;
        *xml_len = len - i;
        return ANC_OK;
    }
    /* base64 grows 4/3: refuse before decoding anything huge */
    if (len / 4 * 3 > max + 3) {
        return anc_error_set(p, err, ANC_E_TOO_LARGE,
                             "SAMLResponse over the cap of %" APR_SIZE_T_FMT " bytes",
                             max);
    }
    /* One pass: check and decode together (a ~9 KB form field per login;
     * a separate cleaning copy and apr_base64 cost as much again). */
    out = apr_palloc(p, (len - i) / 4 * 3 + 3);
    for (; i < len; i++) {
        int v = b64_value[(unsigned char)data[i]];

        if (v == B64_SPACE) {
            continue;
        }
        n++;
        if (v == B64_PAD) {
            if (++pad > 2) {
                return anc_error_set(p, err, ANC_E_INPUT, "bad base64 padding");
            }
            continue;
        }
        if (v == B64_BAD || pad > 0) {
            return anc_error_set(p, err, ANC_E_INPUT,
                                 "SAMLResponse is neither XML nor base64");
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[olen++] = (char)((acc >> bits) & 0xff);
        }
    }
    if (n % 4 != 0 || n == 0) {
        return anc_error_set(p, err, ANC_E_INPUT, "truncated base64");
    }
    if (olen <= 0) {
        return anc_error_set(p, err, ANC_E_INPUT, "empty SAMLResponse");
    }
    if ((apr_size_t)olen > max) {
        return anc_error_set(p, err, ANC_E_TOO_LARGE,
                             "%d bytes over the cap of %" APR_SIZE_T_FMT, olen, max);
    }
    out[olen] = '\0';
    *xml = out;
    *xml_len = (apr_size_t)olen;
    return ANC_OK;
}

/* ---- helpers ------------------------------------------------------------- */

static anc_status_t fail(verify_ctx_t *c, anc_status_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static anc_status_t fail(verify_ctx_t *c, anc_status_t code, const char *fmt, ...)
{
    va_list ap;
    char *detail;

    va_start(ap, fmt);
    detail = apr_pvsprintf(c->p, fmt, ap);
    va_end(ap);
    return anc_error_set(c->p, &c->err, code, "%s", detail);
}

/* A required xs:dateTime attribute. */
static anc_status_t time_attr(verify_ctx_t *c, xmlNodePtr node, const char *name,
                              int required, apr_time_t *t, int *present)
{
    const char *v = anc_xml_attr(c->p, node, name);

    *present = v != NULL;
    if (v == NULL) {
        if (required) {
            return fail(c, ANC_E_XML_SCHEMA, "%s without %s", (const char *)node->name,
                        name);
        }
        return ANC_OK;
    }
    if (anc_time_parse(v, t) != ANC_OK) {
        return fail(c, ANC_E_XML_SCHEMA, "%s/@%s '%s' is not an xs:dateTime",
                    (const char *)node->name, name, v);
    }
    return ANC_OK;
}

/* The one ds:Signature child of node, NULL when none; more than one is a
 * malformed message (XML Signature core 4.1 puts one per signed element). */
static anc_status_t find_signature(verify_ctx_t *c, xmlNodePtr node, xmlNodePtr *sig)
{
    int n = anc_xml_child_count(node, ANC_NS_DS, "Signature");

    if (n > 1) {
        return fail(c, ANC_E_SIG_REFERENCE, "%s carries %d Signatures",
                    (const char *)node->name, n);
    }
    *sig = anc_xml_child(node, ANC_NS_DS, "Signature");
    return ANC_OK;
}

static anc_status_t verify_sig(verify_ctx_t *c, xmlNodePtr elem, xmlNodePtr sig)
{
    anc_status_t rv = anc_dsig_verify(c->p, elem, sig, c->idp->signing_keys,
                                      c->v->sp->allow_sha1, &c->err);

    /* which metadata the keys came from: after a key rollover, the first
     * question is whether that source was refreshed */
    if (rv == ANC_E_SIG_INVALID && c->err != NULL && c->idp->source != NULL) {
        c->err->detail = apr_psprintf(
            c->p, "%s (keys from %s%s%s)", c->err->detail ? c->err->detail : "",
            c->idp->source, c->idp->source_version ? ", version " : "",
            c->idp->source_version ? c->idp->source_version : "");
    }
    return rv;
}

/* SAML profiles 4.1.4.2 (and 4.1.4.1 for the Response): an Issuer with a
 * Format must use the entity format; anything else names no IdP. */
static anc_status_t check_issuer_format(verify_ctx_t *c, xmlNodePtr issuer)
{
    const char *fmt = anc_xml_attr(c->p, issuer, "Format");

    if (fmt != NULL && strcmp(fmt, NAMEID_ENTITY) != 0) {
        return fail(c, ANC_E_ISSUER, "Issuer Format %s is not the entity format", fmt);
    }
    return ANC_OK;
}

/* A message cannot have been issued after it arrived (SAML core 3.2.2 and
 * 2.3.3 IssueInstant; profiles 4.1.4.3 ask the SP to check the freshness
 * of what it receives): an IssueInstant later than now plus the clock skew
 * is a message minted for the future, to be replayed later or by an IdP
 * whose clock is wrong. There is no general maximum age here: the
 * assertion's NotOnOrAfter bounds its use (unsolicited ones: see
 * max_unsolicited_age, checked with the replay cache). */
static anc_status_t check_issued(verify_ctx_t *c, const char *what, apr_time_t t)
{
    if (t > c->in->now + c->v->skew) {
        return fail(c, ANC_E_NOT_YET_VALID,
                    "%s IssueInstant is %" APR_TIME_T_FMT
                    " s in the future (clock skew %" APR_TIME_T_FMT " s)",
                    what, apr_time_sec(t - c->in->now), apr_time_sec(c->v->skew));
    }
    return ANC_OK;
}

/* ---- Response envelope ---------------------------------------------------- */

/* SAML core 3.2.2 (StatusResponseType), 2.2.5 (Issuer). */
static anc_status_t check_envelope(verify_ctx_t *c, const char **issuer_out)
{
    xmlNodePtr r = c->response;
    const char *version;
    xmlNodePtr issuer;
    apr_time_t t;
    int present;
    anc_status_t rv;

    if (!anc_xml_is(r, ANC_NS_SAMLP, "Response")) {
        return fail(c, ANC_E_NOT_RESPONSE, "root element is %s, not samlp:Response",
                    (const char *)r->name);
    }
    version = anc_xml_attr(c->p, r, "Version");
    if (version == NULL || strcmp(version, SAML_VERSION) != 0) {
        return fail(c, ANC_E_VERSION, "Response Version %s",
                    version ? version : "(none)");
    }
    c->response_id = anc_xml_attr(c->p, r, "ID");
    if (c->response_id == NULL || *c->response_id == '\0') {
        return fail(c, ANC_E_XML_SCHEMA, "Response without ID");
    }
    rv = time_attr(c, r, "IssueInstant", 1, &t, &present);
    if (rv != ANC_OK) {
        return rv;
    }
    c->response_issued = t; /* checked once the signature is (see run) */
    if (anc_xml_child_count(r, ANC_NS_SAML, "Issuer") > 1 ||
        anc_xml_child_count(r, ANC_NS_SAMLP, "Status") != 1) {
        return fail(c, ANC_E_XML_SCHEMA,
                    "Response needs one Status and at most one Issuer");
    }
    issuer = anc_xml_child(r, ANC_NS_SAML, "Issuer");
    if (issuer != NULL && check_issuer_format(c, issuer) != ANC_OK) {
        return c->err->code;
    }
    *issuer_out =
        issuer != NULL ? anc_xml_collapse(c->p, anc_xml_text(c->p, issuer)) : NULL;
    c->in_response_to = anc_xml_attr(c->p, r, "InResponseTo");
    return ANC_OK;
}

/* Chooses the IdP whose keys verify: the Response's Issuer, else the one the
 * caller expects, else the Assertion's Issuer, else the only one loaded. */
static anc_status_t pick_idp(verify_ctx_t *c, const char *resp_issuer,
                             xmlNodePtr assertion)
{
    const anc_verify_input_t *in = c->in;
    const char *name = resp_issuer;

    if (in->expected_idp != NULL && resp_issuer != NULL &&
        strcmp(in->expected_idp, resp_issuer) != 0) {
        return fail(c, ANC_E_ISSUER, "Response Issuer %s is not the expected IdP %s",
                    resp_issuer, in->expected_idp);
    }
    if (name == NULL) {
        name = in->expected_idp;
    }
    if (name == NULL && assertion != NULL) {
        xmlNodePtr iss = anc_xml_child(assertion, ANC_NS_SAML, "Issuer");

        if (iss != NULL) {
            name = anc_xml_collapse(c->p, anc_xml_text(c->p, iss));
        }
    }
    if (name == NULL && anc_trust_count(c->v->trust) == 1) {
        c->idp = anc_trust_first(c->v->trust);
        return ANC_OK;
    }
    if (name == NULL) {
        return fail(c, ANC_E_UNKNOWN_IDP, "no Issuer to select an IdP");
    }
    c->idp = anc_trust_find(c->v->trust, name);
    if (c->idp == NULL) {
        return fail(c, ANC_E_UNKNOWN_IDP, "Issuer %s is not in the metadata", name);
    }
    return ANC_OK;
}

/* SAML profiles 4.1.4.1 / core 3.2.2: Destination and InResponseTo. */
static anc_status_t check_binding(verify_ctx_t *c, int response_signed)
{
    const char *dest = anc_xml_attr(c->p, c->response, "Destination");
    const anc_verify_input_t *in = c->in;

    if (dest != NULL && strcmp(dest, c->v->sp->acs_url) != 0) {
        return fail(c, ANC_E_DESTINATION, "Destination %s is not %s", dest,
                    c->v->sp->acs_url);
    }
    /* SAML bindings 3.5.5.2: a signed POST message must carry Destination. */
    if (dest == NULL && response_signed) {
        return fail(c, ANC_E_DESTINATION, "signed Response without Destination");
    }
    if (c->in_response_to != NULL) {
        anc_status_t rv;

        if (in->request_lookup == NULL) {
            return fail(c, ANC_E_IN_RESPONSE_TO, "no outstanding request %s",
                        c->in_response_to);
        }
        rv = in->request_lookup(in->request_lookup_ctx, c->in_response_to, c->p, &c->err);
        if (rv != ANC_OK) {
            if (c->err == NULL || c->err->code != rv) {
                return fail(c, rv, "request %s: lookup failed", c->in_response_to);
            }
            return rv;
        }
    } else if (!c->v->sp->allow_unsolicited) {
        return fail(c, ANC_E_UNSOLICITED, "Response answers no request");
    }
    return ANC_OK;
}

/* ---- the Assertion ---------------------------------------------------------- */

/* SAML core 2.5.1: Conditions, 2.5.1.4 AudienceRestriction (every one must
 * name this SP); profiles 4.1.4.2 requires at least one. */
static anc_status_t check_conditions(verify_ctx_t *c, xmlNodePtr a, apr_time_t *horizon)
{
    int n = anc_xml_child_count(a, ANC_NS_SAML, "Conditions");
    xmlNodePtr cond = anc_xml_child(a, ANC_NS_SAML, "Conditions");
    xmlNodePtr ar;
    apr_time_t now = c->in->now, t;
    int present, restrictions = 0;
    anc_status_t rv;

    if (n > 1) {
        return fail(c, ANC_E_XML_SCHEMA, "Assertion has %d Conditions", n);
    }
    if (cond == NULL) {
        return fail(c, ANC_E_AUDIENCE,
                    "Assertion without Conditions/AudienceRestriction");
    }
    rv = time_attr(c, cond, "NotBefore", 0, &t, &present);
    if (rv != ANC_OK) {
        return rv;
    }
    if (present && now + c->v->skew < t) {
        return fail(c, ANC_E_NOT_YET_VALID, "Conditions NotBefore %s is in the future",
                    anc_time_format(c->p, t));
    }
    rv = time_attr(c, cond, "NotOnOrAfter", 0, &t, &present);
    if (rv != ANC_OK) {
        return rv;
    }
    if (present) {
        if (now - c->v->skew >= t) {
            return fail(c, ANC_E_EXPIRED, "Conditions NotOnOrAfter %s has passed",
                        anc_time_format(c->p, t));
        }
        *horizon = t;
    }
    /* SAML core 2.5.1: a condition that is not understood makes the
     * assertion Indeterminate, and it is not relied upon. Understood:
     * AudienceRestriction (below), OneTimeUse (2.5.1.5: the replay cache
     * already allows one use) and ProxyRestriction (2.5.1.6: only limits
     * assertions this SP would issue, which it never does). */
    for (ar = anc_xml_first_elem(cond); ar != NULL; ar = anc_xml_next_elem(ar)) {
        if (!anc_xml_is(ar, ANC_NS_SAML, "AudienceRestriction") &&
            !anc_xml_is(ar, ANC_NS_SAML, "OneTimeUse") &&
            !anc_xml_is(ar, ANC_NS_SAML, "ProxyRestriction")) {
            return fail(c, ANC_E_XML_SCHEMA, "condition %s is not understood",
                        (const char *)ar->name);
        }
    }
    for (ar = anc_xml_child(cond, ANC_NS_SAML, "AudienceRestriction"); ar != NULL;
         ar = anc_xml_next(ar, ANC_NS_SAML, "AudienceRestriction")) {
        xmlNodePtr aud;
        const char *seen = NULL;
        int found = 0;

        restrictions++;
        for (aud = anc_xml_child(ar, ANC_NS_SAML, "Audience"); aud != NULL && !found;
             aud = anc_xml_next(aud, ANC_NS_SAML, "Audience")) {
            const char *v = anc_xml_collapse(c->p, anc_xml_text(c->p, aud));

            found = strcmp(v, c->v->sp->entity_id) == 0;
            /* the admin's clue: which audience the IdP thinks we are */
            seen = seen ? apr_pstrcat(c->p, seen, " ", v, NULL) : v;
        }
        if (!found) {
            return fail(c, ANC_E_AUDIENCE,
                        "an AudienceRestriction does not name %s (it names: %s)",
                        c->v->sp->entity_id, seen ? seen : "nothing");
        }
    }
    if (restrictions == 0) {
        return fail(c, ANC_E_AUDIENCE, "Assertion without AudienceRestriction");
    }
    return ANC_OK;
}

/* One bearer SubjectConfirmation per SAML profiles 4.1.4.2: Recipient is the
 * ACS URL, NotOnOrAfter in the future, no NotBefore, InResponseTo equal to
 * the Response's. Returns ANC_OK with its NotOnOrAfter, or the reason. */
static anc_status_t check_confirmation(verify_ctx_t *c, xmlNodePtr sc, apr_time_t *nooa)
{
    xmlNodePtr scd = anc_xml_child(sc, ANC_NS_SAML, "SubjectConfirmationData");
    const char *recipient, *irt;
    apr_time_t t;
    int present;
    anc_status_t rv;

    if (scd == NULL) {
        return fail(c, ANC_E_SUBJECT_CONFIRMATION, "bearer confirmation without data");
    }
    recipient = anc_xml_attr(c->p, scd, "Recipient");
    if (recipient == NULL || strcmp(recipient, c->v->sp->acs_url) != 0) {
        return fail(c, ANC_E_RECIPIENT, "Recipient %s is not %s",
                    recipient != NULL ? recipient : "(none)", c->v->sp->acs_url);
    }
    if (anc_xml_attr(c->p, scd, "NotBefore") != NULL) {
        return fail(c, ANC_E_SUBJECT_CONFIRMATION,
                    "bearer SubjectConfirmationData with NotBefore");
    }
    rv = time_attr(c, scd, "NotOnOrAfter", 0, &t, &present);
    if (rv != ANC_OK) {
        return rv;
    }
    if (!present) {
        return fail(c, ANC_E_SUBJECT_CONFIRMATION,
                    "bearer SubjectConfirmationData without NotOnOrAfter");
    }
    if (c->in->now - c->v->skew >= t) {
        return fail(c, ANC_E_EXPIRED,
                    "SubjectConfirmationData NotOnOrAfter %s has passed",
                    anc_time_format(c->p, t));
    }
    irt = anc_xml_attr(c->p, scd, "InResponseTo");
    if (c->in_response_to != NULL &&
        (irt == NULL || strcmp(irt, c->in_response_to) != 0)) {
        return fail(c, ANC_E_IN_RESPONSE_TO,
                    "SubjectConfirmationData InResponseTo %s is not %s",
                    irt != NULL ? irt : "(none)", c->in_response_to);
    }
    if (c->in_response_to == NULL && irt != NULL) {
        return fail(c, ANC_E_IN_RESPONSE_TO,
                    "SubjectConfirmationData answers %s but the Response answers none",
                    irt);
    }
    *nooa = t;
    return ANC_OK;
}

/* SAML core 2.4 Subject, profiles 4.1.4.2 bearer confirmation. */
static anc_status_t check_subject(verify_ctx_t *c, xmlNodePtr a, anc_assertion_t *rec,
                                  apr_time_t *horizon)
{
    xmlNodePtr subj = anc_xml_child(a, ANC_NS_SAML, "Subject");
    xmlNodePtr nid, sc;
    anc_status_t first_rv = ANC_OK;
    anc_error_t *first_err = NULL;
    apr_time_t latest = 0;
    int confirmed = 0;

    if (subj == NULL || anc_xml_child_count(a, ANC_NS_SAML, "Subject") != 1) {
        return fail(c, ANC_E_NO_NAMEID, "Assertion without one Subject");
    }
    nid = anc_xml_child(subj, ANC_NS_SAML, "NameID");
    if (nid == NULL || anc_xml_child_count(subj, ANC_NS_SAML, "NameID") != 1) {
        return fail(c, ANC_E_NO_NAMEID, "Subject without one NameID%s",
                    anc_xml_child(subj, ANC_NS_SAML, "EncryptedID") != NULL
                        ? " (EncryptedID is not supported)"
                        : "");
    }
    /* SAML core 2.2.3: NameID is xs:string simple content; an element
     * inside it is not part of the value, nor silently joined to it. */
    if (anc_xml_first_elem(nid) != NULL) {
        return fail(c, ANC_E_XML_SCHEMA, "NameID has element content");
    }
    /* whole text: a comment inside the value cannot truncate it */
    rec->name_id.value = anc_xml_text(c->p, nid);
    if (*rec->name_id.value == '\0') {
        return fail(c, ANC_E_NO_NAMEID, "empty NameID");
    }
    rec->name_id.format = anc_xml_attr(c->p, nid, "Format");
    rec->name_id.name_qualifier = anc_xml_attr(c->p, nid, "NameQualifier");
    rec->name_id.sp_name_qualifier = anc_xml_attr(c->p, nid, "SPNameQualifier");

    for (sc = anc_xml_child(subj, ANC_NS_SAML, "SubjectConfirmation"); sc != NULL;
         sc = anc_xml_next(sc, ANC_NS_SAML, "SubjectConfirmation")) {
        const char *method = anc_xml_attr(c->p, sc, "Method");
        apr_time_t nooa = 0;
        anc_status_t rv;

        if (method == NULL || strcmp(method, CM_BEARER) != 0) {
            continue;
        }
        rv = check_confirmation(c, sc, &nooa);
        if (rv == ANC_OK) {
            /* SAML profiles 4.1.4.5: the ID is kept while the assertion
             * could be accepted again, i.e. until the last good bearer
             * confirmation ends, not the first one found. */
            if (!confirmed || nooa > latest) {
                latest = nooa;
            }
            confirmed = 1;
            continue;
        }
        if (first_rv == ANC_OK) {
            first_rv = rv;
            first_err = c->err;
        }
    }
    if (confirmed) {
        if (*horizon == 0 || latest < *horizon) {
            *horizon = latest;
        }
        c->err = NULL;
        return ANC_OK;
    }
    if (first_rv != ANC_OK) {
        c->err = first_err;
        return first_rv;
    }
    return fail(c, ANC_E_SUBJECT_CONFIRMATION, "no bearer SubjectConfirmation");
}

/* SAML core 2.7.2 AuthnStatement, 2.7.2.2 AuthnContext. Every statement's
 * class, in document order: a policy must see all of them; and every
 * statement's own instant and SessionIndex beside its class, so that
 * freshness is judged on the statement whose class is used (a fresh
 * password statement must not make an old MFA statement look fresh) and
 * a logout can name every session. */
static anc_status_t read_authn_statements(verify_ctx_t *c, xmlNodePtr a,
                                          anc_assertion_t *rec)
{
    xmlNodePtr st;
    int count = 0;

    rec->authn_context_class_refs = apr_array_make(c->p, 2, sizeof(const char *));
    rec->authenticating_authorities = apr_array_make(c->p, 1, sizeof(const char *));
    rec->authn_statements = apr_array_make(c->p, 2, sizeof(anc_authn_statement_t));
    for (st = anc_xml_child(a, ANC_NS_SAML, "AuthnStatement"); st != NULL;
         st = anc_xml_next(st, ANC_NS_SAML, "AuthnStatement")) {
        xmlNodePtr ctx, e;
        apr_time_t t;
        int present;
        anc_status_t rv;
        anc_authn_statement_t *one = apr_array_push(rec->authn_statements);

        memset(one, 0, sizeof(*one));
        one->class_refs = apr_array_make(c->p, 1, sizeof(const char *));
        rv = time_attr(c, st, "AuthnInstant", 1, &t, &present);
        if (rv != ANC_OK) {
            return rv;
        }
        one->authn_instant = t;
        one->authn_instant_text = anc_xml_attr(c->p, st, "AuthnInstant");
        one->session_index = anc_xml_attr(c->p, st, "SessionIndex");
        /* the record's single instant is the oldest statement's: whoever
         * uses it alone errs on the stale side */
        if (count == 0 || t < rec->authn_instant) {
            rec->authn_instant = t;
            rec->authn_instant_text = one->authn_instant_text;
        }
        if (rec->session_index == NULL) {
            rec->session_index = one->session_index;
        }
        rv = time_attr(c, st, "SessionNotOnOrAfter", 0, &t, &present);
        if (rv != ANC_OK) {
            return rv;
        }
        if (present) {
            /* SAML core 2.7.2: the session must end by then */
            if (c->in->now - c->v->skew >= t) {
                return fail(c, ANC_E_EXPIRED, "SessionNotOnOrAfter %s has passed",
                            anc_time_format(c->p, t));
            }
            if (rec->session_not_on_or_after == 0 || t < rec->session_not_on_or_after) {
                rec->session_not_on_or_after = t;
            }
            one->session_not_on_or_after = t;
        }
        ctx = anc_xml_child(st, ANC_NS_SAML, "AuthnContext");
        if (ctx == NULL) {
            return fail(c, ANC_E_XML_SCHEMA, "AuthnStatement without AuthnContext");
        }
        for (e = anc_xml_first_elem(ctx); e != NULL; e = anc_xml_next_elem(e)) {
            /* SAML core 2.7.2.2: ClassRef, DeclRef and AuthenticatingAuthority
             * are xs:anyURI simple content: no element inside. */
            if (anc_xml_first_elem(e) != NULL &&
                (anc_xml_is(e, ANC_NS_SAML, "AuthnContextClassRef") ||
                 anc_xml_is(e, ANC_NS_SAML, "AuthnContextDeclRef") ||
                 anc_xml_is(e, ANC_NS_SAML, "AuthenticatingAuthority"))) {
                return fail(c, ANC_E_XML_SCHEMA, "%s has element content",
                            (const char *)e->name);
            }
            if (anc_xml_is(e, ANC_NS_SAML, "AuthnContextClassRef")) {
                const char *v = anc_xml_collapse(c->p, anc_xml_text(c->p, e));

                /* A class with a space inside would read as two classes in
                 * AUTHN_CONTEXT_CLASS; no URI holds one (RFC 3986 2). */
                if (anc_xml_has_space_or_control(v)) {
                    return fail(c, ANC_E_XML_SCHEMA,
                                "AuthnContextClassRef '%s' is not a URI (white space "
                                "or a control character inside)",
                                v);
                }
                if (*v != '\0') {
                    APR_ARRAY_PUSH(rec->authn_context_class_refs, const char *) = v;
                    APR_ARRAY_PUSH(one->class_refs, const char *) = v;
                }
            } else if (anc_xml_is(e, ANC_NS_SAML, "AuthnContextDeclRef")) {
                if (rec->authn_context_decl_ref == NULL) {
                    rec->authn_context_decl_ref =
                        anc_xml_collapse(c->p, anc_xml_text(c->p, e));
                }
            } else if (anc_xml_is(e, ANC_NS_SAML, "AuthenticatingAuthority")) {
                APR_ARRAY_PUSH(rec->authenticating_authorities, const char *) =
                    anc_xml_collapse(c->p, anc_xml_text(c->p, e));
            }
        }
        count++;
    }
    if (count == 0) {
        return fail(c, ANC_E_NO_AUTHN_STATEMENT, "Assertion without AuthnStatement");
    }
    return ANC_OK;
}

/* SAML core 2.7.3 AttributeStatement. */
static void read_attributes(verify_ctx_t *c, xmlNodePtr a, anc_assertion_t *rec)
{
    xmlNodePtr st, at, val;

    rec->attributes = apr_array_make(c->p, 4, sizeof(anc_attribute_t));
    for (st = anc_xml_child(a, ANC_NS_SAML, "AttributeStatement"); st != NULL;
         st = anc_xml_next(st, ANC_NS_SAML, "AttributeStatement")) {
        for (at = anc_xml_child(st, ANC_NS_SAML, "Attribute"); at != NULL;
             at = anc_xml_next(at, ANC_NS_SAML, "Attribute")) {
            anc_attribute_t *attr;
            const char *name = anc_xml_attr(c->p, at, "Name");

            if (name == NULL) {
                continue;
            }
            attr = apr_array_push(rec->attributes);
            attr->name = name;
            attr->name_format = anc_xml_attr(c->p, at, "NameFormat");
            attr->friendly_name = anc_xml_attr(c->p, at, "FriendlyName");
            attr->values = apr_array_make(c->p, 1, sizeof(const char *));
            for (val = anc_xml_child(at, ANC_NS_SAML, "AttributeValue"); val != NULL;
                 val = anc_xml_next(val, ANC_NS_SAML, "AttributeValue")) {
                APR_ARRAY_PUSH(attr->values, const char *) = anc_xml_text(c->p, val);
            }
        }
    }
}

static anc_status_t check_assertion(verify_ctx_t *c, xmlNodePtr a, anc_assertion_t *rec)
{
    const char *version = anc_xml_attr(c->p, a, "Version");
    xmlNodePtr issuer;
    const char *iss;
    apr_time_t t;
    apr_time_t horizon = 0;
    int present;
    anc_status_t rv;

    /* SAML core 2.3.3 */
    if (version == NULL || strcmp(version, SAML_VERSION) != 0) {
        return fail(c, ANC_E_VERSION, "Assertion Version %s",
                    version ? version : "(none)");
    }
    rec->assertion_id = anc_xml_attr(c->p, a, "ID");
    if (rec->assertion_id == NULL || *rec->assertion_id == '\0') {
        return fail(c, ANC_E_XML_SCHEMA, "Assertion without ID");
    }
    rv = time_attr(c, a, "IssueInstant", 1, &t, &present);
    if (rv != ANC_OK) {
        return rv;
    }
    rv = check_issued(c, "Assertion", t);
    if (rv != ANC_OK) {
        return rv;
    }
    c->assertion_issued = t;
    /* SAML profiles 4.1.4.2: the Assertion's Issuer is the IdP. */
    issuer = anc_xml_child(a, ANC_NS_SAML, "Issuer");
    if (issuer == NULL || anc_xml_child_count(a, ANC_NS_SAML, "Issuer") != 1) {
        return fail(c, ANC_E_XML_SCHEMA, "Assertion without one Issuer");
    }
    rv = check_issuer_format(c, issuer);
    if (rv != ANC_OK) {
        return rv;
    }
    iss = anc_xml_collapse(c->p, anc_xml_text(c->p, issuer));
    if (strcmp(iss, c->idp->entity_id) != 0) {
        return fail(c, ANC_E_ISSUER, "Assertion Issuer %s is not %s", iss,
                    c->idp->entity_id);
    }
    rec->idp = c->idp->entity_id;
    rv = check_conditions(c, a, &horizon);
    if (rv != ANC_OK) {
        return rv;
    }
    rv = check_subject(c, a, rec, &horizon);
    if (rv != ANC_OK) {
        return rv;
    }
    rv = read_authn_statements(c, a, rec);
    if (rv != ANC_OK) {
        return rv;
    }
    read_attributes(c, a, rec);
    rec->not_on_or_after = horizon;
    rec->response_id = c->response_id;
    rec->in_response_to = c->in_response_to;
    return ANC_OK;
}

/* ---- Status ------------------------------------------------------------------ */

static anc_status_t read_status(verify_ctx_t *c, anc_idp_status_t *st, int *success)
{
    xmlNodePtr status = anc_xml_child(c->response, ANC_NS_SAMLP, "Status");
    xmlNodePtr code = anc_xml_child(status, ANC_NS_SAMLP, "StatusCode");
    xmlNodePtr code2, msg;

    st->status_code = code != NULL ? anc_xml_attr(c->p, code, "Value") : NULL;
    if (st->status_code == NULL) {
        return fail(c, ANC_E_XML_SCHEMA, "Status without StatusCode Value");
    }
    code2 = anc_xml_child(code, ANC_NS_SAMLP, "StatusCode");
    st->status_code2 = code2 != NULL ? anc_xml_attr(c->p, code2, "Value") : NULL;
    msg = anc_xml_child(status, ANC_NS_SAMLP, "StatusMessage");
    st->status_message = msg != NULL ? anc_xml_text(c->p, msg) : NULL;
    st->in_response_to = c->in_response_to;
    st->response_id = c->response_id;
    st->idp = c->idp != NULL ? c->idp->entity_id : NULL;
    *success = strcmp(st->status_code, STATUS_SUCCESS) == 0;
    return ANC_OK;
}

/* The Assertion to read: a itself, or what its EncryptedAssertion holds,
 * with its signature verified and its signed-ness checked. */
static anc_status_t open_assertion(verify_ctx_t *c, xmlNodePtr *ap, anc_assertion_t *rec,
                                   int response_signed, int *malleable)
{
    const anc_verifier_t *v = c->v;
    xmlNodePtr a = *ap, asig = NULL;
    int assertion_signed = 0;
    anc_status_t rv;

    *malleable = 0;
    if (anc_xml_is(a, ANC_NS_SAML, "EncryptedAssertion")) {
        xmlNodePtr plain;

        if (v->sp->sp_key == NULL) {
            return fail(c, ANC_E_NO_SP_KEY, "EncryptedAssertion but no SP key");
        }
        rv = anc_decrypt_element(c->p, a, v->sp->sp_key, v->max_size, ANC_MAX_XML_DEPTH,
                                 &plain, malleable, &c->err);
        if (rv != ANC_OK) {
            return rv;
        }
        if (!anc_xml_is(plain, ANC_NS_SAML, "Assertion")) {
            return fail(c, ANC_E_DECRYPT,
                        "EncryptedAssertion does not hold an Assertion");
        }
        rv = anc_xml_ids_disjoint(c->p, c->doc, plain->doc, &c->err);
        if (rv != ANC_OK) {
            return rv;
        }
        a = plain;
        rec->was_encrypted = 1;
    }
    *ap = a;
    rv = find_signature(c, a, &asig);
    if (rv != ANC_OK) {
        return rv;
    }
    if (asig != NULL) {
        rv = verify_sig(c, a, asig);
        if (rv != ANC_OK) {
            return rv;
        }
        assertion_signed = 1;
    }
    /* SAML profiles 4.1.3.5: the assertion must be signed, by itself or by
     * the Response around it (which covers a as one of its children). */
    if (v->sp->require_signed_assertion && !assertion_signed) {
        return fail(c, ANC_E_SIG_MISSING, "the Assertion itself is not signed");
    }
    if (!assertion_signed && !response_signed) {
        return fail(c, ANC_E_SIG_MISSING,
                    "neither the Response nor the Assertion is signed");
    }
    return ANC_OK;
}

/* ---- the whole verification ----------------------------------------------------- */

static anc_status_t run(verify_ctx_t *c, anc_verify_result_t *res)
{
    const anc_verifier_t *v = c->v;
    const char *xml;
    apr_size_t xml_len;
    const char *resp_issuer = NULL;
    xmlNodePtr rsig = NULL, a = NULL, child;
    int n_assert = 0, response_signed = 0, malleable = 0, success = 0;
    anc_idp_status_t *st;
    anc_assertion_t *rec;
    anc_status_t rv;

    rv = anc_response_decode(c->p, c->in->data, c->in->len, v->max_size, &xml, &xml_len,
                             &c->err);
    if (rv != ANC_OK) {
        return rv;
    }
    rv = anc_xml_parse(c->p, xml, xml_len, v->max_size, ANC_MAX_XML_DEPTH, &c->doc,
                       &c->err);
    if (rv != ANC_OK) {
        return rv;
    }
    c->response = xmlDocGetRootElement(c->doc);
    rv = check_envelope(c, &resp_issuer);
    if (rv != ANC_OK) {
        return rv;
    }
    /* SAML core 3.2.2: the assertions of the Response are its direct
     * children; one element is used, and nothing from anywhere else. */
    for (child = anc_xml_first_elem(c->response); child != NULL;
         child = anc_xml_next_elem(child)) {
        if (anc_xml_is(child, ANC_NS_SAML, "Assertion") ||
            anc_xml_is(child, ANC_NS_SAML, "EncryptedAssertion")) {
            n_assert++;
            a = child;
        }
    }
    rv = pick_idp(c, resp_issuer,
                  (a != NULL && anc_xml_is(a, ANC_NS_SAML, "Assertion")) ? a : NULL);
    if (rv != ANC_OK) {
        return rv;
    }
    if (resp_issuer != NULL && strcmp(resp_issuer, c->idp->entity_id) != 0) {
        return fail(c, ANC_E_ISSUER, "Response Issuer %s is not %s", resp_issuer,
                    c->idp->entity_id);
    }
    /* SAML profiles 4.1.4.2: Response and Assertion come from one IdP;
     * checked before any signature so the reason names the real fault. */
    if (resp_issuer != NULL && a != NULL && anc_xml_is(a, ANC_NS_SAML, "Assertion")) {
        xmlNodePtr ai = anc_xml_child(a, ANC_NS_SAML, "Issuer");
        const char *ais =
            ai != NULL ? anc_xml_collapse(c->p, anc_xml_text(c->p, ai)) : NULL;

        if (ais != NULL && strcmp(ais, resp_issuer) != 0) {
            return fail(c, ANC_E_ISSUER, "Assertion Issuer %s is not the Response's %s",
                        ais, resp_issuer);
        }
    }
    rv = find_signature(c, c->response, &rsig);
    if (rv != ANC_OK) {
        return rv;
    }
    if (rsig != NULL) {
        rv = verify_sig(c, c->response, rsig);
        if (rv != ANC_OK) {
            return rv;
        }
        response_signed = 1;
    }
    rv = check_binding(c, response_signed);
    if (rv != ANC_OK) {
        return rv;
    }
    /* after the signature, so a forged message is refused as forged */
    rv = check_issued(c, "Response", c->response_issued);
    if (rv != ANC_OK) {
        return rv;
    }
    st = apr_pcalloc(c->p, sizeof(*st));
    rv = read_status(c, st, &success);
    if (rv != ANC_OK) {
        return rv;
    }
    if (!success) {
        /* SAML core 3.2.2: an error status carries no assertion we use. */
        if (n_assert > 0) {
            return fail(c, ANC_E_STATUS_WITH_ASSERTION, "status %s with %d assertion(s)",
                        st->status_code, n_assert);
        }
        rv = anc_structure_check(c->p, c->response, &c->err);
        if (rv != ANC_OK) {
            return rv;
        }
        res->verdict = ANC_VERDICT_IDP_ERROR;
        res->status = st;
        return ANC_OK;
    }
    if (n_assert == 0) {
        return fail(c, ANC_E_NO_ASSERTION, "Success without an Assertion");
    }
    if (n_assert > 1) {
        return fail(c, ANC_E_MULTIPLE_ASSERTIONS, "Response carries %d assertions",
                    n_assert);
    }
    rec = apr_pcalloc(c->p, sizeof(*rec));
    rv = open_assertion(c, &a, rec, response_signed, &malleable);
    if (rv != ANC_OK) {
        /* CBC plaintext that no signature has vouched for yet: if its
         * refusals had their own reasons (not XML, DOCTYPE, duplicate ID,
         * bad signature...), a forger could flip ciphertext bits and read
         * the plaintext off the answers, as off a padding oracle (Jager and
         * Somorovsky, "How to Break XML Encryption", CCS 2011; XML
         * Encryption 1.1, 6.1). One reason for all; the detail keeps the
         * real one for the log. */
        if (malleable && !response_signed && rv != ANC_E_DECRYPT) {
            return fail(c, ANC_E_DECRYPT, "decrypted assertion refused (%s: %s)",
                        anc_reason(rv),
                        c->err != NULL && c->err->detail != NULL ? c->err->detail : "");
        }
        return rv;
    }
    /* SAML core 3.2.2, 2.3.3: the Response and the Assertion are what the
     * OASIS schemas allow, and nothing else, even in parts no check reads
     * (anc_structure.h). After every signature (validation registers more
     * IDs, see there; a forgery costs no validation), before the checks of
     * the Assertion's content, so a repeated or misplaced part is refused
     * as such rather than as whatever a lookup makes of it. */
    rv = anc_structure_check(c->p, c->response, &c->err);
    if (rv == ANC_OK && rec->was_encrypted) {
        rv = anc_structure_check(c->p, a, &c->err);
    }
    if (rv != ANC_OK) {
        return rv;
    }
    rv = check_assertion(c, a, rec);
    if (rv != ANC_OK) {
        return rv;
    }
    /* SAML profiles 4.1.4.5: one use per assertion ID, remembered until it
     * could no longer be accepted (its horizon plus the clock skew). */
    if (c->in->replay != NULL) {
        apr_time_t expires =
            (rec->not_on_or_after != 0 ? rec->not_on_or_after : c->in->now) + v->skew;

        /* An unsolicited assertion has no pending request to be taken once:
         * only the replay record stops its reuse, and a store of bounded
         * size (shmcb) may drop records before a long NotOnOrAfter. With a
         * maximum age the SP remembers it only that long, and refuses it
         * afterwards (profiles 4.1.4.3 leave freshness to the SP). */
        if (c->in_response_to == NULL && v->sp->max_unsolicited_age > 0) {
            apr_time_t limit = c->assertion_issued +
                               apr_time_from_sec(v->sp->max_unsolicited_age) + v->skew;

            if (c->in->now >= limit) {
                return fail(c, ANC_E_EXPIRED,
                            "unsolicited assertion issued %" APR_TIME_T_FMT
                            " s ago (maximum %d s, clock skew %" APR_TIME_T_FMT " s)",
                            apr_time_sec(c->in->now - c->assertion_issued),
                            v->sp->max_unsolicited_age, apr_time_sec(v->skew));
            }
            if (limit < expires) {
                expires = limit;
            }
        }

        rv = c->in->replay->check_and_insert(c->in->replay->ctx, rec->assertion_id,
                                             expires, c->in->now, c->p, &c->err);
        if (rv != ANC_OK) {
            if (c->err == NULL || c->err->code != rv) {
                return fail(c, rv, "replay cache refused %s", rec->assertion_id);
            }
            return rv;
        }
    }
    res->verdict = ANC_VERDICT_ACCEPT;
    res->assertion = rec;
    return ANC_OK;
}

anc_status_t anc_response_verify(apr_pool_t *p, const anc_verifier_t *verifier,
                                 const anc_verify_input_t *in,
                                 anc_verify_result_t **result)
{
    anc_verify_result_t *res = apr_pcalloc(p, sizeof(*res));
    verify_ctx_t c;
    anc_status_t rv;

    memset(&c, 0, sizeof(c));
    c.p = p;
    c.v = verifier;
    c.in = in;
    *result = res;
    if (verifier == NULL || in == NULL) {
        rv = anc_error_set(p, &c.err, ANC_E_CONFIG, "no verifier or input");
    } else {
        rv = run(&c, res);
    }
    if (rv != ANC_OK) {
        if (c.err == NULL || c.err->code != rv) {
            anc_error_set(p, &c.err, rv, "%s", "rejected");
        }
        res->verdict = ANC_VERDICT_REJECT;
        res->assertion = NULL;
        res->status = NULL;
        res->error = c.err;
    }
    return rv;
}
