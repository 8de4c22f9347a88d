#!/usr/bin/env bash
# The test command (README): installs what the tests need on a fresh Debian
# machine, builds, type-checks and runs every test, and ends with a plain
# "N passed, N failed" line taken from tap's own counts.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v keepalived >/dev/null || need_apt+=(keepalived)
command -v ip >/dev/null || need_apt+=(iproute2)
# The VRRP lab's client resolves VIPs with ping (IPv4 and IPv6).
command -v ping >/dev/null || need_apt+=(iputils-ping)
# The IPVS tests boot Debian's kernel under qemu (test/helpers/vm.ts,
# scripts/vm/): this machine's kernel has no IPVS. A kernel counts only with
# its modules; busybox must be the static one (it is the VM's initramfs);
# xz unpacks the kernel image, kmod's modprobe loads modules in the guest.
kernel_ok=false
for image in /boot/vmlinuz-*-amd64; do
  case $image in *-cloud-amd64) continue ;; esac # no 9p in the cloud kernel
  [ -e "$image" ] && [ -e "/lib/modules/${image#/boot/vmlinuz-}/modules.dep" ] && kernel_ok=true
done
$kernel_ok || need_apt+=(linux-image-amd64)
command -v qemu-system-x86_64 >/dev/null || need_apt+=(qemu-system-x86)
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || need_apt+=(busybox-static)
command -v ipvsadm >/dev/null || need_apt+=(ipvsadm)
command -v tcpdump >/dev/null || need_apt+=(tcpdump)
command -v xz >/dev/null || need_apt+=(xz-utils)
command -v modprobe >/dev/null || need_apt+=(kmod)
# test/log/rsyslog.test.ts runs rsyslogd on a private socket (its postinst
# starts the system's syslog where a service manager runs; the test never uses it).
[ -x /usr/sbin/rsyslogd ] || need_apt+=(rsyslog)
# test/systemd.test.ts checks the unit with systemd-analyze verify.
command -v systemd-analyze >/dev/null || need_apt+=(systemd)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # INITRD=No: the kernel is booted with the tests' own initramfs, so its
  # postinst hook (/etc/kernel/postinst.d/initramfs-tools) need not build one.
  INITRD=No apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

echo "== npm ci"
npm ci --no-audit --no-fund
echo "== build"
npm run build
echo "== typecheck (sources and tests)"
npm run typecheck

echo "== tap"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
npx tap 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
summary=$(grep -E '^# \{ total: [0-9]+' "$log" | tail -n 1 || true)
total=$(sed -nE 's/.*total: ([0-9]+).*/\1/p' <<<"$summary")
pass=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary")
fail=$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$summary")
total=${total:-0}; pass=${pass:-0}; fail=${fail:-0}
if [ "$total" -eq 0 ]; then
  echo "tap ran no test"
  exit 1
fi
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
echo "${pass} passed, ${fail} failed"
exit "$status"
