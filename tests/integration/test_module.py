"""Issue 3: the httpd module against the real pysaml2 IdP — login, policy
granted and denied, <RequireAll>, variables, header export and anti-spoofing,
replay, expiry, logout, SP metadata, two servers sharing Redis."""

import datetime
import http.client
import json
import os
import re
import time
import urllib.parse

import pytest
from lxml import etree

from client import Browser, decode_redirect_request
from helpers import (MFA, PPT, browser_for, classes_of, idp_hops, is_redirect_to, login,
                     page_of, set_cookie_headers, variables)

pytestmark = pytest.mark.issue3

SCHEMA_DIR = "/usr/lib/python3/dist-packages/saml2/data/schemas/"


def test_login_through_idp_and_back(sp, idp):
    b = browser_for("alice")
    r = b.get(sp.url("/private/"))
    assert r.status_code == 200 and page_of(r) == "private", (r.status_code, b.hops)
    # The first hop sent the browser to the IdP's SSO endpoint (HTTP-Redirect).
    first = b.hops[0]
    assert first[2] == 302 and first[3].startswith(idp.base + "/sso/redirect?SAMLRequest="), b.hops
    xml, q = decode_redirect_request(first[3])
    # RelayState is an opaque short key, not the target URL.
    assert "RelayState" in q and len(q["RelayState"]) <= 80
    assert "private" not in q["RelayState"] and "/" not in q["RelayState"], q["RelayState"]
    # What the IdP received: our issuer, our ACS, HTTP-POST back, its own SSO URL.
    reqs = idp.events("authn_request")
    assert len(reqs) == 1 and reqs[0]["valid"], reqs
    assert reqs[0]["issuer"] == sp.entity_id
    assert reqs[0]["acs_url"] == sp.url("/saml/acs")
    assert reqs[0]["destination"] == idp.base + "/sso/redirect"
    assert reqs[0]["protocol_binding"] == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    # The IdP posted one response to the ACS, which answered with a cookie.
    assert len(b.saml_responses) == 1 and b.saml_responses[0][0] == sp.url("/saml/acs")
    acs_hop = [h for h in b.hops if h[0] == "POST" and h[1] == sp.url("/saml/acs")]
    assert acs_hop and acs_hop[0][2] in (302, 303), b.hops
    # Once logged in, the page is served without the IdP.
    n = len(b.hops)
    r = b.get(sp.url("/private/"))
    assert r.status_code == 200 and page_of(r) == "private"
    assert len(b.hops) == n + 1 and not idp_hops(b, idp, n)


@pytest.mark.parametrize("sign", ["assertion", "response", "both"])
def test_login_with_encrypted_assertion(sp, idp, sign):
    """The IdP encrypts the assertion to the SP's certificate (AES-256-GCM,
    RSA-OAEP), as Shibboleth and AD FS do by default."""
    import base64
    idp.control(encrypt=True, sign=sign)
    b = browser_for("bob", otp="123456")
    r = b.get(sp.url("/mfa/vars"))
    assert r.status_code == 200, (r.status_code, r.text[:300], b.hops)
    env = json.loads(r.text)
    assert env["REMOTE_USER"] == "bob" and classes_of(env) == [MFA]
    doc = etree.fromstring(base64.b64decode(b.saml_responses[0][1]["SAMLResponse"]))
    saml = "{urn:oasis:names:tc:SAML:2.0:assertion}"
    assert doc.find(saml + "Assertion") is None
    assert doc.find(saml + "EncryptedAssertion") is not None


def test_session_cookie_attributes(sp, idp):
    b = browser_for("alice")
    r = b.get(sp.url("/private/"), follow=False)
    r = b.follow(r, stop_at=lambda x: x.request.method == "POST" and x.url == sp.url("/saml/acs"))
    cookies = set_cookie_headers(r)
    assert cookies, ("the ACS set no cookie", r.status_code, r.headers)
    c = cookies[0]
    name, _, rest = c.partition("=")
    value = rest.split(";")[0]
    assert re.fullmatch(r"[A-Za-z0-9_\-+/=.]{22,}", value), c    # >= 128 bits, opaque
    assert re.search(r";\s*HttpOnly", c, re.I), c
    assert re.search(r";\s*SameSite=Lax", c, re.I), c
    assert not re.search(r";\s*Secure", c, re.I), c  # AuthnContextCookieSecure Off


@pytest.mark.parametrize("sign", ["assertion", "response", "both"])
def test_login_with_response_signature_variants(sp, idp, sign):
    idp.control(sign=sign)
    b = browser_for("alice")
    r = b.get(sp.url("/private/"))
    assert r.status_code == 200 and page_of(r) == "private", (r.status_code, r.text[:300])
    # What the IdP really sent: RSA-SHA256 signatures where asked for.
    import base64
    doc = etree.fromstring(base64.b64decode(b.saml_responses[0][1]["SAMLResponse"]))
    ds = "{http://www.w3.org/2000/09/xmldsig#}"
    signed = [sig.getparent().tag.split("}")[1] for sig in doc.iter(ds + "Signature")]
    assert sorted(signed) == sorted({"assertion": ["Assertion"], "response": ["Response"],
                                     "both": ["Assertion", "Response"]}[sign]), signed
    algs = {m.get("Algorithm") for m in doc.iter(ds + "SignatureMethod")}
    assert algs == {"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"}, algs
    digests = {m.get("Algorithm") for m in doc.iter(ds + "DigestMethod")}
    assert digests == {"http://www.w3.org/2001/04/xmlenc#sha256"}, digests


def test_mfa_location_denies_password_session_without_loop(sp, idp):
    b = login(sp, "alice")
    n = len(b.hops)
    r = b.get(sp.url("/mfa/"))
    assert r.status_code == 403, (r.status_code, b.hops[n:])
    assert not idp_hops(b, idp, n), "a denied session must not be sent to the IdP again"
    assert len(b.hops) == n + 1


def test_mfa_location_denies_bob_without_code(sp, idp):
    b = login(sp, "bob")          # no one-time code: PasswordProtectedTransport
    assert classes_of(variables(b, sp)) == [PPT]
    r = b.get(sp.url("/mfa/"))
    assert r.status_code == 403


def test_mfa_location_granted_for_mfa_session(sp, idp):
    b = browser_for("bob", otp="123456")
    r = b.get(sp.url("/mfa/"))
    assert r.status_code == 200 and page_of(r) == "mfa", (r.status_code, b.hops)
    assert b.login_forms == 1


def test_require_all_with_valid_user(sp, idp):
    # No session: authentication starts (redirect to the IdP), not a 403.
    anon = Browser()
    r = anon.get(sp.url("/both/"), follow=False)
    assert is_redirect_to(r, idp.base + "/sso/"), (r.status_code, r.headers)
    # Password session: valid-user holds, the class does not.
    b = login(sp, "alice")
    assert b.get(sp.url("/both/")).status_code == 403
    # MFA session: both hold.
    b = login(sp, "bob", otp="123456")
    r = b.get(sp.url("/both/"))
    assert r.status_code == 200 and page_of(r) == "both"


def test_require_expr_sees_variables(sp, idp):
    b = login(sp, "alice")
    assert b.get(sp.url("/expr/")).status_code == 403
    b = login(sp, "bob", otp="123456")
    r = b.get(sp.url("/expr/"))
    assert r.status_code == 200 and page_of(r) == "expr"


def test_variables_seen_by_cgi(sp, idp):
    b = login(sp, "bob", otp="123456")
    env = variables(b, sp)
    assert env.get("REMOTE_USER") == "bob"
    assert env.get("AUTH_TYPE") == "SAML"
    assert classes_of(env) == [MFA]
    assert env.get("AUTHN_CONTEXT_IDP") == idp.entity_id
    assert env.get("AUTHN_CONTEXT_SESSION_INDEX"), env
    inst = env.get("AUTHN_CONTEXT_INSTANT", "")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", inst), inst
    t = datetime.datetime.strptime(inst[:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc)
    assert abs(time.time() - t.timestamp()) < 120
    # The Shibboleth-compatible alias (CGI turns '-' into '_' in names).
    shib = env.get("Shib-AuthnContext-Class", env.get("Shib_AuthnContext_Class"))
    assert shib == MFA, sorted(k for k in env if "hib" in k)
    # Attributes, by FriendlyName (README: AUTHN_CONTEXT_ATTR_<NAME>).
    assert env.get("AUTHN_CONTEXT_ATTR_MAIL") == "bob@example.org", env
    assert env.get("AUTHN_CONTEXT_ATTR_UID") == "bob"
    assert env.get("AUTHN_CONTEXT_ATTR_DISPLAYNAME") == "Bob Twofactor"
    # The password user sees its own facts, not bob's.
    a = login(sp, "alice")
    env = variables(a, sp)
    assert env.get("REMOTE_USER") == "alice" and classes_of(env) == [PPT]


def test_variables_cannot_be_spoofed_by_request_headers(sp, idp):
    b = login(sp, "alice")
    r = b.get(sp.url("/private/vars"), headers={
        "AUTHN-CONTEXT-CLASS": MFA, "Shib-AuthnContext-Class": MFA})
    env = json.loads(r.text)
    assert classes_of(env) == [PPT]
    assert env.get("Shib_AuthnContext_Class", env.get("Shib-AuthnContext-Class")) == PPT
    assert b.get(sp.url("/mfa/"), headers={"AUTHN-CONTEXT-CLASS": MFA,
                                           "AUTHN_CONTEXT_CLASS": MFA}).status_code == 403


def test_variables_set_before_authn_are_replaced(sp, idp):
    """A SetEnvIf (header_parser, before authn) names AUTHN_CONTEXT_CLASS and
    a Shib-* alias: the session's values replace them instead of being
    added beside them, so Require expr (first match) and the CGI see the
    session's class only."""
    a = login(sp, "alice")
    assert a.get(sp.url("/setenv-expr/")).status_code == 403
    env = variables(a, sp, "/setenv/vars")
    assert classes_of(env) == [PPT], env
    assert env.get("Shib-Identity-Provider",
                   env.get("Shib_Identity_Provider")) == idp.entity_id, env
    b = login(sp, "bob", otp="123456")
    assert b.get(sp.url("/setenv-expr/")).status_code != 403


SPOOF = "spoofed-by-client-7f3a"
SPOOF_HEADERS = {
    "AUTHN_CONTEXT_CLASS": SPOOF, "Authn-Context-Class": SPOOF,
    "AUTHN_CONTEXT_IDP": SPOOF, "Authn-Context-Instant": SPOOF,
    "AUTHN_CONTEXT_SESSION_INDEX": SPOOF,
    "Shib-AuthnContext-Class": SPOOF, "Shib_Authentication_Instant": SPOOF,
}


def _norm(name):
    return name.upper().replace("-", "_")


VAR_NAMES = {"AUTHN_CONTEXT_CLASS", "AUTHN_CONTEXT_IDP", "AUTHN_CONTEXT_INSTANT",
             "AUTHN_CONTEXT_SESSION_INDEX", "SHIB_AUTHNCONTEXT_CLASS",
             "SHIB_AUTHENTICATION_INSTANT"}


def _variable_headers(headers):
    """Back-end headers whose name (any spelling) ends with a variable name."""
    return [(k, v) for k, v in headers if any(_norm(k).endswith(n) for n in VAR_NAMES)]


def test_header_export_through_proxy(sp, idp):
    b = login(sp, "alice")
    r = b.get(sp.url("/proxy-export/"), headers=SPOOF_HEADERS)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    seen = json.loads(r.text)
    assert seen["path"].startswith("/export")
    hdrs = seen["headers"]
    assert not [h for h in hdrs if SPOOF in h[1]], ("spoofed header reached the back end", hdrs)
    exported = _variable_headers(hdrs)
    cls = [v for k, v in exported if _norm(k).endswith("AUTHN_CONTEXT_CLASS")]
    assert cls and cls[0].split() == [PPT], hdrs
    idp_hdr = [v for k, v in exported if _norm(k).endswith("AUTHN_CONTEXT_IDP")]
    assert idp_hdr == [idp.entity_id], hdrs


def test_incoming_headers_stripped_without_export(sp, idp):
    b = login(sp, "alice")
    r = b.get(sp.url("/proxy-plain/"), headers=SPOOF_HEADERS)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    seen = json.loads(r.text)
    assert seen["path"].startswith("/plain")
    hdrs = seen["headers"]
    assert not [h for h in hdrs if SPOOF in h[1]], ("spoofed header reached the back end", hdrs)
    assert not _variable_headers(hdrs), hdrs     # nothing exported with Off


def _no_session_cookie_set(r):
    for c in set_cookie_headers(r):
        value = c.split("=", 1)[1].split(";")[0] if "=" in c else ""
        expired = re.search(r"max-age=0|expires=[^;]*1970", c, re.I)
        if value and not expired:
            return False
    return True


def test_replayed_response_rejected(sp, idp):
    b = login(sp, "alice")
    assert len(b.saml_responses) == 1
    acs, fields = b.saml_responses[0]
    # The same response, posted again by another browser: refused, no session.
    thief = Browser()
    r = thief.post(acs, data=fields, follow=False)
    assert r.status_code == 400, (r.status_code, r.headers, r.text[:300])
    assert _no_session_cookie_set(r), set_cookie_headers(r)
    r = thief.get(sp.url("/private/"), follow=False)
    assert is_redirect_to(r, idp.base + "/sso/"), (r.status_code, r.headers)
    # ... and by the same browser, too.
    r = b.post(acs, data=fields, follow=False)
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert re.search(r"replay|in-response-to", sp.httpd.log_text()), sp.httpd.log_tail(10)


def test_unsolicited_response_rejected_by_default(sp, idp):
    b = browser_for("alice")
    r = b.get(idp.base + "/unsolicited?" + urllib.parse.urlencode(
        {"user": "alice", "class": MFA, "sp": sp.entity_id}), follow=False)
    assert r.status_code == 200
    r = b.follow(r, login=False)
    post = [h for h in b.hops if h[0] == "POST" and h[1] == sp.url("/saml/acs")]
    assert post and post[0][2] == 400, b.hops
    r = b.get(sp.url("/mfa/"), follow=False)
    assert is_redirect_to(r, idp.base + "/sso/"), (r.status_code, r.headers)


@pytest.fixture(scope="module")
def short_sp(sp_factory):
    # 60 s is the smallest lifetime the module accepts.
    return sp_factory("short", lifetime=60)


def test_expired_session(short_sp, idp):
    b = login(short_sp, "alice")
    r = b.get(short_sp.url("/private/"), follow=False)
    assert r.status_code == 200
    time.sleep(62)
    r = b.get(short_sp.url("/private/"), follow=False)
    assert r.status_code != 200, "an expired session still opened the page"
    assert is_redirect_to(r, idp.base + "/sso/"), (r.status_code, r.headers)
    short_sp.check_log()


def test_idp_session_not_on_or_after_ends_session(sp, idp):
    idp.control(session_seconds=3)           # AuthnStatement/@SessionNotOnOrAfter
    b = login(sp, "alice")
    assert b.get(sp.url("/private/"), follow=False).status_code == 200
    time.sleep(4)
    r = b.get(sp.url("/private/"), follow=False)
    assert is_redirect_to(r, idp.base + "/sso/"), (r.status_code, r.headers)


def test_logout(sp, idp):
    b = login(sp, "alice")
    old = {c.name: c.value for c in b.s.cookies if c.name != "idp_session"}
    r = b.get(sp.url("/saml/logout?return=/public/"), follow=False)
    assert r.status_code in (302, 303), (r.status_code, r.text[:300])
    assert urllib.parse.urljoin(sp.base, r.headers["Location"]) == sp.url("/public/")
    cleared = [c for c in set_cookie_headers(r)
               if re.search(r"max-age=0|expires=[^;]*(19[0-9][0-9]|20[01][0-9])", c, re.I)]
    assert cleared, ("logout did not expire the cookie", set_cookie_headers(r))
    r = b.get(sp.url("/private/"), follow=False)
    assert is_redirect_to(r, idp.base + "/sso/"), (r.status_code, r.headers)
    # The old cookie value is dead server side too.
    replay = Browser()
    for name, value in old.items():
        replay.s.cookies.set(name, value, domain="127.0.0.1", path="/")
    r = replay.get(sp.url("/private/"), follow=False)
    assert is_redirect_to(r, idp.base + "/sso/"), (r.status_code, r.headers)


def test_one_connection_follows_logout_and_new_sessions(sp, idp):
    """The module keeps the last session it decoded on a connection and
    reuses it only while the cache hands back the same record: on one
    keep-alive connection, a logout, another user's cookie and a cookie
    that never existed must all be seen at once."""
    alice = login(sp, "alice")
    bob = login(sp, "bob", otp="123456")
    name = "authncontext_session"

    def cookie(b):
        return "%s=%s" % (name, b.s.cookies.get(name))

    host, port = urllib.parse.urlsplit(sp.base).netloc.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=10)

    def get(path, ck):
        c.request("GET", path, headers={"Cookie": ck})
        r = c.getresponse()
        body = r.read()
        return r.status, body

    for _ in range(3):
        st, body = get("/private/vars", cookie(alice))
        assert st == 200 and json.loads(body)["REMOTE_USER"] == "alice"
    st, body = get("/private/vars", cookie(bob))
    assert st == 200 and json.loads(body)["REMOTE_USER"] == "bob"
    assert get("/mfa/", cookie(alice))[0] == 403
    st, _ = get("/saml/logout?return=/public/", cookie(alice))
    assert st in (302, 303)
    assert get("/private/", cookie(alice))[0] == 302
    assert get("/private/", "%s=%s" % (name, "0" * 32))[0] == 302
    st, body = get("/private/vars", cookie(bob))
    assert st == 200 and json.loads(body)["REMOTE_USER"] == "bob"
    c.close()


def test_logout_refuses_open_redirect(sp, idp):
    b = login(sp, "alice")
    r = b.get(sp.url("/saml/logout?return=http://evil.example/"), follow=False)
    loc = r.headers.get("Location", "")
    assert "evil.example" not in loc, (r.status_code, loc)


def test_login_endpoint_with_local_target(sp, idp):
    b = browser_for("alice")
    r = b.get(sp.url("/saml/login?target=/private/"))
    assert r.status_code == 200 and page_of(r) == "private", b.hops
    # An absolute target elsewhere is refused or replaced: never followed.
    b2 = browser_for("alice")
    r = b2.get(sp.url("/saml/login?target=http://evil.example/x"))
    for _m, url, _status, location in b2.hops:
        assert urllib.parse.urlsplit(url).hostname == "127.0.0.1", b2.hops
        if location:
            assert urllib.parse.urlsplit(location).hostname in (None, "127.0.0.1"), b2.hops


def _schema():
    class Local(etree.Resolver):
        def resolve(self, url, pubid, ctx):
            name = os.path.basename(url)
            if os.path.exists(SCHEMA_DIR + name):
                return self.resolve_filename(SCHEMA_DIR + name, ctx)
            return None
    p = etree.XMLParser(no_network=True, resolve_entities=False)
    p.resolvers.add(Local())
    return etree.XMLSchema(etree.parse(SCHEMA_DIR + "saml-schema-metadata-2.0.xsd", p))


def test_sp_metadata_validates(sp, idp, sp_keys):
    b = Browser()
    r = b.get(sp.url("/saml/metadata"), follow=False)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/samlmetadata+xml"), r.headers
    doc = etree.fromstring(r.content, etree.XMLParser(no_network=True, resolve_entities=False))
    schema = _schema()
    assert schema.validate(doc), schema.error_log
    md = "urn:oasis:names:tc:SAML:2.0:metadata"
    assert doc.tag == "{%s}EntityDescriptor" % md and doc.get("entityID") == sp.entity_id
    spsso = doc.find("{%s}SPSSODescriptor" % md)
    assert spsso is not None
    assert "urn:oasis:names:tc:SAML:2.0:protocol" in spsso.get("protocolSupportEnumeration")
    acs = spsso.findall("{%s}AssertionConsumerService" % md)
    assert [(a.get("Binding"), a.get("Location")) for a in acs] == [
        ("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST", sp.url("/saml/acs"))]
    certs = [c.text for c in doc.iter("{http://www.w3.org/2000/09/xmldsig#}X509Certificate")]
    pem = open(sp_keys[1]).read()
    body = "".join(l for l in pem.splitlines() if "CERTIFICATE" not in l)
    assert certs and all("".join(c.split()) == body for c in certs), certs


# --- two servers sharing a Redis session store ----------------------------------------

@pytest.fixture(scope="module")
def redis_server(workdir):
    import servers
    r = servers.Redis(os.path.join(workdir, "redis-%d" % os.getpid())).start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def cluster(sp_factory, redis_server):
    """Two httpd instances behind one public name (UseCanonicalName On,
    ServerName = A's address), one entityID and one Redis store."""
    import servers
    port_a, port_b = servers.free_port(), servers.free_port()
    name = "127.0.0.1:%d" % port_a
    cache = "redis:127.0.0.1:%d" % redis_server.port
    a = sp_factory("cluster-a", port=port_a, cache=cache, entity_id="http://sp.test/cluster",
                   server_name=name, use_canonical=True)
    b = sp_factory("cluster-b", port=port_b, cache=cache, entity_id="http://sp.test/cluster",
                   server_name=name, use_canonical=True, register=False)
    return a, b


def test_cluster_session_shared(cluster, idp):
    a, b = cluster
    br = login(a, "alice")
    n = len(br.hops)
    r = br.get(b.url("/private/vars"))
    assert r.status_code == 200, (r.status_code, br.hops[n:])
    assert not idp_hops(br, idp, n), "server B sent a logged-in user to the IdP"
    assert json.loads(r.text).get("REMOTE_USER") == "alice"


def test_cluster_login_started_on_b_finished_on_a(cluster, idp):
    a, b = cluster
    br = browser_for("alice")
    r = br.get(b.url("/saml/login?target=/private/"), follow=False)
    assert is_redirect_to(r, idp.base + "/sso/"), (r.status_code, r.headers)
    r = br.follow(r)
    # The IdP answered to the public ACS (A's address), which found B's request in Redis.
    assert br.saml_responses and br.saml_responses[0][0] == a.url("/saml/acs")
    assert r.status_code == 200 and page_of(r) == "private", br.hops


def test_cluster_replay_on_other_server_rejected(cluster, idp):
    a, b = cluster
    br = login(a, "alice")
    acs, fields = br.saml_responses[0]
    r = Browser().post(b.url("/saml/acs"), data=fields, follow=False)
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert _no_session_cookie_set(r)
    log = b.httpd.log_text()
    assert re.search(r"replay|in-response-to", log), b.httpd.log_tail(10)
    assert "destination-mismatch" not in log


def test_cluster_redis_down_fails_closed_then_recovers(cluster, idp, redis_server):
    a, b = cluster
    br = login(a, "alice")
    try:
        redis_server.stop()
        for srv in (a, b):
            r = br.get(srv.url("/private/"), follow=False)
            assert r.status_code == 503, (srv.name, r.status_code, r.headers)
    finally:
        if redis_server.proc is None:
            redis_server.start()
    # Redis is empty after the restart: a new login works on both servers,
    # once the servers' redis connections have been re-established (bounded).
    deadline = time.monotonic() + 30
    while True:
        br2 = browser_for("alice")
        r = br2.get(a.url("/private/"))
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert r.status_code == 200 and page_of(r) == "private", (r.status_code, br2.hops)
    deadline = time.monotonic() + 30
    while True:
        r = br2.get(b.url("/private/"), follow=False)
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert r.status_code == 200, (r.status_code, r.headers)
    a.check_log()
    b.check_log()


@pytest.fixture(scope="module")
def custom_sp(sp_factory):
    return sp_factory("custom", extra="\n".join([
        "AuthnContextCookieName anc_custom",
        "AuthnContextCookieSameSite Strict",
        "AuthnContextEndpoint /sp-endpoints",
        "AuthnContextMaxResponseSize 20000",
        "<Location /private>",
        "    AuthnContextUserAttribute mail",
        "</Location>"]))


def test_custom_cookie_name_and_endpoint(custom_sp, idp):
    b = browser_for("alice")
    r = b.get(custom_sp.url("/private/"))
    assert r.status_code == 200 and page_of(r) == "private", (r.status_code, b.hops)
    assert b.saml_responses[0][0] == custom_sp.url("/sp-endpoints/acs")
    assert idp.events("authn_request")[0]["acs_url"] == custom_sp.url("/sp-endpoints/acs")
    acs = [h for h in b.hops if h[0] == "POST"][-1]
    assert acs[1] == custom_sp.url("/sp-endpoints/acs")
    names = [c.name for c in b.s.cookies if c.name != "idp_session"]
    assert "anc_custom" in names and all(n.startswith("anc_custom") for n in names), names
    r = Browser().get(custom_sp.url("/sp-endpoints/metadata"), follow=False)
    assert r.status_code == 200 and custom_sp.url("/sp-endpoints/acs") in r.text
    # The default endpoint path is not served by the module here.
    r = Browser().get(custom_sp.url("/saml/metadata"), follow=False)
    assert r.status_code == 404


def test_user_attribute_as_remote_user(custom_sp, idp):
    b = login(custom_sp, "alice")
    env = variables(b, custom_sp)
    assert env["REMOTE_USER"] == "alice@example.org", env.get("REMOTE_USER")


def test_samesite_strict_cookie(custom_sp, idp):
    b = browser_for("alice")
    r = b.get(custom_sp.url("/private/"), follow=False)
    r = b.follow(r, stop_at=lambda x: x.request.method == "POST"
                 and x.url == custom_sp.url("/sp-endpoints/acs"))
    cookies = [c for c in set_cookie_headers(r) if c.startswith("anc_custom=")]
    assert cookies and re.search(r";\s*SameSite=Strict", cookies[0], re.I), cookies


def test_oversized_response_refused(custom_sp, idp):
    import base64
    blob = base64.b64encode(b"<samlp:Response>" + b"A" * 40000 + b"</samlp:Response>").decode()
    r = Browser().post(custom_sp.url("/sp-endpoints/acs"), data={"SAMLResponse": blob},
                       follow=False)
    assert r.status_code in (400, 413), (r.status_code, r.text[:300])
    assert _no_session_cookie_set(r)
    assert re.search(r"too-large", custom_sp.httpd.log_text()), custom_sp.httpd.log_tail(5)


def test_garbage_response_refused(sp, idp):
    for data in ({"SAMLResponse": "not base64 !!"}, {"SAMLResponse": ""}, {},
                 {"SAMLResponse": "PGZvby8+"}):  # <foo/>
        r = Browser().post(sp.url("/saml/acs"), data=data, follow=False)
        assert r.status_code == 400, (data, r.status_code, r.text[:300])
        assert _no_session_cookie_set(r)


@pytest.fixture(scope="module")
def unsol_sp3(sp_factory):
    return sp_factory("unsol3", unsolicited="On")


def test_unsolicited_relay_state_is_not_an_open_redirect(unsol_sp3, idp):
    b = Browser()
    r = b.get(idp.base + "/unsolicited?" + urllib.parse.urlencode(
        {"user": "alice", "class": PPT, "sp": unsol_sp3.entity_id,
         "relay": "http://evil.example/steal"}), follow=False)
    r = b.follow(r, login=False, stop_at=lambda x: x.request.method == "POST")
    assert r.url == unsol_sp3.url("/saml/acs")
    loc = r.headers.get("Location", "")
    assert "evil.example" not in loc, (r.status_code, loc)
    # A local RelayState is honoured.
    b = Browser()
    r = b.get(idp.base + "/unsolicited?" + urllib.parse.urlencode(
        {"user": "alice", "class": PPT, "sp": unsol_sp3.entity_id,
         "relay": "/private/vars"}), follow=False)
    r = b.follow(r, login=False)
    assert r.status_code == 200 and json.loads(r.text)["REMOTE_USER"] == "alice", b.hops


def test_api_location_answers_401_without_session(sp, idp):
    r = Browser().get(sp.url("/api/"), follow=False)
    assert r.status_code == 401, (r.status_code, r.headers)
    assert r.headers.get("WWW-Authenticate", "").startswith("SAML"), r.headers
    assert "Location" not in r.headers
    assert not idp.events("authn_request")
    b = login(sp, "alice")
    r = b.get(sp.url("/api/"), follow=False)
    assert r.status_code == 200 and page_of(r) == "api"


# --- the same with memcached ------------------------------------------------------------

@pytest.fixture(scope="module")
def memcache_cluster(sp_factory, workdir):
    import servers
    mc = servers.Memcached(os.path.join(workdir, "memcached-%d" % os.getpid())).start()
    port_a, port_b = servers.free_port(), servers.free_port()
    name = "127.0.0.1:%d" % port_a
    cache = "memcache:127.0.0.1:%d" % mc.port
    try:
        a = sp_factory("mc-a", port=port_a, cache=cache, entity_id="http://sp.test/mc",
                       server_name=name, use_canonical=True)
        b = sp_factory("mc-b", port=port_b, cache=cache, entity_id="http://sp.test/mc",
                       server_name=name, use_canonical=True, register=False)
        yield a, b
    finally:
        mc.stop()


def test_memcache_cluster_session_shared_and_replay_refused(memcache_cluster, idp):
    a, b = memcache_cluster
    br = login(a, "alice")
    n = len(br.hops)
    r = br.get(b.url("/private/vars"))
    assert r.status_code == 200 and json.loads(r.text)["REMOTE_USER"] == "alice", br.hops[n:]
    assert not idp_hops(br, idp, n)
    acs, fields = br.saml_responses[0]
    r = Browser().post(b.url("/saml/acs"), data=fields, follow=False)
    assert r.status_code == 400 and _no_session_cookie_set(r), (r.status_code, r.text[:200])
