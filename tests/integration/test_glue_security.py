"""Security review of the httpd glue (mod_authncontext.c, src/httpd_*.c):
each test pins down one rule of DESIGN.md against a real apache2 with the
module, the real pysaml2 IdP, and a second IdP forged with samlforge (its
metadata loaded next to the real one, as in a federation)."""

import base64
import hashlib
import json
import os
import re
import urllib.parse

import pytest
import samlforge as sf

from client import Browser
from glue_helpers import (MFA, PPT, ForgedIdP, forged_login, log_offset, log_since,
                          post_acs, start_login)
from helpers import browser_for, is_redirect_to, login, set_cookie_headers


@pytest.fixture(scope="module")
def forged(workdir):
    return ForgedIdP(os.path.join(workdir, "glue-forged"), "mallory")


@pytest.fixture(scope="module")
def htpasswd(workdir):
    path = os.path.join(workdir, "glue-htpasswd")
    digest = base64.b64encode(hashlib.sha1(b"basic-pw").digest()).decode()
    with open(path, "w") as f:
        f.write("basicuser:{SHA}%s\n" % digest)
    os.chmod(path, 0o644)
    return path


@pytest.fixture(scope="module")
def gsp(sp_factory, idp_server, forged, htpasswd, backend):
    extra = """
LoadModule auth_basic_module /usr/lib/apache2/modules/mod_auth_basic.so
LoadModule authn_file_module /usr/lib/apache2/modules/mod_authn_file.so
AuthnContextIdPMetadataFile {forged_md}
LogLevel warn authncontext:trace1
AuthnContextErrorURL /auth-error.cgi

# Pinned to the real IdP: a session from any other trusted IdP must not open it.
<Location /pinned>
    AuthType SAML
    AuthnContextIdP {real}
    Require valid-user
</Location>
<Location /pinned-export>
    AuthType SAML
    AuthnContextIdP {forged}
    AuthnContextExportHeaders On
    Require valid-user
    ProxyPass http://127.0.0.1:{backend}/export
</Location>

# Exported headers must not follow an internal redirect to a location that
# does not export (here: a public proxied location).
<Location /exp-404>
    AuthType SAML
    AuthnContextExportHeaders On
    Require valid-user
    ErrorDocument 404 /public-echo/
</Location>
<Location /public-echo>
    ProxyPass http://127.0.0.1:{backend}/public
</Location>

# Our providers under another AuthType: a Basic user is not ours to grant.
<Location /basic>
    AuthType Basic
    AuthName glue
    AuthUserFile {htpasswd}
    Require authnContextClassRef https://refeds.org/profile/mfa
</Location>
<Location /basic-any>
    AuthType Basic
    AuthName glue
    AuthUserFile {htpasswd}
    <RequireAny>
        Require authnContextClassRef ~ .
        Require authnContextMaxAge 31536000
    </RequireAny>
</Location>
""".format(forged_md=forged.metadata_file, real=idp_server.entity_id,
           forged=forged.entity_id, backend=backend.port, htpasswd=htpasswd)
    s = sp_factory("glue", extra=extra)
    for page in ("pinned", "basic", "basic-any"):
        s.httpd.write("htdocs/%s/index.html" % page,
                      "<html><body><h1>PAGE:%s</h1></body></html>\n" % page)
    return s


@pytest.fixture
def g(gsp, idp):
    yield gsp
    gsp.check_log()


# --- AuthnContextIdP --------------------------------------------------------------

def test_session_from_another_idp_does_not_open_pinned_location(g, idp, forged):
    b = forged_login(g, forged, "/private/")
    r = b.get(g.url("/private/"), follow=False)
    assert r.status_code == 200, (r.status_code, r.text[:200])
    # /pinned names the real IdP: mallory's session is no session there.
    r = b.get(g.url("/pinned/"), follow=False)
    assert r.status_code != 200, "a session from another IdP opened an AuthnContextIdP location"
    assert is_redirect_to(r, idp.base + "/sso/"), (r.status_code, r.headers)
    assert "reason=issuer-mismatch" in g.httpd.log_tail(10)


def test_login_endpoint_does_not_override_location_idp(g, idp, forged):
    b = Browser()
    q = urllib.parse.urlencode({"target": "/pinned/", "idp": forged.entity_id})
    r = b.get(g.url("/saml/login?" + q), follow=False)
    assert not is_redirect_to(r, forged.sso_url), (r.status_code, r.headers)
    assert r.status_code == 400, (r.status_code, r.headers)


def test_pinned_location_grants_its_own_idp(g, idp):
    b = login(g, "alice", path="/pinned/")
    r = b.get(g.url("/pinned/"), follow=False)
    assert r.status_code == 200


# --- exported headers -------------------------------------------------------------

def test_exported_headers_cannot_carry_line_breaks(g, idp, forged):
    """An attribute value is IdP data (often user-editable there): a CR/LF in
    it must not become a header line of the proxied request."""
    evil = "Mallory\r\nX-Injected: yes\r\nREMOTE_USER: admin"
    b = forged_login(g, forged, "/pinned-export/", name_id="mallory\nX-Nameid-Injected: 1",
                     attributes=[{"name": "displayName", "values": [evil]}])
    r = b.get(g.url("/pinned-export/"), follow=False)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    hdrs = json.loads(r.text)["headers"]
    names = [k.lower() for k, _v in hdrs]
    assert "x-injected" not in names and "x-nameid-injected" not in names, hdrs
    assert not [v for k, v in hdrs if k.lower().replace("-", "_") == "remote_user"
                and v == "admin"], hdrs
    shown = [v for k, v in hdrs if k.upper().replace("-", "_") ==
             "AUTHN_CONTEXT_ATTR_DISPLAYNAME"]
    assert shown and "Mallory" in shown[0] and "\n" not in shown[0], hdrs


def test_spoofed_identity_headers_removed_in_every_spelling(g, idp):
    b = login(g, "alice")
    spoof = "spoofed-7c1e"
    headers = {"Remote-User": spoof, "remote_user": spoof, "REMOTE-USER": spoof,
               "Shib-Identity-Provider": spoof, "shib_session_index": spoof,
               "Authn-Context-Attr-Mail": spoof, "authn_context_nameid": spoof,
               "AUTHN-context-EXPIRES": spoof}
    r = b.get(g.url("/proxy-plain/"), headers=headers)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    hdrs = json.loads(r.text)["headers"]
    assert not [h for h in hdrs if spoof in h[1]], hdrs


# --- our providers under AuthType Basic ------------------------------------------

def test_basic_user_is_not_granted_by_authncontext_providers(g, idp):
    auth = ("basicuser", "basic-pw")
    for path in ("/basic/", "/basic-any/"):
        r = Browser().get(g.url(path), follow=False, auth=auth)
        assert r.status_code == 401, (path, r.status_code, r.text[:200])
    # ... even with a SAML session cookie of an MFA user next to it
    b = login(g, "bob", otp="123456", path="/private/")
    for path in ("/basic/", "/basic-any/"):
        r = b.get(g.url(path), follow=False, auth=auth)
        assert r.status_code == 401, (path, r.status_code, r.text[:200])


# --- the ACS ----------------------------------------------------------------------

def test_acs_content_type_must_be_exactly_urlencoded(g, idp, forged):
    blob = forged.response(g)
    for ctype in ("application/x-www-form-urlencodedX", "application/x-www-form-urlencoded2",
                  "text/plain", "multipart/form-data; boundary=x", "application/json"):
        start = log_offset(g)
        r = Browser().request("POST", g.url("/saml/acs"), headers={"Content-Type": ctype},
                              data="SAMLResponse=" + urllib.parse.quote(blob))
        # refused: the error page, or (AuthnContextErrorURL here) a 303 to it
        assert r.status_code in (400, 303), (ctype, r.status_code)
        assert "Set-Cookie" not in r.headers, r.headers
        assert "reason=binding-invalid" in log_since(g, start), (ctype, log_since(g, start))
    # parameters after the media type are fine (the response itself is refused:
    # unsolicited is off here)
    start = log_offset(g)
    r = Browser().request("POST", g.url("/saml/acs"),
                          headers={"Content-Type":
                                   "Application/X-WWW-Form-URLEncoded ; charset=UTF-8"},
                          data="SAMLResponse=" + urllib.parse.quote(blob))
    assert r.status_code in (303, 400), r.status_code
    assert "reason=unsolicited-disallowed" in log_since(g, start), log_since(g, start)
    assert "reason=binding" not in log_since(g, start), log_since(g, start)


# --- per-request cost -------------------------------------------------------------

def test_existing_session_costs_one_cache_read(g, idp):
    b = login(g, "alice")
    for path in ("/private/", "/private/index.html", "/pinned/"):
        if path == "/pinned/":
            b = login(g, "alice", path="/pinned/")
        start = log_offset(g)
        r = b.get(g.url(path), follow=False)
        assert r.status_code == 200, (path, r.status_code)
        reads = re.findall(r"cache: retrieve key=(\w):", log_since(g, start))
        assert reads == ["s"], (path, reads, log_since(g, start)[-2000:])


# --- redirects --------------------------------------------------------------------

BAD_TARGETS = ["//evil.example/", "/\\evil.example/", "\\\\evil.example/", "%2F%2Fevil.example/",
               "/%5Cevil.example", "http://evil.example/", "https:evil.example",
               "/ok\r\nSet-Cookie: x=y", "/ok%0d%0aSet-Cookie:%20x=y", " //evil.example/",
               "/\t/evil.example/", ""]


def _location_is_ours(g, r):
    loc = r.headers.get("Location")
    if loc is None:
        return True
    full = urllib.parse.urljoin(g.url("/"), loc)
    parts = urllib.parse.urlsplit(full)
    return (parts.netloc == urllib.parse.urlsplit(g.base).netloc
            and "\r" not in loc and "\n" not in loc)


def test_login_and_logout_refuse_non_local_urls(g, idp):
    for t in BAD_TARGETS:
        raw = urllib.parse.quote(t, safe="%")
        r = Browser().get(g.url("/saml/login?target=" + raw), follow=False)
        assert r.status_code == 400, (t, r.status_code, r.headers)
        r = Browser().get(g.url("/saml/logout?return=" + raw), follow=False)
        # never a redirect elsewhere: our own (a CR/LF target cut to a local
        # path) or none, with the page that confirms the logout
        assert (r.status_code == 302 and _location_is_ours(g, r)) or \
            (r.status_code == 200 and "Location" not in r.headers), (t, r.headers)
        assert not [c for c in set_cookie_headers(r) if c.lower().startswith("x=")], r.headers


def test_unsolicited_relay_state_never_leaves_the_host(g, idp, forged):
    # the solicited target wins over RelayState; a bad RelayState never redirects
    for t in BAD_TARGETS[:8]:
        b = Browser()
        q = urllib.parse.urlencode({"target": "/private/", "idp": forged.entity_id})
        _r, rid, _relay, _sso = start_login(b, g, "/saml/login?" + q)
        r = post_acs(b, g, forged.response(g, in_response_to=rid), t)
        assert r.status_code == 303 and _location_is_ours(g, r), (t, r.headers)
        assert r.headers["Location"].endswith("/private/"), r.headers


def test_answer_from_another_idp_to_a_pinned_request_is_refused(g, idp, forged):
    b = Browser()
    _r, rid, relay, sso = start_login(b, g, "/pinned/")
    assert sso.startswith(idp.base), sso
    start = log_offset(g)
    r = post_acs(b, g, forged.response(g, in_response_to=rid, classes=(MFA,)), relay)
    assert r.status_code in (303, 400), (r.status_code, r.headers)
    assert not [c for c in set_cookie_headers(r) if c.startswith("authncontext_session=")
                and "Max-Age=0" not in c], set_cookie_headers(r)
    assert "reason=issuer-mismatch" in log_since(g, start), log_since(g, start)
    assert b.get(g.url("/pinned/"), follow=False).status_code == 302


def test_acs_form_edge_cases_are_refused(g, idp, forged):
    b = Browser()
    q = urllib.parse.urlencode({"target": "/private/", "idp": forged.entity_id})
    _r, rid, relay, _sso = start_login(b, g, "/saml/login?" + q)
    good = urllib.parse.quote(forged.response(g, in_response_to=rid), safe="")
    for body in ("SAMLResponse=%s&SAMLResponse=%s" % (good, good),
                 "SAMLResponse=%s&SAML%%52esponse=x" % good,
                 "SAMLResponse=%s&RelayState=a&RelayState=b" % good,
                 "SAMLResponse=%s&x=%%ZZ" % good,
                 "SAMLResponse=%s%%00" % good):
        r = b.request("POST", g.url("/saml/acs"), data=body,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code in (303, 400), (body[-40:], r.status_code)
        assert "authncontext_session=" not in r.headers.get("Set-Cookie", ""), r.headers
    for method in ("GET", "PUT", "HEAD"):
        r = b.request(method, g.url("/saml/acs"), data="SAMLResponse=" + good)
        assert r.status_code == 405, (method, r.status_code)
    # the request was not consumed by any of that: the good answer still works
    r = post_acs(b, g, urllib.parse.unquote(good), relay)
    assert r.status_code == 303 and r.headers["Location"].endswith("/private/"), r.headers


def test_error_redirect_encodes_every_value(g, idp, forged):
    b = Browser()
    q = urllib.parse.urlencode({"target": "/private/?a=1&b=2", "idp": forged.entity_id})
    _r, rid, relay, _sso = start_login(b, g, "/saml/login?" + q)
    message = "no MFA & more=1\r\nSet-Cookie: evil=1 <b>?#%"
    root_b64 = forged.response(g, in_response_to=rid, status=sf.RESPONDER,
                               status2=sf.NO_AUTHN_CONTEXT, status_message=message,
                               include_assertion=False)
    r = post_acs(b, g, root_b64, relay)
    assert r.status_code == 303, (r.status_code, r.text[:300])
    loc = r.headers["Location"]
    assert loc.startswith("/auth-error.cgi?"), loc
    assert not re.search(r"[\s<>\"]", loc), loc
    got = {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query).items()}
    assert got["statusMessage"] == message, got
    assert got["errorType"] == "saml-status" and got["statusCode2"] == sf.NO_AUTHN_CONTEXT
    assert got["requestURL"].endswith("/private/?a=1&b=2"), got
    assert got["entityID"] == forged.entity_id, got
    assert "evil" not in r.headers.get("Set-Cookie", ""), r.headers
    # nothing secret: neither the request ID's binding cookie nor a session id
    cookies = " ".join(c.value for c in b.s.cookies)
    assert not [v for v in got.values() if v and v in cookies], (got, cookies)


# --- errorType=session-expired ----------------------------------------------------

def _error_query(r):
    loc = r.headers.get("Location", "")
    return {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query).items()}


def test_answer_to_a_request_gone_from_the_cache_is_session_expired(g, idp, forged):
    """The browser started a login here (it holds the binding cookie) but the
    request its answer names is no longer pending (expired from the cache,
    or already answered): errorType=session-expired, reason logged as before."""
    b = Browser()
    q = urllib.parse.urlencode({"target": "/private/", "idp": forged.entity_id})
    _r, rid, relay, _sso = start_login(b, g, "/saml/login?" + q)
    gone = "_" + "0123456789abcdef" * 2          # well formed, not pending
    start = log_offset(g)
    r = post_acs(b, g, forged.response(g, in_response_to=gone), gone)
    assert r.status_code == 303, (r.status_code, r.text[:300])
    got = _error_query(r)
    assert got.get("errorType") == "session-expired", got
    assert "reason=in-response-to-unknown" in log_since(g, start)
    # the same answer from a browser that never started a login here
    r = post_acs(Browser(), g, forged.response(g, in_response_to=gone), gone)
    assert _error_query(r).get("errorType") == "invalid-response", r.headers
    # a request answered once is gone too: the same browser posting again
    r = post_acs(b, g, forged.response(g, in_response_to=rid), relay)
    assert r.status_code == 303 and r.headers["Location"].endswith("/private/"), r.headers
    r = post_acs(b, g, forged.response(g, in_response_to=rid), relay)
    assert _error_query(r).get("errorType") == "session-expired", r.headers
    # another browser's binding cookie is not "expired": it is invalid
    c = Browser()
    _r, rid2, relay2, _sso = start_login(c, g, "/saml/login?" + q)
    r = post_acs(b, g, forged.response(g, in_response_to=rid2), relay2)
    assert _error_query(r).get("errorType") == "invalid-response", r.headers


def test_binding_cookie_outlives_the_pending_request(g, idp):
    b = Browser()
    # a location with one IdP: the login starts here (with two trusted
    # IdPs, /private/ goes to the chooser first)
    r = b.get(g.url("/pinned/"), follow=False)
    cookies = [c for c in set_cookie_headers(r) if c.startswith("authncontext_session_req=")]
    assert cookies, set_cookie_headers(r)
    age = int(re.search(r"Max-Age=(\d+)", cookies[0]).group(1))
    assert age > 1800, cookies      # pending requests live 1800 s
    assert re.search(r"Path=/saml(;|$)", cookies[0]) and "HttpOnly" in cookies[0], cookies


def test_identity_headers_with_other_punctuation_are_removed(g, idp):
    """Back ends differ in how they fold header names ('-', '_', '.'); every
    spelling that folds to one of ours is removed."""
    b = login(g, "alice")
    spoof = "spoofed-d07"
    headers = {"Authn.Context.Class": spoof, "Remote.User": spoof,
               "Shib.Identity-Provider": spoof, "authn~context~idp": spoof}
    r = b.get(g.url("/proxy-plain/"), headers=headers)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    hdrs = json.loads(r.text)["headers"]
    assert not [h for h in hdrs if spoof in h[1]], hdrs


def test_chunked_acs_body_is_capped(g, idp):
    def body():
        yield b"SAMLResponse="
        for _ in range(80):
            yield b"A" * 8192          # 640 KiB > 2 x 256 KiB + 8 KiB
    start = log_offset(g)
    r = Browser().request("POST", g.url("/saml/acs"), data=body(),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code in (303, 413), r.status_code
    assert "reason=too-large" in log_since(g, start), log_since(g, start)
    # a small chunked body is read whole (and refused for what it is)
    start = log_offset(g)
    r = Browser().request("POST", g.url("/saml/acs"), data=iter([b"SAMLResponse=", b"PGZvby8+"]),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code in (303, 400), r.status_code
    assert "reason=too-large" not in log_since(g, start), log_since(g, start)


def test_exported_headers_do_not_follow_an_internal_redirect(g, idp):
    b = login(g, "alice")
    r = b.get(g.url("/public-echo/"), follow=False)
    assert r.status_code == 200, r.status_code
    r = b.get(g.url("/exp-404/no-such-file"), follow=False)
    assert r.status_code in (200, 404), (r.status_code, r.text[:300])
    seen = json.loads(r.text)
    assert seen["path"].startswith("/public"), seen
    leaked = [h for h in seen["headers"]
              if re.match(r"(authn.context|shib.|remote.user)", h[0], re.I)]
    assert not leaked, seen["headers"]


def test_log_lines_cannot_be_forged_through_response_text(g, idp, forged):
    """IdP text (StatusMessage, Issuer, ...) in a log line must not start a new
    line: an operator reading the log must not see a made-up entry."""
    b = Browser()
    q = urllib.parse.urlencode({"target": "/private/", "idp": forged.entity_id})
    _r, rid, relay, _sso = start_login(b, g, "/saml/login?" + q)
    start = log_offset(g)
    msg = "nope\n[Mon Jan 01 00:00:00.000000 2026] [authncontext:info] FORGED-LINE session opened\r\nFORGED-CR"
    r = post_acs(b, g, forged.response(g, in_response_to=rid, status=sf.RESPONDER,
                                       status_message=msg, include_assertion=False), relay)
    assert r.status_code in (303, 403), r.status_code
    text = log_since(g, start)
    assert "FORGED-LINE" in text, text
    assert not [l for l in text.splitlines() if l.startswith("[Mon Jan 01") or
                l.startswith("FORGED")], text
