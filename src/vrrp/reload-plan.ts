/**
 * What a SIGHUP changes on the VRRP side, as data (reference §5.17; keepalived
 * vrrp.c vrrp_exist, clear_diff_vrrp and vrrp_ipaddress.c get_diff_address).
 * Old and new instances are matched by what identifies a virtual router on
 * the wire — VRID, family, interface, unicast source or multicast group,
 * VMAC — never by name; a matched MASTER keeps its state and only the
 * difference of its addresses, routes and rules is applied. Pure.
 */
import type { IpRoute, IpRule, VirtualAddress, VrrpInstance } from '../config/vrrp/model.js'
import { announcedAddresses, type MasterEntries } from './kernel-actions.js'

/** What, besides its configuration, identifies a running instance. */
export interface InstanceEndpoint {
  readonly config: VrrpInstance
  /** The source address of its adverts (configured or the interface's). */
  readonly source: string | undefined
  /** The multicast group it uses (global vrrp_mcast_group4/6 or the default). */
  readonly group: string
}

/**
 * The identity of a virtual router here (vrrp_exist): same VRID, family and
 * interface; both unicast with the same source, or both multicast on the same
 * group; the same VMAC (name and address), since a VMAC carries the VIPs.
 */
export function instanceIdentity(e: InstanceEndpoint): string {
  const c = e.config
  const cast = c.unicastPeers.length > 0 ? `unicast ${e.source ?? '?'}` : `multicast ${e.group}`
  const vmac = c.useVmac ? `vmac ${c.useVmac.interface ?? ''} ${c.useVmac.mac ?? ''} ${c.vmacXmitBase ? 'xmit-base' : ''}` : 'no-vmac'
  return [c.virtualRouterId, c.family, c.interface ?? '', cast, vmac].join('|')
}

export interface InstanceMatch<O, N> {
  /** Old instance → the new one it continues as. */
  readonly kept: readonly (readonly [O, N])[]
  /** Old instances with no counterpart: priority 0 if MASTER, VIPs removed. */
  readonly removed: readonly O[]
  /** New instances with no counterpart: they start as at start-up. */
  readonly added: readonly N[]
}

/** Pair old and new by identity, first come first served, in configuration order. */
export function matchInstances<O, N>(old: readonly O[], next: readonly N[], identity: (x: O | N) => string): InstanceMatch<O, N> {
  const free = new Map<string, N[]>()
  for (const n of next) {
    const id = identity(n)
    free.set(id, [...(free.get(id) ?? []), n])
  }
  const kept: (readonly [O, N])[] = []
  const removed: O[] = []
  for (const o of old) {
    const candidates = free.get(identity(o))
    const n = candidates?.shift()
    if (n === undefined) removed.push(o)
    else kept.push([o, n])
  }
  const used = new Set(kept.map(([, n]) => n))
  return { kept, removed, added: next.filter((n) => !used.has(n)) }
}

/** keepalived's IP_ISEQ: address, prefix, device, scope and label. */
function addressKey(a: { vip: VirtualAddress; dev: string | undefined }): string {
  return `${a.vip.address}/${a.vip.prefix} dev ${a.dev ?? '?'} scope ${a.vip.scope ?? ''} label ${a.vip.label ?? ''}`
}

function routeKey(r: IpRoute): string {
  return JSON.stringify([r.type, r.destination, r.src, r.via, r.dev, r.table, r.options])
}

function ruleKey(r: IpRule): string {
  return JSON.stringify([r.family, r.from, r.to, r.table, r.preference, r.iif, r.oif, r.options])
}

function minus<T>(a: readonly T[], b: readonly T[], key: (x: T) => string): T[] {
  const keys = new Set(b.map(key))
  return a.filter((x) => !keys.has(key(x)))
}

export interface AddressDiff {
  /** In the old configuration only: to delete (if the old instance had them set). */
  readonly removed: MasterEntries
  /** In the new configuration only: to add and announce (if the instance stays MASTER). */
  readonly added: MasterEntries
}

/**
 * The difference of what the two instances own as MASTER. VIPs and eVIPs are
 * one set here: an address moved from one list to the other stays put.
 */
export function addressDiff(old: VrrpInstance, next: VrrpInstance): AddressDiff {
  const oldAddresses = announcedAddresses(old)
  const newAddresses = announcedAddresses(next)
  return {
    removed: {
      addresses: minus(oldAddresses, newAddresses, addressKey),
      routes: minus(old.virtualRoutes, next.virtualRoutes, routeKey),
      rules: minus(old.virtualRules, next.virtualRules, ruleKey),
    },
    added: {
      addresses: minus(newAddresses, oldAddresses, addressKey),
      routes: minus(next.virtualRoutes, old.virtualRoutes, routeKey),
      rules: minus(next.virtualRules, old.virtualRules, ruleKey),
    },
  }
}

export function isEmpty(e: MasterEntries): boolean {
  return e.addresses.length === 0 && e.routes.length === 0 && e.rules.length === 0
}

/**
 * keepalived's lines for the entries a reload deletes, in its order: rules,
 * routes, then addresses (`(VI_1) ip address 10.0.0.3/24 dev eth0, no longer exist`).
 */
export function removalLines(name: string, removed: MasterEntries): string[] {
  // keepalived prints a host address without its /32 or /128.
  const host = (a: string): string => a.replace(/\/(32|128)$/, '')
  const rule = (r: IpRule): string => [r.from !== undefined ? `from ${host(r.from)}` : '', r.to !== undefined ? `to ${host(r.to)}` : ''].filter(Boolean).join(' ') || 'all'
  return [
    ...removed.rules.map((r) => `ip rule ${rule(r)} removed`),
    ...removed.routes.map((r) => `Removing route ${r.destination}`),
    ...removed.addresses.map(({ vip, dev }) => `(${name}) ip address ${vip.address}/${vip.prefix} dev ${dev ?? '?'}, no longer exist`),
  ]
}

/**
 * The `-D` lines keepalived logs when a reloaded MASTER re-installs its lists
 * (restore_vrrp_state): one per non-empty list, whether or not anything is new.
 */
export function settingLines(next: VrrpInstance): string[] {
  return [
    ...(next.virtualIpaddresses.length ? [`(${next.name}) setting VIPs.`] : []),
    ...(next.virtualIpaddressesExcluded.length ? [`(${next.name}) setting E-VIPs.`] : []),
    ...(next.virtualRoutes.length ? [`(${next.name}) setting Virtual Routes`] : []),
    ...(next.virtualRules.length ? [`(${next.name}) setting Virtual Rules`] : []),
  ]
}
