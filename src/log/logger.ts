/**
 * keepalived's logging on top of pino. Each process role logs under its own
 * syslog ident (`Keepalived`, `Keepalived_vrrp`, `Keepalived_healthcheckers`);
 * lines go, synchronously, to the console (`-l`, keepalived's `%c: msg` format),
 * to syslog (/dev/log or a configured socket, unless `-G`), to keepalived's
 * per-role log files (`-g`, log-file.ts) and to any extra sink a test attaches. pino carries the level and message; its JSON is never
 * parsed: the sink reads pino's per-line metadata instead, so a line costs one
 * small serialisation and one write, and nothing is buffered that an exit could lose.
 */
import { pino, type Logger as PinoLogger } from 'pino'
import { consoleLine, DEFAULT_FACILITY, SEVERITY, type SeverityName, syslogDatagram } from './format.js'
import { DEFAULT_SYSLOG_PATH, openSyslogSender, type SyslogSender } from '../net/syslog-socket.js'
import { logFileName, type LogFileWriter, openLogFile } from './log-file.js'

/** The process roles keepalived logs as (reference §4.1). */
export type LogRole = 'parent' | 'vrrp' | 'checkers'

/** Syslog idents per role, before any `_NAMESPACE` / `_INSTANCE` suffix. */
export const IDENTS: Readonly<Record<LogRole, string>> = {
  parent: 'Keepalived',
  vrrp: 'Keepalived_vrrp',
  checkers: 'Keepalived_healthcheckers',
}

/** One process role's log. Every method writes one line, synchronously. */
export interface Logger {
  readonly ident: string
  /** True with `-D`: {@link Logger.detail} lines are written. */
  readonly detailEnabled: boolean
  /** The pino logger underneath, for code that wants structured fields. */
  readonly pino: PinoLogger<'notice' | 'warning' | 'alert'>
  alert(text: string): void
  error(text: string): void
  warning(text: string): void
  notice(text: string): void
  info(text: string): void
  debug(text: string): void
  /** An info line keepalived writes only with `-D` / `--log-detail` (reference §4.6). */
  detail(text: string): void
}

/** One written line, as a sink receives it. */
export interface LogRecord {
  readonly time: Date
  readonly ident: string
  readonly pid: number
  readonly severity: number
  readonly text: string
}

/** Where lines go besides console, syslog and log files (tests). */
export type LogSink = (record: LogRecord) => void

export interface LoggingOptions {
  /** `-l`: write keepalived's console lines. */
  console?: boolean
  /** Where console lines go; default process.stderr (synchronous for files and pipes on Linux). */
  consoleWrite?: (line: string) => void
  /** `-D`. */
  detail?: boolean
  /** false with `-G`. */
  syslog?: boolean
  /** `-S`, already parsed; default daemon. */
  facility?: number
  /** The syslog socket; default /dev/log. */
  syslogPath?: string
  /** `_NS` / `_INSTANCE` appended to every ident (net_namespace, instance) and log file name. */
  identSuffix?: string
  /**
   * `-g FILE`: each role's lines also go to keepalived's file for that role
   * (FILE for the parent, FILE with `_vrrp` / `_check` before the extension for
   * the children; see {@link logFileName}).
   */
  logFile?: string
  /** `--flush-log-file`: log file lines are written one by one, never gathered. */
  flushLogFile?: boolean
  pid?: number
  now?: () => Date
  sinks?: readonly LogSink[]
}

/** The logging of one process: a logger per role, sharing the outputs. */
export interface Logging {
  logger(role: LogRole): Logger
  /** Lines that syslog dropped (no listener, congestion). */
  readonly syslogDropped: number
  /** Lines the `-g` files lost (cannot open or write), all roles together. */
  readonly logFileDropped: number
  /** The `-g` files opened so far, by role. */
  logFilePaths(): ReadonlyMap<LogRole, string>
  close(): void
}

/** pino levels for syslog severities; pino's are "higher is worse". */
const PINO_LEVELS: Readonly<Record<string, number>> = {
  debug: 20, info: 30, notice: 35, warning: 40, error: 50, alert: 60,
}
const SEVERITY_BY_PINO_LEVEL = new Map<number, number>([
  [20, SEVERITY.debug], [30, SEVERITY.info], [35, SEVERITY.notice], [40, SEVERITY.warning], [50, SEVERITY.err], [60, SEVERITY.alert],
])

/** pino asks a destination with this symbol for per-line metadata (level, message). */
const PINO_METADATA = Symbol.for('pino.metadata')

class LineDestination {
  readonly [PINO_METADATA] = true
  lastLevel = 30
  lastMsg: unknown = ''

  constructor(
    private readonly ident: string,
    private readonly output: (ident: string, severity: number, text: string) => void,
  ) {}

  write(_json: string): void {
    const severity = SEVERITY_BY_PINO_LEVEL.get(this.lastLevel) ?? SEVERITY.info
    this.output(this.ident, severity, typeof this.lastMsg === 'string' ? this.lastMsg : String(this.lastMsg))
  }
}

/** Set up logging for this process from the `-l`, `-D`, `-G`, `-S` choices. */
export function createLogging(opts: LoggingOptions = {}): Logging {
  const pid = opts.pid ?? process.pid
  const now = opts.now ?? (() => new Date())
  const facility = opts.facility ?? DEFAULT_FACILITY
  const consoleWrite = opts.console ? (opts.consoleWrite ?? ((line: string) => void process.stderr.write(line))) : undefined
  const sender: SyslogSender | undefined = opts.syslog === false ? undefined : openSyslogSender(opts.syslogPath ?? DEFAULT_SYSLOG_PATH)
  const sinks = opts.sinks ?? []
  const detail = opts.detail ?? false
  const suffix = opts.identSuffix ?? ''
  const loggers = new Map<LogRole, Logger>()
  const files = new Map<LogRole, LogFileWriter>()

  const emit = (file: LogFileWriter | undefined, ident: string, severity: number, text: string): void => {
    const time = now()
    if (consoleWrite || file) {
      const line = consoleLine(time, text)
      if (consoleWrite) consoleWrite(line)
      if (file) file.write(line)
    }
    if (sender) sender.send(syslogDatagram(facility, severity, time, ident, pid, text))
    for (const sink of sinks) sink({ time, ident, pid, severity, text })
  }

  return {
    get syslogDropped() {
      return sender?.dropped ?? 0
    },
    get logFileDropped() {
      let n = 0
      for (const f of files.values()) n += f.dropped
      return n
    },
    logFilePaths() {
      return new Map([...files].map(([role, f]) => [role, f.path]))
    },
    logger(role) {
      const existing = loggers.get(role)
      if (existing) return existing
      let file: LogFileWriter | undefined
      if (opts.logFile !== undefined) {
        file = openLogFile(logFileName(opts.logFile, role, suffix), { flushEachLine: opts.flushLogFile ?? false, nowMs: () => now().getTime() })
        files.set(role, file)
      }
      const logger = makeLogger(IDENTS[role] + suffix, detail, (ident, severity, text) => emit(file, ident, severity, text))
      loggers.set(role, logger)
      return logger
    },
    close() {
      sender?.close()
      for (const f of files.values()) f.close()
    },
  }
}

function makeLogger(ident: string, detailEnabled: boolean, emit: (ident: string, severity: number, text: string) => void): Logger {
  const destination = new LineDestination(ident, emit)
  const p = pino<'notice' | 'warning' | 'alert'>(
    {
      level: 'debug',
      customLevels: { notice: PINO_LEVELS.notice!, warning: PINO_LEVELS.warning!, alert: PINO_LEVELS.alert! },
      base: null,
      timestamp: false,
    },
    destination,
  )
  return {
    ident,
    detailEnabled,
    pino: p,
    alert: (text) => p.alert(text),
    error: (text) => p.error(text),
    warning: (text) => p.warning(text),
    notice: (text) => p.notice(text),
    info: (text) => p.info(text),
    debug: (text) => p.debug(text),
    detail: (text) => {
      if (detailEnabled) p.info(text)
    },
  }
}

/** A logger that writes nothing, for unit tests of code that only needs one. */
export function silentLogger(ident: string = IDENTS.parent, detail = false): Logger {
  return makeLogger(ident, detail, () => {})
}

/** Logging that only records, for tests: no console, no syslog. */
export interface CapturedLogging {
  readonly logging: Logging
  readonly records: LogRecord[]
  /** The texts written, optionally only those of one ident. */
  texts(ident?: string): string[]
}

export function captureLogging(opts: { detail?: boolean; pid?: number; now?: () => Date } = {}): CapturedLogging {
  const records: LogRecord[] = []
  const logging = createLogging({ ...opts, syslog: false, console: false, sinks: [(r) => records.push(r)] })
  return {
    logging,
    records,
    texts: (ident) => records.filter((r) => ident === undefined || r.ident === ident).map((r) => r.text),
  }
}

export type { SeverityName }
