/*
 * anc_session_vars.c - the request variables of a session, computed once
 * when the session record is encoded (at login) rather than on every
 * request: the per-request path then only walks a block of NUL-terminated
 * strings that came out of the cache (no date formatting, no joining, no
 * name folding).
 *
 * The names are the module's documented contract (README "Variables"):
 * changing one here changes what every application behind the module sees.
 */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "anc_session.h"

#define ATTR_PREFIX "AUTHN_CONTEXT_ATTR_"

typedef struct {
    const char *name;
    const char *value;
} var_t;

static void add(apr_array_header_t *vars, const char *name, const char *value)
{
    var_t *v;

    if (value == NULL) {
        return;
    }
    v = apr_array_push(vars);
    v->name = name;
    v->value = value;
}

/* AUTHN_CONTEXT_ATTR_<name>: ASCII letters and digits kept (upper case),
 * every other byte '_', so the name is a valid environment variable and
 * header name, and the decoder's check (anc_session.c) accepts it whatever
 * locale another module set. The FriendlyName, when there is one, reads
 * better than a URI. */
static const char *attr_var_name(apr_pool_t *p, const anc_attribute_t *a)
{
    const char *src = a->friendly_name && *a->friendly_name ? a->friendly_name : a->name;
    char *n = apr_pstrcat(p, ATTR_PREFIX, src, NULL);
    char *q;

    for (q = n + sizeof(ATTR_PREFIX) - 1; *q; q++) {
        char c = *q;

        if (c >= 'a' && c <= 'z') {
            *q = (char)(c - 'a' + 'A');
        } else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
            *q = '_';
        }
    }
    return n;
}

/* Several values: ';'-separated, as the Shibboleth SP does. */
static const char *attr_values(apr_pool_t *p, const anc_attribute_t *a)
{
    return a->values && a->values->nelts ? apr_array_pstrcat(p, a->values, ';') : "";
}

static void add_attribute(apr_pool_t *p, apr_array_header_t *vars,
                          const anc_attribute_t *a)
{
    const char *name = attr_var_name(p, a);
    const char *value = attr_values(p, a);
    int i;

    /* Two attributes that fold to one name (mail and MAIL, or a Name and
     * another's FriendlyName) share one variable: values joined, first
     * attribute first. */
    for (i = 0; i < vars->nelts; i++) {
        var_t *v = &APR_ARRAY_IDX(vars, i, var_t);

        if (!strcmp(v->name, name)) {
            v->value = apr_pstrcat(p, v->value, ";", value, NULL);
            return;
        }
    }
    add(vars, name, value);
}

anc_status_t anc_session_variables(apr_pool_t *p, const anc_session_t *s,
                                   const char **block, apr_size_t *len, anc_error_t **err)
{
    apr_array_header_t *vars = apr_array_make(p, 24, sizeof(var_t));
    const char *classes, *instant;
    apr_size_t total = 0, n;
    char *out, *q;
    int i;

    if (s == NULL || s->attributes_skipped) {
        return anc_error_set(p, err, ANC_E_INPUT,
                             "session decoded without its attributes has no variables");
    }
    classes =
        s->classes && s->classes->nelts ? apr_array_pstrcat(p, s->classes, ' ') : "";
    instant = s->authn_instant ? anc_time_format(p, s->authn_instant) : NULL;
    add(vars, "AUTHN_CONTEXT_CLASS", classes);
    add(vars, "AUTHN_CONTEXT_INSTANT", instant);
    add(vars, "AUTHN_CONTEXT_IDP", s->idp);
    add(vars, "AUTHN_CONTEXT_SESSION_INDEX", s->session_index);
    add(vars, "AUTHN_CONTEXT_NAMEID", s->name_id.value);
    add(vars, "AUTHN_CONTEXT_NAMEID_FORMAT", s->name_id.format);
    add(vars, "AUTHN_CONTEXT_EXPIRES", anc_time_format(p, s->expires));
    /* aliases for applications written for the Shibboleth SP */
    add(vars, "Shib-AuthnContext-Class", classes);
    add(vars, "Shib-Authentication-Instant", instant);
    add(vars, "Shib-Identity-Provider", s->idp);
    add(vars, "Shib-Session-Index", s->session_index);
    for (i = 0; s->attributes && i < s->attributes->nelts; i++) {
        add_attribute(p, vars, &APR_ARRAY_IDX(s->attributes, i, anc_attribute_t));
    }

    for (i = 0; i < vars->nelts; i++) {
        const var_t *v = &APR_ARRAY_IDX(vars, i, var_t);
        total += strlen(v->name) + 1 + strlen(v->value) + 1;
    }
    out = q = apr_palloc(p, total + 1);
    for (i = 0; i < vars->nelts; i++) {
        const var_t *v = &APR_ARRAY_IDX(vars, i, var_t);

        n = strlen(v->name) + 1;
        memcpy(q, v->name, n);
        q += n;
        n = strlen(v->value) + 1;
        memcpy(q, v->value, n);
        q += n;
    }
    *q = '\0';
    *block = out;
    *len = total;
    return ANC_OK;
}

void anc_session_vars_each(const anc_session_t *s, anc_session_var_fn fn, void *ctx)
{
    int i;

    /* the pairs the decoder found while checking the block */
    for (i = 0; s->var_pairs && i + 1 < s->var_pairs->nelts; i += 2) {
        fn(ctx, APR_ARRAY_IDX(s->var_pairs, i, const char *),
           APR_ARRAY_IDX(s->var_pairs, i + 1, const char *));
    }
}
