"""Configuration checks of the glue that need the whole configuration:
AuthnContextIdP against the loaded metadata, and class rules compiled
against the final vocabulary (AuthnContextClassLevel/Alias lines may stand
anywhere), each failing `apache2 -t` with the file and line."""

import re
import shutil

import pytest

import servers
from helpers import MFA, PPT, login

LATE = "urn:example:late-class"


@pytest.fixture(scope="module")
def ct(idp_server):
    h = servers.Httpd("glue-configtest")
    shutil.copy(idp_server.metadata_file, h.path("conf", "idp-metadata.xml"))
    yield h
    h.cleanup()


def identity(h, md_options="refresh=0"):
    # refresh=0: a source read once, so an AuthnContextIdP missing from it
    # can never appear and is an error (with a refreshed source, a warning)
    return "\n".join([
        "AuthnContextSPEntityID http://sp.test/glue-configtest",
        "AuthnContextIdPMetadataFile %s %s" % (h.path("conf", "idp-metadata.xml"), md_options),
        "AuthnContextSessionCache shmcb:%s(100000)" % h.path("run", "ct-sessions"),
    ])


def configtest(h, body, md_options="refresh=0"):
    h.write("conf/httpd.conf",
            servers.httpd_conf(h.root, h.port, identity(h, md_options) + "\n" + body))
    h.fix_permissions()
    return h.configtest()


def accepted(r):
    return "Syntax OK" in r.stdout and r.returncode == 0


def rejected_at(r, line_no):
    """Refused, naming httpd.conf and the line."""
    return ("Syntax OK" not in r.stdout and r.returncode != 0
            and re.search(r"httpd\.conf:%d:" % line_no, r.stdout))


def line_of(h, needle):
    text = open(h.path("conf", "httpd.conf")).read().splitlines()
    return [i + 1 for i, l in enumerate(text) if needle in l][0]


# --- AuthnContextIdP --------------------------------------------------------------

def test_unknown_idp_fails_configtest(ct, idp_server):
    r = configtest(ct, "<Location /x>\n AuthType SAML\n"
                       " AuthnContextIdP https://nowhere.test/idp\n Require valid-user\n</Location>")
    n = line_of(ct, "AuthnContextIdP https://nowhere.test/idp")
    assert rejected_at(r, n), r.stdout
    assert "https://nowhere.test/idp" in r.stdout and "metadata" in r.stdout, r.stdout


def test_unknown_idp_with_refreshed_metadata_is_a_warning(ct, idp_server):
    """Metadata changes at run time: an IdP not (yet) in a refreshed source
    is named in a warning, and configtest passes."""
    r = configtest(ct, "<Location /x>\n AuthType SAML\n"
                       " AuthnContextIdP https://later.test/idp\n Require valid-user\n</Location>",
                   md_options="refresh=300")
    assert accepted(r), r.stdout
    assert re.search(r"AuthnContextIdP https://later\.test/idp is not \(yet\) in the loaded "
                     r"metadata", r.stdout), r.stdout


def test_known_idp_passes_configtest(ct, idp_server):
    r = configtest(ct, "<Location /x>\n AuthType SAML\n AuthnContextIdP %s\n"
                       " Require valid-user\n</Location>" % idp_server.entity_id)
    assert accepted(r), r.stdout


def test_unknown_idp_in_a_virtual_host_fails_configtest(ct, idp_server):
    r = configtest(ct, "<VirtualHost 127.0.0.1:%d>\n ServerName other.test\n"
                       " <Location /x>\n  AuthType SAML\n  AuthnContextIdP https://nowhere.test/v\n"
                       "  Require valid-user\n </Location>\n</VirtualHost>" % ct.port)
    assert rejected_at(r, line_of(ct, "https://nowhere.test/v")), r.stdout


# --- rules against the final vocabulary -------------------------------------------

def test_levels_may_follow_the_rules(ct):
    body = "\n".join([
        "<Location /x>", " AuthType SAML",
        " AuthnContextRequest minimum %s" % PPT,
        " Require authnContextClassRef better %s" % PPT,
        " Require authnContextClassRef maximum %s" % LATE,
        "</Location>",
        "<VirtualHost 127.0.0.1:%d>" % ct.port, " ServerName other.test",
        " AuthnContextClassLevel 5 urn:example:vhost-only",
        " <Location /v>", "  AuthType SAML",
        "  Require authnContextClassRef minimum %s" % MFA,
        "  Require authnContextClassRef minimum urn:example:vhost-only",
        " </Location>", "</VirtualHost>",
        # the ladder comes last, after the virtual host too
        "AuthnContextClassLevel 10 %s" % PPT,
        "AuthnContextClassLevel 20 %s" % MFA,
        "AuthnContextClassLevel 30 %s" % LATE])
    r = configtest(ct, body)
    assert accepted(r), r.stdout


def test_unranked_class_still_fails_with_file_and_line(ct):
    body = "\n".join([
        "AuthnContextClassLevel 10 %s" % PPT,
        "<Location /x>", " AuthType SAML",
        " Require authnContextClassRef minimum urn:example:unranked",
        "</Location>"])
    r = configtest(ct, body)
    assert rejected_at(r, line_of(ct, "minimum urn:example:unranked")), r.stdout
    assert "urn:example:unranked" in r.stdout


def test_unranked_request_fails_with_file_and_line(ct):
    body = "\n".join([
        "<Location /x>", " AuthType SAML",
        " AuthnContextRequest better urn:example:unranked-request",
        "</Location>"])
    r = configtest(ct, body)
    assert rejected_at(r, line_of(ct, "better urn:example:unranked-request")), r.stdout
    assert "AuthnContextRequest" in r.stdout


def test_rule_only_ranked_in_another_virtual_host_fails(ct):
    body = "\n".join([
        "<VirtualHost 127.0.0.1:%d>" % ct.port, " ServerName a.test",
        " AuthnContextClassLevel 5 urn:example:a-only", "</VirtualHost>",
        "<VirtualHost 127.0.0.1:%d>" % ct.port, " ServerName b.test",
        " <Location /b>", "  AuthType SAML",
        "  Require authnContextClassRef minimum urn:example:a-only",
        " </Location>", "</VirtualHost>"])
    r = configtest(ct, body)
    assert rejected_at(r, line_of(ct, "minimum urn:example:a-only")), r.stdout


def test_class_ranked_twice_fails_with_file_and_line(ct):
    body = "AuthnContextClassLevel 10 %s\nAuthnContextClassLevel 20 %s" % (PPT, PPT)
    r = configtest(ct, body)
    assert "Syntax OK" not in r.stdout and r.returncode != 0, r.stdout
    assert re.search(r"httpd\.conf:\d+: AuthnContextClassLevel", r.stdout), r.stdout


# --- at run time: the rule uses the level defined after it ------------------------

@pytest.fixture(scope="module")
def late_sp(sp_factory):
    extra = "\n".join([
        "<Location /late-max>", "    AuthType SAML",
        "    Require authnContextClassRef maximum %s" % LATE, "</Location>",
        "<Location /late-min>", "    AuthType SAML",
        "    Require authnContextClassRef minimum %s" % LATE, "</Location>",
        "AuthnContextClassLevel 30 %s" % LATE])
    s = sp_factory("glue-late", extra=extra)
    for page in ("late-max", "late-min"):
        s.httpd.write("htdocs/%s/index.html" % page,
                      "<html><body><h1>PAGE:%s</h1></body></html>\n" % page)
    return s


def test_rule_uses_a_level_defined_after_it(late_sp, idp):
    b = login(late_sp, "alice")
    r = b.get(late_sp.url("/late-max/"), follow=False)
    assert r.status_code == 200, (r.status_code, r.text[:200])      # 10 <= 30
    r = b.get(late_sp.url("/late-min/"), follow=False)
    assert r.status_code in (302, 403), r.status_code               # 10 < 30: not granted
    assert r.status_code != 200
    late_sp.check_log()


# --- cookie name prefixes (RFC 6265bis 4.1.3) -------------------------------------

def test_host_prefixed_cookie_name_needs_secure(ct):
    r = configtest(ct, "AuthnContextCookieName __Host-anc\nAuthnContextCookieSecure Off")
    assert "Syntax OK" not in r.stdout and r.returncode != 0, r.stdout
    assert "__Host-" in r.stdout and "AuthnContextCookieSecure" in r.stdout, r.stdout
    r = configtest(ct, "AuthnContextCookieName __Secure-anc\nAuthnContextCookieSecure Off")
    assert "Syntax OK" not in r.stdout and r.returncode != 0, r.stdout
    r = configtest(ct, "AuthnContextCookieName __Host-anc\nAuthnContextCookieSecure On")
    assert accepted(r), r.stdout


@pytest.fixture(scope="module")
def host_sp(sp_factory):
    return sp_factory("glue-host", extra="AuthnContextCookieName __Host-anc\n"
                                         "AuthnContextCookieSecure On\n")


def test_host_prefixed_binding_cookie_is_valid(host_sp, idp):
    """A __Host- cookie must be Secure, Path=/ and have no Domain, or the
    browser drops it: the binding cookie (name + _req) too."""
    from client import Browser
    from helpers import set_cookie_headers
    r = Browser().get(host_sp.url("/private/"), follow=False)
    assert r.status_code == 302, r.status_code
    cookies = [c for c in set_cookie_headers(r) if c.startswith("__Host-anc")]
    assert cookies, set_cookie_headers(r)
    for c in cookies:
        assert re.search(r";\s*Path=/(;|$)", c) and "Secure" in c and "Domain" not in c, c
