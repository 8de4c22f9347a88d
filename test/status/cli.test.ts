/**
 * `keepalived-ts status` (runStatus) against a test control server in a temp
 * dir: the table, --json, --socket, and each failure with its message and
 * exit code.
 */
import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import * as net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { runStatus, STATUS_EXIT, statusUsage } from '../../src/cli/status.js'
import { silentLogger } from '../../src/log/logger.js'
import { formatStatusJson } from '../../src/status/format.js'
import { EndpointError, startControlServer } from '../../src/status/server.js'
import type { DaemonStatus } from '../../src/status/types.js'


const fixture = JSON.parse(readFileSync(new URL('./daemon-status.json', import.meta.url), 'utf8')) as DaemonStatus

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'kats-cli-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function daemon(t: Test, path: string, opts: { allowedUids?: number[] } = {}): Promise<void> {
  const e = await startControlServer(path, async () => fixture, silentLogger(), opts)
  if (e instanceof EndpointError) throw new Error(`start: ${e.code} ${e.message}`)
  t.teardown(() => e.close())
}

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await runStatus(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s) })
  return { code, out, err }
}

t.test('the table and --json from a running daemon', async (t) => {
  const path = join(tempDir(t), 'ka.sock')
  await daemon(t, path)
  const table = await run(['--socket', path])
  t.equal(table.code, STATUS_EXIT.OK)
  t.equal(table.err, '')
  t.match(table.out, /^keepalived-ts 0\.1\.0, pid 4242, started 2024-05-01T10:00:00Z \(/)
  t.match(table.out, /\nVI_1  MASTER  150 \(100\)  .* 10\.0\.0\.1 .* master down timer expired\n/)
  t.match(table.out, /\n  \[10\.0\.0\.3\]:tcp:80  down  .* HTTP_GET .* failure  3000 ms  HTTP status code error\n/)
  const json = await run([`--socket=${path}`, '--json'])
  t.same([json.code, json.err], [0, ''])
  t.equal(json.out, formatStatusJson(fixture))
  const withWord = await run(['status', '-j', '-s', path])
  t.equal(withWord.out, json.out, "a leading 'status' word and the short flags work too")
})

t.test('no daemon: a clear message and exit 3', async (t) => {
  const dir = tempDir(t)
  const missing = await run(['--socket', join(dir, 'none.sock')])
  t.same(missing, {
    code: STATUS_EXIT.NO_DAEMON,
    out: '',
    err: `keepalived-ts status: no daemon answers on ${join(dir, 'none.sock')} (no such socket): is keepalived-ts running?\n`,
  })
  const stuckPath = join(dir, 'stuck.sock')
  const stuck = net.createServer((c) => {
    c.resume()
    t.teardown(() => c.destroy())
  })
  await new Promise<void>((resolve) => stuck.listen(stuckPath, resolve))
  t.teardown(() => new Promise<void>((resolve) => stuck.close(() => resolve())))
  const startedAt = Date.now()
  const silent = await run(['--socket', stuckPath, '--timeout', '0.3'])
  t.same(silent, {
    code: STATUS_EXIT.NO_DAEMON,
    out: '',
    err: `keepalived-ts status: no answer on ${stuckPath} within 300 ms: the daemon is not answering\n`,
  })
  t.ok(Date.now() - startedAt < 2000, 'gave up at the bound')
})

t.test('permission denied by the daemon: exit 4', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'ka.sock')
  await daemon(t, path, { allowedUids: [4242] })
  const r = await run(['--socket', path])
  t.equal(r.code, STATUS_EXIT.PERMISSION)
  t.equal(r.err, `keepalived-ts status: permission denied on ${path}: the control socket answers root and the daemon user only; run it as root\n`)

})

t.test('permission denied by the 0600 socket file: runStatus as nobody, exit 4', async (t) => {
  t.equal(process.getuid!(), 0, 'this test runs as root (it runs the client as nobody)')
  const dir = tempDir(t)
  chmodSync(dir, 0o711)
  const path = join(dir, 'root.sock')
  await daemon(t, path)
  const script = `import('./src/cli/status.ts').then(async (m) => {
    let err = ''
    const code = await m.runStatus(['--socket', process.argv[1]], { stdout: () => {}, stderr: (s) => (err += s) })
    process.stdout.write(JSON.stringify({ code, err }))
  })`
  // Asynchronous: were the file mode wrong, this process must still be free to answer.
  const child = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
    const c = spawn(process.execPath, ['--no-warnings', '--import', '@tapjs/typescript/import', '-e', script, path], {
      uid: 65534,
      gid: 65534,
      cwd: process.cwd(),
      // Not tap's NODE_OPTIONS: its hooks write files nobody may not.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TS_NODE_TRANSPILE_ONLY: '1' },
    })
    let stdout = ''
    let stderr = ''
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => c.kill('SIGKILL'), 60_000)
    c.once('close', () => {
      clearTimeout(timer)
      resolve({ stdout, stderr })
    })
  })
  t.same(JSON.parse(child.stdout || '{}'), {
    code: STATUS_EXIT.PERMISSION,
    err: `keepalived-ts status: permission denied on ${path}: the control socket is for root; run it as root\n`,
  }, child.stderr)
})

t.test('malformed answers: exit 1 and what was wrong', async (t) => {
  const dir = tempDir(t)
  const answers: Record<string, string> = {
    text: 'hello\n',
    shape: '{"ok":true,"status":{"version":"1"}}\n',
    error: '{"ok":false,"error":"unavailable","message":"child busy"}\n',
  }
  for (const [name, answer] of Object.entries(answers)) {
    // resume(): read the client's request and its close, so the connection ends.
    const server = net.createServer((s) => s.resume().end(answer))
    await new Promise<void>((resolve) => server.listen(join(dir, name), resolve))
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  }
  const text = await run(['--socket', join(dir, 'text')])
  t.same(text, { code: STATUS_EXIT.BAD_ANSWER, out: '', err: `keepalived-ts status: the answer on ${join(dir, 'text')} is not JSON\n` })
  const shape = await run(['--socket', join(dir, 'shape')])
  t.same([shape.code, shape.err], [1, `keepalived-ts status: the answer on ${join(dir, 'shape')} is not a daemon status: status.pid is undefined, not a number\n`])
  const error = await run(['--socket', join(dir, 'error')])
  t.same([error.code, error.err], [1, "keepalived-ts status: the daemon answered 'unavailable': child busy\n"])
})

t.test('usage', async (t) => {
  t.same(await run(['--help']), { code: 0, out: statusUsage(), err: '' })
  t.match(statusUsage(), /--socket=PATH .*default \/run\/keepalived-ts\.sock/)
  for (const argv of [['--bogus'], ['--socket'], ['--socket='], ['--timeout', '0'], ['--timeout=abc'], ['--timeout']]) {
    const r = await run(argv)
    t.equal(r.code, STATUS_EXIT.USAGE, argv.join(' '))
    t.match(r.err, /^keepalived-ts status: .*\nUsage: keepalived-ts status \[--json\] \[--socket PATH\] \[--timeout SECONDS\]\n/)
  }
  const long = await run(['--socket', `/tmp/${'x'.repeat(200)}`])
  t.same([long.code, long.err.includes('longer than 107 bytes')], [STATUS_EXIT.USAGE, true])
})
