/**
 * Routes and policy rules (`virtual_routes`, `virtual_rules`, `static_routes`,
 * `static_rules`) through RTM_NEWROUTE/DELROUTE and RTM_NEWRULE/DELRULE.
 * Like addresses, "already there" on add and "not there" on delete are results,
 * not errors. This covers the common forms (destination, gateway, device,
 * table, metric, scope, type, preferred source; rules by from/to/fwmark/
 * iif/oif with priority and table); multipath and encapsulation are not done.
 */
import { rt } from 'netlink'
import { NetError } from './errors.js'
import { addressBytes, addressFamily } from './ip-address.js'
import { SCOPES, type AddressChange, type ScopeName } from './addresses.js'
import { CREATE_EXCL, RTM, isErrno, type Rtnetlink } from './rtnetlink.js'

/** RTPROT_KEEPALIVED (18, /etc/iproute2/rt_protos): `ip route` shows "proto keepalived". */
export const RTPROT_KEEPALIVED = 18
const RT_TABLE_MAIN = 254
const ROUTE_TYPES = { unicast: 1, local: 2, broadcast: 3, blackhole: 6, unreachable: 7, prohibit: 8, throw: 9 } as const

/** A route in `ip route` terms. */
export interface RouteSpec {
  /** Network address; with prefixLength 0 a default route. */
  destination: string
  prefixLength: number
  gateway?: string
  /** Outgoing interface index. */
  index?: number
  /** Routing table; default main (254). */
  table?: number
  /** `metric` / `priority`. */
  metric?: number
  /** Default `link` without a gateway and `global` with one, as ip(8). */
  scope?: ScopeName | number
  /** Default `unicast`. */
  type?: keyof typeof ROUTE_TYPES
  /** Preferred source address (`src`). */
  source?: string
  /** Default {@link RTPROT_KEEPALIVED}. */
  protocol?: number
}

/** A policy rule in `ip rule` terms. */
export interface RuleSpec {
  family: 4 | 6
  /** Preference; without it the kernel picks one below the previous rule. */
  priority?: number
  /** The table looked up. */
  table: number
  from?: { address: string; prefixLength: number }
  to?: { address: string; prefixLength: number }
  fwmark?: number
  fwmask?: number
  /** Input interface name (`iif`). */
  iif?: string
  /** Output interface name (`oif`). */
  oif?: string
}

function bytesOf(text: string, family: 4 | 6): Buffer {
  const b = addressBytes(text)
  if (!b || b.length !== (family === 4 ? 4 : 16)) throw new Error(`'${text}' is not an IPv${family} address`)
  return b
}

function encodeRoute(spec: RouteSpec): (out: import('netlink').AttrStream) => void {
  return (out) => {
    const family = addressFamily(spec.destination)
    if (!family) throw new Error(`'${spec.destination}' is not an IP address`)
    const table = spec.table ?? RT_TABLE_MAIN
    const scope = typeof spec.scope === 'number' ? spec.scope : SCOPES[spec.scope ?? (spec.gateway ? 'global' : 'link')]
    const attrs: rt.RouteAttrs = { table }
    if (spec.prefixLength > 0) attrs.dst = bytesOf(spec.destination, family)
    if (spec.gateway !== undefined) attrs.gateway = bytesOf(spec.gateway, family)
    if (spec.index !== undefined) attrs.oif = spec.index
    if (spec.metric !== undefined) attrs.priority = spec.metric
    if (spec.source !== undefined) attrs.prefsrc = bytesOf(spec.source, family)
    const data: rt.Route = {
      family: family === 4 ? 2 : 10,
      dstLen: spec.prefixLength,
      // rtm_table is 8 bits; tables above 255 live only in RTA_TABLE.
      table: table < 256 ? table : 252,
      protocol: spec.protocol ?? RTPROT_KEEPALIVED,
      scope,
      type: ROUTE_TYPES[spec.type ?? 'unicast'],
    }
    rt.formatRouteMessage({ kind: 'route', data, attrs }, out)
  }
}

function routeAbout(spec: RouteSpec, operation: string): { operation: string; address: string } {
  return { operation, address: `${spec.destination}/${spec.prefixLength}${spec.gateway ? ` via ${spec.gateway}` : ''}` }
}

/** `ip route add`; an identical route already present is `{ changed: false, reason: 'already-present' }`. */
export async function addRoute(nl: Rtnetlink, spec: RouteSpec): Promise<AddressChange | NetError> {
  const reply = await nl.request(RTM.NEWROUTE, encodeRoute(spec), CREATE_EXCL, routeAbout(spec, 'RTM_NEWROUTE'))
  if (isErrno(reply, 'EEXIST')) return { changed: false, reason: 'already-present' }
  return reply instanceof NetError ? reply : { changed: true }
}

/** `ip route del`; a route that is not there (ESRCH) is `{ changed: false, reason: 'not-present' }`. */
export async function deleteRoute(nl: Rtnetlink, spec: RouteSpec): Promise<AddressChange | NetError> {
  const reply = await nl.request(RTM.DELROUTE, encodeRoute(spec), 0, routeAbout(spec, 'RTM_DELROUTE'))
  if (isErrno(reply, 'ESRCH')) return { changed: false, reason: 'not-present' }
  return reply instanceof NetError ? reply : { changed: true }
}

function encodeRule(spec: RuleSpec): (out: import('netlink').AttrStream) => void {
  return (out) => {
    const attrs: rt.RuleAttrs = { table: spec.table }
    if (spec.priority !== undefined) attrs.priority = spec.priority
    if (spec.from) attrs.src = bytesOf(spec.from.address, spec.family)
    if (spec.to) attrs.dst = bytesOf(spec.to.address, spec.family)
    if (spec.fwmark !== undefined) attrs.fwmark = spec.fwmark
    if (spec.fwmask !== undefined) attrs.fwmask = spec.fwmask
    if (spec.iif !== undefined) attrs.iifname = spec.iif
    if (spec.oif !== undefined) attrs.oifname = spec.oif
    const data: rt.Rule = {
      family: spec.family === 4 ? 2 : 10,
      srcLen: spec.from?.prefixLength ?? 0,
      dstLen: spec.to?.prefixLength ?? 0,
      table: spec.table < 256 ? spec.table : 252,
      // FR_ACT_TO_TBL: look the packet up in `table`.
      action: 1,
    }
    rt.formatRuleMessage({ kind: 'rule', data, attrs }, out)
  }
}

function ruleAbout(spec: RuleSpec, operation: string): { operation: string; address: string | undefined } {
  const from = spec.from && `from ${spec.from.address}/${spec.from.prefixLength}`
  const to = spec.to && `to ${spec.to.address}/${spec.to.prefixLength}`
  return { operation, address: [from, to].filter(Boolean).join(' ') || undefined }
}

/** `ip rule add`; an identical rule already present is `{ changed: false, reason: 'already-present' }`. */
export async function addRule(nl: Rtnetlink, spec: RuleSpec): Promise<AddressChange | NetError> {
  const reply = await nl.request(RTM.NEWRULE, encodeRule(spec), CREATE_EXCL, ruleAbout(spec, 'RTM_NEWRULE'))
  if (isErrno(reply, 'EEXIST')) return { changed: false, reason: 'already-present' }
  return reply instanceof NetError ? reply : { changed: true }
}

/** `ip rule del`; a rule that is not there (ENOENT) is `{ changed: false, reason: 'not-present' }`. */
export async function deleteRule(nl: Rtnetlink, spec: RuleSpec): Promise<AddressChange | NetError> {
  const reply = await nl.request(RTM.DELRULE, encodeRule(spec), 0, ruleAbout(spec, 'RTM_DELRULE'))
  if (isErrno(reply, 'ENOENT')) return { changed: false, reason: 'not-present' }
  return reply instanceof NetError ? reply : { changed: true }
}
