"""Issue 3: the `make demo` runner starts the IdP and httpd with
conf-examples/demo.conf, the pages behave as printed, and `--stop` ends it
cleanly (nothing left running, state removed)."""

import html
import os
import re
import select
import signal
import subprocess
import time

import pytest

import servers
from client import Browser
from helpers import PASSWORDS

pytestmark = pytest.mark.issue3

RUN_DEMO = os.path.join(servers.REPO, "tests", "demo", "run_demo.py")


@pytest.fixture
def demo(tmp_path):
    pid_file = str(tmp_path / "demo.pid")
    proc = subprocess.Popen([servers.PYTHON, RUN_DEMO, "--sp-port", "0", "--idp-port", "0",
                             "--max-seconds", "300", "--pid-file", pid_file],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and b"Stop with" not in out:
        r, _, _ = select.select([proc.stdout], [], [], 0.5)
        if r:
            chunk = os.read(proc.stdout.fileno(), 65536)   # unbuffered: select stays true
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    out = out.decode(errors="replace")
    try:
        if "Stop with" not in out:
            pytest.fail("the demo did not start:\n" + out)
        yield proc, out, pid_file
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def test_demo_runs_and_stops(demo):
    proc, out, pid_file = demo
    site = re.search(r"site\s+(http://127\.0\.0\.1:\d+)/", out).group(1)
    idp = re.search(r"IdP\s+(http://127\.0\.0\.1:\d+)/", out).group(1)
    state = re.search(r"state in (\S+)\)", out).group(1)
    for user in ("alice", "bob", "carol"):
        assert user in out
    assert Browser().get(site + "/public/").status_code == 200
    b = Browser("alice", PASSWORDS["alice"])
    r = b.get(site + "/password/")
    assert r.status_code == 200 and "Password page" in r.text
    assert b.get(site + "/mfa/").status_code == 403
    r = b.get(site + "/vars")
    assert r.status_code == 200 and "did not use multi-factor" in r.text
    bob = Browser("bob", PASSWORDS["bob"], "123456")
    r = bob.get(site + "/admin/")
    assert r.status_code == 200 and "Admin page" in r.text
    carol = Browser("carol", PASSWORDS["carol"])
    r = carol.get(site + "/admin/")
    assert "/auth-error.cgi" in r.url and "multi-factor" in r.text
    # The stop command.
    httpd_pid = servers.read_pid(os.path.join(state, "httpd", "run", "httpd.pid"))
    stop = subprocess.run([servers.PYTHON, RUN_DEMO, "--stop", "--pid-file", pid_file],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=60)
    assert stop.returncode == 0, stop.stdout
    assert proc.wait(timeout=30) == 0
    assert httpd_pid and servers.wait_pid_gone(httpd_pid, 10), "httpd left running"
    assert not os.path.exists(state), "state dir left behind"
    assert not os.path.exists(pid_file)
    with pytest.raises(Exception):
        Browser().get(idp + "/metadata", follow=False)


def test_demo_lazy_page_sign_in_then_confirm_with_mfa(demo):
    """The lazy page: anonymous, signed in without MFA, then one action
    confirmed with a fresh MFA login (issue 14)."""
    _proc, out, _pid_file = demo
    site = re.search(r"site\s+(http://127\.0\.0\.1:\d+)/", out).group(1)
    b = Browser("bob", PASSWORDS["bob"])                 # no code: password only
    r = b.get(site + "/lazy/")
    assert r.status_code == 200 and "not signed in" in r.text, r.text
    links = dict(re.findall(r'<a id="([a-z-]+)" href="([^"]+)"', r.text))
    r = b.get(site + html.unescape(links["signin"]))
    assert r.url == site + "/lazy/" and "Signed in as <b>bob</b>, without MFA" in r.text, r.text
    # The confirm page enforces MFA: a password session cannot open it.
    assert b.get(site + "/lazy/confirm/", follow=False).status_code != 200
    b.set_credentials("bob", PASSWORDS["bob"], "123456")
    r = b.get(site + html.unescape(links["confirm-mfa"]))
    assert r.status_code == 200 and "Action confirmed with MFA" in r.text, (r.url, r.text)
    r = b.get(site + "/lazy/")
    assert "with multi-factor authentication" in r.text, r.text
    s = b.get(site + "/saml/session?format=json", follow=False).json()
    assert s["authenticated"] and s["classes"] == ["https://refeds.org/profile/mfa"], s
