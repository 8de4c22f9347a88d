/**
 * FILE_CHECK: keepalived's strtol-based reading of a track file, its weight
 * arithmetic (weight 0 = up/down only, reverse, clamping, INT_MIN = down),
 * and a runner following a real file as it is written, emptied, filled with
 * junk or removed.
 */
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FileCheck } from '../../src/config/lvs/model.js'
import { createFileCheckRunner, fileLines, fileVerdict, parseTrackFileValue, readTrackFileValue, type TrackedFile } from '../../src/check/file.js'
import type { CheckTarget } from '../../src/check/probe.js'

const dir = mkdtempSync(join(tmpdir(), 'kats-chk-file-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

t.test('strtol base 0, as keepalived reads the file', async (t) => {
  const cases: [string, number][] = [
    ['5', 5], ['  42\n', 42], ['-7', -7], ['+3', 3], ['0x10', 16], ['0X1f', 31], ['010', 8], ['09', 0],
    ['12abc', 12], ['abc', 0], ['', 0], ['0x', 0], ['0xg', 0], ['-0x10', -16], ['2147483648', 2147483648], ['-2147483648', -2147483648],
  ]
  for (const [text, value] of cases) t.same(parseTrackFileValue(text), { value }, JSON.stringify(text))
  t.same(parseTrackFileValue('2147483649'), { invalid: 2147483649n }, 'above INT32_MAX + 1')
  t.same(parseTrackFileValue('-2147483649'), { invalid: -2147483649n })
  t.same(parseTrackFileValue('99999999999999999999'), { invalid: 2n ** 63n - 1n }, 'strtol saturates (ERANGE)')
})

t.test('reading: missing or empty is 0; only the first 127 bytes count', async (t) => {
  const p = join(dir, 'read')
  t.same(readTrackFileValue(join(dir, 'nope')), { value: 0 })
  writeFileSync(p, '')
  t.same(readTrackFileValue(p), { value: 0 })
  writeFileSync(p, `${' '.repeat(126)}9`)
  t.same(readTrackFileValue(p), { value: 9 })
  writeFileSync(p, `${' '.repeat(127)}9`)
  t.same(readTrackFileValue(p), { value: 0 }, 'the digit past byte 127 is not read')
  t.same(readTrackFileValue(dir), { value: 0 }, 'a directory cannot be read: 0')
})

t.test('weight arithmetic', async (t) => {
  t.same(fileVerdict(0, { weight: 0, reverse: false }, 5), { ok: true, weight: 5 }, 'weight 0: zero is up, configured weight')
  t.same(fileVerdict(3, { weight: 0, reverse: false }, 5), { ok: false }, 'weight 0: non-zero is down')
  t.same(fileVerdict(0, { weight: 0, reverse: true }, 5), { ok: false }, 'weight 0 reversed: zero is down')
  t.same(fileVerdict(-1, { weight: 0, reverse: true }, 5), { ok: true, weight: 5 })
  t.same(fileVerdict(3, { weight: 2, reverse: false }, 5), { ok: true, weight: 11 }, '5 + 3 × 2')
  t.same(fileVerdict(3, { weight: 2, reverse: true }, 5), { ok: true, weight: 0 }, '5 − 6 clamps to 0 and stays up')
  t.same(fileVerdict(-2147483648, { weight: 1, reverse: false }, 5), { ok: false }, 'INT_MIN is FAULT')
  t.same(fileVerdict(2147483648, { weight: -1, reverse: false }, 5), { ok: false }, 'below INT_MIN clamps to it: FAULT')
  t.same(fileVerdict(2147483647, { weight: 2, reverse: false }, 5), { ok: true, weight: 2147483647 }, 'clamped high')
})

const target: CheckTarget = { address: '10.41.0.2', port: 80, family: 4, protocol: 'TCP', text: '[10.41.0.2]:tcp:80', vsText: '[10.41.0.1]:tcp:80', virtualhost: undefined }

function fileCheck(overrides: Partial<FileCheck> = {}): FileCheck {
  return { kind: 'FILE_CHECK', pos: { file: 'test.conf', line: 1, col: 1 }, trackFile: 'tf', weight: undefined, reverse: false, ...overrides }
}

t.test('the runner follows the file; the check\'s weight overrides the track_file\'s', async (t) => {
  const path = join(dir, 'state')
  const trackFile: TrackedFile = { name: 'tf', file: path, weight: 0, reverse: false }
  const logged: string[] = []
  const runner = createFileCheckRunner({ id: 'f', target, check: fileCheck(), trackFile, realServerWeight: 10, log: { info: (s) => logged.push(s) }, pollInterval: 250_000 })
  t.equal(runner.kind, 'FILE_CHECK')
  t.same(runner.timing, { retry: 0, delayBeforeRetry: 250_000, warmup: 0, delayLoop: 250_000, alpha: false, logAllFailures: false })
  const probe = () => runner.probe(new AbortController().signal)
  t.same(await probe().then((o) => [o.ok, o.weight]), [true, 10], 'no file: 0 → up')
  writeFileSync(path, '1\n')
  const down = await probe()
  t.same([down.ok, down.failure], [false, '([10.41.0.2]:tcp:80): tracked file tf now FAULT state'])
  writeFileSync(path, '99999999999\n')
  t.equal((await probe()).ok, false, 'an invalid number keeps the previous value')
  t.same(logged, [`Invalid number 99999999999 read from ${path} - ignoring`])
  rmSync(path)
  t.equal((await probe()).ok, true, 'removed: 0 again')

  const weighted = createFileCheckRunner({ id: 'f', target, check: fileCheck({ weight: -3, reverse: true }), trackFile, realServerWeight: 10 })
  writeFileSync(path, '4')
  const o = await weighted.probe(new AbortController().signal)
  t.same([o.ok, o.weight], [true, 22], '10 + 4 × −3 × −1')
  const fromBlock = createFileCheckRunner({ id: 'f', target, check: fileCheck(), trackFile: { ...trackFile, weight: 2, reverse: true }, realServerWeight: 10 })
  t.same(await fromBlock.probe(new AbortController().signal).then((r) => [r.ok, r.weight]), [true, 2], 'the track_file block\'s weight and reverse')
  t.equal(fileLines(target, trackFile).up({ ok: true, failure: undefined, latencyMs: 0 }), undefined)
})
