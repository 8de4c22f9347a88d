/**
 * Address comparison for the equal-priority tie-break (RFC 5798 §6.4.3: the
 * higher primary address wins; keepalived vrrp_saddr_cmp compares the raw
 * address bytes in network order).
 */
import { addressToBytes } from './address.js'

/** The bytes of an IPv4 or IPv6 address (the codec's parser, address.ts), or undefined if it is neither. */
export function addressBytes(address: string): number[] | undefined {
  const bytes = addressToBytes(address)
  return bytes && [...bytes]
}

/**
 * keepalived's addr_cmp: > 0 when `theirs` is higher than `ours`, < 0 when
 * lower, 0 when equal or not comparable (unknown own address, other family).
 */
export function compareAddresses(theirs: string, ours: string | undefined): number {
  if (ours === undefined) return 0
  const a = addressBytes(theirs)
  const b = addressBytes(ours)
  if (!a || !b || a.length !== b.length) return 0
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!
  }
  return 0
}
