/**
 * The VRRP subsystem: the one place that owns sockets and timers for VRRP
 * (DESIGN.md). Start-up (fresh, or resuming MASTER after a respawn), SIGHUP
 * reload with keepalived's semantics (reference §5.17), shutdown, status and
 * the signal dumps (§3.2); the shared machinery is in runtime-core.ts.
 */
import type { Config } from '../config/config.js'
import { ScriptRunner } from '../daemon/notify.js'
import { SmtpAlerter } from '../daemon/smtp-alert.js'
import { smtpConfigured } from '../daemon/smtp-message.js'
import type { StartHints, Subsystem, SubsystemContext } from '../daemon/subsystem.js'
import { linkLocalIpv6, listAddresses, listLinks, NetError, openIpvs, openRtnetlink, primaryIpv4, watchNetworkEvents } from '../net/index.js'
import type { VrrpStatus } from '../status/types.js'
import { Announcer, nowUs } from './announcer.js'
import { emptyStats } from './advert-check.js'
import type { DumpInput } from './dump-format.js'
import { formatData } from './dump-data.js'
import { writeDumpFile } from './dump-file.js'
import { formatJson, formatStats } from './dump-stats.js'
import { nextDeadline } from './instance.js'
import { type Addresses, type InstanceHistory, type LiveInstance, multicastGroup, sourceAddress } from './instance-io.js'
import type { InstanceState } from './instance-types.js'
import { applyMasterAddresses, applyMasterEntries, type InterfaceInfo, vmacName } from './kernel-actions.js'
import { Notifier } from './notifier.js'
import { instanceParams } from './params.js'
import { addressDiff, type AddressDiff, instanceIdentity, isEmpty, matchInstances, removalLines, settingLines } from './reload-plan.js'
import { type StateListener, VrrpCore } from './runtime-core.js'
import { instanceStatus } from './status-view.js'
import { LvsSyncDaemon } from './sync-daemon.js'
import { LiveTrackers } from './trackers.js'
import { unsupportedWarnings } from './unsupported.js'
import { VmacSetup } from './vmac-setup.js'

export class VrrpRuntime extends VrrpCore implements Subsystem {
  constructor(ctx: SubsystemContext) {
    super(ctx)
  }

  async start(config: Config, hints?: StartHints): Promise<void> {
    const log = this.ctx.log
    this.config = config
    this.setSyncGroups(config)
    if (smtpConfigured(config.global)) this.smtp = new SmtpAlerter({ global: config.global, log })
    const nl = openRtnetlink()
    if (nl instanceof NetError) return this.fatal(`Unable to open netlink: ${nl.message}`)
    this.nl = nl
    log.info('Registering Kernel netlink reflector')
    log.info('Registering Kernel netlink command channel')
    const read = await this.readInterfaces()
    if (!read) return this.fatal('Unable to read interfaces from netlink')
    const { addresses } = read
    this.logAssignedAddresses(config, addresses)
    this.announcer = Announcer.open(log, config.global)
    this.runner = new ScriptRunner({ log, scriptUser: config.global.scriptUser, enableScriptSecurity: config.global.enableScriptSecurity })
    this.notifier = new Notifier(this.runner, log, config.global)
    this.trackers = new LiveTrackers(log, this.runner, () => this.recomputeTracking())
    for (const [name, up] of read.linkStates) this.trackers.interfaces.set(name, up)

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
    const unitOf = this.buildUnits(config)
    const sendLinks = new Map<string, InterfaceInfo | undefined | null>()
    for (const inst of config.vrrp.instances) sendLinks.set(inst.name, await this.vmacFor(inst, addresses))
    this.instances = this.openInstances(config, unitOf, addresses, sendLinks)
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

    this.startTrackers(config, false)
    for (const line of unsupportedWarnings([...this.instances.values()].map((l) => l.config))) log.warning(line)
    for (const live of this.instances.values()) live.tracking = this.evaluate(live)

    const resumed = this.resumable(hints)
    // keepalived removes VIPs a previous run may have left (a SIGKILLed master) before
    // any instance starts, so that a BACKUP never holds them; a MASTER resuming keeps them.
    for (const live of this.instances.values()) {
      if (resumed.has(live.config.name)) continue
      log.detail(`(${live.config.name}) removing VIPs.`)
      this.enqueue(async () => this.reportFailures(live.config, await applyMasterAddresses(nl, live.config, this.links, false)))
    }
    const now = nowUs()
    for (const unit of this.units) {
      for (const member of unit.members) {
        const live = this.instances.get(member)
        if (!live) continue
        const t = live.tracking
        if (resumed.has(member)) this.dispatch(unit, member, { type: 'resume', now, faults: t.faults, priority: t.priority })
        else this.dispatch(unit, member, { type: 'start', now, faults: t.faults, initPending: t.initPending, priority: t.priority })
      }
    }
  }

  /**
   * After a respawn, the instances the dead process last reported MASTER and
   * that have no fault now; a sync group resumes only whole.
   */
  private resumable(hints: StartHints | undefined): Set<string> {
    const out = new Set<string>()
    if (!hints?.respawn || !hints.vrrpStates) return out
    const ok = (name: string): boolean => {
      const live = this.instances.get(name)
      return hints.vrrpStates![name] === 'MASTER' && live !== undefined && live.tracking.faults.length === 0
    }
    for (const unit of this.units) {
      if (unit.members.every(ok)) for (const m of unit.members) out.add(m)
    }
    return out
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
    this.pool.closeAll()
    this.announcer?.close()
    // After the VIPs are gone (keepalived keeps its VMACs with --dont-release-vrrp: the VIPs are on them).
    if (!this.ctx.options.dontReleaseVrrp) await this.vmacs?.teardown()
    this.nl?.close()
  }

  /**
   * SIGHUP with a configuration that loaded (reference §5.17): instances are
   * matched by identity (reload-plan.ts); a matched one keeps its state and
   * VIPs, only the difference of its addresses, routes and rules is applied
   * and announced; a removed one sends priority 0 if MASTER and releases its
   * VIPs; a new one starts as at start-up; trackers and sync groups follow.
   */
  async reload(config: Config): Promise<void> {
    if (this.stopping || !this.nl || !this.config || !this.trackers) return
    const log = this.ctx.log
    const nl = this.nl
    // Everything that can fail or wait comes first; nothing running is touched until it has.
    const read = await this.readInterfaces()
    if (!read) {
      log.error('Reload: unable to read interfaces from netlink - the running VRRP configuration is kept')
      return
    }
    const { addresses } = read
    // Interfaces that appeared since: their state, until netlink reports a change.
    for (const [name, up] of read.linkStates) if (!this.trackers!.interfaces.has(name)) this.trackers!.interfaces.set(name, up)
    const identity = (x: LiveInstance | Config['vrrp']['instances'][number]): string => 'unit' in x
      ? instanceIdentity({ config: x.config, source: x.source, group: x.group })
      : instanceIdentity({ config: x, source: sourceAddress(x, this.links, addresses), group: multicastGroup(x.family, config.global) })
    const match = matchInstances<LiveInstance, Config['vrrp']['instances'][number]>([...this.instances.values()], config.vrrp.instances, identity)
    const sendLinks = new Map<string, InterfaceInfo | undefined | null>()
    for (const inst of config.vrrp.instances) sendLinks.set(inst.name, await this.vmacFor(inst, addresses))
    if (this.stopping) return

    this.warnGlobalChanges(config)
    const now = nowUs()
    for (const live of match.removed) this.dispatch(live.unit, live.config.name, { type: 'delete', now })
    const carried = new Map<string, InstanceState>()
    const histories = new Map<string, InstanceHistory>()
    const diffs = new Map<string, { diff: AddressDiff; vipsSet: boolean }>()
    for (const [live, inst] of match.kept) {
      const state = live.unit.state(live.config.name)
      const diff = addressDiff(live.config, inst)
      carried.set(inst.name, state)
      histories.set(inst.name, live.history)
      diffs.set(inst.name, { diff, vipsSet: state.vipsSet })
      if (!state.vipsSet || isEmpty(diff.removed)) continue
      for (const line of removalLines(live.config.name, diff.removed)) log.info(line)
      this.enqueue(async () => this.reportFailures(live.config, await applyMasterEntries(nl, diff.removed, this.links, false)))
    }

    const old = [...this.instances.values()]
    this.config = config
    this.setSyncGroups(config)
    const unitOf = this.buildUnits(config, carried)
    this.instances = this.openInstances(config, unitOf, addresses, sendLinks, histories)
    for (const live of old) this.pool.release(live.id)
    const vmacsInUse = new Set([...this.instances.values()].map((l) => vmacName(l.config)))
    for (const live of old) {
      const name = vmacName(live.config)
      if (name !== undefined && !vmacsInUse.has(name)) this.enqueue(async () => this.vmacs?.remove(name))
    }

    this.startTrackers(config, true)
    for (const live of this.instances.values()) live.tracking = this.evaluate(live)
    const added = new Set(match.added.map((i) => i.name))
    for (const line of unsupportedWarnings([...this.instances.values()].filter((l) => added.has(l.config.name)).map((l) => l.config))) log.warning(line)
    for (const unit of this.units) {
      for (const member of unit.members) {
        const live = this.instances.get(member)
        if (!live) continue
        const t = live.tracking
        if (!carried.has(member)) {
          this.dispatch(unit, member, { type: 'start', now, faults: t.faults, initPending: t.initPending, priority: t.priority })
          continue
        }
        const params = instanceParams(live.config, config.global)
        this.dispatch(unit, member, { type: 'reload', now, params, faults: t.faults, initPending: t.initPending, priority: t.priority })
        const before = diffs.get(member)!
        if (before.vipsSet && unit.state(member).vipsSet) this.reassert(live, before.diff)
      }
    }
    // A kept instance under a new name: the listeners (the parent's respawn hints) learn its state by that name.
    for (const [old, inst] of match.kept) {
      const live = this.instances.get(inst.name)
      if (live && old.config.name !== inst.name) this.tell(inst.name, live.unit.state(inst.name).state)
    }
  }

  /** A MASTER kept by a reload: keepalived's lines, the new entries added, GARP / NA for the new addresses only. */
  private reassert(live: LiveInstance, diff: AddressDiff): void {
    for (const line of settingLines(live.config)) this.ctx.log.detail(line)
    if (isEmpty(diff.added)) return
    const fresh = new Set(diff.added.addresses.map((a) => a.vip.address))
    const repeat = live.unit.state(live.config.name).params.garp.masterRepeat
    this.enqueue(async () => {
      this.reportFailures(live.config, await applyMasterEntries(this.nl!, diff.added, this.links, true))
      if (fresh.size) this.announcer?.announce(live.config, this.links, repeat, fresh)
    })
  }

  status(): VrrpStatus {
    return { instances: [...this.instances.values()].map((l) => instanceStatus(l, l.unit.state(l.config.name))) }
  }

  onStateChange(listener: StateListener): void {
    this.listeners.push(listener)
  }

  /** SIGUSR1: /tmp/keepalived.data. */
  dumpData(): void {
    if (this.config) this.writeDump('keepalived.data', formatData(this.dumpInput()))
  }

  /** SIGUSR2: /tmp/keepalived.stats; `clear` (SIGRTMAX-1, STATS_CLEAR) zeroes the counters after writing. */
  dumpStats(clear = false): void {
    const lives = [...this.instances.values()]
    this.writeDump('keepalived.stats', formatStats(lives.map((l) => ({ name: l.config.name, stats: l.history.stats }))))
    if (clear) for (const l of lives) l.history.stats = emptyStats()
  }

  /** The JSON signal (SIGRTMIN+2): /tmp/keepalived.json. */
  dumpJson(): void {
    if (this.config) this.writeDump('keepalived.json', formatJson(this.dumpInput()))
  }

  private writeDump(name: string, text: string): void {
    const r = writeDumpFile(name, text)
    if (!r.ok) this.ctx.log.error(`Unable to write ${r.path}: ${r.error.message}`)
  }

  private dumpInput(): DumpInput {
    const config = this.config!
    const now = nowUs()
    const wall = Date.now()
    const lives = [...this.instances.values()]
    const scriptStates = this.trackers?.scriptStates() ?? new Map()
    return {
      global: config.global,
      instances: lives.map((l) => {
        const state = l.unit.state(l.config.name)
        const at = nextDeadline(state)
        return {
          config: l.config, state, history: l.history, source: l.source, group: l.group, syncGroup: l.unit.group,
          socketKey: l.socketKey, deadlineMs: at === undefined ? undefined : wall + (at - now) / 1000,
        }
      }),
      sockets: this.pool.list().map((s) => ({
        key: s.key, interface: s.spec.link.name, family: s.spec.family, unicast: s.spec.unicast, address: s.spec.unicast ? s.spec.source : s.spec.group,
      })),
      syncGroups: config.vrrp.syncGroups.map((g) => {
        const unit = this.units.find((u) => u.group === g.name)
        const states = (unit?.members ?? []).map((m) => unit!.state(m).state)
        const state = states.length && states.every((s) => s === 'MASTER') ? 'MASTER' : states.includes('FAULT') ? 'FAULT' : states.includes('BACKUP') ? 'BACKUP' : 'INIT'
        return { name: g.name, state, members: g.members, smtpAlert: g.smtpAlert }
      }),
      scripts: config.vrrp.scripts.filter((s) => lives.some((l) => l.config.trackScripts.some((t) => t.name === s.name))).map((s) => ({
        config: s,
        status: this.trackers?.disabledScripts.has(s.name) ? 'disabled' as const : scriptStates.get(s.name) ?? 'init',
        users: lives.flatMap((l) => l.config.trackScripts.filter((t) => t.name === s.name).map((t) => ({ instance: l.config.name, weight: t.weight, reverse: t.reverse }))),
      })),
      interfaces: [...this.links.values()].map((l) => ({ name: l.name, index: l.index, mac: l.mac, up: this.trackers?.interfaces.get(l.name) ?? true })),
    }
  }

  /** Links into the interface table (VMACs stay); the addresses and each link's state, or undefined. */
  /** keepalived's `Assigned address A for interface I`: each VRRP interface's primary IPv4 and link-local IPv6. */
  private logAssignedAddresses(config: Config, addresses: Addresses): void {
    const seen = new Set<string>()
    for (const inst of config.vrrp.instances) {
      const link = inst.interface === undefined ? undefined : this.links.get(inst.interface)
      if (!link || seen.has(link.name)) continue
      seen.add(link.name)
      for (const address of [primaryIpv4(addresses, link.index), linkLocalIpv6(addresses, link.index)]) {
        if (address) this.ctx.log.info(`Assigned address ${address} for interface ${link.name}`)
      }
    }
  }

  private async readInterfaces(): Promise<{ addresses: Addresses; linkStates: [string, boolean][] } | undefined> {
    const links = await listLinks(this.nl!)
    const addresses = await listAddresses(this.nl!)
    if (links instanceof NetError || addresses instanceof NetError) return undefined
    for (const l of links) this.links.set(l.name, { index: l.index, name: l.name, mac: l.mac, noArp: l.noArp })
    return { addresses, linkStates: links.map((l) => [l.name, l.up && l.running]) }
  }

  /** Scripts some instance tracks, track files and processes: started, or (reload) reconfigured. */
  private startTrackers(config: Config, reload: boolean): void {
    const trackers = this.trackers!
    const used = new Set([...this.instances.values()].flatMap((i) => i.trackers.filter((t) => t.kind === 'script').map((t) => t.name)))
    const scripts = config.vrrp.scripts.filter((s) => used.has(s.name))
    if (reload) {
      trackers.reconfigureScripts(scripts)
      trackers.reconfigureFiles(config.vrrp.trackFiles)
    } else {
      trackers.startScripts(scripts)
      trackers.startFiles(config.vrrp.trackFiles)
    }
    trackers.startProcesses(config.vrrp.trackProcesses)
  }

  private setSyncGroups(config: Config): void {
    this.syncGroupScripts.clear()
    for (const g of config.vrrp.syncGroups) this.syncGroupScripts.set(g.name, g)
  }

  /** global_defs a running VRRP process cannot take over on SIGHUP: said, not silently ignored. */
  private warnGlobalChanges(config: Config): void {
    const before = this.global
    const after = config.global
    const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)
    const fixed: [string, unknown, unknown][] = [
      ['lvs_sync_daemon', before.lvsSyncDaemon, after.lvsSyncDaemon],
      ['notify_fifo / vrrp_notify_fifo', [before.notifyFifo, before.vrrpNotifyFifo], [after.notifyFifo, after.vrrpNotifyFifo]],
      ['script_user / enable_script_security', [before.scriptUser, before.enableScriptSecurity], [after.scriptUser, after.enableScriptSecurity]],
      ['vrrp_garp_interval / vrrp_gna_interval', [before.vrrpGarpInterval, before.vrrpGnaInterval], [after.vrrpGarpInterval, after.vrrpGnaInterval]],
      ['smtp settings', [before.smtpServer, before.notificationEmail, before.notificationEmailFrom], [after.smtpServer, after.notificationEmail, after.notificationEmailFrom]],
    ]
    for (const [what, a, b] of fixed) {
      if (!same(a, b)) this.ctx.log.warning(`Reload: a change of ${what} takes effect at the next restart of keepalived-ts`)
    }
  }
}

/** The factory the daemon's subsystem registry uses. */
export function createVrrpRuntime(ctx: SubsystemContext): Subsystem {
  return new VrrpRuntime(ctx)
}
