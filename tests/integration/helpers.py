"""Small helpers shared by the integration tests."""

import json
import re
import urllib.parse

from client import Browser

PPT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
MFA = "https://refeds.org/profile/mfa"
ENTRA_PASSWORD = "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password"
ENTRA_MFA = "http://schemas.microsoft.com/claims/multipleauthn"
NO_AUTHN_CONTEXT = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext"
NO_PASSIVE = "urn:oasis:names:tc:SAML:2.0:status:NoPassive"
RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"

PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}


def browser_for(user, otp=None):
    return Browser(user, PASSWORDS[user], otp)


def page_of(r):
    m = re.search(r"PAGE:([a-z0-9/-]+)", r.text)
    return m.group(1) if m else None


def login(sp, user, otp=None, path="/private/"):
    """A browser with a session at sp (logged in through the IdP)."""
    b = browser_for(user, otp)
    r = b.get(sp.url(path))
    assert r.status_code == 200, (r.status_code, r.text[:500], b.hops)
    return b


def variables(b, sp, path="/private/vars"):
    r = b.get(sp.url(path))
    assert r.status_code == 200, (r.status_code, r.text[:500], b.hops)
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    return json.loads(r.text)


def classes_of(env):
    return env.get("AUTHN_CONTEXT_CLASS", "").split()


def idp_hops(b, idp, start=0):
    """Requests the browser made to the IdP since hop index `start`."""
    return [h for h in b.hops[start:] if h[1].startswith(idp.base)]


def is_redirect_to(r, prefix):
    return r.status_code in (302, 303, 307) and r.headers.get("Location", "").startswith(prefix)


def error_redirect(b, start_url, sp, error_path="/auth-error.cgi"):
    """Follow from start_url until the SP redirects to its error URL; return
    (the redirect response, its query as a dict)."""
    target = sp.url(error_path)

    def at_error(r):
        loc = r.headers.get("Location", "")
        if r.status_code in (301, 302, 303, 307):
            full = urllib.parse.urljoin(r.url, loc)
            return full.startswith(target) or full.startswith(error_path)
        return False

    r = b.request("GET", start_url)
    r = b.follow(r, stop_at=at_error)
    assert at_error(r), ("no redirect to the error URL", r.status_code, r.url,
                         r.text[:300], b.hops)
    loc = urllib.parse.urljoin(r.url, r.headers["Location"])
    q = {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query).items()}
    return r, q, loc


def set_cookie_headers(r):
    raw = getattr(r.raw, "headers", None)
    if raw is not None and hasattr(raw, "getlist"):
        return raw.getlist("Set-Cookie")
    v = r.headers.get("Set-Cookie")
    return [v] if v else []
