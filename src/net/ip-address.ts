/**
 * IPv4/IPv6 text ⇄ bytes, for sockaddrs, multicast requests and netlink
 * attributes. Node validates addresses (net.isIP) but does not convert them.
 */
import { isIPv4, isIPv6 } from 'node:net'

/** 4 bytes for IPv4 text, 16 for IPv6 text, undefined when it is neither. */
export function addressBytes(text: string): Buffer | undefined {
  if (isIPv4(text)) return Buffer.from(text.split('.').map(Number))
  if (isIPv6(text)) return ipv6Bytes(text)
  return undefined
}

/** The address family of an address's text: 4, 6, or undefined. */
export function addressFamily(text: string): 4 | 6 | undefined {
  return isIPv4(text) ? 4 : isIPv6(text) ? 6 : undefined
}

function ipv6Bytes(text: string): Buffer {
  // A scope (fe80::1%eth0) is not part of the address bytes.
  const bare = text.split('%')[0]!
  const out = Buffer.alloc(16)
  const [head, tail] = bare.includes('::') ? (bare.split('::') as [string, string]) : [bare, undefined]
  const groups = (part: string | undefined): number[] => {
    if (part === undefined || part === '') return []
    const words: number[] = []
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        // An embedded IPv4 address (::ffff:10.0.0.1) is the last two words.
        const v4 = g.split('.').map(Number)
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
      } else {
        words.push(parseInt(g, 16))
      }
    }
    return words
  }
  const first = groups(head)
  const last = groups(tail)
  first.forEach((w, i) => out.writeUInt16BE(w, i * 2))
  last.forEach((w, i) => out.writeUInt16BE(w, 16 - (last.length - i) * 2))
  return out
}

/** Text for 4 or 16 address bytes (IPv6 in RFC 5952 form, as `ip` prints it). */
export function addressText(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.')
  if (bytes.length !== 16) throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`)
  const words: number[] = []
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!)
  // The longest run of two or more zero words becomes "::" (the first one on a tie).
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && words[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':')
  if (bestStart < 0) return hex(words)
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLength))}`
}

/** Whether an IPv6 address's text is a multicast address (ff00::/8); IPv4 224.0.0.0/4. */
export function isMulticast(text: string): boolean {
  const b = addressBytes(text)
  if (!b) return false
  return b.length === 4 ? (b[0]! & 0xf0) === 0xe0 : b[0] === 0xff
}

/** A MAC address's 6 bytes, from `00:00:5e:00:01:33` form; undefined when malformed. */
export function macBytes(text: string): Buffer | undefined {
  const parts = text.split(':')
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) return undefined
  return Buffer.from(parts.map((p) => parseInt(p, 16)))
}

/** A MAC address as lower-case colon-separated text, as `ip link` prints it. */
export function macText(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':')
}
