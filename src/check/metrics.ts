/**
 * What the checker side counts for `keepalived-ts status`, the Prometheus
 * text and the SIGUSR1 dump: attempts by checker kind and result, a latency
 * histogram (cumulative buckets in milliseconds, Prometheus style) and each
 * checker's last result, latency, time and failure text. Fed by the
 * scheduler's onResult; read as plain JSON-safe data (src/status/types.ts).
 */
import type { CheckerCounters, CheckerStatusView } from '../status/types.js'
import type { ProbeOutcome } from './probe.js'

/** Upper bounds of the latency buckets, in milliseconds (`+Inf` follows). */
export const LATENCY_BUCKETS_MS: readonly number[] = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000]

export interface LastResult {
  readonly result: 'success' | 'failure'
  readonly latencyMs: number
  readonly at: string
  /** keepalived's failure text of the last failed attempt (kept after a later success). */
  readonly failure: string | undefined
}

/** One checker's last attempt, updated in place (thousands of checkers record several times a second). */
interface Last {
  ok: boolean
  latencyMs: number
  /** Epoch milliseconds; made a date only when shown. */
  atMs: number
  failure: string | undefined
}

export class CheckerMetrics {
  private readonly checks = new Map<string, { success: number; failure: number }>()
  /** Per bucket (not cumulative), the last one `+Inf`. */
  private readonly buckets = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0)
  private latencySum = 0
  private latencyCount = 0
  private readonly last = new Map<string, Last>()

  constructor(private readonly nowMs: () => number = Date.now) {}

  /** One attempt's result. */
  record(id: string, kind: string, outcome: ProbeOutcome): void {
    let byKind = this.checks.get(kind)
    if (!byKind) this.checks.set(kind, (byKind = { success: 0, failure: 0 }))
    if (outcome.ok) byKind.success++
    else byKind.failure++
    const latency = Number.isFinite(outcome.latencyMs) && outcome.latencyMs >= 0 ? outcome.latencyMs : 0
    let bucket = 0
    while (bucket < LATENCY_BUCKETS_MS.length && latency > LATENCY_BUCKETS_MS[bucket]!) bucket++
    this.buckets[bucket]!++
    this.latencySum += latency
    this.latencyCount++
    const at = this.nowMs()
    const last = this.last.get(id)
    if (!last) {
      this.last.set(id, { ok: outcome.ok, latencyMs: latency, atMs: at, failure: outcome.ok ? undefined : outcome.failure ?? `${kind} failed` })
      return
    }
    last.ok = outcome.ok
    last.latencyMs = latency
    last.atMs = at
    if (!outcome.ok) last.failure = outcome.failure ?? `${kind} failed`
  }

  /** A checker that no longer runs (reload). */
  forget(id: string): void {
    this.last.delete(id)
  }

  lastResult(id: string): LastResult | undefined {
    const last = this.last.get(id)
    if (!last) return undefined
    return { result: last.ok ? 'success' : 'failure', latencyMs: last.latencyMs, at: new Date(last.atMs).toISOString(), failure: last.failure }
  }

  /** A checker's status line for `status`. */
  view(id: string, kind: string, up: boolean, suspended: boolean): CheckerStatusView {
    const last = this.lastResult(id)
    return {
      kind,
      up,
      suspended,
      lastResult: last?.result,
      lastLatencyMs: last?.latencyMs,
      lastAt: last?.at,
      lastFailure: last?.failure,
    }
  }

  counters(ipvsOperations: number, ipvsErrors: number): CheckerCounters {
    const checks: Record<string, { success: number; failure: number }> = {}
    for (const [kind, c] of [...this.checks].sort(([a], [b]) => a.localeCompare(b))) checks[kind] = { ...c }
    const latencyBucketsMs: Record<string, number> = {}
    let running = 0
    LATENCY_BUCKETS_MS.forEach((bound, i) => {
      running += this.buckets[i]!
      latencyBucketsMs[String(bound)] = running
    })
    latencyBucketsMs['+Inf'] = running + this.buckets[LATENCY_BUCKETS_MS.length]!
    return {
      checks,
      latencyBucketsMs,
      latencySumMs: this.latencySum,
      latencyCount: this.latencyCount,
      ipvsOperations,
      ipvsErrors,
    }
  }
}
