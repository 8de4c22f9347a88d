/**
 * Receive validation of one advert for one instance, in keepalived 2.2.7's
 * order (vrrp_check_packet, reference §5.2), with its log lines and stats
 * counters. A packet wrong in two ways reports what keepalived reports: the
 * earlier check. Pure and total: every input gets a verdict, nothing throws.
 */
import { addressToBytes, type AddressFamily, isMulticast } from './address.js'
import {
  type Advert, AH_HEADER_LENGTH, AUTH_AH, AUTH_NONE, AUTH_PASS, advertLength, decodeAdvert, IPPROTO_VRRP,
  IPV4_HEADER_LENGTH, passwordBytes, readVrrpHeader, VRRP_AUTH_LENGTH, VRRP_MCAST_GROUP4, VRRP_TTL,
  VRRP_TYPE_ADVERT, verifyAdvertChecksum, type VrrpVersion,
} from './packet.js'

/**
 * Per-instance counters, named after the lines of keepalived's stats file
 * (SIGUSR2, reference §3.2), plus the two it keeps for SNMP only.
 */
export interface VrrpStats {
  /** Advertisements: Received. */
  advertsReceived: number
  /** Advertisements: Sent. */
  advertsSent: number
  becameMaster: number
  releasedMaster: number
  /** Packet Errors: Length (wrong size, or IP total length mismatch). */
  lengthErrors: number
  /** Packet Errors: TTL. */
  ttlErrors: number
  /** Packet Errors: Invalid Type. */
  invalidTypeErrors: number
  /** Packet Errors: Advertisement Interval. keepalived 2.2.7 prints it but never increments it. */
  advertIntervalErrors: number
  /** Packet Errors: Address List. */
  addressListErrors: number
  /** Authentication Errors: Invalid Type. */
  authInvalidType: number
  /** Authentication Errors: Type Mismatch. */
  authTypeMismatch: number
  /** Authentication Errors: Failure. */
  authFailure: number
  /** Priority Zero: Received. */
  priorityZeroReceived: number
  /** Priority Zero: Sent. */
  priorityZeroSent: number
  /** Not in the stats file: keepalived counts wrong versions for SNMP (vrrpStatsVersionErrors). */
  versionErrors: number
  /** Not in the stats file: keepalived counts bad checksums for SNMP (vrrpStatsChecksumErrors). */
  checksumErrors: number
}

/** All counters at zero: a new instance, or after SIGRTMAX-1 (stats clear). */
export function emptyStats(): VrrpStats {
  return {
    advertsReceived: 0, advertsSent: 0, becameMaster: 0, releasedMaster: 0,
    lengthErrors: 0, ttlErrors: 0, invalidTypeErrors: 0, advertIntervalErrors: 0, addressListErrors: 0,
    authInvalidType: 0, authTypeMismatch: 0, authFailure: 0,
    priorityZeroReceived: 0, priorityZeroSent: 0, versionErrors: 0, checksumErrors: 0,
  }
}

/** What the socket layer saw. */
export interface ReceivedPacket {
  readonly family: AddressFamily
  /** IPv4 TTL or IPv6 hop limit; undefined when the socket could not tell (keepalived's -1: not checked). */
  readonly ttl: number | undefined
  readonly source: string
  /** Undefined when unknown (IPv6 without IPV6_PKTINFO): the multicast/unicast check is then skipped. */
  readonly destination: string | undefined
  /** IPv4 protocol was 51 (AH). */
  readonly ahPresent: boolean
  /** The AH header's next header, when there is one. */
  readonly ahNextHeader?: number | undefined
  /** The VRRP header onwards (after the IP header and AH). */
  readonly payload: Buffer
  /** IPv4 IHL × 4; default 20. keepalived's lengths include it. */
  readonly ipHeaderLength?: number | undefined
  /** IPv4 total length from the header, when known. */
  readonly totalLength?: number | undefined
}

/** The unicast_peer entry fields the checks use (the config's UnicastPeer fits). */
export interface ExpectedPeer {
  readonly address: string
  readonly minTtl: number | undefined
  readonly maxTtl: number | undefined
}

/** What the instance expects (from its configuration and its state). */
export interface InstanceExpectation {
  /** The instance name, as keepalived's log lines print it: `(VI_1) ...`. */
  readonly name: string
  readonly version: VrrpVersion
  readonly vrid: number
  /** The config's `authentication` block; ignored for VRRPv3, as keepalived ignores it. */
  readonly authentication: { readonly type: 'PASS' | 'AH'; readonly password: string } | undefined
  /** The configured advert_int in centiseconds. */
  readonly advertIntervalCs: number
  /** The `virtual_ipaddress` entries (never the excluded ones), as text. */
  readonly virtualAddresses: readonly string[]
  /** Empty for a multicast instance. */
  readonly unicastPeers: readonly ExpectedPeer[]
  /** The instance's `check_unicast_src` or the global `vrrp_check_unicast_src`. */
  readonly checkUnicastSrc: boolean
  readonly skipCheckAdvAddr: boolean
  /**
   * The master whose adverts a BACKUP last accepted. With skip_check_adv_addr,
   * keepalived checks the address list only for a different sender; undefined
   * (no master known, or MASTER state) always checks.
   */
  readonly currentMaster?: string | undefined
  /** global_defs `vrrp_mcast_group4`, for the pre-1.3.6 unicast checksum; default 224.0.0.18. */
  readonly mcastGroup4?: string | undefined
  /** keepalived's `old_unicast_checksum`: `never`, detect on the first mismatch (default), or in use. */
  readonly oldUnicastChecksum?: 'never' | 'detect' | 'in-use' | undefined
}

/** Stable codes for every drop. */
export type AdvertRejection =
  | 'header-too-short' | 'other-vrid' | 'ah-unexpected' | 'ah-missing' | 'length' | 'ttl' | 'version'
  | 'auth-invalid-type' | 'auth-type-mismatch' | 'auth-password' | 'ah-not-vrrp' | 'ah-not-implemented'
  | 'advert-interval' | 'type' | 'address-count' | 'total-length' | 'checksum' | 'cast-mismatch'
  | 'address-missing' | 'unicast-source' | 'unicast-ttl' | 'undecodable'

export type AdvertCheck =
  | {
    readonly ok: true
    readonly advert: Advert
    /** Lines keepalived logs while accepting (the old unicast checksum being detected). */
    readonly notes: readonly string[]
    /** Set when this advert switched the instance to the pre-1.3.6 unicast checksum. */
    readonly useOldUnicastChecksum: boolean
  }
  | {
    readonly ok: false
    readonly reason: AdvertRejection
    /** The error counter keepalived increments; undefined where it counts nothing. */
    readonly counter: keyof VrrpStats | undefined
    /** keepalived's log line; undefined where it drops silently. */
    readonly message: string | undefined
    /** keepalived counted it in "Advertisements: Received" before rejecting it (address-list checks). */
    readonly countedAsReceived: boolean
  }

type Rejection = Extract<AdvertCheck, { ok: false }>

function reject(reason: AdvertRejection, counter: keyof VrrpStats | undefined, message: string | undefined, countedAsReceived = false): Rejection {
  return { ok: false, reason, counter, message, countedAsReceived }
}

const AUTH_CODES = { PASS: AUTH_PASS, AH: AUTH_AH } as const

/** Check one received advert against one instance; see the module comment. */
export function checkAdvert(packet: ReceivedPacket, instance: InstanceExpectation): AdvertCheck {
  try {
    return checkInOrder(packet, instance)
  } catch (err) {
    // Unreachable by construction (every read is bounds-checked); kept so that
    // the receive path can never be stopped by one packet.
    return reject('undecodable', undefined, `(${instance.name}) advert dropped: ${(err as Error).message}`)
  }
}

function checkInOrder(packet: ReceivedPacket, instance: InstanceExpectation): AdvertCheck {
  const name = `(${instance.name})`
  const { family, payload } = packet
  const ipHeaderLength = family === 4 ? (packet.ipHeaderLength ?? IPV4_HEADER_LENGTH) : 0
  const received = ipHeaderLength + (family === 4 && packet.ahPresent ? AH_HEADER_LENGTH : 0) + payload.length
  const multicast = instance.unicastPeers.length === 0
  const authType = instance.version === 2 && instance.authentication ? AUTH_CODES[instance.authentication.type] : AUTH_NONE

  // vrrp_get_header: before any instance is chosen, so no instance name and no counter.
  const header = readVrrpHeader(payload)
  if (!header) {
    const what = family === 6 ? 'IPv6 VRRP packet' : packet.ahPresent ? 'IPv4 VRRP packet with AH' : 'IPv4 VRRP packet'
    return reject('header-too-short', undefined, `${what} too short - ${received} bytes`)
  }
  // The socket layer demultiplexes on VRID; an advert for another VRID is not ours to judge.
  if (header.vrid !== instance.vrid) return reject('other-vrid', undefined, undefined)

  // 1. AH present exactly when we use AH (IPv4 only).
  if (family === 4 && packet.ahPresent !== (authType === AUTH_AH)) {
    return packet.ahPresent
      ? reject('ah-unexpected', 'authTypeMismatch', `${name} Received AH header but auth type not AH`)
      : reject('ah-missing', 'authTypeMismatch', `${name} No AH header but auth type is AH`)
  }

  // 2. Exact length, from the advert's own version and address count.
  const expected = ipHeaderLength + (family === 4 && authType === AUTH_AH ? AH_HEADER_LENGTH : 0) +
    advertLength(header.version, family, header.addressCount)
  if (received !== expected) {
    return reject('length', 'lengthErrors',
      `${name} vrrp packet too ${received > expected ? 'long' : 'short'}, length ${received} and expect ${expected}`)
  }

  // 3. TTL/hop limit 255, multicast only (unicast peers may be routed).
  if (multicast && packet.ttl !== undefined && packet.ttl !== VRRP_TTL) {
    return reject('ttl', 'ttlErrors', `${name} invalid TTL/HL. Received ${packet.ttl} and expect ${VRRP_TTL}`)
  }

  // 4. v2 and v3 do not interoperate. keepalived counts this for SNMP only.
  if (header.version !== instance.version) {
    return reject('version', 'versionErrors', `${name} wrong version. Received ${header.version} and expect ${instance.version}`)
  }

  // 5. VRRPv2: authentication, then the advert interval.
  if (instance.version === 2) {
    const rejection = checkV2Authentication(packet, instance, header.authType, authType, received, ipHeaderLength)
    if (rejection) return rejection
    if (instance.advertIntervalCs !== header.advertIntervalCs) {
      // keepalived drops without counting: its "Advertisement Interval" stays 0.
      return reject('advert-interval', undefined,
        `${name} advertisement interval mismatch mine=${Math.floor(instance.advertIntervalCs / 100)} sec rcv'd=${header.advertIntervalCs / 100} sec`)
    }
  }

  // 6. Type.
  if (header.type !== VRRP_TYPE_ADVERT) {
    return reject('type', 'invalidTypeErrors', `${name} Invalid packet type. ${header.type} and expect ${VRRP_TYPE_ADVERT}`)
  }

  // 7. Address count (keepalived's skip_check_adv_addr spares a known master).
  const checkAddresses = !instance.skipCheckAdvAddr || instance.currentMaster === undefined ||
    !sameAddress(instance.currentMaster, packet.source)
  const vipCount = instance.virtualAddresses.length
  if (checkAddresses && header.addressCount !== vipCount) {
    return reject('address-count', 'addressListErrors',
      `${name} received an unexpected ip number count ${header.addressCount}, expected ${vipCount}!`)
  }

  // 8. IPv4 total length against what arrived.
  if (family === 4 && packet.totalLength !== undefined && packet.totalLength !== received) {
    return reject('total-length', 'lengthErrors',
      `${name} ip_tot_len mismatch against received length. ${packet.totalLength} and received ${received}`)
  }

  // 9. Checksum; the kernel verifies IPv6 ones (IPV6_CHECKSUM).
  const notes: string[] = []
  let useOldUnicastChecksum = false
  if (family === 4) {
    const checksum = checkIpv4Checksum(packet, instance)
    if (checksum === 'bad') return reject('checksum', 'checksumErrors', `${name} Invalid VRRPv${instance.version} checksum`)
    if (checksum === 'old-unicast') {
      useOldUnicastChecksum = true
      notes.push(`${name} Setting unicast VRRPv3 checksum to old version`)
    }
  }

  // 10. A multicast instance takes only multicast, a unicast one only unicast.
  const destination = packet.destination === undefined ? undefined : addressToBytes(packet.destination)
  if (destination && isMulticast(destination) !== multicast) {
    return reject('cast-mismatch', 'addressListErrors',
      `${name} Expected ${multicast ? 'mult' : 'un'}icast packet but received ${multicast ? 'un' : 'mult'}icast packet`)
  }

  // From here on keepalived has counted the advert as received.
  const decoded = decodeAdvert(payload, family)
  if (!decoded.ok) return reject('undecodable', undefined, `${name} advert dropped: ${decoded.detail}`, true)
  const advert = decoded.advert

  if (checkAddresses) {
    // 11. Every VIP we would advertise must be in the advert, in any order.
    const advertised = new Set(advert.addresses.map((a) => canonical(a)))
    for (const vip of instance.virtualAddresses) {
      if (!advertised.has(canonical(vip))) {
        return reject('address-missing', 'addressListErrors',
          `${name} ip address associated with VRID ${instance.vrid} not present in MASTER advert: ${vip}`, true)
      }
    }
    // 12. check_unicast_src: the sender must be a peer, and within its TTL range.
    if (!multicast && instance.checkUnicastSrc) {
      const peer = instance.unicastPeers.find((p) => sameAddress(p.address, packet.source))
      if (!peer) return reject('unicast-source', undefined, `${name} unicast source address ${packet.source} not a unicast peer`, true)
      const minTtl = peer.minTtl ?? 0
      const maxTtl = peer.maxTtl ?? 255
      if (packet.ttl !== undefined && (packet.ttl < minTtl || packet.ttl > maxTtl)) {
        return reject('unicast-ttl', 'ttlErrors', `${name} TTL/HL ${packet.ttl} not in range ${minTtl} - ${maxTtl}`, true)
      }
    }
  }
  return { ok: true, advert, notes, useOldUnicastChecksum }
}

function checkV2Authentication(
  packet: ReceivedPacket, instance: InstanceExpectation, received: number, ours: number, length: number, ipHeaderLength: number,
): Rejection | undefined {
  const name = `(${instance.name})`
  if (received !== AUTH_NONE && received !== AUTH_PASS && received !== AUTH_AH) {
    return reject('auth-invalid-type', 'authInvalidType', `${name} Invalid auth type: ${received}`)
  }
  if (received !== ours) return reject('auth-type-mismatch', 'authTypeMismatch', `${name} received a ${received} auth, expecting ${ours}!`)
  if (ours === AUTH_PASS) {
    // keepalived reads the password at ip + tot_len - 8, trusting the IP header's length.
    const end = (packet.totalLength ?? length) - ipHeaderLength
    const got = end >= VRRP_AUTH_LENGTH && end <= packet.payload.length ? packet.payload.subarray(end - VRRP_AUTH_LENGTH, end) : undefined
    if (!got || !constantTimeEqual(got, passwordBytes(instance.authentication!.password))) {
      return reject('auth-password', 'authFailure', `${name} received an invalid passwd!`)
    }
  } else if (ours === AUTH_AH) {
    // An AH packet for another protocol is not a VRRP advert: dropped without a word.
    if (packet.ahNextHeader !== IPPROTO_VRRP) return reject('ah-not-vrrp', undefined, undefined)
    return reject('ah-not-implemented', undefined, `${name} AH authentication is not implemented; advert dropped`)
  }
  return undefined
}

/** 'ok', 'bad', or 'old-unicast' when only the pre-1.3.6 pseudo-header (multicast group as destination) matches. */
function checkIpv4Checksum(packet: ReceivedPacket, instance: InstanceExpectation): 'ok' | 'bad' | 'old-unicast' {
  const payload = packet.payload
  if (instance.version === 2) return verifyAdvertChecksum(payload, { family: 4 }) ? 'ok' : 'bad'
  const group = instance.mcastGroup4 ?? VRRP_MCAST_GROUP4
  const mode = instance.oldUnicastChecksum ?? 'detect'
  const dst = mode === 'in-use' ? group : packet.destination
  if (dst !== undefined && safeVerify(payload, packet.source, dst)) return 'ok'
  const unicast = instance.unicastPeers.length > 0
  if (unicast && mode === 'detect' && dst !== group && safeVerify(payload, packet.source, group)) return 'old-unicast'
  return 'bad'
}

function safeVerify(payload: Buffer, src: string, dst: string): boolean {
  if (!addressToBytes(src) || !addressToBytes(dst)) return false
  try {
    return verifyAdvertChecksum(payload, { family: 4, src, dst })
  } catch {
    return false
  }
}

function canonical(address: string): string {
  return addressToBytes(address)?.toString('hex') ?? address
}

function sameAddress(a: string, b: string): boolean {
  return canonical(a) === canonical(b)
}

/** keepalived compares passwords in constant time (memcmp_constant_time). */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length
  for (let i = 0; i < Math.min(a.length, b.length); i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

/**
 * The counters keepalived would change for this verdict (reference §3.2): the
 * error counter, "Advertisements: Received" once the packet got past the
 * multicast/unicast check, and "Priority Zero: Received" for an accepted
 * priority-0 advert. Returns new counters; `stats` is left alone.
 */
export function countAdvertCheck(stats: VrrpStats, result: AdvertCheck): VrrpStats {
  const next = { ...stats }
  if (result.ok) {
    next.advertsReceived++
    if (result.advert.priority === 0) next.priorityZeroReceived++
  } else {
    if (result.counter) next[result.counter]++
    if (result.countedAsReceived) next.advertsReceived++
  }
  return next
}
