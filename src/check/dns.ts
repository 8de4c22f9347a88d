/**
 * DNS_CHECK (keepalived check_dns.c): one query per attempt over UDP to
 * connect_ip:connect_port (default the real server's port), then keepalived's
 * acceptance rule, which is deliberately small:
 *  - replies shorter than a header, with another ID, or without QR are not
 *    ours: keep waiting (until connect_timeout: `read timeout from socket`);
 *  - RCODE 0 is a success — even with no answer record and whatever the
 *    question section says (keepalived checks neither);
 *  - any other RCODE fails: `read error occurred. (rcode = N)`.
 * The query: random ID, RD set, one question `name` / `type` / class IN.
 *
 * Lines are `DNS_CHECK (%s) %s` with the reason; the final one adds ` after
 * %u retries` unless the failing attempt was the checker's first (keepalived's
 * has_run). keepalived logs no line when a DNS_CHECK succeeds.
 */
import { randomInt } from 'node:crypto'
import type { DnsCheck, DnsType } from '../config/lvs/model.js'
import { isHardIcmpError, udpExchange } from '../net/datagram-probe.js'
import { addressPortText, destinationOf } from './connection.js'
import type { CheckerLines, CheckerRunner, CheckTarget, ProbeOutcome } from './probe.js'

/** RFC 1035 §3.2.2 and RFC 3596 §2.1 type codes. */
export const DNS_TYPE_CODES: Readonly<Record<DnsType, number>> = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28 }
const CLASS_IN = 1
const HEADER_LENGTH = 12
const FLAG_QR = 0x8000
const FLAG_RD = 0x0100
/** keepalived's DNS_BUFFER_SIZE. */
const RECEIVE_SIZE = 768

export interface DnsQuery {
  readonly id: number
  readonly type: DnsType
  readonly name: string
}

/**
 * The query message (RFC 1035 §4.1). The name is cut at dots as keepalived
 * cuts it: `.` is the root (a single zero octet) and a trailing dot changes
 * nothing.
 */
export function encodeDnsQuery(query: DnsQuery): Buffer {
  const labels: Buffer[] = []
  if (query.name !== '.') {
    for (const label of query.name.replace(/\.$/, '').split('.')) {
      const bytes = Buffer.from(label, 'latin1')
      labels.push(Buffer.from([bytes.length & 0xff]), bytes)
    }
  }
  const header = Buffer.alloc(HEADER_LENGTH)
  header.writeUInt16BE(query.id & 0xffff, 0)
  header.writeUInt16BE(FLAG_RD, 2)
  header.writeUInt16BE(1, 4)
  const question = Buffer.alloc(4)
  question.writeUInt16BE(DNS_TYPE_CODES[query.type], 0)
  question.writeUInt16BE(CLASS_IN, 2)
  return Buffer.concat([header, ...labels, Buffer.from([0]), question])
}

/** The header fields keepalived looks at. */
export interface DnsReplyHeader {
  readonly id: number
  readonly response: boolean
  readonly rcode: number
  readonly questions: number
  readonly answers: number
}

export function decodeDnsHeader(message: Buffer): DnsReplyHeader | undefined {
  if (message.length < HEADER_LENGTH) return undefined
  const flags = message.readUInt16BE(2)
  return {
    id: message.readUInt16BE(0),
    response: (flags & FLAG_QR) !== 0,
    rcode: flags & 0x000f,
    questions: message.readUInt16BE(4),
    answers: message.readUInt16BE(6),
  }
}

/** Whether a datagram is the reply to query `id` (anything else is waited past). */
export function isReplyTo(message: Buffer, id: number): boolean {
  const h = decodeDnsHeader(message)
  return h !== undefined && h.id === (id & 0xffff) && h.response
}

/** The failure reason for a reply to our query, or undefined when it is a success. */
export function replyFailure(message: Buffer): string | undefined {
  const rcode = decodeDnsHeader(message)?.rcode ?? 0
  return rcode === 0 ? undefined : `read error occurred. (rcode = ${rcode})`
}

/** keepalived's lines for a DNS_CHECK on `target`; the reason travels in `outcome.failure`. */
export function dnsLines(target: CheckTarget): CheckerLines {
  return {
    up: () => undefined,
    down: (outcome, retry, firstRun) => {
      const line = outcome.failure ?? `DNS_CHECK (${target.text}) connection error.`
      return firstRun ? line : `${line} after ${retry} retries`
    },
  }
}

/** glibc's strerror for the errnos a DNS read can end with. */
const STRERROR: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'Connection refused',
  ENOPROTOOPT: 'Protocol not available',
  ENETUNREACH: 'Network is unreachable',
  EHOSTUNREACH: 'No route to host',
  EHOSTDOWN: 'Host is down',
  ENONET: 'Machine is not on the network',
  EACCES: 'Permission denied',
  EPROTO: 'Protocol error',
  EMSGSIZE: 'Message too long',
}

export interface DnsRunnerOptions {
  readonly id: string
  readonly target: CheckTarget
  readonly check: DnsCheck
}

export function createDnsCheckRunner(options: DnsRunnerOptions): CheckerRunner {
  const { target, check } = options
  const destination = destinationOf(check, target)
  const line = (reason: string): string => `DNS_CHECK (${target.text}) ${reason}`
  return {
    kind: 'DNS_CHECK',
    id: options.id,
    target,
    timing: check,
    lines: dnsLines(target),
    async probe(signal: AbortSignal): Promise<ProbeOutcome> {
      const id = randomInt(0, 0x10000)
      const r = await udpExchange({
        ...destination,
        payload: encodeDnsQuery({ id, type: check.type, name: check.name }),
        signal,
        receiveSize: RECEIVE_SIZE,
        accept: (reply) => isReplyTo(reply, id),
        // keepalived's connected socket, without IP_RECVERR, hears only these.
        endOnIcmpError: isHardIcmpError,
      })
      const outcome = (failure: string | undefined): ProbeOutcome => ({ ok: failure === undefined, failure, latencyMs: r.latencyMs })
      switch (r.kind) {
        case 'reply': {
          const reason = replyFailure(r.data)
          return outcome(reason === undefined ? undefined : line(reason))
        }
        case 'timeout':
          return outcome(line('read timeout from socket'))
        case 'icmp-error':
          return outcome(line(`failed to read socket; errno ${r.error.errno.number} (${STRERROR[r.error.errno.name] ?? r.error.errno.name})`))
        case 'aborted':
          return { ok: false, failure: undefined, latencyMs: r.latencyMs }
        case 'failed':
          switch (r.error.code) {
            case 'KA_NET_SOCKET':
              return outcome(line('failed to create socket. Rescheduling.'))
            case 'KA_NET_SEND':
              return outcome(line(r.error.errno?.name === 'ENETUNREACH' ? `network unreachable for ${addressPortText(destination)}` : 'failed to write socket.'))
            case 'KA_NET_RECV':
              return outcome(line(`failed to read socket; errno ${r.error.errno?.number ?? 0} (${STRERROR[r.error.errno?.name ?? ''] ?? r.error.errno?.name ?? ''})`))
            default:
              return outcome(line('UDP socket bind failed. Rescheduling.'))
          }
      }
    },
  }
}
