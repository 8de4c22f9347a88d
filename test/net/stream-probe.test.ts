import t from 'tap'
import { connectStream, type ConnectResult, type ProbeStream, type StreamConnectOptions } from '../../src/net/stream-probe.js'
import { closedPort, listen, receive, selfSignedCertificate, type TeardownHost } from '../fixtures/check/servers.js'
import { createPair } from './ns.js'

const never = new AbortController().signal

function options(port: number, over: Partial<StreamConnectOptions> = {}): StreamConnectOptions {
  return { address: '127.0.0.1', port, family: 4, timeoutMs: 2000, signal: never, ...over }
}

/** The stream of a successful connect (closed in teardown); fails the test otherwise. */
function connected(t: TeardownHost, r: ConnectResult): ProbeStream {
  if (!r.ok) throw new Error(`expected a connection, got ${r.error.kind}: ${r.error.message}`)
  t.teardown(() => r.stream.close())
  return r.stream
}

t.test('connects, writes, and reads a reply until the peer closes', async (t) => {
  const peer = await listen(t, (s) => s.once('data', (d) => s.end(`echo:${d.toString()}`)))
  const stream = connected(t, await connectStream(options(peer.port)))
  t.equal(stream.localAddress, '127.0.0.1')
  t.equal(stream.localPort, peer.accepted[0]?.remotePort, 'the local port is the one the server saw')
  t.equal(await stream.write('ping', 1000), undefined)
  const all = await stream.readAll({ timeoutMs: 1000, maxBytes: 1024 })
  t.same({ data: all.data.toString(), end: all.end, error: all.error }, { data: 'echo:ping', end: true, error: undefined })
  const after = await stream.read(100)
  t.equal(after.kind, 'end', 'reading after the end says end again')
})

t.test('read() returns what has arrived; readAll stops at maxBytes', async (t) => {
  const peer = await listen(t, (s) => s.write('0123456789'))
  const stream = connected(t, await connectStream(options(peer.port)))
  const first = await stream.read(1000)
  t.equal(first.kind === 'data' && first.data.toString(), '0123456789')
  peer.accepted[0]!.write('abcdefghij')
  const capped = await stream.readAll({ timeoutMs: 1000, maxBytes: 4 })
  t.same({ data: capped.data.toString(), end: capped.end }, { data: 'abcd', end: false })
})

t.test('a peer that sends nothing gives read-timeout; the socket stays usable', async (t) => {
  const peer = await listen(t)
  const stream = connected(t, await connectStream(options(peer.port)))
  const started = performance.now()
  const r = await stream.read(150)
  const waited = performance.now() - started
  t.equal(r.kind === 'error' && r.error.kind, 'read-timeout')
  t.ok(waited >= 140 && waited < 1000, `waited ${waited.toFixed(0)} ms`)
  peer.accepted[0]!.write('late')
  const late = await stream.read(1000)
  t.equal(late.kind === 'data' && late.data.toString(), 'late')
})

t.test('a write the peer never drains gives write-timeout', async (t) => {
  const peer = await listen(t, (s) => s.pause())
  const stream = connected(t, await connectStream(options(peer.port)))
  const e = await stream.write(Buffer.alloc(64 << 20), 200)
  t.equal(e?.kind, 'write-timeout')
})

t.test('a refused connection is connect-failed with ECONNREFUSED', async (t) => {
  const r = await connectStream(options(await closedPort()))
  t.equal(r.ok, false)
  if (!r.ok) t.same([r.error.kind, r.error.errno?.name], ['connect-failed', 'ECONNREFUSED'])
})

t.test('bindto and bind_port set the source of the connection', async (t) => {
  const peer = await listen(t)
  const bindPort = await closedPort()
  const stream = connected(t, await connectStream(options(peer.port, { bindAddress: '127.0.0.2', bindPort })))
  const accepted = await (peer.accepted[0] ? Promise.resolve(peer.accepted[0]) : peer.nextConnection())
  t.equal(accepted.remoteAddress, '127.0.0.2')
  t.equal(accepted.remotePort, bindPort)
  t.equal(stream.localAddress, '127.0.0.2')
})

t.test('a source address the host does not have is a bind failure', async (t) => {
  const r = await connectStream(options(1, { bindAddress: '192.0.2.77' }))
  t.equal(r.ok, false)
  if (!r.ok) t.same([r.error.kind, r.error.errno?.name], ['bind', 'EADDRNOTAVAIL'])
})

t.test('IPv6 works end to end', async (t) => {
  const peer = await listen(t, (s) => s.end('six'), '::1')
  const stream = connected(t, await connectStream(options(peer.port, { address: '::1', family: 6 })))
  const all = await stream.readAll({ timeoutMs: 1000, maxBytes: 100 })
  t.equal(all.data.toString(), 'six')
})

t.test('TLS without verification, with and without SNI', async (t) => {
  const cert = selfSignedCertificate(t)
  const seen: (string | false | null)[] = []
  const peer = await listen(t, (s) => {
    seen.push((s as import('node:tls').TLSSocket).servername)
    s.end('secret')
  }, '127.0.0.1', cert)
  for (const servername of ['www.example.org', undefined, '10.0.0.1']) {
    const stream = connected(t, await connectStream(options(peer.port, { tls: { servername } })))
    const all = await stream.readAll({ timeoutMs: 1000, maxBytes: 100 })
    t.equal(all.data.toString(), 'secret')
  }
  t.same(seen, ['www.example.org', false, false], 'SNI only for a host name')
})

t.test('TLS to a plain server that hangs up is a tls error; to one that says nothing, a connect timeout', async (t) => {
  const hangUp = await listen(t, (s) => s.once('data', () => s.end('HTTP/1.0 400 Bad Request\r\n\r\n')))
  const r1 = await connectStream(options(hangUp.port, { tls: {} }))
  t.equal(!r1.ok && r1.error.kind, 'tls')
  const silent = await listen(t)
  const started = performance.now()
  const r2 = await connectStream(options(silent.port, { tls: {}, timeoutMs: 200 }))
  t.equal(!r2.ok && r2.error.kind, 'connect-timeout')
  t.ok(performance.now() - started < 1500)
})

t.test('abort while reading resolves the read and closes the socket', async (t) => {
  const peer = await listen(t)
  const ac = new AbortController()
  const stream = connected(t, await connectStream(options(peer.port, { signal: ac.signal })))
  const serverSide = peer.accepted[0] ?? (await peer.nextConnection())
  const closed = receive(serverSide, () => false)
  const pending = stream.read(5000)
  setTimeout(() => ac.abort(), 50)
  const r = await pending
  t.equal(r.kind === 'error' && r.error.kind, 'aborted')
  await closed
  t.pass('the server saw the connection close')
  t.equal((await stream.write('x', 100))?.kind, 'aborted')
})

t.test('an already aborted signal connects nothing', async (t) => {
  const peer = await listen(t)
  const ac = new AbortController()
  ac.abort()
  const r = await connectStream(options(peer.port, { signal: ac.signal }))
  t.equal(!r.ok && r.error.kind, 'aborted')
  await new Promise((r) => setTimeout(r, 50))
  t.equal(peer.accepted.length, 0)
})

t.test('in a network namespace: timeout, no route, abort, fwmark and bind_if', async (t) => {
  const { a } = createPair(t)
  const inA = (o: StreamConnectOptions): Promise<ConnectResult> => a.enter(() => connectStream(o))

  // 10.32.1.99 is on a's subnet but nobody answers ARP: the SYN never leaves.
  let started = performance.now()
  const timeout = await inA(options(80, { address: '10.32.1.99', timeoutMs: 250 }))
  const took = performance.now() - started
  t.equal(!timeout.ok && timeout.error.kind, 'connect-timeout')
  t.ok(took >= 240 && took < 2000, `timed out after ${took.toFixed(0)} ms`)

  const noRoute = await inA(options(80, { address: '192.0.2.1' }))
  t.same(!noRoute.ok && [noRoute.error.kind, noRoute.error.errno?.name], ['unreachable', 'ENETUNREACH'])

  const ac = new AbortController()
  started = performance.now()
  setTimeout(() => ac.abort(), 50)
  const aborted = await inA(options(80, { address: '10.32.1.99', timeoutMs: 5000, signal: ac.signal }))
  t.equal(!aborted.ok && aborted.error.kind, 'aborted')
  t.ok(performance.now() - started < 1000)

  // Marked packets route by table 100, which prohibits b: the mark is what decides.
  a.run(['ip', 'rule', 'add', 'fwmark', '7', 'table', '100'])
  a.run(['ip', 'route', 'add', 'prohibit', '10.32.1.2', 'table', '100'])
  const plain = await inA(options(9, { address: '10.32.1.2' }))
  t.same(!plain.ok && [plain.error.kind, plain.error.errno?.name], ['connect-failed', 'ECONNREFUSED'], 'unmarked: b refuses')
  const marked = await inA(options(9, { address: '10.32.1.2', fwmark: 7 }))
  t.same(!marked.ok && marked.error.errno?.name, 'EACCES', 'marked: the prohibit route answers')

  const viaVeth = await inA(options(9, { address: '10.32.1.2', bindInterface: a.interface }))
  t.same(!viaVeth.ok && viaVeth.error.errno?.name, 'ECONNREFUSED', 'bound to the veth: b answers')
  const viaLo = await inA(options(9, { address: '10.32.1.2', bindInterface: 'lo', timeoutMs: 300 }))
  t.equal(!viaLo.ok && viaLo.error.kind, 'connect-timeout', 'bound to lo: the SYN never reaches b')
  const noSuch = await inA(options(9, { address: '10.32.1.2', bindInterface: 'nosuch0' }))
  t.same(!noSuch.ok && [noSuch.error.kind, noSuch.error.errno?.name], ['sockopt', 'ENODEV'])
})

t.test('what Node refuses before any system call comes back as a value, not a throw', async (t) => {
  const badPort = await connectStream(options(70000))
  t.equal(!badPort.ok && badPort.error.kind, 'connect-failed')
  const badSource = await connectStream(options(80, { bindAddress: 'not-an-address' }))
  t.equal(!badSource.ok && badSource.error.kind, 'bind')
})

t.test('no file descriptor outlives its probe, whatever the outcome', async (t) => {
  const { readdirSync } = await import('node:fs')
  const openFds = (): number => readdirSync('/proc/self/fd').length
  const peer = await listen(t, (s) => s.destroy())
  const refusedPort = await closedPort()
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 100))
  await settle()
  const before = openFds()
  for (let i = 0; i < 10; i++) {
    const ok = await connectStream(options(peer.port))
    if (ok.ok) {
      await ok.stream.read(500)
      ok.stream.close()
    }
    await connectStream(options(refusedPort))
    await connectStream(options(peer.port, { bindAddress: '192.0.2.77' }))
    await connectStream(options(peer.port, { bindInterface: 'nosuch0' }))
    await connectStream(options(peer.port, { tls: {} }))
    await connectStream(options(70000))
  }
  await settle()
  t.equal(openFds(), before)
})
