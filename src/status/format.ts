/**
 * `keepalived-ts status` output: a {@link DaemonStatus} as an operator's
 * table (the daemon and its processes, then each VRRP instance with state,
 * priority, current master, since when and why, then each virtual server with
 * its real servers' health, weights and last check), or as JSON (`--json`:
 * the status as the daemon gave it). Pure: time is a parameter. Every string
 * from the daemon has its control characters blanked, so a hostile name cannot
 * move the cursor or forge a line.
 */
import type { CheckerStatusView, CheckersStatus, DaemonStatus, RealServerStatusView, VrrpStatus } from './types.js'

export interface FormatOptions {
  /** For "(5m ago)"; default now. */
  readonly now?: Date
}

/** The status as `--json` prints it. */
export function formatStatusJson(status: DaemonStatus): string {
  return `${JSON.stringify(status, null, 2)}\n`
}

/** The status as a table. */
export function formatStatusTable(status: DaemonStatus, opts: FormatOptions = {}): string {
  const now = opts.now ?? new Date()
  const out: string[] = []
  out.push(`keepalived-ts ${clean(status.version)}, pid ${status.pid}, started ${when(status.startedAt, now)}`)
  const reloaded = status.reloadedAt == null ? 'never reloaded' : `reloaded ${when(status.reloadedAt, now)}`
  out.push(`config ${clean(status.configFile)}, ${reloaded}`)
  if (status.processes.length > 0) {
    const parts = status.processes.map((p) => {
      const restarts = `${p.restarts} restart${p.restarts === 1 ? '' : 's'}`
      return p.pid == null ? `${p.role} not running (${restarts})` : `${p.role} pid ${p.pid} (${restarts})`
    })
    out.push(`processes: ${parts.join(', ')}`)
  }
  out.push('', ...vrrpSection(status.vrrp, now), '', ...checkersSection(status.checkers))
  return out.join('\n') + '\n'
}

function vrrpSection(vrrp: VrrpStatus | undefined, now: Date): string[] {
  if (vrrp == null) return ['VRRP: no status (the VRRP process is not running)']
  if (vrrp.instances.length === 0) return ['VRRP instances: none']
  const rows = vrrp.instances.map((i) => [
    clean(i.name),
    i.state,
    i.priority === i.basePriority ? String(i.priority) : `${i.priority} (${i.basePriority})`,
    String(i.vrid),
    clean(i.interface ?? '-'),
    clean(i.master ?? '-'),
    i.since == null ? '-' : when(i.since, now),
    clean(i.reason ?? '-'),
  ])
  return ['VRRP instances', ...columns([['NAME', 'STATE', 'PRIORITY (BASE)', 'VRID', 'INTERFACE', 'MASTER', 'SINCE', 'WHY'], ...rows])]
}

function checkersSection(checkers: CheckersStatus | undefined): string[] {
  if (checkers == null) return ['Virtual servers: no status (the checker process is not running)']
  const out: string[] = []
  if (!checkers.ipvsAvailable) out.push('IPVS: not available in this kernel (the checkers idle)')
  if (checkers.virtualServers.length === 0) return [...out, 'Virtual servers: none']
  out.push('Virtual servers')
  // One set of column widths for every virtual server, so the tables line up.
  const header = ['REAL SERVER', 'HEALTH', 'WEIGHT', 'KERNEL', 'CHECK', 'RESULT', 'LATENCY', 'FAILURE']
  const groups = checkers.virtualServers.map((vs) => vs.realServers.flatMap(realServerRows))
  const lines = columns([header, ...groups.flat()])
  let next = 1
  checkers.virtualServers.forEach((vs, i) => {
    const notes = [vs.quorumUp ? 'quorum up' : 'quorum DOWN', `weight sum ${vs.weightSum}`]
    if (vs.sorryServerActive) notes.push('sorry server active')
    out.push(`${clean(vs.name)}  ${notes.join(', ')}`)
    const rows = groups[i]!
    if (rows.length === 0) {
      out.push('  (no real servers)')
      return
    }
    out.push(`  ${lines[0]}`)
    for (let r = 0; r < rows.length; r++) out.push(`  ${lines[next++]}`)
  })
  return out
}

/** One row per checker; the real server's own columns only on its first. */
function realServerRows(rs: RealServerStatusView): string[][] {
  const own = [clean(rs.name), rs.alive ? 'up' : 'down', String(rs.weight), rs.kernelWeight == null ? '-' : String(rs.kernelWeight)]
  if (rs.checkers.length === 0) return [[...own, '-', '-', '-', '']]
  return rs.checkers.map((c, i) => [...(i === 0 ? own : ['', '', '', '']), ...checkerCells(c)])
}

function checkerCells(c: CheckerStatusView): string[] {
  const kind = clean(c.kind) + (c.suspended ? ' (suspended)' : '')
  const result = c.lastResult ?? 'pending'
  const latency = c.lastLatencyMs == null ? '-' : milliseconds(c.lastLatencyMs)
  const failure = c.lastResult === 'failure' ? clean(c.lastFailure ?? '') : ''
  return [kind, result, latency, failure]
}

function milliseconds(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`
}

/** Left-aligned columns two spaces apart; trailing blanks trimmed. */
function columns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)))
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd())
}

/** C0 and C1 control characters (newline, escape …) become spaces. */
function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
}

/** `2024-05-01T10:00:00Z (2h5m ago)`: whole seconds, and the age when it is in the past. */
function when(iso: string, now: Date): string {
  const at = Date.parse(iso)
  if (Number.isNaN(at)) return clean(iso)
  const shown = new Date(Math.floor(at / 1000) * 1000).toISOString().replace('.000Z', 'Z')
  const age = Math.floor((now.getTime() - at) / 1000)
  return age >= 0 ? `${shown} (${duration(age)} ago)` : shown
}

function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400)
  const h = Math.floor((seconds % 86400) / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  if (d > 0) return `${d}d${h}h`
  if (h > 0) return `${h}h${m}m`
  if (m > 0) return `${m}m${s}s`
  return `${s}s`
}
