/**
 * Guest side of bench/ipvs-apply.mjs: runs as root in the VM, inside a
 * network namespace of its own, over the built code (dist/). Programs a
 * generated table through the daemon's path — the config loaded by
 * loadConfig, each virtual server's pool (VirtualServerPool.start()), its
 * desiredTable() reconciled by KernelTable.sync() over openIpvs()'s client,
 * one virtual server at a time as CheckerRuntime.flush() does — then a
 * one-line change of the config (one real server's weight), the removal at
 * stop, the whole table in one sync, and ipvsadm-restore of the same rules.
 * Prints `@@BENCH name {json}` lines; decides nothing.
 *
 *   ip netns exec NS node bench/vm/ipvs-apply-guest.mjs --vs 1000 --rs 10
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { VirtualServerPool } from '../../dist/check/virtual-server.js'
import { loadConfig } from '../../dist/config/config.js'
import { formatDiagnostic } from '../../dist/config/diagnostics.js'
import { KernelTable } from '../../dist/ipvs/apply.js'
import { desiredTable, ownedOf, rsText, vsText } from '../../dist/ipvs/desired.js'
import { NetError } from '../../dist/net/errors.js'
import { openIpvs } from '../../dist/net/ipvs.js'
import { benchAddress, lvsConfig } from './lvs-config.mjs'

const { values: opts } = parseArgs({ options: { vs: { type: 'string', default: '1000' }, rs: { type: 'string', default: '10' } } })
const virtualServers = Number(opts.vs)
const realServers = Number(opts.rs)
// VIPs from 10.42.1.0, real servers from 10.42.16.0: 1,000 × 10 fits with room to spare.
if (!(virtualServers >= 1 && realServers >= 1 && 4096 + virtualServers * realServers <= 65536 && virtualServers <= 3840)) {
  console.error('ipvs-apply: --vs × --rs must fit in 10.42.16.0 – 10.42.255.255 (and --vs ≤ 3840)')
  process.exit(2)
}

const out = (name, value) => process.stdout.write(`@@BENCH ${name} ${JSON.stringify(value)}\n`)
const say = (text) => process.stdout.write(`ipvs-apply: ${text}\n`)

// The one real server whose weight the change touches: in the middle of the table.
const CHANGED_VS = Math.floor(virtualServers / 2)
const CHANGED_RS = Math.floor(realServers / 2)
const text = (changed) => lvsConfig({
  virtualServers,
  vipOf: (v) => ({ address: benchAddress(256 + v), port: 80 }),
  realServersOf: (v) => Array.from({ length: realServers }, (_, r) => ({
    address: benchAddress(4096 + v * realServers + r),
    port: 8080,
    weight: changed && v === CHANGED_VS && r === CHANGED_RS ? 5 : 1,
  })),
  persistenceTimeout: 50,
})

const dir = '/tmp/kats-bench-apply'
mkdirSync(dir, { recursive: true })
writeFileSync(`${dir}/before.conf`, text(false))
writeFileSync(`${dir}/after.conf`, text(true))

function load(file) {
  const t0 = performance.now()
  const { config, diagnostics } = loadConfig(file)
  if (diagnostics.hasErrors) {
    for (const d of diagnostics.list) console.error(formatDiagnostic(d))
    process.exit(1)
  }
  return { config, ms: performance.now() - t0 }
}

/** Each virtual server's pool at start-up, as CheckerRuntime.start() builds it (no checkers: every real server alive). */
function livePools(config) {
  const pools = config.lvs.virtualServers.map((vs) => {
    const pool = new VirtualServerPool({
      config: vs,
      text: vsText(vs),
      realServers: vs.realServers.map((rs) => ({ config: rs, text: rsText(rs, vs), checkers: [] })),
    })
    pool.start()
    return { vs, pool, owned: ownedOf({ virtualServers: [vs], virtualServerGroups: config.lvs.virtualServerGroups }) }
  })
  const byVs = new Map(pools.map((p) => [p.vs, p.pool]))
  return Object.assign(pools, { poolOf: (vs) => byVs.get(vs)?.pool() })
}

/** Time `fn`: wall ms, this process's CPU ms, requests sent (KernelTable's and the client's counters). */
async function timed(table, ipvs, fn) {
  const ops = table.operations
  const requests = ipvs.operations
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  const value = await fn()
  const ms = performance.now() - t0
  const used = process.cpuUsage(cpu)
  return { value, ms, cpuMs: (used.user + used.system) / 1000, operations: table.operations - ops, requests: ipvs.operations - requests }
}

/** CheckerRuntime.flush(): one sync per virtual server, in order. */
async function syncEach(table, pools, groups, empty = false) {
  let failed = 0
  for (const { vs, pool, owned } of pools) {
    const desired = empty ? [] : desiredTable({ virtualServers: [vs], virtualServerGroups: groups }, () => pool.pool())
    failed += (await table.sync(desired, owned)).failed
  }
  return failed
}

function ipvsadm(...args) {
  return execFileSync('ipvsadm', args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000 })
}
const sortedRules = (s) => s.split('\n').filter(Boolean).sort().join('\n')
const destCount = () => ipvsadm('-Sn').split('\n').filter((l) => l.startsWith('-a ')).length

/** A command under /usr/bin/time: wall, user and system seconds. */
function timeCommand(argv, input) {
  const r = spawnSync('/usr/bin/time', ['-f', '@@TIME %e %U %S', ...argv], { input, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 300_000 })
  const m = /@@TIME (\S+) (\S+) (\S+)/.exec(r.stderr)
  if (r.status !== 0 || !m) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`)
  return { ms: Number(m[1]) * 1000, cpuMs: (Number(m[2]) + Number(m[3])) * 1000 }
}

const errors = []
const ipvs = await openIpvs({ timeoutMs: 30_000 })
if (ipvs instanceof NetError) {
  console.error(`openIpvs: ${ipvs.message}`)
  process.exit(1)
}
ipvsadm('-C')

const before = load(`${dir}/before.conf`)
const after = load(`${dir}/after.conf`)
out('config', { virtualServers, realServers, destinations: virtualServers * realServers, lines: readFileSync(`${dir}/before.conf`, 'utf8').split('\n').length, loadMs: before.ms })
const groups = before.config.lvs.virtualServerGroups

// 1. Start-up: the daemon's path, from an empty kernel table.
const table = new KernelTable(ipvs, (line) => errors.push(line))
const dump0 = await ipvs.services()
table.load(dump0 instanceof NetError ? [] : dump0)
const pools = livePools(before.config)
say('programming the table, one sync per virtual server')
const program = await timed(table, ipvs, () => syncEach(table, pools, groups))
const installed = destCount()
out('program', { ...program, failed: program.value, installed })

// What the kernel holds, read back the way the daemon reads it at start-up.
const dump = await timed(table, ipvs, () => ipvs.services())
out('dump', { ms: dump.ms, cpuMs: dump.cpuMs, requests: dump.requests, services: dump.value.length, dests: dump.value.reduce((n, e) => n + e.dests.length, 0) })
const ourRules = ipvsadm('-Sn')
writeFileSync(`${dir}/rules`, ourRules)

// 2. One line of the config changed: one real server's weight, 1 → 5.
const changedPools = livePools(after.config)
const whole = await timed(table, ipvs, async () => {
  const all = desiredTable(after.config.lvs, changedPools.poolOf)
  return (await table.sync(all, ownedOf(after.config.lvs))).failed
})
const weightNow = ipvsadm('-Ln', '-t', `${benchAddress(256 + CHANGED_VS)}:80`)
const changedAddress = benchAddress(4096 + CHANGED_VS * realServers + CHANGED_RS)
const seen = new RegExp(`-> ${changedAddress.replaceAll('.', '\\.')}:8080\\s+Masq\\s+(\\d+)`).exec(weightNow)?.[1]
out('change.whole', { ms: whole.ms, cpuMs: whole.cpuMs, operations: whole.operations, requests: whole.requests, failed: whole.value, kernelWeight: Number(seen) })
// The same change back, the way a checker's weight reaches the kernel: only its virtual server is synced.
const one = pools[CHANGED_VS]
const back = await timed(table, ipvs, () => syncEach(table, [one], groups))
out('change.one', { ms: back.ms, cpuMs: back.cpuMs, operations: back.operations, requests: back.requests, failed: back.value })
// Nothing changed: nothing sent.
const idle = await timed(table, ipvs, () => syncEach(table, pools, groups))
out('resync', { ms: idle.ms, cpuMs: idle.cpuMs, operations: idle.operations, requests: idle.requests })

// 3. Stop: every virtual server's services removed (CheckerRuntime.stop()).
const stop = await timed(table, ipvs, () => syncEach(table, pools, groups, true))
out('stop', { ms: stop.ms, cpuMs: stop.cpuMs, operations: stop.operations, requests: stop.requests, failed: stop.value, left: destCount() })

// 4. The whole table in one sync (what a reload from empty would send), then the start-up path once more.
const fresh = new KernelTable(ipvs, (line) => errors.push(line))
fresh.load([])
const bulk = await timed(fresh, ipvs, async () => {
  const all = desiredTable(before.config.lvs, pools.poolOf)
  return (await fresh.sync(all, ownedOf(before.config.lvs))).failed
})
out('program.whole', { ms: bulk.ms, cpuMs: bulk.cpuMs, operations: bulk.operations, requests: bulk.requests, failed: bulk.value, installed: destCount() })

// The start-up path again, in a process that is now warm (JIT) on a kernel that has grown its caches once.
await fresh.sync([], ownedOf(before.config.lvs))
const again = new KernelTable(ipvs, (line) => errors.push(line))
again.load([])
const warm = await timed(again, ipvs, () => syncEach(again, pools, groups))
out('program.warm', { ms: warm.ms, cpuMs: warm.cpuMs, operations: warm.operations, requests: warm.requests, failed: warm.value, installed: destCount() })

// 5. ipvsadm-restore of the rules we programmed, from an empty table.
const flush = timeCommand(['ipvsadm', '-C'])
const restore = timeCommand(['ipvsadm-restore'], ourRules)
const restored = ipvsadm('-Sn')
out('restore', { ...restore, requests: virtualServers * (realServers + 1), installed: destCount(), sameAsOurs: sortedRules(restored) === sortedRules(ourRules), flushMs: flush.ms })
ipvsadm('-C')

out('errors', errors.slice(0, 20))
ipvs.close()
