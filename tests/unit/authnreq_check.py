#!/usr/bin/python3
"""Independent decoding for test_authnreq.c: Python's urllib, base64, zlib
and lxml take apart what the C code produced, so the C decoder is never the
only judge of the C encoder.

  authnreq_check.py redirect URL OUTDIR
      writes OUTDIR/signed.txt (the exact octets SAMLRequest=..&SigAlg=..),
      OUTDIR/sig.bin (decoded Signature), OUTDIR/inflated.xml, and prints
      the digest name of SigAlg (sha256/sha384/sha512) or "unsigned".
  authnreq_check.py post HTMLFILE OUTDIR
      parses the form, writes OUTDIR/request.xml (decoded SAMLRequest) and
      prints "action=<...>", "relaystate=<...>", "noscript-submit=<n>",
      "onload=<...>".
"""
import base64
import sys
import urllib.parse
import zlib

ALGS = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": "sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": "sha512",
}


def redirect(url, outdir):
    query = url.split("?", 1)[1]
    params = urllib.parse.parse_qs(query, keep_blank_values=True, strict_parsing=True)
    xml = zlib.decompress(base64.b64decode(params["SAMLRequest"][0], validate=True), -15)
    with open(outdir + "/inflated.xml", "wb") as f:
        f.write(xml)
    if "Signature" not in params:
        print("unsigned")
        return
    # SAML bindings 3.4.4.1: signed octets are the raw, still-encoded
    # parameters from SAMLRequest= up to (excluding) &Signature=.
    start = query.index("SAMLRequest=")
    end = query.index("&Signature=")
    with open(outdir + "/signed.txt", "wb") as f:
        f.write(query[start:end].encode("ascii"))
    with open(outdir + "/sig.bin", "wb") as f:
        f.write(base64.b64decode(params["Signature"][0], validate=True))
    print(ALGS[params["SigAlg"][0]])


def post(htmlfile, outdir):
    import lxml.html

    doc = lxml.html.parse(htmlfile).getroot()
    forms = doc.forms
    assert len(forms) == 1, "exactly one form"
    form = forms[0]
    assert form.method.lower() == "post"
    fields = {i.name: i.value for i in form.inputs if i.name}
    with open(outdir + "/request.xml", "wb") as f:
        f.write(base64.b64decode(fields["SAMLRequest"], validate=True))
    submits = doc.xpath("//noscript//input[@type='submit']")
    print("action=" + form.action)
    print("relaystate=" + fields.get("RelayState", "<absent>"))
    print("noscript-submit=%d" % len(submits))
    print("onload=" + (doc.find("body").get("onload") or ""))


if __name__ == "__main__":
    if sys.argv[1] == "redirect":
        redirect(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "post":
        post(sys.argv[2], sys.argv[3])
    else:
        sys.exit("unknown command")
