/**
 * Cleanup that runs once, whichever comes first: the caller, process exit, or a
 * terminating signal (after which the signal does what it would have done).
 * Namespace helpers install it before creating anything, so no signal finds a
 * namespace unguarded.
 */
import { spawnSync } from 'node:child_process'

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/** Returns the guarded `cleanup`: calling it runs it (once) and removes the process hooks. */
export function guardCleanup(cleanup: () => void): () => void {
  let alive = true
  const run = (): void => {
    if (!alive) return
    alive = false
    process.off('exit', run)
    for (const [sig, handler] of handlers) process.off(sig, handler)
    cleanup()
  }
  const handlers = SIGNALS.map((sig) => {
    const handler = (): void => {
      run()
      process.kill(process.pid, sig)
    }
    return [sig, handler] as const
  })
  process.once('exit', run)
  for (const [sig, handler] of handlers) process.once(sig, handler)
  return run
}

/**
 * Delete the namespaces a run killed outright left behind: those `pattern`
 * matches in `ip netns list` (group 1 the name, group 2 the pid of the run
 * that made it) whose creator is gone.
 */
export function removeStaleNamespaces(pattern: RegExp): void {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 10_000, killSignal: 'SIGKILL' })
  for (const line of (list.stdout ?? '').split('\n')) {
    const m = pattern.exec(line.trim())
    if (!m) continue
    try {
      process.kill(Number(m[2]), 0)
      continue
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EPERM') continue
    }
    spawnSync('ip', ['netns', 'delete', m[1]!], { timeout: 10_000, killSignal: 'SIGKILL' })
  }
}
