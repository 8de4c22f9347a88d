/**
 * The VRRP subsystem: the one place that owns sockets and timers for VRRP
 * (DESIGN.md). It feeds the pure state machines (unit.ts) with validated
 * adverts, timer callbacks and tracking changes, and performs the actions they
 * return through src/net: adverts, VIPs, GARP / NA, notify scripts.
 */
import { performance } from 'node:perf_hooks'
import type { Config } from '../config/config.js'
import type { GlobalDefs } from '../config/global/model.js'
import type { NotifyScripts, VrrpInstance } from '../config/vrrp/model.js'
import { ScriptRunner } from '../daemon/notify.js'
import type { Subsystem, SubsystemContext } from '../daemon/subsystem.js'
import {
  linkLocalIpv6, listAddresses, listLinks, NetError, type NetworkEventWatcher, openPacketSocket, openRtnetlink,
  openIpvs, openVrrpSocket, type PacketSocket, primaryIpv4, type ReceivedVrrp, type Rtnetlink, type VrrpSocket, watchNetworkEvents,
} from '../net/index.js'
import { checkAdvert, countAdvertCheck, emptyStats, type VrrpStats } from './advert-check.js'
import type { InstanceAction, InstanceEvent } from './instance-types.js'
import { buildGratuitousArp, buildUnsolicitedNeighbourAdvert } from './frames.js'
import { FramePacer, type PacedFrame } from './garp-pacer.js'
import { advertFields, type AnnouncementFrame, announcementFrames, applyMasterAddresses, type InterfaceInfo } from './kernel-actions.js'
import { encodeAdvert, VRRP_MCAST_GROUP4, VRRP_MCAST_GROUP6 } from './packet.js'
import { instanceParams } from './params.js'
import type { GroupNotifyAction } from './sync-group.js'
import { Notifier } from './notifier.js'
import { unsupportedWarnings } from './unsupported.js'
import { LiveTrackers } from './trackers.js'
import { VmacSetup } from './vmac-setup.js'
import { LvsSyncDaemon } from './sync-daemon.js'
import { SmtpAlerter } from '../daemon/smtp-alert.js'
import { smtpConfigured } from '../daemon/smtp-message.js'
import { evaluateTracking, instanceTrackers, type TrackedItem, type TrackingResult, trackingEvents } from './tracking.js'
import { loneInstance, syncedInstances, type Unit, type UnitAction } from './unit.js'

/** An instance at run time: its configuration, its unit and everything its I/O needs. */
interface LiveInstance {
  readonly config: VrrpInstance
  readonly unit: Unit
  readonly socket: VrrpSocket
  /** Our address in adverts and for the tie-break. */
  readonly source: string
  readonly destinations: readonly string[]
  readonly trackers: readonly TrackedItem[]
  tracking: TrackingResult
  stats: VrrpStats
  oldUnicastChecksum: 'never' | 'detect' | 'in-use'
}

/** Microseconds on a monotonic clock: what the state machines count in. */
function nowUs(): number {
  return Math.round(performance.now() * 1000)
}

export class VrrpRuntime implements Subsystem {
  private nl: Rtnetlink | undefined
  private packets: PacketSocket | undefined
  private pacer: FramePacer<AnnouncementFrame> | undefined
  private watcher: NetworkEventWatcher | undefined
  private readonly links = new Map<string, InterfaceInfo>()
  private readonly sockets = new Map<string, VrrpSocket>()
  private readonly instances = new Map<string, LiveInstance>()
  private readonly units: Unit[] = []
  private timer: NodeJS.Timeout | undefined
  /** Kernel address changes and the GARPs after them, strictly in order. */
  private work: Promise<void> = Promise.resolve()
  private trackers: LiveTrackers | undefined
  private runner: ScriptRunner | undefined
  private notifier: Notifier | undefined
  private global: GlobalDefs | undefined
  /** Each sync group's notify scripts (they are on no instance). */
  private readonly syncGroupScripts = new Map<string, NotifyScripts>()
  private vmacs: VmacSetup | undefined
  private syncDaemon: LvsSyncDaemon | undefined
  private smtp: SmtpAlerter | undefined
  /** Each sync group's resolved smtp_alert. */
  private readonly syncGroupMail = new Map<string, boolean>()
  private stopping = false

  constructor(private readonly ctx: SubsystemContext) {}

  async start(config: Config): Promise<void> {
    const log = this.ctx.log
    this.global = config.global
    for (const g of config.vrrp.syncGroups) {
      this.syncGroupScripts.set(g.name, g)
      this.syncGroupMail.set(g.name, g.smtpAlert)
    }
    if (smtpConfigured(config.global)) this.smtp = new SmtpAlerter({ global: config.global, log })
    const nl = openRtnetlink()
    if (nl instanceof NetError) return this.fatal(`Unable to open netlink: ${nl.message}`)
    this.nl = nl
    const links = await listLinks(nl)
    const addresses = await listAddresses(nl)
    if (links instanceof NetError || addresses instanceof NetError) return this.fatal('Unable to read interfaces from netlink')
    for (const l of links) this.links.set(l.name, { index: l.index, name: l.name, mac: l.mac, noArp: l.noArp })
    const packets = openPacketSocket()
    if (packets instanceof NetError) log.error(`Unable to open the gratuitous ARP channel: ${packets.message}`)
    else this.packets = packets
    this.pacer = new FramePacer<AnnouncementFrame>((f) => this.sendAnnouncement(f.frame), {
      garp: config.global.vrrpGarpInterval ?? 0,
      gna: config.global.vrrpGnaInterval ?? 0,
    }, { now: nowUs, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) })
    this.runner = new ScriptRunner({ log, scriptUser: config.global.scriptUser, enableScriptSecurity: config.global.enableScriptSecurity })
    this.notifier = new Notifier(this.runner, log, config.global)

    this.trackers = new LiveTrackers(log, this.runner, () => this.recomputeTracking())
    for (const l of links) this.trackers.interfaces.set(l.name, l.up && l.running)

    // Units first: sync groups, then every instance in no group.
    const grouped = new Set<string>()
    const params = new Map(config.vrrp.instances.map((i) => [i.name, instanceParams(i, config.global)]))
    const unitOf = new Map<string, Unit>()
    for (const g of config.vrrp.syncGroups) {
      const members = g.members.filter((m) => params.has(m))
      const unit = syncedInstances(g.name, members.map((m) => params.get(m)!))
      for (const m of members) {
        grouped.add(m)
        unitOf.set(m, unit)
      }
      this.units.push(unit)
    }
    for (const inst of config.vrrp.instances) {
      if (grouped.has(inst.name)) continue
      const unit = loneInstance(params.get(inst.name)!)
      unitOf.set(inst.name, unit)
      this.units.push(unit)
    }

    const sync = config.global.lvsSyncDaemon
    if (sync) {
      const ipvs = await openIpvs()
      if (ipvs instanceof NetError) log.error(`IPVS: Can't initialize ipvs: ${ipvs.message} - lvs_sync_daemon disabled`)
      else {
        this.syncDaemon = new LvsSyncDaemon(sync, ipvs, log)
        void this.syncDaemon.start()
      }
    }

    this.vmacs = new VmacSetup(nl, log)
    for (const inst of config.vrrp.instances) {
      const sendLink = await this.vmacFor(inst, addresses)
      if (sendLink === null) continue
      const live = this.openInstance(inst, unitOf.get(inst.name)!, addresses, config, sendLink)
      if (live) this.instances.set(inst.name, live)
    }
    const watcher = watchNetworkEvents((e) => {
      if (e.type !== 'link') return
      const up = e.change !== 'removed' && e.up && e.running
      if (this.trackers!.interfaces.get(e.name) !== up) {
        log.info(`Netlink reports ${e.name} ${up ? 'up' : 'down'}`)
        this.trackers!.interfaces.set(e.name, up)
        this.recomputeTracking()
      }
    }, (err) => log.error(`Netlink: ${err.message}`))
    if (watcher instanceof NetError) log.error(`Unable to watch link events: ${watcher.message}`)
    else this.watcher = watcher

    const used = new Set([...this.instances.values()].flatMap((i) => i.trackers.filter((t) => t.kind === 'script').map((t) => t.name)))
    this.trackers.startScripts(config.vrrp.scripts.filter((s) => used.has(s.name)))
    this.trackers.startFiles(config.vrrp.trackFiles)
    this.trackers.startProcesses(config.vrrp.trackProcesses)

    for (const line of unsupportedWarnings([...this.instances.values()].map((l) => l.config))) log.warning(line)
    // keepalived removes VIPs a previous run may have left (a SIGKILLed master) before
    // any instance starts, so that a BACKUP never holds them.
    for (const live of this.instances.values()) {
      log.detail(`(${live.config.name}) removing VIPs.`)
      this.enqueue(async () => this.reportFailures(live.config, await applyMasterAddresses(nl, live.config, this.links, false)))
    }

    const now = nowUs()
    for (const live of this.instances.values()) {
      live.tracking = evaluateTracking(live.config.name, live.config.priority, this.activeTrackers(live), this.trackers.status)
    }
    for (const unit of this.units) {
      for (const member of unit.members) {
        const live = this.instances.get(member)
        if (!live) continue
        const t = live.tracking
        this.dispatch(unit, member, { type: 'start', now, faults: t.faults, initPending: t.initPending, priority: t.priority })
      }
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    if (this.timer) clearTimeout(this.timer)
    this.trackers?.stop()
    const now = nowUs()
    for (const unit of this.units) {
      for (const member of unit.members) if (this.instances.has(member)) this.dispatch(unit, member, { type: 'stop', now })
    }
    await this.work
    await this.syncDaemon?.stop()
    await this.notifier?.close()
    this.smtp?.close()
    this.runner?.killAll()
    this.watcher?.close()
    for (const s of this.sockets.values()) s.close()
    this.packets?.close()
    // After the VIPs are gone (keepalived keeps its VMACs with --dont-release-vrrp: the VIPs are on them).
    if (!this.ctx.options.dontReleaseVrrp) await this.vmacs?.teardown()
    this.nl?.close()
  }

  private fatal(reason: string): void {
    this.ctx.log.error(reason)
    this.ctx.requestStop(1, reason)
  }

  /** Trackers minus those of scripts keepalived would have disabled. */
  private activeTrackers(live: LiveInstance): TrackedItem[] {
    return live.trackers.filter((t) => !(t.kind === 'script' && this.trackers!.disabledScripts.has(t.name)))
  }

  /**
   * use_vmac: create the instance's VMAC (its VIPs go there, kernel-actions.ts) and
   * say which interface sends its adverts — the VMAC unless vmac_xmit_base.
   * Undefined: the instance's own interface; null: the VMAC failed, instance disabled.
   */
  private async vmacFor(inst: VrrpInstance, addresses: Parameters<typeof primaryIpv4>[0]): Promise<InterfaceInfo | undefined | null> {
    const base = inst.interface === undefined ? undefined : this.links.get(inst.interface)
    if (!inst.useVmac || !base) return undefined
    const vmac = await this.vmacs!.setup(inst, base, addresses)
    if (!vmac) {
      this.ctx.log.error(`(${inst.name}) VMAC could not be set up - instance disabled`)
      return null
    }
    this.links.set(vmac.name, vmac)
    return inst.vmacXmitBase ? undefined : vmac
  }

  private openInstance(
    inst: VrrpInstance, unit: Unit, addresses: Parameters<typeof primaryIpv4>[0], config: Config, sendLink: InterfaceInfo | undefined,
  ): LiveInstance | undefined {
    const log = this.ctx.log
    const link = inst.interface === undefined ? undefined : this.links.get(inst.interface)
    if (!link) {
      log.error(`(${inst.name}) interface ${inst.interface ?? '(none)'} does not exist - instance disabled`)
      return undefined
    }
    const source = inst.unicastSrcIp ?? inst.mcastSrcIp ??
      (inst.family === 4 ? primaryIpv4(addresses, link.index) : linkLocalIpv6(addresses, link.index))
    if (source === undefined) {
      log.error(`(${inst.name}) no IPv${inst.family} address on interface ${link.name} - instance disabled`)
      return undefined
    }
    const unicast = inst.unicastPeers.length > 0
    // With a VMAC the socket is on it, for sending and receiving: a peer's adverts from
    // the same virtual MAC reach only our VMAC (a private macvlan takes frames from its
    // own MAC), and multicast from any other MAC reaches the VMAC as well as the base.
    const sock = sendLink ?? link
    const group = inst.family === 4 ? (config.global.vrrpMcastGroup4 ?? VRRP_MCAST_GROUP4) : (config.global.vrrpMcastGroup6 ?? VRRP_MCAST_GROUP6)
    const key = `${sock.name}|${inst.family}|${unicast ? 'u' : 'm'}|${unicast ? source : group}`
    let socket = this.sockets.get(key)
    if (!socket) {
      const opened = openVrrpSocket({ interface: sock.name, family: inst.family, mode: unicast ? 'unicast' : 'multicast', group, source })
      if (opened instanceof NetError) {
        log.error(`(${inst.name}) cannot open VRRP socket on ${sock.name}: ${opened.message}`)
        return undefined
      }
      socket = opened
      this.sockets.set(key, socket)
      socket.onPacket((p) => this.receive(key, p))
      socket.onError((e) => log.error(`VRRP socket on ${sock.name}: ${e.message}`))
      log.info(`VRRP sockpool: [ifindex(${String(sock.index).padStart(3)}), family(IPv${inst.family}), proto(112), ${unicast ? 'unicast' : 'multicast'}, address(${unicast ? source : group})]`)
    }
    const group0 = config.vrrp.syncGroups.find((g) => g.members.includes(inst.name))
    return {
      config: inst,
      unit,
      socket,
      source,
      destinations: unicast ? inst.unicastPeers.map((p) => p.address) : [group],
      trackers: instanceTrackers(inst, group0),
      tracking: { priority: inst.priority, faults: [], initPending: [] },
      stats: emptyStats(),
      oldUnicastChecksum: 'detect',
    }
  }

  /** One datagram from a socket: to the instance with its VRID, validated, then stepped. */
  private receive(key: string, p: ReceivedVrrp): void {
    if (this.stopping || p.payload.length < 2) return
    const vrid = p.payload[1]
    for (const live of this.instances.values()) {
      if (live.socket !== this.sockets.get(key) || live.config.virtualRouterId !== vrid) continue
      const state = live.unit.state(live.config.name)
      const result = checkAdvert(
        { family: p.family, ttl: p.ttlOrHopLimit < 0 ? undefined : p.ttlOrHopLimit, source: p.src, destination: p.dst, ahPresent: p.ahPresent, payload: p.payload, totalLength: p.ipTotalLength },
        {
          name: live.config.name,
          version: live.config.version,
          vrid: live.config.virtualRouterId,
          authentication: live.config.authentication,
          advertIntervalCs: Math.round(live.config.advertInt / 10_000),
          virtualAddresses: live.config.virtualIpaddresses.map((v) => v.address),
          unicastPeers: live.config.unicastPeers,
          checkUnicastSrc: live.config.checkUnicastSrc,
          skipCheckAdvAddr: live.config.skipCheckAdvAddr,
          currentMaster: state.state === 'BACKUP' ? state.masterAddress : undefined,
          mcastGroup4: this.global?.vrrpMcastGroup4,
          oldUnicastChecksum: live.oldUnicastChecksum,
        },
      )
      live.stats = countAdvertCheck(live.stats, result)
      if (!result.ok) {
        if (result.message !== undefined) this.ctx.log.info(result.message)
        continue
      }
      for (const note of result.notes) this.ctx.log.info(note)
      if (result.useOldUnicastChecksum) live.oldUnicastChecksum = 'in-use'
      this.dispatch(live.unit, live.config.name, {
        type: 'advert', now: nowUs(), from: p.src, priority: result.advert.priority,
        adverInt: result.advert.advertIntervalCs * 10_000, ourAddress: live.source,
      })
    }
  }

  private recomputeTracking(): void {
    if (this.stopping) return
    const now = nowUs()
    for (const live of this.instances.values()) {
      const next = evaluateTracking(live.config.name, live.config.priority, this.activeTrackers(live), this.trackers!.status)
      const prev = live.tracking
      live.tracking = next
      for (const event of trackingEvents(prev, next, now)) this.dispatch(live.unit, live.config.name, event)
    }
  }

  /** Step a member and perform what it asks, then re-arm the one timer. */
  private dispatch(unit: Unit, member: string, event: InstanceEvent): void {
    const actions = unit.step(member, event)
    for (const a of actions) this.perform(unit, a)
    this.arm()
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (this.stopping) return
    let next: number | undefined
    for (const u of this.units) {
      const at = u.nextDeadline()
      if (at !== undefined && (next === undefined || at < next)) next = at
    }
    if (next === undefined) return
    this.timer = setTimeout(() => this.expire(), Math.max(0, Math.ceil((next - nowUs()) / 1000)))
  }

  private expire(): void {
    this.timer = undefined
    const now = nowUs()
    for (const unit of this.units) {
      const at = unit.nextDeadline()
      if (at === undefined || at > now) continue
      for (const member of unit.members) {
        if (!this.instances.has(member)) continue
        const actions = unit.step(member, { type: 'timer', now })
        for (const a of actions) this.perform(unit, a)
      }
    }
    this.arm()
  }

  private perform(unit: Unit, { instance, action }: UnitAction): void {
    const log = this.ctx.log
    if (action.type === 'log') {
      if (action.detail) log.detail(action.line)
      else log.info(action.line)
      return
    }
    if (action.type === 'groupNotify') return this.groupNotify(unit, action)
    const live = instance === undefined ? undefined : this.instances.get(instance)
    if (!live) return
    this.performInstance(live, action)
  }

  private performInstance(live: LiveInstance, action: Exclude<InstanceAction, { type: 'log' }>): void {
    const inst = live.config
    switch (action.type) {
      case 'sendAdvert':
        return this.sendAdvert(live, action.priority)
      case 'addVips':
        return this.enqueue(async () => this.reportFailures(inst, await applyMasterAddresses(this.nl!, inst, this.links, true)))
      case 'removeVips':
        this.pacer?.cancel(inst.name)
        if (this.stopping && this.ctx.options.dontReleaseVrrp) return
        return this.enqueue(async () => {
          // A burst queued behind this removal in the work chain must not go out either.
          this.pacer?.cancel(inst.name)
          this.reportFailures(inst, await applyMasterAddresses(this.nl!, inst, this.links, false))
        })
      case 'garp':
        return this.enqueue(async () => this.announce(live, action.repeat))
      case 'sourceGarp':
        return this.enqueue(async () => this.announceSource(live))
      case 'notify':
        this.notifier?.transition(inst, 'INSTANCE', inst.name, action.state, action.priority)
        if (this.syncDaemon?.instance === inst.name) void this.syncDaemon.transition(action.state)
        this.smtp?.vrrpInstance(inst.name, action.state, inst.smtpAlert)
        return
      case 'notifyEvent':
        this.notifier?.masterRxLowerPriority(inst.name, action.priority)
        return
      case 'stat':
        if (action.counter === 'becomeMaster') live.stats.becameMaster++
        else if (action.counter === 'releaseMaster') live.stats.releasedMaster++
        else if (action.counter === 'priorityZeroSent') live.stats.priorityZeroSent++
        // priorityZeroReceived is counted with the advert that carried it (countAdvertCheck).
        return
    }
  }

  private enqueue(job: () => Promise<void>): void {
    this.work = this.work.then(job, job).catch((err: unknown) => this.ctx.log.error(`VRRP action failed: ${(err as Error).message}`))
  }

  private reportFailures(inst: VrrpInstance, failures: readonly { what: string; error: Error }[]): void {
    for (const f of failures) this.ctx.log.error(`(${inst.name}) ${f.what}: ${f.error.message}`)
  }

  private sendAdvert(live: LiveInstance, priority: number): void {
    const inst = live.config
    const fields = advertFields(inst, priority)
    for (const dst of live.destinations) {
      const checksumDst = live.oldUnicastChecksum === 'in-use' ? (this.global?.vrrpMcastGroup4 ?? VRRP_MCAST_GROUP4) : dst
      const payload = encodeAdvert(fields, { family: inst.family, src: live.source, dst: checksumDst })
      const err = live.socket.send(payload, dst)
      if (err) this.ctx.log.error(`(${inst.name}) Cant send advert to ${dst} (${err.errno?.name ?? err.message})`)
      else live.stats.advertsSent++
    }
  }

  /**
   * A GARP / NA burst: `repeat` rounds over every VIP and eVIP (keepalived's
   * order), paced per interface by vrrp_garp_interval / vrrp_gna_interval.
   */
  private announce(live: LiveInstance, repeat: number): void {
    if (!this.pacer || repeat <= 0) return
    const frames = announcementFrames(live.config, this.links)
    for (const f of frames) {
      const what = f.family === 4 ? 'gratuitous ARPs' : 'Unsolicited Neighbour Adverts'
      this.ctx.log.detail(`(${live.config.name}) Sending/queueing ${what} on ${f.link.name} for ${f.address}`)
    }
    const rounds: PacedFrame<AnnouncementFrame>[] = []
    for (let i = 0; i < repeat; i++) for (const f of frames) rounds.push({ ifindex: f.link.index, family: f.family, frame: f })
    this.pacer.queue(live.config.name, rounds)
  }

  private sendAnnouncement(f: AnnouncementFrame): void {
    const log = this.ctx.log
    log.detail(f.family === 4 ? `Sending gratuitous ARP on ${f.link.name} for ${f.address}` : `Sending unsolicited Neighbour Advert on ${f.link.name} for ${f.address}`)
    const err = this.packets?.send(f.frame, f.link.index, f.link.name)
    if (err) log.error(`Error ${err.errno?.number ?? 0} (${err.errno?.name ?? err.message}) sending ${f.family === 4 ? 'gratuitous ARP' : 'unsolicited Neighbour Advert'} on ${f.link.name} for ${f.address}`)
  }

  /** Leaving FAULT in unicast mode: one GARP / NA for our own address, so the peer relearns our MAC. */
  private async announceSource(live: LiveInstance): Promise<void> {
    const link = live.config.interface === undefined ? undefined : this.links.get(live.config.interface)
    if (!this.packets || !link || link.noArp) return
    const frame = live.config.family === 4 ? buildGratuitousArp(link.mac, live.source) : buildUnsolicitedNeighbourAdvert(link.mac, live.source)
    const err = this.packets.send(frame, link.index, link.name)
    if (err) this.ctx.log.error(`Error ${err.errno?.number ?? 0} (${err.errno?.name ?? err.message}) sending gratuitous ARP on ${link.name} for ${live.source}`)
  }

  private groupNotify(unit: Unit, action: GroupNotifyAction): void {
    const scripts = unit.group === undefined ? undefined : this.syncGroupScripts.get(unit.group)
    if (scripts) this.notifier?.transition(scripts, 'GROUP', unit.group!, action.state, 0)
    if (unit.group !== undefined) this.smtp?.vrrpGroup(unit.group, action.state, this.syncGroupMail.get(unit.group))
  }

}

/** The factory the daemon's subsystem registry uses. */
export function createVrrpRuntime(ctx: SubsystemContext): Subsystem {
  return new VrrpRuntime(ctx)
}
