/**
 * Words, statements and braces of the logical lines, the way keepalived's
 * alloc_strvec_quoted_escaped() reads them (reference §2.2–§2.3): white space
 * separates words, `"…"` and `'…'` group, adjacent pieces join into one word,
 * backslash escapes work in and out of quotes, a brace outside quotes is always
 * a token of its own, and the words of one line are one statement.
 *
 * The grammar's terminals are coarse on purpose: each token ends at a brace and
 * carries the plain statements since the previous brace. A 100k-line file is
 * then ~40k terminals instead of ~120k, and Earley parsing costs per terminal
 * (docs/BENCHMARKS.md). Which block a statement belongs to is still decided by
 * the grammar alone, from how the braces nest.
 */
import { createRequire } from 'node:module'
import type Moo from 'moo'
import type { Diagnostics, SourcePosition } from './diagnostics.js'
import type { LineSink, LogicalLine } from './preprocess.js'
import type { Statement } from './tree.js'

export interface Word {
  readonly text: string
  /** 1-based column where the word starts. */
  readonly col: number
  /** True when any part of the word was quoted (a quoted `{` is text, not a brace). */
  readonly quoted: boolean
}

/**
 * `{` and the statements before it since the previous brace. The last of them
 * opens the block (`header`); a `{` with no statement before it has none.
 */
export interface OpenToken {
  readonly type: 'open'
  /** Plain statements before the block's keyword. */
  readonly statements: readonly Statement[]
  readonly header: Statement | undefined
  /** Position of the `{`. */
  readonly pos: SourcePosition
}

/** `}` and the statements before it since the previous brace. */
export interface CloseToken {
  readonly type: 'close'
  readonly statements: readonly Statement[]
  /** Position of the `}`. */
  readonly pos: SourcePosition
}

/** The end of the input and the statements after the last brace; always the last token. */
export interface EndToken {
  readonly type: 'end'
  readonly statements: readonly Statement[]
  /** Where the last statement or brace of the input is, if there is one. */
  readonly pos: SourcePosition | undefined
}

/** The grammar's terminals. */
export type Token = OpenToken | CloseToken | EndToken

/**
 * A statement as the lexer and the grammar make it. Its position is made on
 * demand: the builders ask for few of them, and on a 100k-line file not keeping
 * one object per statement saves ~5 MB and a quarter of the lexing time (the
 * garbage collector copies everything the tree keeps). A statement without a
 * block (56k of the 78k statements of bench/parse.mjs's file) is a
 * {@link StatementNode}, whose `block`, `open` and `close` are its class's, not
 * fields: 3 words less on each object the scavenger copies. Build statements with these two classes only, so that
 * the tree has two object shapes.
 */
export abstract class StatementBase {
  constructor(
    readonly keywordWord: Word,
    readonly args: readonly Word[],
    readonly file: string,
    readonly line: number,
  ) {}

  get keyword(): string {
    return this.keywordWord.text
  }

  get pos(): SourcePosition {
    return { file: this.file, line: this.line, col: this.keywordWord.col }
  }
}

/** A statement without a block. */
export class StatementNode extends StatementBase implements Statement {
  get block(): undefined {
    return undefined
  }

  get open(): undefined {
    return undefined
  }

  get close(): undefined {
    return undefined
  }
}

/**
 * A statement with its `{ … }` block, made by the grammar. The braces'
 * positions are kept as numbers and made on demand, like `pos`: two objects
 * less per block for the scavenger to copy.
 */
export class BlockStatementNode extends StatementBase implements Statement {
  private readonly openFile: string
  private readonly openLine: number
  private readonly openCol: number
  private readonly closeFile: string
  private readonly closeLine: number
  private readonly closeCol: number

  constructor(
    keywordWord: Word,
    args: readonly Word[],
    file: string,
    line: number,
    readonly block: readonly Statement[],
    open: SourcePosition,
    close: SourcePosition,
  ) {
    super(keywordWord, args, file, line)
    this.openFile = open.file
    this.openLine = open.line
    this.openCol = open.col
    this.closeFile = close.file
    this.closeLine = close.line
    this.closeCol = close.col
  }

  get open(): SourcePosition {
    return { file: this.openFile, line: this.openLine, col: this.openCol }
  }

  get close(): SourcePosition {
    return { file: this.closeFile, line: this.closeLine, col: this.closeCol }
  }
}

/** Shared by every token and statement without arguments, so the common case allocates nothing. */
const NONE: readonly never[] = Object.freeze([])

// keepalived splits on isspace() in the C locale: ASCII white space only, so a
// non-breaking space is part of a word there and here.
// moo is CommonJS: require() spares the ESM loader's scan of its exports (~5 ms a start).
const moo = createRequire(import.meta.url)('moo') as typeof Moo

const rules = moo.compile({
  ws: /[ \t\v\f\r]+/,
  lbrace: '{',
  rbrace: '}',
  dquote: /"(?:\\[^]|[^"\\])*"?/,
  squote: /'(?:\\[^]|[^'\\])*'?/,
  text: /(?:\\[^]?|[^ \t\v\f\r\n"'{}\\])+/,
})

const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' }

/** keepalived's escapes: `\a \b \E \f \n \r \t \v`, `\nnn` octal, `\xHH`, `\cC`, and `\C` for a literal C. */
export function unescape(s: string): string {
  if (!s.includes('\\')) return s
  return s.replace(/\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|c(.)|([^]))|\\$/g, (whole, oct?: string, hex?: string, ctl?: string, ch?: string) => {
    if (oct !== undefined) return String.fromCharCode(parseInt(oct, 8) & 0xff)
    if (hex !== undefined) return String.fromCharCode(parseInt(hex, 16))
    if (ctl !== undefined) return String.fromCharCode(ctl.toUpperCase().charCodeAt(0) ^ 0x40)
    if (ch !== undefined) return SIMPLE_ESCAPES[ch] ?? ch
    return whole // a lone trailing backslash stays, as keepalived keeps it glued to the word
  })
}

const CACHE_BITS = 12
const CACHE_SIZE = 1 << CACHE_BITS

/** A cache slot for two 32-bit values (multiplicative hashing). */
function mix(a: number, b: number): number {
  return Math.imul(Math.imul(a, 0x9e3779b1) ^ b, 0x85ebca6b) >>> (32 - CACHE_BITS)
}

/** True when the quoted piece `body` (opening quote included) ends with its closing quote. */
function closes(body: string): boolean {
  const quote = body[0]
  for (let i = 1; i < body.length; i++) {
    const c = body[i]
    if (c === '\\') i++
    else if (c === quote) return i === body.length - 1
  }
  return false
}

/** `text === source.slice(i, j)`, without making the slice. */
function sameText(text: string, source: string, i: number, j: number): boolean {
  if (text.length !== j - i) return false
  for (let k = 0; k < text.length; k++) if (text.charCodeAt(k) !== source.charCodeAt(i + k)) return false
  return true
}

const LBRACE = 123
const RBRACE = 125

/** What each ASCII character is to plainLine; everything else is part of a word. */
const WORD = 0
const SPACE = 1
const BRACE = 2
const QUOTE = 3
const CHAR_KIND = new Uint8Array(128)
for (const c of ' \t\n\v\f\r') CHAR_KIND[c.charCodeAt(0)] = SPACE
for (const c of '{}') CHAR_KIND[c.charCodeAt(0)] = BRACE
for (const c of '"\'\\') CHAR_KIND[c.charCodeAt(0)] = QUOTE

/** Lex logical lines into the grammar's tokens; the last token is always `end`. */
export function lex(lines: readonly LogicalLine[], diags: Diagnostics): Token[] {
  const lexer = new Lexer(diags)
  for (const l of lines) lexer.line(l.text, 0, l.text.length, l.file, l.line, l.col)
  return lexer.finish()
}

/**
 * Takes logical lines one at a time (it is the preprocessor's {@link LineSink});
 * `finish()` returns the tokens. Written for a 100k-line file: words are sliced
 * straight from the source, and the only objects made per statement are the
 * ones the tree keeps.
 */
export class Lexer implements LineSink {
  private readonly tokens: Token[] = []
  /** Statements since the last brace, `pending[0, pendingCount)`; reused, each token gets an exact-size copy. */
  private readonly pending: Statement[] = []
  private pendingCount = 0
  /** Words of the statement being read, `words[0, wordCount)`; reused the same way. */
  private readonly words: Word[] = []
  /** Cache slot of each of `words`, or -1 for a word that is not cached (quoted or escaped). */
  private readonly slots: number[] = []
  private wordCount = 0
  /**
   * Direct-mapped caches that share equal words (same text, same column) and equal
   * argument lists between statements. Words are immutable, and in a large file most
   * of them repeat (`weight 1` in every real server): sharing them halves what the
   * tree keeps alive, and so the garbage collector's work.
   */
  private readonly wordCache: (Word | undefined)[] = new Array<Word | undefined>(CACHE_SIZE).fill(undefined)
  private readonly argsCache: (readonly Word[] | undefined)[] = new Array<readonly Word[] | undefined>(CACHE_SIZE).fill(undefined)
  private file = ''
  private lineNo = 0
  /** Line and column of the last statement or brace read (0 before any): where the input ends. */
  private lastLine = 0
  private lastCol = 0

  /** Braces open, and whether every `{` had a keyword and every `}` a block so far. */
  private depth = 0
  private wellFormed = true

  constructor(private readonly diags: Diagnostics) {}

  /** After finish(): true when balanceBraces would have nothing to do (the common case). */
  get balanced(): boolean {
    return this.wellFormed && this.depth === 0
  }

  line(source: string, start: number, end: number, file: string, line: number, col: number): void {
    this.file = file
    this.lineNo = line
    this.plainLine(source, start, end, col - start)
    this.endStatement()
  }

  finish(): Token[] {
    const pos = this.lastLine === 0 ? undefined : { file: this.file, line: this.lastLine, col: this.lastCol }
    this.tokens.push({ type: 'end', statements: this.takePending(), pos })
    return this.tokens
  }

  /** `source[start, end)`, where index i is column `base + i`; hands over to moo at the first quote or backslash. */
  private plainLine(source: string, start: number, end: number, base: number): void {
    let i = start
    while (i < end) {
      const c = source.charCodeAt(i)
      const kind = c < 128 ? CHAR_KIND[c]! : WORD
      if (kind === SPACE) {
        i++
      } else if (kind === BRACE) {
        this.brace(c, base + i)
        i++
      } else {
        let j = i
        let hash = 0
        for (; j < end; j++) {
          const d = source.charCodeAt(j)
          const k = d < 128 ? CHAR_KIND[d]! : WORD
          if (k !== WORD) {
            if (k === QUOTE) {
              this.quotedLine(source.slice(i, end), base + i)
              return
            }
            break
          }
          hash = (Math.imul(hash, 31) + d) | 0
        }
        this.plainWord(source, i, j, base + i, hash)
        i = j
      }
    }
  }

  /** `text` starts at column `col`. */
  private quotedLine(text: string, col: number): void {
    const base = col - 1
    rules.reset(text)
    let word: string | undefined
    let wordCol = 0
    let quoted = false
    for (const tok of rules) {
      const type = tok.type
      if (type === 'ws' || type === 'lbrace' || type === 'rbrace') {
        if (word !== undefined) this.word({ text: word, col: wordCol, quoted })
        word = undefined
        if (type !== 'ws') this.brace(type === 'lbrace' ? LBRACE : RBRACE, base + tok.col)
        continue
      }
      const quote = type === 'dquote' ? '"' : type === 'squote' ? "'" : ''
      let body = tok.text
      if (quote) {
        if (!closes(body)) {
          this.diags.error({ file: this.file, line: this.lineNo, col: base + tok.col }, 'KA_CONF_QUOTE', `unterminated quote: ${body}`)
          body = body.slice(1)
        } else {
          body = body.slice(1, -1)
        }
      }
      const piece = unescape(body)
      if (word === undefined) {
        word = piece
        wordCol = base + tok.col
        quoted = quote !== ''
      } else {
        word += piece
        quoted ||= quote !== ''
      }
    }
    if (word !== undefined) this.word({ text: word, col: wordCol, quoted })
  }

  /** The word `source[i, j)` at column `col`, from the cache when it is there. */
  private plainWord(source: string, i: number, j: number, col: number, hash: number): void {
    const slot = mix(hash, col)
    let w = this.wordCache[slot]
    if (w === undefined || w.col !== col || !sameText(w.text, source, i, j)) {
      w = { text: source.slice(i, j), col, quoted: false }
      this.wordCache[slot] = w
    }
    this.word(w, slot)
  }

  private word(w: Word, slot = -1): void {
    const n = this.wordCount
    if (n < this.words.length) {
      this.words[n] = w
      this.slots[n] = slot
    } else {
      this.words.push(w)
      this.slots.push(slot)
    }
    this.wordCount = n + 1
  }

  /** `words[1, n)`, shared with an earlier statement that had the same ones. */
  private argsOf(n: number): readonly Word[] {
    if (n === 1) return NONE
    const words = this.words
    let key = n
    for (let k = 1; k < n; k++) {
      const slot = this.slots[k]!
      if (slot < 0) return words.slice(1, n)
      key = mix(key, slot)
    }
    const cached = this.argsCache[key]
    if (cached !== undefined && cached.length === n - 1) {
      let same = true
      for (let k = 1; k < n && same; k++) same = cached[k - 1] === words[k]
      if (same) return cached
    }
    const args = words.slice(1, n)
    this.argsCache[key] = args
    return args
  }

  private endStatement(): void {
    const n = this.wordCount
    if (n === 0) return
    const keyword = this.words[0]!
    const args = this.argsOf(n)
    this.wordCount = 0
    const stmt = new StatementNode(keyword, args, this.file, this.lineNo)
    if (this.pendingCount < this.pending.length) this.pending[this.pendingCount] = stmt
    else this.pending.push(stmt)
    this.pendingCount++
    this.lastLine = this.lineNo
    this.lastCol = keyword.col
  }

  private brace(c: number, col: number): void {
    this.endStatement()
    const pos = { file: this.file, line: this.lineNo, col }
    this.lastLine = this.lineNo
    this.lastCol = col
    if (c === LBRACE) {
      const header = this.pendingCount > 0 ? this.pending[--this.pendingCount] : undefined
      if (header === undefined) this.wellFormed = false
      this.depth++
      this.tokens.push({ type: 'open', statements: this.takePending(), header, pos })
    } else {
      if (this.depth === 0) this.wellFormed = false
      this.depth--
      this.tokens.push({ type: 'close', statements: this.takePending(), pos })
    }
  }

  private takePending(): readonly Statement[] {
    const n = this.pendingCount
    if (n === 0) return NONE
    this.pendingCount = 0
    return this.pending.slice(0, n)
  }
}
