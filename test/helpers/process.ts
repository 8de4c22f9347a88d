/**
 * Helpers for the process-model tests. In-process children: the real child
 * shell (src/daemon/child.ts) driving a test subsystem over an in-memory,
 * JSON-round-tripped channel, so the parent and supervisor run for real and
 * fast without forking. A recording subsystem. And a one-namespace lab
 * (`kats-pm-<pid>-<n>`, 10.35.0.0/16, fd35::/64) with a daemon wrapper that
 * keeps its output as lines, for the integration tests of dist/cli/main.js.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { type ParentChannel, runChild } from '../../src/daemon/child.js'
import type { ChildMessage, ParentMessage } from '../../src/daemon/ipc.js'
import type { Subsystem, SubsystemContext, SubsystemRegistry, SubsystemRole } from '../../src/daemon/subsystem.js'
import type { ChildHandle, ChildSpawner } from '../../src/daemon/supervisor.js'
import { createLogging, type LogRecord } from '../../src/log/logger.js'
import { guardCleanup } from './cleanup.js'

export const KEEPALIVED_TS = resolve(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)))

/** Pids above the kernel's pid_max: never a live process, so pid-file checks never meet them. */
let fakePid = 4_200_000

export interface InProcessChild {
  readonly role: SubsystemRole
  readonly pid: number
  /** The child's SignalSource: emit 'SIGUSR1' etc. as if sent to the child directly. */
  readonly signals: EventEmitter
  /** Resolves with runChild's exit code (never for a killed child). */
  readonly done: Promise<number>
  /** Die now, like a crash: the parent sees `exit(code, signal)`; the child's later lines are dropped. */
  die(code: number | null, signal?: NodeJS.Signals | null): void
}

export interface InProcessOptions {
  readonly registry: SubsystemRegistry
  /** Where every process's lines go (the parent's too, when it logs there). */
  readonly records: LogRecord[]
  readonly pidFile: (role: SubsystemRole) => string
  readonly detail?: boolean
  readonly stopTimeoutMs?: number
}

/** A spawner whose children run in this process; `children` lists every one started, in order. */
export function inProcessSpawner(opts: InProcessOptions): { spawn: ChildSpawner; children: InProcessChild[] } {
  const children: InProcessChild[] = []
  const spawnChild: ChildSpawner = (role) => {
    const pid = fakePid++
    const toChild = new EventEmitter()
    const toParent = new EventEmitter()
    const signals = new EventEmitter()
    let dead = false
    let connected = true
    const exitListeners: ((code: number | null, signal: NodeJS.Signals | null) => void)[] = []
    const exit = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (dead) return
      dead = true
      connected = false
      setImmediate(() => { for (const l of exitListeners) l(code, signal) })
    }
    const channel: ParentChannel = {
      send(msg: ChildMessage) {
        if (!connected) return
        const copy = JSON.parse(JSON.stringify(msg)) as unknown
        setImmediate(() => { if (!dead) toParent.emit('message', copy) })
      },
      onMessage: (l) => void toChild.on('message', l),
      onDisconnect: (l) => void toChild.on('disconnect', l),
      close() {
        connected = false
        toChild.removeAllListeners()
      },
    }
    const logging = createLogging({ syslog: false, console: false, pid, detail: opts.detail ?? true, sinks: [(r) => { if (!dead) opts.records.push(r) }] })
    const done = runChild({
      role, logging, subsystems: opts.registry, channel, signals, pid, pidFile: opts.pidFile(role),
      options: { logDetail: true, releaseVips: false, dontReleaseVrrp: false, dontReleaseIpvs: false, addressMonitoring: false },
      ...(opts.stopTimeoutMs !== undefined ? { stopTimeoutMs: opts.stopTimeoutMs } : {}),
      cpu: () => ({ selfUser: 1000, selfSystem: 2000, childrenUser: 0, childrenSystem: 0 }),
      keepAlive: false,
    })
    void done.then((code) => exit(code, null))
    const handle: ChildHandle = {
      pid,
      send(msg: ParentMessage) {
        if (!connected) return false
        const copy = JSON.parse(JSON.stringify(msg)) as unknown
        setImmediate(() => { if (connected) toChild.emit('message', copy) })
        return true
      },
      kill(signal) {
        if (dead) return
        if (signal === 'SIGKILL') die(null, 'SIGKILL')
        else signals.emit(signal)
      },
      onMessage: (l) => void toParent.on('message', l),
      onExit: (l) => void exitListeners.push(l),
    }
    // A killed child just stops hearing and being heard; nothing of it runs on (no keep-alive timer).
    const die = (code: number | null, signal: NodeJS.Signals | null = null): void => exit(code, signal)
    children.push({ role, pid, signals, done, die })
    return handle
  }
  return { spawn: spawnChild, children }
}

/** A subsystem that records what the shell asked of it, as `role:call` strings. */
export function recordingSubsystem(calls: string[], overrides: (ctx: SubsystemContext) => Partial<Subsystem> = () => ({})) {
  return (ctx: SubsystemContext): Subsystem => ({
    async start(config, hints) {
      calls.push(`${ctx.role}:start ${config.vrrp.instances.map((i) => i.name).join(',')}${hints?.respawn ? ` respawn ${JSON.stringify(hints.vrrpStates ?? {})}` : ''}`)
    },
    async stop() {
      calls.push(`${ctx.role}:stop`)
    },
    async reload(config) {
      calls.push(`${ctx.role}:reload ${config.vrrp.instances.map((i) => i.name).join(',')}`)
    },
    dumpData: () => void calls.push(`${ctx.role}:data`),
    dumpStats: (clear) => void calls.push(`${ctx.role}:stats${clear ? ' clear' : ''}`),
    dumpJson: () => void calls.push(`${ctx.role}:json`),
    ...overrides(ctx),
  })
}

export async function until(cond: () => boolean, what: string, ms = 5000, stepMs = 10): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, stepMs))
  }
}

export interface DaemonProcess {
  readonly pid: number
  readonly lines: string[]
  /** The console lines without keepalived's `%c: ` timestamp. */
  texts(): string[]
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  waitFor(re: RegExp, ms?: number, from?: number): Promise<string>
  signal(sig: NodeJS.Signals | number): void
}

function wrap(child: ChildProcess, killAfterMs: number): DaemonProcess {
  const lines: string[] = []
  for (const s of [child.stdout!, child.stderr!]) createInterface({ input: s }).on('line', (l) => lines.push(l))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => setImmediate(() => res({ code, signal }))))
  // A daemon that should have stopped but did not fails its test instead of hanging the run.
  const guard = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
  void exited.then(() => clearTimeout(guard))
  let gone = false
  void exited.then(() => { gone = true })
  return {
    pid: child.pid!,
    lines,
    texts: () => lines.map((l) => l.replace(/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}: /, '')),
    exited,
    async waitFor(re, ms = 10_000, from = 0) {
      const end = Date.now() + ms
      for (;;) {
        const hit = lines.slice(from).find((l) => re.test(l))
        if (hit !== undefined) return hit
        if (gone) throw new Error(`daemon exited before printing ${re}; last lines:\n${lines.slice(-15).join('\n')}`)
        if (Date.now() > end) throw new Error(`no line matching ${re} within ${ms} ms; last lines:\n${lines.slice(-15).join('\n')}`)
        await new Promise((r) => setTimeout(r, 20))
      }
    },
    signal(sig) {
      if (!gone) process.kill(child.pid!, sig)
    },
  }
}

/** dist/cli/main.js with `args`, outside any namespace; killed at test end. */
export function startDaemon(t: { teardown(fn: () => void): void }, args: readonly string[], env: NodeJS.ProcessEnv = {}, killAfterMs = 60_000): DaemonProcess {
  const child = spawn(process.execPath, [KEEPALIVED_TS, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  return wrap(child, killAfterMs)
}

export interface PmNamespace {
  readonly ns: string
  readonly dir: string
  readonly ipv4: string
  exec(argv: readonly string[]): { status: number | null; stdout: string; stderr: string }
  /** True when `address` is on eth0 now. */
  hasAddress(address: string): boolean
  /** dist/cli/main.js inside the namespace; killed (with its children) at test end. */
  daemon(args: readonly string[], env?: NodeJS.ProcessEnv, killAfterMs?: number): DaemonProcess
}

let nsCounter = 0

/** One namespace with eth0 (10.35.<n>.1/24, fd35::<n>:1/64) and its veth peer eth1, both up. Root needed. */
export function createPmNamespace(t: { teardown(fn: () => void | Promise<void>): void }): PmNamespace {
  const n = ++nsCounter
  const ns = `kats-pm-${process.pid}-${n}`
  const dir = mkdtempSync(join(tmpdir(), 'kats-pm-'))
  const procs = new Set<ChildProcess>()
  const run = (cmd: string, args: readonly string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000, killSignal: 'SIGKILL' })
    return { status: r.status, stdout: r.stdout ?? '', stderr: (r.error ? `${r.error.message}\n` : '') + (r.stderr ?? '') }
  }
  const destroy = guardCleanup(() => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
    // The daemon's children are in the namespace too: nothing of ours may outlive it.
    run('ip', ['netns', 'pids', ns]).stdout.split('\n').filter(Boolean).forEach((pid) => { try { process.kill(Number(pid), 'SIGKILL') } catch { /* gone */ } })
    run('ip', ['netns', 'delete', ns])
    rmSync(dir, { recursive: true, force: true })
  })
  t.teardown(destroy)
  const must = (args: readonly string[]): void => {
    const r = run('ip', args)
    if (r.status !== 0) {
      destroy()
      throw new Error(`namespace setup: 'ip ${args.join(' ')}' failed (needs root and iproute2): ${r.stderr.trim()}`)
    }
  }
  must(['netns', 'add', ns])
  must(['-n', ns, 'link', 'set', 'lo', 'up'])
  must(['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1'])
  must(['-n', ns, 'addr', 'add', `10.35.${n}.1/24`, 'dev', 'eth0'])
  must(['-n', ns, 'addr', 'add', `fd35::${n}:1/64`, 'dev', 'eth0', 'nodad'])
  must(['-n', ns, 'link', 'set', 'eth0', 'up'])
  must(['-n', ns, 'link', 'set', 'eth1', 'up'])
  const exec = (argv: readonly string[]) => run('ip', ['netns', 'exec', ns, ...argv])
  return {
    ns,
    dir,
    ipv4: `10.35.${n}.1`,
    exec,
    hasAddress: (address) => exec(['ip', '-o', 'addr', 'show', 'dev', 'eth0']).stdout.includes(` ${address}/`),
    daemon(args, env = {}, killAfterMs = 90_000) {
      const child = spawn('ip', ['netns', 'exec', ns, process.execPath, KEEPALIVED_TS, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
      procs.add(child)
      return wrap(child, killAfterMs)
    },
  }
}
