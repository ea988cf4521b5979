"""The attack suite through a live httpd ACS.

Every attack of tests/lib/attacks.py whose transports include "http" is
minted for the live server (Destination/Recipient http://127.0.0.1:<port>/
saml/acs, Audience its entityID), answers a real outstanding request (the
AuthnRequest ID parsed from GET /saml/login, posted with the browser-binding
cookie that login set) and is POSTed to /saml/acs. A rejection must be a
4xx, with one of the attack's allowed reasons logged (reason=...) for that
very request, no session cookie set, and the client's cookie jar still sent
to the IdP by the protected page. The value tricks (comments, char refs,
whitespace, look-alike classes) must open a session with exactly the signed
values, and a look-alike class must not open the MFA location.

    cd tests && ANC_BUILD_DIR=$PWD/../build /usr/bin/python3 -m pytest -q security
"""
import json
import os
import urllib.parse

import pytest

import attacks as A
import samlforge as sf
from livehttpd import assert_no_session, assert_rejected, attack_context

HTTP_ATTACKS = [a for a in A.ATTACKS if "http" in a.transports]

# what the live ACS answered per attack: ANC_LIVESEC_TABLE=<file> writes
# it as JSON at the end (used to refresh the table in README.md)
OBSERVED = {}


@pytest.fixture(scope="module", autouse=True)
def _observed_table():
    yield
    out = os.environ.get("ANC_LIVESEC_TABLE")
    if out:
        with open(out, "w") as f:
            json.dump(OBSERVED, f, indent=1, sort_keys=True)


def option_set(attack):
    o = attack.options
    if o.get("allow_unsolicited"):
        return "unsolicited"
    if o.get("allow_sha1"):
        return "sha1"
    if o.get("require_signed_assertion"):
        return "signed-assertion"
    if o.get("max_size"):
        assert o["max_size"] == 1024
        return "small"
    return "main"


def session_env(sp, client):
    r = client.get("/private/vars")
    assert r.status == 200, (r.status, r.location, r.r.text[:300])
    return json.loads(r.r.text)


def check_accepted(sp, client, attack, ctx):
    """The session holds exactly the signed values (the CLI record's
    checks, read from the CGI environment), and only a real MFA class opens
    the MFA location."""
    env = session_env(sp, client)
    # split on the module's separator only (str.split() would split at NBSP)
    classes = [c for c in env.get("AUTHN_CONTEXT_CLASS", "").split(" ") if c]
    rec = {"name_id": {"value": env.get("AUTHN_CONTEXT_NAMEID")},
           "authn_context_class_refs": classes}
    assert env.get("REMOTE_USER") == env.get("AUTHN_CONTEXT_NAMEID")
    if attack.name == "class-only-in-declref":
        # the session has no class; AuthnContextDeclRef is never a class
        assert classes == [], env.get("AUTHN_CONTEXT_CLASS")
        assert env.get("REMOTE_USER") == A.GOOD_NAME
    else:
        attack.check(rec, ctx)
    real_mfa = sf.MFA in classes
    assert real_mfa == (attack.name in ("charref-cdata-in-values", "class-whitespace-trimmed")), \
        (attack.name, classes)
    m = client.get("/mfa/")
    if real_mfa:
        assert m.status == 200 and "PAGE:mfa" in m.r.text, (m.status, m.location)
    else:
        assert m.status == 403 and "PAGE:mfa" not in m.r.text, (m.status, m.location)


# --- the httpd-only arrangements of the attack list -----------------------------

def run_two_fields(sp, keys, canary, attack):
    """A second SAMLResponse field (a forged one first, the signed one after):
    the form is refused whatever the order."""
    a = sp.client()
    rid = a.start_login()
    ctx = attack_context(keys, sp, rid, canary)
    good = ctx.base(attack.base)
    evil = good.replace(A.GOOD_NAME.encode(), A.EVIL_NAME.encode())
    import base64
    rep = a.post_acs(base64.b64encode(evil), raw=True,
                     extra=[("SAMLResponse", base64.b64encode(good))])
    return a, rep


def run_non_post(sp, keys, canary, attack):
    """GET /saml/acs?SAMLResponse=<a valid response>&RelayState=..."""
    import base64
    import urllib.parse
    a = sp.client()
    rid = a.start_login()
    ctx = attack_context(keys, sp, rid, canary)
    q = urllib.parse.urlencode([("SAMLResponse", base64.b64encode(ctx.base(attack.base))),
                                ("RelayState", a.relay_state)])
    return a, a.get("/saml/acs?" + q)


def run_other_browser(sp, keys, canary, attack):
    """Browser A starts the login; browser B (its own binding cookie from its
    own login, never A's) posts the response answering A's request."""
    a = sp.client()
    rid = a.start_login()
    b = sp.client()
    b.start_login()
    ctx = attack_context(keys, sp, rid, canary)
    return b, b.post_acs(ctx.base(attack.base), relay_state=a.relay_state)


SPECIAL = {"two-samlresponse-fields": run_two_fields,
           "non-post-to-acs": run_non_post,
           "in-response-to-other-browser": run_other_browser}


@pytest.mark.parametrize("kind", ["response", "assertion", "both"])
def test_base_responses_open_a_session(live, keys, kind):
    """The starting points are valid on the live server too."""
    sp = live("main")
    c = sp.client()
    rid = c.start_login()
    ctx = attack_context(keys, sp, rid)
    rep = c.post_acs(ctx.base(kind))
    assert rep.status == 303 and rep.session_cookie_set(), (rep.status, sp.log_lines(rep.test_id))
    env = session_env(sp, c)
    assert env["REMOTE_USER"] == A.GOOD_NAME
    assert env["AUTHN_CONTEXT_CLASS"] == sf.PPT


def test_base_unsolicited_opens_a_session_where_allowed(live, keys):
    sp = live("unsolicited")
    c = sp.client()
    ctx = attack_context(keys, sp, None)
    rep = c.post_acs(ctx.base("unsolicited"), relay_state="/private/")
    assert rep.status == 303 and rep.session_cookie_set(), (rep.status, sp.log_lines(rep.test_id))
    assert rep.location == sp.url("/private/")
    assert session_env(sp, c)["REMOTE_USER"] == A.GOOD_NAME


@pytest.mark.parametrize("attack", HTTP_ATTACKS, ids=[a.name for a in HTTP_ATTACKS])
def test_attack_httpd(live, keys, canary, attack):
    sp = live(option_set(attack))
    hits = canary.hits
    if attack.name in SPECIAL:
        client, rep = SPECIAL[attack.name](sp, keys, canary, attack)
    else:
        solicited = not attack.options.get("no_request")
        victim = sp.client()
        rid = victim.start_login() if solicited else None
        ctx = attack_context(keys, sp, rid, canary)
        base = ctx.base(attack.base)
        primes = attack.prime_values(ctx, base)
        value = attack.value(ctx, base)
        for p in primes:
            pr = victim.post_acs(p)
            assert pr.status == 303 and pr.session_cookie_set(), \
                ("priming response refused", pr.status, sp.log_lines(pr.test_id))
        client = victim
        if primes:
            # the attacker replays from another browser that even holds the
            # victim's binding cookie (not the victim's session cookie)
            client = sp.client()
            if solicited:
                client.copy_binding_from(victim)
                client.relay_state = victim.relay_state
        rep = client.post_acs(value, raw=attack.raw)
    logged = sp.reasons(rep.test_id)
    OBSERVED[attack.name] = "%d %s" % (rep.status, logged[-1] if logged else
                                       ("session" if rep.session_cookie_set() else "-"))
    if attack.verdict == "reject":
        assert_rejected(sp, rep, attack.reasons)
        assert_no_session(sp, client, rep)
    else:
        assert rep.status == 303 and rep.session_cookie_set(), \
            (rep.status, sp.log_lines(rep.test_id))
        check_accepted(sp, client, attack, ctx)
    assert canary.hits == hits, "the module connected to %s" % canary.url


ERROR_URL_ATTACKS = ["xsw3", "signature-wrong-key", "wrong-audience", "doctype",
                     "status-not-success-with-assertion", "encrypted-tampered-gcm"]


@pytest.mark.parametrize("name", ERROR_URL_ATTACKS)
def test_attack_httpd_error_url(live, keys, name):
    """Where the login came from a location with AuthnContextErrorURL, a
    refused response is a redirect to that local page with
    errorType=invalid-response and the reason; still no session."""
    attack = A.BY_NAME[name]
    sp = live("main")
    c = sp.client()
    rid = c.start_login("/witherr/")
    ctx = attack_context(keys, sp, rid)
    rep = c.post_acs(attack.value(ctx, ctx.base(attack.base)),
                     relay_state=c.relay_state)
    assert_rejected(sp, rep, attack.reasons, error_url="/err/")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(rep.location).query)
    assert q.get("requestURL") in (["/witherr/"], [sp.url("/witherr/")]), q
    assert_no_session(sp, c, rep)
    w = c.get("/witherr/")
    assert w.status == 302 and w.location.startswith(sf.IDP_SSO_URL), (w.status, w.location)
