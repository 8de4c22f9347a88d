/**
 * One child process: keepalived's `Keepalived_vrrp` or
 * `Keepalived_healthcheckers` (reference §3.4). It waits for the parent's
 * configuration snapshot, writes its pid file, runs its Subsystem, answers the
 * parent's reload, dump and status requests, reports every VRRP state change,
 * and stops on SIGTERM (or when the parent is gone) with keepalived's
 * `Stopped - used …` line. SIGINT and SIGHUP are the parent's business: a
 * terminal's Ctrl-C reaches the whole process group, and the parent decides.
 */
import { type CpuTimes, cpuTimes, seconds } from './banner.js'
import { snapshotConfig, type ConfigSnapshot } from './config-snapshot.js'
import { asParentMessage, type ChildMessage, type DumpKind } from './ipc.js'
import { PidFileError, removePidFile, writePidFile } from './pidfile.js'
import type { DaemonSignal, SignalSource } from './signals.js'
import { EXIT, ROLE_NAMES, type StartHints, type Subsystem, type SubsystemOptions, type SubsystemRegistry, type SubsystemRole } from './subsystem.js'
import type { Logger, Logging } from '../log/logger.js'
import type { CheckersStatus, VrrpStatus } from '../status/types.js'

/** The child's end of the IPC channel; process.send / process.on('message') in production. */
export interface ParentChannel {
  send(msg: ChildMessage): void
  onMessage(listener: (msg: unknown) => void): void
  onDisconnect(listener: () => void): void
  /** Stop listening, so that nothing keeps the process alive. */
  close(): void
}

export interface ChildDeps {
  readonly role: SubsystemRole
  readonly logging: Logging
  readonly subsystems: SubsystemRegistry
  readonly channel: ParentChannel
  readonly signals: SignalSource
  readonly options: SubsystemOptions
  readonly pidFile: string
  readonly pid?: number
  /** Bound on Subsystem.stop (the parent kills us after child_wait_time anyway). */
  readonly stopTimeoutMs?: number
  readonly cpu?: () => CpuTimes
  /** Hold the event loop open while waiting for work (default true; in-process tests need not). */
  readonly keepAlive?: boolean
}

const DEFAULT_STOP_TIMEOUT_MS = 5000

/** keepalived's `Printing … for process(%d) on signal` lines, per dump and role. */
const DUMP_LINES: Readonly<Record<DumpKind, Partial<Record<SubsystemRole, string>>>> = {
  data: { vrrp: 'Printing VRRP data', checkers: 'Printing checker data' },
  stats: { vrrp: 'Printing VRRP stats' },
  'stats-clear': { vrrp: 'Printing and clearing VRRP stats' },
  json: { vrrp: 'Printing VRRP as json' },
}

/** The child's `Stopped - used …` line; keepalived adds `(self/children)` once scripts have run. */
export function childStoppedLine(t: CpuTimes): string {
  if (t.childrenUser === 0 && t.childrenSystem === 0) {
    return `Stopped - used ${seconds(t.selfUser)} user time, ${seconds(t.selfSystem)} system time`
  }
  return `Stopped - used (self/children) ${seconds(t.selfUser)}/${seconds(t.childrenUser)} user time, ${seconds(t.selfSystem)}/${seconds(t.childrenSystem)} system time`
}

/** Run the child until it stops; resolves with its exit code (keepalived's daemon codes). */
export function runChild(deps: ChildDeps): Promise<number> {
  return new ChildProcessShell(deps).run()
}

class ChildProcessShell {
  private readonly log: Logger
  private readonly pid: number
  private subsystem: Subsystem | undefined
  private pidFileWritten = false
  private started = false
  private stopping = false
  /** Start and reloads, strictly in order. */
  private work: Promise<void> = Promise.resolve()
  private resolveDone: (code: number) => void = () => {}
  private readonly handlers: [DaemonSignal, () => void][]

  constructor(private readonly deps: ChildDeps) {
    this.log = deps.logging.logger(deps.role)
    this.pid = deps.pid ?? process.pid
    this.handlers = [
      ['SIGTERM', () => void this.stop(EXIT.OK)],
      ['SIGINT', () => {}],
      ['SIGHUP', () => {}],
      ['SIGUSR1', () => this.dump('data')],
      ['SIGUSR2', () => this.dump('stats')],
      ['SIGRTMIN+2', () => this.dump('json')],
      ['SIGRTMAX-1', () => this.dump('stats-clear')],
    ]
  }

  run(): Promise<number> {
    const done = new Promise<number>((resolve) => {
      this.resolveDone = resolve
    })
    for (const [sig, handler] of this.handlers) this.deps.signals.on(sig, handler)
    this.deps.channel.onMessage((raw) => this.message(raw))
    this.deps.channel.onDisconnect(() => {
      if (this.stopping) return
      this.log.info('The parent process has gone: stopping')
      void this.stop(EXIT.OK)
    })
    // Signal and IPC listeners may not keep the loop alive on their own; a child waiting for work must stay.
    const keepAlive = this.deps.keepAlive === false ? undefined : setInterval(() => {}, 1 << 30)
    return done.finally(() => clearInterval(keepAlive))
  }

  private message(raw: unknown): void {
    const msg = asParentMessage(raw)
    if (!msg || this.stopping) return
    switch (msg.type) {
      case 'start':
        this.work = this.work.then(() => this.start(msg.snapshot, msg.hints))
        return
      case 'reload':
        this.work = this.work.then(() => this.reload(msg.id, msg.snapshot))
        return
      case 'dump':
        this.dump(msg.kind)
        return
      case 'status':
        this.send({ type: 'status', id: msg.id, status: this.status() })
        return
    }
  }

  private send(msg: ChildMessage): void {
    try {
      this.deps.channel.send(msg)
    } catch {
      // The parent is gone; 'disconnect' stops us.
    }
  }

  private async start(snapshot: ConfigSnapshot, hints: StartHints): Promise<void> {
    if (this.subsystem || this.stopping) return
    const { role } = this.deps
    let config
    try {
      config = snapshotConfig(snapshot)
    } catch (err) {
      this.log.error(`Unable to read the configuration from the parent: ${(err as Error).message}`)
      return this.stop(EXIT.FATAL, true)
    }
    try {
      writePidFile(this.deps.pidFile, this.pid)
      this.pidFileWritten = true
    } catch (err) {
      if (!(err instanceof PidFileError)) throw err
      this.log.error(`${ROLE_NAMES[role]} child process: cannot write pidfile (${err.message})`)
      return this.stop(EXIT.FATAL, true)
    }
    const factory = this.deps.subsystems[role]
    if (!factory) {
      this.log.error(`${ROLE_NAMES[role]} subsystem is not available in this version of keepalived-ts; refusing to run a configuration that needs it`)
      return this.stop(EXIT.FATAL, true)
    }
    const subsystem = factory({
      role,
      log: this.log,
      options: this.deps.options,
      requestStop: (code) => void this.stop(code),
    })
    this.subsystem = subsystem
    subsystem.onStateChange?.((instance, state) => this.send({ type: 'state', instance, state }))
    try {
      await subsystem.start(config, hints)
    } catch (err) {
      this.log.error(`${ROLE_NAMES[role]} subsystem failed to start: ${(err as Error).message}`)
      return this.stop(EXIT.FATAL, true)
    }
    if (this.stopping) return
    this.started = true
    this.send({ type: 'started' })
  }

  private async reload(id: number, snapshot: ConfigSnapshot): Promise<void> {
    if (this.stopping) return
    this.log.info('Reloading')
    const subsystem = this.subsystem
    let ok = false
    if (!subsystem || !this.started) {
      this.log.warning('Reload requested before the subsystem started; the configuration it started with is kept')
    } else if (!subsystem.reload) {
      this.log.warning('Reload is not supported by this subsystem yet; the running configuration is kept')
    } else {
      try {
        await subsystem.reload(snapshotConfig(snapshot))
        ok = true
      } catch (err) {
        this.log.error(`Reload failed: ${(err as Error).message}`)
      }
    }
    this.send({ type: 'reloaded', id, ok })
  }

  private dump(kind: DumpKind): void {
    const subsystem = this.subsystem
    if (!subsystem || this.stopping) return
    const line = DUMP_LINES[kind][this.deps.role]
    // keepalived's checker child ignores the statistics and JSON signals.
    if (line === undefined) return
    const run = kind === 'data' ? subsystem.dumpData : kind === 'json' ? subsystem.dumpJson : subsystem.dumpStats
    if (!run) {
      this.log.info(`${line}: not available in this version of keepalived-ts`)
      return
    }
    this.log.info(`${line} for process(${this.pid}) on signal`)
    try {
      if (kind === 'stats-clear') subsystem.dumpStats?.(true)
      else run.call(subsystem)
    } catch (err) {
      this.log.error(`${line} failed: ${(err as Error).message}`)
    }
  }

  private status(): VrrpStatus | CheckersStatus | null {
    if (!this.started) return null
    try {
      return this.subsystem?.status?.() ?? null
    } catch (err) {
      this.log.error(`Status failed: ${(err as Error).message}`)
      return null
    }
  }

  /** `fromWork`: called by start itself, which must not wait for itself. */
  private async stop(code: number, fromWork = false): Promise<void> {
    if (this.stopping) return
    // The handlers stay (doing nothing now) until the end: a second SIGTERM must not kill us halfway.
    this.stopping = true
    const timeoutMs = this.deps.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS
    // A start or reload in flight finishes first: stopping a half-started subsystem races its own setup.
    if (!fromWork) await within(this.work, timeoutMs)
    const subsystem = this.subsystem
    if (subsystem) {
      const outcome = await within(Promise.resolve().then(() => subsystem.stop()), timeoutMs)
      if (outcome === 'timeout') this.log.error('The subsystem did not stop in time')
      else if (outcome instanceof Error) this.log.error(`Error while stopping: ${outcome.message}`)
    }
    if (this.pidFileWritten) removePidFile(this.deps.pidFile, this.pid)
    this.log.info(childStoppedLine((this.deps.cpu ?? cpuTimes)()))
    for (const [sig, handler] of this.handlers) this.deps.signals.off(sig, handler)
    this.deps.channel.close()
    this.resolveDone(code)
  }
}

async function within(p: Promise<void>, ms: number): Promise<'ok' | 'timeout' | Error> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms)
  })
  try {
    return await Promise.race([p.then(() => 'ok' as const), timeout])
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err))
  } finally {
    clearTimeout(timer)
  }
}
