#!/usr/bin/python3
"""samlforge - an independent SAML 2.0 IdP forger for the test suites.

Everything the tests feed to mod_authncontext's verifier is made here, with
lxml and python3-xmlsec (libxmlsec1 through its Python binding) and
python3-cryptography for keys, never with the product's own C code. That
makes the signatures a second opinion: if the verifier and this forger
disagree about a valid signature, one of them is wrong and a test shows it.

Library use (tests put tests/lib on sys.path)::

    import samlforge as sf
    idp = sf.make_rsa_keypair("idp.example.org")          # KeyPair(key_pem, cert_pem)
    md = sf.idp_metadata(sf.IDP_ENTITY_ID, idp.cert_pem)   # bytes
    root = sf.build_response(now, in_response_to="_req1",
                             authn_statements=[{"class_ref": sf.MFA}])
    sf.sign(root, "assertion", idp)                        # enveloped, exc-c14n
    sf.encrypt_assertion(root, sp.cert_pem, "rsa-oaep", "aes256-gcm")
    sf.sign(root, "response", idp)
    data = sf.to_bytes(root)                               # or sf.to_base64(root)

Command line::

    /usr/bin/python3 tests/lib/samlforge.py fixtures OUTDIR [--now RFC3339]

writes OUTDIR/keys/{idp,idp2,sp,attacker}.{key,crt} (idp2 is EC P-256, the
others RSA-2048), OUTDIR/idp-metadata.xml, idp2-metadata.xml,
metadata-all.xml (an EntitiesDescriptor with both IdPs; the manifest assumes
this one is loaded), OUTDIR/settings.tsv (key<TAB>value: the fixed SP
settings), OUTDIR/responses/*, OUTDIR/expected.json (for every accepted
response the record the verifier must produce) and OUTDIR/manifest.tsv with
one line per response, processed in file order by ONE verifier and ONE
replay cache::

    file  verdict(accept|reject|idp-error)  reason|-  request_id|-  now  flags|-

flags: allow_unsolicited, require_signed_assertion, allow_sha1, sp_key (load
keys/sp.key as the SP decryption key). request_id is the one outstanding
AuthnRequest for that line (not consumed between lines). Each reject line
breaks exactly one rule; reasons are the strings of src/anc_error.c.

    /usr/bin/python3 tests/lib/samlforge.py keys OUTDIR
    /usr/bin/python3 tests/lib/samlforge.py response --key K --cert C [...]

The second makes keys only, the third one signed response (see --help).
"""

import argparse
import base64
import copy
import datetime
import json
import os
import re
import sys
import uuid

from lxml import etree
import xmlsec

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

# --- names -------------------------------------------------------------------

NS_SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
NS_SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
NS_MD = "urn:oasis:names:tc:SAML:2.0:metadata"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"
NS_XENC = "http://www.w3.org/2001/04/xmlenc#"
NS_XS = "http://www.w3.org/2001/XMLSchema"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"

SP_ENTITY_ID = "https://sp.example.org/sp"
ACS_URL = "https://sp.example.org/saml/acs"
IDP_ENTITY_ID = "https://idp.example.org/idp"
IDP2_ENTITY_ID = "https://idp2.example.org/idp"
IDP_SSO_URL = "https://idp.example.org/idp/sso"
IDP2_SSO_URL = "https://idp2.example.org/idp/sso"

SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
REQUESTER = "urn:oasis:names:tc:SAML:2.0:status:Requester"
NO_AUTHN_CONTEXT = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
HOLDER_OF_KEY = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"
NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
NAMEID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
ATTR_URI = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

PPT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
MFA = "https://refeds.org/profile/mfa"
SFA = "https://refeds.org/profile/sfa"
MS_MFA = "http://schemas.microsoft.com/claims/multipleauthn"

SIG_ALGS = {
    "rsa-sha256": xmlsec.Transform.RSA_SHA256,
    "rsa-sha1": xmlsec.Transform.RSA_SHA1,
    "rsa-sha384": xmlsec.Transform.RSA_SHA384,
    "rsa-sha512": xmlsec.Transform.RSA_SHA512,
    "rsa-md5": xmlsec.Transform.RSA_MD5,
    "ecdsa-sha256": xmlsec.Transform.ECDSA_SHA256,
    "ecdsa-sha1": xmlsec.Transform.ECDSA_SHA1,
    "hmac": xmlsec.Transform.HMAC_SHA256,
    "hmac-sha256": xmlsec.Transform.HMAC_SHA256,
}
DIGEST_ALGS = {
    "sha256": xmlsec.Transform.SHA256,
    "sha1": xmlsec.Transform.SHA1,
    "sha384": xmlsec.Transform.SHA384,
    "sha512": xmlsec.Transform.SHA512,
    "md5": xmlsec.Transform.MD5,
}
KEY_TRANSPORTS = {
    "rsa-oaep": xmlsec.Transform.RSA_OAEP,
    "rsa-1_5": xmlsec.Transform.RSA_PKCS1,
}
DATA_ALGS = {
    "aes128-cbc": (xmlsec.Transform.AES128, 128),
    "aes256-cbc": (xmlsec.Transform.AES256, 256),
    "aes128-gcm": (xmlsec.Transform.AES128_GCM, 128),
    "aes256-gcm": (xmlsec.Transform.AES256_GCM, 256),
}

DEFAULT = object()   # "use the default value" (None always means "absent")


def _q(ns, name):
    return "{%s}%s" % (ns, name)


# --- keys --------------------------------------------------------------------

class KeyPair:
    """A private key and its self-signed certificate, both PEM bytes."""

    def __init__(self, key_pem, cert_pem, kind="rsa"):
        self.key_pem = key_pem
        self.cert_pem = cert_pem
        self.kind = kind

    @property
    def cert_b64(self):
        """The certificate as base64 DER without armour (for KeyInfo/metadata)."""
        lines = self.cert_pem.decode().strip().splitlines()
        return "".join(l for l in lines if not l.startswith("-----"))

    def write(self, directory, name):
        os.makedirs(directory, exist_ok=True)
        kp = os.path.join(directory, name + ".key")
        cp = os.path.join(directory, name + ".crt")
        with open(kp, "wb") as f:
            f.write(self.key_pem)
        os.chmod(kp, 0o600)
        with open(cp, "wb") as f:
            f.write(self.cert_pem)
        return kp, cp

    @classmethod
    def read(cls, key_path, cert_path):
        with open(key_path, "rb") as f:
            k = f.read()
        with open(cert_path, "rb") as f:
            c = f.read()
        return cls(k, c, "ec" if b"EC PRIVATE" in k else "rsa")


def _self_signed(private_key, common_name, days=3650):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .sign(private_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def make_rsa_keypair(common_name="idp.example.org", bits=2048):
    k = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = k.private_bytes(serialization.Encoding.PEM,
                          serialization.PrivateFormat.TraditionalOpenSSL,
                          serialization.NoEncryption())
    return KeyPair(pem, _self_signed(k, common_name), "rsa")


def make_ec_keypair(common_name="idp2.example.org"):
    k = ec.generate_private_key(ec.SECP256R1())
    pem = k.private_bytes(serialization.Encoding.PEM,
                          serialization.PrivateFormat.TraditionalOpenSSL,
                          serialization.NoEncryption())
    return KeyPair(pem, _self_signed(k, common_name), "ec")


# --- metadata ----------------------------------------------------------------

def _entity_descriptor(entity_id, cert_b64s, sso_url, key_use="signing",
                       nsmap=None, want_signed=False):
    ed = etree.Element(_q(NS_MD, "EntityDescriptor"),
                       nsmap=nsmap or {"md": NS_MD, "ds": NS_DS})
    ed.set("entityID", entity_id)
    idp = etree.SubElement(ed, _q(NS_MD, "IDPSSODescriptor"))
    idp.set("protocolSupportEnumeration", NS_SAMLP)
    if want_signed:
        idp.set("WantAuthnRequestsSigned", "true")
    for c in cert_b64s:
        kd = etree.SubElement(idp, _q(NS_MD, "KeyDescriptor"))
        if key_use:
            kd.set("use", key_use)
        ki = etree.SubElement(kd, _q(NS_DS, "KeyInfo"))
        xd = etree.SubElement(ki, _q(NS_DS, "X509Data"))
        etree.SubElement(xd, _q(NS_DS, "X509Certificate")).text = c
    slo = etree.SubElement(idp, _q(NS_MD, "SingleLogoutService"))
    slo.set("Binding", BINDING_REDIRECT)
    slo.set("Location", sso_url.rsplit("/", 1)[0] + "/slo")
    etree.SubElement(idp, _q(NS_MD, "NameIDFormat")).text = NAMEID_PERSISTENT
    for binding in (BINDING_REDIRECT, BINDING_POST):
        s = etree.SubElement(idp, _q(NS_MD, "SingleSignOnService"))
        s.set("Binding", binding)
        s.set("Location", sso_url)
    return ed


def idp_metadata(entity_id, cert_pems, sso_url=None, key_use="signing"):
    """EntityDescriptor bytes for one IdP. cert_pems: one PEM or a list."""
    if isinstance(cert_pems, (bytes, str)):
        cert_pems = [cert_pems]
    b64s = [KeyPair(b"", c if isinstance(c, bytes) else c.encode()).cert_b64
            for c in cert_pems]
    ed = _entity_descriptor(entity_id, b64s, sso_url or entity_id + "/sso", key_use)
    return etree.tostring(ed, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def entities_metadata(entities):
    """EntitiesDescriptor bytes. entities: list of (entity_id, cert_pem, sso_url)."""
    root = etree.Element(_q(NS_MD, "EntitiesDescriptor"),
                         nsmap={"md": NS_MD, "ds": NS_DS})
    root.set("Name", "urn:example:federation")
    for eid, cert, sso in entities:
        b64 = KeyPair(b"", cert).cert_b64
        root.append(_entity_descriptor(eid, [b64], sso or eid + "/sso"))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


NS_MDATTR = "urn:oasis:names:tc:SAML:metadata:attribute"
SIRTFI_NAME = "urn:oasis:names:tc:SAML:attribute:assurance-certification"
SIRTFI = "https://refeds.org/sirtfi"


def federation_metadata(entities, now=None, valid_until=DEFAULT, cache_duration="PT1H",
                        root_id=DEFAULT, name="urn:example:federation"):
    """An EntitiesDescriptor element (unsigned; sign it with sign_metadata).
    entities: list of dicts with entity_id, cert_pem (or cert_pems), and
    optional sso_url, attrs ({name: [values]}: mdattr:EntityAttributes),
    valid_until (seconds from now / datetime / str), role ("idp" or "sp"),
    protocol (protocolSupportEnumeration). valid_until of the root: seconds
    from now (default 7 days), None for none."""
    now = now or utcnow()
    root = etree.Element(_q(NS_MD, "EntitiesDescriptor"),
                         nsmap={"md": NS_MD, "ds": NS_DS, "mdattr": NS_MDATTR,
                                "saml": NS_SAML})
    if root_id is DEFAULT:
        root_id = new_id("_md")
    if root_id is not None:
        root.set("ID", root_id)
    root.set("Name", name)
    vu = _when(now, valid_until, 7 * 86400)
    if vu is not None:
        root.set("validUntil", vu)
    if cache_duration is not None:
        root.set("cacheDuration", cache_duration)
    for e in entities:
        certs = e.get("cert_pems") or [e["cert_pem"]]
        b64s = [KeyPair(b"", c if isinstance(c, bytes) else c.encode()).cert_b64
                for c in certs]
        eid = e["entity_id"]
        ed = _entity_descriptor(eid, b64s, e.get("sso_url") or eid + "/sso")
        if e.get("role") == "sp":
            ed.find(_q(NS_MD, "IDPSSODescriptor")).tag = _q(NS_MD, "SPSSODescriptor")
        if e.get("protocol"):
            ed.find(_q(NS_MD, "IDPSSODescriptor")).set("protocolSupportEnumeration",
                                                        e["protocol"])
        if e.get("valid_until") is not None:
            ed.set("validUntil", _when(now, e["valid_until"], None))
        if e.get("attrs"):
            ext = etree.Element(_q(NS_MD, "Extensions"))
            ea = etree.SubElement(ext, _q(NS_MDATTR, "EntityAttributes"))
            for an, vals in e["attrs"].items():
                a = etree.SubElement(ea, _q(NS_SAML, "Attribute"))
                a.set("Name", an)
                a.set("NameFormat", ATTR_URI)
                for v in vals:
                    etree.SubElement(a, _q(NS_SAML, "AttributeValue")).text = v
            ed.insert(0, ext)
        root.append(ed)
    return root


def sign_metadata(root, kp, **kw):
    """Enveloped signature of a metadata root (the first child, as
    saml-schema-metadata-2.0 orders it) by the federation key kp."""
    kw.setdefault("sig_alg", "ecdsa-sha256" if kp.kind == "ec" else "rsa-sha256")
    kw.setdefault("position", 0)
    return sign_element(root, kp, **kw)


def make_metadata_fixtures(outdir, now, idp, idp2):
    """OUTDIR/metadata/: a federation key (fed.key/.crt), another one
    (other.key/.crt) and aggregates over idp and idp2 that each break one
    rule of signed metadata (see tests/unit/test_metadata.c)."""
    d = os.path.join(outdir, "metadata")
    fed = make_rsa_keypair("federation.example.org")
    other = make_rsa_keypair("federation.example.org")
    fed.write(d, "fed")
    other.write(d, "other")
    ents = [
        {"entity_id": IDP_ENTITY_ID, "cert_pem": idp.cert_pem, "sso_url": IDP_SSO_URL,
         "attrs": {SIRTFI_NAME: [SIRTFI]}},
        {"entity_id": IDP2_ENTITY_ID, "cert_pem": idp2.cert_pem, "sso_url": IDP2_SSO_URL},
        {"entity_id": "https://old.example.org/idp", "cert_pem": idp.cert_pem,
         "valid_until": -3600},
        {"entity_id": "https://sp.example.org/sp", "cert_pem": idp.cert_pem, "role": "sp"},
    ]

    def put(name, data):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data if isinstance(data, bytes) else to_bytes(data))

    def signed(kp=fed, **kw):
        sign_kw = {k: kw.pop(k) for k in list(kw) if k in ("sig_alg", "digest_alg", "c14n",
                                                        "transforms", "references")}
        r = federation_metadata(ents, now, **kw)
        sign_metadata(r, kp, **sign_kw)
        return r

    ok = signed(root_id="_md-ok")
    put("ok.xml", ok)
    put("unsigned.xml", federation_metadata(ents, now))
    put("other-key.xml", signed(other))
    put("tampered.xml", to_bytes(ok).replace(b"https://idp2.example.org/idp",
                                             b"https://evil.example.org/idp"))
    # XSW: the signed aggregate nested in an attacker's root, whose own
    # entity comes first; the signature moved up to the new root
    evil = federation_metadata([{"entity_id": "https://evil.example.org/idp",
                                 "cert_pem": other.cert_pem}], now, root_id="_md-evil")
    inner = copy.deepcopy(ok)
    evil.insert(0, inner.find(_q(NS_DS, "Signature")))
    evil.append(inner)
    put("moved.xml", evil)
    # the same without a signature of its own: only the nested one is signed
    evil = federation_metadata([{"entity_id": "https://evil.example.org/idp",
                                 "cert_pem": other.cert_pem}], now, root_id="_md-evil2")
    evil.append(copy.deepcopy(ok))
    put("wrapped.xml", evil)
    put("expired.xml", signed(valid_until=-3600))
    put("long.xml", signed(valid_until=400 * 86400))
    put("no-valid-until.xml", signed(valid_until=None))
    put("sha1.xml", signed(sig_alg="rsa-sha1", digest_alg="sha1"))
    put("inclusive-c14n.xml", signed(transforms=["enveloped", "c14n"]))


# --- time --------------------------------------------------------------------

def parse_time(text):
    """RFC 3339 / xs:dateTime -> aware UTC datetime."""
    t = text.strip()
    if t.endswith("Z") or t.endswith("z"):
        t = t[:-1] + "+00:00"
    d = datetime.datetime.fromisoformat(t)
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return d.astimezone(datetime.timezone.utc)


def fmt_time(d):
    return d.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _when(now, value, default):
    """A timestamp knob: DEFAULT -> default offset, None -> absent, int/float ->
    seconds relative to now, datetime -> itself, str -> verbatim."""
    if value is DEFAULT:
        value = default
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, datetime.datetime):
        return fmt_time(value)
    return fmt_time(now + datetime.timedelta(seconds=value))


def new_id(prefix="_"):
    return prefix + uuid.uuid4().hex


# --- responses ---------------------------------------------------------------

def _status(parent, code, code2, message):
    st = etree.SubElement(parent, _q(NS_SAMLP, "Status"))
    sc = etree.SubElement(st, _q(NS_SAMLP, "StatusCode"))
    sc.set("Value", code)
    if code2:
        etree.SubElement(sc, _q(NS_SAMLP, "StatusCode")).set("Value", code2)
    if message is not None:
        etree.SubElement(st, _q(NS_SAMLP, "StatusMessage")).text = message
    return st


def build_assertion(now, *, assertion_id=None, issuer=IDP_ENTITY_ID,
                    issue_instant=DEFAULT, version="2.0",
                    name_id="alice@example.org", name_id_format=NAMEID_EMAIL,
                    name_qualifier=None, sp_name_qualifier=None,
                    include_subject=True,
                    sc_method=BEARER, recipient=ACS_URL, sc_in_response_to=None,
                    sc_not_on_or_after=DEFAULT, sc_not_before=None,
                    include_subject_confirmation=True,
                    include_conditions=True, not_before=DEFAULT,
                    not_on_or_after=DEFAULT, audiences=(SP_ENTITY_ID,),
                    authn_statements=None, attributes=(), advice=None):
    """An saml:Assertion element (own namespace declarations, so it can be
    encrypted or moved alone). authn_statements: list of dicts with keys
    class_ref (str or None), decl_ref, authorities (list), authn_instant,
    session_index, session_not_on_or_after (time knobs as for _when);
    DEFAULT gives one PasswordProtectedTransport statement. attributes: list
    of dicts name, name_format, friendly_name, values (list of str)."""
    a = etree.Element(_q(NS_SAML, "Assertion"),
                      nsmap={"saml": NS_SAML, "xs": NS_XS, "xsi": NS_XSI})
    a.set("ID", assertion_id or new_id())
    if version is not None:
        a.set("Version", version)
    ii = _when(now, issue_instant, -5)
    if ii is not None:
        a.set("IssueInstant", ii)
    if issuer is not None:
        etree.SubElement(a, _q(NS_SAML, "Issuer")).text = issuer
    if include_subject:
        subj = etree.SubElement(a, _q(NS_SAML, "Subject"))
        if name_id is not None:
            n = etree.SubElement(subj, _q(NS_SAML, "NameID"))
            if name_id_format:
                n.set("Format", name_id_format)
            if name_qualifier:
                n.set("NameQualifier", name_qualifier)
            if sp_name_qualifier:
                n.set("SPNameQualifier", sp_name_qualifier)
            n.text = name_id
        if include_subject_confirmation:
            sc = etree.SubElement(subj, _q(NS_SAML, "SubjectConfirmation"))
            sc.set("Method", sc_method)
            scd = etree.SubElement(sc, _q(NS_SAML, "SubjectConfirmationData"))
            nb = _when(now, sc_not_before, None)
            if nb:
                scd.set("NotBefore", nb)
            noa = _when(now, sc_not_on_or_after, 300)
            if noa:
                scd.set("NotOnOrAfter", noa)
            if recipient is not None:
                scd.set("Recipient", recipient)
            if sc_in_response_to is not None:
                scd.set("InResponseTo", sc_in_response_to)
    if include_conditions:
        c = etree.SubElement(a, _q(NS_SAML, "Conditions"))
        nb = _when(now, not_before, -60)
        if nb:
            c.set("NotBefore", nb)
        noa = _when(now, not_on_or_after, 300)
        if noa:
            c.set("NotOnOrAfter", noa)
        if audiences is not None:
            ar = etree.SubElement(c, _q(NS_SAML, "AudienceRestriction"))
            for aud in audiences:
                etree.SubElement(ar, _q(NS_SAML, "Audience")).text = aud
    if advice is not None:
        adv = etree.SubElement(a, _q(NS_SAML, "Advice"))
        for el in advice:
            adv.append(el)
    if authn_statements is None:
        authn_statements = [{"class_ref": PPT}]
    for i, st in enumerate(authn_statements):
        s = etree.SubElement(a, _q(NS_SAML, "AuthnStatement"))
        s.set("AuthnInstant", _when(now, st.get("authn_instant", DEFAULT), -60))
        si = st.get("session_index", DEFAULT)
        if si is DEFAULT:
            si = "_session-%d" % i
        if si is not None:
            s.set("SessionIndex", si)
        snoa = _when(now, st.get("session_not_on_or_after", DEFAULT), 8 * 3600)
        if snoa:
            s.set("SessionNotOnOrAfter", snoa)
        ctx = etree.SubElement(s, _q(NS_SAML, "AuthnContext"))
        if st.get("class_ref", PPT) is not None:
            etree.SubElement(ctx, _q(NS_SAML, "AuthnContextClassRef")).text = \
                st.get("class_ref", PPT)
        if st.get("decl_ref"):
            etree.SubElement(ctx, _q(NS_SAML, "AuthnContextDeclRef")).text = st["decl_ref"]
        for auth in st.get("authorities", ()):
            etree.SubElement(ctx, _q(NS_SAML, "AuthenticatingAuthority")).text = auth
    if attributes:
        ast = etree.SubElement(a, _q(NS_SAML, "AttributeStatement"))
        for at in attributes:
            e = etree.SubElement(ast, _q(NS_SAML, "Attribute"))
            e.set("Name", at["name"])
            if at.get("name_format"):
                e.set("NameFormat", at["name_format"])
            if at.get("friendly_name"):
                e.set("FriendlyName", at["friendly_name"])
            for v in at.get("values", ()):
                ve = etree.SubElement(e, _q(NS_SAML, "AttributeValue"))
                ve.set(_q(NS_XSI, "type"), "xs:string")
                ve.text = v
    return a


def build_response(now=None, *, response_id=None, assertion_id=None,
                   issuer=IDP_ENTITY_ID, response_issuer=DEFAULT,
                   assertion_issuer=DEFAULT, destination=ACS_URL,
                   in_response_to=None, issue_instant=DEFAULT, version="2.0",
                   status=SUCCESS, status2=None, status_message=None,
                   include_assertion=True, extra_assertions=(),
                   extensions=None, sc_in_response_to=DEFAULT, **assertion_kw):
    """A samlp:Response element. Every check of the verifier has a knob:
    response_issuer/assertion_issuer default to `issuer`, None drops the
    element; in_response_to None = unsolicited; sc_in_response_to defaults
    to in_response_to; the rest goes to build_assertion (audiences,
    recipient, sc_method, sc_not_on_or_after, not_before, not_on_or_after,
    name_id*, authn_statements, attributes, ...). extra_assertions: further
    Assertion elements appended after the first. extensions: list of
    elements put in samlp:Extensions. now: aware datetime (default: now)."""
    now = now or utcnow()
    r = etree.Element(_q(NS_SAMLP, "Response"),
                      nsmap={"samlp": NS_SAMLP, "saml": NS_SAML})
    r.set("ID", response_id or new_id())
    if version is not None:
        r.set("Version", version)
    ii = _when(now, issue_instant, -5)
    if ii is not None:
        r.set("IssueInstant", ii)
    if destination is not None:
        r.set("Destination", destination)
    if in_response_to is not None:
        r.set("InResponseTo", in_response_to)
    ri = issuer if response_issuer is DEFAULT else response_issuer
    if ri is not None:
        iss = etree.SubElement(r, _q(NS_SAML, "Issuer"))
        iss.text = ri
    if extensions is not None:
        ext = etree.SubElement(r, _q(NS_SAMLP, "Extensions"))
        for el in extensions:
            ext.append(el)
    _status(r, status, status2, status_message)
    if include_assertion:
        ai = issuer if assertion_issuer is DEFAULT else assertion_issuer
        scirt = in_response_to if sc_in_response_to is DEFAULT else sc_in_response_to
        r.append(build_assertion(now, assertion_id=assertion_id, issuer=ai,
                                 sc_in_response_to=scirt, **assertion_kw))
    for extra in extra_assertions:
        r.append(extra)
    return r


# --- signing -----------------------------------------------------------------

def register_ids(root):
    """Registers every ID attribute in the document as an XML ID (xmlsec needs
    it to resolve '#id' references)."""
    xmlsec.tree.add_ids(root.getroottree().getroot(), ["ID"])


def _load_key(kp, sig_alg, hmac_key=b"shared-secret-of-the-attacker"):
    if sig_alg.startswith("hmac"):
        return xmlsec.Key.from_binary_data(xmlsec.KeyData.HMAC, hmac_key)
    k = xmlsec.Key.from_memory(kp.key_pem, xmlsec.KeyFormat.PEM)
    if kp.cert_pem:
        k.load_cert_from_memory(kp.cert_pem, xmlsec.KeyFormat.CERT_PEM)
    return k


def _add_transform(ref, name):
    if name == "enveloped":
        xmlsec.template.add_transform(ref, xmlsec.Transform.ENVELOPED)
    elif name == "exc-c14n":
        xmlsec.template.add_transform(ref, xmlsec.Transform.EXCL_C14N)
    elif name == "exc-c14n-comments":
        xmlsec.template.add_transform(ref, xmlsec.Transform.EXCL_C14N_COMMENTS)
    elif name == "c14n":
        xmlsec.template.add_transform(ref, xmlsec.Transform.C14N)
    elif name == "c14n-comments":
        xmlsec.template.add_transform(ref, xmlsec.Transform.C14N_COMMENTS)
    elif name.startswith("xpath:"):
        t = xmlsec.template.add_transform(ref, xmlsec.Transform.XPATH)
        xp = etree.SubElement(t, _q(NS_DS, "XPath"))
        xp.text = name[len("xpath:"):]
    elif name == "xslt":
        t = xmlsec.template.add_transform(ref, xmlsec.Transform.XSLT)
        ns_xsl = "http://www.w3.org/1999/XSL/Transform"
        ss = etree.SubElement(t, _q(ns_xsl, "stylesheet"), nsmap={"xsl": ns_xsl})
        ss.set("version", "1.0")
        tm = etree.SubElement(ss, _q(ns_xsl, "template"))
        tm.set("match", "/")
        etree.SubElement(tm, _q(ns_xsl, "copy-of")).set("select", ".")
    else:
        raise ValueError("unknown transform %r" % name)


def _find_target(root, what):
    if what == "response":
        if root.tag != _q(NS_SAMLP, "Response"):
            raise ValueError("root is not a samlp:Response")
        return root
    if what == "assertion":
        if root.tag == _q(NS_SAML, "Assertion"):
            return root
        a = root.find(_q(NS_SAML, "Assertion"))
        if a is None:
            raise ValueError("no saml:Assertion child to sign")
        return a
    raise ValueError(what)


def sign_element(el, kp, sig_alg="rsa-sha256", digest_alg="sha256",
                 include_cert=True, transforms=None, references=DEFAULT,
                 c14n="exc-c14n", hmac_key=b"shared-secret-of-the-attacker",
                 position=DEFAULT):
    """Puts an enveloped ds:Signature into `el` (right after its Issuer, or
    first) and signs. references: list of URIs (default ['#' + el ID]).
    transforms: names (enveloped, exc-c14n, c14n, xpath:EXPR, xslt, ...)."""
    c14n_t = {"exc-c14n": xmlsec.Transform.EXCL_C14N,
              "c14n": xmlsec.Transform.C14N,
              "exc-c14n-comments": xmlsec.Transform.EXCL_C14N_COMMENTS}[c14n]
    sig = xmlsec.template.create(el, c14n_t, SIG_ALGS[sig_alg], ns="ds")
    if references is DEFAULT:
        references = ["#" + el.get("ID")]
    for uri in references:
        ref = xmlsec.template.add_reference(sig, DIGEST_ALGS[digest_alg], uri=uri)
        for t in (transforms if transforms is not None else ["enveloped", "exc-c14n"]):
            _add_transform(ref, t)
    if include_cert and not sig_alg.startswith("hmac"):
        ki = xmlsec.template.ensure_key_info(sig)
        xmlsec.template.add_x509_data(ki)
    if position is DEFAULT:
        iss = el.find(_q(NS_SAML, "Issuer"))
        position = (list(el).index(iss) + 1) if iss is not None else 0
    el.insert(position, sig)
    register_ids(el)
    ctx = xmlsec.SignatureContext()
    ctx.key = _load_key(kp, sig_alg, hmac_key)
    ctx.sign(sig)
    return sig


def sign(root, what="response", kp=None, cert=None, **kw):
    """Signs the Response, its (first) Assertion, or both (assertion first).
    kp: KeyPair; or pass key PEM as kp and cert PEM as cert."""
    if not isinstance(kp, KeyPair):
        kp = KeyPair(kp, cert or b"")
    if what == "both":
        sign_element(_find_target(root, "assertion"), kp, **kw)
        return sign_element(_find_target(root, "response"), kp, **kw)
    return sign_element(_find_target(root, what), kp, **kw)


def _without_saml_declaration(a):
    """The Assertion serialised as an IdP that relies on the Response's
    declaration of the saml prefix writes it: its start tag without
    xmlns:saml (the rest keeps its own declarations). Not well-formed
    alone; well-formed where the Response declares saml."""
    data = etree.tostring(a)
    start, rest = data.split(b">", 1)
    decl = (' xmlns:saml="%s"' % NS_SAML).encode()
    if start.count(decl) != 1:
        raise ValueError("the Assertion does not declare saml itself")
    data = start.replace(decl, b"") + b">" + rest
    try:
        etree.fromstring(data)
    except etree.XMLSyntaxError:
        return data
    raise ValueError("the Assertion still parses alone")


def encrypt_assertion(root, sp_cert_pem, key_transport="rsa-oaep",
                      data_alg="aes128-cbc", in_context=False, plaintext=None):
    """Replaces the Response's saml:Assertion by saml:EncryptedAssertion
    (xenc:EncryptedData Type=Element, the session key in an EncryptedKey
    under ds:KeyInfo, transported to sp_cert_pem's RSA key).

    in_context=True encrypts the Assertion serialised WITHOUT its own
    declaration of the saml prefix, which the Response declares: valid XML
    Encryption (the plaintext is parsed where the EncryptedData stood,
    XML Encryption 4.5; xmlsec1 --decrypt does so), and the
    EncryptedAssertion then relies on the Response's declaration.
    plaintext: encrypt these bytes instead of the Assertion (hostile
    plaintext for the tests)."""
    a = root.find(_q(NS_SAML, "Assertion"))
    if a is None:
        raise ValueError("no Assertion to encrypt")
    method, bits = DATA_ALGS[data_alg]
    # Encrypt a standalone copy that is the root of its own document, so the
    # plaintext carries every namespace declaration it uses (as real IdPs'
    # do) and a decrypter that parses it alone can read it.
    alone = etree.fromstring(etree.tostring(a))
    if in_context and plaintext is None:
        plaintext = _without_saml_declaration(a)
    tmpl = xmlsec.template.encrypted_data_create(
        alone, method, type=xmlsec.EncryptionType.ELEMENT, ns="xenc")
    xmlsec.template.encrypted_data_ensure_cipher_value(tmpl)
    ki = xmlsec.template.encrypted_data_ensure_key_info(tmpl, ns="ds")
    ek = xmlsec.template.add_encrypted_key(ki, KEY_TRANSPORTS[key_transport])
    xmlsec.template.encrypted_data_ensure_cipher_value(ek)
    mgr = xmlsec.KeysManager()
    mgr.add_key(xmlsec.Key.from_memory(sp_cert_pem, xmlsec.KeyFormat.CERT_PEM, None))
    ctx = xmlsec.EncryptionContext(mgr)
    ctx.key = xmlsec.Key.generate(xmlsec.KeyData.AES, bits, xmlsec.KeyDataType.SESSION)
    if plaintext is not None:
        enc = ctx.encrypt_binary(tmpl, plaintext)
    else:
        enc = ctx.encrypt_xml(tmpl, alone)
    if in_context:
        # the EncryptedAssertion uses the Response's saml prefix too
        pos = list(root).index(a)
        root.remove(a)
        ea = etree.SubElement(root, _q(NS_SAML, "EncryptedAssertion"))
        root.insert(pos, ea)
    else:
        ea = etree.Element(_q(NS_SAML, "EncryptedAssertion"), nsmap={"saml": NS_SAML})
        root.replace(a, ea)
    ea.append(enc)
    return ea


def tamper_ciphertext(b64text, data_alg):
    """Flips ciphertext bits so decryption fails for sure: for CBC the last
    byte of the second-to-last block (the padding length becomes > 16, which
    no padding check accepts); for GCM any byte (the tag check fails)."""
    raw = bytearray(base64.b64decode(b64text))
    if data_alg.endswith("cbc"):
        raw[-17] ^= 0x80
    else:
        raw[len(raw) // 2] ^= 0x55
    return base64.b64encode(bytes(raw)).decode()


def to_bytes(root, declaration=True):
    return etree.tostring(root.getroottree() if declaration else root,
                          xml_declaration=declaration, encoding="UTF-8")


def to_base64(root_or_bytes, wrap=0):
    data = root_or_bytes if isinstance(root_or_bytes, bytes) else to_bytes(root_or_bytes)
    b = base64.b64encode(data)
    if wrap:
        b = b"\r\n".join(b[i:i + wrap] for i in range(0, len(b), wrap))
    return b


def parse(data):
    """Parses forged bytes back (no DTD loading, no network) and registers IDs."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True,
                             load_dtd=False, huge_tree=True, remove_blank_text=False)
    root = etree.fromstring(data, parser)
    register_ids(root)
    return root


def expected_record(root, idp=IDP_ENTITY_ID):
    """The record the verifier must report for an (unencrypted-equivalent)
    Response tree built here: read straight from our own tree, the classes
    whitespace-collapsed as xs:anyURI."""
    a = root.find(_q(NS_SAML, "Assertion"))
    n = a.find("%s/%s" % (_q(NS_SAML, "Subject"), _q(NS_SAML, "NameID")))
    stmts = a.findall(_q(NS_SAML, "AuthnStatement"))

    def text(e):
        return None if e is None else "".join(e.itertext())

    def collapse(t):
        # xs:anyURI whiteSpace=collapse: XML whitespace only (not NBSP etc.)
        return " ".join(x for x in re.split(r"[ \t\r\n]+", t) if x)

    classes = []
    decl = None
    auths = []
    per_statement = []
    for s in stmts:
        c = s.find("%s/%s" % (_q(NS_SAML, "AuthnContext"), _q(NS_SAML, "AuthnContextClassRef")))
        if c is not None:
            classes.append(collapse(text(c)))
        per_statement.append({
            "class_refs": [collapse(text(c))] if c is not None else [],
            "authn_instant": s.get("AuthnInstant"),
            "session_index": s.get("SessionIndex"),
            "session_not_on_or_after": s.get("SessionNotOnOrAfter")})
        d = s.find("%s/%s" % (_q(NS_SAML, "AuthnContext"), _q(NS_SAML, "AuthnContextDeclRef")))
        if d is not None and decl is None:
            decl = collapse(text(d))
        for x in s.iterfind("%s/%s" % (_q(NS_SAML, "AuthnContext"),
                                       _q(NS_SAML, "AuthenticatingAuthority"))):
            auths.append(collapse(text(x)))
    attrs = []
    for at in a.iterfind("%s/%s" % (_q(NS_SAML, "AttributeStatement"), _q(NS_SAML, "Attribute"))):
        attrs.append({"name": at.get("Name"), "name_format": at.get("NameFormat"),
                      "friendly_name": at.get("FriendlyName"),
                      "values": [text(v) for v in at.iterfind(_q(NS_SAML, "AttributeValue"))]})
    cond = a.find(_q(NS_SAML, "Conditions"))
    scd = a.find("%s/%s/%s" % (_q(NS_SAML, "Subject"), _q(NS_SAML, "SubjectConfirmation"),
                               _q(NS_SAML, "SubjectConfirmationData")))
    return {
        "idp": idp,
        "name_id": {"value": text(n), "format": n.get("Format"),
                    "name_qualifier": n.get("NameQualifier"),
                    "sp_name_qualifier": n.get("SPNameQualifier")},
        "authn_context_class_refs": classes,
        "authn_context_decl_ref": decl,
        # the oldest statement's instant, the first SessionIndex present
        "authn_instant": min((s.get("AuthnInstant") for s in stmts), key=parse_time)
        if stmts else None,
        "session_index": next((s.get("SessionIndex") for s in stmts
                               if s.get("SessionIndex") is not None), None),
        "authn_statements": per_statement,
        # the earliest of every statement's
        "session_not_on_or_after": min((s.get("SessionNotOnOrAfter") for s in stmts
                                        if s.get("SessionNotOnOrAfter") is not None),
                                       key=parse_time, default=None),
        "authenticating_authorities": auths,
        "attributes": attrs,
        "assertion_id": a.get("ID"),
        # informational: the verifier may choose the earlier of the two
        "conditions_not_on_or_after": cond.get("NotOnOrAfter") if cond is not None else None,
        "subject_not_on_or_after": scd.get("NotOnOrAfter") if scd is not None else None,
    }


# --- fixtures ----------------------------------------------------------------

class Fixtures:
    """Writes the fixture set described in the module docstring."""

    def __init__(self, outdir, now):
        self.outdir = outdir
        self.now = now
        self.now_text = fmt_time(now)
        self.lines = []
        self.expected = {}
        self.n = 0
        kd = os.path.join(outdir, "keys")
        self.idp = make_rsa_keypair("idp.example.org")
        self.idp2 = make_ec_keypair("idp2.example.org")
        self.sp = make_rsa_keypair("sp.example.org")
        self.attacker = make_rsa_keypair("idp.example.org")  # same CN: a look-alike
        for name in ("idp", "idp2", "sp", "attacker"):
            getattr(self, name).write(kd, name)
        os.makedirs(os.path.join(outdir, "responses"), exist_ok=True)
        with open(os.path.join(outdir, "idp-metadata.xml"), "wb") as f:
            f.write(idp_metadata(IDP_ENTITY_ID, self.idp.cert_pem, IDP_SSO_URL))
        with open(os.path.join(outdir, "idp2-metadata.xml"), "wb") as f:
            f.write(idp_metadata(IDP2_ENTITY_ID, self.idp2.cert_pem, IDP2_SSO_URL))
        with open(os.path.join(outdir, "metadata-all.xml"), "wb") as f:
            f.write(entities_metadata([(IDP_ENTITY_ID, self.idp.cert_pem, IDP_SSO_URL),
                                       (IDP2_ENTITY_ID, self.idp2.cert_pem, IDP2_SSO_URL)]))
        settings = [
            ("sp_entity_id", SP_ENTITY_ID), ("acs_url", ACS_URL),
            ("idp_entity_id", IDP_ENTITY_ID), ("idp2_entity_id", IDP2_ENTITY_ID),
            ("metadata", "metadata-all.xml"), ("idp_metadata", "idp-metadata.xml"),
            ("idp2_metadata", "idp2-metadata.xml"),
            ("sp_key", "keys/sp.key"), ("sp_cert", "keys/sp.crt"),
            ("idp_key", "keys/idp.key"), ("idp_cert", "keys/idp.crt"),
            ("idp2_key", "keys/idp2.key"), ("idp2_cert", "keys/idp2.crt"),
            ("attacker_key", "keys/attacker.key"), ("attacker_cert", "keys/attacker.crt"),
            ("now", self.now_text), ("clock_skew", "180"),
            ("max_response_size", "262144"),
        ]
        with open(os.path.join(outdir, "settings.tsv"), "w") as f:
            for k, v in settings:
                f.write("%s\t%s\n" % (k, v))

    # helpers

    def resp(self, name, **kw):
        """build_response with per-file IDs and a per-file request ID."""
        kw.setdefault("response_id", "_resp-" + name)
        kw.setdefault("assertion_id", "_assert-" + name)
        if "in_response_to" not in kw:
            kw["in_response_to"] = "_req-" + name
        return build_response(self.now, **kw)

    def add(self, name, data, verdict, reason="-", request_id=DEFAULT, flags=(),
            expect=None, ext="xml"):
        fn = "responses/%02d-%s.%s" % (self.n, name, ext)
        self.n += 1
        with open(os.path.join(self.outdir, fn), "wb") as f:
            f.write(data)
        if request_id is DEFAULT:
            request_id = "_req-" + name
        self.lines.append((fn, verdict, reason or "-", request_id or "-",
                           self.now_text, ",".join(flags) or "-"))
        if expect is not None:
            self.expected[fn] = expect

    def ok(self, name, root, flags=(), ext="xml", data=None, expect_root=None,
           idp=IDP_ENTITY_ID, request_id=DEFAULT):
        exp = expected_record(expect_root if expect_root is not None else root, idp)
        self.add(name, data if data is not None else to_bytes(root), "accept",
                 flags=flags, expect=exp, ext=ext, request_id=request_id)

    def rej(self, name, root_or_bytes, reason, flags=(), request_id=DEFAULT):
        data = root_or_bytes if isinstance(root_or_bytes, bytes) else to_bytes(root_or_bytes)
        self.add(name, data, "reject", reason, flags=flags, request_id=request_id)

    def signed(self, name, what="response", kp=None, sign_kw=None, **kw):
        r = self.resp(name, **kw)
        sign(r, what, kp or self.idp, **(sign_kw or {}))
        return r

    def write(self):
        with open(os.path.join(self.outdir, "manifest.tsv"), "w") as f:
            for line in self.lines:
                f.write("\t".join(line) + "\n")
        with open(os.path.join(self.outdir, "expected.json"), "w") as f:
            json.dump(self.expected, f, indent=1, sort_keys=True)


RICH_ATTRS = [
    {"name": "urn:oid:0.9.2342.19200300.100.1.3", "name_format": ATTR_URI,
     "friendly_name": "mail", "values": ["alice@example.org"]},
    {"name": "urn:oid:1.3.6.1.4.1.5923.1.1.1.7", "name_format": ATTR_URI,
     "friendly_name": "eduPersonEntitlement",
     "values": ["urn:example:staff", "urn:example:admin", "quote \" back\\slash \u00e9\u4e2d"]},
    {"name": "displayName", "values": ["Alice <Admin> & Co"]},
]


def make_fixtures(outdir, now):
    fx = Fixtures(outdir, now)
    idp, idp2, sp, attacker = fx.idp, fx.idp2, fx.sp, fx.attacker
    SPK = ("sp_key",)

    # -- valid ---------------------------------------------------------------
    fx.ok("ok-response-signed", fx.signed("ok-response-signed", "response"))
    fx.ok("ok-assertion-signed", fx.signed("ok-assertion-signed", "assertion"))
    fx.ok("ok-both-signed", fx.signed("ok-both-signed", "both"),
          flags=("require_signed_assertion",))
    r = fx.signed("ok-base64", "response")
    fx.ok("ok-base64", r, ext="b64", data=to_base64(r))
    r = fx.signed("ok-base64-wrapped", "response")
    fx.ok("ok-base64-wrapped", r, ext="b64", data=to_base64(r, wrap=76) + b"\r\n")
    fx.ok("ok-multi-authn", fx.signed(
        "ok-multi-authn", "assertion",
        authn_statements=[
            {"class_ref": PPT, "authorities": ["https://idp.example.org/pw"]},
            {"class_ref": MFA, "decl_ref": "https://idp.example.org/decl/otp",
             "authorities": ["https://otp.example.org", "https://idp.example.org/pw"],
             "authn_instant": -30},
            {"class_ref": MS_MFA, "session_index": None,
             "session_not_on_or_after": None},
        ]))
    fx.ok("ok-attributes", fx.signed(
        "ok-attributes", "response", name_id="AAdzZWNyZXQxMjM0NTY3ODkw",
        name_id_format=NAMEID_PERSISTENT, name_qualifier=IDP_ENTITY_ID,
        sp_name_qualifier=SP_ENTITY_ID, attributes=RICH_ATTRS,
        audiences=("https://other.example.org/sp", SP_ENTITY_ID),
        authn_statements=[{"class_ref": MFA}]))
    fx.ok("ok-class-whitespace", fx.signed(
        "ok-class-whitespace", "assertion",
        authn_statements=[{"class_ref": "\n\t  " + MFA + "  \r\n"}]))
    for kt, da in (("rsa-oaep", "aes128-cbc"), ("rsa-oaep", "aes256-cbc"),
                   ("rsa-oaep", "aes128-gcm"), ("rsa-oaep", "aes256-gcm")):
        name = "ok-enc-%s-%s" % (kt, da)
        r = fx.resp(name, authn_statements=[{"class_ref": MFA}])
        sign(r, "assertion", idp)
        plain = copy.deepcopy(r)
        encrypt_assertion(r, sp.cert_pem, kt, da)
        fx.ok(name, r, flags=SPK, expect_root=plain)
    name = "ok-enc-response-signed"
    r = fx.resp(name)
    plain = copy.deepcopy(r)
    encrypt_assertion(r, sp.cert_pem, "rsa-oaep", "aes256-gcm")
    sign(r, "response", idp)
    fx.ok(name, r, flags=SPK, expect_root=plain)
    fx.ok("ok-unsolicited", fx.signed("ok-unsolicited", "response", in_response_to=None),
          flags=("allow_unsolicited",), request_id=None)
    fx.ok("ok-rsa-sha512", fx.signed("ok-rsa-sha512", "response",
                                     sign_kw={"sig_alg": "rsa-sha512", "digest_alg": "sha512"}))
    fx.ok("ok-ecdsa-idp2", fx.signed("ok-ecdsa-idp2", "both", kp=idp2, issuer=IDP2_ENTITY_ID,
                                     sign_kw={"sig_alg": "ecdsa-sha256"}),
          idp=IDP2_ENTITY_ID)
    fx.ok("ok-sha1-allowed", fx.signed("ok-sha1-allowed", "response",
                                       sign_kw={"sig_alg": "rsa-sha1", "digest_alg": "sha1"}),
          flags=("allow_sha1",))
    fx.ok("ok-no-keyinfo", fx.signed("ok-no-keyinfo", "response",
                                     sign_kw={"include_cert": False}))
    fx.ok("ok-response-no-issuer", fx.signed("ok-response-no-issuer", "assertion",
                                             response_issuer=None))
    fx.ok("ok-skew", fx.signed("ok-skew", "response", issue_instant=60,
                               not_before=120, not_on_or_after=-60,
                               sc_not_on_or_after=-60))

    # -- IdP error statuses ---------------------------------------------------
    fx.add("idp-error-noauthncontext", to_bytes(fx.signed(
        "idp-error-noauthncontext", "response", status=RESPONDER, status2=NO_AUTHN_CONTEXT,
        status_message="MFA \"required\"", include_assertion=False)), "idp-error")
    fx.add("idp-error-unsigned", to_bytes(fx.resp(
        "idp-error-unsigned", status=REQUESTER, include_assertion=False)), "idp-error")

    # -- one broken rule each -------------------------------------------------
    fx.rej("bad-input-notbase64", b"!!this is not base64 %%% ***\n", "bad-input")
    fx.rej("bad-input-empty", b"", "bad-input")
    big = fx.signed("too-large", "response", attributes=[
        {"name": "blob", "values": ["x" * 1000] * 300}])
    fx.rej("too-large", big, "too-large")
    good = to_bytes(fx.signed("xml-parse-truncated", "response"))
    fx.rej("xml-parse-truncated", good[:len(good) // 2], "xml-parse")
    r = fx.signed("xml-parse-bad-utf8", "response", name_id="alice\u00e9@example.org")
    data = to_bytes(r).replace("\u00e9".encode(), b"\xc3\x28")
    fx.rej("xml-parse-bad-utf8", data, "xml-parse")
    r = fx.signed("xml-dtd-doctype", "response")
    data = to_bytes(r, declaration=False)
    fx.rej("xml-dtd-doctype", b'<?xml version="1.0"?>\n<!DOCTYPE samlp:Response [\n'
           b'  <!ENTITY who "alice@example.org">\n]>\n' + data, "xml-dtd")
    deep = etree.Element("{urn:example:deep}d", nsmap={"x": "urn:example:deep"})
    cur = deep
    for _ in range(200):
        cur = etree.SubElement(cur, "{urn:example:deep}d")
    fx.rej("xml-too-deep", fx.signed("xml-too-deep", "response", extensions=[deep]),
           "xml-too-deep")
    fx.rej("xml-schema-no-issueinstant",
           fx.signed("xml-schema-no-issueinstant", "response", issue_instant=None),
           "xml-schema")
    r = fx.signed("duplicate-id", "assertion")
    r.set("ID", r.find(_q(NS_SAML, "Assertion")).get("ID"))
    fx.rej("duplicate-id", r, "duplicate-id")
    a = build_assertion(fx.now, assertion_id="_assert-not-a-response",
                        sc_in_response_to="_req-not-a-response")
    sign(a, "assertion", idp)
    fx.rej("not-a-response", a, "not-a-response")
    fx.rej("bad-version", fx.signed("bad-version", "response", version="1.1"), "bad-version")
    fx.rej("issuer-mismatch-assertion", fx.signed(
        "issuer-mismatch-assertion", "response", assertion_issuer=IDP2_ENTITY_ID),
        "issuer-mismatch")
    fx.rej("issuer-mismatch-response", fx.signed(
        "issuer-mismatch-response", "assertion", response_issuer=IDP2_ENTITY_ID),
        "issuer-mismatch")
    fx.rej("unknown-idp", fx.signed("unknown-idp", "response",
                                    issuer="https://unknown.example.org/idp"),
           "unknown-idp")
    fx.rej("destination-mismatch", fx.signed(
        "destination-mismatch", "response", destination="https://sp.example.org/saml/other"),
        "destination-mismatch")
    fx.rej("in-response-to-unknown", fx.signed(
        "in-response-to-unknown", "response", in_response_to="_req-somebody-else"),
        "in-response-to-unknown")
    fx.rej("in-response-to-subject-mismatch", fx.signed(
        "in-response-to-subject-mismatch", "response",
        sc_in_response_to="_req-somebody-else"), "in-response-to-unknown")
    fx.rej("unsolicited-disallowed", fx.signed(
        "unsolicited-disallowed", "response", in_response_to=None),
        "unsolicited-disallowed", request_id=None)
    fx.rej("status-with-assertion", fx.signed(
        "status-with-assertion", "response", status=RESPONDER, status2=NO_AUTHN_CONTEXT),
        "status-with-assertion")
    fx.rej("no-assertion", fx.signed("no-assertion", "response", include_assertion=False),
           "no-assertion")
    second = build_assertion(fx.now, assertion_id="_assert2-multiple-assertions",
                             sc_in_response_to="_req-multiple-assertions",
                             name_id="mallory@example.org")
    sign(second, "assertion", idp)
    r = fx.resp("multiple-assertions", extra_assertions=[second])
    sign(r, "assertion", idp)
    sign(r, "response", idp)
    fx.rej("multiple-assertions", r, "multiple-assertions")
    fx.rej("signature-missing", fx.resp("signature-missing"), "signature-missing")
    fx.rej("signature-missing-assertion-required", fx.signed(
        "signature-missing-assertion-required", "response"), "signature-missing",
        flags=("require_signed_assertion",))
    r = fx.signed("signature-invalid-tampered", "response")
    r.find(".//" + _q(NS_SAML, "NameID")).text = "admin@example.org"
    fx.rej("signature-invalid-tampered", r, "signature-invalid")
    r = fx.signed("signature-invalid-tampered-class", "assertion",
                  authn_statements=[{"class_ref": PPT}])
    r.find(".//" + _q(NS_SAML, "AuthnContextClassRef")).text = MFA
    fx.rej("signature-invalid-tampered-class", r, "signature-invalid")
    fx.rej("signature-invalid-attacker-key", fx.signed(
        "signature-invalid-attacker-key", "response", kp=attacker), "signature-invalid")
    fx.rej("signature-invalid-wrong-idp-key", fx.signed(
        "signature-invalid-wrong-idp-key", "both", kp=idp2,
        sign_kw={"sig_alg": "ecdsa-sha256"}), "signature-invalid")
    r = fx.resp("signature-reference-two")
    sign_element(r, idp, references=["#" + r.get("ID"),
                                     "#" + r.find(_q(NS_SAML, "Assertion")).get("ID")])
    fx.rej("signature-reference-two", r, "signature-reference")
    r = fx.resp("signature-reference-empty-uri")
    sign_element(r, idp, references=[""])
    fx.rej("signature-reference-empty-uri", r, "signature-reference")
    r = fx.resp("signature-reference-other")
    sign_element(r, idp, references=["#" + r.find(_q(NS_SAML, "Assertion")).get("ID")])
    fx.rej("signature-reference-other", r, "signature-reference")
    fx.rej("signature-transform-xpath", fx.signed(
        "signature-transform-xpath", "response",
        sign_kw={"transforms": ["enveloped", "xpath:not(ancestor-or-self::ds:Signature)",
                                "exc-c14n"]}), "signature-transform")
    fx.rej("signature-transform-c14n-comments", fx.signed(
        "signature-transform-c14n-comments", "response",
        sign_kw={"transforms": ["enveloped", "exc-c14n-comments"]}), "signature-transform")
    fx.rej("signature-algorithm-sha1", fx.signed(
        "signature-algorithm-sha1", "response",
        sign_kw={"sig_alg": "rsa-sha1", "digest_alg": "sha1"}), "signature-algorithm")
    fx.rej("signature-algorithm-sha1-digest", fx.signed(
        "signature-algorithm-sha1-digest", "response",
        sign_kw={"digest_alg": "sha1"}), "signature-algorithm")
    fx.rej("signature-algorithm-md5-digest", fx.signed(
        "signature-algorithm-md5-digest", "response",
        sign_kw={"digest_alg": "md5"}), "signature-algorithm")
    fx.rej("signature-algorithm-hmac", fx.signed(
        "signature-algorithm-hmac", "response", sign_kw={"sig_alg": "hmac"}),
        "signature-algorithm")
    for kt, da, cert, reason, flags in (
            ("rsa-oaep", "aes128-cbc", attacker.cert_pem, "decrypt-failed", SPK),
            ("rsa-oaep", "aes256-gcm", sp.cert_pem, "no-sp-key", ())):
        name = "%s-%s" % (reason, da)
        r = fx.resp(name)
        sign(r, "assertion", idp)
        encrypt_assertion(r, cert, kt, da)
        fx.rej(name, r, reason, flags=flags)
    # RSA PKCS#1 v1.5 key transport is refused by design (a padding oracle,
    # see src/anc_decrypt.c): the product decrypts RSA-OAEP only
    name = "decrypt-failed-rsa-1_5"
    r = fx.resp(name)
    sign(r, "assertion", idp)
    encrypt_assertion(r, sp.cert_pem, "rsa-1_5", "aes128-cbc")
    fx.rej(name, r, "decrypt-failed", flags=SPK)
    for da in ("aes128-cbc", "aes256-gcm"):
        name = "decrypt-failed-tampered-%s" % da
        r = fx.resp(name)
        sign(r, "assertion", idp)
        encrypt_assertion(r, sp.cert_pem, "rsa-oaep", da)
        cv = r.findall(".//" + _q(NS_XENC, "CipherValue"))[-1]   # EncryptedData's own
        cv.text = tamper_ciphertext(cv.text, da)
        fx.rej(name, r, "decrypt-failed", flags=SPK)
    fx.rej("expired", fx.signed("expired", "response", not_on_or_after=-600,
                                 sc_not_on_or_after=-600, issue_instant=-900,
                                 not_before=-960), "expired")
    fx.rej("expired-conditions", fx.signed("expired-conditions", "response",
                                            not_on_or_after=-600), "expired")
    fx.rej("expired-subject-confirmation", fx.signed(
        "expired-subject-confirmation", "response", sc_not_on_or_after=-600), "expired")
    fx.rej("not-yet-valid", fx.signed("not-yet-valid", "response", not_before=600),
           "not-yet-valid")
    fx.rej("audience-mismatch", fx.signed("audience-mismatch", "response",
                                           audiences=("https://other.example.org/sp",)),
           "audience-mismatch")
    fx.rej("subject-confirmation-hok", fx.signed(
        "subject-confirmation-hok", "response", sc_method=HOLDER_OF_KEY),
        "subject-confirmation")
    fx.rej("subject-confirmation-missing", fx.signed(
        "subject-confirmation-missing", "response", include_subject_confirmation=False),
        "subject-confirmation")
    fx.rej("recipient-mismatch", fx.signed(
        "recipient-mismatch", "response", recipient="https://sp.example.org/saml/other"),
        "recipient-mismatch")
    fx.rej("no-authn-statement", fx.signed("no-authn-statement", "response",
                                            authn_statements=[]), "no-authn-statement")
    fx.rej("no-subject", fx.signed("no-subject", "response", include_subject=False),
           "no-subject")
    r = fx.signed("replay", "response", in_response_to=None)
    fx.ok("replay-first", r, flags=("allow_unsolicited",), request_id=None)
    fx.rej("replay-second", to_bytes(r), "replay", flags=("allow_unsolicited",),
           request_id=None)

    # -- IssueInstant in the future (SAML core 3.2.2 / 2.3.3, profiles
    # 4.1.4.3): a message not issued yet, beyond the 180 s clock skew.
    # Everything else is valid, so the reason must be not-yet-valid.
    fx.rej("not-yet-valid-response-issue-instant", fx.signed(
        "not-yet-valid-response-issue-instant", "response", issue_instant=600,
        not_before=-60, not_on_or_after=900, sc_not_on_or_after=900), "not-yet-valid")
    name = "not-yet-valid-assertion-issue-instant"
    r = fx.resp(name, not_on_or_after=900, sc_not_on_or_after=900)
    r.find(_q(NS_SAML, "Assertion")).set("IssueInstant", fmt_time(
        fx.now + datetime.timedelta(seconds=600)))
    sign(r, "both", idp)
    fx.rej(name, r, "not-yet-valid")
    # just inside the skew: still accepted
    name = "ok-issue-instant-within-skew"
    r = fx.resp(name, issue_instant=170)
    r.find(_q(NS_SAML, "Assertion")).set("IssueInstant", fmt_time(
        fx.now + datetime.timedelta(seconds=170)))
    sign(r, "both", idp)
    fx.ok(name, r)

    # -- decryption in context (XML Encryption 4.5): the plaintext Assertion
    # relies on the Response's declaration of the saml prefix
    for what, da in (("assertion", "aes256-gcm"), ("response", "aes128-cbc")):
        name = "ok-enc-in-context-%s-signed" % what
        r = fx.resp(name, authn_statements=[{"class_ref": MFA}])
        if what == "assertion":
            sign(r, "assertion", idp)
        plain = copy.deepcopy(r)
        encrypt_assertion(r, sp.cert_pem, "rsa-oaep", da, in_context=True)
        if what == "response":
            sign(r, "response", idp)
        fx.ok(name, r, flags=SPK, expect_root=plain)
    # a fresh password statement, then an old MFA one (issue 11 item 3):
    # the record's single instant is the oldest, its SessionIndex the
    # first one present, and every statement is reported on its own
    fx.ok("ok-multi-authn-old-second", fx.signed(
        "ok-multi-authn-old-second", "response",
        authn_statements=[
            {"class_ref": PPT, "authn_instant": -5, "session_index": None},
            {"class_ref": MFA, "authn_instant": -3 * 24 * 3600,
             "session_index": "_s-mfa", "session_not_on_or_after": 3600},
        ]))
    make_metadata_fixtures(outdir, now, idp, idp2)
    fx.write()
    return fx


# --- command line ------------------------------------------------------------

# --- Single Logout (issue 16) ---------------------------------------------------

def build_logout_request(now=None, *, request_id=None, issuer=IDP_ENTITY_ID,
                         destination=DEFAULT, name_id="alice@example.org",
                         name_id_format=None, name_qualifier=None,
                         sp_name_qualifier=None, session_indexes=(),
                         issue_instant=DEFAULT, not_on_or_after=None, version="2.0"):
    """An IdP's samlp:LogoutRequest (SAML core 3.7.1). destination DEFAULT is
    https://sp.example.org/saml/slo; None leaves it out."""
    now = now or utcnow()
    root = etree.Element(_q(NS_SAMLP, "LogoutRequest"),
                         nsmap={"samlp": NS_SAMLP, "saml": NS_SAML})
    root.set("ID", request_id or new_id())
    root.set("Version", version)
    root.set("IssueInstant", fmt_time(now) if issue_instant is DEFAULT else issue_instant)
    if destination is DEFAULT:
        destination = SP_SLO_URL
    if destination is not None:
        root.set("Destination", destination)
    if not_on_or_after is not None:
        root.set("NotOnOrAfter", not_on_or_after)
    if issuer is not None:
        etree.SubElement(root, _q(NS_SAML, "Issuer")).text = issuer
    nid = etree.SubElement(root, _q(NS_SAML, "NameID"))
    nid.text = name_id
    for attr, v in (("NameQualifier", name_qualifier),
                    ("SPNameQualifier", sp_name_qualifier), ("Format", name_id_format)):
        if v is not None:
            nid.set(attr, v)
    for si in session_indexes:
        etree.SubElement(root, _q(NS_SAMLP, "SessionIndex")).text = si
    register_ids(root)
    return root


def build_logout_response(now=None, *, response_id=None, issuer=IDP_ENTITY_ID,
                          destination=DEFAULT, in_response_to=None,
                          status="urn:oasis:names:tc:SAML:2.0:status:Success",
                          status2=None, message=None, issue_instant=DEFAULT):
    """An IdP's samlp:LogoutResponse (SAML core 3.7.2)."""
    now = now or utcnow()
    root = etree.Element(_q(NS_SAMLP, "LogoutResponse"),
                         nsmap={"samlp": NS_SAMLP, "saml": NS_SAML})
    root.set("ID", response_id or new_id())
    root.set("Version", "2.0")
    root.set("IssueInstant", fmt_time(now) if issue_instant is DEFAULT else issue_instant)
    if destination is DEFAULT:
        destination = SP_SLO_URL
    if destination is not None:
        root.set("Destination", destination)
    if in_response_to is not None:
        root.set("InResponseTo", in_response_to)
    if issuer is not None:
        etree.SubElement(root, _q(NS_SAML, "Issuer")).text = issuer
    _status(root, status, status2, message)
    register_ids(root)
    return root


SP_SLO_URL = "https://sp.example.org/saml/slo"

REDIRECT_SIG_HASHES = {
    "rsa-sha256": ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", hashes.SHA256),
    "rsa-sha384": ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha384", hashes.SHA384),
    "rsa-sha512": ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha512", hashes.SHA512),
    "rsa-sha1": ("http://www.w3.org/2000/09/xmldsig#rsa-sha1", hashes.SHA1),
}


def redirect_query(root_or_bytes, kp=None, relay_state=None, sig_alg="rsa-sha256",
                   param=None):
    """HTTP-Redirect binding (bindings 3.4.4.1): raw DEFLATE, base64, URL
    encoding; with kp, SigAlg and Signature over the exact octets
    PARAM=..&RelayState=..&SigAlg=.. (signed with python3-cryptography).
    Returns the query string (no '?')."""
    import urllib.parse
    import zlib
    from cryptography.hazmat.primitives.asymmetric import padding
    data = root_or_bytes if isinstance(root_or_bytes, bytes) else to_bytes(root_or_bytes, False)
    if param is None:
        param = "SAMLResponse" if b"LogoutResponse" in data.split(b">", 1)[0] else "SAMLRequest"
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = co.compress(data) + co.flush()
    q = param + "=" + urllib.parse.quote(base64.b64encode(deflated).decode(), safe="")
    if relay_state is not None:
        q += "&RelayState=" + urllib.parse.quote(relay_state, safe="")
    if kp is not None:
        uri, h = REDIRECT_SIG_HASHES[sig_alg]
        q += "&SigAlg=" + urllib.parse.quote(uri, safe="")
        key = serialization.load_pem_private_key(kp.key_pem, password=None)
        sig = key.sign(q.encode("ascii"), padding.PKCS1v15(), h())
        q += "&Signature=" + urllib.parse.quote(base64.b64encode(sig).decode(), safe="")
    return q


def sign_logout(root, kp, **kw):
    """Enveloped signature on a LogoutRequest/LogoutResponse root."""
    return sign_element(root, kp, **kw)


def _main(argv):
    ap = argparse.ArgumentParser(prog="samlforge.py", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fixtures", help="write keys, metadata, responses, manifest")
    f.add_argument("outdir")
    f.add_argument("--now", help="RFC 3339 time the responses are valid at (default: now)")
    k = sub.add_parser("keys", help="write idp/idp2/sp/attacker keys and metadata")
    k.add_argument("outdir")
    r = sub.add_parser("response", help="print one signed response")
    r.add_argument("--key", required=True)
    r.add_argument("--cert", required=True)
    r.add_argument("--sign", default="response", choices=["response", "assertion", "both", "none"])
    r.add_argument("--issuer", default=IDP_ENTITY_ID)
    r.add_argument("--audience", default=SP_ENTITY_ID)
    r.add_argument("--destination", default=ACS_URL)
    r.add_argument("--in-response-to")
    r.add_argument("--name-id", default="alice@example.org")
    r.add_argument("--class-ref", action="append")
    r.add_argument("--now")
    r.add_argument("--base64", action="store_true")
    a = ap.parse_args(argv)
    if a.cmd == "fixtures":
        now = parse_time(a.now) if a.now else utcnow()
        fx = make_fixtures(a.outdir, now)
        print("samlforge: %d responses in %s" % (len(fx.lines), a.outdir))
    elif a.cmd == "keys":
        Fixtures(a.outdir, utcnow())
    else:
        kp = KeyPair.read(a.key, a.cert)
        now = parse_time(a.now) if a.now else utcnow()
        root = build_response(now, issuer=a.issuer, audiences=(a.audience,),
                              destination=a.destination, in_response_to=a.in_response_to,
                              name_id=a.name_id,
                              authn_statements=[{"class_ref": c} for c in (a.class_ref or [PPT])])
        if a.sign != "none":
            sign(root, a.sign, kp, sig_alg="ecdsa-sha256" if kp.kind == "ec" else "rsa-sha256")
        out = to_base64(root) if a.base64 else to_bytes(root)
        sys.stdout.buffer.write(out + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
