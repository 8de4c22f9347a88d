/**
 * The VRRP half of the configuration as immutable values (reference §1.3–§1.8).
 * Timers are in microseconds. Every element keeps the position of its header or
 * entry line; everything else is an effective value, with keepalived's defaults
 * and corrections applied, so a consumer never looks at the global defaults again.
 */
import type { SourcePosition } from '../diagnostics.js'
import type { RawStatement, ScriptSpec } from '../schema.js'
import type { IpFamily } from '../values.js'

export type VrrpState = 'MASTER' | 'BACKUP'
export type AuthType = 'PASS' | 'AH'

/** One line of `virtual_ipaddress`, `virtual_ipaddress_excluded` or `static_ipaddress` (§1.8.1). */
export interface VirtualAddress {
  readonly pos: SourcePosition
  readonly address: string
  readonly family: IpFamily
  /** As written, else 32 / 128; with `peer`, the peer's prefix. */
  readonly prefix: number
  /** An address, `+` (set host bits) or `-` (clear them). IPv4 only. */
  readonly broadcast: string | undefined
  /** Undefined: the instance's interface (or its VMAC); for static addresses, `default_interface`. */
  readonly dev: string | undefined
  /** `site|link|host|nowhere|global` or a number; IPv4 only. */
  readonly scope: string | undefined
  /** IPv4 only, at most 15 characters. */
  readonly label: string | undefined
  readonly peer: string | undefined
  readonly home: boolean
  readonly noDad: boolean
  readonly mngTmpAddr: boolean
  readonly noPrefixRoute: boolean
  readonly autoJoin: boolean
  readonly noTrack: boolean
  /** IPv6 only: seconds or `forever`; keepalived deprecates /128 VIPs (0) unless told otherwise. */
  readonly preferredLft: number | 'forever' | undefined
  /** Put this address on a VMAC of its own `dev` (VIPs and eVIPs only). */
  readonly useVmac: boolean
  /** Static addresses only: the `track_group` watching it. */
  readonly trackGroup: string | undefined
}

/**
 * A line of `virtual_routes` / `static_routes` in `ip route` syntax. The parts the
 * daemon reasons about are typed; the rest stay as option words, in order.
 */
export interface IpRoute {
  readonly pos: SourcePosition
  readonly family: IpFamily
  /** `blackhole`, `unreachable`, ...; undefined is a unicast route. */
  readonly type: string | undefined
  /** Always `address/prefix`; `default` is `0.0.0.0/0` or `::/0`. */
  readonly destination: string
  readonly src: string | undefined
  readonly via: string | undefined
  readonly dev: string | undefined
  readonly table: string | undefined
  /** Effective: keepalived cannot track a route without `dev` and stops tracking it. */
  readonly noTrack: boolean
  readonly trackGroup: string | undefined
  /** Other words as written (`metric 10`, `nexthop via ... dev ...`, `or X`). */
  readonly options: readonly string[]
}

/** A line of `virtual_rules` / `static_rules` in `ip rule` syntax. */
export interface IpRule {
  readonly pos: SourcePosition
  readonly family: IpFamily
  readonly from: string | undefined
  readonly to: string | undefined
  readonly table: string | undefined
  /** Effective: keepalived numbers rules without one from 16384 downwards, per family. */
  readonly preference: number
  /** `dev` / `iif`. */
  readonly iif: string | undefined
  readonly oif: string | undefined
  readonly noTrack: boolean
  readonly trackGroup: string | undefined
  /** Other words as written: selectors (`fwmark 3`, `not`) and actions (`goto 10`, `blackhole`). */
  readonly options: readonly string[]
}

export interface TrackedInterface {
  readonly pos: SourcePosition
  readonly name: string
  /** 0: down means FAULT. */
  readonly weight: number
  readonly reverse: boolean
}

/** An entry of `track_script`, `track_file` or `track_process`; the weight defaults to the tracked object's. */
export interface TrackedRef {
  readonly pos: SourcePosition
  readonly name: string
  readonly weight: number
  readonly reverse: boolean
}

export interface UnicastPeer {
  readonly pos: SourcePosition
  readonly address: string
  readonly minTtl: number | undefined
  readonly maxTtl: number | undefined
}

export interface Authentication {
  readonly type: AuthType
  /** At most 8 characters: keepalived truncates. */
  readonly password: string
}

export interface UseVmac {
  /** Undefined: keepalived names it `vrrp.<VRID>`. */
  readonly interface: string | undefined
  readonly mac: string | undefined
}

/** Notify scripts of an instance or a sync group. */
export interface NotifyScripts {
  readonly notifyMaster: ScriptSpec | undefined
  readonly notifyBackup: ScriptSpec | undefined
  readonly notifyFault: ScriptSpec | undefined
  readonly notifyStop: ScriptSpec | undefined
  readonly notify: ScriptSpec | undefined
}

export interface Trackers {
  readonly trackInterfaces: readonly TrackedInterface[]
  readonly trackScripts: readonly TrackedRef[]
  readonly trackFiles: readonly TrackedRef[]
  readonly trackProcesses: readonly TrackedRef[]
}

export interface VrrpScript {
  readonly pos: SourcePosition
  readonly name: string
  /** The command, and the `user` it runs as. */
  readonly script: ScriptSpec
  readonly interval: number
  /** Effective: defaults to the interval. */
  readonly timeout: number
  readonly weight: number
  readonly reverse: boolean
  readonly rise: number
  readonly fall: number
  readonly initFail: boolean
}

export interface TrackProcess {
  readonly pos: SourcePosition
  readonly name: string
  /** The process name and the parameters to match. */
  readonly process: readonly string[]
  readonly paramMatch: 'initial' | 'partial' | undefined
  readonly weight: number
  readonly reverse: boolean
  readonly quorum: number
  readonly quorumMax: number | undefined
  readonly forkDelay: number
  readonly terminateDelay: number
  readonly fullCommand: boolean
}

export interface TrackFile {
  readonly pos: SourcePosition
  readonly name: string
  readonly file: string
  readonly weight: number
  readonly reverse: boolean
  readonly initFile: { readonly value: number; readonly overwrite: boolean } | undefined
}

export interface SyncGroup extends NotifyScripts, Trackers {
  readonly pos: SourcePosition
  readonly name: string
  /** Instance names, each an existing instance in no other group. */
  readonly members: readonly string[]
  readonly smtpAlert: boolean
  readonly syncGroupTrackingWeight: boolean
  readonly unsupported: readonly RawStatement[]
}

export interface VrrpInstance extends NotifyScripts, Trackers {
  readonly pos: SourcePosition
  readonly name: string
  /** The initial state wished for, after keepalived's corrections. */
  readonly state: VrrpState
  /** Undefined only for a unicast instance that names no interface. */
  readonly interface: string | undefined
  readonly virtualRouterId: number
  readonly priority: number
  readonly advertInt: number
  readonly version: 2 | 3
  readonly family: IpFamily
  readonly authentication: Authentication | undefined
  readonly virtualIpaddresses: readonly VirtualAddress[]
  readonly virtualIpaddressesExcluded: readonly VirtualAddress[]
  readonly virtualRoutes: readonly IpRoute[]
  readonly virtualRules: readonly IpRule[]
  readonly unicastSrcIp: string | undefined
  readonly unicastPeers: readonly UnicastPeer[]
  readonly mcastSrcIp: string | undefined
  readonly garpMasterDelay: number
  readonly garpMasterRepeat: number
  readonly garpMasterRefresh: number
  readonly garpMasterRefreshRepeat: number
  readonly garpLowerPrioDelay: number
  readonly garpLowerPrioRepeat: number
  readonly useVmac: UseVmac | undefined
  readonly vmacXmitBase: boolean
  readonly nopreempt: boolean
  readonly preemptDelay: number
  readonly accept: boolean
  readonly dontTrackPrimary: boolean
  readonly strictMode: boolean
  readonly skipCheckAdvAddr: boolean
  readonly checkUnicastSrc: boolean
  readonly smtpAlert: boolean
  /** Deprecated per-instance form of the global `lvs_sync_daemon`. */
  readonly lvsSyncDaemonInterface: string | undefined
  readonly unsupported: readonly RawStatement[]
}

/** Everything in file order. */
export interface VrrpConfig {
  readonly staticAddresses: readonly VirtualAddress[]
  readonly staticRoutes: readonly IpRoute[]
  readonly staticRules: readonly IpRule[]
  readonly scripts: readonly VrrpScript[]
  readonly trackProcesses: readonly TrackProcess[]
  readonly trackFiles: readonly TrackFile[]
  readonly syncGroups: readonly SyncGroup[]
  readonly instances: readonly VrrpInstance[]
}
