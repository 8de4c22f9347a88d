/**
 * keepalived's process shell, run in the foreground (`-n`): the start-up lines,
 * configuration load, pid files, subsystems, signals, reload and the orderly
 * stop with keepalived's log lines and exit codes (reference §3). Subsystems run
 * in this process for now (no fork); they are plugged in through a registry so
 * the same shell later drives forked children.
 */
import { type Config, type LoadResult } from '../config/config.js'
import { type Diagnostic, formatDiagnostic, sortDiagnostics } from '../config/diagnostics.js'
import { commandLineLines } from '../log/format.js'
import type { Logger, Logging } from '../log/logger.js'
import { cpuTimes, cpuUsageLine, runningOnLine, stoppedUsedLine } from './banner.js'
import { discardPidFile, PidFileError, pidFileState, removePidFile, writePidFile } from './pidfile.js'
import { EXIT, ROLE_NAMES, type Subsystem, type SubsystemOptions, type SubsystemRegistry, type SubsystemRole } from './subsystem.js'
import { VERSION } from './version.js'

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
  /** `-n`; without it keepalived would detach (not implemented yet). */
  readonly dontFork: boolean
  /** `-u`, already parsed. */
  readonly umask: number | undefined
  readonly subsystem: SubsystemOptions
}

/** Where signals come from; `process` in production, an EventEmitter in tests. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown
  off(signal: NodeJS.Signals, listener: () => void): unknown
}

export interface ForegroundDeps {
  readonly logging: Logging
  readonly subsystems: SubsystemRegistry
  /** Reads and checks the configuration (loadConfig with the host's interfaces). */
  readonly load: (path: string) => LoadResult
  readonly signals?: SignalSource
  readonly pid?: number
  /** How long a subsystem may take to stop; keepalived's child_wait_time is 5 s. */
  readonly stopTimeoutMs?: number
}

const HANDLED_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2']
const DEFAULT_STOP_TIMEOUT_MS = 5000

interface Running {
  readonly role: SubsystemRole
  readonly subsystem: Subsystem
  readonly log: Logger
}

/** The roles a configuration asks for, after `-P` / `-C` / `--all`. */
export function wantedRoles(config: Config, opts: Pick<ForegroundOptions, 'vrrpOnly' | 'checkOnly' | 'all'>): SubsystemRole[] {
  const roles: SubsystemRole[] = []
  if (!opts.checkOnly && (opts.all || config.vrrp.instances.length > 0)) roles.push('vrrp')
  if (!opts.vrrpOnly && (opts.all || config.lvs.virtualServers.length > 0)) roles.push('checkers')
  return roles
}

/** Run until SIGTERM/SIGINT or a subsystem asks to stop; resolves with the exit code. */
export async function runForeground(opts: ForegroundOptions, deps: ForegroundDeps): Promise<number> {
  const log = deps.logging.logger('parent')
  const pid = deps.pid ?? process.pid
  const signals = deps.signals ?? process
  log.info(`Starting ${VERSION}`)
  log.info(runningOnLine())
  for (const line of commandLineLines(opts.argv)) log.info(line)
  if (!opts.dontFork) log.info('Running in the foreground: detaching without -n is not implemented yet (TODO: process model, issue 5)')
  if (opts.umask !== undefined) process.umask(opts.umask)

  const loaded = deps.load(opts.configFile)
  const diagnostics = sortDiagnostics(loaded.diagnostics.list)
  if (diagnostics.some((d) => d.code === 'KA_CONF_NO_FILE')) {
    logDiagnostics(log, diagnostics)
    log.info(`Stopped ${VERSION}`)
    return EXIT.NO_CONFIG
  }
  const config = loaded.config
  for (const file of config.files) log.detail(`Opening file '${file}'.`)
  log.info(`Configuration file ${opts.configFile}`)
  logDiagnostics(log, diagnostics)

  const roles = wantedRoles(config, opts)
  const pidFiles = [opts.pidFile, ...roles.map((r) => (r === 'vrrp' ? opts.vrrpPidFile : opts.checkersPidFile))]
  for (const path of pidFiles) {
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
  for (const role of roles) {
    if (!deps.subsystems[role]) {
      log.error(`${ROLE_NAMES[role]} subsystem is not available in this version of keepalived-ts; refusing to run a configuration that needs it`)
      log.info(`Stopped ${VERSION}`)
      return EXIT.FATAL
    }
  }

  try {
    for (const path of pidFiles) writePidFile(path, pid)
  } catch (err) {
    if (!(err instanceof PidFileError)) throw err
    log.error(err.message)
    for (const path of pidFiles) removePidFile(path, pid)
    log.info(`Stopped ${VERSION}`)
    return EXIT.FATAL
  }

  let stopping = false
  let resolveStopped: (code: number) => void = () => {}
  const stopped = new Promise<number>((resolve) => {
    resolveStopped = resolve
  })
  const requestStop = (code: number): void => {
    if (stopping) return
    stopping = true
    resolveStopped(code)
  }

  const running: Running[] = []
  let exitCode: number | undefined
  for (const role of roles) {
    const roleLog = deps.logging.logger(role)
    const subsystem = deps.subsystems[role]!({
      role,
      log: roleLog,
      options: opts.subsystem,
      requestStop(code, reason) {
        log.info(`${ROLE_NAMES[role]} subsystem requested stop: ${reason}`)
        requestStop(code)
      },
    })
    log.info(`Starting ${ROLE_NAMES[role]} subsystem in this process, pid=${pid}`)
    try {
      await subsystem.start(config)
      running.push({ role, subsystem, log: roleLog })
    } catch (err) {
      log.error(`${ROLE_NAMES[role]} subsystem failed to start: ${(err as Error).message}`)
      running.push({ role, subsystem, log: roleLog })
      exitCode = EXIT.FATAL
      break
    }
  }
  if (roles.length === 0) log.info('Warning - keepalived has no configuration to run')

  const reloader = makeReloader(opts, deps, log, running, () => stopping)
  const handlers = new Map<NodeJS.Signals, () => void>([
    ['SIGTERM', () => requestStop(EXIT.OK)],
    ['SIGINT', () => requestStop(EXIT.OK)],
    ['SIGHUP', () => reloader()],
    ['SIGUSR1', () => { for (const r of running) r.subsystem.dumpData?.() }],
    ['SIGUSR2', () => { for (const r of running) r.subsystem.dumpStats?.() }],
  ])
  for (const sig of HANDLED_SIGNALS) signals.on(sig, handlers.get(sig)!)

  if (exitCode === undefined) {
    log.info('Startup complete')
    // Signal listeners do not keep Node's loop alive; a daemon with nothing else to do must stay.
    const keepAlive = setInterval(() => {}, 1 << 30)
    exitCode = await stopped
    clearInterval(keepAlive)
  }
  for (const sig of HANDLED_SIGNALS) signals.off(sig, handlers.get(sig)!)
  stopping = true

  log.info('Stopping')
  const timeoutMs = deps.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS
  for (const r of [...running].reverse()) {
    const outcome = await stopWithin(r.subsystem, timeoutMs)
    if (outcome === 'timeout') log.info(`${ROLE_NAMES[r.role]} process failed to die - forcing termination`)
    else if (outcome instanceof Error) r.log.error(`Error while stopping: ${outcome.message}`)
    // One process for now: the times are the whole process's, in the child's format.
    r.log.info(stoppedUsedLine(cpuTimes()))
  }
  if (running.length > 0) log.info(cpuUsageLine(cpuTimes()))
  for (const path of pidFiles) removePidFile(path, pid)
  log.info(`Stopped ${VERSION}`)
  return exitCode
}

/** SIGHUP: load and check the new configuration, keep the old one if it cannot run. */
function makeReloader(opts: ForegroundOptions, deps: ForegroundDeps, log: Logger, running: readonly Running[], isStopping: () => boolean): () => void {
  let inProgress = false
  let queued = false
  const reload = async (): Promise<void> => {
    log.info('Reloading ...')
    const loaded = deps.load(opts.configFile)
    const diagnostics = sortDiagnostics(loaded.diagnostics.list)
    for (const file of loaded.config.files) log.detail(`Opening file '${file}'.`)
    logDiagnostics(log, diagnostics)
    if (diagnostics.some((d) => d.code === 'KA_CONF_NO_FILE' || d.verdict === 'fatal')) {
      log.error('Reload failed: the new configuration cannot be used; the running configuration is kept')
      return
    }
    log.info(`Configuration file ${opts.configFile}`)
    const roles = wantedRoles(loaded.config, opts)
    const current = running.map((r) => r.role)
    if (roles.join() !== current.join()) {
      log.warning(`Reload changes the subsystems to run (${current.join(',') || 'none'} -> ${roles.join(',') || 'none'}); that needs a restart in this version`)
    }
    for (const r of running) {
      r.log.info('Reloading')
      if (!r.subsystem.reload) {
        r.log.warning('Reload is not supported by this subsystem yet; the running configuration is kept')
        continue
      }
      try {
        await r.subsystem.reload(loaded.config)
      } catch (err) {
        r.log.error(`Reload failed: ${(err as Error).message}`)
      }
    }
    log.info('Reload complete')
  }
  const run = (): void => {
    if (isStopping()) return
    if (inProgress) {
      if (!queued) log.detail('Reload already in progress, request queued')
      queued = true
      return
    }
    inProgress = true
    reload()
      .catch((err: unknown) => log.error(`Reload failed: ${(err as Error).message}`))
      .finally(() => {
        inProgress = false
        if (queued) {
          queued = false
          run()
        }
      })
  }
  return run
}

async function stopWithin(subsystem: Subsystem, timeoutMs: number): Promise<'ok' | 'timeout' | Error> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs)
  })
  try {
    return await Promise.race([subsystem.stop().then(() => 'ok' as const), timeout])
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err))
  } finally {
    clearTimeout(timer)
  }
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
