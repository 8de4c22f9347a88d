/**
 * Running notify and track scripts the way keepalived does (reference §5.15),
 * without a shell: argv from the script line, as `script_user`, in a process
 * group of its own, bounded by a timeout, with `enable_script_security` checks
 * done once when the script is prepared. The outcome (exit status, signal,
 * timeout, failure to start) is a value; nothing here throws at run time.
 */
import { spawn } from 'node:child_process'
import { accessSync, constants, lstatSync, realpathSync, statSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import type { ScriptSpec } from '../config/schema.js'
import type { Logger } from '../log/logger.js'
import { type AccountFiles, defaultScriptUser, resolveScriptUser, type ScriptIdentity, ScriptUserError, SYSTEM_ACCOUNT_FILES } from './script-user.js'
import { splitScriptWords } from './script-words.js'

/** keepalived gives `notify_stop` / `notify … STOP` one second (reference §3.5). */
export const STOP_SCRIPT_TIMEOUT_MS = 1000
/** After SIGTERM on timeout, how long before the whole group gets SIGKILL. */
const KILL_GRACE_MS = 1000

export type ScriptOutcome =
  | { readonly kind: 'exited'; readonly status: number }
  | { readonly kind: 'signalled'; readonly signal: NodeJS.Signals }
  | { readonly kind: 'timed-out' }
  | { readonly kind: 'failed'; readonly code: string; readonly message: string }

/** A script checked and ready to run. */
export interface PreparedScript {
  /** The line as configured, for log lines. */
  readonly command: string
  /** argv[0] resolved to the file that runs. */
  readonly argv: readonly string[]
  readonly runAs: ScriptIdentity
  /** Unsafe permissions found, but script security is off: it still runs. */
  readonly insecure: boolean
}

export interface ScriptRunnerOptions {
  readonly log: Logger
  /** global_defs `script_user`. */
  readonly scriptUser?: { readonly user: string; readonly group: string | undefined } | undefined
  /** global_defs `enable_script_security`. */
  readonly enableScriptSecurity?: boolean | undefined
  readonly accounts?: AccountFiles
  /** The scripts' environment; default ours (keepalived's), less loader overrides. */
  readonly env?: NodeJS.ProcessEnv
}

export interface RunOptions {
  /** Appended to the configured argv (generic `notify`: type, name, state, priority). */
  readonly args?: readonly string[]
  /** No timeout when absent (notify scripts are fire-and-forget in keepalived). */
  readonly timeoutMs?: number
  /** Abort: the script's process group gets SIGTERM, then SIGKILL (a MISC_CHECK whose checker was removed or stopped). */
  readonly signal?: AbortSignal
}

/** The four words the generic `notify` script gets after its own (reference §5.15). */
export function notifyArgs(kind: 'INSTANCE' | 'GROUP', name: string, state: string, priority: number): string[] {
  return [kind, name, state, String(priority)]
}

export class ScriptRunner {
  private readonly groups = new Set<number>()
  private defaultUser: ScriptIdentity | undefined

  constructor(private readonly opts: ScriptRunnerOptions) {}

  /** Scripts running now. */
  get running(): number {
    return this.groups.size
  }

  /**
   * Check a configured script: resolve its user and file, and apply keepalived's
   * security rules. undefined (with keepalived's log line) when it is disabled.
   */
  prepare(spec: ScriptSpec): PreparedScript | undefined {
    const log = this.opts.log
    const words = splitScriptWords(spec.command)
    if (words.length === 0) return undefined
    let runAs: ScriptIdentity
    try {
      runAs = spec.user !== undefined
        ? resolveScriptUser(spec.user, spec.group, this.opts.accounts ?? SYSTEM_ACCOUNT_FILES)
        : (this.defaultUser ??= defaultScriptUser(this.opts.scriptUser, this.opts.accounts ?? SYSTEM_ACCOUNT_FILES))
    } catch (err) {
      if (!(err instanceof ScriptUserError)) throw err
      log.info(`${err.message} - disabling script '${spec.command}'`)
      return undefined
    }
    const path = this.resolvePath(words[0]!)
    if (path === undefined) return undefined
    let real: string
    try {
      real = realpathSync(path)
      statSync(real)
    } catch (err) {
      log.info(`Script ${words[0]} cannot be accessed - ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
      return undefined
    }
    const st = statSync(real)
    if (!isExecutable(st, runAs)) {
      log.info(`WARNING - script '${words[0]}' is not executable for uid:gid ${runAs.uid}:${runAs.gid} - disabling.`)
      return undefined
    }
    const security = this.opts.enableScriptSecurity === true
    let insecure = false
    if (needsProtection(st, runAs)) {
      for (const p of new Set([path, real])) {
        if (!pathIsSafe(p)) {
          log.info(`Unsafe permissions found for script '${p}'${security ? ' - disabling' : ''}.`)
          insecure = true
          break
        }
      }
      if (insecure && security) return undefined
    }
    return { command: spec.command, argv: [path, ...words.slice(1)], runAs, insecure }
  }

  /** Run a prepared script; resolves when it has exited (or was killed on timeout). */
  run(script: PreparedScript, opts: RunOptions = {}): Promise<ScriptOutcome> {
    const env = { ...(this.opts.env ?? process.env) }
    // keepalived drops these before exec, as defence in depth.
    delete env.IFS
    delete env.LD_PRELOAD
    delete env.LD_LIBRARY_PATH
    const sameUser = script.runAs.uid === process.getuid?.() && script.runAs.gid === process.getgid?.()
    return new Promise((resolve) => {
      let child: ReturnType<typeof spawn>
      try {
        child = spawn(script.argv[0]!, [...script.argv.slice(1), ...(opts.args ?? [])], {
          // detached: setsid(), so the script and its children are one group we can kill together.
          detached: true,
          stdio: 'ignore',
          env,
          ...(sameUser ? {} : { uid: script.runAs.uid, gid: script.runAs.gid }),
        })
      } catch (err) {
        resolve({ kind: 'failed', code: (err as NodeJS.ErrnoException).code ?? 'KA_ERR_SCRIPT_SPAWN', message: (err as Error).message })
        return
      }
      const pid = child.pid
      let timedOut = false
      const timers: NodeJS.Timeout[] = []
      if (pid !== undefined) this.groups.add(pid)
      if (opts.timeoutMs !== undefined && pid !== undefined) {
        timers.push(setTimeout(() => {
          timedOut = true
          killGroup(pid, 'SIGTERM')
          timers.push(setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS))
        }, opts.timeoutMs))
      }
      const onAbort = (): void => {
        if (pid === undefined) return
        killGroup(pid, 'SIGTERM')
        timers.push(setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS))
      }
      if (opts.signal?.aborted) onAbort()
      else opts.signal?.addEventListener('abort', onAbort, { once: true })
      const finish = (outcome: ScriptOutcome): void => {
        for (const t of timers) clearTimeout(t)
        opts.signal?.removeEventListener('abort', onAbort)
        if (pid !== undefined) this.groups.delete(pid)
        resolve(outcome)
      }
      child.once('error', (err: NodeJS.ErrnoException) => finish({ kind: 'failed', code: err.code ?? 'KA_ERR_SCRIPT_SPAWN', message: err.message }))
      child.once('exit', (status, signal) => {
        if (timedOut) finish({ kind: 'timed-out' })
        else if (signal) finish({ kind: 'signalled', signal })
        else finish({ kind: 'exited', status: status ?? 0 })
      })
    })
  }

  /** At stop: signal every running script's process group (keepalived's script_killall). */
  killAll(signal: NodeJS.Signals = 'SIGTERM'): void {
    for (const pid of this.groups) killGroup(pid, signal)
  }

  private resolvePath(file: string): string | undefined {
    if (file.includes('/')) return file
    for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
      const candidate = join(dir || '.', file)
      try {
        accessSync(candidate, constants.X_OK)
        if (!statSync(candidate).isFile()) continue
      } catch {
        continue
      }
      this.opts.log.info(`WARNING - script \`${file}\` resolved by path search to \`${candidate}\`. Please specify full path.`)
      return candidate
    }
    this.opts.log.info(`Cannot find script ${file} in path - disabling`)
    return undefined
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // Already gone.
  }
}

interface Mode {
  readonly mode: number
  readonly uid: number
  readonly gid: number
}

function isExecutable(st: Mode, who: ScriptIdentity): boolean {
  if (who.uid === 0) return (st.mode & 0o111) !== 0
  if (who.uid === st.uid) return (st.mode & 0o100) !== 0
  return who.gid === st.gid ? (st.mode & 0o010) !== 0 : (st.mode & 0o001) !== 0
}

/** Root (user or group) runs it, or it is set-uid/set-gid root: only then do the path rules apply. */
function needsProtection(st: Mode, who: ScriptIdentity): boolean {
  return who.uid === 0 || who.gid === 0 ||
    (st.uid === 0 && (st.mode & 0o4100) === 0o4100) || (st.gid === 0 && (st.mode & 0o2010) === 0o2010)
}

/**
 * keepalived's check_security: every component from `/` down must be owned by
 * root, and no file or non-sticky directory may be writable by a non-root group
 * or by everyone.
 */
export function pathIsSafe(path: string): boolean {
  const parts = path.split('/').filter((p) => p !== '')
  const prefixes = ['/', ...parts.map((_, i) => '/' + parts.slice(0, i + 1).join('/'))]
  for (const p of prefixes) {
    let st: Mode & { isDirectory(): boolean; isFile(): boolean }
    try {
      st = lstatSync(p)
    } catch {
      return false
    }
    if (st.uid !== 0) return false
    const checked = (st.isDirectory() && (st.mode & 0o1000) === 0) || st.isFile()
    if (checked && ((st.gid !== 0 && (st.mode & 0o020) !== 0) || (st.mode & 0o002) !== 0)) return false
  }
  return true
}
