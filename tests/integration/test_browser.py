"""Issue 5: one end-to-end flow in headless Chromium (Debian's chromium and
chromium-driver through python3-selenium): login, step-up to MFA, and the
error page for a user without a second factor, read and clicked as a person
would. A screenshot of the error page is saved in the test's tmp dir."""

import os
import shutil
import tempfile

import pytest

pytestmark = [pytest.mark.issue5, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 20


def _new_driver(profiles):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    assert os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER), \
        "install chromium and chromium-driver (.ci/install-deps.sh browser)"
    profile = tempfile.mkdtemp(prefix="anc-chromium-")
    profiles.append(profile)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
              "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-proxy-server",
              "--disable-dev-shm-usage", "--window-size=1000,800",
              # Nothing but loopback resolves, whatever a page asks for.
              "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
              "--user-data-dir=" + profile):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    d.set_page_load_timeout(WAIT)
    return d


@pytest.fixture
def browsers():
    """new() -> a headless Chromium with a fresh profile (one per person);
    all quit at teardown."""
    drivers, profiles = [], []

    def new():
        d = _new_driver(profiles)
        drivers.append(d)
        return d
    try:
        yield new
    finally:
        for d in drivers:
            try:
                d.quit()
            except Exception:
                pass
        for p in profiles:
            shutil.rmtree(p, ignore_errors=True)


def _wait(d, cond, what):
    from selenium.webdriver.support.ui import WebDriverWait
    try:
        return WebDriverWait(d, WAIT).until(lambda drv: cond(drv))
    except Exception:
        raise AssertionError("timed out waiting for %s; at %s:\n%s"
                             % (what, d.current_url, d.page_source[:1500]))


def _login(d, user, password, otp=""):
    from selenium.webdriver.common.by import By
    _wait(d, lambda x: x.find_elements(By.ID, "username"), "the IdP login form")
    d.find_element(By.ID, "username").send_keys(user)
    d.find_element(By.ID, "password").send_keys(password)
    if otp:
        d.find_element(By.ID, "otp").send_keys(otp)
    d.find_element(By.ID, "submit").click()


def test_chromium_login_step_up_and_error_page(sp, idp, browsers, tmp_path):
    from selenium.webdriver.common.by import By
    d = browsers()
    # 1. Login with a password.
    d.get(sp.url("/private/"))
    _login(d, "bob", "bob-pw")
    _wait(d, lambda x: "PAGE:private" in x.page_source, "the private page")
    assert d.current_url.startswith(sp.base)
    # 2. Step up: /admin sends us back to the IdP, which asks for the code.
    d.get(sp.url("/admin/"))
    _wait(d, lambda x: "asks for" in x.page_source, "the IdP's MFA prompt")
    asked = d.find_element(By.CLASS_NAME, "requested").text
    assert "https://refeds.org/profile/mfa" in asked
    _login(d, "bob", "bob-pw", "123456")
    _wait(d, lambda x: "PAGE:admin" in x.page_source, "the admin page after step-up")
    # 3. Another person (own browser) without a second factor: the error
    #    page explains it.
    d = browsers()
    d.get(sp.url("/admin/"))
    _login(d, "carol", "carol-pw")
    _wait(d, lambda x: x.find_elements(By.ID, "title"), "the error page")
    title = d.find_element(By.ID, "title").text
    explain = d.find_element(By.ID, "explain").text
    shot = str(tmp_path / "error-page.png")
    d.save_screenshot(shot)
    print("screenshot of the error page: %s" % shot)
    assert os.path.getsize(shot) > 1000
    assert "/auth-error.cgi" in d.current_url
    assert title == "This page needs multi-factor authentication"
    assert "second factor" in explain
    # The retry link leads back to the page (and to the IdP again).
    d.find_element(By.ID, "retry").click()
    _wait(d, lambda x: x.find_elements(By.ID, "username") or "PAGE:admin" in x.page_source,
          "the retry")
    assert d.current_url.startswith(idp.base + "/sso/"), d.current_url
