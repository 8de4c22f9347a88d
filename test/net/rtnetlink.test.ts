import t from 'tap'
import { NetError } from '../../src/net/errors.js'
import { addAddress, deleteAddress, linkLocalIpv6, listAddresses, primaryIpv4 } from '../../src/net/addresses.js'
import { watchNetworkEvents, type NetworkEvent } from '../../src/net/events.js'
import { findLink, listLinks, setLinkUp, type Link } from '../../src/net/links.js'
import { openRtnetlink, type Rtnetlink } from '../../src/net/rtnetlink.js'
import { createPair, linkLocal, within, type TestNamespace } from './ns.js'

function ok<T>(v: T | NetError): T {
  if (v instanceof NetError) throw v
  return v
}

function open(ns: TestNamespace): Rtnetlink {
  return ok(ns.enter(() => openRtnetlink()))
}

/** Collect events until `done` says so, bounded by `ms`. */
function until(events: NetworkEvent[], ms: number, what: string, done: (all: NetworkEvent[]) => boolean): Promise<void> {
  return within<void>(ms, what, (resolve) => {
    const tick = setInterval(() => {
      if (done(events)) {
        clearInterval(tick)
        resolve()
      }
    }, 5)
    setTimeout(() => clearInterval(tick), ms + 10)
  })
}

t.test('links: name, index, MAC, up/running, mtu, kind', async (t) => {
  const { a } = createPair(t)
  const nl = open(a)
  t.teardown(() => nl.close())
  const links = ok(await listLinks(nl))
  t.same(links.map((l) => l.name).sort(), ['lo', 'veth-a'])
  const veth = ok(await findLink(nl, 'veth-a'))
  const shown = a.run(['ip', '-o', 'link', 'show', 'veth-a']).stdout
  t.equal(veth.index, Number(/^(\d+):/.exec(shown)![1]))
  t.equal(veth.mac, /link\/ether ([0-9a-f:]+)/.exec(shown)![1])
  t.equal(veth.up, true)
  t.equal(veth.running, true)
  t.equal(veth.noArp, false)
  t.equal(veth.mtu, 1500)
  t.equal(veth.kind, 'veth')
  a.run(['ip', 'link', 'set', 'veth-a', 'arp', 'off'])
  t.equal(ok(await findLink(nl, 'veth-a')).noArp, true, 'IFF_NOARP: no GARP on this interface')
  t.equal((await findLink(nl, 'kats-nope0') as NetError).code, 'KA_NET_NO_INTERFACE')
})

t.test('addresses: primary IPv4, link-local IPv6, add/delete with label, idempotent, events', async (t) => {
  const { a } = createPair(t)
  const nl = open(a)
  t.teardown(() => nl.close())
  const veth = ok(await findLink(nl, 'veth-a'))
  const events: NetworkEvent[] = []
  const errors: NetError[] = []
  const watcher = ok(a.enter(() => watchNetworkEvents((e) => events.push(e), (e) => errors.push(e))))
  t.teardown(() => watcher.close())

  const before = ok(await listAddresses(nl))
  t.equal(primaryIpv4(before, veth.index), '10.32.1.1')
  t.equal(linkLocalIpv6(before, veth.index), linkLocal(a))
  t.equal(ok(await listAddresses(nl, 6)).every((x) => x.family === 6), true)

  const vip = { index: veth.index, interface: 'veth-a', address: '10.32.1.100', prefixLength: 24, label: 'veth-a:vip' }
  let t0 = performance.now()
  t.same(ok(await addAddress(nl, vip)), { changed: true })
  t.comment(`RTM_NEWADDR ${(performance.now() - t0).toFixed(2)} ms`)
  t.same(ok(await addAddress(nl, vip)), { changed: false, reason: 'already-present' })
  t.match(a.run(['ip', '-o', '-4', 'addr', 'show', 'dev', 'veth-a']).stdout, /inet 10\.32\.1\.100\/24 .*scope global secondary veth-a:vip/)
  const after = ok(await listAddresses(nl, 4))
  const listed = after.find((x) => x.address === '10.32.1.100')
  t.equal(listed?.label, 'veth-a:vip')
  t.equal(listed?.secondary, true)
  t.equal(primaryIpv4(after, veth.index), '10.32.1.1', 'a VIP is never the primary address')

  const vip6 = { index: veth.index, interface: 'veth-a', address: 'fd32::100', prefixLength: 64, noDad: true }
  t.same(ok(await addAddress(nl, vip6)), { changed: true })
  t.match(a.run(['ip', '-o', '-6', 'addr', 'show', 'dev', 'veth-a']).stdout, /inet6 fd32::100\/64 scope global nodad/)

  await until(events, 2000, 'NEWADDR events', (all) => all.some((e) => e.type === 'address' && e.change === 'added' && e.address === 'fd32::100'))
  const added4 = events.find((e) => e.type === 'address' && e.address === '10.32.1.100')
  t.match(added4, { type: 'address', change: 'added', family: 4, prefixLength: 24, label: 'veth-a:vip', interface: 'veth-a', index: veth.index })

  t0 = performance.now()
  t.same(ok(await deleteAddress(nl, vip)), { changed: true })
  t.comment(`RTM_DELADDR ${(performance.now() - t0).toFixed(2)} ms`)
  t.same(ok(await deleteAddress(nl, vip)), { changed: false, reason: 'not-present' })
  t.same(ok(await deleteAddress(nl, vip6)), { changed: true })
  t.same(ok(await deleteAddress(nl, vip6)), { changed: false, reason: 'not-present' })
  t.notMatch(a.run(['ip', '-o', 'addr', 'show', 'dev', 'veth-a']).stdout, /10\.32\.1\.100|fd32::100/)
  await until(events, 2000, 'DELADDR events', (all) => all.some((e) => e.type === 'address' && e.change === 'removed' && e.address === 'fd32::100'))
  t.match(events.find((e) => e.type === 'address' && e.change === 'removed' && e.address === '10.32.1.100'), { family: 4, label: 'veth-a:vip' })
  t.same(errors, [])

  const bad = await addAddress(nl, { index: 9999, address: '10.32.1.101', prefixLength: 24 })
  t.equal((bad as NetError).code, 'KA_NET_NETLINK')
  t.equal((bad as NetError).errno?.name, 'ENODEV')
  t.equal((bad as NetError).address, '10.32.1.101/24')
  const garbage = await addAddress(nl, { index: veth.index, address: 'not-an-ip', prefixLength: 24 })
  t.equal((garbage as NetError).code, 'KA_NET_INVALID_ADDRESS')
})

t.test('link down/up events carry the state, from ip(8) and from setLinkUp', async (t) => {
  const { a } = createPair(t)
  const nl = open(a)
  t.teardown(() => nl.close())
  const events: NetworkEvent[] = []
  const watcher = ok(a.enter(() => watchNetworkEvents((e) => events.push(e), (e) => t.fail(e.message))))
  t.teardown(() => watcher.close())
  const linkEvents = (): Link[] => events.filter((e) => e.type === 'link' && e.name === 'veth-a') as Link[]

  a.run(['ip', 'link', 'set', 'veth-a', 'down'])
  await until(events, 2000, 'link down event', () => linkEvents().some((l) => !l.up))
  t.match(linkEvents().at(-1), { name: 'veth-a', up: false, running: false })

  const veth = ok(await findLink(nl, 'veth-a'))
  t.equal(veth.up, false)
  t.equal(await setLinkUp(nl, veth, true), undefined)
  await until(events, 2000, 'link up event', () => linkEvents().at(-1)?.up === true)
  t.match(linkEvents().at(-1), { type: 'link', change: 'changed', name: 'veth-a', up: true, index: veth.index })
  t.match(a.run(['ip', '-o', 'link', 'show', 'veth-a']).stdout, /[<,]UP[,>]/)
})
