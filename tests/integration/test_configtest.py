"""`apachectl configtest` with the module: every conf-examples snippet is
accepted, and bad configuration fails at config time with a clear message
(issues 3 and 4), never with a crash."""

import os
import re
import shutil

import pytest

import servers

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(REPO, "conf-examples")
SCENARIOS = sorted(f for f in os.listdir(EXAMPLES) if re.match(r"(0[1-9]|[1-9][0-9])-.*\.conf$", f))

PPT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
MFA = "https://refeds.org/profile/mfa"


@pytest.fixture(scope="module")
def conftree(idp_server, sp_keys):
    h = servers.Httpd("configtest")
    shutil.copy(idp_server.metadata_file, h.path("conf", "idp-metadata.xml"))
    # a signed federation aggregate for the federation examples
    import samlforge as sf
    fed = sf.make_rsa_keypair("federation.example.org")
    fed.write(h.path("conf"), "federation-signer")
    idp = sf.make_rsa_keypair("idp.university.example.edu")
    root = sf.federation_metadata([
        {"entity_id": "https://idp.other.example.edu/idp", "cert_pem": idp.cert_pem,
         "attrs": {sf.SIRTFI_NAME: [sf.SIRTFI]}}])
    sf.sign_metadata(root, fed)
    h.write("conf/federation-metadata.xml", sf.to_bytes(root).decode())
    yield h, sp_keys
    h.cleanup()


def example_paths(h, text):
    """The paths of the federation examples pointed at test files."""
    for path, rel in (("/var/lib/authncontext/federation-metadata.xml", "federation-metadata.xml"),
                      ("/var/lib/authncontext/edugain-metadata.xml", "federation-metadata.xml"),
                      ("/etc/apache2/saml/federation-signer.pem", "federation-signer.crt"),
                      ("/etc/apache2/saml/edugain-signer.pem", "federation-signer.crt"),
                      ("/var/lib/authncontext/entra-metadata.xml", "idp-metadata.xml")):
        text = text.replace(path, h.path("conf", rel))
    return text


def sp_identity(h, keys):
    """conf-examples/00-sp-identity.conf with the example paths pointed at
    real test files (and its LoadModule lines dropped: the base has them)."""
    text = open(os.path.join(EXAMPLES, "00-sp-identity.conf")).read()
    text = text.replace("/etc/apache2/saml/sp-key.pem", keys[0])
    text = text.replace("/etc/apache2/saml/sp-cert.pem", keys[1])
    text = text.replace("/etc/apache2/saml/idp-metadata.xml", h.path("conf", "idp-metadata.xml"))
    return "\n".join(l for l in text.splitlines() if not l.startswith("LoadModule"))


def configtest(h, body):
    h.write("conf/httpd.conf", servers.httpd_conf(h.root, h.port, body))
    h.fix_permissions()
    return h.configtest()


def assert_accepted(r):
    # "Syntax OK" is printed once the whole configuration has been read and
    # checked; the exit status is tested on its own (test_configtest_exits_cleanly).
    assert "Syntax OK" in r.stdout, r.stdout


def assert_rejected(r):
    assert "Syntax OK" not in r.stdout, r.stdout
    assert r.returncode != 0


@pytest.mark.issue3
def test_configtest_exits_cleanly(conftree):
    """apache2 -t (and a refused start) must exit with a status, not a signal."""
    h, keys = conftree
    r = configtest(h, sp_identity(h, keys))
    assert "Syntax OK" in r.stdout, r.stdout
    assert r.returncode == 0, "apache2 -t exit %d (negative: killed by signal %d)" % (
        r.returncode, -r.returncode)
    r = configtest(h, sp_identity(h, keys) + "\nAuthnContextSessionLifetime 3\n")
    assert r.returncode == 1, "apache2 -t exit %d (negative: killed by signal %d)" % (
        r.returncode, -r.returncode)


@pytest.mark.issue3
def test_debian_load_file_names_the_module():
    text = open(os.path.join(EXAMPLES, "authncontext.load")).read()
    assert re.search(r"^LoadModule authncontext_module /usr/lib/apache2/modules/"
                     r"mod_authncontext\.so$", text, re.M)
    assert re.search(r"^# Depends: socache_shmcb$", text, re.M)


@pytest.mark.issue3
def test_debian_conf_file_is_accepted(conftree):
    h, keys = conftree
    body = sp_identity(h, keys) + "\n" + open(os.path.join(EXAMPLES, "authncontext.conf")).read()
    r = configtest(h, body)
    assert_accepted(r)


@pytest.mark.parametrize("snippet", SCENARIOS)
def test_conf_example_is_accepted(conftree, snippet):
    h, keys = conftree
    text = open(os.path.join(EXAMPLES, snippet)).read()
    text = text.replace("/usr/lib/cgi-bin/", h.path("cgi-bin") + "/")
    text = example_paths(h, text)
    text = "\n".join(l for l in text.splitlines()
                     if not (l.startswith("LoadModule") or l.startswith("ServerName")
                             or l.startswith("UseCanonicalName")))
    r = configtest(h, sp_identity(h, keys) + "\n" + text)
    assert_accepted(r)


BAD = [
    # (id, extra config, a word the message must contain)
    ("require-without-uri",
     "<Location /x>\n AuthType SAML\n Require authnContextClassRef\n</Location>",
     r"authnContextClassRef"),
    ("unknown-comparison",
     "<Location /x>\n AuthType SAML\n Require authnContextClassRef sideways %s\n</Location>" % MFA,
     r"sideways|comparison"),
    ("unranked-class-under-minimum",
     "<Location /x>\n AuthType SAML\n Require authnContextClassRef minimum "
     "urn:example:unranked\n</Location>",
     r"urn:example:unranked|rank|level"),
    ("bad-regex",
     "<Location /x>\n AuthType SAML\n Require authnContextClassRef ~ ([a-z\n</Location>",
     r"regex|regular|pattern|\("),
    ("unknown-cache-provider", "AuthnContextSessionCache nosuchcache", r"nosuchcache"),
    ("bad-max-age",
     "<Location /x>\n AuthType SAML\n Require authnContextMaxAge soon\n</Location>",
     r"soon|MaxAge|seconds"),
    ("bad-request-comparison",
     "<Location /x>\n AuthType SAML\n AuthnContextRequest sideways %s\n</Location>" % MFA,
     r"sideways|comparison"),
    # a class with white space inside would read as two in AUTHN_CONTEXT_CLASS
    ("alias-target-with-space",
     'AuthnContextClassAlias urn:example:a "urn:example:b %s"' % MFA,
     r"white space|absolute URI"),
    # discovery (issue 15)
    ("discovery-url-not-http",
     "<Location /x>\n AuthType SAML\n AuthnContextDiscoveryURL ftp://ds.example/\n</Location>",
     r"AuthnContextDiscoveryURL.*http"),
    ("discovery-url-fragment",
     "AuthnContextDiscoveryURL https://ds.example/ds#x", r"fragment"),
    ("idp-entity-attribute-malformed",
     "<Location /x>\n AuthType SAML\n AuthnContextIdP entityAttribute=novalue\n</Location>",
     r"entityAttribute=NAME=VALUE"),
]


@pytest.mark.issue4
@pytest.mark.parametrize("name,extra,word", BAD, ids=[b[0] for b in BAD])
def test_bad_configuration_fails_configtest(conftree, name, extra, word):
    h, keys = conftree
    body = sp_identity(h, keys) + "\n" + "\n".join(
        "AuthnContextClassLevel %d %s" % (n, c) for n, c in ((10, PPT), (20, MFA))) + "\n" + extra
    r = configtest(h, body)
    assert_rejected(r)
    assert re.search(word, r.stdout, re.I), r.stdout


@pytest.mark.issue3
def test_unreadable_metadata_fails_configtest(conftree):
    h, keys = conftree
    body = sp_identity(h, keys).replace(h.path("conf", "idp-metadata.xml"),
                                        h.path("conf", "no-such-metadata.xml"))
    r = configtest(h, body)
    assert_rejected(r)
    assert "no-such-metadata.xml" in r.stdout, r.stdout


@pytest.mark.issue3
def test_metadata_without_idp_key_fails_configtest(conftree):
    h, keys = conftree
    md = open(h.path("conf", "idp-metadata.xml")).read()
    md = re.sub(r"<(?:md:|ns\d:)?KeyDescriptor.*?</(?:md:|ns\d:)?KeyDescriptor>", "", md, flags=re.S)
    h.write("conf/nokey-metadata.xml", md)
    assert "X509Certificate" not in md
    body = sp_identity(h, keys).replace(h.path("conf", "idp-metadata.xml"),
                                        h.path("conf", "nokey-metadata.xml"))
    r = configtest(h, body)
    assert_rejected(r)
    assert re.search(r"key|certificate", r.stdout, re.I), r.stdout


@pytest.mark.issue3
def test_lifetime_out_of_range_fails_cleanly(conftree):
    h, keys = conftree
    r = configtest(h, sp_identity(h, keys) + "\nAuthnContextSessionLifetime 3\n")
    assert_rejected(r)
    assert "AuthnContextSessionLifetime" in r.stdout, r.stdout
