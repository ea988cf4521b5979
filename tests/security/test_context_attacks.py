"""Wrong-context logins against a live httpd: answers that are validly
signed but do not carry what the login asked for (a step-up to MFA answered
with a password class, MFA only in AuthnContextDeclRef, in an attribute the
SP does not read, or spelled differently; ForceAuthn or MaxAge answered with
an old AuthnInstant). Each must be refused with reason=insufficient-context
for that request, open no session, and leave an existing weaker session as
weak as it was.
"""
import urllib.parse

import pytest

import attacks as A
import samlforge as sf
import livehttpd as L
from livehttpd import assert_no_session, assert_rejected, attack_context, login


@pytest.fixture(scope="module")
def sp(live):
    return live("main")


def start(sp, target):
    c = sp.client()
    c.start_login(target)
    return c


def test_step_up_request_asks_for_mfa(sp):
    c = sp.client()
    rep = c.get("/saml/login?target=/admin/")
    xml, _ = L.decode_redirect(rep.location)
    assert "RequestedAuthnContext" in xml and sf.MFA in xml, xml


WEAK_ANSWERS = {
    "password-class": {"authn_statements": [{"class_ref": sf.PPT}]},
    "mfa-in-declref-only": {"authn_statements": [{"class_ref": None, "decl_ref": sf.MFA}]},
    "mfa-in-attribute-only": {"attributes": [
        {"name": "authnContextClassRef", "values": [sf.MFA]},
        {"name": "http://schemas.microsoft.com/claims/authnmethodsreferences",
         "values": [sf.MS_MFA]}]},
    "no-authn-context-class": {"authn_statements": [{"class_ref": None}]},
}
WEAK_ANSWERS.update({"lookalike-" + k: {"authn_statements": [{"class_ref": v}]}
                     for k, v in A.LOOKALIKES.items()})


@pytest.mark.parametrize("answer", sorted(WEAK_ANSWERS))
def test_step_up_answered_without_mfa(sp, keys, answer):
    c = start(sp, "/admin/")
    data = attack_context(keys, sp, c.request_id).response(**WEAK_ANSWERS[answer])
    rep = c.post_acs(data)
    # no class at all may also be refused by the verifier itself
    assert_rejected(sp, rep, ("insufficient-context", "no-authn-statement", "xml-schema"))
    assert_no_session(sp, c, rep)
    assert c.get("/admin/").status == 302


def test_step_up_refused_keeps_the_weak_session_weak(sp, keys):
    c = login(keys, sp)                               # a password session
    first = c.get("/admin/")                          # step-up: to the IdP
    assert first.status == 302 and first.location.startswith(sf.IDP_SSO_URL)
    xml, q = L.decode_redirect(first.location)
    c.request_id = xml.split('ID="', 1)[1].split('"', 1)[0]
    c.relay_state = q.get("RelayState")
    old = c.cookies[L.COOKIE]
    rep = c.post_acs(attack_context(keys, sp, c.request_id).response())
    assert_rejected(sp, rep, ("insufficient-context",))
    assert not rep.session_cookie_set()
    assert c.cookies[L.COOKIE] == old
    assert c.get("/private/").status == 200           # still signed in ...
    assert c.get("/mfa/").status == 403               # ... with a password only
    again = c.get("/admin/")
    assert again.status == 302 and again.location.startswith(sf.IDP_SSO_URL)


def test_step_up_answered_with_mfa_opens(sp, keys):
    """The control: the same flow with a real MFA answer."""
    c = start(sp, "/admin/")
    rep = c.post_acs(attack_context(keys, sp, c.request_id).response(
        authn_statements=[{"class_ref": sf.MFA}]))
    assert rep.status == 303 and rep.session_cookie_set()
    assert c.get("/admin/").status == 200


@pytest.mark.parametrize("target,age", [("/force/", 600), ("/fresh/", 3600)])
def test_old_authn_instant_for_force_or_max_age(sp, keys, target, age):
    """ForceAuthn (the AuthnInstant must not predate the request) and
    AuthnContextMaxAge 60: an IdP's old authentication is refused."""
    c = start(sp, target)
    data = attack_context(keys, sp, c.request_id).response(
        authn_statements=[{"class_ref": sf.PPT, "authn_instant": -age}])
    rep = c.post_acs(data)
    assert_rejected(sp, rep, ("insufficient-context",))
    assert_no_session(sp, c, rep)


@pytest.mark.parametrize("target", ["/force/", "/fresh/"])
def test_fresh_authn_instant_for_force_or_max_age_opens(sp, keys, target):
    c = start(sp, target)
    rep = c.post_acs(attack_context(keys, sp, c.request_id).response(
        authn_statements=[{"class_ref": sf.PPT, "authn_instant": -1}]))
    assert rep.status == 303 and rep.session_cookie_set(), sp.log_lines(rep.test_id)
    assert c.get(target).status == 200


# --- IdP mix-up: two trusted IdPs --------------------------------------------------

IDP_A = sf.IDP_ENTITY_ID
IDP_B = L.IDP2_ENTITY_ID


@pytest.fixture(scope="module")
def two(live):
    return live("two-idps")


def _signer(keys, which):
    return (keys.idp, IDP_A) if which == "A" else (keys.idp2, IDP_B)


def _login_via(sp, target, idp_param=None):
    c = sp.client()
    if idp_param:
        rep = c.get("/saml/login?target=%s&idp=%s" % (target, urllib.parse.quote(idp_param, "")))
        assert rep.status == 302
        xml, q = L.decode_redirect(rep.location)
        c.request_id = xml.split('ID="', 1)[1].split('"', 1)[0]
        c.relay_state = q.get("RelayState")
        c.login_location = rep.location
    else:
        c.start_login(target)
    return c


def _asked(c):
    return "A" if c.login_location.startswith(sf.IDP_SSO_URL + "?") else \
        "B" if c.login_location.startswith(L.IDP2_SSO_URL + "?") else None


@pytest.mark.parametrize("target,asked,answers,idp_param", [
    ("/idp-a/", "A", "B", None),
    ("/idp-b/", "B", "A", None),
    ("/private/", "B", "A", IDP_B),
    ("/private/", "A", "B", IDP_A),
])
def test_answer_from_another_trusted_idp(two, keys, target, asked, answers, idp_param):
    """The request went to one IdP; another IdP the SP also trusts answers it
    (a validly signed response): refused, the answer's IdP must be the
    request's (issuer-mismatch)."""
    c = _login_via(two, target, idp_param)
    assert _asked(c) == asked, c.login_location
    key, entity = _signer(keys, answers)
    data = attack_context(keys, two, c.request_id, idp=key, idp_entity_id=entity).response()
    rep = c.post_acs(data)
    assert_rejected(two, rep, ("issuer-mismatch",))
    assert_no_session(two, c, rep)


@pytest.mark.parametrize("target,which", [("/idp-a/", "A"), ("/idp-b/", "B")])
def test_answer_from_the_asked_idp_opens(two, keys, target, which):
    c = _login_via(two, target)
    assert _asked(c) == which, c.login_location
    key, entity = _signer(keys, which)
    rep = c.post_acs(attack_context(keys, two, c.request_id, idp=key,
                                    idp_entity_id=entity).response())
    assert rep.status == 303 and rep.session_cookie_set(), two.log_lines(rep.test_id)
    assert c.get(target).status == 200


def test_issuer_of_one_idp_signed_by_the_other(two, keys):
    """Issuer A, signature by B's (trusted, but B's) key."""
    c = _login_via(two, "/idp-a/")
    data = attack_context(keys, two, c.request_id, idp=keys.idp2, idp_entity_id=IDP_A).response()
    rep = c.post_acs(data)
    assert_rejected(two, rep, ("signature-invalid",))
    assert_no_session(two, c, rep)
