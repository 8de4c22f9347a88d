import t from 'tap'
import { EventEmitter } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config/config.js'
import { type ForegroundOptions, runForeground } from '../../src/daemon/foreground.js'
import { writePidFile } from '../../src/daemon/pidfile.js'
import type { Subsystem, SubsystemContext, SubsystemRegistry } from '../../src/daemon/subsystem.js'
import { VERSION } from '../../src/daemon/version.js'
import { captureLogging } from '../../src/log/logger.js'

const dir = mkdtempSync(join(tmpdir(), 'kats-fg-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const VRRP_CONF = `vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.33.0.100/24
    }
}
`

function setup(name: string, conf: string | undefined, extra: Partial<ForegroundOptions> = {}) {
  const d = mkdtempSync(join(dir, `${name}-`))
  const file = join(d, 'keepalived.conf')
  if (conf !== undefined) writeFileSync(file, conf)
  const opts: ForegroundOptions = {
    argv: ['keepalived-ts', '-n', '-l', '-f', file],
    configFile: file,
    pidFile: join(d, 'keepalived.pid'),
    vrrpPidFile: join(d, 'vrrp.pid'),
    checkersPidFile: join(d, 'checkers.pid'),
    vrrpOnly: false, checkOnly: false, all: false, dontFork: true, umask: undefined,
    subsystem: { logDetail: true, releaseVips: false, dontReleaseVrrp: false, dontReleaseIpvs: false, addressMonitoring: false },
    ...extra,
  }
  return { d, file, opts }
}

/** A subsystem that records what the shell asked of it. */
function recorder(calls: string[], overrides: Partial<Subsystem> = {}): (ctx: SubsystemContext) => Subsystem {
  return (ctx) => ({
    async start(config) {
      calls.push(`start ${config.vrrp.instances.length}`)
      ctx.log.info('(VI_1) Entering BACKUP STATE (init)')
    },
    async stop() {
      calls.push('stop')
    },
    async reload(config) {
      calls.push(`reload ${config.vrrp.instances.map((i) => i.name).join(',')}`)
    },
    dumpData: () => calls.push('data'),
    dumpStats: () => calls.push('stats'),
    ...overrides,
  })
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const load = (path: string) => loadConfig(path, { host: { interfaces: new Set(['lo', 'eth0']) } })

t.test('start-up, signals, reload and stop in keepalived\'s order, pid files written and removed', async (t) => {
  const { opts, file } = setup('full', VRRP_CONF)
  const cap = captureLogging({ detail: true })
  const signals = new EventEmitter()
  const calls: string[] = []
  const subsystems: SubsystemRegistry = { vrrp: recorder(calls) }
  const done = runForeground(opts, { logging: cap.logging, subsystems, load, signals, pid: process.pid })
  await until(() => cap.texts().includes('Startup complete'), 'Startup complete')
  t.equal(readFileSync(opts.pidFile, 'utf8'), `${process.pid}\n`)
  t.equal(readFileSync(opts.vrrpPidFile, 'utf8'), `${process.pid}\n`)
  t.notOk(existsSync(opts.checkersPidFile), 'no checker pid file without virtual servers')

  signals.emit('SIGUSR1')
  signals.emit('SIGUSR2')
  writeFileSync(file, VRRP_CONF.replace('VI_1', 'VI_2'))
  signals.emit('SIGHUP')
  await until(() => cap.texts().includes('Reload complete'), 'Reload complete')
  signals.emit('SIGTERM')
  t.equal(await done, 0)
  t.same(calls, ['start 1', 'data', 'stats', 'reload VI_2', 'stop'])
  t.notOk(existsSync(opts.pidFile))
  t.notOk(existsSync(opts.vrrpPidFile))
  t.same(signals.eventNames(), [], 'signal handlers removed')

  const parent = cap.texts('Keepalived')
  t.equal(parent[0], `Starting ${VERSION}`)
  t.match(parent[1], /^Running on Linux /)
  t.equal(parent[2], `Command line: 'keepalived-ts' '-n' '-l' '-f' '${file}'`)
  t.same(parent.slice(3, 5), [`Opening file '${file}'.`, `Configuration file ${file}`])
  const milestones = ['Startup complete', 'Reloading ...', 'Reload complete', 'Stopping']
  t.same(parent.filter((l) => milestones.includes(l)), milestones)
  t.match(parent.at(-2), /^CPU usage \(self\/children\) user: \d+\.\d{6}\/\d+\.\d{6} system: \d+\.\d{6}\/\d+\.\d{6}$/)
  t.equal(parent.at(-1), `Stopped ${VERSION}`)
  const vrrp = cap.texts('Keepalived_vrrp')
  t.equal(vrrp[0], '(VI_1) Entering BACKUP STATE (init)')
  t.equal(vrrp[1], 'Reloading')
  t.match(vrrp[2], /^Stopped - used \d+\.\d{6} user time, \d+\.\d{6} system time$/)
})

t.test('a configuration with vrrp_instances and no VRRP subsystem refuses to run: exit 1', async (t) => {
  const { opts } = setup('novrrp', VRRP_CONF)
  const cap = captureLogging()
  const code = await runForeground(opts, { logging: cap.logging, subsystems: {}, load, signals: new EventEmitter() })
  t.equal(code, 1)
  t.match(cap.texts().join('\n'), /VRRP subsystem is not available in this version of keepalived-ts/)
  t.equal(cap.texts().at(-1), `Stopped ${VERSION}`)
  t.notOk(existsSync(opts.pidFile), 'no pid file left behind')
})

t.test('a missing configuration file: diagnostics, Stopped, exit 6', async (t) => {
  const { opts, file } = setup('missing', undefined)
  const cap = captureLogging()
  const code = await runForeground(opts, { logging: cap.logging, subsystems: {}, load, signals: new EventEmitter() })
  t.equal(code, 6)
  t.match(cap.texts().join('\n'), `error: cannot read configuration file '${file}'`)
  t.notOk(cap.texts().includes('Stopping'))
})

t.test('config errors are logged as file:line:col; a missing interface stops the daemon with exit 2', async (t) => {
  const { opts, file } = setup('badif', 'global_defs {\n    router_idd x\n}\n' + VRRP_CONF.replace('eth0', 'eth9'))
  const cap = captureLogging()
  const calls: string[] = []
  const code = await runForeground(opts, { logging: cap.logging, subsystems: { vrrp: recorder(calls) }, load, signals: new EventEmitter() })
  t.equal(code, 2)
  t.same(calls, [])
  const text = cap.texts().join('\n')
  t.match(text, `${file}:2:5: error: unknown keyword 'router_idd'`)
  t.match(text, "interface eth9 doesn't exist")
  t.match(text, 'Non-existent interface specified in configuration')
})

t.test('no configuration to run: warns and idles until SIGINT', async (t) => {
  const { opts } = setup('empty', 'global_defs {\n    router_id x\n}\n')
  const cap = captureLogging()
  const signals = new EventEmitter()
  const done = runForeground(opts, { logging: cap.logging, subsystems: {}, load, signals })
  await until(() => cap.texts().includes('Startup complete'), 'Startup complete')
  t.ok(cap.texts().includes('Warning - keepalived has no configuration to run'))
  signals.emit('SIGINT')
  t.equal(await done, 0)
  t.notOk(cap.texts().some((l) => l.startsWith('CPU usage')), 'no CPU line without subsystems, like keepalived')
})

t.test('a live pid file: "daemon is already running", exit 0; a stale one is replaced', async (t) => {
  const { opts } = setup('running', 'global_defs {\n    router_id x\n}\n')
  writePidFile(opts.pidFile, process.ppid)
  const cap = captureLogging()
  t.equal(await runForeground(opts, { logging: cap.logging, subsystems: {}, load, signals: new EventEmitter(), pid: process.pid }), 0)
  t.equal(cap.texts().at(-1), 'daemon is already running')
  t.equal(readFileSync(opts.pidFile, 'utf8'), `${process.ppid}\n`, 'the other daemon\'s file is untouched')

  writePidFile(opts.pidFile, 99999999)
  const cap2 = captureLogging()
  const signals = new EventEmitter()
  const done = runForeground(opts, { logging: cap2.logging, subsystems: {}, load, signals })
  await until(() => cap2.texts().includes('Startup complete'), 'Startup complete')
  t.ok(cap2.texts().includes(`Remove a zombie pid file ${opts.pidFile}`))
  t.equal(readFileSync(opts.pidFile, 'utf8'), `${process.pid}\n`)
  signals.emit('SIGTERM')
  await done
})

t.test('a subsystem that fails to start, or asks to stop, ends the daemon; a hung stop is bounded', async (t) => {
  const { opts } = setup('fail', VRRP_CONF)
  const cap = captureLogging()
  const failing = recorder([], { start: async () => { throw new Error('no raw socket') } })
  t.equal(await runForeground(opts, { logging: cap.logging, subsystems: { vrrp: failing }, load, signals: new EventEmitter() }), 1)
  t.ok(cap.texts().includes('VRRP subsystem failed to start: no raw socket'))
  t.notOk(cap.texts().includes('Startup complete'))

  const cap2 = captureLogging()
  const quitter = (ctx: SubsystemContext): Subsystem => ({
    async start() { setTimeout(() => ctx.requestStop(2, 'socket closed'), 20) },
    stop: () => new Promise(() => {}),
  })
  const code = await runForeground(opts, { logging: cap2.logging, subsystems: { vrrp: quitter }, load, signals: new EventEmitter(), stopTimeoutMs: 50 })
  t.equal(code, 2)
  t.ok(cap2.texts().includes('VRRP subsystem requested stop: socket closed'))
  t.ok(cap2.texts().includes('VRRP process failed to die - forcing termination'))
})

t.test('a bad configuration on SIGHUP keeps the running one', async (t) => {
  const { opts, file } = setup('badreload', VRRP_CONF)
  const cap = captureLogging()
  const signals = new EventEmitter()
  const calls: string[] = []
  const done = runForeground(opts, { logging: cap.logging, subsystems: { vrrp: recorder(calls) }, load, signals })
  await until(() => cap.texts().includes('Startup complete'), 'Startup complete')
  rmSync(file)
  signals.emit('SIGHUP')
  await until(() => cap.texts().some((l) => l.startsWith('Reload failed')), 'Reload failed')
  signals.emit('SIGTERM')
  await done
  t.same(calls, ['start 1', 'stop'])
})
