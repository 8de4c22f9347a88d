/**
 * One datagram exchange for the health checkers (UDP_CHECK, DNS_CHECK, and the
 * ICMP echo of icmp-probe.ts): send one request, then wait — up to a timeout,
 * abortable — for the reply the caller accepts, or for an ICMP error about it.
 *
 * The socket is a koffi one with IP_RECVERR / IPV6_RECVERR, as keepalived's
 * udp_bind_connect sets: Node's dgram cannot set that option, and without it
 * Linux reports only "hard" ICMP errors (port unreachable) and drops the rest
 * (host unreachable after a failed neighbour resolution), so a UDP_CHECK on a
 * dead host would pass. With it every ICMP error arrives on the error queue
 * with its type and code, and the caller decides which ones end the exchange
 * ({@link isHardIcmpError} says which ones a plain connected socket would see).
 * The socket is not connected (libc.ts has no connect(2)); replies are taken
 * only from the destination address and port, which is what connect gives.
 *
 * Nothing here throws: every outcome is a value, and the socket, the poller
 * registration, the timer and the abort listener are released on every path.
 */
import * as libc from './libc.js'
import { C } from './libc.js'
import { type Errno, errnoOf, NetError, syscallError } from './errors.js'
import { addressFamily, addressText } from './ip-address.js'
import { poller } from './poller.js'
import { familyBytes, forEachCmsg, sockaddrAddress, sockaddrIn, sockaddrIn6 } from './sockaddr.js'

/** Linux values libc.ts's C does not have yet (bits/socket.h, linux/in.h, linux/in6.h, linux/errqueue.h). */
export const K = {
  SOCK_DGRAM: 2,
  IPPROTO_ICMP: 1,
  IPPROTO_UDP: 17,
  IPPROTO_ICMPV6: 58,
  SO_MARK: 36,
  IP_RECVERR: 11,
  IPV6_RECVERR: 25,
  MSG_ERRQUEUE: 0x2000,
  EADDRINUSE: 98,
  SO_EE_ORIGIN_ICMP: 2,
  SO_EE_ORIGIN_ICMP6: 3,
  ICMP_DEST_UNREACH: 3,
  ICMP_PARAMETERPROB: 12,
  ICMPV6_DEST_UNREACH: 1,
  ICMPV6_PKT_TOOBIG: 2,
  ICMPV6_PARAMPROB: 4,
} as const

/** An ICMP error the kernel queued about our datagram (struct sock_extended_err). */
export interface IcmpError {
  /** The errno the kernel maps it to (ECONNREFUSED for port unreachable). */
  readonly errno: Errno
  readonly family: 4 | 6
  /** ICMP / ICMPv6 type and code. */
  readonly type: number
  readonly code: number
  /** Destination unreachable (ICMP type 3, ICMPv6 type 1), any code. */
  readonly unreachable: boolean
  /** Port unreachable: nothing listens there. */
  readonly refused: boolean
  /** Who sent the ICMP error (the peer, a router, or ourselves after a failed neighbour lookup). */
  readonly offender: string | undefined
}

export type ExchangeResult =
  | { readonly kind: 'reply'; readonly data: Buffer; readonly from: string; readonly latencyMs: number }
  | { readonly kind: 'timeout'; readonly latencyMs: number }
  | { readonly kind: 'icmp-error'; readonly error: IcmpError; readonly latencyMs: number }
  | { readonly kind: 'aborted'; readonly latencyMs: number }
  /** The socket could not be made, bound or sent on, or recv failed (`error.code` says which). */
  | { readonly kind: 'failed'; readonly error: NetError; readonly latencyMs: number }

/** Where the request goes from and how long to wait; common to UDP and ICMP. */
export interface ExchangeCommon {
  /** Destination address (IPv4 or IPv6 text). */
  readonly address: string
  readonly timeoutMs: number
  readonly signal?: AbortSignal | undefined
  /** Source address to bind (`bindto`). */
  readonly bindAddress?: string | undefined
  /** SO_BINDTODEVICE (`bind_if`). */
  readonly bindInterface?: string | undefined
  /** SO_MARK (`fwmark`). */
  readonly fwmark?: number | undefined
}

export interface DatagramProbeOptions extends ExchangeCommon {
  readonly port: number
  readonly payload: Buffer
  /** Source port to bind (`bind_port`); ephemeral when absent. */
  readonly bindPort?: number | undefined
  /** Bytes read per datagram; longer replies are cut (keepalived reads max_reply_length + 1). Default 65535. */
  readonly receiveSize?: number | undefined
  /** Which datagrams from the destination are the reply; default every one. Others are ignored. */
  readonly accept?: ((reply: Buffer) => boolean) | undefined
  /** Which ICMP errors end the exchange; default every one. Others are ignored and the wait goes on. */
  readonly endOnIcmpError?: ((error: IcmpError) => boolean) | undefined
}

/** Send `payload` to address:port over UDP and wait for the accepted reply, an ICMP error or the timeout. */
export function udpExchange(options: DatagramProbeOptions): Promise<ExchangeResult> {
  const started = performance.now()
  const family = addressFamily(options.address)
  const dst = family === undefined ? undefined : familyBytes(options.address, family)
  if (family === undefined || !dst) return Promise.resolve(failed(invalid(options.address, 'udp probe'), started))
  const opened = openSocket(family, K.SOCK_DGRAM, K.IPPROTO_UDP, options, [
    family === 4 ? [C.IPPROTO_IP, K.IP_RECVERR, 1, 'IP_RECVERR'] : [C.IPPROTO_IPV6, K.IPV6_RECVERR, 1, 'IPV6_RECVERR'],
  ], options.bindPort ?? 0)
  if (opened instanceof NetError) return Promise.resolve(failed(opened, started))
  const port = options.port
  const expected = addressText(dst)
  return exchangeOnSocket({
    fd: opened,
    family,
    started,
    destination: sockaddrFor(family, dst, port),
    request: options.payload,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    receiveSize: options.receiveSize ?? 65_535,
    address: options.address,
    take: (data, from, fromPort) => from === expected && fromPort === port && (options.accept?.(data) ?? true) ? data : undefined,
    endOnIcmpError: options.endOnIcmpError ?? (() => true),
  })
}

/**
 * Whether an ICMP error is one Linux reports even on a socket without
 * IP_RECVERR (icmp_err_convert / icmpv6_err_convert "fatal" entries): port and
 * protocol unreachable, unknown or administratively prohibited destinations,
 * parameter problems. keepalived's DNS_CHECK, which does not set IP_RECVERR,
 * sees only these; the others (host unreachable, time exceeded) time out there.
 */
export function isHardIcmpError(e: IcmpError): boolean {
  if (e.family === 4) {
    if (e.type === K.ICMP_PARAMETERPROB) return true
    return e.type === K.ICMP_DEST_UNREACH && [2, 3, 6, 7, 8, 9, 10, 13, 14, 15].includes(e.code)
  }
  if (e.type === K.ICMPV6_PARAMPROB || e.type === K.ICMPV6_PKT_TOOBIG) return true
  return e.type === K.ICMPV6_DEST_UNREACH && [1, 4, 5, 6].includes(e.code)
}

type Option = readonly [level: number, name: number, value: number | Buffer, what: string]

/**
 * A non-blocking socket with the checker's options (SO_MARK, SO_BINDTODEVICE),
 * `extra` options and the bind the options ask for (`bindPort` is the local
 * port, or a ping socket's echo identifier). Shared with icmp-probe.ts.
 */
export function openSocket(family: 4 | 6, type: number, protocol: number, common: ExchangeCommon, extra: readonly Option[], bindPort: number): number | NetError {
  const about = { address: common.address, interface: common.bindInterface }
  const s = libc.socket(family === 4 ? C.AF_INET : C.AF_INET6, type | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, protocol)
  if (s.value < 0) return syscallError('KA_NET_SOCKET', `socket(${family === 4 ? 'AF_INET' : 'AF_INET6'}, ${type}, ${protocol})`, s.errno, about)
  const fd = s.value
  const list: Option[] = [...extra]
  if (common.fwmark) list.push([C.SOL_SOCKET, K.SO_MARK, common.fwmark, 'SO_MARK'])
  if (common.bindInterface !== undefined) list.push([C.SOL_SOCKET, C.SO_BINDTODEVICE, Buffer.from(`${common.bindInterface}\0`), 'SO_BINDTODEVICE'])
  for (const [level, name, value, what] of list) {
    const r = typeof value === 'number' ? libc.setsockoptInt(fd, level, name, value) : libc.setsockopt(fd, level, name, value)
    if (r.value < 0) {
      libc.close(fd)
      return syscallError('KA_NET_SOCKOPT', `setsockopt ${what}`, r.errno, about)
    }
  }
  if (common.bindAddress !== undefined || bindPort !== 0) {
    const local = common.bindAddress === undefined ? Buffer.alloc(family === 4 ? 4 : 16) : familyBytes(common.bindAddress, family)
    if (!local) {
      libc.close(fd)
      return invalid(common.bindAddress ?? '', 'bind')
    }
    const r = libc.bind(fd, sockaddrFor(family, local, bindPort))
    if (r.value < 0) {
      libc.close(fd)
      return syscallError('KA_NET_BIND', 'bind', r.errno, { address: common.bindAddress ?? common.address, interface: common.bindInterface })
    }
  }
  return fd
}

/** sockaddr_in / sockaddr_in6 with a port (sockaddr.ts builds them without one). */
export function sockaddrFor(family: 4 | 6, address: Buffer, port: number): Buffer {
  const b = family === 4 ? sockaddrIn(address) : sockaddrIn6(address)
  b.writeUInt16BE(port, 2)
  return b
}

/** What one exchange on an open socket needs; the exchange owns (and closes) `fd`. */
export interface SocketExchange {
  readonly fd: number
  readonly family: 4 | 6
  /** performance.now() when the probe began. */
  readonly started: number
  readonly destination: Buffer
  readonly request: Buffer
  readonly timeoutMs: number
  readonly signal: AbortSignal | undefined
  readonly receiveSize: number
  /** The destination as text, for errors. */
  readonly address: string
  /** The reply to return for a datagram (from address/port), or undefined to keep waiting. */
  take(data: Buffer, from: string | undefined, fromPort: number): Buffer | undefined
  endOnIcmpError(error: IcmpError): boolean
}

/** Bound the reads per readiness report so one busy socket cannot starve the event loop. */
const MAX_READS_PER_WAKE = 64

/** Send the request and wait; shared with icmp-probe.ts. */
export function exchangeOnSocket(x: SocketExchange): Promise<ExchangeResult> {
  if (x.signal?.aborted) {
    libc.close(x.fd)
    return Promise.resolve({ kind: 'aborted', latencyMs: performance.now() - x.started })
  }
  const sent = libc.sendto(x.fd, x.request, 0, x.destination)
  if (sent.value < 0) {
    libc.close(x.fd)
    return Promise.resolve(failed(syscallError('KA_NET_SEND', 'sendto', sent.errno, { address: x.address }), x.started))
  }
  return new Promise((resolve) => {
    let done = false
    const data = Buffer.alloc(Math.max(1, x.receiveSize))
    const name = Buffer.alloc(128)
    const control = Buffer.alloc(512)
    const noControl = Buffer.alloc(0)
    const finish = (result: ExchangeResult): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      x.signal?.removeEventListener('abort', onAbort)
      poller.removeAndClose(x.fd)
      resolve(result)
    }
    const latency = (): number => performance.now() - x.started
    const onAbort = (): void => finish({ kind: 'aborted', latencyMs: latency() })
    const timer = setTimeout(() => finish({ kind: 'timeout', latencyMs: latency() }), Math.max(0, x.timeoutMs))
    x.signal?.addEventListener('abort', onAbort, { once: true })
    poller.add(x.fd, () => {
      for (let i = 0; i < MAX_READS_PER_WAKE && !done; i++) {
        const queued = readErrorQueue(x.fd, name, control)
        if (queued !== undefined) {
          if (queued !== 'other' && x.endOnIcmpError(queued)) finish({ kind: 'icmp-error', error: queued, latencyMs: latency() })
          continue
        }
        const r = libc.recvmsg(x.fd, data, name, noControl, C.MSG_DONTWAIT)
        if (r.value < 0) {
          if (r.errno === C.EAGAIN || r.errno === C.EINTR) return
          finish(failed(syscallError('KA_NET_RECV', 'recvmsg', r.errno, { address: x.address }), x.started))
          return
        }
        const from = sockaddrAddress(name, r.nameLength)
        const fromPort = r.nameLength >= 4 ? name.readUInt16BE(2) : 0
        const reply = x.take(Buffer.from(data.subarray(0, r.value)), from, fromPort)
        if (reply) finish({ kind: 'reply', data: reply, from: from ?? '', latencyMs: latency() })
      }
    })
  })
}

/** One entry from the socket's error queue: an ICMP error, `other` (a local error), or undefined when it is empty. */
function readErrorQueue(fd: number, name: Buffer, control: Buffer): IcmpError | 'other' | undefined {
  const r = libc.recvmsg(fd, Buffer.alloc(64), name, control, K.MSG_ERRQUEUE | C.MSG_DONTWAIT)
  if (r.value < 0) return undefined
  let found: IcmpError | undefined
  forEachCmsg(control, r.controlLength, (level, type, ee) => {
    const ours = (level === C.IPPROTO_IP && type === K.IP_RECVERR) || (level === C.IPPROTO_IPV6 && type === K.IPV6_RECVERR)
    if (!ours || ee.length < 16) return
    const origin = ee.readUInt8(4)
    if (origin !== K.SO_EE_ORIGIN_ICMP && origin !== K.SO_EE_ORIGIN_ICMP6) return
    const v4 = origin === K.SO_EE_ORIGIN_ICMP
    const icmpType = ee.readUInt8(5)
    const code = ee.readUInt8(6)
    const unreachable = icmpType === (v4 ? K.ICMP_DEST_UNREACH : K.ICMPV6_DEST_UNREACH)
    found = {
      errno: errnoOf(ee.readUInt32LE(0)),
      family: v4 ? 4 : 6,
      type: icmpType,
      code,
      unreachable,
      refused: unreachable && code === (v4 ? 3 : 4),
      // SO_EE_OFFENDER: the sockaddr right after the 16-byte sock_extended_err.
      offender: sockaddrAddress(ee.subarray(16), ee.length - 16),
    }
  })
  return found ?? 'other'
}

function failed(error: NetError, started: number): ExchangeResult {
  return { kind: 'failed', error, latencyMs: performance.now() - started }
}

function invalid(address: string, operation: string): NetError {
  return new NetError('KA_NET_INVALID_ADDRESS', `'${address}' is not an address of the probe's family`, { operation, address })
}
