#!/usr/bin/env node
/**
 * Health-checker benchmark, in the VM (Debian's kernel with a real IPVS,
 * bench/vm/run-in-vm.mjs; keepalived's checker process exits without IPVS):
 * N real servers (5,000 by default) under TCP_CHECK at delay_loop 1 against
 * local listeners, in a few virtual servers, for keepalived-ts's checker side
 * and then Debian's keepalived, one after the other in one boot. For each:
 * CPU % of the daemon (all its processes) over a steady window, peak RSS
 * (VmHWM) of each process, the checks per second the listeners saw, and the
 * detection latency of listeners closed at a known time — until each
 * `Removing service …` line, and until it left the IPVS table — p50 / p99,
 * over `--rounds` rounds of `--sample / --rounds` listeners (reopened between
 * rounds, so a small N still gives a large sample). The guest side is
 * bench/vm/checkers-guest.mjs; the listeners are bench/vm/listeners.c, built
 * here with cc.
 *
 *   npm run build
 *   node bench/checkers.mjs [--servers 5000] [--virtual-servers 10] [--sample 200] [--rounds 1] [--delay-loop 1]
 *                           [--connect-timeout 3] [--retry 0] [--warmup 15] [--window 30] [--detect-timeout 60]
 *                           [--kernel-poll 250] [--daemons ours,keepalived] [--repeat 1] [--cpus 1] [--memory 2048]
 *                           [--profile] [--json] [--save FILE.json] [--verbose]
 *
 * --repeat N runs the daemons N times each, alternating (ours, keepalived,
 * ours, …), and gives the ratio of the medians: the emulated CPU is only as
 * fast as the host lets qemu be, so a busy host can weigh on one run alone.
 *
 * --profile runs our daemon under `node --cpu-prof` (its forked checker
 * child inherits it) and prints the functions with the most self time; it
 * slows the daemon down a lot, so its other figures mean nothing.
 *
 * The VM's CPU is emulated (qemu TCG): absolute figures are inflated many
 * times over, and only the ratio between the two daemons means something.
 * When the guest's CPU is saturated (see "guest busy") the figures measure
 * overload, not steady checking: lower --servers. Run on demand only
 * (docs/BENCHMARKS.md).
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { benchResults, formatTable, REPO_ROOT, runInVm } from './vm/run-in-vm.mjs'

const { values: opts } = parseArgs({
  options: {
    servers: { type: 'string', default: '5000' },
    'virtual-servers': { type: 'string', default: '10' },
    addresses: { type: 'string', default: '20' },
    sample: { type: 'string', default: '200' },
    'delay-loop': { type: 'string', default: '1' },
    'connect-timeout': { type: 'string', default: '3' },
    retry: { type: 'string', default: '0' },
    warmup: { type: 'string', default: '15' },
    window: { type: 'string', default: '30' },
    'detect-timeout': { type: 'string', default: '60' },
    daemons: { type: 'string', default: 'ours,keepalived' },
    rounds: { type: 'string', default: '1' },
    repeat: { type: 'string', default: '1' },
    'kernel-poll': { type: 'string', default: '250' },
    cpus: { type: 'string', default: '1' },
    memory: { type: 'string', default: '2048' },
    profile: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    save: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
})
if (!existsSync(join(REPO_ROOT, 'dist/cli/main.js'))) {
  console.error('checkers: dist/cli/main.js is missing; run `npm run build` first')
  process.exit(2)
}

/** bench/vm/listeners.c, built once per source under the host's /tmp (which the guest sees). */
function buildListener() {
  const source = join(REPO_ROOT, 'bench/vm/listeners.c')
  const binary = join(tmpdir(), `kats-bench-listeners-${createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12)}`)
  if (existsSync(binary)) return binary
  const cc = spawnSync('cc', ['-O2', '-Wall', '-o', binary, source], { encoding: 'utf8' })
  if (cc.status === 0) return binary
  console.error(`checkers: cannot build bench/vm/listeners.c with cc: ${cc.error?.message ?? cc.stderr.trim()}`)
  process.exit(2)
}
opts.listener = buildListener()
const daemons = opts.daemons.split(',')
// --repeat alternates the daemons (ours, keepalived, ours, …) so that a busy host weighs on both alike.
const order = Array.from({ length: Math.max(1, Number(opts.repeat)) }, () => daemons).flat()
const guestOptions = ['servers', 'virtual-servers', 'addresses', 'sample', 'rounds', 'delay-loop', 'connect-timeout', 'retry', 'warmup', 'window', 'detect-timeout',
  'listener', 'kernel-poll']
const guestArgs = [...guestOptions.map((k) => `--${k} ${String(opts[k]).replace(/[^\w,./-]/g, '')}`), `--daemons ${order.join(',').replace(/[^\w,]/g, '')}`].join(' ') +
  (opts.profile ? ' --profile' : '')
const perDaemonS = 900 + Number(opts.warmup) + Number(opts.window) + Number(opts.rounds) * (2 * Number(opts['detect-timeout']) + 2 * Number(opts['delay-loop'])) + 60
// Thousands of listeners and checker sockets: far above the usual 1024 open files.
const script = `
set -u
ulimit -n 1048576 2>/dev/null || ulimit -n 65536
node bench/vm/checkers-guest.mjs ${guestArgs}
`
const load = loadavg()[0]
// The emulated CPU runs as fast as the host lets qemu run: the host's load during each window goes with the figures.
const loadSamples = []
const sampler = setInterval(() => loadSamples.push([Date.now(), loadavg()[0]]), 2000)
const windowLoad = new Map()
const seen = new Map()
let pendingText = ''
const watch = (text) => {
  if (opts.verbose) process.stderr.write(text)
  pendingText += text
  const lines = pendingText.split('\n')
  pendingText = lines.pop()
  for (const line of lines) {
    const m = /^checkers \[\d+ s\]: (\w+): CPU /.exec(line)
    if (!m) continue
    const n = (seen.get(m[1]) ?? 0) + 1
    seen.set(m[1], n)
    const since = Date.now() - Number(opts.window) * 1000 - 1000
    const xs = loadSamples.filter(([t]) => t >= since).map(([, l]) => l)
    windowLoad.set(`${m[1]}.${n}`, xs.length ? xs.reduce((x, y) => x + y, 0) / xs.length : loadavg()[0])
  }
}
const run = await runInVm({
  script,
  timeoutMs: Math.min(90 * 60_000, (120 + order.length * perDaemonS) * 1000),
  cpus: Number(opts.cpus),
  memoryMb: Number(opts.memory),
  onOutput: watch,
})
clearInterval(sampler)
const results = benchResults(run.output)
const setup = results.get('setup')
if (run.exitCode !== 0 || !setup) {
  console.error(`checkers: the guest failed (exit ${run.exitCode})\n${run.output.slice(-4000)}`)
  process.exit(1)
}
const everything = () => {
  const all = [...results].filter(([k]) => k !== 'setup').map(([k, r]) => ({ ...r, hostLoad: windowLoad.get(k) }))
  return JSON.stringify({ vm: { kernel: run.kernel, cpus: Number(opts.cpus), bootMs: run.bootMs }, hostLoad: load, setup, results: all }, null, 2)
}
if (opts.save) writeFileSync(opts.save, everything())
if (opts.json) {
  console.log(everything())
  process.exit(0)
}

const mb = (kb) => (kb === undefined ? '—' : (kb / 1024).toFixed(1))
const num = (v, digits = 0) => (v === undefined || Number.isNaN(v) ? '—' : v.toFixed(digits))
console.log(`${setup.servers} real servers (TCP_CHECK, delay_loop ${setup.delayLoop}, connect_timeout ${setup.connectTimeout}, retry ${setup.retry}) ` +
  `in ${setup.virtualServers} virtual servers on ${setup.addresses} addresses; window ${setup.windowS} s after ${setup.warmupS} s of warm-up; ` +
  `detection: ${setup.rounds} round(s) of ${setup.perRound} listeners closed.\n${setup.keepalived}; VM: ${run.kernel}, ${opts.cpus} emulated CPU(s); host load ${load.toFixed(1)}\n`)

const rows = [['', 'CPU %', 'checks/s', 'guest busy %', 'listeners CPU %', 'host load', 'peak RSS MB', 'log p50 ms', 'p99 ms', 'max ms', 'seen', 'kernel p50 ms', 'p99 ms', 'table full s']]
const ok = []
const names = { ours: 'keepalived-ts', keepalived: 'keepalived' }
const counted = new Map()
for (const d of order) {
  const n = (counted.get(d) ?? 0) + 1
  counted.set(d, n)
  const key = `${d}.${n}`
  const r = results.get(key)
  const label = `${names[d] ?? d}${order.length > daemons.length ? ` #${n}` : ''}`
  if (!r || r.error) {
    rows.push([label, `failed: ${(r?.error ?? 'no result').split('\n')[0]}`])
    continue
  }
  ok.push(r)
  const hwm = r.rss.reduce((n, p) => n + (p.hwmKb ?? 0), 0)
  rows.push([
    label,
    num(r.cpuPercent, 1), num(r.checksPerSecond), num(r.guestBusyPercent), num(r.listenerCpuPercent, 1), num(windowLoad.get(key), 1),
    r.rss.length > 1 ? `${mb(hwm)} (${r.rss.map((p) => mb(p.hwmKb)).join(' + ')})` : mb(hwm),
    num(r.detection.p50Ms), num(r.detection.p99Ms), num(r.detection.maxMs), `${r.detection.seen}/${r.detection.sample}`,
    num(r.detection.kernel.p50Ms), num(r.detection.kernel.p99Ms), num(r.programmedMs / 1000, 1),
  ])
}
// Ratios of the medians over each daemon's runs.
const median = (xs) => {
  const s = xs.filter((x) => x !== undefined && !Number.isNaN(x)).sort((x, y) => x - y)
  if (s.length === 0) return undefined
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const ours = ok.filter((r) => r.daemon === 'ours')
const theirs = ok.filter((r) => r.daemon === 'keepalived')
if (ours.length && theirs.length) {
  const ratio = (get) => {
    const x = median(ours.map(get))
    const y = median(theirs.map(get))
    return x !== undefined && y ? `${(x / y).toFixed(2)}×` : '—'
  }
  const hwm = (r) => r.rss.reduce((n, p) => n + (p.hwmKb ?? 0), 0)
  rows.push([`ratio (ours / keepalived${ours.length > 1 || theirs.length > 1 ? ', medians' : ''})`, ratio((r) => r.cpuPercent), ratio((r) => r.checksPerSecond), '', '', '', ratio(hwm),
    ratio((r) => r.detection.p50Ms), ratio((r) => r.detection.p99Ms), ratio((r) => r.detection.maxMs), '',
    ratio((r) => r.detection.kernel.p50Ms), ratio((r) => r.detection.kernel.p99Ms), ''])
}
console.log(formatTable(rows))
for (const [key, r] of results) if (r?.error) console.log(`\n${key}: ${r.error}`)
console.log(`\nCPU %: utime + stime of the daemon's processes over the window, % of one emulated CPU. checks/s: connections the listeners accepted (target ${(setup.servers / setup.delayLoop).toFixed(0)}/s). ` +
  'host load: the host\'s 1-minute load average during the window (qemu runs slower on a busy host).')
console.log('Detection, from the close of the listeners: log = until each `Removing service` line on the daemon\'s console (stamped as it arrived); ' +
  `kernel = until it left the IPVS table (polled every ${opts['kernel-poll']} ms).`)
for (const r of ok) {
  for (const p of r.profile ?? []) {
    console.log(`\n${r.daemon}: CPU profile ${p.file}, ${p.totalMs.toFixed(0)} ms sampled; most self time:`)
    for (const t of p.top) console.log(`${t.ms.toFixed(0).padStart(8)} ms ${(t.share * 100).toFixed(1).padStart(5)} %  ${t.name}`)
  }
  if (r.downBeforeWindow > 0 || r.exit !== 0 || r.detection.seen < r.detection.sample || r.detection.kernel.seen < r.detection.sample) {
    console.log(`${r.daemon}: ${r.downBeforeWindow} real servers down before the window; ${r.detection.seen} lines and ${r.detection.kernel.seen} removals of ${r.detection.sample}; exit ${r.exit}`)
  }
}
