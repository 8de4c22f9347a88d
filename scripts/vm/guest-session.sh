#!/bin/bash
# Second stage of the IPVS test VM, run by guest-init.sh with the host's bash
# in the guest's root (the host's files under an overlay). The host put the
# job in /run/kats-vm: env.sh (exports, the working directory, the time
# limit), script.sh (the test's bash). This loads the modules the tests use,
# runs script.sh as root with stdout and stderr in `output`, and writes its
# exit status to `status` last (renamed into place), so the host knows the
# script ended; a failed setup writes `setup-failed` instead, with its reasons
# in setup.log.
io=/run/kats-vm
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8

setup_failed() {
  echo "$*" >>"$io/setup.log"
  echo setup-failed >"$io/status.part"
  mv "$io/status.part" "$io/status"
  exit 1
}

# shellcheck source=/dev/null
source "$io/env.sh" || setup_failed "cannot read env.sh"
cd "$KATS_VM_CWD" || setup_failed "no directory $KATS_VM_CWD in the guest"

# The kernel's own module autoload looks for modprobe in the initramfs, so
# everything a test may need is loaded here: IPVS with every scheduler, and
# what namespace topologies use (ipip, ip6_tunnel: real servers of LVS-TUN).
modules=(ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh
  ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh veth bridge dummy ipip ip6_tunnel)
modprobe -a "${modules[@]}" 2>>"$io/setup.log" || setup_failed "modprobe -a ${modules[*]}"
hostname kats-vm
ip link set lo up
# Its mtime (the host's clock) tells the host how long the boot took.
: >"$io/ready"

timeout -s KILL "$KATS_VM_TIMEOUT_S" bash "$io/script.sh" </dev/null >"$io/output" 2>&1
echo "$?" >"$io/status.part"
mv "$io/status.part" "$io/status"
