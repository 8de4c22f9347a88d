/**
 * The generic tree: keepalived.conf as statements (a keyword, its arguments and
 * an optional block), every node with its source position. Built by the nearley
 * grammar in grammar/keepalived.ne; the typed builders read nothing else.
 */
import nearley from 'nearley'
import type { Diagnostics, SourcePosition } from './diagnostics.js'
import grammar from './grammar.generated.js'
import { lexLine, type Token, type Word } from './lexer.js'
import type { LogicalLine } from './preprocess.js'

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

const compiled = nearley.Grammar.fromCompiled(grammar as unknown as nearley.CompiledRules)

/** Feeds our token array to nearley as its "lexer". */
class TokenArrayLexer implements nearley.Lexer {
  private tokens: readonly Token[] = []
  private index = 0
  reset(chunk: unknown): void {
    this.tokens = chunk as readonly Token[]
    this.index = 0
  }
  next(): nearley.Token | undefined {
    return this.tokens[this.index++] as unknown as nearley.Token | undefined
  }
  save(): nearley.LexerState {
    return {} as nearley.LexerState
  }
  formatError(token: nearley.Token): string {
    return `unexpected ${(token as unknown as Token).type}`
  }
  has(name: string): boolean {
    return name === 'line' || name === 'lbrace' || name === 'rbrace'
  }
}

export function tokenize(lines: readonly LogicalLine[], diags: Diagnostics): Token[] {
  const tokens: Token[] = []
  for (const line of lines) lexLine(line, diags, tokens)
  return tokens
}

/**
 * Make the token stream well-formed before the grammar sees it, reporting each
 * problem once: an extra `}` is dropped, a `{` that follows no keyword is dropped
 * with its matching `}` (its contents join the enclosing block), and blocks still
 * open at the end of the input are closed there.
 */
export function balanceBraces(tokens: readonly Token[], diags: Diagnostics): Token[] {
  const out: Token[] = []
  const open: { pos: SourcePosition; stray: boolean }[] = []
  for (const tok of tokens) {
    if (tok.type === 'lbrace') {
      const prev = out[out.length - 1]
      const stray = prev?.type !== 'line'
      if (stray) {
        diags.error(tok.pos, 'KA_CONF_BRACE', "unexpected '{' with no keyword before it")
      } else out.push(tok)
      open.push({ pos: tok.pos, stray })
    } else if (tok.type === 'rbrace') {
      const opened = open.pop()
      if (!opened) {
        diags.error(tok.pos, 'KA_CONF_BRACE', "extra '}' with no block to close")
        continue
      }
      if (!opened.stray) out.push(tok)
    } else out.push(tok)
  }
  for (let i = open.length - 1; i >= 0; i--) {
    const o = open[i]!
    diags.error(o.pos, 'KA_CONF_BRACE', "block opened here is never closed with '}'")
    if (!o.stray) {
      const last = tokens[tokens.length - 1]
      out.push({ type: 'rbrace', pos: last?.pos ?? o.pos })
    }
  }
  return out
}

/**
 * Parse balanced tokens with the grammar. Returns every parse nearley found: a
 * correct grammar yields exactly one, and tests hold it to that.
 */
export function parseTokens(tokens: readonly Token[]): Statement[][] {
  const parser = new nearley.Parser(compiled, { lexer: new TokenArrayLexer() })
  parser.feed(tokens as unknown as string)
  return parser.results as Statement[][]
}

export function buildTree(lines: readonly LogicalLine[], diags: Diagnostics): Statement[] {
  const tokens = balanceBraces(tokenize(lines, diags), diags)
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
