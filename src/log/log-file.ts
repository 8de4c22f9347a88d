/**
 * keepalived's `-g FILE` / `--log-file=FILE` log files: one per process role,
 * named the way keepalived's make_file_name names them (the parent writes FILE,
 * the VRRP child FILE with `_vrrp`, the checker child `_check`, inserted before
 * the extension, then any `_NAMESPACE_INSTANCE` suffix), each line in the
 * console format (`%c: msg`). Appended, created 0666 less the umask.
 *
 * `--flush-log-file` writes every line at once (keepalived fflush()es each
 * line). Without it lines are gathered and written once per event-loop turn or
 * every 4 KiB — keepalived leaves them in a stdio buffer — and always before
 * the process exits. A file that cannot be opened or written costs lines,
 * counted, never an exception: logging must not stop the daemon.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs'
import type { LogRole } from './logger.js'

/** The default file of a bare `-g` (keepalived's). */
export const DEFAULT_LOG_FILE = '/tmp/keepalived.log'

/** The program part keepalived inserts per role (vrrp_daemon.c "vrrp", check_daemon.c "check"; none for the parent). */
const ROLE_PROGRAM: Readonly<Record<LogRole, string | undefined>> = {
  parent: undefined,
  vrrp: 'vrrp',
  checkers: 'check',
}

/**
 * The file a role logs to for `-g base`: `/tmp/keepalived.log` gives
 * `/tmp/keepalived.log`, `/tmp/keepalived_vrrp.log`, `/tmp/keepalived_check.log`.
 * The extension is the last `.` after the last `/` (so `/var/log.d/ka` has
 * none); `suffix` is the ident suffix (`_NS`, `_INSTANCE`, `_NS_INSTANCE`).
 */
export function logFileName(base: string, role: LogRole, suffix = ''): string {
  const program = ROLE_PROGRAM[role]
  const insert = (program === undefined ? '' : `_${program}`) + suffix
  const slash = base.lastIndexOf('/')
  const dot = base.lastIndexOf('.')
  if (dot < 0 || dot < slash) return base + insert
  return base.slice(0, dot) + insert + base.slice(dot)
}

/** Bytes gathered before a write when not flushing each line (a stdio buffer's worth). */
const BATCH_BYTES = 4096
/** After a failed open, the next attempt waits this long (a missing directory may appear). */
const REOPEN_AFTER_MS = 10_000

/** One log file, opened at its first line. */
export interface LogFileWriter {
  readonly path: string
  /** Lines lost (the file could not be opened or written). */
  readonly dropped: number
  /** The error of the last failed open or write, for a status line. */
  readonly lastError: string | undefined
  write(line: string): void
  /** Write whatever is gathered now. */
  flush(): void
  close(): void
}

export interface LogFileOptions {
  /** `--flush-log-file`: each line written as it is logged. */
  readonly flushEachLine?: boolean
  /** Clock for the reopen back-off (tests). */
  readonly nowMs?: () => number
}

export function openLogFile(path: string, opts: LogFileOptions = {}): LogFileWriter {
  const flushEachLine = opts.flushEachLine ?? false
  const nowMs = opts.nowMs ?? Date.now
  let fd = -1
  let failedAt: number | undefined
  let dropped = 0
  let lastError: string | undefined
  let pending: string[] = []
  let pendingBytes = 0
  let scheduled = false
  let closed = false

  const open = (): boolean => {
    if (fd >= 0) return true
    if (failedAt !== undefined && nowMs() - failedAt < REOPEN_AFTER_MS) return false
    try {
      // O_NONBLOCK as keepalived sets it: a FIFO named by -g must never block the daemon.
      fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK, 0o666)
      failedAt = undefined
      return true
    } catch (err) {
      failedAt = nowMs()
      lastError = (err as Error).message
      return false
    }
  }

  const writeOut = (text: string, lines: number): void => {
    if (!open()) {
      dropped += lines
      return
    }
    try {
      const buf = Buffer.from(text, 'utf8')
      let off = 0
      // Bounded: a regular file takes it all at once; a full FIFO throws EAGAIN below.
      for (let i = 0; i < 16 && off < buf.length; i++) off += writeSync(fd, buf, off, buf.length - off)
      if (off < buf.length) dropped += lines
    } catch (err) {
      dropped += lines
      lastError = (err as Error).message
    }
  }

  const flush = (): void => {
    scheduled = false
    if (pending.length === 0) return
    const lines = pending.length
    const text = pending.join('')
    pending = []
    pendingBytes = 0
    writeOut(text, lines)
  }

  const onExit = (): void => flush()
  if (!flushEachLine) process.on('exit', onExit)

  return {
    path,
    get dropped() {
      return dropped
    },
    get lastError() {
      return lastError
    },
    write(line) {
      if (closed) return
      if (flushEachLine) {
        writeOut(line, 1)
        return
      }
      pending.push(line)
      pendingBytes += line.length
      if (pendingBytes >= BATCH_BYTES) flush()
      else if (!scheduled) {
        scheduled = true
        setImmediate(flush).unref()
      }
    },
    flush,
    close() {
      if (closed) return
      flush()
      closed = true
      process.off('exit', onExit)
      if (fd >= 0) {
        try {
          closeSync(fd)
        } catch {
          // Already gone: nothing left to lose.
        }
      }
      fd = -1
    },
  }
}
