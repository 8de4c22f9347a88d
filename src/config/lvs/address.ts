/**
 * Just enough address arithmetic for virtual_server_group ranges and for
 * comparing addresses written differently (`2001:db8::1` vs `2001:db8:0::1`).
 * Addresses are numbers in 16-bit groups: 2 for IPv4, 8 for IPv6.
 */
import { isIP } from 'node:net'

export type Groups = number[]

export function parseAddress(text: string): Groups | undefined {
  const family = isIP(text)
  if (family === 4) {
    const o = text.split('.').map(Number)
    return [(o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!]
  }
  return family === 6 ? parseIPv6(text) : undefined
}

function parseIPv6(text: string): Groups {
  let head = text
  let tail: number[] = []
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4) {
    tail = parseAddress(v4[1]!)!
    head = text.slice(0, v4.index + 1) + '0:0'
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined]
  const words = (s: string | undefined): number[] => (s ? s.split(':').filter((w) => w !== '').map((w) => parseInt(w, 16)) : [])
  const l = words(left)
  const r = words(right)
  const groups = right === undefined ? l : [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r]
  if (v4) groups.splice(6, 2, ...tail)
  return groups
}

export function formatAddress(groups: Groups): string {
  if (groups.length === 2) return [groups[0]! >> 8, groups[0]! & 255, groups[1]! >> 8, groups[1]! & 255].join('.')
  // RFC 5952: the longest run of two or more zero groups becomes `::`.
  let best = -1
  let bestLen = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) { best = i; bestLen = j - i }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (best < 0) return hex.join(':')
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`
}

/** One spelling per address, for duplicate detection. */
export function canonicalAddress(text: string): string {
  if (!text.includes(':')) return text
  const g = parseAddress(text)
  return g ? formatAddress(g) : text
}

export function compareAddresses(a: Groups, b: Groups): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return 0
}

/** The last address of `prefix` bits starting at `groups`, or undefined when host bits are set. */
export function prefixEnd(groups: Groups, prefix: number): Groups | undefined {
  const end = groups.slice()
  for (let i = 0; i < groups.length; i++) {
    const bitsBefore = i * 16
    const hostBits = Math.min(16, Math.max(0, bitsBefore + 16 - prefix))
    const mask = hostBits === 0 ? 0 : (0xffff >> (16 - hostBits)) & 0xffff
    if (groups[i]! & mask) return undefined
    end[i] = groups[i]! | mask
  }
  return end
}

/** True for fe80::/10, where a checker needs `bind_if`. */
export function isLinkLocalIPv6(text: string): boolean {
  const g = text.includes(':') ? parseAddress(text) : undefined
  return g !== undefined && (g[0]! & 0xffc0) === 0xfe80
}
