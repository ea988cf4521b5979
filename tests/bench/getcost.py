"""getcost.py - instructions per authenticated GET, plain httpd against
ours, counted by callgrind: a figure that does not move with the load of
a shared machine, beside the wall-clock ratio that does.

Each server runs as `apache2 -X` under `valgrind --tool=callgrind` twice,
serving FEW and then MANY GETs of the same page over one keep-alive
connection with the same Cookie header; the difference of the two totals
divided by MANY - FEW is the cost of one request, with the start-up, the
login and the first requests of the connection cancelled out.
"""

import os
import re
import shutil
import signal
import subprocess
import http.client

import benchlib as bl

servers = bl.servers

FEW = 300
MANY = 2300


def _callgrind_total(path):
    with open(path) as f:
        for line in f:
            m = re.match(r"^(?:summary|totals): (\d+)", line)
            if m:
                return int(m.group(1))
    raise RuntimeError("no total in %s" % path)


def _one_run(name, body, load_ours, metadata, login_form, cookie_for_plain, count, keep):
    inst = bl.Instance("cg-" + name, body, load_ours=load_ours)
    try:
        if metadata:
            shutil.copy(metadata, inst.h.path("conf", "idp-metadata.xml"))
        inst.h.write("conf/httpd.conf", inst.conf_text)
        inst.h.fix_permissions()
        out = inst.h.path("logs", "callgrind.out")
        # httpd drops to www-data before callgrind writes its file, so the
        # file must already be theirs.
        open(out, "w").close()
        if os.geteuid() == 0:
            import pwd
            os.chown(out, pwd.getpwnam("www-data").pw_uid, -1)
        p = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                              servers.APACHE2, "-X", "-d", inst.h.root, "-f", inst.h.conf],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if not servers.wait_for_port(inst.port, 120, p):
                raise RuntimeError("%s: httpd under valgrind did not start" % name)
            cookie = bl.login(inst.port, login_form) if login_form else cookie_for_plain
            c = http.client.HTTPConnection("127.0.0.1", inst.port, timeout=60)
            for _ in range(count):
                c.request("GET", "/app/index.html", headers={"Cookie": cookie})
                r = c.getresponse()
                r.read()
                if r.status != 200:
                    raise RuntimeError("%s: GET under callgrind answered %d" % (name, r.status))
            c.close()
        finally:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=120)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        total = _callgrind_total(out)
        if keep:
            shutil.copy(out, keep)
        return total, cookie
    finally:
        inst.h.cleanup()


def self_costs(path):
    """{function [object]: self instructions} of a callgrind file."""
    out = subprocess.run(["callgrind_annotate", "--threshold=100", path],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         timeout=300).stdout
    costs = {}
    for m in re.finditer(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S+)\s+\[(.*?)\]\s*$", out, re.M):
        fn = m.group(2).rsplit(":", 1)[-1]
        if fn.startswith("0x"):
            fn = "(internal %s)" % fn
        key = (fn, os.path.basename(m.group(3)))
        costs[key] = costs.get(key, 0) + int(m.group(1).replace(",", ""))
    return costs


def per_request(few_file, many_file):
    """Self instructions per request of every function: the longer run
    minus the shorter one, divided by the extra requests."""
    a, b = self_costs(few_file), self_costs(many_file)
    return {k: (b.get(k, 0) - a.get(k, 0)) / float(MANY - FEW) for k in set(a) | set(b)}


def measure(plain_body, ours_body, metadata, forms, workdir):
    """{"plain": Ir/GET, "ours": Ir/GET, "by_function": [(ours - plain,
    ours, plain, function, object)] per request, largest extra first}.
    forms: two unused response form lines (one login per run of ours)."""
    res = {}
    files = {k: os.path.join(workdir, "callgrind-get-%s.out" % k)
             for k in ("ours-few", "ours-many", "plain-few", "plain-many")}
    few, cookie = _one_run("ours", ours_body, True, metadata, forms[0], None, FEW,
                           files["ours-few"])
    many, _ = _one_run("ours", ours_body, True, metadata, forms[1], None, MANY,
                       files["ours-many"])
    res["ours"] = (many - few) / float(MANY - FEW)
    # plain gets a Cookie header of the same length (the value does not
    # matter to it)
    few, _ = _one_run("plain", plain_body, False, None, None, cookie, FEW, files["plain-few"])
    many, _ = _one_run("plain", plain_body, False, None, None, cookie, MANY,
                       files["plain-many"])
    res["plain"] = (many - few) / float(MANY - FEW)
    ours = per_request(files["ours-few"], files["ours-many"])
    plain = per_request(files["plain-few"], files["plain-many"])
    rows = [(ours.get(k, 0.0) - plain.get(k, 0.0), ours.get(k, 0.0), plain.get(k, 0.0)) + k
            for k in set(ours) | set(plain)]
    res["by_function"] = sorted(rows, reverse=True)
    res["requests"] = MANY
    return res
