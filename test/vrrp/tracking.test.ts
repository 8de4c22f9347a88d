/** Effective priority and FAULT causes from trackers (§5.11, §5.14), and the vrrp_script result machine. */
import t from 'tap'
import type { SourcePosition } from '../../src/config/diagnostics.js'
import type { SyncGroup, VrrpInstance, VrrpScript } from '../../src/config/vrrp/model.js'
import { createScriptTracker, scriptRan, scriptStatus, type ScriptTrackerState } from '../../src/vrrp/script-tracker.js'
import { evaluateTracking, instanceTrackers, trackingEvents, type TrackedItem } from '../../src/vrrp/tracking.js'

const POS: SourcePosition = { file: '/etc/keepalived/keepalived.conf', line: 1, col: 1 }

function script(over: Partial<VrrpScript> = {}): VrrpScript {
  return {
    pos: POS, name: 'chk', script: { command: '/bin/true', user: undefined, group: undefined },
    interval: 1_000_000, timeout: 1_000_000, weight: 0, reverse: false, rise: 1, fall: 1, initFail: false, ...over,
  }
}

function feed(s: ScriptTrackerState, statuses: (number | 'sig9' | 'timeout')[]) {
  const logs: string[] = []
  const changes: (string | undefined)[] = []
  for (const st of statuses) {
    const r = scriptRan(s, st === 'sig9' ? { kind: 'signaled', signal: 9 } : st === 'timeout' ? { kind: 'timedOut' } : { kind: 'exited', status: st })
    s = r.state
    logs.push(...r.logs)
    changes.push(r.changed)
  }
  return { state: s, logs, changes }
}

t.test('script: unknown until the first result, and one result is enough', async (t) => {
  const s = createScriptTracker(script({ rise: 3, fall: 2 }))
  t.equal(scriptStatus(s), 'init')
  const ok = feed(s, [0])
  t.same(ok.logs, ['VRRP_Script(chk) succeeded'])
  t.equal(scriptStatus(ok.state), 'ok')
  const bad = feed(s, [2])
  t.same(bad.logs, ['Script `chk` now returning 2', 'VRRP_Script(chk) failed (exited with status 2)'])
  t.equal(scriptStatus(bad.state), 'failed')
})

t.test('script: fall consecutive failures to fail, rise successes to recover, logged once', async (t) => {
  const r = feed(createScriptTracker(script({ rise: 2, fall: 3 })), [0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0])
  t.same(r.changes, [
    'ok', undefined, undefined, undefined, undefined, undefined, 'failed', undefined, undefined, 'ok', undefined,
  ])
  t.same(r.logs, [
    'VRRP_Script(chk) succeeded',
    'Script `chk` now returning 1',
    'Script `chk` now returning 0',
    'Script `chk` now returning 1',
    'VRRP_Script(chk) failed (exited with status 1)',
    'Script `chk` now returning 0',
    'VRRP_Script(chk) succeeded',
  ])
})

t.test('script: signals and timeouts fail without touching the exit status line', async (t) => {
  const r = feed(createScriptTracker(script()), [0, 'sig9'])
  t.same(r.logs, ['VRRP_Script(chk) succeeded', 'VRRP_Script(chk) failed (due to signal 9)'])
  const to = feed(createScriptTracker(script()), ['timeout'])
  t.same(to.logs, ['VRRP_Script(chk) timed_out'])
})

t.test('script: init_fail starts failed and logs only the recovery', async (t) => {
  const s = createScriptTracker(script({ initFail: true }))
  t.equal(scriptStatus(s), 'failed')
  const r = feed(s, [1, 0])
  t.same(r.logs, ['Script `chk` now returning 1', 'Script `chk` now returning 0', 'VRRP_Script(chk) succeeded'])
})

const iface = (name: string, weight = 0, reverse = false): TrackedItem => ({ kind: 'interface', name, weight, reverse })

t.test('weights: +w while up, -|w| while down, reverse inverts, clamp 1..254, owners ignore', async (t) => {
  const items = [iface('eth1', 10), iface('eth2', -20), iface('eth3', 30, true)]
  const up = new Map([['eth1', true], ['eth2', true], ['eth3', true]])
  const down = new Map([['eth1', false], ['eth2', false], ['eth3', false]])
  t.equal(evaluateTracking('VI_1', 100, items, { interfaces: up }).priority, 100 + 10 - 30)
  t.equal(evaluateTracking('VI_1', 100, items, { interfaces: down }).priority, 100 - 20)
  t.equal(evaluateTracking('VI_1', 250, items, { interfaces: new Map([['eth1', true], ['eth3', false]]) }).priority, 254)
  t.equal(evaluateTracking('VI_1', 10, items, { interfaces: down }).priority, 1)
  t.equal(evaluateTracking('VI_1', 255, items, { interfaces: down }).priority, 255)
})

t.test('weight 0: the interface down is FAULT, with keepalived reason lines; reverse inverts', async (t) => {
  const r = evaluateTracking('VI_1', 100, [iface('eth0'), iface('eth9', 0, true)], { interfaces: new Map([['eth0', false], ['eth9', true]]) })
  t.same(r.faults, [
    { cause: 'interface eth0', reason: '(VI_1): entering FAULT state (interface eth0 down)' },
    { cause: 'interface eth9', reason: '(VI_1): entering FAULT state (interface eth9 down)' },
  ])
})

t.test('scripts: weight 0 waits in init, then FAULT when failed; weighted scripts change nothing until known', async (t) => {
  const items: TrackedItem[] = [
    { kind: 'script', name: 'gate', weight: 0, reverse: false },
    { kind: 'script', name: 'bonus', weight: 20, reverse: false },
    { kind: 'script', name: 'malus', weight: -30, reverse: false },
  ]
  t.same(evaluateTracking('VI_1', 100, items, {}), { priority: 100, faults: [], initPending: ['script gate'] })
  const r = evaluateTracking('VI_1', 100, items, { scripts: new Map([['gate', 'failed'], ['bonus', 'ok'], ['malus', 'failed']]) })
  t.same(r, { priority: 90, faults: [{ cause: 'script gate', reason: '(VI_1): entering FAULT state due to script gate' }], initPending: [] })
})

t.test('track_file: value × weight, reverse, FAULT at ≤ -254, weight 0 non-zero is FAULT', async (t) => {
  const f = (weight: number, reverse = false): TrackedItem => ({ kind: 'file', name: 'f', weight, reverse })
  const v = (n: number) => ({ files: new Map([['f', n]]) })
  t.equal(evaluateTracking('VI_1', 100, [f(2)], v(5)).priority, 110)
  t.equal(evaluateTracking('VI_1', 100, [f(2, true)], v(5)).priority, 90)
  t.equal(evaluateTracking('VI_1', 100, [f(1)], v(500)).priority, 254, 'the bonus is capped at 253, then clamped')
  t.same(evaluateTracking('VI_1', 100, [f(-1)], v(254)).faults, [{ cause: 'file f', reason: '(VI_1): entering FAULT state (tracked file f has status -254)' }])
  t.same(evaluateTracking('VI_1', 100, [f(-1)], v(253)).faults, [])
  t.equal(evaluateTracking('VI_1', 100, [f(0)], v(1)).faults.length, 1)
  t.equal(evaluateTracking('VI_1', 100, [f(0)], v(0)).faults.length, 0)
  t.equal(evaluateTracking('VI_1', 100, [f(0, true)], v(0)).faults.length, 1, 'reverse: zero is the fault')
})

t.test('track_process: quorum as up/down', async (t) => {
  const p = (weight: number): TrackedItem => ({ kind: 'process', name: 'haproxy', weight, reverse: false })
  const lost = { processes: new Map([['haproxy', false]]) }
  t.same(evaluateTracking('VI_1', 100, [p(0)], lost).faults, [{ cause: 'process haproxy', reason: '(VI_1) entering FAULT state (tracked process haproxy quorum not achieved)' }])
  t.equal(evaluateTracking('VI_1', 100, [p(-40)], lost).priority, 60)
})

t.test('trackingEvents: faults first, then init done, cleared faults, priority', async (t) => {
  const prev = { priority: 100, faults: [{ cause: 'interface eth1', reason: '' }], initPending: ['script gate'] }
  const next = { priority: 90, faults: [{ cause: 'script gate', reason: '' }], initPending: [] }
  t.same(trackingEvents(prev, next, 7), [
    { type: 'fault', now: 7, cause: 'script gate', active: true },
    { type: 'trackerReady', now: 7, cause: 'script gate' },
    { type: 'fault', now: 7, cause: 'interface eth1', active: false },
    { type: 'priority', now: 7, priority: 90 },
  ])
  t.same(trackingEvents(next, next, 8), [])
})

t.test('instanceTrackers: own interface unless dont_track_primary, VIP interfaces, group trackers', async (t) => {
  const vip = (dev: string | undefined, noTrack = false) => ({ dev, noTrack })
  const inst = {
    interface: 'eth0', dontTrackPrimary: false,
    virtualIpaddresses: [vip(undefined), vip('eth5')], virtualIpaddressesExcluded: [vip('eth6', true)],
    trackInterfaces: [{ pos: POS, name: 'eth1', weight: -10, reverse: false }],
    trackScripts: [{ pos: POS, name: 'chk', weight: 0, reverse: false }], trackFiles: [], trackProcesses: [],
  } as unknown as VrrpInstance
  const group = { trackInterfaces: [], trackScripts: [{ pos: POS, name: 'gchk', weight: 0, reverse: false }], trackFiles: [], trackProcesses: [] } as unknown as SyncGroup
  t.same(instanceTrackers(inst, group).map((i) => `${i.kind} ${i.name} ${i.weight}`), [
    'interface eth0 0', 'interface eth5 0', 'interface eth1 -10', 'script chk 0', 'script gchk 0',
  ])
  t.same(instanceTrackers({ ...inst, dontTrackPrimary: true } as VrrpInstance).map((i) => i.name), ['eth5', 'eth1', 'chk'])
})
