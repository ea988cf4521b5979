"""Issue 12: configtest catches the traps admins actually hit. Each case is
a whole configuration a private `apache2 -t` reads; each fails (or warns)
with a message that names the cause, and each fails on a module without
httpd_configcheck.c (it passed configtest and broke at run time)."""

import os
import shutil
import subprocess

import pytest

import servers
from test_configtest import assert_accepted, assert_rejected, configtest, sp_identity

MFA = "https://refeds.org/profile/mfa"

# A stand-in for mod_shib: a module that registers the Shibboleth SP's
# authorization provider names after ours (as Debian's alphabetical
# mods-enabled/*.load order does with shib.load). Built here with gcc.
RIVAL_C = r"""
#include "httpd.h"
#include "http_config.h"
#include "http_request.h"
#include "mod_auth.h"
#include "ap_provider.h"
static authz_status check(request_rec *r, const char *l, const void *p) { return AUTHZ_DENIED; }
static const authz_provider prov = {check, NULL};
static void reg(apr_pool_t *p) {
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "authnContextClassRef",
                              AUTHZ_PROVIDER_VERSION, &prov, AP_AUTH_INTERNAL_PER_CONF);
}
module AP_MODULE_DECLARE_DATA rival_module = {STANDARD20_MODULE_STUFF, NULL, NULL, NULL,
                                              NULL, NULL, reg};
"""


@pytest.fixture(scope="module")
def traps(idp_server, sp_keys):
    h = servers.Httpd("configtraps")
    shutil.copy(idp_server.metadata_file, h.path("conf", "idp-metadata.xml"))
    src = h.path("rival.c")
    with open(src, "w") as f:
        f.write(RIVAL_C)
    inc = subprocess.run(["apxs", "-q", "INCLUDEDIR"], capture_output=True, text=True).stdout.strip()
    apr = subprocess.run(["pkg-config", "--cflags", "apr-1", "apr-util-1"], capture_output=True,
                         text=True).stdout.split()
    so = h.path("mod_rival.so")
    subprocess.run(["gcc", "-shared", "-fPIC", "-I" + inc] + apr + ["-o", so, src], check=True)
    yield h, sp_keys, so
    h.cleanup()


def body(h, keys, text):
    return sp_identity(h, keys) + "\n" + text


def test_rival_provider_under_saml_fails_configtest(traps):
    h, keys, so = traps
    r = configtest(h, body(h, keys, """
LoadModule rival_module %s
<Location /admin>
    AuthType SAML
    Require authnContextClassRef %s
</Location>
""" % (so, MFA)))
    assert_rejected(r)
    assert "handled by another module" in r.stdout and "authncontext-class" in r.stdout, r.stdout


def test_own_provider_names_work_beside_the_rival(traps):
    h, keys, so = traps
    r = configtest(h, body(h, keys, """
LoadModule rival_module %s
<Location /admin>
    AuthType SAML
    Require authncontext-class %s
    Require authncontext-maxage 3600
</Location>
""" % (so, MFA)))
    assert_accepted(r)


def test_require_without_authtype_saml_fails_configtest(traps):
    h, keys, _ = traps
    r = configtest(h, body(h, keys, """
<Location /admin>
    Require authnContextClassRef %s
</Location>
""" % MFA))
    assert_rejected(r)
    assert "no AuthType SAML applies" in r.stdout, r.stdout


def test_require_under_authtype_saml_of_an_enclosing_location_is_accepted(traps):
    h, keys, _ = traps
    r = configtest(h, body(h, keys, """
<Location />
    AuthType SAML
    Require valid-user
</Location>
<Location /admin>
    <RequireAll>
        Require valid-user
        Require authnContextClassRef %s
    </RequireAll>
</Location>
""" % MFA))
    assert_accepted(r)


def test_require_under_another_authtype_warns(traps):
    h, keys, _ = traps
    r = configtest(h, body(h, keys, """
<Location /admin>
    AuthType Basic
    AuthName x
    Require authnContextMaxAge 300
</Location>
"""))
    assert_accepted(r)
    assert "needs AuthType SAML" in r.stdout and "never grants" in r.stdout, r.stdout


def test_error_url_host_must_be_own_or_listed(traps):
    h, keys, _ = traps
    vhost = """
<VirtualHost 127.0.0.1:%d>
    ServerName https://sp.example.org
    ServerAlias www.sp.example.org
    <Location /x>
        AuthType SAML
        AuthnContextErrorURL %s
        Require valid-user
    </Location>
</VirtualHost>
"""
    for url in ("https://sp.example.org/err", "https://www.sp.example.org/err"):
        assert_accepted(configtest(h, body(h, keys, vhost % (h.port, url))))
    r = configtest(h, body(h, keys, vhost % (h.port, "https://evil.example.net/err")))
    assert_rejected(r)
    assert "AuthnContextErrorHosts evil.example.net" in r.stdout, r.stdout
    r = configtest(h, body(h, keys, "AuthnContextErrorHosts evil.example.net\n" +
                          vhost % (h.port, "https://evil.example.net/err")))
    assert_accepted(r)


def test_secure_cookie_on_plain_http_vhost_warns(traps):
    h, keys, _ = traps
    r = configtest(h, body(h, keys, """
<VirtualHost 127.0.0.1:%d>
    ServerName http://plain.example.org
    <Location />
        AuthType SAML
        Require valid-user
    </Location>
</VirtualHost>
""" % h.port))
    assert_accepted(r)
    assert "is plain http but AuthnContextCookieSecure is On" in r.stdout, r.stdout


def test_run_time_require_without_authtype_names_the_cause(sp_factory, idp):
    """Where configtest cannot see it (here: .htaccess), the error log says
    why httpd answered 500."""
    sp = sp_factory("noauthtype", extra="""
<Directory @ROOT@/htdocs/public>
    AllowOverride AuthConfig
</Directory>
""".replace("@ROOT@", "ROOTPLACEHOLDER"))
    sp.stop()
    sp.httpd.write("htdocs/public/.htaccess", "Require authnContextClassRef %s\n" % MFA)
    conf = open(sp.httpd.conf).read().replace("ROOTPLACEHOLDER", sp.httpd.root)
    sp.httpd.start(conf)
    import requests
    r = requests.get(sp.url("/public/"), allow_redirects=False, timeout=10)
    assert r.status_code == 500
    log = sp.httpd.log_text()
    assert "without AuthType SAML" in log and "reason=config-invalid" in log, log[-2000:]


def test_secure_cookie_over_plain_http_login_names_the_cause(sp_factory, idp):
    """Secure cookies on plain http: the login fails as before, but the log
    line says why (the binding cookie never came back over http)."""
    from helpers import PASSWORDS  # noqa: F401 (the IdP's test users)
    from client import Browser
    sp = sp_factory("plaincookie", extra="AuthnContextCookieSecure On\n")
    b = Browser("alice", "alice-pw")
    r = b.get(sp.url("/private/"))
    assert r.status_code in (400, 403), (r.status_code, b.hops)
    log = sp.httpd.log_text()
    assert "in-response-to-unknown" in log and "came over plain http" in log, log[-3000:]
