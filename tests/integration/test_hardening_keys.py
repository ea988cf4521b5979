"""A weak IdP key in metadata is a configuration error: `apache2 -t` fails
with key-invalid and names the IdP, and a strong key is accepted."""

import os
import shutil

import pytest

import samlforge as sf
import servers

from test_configtest import assert_accepted, assert_rejected, configtest


@pytest.fixture(scope="module")
def tree(sp_keys):
    h = servers.Httpd("hardening-keys")
    yield h, sp_keys
    h.cleanup()


def body(h, keys, metadata):
    return "\n".join([
        "AuthnContextSPEntityID https://sp.example.org/sp",
        "AuthnContextSPKeyFile %s" % keys[0],
        "AuthnContextSPCertFile %s" % keys[1],
        "AuthnContextIdPMetadataFile %s" % metadata,
        "AuthnContextSessionCache shmcb:%s(102400)" % h.path("run", "sessions"),
        "<Location /private>",
        "    AuthType SAML",
        "    Require valid-user",
        "</Location>",
    ])


@pytest.mark.parametrize("kind, bits, ok", [("rsa", 1024, False), ("rsa", 2048, True),
                                            ("ec", 256, True)])
def test_idp_key_strength_at_configtest(tree, kind, bits, ok):
    h, keys = tree
    entity = "https://weak-%s-%d.example.org/idp" % (kind, bits)
    kp = sf.make_rsa_keypair("idp.example.org", bits) if kind == "rsa" \
        else sf.make_ec_keypair("idp.example.org")
    md = h.path("conf", "idp-%s-%d.xml" % (kind, bits))
    with open(md, "wb") as f:
        f.write(sf.idp_metadata(entity, kp.cert_pem, "http://127.0.0.1:9/sso"))
    os.chmod(md, 0o644)
    r = configtest(h, body(h, keys, md))
    if ok:
        assert_accepted(r)
    else:
        assert_rejected(r)
        out = (r.stdout or "") + (r.stderr or "")
        assert "key-invalid" in out, out
        assert "1024-bit RSA" in out and entity in out, out
