#!/bin/bash
# Boots the IPVS test VM: Debian's kernel under qemu (TCG: KVM hangs on the
# machines this runs on), the initramfs from build-initramfs.mjs, the host's
# root exported read-only as 9p "hostroot" and the job folder writable as
# "katsio" (see guest-init.sh). The serial console is this script's stdout.
#
#   scripts/vm/boot.sh KERNEL INITRD JOB_DIR [MEMORY_MB] [CPUS]
#
# qemu is leashed to this script's stdin: when it closes (the caller closed
# it, or died, even by SIGKILL) qemu is killed, so no VM outlives its test.
set -u
if [ $# -lt 3 ]; then
  echo "usage: $0 KERNEL INITRD JOB_DIR [MEMORY_MB] [CPUS]" >&2
  exit 2
fi
kernel=$1 initrd=$2 job=$3 memory=${4:-1024} cpus=${5:-1}

# qemu's option syntax doubles commas inside values.
job=${job//,/,,}

exec 3<&0
# KERNEL may be an uncompressed vmlinux: qemu then enters it through PVH, with
# no BIOS boot and no in-guest decompression. mitigations=off: the guest runs
# only test code, and emulated speculation barriers are pure cost.
qemu-system-x86_64 -accel tcg -machine pc -smp "$cpus" -m "$memory" \
  -nodefaults -no-user-config -nographic -no-reboot -serial stdio -nic none \
  -kernel "$kernel" -initrd "$initrd" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off rdinit=/init" \
  -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
  -virtfs "local,path=$job,mount_tag=katsio,security_model=none,multidevs=remap" \
  </dev/null &
qemu=$!
{
  while IFS= read -r _; do :; done <&3
  kill -KILL "$qemu" 2>/dev/null
} &
leash=$!
exec 3<&-
wait "$qemu" 2>/dev/null
status=$?
kill "$leash" 2>/dev/null
exit "$status"
