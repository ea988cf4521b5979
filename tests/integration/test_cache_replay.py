"""Replay records survive session churn (AuthnContextReplayCache).

The benchmark found that on the default shmcb cache a replayed unsolicited
response was accepted again after enough logins: the replay record shared
the shmcb instance (and, by its key's first byte, one subcache) with the
sessions, and shmcb silently drops the oldest records of a full subcache.
Here a private httpd has a session cache so small that sessions churn
after a handful of logins; the replay records live in their own instance
and the first response posted again must still be refused.

The live server and client are the security suite's (tests/security/
livehttpd.py); responses are minted by tests/lib/attacks.py over samlforge.
"""
import os
import re
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "lib"))
sys.path.insert(0, os.path.join(TESTS, "security"))

import samlforge as sf  # noqa: E402
import livehttpd  # noqa: E402
from livehttpd import attack_context  # noqa: E402

# 32 KB: shmcb makes 2 subcaches of ~7 records; a session record is a few
# KB, so the first sessions are gone after a few logins
TINY_SESSIONS = "AuthnContextSessionCache shmcb:@ROOT@/run/tiny-sessions(32768)\n"
LOGINS = 40


class Keys:
    """The trusted IdP's key, an (unused) attacker key, the SP's key and the
    metadata, as tests/security/conftest.py builds them."""

    def __init__(self, d):
        self.idp = sf.make_rsa_keypair("idp.example.org")
        self.attacker = sf.make_rsa_keypair("idp.example.org")
        self.sp = sf.make_rsa_keypair("sp.example.org")
        self.sp_key, self.sp_cert = self.sp.write(str(d), "sp")
        self.metadata = os.path.join(str(d), "idp-metadata.xml")
        with open(self.metadata, "wb") as f:
            f.write(sf.idp_metadata(sf.IDP_ENTITY_ID, self.idp.cert_pem, sf.IDP_SSO_URL))
        idp2 = sf.make_rsa_keypair("idp2.example.org")
        self.metadata2 = os.path.join(str(d), "idp2-metadata.xml")
        with open(self.metadata2, "wb") as f:
            f.write(sf.idp_metadata(livehttpd.IDP2_ENTITY_ID, idp2.cert_pem,
                                    livehttpd.IDP2_SSO_URL))


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return Keys(tmp_path_factory.mktemp("cache-keys"))


def start(keys, name, options):
    # the proxy locations of the shared configuration are never requested:
    # port 9 (discard) is only written into it
    sp = livehttpd.LiveSP(name, keys, 9, options)
    try:
        sp.start()
    except BaseException:
        sp.stop()
        raise
    return sp


@pytest.fixture
def churn_sp(keys):
    sp = start(keys, "cache-churn", "AuthnContextAllowUnsolicited On\n" + TINY_SESSIONS)
    yield sp
    sp.stop()


def unsolicited_login(keys, sp, name=None):
    ctx = attack_context(keys, sp, None)
    data = ctx.response(in_response_to=None, name_id=name) if name else ctx.base("unsolicited")
    c = sp.client()
    rep = c.post_acs(data)
    assert rep.status == 303 and rep.session_cookie_set(), \
        (rep.status, sp.log_lines(rep.test_id), sp.httpd.log_tail(10))
    return c, data


def test_replay_refused_after_session_churn(keys, churn_sp):
    sp = churn_sp
    first_client, first = unsolicited_login(keys, sp)
    for _ in range(LOGINS):
        unsolicited_login(keys, sp)
    # the premise: the session cache did churn (the first session is gone)
    rep = first_client.get("/private/")
    assert rep.status == 302, (rep.status, "the tiny session cache did not churn")
    # the first response again, within its lifetime: never a session
    again = sp.client().post_acs(first)
    assert again.status != 303 and not again.session_cookie_set(), \
        (again.status, sp.log_lines(again.test_id))
    livehttpd.assert_rejected(sp, again, ("replay", "expired"))


def test_default_caches_are_separate_and_sized(keys):
    """Without cache directives: a session cache and a replay cache, each
    its own shmcb instance of 4 MB (not shmcb's 512000 bytes)."""
    sp = start(keys, "cache-default", "AuthnContextAllowUnsolicited On\n")
    try:
        # the shared configuration names a session cache; this server's
        # configuration is rewritten without it
        conf = re.sub(r"(?m)^AuthnContextSessionCache .*$", "", sp.conf_text)
        sp.httpd.stop()
        sp.httpd.start(conf)
        sp.pid = livehttpd.servers.read_pid(sp.httpd.pid_file)
        log = sp.httpd.log_text()
        ready = [l for l in log.splitlines() if "authncontext: ready:" in l]
        assert ready, sp.httpd.log_tail(20)
        m = re.search(r"cache=(\S+)(?: \(mutex\))? replay=(\S+)", ready[-1])
        assert m, ready[-1]
        assert m.group(1).startswith("shmcb:") and m.group(1).endswith("(4194304)"), ready[-1]
        assert m.group(2).startswith("shmcb:") and m.group(2).endswith("(4194304)"), ready[-1]
        assert m.group(1) != m.group(2)
        _, data = unsolicited_login(keys, sp)
        again = sp.client().post_acs(data)
        livehttpd.assert_rejected(sp, again, ("replay",))
    finally:
        sp.stop()


def test_replay_cache_directive(keys):
    """AuthnContextReplayCache names the replay cache's provider and size."""
    sp = start(keys, "cache-directive",
               "AuthnContextAllowUnsolicited On\n"
               "AuthnContextReplayCache shmcb:@ROOT@/run/replay(1048576)\n")
    try:
        ready = [l for l in sp.httpd.log_text().splitlines() if "authncontext: ready:" in l]
        assert ready and "/run/replay(1048576)" in ready[-1], sp.httpd.log_tail(20)
        _, data = unsolicited_login(keys, sp)
        livehttpd.assert_rejected(sp, sp.client().post_acs(data), ("replay",))
    finally:
        sp.stop()


def old_unsolicited(keys, sp, age=600):
    """An unsolicited response issued `age` seconds ago whose NotOnOrAfter
    is still 10 minutes ahead (an IdP with long-lived assertions)."""
    import datetime
    ctx = attack_context(keys, sp, None)
    ctx.now = sf.utcnow() - datetime.timedelta(seconds=age)
    ahead = age + 600
    return ctx.response(in_response_to=None, not_on_or_after=ahead,
                        sc_not_on_or_after=ahead)


def test_old_unsolicited_assertion_refused(keys, churn_sp):
    """AuthnContextUnsolicitedMaxAge (default 300 s plus the clock skew):
    the SP does not remember unsolicited assertions for as long as the IdP
    made them valid, so it does not accept them that long either."""
    sp = churn_sp
    rep = sp.client().post_acs(old_unsolicited(keys, sp))
    assert rep.status != 303 and not rep.session_cookie_set()
    livehttpd.assert_rejected(sp, rep, ("expired",))
    # within the window: accepted
    unsolicited_login(keys, sp)


def test_unsolicited_max_age_off(keys):
    sp = start(keys, "cache-maxage-off",
               "AuthnContextAllowUnsolicited On\nAuthnContextUnsolicitedMaxAge 0\n")
    try:
        rep = sp.client().post_acs(old_unsolicited(keys, sp))
        assert rep.status == 303, (rep.status, sp.log_lines(rep.test_id))
    finally:
        sp.stop()


def test_default_session_cache_keeps_hundreds_of_sessions(keys):
    """shmcb chooses the subcache by a key's first byte: keys that all
    start with "s:" shared one subcache (1/16 of the default 4 MB), and the
    first sessions were gone after a few dozen logins. Spread keys keep
    them all."""
    sp = start(keys, "cache-spread", "AuthnContextAllowUnsolicited On\n")
    try:
        conf = re.sub(r"(?m)^AuthnContextSessionCache .*$", "", sp.conf_text)
        sp.httpd.stop()
        sp.httpd.start(conf)
        sp.pid = livehttpd.servers.read_pid(sp.httpd.pid_file)
        # hundreds of users, one session each: one user logging in hundreds
        # of times would also rewrite that user's Single Logout counter
        # hundreds of times, all in one subcache (see the closing note)
        first, _ = unsolicited_login(keys, sp, "user0@example.org")
        for i in range(SPREAD_LOGINS):
            unsolicited_login(keys, sp, "user%d@example.org" % (i + 1))
        rep = first.get("/private/")
        assert rep.status == 200, (rep.status, "the first session was evicted")
    finally:
        sp.stop()


SPREAD_LOGINS = 300
