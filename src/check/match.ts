/**
 * How a reload pairs the old configuration's objects with the new one's, as
 * keepalived's clear_diff_services() does (reference §6.3): a virtual server
 * by group name + port, by family + fwmark, or by family + protocol +
 * address + port (vs_iseq); a real server by address + port (rs_iseq); a
 * checker by its whole configuration (unchanged: kept running as it is) or,
 * failing that, by its kind and target (changed: restarted, its health
 * carried over, as migrate_checkers() does when compare() matches). Also
 * keepalived's lines for virtual_server_group entries a reload adds or drops.
 * Pure.
 */
import { canonicalAddress } from '../config/lvs/address.js'
import type { Checker, GroupEntry, RealServer, VirtualServer, VirtualServerGroup } from '../config/lvs/model.js'
import type { TrackFile } from '../config/vrrp/model.js'
import { serviceId, servicesOf, trioText } from '../ipvs/desired.js'
import { targetOf } from './runners.js'

/** Appends `#n` to the n-th repeat of a key, so duplicates pair in order. */
function numbered(keys: readonly string[]): string[] {
  const seen = new Map<string, number>()
  return keys.map((k) => {
    const n = seen.get(k) ?? 0
    seen.set(k, n + 1)
    return `${k}#${n}`
  })
}

/** vs_iseq(): the identity of each virtual server of a configuration, in order. */
export function virtualServerKeys(virtualServers: readonly VirtualServer[], groups: readonly VirtualServerGroup[]): string[] {
  return numbered(virtualServers.map((vs) => {
    if (vs.group !== undefined) return `group ${vs.group} ${vs.port ?? 0}`
    const service = servicesOf(vs, groups)[0]
    if (vs.fwmark !== undefined) return `fwmark ${service?.key.family ?? 4} ${vs.fwmark}`
    return service ? `service ${serviceId(service.key)}` : `address ${canonicalAddress(vs.address ?? '')} ${vs.protocol ?? ''} ${vs.port ?? 0}`
  }))
}

/** rs_iseq(): the identity of each real server of a virtual server, in order. */
export function realServerKeys(realServers: readonly RealServer[]): string[] {
  return numbered(realServers.map((rs) => `${canonicalAddress(rs.address)} ${rs.port}`))
}

/**
 * Pairs new items with old ones by key: for each new index, the old index
 * with the same key, or undefined. Each old item pairs at most once.
 */
export function pairByKey(oldKeys: readonly string[], newKeys: readonly string[]): (number | undefined)[] {
  const byKey = new Map<string, number>()
  oldKeys.forEach((k, i) => { if (!byKey.has(k)) byKey.set(k, i) })
  return newKeys.map((k) => {
    const i = byKey.get(k)
    if (i !== undefined) byKey.delete(k)
    return i
  })
}

/** A value without its source positions: what a reload compares. */
function withoutPositions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutPositions)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k !== 'pos') out[k] = withoutPositions(v)
  }
  return out
}

/** What else a checker's runner is built from, besides its own block. */
export interface CheckerContext {
  readonly trackFiles: readonly TrackFile[]
  /** global_defs script_user / enable_script_security, which MISC_CHECK runs under. */
  readonly scriptSecurity: unknown
}

/**
 * Everything a checker's runner depends on: equal fingerprints mean the
 * running checker can go on untouched (its schedule and state kept).
 */
export function checkerFingerprint(checker: Checker, rs: RealServer, vs: VirtualServer, ctx: CheckerContext): string {
  const target = targetOf(rs, vs)
  let extra: unknown
  if (checker.kind === 'MISC_CHECK') extra = { delayLoop: vs.delayLoop, weight: rs.weight, scripts: ctx.scriptSecurity }
  else if (checker.kind === 'FILE_CHECK') {
    const file = ctx.trackFiles.find((f) => f.name === checker.trackFile)
    extra = { weight: rs.weight, file: file && { file: file.file, weight: file.weight, reverse: file.reverse } }
  }
  return JSON.stringify(withoutPositions({ checker, target, extra }))
}

/**
 * What a checker probes (compare() in keepalived's checkers: the kind and
 * where it connects, not its timers): a changed checker with the same
 * connection carries its health across a reload.
 */
export function checkerConnection(checker: Checker, rs: RealServer): string {
  const c = checker as unknown as Partial<Record<string, unknown>>
  const pick = {
    kind: checker.kind,
    rs: `${canonicalAddress(rs.address)} ${rs.port}`,
    connectIp: c.connectIp, connectPort: c.connectPort, bindto: c.bindto, bindPort: c.bindPort, bindIf: c.bindIf, fwmark: c.fwmark,
    path: c.path, trackFile: c.trackFile, urls: Array.isArray(c.urls) ? (c.urls as { path: string }[]).map((u) => u.path) : undefined,
    hosts: c.hosts, name: c.name, type: c.type,
  }
  return JSON.stringify(withoutPositions(pick))
}

function sameEntry(a: GroupEntry, b: GroupEntry): boolean {
  if (a.kind === 'fwmark' || b.kind === 'fwmark') return a.kind === 'fwmark' && b.kind === 'fwmark' && a.fwmark === b.fwmark
  return canonicalAddress(a.first) === canonicalAddress(b.first) && canonicalAddress(a.last) === canonicalAddress(b.last) && a.port === b.port
}

function entryText(e: GroupEntry, vs: VirtualServer, removed: boolean): string {
  if (e.kind === 'fwmark') return removed ? `${e.fwmark}` : `FWM ${e.fwmark}`
  const trio = trioText(e.first, vs.protocol, e.port)
  return canonicalAddress(e.first) === canonicalAddress(e.last) ? trio : `${trio}-${canonicalAddress(e.last)}`
}

/** clear_diff_vsge() / sync_service_vsg_entry(): keepalived's lines for the entries a reload drops, then those it adds. */
export function groupEntryLines(previous: VirtualServerGroup | undefined, next: VirtualServerGroup | undefined, vs: VirtualServer): string[] {
  const name = vs.group ?? ''
  const before = previous?.entries ?? []
  const after = next?.entries ?? []
  const lines: string[] = []
  for (const e of before) {
    if (!after.some((n) => sameEntry(e, n))) lines.push(`VS [${entryText(e, vs, true)}] in group ${name} no longer exists`)
  }
  for (const e of after) {
    if (!before.some((o) => sameEntry(o, e))) lines.push(`VS [${entryText(e, vs, false)}] added into group ${name}`)
  }
  return lines
}
