/**
 * DNS_CHECK: query bytes as keepalived builds them, its acceptance rule
 * (ID + QR, then RCODE only), and real exchanges with an in-test dgram
 * responder: a good answer, NOERROR without answers (a success, as in
 * keepalived), NXDOMAIN/SERVFAIL, a wrong ID or a query echoed back (waited
 * past), silence (timeout) and a closed port (refused), with keepalived's lines.
 */
import t from 'tap'
import { getEventListeners } from 'node:events'
import { createSocket } from 'node:dgram'
import type { DnsCheck } from '../../src/config/lvs/model.js'
import { createDnsCheckRunner, decodeDnsHeader, dnsLines, encodeDnsQuery, isReplyTo, replyFailure } from '../../src/check/dns.js'
import type { CheckTarget, ProbeOutcome } from '../../src/check/probe.js'

/** One signal for the attempts below, as the scheduler reuses a checker's. */
const attempts = new AbortController().signal

t.test('query bytes: header with RD, labels, root name, type and class IN', async (t) => {
  t.equal(encodeDnsQuery({ id: 0xbeef, type: 'SOA', name: '.' }).toString('hex'), 'beef01000001000000000000' + '00' + '00060001')
  const a = encodeDnsQuery({ id: 1, type: 'A', name: 'www.example.com' })
  t.equal(a.toString('hex'), '000101000001000000000000' + '03777777076578616d706c6503636f6d00' + '00010001')
  t.same(encodeDnsQuery({ id: 1, type: 'A', name: 'www.example.com.' }), a, 'a trailing dot changes nothing')
  const types = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28 } as const
  for (const [type, code] of Object.entries(types)) {
    const q = encodeDnsQuery({ id: 7, type: type as keyof typeof types, name: 'a.b' })
    t.equal(q.readUInt16BE(q.length - 4), code, type)
  }
})

t.test('reply header and keepalived acceptance rule', async (t) => {
  const reply = (id: number, flags: number, answers = 0): Buffer => {
    const b = Buffer.alloc(12)
    b.writeUInt16BE(id, 0)
    b.writeUInt16BE(flags, 2)
    b.writeUInt16BE(1, 4)
    b.writeUInt16BE(answers, 6)
    return b
  }
  t.same(decodeDnsHeader(reply(5, 0x8183, 2)), { id: 5, response: true, rcode: 3, questions: 1, answers: 2 })
  t.equal(decodeDnsHeader(Buffer.alloc(11)), undefined)
  t.equal(isReplyTo(reply(5, 0x8180), 5), true)
  t.equal(isReplyTo(reply(6, 0x8180), 5), false, 'another ID')
  t.equal(isReplyTo(reply(5, 0x0100), 5), false, 'QR clear: a query, not a reply')
  t.equal(isReplyTo(reply(5, 0x8180).subarray(0, 11), 5), false, 'shorter than a header')
  t.equal(replyFailure(reply(5, 0x8180, 0)), undefined, 'NOERROR without answers passes')
  t.equal(replyFailure(reply(5, 0x8183)), 'read error occurred. (rcode = 3)')
  t.equal(replyFailure(reply(5, 0x8182)), 'read error occurred. (rcode = 2)')
})

const target: CheckTarget = { address: '127.0.0.1', port: 53, family: 4, protocol: 'UDP', text: '[127.0.0.1]:udp:53', vsText: '[10.41.0.1]:udp:53', virtualhost: undefined }

t.test('lines: the reason, and " after N retries" unless it was the first attempt', async (t) => {
  const lines = dnsLines(target)
  const o: ProbeOutcome = { ok: false, failure: 'DNS_CHECK ([127.0.0.1]:udp:53) read timeout from socket', latencyMs: 1 }
  t.equal(lines.up({ ok: true, failure: undefined, latencyMs: 1 }), undefined, 'keepalived logs no DNS success line')
  t.equal(lines.down(o, 3, false), 'DNS_CHECK ([127.0.0.1]:udp:53) read timeout from socket after 3 retries')
  t.equal(lines.down(o, 0, false), 'DNS_CHECK ([127.0.0.1]:udp:53) read timeout from socket after 0 retries')
  t.equal(lines.down(o, 0, true), 'DNS_CHECK ([127.0.0.1]:udp:53) read timeout from socket')
})

type Answer = (query: Buffer) => Buffer[]

/** A responder on 127.0.0.1 answering each query as `answer` says. */
async function responder(t: { teardown(fn: () => Promise<void>): void }, answer: Answer): Promise<{ port: number; queries: Buffer[] }> {
  const socket = createSocket('udp4')
  const queries: Buffer[] = []
  socket.on('message', (msg, rinfo) => {
    queries.push(msg)
    for (const out of answer(msg)) socket.send(out, rinfo.port, rinfo.address)
  })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())))
  return { port: socket.address().port, queries }
}

/** The query turned into a response: same ID and question, QR set, `rcode`, `answers` A records. */
function respond(query: Buffer, rcode: number, answers: number, id = query.readUInt16BE(0)): Buffer {
  const header = Buffer.from(query.subarray(0, 12))
  header.writeUInt16BE(id, 0)
  header.writeUInt16BE(0x8180 | rcode, 2)
  header.writeUInt16BE(answers, 6)
  const records = Array.from({ length: answers }, () => Buffer.from('c00c000100010000003c00040a290001', 'hex'))
  return Buffer.concat([header, query.subarray(12), ...records])
}

function check(port: number, overrides: Partial<DnsCheck> = {}): DnsCheck {
  return {
    kind: 'DNS_CHECK',
    pos: { file: 'test.conf', line: 1, col: 1 },
    retry: 3,
    delayBeforeRetry: 60_000_000,
    warmup: 0,
    delayLoop: 60_000_000,
    alpha: false,
    logAllFailures: false,
    connectIp: undefined,
    connectPort: port,
    bindto: undefined,
    bindPort: undefined,
    bindIf: undefined,
    connectTimeout: 2_000_000,
    fwmark: undefined,
    type: 'SOA',
    name: '.',
    ...overrides,
  }
}

async function probe(c: DnsCheck): Promise<ProbeOutcome> {
  return createDnsCheckRunner({ id: 'd', target, check: c }).probe(attempts)
}

t.test('a good answer is a success; the query on the wire is keepalived\'s', async (t) => {
  const dns = await responder(t, (q) => [respond(q, 0, 1)])
  const r = await probe(check(dns.port, { type: 'A', name: 'example.com' }))
  t.same({ ok: r.ok, failure: r.failure }, { ok: true, failure: undefined })
  t.equal(dns.queries.length, 1)
  t.equal(dns.queries[0]!.toString('hex', 2), '01000001000000000000076578616d706c6503636f6d0000010001')
})

t.test('NOERROR with no answer record is a success (keepalived checks only RCODE)', async (t) => {
  const dns = await responder(t, (q) => [respond(q, 0, 0)])
  t.equal((await probe(check(dns.port))).ok, true)
})

t.test('NXDOMAIN and SERVFAIL fail with the rcode', async (t) => {
  for (const rcode of [3, 2]) {
    const dns = await responder(t, (q) => [respond(q, rcode, 0)])
    const r = await probe(check(dns.port))
    t.equal(r.ok, false)
    t.equal(r.failure, `DNS_CHECK ([127.0.0.1]:udp:53) read error occurred. (rcode = ${rcode})`)
  }
})

t.test('a reply with another ID, or our query echoed, is waited past', async (t) => {
  const wrongThenRight = await responder(t, (q) => [respond(q, 3, 0, q.readUInt16BE(0) ^ 1), Buffer.from(q), respond(q, 0, 1)])
  t.equal((await probe(check(wrongThenRight.port))).ok, true, 'the matching reply after the others counts')
  const onlyWrong = await responder(t, (q) => [respond(q, 0, 1, q.readUInt16BE(0) ^ 0x8000), Buffer.from(q)])
  const before = performance.now()
  const r = await probe(check(onlyWrong.port, { connectTimeout: 300_000 }))
  t.equal(r.ok, false)
  t.equal(r.failure, 'DNS_CHECK ([127.0.0.1]:udp:53) read timeout from socket')
  t.ok(performance.now() - before >= 290)
})

t.test('a closed port fails at once with keepalived\'s read error', async (t) => {
  // A port nothing listens on: bind one, note it, close it.
  const s = createSocket('udp4')
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve))
  const port = s.address().port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  const r = await probe(check(port, { connectTimeout: 5_000_000 }))
  t.equal(r.ok, false)
  t.equal(r.failure, 'DNS_CHECK ([127.0.0.1]:udp:53) failed to read socket; errno 111 (Connection refused)')
  t.ok(r.latencyMs < 1000)
})

t.test('connect_port defaults to the real server port; abort stops the wait', async (t) => {
  const dns = await responder(t, () => [])
  const runner = createDnsCheckRunner({ id: 'd', target: { ...target, port: dns.port }, check: check(0, { connectPort: undefined, connectTimeout: 10_000_000 }) })
  const ac = new AbortController()
  setTimeout(() => ac.abort(), 100)
  const r = await runner.probe(ac.signal)
  t.same({ ok: r.ok, failure: r.failure }, { ok: false, failure: undefined })
  t.equal(dns.queries.length, 1, 'the query went to the real server port')
})

t.test('no listener outlives its attempt on the signal (the scheduler reuses it)', async (t) => {
  t.equal(getEventListeners(attempts, 'abort').length, 0)
})
