/**
 * The namespace lab of the VRRP reload tests: nodes `kats-rl-<pid>-<n>-<node>`
 * on a bridge in `kats-rl-<pid>-<n>-br`, each with eth0 = 10.36.0.<i>/24 and
 * fd36::<i>/64 (DAD off, a fixed MAC), a private directory, and processes
 * kept as lines (the LabProcess of lab.ts). Daemons get a private TMPDIR, so
 * their signal dumps land in `dumpDir`. Everything is killed and deleted at
 * test end, on exit and on SIGINT/SIGTERM/SIGHUP. Needs root and iproute2;
 * a setup failure throws.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { guardCleanup, removeStaleNamespaces } from './cleanup.js'
import { type CommandResult, DEBIAN_KEEPALIVED, KEEPALIVED_TS, type LabProcess, run as runFor, stopChild, type TeardownHost, wrapProcess } from './lab.js'

const PREFIX = 'kats-rl-'
const CMD_TIMEOUT_MS = 10_000

export interface RlNode {
  readonly name: string
  readonly ns: string
  readonly ipv4: string
  readonly ipv6: string
  readonly mac: string
  readonly dir: string
  /** The TMPDIR of daemons started here: their /tmp/keepalived.* files. */
  readonly dumpDir: string
  exec(argv: readonly string[], timeoutMs?: number): CommandResult
  hasAddress(address: string): boolean
  /** The MAC this node's neighbour table holds for `address`. */
  neighbourMac(address: string): string | undefined
  spawn(name: string, argv: readonly string[], env?: NodeJS.ProcessEnv): LabProcess
  /** Ours (dist/cli/main.js) or Debian's, `-n -l -D -G -f … -p … -r … -c …`, TMPDIR = dumpDir. */
  startDaemon(impl: 'ours' | 'keepalived', conf: string): LabProcess
  /** Rewrite the configuration file of a daemon started with {@link startDaemon}. */
  writeConf(impl: 'ours' | 'keepalived', conf: string): void
  /** The pid in the daemon's `-p` file (whatever process model runs behind it). */
  daemonPid(impl: 'ours' | 'keepalived'): number
}

export interface RlLab {
  node(name: string): RlNode
}

let counter = 0

export function createReloadLab(t: TeardownHost, names: readonly string[]): RlLab {
  removeStaleNamespaces(/^(kats-rl-(\d+)-\S+)/)
  const id = `${PREFIX}${process.pid}-${counter++}`
  const tmp = mkdtempSync(join(tmpdir(), 'kats-rl-'))
  const namespaces: string[] = []
  const processes = new Set<ChildProcess>()
  const destroy = guardCleanup(() => {
    for (const p of processes) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
    for (const ns of namespaces.reverse()) run('ip', ['netns', 'delete', ns])
    rmSync(tmp, { recursive: true, force: true })
  })
  t.teardown(async () => {
    await Promise.all([...processes].map((p) => stopChild(p)))
    destroy()
  })
  const must = (args: readonly string[]): void => {
    const r = run('ip', args)
    if (r.status !== 0) {
      destroy()
      throw new Error(`lab setup: 'ip ${args.join(' ')}' failed (needs root and iproute2): ${r.stderr.trim()}`)
    }
  }
  const addNs = (ns: string): void => {
    must(['netns', 'add', ns])
    namespaces.push(ns)
    must(['-n', ns, 'link', 'set', 'lo', 'up'])
  }
  const bridge = `${id}-br`
  addNs(bridge)
  must(['-n', bridge, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0'])
  must(['-n', bridge, 'link', 'set', 'br0', 'up'])
  const nodes = names.map((name, i): RlNode => {
    const host = i + 1
    const ns = `${id}-${name}`
    const mac = `02:36:00:00:${(counter % 256).toString(16).padStart(2, '0')}:${host.toString(16).padStart(2, '0')}`
    addNs(ns)
    for (const key of ['net.ipv6.conf.all.accept_dad', 'net.ipv6.conf.default.accept_dad']) run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `${key}=0`])
    must(['-n', bridge, 'link', 'add', `p${host}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns])
    must(['-n', bridge, 'link', 'set', `p${host}`, 'master', 'br0'])
    must(['-n', bridge, 'link', 'set', `p${host}`, 'up'])
    must(['-n', ns, 'link', 'set', 'eth0', 'address', mac])
    must(['-n', ns, 'addr', 'add', `10.36.0.${host}/24`, 'dev', 'eth0'])
    must(['-n', ns, 'addr', 'add', `fd36::${host}/64`, 'dev', 'eth0', 'nodad'])
    must(['-n', ns, 'link', 'set', 'eth0', 'up'])
    const dir = join(tmp, name)
    const dumpDir = join(dir, 'tmp')
    mkdirSync(dumpDir, { recursive: true })
    return makeNode({ name, ns, host, mac, dir, dumpDir, processes })
  })
  return {
    node(name) {
      const n = nodes.find((x) => x.name === name)
      if (!n) throw new Error(`no lab node '${name}'`)
      return n
    },
  }
}

function makeNode(s: { name: string; ns: string; host: number; mac: string; dir: string; dumpDir: string; processes: Set<ChildProcess> }): RlNode {
  const tag = (impl: 'ours' | 'keepalived'): string => (impl === 'ours' ? 'keepalived-ts' : 'keepalived')
  const exec = (argv: readonly string[], timeoutMs = CMD_TIMEOUT_MS): CommandResult => run('ip', ['netns', 'exec', s.ns, ...argv], timeoutMs)
  const node: RlNode = {
    name: s.name,
    ns: s.ns,
    ipv4: `10.36.0.${s.host}`,
    ipv6: `fd36::${s.host}`,
    mac: s.mac,
    dir: s.dir,
    dumpDir: s.dumpDir,
    exec,
    hasAddress: (address) => exec(['ip', '-o', 'addr', 'show']).stdout.split('\n').some((l) => l.includes(` ${address}/`)),
    neighbourMac(address) {
      const parsed = JSON.parse(exec(['ip', '-j', 'neigh', 'show']).stdout || '[]') as { dst: string; lladdr?: string }[]
      return parsed.find((e) => e.dst === address)?.lladdr
    },
    spawn(name, argv, env) {
      const child = spawn('ip', ['netns', 'exec', s.ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env })
      s.processes.add(child)
      return wrapProcess(`${s.name}/${name}`, child)
    },
    writeConf: (impl, conf) => writeFileSync(join(s.dir, `${tag(impl)}.conf`), conf),
    startDaemon(impl, conf) {
      node.writeConf(impl, conf)
      const t = tag(impl)
      const program = impl === 'ours' ? [process.execPath, KEEPALIVED_TS] : [DEBIAN_KEEPALIVED]
      return node.spawn(t, [...program, '-n', '-l', '-D', '-G', '-f', join(s.dir, `${t}.conf`),
        '-p', join(s.dir, `${t}.pid`), '-r', join(s.dir, `${t}_vrrp.pid`), '-c', join(s.dir, `${t}_checkers.pid`)], { ...process.env, TMPDIR: s.dumpDir })
    },
    daemonPid: (impl) => Number(readFileSync(join(s.dir, `${tag(impl)}.pid`), 'utf8').trim()),
  }
  return node
}

const run = (cmd: string, args: readonly string[], timeoutMs = CMD_TIMEOUT_MS): CommandResult => runFor(cmd, args, timeoutMs)

