/**
 * The generic tree: keepalived.conf as statements (a keyword, its arguments and
 * an optional block), every node with its source position. Built by the nearley
 * grammar in grammar/keepalived.ne; the typed builders read nothing else.
 */
import { createRequire } from 'node:module'
import type * as Nearley from 'nearley'
import type { Diagnostics, SourcePosition } from './diagnostics.js'
import grammar from './grammar.generated.js'
import { type CloseToken, type EndToken, lex, Lexer, type OpenToken, type Token, type Word } from './lexer.js'
import { type LogicalLine, type PreprocessOptions, preprocessInto } from './preprocess.js'

export interface Statement {
  readonly keyword: string
  readonly keywordWord: Word
  readonly args: readonly Word[]
  /** Position of the keyword. */
  readonly pos: SourcePosition
  readonly block: readonly Statement[] | undefined
  /** Positions of the block's braces. */
  readonly open: SourcePosition | undefined
  readonly close: SourcePosition | undefined
}

// nearley is CommonJS: require() spares the ESM loader's scan of its exports (~5 ms a start).
const nearley = createRequire(import.meta.url)('nearley') as typeof Nearley

const compiled = nearley.Grammar.fromCompiled(grammar as unknown as Nearley.CompiledRules)

/** A slice of the token array, fed to nearley as one chunk. */
interface Chunk {
  readonly tokens: readonly Token[]
  readonly from: number
  readonly to: number
}

const NO_STATE: Nearley.LexerState = Object.freeze({})

/** Feeds our tokens to nearley as its "lexer". */
class TokenArrayLexer implements Nearley.Lexer {
  private tokens: readonly Token[] = []
  private index = 0
  private to = 0
  reset(chunk: unknown): void {
    const c = chunk as Chunk
    this.tokens = c.tokens
    this.index = c.from
    this.to = c.to
  }
  next(): Nearley.Token | undefined {
    return this.index < this.to ? (this.tokens[this.index++] as unknown as Nearley.Token) : undefined
  }
  save(): Nearley.LexerState {
    return NO_STATE
  }
  formatError(token: Nearley.Token): string {
    return `unexpected ${(token as unknown as Token).type}`
  }
  has(name: string): boolean {
    return name === 'open' || name === 'close' || name === 'end'
  }
}

/** Tokens per feed(); the parse table is trimmed between feeds. */
const CHUNK = 128

/** The grammar's terminals for `lines` (see lexer.ts); the last one is always `end`. */
export function tokenize(lines: readonly LogicalLine[], diags: Diagnostics): Token[] {
  return lex(lines, diags)
}

/**
 * Make the token stream well-formed before the grammar sees it, reporting each
 * problem once: an extra `}` is dropped, a `{` that follows no keyword is dropped
 * with its matching `}` (its contents join the enclosing block), and blocks still
 * open at the end of the input are closed there. Statements are never lost: those
 * of a dropped token move to the next one. A well-formed stream comes back as the
 * same token objects.
 */
export function balanceBraces(tokens: readonly Token[], diags: Diagnostics): Token[] {
  const out: Token[] = []
  /** Positions of the open `{`s, innermost last, and whether each was dropped. */
  const openPos: SourcePosition[] = []
  const openStray: boolean[] = []
  const openKeyword: string[] = []
  let carried: readonly Statement[] = []
  let last: SourcePosition | undefined
  // A stream from lex() always ends with `end`; one built by hand may not.
  const input = tokens[tokens.length - 1]?.type === 'end' ? tokens : [...tokens, { type: 'end', statements: [], pos: undefined } satisfies EndToken]
  for (const original of input) {
    const tok = carried.length > 0 || (original.type === 'open' && original.header === undefined && original.statements.length > 0) ? prepend(carried, original) : original
    carried = []
    if (tok.type === 'open') {
      const stray = tok.header === undefined
      if (stray) diags.error(tok.pos, 'KA_CONF_BRACE', "unexpected '{' with no keyword before it")
      else out.push(tok)
      openPos.push(tok.pos)
      openStray.push(stray)
      openKeyword.push(tok.header?.keyword ?? '')
    } else if (tok.type === 'close') {
      if (openPos.length === 0) {
        diags.error(tok.pos, 'KA_CONF_BRACE', "extra '}' with no block to close")
        carried = tok.statements
      } else {
        openPos.pop()
        openKeyword.pop()
        if (openStray.pop()) carried = tok.statements
        else out.push(tok)
      }
    } else {
      // The statements after the last brace belong to the innermost block left open.
      let after = tok.statements
      for (let i = openPos.length - 1; i >= 0; i--) {
        const pos = openPos[i]!
        const what = openStray[i] ? "'{'" : `'${openKeyword[i]}' block`
        diags.error(pos, 'KA_CONF_BRACE', `${what} opened on line ${pos.line} is never closed with '}'`)
        if (!openStray[i]) {
          out.push({ type: 'close', statements: after, pos: tok.pos ?? last ?? pos })
          after = []
        }
      }
      out.push(after === tok.statements ? tok : { type: 'end', statements: after, pos: tok.pos })
      return out
    }
    last = tok.pos
  }
  return out // not reached: the input ends with `end`
}

/** `tok` with `statements` moved in front of its own; a `{` without a keyword takes the last statement before it. */
function prepend(statements: readonly Statement[], tok: Token): Token {
  const all = [...statements, ...tok.statements]
  switch (tok.type) {
    case 'open':
      if (tok.header !== undefined) return { type: 'open', statements: all, header: tok.header, pos: tok.pos } satisfies OpenToken
      return { type: 'open', statements: all.slice(0, -1), header: all[all.length - 1], pos: tok.pos } satisfies OpenToken
    case 'close':
      return { type: 'close', statements: all, pos: tok.pos } satisfies CloseToken
    case 'end':
      return { type: 'end', statements: all, pos: tok.pos } satisfies EndToken
  }
}

/**
 * Parse balanced tokens with the grammar. Returns every parse nearley found: a
 * correct grammar yields exactly one, and tests hold it to that.
 */
export function parseTokens(tokens: readonly Token[]): Statement[][] {
  // nearley 2.20.1 forgets old parse columns with `delete table[i]`, which turns its
  // table into a slow dictionary after a few thousand tokens (~20% of the parse on a
  // 100k-line file). keepHistory stops that; the columns are dropped here instead,
  // between chunks, by overwriting them. Only completed columns go: Earley's
  // completions reach earlier states through direct references, not the table.
  const parser = new nearley.Parser(compiled, { lexer: new TokenArrayLexer(), keepHistory: true })
  const table = (parser as unknown as { table: unknown[] }).table
  let dropped = 0
  for (let from = 0; from < tokens.length; from += CHUNK) {
    const chunk: Chunk = { tokens, from, to: Math.min(tokens.length, from + CHUNK) }
    parser.feed(chunk as unknown as string)
    for (; dropped < parser.current; dropped++) table[dropped] = undefined
  }
  if (tokens.length === 0) parser.feed({ tokens, from: 0, to: 0 } as unknown as string)
  return parser.results as Statement[][]
}

export function buildTree(lines: readonly LogicalLine[], diags: Diagnostics): Statement[] {
  const lexer = new Lexer(diags)
  for (const l of lines) lexer.line(l.text, 0, l.text.length, l.file, l.line, l.col)
  return treeOf(lexer, diags)
}

/**
 * Read, preprocess and parse a configuration file: {@link preprocess} then
 * {@link buildTree}, with each logical line lexed as soon as it is produced so
 * that no line object outlives its use (the fast path for large files).
 */
export function readTree(mainFile: string, diags: Diagnostics, opts: PreprocessOptions): { tree: Statement[]; files: string[] } {
  const lexer = new Lexer(diags)
  const { files } = preprocessInto(mainFile, diags, opts, lexer)
  return { tree: treeOf(lexer, diags), files }
}

function treeOf(lexer: Lexer, diags: Diagnostics): Statement[] {
  const lexed = lexer.finish()
  const tokens = lexer.balanced ? lexed : balanceBraces(lexed, diags)
  let results: Statement[][]
  try {
    results = parseTokens(tokens)
  } catch (err) {
    const token = (err as { token?: Token }).token
    diags.error(token?.pos, 'KA_CONF_SYNTAX', `syntax error: ${token ? `unexpected ${token.type}` : String(err)}`)
    return []
  }
  if (results.length !== 1) {
    diags.error(undefined, 'KA_CONF_INTERNAL', `internal error: the grammar gave ${results.length} parses`)
    return results[0] ?? []
  }
  return results[0]!
}
