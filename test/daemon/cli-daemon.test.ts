/**
 * The daemon as operators run it, `node dist/cli/main.js …` (dist is built
 * before tap runs), where no namespace is needed: console lines in
 * keepalived's `%c: msg` format, syslog datagrams on a private socket, pid
 * files that refuse a second instance, detaching without `-n`, `status` and
 * metrics against the running parent, the exit codes of the early failures.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { get } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/cli/main.js'
import { processAlive } from '../../src/daemon/pidfile.js'
import type { LogRecord } from '../../src/log/logger.js'
import { openSyslogListener } from '../../src/net/syslog-socket.js'
import { inProcessSpawner, KEEPALIVED_TS, startDaemon, until } from '../helpers/process.js'

const dir = mkdtempSync(join(tmpdir(), 'kats-clid-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const EMPTY = join(dir, 'empty.conf')
writeFileSync(EMPTY, 'global_defs {\n    router_id lab\n}\n')
const files = (tag: string) => ['-p', join(dir, `${tag}.pid`), '-r', join(dir, `${tag}_vrrp.pid`), '-c', join(dir, `${tag}_checkers.pid`), `--control-socket=${join(dir, `${tag}.sock`)}`]

t.test('-n -l -D: console and syslog lines, pid file, a second instance refused, SIGTERM stops with exit 0', async (t) => {
  const sock = join(dir, 'log.sock')
  const listener = openSyslogListener(sock)
  const grams: string[] = []
  // Read as they come: a Unix datagram queue holds only net.unix.max_dgram_qlen (10) unread lines.
  const reader = setInterval(() => grams.push(...listener.drain()), 10)
  t.teardown(() => { clearInterval(reader); listener.close() })
  const d = startDaemon(t, ['-n', '-l', '-D', '-f', EMPTY, ...files('a')], { KEEPALIVED_TS_SYSLOG_SOCKET: sock })
  await d.waitFor(/Startup complete/)
  const pidFile = join(dir, 'a.pid')
  t.equal(readFileSync(pidFile, 'utf8'), `${d.pid}\n`)

  const second = startDaemon(t, ['-n', '-l', '-G', '-f', EMPTY, ...files('a')])
  t.equal((await second.exited).code, 0)
  t.equal(second.texts().at(-1), 'daemon is already running')
  t.equal(readFileSync(pidFile, 'utf8'), `${d.pid}\n`, 'the running daemon\'s file is untouched')
  t.ok(processAlive(d.pid))

  d.signal('SIGTERM')
  t.equal((await d.exited).code, 0)
  t.notOk(existsSync(pidFile))
  for (const l of d.lines) t.match(l, /^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}: /, 'keepalived console format')
  const texts = d.texts()
  t.match(texts[0], /^Starting Keepalived-ts v/)
  t.match(texts[2], /^Command line: '.*main\.js' '-n' '-l' '-D' '-f'/)
  t.ok(texts.includes(`Opening file '${EMPTY}'.`), '-D adds Opening file')
  t.same(texts.slice(-4, -1), ['Warning - keepalived has no configuration to run', 'Startup complete', 'Stopping'])
  t.match(texts.at(-1), /^Stopped Keepalived-ts v/)
  await until(() => grams.length >= d.lines.length, 'the syslog datagrams', 2000).catch(() => {})
  t.equal(grams.length, d.lines.length, 'every console line also went to syslog')
  t.match(grams[0], new RegExp(`^<30>\\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d Keepalived\\[${d.pid}\\]: Starting Keepalived-ts v`))
})

t.test('without -n the daemon detaches: the starting process exits 0 once the pid file is written', async (t) => {
  const start = spawnSync(process.execPath, [KEEPALIVED_TS, '-f', EMPTY, ...files('b')], { encoding: 'utf8', timeout: 30_000 })
  t.equal(start.status, 0)
  t.equal(start.stderr, '', 'nothing on the terminal: the daemon\'s stdio is /dev/null')
  const pid = Number(readFileSync(join(dir, 'b.pid'), 'utf8'))
  t.teardown(() => { if (processAlive(pid)) process.kill(pid, 'SIGKILL') })
  t.ok(processAlive(pid))
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  t.equal(Number(fields[3]), pid, 'a session of its own (setsid)')
  process.kill(pid, 'SIGTERM')
  await until(() => !processAlive(pid), 'the detached daemon to stop', 10_000)
  t.notOk(existsSync(join(dir, 'b.pid')))

  const failing = spawnSync(process.execPath, [KEEPALIVED_TS, '-f', join(dir, 'none.conf'), ...files('c')], { encoding: 'utf8', timeout: 30_000 })
  t.equal(failing.status, 6, 'a daemon that cannot start reports its exit code through the starting process')
})

t.test('status and metrics against the running parent', async (t) => {
  const port = 20000 + (process.pid % 20000)
  const d = startDaemon(t, ['-n', '-l', '-G', '-f', EMPTY, ...files('s'), `--metrics=127.0.0.1:${port}`])
  await d.waitFor(/Startup complete/)
  const st = spawnSync(process.execPath, [KEEPALIVED_TS, 'status', '--json', '--socket', join(dir, 's.sock')], { encoding: 'utf8', timeout: 20_000 })
  t.equal(st.status, 0, st.stderr)
  const status = JSON.parse(st.stdout)
  t.equal(status.pid, d.pid)
  t.equal(status.configFile, EMPTY)
  t.same(status.processes, [])
  const body = await new Promise<string>((resolve, reject) => {
    get(`http://127.0.0.1:${port}/metrics`, (res) => {
      let text = ''
      res.on('data', (b: Buffer) => { text += b.toString() })
      res.on('end', () => resolve(text))
    }).on('error', reject)
  })
  t.match(body, /keepalived_ts_/)
  d.signal('SIGINT')
  t.equal((await d.exited).code, 0)
  t.notOk(existsSync(join(dir, 's.sock')), 'the control socket is removed at stop')
})

t.test('early failures: no file exits 6, a bad -S 1, the child variable without a parent 1', async (t) => {
  const none = startDaemon(t, ['-n', '-l', '-G', '-f', join(dir, 'none.conf'), ...files('d')])
  t.equal((await none.exited).code, 6)
  t.match(none.lines.join('\n'), 'cannot read configuration file')
  const bad = startDaemon(t, ['-n', '-S', 'kern', '-f', EMPTY])
  t.equal((await bad.exited).code, 1)
  t.match(bad.lines.join('\n'), "Invalid log facility 'kern'")
  const orphan = startDaemon(t, ['-n', '-f', EMPTY], { KEEPALIVED_TS_CHILD_ROLE: 'vrrp' })
  t.equal((await orphan.exited).code, 1)
  t.match(orphan.lines.join('\n'), 'is set but there is no parent channel')
})

t.test('in-process main() with injected children: vrrp_instances and no VRRP subsystem: exit 1; -G sends nothing', async (t) => {
  // Children in-process with an empty registry: this must never start VRRP on the test host's own interfaces.
  const ifname = readdirSync('/sys/class/net').find((n) => n !== 'lo')!
  const conf = join(dir, 'vrrp.conf')
  writeFileSync(conf, `vrrp_instance VI_1 {\n    interface ${ifname}\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.35.0.100/24\n    }\n}\n`)
  const sock = join(dir, 'log2.sock')
  const listener = openSyslogListener(sock)
  t.teardown(() => listener.close())
  let err = ''
  const io = { stdout: () => {}, stderr: (s: string) => { err += s } }
  const records: LogRecord[] = []
  const children = inProcessSpawner({ registry: {}, records, pidFile: () => join(dir, 'v2.pid') })
  const code = await main(['-n', '-l', '-G', '-f', conf, '-p', join(dir, 'k2.pid'), '-r', join(dir, 'v2.pid'), '-c', join(dir, 'c2.pid'), '--control-socket=none'], io,
    { spawn: children.spawn, signals: new EventEmitter(), env: { KEEPALIVED_TS_SYSLOG_SOCKET: sock } })
  t.equal(code, 1)
  t.match(records.map((r) => r.text).join('\n'), 'VRRP subsystem is not available in this version of keepalived-ts')
  t.match(err, /pid \d+ exited with permanent error FATAL\. Terminating/)
  t.notOk(existsSync(join(dir, 'k2.pid')))
  t.same(listener.drain(), [])
})
