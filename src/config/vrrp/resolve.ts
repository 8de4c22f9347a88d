/**
 * Tracker references → tracked objects. keepalived looks the name up while it
 * reads the tracker, so an object defined further down the file is "not found"
 * (checked against keepalived 2.2.7); we say so and where it is.
 */
import type { BuildContext } from '../values.js'
import { where } from './common.js'
import type { NamedDraft, TrackersDraft, TrackRefDraft } from './draft.js'
import type { TrackedInterface, TrackedRef, Trackers } from './model.js'

/** A tracked object that survived its own checks, with its default weight. */
export interface Trackable {
  readonly name: string
  readonly seq: number
  readonly pos: NamedDraft['pos']
  readonly weight: number
  readonly reverse: boolean
}

export interface TrackTables {
  readonly scripts: readonly Trackable[]
  readonly files: readonly Trackable[]
  readonly processes: readonly Trackable[]
}

function resolveRefs(refs: readonly TrackRefDraft[], table: readonly Trackable[], what: string, ctx: BuildContext): TrackedRef[] {
  const out: TrackedRef[] = []
  for (const ref of refs) {
    const target = table.find((t) => t.name === ref.name && t.seq < ref.seq)
    if (!target) {
      const later = table.find((t) => t.name === ref.name)
      ctx.diags.error(ref.pos, 'KA_CONF_UNDEFINED', `${what} ${ref.name} not found; ignored`, {
        context: ctx.context,
        hint: later
          ? `it is defined further down (${where(later.pos)}); keepalived only finds objects defined before their use`
          : undefined,
      })
      continue
    }
    const own = ref.weight !== undefined
    out.push({ pos: ref.pos, name: ref.name, weight: own ? ref.weight! : target.weight, reverse: own ? ref.reverse === true : target.reverse })
  }
  return out
}

export function resolveTrackers(d: TrackersDraft, tables: TrackTables, ctx: BuildContext): Trackers {
  const trackInterfaces: TrackedInterface[] = d.trackInterfaces.map((t) => ({
    pos: t.pos, name: t.name, weight: t.weight ?? 0, reverse: t.reverse === true,
  }))
  return {
    trackInterfaces,
    trackScripts: resolveRefs(d.trackScripts, tables.scripts, 'track script', ctx),
    trackFiles: resolveRefs(d.trackFiles, tables.files, 'track file', ctx),
    trackProcesses: resolveRefs(d.trackProcesses, tables.processes, 'track process', ctx),
  }
}

export type WeightReason = 'sync group' | 'address owner'

/**
 * Members of a sync group (unless `sync_group_tracking_weight`) and address
 * owners ignore weighted trackers (vrrp.c vrrp_complete_instance): interfaces
 * lose the weight in a group and are dropped for an owner, weighted scripts and
 * files are dropped, and a file's default weight 1 becomes 0.
 */
export function dropWeights(t: Trackers, reason: WeightReason, ctx: BuildContext): Trackers {
  const warn = (pos: TrackedRef['pos'], message: string): void =>
    ctx.diags.warning(pos, 'KA_CONF_WEIGHT_IGNORED', message, {
      context: ctx.context,
      hint: reason === 'sync group'
        ? 'members of a sync group move together; track on the vrrp_sync_group, use weight 0, or set sync_group_tracking_weight'
        : 'the address owner (priority 255) never changes priority; use weight 0',
    })
  const trackInterfaces = t.trackInterfaces.flatMap((i) => {
    if (i.weight === 0) return [i]
    if (reason === 'sync group') {
      warn(i.pos, `ignoring the weight of tracked interface ${i.name} (${reason}); it is tracked with weight 0`)
      return [{ ...i, weight: 0 }]
    }
    warn(i.pos, `ignoring tracked interface ${i.name} with weight ${i.weight} (${reason}); it is not tracked`)
    return []
  })
  const trackScripts = t.trackScripts.filter((s) => {
    if (s.weight !== 0) warn(s.pos, `ignoring tracked script ${s.name} with weight ${s.weight} (${reason}); it is not tracked`)
    return s.weight === 0
  })
  const trackFiles = t.trackFiles.flatMap((f) => {
    if (f.weight === 0) return [f]
    if (f.weight === 1) {
      warn(f.pos, `ignoring the default weight of tracked file ${f.name} (${reason}); it is tracked with weight 0`)
      return [{ ...f, weight: 0 }]
    }
    warn(f.pos, `ignoring tracked file ${f.name} with weight ${f.weight} (${reason}); it is not tracked`)
    return []
  })
  return { trackInterfaces, trackScripts, trackFiles, trackProcesses: t.trackProcesses }
}
