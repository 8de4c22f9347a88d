/**
 * The Ethernet frames a new master sends so that neighbours relearn where its
 * VIPs live (reference §5.8): a gratuitous ARP per IPv4 VIP and an unsolicited
 * Neighbour Advertisement per IPv6 VIP. Byte-identical to keepalived 2.2.7's
 * (test/fixtures/vrrp): 42 and 86 bytes, not padded to Ethernet's 60-byte
 * minimum — keepalived hands the short frame to a packet socket and the NIC
 * pads it on the wire, if it pads at all.
 */
import { requireAddress } from './address.js'
import { internetChecksum, IPPROTO_ICMPV6, ipv6PseudoHeaderSum } from './checksum.js'

export const ETHERTYPE_IPV4 = 0x0800
export const ETHERTYPE_ARP = 0x0806
export const ETHERTYPE_IPV6 = 0x86dd
export const ETHERNET_HEADER_LENGTH = 14
/** Ethernet + ARP for IPv4 over Ethernet (RFC 826). */
export const GRATUITOUS_ARP_LENGTH = 42
/** Ethernet + IPv6 + NA (24) + Target Link-Layer Address option (8). */
export const NEIGHBOUR_ADVERT_LENGTH = 86

const BROADCAST_MAC = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
/** ff02::1, all nodes, and its Ethernet multicast address (RFC 2464 §7). */
const ALL_NODES = 'ff02::1'
const ALL_NODES_MAC = Buffer.from([0x33, 0x33, 0x00, 0x00, 0x00, 0x01])
const ARP_REQUEST = 1
const ICMPV6_NEIGHBOUR_ADVERT = 136
const NA_FLAG_ROUTER = 0x80
const NA_FLAG_OVERRIDE = 0x20
const OPTION_TARGET_LINK_LAYER_ADDRESS = 2

/** `aa:bb:cc:dd:ee:ff` (also `-` separated, any case) as 6 bytes; undefined when it is not a MAC address. */
export function macToBuffer(mac: string): Buffer | undefined {
  const parts = mac.split(/[:-]/)
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-f]{1,2}$/i.test(p))) return undefined
  return Buffer.from(parts.map((p) => parseInt(p, 16)))
}

/** 6 bytes as lower-case `aa:bb:cc:dd:ee:ff`, the way `ip link` prints them. */
export function formatMac(mac: Uint8Array): string {
  if (mac.length !== 6) throw new RangeError(`a MAC address has 6 bytes, not ${mac.length}`)
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':')
}

function requireMac(mac: string | Uint8Array): Buffer {
  const bytes = typeof mac === 'string' ? macToBuffer(mac) : Buffer.from(mac)
  if (!bytes || bytes.length !== 6) throw new RangeError(`'${String(mac)}' is not a MAC address`)
  return bytes
}

function ethernetHeader(dst: Buffer, src: Buffer, ethertype: number): Buffer {
  const out = Buffer.alloc(ETHERNET_HEADER_LENGTH)
  dst.copy(out, 0)
  src.copy(out, 6)
  out.writeUInt16BE(ethertype, 12)
  return out
}

/**
 * A gratuitous ARP for `vip` from `mac` (the interface's MAC, or the VMAC):
 * broadcast, ARP request (op 1, as keepalived sends, not a reply), sender and
 * target IP both the VIP, target hardware address ff:ff:ff:ff:ff:ff.
 */
export function buildGratuitousArp(mac: string | Uint8Array, vip: string): Buffer {
  const src = requireMac(mac)
  const ip = requireAddress(vip, 4, 'VIP')
  const arp = Buffer.alloc(GRATUITOUS_ARP_LENGTH - ETHERNET_HEADER_LENGTH)
  arp.writeUInt16BE(1, 0) // hardware type: Ethernet
  arp.writeUInt16BE(ETHERTYPE_IPV4, 2)
  arp[4] = 6 // hardware address length
  arp[5] = 4 // protocol address length
  arp.writeUInt16BE(ARP_REQUEST, 6)
  src.copy(arp, 8)
  ip.copy(arp, 14)
  BROADCAST_MAC.copy(arp, 18)
  ip.copy(arp, 24)
  return Buffer.concat([ethernetHeader(BROADCAST_MAC, src, ETHERTYPE_ARP), arp])
}

export interface NeighbourAdvertOptions {
  /** Set the Router flag: keepalived does when IPv6 forwarding is on for the interface. */
  readonly router?: boolean
}

/**
 * An unsolicited Neighbour Advertisement (RFC 4861 §4.4, §7.2.6) for `vip`:
 * from the VIP itself to all nodes, hop limit 255, Override set and Solicited
 * clear, with a Target Link-Layer Address option carrying `mac`.
 */
export function buildUnsolicitedNeighbourAdvert(mac: string | Uint8Array, vip: string, opts: NeighbourAdvertOptions = {}): Buffer {
  const src = requireMac(mac)
  const target = requireAddress(vip, 6, 'VIP')
  const allNodes = requireAddress(ALL_NODES, 6, 'destination')
  const icmp = Buffer.alloc(NEIGHBOUR_ADVERT_LENGTH - ETHERNET_HEADER_LENGTH - 40)
  icmp[0] = ICMPV6_NEIGHBOUR_ADVERT
  icmp[4] = NA_FLAG_OVERRIDE | (opts.router ? NA_FLAG_ROUTER : 0)
  target.copy(icmp, 8)
  icmp[24] = OPTION_TARGET_LINK_LAYER_ADDRESS
  icmp[25] = 1 // option length in units of 8 bytes
  src.copy(icmp, 26)
  icmp.writeUInt16BE(internetChecksum(icmp, ipv6PseudoHeaderSum(target, allNodes, IPPROTO_ICMPV6, icmp.length)), 2)

  const ip6 = Buffer.alloc(40)
  ip6[0] = 0x60 // version 6; traffic class and flow label 0, as keepalived's frames have
  ip6.writeUInt16BE(icmp.length, 4)
  ip6[6] = IPPROTO_ICMPV6
  ip6[7] = 255 // RFC 4861 §7.1.2: receivers drop NAs with any other hop limit
  target.copy(ip6, 8)
  allNodes.copy(ip6, 24)
  return Buffer.concat([ethernetHeader(ALL_NODES_MAC, src, ETHERTYPE_IPV6), ip6, icmp])
}
