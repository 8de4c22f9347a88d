/**
 * The instance state machine under simulated time: peers exchange adverts
 * through a tiny in-test wire (each sendAdvert action is delivered to the
 * others' `step`), and we assert keepalived's exact log lines and µs deadlines.
 */
import fc from 'fast-check'
import t from 'tap'
import { loadConfig } from '../../src/config/config.js'
import type { SourcePosition } from '../../src/config/diagnostics.js'
import type { VrrpScript } from '../../src/config/vrrp/model.js'
import { createInstance, nextDeadline, step } from '../../src/vrrp/instance.js'
import { addressBytes, compareAddresses } from '../../src/vrrp/instance-address.js'
import { instanceParams } from '../../src/vrrp/params.js'
import { createScriptTracker, scriptRan, scriptStatus } from '../../src/vrrp/script-tracker.js'
import { evaluateTracking, trackingEvents, type TrackedItem } from '../../src/vrrp/tracking.js'
import { memFiles } from '../helpers/config.js'
import type { InstanceAction, InstanceEvent, InstanceState } from '../../src/vrrp/instance.js'
import type { InstanceParams } from '../../src/vrrp/params.js'
import { params, S } from '../fixtures/vrrp/params.js'

const POS: SourcePosition = { file: '/etc/keepalived/keepalived.conf', line: 1, col: 1 }

/** An event the wire stamps with its own clock. */
type WithoutNow<E> = E extends unknown ? Omit<E, 'now'> : never

interface Node {
  readonly label: string
  readonly address: string
  state: InstanceState
  readonly log: { at: number; line: string; detail: boolean }[]
  readonly actions: { at: number; action: InstanceAction }[]
}

/** Zero-latency multicast segment; `linked` false cuts a node off. */
class Wire {
  now = 0
  readonly nodes: Node[] = []
  readonly linked = new Map<string, boolean>()
  private readonly queue: { to: Node; event: InstanceEvent }[] = []

  add(label: string, address: string, p: InstanceParams): Node {
    const node: Node = { label, address, state: createInstance(p), log: [], actions: [] }
    this.nodes.push(node)
    this.linked.set(label, true)
    return node
  }

  node(label: string): Node {
    return this.nodes.find((n) => n.label === label)!
  }

  /** Step a node now and put its adverts on the wire (delivered by drain()). */
  apply(node: Node, event: InstanceEvent): void {
    const r = step(node.state, event)
    node.state = r.state
    for (const action of r.actions) {
      node.actions.push({ at: this.now, action })
      if (action.type === 'log') node.log.push({ at: this.now, line: action.line, detail: action.detail })
      if (action.type === 'sendAdvert' && this.linked.get(node.label)) {
        for (const other of this.nodes) {
          if (other === node || !this.linked.get(other.label)) continue
          this.queue.push({
            to: other,
            event: { type: 'advert', now: this.now, from: node.address, priority: action.priority, adverInt: node.state.params.advertInt, ourAddress: other.address },
          })
        }
      }
    }
  }

  do(label: string, event: WithoutNow<InstanceEvent> | InstanceEvent): void {
    this.apply(this.node(label), { ...event, now: this.now } as InstanceEvent)
    this.drain()
  }

  drain(): void {
    for (let guard = 0; this.queue.length; guard++) {
      if (guard > 1000) throw new Error('advert storm')
      const { to, event } = this.queue.shift()!
      this.apply(to, { ...event, now: this.now })
    }
  }

  /** Advance to `until`: at each deadline fire every due node's timer, then deliver adverts. */
  run(until: number): void {
    for (;;) {
      const due = this.nodes.map((n) => nextDeadline(n.state)).filter((d): d is number => d !== undefined)
      const next = Math.min(...due)
      if (!due.length || next > until) break
      this.now = next
      for (const n of this.nodes) if (nextDeadline(n.state) === next) this.apply(n, { type: 'timer', now: next })
      this.drain()
    }
    this.now = until
  }
}

/** Log lines of a node; `-D` lines marked with a leading `D `. */
function lines(n: Node, from = 0): string[] {
  return n.log.filter((l) => l.at >= from).map((l) => (l.detail ? `D ${l.line}` : l.line))
}

function times(n: Node, pattern: string): number[] {
  return n.log.filter((l) => l.line.includes(pattern)).map((l) => l.at)
}

/** node2 (prio 100) alone for 10 s, then node1 (prio 150): the §4.5 live transcript. */
function twoNodes(over1: Partial<InstanceParams> = {}, over2: Partial<InstanceParams> = {}): Wire {
  const w = new Wire()
  w.add('node1', '10.9.0.1', params({ basePriority: 150, ...over1 }))
  w.add('node2', '10.9.0.2', params({ basePriority: 100, ...over2 }))
  w.do('node2', { type: 'start' })
  w.run(10 * S)
  w.do('node1', { type: 'start' })
  return w
}

t.test('election: the live transcript of §4.5, to the microsecond', async (t) => {
  const w = twoNodes()
  w.run(15 * S)
  const [n1, n2] = [w.node('node1'), w.node('node2')]
  t.same(lines(n2).slice(0, 4), [
    '(VI_1) Entering BACKUP STATE (init)',
    'D (VI_1) Receive advertisement timeout',
    '(VI_1) Entering MASTER STATE',
    'D (VI_1) setting VIPs.',
  ])
  t.same(times(n2, 'Entering MASTER STATE'), [3_609_375], 'priority 100 waits 3 s + 156/256 s')
  t.same(lines(n1), [
    '(VI_1) Entering BACKUP STATE (init)',
    '(VI_1) received lower priority (100) advert from 10.9.0.2 - discarding',
    '(VI_1) received lower priority (100) advert from 10.9.0.2 - discarding',
    '(VI_1) received lower priority (100) advert from 10.9.0.2 - discarding',
    'D (VI_1) Receive advertisement timeout',
    '(VI_1) Entering MASTER STATE',
    'D (VI_1) setting VIPs.',
  ], 'the discarded adverts keep the running timer')
  t.same(times(n1, 'Entering MASTER STATE'), [13_414_062], 'started at 10 s, waits its full 3.414062 s')
  t.same(lines(n2, 13_414_062), [
    '(VI_1) Master received advert from 10.9.0.1 with higher priority 150, ours 100',
    '(VI_1) Entering BACKUP STATE',
    'D (VI_1) removing VIPs.',
  ])
  t.equal(n2.state.deadlines.masterDown, 14_414_062 + 3_609_375, 'backup restarts Master_Down_Interval at each advert')
  t.equal(n1.state.deadlines.advert, 15_414_062)
  t.equal(n1.state.state, 'MASTER')
  t.equal(n2.state.state, 'BACKUP')
})

t.test('becoming master: advert first, then VIPs, GARP round, notify; stats', async (t) => {
  const w = twoNodes()
  w.run(13_414_062)
  const at = w.node('node1').actions.filter((a) => a.at === 13_414_062).map((a) => a.action)
  t.same(at.filter((a) => a.type !== 'log'), [
    { type: 'sendAdvert', priority: 150 },
    { type: 'stat', counter: 'becomeMaster' },
    { type: 'addVips' },
    { type: 'garp', round: 'master', repeat: 5 },
    { type: 'notify', state: 'MASTER', priority: 150 },
    { type: 'transition', from: 'BACKUP', to: 'MASTER', reason: 'preempting lower priority master 10.9.0.2' },
  ])
  const released = w.node('node2').actions.filter((a) => a.at === 13_414_062).map((a) => a.action).filter((a) => a.type !== 'log')
  t.same(released, [
    { type: 'removeVips' },
    { type: 'notify', state: 'BACKUP', priority: 100 },
    { type: 'stat', counter: 'releaseMaster' },
    { type: 'transition', from: 'MASTER', to: 'BACKUP', reason: 'higher priority advert from 10.9.0.1' },
  ])
})

t.test('failover on stop: priority 0, takeover after Skew_Time', async (t) => {
  const w = twoNodes()
  w.run(20 * S)
  w.do('node1', { type: 'stop' })
  const n1 = w.node('node1')
  t.same(n1.actions.filter((a) => a.at === 20 * S).map((a) => a.action), [
    { type: 'sendAdvert', priority: 0 },
    { type: 'stat', counter: 'priorityZeroSent' },
    { type: 'log', line: '(VI_1) sent 0 priority', detail: true },
    { type: 'log', line: '(VI_1) removing VIPs.', detail: true },
    { type: 'removeVips' },
    { type: 'notify', state: 'STOP', priority: 150 },
    { type: 'transition', from: 'MASTER', to: 'STOP', reason: 'stop' },
  ])
  t.equal(nextDeadline(n1.state), undefined, 'a stopped instance has no timers')
  const n2 = w.node('node2')
  t.equal(n2.state.deadlines.masterDown, 20 * S + 609_375, 'down timer = skew after priority 0')
  w.run(21 * S)
  t.same(lines(n2, 20 * S), [
    'D (VI_1) Backup received priority 0 advertisement',
    'D (VI_1) Receive advertisement timeout',
    '(VI_1) Entering MASTER STATE',
    'D (VI_1) setting VIPs.',
  ])
  t.same(times(n2, 'Entering MASTER STATE').slice(-1), [20_609_375])
  t.same(step(n1.state, { type: 'timer', now: 30 * S }).actions, [], 'STOP ignores everything')
})

t.test('failover on silence: master-down after the last advert', async (t) => {
  const w = twoNodes()
  w.run(20 * S)
  w.linked.set('node1', false)
  w.run(25 * S)
  // node1's last advert reached node2 at 19.414062 s.
  t.same(times(w.node('node2'), 'Entering MASTER STATE').slice(-1), [19_414_062 + 3_609_375])
})

t.test('nopreempt: a higher priority backup leaves a live master alone', async (t) => {
  const w = twoNodes({ nopreempt: true })
  w.run(40 * S)
  t.equal(w.node('node1').state.state, 'BACKUP')
  t.equal(w.node('node2').state.state, 'MASTER')
  t.same(lines(w.node('node1')), ['(VI_1) Entering BACKUP STATE (init)'])
  t.equal(w.node('node1').state.masterPriority, 100)
  w.do('node2', { type: 'stop' })
  w.run(45 * S)
  t.same(times(w.node('node1'), 'Entering MASTER STATE'), [40 * S + 414_062], 'still takes over when the master leaves')
})

t.test('preempt_delay: accept lower adverts until the delay is over, then preempt', async (t) => {
  const w = twoNodes({ preemptDelay: 5 * S })
  w.run(20 * S)
  const n1 = w.node('node1')
  t.same(lines(n1), [
    '(VI_1) Entering BACKUP STATE (init)',
    'D (VI_1) start preempt delay (5.000000)',
    '(VI_1) received lower priority (100) advert from 10.9.0.2 - discarding',
    '(VI_1) received lower priority (100) advert from 10.9.0.2 - discarding',
    '(VI_1) received lower priority (100) advert from 10.9.0.2 - discarding',
    'D (VI_1) Receive advertisement timeout',
    '(VI_1) Entering MASTER STATE',
    'D (VI_1) setting VIPs.',
  ])
  t.same(times(n1, 'start preempt delay'), [10_609_375])
  t.same(times(n1, 'discarding'), [15_609_375, 16_609_375, 17_609_375], 'the delay ends at 15.609375 s')
  t.same(times(n1, 'Entering MASTER STATE'), [14_609_375 + 3_414_062], 'the last accepted advert set the timer')
})

t.test('equal priority: the higher address wins', async (t) => {
  const w = new Wire()
  w.add('a', '10.9.0.1', params())
  w.add('b', '10.9.0.2', params())
  w.do('a', { type: 'start' })
  w.do('b', { type: 'start' })
  w.run(5 * S)
  const [a, b] = [w.node('a'), w.node('b')]
  t.same(lines(a, 3_609_375).filter((l) => !l.startsWith('D ')), [
    '(VI_1) Entering MASTER STATE',
    '(VI_1) Master received advert from 10.9.0.2 with same priority 100 but higher IP address than ours',
    '(VI_1) Entering BACKUP STATE',
  ])
  t.same(lines(b, 3_609_375).filter((l) => !l.startsWith('D ')), [
    '(VI_1) Entering MASTER STATE',
    '(VI_1) Received advert from 10.9.0.1 with lower priority 100, ours 100, forcing new election',
  ])
  t.equal(a.state.state, 'BACKUP')
  t.equal(b.state.state, 'MASTER')
  t.ok(b.actions.some((x) => x.action.type === 'notifyEvent'), 'MASTER_RX_LOWER_PRI for notify_master_rx_lower_pri / FIFO')
})

t.test('lower_prio_no_advert: no answer, no timer restart, no election suffix', async (t) => {
  const w = new Wire()
  w.add('a', '10.9.0.1', params({ lowerPrioNoAdvert: true }))
  w.add('b', '10.9.0.2', params({ lowerPrioNoAdvert: true }))
  w.do('a', { type: 'start' })
  w.do('b', { type: 'start' })
  w.run(3_609_375)
  const b = w.node('b')
  t.ok(lines(b).includes('(VI_1) Received advert from 10.9.0.1 with lower priority 100, ours 100'))
  t.equal(b.state.deadlines.advert, 3_609_375 + S)
})

t.test('address owner: MASTER 1 µs after start, no (init) line; two owners reduce to 254', async (t) => {
  const w = new Wire()
  w.add('a', '10.9.0.1', params({ basePriority: 255, initialState: 'MASTER' }))
  w.do('a', { type: 'start' })
  t.equal(nextDeadline(w.node('a').state), 1)
  w.run(1)
  t.same(lines(w.node('a')), ['D (VI_1) Receive advertisement timeout', '(VI_1) Entering MASTER STATE', 'D (VI_1) setting VIPs.'])
  w.add('b', '10.9.0.2', params({ basePriority: 255, initialState: 'MASTER' }))
  w.do('b', { type: 'start' })
  w.run(2)
  const conflict = '(VI_1) CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority'
  t.same(lines(w.node('a'), 2).slice(0, 3), [
    conflict,
    '(VI_1) Master received advert from 10.9.0.2 with higher priority 255, ours 254',
    '(VI_1) Entering BACKUP STATE',
  ], 'the owner with the lower address hears the other first and gives way')
  t.equal(w.node('a').state.effectivePriority, 254)
  t.equal(w.node('a').state.basePriority, 254)
  t.equal(w.node('b').state.effectivePriority, 255)
  w.run(20 * S)
  t.same(w.nodes.map((n) => n.state.state), ['BACKUP', 'MASTER'], 'and stays backup to the remaining owner')
})

t.test('state MASTER without owner priority still waits Master_Down_Interval', async (t) => {
  const w = new Wire()
  w.add('a', '10.9.0.1', params({ basePriority: 150, initialState: 'MASTER' }))
  w.do('a', { type: 'start' })
  t.same(lines(w.node('a')), ['(VI_1) Entering BACKUP STATE (init)'])
  t.equal(nextDeadline(w.node('a').state), 3_414_062)
})

t.test('v3: a backup adopts the master interval and restores its own when master', async (t) => {
  const w = twoNodes({ version: 3 }, { version: 3, advertInt: 500_000 })
  w.run(20 * S)
  const n2 = w.node('node2')
  t.ok(lines(n2).includes('D (VI_1) advertisement interval updated from 500ms to 1000ms by new master'))
  t.equal(n2.state.masterAdverInt, S)
  const v3skew100 = Math.floor((156 * 100 * 625) / 16)
  t.equal(n2.state.deadlines.masterDown, 19_414_062 + 3 * S + v3skew100)
  w.do('node1', { type: 'stop' })
  w.run(21 * S)
  t.same(lines(n2, 20 * S).slice(0, 4), [
    'D (VI_1) Backup received priority 0 advertisement',
    'D (VI_1) Receive advertisement timeout',
    '(VI_1) Entering MASTER STATE',
    'D (VI_1) changing advert interval from 1000ms to locally configured 500ms',
  ])
  t.same(times(n2, 'Entering MASTER STATE').slice(-1), [20 * S + v3skew100])
  t.equal(n2.state.deadlines.advert, 20 * S + v3skew100 + 500_000, 'its own 500 ms adverts')
})

t.test('interface down: MASTER → FAULT with priority 0 twice, back to BACKUP, then preempts', async (t) => {
  const w = twoNodes()
  w.run(20 * S)
  w.do('node1', { type: 'fault', cause: 'interface eth0', active: true })
  const n1 = w.node('node1')
  t.same(lines(n1, 20 * S), ['(VI_1) Entering FAULT STATE', 'D (VI_1) sent 0 priority', 'D (VI_1) removing VIPs.'])
  t.same(n1.actions.filter((a) => a.at === 20 * S && a.action.type === 'sendAdvert').map((a) => a.action), [
    { type: 'sendAdvert', priority: 0 }, { type: 'sendAdvert', priority: 0 },
  ])
  t.equal(nextDeadline(n1.state), undefined, 'FAULT has no protocol timer')
  w.run(21 * S)
  t.equal(w.node('node2').state.state, 'MASTER')
  w.do('node1', { type: 'fault', cause: 'interface eth0', active: false })
  t.same(lines(n1, 21 * S), ['(VI_1) Entering BACKUP STATE'])
  t.equal(n1.state.deadlines.masterDown, 21 * S + 3_414_062)
  w.run(30 * S)
  t.same(times(n1, 'Entering MASTER STATE').slice(-1), [21 * S + 3_414_062], 'preempts the lower master')
  t.equal(w.node('node2').state.state, 'BACKUP')
})

t.test('faults count: FAULT until every cause clears; adverts are ignored meanwhile', async (t) => {
  const w = twoNodes()
  w.run(20 * S)
  w.do('node2', { type: 'fault', cause: 'interface eth0', active: true })
  w.do('node2', { type: 'fault', cause: 'script chk', active: true })
  w.do('node2', { type: 'fault', cause: 'interface eth0', active: false })
  w.run(25 * S)
  const n2 = w.node('node2')
  t.equal(n2.state.state, 'FAULT')
  t.same(lines(n2, 20 * S), ['(VI_1) Entering FAULT STATE'])
  w.do('node2', { type: 'fault', cause: 'script chk', active: false })
  t.equal(n2.state.state, 'BACKUP')
})

t.test('priority change while BACKUP shifts the running timer by the skew difference', async (t) => {
  const w = twoNodes()
  w.run(20 * S)
  const n2 = w.node('node2')
  const before = n2.state.deadlines.masterDown!
  w.do('node2', { type: 'priority', priority: 200 })
  t.same(lines(n2, 20 * S), ['(VI_1) Changing effective priority from 100 to 200'])
  t.equal(n2.state.deadlines.masterDown, before - 609_375 + 218_750)
  w.run(30 * S)
  t.equal(n2.state.state, 'MASTER', 'now the higher priority, it preempts')
  t.same(lines(w.node('node1'), 20 * S).slice(0, 2), [
    '(VI_1) Master received advert from 10.9.0.2 with higher priority 200, ours 150',
    '(VI_1) Entering BACKUP STATE',
  ])
})

t.test('owner ignores priority events; clamping to 1..254', async (t) => {
  const owner = step(createInstance(params({ basePriority: 255, initialState: 'MASTER' })), { type: 'start', now: 0 }).state
  t.equal(step(owner, { type: 'priority', now: 1, priority: 10 }).state.effectivePriority, 255)
  const s = step(createInstance(params()), { type: 'start', now: 0 }).state
  t.equal(step(s, { type: 'priority', now: 1, priority: 400 }).state.effectivePriority, 254)
  t.equal(step(s, { type: 'priority', now: 1, priority: -5 }).state.effectivePriority, 1)
})

t.test('start in FAULT: reason lines only, then BACKUP when the tracker reports', async (t) => {
  const s0 = createInstance(params())
  const r = step(s0, { type: 'start', now: 0, faults: [{ cause: 'interface eth0', reason: '(VI_1): entering FAULT state (interface eth0 down)' }] })
  t.same(r.actions, [
    { type: 'log', line: '(VI_1): entering FAULT state (interface eth0 down)', detail: false },
    { type: 'transition', from: 'INIT', to: 'FAULT', reason: 'tracked interface eth0 down at startup' },
  ])
  t.equal(r.state.state, 'FAULT')
  const up = step(r.state, { type: 'fault', now: 5, cause: 'interface eth0', active: false })
  t.same(up.actions.filter((a) => a.type === 'log').map((a) => a.type === 'log' && a.line), ['(VI_1) Entering BACKUP STATE'])
  const pending = step(s0, { type: 'start', now: 0, initPending: ['script chk'] })
  t.same(pending.actions, [{ type: 'transition', from: 'INIT', to: 'FAULT', reason: 'waiting for tracked script chk at startup' }], 'waiting for a weight-0 script is silent')
  const ready = step(pending.state, { type: 'trackerReady', now: 2, cause: 'script chk' })
  t.equal(ready.state.state, 'BACKUP')
  t.equal(ready.state.deadlines.masterDown, 2 + 3_609_375)
})

t.test('vrrp_startup_delay: backup timers count from the end of the delay', async (t) => {
  const s = step(createInstance(params({ startupDelay: 10 * S })), { type: 'start', now: 0 }).state
  t.equal(nextDeadline(s), 10 * S + 3_609_375)
})

t.test('higher_prio_send_advert: one advert before yielding', async (t) => {
  const w = twoNodes({}, { higherPrioSendAdvert: true })
  w.run(13_414_062)
  const sent = w.node('node2').actions.filter((a) => a.at === 13_414_062 && a.action.type === 'sendAdvert')
  t.same(sent.map((a) => a.action), [{ type: 'sendAdvert', priority: 100 }])
  t.equal(w.node('node2').state.state, 'BACKUP')
})

t.test('MASTER receiving priority 0 answers at once and restarts its advert timer', async (t) => {
  const w = twoNodes()
  w.run(20 * S)
  const r = step(w.node('node1').state, { type: 'advert', now: 20 * S, from: '10.9.0.3', priority: 0, adverInt: S, ourAddress: '10.9.0.1' })
  t.same(r.actions, [
    { type: 'stat', counter: 'priorityZeroReceived' },
    { type: 'sendAdvert', priority: 150 },
    { type: 'log', line: '(VI_1) Master received priority 0 message', detail: true },
  ])
  t.equal(r.state.deadlines.advert, 21 * S)
})

t.test('equal priority from our own address: warning only', async (t) => {
  const w = twoNodes()
  w.run(20 * S)
  const r = step(w.node('node1').state, { type: 'advert', now: 20 * S, from: '10.9.0.1', priority: 150, adverInt: S, ourAddress: '10.9.0.1' })
  t.same(r.actions, [{ type: 'log', line: '(VI_1) WARNING - equal priority advert received from remote host with our IP address.', detail: false }])
  t.equal(r.state.state, 'MASTER')
})

t.test('routes, rules, eVIPs and the firewall rule in keepalived order', async (t) => {
  const p = params({ basePriority: 255, initialState: 'MASTER', evipCount: 1, routeCount: 1, ruleCount: 1, firewall: true })
  let s = step(createInstance(p), { type: 'start', now: 0 }).state
  const up = step(s, { type: 'timer', now: 1 })
  s = up.state
  t.same(up.actions.filter((a) => a.type === 'log').map((a) => a.type === 'log' && a.line).slice(2), [
    '(VI_1) setting firewall drop rule', '(VI_1) setting VIPs.', '(VI_1) setting E-VIPs.',
    '(VI_1) setting Virtual Routes', '(VI_1) setting Virtual Rules',
  ])
  const down = step(s, { type: 'stop', now: 2 })
  t.same(down.actions.filter((a) => a.type === 'log').map((a) => a.type === 'log' && a.line), [
    '(VI_1) sent 0 priority', '(VI_1) removing Virtual Rules', '(VI_1) removing Virtual Routes',
    '(VI_1) removing VIPs.', '(VI_1) removing E-VIPs.', '(VI_1) removing firewall drop rule',
  ])
})

t.test('unicast: leaving FAULT sends a GARP for our source address', async (t) => {
  const s = step(createInstance(params({ unicast: true, sourceAddress: '10.9.0.1' })), { type: 'start', now: 0 }).state
  const f = step(s, { type: 'fault', now: 1, cause: 'interface eth0', active: true }).state
  const r = step(f, { type: 'fault', now: 2, cause: 'interface eth0', active: false })
  t.same(r.actions.slice(-3), [
    { type: 'log', line: 'VI_1: sending gratuitous ARP for 10.9.0.1', detail: true },
    { type: 'sourceGarp' },
    { type: 'transition', from: 'FAULT', to: 'BACKUP', reason: 'tracked interface eth0 up' },
  ])
})



t.test('track_script failure lowers the priority and hands over (§4.5, weight -60, fall 2)', async (t) => {
  const script: VrrpScript = {
    pos: POS, name: 'chk_file', script: { command: '/bin/chk', user: undefined, group: undefined },
    interval: S, timeout: S, weight: -60, reverse: false, rise: 1, fall: 2, initFail: false,
  }
  const items: TrackedItem[] = [{ kind: 'script', name: 'chk_file', weight: -60, reverse: false }]
  const w = twoNodes()
  w.run(20 * S)
  let tracker = createScriptTracker(script)
  let tracking = evaluateTracking('VI_1', 150, items, { scripts: new Map([['chk_file', scriptStatus(tracker)]]) })
  const logged: string[] = []
  for (const status of [0, 1, 1]) {
    const r = scriptRan(tracker, { kind: 'exited', status })
    tracker = r.state
    logged.push(...r.logs)
    const next = evaluateTracking('VI_1', 150, items, { scripts: new Map([['chk_file', scriptStatus(tracker)]]) })
    for (const ev of trackingEvents(tracking, next, w.now)) w.do('node1', ev)
    tracking = next
  }
  t.same(logged, ['VRRP_Script(chk_file) succeeded', 'Script `chk_file` now returning 1', 'VRRP_Script(chk_file) failed (exited with status 1)'])
  w.run(30 * S)
  const n1 = w.node('node1')
  t.same(lines(n1, 20 * S).filter((l) => !l.startsWith('D ')), [
    '(VI_1) Changing effective priority from 150 to 90',
    '(VI_1) Master received advert from 10.9.0.2 with higher priority 100, ours 90',
    '(VI_1) Entering BACKUP STATE',
  ])
  // node2's last accepted advert was node1's 19.414062 s one; the next ones (priority 90) are discarded.
  t.same(times(w.node('node2'), 'Entering MASTER STATE').slice(-1), [19_414_062 + 3_609_375])
  t.same(times(w.node('node2'), 'discarding').slice(-3), [20_414_062, 21_414_062, 22_414_062])
})

t.test('instanceParams: effective values from the config model and global defs', async (t) => {
  const FILE = '/etc/keepalived/keepalived.conf'
  const text = `global_defs {\n vrrp_lower_prio_no_advert\n vrrp_garp_master_refresh 30\n}\n` +
    `vrrp_instance VI_1 {\n state MASTER\n interface eth0\n virtual_router_id 51\n priority 150\n advert_int 2\n` +
    ` preempt_delay 4\n virtual_ipaddress {\n  10.9.0.100\n }\n virtual_routes {\n  10.10.0.0/16 via 10.9.0.254\n }\n}\n`
  const { config } = loadConfig(FILE, { files: memFiles({ [FILE]: text }), configId: 'test' })
  const inst = config.vrrp.instances[0]!
  const p = instanceParams(inst, config.global)
  t.match(p, {
    name: 'VI_1', version: 2, basePriority: 150, owner: false, initialState: 'MASTER', advertInt: 2 * S,
    downTimerAdverts: 3, lowerPrioNoAdvert: true, higherPrioSendAdvert: false, vipCount: 1, routeCount: 1,
    accept: true, firewall: false,
  })
  t.equal(p.preemptDelay, 0, 'keepalived ignores preempt_delay with state MASTER')
  t.same(p.garp, { masterRepeat: 5, masterDelay: 5 * S, masterRefresh: 30 * S, masterRefreshRepeat: 1, lowerPrioRepeat: 5, lowerPrioDelay: 5 * S })
  const strict = instanceParams({ ...inst, strictMode: true, accept: false }, { ...config.global, vrrpHigherPrioSendAdvert: true, vrrpDownTimerAdverts: 5 })
  t.match(strict, { lowerPrioNoAdvert: true, higherPrioSendAdvert: false, downTimerAdverts: 3, firewall: true })
})

/** Commands of the two-peer property. */
type Command =
  | { kind: 'wait'; ms: number }
  | { kind: 'link'; node: 0 | 1; up: boolean }
  | { kind: 'fault'; node: 0 | 1; active: boolean }
  | { kind: 'priority'; node: 0 | 1; priority: number }

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 5000 }) }),
  fc.record({ kind: fc.constant('link' as const), node: fc.constantFrom(0 as const, 1 as const), up: fc.boolean() }),
  fc.record({ kind: fc.constant('fault' as const), node: fc.constantFrom(0 as const, 1 as const), active: fc.boolean() }),
  fc.record({ kind: fc.constant('priority' as const), node: fc.constantFrom(0 as const, 1 as const), priority: fc.integer({ min: 1, max: 254 }) }),
)

t.test('property: two equal peers never throw and settle on exactly one MASTER', async (t) => {
  fc.assert(fc.property(fc.array(command, { maxLength: 40 }), fc.boolean(), (commands, v3) => {
    const w = new Wire()
    const labels = ['a', 'b'] as const
    w.add('a', '10.9.0.1', params({ version: v3 ? 3 : 2 }))
    w.add('b', '10.9.0.2', params({ version: v3 ? 3 : 2 }))
    w.do('a', { type: 'start' })
    w.do('b', { type: 'start' })
    for (const c of commands) {
      if (c.kind === 'wait') w.run(w.now + c.ms * 1000)
      else if (c.kind === 'link') w.linked.set(labels[c.node], c.up)
      else if (c.kind === 'fault') w.do(labels[c.node], { type: 'fault', cause: 'interface eth0', active: c.active })
      else w.do(labels[c.node], { type: 'priority', priority: c.priority })
    }
    for (const l of labels) {
      w.linked.set(l, true)
      w.do(l, { type: 'fault', cause: 'interface eth0', active: false })
    }
    w.run(w.now + 30 * S)
    const masters = w.nodes.filter((n) => n.state.state === 'MASTER').length
    for (const n of w.nodes) if (n.state.vipsSet !== (n.state.state === 'MASTER')) return false
    return masters === 1
  }), { numRuns: 300 })
})

const anyEvent: fc.Arbitrary<(now: number) => InstanceEvent> = fc.oneof(
  fc.constant((now: number): InstanceEvent => ({ type: 'timer', now })),
  fc.constant((now: number): InstanceEvent => ({ type: 'start', now })),
  fc.constant((now: number): InstanceEvent => ({ type: 'stop', now })),
  fc.record({ from: fc.constantFrom('10.9.0.1', '10.9.0.2', '10.9.0.3', 'fe80::1', 'bogus'), priority: fc.integer({ min: 0, max: 255 }), cs: fc.integer({ min: 1, max: 4095 }) })
    .map((a) => (now: number): InstanceEvent => ({ type: 'advert', now, from: a.from, priority: a.priority, adverInt: a.cs * 10_000, ourAddress: '10.9.0.2' })),
  fc.integer({ min: -300, max: 600 }).map((p) => (now: number): InstanceEvent => ({ type: 'priority', now, priority: p })),
  fc.record({ cause: fc.constantFrom('interface eth0', 'script a'), active: fc.boolean() })
    .map((f) => (now: number): InstanceEvent => ({ type: 'fault', now, ...f })),
  fc.constantFrom('script a', 'script b').map((cause) => (now: number): InstanceEvent => ({ type: 'trackerReady', now, cause })),
  fc.constantFrom('MASTER' as const, 'BACKUP' as const, 'FAULT' as const).map((state) => (now: number): InstanceEvent => ({ type: 'sync', now, state })),
)

t.test('property: any event sequence is handled without throwing, timers never in the past', async (t) => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.integer({ min: 0, max: 3 * S }), anyEvent), { maxLength: 60 }),
    fc.constantFrom(100, 255), fc.boolean(), fc.boolean(),
    (events, priority, v3, nopreempt) => {
      let s = createInstance(params({ basePriority: priority, initialState: priority === 255 ? 'MASTER' : 'BACKUP', version: v3 ? 3 : 2, nopreempt, preemptDelay: nopreempt ? 0 : S }))
      let now = 0
      for (const [dt, make] of events) {
        now += dt
        s = step(s, make(now), { mayBecomeMaster: dt % 2 === 0, groupFaulted: dt % 7 === 0 }).state
        const next = nextDeadline(s)
        if (next !== undefined && next < now && s.state !== 'INIT') {
          // A deadline may be due (the runtime calls back at once), never left in the past after a timer.
          s = step(s, { type: 'timer', now }).state
          const after = nextDeadline(s)
          if (after !== undefined && after <= now) return false
        }
        if (s.state === 'MASTER' && !s.vipsSet) return false
        if ((s.state === 'BACKUP' || s.state === 'FAULT') && s.vipsSet) return false
        if (s.effectivePriority < 1 || s.effectivePriority > 255) return false
      }
      return true
    }), { numRuns: 500 })
})

t.test('tie-break addresses compare as network-order bytes, IPv4 and IPv6', async (t) => {
  t.ok(compareAddresses('10.9.0.10', '10.9.0.9') > 0, 'numeric, not textual')
  t.ok(compareAddresses('10.9.0.1', '10.9.0.2') < 0)
  t.equal(compareAddresses('10.9.0.1', '10.9.0.1'), 0)
  t.ok(compareAddresses('fe80::2', 'fe80::1') > 0)
  t.ok(compareAddresses('fe80::1:0', 'fe80::ffff') > 0)
  t.ok(compareAddresses('::ffff:10.0.0.2', '::ffff:10.0.0.1') > 0, 'embedded IPv4')
  t.equal(compareAddresses('fe80::1%eth0', 'fe80::1'), 0, 'zone ignored')
  t.equal(compareAddresses('10.9.0.1', 'fe80::1'), 0, 'different families never win')
  t.equal(compareAddresses('10.9.0.1', undefined), 0, 'unknown own address')
  t.equal(compareAddresses('bogus', '10.9.0.1'), 0)
  t.same(addressBytes('2001:db8::1'), [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
  t.equal(addressBytes('1:2:3:4:5:6:7'), undefined)
})
