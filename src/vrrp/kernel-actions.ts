/**
 * What an instance installs while MASTER — VIPs, excluded VIPs, virtual routes
 * and rules — turned into rtnetlink requests, and the gratuitous ARP / NA
 * frames announcing them. The state machine says *when* (addVips, removeVips,
 * garp); this file says *what* for one instance, from its configuration.
 */
import type { IpRoute, IpRule, VirtualAddress, VrrpInstance } from '../config/vrrp/model.js'
import {
  addAddress, addRoute, addRule, type AddressSpec, deleteAddress, deleteRoute, deleteRule, type NetError,
  type RouteSpec, type Rtnetlink, type RuleSpec,
} from '../net/index.js'
import { buildGratuitousArp, buildUnsolicitedNeighbourAdvert } from './frames.js'
import { AUTH_NONE, AUTH_PASS, type AdvertFields, passwordBytes } from './packet.js'

/** The interfaces the runtime knows, by name. */
export interface InterfaceInfo {
  readonly index: number
  readonly name: string
  readonly mac: string
  readonly noArp: boolean
}

export type InterfaceTable = ReadonlyMap<string, InterfaceInfo>

/** A failed kernel request, for the log: keepalived logs and carries on. */
export interface ActionFailure {
  readonly what: string
  readonly error: NetError | Error
}

const NAMED_TABLES: Record<string, number> = { default: 253, main: 254, local: 255 }
const IPV4_SCOPES = new Set(['global', 'site', 'link', 'host', 'nowhere'])

function tableNumber(table: string | undefined): number | undefined {
  if (table === undefined) return undefined
  return NAMED_TABLES[table] ?? (/^\d+$/.test(table) ? Number(table) : undefined)
}

function splitPrefix(text: string): { address: string; prefixLength: number } {
  const slash = text.indexOf('/')
  if (slash < 0) return { address: text, prefixLength: text.includes(':') ? 128 : 32 }
  return { address: text.slice(0, slash), prefixLength: Number(text.slice(slash + 1)) }
}

/** The name of an instance's VMAC (`use_vmac`): the configured one, else keepalived's `vrrp.<VRID>`. */
export function vmacName(inst: VrrpInstance): string | undefined {
  if (!inst.useVmac) return undefined
  return inst.useVmac.interface ?? `vrrp.${inst.virtualRouterId}`
}

/** The device a VIP lives on: its own `dev`, else the instance's VMAC, else its interface. */
function vipDevice(vip: VirtualAddress, inst: VrrpInstance): string | undefined {
  return vip.dev ?? vmacName(inst) ?? inst.interface
}

function addressSpec(vip: VirtualAddress, link: InterfaceInfo): AddressSpec {
  const scope = vip.scope !== undefined && IPV4_SCOPES.has(vip.scope) ? (vip.scope as AddressSpec['scope']) : vip.scope !== undefined && /^\d+$/.test(vip.scope) ? Number(vip.scope) : undefined
  return {
    index: link.index,
    interface: link.name,
    address: vip.address,
    prefixLength: vip.prefix,
    ...(vip.label !== undefined ? { label: vip.label } : {}),
    ...(scope !== undefined ? { scope } : {}),
    ...(vip.broadcast !== undefined && vip.broadcast !== '+' && vip.broadcast !== '-' ? { broadcast: vip.broadcast } : {}),
    ...(vip.peer !== undefined ? { peer: vip.peer } : {}),
    // keepalived adds IPv6 VIPs with IFA_F_NODAD: a backup answering DAD must not veto a takeover.
    ...(vip.family === 6 ? { noDad: true } : {}),
  }
}

function routeSpec(route: IpRoute, links: InterfaceTable): RouteSpec {
  const { address, prefixLength } = splitPrefix(route.destination)
  const metricAt = route.options.findIndex((w) => w === 'metric' || w === 'priority' || w === 'preference')
  const spec: RouteSpec = { destination: address, prefixLength }
  if (route.via !== undefined) spec.gateway = route.via
  if (route.dev !== undefined) {
    const link = links.get(route.dev)
    if (link) spec.index = link.index
  }
  const table = tableNumber(route.table)
  if (table !== undefined) spec.table = table
  if (metricAt >= 0 && route.options[metricAt + 1] !== undefined) spec.metric = Number(route.options[metricAt + 1])
  if (route.src !== undefined) spec.source = route.src
  if (route.type !== undefined && ['unicast', 'local', 'broadcast', 'blackhole', 'unreachable', 'prohibit', 'throw'].includes(route.type)) {
    spec.type = route.type as NonNullable<RouteSpec['type']>
  }
  return spec
}

function ruleSpec(rule: IpRule): RuleSpec {
  const spec: RuleSpec = { family: rule.family, table: tableNumber(rule.table) ?? 254, priority: rule.preference }
  if (rule.from !== undefined && rule.from !== 'all') spec.from = splitPrefix(rule.from)
  if (rule.to !== undefined && rule.to !== 'all') spec.to = splitPrefix(rule.to)
  if (rule.iif !== undefined) spec.iif = rule.iif
  if (rule.oif !== undefined) spec.oif = rule.oif
  const mark = rule.options.indexOf('fwmark')
  if (mark >= 0 && rule.options[mark + 1] !== undefined) {
    const [value, mask] = rule.options[mark + 1]!.split('/')
    spec.fwmark = Number(value)
    if (mask !== undefined) spec.fwmask = Number(mask)
  }
  return spec
}

/** Every address the instance announces: VIPs then excluded VIPs, with their device. */
export function announcedAddresses(inst: VrrpInstance): { vip: VirtualAddress; dev: string | undefined }[] {
  return [...inst.virtualIpaddresses, ...inst.virtualIpaddressesExcluded].map((vip) => ({ vip, dev: vipDevice(vip, inst) }))
}

function isFailure<T>(r: T | NetError): r is NetError {
  return r instanceof Error
}

/** Addresses (with their device), routes and rules: all an instance owns as MASTER, or part of it (a reload's difference). */
export interface MasterEntries {
  readonly addresses: readonly { readonly vip: VirtualAddress; readonly dev: string | undefined }[]
  readonly routes: readonly IpRoute[]
  readonly rules: readonly IpRule[]
}

/** Everything `inst` owns as MASTER. */
export function masterEntries(inst: VrrpInstance): MasterEntries {
  return { addresses: announcedAddresses(inst), routes: inst.virtualRoutes, rules: inst.virtualRules }
}

/**
 * Install (`add`) or remove what a MASTER owns, in keepalived's order (rules
 * last on the way up, first on the way down). Failures are collected, not
 * thrown: one bad VIP must not keep the others off the wire.
 */
export async function applyMasterAddresses(nl: Rtnetlink, inst: VrrpInstance, links: InterfaceTable, add: boolean): Promise<ActionFailure[]> {
  return applyMasterEntries(nl, masterEntries(inst), links, add)
}

/** {@link applyMasterAddresses} for chosen entries. An address already there (EEXIST) or already gone is no failure. */
export async function applyMasterEntries(nl: Rtnetlink, entries: MasterEntries, links: InterfaceTable, add: boolean): Promise<ActionFailure[]> {
  const failures: ActionFailure[] = []
  const note = (what: string, r: unknown): void => {
    if (isFailure(r)) failures.push({ what, error: r })
  }
  const addresses = async (): Promise<void> => {
    for (const { vip, dev } of entries.addresses) {
      const link = dev === undefined ? undefined : links.get(dev)
      if (!link) {
        failures.push({ what: `${vip.address} (no interface ${dev ?? '?'})`, error: new Error(`interface ${dev ?? '?'} not found`) })
        continue
      }
      const spec = addressSpec(vip, link)
      note(`${vip.address}/${vip.prefix} dev ${link.name}`, add ? await addAddress(nl, spec) : await deleteAddress(nl, spec))
    }
  }
  const routes = async (): Promise<void> => {
    for (const route of entries.routes) {
      const spec = routeSpec(route, links)
      note(`route ${route.destination}`, await guard(() => add ? addRoute(nl, spec) : deleteRoute(nl, spec)))
    }
  }
  const rules = async (): Promise<void> => {
    for (const rule of entries.rules) {
      const spec = ruleSpec(rule)
      note(`rule ${rule.from ?? ''} ${rule.to ?? ''}`.trim(), await guard(() => add ? addRule(nl, spec) : deleteRule(nl, spec)))
    }
  }
  if (add) {
    await addresses()
    await routes()
    await rules()
  } else {
    await rules()
    await routes()
    await addresses()
  }
  return failures
}

/** The route and rule encoders validate addresses by throwing; keep that inside this file. */
async function guard<T>(fn: () => Promise<T>): Promise<T | Error> {
  try {
    return await fn()
  } catch (err) {
    return err as Error
  }
}

/** One frame to send: the interface, the address it announces and the bytes. */
export interface AnnouncementFrame {
  readonly link: InterfaceInfo
  readonly address: string
  readonly family: 4 | 6
  readonly frame: Buffer
}

/**
 * The GARP / unsolicited NA frames for every announced address (or those in
 * `only`) whose interface exists and does ARP (keepalived sends none on
 * IFF_NOARP links).
 */
export function announcementFrames(inst: VrrpInstance, links: InterfaceTable, only?: ReadonlySet<string>): AnnouncementFrame[] {
  const frames: AnnouncementFrame[] = []
  for (const { vip, dev } of announcedAddresses(inst)) {
    if (only && !only.has(vip.address)) continue
    const link = dev === undefined ? undefined : links.get(dev)
    if (!link || link.noArp) continue
    const frame = vip.family === 4 ? buildGratuitousArp(link.mac, vip.address) : buildUnsolicitedNeighbourAdvert(link.mac, vip.address)
    frames.push({ link, address: vip.address, family: vip.family, frame })
  }
  return frames
}

/**
 * The advert an instance sends with `priority`: keepalived puts the 8 auth bytes
 * in every VRRPv2 IPv4 advert (zeros without PASS) and advertises only the
 * `virtual_ipaddress` entries of its family, never the excluded ones.
 */
export function advertFields(inst: VrrpInstance, priority: number): AdvertFields {
  const pass = inst.version === 2 && inst.authentication?.type === 'PASS'
  return {
    version: inst.version,
    type: 1,
    vrid: inst.virtualRouterId,
    priority,
    advertIntervalCs: Math.round(inst.advertInt / 10_000),
    authType: pass ? AUTH_PASS : AUTH_NONE,
    authData: inst.version === 2 && inst.family === 4 ? passwordBytes(pass ? inst.authentication!.password : '') : undefined,
    addresses: inst.virtualIpaddresses.filter((v) => v.family === inst.family).map((v) => v.address),
  }
}
