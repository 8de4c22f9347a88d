/**
 * The IPVS generic netlink codec against layouts computed by hand from uapi
 * linux/ip_vs.h (x86: host order is little-endian), decode(encode(x)) round
 * trips, and malformed replies (errors, never throws).
 */
import { endianness } from 'node:os'
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import t from 'tap'
import { NetError } from '../../src/net/errors.js'
import { addressText } from '../../src/net/ip-address.js'
import {
  decodeDaemon, decodeDest, decodeFamily, decodeInfo, decodeService, decodeTimeouts, encodeGetFamily, encodeRequest, IPVS_CMD,
  type EncodedRequest, type IpvsRequest,
} from '../../src/net/ipvs-codec.js'
import { IPVS_SVC_FLAGS, type IpvsDest, type IpvsService, type IpvsServiceKey, type IpvsSyncDaemon } from '../../src/net/ipvs-types.js'

/** Hex with spaces and line breaks allowed. */
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

function encoded(req: IpvsRequest): EncodedRequest {
  const e = encodeRequest(req)
  if (e instanceof NetError) throw e
  return e
}

/** One attribute, for building replies the way the kernel does (no NLA_F_NESTED on nests). */
function nla(type: number, data: Buffer): Buffer {
  const out = Buffer.alloc((4 + data.length + 3) & ~3)
  out.writeUInt16LE(4 + data.length, 0)
  out.writeUInt16LE(type, 2)
  data.copy(out, 4)
  return out
}
const le32 = (v: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(v)
  return b
}
const le16 = (v: number): Buffer => {
  const b = Buffer.alloc(2)
  b.writeUInt16LE(v)
  return b
}

const web: IpvsServiceKey = { kind: 'address', family: 4, protocol: 'TCP', address: '10.0.0.1', port: 80 }
const webService: IpvsService = { key: web, scheduler: 'wlc', flags: 0, timeout: 0, netmask: 0xffffffff, persistenceEngine: undefined }
const nat: IpvsDest = {
  family: 4, address: '192.168.1.2', port: 8080, forwarding: 'NAT', weight: 1, upperThreshold: 0, lowerThreshold: 0,
  tunnelType: undefined, tunnelPort: undefined, tunnelChecksum: undefined,
}

// The service nest of `web`, key only: AF 2, PROTOCOL 6, ADDR 10.0.0.1 (16 bytes), PORT 80 big-endian.
const webKeyAttrs = `
  06000100 02000000
  06000200 06000000
  14000300 0a000001 00000000 00000000 00000000
  06000400 00500000`

t.test('the host is little-endian, as the hand-computed layouts below assume', async (t) => {
  t.equal(endianness(), 'LE')
})

t.test('NEW_SERVICE TCP 10.0.0.1:80 wlc: every attribute the kernel requires, flags {0, ~0}, netmask /32', async (t) => {
  const e = encoded({ command: 'NEW_SERVICE', service: webService })
  t.equal(e.cmd, 1)
  t.equal(e.dump, false)
  t.equal(e.operation, 'IPVS_CMD_NEW_SERVICE')
  t.equal(e.subject, '[10.0.0.1]:tcp:80')
  t.equal(e.payload.toString('hex'), hex(`
    54000180 ${webKeyAttrs}
    08000600 776c6300
    0c000700 00000000 ffffffff
    08000800 00000000
    08000900 ffffffff`).toString('hex'))
  t.equal(encoded({ command: 'SET_SERVICE', service: webService }).cmd, 2)
})

t.test('NEW_SERVICE IPv4 persistence: PERSISTENT|ONEPACKET, 360 s, granularity 255.255.255.0 in network order, sip engine', async (t) => {
  const e = encoded({
    command: 'NEW_SERVICE',
    service: { key: { ...web, protocol: 'UDP', port: 5060 }, scheduler: 'sh', flags: 0x1 | 0x4 | 0x8, timeout: 360, netmask: 0xffffff00, persistenceEngine: 'sip' },
  })
  t.equal(e.payload.toString('hex'), hex(`
    5c000180
    06000100 02000000
    06000200 11000000
    14000300 0a000001 00000000 00000000 00000000
    06000400 13c40000
    07000600 73680000
    08000b00 73697000
    0c000700 0d000000 ffffffff
    08000800 68010000
    08000900 ffffff00`).toString('hex'))
})

t.test('NEW_SERVICE IPv6 fwmark 5 rr persistent 300 s: FWMARK instead of protocol/address/port, prefix length host order', async (t) => {
  const e = encoded({
    command: 'NEW_SERVICE',
    service: { key: { kind: 'fwmark', family: 6, fwmark: 5 }, scheduler: 'rr', flags: IPVS_SVC_FLAGS.PERSISTENT, timeout: 300, netmask: 64, persistenceEngine: undefined },
  })
  t.equal(e.subject, 'FWM 5')
  t.equal(e.payload.toString('hex'), hex(`
    38000180
    06000100 0a000000
    08000500 05000000
    07000600 72720000
    0c000700 01000000 ffffffff
    08000800 2c010000
    08000900 40000000`).toString('hex'))
})

t.test('NEW_DEST TUN gue port 6080 csum: service key nest + dest nest with ADDR_FAMILY, TUN_TYPE, TUN_PORT (network order), TUN_FLAGS', async (t) => {
  const e = encoded({
    command: 'NEW_DEST',
    key: web,
    dest: { ...nat, port: 80, forwarding: 'TUN', weight: 100, tunnelType: 'gue', tunnelPort: 6080, tunnelChecksum: 'csum' },
  })
  t.equal(e.cmd, 5)
  t.equal(e.subject, '[10.0.0.1]:tcp:80 real server [192.168.1.2]:80')
  t.equal(e.payload.toString('hex'), hex(`
    30000180 ${webKeyAttrs}
    60000280
    06000b00 02000000
    14000100 c0a80102 00000000 00000000 00000000
    06000200 00500000
    08000300 02000000
    08000400 64000000
    05000d00 01000000
    06000e00 17c00000
    06000f00 01000000
    08000500 00000000
    08000600 00000000`).toString('hex'))
})

t.test('NEW_DEST NAT, DR, TUN ipip and gre: tunnel attributes only for TUN, TUN_PORT only for gue', async (t) => {
  const head = `30000180 ${webKeyAttrs}`
  const natDest = encoded({ command: 'SET_DEST', key: web, dest: { ...nat, weight: 0, upperThreshold: 100, lowerThreshold: 50 } })
  t.equal(natDest.cmd, 6)
  t.equal(natDest.payload.toString('hex'), hex(`${head}
    48000280
    06000b00 02000000
    14000100 c0a80102 00000000 00000000 00000000
    06000200 1f900000
    08000300 00000000
    08000400 00000000
    08000500 64000000
    08000600 32000000`).toString('hex'))
  const dr = encoded({ command: 'NEW_DEST', key: web, dest: { ...nat, port: 80, forwarding: 'DR' } })
  t.equal(dr.payload.subarray(48 + 4 + 36, 48 + 4 + 44).toString('hex'), '0800030003000000', 'FWD_METHOD 3')
  const ipip = encoded({ command: 'NEW_DEST', key: web, dest: { ...nat, port: 80, forwarding: 'TUN', tunnelType: 'ipip' } })
  t.equal(ipip.payload.subarray(48).readUInt16LE(0), 4 + 68 + 8, 'one more attribute: TUN_TYPE')
  t.equal(ipip.payload.subarray(48 + 4 + 52, 48 + 4 + 60).toString('hex'), '05000d0000000000')
  const gre = encoded({ command: 'NEW_DEST', key: web, dest: { ...nat, port: 80, forwarding: 'TUN', tunnelType: 'gre', tunnelChecksum: 'remcsum' } })
  t.equal(gre.payload.subarray(48 + 4 + 52, 48 + 4 + 68).toString('hex'), '05000d000200000006000f0002000000', 'TUN_TYPE gre, TUN_FLAGS remcsum')
  const v4inV6 = encoded({
    command: 'NEW_DEST',
    key: { ...web, family: 6, address: '2001:db8::1' },
    dest: { ...nat, port: 80, forwarding: 'TUN', tunnelType: 'ipip' },
  })
  t.match(v4inV6.payload.subarray(48).toString('hex'), /^5000028006000b0002000000/, 'an IPv4 real server in an IPv6 service says AF_INET')
})

t.test('DEL_DEST, DEL_SERVICE and GET_DEST carry keys only; GET_* are dumps; FLUSH, GET_INFO, GET_CONFIG are empty', async (t) => {
  const del = encoded({ command: 'DEL_DEST', key: web, dest: { family: 4, address: '192.168.1.2', port: 8080 } })
  t.equal(del.cmd, 7)
  t.equal(del.payload.toString('hex'), hex(`30000180 ${webKeyAttrs}
    28000280
    06000b00 02000000
    14000100 c0a80102 00000000 00000000 00000000
    06000200 1f900000`).toString('hex'))
  t.equal(encoded({ command: 'DEL_SERVICE', key: web }).payload.toString('hex'), hex(`30000180 ${webKeyAttrs}`).toString('hex'))
  const getDest = encoded({ command: 'GET_DEST', key: web })
  t.same([getDest.cmd, getDest.dump], [8, true])
  t.equal(getDest.payload.toString('hex'), hex(`30000180 ${webKeyAttrs}`).toString('hex'))
  for (const [command, cmd, dump] of [['GET_SERVICE', 4, true], ['GET_DAEMON', 11, true], ['GET_INFO', 15, false], ['GET_CONFIG', 13, false], ['FLUSH', 17, false]] as const) {
    const e = encoded({ command })
    t.same([e.cmd, e.dump, e.payload.length, e.operation], [cmd, dump, 0, `IPVS_CMD_${command}`], command)
  }
})

t.test('SET_CONFIG timeouts are top-level u32s; NEW_DAEMON / DEL_DAEMON nests', async (t) => {
  const config = encoded({ command: 'SET_CONFIG', timeouts: { tcp: 900, tcpFin: 120, udp: 300 } })
  t.equal(config.cmd, 12)
  t.equal(config.payload.toString('hex'), hex('08000400 84030000 08000500 78000000 08000600 2c010000').toString('hex'))
  const start = encoded({
    command: 'NEW_DAEMON',
    daemon: { state: 'master', interface: 'eth0', syncId: 7, maxLength: 1472, port: 8848, ttl: 1, group: '224.0.0.81' },
  })
  t.equal(start.cmd, 9)
  t.equal(start.payload.toString('hex'), hex(`
    40000380
    08000100 01000000
    09000200 65746830 00000000
    08000300 07000000
    06000400 c0050000
    06000700 90220000
    05000800 01000000
    08000500 e0000051`).toString('hex'))
  const six = encoded({ command: 'NEW_DAEMON', daemon: { state: 'backup', interface: 'eth1', syncId: 0, maxLength: undefined, port: undefined, ttl: undefined, group: 'ff02::1:1' } })
  t.equal(six.payload.toString('hex'), hex(`
    34000380
    08000100 02000000
    09000200 65746831 00000000
    08000300 00000000
    14000600 ff020000 00000000 00000000 00010001`).toString('hex'))
  const stop = encoded({ command: 'DEL_DAEMON', state: 'backup' })
  t.same([stop.cmd, stop.payload.toString('hex')], [10, '0c00038008000100' + '02000000'])
})

t.test('CTRL_CMD_GETFAMILY asks for "IPVS" by name', async (t) => {
  t.equal(encodeGetFamily('IPVS').toString('hex'), '0900020049505653' + '00000000')
  const reply = Buffer.concat([nla(2, Buffer.from('IPVS\0')), nla(1, le16(0x1d)), nla(3, le32(1)), nla(6, Buffer.alloc(40))])
  t.same(decodeFamily(reply), { id: 0x1d, version: 1 })
  t.equal((decodeFamily(nla(2, Buffer.from('IPVS\0'))) as NetError).code, 'KA_NET_MALFORMED')
})

t.test('values a message cannot carry are errors, not throws', async (t) => {
  const cases: [IpvsRequest, string, RegExp][] = [
    [{ command: 'NEW_SERVICE', service: { ...webService, scheduler: 'a-very-long-scheduler' } }, 'KA_NET_INVALID_ARGUMENT', /scheduler/],
    [{ command: 'NEW_SERVICE', service: { ...webService, scheduler: '' } }, 'KA_NET_INVALID_ARGUMENT', /scheduler/],
    [{ command: 'NEW_SERVICE', service: { ...webService, key: { ...web, address: 'fd00::1' } } }, 'KA_NET_INVALID_ADDRESS', /not an IPv4 address/],
    [{ command: 'NEW_SERVICE', service: { ...webService, key: { ...web, port: 65536 } } }, 'KA_NET_INVALID_ARGUMENT', /port/],
    [{ command: 'NEW_SERVICE', service: { ...webService, key: { kind: 'fwmark', family: 4, fwmark: 0 } } }, 'KA_NET_INVALID_ARGUMENT', /fwmark/],
    [{ command: 'NEW_SERVICE', service: { ...webService, key: { kind: 'fwmark', family: 6, fwmark: 1 }, netmask: 129 } }, 'KA_NET_INVALID_ARGUMENT', /prefix/],
    [{ command: 'NEW_SERVICE', service: { ...webService, key: { ...web, protocol: 'ICMP' as 'TCP' } } }, 'KA_NET_INVALID_ARGUMENT', /protocol/],
    [{ command: 'NEW_DEST', key: web, dest: { ...nat, weight: -1 } }, 'KA_NET_INVALID_ARGUMENT', /weight/],
    [{ command: 'NEW_DEST', key: web, dest: { ...nat, weight: 2 ** 31 } }, 'KA_NET_INVALID_ARGUMENT', /weight/],
    [{ command: 'NEW_DEST', key: web, dest: { ...nat, forwarding: 'TUN', tunnelType: 'gue' } }, 'KA_NET_INVALID_ARGUMENT', /gue tunnel needs a port/],
    [{ command: 'NEW_DEST', key: web, dest: { ...nat, address: 'rs1.example' } }, 'KA_NET_INVALID_ADDRESS', /rs1.example/],
    [{ command: 'NEW_DAEMON', daemon: { state: 'master', interface: 'eth0', syncId: 256, maxLength: undefined, port: undefined, ttl: undefined, group: undefined } }, 'KA_NET_INVALID_ARGUMENT', /sync id/],
    [{ command: 'NEW_DAEMON', daemon: { state: 'master', interface: 'eth0', syncId: 1, maxLength: undefined, port: undefined, ttl: undefined, group: '224.0.0' } }, 'KA_NET_INVALID_ADDRESS', /224.0.0/],
    [{ command: 'SET_CONFIG', timeouts: { tcp: 1.5, tcpFin: 0, udp: 0 } }, 'KA_NET_INVALID_ARGUMENT', /tcp timeout/],
  ]
  for (const [req, code, message] of cases) {
    const e = encodeRequest(req)
    t.ok(e instanceof NetError, message.source)
    t.equal((e as NetError).code, code, message.source)
    t.match((e as NetError).message, message)
    t.equal((e as NetError).operation, `IPVS_CMD_${req.command}`)
  }
  t.equal((encodeRequest({ command: 'NEW_DEST', key: web, dest: { ...nat, weight: -1 } }) as NetError).address, '[10.0.0.1]:tcp:80 real server [192.168.1.2]:8080')
})

// ─── Replies as the kernel builds them ───────────────────────────────────────

const stats = nla(10, Buffer.concat([nla(1, le32(7)), nla(2, le32(70)), nla(4, Buffer.alloc(8))]))

t.test('a GET_SERVICE dump entry: HASHED dropped, stats and unknown attributes skipped, nest without NLA_F_NESTED', async (t) => {
  const entry = nla(1, Buffer.concat([
    nla(1, le16(2)), nla(2, le16(6)), nla(3, hex('0a000001 00000000 00000000 00000000')), nla(4, hex('0050')),
    nla(6, Buffer.from('wlc\0')), nla(7, Buffer.concat([le32(0x3), le32(0xffffffff)])), nla(8, le32(360)), nla(9, hex('ffffff00')),
    stats, nla(12, Buffer.alloc(84)), nla(99, Buffer.from('future')),
  ]))
  t.same(decodeService(entry), { ...webService, flags: IPVS_SVC_FLAGS.PERSISTENT, timeout: 360, netmask: 0xffffff00 })
  const fwmark = nla(1, Buffer.concat([nla(1, le16(10)), nla(5, le32(42)), nla(6, Buffer.from('mh\0')), nla(11, Buffer.from('sip\0')), nla(7, Buffer.concat([le32(0x12), le32(~0 >>> 0)])), nla(8, le32(0)), nla(9, le32(128))]))
  t.same(decodeService(fwmark), { key: { kind: 'fwmark', family: 6, fwmark: 42 }, scheduler: 'mh', flags: IPVS_SVC_FLAGS.SCHED2, timeout: 0, netmask: 128, persistenceEngine: 'sip' })
})

t.test('a GET_DEST dump entry: counters read, tunnel attributes ignored unless TUN', async (t) => {
  const dest = (fwd: number, tunType: number, tunPort: string, tunFlags: number): Buffer => nla(2, Buffer.concat([
    nla(1, hex('c0a80102 00000000 00000000 00000000')), nla(2, hex('1f90')), nla(3, le32(fwd)), nla(4, le32(3)), nla(5, le32(0)), nla(6, le32(0)),
    nla(7, le32(11)), nla(8, le32(22)), nla(9, le32(33)), stats, nla(11, le16(2)), nla(13, Buffer.of(tunType)), nla(14, hex(tunPort)), nla(15, le16(tunFlags)),
  ]))
  const counters = { activeConnections: 11, inactiveConnections: 22, persistentConnections: 33 }
  t.same(decodeDest(dest(0, 0, '0000', 0)), { ...nat, weight: 3, ...counters })
  t.same(decodeDest(dest(0x100 | 3, 1, '17c0', 1)), { ...nat, weight: 3, forwarding: 'DR', ...counters }, 'flags above the forwarding mask are ignored')
  t.same(decodeDest(dest(2, 1, '17c0', 1)), { ...nat, weight: 3, forwarding: 'TUN', tunnelType: 'gue', tunnelPort: 6080, tunnelChecksum: 'csum', ...counters })
  t.same(decodeDest(dest(2, 2, '0000', 2)), { ...nat, weight: 3, forwarding: 'TUN', tunnelType: 'gre', tunnelChecksum: 'remcsum', ...counters })
  t.same(decodeDest(dest(2, 0, '0000', 0)), { ...nat, weight: 3, forwarding: 'TUN', tunnelType: 'ipip', ...counters })
  const old = nla(2, Buffer.concat([nla(1, hex('20010db8 00000000 00000000 00000001')), nla(2, hex('0050')), nla(3, le32(3)), nla(4, le32(1)), nla(5, le32(0)), nla(6, le32(0))]))
  t.same(decodeDest(old, 6), { ...nat, family: 6, address: '2001:db8::1', port: 80, forwarding: 'DR' }, 'no ADDR_FAMILY (old kernel): the service family')
  t.equal((decodeDest(old) as NetError).code, 'KA_NET_MALFORMED', 'and without one given, an error')
  t.match((decodeDest(dest(1, 0, '0000', 0)) as NetError).message, /unsupported forwarding method 1/)
})

t.test('GET_INFO, GET_CONFIG and GET_DAEMON replies', async (t) => {
  t.same(decodeInfo(Buffer.concat([nla(1, le32(0x010201)), nla(2, le32(4096))])), { version: '1.2.1', connTableSize: 4096 })
  t.same(decodeTimeouts(Buffer.concat([nla(4, le32(900)), nla(5, le32(120)), nla(6, le32(300))])), { tcp: 900, tcpFin: 120, udp: 300 })
  t.same(decodeTimeouts(nla(6, le32(300))), { tcp: 0, tcpFin: 0, udp: 300 }, 'a kernel without TCP support leaves TCP out')
  const daemon = nla(3, Buffer.concat([nla(1, le32(2)), nla(2, Buffer.from('eth0\0')), nla(3, le32(9)), nla(4, le16(1472)), nla(7, le16(8848)), nla(8, Buffer.of(1)), nla(5, hex('e0000051'))]))
  t.same(decodeDaemon(daemon), { state: 'backup', interface: 'eth0', syncId: 9, maxLength: 1472, port: 8848, ttl: 1, group: '224.0.0.81' })
  t.match((decodeDaemon(nla(3, Buffer.concat([nla(1, le32(0)), nla(2, Buffer.from('eth0\0')), nla(3, le32(9))]))) as NetError).message, /daemon state 0/)
})

t.test('malformed and truncated replies are KA_NET_MALFORMED values', async (t) => {
  const good = encoded({ command: 'NEW_SERVICE', service: webService }).payload
  for (let n = 0; n < good.length; n++) {
    const r = decodeService(good.subarray(0, n))
    t.ok(r instanceof NetError && r.code === 'KA_NET_MALFORMED' && r.operation === 'IPVS_CMD_GET_SERVICE', `first ${n} bytes`)
  }
  t.match((decodeService(hex('0300 0100')) as NetError).message, /length 3/)
  t.match((decodeService(nla(1, nla(1, Buffer.of(2)))) as NetError).message, /address family has 1 bytes, needs 2/)
  t.match((decodeService(nla(1, nla(1, le16(7)))) as NetError).message, /unsupported address family 7/)
  t.match((decodeService(Buffer.alloc(0)) as NetError).message, /no service/)
  t.match((decodeInfo(nla(1, le32(1))) as NetError).message, /no connection table size/)
  t.match((decodeService(nla(1, Buffer.concat([nla(1, le16(2)), nla(2, le16(50))]))) as NetError).message, /unsupported protocol 50/)
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
    const buf = Buffer.from(bytes)
    for (const decode of [decodeService, decodeDest, decodeInfo, decodeTimeouts, decodeDaemon, decodeFamily] as ((b: Buffer) => unknown)[]) decode(buf)
    // Random bytes inside a well-formed nest reach the field checks.
    decodeService(nla(1, buf))
    decodeDest(nla(2, buf), 4)
    decodeDaemon(nla(3, buf))
  }), { numRuns: 2000 })
})

// ─── Round trips ─────────────────────────────────────────────────────────────

/** Objects like the decoders build (fast-check's records have no prototype by default). */
const plain = { noNullPrototype: true } as const
const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => addressText(b))
const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => addressText(b))
const u32 = fc.nat({ max: 0xffffffff })
const port = fc.nat({ max: 0xffff })
const schedName = fc.constantFrom('rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'fifteen-bytes-x')
const serviceKey: fc.Arbitrary<IpvsServiceKey> = fc.oneof(
  fc.record({ kind: fc.constant('fwmark' as const), family: fc.constantFrom(4 as const, 6 as const), fwmark: fc.integer({ min: 1, max: 0xffffffff }) }, plain),
  fc.constantFrom(4 as const, 6 as const).chain((family) => fc.record({
    kind: fc.constant('address' as const), family: fc.constant(family), protocol: fc.constantFrom('TCP' as const, 'UDP' as const, 'SCTP' as const),
    address: family === 4 ? ipv4 : ipv6, port,
  }, plain)),
)
const service: fc.Arbitrary<IpvsService> = serviceKey.chain((key) => fc.record({
  key: fc.constant(key), scheduler: schedName,
  flags: u32.map((f) => (f & ~0x2) >>> 0), timeout: u32,
  netmask: key.family === 4 ? u32 : fc.integer({ min: 1, max: 128 }),
  persistenceEngine: fc.constantFrom(undefined, 'sip'),
}, plain))
const dest: fc.Arbitrary<IpvsDest> = fc.constantFrom(4 as const, 6 as const).chain((family) => fc.record({
  family: fc.constant(family), address: family === 4 ? ipv4 : ipv6, port,
  weight: fc.nat({ max: 0x7fffffff }), upperThreshold: u32, lowerThreshold: u32,
  forwarding: fc.constantFrom('NAT' as const, 'DR' as const, 'TUN' as const),
  tunnelType: fc.constantFrom('ipip' as const, 'gue' as const, 'gre' as const),
  tunnelPort: fc.integer({ min: 1, max: 0xffff }),
  tunnelChecksum: fc.constantFrom('nocsum' as const, 'csum' as const, 'remcsum' as const),
}, plain)).map((d): IpvsDest => {
  // The one shape a dump can show: tunnel fields only where they mean something.
  const tun = d.forwarding === 'TUN'
  return {
    ...d,
    tunnelType: tun ? d.tunnelType : undefined,
    tunnelPort: tun && d.tunnelType === 'gue' ? d.tunnelPort : undefined,
    tunnelChecksum: tun && d.tunnelType !== 'ipip' ? d.tunnelChecksum : undefined,
  }
})
const daemon: fc.Arbitrary<IpvsSyncDaemon> = fc.record({
  state: fc.constantFrom('master' as const, 'backup' as const),
  interface: fc.stringMatching(/^[a-z][a-z0-9.-]{0,14}$/),
  syncId: fc.nat({ max: 255 }),
  maxLength: fc.option(fc.nat({ max: 0xffff }), { nil: undefined }),
  port: fc.option(fc.integer({ min: 1, max: 0xffff }), { nil: undefined }),
  ttl: fc.option(fc.integer({ min: 1, max: 255 }), { nil: undefined }),
  group: fc.option(fc.oneof(ipv4, ipv6), { nil: undefined }),
}, plain)

t.test('decode(encode(x)) is x: services, destinations, daemons, timeouts', async (t) => {
  // fc.assert throws with the shrunk counterexample when a property is false.
  fc.assert(fc.property(service, (s) => isDeepStrictEqual(decodeService(encoded({ command: 'NEW_SERVICE', service: s }).payload), s)), { numRuns: 500 })
  fc.assert(fc.property(serviceKey, dest, (key, d) => isDeepStrictEqual(decodeDest(encoded({ command: 'NEW_DEST', key, dest: d }).payload), d)), { numRuns: 500 })
  fc.assert(fc.property(daemon, (d) => isDeepStrictEqual(decodeDaemon(encoded({ command: 'NEW_DAEMON', daemon: d }).payload), d)), { numRuns: 300 })
  fc.assert(fc.property(u32, u32, u32, (tcp, tcpFin, udp) => {
    const timeouts = { tcp, tcpFin, udp }
    return isDeepStrictEqual(decodeTimeouts(encoded({ command: 'SET_CONFIG', timeouts }).payload), timeouts)
  }), { numRuns: 100 })
  t.equal(IPVS_CMD.FLUSH, 17)
})
