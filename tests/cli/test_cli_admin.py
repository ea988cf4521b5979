"""Issue 12: authncontext-verify for the admin who debugs a failed login:
--version, the InResponseTo hint, rule evaluation (--require with levels and
aliases), --print-template for every page."""

import re

import pytest

from test_cli import manifest_lines, sf_args

MFA = "https://refeds.org/profile/mfa"
PPT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


def line(out, prefix):
    for l in manifest_lines(out):
        if l[0].startswith("responses/" + prefix):
            return l
    raise AssertionError(prefix)


def test_version(cli):
    r = cli.run(["--version"], parse=False)
    assert r.rc == 0 and re.fullmatch(rb"authncontext-verify \d+\.\d+\.\d+\n", r.stdout), r


def test_in_response_to_hint_when_only_the_request_id_is_missing(cli, fixtures):
    out, _, st = fixtures
    fn, _, _, req, now, _ = line(out, "05-ok-multi-authn")
    r = cli.run(sf_args(out, st, [], now) + [str(out / fn)])
    rec = r.records[0]
    assert r.rc == 1 and rec["reason"] == "in-response-to-unknown"
    assert rec["in_response_to"] == req
    assert "--request-id %s" % req in rec["hint"] and "only the request binding" in rec["hint"]
    # With the ID it is accepted: the hint told the truth.
    r = cli.run(sf_args(out, st, [req], now) + [str(out / fn)])
    assert r.rc == 0 and r.records[0]["verdict"] == "accept"


def test_in_response_to_hint_names_the_other_failure(cli, fixtures):
    out, _, st = fixtures
    fn, _, _, req, now, _ = line(out, "05-ok-multi-authn")
    later = "2030-01-01T00:00:00Z"      # also expired then
    r = cli.run(sf_args(out, st, [], later) + [str(out / fn)])
    rec = r.records[0]
    assert rec["reason"] in ("in-response-to-unknown", "expired"), rec
    if rec["reason"] == "in-response-to-unknown":
        assert "still refused: expired" in rec["hint"], rec


def test_require_rules_are_evaluated_like_the_module(cli, fixtures):
    out, _, st = fixtures
    fn, _, _, req, now, _ = line(out, "00-ok-response-signed")
    base = sf_args(out, st, [req], now) + [str(out / fn)]
    ladder = ["--class-level", "10", PPT, "--class-level", "20", MFA]
    r = cli.run(["--require", MFA, "--require", "minimum " + PPT,
                 "--require", "better " + PPT] + ladder + base)
    rec = r.records[0]
    assert rec["verdict"] == "accept" and rec["session_classes"] == [PPT], rec
    assert [x["granted"] for x in rec["require"]] == [False, True, False], rec["require"]
    # An alias counts, as AuthnContextClassAlias does in the module.
    r = cli.run(["--require", MFA, "--class-alias", PPT, MFA] + base)
    assert r.records[0]["require"] == [{"rule": MFA, "granted": True}]
    # A rule the module would refuse at configtest is refused here too.
    r = cli.run(["--require", "minimum urn:example:unranked"] + base, parse=False)
    assert r.rc == 2 and "--require" in r.stderr


@pytest.mark.parametrize("page", ["layout.html", "forbidden.html", "error.html",
                                  "unavailable.html", "logout.html", "notice.html"])
def test_print_template(cli, page):
    r = cli.run(["--print-template", page], parse=False)
    assert r.rc == 0 and b"{{" in r.stdout and "names of this page" in r.stderr


def test_print_template_unknown(cli):
    r = cli.run(["--print-template", "nosuch.html"], parse=False)
    assert r.rc == 2 and "forbidden.html" in r.stderr


def spki_sha256(pem_path):
    """The SPKI SHA-256 of a certificate, by openssl alone."""
    import hashlib
    import subprocess
    pub = subprocess.run(["openssl", "x509", "-in", pem_path, "-noout", "-pubkey"],
                         capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                         capture_output=True, check=True).stdout
    return ":".join("%02x" % b for b in hashlib.sha256(der).digest())


def test_signature_invalid_names_key_fingerprints(cli, fixtures):
    out, _, st = fixtures
    idp_fp = spki_sha256(str(out / st["idp_cert"]))
    fn, _, reason, req, now, _ = line(out, "47-signature-invalid-attacker-key")
    assert reason == "signature-invalid"
    rec = cli.run(sf_args(out, st, [req], now) + [str(out / fn)]).records[0]
    assert idp_fp in [k["sha256"] for k in rec["metadata_keys"]], rec
    assert rec["message_certificates"] and idp_fp not in rec["message_certificates"], rec
    assert "rolled its signing key" in rec["hint"]
    fn, _, reason, req, now, _ = line(out, "45-signature-invalid-tampered")
    rec = cli.run(sf_args(out, st, [req], now) + [str(out / fn)]).records[0]
    assert rec["message_certificates"] == [idp_fp], rec
    assert "changed after signing" in rec["hint"]
