/**
 * The part of glob(3) with GLOB_BRACE that keepalived's `include` uses: `*`, `?`,
 * `[...]` within one path segment, and csh-style `{a,b}` anywhere. Node 20 has
 * no fs.glob, and one small matcher beats a dependency for this.
 */
import { readdirSync, statSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'

/** `a{b,c{d,e}}f` → `abf acdf acef`, in order; unbalanced braces are literal. */
export function expandBraces(pattern: string): string[] {
  const open = findTopLevelBrace(pattern)
  if (!open) return [pattern]
  const { start, end, alternatives } = open
  const head = pattern.slice(0, start)
  const tail = pattern.slice(end + 1)
  const out: string[] = []
  for (const alt of alternatives) out.push(...expandBraces(head + alt + tail))
  return out
}

function findTopLevelBrace(p: string): { start: number; end: number; alternatives: string[] } | undefined {
  for (let start = 0; start < p.length; start++) {
    if (p[start] === '\\') { start++; continue }
    if (p[start] !== '{') continue
    let depth = 0
    let partStart = start + 1
    const alternatives: string[] = []
    for (let i = start; i < p.length; i++) {
      const c = p[i]
      if (c === '\\') { i++; continue }
      if (c === '{') depth++
      else if (c === '}') {
        depth--
        if (depth === 0) {
          alternatives.push(p.slice(partStart, i))
          if (alternatives.length < 2) break // `{x}` is not an alternation in csh
          return { start, end: i, alternatives }
        }
      } else if (c === ',' && depth === 1) {
        alternatives.push(p.slice(partStart, i))
        partStart = i + 1
      }
    }
  }
  return undefined
}

function hasMagic(segment: string): boolean {
  return /[*?[]/.test(segment)
}

function segmentRegExp(segment: string): RegExp {
  let re = ''
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!
    if (c === '\\' && i + 1 < segment.length) re += escapeRegExp(segment[++i]!)
    else if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const close = segment.indexOf(']', i + 2)
      if (close < 0) { re += '\\['; continue }
      let body = segment.slice(i + 1, close)
      if (body.startsWith('!')) body = '^' + body.slice(1)
      re += '[' + body.replace(/\\/g, '\\\\') + ']'
      i = close
    } else re += escapeRegExp(c)
  }
  return new RegExp('^' + re + '$')
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

/**
 * Paths matching `pattern` (relative ones taken from `cwd`), sorted per
 * brace alternative as glob(3) does. A pattern without magic characters is
 * returned as it is when the file exists.
 */
export function glob(pattern: string, cwd: string): string[] {
  const results: string[] = []
  for (const alt of expandBraces(pattern)) {
    const absolute = isAbsolute(alt)
    const segments = alt.split('/').filter((s, i) => s !== '' || i === 0)
    let bases = [absolute ? '/' : cwd]
    for (const seg of absolute ? segments.slice(1) : segments) {
      if (seg === '') continue
      const nextBases: string[] = []
      for (const base of bases) {
        if (!hasMagic(seg)) {
          nextBases.push(join(base, seg.replace(/\\(.)/g, '$1')))
          continue
        }
        const re = segmentRegExp(seg)
        let names: string[]
        try { names = readdirSync(base) } catch { continue }
        for (const name of names.sort()) {
          if (name.startsWith('.') && !seg.startsWith('.')) continue
          if (re.test(name)) nextBases.push(join(base, name))
        }
      }
      bases = nextBases
    }
    for (const b of bases) {
      try { if (statSync(b).isFile()) results.push(b) } catch { /* no such file: not a match */ }
    }
  }
  return results
}
