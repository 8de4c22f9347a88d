/** Address words shared by VIPs, routes and rules: `IP[/PREFIX]`. */
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
