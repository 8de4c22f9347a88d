/**
 * The IPVS table keepalived-ts wants, as data (reference §6.2–§6.3): the
 * services a virtual_server stands for, the destination a real or sorry
 * server becomes, the whole desired table for the pools the checker side has
 * chosen, and the part of the kernel table we manage. Each rule follows
 * keepalived 2.2.7's ipvswrapper.c / check_parser.c, including its quirks,
 * so `ipvsadm -Ln` reads the same under either daemon. Pure: no kernel, no time.
 */
import { canonicalAddress, formatAddress, parseAddress } from '../config/lvs/address.js'
import type {
  GroupAddressEntry, LvsConfig, Protocol, RealServer, SorryServer, VirtualServer, VirtualServerGroup,
} from '../config/lvs/model.js'
import {
  destKeyId, IPVS_SVC_FLAGS, type IpvsDest, type IpvsDestKey, type IpvsFamily, type IpvsService,
  type IpvsServiceEntry, type IpvsServiceKey, type IpvsTable, serviceKeyId,
} from '../net/ipvs-types.js'

/** keepalived's IPVS_WEIGHT_LIMIT (INT32_MAX): real_weight() clamps to 0..this. */
export const IPVS_WEIGHT_MAX = 2147483647

/** What the kernel is told when there is no persistence granularity. */
function defaultNetmask(family: IpvsFamily): number {
  return family === 6 ? 128 : 0xffffffff
}

function familyOf(address: string): IpvsFamily {
  return address.includes(':') ? 6 : 4
}

/** A service key with its address in canonical text, so config and kernel spellings compare equal. */
export function canonicalServiceKey(key: IpvsServiceKey): IpvsServiceKey {
  return key.kind === 'fwmark' ? key : { ...key, address: canonicalAddress(key.address) }
}

/** The identity of a service, whatever the spelling of its address. */
export function serviceId(key: IpvsServiceKey): string {
  return serviceKeyId(canonicalServiceKey(key))
}

/** The identity of a destination within its service, whatever the spelling of its address. */
export function destId(key: IpvsDestKey): string {
  return destKeyId({ family: key.family, address: canonicalAddress(key.address), port: key.port })
}

// ---------------------------------------------------------------------------
// Services

/** One C `strtoul(s, NULL, 0)` part of an inet_aton() address: decimal, 0x hex or 0 octal. */
function atonPart(text: string): number | undefined {
  if (/^0x[0-9a-f]+$/i.test(text)) return parseInt(text.slice(2), 16)
  if (/^0[0-7]*$/.test(text)) return parseInt(text, 8)
  if (/^[1-9][0-9]*$/.test(text)) return Number(text)
  return undefined
}

/**
 * keepalived reads an IPv4 granularity with getaddrinfo(AI_NUMERICHOST), i.e.
 * inet_aton(): `255.255.255.0`, but also `24`, which is 0.0.0.24 and not /24
 * (the config warns about that). The result is the mask as a number, 0xffffff00.
 */
export function ipv4Netmask(text: string): number | undefined {
  const parts = text.split('.').map(atonPart)
  if (parts.length > 4 || parts.some((p) => p === undefined)) return undefined
  const nums = parts as number[]
  const last = nums.pop()!
  if (nums.some((n) => n > 255)) return undefined
  const restBits = 8 * (4 - nums.length)
  if (last >= 2 ** restBits) return undefined
  return nums.reduce((acc, n) => acc * 256 + n, 0) * 2 ** restBits + last
}

function granularityNetmask(text: string | undefined, family: IpvsFamily): number {
  if (text === undefined) return defaultNetmask(family)
  if (family === 4) return ipv4Netmask(text) ?? defaultNetmask(4)
  const prefix = /^\d+$/.test(text) ? Number(text) : NaN
  return prefix >= 1 && prefix <= 128 ? prefix : defaultNetmask(6)
}

/** vs->flags: lbflags_handler() ORs one bit per keyword; sh-/mh- ones reuse SCHED1/SCHED2. */
function schedulerFlags(vs: VirtualServer): number {
  let flags = 0
  if (vs.ops) flags |= IPVS_SVC_FLAGS.ONEPACKET
  if (vs.flag1 || vs.shFallback || vs.mhFallback) flags |= IPVS_SVC_FLAGS.SCHED1
  if (vs.flag2 || vs.shPort || vs.mhPort) flags |= IPVS_SVC_FLAGS.SCHED2
  if (vs.flag3) flags |= IPVS_SVC_FLAGS.SCHED3
  return flags
}

/**
 * ipvs_set_srule(): persistence (flag, timeout, granularity, engine) only when
 * persistence_timeout is set. Group entries take the default netmask whatever
 * the granularity: ipvs_group_range_cmd() and the group fwmark loop reset it.
 */
function serviceFor(vs: VirtualServer, key: IpvsServiceKey, useGranularity: boolean): IpvsService {
  const timeout = vs.persistenceTimeout ?? 0
  const persistent = timeout > 0
  return {
    key,
    scheduler: vs.lvsSched,
    flags: schedulerFlags(vs) | (persistent ? IPVS_SVC_FLAGS.PERSISTENT : 0),
    timeout,
    netmask: persistent && useGranularity ? granularityNetmask(vs.persistenceGranularity, key.family) : defaultNetmask(key.family),
    persistenceEngine: persistent ? vs.persistenceEngine : undefined,
  }
}

/**
 * vs->af as keepalived's parser leaves it: `ip_family`, else the first real
 * server that is not tunnelled (rs_end_handler), else the look of
 * persistence_granularity (pgr_handler), else a sorry server that is not
 * tunnelled (vs_end_handler). Undefined when nothing decided it.
 */
function declaredFamily(vs: VirtualServer): IpvsFamily | undefined {
  if (vs.ipFamily) return vs.ipFamily === 'inet6' ? 6 : 4
  const rs = vs.realServers.find((r) => r.lvsMethod.kind !== 'TUN')
  if (rs) return familyOf(rs.address)
  if (vs.persistenceGranularity !== undefined) return vs.persistenceGranularity.includes('.') ? 4 : 6
  const sorry = vs.sorryServer
  if (sorry && sorry.lvsMethod.kind !== 'TUN') return familyOf(sorry.address)
  return undefined
}

/** vs_end_handler() for a fwmark service whose servers are all tunnelled: their common family, IPv4 when mixed. */
function fwmarkFamily(vs: VirtualServer): IpvsFamily {
  const declared = declaredFamily(vs)
  if (declared) return declared
  const families = [...(vs.sorryServer ? [vs.sorryServer] : []), ...vs.realServers].map((s) => familyOf(s.address))
  const first = families[0]
  return first !== undefined && families.every((f) => f === first) ? first : 4
}

/**
 * Every address of a group entry, as ipvs_group_range_cmd() walks it: IPv4
 * counts through the whole 32 bits from first to last; IPv6 steps only the
 * last 16-bit group, from the first address's to the last one's.
 */
export function rangeAddresses(entry: Pick<GroupAddressEntry, 'first' | 'last'>): string[] {
  const first = parseAddress(entry.first)
  const last = parseAddress(entry.last)
  if (!first || !last || first.length !== last.length) return []
  const out: string[] = []
  if (first.length === 2) {
    const to = last[0]! * 65536 + last[1]!
    for (let a = first[0]! * 65536 + first[1]!; a <= to; a++) out.push(formatAddress([Math.floor(a / 65536), a % 65536]))
    return out
  }
  const groups = first.slice()
  for (;;) {
    out.push(formatAddress(groups))
    if (groups[7] === last[7]) return out
    groups[7] = (groups[7]! + 1) & 0xffff
  }
}

/** ipvs_group_cmd(): every address entry (in order), then every fwmark entry, each its own service. */
function groupServices(vs: VirtualServer, group: VirtualServerGroup): IpvsService[] {
  const protocol: Protocol = vs.protocol ?? 'UDP'
  const services: IpvsService[] = []
  for (const e of group.entries) {
    if (e.kind !== 'address') continue
    for (const address of rangeAddresses(e)) {
      services.push(serviceFor(vs, { kind: 'address', family: familyOf(address), protocol, address, port: e.port }, false))
    }
  }
  for (const e of group.entries) {
    if (e.kind !== 'fwmark') continue
    // keepalived: the entry's family, else the virtual server's, else IPv4.
    const family: IpvsFamily = e.family ? (e.family === 'inet6' ? 6 : 4) : declaredFamily(vs) ?? 4
    services.push(serviceFor(vs, { kind: 'fwmark', family, fwmark: e.fwmark }, false))
  }
  return services
}

/** The IPVS services a virtual_server stands for, in the order keepalived creates them. */
export function servicesOf(vs: VirtualServer, groups: readonly VirtualServerGroup[]): IpvsService[] {
  if (vs.group !== undefined) {
    // keepalived looks a group up by name and takes the first.
    const group = groups.find((g) => g.name === vs.group)
    return group ? groupServices(vs, group) : []
  }
  if (vs.fwmark !== undefined) return [serviceFor(vs, { kind: 'fwmark', family: fwmarkFamily(vs), fwmark: vs.fwmark }, true)]
  const address = canonicalAddress(vs.address ?? '')
  const key: IpvsServiceKey = { kind: 'address', family: familyOf(address), protocol: vs.protocol ?? 'UDP', address, port: vs.port ?? 0 }
  return [serviceFor(vs, key, true)]
}

// ---------------------------------------------------------------------------
// Destinations

/** real_weight(): the effective weight clamped to what IPVS takes. */
export function clampWeight(weight: number): number {
  if (!(weight > 0)) return 0
  return Math.min(Math.trunc(weight), IPVS_WEIGHT_MAX)
}

/**
 * The destination a real or sorry server becomes. With `service`, a DR or TUN
 * server takes the service's port (0 for a fwmark service), as ipvs_cmd() and
 * ipvs_group_cmd() send it; a NAT server keeps its own.
 */
export function destOf(server: RealServer | SorryServer, weight: number, service?: IpvsServiceKey): IpvsDest {
  const address = canonicalAddress(server.address)
  const method = server.lvsMethod
  const port = method.kind === 'NAT' || !service ? server.port : service.kind === 'fwmark' ? 0 : service.port
  const tunnelType = method.kind === 'TUN' ? method.tunnelType ?? 'ipip' : undefined
  const thresholds = 'uthreshold' in server ? server : undefined
  return {
    family: familyOf(address),
    address,
    port,
    forwarding: method.kind,
    weight: clampWeight(weight),
    upperThreshold: thresholds?.uthreshold ?? 0,
    lowerThreshold: thresholds?.lthreshold ?? 0,
    tunnelType,
    tunnelPort: tunnelType === 'gue' ? method.tunnelPort : undefined,
    tunnelChecksum: tunnelType === 'gue' || tunnelType === 'gre' ? method.tunnelChecksum ?? 'nocsum' : undefined,
  }
}

// ---------------------------------------------------------------------------
// The desired table and what we own

/** One server the checker side wants in the kernel for a virtual server, with the weight it should have (0 = inhibited). */
export interface PoolMember {
  readonly server: RealServer | SorryServer
  readonly weight: number
}

type LvsServers = Pick<LvsConfig, 'virtualServers' | 'virtualServerGroups'>

interface Building {
  readonly service: IpvsService
  readonly dests: Map<string, IpvsDest>
}

/**
 * The table for the pools the checker side has chosen: every service of every
 * configured virtual server (keepalived creates them at start-up, empty or
 * not), each with the destinations of its virtual server's pool. Two virtual
 * servers naming the same service share it: the first one's attributes, the
 * union of their destinations (the first of a duplicate wins).
 */
export function desiredTable(config: LvsServers, poolOf: (vs: VirtualServer) => readonly PoolMember[] | undefined): IpvsTable {
  const byId = new Map<string, Building>()
  for (const vs of config.virtualServers) {
    const pool = poolOf(vs) ?? []
    for (const service of servicesOf(vs, config.virtualServerGroups)) {
      const id = serviceId(service.key)
      let entry = byId.get(id)
      if (!entry) byId.set(id, (entry = { service, dests: new Map() }))
      for (const m of pool) {
        const dest = destOf(m.server, m.weight, service.key)
        const did = destId(dest)
        if (!entry.dests.has(did)) entry.dests.set(did, dest)
      }
    }
  }
  return [...byId.values()].map((e): IpvsServiceEntry => ({ service: e.service, dests: [...e.dests.values()] }))
}

/**
 * What keepalived-ts manages in the kernel, by identity: services it may
 * create, change or delete, and per service the destinations it may touch.
 * Anything else in the kernel table is left alone, as keepalived leaves it.
 */
export interface Owned {
  /** serviceId() of each service. */
  readonly services: ReadonlySet<string>
  /** serviceId() → destId() of each destination. */
  readonly dests: ReadonlyMap<string, ReadonlySet<string>>
}

/** Every configured service, with every configured real server and sorry server of it, in the pool now or not. */
export function ownedOf(config: LvsServers): Owned {
  const services = new Set<string>()
  const dests = new Map<string, Set<string>>()
  for (const vs of config.virtualServers) {
    const servers = [...vs.realServers, ...(vs.sorryServer ? [vs.sorryServer] : [])]
    for (const service of servicesOf(vs, config.virtualServerGroups)) {
      const id = serviceId(service.key)
      services.add(id)
      let set = dests.get(id)
      if (!set) dests.set(id, (set = new Set()))
      for (const s of servers) set.add(destId(destOf(s, 0, service.key)))
    }
  }
  return { services, dests }
}

/**
 * The union of several Owned sets. A reload reconciles with the old and the
 * new configuration's together, so what the new one dropped is removed.
 */
export function mergeOwned(...owned: readonly Owned[]): Owned {
  const services = new Set<string>()
  const dests = new Map<string, Set<string>>()
  for (const o of owned) {
    for (const s of o.services) services.add(s)
    for (const [s, ds] of o.dests) {
      let set = dests.get(s)
      if (!set) dests.set(s, (set = new Set()))
      for (const d of ds) set.add(d)
    }
  }
  return { services, dests }
}

// ---------------------------------------------------------------------------
// keepalived's names in log lines (FMT_VS / FMT_RS, reference §4.4)

/** inet_sockaddrtotrio(): `[10.0.0.2]:tcp:8080`, `[2001:db8::1]:udp:53`, `[10.0.0.2]:none:0`. */
export function trioText(address: string, protocol: Protocol | undefined, port: number): string {
  return `[${canonicalAddress(address)}]:${protocol ? protocol.toLowerCase() : 'none'}:${port}`
}

/** format_vs(): `[10.0.0.1]:tcp:80`, `FWM 5`, or `[GROUP]:0` (a group service's own address is unset, so its port is 0). */
export function vsText(vs: VirtualServer): string {
  if (vs.group !== undefined) return `[${vs.group}]:${vs.port ?? 0}`
  if (vs.fwmark !== undefined) return `FWM ${vs.fwmark}`
  return trioText(vs.address ?? '', vs.protocol, vs.port ?? 0)
}

/** FMT_RS: the server's address and port with its virtual server's protocol (`none` for fwmark). */
export function rsText(rs: RealServer | SorryServer, vs: VirtualServer): string {
  return trioText(rs.address, vs.protocol, rs.port)
}

/** A destination in the same form, with the protocol of the service it is in (for reconcile log lines). */
export function destText(dest: IpvsDestKey, service: IpvsServiceKey): string {
  return trioText(dest.address, service.kind === 'address' ? service.protocol : undefined, dest.port)
}
