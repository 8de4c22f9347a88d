/**
 * PING_CHECK: the echo codec against hand-made bytes, then real echoes —
 * 127.0.0.1 and ::1 answer over a ping socket and over a raw one, and an
 * address on a veth subnet with no one there in a network namespace of our own
 * (kats-chk-…, 10.41.0.0/16) times out within connect_timeout. The namespace
 * starts with the kernel's default ping_group_range ("1 0": nobody), so
 * `auto` must fall back to a raw socket there; widening the range (as
 * keepalived does) lets a ping socket through.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import type { PingCheck } from '../../src/config/lvs/model.js'
import { namedNamespacePath, withNetworkNamespace } from '../../src/net/netns.js'
import { NetError } from '../../src/net/errors.js'
import { icmpEcho } from '../../src/net/icmp-probe.js'
import { createPingCheckRunner, decodeEcho, encodeEchoRequest, internetChecksum, isEchoReplyTo, pingLines } from '../../src/check/ping.js'
import type { CheckTarget } from '../../src/check/probe.js'
import { guardCleanup } from '../helpers/cleanup.js'

const NS = `kats-chk-${process.pid}-ping`
const ip = (...args: string[]): void => {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 })
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`)
}
const removeNs = guardCleanup(() => void spawnSync('ip', ['netns', 'del', NS]))
spawnSync('ip', ['netns', 'del', NS])
ip('netns', 'add', NS)
t.teardown(removeNs)
ip('-n', NS, 'link', 'set', 'lo', 'up')
// 10.41.7.2 is on kchk0's subnet, but the other end (kchk1) has no address: ARP goes unanswered.
ip('-n', NS, 'link', 'add', 'kchk0', 'type', 'veth', 'peer', 'name', 'kchk1')
ip('-n', NS, 'addr', 'add', '10.41.7.1/24', 'dev', 'kchk0')
ip('-n', NS, 'link', 'set', 'kchk0', 'up')
ip('-n', NS, 'link', 'set', 'kchk1', 'up')

function inNs<T>(fn: () => T): T {
  const r = withNetworkNamespace(namedNamespacePath(NS), fn)
  if (r instanceof NetError) throw r
  return r
}

function target(address: string, family: 4 | 6 = 4): CheckTarget {
  const text = family === 4 ? `[${address}]:tcp:80` : `[${address}]:tcp:80`
  return { address, port: 80, family, protocol: 'TCP', text, vsText: '[10.41.0.100]:tcp:80', virtualhost: undefined }
}

function check(overrides: Partial<PingCheck> = {}): PingCheck {
  return {
    kind: 'PING_CHECK',
    pos: { file: 'test.conf', line: 1, col: 1 },
    retry: 1,
    delayBeforeRetry: 1_000_000,
    warmup: 0,
    delayLoop: 5_000_000,
    alpha: false,
    logAllFailures: false,
    connectIp: undefined,
    connectPort: undefined,
    bindto: undefined,
    bindPort: undefined,
    bindIf: undefined,
    connectTimeout: 2_000_000,
    fwmark: undefined,
    ...overrides,
  }
}

t.test('echo request bytes: type, identifier, sequence, keepalived fill, RFC 1071 checksum', async (t) => {
  const v4 = encodeEchoRequest(4, 0x1234, 7)
  t.equal(v4.length, 136)
  t.equal(v4.toString('hex', 0, 8), `0800${v4.toString('hex', 2, 4)}12340007`)
  t.equal(v4.toString('latin1', 8, 27), 'keepalived check - ')
  t.equal(internetChecksum(v4), 0, 'a message with its checksum sums to zero')
  const v6 = encodeEchoRequest(6, 0xbeef, 0xffff + 2, Buffer.from('ab'))
  t.equal(v6.toString('hex'), '80000000beef00016162', 'ICMPv6 checksum left to the kernel; sequence wraps')
  // RFC 1071 §3 example words 0001 f203 f4f5 f6f7 sum to ddf2, checksum 220d.
  t.equal(internetChecksum(Buffer.from('0001f203f4f5f6f7', 'hex')), 0x220d)
  t.equal(internetChecksum(Buffer.from('01', 'hex')), 0xfeff, 'an odd byte is padded with zero')
})

t.test('only the matching echo reply is ours', async (t) => {
  const reply = Buffer.from('00000000abcd0005', 'hex')
  t.same(decodeEcho(reply), { type: 0, code: 0, identifier: 0xabcd, sequence: 5, data: Buffer.alloc(0) })
  t.equal(decodeEcho(Buffer.alloc(7)), undefined)
  t.equal(isEchoReplyTo(4, reply, 0xabcd, 5), true)
  t.equal(isEchoReplyTo(4, reply, 0xabcd, 6), false, 'other sequence')
  t.equal(isEchoReplyTo(4, reply, 0xabce, 5), false, 'other identifier')
  t.equal(isEchoReplyTo(6, reply, 0xabcd, 5), false, 'type 0 is not an ICMPv6 echo reply')
  t.equal(isEchoReplyTo(6, Buffer.from('81000000abcd0005', 'hex'), 0xabcd, 5), true)
  t.equal(isEchoReplyTo(4, Buffer.from('08000000abcd0005', 'hex'), 0xabcd, 5), false, 'our own request is not a reply')
})

t.test('keepalived lines', async (t) => {
  const lines = pingLines(target('10.41.7.2'))
  const o = { ok: false, failure: undefined, latencyMs: 1 }
  t.equal(lines.up(o), 'ICMP connection to [10.41.7.2]:tcp:80 success.')
  t.equal(lines.down(o, 2, false), 'ICMP CHECK on service [10.41.7.2]:tcp:80 of [10.41.0.100]:tcp:80 failed after 2 retries.')
  t.equal(lines.down(o, 0, false), 'ICMP CHECK on service [10.41.7.2]:tcp:80 failed.')
  t.equal(lines.down(o, 3, true), 'ICMP CHECK on service [10.41.7.2]:tcp:80 failed.')
})

for (const [address, family] of [['127.0.0.1', 4], ['::1', 6]] as const) {
  t.test(`${address} answers: raw socket in the namespace (auto falls back), ping socket once the range allows`, async (t) => {
    const runner = createPingCheckRunner({ id: 'p', target: target(address, family), check: check() })
    t.equal(runner.kind, 'PING_CHECK')
    const viaRaw = await inNs(() => icmpEcho({
      address,
      request: encodeEchoRequest(family, 4242, 1),
      accept: (m) => isEchoReplyTo(family, m, 4242, 1),
      timeoutMs: 2000,
    }))
    t.equal(viaRaw.kind, 'reply')
    t.equal(viaRaw.socketKind, 'raw', 'default ping_group_range: no ping socket')
    const explicit = await inNs(() => icmpEcho({ address, request: encodeEchoRequest(family, 4243, 1), accept: () => true, timeoutMs: 500, socketKind: 'datagram' }))
    t.equal(explicit.kind, 'failed', 'a ping socket is refused outright')
    if (explicit.kind === 'failed') t.equal(explicit.error.errno?.name, 'EACCES')

    const outcome = await inNs(() => runner.probe(new AbortController().signal))
    t.equal(outcome.ok, true)
    t.equal(outcome.failure, undefined)
    t.ok(outcome.latencyMs >= 0 && outcome.latencyMs < 2000)

    ip('netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv4.ping_group_range=0 2147483647')
    t.teardown(() => ip('netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv4.ping_group_range=1 0'))
    const viaPing = await inNs(() => icmpEcho({
      address,
      request: encodeEchoRequest(family, 4244, 9),
      accept: (m) => isEchoReplyTo(family, m, 4244, 9),
      timeoutMs: 2000,
    }))
    t.equal(viaPing.kind, 'reply')
    t.equal(viaPing.socketKind, 'datagram')
    if (viaPing.kind === 'reply') t.same(decodeEcho(viaPing.data)?.data.toString('latin1', 0, 19), 'keepalived check - ', 'our data echoed')
    t.equal((await inNs(() => runner.probe(new AbortController().signal))).ok, true)
  })
}

t.test('an address with nothing behind it times out within connect_timeout', async (t) => {
  for (const socketKind of ['raw', 'auto'] as const) {
    const runner = createPingCheckRunner({ id: 'p', target: target('10.41.7.2'), check: check({ connectTimeout: 300_000 }), socketKind })
    const before = performance.now()
    const outcome = await inNs(() => runner.probe(new AbortController().signal))
    const took = performance.now() - before
    t.equal(outcome.ok, false, socketKind)
    t.equal(outcome.failure, 'ICMP connection to address [10.41.7.2]:tcp:80 timeout.')
    t.ok(took >= 290 && took < 1500, `${socketKind}: took ${took} ms`)
  }
})

t.test('connect_ip is what gets pinged; abort stops the wait', async (t) => {
  const runner = createPingCheckRunner({ id: 'p', target: target('10.41.7.2'), check: check({ connectIp: '127.0.0.1' }), socketKind: 'raw' })
  t.equal((await inNs(() => runner.probe(new AbortController().signal))).ok, true, 'connect_ip 127.0.0.1 answers for the silent real server')
  const silent = createPingCheckRunner({ id: 'p', target: target('10.41.7.2'), check: check({ connectTimeout: 10_000_000 }), socketKind: 'raw' })
  const ac = new AbortController()
  setTimeout(() => ac.abort(), 50)
  const before = performance.now()
  const outcome = await inNs(() => silent.probe(ac.signal))
  t.equal(outcome.ok, false)
  t.equal(outcome.failure, undefined, 'an aborted attempt logs nothing')
  t.ok(performance.now() - before < 1000)
})

t.test('a socket that cannot be made is a failed attempt with keepalived\'s line', async (t) => {
  const runner = createPingCheckRunner({ id: 'p', target: target('127.0.0.1'), check: check({ bindIf: 'kats-none0' }), socketKind: 'raw' })
  const outcome = await runner.probe(new AbortController().signal)
  t.equal(outcome.ok, false)
  t.equal(outcome.failure, 'ICMP connection to [127.0.0.1]:tcp:80 of [10.41.0.100]:tcp:80 failed.')
})
