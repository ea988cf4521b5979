#!/usr/bin/python3
"""core_cases.py - extra cases for test_response.c, made with samlforge.

    /usr/bin/python3 tests/unit/core_cases.py FIXTURE_DIR OUTDIR

Uses the keys of an existing samlforge fixture set (FIXTURE_DIR, the
ANC_TEST_DATA of the unit tests) and samlforge's signer and encrypter (no
second signer), and writes OUTDIR/responses/* plus OUTDIR/manifest.tsv in
the manifest format of samlforge (file, verdict, reason, request id, now,
flags). The cases are the verifier's finer rules that the main fixture set
does not isolate: what must be signed once an assertion is decrypted, IDs
across the decrypted document, EncryptedKey placement, several subject
confirmations and audience restrictions, Advice, Destination on a signed
Response, and IdP selection from the Assertion's Issuer.
"""

import base64
import copy
import datetime
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import samlforge as sf  # noqa: E402
from lxml import etree  # noqa: E402


def main(fixtures, out):
    settings = dict(l.rstrip("\n").split("\t", 1) for l in open(os.path.join(fixtures, "settings.tsv")))
    now = sf.parse_time(settings["now"])
    k = lambda name: sf.KeyPair.read(os.path.join(fixtures, settings[name + "_key"]),
                                     os.path.join(fixtures, settings[name + "_cert"]))
    idp, idp2, sp, attacker = k("idp"), k("idp2"), k("sp"), k("attacker")
    os.makedirs(os.path.join(out, "responses"), exist_ok=True)
    lines = []

    def add(name, root, verdict, reason="-", flags="-", request_id=None):
        fn = "responses/%s.xml" % name
        with open(os.path.join(out, fn), "wb") as f:
            f.write(root if isinstance(root, bytes) else sf.to_bytes(root))
        rid = request_id if request_id is not None else "_req-" + name
        lines.append("\t".join((fn, verdict, reason, rid, settings["now"], flags)))

    def resp(name, **kw):
        kw.setdefault("response_id", "_resp-" + name)
        kw.setdefault("assertion_id", "_assert-" + name)
        kw.setdefault("in_response_to", "_req-" + name)
        return sf.build_response(now, **kw)

    # -- decryption: what must be signed after it
    r = resp("enc-unsigned-unsigned")
    sf.encrypt_assertion(r, sp.cert_pem, "rsa-oaep", "aes128-gcm")
    add("enc-unsigned-unsigned", r, "reject", "signature-missing", "sp_key")

    r = resp("enc-unsigned-in-signed")
    sf.encrypt_assertion(r, sp.cert_pem, "rsa-oaep", "aes256-cbc")
    sf.sign(r, "response", idp)
    add("enc-unsigned-in-signed", r, "accept", "-", "sp_key")

    r = resp("enc-unsigned-required")
    sf.encrypt_assertion(r, sp.cert_pem, "rsa-oaep", "aes256-cbc")
    sf.sign(r, "response", idp)
    add("enc-unsigned-required", r, "reject", "signature-missing",
        "sp_key,require_signed_assertion")

    # the decrypted Assertion reuses the Response's ID (GCM: with CBC in an
    # unsigned Response every refusal of the plaintext is decrypt-failed)
    r = resp("enc-id-clash", assertion_id="_resp-enc-id-clash")
    sf.sign(r, "assertion", idp)
    sf.encrypt_assertion(r, sp.cert_pem, "rsa-oaep", "aes128-gcm")
    add("enc-id-clash", r, "reject", "duplicate-id", "sp_key")

    # CBC plaintext nobody authenticated (the Response is not signed): one
    # reason for every refusal up to the Assertion's own signature, so the
    # answers are no decryption oracle (Jager and Somorovsky, CCS 2011)
    r = resp("enc-cbc-unsigned-oracle")
    sf.encrypt_assertion(r, sp.cert_pem, "rsa-oaep", "aes256-cbc")
    add("enc-cbc-unsigned-oracle", r, "reject", "decrypt-failed", "sp_key")
    r = resp("enc-cbc-id-clash", assertion_id="_resp-enc-cbc-id-clash")
    sf.sign(r, "assertion", idp)
    sf.encrypt_assertion(r, sp.cert_pem, "rsa-oaep", "aes128-cbc")
    add("enc-cbc-id-clash", r, "reject", "decrypt-failed", "sp_key")
    r = resp("enc-cbc-wrong-signer")
    sf.sign(r, "assertion", attacker)
    sf.encrypt_assertion(r, sp.cert_pem, "rsa-oaep", "aes128-cbc")
    add("enc-cbc-wrong-signer", r, "reject", "decrypt-failed", "sp_key")

    # EncryptedKey as a sibling of EncryptedData (SAML core 2.3.4)
    r = resp("enc-key-sibling")
    sf.sign(r, "assertion", idp)
    ea = sf.encrypt_assertion(r, sp.cert_pem, "rsa-oaep", "aes128-cbc")
    ek = ea.find(".//" + sf._q(sf.NS_XENC, "EncryptedKey"))
    ki = ek.getparent()
    ki.remove(ek)
    ki.getparent().remove(ki)
    ea.append(ek)
    add("enc-key-sibling", r, "accept", "-", "sp_key")

    # two EncryptedData in one EncryptedAssertion
    r = resp("enc-two-data")
    sf.sign(r, "assertion", idp)
    ea = sf.encrypt_assertion(r, sp.cert_pem, "rsa-oaep", "aes128-cbc")
    ea.append(copy.deepcopy(ea[0]))
    add("enc-two-data", r, "reject", "decrypt-failed", "sp_key")

    # the content key wrapped for someone else's key
    r = resp("enc-wrong-recipient")
    sf.sign(r, "assertion", idp)
    sf.encrypt_assertion(r, attacker.cert_pem, "rsa-oaep", "aes256-gcm")
    add("enc-wrong-recipient", r, "reject", "decrypt-failed", "sp_key")

    # -- decryption in context (XML Encryption 4.5): the plaintext relies on
    # the Response's saml declaration; every other rule stays (GCM and a
    # signed Response, so each refusal names its own reason)
    r = resp("enc-in-context-id-clash", assertion_id="_resp-enc-in-context-id-clash")
    sf.sign(r, "assertion", idp)
    sf.encrypt_assertion(r, sp.cert_pem, "rsa-oaep", "aes128-gcm", in_context=True)
    add("enc-in-context-id-clash", r, "reject", "duplicate-id", "sp_key")

    def hostile_plain(name, make_plain, reason, **kw):
        r = resp(name, **kw)
        sf.sign(r, "assertion", idp)
        a = r.find(sf._q(sf.NS_SAML, "Assertion"))
        plain = make_plain(sf._without_saml_declaration(a))
        sf.encrypt_assertion(r, sp.cert_pem, "rsa-oaep", "aes256-gcm", plaintext=plain,
                             in_context=True)
        sf.sign(r, "response", idp)
        add(name, r, "reject", reason, "sp_key")

    hostile_plain("enc-in-context-doctype",
                  lambda p: b'<!DOCTYPE saml:Assertion [<!ENTITY e "alice">]>' + p, "xml-dtd")
    hostile_plain("enc-in-context-doctype-after-decl",
                  lambda p: b'<?xml version="1.0"?><!DOCTYPE x>' + p, "xml-dtd")
    deep = etree.Element("{urn:example:deep}d", nsmap={"x": "urn:example:deep"})
    cur = deep
    for _ in range(200):
        cur = etree.SubElement(cur, "{urn:example:deep}d")
    hostile_plain("enc-in-context-too-deep", lambda p: p, "xml-too-deep",
                  advice=[deep])
    hostile_plain("enc-in-context-two-elements",
                  lambda p: p + b"<saml:Issuer>x</saml:Issuer>", "decrypt-failed")
    hostile_plain("enc-in-context-text-beside", lambda p: p + b"x", "decrypt-failed")
    hostile_plain("enc-in-context-utf16",
                  lambda p: b"\xff\xfe" + p.decode().encode("utf-16-le"), "decrypt-failed")
    hostile_plain("enc-in-context-utf7-decl",
                  lambda p: b'<?xml version="1.0" encoding="UTF-7"?>' + p, "decrypt-failed")
    hostile_plain("enc-in-context-many-attributes",
                  lambda p: p.replace(b"<saml:Assertion ", b"<saml:Assertion " + b"".join(
                      b"a%d='' " % i for i in range(300)), 1), "too-large")
    # a declaration in front of the plaintext is fine (as before)
    r = resp("enc-in-context-with-declaration")
    sf.sign(r, "assertion", idp)
    a = r.find(sf._q(sf.NS_SAML, "Assertion"))
    plain = b"<?xml version='1.0' encoding='utf-8'?>\n" + sf._without_saml_declaration(a)
    sf.encrypt_assertion(r, sp.cert_pem, "rsa-oaep", "aes256-gcm", plaintext=plain,
                         in_context=True)
    add("enc-in-context-with-declaration", r, "accept", "-", "sp_key")
    # the nearest declaration of the prefix counts: an EncryptedAssertion
    # that binds saml to another namespace holds no SAML Assertion
    r = resp("enc-in-context-nearest-declaration")
    sf.sign(r, "assertion", idp)
    sf.encrypt_assertion(r, sp.cert_pem, "rsa-oaep", "aes256-gcm", in_context=True)
    data = sf.to_bytes(r)
    assert data.count(b"<saml:EncryptedAssertion>") == 1
    data = data.replace(b"<saml:EncryptedAssertion>", b'<ea:EncryptedAssertion xmlns:ea="'
                        + sf.NS_SAML.encode() + b'" xmlns:saml="urn:example:other">')
    data = data.replace(b"</saml:EncryptedAssertion>", b"</ea:EncryptedAssertion>")
    add("enc-in-context-nearest-declaration", data, "reject", "decrypt-failed", "sp_key")

    # -- a class with white space or a control character inside is not a
    # class URI: AUTHN_CONTEXT_CLASS would read it as two classes
    for name, cls in (("class-inner-space", "pwd " + sf.MFA),
                      ("class-inner-tab", "urn:a\t" + sf.MFA),
                      ("class-nbsp", sf.MFA + "\u00a0"),
                      ("class-line-separator", "urn:a\u2028" + sf.MFA)):
        add(name, sf_sign(resp(name, authn_statements=[{"class_ref": cls}]), idp),
            "reject", "xml-schema")

    # -- encodings: UTF-8 only, whatever is declared or detected (base64, as
    # the binding carries it; raw bytes not starting with '<' are base64)
    good = sf.to_bytes(sf_sign(resp("charset-utf16"), idp), declaration=False)
    add("charset-utf16", base64.b64encode(b"\xff\xfe" + (
        '<?xml version="1.0" encoding="UTF-16"?>' + good.decode()).encode("utf-16-le")),
        "reject", "xml-encoding")
    good = sf.to_bytes(sf_sign(resp("charset-utf7-declared"), idp), declaration=False)
    add("charset-utf7-declared", b'<?xml version="1.0" encoding="UTF-7"?>' + good,
        "reject", "xml-encoding")
    good = sf.to_bytes(sf_sign(resp("charset-utf8-bom"), idp), declaration=False)
    add("charset-utf8-bom", b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>' + good,
        "accept")

    # -- subject confirmations: one good bearer among others is enough
    r = resp("sc-second-good")
    a = r.find(sf._q(sf.NS_SAML, "Assertion"))
    subj = a.find(sf._q(sf.NS_SAML, "Subject"))
    good = subj.find(sf._q(sf.NS_SAML, "SubjectConfirmation"))
    bad = copy.deepcopy(good)
    bad[0].set("Recipient", "https://evil.example/acs")
    subj.insert(list(subj).index(good), bad)
    sf.sign(r, "assertion", idp)
    add("sc-second-good", r, "accept")

    # two good bearer confirmations that end at different times, no
    # Conditions NotOnOrAfter: the replay horizon is the later one (an
    # unsolicited replay after the first ended must still be refused;
    # test_response.c replays it an hour later)
    r = resp("sc-two-horizons", in_response_to=None, not_on_or_after=None,
             sc_not_on_or_after=60)
    a = r.find(sf._q(sf.NS_SAML, "Assertion"))
    subj = a.find(sf._q(sf.NS_SAML, "Subject"))
    first = subj.find(sf._q(sf.NS_SAML, "SubjectConfirmation"))
    later = copy.deepcopy(first)
    later[0].set("NotOnOrAfter", sf.fmt_time(now + datetime.timedelta(days=1)))
    subj.append(later)
    sf.sign(r, "assertion", idp)
    add("sc-two-horizons", r, "accept", "-", "allow_unsolicited", request_id="-")

    # -- simple content: an element inside NameID or a class is not text
    # (xs:string / xs:anyURI); its text must not silently join the value
    r = resp("nameid-child-element")
    n = r.find(".//" + sf._q(sf.NS_SAML, "NameID"))
    n.text = "alice@example.org"
    etree.SubElement(n, "{urn:example:x}part").text = ".evil.example"
    sf.sign(r, "assertion", idp)
    add("nameid-child-element", r, "reject", "xml-schema")

    r = resp("class-child-element", authn_statements=[{"class_ref": "https://refeds.org/profile/"}])
    cr = r.find(".//" + sf._q(sf.NS_SAML, "AuthnContextClassRef"))
    etree.SubElement(cr, "{urn:example:x}part").text = "mfa"
    sf.sign(r, "assertion", idp)
    add("class-child-element", r, "reject", "xml-schema")

    add("sc-not-before", sf_sign(resp("sc-not-before", sc_not_before=-10), idp),
        "reject", "subject-confirmation")
    # unsolicited Response whose confirmation answers a request
    add("sc-irt-unsolicited",
        sf_sign(resp("sc-irt-unsolicited", in_response_to=None,
                     sc_in_response_to="_req-forged"), idp),
        "reject", "in-response-to-unknown", "allow_unsolicited", request_id="-")

    # -- audience: every AudienceRestriction must name the SP
    r = resp("audience-two-restrictions")
    c = r.find(".//" + sf._q(sf.NS_SAML, "Conditions"))
    ar = etree.SubElement(c, sf._q(sf.NS_SAML, "AudienceRestriction"))
    etree.SubElement(ar, sf._q(sf.NS_SAML, "Audience")).text = "https://other.example/sp"
    sf.sign(r, "assertion", idp)
    add("audience-two-restrictions", r, "reject", "audience-mismatch")

    # -- SAML core 2.5.1: a condition the SP does not understand makes the
    # assertion Indeterminate; it is not ignored (OneTimeUse is understood)
    r = resp("condition-unknown")
    c = r.find(".//" + sf._q(sf.NS_SAML, "Conditions"))
    etree.SubElement(c, sf._q(sf.NS_SAML, "OneTimeUse"))
    cond = etree.SubElement(c, sf._q(sf.NS_SAML, "Condition"), nsmap={"x": "urn:example:x"})
    cond.set("{%s}type" % sf.NS_XSI, "x:OnlyOnTuesdays")
    sf.sign(r, "assertion", idp)
    add("condition-unknown", r, "reject", "xml-schema")

    r = resp("condition-one-time-use")
    c = r.find(".//" + sf._q(sf.NS_SAML, "Conditions"))
    etree.SubElement(c, sf._q(sf.NS_SAML, "OneTimeUse"))
    sf.sign(r, "assertion", idp)
    add("condition-one-time-use", r, "accept")

    add("audience-listed-second",
        sf_sign(resp("audience-listed-second",
                     audiences=("https://other.example/sp", sf.SP_ENTITY_ID)), idp),
        "accept")

    # -- an Assertion in Advice is never read
    inner = sf.build_assertion(now, assertion_id="_advice-inner", name_id="admin@example.org",
                               authn_statements=[{"class_ref": sf.MFA}])
    add("advice-ignored", sf_sign(resp("advice-ignored", advice=[inner]), idp, "assertion"),
        "accept")

    # -- SAML bindings 3.5.5.2: a signed Response names its Destination
    add("signed-no-destination",
        sf_sign(resp("signed-no-destination", destination=None), idp), "reject",
        "destination-mismatch")

    # -- no Response Issuer: the IdP is the Assertion's (EC key of idp2)
    add("idp-from-assertion",
        sf_sign(resp("idp-from-assertion", issuer=sf.IDP2_ENTITY_ID, response_issuer=None),
                idp2, "assertion"),
        "accept")
    add("idp-from-assertion-wrong-key",
        sf_sign(resp("idp-from-assertion-wrong-key", issuer=sf.IDP2_ENTITY_ID,
                     response_issuer=None), idp, "assertion"),
        "reject", "signature-invalid")

    # -- the session ended already
    add("session-ended",
        sf_sign(resp("session-ended",
                     authn_statements=[{"class_ref": sf.MFA,
                                        "session_not_on_or_after": -600}]), idp),
        "reject", "expired")

    with open(os.path.join(out, "manifest.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


def sf_sign(root, kp, what="response"):
    sig_alg = "ecdsa-sha256" if kp.kind == "ec" else "rsa-sha256"
    sf.sign(root, what, kp, sig_alg=sig_alg)
    return root


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
