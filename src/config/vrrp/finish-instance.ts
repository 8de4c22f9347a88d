/**
 * An instance draft → {@link VrrpInstance}: keepalived's defaults and the
 * corrections of vrrp.c vrrp_complete_instance(), in its order (§1.16). A
 * correction keepalived makes and reports is a warning; an instance keepalived
 * refuses is an error and is left out of the model.
 */
import type { SourcePosition } from '../diagnostics.js'
import type { GlobalDefs } from '../global/model.js'
import type { FinishEnv } from '../section.js'
import type { BuildContext } from '../values.js'
import type { InstanceDraft } from './draft.js'
import { isIpv6LinkLocal } from './ip.js'
import type { Authentication, Trackers, VrrpInstance, VrrpState } from './model.js'
import { dropWeights, resolveTrackers, type TrackTables } from './resolve.js'

const SECOND = 1_000_000
const CENTISECOND = 10_000
const OWNER = 255

/** What the corrections work on. */
interface Work {
  readonly d: InstanceDraft
  readonly ctx: BuildContext
  readonly g: GlobalDefs
  strict: boolean
  version: 2 | 3
  priority: number
  state: VrrpState
}

function at(w: Work, keyword: string): SourcePosition {
  return w.d.at.get(keyword) ?? w.d.pos
}

function warn(w: Work, pos: SourcePosition, message: string, hint?: string, verdict: 'config' | 'none' = 'config'): void {
  w.ctx.diags.warning(pos, 'KA_CONF_CORRECTED', message, { context: w.ctx.context, hint, verdict })
}

function error(w: Work, pos: SourcePosition, code: string, message: string, hint?: string): void {
  w.ctx.diags.error(pos, code, message, { context: w.ctx.context, hint })
}

function chooseVersion(w: Work, family: 4 | 6): 2 | 3 {
  const { d } = w
  if (family === 4) return d.version ?? w.g.vrrpVersion ?? 2
  if (d.version === 2 && w.strict) {
    warn(w, at(w, 'version'), 'VRRP version 2 cannot carry IPv6; keepalived uses version 3 (strict mode)')
    return 3
  }
  if (d.version === 2) {
    warn(w, at(w, 'version'), 'VRRP version 2 is not defined for IPv6; keepalived sends version 2 anyway', 'use version 3 for IPv6 (RFC 5798)', 'none')
  }
  return d.version ?? 3
}

/**
 * False when keepalived removes the instance. A written but empty block is
 * reported at its closing brace, after the entries that failed to read.
 */
function checkVips(w: Work, family: 4 | 6): boolean {
  if (w.d.virtualIpaddresses.length) return true
  const pos = w.d.virtualIpaddressEnd ?? w.d.pos
  const what = w.d.virtualIpaddressEnd ? 'virtual_ipaddress has no usable address' : 'no virtual_ipaddress'
  if (w.version === 3 || family === 6 || w.strict) {
    error(w, pos, 'KA_CONF_NO_VIP', `${what}; at least one is required (VRRPv3, IPv6 or strict mode)`)
    return false
  }
  warn(w, pos, `${what}; at least one is sensible`)
  return true
}

function chooseState(w: Work): void {
  const { d } = w
  w.priority = d.priority ?? (d.initialState === 'MASTER' ? OWNER : 100)
  if (d.priority === undefined && d.initialState === 'MASTER') {
    warn(w, at(w, 'state'), 'state MASTER without a priority makes this instance the address owner (priority 255)',
      'the owner takes over at once and ignores tracking weights; set a priority below 255 unless that is meant', 'none')
  }
  const owner = w.priority === OWNER
  if (d.initialState === undefined) {
    w.state = owner ? 'MASTER' : 'BACKUP'
  } else if (w.strict && (d.initialState === 'MASTER') !== owner) {
    w.state = owner ? 'MASTER' : 'BACKUP'
    warn(w, at(w, 'state'), `state MASTER must match being the address owner (priority 255) in strict mode; keepalived uses ${w.state}`)
  } else w.state = d.initialState
}

function chooseAuthentication(w: Work, family: 4 | 6): Authentication | undefined {
  const { d } = w
  const pos = at(w, 'authentication')
  if (d.authType === undefined) {
    if (d.authPass !== undefined) warn(w, pos, 'auth_pass without auth_type is ignored', "add 'auth_type PASS'", 'none')
    return undefined
  }
  const problem = w.strict ? 'strict mode does not support authentication'
    : w.version === 3 ? 'VRRP version 3 does not support authentication'
    : !d.authPass ? 'authentication has no auth_pass'
    : family === 6 && d.authType === 'AH' ? 'AH authentication cannot be used with IPv6'
    : undefined
  if (problem) {
    warn(w, pos, `${problem}; ignored`, w.version === 3 && !w.strict ? 'RFC 5798 removed authentication; use version 2 or drop the block' : undefined)
    return undefined
  }
  if (d.authType === 'AH' && w.state === 'MASTER' && w.priority !== OWNER) {
    w.state = 'BACKUP'
    warn(w, at(w, 'state'), 'initial state MASTER is incompatible with AH authentication; keepalived uses BACKUP', 'a backup must hear an advert to learn the AH sequence number before it takes over')
  }
  return { type: d.authType, password: d.authPass ?? '' }
}

/** False when keepalived removes the instance (vrrp.c chk_min_cfg). */
function checkMinimum(w: Work): boolean {
  const { d } = w
  // A keyword written with a bad value was reported where it stands.
  const vrid = d.virtualRouterId !== undefined
  const iface = d.interface !== undefined || d.unicastPeers.length > 0
  if (!vrid && !d.at.has('virtual_router_id')) error(w, d.pos, 'KA_CONF_NO_VRID', 'virtual_router_id is not set')
  if (!iface && !d.at.has('interface')) {
    error(w, d.pos, 'KA_CONF_NO_INTERFACE', 'no interface is set', 'set interface, or unicast_peer addresses that need none')
  }
  return vrid && iface
}

function preemption(w: Work): { nopreempt: boolean; preemptDelay: number } {
  const { d } = w
  let nopreempt = d.nopreempt
  let preemptDelay = d.preemptDelay ?? 0
  if (w.priority === OWNER && nopreempt) {
    warn(w, at(w, 'nopreempt'), 'nopreempt is incompatible with priority 255; ignored', 'the address owner always preempts')
    nopreempt = false
  }
  if (w.state === 'MASTER') {
    const hint = "nopreempt and preempt_delay need 'state BACKUP' on every node"
    if (nopreempt) warn(w, at(w, 'nopreempt'), 'nopreempt does not work with initial state MASTER; ignored', hint)
    if (preemptDelay) warn(w, at(w, 'preempt_delay'), 'preempt_delay does not work with initial state MASTER; ignored', hint)
    nopreempt = false
    preemptDelay = 0
  }
  if (preemptDelay && w.strict) {
    warn(w, at(w, 'preempt_delay'), 'preempt_delay is incompatible with strict mode; ignored')
    preemptDelay = 0
  }
  if (preemptDelay && nopreempt) {
    warn(w, at(w, 'preempt_delay'), 'preempt_delay is incompatible with nopreempt; ignored')
    preemptDelay = 0
  }
  return { nopreempt, preemptDelay }
}

function chooseAccept(w: Work): boolean {
  const accept = w.d.accept ?? !w.strict
  if (accept && w.priority !== OWNER && w.strict && w.version === 2) {
    warn(w, at(w, 'accept'), 'accept mode with VRRP version 2 does not comply with RFC 3768 in strict mode; ignored')
    return false
  }
  return accept
}

/** A GARP setting that strict mode forces to 0. */
function strictZero(w: Work, keyword: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return w.strict ? 0 : fallback
  if (w.strict && value !== 0) {
    warn(w, at(w, keyword), `strict mode requires ${keyword} 0; ignored`)
    return 0
  }
  return value
}

/** keepalived reads GARP delays as whole seconds, in global_defs too. */
function wholeSeconds(us: number | undefined): number | undefined {
  return us === undefined ? undefined : Math.floor(us / SECOND) * SECOND
}

function garp(w: Work) {
  const { d, g } = w
  const garpMasterDelay = d.garpMasterDelay ?? wholeSeconds(g.vrrpGarpMasterDelay) ?? 5 * SECOND
  const garpMasterRepeat = d.garpMasterRepeat ?? g.vrrpGarpMasterRepeat ?? 5
  return {
    garpMasterDelay,
    garpMasterRepeat,
    garpMasterRefresh: d.garpMasterRefresh ?? wholeSeconds(g.vrrpGarpMasterRefresh) ?? 0,
    garpMasterRefreshRepeat: d.garpMasterRefreshRepeat ?? g.vrrpGarpMasterRefreshRepeat ?? 1,
    garpLowerPrioDelay: strictZero(w, 'garp_lower_prio_delay', d.garpLowerPrioDelay, wholeSeconds(g.vrrpGarpLowerPrioDelay) ?? garpMasterDelay),
    garpLowerPrioRepeat: strictZero(w, 'garp_lower_prio_repeat', d.garpLowerPrioRepeat, g.vrrpGarpLowerPrioRepeat ?? garpMasterRepeat),
  }
}

function advertInterval(w: Work): number {
  const us = w.d.advertInt ?? SECOND
  const pos = at(w, 'advert_int')
  const unit = w.version === 2 ? SECOND : CENTISECOND
  const max = w.version === 2 ? 255 * SECOND : 4095 * CENTISECOND
  if (us > max) {
    warn(w, pos, `VRRPv${w.version} advert_int must be at most ${max / SECOND}s; keepalived uses ${max / SECOND}s`)
    return max
  }
  if (us % unit === 0) return us
  const rounded = Math.max(unit, Math.round(us / unit) * unit)
  warn(w, pos, w.version === 2
    ? `VRRPv2 advert_int must be whole seconds; keepalived rounds ${us / SECOND}s to ${rounded / SECOND}s`
    : `VRRPv3 advert_int must be in units of 10ms; keepalived rounds ${us / SECOND}s to ${rounded / SECOND}s`)
  return rounded
}

function vmac(w: Work): boolean {
  const { d } = w
  if (d.useVmac && d.unicastPeers.length && !d.vmacXmitBase && !w.strict) {
    warn(w, d.close, 'unicast with use_vmac requires vmac_xmit_base; keepalived sets it', "add 'vmac_xmit_base'")
    return true
  }
  if (!d.vmacXmitBase) return false
  const problem = !d.useVmac ? 'is only valid with use_vmac' : w.strict ? 'is incompatible with strict mode' : undefined
  if (problem) warn(w, at(w, 'vmac_xmit_base'), `vmac_xmit_base ${problem}; ignored`)
  return problem === undefined
}

function trackers(w: Work, tables: TrackTables, syncGroup: { name: string; weights: boolean } | undefined): Trackers {
  const { d } = w
  let t = resolveTrackers(d, tables, w.ctx)
  const own = t.trackInterfaces.find((i) => i.name === d.interface)
  if (own) {
    warn(w, own.pos, `ignoring track_interface ${own.name}: it is the instance's own interface`, "the instance's interface is always tracked; use dont_track_primary to stop that")
    t = { ...t, trackInterfaces: t.trackInterfaces.filter((i) => i !== own) }
  }
  if (syncGroup && !syncGroup.weights) t = dropWeights(t, 'sync group', w.ctx)
  else if (w.priority === OWNER) t = dropWeights(t, 'address owner', w.ctx)
  return t
}

export interface InstanceEnv {
  readonly env: FinishEnv
  readonly ctx: BuildContext
  readonly tables: TrackTables
  readonly syncGroup: { name: string; weights: boolean } | undefined
}

export function finishInstance(d: InstanceDraft, ie: InstanceEnv): VrrpInstance | undefined {
  const g = ie.env.global
  const family = d.family ?? 4
  const w: Work = { d, ctx: ie.ctx, g, strict: d.strictMode ?? g.vrrpStrict ?? false, version: 2, priority: 100, state: 'BACKUP' }
  w.version = chooseVersion(w, family)
  const vipsOk = checkVips(w, family)
  chooseState(w)
  const authentication = chooseAuthentication(w, family)
  if (!checkMinimum(w) || !vipsOk) return undefined
  if (family === 6 && w.strict && !d.unicastPeers.length && !isIpv6LinkLocal(d.virtualIpaddresses[0]!.address)) {
    warn(w, d.virtualIpaddresses[0]!.pos, 'the first IPv6 VIP must be a link-local address (strict mode)', 'RFC 5798 §5.2.9: the first address is the link-local one')
  }
  const unicast = d.unicastSrcIp !== undefined || d.at.has('unicast_peer')
  if (unicast && !d.unicastPeers.length) {
    warn(w, at(w, d.unicastSrcIp !== undefined ? 'unicast_src_ip' : 'unicast_peer'), 'a unicast keyword is given without any unicast peers; keepalived defaults to multicast (deprecated)', 'add unicast_peer addresses, or remove unicast_src_ip')
  }
  const peersCheckTtl = d.unicastPeers.some((p) => p.minTtl !== undefined || p.maxTtl !== undefined)
  return {
    pos: d.pos, name: d.name, state: w.state, interface: d.interface, virtualRouterId: d.virtualRouterId!, priority: w.priority,
    advertInt: advertInterval(w), version: w.version, family, authentication,
    virtualIpaddresses: d.virtualIpaddresses, virtualIpaddressesExcluded: d.virtualIpaddressesExcluded,
    virtualRoutes: d.virtualRoutes, virtualRules: d.virtualRules,
    unicastSrcIp: d.unicastSrcIp, unicastPeers: d.unicastPeers, mcastSrcIp: d.mcastSrcIp,
    ...trackers(w, ie.tables, ie.syncGroup),
    notifyMaster: d.notifyMaster, notifyBackup: d.notifyBackup, notifyFault: d.notifyFault, notifyStop: d.notifyStop, notify: d.notify,
    ...garp(w),
    useVmac: d.useVmac, vmacXmitBase: vmac(w),
    ...preemption(w),
    accept: chooseAccept(w),
    dontTrackPrimary: d.dontTrackPrimary,
    strictMode: w.strict,
    skipCheckAdvAddr: d.skipCheckAdvAddr ?? g.vrrpSkipCheckAdvAddr ?? false,
    // min_ttl / max_ttl imply checking the source (keepalived.conf(5) unicast_peer).
    checkUnicastSrc: d.checkUnicastSrc ?? (g.vrrpCheckUnicastSrc || peersCheckTtl),
    smtpAlert: d.smtpAlert ?? g.smtpAlertVrrp ?? g.smtpAlert ?? false,
    lvsSyncDaemonInterface: d.lvsSyncDaemonInterface,
    unsupported: d.unsupported,
  }
}
