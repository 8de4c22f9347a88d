/**
 * The numbers of uapi linux/ip_vs.h (reference §6.5) and the netlink
 * attribute layout the IPVS codec (ipvs-codec.ts) writes and reads: a TLV
 * with a u16 length (header included) and a u16 type, padded to 4 bytes
 * (NLA_ALIGN); integers in host order unless the uapi says network order.
 * Trust /usr/include/linux/ip_vs.h over third-party copies (platform.md).
 */
import { endianness } from 'node:os'
import type { IpvsFamily, IpvsForwarding, IpvsProtocol, IpvsTunnelChecksum, IpvsTunnelType } from './ipvs-types.js'

export const IPVS_GENL_NAME = 'IPVS'
export const IPVS_GENL_VERSION = 1

/** IPVS_CMD_* */
export const IPVS_CMD = {
  NEW_SERVICE: 1, SET_SERVICE: 2, DEL_SERVICE: 3, GET_SERVICE: 4,
  NEW_DEST: 5, SET_DEST: 6, DEL_DEST: 7, GET_DEST: 8,
  NEW_DAEMON: 9, DEL_DAEMON: 10, GET_DAEMON: 11,
  SET_CONFIG: 12, GET_CONFIG: 13, SET_INFO: 14, GET_INFO: 15, ZERO: 16, FLUSH: 17,
} as const
export type IpvsCommand = keyof typeof IPVS_CMD

/** IPVS_CMD_ATTR_* (top level). */
export const CMD_ATTR = { SERVICE: 1, DEST: 2, DAEMON: 3, TIMEOUT_TCP: 4, TIMEOUT_TCP_FIN: 5, TIMEOUT_UDP: 6 } as const
/** IPVS_SVC_ATTR_* (inside CMD_ATTR.SERVICE); STATS 10 and STATS64 12 are not read. */
export const SVC = { AF: 1, PROTOCOL: 2, ADDR: 3, PORT: 4, FWMARK: 5, SCHED_NAME: 6, FLAGS: 7, TIMEOUT: 8, NETMASK: 9, PE_NAME: 11 } as const
/** IPVS_DEST_ATTR_* (inside CMD_ATTR.DEST); STATS 10 and STATS64 12 are not read. */
export const DEST = {
  ADDR: 1, PORT: 2, FWD_METHOD: 3, WEIGHT: 4, U_THRESH: 5, L_THRESH: 6, ACTIVE_CONNS: 7, INACT_CONNS: 8,
  PERSIST_CONNS: 9, ADDR_FAMILY: 11, TUN_TYPE: 13, TUN_PORT: 14, TUN_FLAGS: 15,
} as const
/** IPVS_DAEMON_ATTR_* (inside CMD_ATTR.DAEMON). */
export const DAEMON = { STATE: 1, MCAST_IFN: 2, SYNC_ID: 3, SYNC_MAXLEN: 4, MCAST_GROUP: 5, MCAST_GROUP6: 6, MCAST_PORT: 7, MCAST_TTL: 8 } as const
/** IPVS_INFO_ATTR_* (GET_INFO's answer, top level). */
export const INFO = { VERSION: 1, CONN_TAB_SIZE: 2 } as const

/** The genl controller (linux/genetlink.h), which resolves "IPVS" to its family id. */
export const GENL_ID_CTRL = 16
export const CTRL_CMD_GETFAMILY = 3
export const CTRL_ATTR = { FAMILY_ID: 1, FAMILY_NAME: 2, VERSION: 3 } as const

export const AF_OF: Record<IpvsFamily, number> = { 4: 2, 6: 10 }
export const PROTOCOL_NUMBER: Record<IpvsProtocol, number> = { TCP: 6, UDP: 17, SCTP: 132 }
/** IP_VS_CONN_F_MASQ / TUNNEL / DROUTE; the kernel masks FWD_METHOD with 0x7. */
export const FORWARDING_NUMBER: Record<IpvsForwarding, number> = { NAT: 0, TUN: 2, DR: 3 }
export const FWD_MASK = 0x7
export const TUNNEL_NUMBER: Record<IpvsTunnelType, number> = { ipip: 0, gue: 1, gre: 2 }
/** IP_VS_TUNNEL_ENCAP_FLAG_*: no bit, bit 0, bit 1. */
export const CHECKSUM_NUMBER: Record<IpvsTunnelChecksum, number> = { nocsum: 0, csum: 1, remcsum: 2 }
export const DAEMON_STATE = { master: 1, backup: 2 } as const
/** IP_VS_SVC_F_HASHED: set by the kernel on every service it holds, never by us. */
export const SVC_F_HASHED = 0x0002
/** IP_VS_SCHEDNAME_MAXLEN, IP_VS_PENAME_MAXLEN, IP_VS_IFNAME_MAXLEN are 16 with the NUL. */
export const NAME_MAX_BYTES = 15

function invert<K>(table: Iterable<[K, number]>): Map<number, K> {
  return new Map(Array.from(table, ([k, v]) => [v, k]))
}
export const FAMILY_OF = invert<IpvsFamily>([[4, AF_OF[4]], [6, AF_OF[6]]])
export const PROTOCOL_OF = invert(Object.entries(PROTOCOL_NUMBER) as [IpvsProtocol, number][])
export const FORWARDING_OF = invert(Object.entries(FORWARDING_NUMBER) as [IpvsForwarding, number][])
export const TUNNEL_OF = invert(Object.entries(TUNNEL_NUMBER) as [IpvsTunnelType, number][])
export const CHECKSUM_OF = invert(Object.entries(CHECKSUM_NUMBER) as [IpvsTunnelChecksum, number][])

// ─── Attributes ──────────────────────────────────────────────────────────────

const NLA_F_NESTED = 0x8000
/** Clears NLA_F_NESTED and NLA_F_NET_BYTEORDER. */
const NLA_TYPE_MASK = 0x3fff
const NLA_HDRLEN = 4
const align = (n: number): number => (n + 3) & ~3
const LITTLE_ENDIAN = endianness() === 'LE'

export function u8(v: number): Buffer {
  return Buffer.of(v)
}
export function u16(v: number): Buffer {
  const b = Buffer.alloc(2)
  if (LITTLE_ENDIAN) b.writeUInt16LE(v)
  else b.writeUInt16BE(v)
  return b
}
export function u32(v: number): Buffer {
  const b = Buffer.alloc(4)
  if (LITTLE_ENDIAN) b.writeUInt32LE(v)
  else b.writeUInt32BE(v)
  return b
}
export function be16(v: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(v)
  return b
}
export function be32(v: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(v)
  return b
}
export const readU16 = (b: Buffer): number => (LITTLE_ENDIAN ? b.readUInt16LE(0) : b.readUInt16BE(0))
export const readU32 = (b: Buffer): number => (LITTLE_ENDIAN ? b.readUInt32LE(0) : b.readUInt32BE(0))

/** One attribute, padded. */
export function attr(type: number, data: Buffer): Buffer {
  const out = Buffer.alloc(align(NLA_HDRLEN + data.length))
  u16(NLA_HDRLEN + data.length).copy(out, 0)
  u16(type).copy(out, 2)
  data.copy(out, NLA_HDRLEN)
  return out
}

/** A nest, flagged NLA_F_NESTED. */
export function nest(type: number, children: Buffer[]): Buffer {
  return attr(type | NLA_F_NESTED, Buffer.concat(children))
}

export type Attrs = Map<number, Buffer>

/**
 * Attributes by type, flags masked off; the last of a repeated type wins, as
 * in the kernel's nla_parse. A string says why the bytes are not attributes.
 */
export function parseAttrs(buf: Buffer): Attrs | string {
  const out: Attrs = new Map()
  let offset = 0
  while (offset + NLA_HDRLEN <= buf.length) {
    const length = readU16(buf.subarray(offset))
    const type = readU16(buf.subarray(offset + 2)) & NLA_TYPE_MASK
    if (length < NLA_HDRLEN || offset + length > buf.length) return `attribute ${type} has length ${length} with ${buf.length - offset} bytes left`
    out.set(type, buf.subarray(offset + NLA_HDRLEN, offset + length))
    offset += align(length)
  }
  // Up to 3 bytes may remain: the last attribute's padding, when the sender counts it.
  return out
}
