/**
 * The effective protocol parameters of one VRRP instance: the config model
 * plus the global defaults keepalived reads at run time (reference §5.3–§5.5,
 * §5.12). Everything the state machine needs and nothing it has to look up.
 */
import type { GlobalDefs } from '../config/global/model.js'
import type { VrrpInstance } from '../config/vrrp/model.js'
import { garpSettings, type GarpSettings } from './garp-schedule.js'
import { OWNER_PRIORITY } from './timers.js'

export interface InstanceParams {
  /** The instance name, as in `(VI_1) Entering MASTER STATE`. */
  readonly name: string
  readonly version: 2 | 3
  readonly family: 4 | 6
  readonly interface: string | undefined
  readonly virtualRouterId: number
  /** Configured priority (255 = address owner). */
  readonly basePriority: number
  /** Priority 255: starts MASTER at once and ignores tracking weights. */
  readonly owner: boolean
  /** `state` after keepalived's corrections: the state wished for at start. */
  readonly initialState: 'MASTER' | 'BACKUP'
  /** Our `advert_int` in µs. */
  readonly advertInt: number
  readonly nopreempt: boolean
  /** `preempt_delay` in µs; 0 = none. */
  readonly preemptDelay: number
  /** Adverts a backup waits for (RFC: 3). Strict mode forces 3. */
  readonly downTimerAdverts: number
  /** As MASTER, send an advert before yielding to a higher priority. Off in strict mode. */
  readonly higherPrioSendAdvert: boolean
  /** As MASTER, do not answer a lower-priority advert. Forced on in strict mode. */
  readonly lowerPrioNoAdvert: boolean
  readonly garp: GarpSettings
  readonly strict: boolean
  readonly accept: boolean
  /** No `accept` on a non-owner: a firewall drop rule accompanies the VIPs. */
  readonly firewall: boolean
  readonly vipCount: number
  readonly evipCount: number
  readonly routeCount: number
  readonly ruleCount: number
  readonly unicast: boolean
  /** Configured source address (`unicast_src_ip`, `mcast_src_ip`), if any. */
  readonly sourceAddress: string | undefined
  /** `vrrp_startup_delay` in µs; 0 = none. */
  readonly startupDelay: number
}

const RFC_DOWN_TIMER_ADVERTS = 3

/**
 * {@link InstanceParams} of `inst`. The per-instance `down_timer_adverts`,
 * `lower_prio_no_advert` and `higher_prio_send_advert` are not in the config
 * model (tier 3, kept as unsupported), so the global values apply.
 */
export function instanceParams(inst: VrrpInstance, global: GlobalDefs): InstanceParams {
  const owner = inst.priority === OWNER_PRIORITY
  const strict = inst.strictMode
  return {
    name: inst.name,
    version: inst.version,
    family: inst.family,
    interface: inst.interface,
    virtualRouterId: inst.virtualRouterId,
    basePriority: inst.priority,
    owner,
    initialState: inst.state,
    advertInt: inst.advertInt,
    // keepalived: the address owner always preempts.
    nopreempt: inst.nopreempt && !owner,
    preemptDelay: inst.preemptDelay,
    downTimerAdverts: strict ? RFC_DOWN_TIMER_ADVERTS : (global.vrrpDownTimerAdverts ?? RFC_DOWN_TIMER_ADVERTS),
    higherPrioSendAdvert: strict ? false : (global.vrrpHigherPrioSendAdvert ?? false),
    lowerPrioNoAdvert: strict ? true : (global.vrrpLowerPrioNoAdvert ?? false),
    garp: garpSettings(inst, global),
    strict,
    accept: inst.accept || owner,
    firewall: !inst.accept && !owner,
    vipCount: inst.virtualIpaddresses.length,
    evipCount: inst.virtualIpaddressesExcluded.length,
    routeCount: inst.virtualRoutes.length,
    ruleCount: inst.virtualRules.length,
    unicast: inst.unicastPeers.length > 0,
    sourceAddress: inst.unicastSrcIp ?? inst.mcastSrcIp,
    startupDelay: global.vrrpStartupDelay ?? 0,
  }
}
