/**
 * VRRP protocol timers exactly as keepalived computes them (reference §5.3,
 * keepalived vrrp.h VRRP_TIMER_SKEW / VRRP_MS_DOWN_TIMER). All values are
 * integer microseconds: peers mixing implementations elect by these timers, so
 * the rounding has to be keepalived's, not the RFC's prose.
 */

/** One second in microseconds (keepalived's TIMER_HZ). */
export const SECOND = 1_000_000
/** One centisecond in microseconds (keepalived's TIMER_CENTI_HZ): the VRRPv3 interval unit. */
export const CENTISECOND = 10_000
/** RFC 5798 §5.2.4: priority 255 is the address owner. */
export const OWNER_PRIORITY = 255
/** RFC 5798 §5.2.4: priority 0 means the master is leaving. */
export const STOP_PRIORITY = 0

export interface TimerInput {
  readonly version: 2 | 3
  /** The priority used for the skew: keepalived uses the *effective* priority. */
  readonly priority: number
  /** Master_Adver_Interval in µs: ours, or for v3 the one learned from the master. */
  readonly masterAdverInt: number
  /** `down_timer_adverts` (RFC's 3). */
  readonly downTimerAdverts: number
}

export interface VrrpTimers {
  /** Skew_Time in µs. */
  readonly skewTime: number
  /** Master_Down_Interval in µs. */
  readonly masterDownInterval: number
}

/**
 * keepalived's VRRP_TIMER_SKEW_CALC for a priority difference `value`
 * (256 − priority for Skew_Time, 1 for the minimum skew). v2 follows RFC 3768
 * and ignores the interval; v3 follows RFC 5798 §6.1 but is computed as
 * `value × centiseconds × 625 / 16` (625/16 = 10000/256), truncated, so priority
 * 200 at 1 s gives 218750 µs where FRR's centisecond arithmetic gives 210 ms.
 */
function skewFor(version: 2 | 3, value: number, masterAdverInt: number): number {
  if (version === 3) return Math.floor((value * Math.floor(masterAdverInt / CENTISECOND) * 625) / 16)
  return Math.floor((value * SECOND) / 256)
}

/** Skew_Time = (256 − priority) / 256 s (v2), × Master_Adver_Interval (v3). */
export function skewTime(version: 2 | 3, priority: number, masterAdverInt: number): number {
  return skewFor(version, 256 - priority, masterAdverInt)
}

/**
 * The smallest skew (priority 255's): keepalived uses Master_Adver_Interval +
 * this when a sync group holds a `state MASTER` instance in BACKUP at start.
 */
export function minimumSkewTime(version: 2 | 3, masterAdverInt: number): number {
  return skewFor(version, 1, masterAdverInt)
}

/** Skew_Time and Master_Down_Interval = down_timer_adverts × Master_Adver_Interval + Skew_Time. */
export function vrrpTimers(input: TimerInput): VrrpTimers {
  const skew = skewTime(input.version, input.priority, input.masterAdverInt)
  return { skewTime: skew, masterDownInterval: input.downTimerAdverts * input.masterAdverInt + skew }
}
