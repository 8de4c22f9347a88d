/**
 * A {@link DaemonStatus} as Prometheus text (exposition format 0.0.4): one
 * HELP and TYPE line per family, then its samples; names prefixed
 * `keepalived_ts_`; label values escaped (backslash, double quote, newline).
 * VRRP state is one series per state (1 for the current one), the form
 * Prometheus' state-set gauges take. The VRRP instance label is
 * `vrrp_instance`, not `instance`, which Prometheus gives every target.
 * Check latency is a histogram in seconds from the cumulative millisecond
 * buckets the checker side keeps. Pure.
 */
import type { CheckersStatus, DaemonStatus, VrrpInstanceCounters, VrrpStateName, VrrpStatus } from './types.js'

export const METRIC_PREFIX = 'keepalived_ts_'

const VRRP_STATES: readonly VrrpStateName[] = ['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP']

type Labels = Readonly<Record<string, string>>

interface Sample {
  /** `_bucket`, `_sum`, `_count` for histograms; '' otherwise. */
  readonly suffix: string
  readonly labels: Labels
  readonly value: number
}

interface Family {
  readonly name: string
  readonly type: 'gauge' | 'counter' | 'histogram'
  readonly help: string
  readonly samples: Sample[]
  /** Series keys already written. */
  readonly seen: Set<string>
}

/** Families in the order they are written; a series seen twice keeps its first value. */
class Exposition {
  private readonly families: Family[] = []
  private readonly byName = new Map<string, Family>()

  family(name: string, type: Family['type'], help: string): (labels: Labels, value: number, suffix?: string) => void {
    const full = METRIC_PREFIX + name
    let f = this.byName.get(full)
    if (!f) {
      f = { name: full, type, help, samples: [], seen: new Set() }
      this.byName.set(full, f)
      this.families.push(f)
    }
    const family = f
    return (labels, value, suffix = '') => {
      const key = suffix + labelText(labels)
      if (family.seen.has(key)) return
      family.seen.add(key)
      family.samples.push({ suffix, labels, value })
    }
  }

  text(): string {
    const lines: string[] = []
    for (const f of this.families) {
      if (f.samples.length === 0) continue
      lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`)
      for (const s of f.samples) lines.push(`${f.name}${s.suffix}${labelText(s.labels)} ${numberText(s.value)}`)
    }
    return lines.length === 0 ? '' : lines.join('\n') + '\n'
  }
}

/** `\` → `\\`, `"` → `\"`, newline → `\n` (exposition format 0.0.4). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
  return parts.length === 0 ? '' : `{${parts.join(',')}}`
}

function numberText(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return String(v)
}

function seconds(iso: string | undefined): number | undefined {
  if (iso == null) return undefined
  const t = Date.parse(iso)
  return Number.isNaN(t) ? undefined : t / 1000
}

/** The whole status as Prometheus text. */
export function renderMetrics(status: DaemonStatus): string {
  const x = new Exposition()
  x.family('info', 'gauge', 'keepalived-ts version; always 1.')({ version: status.version }, 1)
  x.family('start_time_seconds', 'gauge', 'When the daemon started, in seconds since the epoch.')({}, seconds(status.startedAt) ?? NaN)
  const reloaded = seconds(status.reloadedAt)
  if (reloaded !== undefined) x.family('last_reload_time_seconds', 'gauge', 'The last successful reload, in seconds since the epoch.')({}, reloaded)
  const up = x.family('process_up', 'gauge', 'Whether the child process of this role is running.')
  const restarts = x.family('process_restarts_total', 'counter', 'Times the child process of this role was restarted after it died.')
  for (const p of status.processes) {
    up({ role: p.role }, p.pid == null ? 0 : 1)
    restarts({ role: p.role }, p.restarts)
  }
  if (status.vrrp) vrrpMetrics(x, status.vrrp)
  if (status.checkers) checkerMetrics(x, status.checkers)
  return x.text()
}

const VRRP_COUNTERS: readonly [keyof Omit<VrrpInstanceCounters, 'rejected'>, string, string][] = [
  ['transitions', 'vrrp_transitions_total', 'VRRP state transitions.'],
  ['becameMaster', 'vrrp_became_master_total', 'Transitions to MASTER.'],
  ['releasedMaster', 'vrrp_released_master_total', 'Transitions out of MASTER.'],
  ['advertsSent', 'vrrp_adverts_sent_total', 'VRRP adverts sent.'],
  ['advertsReceived', 'vrrp_adverts_received_total', 'VRRP adverts received and accepted.'],
  ['priorityZeroSent', 'vrrp_priority_zero_sent_total', 'Priority 0 adverts sent (MASTER stepping down).'],
  ['priorityZeroReceived', 'vrrp_priority_zero_received_total', 'Priority 0 adverts received.'],
]

function vrrpMetrics(x: Exposition, vrrp: VrrpStatus): void {
  const state = x.family('vrrp_state', 'gauge', 'VRRP instance state: 1 for the current state, 0 for the others.')
  const priority = x.family('vrrp_priority', 'gauge', 'Effective VRRP priority (base plus tracking).')
  const base = x.family('vrrp_base_priority', 'gauge', 'Configured VRRP priority.')
  const since = x.family('vrrp_state_change_time_seconds', 'gauge', 'When the instance entered its current state, in seconds since the epoch.')
  const counters = VRRP_COUNTERS.map(([key, name, help]) => [key, x.family(name, 'counter', help)] as const)
  const rejected = x.family('vrrp_adverts_rejected_total', 'counter', 'VRRP adverts dropped, by reason.')
  for (const i of vrrp.instances) {
    const labels = { vrrp_instance: i.name }
    for (const s of VRRP_STATES) state({ ...labels, state: s }, i.state === s ? 1 : 0)
    priority(labels, i.priority)
    base(labels, i.basePriority)
    const at = seconds(i.since)
    if (at !== undefined) since(labels, at)
    for (const [key, emit] of counters) emit(labels, i.counters[key])
    for (const [reason, n] of Object.entries(i.counters.rejected)) rejected({ ...labels, reason }, n)
  }
}

function checkerMetrics(x: Exposition, checkers: CheckersStatus): void {
  x.family('ipvs_available', 'gauge', 'Whether the kernel has IPVS (the checkers idle without it).')({}, checkers.ipvsAvailable ? 1 : 0)
  const c = checkers.counters
  const checks = x.family('checks_total', 'counter', 'Health check attempts, by checker kind and result.')
  for (const [kind, r] of Object.entries(c.checks)) {
    checks({ kind, result: 'success' }, r.success)
    checks({ kind, result: 'failure' }, r.failure)
  }
  const latency = x.family('check_duration_seconds', 'histogram', 'Health check attempt duration.')
  for (const [le, n] of latencyBuckets(c.latencyBucketsMs, c.latencyCount)) latency({ le }, n, '_bucket')
  latency({}, c.latencySumMs / 1000, '_sum')
  latency({}, c.latencyCount, '_count')
  x.family('ipvs_operations_total', 'counter', 'IPVS requests sent to the kernel.')({}, c.ipvsOperations)
  x.family('ipvs_errors_total', 'counter', 'IPVS requests the kernel refused.')({}, c.ipvsErrors)

  const quorum = x.family('virtual_server_quorum_up', 'gauge', 'Whether the virtual server has its quorum of live real servers.')
  const sorry = x.family('virtual_server_sorry_server_active', 'gauge', 'Whether the sorry server is in use.')
  const weightSum = x.family('virtual_server_weight_sum', 'gauge', 'Sum of the weights of live real servers.')
  const rsUp = x.family('real_server_up', 'gauge', 'Whether the real server is alive (all its checkers up).')
  const weight = x.family('real_server_weight', 'gauge', 'Configured weight of the real server, after dynamic changes.')
  const kernelWeight = x.family('real_server_kernel_weight', 'gauge', 'Weight of the real server in the IPVS table (0 when inhibited).')
  const checkerUp = x.family('checker_up', 'gauge', 'Whether this checker of the real server reports it up.')
  const lastLatency = x.family('checker_last_duration_seconds', 'gauge', "Duration of this checker's last attempt.")
  for (const vs of checkers.virtualServers) {
    const vsLabels = { virtual_server: vs.name }
    quorum(vsLabels, vs.quorumUp ? 1 : 0)
    sorry(vsLabels, vs.sorryServerActive ? 1 : 0)
    weightSum(vsLabels, vs.weightSum)
    for (const rs of vs.realServers) {
      const rsLabels = { ...vsLabels, real_server: rs.name }
      rsUp(rsLabels, rs.alive ? 1 : 0)
      weight(rsLabels, rs.weight)
      if (rs.kernelWeight != null) kernelWeight(rsLabels, rs.kernelWeight)
      rs.checkers.forEach((chk, n) => {
        // Two checkers of one kind on a real server are told apart by their position.
        const labels = { ...rsLabels, kind: chk.kind, checker: String(n) }
        checkerUp(labels, chk.up ? 1 : 0)
        if (chk.lastLatencyMs != null) lastLatency(labels, chk.lastLatencyMs / 1000)
      })
    }
  }
}

/** Bucket bounds in seconds, ascending, `+Inf` last (added from the count when missing). */
function latencyBuckets(bucketsMs: Readonly<Record<string, number>>, count: number): [string, number][] {
  const finite: [number, number][] = []
  let inf: number | undefined
  for (const [bound, n] of Object.entries(bucketsMs)) {
    if (bound === '+Inf' || bound === 'Inf' || bound === 'inf') inf = n
    else if (bound.trim() !== '' && Number.isFinite(Number(bound))) finite.push([Number(bound), n])
  }
  finite.sort((a, b) => a[0] - b[0])
  return [...finite.map(([ms, n]): [string, number] => [String(ms / 1000), n]), ['+Inf', inf ?? count]]
}
