import t from 'tap'
import { NetError } from '../../src/net/errors.js'
import { findLink } from '../../src/net/links.js'
import { addRoute, addRule, deleteRoute, deleteRule } from '../../src/net/routes.js'
import { openRtnetlink, type Rtnetlink } from '../../src/net/rtnetlink.js'
import { createVmac, deleteVmac, vrrpMac } from '../../src/net/vmac.js'
import { createPair, type TestNamespace } from './ns.js'

function ok<T>(v: T | NetError): T {
  if (v instanceof NetError) throw v
  return v
}

function open(ns: TestNamespace): Rtnetlink {
  return ok(ns.enter(() => openRtnetlink()))
}

t.test('routes: add via a gateway into a table, idempotent add and delete', async (t) => {
  const { a } = createPair(t)
  const nl = open(a)
  t.teardown(() => nl.close())
  const veth = ok(await findLink(nl, 'veth-a'))
  const route = { destination: '10.32.50.0', prefixLength: 24, gateway: '10.32.1.2', index: veth.index, table: 100, metric: 7 }
  t.same(ok(await addRoute(nl, route)), { changed: true })
  t.same(ok(await addRoute(nl, route)), { changed: false, reason: 'already-present' })
  t.match(a.run(['ip', 'route', 'show', 'table', '100']).stdout, /10\.32\.50\.0\/24 via 10\.32\.1\.2 dev veth-a proto keepalived metric 7/)
  const link = { destination: 'fd32:50::', prefixLength: 64, index: veth.index }
  t.same(ok(await addRoute(nl, link)), { changed: true })
  t.match(a.run(['ip', '-6', 'route', 'show', 'fd32:50::/64']).stdout, /fd32:50::\/64 dev veth-a proto keepalived/)
  t.same(ok(await deleteRoute(nl, route)), { changed: true })
  t.same(ok(await deleteRoute(nl, route)), { changed: false, reason: 'not-present' })
  t.same(ok(await deleteRoute(nl, link)), { changed: true })
  t.equal(a.run(['ip', 'route', 'show', 'table', '100']).stdout.trim(), '')
  const unreachable = await addRoute(nl, { destination: '10.32.60.0', prefixLength: 24, gateway: '10.99.0.1' })
  t.equal((unreachable as NetError).errno?.name, 'ENETUNREACH')
})

t.test('rules: from a VIP to a table, idempotent add and delete', async (t) => {
  const { a } = createPair(t)
  const nl = open(a)
  t.teardown(() => nl.close())
  const rule = { family: 4 as const, priority: 100, table: 100, from: { address: '10.32.1.100', prefixLength: 32 } }
  t.same(ok(await addRule(nl, rule)), { changed: true })
  t.same(ok(await addRule(nl, rule)), { changed: false, reason: 'already-present' })
  t.match(a.run(['ip', 'rule', 'show']).stdout, /^100:\s+from 10\.32\.1\.100 lookup 100/m)
  const marked = { family: 6 as const, priority: 101, table: 200, fwmark: 5, oif: 'veth-a' }
  t.same(ok(await addRule(nl, marked)), { changed: true })
  t.match(a.run(['ip', '-6', 'rule', 'show']).stdout, /^101:\s+from all fwmark 0x5 oif veth-a lookup 200/m)
  t.same(ok(await deleteRule(nl, rule)), { changed: true })
  t.same(ok(await deleteRule(nl, rule)), { changed: false, reason: 'not-present' })
  t.same(ok(await deleteRule(nl, marked)), { changed: true })
  t.notMatch(a.run(['ip', 'rule', 'show']).stdout, /lookup 100/)
})

t.test('VMAC: private macvlan with the VRRP MAC, up, then deleted', async (t) => {
  const { a } = createPair(t)
  const nl = open(a)
  t.teardown(() => nl.close())
  const veth = ok(await findLink(nl, 'veth-a'))
  t.equal(vrrpMac(51), '00:00:5e:00:01:33')
  t.equal(vrrpMac(255, 6), '00:00:5e:00:02:ff')
  const t0 = performance.now()
  const made = ok(await createVmac(nl, { name: 'vrrp.51', baseIndex: veth.index, vrid: 51 }))
  t.comment(`VMAC create+up ${(performance.now() - t0).toFixed(2)} ms`)
  t.equal(made.created, true)
  t.match(made.link, { name: 'vrrp.51', mac: '00:00:5e:00:01:33', kind: 'macvlan', parentIndex: veth.index, up: true })
  const shown = a.run(['ip', '-d', 'link', 'show', 'vrrp.51']).stdout
  t.match(shown, /vrrp\.51@veth-a/)
  t.match(shown, /macvlan mode private/)
  t.match(shown, /link\/ether 00:00:5e:00:01:33/)
  t.match(shown, /[<,]UP[,>]/)
  const again = ok(await createVmac(nl, { name: 'vrrp.51', baseIndex: veth.index, vrid: 51 }))
  t.match(again, { created: false, reason: 'already-present' })
  t.same(ok(await deleteVmac(nl, 'vrrp.51')), { deleted: true })
  t.same(ok(await deleteVmac(nl, 'vrrp.51')), { deleted: false })
  t.equal(a.exec(['ip', 'link', 'show', 'vrrp.51']).status === 0, false)
})
