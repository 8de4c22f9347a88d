/**
 * Gratuitous ARP / unsolicited NA rounds of a VRRP instance (reference §5.8,
 * keepalived vrrp.c vrrp_state_become_master / vrrp_state_master_tx /
 * vrrp_state_master_rx). Which round and how many frames per address is data;
 * sending and pacing (`vrrp_garp_interval`) is the runtime's job.
 */
import type { GlobalDefs } from '../config/global/model.js'
import type { VrrpInstance } from '../config/vrrp/model.js'
import { SECOND } from './timers.js'

/** The GARP settings an instance uses, in µs and frame counts. */
export interface GarpSettings {
  /** Frames per address when becoming MASTER (`garp_master_repeat`). */
  readonly masterRepeat: number
  /** Delay of the second round after becoming MASTER; 0 = none (`garp_master_delay`). */
  readonly masterDelay: number
  /** Period of the refresh while MASTER; 0 = never (`garp_master_refresh`). */
  readonly masterRefresh: number
  readonly masterRefreshRepeat: number
  /** Frames per address after a lower-priority advert as MASTER; 0 = none. */
  readonly lowerPrioRepeat: number
  /** Delay of the second lower-priority round; 0 = none. */
  readonly lowerPrioDelay: number
}

/**
 * Which burst a `garp` action is:
 * - `master`: on becoming MASTER;
 * - `masterDelayed`: `garp_master_delay` later;
 * - `refresh`: every `garp_master_refresh` while MASTER;
 * - `lowerPrio` / `lowerPrioDelayed`: after a lower-priority advert as MASTER.
 */
export type GarpRound = 'master' | 'masterDelayed' | 'refresh' | 'lowerPrio' | 'lowerPrioDelayed'

const DEFAULT_REPEAT = 5
const DEFAULT_DELAY = 5 * SECOND

/**
 * The instance's effective GARP settings. The config model has already applied
 * the global `vrrp_garp_*` defaults; `vrrp_min_garp` is not in it, so it is
 * applied here the way keepalived's handler does: it only replaces values
 * still at their defaults (one frame, no second round).
 */
export function garpSettings(inst: VrrpInstance, global: GlobalDefs): GarpSettings {
  const min = global.vrrpMinGarp === true
  const masterRepeat = min && global.vrrpGarpMasterRepeat === undefined && inst.garpMasterRepeat === DEFAULT_REPEAT ? 1 : inst.garpMasterRepeat
  const masterDelay = min && global.vrrpGarpMasterDelay === undefined && inst.garpMasterDelay === DEFAULT_DELAY ? 0 : inst.garpMasterDelay
  const lowerPrioRepeat = min && global.vrrpGarpLowerPrioRepeat === undefined && inst.garpLowerPrioRepeat === inst.garpMasterRepeat
    ? masterRepeat : inst.garpLowerPrioRepeat
  const lowerPrioDelay = min && global.vrrpGarpLowerPrioDelay === undefined && inst.garpLowerPrioDelay === inst.garpMasterDelay
    ? masterDelay : inst.garpLowerPrioDelay
  return {
    masterRepeat,
    masterDelay,
    masterRefresh: inst.garpMasterRefresh,
    masterRefreshRepeat: inst.garpMasterRefreshRepeat,
    lowerPrioRepeat,
    lowerPrioDelay,
  }
}

/** The `repeat` of a round. */
export function garpRepeat(settings: GarpSettings, round: GarpRound): number {
  switch (round) {
    case 'master':
    case 'masterDelayed':
      return settings.masterRepeat
    case 'refresh':
      return settings.masterRefreshRepeat
    case 'lowerPrio':
    case 'lowerPrioDelayed':
      return settings.lowerPrioRepeat
  }
}

/**
 * Whether the refresh is due at a master advert sent at `now`. keepalived
 * checks the refresh only when it sends an advert, so the refresh rides on the
 * advert timer; with exact simulated time the deadline itself counts as due.
 */
export function refreshDue(refreshAt: number | undefined, now: number): boolean {
  return refreshAt !== undefined && now >= refreshAt
}
