"""Attacks that only a live httpd can be asked about (issue 6): the form and
method of the ACS POST, the body cap, a request answered from another
browser, forged, expired and logged-out session cookies, open redirects
through RelayState/target/return, and spoofed identity headers sent to a
CGI or a proxied back end.

Every refused request is checked three ways: the status, the line the
module logged for that very request (reason=<code>, or the authn hook's
"no session"/"session unknown or expired"), and that no session was opened
(no session cookie set, the protected page still sends the client to the
IdP).
"""
import base64
import json
import os
import time
import urllib.parse

import pytest

import attacks as A
import samlforge as sf
import livehttpd as L
from livehttpd import assert_no_session, assert_rejected, attack_context, login

SPOOF_USER = "spoofed-admin@evil.example"
SPOOF_CLASS = sf.MFA


@pytest.fixture(scope="module")
def sp(live):
    return live("main")


def fresh_response(keys, sp, client, **kw):
    return attack_context(keys, sp, client.request_id).response(**kw)


def authn_lines(sp, rep):
    return [l for l in sp.log_lines(rep.test_id) if "authncontext: authn:" in l]


def assert_sent_to_idp(sp, rep, why):
    """The protected page was not served: the client went to the IdP, and the
    authn hook logged why for this request."""
    assert rep.status == 302 and rep.location.startswith(sf.IDP_SSO_URL), \
        (rep.status, rep.location, rep.r.text[:200])
    assert "PAGE:" not in rep.r.text
    lines = authn_lines(sp, rep)
    assert any(why in l for l in lines), (why, sp.log_lines(rep.test_id))


def assert_local_location(sp, location, path):
    """A redirect that stays on this server, to exactly `path`."""
    u = urllib.parse.urlsplit(location)
    assert (u.scheme, u.netloc) == ("http", "127.0.0.1:%d" % sp.httpd.port), location
    assert u.path == path, location
    assert "evil" not in location or path.startswith("/%0d%0a"), location


# --- the ACS request itself ----------------------------------------------------------

def test_two_samlresponse_fields_signed_one_first(sp, keys):
    """The signed response first and a forged one second: refused too (the
    second field must not win by position, nor the first)."""
    c = sp.client()
    c.start_login()
    good = fresh_response(keys, sp, c)
    evil = good.replace(A.GOOD_NAME.encode(), A.EVIL_NAME.encode())
    rep = c.post_acs(base64.b64encode(good), raw=True,
                     extra=[("SAMLResponse", base64.b64encode(evil))])
    assert_rejected(sp, rep, A.BY_NAME["two-samlresponse-fields"].reasons)
    assert_no_session(sp, c, rep)


def test_two_relaystate_fields(sp, keys):
    c = sp.client()
    c.start_login()
    rep = c.post_acs(fresh_response(keys, sp, c),
                     extra=[("RelayState", "https://evil.example/")])
    assert_rejected(sp, rep, A.BY_NAME["two-samlresponse-fields"].reasons)
    assert_no_session(sp, c, rep)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_non_post_opens_no_session(sp, keys, method):
    """A valid response sent with another method (in the query for GET, in
    the body otherwise): 405, Allow: POST, no session."""
    c = sp.client()
    c.start_login()
    form = urllib.parse.urlencode([("SAMLResponse", base64.b64encode(fresh_response(keys, sp, c))),
                                   ("RelayState", c.relay_state)])
    if method == "GET":
        rep = c.get("/saml/acs?" + form)
    else:
        rep = c.post_acs(None, body=form, method=method)
    assert rep.status == 405, (rep.status, rep.r.text[:200])
    assert rep.r.headers.get("Allow") == "POST"
    assert_no_session(sp, c, rep)


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_non_post_is_logged_with_a_reason(sp, keys, method):
    """DESIGN 'Security rules': every rejection is logged with a stable
    reason. The attack list (non-post-to-acs) names binding-invalid."""
    c = sp.client()
    c.start_login()
    form = urllib.parse.urlencode([("SAMLResponse", base64.b64encode(fresh_response(keys, sp, c)))])
    rep = c.get("/saml/acs?" + form) if method == "GET" else \
        c.post_acs(None, body=form, method=method)
    assert_rejected(sp, rep, A.BY_NAME["non-post-to-acs"].reasons)


def test_wrong_content_type(sp, keys):
    c = sp.client()
    c.start_login()
    body = urllib.parse.urlencode([("SAMLResponse", base64.b64encode(fresh_response(keys, sp, c)))])
    rep = c.post_acs(None, body=body, headers={"Content-Type": "text/plain"})
    assert_rejected(sp, rep, ("binding-invalid",))
    assert_no_session(sp, c, rep)


def _cap():
    # AuthnContextMaxResponseSize (default 256 KiB); the ACS reads at most
    # twice that plus 8 KiB of form encoding
    return 2 * 262144 + 8192


def test_body_over_the_cap_with_content_length(sp, keys):
    """A valid response padded with another field beyond the body cap."""
    c = sp.client()
    c.start_login()
    good = base64.b64encode(fresh_response(keys, sp, c))
    body = urllib.parse.urlencode([("SAMLResponse", good), ("RelayState", c.relay_state),
                                   ("pad", "x" * (_cap() + 1))])
    rep = c.post_acs(None, body=body)
    assert_rejected(sp, rep, ("too-large",), statuses=(413,))
    assert_no_session(sp, c, rep)


def test_body_over_the_cap_chunked(sp, keys):
    """The same without a Content-Length (chunked): counted while read."""
    c = sp.client()
    c.start_login()
    good = base64.b64encode(fresh_response(keys, sp, c))
    body = urllib.parse.urlencode([("SAMLResponse", good), ("pad", "x" * (_cap() + 1))]).encode()

    def chunks():
        for i in range(0, len(body), 65536):
            yield body[i:i + 65536]
    rep = c.post_acs(None, body=chunks())
    assert "Content-Length" not in rep.r.request.headers
    assert_rejected(sp, rep, ("too-large",), statuses=(413,))
    assert_no_session(sp, c, rep)


def test_response_over_a_small_cap(live, keys):
    """AuthnContextMaxResponseSize 1024: a valid ~5 KiB response is refused."""
    sp = live("small")
    c = sp.client()
    c.start_login()
    rep = c.post_acs(fresh_response(keys, sp, c))
    assert_rejected(sp, rep, ("too-large",), statuses=(413,))
    assert_no_session(sp, c, rep)


# --- InResponseTo bound to the browser that started the login ------------------------

def test_in_response_to_of_another_browser_without_binding_cookie(sp, keys):
    a = sp.client()
    a.start_login()
    data = fresh_response(keys, sp, a)
    b = sp.client()
    rep = b.post_acs(data, relay_state=a.relay_state)
    assert_rejected(sp, rep, ("in-response-to-unknown",))
    assert_no_session(sp, b, rep)


def test_in_response_to_of_another_browser_with_forged_binding_cookie(sp, keys):
    a = sp.client()
    a.start_login()
    data = fresh_response(keys, sp, a)
    b = sp.client()
    b.cookies[L.BINDING_COOKIE] = os.urandom(16).hex()
    rep = b.post_acs(data, relay_state=a.relay_state)
    assert_rejected(sp, rep, ("in-response-to-unknown",))
    assert_no_session(sp, b, rep)


def test_other_browser_cannot_burn_the_request(sp, keys):
    """After B's refused attempt, A still completes its own login with the
    very same response (B's post consumed neither the request nor the
    assertion ID)."""
    a = sp.client()
    a.start_login()
    data = fresh_response(keys, sp, a)
    b = sp.client()
    b.start_login()
    rep = b.post_acs(data, relay_state=a.relay_state)
    assert_rejected(sp, rep, ("in-response-to-unknown",))
    ok = a.post_acs(data)
    assert ok.status == 303 and ok.session_cookie_set(), (ok.status, sp.log_lines(ok.test_id))
    assert a.get("/private/").status == 200


class _Raw:
    """One POST to the ACS on its own socket, sent but for its last byte
    (so that several arrive at the same instant: last-byte sync)."""

    def __init__(self, sp, client, data):
        import socket
        import uuid
        self.test_id = uuid.uuid4().hex[:16]
        body = urllib.parse.urlencode([("SAMLResponse", base64.b64encode(data)),
                                       ("RelayState", client.relay_state)]).encode()
        head = ("POST /saml/acs HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                "Content-Length: %d\r\nCookie: %s=%s\r\n%s: %s\r\n"
                "Connection: close\r\n\r\n"
                % (sp.httpd.port, len(body), L.BINDING_COOKIE,
                   client.cookies[L.BINDING_COOKIE], L.TEST_HEADER, self.test_id)).encode()
        self.sock = socket.create_connection(("127.0.0.1", sp.httpd.port), timeout=30)
        self.sock.sendall(head + body[:-1])
        self.last = body[-1:]

    def finish(self):
        import http.client
        self.sock.sendall(self.last)
        resp = http.client.HTTPResponse(self.sock)
        resp.begin()
        resp.read()
        self.status = resp.status
        self.set_cookies = resp.msg.get_all("Set-Cookie") or []
        self.sock.close()

    def session_cookie_set(self):
        return any(c.startswith(L.COOKIE + "=") and c.split(";")[0] != L.COOKIE + "="
                   for c in self.set_cookies)


def _race(sp, keys, same, posts=8):
    """`posts` connections holding one victim's binding cookie post, at the
    same instant, answers to the victim's one outstanding request (one
    response several times, or several different valid responses)."""
    import threading
    a = sp.client()
    a.start_login()
    ctx = attack_context(keys, sp, a.request_id)
    one = ctx.response()
    raws = [_Raw(sp, a, one if same else ctx.response()) for _ in range(posts)]
    barrier = threading.Barrier(posts)

    def go(raw):
        barrier.wait(10)
        raw.finish()
    ts = [threading.Thread(target=go, args=(raw,)) for raw in raws]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    return raws


@pytest.mark.parametrize("same", [True, False], ids=["same-response", "different-responses"])
def test_one_request_one_session_under_concurrency(live, keys, same):
    """A request is answered once (DESIGN: InResponseTo = a request we sent,
    not yet answered), also when the answers arrive in parallel: at most one
    session per outstanding request, the others refused with a reason. A
    race can only hide a bug, never invent one: several rounds. (None at
    all can happen: a refused duplicate drops the pending request that the
    accepted copy was about to take - fail closed, an availability matter.)"""
    sp = live("race")
    for _ in range(20):
        res = _race(sp, keys, same)
        opened = [r for r in res if r.session_cookie_set()]
        refused = [(r.status, sp.reasons(r.test_id)) for r in res if not r.session_cookie_set()]
        assert len(opened) <= 1, ("%d sessions for one request" % len(opened), refused)
        for status, reasons in refused:
            assert 400 <= status < 500 and reasons and \
                reasons[-1] in ("replay", "in-response-to-unknown"), refused


# --- the session cookie -----------------------------------------------------------------

@pytest.fixture
def victim(sp, keys):
    c = login(keys, sp)
    r = c.get("/private/")
    assert r.status == 200 and "PAGE:private" in r.r.text
    return c


def _with_cookie(sp, value):
    c = sp.client()
    c.cookies[L.COOKIE] = value
    return c


def _flip(hexstr, i):
    ch = hexstr[i]
    return hexstr[:i] + ("0" if ch != "0" else "1") + hexstr[i + 1:]


@pytest.mark.parametrize("pos", [0, 15, 31])
def test_tampered_session_cookie(sp, victim, pos):
    sid = victim.cookies[L.COOKIE]
    assert len(sid) == 32 and all(ch in "0123456789abcdef" for ch in sid), sid
    forged = _with_cookie(sp, _flip(sid, pos))
    assert_sent_to_idp(sp, forged.get("/private/"), "session unknown or expired")
    assert victim.get("/private/").status == 200      # the real one still works


def test_guessed_session_cookies(sp, victim):
    for _ in range(20):
        c = _with_cookie(sp, os.urandom(16).hex())
        assert_sent_to_idp(sp, c.get("/private/"), "session unknown or expired")


@pytest.mark.parametrize("value", [
    "", "0", "a" * 31, "a" * 33, "a" * 64, "A" * 32, "g" * 32, "z" * 4096,
    "../../../../etc/passwd", '"' + "a" * 30 + '"', "a" * 16 + "%00" + "a" * 13,
    "*", "a" * 31 + " ", "s:" + "a" * 30,
], ids=lambda v: "len%d-%s" % (len(v), v[:6].encode().hex()))
def test_malformed_session_cookie(sp, value):
    c = _with_cookie(sp, value)
    rep = c.get("/private/")
    assert rep.status == 302 and rep.location.startswith(sf.IDP_SSO_URL), (rep.status, rep.location)
    lines = authn_lines(sp, rep)
    assert any("no session" in l or "session unknown or expired" in l for l in lines), lines


def test_uppercase_copy_of_a_real_session_id(sp, victim):
    """The id is lower-case hex; its upper-case spelling is another value."""
    c = _with_cookie(sp, victim.cookies[L.COOKIE].upper())
    assert_sent_to_idp(sp, c.get("/private/"), "no session")


def test_forged_cookie_before_the_real_one(sp, victim):
    """Two cookies of the name: the module reads the first; a forged first
    one must not be rescued by the real one after it (nor the reverse be
    an error for the user is not a security matter and is not tested)."""
    c = sp.client()
    rep = c.get("/private/", cookies=False, headers={
        "Cookie": "%s=%s; %s=%s" % (L.COOKIE, os.urandom(16).hex(), L.COOKIE,
                                    victim.cookies[L.COOKIE])})
    assert rep.status == 302 and rep.location.startswith(sf.IDP_SSO_URL), rep.status


def test_session_fixation(sp, keys):
    """A session id planted in the browser before the login is never the
    id of the session the login opens."""
    planted = os.urandom(16).hex()
    c = sp.client()
    c.cookies[L.COOKIE] = planted
    c.start_login()
    rep = c.post_acs(fresh_response(keys, sp, c))
    assert rep.status == 303 and rep.session_cookie_set()
    assert c.cookies[L.COOKIE] != planted
    assert_sent_to_idp(sp, _with_cookie(sp, planted).get("/private/"),
                       "session unknown or expired")


def test_old_session_id_dies_with_a_new_login(sp, keys, victim):
    old = victim.cookies[L.COOKIE]
    victim.start_login()
    rep = victim.post_acs(fresh_response(keys, sp, victim))
    assert rep.status == 303 and victim.cookies[L.COOKIE] != old
    assert victim.get("/private/").status == 200
    assert_sent_to_idp(sp, _with_cookie(sp, old).get("/private/"), "session unknown or expired")


def test_session_replayed_after_logout(sp, keys):
    c = sp.client()
    c.start_login()
    data = fresh_response(keys, sp, c)
    rep = c.post_acs(data)
    assert rep.status == 303 and rep.session_cookie_set()
    sid = c.cookies[L.COOKIE]
    assert c.get("/private/").status == 200
    out = c.get("/saml/logout?return=/public/")
    assert out.status == 302
    # samlforge's IdP publishes a SingleLogoutService: the local session
    # ends first, then the browser goes there (Single Logout); the return
    # target comes after the IdP's answer (tests/integration/test_slo.py)
    if not out.location.startswith(sf.IDP_SSO_URL.rsplit("/", 1)[0] + "/slo?"):
        assert_local_location(sp, out.location, "/public/")
    assert L.COOKIE not in c.cookies                  # cleared by Max-Age=0
    # the stolen cookie, replayed after the logout
    thief = _with_cookie(sp, sid)
    assert_sent_to_idp(sp, thief.get("/private/"), "session unknown or expired")
    # and the response that opened it, posted again by the same browser
    c.start_login()
    again = c.post_acs(data)
    assert_rejected(sp, again, ("replay", "in-response-to-unknown"))
    assert_no_session(sp, c, again)


def test_session_expires_with_session_not_on_or_after(sp, keys):
    """SessionNotOnOrAfter 3 s ahead bounds the session."""
    c = login(keys, sp, authn_statements=[{"class_ref": sf.PPT, "session_not_on_or_after": 3}])
    assert c.get("/private/").status == 200
    time.sleep(4.2)
    assert_sent_to_idp(sp, c.get("/private/"), "session unknown or expired")


@pytest.mark.parametrize("option_set", ["main", "secure"])
def test_cookie_attributes(live, keys, option_set):
    """Session cookie: HttpOnly, Path=/, Secure when configured, no
    Domain (host-only); binding cookie: HttpOnly, Path=/saml, SameSite=None
    only together with Secure (else Lax)."""
    sp = live(option_set)
    c = sp.client()
    rep = c.get("/saml/login?target=/private/")
    binding = [h for h in rep.set_cookies() if h.startswith(L.BINDING_COOKIE + "=")]
    c.start_login()
    ok = c.post_acs(fresh_response(keys, sp, c))
    session = [h for h in ok.set_cookies() if h.startswith(L.COOKIE + "=")]
    assert len(binding) == 1 and len(session) == 1, (binding, session)
    secure = option_set == "secure"
    for h, path in ((binding[0], "/saml"), (session[0], "/")):
        attrs = [a.strip().lower() for a in h.split(";")[1:]]
        assert "httponly" in attrs, h
        assert ("secure" in attrs) == secure, h
        assert "path=%s" % path in attrs, h
        assert not [a for a in attrs if a.startswith("domain=")], h
    battrs = [a.strip().lower() for a in binding[0].split(";")[1:]]
    assert ("samesite=none" if secure else "samesite=lax") in battrs, binding[0]


# --- open redirects -----------------------------------------------------------------------

EVIL_TARGETS = [
    "https://evil.example/", "http://evil.example", "//evil.example", "//evil.example/private/",
    "/\\evil.example", "\\\\evil.example", "/\\/evil.example", "\\/evil.example",
    "/\t/evil.example", "/\n/evil.example", "https:/evil.example", "javascript:alert(1)",
    "evil.example", " //evil.example", "/%0d%0aLocation:%20https://evil.example/",
]


@pytest.mark.parametrize("target", EVIL_TARGETS + ["%2F%2Fevil.example", "%2F%5Cevil.example"],
                         ids=lambda t: t.encode().hex()[:24])
def test_login_target_must_be_local(sp, target):
    """/saml/login?target=...: 400, reason logged, no AuthnRequest."""
    c = sp.client()
    q = target if target.startswith("%") else urllib.parse.quote(target, safe="")
    rep = c.get("/saml/login?target=" + q)
    if target.startswith("/%0d%0a"):
        # a local path whose text merely spells CR LF: the login may start,
        # to the IdP, with one Location header (no header splitting)
        assert rep.status == 302 and rep.location.startswith(sf.IDP_SSO_URL), rep.location
        assert len(rep.r.raw.headers.getlist("Location")) == 1
        return
    assert rep.status == 400, (rep.status, rep.location)
    assert "Location" not in rep.r.headers
    assert L.BINDING_COOKIE not in c.cookies
    assert_rejected(sp, rep, ("bad-input",), statuses=(400,))


def test_login_target_given_twice(sp):
    c = sp.client()
    rep = c.get("/saml/login?target=/private/&target=https%3A%2F%2Fevil.example%2F")
    assert rep.status == 400 and "Location" not in rep.r.headers
    assert_rejected(sp, rep, ("bad-input",), statuses=(400,))


def test_login_target_local_is_where_the_login_lands(sp, keys):
    c = sp.client()
    c.start_login("/private/?x=1")
    rep = c.post_acs(fresh_response(keys, sp, c), relay_state="https://evil.example/")
    assert rep.status == 303
    assert_local_location(sp, rep.location, "/private/")
    assert urllib.parse.urlsplit(rep.location).query == "x=1"


@pytest.mark.parametrize("relay", EVIL_TARGETS, ids=lambda t: t.encode().hex()[:24])
def test_unsolicited_relaystate_is_never_followed_off_site(live, keys, relay):
    """AllowUnsolicited On: RelayState is the only target; a non-local one
    lands on / of this server."""
    sp = live("unsolicited")
    c = sp.client()
    rep = c.post_acs(attack_context(keys, sp, None).base("unsolicited"), relay_state=relay)
    assert rep.status == 303, (rep.status, sp.log_lines(rep.test_id))
    if relay.startswith("/%0d%0a"):
        # a local path that merely spells CR LF: followed, on this server
        assert len(rep.r.raw.headers.getlist("Location")) == 1
        assert_local_location(sp, rep.location, relay)
        return
    assert_local_location(sp, rep.location, "/")


def test_relaystate_of_a_rejected_response_is_not_followed(sp, keys):
    c = sp.client()
    c.start_login()
    bad = attack_context(keys, sp, c.request_id).response(audiences=("https://other/",))
    rep = c.post_acs(bad, relay_state="https://evil.example/")
    assert_rejected(sp, rep, ("audience-mismatch", "in-response-to-unknown"))
    assert "evil" not in rep.location
    assert_no_session(sp, c, rep)


def test_relaystate_cannot_split_the_error_redirect(sp, keys):
    """CR LF in RelayState, echoed into the error URL's query: encoded, one
    Location, no injected Set-Cookie."""
    c = sp.client()
    c.start_login("/witherr/")
    bad = attack_context(keys, sp, c.request_id).response(audiences=("https://other/",))
    rep = c.post_acs(bad, relay_state="x\r\nSet-Cookie: %s=%s" % (L.COOKIE, "a" * 32))
    assert_rejected(sp, rep, ("audience-mismatch",), error_url="/err/")
    assert len(rep.r.raw.headers.getlist("Location")) == 1
    assert "\r" not in rep.location and "\n" not in rep.location
    assert not rep.session_cookie_set() and not [h for h in rep.set_cookies() if "a" * 32 in h]


@pytest.mark.parametrize("ret", EVIL_TARGETS, ids=lambda t: t.encode().hex()[:24])
def test_logout_return_must_be_local(sp, ret):
    c = sp.client()
    rep = c.get("/saml/logout?return=" + urllib.parse.quote(ret, safe=""))
    if ret.startswith("/%0d%0a"):
        assert rep.status == 302
        assert len(rep.r.raw.headers.getlist("Location")) == 1
        assert urllib.parse.urlsplit(rep.location).netloc == "127.0.0.1:%d" % sp.httpd.port
        return
    # not local: no redirect at all, the page that confirms the logout
    assert rep.status == 200 and not rep.location, (rep.status, rep.location)
    assert any("return URL is not local" in l for l in sp.log_lines(rep.test_id)), \
        sp.log_lines(rep.test_id)


# --- spoofed identity headers ----------------------------------------------------------------

SPOOF_HEADERS = {
    "AUTHN_CONTEXT_CLASS": SPOOF_CLASS,
    "Authn-Context-Class": SPOOF_CLASS,
    "authn-context-class": SPOOF_CLASS,
    "Shib-AuthnContext-Class": SPOOF_CLASS,
    "Shib_AuthnContext_Class": SPOOF_CLASS,
    "Shib-Authentication-Instant": "2099-01-01T00:00:00Z",
    "Shib-Identity-Provider": "https://evil.example/idp",
    "AUTHN_CONTEXT_NAMEID": SPOOF_USER,
    "Authn-Context-Nameid": SPOOF_USER,
    "AUTHN_CONTEXT_INSTANT": "2099-01-01T00:00:00Z",
    "REMOTE_USER": SPOOF_USER,
    "Remote-User": SPOOF_USER,
    # back ends that fold any punctuation (PHP-FPM, some WSGI/Rack servers)
    "Authn.Context.Class": SPOOF_CLASS,
    "Remote.User": SPOOF_USER,
    "Shib.AuthnContext.Class": SPOOF_CLASS,
    "Authn~Context~Class": SPOOF_CLASS,
}
MARKERS = (SPOOF_USER, SPOOF_CLASS, "2099-01-01", "evil.example")


def spoofed(client, path):
    # requests merges header names case-insensitively: send the variants
    # that differ only in case as separate requests
    reps = []
    seen = set()
    batch = {}
    for k, v in SPOOF_HEADERS.items():
        if k.lower() in seen:
            reps.append(client.get(path, headers={k: v}))
            continue
        seen.add(k.lower())
        batch[k] = v
    reps.insert(0, client.get(path, headers=batch))
    return reps


def _no_marker(items):
    return [kv for kv in items if any(m in str(kv[1]) for m in MARKERS)]


def test_spoofed_headers_never_reach_a_cgi(sp, keys):
    c = login(keys, sp)
    for rep in spoofed(c, "/private/vars"):
        assert rep.status == 200, rep.status
        env = json.loads(rep.r.text)
        assert env["REMOTE_USER"] == A.GOOD_NAME
        assert env["AUTHN_CONTEXT_CLASS"] == sf.PPT
        # httpd's CGI environment spells the alias Shib_AuthnContext_Class
        assert env["Shib_AuthnContext_Class"] == sf.PPT
        assert env["AUTHN_CONTEXT_NAMEID"] == A.GOOD_NAME
        assert _no_marker(env.items()) == [], _no_marker(env.items())


def test_spoofed_headers_never_reach_a_public_cgi(sp):
    """No AuthType at all: the headers are still removed."""
    c = sp.client()
    for rep in spoofed(c, "/public/vars"):
        assert rep.status == 200, rep.status
        env = json.loads(rep.r.text)
        assert "REMOTE_USER" not in env and "AUTHN_CONTEXT_CLASS" not in env
        assert _no_marker(env.items()) == [], _no_marker(env.items())


@pytest.mark.parametrize("path,exported", [("/proxy-export/x", True), ("/proxy-plain/x", False)])
def test_spoofed_headers_never_reach_a_proxied_app(sp, keys, path, exported):
    c = login(keys, sp)
    for rep in spoofed(c, path):
        assert rep.status == 200, (rep.status, rep.r.text[:200])
        headers = json.loads(rep.r.text)["headers"]
        assert _no_marker(headers) == [], _no_marker(headers)
        ours = {k.upper().replace("-", "_"): v for k, v in headers
                if k.upper().replace("-", "_").startswith(("AUTHN_CONTEXT_", "SHIB_",
                                                           "REMOTE_USER"))}
        if exported:
            assert ours.get("AUTHN_CONTEXT_CLASS") == sf.PPT, headers
            assert ours.get("REMOTE_USER") == A.GOOD_NAME, headers
        else:
            assert ours == {}, headers


def test_spoofed_headers_never_reach_a_public_proxied_app(sp):
    c = sp.client()
    for rep in spoofed(c, "/proxy-public/x"):
        assert rep.status == 200
        headers = json.loads(rep.r.text)["headers"]
        assert _no_marker(headers) == [], headers
        assert not [k for k, _ in headers
                    if k.upper().replace("-", "_").startswith(("AUTHN_CONTEXT_", "SHIB_",
                                                               "REMOTE_USER"))], headers


def test_spoofed_headers_do_not_open_the_mfa_location(sp, keys):
    """A password session plus every spoofed MFA header: 403 everywhere the
    location demands MFA (the proxied app is never called)."""
    c = login(keys, sp)
    for path in ("/mfa/", "/mfa/vars", "/mfa-proxy/x"):
        for rep in spoofed(c, path):
            assert rep.status == 403, (path, rep.status, rep.r.text[:200])
            assert "PAGE:mfa" not in rep.r.text and '"headers"' not in rep.r.text
            assert any("reason=insufficient-context" in l for l in sp.log_lines(rep.test_id)), \
                sp.log_lines(rep.test_id)


def test_spoofed_headers_without_a_session_go_to_the_idp(sp):
    c = sp.client()
    for path in ("/private/vars", "/mfa/", "/proxy-export/x"):
        for rep in spoofed(c, path):
            assert_sent_to_idp(sp, rep, "no session")


def test_an_mfa_session_does_open_it(sp, keys):
    """The control: the same location opens for a real MFA session."""
    c = login(keys, sp, classes=(sf.MFA,))
    assert c.get("/mfa/").status == 200
    env = json.loads(c.get("/mfa/vars").r.text)
    assert env["AUTHN_CONTEXT_CLASS"] == sf.MFA


# --- last: the 60 s session lifetime ------------------------------------------------------------

def test_zz_session_lifetime_expires(live):
    """AuthnContextSessionLifetime 60 (the smallest value): the session the
    live fixture opened at its start is refused once 60 s have passed."""
    sp = live("lifetime")
    c, opened = live.expiring
    left = opened + L.LIFETIME + 1.5 - time.monotonic()
    if left > 0:
        time.sleep(left)
    assert_sent_to_idp(sp, c.get("/private/"), "session unknown or expired")
    assert_no_session(sp, c)
