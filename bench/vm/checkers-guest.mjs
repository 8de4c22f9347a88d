/**
 * Guest side of bench/checkers.mjs: runs as root in the VM (not in a
 * namespace itself) and, for each daemon in turn, builds a namespace
 * `kb-chk`, starts the real servers there (bench/vm/listeners.c: one process
 * listening on every address:port), starts the daemon's checker side there
 * (`-C -n -l -D -G`, as test/vm/guest/lvs-cluster.sh runs it), waits until
 * every real server is in the IPVS table and the checkers have warmed up,
 * then measures:
 *
 * - CPU: utime + stime of every process of the daemon (keepalived has a
 *   checker child) from /proc/PID/stat over a steady window, as % of one CPU;
 *   the listeners' and the whole guest's (/proc/stat) alongside, and the
 *   checks per second the listeners accepted;
 * - detection latency, in rounds: a share of the sample closed at a known
 *   time, then for each the time until its `Removing service [ip]:tcp:port
 *   from VS …` line reaches us on the daemon's console (stamped as each line
 *   arrives) and until it has left the IPVS table (/proc/PID/net/ip_vs,
 *   polled); then reopened, and back in the table before the next round;
 * - peak RSS: VmHWM of each of the daemon's processes.
 *
 * Prints `@@BENCH <name> {json}` lines; decides nothing. Every wait is bounded.
 *
 *   node bench/vm/checkers-guest.mjs --listener PATH --servers 5000 --daemons ours,keepalived
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { setPriority } from 'node:os'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { benchAddress, lvsConfig } from './lvs-config.mjs'
import { summarizeProfiles } from './profile-summary.mjs'

const { values: a } = parseArgs({
  options: {
    servers: { type: 'string', default: '5000' },
    'virtual-servers': { type: 'string', default: '10' },
    addresses: { type: 'string', default: '20' },
    sample: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '1' },
    'delay-loop': { type: 'string', default: '1' },
    'connect-timeout': { type: 'string', default: '3' },
    retry: { type: 'string', default: '0' },
    warmup: { type: 'string', default: '15' },
    window: { type: 'string', default: '30' },
    'detect-timeout': { type: 'string', default: '60' },
    'kernel-poll': { type: 'string', default: '250' },
    daemons: { type: 'string', default: 'ours,keepalived' },
    listener: { type: 'string' },
    profile: { type: 'boolean', default: false },
  },
})
const N = Number(a.servers)
const VS = Math.min(Number(a['virtual-servers']), N)
const ADDRESSES = Math.min(Number(a.addresses), N)
const ROUNDS = Math.max(1, Number(a.rounds))
const PER_ROUND = Math.min(N, Math.ceil(Number(a.sample) / ROUNDS))
const DELAY_LOOP = Number(a['delay-loop'])
const WARMUP_S = Number(a.warmup)
const WINDOW_S = Number(a.window)
const DETECT_TIMEOUT_S = Number(a['detect-timeout'])
const KERNEL_POLL_MS = Number(a['kernel-poll'])
const NS = 'kb-chk'
const DIR = '/tmp/kats-bench-checkers'
const COMMANDS = {
  ours: ['node', 'dist/cli/main.js'],
  keepalived: ['keepalived'],
}
if (!a.listener) {
  console.error('checkers-guest: --listener PATH (bench/vm/listeners.c, built) is required')
  process.exit(2)
}

const T0 = performance.now()
const out = (name, value) => process.stdout.write(`@@BENCH ${name} ${JSON.stringify(value)}\n`)
const say = (text) => process.stdout.write(`checkers [${((performance.now() - T0) / 1000).toFixed(0)} s]: ${text}\n`)
// Line stamps must not wait behind the daemon when the CPU is saturated.
try { setPriority(-10) } catch { /* not root: stamps may lag under load */ }

// Real server k: one of ADDRESSES addresses (10.42.1.1…), ports from 20000; in virtual server ⌊k·VS/N⌋.
const targets = Array.from({ length: N }, (_, k) => [benchAddress(257 + (k % ADDRESSES)), 20000 + Math.floor(k / ADDRESSES)])
const keyOf = (k) => `${targets[k][0]}:${targets[k][1]}`
const vsOf = (k) => Math.floor((k * VS) / N)
const conf = lvsConfig({
  virtualServers: VS,
  vipOf: (v) => ({ address: benchAddress(10 + v), port: 80 }),
  realServersOf: (v) => targets.filter((_, k) => vsOf(k) === v).map(([address, port]) => ({ address, port })),
  delayLoop: DELAY_LOOP,
  lbAlgo: 'rr',
  check: ['TCP_CHECK {', `    connect_timeout ${a['connect-timeout']}`, `    retry ${a.retry}`, '    delay_before_retry 1', '}'],
})
mkdirSync(DIR, { recursive: true })
writeFileSync(`${DIR}/keepalived.conf`, conf)
writeFileSync(`${DIR}/targets.txt`, targets.map(([ip, port]) => `${ip} ${port}\n`).join(''))
/** Round r closes PER_ROUND real servers spread evenly over all of them (so over every virtual server and address), shifted each round. */
const roundSample = (r) => [...new Set(Array.from({ length: PER_ROUND }, (_, i) => (Math.floor((i * N) / PER_ROUND) + r * 7919) % N))]
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())

function sh(...argv) {
  return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 30_000 })
}

function namespaceUp() {
  spawnSync('ip', ['netns', 'delete', NS], { stdio: 'ignore' })
  sh('ip', 'netns', 'add', NS)
  sh('ip', '-n', NS, 'link', 'set', 'lo', 'up')
  sh('ip', '-n', NS, 'link', 'add', 'kb0', 'type', 'dummy')
  sh('ip', '-n', NS, 'addr', 'add', '10.42.0.1/16', 'dev', 'kb0')
  for (let i = 0; i < ADDRESSES; i++) sh('ip', '-n', NS, 'addr', 'add', `${benchAddress(257 + i)}/16`, 'dev', 'kb0')
  sh('ip', '-n', NS, 'link', 'set', 'kb0', 'up')
}

/** A child in the namespace whose stdout (and stderr, unless `onError`) lines go to `onLine(line, ms)`, stamped on arrival. */
function start(argv, onLine, onError = onLine) {
  const child = spawn('ip', ['netns', 'exec', NS, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] })
  createInterface({ input: child.stdout }).on('line', (line) => onLine(line, performance.now()))
  createInterface({ input: child.stderr }).on('line', (line) => onError(line, performance.now()))
  child.stdin.on('error', () => {})
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)))
  return child
}

/** `promise`, or `fallback` after `ms`; the timer does not outlive the race. */
async function within(promise, ms, fallback = 'timeout') {
  let timer
  try {
    return await Promise.race([promise, new Promise((resolve) => { timer = setTimeout(resolve, ms, fallback) })])
  } finally {
    clearTimeout(timer)
  }
}

/** Poll `test` every `everyMs` until it returns a value other than undefined, at most `seconds`. */
async function until(seconds, test, everyMs = 200) {
  const deadline = performance.now() + seconds * 1000
  for (;;) {
    const v = await test()
    if (v !== undefined) return v
    if (performance.now() > deadline) return undefined
    await sleep(everyMs)
  }
}

/** pid → { ppid, ticks, name } for every process. */
function processes() {
  const all = new Map()
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    let stat
    try { stat = readFileSync(`/proc/${d}/stat`, 'utf8') } catch { continue }
    const close = stat.lastIndexOf(')')
    const f = stat.slice(close + 2).split(' ')
    all.set(Number(d), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), name: stat.slice(stat.indexOf('(') + 1, close) })
  }
  return all
}

/** The process and its descendants: pid → { ticks, name }. */
function tree(root) {
  const all = processes()
  const found = new Map()
  const visit = (pid) => {
    const p = all.get(pid)
    if (!p) return
    found.set(pid, p)
    for (const [child, q] of all) if (q.ppid === pid) visit(child)
  }
  visit(root)
  return found
}

const ticksOf = (procs) => [...procs.values()].reduce((n, p) => n + p.ticks, 0)

/** Busy and total jiffies of the whole guest. */
function guestCpu() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  const total = f.slice(0, 8).reduce((x, y) => x + y, 0)
  return { busy: total - f[3] - f[4], total }
}

function status(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

/** Destinations in the daemon's namespace's IPVS table, as /proc/PID/net/ip_vs writes them (hex `0A2A0101:4E20`). */
function kernelDests(pid) {
  try {
    return readFileSync(`/proc/${pid}/net/ip_vs`, 'utf8').split('\n')
      .filter((l) => /^\s+->/.test(l) && !l.includes('RemoteAddress')).map((l) => l.trim().split(/\s+/)[1])
  } catch {
    return undefined
  }
}
const hexOf = (k) => {
  const [ip, port] = targets[k]
  return `${ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0').toUpperCase()).join('')}:${port.toString(16).padStart(4, '0').toUpperCase()}`
}

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : undefined)
function summary(latencies) {
  const s = [...latencies].sort((x, y) => x - y)
  return { seen: s.length, p50Ms: percentile(s, 0.5), p90Ms: percentile(s, 0.9), p99Ms: percentile(s, 0.99), maxMs: s.at(-1), minMs: s[0] }
}

/** The daemon's command; with --profile ours runs under `node --cpu-prof` (the profile is written when it exits). */
function command(who) {
  if (!a.profile || who !== 'ours') return COMMANDS[who]
  const [node, ...rest] = COMMANDS[who]
  // Sampling every 10 ms, not V8's 1 ms: the profiler's own cost is multiplied by the emulation too.
  return [node, '--cpu-prof', '--cpu-prof-interval=10000', `--cpu-prof-dir=${DIR}/prof`, ...rest]
}

async function bench(who) {
  say(`${who}: namespace and ${N} listeners`)
  namespaceUp()
  const pending = []
  const listener = start([a.listener, `${DIR}/targets.txt`], (line) => pending.shift()?.(line), (line) => say(`listeners: ${line}`))
  const ask = async (command) => {
    const answer = await within(new Promise((resolve) => {
      pending.push(resolve)
      listener.stdin.write(`${command}\n`)
    }), 30_000)
    if (answer === 'timeout') throw new Error(`listeners: no answer to ${command.split(' ')[0]}`)
    return answer
  }
  const ready = await within(new Promise((r) => pending.push(r)), 120_000)
  if (!String(ready).startsWith('ready')) throw new Error(`listeners: ${ready}`)

  // The first `Removing service` line for each real server since it was last reset.
  const removedAt = new Map()
  // While a round runs: every line naming one of its real servers, with its arrival time (the JSON's `trace`).
  let traced
  const TRACE_ROUNDS = 3
  const tail = []
  let lines = 0
  const daemon = start([...command(who), '-C', '-n', '-l', '-D', '-G', '-f', `${DIR}/keepalived.conf`,
    '-p', `${DIR}/${who}.pid`, '-r', `${DIR}/${who}-vrrp.pid`, '-c', `${DIR}/${who}-check.pid`], (line, at) => {
    lines++
    tail.push(line)
    if (tail.length > 40) tail.shift()
    const m = /Removing service \[([\d.]+)\]:tcp:(\d+) from VS/.exec(line)
    if (m && !removedAt.has(`${m[1]}:${m[2]}`)) removedAt.set(`${m[1]}:${m[2]}`, at)
    const named = traced && /\[([\d.]+)\]:tcp:(\d+)/.exec(line)
    if (named && traced.keys.has(`${named[1]}:${named[2]}`)) traced.lines.push([Math.round(at - traced.since), line.replace(/^.*?: /, '')])
  })
  const t0 = performance.now()
  const result = { daemon: who, servers: N }
  try {
    say(`${who}: waiting for ${N} destinations in the table`)
    const programmedMs = await until(600, () => {
      if (daemon.exitCode !== null || daemon.signalCode !== null) return Number.NaN
      return kernelDests(daemon.pid)?.length === N ? performance.now() - t0 : undefined
    }, 500)
    if (programmedMs === undefined || Number.isNaN(programmedMs)) throw new Error(`${who}: the table never held ${N} destinations (${kernelDests(daemon.pid)?.length})\n${tail.join('\n')}`)
    result.programmedMs = programmedMs
    say(`${who}: table full after ${(programmedMs / 1000).toFixed(1)} s; warming up ${WARMUP_S} s`)
    await sleep(WARMUP_S * 1000)
    result.downBeforeWindow = N - kernelDests(daemon.pid).length
    if (result.downBeforeWindow > 0) say(`${who}: ${result.downBeforeWindow} real servers out of the table before the window`)

    // The steady window.
    const count = async () => Number((await ask('count')).split(' ')[1])
    const before = { daemon: ticksOf(tree(daemon.pid)), listener: ticksOf(tree(listener.pid)), guest: guestCpu(), accepted: await count(), at: performance.now() }
    await sleep(WINDOW_S * 1000)
    const procs = tree(daemon.pid)
    const after = { daemon: ticksOf(procs), listener: ticksOf(tree(listener.pid)), guest: guestCpu(), accepted: await count(), at: performance.now() }
    const seconds = (after.at - before.at) / 1000
    result.windowS = seconds
    result.cpuPercent = ((after.daemon - before.daemon) / CLK_TCK / seconds) * 100
    result.listenerCpuPercent = ((after.listener - before.listener) / CLK_TCK / seconds) * 100
    result.guestBusyPercent = ((after.guest.busy - before.guest.busy) / (after.guest.total - before.guest.total)) * 100
    result.checksPerSecond = (after.accepted - before.accepted) / seconds
    result.processes = [...procs].map(([pid, p]) => ({ pid, name: p.name, cpuTicks: p.ticks }))
    // The host reads this line as the end of the window (bench/checkers.mjs stamps its own load with it).
    say(`${who}: CPU ${result.cpuPercent.toFixed(1)} % over ${seconds.toFixed(1)} s, ${result.checksPerSecond.toFixed(0)} checks/s; ` +
      `detection: ${ROUNDS} round(s) of ${PER_ROUND} listeners`)

    // Detection rounds.
    const logMs = []
    const kernelMs = []
    const each = []
    const trace = []
    for (let r = 0; r < ROUNDS; r++) {
      const sample = roundSample(r)
      for (const k of sample) removedAt.delete(keyOf(k))
      const goneAt = new Map()
      const closedAt = performance.now()
      if (r < TRACE_ROUNDS) traced = { keys: new Set(sample.map(keyOf)), since: closedAt, lines: [] }
      await ask(`close ${sample.join(',')}`)
      const done = await until(DETECT_TIMEOUT_S, () => {
        const now = performance.now()
        const present = new Set(kernelDests(daemon.pid))
        for (const k of sample) if (!present.has(hexOf(k)) && !goneAt.has(k)) goneAt.set(k, now)
        return sample.every((k) => removedAt.has(keyOf(k))) && goneAt.size === sample.length ? true : undefined
      }, KERNEL_POLL_MS)
      for (const k of sample) {
        const line = removedAt.get(keyOf(k))
        const gone = goneAt.get(k)
        if (line !== undefined) logMs.push(line - closedAt)
        if (gone !== undefined) kernelMs.push(gone - closedAt)
        each.push([keyOf(k), line === undefined ? null : Math.round(line - closedAt), gone === undefined ? null : Math.round(gone - closedAt)])
      }
      if (traced) trace.push(traced.lines)
      traced = undefined
      await ask(`open ${sample.join(',')}`)
      const back = await until(DETECT_TIMEOUT_S, () => {
        const present = new Set(kernelDests(daemon.pid))
        return sample.every((k) => present.has(hexOf(k))) ? true : undefined
      }, 500)
      if (!done || !back) say(`${who}: round ${r + 1}: ${done ? '' : 'not all removed; '}${back ? '' : 'not all back'}`)
      // Let every checker see its server up again before the next round.
      if (r + 1 < ROUNDS) await sleep(2 * DELAY_LOOP * 1000)
    }
    result.detection = { sample: each.length, rounds: ROUNDS, ...summary(logMs), kernel: { pollMs: KERNEL_POLL_MS, ...summary(kernelMs) }, each, trace }
    // Peak RSS of each process, read while it runs.
    result.rss = [...tree(daemon.pid)].map(([pid, p]) => ({ pid, name: p.name, hwmKb: status(pid, 'VmHWM'), rssKb: status(pid, 'VmRSS') }))
    result.listenerHwmKb = status(listener.pid, 'VmHWM')
    result.logLines = lines
    const d = result.detection
    say(`${who}: detection p50 ${d.p50Ms?.toFixed(0)} ms, p99 ${d.p99Ms?.toFixed(0)} ms (${d.seen}/${d.sample}); ` +
      `out of the kernel p50 ${d.kernel.p50Ms?.toFixed(0)} ms, p99 ${d.kernel.p99Ms?.toFixed(0)} ms (${d.kernel.seen}/${d.sample})`)
  } finally {
    // SIGTERM, bounded; then the whole tree is killed.
    const procs = tree(daemon.pid)
    if (a.profile) {
      // The children first, so that each writes its profile before the parent's shutdown kills it.
      const children = [...procs.keys()].filter((pid) => pid !== daemon.pid)
      for (const pid of children) { try { process.kill(pid, 'SIGTERM') } catch { /* gone */ } }
      await until(120, () => (children.every((pid) => !processes().has(pid)) ? true : undefined), 500)
    }
    const stopAt = performance.now()
    daemon.kill('SIGTERM')
    result.exit = await within(daemon.exited, 30_000)
    result.stopMs = performance.now() - stopAt
    say(`${who}: exit ${result.exit} after ${(result.stopMs / 1000).toFixed(1)} s`)
    for (const pid of procs.keys()) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
    listener.stdin.end()
    if ((await within(listener.exited, 10_000)) === 'timeout') listener.kill('SIGKILL')
    spawnSync('ip', ['netns', 'delete', NS], { stdio: 'ignore' })
    if (result.exit !== 0) result.logTail = tail
  }
  if (a.profile && who === 'ours') result.profile = summarizeProfiles(`${DIR}/prof`, 40)
  return result
}

const version = spawnSync('keepalived', ['--version'], { encoding: 'utf8' })
out('setup', {
  servers: N, virtualServers: VS, addresses: ADDRESSES, delayLoop: DELAY_LOOP, connectTimeout: Number(a['connect-timeout']), retry: Number(a.retry),
  warmupS: WARMUP_S, windowS: WINDOW_S, rounds: ROUNDS, perRound: PER_ROUND, configLines: conf.split('\n').length,
  keepalived: `${version.stdout}${version.stderr}`.split('\n')[0],
})
// Each run is reported as `<daemon>.<n>`, n counting that daemon's runs (the host may alternate them).
const runs = new Map()
for (const who of a.daemons.split(',')) {
  const n = (runs.get(who) ?? 0) + 1
  runs.set(who, n)
  try {
    out(`${who}.${n}`, { ...(await bench(who)), run: n })
  } catch (err) {
    out(`${who}.${n}`, { daemon: who, run: n, error: String(err.stack ?? err) })
  }
}
