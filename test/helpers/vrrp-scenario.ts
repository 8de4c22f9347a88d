/**
 * Building blocks of the VRRP end-to-end scenarios: configurations for the
 * variants the issue names (VRRPv2 with PASS, VRRPv3 over IPv4 and IPv6,
 * multicast and unicast), starting either implementation on a lab node, and
 * the checks every takeover must pass (VIP on the new master, the client's
 * neighbour entry naming the new master's MAC because of its GARP / NA).
 */
import type { LabNode, LabProcess } from './lab.js'

export type Implementation = 'ours' | 'keepalived'

export interface Variant {
  readonly name: string
  readonly version: 2 | 3
  readonly family: 4 | 6
  readonly unicast: boolean
  readonly auth: boolean
}

export const VARIANTS: readonly Variant[] = [
  { name: 'VRRPv2 PASS multicast', version: 2, family: 4, unicast: false, auth: true },
  { name: 'VRRPv3 IPv4 multicast', version: 3, family: 4, unicast: false, auth: false },
  { name: 'VRRPv3 IPv6 multicast', version: 3, family: 6, unicast: false, auth: false },
  { name: 'VRRPv3 IPv4 unicast', version: 3, family: 4, unicast: true, auth: false },
  { name: 'VRRPv2 PASS unicast', version: 2, family: 4, unicast: true, auth: true },
]

export function vipOf(v: Pick<Variant, 'family'>): string {
  return v.family === 4 ? '10.33.0.100' : 'fd33::100'
}

export interface InstanceOptions {
  readonly priority: number
  readonly nopreempt?: boolean
  /** Extra lines inside the vrrp_instance block. */
  readonly extra?: string
  /** Text before the instance (vrrp_script blocks …). */
  readonly before?: string
  readonly name?: string
  readonly vrid?: number
  /** The VIP; default the variant's. */
  readonly vip?: string
}

/** One vrrp_instance for `self` talking to `peer`. */
export function instanceConf(v: Variant, self: LabNode, peer: LabNode, o: InstanceOptions): string {
  const vip = o.vip ?? vipOf(v)
  const unicast = v.unicast
    ? `    unicast_src_ip ${v.family === 4 ? self.ipv4 : self.ipv6}\n    unicast_peer {\n        ${v.family === 4 ? peer.ipv4 : peer.ipv6}\n    }\n`
    : ''
  const auth = v.auth ? '    authentication {\n        auth_type PASS\n        auth_pass s3cret\n    }\n' : ''
  return `${o.before ?? ''}vrrp_instance ${o.name ?? 'VI_1'} {
    state BACKUP
    interface eth0
    virtual_router_id ${o.vrid ?? 51}
    priority ${o.priority}
    advert_int 1
    version ${v.version}
${o.nopreempt ? '    nopreempt\n' : ''}${auth}${unicast}${o.extra ?? ''}    virtual_ipaddress {
        ${vip}/${v.family === 4 ? 24 : 64}
    }
}
`
}

export function globalDefs(id: string): string {
  return `global_defs {\n    router_id ${id}\n}\n`
}

export function start(node: LabNode, impl: Implementation, conf: string): LabProcess {
  return impl === 'ours' ? node.startKeepalivedTs(conf) : node.startKeepalived(conf)
}

/** Poll `cond` every 100 ms for at most `ms`. */
export async function eventually(cond: () => boolean, what: string, ms: number): Promise<void> {
  const end = Date.now() + ms
  for (;;) {
    if (cond()) return
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** The MAC in the client's neighbour entry for `address`. */
export function neighbourMac(client: LabNode, address: string): string | undefined {
  return client.neighbours().find((e) => e.dst === address)?.lladdr
}

/** One echo to `address` with iputils ping (IPv4 or IPv6): creates the client's neighbour entry. */
export function reach(client: LabNode, address: string): boolean {
  const r = client.exec(['ping', address.includes(':') ? '-6' : '-4', '-c', '2', '-i', '0.2', '-W', '1', address], 5_000)
  return r.status === 0
}

/** Wait until `master` holds the VIP and the client resolves it to `master`'s MAC. */
export async function ownsVip(client: LabNode, master: LabNode, vip: string, others: readonly LabNode[] = []): Promise<void> {
  await eventually(() => master.hasAddress(vip), `VIP ${vip} on ${master.name}`, 8_000)
  for (const o of others) await eventually(() => !o.hasAddress(vip), `VIP ${vip} gone from ${o.name}`, 5_000)
  await eventually(() => neighbourMac(client, vip) === master.mac, `client resolves ${vip} to ${master.name}`, 8_000)
}
