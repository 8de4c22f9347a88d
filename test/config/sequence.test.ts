/** `~SEQ(…)` / `~LST(…)` specifications, with keepalived 2.2.7's defaults (checked with `keepalived -t`). */
import t from 'tap'
import { matchingParen, parseList, parseSeq } from '../../src/config/sequence.js'

const seq = (inner: string, hex = false) => {
  const b = parseSeq(inner, hex)
  return typeof b === 'string' ? b : b.values.map((v) => v[0])
}

t.test('~SEQ: END alone counts from ±1 towards it', async (t) => {
  t.same(seq('N, 3'), ['1', '2', '3'])
  t.same(seq('N, 0'), ['1', '0'])
  t.same(seq('N, -3'), ['-1', '-2', '-3'])
})

t.test('~SEQ: START, END steps by ±1; START, STEP, END as given', async (t) => {
  t.same(seq('N, 2, 4'), ['2', '3', '4'])
  t.same(seq('N, 5, 3'), ['5', '4', '3'])
  t.same(seq(' N , 1 , 2 , 7 '), ['1', '3', '5', '7'])
  t.same(seq('N, 7, -3, 1'), ['7', '4', '1'])
  t.same(seq('N, 0x10, 0x12'), ['16', '17', '18'])
  t.same(seq('N, 9, 12', true), ['9', 'a', 'b', 'c'], '~SEQx writes lower-case hex')
})

t.test('~SEQ: invalid specifications say why', async (t) => {
  t.match(seq('N, 1, 0, 3'), /step is 0/)
  t.match(seq('N, 1, -1, 3'), /empty/)
  t.match(seq('N'), /1 to 3 integers/)
  t.match(seq('N, a'), /1 to 3 integers/)
  t.match(seq('N, 1, 2, 3, 4'), /1 to 3 integers/)
  t.match(seq('1N, 3'), /not a variable name/)
  t.match(seq('N, 0, 1, 3000000'), /too many values/)
})

t.test('~LST: one variable, or {names} with {values} groups', async (t) => {
  t.same(parseList('A, x, y'), { names: ['A'], values: [['x'], ['y']] })
  t.same(parseList('{IP, IP1}, {10,1},{20,4}'), { names: ['IP', 'IP1'], values: [['10', '1'], ['20', '4']] })
  t.match(parseList('A'), /no values/)
  t.match(parseList('{A,B}'), /no values/)
  t.match(parseList('{A,B}, {1}'), /2 value/)
  t.match(parseList('{A,9}, {1,2}'), /variable names/)
  t.match(parseList('-, x'), /not a variable name/)
})

t.test('matchingParen skips nested parentheses', async (t) => {
  t.equal(matchingParen('~SEQ(N, (1), 2) x', 4), 14)
  t.equal(matchingParen('~SEQ(N, 3', 4), -1)
})
