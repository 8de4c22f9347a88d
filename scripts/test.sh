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
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
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
