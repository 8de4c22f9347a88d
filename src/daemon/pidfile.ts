/**
 * keepalived's pid files (reference §3.3): `"%d\n"`, written at start, checked
 * first so a second daemon refuses to start (`daemon is already running`),
 * removed at exit. A file naming a dead process is stale and is replaced
 * (`Remove a zombie pid file %s`).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs'

/** Debian's defaults (runstatedir=/run) for the parent and each child. */
export const DEFAULT_PID_FILES = {
  parent: '/run/keepalived.pid',
  vrrp: '/run/keepalived_vrrp.pid',
  checkers: '/run/keepalived_checkers.pid',
  bfd: '/run/keepalived_bfd.pid',
} as const

export class PidFileError extends Error {
  constructor(readonly code: 'KA_ERR_PIDFILE_WRITE', message: string, readonly path: string) {
    super(message)
  }
}

/** The pid a pid file names, or undefined when it is absent or unreadable. */
export function readPidFile(path: string): number | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
  const m = /^\s*(\d+)\s*$/.exec(text)
  if (!m) return undefined
  const pid = Number(m[1])
  return pid > 0 ? pid : undefined
}

/** True when `pid` is a live process (EPERM counts: it exists, it is just not ours to signal). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export type PidFileState =
  | { readonly kind: 'absent' }
  | { readonly kind: 'running'; readonly pid: number }
  | { readonly kind: 'stale'; readonly pid: number | undefined }

/**
 * What a pid file says about a daemon. Our own pid counts as not running: after
 * a reboot a stale file may name the pid we happen to have now.
 */
export function pidFileState(path: string, ownPid: number = process.pid): PidFileState {
  let exists = true
  try {
    readFileSync(path)
  } catch {
    exists = false
  }
  if (!exists) return { kind: 'absent' }
  const pid = readPidFile(path)
  if (pid !== undefined && pid !== ownPid && processAlive(pid)) return { kind: 'running', pid }
  return { kind: 'stale', pid }
}

/** Write `pid` (default ours) as keepalived does, mode 0644. Throws {@link PidFileError}. */
export function writePidFile(path: string, pid: number = process.pid): void {
  try {
    writeFileSync(path, `${pid}\n`, { mode: 0o644 })
  } catch (err) {
    throw new PidFileError('KA_ERR_PIDFILE_WRITE', `Unable to write pidfile ${path}: ${(err as Error).message}`, path)
  }
}

/** Remove the file if it still names `pid` (default ours): never delete a successor's file. */
export function removePidFile(path: string, pid: number = process.pid): void {
  if (readPidFile(path) !== pid) return
  rmSync(path, { force: true })
}

/** Remove a stale file whatever it holds (after {@link pidFileState} said `stale`). */
export function discardPidFile(path: string): void {
  rmSync(path, { force: true })
}
