#!/bin/bash
# Runs bash in the IPVS test VM from a shell, for trying things by hand (tests
# use test/helpers/vm.ts, which does the same with more care):
#
#   scripts/vm/run.sh [-t SECONDS] 'ipvsadm -Ln'      # or - : the script from stdin
#
# The script runs as root with the checkout as working directory. Prints its
# output, exits with its status (125: the VM gave none; the console is shown).
set -u
timeout=300
if [ "${1:-}" = -t ]; then
  timeout=$2
  shift 2
fi
if [ $# -ne 1 ]; then
  echo "usage: $0 [-t SECONDS] SCRIPT|-" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
image=$(node "$here/build-image.mjs") || exit 125
kernel=$(node -e 'console.log(JSON.parse(process.argv[1]).kernel)' "$image")
initrd=$(node -e 'console.log(JSON.parse(process.argv[1]).initrd)' "$image")
job=$(mktemp -d "${TMPDIR:-/tmp}/kats-vm-XXXXXX")
trap 'rm -rf "$job"' EXIT
if [ "$1" = - ]; then cat >"$job/script.sh"; else printf '%s\n' "$1" >"$job/script.sh"; fi
cp "$here/guest-session.sh" "$job/session.sh"
printf "export KATS_VM_CWD='%s'\nexport KATS_VM_TIMEOUT_S=%d\n" "${repo//\'/\'\\\'\'}" "$timeout" >"$job/env.sh"
# boot.sh kills qemu when its stdin closes: here, when the sleep ends.
"$here/boot.sh" "$kernel" "$initrd" "$job" >"$job/console" 2>&1 < <(sleep "$timeout")
cat "$job/output" 2>/dev/null
status=$(cat "$job/status" 2>/dev/null)
if ! [[ "$status" =~ ^[0-9]+$ ]]; then
  echo "run.sh: no exit status from the guest; console:" >&2
  tail -n 40 "$job/console" "$job/setup.log" >&2 2>/dev/null
  exit 125
fi
exit "$status"
