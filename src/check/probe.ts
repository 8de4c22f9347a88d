/**
 * The contract between one checker kind (tcp.ts, http.ts, misc.ts …) and the
 * pure checker state machine (checker-state.ts). A kind turns its config into a
 * {@link CheckerRunner}: a `probe` that makes one attempt and says how it went,
 * and keepalived's log lines for that kind (reference §4.4). The state machine
 * decides retries, up/down and which line to log; the kind never keeps state
 * between attempts (MISC_CHECK's running script is owned by its probe call).
 */
import type { CheckerTiming, Protocol } from '../config/lvs/model.js'

/** Where a checker's real server sits, as keepalived names it in log lines. */
export interface CheckTarget {
  /** The real server's address and port (the `[ip]:proto:port` keepalived prints). */
  readonly address: string
  readonly port: number
  readonly family: 4 | 6
  /** The virtual server's protocol; undefined (`none`) for fwmark services. */
  readonly protocol: Protocol | undefined
  /** keepalived's text for the real server: `[10.0.0.2]:tcp:80`. */
  readonly text: string
  /** keepalived's text for the virtual server: `[10.0.0.1]:tcp:80`, `FWM 5`, `[GROUP]:80`. */
  readonly vsText: string
  /** Resolved Host: fallback (real server, then virtual server virtualhost). */
  readonly virtualhost: string | undefined
}

/** The result of one attempt. */
export interface ProbeOutcome {
  readonly ok: boolean
  /**
   * keepalived's line for this attempt's failure (e.g. `TCP connection to
   * [10.0.0.2]:tcp:80 timeout.`), logged for a non-final failure only with
   * log_all_failures; undefined when ok or when keepalived logs nothing.
   */
  readonly failure: string | undefined
  /** Milliseconds from start of the attempt to its result. */
  readonly latencyMs: number
  /** MISC_CHECK misc_dynamic (exit status − 2) or FILE_CHECK: the weight the real server should now have. */
  readonly weight?: number | undefined
  /** Lines keepalived logs for this attempt whatever the checker's state (HTTP's Content-Length mismatch). */
  readonly notices?: readonly string[] | undefined
}

/** keepalived's lines for one checker kind, given the attempt outcome. */
export interface CheckerLines {
  /**
   * Logged when the checker becomes up (or its first result is a success), e.g.
   * `TCP connection to %s success.`; several lines for HTTP (each URL's success first).
   */
  up(outcome: ProbeOutcome): string | readonly string[] | undefined
  /**
   * Logged when the checker goes down after its retries, e.g. `TCP_CHECK on
   * service %s failed after %u retries.` (`retry` 0 or first run: `… failed.`).
   */
  down(outcome: ProbeOutcome, retry: number, firstRun: boolean): string
  /**
   * Logged for a failed attempt that will be retried (`attempt` counts from 1),
   * when keepalived logs one (MISC_CHECK with log_all_failures: `…, will do N retries`).
   * undefined → the state machine logs `outcome.failure` when log_all_failures.
   */
  retrying?(outcome: ProbeOutcome, attempt: number, retry: number): string | undefined
}

/** One configured checker made runnable. */
export interface CheckerRunner {
  readonly kind: string
  /** Unique within the daemon: virtual server, real server and checker index. */
  readonly id: string
  readonly target: CheckTarget
  readonly timing: CheckerTiming
  readonly lines: CheckerLines
  /**
   * Make one attempt; must settle (never reject) and honour `signal` (abort =
   * stop, no result needed). The scheduler hands a checker the same signal
   * attempt after attempt until it aborts one, so the listeners attempts add
   * to it must not pile up: an attempt removes its own by the time it
   * settles, or (connect-probe.ts) one listener serves every attempt.
   */
  probe(signal: AbortSignal): Promise<ProbeOutcome>
}
