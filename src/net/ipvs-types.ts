/**
 * The IPVS table as the kernel sees it, as plain data (uapi linux/ip_vs.h,
 * reference §6). The generic netlink client (ipvs.ts) reads and writes these;
 * src/ipvs builds the desired table in the same terms and reconciles the two.
 * Addresses are canonical text (IPv4 dotted quad, IPv6 compressed lower-case,
 * as node:net and `ipvsadm -Ln` print them); ports are host numbers.
 */

export type IpvsFamily = 4 | 6
export type IpvsProtocol = 'TCP' | 'UDP' | 'SCTP'
export type IpvsForwarding = 'NAT' | 'DR' | 'TUN'
export type IpvsTunnelType = 'ipip' | 'gue' | 'gre'
export type IpvsTunnelChecksum = 'nocsum' | 'csum' | 'remcsum'

/** A service is named by family + protocol + address + port, or by family + fwmark. */
export type IpvsServiceKey =
  | { readonly kind: 'address'; readonly family: IpvsFamily; readonly protocol: IpvsProtocol; readonly address: string; readonly port: number }
  | { readonly kind: 'fwmark'; readonly family: IpvsFamily; readonly fwmark: number }

/** IP_VS_SVC_F_* (reference §6.5). */
export const IPVS_SVC_FLAGS = {
  PERSISTENT: 0x0001,
  HASHED: 0x0002,
  ONEPACKET: 0x0004,
  SCHED1: 0x0008,
  SCHED2: 0x0010,
  SCHED3: 0x0020,
} as const

/** What NEW_SERVICE / SET_SERVICE carry besides the key. */
export interface IpvsService {
  readonly key: IpvsServiceKey
  /** Scheduler name, e.g. `wlc` (≤ 15 bytes). */
  readonly scheduler: string
  /** IP_VS_SVC_F_* bits we set (HASHED, kernel-internal, is never compared). */
  readonly flags: number
  /** Persistence timeout in seconds; 0 = not persistent. */
  readonly timeout: number
  /** IPv4: the netmask as an unsigned 32-bit number (0xffffffff = /32); IPv6: the prefix length (128). */
  readonly netmask: number
  /** Persistence engine name (`sip`), if any. */
  readonly persistenceEngine: string | undefined
}

/** A destination (real server) is named by family + address + port within its service. */
export interface IpvsDestKey {
  readonly family: IpvsFamily
  readonly address: string
  readonly port: number
}

export interface IpvsDest extends IpvsDestKey {
  readonly forwarding: IpvsForwarding
  /** 0..2147483647; 0 = inhibited (kept, gets no new connections). */
  readonly weight: number
  readonly upperThreshold: number
  readonly lowerThreshold: number
  /** TUN only; undefined otherwise. */
  readonly tunnelType: IpvsTunnelType | undefined
  /** TUN gue only. */
  readonly tunnelPort: number | undefined
  /** TUN gue / gre only. */
  readonly tunnelChecksum: IpvsTunnelChecksum | undefined
}

/** Counters a dump returns with a destination (read only). */
export interface IpvsDestCounters {
  readonly activeConnections: number
  readonly inactiveConnections: number
  readonly persistentConnections: number
}

/** One service and its destinations, as a GET dump returns them. */
export interface IpvsServiceEntry {
  readonly service: IpvsService
  readonly dests: readonly (IpvsDest & Partial<IpvsDestCounters>)[]
}

/** The whole table (or the part of it one owner cares about). */
export type IpvsTable = readonly IpvsServiceEntry[]

/** IPVS_CMD_SET_CONFIG / GET_CONFIG: seconds; 0 leaves a value unchanged on SET. */
export interface IpvsTimeouts {
  readonly tcp: number
  readonly tcpFin: number
  readonly udp: number
}

/** The connection synchronisation daemon (IPVS_CMD_NEW_DAEMON). */
export interface IpvsSyncDaemon {
  readonly state: 'master' | 'backup'
  readonly interface: string
  readonly syncId: number
  readonly maxLength: number | undefined
  readonly port: number | undefined
  readonly ttl: number | undefined
  /** IPv4 or IPv6 multicast group as text. */
  readonly group: string | undefined
}

/** keepalived's text for a service key: `[10.0.0.1]:tcp:80`, `[2001:db8::1]:udp:53`, `FWM 5`. */
export function serviceKeyText(key: IpvsServiceKey): string {
  if (key.kind === 'fwmark') return `FWM ${key.fwmark}`
  return `[${key.address}]:${key.protocol.toLowerCase()}:${key.port}`
}

/** A stable identity string for a service key (map keys, sorting). */
export function serviceKeyId(key: IpvsServiceKey): string {
  return key.kind === 'fwmark' ? `fwm/${key.family}/${key.fwmark}` : `${key.protocol}/${key.family}/${key.address}/${key.port}`
}

/** A stable identity string for a destination within its service. */
export function destKeyId(key: IpvsDestKey): string {
  return `${key.family}/${key.address}/${key.port}`
}
