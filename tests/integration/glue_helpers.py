"""Helpers for the glue review tests (test_glue_*.py): IdPs forged with
tests/lib/samlforge.py (own keys and metadata, loaded by the SP next to the
real pysaml2 IdP), responses minted by them for an SP, and the request ID of
an AuthnRequest the SP sent.

The forged IdPs never run a server: their SSO URL is a closed loopback port
and the tests read the SP's redirect instead of following it.
"""

import os
import re
import urllib.parse

import samlforge as sf
from client import Browser, decode_redirect_request

PPT = sf.PPT
MFA = sf.MFA


class ForgedIdP:
    def __init__(self, directory, name):
        os.makedirs(directory, exist_ok=True)
        self.entity_id = "https://%s.forged.test/idp" % name
        self.sso_url = "http://127.0.0.1:9/%s/sso" % name
        self.kp = sf.make_rsa_keypair("%s.forged.test" % name)
        self.metadata_file = os.path.join(directory, "%s-metadata.xml" % name)
        with open(self.metadata_file, "wb") as f:
            f.write(sf.idp_metadata(self.entity_id, self.kp.cert_pem, self.sso_url))
        os.chmod(self.metadata_file, 0o644)

    def response(self, sp, in_response_to=None, classes=(PPT,), name_id="mallory@forged.test",
                 attributes=(), authn_instant=sf.DEFAULT, sign="response", **kw):
        """A signed Response for sp, base64 as posted."""
        acs = sp.url(sp.endpoint + "/acs")
        root = sf.build_response(
            issuer=self.entity_id, destination=acs, recipient=acs,
            audiences=(sp.entity_id,), in_response_to=in_response_to,
            name_id=name_id, attributes=attributes,
            authn_statements=[{"class_ref": c, "authn_instant": authn_instant}
                              for c in classes], **kw)
        sf.sign(root, sign, self.kp)
        return sf.to_base64(root)


def request_of(location):
    """(request ID, RelayState, destination) of an HTTP-Redirect AuthnRequest URL."""
    xml, q = decode_redirect_request(location)
    rid = re.search(r'\sID="([^"]+)"', xml).group(1)
    dest = urllib.parse.urlsplit(location)
    return rid, q.get("RelayState"), "%s://%s%s" % (dest.scheme, dest.netloc, dest.path)


def start_login(b, sp, path):
    """GET path without following; returns (response, request ID, RelayState, SSO URL)."""
    r = b.get(sp.url(path), follow=False)
    assert r.status_code == 302, (r.status_code, r.headers, r.text[:300])
    rid, relay, sso = request_of(r.headers["Location"])
    return r, rid, relay, sso


def post_acs(b, sp, saml_response, relay_state=None, follow=False):
    data = {"SAMLResponse": saml_response}
    if relay_state is not None:
        data["RelayState"] = relay_state
    return b.post(sp.url(sp.endpoint + "/acs"), data=data, follow=follow)


def forged_login(sp, idp, path="/private/", browser=None, **kw):
    """A browser with a session at sp opened by the forged idp (solicited:
    through PATH/login?idp=...&target=path)."""
    b = browser or Browser()
    q = urllib.parse.urlencode({"target": path, "idp": idp.entity_id})
    _r, rid, relay, sso = start_login(b, sp, sp.endpoint + "/login?" + q)
    assert sso == idp.sso_url, sso
    r = post_acs(b, sp, idp.response(sp, in_response_to=rid, **kw), relay)
    assert r.status_code == 303, (r.status_code, r.text[:300], sp.httpd.log_tail(5))
    return b


def log_since(sp, offset):
    return sp.httpd.log_text()[offset:]


def log_offset(sp):
    return len(sp.httpd.log_text())
