/**
 * One thing the runtime steps: a lone instance, or a sync group whose members
 * must move together. Both answer the same questions (step a member, next
 * deadline, a member's state), so the runtime never asks which it has.
 */
import { createInstance, nextDeadline, step } from './instance.js'
import type { InstanceAction, InstanceEvent, InstanceState } from './instance-types.js'
import type { InstanceParams } from './params.js'
import { createSyncGroup, type GroupNotifyAction, syncGroupNextDeadline, type SyncGroupState, syncGroupStep } from './sync-group.js'

/** An action with the member it concerns; group-wide lines and notifies have none. */
export interface UnitAction {
  readonly instance: string | undefined
  readonly action: InstanceAction | GroupNotifyAction
}

export interface Unit {
  /** The sync group's name, or undefined for a lone instance. */
  readonly group: string | undefined
  readonly members: readonly string[]
  step(member: string, event: InstanceEvent): readonly UnitAction[]
  nextDeadline(): number | undefined
  state(member: string): InstanceState
}

class LoneInstance implements Unit {
  readonly group = undefined
  readonly members: readonly string[]
  private current: InstanceState

  constructor(params: InstanceParams, carried?: InstanceState) {
    this.current = carried ?? createInstance(params)
    this.members = [params.name]
  }

  step(_member: string, event: InstanceEvent): readonly UnitAction[] {
    const r = step(this.current, event)
    this.current = r.state
    return r.actions.map((action) => ({ instance: this.current.params.name, action }))
  }

  nextDeadline(): number | undefined {
    return nextDeadline(this.current)
  }

  state(): InstanceState {
    return this.current
  }
}

class SyncedInstances implements Unit {
  readonly group: string
  readonly members: readonly string[]
  private current: SyncGroupState

  constructor(name: string, members: readonly InstanceParams[], carried: ReadonlyMap<string, InstanceState>) {
    this.current = createSyncGroup(name, members.map((p) => carried.get(p.name) ?? createInstance(p)))
    this.group = name
    this.members = this.current.members
  }

  step(member: string, event: InstanceEvent): readonly UnitAction[] {
    const r = syncGroupStep(this.current, member, event)
    this.current = r.group
    return r.actions
  }

  nextDeadline(): number | undefined {
    return syncGroupNextDeadline(this.current)
  }

  state(member: string): InstanceState {
    return this.current.instances[member]!
  }
}

/**
 * A lone instance. `carried`: its state before a reload (old parameters, which
 * the `reload` event replaces); its name is the new instance's.
 */
export function loneInstance(params: InstanceParams, carried?: InstanceState): Unit {
  return new LoneInstance(params, carried && { ...carried, params: { ...carried.params, name: params.name } })
}

/** A sync group; `carried` maps member names to their states before a reload. */
export function syncedInstances(name: string, members: readonly InstanceParams[], carried: ReadonlyMap<string, InstanceState> = new Map()): Unit {
  const renamed = new Map([...carried].map(([member, state]) => [member, { ...state, params: { ...state.params, name: member } }]))
  return new SyncedInstances(name, members, renamed)
}
