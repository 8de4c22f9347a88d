/**
 * udpExchange against real local sockets: a reply, the caller's accept filter,
 * a closed port (ICMP port unreachable → `refused`), silence (timeout within
 * its bound), abort, a cut-down receive size, binding, and no leaked fds.
 */
import t from 'tap'
import { createSocket, type Socket } from 'node:dgram'
import { readdirSync } from 'node:fs'
import { isHardIcmpError, udpExchange } from '../../src/net/datagram-probe.js'
import { deadHostNamespace } from '../helpers/dead-host.js'

type Family = 'udp4' | 'udp6'
interface TeardownHost {
  teardown(fn: () => void | Promise<void>): void
}

/** A dgram server; `reply` turns each request into the datagrams sent back (none: stay silent). */
async function server(t: TeardownHost, type: Family, reply: (msg: Buffer) => Buffer[]): Promise<{ port: number; socket: Socket; received: Buffer[] }> {
  const socket = createSocket(type)
  const received: Buffer[] = []
  socket.on('message', (msg, rinfo) => {
    received.push(msg)
    for (const out of reply(msg)) socket.send(out, rinfo.port, rinfo.address)
  })
  await new Promise<void>((resolve) => socket.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', resolve))
  t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())))
  return { port: socket.address().port, socket, received }
}

/** A port nothing listens on: bind one, note it, close it. */
async function closedPort(type: Family): Promise<number> {
  const s = createSocket(type)
  await new Promise<void>((resolve) => s.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', resolve))
  const port = s.address().port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}


const openFds = (): number => readdirSync('/proc/self/fd').length

for (const [type, address] of [['udp4', '127.0.0.1'], ['udp6', '::1']] as const) {
  t.test(`${type}: the reply comes back with its bytes`, async (t) => {
    const echo = await server(t, type, (m) => [Buffer.concat([Buffer.from('re:'), m])])
    const r = await udpExchange({ address, port: echo.port, payload: Buffer.from('ping'), timeoutMs: 2000 })
    t.equal(r.kind, 'reply')
    if (r.kind === 'reply') {
      t.equal(r.data.toString(), 're:ping')
      t.equal(r.from, address)
      t.ok(r.latencyMs >= 0 && r.latencyMs < 2000)
    }
    t.same(echo.received.map(String), ['ping'])
  })

  t.test(`${type}: a closed port is refused (ICMP port unreachable), well before the timeout`, async (t) => {
    const port = await closedPort(type)
    const r = await udpExchange({ address, port, payload: Buffer.from('x'), timeoutMs: 3000 })
    t.equal(r.kind, 'icmp-error')
    if (r.kind === 'icmp-error') {
      t.equal(r.error.refused, true)
      t.equal(r.error.unreachable, true)
      t.equal(r.error.errno.name, 'ECONNREFUSED')
      t.equal(r.error.family, type === 'udp4' ? 4 : 6)
      t.equal(r.error.type, type === 'udp4' ? 3 : 1)
      t.equal(r.error.code, type === 'udp4' ? 3 : 4)
      t.equal(isHardIcmpError(r.error), true, 'port unreachable is a hard error')
      t.ok(r.latencyMs < 1000)
    }
  })
}

t.test('a dead host: IP_RECVERR brings the ICMP host unreachable a plain socket never sees', async (t) => {
  const ns = deadHostNamespace('dgram', 8)
  const r = await ns.enter(() => udpExchange({ address: ns.deadHost, port: 9, payload: Buffer.from('x'), timeoutMs: 3000 }))
  t.equal(r.kind, 'icmp-error')
  if (r.kind === 'icmp-error') {
    t.same({ type: r.error.type, code: r.error.code, unreachable: r.error.unreachable, refused: r.error.refused }, { type: 3, code: 1, unreachable: true, refused: false })
    t.equal(r.error.errno.name, 'EHOSTUNREACH')
    t.equal(r.error.offender, '10.41.8.1', 'sent by our own stack after ARP failed')
    t.equal(isHardIcmpError(r.error), false, 'a connected socket without IP_RECVERR would not hear it')
  }
  const soft = await ns.enter(() => udpExchange({ address: ns.deadHost, port: 9, payload: Buffer.from('x'), timeoutMs: 600, endOnIcmpError: isHardIcmpError }))
  t.equal(soft.kind, 'timeout', 'ending only on hard errors waits past it')
})

t.test('a silent server times out within the bound', async (t) => {
  const quiet = await server(t, 'udp4', () => [])
  const before = performance.now()
  const r = await udpExchange({ address: '127.0.0.1', port: quiet.port, payload: Buffer.from('?'), timeoutMs: 200 })
  const took = performance.now() - before
  t.equal(r.kind, 'timeout')
  t.ok(took >= 190 && took < 1000, `took ${took} ms`)
  t.equal(quiet.received.length, 1, 'the request was sent')
})

t.test('datagrams the caller does not accept are ignored; the accepted one ends the wait', async (t) => {
  const s = await server(t, 'udp4', () => [Buffer.from('noise'), Buffer.from('answer')])
  const r = await udpExchange({ address: '127.0.0.1', port: s.port, payload: Buffer.from('q'), timeoutMs: 2000, accept: (d) => d.toString() === 'answer' })
  t.equal(r.kind, 'reply')
  if (r.kind === 'reply') t.equal(r.data.toString(), 'answer')
})

t.test('a reply from another port is not the reply', async (t) => {
  const target = await server(t, 'udp4', () => [])
  const other = await server(t, 'udp4', () => [])
  // The target forwards our address to `other`, which answers from its own port.
  target.socket.removeAllListeners('message')
  target.socket.on('message', (_m, rinfo) => other.socket.send(Buffer.from('spoof'), rinfo.port, rinfo.address))
  const r = await udpExchange({ address: '127.0.0.1', port: target.port, payload: Buffer.from('q'), timeoutMs: 300 })
  t.equal(r.kind, 'timeout')
})

t.test('receiveSize cuts a long reply', async (t) => {
  const s = await server(t, 'udp4', () => [Buffer.alloc(100, 0x61)])
  const r = await udpExchange({ address: '127.0.0.1', port: s.port, payload: Buffer.from('q'), timeoutMs: 2000, receiveSize: 11 })
  t.equal(r.kind, 'reply')
  if (r.kind === 'reply') t.equal(r.data.length, 11)
})

t.test('bindAddress and bindPort set the source', async (t) => {
  let seen: { address: string; port: number } | undefined
  const s = await server(t, 'udp4', () => [Buffer.from('ok')])
  s.socket.on('message', (_m, rinfo) => (seen = { address: rinfo.address, port: rinfo.port }))
  const bindPort = await closedPort('udp4')
  const r = await udpExchange({ address: '127.0.0.1', port: s.port, payload: Buffer.from('q'), timeoutMs: 2000, bindAddress: '127.0.0.1', bindPort })
  t.equal(r.kind, 'reply')
  t.same(seen, { address: '127.0.0.1', port: bindPort })
})

t.test('an ICMP error the caller does not end on is waited past', async (t) => {
  const port = await closedPort('udp4')
  const r = await udpExchange({ address: '127.0.0.1', port, payload: Buffer.from('x'), timeoutMs: 250, endOnIcmpError: () => false })
  t.equal(r.kind, 'timeout')
})

t.test('abort ends the wait at once; an aborted signal sends nothing', async (t) => {
  const quiet = await server(t, 'udp4', () => [])
  const ac = new AbortController()
  const pending = udpExchange({ address: '127.0.0.1', port: quiet.port, payload: Buffer.from('a'), timeoutMs: 5000, signal: ac.signal })
  setTimeout(() => ac.abort(), 50)
  const before = performance.now()
  const r = await pending
  t.equal(r.kind, 'aborted')
  t.ok(performance.now() - before < 1000)
  const again = await udpExchange({ address: '127.0.0.1', port: quiet.port, payload: Buffer.from('b'), timeoutMs: 5000, signal: AbortSignal.abort() })
  t.equal(again.kind, 'aborted')
  t.same(quiet.received.map(String), ['a'], 'nothing sent once aborted')
})

t.test('bad input and kernel refusals come back as failed values', async (t) => {
  const bad = await udpExchange({ address: 'not-an-ip', port: 53, payload: Buffer.from('x'), timeoutMs: 100 })
  t.equal(bad.kind, 'failed')
  if (bad.kind === 'failed') t.equal(bad.error.code, 'KA_NET_INVALID_ADDRESS')
  const mixed = await udpExchange({ address: '127.0.0.1', port: 53, payload: Buffer.from('x'), timeoutMs: 100, bindAddress: '::1' })
  t.equal(mixed.kind, 'failed')
  if (mixed.kind === 'failed') t.equal(mixed.error.code, 'KA_NET_INVALID_ADDRESS')
  const noBind = await udpExchange({ address: '127.0.0.1', port: 53, payload: Buffer.from('x'), timeoutMs: 100, bindAddress: '192.0.2.1' })
  t.equal(noBind.kind, 'failed')
  if (noBind.kind === 'failed') t.equal(noBind.error.code, 'KA_NET_BIND')
  const noDevice = await udpExchange({ address: '127.0.0.1', port: 53, payload: Buffer.from('x'), timeoutMs: 100, bindInterface: 'kats-no-such0' })
  t.equal(noDevice.kind, 'failed')
  if (noDevice.kind === 'failed') t.equal(noDevice.error.code, 'KA_NET_SOCKOPT')
})

t.test('no file descriptor outlives an exchange', async (t) => {
  const echo = await server(t, 'udp4', (m) => [m])
  const port = await closedPort('udp4')
  // Let earlier tests' deferred closes (the poller closes after poll returns) settle.
  await new Promise((r) => setTimeout(r, 50))
  const before = openFds()
  for (let i = 0; i < 20; i++) {
    await udpExchange({ address: '127.0.0.1', port: echo.port, payload: Buffer.from('e'), timeoutMs: 1000 })
    await udpExchange({ address: '127.0.0.1', port, payload: Buffer.from('r'), timeoutMs: 1000 })
    await udpExchange({ address: '127.0.0.1', port: echo.port, payload: Buffer.from('t'), timeoutMs: 5, accept: () => false })
  }
  await new Promise((r) => setTimeout(r, 50))
  t.ok(openFds() <= before + 1, `fds before ${before}, after ${openFds()}`)
})
