"""SAML Single Logout, front channel (issue 16), with the real pysaml2 test
IdP started with --slo (tests/idp/idp_server.py) and real apache2.

SP-initiated: PATH/logout ends the local session, then sends a signed
LogoutRequest; the IdP ends its session and answers; the next protected
page shows the IdP's login form again (no silent sign-in). IdP-initiated:
the IdP's LogoutRequest ends every session of that user on two httpd
instances sharing one redis, and is answered with a signed LogoutResponse.
Forged messages (tests/lib/samlforge.py: unsigned, signed by another key,
replayed, stale, addressed elsewhere, answering nothing) are refused with
their reason and end nothing. An IdP without a SingleLogoutService keeps
the local logout.
"""
import base64
import os
import re
import urllib.parse
import zlib

import pytest
import requests

import samlforge as sf
import servers
from client import Browser
from conftest import SP
from helpers import login, page_of, set_cookie_headers
from glue_helpers import log_offset, log_since

COOKIE = "authncontext_session"
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
PARTIAL = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout"


@pytest.fixture(scope="module")
def slo_idp(workdir, sp_md_dir):
    idp = servers.IdPServer(os.path.join(workdir, "idp-slo"), sp_md_dir, extra_args=["--slo"])
    idp.start()
    yield idp
    idp.stop()


@pytest.fixture(scope="module")
def redis(workdir):
    r = servers.Redis(os.path.join(workdir, "redis-slo-%d" % os.getpid())).start()
    yield r
    r.stop()


def make_sp(name, idp, sp_keys, sp_md_dir, backend, **kw):
    sp = SP(name, idp, sp_keys, sp_md_dir, backend_port=backend.port, **kw)
    sp.start()
    return sp


@pytest.fixture(scope="module")
def pair(slo_idp, sp_keys, sp_md_dir, backend, redis):
    """Two httpd instances of one SP (one entityID) sharing a redis store.
    Only A is registered at the IdP; B takes unsolicited logins addressed
    to its own ACS."""
    cache = "redis:127.0.0.1:%d" % redis.port
    a = make_sp("slo-a", slo_idp, sp_keys, sp_md_dir, backend, cache=cache,
                entity_id="http://sp.test/slo-cluster",
                extra="LogLevel warn authncontext:trace1\n")
    b = make_sp("slo-b", slo_idp, sp_keys, sp_md_dir, backend, cache=cache,
                entity_id="http://sp.test/slo-cluster", unsolicited="On", register=False)
    yield a, b
    for sp in (a, b):
        sp.stop()
        sp.httpd.cleanup()


@pytest.fixture
def idp(slo_idp):
    slo_idp.reset()
    return slo_idp


def idp_key(idp):
    return sf.KeyPair.read(os.path.join(idp.state_dir, "idp.key"),
                           os.path.join(idp.state_dir, "idp.crt"))


def has_session(b, sp):
    """The protected page answers at once (200), without going to the IdP."""
    r = b.get(sp.url("/private/"), follow=False)
    return r.status_code == 200


def slo_query(sp, idp, kp=None, relay="rs-1", **kw):
    kw.setdefault("issuer", idp.entity_id)
    kw.setdefault("destination", sp.url("/saml/slo"))
    kw.setdefault("name_id", "alice")
    kw.setdefault("name_id_format", UNSPECIFIED)
    root = sf.build_logout_request(sf.utcnow(), **kw)
    return root.get("ID"), sf.redirect_query(root, kp, relay_state=relay)


def decode(url, param):
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    return zlib.decompress(base64.b64decode(q[param][0]), -15).decode(), q


# --- metadata -------------------------------------------------------------------

def test_sp_metadata_advertises_slo(pair):
    a, _ = pair
    r = requests.get(a.url("/saml/metadata"), timeout=10)
    slo = re.findall(r'<md:SingleLogoutService Binding="([^"]+)" Location="([^"]+)"', r.text)
    assert (("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect", a.url("/saml/slo")) in slo
            and ("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST", a.url("/saml/slo")) in slo), r.text


def test_request_path_stays_one_cache_read(pair, idp):
    """The index is written at the ACS and read at logout only: a request
    with a session still costs one read, of the session record."""
    a, _ = pair
    start = log_offset(a)
    b = login(a, "alice")
    at_login = re.findall(r"cache: retrieve key=(\w):", log_since(a, start))
    # the login's reads: the pending request, the slot of the index (and
    # the replay and session stores write without reading)
    assert "l" in at_login, at_login
    start = log_offset(a)
    r = b.get(a.url("/private/"), follow=False)
    assert r.status_code == 200
    assert re.findall(r"cache: retrieve key=(\w):", log_since(a, start)) == ["s"]


# --- SP-initiated ----------------------------------------------------------------

def test_sp_initiated_logout_ends_both_sessions(pair, idp):
    a, _ = pair
    b = login(a, "alice")
    assert b.login_forms == 1
    r = b.get(a.url("/saml/logout?return=/public/"), follow=False)
    # the local session ends first: the cookie goes, the record is gone
    assert r.status_code == 302 and r.headers["Location"].startswith(idp.base + "/slo/redirect")
    assert any(c.startswith(COOKIE + "=;") for c in set_cookie_headers(r))
    xml, q = decode(r.headers["Location"], "SAMLRequest")
    assert "SigAlg" in q and "Signature" in q and "RelayState" in q
    assert "<saml:NameID" in xml and ">alice</saml:NameID>" in xml
    assert "<samlp:SessionIndex>" in xml, xml
    r = b.follow(r)
    assert page_of(r) == "public", (r.status_code, r.text[:300], b.hops[-4:])
    ev = idp.events("logout_request")
    assert len(ev) == 1 and ev[0]["signature_valid"] is True and ev[0]["name_id"] == "alice", ev
    assert ev[0]["session_indexes"], ev
    assert ev[0]["pysaml2_parsed"] is True, ev[0].get("pysaml2_error")
    # both sessions ended: the next protected page shows the IdP's login form
    b.reset_trace()
    r = b.get(a.url("/private/"), login=False)
    assert "Test IdP login" in r.text, (r.status_code, r.text[:300])


def test_logout_response_needs_no_cookie_samesite(pair, idp):
    """The IdP's answer is matched by InResponseTo: a browser that sends no
    cookie with it (SameSite=Strict/Lax on a cross-site POST) still lands
    on the return page."""
    a, _ = pair
    b = login(a, "alice")
    r = b.get(a.url("/saml/logout?return=/public/"), follow=False)
    r = b.request("GET", r.headers["Location"])
    assert r.status_code == 302 and "/saml/slo?SAMLResponse=" in r.headers["Location"]
    bare = requests.get(urllib.parse.urljoin(r.url, r.headers["Location"]),
                        allow_redirects=False, timeout=10)
    assert bare.status_code == 302 and bare.headers["Location"].endswith("/public/"), (
        bare.status_code, bare.text[:300], a.httpd.log_tail(5))
    # answered once: the same LogoutResponse again is refused
    off = log_offset(a)
    again = requests.get(bare.url, allow_redirects=False, timeout=10)
    assert again.status_code == 400
    assert "reason=logout-unsolicited" in log_since(a, off)


def test_partial_logout_is_shown(pair, idp):
    a, _ = pair
    b = login(a, "alice")
    r = b.get(a.url("/saml/logout?return=/public/"), follow=False)
    xml, _q = decode(r.headers["Location"], "SAMLRequest")
    req_id = re.search(r'ID="([^"]+)"', xml).group(1)
    resp = sf.build_logout_response(sf.utcnow(), issuer=idp.entity_id,
                                    destination=a.url("/saml/slo"), in_response_to=req_id,
                                    status2=PARTIAL, message="another SP did not answer")
    r = b.get(a.url("/saml/slo?" + sf.redirect_query(resp, idp_key(idp))), follow=False)
    assert r.status_code == 200, (r.status_code, a.httpd.log_tail(5))
    assert "signed out of this site" in r.text and PARTIAL in r.text, r.text
    assert "another SP did not answer" in r.text


def test_unsolicited_and_forged_logout_responses_are_refused(pair, idp):
    a, _ = pair
    for resp, kp, reason in (
            (dict(in_response_to="_" + "0" * 32), idp_key(idp), "logout-unsolicited"),
            (dict(in_response_to=None), idp_key(idp), "logout-unsolicited"),
            (dict(in_response_to="_" + "1" * 32), sf.make_rsa_keypair("evil"),
             "logout-signature")):
        root = sf.build_logout_response(sf.utcnow(), issuer=idp.entity_id,
                                        destination=a.url("/saml/slo"), **resp)
        off = log_offset(a)
        r = requests.get(a.url("/saml/slo?" + sf.redirect_query(root, kp)),
                         allow_redirects=False, timeout=10)
        assert r.status_code == 400, r.status_code
        assert "reason=" + reason in log_since(a, off), log_since(a, off)


# --- IdP-initiated --------------------------------------------------------------

def unsolicited_at(sp_b, idp, entity_id):
    """A session at B from an IdP-initiated login to B's own ACS."""
    b = Browser()
    r = b.get(idp.base + "/unsolicited?" + urllib.parse.urlencode(
        {"user": "alice", "sp": entity_id, "acs": sp_b.url("/saml/acs"), "relay": "/private/"}))
    assert r.status_code == 200 and page_of(r) == "private", (r.status_code, r.text[:300],
                                                               sp_b.httpd.log_tail(5))
    return b


def test_idp_initiated_logout_ends_every_session_on_both_servers(pair, idp):
    a, bsp = pair
    b1 = login(a, "alice")                        # a session made at A
    b2 = unsolicited_at(bsp, idp, a.entity_id)    # another of alice's, made at B
    other = login(a, "carol")                     # someone else's
    assert has_session(b1, bsp) and has_session(b2, bsp) and has_session(b2, a)
    # a SessionIndex of neither session: the request names no session here
    c = Browser()
    r = c.get(idp.base + "/initiate_logout?user=alice&relay=rs-x&session_index=none&sp="
              + urllib.parse.quote(a.entity_id))
    assert "logout finished" in r.text, (r.status_code, r.text[:300])
    assert has_session(b1, a) and has_session(b2, bsp)
    # every session of alice
    idp.control(reset_log=True)
    off = log_offset(a)
    r = c.get(idp.base + "/initiate_logout?user=alice&relay=rs-echo&sp="
              + urllib.parse.quote(a.entity_id))
    assert "logout finished" in r.text, (r.status_code, r.text[:300], a.httpd.log_tail(5))
    ev = idp.events("logout_response")
    assert len(ev) == 1, ev
    assert ev[0]["signature_valid"] is True, ev
    assert ev[0]["status"] == "urn:oasis:names:tc:SAML:2.0:status:Success" and not ev[0]["status2"]
    assert ev[0]["relay_state"] == "rs-echo"
    assert ev[0]["in_response_to"] == idp.events("logout_initiated")[0]["id"]
    assert not has_session(b1, a) and not has_session(b1, bsp)
    assert not has_session(b2, bsp) and not has_session(b2, a)
    assert has_session(other, a)
    ended = re.findall(r"slo: LogoutRequest .* ended=(\d+) failed=(\d+)", log_since(a, off))
    # alice's two sessions here, and any an earlier test left open
    assert len(ended) == 1 and int(ended[0][0]) >= 2 and ended[0][1] == "0", ended


def test_idp_initiated_logout_post_binding(pair, idp):
    a, _ = pair
    b = login(a, "bob")
    r = Browser().get(idp.base + "/initiate_logout?user=bob&binding=post&sp="
                      + urllib.parse.quote(a.entity_id))
    assert "logout finished" in r.text, (r.status_code, r.text[:300], a.httpd.log_tail(5))
    ev = idp.events("logout_response")
    assert ev and ev[-1]["binding"].endswith("HTTP-POST") and ev[-1]["signature_valid"], ev
    assert not has_session(b, a)


# --- forged LogoutRequests: refused, with a reason, ending nothing ------------------

def forged_cases(a, idp):
    kp = idp_key(idp)
    evil = sf.make_rsa_keypair("evil.example.org")
    ago = sf.fmt_time(sf.utcnow() - sf.datetime.timedelta(hours=1))
    return [
        ("unsigned", slo_query(a, idp, None)[1], "logout-signature"),
        ("wrong key", slo_query(a, idp, evil)[1], "logout-signature"),
        ("stale", slo_query(a, idp, kp, issue_instant=ago)[1], "logout-stale"),
        ("foreign destination",
         slo_query(a, idp, kp, destination="http://127.0.0.1:9/saml/slo")[1],
         "logout-destination"),
        ("unknown issuer", slo_query(a, idp, kp, issuer="http://evil.example.org/idp")[1],
         "logout-issuer"),
    ]


def test_forged_logout_requests_end_nothing(pair, idp):
    a, _ = pair
    b = login(a, "alice")
    for name, q, reason in forged_cases(a, idp):
        off = log_offset(a)
        r = requests.get(a.url("/saml/slo?" + q), allow_redirects=False, timeout=10)
        assert r.status_code == 400, (name, r.status_code)
        assert "reason=" + reason in log_since(a, off), (name, log_since(a, off))
        assert has_session(b, a), name


def test_replayed_logout_request_is_refused(pair, idp):
    a, _ = pair
    b = login(a, "alice")
    _id, q = slo_query(a, idp, idp_key(idp))
    r = requests.get(a.url("/saml/slo?" + q), allow_redirects=False, timeout=10)
    assert r.status_code == 302 and "SAMLResponse=" in r.headers["Location"]
    assert not has_session(b, a)
    b = login(a, "alice")
    off = log_offset(a)
    r = requests.get(a.url("/saml/slo?" + q), allow_redirects=False, timeout=10)
    assert r.status_code == 400
    assert "reason=logout-replay" in log_since(a, off)
    assert has_session(b, a)


# --- an IdP without SingleLogoutService --------------------------------------------

def test_idp_without_slo_keeps_local_logout(sp, idp_server):
    b = login(sp, "alice")
    r = b.get(sp.url("/saml/logout?return=/public/"), follow=False)
    assert r.status_code == 302 and r.headers["Location"].endswith("/public/")
    assert not idp_server.events("logout_request")
    assert not has_session(b, sp)


# --- fail closed: a store that cannot confirm the end is PartialLogout -----------

def test_idp_initiated_logout_store_down_answers_partial_logout(workdir, slo_idp, sp_keys,
                                                                sp_md_dir, backend):
    idp = slo_idp
    idp.reset()
    store = servers.Redis(os.path.join(workdir, "redis-slo-partial-%d" % os.getpid())).start()
    sp = make_sp("slo-partial", idp, sp_keys, sp_md_dir, backend,
                 cache="redis:127.0.0.1:%d" % store.port,
                 extra="AuthnContextReplayCache shmcb:%s(512000)\n"
                       % os.path.join(workdir, "slo-partial-replay"))
    try:
        b = login(sp, "alice")
        assert has_session(b, sp)
        store.stop()
        r = Browser().get(idp.base + "/initiate_logout?" + urllib.parse.urlencode(
            {"user": "alice", "sp": sp.entity_id}))
        assert "logout finished" in r.text, (r.status_code, r.text[:300], sp.httpd.log_tail(5))
        ev = idp.events("logout_response")
        assert len(ev) == 1 and ev[0]["signature_valid"], ev
        assert ev[0]["status"] == "urn:oasis:names:tc:SAML:2.0:status:Responder", ev
        assert ev[0]["status2"] == PARTIAL, ev
        assert "reason=cache-unavailable (answering PartialLogout)" in sp.httpd.log_text()
    finally:
        sp.stop()
        sp.httpd.cleanup()
        store.stop()


def test_idp_without_slo_store_down_does_not_say_signed_out(workdir, idp_server, sp_keys,
                                                           sp_md_dir, backend):
    """An IdP without a SingleLogoutService gets no LogoutResponse; when the
    store cannot confirm the end, the browser must not read "signed out"
    either (fail closed, as /saml/logout answers 503)."""
    idp_server.reset()
    store = servers.Redis(os.path.join(workdir, "redis-slo-noslo-%d" % os.getpid())).start()
    sp = make_sp("slo-noslo-down", idp_server, sp_keys, sp_md_dir, backend,
                 cache="redis:127.0.0.1:%d" % store.port,
                 extra="AuthnContextReplayCache shmcb:%s(512000)\n"
                       % os.path.join(workdir, "slo-noslo-replay"))
    try:
        b = login(sp, "alice")
        assert has_session(b, sp)
        store.stop()
        _, q = slo_query(sp, idp_server, kp=idp_key(idp_server))
        r = b.get(sp.url("/saml/slo?" + q), follow=False)
        assert r.status_code == 503, (r.status_code, r.text[:300])
        assert "signed out of this site" not in r.text
        assert "reason=cache-unavailable" in sp.httpd.log_text()
    finally:
        sp.stop()
        sp.httpd.cleanup()
        store.stop()


def test_more_sessions_than_the_index_holds_answers_partial_logout(pair, idp):
    """The index keeps 64 sessions of one user (httpd_store.c): a 65th
    login signs nobody out, and an IdP logout of that user ends the
    indexed ones and answers PartialLogout (one session escaped)."""
    a, bsp = pair
    browsers = []
    for _ in range(65):
        c = Browser()
        r = c.get(idp.base + "/unsolicited?" + urllib.parse.urlencode(
            {"user": "carol", "sp": a.entity_id, "acs": bsp.url("/saml/acs"),
             "relay": "/public/"}))
        assert r.status_code == 200, (r.status_code, bsp.httpd.log_tail(5))
        browsers.append(c)
    assert all(has_session(c, bsp) for c in browsers[:2] + browsers[-2:])
    assert "more than 64 sessions of one user" in bsp.httpd.log_text()
    r = Browser().get(idp.base + "/initiate_logout?user=carol&sp="
                      + urllib.parse.quote(a.entity_id))
    assert "logout finished" in r.text, "\n".join(
        line[-300:] for line in a.httpd.log_text().splitlines()
        if "slo:" in line or "error" in line)[-3000:]
    ev = idp.events("logout_response")
    assert ev[-1]["status2"] == PARTIAL, ev[-1]
    assert not has_session(browsers[-1], bsp) and not has_session(browsers[1], a)


# --- HTTP-POST both ways: an IdP whose SingleLogoutService takes POST only ----------

@pytest.fixture(scope="module")
def post_pair(workdir, sp_md_dir, sp_keys, backend):
    idp = servers.IdPServer(os.path.join(workdir, "idp-slo-post"), sp_md_dir,
                            extra_args=["--slo-post-only"])
    idp.start()
    sp = make_sp("slo-post", idp, sp_keys, sp_md_dir, backend)
    yield sp, idp
    sp.stop()
    sp.httpd.cleanup()
    idp.stop()


def test_sp_initiated_logout_post_binding(post_pair):
    sp, idp = post_pair
    idp.reset()
    b = login(sp, "alice")
    r = b.get(sp.url("/saml/logout?return=/public/"), follow=False)
    # the signed LogoutRequest in an auto-submitting form to the IdP
    assert r.status_code == 200 and 'name="SAMLRequest"' in r.text, r.text[:300]
    assert idp.base + "/slo/post" in r.text
    r = b.follow(r)
    assert page_of(r) == "public", (r.status_code, r.text[:300], sp.httpd.log_tail(5))
    ev = idp.events("logout_request")
    # our enveloped signature, checked by the IdP with python3-xmlsec
    assert len(ev) == 1 and ev[0]["signature_valid"] is True, ev
    assert ev[0]["binding"].endswith("HTTP-POST")
    assert ev[0]["pysaml2_parsed"] is True, ev[0].get("pysaml2_error")
    b.reset_trace()
    r = b.get(sp.url("/private/"), login=False)
    assert "Test IdP login" in r.text


def test_single_logout_off_is_local_only(slo_idp, sp_keys, sp_md_dir, backend):
    idp = slo_idp
    idp.reset()
    sp = make_sp("slo-off", idp, sp_keys, sp_md_dir, backend,
                 extra="AuthnContextSingleLogout Off\n")
    try:
        md = requests.get(sp.url("/saml/metadata"), timeout=10).text
        assert "SingleLogoutService" not in md
        b = login(sp, "alice")
        r = b.get(sp.url("/saml/logout?return=/public/"), follow=False)
        assert r.status_code == 302 and r.headers["Location"].endswith("/public/")
        assert not idp.events("logout_request")
        assert requests.get(sp.url("/saml/slo?SAMLRequest=x"), timeout=10).status_code == 404
    finally:
        sp.stop()
        sp.httpd.cleanup()


def test_idp_initiated_logout_by_session_index_ends_only_that_session(pair, idp):
    """SAML core 3.7.3.2: with SessionIndex, only the sessions it names."""
    from helpers import variables
    a, _ = pair
    b1 = login(a, "bob")
    idx1 = variables(b1, a)["AUTHN_CONTEXT_SESSION_INDEX"]
    b2 = Browser("bob", "bob-pw")
    idp.control(reset_sessions=True)              # a second login at the IdP
    assert b2.get(a.url("/private/")).status_code == 200
    idx2 = variables(b2, a)["AUTHN_CONTEXT_SESSION_INDEX"]
    assert idx1 and idx2 and idx1 != idx2, (idx1, idx2)
    r = Browser().get(idp.base + "/initiate_logout?" + urllib.parse.urlencode(
        {"user": "bob", "sp": a.entity_id, "session_index": idx1}))
    assert "logout finished" in r.text
    assert not has_session(b1, a) and has_session(b2, a)


@pytest.mark.parametrize("which", ["redirect", "post"])
def test_pysaml2_logout_response_is_accepted(which, pair, post_pair):
    """The IdP's LogoutResponse as pysaml2 itself writes, signs and binds it
    (Redirect: its query signature; POST: its enveloped signature)."""
    sp, idp = (pair[0], None) if which == "redirect" else post_pair
    idp = idp or sp.idp
    idp.reset()
    idp.control(slo_pysaml2=True)
    try:
        b = login(sp, "alice")
        r = b.get(sp.url("/saml/logout?return=/public/"))
        assert page_of(r) == "public", (r.status_code, r.text[:300], sp.httpd.log_tail(5))
        assert [e for e in idp.events("logout_response_sent") if e["by"] == "pysaml2"]
    finally:
        idp.control(slo_pysaml2=False)


@pytest.mark.parametrize("binding", ["redirect", "post"])
def test_pysaml2_logout_request_is_accepted(binding, pair):
    """An IdP-initiated LogoutRequest as pysaml2 writes, signs and binds it."""
    a, _ = pair
    idp = a.idp
    idp.reset()
    idp.control(slo_pysaml2=True)
    try:
        b = login(a, "alice")
        r = Browser().get(idp.base + "/initiate_logout?" + urllib.parse.urlencode(
            {"user": "alice", "sp": a.entity_id, "binding": binding, "relay": "r1"}))
        assert "logout finished" in r.text, (r.status_code, r.text[:300], a.httpd.log_tail(5))
        assert idp.events("logout_initiated")[0].get("by") == "pysaml2"
        ev = idp.events("logout_response")
        assert ev and ev[-1]["status"].endswith(":Success") and ev[-1]["signature_valid"], ev
        assert not has_session(b, a)
    finally:
        idp.control(slo_pysaml2=False)


def test_sp_initiated_logout_without_return_shows_the_logout_page(pair, idp):
    a, _ = pair
    b = login(a, "alice")
    r = b.get(a.url("/saml/logout"))
    assert r.status_code == 200 and "signed out of this site and at your identity provider" \
        in r.text, (r.status_code, r.text[:400])
    assert r.headers.get("Cache-Control") == "no-store"
