#!/usr/bin/env bash
# The package on arm64 (aarch64) under emulation, on an x86-64 Debian host:
#   1. a Debian arm64 root made with debootstrap and run through
#      qemu-user-static (made once, then reused: about 15 minutes);
#   2. the source tree as it is (tracked files, edits included) copied in,
#      and `pip install ".[test]"` there, the kernels built by the arm64
#      gcc under emulation (about 15 minutes);
#   3. the suite run against the installed package from outside the source
#      tree, as tools/check_dist.sh runs it, without the bigmem tests.
#
# Usage: bash tools/arm64.sh [pytest arguments ...]
#   e.g. bash tools/arm64.sh tests/test_elementwise.py
#        bash tools/arm64.sh --prepare    (only step 1)
#   RK_ARM64_ROOT=DIR    where the root lives
#                        (default: ~/.cache/rectkern/arm64-root)
#   RK_ARM64_SUITE=NAME  Debian suite of the root (default: trixie)
# Needs root and apt-get (for debootstrap, qemu-user-static, binfmt-support).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
root=${RK_ARM64_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/rectkern/arm64-root}
suite=${RK_ARM64_SUITE:-trixie}

if [ "$(id -u)" != 0 ]; then
    echo "tools/arm64.sh: needs root (debootstrap, chroot, binfmt_misc)" >&2
    exit 2
fi

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v update-binfmts >/dev/null || need+=(binfmt-support)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi

# The kernel runs arm64 programs through qemu once binfmt_misc knows them.
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
update-binfmts --enable qemu-aarch64 2>/dev/null || true

# Every mount under the root, the deepest first (a run that was killed may
# have left some).
unmount_all() {
    local target
    while read -r target; do
        umount -l "$target"
    done < <(awk -v root="$root/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r)
}
trap unmount_all EXIT
mount_in_root() {   # mount_in_root SOURCE TARGET [mount options]
    local target=$root$2
    mountpoint -q "$target" && return 0
    mkdir -p "$target"
    mount "${@:3}" "$1" "$target"
}
in_root() {
    chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        LANG=C.UTF-8 "$@"
}

if [ ! -e "$root/.rk-root-ready" ]; then
    echo "== an arm64 $suite root in $root"
    # only a root this script began is removed, never through a mount
    if [ -n "$(ls -A "$root" 2>/dev/null)" ] && [ ! -e "$root/.rk-root" ]; then
        echo "tools/arm64.sh: $root is not empty and not a root of this script" >&2
        exit 2
    fi
    unmount_all
    rm -rf --one-file-system "$root"
    mkdir -p "$root"
    touch "$root/.rk-root"
    debootstrap --arch=arm64 --foreign --variant=minbase "$suite" "$root"
    cp "$(command -v qemu-aarch64-static)" "$root/usr/bin/"
    in_root /debootstrap/debootstrap --second-stage
fi
mount_in_root proc /proc -t proc
mount_in_root /dev /dev --bind
mount_in_root /sys /sys --bind
cp /etc/resolv.conf "$root/etc/resolv.conf"
if [ ! -e "$root/.rk-root-ready" ]; then
    in_root apt-get update -q
    in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        python3 python3-venv python3-dev gcc libc6-dev ca-certificates
    # Certificates the host trusts beyond Debian's (a local proxy's, say).
    if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
        cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
        in_root update-ca-certificates
    fi
    in_root python3 -m venv /opt/venv
    in_root /opt/venv/bin/python -m pip install -q --upgrade pip
    touch "$root/.rk-root-ready"
fi

if [ "${1:-}" = --prepare ]; then
    echo "root ready: $root"
    exit 0
fi

echo "== the sources into the root, and pip install \".[test]\" there"
rm -rf "$root/src/rectkern" "$root/rk-run"
mkdir -p "$root/src/rectkern" "$root/rk-run"
(cd "$src" && git ls-files -z | tar --null --ignore-failed-read -T - -cf -) \
    | tar -xf - -C "$root/src/rectkern"
start=$(date +%s)
in_root /opt/venv/bin/python -m pip install -q "/src/rectkern[test]"
echo "build and install under emulation: $(( $(date +%s) - start )) s"

echo "== the suite, from outside the source tree"
cp -r "$src/tests" "$src/docs" "$src/pyproject.toml" "$root/rk-run/"
in_root /opt/venv/bin/python -c "import rectkern; rectkern.show_config()"
args=("$@")
if [ ${#args[@]} -eq 0 ]; then
    args=(tests --pyargs rectkern)
fi
in_root /bin/sh -c 'cd /rk-run && exec /opt/venv/bin/python -m pytest -q -p no:cacheprovider \
    -m "not bigmem" "$@"' pytest "${args[@]}"
