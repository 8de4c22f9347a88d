/**
 * What the SIGUSR1 / SIGUSR2 / JSON dumps of the VRRP side are made from
 * (reference §3.2), and the small formatters they share: keepalived's text
 * for an address, a route, a rule, a state, a time. Pure.
 */
import type { GlobalDefs } from '../config/global/model.js'
import type { IpRoute, IpRule, VirtualAddress, VrrpInstance, VrrpScript } from '../config/vrrp/model.js'
import type { InstanceHistory } from './instance-io.js'
import type { InstanceState, VrrpStateName } from './instance-types.js'
import type { ScriptStatus } from './script-tracker.js'

/** One instance as the dumps see it. */
export interface DumpInstance {
  readonly config: VrrpInstance
  readonly state: InstanceState
  readonly history: InstanceHistory
  readonly source: string
  readonly group: string
  readonly syncGroup: string | undefined
  /** The socket it uses (SocketPool key). */
  readonly socketKey: string
  /** Wall-clock ms of the next protocol deadline (keepalived's `sands`), if any. */
  readonly deadlineMs: number | undefined
}

export interface DumpSocket {
  readonly key: string
  readonly interface: string
  readonly family: 4 | 6
  readonly unicast: boolean
  readonly address: string
}

export interface DumpSyncGroup {
  readonly name: string
  readonly state: string
  readonly members: readonly string[]
  readonly smtpAlert: boolean
}

export interface DumpScript {
  readonly config: VrrpScript
  readonly status: ScriptStatus | 'disabled'
  /** Instances tracking it, with their weights. */
  readonly users: readonly { readonly instance: string; readonly weight: number; readonly reverse: boolean }[]
}

export interface DumpInterface {
  readonly name: string
  readonly index: number
  readonly mac: string
  readonly up: boolean
}

export interface DumpInput {
  readonly global: GlobalDefs
  readonly instances: readonly DumpInstance[]
  readonly sockets: readonly DumpSocket[]
  readonly syncGroups: readonly DumpSyncGroup[]
  readonly scripts: readonly DumpScript[]
  readonly interfaces: readonly DumpInterface[]
}

/** keepalived's state numbers (JSON): 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT; 98 STOP. */
export function stateNumber(state: VrrpStateName): number {
  switch (state) {
    case 'INIT': return 0
    case 'BACKUP': return 1
    case 'MASTER': return 2
    case 'FAULT': return 3
    case 'STOP': return 98
  }
}

/** `10.0.0.1/24 dev eth0 scope global label eth0:1 set`: the address and its device, as ipaddresstos + ` set`. */
export function addressText(vip: VirtualAddress, dev: string | undefined, set: boolean): string {
  const full = vip.family === 4 ? 32 : 128
  const parts = [`${vip.address}${vip.prefix !== full ? `/${vip.prefix}` : ''}`]
  if (vip.broadcast !== undefined) parts.push(`brd ${vip.broadcast}`)
  if (vip.peer !== undefined) parts.push(`peer ${vip.peer}`)
  parts.push(`dev ${dev ?? '(none)'}`, `scope ${vip.scope ?? 'global'}`)
  if (vip.label !== undefined) parts.push(`label ${vip.label}`)
  if (vip.preferredLft !== undefined) parts.push(`preferred_lft ${vip.preferredLft}`)
  if (set) parts.push('set')
  return parts.join(' ')
}

/** A virtual route in `ip route` words. */
export function routeText(r: IpRoute): string {
  return [r.type, r.destination, r.src !== undefined ? `src ${r.src}` : undefined, r.via !== undefined ? `via ${r.via}` : undefined,
    r.dev !== undefined ? `dev ${r.dev}` : undefined, r.table !== undefined ? `table ${r.table}` : undefined, ...r.options]
    .filter((x): x is string => x !== undefined).join(' ')
}

/** A virtual rule in `ip rule` words. */
export function ruleText(r: IpRule): string {
  return [`from ${r.from ?? 'all'}`, r.to !== undefined ? `to ${r.to}` : undefined, r.iif !== undefined ? `iif ${r.iif}` : undefined,
    r.oif !== undefined ? `oif ${r.oif}` : undefined, ...r.options, r.table !== undefined ? `table ${r.table}` : undefined, `preference ${r.preference}`]
    .filter((x): x is string => x !== undefined).join(' ')
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

function pad(n: number, width = 2, fill = '0'): string {
  return String(n).padStart(width, fill)
}

/** `1795254746.358903 (Sat Nov 21 09:52:26.358903 2026)`, keepalived's timestamps in the data file (local time). */
export function timestampText(ms: number): string {
  const d = new Date(ms)
  const usec = pad(Math.round((ms % 1000) * 1000), 6)
  const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  return `${Math.floor(ms / 1000)}.${usec} (${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${pad(d.getDate(), 2, ' ')} ${clock}.${usec} ${d.getFullYear()})`
}

/** keepalived's `%s` of a notify or track script: the command in single quotes. */
export function commandText(command: string): string {
  return `'${command}'`
}
