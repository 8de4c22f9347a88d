/**
 * SMTP_CHECK (keepalived check_smtp.c): connect, expect a `220` greeting,
 * send `HELO <helo_name>`, expect `250`, send `QUIT`, wait for any line.
 * Each read waits up to connect_timeout, as does each write.
 *
 * keepalived's reading, kept on purpose: a reply is the text before the first
 * newline of what has arrived since the command (the rest of that read is
 * dropped), and its status is three digits followed by a space or nothing —
 * so a multi-line greeting (`220-…`) is a bad greeting.
 *
 * Deprecated `host { }` blocks become separate checkers in keepalived
 * (smtp_check_end_handler): {@link smtpRunners} makes one runner per
 * connection the same way.
 *
 * Lines: `Remote SMTP server %s succeed on service.` (up, the real server's
 * text); a failure is `SMTP_CHECK <reason>` naming the connection
 * (`[10.0.0.2]:25`), e.g. `SMTP_CHECK Bad greeting banner from server
 * [10.0.0.2]:25` — keepalived logs it for a retried attempt only with
 * log_all_failures and always for the final one, which is also the down line.
 */
import { performance } from 'node:perf_hooks'
import type { CheckerConnection, SmtpCheck } from '../config/lvs/model.js'
import { connectStream, type ProbeStream, type StreamError } from '../net/stream-probe.js'
import { addressPortText, addressString, destinationOf, type Destination } from './connection.js'
import type { CheckerLines, CheckerRunner, CheckTarget, ProbeOutcome } from './probe.js'

/** keepalived's SMTP_BUFF_MAX: a reply longer than this (less one) without a newline is dropped. */
export const SMTP_BUFFER_BYTES = 512

/** smtp_get_status(): the reply code, or -1 when the line does not start with one. */
export function smtpStatus(line: string): number {
  const m = /^(\d{3})(?: |$)/.exec(line)
  return m ? Number(m[1]) : -1
}

/**
 * Collects one reply the way smtp_get_line_cb does: `push` returns the line
 * once a newline has arrived (without it; a `\r` stays), undefined before.
 */
export class SmtpLineReader {
  private buffer = ''

  push(data: Buffer): string | undefined {
    let rest = data
    do {
      // A full buffer without a newline is thrown away and reading goes on.
      if (this.buffer.length >= SMTP_BUFFER_BYTES - 1) this.buffer = ''
      const take = Math.min(rest.length, SMTP_BUFFER_BYTES - 1 - this.buffer.length)
      this.buffer += rest.toString('latin1', 0, take)
      rest = rest.subarray(take)
      const nl = this.buffer.indexOf('\n')
      if (nl >= 0) {
        const line = this.buffer.slice(0, nl)
        this.buffer = ''
        return line
      }
    } while (rest.length > 0)
    return undefined
  }
}

/** The connections keepalived checks for one SMTP_CHECK, each its own checker. */
export function smtpConnections(check: SmtpCheck): CheckerConnection[] {
  if (check.hosts.length === 0) return [check]
  // A host block starts from the checker's settings (keepalived copies them in).
  const hosts = check.hosts.map((h): CheckerConnection => ({
    connectIp: h.connectIp ?? check.connectIp,
    connectPort: h.connectPort ?? check.connectPort,
    bindto: h.bindto ?? check.bindto,
    bindPort: h.bindPort ?? check.bindPort,
    bindIf: h.bindIf ?? check.bindIf,
    connectTimeout: h.connectTimeout,
    fwmark: h.fwmark ?? check.fwmark,
  }))
  const own = [check.connectIp, check.connectPort, check.bindto, check.bindPort, check.bindIf, check.fwmark].some((v) => v !== undefined)
  return own ? [check, ...hosts] : hosts
}

/** SMTP_CHECK's up and down lines; the down line is the final attempt's failure. */
export function smtpLines(check: Pick<SmtpCheck, 'logAllFailures'>, target: CheckTarget): CheckerLines {
  return {
    up: () => `Remote SMTP server ${target.text} succeed on service.`,
    down: (outcome) => outcome.failure ?? `SMTP_CHECK on service ${target.text} failed.`,
    // smtp_final logs a retried attempt's reason only with log_all_failures.
    retrying: (outcome) => (check.logAllFailures ? outcome.failure : undefined),
  }
}

function connectFailure(error: StreamError, destination: Destination, target: CheckTarget, server: string): string | undefined {
  switch (error.kind) {
    case 'connect-timeout':
      return `SMTP_CHECK Connection timeout to server ${server}`
    case 'unreachable':
      return `SMTP_CHECK Network unreachable for server ${addressString(destination.address)} - real server ${addressPortText(target)}`
    case 'socket':
      return 'SMTP_CHECK connection failed to create socket. Rescheduling.'
    case 'sockopt':
    case 'bind':
      return 'SMTP_CHECK socket bind failed. Rescheduling.'
    case 'aborted':
      return undefined
    default:
      return `SMTP_CHECK Could not connect to server ${server}`
  }
}

/** The dialogue after connecting: undefined when it went through, else keepalived's reason. */
async function converse(stream: ProbeStream, heloName: string, timeoutMs: number, server: string): Promise<string | 'aborted' | undefined> {
  const getLine = async (): Promise<{ line: string } | { failure: string }> => {
    const reader = new SmtpLineReader()
    for (;;) {
      const r = await stream.read(timeoutMs)
      if (r.kind === 'data') {
        const line = reader.push(r.data)
        if (line !== undefined) return { line }
        continue
      }
      if (r.kind === 'error' && r.error.kind === 'aborted') return { failure: 'aborted' }
      if (r.kind === 'error' && r.error.kind === 'read-timeout') return { failure: `Read timeout from server ${server}` }
      return { failure: `Read failure from server ${server}` }
    }
  }
  const put = async (text: string): Promise<string | undefined> => {
    const e = await stream.write(text, timeoutMs)
    if (e === undefined) return undefined
    if (e.kind === 'aborted') return 'aborted'
    return e.kind === 'write-timeout' ? `Write timeout to server ${server}` : `Write failure to server ${server}`
  }

  const banner = await getLine()
  if ('failure' in banner) return banner.failure
  if (smtpStatus(banner.line) !== 220) return `Bad greeting banner from server ${server}`
  const helo = await put(`HELO ${heloName}\r\n`)
  if (helo !== undefined) return helo
  const heloReply = await getLine()
  if ('failure' in heloReply) return heloReply.failure
  if (smtpStatus(heloReply.line) !== 250) return `Bad HELO response from server ${server}`
  const quit = await put('QUIT\r\n')
  if (quit !== undefined) return quit
  // Any reply to QUIT will do.
  const bye = await getLine()
  return 'failure' in bye ? bye.failure : undefined
}

/** One SMTP_CHECK connection made runnable (`connection` defaults to the checker's own). */
export function smtpRunner(check: SmtpCheck, target: CheckTarget, id: string, connection: CheckerConnection = check): CheckerRunner {
  const destination = destinationOf(connection, target)
  const server = addressPortText(destination)
  return {
    kind: 'SMTP_CHECK',
    id,
    target,
    timing: check,
    lines: smtpLines(check, target),
    async probe(signal: AbortSignal): Promise<ProbeOutcome> {
      const started = performance.now()
      const done = (failure: string | undefined, ok = false): ProbeOutcome => ({ ok, failure, latencyMs: performance.now() - started })
      const conn = await connectStream({ ...destination, signal })
      if (!conn.ok) return done(connectFailure(conn.error, destination, target, server))
      try {
        const reason = await converse(conn.stream, check.heloName, destination.timeoutMs, server)
        if (reason === 'aborted') return done(undefined)
        return reason === undefined ? done(undefined, true) : done(`SMTP_CHECK ${reason}`)
      } finally {
        conn.stream.close()
      }
    },
  }
}

/** Every runner keepalived would make of this SMTP_CHECK: the first keeps `id`, the others get `/host<N>`. */
export function smtpRunners(check: SmtpCheck, target: CheckTarget, id: string): CheckerRunner[] {
  return smtpConnections(check).map((c, i) => smtpRunner(check, target, i === 0 ? id : `${id}/host${i}`, c))
}
