#!/bin/busybox sh
# /init of the IPVS test VM's initramfs (built by build-initramfs.mjs). Loads
# the virtio/9p/overlay modules, mounts the host's root (9p tag "hostroot",
# read-only) under an overlay whose upper layer is guest RAM, so the guest
# sees the host's files at their own paths and may write anywhere, and mounts
# the job folder (9p tag "katsio", writable, shared with the host) at
# /run/kats-vm. Then runs the job's session.sh with the host's bash in that
# root and powers off. Lines starting with @@KATS-VM go to the serial console
# for the host's error messages; results go through /run/kats-vm only.
/bin/busybox --install -s /bin
export PATH=/bin

say() { echo "@@KATS-VM $*"; }
die() {
  say "init failed: $*"
  poweroff -f
  sleep 5
}

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# Only errors reach the console; the host does not parse it, but a readable
# log makes a failed boot easier to diagnose.
echo 3 >/proc/sys/kernel/printk

while read -r module; do
  insmod "/modules/$module" || die "insmod $module"
done </modules/order

# cache=loose: the lower layer is read-only and lives for one run, so caching
# metadata and pages in the guest is safe, and much faster under emulation.
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=524288,cache=loose hostroot /lower || die "mount hostroot over 9p"
# No cache: every write reaches the host at once, so what the host reads after
# poweroff (or after a kill on timeout) is what the guest wrote.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 katsio /io || die "mount katsio over 9p"
mount -t tmpfs -o mode=755 upper /rw || die "tmpfs for the overlay"
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work root /newroot || die "overlay over the host root"

# The host's /run (its netns files, pid files) and pseudo filesystems must not
# leak in; /tmp stays the host's (a checkout may live there), writes to it
# stay in the overlay.
mount -t tmpfs -o mode=755 run /newroot/run || die "tmpfs on /run"
mkdir -p /newroot/run/kats-vm /newroot/run/lock
mount --move /io /newroot/run/kats-vm || die "move the job folder"
mount -t proc proc /newroot/proc || die "proc"
mount -t sysfs sys /newroot/sys || die "sysfs"
mount -t devtmpfs dev /newroot/dev || die "devtmpfs"
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /newroot/dev/pts
mount -t tmpfs shm /newroot/dev/shm

say "root ready"
chroot /newroot /bin/bash /run/kats-vm/session.sh
say "session ended ($?)"
sync
poweroff -f
sleep 5
