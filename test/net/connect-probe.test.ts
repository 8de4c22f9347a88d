/**
 * probeConnect (TCP_CHECK's connect-and-close on one epoll instance) against
 * connectStream followed by close, its reference: every case is run through
 * both, and they must agree on the outcome's kind and errno.
 */
import { readdirSync } from 'node:fs'
import t from 'tap'
import { probeConnect } from '../../src/net/connect-probe.js'
import { connectStream, type StreamConnectOptions, type StreamError } from '../../src/net/stream-probe.js'
import { closedPort, listen } from '../fixtures/check/servers.js'
import { createPair } from './ns.js'

const never = new AbortController().signal

function options(port: number, over: Partial<StreamConnectOptions> = {}): StreamConnectOptions {
  return { address: '127.0.0.1', port, family: 4, timeoutMs: 2000, signal: never, ...over }
}

/** connectStream, then close: the reference outcome. */
async function reference(o: StreamConnectOptions): Promise<StreamError | undefined> {
  const r = await connectStream(o)
  if (!r.ok) return r.error
  r.stream.close()
  return undefined
}

const summary = (e: StreamError | undefined): string => (e === undefined ? 'connected' : `${e.kind} ${e.errno?.name ?? '-'}`)

t.test('on this host: each outcome equals connectStream + close', async (t) => {
  const peer = await listen(t)
  const six = await listen(t, () => {}, '::1')
  const refused = await closedPort()
  // A second connection from the same source to the same peer would meet the first in TIME_WAIT.
  const bindPorts = [await closedPort(), await closedPort()]
  const cases: [string, StreamConnectOptions, string, string?][] = [
    ['a listener', options(peer.port), 'connected'],
    ['nothing listening', options(refused), 'connect-failed ECONNREFUSED'],
    ['IPv6', options(six.port, { address: '::1', family: 6 }), 'connected'],
    ['a source address the host lacks', options(peer.port, { bindAddress: '192.0.2.77' }), 'bind EADDRNOTAVAIL'],
    ['bindto + bind_port', options(peer.port, { bindAddress: '127.0.0.2', bindPort: bindPorts[0] }), 'connected'],
    ['a port out of range', options(70000), 'connect-failed -'],
    // libuv names the errno that Node's net refuses without one.
    ['a source that is not an address', options(peer.port, { bindAddress: 'not-an-address' }), 'bind EINVAL', 'bind -'],
    ['a missing bind_if', options(peer.port, { bindInterface: 'nosuch0' }), 'sockopt ENODEV'],
  ]
  for (const [what, o, expected, expectedReference = expected] of cases) {
    const ours = summary(await probeConnect(o))
    const again = o.bindPort ? { ...o, bindPort: bindPorts[1] } : o
    const theirs = summary(await reference(again))
    t.equal(ours, expected, `${what}: probeConnect`)
    t.equal(theirs, expectedReference, `${what}: connectStream`)
  }
  const before = peer.accepted.length
  await probeConnect(options(peer.port))
  await new Promise((r) => setTimeout(r, 50))
  t.equal(peer.accepted.length, before + 1, 'the listener saw the connection')
})

t.test('bindto and bind_port are the source the server sees', async (t) => {
  const peer = await listen(t)
  const bindPort = await closedPort()
  t.equal(await probeConnect(options(peer.port, { bindAddress: '127.0.0.2', bindPort })), undefined)
  const accepted = peer.accepted[0] ?? (await peer.nextConnection())
  t.same([accepted.remoteAddress, accepted.remotePort], ['127.0.0.2', bindPort])
})

t.test('an aborted signal connects nothing; an abort while connecting ends the attempt', async (t) => {
  const peer = await listen(t)
  const ac = new AbortController()
  ac.abort()
  t.equal((await probeConnect(options(peer.port, { signal: ac.signal })))?.kind, 'aborted')
  await new Promise((r) => setTimeout(r, 50))
  t.equal(peer.accepted.length, 0)
})

t.test('in a network namespace: timeout, no route, abort, fwmark and bind_if agree with connectStream', async (t) => {
  const { a } = createPair(t)
  const both = async (o: StreamConnectOptions): Promise<[string, string, number]> => {
    const started = performance.now()
    const ours = summary(await a.enter(() => probeConnect(o)))
    const took = performance.now() - started
    return [ours, summary(await a.enter(() => reference(o))), took]
  }
  // 10.32.1.99 is on a's subnet but nobody answers ARP: the SYN never leaves.
  const [timeout, timeoutRef, took] = await both(options(80, { address: '10.32.1.99', timeoutMs: 250 }))
  t.same([timeout, timeoutRef], ['connect-timeout -', 'connect-timeout -'])
  t.ok(took >= 240 && took < 2000, `timed out after ${took.toFixed(0)} ms`)

  t.same((await both(options(80, { address: '192.0.2.1' }))).slice(0, 2), ['unreachable ENETUNREACH', 'unreachable ENETUNREACH'])
  t.same((await both(options(9, { address: '10.32.1.2' }))).slice(0, 2), ['connect-failed ECONNREFUSED', 'connect-failed ECONNREFUSED'],
    'created inside the namespace: b refuses')

  const ac = new AbortController()
  const started = performance.now()
  setTimeout(() => ac.abort(), 50)
  const aborted = await a.enter(() => probeConnect(options(80, { address: '10.32.1.99', timeoutMs: 5000, signal: ac.signal })))
  t.equal(aborted?.kind, 'aborted')
  t.ok(performance.now() - started < 1000)

  // Marked packets route by table 100, which prohibits b: the mark is what decides.
  a.run(['ip', 'rule', 'add', 'fwmark', '7', 'table', '100'])
  a.run(['ip', 'route', 'add', 'prohibit', '10.32.1.2', 'table', '100'])
  t.same((await both(options(9, { address: '10.32.1.2', fwmark: 7 }))).slice(0, 2), ['connect-failed EACCES', 'connect-failed EACCES'],
    'marked: the prohibit route answers')
  t.same((await both(options(9, { address: '10.32.1.2', bindInterface: a.interface }))).slice(0, 2),
    ['connect-failed ECONNREFUSED', 'connect-failed ECONNREFUSED'], 'bound to the veth: b answers')
  t.same((await both(options(9, { address: '10.32.1.2', bindInterface: 'lo', timeoutMs: 300 }))).slice(0, 2),
    ['connect-timeout -', 'connect-timeout -'], 'bound to lo: the SYN never reaches b')
})

t.test('no file descriptor outlives a probe, whatever the outcome', async (t) => {
  const openFds = (): number => readdirSync('/proc/self/fd').length
  const peer = await listen(t, (s) => s.destroy())
  const refused = await closedPort()
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 100))
  await settle()
  const before = openFds()
  for (let i = 0; i < 20; i++) {
    await probeConnect(options(peer.port))
    await probeConnect(options(refused))
    await probeConnect(options(peer.port, { bindAddress: '192.0.2.77' }))
    await probeConnect(options(peer.port, { bindInterface: 'nosuch0' }))
    await probeConnect(options(peer.port, { fwmark: 3 }))
    await probeConnect(options(70000))
  }
  const ac = new AbortController()
  const pending = Array.from({ length: 20 }, () => probeConnect(options(peer.port, { signal: ac.signal })))
  ac.abort()
  await Promise.all(pending)
  await settle()
  t.equal(openFds(), before)
})
