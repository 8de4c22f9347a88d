/**
 * A network namespace of a test's own (`kats-chk-<pid>-<tag>`, 10.41.<subnet>.0/24)
 * where `deadHost` sits on a veth subnet with nobody behind it and ARP gives up
 * after one 100 ms probe: datagrams to it get ICMP host unreachable, pings time
 * out. Removed at test end and on process exit. Setup failures throw.
 */
import { spawnSync } from 'node:child_process'
import t from 'tap'
import { NetError } from '../../src/net/errors.js'
import { namedNamespacePath, withNetworkNamespace } from '../../src/net/netns.js'
import { guardCleanup } from './cleanup.js'

export interface DeadHostNamespace {
  readonly name: string
  /** An address on the namespace's subnet that nothing answers. */
  readonly deadHost: string
  /** Run `fn` with this thread in the namespace (sockets opened there stay there). */
  enter<T>(fn: () => T): T
  /** `ip …` inside or about the namespace; throws on failure. */
  ip(...args: string[]): void
}

export function deadHostNamespace(tag: string, subnet: number): DeadHostNamespace {
  const name = `kats-chk-${process.pid}-${tag}`
  const ip = (...args: string[]): void => {
    const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 })
    if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`)
  }
  const remove = guardCleanup(() => void spawnSync('ip', ['netns', 'del', name]))
  spawnSync('ip', ['netns', 'del', name])
  ip('netns', 'add', name)
  t.teardown(remove)
  // The host-unreachable error is an ICMP message from our own address to our own address: it needs lo.
  ip('-n', name, 'link', 'set', 'lo', 'up')
  ip('-n', name, 'link', 'add', 'kchk0', 'type', 'veth', 'peer', 'name', 'kchk1')
  ip('-n', name, 'addr', 'add', `10.41.${subnet}.1/24`, 'dev', 'kchk0')
  ip('-n', name, 'link', 'set', 'kchk0', 'up')
  ip('-n', name, 'link', 'set', 'kchk1', 'up')
  ip('netns', 'exec', name, 'sysctl', '-qw', 'net.ipv4.neigh.kchk0.mcast_solicit=1', 'net.ipv4.neigh.kchk0.retrans_time_ms=100')
  return {
    name,
    deadHost: `10.41.${subnet}.2`,
    enter<T>(fn: () => T): T {
      const r = withNetworkNamespace(namedNamespacePath(name), fn)
      if (r instanceof NetError) throw r
      return r
    },
    ip,
  }
}
