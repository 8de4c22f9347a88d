import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as net from 'node:net'
import t from 'tap'
import { getEventListeners } from 'node:events'
import { httpLines, httpRunner, isHttpProbeOutcome, requestFor, type HttpProbeOutcome } from '../../src/check/http.js'
import {
  compileUrlRegex, contentLengthOf, hostHeader, httpRequestText, HttpResponseReader, judgeResponse, MAX_HEADER_BYTES, statusCodeOf,
  unsupportedRegexOptions,
} from '../../src/check/http-response.js'
import { destinationOf } from '../../src/check/connection.js'
import type { HttpCheck } from '../../src/config/lvs/model.js'
import { httpCheck, httpResponse, httpUrl, listen, receive, selfSignedCertificate, target, type Peer, type TeardownHost } from '../fixtures/check/servers.js'

const never = new AbortController().signal
const md5 = (b: string | Buffer): string => createHash('md5').update(b).digest('hex')

/** A web server answering every request with `reply` and recording the requests. */
async function webServer(t: TeardownHost, reply: Buffer | ((request: string) => Buffer), host = '127.0.0.1'): Promise<Peer & { requests: string[] }> {
  const requests: string[] = []
  const peer = await listen(t, (s) => {
    void receive(s, (text) => text.includes('\r\n\r\n')).then((request) => {
      requests.push(request)
      s.end(typeof reply === 'function' ? reply(request) : reply)
    })
  }, host)
  return Object.assign(peer, { requests })
}

async function probe(check: HttpCheck, port: number, host = '127.0.0.1', extra = {}): Promise<HttpProbeOutcome> {
  const outcome = await httpRunner(check, target(host, port, extra), 'vs/rs/0').probe(never)
  if (!isHttpProbeOutcome(outcome)) throw new Error('an HTTP runner returns its own outcome')
  return outcome
}

/** Run Debian's genhash (keepalived 2.2.7's own HTTP code) against a local server. */
function genhash(args: readonly string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile('genhash', [...args, '-t', '3'], { timeout: 10_000 }, (_err, stdout, stderr) => resolve(`${stdout}${stderr}`.trim()))
  })
}

t.test('request text: protocol, Connection: close, Host', async (t) => {
  t.equal(httpRequestText('/', '1.0', '10.0.0.2:80'), 'GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 10.0.0.2:80\r\n\r\n')
  t.equal(httpRequestText('/a', '1.0C', 'h'), 'GET /a HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: h\r\n\r\n')
  t.equal(httpRequestText('/a', '1.1', 'h'), 'GET /a HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: h\r\n\r\n')
  t.equal(hostHeader(undefined, '2001:db8::2', 8080, 6), '[2001:db8::2]:8080')
  t.equal(hostHeader('www.example.org', '2001:db8::2', 8080, 6), 'www.example.org', 'a virtualhost keeps no port')
})

t.test('virtualhost precedence: url, then checker, then real server/virtual server', async (t) => {
  const rs = target('10.0.0.2', 80, { virtualhost: 'rs.example' })
  const check = (urlHost?: string, checkHost?: string): string =>
    requestFor(httpUrl({ virtualhost: urlHost }), { httpProtocol: '1.0', virtualhost: checkHost }, rs, destinationOf(httpCheck(), rs))
  t.match(check('url.example', 'check.example'), /\r\nHost: url\.example\r\n/)
  t.match(check(undefined, 'check.example'), /\r\nHost: check\.example\r\n/)
  t.match(check(), /\r\nHost: rs\.example\r\n/)
  const bare = target('10.0.0.2', 80)
  const viaConnectIp = requestFor(httpUrl(), { httpProtocol: '1.0', virtualhost: undefined }, bare,
    destinationOf(httpCheck({ connectIp: '2001:DB8:0::7', connectPort: 8080 }), bare))
  t.match(viaConnectIp, /\r\nHost: \[2001:db8::7\]:8080\r\n/, 'the connection address, as inet_ntop prints it')
})

t.test('the request bytes are those of keepalived 2.2.7 (captured from genhash)', async (t) => {
  for (const [host, family] of [['127.0.0.1', 4], ['::1', 6]] as const) {
    for (const [protocol, flag] of [['1.0', '1.0'], ['1.0C', '1.0c'], ['1.1', '1.1']] as const) {
      for (const vhost of [undefined, 'www.example.org']) {
        const peer = await webServer(t, httpResponse('200 OK', 'x'), host)
        await genhash(['-s', host, '-p', String(peer.port), '-u', '/status?x=1', '-P', flag, ...(vhost ? ['-V', vhost] : [])])
        const rs = target(host, peer.port)
        const ours = requestFor(httpUrl({ path: '/status?x=1', virtualhost: vhost }), { httpProtocol: protocol, virtualhost: undefined }, rs,
          destinationOf(httpCheck(), rs))
        t.equal(ours, peer.requests[0], `${host} ${protocol} ${vhost ?? 'no vhost'}`)
        t.equal(family, rs.family)
      }
    }
  }
})

t.test('status line and Content-Length as html.c reads them', async (t) => {
  const head = (s: string): Buffer => Buffer.from(s, 'latin1')
  t.equal(statusCodeOf(head('HTTP/1.1 204 No Content\r\n\r\n')), 204)
  t.equal(statusCodeOf(head('HTTP/1.1 200\r\n\r\n')), 0, 'no reason phrase: no space after the code')
  t.equal(statusCodeOf(head('HTTP/1.1  200 OK\r\n\r\n')), 0)
  t.equal(statusCodeOf(head('garbage\r\n\r\n')), 0)
  t.equal(contentLengthOf(head('HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n')), 3)
  t.equal(contentLengthOf(head('HTTP/1.0 200 OK\r\nX-Content-Length:3\r\n\r\n')), 3, 'any header ending in the exact name')
  t.equal(contentLengthOf(head('HTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\n')), undefined, 'case matters')
  t.equal(contentLengthOf(head('HTTP/1.0 200 OK\r\nContent-Length: 3 \r\n\r\n')), undefined, 'digits must end the line')
})

t.test('the digest is genhash\'s, whatever the framing', async (t) => {
  const bodies: [string, Buffer][] = [
    ['plain', httpResponse('200 OK', '<html>hello</html>\n')],
    ['Content-Length shorter than the body', httpResponse('200 OK', 'abcdefghij', ['Content-Length: 3'])],
    ['Content-Length longer than the body', httpResponse('200 OK', 'abcdefghij', ['Content-Length: 30'])],
    ['chunked, not decoded', httpResponse('200 OK', '5\r\nhello\r\n0\r\n\r\n', ['Transfer-Encoding: chunked'])],
    ['binary', httpResponse('200 OK', Buffer.from([0, 1, 2, 255, 13, 10, 13, 10, 0]))],
    ['empty body', httpResponse('200 OK', '')],
  ]
  for (const [what, reply] of bodies) {
    const peer = await webServer(t, reply)
    const expected = await genhash(['-s', '127.0.0.1', '-p', String(peer.port), '-u', '/'])
    const reader = new HttpResponseReader({ digest: true, regex: false })
    // Byte by byte: the digest must not depend on how the stream is cut.
    for (let i = 0; i < reply.length; i++) reader.push(reply.subarray(i, i + 1))
    t.equal(reader.finish().digest, expected, what)
    const outcome = await probe(httpCheck({ urls: [httpUrl({ digest: expected })] }), peer.port)
    t.equal(outcome.ok, true, `${what}: the checker agrees`)
  }
})

t.test('the header block must fit in 4095 bytes', async (t) => {
  const reply = (headerBytes: number): Buffer => {
    const start = 'HTTP/1.0 200 OK\r\nX-Pad: '
    return Buffer.from(`${start}${'a'.repeat(headerBytes - start.length - 4)}\r\n\r\nbody`, 'latin1')
  }
  for (const size of [MAX_HEADER_BYTES, MAX_HEADER_BYTES + 1]) {
    const peer = await webServer(t, reply(size))
    const fits = size <= MAX_HEADER_BYTES
    t.equal(await genhash(['-s', '127.0.0.1', '-p', String(peer.port), '-u', '/']), fits ? md5('body') : 'no data received from remote webserver')
    const outcome = await probe(httpCheck(), peer.port)
    t.same([outcome.ok, outcome.failure], fits ? [true, undefined] : [false, `Read, no data received from  server [127.0.0.1]:tcp:${peer.port}.`], `${size} bytes`)
  }
})

t.test('status codes: default 200-299, or the configured ranges', async (t) => {
  const peer = await webServer(t, httpResponse('404 Not Found', 'nope'))
  const rs = `[127.0.0.1]:tcp:${peer.port}`
  const failed = await probe(httpCheck(), peer.port)
  t.same([failed.ok, failed.failure], [false, `HTTP status code error to server ${rs}.`])
  const allowed = await probe(httpCheck({ urls: [httpUrl({ statusCodes: [{ min: 200, max: 200 }, { min: 400, max: 404 }] })] }), peer.port)
  t.same([allowed.ok, allowed.urlSuccesses], [true, [`HTTP status code success to ${rs} url(/)`]])
})

t.test('digest match and mismatch', async (t) => {
  const peer = await webServer(t, httpResponse('200 OK', 'the page'))
  const rs = `[127.0.0.1]:tcp:${peer.port}`
  const good = await probe(httpCheck({ urls: [httpUrl({ digest: md5('the page') })] }), peer.port)
  t.same([good.ok, good.urlSuccesses], [true, [`MD5 digest success to ${rs} url(/)`]])
  const bad = await probe(httpCheck({ urls: [httpUrl({ digest: md5('another page') })] }), peer.port)
  t.same([bad.ok, bad.failure], [false, `MD5 digest error to server ${rs}.`])
})

t.test('regex: match, no match, regex_no_match, offsets, options', async (t) => {
  const page = httpResponse('200 OK', '<p>Status: HEALTHY</p>')
  const peer = await webServer(t, page)
  const rs = `[127.0.0.1]:tcp:${peer.port}`
  const run = (over: Parameters<typeof httpUrl>[0]): Promise<HttpProbeOutcome> => probe(httpCheck({ urls: [httpUrl(over)] }), peer.port)
  const matched = await run({ regex: 'Status: (HEALTHY|OK)' })
  t.same([matched.ok, matched.urlSuccesses], [true, [`Regex match success to ${rs} url(/)`]])
  t.same((await run({ regex: 'DEGRADED' })).failure, `Regex match failed server ${rs}.`)
  t.equal((await run({ regex: 'DEGRADED', regexNoMatch: true })).ok, true)
  t.equal((await run({ regex: 'HEALTHY', regexNoMatch: true })).ok, false)
  t.equal((await run({ regex: 'healthy' })).ok, false)
  t.equal((await run({ regex: 'healthy', regexOptions: ['caseless'] })).ok, true)
  t.equal((await run({ regex: '^HTTP/1\\.0 200' })).ok, true, 'the headers are part of the subject')
  const at = page.indexOf('HEALTHY')
  t.equal((await run({ regex: 'HEALTHY', regexMinOffset: at, regexMaxOffset: at })).ok, true)
  t.equal((await run({ regex: 'HEALTHY', regexMinOffset: at + 1 })).ok, false, 'starts after the match')
  t.equal((await run({ regex: 'HEALTHY', regexMaxOffset: at - 1 })).ok, false, 'match starts beyond the max offset')
  t.equal((await run({ regex: '(' })).failure, `Regex match failed server ${rs}.`, 'an invalid pattern never passes')
  t.same(unsupportedRegexOptions(httpUrl({ regexOptions: ['caseless', 'ungreedy', 'extended'] })), ['ungreedy', 'extended'])
  const regex = compileUrlRegex(httpUrl({ regex: 'a', regexOptions: ['multiline', 'dotall'] }))
  t.equal(regex instanceof RegExp && regex.flags, 'gms')
})

t.test('judging order: data, status, digest, regex', async (t) => {
  const response = { headersComplete: true, statusCode: 500, contentLength: undefined, bodyBytes: 1, digest: 'x', regexSubject: 'x' }
  const url = httpUrl({ digest: md5('y'), regex: 'z' })
  t.same(judgeResponse(url, { ...response, headersComplete: false }, /z/g), { ok: false, reason: 'Read, no data received from ' })
  t.same(judgeResponse(url, response, /z/g), { ok: false, reason: 'HTTP status code error to' })
  t.same(judgeResponse(url, { ...response, statusCode: 200 }, /z/g), { ok: false, reason: 'MD5 digest error to' })
  t.same(judgeResponse(url, { ...response, statusCode: 200, digest: md5('y') }, /z/g), { ok: false, reason: 'Regex match failed' })
})

t.test('every url must pass; each has its own connection and Host', async (t) => {
  const peer = await webServer(t, (request) => (request.startsWith('GET /bad ') ? httpResponse('503 Busy', '') : httpResponse('200 OK', 'ok')))
  const check = httpCheck({
    virtualhost: 'check.example',
    urls: [httpUrl({ path: '/one' }), httpUrl({ path: '/two', virtualhost: 'two.example' }), httpUrl({ path: '/bad' })],
  })
  const outcome = await probe(check, peer.port, '127.0.0.1', { virtualhost: 'rs.example' })
  t.same([outcome.ok, outcome.failure], [false, `HTTP status code error to server [127.0.0.1]:tcp:${peer.port}.`])
  t.same(peer.requests.map((r) => /^GET (\S+) .*\r\nHost: (\S+)\r\n/s.exec(r)?.slice(1)), [['/one', 'check.example'], ['/two', 'two.example'], ['/bad', 'check.example']])
  t.equal(peer.accepted.length, 3)
  t.same(outcome.urlSuccesses.length, 2, 'the URLs that passed before the failure')
})

t.test('IPv6: the Host header has the address in brackets', async (t) => {
  const peer = await webServer(t, httpResponse('200 OK', 'v6'), '::1')
  const outcome = await probe(httpCheck({ httpProtocol: '1.1' }), peer.port, '::1')
  t.equal(outcome.ok, true)
  t.equal(peer.requests[0], `GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [::1]:${peer.port}\r\n\r\n`)
})

t.test('Content-Length not matching the body is noted once per difference', async (t) => {
  const peer = await webServer(t, httpResponse('200 OK', 'abcdef', ['Content-Length: 10']))
  const runner = httpRunner(httpCheck({ urls: [httpUrl({ path: '/x', virtualhost: 'v.example' })] }), target('127.0.0.1', peer.port), 'id')
  const first = (await runner.probe(never)) as HttpProbeOutcome
  t.equal(first.ok, true)
  t.same(first.notices, [`http_check for RS [127.0.0.1]:tcp:${peer.port} VS [10.0.0.1]:tcp:${peer.port} url v.example/x: content_length (10) does not match received bytes (6)`])
  const second = (await runner.probe(never)) as HttpProbeOutcome
  t.same(second.notices, [], 'the same difference is not noted again')
})

t.test('connection and reading failures, with keepalived\'s reasons', async (t) => {
  const failure = async (onConnection: (s: net.Socket) => void, over: Partial<HttpCheck> = {}): Promise<string | undefined> => {
    const peer = await listen(t, onConnection)
    const outcome = await probe(httpCheck({ connectTimeout: 300_000, ...over }), peer.port)
    t.equal(outcome.ok, false)
    return outcome.failure?.replace(`[127.0.0.1]:tcp:${peer.port}`, 'RS')
  }
  t.equal(await failure((s) => s.end()), 'Read, no data received from  server RS.')
  t.equal(await failure(() => undefined), 'Timeout WEB read server RS.')
  t.equal(await failure((s) => s.write('HTTP/1.0 200 OK\r\n')), 'Timeout HTTP read server RS.')
  t.equal(await failure((s) => s.once('data', () => { s.write('HTTP/1.0 200'); setTimeout(() => s.resetAndDestroy(), 20) })), 'Read error with server RS.')
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  t.equal((await probe(httpCheck(), port)).failure, `Connection failed server [127.0.0.1]:tcp:${port}.`)
})

t.test('SSL_GET: TLS without verification, SNI only with enable_sni', async (t) => {
  const cert = selfSignedCertificate(t)
  const seen: (string | false | null)[] = []
  const peer = await listen(t, (s) => {
    seen.push((s as import('node:tls').TLSSocket).servername)
    void receive(s, (text) => text.includes('\r\n\r\n')).then(() => s.end(httpResponse('200 OK', 'tls page')))
  }, '127.0.0.1', cert)
  const url = httpUrl({ digest: md5('tls page') })
  const ok = await probe(httpCheck({ kind: 'SSL_GET', urls: [url], virtualhost: 'secure.example' }), peer.port)
  t.same([ok.ok, ok.urlSuccesses], [true, [`MD5 digest success to [127.0.0.1]:tcp:${peer.port} url(/)`]])
  const sni = await probe(httpCheck({ kind: 'SSL_GET', urls: [url], virtualhost: 'secure.example', enableSni: true }), peer.port)
  t.equal(sni.ok, true)
  t.same(seen, [false, 'secure.example'])

  const plain = await listen(t, (s) => s.once('data', () => s.end('HTTP/1.0 400 Bad Request\r\n\r\n')))
  const handshake = await probe(httpCheck({ kind: 'SSL_GET' }), plain.port)
  t.equal(handshake.failure, `SSL handshake/communication error connecting to server [127.0.0.1]:tcp:${plain.port}.`)
  const silent = await listen(t)
  const timeout = await probe(httpCheck({ kind: 'SSL_GET', connectTimeout: 300_000 }), silent.port)
  t.equal(timeout.failure, `Timeout connecting server [127.0.0.1]:tcp:${silent.port}.`)

  // ssl_read_thread: a clean close before any header is a read error; a stall after them ends the response.
  const closes = await listen(t, (s) => s.once('data', () => s.end()), '127.0.0.1', cert)
  const closed = await probe(httpCheck({ kind: 'SSL_GET' }), closes.port)
  t.equal(closed.failure, `SSL read error from server [127.0.0.1]:tcp:${closes.port}.`)
  const stalls = await listen(t, (s) => s.once('data', () => s.write(httpResponse('200 OK', 'partial'))), '127.0.0.1', cert)
  const stalled = await probe(httpCheck({ kind: 'SSL_GET', connectTimeout: 200_000, urls: [httpUrl({ digest: md5('partial') })] }), stalls.port)
  t.same([stalled.ok, stalled.failure], [true, undefined])
  const mute = await listen(t, (s) => s.once('data', () => s.write('HTTP/1.0 200 OK\r\n')), '127.0.0.1', cert)
  const muted = await probe(httpCheck({ kind: 'SSL_GET', connectTimeout: 200_000 }), mute.port)
  t.equal(muted.failure, `Timeout SSL read server [127.0.0.1]:tcp:${mute.port}.`)
})

t.test('up and down lines', async (t) => {
  const lines = httpLines(target('10.0.0.2', 80))
  const outcome = { ok: false, failure: undefined, latencyMs: 0 }
  t.equal(isHttpProbeOutcome(outcome), false)
  t.same(lines.up(outcome), ['Remote Web server [10.0.0.2]:tcp:80 succeed on service.'])
  const recovered = { ...outcome, ok: true, urlSuccesses: ['HTTP status code success to [10.0.0.2]:tcp:80 url(/)'], notices: [] }
  t.same(lines.up(recovered), ['HTTP status code success to [10.0.0.2]:tcp:80 url(/)', 'Remote Web server [10.0.0.2]:tcp:80 succeed on service.'],
    'each URL\'s success line comes before the up line (keepalived logs them while the checker is down)')
  t.equal(lines.down(outcome, 2, true), 'HTTP_CHECK on service [10.0.0.2]:tcp:80 failed after 2 retries.', 'timeout_epilog marks has_run first')
  t.equal(lines.down(outcome, 0, false), 'HTTP_CHECK on service [10.0.0.2]:tcp:80 failed.')
})

t.test('abort while waiting for the response closes the connection', async (t) => {
  const peer = await listen(t)
  const ac = new AbortController()
  const pending = httpRunner(httpCheck({ connectTimeout: 10_000_000 }), target('127.0.0.1', peer.port), 'id').probe(ac.signal)
  const server = await peer.nextConnection()
  t.match(await receive(server, (text) => text.endsWith('\r\n\r\n')), /^GET \/ HTTP\/1\.0\r\n/, 'the request went out')
  const closed = new Promise((resolve) => server.once('close', resolve))
  ac.abort()
  const outcome = await pending
  t.same([outcome.ok, outcome.failure], [false, undefined])
  await closed
  t.pass('then the socket closed')
})

t.test('no listener outlives its attempt on the signal (the scheduler reuses it)', async (t) => {
  t.equal(getEventListeners(never, 'abort').length, 0)
})
