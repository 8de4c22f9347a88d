/**
 * IP addresses between their text and wire forms, for the VRRP codec and the
 * frame builders. Parsing reuses the configuration's address arithmetic
 * (16-bit groups), so the daemon and the parser agree on what an address is.
 */
import { formatAddress, parseAddress } from '../config/lvs/address.js'

export type AddressFamily = 4 | 6

/** The 4 or 16 network-order bytes of an IPv4/IPv6 address, or undefined when `text` is not one. */
export function addressToBytes(text: string): Buffer | undefined {
  // A zone index (`fe80::1%eth0`) names the link, not the address.
  const groups = parseAddress(text.replace(/%.*$/, ''))
  if (!groups || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return undefined
  const out = Buffer.alloc(groups.length * 2)
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2))
  return out
}

/** The family of the address, by its size on the wire. */
export function familyOfBytes(bytes: Uint8Array): AddressFamily | undefined {
  return bytes.length === 4 ? 4 : bytes.length === 16 ? 6 : undefined
}

/** Dotted quad for 4 bytes, RFC 5952 text for 16 (what the log lines print). */
export function bytesToAddress(bytes: Uint8Array): string {
  if (familyOfBytes(bytes) === undefined) throw new RangeError(`an address has 4 or 16 bytes, not ${bytes.length}`)
  const groups: number[] = []
  for (let i = 0; i < bytes.length; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!)
  return formatAddress(groups)
}

/** Bytes of an address of the given family; throws when `text` is not one (a caller's bug, not wire input). */
export function requireAddress(text: string, family: AddressFamily, what: string): Buffer {
  const bytes = addressToBytes(text)
  if (!bytes || familyOfBytes(bytes) !== family) throw new RangeError(`${what} '${text}' is not an IPv${family} address`)
  return bytes
}

/** True for 224.0.0.0/4 and ff00::/8. */
export function isMulticast(bytes: Uint8Array): boolean {
  return bytes.length === 4 ? (bytes[0]! & 0xf0) === 0xe0 : bytes.length === 16 && bytes[0] === 0xff
}
