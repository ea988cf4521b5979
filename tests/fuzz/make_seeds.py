#!/usr/bin/python3
"""Builds the seed corpora of the libFuzzer targets from a samlforge
fixture directory (independent signer) plus a few hand-made hostile inputs.

    make_seeds.py --fixtures build/fuzz/fixtures --out build/fuzz/seeds \
                  --session-tool build/fuzz/mkseed_session

Writes OUT/<target>/<name> for fuzz_response, fuzz_metadata,
fuzz_redirect, fuzz_session, fuzz_template and fuzz_structure. Seeds are starting points only; the
corpus libFuzzer grows lives in build/fuzz/corpus/<target>.
"""

import argparse
import base64
import os
import shutil
import subprocess
import sys
import urllib.parse
import zlib

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

SIG_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"

AUTHN_REQUEST = (
    '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
    'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" '
    'IssueInstant="2026-01-01T00:00:00Z" '
    'Destination="https://idp.example.org/idp/sso" '
    'AssertionConsumerServiceURL="https://sp.example.org/saml/acs">'
    '<saml:Issuer>https://sp.example.org/sp</saml:Issuer>'
    '<samlp:RequestedAuthnContext Comparison="minimum">'
    '<saml:AuthnContextClassRef>https://refeds.org/profile/mfa'
    '</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>'
    '</samlp:AuthnRequest>').encode()

# Hostile documents every XML entry point must refuse without harm.
HOSTILE_XML = {
    "doctype": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>',
    "laughs": (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
               b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
               b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><l>&c;</l>'),
    "external": b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
    "xinclude": (b'<r xmlns:xi="http://www.w3.org/2001/XInclude">'
                 b'<xi:include href="file:///etc/passwd" parse="text"/></r>'),
    "deep": b"<a>" * 200 + b"</a>" * 200,
    "bad-utf8": b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">\xc3\x28</samlp:Response>',
    "truncated": b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x"',
    "empty": b"",
    # encodings other than UTF-8, declared or detected (refused: xml-encoding)
    "utf7-declared": (b'<?xml version="1.0" encoding="UTF-7"?><r a+AD0-\'1\' '
                      b'b+AD0-\'2\'/>'),
    "ebcdic": "<?xml version='1.0' encoding='IBM037'?><r a='1' b='2'/>".encode("cp037"),
    "utf16-bom": b"\xff\xfe" + "<?xml version='1.0'?><r a='1'/>".encode("utf-16-le"),
    "utf16be": "<?xml version='1.0'?><r a='1'/>".encode("utf-16-be"),
    "ucs4": "<r a='1'/>".encode("utf-32-le"),
    "utf8-bom": b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?><r/>',
    "decl-malformed": b"<?xml version='1.0' encoding=UTF-7?><r/>",
}


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def settings(fixtures):
    out = {}
    with open(os.path.join(fixtures, "settings.tsv")) as f:
        for line in f:
            if "\t" in line:
                k, v = line.rstrip("\n").split("\t", 1)
                out[k] = v
    return out


def response_seeds(fixtures, out):
    rdir = os.path.join(fixtures, "responses")
    for name in sorted(os.listdir(rdir)):
        with open(os.path.join(rdir, name), "rb") as f:
            data = f.read()
        write(os.path.join(out, name), data)
        # Both forms reach the parser: raw XML mutates better, base64 walks
        # the decoder. Each raw document also goes in base64 and vice versa.
        if name.endswith(".xml"):
            write(os.path.join(out, name + ".b64"), base64.b64encode(data))
        else:
            try:
                write(os.path.join(out, name + ".xml"),
                      base64.b64decode(b"".join(data.split())))
            except ValueError:
                pass
    for name, data in HOSTILE_XML.items():
        write(os.path.join(out, "hostile-" + name), data)
    write(os.path.join(out, "hostile-not-base64"), b"!!!!not base64@@@@")
    write(os.path.join(out, "hostile-base64-truncated"),
          base64.b64encode(b"<samlp:Response/>" * 3)[:-3])


def metadata_seeds(fixtures, out):
    for name in ("idp-metadata.xml", "idp2-metadata.xml", "metadata-all.xml"):
        shutil.copy(os.path.join(fixtures, name), os.path.join(out, name))
    # signed aggregates (the federation key is ANC_FUZZ_FED_CERT): one
    # valid, the others each breaking one rule
    md = os.path.join(fixtures, "metadata")
    for name in sorted(os.listdir(md)) if os.path.isdir(md) else ():
        if name.endswith(".xml"):
            shutil.copy(os.path.join(md, name), os.path.join(out, "signed-" + name))
    write(os.path.join(out, "empty-entities.xml"),
          b'<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>')
    write(os.path.join(out, "sp-only.xml"),
          b'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
          b'entityID="https://sp.example.org/sp"><md:SPSSODescriptor '
          b'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/>'
          b'</md:EntityDescriptor>')
    for name, data in HOSTILE_XML.items():
        write(os.path.join(out, "hostile-" + name), data)


def redirect_query(xml, param, relay, key=None, deflate=True):
    raw = xml
    if deflate:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        raw = c.compress(xml) + c.flush()
    q = "%s=%s" % (param, urllib.parse.quote(base64.b64encode(raw), safe=""))
    if relay is not None:
        q += "&RelayState=" + urllib.parse.quote(relay, safe="")
    if key is not None:
        # SAML bindings 3.4.4.1: the signature covers the exact octets of
        # SAMLRequest=..&RelayState=..&SigAlg=.. as sent.
        q += "&SigAlg=" + urllib.parse.quote(SIG_RSA_SHA256, safe="")
        sig = key.sign(q.encode(), padding.PKCS1v15(), hashes.SHA256())
        q += "&Signature=" + urllib.parse.quote(base64.b64encode(sig), safe="")
    return q.encode()


def redirect_seeds(fixtures, out, st):
    with open(os.path.join(fixtures, st["idp_key"]), "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    with open(os.path.join(fixtures, "responses", "00-ok-response-signed.xml"), "rb") as f:
        resp = f.read()
    # First byte: bit 0 set = decode with the IdP certificate (signed path).
    seeds = {
        "req-unsigned": b"\x00" + redirect_query(AUTHN_REQUEST, "SAMLRequest", "/admin"),
        "req-no-relay": b"\x00" + redirect_query(AUTHN_REQUEST, "SAMLRequest", None),
        "req-signed": b"\x01" + redirect_query(AUTHN_REQUEST, "SAMLRequest", "r&s=t", key),
        "resp-signed": b"\x01" + redirect_query(resp, "SAMLResponse", None, key),
        "resp-unsigned": b"\x00" + redirect_query(resp, "SAMLResponse", "x"),
        "not-deflated": b"\x00" + redirect_query(AUTHN_REQUEST, "SAMLRequest", None,
                                                 deflate=False),
        "sig-missing": b"\x01" + redirect_query(AUTHN_REQUEST, "SAMLRequest", "x"),
        "bomb": b"\x00" + redirect_query(b"<a>" + b" " * 2000000 + b"</a>",
                                         "SAMLRequest", None),
        "garbage": b"\x00SAMLRequest=%%%&&RelayState",
        "dup-param": b"\x00SAMLRequest=AA&SAMLRequest=AA",
    }
    for name, data in seeds.items():
        write(os.path.join(out, name), data)


def logout_seeds(fixtures, out, st):
    """Signed logout messages of the fixtures' IdP at the fixtures' time
    (tests/lib/samlforge.py): byte 0 bit 0 = POST, bit 1 = SAMLResponse."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "lib"))
    import samlforge as sf
    now = sf.parse_time(st["now"])
    kp = sf.KeyPair.read(os.path.join(fixtures, st["idp_key"]),
                         os.path.join(fixtures, st["idp_cert"]))

    def req(**kw):
        return sf.build_logout_request(
            now, name_id="alice", session_indexes=["s1", "s2"],
            name_id_format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent", **kw)

    def resp(**kw):
        return sf.build_logout_response(now, in_response_to="_r1", **kw)

    seeds = {
        "req-redirect": b"\x00" + sf.redirect_query(req(), kp, relay_state="rs").encode(),
        "req-redirect-unsigned": b"\x00" + sf.redirect_query(req()).encode(),
        "resp-redirect": b"\x00" + sf.redirect_query(resp(), kp).encode(),
        "resp-redirect-partial": b"\x00" + sf.redirect_query(resp(
            status2="urn:oasis:names:tc:SAML:2.0:status:PartialLogout", message="m"),
            kp).encode(),
    }
    r = req()
    sf.sign_logout(r, kp)
    seeds["req-post"] = b"\x01" + sf.to_base64(r)
    r = resp()
    sf.sign_logout(r, kp)
    seeds["resp-post"] = b"\x03" + sf.to_base64(r)
    seeds["req-post-unsigned"] = b"\x01" + sf.to_base64(req())
    for name, data in HOSTILE_XML.items():
        seeds["hostile-post-" + name] = b"\x01" + base64.b64encode(data)
        seeds["hostile-redirect-" + name] = b"\x00" + redirect_query(data, "SAMLRequest",
                                                                      None)
    for name, data in seeds.items():
        write(os.path.join(out, name), data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--session-tool", required=True)
    ap.add_argument("--template-tool", required=True)
    args = ap.parse_args()
    st = settings(args.fixtures)
    shutil.rmtree(args.out, ignore_errors=True)
    for t in ("fuzz_response", "fuzz_metadata", "fuzz_redirect", "fuzz_session",
              "fuzz_template", "fuzz_structure", "fuzz_logout", "fuzz_disco"):
        os.makedirs(os.path.join(args.out, t))
    response_seeds(args.fixtures, os.path.join(args.out, "fuzz_response"))
    # the schema check takes raw XML: the responses' XML forms
    for name in os.listdir(os.path.join(args.out, "fuzz_response")):
        if name.endswith(".xml") or name.startswith("hostile-"):
            shutil.copy(os.path.join(args.out, "fuzz_response", name),
                        os.path.join(args.out, "fuzz_structure", name))
    metadata_seeds(args.fixtures, os.path.join(args.out, "fuzz_metadata"))
    redirect_seeds(args.fixtures, os.path.join(args.out, "fuzz_redirect"), st)
    logout_seeds(args.fixtures, os.path.join(args.out, "fuzz_logout"), st)
    sess = os.path.join(args.out, "fuzz_session")
    subprocess.run([args.session_tool, sess], check=True)
    write(os.path.join(sess, "garbage"), b"\x00ANCS1\ns999999999999999999999:")
    write(os.path.join(sess, "garbage-state"), b"\x01ANCR1\ni-9223372036854775808;")
    subprocess.run([args.template_tool, os.path.join(args.out, "fuzz_template")], check=True)
    disco = os.path.join(args.out, "fuzz_disco")
    write(os.path.join(disco, "accept-language"), b"\x00de-CH, de;q=0.9, en;q=0.5, *;q=0.1")
    write(os.path.join(disco, "ui-column"),
          b"\x01n:en:Example%20University n:de:Beispiel d::A%22%3C%3E "
          b"l:en:32:16:https://x.example/l.png a:http://macedir.org/entity-category-support:"
          b"https%3A//refeds.org/profile/mfa")
    write(os.path.join(disco, "json"), b"\x02a\"b\\c</script>\x01\xc3\xa4\xff")
    for t in sorted(os.listdir(args.out)):
        print("seeds: %-14s %d files" % (t, len(os.listdir(os.path.join(args.out, t)))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
