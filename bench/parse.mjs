#!/usr/bin/env node
/**
 * Configuration-test benchmark: `keepalived-ts -t` against Debian's
 * `keepalived -t` on the same generated LVS file (1,000 virtual servers × 10
 * real servers with TCP_CHECK by default, ~100k lines). Runs are interleaved
 * so that a busy machine slows both sides alike; the report gives median, min
 * and max wall time, peak RSS, and the ratio of the medians.
 *
 *   node bench/parse.mjs [--runs 7] [--vs 1000] [--rs 10] [--node-flags=--max-semi-space-size=2]
 *                        [--cli dist/cli/keepalived-ts.js] [--phases] [--keep] [--json]
 *
 * --cli runs another entry point than dist/cli/main.js (the bundle that
 * scripts/bundle-cli.mjs writes, say).
 *
 * --node-flags (write it with `=`) passes V8/Node flags to our side, to try
 * flags the CLI could set.
 *
 * --phases also times the front end in-process, phase by phase, in fresh
 * processes (cold, as the CLI runs it). Needs `npm run build` first. Run on
 * demand only: timing is never asserted in tests (docs/BENCHMARKS.md).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { generateLvsConfig } from './gen-lvs-config.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    vs: { type: 'string', default: '1000' },
    rs: { type: 'string', default: '10' },
    'node-flags': { type: 'string', default: '' },
    cli: { type: 'string' },
    phases: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
})
const runs = Math.max(1, Number(opts.runs))

const cli = opts.cli ? join(root, opts.cli) : join(root, 'dist/cli/main.js')
const fallback = join(root, 'bench/load-config.mjs')
if (!existsSync(join(root, 'dist/config/config.js'))) {
  console.error('bench: dist/ is missing; run `npm run build` first')
  process.exit(2)
}
const ours = existsSync(cli) ? cli : fallback
const nodeFlags = opts['node-flags'].split(/\s+/).filter(Boolean)
const keepalived = ['/usr/sbin/keepalived', '/usr/local/sbin/keepalived'].find(existsSync)
const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined

const dir = mkdtempSync(join(tmpdir(), 'kats-bench-'))
const file = join(dir, 'keepalived.conf')
writeFileSync(file, generateLvsConfig({ virtualServers: Number(opts.vs), realServers: Number(opts.rs) }))
const lines = readFileSync(file, 'utf8').split('\n').length

/** One timed run: wall time from here, peak RSS from /usr/bin/time. */
function measure(command, args) {
  const rssFile = join(dir, 'rss')
  const argv = timeBin ? [timeBin, '-o', rssFile, '-f', '%M', command, ...args] : [command, ...args]
  const start = process.hrtime.bigint()
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  const rssKb = timeBin ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) : NaN
  return { ms, rssMb: rssKb / 1024, status: r.status, stderr: r.stderr.toString() }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const summary = (rs) => ({
  medianMs: median(rs.map((r) => r.ms)),
  minMs: Math.min(...rs.map((r) => r.ms)),
  maxMs: Math.max(...rs.map((r) => r.ms)),
  peakRssMb: Math.max(...rs.map((r) => r.rssMb)),
  exit: [...new Set(rs.map((r) => r.status))],
})

// The generated file goes, whatever happens, unless --keep.
process.on('exit', () => { if (!opts.keep) rmSync(dir, { recursive: true, force: true }) })

const load = { before: loadavg()[0] }
const results = { ts: [], ka: [] }
for (let i = 0; i < runs; i++) {
  results.ts.push(measure(process.execPath, [...nodeFlags, ours, '-t', '-f', file]))
  if (keepalived) results.ka.push(measure(keepalived, ['-t', '-f', file]))
}
load.after = loadavg()[0]

const ts = summary(results.ts)
const ka = keepalived ? summary(results.ka) : undefined
const report = {
  file: { path: opts.keep ? file : undefined, lines, virtualServers: Number(opts.vs), realServersEach: Number(opts.rs) },
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadavg1: load },
  command: { ours: `node ${[...nodeFlags, ours.replace(root, '')].join(' ')} -t -f FILE`, keepalived: keepalived && `${keepalived} -t -f FILE` },
  keepalivedVersion: keepalived ? spawnSync(keepalived, ['--version'], { encoding: 'utf8' }).stderr.split('\n')[0] : undefined,
  runs,
  keepalivedTs: ts,
  keepalived: ka,
  ratio: ka ? ts.medianMs / ka.medianMs : undefined,
  targets: { ratio: 2, rssMb: 150 },
}
if (results.ts.some((r) => r.status !== 0)) report.firstStderr = results.ts.find((r) => r.status !== 0).stderr.slice(0, 2000)

if (opts.phases) {
  const phaseRuns = []
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, [...nodeFlags, join(root, 'bench/parse-phases.mjs'), file], { encoding: 'utf8' })
    phaseRuns.push(JSON.parse(out))
  }
  report.phases = Object.fromEntries(Object.keys(phaseRuns[0]).map((k) => [k, median(phaseRuns.map((p) => p[k]))]))
}

if (opts.json) {
  console.log(JSON.stringify(report, null, 2))
} else {
  const f = (x) => x.toFixed(0).padStart(6)
  const row = (name, s) => `${name.padEnd(16)}${f(s.medianMs)}${f(s.minMs)}${f(s.maxMs)}${s.peakRssMb.toFixed(1).padStart(10)}   ${s.exit.join(',')}`
  console.log(`${lines} lines (${opts.vs} virtual servers × ${opts.rs} real servers, TCP_CHECK), ${runs} runs each, interleaved`)
  console.log(`${report.machine.cpus} × ${report.machine.model}, node ${process.version}, load average ${load.before.toFixed(2)} → ${load.after.toFixed(2)}`)
  console.log(`ours: ${report.command.ours}`)
  if (keepalived) console.log(`keepalived: ${report.command.keepalived} (${report.keepalivedVersion})`)
  console.log(`${''.padEnd(16)}${'median'.padStart(6)}${'min'.padStart(6)}${'max'.padStart(6)}${'peak RSS'.padStart(10)}   exit`)
  console.log(`${''.padEnd(16)}${'ms'.padStart(6)}${'ms'.padStart(6)}${'ms'.padStart(6)}${'MB'.padStart(10)}`)
  console.log(row('keepalived-ts', ts))
  if (ka) console.log(row('keepalived', ka))
  if (ka) console.log(`ratio of medians: ${report.ratio.toFixed(2)}× (target ≤ ${report.targets.ratio}×); peak RSS ${ts.peakRssMb.toFixed(0)} MB (target < ${report.targets.rssMb} MB)`)
  else console.log('keepalived not found: no comparison')
  if (report.phases) console.log(`front end, in-process (median ms): ${Object.entries(report.phases).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`)
  if (report.firstStderr) console.log(`keepalived-ts exited non-zero:\n${report.firstStderr}`)
}
