/**
 * SIGUSR1 in the parent: keepalived writes `/tmp/keepalived_parent.data`
 * (`$TMPDIR` when it is absolute), mode 0600, and logs `Printing parent data
 * for process(%d) on signal`. keepalived's format is explicitly not stable
 * (reference §3.2); ours is the process table and the configuration the
 * parent holds, in canonical keepalived.conf text.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { type Config, dumpConfig } from '../config/config.js'
import { ROLE_NAMES, type SubsystemRole } from './subsystem.js'

export interface ParentData {
  readonly pid: number
  readonly startedAt: Date
  readonly configFile: string
  readonly reloadedAt: Date | undefined
  readonly processes: readonly { readonly role: SubsystemRole; readonly pid: number | undefined; readonly restarts: number }[]
  readonly config: Config
}

/** The directory keepalived writes its dump files in. */
export function dumpDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const tmp = env.TMPDIR
  return tmp !== undefined && isAbsolute(tmp) ? tmp : '/tmp'
}

export function parentDataText(d: ParentData): string {
  const lines = [
    '------< Parent process >------',
    ` Pid = ${d.pid}`,
    ` Started = ${d.startedAt.toISOString()}`,
    ` Configuration file = ${d.configFile}`,
    ` Last reload = ${d.reloadedAt ? d.reloadedAt.toISOString() : 'none'}`,
    '------< Child processes >------',
    ...(d.processes.length === 0 ? [' none'] : d.processes.map((p) => ` ${ROLE_NAMES[p.role]}: pid ${p.pid ?? 'none (not running)'}, restarts ${p.restarts}`)),
    '------< Configuration >------',
  ]
  return `${lines.join('\n')}\n${dumpConfig(d.config)}`
}

/** Write the parent's data file; returns its path, or the error. */
export function writeParentData(d: ParentData, env: NodeJS.ProcessEnv = process.env): string | Error {
  const path = join(dumpDirectory(env), 'keepalived_parent.data')
  try {
    // Root writing into /tmp: never through a symlink someone else planted there.
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600)
    try {
      writeSync(fd, parentDataText(d))
    } finally {
      closeSync(fd)
    }
    return path
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err))
  }
}
