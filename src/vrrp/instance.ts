/**
 * The VRRP instance state machine: `step(state, event) → { state, actions }`,
 * pure and with time injected (reference §5.3–§5.8). The runtime delivers
 * validated adverts, timer callbacks at {@link nextDeadline}, tracking and
 * sync-group events, and performs the returned actions in order.
 */
import { backupReceive, backupTimeout } from './instance-backup.js'
import { faultCleared, faultSet, leaveFault, trackerReady } from './instance-fault.js'
import { reloadInstance, removeInstance, resume, start } from './instance-lifecycle.js'
import { gotoMaster, leaveMaster, masterReceive, masterTransmit, restoreInterface } from './instance-master.js'
import type {
  InstanceEvent, InstanceState, PriorityEvent, StepOptions, StepResult, SyncEvent,
} from './instance-types.js'
import { act, beginWork, resetSands, setPriority, type Work } from './instance-work.js'
import type { InstanceParams } from './params.js'
import { transitionReason } from './transition-reason.js'

export type * from './instance-types.js'

/** A new instance in INIT: no timers until the `start` event. */
export function createInstance(params: InstanceParams): InstanceState {
  return {
    params,
    state: 'INIT',
    wantState: params.initialState,
    basePriority: params.basePriority,
    effectivePriority: params.basePriority,
    masterAdverInt: params.advertInt,
    msDownTimer: 0,
    deadlines: { advert: undefined, masterDown: undefined, garpMasterDelayed: undefined, garpLowerPrioDelayed: undefined },
    garpRefreshAt: undefined,
    preemptAt: undefined,
    faults: [],
    initPending: [],
    vipsSet: false,
    masterAddress: undefined,
    masterPriority: undefined,
    startupUntil: undefined,
    downReason: undefined,
  }
}

/** The earliest deadline the runtime must deliver a `timer` event for, or undefined. */
export function nextDeadline(state: InstanceState): number | undefined {
  let next: number | undefined
  for (const at of Object.values(state.deadlines)) {
    if (at !== undefined && (next === undefined || at < next)) next = at
  }
  return next
}

/**
 * Apply one event. Never throws for any event in any state: events that make
 * no sense in the current state (an advert while FAULT, anything after STOP)
 * are ignored, as keepalived ignores them.
 */
export function step(state: InstanceState, event: InstanceEvent, opts: StepOptions = {}): StepResult {
  const w = beginWork(state, event.now, opts)
  if (state.state === 'STOP') return { state, actions: [] }
  switch (event.type) {
    case 'start':
      if (state.state === 'INIT') start(w, event)
      break
    case 'advert':
      if (w.s.state === 'BACKUP') backupReceive(w, event)
      else if (w.s.state === 'MASTER') masterReceive(w, event)
      break
    case 'timer':
      timer(w)
      break
    case 'priority':
      priorityChanged(w, event)
      break
    case 'fault':
      if (w.s.state === 'INIT') w.s.faults = event.active ? addOnce(w.s.faults, event.cause) : w.s.faults.filter((c) => c !== event.cause)
      else if (event.active) faultSet(w, event.cause)
      else faultCleared(w, event.cause)
      break
    case 'trackerReady':
      trackerReady(w, event.cause)
      break
    case 'sync':
      syncForced(w, event)
      break
    case 'stop':
      stop(w)
      break
    case 'resume':
      if (state.state === 'INIT') resume(w, event)
      break
    case 'reload':
      reloadInstance(w, event)
      break
    case 'delete':
      removeInstance(w, event)
      break
  }
  if (w.s.state !== state.state) {
    w.actions.push({ type: 'transition', from: state.state, to: w.s.state, reason: transitionReason(state, w.s, event) })
  }
  return { state: w.s, actions: w.actions }
}

function addOnce(list: readonly string[], item: string): readonly string[] {
  return list.includes(item) ? list : [...list, item]
}

/** vrrp_dispatcher_read_timeout() and the delayed GARP threads: everything due at `now`. */
function timer(w: Work): void {
  const { s, now } = w
  const d = s.deadlines
  if (s.state === 'BACKUP' && d.masterDown !== undefined && d.masterDown <= now) {
    backupTimeout(w)
    resetSands(w)
  } else if (s.state === 'MASTER' && d.advert !== undefined && d.advert <= now) {
    masterTransmit(w)
    resetSands(w)
  }
  if (d.garpMasterDelayed !== undefined && d.garpMasterDelayed <= now) {
    d.garpMasterDelayed = undefined
    if (s.state === 'MASTER' && s.vipsSet) act(w, { type: 'garp', round: 'masterDelayed', repeat: s.params.garp.masterRepeat })
  }
  if (d.garpLowerPrioDelayed !== undefined && d.garpLowerPrioDelayed <= now) {
    d.garpLowerPrioDelayed = undefined
    if (s.state === 'MASTER' && s.vipsSet) act(w, { type: 'garp', round: 'lowerPrioDelayed', repeat: s.params.garp.lowerPrioRepeat })
  }
}

function priorityChanged(w: Work, ev: PriorityEvent): void {
  setPriority(w, ev.priority)
}

/** vrrp_sync_master / vrrp_sync_backup / vrrp_sync_fault applied to this member. */
function syncForced(w: Work, ev: SyncEvent): void {
  const { s } = w
  if (s.state === 'INIT' || s.state === ev.state) return
  if (ev.state === 'MASTER') {
    if (s.faults.length) return
    gotoMaster({ ...w, opts: { ...w.opts, mayBecomeMaster: true } })
  } else if (ev.state === 'BACKUP') {
    if (s.faults.length || s.initPending.length) return
    s.wantState = 'BACKUP'
    if (s.state === 'MASTER') leaveMaster(w, 'BACKUP', false)
    else leaveFault(w)
  } else {
    s.wantState = 'FAULT'
    if (s.state === 'MASTER') {
      leaveMaster(w, 'FAULT', false)
    } else {
      // keepalived sets the state first ("a bit of a bodge"), so no Entering line, but a notify.
      s.state = 'FAULT'
      leaveFault(w)
    }
  }
}

/** Shutdown (vrrp_terminate_phase1 → restore_vrrp_interfaces, then notify STOP). */
function stop(w: Work): void {
  const { s } = w
  if (s.state === 'MASTER') restoreInterface(w, true)
  act(w, { type: 'notify', state: 'STOP', priority: s.effectivePriority })
  s.state = 'STOP'
  s.wantState = 'STOP'
  s.deadlines = { advert: undefined, masterDown: undefined, garpMasterDelayed: undefined, garpLowerPrioDelayed: undefined }
  s.garpRefreshAt = undefined
}
