/**
 * Kernel structures as bytes: sockaddrs, multicast requests and ancillary
 * (cmsg) data. Layouts from /usr/include (netinet/in.h, linux/if_packet.h,
 * bits/socket.h) for 64-bit Linux: a cmsghdr is {size_t len; int level; int type}
 * = 16 bytes and CMSG_ALIGN rounds to 8.
 */
import { C } from './libc.js'
import { addressBytes, addressText } from './ip-address.js'

/** struct sockaddr_in (16 bytes); port 0 for raw sockets, which have none. */
export function sockaddrIn(address: Buffer, port = 0): Buffer {
  const b = Buffer.alloc(16)
  b.writeUInt16LE(C.AF_INET, 0)
  b.writeUInt16BE(port, 2)
  address.copy(b, 4, 0, 4)
  return b
}

/** struct sockaddr_in6 (28 bytes); the scope id is the interface index for link-local peers. */
export function sockaddrIn6(address: Buffer, scopeId = 0, port = 0): Buffer {
  const b = Buffer.alloc(28)
  b.writeUInt16LE(C.AF_INET6, 0)
  b.writeUInt16BE(port, 2)
  address.copy(b, 8, 0, 16)
  b.writeUInt32LE(scopeId, 24)
  return b
}

/**
 * struct sockaddr_ll (20 bytes) for sending a whole Ethernet frame: only the
 * family, interface index and address length matter when sending on a
 * SOCK_RAW packet socket (packet(7)); the frame carries its own header.
 */
export function sockaddrLl(ifindex: number, destinationMac: Buffer, protocol = 0): Buffer {
  const b = Buffer.alloc(20)
  b.writeUInt16LE(C.AF_PACKET, 0)
  b.writeUInt16BE(protocol, 2)
  b.writeInt32LE(ifindex, 4)
  b.writeUInt8(destinationMac.length, 11)
  destinationMac.copy(b, 12, 0, Math.min(8, destinationMac.length))
  return b
}

/** struct ip_mreqn (12 bytes): group, local address 0 (the kernel picks), interface index. */
export function ipMreqn(group: Buffer, ifindex: number): Buffer {
  const b = Buffer.alloc(12)
  group.copy(b, 0, 0, 4)
  b.writeInt32LE(ifindex, 8)
  return b
}

/** struct ipv6_mreq (20 bytes): group, interface index. */
export function ipv6Mreq(group: Buffer, ifindex: number): Buffer {
  const b = Buffer.alloc(20)
  group.copy(b, 0, 0, 16)
  b.writeUInt32LE(ifindex, 16)
  return b
}

/** The sender's address from a sockaddr_in / sockaddr_in6 that recvmsg filled, or undefined. */
export function sockaddrAddress(name: Buffer, length: number): string | undefined {
  if (length < 2) return undefined
  const family = name.readUInt16LE(0)
  if (family === C.AF_INET && length >= 8) return addressText(name.subarray(4, 8))
  if (family === C.AF_INET6 && length >= 24) return addressText(name.subarray(8, 24))
  return undefined
}

const CMSG_HEADER = 16
const cmsgAlign = (n: number): number => (n + 7) & ~7

/** One ancillary-data block: a cmsghdr and its payload, padded (CMSG_SPACE). */
export function cmsg(level: number, type: number, data: Buffer): Buffer {
  const b = Buffer.alloc(cmsgAlign(CMSG_HEADER + data.length))
  b.writeBigUInt64LE(BigInt(CMSG_HEADER + data.length), 0)
  b.writeInt32LE(level, 8)
  b.writeInt32LE(type, 12)
  data.copy(b, CMSG_HEADER)
  return b
}

/** IPV6_PKTINFO for sendmsg: the source address (zero = kernel's choice) and outgoing interface. */
export function ipv6PacketInfo(source: Buffer | undefined, ifindex: number): Buffer {
  const info = Buffer.alloc(20)
  source?.copy(info, 0, 0, 16)
  info.writeUInt32LE(ifindex, 16)
  return cmsg(C.IPPROTO_IPV6, C.IPV6_PKTINFO, info)
}

/** The ancillary data of one received IPv6 datagram that VRRP needs (RFC 5798 §5.1.2, §7.1). */
export interface Ipv6ReceiveInfo {
  hopLimit?: number
  destination?: string
  ifindex?: number
}

/** The ancillary data of one received IPv4 datagram (IP_PKTINFO). */
export interface Ipv4ReceiveInfo {
  ifindex?: number
}

/** Walk the cmsg blocks recvmsg wrote and call `visit` for each (level, type, payload). */
export function forEachCmsg(control: Buffer, length: number, visit: (level: number, type: number, data: Buffer) => void): void {
  let offset = 0
  while (offset + CMSG_HEADER <= length) {
    const len = Number(control.readBigUInt64LE(offset))
    if (len < CMSG_HEADER || offset + len > length) return
    visit(control.readInt32LE(offset + 8), control.readInt32LE(offset + 12), control.subarray(offset + CMSG_HEADER, offset + len))
    offset += cmsgAlign(len)
  }
}

/** Hop limit, destination and interface from IPV6_HOPLIMIT / IPV6_PKTINFO blocks. */
export function parseIpv6ReceiveInfo(control: Buffer, length: number): Ipv6ReceiveInfo {
  const info: Ipv6ReceiveInfo = {}
  forEachCmsg(control, length, (level, type, data) => {
    if (level !== C.IPPROTO_IPV6) return
    if (type === C.IPV6_HOPLIMIT && data.length >= 4) info.hopLimit = data.readInt32LE(0)
    if (type === C.IPV6_PKTINFO && data.length >= 20) {
      info.destination = addressText(data.subarray(0, 16))
      info.ifindex = data.readUInt32LE(16)
    }
  })
  return info
}

/** Interface index from an IP_PKTINFO block (struct in_pktinfo: ifindex, spec_dst, addr). */
export function parseIpv4ReceiveInfo(control: Buffer, length: number): Ipv4ReceiveInfo {
  const info: Ipv4ReceiveInfo = {}
  forEachCmsg(control, length, (level, type, data) => {
    if (level === C.IPPROTO_IP && type === C.IP_PKTINFO && data.length >= 12) info.ifindex = data.readInt32LE(0)
  })
  return info
}

/** Address bytes of the right family, or undefined. */
export function familyBytes(text: string, family: 4 | 6): Buffer | undefined {
  const b = addressBytes(text)
  return b && b.length === (family === 4 ? 4 : 16) ? b : undefined
}
