#!/bin/bash
# `npm run lab`: an LVS-DR cluster with keepalived-ts on two directors, live.
# This machine's kernel may have no IPVS, so the cluster runs inside the IPVS
# VM (Debian's kernel under qemu, scripts/vm/), which sees this checkout:
# scripts/lab/guest.sh builds the namespaces (two directors, two real
# servers, a client), runs keepalived-ts, shows the traffic and a failover,
# and cleans up. Its output comes over the VM's serial console as it happens.
#
#   npm run lab                 # or: bash scripts/lab/run.sh [SECONDS]
#
# Needs root, the packages `npm test` installs (qemu-system-x86,
# linux-image-amd64, busybox-static, ipvsadm, xz-utils, kmod) and `npm ci`.
# Builds dist/ first when it is missing or older than the sources. The whole
# run is bounded (default 600 s; qemu is killed past it, or on Ctrl-C).
set -u
cd "$(dirname "$0")/../.." || exit 1
repo=$(pwd)
limit=${1:-600}

fail() {
  echo "lab: $*" >&2
  exit 1
}

[[ "$limit" =~ ^[0-9]+$ ]] && [ "$limit" -ge 60 ] || fail "the time limit is whole seconds, at least 60"
[ "$(id -u)" = 0 ] || fail "run it as root (the VM's 9p export and the namespaces inside need it)"
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1 || missing+=(linux-image-amd64)
command -v ipvsadm >/dev/null || missing+=(ipvsadm)
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || missing+=(busybox-static)
[ ${#missing[@]} -eq 0 ] || fail "missing packages: apt-get install --no-install-recommends ${missing[*]} (npm test installs them too)"
[ -d node_modules ] || fail "run 'npm ci' first"

if [ ! -f dist/cli/main.js ] || [ -n "$(find src grammar -newer dist/cli/main.js -print -quit 2>/dev/null)" ]; then
  echo "lab: building dist/ (npm run build)"
  npm run build >/dev/null || fail "npm run build failed"
fi

image=$(node scripts/vm/build-image.mjs) || fail "cannot build the VM image"
kernel=$(node -e 'console.log(JSON.parse(process.argv[1]).kernel)' "$image")
initrd=$(node -e 'console.log(JSON.parse(process.argv[1]).initrd)' "$image")

job=$(mktemp -d "${TMPDIR:-/tmp}/kats-lab-XXXXXX")
cp scripts/vm/guest-session.sh "$job/session.sh"
printf "export KATS_VM_CWD='%s'\nexport KATS_VM_TIMEOUT_S=%d\n" "${repo//\'/\'\\\'\'}" "$((limit - 30))" >"$job/env.sh"
echo 'exec bash scripts/lab/guest.sh' >"$job/script.sh"

# boot.sh kills qemu when its stdin reaches end of file: this script holds the
# only writer of that FIFO (fd 9) and closes it to stop the VM.
mkfifo "$job/leash"
console() {
  # The guest's console: \r\n line ends, the firmware's banner and the VM's
  # own progress lines (@@KATS-VM) before the lab's; the kernel's errors stay.
  local line
  while IFS= read -r line; do
    line=${line%$'\r'}
    case $line in
      *"@@KATS-VM root ready"*) echo "lab: VM booted" ;;
      *"@@KATS-VM "* | *SeaBIOS* | *"reboot: Power down"*) ;;
      *) printf '%s\n' "$line" ;;
    esac
  done
}
finish() {
  exec 9>&- 2>/dev/null
  wait 2>/dev/null
  rm -rf "$job"
}
trap finish EXIT
trap 'echo; echo "lab: interrupted, stopping the VM"; exit 130' INT TERM

echo "lab: booting the IPVS VM ($kernel), at most ${limit} s"
bash scripts/vm/boot.sh "$kernel" "$initrd" "$job" 1536 2 <"$job/leash" 2>&1 | console &
vm=$!
exec 9>"$job/leash"
# Polled rather than a sleeping watchdog, so that nothing outlives the lab.
SECONDS=0
while kill -0 "$vm" 2>/dev/null; do
  if [ "$SECONDS" -ge "$limit" ]; then
    echo "lab: time limit (${limit} s) reached, stopping the VM" >&2
    exit 124
  fi
  sleep 1
done
wait "$vm"

status=$(cat "$job/status" 2>/dev/null)
case $status in
  0) echo "lab: finished" ;;
  setup-failed) fail "the VM's setup failed: $(cat "$job/setup.log" 2>/dev/null)" ;;
  '') fail "the VM ended without the lab's exit status" ;;
  137) fail "the lab ran out of its time (guest limit $((limit - 30)) s)" ;;
  *) fail "the lab script ended with status $status" ;;
esac
