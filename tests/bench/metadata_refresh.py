#!/usr/bin/python3
"""What a refresh costs the workers (issue 13: "refresh of an unchanged
aggregate costs near nothing in the workers"). One httpd with the
generated aggregate as a file source (refresh=1, verify=) and one with
the per-entity directory made from it (refresh=1), two worker processes
each. Measures the CPU time (utime+stime from /proc) the workers spend:

- idle for 20 s with the source unchanged (each worker stats the file
  once a second),
- after the same bytes are written again as a new file (new inode and
  mtime, as a cron job copying the aggregate would): read and hashed,
  not parsed,
- after a real new version (one IdP's key changed): parsed and verified
  by every worker, for comparison.

CPU times, not wall times: the machine is shared. Writes
tests/bench/metadata-refresh.md.

    make -s && /usr/bin/python3 tests/bench/metadata_refresh.py [--entities 10000]
"""
import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import metadata_scale as ms  # noqa: E402  (sets the import paths)
import benchlib  # noqa: E402
import clirunner  # noqa: E402
import samlforge as sf  # noqa: E402
from test_metadata_sources import Keys, replace_file, sp_with  # noqa: E402

WORKERS = "StartServers 2\nMinSpareThreads 32\nMaxSpareThreads 64\n"


def workers(sp):
    """Pids of sp's child processes (the workers and mod_cgid's daemon)."""
    return benchlib.children(sp.pid)


def cpu(pids):
    total = 0.0
    for p in pids:
        try:
            total += ms.proc_cpu(p)
        except OSError:
            pass
    return total


def window(sp, seconds, action=None):
    """Workers' CPU seconds over `seconds` after action() (if any)."""
    pids = workers(sp)
    c0 = cpu(pids)
    if action:
        action()
    time.sleep(seconds)
    return cpu(pids) - c0


def run(keys, name, md_line, path, same_bytes, new_version):
    sp = sp_with(keys, name, md_line, WORKERS)
    try:
        sp.start()
        time.sleep(3)  # both workers up and past their first look
        idle = window(sp, 20)
        same = window(sp, 5, lambda: same_bytes(path))
        log = sp.httpd.log_text()
        changed = window(sp, 15, lambda: new_version(path))
        refreshed = sp.httpd.log_text()[len(log):].count(": refreshed, ")
        return {"idle": idle, "same": same, "changed": changed, "refreshed": refreshed,
                "n": len(workers(sp))}
    finally:
        sp.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=10000)
    ap.add_argument("--out", default=os.path.join(HERE, "metadata-refresh.md"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="anc-mdrefresh-")
    keys = Keys(work)
    data = ms.aggregate(keys, a.entities)
    # a real new version: the members' certificates are new key pairs
    rolled = ms.aggregate(keys, a.entities)
    os.chmod(work, 0o755)
    agg = os.path.join(work, "aggregate.xml")
    replace_file(agg, data)
    cli = clirunner.cli_path()
    d = os.path.join(work, "entities")
    os.makedirs(d)

    def split(src, dest):
        subprocess.run([cli, "--metadata-split", dest, "--idp-metadata", src,
                        "--metadata-verify", keys.fed_cert], check=True,
                       capture_output=True)
        subprocess.run(["chmod", "-R", "a+rX", dest], check=True)

    split(agg, d)

    def same_file(path):
        with open(path, "rb") as f:
            replace_file(path, f.read())

    def new_file(path):
        replace_file(path, rolled)

    def same_dir(path):
        # the splitter run again on the same aggregate: every file rewritten
        split(agg, path)

    def new_dir(path):
        new_file(agg)
        split(agg, path)

    rows = []
    rows.append(("file source, 1 IdP (baseline)",
                 run(keys, "mdr-small", "AuthnContextIdPMetadataFile %s refresh=1"
                     % keys.metadata, keys.metadata, lambda p: None, lambda p: None)))
    rows.append(("aggregate as one file source",
                 run(keys, "mdr-file", "AuthnContextIdPMetadataFile %s verify=%s refresh=1"
                     % (agg, keys.fed_cert), agg, same_file, new_file)))
    replace_file(agg, data)
    rows.append(("per-entity directory",
                 run(keys, "mdr-dir", "AuthnContextIdPMetadataFile %s refresh=1" % d,
                     d, same_dir, new_dir)))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# What a metadata refresh costs the workers",
        "",
        "Written by `tests/bench/metadata_refresh.py`; never edited by hand. CPU "
        "seconds (user+system, from /proc) of all of one httpd's child processes "
        "(%d: two workers and mod_cgid's daemon), `refresh=1`; shared 2-CPU machine."
        % rows[1][1]["n"],
        "",
        "- date: %s" % now,
        "- aggregate: %d IdPs, %.1f MB, signed" % (a.entities, len(data) / 1e6),
        "",
        "| source | idle 20 s, unchanged | same bytes written again (5 s) | a new "
        "version (15 s) | `refreshed` lines |",
        "|---|---|---|---|---|",
    ]
    for label, m in rows:
        lines.append("| %s | %.2f s | %.2f s | %.2f s | %d |" % (
            label, m["idle"], m["same"], m["changed"], m["refreshed"]))
    lines += [
        "",
        "Unchanged, each worker only stats the source once per refresh interval. "
        "The same bytes in a new file are read and hashed (SHA-256) by each worker, "
        "not parsed. A new version is parsed (and for the file source verified) by "
        "every worker: for a large federation, the per-entity directory keeps that "
        "to reading the index.",
    ]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    subprocess.run(["rm", "-rf", work])
    return 0


if __name__ == "__main__":
    sys.exit(main())
