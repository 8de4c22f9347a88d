import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import t from 'tap'
import { memFiles } from '../helpers/config.js'
import { Diagnostics } from '../../src/config/diagnostics.js'
import { preprocess, preprocessInto } from '../../src/config/preprocess.js'


function lines(text: string, configId = 'main', extra: Record<string, string> = {}) {
  const d = new Diagnostics()
  const r = preprocess('/etc/k.conf', d, { configId, files: memFiles({ '/etc/k.conf': text, ...extra }), random: () => 0.5 })
  return { texts: r.lines.map((l) => l.text), lines: r.lines, diags: d.list }
}

t.test('comments outside double quotes are stripped', async (t) => {
  t.same(lines('router_id R1   # note\nnotify "/bin/echo a#b" ! c\n').texts, ['router_id R1', 'notify "/bin/echo a#b"'])
})

t.test('@id and @^id select lines by config id', async (t) => {
  const src = '@main priority 103\n@^main priority 102\n@backup x\n@^backup y\n'
  t.same(lines(src, 'main').texts, ['priority 103', 'y'])
  t.same(lines(src, 'backup').texts, ['priority 102', 'x'])
})

t.test('$NAME definitions, recursion at use time, undefined names stay', async (t) => {
  const src = '$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}\n$ADDRESS_BASE_SUB=0\n${ADDRESS_BASE}.100/32\n$ADDRESS_BASE_SUB=10\n${ADDRESS_BASE}.100/32\necho $UNDEF ${UNDEF}\n'
  t.same(lines(src).texts, ['10.2.0.100/32', '10.2.10.100/32', 'echo $UNDEF ${UNDEF}'])
})

t.test('multi-line definitions expand to several lines, with conditionals inside', async (t) => {
  const src = ['$BLOCK= \\', 'virtual_ipaddress { \\', '  ${VIPBASE}.50/32 \\', '  @main 10.0.0.1 \\', '}', '$VIPBASE=10.8.0', '$BLOCK'].join('\n')
  t.same(lines(src).texts, ['virtual_ipaddress {', '${VIPBASE}.50/32', '@main 10.0.0.1', '}'].map((x) => x.replace('${VIPBASE}', '10.8.0').replace('@main ', '')))
})

t.test('~SEQ and ~LST', async (t) => {
  t.same(lines('~SEQ(N, 1, 3) 10.8.0.1${N}/32').texts, ['10.8.0.11/32', '10.8.0.12/32', '10.8.0.13/32'])
  t.same(lines('~SEQx(S, 0x90, 0x10, 0xc0) fe80::${S}').texts, ['fe80::90', 'fe80::a0', 'fe80::b0', 'fe80::c0'])
  t.same(lines('~LST({IP, IP1}, {10,1},{20,4}) 192.168.${IP}.${IP1}').texts, ['192.168.10.1', '192.168.20.4'])
  t.same(lines('~LST(A, 1, 2) ~LST(B, x, y) ${A}${B}').texts, ['1x', '1y', '2x', '2y'])
  t.equal(lines('~SEQ(N, 1, 0, 3) x').diags[0]?.code, 'KA_CONF_SEQUENCE')
})

t.test('include is relative to the including file and keeps positions', async (t) => {
  const r = lines('a\ninclude conf.d/*.conf\nb\n', 'main', { '/etc/conf.d/1.conf': 'one\n\n  two\n' })
  t.same(r.texts, ['a', 'one', 'two', 'b'])
  t.match(r.lines[2], { file: '/etc/conf.d/1.conf', line: 3, col: 3 })
  const missing = lines('include nothing/*.conf\n')
  t.equal(missing.diags[0]?.code, 'KA_CONF_INCLUDE')
  t.match(missing.diags[0]?.pos, { file: '/etc/k.conf', line: 1 })
})

// ---------------------------------------------------------------------------
// Files on disk: include with globs and braces, nesting, cycles

function onDisk(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kats-pre-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}

function fromDisk(dir: string, configId = 'main') {
  const d = new Diagnostics()
  const r = preprocess(join(dir, 'keepalived.conf'), d, { configId, random: () => 0.5 })
  return { texts: r.lines.map((l) => l.text), lines: r.lines, files: r.files.map((f) => f.slice(dir.length + 1)), diags: d.list }
}

t.test('include: globs and {a,b} braces, each alternative sorted and in order', async (t) => {
  const dir = onDisk({
    'keepalived.conf': 'first\ninclude conf.d/{b,a}*.conf\ninclude conf.d/[c]?.conf\nlast\n',
    'conf.d/a1.conf': 'a1\n',
    'conf.d/a0.conf': 'a0\n',
    'conf.d/b.conf': 'b\n',
    'conf.d/cx.conf': 'cx\n',
    'conf.d/.ca.conf': 'hidden\n',
  })
  const r = fromDisk(dir)
  t.same(r.texts, ['first', 'b', 'a0', 'a1', 'cx', 'last'])
  t.same(r.files, ['keepalived.conf', 'conf.d/b.conf', 'conf.d/a0.conf', 'conf.d/a1.conf', 'conf.d/cx.conf'])
  t.same(r.diags, [])
})

t.test('include: inside a block, relative to the including file, positions kept', async (t) => {
  const dir = onDisk({
    'keepalived.conf': 'global_defs {\n  include sub/gd.conf\n}\n',
    'sub/gd.conf': '  router_id R1\n  include more/x.conf\n',
    'sub/more/x.conf': '\n\n   smtp_server 10.0.0.1\n',
  })
  const r = fromDisk(dir)
  t.same(r.texts, ['global_defs {', 'router_id R1', 'smtp_server 10.0.0.1', '}'])
  t.match(r.lines[2], { file: join(dir, 'sub/more/x.conf'), line: 3, col: 4 })
  t.match(r.lines[3], { file: join(dir, 'keepalived.conf'), line: 3, col: 1 })
})

t.test('include: a cycle is reported at the include line and not followed', async (t) => {
  const dir = onDisk({
    'keepalived.conf': 'top\ninclude a.conf\n',
    'a.conf': 'in_a\ninclude b.conf\n',
    'b.conf': 'in_b\n  include a.conf\n',
  })
  const r = fromDisk(dir)
  t.same(r.texts, ['top', 'in_a', 'in_b'])
  t.equal(r.diags.length, 1)
  t.match(r.diags[0], { code: 'KA_CONF_INCLUDE', pos: { file: join(dir, 'b.conf'), line: 2, col: 3 } })
  t.match(r.diags[0]!.message, /includes itself/)
  const self = fromDisk(onDisk({ 'keepalived.conf': 'x\ninclude keepalived.conf\n' }))
  t.same(self.texts, ['x'])
  t.match(self.diags[0], { code: 'KA_CONF_INCLUDE', pos: { line: 2, col: 1 } })
})

t.test('include: a file included twice (not a cycle) is read twice', async (t) => {
  const r = fromDisk(onDisk({ 'keepalived.conf': 'include x.conf\ninclude x.conf\n', 'x.conf': 'x\n' }))
  t.same(r.texts, ['x', 'x'])
  t.same(r.diags, [])
})

t.test('include: the variants, a missing pattern, and a missing file name', async (t) => {
  const dir = onDisk({ 'keepalived.conf': 'includer x.conf\nincludea x.conf\ninclude nothing*.conf\ninclude\nincluded_not x\n', 'x.conf': 'x\n' })
  const r = fromDisk(dir)
  t.same(r.texts, ['x', 'x', 'included_not x'])
  t.same(r.diags.map((d) => [d.code, d.pos?.line, d.pos?.col]), [['KA_CONF_INCLUDE', 3, 1], ['KA_CONF_INCLUDE', 4, 1]])
  t.match(r.diags[0]!.hint, /includer/)
})

t.test('include: an unreadable main file is fatal', async (t) => {
  const d = new Diagnostics()
  const r = preprocess('/nonexistent/keepalived.conf', d, { configId: 'main' })
  t.same(r.lines, [])
  t.match(d.list[0], { code: 'KA_CONF_NO_FILE', verdict: 'fatal', pos: undefined })
})

// ---------------------------------------------------------------------------
// Predefined definitions

t.test('${_HASH} and ${_BANG} are literal # and ! (escaped for the lexer), not comments', async (t) => {
  const r = lines('notify "/bin/x ${_HASH}1 ${_BANG}2" # real comment\nk ${_HASH} ${_BANG}\n')
  t.same(r.texts, ['notify "/bin/x \\#1 \\!2"', 'k \\# \\!'])
  t.same(r.diags, [])
})

t.test('${_PWD} is the directory of the file being read, ${_INSTANCE} the config id', async (t) => {
  const dir = onDisk({ 'keepalived.conf': 'top ${_PWD} ${_INSTANCE}\ninclude sub/x.conf\nafter ${_PWD}\n', 'sub/x.conf': 'inner ${_PWD}\n' })
  const r = fromDisk(dir, 'node1')
  t.same(r.texts, [`top ${dir} node1`, `inner ${join(dir, 'sub')}`, `after ${dir}`])
})

t.test('${_RANDOM} with no, one and two bounds', async (t) => {
  const pick = (random: number, text: string) => {
    const d = new Diagnostics()
    return preprocess('/etc/k.conf', d, { configId: 'main', files: memFiles({ '/etc/k.conf': text }), random: () => random }).lines.map((l) => l.text)
  }
  t.same(pick(0, 'r ${_RANDOM} ${_RANDOM 1 10} ${_RANDOM 5}'), ['r 0 1 5'])
  t.same(pick(0.99999, 'r ${_RANDOM} ${_RANDOM 1 10} ${_RANDOM 5}'), ['r 32767 10 32767'])
  const bad = lines('r ${_RANDOM 10 1}')
  t.same(bad.texts, ['r 10'])
  t.match(bad.diags[0], { code: 'KA_CONF_DEFINITION', pos: { line: 1, col: 1 } })
})

// ---------------------------------------------------------------------------
// Definitions, conditionals and sequences together

t.test('nested multi-line definitions: the man page $VS / $RS example', async (t) => {
  const src = [
    '$RS= \\',
    'real_server 192.168.${VS_NUM}.${RS_NUM} 80 { \\',
    '    weight 1 \\',
    '}',
    '$VS= \\',
    'virtual_server 10.0.${VS_NUM}.4 80 { \\',
    '    quorum 2 \\',
    '    $RS_NUM=1 \\',
    '    $RS \\',
    '    $RS_NUM=2 \\',
    '    $RS \\',
    '}',
    '$VS_NUM=0',
    '$VS',
    '$VS_NUM=1',
    '$VS',
  ].join('\n')
  const r = lines(src)
  const vs = (n: number) => [`virtual_server 10.0.${n}.4 80 {`, 'quorum 2', ...[1, 2].flatMap((rs) => [`real_server 192.168.${n}.${rs} 80 {`, 'weight 1', '}']), '}']
  t.same(r.texts, [...vs(0), ...vs(1)])
  t.same(r.diags, [])
  t.same([...new Set(r.lines.slice(0, 9).map((l) => l.line))], [14], 'expanded lines are positioned at the use')
})

t.test('a blank or comment-only line ends a multi-line definition (keepalived 2.2.7)', async (t) => {
  const r = lines('$B= \\\nglobal_defs { \\\n\n  router_id R1 \\\n}\n$B\n')
  t.same(r.texts, ['router_id R1 \\', '}', 'global_defs {'])
  const c = lines('$B= \\\na \\\n# note\nb\n$B\n')
  t.same(c.texts, ['b', 'a'])
})

t.test('@ with a definition: $IF_MAIN=@main', async (t) => {
  const src = '$IF_MAIN=@main\n$IF_MAIN priority 240\n$IF_BACKUP=@backup\n$IF_BACKUP priority 100\n@main $PRIO=250\n@backup $PRIO=50\nprio $PRIO\n'
  t.same(lines(src, 'main').texts, ['priority 240', 'prio 250'])
  t.same(lines(src, 'backup').texts, ['priority 100', 'prio 50'])
  t.same(lines('@main\n@^main\n@main   \n', 'main').texts, [], 'a line with only @id is dropped')
})

t.test('$NAME needs white space, `,`, `)` or the end after it; ${NAME} does not', async (t) => {
  t.same(lines('$A=1\nk $A,$A) $A\nk $Ax ${A}x $A$A').texts, ['k 1,1) 1', 'k $Ax 1x $A1'])
  t.same(lines('$A=\nk [$A]').texts, ['k [$A]'])
  t.same(lines('$A=\nk [${A}]').texts, ['k []'], 'an empty value')
})

t.test('~SEQ defaults: one, two and three numbers, negative ends and steps, hex', async (t) => {
  t.same(lines('~SEQ(N, 3) k${N}').texts, ['k1', 'k2', 'k3'])
  t.same(lines('~SEQ(N, 0) k${N}').texts, ['k1', 'k0'])
  t.same(lines('~SEQ(N, -3) k${N}').texts, ['k-1', 'k-2', 'k-3'])
  t.same(lines('~SEQ(N, 2, 4) k${N}').texts, ['k2', 'k3', 'k4'])
  t.same(lines('~SEQ(N, 5, 3) k${N}').texts, ['k5', 'k4', 'k3'])
  t.same(lines('~SEQ(N, 1, 2, 7) k${N}').texts, ['k1', 'k3', 'k5', 'k7'])
  t.same(lines('~SEQ(N, 7, -3, 1) k${N}').texts, ['k7', 'k4', 'k1'])
  t.same(lines('~SEQx(N, 9, 12) k${N}').texts, ['k9', 'ka', 'kb', 'kc'])
  t.same(lines('~SEQ(N, 2) k$N x').texts, ['k1 x', 'k2 x'])
})

t.test('~SEQ nested, with ~LST, and over a multi-line definition', async (t) => {
  t.same(lines('~SEQ(A, 1, 2) ~SEQ(B, 1, 2) k${A}${B}').texts, ['k11', 'k12', 'k21', 'k22'])
  t.same(lines('~LST(A, x, y) ~SEQ(B, 2) k${A}${B}').texts, ['kx1', 'kx2', 'ky1', 'ky2'])
  t.same(lines('$M= \\\nk${N}a \\\nk${N}b\n~SEQ(N, 2) $M\n').texts, ['k1a', 'k1b', 'k2a', 'k2b'])
  t.same(lines('$N=outer\n~SEQ(N, 1) k${N}\nafter ${N}').texts, ['k1', 'after outer'], 'the variable is restored afterwards')
})

t.test('columns stay exact after @id and ~SEQ(...) prefixes', async (t) => {
  const r = lines('  @main  priority 103\n~SEQ(N, 1) a b\n')
  t.match(r.lines[0], { text: 'priority 103', line: 1, col: 10 })
  t.match(r.lines[1], { text: 'a b', line: 2, col: 12 })
})

t.test('CRLF line endings and trailing white space are stripped', async (t) => {
  const r = lines('a 1\r\n  b 2 \t\r\n$A=x\r\nc $A\r\n')
  t.same(r.texts, ['a 1', 'b 2', 'c x'])
  t.same(r.lines.map((l) => [l.line, l.col]), [[1, 1], [2, 3], [4, 1]])
})

t.test('an escaped comment character is text; a # inside double quotes too', async (t) => {
  t.same(lines('k a\\#b "c#d" e # f\nk \'g#h\'').texts, ['k a\\#b "c#d" e', "k 'g"])
})

t.test('errors carry exact positions', async (t) => {
  const seq = lines('ok\n   ~SEQ(N, 1, 0, 3) k')
  t.match(seq.diags[0], { code: 'KA_CONF_SEQUENCE', pos: { file: '/etc/k.conf', line: 2, col: 4 } })
  t.match(seq.diags[0]!.message, /the step is 0/)
  const unclosed = lines('$M= \\\na \\\nb \\')
  t.match(unclosed.diags[0], { code: 'KA_CONF_DEFINITION', pos: { line: 3, col: 1 } })
  t.match(unclosed.diags[0]!.message, /not terminated/)
  const alone = lines('$M= \\\na \\\nb\n  z $M w')
  t.match(alone.diags[0], { code: 'KA_CONF_DEFINITION', pos: { line: 4, col: 3 } })
  t.match(alone.diags[0]!.message, /stand alone/)
  const loop = lines('$A=a${A}\n\n x ${A}')
  t.match(loop.diags[0], { code: 'KA_CONF_RECURSION', pos: { line: 3, col: 2 } })
  t.same(lines('$A=${A}\nx ${A}').texts, ['x ${A}'], 'a definition that is its own value is a fixed point')
  const doubling = lines('$A=ab${A}${A}\nk ${A}')
  t.match(doubling.diags[0], { code: 'KA_CONF_DEFINITION', pos: { line: 2, col: 1 } })
  t.match(doubling.diags[0]!.message, /maximum line length/)
  t.same(doubling.texts, [])
  const lst = lines('~LST({A,B}, {1}, {2,3}) x')
  t.match(lst.diags[0], { code: 'KA_CONF_SEQUENCE', pos: { line: 1, col: 1 } })
  const paren = lines('~SEQ(N, 3 k')
  t.match(paren.diags[0], { code: 'KA_CONF_SEQUENCE', pos: { line: 1, col: 1 } })
})

t.test('preprocessInto streams the same lines preprocess collects', async (t) => {
  const src = 'a\n@main b\n$A=1\nc $A\n~SEQ(N, 2) d${N}\ne "q" # x\n'
  const files = memFiles({ '/etc/k.conf': src })
  const streamed: string[] = []
  preprocessInto('/etc/k.conf', new Diagnostics(), { configId: 'main', files }, {
    line: (source, start, end, file, line, col) => streamed.push(`${file}:${line}:${col} ${source.slice(start, end)}`),
  })
  const collected = preprocess('/etc/k.conf', new Diagnostics(), { configId: 'main', files }).lines.map((l) => `${l.file}:${l.line}:${l.col} ${l.text}`)
  t.same(streamed, collected)
  t.equal(collected.length, 6)
})
