/**
 * Network namespaces for the src/net tests: two namespaces `a` and `b` joined
 * by a veth pair (`veth-a` in a, `veth-b` in b), both up, with
 * 10.32.1.1/24 + fd32::1/64 on a and 10.32.1.2/24 + fd32::2/64 on b. IPv6 DAD
 * is off on both ends so link-local and fd32:: addresses are usable at once.
 *
 * How tests get sockets in there: in-process, with `ns.enter(() => open…())`
 * (src/net/netns.ts: setns(2) on the main thread, create, switch back — a socket
 * keeps the namespace it was created in). That was chosen over child processes
 * (`ip netns exec … node`) because it is fast (no second Node start-up per
 * case), needs no build, and lets one test hold both ends of a conversation.
 * Commands (`ip`, `keepalived`) run through `ip netns exec`.
 *
 * Names start with `kats-net-<pid>-`; namespaces are deleted in teardown, on
 * exit and on SIGINT/SIGTERM/SIGHUP, and stale ones of dead pids are removed
 * before creating new ones. Creation failing throws: a test that silently
 * skipped without root would prove nothing.
 */
import { spawnSync } from 'node:child_process'
import { NetError } from '../../src/net/errors.js'
import { namedNamespacePath, withNetworkNamespace } from '../../src/net/netns.js'
import { guardCleanup, removeStaleNamespaces } from '../helpers/cleanup.js'

const PREFIX = 'kats-net-'
const COMMAND_TIMEOUT_MS = 10_000

/** What `t.teardown` needs. */
export interface TeardownHost {
  teardown(fn: () => void | Promise<void>): void
}

export interface CommandResult {
  status: number | null
  stdout: string
  stderr: string
}

/** One namespace of the pair. */
export interface TestNamespace {
  readonly name: string
  /** The veth end inside this namespace. */
  readonly interface: string
  readonly ipv4: string
  readonly ipv6: string
  /** Run a command inside the namespace (bounded); throws when it fails. */
  run(argv: readonly string[], timeoutMs?: number): CommandResult
  /** Run a command inside the namespace; the result whatever the status. */
  exec(argv: readonly string[], timeoutMs?: number): CommandResult
  /** Create src/net handles inside this namespace. */
  enter<T>(fn: () => T): T
}

export interface NamespacePair {
  a: TestNamespace
  b: TestNamespace
}

let counter = 0

function command(cmd: string, args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): CommandResult {
  const r = spawnSync(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout ?? '', stderr: (r.error ? `${r.error.message}\n` : '') + (r.stderr ?? '') }
}

function must(cmd: string, args: readonly string[], timeoutMs?: number): CommandResult {
  const r = command(cmd, args, timeoutMs)
  if (r.status !== 0) throw new Error(`'${cmd} ${args.join(' ')}' exited ${r.status}: ${r.stderr.trim()}`)
  return r
}

/** Create the pair and register its removal; throws when it cannot be built. */
export function createPair(t: TeardownHost): NamespacePair {
  removeStaleNamespaces(/^(kats-net-(\d+)-\d+-[ab])\b/)
  const base = `${PREFIX}${process.pid}-${counter++}`
  const names = { a: `${base}-a`, b: `${base}-b` }
  const destroy = guardCleanup(() => {
    command('ip', ['netns', 'delete', names.a])
    command('ip', ['netns', 'delete', names.b])
  })
  t.teardown(destroy)

  try {
    must('ip', ['netns', 'add', names.a])
    must('ip', ['netns', 'add', names.b])
    must('ip', ['-n', names.a, 'link', 'add', 'veth-a', 'type', 'veth', 'peer', 'name', 'veth-b', 'netns', names.b])
    const ends = [
      [names.a, 'veth-a', '10.32.1.1', 'fd32::1'],
      [names.b, 'veth-b', '10.32.1.2', 'fd32::2'],
    ] as const
    for (const [ns, ifname] of ends) {
      // DAD would hold link-local and fd32:: addresses tentative for a second or more.
      must('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `net.ipv6.conf.${ifname}.accept_dad=0`])
      must('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
      must('ip', ['-n', ns, 'link', 'set', ifname, 'up'])
    }
    // Addresses go on after both ends are up (carrier on), so IPv6 joins each
    // address's solicited-node group at once; added before, the first neighbour
    // solicitation went unanswered and unicast IPv6 waited a 1 s retransmit.
    for (const [ns, ifname, v4, v6] of ends) {
      must('ip', ['-n', ns, 'addr', 'add', `${v4}/24`, 'dev', ifname])
      must('ip', ['-n', ns, 'addr', 'add', `${v6}/64`, 'dev', ifname, 'nodad'])
    }
  } catch (err) {
    destroy()
    throw err
  }

  const make = (name: string, ifname: string, ipv4: string, ipv6: string): TestNamespace => ({
    name,
    interface: ifname,
    ipv4,
    ipv6,
    run: (argv, timeoutMs) => must('ip', ['netns', 'exec', name, ...argv], timeoutMs),
    exec: (argv, timeoutMs) => command('ip', ['netns', 'exec', name, ...argv], timeoutMs),
    enter: <T>(fn: () => T): T => {
      const r = withNetworkNamespace(namedNamespacePath(name), fn)
      // Failing to enter is a setup failure; a NetError that `fn` returns is the caller's value.
      if (r instanceof NetError && r.code === 'KA_NET_NAMESPACE') throw r
      return r as T
    },
  })
  return { a: make(names.a, 'veth-a', '10.32.1.1', 'fd32::1'), b: make(names.b, 'veth-b', '10.32.1.2', 'fd32::2') }
}

/** The link-local address of `ifname` in `ns` (from `ip -6 addr`). */
export function linkLocal(ns: TestNamespace): string {
  const out = ns.run(['ip', '-6', '-o', 'addr', 'show', 'dev', ns.interface, 'scope', 'link']).stdout
  const m = /inet6 (fe80::[0-9a-f:]+)\//.exec(out)
  if (!m) throw new Error(`no link-local address on ${ns.interface} in ${ns.name}: ${out}`)
  return m[1]!
}

/** Resolve with the first value `next` gives, or reject after `ms` (every wait is bounded). */
export function within<T>(ms: number, what: string, start: (resolve: (v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
    start((v) => {
      clearTimeout(timer)
      resolve(v)
    })
  })
}
