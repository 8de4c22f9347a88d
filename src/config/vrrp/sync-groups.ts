/**
 * Sync group membership (vrrp_sync.c): members must be existing instances, each
 * in one group only; a group with one member only gets a warning, a group with
 * none is removed.
 */
import type { FinishEnv } from '../section.js'
import { type BuildContext, closest } from '../values.js'
import { where } from './common.js'
import type { InstanceDraft, SyncGroupDraft } from './draft.js'
import type { SyncGroup, VrrpInstance } from './model.js'
import { resolveTrackers, type TrackTables } from './resolve.js'

export interface Membership {
  readonly group: SyncGroupDraft
  readonly members: readonly string[]
}

export function groupContext(env: FinishEnv, g: SyncGroupDraft): BuildContext {
  return { diags: env.diags, context: `vrrp_sync_group ${g.name}` }
}

/** Checks every group's member list; returns the groups kept and, per instance, its group. */
export function resolveMembership(groups: readonly SyncGroupDraft[], instances: readonly InstanceDraft[], env: FinishEnv): {
  kept: Membership[]
  groupOf: Map<string, SyncGroupDraft>
} {
  const groupOf = new Map<string, SyncGroupDraft>()
  const kept: Membership[] = []
  const names = instances.map((i) => i.name)
  for (const g of groups) {
    const ctx = groupContext(env, g)
    if (g.members === undefined) {
      // keepalived drops it without a word (its stray names are already "unknown keywords").
      ctx.diags.warning(g.pos, 'KA_CONF_EMPTY_GROUP', `sync group ${g.name} has no 'group' block; it is ignored`, { context: ctx.context, verdict: 'none' })
      continue
    }
    const members: string[] = []
    let rejected = false
    for (const m of g.members) {
      const other = groupOf.get(m.name)
      if (!names.includes(m.name)) {
        const near = closest(m.name, names)
        rejected = true
        ctx.diags.error(m.pos, 'KA_CONF_UNDEFINED', `vrrp_instance ${m.name} in sync group ${g.name} doesn't exist; ignored`, {
          context: ctx.context, hint: near ? `did you mean '${near}'?` : undefined,
        })
      } else if (other === g) {
        ctx.diags.warning(m.pos, 'KA_CONF_DUPLICATE', `vrrp_instance ${m.name} is listed twice`, { context: ctx.context, verdict: 'none' })
      } else if (other) {
        rejected = true
        ctx.diags.error(m.pos, 'KA_CONF_SYNC_GROUP', `vrrp_instance ${m.name} is already in sync group ${other.name} (${where(other.pos)}); an instance can be in one sync group only`, { context: ctx.context })
      } else {
        groupOf.set(m.name, g)
        members.push(m.name)
      }
    }
    if (!members.length) {
      ctx.diags.warning(g.pos, 'KA_CONF_EMPTY_GROUP', `sync group ${g.name} has no valid vrrp_instance; it is removed`, { context: ctx.context })
      continue
    }
    // After a rejected member the count says nothing new.
    if (members.length === 1 && !rejected) {
      ctx.diags.warning(g.pos, 'KA_CONF_SYNC_GROUP', `sync group ${g.name} has only 1 vrrp_instance; this probably isn't what you want`, {
        context: ctx.context, hint: 'a sync group moves its instances together; with one member it does nothing',
      })
    }
    kept.push({ group: g, members })
  }
  return { kept, groupOf }
}

export function finishSyncGroup(m: Membership, instances: readonly VrrpInstance[], tables: TrackTables, env: FinishEnv): SyncGroup {
  const g = m.group
  const present = new Set(instances.map((i) => i.name))
  const gd = env.global
  return {
    pos: g.pos, name: g.name,
    // Members keepalived refused are not members either.
    members: m.members.filter((n) => present.has(n)),
    ...resolveTrackers(g, tables, groupContext(env, g)),
    notifyMaster: g.notifyMaster, notifyBackup: g.notifyBackup, notifyFault: g.notifyFault, notifyStop: g.notifyStop, notify: g.notify,
    smtpAlert: g.smtpAlert ?? gd.smtpAlertVrrp ?? gd.smtpAlert ?? false,
    syncGroupTrackingWeight: g.syncGroupTrackingWeight,
    unsupported: g.unsupported,
  }
}
