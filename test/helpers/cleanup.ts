/**
 * Cleanup that runs once, whichever comes first: the caller, process exit, or a
 * terminating signal (after which the signal does what it would have done).
 * Namespace helpers install it before creating anything, so no signal finds a
 * namespace unguarded.
 */
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
