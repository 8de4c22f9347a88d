/**
 * The parent's status endpoints: the control socket that `keepalived-ts
 * status` reads and the Prometheus metrics address (flag first, then
 * `metrics_address` in global_defs; off by default). The servers live in
 * src/status/server.ts and are loaded only when one is asked for. A server
 * that cannot start is logged and the daemon carries on: it does not need
 * them to serve.
 */
import type { MetricsAddress } from '../config/global/model.js'
import type { Logger } from '../log/logger.js'
import type { DaemonStatus } from '../status/types.js'

export type StatusProvider = () => Promise<DaemonStatus>

export interface Endpoint {
  readonly where: string
  close(): Promise<void>
}

/** How endpoints are started; src/status/server.ts in production, fakes in tests. */
export interface EndpointStarter {
  control(path: string, provider: StatusProvider, log: Logger): Promise<Endpoint | Error>
  metrics(address: string, provider: StatusProvider, log: Logger): Promise<Endpoint | Error>
}

export const statusServers: EndpointStarter = {
  async control(path, provider, log) {
    const { startControlServer } = await import('../status/server.js')
    return startControlServer(path, provider, log)
  },
  async metrics(address, provider, log) {
    const { startMetricsServer } = await import('../status/server.js')
    return startMetricsServer(address, provider, log)
  },
}

/** `127.0.0.1:9650` / `[::1]:9650` for a configured address. */
export function metricsAddressText(a: MetricsAddress | undefined): string | undefined {
  if (!a) return undefined
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`
}

/** The running endpoints; the metrics one follows reloads of `metrics_address`. */
export class Endpoints {
  private control: Endpoint | undefined
  private metrics: Endpoint | undefined
  private metricsWanted: string | undefined

  constructor(
    private readonly starter: EndpointStarter,
    private readonly provider: StatusProvider,
    private readonly log: Logger,
  ) {}

  /** `path` undefined: no control socket (`--control-socket=none`). */
  async start(controlPath: string | undefined, metricsAddress: string | undefined): Promise<void> {
    if (controlPath !== undefined) this.control = await this.open('Control socket', controlPath, () => this.starter.control(controlPath, this.provider, this.log))
    await this.setMetrics(metricsAddress)
  }

  /** Open, move or close the metrics endpoint. */
  async setMetrics(address: string | undefined): Promise<void> {
    if (address === this.metricsWanted) return
    this.metricsWanted = address
    const old = this.metrics
    this.metrics = undefined
    if (old) await old.close().catch(() => {})
    if (address !== undefined) this.metrics = await this.open('Metrics', address, () => this.starter.metrics(address, this.provider, this.log))
  }

  async close(): Promise<void> {
    const list = [this.control, this.metrics].filter((e): e is Endpoint => e !== undefined)
    this.control = undefined
    this.metrics = undefined
    await Promise.all(list.map((e) => e.close().catch(() => {})))
  }

  private async open(what: string, where: string, start: () => Promise<Endpoint | Error>): Promise<Endpoint | undefined> {
    let result: Endpoint | Error
    try {
      result = await start()
    } catch (err) {
      result = err instanceof Error ? err : new Error(String(err))
    }
    if (result instanceof Error) {
      this.log.error(`${what} ${where} unavailable: ${result.message}`)
      return undefined
    }
    this.log.detail(`${what} listening on ${result.where}`)
    return result
  }
}
