"""Issue 4: the policy engine through the real IdP — Entra-style attribute and
alias, comparisons over the ladder, freshness."""

import pytest

from helpers import (ENTRA_MFA, ENTRA_PASSWORD, MFA, browser_for, classes_of, login,
                     page_of, variables)

pytestmark = pytest.mark.issue4


def test_entra_attribute_and_alias_open_mfa(sp, idp):
    idp.control(entra=True)
    b = browser_for("bob", otp="123456")
    r = b.get(sp.url("/mfa/vars"))
    assert r.status_code == 200, (r.status_code, b.hops)
    env = variables(b, sp, "/mfa/vars")
    # Statement class, then attribute classes, then alias targets (README order).
    assert set(classes_of(env)) == {ENTRA_PASSWORD, ENTRA_MFA, MFA}, classes_of(env)
    assert classes_of(env)[0] == ENTRA_PASSWORD and classes_of(env)[-1] == MFA


def test_entra_password_only_denied_mfa(sp, idp):
    idp.control(entra=True)
    b = login(sp, "alice")
    env = variables(b, sp)
    assert MFA not in classes_of(env) and ENTRA_MFA not in classes_of(env)
    assert ENTRA_PASSWORD in classes_of(env)
    assert b.get(sp.url("/mfa/")).status_code == 403


def test_entra_step_up_satisfied_through_alias(sp, idp):
    idp.control(entra=True)
    b = login(sp, "bob")
    b.set_credentials("bob", "bob-pw", "123456")
    r = b.get(sp.url("/admin/"))
    assert r.status_code == 200 and page_of(r) == "admin", (r.status_code, b.hops)


def test_minimum_grants_stronger_class(sp, idp):
    b = login(sp, "bob", otp="123456")
    assert classes_of(variables(b, sp)) == [MFA]
    r = b.get(sp.url("/minimum-ppt/"))
    assert r.status_code == 200 and page_of(r) == "minimum-ppt"
    # Exact comparison with the same class list does not.
    assert b.get(sp.url("/exact-ppt/")).status_code == 403


def test_minimum_grants_equal_class(sp, idp):
    b = login(sp, "alice")
    assert b.get(sp.url("/minimum-ppt/")).status_code == 200
    assert b.get(sp.url("/exact-ppt/")).status_code == 200


def test_require_max_age_denies_old_authn_instant(sp, idp):
    idp.control(authn_age=3600)
    old = login(sp, "alice")
    r = old.get(sp.url("/maxage/"), follow=False)
    assert r.status_code == 403, (r.status_code, r.headers)
    idp.control(authn_age=0, reset_sessions=True)
    fresh = login(sp, "alice")
    r = fresh.get(sp.url("/maxage/"), follow=False)
    assert r.status_code == 200 and page_of(r) == "maxage"


def test_require_regex_form(sp, idp):
    b = login(sp, "alice")
    assert b.get(sp.url("/regex/")).status_code == 403
    b = login(sp, "bob", otp="123456")
    r = b.get(sp.url("/regex/"))
    assert r.status_code == 200 and page_of(r) == "regex"


def test_require_none_composes(sp, idp):
    b = login(sp, "alice")
    r = b.get(sp.url("/no-mfa/"))
    assert r.status_code == 200 and page_of(r) == "no-mfa"
    b = login(sp, "bob", otp="123456")
    assert b.get(sp.url("/no-mfa/")).status_code == 403
