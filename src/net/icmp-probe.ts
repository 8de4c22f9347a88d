/**
 * One ICMP / ICMPv6 echo exchange for PING_CHECK: the caller builds the echo
 * request and says which received message is its reply (check/ping.ts holds
 * the codec); this file only owns the socket.
 *
 * keepalived uses "ping" sockets (SOCK_DGRAM, IPPROTO_ICMP/ICMPV6) and widens
 * net.ipv4.ping_group_range so it may open them. We try a ping socket first
 * and, when the range does not include our group (EACCES — the default in a
 * new network namespace), fall back to a raw socket, which needs CAP_NET_RAW:
 * root, as keepalived itself runs. On a ping socket the kernel puts the
 * socket's "port" into the echo identifier and only hands back replies
 * carrying it, so we bind to the request's identifier to keep it; it also
 * computes the checksum. On a raw socket we see every ICMP message (an
 * ICMP_FILTER / ICMP6_FILTER lets only echo replies through), IPv4 ones with
 * their IP header, which is stripped here; the IPv4 checksum is the caller's,
 * the ICMPv6 one the kernel's (RFC 3542 §3.1).
 */
import { type ExchangeCommon, type ExchangeResult, exchangeOnSocket, K, openSocket, sockaddrFor } from './datagram-probe.js'
import { C } from './libc.js'
import { NetError } from './errors.js'
import { addressFamily, addressText } from './ip-address.js'
import { familyBytes } from './sockaddr.js'

export type IcmpSocketKind = 'datagram' | 'raw'

export interface IcmpEchoOptions extends ExchangeCommon {
  /**
   * The ICMP message to send (echo request: type, code, checksum, identifier,
   * sequence, data). A ping socket is bound to its identifier, so it should not be 0.
   */
  readonly request: Buffer
  /** Whether a received ICMP message (header first, no IP header) from `from` is the reply. */
  readonly accept: (message: Buffer, from: string) => boolean
  /** Which socket to use; default a ping socket, else a raw one. */
  readonly socketKind?: IcmpSocketKind | 'auto' | undefined
}

export type IcmpEchoResult = ExchangeResult & { readonly socketKind: IcmpSocketKind | undefined }

/** SOL_RAW / ICMP_FILTER (linux/icmp.h) and ICMP6_FILTER (linux/icmpv6.h). */
const SOL_RAW = 255
const ICMP_FILTER = 1
const ICMP6_FILTER = 1
const ICMP_ECHOREPLY = 0
const ICMPV6_ECHO_REPLY = 129
const EACCES = 13
const EPERM = 1
const EPROTONOSUPPORT = 93
/** keepalived's recv buffer: the 8-byte header and 128 bytes of data; a raw IPv4 socket adds up to 60 bytes of IP header. */
const RECEIVE_SIZE = 8 + 128 + 60

/** Send one echo request to `address` and wait for the reply `accept` recognises. */
export function icmpEcho(options: IcmpEchoOptions): Promise<IcmpEchoResult> {
  const started = performance.now()
  const family = addressFamily(options.address)
  const dst = family === undefined ? undefined : familyBytes(options.address, family)
  if (family === undefined || !dst) {
    const error = new NetError('KA_NET_INVALID_ADDRESS', `'${options.address}' is not an IP address`, { operation: 'icmp echo', address: options.address })
    return Promise.resolve({ kind: 'failed', error, latencyMs: performance.now() - started, socketKind: undefined })
  }
  const protocol = family === 4 ? K.IPPROTO_ICMP : K.IPPROTO_ICMPV6
  const kind = options.socketKind ?? 'auto'
  let socketKind: IcmpSocketKind = kind === 'raw' ? 'raw' : 'datagram'
  let fd = socketKind === 'datagram' ? openSocket(family, K.SOCK_DGRAM, protocol, options, [], identifierOf(options.request)) : undefined
  if (kind === 'auto' && fd instanceof NetError && pingSocketRefused(fd)) {
    socketKind = 'raw'
    fd = undefined
  }
  fd ??= openSocket(family, C.SOCK_RAW, protocol, options, [rawFilter(family)], 0)
  if (fd instanceof NetError) return Promise.resolve({ kind: 'failed', error: fd, latencyMs: performance.now() - started, socketKind })
  const expected = addressText(dst)
  const stripIpHeader = socketKind === 'raw' && family === 4
  return exchangeOnSocket({
    fd,
    family,
    started,
    destination: sockaddrFor(family, dst, 0),
    request: options.request,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    receiveSize: RECEIVE_SIZE,
    address: options.address,
    take: (data, from) => {
      if (from !== expected) return undefined
      const message = stripIpHeader ? withoutIpv4Header(data) : data
      return message && options.accept(message, from) ? message : undefined
    },
    endOnIcmpError: () => false,
  }).then((result) => ({ ...result, socketKind }))
}

/**
 * No ping socket for us: our group is outside ping_group_range or the kernel
 * has none (socket() fails), or another ping socket holds this identifier
 * (where the kernel refuses the second bind; some let both bind, and then the
 * sequence number keeps the other exchange from taking our reply, though the
 * kernel may hand it to that socket and our attempt time out — a 1 in 65535
 * chance per pair of simultaneous attempts).
 */
function pingSocketRefused(error: NetError): boolean {
  const errno = error.errno?.number
  if (error.code === 'KA_NET_BIND') return errno === K.EADDRINUSE
  return error.code === 'KA_NET_SOCKET' && (errno === EACCES || errno === EPERM || errno === EPROTONOSUPPORT)
}

/** The echo identifier (bytes 4–5), which a ping socket takes from its bound port. */
function identifierOf(request: Buffer): number {
  return request.length >= 6 ? request.readUInt16BE(4) : 0
}

/** Let only echo replies reach a raw socket (a set bit blocks that type). */
function rawFilter(family: 4 | 6): readonly [number, number, Buffer, string] {
  if (family === 4) {
    const mask = Buffer.alloc(4)
    mask.writeUInt32LE((~(1 << ICMP_ECHOREPLY)) >>> 0)
    return [SOL_RAW, ICMP_FILTER, mask, 'ICMP_FILTER']
  }
  const filter = Buffer.alloc(32, 0xff)
  const word = ICMPV6_ECHO_REPLY >> 5
  filter.writeUInt32LE((filter.readUInt32LE(word * 4) & ~(1 << (ICMPV6_ECHO_REPLY & 31))) >>> 0, word * 4)
  return [K.IPPROTO_ICMPV6, ICMP6_FILTER, filter, 'ICMP6_FILTER']
}

function withoutIpv4Header(packet: Buffer): Buffer | undefined {
  if (packet.length < 20 || packet[0]! >> 4 !== 4) return undefined
  const headerLength = (packet[0]! & 0x0f) * 4
  return packet.length >= headerLength ? packet.subarray(headerLength) : undefined
}
