/**
 * The daemon path of the command line: logging from the flags, then one of
 * the three process roles — the starting process that detaches the daemon
 * (no `-n`, as keepalived forks), the parent (`Keepalived`) and a child
 * (`Keepalived_vrrp` / `Keepalived_healthcheckers`, a fork of this same
 * program with the hidden role variable set). Loaded by main.ts only when the
 * daemon runs, so that `-t` does not pay for importing it.
 */
import { fileURLToPath } from 'node:url'
import { runChild } from '../daemon/child.js'
import { loadRecorded } from '../daemon/config-snapshot.js'
import type { EndpointStarter } from '../daemon/endpoints.js'
import { runForeground } from '../daemon/foreground.js'
import { CHILD_ROLE_ENV } from '../daemon/ipc.js'
import { DEFAULT_PID_FILES } from '../daemon/pidfile.js'
import { processSignals, type SignalSource } from '../daemon/signals.js'
import { announceDetachedReady, DETACHED_ENV, detachDaemon, forkSpawner, processChannel } from '../daemon/spawn.js'
import { EXIT, type SubsystemOptions, type SubsystemRegistry, type SubsystemRole } from '../daemon/subsystem.js'
import type { ChildSpawner } from '../daemon/supervisor.js'
import { LogFacilityError, parseFacility } from '../log/format.js'
import { createLogging, type Logging } from '../log/logger.js'
import { listInterfaces } from '../net/interfaces.js'
import { DEFAULT_SYSLOG_PATH } from '../net/syslog-socket.js'
import type { Io } from './main.js'
import { notImplementedLines, type Options, parseUmask, UsageError } from './options.js'

/**
 * Where the daemon sends syslog datagrams. Not a keepalived flag: tests and labs
 * point it at a private socket instead of /dev/log.
 */
export const SYSLOG_SOCKET_ENV = 'KEEPALIVED_TS_SYSLOG_SOCKET'

/** dist/cli/main.js: what children and the detached daemon run. */
const MAIN_PATH = fileURLToPath(new URL('./main.js', import.meta.url))

/** What the daemon path needs from its surroundings; tests replace them. */
export interface DaemonEnvironment {
  /** The subsystems a child runs (children only; default the built-in ones). */
  readonly subsystems?: SubsystemRegistry
  /** How the parent starts its children (default: fork this program). */
  readonly spawn?: ChildSpawner
  readonly signals?: SignalSource
  readonly endpoints?: EndpointStarter
  readonly program?: string
  readonly env?: NodeJS.ProcessEnv
  /** One respawn-delay second, and child_wait_time, in ms (tests shorten them). */
  readonly secondMs?: number
  readonly stopTimeoutMs?: number
}

interface Prepared {
  readonly logging: Logging
  readonly umask: number | undefined
  readonly env: NodeJS.ProcessEnv
}

function prepare(opts: Options, io: Io, daemon: DaemonEnvironment): Prepared | number {
  let facility: number | undefined
  let umask: number | undefined
  try {
    facility = opts.logFacility === undefined ? undefined : parseFacility(opts.logFacility)
    umask = opts.umask === undefined ? undefined : parseUmask(opts.umask)
  } catch (err) {
    if (!(err instanceof LogFacilityError || err instanceof UsageError)) throw err
    io.stderr(`${err.message}\n`)
    return EXIT.FATAL
  }
  const env = daemon.env ?? process.env
  const logging = createLogging({
    console: opts.logConsole,
    consoleWrite: (line) => io.stderr(line),
    detail: opts.logDetail,
    syslog: !opts.noSyslog,
    facility,
    syslogPath: env[SYSLOG_SOCKET_ENV] || DEFAULT_SYSLOG_PATH,
    ...(opts.logFile !== undefined ? { logFile: opts.logFile, flushLogFile: opts.flushLogFile } : {}),
  })
  return { logging, umask, env }
}

function subsystemOptions(opts: Options): SubsystemOptions {
  return {
    logDetail: opts.logDetail,
    releaseVips: opts.releaseVips,
    dontReleaseVrrp: opts.dontReleaseVrrp,
    dontReleaseIpvs: opts.dontReleaseIpvs,
    addressMonitoring: opts.addressMonitoring,
  }
}

/** The parent, or (without `-n`, as keepalived does) the detach that starts it. */
export async function runDaemon(argv: readonly string[], opts: Options, io: Io, daemon: DaemonEnvironment): Promise<number> {
  const env = daemon.env ?? process.env
  const detached = env[DETACHED_ENV] === '1'
  if (!opts.dontFork && !detached && !daemon.spawn) {
    const r = await detachDaemon({ mainPath: MAIN_PATH, args: argv, env })
    if (r.kind === 'exited') return r.code
    // The daemon runs on; keepalived's starting process exits 0 once it has forked.
    return EXIT.OK
  }
  const prepared = prepare(opts, io, daemon)
  if (typeof prepared === 'number') return prepared
  const { logging, umask } = prepared
  if (detached) delete process.env[DETACHED_ENV]
  const signals = daemon.signals ?? processSignals()
  const run = runForeground(
    {
      argv: [daemon.program ?? process.argv[1] ?? 'keepalived-ts', ...argv],
      configFile: opts.useFile,
      pidFile: opts.pidFile ?? DEFAULT_PID_FILES.parent,
      vrrpPidFile: opts.vrrpPidFile ?? DEFAULT_PID_FILES.vrrp,
      checkersPidFile: opts.checkersPidFile ?? DEFAULT_PID_FILES.checkers,
      vrrpOnly: opts.vrrpOnly,
      checkOnly: opts.checkOnly,
      all: opts.all,
      dontRespawn: opts.dontRespawn,
      umask,
      controlSocket: opts.controlSocket === 'none' ? undefined : opts.controlSocket,
      metrics: opts.metrics,
      notices: notImplementedLines(opts),
    },
    {
      logging,
      spawn: daemon.spawn ?? forkSpawner({ mainPath: MAIN_PATH, args: argv, env }),
      signals,
      load: (path) => loadRecorded(path, { configId: opts.configId, interfaces: listInterfaces() }),
      ...(daemon.endpoints ? { endpoints: daemon.endpoints } : {}),
      ...(daemon.secondMs !== undefined ? { secondMs: daemon.secondMs } : {}),
      ...(daemon.stopTimeoutMs !== undefined ? { stopTimeoutMs: daemon.stopTimeoutMs } : {}),
      ...(detached ? { onReady: announceDetachedReady } : {}),
    },
  )
  return run.finally(() => logging.close())
}

/** A child process: its role's subsystem, driven by the parent over IPC. */
export async function runChildProcess(role: SubsystemRole, opts: Options, io: Io, daemon: DaemonEnvironment): Promise<number> {
  // Scripts the child runs must not take themselves for children.
  delete process.env[CHILD_ROLE_ENV]
  if (!process.send) {
    io.stderr(`keepalived-ts: ${CHILD_ROLE_ENV} is set but there is no parent channel; this variable is internal\n`)
    return EXIT.FATAL
  }
  const prepared = prepare(opts, io, daemon)
  if (typeof prepared === 'number') return prepared
  const { logging, umask } = prepared
  if (umask !== undefined) process.umask(umask)
  const log = logging.logger(role)
  // A bug must respawn the child, not pass for a permanent error (exit 1 stops the daemon).
  const crash = (err: unknown): void => {
    log.error(`Internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
    logging.close()
    process.exit(EXIT.PROGRAM_ERROR)
  }
  process.on('uncaughtException', crash)
  process.on('unhandledRejection', crash)
  const subsystems = daemon.subsystems ?? (await import('../daemon/subsystems.js')).builtinSubsystems()
  const code = await runChild({
    role,
    logging,
    subsystems,
    channel: processChannel(),
    signals: daemon.signals ?? processSignals(),
    options: subsystemOptions(opts),
    pidFile: role === 'vrrp' ? (opts.vrrpPidFile ?? DEFAULT_PID_FILES.vrrp) : (opts.checkersPidFile ?? DEFAULT_PID_FILES.checkers),
    ...(daemon.stopTimeoutMs !== undefined ? { stopTimeoutMs: daemon.stopTimeoutMs } : {}),
  })
  logging.close()
  return code
}
