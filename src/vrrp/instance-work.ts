/**
 * A step works on a private mutable copy of the instance state and collects
 * actions; the caller only ever sees the frozen result, so `step` stays pure.
 * The helpers here are the small pieces keepalived's vrrp.c functions share:
 * the down timer, the `sands` deadline, log lines.
 */
import type { InstanceAction, InstanceDeadlines, InstanceState, StepOptions } from './instance-types.js'
import { OWNER_PRIORITY, vrrpTimers } from './timers.js'

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

export interface Work {
  readonly s: Omit<Mutable<InstanceState>, 'deadlines'> & { deadlines: Mutable<InstanceDeadlines> }
  readonly actions: InstanceAction[]
  readonly now: number
  readonly opts: StepOptions
}

export function beginWork(state: InstanceState, now: number, opts: StepOptions): Work {
  return { s: { ...state, deadlines: { ...state.deadlines } }, actions: [], now, opts }
}

/** `(VI_1) <text>`: every instance line starts with the name in brackets (2.x format). */
export function log(w: Work, text: string, detail = false): void {
  w.actions.push({ type: 'log', line: `(${w.s.params.name}) ${text}`, detail })
}

/** A line without the instance prefix (sync group lines). */
export function logRaw(w: Work, line: string, detail = false): void {
  w.actions.push({ type: 'log', line, detail })
}

export function act(w: Work, action: InstanceAction): void {
  w.actions.push(action)
}

/** Skew_Time at the current effective priority and Master_Adver_Interval. */
export function currentSkew(w: Work): number {
  return timersOf(w).skewTime
}

/** Master_Down_Interval at the current effective priority and Master_Adver_Interval (VRRP_MS_DOWN_TIMER). */
export function currentMasterDown(w: Work): number {
  return timersOf(w).masterDownInterval
}

function timersOf(w: Work) {
  const { s } = w
  return vrrpTimers({
    version: s.params.version,
    priority: s.effectivePriority,
    masterAdverInt: s.masterAdverInt,
    downTimerAdverts: s.params.downTimerAdverts,
  })
}

/**
 * keepalived's vrrp_init_instance_sands(): MASTER → next advert one advert_int
 * from now; BACKUP → ms_down_timer from now (or from the end of the startup
 * delay); FAULT, INIT, STOP → no protocol timer.
 */
export function resetSands(w: Work): void {
  const { s } = w
  s.deadlines.advert = undefined
  s.deadlines.masterDown = undefined
  if (s.state === 'MASTER') {
    s.deadlines.advert = w.now + s.params.advertInt
  } else if (s.state === 'BACKUP') {
    const from = s.startupUntil !== undefined && w.now < s.startupUntil ? s.startupUntil : w.now
    if (s.startupUntil !== undefined && w.now >= s.startupUntil) s.startupUntil = undefined
    s.deadlines.masterDown = from + s.msDownTimer
  }
}

/** Drop the delayed GARP rounds (keepalived's vrrp_remove_delayed_arp and link updates that find no VIPs). */
export function cancelGarps(w: Work): void {
  w.s.deadlines.garpMasterDelayed = undefined
  w.s.deadlines.garpLowerPrioDelayed = undefined
  w.s.garpRefreshAt = undefined
}

/** `%u` of a µs interval in ms, as keepalived prints intervals. */
export function ms(us: number): number {
  return Math.floor(us / 1000)
}

/** vrrp_set_effective_priority(): owners ignore tracking; clamp; shift a running backup timer. */
export function setPriority(w: Work, priority: number): void {
  const { s } = w
  if (s.basePriority === OWNER_PRIORITY) return
  const next = Math.min(OWNER_PRIORITY - 1, Math.max(1, Math.trunc(priority)))
  if (next === s.effectivePriority) return
  log(w, `Changing effective priority from ${s.effectivePriority} to ${next}`)
  s.effectivePriority = next
  const old = s.msDownTimer
  s.msDownTimer = currentMasterDown(w)
  if (s.state === 'BACKUP' && s.deadlines.masterDown !== undefined) {
    s.deadlines.masterDown += s.msDownTimer - old
  }
}
