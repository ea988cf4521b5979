#!/usr/bin/python3
"""Independent side of test_logout.c: forges the IdP's logout messages with
tests/lib/samlforge.py (python3-xmlsec, python3-cryptography) and takes
apart what the C code produced with Python's urllib, zlib, lxml and
cryptography, so the product's code never judges itself.

  logout_check.py cases TESTDATA OUTDIR NOW
      writes OUTDIR/cases.tsv, one line per incoming message, processed in
      order by ONE replay cache:
        name  binding(redirect|post)  param  payload-file  relay|-  reason|ok
      (payload: the raw query string, or the base64 POST value). The
      pending LogoutRequest of ours is "_pending", sent to the test IdP.
  logout_check.py redirect URL SPCERT OUTDIR
      prints "param=...", "relay=...", "sig=ok|unsigned|bad", then the
      inflated XML's fields: "root=", "id=", "destination=", "issuer=",
      "nameid=", "format=", "namequalifier=", "spnamequalifier=",
      "sessionindex=" (one line each), "status=", "status2=",
      "inresponseto="; writes OUTDIR/inflated.xml.
"""
import base64
import os
import sys
import urllib.parse
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

import samlforge as sf  # noqa: E402
from lxml import etree  # noqa: E402


def cases(testdata, outdir, now_text):
    now = sf.parse_time(now_text)
    keys = os.path.join(testdata, "keys")
    idp = sf.KeyPair.read(os.path.join(keys, "idp.key"), os.path.join(keys, "idp.crt"))
    attacker = sf.KeyPair.read(os.path.join(keys, "attacker.key"),
                               os.path.join(keys, "attacker.crt"))
    lines = []
    n = [0]

    def put(name, binding, param, payload, reason, relay=None):
        n[0] += 1
        fn = "%02d-%s.txt" % (n[0], name)
        with open(os.path.join(outdir, fn), "w") as f:
            f.write(payload)
        lines.append("\t".join([name, binding, param, fn, relay or "-", reason]))

    def req(**kw):
        kw.setdefault("session_indexes", ["s1", "s2"])
        kw.setdefault("name_id_format",
                      "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")
        kw.setdefault("name_qualifier", sf.IDP_ENTITY_ID)
        kw.setdefault("sp_name_qualifier", sf.SP_ENTITY_ID)
        return sf.build_logout_request(now, **kw)

    def rq(name, root, reason, kp=idp, relay="rs-1", **kw):
        put(name, "redirect", "SAMLRequest",
            sf.redirect_query(root, kp, relay_state=relay, **kw), reason, relay)

    def post(name, root, reason, kp=idp, param="SAMLRequest", **kw):
        if kp is not None:
            sf.sign_logout(root, kp, **kw)
        put(name, "post", param, sf.to_base64(root).decode(), reason, "rs-post")

    ago = lambda s: sf.fmt_time(now - sf.datetime.timedelta(seconds=s))  # noqa: E731
    ahead = lambda s: sf.fmt_time(now + sf.datetime.timedelta(seconds=s))  # noqa: E731

    ok_req = req(request_id="_ok1")
    q = sf.redirect_query(ok_req, idp, relay_state="rs-1")
    put("redirect-ok", "redirect", "SAMLRequest", q, "ok", "rs-1")
    put("redirect-replayed", "redirect", "SAMLRequest", q, "logout-replay", "rs-1")
    rq("redirect-unsigned", req(), "logout-signature", kp=None)
    rq("redirect-wrong-key", req(), "logout-signature", kp=attacker)
    tampered = sf.redirect_query(req(), idp, relay_state="rs-1").replace(
        "RelayState=rs-1", "RelayState=rs-2")
    put("redirect-relay-tampered", "redirect", "SAMLRequest", tampered, "logout-signature",
        "rs-2")
    rq("redirect-sha1", req(), "logout-signature", sig_alg="rsa-sha1")
    rq("redirect-foreign-destination", req(destination="https://evil.example.org/slo"),
       "logout-destination")
    rq("redirect-no-destination", req(destination=None), "logout-destination")
    rq("redirect-stale", req(issue_instant=ago(3600)), "logout-stale")
    rq("redirect-future", req(issue_instant=ahead(3600)), "logout-stale")
    rq("redirect-not-on-or-after-passed", req(not_on_or_after=ago(600)), "logout-stale")
    rq("redirect-unknown-issuer", req(issuer="https://evil.example.org/idp"),
       "logout-issuer")
    rq("redirect-no-issuer", req(issuer=None), "logout-issuer")
    rq("redirect-no-nameid-schema",
       sf.parse(sf.to_bytes(req()).replace(b"saml:NameID", b"saml:Foo")), "xml-schema")
    put("redirect-request-as-response", "redirect", "SAMLResponse",
        sf.redirect_query(req(), idp, param="SAMLResponse"), "not-a-response")
    dtd = b'<!DOCTYPE x [<!ENTITY e "x">]>' + sf.to_bytes(req(), False)
    put("redirect-dtd", "redirect", "SAMLRequest", sf.redirect_query(dtd, idp), "xml-dtd")
    # the IdP's other request shape: no SessionIndex, no qualifiers
    rq("redirect-minimal-ok",
       sf.build_logout_request(now, name_id="bob", session_indexes=()), "ok")
    post("post-ok", req(request_id="_post1"), "ok")
    post("post-unsigned", req(), "logout-signature", kp=None)
    post("post-wrong-key", req(), "logout-signature", kp=attacker)
    r = req()
    sf.sign_logout(r, idp)
    r.find(sf._q(sf.NS_SAML, "NameID")).text = "mallory"
    post("post-nameid-changed-after-signing", r, "logout-signature", kp=None)
    post("post-foreign-destination", req(destination="https://evil.example.org/slo"),
         "logout-destination")
    post("post-replayed", req(request_id="_post1"), "logout-replay")
    # signature wrapping (POST): the IdP's signed LogoutRequest for alice
    # kept inside a new one for another user, the signature moved up
    import copy
    signed = req(request_id="_wrapped-inner")
    sf.sign_logout(signed, idp)
    outer = req(name_id="victim@example.org")
    outer.insert(1, copy.deepcopy(signed.find(sf._q(sf.NS_DS, "Signature"))))
    ext = etree.Element(sf._q(sf.NS_SAMLP, "Extensions"))
    ext.append(copy.deepcopy(signed))
    outer.insert(2, ext)
    post("post-wrapped-signature-moved", outer, "xml-schema", kp=None)
    # the same with the outer message taking the inner one's ID
    outer = req(request_id="_wrapped-inner", name_id="victim@example.org")
    outer.insert(1, copy.deepcopy(signed.find(sf._q(sf.NS_DS, "Signature"))))
    ext = etree.Element(sf._q(sf.NS_SAMLP, "Extensions"))
    ext.append(copy.deepcopy(signed))
    outer.insert(2, ext)
    post("post-wrapped-same-id", outer, "duplicate-id", kp=None)
    # a SigAlg that is not RSA-SHA256/384/512, the Signature made with
    # RSA-SHA256 over the exact octets: refused for the algorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    base = sf.redirect_query(req(), None, relay_state="rs-1")
    for name, alg in (("hmac", "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"),
                      ("ecdsa", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"),
                      ("empty", "")):
        q = base + "&SigAlg=" + urllib.parse.quote(alg, safe="")
        key = serialization.load_pem_private_key(idp.key_pem, password=None)
        sig = key.sign(q.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        q += "&Signature=" + urllib.parse.quote(base64.b64encode(sig).decode(), safe="")
        put("redirect-sigalg-" + name, "redirect", "SAMLRequest", q, "logout-signature",
            "rs-1")
    # parameters in another order than signed: the signature is over the
    # fixed order whatever the order received (bindings 3.4.4.1)
    q = sf.redirect_query(req(request_id="_reordered"), idp, relay_state="rs-1")
    parts = q.split("&")
    put("redirect-reordered-ok", "redirect", "SAMLRequest", "&".join(reversed(parts)), "ok",
        "rs-1")
    # a second SAMLRequest after the signed one
    put("redirect-duplicate-param", "redirect", "SAMLRequest",
        q + "&" + parts[0], "binding-invalid", "rs-1")
    # EncryptedID instead of NameID: refused, nothing to match
    enc = req()
    nid = enc.find(sf._q(sf.NS_SAML, "NameID"))
    e = etree.Element(sf._q(sf.NS_SAML, "EncryptedID"))
    ed = etree.SubElement(e, "{http://www.w3.org/2001/04/xmlenc#}EncryptedData")
    cd = etree.SubElement(ed, "{http://www.w3.org/2001/04/xmlenc#}CipherData")
    etree.SubElement(cd, "{http://www.w3.org/2001/04/xmlenc#}CipherValue").text = "AAAA"
    enc.replace(nid, e)
    rq("redirect-encrypted-id", enc, "no-subject")
    # a DEFLATE bomb: 16 MB of one byte, a few KB deflated
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = co.compress(b"<" + b"a" * (16 << 20)) + co.flush()
    put("redirect-deflate-bomb", "redirect", "SAMLRequest",
        "SAMLRequest=" + urllib.parse.quote(base64.b64encode(bomb).decode(), safe=""),
        "too-large")
    # LogoutResponses
    resp = sf.build_logout_response(now, in_response_to="_pending")
    put("response-redirect-ok", "redirect", "SAMLResponse",
        sf.redirect_query(resp, idp, relay_state="rs-3"), "ok", "rs-3")
    put("response-unknown-request", "redirect", "SAMLResponse",
        sf.redirect_query(sf.build_logout_response(now, in_response_to="_other"), idp),
        "logout-unsolicited")
    put("response-no-in-response-to", "redirect", "SAMLResponse",
        sf.redirect_query(sf.build_logout_response(now), idp), "logout-unsolicited")
    put("response-unsigned", "redirect", "SAMLResponse",
        sf.redirect_query(sf.build_logout_response(now, in_response_to="_pending"), None),
        "logout-signature")
    put("response-stale", "redirect", "SAMLResponse",
        sf.redirect_query(sf.build_logout_response(now, in_response_to="_pending",
                                                   issue_instant=ago(3600)), idp),
        "logout-stale")
    post("response-post-partial", sf.build_logout_response(
        now, in_response_to="_pending",
        status="urn:oasis:names:tc:SAML:2.0:status:Success",
        status2="urn:oasis:names:tc:SAML:2.0:status:PartialLogout", message="one SP"),
        "ok", param="SAMLResponse")
    post("response-post-foreign-destination", sf.build_logout_response(
        now, in_response_to="_pending", destination="https://evil.example.org/slo"),
        "logout-destination", param="SAMLResponse")
    with open(os.path.join(outdir, "cases.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")


def redirect(url, spcert, outdir):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    query = url.split("?", 1)[1]
    params = urllib.parse.parse_qs(query, keep_blank_values=True, strict_parsing=True)
    param = "SAMLRequest" if "SAMLRequest" in params else "SAMLResponse"
    print("param=" + param)
    print("relay=" + params.get("RelayState", ["<absent>"])[0])
    if "Signature" in params:
        start = query.index(param + "=")
        end = query.index("&Signature=")
        h = {"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": hashes.SHA256()}[
            params["SigAlg"][0]]
        cert = x509.load_pem_x509_certificate(open(spcert, "rb").read())
        try:
            cert.public_key().verify(base64.b64decode(params["Signature"][0], validate=True),
                                     query[start:end].encode("ascii"), padding.PKCS1v15(), h)
            print("sig=ok")
        except Exception:
            print("sig=bad")
    else:
        print("sig=unsigned")
    xml = zlib.decompress(base64.b64decode(params[param][0], validate=True), -15)
    root = etree.fromstring(xml)
    print("root=" + etree.QName(root).localname)
    for a, k in (("ID", "id"), ("Destination", "destination"),
                 ("InResponseTo", "inresponseto")):
        if root.get(a) is not None:
            print("%s=%s" % (k, root.get(a)))
    iss = root.find(sf._q(sf.NS_SAML, "Issuer"))
    print("issuer=" + (iss.text if iss is not None else "<absent>"))
    nid = root.find(sf._q(sf.NS_SAML, "NameID"))
    if nid is not None:
        print("nameid=" + nid.text)
        for a, k in (("Format", "format"), ("NameQualifier", "namequalifier"),
                     ("SPNameQualifier", "spnamequalifier")):
            if nid.get(a) is not None:
                print("%s=%s" % (k, nid.get(a)))
    for si in root.findall(sf._q(sf.NS_SAMLP, "SessionIndex")):
        print("sessionindex=" + si.text)
    sc = root.find(sf._q(sf.NS_SAMLP, "Status") + "/" + sf._q(sf.NS_SAMLP, "StatusCode"))
    if sc is not None:
        print("status=" + sc.get("Value"))
        sc2 = sc.find(sf._q(sf.NS_SAMLP, "StatusCode"))
        if sc2 is not None:
            print("status2=" + sc2.get("Value"))
    with open(os.path.join(outdir, "inflated.xml"), "wb") as f:
        f.write(xml)


if __name__ == "__main__":
    if sys.argv[1] == "cases":
        cases(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "redirect":
        redirect(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("usage: see the docstring")
