/**
 * The real processes behind the process model: a child is a fork of the same
 * dist/cli/main.js with the hidden role variable set (its stdout and stderr
 * are the parent's, so `-l` lines from every process reach the same console);
 * the child's end of the IPC channel; and the detach of a daemon started
 * without `-n` (the starting process waits until the daemon has written its
 * pid file, or has failed, then exits).
 */
import { fork } from 'node:child_process'
import { CHILD_ROLE_ENV, type ChildMessage } from './ipc.js'
import type { ParentChannel } from './child.js'
import type { ChildHandle, ChildSpawner } from './supervisor.js'

/** Set in a detached daemon so that it does not detach again. Never set by hand. */
export const DETACHED_ENV = 'KEEPALIVED_TS_DETACHED'

export interface ForkOptions {
  /** dist/cli/main.js. */
  readonly mainPath: string
  /** The command line the parent got (children read the same flags). */
  readonly args: readonly string[]
  readonly env?: NodeJS.ProcessEnv
}

/** Fork `mainPath` as a child of `role`. */
export function forkSpawner(opts: ForkOptions): ChildSpawner {
  return (role) => {
    const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env), [CHILD_ROLE_ENV]: role }
    delete env[DETACHED_ENV]
    const child = fork(opts.mainPath, [...opts.args], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' })
    // Without a listener an 'error' (a failed send, a failed kill) would crash the parent.
    child.on('error', () => {})
    // A failed fork has no pid and may never emit 'exit'.
    if (child.pid === undefined) throw new Error('the process could not be created')
    const handle: ChildHandle = {
      pid: child.pid,
      send(msg) {
        if (!child.connected) return false
        child.send(msg, (err) => {
          // Dropped: the child is going; its exit is handled on its own.
          void err
        })
        return true
      },
      kill(signal) {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      },
      onMessage: (listener) => void child.on('message', listener),
      onExit: (listener) => void child.on('exit', listener),
    }
    return handle
  }
}

/** The child's end of the channel fork() opened. */
export function processChannel(): ParentChannel {
  const listeners: { event: string; fn: (...args: never[]) => void }[] = []
  const add = (event: string, fn: (...args: never[]) => void): void => {
    listeners.push({ event, fn })
    process.on(event as 'message', fn as () => void)
  }
  return {
    send(msg: ChildMessage) {
      if (process.connected && process.send) process.send(msg, undefined, {}, () => {})
    },
    onMessage: (listener) => add('message', listener as (...args: never[]) => void),
    onDisconnect: (listener) => add('disconnect', listener as (...args: never[]) => void),
    close() {
      for (const l of listeners) process.off(l.event as 'message', l.fn as () => void)
      listeners.length = 0
      if (process.connected) process.disconnect()
    },
  }
}

export interface DetachOptions {
  readonly mainPath: string
  readonly args: readonly string[]
  readonly env?: NodeJS.ProcessEnv
  /** How long to wait for the daemon's pid file before giving up waiting (the daemon runs on). */
  readonly timeoutMs?: number
}

export type DetachResult =
  | { readonly kind: 'ready'; readonly pid: number }
  | { readonly kind: 'exited'; readonly code: number }
  | { readonly kind: 'timeout'; readonly pid: number }

/**
 * keepalived's fork without `-n`: start the daemon in a new session with its
 * stdio on /dev/null, and report when it is ready (pid file written) or why not.
 */
export function detachDaemon(opts: DetachOptions): Promise<DetachResult> {
  const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env), [DETACHED_ENV]: '1' }
  const child = fork(opts.mainPath, [...opts.args], { env, detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'json' })
  child.on('error', () => {})
  return new Promise((resolve) => {
    const done = (r: DetachResult): void => {
      clearTimeout(timer)
      child.removeAllListeners('message')
      child.removeAllListeners('exit')
      if (child.connected) child.disconnect()
      child.unref()
      resolve(r)
    }
    const timer = setTimeout(() => done({ kind: 'timeout', pid: child.pid ?? 0 }), opts.timeoutMs ?? 60_000)
    child.on('message', (m: unknown) => {
      if (typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'daemon-ready') done({ kind: 'ready', pid: child.pid ?? 0 })
    })
    child.on('exit', (code, signal) => done({ kind: 'exited', code: code ?? (signal ? 128 : 1) }))
  })
}

/** In the detached daemon: tell the starting process the pid file is written, and let it go. */
export function announceDetachedReady(): void {
  if (!process.connected || !process.send) return
  process.send({ type: 'daemon-ready' }, undefined, {}, () => {
    if (process.connected) process.disconnect()
  })
}
