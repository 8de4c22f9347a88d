/**
 * The IPVS VM harness proves itself, and pins the reference behaviour the
 * checker side of keepalived-ts will be held to: Debian's keepalived driving a
 * real IPVS in the guest. Three boots: the harness (IPVS netlink family,
 * every scheduler, node, environment, exit status, writes kept in the guest),
 * a timeout, and one LVS-NAT then LVS-DR scenario built with
 * test/vm/guest/cluster.sh. The guest prints `@@RESULT` lines; every
 * judgement is made here.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { REPO_ROOT, runInVm, type VmRun, VmError, vmResult, vmResults } from '../helpers/vm.js'

const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh']

/** On failure, the guest's own words are the diagnosis. */
function showOutputOnFailure(tt: Test, run: VmRun): void {
  if (!tt.passing()) tt.comment(`guest output:\n${run.output.split('\n').slice(-150).join('\n')}`)
}

t.test('the guest has IPVS, the host files, node, the environment and the exit status', async (tt) => {
  const probe = `.kats-vm-probe-${process.pid}-${Date.now()}`
  const greeting = `it's "quoted" $HOME \\ and spaced`
  const run = await runInVm({
    timeoutMs: 120_000,
    env: { GREETING: greeting, PROBE: probe },
    script: `
source test/vm/guest/cluster.sh
result kernel "$(uname -r)"
genl ctrl get name IPVS >/dev/null 2>&1 && result genl_ipvs yes || result genl_ipvs no
ipvsadm -Ln >/dev/null 2>&1; result ipvsadm_ln_status $?
ip link add d0 type dummy && ip addr add 10.40.9.1/24 dev d0 && ip link set d0 up
ipvsadm -A -t 10.40.9.100:80 -s rr
ipvsadm -a -t 10.40.9.100:80 -r 10.40.9.2:80 -g -w 3
accepted=
for s in ${SCHEDULERS.join(' ')}; do ipvsadm -E -t 10.40.9.100:80 -s "$s" && accepted="$accepted $s"; done
result schedulers $accepted
result ipvs_rules "$(ipvsadm -Sn)"
start=$(now_ms)
version=$(node -e 'console.log(process.version)')
result node_ms $(($(now_ms) - start))
result node_version "$version"
result greeting "$GREETING"
result cwd "$PWD"
echo written-in-the-guest >"$PROBE" && result probe "$(cat "$PROBE")"
exit 42
`,
  })
  const results = vmResults(run.output)
  const one = (name: string): string => vmResult(run, name)
  tt.equal(run.exitCode, 42, "the script's exit status comes back")
  tt.match(one('kernel'), /-amd64$/, "Debian's kernel runs the guest")
  tt.equal(one('genl_ipvs'), 'yes', 'the IPVS generic netlink family exists')
  tt.equal(one('ipvsadm_ln_status'), '0', 'ipvsadm -Ln works')
  tt.same(one('schedulers').split(' '), SCHEDULERS, 'every scheduler module is loaded')
  tt.equal(one('ipvs_rules'), '-A -t 10.40.9.100:80 -s mh\n-a -t 10.40.9.100:80 -r 10.40.9.2:80 -g -w 3', 'a service and a DR destination round-trip')
  tt.equal(one('node_version'), process.version, "the host's node runs in the guest")
  tt.equal(one('greeting'), greeting, 'the environment arrives verbatim')
  tt.equal(one('cwd'), REPO_ROOT, 'the script runs in the checkout')
  tt.equal(one('probe'), 'written-in-the-guest', 'the guest can write in the checkout')
  tt.notOk(existsSync(join(REPO_ROOT, probe)), "the guest's writes stay in the guest")
  tt.equal(results.get('kernel')?.length, 1, 'each result is read once')
  tt.comment(`boot ${Math.round(run.bootMs)} ms, node -e ${one('node_ms')} ms, whole run ${run.durationMs} ms`)
  showOutputOnFailure(tt, run)
})

/** qemu processes whose job folder is gone: VMs that outlived their run. */
function orphanedVms(): number[] {
  const orphans: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let argv: string[]
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
    } catch {
      continue
    }
    if (!argv[0]?.endsWith('qemu-system-x86_64')) continue
    const job = argv.map((a) => /mount_tag=katsio/.test(a) ? /path=([^,]+(?:,,[^,]*)*)/.exec(a)?.[1] : undefined).find(Boolean)
    if (job !== undefined && !existsSync(job.replaceAll(',,', ','))) orphans.push(Number(entry))
  }
  return orphans
}

t.test('a run past its time limit throws, and its VM is gone', async (tt) => {
  const started = Date.now()
  const err = await runInVm({ script: 'sleep 600', timeoutMs: 3_000 }).then(() => undefined, (e: unknown) => e)
  const elapsed = Date.now() - started
  tt.type(err, VmError)
  tt.equal((err as VmError).code, 'KA_TEST_VM')
  tt.match((err as VmError).message, /exceeded 3000 ms; qemu killed/)
  tt.ok(elapsed < 3_000 + 8_000, `it gives up near the limit (${elapsed} ms)`)
  tt.same(orphanedVms(), [], 'no qemu outlives its run')
})

const NAT_CONF = `global_defs {
    router_id vm_nat
}
virtual_server 10.40.1.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.40.2.11 8080 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.40.2.12 8080 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`

const DR_CONF = `global_defs {
    router_id vm_dr
}
virtual_server 10.40.3.100 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind DR
    protocol TCP
    real_server 10.40.3.11 80 {
        weight 2
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.40.3.12 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`

/**
 * `scenario PREFIX CONF`, per topology: Debian's keepalived (checker only,
 * -C) started in the director, its IPVS table, what the client gets through
 * the VIP, rs1's httpd stopped (keepalived removes it) and started again (it
 * comes back), then SIGTERM.
 */
const SCENARIO = `
set -u
source test/vm/guest/cluster.sh
trap cluster_down EXIT
ipvs() { in_ns director ipvsadm -Sn; }
has_rs() { ipvs | grep -q -- "-r $1:"; }
lacks_rs() { ! has_rs "$1"; }
has_both() { has_rs "\${CLUSTER_RS_IPS[0]}" && has_rs "\${CLUSTER_RS_IPS[1]}"; }
bodies() {
  local i out=
  for ((i = 0; i < $1; i++)); do out="$out $(client_get "http://$CLUSTER_VIP/" || echo FAIL)"; done
  echo $out
}
# timed NAME SECONDS cmd...: how long until cmd succeeds, or "timeout".
timed() {
  local name=$1 seconds=$2 start
  shift 2
  start=$(now_ms)
  if wait_until "$seconds" "$@"; then result "$name" $(($(now_ms) - start)); else result "$name" timeout; fi
}
scenario() {
  local p=$1 conf=$2 rs1=\${CLUSTER_RS_IPS[0]}
  cluster_vip_add
  bg_start ka director keepalived -n -l -D -C -f "$conf" -p /run/ka.pid -r /run/ka_vrrp.pid -c /run/ka_checkers.pid
  timed $p.start_ms 20 has_both
  result $p.ipvs_initial "$(ipvs)"
  result $p.bodies_initial "$(bodies 6)"
  rs_http_stop rs1
  timed $p.rs1_removed_ms 20 lacks_rs "$rs1"
  result $p.ipvs_rs1_down "$(ipvs)"
  result $p.bodies_rs1_down "$(bodies 4)"
  rs_http_start rs1
  timed $p.rs1_back_ms 20 has_rs "$rs1"
  result $p.bodies_rs1_back "$(bodies 6)"
  bg_stop ka TERM 15
  result $p.ka_exit "$BG_STATUS"
  result $p.ipvs_after_term "$(ipvs)"
  bg_log ka | sed "s/^/[$p keepalived] /"
}
cat >/tmp/nat.conf <<'EOF'
${NAT_CONF}EOF
cat >/tmp/dr.conf <<'EOF'
${DR_CONF}EOF
cluster_nat_up
scenario nat /tmp/nat.conf
cluster_dr_up
scenario dr /tmp/dr.conf
`

t.test("Debian's keepalived drives the guest's IPVS: NAT, then DR", async (tt) => {
  const run = await runInVm({ script: SCENARIO, timeoutMs: 240_000 })
  const r = (name: string): string => vmResult(run, name)
  const ms = (name: string): number => (r(name) === 'timeout' ? Number.POSITIVE_INFINITY : Number(r(name)))
  const count = (bodies: string, name: string): number => bodies.split(' ').filter((b) => b === name).length
  tt.equal(run.exitCode, 0, 'the scenario script ran to its end')

  tt.ok(ms('nat.start_ms') < 20_000, 'NAT: keepalived installs both real servers')
  tt.equal(r('nat.ipvs_initial'), [
    '-A -t 10.40.1.100:80 -s rr',
    '-a -t 10.40.1.100:80 -r 10.40.2.11:8080 -m -w 1',
    '-a -t 10.40.1.100:80 -r 10.40.2.12:8080 -m -w 1',
  ].join('\n'), 'NAT: ipvsadm shows the service and both masqueraded real servers')
  tt.same(r('nat.bodies_initial').split(' ').sort(), ['rs1', 'rs1', 'rs1', 'rs2', 'rs2', 'rs2'], 'NAT: rr spreads the client over both')
  tt.ok(ms('nat.rs1_removed_ms') < 10_000, `NAT: rs1 removed within 10 s of its httpd stopping (${r('nat.rs1_removed_ms')} ms)`)
  tt.notMatch(r('nat.ipvs_rs1_down'), /10\.40\.2\.11/, 'NAT: rs1 is out of the table')
  tt.equal(r('nat.bodies_rs1_down'), 'rs2 rs2 rs2 rs2', 'NAT: every request lands on rs2')
  tt.ok(ms('nat.rs1_back_ms') < 10_000, `NAT: rs1 back within 10 s of its httpd starting (${r('nat.rs1_back_ms')} ms)`)
  tt.same(r('nat.bodies_rs1_back').split(' ').sort(), ['rs1', 'rs1', 'rs1', 'rs2', 'rs2', 'rs2'], 'NAT: both serve again')
  tt.equal(r('nat.ka_exit'), '0', 'NAT: keepalived exits 0 on SIGTERM')
  tt.equal(r('nat.ipvs_after_term'), '', 'NAT: SIGTERM leaves no IPVS entry')

  tt.equal(r('dr.ipvs_initial'), [
    '-A -t 10.40.3.100:80 -s wrr',
    '-a -t 10.40.3.100:80 -r 10.40.3.11:80 -g -w 2',
    '-a -t 10.40.3.100:80 -r 10.40.3.12:80 -g -w 1',
  ].join('\n'), 'DR: ipvsadm shows the service and both direct-routed real servers with their weights')
  const dr = r('dr.bodies_initial')
  tt.ok(count(dr, 'rs1') === 4 && count(dr, 'rs2') === 2, `DR: wrr 2:1 over six requests (${dr})`)
  tt.ok(ms('dr.rs1_removed_ms') < 10_000, `DR: rs1 removed within 10 s (${r('dr.rs1_removed_ms')} ms)`)
  tt.equal(r('dr.bodies_rs1_down'), 'rs2 rs2 rs2 rs2', 'DR: every request lands on rs2')
  tt.ok(ms('dr.rs1_back_ms') < 10_000, `DR: rs1 back within 10 s (${r('dr.rs1_back_ms')} ms)`)
  tt.ok(count(r('dr.bodies_rs1_back'), 'rs1') > 0 && count(r('dr.bodies_rs1_back'), 'rs2') > 0, 'DR: both serve again')
  tt.equal(r('dr.ka_exit'), '0', 'DR: keepalived exits 0 on SIGTERM')
  tt.equal(r('dr.ipvs_after_term'), '', 'DR: SIGTERM leaves no IPVS entry')

  tt.comment(`boot ${Math.round(run.bootMs)} ms, whole run ${run.durationMs} ms; rs1 removed after ${r('nat.rs1_removed_ms')} ms (NAT), ${r('dr.rs1_removed_ms')} ms (DR)`)
  showOutputOnFailure(tt, run)
})
