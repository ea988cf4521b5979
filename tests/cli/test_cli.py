"""authncontext-verify, end to end: the manifest of forged responses
(tests/lib/samlforge.py, signed by python3-xmlsec), the JSON Lines record,
exit codes, request IDs, stdin and option errors.

    cd tests && ANC_BUILD_DIR=../build /usr/bin/python3 -m pytest -q cli
"""
import base64
import json
import os
import re

import pytest

import samlforge as sf

EXPECTED_ACCEPT_KEYS = {
    "file", "verdict", "idp", "name_id", "authn_context_class_refs",
    "authn_context_decl_ref", "authn_instant", "session_index",
    "session_not_on_or_after", "authn_statements", "authenticating_authorities",
    "attributes", "assertion_id", "not_on_or_after"}


def manifest_lines(out):
    with open(out / "manifest.tsv") as f:
        return [l.rstrip("\n").split("\t") for l in f]


def args_for(out, settings, request_id, now, flags, metadata=None):
    flags = set(flags.split(",")) - {"-"}
    return sf_args(out, settings, [] if request_id == "-" else [request_id], now,
                   allow_unsolicited="allow_unsolicited" in flags,
                   allow_sha1="allow_sha1" in flags,
                   require_signed_assertion="require_signed_assertion" in flags,
                   sp_key=str(out / settings["sp_key"]) if "sp_key" in flags else None,
                   metadata=metadata)


def sf_args(out, settings, request_ids, now, metadata=None, **kw):
    import clirunner
    return clirunner.sp_args(metadata or str(out / settings["metadata"]),
                             settings["sp_entity_id"], settings["acs_url"],
                             request_ids=request_ids, now=now, **kw)


def _manifest_ids():
    # the parametrisation needs names before the fixture exists: forge a
    # throw-away set just to list the file names (cheap: ~1.5 s)
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        sf.make_fixtures(d, sf.utcnow())
        with open(os.path.join(d, "manifest.tsv")) as f:
            return [l.split("\t")[0] for l in f]


MANIFEST_FILES = _manifest_ids()


@pytest.mark.parametrize("fn", MANIFEST_FILES, ids=[os.path.basename(f) for f in MANIFEST_FILES])
def test_manifest_line(cli, fixtures, fn):
    """Each forged response gets the manifest's verdict and reason. A replay
    line is run after the line that first presented the same bytes, in one
    invocation (one replay cache)."""
    out, fx, settings = fixtures
    lines = manifest_lines(out)
    line = next(l for l in lines if l[0] == fn)
    _, verdict, reason, req, now, flags = line
    files = [str(out / fn)]
    if reason == "replay":
        data = (out / fn).read_bytes()
        first = next(l for l in lines if l[0] != fn and (out / l[0]).read_bytes() == data)
        assert first[1] == "accept"
        files.insert(0, str(out / first[0]))
    r = cli.run(args_for(out, settings, req, now, flags) + files)
    assert len(r.records) == len(files), r
    rec = r.records[-1]
    assert rec["file"] == files[-1]
    assert rec["verdict"] == verdict, (rec, r.stderr)
    if verdict == "reject":
        assert rec["reason"] == reason, rec
        assert set(rec) - {"in-response-to-unknown": {"in_response_to", "hint"},
                           "signature-invalid": {"metadata_keys", "message_certificates",
                                                 "hint"}}.get(rec["reason"], set()) \
            == {"file", "verdict", "reason", "detail"}
        assert r.rc == 1
    elif verdict == "accept":
        assert EXPECTED_ACCEPT_KEYS <= set(rec), rec
        assert r.rc == 0
        check_record(rec, fx.expected[fn])
    else:
        assert r.rc == 3
        assert rec["status_code"] in (sf.RESPONDER, sf.REQUESTER)
    if len(files) == 2:
        assert r.records[0]["verdict"] == "accept"


def check_record(rec, exp):
    """The accepted record against what the forger put in the assertion."""
    assert rec["idp"] == exp["idp"]
    assert rec["name_id"] == exp["name_id"]
    assert rec["authn_context_class_refs"] == exp["authn_context_class_refs"]
    assert rec["authn_context_decl_ref"] == exp["authn_context_decl_ref"]
    assert rec["authn_instant"] == exp["authn_instant"]
    assert rec["session_index"] == exp["session_index"]
    assert rec["session_not_on_or_after"] == exp["session_not_on_or_after"]
    assert rec["authn_statements"] == exp["authn_statements"]
    # every AuthenticatingAuthority of every statement (a verifier may drop
    # repeats)
    assert set(rec["authenticating_authorities"]) == set(exp["authenticating_authorities"])
    assert rec["attributes"] == exp["attributes"]
    assert rec["assertion_id"] == exp["assertion_id"]
    assert rec["not_on_or_after"] in (exp["conditions_not_on_or_after"],
                                      exp["subject_not_on_or_after"])


def _fn(out, name):
    for l in manifest_lines(out):
        if re.match(r"responses/\d+-%s\.(xml|b64)$" % re.escape(name), l[0]):
            return l
    raise KeyError(name)


def test_multi_authn_classes_in_document_order(cli, fixtures):
    out, fx, settings = fixtures
    l = _fn(out, "ok-multi-authn")
    r = cli.run(args_for(out, settings, l[3], l[4], l[5]) + [out / l[0]])
    rec = r.records[0]
    assert rec["authn_context_class_refs"] == [sf.PPT, sf.MFA, sf.MS_MFA]
    assert rec["authn_context_decl_ref"] == "https://idp.example.org/decl/otp"
    assert set(rec["authenticating_authorities"]) == {
        "https://idp.example.org/pw", "https://otp.example.org"}


def test_class_whitespace_collapsed(cli, fixtures):
    out, fx, settings = fixtures
    l = _fn(out, "ok-class-whitespace")
    raw = (out / l[0]).read_bytes()
    assert b"\n\t  https://refeds.org/profile/mfa  \r\n" in raw.replace(b"&#13;", b"\r")
    r = cli.run(args_for(out, settings, l[3], l[4], l[5]) + [out / l[0]])
    assert r.records[0]["authn_context_class_refs"] == [sf.MFA]


def test_attributes_and_json_escaping(cli, fixtures):
    """Quotes, backslash, <, & and non-ASCII values survive into valid JSON."""
    out, fx, settings = fixtures
    l = _fn(out, "ok-attributes")
    r = cli.run(args_for(out, settings, l[3], l[4], l[5]) + [out / l[0]])
    rec = r.records[0]
    assert rec["attributes"] == [
        {"name": a["name"], "name_format": a.get("name_format"),
         "friendly_name": a.get("friendly_name"), "values": a["values"]}
        for a in sf.RICH_ATTRS]
    assert rec["name_id"] == {"value": "AAdzZWNyZXQxMjM0NTY3ODkw",
                              "format": sf.NAMEID_PERSISTENT,
                              "name_qualifier": sf.IDP_ENTITY_ID,
                              "sp_name_qualifier": sf.SP_ENTITY_ID}
    # non-ASCII is either raw UTF-8 or \u escapes: both decode the same
    line = r.stdout.decode("utf-8").splitlines()[0]
    assert "\\\"" in line and "\\\\" in line


def test_exit_codes(cli, fixtures):
    out, fx, settings = fixtures
    ok = _fn(out, "ok-response-signed")
    ok2 = _fn(out, "ok-assertion-signed")
    bad = _fn(out, "audience-mismatch")
    err = _fn(out, "idp-error-noauthncontext")
    now = ok[4]

    def run(*ls):
        reqs = [l[3] for l in ls]
        return cli.run(sf_args(out, settings, reqs, now) + [out / l[0] for l in ls])

    r = run(ok, ok2)
    assert r.rc == 0 and [x["verdict"] for x in r.records] == ["accept", "accept"]
    r = run(ok, bad)
    assert r.rc == 1 and [x["verdict"] for x in r.records] == ["accept", "reject"]
    r = run(err)
    assert r.rc == 3 and r.records[0]["verdict"] == "idp-error"
    assert r.records[0]["status_code"] == sf.RESPONDER
    assert r.records[0]["status_code2"] == sf.NO_AUTHN_CONTEXT
    assert r.records[0]["status_message"] == 'MFA "required"'
    r = run(err, ok)
    assert r.rc == 3
    r = run(bad, err)
    assert r.rc == 1


def test_files_processed_in_order_one_line_each(cli, fixtures):
    out, fx, settings = fixtures
    ls = [l for l in manifest_lines(out) if l[5] == "-" and l[3] != "-"][:25]
    r = cli.run(sf_args(out, settings, [l[3] for l in ls], ls[0][4])
                + [out / l[0] for l in ls])
    assert [x["file"] for x in r.records] == [str(out / l[0]) for l in ls]
    assert [x["verdict"] for x in r.records] == [l[1] for l in ls]
    assert [x.get("reason", "-") for x in r.records] == [l[2] for l in ls]


def _fresh(settings, out, now, **kw):
    """A fresh response signed by the fixture IdP."""
    idp = sf.KeyPair.read(str(out / settings["idp_key"]), str(out / settings["idp_cert"]))
    root = sf.build_response(sf.parse_time(now), **kw)
    sf.sign(root, "response", idp)
    return sf.to_bytes(root)


def test_request_id_answered_once(cli, fixtures, tmp_path):
    out, fx, settings = fixtures
    now = settings["now"]
    a = tmp_path / "a.xml"
    b = tmp_path / "b.xml"
    c = tmp_path / "c.xml"
    a.write_bytes(_fresh(settings, out, now, in_response_to="_req-A"))
    b.write_bytes(_fresh(settings, out, now, in_response_to="_req-A"))
    c.write_bytes(_fresh(settings, out, now, in_response_to="_req-B"))
    r = cli.run(sf_args(out, settings, ["_req-A", "_req-B"], now) + [a, b, c])
    assert [x["verdict"] for x in r.records] == ["accept", "reject", "accept"], r
    assert r.records[1]["reason"] == "in-response-to-unknown"
    assert r.rc == 1
    # a request that was never sent
    r = cli.run(sf_args(out, settings, ["_req-B"], now) + [a])
    assert r.records[0]["reason"] == "in-response-to-unknown"


def test_same_response_twice_is_refused(cli, fixtures, tmp_path):
    out, fx, settings = fixtures
    now = settings["now"]
    a = tmp_path / "a.xml"
    a.write_bytes(_fresh(settings, out, now, in_response_to=None))
    r = cli.run(sf_args(out, settings, [], now, allow_unsolicited=True) + [a, a])
    assert [x["verdict"] for x in r.records] == ["accept", "reject"]
    assert r.records[1]["reason"] == "replay"
    # answering a request: the second copy fails on the consumed request or
    # on the replay cache, both refuse it
    b = tmp_path / "b.xml"
    b.write_bytes(_fresh(settings, out, now, in_response_to="_req-X"))
    r = cli.run(sf_args(out, settings, ["_req-X"], now) + [b, b])
    assert r.records[1]["verdict"] == "reject"
    assert r.records[1]["reason"] in ("in-response-to-unknown", "replay")


def test_stdin_base64_and_xml(cli, fixtures):
    out, fx, settings = fixtures
    l = _fn(out, "ok-response-signed")
    xml = (out / l[0]).read_bytes()
    r = cli.run(sf_args(out, settings, [l[3]], l[4]) + ["-"], stdin=base64.b64encode(xml))
    assert r.records[0]["file"] == "-"
    assert r.records[0]["verdict"] == "accept", r
    r = cli.run(sf_args(out, settings, [l[3]], l[4]) + ["-"], stdin=xml)
    assert r.records[0]["verdict"] == "accept", r
    assert r.rc == 0


def test_metadata_files_repeatable(cli, fixtures):
    """Two --idp-metadata files (EntityDescriptor each) trust both IdPs."""
    out, fx, settings = fixtures
    l1 = _fn(out, "ok-response-signed")
    l2 = _fn(out, "ok-ecdsa-idp2")
    md = [str(out / settings["idp_metadata"]), str(out / settings["idp2_metadata"])]
    r = cli.run(sf_args(out, settings, [l1[3], l2[3]], l1[4], metadata=md)
                + [out / l1[0], out / l2[0]])
    assert [x["verdict"] for x in r.records] == ["accept", "accept"], r
    assert r.records[1]["idp"] == sf.IDP2_ENTITY_ID
    # with only the first IdP's metadata the second is unknown
    r = cli.run(sf_args(out, settings, [l2[3]], l2[4], metadata=[md[0]]) + [out / l2[0]])
    assert r.records[0]["reason"] == "unknown-idp"


def test_signed_metadata_options(cli, fixtures):
    """--metadata-verify / --metadata-max-validity: the sources the module
    takes with verify= / maxValidity= (signed aggregates from samlforge)."""
    out, fx, settings = fixtures
    l = _fn(out, "ok-response-signed")
    fed = str(out / "metadata" / "fed.crt")
    md = lambda name: [str(out / "metadata" / name)]  # noqa: E731
    args = lambda name, *extra: (sf_args(out, settings, [l[3]], l[4], metadata=md(name))  # noqa
                                 + ["--metadata-verify", fed] + list(extra) + [out / l[0]])
    r = cli.run(args("ok.xml", "--metadata-max-validity", "864000"))
    assert r.rc == 0 and r.records[0]["verdict"] == "accept", r
    # the aggregate's expired member is reported, the others trusted
    assert "https://old.example.org/idp skipped reason=metadata-validity" in r.stderr, r
    for name, reason in (("unsigned.xml", "metadata-signature"),
                         ("other-key.xml", "metadata-signature"),
                         ("moved.xml", "metadata-signature"),
                         ("expired.xml", "metadata-validity")):
        r = cli.run(args(name), parse=False)
        assert r.rc == 2 and reason in r.stderr, (name, r)
    r = cli.run(args("long.xml", "--metadata-max-validity", "864000"), parse=False)
    assert r.rc == 2 and "metadata-validity" in r.stderr, r
    # --metadata-only: what a fetcher runs on a download before renaming it
    only = lambda name: ["--metadata-only", "--idp-metadata", md(name)[0],  # noqa: E731
                         "--metadata-verify", fed, "--metadata-max-validity", "864000"]
    r = cli.run(only("ok.xml"))
    assert r.rc == 0 and r.records[0]["idps"] == 2 and r.records[0]["skipped"] == 1, r
    assert r.records[0]["cache_duration"] == 3600 and r.records[0]["valid_until"], r
    r = cli.run(only("tampered.xml"), parse=False)
    assert r.rc == 2 and "metadata-signature" in r.stderr, r


def test_clock_skew_option(cli, fixtures):
    out, fx, settings = fixtures
    l = _fn(out, "ok-skew")   # NotBefore now+120s, NotOnOrAfter now-60s
    r = cli.run(args_for(out, settings, l[3], l[4], l[5]) + [out / l[0]])
    assert r.records[0]["verdict"] == "accept"
    r = cli.run(args_for(out, settings, l[3], l[4], l[5]) + ["--clock-skew", "0", out / l[0]])
    assert r.records[0]["verdict"] == "reject"
    assert r.records[0]["reason"] in ("not-yet-valid", "expired")


def test_now_option_and_real_clock(cli, fixtures):
    out, fx, settings = fixtures
    l = _fn(out, "ok-response-signed")
    # no --now: the real clock; the fixtures were made seconds ago
    r = cli.run(sf_args(out, settings, [l[3]], None) + [out / l[0]])
    assert r.records[0]["verdict"] == "accept", r
    later = sf.fmt_time(sf.parse_time(l[4]) + __import__("datetime").timedelta(hours=2))
    r = cli.run(sf_args(out, settings, [l[3]], later) + [out / l[0]])
    assert r.records[0]["reason"] == "expired"


def test_max_size_option(cli, fixtures):
    out, fx, settings = fixtures
    l = _fn(out, "ok-response-signed")
    r = cli.run(sf_args(out, settings, [l[3]], l[4], max_size=1000) + [out / l[0]])
    assert r.records[0]["reason"] == "too-large"


def test_sp_key_with_cert(cli, fixtures):
    out, fx, settings = fixtures
    l = _fn(out, "ok-enc-rsa-oaep-aes256-gcm")
    r = cli.run(sf_args(out, settings, [l[3]], l[4], sp_key=out / settings["sp_key"],
                        sp_cert=out / settings["sp_cert"]) + [out / l[0]])
    assert r.records[0]["verdict"] == "accept", r
    assert r.records[0]["authn_context_class_refs"] == [sf.MFA]


def test_file_name_escaped(cli, fixtures, tmp_path):
    """The file name goes into JSON: quotes, backslash, control characters
    and invalid UTF-8 must still give one valid JSON line."""
    out, fx, settings = fixtures
    l = _fn(out, "ok-response-signed")
    name = os.path.join(str(tmp_path).encode(), b'we"ird\\na\tme\x01\xff.xml')
    with open(name, "wb") as f:
        f.write((out / l[0]).read_bytes())
    import subprocess
    import clirunner
    p = subprocess.run([clirunner.cli_path()] + sf_args(out, settings, [l[3]], l[4])
                       + [name], capture_output=True, timeout=60)
    lines = p.stdout.splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0].decode("utf-8"))   # strict: must be valid UTF-8
    assert rec["verdict"] == "accept"
    assert rec["file"] == name.decode("utf-8", "replace")


BAD_OPTIONS = [
    ([], "nothing"),
    (["--sp-entity-id", sf.SP_ENTITY_ID, "--acs-url", sf.ACS_URL, "F"], "no metadata"),
    (["--idp-metadata", "M", "--acs-url", sf.ACS_URL, "F"], "no entity id"),
    (["--idp-metadata", "M", "--sp-entity-id", sf.SP_ENTITY_ID, "F"], "no acs"),
    (["--idp-metadata", "M", "--sp-entity-id", sf.SP_ENTITY_ID, "--acs-url", sf.ACS_URL],
     "no files"),
    (["--bogus"], "unknown option"),
    (["STD", "--clock-skew", "abc", "F"], "bad skew"),
    (["STD", "--clock-skew", "-5", "F"], "negative skew"),
    (["STD", "--max-size", "0", "F"], "zero max size"),
    (["STD", "--now", "yesterday", "F"], "bad now"),
    (["STD", "--sp-cert", "C", "F"], "cert without key"),
    (["STD", "--sp-key", "/nonexistent/key.pem", "F"], "missing key"),
    (["STD", "/nonexistent/response.xml"], "missing response file"),
    (["--idp-metadata", "/nonexistent/md.xml", "--sp-entity-id", sf.SP_ENTITY_ID,
      "--acs-url", sf.ACS_URL, "F"], "missing metadata"),
    (["--idp-metadata", "NOTMD", "--sp-entity-id", sf.SP_ENTITY_ID,
      "--acs-url", sf.ACS_URL, "F"], "metadata not metadata"),
    (["STD", "--request-id"], "option without value"),
]


@pytest.mark.parametrize("argv,why", BAD_OPTIONS, ids=[b[1] for b in BAD_OPTIONS])
def test_usage_errors_exit_2(cli, fixtures, argv, why):
    out, fx, settings = fixtures
    ok = _fn(out, "ok-response-signed")
    std = ["--idp-metadata", str(out / settings["metadata"]),
           "--sp-entity-id", sf.SP_ENTITY_ID, "--acs-url", sf.ACS_URL]
    subst = {"M": str(out / settings["metadata"]), "F": str(out / ok[0]),
             "C": str(out / settings["sp_cert"]), "NOTMD": str(out / ok[0])}
    a = []
    for x in argv:
        if x == "STD":
            a += std
        else:
            a.append(subst.get(x, x))
    r = cli.run(a)
    assert r.rc == 2, (why, r)
    assert r.stderr.strip() != ""
    assert all(rec.get("verdict") != "accept" for rec in r.records)


def test_help_exits_0(cli):
    r = cli.run(["--help"], parse=False)
    assert r.rc == 0
    assert b"--idp-metadata" in r.stdout


def test_stderr_silent_when_verifying(cli, fixtures):
    """stderr is for usage and configuration errors; verdicts, rejections
    included, go to stdout only (DESIGN: the core never logs, so library
    diagnostics such as xmlsec's error lines must not leak out either)."""
    out, fx, settings = fixtures
    ls = [l for l in manifest_lines(out) if l[5] == "-" and l[3] != "-"]
    r = cli.run(sf_args(out, settings, [l[3] for l in ls], ls[0][4])
                + [out / l[0] for l in ls])
    assert len(r.records) == len(ls)
    assert r.stderr == "", r.stderr[:2000]


def test_idp_error_answers_the_request(cli, fixtures, tmp_path):
    """An IdP error status is the answer to its AuthnRequest: a later
    assertion for the same request is refused (each request answered once)."""
    out, fx, settings = fixtures
    now = settings["now"]
    idp = sf.KeyPair.read(str(out / settings["idp_key"]), str(out / settings["idp_cert"]))
    e = sf.build_response(sf.parse_time(now), in_response_to="_req-E", status=sf.RESPONDER,
                          status2=sf.NO_AUTHN_CONTEXT, include_assertion=False)
    sf.sign(e, "response", idp)
    (tmp_path / "e.xml").write_bytes(sf.to_bytes(e))
    (tmp_path / "a.xml").write_bytes(_fresh(settings, out, now, in_response_to="_req-E"))
    r = cli.run(sf_args(out, settings, ["_req-E"], now) + [tmp_path / "e.xml", tmp_path / "a.xml"])
    assert [x["verdict"] for x in r.records] == ["idp-error", "reject"], r
    assert r.records[0]["in_response_to"] == "_req-E"
    assert r.records[1]["reason"] == "in-response-to-unknown"
