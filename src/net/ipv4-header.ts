/**
 * The IPv4 header keepalived writes itself on its IP_HDRINCL socket
 * (reference §5.1, vrrp.c vrrp_build_ip4): version 4, IHL 5, TOS 0xc0
 * (internetwork control), an ID that increases per advert and is never 0,
 * no fragmentation, TTL 255, protocol 112 (51 with AH). The checksum is left 0:
 * with IP_HDRINCL Linux always fills it in (raw(7)), and the total length too.
 */
import { C } from './libc.js'

/** The fields of an IPv4 header that VRRP chooses. */
export interface Ipv4HeaderFields {
  /** 4 address bytes. */
  source: Buffer
  /** 4 address bytes: the group, or the unicast peer. */
  destination: Buffer
  /** Bytes after the header (VRRP, or AH + VRRP). */
  payloadLength: number
  /** Identification; keepalived increments it per advert. */
  id: number
  /** Default 255 (RFC 3768 §5.2.3 / RFC 5798 §5.1.1.3; unicast_ttl may lower it). */
  ttl?: number
  /** Default 112; 51 when an AH header follows. */
  protocol?: number
  /** Default 0xc0, as keepalived (IPTOS_PREC_INTERNETCONTROL). */
  tos?: number
}

/** Length of the header we write (no options). */
export const IPV4_HEADER_LENGTH = 20

/** A 20-byte IPv4 header with the checksum left for the kernel. */
export function buildIpv4Header(f: Ipv4HeaderFields): Buffer {
  const h = Buffer.alloc(IPV4_HEADER_LENGTH)
  h[0] = 0x45
  h[1] = f.tos ?? 0xc0
  // Masked so an oversize payload is refused by the kernel (EMSGSIZE), not by a RangeError here.
  h.writeUInt16BE((IPV4_HEADER_LENGTH + f.payloadLength) & 0xffff, 2)
  h.writeUInt16BE(f.id & 0xffff, 4)
  h[8] = f.ttl ?? 255
  h[9] = f.protocol ?? C.IPPROTO_VRRP
  f.source.copy(h, 12, 0, 4)
  f.destination.copy(h, 16, 0, 4)
  return h
}

/** What a received IPv4 datagram's header says, as far as VRRP needs it. */
export interface Ipv4HeaderView {
  headerLength: number
  totalLength: number
  ttl: number
  protocol: number
  source: Buffer
  destination: Buffer
}

/** Read an IPv4 header; undefined when the bytes cannot be one. */
export function readIpv4Header(packet: Buffer): Ipv4HeaderView | undefined {
  if (packet.length < IPV4_HEADER_LENGTH || packet[0]! >> 4 !== 4) return undefined
  const headerLength = (packet[0]! & 0x0f) * 4
  if (headerLength < IPV4_HEADER_LENGTH || headerLength > packet.length) return undefined
  return {
    headerLength,
    totalLength: packet.readUInt16BE(2),
    ttl: packet[8]!,
    protocol: packet[9]!,
    source: packet.subarray(12, 16),
    destination: packet.subarray(16, 20),
  }
}

/**
 * Length of an IPsec AH header from its payload-length byte (RFC 4302 §2.2:
 * length in 32-bit words minus 2); undefined when it does not fit.
 */
export function ahHeaderLength(afterIpHeader: Buffer): number | undefined {
  if (afterIpHeader.length < 12) return undefined
  const length = (afterIpHeader[1]! + 2) * 4
  return length <= afterIpHeader.length ? length : undefined
}
