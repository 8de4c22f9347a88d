/**
 * Runs many checkers ({@link CheckerRunner}s) on an injected clock, as
 * keepalived's check scheduler does, with limits keepalived does not need
 * (its probes are non-blocking state machines in one thread; ours are
 * promises that may hold sockets or child processes):
 *
 * - First run at 1 s (BOOTSTRAP_DELAY) + random(0..warmup) after `add`, as
 *   register_checkers_thread() does, so thousands of checkers spread out.
 * - At most `maxConcurrent` probes in flight; a checker whose time comes
 *   beyond that waits in a FIFO queue. The default, 256, keeps probe sockets
 *   and MISC_CHECK children well under the usual 1024 open-file soft limit.
 *   Healthy targets answer in milliseconds (10,000 checkers on a 60 s
 *   delay_loop keep ~2 slots busy); a hanging one holds a slot for its
 *   connect_timeout, so 256 slots absorb about 1,800 dead TCP targets
 *   (5 s timeout, retry 1) before the queue starts delaying detection.
 *   A slow probe only ever holds its own slot.
 * - Each probe gets an AbortSignal (its checker's, reused until one is aborted),
 *   aborted by `remove` and `stop`, and a hard
 *   deadline in case it never settles (its own timeouts are the kind's
 *   business): at the deadline it is aborted and counted as a failed attempt.
 * - ha_suspend: a suspended checker keeps its state; when its time comes it
 *   skips the attempt and waits delay_loop (tcp_connect_thread's `enabled`).
 *
 * Each result goes through the checker state machine (checker-state.ts); the
 * callbacks then carry it out, in keepalived's order: the weight, the log
 * lines, the verdict for the real server, then the result for status/metrics.
 * Time is in microseconds throughout, as in the config model.
 */
import { type CheckerDecision, type CheckerState, initialCheckerState, onOutcome, type RetryPolicy, retryPolicy } from './checker-state.js'
import type { CheckerRunner, ProbeOutcome } from './probe.js'

export interface Timer {
  readonly __timer?: never
}

/** The clock the scheduler runs on. */
export interface Clock {
  /** Monotonic microseconds. */
  now(): number
  /** Run `fn` once after `delayUs` microseconds. */
  setTimer(delayUs: number, fn: () => void): Timer
  clearTimer(timer: Timer): void
}

export const DEFAULT_MAX_CONCURRENT = 256
/** keepalived's BOOTSTRAP_DELAY (TIMER_HZ). */
export const BOOTSTRAP_DELAY_US = 1_000_000
/** Added to twice the attempt's own timeout for the hard deadline. */
export const DEADLINE_SLACK_US = 5_000_000

export interface SchedulerOptions {
  readonly clock: Clock
  /** Uniform in [0, 1). */
  readonly random: () => number
  /** keepalived's log lines. */
  readonly log: (text: string) => void
  readonly maxConcurrent?: number
  /** The hard deadline of one attempt; default {@link defaultDeadlineUs}. */
  readonly deadlineUs?: (runner: CheckerRunner) => number
  /** Every attempt's result, with what the state machine made of it (status, metrics). */
  readonly onResult?: (id: string, outcome: ProbeOutcome, decision: CheckerDecision) => void
  /** The checker's verdict for its real server (CheckerDecision.verdict): the pool's checkerVerdict(). */
  readonly onTransition?: (id: string, up: boolean) => void
  /** A weight from a dynamic checker: the pool's checkerWeight(). */
  readonly onWeight?: (id: string, weight: number) => void
}

/**
 * Twice the attempt's own timeout plus {@link DEADLINE_SLACK_US}. The timeout
 * is read from the runner's timing when it carries the checker's config
 * (connect_timeout, or MISC_CHECK's misc_timeout in seconds); otherwise
 * delay_loop stands in for it, as it does for misc_timeout.
 */
export function defaultDeadlineUs(runner: CheckerRunner): number {
  const timing = runner.timing as { connectTimeout?: unknown; timeout?: unknown; kind?: unknown }
  let own = runner.timing.delayLoop
  if (typeof timing.connectTimeout === 'number') own = timing.connectTimeout
  else if (timing.kind === 'MISC_CHECK' && typeof timing.timeout === 'number') own = timing.timeout * 1_000_000
  return 2 * own + DEADLINE_SLACK_US
}

interface Attempt {
  readonly token: number
  readonly controller: AbortController
  readonly startedAt: number
  readonly deadline: Timer
}

interface Entry {
  readonly runner: CheckerRunner
  readonly policy: RetryPolicy
  state: CheckerState
  suspended: boolean
  queued: boolean
  timer: Timer | undefined
  nextRunAt: number | undefined
  attempt: Attempt | undefined
  lastOutcome: ProbeOutcome | undefined
  lastResultAt: number | undefined
  /**
   * The signal of this checker's attempts, kept from one attempt to the next
   * until one is aborted (an AbortController is costly to make, thousands of
   * times a second); probe.ts's contract keeps it free of old listeners.
   */
  controller: AbortController | undefined
}

export interface CheckerStatus {
  readonly kind: string
  readonly state: CheckerState
  readonly suspended: boolean
  readonly inFlight: boolean
  readonly queued: boolean
  readonly lastOutcome: ProbeOutcome | undefined
  /** Clock microseconds of the last result. */
  readonly lastResultAt: number | undefined
  /** Clock microseconds of the next attempt (undefined while in flight or queued). */
  readonly nextRunAt: number | undefined
}

export interface SchedulerStats {
  readonly checkers: number
  readonly inFlight: number
  readonly queued: number
}

export class CheckScheduler {
  private readonly clock: Clock
  private readonly maxConcurrent: number
  private readonly entries = new Map<string, Entry>()
  /** FIFO of checkers waiting for a slot; removed entries are skipped when reached. */
  private queue: Entry[] = []
  private queueHead = 0
  private queuedCount = 0
  private inFlightCount = 0
  private nextToken = 0
  private stopped = false

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock
    this.maxConcurrent = Math.max(1, options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT)
  }

  /**
   * Register a checker; its first attempt comes 1 s + random(0..warmup) later.
   * `state` replaces the start-up state (a reload's migrated checker, a
   * respawn's adopted one).
   */
  add(runner: CheckerRunner, opts: { suspended?: boolean; state?: CheckerState } = {}): void {
    if (this.stopped) return
    if (this.entries.has(runner.id)) throw new Error(`checker ${runner.id} is already scheduled`)
    const entry: Entry = {
      runner,
      policy: retryPolicy(runner.kind),
      state: opts.state ?? initialCheckerState(runner.timing),
      suspended: opts.suspended ?? false,
      queued: false,
      timer: undefined,
      nextRunAt: undefined,
      attempt: undefined,
      lastOutcome: undefined,
      lastResultAt: undefined,
      controller: undefined,
    }
    this.entries.set(runner.id, entry)
    this.options.log(`${entry.suspended ? 'Dea' : 'A'}ctivating healthchecker for service ${runner.target.text} for VS ${runner.target.vsText}`)
    const warmup = runner.timing.warmup
    const spread = warmup > 0 ? Math.floor(this.options.random() * (warmup + 1)) : 0
    this.schedule(entry, BOOTSTRAP_DELAY_US + Math.min(spread, warmup))
  }

  /** Stop a checker (reload): its timer is cleared and any attempt in flight aborted. */
  remove(id: string): void {
    const entry = this.entries.get(id)
    if (!entry) return
    this.entries.delete(id)
    this.cancel(entry)
    this.drain()
  }

  /** Stop every checker; the scheduler accepts no more. */
  stop(): void {
    this.stopped = true
    for (const entry of this.entries.values()) this.cancel(entry)
    this.entries.clear()
    this.queue = []
    this.queueHead = 0
    this.queuedCount = 0
  }

  /** ha_suspend: the virtual server's address went away. */
  suspend(ids: Iterable<string>): void {
    this.setSuspended(ids, true)
  }

  /** ha_suspend: the virtual server's address is back. */
  resume(ids: Iterable<string>): void {
    this.setSuspended(ids, false)
  }

  status(id: string): CheckerStatus | undefined {
    const e = this.entries.get(id)
    if (!e) return undefined
    return {
      kind: e.runner.kind,
      state: e.state,
      suspended: e.suspended,
      inFlight: e.attempt !== undefined,
      queued: e.queued,
      lastOutcome: e.lastOutcome,
      lastResultAt: e.lastResultAt,
      nextRunAt: e.nextRunAt,
    }
  }

  stats(): SchedulerStats {
    return { checkers: this.entries.size, inFlight: this.inFlightCount, queued: this.queuedCount }
  }

  private setSuspended(ids: Iterable<string>, suspended: boolean): void {
    for (const id of ids) {
      const e = this.entries.get(id)
      if (!e || e.suspended === suspended) continue
      e.suspended = suspended
      this.options.log(`${suspended ? 'Suspend' : 'Activat'}ing healthchecker for service ${e.runner.target.text} for VS ${e.runner.target.vsText}`)
    }
  }

  private schedule(entry: Entry, delayUs: number): void {
    const delay = Math.max(0, delayUs)
    entry.nextRunAt = this.clock.now() + delay
    entry.timer = this.clock.setTimer(delay, () => this.due(entry))
  }

  private due(entry: Entry): void {
    entry.timer = undefined
    entry.nextRunAt = undefined
    if (!this.entries.has(entry.runner.id)) return
    if (entry.suspended) return this.schedule(entry, entry.runner.timing.delayLoop)
    if (this.inFlightCount < this.maxConcurrent) return this.begin(entry)
    entry.queued = true
    this.queuedCount++
    this.queue.push(entry)
  }

  private drain(): void {
    while (this.inFlightCount < this.maxConcurrent && this.queueHead < this.queue.length) {
      const entry = this.queue[this.queueHead++]!
      if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.queueHead)
        this.queueHead = 0
      }
      if (!entry.queued) continue
      entry.queued = false
      this.queuedCount--
      if (entry.suspended) this.schedule(entry, entry.runner.timing.delayLoop)
      else this.begin(entry)
    }
  }

  private begin(entry: Entry): void {
    const token = ++this.nextToken
    const controller = (entry.controller ??= new AbortController())
    const startedAt = this.clock.now()
    const deadlineUs = (this.options.deadlineUs ?? defaultDeadlineUs)(entry.runner)
    const deadline = this.clock.setTimer(deadlineUs, () => this.expire(entry, token, deadlineUs))
    entry.attempt = { token, controller, startedAt, deadline }
    this.inFlightCount++
    let probe: Promise<ProbeOutcome>
    try {
      probe = entry.runner.probe(controller.signal)
    } catch (err) {
      probe = Promise.reject(err)
    }
    probe.then(
      (outcome) => this.settle(entry, token, outcome),
      // The contract says a probe never rejects; if one does, it is a failed attempt.
      () => this.settle(entry, token, { ok: false, failure: undefined, latencyMs: (this.clock.now() - startedAt) / 1000 }),
    )
  }

  /** Ends the attempt if it is still the current one; false when it was aborted, expired or removed. */
  private finish(entry: Entry, token: number): Attempt | undefined {
    const attempt = entry.attempt
    if (!attempt || attempt.token !== token) return undefined
    entry.attempt = undefined
    this.inFlightCount--
    return attempt
  }

  private settle(entry: Entry, token: number, outcome: ProbeOutcome): void {
    const attempt = this.finish(entry, token)
    if (!attempt) return
    this.clock.clearTimer(attempt.deadline)
    this.apply(entry, outcome, attempt.startedAt)
    this.drain()
  }

  private expire(entry: Entry, token: number, deadlineUs: number): void {
    const attempt = this.finish(entry, token)
    if (!attempt) return
    entry.controller = undefined
    attempt.controller.abort()
    const r = entry.runner
    this.options.log(`${r.kind} on service ${r.target.text} of VS ${r.target.vsText}: attempt did not settle in ${deadlineUs / 1000} ms - aborted`)
    this.apply(entry, { ok: false, failure: undefined, latencyMs: deadlineUs / 1000 }, attempt.startedAt)
    this.drain()
  }

  private apply(entry: Entry, outcome: ProbeOutcome, startedAt: number): void {
    const { runner } = entry
    const decision = onOutcome(entry.state, outcome, runner.timing, runner.lines, entry.policy)
    entry.state = decision.state
    entry.lastOutcome = outcome
    entry.lastResultAt = this.clock.now()
    const { onWeight, onTransition, onResult, log } = this.options
    if (decision.weight !== undefined && onWeight) this.guard(() => onWeight(runner.id, decision.weight!))
    for (const line of decision.log) this.guard(() => log(line))
    if (decision.verdict !== undefined && onTransition) this.guard(() => onTransition(runner.id, decision.verdict === 'up'))
    if (onResult) this.guard(() => onResult(runner.id, outcome, decision))
    // A callback may have removed this checker (or stopped everything).
    if (this.entries.get(runner.id) !== entry) return
    const elapsed = entry.policy.measureFrom === 'start' ? this.clock.now() - startedAt : 0
    // check_misc.c never reschedules in the past: at least one microsecond.
    const delay = entry.policy.measureFrom === 'start' ? Math.max(1, decision.nextDelayUs - elapsed) : decision.nextDelayUs
    this.schedule(entry, delay)
  }

  /** A throwing callback must not stop the other checkers. */
  private guard(fn: () => void): void {
    try {
      fn()
    } catch (err) {
      try {
        this.options.log(`Checker callback failed: ${err instanceof Error ? err.message : String(err)}`)
      } catch {
        // Nothing left to report it to.
      }
    }
  }

  private cancel(entry: Entry): void {
    if (entry.timer !== undefined) this.clock.clearTimer(entry.timer)
    entry.timer = undefined
    entry.nextRunAt = undefined
    if (entry.queued) {
      entry.queued = false
      this.queuedCount--
    }
    const attempt = entry.attempt
    if (attempt) {
      entry.attempt = undefined
      this.inFlightCount--
      this.clock.clearTimer(attempt.deadline)
      entry.controller = undefined
      attempt.controller.abort()
    }
  }
}
