/**
 * BACKUP side of the state machine, after keepalived vrrp.c vrrp_state_backup
 * and vrrp_scheduler.c vrrp_dispatcher_read_timeout (reference §5.3–§5.5).
 */
import { gotoMaster } from './instance-master.js'
import type { AdvertEvent } from './instance-types.js'
import { act, currentMasterDown, currentSkew, log, ms, resetSands, type Work } from './instance-work.js'
import { SECOND, STOP_PRIORITY } from './timers.js'

/** `%lu.%6.6lu` of a µs value, as the preempt-delay line prints it. */
function seconds(us: number): string {
  return `${Math.floor(us / SECOND)}.${String(us % SECOND).padStart(6, '0')}`
}

/** Whether preemption is still held back by nopreempt, the priority or preempt_delay. */
function accepts(w: Work, ev: AdvertEvent): boolean {
  const { s, now } = w
  const p = s.params
  if (p.nopreempt || ev.priority >= s.effectivePriority) return true
  return p.preemptDelay > 0 && (s.preemptAt === undefined || s.preemptAt > now)
}

/**
 * An advert while BACKUP. Priority 0 shortens the wait to Skew_Time (RFC 5798
 * §6.4.2); an accepted advert restarts Master_Down_Interval; a lower priority
 * one we may preempt is discarded and the running timer is kept.
 */
export function backupReceive(w: Work, ev: AdvertEvent): void {
  const { s, now } = w
  const p = s.params
  if (ev.priority === STOP_PRIORITY) {
    act(w, { type: 'stat', counter: 'priorityZeroReceived' })
    log(w, 'Backup received priority 0 advertisement', true)
    s.msDownTimer = currentSkew(w)
    s.downReason = `priority 0 advert from ${ev.from}`
  } else if (accepts(w, ev)) {
    if (p.version === 3 && s.masterAdverInt !== ev.adverInt) {
      // RFC 5798 §6.4.2: a v3 backup adopts the master's advertised interval.
      log(w, `advertisement interval updated from ${ms(s.masterAdverInt)}ms to ${ms(ev.adverInt)}ms by master`, true)
      s.masterAdverInt = ev.adverInt
    }
    s.msDownTimer = currentMasterDown(w)
    s.masterAddress = ev.from
    s.masterPriority = ev.priority
    s.downReason = undefined
    if (p.preemptDelay) {
      if (ev.priority >= s.effectivePriority) {
        if (s.preemptAt !== undefined) {
          log(w, 'stop preempt delay', true)
          s.preemptAt = undefined
        }
      } else if (s.preemptAt === undefined) {
        log(w, `start preempt delay (${seconds(p.preemptDelay)})`, true)
        s.preemptAt = now + p.preemptDelay
      }
    }
    // A sync group may have held us in BACKUP wanting MASTER; now a master exists.
    s.wantState = 'BACKUP'
  } else {
    log(w, `received lower priority (${ev.priority}) advert from ${ev.from} - discarding`)
    s.masterAddress = ev.from
    s.downReason = `preempting lower priority master ${ev.from}`
    // Keep the running timer: what is left of it becomes the down timer.
    const left = (s.deadlines.masterDown ?? now) - now
    s.msDownTimer = Math.max(0, left)
  }
  resetSands(w)
}

/** The master-down timer fired: `Receive advertisement timeout`, then try to become MASTER. */
export function backupTimeout(w: Work): void {
  log(w, 'Receive advertisement timeout', true)
  gotoMaster(w)
}
