/**
 * Prometheus text from a status fixture: the exact exposition, then the text
 * parsed back line by line (names, labels, HELP/TYPE before samples, counters,
 * histogram shape, escaping) so the format stays scrapeable as it grows.
 */
import { readFileSync } from 'node:fs'
import t from 'tap'
import { escapeLabelValue, renderMetrics } from '../../src/status/metrics.js'
import type { DaemonStatus } from '../../src/status/types.js'
import { parseDaemonStatus } from '../../src/status/validate.js'

function fixture(): DaemonStatus {
  const parsed = parseDaemonStatus(JSON.parse(readFileSync(new URL('./daemon-status.json', import.meta.url), 'utf8')))
  if ('error' in parsed) throw new Error(`fixture: ${parsed.error}`)
  return parsed.status
}

const EXPECTED = `
# HELP keepalived_ts_info keepalived-ts version; always 1.
# TYPE keepalived_ts_info gauge
keepalived_ts_info{version="0.1.0"} 1
# HELP keepalived_ts_start_time_seconds When the daemon started, in seconds since the epoch.
# TYPE keepalived_ts_start_time_seconds gauge
keepalived_ts_start_time_seconds 1714557600
# HELP keepalived_ts_last_reload_time_seconds The last successful reload, in seconds since the epoch.
# TYPE keepalived_ts_last_reload_time_seconds gauge
keepalived_ts_last_reload_time_seconds 1714561200
# HELP keepalived_ts_process_up Whether the child process of this role is running.
# TYPE keepalived_ts_process_up gauge
keepalived_ts_process_up{role="vrrp"} 1
keepalived_ts_process_up{role="checkers"} 1
# HELP keepalived_ts_process_restarts_total Times the child process of this role was restarted after it died.
# TYPE keepalived_ts_process_restarts_total counter
keepalived_ts_process_restarts_total{role="vrrp"} 0
keepalived_ts_process_restarts_total{role="checkers"} 1
# HELP keepalived_ts_vrrp_state VRRP instance state: 1 for the current state, 0 for the others.
# TYPE keepalived_ts_vrrp_state gauge
keepalived_ts_vrrp_state{vrrp_instance="VI_1",state="INIT"} 0
keepalived_ts_vrrp_state{vrrp_instance="VI_1",state="BACKUP"} 0
keepalived_ts_vrrp_state{vrrp_instance="VI_1",state="MASTER"} 1
keepalived_ts_vrrp_state{vrrp_instance="VI_1",state="FAULT"} 0
keepalived_ts_vrrp_state{vrrp_instance="VI_1",state="STOP"} 0
keepalived_ts_vrrp_state{vrrp_instance="VI_6",state="INIT"} 0
keepalived_ts_vrrp_state{vrrp_instance="VI_6",state="BACKUP"} 1
keepalived_ts_vrrp_state{vrrp_instance="VI_6",state="MASTER"} 0
keepalived_ts_vrrp_state{vrrp_instance="VI_6",state="FAULT"} 0
keepalived_ts_vrrp_state{vrrp_instance="VI_6",state="STOP"} 0
# HELP keepalived_ts_vrrp_priority Effective VRRP priority (base plus tracking).
# TYPE keepalived_ts_vrrp_priority gauge
keepalived_ts_vrrp_priority{vrrp_instance="VI_1"} 150
keepalived_ts_vrrp_priority{vrrp_instance="VI_6"} 100
# HELP keepalived_ts_vrrp_base_priority Configured VRRP priority.
# TYPE keepalived_ts_vrrp_base_priority gauge
keepalived_ts_vrrp_base_priority{vrrp_instance="VI_1"} 100
keepalived_ts_vrrp_base_priority{vrrp_instance="VI_6"} 100
# HELP keepalived_ts_vrrp_state_change_time_seconds When the instance entered its current state, in seconds since the epoch.
# TYPE keepalived_ts_vrrp_state_change_time_seconds gauge
keepalived_ts_vrrp_state_change_time_seconds{vrrp_instance="VI_1"} 1714563000.25
keepalived_ts_vrrp_state_change_time_seconds{vrrp_instance="VI_6"} 1714564755
# HELP keepalived_ts_vrrp_transitions_total VRRP state transitions.
# TYPE keepalived_ts_vrrp_transitions_total counter
keepalived_ts_vrrp_transitions_total{vrrp_instance="VI_1"} 2
keepalived_ts_vrrp_transitions_total{vrrp_instance="VI_6"} 1
# HELP keepalived_ts_vrrp_became_master_total Transitions to MASTER.
# TYPE keepalived_ts_vrrp_became_master_total counter
keepalived_ts_vrrp_became_master_total{vrrp_instance="VI_1"} 1
keepalived_ts_vrrp_became_master_total{vrrp_instance="VI_6"} 0
# HELP keepalived_ts_vrrp_released_master_total Transitions out of MASTER.
# TYPE keepalived_ts_vrrp_released_master_total counter
keepalived_ts_vrrp_released_master_total{vrrp_instance="VI_1"} 0
keepalived_ts_vrrp_released_master_total{vrrp_instance="VI_6"} 0
# HELP keepalived_ts_vrrp_adverts_sent_total VRRP adverts sent.
# TYPE keepalived_ts_vrrp_adverts_sent_total counter
keepalived_ts_vrrp_adverts_sent_total{vrrp_instance="VI_1"} 1800
keepalived_ts_vrrp_adverts_sent_total{vrrp_instance="VI_6"} 0
# HELP keepalived_ts_vrrp_adverts_received_total VRRP adverts received and accepted.
# TYPE keepalived_ts_vrrp_adverts_received_total counter
keepalived_ts_vrrp_adverts_received_total{vrrp_instance="VI_1"} 3
keepalived_ts_vrrp_adverts_received_total{vrrp_instance="VI_6"} 2400
# HELP keepalived_ts_vrrp_priority_zero_sent_total Priority 0 adverts sent (MASTER stepping down).
# TYPE keepalived_ts_vrrp_priority_zero_sent_total counter
keepalived_ts_vrrp_priority_zero_sent_total{vrrp_instance="VI_1"} 0
keepalived_ts_vrrp_priority_zero_sent_total{vrrp_instance="VI_6"} 0
# HELP keepalived_ts_vrrp_priority_zero_received_total Priority 0 adverts received.
# TYPE keepalived_ts_vrrp_priority_zero_received_total counter
keepalived_ts_vrrp_priority_zero_received_total{vrrp_instance="VI_1"} 1
keepalived_ts_vrrp_priority_zero_received_total{vrrp_instance="VI_6"} 0
# HELP keepalived_ts_vrrp_adverts_rejected_total VRRP adverts dropped, by reason.
# TYPE keepalived_ts_vrrp_adverts_rejected_total counter
keepalived_ts_vrrp_adverts_rejected_total{vrrp_instance="VI_1",reason="ttl"} 2
keepalived_ts_vrrp_adverts_rejected_total{vrrp_instance="VI_1",reason="auth"} 1
# HELP keepalived_ts_ipvs_available Whether the kernel has IPVS (the checkers idle without it).
# TYPE keepalived_ts_ipvs_available gauge
keepalived_ts_ipvs_available 1
# HELP keepalived_ts_checks_total Health check attempts, by checker kind and result.
# TYPE keepalived_ts_checks_total counter
keepalived_ts_checks_total{kind="TCP_CHECK",result="success"} 10
keepalived_ts_checks_total{kind="TCP_CHECK",result="failure"} 0
keepalived_ts_checks_total{kind="HTTP_GET",result="success"} 4
keepalived_ts_checks_total{kind="HTTP_GET",result="failure"} 3
# HELP keepalived_ts_check_duration_seconds Health check attempt duration.
# TYPE keepalived_ts_check_duration_seconds histogram
keepalived_ts_check_duration_seconds_bucket{le="0.001"} 5
keepalived_ts_check_duration_seconds_bucket{le="0.0025"} 9
keepalived_ts_check_duration_seconds_bucket{le="0.01"} 12
keepalived_ts_check_duration_seconds_bucket{le="0.1"} 14
keepalived_ts_check_duration_seconds_bucket{le="1"} 14
keepalived_ts_check_duration_seconds_bucket{le="+Inf"} 17
keepalived_ts_check_duration_seconds_sum 9.1235
keepalived_ts_check_duration_seconds_count 17
# HELP keepalived_ts_ipvs_operations_total IPVS requests sent to the kernel.
# TYPE keepalived_ts_ipvs_operations_total counter
keepalived_ts_ipvs_operations_total 12
# HELP keepalived_ts_ipvs_errors_total IPVS requests the kernel refused.
# TYPE keepalived_ts_ipvs_errors_total counter
keepalived_ts_ipvs_errors_total 1
# HELP keepalived_ts_virtual_server_quorum_up Whether the virtual server has its quorum of live real servers.
# TYPE keepalived_ts_virtual_server_quorum_up gauge
keepalived_ts_virtual_server_quorum_up{virtual_server="[10.0.0.100]:tcp:80"} 1
keepalived_ts_virtual_server_quorum_up{virtual_server="FWM 5"} 0
# HELP keepalived_ts_virtual_server_sorry_server_active Whether the sorry server is in use.
# TYPE keepalived_ts_virtual_server_sorry_server_active gauge
keepalived_ts_virtual_server_sorry_server_active{virtual_server="[10.0.0.100]:tcp:80"} 0
keepalived_ts_virtual_server_sorry_server_active{virtual_server="FWM 5"} 1
# HELP keepalived_ts_virtual_server_weight_sum Sum of the weights of live real servers.
# TYPE keepalived_ts_virtual_server_weight_sum gauge
keepalived_ts_virtual_server_weight_sum{virtual_server="[10.0.0.100]:tcp:80"} 1
keepalived_ts_virtual_server_weight_sum{virtual_server="FWM 5"} 0
# HELP keepalived_ts_real_server_up Whether the real server is alive (all its checkers up).
# TYPE keepalived_ts_real_server_up gauge
keepalived_ts_real_server_up{virtual_server="[10.0.0.100]:tcp:80",real_server="[10.0.0.2]:tcp:80"} 1
keepalived_ts_real_server_up{virtual_server="[10.0.0.100]:tcp:80",real_server="[10.0.0.3]:tcp:80"} 0
keepalived_ts_real_server_up{virtual_server="FWM 5",real_server="[10.0.0.4]:tcp:0"} 0
# HELP keepalived_ts_real_server_weight Configured weight of the real server, after dynamic changes.
# TYPE keepalived_ts_real_server_weight gauge
keepalived_ts_real_server_weight{virtual_server="[10.0.0.100]:tcp:80",real_server="[10.0.0.2]:tcp:80"} 1
keepalived_ts_real_server_weight{virtual_server="[10.0.0.100]:tcp:80",real_server="[10.0.0.3]:tcp:80"} 2
keepalived_ts_real_server_weight{virtual_server="FWM 5",real_server="[10.0.0.4]:tcp:0"} 1
# HELP keepalived_ts_real_server_kernel_weight Weight of the real server in the IPVS table (0 when inhibited).
# TYPE keepalived_ts_real_server_kernel_weight gauge
keepalived_ts_real_server_kernel_weight{virtual_server="[10.0.0.100]:tcp:80",real_server="[10.0.0.2]:tcp:80"} 1
keepalived_ts_real_server_kernel_weight{virtual_server="[10.0.0.100]:tcp:80",real_server="[10.0.0.3]:tcp:80"} 0
# HELP keepalived_ts_checker_up Whether this checker of the real server reports it up.
# TYPE keepalived_ts_checker_up gauge
keepalived_ts_checker_up{virtual_server="[10.0.0.100]:tcp:80",real_server="[10.0.0.2]:tcp:80",kind="TCP_CHECK",checker="0"} 1
keepalived_ts_checker_up{virtual_server="[10.0.0.100]:tcp:80",real_server="[10.0.0.3]:tcp:80",kind="HTTP_GET",checker="0"} 0
keepalived_ts_checker_up{virtual_server="[10.0.0.100]:tcp:80",real_server="[10.0.0.3]:tcp:80",kind="TCP_CHECK",checker="1"} 1
keepalived_ts_checker_up{virtual_server="FWM 5",real_server="[10.0.0.4]:tcp:0",kind="MISC_CHECK",checker="0"} 0
# HELP keepalived_ts_checker_last_duration_seconds Duration of this checker's last attempt.
# TYPE keepalived_ts_checker_last_duration_seconds gauge
keepalived_ts_checker_last_duration_seconds{virtual_server="[10.0.0.100]:tcp:80",real_server="[10.0.0.2]:tcp:80",kind="TCP_CHECK",checker="0"} 0.001234
keepalived_ts_checker_last_duration_seconds{virtual_server="[10.0.0.100]:tcp:80",real_server="[10.0.0.3]:tcp:80",kind="HTTP_GET",checker="0"} 3.0004
keepalived_ts_checker_last_duration_seconds{virtual_server="[10.0.0.100]:tcp:80",real_server="[10.0.0.3]:tcp:80",kind="TCP_CHECK",checker="1"} 0.0004
`.slice(1)

interface ParsedSample {
  readonly name: string
  readonly labels: Record<string, string>
  readonly value: number
}

interface ParsedFamily {
  readonly name: string
  help: string | undefined
  type: string | undefined
  readonly samples: ParsedSample[]
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** Parse text exposition 0.0.4 strictly; throws with the line number on anything off. */
function parseExposition(text: string): ParsedFamily[] {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the text does not end with a newline')
  const families: ParsedFamily[] = []
  const byName = new Map<string, ParsedFamily>()
  const seriesSeen = new Set<string>()
  const lines = text.split('\n').slice(0, -1)
  lines.forEach((line, n) => {
    const fail = (why: string): never => {
      throw new Error(`line ${n + 1}: ${why}: ${line}`)
    }
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string]
      if (!NAME.test(name)) fail('bad metric name')
      let f = byName.get(name)
      if (!f) {
        f = { name, help: undefined, type: undefined, samples: [] }
        byName.set(name, f)
        families.push(f)
      }
      if (f.samples.length > 0) fail(`${kind} after samples`)
      if (kind === 'HELP') {
        if (f.help !== undefined) fail('second HELP')
        f.help = rest
      } else {
        if (f.type !== undefined) fail('second TYPE')
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) fail('bad type')
        f.type = rest
      }
      return
    }
    if (line.startsWith('#') || line === '') fail('unexpected comment or blank line')
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line) ?? fail('not a sample')
    const [, name, , labelText, valueText] = m as unknown as [string, string, string | undefined, string | undefined, string]
    const labels: Record<string, string> = {}
    let rest = labelText ?? ''
    while (rest !== '') {
      const l = /^([^=]+)="((?:[^"\\]|\\.)*)"(,|$)/.exec(rest) ?? fail('bad label list')
      const [all, key, raw] = l as unknown as [string, string, string]
      if (!LABEL.test(key) || key.startsWith('__')) fail(`bad label name ${key}`)
      if (key in labels) fail(`label ${key} twice`)
      if (raw.replace(/\\[\\"n]/g, '').includes('\\')) fail('bad escape')
      labels[key] = raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
      rest = rest.slice(all.length)
    }
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : valueText === 'NaN' ? NaN : Number(valueText)
    if (valueText !== 'NaN' && Number.isNaN(value)) fail('bad value')
    const family =
      byName.get(name) ?? byName.get(name.replace(/_(bucket|sum|count)$/, '')) ?? fail('sample before its HELP/TYPE')
    if (family.type === undefined || family.help === undefined) fail('sample before its HELP/TYPE')
    if (family.name !== name && family.type !== 'histogram') fail('suffix on a non-histogram')
    if (family !== families[families.length - 1]) fail('family samples not contiguous')
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`
    if (seriesSeen.has(key)) fail('series twice')
    seriesSeen.add(key)
    family.samples.push({ name, labels, value })
  })
  for (const f of families) {
    if (f.type === 'counter' && !f.name.endsWith('_total')) throw new Error(`counter ${f.name} does not end in _total`)
    if (f.type === 'counter' && f.samples.some((s) => !(s.value >= 0))) throw new Error(`counter ${f.name} is negative`)
    if (f.type === 'histogram') checkHistogram(f)
  }
  return families
}

function checkHistogram(f: ParsedFamily): void {
  const buckets = f.samples.filter((s) => s.name === `${f.name}_bucket`)
  const count = f.samples.find((s) => s.name === `${f.name}_count`)
  if (!f.samples.some((s) => s.name === `${f.name}_sum`) || !count) throw new Error(`${f.name}: no _sum or _count`)
  const bounds = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)))
  if (bounds.some((b, i) => Number.isNaN(b) || (i > 0 && b <= bounds[i - 1]!))) throw new Error(`${f.name}: le not ascending`)
  if (bounds[bounds.length - 1] !== Infinity) throw new Error(`${f.name}: no +Inf bucket`)
  if (buckets.some((b, i) => i > 0 && b.value < buckets[i - 1]!.value)) throw new Error(`${f.name}: buckets not cumulative`)
  if (buckets[buckets.length - 1]!.value !== count.value) throw new Error(`${f.name}: +Inf bucket is not _count`)
}

t.test('the exposition of the fixture, exactly', async (t) => {
  t.equal(renderMetrics(fixture()), EXPECTED)
})

t.test('parsed back: valid names and labels, HELP and TYPE before samples, histogram well formed', async (t) => {
  const families = parseExposition(renderMetrics(fixture()))
  t.ok(families.every((f) => f.name.startsWith('keepalived_ts_')), 'every name is prefixed')
  t.ok(families.every((f) => f.help !== undefined && f.type !== undefined), 'every family has HELP and TYPE')
  const get = (name: string) => families.find((f) => f.name === `keepalived_ts_${name}`)?.samples ?? []
  t.same(get('vrrp_state').filter((s) => s.value === 1).map((s) => [s.labels.vrrp_instance, s.labels.state]), [['VI_1', 'MASTER'], ['VI_6', 'BACKUP']])
  t.same(get('vrrp_adverts_rejected_total').map((s) => [s.labels.reason, s.value]), [['ttl', 2], ['auth', 1]])
  t.same(get('checks_total').find((s) => s.labels.kind === 'HTTP_GET' && s.labels.result === 'failure')?.value, 3)
  t.same(get('check_duration_seconds').map((s) => s.value), [5, 9, 12, 14, 14, 17, 9.1235, 17])
  t.same(get('ipvs_errors_total').map((s) => s.value), [1])
  t.same(get('process_restarts_total').map((s) => [s.labels.role, s.value]), [['vrrp', 0], ['checkers', 1]])
  t.ok(!families.some((f) => f.samples.some((s) => 'instance' in s.labels)), "no 'instance' label (Prometheus sets it per target)")
})

t.test('the checker itself catches what it should', async (t) => {
  t.throws(() => parseExposition('keepalived_ts_x 1\n'), /before its HELP\/TYPE/)
  t.throws(() => parseExposition('# HELP a x\n# TYPE a gauge\na{b="c} 1\n'), /not a sample|bad label/)
  t.throws(() => parseExposition('# HELP a x\n# TYPE a counter\na 1\n'), /_total/)
  t.throws(() => parseExposition('# HELP a x\n# TYPE a gauge\na 1\na 2\n'), /series twice/)
  t.throws(() => parseExposition('# HELP a x\n# TYPE a gauge\na{0x="1"} 1\n'), /bad label name/)
  t.throws(() => parseExposition('# HELP a x\n# TYPE a gauge\na{b="\\q"} 1\n'), /bad escape/)
  t.throws(() => parseExposition('# HELP a x\n# TYPE a gauge\na 1\n# TYPE a gauge\n'), /after samples/)
})

t.test('label values are escaped and read back unchanged', async (t) => {
  const base = fixture()
  const vi = base.vrrp!.instances[0]!
  const odd = 'VI "one"\\two\nthree'
  const status: DaemonStatus = { ...base, vrrp: { instances: [{ ...vi, name: odd, counters: { ...vi.counters, rejected: { 'bad "reason"': 1 } } }] } }
  const text = renderMetrics(status)
  t.match(text, 'keepalived_ts_vrrp_priority{vrrp_instance="VI \\"one\\"\\\\two\\nthree"} 150\n')
  const families = parseExposition(text)
  const priority = families.find((f) => f.name === 'keepalived_ts_vrrp_priority')!
  t.equal(priority.samples[0]?.labels.vrrp_instance, odd)
  const rejected = families.find((f) => f.name === 'keepalived_ts_vrrp_adverts_rejected_total')!
  t.equal(rejected.samples[0]?.labels.reason, 'bad "reason"')
  t.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd')
})

t.test('no VRRP, no checkers: the daemon families only; a bad start time is NaN', async (t) => {
  const base = fixture()
  const text = renderMetrics({ ...base, startedAt: 'soon', reloadedAt: undefined, processes: [], vrrp: undefined, checkers: undefined })
  t.equal(
    text,
    [
      '# HELP keepalived_ts_info keepalived-ts version; always 1.',
      '# TYPE keepalived_ts_info gauge',
      'keepalived_ts_info{version="0.1.0"} 1',
      '# HELP keepalived_ts_start_time_seconds When the daemon started, in seconds since the epoch.',
      '# TYPE keepalived_ts_start_time_seconds gauge',
      'keepalived_ts_start_time_seconds NaN',
      '',
    ].join('\n'),
  )
  parseExposition(text)
})

t.test('histogram: +Inf comes from the count when missing; unreadable bounds are dropped', async (t) => {
  const base = fixture()
  const checkers = base.checkers!
  const status: DaemonStatus = {
    ...base,
    vrrp: undefined,
    checkers: { ...checkers, counters: { ...checkers.counters, latencyBucketsMs: { '5': 2, 'abc': 7, '': 1, '0.5': 1 }, latencySumMs: 12, latencyCount: 4 } },
  }
  const families = parseExposition(renderMetrics(status))
  const h = families.find((f) => f.name === 'keepalived_ts_check_duration_seconds')!
  t.same(h.samples.map((s) => [s.name.replace('keepalived_ts_check_duration_seconds', ''), s.labels.le, s.value]), [
    ['_bucket', '0.0005', 1],
    ['_bucket', '0.005', 2],
    ['_bucket', '+Inf', 4],
    ['_sum', undefined, 0.012],
    ['_count', undefined, 4],
  ])
})

t.test('the same series twice (two virtual servers of one name) is written once', async (t) => {
  const base = fixture()
  const vs = base.checkers!.virtualServers[0]!
  const status: DaemonStatus = { ...base, checkers: { ...base.checkers!, virtualServers: [vs, { ...vs, quorumUp: false }] } }
  const families = parseExposition(renderMetrics(status))
  const quorum = families.find((f) => f.name === 'keepalived_ts_virtual_server_quorum_up')!
  t.same(quorum.samples.map((s) => s.value), [1], 'the first one wins')
})
