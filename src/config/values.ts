/**
 * Value readers shared by every block builder. Each reads words, reports a
 * problem at the word's own column, and returns `undefined` on bad input so
 * the caller keeps the default (as keepalived ignores a bad value).
 */
import { isIP } from 'node:net'
import type { Diagnostics, SourcePosition } from './diagnostics.js'
import type { Word } from './lexer.js'
import type { Statement } from './tree.js'

export interface BuildContext {
  readonly diags: Diagnostics
  /** The enclosing block in the operator's words, e.g. `TCP_CHECK of real_server 10.0.0.2 80`. */
  readonly context: string
}

/** The statement's arguments as written, space-separated (for block contexts). */
export function argsText(stmt: Statement): string {
  const a = stmt.args
  let s = a.length > 0 ? a[0]!.text : ''
  for (let i = 1; i < a.length; i++) s += ' ' + a[i]!.text
  return s
}

export function wordPos(stmt: Statement, word: Word | undefined): SourcePosition {
  return word ? { file: stmt.pos.file, line: stmt.pos.line, col: word.col } : stmt.pos
}

/** The n-th argument, or an error naming what was expected. */
export function arg(stmt: Statement, ctx: BuildContext, index: number, what: string): Word | undefined {
  const w = stmt.args[index]
  if (!w) ctx.diags.error(stmt.pos, 'KA_CONF_MISSING_VALUE', `'${stmt.keyword}' needs ${what}`, { context: ctx.context })
  return w
}

export function badValue(stmt: Statement, ctx: BuildContext, word: Word, message: string, hint?: string): undefined {
  ctx.diags.error(wordPos(stmt, word), 'KA_CONF_BAD_VALUE', `${stmt.keyword}: ${message}`, { context: ctx.context, hint })
  return undefined
}

/** Extra words after what a keyword takes: keepalived ignores them silently; we say so. */
export function noExtraArgs(stmt: Statement, ctx: BuildContext, used: number): void {
  const extra = stmt.args[used]
  if (extra) {
    ctx.diags.warning(wordPos(stmt, extra), 'KA_CONF_EXTRA_ARGS', `'${stmt.keyword}' takes ${used === 0 ? 'no value' : `${used} value(s)`}; '${stmt.args.slice(used).map((w) => w.text).join(' ')}' ignored`, {
      context: ctx.context,
      hint: 'keepalived reads one statement per line',
    })
  }
}

/** True when `s[from..]` is one or more ASCII digits (a regex costs more on the 100k-statement path). */
function allDigits(s: string, from: number): boolean {
  if (from >= s.length) return false
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return false
  }
  return true
}

/** `s` is `[-+]?\d+`. */
export function isInteger(s: string): boolean {
  const c = s.charCodeAt(0)
  return allDigits(s, c === 43 || c === 45 ? 1 : 0)
}

/** `s` is `\d+`. */
export function isDigits(s: string): boolean {
  return allDigits(s, 0)
}

export function readInt(stmt: Statement, ctx: BuildContext, word: Word | undefined, min: number, max: number): number | undefined {
  if (!word) return undefined
  if (!isInteger(word.text)) return badValue(stmt, ctx, word, `'${word.text}' is not an integer`)
  const n = Number(word.text)
  if (n < min || n > max) return badValue(stmt, ctx, word, `number '${word.text}' outside range [${min}, ${max}]`)
  return n
}

/** `<TIMER>`: seconds with up to 6 fractional digits, returned in microseconds. */
export function readTimer(stmt: Statement, ctx: BuildContext, word: Word | undefined, minUs = 0, maxUs = Number.MAX_SAFE_INTEGER): number | undefined {
  if (!word) return undefined
  let us: number
  if (isDigits(word.text)) {
    us = Number(word.text) * 1_000_000
  } else {
    const m = /^(\d+)(?:\.(\d{0,6})\d*)?$/.exec(word.text)
    if (!m) return badValue(stmt, ctx, word, `'${word.text}' is not a time in seconds`)
    us = Number(m[1]) * 1_000_000 + Number((m[2] ?? '').padEnd(6, '0'))
  }
  if (us < minUs || us > maxUs) return badValue(stmt, ctx, word, `time '${word.text}' outside range [${formatTimer(minUs)}, ${formatTimer(maxUs)}]`)
  return us
}

/** Microseconds as keepalived writes a `<TIMER>`: `3`, `0.5`, `2.718281`. */
export function formatTimer(us: number): string {
  const whole = Math.floor(us / 1_000_000)
  const frac = us % 1_000_000
  return frac === 0 ? String(whole) : `${whole}.${String(frac).padStart(6, '0').replace(/0+$/, '')}`
}

const BOOLS: Record<string, boolean> = { on: true, true: true, yes: true, off: false, false: false, no: false }

/** `<BOOL>` where the value may be omitted (meaning true). */
export function readOptionalBool(stmt: Statement, ctx: BuildContext, index = 0): boolean | undefined {
  const w = stmt.args[index]
  if (!w) return true
  const b = BOOLS[w.text]
  if (b === undefined) return badValue(stmt, ctx, w, `'${w.text}' is not one of on|off|true|false|yes|no`)
  noExtraArgs(stmt, ctx, index + 1)
  return b
}

export type IpFamily = 4 | 6

export function ipFamily(address: string): IpFamily | undefined {
  const f = isIP(address)
  return f === 4 ? 4 : f === 6 ? 6 : undefined
}

export function readIp(stmt: Statement, ctx: BuildContext, word: Word | undefined): string | undefined {
  if (!word) return undefined
  if (!ipFamily(word.text)) return badValue(stmt, ctx, word, `'${word.text}' is not an IP address`)
  return word.text
}

export function readPort(stmt: Statement, ctx: BuildContext, word: Word | undefined, min = 0): number | undefined {
  return readInt(stmt, ctx, word, min, 65535)
}

/** Words that need quoting to read back as one word: white space, quotes, braces, comments, escapes. */
export function quoteWord(text: string): string {
  if (text !== '' && !/[\s"'{}#!\\]/.test(text)) return text
  return '"' + text.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n').replace(/\t/g, '\\t') + '"'
}

/** Edit distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = tmp
    }
  }
  return prev[b.length]!
}

export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase())
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 4)) ? best : undefined
}
