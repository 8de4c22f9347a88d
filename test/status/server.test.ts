/**
 * The parent's status endpoints end to end, as the process model starts them:
 * startControlServer + fetchDaemonStatus over a socket in a temp dir, and
 * startMetricsServer scraped over HTTP, each with a provider like the one that
 * gathers the children's status.
 */
import * as http from 'node:http'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { captureLogging } from '../../src/log/logger.js'
import { fetchDaemonStatus } from '../../src/status/client.js'
import { renderMetrics } from '../../src/status/metrics.js'
import { DEFAULT_CONTROL_SOCKET, EndpointError, startControlServer, startMetricsServer, type StatusEndpoint, type StatusProvider } from '../../src/status/server.js'
import type { DaemonStatus } from '../../src/status/types.js'


const fixture = JSON.parse(readFileSync(new URL('./daemon-status.json', import.meta.url), 'utf8')) as DaemonStatus

function socketPath(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'kats-status-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'status.sock')
}

function started(t: Test, e: StatusEndpoint | EndpointError): StatusEndpoint {
  if (e instanceof EndpointError) throw new Error(`start: ${e.code} ${e.message}`)
  t.teardown(() => e.close())
  return e
}

function scrape(where: string, path = '/metrics'): Promise<{ status: number; body: string }> {
  const [, host, port] = /^(.*):(\d+)$/.exec(where)!
  return new Promise((resolve, reject) => {
    http
      .get({ host, port: Number(port), path, agent: false }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      .on('error', reject)
  })
}

t.test('status over the control socket: the provider is asked per request', async (t) => {
  const path = socketPath(t)
  const log = captureLogging()
  let asked = 0
  const provider: StatusProvider = async () => {
    asked++
    return { ...fixture, pid: 1000 + asked }
  }
  const endpoint = started(t, await startControlServer(path, provider, log.logging.logger('parent')))
  t.equal(endpoint.where, path)
  const first = await fetchDaemonStatus(path)
  t.same(first, { ok: true, status: { ...fixture, pid: 1001 } })
  const second = await fetchDaemonStatus(path)
  t.equal(second.ok && second.status.pid, 1002)
  t.same(log.texts(), [], 'nothing logged for good requests')
  t.equal(DEFAULT_CONTROL_SOCKET, '/run/keepalived-ts.sock')
})

t.test('a provider that fails, hangs or returns garbage: coded results, a log line', async (t) => {
  const path = socketPath(t)
  const log = captureLogging()
  let mode: 'fail' | 'hang' | 'garbage' = 'fail'
  const provider: StatusProvider = () => {
    if (mode === 'fail') return Promise.reject(new Error('checkers child did not answer'))
    if (mode === 'hang') return new Promise(() => {})
    return Promise.resolve({ ...fixture, vrrp: { instances: [{ name: 'VI_1', state: 'SLEEPY' }] } } as unknown as DaemonStatus)
  }
  started(t, await startControlServer(path, provider, log.logging.logger('parent'), { providerTimeoutMs: 150 }))
  t.same(await fetchDaemonStatus(path), {
    ok: false,
    code: 'KA_STATUS_DAEMON_ERROR',
    message: "the daemon answered 'unavailable': checkers child did not answer",
  })
  t.same(log.texts('Keepalived'), ['Status request failed: checkers child did not answer'])
  mode = 'hang'
  t.match(await fetchDaemonStatus(path), { ok: false, code: 'KA_STATUS_DAEMON_ERROR', message: /'timeout': no answer within 150 ms/ })
  mode = 'garbage'
  t.match(await fetchDaemonStatus(path), { ok: false, code: 'KA_STATUS_INVALID', message: /status\.vrrp\.instances\[0\]\.interface|status\.vrrp\.instances\[0\]\.vrid/ })
})

t.test('an unknown request is answered, not dropped; a refused uid is logged', async (t) => {
  const path = socketPath(t)
  const log = captureLogging()
  started(t, await startControlServer(path, async () => fixture, log.logging.logger('parent'), { allowedUids: [4242] }))
  const r = await fetchDaemonStatus(path)
  t.match(r, { ok: false, code: 'KA_NET_PERMISSION' })
  t.same(log.texts(), [`Control socket ${path}: refused a request (uid ${process.getuid!()} is not allowed, pid ${process.pid})`])

  const open = socketPath(t)
  started(t, await startControlServer(open, async () => fixture, log.logging.logger('parent')))
  const { requestControl } = await import('../../src/net/control-socket.js')
  t.same(await requestControl(open, { command: 'reload' }), {
    ok: false,
    error: 'unknown-command',
    message: `unknown request "reload"; this daemon answers 'status'`,
  })
})

t.test('a second daemon cannot take the socket; the first keeps answering', async (t) => {
  const path = socketPath(t)
  const log = captureLogging()
  started(t, await startControlServer(path, async () => fixture, log.logging.logger('parent')))
  const second = await startControlServer(path, async () => ({ ...fixture, pid: 1 }), log.logging.logger('parent'))
  t.match(second, { code: 'KA_NET_IN_USE' })
  const r = await fetchDaemonStatus(path)
  t.equal(r.ok && r.status.pid, fixture.pid)
})

t.test('metrics over HTTP are the rendering of a fresh status', async (t) => {
  const log = captureLogging()
  let n = 0
  const endpoint = started(
    t,
    await startMetricsServer({ host: '127.0.0.1', port: 0, family: 4 }, async () => ({ ...fixture, pid: ++n }), log.logging.logger('parent')),
  )
  t.match(endpoint.where, /^127\.0\.0\.1:\d+$/)
  const r = await scrape(endpoint.where)
  t.same(r, { status: 200, body: renderMetrics(fixture) })
  t.equal(n, 1)
  t.equal((await scrape(endpoint.where, '/')).status, 404)
})

t.test('metrics: a bad address is refused; a failing provider is a 503 and a log line', async (t) => {
  const log = captureLogging()
  const parent = log.logging.logger('parent')
  t.match(await startMetricsServer('localhost:9650', async () => fixture, parent), {
    code: 'KA_NET_INVALID_ADDRESS',
    message: "metrics address: 'localhost' is not an IP address",
  })
  t.match(await startMetricsServer('127.0.0.1:0', async () => fixture, parent), { code: 'KA_NET_INVALID_ADDRESS', message: /port 0/ })
  const endpoint = started(t, await startMetricsServer({ host: '127.0.0.1', port: 0, family: 4 }, () => Promise.reject(new Error('no IPC')), parent))
  t.same(await scrape(endpoint.where), { status: 503, body: 'metrics unavailable: no IPC\n' })
  t.same(log.texts(), ['Metrics scrape failed: no IPC'])
})
