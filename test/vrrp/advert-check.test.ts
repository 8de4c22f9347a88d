/**
 * Receive validation: one test per rejection with keepalived 2.2.7's exact log
 * line and counter, and the order (a packet wrong in two ways reports the
 * earlier check, for every pair of checks).
 */
import fc from 'fast-check'
import t from 'tap'
import {
  type AdvertCheck, type AdvertRejection, checkAdvert, countAdvertCheck, emptyStats, type InstanceExpectation,
  type ReceivedPacket, type VrrpStats,
} from '../../src/vrrp/advert-check.js'
import { AUTH_NONE, AUTH_PASS, decodeIpv4Packet, encodeAdvert, passwordBytes } from '../../src/vrrp/packet.js'
import { CAPTURE_NAMES, framesOf, loadCapture } from '../fixtures/vrrp/load.js'

/** What the peer puts in its packet, and what the socket layer sees. */
interface Spec {
  version: 2 | 3
  type: number
  authType: number
  password: string
  intervalCs: number
  priority: number
  addresses: string[]
  extraBytes: number
  badChecksum: boolean
  ahPresent: boolean
  ttl: number | undefined
  source: string
  destination: string
  totalLengthDelta: number
}

function build(spec: Spec): ReceivedPacket {
  const v2 = spec.version === 2
  let payload = encodeAdvert({
    version: spec.version, type: spec.type, vrid: 51, priority: spec.priority, advertIntervalCs: spec.intervalCs,
    authType: v2 ? spec.authType : AUTH_NONE, authData: v2 ? passwordBytes(spec.password) : undefined, addresses: spec.addresses,
  }, { family: 4, src: spec.source, dst: spec.destination })
  if (spec.badChecksum) payload.writeUInt16BE(payload.readUInt16BE(6) ^ 0x0101, 6)
  if (spec.extraBytes) payload = Buffer.concat([payload, Buffer.alloc(spec.extraBytes)])
  return {
    family: 4, ttl: spec.ttl, source: spec.source, destination: spec.destination, ahPresent: spec.ahPresent,
    ahNextHeader: spec.ahPresent ? 112 : undefined, payload,
    totalLength: 20 + (spec.ahPresent ? 24 : 0) + payload.length + spec.totalLengthDelta,
  }
}

const v2Multicast: { spec: Spec; instance: InstanceExpectation } = {
  spec: {
    version: 2, type: 1, authType: AUTH_PASS, password: 'secret', intervalCs: 100, priority: 150, addresses: ['10.9.0.100', '10.9.0.101'],
    extraBytes: 0, badChecksum: false, ahPresent: false, ttl: 255, source: '10.9.0.2', destination: '224.0.0.18', totalLengthDelta: 0,
  },
  instance: {
    name: 'VI_1', version: 2, vrid: 51, authentication: { type: 'PASS', password: 'secret' }, advertIntervalCs: 100,
    virtualAddresses: ['10.9.0.100', '10.9.0.101'], unicastPeers: [], checkUnicastSrc: false, skipCheckAdvAddr: false,
  },
}

const v3Unicast: { spec: Spec; instance: InstanceExpectation } = {
  spec: {
    version: 3, type: 1, authType: AUTH_NONE, password: '', intervalCs: 50, priority: 100, addresses: ['10.9.0.103', '10.9.0.104'],
    extraBytes: 0, badChecksum: false, ahPresent: false, ttl: 255, source: '10.9.0.2', destination: '10.9.0.1', totalLengthDelta: 0,
  },
  instance: {
    name: 'VI_3', version: 3, vrid: 51, authentication: undefined, advertIntervalCs: 100,
    virtualAddresses: ['10.9.0.103', '10.9.0.104'], checkUnicastSrc: true, skipCheckAdvAddr: false,
    unicastPeers: [{ address: '10.9.0.2', minTtl: 250, maxTtl: 255 }],
  },
}

interface Mutation {
  reason: AdvertRejection
  apply: (s: Spec) => void
  message: string
  counter: keyof VrrpStats | undefined
}

/** Each single fault, in keepalived's check order (reference §5.2). */
const V2_MULTICAST_FAULTS: Mutation[] = [
  { reason: 'ah-unexpected', apply: (s) => { s.ahPresent = true }, message: '(VI_1) Received AH header but auth type not AH', counter: 'authTypeMismatch' },
  { reason: 'length', apply: (s) => { s.extraBytes = 4 }, message: '(VI_1) vrrp packet too long, length 48 and expect 44', counter: 'lengthErrors' },
  { reason: 'ttl', apply: (s) => { s.ttl = 64 }, message: '(VI_1) invalid TTL/HL. Received 64 and expect 255', counter: 'ttlErrors' },
  { reason: 'version', apply: (s) => { s.version = 3 }, message: '(VI_1) wrong version. Received 3 and expect 2', counter: 'versionErrors' },
  { reason: 'auth-invalid-type', apply: (s) => { s.authType = 5 }, message: '(VI_1) Invalid auth type: 5', counter: 'authInvalidType' },
  { reason: 'auth-type-mismatch', apply: (s) => { s.authType = AUTH_NONE }, message: '(VI_1) received a 0 auth, expecting 1!', counter: 'authTypeMismatch' },
  { reason: 'auth-password', apply: (s) => { s.password = 'secreT' }, message: '(VI_1) received an invalid passwd!', counter: 'authFailure' },
  { reason: 'advert-interval', apply: (s) => { s.intervalCs = 200 }, message: "(VI_1) advertisement interval mismatch mine=1 sec rcv'd=2 sec", counter: undefined },
  { reason: 'type', apply: (s) => { s.type = 2 }, message: '(VI_1) Invalid packet type. 2 and expect 1', counter: 'invalidTypeErrors' },
  { reason: 'address-count', apply: (s) => { s.addresses = ['10.9.0.100', '10.9.0.101', '10.9.0.102'] }, message: '(VI_1) received an unexpected ip number count 3, expected 2!', counter: 'addressListErrors' },
  { reason: 'checksum', apply: (s) => { s.badChecksum = true }, message: '(VI_1) Invalid VRRPv2 checksum', counter: 'checksumErrors' },
  { reason: 'cast-mismatch', apply: (s) => { s.destination = '10.9.0.1' }, message: '(VI_1) Expected multicast packet but received unicast packet', counter: 'addressListErrors' },
  { reason: 'address-missing', apply: (s) => { s.addresses = ['10.9.0.100', '10.9.0.102'] }, message: '(VI_1) ip address associated with VRID 51 not present in MASTER advert: 10.9.0.101', counter: 'addressListErrors' },
]

const V3_UNICAST_FAULTS: Mutation[] = [
  { reason: 'ah-unexpected', apply: (s) => { s.ahPresent = true }, message: '(VI_3) Received AH header but auth type not AH', counter: 'authTypeMismatch' },
  { reason: 'length', apply: (s) => { s.extraBytes = 1 }, message: '(VI_3) vrrp packet too long, length 37 and expect 36', counter: 'lengthErrors' },
  { reason: 'version', apply: (s) => { s.version = 2; s.intervalCs = 100 }, message: '(VI_3) wrong version. Received 2 and expect 3', counter: 'versionErrors' },
  { reason: 'type', apply: (s) => { s.type = 0 }, message: '(VI_3) Invalid packet type. 0 and expect 1', counter: 'invalidTypeErrors' },
  { reason: 'address-count', apply: (s) => { s.addresses = ['10.9.0.103'] }, message: '(VI_3) received an unexpected ip number count 1, expected 2!', counter: 'addressListErrors' },
  { reason: 'total-length', apply: (s) => { s.totalLengthDelta = 64 }, message: '(VI_3) ip_tot_len mismatch against received length. 100 and received 36', counter: 'lengthErrors' },
  { reason: 'checksum', apply: (s) => { s.badChecksum = true }, message: '(VI_3) Invalid VRRPv3 checksum', counter: 'checksumErrors' },
  { reason: 'cast-mismatch', apply: (s) => { s.destination = '224.0.0.18' }, message: '(VI_3) Expected unicast packet but received multicast packet', counter: 'addressListErrors' },
  { reason: 'address-missing', apply: (s) => { s.addresses = ['10.9.0.104', '10.9.0.1'] }, message: '(VI_3) ip address associated with VRID 51 not present in MASTER advert: 10.9.0.103', counter: 'addressListErrors' },
  { reason: 'unicast-source', apply: (s) => { s.source = '10.9.0.9' }, message: '(VI_3) unicast source address 10.9.0.9 not a unicast peer', counter: undefined },
  { reason: 'unicast-ttl', apply: (s) => { s.ttl = 64 }, message: '(VI_3) TTL/HL 64 not in range 250 - 255', counter: 'ttlErrors' },
]

function run(base: { spec: Spec; instance: InstanceExpectation }, ...mutations: Mutation[]): AdvertCheck {
  const spec = { ...base.spec, addresses: [...base.spec.addresses] }
  for (const m of mutations) m.apply(spec)
  return checkAdvert(build(spec), base.instance)
}

const AFTER_CAST_CHECK: readonly AdvertRejection[] = ['address-missing', 'unicast-source', 'unicast-ttl']

for (const [label, base, faults] of [['VRRPv2 multicast PASS', v2Multicast, V2_MULTICAST_FAULTS], ['VRRPv3 unicast', v3Unicast, V3_UNICAST_FAULTS]] as const) {
  t.test(`${label}: the unmodified advert is accepted`, async (t) => {
    const result = run(base)
    t.match(result, { ok: true, advert: { vrid: 51, addresses: base.spec.addresses }, notes: [], useOldUnicastChecksum: false })
  })

  for (const fault of faults) {
    t.test(`${label}: ${fault.reason}`, async (t) => {
      t.same(run(base, fault), {
        ok: false, reason: fault.reason, counter: fault.counter, message: fault.message, countedAsReceived: AFTER_CAST_CHECK.includes(fault.reason),
      })
    })
  }

  t.test(`${label}: of two faults, the earlier check reports (keepalived's order)`, async (t) => {
    for (let i = 0; i < faults.length; i++) {
      for (let j = i + 1; j < faults.length; j++) {
        // The later fault goes in first, so that where both touch one field the earlier one's value stands.
        const result = run(base, faults[j]!, faults[i]!)
        t.equal(result.ok ? 'ok' : result.reason, faults[i]!.reason, `${faults[i]!.reason} before ${faults[j]!.reason}`)
      }
    }
  })
}

t.test('too short for a VRRP header, and another VRID: dropped before any instance check', async (t) => {
  const packet = build(v2Multicast.spec)
  t.same(checkAdvert({ ...packet, payload: packet.payload.subarray(0, 4) }, v2Multicast.instance),
    { ok: false, reason: 'header-too-short', counter: undefined, message: 'IPv4 VRRP packet too short - 24 bytes', countedAsReceived: false })
  t.match(checkAdvert({ family: 6, ttl: 255, source: 'fe80::1', destination: 'ff02::12', ahPresent: false, payload: Buffer.alloc(3) }, v2Multicast.instance),
    { reason: 'header-too-short', message: 'IPv6 VRRP packet too short - 3 bytes' })
  t.match(checkAdvert({ ...packet, ahPresent: true, payload: Buffer.alloc(2) }, v2Multicast.instance),
    { reason: 'header-too-short', message: 'IPv4 VRRP packet with AH too short - 46 bytes' })
  t.same(checkAdvert(packet, { ...v2Multicast.instance, vrid: 52 }),
    { ok: false, reason: 'other-vrid', counter: undefined, message: undefined, countedAsReceived: false })
})

t.test('a short packet says "too short"', async (t) => {
  const packet = build(v2Multicast.spec)
  t.match(checkAdvert({ ...packet, payload: packet.payload.subarray(0, 20) }, v2Multicast.instance),
    { reason: 'length', message: '(VI_1) vrrp packet too short, length 40 and expect 44' })
})

t.test('TTL: unknown is not checked; unicast instances skip the 255 rule', async (t) => {
  t.match(run(v2Multicast, { ...V2_MULTICAST_FAULTS[2]!, apply: (s) => { s.ttl = undefined } }), { ok: true })
  t.match(run(v3Unicast, { ...V3_UNICAST_FAULTS[0]!, apply: (s) => { s.ttl = 250 } }), { ok: true })
  const noSourceCheck = { ...v3Unicast, instance: { ...v3Unicast.instance, checkUnicastSrc: false } }
  t.match(run(noSourceCheck, { ...V3_UNICAST_FAULTS[0]!, apply: (s) => { s.ttl = 1; s.source = '10.9.0.9' } }), { ok: true }, 'peer range needs check_unicast_src')
})

t.test('PASS: keepalived compares 8 bytes, so a longer password matches on its first 8', async (t) => {
  const long = { ...v2Multicast, instance: { ...v2Multicast.instance, authentication: { type: 'PASS' as const, password: 'secret-and-more' } } }
  t.match(run(long, { ...V2_MULTICAST_FAULTS[0]!, apply: (s) => { s.password = 'secret-a' } }), { ok: true })
  // keepalived reads the password at ip + tot_len - 8: a lying total length fails the password first.
  t.match(run(v2Multicast, { ...V2_MULTICAST_FAULTS[0]!, apply: (s) => { s.totalLengthDelta = -4 } }), { reason: 'auth-password' })
  const noAuth = { spec: { ...v2Multicast.spec, authType: AUTH_NONE }, instance: { ...v2Multicast.instance, authentication: undefined } }
  t.match(run(noAuth, { ...V2_MULTICAST_FAULTS[0]!, apply: (s) => { s.totalLengthDelta = -4 } }),
    { reason: 'total-length', counter: 'lengthErrors', message: '(VI_1) ip_tot_len mismatch against received length. 40 and received 44' })
})

t.test('VRRPv3 ignores the authentication block and the interval (the backup learns the master\'s)', async (t) => {
  const withAuth = { ...v3Unicast, instance: { ...v3Unicast.instance, authentication: { type: 'PASS' as const, password: 'x' } } }
  t.match(run(withAuth), { ok: true, advert: { advertIntervalCs: 50 } })
})

t.test('skip_check_adv_addr: the address list of the known master is not checked again', async (t) => {
  const threeVips: Mutation = V2_MULTICAST_FAULTS.find((f) => f.reason === 'address-count')!
  const skip = (currentMaster: string | undefined) => ({ ...v2Multicast, instance: { ...v2Multicast.instance, skipCheckAdvAddr: true, currentMaster } })
  t.match(run(skip('10.9.0.2'), threeVips), { ok: true })
  t.match(run(skip('10.9.0.3'), threeVips), { reason: 'address-count' }, 'a new master is checked')
  t.match(run(skip(undefined), threeVips), { reason: 'address-count' }, 'no master yet')
})

t.test('VRRPv3 unicast: the pre-1.3.6 checksum (multicast group in the pseudo-header)', async (t) => {
  const old = { ...v3Unicast.spec, addresses: [...v3Unicast.spec.addresses] }
  const packet = build({ ...old, destination: '224.0.0.18' })
  const received = { ...packet, destination: '10.9.0.1' }
  t.same(checkAdvert(received, v3Unicast.instance), {
    ok: true, advert: (checkAdvert(received, { ...v3Unicast.instance, oldUnicastChecksum: 'in-use' }) as { advert: unknown }).advert,
    notes: ['(VI_3) Setting unicast VRRPv3 checksum to old version'], useOldUnicastChecksum: true,
  })
  t.match(checkAdvert(received, { ...v3Unicast.instance, oldUnicastChecksum: 'never' }), { reason: 'checksum' })
  t.match(checkAdvert(received, { ...v3Unicast.instance, oldUnicastChecksum: 'in-use' }), { ok: true, notes: [] })
  t.match(checkAdvert(build(old), { ...v3Unicast.instance, oldUnicastChecksum: 'in-use' }), { reason: 'checksum' }, 'in use means only the old one')
})

t.test('AH: expected but missing, present but not for VRRP, present and not implemented', async (t) => {
  const capture = framesOf(loadCapture('v2-ah-multicast'), 'vrrp-ipv4')[0]!.bytes.subarray(14)
  const ip = decodeIpv4Packet(capture)
  if (!ip.ok) throw new Error(ip.detail)
  const instance: InstanceExpectation = {
    ...v2Multicast.instance, authentication: { type: 'AH', password: 'secret' }, virtualAddresses: ['10.31.0.106'],
  }
  const packet: ReceivedPacket = {
    family: 4, ttl: ip.header.ttl, source: ip.header.src, destination: ip.header.dst, ahPresent: true,
    ahNextHeader: ip.ah!.nextHeader, payload: ip.payload, totalLength: ip.header.totalLength,
  }
  const vrid = { ...instance, vrid: 56 }
  t.same(checkAdvert(packet, vrid), { ok: false, reason: 'ah-not-implemented', counter: undefined, message: '(VI_1) AH authentication is not implemented; advert dropped', countedAsReceived: false })
  t.same(checkAdvert({ ...packet, ahNextHeader: 6 }, vrid), { ok: false, reason: 'ah-not-vrrp', counter: undefined, message: undefined, countedAsReceived: false })
  t.match(checkAdvert({ ...packet, ttl: 1 }, vrid), { reason: 'ttl' }, 'TTL is checked before authentication')
  t.same(run({ ...v2Multicast, instance }), { ok: false, reason: 'ah-missing', counter: 'authTypeMismatch', message: '(VI_1) No AH header but auth type is AH', countedAsReceived: false })
})

t.test('IPv6: hop limit checked when known, checksum left to the kernel, cast check needs the destination', async (t) => {
  const instance: InstanceExpectation = {
    name: 'VI_6', version: 3, vrid: 55, authentication: undefined, advertIntervalCs: 100,
    virtualAddresses: ['fe80::31:100', 'fd31::100'], unicastPeers: [], checkUnicastSrc: false, skipCheckAdvAddr: false,
  }
  const frame = framesOf(loadCapture('v3-ipv6-multicast'), 'vrrp-ipv6')[0]!.bytes
  const packet: ReceivedPacket = { family: 6, ttl: 255, source: 'fe80::31:1', destination: 'ff02::12', ahPresent: false, payload: frame.subarray(54) }
  t.match(checkAdvert(packet, instance), { ok: true, advert: { addresses: ['fe80::31:100', 'fd31::100'] } })
  t.match(checkAdvert({ ...packet, ttl: 64 }, instance), { reason: 'ttl', message: '(VI_6) invalid TTL/HL. Received 64 and expect 255' })
  t.match(checkAdvert({ ...packet, ttl: undefined, destination: undefined }, instance), { ok: true })
  t.match(checkAdvert({ ...packet, destination: 'fd31::1' }, instance), { reason: 'cast-mismatch' })
  t.match(checkAdvert(packet, { ...instance, virtualAddresses: ['FE80:0:0::31:100', 'fd31:0::100'] }), { ok: true }, 'addresses compare by value')
})

t.test('every captured advert passes for the instance that sent it', async (t) => {
  const vips: Record<string, string[]> = {
    'v2-pass-multicast': ['10.31.0.100'], 'v2-noauth-multicast': ['10.31.0.101', '10.31.0.102'],
    'v3-ipv4-multicast': ['10.31.0.103', '10.31.0.104'], 'v3-ipv4-unicast': ['10.31.0.105'],
  }
  for (const [name, virtualAddresses] of Object.entries(vips)) {
    for (const frame of framesOf(loadCapture(name as 'v2-pass-multicast'), 'vrrp-ipv4')) {
      const ip = decodeIpv4Packet(frame.bytes.subarray(14))
      if (!ip.ok) throw new Error(ip.detail)
      const header = ip.payload
      const instance: InstanceExpectation = {
        name: 'VI_1', version: (header[0]! >> 4) as 2 | 3, vrid: header[1]!, advertIntervalCs: name === 'v3-ipv4-multicast' ? 50 : 100,
        authentication: name === 'v2-pass-multicast' ? { type: 'PASS', password: 'secret' } : undefined, virtualAddresses,
        unicastPeers: name === 'v3-ipv4-unicast' ? [{ address: '10.31.0.1', minTtl: undefined, maxTtl: undefined }] : [],
        checkUnicastSrc: true, skipCheckAdvAddr: false,
      }
      const packet: ReceivedPacket = {
        family: 4, ttl: ip.header.ttl, source: ip.header.src, destination: ip.header.dst, ahPresent: false, payload: ip.payload, totalLength: ip.header.totalLength,
      }
      t.match(checkAdvert(packet, instance), { ok: true }, `${name} id ${ip.header.id}`)
    }
  }
})

t.test('counters: errors, adverts received (also for late rejections) and priority 0', async (t) => {
  let stats = emptyStats()
  stats = countAdvertCheck(stats, run(v2Multicast))
  stats = countAdvertCheck(stats, run(v2Multicast, { ...V2_MULTICAST_FAULTS[0]!, apply: (s) => { s.priority = 0 } }))
  stats = countAdvertCheck(stats, run(v2Multicast, V2_MULTICAST_FAULTS.find((f) => f.reason === 'ttl')!))
  stats = countAdvertCheck(stats, run(v2Multicast, V2_MULTICAST_FAULTS.find((f) => f.reason === 'address-missing')!))
  stats = countAdvertCheck(stats, run(v2Multicast, V2_MULTICAST_FAULTS.find((f) => f.reason === 'advert-interval')!))
  t.same(stats, { ...emptyStats(), advertsReceived: 3, priorityZeroReceived: 1, ttlErrors: 1, addressListErrors: 1 })
  const before = emptyStats()
  countAdvertCheck(before, run(v2Multicast))
  t.same(before, emptyStats(), 'the input is not changed')
})

t.test('never throws: random payloads and mutated captures against varied instances', async (t) => {
  const seeds = CAPTURE_NAMES.flatMap((name) => loadCapture(name).frames.filter((f) => f.kind.startsWith('vrrp')).map((f) => f.bytes))
  const instances = [v2Multicast.instance, v3Unicast.instance, { ...v2Multicast.instance, authentication: { type: 'AH' as const, password: 'k' } },
    { ...v3Unicast.instance, skipCheckAdvAddr: true, currentMaster: '10.9.0.2' }]
  const packet = fc.record({
    family: fc.constantFrom<4 | 6>(4, 6),
    ttl: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
    source: fc.constantFrom('10.9.0.2', 'fe80::1', 'not an address', ''),
    destination: fc.option(fc.constantFrom('224.0.0.18', '10.9.0.1', 'ff02::12', 'bogus'), { nil: undefined }),
    ahPresent: fc.boolean(),
    ahNextHeader: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
    payload: fc.oneof(
      fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b)),
      fc.record({ seed: fc.constantFrom(...seeds), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }), cut: fc.nat() }).map(({ seed, at, bit, cut }) => {
        const body = Buffer.from(seed.subarray(seed[12] === 0x86 ? 54 : 34))
        body[at % body.length]! ^= 1 << bit
        return body.subarray(0, cut % (body.length + 1) || body.length)
      }),
    ),
    ipHeaderLength: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
    totalLength: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
  })
  fc.assert(fc.property(packet, fc.constantFrom(...instances), (p, instance) => {
    const result = checkAdvert(p, instance)
    return result.ok || typeof result.reason === 'string'
  }), { numRuns: 3000 })
  t.pass('no input threw')
})
