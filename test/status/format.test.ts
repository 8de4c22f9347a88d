/** `keepalived-ts status` output: the table and the JSON, from a status fixture read back as JSON. */
import { readFileSync } from 'node:fs'
import t from 'tap'
import { formatStatusJson, formatStatusTable } from '../../src/status/format.js'
import type { DaemonStatus } from '../../src/status/types.js'
import { parseDaemonStatus } from '../../src/status/validate.js'

const fixtureText = readFileSync(new URL('./daemon-status.json', import.meta.url), 'utf8')

function fixture(): DaemonStatus {
  const parsed = parseDaemonStatus(JSON.parse(fixtureText))
  if ('error' in parsed) throw new Error(`fixture: ${parsed.error}`)
  return parsed.status
}

const now = new Date('2024-05-01T12:00:00Z')

t.test('the table: daemon, VRRP instances, virtual servers with each real server and checker', async (t) => {
  t.equal(
    formatStatusTable(fixture(), { now }),
    [
      'keepalived-ts 0.1.0, pid 4242, started 2024-05-01T10:00:00Z (2h0m ago)',
      'config /etc/keepalived/keepalived.conf, reloaded 2024-05-01T11:00:00Z (1h0m ago)',
      'processes: vrrp pid 4243 (0 restarts), checkers pid 4244 (1 restart)',
      '',
      'VRRP instances',
      'NAME  STATE   PRIORITY (BASE)  VRID  INTERFACE  MASTER    SINCE                              WHY',
      'VI_1  MASTER  150 (100)        51    eth0       10.0.0.1  2024-05-01T11:30:00Z (29m59s ago)  master down timer expired',
      'VI_6  BACKUP  100              52    eth1       fe80::2   2024-05-01T11:59:15Z (45s ago)     higher priority advert from fe80::2',
      '',
      'Virtual servers',
      '[10.0.0.100]:tcp:80  quorum up, weight sum 1',
      '  REAL SERVER        HEALTH  WEIGHT  KERNEL  CHECK                   RESULT   LATENCY  FAILURE',
      '  [10.0.0.2]:tcp:80  up      1       1       TCP_CHECK               success  1.2 ms',
      '  [10.0.0.3]:tcp:80  down    2       0       HTTP_GET                failure  3000 ms  HTTP status code error',
      '                                             TCP_CHECK               success  0.4 ms',
      'FWM 5  quorum DOWN, weight sum 0, sorry server active',
      '  REAL SERVER        HEALTH  WEIGHT  KERNEL  CHECK                   RESULT   LATENCY  FAILURE',
      '  [10.0.0.4]:tcp:0   down    1       -       MISC_CHECK (suspended)  pending  -',
      '',
    ].join('\n'),
  )
})

t.test('--json prints the status as it came, indented', async (t) => {
  const text = formatStatusJson(fixture())
  t.equal(text, `${JSON.stringify(JSON.parse(fixtureText), null, 2)}\n`)
  t.same(JSON.parse(text), JSON.parse(fixtureText))
})

t.test('what is missing is said, not left blank', async (t) => {
  const base = fixture()
  const bare: DaemonStatus = {
    ...base,
    reloadedAt: undefined,
    processes: [{ role: 'vrrp', pid: undefined, restarts: 3 }],
    vrrp: undefined,
    checkers: undefined,
  }
  t.equal(
    formatStatusTable(bare, { now }),
    [
      'keepalived-ts 0.1.0, pid 4242, started 2024-05-01T10:00:00Z (2h0m ago)',
      'config /etc/keepalived/keepalived.conf, never reloaded',
      'processes: vrrp not running (3 restarts)',
      '',
      'VRRP: no status (the VRRP process is not running)',
      '',
      'Virtual servers: no status (the checker process is not running)',
      '',
    ].join('\n'),
  )
  const empty: DaemonStatus = {
    ...bare,
    processes: [],
    vrrp: { instances: [] },
    checkers: { ...base.checkers!, ipvsAvailable: false, virtualServers: [] },
  }
  t.equal(
    formatStatusTable(empty, { now }).split('\n').slice(2).join('\n'),
    ['', 'VRRP instances: none', '', 'IPVS: not available in this kernel (the checkers idle)', 'Virtual servers: none', ''].join('\n'),
  )
})

t.test('an instance without a known master, time or reason; a virtual server without real servers', async (t) => {
  const base = fixture()
  const vi = base.vrrp!.instances[0]!
  const status: DaemonStatus = {
    ...base,
    vrrp: { instances: [{ ...vi, state: 'INIT', priority: 100, master: undefined, since: undefined, reason: undefined, interface: undefined }] },
    checkers: { ...base.checkers!, virtualServers: [{ name: '[GROUP]:0', quorumUp: true, sorryServerActive: false, weightSum: 0, realServers: [] }] },
  }
  const lines = formatStatusTable(status, { now }).split('\n')
  t.same(lines.slice(4, 7), [
    'VRRP instances',
    'NAME  STATE  PRIORITY (BASE)  VRID  INTERFACE  MASTER  SINCE  WHY',
    'VI_1  INIT   100              51    -          -       -      -',
  ])
  t.same(lines.slice(8, 11), ['Virtual servers', '[GROUP]:0  quorum up, weight sum 0', '  (no real servers)'])
})

t.test('control characters from the daemon cannot forge lines or move the cursor', async (t) => {
  const base = fixture()
  const vi = base.vrrp!.instances[0]!
  const status: DaemonStatus = { ...base, vrrp: { instances: [{ ...vi, name: 'VI\n\u001b[2Jfake', reason: 'a\rb\u009bc' }] } }
  const text = formatStatusTable(status, { now })
  t.notMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, 'no control character but newline')
  const row = text.split('\n').find((l) => l.startsWith('VI '))
  t.match(row, /^VI  \[2Jfake  MASTER .* a b c$/)
})

t.test('times: an unparsable one is shown as given, a future one without an age', async (t) => {
  const base = fixture()
  const vi = base.vrrp!.instances[0]!
  const at = (since: string): string | undefined =>
    formatStatusTable({ ...base, vrrp: { instances: [{ ...vi, since }] } }, { now }).split('\n')[6]
  t.match(at('yesterday'), /  yesterday  master down/)
  t.match(at('2024-05-01T12:00:05Z'), /  2024-05-01T12:00:05Z  master down/)
  t.match(at('2024-04-28T09:00:00Z'), /\(3d3h ago\)/)
})

t.test('reading a status back: the first bad field is named', async (t) => {
  const good = JSON.parse(fixtureText) as Record<string, unknown>
  t.ok('status' in parseDaemonStatus(good))
  const cases: [unknown, RegExp][] = [
    [null, /^status is null, not an object$/],
    [[], /^status is an array/],
    [{ ...good, pid: '1' }, /^status\.pid is string, not a number$/],
    [{ ...good, processes: [{ role: 'bfd', restarts: 0 }] }, /^status\.processes\[0\]\.role is "bfd", not one of "vrrp", "checkers"$/],
    [{ ...good, vrrp: { instances: [{}] } }, /^status\.vrrp\.instances\[0\]\.name is undefined/],
    [{ ...good, checkers: { ...(good.checkers as object), counters: { checks: { X: { success: 1 } } } } }, /^status\.checkers\.counters\.checks\.X\.failure/],
    [{ ...good, startedAt: undefined }, /^status\.startedAt/],
  ]
  for (const [value, expected] of cases) {
    const r = parseDaemonStatus(value)
    t.match('error' in r ? r.error : 'accepted', expected)
  }
  const noOptional = { ...good, reloadedAt: undefined, vrrp: undefined, checkers: null }
  t.ok('status' in parseDaemonStatus(noOptional), 'optional parts may be absent or null')
})
