/**
 * The VRRP codec against keepalived 2.2.7: the two vectors of reference §5.1
 * and the frames capture.sh recorded (decode to the configured values,
 * re-encode byte-exact), round-trip properties, and decoders that survive any
 * input.
 */
import fc from 'fast-check'
import t, { type Test } from 'tap'
import { bytesToAddress } from '../../src/vrrp/address.js'
import { adjustChecksum, finishChecksum, internetChecksum, onesComplementSum } from '../../src/vrrp/checksum.js'
import {
  type AdvertFields, AUTH_NONE, AUTH_PASS, computeAdvertChecksum, decodeAdvert, decodeIpv4Packet, encodeAdvert,
  encodeIpv4Advert, encodeIpv4Header, IPPROTO_AH, IPPROTO_VRRP, passwordBytes, verifyAdvertChecksum,
} from '../../src/vrrp/packet.js'
import { CAPTURE_NAMES, type CaptureName, framesOf, loadCapture } from '../fixtures/vrrp/load.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

t.test('RFC 1071 checksum: the RFC §3 example, odd lengths, incremental update', async (t) => {
  // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, so the checksum is 220d.
  const data = hex('0001f203f4f5f6f7')
  t.equal(finishChecksum(onesComplementSum(data)), 0x220d)
  t.equal(internetChecksum(Buffer.concat([data, hex('220d')])), 0, 'data + its checksum sums to zero')
  t.equal(internetChecksum(hex('01')), internetChecksum(hex('0100')), 'an odd byte is padded with zero')
  t.equal(internetChecksum(data.subarray(4), onesComplementSum(data.subarray(0, 4))), 0x220d, 'chunks chain')
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 2, maxLength: 64 }).filter((a) => a.length % 2 === 0), fc.nat(), fc.integer({ min: 0, max: 0xffff }), (bytes, at, word) => {
      const i = (at % (bytes.length / 2)) * 2
      const before = Buffer.from(bytes)
      const after = Buffer.from(bytes)
      after.writeUInt16BE(word, i)
      const adjusted = adjustChecksum(internetChecksum(before), before.readUInt16BE(i), word)
      // RFC 1624: equal up to the two representations of zero (0x0000 / 0xffff).
      t.ok(adjusted === internetChecksum(after) || adjusted + internetChecksum(after) === 0xffff)
    }),
  )
})

t.test('reference §5.1 vector: VRRPv2, PASS "secret", multicast', async (t) => {
  const ip = hex('45 c0 00 28 00 01 00 00 ff 70 d0 88 0a 09 00 01 e0 00 00 12')
  const vrrp = hex('21 33 96 01 01 01 01 11 0a 09 00 64 73 65 63 72 65 74 00 00')
  const decoded = decodeIpv4Packet(Buffer.concat([ip, vrrp]))
  if (!decoded.ok) throw new Error(decoded.detail)
  t.match(decoded.header, { ttl: 255, tos: 0xc0, protocol: IPPROTO_VRRP, id: 1, totalLength: 40, src: '10.9.0.1', dst: '224.0.0.18', checksumValid: true })
  const advert = decodeAdvert(decoded.payload, 4)
  if (!advert.ok) throw new Error(advert.detail)
  t.same(advert.advert, {
    version: 2, type: 1, vrid: 51, priority: 150, advertIntervalCs: 100, authType: AUTH_PASS,
    authData: passwordBytes('secret'), addresses: ['10.9.0.100'], checksum: 0x0111,
  })
  t.same(encodeIpv4Advert(advert.advert, { src: '10.9.0.1', dst: '224.0.0.18', id: 1 }), Buffer.concat([ip, vrrp]))
})

t.test('reference §5.1 vector: VRRPv3 unicast, the pseudo-header names the peer', async (t) => {
  const ip = hex('45 c0 00 24 00 01 00 00 ff 70 a6 94 0a 09 00 01 0a 09 00 02')
  const vrrp = hex('31 35 96 02 00 32 0f 20 0a 09 00 67 0a 09 00 68')
  const decoded = decodeAdvert(vrrp, 4)
  if (!decoded.ok) throw new Error(decoded.detail)
  t.same(decoded.advert, {
    version: 3, type: 1, vrid: 53, priority: 150, advertIntervalCs: 50, authType: AUTH_NONE,
    authData: undefined, addresses: ['10.9.0.103', '10.9.0.104'], checksum: 0x0f20,
  })
  t.same(encodeIpv4Advert(decoded.advert, { src: '10.9.0.1', dst: '10.9.0.2', id: 1 }), Buffer.concat([ip, vrrp]))
  t.ok(verifyAdvertChecksum(vrrp, { family: 4, src: '10.9.0.1', dst: '10.9.0.2' }))
  t.notOk(verifyAdvertChecksum(vrrp, { family: 4, src: '10.9.0.1', dst: '224.0.0.18' }), 'the pre-1.3.6 pseudo-header differs')
  // The same advert from the other node at priority 100.
  const back = encodeAdvert({ ...decoded.advert, priority: 100 }, { family: 4, src: '10.9.0.2', dst: '10.9.0.1' })
  t.same(back.subarray(0, 8), hex('31 35 64 02 00 32 41 20'))
})

/** What each capture's keepalived.conf says, in the codec's terms. */
const EXPECTED: Record<Exclude<CaptureName, 'v2-ah-multicast'>, { fields: Omit<AdvertFields, 'priority'>; src: string; dst: string; l2dst: string }> = {
  'v2-pass-multicast': {
    fields: { version: 2, type: 1, vrid: 51, advertIntervalCs: 100, authType: AUTH_PASS, authData: passwordBytes('secret'), addresses: ['10.31.0.100'] },
    src: '10.31.0.1', dst: '224.0.0.18', l2dst: '01005e000012',
  },
  'v2-noauth-multicast': {
    fields: { version: 2, type: 1, vrid: 52, advertIntervalCs: 100, authType: AUTH_NONE, authData: Buffer.alloc(8), addresses: ['10.31.0.101', '10.31.0.102'] },
    src: '10.31.0.1', dst: '224.0.0.18', l2dst: '01005e000012',
  },
  'v3-ipv4-multicast': {
    fields: { version: 3, type: 1, vrid: 53, advertIntervalCs: 50, authType: AUTH_NONE, authData: undefined, addresses: ['10.31.0.103', '10.31.0.104'] },
    src: '10.31.0.1', dst: '224.0.0.18', l2dst: '01005e000012',
  },
  'v3-ipv4-unicast': {
    fields: { version: 3, type: 1, vrid: 54, advertIntervalCs: 100, authType: AUTH_NONE, authData: undefined, addresses: ['10.31.0.105'] },
    src: '10.31.0.1', dst: '10.31.0.2', l2dst: '020000310002',
  },
  'v3-ipv6-multicast': {
    fields: { version: 3, type: 1, vrid: 55, advertIntervalCs: 100, authType: AUTH_NONE, authData: undefined, addresses: ['fe80::31:100', 'fd31::100'] },
    src: 'fe80::31:1', dst: 'ff02::12', l2dst: '333300000012',
  },
}

for (const [name, want] of Object.entries(EXPECTED) as [keyof typeof EXPECTED, (typeof EXPECTED)[keyof typeof EXPECTED]][]) {
  t.test(`captured from keepalived: ${name}`, async (t) => {
    const capture = loadCapture(name)
    const family = want.fields.addresses[0]!.includes(':') ? 6 : 4
    const adverts = framesOf(capture, family === 4 ? 'vrrp-ipv4' : 'vrrp-ipv6')
    t.ok(adverts.length >= 3, 'adverts while MASTER and the priority-0 one on shutdown')
    t.equal(adverts.at(-1)!.bytes[(family === 4 ? 34 : 54) + 2], 0, 'the last advert (on stop) has priority 0')
    for (const frame of adverts) {
      t.equal(frame.bytes.subarray(0, 6).toString('hex'), want.l2dst)
      const payload = family === 4 ? ipv4Payload(t, frame.bytes.subarray(14), want.src, want.dst) : frame.bytes.subarray(54)
      if (family === 6) {
        t.equal(frame.bytes[14]! >> 4, 6)
        t.equal(frame.bytes[21], 255, 'hop limit 255')
        t.equal(bytesToAddress(frame.bytes.subarray(22, 38)), want.src)
        t.equal(bytesToAddress(frame.bytes.subarray(38, 54)), want.dst)
      }
      const decoded = decodeAdvert(payload, family)
      if (!decoded.ok) throw new Error(decoded.detail)
      const priority = decoded.advert.priority
      t.ok(priority === 150 || priority === 100 || priority === 0)
      t.same(decoded.advert, { ...want.fields, priority, checksum: payload.readUInt16BE(6) })
      t.ok(verifyAdvertChecksum(payload, { family, src: want.src, dst: want.dst }), 'checksum valid')
      // Re-encoding gives the same bytes; for IPv6 that means our pseudo-header sum equals the kernel's.
      t.same(encodeAdvert(decoded.advert, { family, src: want.src, dst: want.dst }), payload)
      if (family === 4) {
        const id = frame.bytes.readUInt16BE(18)
        t.same(encodeIpv4Advert(decoded.advert, { src: want.src, dst: want.dst, id }), frame.bytes.subarray(14))
      }
    }
  })
}

function ipv4Payload(t: Test, packet: Buffer, src: string, dst: string): Buffer {
  const decoded = decodeIpv4Packet(packet)
  if (!decoded.ok) throw new Error(decoded.detail)
  t.match(decoded.header, { version: 4, headerLength: 20, tos: 0xc0, ttl: 255, protocol: IPPROTO_VRRP, flags: 0, fragmentOffset: 0, src, dst, checksumValid: true })
  t.equal(decoded.header.totalLength, packet.length)
  t.equal(decoded.ah, undefined)
  return decoded.payload
}

t.test('captured from keepalived: v2 with AH is parsed, and rejected as not implemented', async (t) => {
  const adverts = framesOf(loadCapture('v2-ah-multicast'), 'vrrp-ipv4')
  t.ok(adverts.length >= 3)
  adverts.forEach((frame, i) => {
    const decoded = decodeIpv4Packet(frame.bytes.subarray(14))
    if (!decoded.ok) throw new Error(decoded.detail)
    t.match(decoded.header, { protocol: IPPROTO_AH, totalLength: 20 + 24 + 20, ttl: 255, checksumValid: true })
    // keepalived: next header VRRP, length 4 (24 bytes), SPI = its own address, sequence from 1.
    t.match(decoded.ah, { nextHeader: IPPROTO_VRRP, payloadLength: 4, spi: 0x0a1f0001, sequence: i + 1 })
    t.equal(decoded.ah!.icv.length, 12)
    t.same(decodeAdvert(decoded.payload, 4), { ok: false, reason: 'ah-not-implemented', detail: 'AH authentication is not implemented' })
    t.equal(decoded.payload[4], 2, 'auth type AH in the VRRP header')
  })
})

t.test('IPv4 header: keepalived defaults, options, and the header checksum', async (t) => {
  const header = encodeIpv4Header({ src: '10.9.0.1', dst: '224.0.0.18', payloadLength: 20, id: 1 })
  t.same(header, hex('45 c0 00 28 00 01 00 00 ff 70 d0 88 0a 09 00 01 e0 00 00 12'))
  const ah = encodeIpv4Header({ src: '10.31.0.1', dst: '224.0.0.18', payloadLength: 44, id: 1, protocol: IPPROTO_AH })
  t.same(ah, hex('45c0004000010000ff33d0970a1f0001e0000012'), 'the captured AH packet header')
  const ttl = decodeIpv4Packet(encodeIpv4Header({ src: '1.2.3.4', dst: '5.6.7.8', payloadLength: 0, id: 9, ttl: 64 }))
  t.match(ttl, { ok: true, header: { ttl: 64, id: 9, totalLength: 20, checksumValid: true } })
  t.throws(() => encodeIpv4Header({ src: 'fd31::1', dst: '224.0.0.18', payloadLength: 0, id: 1 }), RangeError)
  t.throws(() => encodeIpv4Header({ src: '10.0.0.1', dst: '224.0.0.18', payloadLength: 0, id: 70000 }), RangeError)
})

t.test('encoders refuse what cannot go on the wire', async (t) => {
  const base: AdvertFields = { version: 2, type: 1, vrid: 1, priority: 100, advertIntervalCs: 100, authType: 0, authData: Buffer.alloc(8), addresses: ['10.0.0.1'] }
  const v4 = { family: 4 } as const
  t.throws(() => encodeAdvert({ ...base, advertIntervalCs: 150 }, v4), RangeError, 'v2 is whole seconds')
  t.throws(() => encodeAdvert({ ...base, advertIntervalCs: 25600 }, v4), RangeError)
  t.throws(() => encodeAdvert({ ...base, authType: 2 }, v4), /AH authentication is not implemented/)
  t.throws(() => encodeAdvert({ ...base, authData: undefined }, v4), RangeError)
  t.throws(() => encodeAdvert({ ...base, addresses: ['fd31::1'] }, v4), RangeError)
  t.throws(() => encodeAdvert({ ...base, vrid: 256 }, v4), RangeError)
  t.throws(() => encodeAdvert({ ...base, version: 3, authData: undefined, advertIntervalCs: 4096 }, { family: 4, src: '10.0.0.1', dst: '224.0.0.18' }), RangeError)
  t.throws(() => encodeAdvert({ ...base, version: 3, authData: undefined, authType: 1 }, { family: 4, src: '10.0.0.1', dst: '224.0.0.18' }), RangeError)
  t.throws(() => encodeAdvert({ ...base, version: 3, authData: undefined }, v4), RangeError, 'v3 needs the pseudo-header addresses')
  t.same(passwordBytes('a-much-longer-password'), Buffer.from('a-much-l'), 'truncated to 8')
  t.same(passwordBytes('pw'), hex('7077000000000000'), 'NUL padded')
})

/** Adverts the wire can carry, with canonical address text (what the decoder prints). */
function arbitraryAdvert(): fc.Arbitrary<{ fields: AdvertFields; family: 4 | 6; src: string; dst: string }> {
  return fc.constantFrom<4 | 6>(4, 6).chain((family) => {
    const size = family === 4 ? 4 : 16
    const address = fc.uint8Array({ minLength: size, maxLength: size }).map((b) => bytesToAddress(b))
    return fc.record({
      family: fc.constant(family),
      version: fc.constantFrom<2 | 3>(2, 3),
      type: fc.integer({ min: 0, max: 15 }),
      vrid: fc.integer({ min: 0, max: 255 }),
      priority: fc.integer({ min: 0, max: 255 }),
      seconds: fc.integer({ min: 0, max: 255 }),
      centiseconds: fc.integer({ min: 0, max: 0xfff }),
      authType: fc.constantFrom(0, 1, 3, 255),
      authData: fc.uint8Array({ minLength: 8, maxLength: 8 }),
      addresses: fc.array(address, { maxLength: 20 }),
      src: address,
      dst: address,
    }).map((r) => {
      const v2 = r.version === 2
      const fields: AdvertFields = {
        version: r.version, type: r.type, vrid: r.vrid, priority: r.priority,
        advertIntervalCs: v2 ? r.seconds * 100 : r.centiseconds,
        authType: v2 ? r.authType : 0,
        authData: v2 && family === 4 ? Buffer.from(r.authData) : undefined,
        addresses: r.addresses,
      }
      return { fields, family, src: r.src, dst: r.dst }
    })
  })
}

t.test('decode(encode(x)) = x, with a valid checksum, for both versions and families', async (t) => {
  fc.assert(
    fc.property(arbitraryAdvert(), ({ fields, family, src, dst }) => {
      const payload = encodeAdvert(fields, { family, src, dst })
      const decoded = decodeAdvert(payload, family)
      if (!decoded.ok) return false
      const { checksum, ...rest } = decoded.advert
      t.same(rest, fields)
      t.equal(checksum, computeAdvertChecksum(payload, { family, src, dst }))
      return verifyAdvertChecksum(payload, { family, src, dst })
    }),
    { numRuns: 300 },
  )
})

/** Every captured frame's IP packet, the inputs the fuzzers mutate. */
const seeds: Buffer[] = CAPTURE_NAMES.flatMap((name) =>
  loadCapture(name).frames.filter((f) => f.kind.startsWith('vrrp')).map((f) => Buffer.from(f.bytes.subarray(14))))

function decodeEverything(bytes: Uint8Array): void {
  const ip = decodeIpv4Packet(bytes)
  if (ip.ok) {
    decodeAdvert(ip.payload, 4)
    decodeAdvert(ip.payload, 6)
  }
  decodeAdvert(bytes, 4)
  decodeAdvert(bytes, 6)
  // The IPv6 fixtures' VRRP payload starts after the 40-byte IPv6 header.
  decodeAdvert(bytes.subarray(40), 6)
}

t.test('decoders never throw: random buffers', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => { decodeEverything(bytes) }), { numRuns: 2000 })
  t.equal(decodeIpv4Packet(Buffer.alloc(0)).ok, false)
  t.match(decodeIpv4Packet(hex('4f00')), { ok: false, reason: 'too-short' })
  t.match(decodeIpv4Packet(Buffer.alloc(20, 0x44)), { ok: false, reason: 'bad-header-length' })
  t.match(decodeIpv4Packet(Buffer.alloc(20, 0x60)), { ok: false, reason: 'not-ipv4' })
  t.match(decodeIpv4Packet(Buffer.concat([hex('46'), Buffer.alloc(20)])), { ok: false, reason: 'too-short' }, 'IHL 6 needs 24 bytes')
  t.match(decodeAdvert(hex('21330101'), 4), { ok: false, reason: 'too-short' })
  t.match(decodeAdvert(hex('4133010100010000'), 4), { ok: false, reason: 'unknown-version' })
  t.match(decodeAdvert(hex('2133010200010000'), 4), { ok: false, reason: 'bad-length' })
})

t.test('decoders never throw: fixtures with bit flips, truncations and extensions', async (t) => {
  t.ok(seeds.length > 10)
  const mutated = fc.record({
    seed: fc.constantFrom(...seeds),
    flips: fc.array(fc.record({ at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }), { maxLength: 4 }),
    cut: fc.nat(),
    tail: fc.uint8Array({ maxLength: 40 }),
    how: fc.constantFrom('flip', 'truncate', 'extend', 'all'),
  }).map(({ seed, flips, cut, tail, how }) => {
    let bytes = Buffer.from(seed)
    if (how === 'flip' || how === 'all') for (const f of flips) bytes[f.at % bytes.length]! ^= 1 << f.bit
    if (how === 'truncate' || how === 'all') bytes = bytes.subarray(0, cut % (bytes.length + 1))
    if (how === 'extend' || how === 'all') bytes = Buffer.concat([bytes, tail])
    return bytes
  })
  fc.assert(fc.property(mutated, (bytes) => { decodeEverything(bytes) }), { numRuns: 3000 })
})
