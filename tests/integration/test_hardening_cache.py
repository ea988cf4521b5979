"""Caching of protected content (RFC 9111): a response to a request the
module authenticated carries `Cache-Control: private, no-cache` unless the
application set its own (never a second header), and the module's own
answers (login redirects, ACS, logout, error pages) carry `no-store`."""

import pytest

from client import Browser
from helpers import browser_for, page_of

PLAIN_CGI = """#!/usr/bin/python3
print("Content-Type: text/plain")
print()
print("PAGE:plain-cgi")
"""

OWN_CGI = """#!/usr/bin/python3
print("Content-Type: text/plain")
print("Cache-Control: max-age=60")
print()
print("PAGE:own-cgi")
"""

EXTRA = """
<Location /cc>
    AuthType SAML
    Require valid-user
</Location>
<LocationMatch "^/cc/[a-z]+\\.cgi$">
    SetHandler cgi-script
    Options +ExecCGI
</LocationMatch>
<Location /cc/proxy>
    ProxyPass http://127.0.0.1:@BACKEND_PORT@/cc
</Location>
"""


@pytest.fixture(scope="module")
def cc_sp(sp_factory, backend):
    sp = sp_factory("hardening-cache",
                    extra=EXTRA.replace("@BACKEND_PORT@", str(backend.port)))
    sp.httpd.write("htdocs/cc/index.html", "<html><body>PAGE:cc</body></html>\n")
    sp.httpd.write("htdocs/cc/plain.cgi", PLAIN_CGI, 0o755)
    sp.httpd.write("htdocs/cc/own.cgi", OWN_CGI, 0o755)
    return sp


def cache_control(r):
    """Every Cache-Control field line of the response, as sent."""
    return r.raw.headers.getlist("Cache-Control")


@pytest.fixture
def alice(cc_sp, idp):
    b = browser_for("alice")
    r = b.get(cc_sp.url("/cc/"))
    assert r.status_code == 200 and "PAGE:cc" in r.text, (r.status_code, b.hops)
    return b


@pytest.mark.parametrize("path", ["/cc/", "/cc/plain.cgi", "/cc/proxy"])
def test_protected_response_is_private_no_cache(cc_sp, alice, path):
    r = alice.get(cc_sp.url(path), follow=False)
    assert r.status_code == 200, (r.status_code, r.text[:200])
    assert cache_control(r) == ["private, no-cache"], r.headers


def test_application_cache_control_is_kept_not_duplicated(cc_sp, alice):
    r = alice.get(cc_sp.url("/cc/own.cgi"), follow=False)
    assert r.status_code == 200 and "PAGE:own-cgi" in r.text
    assert cache_control(r) == ["max-age=60"], r.headers
    # the variables script sets no-store itself
    r = alice.get(cc_sp.url("/cc/vars"), follow=False)
    assert r.status_code == 200
    assert cache_control(r) == ["no-store"], r.headers


def test_public_content_untouched(cc_sp, idp):
    r = Browser().get(cc_sp.url("/public/"), follow=False)
    assert r.status_code == 200 and page_of(r) == "public"
    assert cache_control(r) == [], r.headers


def test_revalidation_after_logout_goes_to_login(cc_sp, alice):
    """What no-cache buys: the browser must ask again, and after logout the
    answer is a login redirect, not the page."""
    r = alice.get(cc_sp.url("/cc/"), follow=False)
    assert r.status_code == 200
    lm = r.headers.get("Last-Modified")
    r = alice.get(cc_sp.url("/saml/logout?return=/public/"), follow=False)
    assert r.status_code == 302
    assert cache_control(r) == ["no-store"], r.headers
    hdrs = {"If-Modified-Since": lm} if lm else {}
    r = alice.get(cc_sp.url("/cc/"), follow=False, headers=hdrs)
    assert r.status_code == 302 and "SAMLRequest=" in r.headers["Location"]


def test_module_answers_are_no_store(cc_sp, idp):
    b = browser_for("alice")
    # login redirect from a protected location, and from the login endpoint
    r = b.get(cc_sp.url("/cc/"), follow=False)
    assert r.status_code == 302 and cache_control(r) == ["no-store"], r.headers
    r = b.get(cc_sp.url("/saml/login?target=/cc/"), follow=False)
    assert r.status_code == 302 and cache_control(r) == ["no-store"], r.headers
    # the ACS's success redirect (and the session cookie with it)
    r = b.follow(r, stop_at=lambda x: x.request.method == "POST" and
                 x.url.startswith(cc_sp.url("/saml/acs")))
    assert r.status_code == 303, (r.status_code, b.hops)
    assert cache_control(r) == ["no-store"], r.headers
    # ACS rejections and wrong methods, bad login targets
    r = Browser().post(cc_sp.url("/saml/acs"), data={"SAMLResponse": "garbage"},
                       follow=False)
    assert r.status_code == 400 and cache_control(r) == ["no-store"], r.headers
    r = Browser().get(cc_sp.url("/saml/acs"), follow=False)
    assert r.status_code == 405 and cache_control(r) == ["no-store"], r.headers
    r = Browser().get(cc_sp.url("/saml/login?target=https://evil.example/"), follow=False)
    assert r.status_code == 400 and cache_control(r) == ["no-store"], r.headers
    # AuthnContextUnauthenticatedAction 401
    r = Browser().get(cc_sp.url("/api/"), follow=False)
    assert r.status_code == 401 and cache_control(r) == ["no-store"], r.headers
    # logout without a session (and without a return target: the logout page)
    r = Browser().get(cc_sp.url("/saml/logout"), follow=False)
    assert r.status_code == 200 and cache_control(r) == ["no-store"], r.headers
    r = Browser().get(cc_sp.url("/saml/logout?return=/"), follow=False)
    assert r.status_code == 302 and cache_control(r) == ["no-store"], r.headers
