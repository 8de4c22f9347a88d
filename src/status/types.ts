/**
 * What a running daemon can tell about itself, as plain JSON-safe data: the
 * contract between the subsystems (which fill it), the process shell (which
 * gathers it from its children) and the readers (`keepalived-ts status`, the
 * Prometheus text, SIGUSR dumps). Times are ISO 8601 strings; counters are
 * totals since the subsystem started.
 */

export type VrrpStateName = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP'

export interface VrrpInstanceStatus {
  readonly name: string
  readonly interface: string | undefined
  readonly vrid: number
  readonly version: 2 | 3
  readonly family: 4 | 6
  readonly state: VrrpStateName
  /** Effective priority (base + tracking). */
  readonly priority: number
  readonly basePriority: number
  /** The current master's address as seen from here (ours when MASTER); undefined when unknown. */
  readonly master: string | undefined
  /** When the instance entered its current state. */
  readonly since: string | undefined
  /** Why, in a few words: `master down timer expired`, `higher priority advert from 10.0.0.2`, `tracked interface eth1 down`, `preempted`, `startup` … */
  readonly reason: string | undefined
  readonly vips: readonly string[]
  readonly counters: VrrpInstanceCounters
}

export interface VrrpInstanceCounters {
  readonly advertsSent: number
  readonly advertsReceived: number
  readonly becameMaster: number
  readonly releasedMaster: number
  readonly transitions: number
  /** Dropped adverts by keepalived's reason (`ttl`, `length`, `auth`, `vrid`, `address-list` …). */
  readonly rejected: Readonly<Record<string, number>>
  readonly priorityZeroSent: number
  readonly priorityZeroReceived: number
}

export interface VrrpStatus {
  readonly instances: readonly VrrpInstanceStatus[]
}

export interface CheckerStatusView {
  /** `TCP_CHECK`, `HTTP_GET` … */
  readonly kind: string
  readonly up: boolean
  readonly suspended: boolean
  /** The last attempt's result; undefined before the first. */
  readonly lastResult: 'success' | 'failure' | undefined
  readonly lastLatencyMs: number | undefined
  readonly lastAt: string | undefined
  /** keepalived's failure text of the last failed attempt. */
  readonly lastFailure: string | undefined
}

export interface RealServerStatusView {
  /** keepalived's text: `[10.0.0.2]:tcp:8080`. */
  readonly name: string
  readonly alive: boolean
  /** Configured weight, after dynamic changes. */
  readonly weight: number
  /** The weight in the kernel now (0 when inhibited); undefined when not in the table. */
  readonly kernelWeight: number | undefined
  readonly checkers: readonly CheckerStatusView[]
}

export interface VirtualServerStatusView {
  /** keepalived's text: `[10.0.0.1]:tcp:80`, `FWM 5`, `[GROUP]:0`. */
  readonly name: string
  readonly quorumUp: boolean
  readonly sorryServerActive: boolean
  readonly weightSum: number
  readonly realServers: readonly RealServerStatusView[]
}

export interface CheckerCounters {
  /** Attempts by checker kind and result: `TCP_CHECK` → { success, failure }. */
  readonly checks: Readonly<Record<string, { readonly success: number; readonly failure: number }>>
  /** Attempt latencies in milliseconds, cumulative buckets (Prometheus style): upper bound → count; `+Inf` included. */
  readonly latencyBucketsMs: Readonly<Record<string, number>>
  readonly latencySumMs: number
  readonly latencyCount: number
  /** IPVS requests sent and those the kernel refused. */
  readonly ipvsOperations: number
  readonly ipvsErrors: number
}

export interface CheckersStatus {
  /** False when the kernel has no IPVS (the checker side idles). */
  readonly ipvsAvailable: boolean
  readonly virtualServers: readonly VirtualServerStatusView[]
  readonly counters: CheckerCounters
}

/** The whole daemon, as the parent gathers it. */
export interface DaemonStatus {
  readonly version: string
  readonly pid: number
  readonly startedAt: string
  readonly configFile: string
  /** Last successful reload, if any. */
  readonly reloadedAt: string | undefined
  /** Per child: its pid and restarts. */
  readonly processes: readonly { readonly role: 'vrrp' | 'checkers'; readonly pid: number | undefined; readonly restarts: number }[]
  readonly vrrp: VrrpStatus | undefined
  readonly checkers: CheckersStatus | undefined
}
