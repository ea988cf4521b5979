"""Logout fails closed: when the session store cannot answer, PATH/logout
must not report success while the session may come back with the store.
It answers 503 (reason=cache-unavailable in the log) and still expires the
cookie. A real redis-server (and a real memcached) is stopped mid-test;
the apr clients answer "not found" for a server they have marked dead,
which must not count as "deleted"."""

import os
import re
import time

import pytest

import servers
from helpers import login, set_cookie_headers
from glue_helpers import log_offset, log_since

COOKIE = "authncontext_session"


@pytest.fixture(scope="module", params=["redis", "memcache"])
def redis(request, workdir):
    """The networked store (a real redis-server, then a real memcached)."""
    cls = servers.Redis if request.param == "redis" else servers.Memcached
    r = cls(os.path.join(workdir, "%s-logout-%d" % (request.param, os.getpid()))).start()
    r.kind = request.param
    yield r
    r.stop()


@pytest.fixture(scope="module")
def rsp(sp_factory, redis):
    return sp_factory("hardening-logout-%s" % redis.kind,
                      cache="%s:127.0.0.1:%d" % (redis.kind, redis.port))


def expires_cookie(r):
    return any(c.startswith(COOKIE + "=;") and "Max-Age=0" in c for c in set_cookie_headers(r))


def wait_until(pred, seconds=30):
    deadline = time.monotonic() + seconds
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def test_logout_with_store_up_succeeds_even_when_already_gone(rsp, idp, redis):
    b = login(rsp, "alice")
    r = b.get(rsp.url("/saml/logout?return=/public/"), follow=False)
    assert r.status_code == 302 and r.headers["Location"].endswith("/public/"), r.status_code
    assert expires_cookie(r)
    # the same cookie again: the record is gone, the store is up: still a success
    sid = r.request.headers.get("Cookie", "")
    assert COOKIE in sid
    r = b.request("GET", rsp.url("/saml/logout?return=/public/"), headers={"Cookie": sid})
    assert r.status_code == 302, (r.status_code, rsp.httpd.log_tail(5))
    assert expires_cookie(r)


def test_logout_with_store_down_is_503_and_expires_cookie(rsp, idp, redis):
    b = login(rsp, "alice")
    cookie = b.s.cookies.get(COOKIE)
    assert cookie
    off = log_offset(rsp)
    try:
        redis.stop()
        # twice: the first meets the dead connection, the second a server
        # apr_redis has already marked dead (it then answers "not found")
        for i in range(2):
            r = b.request("GET", rsp.url("/saml/logout?return=/public/"),
                          headers={"Cookie": "%s=%s" % (COOKIE, cookie)})
            assert r.status_code == 503, (i, r.status_code, r.headers,
                                          log_since(rsp, off)[-2000:])
            assert r.headers.get("Cache-Control") == "no-store"
            # the browser forgets the cookie anyway
            assert expires_cookie(r), set_cookie_headers(r)
        log = log_since(rsp, off)
        assert re.search(r"logout.*reason=cache-unavailable", log), log[-2000:]
        assert "session ended" not in log
    finally:
        if redis.proc is None:
            redis.start()
    rsp.check_log()


def test_logout_after_store_recovers(rsp, idp, redis):
    def logged_in():
        try:
            return login(rsp, "alice")
        except AssertionError:
            return None
    box = []
    assert wait_until(lambda: box.append(logged_in()) or box[-1] is not None), \
        rsp.httpd.log_tail(10)
    b = box[-1]
    r = b.get(rsp.url("/saml/logout?return=/public/"), follow=False)
    assert r.status_code == 302 and expires_cookie(r)
    r = b.get(rsp.url("/private/"), follow=False)
    assert r.status_code == 302 and "SAMLRequest=" in r.headers["Location"]
