import t from 'tap'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/cli/main.js'

function run(argv: string[]) {
  let out = ''
  let err = ''
  const code = main(argv, { stdout: (s) => { out += s }, stderr: (s) => { err += s } })
  return { code, out, err }
}

const dir = mkdtempSync(join(tmpdir(), 'kats-cli-'))
const good = join(dir, 'good.conf')
writeFileSync(good, 'global_defs {\n    router_id LVS_A\n    smtp_connect_timeout 30\n}\n')
const bad = join(dir, 'bad.conf')
writeFileSync(bad, 'global_defs {\n    router_idd LVS_A\n    smtp_connect_timeout x\n}\n')

t.test('-t on a clean file exits 0 and says so', async (t) => {
  const r = run(['-t', '-f', good])
  t.equal(r.code, 0)
  t.match(r.err, `${good}: 0 error(s), 0 warning(s)`)
})

t.test('-t reports every problem with file:line:col and exits 5', async (t) => {
  const r = run(['-t', '-f', bad])
  t.equal(r.code, 5)
  const lines = r.err.split('\n')
  t.match(lines[0], `${bad}:2:5: error: unknown keyword 'router_idd' (in global_defs)`)
  t.match(r.err, "did you mean 'router_id'?")
  t.match(r.err, `${bad}:3:26: error: smtp_connect_timeout: 'x' is not a time in seconds`)
})

t.test('a missing configuration file cannot run: exit 4', async (t) => {
  const r = run(['-t', '-f', join(dir, 'missing.conf')])
  t.equal(r.code, 4)
  t.match(r.err, 'cannot read configuration file')
})

t.test('--config-test=FILE writes the report to FILE', async (t) => {
  const log = join(dir, 'report.txt')
  const r = run([`--config-test=${log}`, '-f', bad])
  t.equal(r.code, 5)
  t.equal(r.err, '')
  t.match(readFileSync(log, 'utf8'), 'router_idd')
})

t.test('-d prints canonical text that reads back the same; --dump-conf=json prints the model', async (t) => {
  const text = run(['-d', '-f', good])
  t.equal(text.code, 0)
  t.match(text.out, /global_defs \{\n {4}smtp_connect_timeout 30\n {4}router_id LVS_A\n\}/)
  const again = join(dir, 'again.conf')
  writeFileSync(again, text.out)
  t.equal(run(['-d', '-f', again]).out, text.out)
  const json = JSON.parse(run(['--dump-conf=json', '-f', good]).out)
  t.equal(json.global.routerId, 'LVS_A')
  t.equal(json.global.smtpConnectTimeout, 30_000_000)
})

t.test('usage errors exit 1 with the usage text; --help and --version exit 0', async (t) => {
  const r = run(['--bogus'])
  t.equal(r.code, 1)
  t.match(r.err, /Unknown option --bogus\nUsage: keepalived-ts/)
  t.equal(run(['--help']).code, 0)
  t.match(run(['-v']).err, 'Keepalived-ts v')
})
