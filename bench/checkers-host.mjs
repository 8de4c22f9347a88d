/**
 * The checker side's own cost on this host, without the VM: the checker
 * runtime (src/check/runtime.ts, as the Keepalived_healthcheckers child runs
 * it) with an in-memory IPVS table in place of the kernel, N real servers
 * under TCP_CHECK against bench/vm/listeners.c in a namespace of its own
 * (kats-cbh, addresses in 10.44.0.0/16 on its loopback). Reports CPU
 * milliseconds per check and checks per second over a steady window, and with
 * --profile the functions with the most self time (node --cpu-prof).
 *
 * bench/checkers.mjs compares against keepalived under a real IPVS, but in an
 * emulated CPU where a profile costs as much as the work; this one is for
 * finding where the time goes.
 *
 *   npm run build && node bench/checkers-host.mjs --servers 5000 --delay-loop 1 [--profile]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { summarizeProfiles } from './vm/profile-summary.mjs'
import { lvsConfig } from './vm/lvs-config.mjs'

const { values: a } = parseArgs({
  options: {
    servers: { type: 'string', default: '5000' },
    'virtual-servers': { type: 'string', default: '10' },
    addresses: { type: 'string', default: '20' },
    'delay-loop': { type: 'string', default: '1' },
    warmup: { type: 'string', default: '10' },
    window: { type: 'string', default: '20' },
    profile: { type: 'boolean', default: false },
    'heap-snapshot': { type: 'string' },
    inner: { type: 'string' },
  },
})
const NS = 'kats-cbh'
const N = Number(a.servers)
const ADDRESSES = Math.min(Number(a.addresses), N)
const VS = Math.min(Number(a['virtual-servers']), N)
const HERE = fileURLToPath(new URL('.', import.meta.url))
const address = (n) => `10.44.${n >> 8}.${n & 255}`

if (a.inner) await inner(a.inner)
else await outer()

/** Builds the listeners and the namespace, then runs itself inside it (under --cpu-prof with --profile). */
async function outer() {
  const dir = mkdtempSync(join(tmpdir(), 'kats-cbh-'))
  const cleanup = () => {
    spawnSync('ip', ['netns', 'delete', NS], { stdio: 'ignore' })
    rmSync(dir, { recursive: true, force: true })
  }
  process.once('SIGINT', () => { cleanup(); process.exit(130) })
  try {
    execFileSync('cc', ['-O2', '-o', join(dir, 'listeners'), join(HERE, 'vm/listeners.c')])
    spawnSync('ip', ['netns', 'delete', NS], { stdio: 'ignore' })
    execFileSync('ip', ['netns', 'add', NS])
    execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up'])
    for (let i = 0; i < ADDRESSES; i++) execFileSync('ip', ['-n', NS, 'addr', 'add', `${address(257 + i)}/32`, 'dev', 'lo'])
    const node = [process.execPath, '--expose-gc']
    // Sampling every 5 ms: under an emulated CPU the profiler's own cost is multiplied too.
    if (a.profile) node.push('--cpu-prof', '--cpu-prof-interval=5000', `--cpu-prof-dir=${join(dir, 'prof')}`)
    const args = process.argv.slice(2)
    const r = spawnSync('ip', ['netns', 'exec', NS, ...node, fileURLToPath(import.meta.url), ...args, '--inner', dir], { stdio: 'inherit', timeout: 600_000 })
    if (r.status !== 0) throw new Error(`the inner run ended with ${r.status ?? r.signal}`)
    if (a.profile) {
      for (const p of summarizeProfiles(join(dir, 'prof'), 40)) {
        console.log(`profile: ${p.totalMs.toFixed(0)} ms sampled`)
        for (const t of p.top) console.log(`${t.ms.toFixed(0).padStart(8)} ${(t.share * 100).toFixed(1).padStart(5)} %  ${t.name}`)
      }
    }
  } finally {
    cleanup()
  }
}

/** An in-memory IPVS: the table the runtime programs, nothing else. */
function memoryIpvs() {
  const table = new Map()
  const key = (k) => JSON.stringify(k)
  const done = () => Promise.resolve()
  return {
    info: () => Promise.resolve({ version: '1.2.1', connTableSize: 4096 }),
    services: () => Promise.resolve([...table.values()].map((s) => ({ service: s.service, dests: [...s.dests.values()] }))),
    addService: (s) => { table.set(key(s.key), { service: s, dests: new Map() }); return done() },
    editService: (s) => { const e = table.get(key(s.key)); if (e) e.service = s; return done() },
    deleteService: (k) => { table.delete(key(k)); return done() },
    addDest: (k, d) => { table.get(key(k))?.dests.set(`${d.address}:${d.port}`, d); return done() },
    editDest: (k, d) => { table.get(key(k))?.dests.set(`${d.address}:${d.port}`, d); return done() },
    deleteDest: (k, d) => { table.get(key(k))?.dests.delete(`${d.address}:${d.port}`); return done() },
    timeouts: () => Promise.resolve({ tcp: 900, tcpFin: 120, udp: 300 }),
    setTimeouts: done,
    startDaemon: done,
    stopDaemon: done,
    daemons: () => Promise.resolve([]),
    flush: done,
    operations: 0,
    close: () => {},
    dests: () => [...table.values()].reduce((n, s) => n + s.dests.size, 0),
  }
}

async function inner(dir) {
  const { loadConfig } = await import('../dist/config/config.js')
  const { CheckerRuntime } = await import('../dist/check/runtime.js')
  const { createLogging } = await import('../dist/log/logger.js')

  const targets = Array.from({ length: N }, (_, k) => [address(257 + (k % ADDRESSES)), 20000 + Math.floor(k / ADDRESSES)])
  const vsOf = (k) => Math.floor((k * VS) / N)
  writeFileSync(join(dir, 'targets.txt'), targets.map(([ip, port]) => `${ip} ${port}\n`).join(''))
  writeFileSync(join(dir, 'keepalived.conf'), lvsConfig({
    virtualServers: VS,
    vipOf: (v) => ({ address: address(10 + v), port: 80 }),
    realServersOf: (v) => targets.filter((_, k) => vsOf(k) === v).map(([addr, port]) => ({ address: addr, port })),
    delayLoop: Number(a['delay-loop']),
    lbAlgo: 'rr',
    check: ['TCP_CHECK {', '    connect_timeout 3', '    retry 0', '    delay_before_retry 1', '}'],
  }))

  // One socket per real server: above the usual 1024 open files.
  const listener = spawn('sh', ['-c', 'ulimit -n 70000 && exec "$0" "$1"', join(dir, 'listeners'), join(dir, 'targets.txt')], { stdio: ['pipe', 'pipe', 'inherit'] })
  listener.once('exit', (code) => answers.splice(0).forEach((answer) => answer(`exited ${code}`)))
  const answers = []
  createInterface({ input: listener.stdout }).on('line', (line) => answers.shift()?.(line))
  const ask = (command) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`listeners: no answer to ${command || 'start-up'}`)), 120_000)
    answers.push((line) => { clearTimeout(timer); resolve(line) })
    if (command) listener.stdin.write(`${command}\n`)
  })
  const ready = await ask('')
  if (!ready.startsWith('ready')) throw new Error(`listeners: ${ready}`)
  const count = async () => Number((await ask('count')).split(' ')[1])

  const { config, diagnostics } = loadConfig(join(dir, 'keepalived.conf'))
  if (diagnostics.list.some((d) => d.severity === 'error')) throw new Error('the generated configuration does not load')
  // Lines logged during the window (a healthy steady state logs none).
  let counting = false
  const logged = []
  const logging = createLogging({ syslog: false, console: false, sinks: [(r) => { if (counting) logged.push(r.text ?? r.message) }] })
  const ipvs = memoryIpvs()
  const runtime = new CheckerRuntime({
    role: 'checkers',
    log: logging.logger('checkers'),
    options: { logDetail: false, releaseVips: false, dontReleaseVrrp: false, dontReleaseIpvs: false, addressMonitoring: false },
    requestStop: (_code, reason) => console.error(`stop requested: ${reason}`),
  }, { openIpvs: () => Promise.resolve(ipvs) })

  const t0 = performance.now()
  await runtime.start(config)
  console.log(`start: ${(performance.now() - t0).toFixed(0)} ms, ${ipvs.dests()} destinations`)
  await sleep(Number(a.warmup) * 1000)
  const c0 = await count()
  counting = true
  const u0 = process.cpuUsage()
  const w0 = performance.now()
  await sleep(Number(a.window) * 1000)
  const c1 = await count()
  const u1 = process.cpuUsage(u0)
  counting = false
  globalThis.gc?.()
  const live = process.memoryUsage()
  const seconds = (performance.now() - w0) / 1000
  const cpuMs = (u1.user + u1.system) / 1000
  const checks = c1 - c0
  console.log(JSON.stringify({
    servers: N,
    delayLoop: Number(a['delay-loop']),
    destinationsUp: ipvs.dests(),
    checksPerSecond: Math.round(checks / seconds),
    wantedPerSecond: Math.round(N / Number(a['delay-loop'])),
    cpuPercent: Number((cpuMs / seconds / 10).toFixed(1)),
    userMs: Math.round(u1.user / 1000),
    systemMs: Math.round(u1.system / 1000),
    cpuUsPerCheck: checks ? Math.round((cpuMs * 1000) / checks) : undefined,
    linesLogged: logged.length,
    rssMb: Number((live.rss / 2 ** 20).toFixed(1)),
    heapLiveMb: Number((live.heapUsed / 2 ** 20).toFixed(1)),
  }))
  for (const line of logged.filter((l) => !l.endsWith(" success.")).slice(0, 8)) console.log(`logged: ${line}`)
  console.log(`distinct lines: ${new Set(logged).size}`)
  if (a['heap-snapshot']) {
    const { writeHeapSnapshot } = await import('node:v8')
    console.log(`heap snapshot: ${writeHeapSnapshot(a['heap-snapshot'])}`)
  }
  await runtime.stop()
  logging.close()
  listener.stdin.end()
  mkdirSync(join(dir, 'prof'), { recursive: true })
}
