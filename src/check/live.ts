/**
 * The checker side's run-time objects for one virtual server: its pool, its
 * real servers with their checkers (each configured checker made runnable,
 * with the fingerprint a reload compares), and what it owns in the IPVS
 * table. Built the same way at start-up, at a respawn (checkers seeded from
 * the kernel table) and at a reload (kept checkers reused, kept real servers
 * carrying their state); the runtime then schedules what is new.
 */
import type { Checker, RealServer, VirtualServer, VirtualServerGroup } from '../config/lvs/model.js'
import { type Owned, ownedOf, rsText, vsText } from '../ipvs/desired.js'
import type { CheckerState } from './checker-state.js'
import { type CheckerContext, checkerConnection, checkerFingerprint } from './match.js'
import type { CheckerRunner } from './probe.js'
import type { CheckerInitial, CheckerRef, RealServerCarried } from './real-server.js'
import { type RunnerEnv, runnersFor } from './runners.js'
import { VirtualServerPool } from './virtual-server.js'

/** One configured checker of a real server, made runnable (SMTP_CHECK hosts: several runners). */
export interface LiveChecker {
  readonly kind: Checker['kind']
  readonly alpha: boolean
  /** Equal fingerprints: the same checker, kept running by a reload. */
  readonly fingerprint: string
  /** Equal connections: a changed checker whose health a reload carries over. */
  readonly connection: string
  /** Empty when the checker cannot run (runners.ts says why). */
  readonly runners: readonly CheckerRunner[]
}

export interface LiveRealServer {
  readonly config: RealServer
  readonly text: string
  readonly checkers: readonly LiveChecker[]
}

export interface LiveVs {
  readonly config: VirtualServer
  /** vs_iseq() identity (match.ts). */
  readonly key: string
  readonly pool: VirtualServerPool
  /** What this virtual server may touch in the kernel. */
  readonly owned: Owned
  readonly realServers: readonly LiveRealServer[]
  /** Every runner id of this virtual server (ha_suspend suspends them together). */
  readonly checkerIds: readonly string[]
}

/** What building needs from the runtime. */
export interface BuildEnv extends CheckerContext {
  readonly runnerEnv: RunnerEnv
  readonly groups: readonly VirtualServerGroup[]
  /** A daemon-unique id for a new checker. */
  readonly nextId: () => string
}

/** A new runnable checker (fresh runner ids). */
export function makeChecker(checker: Checker, rs: RealServer, vs: VirtualServer, env: BuildEnv): LiveChecker {
  const runners = runnersFor(checker, rs, vs, env.nextId(), env.runnerEnv)
  return {
    kind: checker.kind,
    alpha: runners[0]?.timing.alpha ?? false,
    fingerprint: checkerFingerprint(checker, rs, vs, env),
    connection: checkerConnection(checker, rs),
    runners,
  }
}

/** How each checker of a planned real server starts. */
export interface PlannedChecker {
  readonly live: LiveChecker
  /** The pool's view of each runner (same order); undefined: keepalived's start-up rule. */
  readonly initial: readonly (CheckerInitial | undefined)[]
  /** `keep`: already scheduled (a reload's unchanged checker); else each runner's starting state (undefined: the start-up one). */
  readonly schedule: 'keep' | readonly (CheckerState | undefined)[]
}

export interface PlannedRealServer {
  readonly config: RealServer
  readonly checkers: readonly PlannedChecker[]
  readonly carried?: RealServerCarried
  readonly effectiveWeight?: number
}

/** A runner the scheduler must add, with its starting state. */
export interface ToSchedule {
  readonly vs: LiveVs
  readonly runner: CheckerRunner
  readonly state: CheckerState | undefined
}

/** A real server with fresh checkers and keepalived's start-up rules. */
export function freshRealServer(rs: RealServer, vs: VirtualServer, env: BuildEnv): PlannedRealServer {
  return {
    config: rs,
    checkers: rs.checkers.map((c) => {
      const live = makeChecker(c, rs, vs, env)
      return { live, initial: live.runners.map(() => undefined), schedule: live.runners.map(() => undefined) }
    }),
  }
}

/** The live virtual server for planned real servers (pool not started yet), and the runners to schedule. */
export function assemble(vs: VirtualServer, key: string, planned: readonly PlannedRealServer[], env: BuildEnv): { live: LiveVs; toSchedule: ToSchedule[] } {
  const text = vsText(vs)
  const realServers: LiveRealServer[] = planned.map((p) => ({ config: p.config, text: rsText(p.config, vs), checkers: p.checkers.map((c) => c.live) }))
  const pool = new VirtualServerPool({
    config: vs,
    text,
    realServers: planned.map((p, j) => ({
      config: p.config,
      text: realServers[j]!.text,
      checkers: p.checkers.flatMap((c) => c.live.runners.map((r, n): CheckerRef => {
        const initial = c.initial[n]
        return { id: r.id, alpha: r.timing.alpha, ...(initial ? { initial } : {}) }
      })),
      ...(p.carried ? { carried: p.carried } : {}),
      ...(p.effectiveWeight !== undefined ? { effectiveWeight: p.effectiveWeight } : {}),
    })),
    ...(vs.sorryServer ? { sorryServerText: rsText(vs.sorryServer, vs) } : {}),
  })
  const live: LiveVs = {
    config: vs,
    key,
    pool,
    owned: ownedOf({ virtualServers: [vs], virtualServerGroups: env.groups }),
    realServers,
    checkerIds: realServers.flatMap((rs) => rs.checkers.flatMap((c) => c.runners.map((r) => r.id))),
  }
  const toSchedule: ToSchedule[] = []
  for (const p of planned) {
    for (const c of p.checkers) {
      if (c.schedule === 'keep') continue
      c.live.runners.forEach((runner, n) => toSchedule.push({ vs: live, runner, state: (c.schedule as readonly (CheckerState | undefined)[])[n] }))
    }
  }
  return { live, toSchedule }
}

/** Each runner of a live virtual server with the index of its real server. */
export function runnersOf(vs: LiveVs): { runner: CheckerRunner; rsIndex: number }[] {
  return vs.realServers.flatMap((rs, rsIndex) => rs.checkers.flatMap((c) => c.runners.map((runner) => ({ runner, rsIndex }))))
}
