#!/usr/bin/python3
"""A real SAML 2.0 IdP for the integration tests and the demo.

Built on Debian's python3-pysaml2 (saml2.server.Server) and served by
wsgiref with one thread per request, on 127.0.0.1 only.

  idp_server.py --port N --state-dir D --sp-metadata F [--misbehave]
                [--entra] [--want-signed-requests] [--sign assertion|response|both]
                [--pid-file P] [--max-seconds S]

It generates its own RSA key and certificate in the state dir, writes its
metadata to D/idp-metadata.xml (also served at /metadata), and reads the SP's
metadata from F (re-read whenever the file changes, so a fixture can write it
once httpd is up). It prints "READY port=N" on stdout when it listens, stops
on SIGTERM/SIGINT and by itself after --max-seconds.

Users (see USERS): alice/alice-pw (password only), bob/bob-pw with one-time
code 123456 (MFA when the code is given), carol/carol-pw (no second factor).

Authentication: an AuthnBroker (saml2.authn_context.AuthnBroker) ranks
PasswordProtectedTransport (10) below https://refeds.org/profile/mfa (20) and
picks the methods that satisfy the request's RequestedAuthnContext with its
Comparison. If the user's achieved methods satisfy none of them the answer is
Responder/NoAuthnContext. ForceAuthn re-prompts despite an IdP session;
IsPassive without a usable session answers Responder/NoPassive.

Test hooks (loopback only; this is a test IdP):
  GET  /log                  JSON list of events (requests received, with
                             RequestedAuthnContext, ForceAuthn, IsPassive,
                             signature checks; login forms shown; responses)
  POST /control              JSON body: {"misbehave": bool, "entra": bool,
                             "authn_age": seconds, "sign": "...",
                             "want_signed_requests": bool,
                             "session_seconds": N (SessionNotOnOrAfter),
                             "encrypt": bool (EncryptedAssertion, AES-256-GCM
                             + RSA-OAEP to the SP's encryption certificate),
                             "tamper": bool (after signing, the class text
                             PasswordProtectedTransport is rewritten to REFEDS
                             MFA: what an attacker upgrading a claim sends),
                             "slo_pysaml2": bool (--slo: LogoutRequests of
                             /initiate_logout and LogoutResponses made, signed
                             and bound by pysaml2 instead of samlforge),
                             "reset_log": bool, "reset_sessions": bool}
  GET  /unsolicited?user=U&class=C[&acs=URL][&relay=R][&age=S]
                             IdP-initiated response (no InResponseTo)

Single Logout (only with --slo or --slo-post-only, so that IdPs started
without it publish no SingleLogoutService and SPs keep local logout):
  GET  /slo/redirect, POST /slo/post
                             the IdP's SingleLogoutService (--slo lists
                             both, Redirect first; --slo-post-only only
                             POST): an SP's LogoutRequest (its signature
                             checked with the SP's metadata certificate)
                             ends the IdP sessions of that NameID and is
                             answered with a signed LogoutResponse; an SP's
                             LogoutResponse (to /initiate_logout) is logged
  GET  /initiate_logout?user=U[&sp=ENTITYID][&binding=redirect|post]
       [&session_index=S][&relay=R]
                             IdP-initiated logout: ends U's IdP sessions and
                             sends a signed LogoutRequest to the SP's SLO
                             endpoint (302 or an auto-submitting form)
Messages are forged with tests/lib/samlforge.py and signed with this IdP's
key; events logout_request, logout_response, logout_initiated go to /log.
"""

import argparse
import base64
import html
import http.cookies
import json
import os
import secrets
import signal
import socketserver
import subprocess
import sys
import threading
import time
import urllib.parse
import zlib
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, saml, samlp
from saml2.authn_context import AuthnBroker, authn_context_class_ref
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_UNSPECIFIED, NAME_FORMAT_URI
from saml2.server import Server
from saml2.time_util import instant as saml_instant
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

PPT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
MFA = "https://refeds.org/profile/mfa"
ENTRA_PASSWORD = "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password"
ENTRA_MFA = "http://schemas.microsoft.com/claims/multipleauthn"
ENTRA_AMR_ATTR = "http://schemas.microsoft.com/claims/authnmethodsreferences"

USERS = {
    "alice": {"password": "alice-pw", "otp": None,
              "identity": {"uid": ["alice"], "mail": ["alice@example.org"],
                           "displayName": ["Alice Password"]}},
    "bob": {"password": "bob-pw", "otp": "123456",
            "identity": {"uid": ["bob"], "mail": ["bob@example.org"],
                         "displayName": ["Bob Twofactor"]}},
    "carol": {"password": "carol-pw", "otp": None,
              "identity": {"uid": ["carol"], "mail": ["carol@example.org"],
                           "displayName": ["Carol Nofactor"]}},
}

LEVELS = {PPT: 10, MFA: 20}
SESSION_COOKIE = "idp_session"


def log(msg):
    sys.stderr.write("idp: %s %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def make_key_cert(state_dir):
    key = os.path.join(state_dir, "idp.key")
    cert = os.path.join(state_dir, "idp.crt")
    if not (os.path.exists(key) and os.path.exists(cert)):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key, "-out", cert, "-days", "30", "-subj",
             "/CN=mod_authncontext test IdP"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            timeout=60)
        os.chmod(key, 0o600)
    return key, cert


def build_broker():
    """PPT at level 10 and REFEDS MFA at 20: minimum/better/maximum then mean
    what SAML core 3.3.2.2.1 says, through pysaml2's own broker."""
    broker = AuthnBroker()
    broker.add(authn_context_class_ref(PPT), "password", 10, "")
    broker.add(authn_context_class_ref(MFA), "password+otp", 20, "")
    return broker


class IdP:
    def __init__(self, args):
        self.args = args
        self.state_dir = os.path.abspath(args.state_dir)
        os.makedirs(self.state_dir, exist_ok=True)
        self.base = "http://127.0.0.1:%d" % args.port
        self.entity_id = args.entity_id or (self.base + "/metadata")
        self.key, self.cert = make_key_cert(self.state_dir)
        self.sp_md = os.path.abspath(args.sp_metadata) if args.sp_metadata else None
        self.lock = threading.RLock()
        self.events = []
        self.sessions = {}      # cookie -> {user, methods, instant}
        self.pending = {}       # key -> pending AuthnRequest info
        self.modes = {"misbehave": args.misbehave, "entra": args.entra,
                      "authn_age": 0, "sign": args.sign, "session_seconds": 0,
                      "encrypt": bool(args.encrypt), "tamper": False,
                      "want_signed_requests": bool(args.want_signed_requests)}
        self.broker = build_broker()
        self._server = None
        self._sp_md_stamp = None
        self.metadata_xml = self._config_and_metadata(with_sp=False)[1]
        with open(os.path.join(self.state_dir, "idp-metadata.xml"), "w") as f:
            f.write(self.metadata_xml)

    # --- pysaml2 configuration --------------------------------------------

    def _config_dict(self, with_sp):
        conf = {
            "entityid": self.entity_id,
            "name": "mod_authncontext test IdP",
            "key_file": self.key,
            "cert_file": self.cert,
            "xmlsec_binary": "/usr/bin/xmlsec1",
            "accepted_time_diff": 60,
            "signing_algorithm": SIG_RSA_SHA256,
            "digest_algorithm": DIGEST_SHA256,
            "service": {"idp": {
                "name": "mod_authncontext test IdP",
                "endpoints": dict({"single_sign_on_service": [
                    (self.base + "/sso/redirect", BINDING_HTTP_REDIRECT),
                    (self.base + "/sso/post", BINDING_HTTP_POST)]}, **self.slo_endpoints()),
                "policy": {"default": {
                    "lifetime": {"minutes": 5},
                    "attribute_restrictions": None,
                    "name_form": NAME_FORMAT_URI}},
                "name_id_format": [NAMEID_FORMAT_UNSPECIFIED],
                "want_authn_requests_signed": bool(self.modes["want_signed_requests"])
                if hasattr(self, "modes") else bool(self.args.want_signed_requests),
            }},
        }
        if with_sp:
            files = self.sp_md_files()
            if files:
                conf["metadata"] = {"local": files}
        return conf

    def slo_endpoints(self):
        if getattr(self.args, "slo_post_only", False):
            return {"single_logout_service": [(self.base + "/slo/post", BINDING_HTTP_POST)]}
        if getattr(self.args, "slo", False):
            return {"single_logout_service": [
                (self.base + "/slo/redirect", BINDING_HTTP_REDIRECT),
                (self.base + "/slo/post", BINDING_HTTP_POST)]}
        return {}

    def sp_md_files(self):
        """--sp-metadata is a file or a directory of *.xml files (one per SP)."""
        if not self.sp_md:
            return []
        if os.path.isdir(self.sp_md):
            return sorted(os.path.join(self.sp_md, f) for f in os.listdir(self.sp_md)
                          if f.endswith(".xml"))
        return [self.sp_md] if os.path.exists(self.sp_md) else []

    def _config_and_metadata(self, with_sp):
        conf = IdPConfig()
        conf.load(self._config_dict(with_sp))
        md = create_metadata_string(None, config=conf, valid=24 * 7).decode()
        return conf, md

    def server(self):
        """The pysaml2 Server, rebuilt when the SP metadata file changes."""
        with self.lock:
            stamp = []
            for f in self.sp_md_files():
                st = os.stat(f)
                stamp.append((f, st.st_mtime_ns, st.st_size))
            stamp = tuple(stamp)
            if self._server is None or stamp != self._sp_md_stamp:
                conf = IdPConfig()
                conf.load(self._config_dict(with_sp=True))
                self._server = Server(config=conf)
                self._sp_md_stamp = stamp
                log("loaded SP metadata %s" % ([x[0] for x in stamp] or "(none)"))
            return self._server

    def event(self, **kw):
        kw["time"] = time.time()
        with self.lock:
            self.events.append(kw)

    # --- helpers -----------------------------------------------------------

    def sp_cert_pem(self, sp_entity_id, use="signing"):
        srv = self.server()
        certs = srv.metadata.certs(sp_entity_id, "spsso", use)
        if not certs:
            return None
        body = certs[0][1] if isinstance(certs[0], tuple) else certs[0]
        body = "".join(body.split())
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        return "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % "\n".join(lines)

    def verify_redirect_signature(self, raw_query, sp_entity_id, param="SAMLRequest"):
        """SAML bindings 3.4.4.1: the signature covers the octets of
        SAMLRequest=..&RelayState=..&SigAlg=.. exactly as received. Verified
        with python3-cryptography, independently of the SP's code."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        parts = {}
        for piece in raw_query.split("&"):
            k, _, v = piece.partition("=")
            parts[k] = v
        if "Signature" not in parts or "SigAlg" not in parts:
            return False, "unsigned"
        signed = param + "=" + parts.get(param, "")
        if "RelayState" in parts:
            signed += "&RelayState=" + parts["RelayState"]
        signed += "&SigAlg=" + parts["SigAlg"]
        alg = urllib.parse.unquote_plus(parts["SigAlg"])
        hmap = {"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": hashes.SHA256(),
                "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": hashes.SHA384(),
                "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": hashes.SHA512()}
        if alg not in hmap:
            return False, "unsupported SigAlg %s" % alg
        pem = self.sp_cert_pem(sp_entity_id)
        if not pem:
            return False, "no SP signing certificate in metadata"
        cert = x509.load_pem_x509_certificate(pem.encode())
        sig = base64.b64decode(urllib.parse.unquote_plus(parts["Signature"]))
        try:
            cert.public_key().verify(sig, signed.encode("ascii"),
                                     padding.PKCS1v15(), hmap[alg])
        except Exception as e:  # InvalidSignature
            return False, "bad signature (%s)" % e.__class__.__name__
        return True, alg

    def acceptable_classes(self, req):
        """Classes the request allows, through the broker; None = anything."""
        rac = req.requested_authn_context
        if rac is None or not rac.authn_context_class_ref:
            return None
        picked = self.broker.pick(rac)
        return [self.broker[ref]["class_ref"] for _m, ref in picked]

    @staticmethod
    def achieved_classes(methods):
        return [MFA, PPT] if "otp" in methods else [PPT]

    def choose_class(self, acceptable, methods):
        for c in self.achieved_classes(methods):   # strongest first
            if acceptable is None or c in acceptable:
                return c
        return None

    # --- responses ---------------------------------------------------------

    def sign_flags(self):
        s = self.modes["sign"]
        return s in ("response", "both"), s in ("assertion", "both")

    def success_response(self, user, klass, instant, in_response_to, destination,
                         sp_entity_id):
        srv = self.server()
        identity = {k: list(v) for k, v in USERS[user]["identity"].items()}
        klass_out = klass
        if self.modes["entra"]:
            # Entra ID: the statement says "password"; the MFA fact travels in
            # the authnmethodsreferences attribute.
            klass_out = ENTRA_PASSWORD
            amr = [ENTRA_PASSWORD] + ([ENTRA_MFA] if klass == MFA else [])
            identity[ENTRA_AMR_ATTR] = amr
        sign_response, sign_assertion = self.sign_flags()
        name_id = saml.NameID(format=NAMEID_FORMAT_UNSPECIFIED, text=user)
        extra = {}
        if self.modes.get("session_seconds"):
            # AuthnStatement/@SessionNotOnOrAfter: the IdP ends the session.
            extra["session_not_on_or_after"] = saml_instant(
                time_stamp=int(time.time() + float(self.modes["session_seconds"])))
        encrypt = bool(self.modes.get("encrypt"))
        resp = srv.create_authn_response(
            identity, in_response_to, destination, sp_entity_id,
            name_id=name_id,
            authn={"class_ref": klass_out, "authn_auth": self.entity_id,
                   "authn_instant": int(instant)},
            sign_response=sign_response and not encrypt, sign_assertion=sign_assertion,
            sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256, **extra)
        if encrypt:
            # As Shibboleth and AD FS do: the (signed) assertion encrypted to
            # the SP, then the Response signed over the EncryptedAssertion.
            resp = self.encrypt_and_sign(str(resp), sp_entity_id, sign_response)
        if self.modes.get("tamper"):
            resp = str(resp).replace(PPT + "<", MFA + "<")
        self.event(type="response", status="Success", user=user, klass=klass_out,
                   in_response_to=in_response_to, destination=destination,
                   authn_instant=int(instant))
        return str(resp)

    def encrypt_and_sign(self, xml, sp_entity_id, sign_response):
        """EncryptedAssertion (AES-256-GCM data, RSA-OAEP key transport) to
        the SP's encryption certificate from its metadata, with
        python3-xmlsec; then an enveloped RSA-SHA256 signature on the
        Response when asked."""
        import xmlsec
        from lxml import etree
        saml_ns = "urn:oasis:names:tc:SAML:2.0:assertion"
        root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
        assertion = root.find("{%s}Assertion" % saml_ns)
        pem = self.sp_cert_pem(sp_entity_id, "encryption") or self.sp_cert_pem(sp_entity_id)
        if pem is None:
            raise ValueError("no SP certificate to encrypt to")
        alone = etree.fromstring(etree.tostring(assertion))
        tmpl = xmlsec.template.encrypted_data_create(
            alone, xmlsec.constants.TransformAes256Gcm,
            type=xmlsec.constants.TypeEncElement, ns="xenc")
        xmlsec.template.encrypted_data_ensure_cipher_value(tmpl)
        ki = xmlsec.template.encrypted_data_ensure_key_info(tmpl, ns="ds")
        ek = xmlsec.template.add_encrypted_key(ki, xmlsec.constants.TransformRsaOaep)
        xmlsec.template.encrypted_data_ensure_cipher_value(ek)
        mgr = xmlsec.KeysManager()
        mgr.add_key(xmlsec.Key.from_memory(pem.encode(), xmlsec.constants.KeyDataFormatCertPem))
        ctx = xmlsec.EncryptionContext(mgr)
        ctx.key = xmlsec.Key.generate(xmlsec.constants.KeyDataAes, 256,
                                      xmlsec.constants.KeyDataTypeSession)
        enc = ctx.encrypt_xml(tmpl, alone)
        ea = etree.Element("{%s}EncryptedAssertion" % saml_ns, nsmap={"saml": saml_ns})
        ea.append(enc)
        root.replace(assertion, ea)
        if sign_response:
            sig = xmlsec.template.create(root, xmlsec.constants.TransformExclC14N,
                                         xmlsec.constants.TransformRsaSha256, ns="ds")
            issuer = root.find("{%s}Issuer" % saml_ns)
            issuer.addnext(sig)
            ref = xmlsec.template.add_reference(sig, xmlsec.constants.TransformSha256,
                                                uri="#" + root.get("ID"))
            xmlsec.template.add_transform(ref, xmlsec.constants.TransformEnveloped)
            xmlsec.template.add_transform(ref, xmlsec.constants.TransformExclC14N)
            kinfo = xmlsec.template.ensure_key_info(sig)
            xmlsec.template.add_x509_data(kinfo)
            xmlsec.tree.add_ids(root, ["ID"])
            sctx = xmlsec.SignatureContext()
            sctx.key = xmlsec.Key.from_file(self.key, xmlsec.constants.KeyDataFormatPem)
            sctx.key.load_cert_from_file(self.cert, xmlsec.constants.KeyDataFormatPem)
            sctx.sign(sig)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()

    def error_response(self, code, msg, in_response_to, destination):
        srv = self.server()
        sign_response = self.modes["sign"] != "none"
        resp = srv.create_error_response(in_response_to, destination, (code, msg),
                                         sign=sign_response, sign_alg=SIG_RSA_SHA256,
                                         digest_alg=DIGEST_SHA256)
        self.event(type="response", status=code, message=msg,
                   in_response_to=in_response_to, destination=destination)
        return str(resp)

    @staticmethod
    def post_form(destination, saml_response, relay_state):
        """An auto-submitting form, as an IdP sends it (HTTP-POST binding)."""
        b64 = base64.b64encode(saml_response.encode()).decode()
        relay = ""
        if relay_state is not None:
            relay = '<input type="hidden" name="RelayState" value="%s"/>' % html.escape(relay_state)
        return ("<!DOCTYPE html><html><head><title>Continue</title></head>"
                '<body onload="document.forms[0].submit()">'
                '<form id="saml-post" method="post" action="%s">'
                '<input type="hidden" name="SAMLResponse" value="%s"/>%s'
                '<noscript><p>Press Continue to go on.</p></noscript>'
                '<input type="submit" value="Continue"/></form></body></html>'
                % (html.escape(destination), b64, relay))

    # --- WSGI ----------------------------------------------------------------

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "/")
        method = environ["REQUEST_METHOD"]
        try:
            if path == "/metadata":
                return self.reply(start_response, "200 OK", self.metadata_xml,
                                  "application/samlmetadata+xml")
            if path == "/log":
                with self.lock:
                    body = json.dumps(self.events)
                return self.reply(start_response, "200 OK", body, "application/json")
            if path == "/control" and method == "POST":
                return self.control(environ, start_response)
            if path == "/sso/redirect" and method == "GET":
                return self.sso(environ, start_response, BINDING_HTTP_REDIRECT)
            if path == "/sso/post" and method == "POST":
                return self.sso(environ, start_response, BINDING_HTTP_POST)
            if path == "/login" and method == "POST":
                return self.login(environ, start_response)
            if path == "/unsolicited":
                return self.unsolicited(environ, start_response)
            if path == "/slo/redirect" and method == "GET":
                return self.slo(environ, start_response, BINDING_HTTP_REDIRECT)
            if path == "/slo/post" and method == "POST":
                return self.slo(environ, start_response, BINDING_HTTP_POST)
            if path == "/initiate_logout":
                return self.initiate_logout(environ, start_response)
            if path == "/":
                return self.reply(start_response, "200 OK",
                                  "<html><body><h1>mod_authncontext test IdP</h1>"
                                  "<p>entityID: %s</p></body></html>" % html.escape(self.entity_id))
            return self.reply(start_response, "404 Not Found", "not found\n", "text/plain")
        except Exception as e:  # the log says why; the test sees a 500
            import traceback
            log("error: %s\n%s" % (e, traceback.format_exc()))
            self.event(type="error", path=path, error="%s: %s" % (e.__class__.__name__, e))
            return self.reply(start_response, "500 Internal Server Error",
                              "IdP error: %s\n" % html.escape(str(e)), "text/plain")

    @staticmethod
    def reply(start_response, status, body, ctype="text/html; charset=utf-8", headers=()):
        data = body.encode() if isinstance(body, str) else body
        start_response(status, [("Content-Type", ctype),
                                ("Content-Length", str(len(data))),
                                ("Cache-Control", "no-store")] + list(headers))
        return [data]

    @staticmethod
    def form_fields(environ):
        n = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(n).decode() if n else ""
        return {k: v[0] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}

    def idp_session(self, environ):
        c = http.cookies.SimpleCookie(environ.get("HTTP_COOKIE", ""))
        if SESSION_COOKIE in c:
            with self.lock:
                return self.sessions.get(c[SESSION_COOKIE].value)
        return None

    def control(self, environ, start_response):
        n = int(environ.get("CONTENT_LENGTH") or 0)
        data = json.loads(environ["wsgi.input"].read(n) or b"{}")
        with self.lock:
            for k in ("misbehave", "entra", "authn_age", "sign", "want_signed_requests",
                      "session_seconds", "encrypt", "tamper", "slo_pysaml2"):
                if k in data:
                    self.modes[k] = data[k]
            if data.get("reset_log"):
                self.events = []
            if data.get("reset_sessions"):
                self.sessions = {}
            body = json.dumps(self.modes)
        return self.reply(start_response, "200 OK", body, "application/json")

    def sso(self, environ, start_response, binding):
        raw_query = environ.get("QUERY_STRING", "")
        if binding == BINDING_HTTP_REDIRECT:
            q = {k: v[0] for k, v in urllib.parse.parse_qs(raw_query).items()}
        else:
            q = self.form_fields(environ)
        if "SAMLRequest" not in q:
            return self.reply(start_response, "400 Bad Request", "no SAMLRequest\n", "text/plain")
        relay = q.get("RelayState")
        srv = self.server()
        # Redirect-binding signatures are checked below over the raw query;
        # POST-binding enveloped signatures by pysaml2 (xmlsec1) when wanted.
        srv.config.setattr("idp", "want_authn_requests_signed",
                           bool(self.modes["want_signed_requests"]) and binding == BINDING_HTTP_POST)
        ev = {"type": "authn_request", "binding": binding, "relay_state": relay}
        if binding == BINDING_HTTP_REDIRECT:
            xml = zlib.decompress(base64.b64decode(q["SAMLRequest"]), -15).decode()
        else:
            xml = base64.b64decode(q["SAMLRequest"]).decode()
        ev["xml"] = xml
        try:
            req = srv.parse_authn_request(q["SAMLRequest"], binding).message
        except Exception as e:
            ev.update(valid=False, error="%s: %s" % (e.__class__.__name__, e))
            self.event(**ev)
            return self.reply(start_response, "400 Bad Request",
                              "invalid AuthnRequest: %s\n" % html.escape(str(e)), "text/plain")
        sp = req.issuer.text if req.issuer is not None else None
        rac = req.requested_authn_context
        ev.update(valid=True, id=req.id, issuer=sp,
                  destination=req.destination,
                  acs_url=req.assertion_consumer_service_url,
                  protocol_binding=req.protocol_binding,
                  force_authn=(req.force_authn in ("true", "1", True)),
                  is_passive=(req.is_passive in ("true", "1", True)),
                  comparison=(rac.comparison or "exact") if rac is not None else None,
                  classes=[c.text.strip() for c in rac.authn_context_class_ref] if rac is not None else [])
        if binding == BINDING_HTTP_REDIRECT:
            ok, why = self.verify_redirect_signature(raw_query, sp)
            ev.update(signed="Signature" in q, signature_valid=ok, signature_info=why)
            if self.modes["want_signed_requests"] and not ok:
                ev["rejected"] = "unsigned or badly signed request"
                self.event(**ev)
                return self.reply(start_response, "403 Forbidden",
                                  "AuthnRequest signature: %s\n" % html.escape(why), "text/plain")
        else:
            signed = "<ds:Signature" in xml or ":Signature" in xml
            ev.update(signed=signed,
                      signature_valid=bool(signed and self.modes["want_signed_requests"]) or None)
        self.event(**ev)

        try:
            rargs = srv.response_args(req, [BINDING_HTTP_POST])
        except Exception as e:
            return self.reply(start_response, "400 Bad Request",
                              "unknown SP or ACS: %s\n" % html.escape(str(e)), "text/plain")
        pend = {"req_id": req.id, "sp": sp, "destination": rargs["destination"],
                "relay": relay, "acceptable": self.acceptable_classes(req),
                "force": ev["force_authn"], "passive": ev["is_passive"],
                "comparison": ev["comparison"], "classes": ev["classes"]}
        return self.continue_sso(environ, start_response, pend)

    def continue_sso(self, environ, start_response, pend, error=None):
        sess = self.idp_session(environ)
        acceptable = None if self.modes["misbehave"] else pend["acceptable"]
        if acceptable == []:
            # Nothing this IdP has can satisfy the request at all.
            return self.send(start_response, pend, self.error_response(
                samlp.STATUS_NO_AUTHN_CONTEXT, "requested context not supported",
                pend["req_id"], pend["destination"]))
        if sess and not pend["force"] and error is None:
            klass = self.choose_class(acceptable, sess["methods"])
            if klass:
                self.event(type="sso_reuse", user=sess["user"], klass=klass)
                return self.send(start_response, pend, self.success_response(
                    sess["user"], klass, sess["instant"], pend["req_id"],
                    pend["destination"], pend["sp"]))
        if pend["passive"]:
            return self.send(start_response, pend, self.error_response(
                samlp.STATUS_NO_PASSIVE, "no usable session and IsPassive",
                pend["req_id"], pend["destination"]))
        key = secrets.token_urlsafe(16)
        with self.lock:
            self.pending[key] = pend
        self.event(type="login_form", force=pend["force"],
                   need_mfa=(acceptable is not None and PPT not in acceptable))
        return self.reply(start_response, "200 OK", self.login_page(key, pend, error))

    def login_page(self, key, pend, error):
        wants = ""
        if pend["classes"]:
            wants = ("<p class=\"requested\">The service asks for: %s (%s)</p>"
                     % (html.escape(" ".join(pend["classes"])), html.escape(pend["comparison"] or "exact")))
        err = '<p class="error">%s</p>' % html.escape(error) if error else ""
        return ("<!DOCTYPE html><html><head><title>Test IdP login</title></head><body>"
                "<h1>Test IdP login</h1>%s%s"
                '<form id="login" method="post" action="/login">'
                '<input type="hidden" name="key" value="%s"/>'
                '<label>Username <input type="text" id="username" name="username"/></label><br/>'
                '<label>Password <input type="password" id="password" name="password"/></label><br/>'
                '<label>One-time code (optional) <input type="text" id="otp" name="otp"/></label><br/>'
                '<input type="submit" id="submit" value="Log in"/></form>'
                "<p>Users: alice/alice-pw, bob/bob-pw (code 123456), carol/carol-pw</p>"
                "</body></html>" % (wants, err, key))

    def login(self, environ, start_response):
        f = self.form_fields(environ)
        with self.lock:
            pend = self.pending.pop(f.get("key", ""), None)
        if pend is None:
            return self.reply(start_response, "400 Bad Request", "unknown login\n", "text/plain")
        user = f.get("username", "")
        u = USERS.get(user)
        if u is None or f.get("password") != u["password"]:
            self.event(type="login_failed", user=user)
            key = secrets.token_urlsafe(16)
            with self.lock:
                self.pending[key] = pend
            return self.reply(start_response, "200 OK",
                              self.login_page(key, pend, "Wrong username or password."))
        methods = ["password"]
        otp = f.get("otp", "").strip()
        if otp and u["otp"] and otp == u["otp"]:
            methods.append("otp")
        elif otp:
            self.event(type="otp_failed", user=user)
        instant = time.time() - float(self.modes.get("authn_age") or 0)
        sid = secrets.token_urlsafe(16)
        with self.lock:
            self.sessions[sid] = {"user": user, "methods": methods, "instant": instant}
        self.event(type="login", user=user, methods=methods)
        cookie = ("Set-Cookie", "%s=%s; Path=/; HttpOnly" % (SESSION_COOKIE, sid))
        acceptable = None if self.modes["misbehave"] else pend["acceptable"]
        klass = self.choose_class(acceptable, methods)
        if klass is None:
            body = self.error_response(samlp.STATUS_NO_AUTHN_CONTEXT,
                                       "the user could not satisfy the requested context",
                                       pend["req_id"], pend["destination"])
        else:
            body = self.success_response(user, klass, instant, pend["req_id"],
                                         pend["destination"], pend["sp"])
        return self.send(start_response, pend, body, headers=[cookie])

    def send(self, start_response, pend, saml_response, headers=()):
        return self.reply(start_response, "200 OK",
                          self.post_form(pend["destination"], saml_response, pend["relay"]),
                          headers=headers)

    def unsolicited(self, environ, start_response):
        q = {k: v[0] for k, v in urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).items()}
        user = q.get("user", "alice")
        if user not in USERS:
            return self.reply(start_response, "400 Bad Request", "unknown user\n", "text/plain")
        klass = q.get("class", PPT)
        srv = self.server()
        sps = [e for e in srv.metadata.keys()]
        sp = q.get("sp") or (sps[0] if sps else None)
        if sp is None:
            return self.reply(start_response, "400 Bad Request", "no SP metadata\n", "text/plain")
        acs = q.get("acs")
        if not acs:
            acs = srv.metadata.assertion_consumer_service(sp, BINDING_HTTP_POST)[0]["location"]
        instant = time.time() - float(q.get("age", 0))
        self.event(type="unsolicited", user=user, klass=klass, acs=acs)
        body = self.success_response(user, klass, instant, None, acs, sp)
        return self.reply(start_response, "200 OK", self.post_form(acs, body, q.get("relay")))

    # --- Single Logout -------------------------------------------------------

    @staticmethod
    def forge():
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))), "lib"))
        import samlforge
        return samlforge

    def keypair(self):
        return self.forge().KeyPair.read(self.key, self.cert)

    def sp_slo(self, sp, binding):
        srv = self.server()
        try:
            eps = srv.metadata.single_logout_service(sp, binding, "spsso")
        except Exception:
            eps = []
        if not eps:
            return None
        ep = eps[0]
        return ep.get("response_location") or ep["location"], ep["location"]

    def verify_post_signature(self, xml, sp_entity_id):
        import xmlsec
        from lxml import etree
        pem = self.sp_cert_pem(sp_entity_id)
        if not pem:
            return False
        root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
        xmlsec.tree.add_ids(root, ["ID"])
        sig = xmlsec.tree.find_node(root, xmlsec.constants.NodeSignature)
        if sig is None:
            return False
        ctx = xmlsec.SignatureContext()
        ctx.key = xmlsec.Key.from_memory(pem.encode(), xmlsec.constants.KeyDataFormatCertPem)
        try:
            ctx.verify(sig)
            return True
        except Exception:
            return False

    def end_idp_sessions(self, user):
        with self.lock:
            for k in [k for k, v in self.sessions.items() if v["user"] == user]:
                del self.sessions[k]

    def send_slo(self, start_response, binding, url, param, root, relay, headers=()):
        sf = self.forge()
        kp = self.keypair()
        if binding == BINDING_HTTP_REDIRECT:
            q = sf.redirect_query(root, kp, relay_state=relay, param=param)
            loc = url + ("&" if "?" in url else "?") + q
            start_response("302 Found", [("Location", loc), ("Content-Length", "0"),
                                         ("Cache-Control", "no-store")] + list(headers))
            return [b""]
        sf.sign_logout(root, kp)
        b64 = sf.to_base64(root).decode()
        rs = ""
        if relay is not None:
            rs = '<input type="hidden" name="RelayState" value="%s"/>' % html.escape(relay)
        body = ("<!DOCTYPE html><html><head><title>Continue</title></head>"
                '<body onload="document.forms[0].submit()">'
                '<form id="saml-post" method="post" action="%s">'
                '<input type="hidden" name="%s" value="%s"/>%s'
                '<input type="submit" value="Continue"/></form></body></html>'
                % (html.escape(url), param, b64, rs))
        return self.reply(start_response, "200 OK", body, headers=headers)

    def slo(self, environ, start_response, binding):
        from lxml import etree
        sf = self.forge()
        raw_query = environ.get("QUERY_STRING", "")
        if binding == BINDING_HTTP_REDIRECT:
            q = {k: v[0] for k, v in urllib.parse.parse_qs(raw_query).items()}
        else:
            q = self.form_fields(environ)
        param = "SAMLRequest" if "SAMLRequest" in q else "SAMLResponse"
        if param not in q:
            return self.reply(start_response, "400 Bad Request", "no SAML message\n", "text/plain")
        data = base64.b64decode(q[param])
        xml = zlib.decompress(data, -15) if binding == BINDING_HTTP_REDIRECT else data
        root = etree.fromstring(xml)
        issuer = root.findtext("{%s}Issuer" % sf.NS_SAML)
        if binding == BINDING_HTTP_REDIRECT:
            ok, why = self.verify_redirect_signature(raw_query, issuer, param)
        else:
            ok, why = self.verify_post_signature(xml, issuer), "enveloped"
        relay = q.get("RelayState")
        ev = {"binding": binding, "issuer": issuer, "id": root.get("ID"),
              "destination": root.get("Destination"), "signature_valid": ok,
              "signature_info": why, "relay_state": relay, "xml": xml.decode()}
        if param == "SAMLResponse":
            sc = root.find("{%s}Status/{%s}StatusCode" % (sf.NS_SAMLP, sf.NS_SAMLP))
            sc2 = sc.find("{%s}StatusCode" % sf.NS_SAMLP) if sc is not None else None
            ev.update(type="logout_response", in_response_to=root.get("InResponseTo"),
                      status=sc.get("Value") if sc is not None else None,
                      status2=sc2.get("Value") if sc2 is not None else None,
                      message=root.findtext("{%s}Status/{%s}StatusMessage"
                                            % (sf.NS_SAMLP, sf.NS_SAMLP)))
            self.event(**ev)
            return self.reply(start_response, "200 OK",
                              "<html><body><h1>IdP: logout finished</h1><p id=\"status\">%s %s"
                              "</p></body></html>" % (html.escape(ev["status"] or ""),
                                                      html.escape(ev["status2"] or "")))
        # pysaml2's own reading of the SP's LogoutRequest (schema classes,
        # Destination, IssueInstant), as a second opinion
        try:
            srv = self.server()
            parsed = srv.parse_logout_request(q[param], binding)
            ev["pysaml2_parsed"] = parsed is not None and parsed.message is not None
        except Exception as e:  # recorded, the test decides
            ev["pysaml2_parsed"] = False
            ev["pysaml2_error"] = "%s: %s" % (e.__class__.__name__, e)
        nid = root.find("{%s}NameID" % sf.NS_SAML)
        ev.update(type="logout_request", name_id=nid.text if nid is not None else None,
                  name_id_format=nid.get("Format") if nid is not None else None,
                  session_indexes=[e.text for e in root.findall("{%s}SessionIndex"
                                                                % sf.NS_SAMLP)])
        self.event(**ev)
        if not ok:
            return self.reply(start_response, "403 Forbidden",
                              "LogoutRequest signature: %s\n" % html.escape(str(why)), "text/plain")
        if nid is not None:
            self.end_idp_sessions(nid.text)
        dest = self.sp_slo(issuer, binding) or self.sp_slo(issuer, BINDING_HTTP_REDIRECT)
        if dest is None:
            return self.reply(start_response, "400 Bad Request", "SP has no SLO\n", "text/plain")
        clear = ("Set-Cookie", "%s=; Path=/; Max-Age=0" % SESSION_COOKIE)
        if self.modes.get("slo_pysaml2") and ev.get("pysaml2_parsed"):
            # the LogoutResponse made and bound by pysaml2 itself: another
            # IdP's way of writing and signing it
            srv = self.server()
            req_msg = srv.parse_logout_request(q[param], binding).message
            sign_post = binding == BINDING_HTTP_POST
            resp = srv.create_logout_response(req_msg, [binding], sign=sign_post,
                                              sign_alg=SIG_RSA_SHA256,
                                              digest_alg=DIGEST_SHA256)
            http = srv.apply_binding(binding, str(resp), dest[0], relay, response=True,
                                     sign=not sign_post, sigalg=SIG_RSA_SHA256)
            self.event(type="logout_response_sent", by="pysaml2", binding=binding)
            if binding == BINDING_HTTP_REDIRECT:
                loc = dict(http["headers"])["Location"]
                start_response("302 Found", [("Location", loc), ("Content-Length", "0"),
                                             clear])
                return [b""]
            return self.reply(start_response, "200 OK", http["data"], headers=[clear])
        resp = sf.build_logout_response(sf.utcnow(), issuer=self.entity_id,
                                        destination=dest[0], in_response_to=root.get("ID"))
        return self.send_slo(start_response, binding, dest[0], "SAMLResponse", resp, relay,
                             headers=[clear])

    def initiate_logout(self, environ, start_response):
        sf = self.forge()
        q = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        user = q.get("user", ["alice"])[0]
        srv = self.server()
        sp = q.get("sp", [None])[0] or next(iter(srv.metadata.keys()), None)
        binding = BINDING_HTTP_POST if q.get("binding", ["redirect"])[0] == "post" \
            else BINDING_HTTP_REDIRECT
        dest = self.sp_slo(sp, binding)
        if dest is None:
            return self.reply(start_response, "400 Bad Request", "SP has no SLO\n", "text/plain")
        self.end_idp_sessions(user)
        if self.modes.get("slo_pysaml2"):
            # the LogoutRequest made and bound by pysaml2 itself
            sign_post = binding == BINDING_HTTP_POST
            req_id, req = srv.create_logout_request(
                dest[1], self.entity_id,
                name_id=saml.NameID(format=NAMEID_FORMAT_UNSPECIFIED, text=user),
                session_indexes=q.get("session_index") or None, sign=sign_post,
                sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256)
            http = srv.apply_binding(binding, str(req), dest[1], q.get("relay", [None])[0],
                                     sign=not sign_post, sigalg=SIG_RSA_SHA256)
            self.event(type="logout_initiated", user=user, sp=sp, id=req_id,
                       binding=binding, by="pysaml2")
            if binding == BINDING_HTTP_REDIRECT:
                start_response("302 Found", [("Location", dict(http["headers"])["Location"]),
                                             ("Content-Length", "0")])
                return [b""]
            return self.reply(start_response, "200 OK", http["data"])
        req = sf.build_logout_request(sf.utcnow(), issuer=self.entity_id, destination=dest[1],
                                      name_id=user, name_id_format=NAMEID_FORMAT_UNSPECIFIED,
                                      session_indexes=q.get("session_index", []))
        self.event(type="logout_initiated", user=user, sp=sp, id=req.get("ID"),
                   binding=binding)
        return self.send_slo(start_response, binding, dest[1], "SAMLRequest", req,
                             q.get("relay", [None])[0])


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, fmt, *a):
        sys.stderr.write("idp: %s %s\n" % (self.address_string(), fmt % a))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--sp-metadata", help="SP metadata file (re-read on change)")
    ap.add_argument("--entity-id")
    ap.add_argument("--misbehave", action="store_true",
                    help="ignore RequestedAuthnContext (assert what the user did)")
    ap.add_argument("--entra", action="store_true",
                    help="Entra ID style: MFA in the authnmethodsreferences attribute")
    ap.add_argument("--want-signed-requests", action="store_true")
    ap.add_argument("--encrypt", action="store_true",
                    help="encrypt assertions (AES-256-GCM, RSA-OAEP) to the SP")
    ap.add_argument("--sign", choices=["assertion", "response", "both"], default="assertion")
    ap.add_argument("--slo", action="store_true",
                    help="publish a SingleLogoutService (Redirect and POST)")
    ap.add_argument("--slo-post-only", action="store_true",
                    help="publish a SingleLogoutService for HTTP-POST only")
    ap.add_argument("--pid-file")
    ap.add_argument("--max-seconds", type=float, default=3600)
    args = ap.parse_args(argv)

    # Bind first, so the entityID and endpoints carry the real port.
    httpd = make_server("127.0.0.1", args.port, None, server_class=ThreadingWSGIServer,
                        handler_class=QuietHandler)
    args.port = httpd.server_address[1]
    idp = IdP(args)
    httpd.set_app(idp)
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())

    def stop(*_a):
        threading.Thread(target=httpd.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    timer = threading.Timer(args.max_seconds, stop)
    timer.daemon = True
    timer.start()
    print("READY port=%d entityID=%s metadata=%s" % (
        args.port, idp.entity_id, os.path.join(idp.state_dir, "idp-metadata.xml")), flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        if args.pid_file:
            try:
                os.unlink(args.pid_file)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
