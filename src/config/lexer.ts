/**
 * Words and braces of one logical line, lexed with moo the way keepalived's
 * alloc_strvec_quoted_escaped() reads them (reference §2.2–§2.3): white space
 * separates words, `"…"` and `'…'` group, adjacent pieces join into one word,
 * backslash escapes work in and out of quotes, and a brace outside quotes is
 * always a token of its own.
 */
import moo from 'moo'
import type { Diagnostics, SourcePosition } from './diagnostics.js'
import type { LogicalLine } from './preprocess.js'

export interface Word {
  readonly text: string
  /** 1-based column where the word starts. */
  readonly col: number
  /** True when any part of the word was quoted (a quoted `{` is text, not a brace). */
  readonly quoted: boolean
}

/** The grammar's terminals: a run of words, `{` or `}`. */
export type Token =
  | { readonly type: 'line'; readonly words: readonly Word[]; readonly pos: SourcePosition }
  | { readonly type: 'lbrace'; readonly pos: SourcePosition }
  | { readonly type: 'rbrace'; readonly pos: SourcePosition }

const rules = moo.compile({
  ws: /[ \t\v\f\r]+/,
  lbrace: '{',
  rbrace: '}',
  dquote: /"(?:\\[^]|[^"\\])*"?/,
  squote: /'(?:\\[^]|[^'\\])*'?/,
  text: /(?:\\[^]?|[^\s"'{}\\])+/,
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

/** Append the tokens of `line` to `out`. */
export function lexLine(line: LogicalLine, diags: Diagnostics, out: Token[]): void {
  const base = line.col - 1
  const pos = (col: number): SourcePosition => ({ file: line.file, line: line.line, col: base + col })
  // Fast path: most lines are plain words and braces.
  if (!/["'\\]/.test(line.text)) {
    let words: Word[] = []
    const re = /[{}]|[^\s{}]+/g
    let m: RegExpExecArray | null
    while ((m = re.exec(line.text)) !== null) {
      const text = m[0]
      if (text === '{' || text === '}') {
        if (words.length > 0) out.push({ type: 'line', words, pos: pos(words[0]!.col - base) })
        words = []
        out.push({ type: text === '{' ? 'lbrace' : 'rbrace', pos: pos(m.index + 1) })
      } else words.push({ text, col: base + m.index + 1, quoted: false })
    }
    if (words.length > 0) out.push({ type: 'line', words, pos: pos(words[0]!.col - base) })
    return
  }
  rules.reset(line.text)
  let words: Word[] = []
  let current: { text: string; col: number; quoted: boolean } | undefined
  const endWord = () => {
    if (current) words.push(current)
    current = undefined
  }
  const endLine = () => {
    endWord()
    if (words.length > 0) out.push({ type: 'line', words, pos: pos(words[0]!.col - base) })
    words = []
  }
  for (const tok of rules) {
    switch (tok.type) {
      case 'ws':
        endWord()
        break
      case 'lbrace':
      case 'rbrace':
        endLine()
        out.push({ type: tok.type, pos: pos(tok.col) })
        break
      default: {
        const quote = tok.type === 'dquote' ? '"' : tok.type === 'squote' ? "'" : ''
        let body = tok.text
        if (quote) {
          // The pattern consumes escaped quotes, so a final quote is the closing one.
          if (body.length < 2 || !body.endsWith(quote)) {
            diags.error(pos(tok.col), 'KA_CONF_QUOTE', `unterminated quote: ${body}`)
            body = body.slice(1)
          } else {
            body = body.slice(1, -1)
          }
        }
        const text = unescape(body)
        if (current) {
          current.text += text
          current.quoted ||= quote !== ''
        } else {
          current = { text, col: base + tok.col, quoted: quote !== '' }
        }
      }
    }
  }
  endLine()
}
