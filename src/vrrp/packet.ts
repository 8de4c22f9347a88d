/**
 * VRRP adverts on the wire: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798), over IPv4
 * and IPv6, byte-compatible with keepalived 2.2.7 (reference §5.1; the
 * fixtures under test/fixtures/vrrp were captured from it). Pure: buffers in,
 * values out. Decoders never throw; encoders throw RangeError on values that
 * cannot be put on the wire, which is a caller's bug.
 */
import { type AddressFamily, bytesToAddress, requireAddress } from './address.js'
import { internetChecksum, IPPROTO_VRRP, ipv4PseudoHeaderSum, ipv6PseudoHeaderSum, onesComplementSum } from './checksum.js'

export { IPPROTO_VRRP } from './checksum.js'
export type { AddressFamily } from './address.js'

export type VrrpVersion = 2 | 3

/** IPsec AH (RFC 2402), keepalived's `auth_type AH`. */
export const IPPROTO_AH = 51
export const VRRP_TYPE_ADVERT = 1
export const VRRP_HEADER_LENGTH = 8
/** VRRPv2 over IPv4 always carries 8 authentication bytes, zeros without auth (RFC 3768 §5.3.10). */
export const VRRP_AUTH_LENGTH = 8
export const IPV4_HEADER_LENGTH = 20
/** keepalived's ipsec_ah_t: 12 fixed bytes and a 96-bit HMAC-MD5 ICV. */
export const AH_HEADER_LENGTH = 24
/** RFC 5798 §5.1.1.3: sent with TTL 255, and multicast receivers drop anything else. */
export const VRRP_TTL = 255
/** keepalived's TOS for adverts: internetwork control. */
export const VRRP_TOS = 0xc0
export const VRRP_MCAST_GROUP4 = '224.0.0.18'
export const VRRP_MCAST_GROUP6 = 'ff02::12'

/** VRRPv2 authentication types (RFC 2338 §5.3.6); VRRPv3 has none. */
export const AUTH_NONE = 0
export const AUTH_PASS = 1
export const AUTH_AH = 2

/** Everything an advert says except its checksum: what {@link encodeAdvert} takes. */
export interface AdvertFields {
  readonly version: VrrpVersion
  /** 1 is an advertisement, the only type there is. */
  readonly type: number
  readonly vrid: number
  readonly priority: number
  /** Centiseconds. VRRPv2 carries whole seconds (so a multiple of 100), VRRPv3 12 bits of centiseconds. */
  readonly advertIntervalCs: number
  /** VRRPv2 only ({@link AUTH_NONE}, {@link AUTH_PASS}, {@link AUTH_AH}); always 0 for VRRPv3. */
  readonly authType: number
  /** VRRPv2 over IPv4 only: the 8 bytes after the addresses. Undefined otherwise. */
  readonly authData: Buffer | undefined
  /** IPv4 or IPv6 addresses as text, all of the packet's family. */
  readonly addresses: readonly string[]
}

/** A decoded advert: its fields and the checksum it carried. */
export interface Advert extends AdvertFields {
  readonly checksum: number
}

/** The fixed 8 bytes, read without judging them (for keepalived's ordered checks). */
export interface VrrpHeader {
  readonly version: number
  readonly type: number
  readonly vrid: number
  readonly priority: number
  readonly addressCount: number
  /** Byte 4: VRRPv2's auth type; in VRRPv3 the high nibble of the reserved bits and interval. */
  readonly authType: number
  /** VRRPv2: byte 5 in seconds, times 100. VRRPv3: the 12-bit max advert interval. */
  readonly advertIntervalCs: number
  readonly checksum: number
}

/** Where the payload goes: needed for the pseudo-header of VRRPv3 and of everything over IPv6. */
export interface AdvertAddressing {
  readonly family: AddressFamily
  readonly src?: string | undefined
  /** The multicast group, or the unicast peer (keepalived ≥ 1.3.6 sums the peer, reference §5.1). */
  readonly dst?: string | undefined
}

export type DecodeFailure = 'too-short' | 'unknown-version' | 'bad-length' | 'ah-not-implemented' | 'not-ipv4' | 'bad-header-length'

export type Decoded<T> = ({ readonly ok: true } & T) | { readonly ok: false; readonly reason: DecodeFailure; readonly detail: string }

function fail(reason: DecodeFailure, detail: string): { ok: false; reason: DecodeFailure; detail: string } {
  return { ok: false, reason, detail }
}

function addressLength(family: AddressFamily): number {
  return family === 4 ? 4 : 16
}

/** Payload length an advert with `addressCount` addresses has (keepalived's expected_vrrp_pkt_len). */
export function advertLength(version: number, family: AddressFamily, addressCount: number): number {
  const auth = version === 2 && family === 4 ? VRRP_AUTH_LENGTH : 0
  return VRRP_HEADER_LENGTH + addressCount * addressLength(family) + auth
}

/** keepalived's PASS handling: the password's bytes, NUL-padded or truncated to 8. */
export function passwordBytes(password: string): Buffer {
  const out = Buffer.alloc(VRRP_AUTH_LENGTH)
  Buffer.from(password, 'utf8').copy(out, 0, 0, VRRP_AUTH_LENGTH)
  return out
}

/** The header fields, or undefined when fewer than 8 bytes arrived. */
export function readVrrpHeader(payload: Uint8Array): VrrpHeader | undefined {
  if (payload.length < VRRP_HEADER_LENGTH) return undefined
  const b = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
  const version = b[0]! >> 4
  return {
    version,
    type: b[0]! & 0x0f,
    vrid: b[1]!,
    priority: b[2]!,
    addressCount: b[3]!,
    authType: b[4]!,
    // RFC 5798 §5.2.7: the 4 reserved bits are ignored on receipt.
    advertIntervalCs: version === 2 ? b[5]! * 100 : b.readUInt16BE(4) & 0x0fff,
    checksum: b.readUInt16BE(6),
  }
}

/**
 * Decode a VRRP payload (header onwards, without IP header or AH). The buffer
 * must hold exactly one advert, as keepalived requires. Type, VRID and
 * priority are reported, not judged: that is advert-check's job.
 */
export function decodeAdvert(payload: Uint8Array, family: AddressFamily): Decoded<{ advert: Advert }> {
  const header = readVrrpHeader(payload)
  if (!header) return fail('too-short', `a VRRP header needs ${VRRP_HEADER_LENGTH} bytes, got ${payload.length}`)
  const { version } = header
  if (version !== 2 && version !== 3) return fail('unknown-version', `VRRP version ${version} is neither 2 nor 3`)
  const expected = advertLength(version, family, header.addressCount)
  if (payload.length !== expected) {
    return fail('bad-length', `${header.addressCount} IPv${family} address(es) make ${expected} bytes, got ${payload.length}`)
  }
  if (version === 2 && header.authType === AUTH_AH) return fail('ah-not-implemented', 'AH authentication is not implemented')
  const size = addressLength(family)
  const addresses: string[] = []
  for (let i = 0; i < header.addressCount; i++) {
    const at = VRRP_HEADER_LENGTH + i * size
    addresses.push(bytesToAddress(payload.subarray(at, at + size)))
  }
  const authStart = VRRP_HEADER_LENGTH + header.addressCount * size
  const hasAuthData = version === 2 && family === 4
  const advert: Advert = {
    version,
    type: header.type,
    vrid: header.vrid,
    priority: header.priority,
    advertIntervalCs: header.advertIntervalCs,
    authType: version === 2 ? header.authType : AUTH_NONE,
    authData: hasAuthData ? Buffer.from(payload.subarray(authStart, authStart + VRRP_AUTH_LENGTH)) : undefined,
    addresses,
    checksum: header.checksum,
  }
  return { ok: true, advert }
}

function checkRange(value: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${what} ${value} is not an integer in ${min}..${max}`)
}

/**
 * Build the VRRP payload with its checksum. VRRPv2 over IPv4 sums the payload
 * alone; VRRPv3 over IPv4 adds the IPv4 pseudo-header; over IPv6 both versions
 * use the IPv6 pseudo-header (the kernel writes the same value via
 * IPV6_CHECKSUM, so computing it here only matters for tests and frames).
 */
export function encodeAdvert(advert: AdvertFields, addressing: AdvertAddressing): Buffer {
  const { family } = addressing
  checkRange(advert.type, 0, 15, 'VRRP type')
  checkRange(advert.vrid, 0, 255, 'VRID')
  checkRange(advert.priority, 0, 255, 'priority')
  checkRange(advert.addresses.length, 0, 255, 'address count')
  if (advert.version === 2) {
    if (advert.advertIntervalCs % 100 !== 0) throw new RangeError(`VRRPv2 carries whole seconds, not ${advert.advertIntervalCs} cs`)
    checkRange(advert.advertIntervalCs / 100, 0, 255, 'VRRPv2 advert interval (s)')
    checkRange(advert.authType, 0, 255, 'auth type')
    if (advert.authType === AUTH_AH) throw new RangeError('AH authentication is not implemented')
  } else {
    checkRange(advert.advertIntervalCs, 0, 0x0fff, 'VRRPv3 advert interval (cs)')
    if (advert.authType !== AUTH_NONE) throw new RangeError('VRRPv3 has no authentication')
  }
  const hasAuthData = advert.version === 2 && family === 4
  if (hasAuthData ? advert.authData?.length !== VRRP_AUTH_LENGTH : advert.authData !== undefined) {
    throw new RangeError(hasAuthData ? 'VRRPv2 over IPv4 needs 8 bytes of auth data' : 'only VRRPv2 over IPv4 carries auth data')
  }
  const out = Buffer.alloc(advertLength(advert.version, family, advert.addresses.length))
  out[0] = (advert.version << 4) | advert.type
  out[1] = advert.vrid
  out[2] = advert.priority
  out[3] = advert.addresses.length
  if (advert.version === 2) {
    out[4] = advert.authType
    out[5] = advert.advertIntervalCs / 100
  } else {
    out.writeUInt16BE(advert.advertIntervalCs, 4)
  }
  const size = addressLength(family)
  advert.addresses.forEach((a, i) => requireAddress(a, family, 'VIP').copy(out, VRRP_HEADER_LENGTH + i * size))
  if (hasAuthData) advert.authData!.copy(out, VRRP_HEADER_LENGTH + advert.addresses.length * size)
  out.writeUInt16BE(computeAdvertChecksum(out, addressing), 6)
  return out
}

function pseudoHeaderSum(payload: Uint8Array, addressing: AdvertAddressing, version: number): number {
  const { family } = addressing
  if (family === 4 && version === 2) return 0
  const src = requireAddress(addressing.src ?? '', family, 'source')
  const dst = requireAddress(addressing.dst ?? '', family, 'destination')
  return family === 4
    ? ipv4PseudoHeaderSum(src, dst, IPPROTO_VRRP, payload.length)
    : ipv6PseudoHeaderSum(src, dst, IPPROTO_VRRP, payload.length)
}

/**
 * The checksum `payload` should carry, its own checksum field counted as zero.
 * Throws when the pseudo-header needs addresses that are missing.
 */
export function computeAdvertChecksum(payload: Uint8Array, addressing: AdvertAddressing): number {
  const version = payload.length > 0 ? payload[0]! >> 4 : 0
  let sum = pseudoHeaderSum(payload, addressing, version)
  sum = onesComplementSum(payload.subarray(0, 6), sum)
  return internetChecksum(payload.subarray(8), sum)
}

/** True when the payload's checksum is right for that source and destination. */
export function verifyAdvertChecksum(payload: Uint8Array, addressing: AdvertAddressing): boolean {
  if (payload.length < VRRP_HEADER_LENGTH) return false
  return internetChecksum(payload, pseudoHeaderSum(payload, addressing, payload[0]! >> 4)) === 0
}

/** What keepalived's IP_HDRINCL header carries (reference §5.1). */
export interface Ipv4HeaderFields {
  readonly src: string
  readonly dst: string
  /** Bytes after the IP header (AH included, when there is one). */
  readonly payloadLength: number
  /** keepalived counts up from 1 per advert, skipping 0. */
  readonly id: number
  /** 255, or `unicast_ttl` for unicast. */
  readonly ttl?: number
  readonly protocol?: number
  readonly tos?: number
}

/**
 * keepalived's own IPv4 header: version 4, IHL 5, TOS 0xc0, DF clear, TTL 255,
 * protocol 112. keepalived leaves the header checksum 0 and the kernel fills
 * it in (IP_HDRINCL); we fill it in, so the bytes equal what is on the wire.
 */
export function encodeIpv4Header(fields: Ipv4HeaderFields): Buffer {
  const ttl = fields.ttl ?? VRRP_TTL
  const protocol = fields.protocol ?? IPPROTO_VRRP
  const tos = fields.tos ?? VRRP_TOS
  checkRange(fields.payloadLength, 0, 0xffff - IPV4_HEADER_LENGTH, 'IPv4 payload length')
  checkRange(fields.id, 0, 0xffff, 'IPv4 id')
  checkRange(ttl, 0, 255, 'TTL')
  checkRange(protocol, 0, 255, 'protocol')
  checkRange(tos, 0, 255, 'TOS')
  const out = Buffer.alloc(IPV4_HEADER_LENGTH)
  out[0] = 0x45
  out[1] = tos
  out.writeUInt16BE(IPV4_HEADER_LENGTH + fields.payloadLength, 2)
  out.writeUInt16BE(fields.id, 4)
  out[8] = ttl
  out[9] = protocol
  requireAddress(fields.src, 4, 'source').copy(out, 12)
  requireAddress(fields.dst, 4, 'destination').copy(out, 16)
  out.writeUInt16BE(internetChecksum(out), 10)
  return out
}

/** An IPv4 VRRP packet as keepalived sends it: header and advert, checksums filled in. */
export function encodeIpv4Advert(advert: AdvertFields, ip: Omit<Ipv4HeaderFields, 'payloadLength' | 'protocol'>): Buffer {
  const payload = encodeAdvert(advert, { family: 4, src: ip.src, dst: ip.dst })
  return Buffer.concat([encodeIpv4Header({ ...ip, payloadLength: payload.length }), payload])
}

export interface Ipv4Header {
  readonly version: number
  /** IHL × 4. */
  readonly headerLength: number
  readonly tos: number
  readonly totalLength: number
  readonly id: number
  readonly flags: number
  readonly fragmentOffset: number
  readonly ttl: number
  readonly protocol: number
  readonly checksum: number
  readonly checksumValid: boolean
  readonly src: string
  readonly dst: string
}

/** An IPsec AH header (RFC 2402 §2) in front of the advert. */
export interface AhHeader {
  /** 112 for VRRP; keepalived ignores AH packets carrying anything else. */
  readonly nextHeader: number
  /** In 32-bit words minus 2: 4 for keepalived's 24-byte header. */
  readonly payloadLength: number
  /** keepalived puts the sender's IPv4 address here. */
  readonly spi: number
  readonly sequence: number
  /** The 96-bit HMAC-MD5 integrity check value. */
  readonly icv: Buffer
}

export interface Ipv4Packet {
  readonly header: Ipv4Header
  /** Present when the protocol is 51. */
  readonly ah: AhHeader | undefined
  /**
   * Everything after the IP header (and AH), as received: not cut to the
   * header's total length, because keepalived compares the two itself.
   */
  readonly payload: Buffer
}

/**
 * Split a raw-socket IPv4 packet into header, AH and VRRP payload. Only
 * structural problems fail (too short, not IPv4, IHL below 5); every field
 * is reported as found.
 */
export function decodeIpv4Packet(packet: Uint8Array): Decoded<Ipv4Packet> {
  const buf = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength)
  if (buf.length < IPV4_HEADER_LENGTH) return fail('too-short', `an IPv4 header needs ${IPV4_HEADER_LENGTH} bytes, got ${buf.length}`)
  const version = buf[0]! >> 4
  if (version !== 4) return fail('not-ipv4', `IP version ${version} is not 4`)
  const headerLength = (buf[0]! & 0x0f) * 4
  if (headerLength < IPV4_HEADER_LENGTH) return fail('bad-header-length', `IHL ${headerLength / 4} is below 5`)
  if (buf.length < headerLength) return fail('too-short', `IHL ${headerLength / 4} needs ${headerLength} bytes, got ${buf.length}`)
  const header: Ipv4Header = {
    version,
    headerLength,
    tos: buf[1]!,
    totalLength: buf.readUInt16BE(2),
    id: buf.readUInt16BE(4),
    flags: buf[6]! >> 5,
    fragmentOffset: buf.readUInt16BE(6) & 0x1fff,
    ttl: buf[8]!,
    protocol: buf[9]!,
    checksum: buf.readUInt16BE(10),
    checksumValid: internetChecksum(buf.subarray(0, headerLength)) === 0,
    src: bytesToAddress(buf.subarray(12, 16)),
    dst: bytesToAddress(buf.subarray(16, 20)),
  }
  if (header.protocol !== IPPROTO_AH) return { ok: true, header, ah: undefined, payload: buf.subarray(headerLength) }
  const ahEnd = headerLength + AH_HEADER_LENGTH
  if (buf.length < ahEnd) return fail('too-short', `an AH header needs ${AH_HEADER_LENGTH} bytes after the IP header, got ${buf.length - headerLength}`)
  const ah: AhHeader = {
    nextHeader: buf[headerLength]!,
    payloadLength: buf[headerLength + 1]!,
    spi: buf.readUInt32BE(headerLength + 4),
    sequence: buf.readUInt32BE(headerLength + 8),
    icv: Buffer.from(buf.subarray(headerLength + 12, ahEnd)),
  }
  return { ok: true, header, ah, payload: buf.subarray(ahEnd) }
}

