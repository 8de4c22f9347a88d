/**
 * How an instance begins and ends, beyond the protocol: start-up (keepalived
 * vrrp_init_state), resuming MASTER after the VRRP process was restarted,
 * a SIGHUP that keeps the instance with new parameters (vrrp.c
 * clear_diff_vrrp / restore_vrrp_state, reference §5.17) and a SIGHUP that
 * removes it. Pure like the rest of the state machine.
 */
import { leaveFault, tryUp } from './instance-fault.js'
import { addressLines, leaveMaster, restoreInterface } from './instance-master.js'
import type { DeleteEvent, ReloadEvent, ResumeEvent, StartEvent } from './instance-types.js'
import { act, cancelGarps, currentMasterDown, log, resetSands, setPriority, type Work } from './instance-work.js'
import { minimumSkewTime, OWNER_PRIORITY } from './timers.js'

function addOnce(list: readonly string[], item: string): readonly string[] {
  return list.includes(item) ? list : [...list, item]
}

/** vrrp_init_state(): BACKUP (init), FAULT, or the owner's 1 µs path to MASTER. */
export function start(w: Work, ev: Omit<StartEvent, 'type'>): void {
  const { s, now } = w
  const p = s.params
  s.startupUntil = p.startupDelay ? now + p.startupDelay : undefined
  s.masterAdverInt = p.advertInt
  for (const f of ev.faults ?? []) {
    w.actions.push({ type: 'log', line: f.reason, detail: false })
    s.faults = addOnce(s.faults, f.cause)
  }
  s.initPending = [...(ev.initPending ?? [])]
  if (ev.priority !== undefined) setPriority(w, ev.priority)
  if (s.faults.length || s.initPending.length || w.opts.groupFaulted) {
    // keepalived logs only the reasons here; no notify until a tracker reports.
    if (s.faults.length) s.wantState = 'FAULT'
    s.state = 'FAULT'
    resetSands(w)
    return
  }
  s.state = 'BACKUP'
  if (s.wantState === 'MASTER' && s.basePriority === OWNER_PRIORITY) {
    // "The simplest way to become master is to timeout from the backup state very quickly."
    s.msDownTimer = 1
    s.downReason = 'address owner starting'
  } else {
    log(w, 'Entering BACKUP STATE (init)')
    act(w, { type: 'notify', state: 'BACKUP', priority: s.effectivePriority })
    s.msDownTimer = s.wantState === 'MASTER' && w.opts.mayBecomeMaster === false
      ? s.masterAdverInt + minimumSkewTime(p.version, s.masterAdverInt)
      : currentMasterDown(w)
  }
  resetSands(w)
}

/**
 * MASTER at once after a restart of the VRRP process: no election, no
 * notify (the scripts ran when it became MASTER), an advert first so that
 * peers keep seeing their master, then the VIPs (already there: the kernel
 * says EEXIST) and one GARP / NA burst for switches that forgot them.
 */
export function resume(w: Work, ev: ResumeEvent): void {
  const { s, now } = w
  const p = s.params
  if (ev.faults?.length || w.opts.groupFaulted) return start(w, ev)
  s.startupUntil = undefined
  s.masterAdverInt = p.advertInt
  s.initPending = []
  if (ev.priority !== undefined) setPriority(w, ev.priority)
  log(w, 'resuming MASTER state after a restart of the VRRP process')
  s.state = 'MASTER'
  s.wantState = 'MASTER'
  act(w, { type: 'sendAdvert', priority: s.effectivePriority })
  for (const line of addressLines(w, 'setting')) log(w, line, true)
  act(w, { type: 'addVips' })
  s.vipsSet = true
  act(w, { type: 'garp', round: 'master', repeat: p.garp.masterRepeat })
  s.garpRefreshAt = p.garp.masterRefresh ? now + p.garp.masterRefresh : undefined
  resetSands(w)
}

/**
 * A matched instance after SIGHUP. keepalived builds a new instance and
 * copies the old state into it unless the new one has a fault of its own;
 * here the old state takes the new parameters. The VIP diff is the
 * runtime's (reload-plan.ts): nothing here removes or re-adds addresses of
 * an instance that stays MASTER.
 */
export function reloadInstance(w: Work, ev: ReloadEvent): void {
  const { s, now } = w
  const was = s.state
  s.params = ev.params
  if (was === 'INIT') return start(w, { now, faults: ev.faults, initPending: ev.initPending, priority: ev.priority })
  s.basePriority = ev.params.basePriority
  // keepalived computes the new instance's priority afresh (no "Changing effective priority" line).
  s.effectivePriority = s.basePriority === OWNER_PRIORITY ? OWNER_PRIORITY : Math.min(OWNER_PRIORITY - 1, Math.max(1, Math.trunc(ev.priority)))
  // A v3 backup keeps the interval it learned from a live master.
  if (!(was === 'BACKUP' && s.params.version === 3 && s.masterAddress !== undefined)) s.masterAdverInt = s.params.advertInt
  const faults = ev.faults.map((f) => f.cause)
  s.faults = faults
  // A running instance does not wait for a tracker added by the reload: its first result decides.
  s.initPending = was === 'FAULT' ? [...ev.initPending] : []
  if (faults.length) {
    if (was !== 'FAULT') for (const f of ev.faults) w.actions.push({ type: 'log', line: f.reason, detail: false })
    s.wantState = 'FAULT'
    if (was === 'MASTER') return leaveMaster(w, 'FAULT', true)
    if (was === 'BACKUP') return leaveFault(w)
    return resetSands(w)
  }
  if (was === 'FAULT') {
    if (!s.initPending.length) tryUp(w)
    return
  }
  s.msDownTimer = currentMasterDown(w)
  if (was === 'MASTER') {
    const next = now + s.params.advertInt
    if (s.deadlines.advert === undefined || s.deadlines.advert > next) s.deadlines.advert = next
    const refresh = s.params.garp.masterRefresh
    s.garpRefreshAt = refresh ? (s.garpRefreshAt ?? now + refresh) : undefined
    if (!s.params.garp.masterDelay) s.deadlines.garpMasterDelayed = undefined
    return
  }
  if (!s.params.preemptDelay) s.preemptAt = undefined
  resetSands(w)
}

/**
 * The instance is gone from the configuration (clear_diff_vrrp): a MASTER
 * sends priority 0 and releases everything; keepalived notifies FAULT
 * (DELETED with notify_deleted, not supported here) unless it was in FAULT.
 */
export function removeInstance(w: Work, _ev: DeleteEvent): void {
  const { s } = w
  if (s.state === 'STOP') return
  const wasFault = s.state === 'FAULT'
  if (s.state === 'MASTER') restoreInterface(w, true)
  if (!wasFault && s.state !== 'INIT') act(w, { type: 'notify', state: 'FAULT', priority: s.effectivePriority })
  cancelGarps(w)
  s.state = 'STOP'
  s.wantState = 'STOP'
  s.vipsSet = false
  s.deadlines = { advert: undefined, masterDown: undefined, garpMasterDelayed: undefined, garpLowerPrioDelayed: undefined }
}
