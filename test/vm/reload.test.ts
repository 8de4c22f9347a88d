/**
 * Reload under traffic, in the VM with a real IPVS (test/vm/guest/reload.sh):
 * the whole daemon (VRRP MASTER holding 10.40.1.100 on the director, the
 * checkers programming IPVS) while a client holds a TCP connection through
 * the VIP. SIGHUP to the parent with a file that adds a VIP and a real
 * server: the connection is not reset (every line arrives, in order), the
 * IPVS rules differ only by the new real server, the checker side sent one
 * request, the old VIP and rules never disappeared (polled every 0.1 s), the
 * new VIP came, VRRP stayed MASTER. Then SIGHUP with a broken file: each
 * error the config test reports is logged, and everything keeps serving.
 */
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { runInVm, vmResult, vmResults, type VmRun } from '../helpers/vm.js'

const run: VmRun = await runInVm({ script: 'bash test/vm/guest/reload.sh', timeoutMs: 600_000 })
// For a look at everything the guest printed: KATS_RELOAD_OUTPUT=/some/file.
if (process.env.KATS_RELOAD_OUTPUT) writeFileSync(process.env.KATS_RELOAD_OUTPUT, run.output)
const r = (name: string): string => vmResult(run, name)
const has = (name: string): boolean => vmResults(run.output).has(name)

t.comment(`VM run ${run.durationMs} ms (boot ${run.bootMs} ms)`)

t.test('the daemon serves the VIP and a client holds a connection through it', async (t) => {
  t.equal(r('start'), 'ok', has('log') ? r('log') : 'started')
  t.equal(r('conn'), 'ok')
  t.match(r('http'), /^rs1$/)
  t.match(r('table_before'), /-a -t 10\.40\.1\.100:80 -r 10\.40\.2\.11:8080 -m -w 1/)
})

t.test('reload adding a VIP and a real server: only the new real server in IPVS, one request', async (t) => {
  const before = r('table_before').split('\n')
  const after = r('table_after').split('\n')
  t.same(after.filter((l) => !before.includes(l)), ['-a -t 10.40.1.100:80 -r 10.40.2.12:8080 -m -w 1'], 'exactly the new real server added')
  t.same(before.filter((l) => !after.includes(l)), [], 'nothing removed or changed')
  const opsBefore = Number(r('ops_before'))
  const opsAfter = Number(r('ops_after'))
  t.ok(Number.isInteger(opsBefore) && Number.isInteger(opsAfter), `the checker side's request count (SIGUSR1 file): ${r('ops_before')} -> ${r('ops_after')}`)
  t.equal(opsAfter - opsBefore, 1, 'one IPVS request: the new destination')
  t.match(r('reload_log'), /Reload complete/)
  t.match(r('reload_log'), /Activating healthchecker for service \[10\.40\.2\.12\]:tcp:8080 for VS \[10\.40\.1\.100\]:tcp:80/)
  t.notMatch(r('reload_log'), /Activating healthchecker for service \[10\.40\.2\.11\]/, 'the unchanged checker is not restarted')
  t.notMatch(r('reload_log'), /Removing service|Shutting down/)
})

t.test('during the reload the old VIP and rules never disappeared; the new VIP came; VRRP stayed MASTER', async (t) => {
  // Each sample: VIP .100 local, VIP .101 local, every entry of the first sample there, ms, entries in the first sample.
  const samples = r('poll_log').split('\n').map((l) => l.split(' ').map(Number))
  const hup = Number(r('hup_ms'))
  const firstNew = samples.find((s) => s[1] === 1)?.[3] ?? Number.POSITIVE_INFINITY
  t.ok(samples[0]![4]! >= 4, `the first sample saw the table (${samples[0]![4]} entries)`)
  t.ok(samples.some((s) => s[3]! < hup), 'sampled before the SIGHUP')
  t.ok(samples.filter((s) => s[3]! >= hup && s[3]! <= firstNew).length >= 2, `sampled between the SIGHUP and the new VIP (${samples.length} samples)`)
  t.same(samples.filter((s) => s[0] !== 1).length, 0, 'VIP 10.40.1.100 in every sample')
  t.same(samples.filter((s) => s[2] !== 1).length, 0, 'every old IPVS entry in every sample')
  t.ok(Number.isFinite(firstNew), 'VIP 10.40.1.101 appeared')
  t.equal(r('vip101'), 'yes')
  t.notMatch(r('reload_log'), /Entering (BACKUP|FAULT|MASTER) STATE/, 'no VRRP transition')
  t.notMatch(r('reload_log'), /removing VIPs|sent 0 priority/)
})

t.test('the connection survives the reload', async (t) => {
  t.match(r('conn_after_reload'), /^running \d+ in-order$/)
})

t.test('a broken file: every error logged, the old configuration keeps serving', async (t) => {
  const expected = r('broken_expected').split('\n').filter((l) => / error: /.test(l))
  t.ok(expected.length >= 1, `the config test reports errors:\n${r('broken_expected')}`)
  const log = r('broken_log').split('\n')
  for (const e of expected) t.ok(log.some((l) => l.endsWith(e)), `logged: ${e}`)
  t.match(r('broken_log'), /Reload aborted/)
  t.notMatch(r('broken_log'), /Reload complete|Entering (BACKUP|FAULT) STATE|Removing|Stopping/)
  t.equal(r('table_after_broken'), r('table_after'), 'IPVS unchanged')
  t.equal(r('vips_after_broken'), 'yes yes', 'both VIPs kept')
  t.equal(r('ops_broken'), r('ops_after'), 'no IPVS request')
  t.match(r('http_after'), /^rs[12]$/)
  t.match(r('conn_after_broken'), /^running [1-9]\d*$/, 'lines still flowing')
})

t.test('kill -9 of the checker process: respawned, the correct table adopted without a request or a gap', async (t) => {
  const [oldPid, newPid] = r('respawn_pid').split(' ')
  t.ok(newPid && newPid !== oldPid, `a new checker process (${oldPid} -> ${newPid})`)
  t.match(r('respawn_log'), new RegExp(`Healthcheck child process\\(${oldPid}\\) died: Respawning`))
  t.equal(r('respawn_table'), 'same', 'the IPVS rules are those before the kill')
  t.equal(r('ops_respawn'), '0', 'the new checker process sent no IPVS request')
  const samples = r('respawn_poll').split('\n').filter((l) => l !== '')
  t.ok(samples.length >= 10, `${samples.length} samples through the respawn`)
  t.same(samples.filter((l) => l.split(' ')[2] !== '1'), [], 'every IPVS entry present in every sample')
})

t.test('every line the client sent arrived, in order; SIGUSR1 files are 0600; clean stop', async (t) => {
  const [sent, received, order] = r('conn_final').split(' ')
  t.ok(Number(sent) >= 20, `sent ${sent}`)
  t.equal(received, sent)
  t.equal(order, 'in-order')
  for (const tag of ['before', 'after', 'broken']) t.equal(r(`data_mode.${tag}`), '600', `data file (${tag}) mode`)
  t.match(r('data.after'), / VS VIP = 10\.40\.1\.100, VPORT = 80\n/)
  t.equal(r('exit'), '0')
  t.equal(r('after_stop'), '', 'our services removed')
  t.equal(r('done'), 'yes')
})
