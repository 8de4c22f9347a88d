/**
 * The one path to the kernel's IPVS table: compare what is there with what we
 * want and list the generic netlink operations that close the gap. Start-up,
 * reload, checker results and shutdown (`reconcile(current, [], owned)`) all
 * go through it, so each touches only what changed and never what another
 * program put in the table (keepalived only ever touches what it configured).
 */
import { IPVS_SVC_FLAGS, type IpvsDest, type IpvsService, type IpvsServiceKey, type IpvsTable } from '../net/ipvs-types.js'
import { destId, type Owned, serviceId } from './desired.js'

/** One IPVS command (reference §6.2), with what the client sends and, for edits, what it replaces (for log lines). */
export type IpvsOperation =
  | { readonly kind: 'add-service'; readonly service: IpvsService }
  | { readonly kind: 'edit-service'; readonly service: IpvsService; readonly previous: IpvsService }
  /** Removes the service's destinations with it. */
  | { readonly kind: 'delete-service'; readonly service: IpvsService }
  | { readonly kind: 'add-dest'; readonly service: IpvsServiceKey; readonly dest: IpvsDest }
  | { readonly kind: 'edit-dest'; readonly service: IpvsServiceKey; readonly dest: IpvsDest; readonly previous: IpvsDest }
  | { readonly kind: 'delete-dest'; readonly service: IpvsServiceKey; readonly dest: IpvsDest }

export type IpvsOperationKind = IpvsOperation['kind']

/** Whether SET_SERVICE is needed: HASHED is the kernel's own bookkeeping, an empty engine name is none. */
export function sameService(a: IpvsService, b: IpvsService): boolean {
  const flags = (f: number): number => (f & ~IPVS_SVC_FLAGS.HASHED) >>> 0
  return a.scheduler === b.scheduler && flags(a.flags) === flags(b.flags) && a.timeout === b.timeout &&
    a.netmask >>> 0 === b.netmask >>> 0 && (a.persistenceEngine || undefined) === (b.persistenceEngine || undefined)
}

/**
 * The tunnel attributes that mean something: none unless TUN; a port only for
 * gue; a checksum only for gue and gre (ipip has none). The kernel reports all
 * three for every destination, so the rest is ignored.
 */
function tunnelOf(d: IpvsDest): string {
  if (d.forwarding !== 'TUN') return ''
  const type = d.tunnelType ?? 'ipip'
  const port = type === 'gue' ? d.tunnelPort ?? 0 : 0
  const checksum = type === 'ipip' ? 'nocsum' : d.tunnelChecksum ?? 'nocsum'
  return `${type}/${port}/${checksum}`
}

/** Whether SET_DEST is needed. */
export function sameDest(a: IpvsDest, b: IpvsDest): boolean {
  return a.forwarding === b.forwarding && a.weight === b.weight && a.upperThreshold === b.upperThreshold &&
    a.lowerThreshold === b.lowerThreshold && tunnelOf(a) === tunnelOf(b)
}

/** A dump's destination without its counters: what an operation carries. */
function bareDest(d: IpvsDest): IpvsDest {
  return {
    family: d.family, address: d.address, port: d.port, forwarding: d.forwarding, weight: d.weight,
    upperThreshold: d.upperThreshold, lowerThreshold: d.lowerThreshold,
    tunnelType: d.tunnelType, tunnelPort: d.tunnelPort, tunnelChecksum: d.tunnelChecksum,
  }
}

interface Entry {
  readonly service: IpvsService
  readonly dests: Map<string, IpvsDest>
}

/** A table by service identity, in its order; a repeated service or destination counts once (the first). */
function index(table: IpvsTable): Map<string, Entry> {
  const out = new Map<string, Entry>()
  for (const e of table) {
    const id = serviceId(e.service.key)
    let entry = out.get(id)
    if (!entry) out.set(id, (entry = { service: e.service, dests: new Map() }))
    for (const d of e.dests) {
      const did = destId(d)
      if (!entry.dests.has(did)) entry.dests.set(did, d)
    }
  }
  return out
}

const NONE: ReadonlySet<string> = new Set()

/** The operations for one service present on both sides. */
function reconcileService(id: string, have: Entry, want: Entry, owned: Owned, ops: IpvsOperation[]): void {
  const key = want.service.key
  if (!sameService(have.service, want.service)) ops.push({ kind: 'edit-service', service: want.service, previous: have.service })
  // Make before break: new destinations first, so a pool swap (quorum lost → sorry server) never leaves the service empty.
  for (const [did, dest] of want.dests) {
    const old = have.dests.get(did)
    if (!old) ops.push({ kind: 'add-dest', service: key, dest })
    else if (!sameDest(old, dest)) ops.push({ kind: 'edit-dest', service: key, dest, previous: bareDest(old) })
  }
  const ours = owned.dests.get(id) ?? NONE
  for (const [did, dest] of have.dests) {
    if (!want.dests.has(did) && ours.has(did)) ops.push({ kind: 'delete-dest', service: have.service.key, dest: bareDest(dest) })
  }
}

/**
 * The operations that turn `current` (a kernel dump) into `desired` on the
 * part we own, in a stable order: the desired table's services in its order
 * (a new service before its destinations; within a service, additions and
 * edits before deletions), then deletions of owned services no longer wanted.
 * A desired service or destination counts as owned even if `owned` omits it.
 * A deleted service takes its destinations with it: no separate deletions.
 */
export function reconcile(current: IpvsTable, desired: IpvsTable, owned: Owned): IpvsOperation[] {
  const have = index(current)
  const want = index(desired)
  const ops: IpvsOperation[] = []
  for (const [id, w] of want) {
    const h = have.get(id)
    if (h) {
      reconcileService(id, h, w, owned, ops)
      continue
    }
    ops.push({ kind: 'add-service', service: w.service })
    for (const dest of w.dests.values()) ops.push({ kind: 'add-dest', service: w.service.key, dest })
  }
  for (const [id, h] of have) {
    if (!want.has(id) && owned.services.has(id)) ops.push({ kind: 'delete-service', service: h.service })
  }
  return ops
}
