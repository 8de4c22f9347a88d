/**
 * The Prometheus scrape endpoint: a tiny HTTP/1.1 server on one address:port
 * that answers `GET /metrics` (and HEAD) with the text exposition format 0.0.4,
 * 405 for another method on /metrics and 404 for anything else. Requests are
 * bounded: 8 KiB of request line and headers (431 past that), no body, a few
 * seconds to arrive, a handful of connections at once. Node's http parser does
 * the parsing; what to serve comes from the caller's `render`. Failures are
 * values ({@link EndpointError}, shared with control-socket.ts).
 */
import * as http from 'node:http'
import type { Socket } from 'node:net'
import { errnoFromNodeError } from './errors.js'
import { EndpointError } from './control-socket.js'

export { EndpointError }

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

export interface MetricsHttpOptions {
  /** Request line plus headers, in bytes; default 8192. */
  readonly maxHeaderBytes?: number
  /** Time for a whole request to arrive, and for an idle kept-alive connection; default 5000 ms. */
  readonly requestTimeoutMs?: number
  /** Time `render` may take before the answer is 503; default 10000 ms. */
  readonly renderTimeoutMs?: number
  /** Connections open at once; default 16. */
  readonly maxConnections?: number
  /** Told when a scrape fails (render error or timeout). */
  readonly onRenderError?: (message: string) => void
}

export interface MetricsHttpServer {
  /** The bound address and port (the real port when 0 was asked). */
  readonly host: string
  readonly port: number
  close(): Promise<void>
}


function withTimeout(render: () => Promise<string>, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no metrics within ${ms} ms`)), ms)
    render().then(
      (text) => {
        clearTimeout(timer)
        resolve(text)
      },
      (err: unknown) => {
        clearTimeout(timer)
        reject(err instanceof Error ? err : new Error(String(err)))
      },
    )
  })
}

function plain(res: http.ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...extra })
  res.end(text)
}

/** Listen on `host:port` (an IP literal) and serve `render()` at /metrics. */
export async function listenMetricsHttp(
  address: { readonly host: string; readonly port: number },
  render: () => Promise<string>,
  opts: MetricsHttpOptions = {},
): Promise<MetricsHttpServer | EndpointError> {
  const where = address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`
  const requestTimeout = opts.requestTimeoutMs ?? 5000
  const renderTimeout = opts.renderTimeoutMs ?? 10_000
  const server = http.createServer({
    maxHeaderSize: opts.maxHeaderBytes ?? 8192,
    requestTimeout,
    headersTimeout: requestTimeout,
    // Node checks those timeouts every 30 s by default; a slow request should not hold a slot that long.
    connectionsCheckingInterval: Math.min(1000, requestTimeout),
  }, (req, res) => {
    const path = (req.url ?? '').split('?')[0]
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0
    // A body is never read: answer, and close so it is not parsed as the next request.
    const close: Record<string, string> = hasBody ? { Connection: 'close' } : {}
    if (hasBody) res.once('finish', () => req.socket.destroy())
    if (path !== '/metrics') return plain(res, 404, 'Not Found: try /metrics\n', close)
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'Method Not Allowed\n', { Allow: 'GET, HEAD', ...close })
    withTimeout(render, renderTimeout).then(
      (text) => {
        res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text), ...close })
        res.end(req.method === 'HEAD' ? undefined : text)
      },
      (err: Error) => {
        opts.onRenderError?.(err.message)
        if (!res.headersSent) plain(res, 503, `metrics unavailable: ${err.message}\n`, close)
      },
    )
  })
  server.maxConnections = opts.maxConnections ?? 16
  server.keepAliveTimeout = requestTimeout
  server.setTimeout(requestTimeout * 2, (socket: Socket) => socket.destroy())
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
    if (socket.writable && !(socket as Socket & { _httpMessage?: unknown })._httpMessage) {
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      setTimeout(() => socket.destroy(), 1000).unref()
    } else {
      socket.destroy()
    }
  })
  const failed = await new Promise<EndpointError | undefined>((resolve) => {
    server.once('listening', () => resolve(undefined))
    server.once('error', (err) => {
      const errno = errnoFromNodeError(err)
      const code =
        errno?.name === 'EADDRINUSE' ? 'KA_NET_IN_USE' : errno?.name === 'EACCES' ? 'KA_NET_PERMISSION' : 'KA_NET_LISTEN'
      resolve(new EndpointError(code, `metrics on ${where}: ${errno?.name ?? (err as Error).message}`, where, errno))
    })
    server.listen({ host: address.host, port: address.port, exclusive: true })
  })
  if (failed) {
    server.close()
    return failed
  }
  const bound = server.address()
  const port = typeof bound === 'object' && bound ? bound.port : address.port
  let closed: Promise<void> | undefined
  return {
    host: address.host,
    port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closed
    },
  }
}
