/**
 * One line of `virtual_routes` / `static_routes` in `ip route add` syntax, read
 * as vrrp_iproute.c's alloc_route() reads it: the destination, the few parts the
 * daemon reasons about (src, via, dev, table, no_track, track_group) and the
 * other options kept as words. The messages are keepalived's, on the same line.
 */
import type { Word } from '../lexer.js'
import type { Statement } from '../tree.js'
import { type BuildContext, type IpFamily, quoteWord } from '../values.js'
import { checkPrefix, failLine, type LineReader, lineReader, lineValue, parsePrefixed, setLineFamily, SkipLine, warnLine } from './ip.js'
import type { IpRoute } from './model.js'

type Draft = Omit<{ -readonly [K in keyof IpRoute]: IpRoute[K] }, 'family' | 'destination' | 'options'> & {
  family: IpFamily | undefined
  destination: string | undefined
  protocol: string | undefined
  options: string[]
}

export const ROUTE_TYPES = new Set(['unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat', 'xresolve'])

/** Options that take one value; the `lock` ones may have `lock` before it. */
const ONE_VALUE = new Set([
  'metric', 'priority', 'preference', 'tos', 'dsfield', 'scope', 'hoplimit', 'window', 'initcwnd', 'initrwnd',
  'features', 'quickack', 'fastopen_no_cookie', 'ttl-propagate', 'realms', 'vrf',
])
const LOCKABLE = new Set(['mtu', 'advmss', 'rtt', 'rttvar', 'reordering', 'cwnd', 'ssthresh', 'rto_min', 'congctl'])
const FLAGS = new Set(['onlink', 'append', 'prepend'])
const IPV6_ONLY = new Set(['expires', 'pref'])

/** Table names iproute2 always knows; others need /etc/iproute2/rt_tables. */
const TABLE_NAMES = new Set(['main', 'local', 'default', 'unspec'])

type Reader = LineReader

function readAddressValue(r: Reader, d: Draft, what: string): string {
  const w = lineValue(r)
  const p = parsePrefixed(w.text)
  if (!p || p.prefix !== undefined) failLine(r, w, `invalid route ${what} address '${w.text}'`)
  setLineFamily(r, d, p.family, w)
  return p.address
}

/**
 * keepalived 2.2.7 steps over the word after `inet`/`inet6` (the option and the
 * loop both advance), so `inet6 default via ...` loses its destination.
 */
function readFamilyWord(r: Reader, d: Draft, w: Word): void {
  setLineFamily(r, d, w.text === 'inet6' ? 6 : 4, w)
  const skipped = r.words[++r.i]
  if (skipped) warnLine(r, skipped, `keepalived ignores the word '${skipped.text}' after '${w.text}'`, `write '${w.text}' at the end of the line`)
}

function readVia(r: Reader, d: Draft, w: Word): void {
  if (w.text === 'gw') warnLine(r, w, "'gw' in routes is deprecated; use 'via'")
  if (r.words[r.i + 1]?.text === 'inet' || r.words[r.i + 1]?.text === 'inet6') {
    setLineFamily(r, d, r.words[r.i + 1]!.text === 'inet6' ? 6 : 4, r.words[r.i + 1]!)
    r.i++
  }
  d.via = readAddressValue(r, d, 'via')
}

function readDestination(r: Reader, d: Draft): void {
  let w = r.words[r.i]!
  if (w.text === 'to') w = r.words[++r.i] ?? failLine(r, w, "'to' needs a destination")
  if (ROUTE_TYPES.has(w.text)) {
    d.type = w.text
    w = r.words[++r.i] ?? failLine(r, w, `'${w.text}' needs a destination`)
  }
  if (w.text === 'default' || w.text === 'any' || w.text === 'all') {
    d.destination = 'default'
    return
  }
  if (w.text === 'default6') {
    setLineFamily(r, d, 6, w)
    d.destination = 'default'
    return
  }
  const p = parsePrefixed(w.text)
  if (!p) failLine(r, w, `unknown route keyword or invalid destination '${w.text}'`)
  setLineFamily(r, d, p.family, w)
  d.destination = `${p.address}/${checkPrefix(r.stmt, r.ctx, w, p)}`
}

function readOne(r: Reader, d: Draft): void {
  const w = r.words[r.i]!
  const t = w.text
  if (t === 'inet' || t === 'inet6') return readFamilyWord(r, d, w)
  if (t === 'src') d.src = readAddressValue(r, d, 'src')
  else if (t === 'via' || t === 'gw') readVia(r, d, w)
  else if (t === 'dev' || t === 'oif') d.dev = lineValue(r).text
  else if (t === 'table') readTable(r, d)
  else if (t === 'protocol') d.protocol = lineValue(r).text
  else if (t === 'no_track') d.noTrack = true
  else if (t === 'track_group' && r.allowTrackGroup) d.trackGroup = lineValue(r).text
  else if (t === 'from') readFrom(r, d, w)
  else if (t === 'or') readOr(r, d, w)
  else if (t === 'as') readAs(r, d, w)
  else if (IPV6_ONLY.has(t)) {
    if (d.family === 4) failLine(r, w, `'${t}' is only valid for IPv6 routes`)
    d.family = 6
    d.options.push(t, lineValue(r).text)
  } else if (ONE_VALUE.has(t)) d.options.push(t, lineValue(r).text)
  else if (LOCKABLE.has(t)) {
    d.options.push(t)
    if (r.words[r.i + 1]?.text === 'lock') d.options.push(r.words[++r.i]!.text)
    d.options.push(lineValue(r).text)
  } else if (FLAGS.has(t)) d.options.push(t)
  else if (t === 'nexthop' || t === 'encap') {
    // Nexthops and encapsulations run to the end of the line.
    d.options.push(...r.words.slice(r.i).map((x) => x.text))
    r.i = r.words.length
  } else readDestination(r, d)
}

function readTable(r: Reader, d: Draft): void {
  const v = lineValue(r)
  if (!/^\d+$/.test(v.text) && !TABLE_NAMES.has(v.text)) {
    failLine(r, v, `routing table '${v.text}' not found`, 'use a number, or a name listed in /etc/iproute2/rt_tables')
  }
  d.table = v.text
}

function readFrom(r: Reader, d: Draft, w: Word): void {
  const v = lineValue(r)
  const p = parsePrefixed(v.text)
  if (!p) failLine(r, v, `invalid route from address '${v.text}'`)
  if (p.family !== 6) failLine(r, v, `a route 'from' address is only supported with IPv6 (${v.text})`)
  setLineFamily(r, d, 6, v)
  d.options.push(w.text, v.text)
}

function readOr(r: Reader, d: Draft, w: Word): void {
  warnLine(r, w, "'or' in routes is deprecated; use 'nexthop'")
  const v = lineValue(r)
  if (!parsePrefixed(v.text)) failLine(r, v, `invalid 'or' address '${v.text}'`)
  d.options.push(w.text, v.text)
}

function readAs(r: Reader, d: Draft, w: Word): void {
  if (r.words[r.i + 1]?.text === 'to') r.i++
  warnLine(r, w, "'as to' is for MPLS only; ignored")
  d.options.push(w.text, 'to', lineValue(r).text)
}

export interface RouteKind {
  /** `static_routes`: `track_group` allowed. */
  readonly isStatic: boolean
}

export function readRoute(stmt: Statement, ctx: BuildContext, kind: RouteKind): IpRoute | undefined {
  const r = lineReader(stmt, ctx, 'route', kind.isStatic)
  const d: Draft = {
    pos: stmt.pos, family: undefined, type: undefined, destination: undefined, src: undefined, via: undefined, dev: undefined,
    table: undefined, noTrack: false, trackGroup: undefined, options: [], protocol: undefined,
  }
  try {
    for (; r.i < r.words.length; r.i++) readOne(r, d)
    if (d.destination === undefined) failLine(r, undefined, 'a route must have a destination')
  } catch (err) {
    if (err instanceof SkipLine) return undefined
    throw err
  }
  return finishRoute(r, d)
}

function finishRoute(r: Reader, d: Draft): IpRoute {
  if (d.protocol !== undefined) d.options.push('protocol', d.protocol)
  if (!d.noTrack) {
    if (d.protocol !== undefined && d.protocol !== 'keepalived' && d.protocol !== '18') {
      warnLine(r, undefined, "a tracked route's protocol must be keepalived (18); keepalived resets it", "add 'no_track' to keep the protocol")
    }
    if (d.dev === undefined) {
      warnLine(r, undefined, `cannot track route ${d.destination} with no interface specified; not tracking`, "add 'dev IF', or 'no_track' to say so")
      d.noTrack = true
    }
  }
  if (d.trackGroup !== undefined && d.dev === undefined) {
    warnLine(r, undefined, `a static route needs 'dev' to be tracked by track_group ${d.trackGroup}; track_group ignored`)
    d.trackGroup = undefined
  }
  const family = d.family ?? 4
  const destination = d.destination === 'default' ? (family === 4 ? '0.0.0.0/0' : '::/0') : d.destination!
  const { protocol: _p, ...route } = d
  return { ...route, family, destination }
}

/** The route as one canonical line; reading it back gives the same value. */
export function formatRoute(route: IpRoute): string {
  const words: string[] = []
  if (route.type !== undefined) words.push(route.type)
  words.push(route.destination)
  if (route.src !== undefined) words.push('src', route.src)
  if (route.via !== undefined) words.push('via', route.via)
  if (route.dev !== undefined) words.push('dev', route.dev)
  if (route.table !== undefined) words.push('table', route.table)
  if (route.noTrack) words.push('no_track')
  if (route.trackGroup !== undefined) words.push('track_group', route.trackGroup)
  // Options last: a `nexthop` runs to the end of the line.
  words.push(...route.options)
  return words.map(quoteWord).join(' ')
}

/** Interfaces a route names: its `dev` and those of its nexthops. */
export function routeInterfaces(route: IpRoute): string[] {
  const names = route.dev !== undefined ? [route.dev] : []
  route.options.forEach((w, i) => {
    if (w === 'dev' && route.options[i + 1] !== undefined) names.push(route.options[i + 1]!)
  })
  return names
}

