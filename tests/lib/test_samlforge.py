"""Self-test of the forger: its signatures and encryption are checked by a
third party, Debian's xmlsec1 command, so a bug in samlforge cannot make the
verifier's tests pass or fail for the wrong reason.

    cd tests && /usr/bin/python3 -m pytest -q lib
"""
import base64
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import samlforge as sf  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ID_ATTRS = ["--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response",
            "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"]
XP_RESPONSE_SIG = "/*[local-name()='Response']/*[local-name()='Signature']"
XP_ASSERTION_SIG = "//*[local-name()='Assertion']/*[local-name()='Signature']"


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    out = tmp_path_factory.mktemp("forge")
    subprocess.run([sys.executable, os.path.join(REPO, "tests/lib/samlforge.py"),
                    "fixtures", str(out), "--now", "2030-01-02T03:04:05Z"], check=True)
    return out


def manifest(fx):
    with open(fx / "manifest.tsv") as f:
        return [l.rstrip("\n").split("\t") for l in f]


def xmlsec1_verify(path, cert, xpath, cwd):
    """True when xmlsec1 verifies the Signature at xpath with `cert` only.
    X509 KeyInfo data is disabled so a certificate in the message is never
    used (the same rule the product follows)."""
    p = subprocess.run(["xmlsec1", "--verify", "--pubkey-cert-pem", str(cert),
                        "--enabled-key-data", "rsa,ecdsa,key-name",
                        "--node-xpath", xpath] + ID_ATTRS + [str(path)],
                       cwd=cwd, capture_output=True, text=True, timeout=30)
    return p.returncode == 0


def xmlsec1_decrypt(path, key, cwd):
    p = subprocess.run(["xmlsec1", "--decrypt", "--privkey-pem", str(key), str(path)],
                       cwd=cwd, capture_output=True, timeout=30)
    return p.returncode, p.stdout


def load_reasons():
    with open(os.path.join(REPO, "src/anc_error.c")) as f:
        return set(re.findall(r'\] = "([a-z0-9-]+)"', f.read()))


def test_manifest_format_and_reasons(fx):
    reasons = load_reasons()
    lines = manifest(fx)
    assert len(lines) > 60
    for line in lines:
        assert len(line) == 6, line
        fn, verdict, reason, req, now, flags = line
        assert (fx / fn).is_file()
        assert verdict in ("accept", "reject", "idp-error")
        if verdict == "reject":
            assert reason in reasons, reason
        else:
            assert reason == "-"
        assert now == "2030-01-02T03:04:05Z"
        for fl in flags.split(","):
            assert fl in ("-", "allow_unsolicited", "require_signed_assertion",
                          "allow_sha1", "sp_key")
    # every rule the verifier checks has at least one breaking response
    covered = {l[2] for l in lines if l[1] == "reject"}
    for r in ("signature-invalid", "audience-mismatch", "expired", "not-yet-valid",
              "destination-mismatch", "issuer-mismatch", "unknown-idp",
              "recipient-mismatch", "subject-confirmation", "in-response-to-unknown",
              "unsolicited-disallowed", "multiple-assertions", "no-assertion",
              "signature-missing", "signature-reference", "signature-transform",
              "signature-algorithm", "duplicate-id", "xml-dtd", "xml-parse",
              "status-with-assertion", "replay", "decrypt-failed", "no-authn-statement"):
        assert r in covered, r
    settings = dict(l.rstrip("\n").split("\t") for l in open(fx / "settings.tsv"))
    assert settings["sp_entity_id"] == sf.SP_ENTITY_ID
    assert settings["acs_url"] == sf.ACS_URL
    assert settings["idp_entity_id"] == sf.IDP_ENTITY_ID
    assert (fx / settings["metadata"]).is_file()


def _plain(fx, fn):
    data = (fx / fn).read_bytes()
    if fn.endswith(".b64"):
        data = base64.b64decode(data)
    return data


def test_accepted_signatures_verify_with_xmlsec1(fx, tmp_path):
    """Every accepted, unencrypted response: each Signature it carries
    verifies with the right IdP certificate and does NOT verify with the
    attacker's."""
    checked = 0
    for fn, verdict, *_ in manifest(fx):
        if verdict != "accept" or "-enc-" in fn:
            continue
        data = _plain(fx, fn)
        path = tmp_path / "r.xml"
        path.write_bytes(data)
        cert = fx / ("keys/idp2.crt" if "idp2" in fn else "keys/idp.crt")
        root = sf.parse(data)
        sigs = 0
        if root.find(sf._q(sf.NS_DS, "Signature")) is not None:
            assert xmlsec1_verify(path, cert, XP_RESPONSE_SIG, fx), fn
            assert not xmlsec1_verify(path, fx / "keys/attacker.crt", XP_RESPONSE_SIG, fx)
            sigs += 1
        a = root.find(sf._q(sf.NS_SAML, "Assertion"))
        if a.find(sf._q(sf.NS_DS, "Signature")) is not None:
            assert xmlsec1_verify(path, cert, XP_ASSERTION_SIG, fx), fn
            sigs += 1
        assert sigs >= 1, fn
        checked += 1
    assert checked >= 12


def test_encrypted_assertions_decrypt_and_verify(fx, tmp_path):
    n = 0
    for fn, verdict, *_ in manifest(fx):
        if verdict != "accept" or "-enc-" not in fn:
            continue
        rc, out = xmlsec1_decrypt(fx / fn, fx / "keys/sp.key", fx)
        assert rc == 0, fn
        if "-in-context-" in fn:
            # xmlsec1 parses the plaintext where the EncryptedData stood:
            # the Assertion uses the Response's declaration of saml
            assert re.search(rb'<saml:Assertion ', out), fn
            assert not re.search(rb'<saml:Assertion[^>]*xmlns:saml=', out), fn
            assert sf.parse(out).find(".//" + sf._q(sf.NS_SAML, "Assertion")) is not None, fn
        else:
            # the plaintext is a self-contained Assertion (own namespace decls)
            assert re.search(rb'<saml:Assertion[^>]*xmlns:saml=', out), fn
        path = tmp_path / "dec.xml"
        path.write_bytes(out)
        root = sf.parse(out)
        if root.find(".//" + sf._q(sf.NS_SAML, "Assertion") + "/" + sf._q(sf.NS_DS, "Signature")) is not None:
            assert xmlsec1_verify(path, fx / "keys/idp.crt", XP_ASSERTION_SIG, fx), fn
        n += 1
    assert n == 7


def test_broken_encryption_does_not_decrypt(fx):
    n = 0
    for fn, verdict, reason, *_ in manifest(fx):
        if reason == "decrypt-failed":
            rc, _ = xmlsec1_decrypt(fx / fn, fx / "keys/sp.key", fx)
            if "rsa-1_5" in fn:
                # well-formed, refused by policy only (no PKCS#1 v1.5 oracle)
                assert rc == 0, fn
            else:
                assert rc != 0, fn
                n += 1
    assert n >= 3


def test_invalid_signatures_fail_xmlsec1(fx, tmp_path):
    for fn, verdict, reason, *_ in manifest(fx):
        if reason != "signature-invalid":
            continue
        path = fx / fn
        root = sf.parse(path.read_bytes())
        xp = XP_RESPONSE_SIG if root.find(sf._q(sf.NS_DS, "Signature")) is not None \
            else XP_ASSERTION_SIG
        assert not xmlsec1_verify(path, fx / "keys/idp.crt", xp, fx), fn


def test_single_rule_responses_are_otherwise_valid_signatures(fx):
    """The algorithm/transform/reference cases carry signatures that are
    cryptographically valid, so the verifier must reject them for the rule,
    not because the signature is broken."""
    for fn, verdict, reason, *_ in manifest(fx):
        if reason in ("signature-transform", "signature-reference") or (
                reason == "signature-algorithm" and "hmac" not in fn):
            assert xmlsec1_verify(fx / fn, fx / "keys/idp.crt", XP_RESPONSE_SIG, fx), fn


def test_expected_records(fx):
    import json
    exp = json.load(open(fx / "expected.json"))
    lines = manifest(fx)
    accepted = [l[0] for l in lines if l[1] == "accept"]
    assert sorted(exp) == sorted(accepted)
    multi = next(v for k, v in exp.items() if "ok-multi-authn" in k)
    assert multi["authn_context_class_refs"] == [sf.PPT, sf.MFA, sf.MS_MFA]
    ws = next(v for k, v in exp.items() if "ok-class-whitespace" in k)
    assert ws["authn_context_class_refs"] == [sf.MFA]


def test_library_roundtrip_sign_and_xmlsec1(tmp_path):
    idp = sf.make_rsa_keypair()
    now = sf.parse_time("2030-01-01T00:00:00Z")
    r = sf.build_response(now, in_response_to="_x", authn_statements=[{"class_ref": sf.MFA}])
    sf.sign(r, "both", idp)
    (tmp_path / "r.xml").write_bytes(sf.to_bytes(r))
    (tmp_path / "c.pem").write_bytes(idp.cert_pem)
    assert xmlsec1_verify(tmp_path / "r.xml", tmp_path / "c.pem", XP_RESPONSE_SIG, tmp_path)
    assert xmlsec1_verify(tmp_path / "r.xml", tmp_path / "c.pem", XP_ASSERTION_SIG, tmp_path)
    assert 'IssueInstant="2029-12-31T23:59:55Z"' in sf.to_bytes(r).decode()
