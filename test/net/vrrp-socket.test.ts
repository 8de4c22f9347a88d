import t from 'tap'
import { readFile } from 'node:fs/promises'
import { buildIpv4Header } from '../../src/net/ipv4-header.js'
import { NetError } from '../../src/net/errors.js'
import { openVrrpSocket, type ReceivedVrrp, type VrrpSocket } from '../../src/net/vrrp-socket.js'
import { createPair, linkLocal, within } from './ns.js'

function must(s: VrrpSocket | NetError): VrrpSocket {
  if (s instanceof NetError) throw s
  return s
}

/** Resolve with what arrives within `ms`, so a test can also prove that nothing did. */
function collect(socket: VrrpSocket, ms: number): Promise<ReceivedVrrp[]> {
  const got: ReceivedVrrp[] = []
  socket.onPacket((p) => got.push(p))
  return new Promise((resolve) => setTimeout(() => resolve(got), ms))
}

// VRRPv2 advert from reference §5.1 (VRID 51, prio 150, PASS "secret", VIP 10.9.0.100).
const V2_ADVERT = Buffer.from('21339601010101110a0900647365637265740000', 'hex')
// VRRPv3 advert, VRID 52, prio 150, 1 s, one VIP fd32::100, checksum 0: the kernel fills it (IPV6_CHECKSUM).
const V3_IPV6_ADVERT = Buffer.from('3134960100640000fd320000000000000000000000000100', 'hex')

t.test('IPv4 multicast advert from a to b: TTL 255, source, group', async (t) => {
  const { a, b } = createPair(t)
  const sender = must(a.enter(() => openVrrpSocket({ interface: a.interface, family: 4, mode: 'multicast', source: a.ipv4 })))
  const receiver = must(b.enter(() => openVrrpSocket({ interface: b.interface, family: 4, mode: 'multicast' })))
  t.teardown(() => {
    sender.close()
    receiver.close()
  })
  const got = within<ReceivedVrrp>(2000, 'advert on b', (resolve) => receiver.onPacket(resolve))
  const t0 = performance.now()
  t.equal(sender.send(V2_ADVERT, '224.0.0.18'), undefined)
  const p = await got
  t.comment(`IPv4 multicast send→receive ${(performance.now() - t0).toFixed(2)} ms`)
  t.equal(p.ttlOrHopLimit, 255)
  t.equal(p.src, '10.32.1.1')
  t.equal(p.dst, '224.0.0.18')
  t.equal(p.interface, 'veth-b')
  t.equal(p.ifindex, receiver.ifindex)
  t.same(p.payload, V2_ADVERT)
  t.equal(p.ipTotalLength, 20 + V2_ADVERT.length)
  t.equal(p.ipPacket?.length, 20 + V2_ADVERT.length)
  t.equal(p.ahPresent, false)
  t.equal(p.ipPacket?.[1], 0xc0, 'TOS 0xc0 as keepalived')

  // Steady state: one advert at a time, send to handler.
  const times: number[] = []
  for (let i = 0; i < 20; i++) {
    let unsubscribe = (): void => {}
    const next = within<ReceivedVrrp>(2000, `advert ${i}`, (resolve) => (unsubscribe = receiver.onPacket(resolve)))
    const start = performance.now()
    sender.send(V2_ADVERT, '224.0.0.18')
    await next
    times.push(performance.now() - start)
    unsubscribe()
  }
  // Removed receivers get nothing more.
  let late = 0
  receiver.onPacket(() => late++)()
  sender.send(V2_ADVERT, '224.0.0.18')
  await new Promise((r) => setTimeout(r, 100))
  t.equal(late, 0)
  times.sort((x, y) => x - y)
  t.comment(`IPv4 send→handler, 20 adverts: median ${times[10]!.toFixed(3)} ms, max ${times[19]!.toFixed(3)} ms`)
})

t.test('IPv6 multicast advert: hop limit 255, destination ff02::12, link-local source, ifindex', async (t) => {
  const { a, b } = createPair(t)
  const source = linkLocal(a)
  const sender = must(a.enter(() => openVrrpSocket({ interface: a.interface, family: 6, mode: 'multicast', source })))
  const receiver = must(b.enter(() => openVrrpSocket({ interface: b.interface, family: 6, mode: 'multicast' })))
  t.teardown(() => {
    sender.close()
    receiver.close()
  })
  const bIndex = Number(/^(\d+):/.exec(b.run(['ip', '-o', 'link', 'show', b.interface]).stdout)![1])
  const got = within<ReceivedVrrp>(2000, 'IPv6 advert on b', (resolve) => receiver.onPacket(resolve))
  const t0 = performance.now()
  t.equal(sender.send(V3_IPV6_ADVERT, 'ff02::12'), undefined)
  const p = await got
  t.comment(`IPv6 multicast send→receive ${(performance.now() - t0).toFixed(2)} ms`)
  t.equal(p.family, 6)
  t.equal(p.ttlOrHopLimit, 255)
  t.equal(p.dst, 'ff02::12')
  t.equal(p.src, source)
  t.equal(p.ifindex, bIndex)
  t.equal(p.payload.length, V3_IPV6_ADVERT.length)
  t.not(p.payload.readUInt16BE(6), 0, 'the kernel filled in the checksum')
  t.same(p.payload.subarray(8), V3_IPV6_ADVERT.subarray(8))
})

t.test('IPv4 unicast: sent to the peer, seen by its unicast socket and not by a multicast-only one', async (t) => {
  const { a, b } = createPair(t)
  const sender = must(a.enter(() => openVrrpSocket({ interface: a.interface, family: 4, mode: 'unicast', source: a.ipv4 })))
  const unicast = must(b.enter(() => openVrrpSocket({ interface: b.interface, family: 4, mode: 'unicast' })))
  t.teardown(() => {
    sender.close()
    unicast.close()
  })
  const got = collect(unicast, 400)
  t.equal(sender.send(V2_ADVERT, b.ipv4), undefined)
  // A multicast advert must not reach a unicast socket (IP_MULTICAST_ALL off, no group joined).
  const multicastSender = must(a.enter(() => openVrrpSocket({ interface: a.interface, family: 4, mode: 'multicast', source: a.ipv4 })))
  t.teardown(() => multicastSender.close())
  t.equal(multicastSender.send(V2_ADVERT, '224.0.0.18'), undefined)
  const packets = await got
  t.equal(packets.length, 1, 'exactly the unicast advert')
  t.equal(packets[0]?.dst, '10.32.1.2')
  t.equal(packets[0]?.src, '10.32.1.1')
  t.equal(packets[0]?.ttlOrHopLimit, 255)
})

t.test('IPv6 unicast to the peer global address, with a lower hop limit', async (t) => {
  const { a, b } = createPair(t)
  const sender = must(a.enter(() => openVrrpSocket({ interface: a.interface, family: 6, mode: 'unicast', source: a.ipv6, ttl: 64 })))
  const receiver = must(b.enter(() => openVrrpSocket({ interface: b.interface, family: 6, mode: 'unicast' })))
  t.teardown(() => {
    sender.close()
    receiver.close()
  })
  const got = within<ReceivedVrrp>(2000, 'IPv6 unicast advert', (resolve) => receiver.onPacket(resolve))
  const t0 = performance.now()
  t.equal(sender.send(V3_IPV6_ADVERT, b.ipv6), undefined)
  const p = await got
  t.comment(`IPv6 unicast send→receive (with neighbour discovery) ${(performance.now() - t0).toFixed(2)} ms`)
  t.equal(p.src, 'fd32::1')
  t.equal(p.dst, 'fd32::2')
  t.equal(p.ttlOrHopLimit, 64)
})

t.test('failures are NetError values with codes and errno', async (t) => {
  const { a } = createPair(t)
  const missing = a.enter(() => openVrrpSocket({ interface: 'kats-nope0', family: 4, mode: 'multicast' }))
  t.ok(missing instanceof NetError)
  t.equal((missing as NetError).code, 'KA_NET_NO_INTERFACE')
  t.equal((missing as NetError).interface, 'kats-nope0')

  const badSource = a.enter(() => openVrrpSocket({ interface: a.interface, family: 4, mode: 'multicast', source: 'fd32::1' }))
  t.equal((badSource as NetError).code, 'KA_NET_INVALID_ADDRESS')

  const noSource = must(a.enter(() => openVrrpSocket({ interface: a.interface, family: 4, mode: 'unicast' })))
  t.equal(noSource.send(V2_ADVERT, '10.32.1.2')?.code, 'KA_NET_INVALID_ADDRESS')
  noSource.close()
  noSource.close()
  t.equal(noSource.send(V2_ADVERT, '10.32.1.2')?.code, 'KA_NET_CLOSED')

  // A datagram over 64 KiB: the kernel's errno comes back as a value, not a throw.
  const s = must(a.enter(() => openVrrpSocket({ interface: a.interface, family: 4, mode: 'unicast', source: a.ipv4 })))
  t.teardown(() => s.close())
  const err = s.send(Buffer.alloc(70_000), '10.32.1.2')
  t.equal(err?.code, 'KA_NET_SEND')
  t.equal(err?.errno?.name, 'EMSGSIZE')
  t.equal(err?.errno?.number, 90)
  t.equal(err?.interface, 'veth-a')
  t.equal(err?.address, '10.32.1.2')
})

t.test('IPv4 AH adverts (IP protocol 51) are received with the AH header split off', async (t) => {
  const { a, b } = createPair(t)
  const sender = must(a.enter(() => openVrrpSocket({ interface: a.interface, family: 4, mode: 'multicast', source: a.ipv4 })))
  const receiver = must(b.enter(() => openVrrpSocket({ interface: b.interface, family: 4, mode: 'multicast', authenticationHeader: true })))
  t.teardown(() => {
    sender.close()
    receiver.close()
  })
  // RFC 4302 AH: next header 112, payload length 4 (24 bytes), SPI = sender, sequence 1, 12-byte ICV.
  const ah = Buffer.alloc(24)
  ah[0] = 112
  ah[1] = 4
  Buffer.from([10, 32, 1, 1]).copy(ah, 4)
  ah.writeUInt32BE(1, 8)
  const header = buildIpv4Header({ source: Buffer.from([10, 32, 1, 1]), destination: Buffer.from([224, 0, 0, 18]), payloadLength: 24 + V2_ADVERT.length, id: 7, protocol: 51 })
  const got = within<ReceivedVrrp>(2000, 'AH advert', (resolve) => receiver.onPacket(resolve))
  t.equal(sender.sendIpv4Packet(Buffer.concat([header, ah, V2_ADVERT]), '224.0.0.18'), undefined)
  const p = await got
  t.equal(p.ahPresent, true)
  t.same(p.ah, ah)
  t.same(p.payload, V2_ADVERT)
  t.equal(p.ipPacket?.[9], 51)
  t.equal(p.ipPacket?.readUInt16BE(4), 7, 'the caller-built header went out as is')
  t.equal(sender.sendIpv4Packet(Buffer.alloc(28), 'ff02::12')?.code, 'KA_NET_INVALID_ADDRESS')
})

t.test('a throwing packet handler is reported on onError and the socket keeps receiving', async (t) => {
  const { a, b } = createPair(t)
  const sender = must(a.enter(() => openVrrpSocket({ interface: a.interface, family: 4, mode: 'multicast', source: a.ipv4 })))
  const receiver = must(b.enter(() => openVrrpSocket({ interface: b.interface, family: 4, mode: 'multicast' })))
  t.teardown(() => {
    sender.close()
    receiver.close()
  })
  const errors: NetError[] = []
  receiver.onError((e) => errors.push(e))
  let calls = 0
  receiver.onPacket(() => {
    calls++
    throw new Error('handler bug')
  })
  const second = within<ReceivedVrrp>(2000, 'the second advert', (resolve) => receiver.onPacket((p) => calls === 2 && resolve(p)))
  sender.send(V2_ADVERT, '224.0.0.18')
  sender.send(V2_ADVERT, '224.0.0.18')
  await second
  t.equal(calls, 2)
  t.equal(errors.length, 2)
  t.equal(errors[0]?.code, 'KA_NET_HANDLER')
  t.equal((errors[0]?.cause as Error).message, 'handler bug')
})

t.test('many open sockets hold one threadpool thread, not one each', async (t) => {
  const { a } = createPair(t)
  const sockets: VrrpSocket[] = []
  for (let i = 0; i < 12; i++) {
    const family = i % 2 === 0 ? 4 : 6
    sockets.push(must(a.enter(() => openVrrpSocket({ interface: a.interface, family, mode: i % 4 < 2 ? 'multicast' : 'unicast' }))))
  }
  t.teardown(() => sockets.forEach((s) => s.close()))
  // With a blocking recvmsg per socket these reads would queue behind 12 busy threads forever.
  const t0 = performance.now()
  await within(2000, 'fs reads on the threadpool', (resolve) => {
    void Promise.all(Array.from({ length: 8 }, () => readFile('/proc/self/stat'))).then(() => resolve(undefined))
  })
  t.comment(`8 threadpool fs reads with 12 sockets open: ${(performance.now() - t0).toFixed(2)} ms`)
  t.pass('the threadpool stayed available')
})
