#!/usr/bin/python3
"""IdP discovery at federation scale (issue 15): a generated, signed
aggregate of N IdPs (the metadata_scale generator's members, each with
mdui DisplayNames in two languages, a Description, a Logo and an entity
attribute), loaded by httpd as a per-entity directory
(`authncontext-verify --metadata-split`, the chooser and feed read the
index) and as one file source.

Measures, on one keep-alive connection from this process (wall time from
sending the request to the last byte of the answer):
  - GET /saml/discofeed: the first request after start-up (builds the list
    and the JSON), then the median and the 95th percentile of 50 more
    (served from the per-snapshot cache), and 50 revalidations with
    If-None-Match (304);
  - the chooser's search: GET /saml/login?target=/private/&q=WORD for 50
    different words (median, p95), and the unsearched first page.
Writes tests/bench/disco-scale.md.

    make -s && /usr/bin/python3 tests/bench/disco_scale.py [--entities 10000]
"""
import argparse
import datetime
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from lxml import etree

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "lib"))
sys.path.insert(0, os.path.join(TESTS, "security"))
sys.path.insert(0, os.path.join(TESTS, "integration"))

import clirunner  # noqa: E402
import samlforge as sf  # noqa: E402
from test_metadata_sources import Keys, sp_with  # noqa: E402

MDUI = "urn:oasis:names:tc:SAML:metadata:ui"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
WORDS = ["North", "South", "East", "West", "Central", "Royal", "Technical", "City",
         "Lake", "River", "Mountain", "Coast", "Valley", "Forest", "Harbour"]
KINDS = ["University", "College", "Institute", "Academy", "School of Medicine"]


def name_of(i):
    return "%s %s %s %05d" % (WORDS[i % len(WORDS)], WORDS[(i // 7) % len(WORDS)],
                              KINDS[i % len(KINDS)], i)


def aggregate(keys, n):
    """As metadata_scale.aggregate (n IdPs, real certificates, an entity
    attribute), plus mdui:UIInfo on each IdP; signed by the federation."""
    certs = [sf.make_rsa_keypair("idp%05d.example.org" % i).cert_pem for i in range(10)]
    members = [{"entity_id": "https://idp%05d.member.example.org/idp" % i,
                "cert_pems": [certs[i % 10], certs[(i + 1) % 10]],
                "attrs": {sf.SIRTFI_NAME: [sf.SIRTFI]}} for i in range(n)]
    members[n // 2] = {"entity_id": sf.IDP_ENTITY_ID, "cert_pem": keys.idp.cert_pem,
                       "sso_url": sf.IDP_SSO_URL}
    root = sf.federation_metadata(members, valid_until=7 * 86400)
    for i, ed in enumerate(root.findall("{%s}EntityDescriptor" % MD)):
        role = ed.find("{%s}IDPSSODescriptor" % MD)
        ext = etree.Element("{%s}Extensions" % MD)
        role.insert(0, ext)
        ui = etree.SubElement(ext, "{%s}UIInfo" % MDUI)
        for lang, text in (("en", name_of(i)), ("de", name_of(i) + " (de)")):
            e = etree.SubElement(ui, "{%s}DisplayName" % MDUI)
            e.set(XML_LANG, lang)
            e.text = text
        e = etree.SubElement(ui, "{%s}Description" % MDUI)
        e.set(XML_LANG, "en")
        e.text = "Members of %s" % name_of(i)
        e = etree.SubElement(ui, "{%s}Logo" % MDUI, height="60", width="80")
        e.text = "https://idp%05d.member.example.org/logo.png" % i
    sf.sign_metadata(root, keys.fed)
    return sf.to_bytes(root)


def timed_get(conn, path, headers=None):
    t0 = time.perf_counter()
    conn.request("GET", path, headers=headers or {})
    r = conn.getresponse()
    body = r.read()
    return (time.perf_counter() - t0) * 1000, r, body


def p95(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def measure(keys, name, md_line, n_idps):
    sp = sp_with(keys, name, md_line)
    try:
        sp.start()
        time.sleep(1)
        conn = http.client.HTTPConnection("127.0.0.1", sp.httpd.port, timeout=60)
        first, r, body = timed_get(conn, "/saml/discofeed")
        assert r.status == 200, r.status
        etag = r.getheader("ETag")
        size = len(body)
        entries = json.loads(body)
        assert len(entries) == n_idps, (len(entries), n_idps)
        assert entries[0]["DisplayNames"][0]["value"] == name_of(0), entries[0]
        feed = [timed_get(conn, "/saml/discofeed")[0] for _ in range(50)]
        revalidate = []
        for _ in range(50):
            ms, r, _b = timed_get(conn, "/saml/discofeed", {"If-None-Match": etag})
            assert r.status == 304, r.status
            revalidate.append(ms)
        search, shown = [], []
        for i in range(50):
            q = "%05d" % (i * 197 % 10000) if i % 2 else WORDS[i % len(WORDS)].lower()
            ms, r, page = timed_get(conn, "/saml/login?target=%2Fprivate%2F&q=" + q)
            assert r.status == 200, (r.status, page[:300])
            search.append(ms)
            shown.append(page.count(b'<li><a class="idp"'))
        first_page, r, page = timed_get(conn, "/saml/login?target=%2Fprivate%2F")
        assert r.status == 200
        return {"feed_first": first, "feed": statistics.median(feed), "feed_p95": p95(feed),
                "size": size, "revalidate": statistics.median(revalidate),
                "search": statistics.median(search), "search_p95": p95(search),
                "first_page": first_page, "first_page_kb": len(page) / 1024.0,
                "shown_max": max(shown)}
    finally:
        sp.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=10000)
    ap.add_argument("--out", default=os.path.join(HERE, "disco-scale.md"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="anc-discoscale-")
    keys = Keys(work)
    data = aggregate(keys, a.entities)
    agg = os.path.join(work, "aggregate.xml")
    with open(agg, "wb") as f:
        f.write(data)
    os.chmod(work, 0o755)
    os.chmod(agg, 0o644)
    d = os.path.join(work, "entities")
    os.makedirs(d)
    p = subprocess.run([clirunner.cli_path(), "--metadata-split", d, "--idp-metadata", agg,
                        "--metadata-verify", keys.fed_cert], capture_output=True)
    assert p.returncode == 0, p.stderr
    subprocess.run(["chmod", "-R", "a+rX", d], check=True)

    rows = [("per-entity directory (--metadata-split)",
             measure(keys, "disco-scale-dir", "AuthnContextIdPMetadataFile %s" % d,
                     a.entities)),
            ("aggregate as one file source (verify=)",
             measure(keys, "disco-scale-file", "AuthnContextIdPMetadataFile %s verify=%s"
                     % (agg, keys.fed_cert), a.entities))]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Discovery at federation scale",
        "",
        "Written by `tests/bench/disco_scale.py`; never edited by hand. One run on a "
        "shared 2-CPU machine (other jobs running). Wall times on one keep-alive "
        "connection from the bench process, request sent to last byte received.",
        "",
        "- date: %s" % now,
        "- aggregate: %d IdPs, %.1f MB, signed; each IdP with DisplayNames in two "
        "languages, a Description, a Logo and an entity attribute" % (a.entities,
                                                                       len(data) / 1e6),
        "- httpd: Debian apache2, event MPM, one worker process",
        "",
        "| source | feed: first request (builds list + JSON) | feed cached: median, p95 "
        "| feed size | 304 revalidation: median | chooser search `?q=`: median, p95 "
        "(50 words) | chooser first page | IdPs shown at most |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, m in rows:
        lines.append("| %s | %.1f ms | %.1f ms, %.1f ms | %.2f MB | %.2f ms | %.1f ms, "
                     "%.1f ms | %.1f ms, %.0f KiB | %d |" % (
                         label, m["feed_first"], m["feed"], m["feed_p95"], m["size"] / 1e6,
                         m["revalidate"], m["search"], m["search_p95"], m["first_page"],
                         m["first_page_kb"], m["shown_max"]))
    lines += ["", "Targets (issue 15): the feed served in under 50 ms once cached, a "
              "chooser search answered in under 50 ms."]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
