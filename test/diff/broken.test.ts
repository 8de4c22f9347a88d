/**
 * Broken configurations (test/fixtures/broken/*.conf): keepalived-ts must reject
 * every one, and its first diagnostic must name the file and line the fixture's
 * `# expect-line: N` (and `# expect-file: NAME`, relative to the fixture) give.
 * keepalived's own verdict is only recorded: part of the point is that it
 * accepts some of them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import t from 'tap'
import { createNamespace } from './netns.js'
import { forDisplay, formatOurDiagnostic, OUR_CLI, ROOT, runKeepalived, runOurs } from './run.js'

const BROKEN_DIR = resolve(ROOT, 'test', 'fixtures', 'broken')
const MIN_FIXTURES = 20

interface Fixture {
  name: string
  path: string
  expectFile: string
  expectLine: number
}

function readFixture(name: string): Fixture {
  const path = join(BROKEN_DIR, name)
  const text = readFileSync(path, 'utf8')
  const line = /^#\s*expect-line:\s*(\d+)\s*$/m.exec(text)
  if (!line) throw new Error(`${path} has no '# expect-line: N' comment`)
  const file = /^#\s*expect-file:\s*(\S+)\s*$/m.exec(text)
  return { name, path, expectFile: file ? resolve(dirname(path), file[1]!) : path, expectLine: Number(line[1]) }
}

t.ok(existsSync(OUR_CLI), `${OUR_CLI} exists (npm run build)`)
const fixtures = readdirSync(BROKEN_DIR)
  .filter((f) => f.endsWith('.conf'))
  .sort()
  .map(readFixture)
t.ok(fixtures.length >= MIN_FIXTURES, `at least ${MIN_FIXTURES} broken configurations (found ${fixtures.length})`)

const ns = createNamespace(t)

for (const fx of fixtures) {
  t.test(fx.name, async (t) => {
    const opts = { file: fx.path, configId: 'main', cwd: BROKEN_DIR }
    const ours = runOurs(ns, opts)
    const ka = runKeepalived(ns, opts)
    const kaFirst = ka.messages[0]
    t.comment(
      `keepalived -t: exit ${ka.exit}` +
        (ka.exitCode === 0 ? ' (accepts it)' : '') +
        (kaFirst ? `; first: ${kaFirst.pos ? `line ${kaFirst.pos.line}: ` : '(no line) '}${kaFirst.text}` : ''),
    )
    const outputs = { ours: forDisplay(ours), keepalived: forDisplay(ka) }

    t.ok(ours.exitCode !== null && ours.exitCode !== 0, `keepalived-ts rejects it (exit ${ours.exit})`, outputs)

    const first = ours.diagnostics[0]
    const firstText = first ? formatOurDiagnostic(first) : '(no diagnostic)'
    t.ok(first !== undefined, 'keepalived-ts prints a diagnostic', outputs)
    t.equal(first?.file === undefined ? undefined : resolve(BROKEN_DIR, first.file), fx.expectFile, `first diagnostic names file ${fx.expectFile}: ${firstText}`, outputs)
    t.equal(first?.line, fx.expectLine, `first diagnostic is at line ${fx.expectLine}: ${firstText}`, outputs)
  })
}
