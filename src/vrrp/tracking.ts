/**
 * Effective priority and FAULT causes of an instance from its trackers
 * (reference §5.11, §5.14; keepalived vrrp_track.c). Pure: the runtime keeps
 * the tracker statuses (links, script results, file values, process quorums),
 * calls {@link evaluateTracking} when one changes, and feeds the difference
 * ({@link trackingEvents}) to the instance's `step`.
 */
import type { SyncGroup, TrackedRef, Trackers, VrrpInstance } from '../config/vrrp/model.js'
import type { InstanceEvent } from './instance-types.js'
import type { ScriptStatus } from './script-tracker.js'
import { OWNER_PRIORITY } from './timers.js'

export type TrackerKind = 'interface' | 'script' | 'file' | 'process'

/** One thing an instance tracks; weight 0 means "down is FAULT". */
export interface TrackedItem {
  readonly kind: TrackerKind
  readonly name: string
  readonly weight: number
  readonly reverse: boolean
}

/** Current observations. Missing entries: interface up, script `init`, file 0, process quorum held. */
export interface TrackerStatus {
  readonly interfaces?: ReadonlyMap<string, boolean>
  readonly scripts?: ReadonlyMap<string, ScriptStatus>
  readonly files?: ReadonlyMap<string, number>
  readonly processes?: ReadonlyMap<string, boolean>
}

export interface FaultCause {
  /** Stable key, e.g. `interface eth0`, `script chk_haproxy`. */
  readonly cause: string
  /** The line keepalived logs when the instance starts in FAULT for it. */
  readonly reason: string
}

export interface TrackingResult {
  /** Effective priority: base + weights clamped to 1..254; owners keep 255. */
  readonly priority: number
  readonly faults: readonly FaultCause[]
  /** Weight-0 scripts without a first result (keepalived num_script_init). */
  readonly initPending: readonly string[]
}

/** keepalived's tracked-file limits: a status ≤ −254 is FAULT, a bonus is capped at 253. */
const FILE_FAULT = -254
const FILE_MAX = 253

function refs(kind: TrackerKind, list: readonly TrackedRef[]): TrackedItem[] {
  return list.map((r) => ({ kind, name: r.name, weight: r.weight, reverse: r.reverse }))
}

function fromTrackers(t: Trackers): TrackedItem[] {
  return [
    ...t.trackInterfaces.map((i) => ({ kind: 'interface' as const, name: i.name, weight: i.weight, reverse: i.reverse })),
    ...refs('script', t.trackScripts),
    ...refs('file', t.trackFiles),
    ...refs('process', t.trackProcesses),
  ]
}

/**
 * Everything `inst` tracks: its own interface unless `dont_track_primary`, the
 * interfaces its VIPs live on unless `no_track`, its trackers, and those of its
 * sync group (which apply to every member).
 */
export function instanceTrackers(inst: VrrpInstance, group?: SyncGroup): TrackedItem[] {
  const items: TrackedItem[] = []
  const seen = new Set<string>()
  const addInterface = (name: string | undefined) => {
    if (name === undefined || seen.has(name)) return
    seen.add(name)
    items.push({ kind: 'interface', name, weight: 0, reverse: false })
  }
  if (!inst.dontTrackPrimary) addInterface(inst.interface)
  for (const vip of [...inst.virtualIpaddresses, ...inst.virtualIpaddressesExcluded]) {
    if (!vip.noTrack && vip.dev !== undefined && vip.dev !== inst.interface) addInterface(vip.dev)
  }
  items.push(...fromTrackers(inst))
  if (group) items.push(...fromTrackers(group))
  return items
}

/** The contribution of a weighted up/down tracker (vrrp_track.c: +w while up if w > 0, +w while down if w < 0, negated by reverse). */
function weighted(weight: number, reverse: boolean, up: boolean): number {
  const multiplier = reverse ? -1 : 1
  if (up) return weight > 0 ? weight * multiplier : 0
  return weight < 0 ? weight * multiplier : 0
}

interface Contribution {
  readonly delta: number
  readonly fault?: FaultCause
  readonly init?: string
}

function contribution(name: string, item: TrackedItem, status: TrackerStatus): Contribution {
  const normal = !item.reverse
  switch (item.kind) {
    case 'interface': {
      const up = status.interfaces?.get(item.name) ?? true
      if (item.weight) return { delta: weighted(item.weight, item.reverse, up) }
      return up === normal ? { delta: 0 } : { delta: 0, fault: { cause: `interface ${item.name}`, reason: `(${name}): entering FAULT state (interface ${item.name} down)` } }
    }
    case 'script': {
      const s = status.scripts?.get(item.name) ?? 'init'
      if (!item.weight) {
        if (s === 'init') return { delta: 0, init: `script ${item.name}` }
        return (s === 'ok') === normal ? { delta: 0 } : { delta: 0, fault: { cause: `script ${item.name}`, reason: `(${name}): entering FAULT state due to script ${item.name}` } }
      }
      // A script with no result yet changes nothing.
      return { delta: s === 'init' ? 0 : weighted(item.weight, item.reverse, s === 'ok') }
    }
    case 'file': {
      const value = status.files?.get(item.name) ?? 0
      const multiplier = item.reverse ? -1 : 1
      const result = !item.weight ? ((value !== 0) === normal ? FILE_FAULT : 0) : value * item.weight * multiplier
      if (result <= FILE_FAULT) {
        return { delta: 0, fault: { cause: `file ${item.name}`, reason: `(${name}): entering FAULT state (tracked file ${item.name} has status ${result})` } }
      }
      return { delta: Math.min(result, FILE_MAX) }
    }
    case 'process': {
      const quorum = status.processes?.get(item.name) ?? true
      if (item.weight) return { delta: weighted(item.weight, item.reverse, quorum) }
      return quorum === normal ? { delta: 0 } : { delta: 0, fault: { cause: `process ${item.name}`, reason: `(${name}) entering FAULT state (tracked process ${item.name} quorum not achieved)` } }
    }
  }
}

/** Effective priority, FAULT causes and pending weight-0 scripts of instance `name`. */
export function evaluateTracking(name: string, basePriority: number, items: readonly TrackedItem[], status: TrackerStatus): TrackingResult {
  let total = basePriority
  const faults: FaultCause[] = []
  const initPending: string[] = []
  for (const item of items) {
    const c = contribution(name, item, status)
    total += c.delta
    if (c.fault && !faults.some((f) => f.cause === c.fault!.cause)) faults.push(c.fault)
    if (c.init && !initPending.includes(c.init)) initPending.push(c.init)
  }
  // Owners ignore weights; everyone else is clamped to 1..254 (vrrp_set_effective_priority).
  const priority = basePriority === OWNER_PRIORITY ? OWNER_PRIORITY : Math.min(OWNER_PRIORITY - 1, Math.max(1, total))
  return { priority, faults, initPending }
}

/**
 * The instance events that move an instance from `prev` to `next`: new
 * faults first (so a first failure goes straight to FAULT), then trackers
 * leaving init, then cleared faults, then the priority.
 */
export function trackingEvents(prev: TrackingResult, next: TrackingResult, now: number): InstanceEvent[] {
  const events: InstanceEvent[] = []
  const had = new Set(prev.faults.map((f) => f.cause))
  const has = new Set(next.faults.map((f) => f.cause))
  for (const f of next.faults) if (!had.has(f.cause)) events.push({ type: 'fault', now, cause: f.cause, active: true })
  for (const c of prev.initPending) if (!next.initPending.includes(c)) events.push({ type: 'trackerReady', now, cause: c })
  for (const f of prev.faults) if (!has.has(f.cause)) events.push({ type: 'fault', now, cause: f.cause, active: false })
  if (prev.priority !== next.priority) events.push({ type: 'priority', now, priority: next.priority })
  return events
}
