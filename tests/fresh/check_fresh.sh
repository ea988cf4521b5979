#!/usr/bin/env bash
# make check-fresh: the README's two commands on a Debian 12 machine that has
# nothing installed. A fresh clone on a developer's machine is not a fresh
# machine (every package is already there), so a missing install step stays
# hidden there; here it fails.
#
# As root: builds a minimal Debian 12 root (debootstrap --variant=minbase),
# copies this work tree into it (tracked files and untracked ones git does not
# ignore, as they are now), installs the one prerequisite the README names
# (make), and runs, inside it:
#   make check                the README's test command (every suite)
#   make demo                 started in the background, one page fetched,
#                             then stopped with run_demo.py --stop
#   FRESH_EXTRA               more make goals (CI passes `fuzz`)
#
# Environment:
#   ANC_FRESH_ROOT     where the root is built (default /var/tmp/anc-fresh-root;
#                      removed at the end unless ANC_FRESH_KEEP=1)
#   ANC_FRESH_MIRROR   Debian mirror (default: the first one apt uses here)
#   FRESH_EXTRA        extra make goals run inside after check and demo
#   FRESH_OUT          a host directory that receives the root's test output
#                      (build/test-output) when the run ends
#
# Safety: the root gets /proc, /sys and /dev bind mounts. Everything is
# unmounted (and every process whose root is the fresh root is killed) before
# the tree is removed, and the removal never crosses a file system boundary.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
root=${ANC_FRESH_ROOT:-/var/tmp/anc-fresh-root}
extra=${FRESH_EXTRA:-}
out=${FRESH_OUT:-}

if [ "$(id -u)" -ne 0 ]; then
    echo "check-fresh: needs root (debootstrap, chroot, mounts)" >&2
    exit 2
fi
case "$root" in
    /|/var|/var/tmp|/tmp|"") echo "check-fresh: refusing root '$root'" >&2; exit 2 ;;
esac

mirror=${ANC_FRESH_MIRROR:-}
if [ -z "$mirror" ]; then
    mirror=$(grep -rhoE '^(URIs:|deb) +[^ ]*' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
        awk '{print $2}' | grep -E '/debian/?$' | head -n 1 || true)
    mirror=${mirror:-http://deb.debian.org/debian}
fi
security_mirror=${mirror%/debian}/debian-security

started=$(date +%s)
say() { echo "check-fresh: [$(( $(date +%s) - started )) s] $*"; }

if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap on the host"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
        --no-install-recommends debootstrap >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 \
            install -y -qq --no-install-recommends debootstrap >/dev/null; }
fi

kill_inside() {
    local pid link
    for pid in /proc/[0-9]*; do
        link=$(readlink "$pid/root" 2>/dev/null) || continue
        case "$link" in
            "$root"|"$root"/*) kill -9 "${pid#/proc/}" 2>/dev/null || true ;;
        esac
    done
}

unmount_all() {
    local m
    # Deepest first; -l as a last resort so a busy mount cannot keep /dev
    # bound under a tree that is about to be removed.
    for _ in 1 2 3; do
        kill_inside
        mapfile -t mounts < <(awk -v r="$root" '$2 == r || index($2, r "/") == 1 {print $2}' \
            /proc/self/mounts | sort -r)
        [ ${#mounts[@]} -eq 0 ] && return 0
        for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
        sleep 1
    done
    mapfile -t mounts < <(awk -v r="$root" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/self/mounts)
    [ ${#mounts[@]} -eq 0 ]
}

cleanup() {
    local rc=$?
    if [ -n "$out" ] && [ -d "$root/src/build/test-output" ]; then
        mkdir -p "$out" && cp -a "$root/src/build/test-output/." "$out/" 2>/dev/null || true
    fi
    if unmount_all; then
        if [ "${ANC_FRESH_KEEP:-0}" != 1 ]; then
            rm -rf --one-file-system "$root"
        fi
    else
        echo "check-fresh: mounts under $root remain; not removing it" >&2
        rc=1
    fi
    exit "$rc"
}

# A root left by an interrupted run: unmount and remove it first.
if [ -e "$root" ]; then
    unmount_all || { echo "check-fresh: cannot unmount an old $root" >&2; exit 1; }
    rm -rf --one-file-system "$root"
fi
trap cleanup EXIT
trap 'exit 130' INT TERM

say "debootstrap --variant=minbase bookworm from $mirror"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 || {
    tail -n 30 "$root.debootstrap.log" >&2
    exit 1
}
rm -f "$root.debootstrap.log"

cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security_mirror bookworm-security main
EOF
# The host's apt settings (for example a date check turned off for a
# snapshot mirror) apply inside too; they install nothing.
for f in /etc/apt/apt.conf.d/*; do
    case "$(basename "$f")" in *docker*|*autoremove*|*packagekit*) ;; *) cp "$f" "$root/etc/apt/apt.conf.d/" ;; esac
done
cp /etc/hosts /etc/resolv.conf "$root/etc/"
# The host's trusted CAs, for the one HTTPS client the tests use (npm, which
# fetches axe-core): where the host's network inspects TLS with a CA of its
# own, a root with only Debian's bundle would refuse the registry.
host_ca=""
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$root/etc/ssl/host"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/host/ca.crt"
    host_ca=/etc/ssl/host/ca.crt
fi
# Like any chroot, services that packages install are not started inside
# (they would share this machine's ports); the tests start their own.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"

mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"

say "copying the work tree into the root"
mkdir -p "$root/src"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' | tar --null -T - -cf -) |
    tar -xf - -C "$root/src"

inside() {
    chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin CI="${CI:-}" \
        ${host_ca:+NODE_EXTRA_CA_CERTS=$host_ca npm_config_cafile=$host_ca} \
        ${http_proxy:+http_proxy=$http_proxy} ${https_proxy:+https_proxy=$https_proxy} \
        /bin/bash -c "$1"
}

say "the README's prerequisite: apt-get install make"
inside 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends make >/dev/null'

say "make check"
inside 'cd /src && make check'

say "make demo (start, fetch a page, stop)"
inside 'cd /src && { make demo DEMO_ARGS="--sp-port 0 --idp-port 0 --max-seconds 300 --pid-file /tmp/anc-demo.pid" >/tmp/demo.out 2>&1 & }
    for i in $(seq 1 240); do grep -q "Stop with" /tmp/demo.out && break; sleep 1; done
    cat /tmp/demo.out
    url=$(grep -oE "http://127\.0\.0\.1:[0-9]+/" /tmp/demo.out | head -n 1)
    test -n "$url" || { echo "check-fresh: the demo did not start" >&2; exit 1; }
    python3 -c "import sys, urllib.request as u; b = u.urlopen(sys.argv[1] + \"public/\", timeout=10).read().decode(); assert \"Public page\" in b, b; print(\"check-fresh: demo public page served\")" "$url"
    python3 tests/demo/run_demo.py --stop --pid-file /tmp/anc-demo.pid'

if [ -n "$extra" ]; then
    say "make $extra"
    inside "cd /src && make $extra"
fi

say "passed"
