/**
 * Mutable drafts the keyword tables fill in, before `finish` applies keepalived's
 * defaults and cross-checks. Drafts keep what the checks need and the model does
 * not: where each keyword was written, where a block closes, and a sequence
 * number, because keepalived resolves `track_script` & co. as it reads.
 */
import type { SourcePosition } from '../diagnostics.js'
import type { RawStatement, ScriptSpec } from '../schema.js'
import type { IpFamily } from '../values.js'
import type { AuthType, IpRoute, IpRule, UnicastPeer, UseVmac, VirtualAddress, VrrpState } from './model.js'

/** State shared by every block of one parse. */
export interface ParseState {
  /** Incremented per named block and per tracker entry, in file order. */
  seq: number
  /** keepalived's next automatic rule preference, per family (vrrp_iprule.c). */
  nextRulePreference: Record<IpFamily, number>
}

export const RULE_START_PREFERENCE = 16384

export function newParseState(): ParseState {
  return { seq: 0, nextRulePreference: { 4: RULE_START_PREFERENCE, 6: RULE_START_PREFERENCE } }
}

/** Common to every named block. */
export interface NamedDraft {
  readonly name: string
  readonly pos: SourcePosition
  /** The closing brace: keepalived reports block-level problems there. */
  readonly close: SourcePosition
  readonly seq: number
  /** Where each keyword was last written. */
  readonly at: Map<string, SourcePosition>
}

export interface TrackRefDraft {
  readonly pos: SourcePosition
  readonly name: string
  readonly weight: number | undefined
  readonly reverse: boolean | undefined
  readonly seq: number
}

export interface TrackersDraft {
  trackInterfaces: TrackRefDraft[]
  trackScripts: TrackRefDraft[]
  trackFiles: TrackRefDraft[]
  trackProcesses: TrackRefDraft[]
}

export interface NotifyDraft {
  notifyMaster: ScriptSpec | undefined
  notifyBackup: ScriptSpec | undefined
  notifyFault: ScriptSpec | undefined
  notifyStop: ScriptSpec | undefined
  notify: ScriptSpec | undefined
}

export interface ScriptDraft extends NamedDraft {
  command: string | undefined
  user: { user: string; group: string | undefined } | undefined
  interval: number | undefined
  timeout: number | undefined
  weight: number | undefined
  reverse: boolean
  rise: number | undefined
  fall: number | undefined
  initFail: boolean
}

export interface TrackProcessDraft extends NamedDraft {
  process: string[] | undefined
  paramMatch: 'initial' | 'partial' | undefined
  weight: number | undefined
  reverse: boolean
  quorum: number | undefined
  quorumMax: number | undefined
  forkDelay: number | undefined
  terminateDelay: number | undefined
  fullCommand: boolean
}

export interface TrackFileDraft extends NamedDraft {
  file: string | undefined
  weight: number | undefined
  reverse: boolean
  initFile: { value: number; overwrite: boolean } | undefined
}

export interface SyncGroupDraft extends NamedDraft, TrackersDraft, NotifyDraft {
  /** Undefined: no `group` block at all. */
  members: { name: string; pos: SourcePosition }[] | undefined
  smtpAlert: boolean | undefined
  syncGroupTrackingWeight: boolean
  unsupported: RawStatement[]
  readonly state: ParseState
}

export interface InstanceDraft extends NamedDraft, TrackersDraft, NotifyDraft {
  readonly state: ParseState
  initialState: VrrpState | undefined
  interface: string | undefined
  virtualRouterId: number | undefined
  priority: number | undefined
  advertInt: number | undefined
  version: 2 | 3 | undefined
  /** Set by the first address that has one, as keepalived does while reading. */
  family: IpFamily | undefined
  authType: AuthType | undefined
  authPass: string | undefined
  virtualIpaddresses: VirtualAddress[]
  /** The closing brace of the last `virtual_ipaddress` block: an empty list is reported there. */
  virtualIpaddressEnd: SourcePosition | undefined
  virtualIpaddressesExcluded: VirtualAddress[]
  virtualRoutes: IpRoute[]
  virtualRules: IpRule[]
  unicastSrcIp: string | undefined
  unicastPeers: UnicastPeer[]
  mcastSrcIp: string | undefined
  garpMasterDelay: number | undefined
  garpMasterRepeat: number | undefined
  garpMasterRefresh: number | undefined
  garpMasterRefreshRepeat: number | undefined
  garpLowerPrioDelay: number | undefined
  garpLowerPrioRepeat: number | undefined
  useVmac: UseVmac | undefined
  vmacXmitBase: boolean
  nopreempt: boolean
  preemptDelay: number | undefined
  accept: boolean | undefined
  dontTrackPrimary: boolean
  strictMode: boolean | undefined
  skipCheckAdvAddr: boolean | undefined
  checkUnicastSrc: boolean | undefined
  smtpAlert: boolean | undefined
  lvsSyncDaemonInterface: string | undefined
  unsupported: RawStatement[]
}

export interface VrrpDraft {
  readonly state: ParseState
  staticAddresses: VirtualAddress[]
  staticRoutes: IpRoute[]
  staticRules: IpRule[]
  scripts: ScriptDraft[]
  trackProcesses: TrackProcessDraft[]
  trackFiles: TrackFileDraft[]
  syncGroups: SyncGroupDraft[]
  instances: InstanceDraft[]
}

export function emptyVrrpDraft(): VrrpDraft {
  return {
    state: newParseState(),
    staticAddresses: [], staticRoutes: [], staticRules: [],
    scripts: [], trackProcesses: [], trackFiles: [], syncGroups: [], instances: [],
  }
}

export function emptyTrackers(): TrackersDraft {
  return { trackInterfaces: [], trackScripts: [], trackFiles: [], trackProcesses: [] }
}

export function emptyNotify(): NotifyDraft {
  return { notifyMaster: undefined, notifyBackup: undefined, notifyFault: undefined, notifyStop: undefined, notify: undefined }
}
