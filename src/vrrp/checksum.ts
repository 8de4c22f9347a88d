/**
 * The Internet checksum (RFC 1071) and the pseudo-headers VRRP and ICMPv6 put
 * in front of it. Sums are plain numbers that callers chain: sum the
 * pseudo-header, then the payload, then {@link finishChecksum}. Every chunk
 * but the last must have an even length, because RFC 1071 pairs bytes across
 * the whole message, not per chunk.
 */

/** IP protocol numbers the pseudo-headers carry. */
export const IPPROTO_VRRP = 112
export const IPPROTO_ICMPV6 = 58

/**
 * Add `bytes` to a running one's-complement sum of 16-bit big-endian words
 * (RFC 1071 §4.1); an odd last byte is the high half of a word padded with zero.
 * The result is unfolded: a JS number holds 2^37 words before it loses
 * precision, far beyond any packet.
 */
export function onesComplementSum(bytes: Uint8Array, sum = 0): number {
  const even = bytes.length & ~1
  for (let i = 0; i < even; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!
  if (even < bytes.length) sum += bytes[even]! << 8
  return sum
}

/** Fold the carries back in (end-around carry) and complement: the 16-bit checksum field. */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000)
  return ~sum & 0xffff
}

/** The checksum of `bytes` after an optional pseudo-header sum. Zero over data that includes a correct checksum. */
export function internetChecksum(bytes: Uint8Array, sum = 0): number {
  return finishChecksum(onesComplementSum(bytes, sum))
}

/**
 * Sum of the IPv4 pseudo-header {source, destination, zero, protocol, length}
 * (RFC 768 layout, used by VRRPv3 over IPv4: RFC 5798 §5.2.8).
 */
export function ipv4PseudoHeaderSum(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): number {
  if (src.length !== 4 || dst.length !== 4) throw new RangeError('IPv4 pseudo-header needs 4-byte addresses')
  return onesComplementSum(dst, onesComplementSum(src)) + protocol + length
}

/**
 * Sum of the IPv6 pseudo-header {source, destination, 32-bit upper-layer
 * length, 3 zero bytes, next header} (RFC 2460 §8.1). The kernel computes this
 * for VRRP when IPV6_CHECKSUM is set; we compute it to build and check frames.
 */
export function ipv6PseudoHeaderSum(src: Uint8Array, dst: Uint8Array, nextHeader: number, length: number): number {
  if (src.length !== 16 || dst.length !== 16) throw new RangeError('IPv6 pseudo-header needs 16-byte addresses')
  return onesComplementSum(dst, onesComplementSum(src)) + Math.floor(length / 0x10000) + (length & 0xffff) + nextHeader
}

/**
 * Update a checksum after a 16-bit word of the data changed from `oldWord` to
 * `newWord`, without summing the data again (RFC 1624 eqn. 3:
 * HC' = ~(~HC + ~m + m')). keepalived does this per unicast peer and on
 * priority changes.
 */
export function adjustChecksum(checksum: number, oldWord: number, newWord: number): number {
  return finishChecksum((~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff))
}
