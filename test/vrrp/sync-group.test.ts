/** Sync groups under simulated time: two nodes, each with group VG1 of VI_1 and VI_2 (§5.10). */
import t from 'tap'
import { createInstance, nextDeadline } from '../../src/vrrp/instance.js'
import type { InstanceEvent } from '../../src/vrrp/instance.js'
import type { InstanceParams } from '../../src/vrrp/params.js'
import { createSyncGroup, syncGroupNextDeadline, syncGroupStep, type GroupAction, type SyncGroupState } from '../../src/vrrp/sync-group.js'

const S = 1_000_000

function params(name: string, priority: number): InstanceParams {
  return {
    name, version: 2, family: 4, interface: 'eth0', virtualRouterId: name === 'VI_1' ? 51 : 52, basePriority: priority, owner: false,
    initialState: 'BACKUP', advertInt: S, nopreempt: false, preemptDelay: 0, downTimerAdverts: 3,
    higherPrioSendAdvert: false, lowerPrioNoAdvert: false,
    garp: { masterRepeat: 5, masterDelay: 0, masterRefresh: 0, masterRefreshRepeat: 1, lowerPrioRepeat: 0, lowerPrioDelay: 0 },
    strict: false, accept: true, firewall: false, vipCount: 1, evipCount: 0, routeCount: 0, ruleCount: 0,
    unicast: false, sourceAddress: undefined, startupDelay: 0,
  }
}

interface Node {
  readonly label: string
  readonly address: string
  group: SyncGroupState
  readonly out: { at: number; a: GroupAction }[]
}

class Wire {
  now = 0
  readonly nodes: Node[] = []
  private readonly queue: { to: Node; member: string; event: InstanceEvent }[] = []

  add(label: string, address: string, priority: number): Node {
    const node: Node = { label, address, group: createSyncGroup('VG1', [createInstance(params('VI_1', priority)), createInstance(params('VI_2', priority))]), out: [] }
    this.nodes.push(node)
    return node
  }

  apply(node: Node, member: string, event: InstanceEvent): void {
    const r = syncGroupStep(node.group, member, event)
    node.group = r.group
    for (const a of r.actions) {
      node.out.push({ at: this.now, a })
      if (a.action.type === 'sendAdvert' && a.instance) {
        for (const other of this.nodes) {
          if (other === node) continue
          this.queue.push({ to: other, member: a.instance, event: { type: 'advert', now: this.now, from: node.address, priority: a.action.priority, adverInt: S, ourAddress: other.address } })
        }
      }
    }
  }

  do(node: Node, member: string, event: InstanceEvent): void {
    this.apply(node, member, event)
    while (this.queue.length) {
      const q = this.queue.shift()!
      this.apply(q.to, q.member, { ...q.event, now: this.now })
    }
  }

  start(node: Node): void {
    for (const m of node.group.members) this.do(node, m, { type: 'start', now: this.now })
  }

  run(until: number): void {
    for (;;) {
      const due = this.nodes.map((n) => syncGroupNextDeadline(n.group)).filter((d): d is number => d !== undefined)
      const next = Math.min(...due)
      if (!due.length || next > until) break
      this.now = next
      for (const n of this.nodes) {
        for (const m of n.group.members) {
          if (nextDeadline(n.group.instances[m]!) === next) this.do(n, m, { type: 'timer', now: next })
        }
      }
    }
    this.now = until
  }
}

function logs(n: Node, from = 0): string[] {
  return n.out.filter((o) => o.at >= from && o.a.action.type === 'log' && !o.a.action.detail)
    .map((o) => (o.a.action.type === 'log' ? o.a.action.line : ''))
}

function groupNotifies(n: Node, from = 0): string[] {
  return n.out.filter((o) => o.at >= from && o.a.action.type === 'groupNotify').map((o) => (o.a.action.type === 'groupNotify' ? o.a.action.state : ''))
}

function states(n: Node): string[] {
  return [n.group.state, ...n.group.members.map((m) => n.group.instances[m]!.state)]
}

function setup(): { w: Wire; a: Node; b: Node } {
  const w = new Wire()
  const a = w.add('a', '10.9.0.1', 150)
  const b = w.add('b', '10.9.0.2', 100)
  w.start(b)
  w.run(10 * S)
  w.start(a)
  return { w, a, b }
}

t.test('members become MASTER together, only once all want it', async (t) => {
  const { b } = setup()
  t.same(logs(b).slice(0, 5), [
    '(VI_1) Entering BACKUP STATE (init)',
    '(VI_2) Entering BACKUP STATE (init)',
    '(VI_2) Entering MASTER STATE',
    'VRRP_Group(VG1) Syncing instances to MASTER state',
    '(VI_1) Entering MASTER STATE',
  ], 'VI_1 timed out first but was held until VI_2 wanted MASTER too')
  t.equal(b.out.find((o) => o.a.instance === 'VI_2' && o.a.action.type === 'log' && o.a.action.line.includes('Entering MASTER'))?.at, 3_609_375)
  t.same(groupNotifies(b), ['BACKUP', 'MASTER'])
  t.same(states(b), ['MASTER', 'MASTER', 'MASTER'])
})

t.test('one member yielding takes the group to BACKUP', async (t) => {
  const { w, a, b } = setup()
  w.run(20 * S)
  t.same(states(a), ['MASTER', 'MASTER', 'MASTER'])
  t.same(states(b), ['BACKUP', 'BACKUP', 'BACKUP'])
  t.same(logs(b, 10 * S), [
    '(VI_2) Master received advert from 10.9.0.1 with higher priority 150, ours 100',
    '(VI_2) Entering BACKUP STATE',
    'VRRP_Group(VG1) Syncing instances to BACKUP state',
    '(VI_1) Entering BACKUP STATE',
  ])
  t.same(groupNotifies(b, 10 * S), ['BACKUP'])
})

t.test('one member FAULT puts the whole group in FAULT; recovery brings it back', async (t) => {
  const { w, a, b } = setup()
  w.run(20 * S)
  w.do(a, 'VI_1', { type: 'fault', now: w.now, cause: 'interface eth0', active: true })
  t.same(logs(a, 20 * S), [
    '(VI_1) Entering FAULT STATE',
    'VRRP_Group(VG1) Syncing instances to FAULT state',
    '(VI_2) Entering FAULT STATE',
  ])
  t.same(states(a), ['FAULT', 'FAULT', 'FAULT'])
  t.same(groupNotifies(a, 20 * S), ['FAULT'])
  w.run(21 * S)
  t.same(states(b), ['MASTER', 'MASTER', 'MASTER'], 'the peer takes over both after priority 0')
  // VI_2 has no fault of its own but stays in FAULT with its group.
  w.do(a, 'VI_2', { type: 'fault', now: w.now, cause: 'script other', active: true })
  w.do(a, 'VI_2', { type: 'fault', now: w.now, cause: 'script other', active: false })
  t.same(states(a), ['FAULT', 'FAULT', 'FAULT'])
  w.do(a, 'VI_1', { type: 'fault', now: w.now, cause: 'interface eth0', active: false })
  t.same(logs(a, 21 * S), [
    '(VI_1) Entering BACKUP STATE',
    'VRRP_Group(VG1) Syncing instances to BACKUP state',
    '(VI_2) Entering BACKUP STATE',
  ])
  t.same(states(a), ['BACKUP', 'BACKUP', 'BACKUP'])
  w.run(30 * S)
  t.same(states(a), ['MASTER', 'MASTER', 'MASTER'], 'then preempts again, together')
  t.same(states(b), ['BACKUP', 'BACKUP', 'BACKUP'])
})

t.test('a member starting in FAULT syncs the group to FAULT at start', async (t) => {
  const g0 = createSyncGroup('VG1', [createInstance(params('VI_1', 100)), createInstance(params('VI_2', 100))])
  const r1 = syncGroupStep(g0, 'VI_1', { type: 'start', now: 0, faults: [{ cause: 'interface eth0', reason: '(VI_1): entering FAULT state (interface eth0 down)' }] })
  const r2 = syncGroupStep(r1.group, 'VI_2', { type: 'start', now: 0 })
  t.same(r1.actions.map((a) => a.action), [
    { type: 'log', line: '(VI_1): entering FAULT state (interface eth0 down)', detail: false },
    { type: 'transition', from: 'INIT', to: 'FAULT', reason: 'tracked interface eth0 down at startup' },
    { type: 'log', line: 'VRRP_Group(VG1): Syncing VI_1 to FAULT state', detail: false },
    { type: 'groupNotify', state: 'FAULT' },
  ])
  t.same(r2.actions.map((a) => a.action), [
    { type: 'transition', from: 'INIT', to: 'FAULT', reason: 'sync group in fault at startup' },
  ], 'the other member waits in FAULT silently')
  t.same(states({ group: r2.group } as Node), ['FAULT', 'FAULT', 'FAULT'])
  t.equal(syncGroupNextDeadline(r2.group), undefined)
})

t.test('unknown member: nothing happens', async (t) => {
  const g0 = createSyncGroup('VG1', [createInstance(params('VI_1', 100))])
  const r = syncGroupStep(g0, 'VI_9', { type: 'timer', now: 0 })
  t.equal(r.group, g0)
  t.same(r.actions, [])
})
