import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import clirunner  # noqa: E402
import samlforge as sf  # noqa: E402
import livehttpd  # noqa: E402


@pytest.fixture(scope="session")
def cli():
    path = clirunner.cli_path()
    assert os.access(path, os.X_OK), \
        "%s not built (make, or set ANC_BUILD_DIR)" % path
    return clirunner


class Keys:
    """The SP's view of the world for the attack suite: one trusted IdP (RSA),
    an attacker key, the SP's decryption key, and the metadata file."""

    def __init__(self, d):
        self.dir = d
        self.idp = sf.make_rsa_keypair("idp.example.org")
        # the attacker's self-signed certificate names the IdP too
        self.attacker = sf.make_rsa_keypair("idp.example.org")
        self.sp = sf.make_rsa_keypair("sp.example.org")
        self.sp_key, self.sp_cert = self.sp.write(str(d), "sp")
        self.metadata = os.path.join(str(d), "idp-metadata.xml")
        with open(self.metadata, "wb") as f:
            f.write(sf.idp_metadata(sf.IDP_ENTITY_ID, self.idp.cert_pem, sf.IDP_SSO_URL))
        # a second trusted IdP, for the live "two-idps" server (IdP mix-up)
        self.idp2 = sf.make_rsa_keypair("idp2.example.org")
        self.metadata2 = os.path.join(str(d), "idp2-metadata.xml")
        with open(self.metadata2, "wb") as f:
            f.write(sf.idp_metadata(livehttpd.IDP2_ENTITY_ID, self.idp2.cert_pem,
                                    livehttpd.IDP2_SSO_URL))


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    return Keys(tmp_path_factory.mktemp("attack-keys"))


class Canary:
    """A TCP listener on a free loopback port that counts connections: the
    verifier must never fetch what a message names. Closed at teardown."""

    def __init__(self):
        import socket
        import threading
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d/" % self.port
        self.hits = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        import socket
        while not self._stop.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.hits += 1
            c.close()

    def close(self):
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture(scope="session")
def canary():
    c = Canary()
    yield c
    c.close()


# --- the live httpd (test_attacks_httpd.py, test_session_attacks.py) -------------

import time  # noqa: E402

import servers  # noqa: E402  (tests/lib, the integration suite's server code)

_live_sps = []


def _preload_sanitizer_runtime(module):
    """A module built with -fsanitize=address (make check-asan builds
    everything so) only loads into apache2 with libasan preloaded:
    servers.Httpd does that when ANC_HTTPD_PRELOAD names the runtime."""
    import subprocess
    if os.environ.get("ANC_HTTPD_PRELOAD"):
        return
    out = subprocess.run(["ldd", module], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True, timeout=30).stdout
    if "libasan" in out:
        rt = subprocess.run(["gcc", "-print-file-name=libasan.so"], stdout=subprocess.PIPE,
                            text=True, timeout=30).stdout.strip()
        assert os.path.isabs(rt) and os.path.exists(rt), "libasan runtime not found: %r" % rt
        os.environ["ANC_HTTPD_PRELOAD"] = rt


@pytest.fixture(scope="session")
def echo_backend():
    """A loopback back end answering with the request headers it received
    (what a proxied application would see)."""
    b = servers.EchoBackend().start()
    yield b
    b.stop()


@pytest.fixture(scope="session")
def live(request, keys, echo_backend):
    """live(option_set="main") -> a started livehttpd.LiveSP trusting
    keys.idp; one private httpd per option set (livehttpd.OPTION_SETS),
    started on first use, all stopped (and their roots removed unless
    ANC_KEEP) at the end of the session, even when a start fails."""
    made = {}

    def stop_all():
        for sp in made.values():
            sp.stop()
    request.addfinalizer(stop_all)
    assert os.path.exists(servers.module_path()), \
        "%s not built (make, or set ANC_BUILD_DIR)" % servers.module_path()
    _preload_sanitizer_runtime(servers.module_path())

    def get(name="main"):
        if name not in made:
            sp = livehttpd.LiveSP(name, keys, echo_backend.port, livehttpd.OPTION_SETS[name])
            made[name] = sp
            _live_sps.append(sp)
            try:
                sp.start()
            except servers.ServerError as e:
                pytest.fail(str(e))
        return made[name]

    # A session on the short-lifetime server, opened now so that the test
    # checking its expiry (last in test_session_attacks.py) waits the least.
    sp = get("lifetime")
    c = livehttpd.login(keys, sp)
    get.expiring = (c, time.monotonic())
    assert c.get("/private/").status == 200
    return get


@pytest.fixture(autouse=True)
def _live_crash_check():
    """Fail the test during which a live httpd logged a crash, a sanitizer
    report or a [core:crit]/[core:emerg] line."""
    yield
    for sp in _live_sps:
        if sp.httpd.started:
            bad = sp.bad_lines()
            if bad:
                pytest.fail("httpd %s error log:\n%s" % (sp.name, "\n".join(bad[:20])))


def pytest_runtest_makereport(item, call):
    if call.when == "call" and call.excinfo is not None:
        parts = ["--- httpd %s error log (tail) ---\n%s" % (sp.name, sp.httpd.log_tail(15))
                 for sp in _live_sps if sp.httpd.started]
        if parts:
            item.add_report_section("call", "live httpd logs", "\n".join(parts))
