#!/usr/bin/python3
"""soak.py - a bounded soak and fault test of mod_authncontext in a private
httpd on loopback (issue 6, "Robustness under load and faults").

    make soak                                  (60 s of load)
    /usr/bin/python3 tests/bench/soak.py --seconds 30 [--cache shmcb]

Phase 1, load (--seconds): three wrk processes at once against one httpd
  (event MPM, one child, 64 threads; sessions in a private redis-server):
  valid-session GETs at full speed, a paced stream of new logins (distinct
  signed responses minted beforehand by tests/lib/samlforge.py, each posted
  once), and paced garbage POSTs to the ACS. Asserts: every GET is 200 and
  every login a 303 with a cookie (no error for valid traffic); every
  garbage POST a 4xx without a cookie (never a 5xx); no crash line in the
  error log and the same worker pid from start to end; the worker's VmRSS
  after the load at most BOUND above its value after the warm-up
  (BOUND = 25% + 8 MiB, stated in the output); the slope of the worker's
  private memory (RssAnon: VmRSS also counts shmcb's shared pages as they
  are first touched) after the load's own warm-up (the first third of the
  run, at least 60 s) at most --max-slope bytes per login (a least-squares
  fit over the rest; a leak grows linearly with the logins, allocator
  growth levels off, so it is judged only in runs of --slope-min-seconds
  (600) or more, `make soak-long`, and printed otherwise;
  tests/bench/leakcheck.py tells the two apart); the first response,
  replayed after the load, is still refused.
Phase 2, faults (redis cache only): redis-server is killed (SIGKILL, by pid)
  in the middle of a GET run; then, while it is down, GETs with a valid
  cookie and new logins must get 503 and nothing may be granted (no 200,
  no session cookie); redis is restarted on the same port: a new login
  works and its cookie opens the page again (the old sessions died with the
  unpersisted redis: the old cookie must not be 200... it must be sent to
  the IdP, 302).
Everything started is stopped by pid at the end, also on failure.
Exit status 0 when every assertion holds, 1 otherwise.
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402
import mint  # noqa: E402
import run_bench as rb  # noqa: E402

servers = bl.servers
RSS_BOUND_FRACTION = 0.25
RSS_BOUND_KB = 8 * 1024
SAMPLE_SECONDS = 5
WARMUP_FRACTION = 1.0 / 3
WARMUP_MIN_SECONDS = 60


def slope(xs, ys):
    """Least-squares slope of ys over xs (0 with fewer than two points)."""
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def log(msg):
    sys.stdout.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stdout.flush()


class Soak:
    def __init__(self, a):
        self.a = a
        self.work = tempfile.mkdtemp(prefix="anc-soak-", dir="/tmp")
        os.chmod(self.work, 0o755)
        self.to_stop = []
        self.failures = []
        self.lines = []
        self.next_line = 0

    def check(self, cond, what):
        log(("ok    " if cond else "FAIL  ") + what)
        if not cond:
            self.failures.append(what)

    def take(self, n):
        out = self.lines[self.next_line:self.next_line + n]
        self.next_line += len(out)
        if len(out) < n:
            raise RuntimeError("ran out of minted responses")
        return out

    def take_file(self, n):
        path = os.path.join(self.work, "chunk-%d.form" % self.next_line)
        with open(path, "wb") as f:
            f.write(b"\n".join(self.take(n)) + b"\n")
        os.chmod(path, 0o644)
        return path

    def setup(self):
        a = self.a
        login_rate = a.login_rate
        # Logins of the load phase, plus the fault phase and spares.
        n = int(login_rate * a.seconds * 1.2) + 200
        info = mint.mint(os.path.join(self.work, "mint"), rb.SP_ENTITY, rb.ACS_URL, n,
                         jobs=bl.NCPU, files=0, log=log)
        with open(info["form"], "rb") as f:
            self.lines = [l.rstrip(b"\n") for l in f]
        if a.cache == "redis":
            self.redis = servers.Redis(os.path.join(self.work, "redis"))
            self.redis.start()
            self.to_stop.append(self.redis)
            cache = "redis:127.0.0.1:%d" % self.redis.port
        else:
            self.redis = None
            cache = "shmcb:@ROOT@/run/sessions(134217728)"
        body = rb.OURS_BODY % {"host": rb.SP_HOST, "entity": rb.SP_ENTITY,
                               "cache": "AuthnContextSessionCache " + cache, "mfa": rb.MFA}
        # The responses are minted before the load and posted over the
        # whole run: a run longer than AuthnContextUnsolicitedMaxAge (300 s
        # plus the skew) would see its later logins refused as too old.
        body += "AuthnContextUnsolicitedMaxAge 0\n"
        self.inst = bl.Instance("soak", body, load_ours=True, log_level="info")
        shutil.copy(info["metadata"], self.inst.h.path("conf", "idp-metadata.xml"))
        self.to_stop.append(self.inst)
        self.inst.start()
        log("httpd on 127.0.0.1:%d, cache %s" % (self.inst.port, cache))

    def login(self):
        return bl.login(self.inst.port, self.take(1)[0])

    def page(self, cookie):
        return bl.get(self.inst.port, "/app/index.html",
                      {"Cookie": cookie} if cookie else {})[0]

    # ---- phase 1 -------------------------------------------------------------

    def load(self):
        a = self.a
        self.first_line = self.lines[0]
        cookie = self.login()
        self.check(self.page(cookie) == 200, "a fresh session opens the page")
        # Warm-up: every worker thread touched, pools at their working size.
        bl.wrk(self.inst.base + "/app/index.html", 3, threads=1, connections=64,
               script=os.path.join(HERE, "get.lua"), args=[cookie])
        workers0 = sorted(self.inst.workers())
        rss0 = max(bl.proc_status(p).get("VmRSS", 0) for p in workers0)
        log("after warm-up: workers %s VmRSS %d kB" % (workers0, rss0))

        conns_login = 4
        per_conn_ms = int(1000.0 * conns_login / a.login_rate)
        n_login = int(a.login_rate * a.seconds * 1.1) + 20
        form = self.take_file(n_login)
        get = bl.WrkBackground(self.inst.base + "/app/index.html", a.seconds, threads=1,
                               connections=32, script=os.path.join(HERE, "get.lua"),
                               args=[cookie])
        acs = bl.WrkBackground(self.inst.base + "/saml/acs", a.seconds, threads=2,
                               connections=conns_login, script=os.path.join(HERE, "acs.lua"),
                               args=[form, 2, 0, n_login // 2, per_conn_ms])
        garbage = bl.WrkBackground(self.inst.base + "/saml/acs", a.seconds, threads=1,
                                   connections=4, script=os.path.join(HERE, "garbage.lua"),
                                   args=[int(4000.0 / a.garbage_rate)])
        samples = []
        t0 = time.monotonic()
        t_end = t0 + a.seconds
        while time.monotonic() < t_end:
            time.sleep(min(SAMPLE_SECONDS, max(0.1, t_end - time.monotonic())))
            sts = [bl.proc_status(p) for p in self.inst.workers()] or [{}]
            samples.append((time.monotonic() - t0, max(st.get("VmRSS", 0) for st in sts),
                            max(st.get("RssAnon", 0) for st in sts)))
        rg, ra, rgar = get.result(), acs.result(), garbage.result()
        log("GET     %d ok, %d other (%s), %.0f/s" % (rg["ok"], rg["bad"], rg["statuses"],
                                                     rg["rate"]))
        log("logins  %d ok, %d other (%s), %.1f/s%s" % (
            ra["ok"], ra["bad"], ra["statuses"], ra["rate"],
            " (responses exhausted)" if ra["exhausted"] else ""))
        log("garbage %d refused with 4xx, %d other (%s)" % (rgar["ok"], rgar["bad"],
                                                          rgar["statuses"]))
        self.check(rg["ok"] > 0 and rg["bad"] == 0, "every valid-session GET answered 200")
        self.check(ra["ok"] > 0 and ra["bad"] == 0 and not ra["exhausted"],
                   "every login answered 303 with a session cookie")
        self.check(rgar["ok"] > 0 and rgar["bad"] == 0,
                   "every garbage POST answered 4xx without a cookie")
        self.check(not rg["socket_errors"] and not ra["socket_errors"],
                   "no socket errors on valid traffic (%s %s)" % (
                       rg["socket_errors"], ra["socket_errors"]))
        workers1 = sorted(self.inst.workers())
        self.check(workers1 == workers0, "same worker process before and after "
                   "(%s -> %s): no crash, no restart" % (workers0, workers1))
        bad = self.inst.bad_log_lines()
        self.check(not bad, "no crash/sanitizer lines in the error log %s" % bad[:3])
        rss1 = max(bl.proc_status(p).get("VmRSS", 0) for p in workers1) if workers1 else 0
        bound = rss0 * (1 + RSS_BOUND_FRACTION) + RSS_BOUND_KB
        self.check(rss1 <= bound, "worker VmRSS %d kB after load <= bound %d kB "
                   "(warm-up %d kB + 25%% + 8 MiB); samples %s" % (
                       rss1, bound, rss0, [kb for _, kb, _ in samples]))
        # The slope after the load's own warm-up, per login: a leak keeps
        # it up for the whole run, allocator growth (arenas, pool free
        # lists reaching their working size) flattens it. Judged on the
        # worker's private memory (RssAnon): VmRSS also counts the shared
        # pages of a shmcb cache as they are first touched (about a
        # session record per login until the cache is full), which is not
        # the worker's growth. VmRSS's slope is printed beside it.
        warm = max(a.seconds * WARMUP_FRACTION, min(WARMUP_MIN_SECONDS, a.seconds / 2.0))
        late = [x for x in samples if x[0] >= warm]
        login_rate = ra["ok"] / float(a.seconds) if a.seconds else 0.0
        ts = [x[0] for x in late]
        per_s = slope(ts, [x[2] * 1024.0 for x in late])
        per_s_rss = slope(ts, [x[1] * 1024.0 for x in late])
        per_login = per_s / login_rate if login_rate > 0 else 0.0
        per_login_rss = per_s_rss / login_rate if login_rate > 0 else 0.0
        self.slope = {"warmup_s": warm, "samples": len(late), "bytes_per_s": per_s,
                      "bytes_per_login": per_login, "vmrss_bytes_per_login": per_login_rss,
                      "rss_anon_kb": [x[2] for x in samples]}
        log("RssAnon samples (kB, every %d s): %s" % (SAMPLE_SECONDS,
                                                      [x[2] for x in samples]))
        if a.seconds < a.slope_min_seconds:
            log("RssAnon slope after %.0f s of warm-up: %+.1f B per login (VmRSS %+.1f B); "
                "not judged: a %d s run is shorter than --slope-min-seconds %d (the 64 "
                "threads and glibc's arenas are still reaching their working size)" % (
                    warm, per_login, per_login_rss, a.seconds, a.slope_min_seconds))
        elif len(late) >= 4:
            self.check(per_login <= a.max_slope,
                       "worker RssAnon slope after %.0f s of warm-up: %+.1f B per login "
                       "(%+.1f kB/min at %.1f logins/s, %d samples; VmRSS %+.1f B per "
                       "login) <= %d B per login" % (
                           warm, per_login, per_s * 60 / 1024.0, login_rate, len(late),
                           per_login_rss, a.max_slope))
        else:
            log("slope not judged: %d samples after the %.0f s warm-up (run longer)" % (
                len(late), warm))
        st = bl.post_form(self.inst.port, "/saml/acs", self.first_line)
        self.check(st[0] >= 400 and st[0] < 500 and "set-cookie" not in st[1],
                   "the first response, replayed after %d logins, is refused (%d)" % (
                       ra["ok"] + 1, st[0]))
        self.figures = {"seconds": a.seconds, "get": rg, "acs": ra, "garbage": rgar,
                        "rss0": rss0, "rss1": rss1, "slope": self.slope}

    # ---- phase 2 -------------------------------------------------------------

    def faults(self):
        if self.redis is None:
            log("fault phase skipped: cache is not redis")
            return
        cookie = self.login()
        self.check(self.page(cookie) == 200, "before the fault: the session opens the page")
        run = bl.WrkBackground(self.inst.base + "/app/index.html", 6, threads=1,
                               connections=8, script=os.path.join(HERE, "get.lua"),
                               args=[cookie])
        time.sleep(2)
        pid = self.redis.proc.pid
        os.kill(pid, signal.SIGKILL)
        self.redis.proc.wait(timeout=10)
        log("redis-server (pid %d) killed mid-run" % pid)
        r = run.result()
        log("GET run across the kill: %d 200s, %d others (%s)" % (r["ok"], r["bad"],
                                                                 r["statuses"]))
        self.check(r["bad"] > 0, "the GET run saw the outage (non-200 answers after the kill)")
        # While redis is down: nothing granted, every answer a 503.
        down = bl.wrk(self.inst.base + "/app/index.html", 3, threads=1, connections=8,
                      script=os.path.join(HERE, "get.lua"), args=[cookie])
        sts = dict(kv.split(":") for kv in down["statuses"].replace(";", ",").split(",")
                   if ":" in kv)
        self.check(down["ok"] == 0, "redis down: no GET granted (%d 200s)" % down["ok"])
        self.check(set(sts) <= {"503"}, "redis down: GETs answered 503 (%s)" %
                   down["statuses"])
        st, hdrs, _ = bl.post_form(self.inst.port, "/saml/acs", self.take(1)[0])
        self.check(st == 503 and "set-cookie" not in hdrs,
                   "redis down: a login is answered 503 without a cookie (%d)" % st)
        # Restart on the same port: the module must reconnect by itself.
        self.redis.start()
        t0 = time.monotonic()
        ok, tries, statuses = False, 0, {}
        line = self.take(1)[0]
        # Until the module's redis connections come back (apr_redis retries
        # a dead server only after its retry period); every try in between
        # must be a clean 503, never a session. The same response is
        # retried: refused ones were never recorded in the replay cache.
        while time.monotonic() - t0 < self.a.recover_seconds:
            tries += 1
            st, hdrs, _ = bl.post_form(self.inst.port, "/saml/acs", line)
            statuses[st] = statuses.get(st, 0) + 1
            if st in (302, 303) and "set-cookie" in hdrs:
                c2 = "; ".join(c.split(";", 1)[0] for c in hdrs["set-cookie"])
                ok = self.page(c2) == 200
                break
            if st != 503 or "set-cookie" in hdrs:
                break
            time.sleep(0.25)
        self.recovery = time.monotonic() - t0
        self.check(ok, "redis restarted: a login works again after %.1f s (%d tries, "
                   "statuses %s) and its session opens the page" % (
                       self.recovery, tries, statuses))
        old = self.page(cookie)
        self.check(old == 302, "the session lost with redis is not granted (%d, "
                   "sent to the IdP)" % old)

    def stop(self):
        for s in reversed(self.to_stop):
            try:
                s.stop()
            except Exception as e:
                log("stop failed: %s" % e)
        self.to_stop = []
        if not self.a.keep:
            shutil.rmtree(self.work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--login-rate", type=float, default=40.0, help="logins/s (paced)")
    ap.add_argument("--garbage-rate", type=float, default=40.0, help="garbage POSTs/s")
    ap.add_argument("--cache", choices=["redis", "shmcb"], default="redis")
    ap.add_argument("--recover-seconds", type=int, default=60,
                    help="how long the module may take to use a restarted redis")
    ap.add_argument("--max-slope", type=int, default=128,
                    help="bytes of worker VmRSS per login after the warm-up")
    ap.add_argument("--slope-min-seconds", type=int, default=600,
                    help="shorter runs report the slope without judging it")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    s = Soak(a)

    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        s.setup()
        s.load()
        s.faults()
    finally:
        s.stop()
    if s.failures:
        log("soak: FAILED (%d): %s" % (len(s.failures), "; ".join(s.failures)))
        return 1
    log("soak: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
