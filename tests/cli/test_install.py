"""Issue 12: `make install` never overwrites an admin's file under /etc (the
shipped version lands beside it as .dist), puts the docs, examples and the
sample error script where Debian puts them, and `make uninstall` removes what
it installed but keeps an edited file. Run into a DESTDIR, never into /."""

import os
import subprocess

import clirunner

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(clirunner.__file__))))
MODS = "etc/apache2/mods-available"


def make(target, dest):
    build = os.path.abspath(os.path.dirname(clirunner.cli_path()))
    return subprocess.run(["make", "-s", "-C", REPO, target, "DESTDIR=" + str(dest),
                           "BUILD=" + build],
                          capture_output=True, text=True, timeout=300)


def test_install_keeps_edited_conf_and_uninstall(tmp_path):
    r = make("install", tmp_path)
    assert r.returncode == 0, r.stderr
    conf = tmp_path / MODS / "authncontext.conf"
    shipped = open(os.path.join(REPO, "conf-examples", "authncontext.conf")).read()
    assert conf.read_text() == shipped
    for rel in ("usr/lib/apache2/modules/mod_authncontext.so", "usr/bin/authncontext-verify",
                "usr/bin/authncontext-fetch-metadata",
                MODS + "/authncontext.load", "usr/share/doc/mod-authncontext/README.md",
                "usr/share/doc/mod-authncontext/examples/04-stepup-admin.conf",
                "usr/lib/cgi-bin/authncontext-error.cgi",
                "usr/share/man/man1/authncontext-verify.1"):
        assert (tmp_path / rel).exists(), rel
    assert os.access(tmp_path / "usr/lib/cgi-bin/authncontext-error.cgi", os.X_OK)

    conf.write_text(shipped + "AuthnContextSPEntityID https://edited.example/sp\n")
    r = make("install", tmp_path)
    assert r.returncode == 0, r.stderr
    assert "edited.example" in conf.read_text(), "make install overwrote the admin's file"
    assert (tmp_path / MODS / "authncontext.conf.dist").read_text() == shipped
    assert "kept your" in r.stdout

    r = make("uninstall", tmp_path)
    assert r.returncode == 0, r.stderr
    assert "edited.example" in conf.read_text()
    for rel in ("usr/lib/apache2/modules/mod_authncontext.so", "usr/bin/authncontext-verify",
                "usr/bin/authncontext-fetch-metadata",
                MODS + "/authncontext.load", MODS + "/authncontext.conf.dist",
                "usr/share/doc/mod-authncontext", "usr/lib/cgi-bin/authncontext-error.cgi"):
        assert not (tmp_path / rel).exists(), rel
