"""Issue 14: application-driven authentication against the real pysaml2 IdP:
lazy locations (AuthnContextUnauthenticatedAction pass), the parameters of
PATH/login (Shibboleth's names), passive attempts, and PATH/session."""

import json
import os
import urllib.parse

import pytest
from lxml import etree

from client import Browser, decode_redirect_request
from glue_helpers import ForgedIdP
from helpers import (MFA, NO_PASSIVE, PPT, browser_for, classes_of, error_redirect,
                     is_redirect_to, login, page_of)



SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
UNRANKED = "urn:example:unranked-class"

EXTRA = """
LogLevel warn authncontext:debug
AuthnContextIdPMetadataFile {forged_md}

# Lazy: reachable without a session; the variables when there is one.
<Location /lazy>
    AuthType SAML
    AuthnContextUnauthenticatedAction pass
    AuthnContextIdP {real}
    AuthnContextErrorURL /auth-error.cgi
    Require all granted
</Location>
# A lazy location whose Require needs a user: that Require starts the login.
<Location /lazy-user>
    AuthType SAML
    AuthnContextUnauthenticatedAction pass
    AuthnContextIdP {real}
    Require valid-user
</Location>
# A lazy location whose Require wants MFA, with step-up.
<Location /lazy-mfa>
    AuthType SAML
    AuthnContextUnauthenticatedAction pass
    AuthnContextIdP {real}
    AuthnContextRequest exact https://refeds.org/profile/mfa
    AuthnContextErrorURL /auth-error.cgi
    Require authnContextClassRef https://refeds.org/profile/mfa
</Location>
# Lazy, proxied, headers exported: spoofed incoming ones never reach it.
<Location /lazy-proxy>
    AuthType SAML
    AuthnContextUnauthenticatedAction pass
    AuthnContextExportHeaders On
    Require all granted
    ProxyPass http://127.0.0.1:{backend}/export
</Location>
# Pinned to the forged IdP: PATH/login?entityID= of the real one is refused.
<Location /forged-only>
    AuthType SAML
    AuthnContextIdP {forged}
    Require valid-user
</Location>
"""

LAZY_PAGES = ("lazy", "lazy-user", "lazy-mfa", "forged-only")


@pytest.fixture(scope="module")
def forged(workdir):
    return ForgedIdP(os.path.join(workdir, "app-forged"), "appforged")


@pytest.fixture(scope="module")
def app_sp(sp_factory, idp_server, forged, backend):
    extra = EXTRA.format(forged_md=forged.metadata_file, real=idp_server.entity_id,
                         forged=forged.entity_id, backend=backend.port)
    s = sp_factory("app", extra=extra)
    for page in LAZY_PAGES:
        s.httpd.write("htdocs/%s/index.html" % page,
                      "<html><body><h1>PAGE:%s</h1></body></html>\n" % page)
    return s


@pytest.fixture
def app(app_sp, idp):
    yield app_sp
    app_sp.check_log()


SPOOF = {"AUTHN_CONTEXT_CLASS": MFA, "Shib-Identity-Provider": "https://evil.test/idp",
         "Remote-User": "admin", "Authn-Context-Nameid": "admin"}


def env_of(r):
    assert r.status_code == 200, (r.status_code, r.text[:300])
    return json.loads(r.text)


# --- lazy sessions ---------------------------------------------------------------------

def test_lazy_page_without_session(app, idp):
    b = Browser()
    r = b.get(app.url("/lazy/"), follow=False)
    assert r.status_code == 200 and page_of(r) == "lazy", (r.status_code, r.headers)
    assert not idp.events("authn_request")
    # The anonymous page varies by cookie and is kept out of shared caches.
    assert "cookie" in r.headers.get("Vary", "").lower(), r.headers
    assert "private" in r.headers.get("Cache-Control", ""), r.headers
    env = env_of(b.get(app.url("/lazy/vars"), follow=False, headers=SPOOF))
    assert "REMOTE_USER" not in env, env
    assert not [k for k in env if k.upper().startswith(("AUTHN_CONTEXT", "SHIB", "HTTP_SHIB",
                                                        "HTTP_AUTHN", "HTTP_REMOTE"))], env


def test_lazy_page_with_session(app, idp):
    b = login(app, "bob", path="/lazy-user/")          # password session
    r = b.get(app.url("/lazy/"), follow=False)
    assert r.status_code == 200 and "cookie" in r.headers.get("Vary", "").lower(), r.headers
    assert "private" in r.headers.get("Cache-Control", ""), r.headers
    env = env_of(b.get(app.url("/lazy/vars"), follow=False, headers=SPOOF))
    assert env["REMOTE_USER"] == "bob", env
    assert env["AUTH_TYPE"] == "SAML", env
    assert classes_of(env) == [PPT], env                 # not the spoofed MFA
    assert env["Shib_Identity_Provider"] == idp.entity_id, env
    assert not [k for k in env if k.startswith(("HTTP_AUTHN", "HTTP_SHIB", "HTTP_REMOTE"))], env


def test_lazy_proxy_headers_without_and_with_session(app, idp, backend):
    b = Browser()
    r = b.get(app.url("/lazy-proxy/"), follow=False, headers=SPOOF)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    hdrs = {k.lower(): v for k, v in json.loads(r.text)["headers"]}
    assert not [k for k in hdrs if k.startswith(("authn", "shib", "remote"))], hdrs
    b = login(app, "alice", path="/lazy-user/")
    r = b.get(app.url("/lazy-proxy/"), follow=False, headers=SPOOF)
    hdrs = {k.lower(): v for k, v in json.loads(r.text)["headers"]}
    assert hdrs.get("remote_user") == "alice", hdrs
    assert hdrs.get("authn_context_class") == PPT, hdrs
    assert hdrs.get("shib-identity-provider") == idp.entity_id, hdrs


def test_lazy_require_valid_user_starts_login(app, idp):
    b = Browser()
    r = b.get(app.url("/lazy-user/"), follow=False)
    assert is_redirect_to(r, idp.base + "/sso/"), (r.status_code, r.headers)


def test_lazy_require_mfa_steps_up_a_password_session(app, idp):
    b = login(app, "bob", path="/lazy-user/")
    r = b.get(app.url("/lazy-mfa/"), follow=False)
    assert is_redirect_to(r, idp.base + "/sso/"), (r.status_code, r.headers)
    xml, _q = decode_redirect_request(r.headers["Location"])
    assert MFA in xml
    b.set_credentials("bob", "bob-pw", "123456")
    r = b.get(app.url("/lazy-mfa/"))
    assert r.status_code == 200 and page_of(r) == "lazy-mfa", (r.status_code, b.hops[-4:])
    env = env_of(b.get(app.url("/lazy/vars"), follow=False))
    assert classes_of(env) == [MFA], env
