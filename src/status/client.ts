/**
 * Asking a running daemon for its {@link DaemonStatus} over the control
 * socket, for `keepalived-ts status` and for tests. Every outcome is a value:
 * the status (checked field by field), or a coded failure saying whether no
 * daemon answered, permission was denied, the daemon reported an error, or
 * its answer was not a status.
 */
import { EndpointError, type EndpointErrorCode, requestControl } from '../net/control-socket.js'
import { STATUS_REQUEST } from './protocol.js'
import type { DaemonStatus } from './types.js'
import { parseDaemonStatus } from './validate.js'

export type StatusErrorCode =
  | EndpointErrorCode
  /** The daemon answered with an error (`unavailable`, `timeout` …). */
  | 'KA_STATUS_DAEMON_ERROR'
  /** The answer is JSON but not a DaemonStatus. */
  | 'KA_STATUS_INVALID'

export type StatusResult =
  | { readonly ok: true; readonly status: DaemonStatus }
  | { readonly ok: false; readonly code: StatusErrorCode; readonly message: string }

export interface FetchStatusOptions {
  /** Default 10000 ms. */
  readonly timeoutMs?: number
}

export async function fetchDaemonStatus(path: string, opts: FetchStatusOptions = {}): Promise<StatusResult> {
  const answer = await requestControl(path, STATUS_REQUEST, { timeoutMs: opts.timeoutMs ?? 10_000 })
  if (answer instanceof EndpointError) return { ok: false, code: answer.code, message: answer.message }
  if (!answer.ok) return { ok: false, code: 'KA_STATUS_DAEMON_ERROR', message: `the daemon answered '${answer.error}': ${answer.message}` }
  const parsed = parseDaemonStatus(answer.status)
  if ('error' in parsed) return { ok: false, code: 'KA_STATUS_INVALID', message: `the answer on ${path} is not a daemon status: ${parsed.error}` }
  return { ok: true, status: parsed.status }
}
