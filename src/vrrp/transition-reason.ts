/**
 * Why an instance changed state, in a few words for an operator
 * (`keepalived-ts status`, the transition listeners): derived from the event
 * that caused the change and the state before and after it. Pure.
 */
import type { InstanceEvent, InstanceState } from './instance-types.js'

/** `interface eth0` → `tracked interface eth0`. */
function tracked(cause: string | undefined): string {
  return cause === undefined ? 'a tracker' : `tracked ${cause}`
}

function faultText(after: InstanceState): string {
  if (after.faults.length) return `${tracked(after.faults[0])} down`
  if (after.initPending.length) return `waiting for ${tracked(after.initPending[0])}`
  return 'sync group in fault'
}

/** The reason of the change `before` → `after` caused by `event`. */
export function transitionReason(before: InstanceState, after: InstanceState, event: InstanceEvent): string {
  switch (event.type) {
    case 'start':
      return after.state === 'FAULT' ? `${faultText(after)} at startup` : 'startup'
    case 'resume':
      return after.state === 'MASTER' ? 'resumed after a restart of the VRRP process' : after.state === 'FAULT' ? `${faultText(after)} at startup` : 'startup'
    case 'timer':
      return before.downReason ?? 'master down timer expired'
    case 'advert':
      if (event.priority === 0) return `priority 0 advert from ${event.from}`
      return event.priority > before.effectivePriority
        ? `higher priority advert from ${event.from}`
        : `equal priority advert from higher address ${event.from}`
    case 'fault':
      return `${tracked(event.cause)} ${event.active ? 'down' : 'up'}`
    case 'trackerReady':
      return `first result of ${tracked(event.cause)}`
    case 'sync':
      return event.group === undefined ? 'sync group' : `sync group ${event.group}`
    case 'priority':
      return `priority changed to ${after.effectivePriority}`
    case 'stop':
      return 'stop'
    case 'reload':
      return after.state === 'FAULT' ? `${faultText(after)} after reload` : 'fault cleared by reload'
    case 'delete':
      return 'removed by reload'
  }
}
