"""The metadata fetcher (conf-examples/authncontext-fetch-metadata) against
a local HTTPS server, feeding a real httpd (issue 13, item 4).

The federation's server is a small HTTPS server started here on
127.0.0.1 with a certificate of a test CA (curl trusts it through
CURL_CA_BUNDLE, as an admin would name a private CA). It serves the
current aggregate with an ETag and a Last-Modified time, answers 304 to a
matching If-None-Match / If-Modified-Since, and records every request.

- conditional GET: the second run sends the ETag and Last-Modified it
  kept, gets 304 and leaves DEST untouched;
- a badly signed or expired version is refused before it replaces DEST;
- while the server is down the fetch fails and httpd keeps logging users
  in with the last good file (the backup); when the server is back with a
  rolled key, the next fetch installs it and httpd uses it, no restart;
- TLS is verified (a server certificate of another CA is refused), only
  https:// is accepted, and the size bound holds also for a body sent
  without Content-Length;
- with --split DIR the verified file is split into a per-entity directory.
"""
import hashlib
import http.server
import os
import shutil
import ssl
import subprocess
import sys
import threading
import time
from email.utils import formatdate

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
ROOT = os.path.dirname(TESTS)
sys.path.insert(0, HERE)

from test_metadata_sources import (Keys, aggregate, login_with, sp_with,  # noqa: E402
                                   wait_for)
import samlforge as sf  # noqa: E402  (tests/lib, put on the path by the import above)

FETCHER = os.path.join(ROOT, "conf-examples", "authncontext-fetch-metadata")
BUILD = os.environ.get("ANC_BUILD_DIR", os.path.join(ROOT, "build"))
VERIFY = os.path.join(BUILD, "authncontext-verify")


def make_ca_and_server_cert(d, name):
    """A CA and a server certificate for 127.0.0.1 signed by it (openssl)."""
    ca_key, ca_crt = os.path.join(d, name + "-ca.key"), os.path.join(d, name + "-ca.pem")
    key, csr, crt = (os.path.join(d, name + x) for x in ("-srv.key", "-srv.csr", "-srv.pem"))
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=%s test CA" % name, "-keyout", ca_key, "-out", ca_crt)
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", key, "-out", csr)
    ext = os.path.join(d, name + "-ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
        "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", crt)
    return ca_crt, crt, key


class Federation:
    """The federation's HTTPS server: publish() a version, start()/stop()."""

    def __init__(self, cert, key):
        self.cert, self.key = cert, key
        self.body, self.etag, self.mtime = b"", None, 0
        self.chunked = False
        self.requests = []  # (status, headers dict)
        self.port = None
        self.httpd = None

    def publish(self, body):
        self.body = body
        self.etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
        self.mtime = int(time.time()) - 60 + len(self.requests)  # a new, past time
        if self.mtime <= getattr(self, "_last_mtime", 0):
            self.mtime = self._last_mtime + 1
        self._last_mtime = self.mtime

    def start(self):
        fed = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                h = {k.lower(): v for k, v in self.headers.items()}
                ims = h.get("if-modified-since")
                not_modified = (h.get("if-none-match") == fed.etag or
                                (ims is not None and "if-none-match" not in h and
                                 ims == formatdate(fed.mtime, usegmt=True)))
                if not_modified:
                    fed.requests.append((304, h))
                    self.send_response(304)
                    self.send_header("ETag", fed.etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                fed.requests.append((200, h))
                self.send_response(200)
                self.send_header("Content-Type", "application/samlmetadata+xml")
                self.send_header("ETag", fed.etag)
                self.send_header("Last-Modified", formatdate(fed.mtime, usegmt=True))
                if fed.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for i in range(0, len(fed.body), 65536):
                        part = fed.body[i:i + 65536]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.send_header("Content-Length", str(len(fed.body)))
                    self.end_headers()
                    self.wfile.write(fed.body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port or 0), Handler)
        self.httpd.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    @property
    def url(self):
        return "https://127.0.0.1:%d/federation.xml" % self.port


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return Keys(tmp_path_factory.mktemp("fetch-keys"))


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("fetch-tls"))
    ca, crt, key = make_ca_and_server_cert(d, "fed")
    other_ca, _, _ = make_ca_and_server_cert(d, "other")
    return {"ca": ca, "crt": crt, "key": key, "other_ca": other_ca}


@pytest.fixture
def federation(tls):
    fed = Federation(tls["crt"], tls["key"])
    fed.start()
    yield fed
    fed.stop()


def fetch(keys, tls, url, dest, *extra, ca=None, env=None, split=None):
    e = dict(os.environ, AUTHNCONTEXT_VERIFY=VERIFY, CURL_CA_BUNDLE=ca or tls["ca"])
    e.update(env or {})
    argv = ["/bin/sh", FETCHER] + (["--split", split] if split else []) + \
        [url, dest, "--metadata-verify", keys.fed_cert, "--metadata-max-validity", "864000"] + \
        list(extra)
    return subprocess.run(argv, env=e, capture_output=True, text=True, timeout=120)


def leftovers(d):
    return [n for n in os.listdir(d) if n.startswith(".")]


def test_fetch_conditional_backup_and_rollover(keys, tls, federation):
    # httpd trusts the fetched file and looks at it every second
    sp = sp_with(keys, "md-fetch", "AuthnContextIdPMetadataFile @FED@ verify=%s "
                 "maxValidity=864000 refresh=1" % keys.fed_cert)
    # a directory with a space: every path in the script is quoted; under
    # the server root, where the httpd User can read
    d = sp.httpd.path("var lib")
    os.makedirs(d)
    dest = os.path.join(d, "federation.xml")
    sp.conf_text = sp.conf_text.replace("@FED@", '"%s"' % dest)
    try:
        federation.publish(aggregate(keys, keys.idp.cert_pem))
        r = fetch(keys, tls, federation.url, dest)
        assert r.returncode == 0, r.stderr
        assert open(dest, "rb").read() == federation.body
        assert open(dest + ".etag").read().strip() == federation.etag
        assert int(os.stat(dest).st_mtime) == federation.mtime  # Last-Modified kept
        assert federation.requests[-1][0] == 200

        # the second run asks conditionally and changes nothing
        st = os.stat(dest)
        r = fetch(keys, tls, federation.url, dest)
        assert r.returncode == 0, r.stderr
        status, headers = federation.requests[-1]
        assert status == 304
        assert headers.get("if-none-match") == federation.etag
        assert headers.get("if-modified-since") == formatdate(federation.mtime, usegmt=True)
        assert os.stat(dest).st_ino == st.st_ino and os.stat(dest).st_mtime == st.st_mtime
        assert leftovers(d) == []

        sp.start()
        ok = login_with(keys, sp, keys.idp)
        assert ok.status == 303, (ok.status, sp.log_lines(ok.test_id))

        # a version signed by another key: refused before it replaces DEST
        good = open(dest, "rb").read()
        federation.publish(aggregate(keys, keys.idp_new.cert_pem, signer=keys.fed_other))
        r = fetch(keys, tls, federation.url, dest)
        assert r.returncode == 3, (r.returncode, r.stderr)
        assert "metadata-signature" in r.stderr and "kept" in r.stderr, r.stderr
        assert open(dest, "rb").read() == good
        # an expired one too
        federation.publish(aggregate(keys, keys.idp_new.cert_pem, valid_until=-60))
        r = fetch(keys, tls, federation.url, dest)
        assert r.returncode == 3 and "metadata-validity" in r.stderr, r.stderr
        assert open(dest, "rb").read() == good
        assert leftovers(d) == []

        # the federation's server is down: the fetch fails, the backup serves
        federation.stop()
        r = fetch(keys, tls, federation.url, dest)
        assert r.returncode == 1 and "download failed" in r.stderr, r.stderr
        assert open(dest, "rb").read() == good and leftovers(d) == []
        time.sleep(2)  # a refresh look at the (unchanged) file
        ok = login_with(keys, sp, keys.idp)
        assert ok.status == 303, (ok.status, sp.log_lines(ok.test_id))

        # back up with the IdP's rolled key: installed, used without restart
        federation.publish(aggregate(keys, keys.idp_new.cert_pem))
        federation.start()
        early = login_with(keys, sp, keys.idp_new)
        assert early.status != 303
        r = fetch(keys, tls, federation.url, dest)
        assert r.returncode == 0, r.stderr
        assert open(dest, "rb").read() == federation.body
        assert wait_for(lambda: login_with(keys, sp, keys.idp_new).status == 303, 15), \
            sp.httpd.log_tail(20)
        assert "federation.xml: refreshed" in sp.httpd.log_text()
        assert not sp.bad_lines()
    finally:
        sp.stop()


def test_unreadable_source_is_logged_once(keys, tmp_path):
    """The root parent reads the source at start-up; when the httpd User
    cannot, a refresh could never see a new version: that is logged (once,
    not once per process), not left silent."""
    sp = sp_with(keys, "md-unreadable", "AuthnContextIdPMetadataFile @FED@ verify=%s "
                 "maxValidity=864000 refresh=1" % keys.fed_cert,
                 "StartServers 2\nMinSpareThreads 32\nMaxSpareThreads 64\n")
    d = sp.httpd.path("private")
    os.makedirs(d)
    dest = os.path.join(d, "federation.xml")
    with open(dest, "wb") as f:
        f.write(aggregate(keys, keys.idp.cert_pem))
    sp.conf_text = sp.conf_text.replace("@FED@", dest)
    try:
        sp.start()
        os.chmod(d, 0o700)  # root only, as a fetcher's private directory
        assert wait_for(lambda: "cannot look at it for a refresh" in sp.httpd.log_text(), 10), \
            sp.httpd.log_tail(10)
        time.sleep(3)  # both processes have looked, several times
        lines = [l for l in sp.httpd.log_text().splitlines()
                 if "cannot look at it for a refresh" in l]
        assert len(lines) == 1, lines
        assert "reason=bad-input" in lines[0] and "federation.xml" in lines[0]
        ok = login_with(keys, sp, keys.idp)  # the version in force still serves
        assert ok.status == 303
    finally:
        os.chmod(d, 0o755)
        sp.stop()


def test_fetch_refuses_untrusted_tls_and_plain_http(keys, tls, federation, tmp_path):
    dest = str(tmp_path / "federation.xml")
    federation.publish(aggregate(keys, keys.idp.cert_pem))
    r = fetch(keys, tls, federation.url, dest, ca=tls["other_ca"])
    assert r.returncode == 1 and "download failed" in r.stderr, r.stderr
    assert not os.path.exists(dest) and leftovers(str(tmp_path)) == []
    assert federation.requests == []  # refused in the handshake
    r = fetch(keys, tls, federation.url.replace("https:", "http:"), dest)
    assert r.returncode == 2 and "only https://" in r.stderr
    assert not os.path.exists(dest)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_fetch_size_bound(keys, tls, federation, tmp_path, chunked):
    dest = str(tmp_path / "federation.xml")
    federation.publish(aggregate(keys, keys.idp.cert_pem))
    federation.chunked = chunked
    limit = len(federation.body) // 2
    r = fetch(keys, tls, federation.url, dest, env={"AUTHNCONTEXT_FETCH_MAX_BYTES": str(limit)})
    assert r.returncode == 1 and "larger than %d bytes" % limit in r.stderr, r.stderr
    assert not os.path.exists(dest) and leftovers(str(tmp_path)) == []
    # the same document within the bound is taken
    r = fetch(keys, tls, federation.url, dest,
              env={"AUTHNCONTEXT_FETCH_MAX_BYTES": str(len(federation.body))})
    assert r.returncode == 0, r.stderr
    assert open(dest, "rb").read() == federation.body


def test_fetch_split_into_directory(keys, tls, federation, tmp_path):
    dest = str(tmp_path / "federation.xml")
    split = str(tmp_path / "federation.d")
    os.mkdir(split)
    federation.publish(aggregate(keys, keys.idp.cert_pem))
    r = fetch(keys, tls, federation.url, dest, split=split)
    assert r.returncode == 0, r.stderr
    index = open(os.path.join(split, "index.tsv")).read()
    hexid = hashlib.sha1(sf.IDP_ENTITY_ID.encode()).hexdigest()
    assert hexid in index and os.path.exists(os.path.join(split, "{sha1}%s.xml" % hexid))
    # not modified: the directory is left alone
    mtime = os.stat(os.path.join(split, "index.tsv")).st_mtime_ns
    time.sleep(0.05)
    r = fetch(keys, tls, federation.url, dest, split=split)
    assert r.returncode == 0 and federation.requests[-1][0] == 304
    assert os.stat(os.path.join(split, "index.tsv")).st_mtime_ns == mtime
    shutil.rmtree(split)
