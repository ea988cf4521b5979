"""Fixtures for the integration suite: the real pysaml2 IdP, private httpd
instances with the built module, a private redis-server, a header-echoing
back end, and a browser-like client.

Build artifacts come from $ANC_BUILD_DIR (default <repo>/build).
Set ANC_KEEP=1 to keep the httpd ServerRoots in /tmp for inspection.
"""

import os
import re
import shutil
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
REPO = os.path.dirname(TESTS)
sys.path.insert(0, os.path.join(TESTS, "lib"))
sys.path.insert(0, HERE)

import servers  # noqa: E402
from client import Browser  # noqa: E402

TEMPLATES = os.path.join(HERE, "templates")
ERROR_CGI = os.path.join(REPO, "conf-examples", "auth-error.cgi")

PAGES = ["public", "private", "mfa", "both", "expr", "admin", "admin-post", "retry", "retry-mfa",
         "fresh", "maxage", "minimum-ppt", "exact-ppt", "passive", "force", "sha512",
         "unsigned", "min-request", "better-request", "admin-builtin", "regex", "no-mfa",
         "api", "admin/open", "prefer"]


def pytest_configure(config):
    for m in ("issue3: module, sessions, variables (issue 3)",
              "issue4: policy engine (issue 4)",
              "issue5: step-up, error redirect (issue 5)",
              "browser: headless Chromium"):
        config.addinivalue_line("markers", m)


# --- the SP under test -------------------------------------------------------------

class SP:
    """One private httpd with the module, registered at the IdP."""

    def __init__(self, name, idp, keys, sp_md_dir, template="sp-main.conf", cache=None,
                 lifetime=28800, unsolicited="Off", extra="", backend_port=9,
                 entity_id=None, server_name=None, use_canonical=False, port=None,
                 register=True):
        self.name = name
        self.idp = idp
        self.httpd = servers.Httpd(name, port=port)
        self.entity_id = entity_id or "http://sp.test/%s" % name
        self.sp_md_dir = sp_md_dir
        self.register = register
        m = re.search(r"^AuthnContextEndpoint\s+(\S+)", extra, re.M)
        self.endpoint = m.group(1) if m else "/saml"
        self.checked = 0            # error log offset already checked for crashes
        h = self.httpd
        self.base = h.base
        for page in PAGES:
            h.write("htdocs/%s/index.html" % page,
                    "<html><body><h1>PAGE:%s</h1></body></html>\n" % page)
        h.write("cgi-bin/env.cgi", open(os.path.join(TEMPLATES, "env.cgi")).read(), 0o755)
        h.write("cgi-bin/auth-error.cgi", open(ERROR_CGI).read(), 0o755)
        shutil.copy(idp.metadata_file, h.path("conf", "idp-metadata.xml"))
        key, crt = keys
        subst = {
            "@ENTITY_ID@": self.entity_id, "@SP_KEY@": key, "@SP_CERT@": crt,
            "@IDP_METADATA@": h.path("conf", "idp-metadata.xml"),
            "@CACHE@": cache or "shmcb:%s(512000)" % h.path("run", "sessions"),
            "@LIFETIME@": str(lifetime), "@UNSOLICITED@": unsolicited,
            "@ROOT@": h.root, "@BACKEND_PORT@": str(backend_port), "@EXTRA@": extra,
        }
        body = open(os.path.join(TEMPLATES, template)).read()
        for k, v in subst.items():
            body = body.replace(k, v)
        self.conf_text = servers.httpd_conf(h.root, h.port, body, server_name=server_name,
                                            use_canonical=use_canonical)

    def start(self):
        self.httpd.start(self.conf_text)
        if self.register:
            servers.fetch_sp_metadata(self.httpd, os.path.join(self.sp_md_dir, self.name + ".xml"),
                                      endpoint=self.endpoint)
        return self

    def stop(self):
        self.httpd.stop()

    def url(self, path):
        return self.base + path

    def browser(self, user=None, password=None, otp=None):
        return Browser(user, password, otp)

    def check_log(self):
        bad = self.httpd.bad_log_lines(self.checked)
        self.checked = self.httpd.log_size()
        if bad:
            pytest.fail("httpd %s error log shows a crash or critical error:\n%s"
                        % (self.name, "\n".join(bad[:20])))


@pytest.fixture(scope="session")
def workdir():
    d = tempfile.mkdtemp(prefix="anc-itest-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    if not os.environ.get("ANC_KEEP"):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def sp_md_dir(workdir):
    d = os.path.join(workdir, "sp-metadata")
    os.makedirs(d, exist_ok=True)
    return d


@pytest.fixture(scope="session")
def sp_keys(workdir):
    d = os.path.join(workdir, "sp-keys")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    return servers.make_keypair(d, "sp", "mod_authncontext test SP")


@pytest.fixture(scope="session")
def idp_server(workdir, sp_md_dir):
    idp = servers.IdPServer(os.path.join(workdir, "idp"), sp_md_dir, max_seconds=3600)
    idp.start()
    yield idp
    idp.stop()


@pytest.fixture
def idp(idp_server):
    """The IdP with default behaviour, an empty log and no IdP sessions."""
    idp_server.reset()
    return idp_server


@pytest.fixture(scope="session")
def backend():
    b = servers.EchoBackend().start()
    yield b
    b.stop()


_all_sps = []


@pytest.fixture(scope="session")
def sp_factory(idp_server, sp_keys, sp_md_dir, backend):
    """make(name, **SP kwargs) -> a started SP; all stopped at session end."""
    made = []

    def make(name, **kw):
        kw.setdefault("backend_port", backend.port)
        sp = SP(name, idp_server, sp_keys, sp_md_dir, **kw)
        made.append(sp)
        _all_sps.append(sp)
        try:
            sp.start()
        except servers.ServerError as e:
            pytest.fail(str(e))
        return sp

    yield make
    for sp in made:
        try:
            sp.stop()
        finally:
            sp.httpd.cleanup()


@pytest.fixture(scope="session")
def main_sp_session(sp_factory):
    return sp_factory("main")


@pytest.fixture
def sp(main_sp_session, idp):
    """The main SP (shmcb sessions, AllowUnsolicited Off) and a clean IdP."""
    yield main_sp_session
    main_sp_session.check_log()


@pytest.fixture
def browser():
    return Browser()


@pytest.fixture(autouse=True)
def _crash_check():
    """Fail the test during which any httpd logged a crash or [core:crit]."""
    yield
    for s in _all_sps:
        s.check_log()


def pytest_runtest_makereport(item, call):
    """On a failure, show the tails of the logs that explain it."""
    if call.when == "call" and call.excinfo is not None:
        parts = []
        for s in _all_sps:
            if s.httpd.started:
                parts.append("--- httpd %s error log (tail) ---\n%s"
                             % (s.name, s.httpd.log_tail(25)))
        idp = item.funcargs.get("idp") or item.funcargs.get("idp_server")
        if idp is not None:
            parts.append("--- IdP log (tail) ---\n%s" % idp.log_tail(15))
        if parts:
            item.add_report_section("call", "server logs", "\n".join(parts))


@pytest.fixture(autouse=True)
def _live_sp_crash_check(monkeypatch):
    """The same crash check for the security suite's LiveSP servers that
    some tests here start (tests/security/livehttpd.py): their error logs
    are read before they stop (and their roots vanish)."""
    livehttpd = sys.modules.get("livehttpd")
    if livehttpd is None:
        yield
        return
    bad = []
    stop = livehttpd.LiveSP.stop

    def checked_stop(self):
        try:
            bad.extend(self.bad_lines())
        except OSError:
            pass
        stop(self)

    monkeypatch.setattr(livehttpd.LiveSP, "stop", checked_stop)
    yield
    if bad:
        pytest.fail("a live httpd logged a crash or critical error:\n%s" % "\n".join(bad[:20]))
