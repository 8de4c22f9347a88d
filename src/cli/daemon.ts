/**
 * The daemon path of the command line: logging, the foreground process and its
 * subsystems. Loaded by main.ts only when the daemon runs, so that `-t` does
 * not pay for importing them.
 */
import { loadConfig } from '../config/config.js'
import { runForeground, type SignalSource } from '../daemon/foreground.js'
import { DEFAULT_PID_FILES } from '../daemon/pidfile.js'
import { EXIT, type SubsystemRegistry } from '../daemon/subsystem.js'
import { builtinSubsystems } from '../daemon/subsystems.js'
import { LogFacilityError, parseFacility } from '../log/format.js'
import { createLogging } from '../log/logger.js'
import { listInterfaces } from '../net/interfaces.js'
import { DEFAULT_SYSLOG_PATH } from '../net/syslog-socket.js'
import type { Io } from './main.js'
import { type Options, parseUmask, UsageError } from './options.js'

/**
 * Where the daemon sends syslog datagrams. Not a keepalived flag: tests and labs
 * point it at a private socket instead of /dev/log.
 */
export const SYSLOG_SOCKET_ENV = 'KEEPALIVED_TS_SYSLOG_SOCKET'

/** What the daemon path needs from its surroundings; tests replace them. */
export interface DaemonEnvironment {
  readonly subsystems?: SubsystemRegistry
  readonly signals?: SignalSource
  readonly program?: string
  readonly env?: NodeJS.ProcessEnv
}

export function runDaemon(argv: readonly string[], opts: Options, io: Io, daemon: DaemonEnvironment): number | Promise<number> {
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
  })
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
      dontFork: opts.dontFork,
      umask,
      subsystem: {
        logDetail: opts.logDetail,
        releaseVips: opts.releaseVips,
        dontReleaseVrrp: opts.dontReleaseVrrp,
        dontReleaseIpvs: opts.dontReleaseIpvs,
        addressMonitoring: opts.addressMonitoring,
      },
    },
    {
      logging,
      subsystems: daemon.subsystems ?? builtinSubsystems(),
      signals: daemon.signals,
      load: (path) => loadConfig(path, { configId: opts.configId, host: { interfaces: listInterfaces() } }),
    },
  )
  return run.finally(() => logging.close())
}

