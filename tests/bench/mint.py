#!/usr/bin/python3
"""Mints the bench's IdP key, metadata and N distinct signed responses with
tests/lib/samlforge.py (python3-xmlsec, independent of the product's code),
before anything is timed.

Each response is unsolicited (no InResponseTo: the bench config sets
AuthnContextAllowUnsolicited On, which avoids a request-state round trip
per login that would measure the client, not the ACS), RSA-2048 with
SHA-256 over the Assertion, and about 6 KB: a NameID, one AuthnStatement
with the MFA class, and several attributes. IDs are random, so every
response is a new assertion for the replay cache.

    mint.py OUTDIR --sp-entity URL --acs URL -n 20000 [--jobs 2]

Writes OUTDIR/idp.key, idp.crt, idp-metadata.xml, and
OUTDIR/responses.form (one url-encoded form body per line:
SAMLResponse=...&RelayState=/), OUTDIR/responses/NNNNN.b64 for the CLI
(only the first --files of them).
"""

import argparse
import base64
import multiprocessing
import os
import signal
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import samlforge as sf  # noqa: E402

VALID_FOR = 4 * 3600  # seconds: the whole bench run fits in the window

_kp = None
_args = None


def _attributes(i):
    # Realistic directory attributes (eduPerson/LDAP OIDs), to reach ~6 KB.
    vals = lambda base, n: ["%s-%d-%05d" % (base, k, i) for k in range(n)]
    return [
        {"name": "urn:oid:0.9.2342.19200300.100.1.3", "friendly_name": "mail",
         "name_format": sf.ATTR_URI, "values": ["user%05d@example.org" % i]},
        {"name": "urn:oid:2.5.4.42", "friendly_name": "givenName",
         "name_format": sf.ATTR_URI, "values": ["Given%05d" % i]},
        {"name": "urn:oid:2.5.4.4", "friendly_name": "sn",
         "name_format": sf.ATTR_URI, "values": ["Surname%05d" % i]},
        {"name": "urn:oid:2.16.840.1.113730.3.1.241", "friendly_name": "displayName",
         "name_format": sf.ATTR_URI, "values": ["Given%05d Surname%05d" % (i, i)]},
        {"name": "urn:oid:1.3.6.1.4.1.5923.1.1.1.6", "friendly_name": "eduPersonPrincipalName",
         "name_format": sf.ATTR_URI, "values": ["user%05d@example.org" % i]},
        {"name": "urn:oid:1.3.6.1.4.1.5923.1.1.1.9", "friendly_name": "eduPersonScopedAffiliation",
         "name_format": sf.ATTR_URI, "values": ["member@example.org", "staff@example.org",
                                                "employee@example.org"]},
        {"name": "urn:oid:1.3.6.1.4.1.5923.1.1.1.7", "friendly_name": "eduPersonEntitlement",
         "name_format": sf.ATTR_URI,
         "values": ["urn:mace:example.org:entitlement:" + v for v in vals("app", 6)]},
        {"name": "http://schemas.xmlsoap.org/claims/Group", "friendly_name": "groups",
         "name_format": sf.ATTR_URI, "values": vals("cn=group,ou=groups,dc=example,dc=org", 6)},
    ]


def _init(key_pem, cert_pem, args):
    global _kp, _args
    # Pool workers are ended with SIGTERM; the caller's handler (which
    # stops servers) must not run in them.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _kp = sf.KeyPair(key_pem, cert_pem)
    _args = args


def _one(i):
    now = sf.utcnow()
    root = sf.build_response(
        now, destination=_args["acs"], recipient=_args["acs"],
        audiences=(_args["sp"],), in_response_to=None,
        name_id="user%05d@example.org" % i, name_id_format=sf.NAMEID_EMAIL,
        not_on_or_after=VALID_FOR, sc_not_on_or_after=VALID_FOR,
        authn_statements=[{"class_ref": sf.MFA, "session_not_on_or_after": VALID_FOR}],
        attributes=_attributes(i))
    sf.sign(root, "assertion", _kp)
    return sf.to_base64(root)


def mint(outdir, sp_entity, acs_url, n, jobs=2, files=10000, log=print, start=0):
    """Mints responses start..start+n-1 (start > 0 appends to the same
    form file). An IdP key already in outdir (idp.key, idp.crt) is reused,
    so several ACS URLs can share one IdP."""
    os.makedirs(os.path.join(outdir, "responses"), exist_ok=True)
    key_path = os.path.join(outdir, "idp.key")
    if os.path.exists(key_path):
        kp = sf.KeyPair.read(key_path, os.path.join(outdir, "idp.crt"))
        if not os.path.exists(os.path.join(outdir, "idp-metadata.xml")):
            with open(os.path.join(outdir, "idp-metadata.xml"), "wb") as f:
                f.write(sf.idp_metadata(sf.IDP_ENTITY_ID, kp.cert_pem,
                                        sso_url="http://127.0.0.1:9/sso"))
    else:
        kp = sf.make_rsa_keypair("idp.example.org", 2048)
        kp.write(outdir, "idp")
        with open(os.path.join(outdir, "idp-metadata.xml"), "wb") as f:
            f.write(sf.idp_metadata(sf.IDP_ENTITY_ID, kp.cert_pem,
                                    sso_url="http://127.0.0.1:9/sso"))
    started = time.time()
    args = {"sp": sp_entity, "acs": acs_url}
    with multiprocessing.Pool(jobs, _init, (kp.key_pem, kp.cert_pem, args)) as pool:
        out = pool.map(_one, range(start, start + n), chunksize=64)
    sizes = []
    with open(os.path.join(outdir, "responses.form"), "ab" if start else "wb") as form:
        for i, b64 in enumerate(out, start):
            sizes.append(len(base64.b64decode(b64)))
            form.write(b"SAMLResponse=" + urllib.parse.quote(b64, safe="").encode()
                       + b"&RelayState=%2F\n")
            if i < files:
                with open(os.path.join(outdir, "responses", "%05d.b64" % i), "wb") as f:
                    f.write(b64)
    log("mint: %d responses (XML %d-%d bytes, mean %d) in %.1f s" % (
        n, min(sizes), max(sizes), sum(sizes) // len(sizes), time.time() - started))
    return {"n": n, "xml_bytes_mean": sum(sizes) // len(sizes),
            "form": os.path.join(outdir, "responses.form"),
            "files": os.path.join(outdir, "responses"),
            "metadata": os.path.join(outdir, "idp-metadata.xml"),
            "idp_entity": sf.IDP_ENTITY_ID}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--sp-entity", default=sf.SP_ENTITY_ID)
    ap.add_argument("--acs", default=sf.ACS_URL)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--files", type=int, default=10000)
    a = ap.parse_args()
    mint(a.outdir, a.sp_entity, a.acs, a.n, a.jobs, a.files)


if __name__ == "__main__":
    main()
