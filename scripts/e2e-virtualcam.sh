#!/usr/bin/env bash
# End-to-end test of SelfieCam against a REAL v4l2loopback device.
#
# This machine's kernel has no module support, so we boot Debian's own kernel
# under qemu (TCG software emulation), load a v4l2loopback module built here
# from Debian's v4l2loopback-dkms source, share the host's root filesystem into
# the guest read-only over 9p, chroot into it and run scripts/e2e/guest_check.py:
# it starts `vcam run` (or, with --stand-in, a bare pyvirtualcam writer), reads
# the SelfieCam device with an independent consumer (ffmpeg -f v4l2) and checks
# what arrives. The verdict comes back through a read-write 9p output folder.
#
# Usage: scripts/e2e-virtualcam.sh [--out DIR] [--stand-in] [--verbose]
#   --out DIR     where the guest writes result.json, logs and frames
#                 (default: <repo>/artifacts/e2e-virtualcam; emptied first)
#   --stand-in    drive the device with pyvirtualcam directly instead of vcam
#                 (proves the harness itself)
#   --setup       instead, run scripts/setup-v4l2loopback.sh in the guest (twice)
#                 and check that it loads and persists the SelfieCam device
#   --verbose     copy the guest console to stdout as it runs
# Environment:
#   SELFIECAM_E2E_CACHE   package/kernel cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/selfiecam-e2e)
#   SELFIECAM_E2E_TIMEOUT seconds before qemu is killed (default 420)
#   SELFIECAM_E2E_PYTHON  python run inside the guest (default: the host's python3)
#   SELFIECAM_E2E_CPU     qemu -cpu model (default max; the default qemu64 lacks what numpy needs)
#
# Host packages (installed with apt-get when missing and running as root):
#   qemu-system-x86 kmod make gcc-N (the kernel headers' compiler) ffmpeg
# Exit status: 0 PASS, 1 FAIL, 2 the harness could not run (missing tools, no packages).
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd -- "$SCRIPT_DIR/.." && pwd)
OUT="$REPO/artifacts/e2e-virtualcam"
MODE=vcam
VERBOSE=0
CACHE=${SELFIECAM_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/selfiecam-e2e}
TIMEOUT=${SELFIECAM_E2E_TIMEOUT:-420}
QEMU_CPU=${SELFIECAM_E2E_CPU:-max}

while [[ $# -gt 0 ]]; do
    case $1 in
        --out) OUT=$2; shift 2 ;;
        --stand-in) MODE=stand-in; shift ;;
        --setup) MODE=setup; shift ;;
        --verbose|-v) VERBOSE=1; shift ;;
        -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
        *) echo "e2e: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

T0=$(date +%s)
log() { printf 'e2e [%3ds] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die() { printf 'e2e: %s\n' "$*" >&2; exit 2; }

apt_updated=0
apt_update_once() {  # fails (status 1) when apt-get update does
    if [[ $apt_updated == 0 ]]; then
        log "apt-get update"
        apt-get update -qq >/dev/null || return 1
        apt_updated=1
    fi
}

# Install Debian packages that provide missing commands (root only).
ensure_host_packages() {
    local -a missing=()
    local cmd pkg
    while [[ $# -gt 0 ]]; do
        cmd=$1 pkg=$2; shift 2
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
        die "missing host packages: ${missing[*]} (install them with apt-get as root)"
    fi
    apt_update_once || die "apt-get update failed"
    log "installing host packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        >/dev/null || die "apt-get install ${missing[*]} failed"
}

if ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
    die "needs a Debian/Ubuntu host (apt-get, dpkg) to fetch Debian's kernel"
fi
ensure_host_packages qemu-system-x86_64 qemu-system-x86 depmod kmod modprobe kmod \
    make make ffmpeg ffmpeg

if [[ -n ${SELFIECAM_E2E_PYTHON:-} ]]; then
    GUEST_PYTHON=$SELFIECAM_E2E_PYTHON
else
    # Resolve shims (pyenv) to the real interpreter: the guest has no pyenv state.
    GUEST_PYTHON=$(python3 -c 'import sys; print(sys.executable)') \
        || die "python3 not found on the host"
fi

# --- which kernel -----------------------------------------------------------
kernel_version() {
    apt-cache depends linux-image-amd64 2>/dev/null \
        | sed -n 's/^ *Depends: linux-image-\(.*-amd64\)$/\1/p' | head -n1
}
KVER=$(kernel_version)
if [[ -z $KVER ]] && apt_update_once; then
    KVER=$(kernel_version)
fi
if [[ -z $KVER ]]; then
    # Offline but a previous run left a kernel in the cache: use the newest one.
    KVER=$(find "$CACHE" -mindepth 2 -maxdepth 2 -name .extracted -printf '%h\n' 2>/dev/null \
        | xargs -r -n1 basename | sort -V | tail -n1)
fi
[[ -n $KVER ]] || die "cannot tell the Debian kernel version (apt-cache depends linux-image-amd64 is empty)"

WORK="$CACHE/$KVER"
ROOT="$WORK/root"
DEBS="$WORK/debs"
mkdir -p "$DEBS"
log "kernel $KVER, cache $WORK"

# --- download and extract ---------------------------------------------------
if [[ ! -e $WORK/.extracted ]]; then
    kbuild=$(apt-cache depends "linux-headers-$KVER" 2>/dev/null \
        | sed -n 's/^ *Depends: \(linux-kbuild-.*\)$/\1/p' | head -n1)
    common=$(apt-cache depends "linux-headers-$KVER" 2>/dev/null \
        | sed -n 's/^ *Depends: \(linux-headers-.*-common\)$/\1/p' | head -n1)
    [[ -n $kbuild && -n $common ]] || die "apt-cache does not know linux-headers-$KVER"
    pkgs=("linux-image-$KVER" "linux-headers-$KVER" "$common" "$kbuild" v4l2loopback-dkms busybox-static)
    log "downloading ${pkgs[*]}"
    # apt-get download writes into the current directory (_apt cannot write
    # into root's cache, which only costs a warning, kept in download.log).
    if ! (cd "$DEBS" && apt-get download -qq "${pkgs[@]}") >"$WORK/download.log" 2>&1; then
        # Stale package lists name versions the mirror no longer has.
        apt_update_once || die "apt-get download failed, and so did apt-get update"
        (cd "$DEBS" && apt-get download -qq "${pkgs[@]}") >"$WORK/download.log" 2>&1 \
            || { cat "$WORK/download.log" >&2; die "apt-get download failed"; }
    fi
    for p in "${pkgs[@]}"; do
        compgen -G "$DEBS/${p}_*.deb" >/dev/null || die "apt-get download $p failed"
    done
    log "extracting"
    rm -rf "$ROOT"
    mkdir -p "$ROOT"
    for deb in "$DEBS"/*.deb; do dpkg -x "$deb" "$ROOT"; done
    touch "$WORK/.extracted"
    # A new kernel ABI replaces the old one: drop older kernels' caches.
    for old in "$CACHE"/*/.extracted; do
        old=${old%/.extracted}
        [[ -d $old && $old != "$WORK" ]] && { log "removing old cache $old"; rm -rf "$old"; }
    done
fi

HEADERS="$ROOT/usr/src/linux-headers-$KVER"
VMLINUZ="$ROOT/boot/vmlinuz-$KVER"
BUSYBOX="$ROOT/bin/busybox"
[[ -f $HEADERS/Makefile && -f $VMLINUZ && -x $BUSYBOX ]] \
    || die "the cache $WORK is incomplete; remove it and run again"

# The headers' Makefile includes the -common tree by its absolute /usr/src
# path; point it into the extracted tree (idempotent: the greedy match also
# matches an already rewritten path).
sed -i -E "s#^include .*/usr/src/#include $ROOT/usr/src/#" "$HEADERS/Makefile"

# --- build v4l2loopback -----------------------------------------------------
# The headers pin their compiler (CC = gcc-12 in .kernelvariables).
KCC=$(sed -n 's/^CC = .*)\(gcc-[0-9]*\)$/\1/p' "$HEADERS/.kernelvariables" | head -n1)
ensure_host_packages "${KCC:-gcc}" "${KCC:-gcc}"

V4L_SRC=$(find "$ROOT/usr/src" -maxdepth 1 -name 'v4l2loopback-*' -type d | sort -V | tail -n1)
[[ -n $V4L_SRC ]] || die "v4l2loopback source missing in $ROOT/usr/src"
V4L_BUILD="$WORK/build/$(basename "$V4L_SRC")"
MODDIR="$ROOT/lib/modules/$KVER"
if [[ ! -f $V4L_BUILD/v4l2loopback.ko ]]; then
    log "building $(basename "$V4L_SRC") against linux-headers-$KVER"
    rm -rf "$V4L_BUILD"
    mkdir -p "$(dirname "$V4L_BUILD")"
    cp -r "$V4L_SRC" "$V4L_BUILD"
    make -s -C "$HEADERS" M="$V4L_BUILD" -j"$(nproc)" modules >"$WORK/build.log" 2>&1 \
        || { tail -n 30 "$WORK/build.log" >&2; die "building v4l2loopback.ko failed (log: $WORK/build.log)"; }
fi
mkdir -p "$MODDIR/updates"
if ! cmp -s "$V4L_BUILD/v4l2loopback.ko" "$MODDIR/updates/v4l2loopback.ko"; then
    cp "$V4L_BUILD/v4l2loopback.ko" "$MODDIR/updates/v4l2loopback.ko"
    depmod -b "$ROOT" "$KVER"
fi

# --- initramfs --------------------------------------------------------------
# Per run (cheap), so that runs sharing the cache do not trip over each other.
RUN_TMP=$(mktemp -d "${TMPDIR:-/tmp}/selfiecam-e2e.XXXXXX")
trap 'rm -rf "$RUN_TMP"' EXIT
INITRD="$RUN_TMP/initramfs"
mkdir -p "$INITRD"/{bin,dev,proc,sys,newroot,modules}
cp "$BUSYBOX" "$INITRD/bin/busybox"
: >"$INITRD/modules.list"
# Dependencies first, in modprobe's order, each once.
for mod in virtio_pci 9pnet_virtio 9p overlay v4l2loopback; do
    modprobe -d "$ROOT" -S "$KVER" --show-depends "$mod" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
    cp "$ko" "$INITRD/modules/"
    basename "$ko" >>"$INITRD/modules.list"
done
cp "$SCRIPT_DIR/e2e/init.sh" "$INITRD/init"
chmod 755 "$INITRD/init"
(cd "$INITRD" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null | gzip -1 >"$RUN_TMP/initramfs.cpio.gz")

# matplotlib (imported by mediapipe) builds a font cache on first import, which
# takes ~10 s on the emulated CPU: build it on the host and copy it in.
MPL_CACHE="$CACHE/matplotlib"
if [[ ! -d $MPL_CACHE ]]; then
    MPLCONFIGDIR="$MPL_CACHE" "$GUEST_PYTHON" -c 'import matplotlib.font_manager' \
        >/dev/null 2>&1 || true
fi

# --- output folder and the guest's command ----------------------------------
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
# Runs inside the chroot (the host's root, read-only); /run is a tmpfs there
# and the output folder is mounted at /run/e2e-out.
cat >"$OUT/run.sh" <<EOF
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/run/e2e-tmp/home TMPDIR=/run/e2e-tmp LANG=C.UTF-8
export PYTHONPATH='$REPO' PYTHONDONTWRITEBYTECODE=1 MPLCONFIGDIR=/run/e2e-tmp/mpl
mkdir -p "\$HOME" "\$MPLCONFIGDIR"
cp -r '$MPL_CACHE/.' "\$MPLCONFIGDIR/" 2>/dev/null
cd '$REPO'
EOF
if [[ $MODE == setup ]]; then
    echo "$MODDIR" >"$OUT/modules-dir"
    echo "exec '$GUEST_PYTHON' scripts/e2e/guest_setup_check.py --out /run/e2e-out" >>"$OUT/run.sh"
else
    echo "exec '$GUEST_PYTHON' scripts/e2e/guest_check.py --mode '$MODE' --out /run/e2e-out" \
        >>"$OUT/run.sh"
fi

# --- boot -------------------------------------------------------------------
log "booting $KVER under qemu (TCG) for the $MODE test; timeout ${TIMEOUT}s"
SETUP_FLAG=0
[[ $MODE == setup ]] && SETUP_FLAG=1
# shellcheck disable=SC2054  # the commas are inside qemu option values
qemu=(
    qemu-system-x86_64 -accel tcg,thread=multi -cpu "$QEMU_CPU" -m 2048 -smp 2
    -nographic -no-reboot
    -kernel "$VMLINUZ" -initrd "$RUN_TMP/initramfs.cpio.gz"
    -append "console=ttyS0 panic=-1 quiet loglevel=3 mitigations=off e2e.setup=$SETUP_FLAG"
    -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
    -virtfs "local,path=$OUT,mount_tag=e2eout,security_model=none,multidevs=remap"
)
set +e
if [[ $VERBOSE == 1 ]]; then
    timeout --kill-after=10 "$TIMEOUT" "${qemu[@]}" </dev/null 2>&1 | tee "$OUT/console.log"
    qrc=${PIPESTATUS[0]}
else
    timeout --kill-after=10 "$TIMEOUT" "${qemu[@]}" </dev/null >"$OUT/console.log" 2>&1
    qrc=$?
fi
set -e
log "qemu exited ($qrc)"

status=$(sed -n '1p' "$OUT/result" 2>/dev/null || true)
if [[ -f $OUT/guest.log ]]; then
    sed 's/^/guest: /' "$OUT/guest.log"
fi
if [[ $status == PASS ]]; then
    log "PASS ($MODE; details in $OUT/result.json)"
    exit 0
fi
if [[ -z $status ]]; then
    [[ $qrc == 124 ]] && echo "e2e: qemu ran out of time (${TIMEOUT}s)" >&2
    echo "e2e: the guest wrote no result; last console lines:" >&2
    tail -n 40 "$OUT/console.log" >&2
fi
log "FAIL ($MODE; logs in $OUT)"
exit 1
