/**
 * One instance at run time and its wire I/O: the record the runtime keeps
 * for it (configuration, unit, socket, addresses, tracking, counters, last
 * transition), the checks of a received advert against it (advert-check.ts)
 * turned into a state machine event, and the adverts it sends.
 */
import type { GlobalDefs } from '../config/global/model.js'
import type { SyncGroup, VrrpInstance } from '../config/vrrp/model.js'
import type { Logger } from '../log/logger.js'
import { linkLocalIpv6, primaryIpv4, type ReceivedVrrp, type VrrpSocket } from '../net/index.js'
import { checkAdvert, countAdvertCheck, emptyStats, type VrrpStats } from './advert-check.js'
import type { AdvertEvent, InstanceState } from './instance-types.js'
import { advertFields, type InterfaceInfo, type InterfaceTable } from './kernel-actions.js'
import { encodeAdvert, VRRP_MCAST_GROUP4, VRRP_MCAST_GROUP6 } from './packet.js'
import type { SocketPool } from './socket-pool.js'
import { instanceTrackers, type TrackedItem, type TrackingResult } from './tracking.js'
import type { Unit } from './unit.js'

export type Addresses = Parameters<typeof primaryIpv4>[0]

/** What the runtime counts for an instance beyond keepalived's stats file. */
export interface InstanceHistory {
  stats: VrrpStats
  /** Dropped adverts by advert-check reason code. */
  rejected: Record<string, number>
  transitions: number
  /** Wall-clock ms of the last transition. */
  since: number | undefined
  reason: string | undefined
}

export function emptyHistory(): InstanceHistory {
  return { stats: emptyStats(), rejected: {}, transitions: 0, since: undefined, reason: undefined }
}

/** An instance at run time. */
export interface LiveInstance {
  /** Unique to this record (a reload makes a new one): its socket pool token. */
  readonly id: string
  readonly config: VrrpInstance
  unit: Unit
  readonly socketKey: string
  readonly socket: VrrpSocket
  /** The interface adverts go from (the VMAC unless vmac_xmit_base). */
  readonly sendLink: InterfaceInfo
  /** Our address in adverts and for the tie-break. */
  readonly source: string
  /** The multicast group (also kept for unicast instances: reload matching). */
  readonly group: string
  readonly destinations: readonly string[]
  readonly trackers: readonly TrackedItem[]
  tracking: TrackingResult
  history: InstanceHistory
  oldUnicastChecksum: 'never' | 'detect' | 'in-use'
}

export function multicastGroup(family: 4 | 6, global: GlobalDefs): string {
  return family === 4 ? (global.vrrpMcastGroup4 ?? VRRP_MCAST_GROUP4) : (global.vrrpMcastGroup6 ?? VRRP_MCAST_GROUP6)
}

/** The address an instance advertises from: configured, else the interface's primary IPv4 / link-local IPv6. */
export function sourceAddress(inst: VrrpInstance, links: InterfaceTable, addresses: Addresses): string | undefined {
  const link = inst.interface === undefined ? undefined : links.get(inst.interface)
  if (inst.unicastSrcIp ?? inst.mcastSrcIp) return inst.unicastSrcIp ?? inst.mcastSrcIp
  if (!link) return undefined
  return inst.family === 4 ? primaryIpv4(addresses, link.index) : linkLocalIpv6(addresses, link.index)
}

let opened = 0

export interface OpenContext {
  readonly log: Logger
  readonly links: InterfaceTable
  readonly addresses: Addresses
  readonly global: GlobalDefs
  readonly pool: SocketPool
  readonly syncGroups: readonly SyncGroup[]
}

/**
 * Resolve an instance's interface and source and take its socket from the
 * pool. Undefined (logged) when it cannot run: keepalived disables it.
 * `sendLink`: the VMAC the socket goes on, when there is one.
 */
export function openInstance(inst: VrrpInstance, unit: Unit, ctx: OpenContext, sendLink: InterfaceInfo | undefined, history = emptyHistory()): LiveInstance | undefined {
  const link = inst.interface === undefined ? undefined : ctx.links.get(inst.interface)
  if (!link) {
    ctx.log.error(`(${inst.name}) interface ${inst.interface ?? '(none)'} does not exist - instance disabled`)
    return undefined
  }
  const source = sourceAddress(inst, ctx.links, ctx.addresses)
  if (source === undefined) {
    ctx.log.error(`(${inst.name}) no IPv${inst.family} address on interface ${link.name} - instance disabled`)
    return undefined
  }
  const unicast = inst.unicastPeers.length > 0
  const group = multicastGroup(inst.family, ctx.global)
  // With a VMAC the socket is on it, for sending and receiving: a peer's adverts from
  // the same virtual MAC reach only our VMAC (a private macvlan takes frames from its
  // own MAC), and multicast from any other MAC reaches the VMAC as well as the base.
  const sock = sendLink ?? link
  const id = `${inst.name}#${++opened}`
  const taken = ctx.pool.acquire(id, inst.name, { link: sock, family: inst.family, unicast, source, group })
  if (!taken) return undefined
  const syncGroup = ctx.syncGroups.find((g) => g.members.includes(inst.name))
  return {
    id,
    config: inst,
    unit,
    socketKey: taken.key,
    socket: taken.socket,
    sendLink: sock,
    source,
    group,
    destinations: unicast ? inst.unicastPeers.map((p) => p.address) : [group],
    trackers: instanceTrackers(inst, syncGroup),
    tracking: { priority: inst.priority, faults: [], initPending: [] },
    history,
    oldUnicastChecksum: 'detect',
  }
}

/**
 * Validate a datagram for `live` (advert-check.ts), count it, log what
 * keepalived logs, and return the advert event to step, if it passed.
 */
export function receivedAdvert(live: LiveInstance, state: InstanceState, p: ReceivedVrrp, global: GlobalDefs, log: Logger, now: number): AdvertEvent | undefined {
  const c = live.config
  const result = checkAdvert(
    { family: p.family, ttl: p.ttlOrHopLimit < 0 ? undefined : p.ttlOrHopLimit, source: p.src, destination: p.dst, ahPresent: p.ahPresent, payload: p.payload, totalLength: p.ipTotalLength },
    {
      name: c.name,
      version: c.version,
      vrid: c.virtualRouterId,
      authentication: c.authentication,
      advertIntervalCs: Math.round(c.advertInt / 10_000),
      virtualAddresses: c.virtualIpaddresses.map((v) => v.address),
      unicastPeers: c.unicastPeers,
      checkUnicastSrc: c.checkUnicastSrc,
      skipCheckAdvAddr: c.skipCheckAdvAddr,
      currentMaster: state.state === 'BACKUP' ? state.masterAddress : undefined,
      mcastGroup4: global.vrrpMcastGroup4,
      oldUnicastChecksum: live.oldUnicastChecksum,
    },
  )
  live.history.stats = countAdvertCheck(live.history.stats, result)
  if (!result.ok) {
    live.history.rejected[result.reason] = (live.history.rejected[result.reason] ?? 0) + 1
    if (result.message !== undefined) log.info(result.message)
    return undefined
  }
  for (const note of result.notes) log.info(note)
  if (result.useOldUnicastChecksum) live.oldUnicastChecksum = 'in-use'
  return {
    type: 'advert', now, from: p.src, priority: result.advert.priority,
    adverInt: result.advert.advertIntervalCs * 10_000, ourAddress: live.source,
  }
}

/** One advert with `priority` to each destination (the group, or every unicast peer). */
export function sendAdvert(live: LiveInstance, priority: number, global: GlobalDefs, log: Logger): void {
  const inst = live.config
  const fields = advertFields(inst, priority)
  for (const dst of live.destinations) {
    const checksumDst = live.oldUnicastChecksum === 'in-use' ? (global.vrrpMcastGroup4 ?? VRRP_MCAST_GROUP4) : dst
    const payload = encodeAdvert(fields, { family: inst.family, src: live.source, dst: checksumDst })
    const err = live.socket.send(payload, dst)
    if (err) log.error(`(${inst.name}) Cant send advert to ${dst} (${err.errno?.name ?? err.message})`)
    else live.history.stats.advertsSent++
  }
}
