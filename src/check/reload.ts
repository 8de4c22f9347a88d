/**
 * A reload of the checker side, planned as keepalived's clear_diff_services()
 * does it (reference §6.3): the old virtual servers in order, each either
 * removed (`Removing Virtual Server …`, its real servers retired) or kept,
 * then the new ones. A kept virtual server keeps its quorum and sorry server
 * state; its kept real servers keep their aliveness, weight and every
 * unchanged checker as it runs (same runner, same schedule); a changed
 * checker is restarted alone, with its health carried when it still probes
 * the same thing; dropped real servers are retired (`service … no longer
 * exist`). The plan says which runners to stop and to start; the runtime
 * reports the changes and reconciles the kernel once, against the old and
 * new configurations' owned entries together. Pure apart from building
 * runner objects (which do nothing until probed).
 */
import { canonicalAddress } from '../config/lvs/address.js'
import type { LvsConfig, RealServer, SorryServer, VirtualServer, VirtualServerGroup } from '../config/lvs/model.js'
import { rsText, vsText } from '../ipvs/desired.js'
import type { CheckerState } from './checker-state.js'
import {
  assemble, type BuildEnv, freshRealServer, type LiveChecker, type LiveRealServer, type LiveVs, makeChecker, type PlannedChecker,
  type PlannedRealServer, type ToSchedule,
} from './live.js'
import { checkerFingerprint, groupEntryLines, pairByKey, realServerKeys, virtualServerKeys } from './match.js'
import type { CheckerInitial } from './real-server.js'
import type { PoolChange, RealServerStatus } from './virtual-server.js'

/** A pool change to report, with the virtual server it concerns; `init` marks keepalived's init-time quorum wording (mail bodies). */
export interface ReloadReport {
  readonly change: PoolChange
  readonly vs: LiveVs
  readonly init: boolean
}

export interface ReloadPlan {
  /** The new configuration's virtual servers, in its order. */
  readonly virtualServers: readonly LiveVs[]
  /** In keepalived's order. */
  readonly reports: readonly ReloadReport[]
  /** Runner ids to stop (removed and changed checkers). */
  readonly stop: readonly string[]
  /** Runners to start (new and changed checkers). */
  readonly toSchedule: readonly ToSchedule[]
  /** Old virtual servers the new configuration has no counterpart for. */
  readonly removed: readonly LiveVs[]
}

export interface ReloadInput {
  readonly previous: readonly LiveVs[]
  readonly previousGroups: readonly VirtualServerGroup[]
  readonly lvs: Pick<LvsConfig, 'virtualServers' | 'virtualServerGroups'>
  readonly env: BuildEnv
  /** The scheduler's state of a running checker. */
  readonly stateOf: (id: string) => CheckerState | undefined
}

const lines = (...text: string[]): PoolChange => ({ lines: text, events: [] })

export function planReload(input: ReloadInput): ReloadPlan {
  const { previous, lvs, env } = input
  const newKeys = virtualServerKeys(lvs.virtualServers, lvs.virtualServerGroups)
  const pairs = pairByKey(previous.map((v) => v.key), newKeys)
  const newOf = new Map<number, number>()
  pairs.forEach((i, n) => { if (i !== undefined) newOf.set(i, n) })

  const built: (LiveVs | undefined)[] = lvs.virtualServers.map(() => undefined)
  const reports: ReloadReport[] = []
  const stop: string[] = []
  const toSchedule: ToSchedule[] = []
  const removed: LiveVs[] = []

  previous.forEach((old, i) => {
    const n = newOf.get(i)
    if (n === undefined) {
      const vs = old.config
      reports.push({ change: lines(vs.group !== undefined ? `Removing Virtual Server Group [${vs.group}]` : `Removing Virtual Server ${vsText(vs)}`), vs: old, init: false })
      reports.push({ change: old.pool.retire('all'), vs: old, init: false })
      stop.push(...old.checkerIds)
      removed.push(old)
      return
    }
    const kept = keepVirtualServer(old, lvs.virtualServers[n]!, newKeys[n]!, input, stop)
    built[n] = kept.live
    reports.push(...kept.reports)
    toSchedule.push(...kept.toSchedule)
  })

  lvs.virtualServers.forEach((vs, n) => {
    if (built[n]) return
    const { live, toSchedule: more } = assemble(vs, newKeys[n]!, vs.realServers.map((rs) => freshRealServer(rs, vs, env)), env)
    built[n] = live
    reports.push({ change: live.pool.start(), vs: live, init: true })
    toSchedule.push(...more)
  })

  return { virtualServers: built as LiveVs[], reports, stop, toSchedule, removed }
}

function keepVirtualServer(
  old: LiveVs, vs: VirtualServer, key: string, input: ReloadInput, stop: string[],
): { live: LiveVs; reports: ReloadReport[]; toSchedule: ToSchedule[] } {
  const { env } = input
  const reports: ReloadReport[] = []
  if (vs.group !== undefined) {
    const before = input.previousGroups.find((g) => g.name === old.config.group)
    const after = input.lvs.virtualServerGroups.find((g) => g.name === vs.group)
    const groupLines = groupEntryLines(before, after, vs)
    if (groupLines.length > 0) reports.push({ change: lines(...groupLines), vs: old, init: false })
  }
  const status = old.pool.status()
  const rsPairs = pairByKey(realServerKeys(old.config.realServers), realServerKeys(vs.realServers))
  const keptOld = new Set(rsPairs.filter((i) => i !== undefined))
  const dropped = old.realServers.map((_, i) => i).filter((i) => !keptOld.has(i))
  if (dropped.length > 0) {
    reports.push({ change: old.pool.retire(dropped), vs: old, init: false })
    for (const i of dropped) stop.push(...old.realServers[i]!.checkers.flatMap((c) => c.runners.map((r) => r.id)))
  }

  const planned = vs.realServers.map((rs, j): PlannedRealServer => {
    const i = rsPairs[j]
    if (i === undefined) return freshRealServer(rs, vs, env)
    return keepRealServer(old.realServers[i]!, status.realServers[i]!, rs, vs, input, stop)
  })

  const sorry = sorryServerDiff(old, vs, status.sorryServerActive)
  if (sorry.lines.length > 0) reports.push({ change: lines(...sorry.lines), vs: old, init: false })
  const { live, toSchedule } = assemble(vs, key, planned, env)
  reports.push({ change: live.pool.resume({ quorumUp: status.quorumUp, sorryAlive: sorry.alive }), vs: live, init: true })
  return { live, reports, toSchedule }
}

function sameServer(a: SorryServer | RealServer, b: SorryServer | RealServer): boolean {
  return canonicalAddress(a.address) === canonicalAddress(b.address) && a.port === b.port
}

/** clear_diff_s_srv(): whether the sorry server stays in place, and keepalived's lines when it goes. */
function sorryServerDiff(old: LiveVs, vs: VirtualServer, active: boolean): { alive: boolean; lines: string[] } {
  const before = old.config.sorryServer
  const after = vs.sorryServer
  if (!before) return { alive: false, lines: [] }
  const same = after !== undefined && sameServer(before, after)
  if (same && (before.inhibit === after.inhibit || active)) return { alive: active, lines: [] }
  const out: string[] = []
  // An inhibited sorry server sits in the kernel at weight 0: it is removed too.
  if (active || before.inhibit) out.push(`Removing sorry server ${rsText(before, old.config)} from VS ${old.pool.text}`)
  if (active && !after) out.push(`Adding alive servers to the pool for VS ${old.pool.text}`)
  return { alive: false, lines: out }
}

/** migrate_checkers() for one kept real server: unchanged checkers kept, changed ones restarted, health carried. */
function keepRealServer(
  old: LiveRealServer, health: RealServerStatus, rs: RealServer, vs: VirtualServer, input: ReloadInput, stop: string[],
): PlannedRealServer {
  const { env } = input
  const byId = new Map(health.checkers.map((c) => [c.id, c]))
  const healthOf = (id: string | undefined): CheckerInitial | undefined => {
    const h = id === undefined ? undefined : byId.get(id)
    return h && { up: h.up, hasRun: h.hasRun }
  }
  const unused = [...old.checkers]
  const take = (match: (c: LiveChecker) => boolean): LiveChecker | undefined => {
    const k = unused.findIndex(match)
    return k < 0 ? undefined : unused.splice(k, 1)[0]
  }
  // Identical checkers first, so a changed one never takes an unchanged one's place.
  const identical = rs.checkers.map((c) => {
    const fingerprint = checkerFingerprint(c, rs, vs, env)
    return take((o) => o.fingerprint === fingerprint)
  })
  const entries = rs.checkers.map((c, k) => {
    const kept = identical[k]
    if (kept) return { live: kept, from: kept, keep: true }
    const live = makeChecker(c, rs, vs, env)
    return { live, from: take((o) => o.connection === live.connection), keep: false }
  })
  for (const c of unused) stop.push(...c.runners.map((r) => r.id))

  const carriedHealth = entries.map((e) => e.live.runners.map((_, n) => (e.from ? healthOf(e.from.runners[n]?.id) : undefined)))
  const known = carriedHealth.flat().filter((h) => h !== undefined)
  const failed = known.filter((h) => h.hasRun && !h.up).length
  // A new alpha checker starts down when its real server is not plainly up (migrate_checkers).
  const freshDown = failed > 0 || (!health.alive && !known.some((h) => h.hasRun))

  const checkers = entries.map((e, k): PlannedChecker => {
    const initial = e.live.runners.map((r, n) => carriedHealth[k]![n] ?? { up: !(r.timing.alpha && freshDown), hasRun: false })
    if (e.keep) return { live: e.live, initial, schedule: 'keep' }
    const schedule = e.live.runners.map((r, n): CheckerState => {
      const h = initial[n]!
      const carried = carriedHealth[k]![n]
      if (!carried) return { up: h.up, hasRun: false, retryIt: r.timing.retry }
      const before = input.stateOf(e.from!.runners[n]!.id)
      // One more failure is enough when the old run of failures already used the new retry count.
      return { up: h.up, hasRun: h.hasRun, retryIt: h.up ? Math.min(before?.retryIt ?? r.timing.retry, r.timing.retry) : 0 }
    })
    return { live: e.live, initial, schedule }
  })
  return {
    config: rs,
    checkers,
    carried: { alive: health.alive, effectiveWeight: health.effectiveWeight, weight: old.config.weight },
  }
}
