"""Login-start floods (issue 11, item 2): nothing an unauthenticated client
does evicts a live session.

GET PATH/login stores a pending-request record without authentication. On
the default caches these records shared one shmcb instance with the
sessions, and shmcb drops the oldest records of a full subcache: some
hundreds of login starts with long targets logged a victim out. Pending
requests now live in their own store (AuthnContextRequestCache, by default
its own shmcb instance) and the target they carry is capped.

The live server and client are the security suite's (tests/security/
livehttpd.py); the victim's session comes from an unsolicited response
minted by tests/lib/attacks.py over samlforge.
"""
import os
import re
import sys
import urllib.parse

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "lib"))
sys.path.insert(0, os.path.join(TESTS, "security"))

import livehttpd  # noqa: E402
from test_cache_replay import Keys, start, unsolicited_login  # noqa: E402

# the cap on a login's target (README, PATH/login)
TARGET_CAP = 2048


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return Keys(tmp_path_factory.mktemp("flood-keys"))


def default_caches(keys, name, options=""):
    """A server on the default caches (no cache directive at all)."""
    sp = start(keys, name, "AuthnContextAllowUnsolicited On\n" + options)
    conf = re.sub(r"(?m)^AuthnContextSessionCache .*$", "", sp.conf_text)
    sp.httpd.stop()
    sp.httpd.start(conf)
    sp.pid = livehttpd.servers.read_pid(sp.httpd.pid_file)
    return sp


@pytest.fixture
def flood_sp(keys):
    sp = default_caches(keys, "flood")
    yield sp
    sp.stop()


def flood(sp, count, target_len):
    """count unauthenticated GET PATH/login, each with a fresh client (no
    cookies) and a target of target_len bytes; the statuses seen."""
    seen = {}
    s = requests.Session()
    s.trust_env = False
    for i in range(count):
        target = "/private/?%06d=" % i
        target += "x" * (target_len - len(target))
        url = sp.url("/saml/login?target=" + urllib.parse.quote(target, safe="/?="))
        r = s.get(url, allow_redirects=False, timeout=30)
        s.cookies.clear()
        seen[r.status_code] = seen.get(r.status_code, 0) + 1
    return seen


def test_flood_of_long_targets_does_not_log_out(keys, flood_sp):
    """600 login starts with ~8 KB targets (the size httpd's request line
    allows): each is refused (the target is over the cap), and the
    victim's session stays."""
    sp = flood_sp
    victim, _ = unsolicited_login(keys, sp)
    assert victim.get("/private/").status == 200
    seen = flood(sp, 600, 8000)
    rep = victim.get("/private/")
    assert rep.status == 200, (rep.status, seen, "the victim was logged out")
    assert set(seen) == {400}, seen
    assert "reason=bad-input" in sp.httpd.log_text()


def test_flood_under_the_cap_does_not_log_out(keys, flood_sp):
    """Targets just under the cap: every start is taken (302), 3,000 of
    them push well over 4 MB of pending records through the request
    store, and still the victim's session stays; a login started after
    the flood finishes."""
    sp = flood_sp
    victim, _ = unsolicited_login(keys, sp)
    seen = flood(sp, 3000, TARGET_CAP - 20)
    assert seen == {302: 3000}, seen
    rep = victim.get("/private/")
    assert rep.status == 200, (rep.status, "the victim was logged out")
    # a login started now is still pending when its answer comes
    livehttpd.login(keys, sp)


def test_target_cap(keys, flood_sp):
    """The cap is on the target as given: at the cap a login starts, one
    byte over it is 400 at PATH/login and 414 at a protected location."""
    sp = flood_sp
    c = sp.client()
    at = "/private/?q=" + "y" * (TARGET_CAP - len("/private/?q="))
    assert len(at) == TARGET_CAP
    c.start_login(at)
    rep = c.get("/saml/login?target=" + urllib.parse.quote(at + "y", safe="/?="))
    assert rep.status == 400, rep.status
    rep = sp.client().get(at + "y")
    assert rep.status == 414, (rep.status, rep.location[:100])
    assert "reason=bad-input" in "\n".join(sp.log_lines(rep.test_id))


def test_request_cache_directive(keys):
    """AuthnContextRequestCache names the pending-request store; the ready
    line names all three."""
    sp = start(keys, "flood-directive",
               "AuthnContextRequestCache shmcb:@ROOT@/run/requests(1048576)\n")
    try:
        ready = [l for l in sp.httpd.log_text().splitlines() if "authncontext: ready:" in l]
        assert ready and re.search(r"requests=\S+/run/requests\(1048576\)", ready[-1]), \
            sp.httpd.log_tail(20)
        livehttpd.login(keys, sp)
    finally:
        sp.stop()


# --- the bound per client address ------------------------------------------------

def fresh_minute():
    """Waits out the end of a minute: the per-client count is kept per
    minute, and a test must not straddle two."""
    import time
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)


def start_from(sp, source, target="/private/"):
    """GET PATH/login from a given loopback source address (no cookies)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", sp.httpd.port, timeout=30,
                                      source_address=(source, 0))
    try:
        conn.request("GET", "/saml/login?target=" + urllib.parse.quote(target, safe="/"))
        r = conn.getresponse()
        r.read()
        return r.status, dict(r.getheaders())
    finally:
        conn.close()


def test_request_limit_per_client(keys):
    """AuthnContextRequestLimit 5: the sixth login start of one client
    address in a minute is 429 (reason=too-many-requests, Retry-After);
    another address still starts logins, and sessions are untouched."""
    sp = start(keys, "flood-limit",
               "AuthnContextAllowUnsolicited On\nAuthnContextRequestLimit 5\n")
    try:
        victim, _ = unsolicited_login(keys, sp)
        fresh_minute()
        seen = [start_from(sp, "127.0.0.1")[0] for _ in range(5)]
        assert seen == [302] * 5, seen
        status, headers = start_from(sp, "127.0.0.1")
        assert status == 429, status
        assert 0 < int(headers["Retry-After"]) <= 61, headers
        assert "reason=too-many-requests" in sp.httpd.log_text()
        assert start_from(sp, "127.0.0.2")[0] == 302
        assert victim.get("/private/").status == 200
    finally:
        sp.stop()


@pytest.fixture(params=["redis", "memcache"])
def shared_store(request, tmp_path):
    cls = livehttpd.servers.Redis if request.param == "redis" \
        else livehttpd.servers.Memcached
    s = cls(str(tmp_path / request.param)).start()
    s.kind = request.param
    yield s
    s.stop()


def test_request_limit_default_on_shared_store(keys, shared_store):
    """Pending requests in a networked store (the session cache, by
    default) are bounded per client by default: 100 login starts a
    minute, the 101st is 429; the count is atomic in the store."""
    spec = "%s:127.0.0.1:%d" % (shared_store.kind, shared_store.port)
    sp = start(keys, "flood-shared-" + shared_store.kind, "")
    conf = re.sub(r"(?m)^AuthnContextSessionCache .*$",
                  "AuthnContextSessionCache " + spec, sp.conf_text)
    sp.httpd.stop()
    sp.httpd.start(conf)
    sp.pid = livehttpd.servers.read_pid(sp.httpd.pid_file)
    try:
        assert "pending requests share the session store" in sp.httpd.log_text()
        livehttpd.login(keys, sp)  # pending requests work through the store
        fresh_minute()
        seen = flood(sp, 101, 20)
        assert seen.get(429, 0) >= 1 and seen.get(302, 0) <= 100, seen
        assert "reason=too-many-requests" in sp.httpd.log_text()
    finally:
        sp.stop()
