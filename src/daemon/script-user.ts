/**
 * Who a script runs as (`script_user`, per-script user/group): names resolved
 * from /etc/passwd and /etc/group as getpwnam/getgrnam would for files-only
 * NSS. Default: `keepalived_script` if that user exists, else root (our own uid).
 */
import { readFileSync } from 'node:fs'

export interface ScriptIdentity {
  readonly user: string
  readonly uid: number
  readonly gid: number
}

export interface AccountFiles {
  readonly passwd: string
  readonly group: string
}

export const SYSTEM_ACCOUNT_FILES: AccountFiles = { passwd: '/etc/passwd', group: '/etc/group' }
export const DEFAULT_SCRIPT_USER = 'keepalived_script'

export class ScriptUserError extends Error {
  readonly code = 'KA_ERR_SCRIPT_USER'
}

function lookup(file: string, name: string): string[] | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':')
    if (fields[0] === name && fields.length >= 4) return fields
  }
  return undefined
}

/**
 * uid/gid for `user` and optional `group` (keepalived: a group starting with
 * `:` asks for supplementary groups, which Node cannot set; the name is used).
 * Throws {@link ScriptUserError} with keepalived's texts.
 */
export function resolveScriptUser(user: string, group: string | undefined, files: AccountFiles = SYSTEM_ACCOUNT_FILES): ScriptIdentity {
  const pw = lookup(files.passwd, user)
  if (!pw) throw new ScriptUserError(`Script user '${user}' does not exist`)
  let gid = Number(pw[3])
  const groupName = group?.startsWith(':') ? group.slice(1) || undefined : group
  if (groupName !== undefined) {
    const gr = lookup(files.group, groupName)
    if (!gr) throw new ScriptUserError(`Script group '${groupName}' does not exist`)
    gid = Number(gr[2])
  }
  return { user, uid: Number(pw[2]), gid }
}

/** `script_user` if configured, else keepalived_script if it exists, else whoever we are. */
export function defaultScriptUser(configured: { user: string; group: string | undefined } | undefined, files: AccountFiles = SYSTEM_ACCOUNT_FILES): ScriptIdentity {
  if (configured) return resolveScriptUser(configured.user, configured.group, files)
  try {
    return resolveScriptUser(DEFAULT_SCRIPT_USER, undefined, files)
  } catch {
    const uid = process.getuid?.() ?? 0
    const gid = process.getgid?.() ?? 0
    return { user: uid === 0 ? 'root' : String(uid), uid, gid }
  }
}
