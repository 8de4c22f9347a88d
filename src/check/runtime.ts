/**
 * The checker subsystem (keepalived's Keepalived_healthcheckers): the one
 * place that owns the IPVS socket, the checkers' timers and the scripts of the
 * LVS side. Checkers (runners.ts) run under the scheduler; their verdicts go to
 * each virtual server's pool (virtual-server.ts), whose lines are logged and
 * whose pool becomes the desired IPVS table, reconciled against what we set
 * (src/ipvs/apply.ts) — so a changed weight is one SET_DEST and an unchanged
 * entry is never touched. At stop our entries, and only ours, are removed
 * (unless -I), and the timeouts we changed are restored.
 *
 * Without IPVS in the kernel the checker side logs keepalived's
 * `IPVS: Can't initialize ipvs` and stays idle; the VRRP side keeps running.
 */
import { performance } from 'node:perf_hooks'
import type { Config } from '../config/config.js'
import type { VirtualServer } from '../config/lvs/model.js'
import { ScriptRunner } from '../daemon/notify.js'
import { NotifyFifo } from '../daemon/notify-fifo.js'
import { SmtpAlerter } from '../daemon/smtp-alert.js'
import { quorumMailBody, smtpConfigured } from '../daemon/smtp-message.js'
import type { Subsystem, SubsystemContext } from '../daemon/subsystem.js'
import { desiredTable, type Owned, ownedOf, rsText, vsText } from '../ipvs/desired.js'
import { KernelTable } from '../ipvs/apply.js'
import {
  type IpvsClient, type IpvsTimeouts, listAddresses, NetError, type NetworkEventWatcher, openIpvs, openRtnetlink, watchNetworkEvents,
} from '../net/index.js'
import { type CheckerStatus, type Clock, CheckScheduler, type Timer } from './scheduler.js'
import { type PoolChange, VirtualServerPool, type VirtualServerStatus } from './virtual-server.js'
import { checkerMailBody, runnersFor } from './runners.js'
import type { CheckerRunner } from './probe.js'

/** One virtual server at run time. */
interface LiveVs {
  readonly config: VirtualServer
  readonly pool: VirtualServerPool
  readonly owned: Owned
  /** Checker ids of this virtual server (ha_suspend suspends them together). */
  readonly checkerIds: readonly string[]
}

const realClock: Clock = {
  now: () => Math.round(performance.now() * 1000),
  setTimer: (delayUs, fn) => setTimeout(fn, Math.max(0, delayUs / 1000)) as unknown as Timer,
  clearTimer: (t) => clearTimeout(t as unknown as NodeJS.Timeout),
}

/** What the runtime reaches the kernel and the clock through; tests pass fakes. */
export interface CheckerRuntimeDeps {
  readonly openIpvs?: () => Promise<IpvsClient | NetError>
  readonly clock?: Clock
  readonly random?: () => number
}

export class CheckerRuntime implements Subsystem {
  private ipvs: IpvsClient | undefined
  private table: KernelTable | undefined
  private scheduler: CheckScheduler | undefined
  private scripts: ScriptRunner | undefined
  private fifo: NotifyFifo | undefined
  private smtp: SmtpAlerter | undefined
  private readonly runners = new Map<string, { runner: CheckerRunner; rsIndex: number }>()
  private watcher: NetworkEventWatcher | undefined
  private config: Config | undefined
  private readonly vss: LiveVs[] = []
  private readonly vsOfChecker = new Map<string, LiveVs>()
  private readonly dirty = new Set<LiveVs>()
  /** IPVS writes, strictly in order. */
  private work: Promise<void> = Promise.resolve()
  private savedTimeouts: IpvsTimeouts | undefined
  private stopping = false

  constructor(private readonly ctx: SubsystemContext, private readonly deps: CheckerRuntimeDeps = {}) {}

  async start(config: Config): Promise<void> {
    const log = this.ctx.log
    this.config = config
    if (config.lvs.virtualServers.length === 0) return
    log.debug('Initializing ipvs')
    const ipvs = await (this.deps.openIpvs ?? openIpvs)()
    if (ipvs instanceof NetError) {
      log.error(`IPVS: Can't initialize ipvs: ${ipvs.message}`)
      log.error('The checker side is disabled: no health check runs and the IPVS table is not programmed (VRRP is not affected)')
      return
    }
    this.ipvs = ipvs
    const g = config.global
    if (g.lvsFlush) {
      const r = await ipvs.flush()
      if (r instanceof NetError) log.error(`IPVS: flush failed: ${r.message}`)
    }
    if (g.lvsTimeouts) await this.setTimeouts(ipvs, g.lvsTimeouts)

    this.table = new KernelTable(ipvs, (line) => log.error(line))
    const dump = await ipvs.services()
    if (dump instanceof NetError) log.error(`IPVS: cannot read the current table: ${dump.message}`)
    else this.table.load(dump)

    const fifo = g.lvsNotifyFifo ?? g.notifyFifo
    if (fifo) this.fifo = NotifyFifo.open(fifo.path, log, fifo === g.lvsNotifyFifo ? 'lvs_' : '')
    if (smtpConfigured(g)) this.smtp = new SmtpAlerter({ global: g, log })
    // Debian's keepalived is built with BFD and says so at every checker start.
    log.info('Activating BFD healthchecker')
    this.scripts = new ScriptRunner({ log, scriptUser: g.scriptUser, enableScriptSecurity: g.enableScriptSecurity })
    this.scheduler = new CheckScheduler({
      clock: this.deps.clock ?? realClock,
      random: this.deps.random ?? Math.random,
      log: (line) => log.info(line),
      onTransition: (id, up) => this.transition(id, up),
      onWeight: (id, weight) => this.changed(id, (vs) => vs.pool.checkerWeight(id, weight)),
    })

    const runnerEnv = { scripts: this.scripts, trackFiles: config.vrrp.trackFiles, log }
    const pending: { vs: LiveVs; runners: ReturnType<typeof runnersFor> }[] = []
    config.lvs.virtualServers.forEach((vs, i) => {
      const realServers = vs.realServers.map((rs, j) => {
        const runners = vs.realServers[j]!.checkers.flatMap((c, k) => runnersFor(c, rs, vs, `${i}/${j}/${k}`, runnerEnv))
        return { config: rs, text: rsText(rs, vs), checkers: runners.map((r) => ({ id: r.id, alpha: r.timing.alpha })), runners }
      })
      const pool = new VirtualServerPool({
        config: vs,
        text: vsText(vs),
        realServers,
        ...(vs.sorryServer ? { sorryServerText: rsText(vs.sorryServer, vs) } : {}),
      })
      const live: LiveVs = {
        config: vs,
        pool,
        owned: ownedOf({ virtualServers: [vs], virtualServerGroups: config.lvs.virtualServerGroups }),
        checkerIds: realServers.flatMap((rs) => rs.runners.map((r) => r.id)),
      }
      this.vss.push(live)
      for (const id of live.checkerIds) this.vsOfChecker.set(id, live)
      realServers.forEach((rs, j) => { for (const r of rs.runners) this.runners.set(r.id, { runner: r, rsIndex: j }) })
      this.report(pool.start(), live, true)
      this.dirty.add(live)
      pending.push({ vs: live, runners: realServers.flatMap((rs) => rs.runners) })
    })
    this.flush()
    await this.work

    const suspended = await this.watchHaSuspend()
    for (const { vs, runners } of pending) {
      for (const r of runners) this.scheduler.add(r, { suspended: suspended.has(vs) })
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    this.watcher?.close()
    this.scheduler?.stop()
    await this.work
    for (const vs of this.vss) this.report(vs.pool.shutdown(), vs)
    const ipvs = this.ipvs
    if (ipvs && this.table && !this.ctx.options.dontReleaseIpvs) {
      if (this.config?.global.lvsFlushOnStop) {
        const r = await ipvs.flush()
        if (r instanceof NetError) this.ctx.log.error(`IPVS: flush failed: ${r.message}`)
      } else {
        for (const vs of this.vss) await this.table.sync([], vs.owned)
      }
    }
    if (ipvs && this.savedTimeouts) {
      const r = await ipvs.setTimeouts(this.savedTimeouts)
      if (r instanceof NetError) this.ctx.log.error('Failed to set ipvs timeouts')
    }
    this.scripts?.killAll()
    this.fifo?.close()
    this.smtp?.close()
    ipvs?.close()
  }

  /** For status and tests: each virtual server's pool and each checker's last result. */
  poolStatus(): { virtualServers: VirtualServerStatus[]; checkers: Map<string, CheckerStatus> } {
    const checkers = new Map<string, CheckerStatus>()
    for (const id of this.vsOfChecker.keys()) {
      const s = this.scheduler?.status(id)
      if (s) checkers.set(id, s)
    }
    return { virtualServers: this.vss.map((v) => v.pool.status()), checkers }
  }

  /** IPVS requests sent so far. */
  get ipvsOperations(): number {
    return this.table?.operations ?? 0
  }

  private async setTimeouts(ipvs: IpvsClient, wanted: NonNullable<Config['global']['lvsTimeouts']>): Promise<void> {
    const old = await ipvs.timeouts()
    if (old instanceof NetError) {
      this.ctx.log.error('Failed to set ipvs timeouts')
      return
    }
    const r = await ipvs.setTimeouts({ tcp: wanted.tcp ?? 0, tcpFin: wanted.tcpfin ?? 0, udp: wanted.udp ?? 0 })
    if (r instanceof NetError) this.ctx.log.error('Failed to set ipvs timeouts')
    else this.savedTimeouts = old
  }

  /** A checker went up or down: the pool first, then keepalived's per-checker mail (smtp_alert on the real server). */
  private transition(id: string, up: boolean): void {
    const vs = this.vsOfChecker.get(id)
    const entry = this.runners.get(id)
    if (!vs || !entry || this.stopping) return
    const aliveBefore = vs.pool.status().realServers[entry.rsIndex]?.alive
    this.changed(id, (v) => v.pool.checkerVerdict(id, up))
    const aliveNow = vs.pool.status().realServers[entry.rsIndex]?.alive ?? up
    const rs = vs.config.realServers[entry.rsIndex]!
    this.smtp?.realServer(entry.runner.target.text, entry.runner.target.vsText, aliveNow, checkerMailBody(entry.runner.kind, up), rs.smtpAlert, aliveBefore !== aliveNow)
  }

  /** A checker's verdict or weight changed: log, run scripts, and push the virtual server's pool. */
  private changed(id: string, step: (vs: LiveVs) => PoolChange): void {
    const vs = this.vsOfChecker.get(id)
    if (!vs || this.stopping) return
    this.report(step(vs), vs)
    this.dirty.add(vs)
    this.flush()
  }

  private report(change: PoolChange, vs?: LiveVs, init = false): void {
    for (const line of change.lines) this.ctx.log.info(line)
    for (const event of change.events) {
      // reference §5.16: `RS [rs] [vs] UP|DOWN`, `VS [vs] UP|DOWN`.
      const state = event.up ? 'UP' : 'DOWN'
      this.fifo?.write(event.kind === 'real-server' ? `RS ${event.rs} ${event.vs} ${state}\n` : `VS ${event.vs} ${state}\n`)
      if (event.kind === 'virtual-server' && vs && this.smtp) {
        const { quorum, hysteresis } = vs.config
        const body = quorumMailBody({
          up: event.up, init, stopping: event.stopping, quorum, hysteresis,
          threshold: event.up ? quorum + hysteresis : quorum - hysteresis, weightSum: vs.pool.status().weightSum,
        })
        this.smtp.virtualServer(event.vs, event.up, body, vs.config.smtpAlert)
      }
      if (!event.script || !this.scripts) continue
      const prepared = this.scripts.prepare(event.script)
      if (prepared) void this.scripts.run(prepared, event.stopping ? { timeoutMs: 1000 } : {})
    }
  }

  /** Reconcile every virtual server marked dirty, in the IPVS work chain (changes coalesce while one runs). */
  private flush(): void {
    this.work = this.work.then(async () => {
      const table = this.table
      if (!table || this.config === undefined) return
      while (this.dirty.size > 0) {
        const batch = [...this.dirty]
        this.dirty.clear()
        for (const vs of batch) {
          const desired = desiredTable({ virtualServers: [vs.config], virtualServerGroups: this.config.lvs.virtualServerGroups }, () => vs.pool.pool())
          await table.sync(desired, vs.owned)
        }
      }
    }).catch((err: unknown) => this.ctx.log.error(`IPVS update failed: ${(err as Error).message}`))
  }

  /**
   * ha_suspend: a virtual server's checkers run only while its address is
   * configured on this machine (it follows VRRP). Returns the virtual servers
   * suspended at start.
   */
  private async watchHaSuspend(): Promise<Set<LiveVs>> {
    const suspended = new Set<LiveVs>()
    const watched = this.vss.filter((v) => v.config.haSuspend && v.config.address !== undefined)
    if (watched.length === 0) return suspended
    const nl = openRtnetlink()
    if (nl instanceof NetError) {
      this.ctx.log.error(`ha_suspend: cannot read addresses: ${nl.message}`)
      return suspended
    }
    const addresses = await listAddresses(nl)
    nl.close()
    const local = new Set(addresses instanceof NetError ? [] : addresses.map((a) => a.address))
    for (const v of watched) if (!local.has(v.config.address!)) suspended.add(v)
    const watcher = watchNetworkEvents((e) => {
      if (e.type !== 'address') return
      const hit = watched.filter((v) => v.config.address === e.address)
      if (hit.length === 0) return
      this.ctx.log.info(`Netlink reflector reports IP ${e.address} ${e.change}`)
      for (const v of hit) {
        if (e.change === 'added') this.scheduler?.resume(v.checkerIds)
        else this.scheduler?.suspend(v.checkerIds)
      }
    }, (err) => this.ctx.log.error(`Netlink: ${err.message}`))
    if (watcher instanceof NetError) this.ctx.log.error(`ha_suspend: cannot watch addresses: ${watcher.message}`)
    else this.watcher = watcher
    return suspended
  }
}

export function createCheckerRuntime(ctx: SubsystemContext): Subsystem {
  return new CheckerRuntime(ctx)
}
