/**
 * The parent (runForeground) with real child shells running in-process
 * (test/helpers/process.ts): start-up order and lines, pid files, each signal,
 * reload (good, broken, changing the children), respawn with hints, -R,
 * permanent errors, a child that will not die, status and endpoints.
 */
import t from 'tap'
import { EventEmitter } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadRecorded } from '../../src/daemon/config-snapshot.js'
import type { EndpointStarter, StatusProvider } from '../../src/daemon/endpoints.js'
import { type ForegroundOptions, runForeground } from '../../src/daemon/foreground.js'
import { writePidFile } from '../../src/daemon/pidfile.js'
import type { SubsystemRegistry } from '../../src/daemon/subsystem.js'
import { VERSION } from '../../src/daemon/version.js'
import { createLogging, type LogRecord } from '../../src/log/logger.js'
import type { VrrpStatus } from '../../src/status/types.js'
import { inProcessSpawner, recordingSubsystem, until } from '../helpers/process.js'

const dir = mkdtempSync(join(tmpdir(), 'kats-fg-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const vrrpConf = (name = 'VI_1') => `vrrp_instance ${name} {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.35.0.100/24
    }
}
`
const VS_CONF = `virtual_server 10.35.0.100 80 {
    lvs_sched rr
    lvs_method DR
    protocol TCP
    real_server 10.35.0.2 80 {
        TCP_CHECK {
            connect_timeout 2
        }
    }
}
`

function setup(name: string, conf: string | undefined, extra: Partial<ForegroundOptions> = {}, registry?: SubsystemRegistry, calls: string[] = []) {
  const d = mkdtempSync(join(dir, `${name}-`))
  const file = join(d, 'keepalived.conf')
  if (conf !== undefined) writeFileSync(file, conf)
  const opts: ForegroundOptions = {
    argv: ['keepalived-ts', '-n', '-l', '-f', file],
    configFile: file,
    pidFile: join(d, 'keepalived.pid'),
    vrrpPidFile: join(d, 'vrrp.pid'),
    checkersPidFile: join(d, 'checkers.pid'),
    vrrpOnly: false, checkOnly: false, all: false, dontRespawn: false, umask: undefined,
    controlSocket: undefined, metrics: undefined,
    ...extra,
  }
  const records: LogRecord[] = []
  const logging = createLogging({ syslog: false, console: false, detail: true, sinks: [(r) => records.push(r)] })
  const reg = registry ?? { vrrp: recordingSubsystem(calls), checkers: recordingSubsystem(calls) }
  const children = inProcessSpawner({ registry: reg, records, pidFile: (r) => (r === 'vrrp' ? opts.vrrpPidFile : opts.checkersPidFile) })
  const signals = new EventEmitter()
  const texts = (ident?: string) => records.filter((r) => ident === undefined || r.ident === ident).map((r) => r.text)
  const has = (text: string) => texts().includes(text)
  const deps = {
    logging, spawn: children.spawn, signals, pid: process.pid, secondMs: 20, stopTimeoutMs: 300,
    load: (path: string) => loadRecorded(path, { configId: 'main', interfaces: new Set(['lo', 'eth0']) }),
  }
  return { d, file, opts, records, texts, has, signals, children, calls, deps }
}

t.test('start-up, every signal, reload and stop in keepalived\'s order; pid files written and removed', async (t) => {
  const s = setup('full', vrrpConf() + VS_CONF)
  const oldTmp = process.env.TMPDIR
  process.env.TMPDIR = s.d
  t.teardown(() => { process.env.TMPDIR = oldTmp })
  const done = runForeground(s.opts, s.deps)
  await until(() => s.has('Startup complete'), 'Startup complete')
  const [checkers, vrrp] = s.children.children
  t.same(s.children.children.map((c) => c.role), ['checkers', 'vrrp'], 'the checker child first, as keepalived')
  t.equal(readFileSync(s.opts.pidFile, 'utf8'), `${process.pid}\n`)
  t.equal(readFileSync(s.opts.vrrpPidFile, 'utf8'), `${vrrp!.pid}\n`, 'each child writes its own pid file')
  t.equal(readFileSync(s.opts.checkersPidFile, 'utf8'), `${checkers!.pid}\n`)

  for (const sig of ['SIGUSR1', 'SIGUSR2', 'SIGRTMIN+2', 'SIGRTMAX-1']) s.signals.emit(sig)
  await until(() => s.calls.includes('vrrp:stats clear'), 'the dumps')
  t.match(readFileSync(join(s.d, 'keepalived_parent.data'), 'utf8'), /Pid = \d+[\s\S]*VRRP: pid \d+, restarts 0[\s\S]*vrrp_instance VI_1/)
  writeFileSync(s.file, vrrpConf('VI_2') + VS_CONF)
  s.signals.emit('SIGHUP')
  await until(() => s.has('Reload complete'), 'Reload complete')
  s.signals.emit('SIGTERM')
  t.equal(await done, 0)
  t.same(s.calls.filter((c) => c.startsWith('vrrp:')), ['vrrp:start VI_1', 'vrrp:data', 'vrrp:stats', 'vrrp:json', 'vrrp:stats clear', 'vrrp:reload VI_2', 'vrrp:stop'])
  t.same(s.calls.filter((c) => c.startsWith('checkers:')), ['checkers:start VI_1', 'checkers:data', 'checkers:reload VI_2', 'checkers:stop'],
    'the checker child ignores the statistics and JSON signals, as keepalived\'s does')
  for (const f of [s.opts.pidFile, s.opts.vrrpPidFile, s.opts.checkersPidFile]) t.notOk(existsSync(f), `${f} removed`)
  t.same(s.signals.eventNames(), [], 'signal handlers removed')

  const parent = s.texts('Keepalived')
  t.equal(parent[0], `Starting ${VERSION}`)
  t.match(parent[1], /^Running on Linux /)
  t.equal(parent[2], `Command line: 'keepalived-ts' '-n' '-l' '-f' '${s.file}'`)
  t.same(parent.slice(3, 7), [`Opening file '${s.file}'.`, `Configuration file ${s.file}`,
    `Starting Healthcheck child process, pid=${checkers!.pid}`, `Starting VRRP child process, pid=${vrrp!.pid}`])
  const milestones = ['Startup complete', `Printing parent data for process(${process.pid}) on signal`, 'Reloading ...', 'Reload complete', 'Stopping']
  t.same(parent.filter((l) => milestones.includes(l)), milestones)
  t.match(parent.at(-2), /^CPU usage \(self\/children\) user: \d+\.\d{6}\/\d+\.\d{6} system: \d+\.\d{6}\/\d+\.\d{6}$/)
  t.equal(parent.at(-1), `Stopped ${VERSION}`)
  t.same(s.texts('Keepalived_vrrp'), [
    `Printing VRRP data for process(${vrrp!.pid}) on signal`,
    `Printing VRRP stats for process(${vrrp!.pid}) on signal`,
    `Printing VRRP as json for process(${vrrp!.pid}) on signal`,
    `Printing and clearing VRRP stats for process(${vrrp!.pid}) on signal`,
    'Reloading',
    'Stopped - used 0.001000 user time, 0.002000 system time',
  ])
  t.same(s.texts('Keepalived_healthcheckers'), [`Printing checker data for process(${checkers!.pid}) on signal`, 'Reloading', 'Stopped - used 0.001000 user time, 0.002000 system time'])
  t.ok(s.records.filter((r) => r.ident === 'Keepalived_vrrp').every((r) => r.pid === vrrp!.pid), 'the child logs with its own pid')
})

t.test('SIGINT stops like SIGTERM; -P runs VRRP only, -C the checkers only', async (t) => {
  for (const [flag, expect] of [['vrrpOnly', ['vrrp']], ['checkOnly', ['checkers']]] as const) {
    const s = setup(flag, vrrpConf() + VS_CONF, { [flag]: true })
    const done = runForeground(s.opts, s.deps)
    await until(() => s.has('Startup complete'), 'Startup complete')
    t.same(s.children.children.map((c) => c.role), expect)
    s.signals.emit('SIGINT')
    t.equal(await done, 0)
    t.ok(s.has('Stopping'))
  }
})

t.test('SIGHUP with a broken file: every error logged, no child touched, the old configuration serves on', async (t) => {
  const s = setup('badreload', vrrpConf())
  const done = runForeground(s.opts, s.deps)
  await until(() => s.has('Startup complete'), 'Startup complete')
  writeFileSync(s.file, 'global_defs {\n    router_idd x\n}\n' + vrrpConf('VI_9').replace('priority 100', 'priority 999'))
  s.signals.emit('SIGHUP')
  await until(() => s.texts().some((l) => l.startsWith('Reload aborted')), 'Reload aborted')
  const text = s.texts().join('\n')
  t.match(text, `${s.file}:2:5: error: unknown keyword 'router_idd'`)
  t.match(text, /priority/)
  t.match(text, 'Reload aborted: the new configuration has 2 error(s); the running configuration is kept')
  rmSync(s.file)
  s.signals.emit('SIGHUP')
  await until(() => s.texts().filter((l) => l.startsWith('Reload aborted')).length === 2, 'second Reload aborted')
  t.match(s.texts().join('\n'), 'cannot read configuration file')
  // The running child still answers and is still the first one.
  s.children.children[0]!.die(null, 'SIGKILL')
  await until(() => s.calls.filter((c) => c.startsWith('vrrp:start')).length === 2, 'respawn')
  t.equal(s.calls.at(-1), 'vrrp:start VI_1 respawn {}', 'the respawned child gets the configuration that serves, not the broken file')
  s.signals.emit('SIGTERM')
  t.equal(await done, 0)
  t.notOk(s.calls.some((c) => c.includes('reload')))
  t.notOk(s.has('Reload complete'))
})

t.test('a reload that drops or adds a subsystem stops or starts its child', async (t) => {
  const s = setup('roles', vrrpConf() + VS_CONF)
  const done = runForeground(s.opts, s.deps)
  await until(() => s.has('Startup complete'), 'Startup complete')
  writeFileSync(s.file, vrrpConf())
  s.signals.emit('SIGHUP')
  await until(() => s.has('Reload complete'), 'Reload complete')
  t.ok(s.has('The new configuration has nothing for the Healthcheck child process: stopping it'))
  t.ok(s.calls.includes('checkers:stop'))
  t.notOk(existsSync(s.opts.checkersPidFile))
  writeFileSync(s.file, vrrpConf() + VS_CONF)
  s.signals.emit('SIGHUP')
  await until(() => s.texts().filter((l) => l === 'Reload complete').length === 2, 'second Reload complete')
  await until(() => s.calls.filter((c) => c === 'checkers:start VI_1').length === 2, 'checker child started again')
  t.ok(s.has('The new configuration needs a Healthcheck child process: starting it'))
  t.equal(s.children.children.length, 3)
  s.signals.emit('SIGTERM')
  t.equal(await done, 0)
})

t.test('a child killed: keepalived\'s lines, respawn with the VRRP states it reported, backoff, old file text', async (t) => {
  const calls: string[] = []
  const registry: SubsystemRegistry = {
    vrrp: recordingSubsystem(calls, () => ({
      onStateChange(listener) { setTimeout(() => listener('VI_1', 'MASTER'), 5) },
    })),
  }
  const s = setup('respawn', vrrpConf(), {}, registry, calls)
  const done = runForeground(s.opts, s.deps)
  await until(() => s.has('Startup complete'), 'Startup complete')
  await new Promise((r) => setTimeout(r, 30))
  writeFileSync(s.file, vrrpConf('VI_ON_DISK'))
  const first = s.children.children[0]!
  first.die(null, 'SIGKILL')
  await until(() => s.children.children.length === 2 && s.has('Startup complete'), 'respawn')
  await until(() => calls.length === 2, 'second start')
  t.equal(calls[1], 'vrrp:start VI_1 respawn {"VI_1":"MASTER"}', 'respawn hints carry the last state; the text is the parent\'s, not the disk\'s')
  const second = s.children.children[1]!
  const lines = s.texts('Keepalived')
  const at = lines.indexOf(`pid ${first.pid} exited due to signal 9 (Killed) - has rlimit_rttime been exceeded?`)
  t.ok(at > 0)
  t.same(lines.slice(at + 1, at + 7), [
    `VRRP child process(${first.pid}) died: Respawning`,
    '  Please log an issue with the keepalived-ts project (not with keepalived)',
    '  and include a full copy of your keepalived configuration files, and',
    '  copies of the keepalived system log entries around the time this happened',
    'Restart of VRRP process delayed 0 seconds to limit respawn rate',
    `Starting VRRP child process, pid=${second.pid}`,
  ])
  t.equal(s.records.find((r) => r.text.endsWith('died: Respawning'))!.severity, 1, 'LOG_ALERT')
  await until(() => existsSync(s.opts.vrrpPidFile) && readFileSync(s.opts.vrrpPidFile, 'utf8') === `${second.pid}\n`, 'new pid file')
  second.die(3)
  await until(() => s.has('Restart of VRRP process delayed 1 seconds to limit respawn rate'), 'delay 1')
  t.ok(s.has(`pid ${second.pid} exited with status 3`))
  await until(() => s.children.children.length === 3, 'respawn after the delay')
  s.signals.emit('SIGTERM')
  t.equal(await done, 0)
})

t.test('-R: a dead child stops the daemon; a permanent error terminates it without Stopping', async (t) => {
  const s = setup('norespawn', vrrpConf() + VS_CONF, { dontRespawn: true })
  const done = runForeground(s.opts, s.deps)
  await until(() => s.has('Startup complete'), 'Startup complete')
  const vrrp = s.children.children[1]!
  vrrp.die(null, 'SIGKILL')
  t.equal(await done, 0)
  t.ok(s.has(`VRRP child process(${vrrp.pid}) died: Exiting`))
  t.ok(s.has('Stopping'))
  t.ok(s.calls.includes('checkers:stop'), 'the other child is stopped')
  t.equal(s.children.children.length, 2, 'nothing respawned')

  const p = setup('permanent', vrrpConf() + VS_CONF)
  const done2 = runForeground(p.opts, p.deps)
  await until(() => p.has('Startup complete'), 'Startup complete')
  const checker = p.children.children[0]!
  checker.die(1)
  t.equal(await done2, 1)
  t.ok(p.has(`pid ${checker.pid} exited with permanent error FATAL. Terminating`))
  t.notOk(p.has('Stopping'), 'keepalived logs no Stopping on this path')
  t.ok(p.calls.includes('vrrp:stop'))
  t.notOk(existsSync(p.opts.pidFile))
})

t.test('a child that fails to start, or has no subsystem, is a permanent error; one that will not die is killed', async (t) => {
  const s = setup('nostart', vrrpConf(), {}, { vrrp: recordingSubsystem([], () => ({ start: async () => { throw new Error('no raw socket') } })) })
  t.equal(await runForeground(s.opts, s.deps), 1)
  t.ok(s.has('VRRP subsystem failed to start: no raw socket'))
  t.ok(s.texts().some((l) => /^pid \d+ exited with permanent error FATAL\. Terminating$/.test(l)))
  t.notOk(s.has('Startup complete'))

  const m = setup('missing', vrrpConf(), {}, {})
  t.equal(await runForeground(m.opts, m.deps), 1)
  t.ok(m.has('VRRP subsystem is not available in this version of keepalived-ts; refusing to run a configuration that needs it'))

  const h = setup('hung', vrrpConf(), {}, { vrrp: recordingSubsystem([], () => ({ stop: () => new Promise(() => {}) })) })
  const done = runForeground(h.opts, h.deps)
  await until(() => h.has('Startup complete'), 'Startup complete')
  h.signals.emit('SIGTERM')
  await until(() => h.has('Stopping'), 'Stopping')
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGRTMIN+2']) h.signals.emit(sig)
  t.ok(h.signals.listenerCount('SIGTERM') > 0, 'still listening while stopping: a second SIGTERM must not kill the parent')
  t.equal(await done, 0)
  t.equal(h.texts().filter((l) => l === 'Stopping').length, 1)
  t.notOk(h.has('Reloading ...'), 'no reload while stopping')
  t.ok(h.has('vrrp process failed to die - forcing termination'))
  t.ok(h.texts('Keepalived').some((l) => /^pid \d+ exited due to signal 9 \(Killed\)/.test(l)))
})

t.test('no file: exit 6; nothing to run: warns and idles; a live pid file: already running; no interface: exit 2', async (t) => {
  const missing = setup('nofile', undefined)
  t.equal(await runForeground(missing.opts, missing.deps), 6)
  t.match(missing.texts().join('\n'), 'cannot read configuration file')

  const empty = setup('empty', 'global_defs {\n    router_id x\n}\n')
  const done = runForeground(empty.opts, empty.deps)
  await until(() => empty.has('Startup complete'), 'Startup complete')
  t.ok(empty.has('Warning - keepalived has no configuration to run'))
  t.same(empty.children.children, [])
  empty.signals.emit('SIGINT')
  t.equal(await done, 0)
  t.notOk(empty.texts().some((l) => l.startsWith('CPU usage')), 'no CPU line without children, like keepalived')

  const busy = setup('busy', vrrpConf())
  writePidFile(busy.opts.vrrpPidFile, process.ppid)
  t.equal(await runForeground(busy.opts, busy.deps), 0)
  t.equal(busy.texts().at(-1), 'daemon is already running')
  t.equal(readFileSync(busy.opts.vrrpPidFile, 'utf8'), `${process.ppid}\n`, 'the other daemon\'s file is untouched')
  t.notOk(existsSync(busy.opts.pidFile))

  const noif = setup('noif', vrrpConf().replace('eth0', 'eth9'))
  t.equal(await runForeground(noif.opts, noif.deps), 2)
  t.ok(noif.has('Non-existent interface specified in configuration'))
})

t.test('status gathers each child\'s answer; endpoints start, follow metrics_address, and close', async (t) => {
  const vrrpStatus: VrrpStatus = { instances: [] }
  const calls: string[] = []
  const registry: SubsystemRegistry = { vrrp: recordingSubsystem(calls, () => ({ status: () => vrrpStatus })), checkers: recordingSubsystem(calls) }
  const s = setup('status', 'global_defs {\n    metrics_address 127.0.0.1:9650\n}\n' + vrrpConf() + VS_CONF, { controlSocket: '/x/ctl.sock' }, registry, calls)
  let provider: StatusProvider | undefined
  const events: string[] = []
  const endpoints: EndpointStarter = {
    async control(path, p) { provider = p; events.push(`control ${path}`); return { where: path, close: async () => void events.push(`close ${path}`) } },
    async metrics(address) { events.push(`metrics ${address}`); return { where: address, close: async () => void events.push(`close ${address}`) } },
  }
  const done = runForeground(s.opts, { ...s.deps, endpoints })
  await until(() => s.has('Startup complete'), 'Startup complete')
  const status = await provider!()
  t.equal(status.pid, process.pid)
  t.equal(status.configFile, s.file)
  t.same(status.vrrp, vrrpStatus)
  t.equal(status.checkers, undefined, 'a subsystem without status()')
  t.same(status.processes.map((p) => [p.role, p.pid, p.restarts]), [['checkers', s.children.children[0]!.pid, 0], ['vrrp', s.children.children[1]!.pid, 0]])
  s.children.children[1]!.die(null, 'SIGSEGV')
  const during = await provider!()
  t.ok(during.vrrp === undefined || during.processes.find((p) => p.role === 'vrrp')!.restarts === 1)
  writeFileSync(s.file, 'global_defs {\n    metrics_address 127.0.0.1:9651\n}\n' + vrrpConf() + VS_CONF)
  s.signals.emit('SIGHUP')
  await until(() => s.has('Reload complete'), 'Reload complete')
  t.ok((await provider!()).reloadedAt)
  s.signals.emit('SIGTERM')
  t.equal(await done, 0)
  t.same(events, ['control /x/ctl.sock', 'metrics 127.0.0.1:9650', 'close 127.0.0.1:9650', 'metrics 127.0.0.1:9651', 'close /x/ctl.sock', 'close 127.0.0.1:9651'])

  const flag = setup('flagwins', 'global_defs {\n    metrics_address 127.0.0.1:9650\n}\n', { metrics: '[::1]:9700' })
  const seen: string[] = []
  const d2 = runForeground(flag.opts, { ...flag.deps, endpoints: { ...endpoints, async metrics(a) { seen.push(a); return new Error('address in use') } } })
  await until(() => flag.has('Startup complete'), 'Startup complete')
  flag.signals.emit('SIGTERM')
  t.equal(await d2, 0)
  t.same(seen, ['[::1]:9700'], 'the flag wins over metrics_address')
  t.ok(flag.has('Metrics [::1]:9700 unavailable: address in use'), 'a failed endpoint is logged; the daemon serves on')
})

t.test('a SIGHUP during start-up waits for it: no second child, then one reload', async (t) => {
  const s = setup('hup-at-start', vrrpConf() + VS_CONF)
  const done = runForeground(s.opts, s.deps)
  // Before any child is up: the handlers are in place once the pid file is written.
  await until(() => existsSync(s.opts.pidFile), 'the pid file')
  s.signals.emit('SIGHUP')
  await until(() => s.has('Reload complete'), 'Reload complete')
  t.ok(s.texts().indexOf('Startup complete') < s.texts().indexOf('Reloading ...'), 'the reload ran after start-up')
  t.same(s.children.children.map((c) => c.role), ['checkers', 'vrrp'], 'one child per role')
  s.signals.emit('SIGTERM')
  t.equal(await done, 0)
  t.same(s.calls.filter((c) => c.startsWith('vrrp:')), ['vrrp:start VI_1', 'vrrp:reload VI_1', 'vrrp:stop'])
})
