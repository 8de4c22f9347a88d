/**
 * Where keepalived writes its signal dumps (reference §3.2): /tmp, or $TMPDIR
 * when that is an absolute path; files created mode 0600 (replacing any
 * earlier one), so only root reads VRRP passwords and state.
 */
import { chmodSync, closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'

/** The directory of the dump files for this environment. */
export function dumpDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.TMPDIR
  return dir !== undefined && dir !== '' && isAbsolute(dir) ? dir : '/tmp'
}

export type DumpResult = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly path: string; readonly error: Error }

/**
 * Write `text` to `name` in the dump directory: a private temporary file
 * renamed over the old one, so a reader never sees half a dump and a file
 * an attacker placed there first is replaced, not written through.
 */
export function writeDumpFile(name: string, text: string, env: NodeJS.ProcessEnv = process.env): DumpResult {
  const path = join(dumpDirectory(env), name)
  const temporary = `${path}.${process.pid}.tmp`
  try {
    const fd = openSync(temporary, 'wx', 0o600)
    try {
      writeSync(fd, text)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    // The umask may have taken bits away, never added: set exactly 0600.
    chmodSync(temporary, 0o600)
    renameSync(temporary, path)
    return { ok: true, path }
  } catch (err) {
    try {
      unlinkSync(temporary)
    } catch {
      // Never created, or already renamed.
    }
    return { ok: false, path, error: err as Error }
  }
}
