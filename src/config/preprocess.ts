/**
 * keepalived's line-level language (keepalived.conf(5) "ADVANCED CONFIGURATION",
 * reference §2): comments, `include`, `@id` conditionals, `$NAME` definitions and
 * substitution, `~SEQ` / `~LST` expansion. Its output is a list of logical lines,
 * each remembering the file, line and column it came from; braces and words are
 * the lexer's business.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { Diagnostics, SourcePosition } from './diagnostics.js'
import { glob } from './glob.js'
import { MAX_GENERATED_LINES, matchingParen, parseList, parseSeq } from './sequence.js'

export interface LogicalLine {
  /** Decommented text, leading and trailing white space removed. */
  readonly text: string
  readonly file: string
  readonly line: number
  /** Column of `text[0]` in the physical line (exact unless a substitution moved it). */
  readonly col: number
}

/** File access, injectable so tests can run on in-memory trees. */
export interface ConfigFiles {
  read(path: string): string
  glob(pattern: string, cwd: string): string[]
}

export const diskFiles: ConfigFiles = {
  read: (path) => readFileSync(path, 'utf8'),
  glob,
}

export interface PreprocessOptions {
  /** The `-i` value, default the host name up to its first dot. */
  configId: string
  files?: ConfigFiles
  /** For `${_RANDOM}`; injected so tests are repeatable. */
  random?: () => number
}

export interface PreprocessResult {
  lines: LogicalLine[]
  /** Every file read, in order: the main file first. */
  files: string[]
}

/**
 * Receives logical lines as they are produced, so a consumer (the lexer) can
 * work line by line and no line object outlives its use: on a 100k-line file
 * that spares the garbage collector ~10 MB of short-lived objects.
 */
export interface LineSink {
  /** The logical line is `source[start, end)`; `col` is the column of `source[start]`. */
  line(source: string, start: number, end: number, file: string, line: number, col: number): void
}

const INCLUDE_WORDS = new Set(['include', 'includer', 'includem', 'includew', 'includeb', 'includea'])
const MAX_INCLUDE_DEPTH = 32
const MAX_EXPANSION_DEPTH = 64
/** keepalived's line buffer (MAXBUF): it cannot substitute past it either. */
const MAX_LINE_LENGTH = 1024

interface Definition {
  /** One entry for `$A=x`; one per continued line for a multi-line definition. */
  readonly lines: readonly string[]
  readonly multiLine: boolean
}

interface PendingDefinition {
  readonly name: string
  readonly lines: string[]
}

/** keepalived's isspace() in the C locale. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13)
}

/** Strip a physical line: leading white space, a comment outside double quotes, trailing white space. */
export function decomment(raw: string): { text: string; col: number; continued: boolean } {
  let start = 0
  while (start < raw.length && isSpace(raw.charCodeAt(start))) start++
  let end = raw.length
  let inQuote = false
  for (let i = start; i < raw.length; i++) {
    const c = raw[i]
    if (c === '\\') { i++; continue }
    if (c === '"') inQuote = !inQuote
    else if (!inQuote && (c === '#' || c === '!')) { end = i; break }
  }
  while (end > start && isSpace(raw.charCodeAt(end - 1))) end--
  const text = raw.slice(start, end)
  // A trailing backslash continues a `$NAME=` definition; nowhere else (reference §0.4).
  const continued = text.endsWith('\\') && !text.endsWith('\\\\')
  // `continued` first: an object literal starting { text, col, … } would share V8's hidden-class
  // transitions with the lexer's Word and deoptimize the lexer's hot code.
  return { continued, text, col: start + 1 }
}

const HASH = 35
const BANG = 33
const DQUOTE = 34
const BACKSLASH = 92
const DOLLAR = 36
const AT = 64
const TILDE = 126
const LOWER_I = 105

/** True when `source[start, end)` needs none of the line-level language: see physicalLine. */
function isPlain(source: string, start: number, end: number): boolean {
  const first = source.charCodeAt(start)
  if (first === AT || first === TILDE) return false
  if (first === LOWER_I && source.startsWith('include', start)) return false
  for (let i = start; i < end; i++) {
    const c = source.charCodeAt(i)
    if (c === HASH || c === BANG || c === DQUOTE || c === BACKSLASH || c === DOLLAR) return false
  }
  return true
}

export function preprocess(mainFile: string, diags: Diagnostics, opts: PreprocessOptions): PreprocessResult {
  const lines: LogicalLine[] = []
  const sink: LineSink = { line: (source, start, end, file, line, col) => lines.push({ text: source.slice(start, end), file, line, col }) }
  const { files } = preprocessInto(mainFile, diags, opts, sink)
  return { lines, files }
}

/** {@link preprocess}, handing each logical line to `sink` as soon as it is known. */
export function preprocessInto(mainFile: string, diags: Diagnostics, opts: PreprocessOptions, sink: LineSink): { files: string[] } {
  return new Preprocessor(diags, opts, sink).run(mainFile)
}

class Preprocessor {
  private readonly files: string[] = []
  private readonly definitions = new Map<string, Definition>()
  private readonly io: ConfigFiles
  private readonly random: () => number
  private pending: PendingDefinition | undefined
  private generated = 0
  private currentDir = '.'

  constructor(private readonly diags: Diagnostics, private readonly opts: PreprocessOptions, private readonly sink: LineSink) {
    this.io = opts.files ?? diskFiles
    this.random = opts.random ?? Math.random
  }

  run(mainFile: string): { files: string[] } {
    this.readFile(mainFile, [], undefined)
    return { files: this.files }
  }

  private readFile(path: string, stack: string[], includedFrom: SourcePosition | undefined): void {
    let content: string
    try {
      content = this.io.read(path)
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? String(err)
      if (includedFrom) {
        this.diags.error(includedFrom, 'KA_CONF_INCLUDE', `cannot read included file '${path}': ${reason}`)
      } else {
        this.diags.error(undefined, 'KA_CONF_NO_FILE', `cannot read configuration file '${path}': ${reason}`, { verdict: 'fatal' })
      }
      return
    }
    this.files.push(path)
    const savedDir = this.currentDir
    this.currentDir = dirname(path)
    const inner = [...stack, resolve(path)]
    // Lines are found in place rather than with split('\n'): a plain line is never copied.
    let lineNo = 0
    // The text after a final newline is not a line: it must not end an open definition.
    for (let from = 0; from < content.length; ) {
      let to = content.indexOf('\n', from)
      if (to < 0) to = content.length
      this.physicalLine(content, from, to, path, ++lineNo, inner)
      from = to + 1
    }
    if (this.pending) {
      this.diags.error({ file: path, line: lineNo, col: 1 }, 'KA_CONF_DEFINITION', `multi-line definition of '$${this.pending.name}' is not terminated at end of file`)
      this.finishDefinition()
    }
    this.currentDir = savedDir
  }

  /** `content[from, to)` is one physical line. */
  private physicalLine(content: string, from: number, to: number, file: string, line: number, stack: string[]): void {
    let start = from
    while (start < to && isSpace(content.charCodeAt(start))) start++
    let end = to
    while (end > start && isSpace(content.charCodeAt(end - 1))) end--
    // The common line (no comment, quote, escape or `$`, not a conditional, sequence,
    // include or definition body) goes to the lexer as a range of `content`: no copy.
    if (this.pending === undefined && start < end && isPlain(content, start, end)) {
      this.sink.line(content, start, end, file, line, start - from + 1)
      return
    }
    let text = content.slice(start, end)
    let col = start - from + 1
    let continued = false
    if (/[#!"\\]/.test(text)) {
      const d = decomment(content.slice(from, to))
      text = d.text
      col = d.col
      continued = d.continued
    }
    if (this.pending) {
      const body = continued ? text.slice(0, -1).trimEnd() : text
      if (body !== '') this.pending.lines.push(body)
      if (!continued) this.finishDefinition()
      return
    }
    if (text === '') return
    const firstSpace = text.search(/\s/)
    const first = firstSpace < 0 ? text : text.slice(0, firstSpace)
    if (INCLUDE_WORDS.has(first)) {
      this.include(first, firstSpace < 0 ? '' : text.slice(firstSpace).trim(), { file, line, col }, stack)
      return
    }
    this.logicalLine(text, { file, line, col }, continued, 0)
  }

  private include(keyword: string, pattern: string, pos: SourcePosition, stack: string[]): void {
    if (pattern === '') {
      this.diags.error(pos, 'KA_CONF_INCLUDE', `'${keyword}' needs a file name or pattern`)
      return
    }
    if (stack.length > MAX_INCLUDE_DEPTH) {
      this.diags.error(pos, 'KA_CONF_INCLUDE', `includes nested more than ${MAX_INCLUDE_DEPTH} deep`)
      return
    }
    const unquoted = pattern.replace(/^"(.*)"$/, '$1')
    const matches = this.io.glob(unquoted, this.currentDir)
    if (matches.length === 0) {
      // keepalived's plain `include` only logs "Config files missing" and runs on without them;
      // a configuration that silently loses part of itself is an outage waiting to happen.
      this.diags.error(pos, 'KA_CONF_INCLUDE', `'${keyword} ${pattern}' matches no file`, {
        hint: keyword === 'include' ? "keepalived starts without the missing part; use 'includer' for files that may legitimately be absent" : undefined,
      })
      return
    }
    for (const file of matches) {
      if (stack.includes(resolve(file))) {
        this.diags.error(pos, 'KA_CONF_INCLUDE', `'${file}' includes itself (through ${stack.length} file(s))`)
        continue
      }
      this.readFile(file, stack, pos)
    }
  }

  private finishDefinition(): void {
    const p = this.pending!
    this.definitions.set(p.name, { lines: p.lines, multiLine: true })
    this.pending = undefined
  }

  /**
   * One logical line through conditionals, definitions, sequences and substitution, in
   * keepalived's order (reference §2, steps 4–7). Substitution results are processed again,
   * so a macro may expand to `@id` lines, definitions or several lines.
   */
  private logicalLine(text: string, pos: SourcePosition, continued: boolean, depth: number): void {
    if (depth > MAX_EXPANSION_DEPTH) {
      this.diags.error(pos, 'KA_CONF_RECURSION', `substitution nested more than ${MAX_EXPANSION_DEPTH} deep (a definition that refers to itself?)`)
      return
    }
    if (text.startsWith('@')) {
      const m = /^@(\^?)(\S*)\s*([^]*)$/.exec(text)!
      const negate = m[1] === '^'
      const id = m[2]!
      if ((id === this.opts.configId) === negate) return
      const rest = m[3]!
      if (rest === '') return
      // Columns stay exact: the kept text starts after `@id `.
      pos = { file: pos.file, line: pos.line, col: pos.col + text.length - rest.length }
      text = rest
    }

    const def = text.startsWith('$') ? /^\$([A-Za-z_][A-Za-z0-9_]*)=[ \t]*([^]*)$/.exec(text) : null
    if (def) {
      const name = def[1]!
      if (continued) {
        const firstBody = def[2]!.slice(0, -1).trimEnd()
        this.pending = { name, lines: firstBody === '' ? [] : [firstBody] }
      } else {
        this.definitions.set(name, { lines: [def[2]!], multiLine: false })
      }
      return
    }

    if (text.startsWith('~SEQ') || text.startsWith('~LST')) {
      this.sequence(text, pos, depth)
      return
    }

    if (text.includes('$')) {
      const alone = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(text)
      const multi = alone ? this.definitions.get(alone[1]!) : undefined
      if (multi?.multiLine) {
        for (const l of multi.lines) this.logicalLine(l, pos, false, depth + 1)
        return
      }
      const substituted = this.substitute(text, pos)
      if (substituted.length >= MAX_LINE_LENGTH) {
        // Also what stops a definition that doubles itself (`$A=${A}${A}`) from eating all memory.
        this.diags.error(pos, 'KA_CONF_DEFINITION', `parameter substitution would exceed the maximum line length (${MAX_LINE_LENGTH} characters); the line is ignored`)
        return
      }
      if (substituted !== text) {
        const again = decomment(substituted)
        if (again.text !== '') this.logicalLine(again.text, pos, false, depth + 1)
        return
      }
    }
    this.sink.line(text, 0, text.length, pos.file, pos.line, pos.col)
  }

  /** `$NAME` (followed by white space, `,`, `)` or the end) and `${NAME}`; undefined names stay. */
  private substitute(text: string, pos: SourcePosition): string {
    return text.replace(/\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)(?=[\s,)]|$)/g, (whole, braced: string | undefined, bare: string | undefined) => {
      if (braced !== undefined) {
        const builtin = this.builtin(braced.trim(), pos)
        if (builtin !== undefined) return builtin
      }
      const name = braced ?? bare!
      const value = this.definitions.get(name)
      if (!value) return whole
      if (value.multiLine) {
        this.diags.error(pos, 'KA_CONF_DEFINITION', `multi-line definition '$${name}' must stand alone on its line`)
        return ''
      }
      return value.lines[0]!
    })
  }

  private builtin(spec: string, pos: SourcePosition): string | undefined {
    // _HASH and _BANG come back escaped, so the second decomment pass keeps them as text.
    if (spec === '_HASH') return '\\#'
    if (spec === '_BANG') return '\\!'
    if (spec === '_PWD') return resolve(this.currentDir)
    if (spec === '_INSTANCE') return this.opts.configId
    const random = /^_RANDOM(?:\s+(\d+)(?:\s+(\d+))?)?$/.exec(spec)
    if (random) {
      const min = random[1] === undefined ? 0 : Number(random[1])
      const max = random[2] === undefined ? 32767 : Number(random[2])
      if (max < min) {
        this.diags.error(pos, 'KA_CONF_DEFINITION', `\${_RANDOM ${min} ${max}}: the maximum is below the minimum`)
        return String(min)
      }
      return String(min + Math.floor(this.random() * (max - min + 1)))
    }
    return undefined
  }

  private sequence(text: string, pos: SourcePosition, depth: number): void {
    const m = /^~(SEQx?|LST)\(/.exec(text)
    const close = m ? matchingParen(text, m[0].length - 1) : -1
    if (!m || close < 0) {
      this.diags.error(pos, 'KA_CONF_SEQUENCE', `invalid ~SEQ/~LST specification '${text}'`)
      return
    }
    const kind = m[1]!
    const inner = text.slice(m[0].length, close)
    const rest = text.slice(close + 1).trim()
    const restPos = { file: pos.file, line: pos.line, col: pos.col + text.length - rest.length }
    const bindings = kind === 'LST' ? parseList(inner) : parseSeq(inner, kind === 'SEQx')
    if (typeof bindings === 'string') {
      this.diags.error(pos, 'KA_CONF_SEQUENCE', `invalid ~${kind} specification '${text.slice(0, close + 1)}': ${bindings}`)
      return
    }
    const saved = new Map(bindings.names.map((n) => [n, this.definitions.get(n)] as const))
    for (const values of bindings.values) {
      this.generated++
      if (this.generated > MAX_GENERATED_LINES) {
        this.diags.error(pos, 'KA_CONF_SEQUENCE', `~SEQ/~LST would generate more than ${MAX_GENERATED_LINES} lines`)
        break
      }
      bindings.names.forEach((n, i) => this.definitions.set(n, { lines: [values[i]!], multiLine: false }))
      if (rest !== '') this.logicalLine(rest, restPos, false, depth + 1)
    }
    for (const [n, d] of saved) {
      if (d) this.definitions.set(n, d)
      else this.definitions.delete(n)
    }
  }
}
