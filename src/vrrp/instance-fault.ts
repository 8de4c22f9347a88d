/**
 * FAULT handling after keepalived vrrp_track.c down_instance(),
 * vrrp_scheduler.c try_up_instance() and vrrp.c vrrp_state_leave_fault()
 * (reference §5.4, §5.11). Causes are counted like num_script_if_fault: the
 * first one takes the instance down, the last one to clear lets it up.
 */
import { gotoMaster, leaveMaster } from './instance-master.js'
import { act, currentMasterDown, currentSkew, log, resetSands, type Work } from './instance-work.js'

/**
 * vrrp_state_leave_fault(): to the wanted state. Also used for FAULT entries
 * from BACKUP/INIT, where it logs `Entering FAULT STATE` and notifies.
 */
export function leaveFault(w: Work): void {
  const { s } = w
  if (s.wantState === 'MASTER') {
    gotoMaster(w)
  } else {
    if (s.state !== s.wantState) log(w, `Entering ${s.wantState === 'BACKUP' ? 'BACKUP' : 'FAULT'} STATE`)
    s.state = s.wantState
    act(w, { type: 'notify', state: s.state === 'BACKUP' ? 'BACKUP' : 'FAULT', priority: s.effectivePriority })
    if (s.state === 'BACKUP') s.preemptAt = undefined
  }
  s.masterAdverInt = s.params.advertInt
  s.msDownTimer = currentMasterDown(w)
  resetSands(w)
}

/** down_instance(): a fault cause appeared. */
export function faultSet(w: Work, cause: string): void {
  const { s } = w
  if (s.faults.includes(cause)) return
  const first = s.faults.length === 0
  s.faults = [...s.faults, cause]
  if (!first && s.state !== 'INIT') return
  s.wantState = 'FAULT'
  if (s.state === 'MASTER') leaveMaster(w, 'FAULT', true)
  else leaveFault(w)
}

/** try_up_instance(): a fault cause cleared or the last weight-0 tracker reported. */
export function tryUp(w: Work): void {
  const { s } = w
  const p = s.params
  if (s.faults.length || s.initPending.length) {
    if (!s.faults.length) s.wantState = 'BACKUP'
    return
  }
  const ownerMaster = s.wantState === 'MASTER' && s.basePriority === 255
  if (!ownerMaster) s.wantState = 'BACKUP'
  s.masterAdverInt = p.advertInt
  s.msDownTimer = ownerMaster ? p.advertInt + currentSkew(w) : currentMasterDown(w)
  // The group stays in FAULT while any other member has a fault of its own.
  if (w.opts.groupFaulted) return
  if (s.wantState === 'MASTER' && w.opts.mayBecomeMaster === false) s.wantState = 'BACKUP'
  leaveFault(w)
  if (p.unicast) {
    // The master may have dropped us from its ARP cache; make it relearn us now.
    // Without a configured source the runtime knows the address and logs the line.
    if (p.sourceAddress !== undefined) {
      w.actions.push({ type: 'log', line: `${p.name}: sending gratuitous ${p.family === 4 ? 'ARP' : 'NA'} for ${p.sourceAddress}`, detail: true })
    }
    act(w, { type: 'sourceGarp' })
  }
}

/** A fault cause cleared. */
export function faultCleared(w: Work, cause: string): void {
  const { s } = w
  if (!s.faults.includes(cause)) return
  s.faults = s.faults.filter((c) => c !== cause)
  if (s.state === 'STOP') return
  tryUp(w)
}

/** A weight-0 tracker reported for the first time. */
export function trackerReady(w: Work, cause: string): void {
  const { s } = w
  if (!s.initPending.includes(cause)) return
  s.initPending = s.initPending.filter((c) => c !== cause)
  if (s.initPending.length || s.state === 'INIT' || s.state === 'STOP') return
  tryUp(w)
}
