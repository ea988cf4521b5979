"""Issue 5: RequestedAuthnContext, step-up, freshness, error redirect, retry
without context, unsolicited responses, no loops, signed requests."""

import json
import re
import urllib.parse

import pytest
from lxml import etree

from client import Browser, decode_redirect_request
from helpers import (MFA, NO_AUTHN_CONTEXT, NO_PASSIVE, PPT, RESPONDER, browser_for,
                     classes_of, error_redirect, idp_hops, is_redirect_to, login, page_of,
                     variables)

pytestmark = pytest.mark.issue5

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"


def test_step_up_password_to_mfa(sp, idp):
    b = login(sp, "bob")                     # password only
    assert classes_of(variables(b, sp)) == [PPT]
    idp.control(reset_log=True)
    b.set_credentials("bob", "bob-pw", "123456")
    n = len(b.hops)
    r = b.get(sp.url("/admin/"))
    assert r.status_code == 200 and page_of(r) == "admin", (r.status_code, b.hops[n:])
    # The AuthnRequest as sent (decoded from the redirect) ...
    first = b.hops[n]
    assert first[2] == 302 and first[3].startswith(idp.base + "/sso/redirect?"), b.hops[n:]
    xml, _q = decode_redirect_request(first[3])
    doc = etree.fromstring(xml.encode())
    rac = doc.find("{%s}RequestedAuthnContext" % SAMLP)
    assert rac is not None, xml
    assert rac.get("Comparison", "exact") == "exact"
    assert [c.text.strip() for c in rac.findall("{%s}AuthnContextClassRef" % SAML)] == [MFA]
    assert doc.get("ForceAuthn") in (None, "false")
    # ... and as the IdP understood it: it asked for the second factor.
    reqs = idp.events("authn_request")
    assert len(reqs) == 1 and reqs[0]["comparison"] == "exact" and reqs[0]["classes"] == [MFA]
    forms = idp.events("login_form")
    assert len(forms) == 1 and forms[0]["need_mfa"] is True
    assert [e["klass"] for e in idp.events("response")] == [MFA]
    # The new session carries MFA everywhere.
    assert classes_of(variables(b, sp)) == [MFA]
    assert b.get(sp.url("/mfa/")).status_code == 200


def test_step_up_keeps_old_session_until_new_one_arrives(sp, idp):
    b = login(sp, "alice")
    r = b.get(sp.url("/admin/"), follow=False)
    assert is_redirect_to(r, idp.base + "/sso/"), (r.status_code, r.headers)
    # The user abandons the IdP page: the password session still works.
    r = b.get(sp.url("/private/vars"), follow=False)
    assert r.status_code == 200 and json.loads(r.text)["REMOTE_USER"] == "alice"


def test_mfa_session_not_stepped_up(sp, idp):
    b = login(sp, "bob", otp="123456")
    idp.control(reset_log=True)
    n = len(b.hops)
    r = b.get(sp.url("/admin/"))
    assert r.status_code == 200 and page_of(r) == "admin"
    assert not idp_hops(b, idp, n) and not idp.events("authn_request")


def test_no_authn_context_goes_to_error_url(sp, idp):
    b = browser_for("carol")                 # carol has no second factor
    r, q, loc = error_redirect(b, sp.url("/admin/"), sp)
    assert q.get("errorType") == "saml-status", q
    assert q.get("statusCode") == RESPONDER, q
    assert q.get("statusCode2") == NO_AUTHN_CONTEXT, q
    assert MFA in q.get("requestedContext", "").split(), q
    assert q.get("entityID") == idp.entity_id, q
    assert q.get("eventType") == "Login", q
    assert q.get("requestURL", "").endswith("/admin/"), q
    assert q.get("now"), q
    assert "statusMessage" in q and "could not satisfy" in q["statusMessage"], q
    # Values are URL-encoded in the Location (no raw ':' '/' ' ' inside values).
    for piece in urllib.parse.urlsplit(loc).query.split("&"):
        _k, _, v = piece.partition("=")
        assert not re.search(r"[:/ <>\"]", v), piece
    # The sample error script explains it in plain words, with a retry link.
    r = b.get(loc)
    assert "needs multi-factor authentication" in r.text, r.text[:500]
    assert re.search(r'<a id="retry" href="[^"]*/admin/"', r.text), r.text[-600:]
    # No session was opened by an error response.
    r = b.get(sp.url("/admin/vars"), follow=False)
    assert r.status_code != 200


def test_passive_without_idp_session_goes_to_error_url(sp, idp):
    b = browser_for("alice")
    r, q, _loc = error_redirect(b, sp.url("/passive/"), sp)
    assert q.get("errorType") == "saml-status" and q.get("statusCode2") == NO_PASSIVE, q
    req = idp.events("authn_request")
    assert req and req[0]["is_passive"] is True
    assert not idp.events("login_form")


def test_retry_without_context_lands_on_lower_class(sp, idp):
    b = browser_for("carol")
    r = b.get(sp.url("/retry/vars"))
    assert r.status_code == 200, (r.status_code, b.hops)
    env = json.loads(r.text)
    assert env["REMOTE_USER"] == "carol" and classes_of(env) == [PPT]
    reqs = idp.events("authn_request")
    assert [x["classes"] for x in reqs] == [[MFA], []], reqs
    statuses = [e["status"] for e in idp.events("response")]
    assert statuses == [NO_AUTHN_CONTEXT, "Success"], statuses


def test_retry_without_context_still_enforced_by_require(sp, idp):
    b = browser_for("carol")
    r = b.get(sp.url("/retry-mfa/"), max_hops=20)
    assert r.status_code == 403, (r.status_code, b.hops)
    reqs = idp.events("authn_request")
    assert len(reqs) <= 2, "more than one retry: %s" % [x["classes"] for x in reqs]


def test_freshness_forces_reauthentication(sp, idp):
    idp.control(authn_age=3600)              # the IdP reports a login an hour ago
    b = login(sp, "alice")
    idp.control(authn_age=0, reset_log=True)
    n = len(b.hops)
    r = b.get(sp.url("/fresh/"))
    assert r.status_code == 200 and page_of(r) == "fresh", (r.status_code, b.hops[n:])
    reqs = idp.events("authn_request")
    assert len(reqs) == 1 and reqs[0]["force_authn"] is True, reqs
    assert b.login_forms == 2, "ForceAuthn must re-prompt despite the IdP session"
    # Now fresh: no further trip to the IdP.
    n = len(b.hops)
    assert b.get(sp.url("/fresh/")).status_code == 200
    assert not idp_hops(b, idp, n)


def test_hand_made_request_without_context_does_not_open_mfa(sp, idp):
    # A login started without any RequestedAuthnContext (the login endpoint
    # with a target inside the MFA location) yields a password session.
    b = browser_for("alice")
    r = b.get(sp.url("/saml/login?target=/mfa/"))
    assert r.status_code == 403, (r.status_code, b.hops)
    reqs = idp.events("authn_request")
    assert reqs and reqs[0]["classes"] == []


@pytest.fixture(scope="module")
def unsol_sp(sp_factory):
    return sp_factory("unsol", unsolicited="On")


def _unsolicited(b, idp, sp, klass, user="alice"):
    r = b.get(idp.base + "/unsolicited?" + urllib.parse.urlencode(
        {"user": user, "class": klass, "sp": sp.entity_id}), follow=False)
    assert r.status_code == 200, r.text[:300]
    return b.follow(r, login=False)


def test_unsolicited_password_response_does_not_open_mfa(unsol_sp, idp):
    b = Browser()
    _unsolicited(b, idp, unsol_sp, PPT)
    env = variables(b, unsol_sp)             # the unsolicited login is accepted ...
    assert env["REMOTE_USER"] == "alice" and classes_of(env) == [PPT]
    assert b.get(unsol_sp.url("/mfa/"), follow=False).status_code == 403   # ... but not for MFA
    r = b.get(unsol_sp.url("/admin/"), follow=False)
    assert is_redirect_to(r, idp.base + "/sso/"), (r.status_code, r.headers)
    unsol_sp.check_log()


def test_unsolicited_mfa_response_opens_mfa(unsol_sp, idp):
    b = Browser()
    _unsolicited(b, idp, unsol_sp, MFA, user="bob")
    r = b.get(unsol_sp.url("/mfa/"), follow=False)
    assert r.status_code == 200 and page_of(r) == "mfa"


def test_misbehaving_idp_insufficient_context_no_loop(sp, idp):
    idp.control(misbehave=True)              # ignores RequestedAuthnContext
    b = browser_for("alice")
    r, q, _loc = error_redirect(b, sp.url("/admin/"), sp)
    assert q.get("errorType") == "insufficient-context", q
    assert MFA in q.get("requestedContext", "").split(), q
    assert q.get("requestURL", "").endswith("/admin/"), q
    assert len(idp.events("authn_request")) == 1, "the SP asked again: a loop"
    assert len(b.hops) <= 8, b.hops
    # And no session with the insufficient class was opened for /admin.
    r = b.get(sp.url("/admin/"), follow=False)
    assert r.status_code != 200


def test_misbehaving_idp_with_existing_session_no_loop(sp, idp):
    b = login(sp, "alice")
    idp.control(misbehave=True, reset_log=True)
    r, q, _loc = error_redirect(b, sp.url("/admin/"), sp)
    assert q.get("errorType") == "insufficient-context", q
    assert len(idp.events("authn_request")) == 1


def test_signed_redirect_requests_verify_at_idp(sp, idp):
    idp.control(want_signed_requests=True)
    b = browser_for("alice")
    r = b.get(sp.url("/private/"))
    assert r.status_code == 200, (r.status_code, r.text[:300])
    req = idp.events("authn_request")
    assert req and req[0]["signed"] is True and req[0]["signature_valid"] is True, req
    assert req[0]["signature_info"] == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


def test_signed_post_requests_verify_at_idp(sp, idp):
    idp.control(want_signed_requests=True)
    b = browser_for("bob", otp="123456")
    r = b.get(sp.url("/admin-post/"))
    assert r.status_code == 200 and page_of(r) == "admin-post", (r.status_code, b.hops)
    req = idp.events("authn_request")
    assert req and req[0]["binding"].endswith("HTTP-POST"), req
    assert req[0]["valid"] and req[0]["signed"] and req[0]["classes"] == [MFA], req
    assert b.saml_requests and b.saml_requests[0][0] == idp.base + "/sso/post"
    # The form submits itself, and still works with scripts off (a button).
    page = b.request_pages[0]
    assert re.search(r"<script|onload=", page, re.I), page[:500]
    assert re.search(r'<(input|button)[^>]*type="submit"', page, re.I), page[:800]


def test_force_authn_location_reprompts(sp, idp):
    b = login(sp, "alice")                   # IdP session now exists
    assert b.login_forms == 1
    b.get(sp.url("/saml/logout?return=/public/"))
    r = b.get(sp.url("/private/"))           # plain request: the IdP session is reused
    assert r.status_code == 200 and b.login_forms == 1
    b.get(sp.url("/saml/logout?return=/public/"))
    idp.control(reset_log=True)
    r = b.get(sp.url("/force/"))
    assert r.status_code == 200 and page_of(r) == "force", (r.status_code, b.hops)
    assert b.login_forms == 2, "ForceAuthn did not make the IdP ask again"
    req = idp.events("authn_request")
    assert len(req) == 1 and req[0]["force_authn"] is True


def test_request_signature_algorithm_sha512(sp, idp):
    idp.control(want_signed_requests=True)
    b = browser_for("alice")
    r = b.get(sp.url("/sha512/"))
    assert r.status_code == 200, (r.status_code, b.hops)
    req = idp.events("authn_request")
    assert req[0]["signature_valid"] is True
    assert req[0]["signature_info"] == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"


def test_unsigned_requests_when_signing_off(sp, idp):
    b = browser_for("alice")
    r = b.get(sp.url("/unsigned/"))
    assert r.status_code == 200, (r.status_code, b.hops)
    req = idp.events("authn_request")
    assert req[0]["signed"] is False
    # An IdP that insists on signed requests refuses it.
    idp.control(want_signed_requests=True, reset_sessions=True)
    b = browser_for("alice")
    r = b.get(sp.url("/unsigned/"))
    assert r.status_code == 403 and r.url.startswith(idp.base), (r.status_code, r.url)


def test_minimum_request_comparison(sp, idp):
    b = browser_for("alice")
    r = b.get(sp.url("/min-request/"))
    assert r.status_code == 200 and page_of(r) == "min-request", (r.status_code, b.hops)
    req = idp.events("authn_request")
    assert req[0]["comparison"] == "minimum" and req[0]["classes"] == [PPT], req
    # The IdP may answer with a stronger class; minimum accepts it.
    idp.control(reset_sessions=True, reset_log=True)
    b = browser_for("bob", otp="123456")
    r = b.get(sp.url("/min-request/vars"))
    assert r.status_code == 200 and classes_of(json.loads(r.text)) == [MFA]


def test_better_request_comparison(sp, idp):
    b = browser_for("bob", otp="123456")
    r = b.get(sp.url("/better-request/"))
    assert r.status_code == 200 and page_of(r) == "better-request", (r.status_code, b.hops)
    req = idp.events("authn_request")
    assert req[0]["comparison"] == "better" and req[0]["classes"] == [PPT], req
    # Strictly better than a password is impossible for carol.
    idp.control(reset_sessions=True)
    b = browser_for("carol")
    r, q, _loc = error_redirect(b, sp.url("/better-request/"), sp)
    assert q.get("statusCode2") == NO_AUTHN_CONTEXT, q


def test_builtin_error_page_without_error_url(sp, idp):
    b = browser_for("carol")
    r = b.get(sp.url("/admin-builtin/"))
    assert 400 <= r.status_code < 600, (r.status_code, b.hops)
    assert len(idp.events("authn_request")) == 1, "no loop"
    text = r.text
    assert "NoAuthnContext" in text, text[:800]
    assert MFA in text or "multi-factor" in text.lower(), text[:800]
    # The facts, not the secrets: no SAML message, no stack trace.
    assert "SAMLResponse" not in text and "<samlp:" not in text and "Traceback" not in text
    assert not re.search(r"[A-Za-z0-9+/]{200,}", text), "a base64 blob in the error page"


PREFER = [MFA, "urn:oasis:names:tc:SAML:2.0:ac:classes:X509",
          "urn:oasis:names:tc:SAML:2.0:ac:classes:Kerberos", PPT,
          "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"]


def test_prefer_mfa_with_fallback_list(sp, idp):
    # Without a second factor the IdP falls back to a listed class ...
    b = browser_for("alice")
    r = b.get(sp.url("/prefer/vars"))
    assert r.status_code == 200 and classes_of(json.loads(r.text)) == [PPT], (r.status_code, b.hops)
    req = idp.events("authn_request")
    assert req[0]["comparison"] == "exact" and req[0]["classes"] == PREFER, req
    # ... and uses MFA where the user can.
    idp.control(reset_sessions=True)
    b = browser_for("bob", otp="123456")
    r = b.get(sp.url("/prefer/vars"))
    assert r.status_code == 200 and classes_of(json.loads(r.text)) == [MFA]


def test_tampered_class_goes_to_error_url_as_invalid_response(sp, idp):
    # The IdP ignores the request and answers PasswordProtectedTransport;
    # the class text is then rewritten to MFA after signing.
    idp.control(misbehave=True, tamper=True)
    b = browser_for("alice")
    r, q, _loc = error_redirect(b, sp.url("/admin/"), sp)
    assert q.get("errorType") == "invalid-response", q
    assert q.get("errorText") == "signature-invalid", q
    assert q.get("requestURL", "").endswith("/admin/"), q
    assert MFA.encode() in __import__("base64").b64decode(b.saml_responses[0][1]["SAMLResponse"])
    r = b.get(sp.url("/admin/vars"), follow=False)
    assert r.status_code != 200
    assert len(idp.events("authn_request")) == 1


def test_request_none_cancels_inherited_step_up(sp, idp):
    b = login(sp, "alice")
    idp.control(reset_log=True)
    r = b.get(sp.url("/admin/open/"), follow=False)
    assert r.status_code == 200 and page_of(r) == "admin/open", (r.status_code, r.headers)
    assert not idp.events("authn_request")
    # The rest of /admin still steps up.
    r = b.get(sp.url("/admin/"), follow=False)
    assert is_redirect_to(r, idp.base + "/sso/"), (r.status_code, r.headers)
