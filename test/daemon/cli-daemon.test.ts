/**
 * The daemon as operators run it: `node dist/cli/main.js -n -l -D -f … -p … -r … -c …`
 * (dist is built before tap runs). Console lines in keepalived's `%c: msg`
 * format on stderr, syslog datagrams on a private socket, pid file, SIGTERM.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EventEmitter } from 'node:events'
import { main } from '../../src/cli/main.js'
import { openSyslogListener } from '../../src/net/syslog-socket.js'

const MAIN = resolve(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)))
const dir = mkdtempSync(join(tmpdir(), 'kats-clid-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

function start(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let stderr = ''
  child.stderr.on('data', (b: Buffer) => { stderr += b.toString() })
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)))
  // A daemon that should have exited but did not fails the test instead of hanging it.
  const guard = setTimeout(() => child.kill('SIGKILL'), 20_000)
  void exited.then(() => clearTimeout(guard))
  t.teardown(() => { child.kill('SIGKILL') })
  return { child, exited, stderr: () => stderr }
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

t.test('-n -l -D: console and syslog lines, pid file, SIGTERM stops with exit 0', async (t) => {
  const conf = join(dir, 'empty.conf')
  writeFileSync(conf, 'global_defs {\n    router_id lab\n}\n')
  const sock = join(dir, 'log.sock')
  const listener = openSyslogListener(sock)
  t.teardown(() => listener.close())
  const pid = join(dir, 'k.pid')
  const d = start(['-n', '-l', '-D', '-f', conf, '-p', pid, '-r', join(dir, 'v.pid'), '-c', join(dir, 'c.pid')], { KEEPALIVED_TS_SYSLOG_SOCKET: sock })
  await until(() => d.stderr().includes('Startup complete'), 'Startup complete')
  t.equal(readFileSync(pid, 'utf8'), `${d.child.pid}\n`)
  d.child.kill('SIGTERM')
  t.equal(await d.exited, 0)
  t.notOk(existsSync(pid))
  const lines = d.stderr().trimEnd().split('\n')
  for (const l of lines) t.match(l, /^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}: /, 'keepalived console format')
  const texts = lines.map((l) => l.slice(26))
  t.match(texts[0], /^Starting Keepalived-ts v/)
  t.match(texts[2], /^Command line: '.*main\.js' '-n' '-l' '-D' '-f'/)
  t.ok(texts.includes(`Opening file '${conf}'.`), '-D adds Opening file')
  t.same(texts.slice(-4, -1), ['Warning - keepalived has no configuration to run', 'Startup complete', 'Stopping'])
  t.match(texts.at(-1), /^Stopped Keepalived-ts v/)
  const grams = listener.drain()
  t.equal(grams.length, lines.length, 'every console line also went to syslog')
  t.match(grams[0], new RegExp(`^<30>\\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d Keepalived\\[${d.child.pid}\\]: Starting Keepalived-ts v`))
})

t.test('vrrp_instances with no VRRP subsystem registered: refused with exit 1; -G sends nothing', async (t) => {
  // In-process with an empty registry: this must never start VRRP on the test host's own interfaces.
  const ifname = readdirSync('/sys/class/net').find((n) => n !== 'lo')!
  const conf = join(dir, 'vrrp.conf')
  writeFileSync(conf, `vrrp_instance VI_1 {\n    interface ${ifname}\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.33.0.100/24\n    }\n}\n`)
  const sock = join(dir, 'log2.sock')
  const listener = openSyslogListener(sock)
  t.teardown(() => listener.close())
  let err = ''
  const io = { stdout: () => {}, stderr: (s: string) => { err += s } }
  const code = await main(['-n', '-l', '-G', '-f', conf, '-p', join(dir, 'k2.pid'), '-r', join(dir, 'v2.pid'), '-c', join(dir, 'c2.pid')], io,
    { subsystems: {}, signals: new EventEmitter(), env: { KEEPALIVED_TS_SYSLOG_SOCKET: sock } })
  t.equal(code, 1)
  t.match(err, 'VRRP subsystem is not available in this version of keepalived-ts')
  t.notOk(existsSync(join(dir, 'k2.pid')))
  t.same(listener.drain(), [])
})

t.test('a missing configuration file exits 6; a bad -S exits 1', async (t) => {
  const d = start(['-n', '-l', '-G', '-f', join(dir, 'none.conf'), '-p', join(dir, 'k3.pid')])
  t.equal(await d.exited, 6)
  t.match(d.stderr(), 'cannot read configuration file')
  const bad = start(['-n', '-S', 'kern', '-f', join(dir, 'none.conf')])
  t.equal(await bad.exited, 1)
  t.match(bad.stderr(), "Invalid log facility 'kern'")
})
