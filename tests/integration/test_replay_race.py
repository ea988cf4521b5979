"""Replay across servers (issue 11, item 9): two httpd instances given the
same unsolicited response at the same instant; exactly one accepts it.

The replay check used to be a read then a write on redis and memcached, so
two servers could both read "not there" and both accept. A small TCP proxy
in front of the store makes the race deterministic: it holds the store's
reply to the first command until a command from another connection (the
other server) has arrived. With the read-then-write both servers then read
"not there"; with an atomic add-if-absent (SET NX, memcached add) the
second command already finds the record.

Both servers are one SP (same entityID; the second is addressed with the
first's Host header, as a load balancer would), each with its own local
session cache; only the replay cache is shared, through the proxy.
"""
import os
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
from livehttpd import attack_context  # noqa: E402
from test_cache_replay import Keys  # noqa: E402

HOLD_SECONDS = 5


class GateProxy:
    """127.0.0.1 TCP proxy to a store. The reply to the first command that
    passes is held until a command arrives on another connection (or
    HOLD_SECONDS pass); everything else flows freely. Stops with stop()."""

    def __init__(self, target_port):
        self.target = target_port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.first_conn = None
        self.released = threading.Event()
        self.held = False
        self.stopping = False
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        n = 0
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            n += 1
            threading.Thread(target=self._serve, args=(c, n), daemon=True).start()

    def _serve(self, client, conn_id):
        try:
            up = socket.create_connection(("127.0.0.1", self.target), timeout=30)
        except OSError:
            client.close()
            return
        self.conns += [client, up]
        gate = {"hold": False}

        def client_to_store():
            try:
                while True:
                    data = client.recv(65536)
                    if not data:
                        break
                    with self.lock:
                        if self.first_conn is None:
                            self.first_conn = conn_id
                            gate["hold"] = True
                        elif conn_id != self.first_conn:
                            self.released.set()
                    up.sendall(data)
            except OSError:
                pass
            finally:
                try:
                    up.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

        def store_to_client():
            try:
                while True:
                    data = up.recv(65536)
                    if not data:
                        break
                    if gate["hold"]:
                        self.held = True
                        self.released.wait(HOLD_SECONDS)
                        gate["hold"] = False
                    client.sendall(data)
            except OSError:
                pass
            finally:
                for s in (client, up):
                    try:
                        s.close()
                    except OSError:
                        pass

        t = threading.Thread(target=client_to_store, daemon=True)
        t.start()
        store_to_client()
        t.join(5)

    def stop(self):
        self.stopping = True
        self.released.set()
        for s in [self.sock] + self.conns:
            try:
                s.close()
            except OSError:
                pass
        self.thread.join(5)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return Keys(tmp_path_factory.mktemp("race-keys"))


@pytest.fixture(params=["redis", "memcache"])
def store(request, tmp_path):
    cls = servers.Redis if request.param == "redis" else servers.Memcached
    s = cls(str(tmp_path / request.param)).start()
    s.kind = request.param
    yield s
    s.stop()


def pair(keys, store, proxy):
    """Two servers of one SP; the replay cache is the store behind proxy."""
    opts = ("AuthnContextAllowUnsolicited On\n"
            "AuthnContextReplayCache %s:127.0.0.1:%d\n" % (store.kind, proxy.port))
    a = livehttpd.LiveSP("race-a-" + store.kind, keys, 9, opts)
    b = livehttpd.LiveSP("race-b-" + store.kind, keys, 9, opts)
    b.conf_text = b.conf_text.replace(b.entity_id, a.entity_id)
    b.entity_id, b.acs_url = a.entity_id, a.acs_url
    for sp in (a, b):
        try:
            sp.start()
        except BaseException:
            a.stop()
            b.stop()
            raise
    return a, b


def test_one_unsolicited_response_two_servers_one_session(keys, store):
    proxy = GateProxy(store.port)
    a = b = None
    try:
        a, b = pair(keys, store, proxy)
        data = attack_context(keys, a, None).base("unsolicited")
        host = {"Host": "127.0.0.1:%d" % a.httpd.port}
        replies = {}

        def post(name, sp, headers):
            replies[name] = sp.client().post_acs(data, headers=headers)

        threads = [threading.Thread(target=post, args=("a", a, None)),
                   threading.Thread(target=post, args=("b", b, host))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert proxy.held and proxy.released.is_set(), \
            "the proxy did not see both servers' replay checks"
        accepted = [n for n, rep in replies.items()
                    if rep.status == 303 and rep.session_cookie_set()]
        assert len(accepted) == 1, (
            {n: (rep.status, {"a": a, "b": b}[n].reasons(rep.test_id))
             for n, rep in replies.items()})
        loser = "b" if accepted == ["a"] else "a"
        livehttpd.assert_rejected({"a": a, "b": b}[loser], replies[loser], ("replay",))
        # and the response posted later still is a replay on either server
        livehttpd.assert_rejected(a, a.client().post_acs(data), ("replay",))
    finally:
        proxy.stop()
        for sp in (a, b):
            if sp is not None:
                sp.stop()


def test_replay_store_down_fails_closed(keys, store):
    """The add-if-absent answers from the key's own server or not at all:
    with the store down the response is refused (cache-unavailable)."""
    proxy = GateProxy(store.port)
    a = b = None
    try:
        a, b = pair(keys, store, proxy)
        proxy.released.set()
        store.stop()
        data = attack_context(keys, a, None).base("unsolicited")
        rep = a.client().post_acs(data)
        assert rep.status != 303 and not rep.session_cookie_set()
        assert "cache-unavailable" in a.reasons(rep.test_id), a.log_lines(rep.test_id)
    finally:
        proxy.stop()
        for sp in (a, b):
            if sp is not None:
                sp.stop()


def test_replay_store_stalled_fails_closed_in_seconds(keys, tmp_path):
    """A Redis that accepts connections but never answers (SIGSTOP): the
    replay check gives up after its own 2 s timeout and refuses the
    response (cache-unavailable), instead of holding the request."""
    import signal
    import time
    rd = servers.Redis(str(tmp_path / "stalled")).start()
    sp = None
    try:
        sp = livehttpd.LiveSP("race-stalled", keys, 9,
                              "AuthnContextAllowUnsolicited On\n"
                              "AuthnContextReplayCache redis:127.0.0.1:%d\n" % rd.port)
        sp.start()
        data = attack_context(keys, sp, None).base("unsolicited")
        os.kill(rd.proc.pid, signal.SIGSTOP)
        try:
            t = time.monotonic()
            rep = sp.client().post_acs(data)
            took = time.monotonic() - t
        finally:
            os.kill(rd.proc.pid, signal.SIGCONT)
        assert rep.status != 303 and not rep.session_cookie_set()
        assert "cache-unavailable" in sp.reasons(rep.test_id), sp.log_lines(rep.test_id)
        assert took < 10, took
    finally:
        if sp is not None:
            sp.stop()
        rd.stop()


def test_replay_store_restart_is_survived(keys, store):
    """The module keeps its connections to the store per process; after the
    store restarts, the first use of each old connection fails, and the
    check is sent once more on a new one: logins go on, replays are still
    refused."""
    sp = livehttpd.LiveSP("race-restart-" + store.kind, keys, 9,
                          "AuthnContextAllowUnsolicited On\n"
                          "AuthnContextReplayCache %s:127.0.0.1:%d\n"
                          % (store.kind, store.port))
    try:
        sp.start()
        for _ in range(3):
            rep = sp.client().post_acs(attack_context(keys, sp, None).base("unsolicited"))
            assert rep.status == 303, (rep.status, sp.log_lines(rep.test_id))
        store.stop()
        store.start()
        # apr_memcache marks a server whose connection failed dead for 5 s
        # (as it does for the session store, README "Cache down"): refused
        # (fail closed) until then; hiredis connections recover at once
        deadline = time.monotonic() + (0 if store.kind == "redis" else 12)
        while True:
            data = attack_context(keys, sp, None).base("unsolicited")
            rep = sp.client().post_acs(data)
            if rep.status == 303 or time.monotonic() > deadline:
                break
            assert "cache-unavailable" in sp.reasons(rep.test_id)
            time.sleep(1)
        assert rep.status == 303, (rep.status, sp.log_lines(rep.test_id))
        livehttpd.assert_rejected(sp, sp.client().post_acs(data), ("replay",))
    finally:
        sp.stop()
