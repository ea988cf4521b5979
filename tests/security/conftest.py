import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import clirunner  # noqa: E402
import samlforge as sf  # noqa: E402


@pytest.fixture(scope="session")
def cli():
    path = clirunner.cli_path()
    assert os.access(path, os.X_OK), \
        "%s not built (make, or set ANC_BUILD_DIR)" % path
    return clirunner


class Keys:
    """The SP's view of the world for the attack suite: one trusted IdP (RSA),
    an attacker key, the SP's decryption key, and the metadata file."""

    def __init__(self, d):
        self.dir = d
        self.idp = sf.make_rsa_keypair("idp.example.org")
        # the attacker's self-signed certificate names the IdP too
        self.attacker = sf.make_rsa_keypair("idp.example.org")
        self.sp = sf.make_rsa_keypair("sp.example.org")
        self.sp_key, self.sp_cert = self.sp.write(str(d), "sp")
        self.metadata = os.path.join(str(d), "idp-metadata.xml")
        with open(self.metadata, "wb") as f:
            f.write(sf.idp_metadata(sf.IDP_ENTITY_ID, self.idp.cert_pem, sf.IDP_SSO_URL))


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    return Keys(tmp_path_factory.mktemp("attack-keys"))
