/**
 * The parent's side of its children (reference §3.4): one child per role,
 * started with the current configuration snapshot (`Starting VRRP child
 * process, pid=N`), restarted when it dies (with keepalived's lines and
 * respawn-rate delay, and the VRRP states it last reported so a healthy
 * MASTER resumes without a flap), or the daemon told to stop (`-R`, or a
 * permanent error). Reloads, dumps and status requests go over IPC with
 * bounded waits; stopping sends SIGTERM and, after child_wait_time, SIGKILL.
 * Children come from an injected spawner, so tests can run them in-process.
 */
import type { Logger } from '../log/logger.js'
import type { CheckersStatus, VrrpStateName, VrrpStatus } from '../status/types.js'
import { exitingLine, reportChildExit, respawningLines, RestartDelay, SHORT_NAMES } from './child-exit.js'
import type { ConfigSnapshot } from './config-snapshot.js'
import { asChildMessage, type ChildMessage, type DumpKind, type ParentMessage } from './ipc.js'
import { EXIT, ROLE_NAMES, type StartHints, type SubsystemRole } from './subsystem.js'

/** A running child as the parent sees it; a forked process in production. */
export interface ChildHandle {
  readonly pid: number | undefined
  /** False when the channel is closed (the message is dropped). */
  send(msg: ParentMessage): boolean
  kill(signal: NodeJS.Signals): void
  onMessage(listener: (msg: unknown) => void): void
  onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void
}

/** Starts a child; throws when it cannot (fork failed). */
export type ChildSpawner = (role: SubsystemRole) => ChildHandle

export interface SupervisorDeps {
  readonly spawn: ChildSpawner
  readonly log: Logger
  /** `-R`. */
  readonly dontRespawn: boolean
  /** The configuration children start and respawn with (the last good one). */
  readonly snapshot: () => ConfigSnapshot
  /** A child exited with a permanent error (1, 2, 4): the daemon terminates with that code. */
  readonly onPermanentError: (code: number) => void
  /** With `-R`, a child died: the daemon stops. */
  readonly onDiedNoRespawn: () => void
  readonly now?: () => number
  /** One respawn-delay second, in ms (tests shorten it). */
  readonly secondMs?: number
  /** keepalived's child_wait_time, 5 s. */
  readonly stopTimeoutMs?: number
  /** How long a status request may take. */
  readonly statusTimeoutMs?: number
  /** How long a child may take to apply a reload. */
  readonly reloadTimeoutMs?: number
}

export interface ProcessInfo {
  readonly role: SubsystemRole
  readonly pid: number | undefined
  readonly restarts: number
}

type ChildState = 'starting' | 'running' | 'respawn-pending' | 'stopping' | 'gone'

interface Supervised {
  readonly role: SubsystemRole
  handle: ChildHandle | undefined
  pid: number | undefined
  state: ChildState
  startedAt: number
  restarts: number
  readonly delay: RestartDelay
  respawnTimer: NodeJS.Timeout | undefined
  /** The snapshot generation the child runs; a starting child gets the newer one once started. */
  generation: number
  readonly vrrpStates: Map<string, VrrpStateName>
  readonly pending: Map<number, (msg: ChildMessage | undefined) => void>
  exited: Promise<void>
  firstStart: { promise: Promise<boolean>; resolve: (ok: boolean) => void }
}

export class Supervisor {
  private readonly children = new Map<SubsystemRole, Supervised>()
  private stopping = false
  private nextId = 1
  private generation = 0

  constructor(private readonly deps: SupervisorDeps) {}

  /** Start a child for `role`; resolves true once it has started, false if the daemon stopped first. */
  start(role: SubsystemRole): Promise<boolean> {
    let resolveFirst: (ok: boolean) => void = () => {}
    const promise = new Promise<boolean>((r) => { resolveFirst = r })
    const c: Supervised = {
      role, handle: undefined, pid: undefined, state: 'starting', startedAt: 0, restarts: 0,
      delay: new RestartDelay(role), respawnTimer: undefined, generation: this.generation,
      vrrpStates: new Map(), pending: new Map(), exited: Promise.resolve(), firstStart: { promise, resolve: resolveFirst },
    }
    this.children.set(role, c)
    this.launch(c, { respawn: false })
    return promise
  }

  /** The roles with a child (running, starting or waiting to be respawned). */
  roles(): SubsystemRole[] {
    return [...this.children.keys()]
  }

  processes(): ProcessInfo[] {
    return [...this.children.values()].map((c) => ({ role: c.role, pid: c.state === 'running' || c.state === 'starting' ? c.pid : undefined, restarts: c.restarts }))
  }

  /** The VRRP states the VRRP child last reported (the hints of its next respawn). */
  vrrpStates(): Record<string, VrrpStateName> {
    return Object.fromEntries(this.children.get('vrrp')?.vrrpStates ?? [])
  }

  /** Send the current snapshot to every child; resolves when each has answered (or could not). */
  async reload(): Promise<void> {
    this.generation++
    await Promise.all([...this.children.values()].map((c) => (c.state === 'running' ? this.reloadChild(c) : Promise.resolve())))
  }

  dump(kind: DumpKind): void {
    for (const c of this.children.values()) if (c.state === 'running') c.handle?.send({ type: 'dump', kind })
  }

  /** The child's Subsystem.status(), or undefined when it is not running or does not answer in time. */
  async status(role: SubsystemRole): Promise<VrrpStatus | CheckersStatus | undefined> {
    const c = this.children.get(role)
    if (!c || c.state !== 'running') return undefined
    const reply = await this.request(c, (id) => ({ type: 'status', id }), this.deps.statusTimeoutMs ?? 1000)
    return reply?.type === 'status' ? (reply.status ?? undefined) : undefined
  }

  /** Stop one role's child (a reload removed its configuration). */
  async stopRole(role: SubsystemRole): Promise<void> {
    const c = this.children.get(role)
    if (!c) return
    await this.terminate([c])
    this.children.delete(role)
  }

  /** SIGTERM to every child, SIGKILL to those still there after child_wait_time. */
  async stopAll(): Promise<void> {
    this.stopping = true
    await this.terminate([...this.children.values()])
  }

  private launch(c: Supervised, hints: { respawn: boolean }): void {
    let handle: ChildHandle
    try {
      handle = this.deps.spawn(c.role)
    } catch (err) {
      // keepalived cannot run without the child either: it gives up.
      this.deps.log.error(`${ROLE_NAMES[c.role]} child process: fork error(${(err as Error).message})`)
      c.state = 'gone'
      c.firstStart.resolve(false)
      this.deps.onPermanentError(EXIT.FATAL)
      return
    }
    c.handle = handle
    c.pid = handle.pid
    c.state = 'starting'
    c.startedAt = this.now()
    c.generation = this.generation
    this.deps.log.info(`Starting ${ROLE_NAMES[c.role]} child process, pid=${handle.pid}`)
    let resolveExit: () => void = () => {}
    c.exited = new Promise<void>((r) => { resolveExit = r })
    handle.onMessage((raw) => this.message(c, handle, raw))
    handle.onExit((code, signal) => {
      if (c.handle !== handle) return
      c.handle = undefined
      for (const settle of c.pending.values()) settle(undefined)
      c.pending.clear()
      resolveExit()
      this.exited(c, handle.pid ?? 0, code, signal)
    })
    const startHints: StartHints = c.role === 'vrrp' && hints.respawn
      ? { respawn: true, vrrpStates: Object.fromEntries(c.vrrpStates) }
      : { respawn: hints.respawn }
    handle.send({ type: 'start', snapshot: this.deps.snapshot(), hints: startHints })
  }

  private message(c: Supervised, handle: ChildHandle, raw: unknown): void {
    if (c.handle !== handle) return
    const msg = asChildMessage(raw)
    if (!msg) return
    switch (msg.type) {
      case 'started':
        if (c.state !== 'starting') return
        c.state = 'running'
        c.firstStart.resolve(true)
        // A reload came while it was starting: it started with an older configuration.
        if (c.generation !== this.generation) void this.reloadChild(c)
        return
      case 'state':
        c.vrrpStates.set(msg.instance, msg.state)
        return
      case 'reloaded':
      case 'status': {
        const settle = c.pending.get(msg.id)
        c.pending.delete(msg.id)
        settle?.(msg)
        return
      }
    }
  }

  private async reloadChild(c: Supervised): Promise<void> {
    c.generation = this.generation
    const snapshot = this.deps.snapshot()
    const reply = await this.request(c, (id) => ({ type: 'reload', id, snapshot }), this.deps.reloadTimeoutMs ?? 60_000)
    if (!reply) this.deps.log.warning(`${ROLE_NAMES[c.role]} child process did not confirm the reload`)
  }

  private request(c: Supervised, make: (id: number) => ParentMessage, timeoutMs: number): Promise<ChildMessage | undefined> {
    const handle = c.handle
    if (!handle) return Promise.resolve(undefined)
    const id = this.nextId++
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        c.pending.delete(id)
        resolve(undefined)
      }, timeoutMs)
      c.pending.set(id, (msg) => {
        clearTimeout(timer)
        resolve(msg)
      })
      if (!handle.send(make(id))) {
        c.pending.get(id)?.(undefined)
        c.pending.delete(id)
      }
    })
  }

  private exited(c: Supervised, pid: number, code: number | null, signal: NodeJS.Signals | null): void {
    const report = reportChildExit(pid, { code, signal })
    for (const line of report.lines) this.deps.log.info(line)
    if (this.stopping || c.state === 'stopping') {
      c.state = 'gone'
      return
    }
    if (report.permanent !== undefined) {
      c.state = 'gone'
      c.firstStart.resolve(false)
      this.deps.onPermanentError(report.permanent)
      return
    }
    if (this.deps.dontRespawn) {
      c.state = 'gone'
      c.firstStart.resolve(false)
      this.deps.log.alert(exitingLine(c.role, pid))
      this.deps.onDiedNoRespawn()
      return
    }
    const lines = respawningLines(c.role, pid)
    this.deps.log.alert(lines.alert)
    for (const line of lines.info) this.deps.log.info(line)
    const delay = c.delay.next(this.now() - c.startedAt)
    if (delay.line) this.deps.log.info(delay.line)
    c.restarts++
    c.state = 'respawn-pending'
    const again = (): void => {
      c.respawnTimer = undefined
      if (this.stopping || c.state !== 'respawn-pending') return
      this.launch(c, { respawn: true })
    }
    if (delay.seconds === 0) again()
    else c.respawnTimer = setTimeout(again, delay.seconds * (this.deps.secondMs ?? 1000))
  }

  private async terminate(list: Supervised[]): Promise<void> {
    const live: Supervised[] = []
    for (const c of list) {
      if (c.respawnTimer) clearTimeout(c.respawnTimer)
      c.respawnTimer = undefined
      c.firstStart.resolve(false)
      const wasLive = c.handle !== undefined
      c.state = wasLive ? 'stopping' : 'gone'
      if (wasLive) {
        live.push(c)
        c.handle!.kill('SIGTERM')
      }
    }
    const all = Promise.all(live.map((c) => c.exited))
    if (await within(all, this.deps.stopTimeoutMs ?? 5000)) return
    const stubborn = live.filter((c) => c.handle !== undefined)
    for (const c of stubborn) {
      this.deps.log.info(`${SHORT_NAMES[c.role]} process failed to die - forcing termination`)
      c.handle!.kill('SIGKILL')
    }
    await within(Promise.all(stubborn.map((c) => c.exited)), 2000)
  }

  private now(): number {
    return (this.deps.now ?? Date.now)()
  }
}

/** True when `p` settled within `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([p.then(() => true as const), timeout])
  } finally {
    clearTimeout(timer)
  }
}
