/**
 * The glob(3) subset `include` uses, on real directories: `*`, `?`, `[...]`,
 * csh braces, hidden files, sorting per brace alternative.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { expandBraces, glob } from '../../src/config/glob.js'

const root = mkdtempSync(join(tmpdir(), 'kats-glob-'))
t.teardown(() => rmSync(root, { recursive: true, force: true }))
for (const f of ['a.conf', 'b.conf', 'c.txt', '.hidden.conf', 'sub/x.conf', 'sub/y.conf', 'other/x.conf', 'other/z.inc', 'we ird.conf', 'br{a}.conf']) {
  const path = join(root, f)
  mkdirSync(join(path, '..'), { recursive: true })
  writeFileSync(path, '')
}
mkdirSync(join(root, 'dir.conf'))

const rel = (paths: string[]) => paths.map((p) => p.slice(root.length + 1))

t.test('expandBraces: csh alternation, nested, in order', async (t) => {
  t.same(expandBraces('a{b,c{d,e}}f'), ['abf', 'acdf', 'acef'])
  t.same(expandBraces('{x,y}/{1,2}'), ['x/1', 'x/2', 'y/1', 'y/2'])
  t.same(expandBraces('{,a}b'), ['b', 'ab'], 'an empty alternative')
  t.same(expandBraces('a{b}c'), ['a{b}c'], 'one alternative is not an alternation')
  t.same(expandBraces('a{b,c'), ['a{b,c'], 'unbalanced braces are literal')
  t.same(expandBraces('a\\{b,c}'), ['a\\{b,c}'], 'an escaped brace is literal')
  t.same(expandBraces('plain'), ['plain'])
})

t.test('* ? and [...] match within one path segment, sorted', async (t) => {
  t.same(rel(glob('*.conf', root)), ['a.conf', 'b.conf', 'br{a}.conf', 'we ird.conf'], 'directories are not matches, hidden files are skipped')
  t.same(rel(glob('?.conf', root)), ['a.conf', 'b.conf'])
  t.same(rel(glob('[ab].conf', root)), ['a.conf', 'b.conf'])
  t.same(rel(glob('[!a].conf', root)), ['b.conf'])
  t.same(rel(glob('[a-b].*', root)), ['a.conf', 'b.conf'])
  t.same(rel(glob('*/x.conf', root)), ['other/x.conf', 'sub/x.conf'])
  t.same(rel(glob('sub/*', root)), ['sub/x.conf', 'sub/y.conf'])
})

t.test('a leading dot must be matched explicitly', async (t) => {
  t.same(rel(glob('.*.conf', root)), ['.hidden.conf'])
})

t.test('braces: each alternative is globbed and sorted on its own, in order', async (t) => {
  t.same(rel(glob('{sub,other}/*', root)), ['sub/x.conf', 'sub/y.conf', 'other/x.conf', 'other/z.inc'])
  t.same(rel(glob('{b,a}.conf', root)), ['b.conf', 'a.conf'])
  t.same(rel(glob('other/*.{inc,conf}', root)), ['other/z.inc', 'other/x.conf'])
})

t.test('a pattern without magic is the file itself, when it exists and is a file', async (t) => {
  t.same(rel(glob('a.conf', root)), ['a.conf'])
  t.same(glob('missing.conf', root), [])
  t.same(glob('dir.conf', root), [])
  t.same(rel(glob('we ird.conf', root)), ['we ird.conf'], 'spaces are ordinary characters')
  t.same(rel(glob('br\\{a\\}.conf', root)), ['br{a}.conf'], 'escaped braces name a file')
})

t.test('absolute patterns ignore the directory given', async (t) => {
  t.same(rel(glob(join(root, 'sub', '*.conf'), '/nonexistent')), ['sub/x.conf', 'sub/y.conf'])
  t.same(rel(glob(`${root}//sub//x.conf`, '/')), ['sub/x.conf'], 'repeated slashes')
})

t.test('no match and unreadable directories give nothing', async (t) => {
  t.same(glob('*.nothing', root), [])
  t.same(glob('nodir/*.conf', root), [])
  t.same(glob('*.conf', join(root, 'nodir')), [])
  t.same(glob('[abc', root), [], 'an unclosed [ is literal')
})
