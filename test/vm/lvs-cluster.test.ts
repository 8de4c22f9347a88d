/**
 * The seeds' NAT and DR clusters against a real kernel IPVS, in the VM: one
 * boot runs test/vm/guest/lvs-cluster.sh, which starts keepalived-ts's checker
 * side (`-C -n -l -D -G`) in the director namespace, drives the real servers
 * and a client through the VIP, then runs Debian's keepalived on the same
 * configs. Here: the tables match the config and keepalived's `ipvsadm -Ln`
 * byte for byte; traffic reaches both real servers; a stopped real server
 * leaves (or is inhibited) within delay_loop + retry × (connect_timeout +
 * delay_before_retry) and comes back; losing quorum swaps in the sorry
 * server; SIGTERM leaves only the service that was not ours.
 */
import t from 'tap'
import { runInVm, vmResult, type VmRun } from '../helpers/vm.js'

/** delay_loop 1 + retry 1 × (connect_timeout 1 + delay_before_retry 1), in ms. */
const DETECTION_BOUND_MS = 3000
/** Polling (0.2 s) and the emulated CPU's scheduling; the measured figures go in the note. */
const SLACK_MS = 1500

const run: VmRun = await runInVm({ script: 'bash test/vm/guest/lvs-cluster.sh', timeoutMs: 900_000 })
const r = (name: string): string => vmResult(run, name)
const words = (name: string): string[] => r(name).split(' ')
const ms = (name: string): number => {
  const v = r(name)
  if (v === 'timeout') return Number.POSITIVE_INFINITY
  return Number(v)
}

t.comment(`VM run ${run.durationMs} ms (boot ${run.bootMs} ms)`)

/** ipvsadm -Ln without its three header lines, one row per line, trailing blanks trimmed. */
function rows(table: string): string[] {
  return table.split('\n').slice(3).map((l) => l.trimEnd()).filter((l) => l !== '')
}

t.test('NAT: the table is the configuration, as Debian keepalived programs it', async (t) => {
  t.equal(r('ours.start'), 'ok')
  const ours = rows(r('nat.ours.table'))
  t.same(ours, rows(r('nat.keepalived.table')), 'ipvsadm -Ln identical to keepalived\'s')
  const text = ours.join('\n')
  t.match(text, /TCP {2}10\.40\.1\.100:80 rr\n {2}-> 10\.40\.2\.11:8080 +Masq +1 .*\n {2}-> 10\.40\.2\.12:8080 +Masq +2 /)
  t.match(text, /TCP {2}10\.40\.1\.100:443 wlc persistent 600 mask 255\.255\.255\.0\n/)
  t.match(text, /TCP {2}10\.40\.1\.100:8000 wrr\n/)
  t.match(text, /FWM {2}7 sh \(sh-port\)\n {2}-> 10\.40\.2\.11:8080 +Masq +1 /)
  t.match(text, /TCP {2}10\.40\.1\.1:9999 rr/, 'the service that is not ours is there too')
})

t.test('status and metrics of the checker side with a real IPVS', async (t) => {
  interface Rs { name: string; alive: boolean; weight: number; kernelWeight: number | undefined; checkers: { kind: string; lastResult: string; lastLatencyMs: number }[] }
  const s = JSON.parse(r('nat.status')) as { checkers: { ipvsAvailable: boolean; virtualServers: { name: string; quorumUp: boolean; realServers: Rs[] }[] } }
  t.equal(s.checkers.ipvsAvailable, true)
  const vs = s.checkers.virtualServers.find((v) => v.name === '[10.40.1.100]:tcp:80')
  t.ok(vs, 'the rr service is listed')
  t.equal(vs?.quorumUp, true)
  t.same(vs?.realServers.map((rs) => [rs.name, rs.alive, rs.weight, rs.kernelWeight]), [['[10.40.2.11]:tcp:8080', true, 1, 1], ['[10.40.2.12]:tcp:8080', true, 2, 2]])
  const check = vs?.realServers[0]?.checkers[0]
  t.equal(check?.kind, 'TCP_CHECK')
  t.equal(check?.lastResult, 'success')
  t.ok(typeof check?.lastLatencyMs === 'number' && check.lastLatencyMs >= 0, `last latency ${check?.lastLatencyMs} ms`)
  const m = r('nat.metrics')
  t.match(m, /^keepalived_ts_ipvs_available 1$/m)
  const ok = /^keepalived_ts_checks_total\{[^}]*kind="TCP_CHECK"[^}]*result="success"[^}]*\} (\d+)$/m.exec(m)
  t.ok(ok && Number(ok[1]) >= 4, 'successful TCP checks counted')
  t.match(m, /^keepalived_ts_check_duration_seconds_bucket\{[^}]*le="\+Inf"[^}]*\} \d+$/m)
  const ops = /^keepalived_ts_ipvs_operations_total (\d+)$/m.exec(m)
  t.ok(ops && Number(ops[1]) > 0, `IPVS operations counted (${ops?.[1]})`)
})

t.test('NAT: traffic through the VIP reaches both real servers', async (t) => {
  const bodies = words('nat.clients')
  t.ok(bodies.includes('rs1') && bodies.includes('rs2'), `rr over rs1 and rs2: ${bodies.join(' ')}`)
})

t.test('NAT: a stopped real server leaves within the bound and comes back', async (t) => {
  t.ok(ms('nat.rs1_removed_ms') <= DETECTION_BOUND_MS + SLACK_MS, `removed after ${r('nat.rs1_removed_ms')} ms`)
  t.same(words('nat.clients_rs1_down'), ['rs2', 'rs2'], 'only rs2 answers')
  t.ok(ms('nat.rs1_back_ms') <= DETECTION_BOUND_MS + SLACK_MS, `back after ${r('nat.rs1_back_ms')} ms`)
  t.match(r('nat.table_rs1_back'), /10\.40\.1\.100:80 rr\n {2}-> 10\.40\.2\.11:8080 +Masq +1 /)
})

t.test('NAT: losing quorum swaps in the sorry server, regaining it swaps it out', async (t) => {
  t.ok(ms('nat.sorry_in_ms') <= DETECTION_BOUND_MS + SLACK_MS, `sorry server in after ${r('nat.sorry_in_ms')} ms`)
  const down = r('nat.table_rs1_down')
  t.match(down, /10\.40\.1\.100:8000 wrr\n {2}-> 10\.40\.2\.12:8081 +Masq +1 +\d+ +\d+ *\n(?! {2}->)/, 'only the sorry server in the quorum service')
  t.same(words('nat.clients_sorry'), ['sorry'])
  t.ok(ms('nat.sorry_out_ms') <= DETECTION_BOUND_MS + SLACK_MS, `sorry server out after ${r('nat.sorry_out_ms')} ms`)
  const log = r('nat.ours.log')
  t.match(log, /Lost quorum 2-0=2 > 1 for VS \[10\.40\.1\.100\]:tcp:8000/)
  t.match(log, /Adding sorry server \[10\.40\.2\.12\]:tcp:8081 to VS \[10\.40\.1\.100\]:tcp:8000/)
  t.match(log, /Gained quorum 2\+0=2 <= 2 for VS \[10\.40\.1\.100\]:tcp:8000/)
})

t.test('NAT: inhibit_on_failure sets weight 0 and restores it, connections keep flowing to rs1', async (t) => {
  t.ok(ms('nat.rs2_inhibited_ms') <= DETECTION_BOUND_MS + SLACK_MS, `weight 0 after ${r('nat.rs2_inhibited_ms')} ms`)
  t.same(words('nat.clients_rs2_down'), ['rs1', 'rs1'])
  t.ok(ms('nat.rs2_enabled_ms') <= DETECTION_BOUND_MS + SLACK_MS, `weight 2 after ${r('nat.rs2_enabled_ms')} ms`)
  const log = r('nat.ours.log')
  t.match(log, /Disabling service \[10\.40\.2\.12\]:tcp:8080 of VS \[10\.40\.1\.100\]:tcp:80/)
  t.match(log, /Enabling service \[10\.40\.2\.12\]:tcp:8080 of VS \[10\.40\.1\.100\]:tcp:80/)
  t.match(log, /TCP_CHECK on service \[10\.40\.2\.11\]:tcp:8080 failed after 1 retries\./)
  t.match(log, /Removing service \[10\.40\.2\.11\]:tcp:8080 from VS \[10\.40\.1\.100\]:tcp:80/)
})

/** The checker side's lines about services and quorum from a `-l` log, without the time stamp, until the first failure or the stop. */
function startupLines(log: string): string[] {
  const out: string[] = []
  for (const raw of log.split('\n')) {
    const line = raw.replace(/^\w{3} \w{3} +\d+ [\d:]+ \d{4}: /, '')
    if (/failed|^Stopping|^Shutting down/.test(line)) break
    if (/^(Activating|Deactivating|Gained|Lost|Starting with|Adding|Removing|Enabling|Disabling|TCP connection|Changing)/.test(line)) out.push(line)
  }
  return out.sort()
}

t.test('start-up: the same checker and quorum lines as keepalived (in any order)', async (t) => {
  for (const run of ['nat', 'dr']) {
    const ours = startupLines(r(`${run}.ours.log`))
    t.ok(ours.length > 0, `${run}: lines found`)
    t.same(ours, startupLines(r(`${run}.keepalived.log`)), run)
  }
})

t.test('virtual_server_group: one service per address and per fwmark, as keepalived', async (t) => {
  const text = rows(r('nat.ours.table')).join('\n')
  for (const svc of ['TCP  10.40.1.101:80 lc', 'TCP  10.40.1.102:80 lc', 'FWM  9 lc']) t.ok(text.includes(svc), svc)
})

t.test('lvs_sync_daemon follows VI_1: the master daemon while MASTER, none after SIGTERM, as keepalived', async (t) => {
  t.ok(ms('sync.ours.master_ms') < 60_000, `master daemon after ${r('sync.ours.master_ms')} ms`)
  t.match(r('sync.ours.daemons'), /master sync daemon \(mcast=eth0, syncid=5/)
  t.equal(r('sync.ours.daemons'), r('sync.keepalived.daemons'))
  t.equal(r('sync.ours.vip'), 'yes')
  t.equal(r('sync.ours.exit'), '0')
  t.equal(r('sync.ours.daemons_after'), '')
  t.equal(r('sync.keepalived.daemons_after'), '')
})

t.test('SIGTERM: exit 0, our services gone, the foreign one kept (both daemons)', async (t) => {
  for (const who of ['ours', 'keepalived']) {
    t.equal(r(`nat.${who}.exit`), '0', `${who} exit status`)
    t.same(rows(r(`nat.${who}.after_stop`)), ['TCP  10.40.1.1:9999 rr'], `${who}: only the foreign service left`)
    t.equal(r(`dr.${who}.exit`), '0', `${who} exit status (DR)`)
    t.same(rows(r(`dr.${who}.after_stop`)), [], `${who}: nothing left (DR)`)
  }
})

t.test('DR: the table matches keepalived\'s, traffic reaches both, a stopped real server leaves and returns', async (t) => {
  t.same(rows(r('dr.ours.table')), rows(r('dr.keepalived.table')))
  t.match(r('dr.ours.table'), /TCP {2}10\.40\.3\.100:80 wlc\n {2}-> 10\.40\.3\.11:80 +Route +1 .*\n {2}-> 10\.40\.3\.12:80 +Route +1 /)
  const bodies = words('dr.clients')
  t.ok(bodies.includes('rs1') && bodies.includes('rs2'), `both answer: ${bodies.join(' ')}`)
  t.ok(ms('dr.rs1_removed_ms') <= DETECTION_BOUND_MS + SLACK_MS, `removed after ${r('dr.rs1_removed_ms')} ms`)
  t.same(words('dr.clients_rs1_down'), ['rs2', 'rs2'])
  t.ok(ms('dr.rs1_back_ms') <= DETECTION_BOUND_MS + SLACK_MS, `back after ${r('dr.rs1_back_ms')} ms`)
  t.equal(r('done'), 'yes')
})
