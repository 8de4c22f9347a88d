/**
 * The differential test on keepalived's own samples: in a namespace with a fixed
 * set of interfaces, `keepalived-ts -t` must give every sample the verdict
 * Debian's `keepalived -t` gives it, for problems at the same lines, and never
 * report a syntax error on them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import t from 'tap'
import { createNamespace, listNamespaceInterfaces, NAMESPACE_INTERFACES } from './netns.js'
import {
  forDisplay,
  formatOurDiagnostic,
  type KeepalivedReport,
  KEEPALIVED,
  OUR_CLI,
  type OurReport,
  ROOT,
  runKeepalived,
  runOurs,
  SAMPLES_DIR,
  sortedLines,
  syntaxErrors,
} from './run.js'

const EXPECT_DIR = resolve(ROOT, 'test', 'fixtures', 'samples-expect')

/**
 * keepalived's closing line after the per-line "interface ... doesn't exist"
 * messages; it names no new problem.
 */
const KEEPALIVED_SUMMARY_LINES = new Set(['Non-existent interface specified in configuration'])

interface SampleExpectation {
  configIds: string[]
  unnumbered: { message: string; line: number; why: string }[]
}

function expectationFor(sample: string): SampleExpectation {
  const path = join(EXPECT_DIR, `${sample}.json`)
  const found = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Partial<SampleExpectation>) : {}
  return { configIds: found.configIds ?? ['main'], unnumbered: found.unnumbered ?? [] }
}

/**
 * keepalived's lines, plus the lines the expectation file gives for messages it
 * prints without one; the messages no one has placed are returned apart.
 */
function keepalivedLines(report: KeepalivedReport, expect: SampleExpectation): { lines: Set<number>; unexplained: string[] } {
  const lines = new Set(report.lines)
  const unexplained: string[] = []
  for (const message of report.unnumbered) {
    if (KEEPALIVED_SUMMARY_LINES.has(message)) continue
    const placed = expect.unnumbered.find((u) => u.message === message)
    if (placed) lines.add(placed.line)
    else unexplained.push(message)
  }
  return { lines, unexplained }
}

function bothOutputs(ka: KeepalivedReport, ours: OurReport): Record<string, string> {
  return { keepalived: forDisplay(ka), ours: forDisplay(ours) }
}

t.ok(existsSync(SAMPLES_DIR), `${SAMPLES_DIR} exists (Debian package keepalived)`)
t.ok(existsSync(KEEPALIVED), `${KEEPALIVED} exists (Debian package keepalived)`)
t.ok(existsSync(OUR_CLI), `${OUR_CLI} exists (npm run build)`)
const samples = existsSync(SAMPLES_DIR)
  ? readdirSync(SAMPLES_DIR).filter((f) => f.startsWith('keepalived.conf.')).sort()
  : []
t.ok(samples.length > 0, 'the samples directory holds keepalived.conf.* files')

const ns = createNamespace(t)
t.same(listNamespaceInterfaces(ns), [...NAMESPACE_INTERFACES].sort(), `namespace ${ns.name} has exactly lo, eth0 and vpeer0`)

for (const sample of samples) {
  const expect = expectationFor(sample)
  for (const configId of expect.configIds) {
    t.test(`${sample} -i ${configId}`, async (t) => {
      const opts = { file: join(SAMPLES_DIR, sample), configId, cwd: SAMPLES_DIR }
      const ka = runKeepalived(ns, opts)
      const ours = runOurs(ns, opts)
      const { lines: kaLines, unexplained } = keepalivedLines(ka, expect)
      t.comment(`keepalived -t: exit ${ka.exit}, lines [${sortedLines(kaLines).join(', ')}]`)
      const outputs = bothOutputs(ka, ours)

      const syntax = syntaxErrors(ours).map(formatOurDiagnostic)
      t.same(syntax, [], `no syntax error in ${sample}${syntax.length ? `: ${syntax.join('; ')}` : ''}`, outputs)

      t.equal(ours.exitCode, ka.exitCode, `exit code: keepalived ${ka.exit}, ours ${ours.exit}`, outputs)

      t.same(unexplained, [], 'every message keepalived prints without a line is placed by test/fixtures/samples-expect', outputs)
      t.same(ours.unnumbered, [], 'every diagnostic of ours names a line', outputs)
      t.same(ours.unparsed, [], 'our report holds only diagnostics, hints and the summary', outputs)

      const want = sortedLines(kaLines)
      const found = sortedLines(ours.lines)
      t.same(found, want, `problem lines: keepalived [${want.join(', ')}], ours [${found.join(', ')}]`, outputs)
    })
  }
}
