"""The attack suite through authncontext-verify.

Every attack of tests/lib/attacks.py that a Response file can carry is
built from a valid response signed by the trusted IdP (python3-xmlsec), run
through the CLI as one SP instance, and must end with the expected verdict:
rejected for one of the listed reasons, or (comment, whitespace and
look-alike class tricks) accepted with exactly the whole signed values.
A live-httpd runner reuses the same attack list (attacks.ATTACKS).

    cd tests && ANC_BUILD_DIR=../build /usr/bin/python3 -m pytest -q security
"""
import uuid

import pytest

import attacks as A
import samlforge as sf

CLI_ATTACKS = [a for a in A.ATTACKS if "cli" in a.transports]


def make_ctx(keys, canary=None):
    kw = {"canary_url": canary.url} if canary is not None else {}
    return A.AttackContext(keys.idp, keys.attacker, keys.sp.cert_pem,
                           now=sf.utcnow(), request_id="_req-" + uuid.uuid4().hex, **kw)


def run_values(cli, keys, ctx, values, raw_last=False, **opts):
    """Writes the values to files and runs them, in order, through one CLI
    invocation (one verifier, one replay cache)."""
    d = keys.dir / ("run-" + uuid.uuid4().hex)
    d.mkdir()
    files = []
    for i, v in enumerate(values):
        raw = raw_last and i == len(values) - 1
        p = d / ("%02d.%s" % (i, "b64" if raw else "xml"))
        p.write_bytes(v)
        files.append(str(p))
    no_request = opts.pop("no_request", False)
    args = cli.sp_args(keys.metadata, ctx.sp_entity_id, ctx.acs_url,
                       request_ids=[] if no_request else [ctx.request_id] + ctx.extra_request_ids,
                       now=sf.fmt_time(ctx.now),
                       allow_unsolicited=opts.pop("allow_unsolicited", False),
                       allow_sha1=opts.pop("allow_sha1", False),
                       require_signed_assertion=opts.pop("require_signed_assertion", False),
                       sp_key=keys.sp_key if opts.pop("sp_key", False) else None,
                       max_size=opts.pop("max_size", None))
    assert not opts, "unknown options %r" % opts
    r = cli.run(args + files)
    assert len(r.records) == len(files), r
    return r


@pytest.mark.parametrize("kind", ["response", "assertion", "both", "unsolicited"])
def test_base_responses_are_accepted(cli, keys, kind):
    """The starting points are valid: an attack's rejection is caused by the
    attack, not by a broken base."""
    ctx = make_ctx(keys)
    r = run_values(cli, keys, ctx, [ctx.base(kind)], allow_unsolicited=(kind == "unsolicited"))
    rec = r.records[0]
    assert rec["verdict"] == "accept", rec
    assert rec["name_id"]["value"] == A.GOOD_NAME
    assert rec["authn_context_class_refs"] == [sf.PPT]


@pytest.mark.parametrize("attack", CLI_ATTACKS, ids=[a.name for a in CLI_ATTACKS])
def test_attack(cli, keys, canary, attack):
    ctx = make_ctx(keys, canary)
    hits = canary.hits
    base = ctx.base(attack.base)
    primes = attack.prime_values(ctx, base)
    value = attack.value(ctx, base)
    r = run_values(cli, keys, ctx, primes + [value], raw_last=attack.raw, **attack.options)
    for rec in r.records[:-1]:
        assert rec["verdict"] == "accept", ("priming response refused", rec)
    rec = r.records[-1]
    if attack.verdict == "reject":
        assert rec["verdict"] == "reject", rec
        assert rec["reason"] in attack.reasons, rec
        # nothing of the forged assertion leaks into a rejection record
        assert set(rec) - {"in-response-to-unknown": {"in_response_to", "hint"},
                           "signature-invalid": {"metadata_keys", "message_certificates",
                                                 "hint"}}.get(rec["reason"], set()) \
            == {"file", "verdict", "reason", "detail"}, rec
        assert r.rc == 1
    else:
        assert rec["verdict"] == "accept", rec
        attack.check(rec, ctx)
        assert r.rc == 0
    # nothing named in the message was fetched (the listener is on loopback)
    assert canary.hits == hits, "the verifier connected to %s" % canary.url


def test_canary_detects_a_fetch(canary):
    """The network canary works: a real fetch is counted (so 'no hits' in
    the attack tests means nothing was fetched, not a deaf listener)."""
    import socket
    import time
    before = canary.hits
    with socket.create_connection(("127.0.0.1", canary.port), timeout=5):
        pass
    deadline = time.time() + 5
    while canary.hits == before and time.time() < deadline:
        time.sleep(0.05)
    assert canary.hits == before + 1
