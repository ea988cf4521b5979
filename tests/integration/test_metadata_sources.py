"""Federation metadata sources (issue 13): a signed aggregate trusted with
verify=, checked by configtest (file and reason named), and refreshed
without a restart.

A private httpd (two worker processes) trusts one IdP out of a generated
federation of a few hundred entities, signed by a test federation key
(samlforge.federation_metadata / sign_metadata). Unsolicited responses
signed by samlforge are posted to the ACS:

- a login signed with the IdP's new key fails before the aggregate
  changes and succeeds after it changed, with no restart;
- the key change and the refresh are logged once, not once per process;
- a new version that is badly signed is refused (logged once, with
  metadata-signature) and the last good version stays in force.

The live server and client are the security suite's (tests/security/
livehttpd.py).
"""
import os
import re
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "lib"))
sys.path.insert(0, os.path.join(TESTS, "security"))

import samlforge as sf  # noqa: E402
import livehttpd  # noqa: E402
from livehttpd import attack_context  # noqa: E402

FEDERATION_SIZE = 300
REFRESH = 1  # seconds between two looks at the file


class Keys:
    """What livehttpd.LiveSP copies (SP key, two plain metadata files) plus
    the federation's key, the IdP's old and new keys, and a look-alike
    federation key."""

    def __init__(self, d):
        self.dir = str(d)
        self.idp = sf.make_rsa_keypair("idp.example.org")
        self.idp_new = sf.make_rsa_keypair("idp.example.org")
        self.idp_third = sf.make_rsa_keypair("idp.example.org")
        self.attacker = sf.make_rsa_keypair("idp.example.org")
        self.sp = sf.make_rsa_keypair("sp.example.org")
        self.fed = sf.make_rsa_keypair("federation.example.org")
        self.fed_other = sf.make_rsa_keypair("federation.example.org")
        self.filler = sf.make_rsa_keypair("member.example.org")
        self.sp_key, self.sp_cert = self.sp.write(self.dir, "sp")
        _, self.fed_cert = self.fed.write(self.dir, "fed")
        self.metadata = os.path.join(self.dir, "idp-metadata.xml")
        with open(self.metadata, "wb") as f:
            f.write(sf.idp_metadata(sf.IDP_ENTITY_ID, self.idp.cert_pem, sf.IDP_SSO_URL))
        self.metadata2 = os.path.join(self.dir, "idp2-metadata.xml")
        with open(self.metadata2, "wb") as f:
            f.write(sf.idp_metadata(livehttpd.IDP2_ENTITY_ID, self.filler.cert_pem,
                                    livehttpd.IDP2_SSO_URL))


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return Keys(tmp_path_factory.mktemp("md-keys"))


def aggregate(keys, idp_cert_pem, signer=None, **kw):
    """The federation: our IdP among FEDERATION_SIZE members, signed."""
    members = [{"entity_id": "https://idp%03d.member.example.org/idp" % i,
                "cert_pem": keys.filler.cert_pem} for i in range(FEDERATION_SIZE - 1)]
    members.insert(FEDERATION_SIZE // 2, {"entity_id": sf.IDP_ENTITY_ID,
                                          "cert_pem": idp_cert_pem,
                                          "sso_url": sf.IDP_SSO_URL})
    root = sf.federation_metadata(members, **kw)
    sf.sign_metadata(root, signer or keys.fed)
    return sf.to_bytes(root)


def replace_file(path, data):
    """As a fetcher does: a temporary file in the same directory, renamed."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)


def sp_with(keys, name, md_line, options=""):
    sp = livehttpd.LiveSP(name, keys, 9, "AuthnContextAllowUnsolicited On\n" + options)
    sp.conf_text = re.sub(r"(?m)^AuthnContextIdPMetadataFile .*$", md_line, sp.conf_text)
    return sp


def login_with(keys, sp, kp):
    data = attack_context(keys, sp, None, idp=kp).base("unsolicited")
    return sp.client().post_acs(data)


def wait_for(pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.3)
    return pred()


@pytest.fixture
def fed_sp(keys):
    # two worker processes: refresh and logging happen in each
    sp = sp_with(keys, "md-refresh",
                 "AuthnContextIdPMetadataFile @FED@ verify=%s maxValidity=864000 "
                 "refresh=%d" % (keys.fed_cert, REFRESH),
                 "StartServers 2\nMinSpareThreads 32\nMaxSpareThreads 64\n")
    fed = sp.httpd.path("conf", "federation.xml")
    replace_file(fed, aggregate(keys, keys.idp.cert_pem))
    sp.conf_text = sp.conf_text.replace("@FED@", fed)
    sp.fed = fed
    try:
        sp.start()
    except BaseException:
        sp.stop()
        raise
    yield sp
    sp.stop()


def test_key_rollover_without_restart(keys, fed_sp):
    sp = fed_sp
    pid = sp.pid
    ok = login_with(keys, sp, keys.idp)
    assert ok.status == 303 and ok.session_cookie_set(), (ok.status, sp.log_lines(ok.test_id))

    # the IdP rolls its key before the federation publishes it: refused
    early = login_with(keys, sp, keys.idp_new)
    assert early.status != 303 and not early.session_cookie_set()
    assert "signature-invalid" in sp.reasons(early.test_id), sp.log_lines(early.test_id)
    # the log names the source the keys came from
    assert any("keys from %s, version mtime " % sp.fed in l
               for l in sp.log_lines(early.test_id)), \
        sp.log_lines(early.test_id)

    # the federation publishes the new key; no restart
    replace_file(sp.fed, aggregate(keys, keys.idp_new.cert_pem))
    t0 = time.monotonic()
    assert wait_for(lambda: login_with(keys, sp, keys.idp_new).status == 303, 10), \
        sp.httpd.log_tail(20)
    took = time.monotonic() - t0
    # every process has it within a refresh interval (each looks on its own
    # clock): soon six logins in a row, spread over both workers, succeed
    assert wait_for(lambda: all(login_with(keys, sp, keys.idp_new).status == 303
                                for _ in range(6)), 15), sp.httpd.log_tail(20)
    # the old key is gone
    old = login_with(keys, sp, keys.idp)
    assert old.status != 303 and "signature-invalid" in sp.reasons(old.test_id)
    assert livehttpd.servers.read_pid(sp.httpd.pid_file) == pid  # no restart
    log = sp.httpd.log_text()
    # once per change, not once per process
    assert len(re.findall(r"metadata: .*federation\.xml: refreshed", log)) == 1, log[-3000:]
    assert len(re.findall(r"the signing keys of IdP %s changed" % re.escape(sf.IDP_ENTITY_ID),
                          log)) == 1, log[-3000:]
    print("rollover took effect after %.1f s (refresh=%d)" % (took, REFRESH))

    # a new version signed by another key: refused, logged once; the last
    # good version (the new key) stays in force
    replace_file(sp.fed, aggregate(keys, keys.idp_third.cert_pem, signer=keys.fed_other))
    assert wait_for(lambda: "new version refused" in sp.httpd.log_text(), 10), \
        sp.httpd.log_tail(20)
    time.sleep(2 * REFRESH + 1)  # both processes have looked at it
    log = sp.httpd.log_text()
    refused = re.findall(r"federation\.xml: new version refused reason=(\S+)", log)
    assert refused == ["metadata-signature"], log[-3000:]
    assert "last good version stays in force" in log
    rep = login_with(keys, sp, keys.idp_new)
    assert rep.status == 303, (rep.status, sp.log_lines(rep.test_id))
    rep = login_with(keys, sp, keys.idp_third)
    assert rep.status != 303 and "signature-invalid" in sp.reasons(rep.test_id)
    assert not sp.bad_lines()

    # `apachectl stop` still stops it (the stopping process does not verify
    # the refused file), children included
    r = sp.httpd.apache("-k", "stop")
    assert r.returncode == 0, r.stdout
    assert livehttpd.servers.wait_pid_gone(pid, 10)
    assert wait_for(lambda: not processes_of(sp.httpd.root), 10), processes_of(sp.httpd.root)
    assert "caught SIGTERM, shutting down" in sp.httpd.log_text()


def test_same_bytes_in_a_new_file_are_not_parsed_again(keys, fed_sp):
    # a cron job that copies the same aggregate again (new inode, new
    # mtime): every process reads and hashes it, none parses it again
    sp = fed_sp
    with open(sp.fed, "rb") as f:
        data = f.read()
    start = sp.httpd.log_size()
    time.sleep(1.1)  # a different mtime second
    replace_file(sp.fed, data)
    assert wait_for(lambda: "same bytes as the version in force" in
                    sp.httpd.log_text()[start:], 10), sp.httpd.log_tail(20)
    time.sleep(2 * REFRESH + 1)  # both processes have looked at it
    new = sp.httpd.log_text()[start:]
    assert "refreshed" not in new and "refused" not in new, new[-3000:]
    ok = login_with(keys, sp, keys.idp)
    assert ok.status == 303, (ok.status, sp.log_lines(ok.test_id))
    # a real change is still seen
    replace_file(sp.fed, aggregate(keys, keys.idp_new.cert_pem))
    assert wait_for(lambda: login_with(keys, sp, keys.idp_new).status == 303, 10), \
        sp.httpd.log_tail(20)
    assert not sp.bad_lines()


def processes_of(root):
    """Pids of processes whose command line names the httpd root."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if root.encode() in f.read():
                    with open("/proc/%s/stat" % d) as st:
                        if st.read().rsplit(")", 1)[1].split()[0] != "Z":
                            out.append(int(d))
        except OSError:
            pass
    return out


# --- configtest ---------------------------------------------------------------

def configtest(keys, name, data, options, signer=None):
    sp = sp_with(keys, name, "AuthnContextIdPMetadataFile @FED@ " + options)
    try:
        fed = sp.httpd.path("conf", "federation.xml")
        replace_file(fed, data)
        sp.conf_text = sp.conf_text.replace("@FED@", fed)
        sp.httpd.write("conf/httpd.conf", sp.conf_text)
        sp.httpd.fix_permissions()
        return sp.httpd.configtest()
    finally:
        sp.httpd.cleanup()


@pytest.mark.parametrize("case,reason", [
    ("unsigned", "metadata-signature"),
    ("other-key", "metadata-signature"),
    ("expired", "metadata-validity"),
    ("too-long", "metadata-validity"),
    ("ok", None),
])
def test_configtest_names_file_and_reason(keys, case, reason):
    verify = "verify=%s maxValidity=864000" % keys.fed_cert
    if case == "unsigned":
        data = sf.to_bytes(sf.federation_metadata(
            [{"entity_id": sf.IDP_ENTITY_ID, "cert_pem": keys.idp.cert_pem}]))
    elif case == "other-key":
        data = aggregate(keys, keys.idp.cert_pem, signer=keys.fed_other)
    elif case == "expired":
        data = aggregate(keys, keys.idp.cert_pem, valid_until=-60)
    elif case == "too-long":
        data = aggregate(keys, keys.idp.cert_pem, valid_until=30 * 86400)
    else:
        data = aggregate(keys, keys.idp.cert_pem)
    r = configtest(keys, "md-ct-" + case, data, verify)
    if reason is None:
        assert r.returncode == 0 and "Syntax OK" in r.stdout, r.stdout
        return
    assert r.returncode != 0 and "Syntax OK" not in r.stdout, r.stdout
    assert "federation.xml" in r.stdout and "reason=%s" % reason in r.stdout, r.stdout


@pytest.mark.parametrize("options,message", [
    ("refresh=soon", "refresh=soon is not seconds"),
    ("maxValidity=0", "maxValidity=0 is not positive"),
    ("entityAttribute=novalue", "entityAttribute= needs NAME=VALUE"),
    ("colour=blue", "unknown option 'colour'"),
])
def test_configtest_refuses_bad_options(keys, options, message):
    r = configtest(keys, "md-ct-opt", aggregate(keys, keys.idp.cert_pem), options)
    assert r.returncode != 0 and message in r.stdout, r.stdout


def test_filtered_source_and_several_files(keys):
    """entities= keeps only the listed IdP; several files on one line are
    still accepted (no options)."""
    data = aggregate(keys, keys.idp.cert_pem)
    r = configtest(keys, "md-ct-filter", data,
                   "verify=%s entities=%s" % (keys.fed_cert, sf.IDP_ENTITY_ID))
    assert r.returncode == 0, r.stdout
    r = configtest(keys, "md-ct-filter2", data,
                   "verify=%s entities=https://nobody.example.org/idp" % keys.fed_cert)
    assert r.returncode != 0 and "no SAML 2.0 IdP passes the source's filters" in r.stdout, \
        r.stdout
    sp = sp_with(keys, "md-ct-two", "AuthnContextIdPMetadataFile @ROOT@/conf/idp-metadata.xml "
                 "@ROOT@/conf/idp2-metadata.xml")
    try:
        sp.httpd.write("conf/httpd.conf", sp.conf_text.replace("@ROOT@", sp.httpd.root))
        sp.httpd.fix_permissions()
        r = sp.httpd.configtest()
        assert r.returncode == 0 and "Syntax OK" in r.stdout, r.stdout
    finally:
        sp.httpd.cleanup()


def test_startup_lines_reach_the_error_log_and_restart_reloads(keys):
    """httpd reads its configuration twice at start-up, and the second
    pass runs detached, before its error log is open: what a source's load
    found (skipped entities, the summary) is logged from post_config so
    that it lands in the error log, not only on the terminal of the first
    pass. A graceful restart reloads the file."""
    sp = sp_with(keys, "md-startlog", "AuthnContextIdPMetadataFile @FED@ verify=%s "
                 "maxValidity=864000 refresh=0" % keys.fed_cert)
    fed = sp.httpd.path("conf", "federation.xml")
    dup = "https://idp001.member.example.org/idp"

    def with_duplicate(cert_pem):
        members = [{"entity_id": "https://idp%03d.member.example.org/idp" % i,
                    "cert_pem": keys.filler.cert_pem} for i in range(20)]
        members.append({"entity_id": dup, "cert_pem": keys.filler.cert_pem})
        members.append({"entity_id": sf.IDP_ENTITY_ID, "cert_pem": cert_pem,
                        "sso_url": sf.IDP_SSO_URL})
        root = sf.federation_metadata(members)
        sf.sign_metadata(root, keys.fed)
        return sf.to_bytes(root)

    replace_file(fed, with_duplicate(keys.idp.cert_pem))
    sp.conf_text = sp.conf_text.replace("@FED@", fed)
    summary = r"metadata: %s: 21 IdP\(s\), 1 skipped" % re.escape(fed)
    skipped = r"metadata: %s: entity %s skipped reason=\S+" % (re.escape(fed), re.escape(dup))
    try:
        sp.start()
        log = sp.httpd.log_text()
        assert len(re.findall(summary, log)) == 1, log[-3000:]
        assert len(re.findall(skipped, log)) == 1, log[-3000:]
        assert login_with(keys, sp, keys.idp).status == 303
        # the file changes, then a graceful restart: loaded again
        replace_file(fed, with_duplicate(keys.idp_new.cert_pem))
        pid = sp.pid
        r = sp.httpd.apache("-k", "graceful")
        assert r.returncode == 0, r.stdout
        assert wait_for(lambda: len(re.findall(summary, sp.httpd.log_text())) == 2, 20), \
            sp.httpd.log_tail(20)
        assert wait_for(lambda: login_with(keys, sp, keys.idp_new).status == 303, 20), \
            sp.httpd.log_tail(20)
        assert login_with(keys, sp, keys.idp).status != 303
        assert livehttpd.servers.read_pid(sp.httpd.pid_file) == pid
        assert not sp.bad_lines()
    finally:
        sp.stop()


# --- per-entity directory (authncontext-verify --metadata-split) -----------

def split(keys, agg_bytes, directory):
    import clirunner
    agg = os.path.join(keys.dir, "aggregate-for-split.xml")
    with open(agg, "wb") as f:
        f.write(agg_bytes)
    r = clirunner.run(["--metadata-split", directory, "--idp-metadata", agg,
                       "--metadata-verify", keys.fed_cert, "--metadata-max-validity",
                       "864000"])
    assert r.rc == 0 and r.records[0]["idps"] == FEDERATION_SIZE, r
    for name in os.listdir(directory):
        os.chmod(os.path.join(directory, name), 0o644)
    os.chmod(directory, 0o755)


@pytest.fixture
def dir_sp(keys):
    sp = sp_with(keys, "md-dir", "AuthnContextIdPMetadataFile @DIR@ cache=2 refresh=%d"
                 % REFRESH)
    d = sp.httpd.path("conf", "entities")
    os.makedirs(d)
    split(keys, aggregate(keys, keys.idp.cert_pem), d)
    sp.conf_text = sp.conf_text.replace("@DIR@", d)
    sp.dir = d
    try:
        sp.start()
    except BaseException:
        sp.stop()
        raise
    yield sp
    sp.stop()


def loaded(sp, entity_id):
    return len(re.findall(r"entities: entity %s loaded" % re.escape(entity_id),
                          sp.httpd.log_text()))


def test_directory_source_loads_entities_lazily(keys, dir_sp):
    sp = dir_sp
    # nothing but the index at start-up
    assert loaded(sp, sf.IDP_ENTITY_ID) == 0
    ok = login_with(keys, sp, keys.idp)
    assert ok.status == 303 and ok.session_cookie_set(), (ok.status, sp.log_lines(ok.test_id))
    assert loaded(sp, sf.IDP_ENTITY_ID) == 1
    ok = login_with(keys, sp, keys.idp)
    assert ok.status == 303 and loaded(sp, sf.IDP_ENTITY_ID) == 1  # cached

    # an IdP no index lists: refused, nothing loaded
    data = attack_context(keys, sp, None, idp=keys.idp,
                          idp_entity_id="https://nobody.example.org/idp").base("unsolicited")
    rep = sp.client().post_acs(data)
    assert rep.status != 303 and "unknown-idp" in sp.reasons(rep.test_id), \
        sp.log_lines(rep.test_id)

    # ?idp= naming listed IdPs one after the other: the cache stays at
    # cache=2 entries, so the first one is loaded again after three others
    members = ["https://idp%03d.member.example.org/idp" % i for i in range(4)]
    c = sp.client()
    for m in members + members[:1]:
        rep = c.get("/saml/login?target=/private/&idp=" + m)
        assert rep.status == 302, (rep.status, sp.log_lines(rep.test_id))
    assert loaded(sp, members[0]) == 2 and loaded(sp, members[3]) == 1, sp.httpd.log_tail(20)

    # a split file changed after the verifier wrote it: refused
    import hashlib
    hexname = hashlib.sha1(members[1].encode()).hexdigest()
    with open(os.path.join(sp.dir, "{sha1}%s.xml" % hexname), "ab") as f:
        f.write(b" ")
    rep = c.get("/saml/login?target=/private/&idp=" + members[1])
    assert rep.status == 400, (rep.status, sp.log_lines(rep.test_id))
    assert any("does not have the SHA-256 the index names" in l
               for l in sp.log_lines(rep.test_id)), sp.log_lines(rep.test_id)

    # the IdP's key rolls: the verifier splits the new aggregate, the
    # processes see the new index, no restart
    split(keys, aggregate(keys, keys.idp_new.cert_pem), sp.dir)
    assert wait_for(lambda: login_with(keys, sp, keys.idp_new).status == 303, 10), \
        sp.httpd.log_tail(20)
    old = login_with(keys, sp, keys.idp)
    assert old.status != 303
    assert not sp.bad_lines()
