/**
 * A `vrrp_sync_group`: its members move together (reference §5.10;
 * keepalived vrrp_sync.c and the transition matrix of vrrp_scheduler.c).
 * MASTER only when every member wants MASTER; one member falling to BACKUP
 * takes the others with it; one member's FAULT puts them all in FAULT until
 * no member has a fault of its own.
 */
import { createInstance, nextDeadline, step } from './instance.js'
import type { InstanceAction, InstanceEvent, InstanceState, StepOptions, VrrpStateName } from './instance-types.js'

export type GroupStateName = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT'

export interface SyncGroupState {
  readonly name: string
  readonly state: GroupStateName
  /** Member names in configuration order. */
  readonly members: readonly string[]
  readonly instances: Readonly<Record<string, InstanceState>>
}

/** Run the group's notify plan (notify-plan.ts groupNotifyPlan) for this state. */
export interface GroupNotifyAction {
  readonly type: 'groupNotify'
  readonly state: 'MASTER' | 'BACKUP' | 'FAULT'
}

/** An action with the member it concerns; group lines and group notifies have none. */
export interface GroupAction {
  readonly instance: string | undefined
  readonly action: InstanceAction | GroupNotifyAction
}

export interface GroupStepResult {
  readonly group: SyncGroupState
  readonly actions: readonly GroupAction[]
}

export function createSyncGroup(name: string, members: readonly InstanceState[]): SyncGroupState {
  const instances: Record<string, InstanceState> = {}
  for (const m of members) instances[m.params.name] = m
  return { name, state: groupStateOf(members), members: members.map((m) => m.params.name), instances }
}

/**
 * The group's state from its members' (fresh members: INIT; after a reload,
 * the members carried over): MASTER when all are, FAULT when one is, else
 * BACKUP once one is (keepalived set_previous_sync_group_states).
 */
function groupStateOf(members: readonly InstanceState[]): GroupStateName {
  if (members.length && members.every((m) => m.state === 'MASTER')) return 'MASTER'
  if (members.some((m) => m.state === 'FAULT' && m.faults.length)) return 'FAULT'
  if (members.some((m) => m.state === 'BACKUP' || m.state === 'MASTER')) return 'BACKUP'
  return 'INIT'
}

/** The earliest deadline over all members. */
export function syncGroupNextDeadline(group: SyncGroupState): number | undefined {
  let next: number | undefined
  for (const name of group.members) {
    const at = nextDeadline(group.instances[name]!)
    if (at !== undefined && (next === undefined || at < next)) next = at
  }
  return next
}

interface GroupWork {
  name: string
  state: GroupStateName
  readonly members: readonly string[]
  instances: Record<string, InstanceState>
  readonly actions: GroupAction[]
}

function others(g: GroupWork, member: string): InstanceState[] {
  return g.members.filter((m) => m !== member).map((m) => g.instances[m]!)
}

function run(g: GroupWork, member: string, event: InstanceEvent, opts: StepOptions = {}): void {
  const r = step(g.instances[member]!, event, opts)
  g.instances[member] = r.state
  for (const action of r.actions) g.actions.push({ instance: member, action })
}

function groupLog(g: GroupWork, text: string): void {
  g.actions.push({ instance: undefined, action: { type: 'log', line: `VRRP_Group(${g.name}) ${text}`, detail: false } })
}

function moveGroup(g: GroupWork, trigger: string, to: 'MASTER' | 'BACKUP' | 'FAULT', now: number): void {
  groupLog(g, `Syncing instances to ${to} state`)
  for (const m of g.members) {
    if (m !== trigger && g.instances[m]!.state !== to) run(g, m, { type: 'sync', now, state: to, group: g.name })
  }
  g.state = to
  g.actions.push({ instance: undefined, action: { type: 'groupNotify', state: to } })
}

/** vrrp_sync_master(): only if every other member wants MASTER too. */
function syncMaster(g: GroupWork, trigger: string, now: number): void {
  if (g.state === 'MASTER') return
  if (!others(g, trigger).every((o) => o.wantState === 'MASTER')) return
  moveGroup(g, trigger, 'MASTER', now)
}

/**
 * Step one member and apply the group's transition rules to the others. The
 * runtime uses this instead of `step` for members of a sync group.
 */
export function syncGroupStep(group: SyncGroupState, member: string, event: InstanceEvent): GroupStepResult {
  const g: GroupWork = { name: group.name, state: group.state, members: group.members, instances: { ...group.instances }, actions: [] }
  const current = g.instances[member]
  if (!current) return { group, actions: [] }
  const rest = others(g, member)
  const opts: StepOptions = {
    mayBecomeMaster: g.state === 'MASTER' || rest.every((o) => o.wantState === 'MASTER'),
    groupFaulted: rest.some((o) => o.faults.length > 0),
  }
  const before: VrrpStateName = current.state
  run(g, member, event, opts)
  const after = g.instances[member]!
  const now = event.now
  const starting = event.type === 'start' || (event.type === 'resume' && after.state !== 'MASTER')
  if (event.type === 'resume' && after.state === 'MASTER') {
    // Resumed together after a restart: the group was MASTER and still is, with no group notify.
    if (g.members.every((m) => g.instances[m]!.state === 'MASTER')) g.state = 'MASTER'
  } else if (starting && g.state === 'INIT') {
    if (after.state === 'FAULT' && after.faults.length) {
      g.actions.push({ instance: undefined, action: { type: 'log', line: `VRRP_Group(${g.name}): Syncing ${member} to FAULT state`, detail: false } })
      g.state = 'FAULT'
      for (const m of g.members) if (m !== member && g.instances[m]!.state === 'BACKUP') run(g, m, { type: 'sync', now, state: 'FAULT', group: g.name })
      g.actions.push({ instance: undefined, action: { type: 'groupNotify', state: 'FAULT' } })
    } else if (after.state === 'BACKUP') {
      g.state = 'BACKUP'
      g.actions.push({ instance: undefined, action: { type: 'groupNotify', state: 'BACKUP' } })
    }
  } else if (after.state !== before) {
    if (after.state === 'MASTER') syncMaster(g, member, now)
    else if (after.state === 'BACKUP' && g.state !== 'BACKUP') moveGroup(g, member, 'BACKUP', now)
    else if (after.state === 'FAULT' && after.faults.length && g.state !== 'FAULT') moveGroup(g, member, 'FAULT', now)
  }
  return { group: { name: g.name, state: g.state, members: g.members, instances: g.instances }, actions: g.actions }
}

/** Convenience for tests and the runtime: a group of fresh INIT members. */
export function syncGroupOf(name: string, members: readonly Parameters<typeof createInstance>[0][]): SyncGroupState {
  return createSyncGroup(name, members.map((p) => createInstance(p)))
}
