#!/usr/bin/python3
"""run_bench.py - mod_authncontext against plain httpd (and the peer SP
modules when asked), in one run on one machine; writes the table into
tests/bench/README.md.

    make bench                      (or: /usr/bin/python3 tests/bench/run_bench.py)
    make bench PEERS=1              also mod_auth_mellon and mod_shib with
                                    a private shibd (installed by
                                    .ci/install-deps.sh peers)
    run_bench.py --quick            short rounds, for checking the harness
    run_bench.py --rounds 5 --seconds 10 --acs-seconds 8 --no-readme

What it does, in order (nothing timed until step 5):
 1. mints keys, IdP metadata and N distinct signed responses with
    tests/lib/samlforge.py (RSA-2048, SHA-256, ~7 KB, unsolicited: the
    bench config sets AuthnContextAllowUnsolicited On);
 2. starts private httpd instances from Debian's apache2 on free loopback
    ports with one MPM config (event, one child, 64 threads): plain
    (a static 4 KiB file), ours with shmcb sessions (the same file behind
    AuthType SAML + Require authnContextClassRef), and for the scale run
    ours with redis: (a real redis-server) and memcache: (a real memcached);
    with --peers also mellon (mod_auth_mellon) and shib (mod_shib talking
    to a private shibd, tests/bench/shibsp.py), each with its own stream
    of responses minted for its own ACS URL;
 3. logs in once per SP instance (POST to the ACS) for a session cookie,
    and checks that the page is 200 with it and not 200 without it, and
    that a response with one signed byte changed does not log in;
 4. pins the servers to cpu0 and wrk to cpu1 (when there are two cores);
 5. rounds of wrk, cases interleaved in every round: authenticated GET on
    every instance; ACS POSTs of distinct responses (each posted once,
    only a 302/303 with Set-Cookie counts as a login);
 6. worker peak RSS (VmHWM of the httpd child) of every instance;
 7. authncontext-verify over 10,000 responses in one process beside
    `openssl speed -seconds 3 rsa2048` on the same core;
 8. a callgrind profile of the verifier over a few hundred responses.
Every server it starts is stopped by pid at the end, also on failure or
Ctrl-C. Only ratios taken in this one run are meaningful.
"""

import argparse
import base64
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402
import getcost  # noqa: E402
import mint  # noqa: E402
import shibsp  # noqa: E402

servers = bl.servers

# One ACS URL for every "ours" instance, whatever its port: with
# UseCanonicalName On httpd builds self-referencing URLs from ServerName,
# so the same minted responses are valid at every instance.
SP_HOST = "bench-sp.example"
SP_ENTITY = "https://%s/sp" % SP_HOST
ACS_URL = "http://%s/saml/acs" % SP_HOST
MFA = "https://refeds.org/profile/mfa"
MELLON_ACS = "http://%s/saml/postResponse" % SP_HOST
SHIB_ACS = "http://%s%s" % (SP_HOST, shibsp.ACS_PATH)
# shib's default security policy refuses a message whose IssueInstant is
# older than 60 s plus its clockSkew (180 s): its responses are minted right
# before each ACS run, and a leftover older than this is never posted.
SHIB_MAX_AGE = 60
# ours refuses an unsolicited response whose IssueInstant is older than
# AuthnContextUnsolicitedMaxAge (300 s by default, plus the clock skew):
# leftovers older than this are skipped, never posted.
OURS_MAX_AGE = 280

# "Mutex pthread authncontext-cache" is what the shipped authncontext.conf
# sets (Debian's apache2.conf makes every mutex fcntl by default, as
# benchlib's "Mutex file:... default" does here). The session cache is
# the module's default (shmcb 4 MB, replay records in their own 4 MB) for
# "ours", a line for the redis and memcache instances.
OURS_BODY = """
ServerName %(host)s:80
UseCanonicalName On
Mutex pthread authncontext-cache
AuthnContextSPEntityID %(entity)s
AuthnContextIdPMetadataFile @ROOT@/conf/idp-metadata.xml
AuthnContextAllowUnsolicited On
AuthnContextCookieSecure Off
%(cache)s
<Location /app>
    AuthType SAML
    Require authnContextClassRef %(mfa)s
</Location>
"""
# plain gets the same server-name settings, so the only difference left is
# the module and the Location.
PLAIN_BODY = """
ServerName %(host)s:80
UseCanonicalName On
""" % {"host": SP_HOST}

MELLON_BODY = """
ServerName %(host)s:80
UseCanonicalName On
MellonCacheSize 2000
MellonCacheEntrySize 16384
<Location />
    MellonEnable info
    MellonSPentityId %(entity)s
    MellonSPPrivateKeyFile @ROOT@/conf/sp.key
    MellonSPCertFile @ROOT@/conf/sp.crt
    MellonSPMetadataFile @ROOT@/conf/sp-metadata.xml
    MellonIdPMetadataFile @ROOT@/conf/idp-metadata.xml
    MellonEndpointPath /saml
    MellonSecureCookie Off
</Location>
<Location /app>
    AuthType Mellon
    MellonEnable auth
    Require valid-user
</Location>
"""

# mellon's SP metadata, as mellon_create_metadata.sh would write it: its
# entity, signing certificate and POST ACS (without the file mellon
# generates one at run time).
MELLON_SP_METADATA = """<?xml version="1.0"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"
                  xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="%(entity)s">
  <SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true"
                   protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <KeyDescriptor use="signing">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>%(cert)s</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </KeyDescriptor>
    <SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
                         Location="%(base)s/logout"/>
    <AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
                              Location="%(acs)s" index="0" isDefault="true"/>
  </SPSSODescriptor>
</EntityDescriptor>
"""


def annotate(out, top=15):
    """(total Ir, [(self %, function, object)], [(object, %)]) from a
    callgrind output file; stripped libraries' functions are named by
    address."""
    ann = subprocess.run(["callgrind_annotate", "--threshold=100", out],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         timeout=300).stdout
    total = re.search(r"([\d,]+)\s+\(100\.0%\)\s+PROGRAM TOTALS", ann)
    rows = re.findall(r"^\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(\S+)\s+\[(.*?)\]\s*$",
                      ann, re.M)
    lines, by_obj = [], {}
    for ir, pct, fn, obj in rows:
        fn = fn.rsplit(":", 1)[1] if ":" in fn else fn
        lib = os.path.basename(obj)
        by_obj[lib] = by_obj.get(lib, 0.0) + float(pct)
        if len(lines) < top:
            lines.append((pct, fn if not fn.startswith("0x") else "(internal %s)" % fn, lib))
    objs = sorted(by_obj.items(), key=lambda kv: -kv[1])[:8]
    return (total.group(1) if total else "?"), lines, objs


def tampered(form_line):
    """The same form body with one byte of a signed attribute value changed
    (the signature no longer matches): every SP must refuse it."""
    fields = urllib.parse.parse_qs(form_line.decode())
    xml = base64.b64decode(fields["SAMLResponse"][0])
    if b"Given" not in xml:
        raise RuntimeError("tamper: no attribute value to change")
    bad = base64.b64encode(xml.replace(b"Given", b"Giveo", 1)).decode()
    return urllib.parse.urlencode({"SAMLResponse": bad,
                                   "RelayState": fields.get("RelayState", ["/"])[0]})


def log(msg):
    sys.stdout.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stdout.flush()


class Bench:
    def __init__(self, a):
        self.a = a
        self.work = tempfile.mkdtemp(prefix="anc-bench-", dir="/tmp")
        os.chmod(self.work, 0o755)
        self.to_stop = []
        self.instances = {}
        self.order = []
        # One stream of minted responses per ACS URL (ours share one; each
        # peer has its own endpoint, which the responses' Destination names).
        self.sources = {}
        self.source("ours", ACS_URL, max_age=OURS_MAX_AGE)
        self.results = {}        # (case, instance) -> list of wrk dicts
        self.notes = []

    # ---- set-up ------------------------------------------------------------

    def source(self, key, acs_url, max_age=None, fresh_each_run=False):
        d = os.path.join(self.work, "mint-" + key)
        os.makedirs(d, exist_ok=True)
        first = self.sources.get("ours")
        if first is not None:
            # Same IdP (key and metadata) for every stream.
            for f in ("idp.key", "idp.crt", "idp-metadata.xml"):
                shutil.copy(os.path.join(first["dir"], f), os.path.join(d, f))
        self.sources[key] = {"dir": d, "acs": acs_url, "minted": 0, "offset": 0,
                             "fh": None, "info": None, "max_age": max_age,
                             "fresh_each_run": fresh_each_run,
                             "minted_at": 0.0}
        return self.sources[key]

    def src(self, name):
        return self.sources[name if name in ("mellon", "shib") else "ours"]

    @property
    def minted(self):
        return sum(s["minted"] for s in self.sources.values())

    @property
    def mint_info(self):
        return self.sources["ours"]["info"]

    def mint(self, n, src=None):
        src = src or self.sources["ours"]
        info = mint.mint(src["dir"], SP_ENTITY, src["acs"], n, jobs=bl.NCPU,
                         files=self.a.cli_count if src is self.sources["ours"] else 0,
                         log=log, start=src["minted"])
        src["minted"] += n
        src["minted_at"] = time.time()
        src["info"] = info

    def take(self, count, name="ours"):
        """The next `count` never-posted responses (form lines) for the
        instance `name`. Each line is handed out once, so no response is
        ever posted twice."""
        src = self.src(name)
        self.ensure_responses(count, name)
        if src["fh"] is None or src["fh"].closed:
            src["fh"] = open(src["info"]["form"], "rb")
        out = []
        while len(out) < count:
            line = src["fh"].readline()
            if not line:
                break
            out.append(line.rstrip(b"\n"))
        src["offset"] += len(out)
        return out

    def take_file(self, count, name="ours"):
        lines = self.take(count, name)
        path = os.path.join(self.work, "chunk.form")
        with open(path, "wb") as f:
            f.write(b"\n".join(lines) + b"\n")
        os.chmod(path, 0o644)
        return path, len(lines)

    def add(self, name, inst):
        self.instances[name] = inst
        self.order.append(name)

    def start_servers(self):
        md = self.mint_info["metadata"]
        self.add("plain", bl.Instance("plain", PLAIN_BODY))
        caches = [("ours", "")]
        if not self.a.no_scale:
            self.redis = servers.Redis(os.path.join(self.work, "redis"))
            self.redis.start()
            self.to_stop.append(self.redis)
            servers_pid = servers.read_pid(self.redis.pid_file)
            bl.pin(servers_pid or self.redis.proc.pid, bl.SERVER_CPU)
            self.memcached = bl.Memcached(os.path.join(self.work, "memcached"))
            self.memcached.start()
            self.to_stop.append(self.memcached)
            bl.pin(self.memcached.proc.pid, bl.SERVER_CPU)
            caches += [("ours-redis",
                        "AuthnContextSessionCache redis:127.0.0.1:%d" % self.redis.port),
                       ("ours-memcache",
                        "AuthnContextSessionCache memcache:127.0.0.1:%d" % self.memcached.port)]
        if not os.path.exists(servers.module_path()):
            self.notes.append("%s not built: only plain httpd was run" %
                              servers.module_path())
            caches = []
        for name, cache in caches:
            body = OURS_BODY % {"host": SP_HOST, "entity": SP_ENTITY, "cache": cache,
                                "mfa": MFA}
            inst = bl.Instance(name, body, load_ours=True)
            shutil.copy(md, inst.h.path("conf", "idp-metadata.xml"))
            self.add(name, inst)
        if self.a.peers:
            self.add_peers(md)
        for name in self.order:
            log("starting %s on 127.0.0.1:%d" % (name, self.instances[name].port))
            self.to_stop.append(self.instances[name])
            self.instances[name].start()

    def add_peers(self, md):
        mellon = "/usr/lib/apache2/modules/mod_auth_mellon.so"
        if not os.path.exists(mellon):
            self.notes.append("mod_auth_mellon requested but not installed "
                              "(.ci/install-deps.sh peers)")
            return
        body = MELLON_BODY % {"host": SP_HOST, "entity": SP_ENTITY, "mfa": MFA}
        inst = bl.Instance("mellon", body, extra_modules=[mellon])
        shutil.copy(md, inst.h.path("conf", "idp-metadata.xml"))
        key, crt = servers.make_keypair(inst.h.path("conf"), "sp", SP_HOST)
        with open(crt) as f:
            cert = "".join(l.strip() for l in f if "-----" not in l)
        inst.h.write("conf/sp-metadata.xml", MELLON_SP_METADATA % {
            "entity": SP_ENTITY, "cert": cert, "acs": MELLON_ACS,
            "base": MELLON_ACS.rsplit("/", 1)[0]})
        self.add("mellon", inst)
        self.notes.append("mellon: its /app has `AuthType Mellon` + `Require valid-user` "
                          "only (no per-request class condition); same static file")
        self.add_shib()

    def add_shib(self):
        """mod_shib in its own httpd instance and a private shibd (config,
        socket, pid file and logs under the work dir), started here so
        that httpd finds its socket; stopped by pid after the httpd."""
        self.shibd = None
        if not shibsp.available():
            self.notes.append("mod_shib requested but not installed "
                              "(.ci/install-deps.sh peers)")
            return
        src = self.source("shib", SHIB_ACS, max_age=SHIB_MAX_AGE, fresh_each_run=True)
        shib_dir = os.path.join(self.work, "shib")
        body = shibsp.HTTPD_BODY % {"host": SP_HOST, "handler": shibsp.HANDLER,
                                    "conf": os.path.join(shib_dir, "shibboleth2.xml")}
        inst = bl.Instance("shib", body, extra_modules=[("mod_shib", shibsp.MOD_SHIB)])
        self.shibd = shibsp.Shibd(shib_dir, SP_ENTITY, self.mint_info["idp_entity"],
                                  os.path.join(src["dir"], "idp-metadata.xml"),
                                  inst.h.path("logs", "native.log"))
        log("starting shibd (socket %s)" % self.shibd.sock)
        self.to_stop.append(self.shibd)
        self.shibd.start()
        self.add("shib", inst)
        self.notes.append(
            "shib: mod_shib + shibd 3.4 (Debian), a private shibboleth2.xml written by "
            "tests/bench/shibsp.py: in-memory StorageService/SessionCache/ReplayCache in "
            "shibd, UnixListener, the package's default protocols.xml and "
            "security-policy.xml, an attribute map for the 8 attributes, logging WARN "
            "to files; /app has `AuthType shibboleth`, `ShibRequestSetting "
            "requireSession 1`, `Require shib-session`; shibd is pinned to the server "
            "core too")
        self.notes.append(
            "shib: its default security policy refuses messages older than 60 s plus "
            "clockSkew, so its responses are minted (untimed) right before each of its "
            "ACS runs and the session logins; unposted leftovers older than %d s are "
            "discarded, never posted" % SHIB_MAX_AGE)

    def acs_path(self, name):
        if name == "mellon":
            return "/saml/postResponse"
        if name == "shib":
            return shibsp.ACS_PATH
        return "/saml/acs"

    def sessions(self):
        """One login per SP instance; checks that the cookie opens the page
        and that the page is closed without it (or the bench measures a
        misconfiguration)."""
        self.cookies = {}
        self.first = {}
        self.first_at = {}
        for name in self.order:
            inst = self.instances[name]
            if name == "plain":
                self.cookies[name] = ""
                st, _, _ = bl.get(inst.port, "/app/index.html")
                if st != 200:
                    raise RuntimeError("plain: GET /app/index.html -> %d" % st)
                continue
            # A response whose signature no longer matches must not log in
            # (or the ACS case would time an SP that does not verify).
            st, hdrs, body = bl.post_form(inst.port, self.acs_path(name),
                                          tampered(self.take(1, name)[0]))
            if st in (302, 303) and hdrs.get("set-cookie"):
                raise RuntimeError("%s: a tampered response logged in (%d %s)" % (
                    name, st, hdrs.get("set-cookie")))
            tamper_st = st
            line = self.take(1, name)[0]
            st, hdrs, body = bl.post_form(inst.port, self.acs_path(name), line)
            cookies = hdrs.get("set-cookie", [])
            if st not in (302, 303) or not cookies:
                raise RuntimeError("%s: login POST -> %d %r\n%s" % (
                    name, st, body[:300], inst.h.log_tail(20)))
            cookie = "; ".join(c.split(";", 1)[0] for c in cookies)
            st_ok, _, _ = bl.get(inst.port, "/app/index.html", {"Cookie": cookie})
            st_no, _, _ = bl.get(inst.port, "/app/index.html")
            if st_ok != 200 or st_no == 200:
                raise RuntimeError("%s: with cookie %d, without %d: not a valid bench "
                                   "set-up\n%s" % (name, st_ok, st_no, inst.h.log_tail(20)))
            self.cookies[name] = cookie
            self.first[name] = (line, cookie)
            self.first_at[name] = time.time()
            log("%s: session cookie ok (200 with it, %d without); a tampered response "
                "answers %d" % (name, st_no, tamper_st))

    # ---- timed part ----------------------------------------------------------

    def fresh_cookie(self, name):
        """A new session right before a GET round: the default 4 MB shmcb
        holds about a thousand sessions of this size, so a cookie from
        before the ACS rounds may be gone, and the GET case measures a
        valid session, not a redirect. plain gets the same Cookie header
        as ours (which it ignores), so that both are sent the same bytes
        and the ratio is the module's cost alone."""
        if name == "plain":
            self.cookies["plain"] = self.cookies.get("ours", "")
            return
        line = self.take(1, name)[0]
        st, hdrs, _ = bl.post_form(self.instances[name].port, self.acs_path(name), line)
        if st in (302, 303) and hdrs.get("set-cookie"):
            self.cookies[name] = "; ".join(c.split(";", 1)[0] for c in hdrs["set-cookie"])

    def run_get(self, name, seconds):
        inst = self.instances[name]
        self.fresh_cookie(name)
        r = bl.wrk(inst.base + "/app/index.html", seconds, threads=1,
                   connections=self.a.connections, script=os.path.join(HERE, "get.lua"),
                   args=[self.cookies[name]])
        self.results.setdefault(("get", name), []).append(r)
        log("GET %-14s %9.0f ok/s  bad=%d p50=%.2fms p99=%.2fms" % (
            name, r["rate"], r["bad"], r["p50_ms"], r["p99_ms"]))

    def run_acs(self, name, seconds, budget, record=True):
        """wrk POSTs `budget` fresh responses at most (2 threads, each its
        own half), for `seconds`."""
        inst = self.instances[name]
        threads = 2
        # A source that ages fast (shib) gets a fresh batch right now.
        self.ensure_responses(budget, name, fresh=self.src(name)["fresh_each_run"])
        path, n = self.take_file(budget, name)
        r = bl.wrk(inst.base + self.acs_path(name), seconds, threads=threads,
                   connections=self.a.acs_connections, script=os.path.join(HERE, "acs.lua"),
                   args=[path, threads, 0, max(1, n // threads)])
        if record:
            self.results.setdefault(("acs", name), []).append(r)
        log("ACS %-14s %9.1f logins/s bad=%d%s p50=%.1fms statuses=%s" % (
            name, r["rate"], r["bad"], " EXHAUSTED" if r["exhausted"] else "",
            r["p50_ms"], r["statuses"]))
        return r

    def ensure_responses(self, needed, name="ours", fresh=False):
        src = self.src(name)
        left = src["minted"] - src["offset"]
        if left and src["max_age"] is not None and (
                fresh or time.time() - src["minted_at"] > src["max_age"]):
            # Too old to post (or a fresh batch wanted): skip the leftovers.
            log("%s: skipping %d unposted responses minted %.0f s ago" % (
                name, left, time.time() - src["minted_at"]))
            if src["fh"] is None:
                src["fh"] = open(src["info"]["form"], "rb")
            for _ in range(left):
                src["fh"].readline()
            src["offset"] = src["minted"]
            left = 0
        if left < needed:
            # At least a batch: a pool of signers costs a second to start;
            # a source that ages only what it needs now.
            n = max(50 if src["max_age"] is not None else 500, needed - left)
            log("minting %d more responses for %s (untimed)" % (n, src["acs"]))
            self.mint(n, src)

    def timed(self):
        a = self.a
        sps = [n for n in self.order if n != "plain"]
        # A short untimed warm-up of every case, which also sizes how many
        # responses the ACS rounds need.
        for name in self.order:
            self.run_get(name, 1)
        self.results.clear()
        peak = {}
        for name in sps:
            budget = {"mellon": 200, "shib": 1500}.get(name, 4000)
            peak[name] = self.run_acs(name, 1, budget, record=False)["rate"]
        for r in range(a.rounds):
            log("round %d/%d: GET" % (r + 1, a.rounds))
            for name in self.order:
                self.run_get(name, a.seconds)
        for r in range(a.acs_rounds):
            # Enough fresh responses for each run at 1.3x the instance's
            # best rate so far, minted untimed before the round; a run that
            # still runs out is flagged EXHAUSTED rather than hidden.
            need = {n: int(peak[n] * 1.3 * a.acs_seconds) + 100 for n in sps}
            # ours, ours-redis and ours-memcache draw on one stream: mint
            # what the round needs for all of them at once
            per_source = {}
            for name in sps:
                if not self.src(name)["fresh_each_run"]:
                    key = id(self.src(name))
                    per_source[key] = (name, per_source.get(key, (name, 0))[1] + need[name])
            for name, total in per_source.values():
                self.ensure_responses(total, name)
            log("round %d/%d: ACS" % (r + 1, a.acs_rounds))
            for name in sps:
                res = self.run_acs(name, a.acs_seconds, need[name])
                peak[name] = max(peak[name], res["rate"])
        # Worker memory after the logins: top the shmcb instance up to
        # --logins logins in total, then read VmHWM everywhere.
        done = sum(x["ok"] for x in self.results.get(("acs", "ours"), []))
        if "ours" in self.instances and done < a.logins:
            more = a.logins - done
            log("ours: %d more logins for the memory figure" % more)
            self.top_up_logins("ours", more)
            done = a.logins
        self.logins_done = done
        self.after_load_checks()
        self.memory = {n: self.instances[n].memory() for n in self.order}
        if getattr(self, "shibd", None) is not None and "shib" in self.instances:
            self.memory["shibd"] = self.shibd.memory()
        for n in sorted(self.memory, key=lambda n: (n not in self.order, n)):
            log("memory %-14s VmHWM %s kB RssAnon %s kB RssFile %s kB RssShmem %s kB" % (
                n, self.memory[n].get("VmHWM"), self.memory[n].get("RssAnon"),
                self.memory[n].get("RssFile"), self.memory[n].get("RssShmem")))

    def after_load_checks(self):
        """After thousands of logins: is the very first session still
        there, and is the very first response, posted again, still a
        replay? Both are facts about the session store worth printing."""
        for name, (line, cookie) in self.first.items():
            inst = self.instances[name]
            n = sum(x["ok"] for x in self.results.get(("acs", name), []))
            st_page = bl.get(inst.port, "/app/index.html", {"Cookie": cookie})[0]
            which = "the first"
            max_age = self.src(name)["max_age"]
            if max_age is not None and time.time() - self.first_at[name] > max_age:
                # The first response is past the SP's message-age limit, so
                # posting it again would not test the replay cache: log in
                # with a fresh one now and post that one again instead.
                line = self.take(1, name)[0]
                st, hdrs, _ = bl.post_form(inst.port, self.acs_path(name), line)
                if st not in (302, 303) or not hdrs.get("set-cookie"):
                    raise RuntimeError("%s: fresh login after the load -> %d" % (name, st))
                which = "a fresh"
            st, hdrs, _ = bl.post_form(inst.port, self.acs_path(name), line)
            replay_ok = st >= 400 or "set-cookie" not in hdrs
            msg = ("%s: after %d+ logins the first session answers %d (%s); %s "
                   "response posted again answers %d (%s)" % (
                       name, n, st_page, "still valid" if st_page == 200 else "EVICTED",
                       which, st, "replay refused" if replay_ok else "REPLAY ACCEPTED"))
            log(msg)
            self.notes.append(msg)
            if name == "ours" and st_page != 200:
                self.notes.append(
                    "ours runs with the default session cache (shmcb, 4 MB): it holds "
                    "about a thousand sessions of this size (8 attributes, ~4 KB with "
                    "their variables), and the oldest go first when it is full; replay "
                    "records have their own shmcb, so the replay check above does not "
                    "depend on it. Size the cache with AuthnContextSessionCache "
                    "shmcb:PATH(BYTES) for more concurrent sessions")

    # What the set-up checks make the peers log on purpose: the tampered
    # response and the replay.
    EXPECTED_PEER_ERRORS = ("Failed to verify signature", "has already been used",
                            "replayed message", "replay detected",
                            "signature could not be verified")

    def peer_log_notes(self):
        """Error lines of the peers' logs that the checks did not cause
        (a refused login in the table has its reason here)."""
        logs = []
        if "mellon" in self.instances:
            logs.append(("mellon error log", self.instances["mellon"].h.log_text(),
                         ":error]"))
        if "shib" in self.instances:
            logs.append(("shib error log", self.instances["shib"].h.log_text(), ":error]"))
            if self.shibd is not None:
                logs.append(("shibd log", "\n".join(self.shibd.log_lines()), " ERROR "))
        for what, text, marker in logs:
            lines = [l for l in text.splitlines() if marker in l or "CRIT" in l]
            other = [l for l in lines if not any(e in l for e in self.EXPECTED_PEER_ERRORS)]
            self.notes.append("%s: %d error lines, %d not from the tamper/replay checks%s" % (
                what, len(lines), len(other),
                (": `%s`" % other[0][-300:].replace("`", "'")) if other else ""))

    def top_up_logins(self, name, count):
        remaining = count
        while remaining > 0:
            r = self.run_acs(name, 120, remaining + 10, record=False)
            remaining -= r["ok"]
            if r["ok"] == 0:
                raise RuntimeError("top-up logins failed: %s" % r["statuses"])

    # ---- CLI and openssl -------------------------------------------------------

    def cli(self):
        cli = os.path.join(servers.build_dir(), "authncontext-verify")
        files = sorted(os.path.join(self.mint_info["files"], f)
                       for f in os.listdir(self.mint_info["files"]))[:self.a.cli_count]
        self.cli_result = None
        if not os.access(cli, os.X_OK):
            self.notes.append("authncontext-verify not built: CLI case skipped")
            return
        cmd = ([] if bl.SERVER_CPU is None else ["taskset", "-c", bl.SERVER_CPU]) + [
            cli, "--idp-metadata", self.mint_info["metadata"], "--sp-entity-id", SP_ENTITY,
            "--acs-url", ACS_URL, "--allow-unsolicited"]
        t0 = time.monotonic()
        r = subprocess.run(cmd + files, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=3600)
        dt = time.monotonic() - t0
        accepted = sum(1 for l in r.stdout.splitlines() if b'"accept"' in l)
        if accepted != len(files):
            raise RuntimeError("CLI accepted %d of %d (exit %d): %s" % (
                accepted, len(files), r.returncode, r.stdout[:500] + r.stderr[:500]))
        self.cli_result = {"n": len(files), "seconds": dt, "rate": len(files) / dt}
        log("CLI: %d responses in %.2f s = %.0f responses/s (process start included)" % (
            len(files), dt, len(files) / dt))
        self.profile(cmd, files[:self.a.profile_count])

    def openssl(self):
        cmd = ([] if bl.SERVER_CPU is None else ["taskset", "-c", bl.SERVER_CPU]) + [
            "openssl", "speed", "-seconds", "3", "rsa2048"]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=120, text=True)
        m = re.search(r"^rsa\s+2048 bits\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", r.stdout, re.M)
        self.openssl_result = {"sign": float(m.group(1)), "verify": float(m.group(2))} if m \
            else None
        log("openssl speed rsa2048: %s" % self.openssl_result)

    def profile(self, cmd, files):
        """callgrind over a few hundred responses; top functions by self cost
        (the process start-up is included and shows up as such)."""
        self.profile_lines = []
        if not shutil.which("valgrind") or self.a.no_profile:
            return
        out = os.path.join(self.work, "callgrind.out")
        base = [c for c in cmd if c not in ("taskset", "-c", bl.SERVER_CPU)] \
            if bl.SERVER_CPU else cmd
        r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out]
                           + base + files, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=1800)
        if not os.path.exists(out):
            self.notes.append("callgrind failed (exit %d)" % r.returncode)
            return
        self.profile_total, self.profile_lines, self.profile_objs = annotate(out)
        self.profile_n = len(files)
        log("callgrind: %d responses, %s Ir; top: %s" % (
            len(files), self.profile_total,
            ", ".join("%s %s%%" % (f, p) for p, f, _ in self.profile_lines[:5])))

    def profile_get(self):
        """Instructions per authenticated GET, plain against ours, under
        callgrind (tests/bench/getcost.py): a count that the load of a
        shared machine does not move. The longer run of ours gives the
        table of where the module's time goes."""
        self.get_profile = None
        if not shutil.which("valgrind") or self.a.no_profile or \
                not os.path.exists(servers.module_path()):
            return
        body = OURS_BODY % {"host": SP_HOST, "entity": SP_ENTITY, "mfa": MFA, "cache": ""}
        res = getcost.measure(PLAIN_BODY, body, self.mint_info["metadata"], self.take(2),
                              self.work)
        self.get_profile = {"requests": res["requests"], "plain_ir": res["plain"],
                            "ours_ir": res["ours"], "by_function": res["by_function"]}
        log("GET cost under callgrind: plain %.0f, ours %.0f instructions per request "
            "(%.2fx); most extra: %s" % (
                res["plain"], res["ours"], res["ours"] / res["plain"],
                ", ".join("%s %+.0f" % (r[3], r[0]) for r in res["by_function"][:5])))

    # ---- report ------------------------------------------------------------------

    def med(self, case, name, key="rate"):
        rs = self.results.get((case, name), [])
        return bl.median([r[key] for r in rs]) if rs else None

    def get_ratio(self, name):
        """Median over rounds of (this instance / plain) in the same round:
        pairs taken seconds apart cancel most of the drift of a shared
        machine, which medians of each column alone do not."""
        mine = self.results.get(("get", name), [])
        plain = self.results.get(("get", "plain"), [])
        pairs = [m["rate"] / p["rate"] for m, p in zip(mine, plain) if p["rate"] > 0]
        return bl.median(pairs) if pairs else float("nan")

    def table(self):
        names = self.order
        plain_get = self.med("get", "plain")
        lines = ["| case | " + " | ".join(names) + " |",
                 "|---|" + "---|" * len(names)]
        row = []
        for n in names:
            v = self.med("get", n)
            bad = sum(r["bad"] for r in self.results.get(("get", n), []))
            row.append("%.0f/s (%.3f×)%s" % (v, self.get_ratio(n), "" if not bad else
                                              " %d non-200" % bad))
        lines.append("| authenticated static GET, median req/s (median of per-round "
                     "ratios vs plain) | "
                     + " | ".join(row) + " |")
        row = []
        for n in names:
            if n == "plain":
                row.append("—")
                continue
            v = self.med("acs", n)
            rs = self.results.get(("acs", n), [])
            bad = sum(r["bad"] for r in rs)
            exh = any(r["exhausted"] for r in rs)
            row.append("%.1f/s%s%s" % (v, " (%d refused)" % bad if bad else "",
                                        " EXHAUSTED" if exh else ""))
        lines.append("| ACS, distinct signed responses, median logins/s | "
                     + " | ".join(row) + " |")
        pm = self.memory.get("plain", {}).get("VmHWM")
        row = []
        for n in names:
            m = self.memory.get(n, {})
            hwm = m.get("VmHWM")
            cell = "%.1f MiB (%.2f×): anon %.1f, file %.1f, shm %.1f" % (
                hwm / 1024.0, hwm / float(pm), m.get("RssAnon", 0) / 1024.0,
                m.get("RssFile", 0) / 1024.0, m.get("RssShmem", 0) / 1024.0) \
                if hwm and pm else "?"
            if n == "shib":
                sd = self.memory.get("shibd", {})
                cell += "; + shibd %s" % ("%.1f MiB, anon %.1f MiB" % (
                    sd["VmHWM"] / 1024.0, sd.get("RssAnon", 0) / 1024.0)
                    if sd.get("VmHWM") else "?")
            row.append(cell)
        lines.append("| httpd worker peak RSS (VmHWM) after the run, MiB now resident by kind | "
                     + " | ".join(row) + " |")
        return "\n".join(lines)

    def verdicts(self):
        out = []
        if ("get", "ours") in self.results:
            g = self.get_ratio("ours")
            out.append("- authenticated GET ≥ 0.97× plain: %s (%.3f×, median of the "
                       "per-round ratios; per round: %s)" % (
                           "met" if g >= 0.97 else "MISSED", g, ", ".join(
                               "%.3f" % (m["rate"] / p["rate"]) for m, p in zip(
                                   self.results[("get", "ours")],
                                   self.results[("get", "plain")]))))
        acs = self.med("acs", "ours")
        if acs is not None:
            for peer, factor, ref in (("shib", 10, "~380/s"), ("mellon", 100, "~14/s")):
                theirs = self.med("acs", peer)
                if theirs:
                    out.append("- ACS ≥ %d× %s in the same run: %s (%.1f / %.1f logins/s "
                               "= %.1f×)" % (factor, peer, "met" if acs >= factor * theirs
                                             else "MISSED", acs, theirs, acs / theirs))
                elif theirs is not None:
                    out.append("- ACS ≥ %d× %s: no ratio, %s logged in 0/s in this run "
                               "(ours %.1f logins/s)" % (factor, peer, peer, acs))
                else:
                    out.append("- ACS ≥ %d× %s: not run here (`make bench PEERS=1`%s); "
                               "ours %.1f logins/s on one core against the issue's "
                               "figure of %s for %s on its machine, not a same-run "
                               "ratio" % (factor, peer, "" if not self.a.peers else
                                          ": %s was not available" % peer,
                                          acs, ref, peer))
        pm = self.memory.get("plain", {}).get("VmHWM")
        om = self.memory.get("ours", {}).get("VmHWM")
        if pm and om:
            pl, us = self.memory["plain"], self.memory["ours"]
            out.append("- worker peak RSS ≤ 2× plain after %d logins: %s (%.2f×). Of the "
                       "%.1f MiB more than plain: %.1f MiB anonymous memory, %.1f MiB "
                       "file pages (libxml2, xmlsec1, OpenSSL and the module), %.1f MiB "
                       "shared memory (the shmcb session and replay caches this worker "
                       "has touched; shared by every child)" % (
                           self.logins_done, "met" if om <= 2 * pm else "MISSED", om / pm,
                           (om - pm) / 1024.0,
                           (us.get("RssAnon", 0) - pl.get("RssAnon", 0)) / 1024.0,
                           (us.get("RssFile", 0) - pl.get("RssFile", 0)) / 1024.0,
                           (us.get("RssShmem", 0) - pl.get("RssShmem", 0)) / 1024.0))
        if self.cli_result and self.openssl_result:
            out.append("- authncontext-verify: %.0f responses/s vs openssl rsa2048 "
                       "%.0f verify/s on the same core (%.1f%% of the RSA floor)" % (
                           self.cli_result["rate"], self.openssl_result["verify"],
                           100.0 * self.cli_result["rate"] / self.openssl_result["verify"]))
        return "\n".join(out)

    def peers_line(self):
        if not self.a.peers:
            return "- peers (mod_auth_mellon, mod_shib): not run (`make bench PEERS=1`)"
        parts = []
        for name in ("mellon", "shib"):
            src = self.sources.get(name)
            if name not in self.instances or src is None:
                parts.append("%s not available" % name)
                continue
            parts.append("%s: %d responses minted for its own ACS %s, same IdP key, SP "
                         "entity and attributes%s" % (
                             name, src["minted"], src["acs"],
                             "; minted right before each of its runs (message age)"
                             if src["max_age"] is not None else ""))
        return "- peers: " + "; ".join(parts)

    def report(self):
        mach = bl.machine()
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        a = self.a
        table = self.table()
        text = [
            "# Benchmarks",
            "",
            "Written by `tests/bench/run_bench.py` at the end of each run; never "
            "edited by hand. Only ratios taken in one run mean anything: the "
            "machine is shared.",
            "",
            "## Latest run",
            "",
            "- date: %s" % now,
            "- machine: %d CPUs, %s, Linux %s; %s" % (
                mach["nproc"], mach["cpu"], mach["kernel"],
                "servers pinned to cpu0, wrk to cpu1" if bl.SERVER_CPU else
                "one CPU: servers and wrk share it"),
            "- httpd: Debian apache2, event MPM, one child with 64 threads, no "
            "access log (same for every instance); page: a 4 KiB static file",
            "- wrk: GET %d connections 1 thread; ACS %d connections 2 threads; "
            "%d rounds of %d s (GET) and %d rounds of %d s (ACS), cases interleaved "
            "in every round; medians" % (a.connections, a.acs_connections, a.rounds,
                                         a.seconds, a.acs_rounds, a.acs_seconds),
            "- responses: %d minted outside the timed runs by tests/lib/samlforge.py "
            "(python3-xmlsec), RSA-2048 + SHA-256 over the Assertion, ~%d bytes of "
            "XML, 8 attributes, unsolicited (AuthnContextAllowUnsolicited On); each "
            "posted once; only 302/303 with Set-Cookie counts as a login" % (
                self.minted, self.mint_info["xml_bytes_mean"]),
            self.peers_line(),
            "- ours: `AuthnContextSessionCache` shmcb (ours), redis: on a private "
            "redis-server (ours-redis), memcache: on a private memcached "
            "(ours-memcache); `Require authnContextClassRef %s` satisfied by the "
            "session" % MFA,
            "",
            table,
            "",
        ]
        if self.cli_result:
            text.append("CLI: `authncontext-verify` verified %d distinct responses in one "
                        "process in %.2f s: **%.0f responses/s**; `openssl speed -seconds 3 "
                        "rsa2048` on the same core: %s verify/s, %s sign/s." % (
                            self.cli_result["n"], self.cli_result["seconds"],
                            self.cli_result["rate"],
                            "%.0f" % self.openssl_result["verify"] if self.openssl_result
                            else "?",
                            "%.0f" % self.openssl_result["sign"] if self.openssl_result
                            else "?"))
            text.append("")
        text += ["### Targets (issue 7)", "", self.verdicts(), ""]
        if getattr(self, "profile_lines", None):
            text += ["### Where the verifier's time goes",
                     "",
                     "`valgrind --tool=callgrind authncontext-verify` over %d responses "
                     "(%s instructions in total, start-up included), top functions by "
                     "self cost:" % (self.profile_n, self.profile_total),
                     "",
                     "| self % | function | object |", "|---|---|---|"]
            text += ["| %s | `%s` | %s |" % (p, f, o) for p, f, o in self.profile_lines]
            text += ["", "By object (self cost of every function, summed per "
                     "shared object): " + ", ".join(
                         "%s %.1f%%" % (o, p) for o, p in self.profile_objs), ""]
        gp = getattr(self, "get_profile", None)
        if gp:
            text += ["### Where an authenticated GET's time goes",
                     "",
                     "Instructions per authenticated GET of the 4 KiB page, counted by "
                     "`valgrind --tool=callgrind apache2 -X` (tests/bench/getcost.py: "
                     "%d and %d GETs over one keep-alive connection with the same Cookie "
                     "header, the difference divided by %d): plain **%.0f**, ours **%.0f** "
                     "(%.2f×, +%.0f instructions per request). This count does not move "
                     "with the load of the machine; the wall-clock ratio above also pays "
                     "the kernel's share of each request (network, file), which is the same "
                     "for both." % (getcost.FEW, getcost.MANY, getcost.MANY - getcost.FEW,
                                    gp["plain_ir"], gp["ours_ir"],
                                    gp["ours_ir"] / gp["plain_ir"],
                                    gp["ours_ir"] - gp["plain_ir"]),
                     "",
                     "Per request, by function (self instructions, the longer run minus "
                     "the shorter one of each server, divided by %d), the functions where "
                     "ours spends the most over plain:" % (getcost.MANY - getcost.FEW),
                     "",
                     "| ours − plain | ours | plain | function | object |",
                     "|---|---|---|---|---|"]
            text += ["| %+.0f | %.0f | %.0f | `%s` | %s |" % row
                     for row in gp["by_function"][:20]]
            text += [""]
        if self.notes:
            text += ["### Notes", ""] + ["- " + n for n in self.notes] + [""]
        text += ["## Other benchmarks", "",
                 "Written by their own scripts, in this directory: metadata at federation "
                 "scale, `metadata-scale.md` (`metadata_scale.py`); IdP discovery with "
                 "10,000 IdPs (`/saml/discofeed` cached and revalidated, the chooser's "
                 "search), `disco-scale.md` (`disco_scale.py`).", ""]
        text += ["## How to reproduce", "",
                 "```",
                 "make bench                 # installs wrk, redis, memcached if missing",
                 "make bench PEERS=1         # also mod_auth_mellon, mod_shib + shibd (Debian)",
                 "/usr/bin/python3 tests/bench/run_bench.py --help",
                 "```",
                 "",
                 "The command line of this run: `%s`" % " ".join(
                     ["run_bench.py"] + sys.argv[1:]),
                 ""]
        return "\n".join(text)

    def stop_all(self):
        for s in reversed(self.to_stop):
            try:
                s.stop()
            except Exception as e:  # keep stopping the others
                log("stop failed: %s" % e)
        self.to_stop = []
        if not self.a.keep:
            for inst in self.instances.values():
                inst.h.cleanup()
            shutil.rmtree(self.work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=8, help="per GET round")
    ap.add_argument("--acs-rounds", type=int, default=3)
    ap.add_argument("--acs-seconds", type=int, default=4, help="per ACS round")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--acs-connections", type=int, default=8)
    ap.add_argument("--logins", type=int, default=10000,
                    help="logins into 'ours' before its memory is read")
    ap.add_argument("--cli-count", type=int, default=10000)
    ap.add_argument("--profile-count", type=int, default=300)
    ap.add_argument("--peers", action="store_true",
                    default=os.environ.get("PEERS") not in (None, "", "0"))
    ap.add_argument("--no-scale", action="store_true", help="skip redis and memcache")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--quick", action="store_true", help="harness check: 2 short rounds")
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--report-file", metavar="PATH",
                    help="write the report there instead of tests/bench/README.md "
                    "(also with --quick)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.seconds, a.acs_rounds, a.acs_seconds = 2, 2, 2, 2
        a.logins, a.cli_count, a.profile_count = 500, 500, 50
        a.no_readme = True
    b = Bench(a)

    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        log("work dir %s; machine %s" % (b.work, bl.machine()))
        b.mint(max(a.cli_count, 2000))
        if a.peers:
            b.source("mellon", MELLON_ACS)
        b.start_servers()
        b.sessions()
        b.timed()
        bad = {n: b.instances[n].bad_log_lines() for n in b.order}
        for n, lines in bad.items():
            if lines:
                b.notes.append("%s error log: %s" % (n, lines[:3]))
        b.peer_log_notes()
    except BaseException:
        b.stop_all()
        raise
    # Servers are no longer needed for the CLI and openssl runs.
    for s in reversed(b.to_stop):
        s.stop()
    b.to_stop = []
    try:
        b.openssl()
        b.cli()
        b.profile_get()
        print()
        print(b.table())
        print()
        print(b.verdicts())
        if a.report_file:
            with open(a.report_file, "w") as f:
                f.write(b.report())
            log("wrote %s" % a.report_file)
        elif not a.no_readme:
            with open(os.path.join(HERE, "README.md"), "w") as f:
                f.write(b.report())
            log("wrote tests/bench/README.md")
    finally:
        b.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
