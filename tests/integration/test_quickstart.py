"""Issue 12: the README's quick start works when copied. The virtual host
block is read from README.md (the code block after the `quickstart-vhost`
marker), only its machine-specific names are replaced (host, port, file
paths), and a private httpd with mod_ssl runs it: configtest passes without
warnings, a user signs in through the real IdP over HTTPS, /admin steps up
to MFA, and the error script answers without a session."""

import os
import re
import shutil

import pytest
import requests
import urllib3

import servers
from client import Browser

README = os.path.join(servers.REPO, "README.md")
MFA = "https://refeds.org/profile/mfa"

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


def quickstart_vhost():
    text = open(README).read()
    i = text.index("<!-- quickstart-vhost")
    m = re.compile(r"```apache\n(.*?)```", re.S).search(text, i)
    assert m, "no apache block after the quickstart-vhost marker"
    # The block is indented inside a numbered list.
    return "\n".join(l[3:] if l.startswith("   ") else l for l in m.group(1).split("\n"))


@pytest.fixture
def quickstart(idp, sp_md_dir, workdir):
    h = servers.Httpd("quickstart")
    saml = h.path("saml")
    os.makedirs(saml)
    key, crt = servers.make_keypair(saml, "sp", "www.example.org")
    shutil.copy(idp.metadata_file, os.path.join(saml, "idp-metadata.xml"))
    os.makedirs(h.path("tls"))
    tls_key, tls_crt = servers.make_keypair(h.path("tls"), "tls", "127.0.0.1")
    h.write("cgi-bin/authncontext-error.cgi",
            open(os.path.join(servers.REPO, "conf-examples", "auth-error.cgi")).read(), 0o755)
    h.write("htdocs/index.html", "<html><body><h1>PAGE:home</h1></body></html>\n")
    h.write("htdocs/admin/index.html", "<html><body><h1>PAGE:admin</h1></body></html>\n")
    base = "https://127.0.0.1:%d" % h.port
    block = quickstart_vhost()
    for old, new in (("*:443", "127.0.0.1:%d" % h.port),
                     ("https://www.example.org:443", base),
                     ("/etc/apache2/saml/sp-key.pem", key),
                     ("/etc/apache2/saml/sp-cert.pem", crt),
                     ("/etc/apache2/saml/", saml + "/"),
                     ("/etc/ssl/certs/ssl-cert-snakeoil.pem", tls_crt),
                     ("/etc/ssl/private/ssl-cert-snakeoil.key", tls_key),
                     ("/usr/lib/cgi-bin/", h.path("cgi-bin") + "/")):
        assert old in block, "the README's quick start no longer has %r" % old
        block = block.replace(old, new)
    h.write("conf/README-vhost.conf", block)
    modules = servers.BASE_MODULES + ["ssl"]
    conf = servers.httpd_conf(h.root, h.port, "Include %s\n" % h.path("conf", "README-vhost.conf"),
                              modules=modules)
    h.write("conf/httpd.conf", conf)
    h.fix_permissions()
    t = h.apache("-t")
    assert t.returncode == 0 and "Syntax OK" in t.stdout, t.stdout
    assert "AH01574" not in t.stdout and "warn" not in t.stdout.lower(), t.stdout
    h.start(conf)
    md = requests.get(base + "/saml/metadata", verify=False, timeout=10)
    assert md.status_code == 200, md.status_code
    with open(os.path.join(sp_md_dir, "quickstart.xml"), "wb") as f:
        f.write(md.content)
    h.base = base
    yield h
    h.stop()
    bad = h.bad_log_lines(0)
    assert not bad, bad


def test_readme_quickstart_signs_in_and_steps_up(quickstart, idp):
    base = quickstart.base
    b = Browser("bob", "bob-pw")    # no one-time code: a password session
    b.s.verify = False
    b.s.trust_env = False   # else REQUESTS_CA_BUNDLE overrides verify
    r = b.get(base + "/")
    assert r.status_code == 200 and "PAGE:home" in r.text, b.hops
    assert b.login_forms == 1
    # /admin needs MFA: the password session is stepped up, asking for MFA.
    b.set_credentials("bob", "bob-pw", "123456")
    r = b.get(base + "/admin/")
    assert r.status_code == 200 and "PAGE:admin" in r.text, b.hops
    assert b.login_forms == 2
    reqs = idp.events("authn_request")
    assert len(reqs) == 2 and reqs[0]["classes"] == [] and reqs[1]["classes"] == [MFA], reqs


def test_readme_quickstart_password_user_gets_error_page(quickstart, idp):
    base = quickstart.base
    b = Browser("carol", "carol-pw")
    b.s.verify = False
    b.s.trust_env = False   # else REQUESTS_CA_BUNDLE overrides verify
    r = b.get(base + "/admin/")
    # carol has no second factor: the IdP answers NoAuthnContext and the
    # browser lands on the installed error script, reachable without a
    # session, which explains it (and answers 403 itself).
    assert "/authncontext-error.cgi?" in b.hops[-1][1], b.hops
    assert r.status_code == 403 and "needs multi-factor authentication" in r.text, r.text[:500]
    r = requests.get(base + "/authncontext-error.cgi", verify=False, allow_redirects=False,
                     timeout=10)
    assert r.status_code == 200 and "Sign-in problem" in r.text, r.status_code
