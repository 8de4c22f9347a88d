/**
 * One checker's retry state machine, as keepalived 2.2.7's checkers keep it
 * (check_tcp.c tcp_epilog, check_udp.c, check_ping.c, check_dns.c dns_final,
 * check_misc.c, check_http.c epilog): `is_up`, `has_run` and `retry_it`.
 *
 * - Start (check_data.c validate_check_config): an `alpha` checker starts
 *   down, any other starts up; both start with the retry counter exhausted
 *   (`retry_it = retry`), so the first failure is final ("one failure is
 *   enough initially") and logs `… failed.` without "after N retries".
 * - A success resets the counter and waits delay_loop; it is logged and
 *   reported when the checker was down or had never run.
 * - A failure while up (or before the first result) is retried `retry` times
 *   `delay_before_retry` apart; the `retry + 1`-th failure in a row is final:
 *   the kind's down line is logged, the checker goes down, delay_loop.
 * - A failure while already down is silent. TCP_CHECK keeps cycling through
 *   its retries (tcp_epilog has no `is_up` test there); the others wait
 *   delay_loop; HTTP_GET/SSL_GET wait the longer of delay_before_retry and
 *   delay_loop, after the final failure too (its `failed_url` rule).
 *
 * Pure: time is the caller's (delays are microseconds, as in the config model).
 */
import type { CheckerTiming } from '../config/lvs/model.js'
import type { CheckerLines, ProbeOutcome } from './probe.js'

export interface CheckerState {
  /** keepalived's `is_up`. */
  readonly up: boolean
  /** keepalived's `has_run`: a result has been seen. */
  readonly hasRun: boolean
  /** keepalived's `retry_it`: failed attempts already retried in this run of failures. */
  readonly retryIt: number
}

/** How a kind differs from tcp_epilog once its checker is down, and where its next delay counts from. */
export interface RetryPolicy {
  /** tcp_epilog retries while down too; udp/ping/dns/misc/http/smtp do not. */
  readonly retryWhileDown: boolean
  /** Delay after a failure while down: delay_loop, or (HTTP's failed URL) the longer of both timers. */
  readonly downDelay: 'delay-loop' | 'longer'
  /** MISC_CHECK times its next run from the script's start (`last_ran`), the others from the result. */
  readonly measureFrom: 'start' | 'end'
}

export const DEFAULT_POLICY: RetryPolicy = { retryWhileDown: false, downDelay: 'delay-loop', measureFrom: 'end' }

const POLICIES: Readonly<Record<string, RetryPolicy>> = {
  TCP_CHECK: { retryWhileDown: true, downDelay: 'delay-loop', measureFrom: 'end' },
  HTTP_GET: { retryWhileDown: false, downDelay: 'longer', measureFrom: 'end' },
  SSL_GET: { retryWhileDown: false, downDelay: 'longer', measureFrom: 'end' },
  MISC_CHECK: { retryWhileDown: false, downDelay: 'delay-loop', measureFrom: 'start' },
}

/** The policy for a checker kind (`TCP_CHECK`, `HTTP_GET` …); unknown kinds get udp/ping/dns's. */
export function retryPolicy(kind: string): RetryPolicy {
  return POLICIES[kind] ?? DEFAULT_POLICY
}

/** The state before the first result (not a reload: migrated state is the reload code's business). */
export function initialCheckerState(timing: Pick<CheckerTiming, 'alpha' | 'retry'>): CheckerState {
  return { up: !timing.alpha, hasRun: false, retryIt: timing.retry }
}

export interface CheckerDecision {
  readonly state: CheckerState
  /** Microseconds until the next attempt (from the result, or from its start with `measureFrom: 'start'`). */
  readonly nextDelayUs: number
  /** Lines to log, in order. */
  readonly log: readonly string[]
  /** The checker's up/down changed. */
  readonly transition: 'up' | 'down' | undefined
  /**
   * keepalived calls update_svr_checker_state() with this: every transition,
   * and also the first final result of a checker that did not change it (the
   * real server side needs it for its has_run notifications).
   */
  readonly verdict: 'up' | 'down' | undefined
  /** MISC_CHECK misc_dynamic / FILE_CHECK weight, passed through (applied before the verdict, as keepalived does). */
  readonly weight?: number
}

/** The next state, delay and lines after one attempt's outcome. */
export function onOutcome(
  state: CheckerState,
  outcome: ProbeOutcome,
  timing: CheckerTiming,
  lines: CheckerLines,
  policy: RetryPolicy = DEFAULT_POLICY,
): CheckerDecision {
  const weight = outcome.weight !== undefined ? { weight: outcome.weight } : {}
  const decision = outcome.ok ? success(state, outcome, timing, lines) : failure(state, outcome, timing, lines, policy)
  const notices = outcome.notices ?? []
  return { ...decision, ...(notices.length > 0 ? { log: [...notices, ...decision.log] } : {}), ...weight }
}

function success(state: CheckerState, outcome: ProbeOutcome, timing: CheckerTiming, lines: CheckerLines): CheckerDecision {
  const next: CheckerState = { up: true, hasRun: true, retryIt: 0 }
  if (state.up && state.hasRun) return { state: next, nextDelayUs: timing.delayLoop, log: [], transition: undefined, verdict: undefined }
  const line = lines.up(outcome)
  return {
    state: next,
    nextDelayUs: timing.delayLoop,
    log: line === undefined ? [] : typeof line === 'string' ? [line] : [...line],
    transition: state.up ? undefined : 'up',
    verdict: 'up',
  }
}

function failure(
  state: CheckerState, outcome: ProbeOutcome, timing: CheckerTiming, lines: CheckerLines, policy: RetryPolicy,
): CheckerDecision {
  const firstRun = !state.hasRun
  if (!state.up && !firstRun) return failureWhileDown(state, timing, policy)

  if (state.retryIt < timing.retry) {
    // A retried attempt: the kind's own line (MISC_CHECK decides when), else its failure with log_all_failures.
    // The final attempt has the down line only (probe.ts's contract; DNS_CHECK's down line is that failure).
    const line = lines.retrying
      ? lines.retrying(outcome, state.retryIt + 1, timing.retry)
      : timing.logAllFailures ? outcome.failure : undefined
    return {
      state: { up: state.up, hasRun: true, retryIt: state.retryIt + 1 },
      nextDelayUs: timing.delayBeforeRetry,
      log: line !== undefined ? [line] : [],
      transition: undefined,
      verdict: undefined,
    }
  }
  return {
    state: { up: false, hasRun: true, retryIt: 0 },
    nextDelayUs: downDelay(timing, policy),
    log: [lines.down(outcome, timing.retry, firstRun)],
    transition: state.up ? 'down' : undefined,
    verdict: 'down',
  }
}

function failureWhileDown(state: CheckerState, timing: CheckerTiming, policy: RetryPolicy): CheckerDecision {
  const quiet = { log: [], transition: undefined, verdict: undefined } as const
  if (policy.retryWhileDown) {
    const final = state.retryIt >= timing.retry
    return {
      state: { up: false, hasRun: true, retryIt: final ? 0 : state.retryIt + 1 },
      nextDelayUs: final ? timing.delayLoop : timing.delayBeforeRetry,
      ...quiet,
    }
  }
  return { state: { up: false, hasRun: true, retryIt: 0 }, nextDelayUs: downDelay(timing, policy), ...quiet }
}

/** HTTP_GET's epilog waits the longer timer once a URL has failed (the final failure included). */
function downDelay(timing: CheckerTiming, policy: RetryPolicy): number {
  return policy.downDelay === 'longer' ? Math.max(timing.delayBeforeRetry, timing.delayLoop) : timing.delayLoop
}

/**
 * The longest a dead server stays in the pool after its last successful
 * attempt, for a checker whose attempts each take at most `connectTimeout`:
 * the next attempt comes delay_loop later, and then `retry + 1` failures in a
 * row, `delay_before_retry` apart, are needed: D + R × (C + B) + C.
 * (A probe started from the concurrency queue adds its wait to this.)
 */
export function detectionBoundUs(timing: Pick<CheckerTiming, 'delayLoop' | 'retry' | 'delayBeforeRetry'>, connectTimeoutUs: number): number {
  return timing.delayLoop + timing.retry * (connectTimeoutUs + timing.delayBeforeRetry) + connectTimeoutUs
}
