/**
 * A throw-away network namespace with a fixed set of interfaces, so that
 * `keepalived -t` and ours see the same host whatever machine runs the tests:
 * `lo` (up) and `eth0`, one end of a veth pair whose peer `vpeer0` sits in the
 * same namespace (both up). Nothing else exists in it, so a sample naming
 * `eth1` meets a missing interface on every machine alike.
 *
 * Creation needs root (`ip netns add`); when it fails we throw, because a
 * differential test that silently skips proves nothing.
 */
import { spawnSync } from 'node:child_process'
import { guardCleanup } from '../helpers/cleanup.js'

/** The interfaces every namespace has, in the operator's words. */
export const NAMESPACE_INTERFACES: readonly string[] = ['lo', 'eth0', 'vpeer0']

const PREFIX = 'kats-diff-'
/** `ip` itself answers in milliseconds; anything slower is a wedged kernel or tool. */
const IP_TIMEOUT_MS = 10_000
const DEFAULT_EXEC_TIMEOUT_MS = 10_000

export interface ExecResult {
  /** Exit status, or null when the process was killed by a signal. */
  readonly status: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly timedOut: boolean
}

export interface ExecOptions {
  cwd?: string
  timeoutMs?: number
  /** Environment of the command; default this process's. */
  env?: NodeJS.ProcessEnv
}

export interface Namespace {
  readonly name: string
  /** Run `argv` inside the namespace (`ip netns exec NAME ...`), bounded by a timeout. */
  exec(argv: readonly string[], opts?: ExecOptions): ExecResult
  /** Delete the namespace; safe to call more than once. */
  destroy(): void
}

/** What `t.teardown` needs, so the helper does not depend on tap's types. */
export interface TeardownHost {
  teardown(fn: () => void): void
}

export class NamespaceError extends Error {
  readonly code = 'KA_TEST_NETNS'
}

let counter = 0

/**
 * Create the namespace and register its removal with `t.teardown` and on process
 * exit or a terminating signal. Throws {@link NamespaceError} when it cannot be
 * set up.
 */
export function createNamespace(t: TeardownHost): Namespace {
  removeStaleNamespaces()
  const name = `${PREFIX}${process.pid}-${counter++}`
  // Cleanup is in place before the namespace exists, so no signal finds it unguarded.
  let alive = true
  const destroy = guardCleanup(() => {
    alive = false
    ip(['netns', 'delete', name])
  })
  t.teardown(destroy)

  const added = ip(['netns', 'add', name])
  if (added.status !== 0) {
    destroy()
    throw new NamespaceError(
      `cannot create network namespace '${name}' (the differential test needs root and iproute2): ` +
        `'ip netns add' exited ${describeExit(added)}: ${added.stderr.trim()}`,
    )
  }

  const setup = [
    ['-n', name, 'link', 'set', 'lo', 'up'],
    ['-n', name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'vpeer0'],
    ['-n', name, 'link', 'set', 'eth0', 'up'],
    ['-n', name, 'link', 'set', 'vpeer0', 'up'],
  ]
  for (const args of setup) {
    const r = ip(args)
    if (r.status !== 0) {
      destroy()
      throw new NamespaceError(`cannot set up namespace '${name}': 'ip ${args.join(' ')}' exited ${describeExit(r)}: ${r.stderr.trim()}`)
    }
  }

  return {
    name,
    destroy,
    exec(argv, opts = {}) {
      if (!alive) throw new NamespaceError(`namespace '${name}' is already deleted`)
      return run('ip', ['netns', 'exec', name, ...argv], opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS, opts.cwd, opts.env)
    },
  }
}

/** Interface names as the namespace sees them (sysfs is remounted by `ip netns exec`). */
export function listNamespaceInterfaces(ns: Namespace): string[] {
  const r = ns.exec(['ls', '/sys/class/net'])
  return r.stdout.split(/\s+/).filter((s) => s !== '').sort()
}

export function describeExit(r: ExecResult): string {
  if (r.timedOut) return 'by timeout'
  return r.signal ? `on signal ${r.signal}` : String(r.status)
}

function ip(args: readonly string[]): ExecResult {
  return run('ip', args, IP_TIMEOUT_MS, undefined, undefined)
}

function run(cmd: string, args: readonly string[], timeoutMs: number, cwd: string | undefined, env: NodeJS.ProcessEnv | undefined): ExecResult {
  const r = spawnSync(cmd, args, { cwd, env, timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT'
  const spawnError = r.error && !timedOut ? `${cmd}: ${r.error.message}\n` : ''
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: spawnError + (r.stderr ?? ''), timedOut }
}

/**
 * Namespaces left by a run that was killed outright (SIGKILL, a crash): ours by
 * name, and only those whose creating process is gone.
 */
function removeStaleNamespaces(): void {
  const list = ip(['netns', 'list'])
  if (list.status !== 0) return
  for (const line of list.stdout.split('\n')) {
    const m = /^(kats-diff-(\d+)-\d+)\b/.exec(line.trim())
    if (!m || processExists(Number(m[2]))) continue
    ip(['netns', 'delete', m[1]!])
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
