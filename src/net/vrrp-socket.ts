/**
 * VRRP sockets, one per (interface, family, unicast|multicast), set up as
 * keepalived 2.2.7 sets up its own (reference §5.1, vrrp.c open_vrrp_send_socket
 * / open_vrrp_read_socket).
 *
 * All sockets are opened through libc (koffi), not raw-socket: IPv6 needs
 * recvmsg for the hop limit, destination and interface (RFC 5798 §7.1 requires
 * the hop-limit check and raw-socket cannot see it), and one code path for both
 * families also avoids raw-socket closing the socket on any poll error and its
 * 4096-byte buffer (platform.md). Sends are synchronous non-blocking sendto /
 * sendmsg (µs each); receives go through the shared poller.
 *
 * IPv4: the caller gives the VRRP payload and we write keepalived's IP header
 * (`send`), or the caller gives a whole IPv4 datagram (`sendIpv4Packet`, for AH,
 * whose ICV covers the IP header). Received IPv4 datagrams are handed up with
 * their header (TTL, addresses, total length) already read.
 */
import * as libc from './libc.js'
import { C } from './libc.js'
import { NetError, syscallError } from './errors.js'
import { addressText } from './ip-address.js'
import { ahHeaderLength, buildIpv4Header, readIpv4Header } from './ipv4-header.js'
import { poller } from './poller.js'
import {
  familyBytes,
  ipMreqn,
  ipv6Mreq,
  ipv6PacketInfo,
  parseIpv4ReceiveInfo,
  parseIpv6ReceiveInfo,
  sockaddrAddress,
  sockaddrIn,
  sockaddrIn6,
} from './sockaddr.js'

/** 224.0.0.18 (RFC 3768 §5.2.2) and ff02::12 (RFC 5798 §5.1.2.2). */
export const VRRP_GROUP_IPV4 = '224.0.0.18'
export const VRRP_GROUP_IPV6 = 'ff02::12'

/** How to open a VRRP socket. */
export interface VrrpSocketOptions {
  /** The instance's interface, by name (e.g. `eth0`). */
  interface: string
  family: 4 | 6
  /** `unicast` when the instance has `unicast_peer`s: no group is joined. */
  mode: 'multicast' | 'unicast'
  /** The group to join and send to; default 224.0.0.18 / ff02::12 (`vrrp_mcast_group4/6`). */
  group?: string
  /**
   * IPv4: the header's source (`mcast_src_ip` / `unicast_src_ip` or the
   * interface's primary address) — required to use `send`. IPv6: the source
   * put in IPV6_PKTINFO (the interface's link-local address); when absent the
   * kernel chooses.
   */
  source?: string
  /** TTL / hop limit of what we send; default 255 (`unicast_ttl` lowers it for unicast). */
  ttl?: number
  /** Also receive IPsec AH (IP protocol 51) adverts; IPv4 only (keepalived's auth_type AH). */
  authenticationHeader?: boolean
}

/** One advert as received, with what the RFC's receive checks need. */
export interface ReceivedVrrp {
  family: 4 | 6
  /** The socket's interface name. */
  interface: string
  /** The receiving interface's index (IP_PKTINFO / IPV6_PKTINFO). */
  ifindex: number
  /** IPv4 TTL or IPv6 hop limit; -1 if the kernel did not say (never expected). */
  ttlOrHopLimit: number
  src: string
  /** The destination address: the group or one of ours. */
  dst: string
  /** The VRRP bytes (after the IP header and any AH header). */
  payload: Buffer
  /** IPv4: the header's total-length field, to compare with `ipPacket.length`. */
  ipTotalLength?: number
  /** IPv4: the whole datagram as received (AH's ICV covers it). */
  ipPacket?: Buffer
  /** IPv4: the AH header, when the advert came as IP protocol 51. */
  ah?: Buffer
  ahPresent: boolean
}

/** A VRRP socket. Nothing on it throws: failures are returned or reported to `onError`. */
export interface VrrpSocket {
  readonly interface: string
  readonly ifindex: number
  readonly family: 4 | 6
  readonly mode: 'multicast' | 'unicast'
  /** The group this socket sends to in multicast mode. */
  readonly group: string
  /**
   * Send VRRP bytes to `destination` (the group, or one unicast peer). IPv4
   * needs `source` in the options (it goes into our IP header).
   */
  send(payload: Buffer, destination: string): NetError | undefined
  /** IPv4 only: send a complete datagram (header included) as the caller built it. */
  sendIpv4Packet(packet: Buffer, destination: string): NetError | undefined
  /** Add a receiver; returns a function that removes it. */
  onPacket(handler: (packet: ReceivedVrrp) => void): () => void
  /** Add a receiver of receive-path failures (recvmsg errors, malformed datagrams, throwing handlers); returns its removal. */
  onError(handler: (error: NetError) => void): () => void
  /** Close the socket(s); safe to call more than once. */
  close(): void
}

const RECEIVE_BUFFER = 65_536
/** Bound the reads per readiness report so one busy socket cannot starve the event loop. */
const MAX_READS_PER_WAKE = 64

/** Open and configure a VRRP socket; a NetError says which step failed and why. */
export function openVrrpSocket(options: VrrpSocketOptions): VrrpSocket | NetError {
  const ifname = options.interface
  const ifindex = libc.ifNameToIndex(ifname)
  if (ifindex === 0) {
    return new NetError('KA_NET_NO_INTERFACE', `interface ${ifname} does not exist`, { operation: 'if_nametoindex', interface: ifname })
  }
  const group = options.group ?? (options.family === 4 ? VRRP_GROUP_IPV4 : VRRP_GROUP_IPV6)
  const groupBytes = familyBytes(group, options.family)
  if (!groupBytes) return invalidAddress(group, ifname)
  const source = options.source === undefined ? undefined : familyBytes(options.source, options.family)
  if (options.source !== undefined && !source) return invalidAddress(options.source, ifname)

  const protocols = options.family === 4 && options.authenticationHeader ? [C.IPPROTO_VRRP, C.IPPROTO_AH] : [C.IPPROTO_VRRP]
  const fds: number[] = []
  for (const protocol of protocols) {
    const fd = openConfigured(options, protocol, ifindex, groupBytes)
    if (fd instanceof NetError) {
      for (const open of fds) libc.close(open)
      return fd
    }
    fds.push(fd)
  }
  return new Socket(options, ifindex, group, source, fds)
}

function invalidAddress(address: string, ifname: string): NetError {
  return new NetError('KA_NET_INVALID_ADDRESS', `'${address}' is not an address of the socket's family`, {
    operation: 'open VRRP socket',
    interface: ifname,
    address,
  })
}

type Option = [level: number, name: number, value: number | Buffer, what: string]

function openConfigured(options: VrrpSocketOptions, protocol: number, ifindex: number, group: Buffer): number | NetError {
  const about = { interface: options.interface }
  const domain = options.family === 4 ? C.AF_INET : C.AF_INET6
  const s = libc.socket(domain, C.SOCK_RAW | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, protocol)
  if (s.value < 0) return syscallError('KA_NET_SOCKET', `socket(${options.family === 4 ? 'AF_INET' : 'AF_INET6'}, SOCK_RAW, ${protocol})`, s.errno, about)
  const fd = s.value
  const ttl = options.ttl ?? 255
  const multicast = options.mode === 'multicast'
  const list: Option[] = [[C.SOL_SOCKET, C.SO_BINDTODEVICE, Buffer.from(`${options.interface}\0`), 'SO_BINDTODEVICE']]
  if (options.family === 4) {
    list.push(
      [C.IPPROTO_IP, C.IP_HDRINCL, 1, 'IP_HDRINCL'],
      [C.IPPROTO_IP, C.IP_PKTINFO, 1, 'IP_PKTINFO'],
      [C.IPPROTO_IP, C.IP_MULTICAST_IF, ipMreqn(Buffer.alloc(4), ifindex), 'IP_MULTICAST_IF'],
      [C.IPPROTO_IP, C.IP_MULTICAST_TTL, ttl, 'IP_MULTICAST_TTL'],
      [C.IPPROTO_IP, C.IP_MULTICAST_LOOP, 0, 'IP_MULTICAST_LOOP'],
      // Without this a raw socket gets every group any socket on the host joined.
      [C.IPPROTO_IP, C.IP_MULTICAST_ALL, 0, 'IP_MULTICAST_ALL'],
    )
    if (multicast) list.push([C.IPPROTO_IP, C.IP_ADD_MEMBERSHIP, ipMreqn(group, ifindex), 'IP_ADD_MEMBERSHIP'])
  } else {
    list.push(
      // The kernel computes and verifies the VRRPv3 checksum at offset 6 (RFC 5798 §5.2.8 with the RFC 2460 pseudo-header).
      [C.IPPROTO_IPV6, C.IPV6_CHECKSUM, 6, 'IPV6_CHECKSUM'],
      [C.IPPROTO_IPV6, C.IPV6_UNICAST_HOPS, ttl, 'IPV6_UNICAST_HOPS'],
      [C.IPPROTO_IPV6, C.IPV6_MULTICAST_HOPS, ttl, 'IPV6_MULTICAST_HOPS'],
      [C.IPPROTO_IPV6, C.IPV6_MULTICAST_IF, ifindex, 'IPV6_MULTICAST_IF'],
      [C.IPPROTO_IPV6, C.IPV6_MULTICAST_LOOP, 0, 'IPV6_MULTICAST_LOOP'],
      [C.IPPROTO_IPV6, C.IPV6_MULTICAST_ALL, 0, 'IPV6_MULTICAST_ALL'],
      [C.IPPROTO_IPV6, C.IPV6_RECVHOPLIMIT, 1, 'IPV6_RECVHOPLIMIT'],
      [C.IPPROTO_IPV6, C.IPV6_RECVPKTINFO, 1, 'IPV6_RECVPKTINFO'],
    )
    if (multicast) list.push([C.IPPROTO_IPV6, C.IPV6_JOIN_GROUP, ipv6Mreq(group, ifindex), 'IPV6_JOIN_GROUP'])
  }
  for (const [level, name, value, what] of list) {
    const r = typeof value === 'number' ? libc.setsockoptInt(fd, level, name, value) : libc.setsockopt(fd, level, name, value)
    if (r.value < 0) {
      libc.close(fd)
      return syscallError('KA_NET_SOCKOPT', `setsockopt ${what}`, r.errno, about)
    }
  }
  return fd
}

class Socket implements VrrpSocket {
  readonly interface: string
  readonly family: 4 | 6
  readonly mode: 'multicast' | 'unicast'
  private readonly packetHandlers: ((p: ReceivedVrrp) => void)[] = []
  private readonly errorHandlers: ((e: NetError) => void)[] = []
  private readonly data = Buffer.alloc(RECEIVE_BUFFER)
  private readonly name = Buffer.alloc(28)
  private readonly control = Buffer.alloc(256)
  private readonly ttl: number
  private nextId = 0
  private closed = false

  constructor(
    options: VrrpSocketOptions,
    readonly ifindex: number,
    readonly group: string,
    private readonly source: Buffer | undefined,
    private readonly fds: number[],
  ) {
    this.interface = options.interface
    this.family = options.family
    this.mode = options.mode
    this.ttl = options.ttl ?? 255
    for (const fd of fds) poller.add(fd, () => this.drain(fd))
  }

  send(payload: Buffer, destination: string): NetError | undefined {
    const closed = this.closedError('send', destination)
    if (closed) return closed
    const dst = familyBytes(destination, this.family)
    if (!dst) return invalidAddress(destination, this.interface)
    if (this.family === 6) {
      // Link-local peers need the scope; the pktinfo pins interface and source.
      const to = sockaddrIn6(dst, this.ifindex)
      const r = libc.sendmsg(this.fds[0]!, payload, 0, to, ipv6PacketInfo(this.source, this.ifindex))
      return r.value < 0 ? syscallError('KA_NET_SEND', 'sendmsg', r.errno, { interface: this.interface, address: destination }) : undefined
    }
    if (!this.source) {
      return new NetError('KA_NET_INVALID_ADDRESS', `no IPv4 source address for adverts on ${this.interface}`, {
        operation: 'send',
        interface: this.interface,
        address: destination,
      })
    }
    // keepalived: the ID goes up per advert and is never 0.
    this.nextId = (this.nextId % 0xffff) + 1
    const header = buildIpv4Header({ source: this.source, destination: dst, payloadLength: payload.length, id: this.nextId, ttl: this.ttl })
    return this.sendIpv4(Buffer.concat([header, payload]), dst, destination)
  }

  sendIpv4Packet(packet: Buffer, destination: string): NetError | undefined {
    const closed = this.closedError('send', destination)
    if (closed) return closed
    const dst = this.family === 4 ? familyBytes(destination, 4) : undefined
    if (!dst) return invalidAddress(destination, this.interface)
    return this.sendIpv4(packet, dst, destination)
  }

  private sendIpv4(packet: Buffer, dst: Buffer, destination: string): NetError | undefined {
    // keepalived sends multicast adverts with MSG_DONTROUTE: they never leave via a gateway.
    const flags = this.mode === 'multicast' && (dst[0]! & 0xf0) === 0xe0 ? C.MSG_DONTROUTE : 0
    const r = libc.sendto(this.fds[0]!, packet, flags, sockaddrIn(dst))
    return r.value < 0 ? syscallError('KA_NET_SEND', 'sendto', r.errno, { interface: this.interface, address: destination }) : undefined
  }

  onPacket(handler: (packet: ReceivedVrrp) => void): () => void {
    return subscribe(this.packetHandlers, handler)
  }

  onError(handler: (error: NetError) => void): () => void {
    return subscribe(this.errorHandlers, handler)
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    for (const fd of this.fds) poller.removeAndClose(fd)
  }

  private closedError(operation: string, address: string): NetError | undefined {
    if (!this.closed) return undefined
    return new NetError('KA_NET_CLOSED', `the VRRP socket on ${this.interface} is closed`, { operation, interface: this.interface, address })
  }

  private drain(fd: number): void {
    for (let i = 0; i < MAX_READS_PER_WAKE && !this.closed; i++) {
      const r = libc.recvmsg(fd, this.data, this.name, this.control, C.MSG_DONTWAIT)
      if (r.value < 0) {
        if (r.errno === C.EAGAIN || r.errno === C.EINTR) return
        this.report(syscallError('KA_NET_RECV', 'recvmsg', r.errno, { interface: this.interface }))
        return
      }
      if (r.flags & C.MSG_TRUNC) {
        this.report(this.malformed(`datagram longer than ${RECEIVE_BUFFER} bytes, dropped`))
        continue
      }
      const packet = this.family === 4 ? this.readIpv4(r) : this.readIpv6(r)
      if (packet instanceof NetError) this.report(packet)
      else this.deliver(packet)
    }
  }

  private readIpv4(r: libc.RecvResult): ReceivedVrrp | NetError {
    const ipPacket = Buffer.from(this.data.subarray(0, r.value))
    const ip = readIpv4Header(ipPacket)
    if (!ip) return this.malformed(`${r.value}-byte datagram without a valid IPv4 header`)
    let offset = ip.headerLength
    let ah: Buffer | undefined
    if (ip.protocol === C.IPPROTO_AH) {
      const length = ahHeaderLength(ipPacket.subarray(offset))
      if (length === undefined) return this.malformed('truncated AH header')
      ah = ipPacket.subarray(offset, offset + length)
      offset += length
    }
    const info = parseIpv4ReceiveInfo(this.control, r.controlLength)
    return {
      family: 4,
      interface: this.interface,
      ifindex: info.ifindex ?? this.ifindex,
      ttlOrHopLimit: ip.ttl,
      src: addressText(ip.source),
      dst: addressText(ip.destination),
      payload: ipPacket.subarray(offset),
      ipTotalLength: ip.totalLength,
      ipPacket,
      ...(ah ? { ah } : {}),
      ahPresent: ah !== undefined,
    }
  }

  private readIpv6(r: libc.RecvResult): ReceivedVrrp | NetError {
    const src = sockaddrAddress(this.name, r.nameLength)
    if (src === undefined) return this.malformed('datagram without an IPv6 source address')
    const info = parseIpv6ReceiveInfo(this.control, r.controlLength)
    if (info.destination === undefined) return this.malformed('no IPV6_PKTINFO with the datagram')
    return {
      family: 6,
      interface: this.interface,
      ifindex: info.ifindex ?? this.ifindex,
      ttlOrHopLimit: info.hopLimit ?? -1,
      src,
      dst: info.destination,
      payload: Buffer.from(this.data.subarray(0, r.value)),
      ahPresent: false,
    }
  }

  private malformed(what: string): NetError {
    return new NetError('KA_NET_MALFORMED', `VRRP socket on ${this.interface}: ${what}`, { operation: 'recvmsg', interface: this.interface })
  }

  private deliver(packet: ReceivedVrrp): void {
    for (const handler of [...this.packetHandlers]) {
      try {
        handler(packet)
      } catch (cause) {
        this.report(new NetError('KA_NET_HANDLER', `a VRRP packet handler on ${this.interface} threw`, { operation: 'onPacket', interface: this.interface, cause }))
      }
    }
  }

  private report(error: NetError): void {
    for (const handler of [...this.errorHandlers]) {
      try {
        handler(error)
      } catch {
        // An error handler that throws has nowhere further to report to.
      }
    }
  }
}

function subscribe<T>(list: T[], handler: T): () => void {
  list.push(handler)
  return () => {
    const i = list.indexOf(handler)
    if (i >= 0) list.splice(i, 1)
  }
}
