/**
 * The specifications of `~SEQ(…)` and `~LST(…)` (keepalived.conf(5), reference
 * §2.7): what variables they bind and to which values. Expanding the rest of
 * the line is the preprocessor's job.
 */
/** Bounds ~SEQ / ~LST output, so a typo cannot make the parser run out of memory. */
export const MAX_GENERATED_LINES = 2_000_000

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Names and, per iteration, one value for each name. */
export interface Bindings {
  names: string[]
  values: string[][]
}

/** Index of the `)` that closes the `(` at `open`, or -1. */
export function matchingParen(text: string, open: number): number {
  let depth = 0
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++
    else if (text[i] === ')' && --depth === 0) return i
  }
  return -1
}

function parseNumber(s: string): number | undefined {
  const t = s.trim()
  if (/^[-+]?\d+$/.test(t)) return Number(t)
  if (/^[-+]?0x[0-9a-f]+$/i.test(t)) return t.startsWith('-') ? -Number(t.slice(1)) : Number(t.replace(/^\+/, ''))
  return undefined
}

/** `~SEQ(VAR, [START, [STEP,]] END)`; reference §2.7 gives the defaults. */
export function parseSeq(inner: string, hex: boolean): Bindings | string {
  const parts = inner.split(',').map((p) => p.trim())
  const name = parts.shift()!
  if (!NAME_RE.test(name)) return `'${name}' is not a variable name`
  const nums = parts.map(parseNumber)
  if (nums.length < 1 || nums.length > 3 || nums.some((n) => n === undefined)) return 'expected 1 to 3 integers after the variable'
  const n = nums as number[]
  const end = n[n.length - 1]!
  const start = n.length >= 2 ? n[0]! : end >= 0 ? 1 : -1
  const step = n.length === 3 ? n[1]! : end >= start ? 1 : -1
  if (step === 0) return 'the step is 0'
  if ((step > 0 && start > end) || (step < 0 && start < end)) return 'the sequence is empty'
  const values: string[][] = []
  for (let v = start; step > 0 ? v <= end : v >= end; v += step) {
    values.push([hex ? v.toString(16) : String(v)])
    if (values.length > MAX_GENERATED_LINES) return 'too many values'
  }
  return { names: [name], values }
}

/** `~LST(VAR, a, b)` or `~LST({A,B}, {1,2}, {3,4})`. */
export function parseList(inner: string): Bindings | string {
  const trimmed = inner.trim()
  if (trimmed.startsWith('{')) {
    const groups = [...trimmed.matchAll(/\{([^}]*)\}/g)].map((g) => g[1]!.split(',').map((s) => s.trim()))
    const names = groups.shift()
    if (!names || names.some((n) => !NAME_RE.test(n))) return 'the first {…} must list variable names'
    if (groups.length === 0) return 'no values listed'
    if (groups.some((g) => g.length !== names.length)) return `every {…} must hold ${names.length} value(s)`
    return { names, values: groups }
  }
  const parts = trimmed.split(',').map((p) => p.trim())
  const name = parts.shift()!
  if (!NAME_RE.test(name)) return `'${name}' is not a variable name`
  if (parts.length === 0) return 'no values listed'
  return { names: [name], values: parts.map((p) => [p]) }
}
