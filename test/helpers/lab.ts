/**
 * A namespace lab for end-to-end tests: N nodes on one Ethernet segment. The
 * bridge lives in a namespace of its own (`kats-lab-<pid>-<n>-br`); each node
 * (`kats-lab-<pid>-<n>-<node>`) has `lo` and `eth0` (a veth whose peer is a
 * bridge port), 10.33.0.<i>/24 and fd33::<i>/64, IPv6 DAD off, a fixed MAC.
 * Processes started in a node are captured line by line and killed, and the
 * namespaces deleted, at test end, on process exit and on SIGINT/SIGTERM/SIGHUP.
 * Needs root and iproute2; when setup fails it throws (a lab test that skips proves nothing).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { guardCleanup } from './cleanup.js'

const PREFIX = 'kats-lab-'
const CMD_TIMEOUT_MS = 10_000
const STOP_GRACE_MS = 5_000
export const DEBIAN_KEEPALIVED = '/usr/sbin/keepalived'
/** dist/cli/main.js of this checkout (built by CI before tap runs). */
export const KEEPALIVED_TS = resolve(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)))

export class LabError extends Error {
  readonly code = 'KA_TEST_LAB'
}

export interface CommandResult {
  readonly status: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface NeighbourEntry {
  readonly dst: string
  readonly dev: string
  readonly lladdr: string | undefined
  readonly state: readonly string[]
}

export interface ExitInfo {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** A process running in a lab node, its stdout and stderr kept as lines. */
export interface LabProcess {
  readonly pid: number
  readonly name: string
  /** stdout and stderr lines, in arrival order, prefixed by nothing. */
  readonly lines: readonly string[]
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitInfo>
  /** The first line (already seen or future) matching `re`, after line index `from`. Rejects on timeout or exit. */
  waitForLine(re: RegExp, timeoutMs: number, from?: number): Promise<string>
  signal(sig: NodeJS.Signals): void
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
  stop(graceMs?: number): Promise<ExitInfo>
}

export interface StartOptions {
  /** Extra arguments after the lab's `-n -l -D -G -f … -p … -r … -c …`. */
  readonly args?: readonly string[]
  readonly env?: NodeJS.ProcessEnv
}

export interface LabNode {
  /** Short name, e.g. `n1`. */
  readonly name: string
  /** The namespace. */
  readonly ns: string
  readonly ifname: 'eth0'
  readonly ipv4: string
  readonly ipv6: string
  readonly mac: string
  /** A private directory for this node's config and pid files. */
  readonly dir: string
  /** Run to completion inside the namespace, bounded. */
  exec(argv: readonly string[], timeoutMs?: number): CommandResult
  /** `ip -o addr show` lines. */
  addresses(): string[]
  /** True when `address` (no prefix) is configured on any interface. */
  hasAddress(address: string): boolean
  neighbours(): NeighbourEntry[]
  linkDown(): void
  linkUp(): void
  /** `ping -c count -W 1`, bounded; true when any reply came. */
  ping(address: string, count?: number): boolean
  spawn(name: string, argv: readonly string[], env?: NodeJS.ProcessEnv): LabProcess
  /** Debian's keepalived with `conf` in the foreground, console log, no syslog, pid files in `dir`. */
  startKeepalived(conf: string, opts?: StartOptions): LabProcess
  /** Ours (dist/cli/main.js) with the same flags. */
  startKeepalivedTs(conf: string, opts?: StartOptions): LabProcess
}

export interface Lab {
  readonly nodes: readonly LabNode[]
  node(name: string): LabNode
  destroy(): void
}

export interface TeardownHost {
  teardown(fn: () => void | Promise<void>): void
}

let labCounter = 0

/** Build a lab of `names` nodes (default n1, n2, …) and register its teardown. */
export function createLab(t: TeardownHost, names: readonly string[] | number): Lab {
  removeStaleLabs()
  const list = typeof names === 'number' ? Array.from({ length: names }, (_, i) => `n${i + 1}`) : [...names]
  if (list.length < 1 || list.length > 200) throw new LabError('a lab has 1 to 200 nodes')
  const id = `${PREFIX}${process.pid}-${labCounter++}`
  const bridgeNs = `${id}-br`
  const tmp = mkdtempSync(join(tmpdir(), 'kats-lab-'))
  const namespaces: string[] = []
  const processes = new Set<ChildProcess>()

  let alive = true
  const destroy = guardCleanup(() => {
    alive = false
    for (const p of processes) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
    for (const ns of namespaces.reverse()) ip(['netns', 'delete', ns])
    rmSync(tmp, { recursive: true, force: true })
  })
  t.teardown(async () => {
    await Promise.all([...processes].map((p) => stopChild(p, STOP_GRACE_MS)))
    destroy()
  })

  const must = (args: readonly string[]): void => {
    const r = ip(args)
    if (r.status !== 0) {
      destroy()
      throw new LabError(`lab setup: 'ip ${args.join(' ')}' failed (needs root and iproute2): ${r.stderr.trim()}`)
    }
  }
  const addNs = (ns: string): void => {
    must(['netns', 'add', ns])
    namespaces.push(ns)
    must(['-n', ns, 'link', 'set', 'lo', 'up'])
  }

  addNs(bridgeNs)
  must(['-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0'])
  must(['-n', bridgeNs, 'link', 'set', 'br0', 'up'])

  const nodes: LabNode[] = list.map((name, i) => {
    const ns = `${id}-${name}`
    const host = i + 1
    const mac = `02:33:00:00:${hex(labCounter % 256)}:${hex(host)}`
    addNs(ns)
    sysctl(ns, 'net.ipv6.conf.all.accept_dad', '0')
    sysctl(ns, 'net.ipv6.conf.default.accept_dad', '0')
    const port = `p${host}`
    must(['-n', bridgeNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns])
    must(['-n', bridgeNs, 'link', 'set', port, 'master', 'br0'])
    must(['-n', bridgeNs, 'link', 'set', port, 'up'])
    must(['-n', ns, 'link', 'set', 'eth0', 'address', mac])
    must(['-n', ns, 'addr', 'add', `10.33.0.${host}/24`, 'dev', 'eth0'])
    must(['-n', ns, 'addr', 'add', `fd33::${host}/64`, 'dev', 'eth0', 'nodad'])
    must(['-n', ns, 'link', 'set', 'eth0', 'up'])
    const dir = join(tmp, name)
    mkdirSync(dir, { recursive: true })
    return makeNode({ name, ns, mac, host, dir, processes, isAlive: () => alive })
  })

  return {
    nodes,
    node(name) {
      const n = nodes.find((x) => x.name === name)
      if (!n) throw new LabError(`no lab node '${name}'`)
      return n
    },
    destroy,
  }
}

interface NodeSetup {
  name: string
  ns: string
  mac: string
  host: number
  dir: string
  processes: Set<ChildProcess>
  isAlive: () => boolean
}

function makeNode(s: NodeSetup): LabNode {
  const exec = (argv: readonly string[], timeoutMs = CMD_TIMEOUT_MS): CommandResult => {
    if (!s.isAlive()) throw new LabError(`lab node ${s.name} is already torn down`)
    return run('ip', ['netns', 'exec', s.ns, ...argv], timeoutMs)
  }
  const startDaemon = (program: readonly string[], tag: string, conf: string, opts: StartOptions = {}): LabProcess => {
    const confFile = join(s.dir, `${tag}.conf`)
    writeFileSync(confFile, conf)
    const argv = [...program, '-n', '-l', '-D', '-G', '-f', confFile,
      '-p', join(s.dir, `${tag}.pid`), '-r', join(s.dir, `${tag}_vrrp.pid`), '-c', join(s.dir, `${tag}_checkers.pid`), ...(opts.args ?? [])]
    return node.spawn(tag, argv, opts.env)
  }
  const node: LabNode = {
    name: s.name,
    ns: s.ns,
    ifname: 'eth0',
    ipv4: `10.33.0.${s.host}`,
    ipv6: `fd33::${s.host}`,
    mac: s.mac,
    dir: s.dir,
    exec,
    addresses: () => exec(['ip', '-o', 'addr', 'show']).stdout.split('\n').filter((l) => l !== ''),
    hasAddress: (address) => node.addresses().some((l) => l.includes(` ${address}/`)),
    neighbours() {
      const r = exec(['ip', '-j', 'neigh', 'show'])
      const parsed = JSON.parse(r.stdout || '[]') as Array<{ dst: string; dev: string; lladdr?: string; state?: string[] }>
      return parsed.map((e) => ({ dst: e.dst, dev: e.dev, lladdr: e.lladdr, state: e.state ?? [] }))
    },
    linkDown: () => void checked(exec(['ip', 'link', 'set', 'eth0', 'down']), 'link down'),
    linkUp: () => void checked(exec(['ip', 'link', 'set', 'eth0', 'up']), 'link up'),
    ping(address, count = 1) {
      const n = Math.max(1, Math.min(count, 20))
      // No ping binary is assumed: a few lines of Node over raw-socket (a project dependency).
      const r = exec([process.execPath, '--input-type=module', '-e', PING_SCRIPT, address, String(n)], (n + 3) * 1000)
      return r.status === 0
    },
    spawn(name, argv, env) {
      if (!s.isAlive()) throw new LabError(`lab node ${s.name} is already torn down`)
      const child = spawn('ip', ['netns', 'exec', s.ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env })
      s.processes.add(child)
      return wrapProcess(`${s.name}/${name}`, child)
    },
    startKeepalived: (conf, opts) => startDaemon([DEBIAN_KEEPALIVED], 'keepalived', conf, opts),
    // Each node's daemon answers `status` on a socket of its own (the default /run/keepalived-ts.sock is one per host).
    startKeepalivedTs: (conf, opts) =>
      startDaemon([process.execPath, KEEPALIVED_TS], 'keepalived-ts', conf, { ...opts, args: [`--control-socket=${join(s.dir, 'keepalived-ts.sock')}`, ...(opts?.args ?? [])] }),
  }
  return node
}

/**
 * ICMP echo to argv[1], argv[2] requests 200 ms apart, 1 s to answer each;
 * exit 0 on the first reply. IPv4 only (the VIPs the lab pings).
 */
const PING_SCRIPT = `
import { createRequire } from 'node:module'
const raw = createRequire(${JSON.stringify(resolve(fileURLToPath(new URL('../../package.json', import.meta.url))))})('raw-socket')
const [target, countText] = process.argv.slice(1)
const count = Number(countText)
const id = process.pid & 0xffff
const socket = raw.createSocket({ protocol: raw.Protocol.ICMP })
socket.on('message', (buf) => {
  const icmp = buf.subarray((buf[0] & 0x0f) * 4)
  if (icmp[0] === 0 && icmp.readUInt16BE(4) === id) process.exit(0)
})
let seq = 0
const send = () => {
  const pkt = Buffer.alloc(16)
  pkt[0] = 8
  pkt.writeUInt16BE(id, 4)
  pkt.writeUInt16BE(seq++, 6)
  raw.writeChecksum(pkt, 2, raw.createChecksum(pkt))
  socket.send(pkt, 0, pkt.length, target, () => {})
  if (seq < count) setTimeout(send, 200)
  else setTimeout(() => process.exit(1), 1000)
}
send()
`

/** A spawned process as a LabProcess: its lines kept, waits bounded, stop = TERM then KILL. */
export function wrapProcess(name: string, child: ChildProcess): LabProcess {
  const lines: string[] = []
  const waiters = new Set<() => void>()
  const notify = (): void => { for (const w of waiters) w() }
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line)
      notify()
    })
  }
  const exited = new Promise<ExitInfo>((res) => {
    child.once('exit', (code, signal) => {
      // Let readline deliver the last lines before anyone hears of the exit.
      setImmediate(() => {
        res({ code, signal })
        notify()
      })
    })
  })
  let done = false
  void exited.then(() => { done = true })
  return {
    pid: child.pid!,
    name,
    lines,
    exited,
    waitForLine(re, timeoutMs, from = 0) {
      return new Promise((resolvePromise, reject) => {
        let timer: NodeJS.Timeout | undefined
        const check = (): void => {
          const hit = lines.slice(from).find((l) => re.test(l))
          if (hit !== undefined) finish(() => resolvePromise(hit))
          else if (done) finish(() => reject(new LabError(`${name} exited before printing ${re}; last lines:\n${lines.slice(-20).join('\n')}`)))
        }
        const finish = (f: () => void): void => {
          clearTimeout(timer)
          waiters.delete(check)
          f()
        }
        timer = setTimeout(() => finish(() => reject(new LabError(`${name}: no line matching ${re} within ${timeoutMs} ms; last lines:\n${lines.slice(-20).join('\n')}`))), timeoutMs)
        waiters.add(check)
        check()
      })
    },
    signal(sig) {
      if (!done) child.kill(sig)
    },
    stop: (graceMs = STOP_GRACE_MS) => stopChild(child, graceMs).then(() => exited),
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopChild(child: ChildProcess, graceMs: number = STOP_GRACE_MS): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const gone = new Promise<void>((res) => child.once('exit', () => res()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await gone
  clearTimeout(timer)
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0')
}

function sysctl(ns: string, key: string, value: string): void {
  run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `${key}=${value}`], CMD_TIMEOUT_MS)
}

function checked(r: CommandResult, what: string): CommandResult {
  if (r.status !== 0) throw new LabError(`${what} failed: ${r.stderr.trim()}`)
  return r
}

function ip(args: readonly string[]): CommandResult {
  return run('ip', args, CMD_TIMEOUT_MS)
}

/** A command run to completion within `timeoutMs` (killed past it); output as text. */
export function run(cmd: string, args: readonly string[], timeoutMs: number): CommandResult {
  const r = spawnSync(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: (r.error ? `${r.error.message}\n` : '') + (r.stderr ?? '') }
}

/** Labs left by a run that was killed outright: ours by name, only if their creator is gone. */
function removeStaleLabs(): void {
  const list = ip(['netns', 'list'])
  if (list.status !== 0) return
  for (const line of list.stdout.split('\n')) {
    const m = /^(kats-lab-(\d+)-\S+)/.exec(line.trim())
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
