/**
 * UDP_CHECK (keepalived check_udp.c, layer4.c): one datagram per attempt to
 * connect_ip:connect_port, then:
 *  - without `require_reply`: success unless an ICMP destination-unreachable
 *    comes back within connect_timeout (a reply, or silence, is success; so is
 *    any other ICMP error, as keepalived's udp_socket_error has it);
 *  - with `require_reply`: a reply is needed; with reply data it must match on
 *    min(reply length, pattern length) bytes (x/X = any nibble) and, only then,
 *    be min_reply_length..max_reply_length long (keepalived reads at most
 *    max_reply_length + 1 bytes, so a longer reply fails the length test).
 * Without `payload`, keepalived sends 32 bytes of "keepalived check - " fill.
 *
 * Lines: `UDP connection to %s success.`, `UDP_CHECK on service %s failed
 * after %u retries.` / `UDP_CHECK on service %s failed.`, and per attempt
 * (log_all_failures) `UDP check to %s reply data mismatch.` or `UDP connection
 * to %s failed.`.
 */
import type { UdpCheck } from '../config/lvs/model.js'
import { udpExchange } from '../net/datagram-probe.js'
import { destinationOf } from './connection.js'
import type { CheckerLines, CheckerRunner, CheckTarget, ProbeOutcome } from './probe.js'

/** keepalived's UDP_BUFSIZE: the default payload's length. */
export const DEFAULT_PAYLOAD_LENGTH = 32
const FILL = 'keepalived check - '

/** keepalived's set_buf: "keepalived check - " repeated to `length` bytes (it never sends stack bytes). */
export function keepalivedFill(length: number): Buffer {
  const b = Buffer.alloc(length)
  for (let i = 0; i < length; i++) b[i] = FILL.charCodeAt(i % FILL.length)
  return b
}

/** Bytes and, when wildcards were used, a mask whose set bits may take any value. */
export interface HexPattern {
  readonly data: Buffer
  readonly mask: Buffer | undefined
}

/**
 * keepalived's read_hex_str: blanks between octets are skipped; an octet is
 * one or two hex digits (a lone digit before a space or the end is the low
 * nibble); with `wildcards`, x/X stands for any nibble. undefined when the
 * text has no octet or a character that is not hex (keepalived then ignores
 * the keyword: "Invalid hex string for UDP_CHECK payload / reply").
 */
export function parseHexString(text: string, wildcards: boolean): HexPattern | undefined {
  const data: number[] = []
  const mask: number[] = []
  let usedMask = false
  const nibble = (ch: string | undefined): number | 'x' | undefined => {
    if (ch === undefined) return undefined
    if (/^[0-9a-fA-F]$/.test(ch)) return parseInt(ch, 16)
    return wildcards && (ch === 'x' || ch === 'X') ? 'x' : undefined
  }
  let i = 0
  for (;;) {
    while (text[i] === ' ' || text[i] === '\t') i++
    if (i >= text.length) break
    const high = nibble(text[i++])
    if (high === undefined) return undefined
    let value = high === 'x' ? 0 : high
    let m = high === 'x' ? 0x0f : 0
    // Only a space ends a one-digit octet: a tab there is read as a (bad) digit, as keepalived does.
    if (i < text.length && text[i] !== ' ') {
      const low = nibble(text[i++])
      if (low === undefined) return undefined
      value = (value << 4) | (low === 'x' ? 0 : low)
      m = (m << 4) | (low === 'x' ? 0x0f : 0)
    }
    if (m !== 0) usedMask = true
    data.push(value)
    mask.push(m)
  }
  if (data.length === 0) return undefined
  return { data: Buffer.from(data), mask: usedMask ? Buffer.from(mask) : undefined }
}

export interface ReplyRule {
  readonly pattern: HexPattern
  readonly minLength: number
  readonly maxLength: number
}

/** keepalived's check_udp_reply, inverted: whether a reply passes. */
export function replyMatches(reply: Buffer, rule: ReplyRule): boolean {
  if (reply.length < rule.minLength || reply.length > rule.maxLength) return false
  const n = Math.min(reply.length, rule.pattern.data.length)
  for (let i = 0; i < n; i++) {
    const care = rule.pattern.mask ? ~rule.pattern.mask[i]! & 0xff : 0xff
    if (((reply[i]! ^ rule.pattern.data[i]!) & care) !== 0) return false
  }
  return true
}

/** keepalived's lines for a UDP_CHECK on `target`. */
export function udpLines(target: CheckTarget): CheckerLines {
  return {
    up: () => `UDP connection to ${target.text} success.`,
    down: (_outcome, retry, firstRun) => retry > 0 && !firstRun
      ? `UDP_CHECK on service ${target.text} failed after ${retry} retries.`
      : `UDP_CHECK on service ${target.text} failed.`,
  }
}

export interface UdpRunnerOptions {
  readonly id: string
  readonly target: CheckTarget
  readonly check: UdpCheck
}

export function createUdpCheckRunner(options: UdpRunnerOptions): CheckerRunner {
  const { target, check } = options
  const destination = destinationOf(check, target)
  const payload = (check.payload !== undefined ? parseHexString(check.payload, false)?.data : undefined) ?? keepalivedFill(DEFAULT_PAYLOAD_LENGTH)
  const pattern = check.requireReply && check.replyData !== undefined ? parseHexString(check.replyData, true) : undefined
  const rule = pattern && { pattern, minLength: check.minReplyLength, maxLength: check.maxReplyLength }
  const failedLine = `UDP connection to ${target.text} failed.`
  return {
    kind: 'UDP_CHECK',
    id: options.id,
    target,
    timing: check,
    lines: udpLines(target),
    async probe(signal: AbortSignal): Promise<ProbeOutcome> {
      const r = await udpExchange({
        ...destination,
        payload,
        signal,
        receiveSize: check.requireReply ? check.maxReplyLength + 1 : 1,
      })
      const outcome = (ok: boolean, failure?: string): ProbeOutcome => ({ ok, failure, latencyMs: r.latencyMs })
      switch (r.kind) {
        case 'reply':
          if (rule && !replyMatches(r.data, rule)) return outcome(false, `UDP check to ${target.text} reply data mismatch.`)
          return outcome(true)
        case 'timeout':
          return check.requireReply ? outcome(false, failedLine) : outcome(true)
        case 'icmp-error':
          return r.error.unreachable ? outcome(false, failedLine) : outcome(true)
        case 'aborted':
          return outcome(false)
        case 'failed':
          if (r.error.code === 'KA_NET_SOCKET') return outcome(false, 'UDP connect fail to create socket. Rescheduling.')
          // keepalived logs nothing for a bind or send failure: the attempt just fails.
          return outcome(false, r.error.code === 'KA_NET_RECV' ? failedLine : undefined)
      }
    },
  }
}
