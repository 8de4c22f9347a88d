/**
 * The parent's two status endpoints: the control socket that
 * `keepalived-ts status` reads (root only) and the Prometheus scrape endpoint
 * (off unless `metrics_address` or the flag sets it). Both ask the caller's
 * provider — the parent gathering each child's Subsystem.status() over IPC —
 * for a fresh {@link DaemonStatus} per request, bounded in time. Starting
 * either returns a handle or a coded {@link EndpointError}; the caller logs
 * it and carries on (the daemon does not need them to serve).
 */
import { EndpointError, listenControlSocket } from '../net/control-socket.js'
import { listenMetricsHttp } from '../net/metrics-http.js'
import type { Logger } from '../log/logger.js'
import { type ListenAddress, listenAddressText, parseListenAddress } from './listen-address.js'
import { renderMetrics } from './metrics.js'
import { DEFAULT_CONTROL_SOCKET, STATUS_REQUEST } from './protocol.js'
import type { DaemonStatus } from './types.js'

export { EndpointError }

export { DEFAULT_CONTROL_SOCKET, STATUS_REQUEST }

export type StatusProvider = () => Promise<DaemonStatus>

export interface StatusEndpoint {
  /** The socket path or `address:port` served (the real port when 0 was asked). */
  readonly where: string
  close(): Promise<void>
}

export interface StatusServerOptions {
  /** Time the provider may take; default 5000 ms. */
  readonly providerTimeoutMs?: number
  /** Control socket only: who gets an answer (default root and our own uid). */
  readonly allowedUids?: readonly number[]
}

/** Serve `keepalived-ts status` on the Unix socket `path`. */
export async function startControlServer(
  path: string,
  provider: StatusProvider,
  log: Logger,
  opts: StatusServerOptions = {},
): Promise<StatusEndpoint | EndpointError> {
  const server = await listenControlSocket(
    path,
    async (request) => {
      const command = typeof request === 'object' && request !== null ? (request as { command?: unknown }).command : undefined
      if (command !== STATUS_REQUEST.command) {
        return { ok: false, error: 'unknown-command', message: `unknown request ${JSON.stringify(command) ?? '(none)'}; this daemon answers 'status'` }
      }
      try {
        return { ok: true, status: await provider() }
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err)
        log.warning(`Status request failed: ${message}`)
        return { ok: false, error: 'unavailable', message }
      }
    },
    {
      answerTimeoutMs: opts.providerTimeoutMs ?? 5000,
      ...(opts.allowedUids ? { allowedUids: opts.allowedUids } : {}),
      onRefused: (reason, peer) => log.warning(`Control socket ${path}: refused a request (${reason}${peer ? `, pid ${peer.pid}` : ''})`),
    },
  )
  if (server instanceof EndpointError) return server
  return { where: path, close: () => server.close() }
}

/** Serve Prometheus text at http://ADDRESS/metrics; `address` as `metrics_address` writes it. */
export async function startMetricsServer(
  address: string | ListenAddress,
  provider: StatusProvider,
  log: Logger,
  opts: StatusServerOptions = {},
): Promise<StatusEndpoint | EndpointError> {
  const parsed = typeof address === 'string' ? parseListenAddress(address) : address
  if (typeof parsed === 'string') return new EndpointError('KA_NET_INVALID_ADDRESS', `metrics address: ${parsed}`, String(address))
  const server = await listenMetricsHttp(parsed, async () => renderMetrics(await provider()), {
    renderTimeoutMs: opts.providerTimeoutMs ?? 5000,
    onRenderError: (message) => log.warning(`Metrics scrape failed: ${message}`),
  })
  if (server instanceof EndpointError) return server
  return { where: listenAddressText({ host: server.host, port: server.port }), close: () => server.close() }
}
