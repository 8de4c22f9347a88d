/**
 * `keepalived-ts status` and the Prometheus metrics against running daemons:
 * a MASTER and a BACKUP keepalived-ts in a namespace lab. The table and JSON
 * come over each daemon's control socket; /metrics is fetched inside the
 * master's namespace, where the daemon listens (--metrics=127.0.0.1:9650).
 * The checker side's status with a real IPVS is in test/vm/lvs-cluster.test.ts.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { createLab, KEEPALIVED_TS } from '../helpers/lab.js'
import { eventually, globalDefs, instanceConf, VARIANTS } from '../helpers/vrrp-scenario.js'

const V2 = VARIANTS[0]!
const VIP = '10.33.0.100'

function status(socket: string, json: boolean): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [KEEPALIVED_TS, 'status', ...(json ? ['--json'] : []), '--socket', socket], { encoding: 'utf8', timeout: 15_000 })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

t.test('status and metrics of a MASTER and a BACKUP', async (t) => {
  const lab = createLab(t, ['a', 'b'])
  const a = lab.node('a')
  const b = lab.node('b')
  const pa = a.startKeepalivedTs(globalDefs('a') + instanceConf(V2, a, b, { priority: 150 }), { args: ['--metrics=127.0.0.1:9650'] })
  const pb = b.startKeepalivedTs(globalDefs('b') + instanceConf(V2, b, a, { priority: 100 }))
  await pa.waitForLine(/\(VI_1\) Entering MASTER STATE/, 20_000)
  await pb.waitForLine(/\(VI_1\) Entering BACKUP STATE/, 10_000)
  await eventually(() => a.hasAddress(VIP), 'the VIP on a', 5_000)
  // Let a few adverts go by, so the counters have something to count.
  await new Promise((r) => setTimeout(r, 2500))

  const sockA = join(a.dir, 'keepalived-ts.sock')
  const sockB = join(b.dir, 'keepalived-ts.sock')
  const ja = status(sockA, true)
  t.equal(ja.code, 0, ja.err)
  const sa = JSON.parse(ja.out) as { vrrp: { instances: { name: string; state: string; priority: number; master: string; reason: string; counters: { advertsSent: number } }[] }; processes: { role: string; pid: number }[] }
  const ia = sa.vrrp.instances[0]!
  t.equal(ia.name, 'VI_1')
  t.equal(ia.state, 'MASTER')
  t.equal(ia.priority, 150)
  t.ok(ia.counters.advertsSent >= 2, `adverts sent: ${ia.counters.advertsSent}`)
  t.ok(typeof ia.reason === 'string' && ia.reason.length > 0, `why: ${ia.reason}`)
  t.ok(sa.processes.some((p) => p.role === 'vrrp' && p.pid > 0), 'the VRRP child is listed')

  const jb = JSON.parse(status(sockB, true).out) as typeof sa
  t.equal(jb.vrrp.instances[0]!.state, 'BACKUP')
  t.equal(jb.vrrp.instances[0]!.master, a.ipv4, 'the backup names the current master')

  const table = status(sockB, false)
  t.equal(table.code, 0)
  t.match(table.out, /VI_1/)
  t.match(table.out, /BACKUP/)
  t.match(table.out, new RegExp(a.ipv4.replaceAll('.', '\\.')))

  const fetched = a.exec([process.execPath, '-e', `fetch('http://127.0.0.1:9650/metrics').then(async (r) => { process.stdout.write(String(r.status) + '\\n' + await r.text()) }).catch((e) => { console.error(e); process.exit(1) })`], 15_000)
  t.equal(fetched.status, 0, fetched.stderr)
  const [code, ...lines] = fetched.stdout.split('\n')
  t.equal(code, '200')
  const text = lines.join('\n')
  t.match(text, /^# TYPE keepalived_ts_vrrp_state gauge$/m)
  t.match(text, /^keepalived_ts_vrrp_state\{[^}]*vrrp_instance="VI_1"[^}]*state="MASTER"[^}]*\} 1$/m)
  const sent = /^keepalived_ts_vrrp_adverts_sent_total\{[^}]*vrrp_instance="VI_1"[^}]*\} (\d+)$/m.exec(text)
  t.ok(sent && Number(sent[1]) >= 2, 'adverts sent counter')
  t.match(text, /^keepalived_ts_vrrp_priority\{[^}]*\} 150$/m)

  const gone = status(join(a.dir, 'nobody.sock'), true)
  t.not(gone.code, 0, 'no daemon on that socket: a clear non-zero exit')
  t.match(gone.err, /nobody\.sock/)
})
