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
 * A reload (reload.ts) keeps what did not change — kernel entries, health,
 * running checkers — and reconciles once against the old and new
 * configurations' entries together. A respawn (start with `respawn`) seeds
 * each real server from the kernel table (adopt.ts), so a correct table is
 * not touched. status() and dumpData() (status.ts) show the pools, checkers,
 * counters and what the kernel holds.
 *
 * Without IPVS in the kernel the checker side logs keepalived's
 * `IPVS: Can't initialize ipvs` and stays idle; the VRRP side keeps running.
 */
import { performance } from 'node:perf_hooks'
import type { Config } from '../config/config.js'
import type { VirtualServer } from '../config/lvs/model.js'
import type { Subsystem, SubsystemContext, StartHints } from '../daemon/subsystem.js'
import { desiredTable, mergeOwned } from '../ipvs/desired.js'
import { KernelTable } from '../ipvs/apply.js'
import {
  type IpvsClient, listAddresses, NetError, type NetworkEventWatcher, openIpvs, openRtnetlink, watchNetworkEvents,
} from '../net/index.js'
import type { CheckersStatus } from '../status/types.js'
import { adoptRealServers } from './adopt.js'
import { CheckerGlobals } from './globals.js'
import { assemble, type BuildEnv, freshRealServer, type LiveVs, runnersOf, type ToSchedule } from './live.js'
import { virtualServerKeys } from './match.js'
import { CheckerMetrics } from './metrics.js'
import type { CheckerRunner } from './probe.js'
import { planReload } from './reload.js'
import { CoalescingClock } from './coalescing-clock.js'
import { type Clock, CheckScheduler, type Timer } from './scheduler.js'
import { checkersStatus, dataFilePath, dumpText, type StatusSources, writeDataFile } from './status.js'
import type { PoolChange } from './virtual-server.js'
import { checkerMailBody } from './runners.js'

const nodeClock: Clock = {
  now: () => Math.round(performance.now() * 1000),
  setTimer: (delayUs, fn) => setTimeout(fn, Math.max(0, delayUs / 1000)) as unknown as Timer,
  clearTimer: (t) => clearTimeout(t as unknown as NodeJS.Timeout),
}
/** The checkers' timers fire in 10 ms ticks (coalescing-clock.ts): one Node timer per tick, not two per attempt. */
const CLOCK_TICK_US = 10_000

/** What the runtime reaches the kernel and the clock through; tests pass fakes. */
export interface CheckerRuntimeDeps {
  readonly openIpvs?: () => Promise<IpvsClient | NetError>
  readonly clock?: Clock
  readonly random?: () => number
  /** Where SIGUSR1 writes (default /tmp/keepalived_check.data, or in an absolute $TMPDIR). */
  readonly dataFile?: string
  /** ha_suspend's view of local addresses; default: rtnetlink. */
  readonly addresses?: () => Promise<readonly string[] | NetError>
}

export class CheckerRuntime implements Subsystem {
  private ipvs: IpvsClient | undefined
  private table: KernelTable | undefined
  private scheduler: CheckScheduler | undefined
  private globals: CheckerGlobals | undefined
  private watcher: NetworkEventWatcher | undefined
  /** Local addresses while ha_suspend is watched. */
  private local: Set<string> | undefined
  private config: Config | undefined
  private vss: LiveVs[] = []
  private readonly runners = new Map<string, { runner: CheckerRunner; rsIndex: number; vs: LiveVs }>()
  private readonly dirty = new Set<LiveVs>()
  /** IPVS writes and reloads, strictly in order. */
  private work: Promise<void> = Promise.resolve()
  private ipvsState: 'idle' | 'failed' | 'ready' = 'idle'
  private nextChecker = 0
  private readonly metrics = new CheckerMetrics()
  private stopping = false

  constructor(private readonly ctx: SubsystemContext, private readonly deps: CheckerRuntimeDeps = {}) {}

  async start(config: Config, hints?: StartHints): Promise<void> {
    const log = this.ctx.log
    this.config = config
    if (config.lvs.virtualServers.length === 0) return
    log.debug('Initializing ipvs')
    const ipvs = await (this.deps.openIpvs ?? openIpvs)()
    if (ipvs instanceof NetError) {
      this.ipvsState = 'failed'
      log.error(`IPVS: Can't initialize ipvs: ${ipvs.message}`)
      log.error('The checker side is disabled: no health check runs and the IPVS table is not programmed (VRRP is not affected)')
      return
    }
    this.ipvs = ipvs
    this.ipvsState = 'ready'
    const respawn = hints?.respawn ?? false
    // A respawned process takes the table as it is: no flush.
    if (config.global.lvsFlush && !respawn) {
      const r = await ipvs.flush()
      if (r instanceof NetError) log.error(`IPVS: flush failed: ${r.message}`)
    }
    this.globals = new CheckerGlobals(ipvs, log)
    await this.globals.apply(undefined, config.global)

    this.table = new KernelTable(ipvs, (line) => log.error(line))
    const dump = await ipvs.services()
    if (dump instanceof NetError) log.error(`IPVS: cannot read the current table: ${dump.message}`)
    else this.table.load(dump)

    // Debian's keepalived is built with BFD and says so at every checker start.
    log.info('Activating BFD healthchecker')
    this.scheduler = new CheckScheduler({
      clock: this.deps.clock ?? new CoalescingClock(nodeClock, CLOCK_TICK_US, (err) => log.error(`Checker timer failed: ${(err as Error).message}`)),
      random: this.deps.random ?? Math.random,
      log: (line) => log.info(line),
      onTransition: (id, up) => this.transition(id, up),
      onWeight: (id, weight) => this.changed(id, (vs) => vs.pool.checkerWeight(id, weight)),
      onResult: (id, outcome) => this.metrics.record(id, this.runners.get(id)?.runner.kind ?? 'UNKNOWN', outcome),
    })

    const env = this.buildEnv(config)
    const keys = virtualServerKeys(config.lvs.virtualServers, config.lvs.virtualServerGroups)
    const pending: ToSchedule[] = []
    const table = this.table
    config.lvs.virtualServers.forEach((vs, i) => {
      const planned = respawn
        ? adoptRealServers(vs, config.lvs.virtualServerGroups, table, env)
        : vs.realServers.map((rs) => freshRealServer(rs, vs, env))
      const { live, toSchedule } = assemble(vs, keys[i]!, planned, env)
      this.vss.push(live)
      this.index(live)
      this.report(live.pool.start(), live, true)
      this.dirty.add(live)
      pending.push(...toSchedule)
    })
    this.flush()
    await this.work
    await this.watchHaSuspend()
    this.schedule(pending)
  }

  /**
   * SIGHUP with a configuration that loaded: apply only the difference
   * (reference §6.3). Runs in the IPVS work chain, so it never interleaves
   * with a checker's kernel update.
   */
  async reload(config: Config): Promise<void> {
    if (this.stopping) return
    if (this.ipvsState === 'idle') {
      // Nothing was configured at start: this is the first start of the checker side.
      this.config = config
      if (config.lvs.virtualServers.length > 0) await this.start(config)
      return
    }
    if (this.ipvsState === 'failed') {
      this.config = config
      this.ctx.log.error('IPVS is not available: the new virtual servers are not programmed')
      return
    }
    const run = this.work.then(() => this.applyReload(config))
    // The chain goes on whatever happens; the caller (the process shell) reports a failure.
    this.work = run.catch(() => {})
    await run
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
    await this.globals?.close()
    ipvs?.close()
  }

  status(): CheckersStatus {
    return checkersStatus(this.statusSources())
  }

  /** SIGUSR1: keepalived's /tmp/keepalived_check.data. */
  dumpData(): void {
    const path = this.deps.dataFile ?? dataFilePath()
    const err = writeDataFile(path, dumpText(this.statusSources()))
    if (err) this.ctx.log.error(`Unable to write ${path}: ${err.message}`)
  }

  /** IPVS requests sent so far. */
  get ipvsOperations(): number {
    return this.table?.operations ?? 0
  }

  private statusSources(): StatusSources {
    return {
      ipvsAvailable: this.ipvsState === 'ready',
      virtualServers: this.vss,
      groups: this.config?.lvs.virtualServerGroups ?? [],
      kernel: this.table,
      suspended: (id) => this.scheduler?.status(id)?.suspended ?? false,
      metrics: this.metrics,
      ipvsOperations: this.table?.operations ?? 0,
      ipvsErrors: this.table?.errors ?? 0,
    }
  }

  private buildEnv(config: Config): BuildEnv {
    const g = config.global
    return {
      runnerEnv: { scripts: this.globals!.scripts, trackFiles: config.vrrp.trackFiles, log: this.ctx.log },
      trackFiles: config.vrrp.trackFiles,
      scriptSecurity: { user: g.scriptUser, secure: g.enableScriptSecurity },
      groups: config.lvs.virtualServerGroups,
      nextId: () => `c${this.nextChecker++}`,
    }
  }

  private async applyReload(config: Config): Promise<void> {
    const previous = this.config!
    const table = this.table!
    await this.globals!.apply(previous.global, config.global)
    const plan = planReload({
      previous: this.vss,
      previousGroups: previous.lvs.virtualServerGroups,
      lvs: config.lvs,
      env: this.buildEnv(config),
      stateOf: (id) => this.scheduler?.status(id)?.state,
    })
    for (const id of plan.stop) {
      this.scheduler?.remove(id)
      this.metrics.forget(id)
    }
    for (const r of plan.reports) this.report(r.change, r.vs, r.init)
    const previousOwned = this.vss.map((v) => v.owned)
    this.vss = [...plan.virtualServers]
    this.config = config
    this.runners.clear()
    this.dirty.clear()
    for (const vs of this.vss) this.index(vs)
    // One reconcile: what the old configuration owned and the new one dropped goes, the rest is compared.
    const byConfig = new Map<VirtualServer, LiveVs>(this.vss.map((v) => [v.config, v]))
    const desired = desiredTable(config.lvs, (vs) => byConfig.get(vs)?.pool.pool())
    await table.sync(desired, mergeOwned(...previousOwned, ...this.vss.map((v) => v.owned)))
    await this.watchHaSuspend()
    this.schedule(plan.toSchedule)
  }

  private index(vs: LiveVs): void {
    for (const { runner, rsIndex } of runnersOf(vs)) this.runners.set(runner.id, { runner, rsIndex, vs })
  }

  private schedule(list: readonly ToSchedule[]): void {
    for (const t of list) this.scheduler?.add(t.runner, { suspended: this.suspendedNow(t.vs), ...(t.state ? { state: t.state } : {}) })
  }

  /** A checker went up or down: the pool first, then keepalived's per-checker mail (smtp_alert on the real server). */
  private transition(id: string, up: boolean): void {
    const entry = this.runners.get(id)
    if (!entry || this.stopping) return
    const { vs, rsIndex, runner } = entry
    const aliveBefore = vs.pool.isAlive(rsIndex)
    this.changed(id, (v) => v.pool.checkerVerdict(id, up))
    const aliveNow = vs.pool.isAlive(rsIndex) ?? up
    const rs = vs.config.realServers[rsIndex]!
    this.globals?.smtp?.realServer(runner.target.text, runner.target.vsText, aliveNow, checkerMailBody(runner.kind, up), rs.smtpAlert, aliveBefore !== aliveNow)
  }

  /** A checker's verdict or weight came: log, run scripts, and push the virtual server's pool if that changed it. */
  private changed(id: string, step: (vs: LiveVs) => PoolChange): void {
    const vs = this.runners.get(id)?.vs
    if (!vs || this.stopping) return
    const revision = vs.pool.revision
    this.report(step(vs), vs)
    if (vs.pool.revision === revision) return
    this.dirty.add(vs)
    this.flush()
  }

  private report(change: PoolChange, vs: LiveVs, init = false): void {
    for (const line of change.lines) this.ctx.log.info(line)
    this.globals?.notify(change, vs.config, () => vs.pool.status().weightSum, init)
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

  private suspendedNow(vs: LiveVs): boolean {
    const address = vs.config.address
    return vs.config.haSuspend && address !== undefined && this.local !== undefined && !this.local.has(address)
  }

  /**
   * ha_suspend: a virtual server's checkers run only while its address is
   * configured on this machine (it follows VRRP). The local addresses are
   * read once, then kept current from netlink events.
   */
  private async watchHaSuspend(): Promise<void> {
    if (this.local !== undefined || !this.vss.some((v) => v.config.haSuspend && v.config.address !== undefined)) return
    const addresses = await (this.deps.addresses ?? localAddresses)()
    if (addresses instanceof NetError) {
      this.ctx.log.error(`ha_suspend: cannot read addresses: ${addresses.message}`)
      return
    }
    this.local = new Set(addresses)
    if (this.deps.addresses) return
    const watcher = watchNetworkEvents((e) => {
      if (e.type !== 'address') return
      if (e.change === 'added') this.local?.add(e.address)
      else this.local?.delete(e.address)
      const hit = this.vss.filter((v) => v.config.haSuspend && v.config.address === e.address)
      if (hit.length === 0) return
      this.ctx.log.info(`Netlink reflector reports IP ${e.address} ${e.change}`)
      for (const v of hit) {
        if (e.change === 'added') this.scheduler?.resume(v.checkerIds)
        else this.scheduler?.suspend(v.checkerIds)
      }
    }, (err) => this.ctx.log.error(`Netlink: ${err.message}`))
    if (watcher instanceof NetError) this.ctx.log.error(`ha_suspend: cannot watch addresses: ${watcher.message}`)
    else this.watcher = watcher
  }
}

async function localAddresses(): Promise<readonly string[] | NetError> {
  const nl = openRtnetlink()
  if (nl instanceof NetError) return nl
  const addresses = await listAddresses(nl)
  nl.close()
  return addresses instanceof NetError ? addresses : addresses.map((a) => a.address)
}

export function createCheckerRuntime(ctx: SubsystemContext): Subsystem {
  return new CheckerRuntime(ctx)
}
