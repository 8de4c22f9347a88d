/**
 * What the parent says when a child ends, and when it may start the next one
 * (reference §3.4, §4.2): keepalived's report_child_status lines (`pid %d
 * exited with status %d`, `… due to signal %d (%s)`, the permanent errors that
 * stop the daemon), the `died: Respawning` / `died: Exiting` lines, and the
 * restart delay that limits a respawn loop (0, 1, 2, 4 … 60 s while the child
 * keeps dying within a minute). Pure: the supervisor logs and acts.
 */
import { describeSignal } from './signals.js'
import { EXIT, ROLE_NAMES, type SubsystemRole } from './subsystem.js'

export interface ChildExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface ExitReport {
  readonly lines: readonly string[]
  /** Set for the exit codes that stop the whole daemon (FATAL, CONFIG, missing permission). */
  readonly permanent: number | undefined
}

const PERMANENT: Readonly<Record<number, string>> = {
  [EXIT.FATAL]: 'FATAL',
  [EXIT.CONFIG]: 'CONFIG',
  [EXIT.MISSING_PERMISSION]: 'missing permission',
}

/** keepalived's report_child_status, for the parent's own children (named `pid N`, as 2.2.7 does). */
export function reportChildExit(pid: number, exit: ChildExit): ExitReport {
  const who = `pid ${pid}`
  if (exit.code !== null) {
    const permanent = PERMANENT[exit.code]
    if (permanent !== undefined) return { lines: [`${who} exited with permanent error ${permanent}. Terminating`], permanent: exit.code }
    return { lines: exit.code === 0 ? [] : [`${who} exited with status ${exit.code}`], permanent: undefined }
  }
  if (exit.signal === 'SIGSEGV') return { lines: [`${who} exited due to segmentation fault (SIGSEGV).`], permanent: undefined }
  const sig = describeSignal(exit.signal ?? '')
  const rlimit = exit.signal === 'SIGKILL' ? ' - has rlimit_rttime been exceeded?' : ''
  return { lines: [`${who} exited due to signal ${sig.number} (${sig.text})${rlimit}`], permanent: undefined }
}

/** The LOG_ALERT line and keepalived's three that follow it. */
export function respawningLines(role: SubsystemRole, pid: number): { alert: string; info: readonly string[] } {
  return {
    alert: `${ROLE_NAMES[role]} child process(${pid}) died: Respawning`,
    info: [
      // keepalived points at its own tracker; a keepalived-ts crash belongs to keepalived-ts.
      '  Please log an issue with the keepalived-ts project (not with keepalived)',
      '  and include a full copy of your keepalived configuration files, and',
      '  copies of the keepalived system log entries around the time this happened',
    ],
  }
}

/** With `-R`: the child is not restarted and the daemon stops. */
export function exitingLine(role: SubsystemRole, pid: number): string {
  return `${ROLE_NAMES[role]} child process(${pid}) died: Exiting`
}

/** keepalived's `%s process failed to die - forcing termination` names. */
export const SHORT_NAMES: Readonly<Record<SubsystemRole, string>> = {
  vrrp: 'vrrp',
  checkers: 'checker',
}

/**
 * keepalived's calc_restart_delay: a child that ran a minute or more restarts at
 * once; otherwise the delay is the previous one (0 the first time), and the
 * next one doubles from 1 s up to 60 s.
 */
export class RestartDelay {
  private nextSeconds = 0

  constructor(private readonly role: SubsystemRole) {}

  /** Seconds to wait before restarting a child that ran `ranMs`, and the line to log (if any). */
  next(ranMs: number): { readonly seconds: number; readonly line: string | undefined } {
    if (ranMs >= 60_000) {
      this.nextSeconds = 0
      return { seconds: 0, line: undefined }
    }
    const seconds = this.nextSeconds
    this.nextSeconds = seconds === 0 ? 1 : this.nextSeconds > 30 ? 60 : this.nextSeconds * 2
    return { seconds, line: `Restart of ${ROLE_NAMES[this.role]} process delayed ${seconds} seconds to limit respawn rate` }
  }
}
