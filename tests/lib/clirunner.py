"""Running build/authncontext-verify from the Python suites.

The binary is found through ANC_BUILD_DIR (default <repo>/build).
"""
import json
import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_dir():
    return os.environ.get("ANC_BUILD_DIR") or os.path.join(REPO, "build")


def cli_path():
    return os.path.join(build_dir(), "authncontext-verify")


class Result:
    def __init__(self, proc, parse=True):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr.decode("utf-8", "replace")
        # every stdout line must be one JSON object in valid UTF-8: parse
        # strictly, so an escaping bug fails the test that met it
        self.records = [json.loads(l) for l in proc.stdout.decode("utf-8").splitlines()] \
            if parse else []

    def __repr__(self):
        return "Result(rc=%r, records=%r, stderr=%r)" % (self.rc, self.records, self.stderr)


def run(args, stdin=None, timeout=60, parse=True):
    p = subprocess.run([cli_path()] + [a if isinstance(a, bytes) else os.fspath(a)
                                       if isinstance(a, os.PathLike) else str(a) for a in args],
                       input=stdin, capture_output=True, timeout=timeout)
    return Result(p, parse)


def sp_args(metadata, sp_entity_id, acs_url, request_ids=(), now=None,
            allow_unsolicited=False, allow_sha1=False, require_signed_assertion=False,
            sp_key=None, sp_cert=None, clock_skew=None, max_size=None):
    """Command-line options for one SP configuration."""
    a = []
    for m in ([metadata] if isinstance(metadata, (str, os.PathLike)) else metadata):
        a += ["--idp-metadata", m]
    a += ["--sp-entity-id", sp_entity_id, "--acs-url", acs_url]
    for r in request_ids:
        a += ["--request-id", r]
    if now is not None:
        a += ["--now", now]
    if allow_unsolicited:
        a.append("--allow-unsolicited")
    if allow_sha1:
        a.append("--allow-sha1")
    if require_signed_assertion:
        a.append("--require-signed-assertion")
    if sp_key is not None:
        a += ["--sp-key", sp_key]
    if sp_cert is not None:
        a += ["--sp-cert", sp_cert]
    if clock_skew is not None:
        a += ["--clock-skew", clock_skew]
    if max_size is not None:
        a += ["--max-size", max_size]
    return a
