"""Logout finality with several Redis (or memcached) servers (issue 11,
item 6).

With `AuthnContextSessionCache redis:A,B` apr_redis picks a key's server
by a hash and, while that server is marked dead, moves the key to the next
one. The logout's "a write proves the end" argument then fails: the
session lives on A; A stops answering; the logout's marker is written to B
(a success, so the browser is told it is signed out); A comes back and so
does the session, for anyone holding the cookie.

Each redis-server sits behind a small TCP proxy that the test can cut
(connections refused, open ones closed) and restore while the server keeps
its data, as a partitioned or restarted-with-persistence server does. The
test cuts the server that holds the session, logs out, restores it, and
asks again with the old cookie. (A SIGSTOP'ed server is no use here:
mod_socache_redis hands apr_redis its RedisTimeout in microseconds where
apr_redis expects seconds, so a stalled server hangs the request.) Before the fix the logout
answered 302 and the session came back; now the logout marker goes to
every server, and a server that does not take it makes the logout fail
closed (503): it is retried once the store is whole, and then is final.
"""
import os
import re
import socket
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "lib"))
sys.path.insert(0, os.path.join(TESTS, "security"))

import servers  # noqa: E402
import livehttpd  # noqa: E402
from test_cache_replay import Keys, unsolicited_login  # noqa: E402

COOKIE = livehttpd.COOKIE


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return Keys(tmp_path_factory.mktemp("multi-redis-keys"))


class CutProxy:
    """127.0.0.1 TCP proxy to one store; cut() refuses new connections and
    closes open ones, restore() listens again on the same port."""

    def __init__(self, target_port):
        self.target = target_port
        self.port = servers.free_port()
        self.conns = []
        self.sock = None
        self.stopping = False
        self.restore()

    def restore(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(16)
        s.settimeout(0.2)
        self.sock = s
        self.thread = threading.Thread(target=self._accept, args=(s,), daemon=True)
        self.thread.start()

    def _accept(self, lsock):
        while self.sock is lsock:
            try:
                c, _ = lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                up = socket.create_connection(("127.0.0.1", self.target), timeout=30)
            except OSError:
                c.close()
                continue
            self.conns += [c, up]
            for src, dst in ((c, up), (up, c)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.close()
            except OSError:
                pass

    def cut(self):
        s, self.sock = self.sock, None
        s.close()
        self.thread.join(5)
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass
        self.conns = []

    def stop(self):
        if self.sock is not None:
            self.cut()


def memcache_command(port, line):
    """One memcached text-protocol command; the raw reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(line.encode() + b"\r\n")
        s.settimeout(2)
        out = b""
        while not (out.endswith(b"END\r\n") or out.endswith(b"ERROR\r\n")):
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        return out


@pytest.fixture(params=["redis", "memcache"])
def two_redis(request, tmp_path):
    """Two servers of one kind (redis, then memcached), each behind a
    CutProxy; .get(key) reads a key directly from the server."""
    cls = servers.Redis if request.param == "redis" else servers.Memcached
    a = cls(str(tmp_path / "store-a")).start()
    b = cls(str(tmp_path / "store-b")).start()
    for st in (a, b):
        st.kind = request.param
        st.proxy = CutProxy(st.port)
    yield a, b
    for st in (a, b):
        st.proxy.stop()
        st.stop()


@pytest.fixture
def multi_sp(keys, two_redis):
    a, b = two_redis
    sp = livehttpd.LiveSP("multi-" + a.kind, keys, 9, "AuthnContextAllowUnsolicited On\n")
    sp.conf_text = re.sub(r"(?m)^AuthnContextSessionCache .*$",
                          "AuthnContextSessionCache %s:127.0.0.1:%d,127.0.0.1:%d"
                          % (a.kind, a.proxy.port, b.proxy.port), sp.conf_text)
    sp.start()
    yield sp
    sp.stop()


def session_wire_key(sid):
    """The session's key as mod_socache_redis writes it: the namespace, ':'
    and httpd_store.c's key ("<c>s:<id>", <c> spread by FNV-1a) in hex."""
    h = 2166136261
    for ch in ("s:" + sid).encode():
        h = ((h ^ ch) * 16777619) & 0xFFFFFFFF
    key = chr(ord("!") + h % 94) + "s:" + sid
    return "authncontext:" + key.encode().hex()


def value(store, key):
    """The raw value of key on one server, or None."""
    if store.kind == "redis":
        v = store.command("GET", key)
        return None if v.startswith(b"$-1") else v.split(b"\r\n", 1)[1]
    v = memcache_command(store.port, "get " + key)
    return v.split(b"\r\n", 1)[1] if v.startswith(b"VALUE") else None


def holds(store, key):
    return value(store, key) is not None


def test_logout_is_final_or_fails_closed(keys, multi_sp, two_redis):
    sp = multi_sp
    victim, _ = unsolicited_login(keys, sp)
    sid = victim.cookies[COOKIE]
    key = session_wire_key(sid)
    holders = [r for r in two_redis if holds(r, key)]
    assert len(holders) == 1, "the session record should be on exactly one server"
    home = holders[0]
    assert victim.get("/private/").status == 200

    home.proxy.cut()
    try:
        rep = victim.get("/saml/logout?return=/public/")
    finally:
        home.proxy.restore()
    assert rep.status in (302, 503), rep.status
    first_status = rep.status

    # apr_redis and apr_memcache try a server marked dead again after 5 s
    time.sleep(6)
    again = sp.client()
    again.cookies[COOKIE] = sid
    deadline = time.monotonic() + 20
    while True:
        back = again.get("/private/")
        if back.status != 503 or time.monotonic() > deadline:
            break
        time.sleep(1)
    if first_status == 302:
        # the logout said "signed out": the session must never come back
        assert back.status == 302 and back.location.startswith(
            livehttpd.sf.IDP_SSO_URL), (
            "logout answered 302 but the session came back with its server",
            back.status)
        return
    # failed closed: the session may still be there (the user was told);
    # a logout now, with every server up, is final
    assert "reason=cache-unavailable" in "\n".join(sp.log_lines(rep.test_id))
    deadline = time.monotonic() + 20
    while True:
        rep = again.get("/saml/logout?return=/public/")
        if rep.status != 503 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert rep.status == 302, (rep.status, sp.log_lines(rep.test_id))
    again.cookies[COOKIE] = sid
    back = again.get("/private/")
    assert back.status == 302 and back.location.startswith(livehttpd.sf.IDP_SSO_URL), \
        back.status
    # both servers now hold the marker, whichever a read lands on
    assert all(holds(r, key) for r in two_redis) or not any(holds(r, key) for r in two_redis)


def test_logout_with_every_server_up_marks_every_server(keys, multi_sp, two_redis):
    """With both servers up the logout is a 302 and no server holds the
    session any more: each holds the end marker or nothing."""
    sp = multi_sp
    victim, _ = unsolicited_login(keys, sp)
    sid = victim.cookies[COOKIE]
    key = session_wire_key(sid)
    rep = victim.get("/saml/logout?return=/public/")
    assert rep.status == 302
    for r in two_redis:
        v = value(r, key)
        assert v is None or v.startswith(b"ANC-SESSION-ENDED"), v[:80]
    c = sp.client()
    c.cookies[COOKIE] = sid
    assert c.get("/private/").status == 302
