#!/usr/bin/python3
"""`make demo`: httpd with the built module plus the pysaml2 test IdP, on
loopback, with conf-examples/demo.conf (public page, password page, MFA page,
step-up /admin, variables page, lazy page with login buttons, error script).

  run_demo.py [--sp-port 8080] [--idp-port 8081] [--max-seconds 28800]
              [--pid-file /tmp/anc-demo.pid] [--keep]
  run_demo.py --stop          stop a running demo (SIGTERM to its pid)

Ports default to 8080/8081 when free, any free port otherwise. Stops on
Ctrl-C, SIGTERM, `run_demo.py --stop`, or by itself after --max-seconds.
Build artifacts come from $ANC_BUILD_DIR (default build/).
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))

import servers  # noqa: E402

EXAMPLES = os.path.join(REPO, "conf-examples")
PID_FILE = os.path.join(tempfile.gettempdir(), "anc-demo.pid")

PAGE = """<!DOCTYPE html><html><head><title>%(title)s</title></head><body>
<h1>%(title)s</h1><p>%(text)s</p>
<ul>
<li><a href="/public/">public page</a> (no login)</li>
<li><a href="/password/">password page</a> (any session)</li>
<li><a href="/mfa/">MFA page</a> (MFA enforced; a password session gets 403)</li>
<li><a href="/admin/">admin page</a> (step-up: asks the IdP for MFA)</li>
<li><a href="/vars">variables page</a></li>
<li><a href="/lazy/">lazy page</a> (no login forced: sign in with or without MFA, confirm an action with MFA)</li>
<li><a href="/saml/session">your session</a></li>
<li><a href="/saml/logout?return=/">log out</a></li>
</ul>
<p>Test users at the IdP: alice/alice-pw (password only), bob/bob-pw with
one-time code 123456 (MFA when the code is given), carol/carol-pw (no second
factor: step-up ends on the error page).</p>
</body></html>
"""


def pick_port(wanted):
    return wanted if wanted and servers.port_is_free(wanted) else servers.free_port()


def stop_running(pid_file):
    pid = servers.read_pid(pid_file)
    if not pid or not servers.pid_alive(pid):
        print("no demo is running")
        return 0
    os.kill(pid, signal.SIGTERM)
    if servers.wait_pid_gone(pid, 30):
        print("demo stopped (pid %d)" % pid)
        return 0
    print("demo (pid %d) did not stop within 30 s" % pid, file=sys.stderr)
    return 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sp-port", type=int, default=8080)
    ap.add_argument("--idp-port", type=int, default=8081)
    ap.add_argument("--max-seconds", type=float, default=8 * 3600)
    ap.add_argument("--keep", action="store_true", help="keep the state dir on exit")
    ap.add_argument("--stop", action="store_true", help="stop a running demo")
    ap.add_argument("--pid-file", default=PID_FILE, help="default %(default)s")
    args = ap.parse_args(argv)
    if args.stop:
        return stop_running(args.pid_file)

    module = servers.module_path()
    if not os.path.exists(module):
        print("run_demo: %s not found; run `make` first (or set ANC_BUILD_DIR)" % module,
              file=sys.stderr)
        return 1
    other = servers.read_pid(args.pid_file)
    if other and servers.pid_alive(other) and other != os.getpid():
        print("run_demo: a demo is already running (pid %d); `%s --stop` ends it"
              % (other, sys.argv[0]), file=sys.stderr)
        return 1

    state = tempfile.mkdtemp(prefix="anc-demo-", dir="/tmp")
    os.chmod(state, 0o755)
    stopping = threading.Event()

    def on_signal(signum, _frame):
        stopping.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    with open(args.pid_file, "w") as f:
        f.write("%d\n" % os.getpid())
    idp = httpd = None
    try:
        sp_port, idp_port = pick_port(args.sp_port), pick_port(args.idp_port)
        if sp_port == idp_port:
            idp_port = servers.free_port()
        keydir = os.path.join(state, "sp-keys")
        os.makedirs(keydir)
        key, crt = servers.make_keypair(keydir, "sp", "mod_authncontext demo SP")
        sp_md_dir = os.path.join(state, "sp-metadata")
        os.makedirs(sp_md_dir)
        idp = servers.IdPServer(os.path.join(state, "idp"), sp_md_dir, port=idp_port,
                                max_seconds=args.max_seconds + 60).start()

        httpd = servers.Httpd("demo", port=sp_port, root=os.path.join(state, "httpd"))
        for d in ("", "public", "password", "mfa", "admin", "lazy/confirm"):
            title = {"": "mod_authncontext demo", "public": "Public page",
                     "password": "Password page", "mfa": "MFA page",
                     "admin": "Admin page (after step-up)",
                     "lazy/confirm": "Action confirmed with MFA"}[d]
            text = {"": "Pick a page.", "public": "Anyone can see this.",
                    "password": "You have a session (any authentication class).",
                    "mfa": "Your session carries https://refeds.org/profile/mfa.",
                    "admin": "You stepped up to MFA.",
                    "lazy/confirm": "A fresh MFA login confirmed this action."}[d]
            httpd.write(os.path.join("htdocs", d, "index.html"),
                        PAGE % {"title": title, "text": text})
        for cgi in ("variables.cgi", "auth-error.cgi", "lazy-app.cgi"):
            httpd.write(os.path.join("cgi-bin", cgi),
                        open(os.path.join(EXAMPLES, cgi)).read(), 0o755)
        shutil.copy(idp.metadata_file, httpd.path("conf", "idp-metadata.xml"))
        body = open(os.path.join(EXAMPLES, "demo.conf")).read()
        for k, v in {"@SP_ENTITY_ID@": "http://127.0.0.1:%d/sp" % sp_port,
                     "@SP_KEY@": key, "@SP_CERT@": crt,
                     "@IDP_METADATA@": httpd.path("conf", "idp-metadata.xml"),
                     "@ROOT@": httpd.root}.items():
            body = body.replace(k, v)
        httpd.start(servers.httpd_conf(httpd.root, sp_port, body,
                                       log_level="info authncontext:info"))
        servers.fetch_sp_metadata(httpd, os.path.join(sp_md_dir, "demo.xml"))

        print("""
mod_authncontext demo is running (state in %(state)s)

  site            http://127.0.0.1:%(sp)d/
  public page     http://127.0.0.1:%(sp)d/public/
  password page   http://127.0.0.1:%(sp)d/password/
  MFA page        http://127.0.0.1:%(sp)d/mfa/        (MFA enforced, 403 otherwise)
  step-up         http://127.0.0.1:%(sp)d/admin/      (asks the IdP for MFA)
  variables page  http://127.0.0.1:%(sp)d/vars
  lazy page       http://127.0.0.1:%(sp)d/lazy/       (sign in with or without MFA, confirm with MFA)
  your session    http://127.0.0.1:%(sp)d/saml/session (?format=json for JSON)
  log out         http://127.0.0.1:%(sp)d/saml/logout?return=/
  SP metadata     http://127.0.0.1:%(sp)d/saml/metadata
  IdP             http://127.0.0.1:%(idp)d/   (metadata at /metadata)

  users: alice / alice-pw            password only
         bob   / bob-pw, code 123456 MFA when the code is given
         carol / carol-pw            no second factor (step-up -> error page)

  logs:  %(errlog)s
         %(idplog)s
Stop with Ctrl-C or `%(me)s --stop` (stops by itself after %(bound)s).
""" % {"state": state, "sp": sp_port, "idp": idp.port, "errlog": httpd.error_log,
       "idplog": idp.log_file, "me": os.path.relpath(os.path.abspath(__file__)),
       "bound": ("%.1f h" % (args.max_seconds / 3600)) if args.max_seconds >= 3600
       else ("%d s" % args.max_seconds)}, flush=True)

        deadline = time.monotonic() + args.max_seconds
        while not stopping.is_set() and time.monotonic() < deadline:
            stopping.wait(1.0)
            if idp.proc.poll() is not None:
                print("run_demo: the IdP exited; log:\n" + idp.log_tail(), file=sys.stderr)
                return 1
            pid = servers.read_pid(httpd.pid_file)
            if not pid or not servers.pid_alive(pid):
                print("run_demo: httpd exited; log:\n" + httpd.log_tail(), file=sys.stderr)
                return 1
        print("stopping the demo ...", flush=True)
        return 0
    except servers.ServerError as e:
        print("run_demo: %s" % e, file=sys.stderr)
        return 1
    finally:
        if httpd is not None:
            httpd.stop()
        if idp is not None:
            idp.stop()
        if servers.read_pid(args.pid_file) == os.getpid():
            os.unlink(args.pid_file)
        if not args.keep:
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
