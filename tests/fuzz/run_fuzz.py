#!/usr/bin/python3
"""Runs the libFuzzer targets (built by tests/fuzz/fuzz.mk) for a bounded
time each, after replaying tests/fuzz/regressions/<target>/*.

    run_fuzz.py --build build/fuzz --seconds 60 fuzz_response fuzz_redirect
    run_fuzz.py --build build/fuzz --regress-only fuzz_response

The environment the targets need (fixture paths, SP settings, the fixed
clock) is derived from build/fuzz/fixtures/settings.tsv, written by
tests/lib/samlforge.py. Exit status 1 when any regression input or any
fuzzing run fails; the offending input is in build/fuzz/crashes/.
"""

import argparse
import calendar
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# max_len per target: a bit above the largest realistic input, so the
# fuzzer spends its time on structure rather than on megabyte blobs (the
# size caps themselves are covered by seeds and by tests/security).
MAX_LEN = {
    "fuzz_response": 32768,
    "fuzz_metadata": 16384,
    "fuzz_redirect": 8192,
    "fuzz_session": 4096,
    "fuzz_structure": 32768,
    "fuzz_logout": 16384,
}
DICT = {"fuzz_response": "saml.dict", "fuzz_metadata": "saml.dict",
        "fuzz_structure": "saml.dict", "fuzz_logout": "saml.dict"}


def fixture_env(build):
    fx = os.path.join(build, "fixtures")
    st = {}
    with open(os.path.join(fx, "settings.tsv")) as f:
        for line in f:
            if "\t" in line:
                k, v = line.rstrip("\n").split("\t", 1)
                st[k] = v
    now = calendar.timegm(time.strptime(st["now"], "%Y-%m-%dT%H:%M:%SZ"))
    env = dict(os.environ)
    env.update({
        "ANC_FUZZ_METADATA": os.path.join(fx, st["metadata"]),
        "ANC_FUZZ_SP_ENTITY": st["sp_entity_id"],
        "ANC_FUZZ_ACS_URL": st["acs_url"],
        "ANC_FUZZ_NOW": str(now),
        "ANC_FUZZ_SP_KEY": os.path.join(fx, st["sp_key"]),
        "ANC_FUZZ_IDP_CERT": os.path.join(fx, st["idp_cert"]),
        "ANC_FUZZ_FED_CERT": os.path.join(fx, "metadata", "fed.crt"),
        # Leaks are findings; UB already aborts (-fno-sanitize-recover).
        "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:symbolize=1",
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    })
    return env


def regress(binary, target, env):
    rdir = os.path.join(HERE, "regressions", target)
    files = sorted(os.path.join(rdir, f) for f in os.listdir(rdir)) \
        if os.path.isdir(rdir) else []
    files = [f for f in files if os.path.isfile(f) and not f.endswith(".md")]
    if not files:
        print("regress %-14s no inputs" % target)
        return True
    r = subprocess.run([binary] + files, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=300)
    ok = r.returncode == 0
    print("regress %-14s %d inputs: %s" % (target, len(files), "ok" if ok else "FAILED"))
    if not ok:
        sys.stdout.write(r.stdout.decode(errors="replace")[-6000:])
    return ok


def fuzz(build, binary, target, seconds, env):
    corpus = os.path.join(build, "corpus", target)
    seeds = os.path.join(build, "seeds", target)
    crashes = os.path.join(build, "crashes")
    logs = os.path.join(build, "logs")
    for d in (corpus, crashes, logs):
        os.makedirs(d, exist_ok=True)
    cmd = [binary, "-max_total_time=%d" % seconds,
           "-max_len=%d" % MAX_LEN.get(target, 8192),
           "-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1",
           "-artifact_prefix=%s/%s-" % (crashes, target)]
    if target in DICT:
        cmd.append("-dict=%s" % os.path.join(HERE, DICT[target]))
    cmd += [corpus, seeds]
    log = os.path.join(logs, target + ".log")
    started = time.time()
    with open(log, "wb") as out:
        try:
            r = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                               timeout=seconds + 300)
            rc = r.returncode
        except subprocess.TimeoutExpired:
            rc = -1
    with open(log, "rb") as f:
        text = f.read().decode(errors="replace")
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", text)
    cov = re.findall(r"cov: (\d+) ft: (\d+)", text)
    artifacts = re.findall(r"Test unit written to (\S+)", text)
    print("fuzz    %-14s %3ds rc=%d runs=%s cov=%s ft=%s corpus=%d%s" % (
        target, time.time() - started, rc, runs.group(1) if runs else "?",
        cov[-1][0] if cov else "?", cov[-1][1] if cov else "?",
        len(os.listdir(corpus)),
        (" CRASH " + " ".join(artifacts)) if artifacts else ""))
    if rc != 0:
        # The sanitizer report: the part of the log that names the function.
        m = re.search(r"==\d+==ERROR.*", text, re.S) or \
            re.search(r"(runtime error.*)", text, re.S) or \
            re.search(r"(fuzz init:.*)", text, re.S)
        sys.stdout.write((m.group(0) if m else text)[:6000] + "\n")
        print("log: %s" % log)
    return rc == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build/fuzz")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--regress-only", action="store_true")
    ap.add_argument("targets", nargs="+")
    args = ap.parse_args()
    env = fixture_env(args.build)
    failed = []
    for t in args.targets:
        binary = os.path.join(args.build, t)
        if not regress(binary, t, env):
            failed.append(t + " (regression)")
            continue
        if not args.regress_only and not fuzz(args.build, binary, t, args.seconds, env):
            failed.append(t)
    if failed:
        print("fuzz: FAILED: %s" % ", ".join(failed))
        return 1
    print("fuzz: all targets clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
