/**
 * The lexer: words, quotes, escapes and braces as keepalived's
 * alloc_strvec_quoted_escaped() reads them (reference §2.2–§2.3), and the
 * coarse tokens it hands the grammar.
 */
import fc from 'fast-check'
import t from 'tap'
import { Diagnostics } from '../../src/config/diagnostics.js'
import { lex, Lexer, type Token, unescape } from '../../src/config/lexer.js'
import type { LogicalLine } from '../../src/config/preprocess.js'
import type { Statement } from '../../src/config/tree.js'

function lexText(text: string, col = 1) {
  const diags = new Diagnostics()
  const lines: LogicalLine[] = text.split('\n').map((l, i) => ({ text: l, file: 'k.conf', line: i + 1, col }))
  return { tokens: lex(lines, diags), diags: diags.list }
}

/** Every statement the tokens carry, in order, with the braces between them. */
function flat(tokens: readonly Token[]): (Statement | '{' | '}')[] {
  const out: (Statement | '{' | '}')[] = []
  for (const tok of tokens) {
    out.push(...tok.statements)
    if (tok.type === 'open') {
      if (tok.header) out.push(tok.header)
      out.push('{')
    } else if (tok.type === 'close') out.push('}')
  }
  return out
}

/** Each statement as its words' texts; braces as themselves. */
function words(text: string): (string[] | string)[] {
  return flat(lexText(text).tokens).map((s) => (typeof s === 'string' ? s : [s.keyword, ...s.args.map((w) => w.text)]))
}

t.test('white space separates words; one line is one statement', async (t) => {
  t.same(words('router_id   R1\tx'), [['router_id', 'R1', 'x']])
  t.same(words('a b\nc'), [['a', 'b'], ['c']])
  t.same(words('   '), [])
})

t.test('quotes group words and adjacent pieces join into one word', async (t) => {
  t.same(words('abcd" efg h jkl "mnop'), [['abcd efg h jkl mnop']])
  t.same(words('abcd "efg h jkl" mnop'), [['abcd', 'efg h jkl', 'mnop']])
  t.same(words(`notify "/bin/echo 'a b'" root`), [['notify', "/bin/echo 'a b'", 'root']])
  t.same(words(`x 'single "double" inside'`), [['x', 'single "double" inside']])
  t.same(words('x ""'), [['x', '']])
})

t.test('the quoted flag marks any word with a quoted part', async (t) => {
  const [stmt] = flat(lexText('k a "b" c"d" \'e\'').tokens) as Statement[]
  t.same(stmt!.args.map((w) => [w.text, w.quoted]), [['a', false], ['b', true], ['cd', true], ['e', true]])
})

t.test('escapes work in and out of quotes', async (t) => {
  t.same(words('k \\n \\t \\x41 \\101 \\cA \\" \\\\ \\a\\b\\E\\f\\r\\v \\q'), [['k', '\n', '\t', 'A', 'A', '\x01', '"', '\\', '\x07\b\x1b\f\r\v', 'q']])
  t.same(words('k "a\\"b" "\\x41\\n"'), [['k', 'a"b', 'A\n']])
  t.same(words('k \\ca \\c@'), [['k', '\x01', '\x00']])
  t.equal(unescape('\\777'), String.fromCharCode(0o777 & 0xff), 'an octal escape is one byte')
  t.equal(unescape('\\x4g'), '\x04g', 'one hex digit is enough')
  t.equal(unescape('tail\\'), 'tail\\', 'a lone trailing backslash stays')
  t.same(words('k a\\ b'), [['k', 'a b']], 'an escaped space does not separate words')
})

t.test('braces outside quotes are tokens of their own and split words', async (t) => {
  t.same(words('x{y}z'), [['x'], '{', ['y'], '}', ['z']])
  t.same(words('global_defs { router_id R1 }'), [['global_defs'], '{', ['router_id', 'R1'], '}'])
  t.same(words('a"b"{c'), [['ab'], '{', ['c']])
})

t.test('a quoted or escaped brace is text', async (t) => {
  t.same(words('k "{" "}" a"{"b'), [['k', '{', '}', 'a{b']])
  t.same(words('k \\{ \\}'), [['k', '{', '}']])
  t.same(lexText('k "{"').tokens.map((x) => x.type), ['end'])
})

t.test('comment characters are the preprocessor business: here they are text', async (t) => {
  t.same(words('k a#b !c'), [['k', 'a#b', '!c']])
})

t.test('keepalived splits on ASCII white space only', async (t) => {
  t.same(words('k a\u00a0b'), [['k', 'a\u00a0b']])
  t.same(words('k\u000ba\u000cb\rc'), [['k', 'a', 'b', 'c']])
})

t.test('columns are 1-based, exact, and shifted by the line column', async (t) => {
  const [stmt] = flat(lexText('  k  "a b"  c{', 1).tokens) as Statement[]
  t.same([stmt!.keywordWord.col, ...stmt!.args.map((w) => w.col)], [3, 6, 13])
  t.same(stmt!.pos, { file: 'k.conf', line: 1, col: 3 })
  const shifted = lexText('k x', 5).tokens[0]!.statements[0]!
  t.same([shifted.keywordWord.col, shifted.args[0]!.col], [5, 7])
  const open = lexText('  k  "a b"  c{').tokens[0]!
  t.match(open, { type: 'open', pos: { line: 1, col: 14 } })
})

t.test('an unterminated quote is reported at its column and ends the word at the line end', async (t) => {
  const r = lexText('notify "/bin/echo a\nnext')
  t.same(flat(r.tokens).map((s) => (typeof s === 'string' ? s : [s.keyword, ...s.args.map((w) => w.text)])), [['notify', '/bin/echo a'], ['next']])
  t.equal(r.diags.length, 1)
  t.match(r.diags[0], { code: 'KA_CONF_QUOTE', pos: { file: 'k.conf', line: 1, col: 8 } })
  t.match(r.diags[0]!.message, /unterminated quote/)
  const single = lexText("x 'abc").diags[0]
  t.match(single, { code: 'KA_CONF_QUOTE', pos: { line: 1, col: 3 } })
  const escaped = lexText('x "a\\"').diags[0]
  t.match(escaped, { code: 'KA_CONF_QUOTE', pos: { col: 3 } }, 'an escaped quote does not close')
})

t.test('tokens: each ends at a brace and carries the statements since the previous one', async (t) => {
  const { tokens } = lexText('a 1\nb 2\nblock x {\nc 3\n}\nd 4')
  t.same(tokens.map((x) => x.type), ['open', 'close', 'end'])
  const [open, close, end] = tokens as [Extract<Token, { type: 'open' }>, Token, Token]
  t.same(open.statements.map((s) => s.keyword), ['a', 'b'])
  t.equal(open.header?.keyword, 'block')
  t.same(open.header?.args.map((w) => w.text), ['x'])
  t.same(close.statements.map((s) => s.keyword), ['c'])
  t.same(end.statements.map((s) => s.keyword), ['d'])
  t.same(end.pos, { file: 'k.conf', line: 6, col: 1 }, 'end is where the input ends')
})

t.test('a keyword and its { may be on different lines', async (t) => {
  const { tokens } = lexText('block\n{\n}')
  t.match(tokens[0], { type: 'open', header: { keyword: 'block', pos: { line: 1 } }, pos: { line: 2, col: 1 } })
})

t.test('a { with no statement before it has no header', async (t) => {
  const { tokens } = lexText('{\na {\n}\n{')
  t.same(tokens.map((x) => [x.type, x.type === 'open' ? x.header?.keyword : undefined]), [['open', undefined], ['open', 'a'], ['close', undefined], ['open', undefined], ['end', undefined]])
})

t.test('the empty input is one end token', async (t) => {
  t.same(lexText('').tokens, [{ type: 'end', statements: [], pos: undefined }])
})

t.test('equal words and argument lists are shared, and never confused', async (t) => {
  const { tokens } = lexText('weight 1\nweight 1\nweight 2\n weight 1\nweight "1"')
  const s = tokens[0]!.statements
  t.equal(s[0]!.keywordWord, s[1]!.keywordWord, 'same text and column: one Word')
  t.equal(s[0]!.args, s[1]!.args, 'same words: one argument list')
  t.not(s[0]!.args, s[2]!.args)
  t.equal(s[2]!.args[0]!.text, '2')
  t.not(s[0]!.keywordWord, s[3]!.keywordWord, 'another column: another Word')
  t.equal(s[3]!.keywordWord.col, 2)
  t.equal(s[4]!.args[0]!.quoted, true)
  t.equal(s[0]!.args[0]!.quoted, false)
})

t.test('property: words survive a round trip through quoting', async (t) => {
  const word = fc.string({ minLength: 0, maxLength: 12 })
  const quote = (w: string) => '"' + w.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"'
  t.doesNotThrow(() => fc.assert(
    fc.property(fc.array(word, { minLength: 1, maxLength: 6 }), (ws) => {
      // The lexer reads one logical line: line breaks never reach it.
      const clean = ws.map((w) => w.replace(/[\n]/g, ' '))
      return JSON.stringify(words(['k', ...clean.map(quote)].join(' '))) === JSON.stringify([['k', ...clean]])
    }),
    { numRuns: 300 },
  ))
})

t.test('the streaming Lexer reads ranges of a larger string', async (t) => {
  const diags = new Diagnostics()
  const lexer = new Lexer(diags)
  const source = 'xxxx  a b {  c  }yyyy'
  lexer.line(source, 6, 17, 'f', 3, 7)
  const tokens = lexer.finish()
  t.same(tokens.map((x) => x.type), ['open', 'close', 'end'])
  const header = (tokens[0] as Extract<Token, { type: 'open' }>).header!
  t.same([header.keyword, header.keywordWord.col, header.args[0]!.text, header.args[0]!.col], ['a', 7, 'b', 9])
  t.same(tokens[1]!.statements[0]!.pos, { file: 'f', line: 3, col: 14 })
  t.same(tokens[1]!.pos, { file: 'f', line: 3, col: 17 })
})
