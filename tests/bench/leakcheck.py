#!/usr/bin/python3
"""leakcheck.py - tell a leak from allocator growth in the httpd worker
(issue 11 item 10). One private httpd in the foreground (`apache2 -X`: one
process, the bench's 64-thread event MPM), sessions in a private
redis-server (or shmcb), unsolicited logins minted by tests/bench/mint.py,
posted by wrk (acs.lua) while valid-session GETs and garbage POSTs run too.

    /usr/bin/python3 tests/bench/leakcheck.py --tool memcheck --logins 300
    /usr/bin/python3 tests/bench/leakcheck.py --tool growth --phases 6 --logins 3000

--tool memcheck: apache2 -X under valgrind --leak-check=full; prints the
  LEAK SUMMARY and every "definitely/indirectly lost" record with its
  stack (the valgrind log is kept with --keep). Memory still reachable at
  exit (pools not destroyed by httpd's -X shutdown) is listed too, to be
  compared between two runs of different sizes.
--tool growth: no instrumentation. After a warm-up phase and then after
  each of --phases phases of --logins logins, it records the worker's
  VmRSS and glibc's own counters (malloc_stats() called through gdb: bytes
  in use by the program, and bytes the arenas hold from the system), and
  fits the slope per login after the warm-up. Bytes in use that keep
  rising mean memory the program keeps (a leak, or a pool that grows);
  system bytes or RSS rising while bytes in use stay flat mean allocator
  growth (fragmentation, arenas).
Everything started is stopped by pid. Exit status 0 unless a check fails
(memcheck: definitely lost > 0 in our code; growth: nothing).
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402
import mint  # noqa: E402
import run_bench as rb  # noqa: E402

servers = bl.servers


def log(msg):
    sys.stdout.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stdout.flush()


def slope(xs, ys):
    """Least-squares slope of ys over xs."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


class Run:
    def __init__(self, a):
        self.a = a
        self.work = tempfile.mkdtemp(prefix="anc-leak-", dir="/tmp")
        os.chmod(self.work, 0o755)
        self.to_stop = []
        self.proc = None
        self.lines = []
        self.used = 0

    def setup(self):
        a = self.a
        logins = a.mix in ("all", "logins")
        n = a.logins * (a.phases + 1) + 50 if logins else 10
        info = mint.mint(os.path.join(self.work, "mint"), rb.SP_ENTITY, rb.ACS_URL, n,
                         jobs=bl.NCPU, files=0, log=log)
        with open(info["form"], "rb") as f:
            self.lines = [l.rstrip(b"\n") for l in f]
        if a.cache == "redis":
            r = servers.Redis(os.path.join(self.work, "redis"))
            r.start()
            self.to_stop.append(r.stop)
            cache = "redis:127.0.0.1:%d" % r.port
        else:
            cache = "shmcb:@ROOT@/run/sessions(134217728)"
        body = rb.OURS_BODY % {"host": rb.SP_HOST, "entity": rb.SP_ENTITY,
                               "cache": "AuthnContextSessionCache " + cache, "mfa": rb.MFA}
        # unsolicited logins minted minutes before use (valgrind is slow)
        body += "AuthnContextUnsolicitedMaxAge 0\n"
        self.inst = bl.Instance("leak", body, load_ours=True, log_level="warn")
        shutil.copy(info["metadata"], self.inst.h.path("conf", "idp-metadata.xml"))
        h = self.inst.h
        conf = self.inst.conf_text
        if a.threads:
            for k in ("ThreadsPerChild", "ThreadLimit", "MaxRequestWorkers", "MaxSpareThreads"):
                conf = re.sub(r"(?m)^%s \d+$" % k, "%s %d" % (k, a.threads), conf)
        if a.max_mem_free is not None:
            conf += "MaxMemFree %d\n" % a.max_mem_free
        h.write("conf/httpd.conf", conf)
        h.fix_permissions()
        cmd = [servers.APACHE2, "-X", "-d", h.root, "-f", h.conf]
        if a.tool == "memcheck":
            self.vg_log = os.path.join(self.work, "valgrind.log")
            cmd = ["valgrind", "--leak-check=full", "--show-leak-kinds=all", "--keep-debuginfo=yes",
                   "--num-callers=40", "--log-file=" + self.vg_log] + cmd
        env = dict(os.environ)
        if a.arena_max:
            env["MALLOC_ARENA_MAX"] = str(a.arena_max)
        if a.glibc_tunables:
            # e.g. glibc.malloc.tcache_count=0: no per-thread cache of freed
            # chunks (which malloc_stats() counts as in use)
            env["GLIBC_TUNABLES"] = a.glibc_tunables
        self.out = open(os.path.join(self.work, "httpd.out"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT, env=env)
        self.to_stop.append(self.stop_httpd)
        if not servers.wait_for_port(self.inst.port, 20 if a.tool == "growth" else 180):
            raise RuntimeError("httpd did not listen:\n" + h.log_tail())
        log("httpd -X pid %d on 127.0.0.1:%d, cache %s, tool %s, threads %s, MaxMemFree %s, "
            "MALLOC_ARENA_MAX %s" % (self.proc.pid, self.inst.port, cache, a.tool,
                                     a.threads or 64, a.max_mem_free, a.arena_max or "-"))

    def stop_httpd(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=300)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def take_file(self, n):
        out = self.lines[self.used:self.used + n]
        self.used += len(out)
        if len(out) < n:
            raise RuntimeError("ran out of minted responses")
        path = os.path.join(self.work, "chunk-%d.form" % self.used)
        with open(path, "wb") as f:
            f.write(b"\n".join(out) + b"\n")
        os.chmod(path, 0o644)
        return path

    def phase(self, n, seconds):
        """n logins (8 connections) while GETs and garbage POSTs run."""
        form = self.take_file(n) if self.a.mix in ("all", "logins") else None
        per_thread = (n + 1) // 2
        slow = self.a.tool != "growth"
        kw = {"timeout_s": 120} if slow else {}
        mix = self.a.mix
        none = {"ok": 0, "bad": 0, "exhausted": False, "statuses": "-"}
        acs = get = garbage = None
        if mix in ("all", "logins"):
            acs = bl.WrkBackground(self.inst.base + "/saml/acs", seconds, threads=2,
                                   connections=4 if slow else 8,
                                   script=os.path.join(HERE, "acs.lua"),
                                   args=[form, 2, 0, per_thread, 0], **kw)
        if mix in ("all", "gets"):
            get = bl.WrkBackground(self.inst.base + "/app/index.html", seconds, threads=1,
                                   connections=4 if slow else 16,
                                   script=os.path.join(HERE, "get.lua"), args=[self.cookie],
                                   **kw)
        if mix in ("all", "garbage"):
            garbage = bl.WrkBackground(self.inst.base + "/saml/acs", seconds, threads=1,
                                       connections=2 if mix == "all" else 8,
                                       script=os.path.join(HERE, "garbage.lua"),
                                       args=[50 if not slow else 500] if mix == "all" else [0],
                                       **kw)
        return tuple(w.result() if w else none for w in (acs, get, garbage))

    def malloc_stats(self):
        """glibc's totals, printed by malloc_stats() into httpd's stderr
        (its error log once started; our pipe with -X before that)."""
        h = self.inst.h
        before = h.log_size()
        subprocess.run(["gdb", "-p", str(self.proc.pid), "-batch", "-nx",
                        "-ex", "call (void)malloc_stats()"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        time.sleep(0.2)
        text = h.log_text()[before:]
        m = re.search(r"Total \(incl\. mmap\):\s*system bytes\s*=\s*(\d+)\s*"
                      r"in use bytes\s*=\s*(\d+)", text)
        arenas = len(re.findall(r"^Arena \d+:", text, re.M))
        if not m:
            return None
        return {"system": int(m.group(1)), "in_use": int(m.group(2)), "arenas": arenas}

    def run(self):
        a = self.a
        # the first login also initialises the libraries: slow under valgrind
        st, hdrs, _ = bl.post_form(self.inst.port, "/saml/acs", self.lines[self.used],
                                   timeout=600)
        self.used += 1
        if st not in (302, 303) or "set-cookie" not in hdrs:
            raise RuntimeError("first login failed: HTTP %d" % st)
        self.cookie = "; ".join(c.split(";", 1)[0] for c in hdrs["set-cookie"])
        rows = []
        total = 0
        for ph in range(a.phases + 1):
            ra, rg, rgar = self.phase(a.logins, a.seconds)
            total += ra["ok"] if a.mix in ("all", "logins") else (
                rg["ok"] if a.mix == "gets" else rgar["ok"])
            st = bl.proc_status(self.proc.pid)
            ms = self.malloc_stats() if a.tool == "growth" else None
            rows.append((total, st.get("VmRSS", 0), ms))
            log("phase %d: %d logins (%d other: %s), %d GETs, %d garbage; total logins %d; "
                "VmRSS %d kB%s" % (
                    ph, ra["ok"], ra["bad"], ra["statuses"], rg["ok"], rgar["ok"], total,
                    st.get("VmRSS", 0),
                    "" if not ms else "; malloc in use %d B, system %d B, %d arenas" % (
                        ms["in_use"], ms["system"], ms["arenas"])))
            if ra["bad"]:
                log("WARNING: not every login succeeded in phase %d" % ph)
        self.rows = rows
        if a.tool == "growth" and len(rows) >= 3:
            after = rows[1:]          # phase 0 is the warm-up
            xs = [r[0] for r in after]
            rss = slope(xs, [r[1] * 1024 for r in after])
            log("slope after warm-up, per %s: VmRSS %+.1f B" % (
                "login" if a.mix in ("all", "logins") else a.mix[:-1] + " request", rss))
            if all(r[2] for r in after):
                log("                               malloc in use %+.1f B, system %+.1f B" % (
                    slope(xs, [r[2]["in_use"] for r in after]),
                    slope(xs, [r[2]["system"] for r in after])))

    def report_memcheck(self):
        with open(self.vg_log, errors="replace") as f:
            text = f.read()
        summary = text[text.find("LEAK SUMMARY"):]
        log("valgrind LEAK SUMMARY:\n" + "\n".join(
            l.split("== ", 1)[-1] for l in summary.splitlines()[:8]))
        records = re.split(r"\n==\d+== \n", text)
        lost = [r for r in records if re.search(r"(definitely|indirectly) lost in loss", r)]
        for r in lost:
            log("---\n" + "\n".join(l.split("== ", 1)[-1] for l in r.splitlines()[:25]))
        ours = [r for r in lost if "mod_authncontext" in r or "anc_" in r]
        m = re.search(r"definitely lost: ([\d,]+) bytes in ([\d,]+) blocks", summary)
        log("lost records: %d, %d of them through mod_authncontext" % (len(lost), len(ours)))
        if self.a.keep:
            log("valgrind log: %s" % self.vg_log)
        return (m.group(1) if m else "?"), ours

    def stop(self):
        for fn in reversed(self.to_stop):
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - report and go on stopping
                log("stop failed: %s" % e)
        self.to_stop = []
        if not self.a.keep:
            shutil.rmtree(self.work, ignore_errors=True)
            if getattr(self, "inst", None) is not None:
                shutil.rmtree(self.inst.h.root, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tool", choices=["memcheck", "growth"], default="growth")
    ap.add_argument("--logins", type=int, default=2000, help="logins per phase")
    ap.add_argument("--phases", type=int, default=5, help="phases after the warm-up")
    ap.add_argument("--seconds", type=int, default=30,
                    help="wrk duration per phase (logins stop when a phase's are used)")
    ap.add_argument("--cache", choices=["redis", "shmcb"], default="redis")
    ap.add_argument("--arena-max", type=int, default=0, help="MALLOC_ARENA_MAX for httpd")
    ap.add_argument("--mix", choices=["all", "logins", "gets", "garbage"], default="all",
                    help="what each phase sends (the slope is per login, or per request "
                    "of the one kind sent)")
    ap.add_argument("--glibc-tunables", default="", help="GLIBC_TUNABLES for httpd")
    ap.add_argument("--threads", type=int, default=0,
                    help="ThreadsPerChild (default: the bench's 64)")
    ap.add_argument("--max-mem-free", type=int, default=None,
                    help="MaxMemFree KB (each thread allocator's free list cap)")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    r = Run(a)
    rc = 0
    try:
        r.setup()
        r.run()
        r.stop_httpd()
        if a.tool == "memcheck":
            _, ours = r.report_memcheck()
            rc = 1 if ours else 0
    finally:
        r.stop()
    return rc


if __name__ == "__main__":
    sys.exit(main())
