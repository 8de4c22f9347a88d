import t from 'tap'
import { getEventListeners } from 'node:events'
import { tcpLines, tcpRunner } from '../../src/check/tcp.js'
import { closedPort, listen, target, tcpCheck } from '../fixtures/check/servers.js'
import { createPair } from '../net/ns.js'

const never = new AbortController().signal

t.test('a listening real server passes; the connection is closed at once', async (t) => {
  const peer = await listen(t)
  const rs = target('127.0.0.1', peer.port)
  const runner = tcpRunner(tcpCheck(), rs, 'vs1/rs1/0')
  t.same([runner.kind, runner.id, runner.target, runner.timing.retry], ['TCP_CHECK', 'vs1/rs1/0', rs, 1])
  const outcome = await runner.probe(never)
  t.same({ ok: outcome.ok, failure: outcome.failure }, { ok: true, failure: undefined })
  t.ok(outcome.latencyMs >= 0 && outcome.latencyMs < 2000)
  const server = peer.accepted[0] ?? (await peer.nextConnection())
  await new Promise((resolve) => (server.readableEnded ? resolve(undefined) : server.once('end', resolve)))
  t.pass('the checker closed its side')
  t.equal(runner.lines.up(outcome), `TCP connection to [127.0.0.1]:tcp:${peer.port} success.`)
})

t.test('a refused connection fails with keepalived\'s "failed." line naming the real server', async (t) => {
  const port = await closedPort()
  const rs = target('127.0.0.1', port)
  const outcome = await tcpRunner(tcpCheck(), rs, 'x').probe(never)
  t.same({ ok: outcome.ok, failure: outcome.failure }, { ok: false, failure: `TCP connection to [127.0.0.1]:tcp:${port} failed.` })
})

t.test('connect_ip and connect_port override the real server; the lines still name the real server', async (t) => {
  const peer = await listen(t, undefined, '127.0.0.3')
  const rs = target('127.0.0.1', await closedPort())
  const outcome = await tcpRunner(tcpCheck({ connectIp: '127.0.0.3', connectPort: peer.port }), rs, 'x').probe(never)
  t.equal(outcome.ok, true)
  // The probe may settle before the server's accept runs.
  const accepted = peer.accepted[0] ?? (await peer.nextConnection())
  t.equal(accepted.localAddress, '127.0.0.3', 'connect_ip was connected')
  const refused = await tcpRunner(tcpCheck({ connectIp: '127.0.0.3', connectPort: await closedPort() }), rs, 'x').probe(never)
  t.equal(refused.failure, `TCP connection to ${rs.text} failed.`)
})

t.test('bindto sets the source address', async (t) => {
  const peer = await listen(t)
  const outcome = await tcpRunner(tcpCheck({ bindto: '127.0.0.5' }), target('127.0.0.1', peer.port), 'x').probe(never)
  t.equal(outcome.ok, true)
  t.equal((peer.accepted[0] ?? (await peer.nextConnection())).remoteAddress, '127.0.0.5')
  const unbindable = await tcpRunner(tcpCheck({ bindto: '192.0.2.9' }), target('127.0.0.1', peer.port), 'x').probe(never)
  t.same({ ok: unbindable.ok, failure: unbindable.failure }, { ok: false, failure: 'TCP socket bind failed. Rescheduling.' })
})

t.test('down lines: "after N retries" only with retries and after the first run', async (t) => {
  const lines = tcpLines(target('10.0.0.2', 80))
  const outcome = { ok: false, failure: undefined, latencyMs: 1 }
  t.equal(lines.down(outcome, 3, false), 'TCP_CHECK on service [10.0.0.2]:tcp:80 failed after 3 retries.')
  t.equal(lines.down(outcome, 3, true), 'TCP_CHECK on service [10.0.0.2]:tcp:80 failed.')
  t.equal(lines.down(outcome, 0, false), 'TCP_CHECK on service [10.0.0.2]:tcp:80 failed.')
})

t.test('in a namespace: connect_timeout gives the "timeout." line, no route gives none', async (t) => {
  const { a } = createPair(t)
  const rs = target('10.32.1.99', 80)
  const runner = tcpRunner(tcpCheck({ connectTimeout: 300_000 }), rs, 'x')
  const started = performance.now()
  const outcome = await a.enter(() => runner.probe(never))
  const took = performance.now() - started
  t.same({ ok: outcome.ok, failure: outcome.failure }, { ok: false, failure: 'TCP connection to [10.32.1.99]:tcp:80 timeout.' })
  t.ok(took >= 290 && took < 2000, `gave up after ${took.toFixed(0)} ms`)

  const noRoute = await a.enter(() => tcpRunner(tcpCheck(), target('192.0.2.1', 80), 'x').probe(never))
  t.same({ ok: noRoute.ok, failure: noRoute.failure }, { ok: false, failure: undefined }, 'keepalived logs no attempt line for an immediate failure')

  const ac = new AbortController()
  setTimeout(() => ac.abort(), 50)
  const aborted = await a.enter(() => tcpRunner(tcpCheck({ connectTimeout: 5_000_000 }), rs, 'x').probe(ac.signal))
  t.same({ ok: aborted.ok, failure: aborted.failure }, { ok: false, failure: undefined })
  t.ok(aborted.latencyMs < 1000, 'abort ends the attempt at once')
})

t.test('listeners do not pile up on the signal (the scheduler reuses it): one serves every attempt', async (t) => {
  const peer = await listen(t)
  const runner = tcpRunner(tcpCheck(), target('127.0.0.1', peer.port), 'x')
  const signal = new AbortController().signal
  for (let i = 0; i < 20; i++) t.equal((await runner.probe(signal)).ok, true)
  t.equal(getEventListeners(signal, 'abort').length, 1)
  t.ok(getEventListeners(never, 'abort').length <= 1, 'nor on the signal of every test above')
})
