/**
 * The supervisor against scripted children (no child shell at all): bounded
 * status requests, a reload reaching a child that was still starting, junk
 * and stale messages ignored, a stopped role never respawned.
 */
import t from 'tap'
import type { ConfigSnapshot } from '../../src/daemon/config-snapshot.js'
import type { ParentMessage } from '../../src/daemon/ipc.js'
import { type ChildHandle, Supervisor } from '../../src/daemon/supervisor.js'
import { captureLogging } from '../../src/log/logger.js'
import { until } from '../helpers/process.js'

interface Scripted extends ChildHandle {
  readonly got: ParentMessage[]
  reply(msg: unknown): void
  exit(code: number | null, signal: NodeJS.Signals | null): void
  connected: boolean
}

function scripted(pid: number): Scripted {
  const got: ParentMessage[] = []
  const onMsg: ((m: unknown) => void)[] = []
  const onExit: ((c: number | null, s: NodeJS.Signals | null) => void)[] = []
  const h: Scripted = {
    pid, got, connected: true,
    send(m) { if (!h.connected) return false; got.push(m); return true },
    kill(sig) { if (sig === 'SIGTERM' || sig === 'SIGKILL') setImmediate(() => h.exit(sig === 'SIGKILL' ? null : 0, sig === 'SIGKILL' ? 'SIGKILL' : null)) },
    onMessage: (l) => void onMsg.push(l),
    onExit: (l) => void onExit.push(l),
    reply: (m) => { for (const l of onMsg) l(m) },
    exit: (c, s) => { h.connected = false; for (const l of onExit) l(c, s) },
  }
  return h
}

const snap = (n: number) => ({ mainFile: `/gen${n}` }) as unknown as ConfigSnapshot

t.test('status is bounded; a reload during start reaches the child once it has started; junk is ignored', async (t) => {
  const cap = captureLogging()
  const spawned: Scripted[] = []
  let generation = 1
  const sup = new Supervisor({
    spawn: () => { const h = scripted(100 + spawned.length); spawned.push(h); return h },
    log: cap.logging.logger('parent'), dontRespawn: false, snapshot: () => snap(generation),
    onPermanentError: () => t.fail('no permanent error'), onDiedNoRespawn: () => t.fail('respawn is on'),
    statusTimeoutMs: 30, reloadTimeoutMs: 50,
  })
  const started = sup.start('vrrp')
  const child = spawned[0]!
  t.same(child.got[0], { type: 'start', snapshot: snap(1), hints: { respawn: false } })
  t.equal(await sup.status('vrrp'), undefined, 'no status before the child has started')
  generation = 2
  await sup.reload()
  t.equal(child.got.length, 1, 'nothing sent to a starting child')
  child.reply({ type: 'started' })
  t.equal(await started, true)
  t.same(child.got[1], { type: 'reload', id: 1, snapshot: snap(2) }, 'it gets the newer configuration once started')
  child.reply({ type: 'reloaded', id: 1, ok: true })

  const t0 = Date.now()
  t.equal(await sup.status('vrrp'), undefined, 'a child that does not answer')
  t.ok(Date.now() - t0 < 1000)
  const pending = sup.status('vrrp')
  const req = child.got.at(-1) as { id: number }
  child.reply({ type: 'status', id: req.id + 1000, status: { instances: ['x'] } })
  child.reply({ type: 'state', instance: 'VI_1', state: 'SLEEPING' })
  child.reply({ type: 'state', instance: 'VI_1', state: 'MASTER' })
  child.reply(null)
  child.reply({ type: 'status', id: req.id, status: { instances: [] } })
  t.same(await pending, { instances: [] })
  t.same(sup.vrrpStates(), { VI_1: 'MASTER' }, 'only valid states are kept')

  child.exit(null, 'SIGKILL')
  await until(() => spawned.length === 2, 'respawn')
  t.same(spawned[1]!.got[0], { type: 'start', snapshot: snap(2), hints: { respawn: true, vrrpStates: { VI_1: 'MASTER' } } })
  child.reply({ type: 'started' })
  t.same(sup.processes(), [{ role: 'vrrp', pid: 101, restarts: 1 }], 'messages from the dead child are not the new one\'s')

  await sup.stopRole('vrrp')
  t.same(sup.roles(), [])
  t.equal(spawned.length, 2, 'a stopped role is not respawned')
  await sup.stopAll()
  t.match(cap.texts().join('\n'), 'Starting VRRP child process, pid=101')
})

t.test('a reload the child never confirms is reported, not waited for forever', async (t) => {
  const cap = captureLogging()
  const h = scripted(200)
  const sup = new Supervisor({
    spawn: () => h, log: cap.logging.logger('parent'), dontRespawn: true, snapshot: () => snap(1),
    onPermanentError: () => {}, onDiedNoRespawn: () => {}, reloadTimeoutMs: 30, stopTimeoutMs: 30,
  })
  const started = sup.start('checkers')
  h.reply({ type: 'started' })
  await started
  await sup.reload()
  t.ok(cap.texts().includes('Healthcheck child process did not confirm the reload'))
  h.kill = () => {}
  const t0 = Date.now()
  await sup.stopAll()
  t.ok(cap.texts().includes('checker process failed to die - forcing termination'))
  t.ok(Date.now() - t0 < 3000)
})

t.test('a child that cannot be forked stops the daemon, as keepalived gives up', async (t) => {
  const cap = captureLogging()
  const codes: number[] = []
  const sup = new Supervisor({
    spawn: () => { throw new Error('EAGAIN') }, log: cap.logging.logger('parent'), dontRespawn: false, snapshot: () => snap(1),
    onPermanentError: (code) => void codes.push(code), onDiedNoRespawn: () => t.fail('not this path'),
  })
  t.equal(await sup.start('vrrp'), false)
  t.same(codes, [1])
  t.ok(cap.texts().includes('VRRP child process: fork error(EAGAIN)'))
  t.same(sup.processes(), [{ role: 'vrrp', pid: undefined, restarts: 0 }])
  await sup.stopAll()
})
