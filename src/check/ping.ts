/**
 * PING_CHECK (keepalived check_ping.c): one ICMP / ICMPv6 echo per attempt to
 * connect_ip (default the real server); an echo reply within connect_timeout
 * is a success, silence a failure. The echo codec is here (pure); the socket
 * is src/net/icmp-probe.ts.
 *
 * As keepalived: 128 data bytes of its "keepalived check - " fill, a sequence
 * number counting up across every PING_CHECK of the process, and these lines:
 * `ICMP connection to %s success.`, `ICMP CHECK on service %s of %s failed
 * after %u retries.` / `ICMP CHECK on service %s failed.`, and per attempt
 * (log_all_failures) `ICMP connection to address %s timeout.` or `ICMP
 * connection to %s of %s failed.`. The identifier is random per attempt
 * (keepalived's ping socket gets one from the kernel).
 */
import { randomInt } from 'node:crypto'
import type { PingCheck } from '../config/lvs/model.js'
import { icmpEcho, type IcmpSocketKind } from '../net/icmp-probe.js'
import { destinationOf } from './connection.js'
import type { CheckerLines, CheckerRunner, CheckTarget, ProbeOutcome } from './probe.js'
import { keepalivedFill } from './udp.js'

export const ICMP_ECHO_REPLY = 0
export const ICMP_ECHO_REQUEST = 8
export const ICMPV6_ECHO_REQUEST = 128
export const ICMPV6_ECHO_REPLY = 129
/** keepalived's ICMP_BUFSIZE. */
export const ECHO_DATA_LENGTH = 128
const HEADER_LENGTH = 8

/** An echo request or reply (RFC 792, RFC 4443 §4). */
export interface Echo {
  readonly type: number
  readonly code: number
  readonly identifier: number
  readonly sequence: number
  readonly data: Buffer
}

/** The Internet checksum (RFC 1071) of `bytes`. */
export function internetChecksum(bytes: Uint8Array): number {
  let sum = 0
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1]! << 8
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return ~sum & 0xffff
}

/**
 * An echo request. IPv4 carries its checksum; ICMPv6's covers a pseudo-header
 * with addresses we do not choose, so it is left 0 for the kernel (which also
 * rewrites the IPv4 one on a ping socket).
 */
export function encodeEchoRequest(family: 4 | 6, identifier: number, sequence: number, data: Buffer = keepalivedFill(ECHO_DATA_LENGTH)): Buffer {
  const b = Buffer.alloc(HEADER_LENGTH + data.length)
  b.writeUInt8(family === 4 ? ICMP_ECHO_REQUEST : ICMPV6_ECHO_REQUEST, 0)
  b.writeUInt16BE(identifier & 0xffff, 4)
  b.writeUInt16BE(sequence & 0xffff, 6)
  data.copy(b, HEADER_LENGTH)
  if (family === 4) b.writeUInt16BE(internetChecksum(b), 2)
  return b
}

/** The echo header and data of an ICMP message, or undefined when it is shorter than a header. */
export function decodeEcho(message: Buffer): Echo | undefined {
  if (message.length < HEADER_LENGTH) return undefined
  return {
    type: message.readUInt8(0),
    code: message.readUInt8(1),
    identifier: message.readUInt16BE(4),
    sequence: message.readUInt16BE(6),
    data: message.subarray(HEADER_LENGTH),
  }
}

/** Whether `message` is the echo reply to our request (type, identifier and sequence). */
export function isEchoReplyTo(family: 4 | 6, message: Buffer, identifier: number, sequence: number): boolean {
  const echo = decodeEcho(message)
  return echo !== undefined && echo.type === (family === 4 ? ICMP_ECHO_REPLY : ICMPV6_ECHO_REPLY) &&
    echo.identifier === identifier && echo.sequence === sequence
}

/** keepalived's lines for a PING_CHECK on `target`. */
export function pingLines(target: CheckTarget): CheckerLines {
  return {
    up: () => `ICMP connection to ${target.text} success.`,
    down: (_outcome, retry, firstRun) => retry > 0 && !firstRun
      ? `ICMP CHECK on service ${target.text} of ${target.vsText} failed after ${retry} retries.`
      : `ICMP CHECK on service ${target.text} failed.`,
  }
}

export interface PingRunnerOptions {
  readonly id: string
  readonly target: CheckTarget
  readonly check: PingCheck
  /** Default: a ping socket when allowed, else a raw one. */
  readonly socketKind?: IcmpSocketKind | 'auto' | undefined
}

/** keepalived's seq_no: one counter for every PING_CHECK. */
let sequence = 0

export function createPingCheckRunner(options: PingRunnerOptions): CheckerRunner {
  const { target, check } = options
  // connect_port and bind_port mean nothing to ICMP.
  const { address, family, timeoutMs, bindAddress, bindInterface, fwmark } = destinationOf(check, target)
  return {
    kind: 'PING_CHECK',
    id: options.id,
    target,
    timing: check,
    lines: pingLines(target),
    async probe(signal: AbortSignal): Promise<ProbeOutcome> {
      const identifier = randomInt(1, 0x10000)
      const seq = sequence
      sequence = (sequence + 1) & 0xffff
      const r = await icmpEcho({
        address,
        request: encodeEchoRequest(family, identifier, seq),
        accept: (message) => isEchoReplyTo(family, message, identifier, seq),
        timeoutMs,
        signal,
        bindAddress,
        bindInterface,
        fwmark,
        socketKind: options.socketKind,
      })
      const outcome = (ok: boolean, failure?: string): ProbeOutcome => ({ ok, failure, latencyMs: r.latencyMs })
      switch (r.kind) {
        case 'reply':
          return outcome(true)
        case 'timeout':
          return outcome(false, `ICMP connection to address ${target.text} timeout.`)
        case 'aborted':
          return outcome(false)
        case 'icmp-error':
          return outcome(false, `ICMP connection to ${target.text} of ${target.vsText} failed.`)
        case 'failed':
          if (r.error.code === 'KA_NET_SOCKET') return outcome(false, `ICMP${family === 4 ? '' : 'v6'} connect fail to create socket. Rescheduling.`)
          if (r.error.code === 'KA_NET_SEND') {
            return outcome(false, family === 4 ? 'send ICMP packet fail' : `send ICMPv6 packet fail - errno ${r.error.errno?.number ?? 0}`)
          }
          return outcome(false, `ICMP connection to ${target.text} of ${target.vsText} failed.`)
      }
    },
  }
}
