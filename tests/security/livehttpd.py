"""The live-httpd side of the security suite: a private httpd with the built
module (started by tests/lib/servers.py, the integration suite's server
code), trusting the attack suite's IdP key (tests/security/conftest.py
Keys), and a small client that keeps its own cookies, tags every request
with a test id that the error log records, and answers the questions every
attack test asks: what reason did the module log for this request, was a
session cookie set, does the cookie jar open a protected page.

Only 127.0.0.1 is ever contacted; the IdP's SSO URL (https://idp.example.org,
from the attack metadata) is only compared with, never fetched.
"""
import base64
import os
import re
import shutil
import signal
import urllib.parse
import uuid
import zlib

import requests

import samlforge as sf
import servers

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
ENV_CGI = os.path.join(TESTS, "integration", "templates", "env.cgi")

IDP2_ENTITY_ID = "https://idp2.example.org/idp"
IDP2_SSO_URL = "https://idp2.example.org/idp/sso"

COOKIE = "authncontext_session"
BINDING_COOKIE = COOKIE + "_req"
TEST_HEADER = "X-Anc-Test"
TIMEOUT = 30

# Server-level option sets (one private httpd each, started on first use).
# The SP key is configured everywhere, so EncryptedAssertion always has a key.
OPTION_SETS = {
    "main": "",
    "unsolicited": "AuthnContextAllowUnsolicited On\n",
    "sha1": "AuthnContextAllowSHA1 On\n",
    "signed-assertion": "AuthnContextRequireSignedAssertion On\n",
    "small": "AuthnContextMaxResponseSize 1024\n",
    # the shortest lifetime the directive takes (60 s): a session is opened
    # when the live fixture starts, and checked by the last session test
    "lifetime": "AuthnContextSessionLifetime 60\n",
    # main's settings, its own cache (the concurrent-answers test)
    "race": "",
    # two trusted IdPs; locations bound to each (IdP mix-up)
    "two-idps": """AuthnContextIdPMetadataFile @ROOT@/conf/idp2-metadata.xml
<Location /idp-a>
    AuthType SAML
    AuthnContextIdP https://idp.example.org/idp
    Require valid-user
</Location>
<Location /idp-b>
    AuthType SAML
    AuthnContextIdP https://idp2.example.org/idp
    Require valid-user
</Location>
""",
    # overrides the Off above: the cookies must then carry Secure
    "secure": "AuthnContextCookieSecure On\n",
    # classes also taken from an attribute (white space inside a value)
    "class-attr": "AuthnContextClassAttribute authnmethodsreferences\n",
    # freshness judged per AuthnStatement (test_freshness_attacks.py); each
    # location's PATH/vars is the environment CGI
    "fresh": """<Location /stepfresh>
    AuthType SAML
    AuthnContextRequest exact https://refeds.org/profile/mfa
    AuthnContextMaxAge 300
    Require authnContextClassRef https://refeds.org/profile/mfa
</Location>
<Location /stepforce>
    AuthType SAML
    AuthnContextRequest exact https://refeds.org/profile/mfa
    AuthnContextForceAuthn On
    Require authnContextClassRef https://refeds.org/profile/mfa
</Location>
<Location /maxage>
    AuthType SAML
    Require authnContextMaxAge 300
</Location>
<Location /maxage-mfa>
    AuthType SAML
    AuthnContextRequest exact https://refeds.org/profile/mfa
    <RequireAll>
        Require authnContextClassRef https://refeds.org/profile/mfa
        Require authnContextMaxAge 300
    </RequireAll>
</Location>
""",
}
LIFETIME = 60

CONF = """
AuthnContextSPEntityID       @ENTITY_ID@
AuthnContextSPKeyFile        @ROOT@/conf/sp.key
AuthnContextSPCertFile       @ROOT@/conf/sp.crt
AuthnContextIdPMetadataFile  @ROOT@/conf/idp-metadata.xml
AuthnContextSessionCache     shmcb:@ROOT@/run/sessions(512000)
AuthnContextCookieSecure     Off
@OPTIONS@
# every module line carries the request's test id (the X-Anc-Test header)
ErrorLogFormat "[%{u}t] [%-m:%l] [pid %P:tid %T] [test %{X-Anc-Test}i] [client %a] %M"

ScriptAliasMatch "^/[a-z0-9-]+/vars$" "@ROOT@/cgi-bin/env.cgi"

<Location /private>
    AuthType SAML
    Require valid-user
</Location>
<Location /mfa>
    AuthType SAML
    Require authnContextClassRef https://refeds.org/profile/mfa
</Location>
<Location /proxy-export>
    AuthType SAML
    AuthnContextExportHeaders On
    Require valid-user
    ProxyPass http://127.0.0.1:@BACKEND_PORT@/export
</Location>
<Location /proxy-plain>
    AuthType SAML
    AuthnContextExportHeaders Off
    Require valid-user
    ProxyPass http://127.0.0.1:@BACKEND_PORT@/plain
</Location>
<Location /proxy-public>
    ProxyPass http://127.0.0.1:@BACKEND_PORT@/public
</Location>
# a location with an error URL: a refused answer to its login is a
# redirect to the error page (errorType=invalid-response)
<Location /witherr>
    AuthType SAML
    AuthnContextErrorURL /err/
    Require valid-user
</Location>
# step-up: logins from here ask for MFA, and the answer must carry it
<Location /admin>
    AuthType SAML
    AuthnContextRequest exact https://refeds.org/profile/mfa
    Require authnContextClassRef https://refeds.org/profile/mfa
</Location>
<Location /force>
    AuthType SAML
    AuthnContextForceAuthn On
    Require valid-user
</Location>
<Location /fresh>
    AuthType SAML
    AuthnContextMaxAge 60
    Require valid-user
</Location>
# negation: anything but a password class (a session with no class at all
# is denied too)
<Location /not-ppt>
    AuthType SAML
    Require authnContextClassRef ! urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport
</Location>
<Location /mfa-proxy>
    AuthType SAML
    AuthnContextExportHeaders On
    Require authnContextClassRef https://refeds.org/profile/mfa
    ProxyPass http://127.0.0.1:@BACKEND_PORT@/mfa
</Location>
"""

PAGES = ("public", "private", "mfa", "witherr", "err", "admin", "force", "fresh",
         "idp-a", "idp-b", "not-ppt")


class LiveSP:
    """One private httpd with the module and an option set."""

    def __init__(self, name, keys, backend_port, options=""):
        self.name = name
        self.httpd = servers.Httpd("livesec-" + name)
        h = self.httpd
        self.base = h.base
        self.entity_id = "http://127.0.0.1:%d/sp" % h.port
        self.acs_url = h.base + "/saml/acs"
        for page in PAGES:
            h.write("htdocs/%s/index.html" % page, "<html><body>PAGE:%s</body></html>\n" % page)
        with open(ENV_CGI) as f:
            h.write("cgi-bin/env.cgi", f.read(), 0o755)
        shutil.copy(keys.sp_key, h.path("conf", "sp.key"))
        shutil.copy(keys.sp_cert, h.path("conf", "sp.crt"))
        shutil.copy(keys.metadata, h.path("conf", "idp-metadata.xml"))
        shutil.copy(keys.metadata2, h.path("conf", "idp2-metadata.xml"))
        body = CONF
        # options first: they may hold @ROOT@ too
        for k, v in (("@OPTIONS@", options), ("@ENTITY_ID@", self.entity_id),
                     ("@ROOT@", h.root), ("@BACKEND_PORT@", str(backend_port))):
            body = body.replace(k, v)
        self.conf_text = servers.httpd_conf(h.root, h.port, body)
        self.checked = 0

    def start(self):
        self.httpd.start(self.conf_text)
        # remembered: the stop below must not depend on files in the root
        self.pid = servers.read_pid(self.httpd.pid_file)
        return self

    def stop(self):
        try:
            self.httpd.stop()
        finally:
            # if the root vanished (conf and pid file gone) "apache2 -k stop"
            # cannot work: end the parent this run started, by its pid
            pid = getattr(self, "pid", None)
            if pid and servers.pid_alive(pid):
                try:
                    with open("/proc/%d/cmdline" % pid, "rb") as f:
                        ours = self.httpd.root.encode() in f.read()
                except OSError:
                    ours = False
                if ours:
                    os.kill(pid, signal.SIGTERM)
                    if not servers.wait_pid_gone(pid, 15):
                        servers.kill_server_group(pid)
            self.httpd.cleanup()

    def url(self, path):
        return self.base + path

    def client(self):
        return Client(self)

    def log_lines(self, test_id):
        tag = "[test %s]" % test_id
        return [l for l in self.httpd.log_text().splitlines() if tag in l]

    def reasons(self, test_id):
        """The reason= codes the module logged for one request."""
        return [m.group(1) for l in self.log_lines(test_id)
                for m in [re.search(r"\breason=([a-z0-9-]+)", l)] if m]

    def bad_lines(self):
        bad = self.httpd.bad_log_lines(self.checked)
        self.checked = self.httpd.log_size()
        return bad


class Reply:
    """A response and the test id its request carried."""

    def __init__(self, resp, test_id):
        self.r = resp
        self.test_id = test_id
        self.status = resp.status_code
        self.location = resp.headers.get("Location", "")

    def set_cookies(self):
        raw = self.r.raw.headers
        return raw.getlist("Set-Cookie") if hasattr(raw, "getlist") else \
            ([self.r.headers["Set-Cookie"]] if "Set-Cookie" in self.r.headers else [])

    def session_cookie_set(self):
        """A non-empty session cookie among the Set-Cookie headers."""
        for c in self.set_cookies():
            name, _, rest = c.partition("=")
            if name.strip() == COOKIE and rest.split(";", 1)[0].strip():
                return True
        return False


class Client:
    """A browser stand-in: its own cookie dict (name -> value, path ignored:
    one client talks to one server), no automatic redirects."""

    def __init__(self, sp):
        self.sp = sp
        self.s = requests.Session()
        self.s.trust_env = False
        self.cookies = {}
        self.relay_state = None
        self.request_id = None

    def request(self, method, path, headers=None, cookies=True, **kw):
        url = path if path.startswith("http") else self.sp.url(path)
        host = urllib.parse.urlsplit(url).hostname
        assert host == "127.0.0.1", "refusing a non-loopback URL %s" % url
        test_id = uuid.uuid4().hex[:16]
        h = {TEST_HEADER: test_id}
        if cookies and self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        h.update(headers or {})
        kw.setdefault("timeout", TIMEOUT)
        r = self.s.request(method, url, headers=h, allow_redirects=False, **kw)
        self.s.cookies.clear()          # cookies are ours to keep, not requests'
        rep = Reply(r, test_id)
        for c in rep.set_cookies():
            nv = c.split(";", 1)[0]
            name, _, value = nv.partition("=")
            name, value = name.strip(), value.strip()
            if value and "max-age=0" not in c.lower():
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return rep

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def start_login(self, target="/private/"):
        """GET /saml/login?target=...: the outstanding request's ID (from the
        AuthnRequest in the redirect) and the browser-binding cookie."""
        rep = self.get("/saml/login?target=" + urllib.parse.quote(target, safe="/"))
        assert rep.status == 302, (rep.status, rep.r.text[:300])
        assert BINDING_COOKIE in self.cookies, rep.set_cookies()
        self.login_location = rep.location
        xml, q = decode_redirect(rep.location)
        m = re.search(r'\bID="([^"]+)"', xml)
        assert m, xml
        self.request_id = m.group(1)
        self.relay_state = q.get("RelayState")
        return self.request_id

    def post_acs(self, value, raw=False, relay_state=None, extra=None, method="POST",
                 body=None, headers=None):
        """POST the SAMLResponse (XML bytes, base64-encoded here unless raw)."""
        if body is None:
            v = value if raw else base64.b64encode(value)
            fields = [("SAMLResponse", v)]
            rs = self.relay_state if relay_state is None else relay_state
            if rs:
                fields.append(("RelayState", rs))
            fields += list(extra or ())
            body = urllib.parse.urlencode(fields)
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        return self.request(method, "/saml/acs", data=body, headers=h)

    def copy_binding_from(self, other):
        self.cookies[BINDING_COOKIE] = other.cookies[BINDING_COOKIE]


def decode_redirect(url):
    """(AuthnRequest XML, query dict) of an HTTP-Redirect binding URL."""
    q = {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).items()}
    xml = zlib.decompress(base64.b64decode(q["SAMLRequest"]), -15).decode()
    return xml, q


def assert_no_session(sp, client, rep=None):
    """No session cookie in the reply, and the client's cookie jar does not
    open the protected page: it is sent to the IdP again."""
    if rep is not None:
        assert not rep.session_cookie_set(), ("a session cookie was set", rep.set_cookies())
    p = client.get("/private/")
    # several IdPs allowed there: to the login endpoint's discovery first
    assert p.status == 302 and (p.location.startswith(sf.IDP_SSO_URL) or
                                "/saml/login?target=" in p.location), \
        ("the protected page did not send the client to the IdP", p.status, p.location,
         p.r.text[:200])
    assert "PAGE:private" not in p.r.text


def assert_rejected(sp, rep, reasons, statuses=range(400, 500), error_url=None):
    """A 4xx (or, with error_url, a redirect to that local error page
    carrying the reason) and one of the allowed reasons logged for exactly
    this request."""
    logged = sp.reasons(rep.test_id)
    if error_url:
        # a relative Location (RFC 7231 7.1.2) resolves against the ACS URL
        u = urllib.parse.urlsplit(urllib.parse.urljoin(sp.acs_url, rep.location))
        q = urllib.parse.parse_qs(u.query)
        assert rep.status in (302, 303) and (u.netloc, u.path) == \
            ("127.0.0.1:%d" % sp.httpd.port, error_url), (rep.status, rep.location, logged)
        assert q.get("errorType") == ["invalid-response"], q
        assert q.get("errorText", [None])[0] in reasons, q
    else:
        assert rep.status in statuses, (rep.status, rep.location, rep.r.text[:300], logged)
    assert logged, ("no reason= line logged for this request", sp.log_lines(rep.test_id),
                    sp.httpd.log_tail(10))
    assert logged[-1] in reasons, ("logged reason %r not in %r" % (logged, reasons),
                                   sp.log_lines(rep.test_id))


def attack_context(keys, sp, request_id, canary=None, idp=None, idp_entity_id=None):
    """An attacks.AttackContext for this server (its entityID and ACS URL);
    idp/idp_entity_id: another signing IdP than keys.idp."""
    import attacks as A
    kw = {"canary_url": canary.url} if canary is not None else {}
    if idp_entity_id:
        kw["idp_entity_id"] = idp_entity_id
    return A.AttackContext(idp or keys.idp, keys.attacker, keys.sp.cert_pem, now=sf.utcnow(),
                           request_id=request_id or "_req-none", sp_entity_id=sp.entity_id,
                           acs_url=sp.acs_url, **kw)


def login(keys, sp, name="alice@example.org", classes=(sf.PPT,), target="/private/",
          **response_kw):
    """A client with a real session: an outstanding request, then a response
    signed by the trusted IdP answering it."""
    c = sp.client()
    rid = c.start_login(target)
    ctx = attack_context(keys, sp, rid)
    stmts = response_kw.pop("authn_statements", None) or \
        [{"class_ref": k} for k in classes]
    data = ctx.response(name_id=name, authn_statements=stmts, **response_kw)
    rep = c.post_acs(data)
    assert rep.status == 303 and rep.session_cookie_set(), \
        (rep.status, rep.r.text[:300], sp.log_lines(rep.test_id))
    assert rep.location == sp.url(target), rep.location
    return c
