#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing, the demo and the
# benchmarks need. Safe to run repeatedly: it only asks apt for what is
# missing. Usage: .ci/install-deps.sh [build|runtime|test|demo|bench|fuzz|peers|all]...
set -euo pipefail

build_pkgs="build-essential autoconf pkg-config apache2 apache2-dev libapr1-dev
 libaprutil1-dev libxml2-dev libxmlsec1-dev libxmlsec1-openssl libssl-dev
 zlib1g-dev libhiredis-dev"
# curl (with ca-certificates) is what authncontext-fetch-metadata downloads
# with; its integration test runs it against a local HTTPS server.
test_pkgs="check xmlsec1 openssl curl ca-certificates python3 python3-pytest python3-requests memcached
 python3-pysaml2 python3-cryptography python3-lxml python3-xmlsec redis-server libxml2-utils
 valgrind clang libclang-rt-14-dev"
# npm fetches axe-core (the accessibility rules the page tests run in
# Chromium) from the npm registry.
browser_pkgs="chromium chromium-driver python3-selenium npm"
bench_pkgs="wrk memcached redis-server"
# The peer SP modules the benchmark compares with (only on request:
# `make bench PEERS=1`): mod_auth_mellon, and mod_shib 3.4 with its daemon
# shibd (shibboleth-sp-utils). tests/bench writes its own private
# shibboleth2.xml and starts its own shibd; the system shibd is stopped below.
peer_pkgs="libapache2-mod-auth-mellon libapache2-mod-shib shibboleth-sp-utils"

want=""
[ $# -eq 0 ] && set -- build test
for group in "$@"; do
    case "$group" in
        build) want="$want $build_pkgs" ;;
        # what an installed module and its tools need at run time
        runtime) want="$want apache2 libxmlsec1-openssl curl ca-certificates" ;;
        # The integration suite drives one flow in headless Chromium.
        test) want="$want $build_pkgs $test_pkgs $browser_pkgs" ;;
        demo) want="$want $build_pkgs $test_pkgs" ;;
        browser) want="$want $browser_pkgs" ;;
        bench) want="$want $build_pkgs $test_pkgs $bench_pkgs" ;;
        fuzz) want="$want $build_pkgs clang libclang-rt-14-dev" ;;
        peers) want="$want $peer_pkgs" ;;
        all) want="$want $build_pkgs $test_pkgs $browser_pkgs $bench_pkgs" ;;
        *) echo "install-deps: unknown group '$group'" >&2; exit 2 ;;
    esac
done

missing=""
for p in $want; do
    # a Node.js from elsewhere (NodeSource) carries its own npm and
    # conflicts with Debian's package: an npm on PATH is enough
    if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then
        continue
    fi
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        case " $missing " in *" $p "*) ;; *) missing="$missing $p" ;; esac
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages:$missing" >&2
    echo "install-deps: run as root: apt-get install -y$missing" >&2
    exit 1
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=900 update -qq
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends $missing >/dev/null
# Debian starts these on install; tests start their own private instances.
for svc in apache2 redis-server memcached shibd; do
    if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" 2>/dev/null || true; fi
    service "$svc" stop >/dev/null 2>&1 || true
done
