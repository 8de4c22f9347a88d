/**
 * The result state machine of one `vrrp_script` (reference §5.14; keepalived
 * vrrp_scheduler.c vrrp_init_script / vrrp_script_child_thread). A counter
 * walks between 0 and rise+fall−1: `rise` consecutive successes make the
 * script good, `fall` consecutive failures make it bad, and each change is
 * logged once. Running the script and timing it out is the runtime's job.
 */
import type { VrrpScript } from '../config/vrrp/model.js'

/** `init`: no result yet (weight-0 users wait); `failed` also covers `init_fail` before the first run. */
export type ScriptStatus = 'init' | 'ok' | 'failed'

export interface ScriptTrackerState {
  readonly name: string
  readonly rise: number
  readonly fall: number
  /** keepalived's `result`: ≥ rise means good. */
  readonly result: number
  /** keepalived's init_state: INIT until the first result, FAILED with init_fail. */
  readonly initState: 'init' | 'failed' | 'done'
  /** The last exit status, for `Script ... now returning %d`. */
  readonly lastStatus: number
}

/** How one run ended, as the runtime saw it. */
export type ScriptOutcome =
  | { readonly kind: 'exited'; readonly status: number }
  | { readonly kind: 'signaled'; readonly signal: number }
  /** Killed by us after `timeout` (TERM, then KILL). */
  | { readonly kind: 'timedOut' }

export interface ScriptResult {
  readonly state: ScriptTrackerState
  readonly logs: readonly string[]
  /** Set when the script turned good or bad; the trackers of instances recompute then. */
  readonly changed: 'ok' | 'failed' | undefined
}

export function createScriptTracker(script: VrrpScript): ScriptTrackerState {
  return {
    name: script.name,
    rise: script.rise,
    fall: script.fall,
    // "one success is enough" from the unknown state; init_fail starts failed.
    result: script.initFail ? 0 : script.rise - 1,
    initState: script.initFail ? 'failed' : 'init',
    lastStatus: 0,
  }
}

export function scriptStatus(state: ScriptTrackerState): ScriptStatus {
  if (state.initState === 'init') return 'init'
  return state.result >= state.rise ? 'ok' : 'failed'
}

/** Fold one run's outcome into the counter, with keepalived's log lines. */
export function scriptRan(state: ScriptTrackerState, outcome: ScriptOutcome): ScriptResult {
  const logs: string[] = []
  let { result, lastStatus } = state
  let changed: 'ok' | 'failed' | undefined
  let success: boolean
  let exitType: string
  let reason: string | undefined
  if (outcome.kind === 'exited') {
    if (outcome.status !== lastStatus) logs.push(`Script \`${state.name}\` now returning ${outcome.status}`)
    lastStatus = outcome.status
    success = outcome.status === 0
    exitType = success ? 'succeeded' : 'failed'
    if (!success) reason = `exited with status ${outcome.status}`
  } else if (outcome.kind === 'signaled') {
    success = false
    exitType = 'failed'
    reason = `due to signal ${outcome.signal}`
  } else {
    success = false
    exitType = 'timed_out'
  }
  const top = state.rise + state.fall - 1
  if (success) {
    if (result < state.rise - 1) {
      result++
    } else if (result !== top) {
      if (result < state.rise) {
        logs.push(`VRRP_Script(${state.name}) ${exitType}`)
        changed = 'ok'
      }
      result = top
    }
  } else if (result > state.rise) {
    result--
  } else {
    if (result === state.rise || state.initState === 'init') {
      logs.push(`VRRP_Script(${state.name}) ${exitType}${reason ? ` (${reason})` : ''}`)
      changed = 'failed'
    }
    result = 0
  }
  return { state: { ...state, result, lastStatus, initState: 'done' }, logs, changed }
}

/**
 * SIGHUP keeps a script's verdict (keepalived vrrp.c clear_diff_script): its
 * counter is carried into the new rise / fall, good stays good and bad stays
 * bad, with keepalived's line. A script still waiting for its first result
 * keeps waiting, silently (keepalived would call it unsuccessful).
 */
export function carryScriptTracker(old: ScriptTrackerState, script: VrrpScript): { state: ScriptTrackerState; log: string | undefined } {
  const fresh = createScriptTracker(script)
  if (old.initState === 'init') return { state: fresh, log: undefined }
  const { rise, fall } = script
  let result: number
  let log: string
  if (old.result < old.rise) {
    result = old.result === 0 ? 0 : Math.max(0, rise - (old.rise - old.result))
    log = `VRRP_Script(${script.name}) considered unsuccessful on reload`
  } else {
    result = old.result === old.rise + old.fall - 1
      ? rise + fall - 1
      : Math.min(rise + fall - 1, rise + (old.result - old.rise))
    log = `VRRP_Script(${script.name}) considered successful on reload`
  }
  return { state: { ...fresh, result, initState: 'done', lastStatus: old.lastStatus }, log }
}
