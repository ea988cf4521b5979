"""Wrong-context logins against a live httpd: answers that are validly
signed but do not carry what the login asked for (a step-up to MFA answered
with a password class, MFA only in AuthnContextDeclRef, in an attribute the
SP does not read, or spelled differently; ForceAuthn or MaxAge answered with
an old AuthnInstant). Each must be refused with reason=insufficient-context
for that request, open no session, and leave an existing weaker session as
weak as it was.
"""
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
