/** GARP rounds as data: when becoming MASTER, garp_master_delay later, every garp_master_refresh, after lower priority adverts (§5.8). */
import t from 'tap'
import { emptyGlobalDefs } from '../../src/config/global/model.js'
import type { VrrpInstance } from '../../src/config/vrrp/model.js'
import { garpRepeat, garpSettings, refreshDue } from '../../src/vrrp/garp-schedule.js'
import { createInstance, nextDeadline, step } from '../../src/vrrp/instance.js'
import type { InstanceAction, InstanceEvent, InstanceState } from '../../src/vrrp/instance.js'
import type { InstanceParams } from '../../src/vrrp/params.js'

const S = 1_000_000

function ownerParams(garp: Partial<InstanceParams['garp']> = {}): InstanceParams {
  return {
    name: 'VI_1', version: 2, family: 4, interface: 'eth0', virtualRouterId: 51, basePriority: 255, owner: true,
    initialState: 'MASTER', advertInt: S, nopreempt: false, preemptDelay: 0, downTimerAdverts: 3,
    higherPrioSendAdvert: false, lowerPrioNoAdvert: false,
    garp: { masterRepeat: 5, masterDelay: 5 * S, masterRefresh: 0, masterRefreshRepeat: 1, lowerPrioRepeat: 5, lowerPrioDelay: 5 * S, ...garp },
    strict: false, accept: true, firewall: false, vipCount: 1, evipCount: 0, routeCount: 0, ruleCount: 0,
    unicast: false, sourceAddress: undefined, startupDelay: 0,
  }
}

/** Run one instance alone until `until`, calling back at every deadline; GARP actions with their times. */
function garps(p: InstanceParams, until: number, inject: [number, InstanceEvent][] = []): { state: InstanceState; rounds: [number, InstanceAction][] } {
  let s = step(createInstance(p), { type: 'start', now: 0 }).state
  const rounds: [number, InstanceAction][] = []
  const pending = [...inject]
  for (;;) {
    const next = nextDeadline(s)
    const injected = pending[0]
    if (injected && (next === undefined || injected[0] <= next)) {
      pending.shift()
      const r = step(s, injected[1])
      s = r.state
      for (const a of r.actions) if (a.type === 'garp') rounds.push([injected[0], a])
      continue
    }
    if (next === undefined || next > until) break
    const r = step(s, { type: 'timer', now: next })
    s = r.state
    for (const a of r.actions) if (a.type === 'garp') rounds.push([next, a])
  }
  return { state: s, rounds }
}

t.test('becoming MASTER: garp_master_repeat at once, again after garp_master_delay', async (t) => {
  const { rounds } = garps(ownerParams(), 20 * S)
  t.same(rounds, [
    [1, { type: 'garp', round: 'master', repeat: 5 }],
    [1 + 5 * S, { type: 'garp', round: 'masterDelayed', repeat: 5 }],
  ])
})

t.test('garp_master_delay 0: no second round', async (t) => {
  t.same(garps(ownerParams({ masterDelay: 0 }), 20 * S).rounds, [[1, { type: 'garp', round: 'master', repeat: 5 }]])
})

t.test('garp_master_refresh rides on the advert timer', async (t) => {
  const { rounds } = garps(ownerParams({ masterDelay: 0, masterRefresh: 10 * S, masterRefreshRepeat: 2 }), 25 * S)
  t.same(rounds, [
    [1, { type: 'garp', round: 'master', repeat: 5 }],
    [1 + 10 * S, { type: 'garp', round: 'refresh', repeat: 2 }],
    [1 + 20 * S, { type: 'garp', round: 'refresh', repeat: 2 }],
  ])
})

t.test('a lower priority advert as MASTER: garp_lower_prio_repeat and a delayed second set', async (t) => {
  const lower: InstanceEvent = { type: 'advert', now: 2_500_000, from: '10.9.0.9', priority: 100, adverInt: S, ourAddress: '10.9.0.1' }
  const { rounds } = garps(ownerParams({ masterDelay: 0, lowerPrioRepeat: 3, lowerPrioDelay: 2 * S }), 10 * S, [[2_500_000, lower]])
  t.same(rounds, [
    [1, { type: 'garp', round: 'master', repeat: 5 }],
    [2_500_000, { type: 'garp', round: 'lowerPrio', repeat: 3 }],
    [4_500_000, { type: 'garp', round: 'lowerPrioDelayed', repeat: 3 }],
  ])
})

t.test('garp_lower_prio_repeat 0 (strict mode): none', async (t) => {
  const lower: InstanceEvent = { type: 'advert', now: 2_500_000, from: '10.9.0.9', priority: 100, adverInt: S, ourAddress: '10.9.0.1' }
  const { rounds } = garps(ownerParams({ masterDelay: 0, lowerPrioRepeat: 0 }), 10 * S, [[2_500_000, lower]])
  t.same(rounds, [[1, { type: 'garp', round: 'master', repeat: 5 }]])
})

t.test('leaving MASTER cancels the delayed round', async (t) => {
  const fault: InstanceEvent = { type: 'fault', now: 2 * S, cause: 'interface eth0', active: true }
  const { state, rounds } = garps(ownerParams(), 20 * S, [[2 * S, fault]])
  t.same(rounds, [[1, { type: 'garp', round: 'master', repeat: 5 }]])
  t.equal(state.deadlines.garpMasterDelayed, undefined)
})

t.test('garpSettings: config values, and vrrp_min_garp replacing only defaults', async (t) => {
  const inst = {
    garpMasterDelay: 5 * S, garpMasterRepeat: 5, garpMasterRefresh: 0, garpMasterRefreshRepeat: 1,
    garpLowerPrioDelay: 5 * S, garpLowerPrioRepeat: 5,
  } as unknown as VrrpInstance
  const g = emptyGlobalDefs()
  t.same(garpSettings(inst, g), { masterRepeat: 5, masterDelay: 5 * S, masterRefresh: 0, masterRefreshRepeat: 1, lowerPrioRepeat: 5, lowerPrioDelay: 5 * S })
  t.same(garpSettings(inst, { ...g, vrrpMinGarp: true }), { masterRepeat: 1, masterDelay: 0, masterRefresh: 0, masterRefreshRepeat: 1, lowerPrioRepeat: 1, lowerPrioDelay: 0 })
  const explicit = { ...inst, garpMasterRepeat: 3 } as VrrpInstance
  t.equal(garpSettings(explicit, { ...g, vrrpMinGarp: true }).masterRepeat, 3, 'an explicit value stays')
  t.equal(garpRepeat(garpSettings(inst, g), 'refresh'), 1)
  t.equal(refreshDue(undefined, 5), false)
  t.equal(refreshDue(5, 5), true)
})
