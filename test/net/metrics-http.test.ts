/**
 * The metrics HTTP server on 127.0.0.1: GET and HEAD /metrics, 404 and 405,
 * oversized and slow requests cut, render failures as 503, listen errors as
 * coded values.
 */
import * as http from 'node:http'
import * as net from 'node:net'
import t, { type Test } from 'tap'
import { EndpointError, listenMetricsHttp, METRICS_CONTENT_TYPE, type MetricsHttpOptions, type MetricsHttpServer } from '../../src/net/metrics-http.js'


async function serve(t: Test, render: () => Promise<string>, opts: MetricsHttpOptions = {}): Promise<MetricsHttpServer> {
  const s = await listenMetricsHttp({ host: '127.0.0.1', port: 0 }, render, opts)
  if (s instanceof EndpointError) throw new Error(`listen: ${s.code} ${s.message}`)
  t.teardown(() => s.close())
  return s
}

interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

function get(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.setTimeout(5000, () => req.destroy(new Error('client timeout')))
    req.end()
  })
}

/** Write `text` on a raw connection; resolve with all that came back once the server closes (or `waitMs` passes). */
function raw(port: number, text: string, waitMs = 4000): Promise<{ data: string; closed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now()
    const s = net.createConnection({ host: '127.0.0.1', port })
    let data = ''
    const timer = setTimeout(() => {
      s.destroy()
      resolve({ data, closed: false, ms: Date.now() - started })
    }, waitMs)
    s.on('connect', () => s.write(text))
    s.on('data', (d) => (data += d.toString()))
    s.on('error', () => {})
    s.on('close', () => {
      clearTimeout(timer)
      resolve({ data, closed: true, ms: Date.now() - started })
    })
  })
}

const TEXT = '# HELP keepalived_ts_info x\n# TYPE keepalived_ts_info gauge\nkeepalived_ts_info{version="1"} 1\n'

t.test('GET /metrics: the text, version 0.0.4; HEAD; a query string is fine', async (t) => {
  let renders = 0
  const server = await serve(t, async () => {
    renders++
    return TEXT
  })
  t.ok(server.port > 0, 'the real port is reported')
  const r = await get(server.port, '/metrics')
  t.same([r.status, r.headers['content-type'], r.headers['content-length'], r.body], [200, METRICS_CONTENT_TYPE, String(TEXT.length), TEXT])
  t.equal(METRICS_CONTENT_TYPE, 'text/plain; version=0.0.4; charset=utf-8')
  const head = await get(server.port, '/metrics', 'HEAD')
  t.same([head.status, head.body, head.headers['content-length']], [200, '', String(TEXT.length)])
  t.equal((await get(server.port, '/metrics?name[]=x')).body, TEXT)
  t.equal(renders, 3, 'a fresh render per scrape')
})

t.test('404 elsewhere, 405 for other methods; a body is not read as the next request', async (t) => {
  let renders = 0
  const server = await serve(t, async () => {
    renders++
    return TEXT
  })
  const root = await get(server.port, '/')
  t.same([root.status, root.body], [404, 'Not Found: try /metrics\n'])
  t.equal((await get(server.port, '/metrics/x')).status, 404)
  const post = await get(server.port, '/metrics', 'POST')
  t.same([post.status, post.headers.allow], [405, 'GET, HEAD'])
  const smuggle = await raw(server.port, 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 34\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n')
  t.match(smuggle.data, /^HTTP\/1\.1 404 /)
  t.notMatch(smuggle.data, /200 OK/, 'the body was not served as a request')
  t.ok(smuggle.closed, 'the connection is closed after a request with a body')
  t.equal(renders, 0)
})

t.test('an oversized request is cut with 431, and the server keeps serving', async (t) => {
  const server = await serve(t, async () => TEXT, { maxHeaderBytes: 2048 })
  const big = await raw(server.port, `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(100_000)}\r\n\r\n`)
  t.match(big.data, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/)
  t.ok(big.closed, 'and the connection closed')
  const longUrl = await raw(server.port, `GET /metrics?${'q'.repeat(5000)} HTTP/1.1\r\nHost: x\r\n\r\n`)
  t.match(longUrl.data, /^HTTP\/1\.1 431 /, 'a long request line counts too')
  const junk = await raw(server.port, 'NOT HTTP AT ALL\r\n\r\n')
  t.match(junk.data, /^HTTP\/1\.1 400 /)
  t.equal((await get(server.port, '/metrics')).body, TEXT)
})

t.test('a request that never completes is dropped after the bound', async (t) => {
  const server = await serve(t, async () => TEXT, { requestTimeoutMs: 300 })
  const slow = await raw(server.port, 'GET /metrics HTTP/1.1\r\nHost: x\r\n', 5000)
  t.ok(slow.closed, 'closed by the server')
  t.ok(slow.ms < 3000, `after ${slow.ms} ms`)
  t.match(slow.data, /^(HTTP\/1\.1 408 |$)/)
})

t.test('a failing or slow render is a 503, and the next scrape works', async (t) => {
  let mode: 'fail' | 'slow' | 'ok' = 'fail'
  const errors: string[] = []
  const server = await serve(
    t,
    async () => {
      if (mode === 'fail') throw new Error('no IPC answer')
      if (mode === 'slow') await new Promise((resolve) => setTimeout(resolve, 1000))
      return TEXT
    },
    { renderTimeoutMs: 150, onRenderError: (m) => errors.push(m) },
  )
  const failed = await get(server.port, '/metrics')
  t.same([failed.status, failed.body], [503, 'metrics unavailable: no IPC answer\n'])
  mode = 'slow'
  const slow = await get(server.port, '/metrics')
  t.same([slow.status, slow.body], [503, 'metrics unavailable: no metrics within 150 ms\n'])
  mode = 'ok'
  t.equal((await get(server.port, '/metrics')).status, 200)
  t.same(errors, ['no IPC answer', 'no metrics within 150 ms'])
})

t.test('listen failures are coded values', async (t) => {
  const first = await serve(t, async () => TEXT)
  const again = await listenMetricsHttp({ host: '127.0.0.1', port: first.port }, async () => TEXT)
  t.match(again, { code: 'KA_NET_IN_USE', address: `127.0.0.1:${first.port}` })
  const foreign = await listenMetricsHttp({ host: '192.0.2.1', port: 9650 }, async () => TEXT)
  t.match(foreign, { code: 'KA_NET_LISTEN', errno: { name: 'EADDRNOTAVAIL' } })
  t.ok(foreign instanceof EndpointError)
  await first.close()
  await first.close()
  const refused = await raw(first.port, 'GET /metrics HTTP/1.1\r\n\r\n', 1000)
  t.same([refused.closed, refused.data], [true, ''], 'nothing listens after close')
})
