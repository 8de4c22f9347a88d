/** Address words shared by VIPs, routes and rules (`IP[/PREFIX]`), and the word reader of route and rule lines. */
import type { Word } from '../lexer.js'
import type { Statement } from '../tree.js'
import { type BuildContext, type IpFamily, ipFamily, wordPos } from '../values.js'

export interface Prefixed {
  readonly address: string
  readonly family: IpFamily
  /** As written; undefined when there was none. May be out of range: see {@link checkPrefix}. */
  readonly prefix: number | undefined
}

export function maxPrefix(family: IpFamily): number {
  return family === 4 ? 32 : 128
}

/** `IP` or `IP/N`; undefined when the address is not one. */
export function parsePrefixed(text: string): Prefixed | undefined {
  const slash = text.indexOf('/')
  const address = slash < 0 ? text : text.slice(0, slash)
  const family = ipFamily(address)
  if (!family) return undefined
  if (slash < 0) return { address, family, prefix: undefined }
  const p = text.slice(slash + 1)
  if (!/^\d+$/.test(p)) return undefined
  return { address, family, prefix: Number(p) }
}

/**
 * The prefix to use: keepalived replaces an out-of-range one by the maximum
 * (`Invalid address prefix len 33 for address 10.0.0.3/33 - using 32`).
 */
export function checkPrefix(stmt: Statement, ctx: BuildContext, word: Word, p: Prefixed): number {
  const max = maxPrefix(p.family)
  if (p.prefix === undefined) return max
  if (p.prefix <= max) return p.prefix
  ctx.diags.warning(wordPos(stmt, word), 'KA_CONF_BAD_VALUE', `invalid prefix length ${p.prefix} for ${p.address}; using ${max}`, {
    context: ctx.context,
  })
  return max
}

/** One spelling per address, for comparing addresses written differently. */
export function canonicalIp(address: string): string {
  if (ipFamily(address) !== 6) return address
  return new URL(`http://[${address}]/`).hostname.slice(1, -1)
}

/** The words of a value-block entry: its keyword and its arguments. */
export function entryWords(stmt: Statement): readonly Word[] {
  return [stmt.keywordWord, ...stmt.args]
}

export function isIpv6LinkLocal(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(canonicalIp(address))
}

/**
 * Reading one `ip route` / `ip rule` line word by word. A problem that makes
 * keepalived drop the line is reported once and ends the line ({@link SkipLine});
 * the diagnostics say which kind of line it was.
 */
export interface LineReader {
  readonly stmt: Statement
  readonly ctx: BuildContext
  readonly words: readonly Word[]
  readonly kind: 'route' | 'rule'
  /** `track_group` is a static_routes / static_rules option only. */
  readonly allowTrackGroup: boolean
  i: number
}

/** Thrown by {@link failLine}: the reader's caller drops the line. */
export class SkipLine extends Error {}

export function lineReader(stmt: Statement, ctx: BuildContext, kind: LineReader['kind'], allowTrackGroup: boolean): LineReader {
  return { stmt, ctx, words: entryWords(stmt), kind, allowTrackGroup, i: 0 }
}

function lineCode(r: LineReader): string {
  return r.kind === 'route' ? 'KA_CONF_BAD_ROUTE' : 'KA_CONF_BAD_RULE'
}

export function failLine(r: LineReader, word: Word | undefined, message: string, hint?: string): never {
  r.ctx.diags.error(wordPos(r.stmt, word), lineCode(r), `${message}; the ${r.kind} is skipped`, { context: r.ctx.context, hint })
  throw new SkipLine()
}

export function warnLine(r: LineReader, word: Word | undefined, message: string, hint?: string): void {
  r.ctx.diags.warning(wordPos(r.stmt, word), lineCode(r), message, { context: r.ctx.context, hint })
}

/** The value after word `i`; keepalived aborts the whole file when it is missing. */
export function lineValue(r: LineReader): Word {
  const key = r.words[r.i]
  const v = r.words[++r.i]
  if (!v) failLine(r, key, `'${key?.text}' needs a value`)
  return v
}

/** A line is one family: the first address (or `inet6`, …) decides it. */
export function setLineFamily(r: LineReader, d: { family: IpFamily | undefined }, family: IpFamily, word: Word): void {
  if (d.family === undefined) d.family = family
  else if (d.family !== family) {
    failLine(r, word, r.kind === 'route' ? `cannot mix IPv4 and IPv6 addresses in a route ('${word.text}')` : 'a rule cannot mix IPv4 and IPv6')
  }
}
