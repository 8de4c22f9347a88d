/**
 * Resume after a respawn, reload of a kept instance, removal by reload, and
 * the reason every transition carries — the pure state machine under
 * simulated time.
 */
import t from 'tap'
import { createInstance, nextDeadline, step } from '../../src/vrrp/instance.js'
import type { InstanceAction, InstanceEvent, InstanceState } from '../../src/vrrp/instance.js'
import type { InstanceParams } from '../../src/vrrp/params.js'
import { createSyncGroup, syncGroupStep } from '../../src/vrrp/sync-group.js'
import { loneInstance, syncedInstances } from '../../src/vrrp/unit.js'
import { params, S } from '../fixtures/vrrp/params.js'


/** Run `events` in order from a fresh instance; the last result. */
function run(p: InstanceParams, events: readonly InstanceEvent[]): { state: InstanceState; actions: readonly InstanceAction[] } {
  let state = createInstance(p)
  let actions: readonly InstanceAction[] = []
  for (const e of events) ({ state, actions } = step(state, e))
  return { state, actions }
}

function withoutLogs(actions: readonly InstanceAction[]): InstanceAction[] {
  return actions.filter((a) => a.type !== 'log')
}

function logLines(actions: readonly InstanceAction[]): string[] {
  return actions.flatMap((a) => (a.type === 'log' ? [`${a.detail ? 'D ' : ''}${a.line}`] : []))
}

/** A MASTER reached the ordinary way: start, then the master-down timer. */
function master(p = params()): InstanceState {
  const started = step(createInstance(p), { type: 'start', now: 0 }).state
  return step(started, { type: 'timer', now: nextDeadline(started)! }).state
}

t.test('resume: MASTER at once, advert first, VIPs re-asserted, one GARP burst, no notify', async (t) => {
  const r = run(params(), [{ type: 'resume', now: 10 * S }])
  t.equal(r.state.state, 'MASTER')
  t.equal(r.state.vipsSet, true)
  t.same(logLines(r.actions), [
    '(VI_1) resuming MASTER state after a restart of the VRRP process',
    'D (VI_1) setting VIPs.',
  ])
  t.same(withoutLogs(r.actions), [
    { type: 'sendAdvert', priority: 100 },
    { type: 'addVips' },
    { type: 'garp', round: 'master', repeat: 5 },
    { type: 'transition', from: 'INIT', to: 'MASTER', reason: 'resumed after a restart of the VRRP process' },
  ])
  t.notOk(r.actions.some((a) => a.type === 'removeVips' || a.type === 'notify' || a.type === 'stat'), 'nothing removed, nobody notified, no election counted')
  t.equal(r.state.deadlines.advert, 11 * S, 'the next advert one advert_int later')
  t.equal(r.state.deadlines.garpMasterDelayed, undefined, 'one burst only: no delayed second round')
})

t.test('resume keeps adverts going and yields to a higher priority as any master', async (t) => {
  let s = run(params(), [{ type: 'resume', now: 0 }]).state
  const tick = step(s, { type: 'timer', now: S })
  t.same(withoutLogs(tick.actions), [{ type: 'sendAdvert', priority: 100 }])
  s = tick.state
  const yielded = step(s, { type: 'advert', now: S + 10, from: '10.9.0.9', priority: 200, adverInt: S, ourAddress: '10.9.0.1' })
  t.equal(yielded.state.state, 'BACKUP')
  t.ok(yielded.actions.some((a) => a.type === 'removeVips'))
})

t.test('resume with a fault starts as start would; weight-0 trackers without a result do not hold it', async (t) => {
  const faulty = run(params(), [{ type: 'resume', now: 0, faults: [{ cause: 'interface eth0', reason: '(VI_1): entering FAULT state (interface eth0 down)' }] }])
  t.equal(faulty.state.state, 'FAULT')
  t.notOk(faulty.actions.some((a) => a.type === 'addVips' || a.type === 'sendAdvert'))
  t.same(faulty.actions.at(-1), { type: 'transition', from: 'INIT', to: 'FAULT', reason: 'tracked interface eth0 down at startup' })
  const after = step(faulty.state, { type: 'resume', now: 1 })
  t.same(after.actions, [], 'resume is an entry event: ignored once started')
  // The runtime passes no initPending to resume: a pending script's first result decides.
  const r = run(params(), [{ type: 'resume', now: 0 }, { type: 'fault', now: 5, cause: 'script chk', active: true }])
  t.equal(r.state.state, 'FAULT')
  t.same(r.actions.at(-1), { type: 'transition', from: 'MASTER', to: 'FAULT', reason: 'tracked script chk down' })
  t.ok(r.actions.some((a) => a.type === 'sendAdvert' && a.priority === 0), 'priority 0 on the way down')
})

t.test('reload of a MASTER: state, VIPs and timers kept; the new priority and interval take effect', async (t) => {
  const m = master()
  t.equal(m.state, 'MASTER')
  const r = step(m, { type: 'reload', now: 10 * S, params: params({ basePriority: 150, advertInt: 2 * S }), faults: [], initPending: [], priority: 150 })
  t.same(r.actions, [], 'no transition, no VIP removed or re-added, no notify')
  t.equal(r.state.state, 'MASTER')
  t.equal(r.state.vipsSet, true)
  t.equal(r.state.effectivePriority, 150)
  t.equal(r.state.basePriority, 150)
  const tick = step(r.state, { type: 'timer', now: nextDeadline(r.state)! })
  t.same(withoutLogs(tick.actions), [{ type: 'sendAdvert', priority: 150 }], 'the next advert carries the new priority')
  t.equal(nextDeadline(tick.state), nextDeadline(r.state)! + 2 * S, 'and the new advert_int')
  const lower = step(m, { type: 'reload', now: 10 * S, params: params({ basePriority: 50 }), faults: [], initPending: [], priority: 50 })
  t.equal(lower.state.state, 'MASTER', 'a lower priority does not resign by itself: the peer preempts')
  t.equal(lower.state.effectivePriority, 50)
})

t.test('reload of a MASTER with a new fault: FAULT, priority 0, VIPs removed', async (t) => {
  const r = step(master(), {
    type: 'reload', now: 10 * S, params: params(), initPending: [], priority: 100,
    faults: [{ cause: 'file f', reason: '(VI_1): entering FAULT state (tracked file f has status -254)' }],
  })
  t.equal(r.state.state, 'FAULT')
  t.same(logLines(r.actions).slice(0, 2), ['(VI_1): entering FAULT state (tracked file f has status -254)', '(VI_1) Entering FAULT STATE'])
  t.ok(r.actions.some((a) => a.type === 'removeVips'))
  t.ok(r.actions.some((a) => a.type === 'sendAdvert' && a.priority === 0))
  t.same(r.actions.at(-1), { type: 'transition', from: 'MASTER', to: 'FAULT', reason: 'tracked file f down after reload' })
})

t.test('reload of a BACKUP restarts its down timer with the new priority; of a FAULT whose cause is gone: BACKUP', async (t) => {
  const b = step(createInstance(params()), { type: 'start', now: 0 }).state
  const r = step(b, { type: 'reload', now: 2 * S, params: params({ basePriority: 200 }), faults: [], initPending: [], priority: 200 })
  t.equal(r.state.state, 'BACKUP')
  // 3 × 1 s + (256 − 200) / 256 s = 3.21875 s
  t.equal(r.state.deadlines.masterDown, 2 * S + 3_218_750)
  const f = step(b, { type: 'fault', now: 1, cause: 'interface eth0', active: true }).state
  t.equal(f.state, 'FAULT')
  const up = step(f, { type: 'reload', now: 3 * S, params: params(), faults: [], initPending: [], priority: 100 })
  t.equal(up.state.state, 'BACKUP')
  t.same(up.actions.at(-1), { type: 'transition', from: 'FAULT', to: 'BACKUP', reason: 'fault cleared by reload' })
  const still = step(f, { type: 'reload', now: 3 * S, params: params(), faults: [{ cause: 'interface eth0', reason: 'x' }], initPending: [], priority: 100 })
  t.same(still.actions, [], 'still faulty: silent')
  const init = step(createInstance(params()), { type: 'reload', now: 0, params: params(), faults: [], initPending: [], priority: 100 })
  t.equal(init.state.state, 'BACKUP', 'an instance that never started starts')
})

t.test('delete: a MASTER sends priority 0, removes its VIPs, notifies FAULT; a FAULT one only stops', async (t) => {
  const r = step(master(), { type: 'delete', now: 10 * S })
  t.same(r.actions, [
    { type: 'sendAdvert', priority: 0 },
    { type: 'stat', counter: 'priorityZeroSent' },
    { type: 'log', line: '(VI_1) sent 0 priority', detail: true },
    { type: 'log', line: '(VI_1) removing VIPs.', detail: true },
    { type: 'removeVips' },
    { type: 'notify', state: 'FAULT', priority: 100 },
    { type: 'transition', from: 'MASTER', to: 'STOP', reason: 'removed by reload' },
  ])
  t.equal(nextDeadline(r.state), undefined)
  const b = step(createInstance(params()), { type: 'start', now: 0 }).state
  t.same(withoutLogs(step(b, { type: 'delete', now: 1 }).actions), [
    { type: 'notify', state: 'FAULT', priority: 100 },
    { type: 'transition', from: 'BACKUP', to: 'STOP', reason: 'removed by reload' },
  ])
  const f = step(b, { type: 'fault', now: 1, cause: 'interface eth0', active: true }).state
  t.same(step(f, { type: 'delete', now: 2 }).actions, [{ type: 'transition', from: 'FAULT', to: 'STOP', reason: 'removed by reload' }])
})

t.test('every transition says why', async (t) => {
  const reasons = (actions: readonly InstanceAction[]) => actions.flatMap((a) => (a.type === 'transition' ? [a.reason] : []))
  const b = step(createInstance(params()), { type: 'start', now: 0 })
  t.same(reasons(b.actions), ['startup'])
  t.same(reasons(step(b.state, { type: 'timer', now: nextDeadline(b.state)! }).actions), ['master down timer expired'])
  const zero = step(b.state, { type: 'advert', now: S, from: '10.9.0.2', priority: 0, adverInt: S, ourAddress: '10.9.0.1' }).state
  t.same(reasons(step(zero, { type: 'timer', now: nextDeadline(zero)! }).actions), ['priority 0 advert from 10.9.0.2'])
  const high = step(createInstance(params({ basePriority: 200 })), { type: 'start', now: 0 }).state
  const lower = step(high, { type: 'advert', now: S, from: '10.9.0.2', priority: 100, adverInt: S, ourAddress: '10.9.0.1' }).state
  t.same(reasons(step(lower, { type: 'timer', now: nextDeadline(lower)! }).actions), ['preempting lower priority master 10.9.0.2'])
  const m = master()
  t.same(reasons(step(m, { type: 'advert', now: 9 * S, from: '10.9.0.2', priority: 150, adverInt: S, ourAddress: '10.9.0.1' }).actions), ['higher priority advert from 10.9.0.2'])
  t.same(reasons(step(m, { type: 'advert', now: 9 * S, from: '10.9.0.2', priority: 100, adverInt: S, ourAddress: '10.9.0.1' }).actions), ['equal priority advert from higher address 10.9.0.2'])
  const down = step(m, { type: 'fault', now: 9 * S, cause: 'interface eth1', active: true })
  t.same(reasons(down.actions), ['tracked interface eth1 down'])
  t.same(reasons(step(down.state, { type: 'fault', now: 10 * S, cause: 'interface eth1', active: false }).actions), ['tracked interface eth1 up'])
  t.same(reasons(step(m, { type: 'stop', now: 9 * S }).actions), ['stop'])
  const owner = step(createInstance(params({ basePriority: 255, initialState: 'MASTER' })), { type: 'start', now: 0 }).state
  t.same(reasons(step(owner, { type: 'timer', now: 1 }).actions), ['address owner starting'])
})

t.test('sync groups: resumed whole, reloaded with carried states, a member sync carries the group name', async (t) => {
  const p1 = params({ name: 'VI_1' })
  const p2 = params({ name: 'VI_2', virtualRouterId: 52 })
  let g = createSyncGroup('VG1', [createInstance(p1), createInstance(p2)])
  g = syncGroupStep(g, 'VI_1', { type: 'resume', now: 0 }).group
  t.equal(g.state, 'INIT', 'not MASTER until every member resumed')
  const r2 = syncGroupStep(g, 'VI_2', { type: 'resume', now: 0 })
  g = r2.group
  t.equal(g.state, 'MASTER')
  t.notOk(r2.actions.some((a) => a.action.type === 'groupNotify'), 'no group notify: it was MASTER before the restart')

  const carried = new Map([['VI_1', g.instances.VI_1!], ['VI_2', g.instances.VI_2!]])
  const unit = syncedInstances('VG1', [p1, p2], carried)
  t.equal(unit.state('VI_1').state, 'MASTER')
  const reloaded = unit.step('VI_1', { type: 'reload', now: S, params: { ...p1, basePriority: 120 }, faults: [], initPending: [], priority: 120 })
  t.same(reloaded, [], 'a kept group stays MASTER silently')
  const faulted = unit.step('VI_2', { type: 'fault', now: 2 * S, cause: 'interface eth1', active: true })
  const transitions = faulted.filter((a) => a.action.type === 'transition').map((a) => [a.instance, a.action.type === 'transition' && a.action.reason])
  t.same(transitions, [['VI_2', 'tracked interface eth1 down'], ['VI_1', 'sync group VG1']])

  const lone = loneInstance({ ...p1, name: 'renamed' }, g.instances.VI_1)
  t.equal(lone.state('renamed').params.name, 'renamed', 'a kept instance takes its new name')
  t.equal(lone.state('renamed').state, 'MASTER')
})
