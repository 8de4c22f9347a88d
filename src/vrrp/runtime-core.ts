/**
 * The machinery of the VRRP runtime that start-up, reload and shutdown share
 * (runtime.ts drives it): building the units and live instances of a
 * configuration, feeding the state machines with validated adverts, timers
 * and tracking, and performing the actions they return — adverts, VIPs,
 * GARPs, notifies, transitions — in order, through src/net.
 */
import type { Config } from '../config/config.js'
import type { GlobalDefs } from '../config/global/model.js'
import type { NotifyScripts, VrrpInstance } from '../config/vrrp/model.js'
import type { ScriptRunner } from '../daemon/notify.js'
import type { SmtpAlerter } from '../daemon/smtp-alert.js'
import type { SubsystemContext } from '../daemon/subsystem.js'
import type { NetworkEventWatcher, ReceivedVrrp, Rtnetlink } from '../net/index.js'
import type { VrrpStateName } from '../status/types.js'
import { type Announcer, nowUs } from './announcer.js'
import { type Addresses, type InstanceHistory, type LiveInstance, openInstance, receivedAdvert, sendAdvert } from './instance-io.js'
import type { InstanceAction, InstanceEvent, InstanceState } from './instance-types.js'
import { applyMasterAddresses, type InterfaceInfo } from './kernel-actions.js'
import type { Notifier } from './notifier.js'
import { instanceParams } from './params.js'
import { SocketPool } from './socket-pool.js'
import type { LvsSyncDaemon } from './sync-daemon.js'
import type { GroupNotifyAction } from './sync-group.js'
import type { LiveTrackers } from './trackers.js'
import { evaluateTracking, type TrackedItem, trackingEvents } from './tracking.js'
import { loneInstance, syncedInstances, type Unit, type UnitAction } from './unit.js'
import type { VmacSetup } from './vmac-setup.js'

export type StateListener = (instance: string, state: VrrpStateName) => void

export abstract class VrrpCore {
  protected nl: Rtnetlink | undefined
  protected announcer: Announcer | undefined
  protected watcher: NetworkEventWatcher | undefined
  protected readonly links = new Map<string, InterfaceInfo>()
  protected readonly pool: SocketPool
  /** By instance name, in configuration order. */
  protected instances = new Map<string, LiveInstance>()
  protected units: Unit[] = []
  protected timer: NodeJS.Timeout | undefined
  /** Kernel address changes and the GARPs after them, strictly in order. */
  protected work: Promise<void> = Promise.resolve()
  protected trackers: LiveTrackers | undefined
  protected runner: ScriptRunner | undefined
  protected notifier: Notifier | undefined
  protected config: Config | undefined
  /** Each sync group's notify scripts (they are on no instance) and resolved smtp_alert. */
  protected readonly syncGroupScripts = new Map<string, NotifyScripts & { readonly smtpAlert: boolean }>()
  protected vmacs: VmacSetup | undefined
  protected syncDaemon: LvsSyncDaemon | undefined
  protected smtp: SmtpAlerter | undefined
  protected readonly listeners: StateListener[] = []
  protected stopping = false

  constructor(protected readonly ctx: SubsystemContext) {
    this.pool = new SocketPool(ctx.log, (key, p) => this.receive(key, p))
  }

  protected get global(): GlobalDefs {
    return this.config!.global
  }

  protected fatal(reason: string): void {
    this.ctx.log.error(reason)
    this.ctx.requestStop(1, reason)
  }

  /** Sync groups first, then every instance in no group (keepalived's order). */
  protected buildUnits(config: Config, carried: ReadonlyMap<string, InstanceState> = new Map()): Map<string, Unit> {
    const grouped = new Set<string>()
    const params = new Map(config.vrrp.instances.map((i) => [i.name, instanceParams(i, config.global)]))
    const unitOf = new Map<string, Unit>()
    const units: Unit[] = []
    for (const g of config.vrrp.syncGroups) {
      const members = g.members.filter((m) => params.has(m))
      const unit = syncedInstances(g.name, members.map((m) => params.get(m)!), carried)
      for (const m of members) {
        grouped.add(m)
        unitOf.set(m, unit)
      }
      units.push(unit)
    }
    for (const inst of config.vrrp.instances) {
      if (grouped.has(inst.name)) continue
      const unit = loneInstance(params.get(inst.name)!, carried.get(inst.name))
      unitOf.set(inst.name, unit)
      units.push(unit)
    }
    this.units = units
    return unitOf
  }

  /**
   * use_vmac: create the instance's VMAC (its VIPs go there, kernel-actions.ts) and
   * say which interface sends its adverts — the VMAC unless vmac_xmit_base.
   * Undefined: the instance's own interface; null: the VMAC failed, instance disabled.
   */
  protected async vmacFor(inst: VrrpInstance, addresses: Addresses): Promise<InterfaceInfo | undefined | null> {
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

  /** Live instances for `config` (those that can run), with their sockets; `histories` carry counters over a reload. */
  protected openInstances(
    config: Config, unitOf: ReadonlyMap<string, Unit>, addresses: Addresses,
    sendLinks: ReadonlyMap<string, InterfaceInfo | undefined | null>, histories: ReadonlyMap<string, InstanceHistory> = new Map(),
  ): Map<string, LiveInstance> {
    const ctx = { log: this.ctx.log, links: this.links, addresses, global: config.global, pool: this.pool, syncGroups: config.vrrp.syncGroups }
    const opened = new Map<string, LiveInstance>()
    for (const inst of config.vrrp.instances) {
      const sendLink = sendLinks.get(inst.name)
      if (sendLink === null) continue
      const live = openInstance(inst, unitOf.get(inst.name)!, ctx, sendLink, histories.get(inst.name))
      if (live) opened.set(inst.name, live)
    }
    return opened
  }

  /** Trackers minus those of scripts keepalived would have disabled. */
  protected activeTrackers(live: LiveInstance): TrackedItem[] {
    return live.trackers.filter((t) => !(t.kind === 'script' && this.trackers!.disabledScripts.has(t.name)))
  }

  protected evaluate(live: LiveInstance): LiveInstance['tracking'] {
    return evaluateTracking(live.config.name, live.config.priority, this.activeTrackers(live), this.trackers!.status)
  }

  /** One datagram from a socket: to the instances with its VRID, validated, then stepped. */
  protected receive(key: string, p: ReceivedVrrp): void {
    if (this.stopping || p.payload.length < 2) return
    const vrid = p.payload[1]
    for (const live of this.instances.values()) {
      if (live.socketKey !== key || live.config.virtualRouterId !== vrid) continue
      const state = live.unit.state(live.config.name)
      const event = receivedAdvert(live, state, p, this.global, this.ctx.log, nowUs())
      if (event) this.dispatch(live.unit, live.config.name, event)
    }
  }

  protected recomputeTracking(): void {
    if (this.stopping) return
    const now = nowUs()
    for (const live of this.instances.values()) {
      const next = this.evaluate(live)
      const prev = live.tracking
      live.tracking = next
      for (const event of trackingEvents(prev, next, now)) this.dispatch(live.unit, live.config.name, event)
    }
  }

  /** Step a member and perform what it asks, then re-arm the one timer. */
  protected dispatch(unit: Unit, member: string, event: InstanceEvent): void {
    for (const a of unit.step(member, event)) this.perform(unit, a)
    this.arm()
  }

  protected arm(): void {
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
        for (const a of unit.step(member, { type: 'timer', now })) this.perform(unit, a)
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
    if (live) this.performInstance(live, action)
  }

  private performInstance(live: LiveInstance, action: Exclude<InstanceAction, { type: 'log' }>): void {
    const inst = live.config
    switch (action.type) {
      case 'sendAdvert':
        return sendAdvert(live, action.priority, this.global, this.ctx.log)
      case 'addVips':
        return this.enqueue(async () => this.reportFailures(inst, await applyMasterAddresses(this.nl!, inst, this.links, true)))
      case 'removeVips':
        this.announcer?.cancel(inst.name)
        if (this.stopping && this.ctx.options.dontReleaseVrrp) return
        return this.enqueue(async () => {
          // A burst queued behind this removal in the work chain must not go out either.
          this.announcer?.cancel(inst.name)
          this.reportFailures(inst, await applyMasterAddresses(this.nl!, inst, this.links, false))
        })
      case 'garp':
        return this.enqueue(async () => this.announcer?.announce(inst, this.links, action.repeat))
      case 'sourceGarp': {
        const link = inst.interface === undefined ? undefined : this.links.get(inst.interface)
        return this.enqueue(async () => this.announcer?.announceSource(inst, link, live.source))
      }
      case 'notify':
        this.notifier?.transition(inst, 'INSTANCE', inst.name, action.state, action.priority)
        this.smtp?.vrrpInstance(inst.name, action.state, inst.smtpAlert)
        return
      case 'notifyEvent':
        this.notifier?.masterRxLowerPriority(inst.name, action.priority)
        return
      case 'stat': {
        const stats = live.history.stats
        if (action.counter === 'becomeMaster') stats.becameMaster++
        else if (action.counter === 'releaseMaster') stats.releasedMaster++
        else if (action.counter === 'priorityZeroSent') stats.priorityZeroSent++
        // priorityZeroReceived is counted with the advert that carried it (countAdvertCheck).
        return
      }
      case 'transition':
        return this.transition(live, action.to, action.reason)
    }
  }

  /** Record a state change, tell the listeners and the LVS sync daemon. */
  private transition(live: LiveInstance, to: VrrpStateName, reason: string): void {
    const h = live.history
    h.transitions++
    h.since = Date.now()
    h.reason = reason
    if (to !== 'INIT' && this.syncDaemon?.instance === live.config.name) void this.syncDaemon.transition(to)
    this.tell(live.config.name, to)
  }

  /** The listeners hear of `instance` in `state`; one that throws harms nobody. */
  protected tell(instance: string, state: VrrpStateName): void {
    for (const listener of this.listeners) {
      try {
        listener(instance, state)
      } catch (err) {
        this.ctx.log.error(`VRRP state listener failed: ${(err as Error).message}`)
      }
    }
  }

  protected enqueue(job: () => Promise<void>): void {
    this.work = this.work.then(job, job).catch((err: unknown) => this.ctx.log.error(`VRRP action failed: ${(err as Error).message}`))
  }

  protected reportFailures(inst: VrrpInstance, failures: readonly { what: string; error: Error }[]): void {
    for (const f of failures) this.ctx.log.error(`(${inst.name}) ${f.what}: ${f.error.message}`)
  }

  private groupNotify(unit: Unit, action: GroupNotifyAction): void {
    if (unit.group === undefined) return
    const scripts = this.syncGroupScripts.get(unit.group)
    if (scripts) this.notifier?.transition(scripts, 'GROUP', unit.group, action.state, 0)
    this.smtp?.vrrpGroup(unit.group, action.state, scripts?.smtpAlert)
  }
}
