/**
 * Address comparison for the equal-priority tie-break (RFC 5798 §6.4.3: the
 * higher primary address wins; keepalived vrrp_saddr_cmp compares the raw
 * address bytes in network order).
 */

function ipv4Bytes(address: string): number[] | undefined {
  const parts = address.split('.')
  if (parts.length !== 4) return undefined
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN))
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : undefined
}

function ipv6Bytes(address: string): number[] | undefined {
  const bare = address.split('%')[0]!
  const halves = bare.split('::')
  if (halves.length > 2) return undefined
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'))
  const head = groups(halves[0]!)
  const tail = halves.length === 2 ? groups(halves[1]!) : []
  // An embedded IPv4 tail (::ffff:10.0.0.1) is two groups.
  const last = tail.length ? tail : head
  const v4 = last.length && last[last.length - 1]!.includes('.') ? ipv4Bytes(last.pop()!) : undefined
  if (v4) last.push(((v4[0]! << 8) | v4[1]!).toString(16), ((v4[2]! << 8) | v4[3]!).toString(16))
  const missing = 8 - head.length - tail.length
  if (halves.length === 1 ? missing !== 0 : missing < 0) return undefined
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail]
  const bytes: number[] = []
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined
    const n = parseInt(g, 16)
    bytes.push(n >> 8, n & 0xff)
  }
  return bytes
}

/** The bytes of an IPv4 or IPv6 address, or undefined if it is neither. */
export function addressBytes(address: string): number[] | undefined {
  return address.includes(':') ? ipv6Bytes(address) : ipv4Bytes(address)
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
