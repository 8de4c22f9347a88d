/**
 * The checker side as data and as text: {@link checkersStatus} fills the
 * status contract (src/status/types.ts) from the pools, the scheduler, the
 * metrics and our mirror of the kernel table; {@link dumpText} is the
 * SIGUSR1 file, /tmp/keepalived_check.data, in keepalived's layout
 * (dump_vs / dump_rs / dump_checkers_queue: `------< LVS Topology >------`,
 * ` VS VIP = …, VPORT = …`, `   RIP = …, RPORT = …, WEIGHT = …`) as far as
 * our model has the fields, with each checker's last result added.
 * {@link writeDataFile} writes it mode 0600, in `$TMPDIR` when that is an
 * absolute path (keepalived's rule); a failure is returned, never thrown.
 */
import { closeSync, constants, fchmodSync, openSync, writeSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import type { LvsMethod, VirtualServer, VirtualServerGroup } from '../config/lvs/model.js'
import { destOf, rsText, servicesOf } from '../ipvs/desired.js'
import type { CheckersStatus, CheckerStatusView, RealServerStatusView, VirtualServerStatusView } from '../status/types.js'
import type { KernelView } from './adopt.js'
import type { LiveVs } from './live.js'
import type { CheckerMetrics } from './metrics.js'

export interface StatusSources {
  readonly ipvsAvailable: boolean
  readonly virtualServers: readonly LiveVs[]
  readonly groups: readonly VirtualServerGroup[]
  /** Our mirror of the kernel table; undefined without IPVS. */
  readonly kernel: Pick<KernelView, 'dest'> | undefined
  /** ha_suspend: whether a checker is suspended now. */
  readonly suspended: (id: string) => boolean
  readonly metrics: CheckerMetrics
  readonly ipvsOperations: number
  readonly ipvsErrors: number
}

export function checkersStatus(s: StatusSources): CheckersStatus {
  return {
    ipvsAvailable: s.ipvsAvailable,
    virtualServers: s.virtualServers.map((vs) => virtualServerView(vs, s)),
    counters: s.metrics.counters(s.ipvsOperations, s.ipvsErrors),
  }
}

function virtualServerView(vs: LiveVs, s: StatusSources): VirtualServerStatusView {
  const pool = vs.pool.status()
  const service = servicesOf(vs.config, s.groups)[0]?.key
  return {
    name: pool.text,
    quorumUp: pool.quorumUp,
    sorryServerActive: pool.sorryServerActive,
    weightSum: pool.weightSum,
    realServers: vs.realServers.map((rs, j): RealServerStatusView => {
      const health = pool.realServers[j]!
      const kinds = new Map(rs.checkers.flatMap((c) => c.runners.map((r) => [r.id, r.kind] as const)))
      return {
        name: health.text,
        alive: health.alive,
        weight: health.weight,
        kernelWeight: service && s.kernel?.dest(service, destOf(rs.config, 0, service))?.weight,
        checkers: health.checkers.map((c) => s.metrics.view(c.id, kinds.get(c.id) ?? 'UNKNOWN', c.up, s.suspended(c.id))),
      }
    }),
  }
}

// ---------------------------------------------------------------------------
// The SIGUSR1 file

const seconds = (us: number): string => (us / 1_000_000).toFixed(6)
const onOff = (b: boolean): string => (b ? 'ON' : 'OFF')
const enabled = (b: boolean): string => (b ? 'enabled' : 'disabled')

/** dump_forwarding_method(). */
function forwardingLine(prefix: string, m: LvsMethod): string {
  if (m.kind !== 'TUN') return `   ${prefix}forwarding method = ${m.kind}`
  const type = m.tunnelType ?? 'ipip'
  if (type === 'ipip') return `   ${prefix}forwarding method = TUN, tunnel type = IPIP`
  const csum = { nocsum: ', no checksum', csum: ', checksum', remcsum: ', remote checksum' }[m.tunnelChecksum ?? 'nocsum']
  return type === 'gue'
    ? `   ${prefix}forwarding method = TUN, tunnel type = GUE, port = ${m.tunnelPort ?? 0}${csum}`
    : `   ${prefix}forwarding method = TUN, tunnel type = GRE${csum}`
}

/** dump_vs() for what our model has. */
function virtualServerLines(live: LiveVs, view: VirtualServerStatusView, inKernel: (rs: number) => boolean): string[] {
  const vs: VirtualServer = live.config
  const out = [' ------< Virtual server >------']
  if (vs.group !== undefined) out.push(` VS GROUP = ${view.name}`)
  else if (vs.fwmark !== undefined) out.push(` VS FWMARK = ${vs.fwmark}`)
  else out.push(` VS VIP = ${vs.address}, VPORT = ${vs.port ?? 0}`)
  if (vs.virtualhost) out.push(`   VirtualHost = ${vs.virtualhost}`)
  if (vs.ipFamily) out.push(`   Address family = ${vs.ipFamily}`)
  else if (vs.address) out.push(`   Address family = inet${vs.address.includes(':') ? '6' : ''}`)
  out.push(`   connection timeout = ${seconds(vs.connectTimeout)}`, `   delay_loop = ${seconds(vs.delayLoop)}`, `   lvs_sched = ${vs.lvsSched}`)
  if (vs.lvsSched === 'sh' || vs.lvsSched === 'mh') {
    const port = vs.lvsSched === 'sh' ? vs.shPort : vs.mhPort
    const fallback = vs.lvsSched === 'sh' ? vs.shFallback : vs.mhFallback
    out.push(`   ${vs.lvsSched}-port = ${enabled(port || vs.flag2)}`, `   ${vs.lvsSched}-fallback = ${enabled(fallback || vs.flag1)}`)
  } else {
    out.push(`   flag-1 = ${enabled(vs.flag1)}`, `   flag-2 = ${enabled(vs.flag2)}`, `   flag-3 = ${enabled(vs.flag3)}`)
  }
  out.push(`   One packet scheduling = ${enabled(vs.ops)}${vs.ops && vs.protocol !== 'UDP' ? ' (inactive due to not UDP)' : ''}`)
  if (vs.persistenceTimeout) out.push(`   persistence timeout = ${vs.persistenceTimeout}`)
  if (vs.persistenceGranularity !== undefined) out.push(`   persistence granularity = ${vs.persistenceGranularity}`)
  out.push(`   protocol = ${vs.protocol ?? 'none'}`, `   alpha is ${onOff(vs.alpha)}`, `   omega is ${onOff(vs.omega)}`)
  if (vs.retry !== undefined) out.push(`   Retry count = ${vs.retry}`)
  if (vs.delayBeforeRetry !== undefined) out.push(`   Retry delay = ${seconds(vs.delayBeforeRetry)}`)
  if (vs.warmup !== undefined) out.push(`   Warmup = ${seconds(vs.warmup)}`)
  out.push(`   Inhibit on failure is ${onOff(vs.inhibitOnFailure)}`, `   quorum = ${vs.quorum}, hysteresis = ${vs.hysteresis}`)
  if (vs.quorumUp) out.push(`   Quorum up notify script = ${vs.quorumUp.command}`)
  if (vs.quorumDown) out.push(`   Quorum down notify script = ${vs.quorumDown.command}`)
  if (vs.haSuspend) out.push('   Using HA suspend')
  out.push(`   Using smtp notification = ${vs.smtpAlert ? 'yes' : 'no'}`, forwardingLine('default ', vs.lvsMethod))
  if (vs.sorryServer) {
    out.push(`   sorry server = ${rsText(vs.sorryServer, vs)}`, forwardingLine('  ', vs.sorryServer.lvsMethod))
    out.push(`     Inhibit on failure is ${onOff(vs.sorryServer.inhibit)}`, `   sorry server active = ${view.sorryServerActive ? 1 : 0}`)
  }
  out.push(`   quorum_state_up = ${view.quorumUp ? 1 : 0}`, `   weight sum = ${view.weightSum}`)
  const pool = live.pool.status()
  live.realServers.forEach((rs, j) => {
    const r = rs.config
    const health = pool.realServers[j]!
    const kernel = view.realServers[j]!.kernelWeight
    out.push('   ------< Real server >------')
    out.push(`   RIP = ${r.address}, RPORT = ${r.port}, WEIGHT = ${health.weight} EFF WEIGHT = ${health.effectiveWeight}`)
    out.push(forwardingLine('', r.lvsMethod), `   Alpha is ${onOff(r.alpha)}`)
    out.push(`   connection limit range = ${r.lthreshold ?? 0} -> ${r.uthreshold ?? 0}`)
    out.push(`   Inhibit on failure is ${onOff(r.inhibitOnFailure)}`)
    if (r.notifyUp) out.push(`     RS up notify script = ${r.notifyUp.command}`)
    if (r.notifyDown) out.push(`     RS down notify script = ${r.notifyDown.command}`)
    if (r.virtualhost) out.push(`    VirtualHost = '${r.virtualhost}'`)
    out.push(`   initial weight = ${r.weight}`, `   effective weight = ${health.effectiveWeight}`)
    out.push(`   alive = ${health.alive ? 1 : 0}`, `   num failed checkers = ${health.failedCheckers}`, `   RS set = ${inKernel(j) ? 1 : 0}`)
    out.push(`   kernel weight = ${kernel === undefined ? 'not in the table' : kernel}`)
  })
  return out
}

/** The whole SIGUSR1 file. */
export function dumpText(s: StatusSources, now: Date = new Date()): string {
  const status = checkersStatus(s)
  const out = [`------< keepalived-ts checker data, ${now.toISOString()} >------`]
  if (s.virtualServers.length > 0) {
    out.push('------< LVS Topology >------', ` IPVS is ${s.ipvsAvailable ? 'available' : 'not available'}`)
    s.virtualServers.forEach((live, i) => {
      const view = status.virtualServers[i]!
      out.push(...virtualServerLines(live, view, (j) => view.realServers[j]!.kernelWeight !== undefined))
    })
  }
  const views = new Map<string, CheckerStatusView>()
  s.virtualServers.forEach((live, i) => {
    live.pool.status().realServers.forEach((health, j) => {
      health.checkers.forEach((c, n) => views.set(c.id, status.virtualServers[i]!.realServers[j]!.checkers[n]!))
    })
  })
  const checkers = s.virtualServers.flatMap((live) => live.realServers.flatMap((rs) => rs.checkers.flatMap((c) => c.runners)))
    .map((r) => ({ r, view: views.get(r.id) }))
  if (checkers.length > 0) {
    out.push('------< Health checkers >------')
    for (const { r, view } of checkers) {
      out.push(` ${r.target.text}`, `   Keepalive method = ${r.kind}`, `   Virtual server = ${r.target.vsText}`)
      out.push(`   Enabled = ${view?.suspended ? 'no' : 'yes'}`, `   Is up = ${view?.up ? 'yes' : 'no'}`, `   Alpha is ${onOff(r.timing.alpha)}`)
      out.push(`   Delay loop = ${seconds(r.timing.delayLoop)}`, `   Retry count = ${r.timing.retry}`, `   Retry delay = ${seconds(r.timing.delayBeforeRetry)}`)
      if (view?.lastResult) out.push(`   Last result = ${view.lastResult} in ${view.lastLatencyMs?.toFixed(3)} ms at ${view.lastAt}`)
      else out.push('   Last result = none yet')
      if (view?.lastFailure) out.push(`   Last failure = ${view.lastFailure}`)
    }
  }
  const c = status.counters
  out.push('------< Checker statistics >------')
  for (const [kind, n] of Object.entries(c.checks)) out.push(` ${kind}: ${n.success} success, ${n.failure} failure`)
  out.push(` Check latency: ${c.latencyCount} attempts, ${c.latencySumMs.toFixed(3)} ms in all`)
  out.push(` Latency buckets (ms, cumulative): ${Object.entries(c.latencyBucketsMs).map(([b, n]) => `<=${b}:${n}`).join(' ')}`)
  out.push(` IPVS operations = ${c.ipvsOperations}, errors = ${c.ipvsErrors}`)
  return out.join('\n') + '\n'
}

/** keepalived's file for SIGUSR1 on the checker side: `$TMPDIR` (when absolute) or /tmp. */
export function dataFilePath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.TMPDIR && isAbsolute(env.TMPDIR) ? env.TMPDIR : '/tmp'
  return join(dir, 'keepalived_check.data')
}

/** Write `text` to `path`, mode 0600 (also when it existed), never following a symlink. */
export function writeDataFile(path: string, text: string): Error | undefined {
  let fd: number | undefined
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600)
    fchmodSync(fd, 0o600)
    writeSync(fd, text)
    return undefined
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err))
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}
