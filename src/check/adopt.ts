/**
 * A respawned checker process takes the kernel's IPVS table as the previous
 * process left it (reference §3.4: no rebuild of a correct table): a real
 * server whose destination is there (at its weight) starts alive, even with
 * `alpha`; one that is missing, or an inhibit_on_failure one held at weight
 * 0, starts down, as if its checkers had failed; each stays so until its own
 * checkers say otherwise. So the first reconcile of a correct table sends
 * nothing. A virtual server whose service is not in the kernel starts as at
 * start-up. Pure.
 */
import type { RealServer, VirtualServer, VirtualServerGroup } from '../config/lvs/model.js'
import { destOf, servicesOf } from '../ipvs/desired.js'
import type { IpvsDest, IpvsServiceKey } from '../net/ipvs-types.js'
import type { CheckerState } from './checker-state.js'
import { type BuildEnv, freshRealServer, makeChecker, type PlannedRealServer } from './live.js'
import { realWeight } from './real-server.js'

/** What the kernel table (our mirror of it) holds. */
export interface KernelView {
  hasService(service: IpvsServiceKey): boolean
  dest(service: IpvsServiceKey, dest: IpvsDest): IpvsDest | undefined
}

/** Checkers that set the weight themselves: the kernel's weight is theirs. */
function dynamicWeight(rs: RealServer): boolean {
  return rs.checkers.some((c) => c.kind === 'FILE_CHECK' || (c.kind === 'MISC_CHECK' && c.dynamic))
}

/** Each real server of `vs` seeded from the kernel table. */
export function adoptRealServers(vs: VirtualServer, groups: readonly VirtualServerGroup[], kernel: KernelView, env: BuildEnv): PlannedRealServer[] {
  const key = servicesOf(vs, groups)[0]?.key
  if (!key || !kernel.hasService(key)) return vs.realServers.map((rs) => freshRealServer(rs, vs, env))
  return vs.realServers.map((rs) => adoptRealServer(rs, vs, kernel.dest(key, destOf(rs, 0, key)), env))
}

function adoptRealServer(rs: RealServer, vs: VirtualServer, dest: IpvsDest | undefined, env: BuildEnv): PlannedRealServer {
  if (rs.checkers.length === 0) return freshRealServer(rs, vs, env)
  let up: boolean
  if (!rs.inhibitOnFailure) up = dest !== undefined
  else if (dest === undefined) return freshRealServer(rs, vs, env)
  else up = dest.weight > 0 || realWeight(rs.weight) === 0
  const checkers = rs.checkers.map((c) => {
    const live = makeChecker(c, rs, vs, env)
    return {
      live,
      initial: live.runners.map(() => ({ up, hasRun: !up })),
      schedule: live.runners.map((r): CheckerState => ({ up, hasRun: !up, retryIt: up ? r.timing.retry : 0 })),
    }
  })
  const adoptWeight = up && dest !== undefined && dest.weight > 0 && dynamicWeight(rs)
  return { config: rs, checkers, ...(adoptWeight ? { effectiveWeight: dest.weight } : {}) }
}
