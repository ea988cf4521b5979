"""Start and stop the servers that the integration tests and the demo need:
the test IdP (tests/idp/idp_server.py), private httpd instances with the
built module, a private redis-server, and a loopback HTTP back end that echoes
the request headers (for the mod_proxy tests).

Every server listens on 127.0.0.1 only, on a free port, keeps a pid file, is
waited for with a bound, and fails loudly with the last lines of its log.
Shared by tests/integration/conftest.py and tests/demo/run_demo.py.
"""

import http.server
import json
import os
import pwd
import grp
import re
import select
import shutil
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
IDP_SCRIPT = os.path.join(REPO, "tests", "idp", "idp_server.py")
PYTHON = "/usr/bin/python3"
APACHE2 = "/usr/sbin/apache2"
MODULE_DIR = "/usr/lib/apache2/modules"

PPT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
MFA = "https://refeds.org/profile/mfa"

# Lines in an httpd error log that mean the server itself misbehaved.
BAD_LOG_PATTERNS = [r"\[core:crit\]", r"[Ss]egmentation fault", r"segfault",
                    r"AddressSanitizer", r"exit signal", r"\[core:emerg\]",
                    r"runtime error:"]



def stop_process(proc):
    """Ends a child we started: SIGTERM, then SIGKILL after 10 s. None is fine."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)

def kill_server_group(pid):
    """SIGKILL for an httpd parent that did not stop, and for its children:
    a detached httpd leads its own process group, and killing the parent
    alone would leave its workers running with no one to stop them."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    wait_pid_gone(pid, 5)


class ServerError(RuntimeError):
    pass


def build_dir():
    return os.path.abspath(os.environ.get("ANC_BUILD_DIR") or os.path.join(REPO, "build"))


def module_path():
    return os.path.join(build_dir(), "mod_authncontext.so")


def free_port():
    """A port the kernel says is free right now (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def tail(path, n=40):
    try:
        with open(path, "r", errors="replace") as f:
            lines = f.readlines()
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    return "".join(lines[-n:])


def wait_for_port(port, timeout, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def pid_alive(pid):
    """True while pid runs (a zombie, exited but not yet reaped, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def wait_pid_gone(pid, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)


def make_keypair(directory, name, cn):
    """An RSA-2048 key and self-signed certificate made with openssl."""
    key = os.path.join(directory, name + ".key")
    crt = os.path.join(directory, name + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "30", "-subj", "/CN=" + cn],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   timeout=60)
    os.chmod(key, 0o644)  # a throwaway test key; httpd children may read it
    return key, crt


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


# --- the IdP -----------------------------------------------------------------

class IdPServer:
    """tests/idp/idp_server.py in a child process."""

    def __init__(self, state_dir, sp_metadata, port=0, extra_args=(), max_seconds=3600):
        self.state_dir = state_dir
        os.makedirs(state_dir, exist_ok=True)
        self.sp_metadata = sp_metadata
        self.pid_file = os.path.join(state_dir, "idp.pid")
        self.log_file = os.path.join(state_dir, "idp.log")
        self.port = port
        self.extra_args = list(extra_args)
        self.max_seconds = max_seconds
        self.proc = None
        self.base = None
        self.entity_id = None
        self.metadata_file = os.path.join(state_dir, "idp-metadata.xml")

    def start(self, timeout=120):
        # pysaml2's start-up is seconds on an idle machine, far longer on a
        # loaded one: the bound only stops a wait for an IdP that died.
        cmd = [PYTHON, IDP_SCRIPT, "--port", str(self.port), "--state-dir", self.state_dir,
               "--sp-metadata", self.sp_metadata, "--pid-file", self.pid_file,
               "--max-seconds", str(self.max_seconds)] + self.extra_args
        self._log = open(self.log_file, "ab")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                line = self.proc.stdout.readline()
                if line.startswith(b"READY"):
                    break
                if not line and self.proc.poll() is not None:
                    break
            elif self.proc.poll() is not None:
                break
        if not line.startswith(b"READY"):
            self.stop()
            raise ServerError("IdP did not start (exit %s); log:\n%s"
                              % (self.proc.returncode, tail(self.log_file)))
        m = re.search(rb"port=(\d+) entityID=(\S+)", line)
        self.port = int(m.group(1))
        self.entity_id = m.group(2).decode()
        self.base = "http://127.0.0.1:%d" % self.port
        # Drain stdout in the background so the child never blocks on it.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        return self

    def control(self, **kw):
        req = urllib.request.Request(self.base + "/control", data=json.dumps(kw).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def reset(self):
        return self.control(misbehave=False, entra=False, authn_age=0, sign="assertion",
                            want_signed_requests=False, session_seconds=0, encrypt=False, tamper=False,
                            reset_log=True, reset_sessions=True)

    def events(self, type=None):
        ev = json.loads(http_get(self.base + "/log"))
        return [e for e in ev if type is None or e.get("type") == type]

    def log_tail(self, n=40):
        return tail(self.log_file, n)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        try:
            self._log.close()
        except Exception:
            pass


# --- httpd ---------------------------------------------------------------------

BASE_MODULES = ["mpm_event", "authn_core", "authz_core", "authz_user", "mime",
                "alias", "dir", "env", "cgid", "setenvif", "headers",
                "proxy", "proxy_http", "socache_shmcb", "socache_redis", "socache_memcache",
                "rewrite"]


def httpd_conf(root, port, body, modules=BASE_MODULES, server_name=None,
               use_canonical=False, log_level=None):
    """The server-wide part of a private httpd configuration; `body` holds
    the module's directives and the locations."""
    lines = ["# generated by tests/lib/servers.py",
             "ServerRoot %s" % root,
             "DefaultRuntimeDir %s/run" % root,
             "PidFile %s/run/httpd.pid" % root,
             "Mutex file:%s/run default" % root]
    for m in modules:
        lines.append("LoadModule %s_module %s/mod_%s.so" % (m, MODULE_DIR, m))
    lines.append("LoadModule authncontext_module %s" % module_path())
    # as the shipped conf-examples/authncontext.conf sets it
    lines.append("Mutex pthread authncontext-cache")
    if os.geteuid() == 0:
        lines += ["User www-data", "Group www-data"]
    lines += [
        "Listen 127.0.0.1:%d" % port,
        "ServerName %s" % (server_name or "127.0.0.1:%d" % port),
        "UseCanonicalName %s" % ("On" if use_canonical else "Off"),
        "ErrorLog %s/logs/error.log" % root,
        "LogLevel %s" % (log_level or os.environ.get("ANC_LOGLEVEL") or "warn authncontext:debug"),
        'LogFormat "%h %l %u %t \\"%r\\" %>s %b" common',
        "CustomLog %s/logs/access.log common" % root,
        "TypesConfig /etc/mime.types",
        "ScriptSock %s/run/cgisock" % root,
        "DocumentRoot %s/htdocs" % root,
        "DirectoryIndex index.html",
        "Timeout 30",
        "KeepAlive On",
        "StartServers 1",
        "ServerLimit 2",
        "ThreadsPerChild 16",
        "MaxRequestWorkers 32",
        "<Directory />",
        "    AllowOverride None",
        "    Require all denied",
        "</Directory>",
        "<Directory %s/htdocs>" % root,
        "    Require all granted",
        "</Directory>",
        "<Directory %s/cgi-bin>" % root,
        "    Options +ExecCGI",
        "    Require all granted",
        "</Directory>",
        "",
        body,
    ]
    return "\n".join(lines) + "\n"


class Httpd:
    """A private httpd: own ServerRoot (0755, under /tmp so www-data can read
    it), conf written by the caller through httpd_conf(), `apache2 -d ROOT
    -f CONF -k start|stop`."""

    def __init__(self, name, port=None, root=None):
        self.name = name
        self.port = port or free_port()
        self.root = root or tempfile.mkdtemp(prefix="anc-%s-" % name, dir="/tmp")
        os.makedirs(self.root, exist_ok=True)
        os.chmod(self.root, 0o755)
        for d in ("htdocs", "cgi-bin", "logs", "run", "conf"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
        self.conf = os.path.join(self.root, "conf", "httpd.conf")
        self.pid_file = os.path.join(self.root, "run", "httpd.pid")
        self.error_log = os.path.join(self.root, "logs", "error.log")
        self.base = "http://127.0.0.1:%d" % self.port
        self.started = False

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def write(self, rel, text, mode=0o644):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def fix_permissions(self):
        """Everything readable (and directories traversable) by www-data."""
        for dirpath, dirnames, filenames in os.walk(self.root):
            os.chmod(dirpath, 0o755)
            for fn in filenames:
                p = os.path.join(dirpath, fn)
                if os.path.islink(p):
                    continue
                st = os.stat(p)
                os.chmod(p, st.st_mode | 0o444)
        if os.geteuid() == 0:
            uid = pwd.getpwnam("www-data").pw_uid
            gid = grp.getgrnam("www-data").gr_gid
            os.chown(self.path("logs"), uid, gid)

    def apache(self, *args, timeout=30):
        env = dict(os.environ)
        # ANC_HTTPD_PRELOAD=/usr/lib/gcc/x86_64-linux-gnu/12/libasan.so runs
        # httpd with a sanitizer build of the module (make SAN=...); reports
        # land in the error log, which the tests check.
        if os.environ.get("ANC_HTTPD_PRELOAD"):
            env["LD_PRELOAD"] = os.environ["ANC_HTTPD_PRELOAD"]
            env.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0")
            env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        return subprocess.run([APACHE2, "-d", self.root, "-f", self.conf] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, text=True, env=env)

    def configtest(self):
        return self.apache("-t")

    def start(self, conf_text=None, timeout=20):
        if conf_text is not None:
            self.write("conf/httpd.conf", conf_text)
        self.fix_permissions()
        r = self.apache("-k", "start")
        if r.returncode != 0:
            raise ServerError("httpd %s did not start (apache2 exit %d):\n%s\nerror log:\n%s"
                              % (self.name, r.returncode, r.stdout, tail(self.error_log)))
        self.started = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = read_pid(self.pid_file)
            if pid and pid_alive(pid) and wait_for_port(self.port, 0.5):
                return self
            time.sleep(0.1)
        out = r.stdout
        self.stop()
        raise ServerError("httpd %s not listening on %d within %ss:\n%s\nerror log:\n%s"
                          % (self.name, self.port, timeout, out, tail(self.error_log)))

    def stop(self, timeout=15):
        if not self.started:
            return
        pid = read_pid(self.pid_file)
        try:
            self.apache("-k", "stop", timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        if pid and not wait_pid_gone(pid, timeout):
            kill_server_group(pid)
        self.started = False

    def log_text(self):
        try:
            with open(self.error_log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, n=40):
        return tail(self.error_log, n)

    def bad_log_lines(self, since=0):
        """Crash/critical lines of the error log after byte offset `since`."""
        text = self.log_text()[since:]
        return [l for l in text.splitlines()
                if any(re.search(p, l) for p in BAD_LOG_PATTERNS)]

    def log_size(self):
        try:
            return os.path.getsize(self.error_log)
        except OSError:
            return 0

    def cleanup(self):
        if os.environ.get("ANC_KEEP"):
            return
        shutil.rmtree(self.root, ignore_errors=True)


# --- redis -----------------------------------------------------------------------

class Redis:
    """A private redis-server on 127.0.0.1, no persistence."""

    def __init__(self, directory, port=None):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.port = port or free_port()
        self.pid_file = os.path.join(directory, "redis.pid")
        self.log_file = os.path.join(directory, "redis.log")
        self.proc = None

    def start(self, timeout=15):
        cmd = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
               "--save", "", "--appendonly", "no", "--daemonize", "no",
               "--protected-mode", "yes", "--dir", self.dir,
               "--pidfile", self.pid_file, "--logfile", self.log_file]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.ping():
                return self
            time.sleep(0.05)
        self.stop()
        raise ServerError("redis-server did not start on %d; log:\n%s"
                          % (self.port, tail(self.log_file)))

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                s.settimeout(1)
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def command(self, *args):
        """One RESP command; returns the raw reply bytes (for dbsize etc.)."""
        payload = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            payload += b"$%d\r\n%s\r\n" % (len(a), a)
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(payload)
            s.settimeout(2)
            return s.recv(65536)

    def stop(self):
        stop_process(self.proc)
        self.proc = None


class Memcached:
    """A private memcached on 127.0.0.1 (TCP only, no UDP)."""

    def __init__(self, directory, port=None):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.port = port or free_port()
        self.pid_file = os.path.join(directory, "memcached.pid")
        self.proc = None

    def start(self, timeout=15):
        cmd = ["memcached", "-l", "127.0.0.1", "-p", str(self.port), "-U", "0",
               "-m", "32", "-P", self.pid_file]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as c:
                    c.sendall(b"version\r\n")
                    c.settimeout(1)
                    if c.recv(64).startswith(b"VERSION"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise ServerError("memcached did not start on %d" % self.port)

    def stop(self):
        stop_process(self.proc)
        self.proc = None


# --- a back end that echoes headers ------------------------------------------------

class _EchoHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path,
                           "headers": [[k, v] for k, v in self.headers.items()]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class _ThreadingHTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


class EchoBackend:
    """A loopback HTTP server answering every GET with the request headers
    as JSON: what a proxied application would see."""

    def __init__(self):
        self.server = _ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.2}, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def fetch_sp_metadata(httpd, dest, endpoint="/saml", timeout=10):
    """Fetch the SP's metadata from a running httpd into `dest` (atomically,
    so the IdP never reads half a file)."""
    data = http_get(httpd.base + endpoint + "/metadata", timeout=timeout)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    tmp = dest + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, dest)
    return data
