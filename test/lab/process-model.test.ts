/**
 * The process model end to end, dist/cli/main.js in a namespace of its own
 * (`kats-pm-*`, 10.35.0.0/16): a parent, a VRRP child holding a MASTER VIP and
 * a checker child (idle: no IPVS on this kernel), each logging to syslog under
 * its own ident and pid; every signal (USR1, USR2, JSON, STATS_CLEAR, HUP good
 * and broken, TERM, INT); pid files refusing a second instance; `kill -9` of
 * each child (the VIP polled every 50 ms must never leave, the new VRRP child
 * resumes MASTER); `-R`. Root needed; setup failures fail.
 */
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { processAlive } from '../../src/daemon/pidfile.js'
import { openSyslogListener } from '../../src/net/syslog-socket.js'
import { createPmNamespace, type DaemonProcess, KEEPALIVED_TS, type PmNamespace, until } from '../helpers/process.js'

const conf = (n: PmNamespace, vips: string[]) => `global_defs {
    router_id pm
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 61
    priority 200
    advert_int 1
    virtual_ipaddress {
${vips.map((v) => `        ${v}/24`).join('\n')}
    }
}
virtual_server ${vip(n)} 80 {
    lvs_sched rr
    lvs_method DR
    protocol TCP
    real_server ${n.ipv4.replace(/\.1$/, '.2')} 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`
const vip = (n: PmNamespace, last = 100) => n.ipv4.replace(/\.1$/, `.${last}`)

interface Started {
  readonly d: DaemonProcess
  readonly files: { conf: string; parent: string; vrrp: string; checkers: string; sock: string }
  readonly grams: string[]
}

function start(t: { teardown(fn: () => void): void }, n: PmNamespace, tag: string, extra: string[] = []): Started {
  const files = { conf: join(n.dir, `${tag}.conf`), parent: join(n.dir, `${tag}.pid`), vrrp: join(n.dir, `${tag}_vrrp.pid`), checkers: join(n.dir, `${tag}_checkers.pid`), sock: join(n.dir, `${tag}.sock`) }
  writeFileSync(files.conf, conf(n, [vip(n)]))
  const logSock = join(n.dir, `${tag}-log.sock`)
  const listener = openSyslogListener(logSock)
  const grams: string[] = []
  const reader = setInterval(() => grams.push(...listener.drain()), 10)
  t.teardown(() => { clearInterval(reader); listener.close() })
  const d = n.daemon(['-n', '-l', '-D', '-f', files.conf, '-p', files.parent, '-r', files.vrrp, '-c', files.checkers, `--control-socket=${files.sock}`, ...extra],
    { KEEPALIVED_TS_SYSLOG_SOCKET: logSock, TMPDIR: n.dir })
  return { d, files, grams }
}

const childPid = async (d: DaemonProcess, what: 'VRRP' | 'Healthcheck', from = 0) =>
  Number(/pid=(\d+)$/.exec(await d.waitFor(new RegExp(`Starting ${what} child process, pid=\\d+$`), 15_000, from))![1])

/**
 * Poll `address` every 50 ms from a shell loop inside the namespace (its own
 * clock: nothing in this test process can starve it) until `done()` or `maxMs`.
 */
async function watchAddress(n: PmNamespace, address: string, done: () => boolean, maxMs: number): Promise<{ polls: number; missing: number }> {
  const rounds = Math.ceil(maxMs / 50)
  const script = `i=0; while [ $i -lt ${rounds} ]; do if ip -o addr show dev eth0 | grep -q ' ${address}/'; then echo 1; else echo 0; fi; sleep 0.05; i=$((i+1)); done`
  const loop = spawn('ip', ['netns', 'exec', n.ns, 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'ignore'] })
  let out = ''
  loop.stdout.on('data', (b: Buffer) => { out += b.toString() })
  const ended = new Promise<void>((r) => loop.once('exit', () => r()))
  const end = Date.now() + maxMs
  while (!done() && Date.now() < end && loop.exitCode === null) await new Promise((r) => setTimeout(r, 50))
  loop.kill('SIGKILL')
  await ended
  const polls = out.split('\n').filter((l) => l === '0' || l === '1')
  return { polls: polls.length, missing: polls.filter((l) => l === '0').length }
}

/** `keepalived-ts status --json`, without blocking this process. */
function statusOf(sock: string): Promise<{ processes?: { role: string; pid: number }[]; vrrp?: { instances?: { state: string }[] } }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [KEEPALIVED_TS, 'status', '--json', '--socket', sock], { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    c.stdout.on('data', (b: Buffer) => { out += b.toString() })
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000)
    c.once('exit', () => {
      clearTimeout(timer)
      try { resolve(JSON.parse(out)) } catch { resolve({}) }
    })
  })
}

t.test('one daemon through every signal, a second instance, and kill -9 of each child', async (t) => {
  const n = createPmNamespace(t)
  const { d, files, grams } = start(t, n, 'a')
  const checkerPid = await childPid(d, 'Healthcheck')
  const vrrpPid = await childPid(d, 'VRRP')
  await d.waitFor(/Startup complete$/, 15_000)
  await d.waitFor(/\(VI_1\) Entering MASTER STATE$/, 15_000)
  await until(() => n.hasAddress(vip(n)), 'the VIP', 5000, 50)
  t.equal(readFileSync(files.parent, 'utf8'), `${d.pid}\n`)
  await until(() => existsSync(files.vrrp) && existsSync(files.checkers), 'child pid files')
  t.equal(readFileSync(files.vrrp, 'utf8'), `${vrrpPid}\n`)
  t.equal(readFileSync(files.checkers, 'utf8'), `${checkerPid}\n`)
  t.ok(grams.some((g) => g.includes(` Keepalived[${d.pid}]: Starting VRRP child process, pid=${vrrpPid}`)))
  t.ok(grams.some((g) => g.includes(` Keepalived_vrrp[${vrrpPid}]: `)), 'the VRRP child logs as Keepalived_vrrp with its pid')
  t.ok(grams.some((g) => g.includes(` Keepalived_healthcheckers[${checkerPid}]: `)), 'the checker child logs as Keepalived_healthcheckers with its pid')

  // Dumps: the parent writes its own file and each child is asked for its own.
  let from = d.lines.length
  d.signal('SIGUSR1')
  await d.waitFor(new RegExp(`Printing parent data for process\\(${d.pid}\\) on signal`), 5000, from)
  await d.waitFor(/Printing VRRP data( for process\(\d+\) on signal|: not available)/, 5000, from)
  await d.waitFor(/Printing checker data( for process\(\d+\) on signal|: not available)/, 5000, from)
  const parentData = join(n.dir, 'keepalived_parent.data')
  await until(() => existsSync(parentData), 'keepalived_parent.data')
  t.equal(statSync(parentData).mode & 0o777, 0o600)
  t.match(readFileSync(parentData, 'utf8'), `VRRP: pid ${vrrpPid}, restarts 0`)
  for (const [sig, re] of [['SIGUSR2', /Printing VRRP stats/], [36, /Printing VRRP as json/], [63, /Printing and clearing VRRP stats/]] as const) {
    from = d.lines.length
    d.signal(sig)
    const line = await d.waitFor(re, 5000, from)
    t.ok(line.includes(`for process(${vrrpPid}) on signal`) || line.endsWith('not available in this version of keepalived-ts'), `${sig}: ${line}`)
  }
  t.ok(processAlive(d.pid) && processAlive(vrrpPid) && processAlive(checkerPid), 'the real-time signals killed nobody')

  // A second instance: refused on the parent's pid file, and on a live child's alone.
  for (const args of [['-p', files.parent], ['-p', join(n.dir, 'other.pid'), '-r', files.vrrp]]) {
    const second = spawnSync('ip', ['netns', 'exec', n.ns, process.execPath, KEEPALIVED_TS, '-n', '-l', '-G', '-f', files.conf, '--control-socket=none', ...args],
      { encoding: 'utf8', timeout: 30_000 })
    t.equal(second.status, 0)
    t.match(second.stderr.trimEnd().split('\n').at(-1), /daemon is already running$/)
  }
  t.equal(readFileSync(files.vrrp, 'utf8'), `${vrrpPid}\n`)

  // SIGHUP with a good file, then a broken one.
  writeFileSync(files.conf, conf(n, [vip(n), vip(n, 101)]))
  from = d.lines.length
  d.signal('SIGHUP')
  await d.waitFor(/Reloading \.\.\.$/, 5000, from)
  await d.waitFor(/: Reloading$/, 5000, from)
  await d.waitFor(/Reload complete$/, 15_000, from)
  t.ok(n.hasAddress(vip(n)), 'the VIP stayed through the reload')
  writeFileSync(files.conf, 'vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 999\n}\nbogus_keyword\n')
  from = d.lines.length
  d.signal('SIGHUP')
  await d.waitFor(/Reload aborted: the new configuration has \d+ error\(s\); the running configuration is kept$/, 5000, from)
  t.match(d.lines.slice(from).join('\n'), /virtual_router_id/)
  t.notOk(d.lines.slice(from).some((l) => / Reloading$/.test(l)), 'no child was asked to reload')
  t.ok(n.hasAddress(vip(n)) && processAlive(vrrpPid) && processAlive(checkerPid), 'the old configuration serves on')

  // kill -9 of the checker child: respawned (it idles here: no IPVS).
  from = d.lines.length
  process.kill(checkerPid, 'SIGKILL')
  await d.waitFor(new RegExp(`Healthcheck child process\\(${checkerPid}\\) died: Respawning$`), 5000, from)
  const checker2 = await childPid(d, 'Healthcheck', from)
  await until(() => existsSync(files.checkers) && readFileSync(files.checkers, 'utf8') === `${checker2}\n`, 'the new checker pid file', 10_000)

  // kill -9 of the VRRP child while MASTER: the VIP must never leave, the new child must resume MASTER.
  from = d.lines.length
  process.kill(vrrpPid, 'SIGKILL')
  let resumed = false
  const killedAt = Date.now()
  // Watch through the respawn and three advert intervals after it.
  const watching = watchAddress(n, vip(n), () => resumed && Date.now() - killedAt > 3500, 15_000)
  await d.waitFor(new RegExp(`VRRP child process\\(${vrrpPid}\\) died: Respawning$`), 5000, from)
  const vrrp2 = await childPid(d, 'VRRP', from)
  for (let i = 0; i < 40 && !resumed; i++) {
    const s = await statusOf(files.sock)
    resumed = (s.processes?.some((p) => p.role === 'vrrp' && p.pid === vrrp2) ?? false) && s.vrrp?.instances?.[0]?.state === 'MASTER'
    if (!resumed) await new Promise((r) => setTimeout(r, 250))
  }
  const watched = await watching
  t.ok(resumed, 'the new VRRP child reports MASTER')
  t.ok(watched.polls >= 30, `the VIP was polled every 50 ms through the respawn (${watched.polls} times)`)
  t.equal(watched.missing, 0, 'the VIP never left the interface')
  t.notOk(d.lines.slice(from).some((l) => /\(VI_1\) Entering BACKUP STATE/.test(l)), 'no BACKUP flap')

  from = d.lines.length
  d.signal('SIGTERM')
  const exit = await d.exited
  t.equal(exit.code, 0)
  t.match(d.texts().slice(from).join('\n'), /Stopping[\s\S]*CPU usage \(self\/children\)[\s\S]*Stopped Keepalived-ts/)
  t.match(d.lines.slice(from).join('\n'), /Stopped - used/)
  t.notOk(n.hasAddress(vip(n)), 'the VIP is removed at stop')
  for (const f of [files.parent, files.vrrp, files.checkers]) t.notOk(existsSync(f), `${f} removed`)
  t.notOk(processAlive(vrrp2) || processAlive(checker2), 'no child outlives the parent')
})

t.test('SIGINT stops cleanly; -R: a killed child stops the daemon', async (t) => {
  const n = createPmNamespace(t)
  const a = start(t, n, 'int')
  await a.d.waitFor(/Startup complete$/, 15_000)
  a.d.signal('SIGINT')
  t.equal((await a.d.exited).code, 0)
  t.match(a.d.texts().join('\n'), /Stopping[\s\S]*Stopped Keepalived-ts/)

  const r = start(t, n, 'norespawn', ['-R'])
  const vrrpPid = await childPid(r.d, 'VRRP')
  await r.d.waitFor(/Startup complete$/, 15_000)
  process.kill(vrrpPid, 'SIGKILL')
  t.equal((await r.d.exited).code, 0)
  const texts = r.d.texts()
  t.ok(texts.includes(`VRRP child process(${vrrpPid}) died: Exiting`))
  t.ok(texts.includes('Stopping'))
  t.equal(texts.filter((l) => l.startsWith('Starting VRRP child process')).length, 1, 'not respawned')
})
