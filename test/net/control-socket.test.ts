/**
 * The control socket over real Unix sockets in a temp dir: the round trip,
 * mode 0600, stale and live socket files, bounds on both sides, malformed
 * answers, and who gets an answer (SO_PEERCRED, and the file mode, with a
 * client running as nobody).
 */
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import * as net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import {
  type ControlAnswer,
  type ControlHandler,
  type ControlServer,
  type ControlServerOptions,
  EndpointError,
  listenControlSocket,
  requestControl,
} from '../../src/net/control-socket.js'


function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'kats-ctl-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const echo: ControlHandler = async (request, peer) => ({ ok: true, request, uid: peer.uid })

async function serve(t: Test, path: string, handler: ControlHandler = echo, opts: ControlServerOptions = {}): Promise<ControlServer> {
  const s = await listenControlSocket(path, handler, opts)
  if (s instanceof EndpointError) throw new Error(`listen: ${s.code} ${s.message}`)
  t.teardown(() => s.close())
  return s
}

function codeOf(r: ControlAnswer | EndpointError | ControlServer): string {
  return r instanceof EndpointError ? r.code : 'ok' in r ? `answer:${String(r.ok)}` : 'server'
}

/** A raw Unix server answering each connection with `reply` (for malformed answers). */
async function rawServer(t: Test, path: string, reply: (s: net.Socket) => void): Promise<void> {
  const open = new Set<net.Socket>()
  const server = net.createServer((s) => {
    open.add(s)
    s.once('close', () => open.delete(s))
    reply(s)
  })
  await new Promise<void>((resolve) => server.listen(path, resolve))
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy()
        server.close(() => resolve())
      }),
  )
}

/** Run `node -e script path` as `uid` and return its stdout. */
function runNode(script: string, args: string[], uid?: number): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      // Not tap's NODE_OPTIONS: its hooks write files nobody may not.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      ...(uid === undefined ? {} : { uid, gid: uid }),
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.once('error', reject)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ out, code })
    })
  })
}

/** A client script: connect, send one request line, print {data} or {error: code}. */
const CLIENT = `
const s = require('net').createConnection(process.argv[1]);
let data = '';
s.on('connect', () => s.write(JSON.stringify({ command: 'status' }) + '\\n'));
s.on('data', (d) => (data += d));
s.on('end', () => { console.log(JSON.stringify({ data })); process.exit(0) });
s.on('error', (e) => { console.log(JSON.stringify({ error: e.code })); process.exit(0) });
`

t.test('one request, one answer; the socket file is 0600 and removed at close', async (t) => {
  const path = join(tempDir(t), 'ctl.sock')
  const server = await serve(t, path)
  const st = lstatSync(path)
  t.ok(st.isSocket())
  t.equal(st.mode & 0o777, 0o600, 'mode 0600')
  t.equal(st.uid, process.getuid!(), "owned by the daemon's uid")
  const answer = await requestControl(path, { command: 'status', n: [1, 2] })
  t.same(answer, { ok: true, request: { command: 'status', n: [1, 2] }, uid: process.getuid!() })
  const again = await requestControl(path, { command: 'again' })
  t.same(answer instanceof EndpointError ? undefined : again, { ok: true, request: { command: 'again' }, uid: process.getuid!() }, 'serves more than once')
  await server.close()
  t.notOk(existsSync(path), 'the file is gone')
  await server.close()
  t.equal(codeOf(await requestControl(path, {})), 'KA_NET_NO_SERVER')
})

t.test('a stale socket file (its daemon was killed) is replaced', async (t) => {
  const path = join(tempDir(t), 'stale.sock')
  const child = spawn(process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => console.log('up'))", path], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve())
    child.once('exit', () => reject(new Error('the stale server did not start')))
  })
  child.removeAllListeners('exit')
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
  t.ok(lstatSync(path).isSocket(), 'the dead server left its socket file')
  t.equal(codeOf(await requestControl(path, {})), 'KA_NET_NO_SERVER', 'nobody answers on it')
  await serve(t, path)
  t.same(await requestControl(path, { x: 1 }), { ok: true, request: { x: 1 }, uid: process.getuid!() })
})

t.test('a live socket is never taken over; a path that is not a socket is never removed', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'live.sock')
  await serve(t, path, async () => ({ ok: true, who: 'first' }))
  const second = await listenControlSocket(path, async () => ({ ok: true, who: 'second' }))
  t.equal(codeOf(second), 'KA_NET_IN_USE')
  t.match((second as EndpointError).message, /served by a running daemon/)
  t.same(await requestControl(path, {}), { ok: true, who: 'first' }, 'the first server still answers')

  const file = join(dir, 'plain')
  writeFileSync(file, 'keep me')
  t.equal(codeOf(await listenControlSocket(file, echo)), 'KA_NET_NOT_SOCKET')
  t.ok(lstatSync(file).isFile(), 'the file is still there')
  t.equal(codeOf(await listenControlSocket(join(dir, 'missing', 'x.sock'), echo)), 'KA_NET_LISTEN', 'no such directory')
  t.equal(codeOf(await listenControlSocket(join(dir, 'x'.repeat(120)), echo)), 'KA_NET_INVALID_ADDRESS', 'longer than sun_path')
  t.equal(codeOf(await requestControl(join(dir, 'x'.repeat(120)), {})), 'KA_NET_INVALID_ADDRESS')
})

t.test('the server bounds what it reads and how long the handler takes', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'bounds.sock')
  let slow = false
  const refused: string[] = []
  await serve(
    t,
    path,
    async (request) => {
      if ((request as { throw?: boolean }).throw) throw new Error('boom')
      if (slow) await new Promise((resolve) => setTimeout(resolve, 1000))
      return { ok: true }
    },
    { maxRequestBytes: 64, answerTimeoutMs: 150, onRefused: (reason) => refused.push(reason) },
  )
  t.same(await requestControl(path, { pad: 'x'.repeat(100) }), { ok: false, error: 'too-large', message: 'requests are limited to 64 bytes' })
  t.same(refused, ['request larger than 64 bytes'])
  t.same(await requestControl(path, { throw: true }), { ok: false, error: 'internal', message: 'boom' })
  slow = true
  const started = Date.now()
  t.same(await requestControl(path, {}), { ok: false, error: 'timeout', message: 'no answer within 150 ms' })
  t.ok(Date.now() - started < 900, 'answered at the bound, not when the handler finished')
  slow = false

  const raw = (send: (s: net.Socket) => void): Promise<string> =>
    new Promise((resolve) => {
      const s = net.createConnection(path)
      let data = ''
      s.on('data', (d) => (data += d.toString()))
      s.on('close', () => resolve(data))
      s.on('connect', () => send(s))
    })
  t.equal(await raw((s) => s.end('not json\n')), '{"ok":false,"error":"malformed-request","message":"the request is not JSON"}\n')
  t.equal(await raw((s) => s.end('{"a":1}')), '{"ok":true}\n', 'a request ended by EOF instead of a newline')
  t.equal(await raw((s) => s.end()), '', 'an empty request is closed without an answer')
})

t.test('a client that never finishes its request is dropped', async (t) => {
  const path = join(tempDir(t), 'idle.sock')
  await serve(t, path, echo, { requestTimeoutMs: 200 })
  const started = Date.now()
  const closed = await new Promise<string>((resolve) => {
    const s = net.createConnection(path)
    s.on('connect', () => s.write('{"partial":'))
    s.on('data', () => {})
    s.on('close', () => resolve('closed'))
    setTimeout(() => resolve('still open'), 3000).unref()
  })
  t.equal(closed, 'closed')
  t.ok(Date.now() - started < 2000, `dropped after ${Date.now() - started} ms`)
})

t.test('the client turns every bad answer into a coded error', async (t) => {
  const dir = tempDir(t)
  const at = (name: string): string => join(dir, name)
  await rawServer(t, at('garbage'), (s) => s.end('garbage\n'))
  await rawServer(t, at('array'), (s) => s.end('[1,2]\n'))
  await rawServer(t, at('no-ok'), (s) => s.end('{"status":{}}\n'))
  await rawServer(t, at('silent'), (s) => s.end())
  await rawServer(t, at('huge'), (s) => s.end('x'.repeat(5000)))
  await rawServer(t, at('stuck'), (s) => s.resume())
  await rawServer(t, at('denied'), (s) => s.end('{"ok":false,"error":"permission-denied","message":"no"}\n'))
  await rawServer(t, at('failed'), (s) => s.end('{"ok":false,"error":"unavailable"}\n'))
  const ask = (name: string) => requestControl(at(name), {}, { timeoutMs: 300, maxAnswerBytes: 4096 })
  t.match(await ask('garbage'), { code: 'KA_NET_MALFORMED', message: /is not JSON/ })
  t.match(await ask('array'), { code: 'KA_NET_MALFORMED', message: /not a JSON object/ })
  t.match(await ask('no-ok'), { code: 'KA_NET_MALFORMED', message: /neither 'ok'/ })
  t.match(await ask('silent'), { code: 'KA_NET_MALFORMED', message: /closed without answering/ })
  t.match(await ask('huge'), { code: 'KA_NET_TOO_LARGE' })
  t.match(await ask('stuck'), { code: 'KA_NET_TIMEOUT', message: /within 300 ms/ })
  t.match(await ask('denied'), { code: 'KA_NET_PERMISSION' })
  t.same(await ask('failed'), { ok: false, error: 'unavailable', message: 'unavailable' })
  t.match(await ask('nothing-here'), { code: 'KA_NET_NO_SERVER', message: /no such socket/ })
  writeFileSync(at('regular'), '')
  t.match(await ask('regular'), { code: 'KA_NET_NO_SERVER', message: /connection refused/ })
})

t.test('only root and the daemon uid get an answer', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'peer.sock')
  const refused: [string, number | undefined][] = []
  await serve(t, path, echo, { allowedUids: [4242], onRefused: (reason, peer) => refused.push([reason, peer?.pid]) })
  t.match(await requestControl(path, { command: 'status' }), { code: 'KA_NET_PERMISSION', message: /answers root and the daemon user only/ })
  t.same(refused, [[`uid ${process.getuid!()} is not allowed`, process.pid]], 'SO_PEERCRED named us, with our pid')
})

t.test('as nobody: the 0600 file refuses the connection; loosened by hand, SO_PEERCRED still refuses', async (t) => {
  t.equal(process.getuid!(), 0, 'this test runs as root (it starts a client as nobody)')
  const dir = tempDir(t)
  chmodSync(dir, 0o711)
  const path = join(dir, 'root.sock')
  const refused: string[] = []
  await serve(t, path, echo, { onRefused: (reason) => refused.push(reason) })
  const asNobody = await runNode(CLIENT, [path], 65534)
  t.same(JSON.parse(asNobody.out), { error: 'EACCES' }, 'connect(2) needs write permission on the 0600 file')
  chmodSync(path, 0o666)
  const loosened = await runNode(CLIENT, [path], 65534)
  const data = (JSON.parse(loosened.out) as { data: string }).data
  t.same(JSON.parse(data), { ok: false, error: 'permission-denied', message: 'the control socket answers root and the daemon user only' })
  t.same(refused, ['uid 65534 is not allowed'])
  const asRoot = await runNode(CLIENT, [path])
  t.same(JSON.parse((JSON.parse(asRoot.out) as { data: string }).data), { ok: true, request: { command: 'status' }, uid: 0 })
})
