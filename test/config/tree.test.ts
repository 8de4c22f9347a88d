/**
 * The tree: statements and blocks from the grammar, brace problems reported once
 * with their positions, and exactly one parse for every input.
 */
import fc from 'fast-check'
import t from 'tap'
import { Diagnostics } from '../../src/config/diagnostics.js'
import { Lexer, type Token } from '../../src/config/lexer.js'
import type { LogicalLine } from '../../src/config/preprocess.js'
import { balanceBraces, buildTree, parseTokens, readTree, type Statement, tokenize } from '../../src/config/tree.js'

function linesOf(text: string): LogicalLine[] {
  return text.split('\n').map((l, i) => ({ text: l, file: 'k.conf', line: i + 1, col: 1 }))
}

function tree(text: string) {
  const diags = new Diagnostics()
  const stmts = buildTree(linesOf(text), diags)
  return { stmts, diags: diags.list }
}

/** A statement as `keyword args…` with its block, for compact comparisons. */
type Shape = string | [string, Shape[]]
function shape(stmts: readonly Statement[]): Shape[] {
  return stmts.map((s) => {
    const head = [s.keyword, ...s.args.map((w) => w.text)].join(' ')
    return s.block ? [head, shape(s.block)] : head
  })
}

t.test('a block opens on the keyword line or on the next line', async (t) => {
  const same = tree('global_defs {\n  router_id R1\n}')
  const next = tree('global_defs\n{\n  router_id R1\n}')
  t.same(shape(same.stmts), [['global_defs', ['router_id R1']]])
  t.same(shape(next.stmts), shape(same.stmts))
  t.same(same.diags, [])
  t.same(next.diags, [])
  t.match(next.stmts[0], { pos: { line: 1, col: 1 }, open: { line: 2, col: 1 }, close: { line: 4, col: 1 } })
})

t.test('{ a } on one line is a block with one statement', async (t) => {
  const r = tree('global_defs { router_id R1 }')
  t.same(shape(r.stmts), [['global_defs', ['router_id R1']]])
  t.match(r.stmts[0], { open: { line: 1, col: 13 }, close: { line: 1, col: 28 } })
  t.match(r.stmts[0]!.block![0], { pos: { line: 1, col: 15 } })
})

t.test('one line is one statement, even inside braces (keepalived reads it so)', async (t) => {
  const r = tree('authentication { auth_type PASS auth_pass 1111 }')
  t.same(shape(r.stmts), [['authentication', ['auth_type PASS auth_pass 1111']]])
})

t.test('value blocks: one entry per line, the first may follow the {', async (t) => {
  const r = tree('virtual_ipaddress {\n  10.0.0.1/24\n  10.0.0.2/24 dev eth0 label eth0:1\n}\nnotification_email { a@b.c\n  d@e.f }')
  t.same(shape(r.stmts), [
    ['virtual_ipaddress', ['10.0.0.1/24', '10.0.0.2/24 dev eth0 label eth0:1']],
    ['notification_email', ['a@b.c', 'd@e.f']],
  ])
})

t.test('nested blocks, empty blocks, and text after a closing brace', async (t) => {
  const r = tree('vs {\n  rs {\n    TCP_CHECK {\n    }\n  } weight 1\n}\nx')
  t.same(shape(r.stmts), [['vs', [['rs', [['TCP_CHECK', []]]], 'weight 1']], 'x'])
  t.same(r.diags, [])
})

t.test('an extra } is reported where it is and dropped; nothing else is lost', async (t) => {
  const r = tree('global_defs {\n  router_id R1\n}\n}\nvrrp_script s {\n}')
  t.same(shape(r.stmts), [['global_defs', ['router_id R1']], ['vrrp_script s', []]])
  t.equal(r.diags.length, 1)
  t.match(r.diags[0], { code: 'KA_CONF_BRACE', pos: { file: 'k.conf', line: 4, col: 1 } })
  t.match(r.diags[0]!.message, /extra '}'/)
  const inner = tree('a {\n b } c }\nd')
  t.same(shape(inner.stmts), [['a', ['b']], 'c', 'd'], 'statements before an extra } stay')
})

t.test('an unclosed { is reported at the brace, naming its keyword and line', async (t) => {
  const r = tree('global_defs {\n  router_id R1\n}\nvrrp_instance VI_1 {\n  state MASTER\n  virtual_ipaddress {\n    10.0.0.1\n  }\n')
  t.same(shape(r.stmts), [['global_defs', ['router_id R1']], ['vrrp_instance VI_1', ['state MASTER', ['virtual_ipaddress', ['10.0.0.1']]]]])
  t.equal(r.diags.length, 1)
  t.match(r.diags[0], { code: 'KA_CONF_BRACE', pos: { line: 4, col: 20 } })
  t.equal(r.diags[0]!.message, "'vrrp_instance' block opened on line 4 is never closed with '}'")
  const two = tree('a {\nb {\nc')
  t.same(shape(two.stmts), [['a', [['b', ['c']]]]], 'the statements left over go to the innermost block')
  t.same(two.diags.map((d) => d.pos?.line), [2, 1], 'innermost first')
  t.match(two.stmts[0]!.block![0], { close: { line: 3, col: 1 } }, 'closed where the input ends')
})

t.test('a { with no keyword before it is reported and ignored with its }', async (t) => {
  const r = tree('global_defs {\n  {\n  smtp_server 1.2.3.4\n  }\n  notification_email_from a@b\n}')
  t.same(shape(r.stmts), [['global_defs', ['smtp_server 1.2.3.4', 'notification_email_from a@b']]])
  t.equal(r.diags.length, 1)
  t.match(r.diags[0], { code: 'KA_CONF_BRACE', pos: { line: 2, col: 3 } })
  t.match(r.diags[0]!.message, /unexpected '\{'/)
  t.same(shape(tree('{ a }').stmts), ['a'])
  t.same(shape(tree('x {\n}\n{\n}').stmts), [['x', []]], 'a { right after a } has no keyword either')
  const unclosed = tree('{\na')
  t.same(shape(unclosed.stmts), ['a'])
  t.same(unclosed.diags.map((d) => d.message), ["unexpected '{' with no keyword before it", "'{' opened on line 1 is never closed with '}'"])
})

t.test('a { on its own line opens a block for the statement before it, whatever it is', async (t) => {
  // keepalived knows which keywords take blocks and would say "Unexpected '{'"; the
  // generic tree does not, and the builders report "does not take a block" instead.
  t.same(shape(tree('global_defs {\n  router_id R1\n  {\n  x\n  }\n}').stmts), [['global_defs', [['router_id R1', ['x']]]]])
})

t.test('a keyword after an extra } can still open a block', async (t) => {
  const r = tree('x {\n}\ny }\n{\nz\n}')
  t.same(shape(r.stmts), [['x', []], ['y', ['z']]])
})

t.test('positions: keywords, arguments and braces', async (t) => {
  const r = tree('  real_server 10.0.0.2 80 {\n    weight 1\n  }')
  const rs = r.stmts[0]!
  t.same(rs.pos, { file: 'k.conf', line: 1, col: 3 })
  t.same(rs.args.map((w) => w.col), [15, 24])
  t.same(rs.open, { file: 'k.conf', line: 1, col: 27 })
  t.same(rs.close, { file: 'k.conf', line: 3, col: 3 })
  t.same(rs.block![0]!.pos, { file: 'k.conf', line: 2, col: 5 })
  t.equal(rs.block![0]!.open, undefined)
})

t.test('a well-formed token stream comes out of balanceBraces as the same tokens', async (t) => {
  const diags = new Diagnostics()
  const tokens = tokenize(linesOf('a {\n b {\n }\n}\nc'), diags)
  const balanced = balanceBraces(tokens, diags)
  t.same(balanced.length, tokens.length)
  t.ok(balanced.every((tok, i) => tok === tokens[i]))
  t.same(diags.list, [])
})

t.test('balanceBraces accepts a stream without its end token', async (t) => {
  const diags = new Diagnostics()
  const tokens = tokenize(linesOf('a {\n b'), diags).slice(0, -1)
  const balanced = balanceBraces(tokens, diags)
  t.same(balanced.map((x) => x.type), ['open', 'close', 'end'])
  t.equal(parseTokens(balanced).length, 1)
})

t.test('readTree streams a file from disk and agrees with buildTree', async (t) => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const dir = mkdtempSync(join(tmpdir(), 'kats-tree-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'k.conf')
  writeFileSync(file, '# c\nglobal_defs {\n  router_id "R 1"\n}\n@main x 1\n@other y 2\n$A=3\nz $A\n')
  const diags = new Diagnostics()
  const r = readTree(file, diags, { configId: 'main' })
  t.same(r.files, [file])
  t.same(shape(r.tree), [['global_defs', ['router_id R 1']], 'x 1', 'z 3'])
  t.match(r.tree[1], { pos: { line: 5, col: 7 } }, 'the column after @id is exact')
  t.same(diags.list, [])
})

// ---------------------------------------------------------------------------
// Exactly one parse

interface Node {
  readonly name: string
  readonly children: readonly Node[] | undefined
}

const name = fc.constantFrom('a', 'bb', 'real_server', 'TCP_CHECK', '10.0.0.1', 'x_y')
const node: fc.Arbitrary<Node> = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.record({
    name,
    children: fc.option(fc.array(tie('node'), { maxLength: 4 }), { nil: undefined, depthSize: 'small' }),
  }),
})).node
const forest = fc.array(node, { maxLength: 6 })

/** Render nodes as text, with the brace placement chosen per block. */
function render(nodes: readonly Node[], placement: () => number, indent = ''): string[] {
  const out: string[] = []
  for (const n of nodes) {
    if (!n.children) {
      out.push(indent + n.name)
      continue
    }
    const p = placement()
    if (p === 0) out.push(`${indent}${n.name} {`)
    else out.push(indent + n.name, `${indent}{`)
    out.push(...render(n.children, placement, indent + '  '))
    out.push(`${indent}}`)
  }
  return out
}

function nodeShape(nodes: readonly Node[]): Shape[] {
  return nodes.map((n) => (n.children ? [n.name, nodeShape(n.children)] : n.name))
}

t.test('property: nested blocks parse exactly once, to the blocks written', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(forest, fc.infiniteStream(fc.nat(1)), (nodes, placements) => {
        const it = placements[Symbol.iterator]()
        const text = render(nodes, () => it.next().value as number).join('\n')
        const diags = new Diagnostics()
        const tokens = balanceBraces(tokenize(linesOf(text), diags), diags)
        const results = parseTokens(tokens)
        return diags.list.length === 0 && results.length === 1 && JSON.stringify(shape(results[0]!)) === JSON.stringify(nodeShape(nodes))
      }),
      { numRuns: 300 },
    ),
  )
})

/** A statement for hand-built token streams. */
function stmt(keyword: string, line: number): Statement {
  const pos = { file: 't', line, col: 1 }
  return { keyword, keywordWord: { text: keyword, col: 1, quoted: false }, args: [], pos, block: undefined, open: undefined, close: undefined }
}

/** Statements of a tree, depth first, in file order. */
function all(stmts: readonly Statement[]): string[] {
  return stmts.flatMap((s) => [s.keyword, ...(s.block ? all(s.block) : [])])
}

t.test('property: any token stream, balanced or not, gives exactly one parse and loses no statement', async (t) => {
  const step = fc.record({
    type: fc.constantFrom('open', 'close'),
    before: fc.nat(2),
    header: fc.boolean(),
  })
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), fc.nat(2), (steps, trailing) => {
        let n = 0
        const take = (k: number) => Array.from({ length: k }, () => stmt(`s${n++}`, n))
        const tokens: Token[] = steps.map((s, i) => {
          const statements = take(s.before)
          const pos = { file: 't', line: 1000 + i, col: 1 }
          if (s.type === 'close') return { type: 'close', statements, pos }
          return { type: 'open', statements, header: s.header ? stmt(`s${n++}`, n) : undefined, pos }
        })
        tokens.push({ type: 'end', statements: take(trailing), pos: undefined })
        const diags = new Diagnostics()
        const results = parseTokens(balanceBraces(tokens, diags))
        if (results.length !== 1) return false
        const names = all(results[0]!)
        return names.length === n && names.every((s, i) => s === `s${i}`)
      }),
      { numRuns: 500 },
    ),
  )
})

t.test('property: arbitrary text never breaks the grammar', async (t) => {
  const piece = fc.constantFrom('a', 'b c', '{', '}', ' ', '"{"', '"x', "'}'", '\\{', '\n', '\n', 'k {', '} k')
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), (pieces) => {
        const r = tree(pieces.join(''))
        return r.diags.every((d) => d.code === 'KA_CONF_BRACE' || d.code === 'KA_CONF_QUOTE')
      }),
      { numRuns: 500 },
    ),
  )
})

t.test('a large flat file still parses once (no ambiguity blow-up)', async (t) => {
  const text = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? `b${i} {` : i % 3 === 1 ? `  x ${i}` : '}')).join('\n\n')
  const diags = new Diagnostics()
  const results = parseTokens(balanceBraces(tokenize(linesOf(text), diags), diags))
  t.equal(results.length, 1)
  t.equal(results[0]!.length, 1000)
})

t.test('property: the lexer knows when balanceBraces has nothing to do', async (t) => {
  const piece = fc.constantFrom('a', 'b c', '{', '}', ' ', '\n', 'k {', '} k', '"{"')
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        const diags = new Diagnostics()
        const lexer = new Lexer(diags)
        for (const l of linesOf(pieces.join(''))) lexer.line(l.text, 0, l.text.length, l.file, l.line, l.col)
        const tokens = lexer.finish()
        const balanced = balanceBraces(tokens, diags)
        const untouched = diags.list.length === 0 && balanced.length === tokens.length && balanced.every((tok, i) => tok === tokens[i])
        return lexer.balanced === untouched
      }),
      { numRuns: 500 },
    ),
  )
})
