#!/bin/busybox sh
# /init of the e2e initramfs (see scripts/e2e-virtualcam.sh): load the modules,
# mount the host's root (9p, read-only) and the output folder (9p, read-write),
# chroot into the host and run /run/e2e-out/run.sh, then power off.
/bin/busybox --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

fail() {
    echo "e2e-init: $*"
    poweroff -f
}

# Setup mode (e2e.setup=1): scripts/setup-v4l2loopback.sh is to load
# v4l2loopback itself, on a writable overlay of the host's root.
SETUP=0
grep -q 'e2e.setup=1' /proc/cmdline && SETUP=1

# Two devices: a decoy first, so that a program which takes the first loopback
# device instead of looking for the "SelfieCam" label gets the wrong one.
# exclusive_caps is a per-device array, as Chrome needs it on each.
V4L_PARAMS="devices=2 card_label=Decoy,SelfieCam exclusive_caps=1,1"
while read -r ko; do
    params=""
    if [ "$ko" = v4l2loopback.ko ]; then
        [ $SETUP = 1 ] && continue
        params=$V4L_PARAMS
    fi
    # shellcheck disable=SC2086  # params is a word list on purpose
    insmod "/modules/$ko" $params || fail "insmod $ko $params failed"
done </modules.list

NEW=/newroot
OPTS=trans=virtio,version=9p2000.L,msize=512000
if [ $SETUP = 1 ]; then
    mkdir -p /lower /rw
    mount -t 9p -o "$OPTS,ro,cache=loose" hostroot /lower || fail "mounting the host root failed"
    mount -t tmpfs tmpfs /rw
    mkdir -p /rw/upper /rw/work
    mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work "$NEW" \
        || fail "mounting the overlay root failed"
else
    mount -t 9p -o "$OPTS,ro,cache=loose" hostroot "$NEW" || fail "mounting the host root failed"
fi
mount -t proc proc "$NEW/proc"
mount -t sysfs sysfs "$NEW/sys"
mount -t devtmpfs devtmpfs "$NEW/dev"
mkdir -p "$NEW/dev/shm"
mount -t tmpfs tmpfs "$NEW/dev/shm"
# Writable space for HOME and TMPDIR without hiding the host's /tmp (the
# checkout under test may live there).
mount -t tmpfs tmpfs "$NEW/run"
mkdir -p "$NEW/run/e2e-out" "$NEW/run/e2e-tmp"
mount -t 9p -o "$OPTS" e2eout "$NEW/run/e2e-out" || fail "mounting the output folder failed"

if [ $SETUP = 1 ]; then
    # The kernel's module tree, extracted on the host, as this kernel's.
    moddir=$(cat "$NEW/run/e2e-out/modules-dir")
    mkdir -p "$NEW/lib/modules/$(uname -r)"
    mount --bind "$NEW$moddir" "$NEW/lib/modules/$(uname -r)" || fail "binding $moddir failed"
fi

echo "e2e-init: modules loaded, running the test"
chroot "$NEW" /bin/sh /run/e2e-out/run.sh >"$NEW/run/e2e-out/guest.log" 2>&1
echo "e2e-init: test exited with $?"
sync
umount "$NEW/run/e2e-out"
poweroff -f
