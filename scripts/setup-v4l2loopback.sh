#!/usr/bin/env bash
# Create the "SelfieCam" virtual camera: install, load and persist v4l2loopback.
#
# Usage: sudo scripts/setup-v4l2loopback.sh [--video-nr N] [--label NAME] [--zoom-device]
#                                            [--no-install] [--print-options]
#   --video-nr N     device number: /dev/videoN (default 10)
#   --label NAME     the name applications show (default SelfieCam)
#   --zoom-device    also /dev/video(N+1), labelled NAME-Zoom, without exclusive_caps:
#                    some Zoom versions list no device that has it, while Chrome and
#                    WebRTC apps list only devices that have it; publish there with
#                    `vcam run --device /dev/video(N+1)` when Zoom lists no SelfieCam
#   --no-install     do not apt-get install anything; fail if something is missing
#   --print-options  print the module options it would write, and exit (no root needed)
#
# What it does, each step only when needed (running it twice changes nothing):
#   1. installs v4l2loopback-dkms (and the headers for the running kernel) and
#      v4l2loopback-utils with apt-get;
#   2. writes /etc/modprobe.d/selfiecam.conf with
#        options v4l2loopback devices=1 video_nr=N card_label=NAME exclusive_caps=1
#      (exclusive_caps=1 is what Chrome and WebRTC need to list the camera; with
#      --zoom-device: devices=2 video_nr=N,N+1 ... exclusive_caps=1,0) and
#      /etc/modules-load.d/selfiecam.conf, so it comes back after a reboot;
#   3. loads the module and checks that /dev/videoN carries the label.
# If the kernel refuses the module under Secure Boot, it says how to enrol the
# DKMS signing key. Exit status: 0 ready, 1 could not set it up, 2 usage.
set -euo pipefail

VIDEO_NR=10
LABEL=SelfieCam
INSTALL=1
ZOOM=0
PRINT=0
MODPROBE_CONF=/etc/modprobe.d/selfiecam.conf
MODULES_LOAD_CONF=/etc/modules-load.d/selfiecam.conf

while [[ $# -gt 0 ]]; do
    case $1 in
        --video-nr) VIDEO_NR=$2; shift 2 ;;
        --label) LABEL=$2; shift 2 ;;
        --no-install) INSTALL=0; shift ;;
        --zoom-device) ZOOM=1; shift ;;
        --print-options) PRINT=1; shift ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *) echo "setup-v4l2loopback: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ $VIDEO_NR =~ ^[0-9]+$ ]] || { echo "setup-v4l2loopback: --video-nr wants a number, got '$VIDEO_NR'" >&2; exit 2; }
[[ $LABEL =~ ^[A-Za-z0-9_.-]+$ ]] \
    || { echo "setup-v4l2loopback: --label may hold letters, digits, '.', '_' and '-' only, got '$LABEL'" >&2; exit 2; }

DEVICE=/dev/video$VIDEO_NR
ZOOM_LABEL=$LABEL-Zoom
ZOOM_DEVICE=/dev/video$((VIDEO_NR + 1))
if [[ $ZOOM == 1 ]]; then
    # The module's array parameters: one value per device, in order.
    OPTIONS="devices=2 video_nr=$VIDEO_NR,$((VIDEO_NR + 1)) card_label=$LABEL,$ZOOM_LABEL exclusive_caps=1,0"
else
    OPTIONS="devices=1 video_nr=$VIDEO_NR card_label=$LABEL exclusive_caps=1"
fi
if [[ $PRINT == 1 ]]; then
    echo "options v4l2loopback $OPTIONS"
    exit 0
fi

say() { printf 'setup-v4l2loopback: %s\n' "$*"; }
fail() { printf 'setup-v4l2loopback: %s\n' "$*" >&2; exit 1; }

# The device labelled $1 (default $LABEL), if any ("" when none).
labelled_device() {
    local n want=${1:-$LABEL}
    for n in /sys/class/video4linux/video*/name; do
        [[ -r $n ]] || continue
        if [[ $(<"$n") == "$want" ]]; then
            n=${n%/name}
            echo "/dev/${n##*/}"
            return 0
        fi
    done
}

HEADER="# SelfieCam virtual camera (written by scripts/setup-v4l2loopback.sh)"
WANT_MODPROBE="$HEADER
options v4l2loopback $OPTIONS"
WANT_MODULES_LOAD="$HEADER
v4l2loopback"

same_content() {  # FILE CONTENT
    [[ -f $1 && $(<"$1") == "$2" ]]
}

# Ready: the device (and, with --zoom-device, the Zoom one) is there.
all_there() {
    [[ -n $(labelled_device) ]] && { [[ $ZOOM == 0 ]] || [[ -n $(labelled_device "$ZOOM_LABEL") ]]; }
}

existing=$(labelled_device)
if all_there && same_content "$MODPROBE_CONF" "$WANT_MODPROBE" \
    && same_content "$MODULES_LOAD_CONF" "$WANT_MODULES_LOAD"; then
    say "$LABEL is ready at $existing (settings in $MODPROBE_CONF); nothing to do"
    exit 0
fi

if [[ $(id -u) != 0 ]]; then
    if command -v sudo >/dev/null; then
        say "needs root; running again with sudo"
        again=(--video-nr "$VIDEO_NR" --label "$LABEL")
        [[ $INSTALL == 0 ]] && again+=(--no-install)
        [[ $ZOOM == 1 ]] && again+=(--zoom-device)
        exec sudo -- "$0" "${again[@]}"
    fi
    fail "run this as root (sudo $0)"
fi

# A kernel built without loadable modules (some containers, minimal VMs,
# WSL's default kernel) can never load v4l2loopback: say so before installing.
if [[ ! -e /proc/modules ]]; then
    fail "this kernel ($(uname -r)) was built without loadable module support (no /proc/modules),
so v4l2loopback cannot be loaded here. Run SelfieCam on a machine whose kernel
loads modules (a normal desktop install), or use a kernel with v4l2loopback built in."
fi

# --- 1. packages ------------------------------------------------------------
apt_install() {
    [[ $# -gt 0 ]] || return 0
    if [[ $INSTALL == 0 ]]; then
        fail "missing: $* (install them, or run without --no-install)"
    fi
    command -v apt-get >/dev/null || fail "missing: $*; this is not a Debian/Ubuntu system, install the v4l2loopback module and utils with your package manager"
    say "installing $*"
    apt-get update -qq || fail "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" || fail "apt-get install $* failed"
}

need=()
if ! modinfo v4l2loopback >/dev/null 2>&1; then
    need+=(v4l2loopback-dkms)
    # DKMS builds the module against the running kernel's headers.
    [[ -d /lib/modules/$(uname -r)/build ]] || need+=("linux-headers-$(uname -r)")
fi
if ! command -v v4l2loopback-ctl >/dev/null; then
    # Handy (v4l2loopback-ctl), not needed: only asked for when installing.
    if [[ $INSTALL == 1 ]]; then
        need+=(v4l2loopback-utils)
    else
        say "note: v4l2loopback-utils is not installed (it brings v4l2loopback-ctl)"
    fi
fi
apt_install "${need[@]}"
modinfo v4l2loopback >/dev/null 2>&1 \
    || fail "v4l2loopback is installed but no module was built for kernel $(uname -r); see: dkms status; /var/lib/dkms/v4l2loopback/*/build/make.log"

# --- 2. persistent settings -------------------------------------------------
write_if_changed() {  # FILE CONTENT
    same_content "$1" "$2" && return 0
    printf '%s\n' "$2" >"$1"
    say "wrote $1"
}
mkdir -p "$(dirname "$MODPROBE_CONF")" "$(dirname "$MODULES_LOAD_CONF")"
write_if_changed "$MODPROBE_CONF" "$WANT_MODPROBE"
write_if_changed "$MODULES_LOAD_CONF" "$WANT_MODULES_LOAD"
others=$(grep -ls '^[[:space:]]*options[[:space:]]\+v4l2loopback' /etc/modprobe.d/*.conf \
    | grep -vx "$MODPROBE_CONF" || true)
if [[ -n $others ]]; then
    say "warning: other v4l2loopback options in: $others — modprobe merges them with ours; remove them if $LABEL does not appear"
fi

# --- 3. load ----------------------------------------------------------------
if all_there; then
    say "$LABEL is ready at $existing"
    exit 0
fi

# Add what is missing next to devices in use (v4l2loopback-ctl, v4l2loopback 0.12.5+).
add_missing() {
    command -v v4l2loopback-ctl >/dev/null || return 1
    if [[ -z $(labelled_device) ]]; then
        v4l2loopback-ctl add -n "$LABEL" -x 1 "$DEVICE" >/dev/null 2>&1 || return 1
    fi
    if [[ $ZOOM == 1 && -z $(labelled_device "$ZOOM_LABEL") ]]; then
        v4l2loopback-ctl add -n "$ZOOM_LABEL" -x 0 "$ZOOM_DEVICE" >/dev/null 2>&1 || return 1
    fi
}

if [[ -d /sys/module/v4l2loopback ]]; then
    # Loaded earlier with other options: reload it if nothing holds it open.
    say "v4l2loopback is loaded without the devices asked for; reloading it with: $OPTIONS"
    if ! modprobe -r v4l2loopback 2>/dev/null; then
        if add_missing; then
            say "added them next to the devices in use (the settings take full effect after a reboot)"
            exit 0
        fi
        fail "v4l2loopback is in use (close the applications using /dev/video*, e.g. check with: fuser /dev/video*), then run this again, or reboot"
    fi
fi

if ! err=$(modprobe v4l2loopback 2>&1); then
    if [[ $err == *"Key was rejected"* || $err == *"Required key not available"* ]] \
        || { command -v mokutil >/dev/null && mokutil --sb-state 2>/dev/null | grep -q 'SecureBoot enabled'; }; then
        fail "the kernel refused the module: $err
Secure Boot is on and only loads signed modules. DKMS signed v4l2loopback with
its own key; enrol that key once:
    sudo mokutil --import /var/lib/dkms/mok.pub     (choose a one-time password)
then reboot, pick 'Enroll MOK' in the blue MOK manager screen, enter the password,
and run this script again. (Or turn Secure Boot off in the firmware settings.)
Check the state with: mokutil --sb-state"
    fi
    fail "modprobe v4l2loopback failed: $err"
fi

# udev creates the node a moment after the module loads.
for _ in $(seq 50); do
    all_there && break
    sleep 0.1
done
existing=$(labelled_device)
[[ -n $existing ]] || fail "v4l2loopback loaded but no device is labelled $LABEL; see: cat /sys/class/video4linux/*/name"
say "$LABEL is ready at $existing (exclusive_caps=1); it will be created again at boot"
if [[ $ZOOM == 1 ]]; then
    zoom=$(labelled_device "$ZOOM_LABEL")
    [[ -n $zoom ]] || fail "no device is labelled $ZOOM_LABEL; see: cat /sys/class/video4linux/*/name"
    say "$ZOOM_LABEL is ready at $zoom (exclusive_caps=0, for Zoom): vcam run --device $zoom"
fi
