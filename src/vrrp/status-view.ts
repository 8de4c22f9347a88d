/**
 * The VRRP side of the status contract (src/status/types.ts): each running
 * instance's state, priorities, current master, last transition and why,
 * VIPs and counters, as plain JSON-safe data. Pure.
 */
import type { VrrpInstanceStatus } from '../status/types.js'
import type { LiveInstance } from './instance-io.js'
import type { InstanceState } from './instance-types.js'

export function instanceStatus(live: LiveInstance, state: InstanceState): VrrpInstanceStatus {
  const c = live.config
  const h = live.history
  const s = h.stats
  return {
    name: c.name,
    interface: c.interface,
    vrid: c.virtualRouterId,
    version: c.version,
    family: c.family,
    state: state.state,
    priority: state.effectivePriority,
    basePriority: state.basePriority,
    master: state.state === 'MASTER' ? live.source : state.state === 'BACKUP' ? state.masterAddress : undefined,
    since: h.since === undefined ? undefined : new Date(h.since).toISOString(),
    reason: h.reason,
    vips: [...c.virtualIpaddresses, ...c.virtualIpaddressesExcluded].map((v) => `${v.address}/${v.prefix}`),
    counters: {
      advertsSent: s.advertsSent,
      advertsReceived: s.advertsReceived,
      becameMaster: s.becameMaster,
      releasedMaster: s.releasedMaster,
      transitions: h.transitions,
      rejected: { ...h.rejected },
      priorityZeroSent: s.priorityZeroSent,
      priorityZeroReceived: s.priorityZeroReceived,
    },
  }
}
