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


@pytest.fixture(scope="session")
def fixtures(tmp_path_factory):
    """A fresh fixture set (keys, metadata, responses, manifest) valid now."""
    out = tmp_path_factory.mktemp("testdata")
    fx = sf.make_fixtures(str(out), sf.utcnow())
    settings = dict(l.rstrip("\n").split("\t", 1) for l in open(out / "settings.tsv"))
    return out, fx, settings
