"""Issue 12: the pages a person sees. Each is reached through a real flow
(the pysaml2 IdP, a live httpd), says in plain words what happened and what
to do, carries a reference that the error log line of the same event also
carries, and escapes what an attacker controls. An admin's templates
replace them (and a bad one fails configtest); a server ErrorDocument wins.

test_pages_in_chromium then shows each page in headless Chromium, saves a
screenshot under build/test-output/pages/ (CI keeps that directory) and runs
axe-core's accessibility rules on it: no violation is allowed."""

import json
import os
import re
import shutil
import subprocess

import pytest
import requests

import servers
from client import Browser

MFA = "https://refeds.org/profile/mfa"
OUT = os.environ.get("ANC_TEST_OUTPUT") or os.path.join(servers.REPO, "build", "test-output")
AXE = os.environ.get("ANC_AXE_JS") or os.path.join(servers.REPO, "build", "a11y", "node_modules",
                                                    "axe-core", "axe.min.js")

PAGES = {}   # name -> HTML, filled by the flow tests for the browser test


def ref_of(html):
    m = re.search(r"Quote this reference when you ask for help: <strong>([0-9a-f]{8})</strong>",
                  html)
    assert m, html[:2000]
    return m.group(1)


def test_forbidden_page_explains_and_offers_stronger_sign_in(sp, idp):
    b = Browser("alice", "alice-pw")
    r = b.get(sp.url("/mfa/"))
    assert r.status_code == 403, b.hops
    t = r.text
    assert "<title>This page needs a stronger sign-in</title>" in t
    assert "multi-factor authentication (REFEDS MFA)" in t       # what it needs, readable
    assert "You signed in with: password" in t                     # what the user has
    m = re.search(r'href="([^"]*)">Sign in again with a stronger method', t)
    assert m, t
    link = m.group(1).replace("&amp;", "&")
    assert link.startswith("/saml/login?target=%2Fmfa%2F&authnContextClassRef="), link
    assert "refeds.org%2Fprofile%2Fmfa" in link and "authnContextComparison=exact" in link
    assert 'href="/saml/logout?return=/"' in t
    ref = ref_of(t)
    assert re.search(r"authz: denied reason=insufficient-context ref=%s user=alice" % ref,
                     sp.httpd.log_text()), "the log line does not carry the page's reference"
    assert r.headers.get("Cache-Control") == "no-store"
    PAGES["forbidden"] = t
    # The link asks the IdP for MFA (the login endpoint's parameters).
    b.set_credentials("alice", "alice-pw")
    r = b.get(sp.url(link))
    assert idp.events("authn_request")[-1]["classes"] == [MFA]


def test_error_page_for_idp_status_no_authn_context(sp, idp):
    b = Browser("carol", "carol-pw")
    r = b.get(sp.url("/admin-builtin/"))
    assert r.status_code == 403, b.hops
    t = r.text
    assert "This page needs a stronger sign-in" in t and "second factor" in t
    assert "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext" in t    # folded details
    assert "<details>" in t
    assert 'href="/saml/login?target=%2Fadmin-builtin%2F">Sign in again' in t
    ref = ref_of(t)
    assert re.search(r"acs: IdP error ref=%s request=_\w+ in_response_to=_\w+ idp=" % ref,
                     sp.httpd.log_text())
    PAGES["error-idp-status"] = t


def test_error_page_for_refused_answer_escapes_relay_state(sp, idp):
    r = requests.post(sp.url("/saml/acs"), data={"SAMLResponse": "bm90IHhtbA==",
                                                   "RelayState": "<script>x</script>"},
                      allow_redirects=False, timeout=10)
    assert r.status_code == 400
    t = r.text
    assert "Sign-in could not be completed" in t and "<script>x" not in t
    ref = ref_of(t)
    assert re.search(r"acs: rejected reason=\S+ ref=%s " % ref, sp.httpd.log_text())
    PAGES["error-invalid-response"] = t


def test_logout_page_without_return(sp, idp):
    b = Browser("alice", "alice-pw")
    assert b.get(sp.url("/private/")).status_code == 200
    r = b.get(sp.url("/saml/logout"), follow=False)
    assert r.status_code == 200 and "You are signed out of this site." in r.text
    assert "identity provider" in r.text          # says the IdP session may remain
    assert b.get(sp.url("/private/"), follow=False).status_code == 302
    PAGES["logout"] = r.text


def test_notice_page_for_wrong_method(sp):
    r = requests.get(sp.url("/saml/acs"), allow_redirects=False, timeout=10)
    assert r.status_code == 405 and "<main>" in r.text
    PAGES["notice"] = r.text


def test_unavailable_page_when_store_is_down(sp_factory, workdir):
    red = servers.Redis(os.path.join(workdir, "pages-redis")).start()
    try:
        rsp = sp_factory("pages-redis", cache="redis:127.0.0.1:%d" % red.port)
        b = Browser("alice", "alice-pw")
        assert b.get(rsp.url("/private/")).status_code == 200
        red.stop()
        r = b.get(rsp.url("/private/"), follow=False)
        assert r.status_code == 503
        assert "This is a problem on our side" in r.text and "cache-unavailable" in r.text
        PAGES["unavailable"] = r.text
    finally:
        red.stop()


def test_admin_templates_replace_pages_and_bad_ones_fail_configtest(sp_factory, idp, workdir):
    d = os.path.join(workdir, "pages-tpl")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "forbidden.html"), "w") as f:
        f.write("<p>SITE-FORBIDDEN needs={{needs}} ref={{ref}}</p>\n")
    os.chmod(d, 0o755)
    tsp = sp_factory("pages-tpl", extra="AuthnContextTemplateDir %s\n"
                     'AuthnContextClassName %s "the SITE token"\n' % (d, MFA))
    b = Browser("alice", "alice-pw")
    r = b.get(tsp.url("/mfa/"))
    assert r.status_code == 403
    assert "SITE-FORBIDDEN needs=the SITE token ref=" in r.text, r.text
    assert "<main>" in r.text                 # still inside the built-in layout
    # A template with an unknown name is refused at configtest, naming it.
    with open(os.path.join(d, "error.html"), "w") as f:
        f.write("<p>{{statusMesage}}</p>")
    h = tsp.httpd
    out = h.configtest()
    assert out.returncode != 0 and "statusMesage" in out.stdout and "error.html" in out.stdout
    os.unlink(os.path.join(d, "error.html"))


def test_server_error_document_wins(sp_factory, idp):
    esp = sp_factory("pages-errdoc", extra='ErrorDocument 403 "SITE-OWN-403"\n')
    b = Browser("alice", "alice-pw")
    r = b.get(esp.url("/mfa/"))
    assert r.status_code == 403 and "SITE-OWN-403" in r.text, (r.status_code, r.text[:300])


@pytest.fixture(scope="module")
def axe_js():
    if not os.path.exists(AXE):
        r = subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund",
                            "--prefix", os.path.dirname(os.path.dirname(os.path.dirname(AXE))),
                            "axe-core@4"], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
    return open(AXE).read()


@pytest.mark.browser
def test_pages_in_chromium(axe_js, tmp_path):
    from test_browser import _new_driver
    assert len(PAGES) >= 6, "the page flow tests must run first: %s" % sorted(PAGES)
    outdir = os.path.join(OUT, "pages")
    os.makedirs(outdir, exist_ok=True)
    profiles = []
    d = _new_driver(profiles)
    problems = {}
    try:
        d.set_window_size(1000, 900)
        for name, html in sorted(PAGES.items()):
            path = tmp_path / (name + ".html")
            path.write_text(html)
            d.get("file://" + str(path))
            d.save_screenshot(os.path.join(outdir, name + ".png"))
            d.execute_script(axe_js)
            res = d.execute_async_script(
                "var done = arguments[arguments.length - 1];"
                "axe.run(document, {resultTypes: ['violations']})"
                ".then(function (r) { done(JSON.stringify(r.violations)); })"
                ".catch(function (e) { done(JSON.stringify([{id: 'axe-error', help: String(e)}])); });")
            violations = json.loads(res)
            if violations:
                problems[name] = [(v["id"], v.get("impact"), v.get("help")) for v in violations]
    finally:
        d.quit()
        for p in profiles:
            shutil.rmtree(p, ignore_errors=True)
    assert not problems, problems
    assert set(os.listdir(outdir)) >= set(n + ".png" for n in PAGES)
