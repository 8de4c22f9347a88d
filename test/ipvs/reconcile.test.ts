/** reconcile(): each rule on hand-made tables, start-up/reload/shutdown on a real config, and properties checked with a kernel simulator. */
import fc from 'fast-check'
import t from 'tap'
import { loadText } from '../helpers/config.js'
import { desiredTable, destId, mergeOwned, ownedOf, serviceId, type Owned } from '../../src/ipvs/desired.js'
import { type IpvsOperation, reconcile, sameDest, sameService } from '../../src/ipvs/reconcile.js'
import {
  IPVS_SVC_FLAGS, type IpvsDest, type IpvsDestCounters, type IpvsService, type IpvsServiceEntry, type IpvsServiceKey, type IpvsTable, serviceKeyText,
} from '../../src/net/ipvs-types.js'

// ---------------------------------------------------------------------------
// A kernel in miniature: applies operations with the kernel's refusals (EEXIST / ENOENT) as exceptions.

function simulate(table: IpvsTable, ops: readonly IpvsOperation[]): IpvsServiceEntry[] {
  const services = new Map<string, { service: IpvsService; dests: Map<string, IpvsDest> }>()
  for (const e of table) services.set(serviceId(e.service.key), { service: e.service, dests: new Map(e.dests.map((d) => [destId(d), d])) })
  const svc = (key: IpvsServiceKey) => {
    const s = services.get(serviceId(key))
    if (!s) throw new Error(`ENOENT service ${serviceKeyText(key)}`)
    return s
  }
  for (const op of ops) {
    switch (op.kind) {
      case 'add-service':
        if (services.has(serviceId(op.service.key))) throw new Error(`EEXIST service ${serviceKeyText(op.service.key)}`)
        services.set(serviceId(op.service.key), { service: op.service, dests: new Map() })
        break
      case 'edit-service': {
        const s = svc(op.service.key)
        s.service = { ...op.service, key: s.service.key }
        break
      }
      case 'delete-service':
        svc(op.service.key)
        services.delete(serviceId(op.service.key))
        break
      case 'add-dest': {
        const s = svc(op.service)
        if (s.dests.has(destId(op.dest))) throw new Error(`EEXIST dest ${op.dest.address}`)
        s.dests.set(destId(op.dest), op.dest)
        break
      }
      case 'edit-dest':
      case 'delete-dest': {
        const s = svc(op.service)
        if (!s.dests.has(destId(op.dest))) throw new Error(`ENOENT dest ${op.dest.address}`)
        if (op.kind === 'edit-dest') s.dests.set(destId(op.dest), op.dest)
        else s.dests.delete(destId(op.dest))
      }
    }
  }
  return [...services.values()].map((s) => ({ service: s.service, dests: [...s.dests.values()] }))
}

// ---------------------------------------------------------------------------
// Hand-made tables

const key = (address: string, port = 80): IpvsServiceKey => ({ kind: 'address', family: address.includes(':') ? 6 : 4, protocol: 'TCP', address, port })
const service = (k: IpvsServiceKey, o: Partial<IpvsService> = {}): IpvsService =>
  ({ key: k, scheduler: 'wlc', flags: 0, timeout: 0, netmask: k.family === 6 ? 128 : 0xffffffff, persistenceEngine: undefined, ...o })
const dest = (address: string, o: Partial<IpvsDest> = {}): IpvsDest => ({
  family: address.includes(':') ? 6 : 4, address, port: 80, forwarding: 'NAT', weight: 1, upperThreshold: 0, lowerThreshold: 0,
  tunnelType: undefined, tunnelPort: undefined, tunnelChecksum: undefined, ...o,
})
const entry = (s: IpvsService, ...dests: (IpvsDest & Partial<IpvsDestCounters>)[]): IpvsServiceEntry => ({ service: s, dests })

/** Owns every service and destination of `tables`. */
function owning(...tables: IpvsTable[]): Owned {
  const services = new Set<string>()
  const dests = new Map<string, Set<string>>()
  for (const e of tables.flat()) {
    const id = serviceId(e.service.key)
    services.add(id)
    const set = dests.get(id) ?? new Set<string>()
    dests.set(id, set)
    for (const d of e.dests) set.add(destId(d))
  }
  return { services, dests }
}

const kinds = (ops: readonly IpvsOperation[]) => ops.map((o) => o.kind)

const VIP = service(key('10.0.0.1'))
const RS1 = dest('10.1.0.1')
const RS2 = dest('10.1.0.2')
const TABLE = [entry(VIP, RS1, RS2)]

t.test('an unchanged table needs no operation', async (t) => {
  t.same(reconcile(TABLE, TABLE, owning(TABLE)), [])
  const hashed = [entry({ ...VIP, flags: IPVS_SVC_FLAGS.HASHED }, { ...RS1, activeConnections: 7, inactiveConnections: 2 }, RS2)]
  t.same(reconcile(hashed, TABLE, owning(TABLE)), [], 'HASHED and counters are not differences')
  const spelled = [entry(service(key('2001:DB8:0::1')), dest('2001:db8::0:A'))]
  t.same(reconcile([entry(service(key('2001:db8::1')), dest('2001:db8::a'))], spelled, owning(spelled)), [], 'addresses compare canonically')
})

t.test('a missing service: added, then its destinations, in order', async (t) => {
  const ops = reconcile([], TABLE, owning(TABLE))
  t.same(ops, [
    { kind: 'add-service', service: VIP },
    { kind: 'add-dest', service: VIP.key, dest: RS1 },
    { kind: 'add-dest', service: VIP.key, dest: RS2 },
  ])
  t.same(kinds(reconcile([], TABLE, owning())), kinds(ops), 'a desired service counts as ours even if `owned` omits it')
})

t.test('a changed service attribute is exactly one edit-service', async (t) => {
  const changes: Partial<IpvsService>[] = [
    { scheduler: 'rr' }, { flags: IPVS_SVC_FLAGS.PERSISTENT }, { timeout: 300 }, { netmask: 0xffffff00 }, { persistenceEngine: 'sip' },
    { scheduler: 'sh', flags: IPVS_SVC_FLAGS.SCHED1 | IPVS_SVC_FLAGS.SCHED2 },
  ]
  for (const change of changes) {
    const want = [entry({ ...VIP, ...change }, RS1, RS2)]
    t.same(reconcile(TABLE, want, owning(TABLE)), [{ kind: 'edit-service', service: want[0]!.service, previous: VIP }], JSON.stringify(change))
  }
  t.same(reconcile([entry({ ...VIP, persistenceEngine: '' })], [entry(VIP)], owning()), [], 'an empty engine name is none')
})

t.test('a changed weight is exactly one edit-dest; so are forwarding, thresholds and tunnel changes', async (t) => {
  const weighted = [entry(VIP, RS1, { ...RS2, weight: 0 })]
  t.same(reconcile(TABLE, weighted, owning(TABLE)), [{ kind: 'edit-dest', service: VIP.key, dest: { ...RS2, weight: 0 }, previous: RS2 }])
  const tun = { forwarding: 'TUN', tunnelType: 'gue', tunnelPort: 6080, tunnelChecksum: 'csum' } as const
  const changes: Partial<IpvsDest>[] = [
    { forwarding: 'DR' }, { upperThreshold: 100 }, { lowerThreshold: 5 }, { forwarding: 'TUN', tunnelType: 'ipip' },
  ]
  for (const change of changes) t.same(kinds(reconcile(TABLE, [entry(VIP, RS1, { ...RS2, ...change })], owning(TABLE))), ['edit-dest'], JSON.stringify(change))
  const cur = [entry(VIP, { ...RS1, ...tun })]
  for (const change of [{ tunnelPort: 6081 }, { tunnelChecksum: 'remcsum' }, { tunnelType: 'gre', tunnelPort: undefined }] as Partial<IpvsDest>[]) {
    t.same(kinds(reconcile(cur, [entry(VIP, { ...RS1, ...tun, ...change })], owning(cur))), ['edit-dest'], JSON.stringify(change))
  }
  const meaningless = [
    [dest('10.1.0.1', { tunnelType: 'gre', tunnelChecksum: 'csum' }), RS1],
    [dest('10.1.0.1', { forwarding: 'TUN', tunnelType: 'ipip', tunnelPort: 9, tunnelChecksum: 'csum' }), dest('10.1.0.1', { forwarding: 'TUN' })],
    [dest('10.1.0.1', { forwarding: 'TUN', tunnelType: 'gre', tunnelPort: 9, tunnelChecksum: 'nocsum' }), dest('10.1.0.1', { forwarding: 'TUN', tunnelType: 'gre' })],
  ]
  for (const [kernel, wanted] of meaningless) {
    t.same(reconcile([entry(VIP, kernel!)], [entry(VIP, wanted!)], owning()), [], 'tunnel fields that mean nothing are ignored')
  }
})

t.test('an owned destination no longer wanted is deleted; a foreign one is left alone', async (t) => {
  const foreign = dest('10.7.7.7')
  const current = [entry(VIP, RS1, RS2, { ...foreign, activeConnections: 3 })]
  t.same(reconcile(current, [entry(VIP, RS1)], owning(TABLE)), [{ kind: 'delete-dest', service: VIP.key, dest: RS2 }], 'counters are not carried')
  t.same(reconcile(current, [entry(VIP)], owning(TABLE)).map((o) => o.kind === 'delete-dest' && o.dest.address), ['10.1.0.1', '10.1.0.2'])
})

t.test('within a service, additions come before deletions (make before break)', async (t) => {
  const sorry = dest('10.9.9.9')
  const ops = reconcile(TABLE, [entry(VIP, sorry)], owning(TABLE, [entry(VIP, sorry)]))
  t.same(ops.map((o) => `${o.kind} ${'dest' in o ? o.dest.address : ''}`), ['add-dest 10.9.9.9', 'delete-dest 10.1.0.1', 'delete-dest 10.1.0.2'])
})

t.test('foreign services are never touched; owned services not wanted are deleted whole', async (t) => {
  const foreign = [entry(service(key('10.0.0.1', 81)), RS1), entry(service({ kind: 'fwmark', family: 4, fwmark: 9 }), RS2)]
  const other = entry(service(key('10.0.0.2')), RS1, RS2)
  const current = [...foreign, entry(VIP, RS1, RS2), other]
  t.same(reconcile(current, TABLE, owning(current.slice(2))), [{ kind: 'delete-service', service: other.service }], 'no delete-dest for its destinations')
  t.same(reconcile(current, [], owning()), [], 'nothing owned, nothing done')
})

t.test('shutdown deletes exactly our services', async (t) => {
  const foreign = entry(service(key('192.0.2.1')), RS1)
  const ours = [entry(VIP, RS1), entry(service({ kind: 'fwmark', family: 6, fwmark: 3 }), dest('2001:db8::7'))]
  const ops = reconcile([foreign, ...ours], [], owning(ours))
  t.same(ops, ours.map((e) => ({ kind: 'delete-service', service: e.service })))
  t.same(simulate([foreign, ...ours], ops), [foreign])
})

t.test('output follows the desired table\'s order; deletions of services come last', async (t) => {
  const a = entry(service(key('10.0.0.3')), RS1)
  const b = entry(service(key('10.0.0.2')), RS2)
  const gone = entry(service(key('10.0.0.9')))
  const ops = reconcile([gone, b], [a, b, entry(VIP)], owning([gone]))
  t.same(ops.map((o) => `${o.kind} ${serviceKeyText('key' in o.service ? o.service.key : o.service)}`), [
    'add-service [10.0.0.3]:tcp:80', 'add-dest [10.0.0.3]:tcp:80', 'add-service [10.0.0.1]:tcp:80', 'delete-service [10.0.0.9]:tcp:80',
  ])
  t.same(reconcile([gone, b], [a, b, entry(VIP)], owning([gone])), ops, 'the same input gives the same output')
})

t.test('a service repeated in the desired table: the first one\'s attributes, the union of destinations (the first of a repeated one)', async (t) => {
  const ops = reconcile([], [entry(VIP, RS1, { ...RS1, weight: 9 }), entry({ ...VIP, scheduler: 'rr' }, { ...RS1, weight: 7 }, RS2)], owning())
  t.same(ops, [{ kind: 'add-service', service: VIP }, { kind: 'add-dest', service: VIP.key, dest: RS1 }, { kind: 'add-dest', service: VIP.key, dest: RS2 }])
})

// ---------------------------------------------------------------------------
// Start-up, reload and shutdown of a real configuration

const CONFIG = (rs2: string, sched: string, extra = '') => `virtual_server_group G {
10.0.0.1-2 80
fwmark 5
}
virtual_server group G {
protocol TCP
lvs_sched ${sched}
lvs_method DR
sorry_server 10.9.0.1
real_server 10.1.0.1 {
}
${rs2}
}
${extra}`

t.test('a real configuration: start-up, a checker result, reload, shutdown', async (t) => {
  const before = loadText(CONFIG('real_server 10.1.0.2 {\n}', 'wlc', 'virtual_server 10.0.0.9 53 {\nprotocol UDP\nreal_server 10.1.0.9 53 {\n}\n}')).config.lvs
  const up = desiredTable(before, (vs) => vs.realServers.map((server) => ({ server, weight: server.weight })))
  const foreign = entry(service(key('192.0.2.1')), RS1)
  const start = reconcile([foreign], up, ownedOf(before))
  t.same(kinds(start).filter((k) => k === 'add-service').length, 4, 'three group services and one plain')
  t.same(kinds(start).filter((k) => k === 'add-dest').length, 7)
  let kernel = simulate([foreign], start)
  t.same(reconcile(kernel, up, ownedOf(before)), [], 'converged')
  const failed = desiredTable(before, (vs) => vs.realServers.slice(0, 1).map((server) => ({ server, weight: server.weight })))
  t.same(kinds(reconcile(kernel, failed, ownedOf(before))), ['delete-dest', 'delete-dest', 'delete-dest'], 'a real server down: one delete per service it was in')
  const after = loadText(CONFIG('', 'rr')).config.lvs
  const reload = reconcile(kernel, desiredTable(after, (vs) => vs.realServers.map((server) => ({ server, weight: 1 }))), mergeOwned(ownedOf(before), ownedOf(after)))
  t.same(reload.map((o) => `${o.kind} ${'dest' in o ? o.dest.address : serviceKeyText(o.service.key)}`), [
    'edit-service [10.0.0.1]:tcp:80', 'delete-dest 10.1.0.2',
    'edit-service [10.0.0.2]:tcp:80', 'delete-dest 10.1.0.2',
    'edit-service FWM 5', 'delete-dest 10.1.0.2',
    'delete-service [10.0.0.9]:udp:53',
  ])
  kernel = simulate(kernel, reload)
  t.same(reconcile(kernel, [], ownedOf(after)).map((o) => o.kind), ['delete-service', 'delete-service', 'delete-service'])
  t.same(simulate(kernel, reconcile(kernel, [], ownedOf(after))), [foreign], 'shutdown leaves only the foreign service')
})

// ---------------------------------------------------------------------------
// Properties

const ADDRESSES = ['10.0.0.1', '10.0.0.2', '2001:db8::1']
/** Other spellings of the same addresses, as a config might write them. */
const SPELLINGS: Record<string, string[]> = { '10.0.0.1': ['10.0.0.1'], '10.0.0.2': ['10.0.0.2'], '10.1.0.1': ['10.1.0.1'], '2001:db8::1': ['2001:db8::1', '2001:DB8::1', '2001:db8:0:0::1'] }
const spelled = (a: string) => fc.constantFrom(...SPELLINGS[a]!)

const keyArb: fc.Arbitrary<IpvsServiceKey> = fc.oneof(
  fc.record({ a: fc.constantFrom(...ADDRESSES), protocol: fc.constantFrom('TCP' as const, 'UDP' as const), port: fc.constantFrom(80, 443) })
    .chain(({ a, protocol, port }) => spelled(a).map((address): IpvsServiceKey => ({ kind: 'address', family: a.includes(':') ? 6 : 4, protocol, address, port }))),
  fc.record({ family: fc.constantFrom(4 as const, 6 as const), fwmark: fc.constantFrom(1, 2) }).map((r): IpvsServiceKey => ({ kind: 'fwmark', ...r })),
)
const serviceArb = (hashed: boolean) => fc.record({
  key: keyArb,
  scheduler: fc.constantFrom('rr', 'wlc'),
  flags: fc.subarray([IPVS_SVC_FLAGS.PERSISTENT, IPVS_SVC_FLAGS.ONEPACKET, IPVS_SVC_FLAGS.SCHED1, ...(hashed ? [IPVS_SVC_FLAGS.HASHED] : [])])
    .map((bits) => bits.reduce((a, b) => a | b, 0)),
  timeout: fc.constantFrom(0, 300),
  netmask: fc.constantFrom(0xffffffff, 0xffffff00, 128),
  persistenceEngine: fc.constantFrom(undefined, 'sip'),
})
const destArb = fc.record({
  a: fc.constantFrom(...ADDRESSES, '10.1.0.1'),
  port: fc.constantFrom(0, 80, 8080),
  forwarding: fc.constantFrom('NAT' as const, 'DR' as const, 'TUN' as const),
  weight: fc.constantFrom(0, 1, 5),
  upperThreshold: fc.constantFrom(0, 10),
  lowerThreshold: fc.constantFrom(0, 2),
  tunnelType: fc.constantFrom(undefined, 'ipip' as const, 'gue' as const, 'gre' as const),
  tunnelPort: fc.constantFrom(undefined, 6080),
  tunnelChecksum: fc.constantFrom(undefined, 'nocsum' as const, 'csum' as const),
}).chain(({ a, ...d }) => spelled(a).map((address): IpvsDest => ({ family: a.includes(':') ? 6 : 4, address, ...d })))
const tableArb = (hashed: boolean): fc.Arbitrary<IpvsServiceEntry[]> => fc.uniqueArray(
  fc.record({ service: serviceArb(hashed), dests: fc.uniqueArray(destArb, { maxLength: 4, selector: destId }) }),
  { maxLength: 6, selector: (e) => serviceId(e.service.key) },
)

/** Owns a random part of what either table names. */
const ownedArb = (tables: IpvsTable[]): fc.Arbitrary<Owned> => {
  const all = owning(...tables)
  return fc.record({
    services: fc.subarray([...all.services]).map((s) => new Set(s)),
    dests: fc.tuple(...[...all.dests].map(([s, ds]) => fc.subarray([...ds]).map((d) => [s, new Set(d)] as const))).map((pairs) => new Map(pairs)),
  })
}
const caseArb = fc.tuple(tableArb(true), tableArb(false)).chain(([current, desired]) => ownedArb([current, desired]).map((owned) => ({ current, desired, owned })))

t.test('property: applying the operations gives the desired table on what we own and leaves the rest alone', async (t) => {
  fc.assert(fc.property(caseArb, ({ current, desired, owned }) => {
    const result = simulate(current, reconcile(current, desired, owned))
    const got = new Map(result.map((e) => [serviceId(e.service.key), e]))
    const wanted = new Set(desired.map((e) => serviceId(e.service.key)))
    for (const w of desired) {
      const g = got.get(serviceId(w.service.key))
      if (!g || !sameService(g.service, w.service)) return false
      const gd = new Map(g.dests.map((d) => [destId(d), d]))
      if (!w.dests.every((d) => gd.has(destId(d)) && sameDest(gd.get(destId(d))!, d))) return false
      const ours = owned.dests.get(serviceId(w.service.key))
      const before = current.find((c) => serviceId(c.service.key) === serviceId(w.service.key))?.dests ?? []
      const keep = before.filter((d) => !w.dests.some((x) => destId(x) === destId(d)) && !ours?.has(destId(d)))
      if (g.dests.length !== w.dests.length + keep.length || !keep.every((d) => gd.get(destId(d)) === d)) return false
    }
    for (const c of current) {
      const id = serviceId(c.service.key)
      if (wanted.has(id)) continue
      if (owned.services.has(id) ? got.has(id) : got.get(id)?.service !== c.service || got.get(id)?.dests.length !== c.dests.length) return false
    }
    return result.length === new Set([...wanted, ...current.map((c) => serviceId(c.service.key))].filter((id) => wanted.has(id) || !owned.services.has(id))).size
  }), { numRuns: 500 })
  t.pass('500 random kernels, desired tables and owned sets')
})

t.test('property: reconcile converges, and reconcile(x, x) = []', async (t) => {
  fc.assert(fc.property(caseArb, ({ current, desired, owned }) => {
    const result = simulate(current, reconcile(current, desired, owned))
    return reconcile(result, desired, owned).length === 0 && reconcile(current, current, owned).length === 0 && reconcile(desired, desired, owned).length === 0
  }), { numRuns: 500 })
  t.pass('500 random cases')
})
