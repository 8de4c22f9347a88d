/**
 * TCP_CHECK (keepalived check_tcp.c): an attempt succeeds when a TCP
 * connection to connect_ip:connect_port (else the real server) completes
 * within connect_timeout; the connection is closed at once.
 *
 * Lines, all naming the real server (`FMT_CHK`, e.g. `[10.0.0.2]:tcp:80`),
 * not the connect_ip: `TCP connection to %s success.` (up),
 * `TCP_CHECK on service %s failed after %u retries.` / `… failed.` (down), and
 * for a failed attempt `TCP connection to %s timeout.` / `… failed.` — not
 * logged when connect(2) fails at once (no route), as in tcp_connect_thread.
 * A socket or bind failure is keepalived's `TCP socket bind failed.
 * Rescheduling.`; keepalived then waits delay_loop without changing state,
 * which the runner contract cannot say, so it counts here as a failure.
 */
import { performance } from 'node:perf_hooks'
import type { TcpCheck } from '../config/lvs/model.js'
import { connectProbe } from '../net/connect-probe.js'
import type { StreamError } from '../net/stream-probe.js'
import { destinationOf } from './connection.js'
import type { CheckerLines, CheckerRunner, CheckTarget, ProbeOutcome } from './probe.js'

/** keepalived's line for a failed TCP_CHECK attempt (undefined: it logs none). */
export function tcpFailureLine(error: StreamError, target: CheckTarget): string | undefined {
  switch (error.kind) {
    case 'connect-timeout':
      return `TCP connection to ${target.text} timeout.`
    case 'connect-failed':
    case 'tls':
    case 'read-failed':
    case 'read-timeout':
    case 'write-failed':
    case 'write-timeout':
      return `TCP connection to ${target.text} failed.`
    case 'socket':
      return 'TCP connect fail to create socket. Rescheduling.'
    case 'sockopt':
    case 'bind':
      return 'TCP socket bind failed. Rescheduling.'
    case 'unreachable':
    case 'aborted':
      return undefined
  }
}

/** TCP_CHECK's up and down lines. */
export function tcpLines(target: CheckTarget): CheckerLines {
  return {
    up: () => `TCP connection to ${target.text} success.`,
    down: (_outcome, retry, firstRun) =>
      retry > 0 && !firstRun ? `TCP_CHECK on service ${target.text} failed after ${retry} retries.` : `TCP_CHECK on service ${target.text} failed.`,
  }
}

/** One TCP_CHECK made runnable. */
export function tcpRunner(check: TcpCheck, target: CheckTarget, id: string): CheckerRunner {
  // The sockaddrs are built once; each attempt is socket, connect and close.
  const connection = connectProbe(destinationOf(check, target))
  return {
    kind: 'TCP_CHECK',
    id,
    target,
    timing: check,
    lines: tcpLines(target),
    async probe(signal: AbortSignal): Promise<ProbeOutcome> {
      const started = performance.now()
      const error = await connection.probe(signal)
      const latencyMs = performance.now() - started
      if (error === undefined) return { ok: true, failure: undefined, latencyMs }
      return { ok: false, failure: tcpFailureLine(error, target), latencyMs }
    },
  }
}
