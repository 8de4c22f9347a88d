import * as net from 'node:net'
import t from 'tap'
import { getEventListeners } from 'node:events'
import { SmtpLineReader, smtpConnections, smtpLines, smtpRunner, smtpRunners, smtpStatus } from '../../src/check/smtp.js'
import type { SmtpCheck } from '../../src/config/lvs/model.js'
import { listen, smtpCheck, target, type TeardownHost } from '../fixtures/check/servers.js'
import { createPair } from '../net/ns.js'

const never = new AbortController().signal
const pos = { file: 'keepalived.conf', line: 9, col: 5 }

interface Script {
  greeting?: string | undefined
  helo?: string | undefined
  /** undefined: close without answering QUIT. */
  bye?: string | undefined
}

/** A mail server following `script`; `received` is everything each client sent. */
async function smtpServer(t: TeardownHost, script: Script, host = '127.0.0.1'): Promise<{ port: number; received: string[] }> {
  const received: string[] = []
  const peer = await listen(t, (s) => {
    const index = received.push('') - 1
    if (script.greeting !== undefined) s.write(script.greeting)
    s.on('data', (d) => {
      received[index] += d.toString('latin1')
      const text = received[index]!
      if (text.endsWith('QUIT\r\n')) {
        if (script.bye !== undefined) s.end(script.bye)
        else s.end()
      } else if (/HELO [^\r]*\r\n$/.test(text) && script.helo !== undefined) s.write(script.helo)
    })
  }, host)
  return { port: peer.port, received }
}

async function run(check: SmtpCheck, port: number): Promise<{ ok: boolean; failure: string | undefined }> {
  const o = await smtpRunner(check, target('127.0.0.1', port), 'id').probe(never)
  return { ok: o.ok, failure: o.failure }
}

const good: Script = { greeting: '220 mail.example ESMTP\r\n', helo: '250 mail.example\r\n', bye: '221 bye\r\n' }

t.test('a full dialogue passes; the checker sends exactly HELO and QUIT', async (t) => {
  const server = await smtpServer(t, good)
  t.same(await run(smtpCheck(), server.port), { ok: true, failure: undefined })
  t.same(server.received, ['HELO smtpchecker.keepalived.org\r\nQUIT\r\n'])
  await run(smtpCheck({ heloName: 'checker.example' }), server.port)
  t.equal(server.received[1], 'HELO checker.example\r\nQUIT\r\n')
})

t.test('replies that are not 220 / 250, or no reply, fail with keepalived\'s reasons', async (t) => {
  const cases: [Script, string][] = [
    [{ ...good, greeting: '554 go away\r\n' }, 'SMTP_CHECK Bad greeting banner from server [127.0.0.1]:PORT'],
    [{ ...good, greeting: '220-first line\r\n220 second\r\n' }, 'SMTP_CHECK Bad greeting banner from server [127.0.0.1]:PORT'],
    [{ ...good, greeting: '220\r\n' }, 'SMTP_CHECK Bad greeting banner from server [127.0.0.1]:PORT'],
    [{ ...good, helo: '501 who are you\r\n' }, 'SMTP_CHECK Bad HELO response from server [127.0.0.1]:PORT'],
    [{ ...good, bye: undefined }, 'SMTP_CHECK Read failure from server [127.0.0.1]:PORT'],
    [{ ...good, greeting: undefined }, 'SMTP_CHECK Read timeout from server [127.0.0.1]:PORT'],
    [{ ...good, helo: undefined }, 'SMTP_CHECK Read timeout from server [127.0.0.1]:PORT'],
  ]
  for (const [script, expected] of cases) {
    const server = await smtpServer(t, script)
    const r = await run(smtpCheck({ connectTimeout: 200_000 }), server.port)
    t.same(r, { ok: false, failure: expected.replace('PORT', String(server.port)) }, expected)
  }
  const closesAtOnce = await listen(t, (s) => s.end())
  t.same(await run(smtpCheck(), closesAtOnce.port), { ok: false, failure: `SMTP_CHECK Read failure from server [127.0.0.1]:${closesAtOnce.port}` })
})

t.test('a greeting split over several packets, and the 221 ignored', async (t) => {
  const server = await smtpServer(t, { helo: '250 ok\r\n', bye: 'whatever\n' })
  const peer = await listen(t, (client) => {
    const upstream = net.connect(server.port, '127.0.0.1')
    upstream.on('error', () => undefined)
    client.on('close', () => upstream.destroy())
    upstream.on('data', (d) => client.write(d))
    client.on('data', (d) => upstream.write(d))
    client.write('22')
    setTimeout(() => client.write('0 slow\r'), 20)
    setTimeout(() => client.write('\n'), 40)
  })
  t.same(await run(smtpCheck(), peer.port), { ok: true, failure: undefined })
})

t.test('connection failures name the connection, not the real server', async (t) => {
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  const r = await smtpRunner(smtpCheck({ connectIp: '127.0.0.1', connectPort: port }), target('10.0.0.2', 25), 'id').probe(never)
  t.same([r.ok, r.failure], [false, `SMTP_CHECK Could not connect to server [127.0.0.1]:${port}`])

  const { a } = createPair(t)
  const timeout = await a.enter(() => smtpRunner(smtpCheck({ connectTimeout: 200_000 }), target('10.32.1.99', 25), 'id').probe(never))
  t.equal(timeout.failure, 'SMTP_CHECK Connection timeout to server [10.32.1.99]:25')
  const noRoute = await a.enter(() => smtpRunner(smtpCheck({ connectIp: '192.0.2.1' }), target('10.32.1.2', 25), 'id').probe(never))
  t.equal(noRoute.failure, 'SMTP_CHECK Network unreachable for server 192.0.2.1 - real server [10.32.1.2]:25')
})

t.test('lines: up names the real server; down is the final failure; retries log only with log_all_failures', async (t) => {
  const rs = target('10.0.0.2', 25)
  const failed = { ok: false, failure: 'SMTP_CHECK Bad HELO response from server [10.0.0.2]:25', latencyMs: 1 }
  const quiet = smtpLines(smtpCheck(), rs)
  t.equal(quiet.up(failed), 'Remote SMTP server [10.0.0.2]:tcp:25 succeed on service.')
  t.equal(quiet.down(failed, 1, false), failed.failure)
  t.equal(quiet.retrying?.(failed, 1, 1), undefined)
  t.equal(smtpLines(smtpCheck({ logAllFailures: true }), rs).retrying?.(failed, 1, 1), failed.failure)
})

t.test('host blocks become one runner each, as keepalived makes them separate checkers', async (t) => {
  const host = (over: Partial<SmtpCheck['hosts'][number]>): SmtpCheck['hosts'][number] => ({
    pos, connectIp: undefined, connectPort: undefined, bindto: undefined, bindPort: undefined, bindIf: undefined, connectTimeout: 3_000_000, fwmark: undefined, ...over,
  })
  t.same(smtpConnections(smtpCheck()).length, 1, 'no host block: the checker itself')
  const onlyHosts = smtpCheck({ bindto: undefined, hosts: [host({ connectIp: '127.0.0.1', connectPort: 1 }), host({ connectPort: 2 })] })
  t.same(smtpConnections(onlyHosts).map((c) => [c.connectIp, c.connectPort]), [['127.0.0.1', 1], [undefined, 2]])
  const withOwn = smtpCheck({ connectPort: 2525, hosts: [host({ connectIp: '127.0.0.9' })] })
  t.same(smtpConnections(withOwn).map((c) => [c.connectIp, c.connectPort]), [[undefined, 2525], ['127.0.0.9', 2525]], 'a host inherits the checker\'s settings')

  const one = await smtpServer(t, good)
  const two = await smtpServer(t, { ...good, greeting: '421 busy\r\n' })
  const runners = smtpRunners(smtpCheck({ hosts: [host({ connectIp: '127.0.0.1', connectPort: one.port }), host({ connectIp: '127.0.0.1', connectPort: two.port })] }),
    target('10.0.0.2', 25), 'vs/rs/1')
  t.same(runners.map((r) => r.id), ['vs/rs/1', 'vs/rs/1/host1'])
  const outcomes = await Promise.all(runners.map((r) => r.probe(never)))
  t.same(outcomes.map((o) => [o.ok, o.failure]), [[true, undefined], [false, `SMTP_CHECK Bad greeting banner from server [127.0.0.1]:${two.port}`]])
})

t.test('reply parsing as check_smtp.c does it', async (t) => {
  t.equal(smtpStatus('220 ready\r'), 220)
  t.equal(smtpStatus('250'), 250)
  t.equal(smtpStatus('250\r'), -1, 'the \\r stays in the line')
  t.equal(smtpStatus('220-more'), -1)
  t.equal(smtpStatus('2200 x'), -1)
  const reader = new SmtpLineReader()
  t.equal(reader.push(Buffer.from('220 a')), undefined)
  t.equal(reader.push(Buffer.from('bc\r\n250 dropped\r\n')), '220 abc\r', 'the rest of that read is dropped')
  t.equal(reader.push(Buffer.from('250 next\n')), '250 next')
  t.equal(reader.push(Buffer.concat([Buffer.alloc(600, 0x41), Buffer.from('\n')])), 'A'.repeat(600 - 511), 'an overlong line wraps the buffer')
})

t.test('abort in the middle of the dialogue', async (t) => {
  const server = await smtpServer(t, { greeting: '220 hi\r\n' })
  const ac = new AbortController()
  const pending = smtpRunner(smtpCheck({ connectTimeout: 10_000_000 }), target('127.0.0.1', server.port), 'id').probe(ac.signal)
  for (let i = 0; i < 100 && !server.received[0]?.includes('HELO'); i++) await new Promise((r) => setTimeout(r, 10))
  t.match(server.received[0], /^HELO /)
  ac.abort()
  const o = await pending
  t.same([o.ok, o.failure], [false, undefined])
  t.ok(o.latencyMs < 5000)
})

t.test('no listener outlives its attempt on the signal (the scheduler reuses it)', async (t) => {
  t.equal(getEventListeners(never, 'abort').length, 0)
})
