"""A browser-like client for the SAML flows: a requests.Session that follows
redirects itself (so every hop is recorded and loops are counted), submits
the auto-posting SAML forms (SAMLRequest/SAMLResponse) as a browser's script
would, and fills the test IdP's login form with the credentials it was given.

Only loopback URLs are ever requested; anything else raises.
"""

import html
import re
import urllib.parse

import requests

TIMEOUT = 15
MAX_HOPS = 25


class LoopError(AssertionError):
    pass


def _check_loopback(url):
    host = urllib.parse.urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost"):
        raise AssertionError("refusing to contact a non-loopback URL: %s" % url)


def parse_forms(text):
    """[(action, method, {name: value})] of the HTML forms in text."""
    forms = []
    for m in re.finditer(r"<form\b([^>]*)>(.*?)</form>", text, re.S | re.I):
        attrs, inner = m.group(1), m.group(2)
        action = re.search(r'action="([^"]*)"', attrs)
        method = re.search(r'method="([^"]*)"', attrs, re.I)
        fields = {}
        for im in re.finditer(r"<input\b([^>]*)/?>", inner, re.I):
            ia = im.group(1)
            name = re.search(r'name="([^"]*)"', ia)
            if not name:
                continue
            value = re.search(r'value="([^"]*)"', ia)
            fields[html.unescape(name.group(1))] = html.unescape(value.group(1)) if value else ""
        forms.append((html.unescape(action.group(1)) if action else "",
                      (method.group(1) if method else "get").lower(), fields))
    return forms


class Browser:
    def __init__(self, user=None, password=None, otp=None):
        self.s = requests.Session()
        self.user, self.password, self.otp = user, password, otp
        self.hops = []              # (method, url, status, location)
        self.saml_responses = []    # (acs url, form fields) posted to the SP
        self.saml_requests = []     # (url, fields/query) sent to the IdP
        self.request_pages = []     # HTML of the SP's HTTP-POST AuthnRequest forms
        self.login_forms = 0        # how many times the IdP asked for credentials
        # the module's IdP chooser (several IdPs allowed): a person picks
        # this entityID, or the first one listed when None
        self.idp = None
        self.chooser_pages = 0

    def set_credentials(self, user, password, otp=None):
        self.user, self.password, self.otp = user, password, otp

    def request(self, method, url, **kw):
        _check_loopback(url)
        kw.setdefault("timeout", TIMEOUT)
        kw.setdefault("allow_redirects", False)
        r = self.s.request(method, url, **kw)
        self.hops.append((method, url, r.status_code, r.headers.get("Location")))
        return r

    def get(self, url, follow=True, login=True, max_hops=MAX_HOPS, **kw):
        """GET url and follow redirects, SAML auto-post forms and (when
        login) the IdP login form. Returns the final response; raises
        LoopError after max_hops."""
        r = self.request("GET", url, **kw)
        if not follow:
            return r
        return self.follow(r, login=login, max_hops=max_hops)

    def post(self, url, data, follow=True, login=True, max_hops=MAX_HOPS):
        r = self.request("POST", url, data=data)
        if not follow:
            return r
        return self.follow(r, login=login, max_hops=max_hops)

    def follow(self, r, login=True, max_hops=MAX_HOPS, stop_at=None):
        hops = 0
        while True:
            if stop_at and stop_at(r):
                return r
            hops += 1
            if hops > max_hops:
                raise LoopError("more than %d hops: %s" % (max_hops, self.hops[-max_hops:]))
            if r.status_code in (301, 302, 303, 307, 308) and r.headers.get("Location"):
                nxt = urllib.parse.urljoin(r.url, r.headers["Location"])
                if "SAMLRequest=" in nxt:
                    self.saml_requests.append((nxt, None))
                r = self.request("GET", nxt)
                continue
            if r.status_code == 200 and "text/html" in r.headers.get("Content-Type", ""):
                forms = parse_forms(r.text)
                saml = [f for f in forms if "SAMLResponse" in f[2] or "SAMLRequest" in f[2]]
                if saml:
                    action, _method, fields = saml[0]
                    action = urllib.parse.urljoin(r.url, action)
                    if "SAMLResponse" in fields:
                        self.saml_responses.append((action, dict(fields)))
                    else:
                        self.saml_requests.append((action, dict(fields)))
                        self.request_pages.append(r.text)
                    fields.pop("", None)
                    r = self.request("POST", action, data=fields)
                    continue
                choices = re.findall(r'<a class="idp" href="([^"]*)"', r.text)
                if choices and login and 'id="anc-q"' in r.text:
                    links = [html.unescape(c) for c in choices]
                    if self.idp:
                        want = "entityID=" + urllib.parse.quote(self.idp, safe="")
                        links = [c for c in links if want in c] or links[:0]
                        if not links:
                            raise AssertionError("the chooser does not offer %s" % self.idp)
                    self.chooser_pages += 1
                    r = self.request("GET", urllib.parse.urljoin(r.url, links[0]))
                    continue
                login_form = [f for f in forms if "username" in f[2] and "password" in f[2]]
                if login_form and login:
                    if self.user is None:
                        raise AssertionError("the IdP asked for a login and no user is set")
                    self.login_forms += 1
                    action, _m, fields = login_form[0]
                    fields.update(username=self.user, password=self.password,
                                  otp=self.otp or "")
                    r = self.request("POST", urllib.parse.urljoin(r.url, action), data=fields)
                    continue
            return r

    def reset_trace(self):
        self.hops, self.saml_responses, self.saml_requests, self.login_forms = [], [], [], 0


def decode_redirect_request(url):
    """(xml text, query dict) of an HTTP-Redirect AuthnRequest URL."""
    import base64
    import zlib
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    xml = zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15).decode()
    return xml, {k: v[0] for k, v in q.items()}
