/**
 * The child shell (runChild) against a scripted parent channel: start from a
 * snapshot (pid file, hints, state reports), reload, dumps, status, the
 * signals it ignores, SIGTERM, a vanished parent, a subsystem asking to stop,
 * and the failures that make it exit FATAL.
 */
import t from 'tap'
import { EventEmitter } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { childStoppedLine, type ParentChannel, runChild } from '../../src/daemon/child.js'
import { loadRecorded } from '../../src/daemon/config-snapshot.js'
import type { ChildMessage, ParentMessage } from '../../src/daemon/ipc.js'
import type { SubsystemRegistry } from '../../src/daemon/subsystem.js'
import { captureLogging } from '../../src/log/logger.js'
import { memFiles } from '../helpers/config.js'
import { recordingSubsystem, until } from '../helpers/process.js'

const dir = mkdtempSync(join(tmpdir(), 'kats-child-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const conf = (name: string) => `vrrp_instance ${name} {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.35.0.100/24\n    }\n}\n`
const snapshot = (name: string) => loadRecorded('/k.conf', { configId: 'main', interfaces: new Set(['eth0']), files: memFiles({ '/k.conf': conf(name) }) }).snapshot

let n = 0
function harness(registry: SubsystemRegistry, opts: { pidFile?: string } = {}) {
  const cap = captureLogging({ pid: 4242 })
  const toChild = new EventEmitter()
  const sent: ChildMessage[] = []
  let closed = false
  const channel: ParentChannel = {
    send: (m) => void sent.push(JSON.parse(JSON.stringify(m)) as ChildMessage),
    onMessage: (l) => void toChild.on('message', l),
    onDisconnect: (l) => void toChild.on('disconnect', l),
    close: () => { closed = true },
  }
  const signals = new EventEmitter()
  const pidFile = opts.pidFile ?? join(dir, `vrrp-${n++}.pid`)
  const done = runChild({
    role: 'vrrp', logging: cap.logging, subsystems: registry, channel, signals, pid: 4242, pidFile, keepAlive: false, stopTimeoutMs: 100,
    options: { logDetail: false, releaseVips: false, dontReleaseVrrp: false, dontReleaseIpvs: false, addressMonitoring: false },
    cpu: () => ({ selfUser: 1_500_000, selfSystem: 250, childrenUser: 0, childrenSystem: 0 }),
  })
  const post = (m: ParentMessage | unknown) => toChild.emit('message', JSON.parse(JSON.stringify(m)))
  return { cap, sent, signals, pidFile, done, post, disconnect: () => toChild.emit('disconnect'), isClosed: () => closed }
}

t.test('start, state reports, reload, dumps, status, ignored signals, SIGTERM', async (t) => {
  const calls: string[] = []
  let report: ((i: string, s: 'MASTER') => void) | undefined
  const h = harness({ vrrp: recordingSubsystem(calls, () => ({ onStateChange: (l) => { report = l }, status: () => ({ instances: [] }) })) })
  h.post({ type: 'status', id: 1 })
  h.post({ type: 'start', snapshot: snapshot('VI_1'), hints: { respawn: true, vrrpStates: { VI_1: 'MASTER' } } })
  await until(() => h.sent.some((m) => m.type === 'started'), 'started')
  t.same(h.sent[0], { type: 'status', id: 1, status: null }, 'no status before start')
  t.equal(readFileSync(h.pidFile, 'utf8'), '4242\n')
  t.same(calls, ['vrrp:start VI_1 respawn {"VI_1":"MASTER"}'])
  report!('VI_1', 'MASTER')
  t.same(h.sent.at(-1), { type: 'state', instance: 'VI_1', state: 'MASTER' })

  h.post({ type: 'reload', id: 7, snapshot: snapshot('VI_2') })
  await until(() => h.sent.some((m) => m.type === 'reloaded'), 'reloaded')
  t.same(h.sent.at(-1), { type: 'reloaded', id: 7, ok: true })
  h.post({ type: 'dump', kind: 'data' })
  h.signals.emit('SIGUSR2')
  h.signals.emit('SIGRTMIN+2')
  h.signals.emit('SIGRTMAX-1')
  h.signals.emit('SIGINT')
  h.signals.emit('SIGHUP')
  h.post({ type: 'status', id: 2 })
  h.post({ type: 'nonsense' })
  h.post('not even an object')
  h.post({ type: 'dump', kind: 'everything' })
  await until(() => h.sent.some((m) => m.type === 'status' && m.id === 2), 'status 2')
  t.same(h.sent.at(-1), { type: 'status', id: 2, status: { instances: [] } })
  t.same(calls.slice(1), ['vrrp:reload VI_2', 'vrrp:data', 'vrrp:stats', 'vrrp:json', 'vrrp:stats clear'], 'SIGINT and SIGHUP are the parent\'s; junk is ignored')

  h.signals.emit('SIGTERM')
  t.equal(await h.done, 0)
  t.equal(calls.at(-1), 'vrrp:stop')
  t.notOk(existsSync(h.pidFile))
  t.ok(h.isClosed())
  t.same(h.signals.eventNames(), [])
  t.same(h.cap.texts(), [
    'Reloading',
    'Printing VRRP data for process(4242) on signal',
    'Printing VRRP stats for process(4242) on signal',
    'Printing VRRP as json for process(4242) on signal',
    'Printing and clearing VRRP stats for process(4242) on signal',
    'Stopped - used 1.500000 user time, 0.000250 system time',
  ])
  t.ok(h.cap.records.every((r) => r.ident === 'Keepalived_vrrp' && r.pid === 4242))
})

t.test('a vanished parent stops the child; a subsystem asking to stop sets the exit code', async (t) => {
  const calls: string[] = []
  const h = harness({ vrrp: recordingSubsystem(calls) })
  h.post({ type: 'start', snapshot: snapshot('VI_1'), hints: { respawn: false } })
  await until(() => h.sent.length > 0, 'started')
  h.disconnect()
  t.equal(await h.done, 0)
  t.same(calls, ['vrrp:start VI_1', 'vrrp:stop'])
  t.ok(h.cap.texts().includes('The parent process has gone: stopping'))

  const q = harness({ vrrp: recordingSubsystem([], (ctx) => ({ start: async () => { setTimeout(() => ctx.requestStop(2, 'socket closed'), 5) } })) })
  q.post({ type: 'start', snapshot: snapshot('VI_1'), hints: { respawn: false } })
  t.equal(await q.done, 2)
})

t.test('failures exit FATAL: no subsystem, failed start, unwritable pid file; reload errors are answered', async (t) => {
  const none = harness({})
  none.post({ type: 'start', snapshot: snapshot('VI_1'), hints: { respawn: false } })
  t.equal(await none.done, 1)
  t.match(none.cap.texts()[0], 'VRRP subsystem is not available')
  t.notOk(none.sent.some((m) => m.type === 'started'))

  const failing = harness({ vrrp: recordingSubsystem([], () => ({ start: async () => { throw new Error('no raw socket') } })) })
  failing.post({ type: 'start', snapshot: snapshot('VI_1'), hints: { respawn: false } })
  t.equal(await failing.done, 1)
  t.ok(failing.cap.texts().includes('VRRP subsystem failed to start: no raw socket'))
  t.notOk(existsSync(failing.pidFile), 'its pid file is removed')

  const nopid = harness({ vrrp: recordingSubsystem([]) }, { pidFile: join(dir, 'no-such-dir', 'v.pid') })
  nopid.post({ type: 'start', snapshot: snapshot('VI_1'), hints: { respawn: false } })
  t.equal(await nopid.done, 1)
  t.match(nopid.cap.texts()[0], /^VRRP child process: cannot write pidfile/)

  const hung = harness({ vrrp: recordingSubsystem([], () => ({ reload: async () => { throw new Error('bad diff') }, stop: () => new Promise(() => {}) })) })
  hung.post({ type: 'start', snapshot: snapshot('VI_1'), hints: { respawn: false } })
  await until(() => hung.sent.length > 0, 'started')
  hung.post({ type: 'reload', id: 3, snapshot: snapshot('VI_2') })
  await until(() => hung.sent.some((m) => m.type === 'reloaded'), 'reloaded')
  t.same(hung.sent.at(-1), { type: 'reloaded', id: 3, ok: false })
  t.ok(hung.cap.texts().includes('Reload failed: bad diff'))
  hung.signals.emit('SIGTERM')
  t.equal(await hung.done, 0, 'a stop that hangs is bounded')
  t.ok(hung.cap.texts().includes('The subsystem did not stop in time'))
})

t.test('the Stopped line names children times once scripts have run, as keepalived does', async (t) => {
  t.equal(childStoppedLine({ selfUser: 2_480, selfSystem: 0, childrenUser: 0, childrenSystem: 0 }), 'Stopped - used 0.002480 user time, 0.000000 system time')
  t.equal(childStoppedLine({ selfUser: 2_033, selfSystem: 0, childrenUser: 2_764, childrenSystem: 4_775 }),
    'Stopped - used (self/children) 0.002033/0.002764 user time, 0.000000/0.004775 system time')
})
