"""IdP discovery (issue 15) with three real pysaml2 IdPs in one metadata
file: the built-in chooser (listing, language, choosing each IdP, the
remembered choice), per-location IdP sets (several entityIDs, an entity
attribute), forged choices refused with a reason, the external discovery
service round trip (a small DS on loopback), /saml/discofeed (content,
ETag, 304), SP metadata's DiscoveryResponse, and a step-up that goes to the
session's IdP with no chooser. One headless Chromium walk saves a
screenshot of the chooser (build/test-output/pages/chooser.png) and runs
axe-core on it."""

import html
import http.server
import json
import os
import re
import shutil
import threading
import urllib.parse

import pytest
from lxml import etree

from conftest import SP
from client import Browser
from helpers import MFA, PASSWORDS, classes_of, page_of, variables
import servers

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(os.environ.get("ANC_BUILD_DIR", os.path.join(REPO, "build")), "test-output")

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
MDUI = "urn:oasis:names:tc:SAML:metadata:ui"
MDATTR = "urn:oasis:names:tc:SAML:metadata:attribute"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
IDPDISC = "urn:oasis:names:tc:SAML:profiles:SSO:idp-discovery-protocol"
MFA_SUPPORT = "http://macedir.org/entity-category-support"

A = "https://idp-a.example.org/idp"
B = "https://idp-b.example.org/idp"
C = "https://idp-c.example.org/idp"
# a 1x1 PNG: logos are shown inline, nothing leaves loopback
LOGO = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlE"
        "QVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
UI = {
    A: {"en": "Alpha University", "de": "Alpha-Universit\u00e4t", "mfa": True,
        "desc": "Staff & students of Alpha <Uni>"},
    B: {"en": "Beta College", "de": "Beta-Hochschule", "mfa": False, "desc": None},
    C: {"en": "Gamma Institute", "de": None, "mfa": True, "desc": None},
}


class _MetadataOnly:
    """What conftest.SP reads of an IdP: its metadata file."""

    def __init__(self, path):
        self.metadata_file = path


def _decorate(ed, entity_id):
    ui = UI[entity_id]
    role = ed.find("{%s}IDPSSODescriptor" % MD)
    if ui["mfa"]:
        ext = ed.find("{%s}Extensions" % MD)
        if ext is None:
            ext = etree.Element("{%s}Extensions" % MD)
            ed.insert(0, ext)
        ea = etree.SubElement(ext, "{%s}EntityAttributes" % MDATTR)
        at = etree.SubElement(ea, "{%s}Attribute" % SAML, Name=MFA_SUPPORT,
                              NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri")
        etree.SubElement(at, "{%s}AttributeValue" % SAML).text = MFA
    rext = role.find("{%s}Extensions" % MD)
    if rext is None:
        rext = etree.Element("{%s}Extensions" % MD)
        role.insert(0, rext)
    uii = etree.SubElement(rext, "{%s}UIInfo" % MDUI)
    for lang in ("en", "de"):
        if ui[lang]:
            dn = etree.SubElement(uii, "{%s}DisplayName" % MDUI)
            dn.set("{http://www.w3.org/XML/1998/namespace}lang", lang)
            dn.text = ui[lang]
    if ui["desc"]:
        d = etree.SubElement(uii, "{%s}Description" % MDUI)
        d.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        d.text = ui["desc"]
    lg = etree.SubElement(uii, "{%s}Logo" % MDUI, height="16", width="16")
    lg.text = LOGO
    iu = etree.SubElement(uii, "{%s}InformationURL" % MDUI)
    iu.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    iu.text = entity_id + "/info"


class DiscoveryService:
    """A tiny OASIS IdP discovery service on loopback: remembers the
    requests it got and answers with self.answer (an entityID, "" for no
    choice)."""

    def __init__(self):
        self.requests = []
        self.answer = C
        ds = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                ds.requests.append({k: v[0] for k, v in q.items()})
                ret = q["return"][0]
                param = q.get("returnIDParam", ["entityID"])[0]
                if ds.answer:
                    ret += ("&" if "?" in ret else "?") + urllib.parse.urlencode(
                        {param: ds.answer})
                self.send_response(302)
                self.send_header("Location", ret)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d/ds" % self.port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def idps(workdir, sp_md_dir):
    started = []
    try:
        for name, eid in (("a", A), ("b", B), ("c", C)):
            s = servers.IdPServer(os.path.join(workdir, "disco-idp-" + name), sp_md_dir,
                                  extra_args=["--entity-id", eid], max_seconds=1800)
            s.start()
            started.append(s)
        yield {s.entity_id: s for s in started}
    finally:
        for s in started:
            s.stop()


@pytest.fixture(scope="module")
def ds():
    d = DiscoveryService()
    yield d
    d.stop()


@pytest.fixture(scope="module")
def dsp(idps, ds, workdir, sp_keys, sp_md_dir, backend):
    """The SP: all three IdPs in one metadata file, no AuthnContextIdP at
    server level, and locations with IdP sets and a discovery service."""
    root = etree.Element("{%s}EntitiesDescriptor" % MD, nsmap={"md": MD, "mdui": MDUI})
    for eid, s in sorted(idps.items()):
        ed = etree.parse(s.metadata_file).getroot()
        if ed.tag == "{%s}EntitiesDescriptor" % MD:
            ed = ed.find("{%s}EntityDescriptor" % MD)
        _decorate(ed, eid)
        root.append(ed)
    path = os.path.join(workdir, "disco-idps.xml")
    with open(path, "wb") as f:
        f.write(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    extra = """
<Location /two>
    AuthType SAML
    AuthnContextIdP %(A)s %(C)s
    Require valid-user
</Location>
<Location /only-b>
    AuthType SAML
    AuthnContextIdP %(B)s
    Require valid-user
</Location>
<Location /mfa-idps>
    AuthType SAML
    AuthnContextIdP entityAttribute=%(MS)s=%(MFA)s
    Require valid-user
</Location>
<Location /lazy-d>
    AuthType SAML
    AuthnContextUnauthenticatedAction pass
</Location>
<Location /ds>
    AuthType SAML
    AuthnContextDiscoveryURL %(DS)s
    Require valid-user
</Location>
""" % {"A": A, "B": B, "C": C, "MS": MFA_SUPPORT, "MFA": MFA, "DS": ds.url}
    sp = SP("disco", _MetadataOnly(path), sp_keys, sp_md_dir, extra=extra,
            backend_port=backend.port)
    for page in ("two", "only-b", "mfa-idps", "ds", "lazy-d"):
        sp.httpd.write("htdocs/%s/index.html" % page,
                       "<html><body><h1>PAGE:%s</h1></body></html>\n" % page)
    try:
        sp.start()
    except servers.ServerError as e:
        sp.httpd.cleanup()
        pytest.fail(str(e))
    yield sp
    sp.stop()
    sp.httpd.cleanup()


@pytest.fixture
def fresh(idps):
    for s in idps.values():
        s.reset()
    return idps


def links(r):
    """[(entityID, display name, lang)] of the chooser's IdP list."""
    out = []
    for m in re.finditer(r'<li><a class="idp" href="([^"]*)"( lang="([^"]*)")?>(.*?)</a>',
                         r.text, re.S):
        href = html.unescape(m.group(1))
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(href).query)
        name = re.search(r"<span>(.*?)</span>", m.group(4), re.S).group(1)
        out.append((q["entityID"][0], html.unescape(name), m.group(3), href))
    return out


def chooser(b, sp, path="/private/", **kw):
    r = b.get(sp.url(path), login=False, **kw)
    assert r.status_code == 200 and "Choose your organisation" in r.text, \
        (r.status_code, r.text[:400], b.hops[-4:])
    return r


def test_chooser_lists_every_idp_in_the_readers_language(dsp, fresh):
    b = Browser()
    r = b.get(dsp.url("/private/"), follow=False)
    assert r.status_code == 302
    assert r.headers["Location"] == dsp.url("/saml/login?target=%2Fprivate%2F")
    r = chooser(b, dsp)
    got = links(r)
    assert [(e, n, lang) for e, n, lang, _ in got] == [
        (A, "Alpha University", "en"), (B, "Beta College", "en"), (C, "Gamma Institute", "en")]
    # escaped description, a logo with alt text, a labelled search box
    assert "Staff &amp; students of Alpha &lt;Uni&gt;" in r.text
    assert 'alt="Logo of Alpha University"' in r.text and LOGO in r.text
    assert '<label for="anc-q">' in r.text and 'id="anc-q"' in r.text
    assert r.headers.get("Cache-Control") == "no-store"
    # not to be framed by another site (clickjacking)
    assert r.headers.get("X-Frame-Options") == "DENY", r.headers
    assert r.headers.get("Content-Security-Policy") == "frame-ancestors 'none'"
    # German where the IdP has it, English otherwise
    b.s.headers["Accept-Language"] = "de-DE,de;q=0.9,en;q=0.5"
    r = chooser(b, dsp)
    assert [(n, lang) for _, n, lang, _ in links(r)] == [
        ("Alpha-Universit\u00e4t", "de"), ("Beta-Hochschule", "de"), ("Gamma Institute", "en")]


def test_chooser_search_is_answered_by_the_server(dsp, fresh):
    b = Browser()
    r = b.get(dsp.url("/saml/login?target=%2Fprivate%2F&q=COLL"), login=False)
    assert r.status_code == 200
    assert [e for e, _, _, _ in links(r)] == [B]
    assert "1 organisation matches" in r.text
    # the form keeps the login's parameters as hidden fields
    assert '<input type="hidden" name="target" value="/private/">' in r.text
    r = b.get(dsp.url("/saml/login?target=%2Fprivate%2F&q=nothing-like-it"), login=False)
    assert links(r) == [] and "No organisation matches" in r.text
    r = b.get(dsp.url("/saml/login?target=%2Fprivate%2F&q=" + "x" * 300), login=False)
    assert r.status_code == 400


@pytest.mark.parametrize("eid", [A, B, C])
def test_choosing_each_idp_signs_in_there(dsp, fresh, eid):
    b = Browser("alice", PASSWORDS["alice"])
    r = chooser(b, dsp)
    href = [h for e, _, _, h in links(r) if e == eid][0]
    n = len(b.hops)
    r = b.get(dsp.url(href))
    assert r.status_code == 200 and page_of(r) == "private", (r.status_code, b.hops[n:])
    sso = [h for h in b.hops[n:] if h[3] and "/sso/redirect?" in h[3]]
    assert sso and sso[0][3].startswith(fresh[eid].base + "/sso/redirect?"), b.hops[n:]
    env = variables(b, dsp)
    assert env["AUTHN_CONTEXT_IDP"] == eid
    # the choice is remembered (a cookie, Path=/, SameSite=Lax)
    assert urllib.parse.unquote(b.s.cookies.get(_idp_cookie_name(b))) == eid


def _idp_cookie_name(b):
    names = [c.name for c in b.s.cookies if c.name.endswith("_idp")]
    assert len(names) == 1, b.s.cookies.get_dict()
    return names[0]


def test_remembered_choice_is_offered_first_and_can_be_cleared(dsp, fresh):
    b = Browser("alice", PASSWORDS["alice"])
    r = chooser(b, dsp)
    b.get(dsp.url([h for e, _, _, h in links(r) if e == B][0]))
    name = _idp_cookie_name(b)
    remembered = b.s.cookies.get(name)
    # a new browser that kept only that cookie (the session is gone)
    nb = Browser()
    nb.s.cookies.set(name, remembered, domain="127.0.0.1", path="/")
    r = chooser(nb, dsp)
    last = r.text.split('id="anc-last"', 1)[1].split("</ul>", 1)[0]
    assert "Beta College" in last and "Alpha" not in last
    forget = html.unescape(re.search(r'<a href="([^"]*forget=1[^"]*)"', r.text).group(1))
    r = nb.get(dsp.url(forget), login=False)
    assert "anc-last" not in r.text
    assert any(name + "=;" in v or "Max-Age=0" in v
               for v in r.raw.headers.getlist("Set-Cookie")), r.headers
    # never a decision: a forged cookie naming an unknown or not-allowed IdP
    # is ignored
    for value in (urllib.parse.quote("https://evil.example/idp", safe=""),
                  urllib.parse.quote(B, safe="")):
        fb = Browser()
        fb.s.cookies.set(name, value, domain="127.0.0.1", path="/")
        r = chooser(fb, dsp, path="/two/")
        assert "anc-last" not in r.text


def test_location_sets_limit_the_choice(dsp, fresh):
    b = Browser()
    assert [e for e, _, _, _ in links(chooser(b, dsp, path="/two/"))] == [A, C]
    assert [e for e, _, _, _ in links(chooser(b, dsp, path="/mfa-idps/"))] == [A, C]
    # one IdP allowed: no chooser, straight there
    r = b.get(dsp.url("/only-b/"), follow=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(
        fresh[B].base + "/sso/redirect?"), r.headers
    # and a session from an IdP the location does not offer is not used there
    a = Browser("alice", PASSWORDS["alice"])
    r = chooser(a, dsp)
    r = a.get(dsp.url([h for e, _, _, h in links(r) if e == B][0]))
    assert page_of(r) == "private"
    r = a.get(dsp.url("/two/"), login=False)
    assert "Choose your organisation" in r.text
    assert [e for e, _, _, _ in links(r)] == [A, C]


def _reasons(sp, since):
    with open(sp.httpd.error_log, errors="replace") as f:
        f.seek(since)
        return f.read()


@pytest.mark.parametrize("query,reason", [
    ("target=%%2Ftwo%%2F&entityID=%s" % urllib.parse.quote(B, safe=""), "idp-not-allowed"),
    ("target=%%2Fmfa-idps%%2F&idp=%s" % urllib.parse.quote(B, safe=""), "idp-not-allowed"),
    ("target=%2Fprivate%2F&entityID=https%3A%2F%2Fevil.example%2Fidp", "unknown-idp"),
    ("target=%%2Fprivate%%2F&idp=%s&entityID=%s" % (urllib.parse.quote(A, safe=""),
                                                    urllib.parse.quote(C, safe="")),
     "bad-input"),
])
def test_forged_choice_is_refused_with_a_reason(dsp, fresh, query, reason):
    since = dsp.httpd.log_size()
    b = Browser()
    r = b.get(dsp.url("/saml/login?" + query), follow=False)
    assert r.status_code == 400, (r.status_code, r.headers)
    assert "SAMLRequest" not in (r.headers.get("Location") or "")
    log = _reasons(dsp, since)
    assert "reason=" + reason in log, log[-2000:]
    for s in fresh.values():
        assert s.events("authn_request") == []


def test_external_discovery_service_round_trip(dsp, fresh, ds):
    ds.requests.clear()
    ds.answer = C
    b = Browser("alice", PASSWORDS["alice"])
    r = b.get(dsp.url("/ds/"))
    assert r.status_code == 200 and page_of(r) == "ds", b.hops
    assert len(ds.requests) == 1
    q = ds.requests[0]
    assert q["entityID"] == dsp.entity_id
    assert q["returnIDParam"] == "entityID"
    assert "isPassive" not in q
    ret = urllib.parse.urlsplit(q["return"])
    assert "%s://%s" % (ret.scheme, ret.netloc) == dsp.base and ret.path == "/saml/login"
    assert urllib.parse.parse_qs(ret.query)["target"] == ["/ds/"]
    assert variables(b, dsp)["AUTHN_CONTEXT_IDP"] == C
    # a DS answer with no choice falls back to the built-in chooser (no
    # loop back to the DS)
    ds.requests.clear()
    ds.answer = ""
    r = Browser().get(dsp.url("/ds/"), login=False)
    assert len(ds.requests) == 1
    assert r.status_code == 200 and "Choose your organisation" in r.text
    # isPassive travels to the DS; a passive answer with no choice ends as
    # NoPassive would, asking no IdP
    ds.requests.clear()
    before = sum(len(s.events("authn_request")) for s in fresh.values())
    r = Browser().get(dsp.url("/saml/login?target=%2Fds%2F&isPassive=true"), login=False)
    assert len(ds.requests) == 1 and ds.requests[0]["isPassive"] == "true"
    assert r.status_code == 403 and "NoPassive" in r.text
    assert sum(len(s.events("authn_request")) for s in fresh.values()) == before
    # the DS cannot pick an IdP the location does not offer, nor an unknown one
    ds.answer = "https://evil.example/idp"
    r = Browser().get(dsp.url("/ds/"), login=False)
    assert r.status_code == 400 and "unknown-idp" in r.text


def test_passive_login_without_a_choice_asks_no_idp(dsp, fresh):
    # nothing chosen or remembered: back to a lazy page without a session,
    # or the error page, and no IdP is asked
    b = Browser()
    r = b.get(dsp.url("/saml/login?target=%2Flazy-d%2F&isPassive=1"), follow=False)
    assert r.status_code == 303 and r.headers["Location"] == dsp.url("/lazy-d/")
    r = b.get(dsp.url("/saml/login?target=%2Fprivate%2F&isPassive=1"), follow=False)
    assert r.status_code == 403 and "NoPassive" in r.text
    assert all(s.events("authn_request") == [] for s in fresh.values())
    # remembered: a passive attempt there
    a = Browser("alice", PASSWORDS["alice"])
    a.idp = C
    a.get(dsp.url("/private/"))
    name = _idp_cookie_name(a)
    nb = Browser()
    nb.s.cookies.set(name, a.s.cookies.get(name), domain="127.0.0.1", path="/")
    r = nb.get(dsp.url("/saml/login?target=%2Flazy-d%2F&isPassive=1"), follow=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(
        fresh[C].base + "/sso/redirect?"), r.headers


def test_login_with_a_session_asks_the_sessions_idp(dsp, fresh):
    b = Browser("bob", PASSWORDS["bob"], "123456")
    b.idp = B
    b.get(dsp.url("/private/"))
    assert b.chooser_pages == 1
    r = b.get(dsp.url("/saml/login?target=%2Fprivate%2F&authnContextClassRef=" +
                      urllib.parse.quote(MFA, safe="")), follow=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(
        fresh[B].base + "/sso/redirect?"), r.headers


def test_discofeed_json_etag_and_304(dsp):
    b = Browser()
    r = b.get(dsp.url("/saml/discofeed"))
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    feed = json.loads(r.text)
    assert [e["entityID"] for e in feed] == [A, B, C]
    a = feed[0]
    assert {"value": "Alpha University", "lang": "en"} in a["DisplayNames"]
    assert {"value": "Alpha-Universit\u00e4t", "lang": "de"} in a["DisplayNames"]
    assert a["Descriptions"] == [{"value": "Staff & students of Alpha <Uni>", "lang": "en"}]
    assert a["Logos"] == [{"value": LOGO, "height": "16", "width": "16"}]
    assert a["InformationURLs"] == [{"value": A + "/info", "lang": "en"}]
    etag = r.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    r2 = b.get(dsp.url("/saml/discofeed"), headers={"If-None-Match": etag})
    assert r2.status_code == 304 and r2.text == ""
    r3 = b.get(dsp.url("/saml/discofeed"), headers={"If-None-Match": '"other"'})
    assert r3.status_code == 200 and r3.headers["ETag"] == etag


def test_sp_metadata_advertises_discovery_response(dsp):
    r = Browser().get(dsp.url("/saml/metadata"))
    doc = etree.fromstring(r.content)
    dr = doc.findall(".//{%s}DiscoveryResponse" % IDPDISC)
    assert len(dr) == 1
    assert dr[0].get("Binding") == IDPDISC
    assert dr[0].get("Location") == dsp.url("/saml/login")
    assert dr[0].get("index") == "0"


def test_step_up_goes_to_the_sessions_idp_without_chooser(dsp, fresh):
    b = Browser("bob", PASSWORDS["bob"])
    r = chooser(b, dsp)
    r = b.get(dsp.url([h for e, _, _, h in links(r) if e == B][0]))
    assert page_of(r) == "private"
    assert classes_of(variables(b, dsp)) != [MFA]
    b.set_credentials("bob", PASSWORDS["bob"], "123456")
    n = len(b.hops)
    r = b.get(dsp.url("/admin/"))
    assert r.status_code == 200 and page_of(r) == "admin", (r.status_code, b.hops[n:])
    first = b.hops[n]
    # straight to B, the session's IdP (not A, the first in metadata; no
    # chooser in the middle of a step-up)
    assert first[2] == 302 and first[3].startswith(fresh[B].base + "/sso/redirect?"), \
        b.hops[n:]
    assert not any("/saml/login" in h[1] for h in b.hops[n:])
    env = variables(b, dsp)
    assert env["AUTHN_CONTEXT_IDP"] == B and classes_of(env) == [MFA]
    assert [e["klass"] for e in fresh[A].events("response")] == []


from test_pages import axe_js  # noqa: E402,F401  (the fixture)


@pytest.mark.browser
def test_chooser_in_chromium(dsp, fresh, axe_js):
    from selenium.webdriver.common.by import By
    from test_browser import _login, _new_driver, _wait
    axe = axe_js
    outdir = os.path.join(OUT, "pages")
    os.makedirs(outdir, exist_ok=True)
    profiles = []
    d = _new_driver(profiles)
    try:
        d.set_window_size(1000, 900)
        d.get(dsp.url("/private/"))
        _wait(d, lambda x: x.find_elements(By.ID, "anc-q"), "the chooser")
        shot = os.path.join(outdir, "chooser.png")
        d.save_screenshot(shot)
        assert os.path.getsize(shot) > 1000
        if axe:
            d.execute_script(axe)
            res = d.execute_async_script(
                "var done = arguments[arguments.length - 1];"
                "axe.run(document, {resultTypes: ['violations']})"
                ".then(function (r) { done(JSON.stringify(r.violations)); })"
                ".catch(function (e) { done(JSON.stringify([{id: 'axe-error', help: String(e)}])); });")
            violations = json.loads(res)
            assert violations == [], [(v["id"], v.get("help"), [n.get("html") for n in v.get("nodes", [])][:3]) for v in violations]
        # search without script: the form is answered by the server
        box = d.find_element(By.ID, "anc-q")
        box.send_keys("gamma")
        box.submit()
        _wait(d, lambda x: "1 organisation matches" in x.page_source, "the search answer")
        d.find_element(By.PARTIAL_LINK_TEXT, "Gamma Institute").click()
        _login(d, "alice", PASSWORDS["alice"])
        _wait(d, lambda x: "PAGE:private" in x.page_source, "the private page")
    finally:
        d.quit()
        for p in profiles:
            shutil.rmtree(p, ignore_errors=True)


# ---- review (rev-disco): negative tests ------------------------------------


def test_chooser_bounds_the_kept_parameters(dsp, fresh):
    """The chooser and the discovery service's return URL repeat the login's
    other parameters: a query of thousands of tiny parameters is refused
    rather than copied (quadratically) into every link."""
    b = Browser()
    r = b.get(dsp.url("/saml/login?target=%2Fprivate%2F&" + "&".join(["a"] * 3000)),
              login=False)
    assert r.status_code == 400, (r.status_code, len(r.text))
    # a handful of application parameters still travel
    r = b.get(dsp.url("/saml/login?target=%2Fprivate%2F&app=1&lang=de"), login=False)
    assert r.status_code == 200
    assert '<input type="hidden" name="app" value="1">' in r.text


def test_remembered_idp_is_set_by_a_completed_login_only(dsp, fresh):
    """The README's promise: the cookie is set after a login that chose an
    IdP. A bare link to /saml/login?entityID=X (from any site: a top-level
    GET) must not pin X as this browser's "last used" organisation (nor the
    IdP a later passive login tries) before any login happened there."""
    b = Browser()
    r = b.get(dsp.url("/saml/login?target=%2Fprivate%2F&entityID=" +
                      urllib.parse.quote(B, safe="")), follow=False)
    assert r.status_code == 302 and "SAMLRequest=" in r.headers["Location"]
    assert not any("_idp=" in v for v in r.raw.headers.getlist("Set-Cookie")), \
        r.raw.headers.getlist("Set-Cookie")
    # the login that completes at B remembers B
    a = Browser("alice", PASSWORDS["alice"])
    r = chooser(a, dsp)
    r = a.get(dsp.url([h for e, _, _, h in links(r) if e == B][0]))
    assert page_of(r) == "private"
    assert urllib.parse.unquote(a.s.cookies.get(_idp_cookie_name(a))) == B


def test_forged_remembered_cookie_decides_no_passive_login(dsp, fresh):
    """The remembered IdP is tried by a passive login only when it is in the
    trusted metadata and allowed for the target: a forged cookie naming an
    unknown IdP or one outside the location's set asks no IdP."""
    a = Browser("alice", PASSWORDS["alice"])
    a.idp = A
    a.get(dsp.url("/private/"))
    name = _idp_cookie_name(a)
    for value, target, want in (
            (urllib.parse.quote(B, safe=""), "%2Ftwo%2F", 403),
            (urllib.parse.quote("https://evil.example/idp", safe=""), "%2Flazy-d%2F", 303),
            ("%ZZ" + "x" * 5000, "%2Fprivate%2F", 403)):
        for s in fresh.values():
            s.reset()
        fb = Browser()
        fb.s.cookies.set(name, value, domain="127.0.0.1", path="/")
        r = fb.get(dsp.url("/saml/login?target=%s&isPassive=1" % target), follow=False)
        assert r.status_code == want, (value[:40], r.status_code, r.headers)
        assert all(s.events("authn_request") == [] for s in fresh.values())
