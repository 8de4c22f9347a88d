/**
 * MASTER side of the state machine, after keepalived vrrp.c:
 * vrrp_state_goto_master / vrrp_state_master_tx / vrrp_state_become_master,
 * vrrp_state_master_rx, vrrp_state_leave_master and vrrp_restore_interface
 * (reference §5.4, §5.8).
 */
import { garpRepeat, refreshDue } from './garp-schedule.js'
import { compareAddresses } from './instance-address.js'
import type { AdvertEvent } from './instance-types.js'
import { act, cancelGarps, currentMasterDown, log, ms, resetSands, type Work } from './instance-work.js'
import { OWNER_PRIORITY, STOP_PRIORITY } from './timers.js'

/** The `%sing` lines of vrrp_handle_ipaddress / _iproutes / _iprules and the firewall, in keepalived's order. */
export function addressLines(w: Work, verb: 'setting' | 'removing'): string[] {
  const p = w.s.params
  const vips = [
    ...(p.vipCount ? [`${verb} VIPs.`] : []),
    ...(p.evipCount ? [`${verb} E-VIPs.`] : []),
  ]
  const routes = [
    ...(p.routeCount ? [`${verb} Virtual Routes`] : []),
    ...(p.ruleCount ? [`${verb} Virtual Rules`] : []),
  ]
  const firewall = p.firewall ? [`${verb} firewall drop rule`] : []
  // Becoming master: firewall, VIPs, eVIPs, routes, rules; leaving: the reverse groups.
  return verb === 'setting' ? [...firewall, ...vips, ...routes] : [...routes.reverse(), ...vips, ...firewall]
}

/** vrrp_state_become_master(): install everything, first GARP round, notify. */
function becomeMaster(w: Work): void {
  const { s, now } = w
  act(w, { type: 'stat', counter: 'becomeMaster' })
  if (s.params.version === 3 && s.masterAdverInt !== s.params.advertInt) {
    log(w, `changing advert interval from ${ms(s.masterAdverInt)}ms to locally configured ${ms(s.params.advertInt)}ms`, true)
    s.masterAdverInt = s.params.advertInt
  }
  for (const line of addressLines(w, 'setting')) log(w, line, true)
  act(w, { type: 'addVips' })
  s.vipsSet = true
  act(w, { type: 'garp', round: 'master', repeat: s.params.garp.masterRepeat })
  s.garpRefreshAt = s.params.garp.masterRefresh ? now + s.params.garp.masterRefresh : undefined
  act(w, { type: 'notify', state: 'MASTER', priority: s.effectivePriority })
  // The second round is a timer keepalived starts after the first one.
  s.deadlines.garpMasterDelayed = s.params.garp.masterDelay ? now + s.params.garp.masterDelay : undefined
}

/**
 * vrrp_state_goto_master(): unless the sync group holds us back, become MASTER
 * and send an advert before anything else, so the old master drops the VIPs
 * before our GARPs go out. Returns false when held in BACKUP.
 */
export function gotoMaster(w: Work): boolean {
  const { s } = w
  s.wantState = 'MASTER'
  if (w.opts.mayBecomeMaster === false) {
    // vrrp_sync_can_goto_master(): wait a full down interval for the others.
    s.msDownTimer = currentMasterDown(w)
    resetSands(w)
    return false
  }
  s.state = 'MASTER'
  s.preemptAt = undefined
  s.downReason = undefined
  resetSands(w)
  masterTransmit(w)
  return true
}

/** vrrp_state_master_tx(): the advert timer; a new master also installs its VIPs. */
export function masterTransmit(w: Work): void {
  const { s, now } = w
  act(w, { type: 'sendAdvert', priority: s.effectivePriority })
  if (!s.vipsSet) {
    log(w, 'Entering MASTER STATE')
    becomeMaster(w)
  } else if (refreshDue(s.garpRefreshAt, now)) {
    act(w, { type: 'garp', round: 'refresh', repeat: garpRepeat(s.params.garp, 'refresh') })
    s.garpRefreshAt = now + s.params.garp.masterRefresh
  }
}

/** vrrp_restore_interface(): optionally priority 0 first, then remove everything. */
export function restoreInterface(w: Work, sendPriorityZero: boolean): void {
  const { s } = w
  if (sendPriorityZero) {
    act(w, { type: 'sendAdvert', priority: STOP_PRIORITY })
    act(w, { type: 'stat', counter: 'priorityZeroSent' })
    log(w, 'sent 0 priority', true)
  }
  cancelGarps(w)
  if (s.vipsSet) {
    for (const line of addressLines(w, 'removing')) log(w, line, true)
    act(w, { type: 'removeVips' })
    s.vipsSet = false
  }
}

/**
 * vrrp_state_leave_master(): to BACKUP (a higher priority won) or FAULT. Going
 * FAULT keepalived sends priority 0 here *and* again in restore_interface when
 * the fault came from tracking (`sendPriorityZero`), which is what the wire shows.
 */
export function leaveMaster(w: Work, to: 'BACKUP' | 'FAULT', sendPriorityZero: boolean): void {
  const { s } = w
  s.wantState = to
  if (to === 'BACKUP') {
    log(w, 'Entering BACKUP STATE')
    s.preemptAt = undefined
    s.downReason = undefined
  } else {
    log(w, 'Entering FAULT STATE')
    act(w, { type: 'sendAdvert', priority: STOP_PRIORITY })
  }
  restoreInterface(w, sendPriorityZero)
  s.state = to
  act(w, { type: 'notify', state: to, priority: s.effectivePriority })
  s.msDownTimer = currentMasterDown(w)
  resetSands(w)
  act(w, { type: 'stat', counter: 'releaseMaster' })
}

/**
 * vrrp_state_master_rx(): an advert while MASTER. Returns whether we sent an
 * advert (the advert timer restarts then, keepalived's init_instance_sands).
 */
export function masterReceive(w: Work, ev: AdvertEvent): void {
  const { s } = w
  const p = s.params
  const cmp = compareAddresses(ev.from, ev.ourAddress)
  const higher = ev.priority > s.effectivePriority || (ev.priority === s.effectivePriority && cmp > 0)
  if (ev.priority === STOP_PRIORITY) act(w, { type: 'stat', counter: 'priorityZeroReceived' })
  if (ev.priority === STOP_PRIORITY || (p.higherPrioSendAdvert && higher)) {
    act(w, { type: 'sendAdvert', priority: s.effectivePriority })
    if (ev.priority === STOP_PRIORITY) {
      log(w, 'Master received priority 0 message', true)
      restartAdvertTimer(w)
      return
    }
  }
  if (ev.priority === s.effectivePriority) {
    if (cmp === 0) {
      log(w, 'WARNING - equal priority advert received from remote host with our IP address.')
    } else if (s.effectivePriority === OWNER_PRIORITY) {
      log(w, 'CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority')
      s.effectivePriority = OWNER_PRIORITY - 1
      s.basePriority = OWNER_PRIORITY - 1
    }
  }
  if (ev.priority < s.effectivePriority || (ev.priority === s.effectivePriority && cmp < 0)) {
    masterSeesLower(w, ev)
    restartAdvertTimer(w)
    return
  }
  if (ev.priority > s.effectivePriority || (ev.priority === s.effectivePriority && cmp > 0)) {
    if (ev.priority > s.effectivePriority) {
      log(w, `Master received advert from ${ev.from} with higher priority ${ev.priority}, ours ${s.effectivePriority}`)
    } else {
      log(w, `Master received advert from ${ev.from} with same priority ${ev.priority} but higher IP address than ours`)
    }
    if (p.version === 3 && s.masterAdverInt !== ev.adverInt) {
      log(w, `advertisement interval updated from ${ms(s.masterAdverInt)}ms to ${ms(ev.adverInt)}ms by new master`, true)
      s.masterAdverInt = ev.adverInt
    }
    s.masterPriority = ev.priority
    s.masterAddress = ev.from
    leaveMaster(w, 'BACKUP', false)
    return
  }
  // Equal priority from our own address: nothing but the warning.
  restartAdvertTimer(w)
}

/** A lower priority master (or an equal one with a lower address) appeared: reassert. */
function masterSeesLower(w: Work, ev: AdvertEvent): void {
  const { s, now } = w
  const p = s.params
  log(w, `Received advert from ${ev.from} with lower priority ${ev.priority}, ours ${s.effectivePriority}${p.lowerPrioNoAdvert ? '' : ', forcing new election'}`)
  if (!p.lowerPrioNoAdvert) act(w, { type: 'sendAdvert', priority: s.effectivePriority })
  if (p.garp.lowerPrioRepeat) {
    act(w, { type: 'garp', round: 'lowerPrio', repeat: p.garp.lowerPrioRepeat })
    if (p.garp.lowerPrioDelay) s.deadlines.garpLowerPrioDelayed = now + p.garp.lowerPrioDelay
  }
  act(w, { type: 'notifyEvent', event: 'MASTER_RX_LOWER_PRI', priority: s.effectivePriority })
}

/** vrrp_dispatcher_read(): the advert timer restarts after an advert unless lower_prio_no_advert. */
function restartAdvertTimer(w: Work): void {
  if (!w.s.params.lowerPrioNoAdvert) resetSands(w)
}
