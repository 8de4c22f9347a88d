/**
 * keepalived's parent process, `Keepalived` (reference §3.4–3.5): the start-up
 * lines, the configuration load (recorded, so children get the same text),
 * pid files, one child per configured subsystem (src/daemon/supervisor.ts),
 * signals — SIGTERM/SIGINT stop, SIGHUP reloads after validating the new file
 * (a file with errors is logged and the running configuration kept), SIGUSR1,
 * SIGUSR2, SIGRTMIN+2 (JSON) and SIGRTMAX-1 (STATS_CLEAR) go to the children —
 * the status endpoints, and the orderly stop with keepalived's lines and
 * exit codes. Whether it detached first is the command line's business.
 */
import type { Config } from '../config/config.js'
import { type Diagnostic, formatDiagnostic, sortDiagnostics } from '../config/diagnostics.js'
import { commandLineLines } from '../log/format.js'
import type { Logger, Logging } from '../log/logger.js'
import type { CheckersStatus, DaemonStatus, VrrpStatus } from '../status/types.js'
import { cpuTimes, cpuUsageLine, runningOnLine } from './banner.js'
import type { SnapshotLoad } from './config-snapshot.js'
import { type EndpointStarter, Endpoints, metricsAddressText, statusServers } from './endpoints.js'
import type { DumpKind } from './ipc.js'
import { writeParentData } from './parent-data.js'
import { discardPidFile, PidFileError, pidFileState, removePidFile, writePidFile } from './pidfile.js'
import type { DaemonSignal, SignalSource } from './signals.js'
import { EXIT, ROLE_NAMES, type SubsystemRole } from './subsystem.js'
import { type ChildSpawner, Supervisor } from './supervisor.js'
import { VERSION } from './version.js'

export type { SignalSource }

export interface ForegroundOptions {
  /** The whole command line, program first, for `Command line: …`. */
  readonly argv: readonly string[]
  readonly configFile: string
  readonly pidFile: string
  readonly vrrpPidFile: string
  readonly checkersPidFile: string
  /** `-P`, `-C`, `--all`. */
  readonly vrrpOnly: boolean
  readonly checkOnly: boolean
  readonly all: boolean
  /** `-R`. */
  readonly dontRespawn: boolean
  /** `-u`, already parsed. */
  readonly umask: number | undefined
  /** `--control-socket`; undefined with `none`. */
  readonly controlSocket: string | undefined
  /** `--metrics`; wins over `metrics_address`. */
  readonly metrics: string | undefined
  /** Lines for the flags accepted but not acted on. */
  readonly notices?: readonly string[]
}

export interface ForegroundDeps {
  readonly logging: Logging
  /** Starts a child process for a role (a fork of dist/cli/main.js in production). */
  readonly spawn: ChildSpawner
  /** Reads and checks the configuration, recording what children need to see the same. */
  readonly load: (path: string) => SnapshotLoad
  readonly signals: SignalSource
  readonly pid?: number
  /** keepalived's child_wait_time, 5 s. */
  readonly stopTimeoutMs?: number
  /** One respawn-delay second (tests shorten it). */
  readonly secondMs?: number
  readonly endpoints?: EndpointStarter
  /** Called once the parent's pid file is written (the detaching command line waits for it). */
  readonly onReady?: () => void
  readonly now?: () => Date
}

const HANDLED: readonly DaemonSignal[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGRTMIN+2', 'SIGRTMAX-1']

/** keepalived starts the checker child first, then VRRP. */
const START_ORDER: readonly SubsystemRole[] = ['checkers', 'vrrp']

/** The roles a configuration asks for, after `-P` / `-C` / `--all`. */
export function wantedRoles(config: Config, opts: Pick<ForegroundOptions, 'vrrpOnly' | 'checkOnly' | 'all'>): SubsystemRole[] {
  const roles: SubsystemRole[] = []
  if (!opts.vrrpOnly && (opts.all || config.lvs.virtualServers.length > 0)) roles.push('checkers')
  if (!opts.checkOnly && (opts.all || config.vrrp.instances.length > 0)) roles.push('vrrp')
  return roles
}

/** Run the parent until it stops; resolves with its exit code. */
export async function runForeground(opts: ForegroundOptions, deps: ForegroundDeps): Promise<number> {
  const log = deps.logging.logger('parent')
  const pid = deps.pid ?? process.pid
  const now = deps.now ?? (() => new Date())
  log.info(`Starting ${VERSION}`)
  log.info(runningOnLine())
  for (const line of commandLineLines(opts.argv)) log.info(line)
  for (const line of opts.notices ?? []) log.warning(line)
  if (opts.umask !== undefined) process.umask(opts.umask)

  const loaded = deps.load(opts.configFile)
  const diagnostics = sortDiagnostics(loaded.result.diagnostics.list)
  if (diagnostics.some((d) => d.code === 'KA_CONF_NO_FILE')) {
    logDiagnostics(log, diagnostics)
    log.info(`Stopped ${VERSION}`)
    return EXIT.NO_CONFIG
  }
  let config = loaded.result.config
  let snapshot = loaded.snapshot
  for (const file of config.files) log.detail(`Opening file '${file}'.`)
  log.info(`Configuration file ${opts.configFile}`)
  logDiagnostics(log, diagnostics)

  const roles = wantedRoles(config, opts)
  const childPidFile = (r: SubsystemRole): string => (r === 'vrrp' ? opts.vrrpPidFile : opts.checkersPidFile)
  for (const path of [opts.pidFile, ...roles.map(childPidFile)]) {
    const state = pidFileState(path, pid)
    if (state.kind === 'running') {
      log.info('daemon is already running')
      return EXIT.OK
    }
    if (state.kind === 'stale') {
      log.info(`Remove a zombie pid file ${path}`)
      discardPidFile(path)
    }
  }
  if (roles.includes('vrrp') && diagnostics.some((d) => d.host && d.code === 'KA_CONF_NO_INTERFACE')) {
    // keepalived's VRRP child exits CONFIG here and takes the daemon down with it.
    log.info('Non-existent interface specified in configuration')
    log.info(`Stopped ${VERSION}`)
    return EXIT.CONFIG
  }
  try {
    writePidFile(opts.pidFile, pid)
  } catch (err) {
    if (!(err instanceof PidFileError)) throw err
    log.error(err.message)
    log.info(`Stopped ${VERSION}`)
    return EXIT.FATAL
  }
  const startedAt = now()
  let reloadedAt: Date | undefined
  let stopRequest: { code: number; announce: boolean } | undefined
  let wakeStop: () => void = () => {}
  const stopWanted = new Promise<void>((r) => { wakeStop = r })
  const requestStop = (code: number, announce: boolean): void => {
    if (stopRequest) return
    stopRequest = { code, announce }
    wakeStop()
  }

  const supervisor = new Supervisor({
    spawn: deps.spawn,
    log,
    dontRespawn: opts.dontRespawn,
    snapshot: () => snapshot,
    // keepalived terminates without its `Stopping` line after a permanent error.
    onPermanentError: (code) => requestStop(code, false),
    // With -R, keepalived raises SIGTERM on itself: the ordinary stop.
    onDiedNoRespawn: () => requestStop(EXIT.OK, true),
    ...(deps.stopTimeoutMs !== undefined ? { stopTimeoutMs: deps.stopTimeoutMs } : {}),
    ...(deps.secondMs !== undefined ? { secondMs: deps.secondMs } : {}),
  })
  const status = async (): Promise<DaemonStatus> => {
    const [vrrp, checkers] = await Promise.all([supervisor.status('vrrp'), supervisor.status('checkers')])
    return {
      version: VERSION, pid, startedAt: startedAt.toISOString(), configFile: opts.configFile,
      reloadedAt: reloadedAt?.toISOString(), processes: supervisor.processes(),
      vrrp: vrrp as VrrpStatus | undefined, checkers: checkers as CheckersStatus | undefined,
    }
  }
  const endpoints = new Endpoints(deps.endpoints ?? statusServers, status, log)
  const metricsFor = (c: Config): string | undefined => opts.metrics ?? metricsAddressText(c.global.metricsAddress)

  const reload = serialized(async () => {
    if (stopRequest) return
    log.info('Reloading ...')
    const next = deps.load(opts.configFile)
    const list = sortDiagnostics(next.result.diagnostics.list)
    for (const file of next.result.config.files) log.detail(`Opening file '${file}'.`)
    logDiagnostics(log, list)
    const errors = list.filter((d) => d.severity === 'error').length
    if (errors > 0) {
      log.error(`Reload aborted: the new configuration has ${errors} error(s); the running configuration is kept`)
      return
    }
    log.info(`Configuration file ${opts.configFile}`)
    config = next.result.config
    snapshot = next.snapshot
    const before = supervisor.roles()
    const after = wantedRoles(config, opts)
    for (const role of before.filter((r) => !after.includes(r))) {
      log.info(`The new configuration has nothing for the ${ROLE_NAMES[role]} child process: stopping it`)
      await supervisor.stopRole(role)
    }
    await supervisor.reload()
    for (const role of START_ORDER.filter((r) => after.includes(r) && !before.includes(r))) {
      log.info(`The new configuration needs a ${ROLE_NAMES[role]} child process: starting it`)
      void supervisor.start(role)
    }
    await endpoints.setMetrics(metricsFor(config))
    reloadedAt = now()
    log.info('Reload complete')
  }, (err) => log.error(`Reload failed: ${(err as Error).message}`))

  const dump = (kind: DumpKind): void => {
    if (stopRequest) return
    if (kind === 'data') {
      log.info(`Printing parent data for process(${pid}) on signal`)
      const written = writeParentData({ pid, startedAt, configFile: opts.configFile, reloadedAt, processes: supervisor.processes(), config })
      if (written instanceof Error) log.error(`Unable to write the parent data file: ${written.message}`)
    }
    supervisor.dump(kind)
  }
  // A SIGHUP during start-up waits for it: a reload must not start a child the start-up is still starting.
  let startupDone: () => void = () => {}
  const startedUp = new Promise<void>((r) => { startupDone = r })
  const handlers = new Map<DaemonSignal, () => void>([
    ['SIGTERM', () => requestStop(EXIT.OK, true)],
    ['SIGINT', () => requestStop(EXIT.OK, true)],
    ['SIGHUP', () => void startedUp.then(() => reload())],
    ['SIGUSR1', () => dump('data')],
    ['SIGUSR2', () => dump('stats')],
    ['SIGRTMIN+2', () => dump('json')],
    ['SIGRTMAX-1', () => dump('stats-clear')],
  ])
  for (const sig of HANDLED) deps.signals.on(sig, handlers.get(sig)!)
  // Signal listeners do not keep Node's loop alive; a daemon waiting for them must stay.
  const keepAlive = setInterval(() => {}, 1 << 30)

  await endpoints.start(opts.controlSocket, metricsFor(config))
  if (roles.length === 0) log.info('Warning - keepalived has no configuration to run')
  const starts = START_ORDER.filter((r) => roles.includes(r)).map((r) => supervisor.start(r))
  const allStarted = Promise.all(starts).then((oks) => oks.every(Boolean))
  if (await Promise.race([allStarted, stopWanted.then(() => false)])) log.info('Startup complete')
  startupDone()
  // Detached (no -n): the starting process returns now, with the children up (systemd's Type=forking start).
  if (!stopRequest) deps.onReady?.()

  await stopWanted
  // The handlers stay (doing nothing now) until the end: a second SIGTERM must not kill the parent halfway.
  // A reload in flight finishes first (bounded): children are not stopped halfway through one.
  await Promise.race([reload.idle(), new Promise((r) => setTimeout(r, deps.stopTimeoutMs ?? 5000).unref())])
  const request = stopRequest ?? { code: EXIT.OK, announce: true }
  if (request.announce) log.info('Stopping')
  const hadChildren = supervisor.processes().length > 0
  await supervisor.stopAll()
  await endpoints.close()
  clearInterval(keepAlive)
  if (hadChildren) log.info(cpuUsageLine(cpuTimes()))
  removePidFile(opts.pidFile, pid)
  for (const sig of HANDLED) deps.signals.off(sig, handlers.get(sig)!)
  log.info(`Stopped ${VERSION}`)
  return request.code
}

interface Serialized {
  (): void
  /** Resolves when no run is in progress. */
  idle(): Promise<void>
}

/** Run `task` one at a time; a request during a run queues one more run. */
function serialized(task: () => Promise<void>, onError: (err: unknown) => void): Serialized {
  let current: Promise<void> | undefined
  let queued = false
  const run = (): void => {
    if (current) {
      queued = true
      return
    }
    current = task().catch(onError).finally(() => {
      current = undefined
      if (queued) {
        queued = false
        run()
      }
    })
  }
  return Object.assign(run, {
    async idle() {
      while (current) await current
    },
  })
}

/** Configuration problems in the file:line:col format of `-t`, one log line each. */
function logDiagnostics(log: Logger, list: readonly Diagnostic[]): void {
  for (const d of list) {
    const lines = formatDiagnostic(d).split('\n')
    for (const line of lines) {
      if (d.severity === 'error') log.error(line)
      else if (d.verdict === 'none') log.info(line)
      else log.warning(line)
    }
  }
}
