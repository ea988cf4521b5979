"""Freshness with several AuthnStatements, against a live httpd (issue 11,
item 3). An assertion may carry several AuthnStatements, each with its own
class and AuthnInstant. Freshness must be judged on the statement whose
class satisfies the location's AuthnContextRequest (the oldest of those
when several do), and on the oldest statement where no class rule applies:
a fresh password statement must not lend its AuthnInstant to a
three-day-old MFA statement.

Locations (livehttpd.OPTION_SETS["fresh"]):
  /stepfresh   AuthnContextRequest MFA, AuthnContextMaxAge 300, Require MFA
  /stepforce   AuthnContextRequest MFA, AuthnContextForceAuthn On, Require MFA
  /maxage      Require authnContextMaxAge 300 (no class rule)
  /maxage-mfa  AuthnContextRequest MFA, Require MFA and authnContextMaxAge 300
"""
import datetime
import json

import pytest

import samlforge as sf
import livehttpd as L
from livehttpd import assert_no_session, assert_rejected, attack_context, login

OLD = -3 * 24 * 3600     # three days ago
FRESH = -5               # five seconds ago


@pytest.fixture(scope="module")
def sp(live):
    return live("fresh")


def stmts(*pairs):
    return [{"class_ref": c, "authn_instant": t} for c, t in pairs]


def env_of(rep):
    """The environment CGI's variables (JSON)."""
    return json.loads(rep.r.text)


def assert_step_up(sp, c, path, force):
    rep = c.get(path)
    assert rep.status == 302 and rep.location.startswith(sf.IDP_SSO_URL), \
        (rep.status, rep.location, sp.log_lines(rep.test_id))
    xml, _ = L.decode_redirect(rep.location)
    assert sf.MFA in xml, xml
    assert ('ForceAuthn="true"' in xml) == force, xml


# --- a session with a fresh password and an old MFA statement ----------------

FRESH_PW_OLD_MFA = stmts((sf.PPT, FRESH), (sf.MFA, OLD))
OLD_MFA_FRESH_PW = stmts((sf.MFA, OLD), (sf.PPT, FRESH))


@pytest.mark.parametrize("order", ["fresh-password-first", "old-mfa-first"])
def test_old_mfa_statement_is_stepped_up_with_force_authn(sp, keys, order):
    """AuthnContextMaxAge 300 with AuthnContextRequest MFA: the MFA
    statement is three days old, whatever the password statement says."""
    st = FRESH_PW_OLD_MFA if order == "fresh-password-first" else OLD_MFA_FRESH_PW
    c = login(keys, sp, authn_statements=st)
    assert_step_up(sp, c, "/stepfresh/vars", force=True)


@pytest.mark.parametrize("order", ["fresh-password-first", "old-mfa-first"])
def test_require_max_age_denies_an_old_statement(sp, keys, order):
    """A bare `Require authnContextMaxAge 300` judges the oldest statement;
    with AuthnContextRequest MFA it judges the MFA statement. Both are three
    days old here: 403 (no step-up is configured for either)."""
    st = FRESH_PW_OLD_MFA if order == "fresh-password-first" else OLD_MFA_FRESH_PW
    c = login(keys, sp, authn_statements=st)
    for path in ("/maxage/vars", "/maxage-mfa/vars"):
        rep = c.get(path)
        assert rep.status == 403, (path, rep.status, rep.location,
                                   sp.log_lines(rep.test_id))
        assert "authnContextMaxAge 300" in "\n".join(sp.log_lines(rep.test_id))


@pytest.mark.parametrize("order", ["fresh-mfa-first", "old-password-first"])
def test_fresh_mfa_statement_is_judged_on_its_own_instant(sp, keys, order):
    """The other way round: a fresh MFA statement satisfies the MFA
    locations on its own instant, while a bare max-age rule still sees the
    old password statement."""
    pairs = [(sf.MFA, FRESH), (sf.PPT, OLD)]
    if order == "old-password-first":
        pairs.reverse()
    c = login(keys, sp, authn_statements=stmts(*pairs))
    for path in ("/stepfresh/vars", "/maxage-mfa/vars"):
        rep = c.get(path)
        assert rep.status == 200, (path, rep.status, rep.location,
                                   sp.log_lines(rep.test_id))
    rep = c.get("/maxage/vars")
    assert rep.status == 403, (rep.status, sp.log_lines(rep.test_id))


def test_instant_variable_is_the_oldest_statement(sp, keys):
    c = login(keys, sp, authn_statements=FRESH_PW_OLD_MFA)
    rep = c.get("/private/vars")
    assert rep.status == 200
    env = env_of(rep)
    old = sf.utcnow() + datetime.timedelta(seconds=OLD)
    got = sf.parse_time(env["AUTHN_CONTEXT_INSTANT"])
    assert abs((got - old).total_seconds()) < 60, env["AUTHN_CONTEXT_INSTANT"]
    assert env["Shib_Authentication_Instant"] == env["AUTHN_CONTEXT_INSTANT"]
    # the first SessionIndex, as before (samlforge numbers them _session-N)
    assert env["AUTHN_CONTEXT_SESSION_INDEX"] == "_session-0"


# --- the ACS check of a step-up answer ---------------------------------------

def start(sp, target):
    c = sp.client()
    c.start_login(target)
    return c


@pytest.mark.parametrize("target", ["/stepfresh/", "/stepforce/"])
@pytest.mark.parametrize("order", ["fresh-password-first", "old-mfa-first"])
def test_step_up_answer_with_an_old_mfa_statement_is_refused(sp, keys, target, order):
    """The login asked for MFA with a max age (or ForceAuthn); the answer
    carries MFA, but only in a statement three days old."""
    c = start(sp, target)
    st = FRESH_PW_OLD_MFA if order == "fresh-password-first" else OLD_MFA_FRESH_PW
    rep = c.post_acs(attack_context(keys, sp, c.request_id).response(authn_statements=st))
    assert_rejected(sp, rep, ("insufficient-context",))
    assert_no_session(sp, c, rep)


@pytest.mark.parametrize("target", ["/stepfresh/", "/stepforce/"])
@pytest.mark.parametrize("order", ["fresh-mfa-first", "old-password-first"])
def test_step_up_answer_with_a_fresh_mfa_statement_opens(sp, keys, target, order):
    """The control: the MFA statement is fresh; an old password statement
    beside it does not matter for an MFA request."""
    pairs = [(sf.MFA, FRESH), (sf.PPT, OLD)]
    if order == "old-password-first":
        pairs.reverse()
    c = start(sp, target)
    rep = c.post_acs(attack_context(keys, sp, c.request_id).response(
        authn_statements=stmts(*pairs)))
    assert rep.status == 303 and rep.session_cookie_set(), sp.log_lines(rep.test_id)
    assert c.get(target + "vars").status == 200


def test_two_mfa_statements_judged_on_the_older(sp, keys):
    """Fail safe: when several statements satisfy the request, the oldest
    of them counts."""
    c = login(keys, sp, authn_statements=stmts((sf.MFA, FRESH), (sf.MFA, OLD)))
    assert_step_up(sp, c, "/stepfresh/vars", force=True)
