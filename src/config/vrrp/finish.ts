/** Draft → {@link VrrpConfig}: tracked objects first, then sync groups, instances and the checks across them. */
import type { FinishEnv } from '../section.js'
import { checkInterfaces, checkSharedAddresses, checkUnusedScripts, checkVrids, type Finished } from './checks.js'
import type { ScriptDraft, TrackFileDraft, TrackProcessDraft, VrrpDraft } from './draft.js'
import { finishInstance } from './finish-instance.js'
import type { TrackFile, TrackProcess, VrrpConfig, VrrpScript } from './model.js'
import type { Trackable, TrackTables } from './resolve.js'
import { finishSyncGroup, resolveMembership } from './sync-groups.js'

const SECOND = 1_000_000

function finishScript(d: ScriptDraft): VrrpScript {
  const interval = d.interval ?? SECOND
  return {
    pos: d.pos, name: d.name,
    script: { command: d.command!, user: d.user?.user, group: d.user?.group },
    interval, timeout: d.timeout ?? interval, weight: d.weight ?? 0, reverse: d.reverse,
    rise: d.rise ?? 1, fall: d.fall ?? 1, initFail: d.initFail,
  }
}

function finishProcess(d: TrackProcessDraft): TrackProcess {
  return {
    pos: d.pos, name: d.name, process: d.process!, paramMatch: d.paramMatch, weight: d.weight ?? 1, reverse: d.reverse,
    quorum: d.quorum ?? 1, quorumMax: d.quorumMax, forkDelay: d.forkDelay ?? 0, terminateDelay: d.terminateDelay ?? 0,
    fullCommand: d.fullCommand,
  }
}

function finishFile(d: TrackFileDraft): TrackFile {
  return { pos: d.pos, name: d.name, file: d.file!, weight: d.weight ?? 1, reverse: d.reverse, initFile: d.initFile }
}

function trackable<M extends { weight: number; reverse: boolean }>(drafts: readonly { seq: number }[], models: readonly (M & { name: string; pos: Trackable['pos'] })[]): Trackable[] {
  return models.map((m, i) => ({ name: m.name, pos: m.pos, seq: drafts[i]!.seq, weight: m.weight, reverse: m.reverse }))
}

export function finishVrrp(d: VrrpDraft, env: FinishEnv): VrrpConfig {
  const scripts = d.scripts.map(finishScript)
  const trackProcesses = d.trackProcesses.map(finishProcess)
  const trackFiles = d.trackFiles.map(finishFile)
  const tables: TrackTables = {
    scripts: trackable(d.scripts, scripts),
    files: trackable(d.trackFiles, trackFiles),
    processes: trackable(d.trackProcesses, trackProcesses),
  }
  const { kept, groupOf } = resolveMembership(d.syncGroups, d.instances, env)
  const finished: Finished[] = []
  for (const draft of d.instances) {
    const g = groupOf.get(draft.name)
    const model = finishInstance(draft, {
      env, tables,
      ctx: { diags: env.diags, context: `vrrp_instance ${draft.name}` },
      syncGroup: g && { name: g.name, weights: g.syncGroupTrackingWeight },
    })
    if (model) finished.push({ draft, model })
  }
  const instances = finished.map((f) => f.model)
  const syncGroups = kept.map((m) => finishSyncGroup(m, instances, tables, env)).filter((g) => g.members.length > 0)
  checkVrids(finished, env)
  checkSharedAddresses(d.staticAddresses, instances, env)
  checkInterfaces(d, env)
  checkUnusedScripts(scripts, instances, syncGroups, env)
  return {
    staticAddresses: d.staticAddresses, staticRoutes: d.staticRoutes, staticRules: d.staticRules,
    scripts, trackProcesses, trackFiles, syncGroups, instances,
  }
}
