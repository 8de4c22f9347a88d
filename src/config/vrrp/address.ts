/**
 * One line of `virtual_ipaddress`, `virtual_ipaddress_excluded` or
 * `static_ipaddress` (reference §1.8.1), read the way vrrp_ipaddress.c's
 * alloc_ipaddress() reads it: the address first, then options in any order.
 */
import type { Word } from '../lexer.js'
import type { Statement } from '../tree.js'
import { type BuildContext, quoteWord, wordPos } from '../values.js'
import { checkPrefix, entryWords, maxPrefix, parsePrefixed } from './ip.js'
import type { VirtualAddress } from './model.js'

type Draft = { -readonly [K in keyof VirtualAddress]: VirtualAddress[K] }

/** Linux's IFNAMSIZ - 1: a longer label makes keepalived drop the address. */
const MAX_LABEL = 15

const SCOPES = new Set(['global', 'universe', 'site', 'link', 'host', 'nowhere'])

const FLAGS: Readonly<Record<string, keyof Draft>> = {
  home: 'home', '-nodad': 'noDad', mngtmpaddr: 'mngTmpAddr', noprefixroute: 'noPrefixRoute',
  autojoin: 'autoJoin', no_track: 'noTrack',
}

const WITH_VALUE = new Set(['dev', 'scope', 'broadcast', 'brd', 'label', 'peer', 'preferred_lft', 'track_group'])

export interface AddressKind {
  /** `static_ipaddress`: `track_group` allowed, `use_vmac` not. */
  readonly isStatic: boolean
}

/** Read one address line; undefined when keepalived would skip the address. */
export function readAddress(stmt: Statement, ctx: BuildContext, kind: AddressKind): VirtualAddress | undefined {
  const words = entryWords(stmt)
  const first = words[0]!
  const p = parsePrefixed(first.text)
  if (!p) {
    ctx.diags.error(wordPos(stmt, first), 'KA_CONF_BAD_VALUE', `'${first.text}' is not an IP address; the line is skipped`, { context: ctx.context })
    return undefined
  }
  const a: Draft = {
    pos: stmt.pos, address: p.address, family: p.family, prefix: checkPrefix(stmt, ctx, first, p),
    broadcast: undefined, dev: undefined, scope: undefined, label: undefined, peer: undefined,
    home: false, noDad: false, mngTmpAddr: false, noPrefixRoute: false, autoJoin: false, noTrack: false,
    preferredLft: undefined, useVmac: false, trackGroup: undefined,
  }
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!
    if (WITH_VALUE.has(w.text) && (w.text !== 'track_group' || kind.isStatic)) {
      const value = words[i + 1]
      if (!value) {
        ctx.diags.error(wordPos(stmt, w), 'KA_CONF_MISSING_VALUE', `'${w.text}' needs a value; address ${first.text} is skipped`, { context: ctx.context })
        return undefined
      }
      i++
      if (!readOption(stmt, ctx, a, w, value, first.text)) return undefined
    } else if (FLAGS[w.text]) {
      ;(a as Record<string, unknown>)[FLAGS[w.text]!] = true
    } else if (w.text === 'use_vmac' && !kind.isStatic) {
      a.useVmac = true
    } else {
      unknownWord(stmt, ctx, w)
    }
  }
  return finishAddress(stmt, ctx, a, kind)
}

/** False when the whole address must be dropped. */
function readOption(stmt: Statement, ctx: BuildContext, a: Draft, key: Word, value: Word, what: string): boolean {
  const at = wordPos(stmt, value)
  const report = (message: string, hint?: string): void => ctx.diags.error(at, 'KA_CONF_BAD_VALUE', message, { context: ctx.context, hint })
  switch (key.text) {
    case 'dev':
      if (a.dev !== undefined) {
        report(`'dev' given twice for ${what}; the address is skipped`)
        return false
      }
      a.dev = value.text
      return true
    case 'scope':
      if (SCOPES.has(value.text) || (/^\d+$/.test(value.text) && Number(value.text) <= 255)) a.scope = value.text
      else report(`invalid scope '${value.text}' for ${what}; ignored`, 'scopes are global, site, link, host, nowhere or a number 0-255')
      return true
    case 'brd':
    case 'broadcast':
      return readBroadcast(a, value, what, report)
    case 'label':
      if (value.text.length > MAX_LABEL) {
        report(`label '${value.text}' is longer than ${MAX_LABEL} characters; keepalived drops address ${what}`)
        return false
      }
      a.label = value.text
      return true
    case 'peer':
      readPeer(stmt, ctx, a, value, report)
      return true
    case 'preferred_lft':
      if (value.text === 'forever') a.preferredLft = 'forever'
      else if (/^\d+$/.test(value.text) && Number(value.text) <= 0xffffffff) a.preferredLft = Number(value.text)
      else report(`preferred_lft '${value.text}' is not a number of seconds or 'forever'; ignored`)
      return true
    case 'track_group':
      a.trackGroup = value.text
      return true
  }
  return true
}

function readBroadcast(a: Draft, value: Word, what: string, report: (m: string, h?: string) => void): boolean {
  if (a.family === 6) {
    report(`IPv6 address ${what} cannot have a broadcast address; the address is skipped`)
    return false
  }
  if (value.text !== '+' && value.text !== '-' && parsePrefixed(value.text)?.family !== 4) {
    report(`invalid broadcast address '${value.text}'; address ${what} is skipped`)
    return false
  }
  a.broadcast = value.text
  return true
}

function readPeer(stmt: Statement, ctx: BuildContext, a: Draft, value: Word, report: (m: string) => void): void {
  if (a.peer !== undefined) return report(`peer '${value.text}': another peer is already given; ignored`)
  const p = parsePrefixed(value.text)
  if (!p) return report(`invalid peer address '${value.text}'; ignored`)
  if (p.family !== a.family) return report(`peer address '${value.text}' is not of the address's family; ignored`)
  if (a.prefix !== maxPrefix(a.family)) {
    ctx.diags.warning(wordPos(stmt, value), 'KA_CONF_BAD_VALUE', 'an address with a peer takes its prefix from the peer; the address prefix is ignored', { context: ctx.context })
  }
  a.peer = p.address
  a.prefix = checkPrefix(stmt, ctx, value, p)
}

function unknownWord(stmt: Statement, ctx: BuildContext, w: Word): void {
  const looksLikeIp = parsePrefixed(w.text) !== undefined
  ctx.diags.error(wordPos(stmt, w), 'KA_CONF_BAD_VALUE', `unknown word '${w.text}' in an address line; ignored`, {
    context: ctx.context,
    hint: looksLikeIp ? 'one address per line: keepalived reads only the first address of a line' : undefined,
  })
}

/** keepalived's after-the-loop corrections. */
function finishAddress(stmt: Statement, ctx: BuildContext, a: Draft, kind: AddressKind): VirtualAddress {
  const warn = (message: string): void => ctx.diags.warning(stmt.pos, 'KA_CONF_BAD_VALUE', message, { context: ctx.context })
  if (a.broadcast !== undefined && a.peer !== undefined) {
    warn(`address ${a.address} has both a broadcast and a peer address; the broadcast address is ignored`)
    a.broadcast = undefined
  } else if ((a.broadcast === '+' || a.broadcast === '-') && a.prefix > 30) {
    warn(`prefix length ${a.prefix} of ${a.address} is too long for a computed broadcast address; ignored`)
    a.broadcast = undefined
  }
  if (a.family === 6) {
    if (a.scope !== undefined) warn(`IPv6 address ${a.address} cannot have a scope; ignored`)
    if (a.label !== undefined) warn(`IPv6 address ${a.address} cannot have a label; ignored`)
    a.scope = undefined
    a.label = undefined
    // keepalived deprecates a /128 VIP so it is never chosen as a source address.
    a.preferredLft ??= a.prefix === 128 ? 0 : 'forever'
  }
  if (kind.isStatic && a.trackGroup !== undefined && a.dev === undefined) {
    warn(`a static address needs 'dev' to be tracked by track_group ${a.trackGroup}; track_group ignored`)
    a.trackGroup = undefined
  }
  return a
}

/** The address as one canonical line; reading it back gives the same value. */
export function formatAddress(a: VirtualAddress): string {
  const full = a.prefix === maxPrefix(a.family)
  const words = [a.peer === undefined ? `${a.address}/${a.prefix}` : a.address]
  if (a.peer !== undefined) words.push('peer', full ? a.peer : `${a.peer}/${a.prefix}`)
  if (a.broadcast !== undefined) words.push('brd', a.broadcast)
  if (a.dev !== undefined) words.push('dev', a.dev)
  if (a.scope !== undefined) words.push('scope', a.scope)
  if (a.label !== undefined) words.push('label', a.label)
  for (const [word, key] of Object.entries(FLAGS)) if (a[key]) words.push(word)
  if (a.preferredLft !== undefined) words.push('preferred_lft', String(a.preferredLft))
  if (a.useVmac) words.push('use_vmac')
  if (a.trackGroup !== undefined) words.push('track_group', a.trackGroup)
  return words.map(quoteWord).join(' ')
}
