/**
 * UDP_CHECK: keepalived's hex reader and reply rule as pure functions, then
 * real exchanges — an echo server, a closed port (ICMP port unreachable),
 * silence with and without require_reply, reply data mismatch and the
 * min/max reply lengths — with keepalived's lines and default payload.
 */
import t from 'tap'
import { getEventListeners } from 'node:events'
import { createSocket } from 'node:dgram'
import { deadHostNamespace } from '../helpers/dead-host.js'
import type { UdpCheck } from '../../src/config/lvs/model.js'
import type { CheckTarget, ProbeOutcome } from '../../src/check/probe.js'
import { createUdpCheckRunner, keepalivedFill, parseHexString, replyMatches, udpLines } from '../../src/check/udp.js'
import { createDnsCheckRunner } from '../../src/check/dns.js'

/** One signal for the attempts below, as the scheduler reuses a checker's. */
const attempts = new AbortController().signal

t.test('read_hex_str: octets, blanks, lone digits, wildcards, bad input', async (t) => {
  t.same(parseHexString('0a0B ff', false), { data: Buffer.from([0x0a, 0x0b, 0xff]), mask: undefined })
  t.same(parseHexString('  1 2 ab\t c', false), { data: Buffer.from([0x01, 0x02, 0xab, 0x0c]), mask: undefined }, 'a lone digit is the low nibble')
  t.same(parseHexString('4x X5 xx', true), { data: Buffer.from([0x40, 0x05, 0x00]), mask: Buffer.from([0x0f, 0xf0, 0xff]) })
  t.equal(parseHexString('4x', false), undefined, 'no wildcard in a payload')
  t.equal(parseHexString('zz', false), undefined)
  t.equal(parseHexString('a\tb', false), undefined, 'only a space ends a one-digit octet (a tab is read as a digit)')
  t.equal(parseHexString('   ', false), undefined, 'no octet at all')
})

t.test('check_udp_reply: lengths, then min(reply, pattern) octets under the mask', async (t) => {
  const rule = { pattern: parseHexString('de ad xf', true)!, minLength: 2, maxLength: 4 }
  t.equal(replyMatches(Buffer.from('deadbf', 'hex'), rule), true)
  t.equal(replyMatches(Buffer.from('dead0f00', 'hex'), rule), true, 'wildcard nibble, extra octet unchecked')
  t.equal(replyMatches(Buffer.from('dead', 'hex'), rule), true, 'a reply shorter than the pattern is compared on its own length')
  t.equal(replyMatches(Buffer.from('deae', 'hex'), rule), false)
  t.equal(replyMatches(Buffer.from('dead0e', 'hex'), rule), false, 'the fixed low nibble differs')
  t.equal(replyMatches(Buffer.from('de', 'hex'), rule), false, 'below min_reply_length')
  t.equal(replyMatches(Buffer.from('deadbf0000', 'hex'), rule), false, 'above max_reply_length')
})

t.test('the default payload is keepalived\'s 32-byte fill', async (t) => {
  t.equal(keepalivedFill(32).toString('latin1'), 'keepalived check - keepalived ch')
})

const target: CheckTarget = { address: '127.0.0.1', port: 0, family: 4, protocol: 'UDP', text: '[127.0.0.1]:udp:5353', vsText: '[10.41.0.1]:udp:5353', virtualhost: undefined }

t.test('lines', async (t) => {
  const lines = udpLines(target)
  const o: ProbeOutcome = { ok: true, failure: undefined, latencyMs: 0 }
  t.equal(lines.up(o), 'UDP connection to [127.0.0.1]:udp:5353 success.')
  t.equal(lines.down(o, 1, false), 'UDP_CHECK on service [127.0.0.1]:udp:5353 failed after 1 retries.')
  t.equal(lines.down(o, 1, true), 'UDP_CHECK on service [127.0.0.1]:udp:5353 failed.')
  t.equal(lines.down(o, 0, false), 'UDP_CHECK on service [127.0.0.1]:udp:5353 failed.')
})

/** A server on 127.0.0.1 answering each datagram with `answer(msg)` (nothing: silent). */
async function server(t: { teardown(fn: () => Promise<void>): void }, answer: (msg: Buffer) => Buffer | undefined): Promise<{ port: number; received: Buffer[] }> {
  const socket = createSocket('udp4')
  const received: Buffer[] = []
  socket.on('message', (msg, rinfo) => {
    received.push(msg)
    const out = answer(msg)
    if (out) socket.send(out, rinfo.port, rinfo.address)
  })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())))
  return { port: socket.address().port, received }
}

async function closedPort(): Promise<number> {
  const s = createSocket('udp4')
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve))
  const port = s.address().port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

function check(port: number, overrides: Partial<UdpCheck> = {}): UdpCheck {
  return {
    kind: 'UDP_CHECK',
    pos: { file: 'test.conf', line: 1, col: 1 },
    retry: 1,
    delayBeforeRetry: 1_000_000,
    warmup: 0,
    delayLoop: 5_000_000,
    alpha: false,
    logAllFailures: false,
    connectIp: undefined,
    connectPort: port,
    bindto: undefined,
    bindPort: undefined,
    bindIf: undefined,
    connectTimeout: 1_000_000,
    fwmark: undefined,
    payload: undefined,
    requireReply: false,
    replyData: undefined,
    minReplyLength: 0,
    maxReplyLength: 255,
    ...overrides,
  }
}

async function probe(c: UdpCheck): Promise<ProbeOutcome> {
  return createUdpCheckRunner({ id: 'u', target, check: c }).probe(attempts)
}

t.test('echo server: success, with the configured payload or keepalived\'s fill', async (t) => {
  const echo = await server(t, (m) => m)
  const r = await probe(check(echo.port, { payload: '01 02 0a', requireReply: true }))
  t.same({ ok: r.ok, failure: r.failure }, { ok: true, failure: undefined })
  t.same(echo.received[0], Buffer.from([1, 2, 10]))
  t.equal((await probe(check(echo.port))).ok, true)
  t.equal(echo.received[1]!.toString('latin1'), 'keepalived check - keepalived ch')
})

t.test('no server: ICMP port unreachable fails the attempt, with or without require_reply', async (t) => {
  const port = await closedPort()
  for (const requireReply of [false, true]) {
    const r = await probe(check(port, { requireReply, connectTimeout: 5_000_000 }))
    t.equal(r.ok, false)
    t.equal(r.failure, 'UDP connection to [127.0.0.1]:udp:5353 failed.')
    t.ok(r.latencyMs < 1000, 'not a timeout')
  }
})

t.test('silence: success without require_reply, failure with it, after connect_timeout', async (t) => {
  const quiet = await server(t, () => undefined)
  const silentOk = await probe(check(quiet.port, { connectTimeout: 200_000 }))
  t.equal(silentOk.ok, true)
  t.ok(silentOk.latencyMs >= 190)
  const silentFail = await probe(check(quiet.port, { connectTimeout: 200_000, requireReply: true }))
  t.same({ ok: silentFail.ok, failure: silentFail.failure }, { ok: false, failure: 'UDP connection to [127.0.0.1]:udp:5353 failed.' })
})

t.test('reply data mismatch', async (t) => {
  const s = await server(t, () => Buffer.from('cafe01', 'hex'))
  const good = await probe(check(s.port, { requireReply: true, replyData: 'CA fe XX' }))
  t.equal(good.ok, true)
  const bad = await probe(check(s.port, { requireReply: true, replyData: 'ca fe 02' }))
  t.same({ ok: bad.ok, failure: bad.failure }, { ok: false, failure: 'UDP check to [127.0.0.1]:udp:5353 reply data mismatch.' })
  const noPattern = await probe(check(s.port, { requireReply: true, replyData: undefined, maxReplyLength: 1 }))
  t.equal(noPattern.ok, true, 'without reply data any reply passes, lengths unchecked (keepalived)')
})

t.test('min and max reply length', async (t) => {
  const s = await server(t, () => Buffer.alloc(10, 0xab))
  const opts = { requireReply: true, replyData: 'ab' }
  t.equal((await probe(check(s.port, { ...opts, minReplyLength: 10, maxReplyLength: 10 }))).ok, true)
  t.equal((await probe(check(s.port, { ...opts, minReplyLength: 11 }))).failure, 'UDP check to [127.0.0.1]:udp:5353 reply data mismatch.')
  t.equal((await probe(check(s.port, { ...opts, maxReplyLength: 9 }))).ok, false, 'longer than max (read as max + 1 bytes)')
})

t.test('connect_ip / connect_port default to the real server; bind failure fails quietly', async (t) => {
  const echo = await server(t, (m) => m)
  const runner = createUdpCheckRunner({ id: 'u', target: { ...target, port: echo.port }, check: check(0, { connectPort: undefined, requireReply: true }) })
  t.equal((await runner.probe(new AbortController().signal)).ok, true)
  const bound = await probe(check(echo.port, { bindto: '192.0.2.7', requireReply: true }))
  t.same({ ok: bound.ok, failure: bound.failure }, { ok: false, failure: undefined })
})


t.test('a dead host fails a UDP_CHECK even without require_reply (ICMP host unreachable); DNS_CHECK times out, as keepalived\'s', async (t) => {
  const ns = deadHostNamespace('udp', 9)
  const deadTarget: CheckTarget = { ...target, address: ns.deadHost, port: 53, text: `[${ns.deadHost}]:udp:53` }
  const udp = createUdpCheckRunner({ id: 'u', target: deadTarget, check: check(53, { connectTimeout: 3_000_000 }) })
  const r = await ns.enter(() => udp.probe(new AbortController().signal))
  t.same({ ok: r.ok, failure: r.failure }, { ok: false, failure: `UDP connection to [${ns.deadHost}]:udp:53 failed.` })
  t.ok(r.latencyMs < 2500, `failed on the ICMP error, not the timeout (${r.latencyMs} ms)`)
  const dns = createDnsCheckRunner({
    id: 'd',
    target: deadTarget,
    check: { ...check(53, { connectTimeout: 600_000 }), kind: 'DNS_CHECK', type: 'SOA', name: '.' },
  })
  const d = await ns.enter(() => dns.probe(new AbortController().signal))
  t.same({ ok: d.ok, failure: d.failure }, { ok: false, failure: `DNS_CHECK ([${ns.deadHost}]:udp:53) read timeout from socket` })
})

t.test('no listener outlives its attempt on the signal (the scheduler reuses it)', async (t) => {
  t.equal(getEventListeners(attempts, 'abort').length, 0)
})
