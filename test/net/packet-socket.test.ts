import t from 'tap'
import { NetError } from '../../src/net/errors.js'
import { interfaceIndex, openPacketSocket } from '../../src/net/packet-socket.js'
import { createPair } from './ns.js'

/** A gratuitous ARP request as keepalived sends it (reference §5.8): sender = target = the VIP. */
function garp(mac: Buffer, vip: Buffer): Buffer {
  const f = Buffer.alloc(42)
  Buffer.from('ffffffffffff', 'hex').copy(f, 0)
  mac.copy(f, 6)
  f.writeUInt16BE(0x0806, 12)
  f.writeUInt16BE(1, 14) // Ethernet
  f.writeUInt16BE(0x0800, 16) // IPv4
  f[18] = 6
  f[19] = 4
  f.writeUInt16BE(1, 20) // request
  mac.copy(f, 22)
  vip.copy(f, 28)
  Buffer.from('ffffffffffff', 'hex').copy(f, 32)
  vip.copy(f, 38)
  return f
}

t.test('a GARP sent on the packet socket in a updates the neighbour table in b', async (t) => {
  const { a, b } = createPair(t)
  const mac = Buffer.from('02aabbccdd01', 'hex')
  // A VIP that b already has an entry for (stale, other MAC) is what arp_accept=0 lets a GARP update.
  b.run(['ip', 'neigh', 'replace', '10.32.1.100', 'lladdr', '02:00:00:00:00:99', 'dev', b.interface, 'nud', 'stale'])
  const socket = a.enter(() => openPacketSocket())
  if (socket instanceof NetError) throw socket
  t.teardown(() => socket.close())
  const ifindex = a.enter(() => interfaceIndex(a.interface))
  if (ifindex instanceof NetError) throw ifindex
  const t0 = performance.now()
  t.equal(socket.send(garp(mac, Buffer.from([10, 32, 1, 100])), ifindex, a.interface), undefined)
  t.comment(`packet socket send ${((performance.now() - t0) * 1000).toFixed(0)} µs`)
  let entry = ''
  for (let i = 0; i < 50 && !entry.includes('02:aa:bb:cc:dd:01'); i++) {
    await new Promise((r) => setTimeout(r, 20))
    entry = b.run(['ip', 'neigh', 'show', '10.32.1.100', 'dev', b.interface]).stdout
  }
  t.match(entry, /lladdr 02:aa:bb:cc:dd:01/, `b learned the VIP's new MAC: ${entry.trim()}`)
})

t.test('packet socket failures are values', async (t) => {
  const { a } = createPair(t)
  const socket = a.enter(() => openPacketSocket())
  if (socket instanceof NetError) throw socket
  t.equal(socket.send(Buffer.alloc(10), 1)?.code, 'KA_NET_MALFORMED')
  const err = socket.send(Buffer.alloc(60), 9999, 'nowhere0')
  t.equal(err?.code, 'KA_NET_SEND')
  t.equal(err?.errno?.name, 'ENXIO')
  socket.close()
  socket.close()
  t.equal(socket.send(Buffer.alloc(60), 1)?.code, 'KA_NET_CLOSED')
  const missing = a.enter(() => interfaceIndex('kats-nope0'))
  t.equal((missing as NetError).code, 'KA_NET_NO_INTERFACE')
})
