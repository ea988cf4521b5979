#!/usr/bin/python3
"""Federation-scale metadata (issue 13): a generated aggregate of N IdPs
signed by a test federation key, loaded by httpd as one file source
(every process parses it) and as a per-entity directory made once by
`authncontext-verify --metadata-split` (processes read the index only and
load an IdP on first use).

Measures, for each kind of source: `apache2 -t` wall time, start-up wall
time (to the port answering), the RSS of the worker process, the first
and the second /saml/login?idp= naming an IdP (not yet loaded / cached),
and the CLI's wall time and peak RSS (/usr/bin/time) to check and to
split the aggregate. Writes tests/bench/metadata-scale.md.

    make -s && /usr/bin/python3 tests/bench/metadata_scale.py [--entities 10000]
"""
import argparse
import resource
import statistics
import datetime
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "lib"))
sys.path.insert(0, os.path.join(TESTS, "security"))
sys.path.insert(0, os.path.join(TESTS, "integration"))
sys.path.insert(0, HERE)

import clirunner  # noqa: E402
import samlforge as sf  # noqa: E402
import livehttpd  # noqa: E402
from test_metadata_sources import Keys, sp_with  # noqa: E402


def aggregate(keys, n):
    """n IdPs, each with its own key pair's certificate (as real members
    have), display names and an entity attribute, signed."""
    certs = [sf.make_rsa_keypair("idp%05d.example.org" % i).cert_pem for i in range(10)]
    members = []
    for i in range(n):
        members.append({"entity_id": "https://idp%05d.member.example.org/idp" % i,
                        "cert_pems": [certs[i % 10], certs[(i + 1) % 10]],
                        "attrs": {sf.SIRTFI_NAME: [sf.SIRTFI]}})
    members[n // 2] = {"entity_id": sf.IDP_ENTITY_ID, "cert_pem": keys.idp.cert_pem,
                       "sso_url": sf.IDP_SSO_URL}
    root = sf.federation_metadata(members, valid_until=7 * 86400)
    sf.sign_metadata(root, keys.fed)
    return sf.to_bytes(root)


def timed(cmd):
    """(exit status, CPU seconds (user+sys), peak RSS MiB, process)."""
    p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S"] + cmd, capture_output=True)
    kb, u, s = p.stderr.decode().strip().splitlines()[-1].split()
    return p.returncode, float(u) + float(s), int(kb) / 1024.0, p


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_rss(sp):
    """VmRSS of the worker process(es) of sp (children of the parent)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != sp.pid:
                continue
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if b"apache2" not in f.read():
                    continue
            with open("/proc/%s/status" % pid) as f:
                m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
            out.append(int(m.group(1)) / 1024.0)
        except (OSError, ValueError, IndexError):
            continue
    return max(out) if out else float("nan")


def measure(keys, name, md_line, targets=None):
    sp = sp_with(keys, name, md_line)
    try:
        sp.httpd.write("conf/httpd.conf", sp.conf_text)
        sp.httpd.fix_permissions()
        c0 = children_cpu()
        r = sp.httpd.configtest()
        t_ct = children_cpu() - c0
        assert r.returncode == 0, r.stdout
        t0 = time.monotonic()
        sp.start()
        t_start = time.monotonic() - t0
        cpu_parent = proc_cpu(sp.pid)
        time.sleep(1)
        c = sp.client()
        # warm the connection and the login path with the test IdP first
        assert c.get("/saml/login?target=/private/&idp=" + sf.IDP_ENTITY_ID).status == 302
        targets = targets or ["https://idp%05d.member.example.org/idp" % i
                              for i in range(10, 40)]
        first, again = [], []
        for rounds in (first, again):
            for t in targets:
                t0 = time.monotonic()
                rep = c.get("/saml/login?target=/private/&idp=" + t)
                rounds.append((time.monotonic() - t0) * 1000)
                assert rep.status == 302, rep.status
        rss = worker_rss(sp)
        return {"configtest": t_ct, "start": t_start, "start_cpu": cpu_parent, "rss": rss,
                "login_first": statistics.median(first),
                "login_cached": statistics.median(again)}
    finally:
        sp.stop()


def measure_mellon(agg, targets):
    """mod_auth_mellon (Debian's package) with the same aggregate as its
    MellonIdPMetadataFile: every process parses it with lasso at start-up.
    None when mellon is not installed; a dict with "error" when it does not
    start within the time allowed."""
    import benchlib as bl
    import run_bench as rb
    import servers
    mellon = "/usr/lib/apache2/modules/mod_auth_mellon.so"
    if not os.path.exists(mellon):
        return None
    body = rb.MELLON_BODY % {"host": rb.SP_HOST, "entity": rb.SP_ENTITY, "mfa": rb.MFA}
    inst = bl.Instance("md-scale-mellon", body, extra_modules=[mellon])
    try:
        import shutil
        shutil.copy(agg, inst.h.path("conf", "idp-metadata.xml"))
        key, crt = servers.make_keypair(inst.h.path("conf"), "sp", rb.SP_HOST)
        with open(crt) as f:
            cert = "".join(l.strip() for l in f if "-----" not in l)
        inst.h.write("conf/sp-metadata.xml", rb.MELLON_SP_METADATA % {
            "entity": rb.SP_ENTITY, "cert": cert, "acs": rb.MELLON_ACS,
            "base": rb.MELLON_ACS.rsplit("/", 1)[0]})
        inst.h.write("conf/httpd.conf", inst.conf_text)
        inst.h.fix_permissions()
        c0 = children_cpu()
        r = inst.h.configtest()
        t_ct = children_cpu() - c0
        if r.returncode != 0:
            return {"error": "configtest failed: " + r.stdout[-300:]}
        t0 = time.monotonic()
        try:
            inst.h.start(timeout=600)
        except Exception as e:  # noqa: BLE001 - reported in the table
            return {"error": "did not start: %s" % str(e)[:300]}
        t_start = time.monotonic() - t0
        cpu_parent = proc_cpu(servers.read_pid(inst.h.pid_file))
        time.sleep(1)

        import urllib.parse
        import urllib.request

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None
        opener = urllib.request.build_opener(NoRedirect)
        times = []
        for t in targets:
            url = "http://127.0.0.1:%d/saml/login?ReturnTo=%s&IdP=%s" % (
                inst.port, urllib.parse.quote("http://%s/app" % rb.SP_HOST, safe=""),
                urllib.parse.quote(t, safe=""))
            t0 = time.monotonic()
            try:
                opener.open(url, timeout=900)
                status = 200
            except urllib.error.HTTPError as e:
                status = e.code
            except OSError as e:
                return {"error": "a login naming an IdP got no answer (%s); error log: %s"
                        % (e, inst.h.log_tail(5)[-600:])}
            times.append((time.monotonic() - t0) * 1000)
            assert status in (302, 303), status
        class P:
            pid = servers.read_pid(inst.h.pid_file)
        rss = worker_rss(P)  # after the logins: mellon parses the metadata then
        return {"configtest": t_ct, "start": t_start, "start_cpu": cpu_parent, "rss": rss,
                "login_first": times[0],
                "login_cached": statistics.median(times[1:]) if len(times) > 1 else float("nan"),
                "n": len(times)}
    finally:
        inst.h.stop()
        inst.h.cleanup()


def baseline(keys):
    """The same server with one small metadata file."""
    return measure(keys, "md-scale-small",
                   "AuthnContextIdPMetadataFile %s" % keys.metadata,
                   targets=[sf.IDP_ENTITY_ID] * 30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=10000)
    ap.add_argument("--mellon-logins", type=int, default=3,
                    help="logins timed with mod_auth_mellon (each can take minutes)")
    ap.add_argument("--out", default=os.path.join(HERE, "metadata-scale.md"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="anc-mdscale-")
    keys = Keys(work)
    t0 = time.monotonic()
    data = aggregate(keys, a.entities)
    t_gen = time.monotonic() - t0
    agg = os.path.join(work, "aggregate.xml")
    with open(agg, "wb") as f:
        f.write(data)
    os.chmod(work, 0o755)
    os.chmod(agg, 0o644)
    cli = clirunner.cli_path()
    rc, t_check, peak_check, _ = timed([cli, "--metadata-only", "--idp-metadata", agg,
                                        "--metadata-verify", keys.fed_cert])
    assert rc == 0
    d = os.path.join(work, "entities")
    os.makedirs(d)
    rc, t_split, peak_split, p = timed([cli, "--metadata-split", d, "--idp-metadata", agg,
                                        "--metadata-verify", keys.fed_cert])
    assert rc == 0, p.stderr
    subprocess.run(["chmod", "-R", "a+rX", d], check=True)
    n_files = len(os.listdir(d)) - 1

    base = baseline(keys)
    whole = measure(keys, "md-scale-file", "AuthnContextIdPMetadataFile %s verify=%s"
                    % (agg, keys.fed_cert))
    lazy = measure(keys, "md-scale-dir", "AuthnContextIdPMetadataFile %s" % d)

    rows = [("one small metadata file (1 IdP)", base),
            ("aggregate as one file source (verify=)", whole),
            ("per-entity directory (--metadata-split)", lazy)]
    # few logins: mellon answers a login in seconds to minutes here
    mel = measure_mellon(agg, ["https://idp%05d.member.example.org/idp" % i
                               for i in range(10, 10 + max(1, a.mellon_logins))])
    mel_note = "mod_auth_mellon: not installed (`.ci/install-deps.sh peers`)."
    if mel and "error" in mel:
        mel_note = "mod_auth_mellon with the aggregate: %s" % mel["error"]
    elif mel:
        rows.append(("mod_auth_mellon, aggregate as MellonIdPMetadataFile (no signature "
                     "check)", mel))
        mel_note = ("mod_auth_mellon (Debian's package, no signature check on the "
                    "aggregate): its login columns are `/saml/login?IdP=`, the first "
                    "login and the median of the next %d (not 30: each takes long); its "
                    "worker RSS, taken after those logins, is %.1f MiB over our one-file "
                    "server." % (mel["n"] - 1, mel["rss"] - base["rss"]))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Metadata at federation scale",
        "",
        "Written by `tests/bench/metadata_scale.py`; never edited by hand. One run, "
        "shared 2-CPU machine (other jobs running): CPU times are given where wall "
        "times would measure the neighbours.",
        "",
        "- date: %s" % now,
        "- aggregate: %d IdPs, %.1f MB, RSA-2048 federation signature (samlforge, "
        "generated in %.0f s); each IdP with two certificates and an entity attribute"
        % (a.entities, len(data) / 1e6, t_gen),
        "- httpd: Debian apache2, event MPM, one worker process, the module with "
        "`LogLevel authncontext:debug`",
        "",
        "| source | `apache2 -t` CPU | start-up: wall, parent CPU | worker RSS | "
        "`/saml/login?idp=`, median of 30 IdPs: first time (not loaded) | again (cached) |",
        "|---|---|---|---|---|---|",
    ]
    for label, m in rows:
        lines.append("| %s | %.2f s | %.2f s, %.2f s | %.1f MiB | %.1f ms | %.1f ms |" % (
            label, m["configtest"], m["start"], m["start_cpu"], m["rss"], m["login_first"],
            m["login_cached"]))
    lines += [
        "",
        "Worker RSS growth over the one-file server: aggregate %.1f MiB, directory %.1f MiB."
        % (whole["rss"] - base["rss"], lazy["rss"] - base["rss"]),
        "",
        mel_note,
        "",
        "CLI (`authncontext-verify`, one process, unprivileged): check the aggregate "
        "(`--metadata-only --metadata-verify`) %.2f s CPU, peak RSS %.1f MiB; split it "
        "(`--metadata-split`) into %d files and an index %.2f s CPU, peak RSS %.1f MiB."
        % (t_check, peak_check, n_files, t_split, peak_split),
        "",
        "Start-up parses the configuration twice (httpd runs the config hooks twice); "
        "the aggregate as a file source is verified and parsed both times, in the "
        "root parent, and again by every worker when the file changes. The directory "
        "source reads the index only; an IdP's file (a few KB, hash checked) is read "
        "the first time a login or a response names it.",
    ]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    subprocess.run(["rm", "-rf", work])
    return 0


if __name__ == "__main__":
    sys.exit(main())
