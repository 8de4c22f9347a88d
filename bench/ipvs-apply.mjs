#!/usr/bin/env node
/**
 * IPVS programming benchmark, in the VM (a real IPVS under Debian's kernel,
 * bench/vm/run-in-vm.mjs): 1,000 virtual servers × 10 real servers (10,000
 * destinations) from a generated config, programmed through the daemon's own
 * path (loadConfig → VirtualServerPool → desiredTable → KernelTable.sync over
 * openIpvs's client, one virtual server at a time as CheckerRuntime does);
 * then one real server's weight changed in the config and the requests that
 * costs (1 is right); the removal at stop; the whole table in a single sync;
 * and ipvsadm-restore of the same rules, for comparison. The guest side is
 * bench/vm/ipvs-apply-guest.mjs.
 *
 *   npm run build
 *   node bench/ipvs-apply.mjs [--vs 1000] [--rs 10] [--runs 1] [--cpus 1] [--memory 1024] [--json] [--verbose]
 *
 * The VM's CPU is emulated (qemu TCG): absolute times are inflated many
 * times over; compare rows with each other, not with a real machine. Run on
 * demand only (docs/BENCHMARKS.md).
 */
import { existsSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { benchResults, formatTable, REPO_ROOT, runInVm } from './vm/run-in-vm.mjs'

const { values: opts } = parseArgs({
  options: {
    vs: { type: 'string', default: '1000' },
    rs: { type: 'string', default: '10' },
    runs: { type: 'string', default: '1' },
    cpus: { type: 'string', default: '1' },
    memory: { type: 'string', default: '1024' },
    json: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
})
for (const f of ['dist/ipvs/apply.js', 'dist/net/ipvs.js', 'dist/check/virtual-server.js', 'dist/config/config.js']) {
  if (!existsSync(join(REPO_ROOT, f))) {
    console.error(`ipvs-apply: ${f} is missing; run \`npm run build\` first`)
    process.exit(2)
  }
}
const runs = Math.max(1, Number(opts.runs))
const guestArgs = `--vs ${Number(opts.vs)} --rs ${Number(opts.rs)}`
// One boot, `runs` fresh namespaces (each its own IPVS table).
const script = `
set -u
status=0
for i in $(seq 1 ${runs}); do
  ip netns add kb-apply || exit 1
  # IPVS refuses a destination it cannot route (EINVAL): lo up, and 10.42.0.0/16 on a dummy.
  ip -n kb-apply link set lo up && ip -n kb-apply link add kb0 type dummy &&
    ip -n kb-apply addr add 10.42.0.1/16 dev kb0 && ip -n kb-apply link set kb0 up || exit 1
  echo "@@RUN $i"
  ip netns exec kb-apply node bench/vm/ipvs-apply-guest.mjs ${guestArgs} || status=$?
  ip netns delete kb-apply
  [ "$status" = 0 ] || exit "$status"
done
`
const load = loadavg()[0]
const run = await runInVm({
  script,
  timeoutMs: Math.min(90 * 60_000, 120_000 + runs * Number(opts.vs) * Number(opts.rs) * 60),
  cpus: Number(opts.cpus),
  memoryMb: Number(opts.memory),
  onOutput: opts.verbose ? (text) => process.stderr.write(text) : undefined,
})
if (run.exitCode !== 0) {
  console.error(`ipvs-apply: the guest failed (exit ${run.exitCode})\n${run.output.slice(-4000)}`)
  process.exit(1)
}

// Each run's @@BENCH lines.
const perRun = run.output.split(/^@@RUN \d+$/m).slice(1).map(benchResults)
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const pick = (name, field) => median(perRun.map((r) => r.get(name)[field]))
const first = perRun[0]
const config = first.get('config')

if (opts.json) {
  console.log(JSON.stringify({ vm: { kernel: run.kernel, cpus: Number(opts.cpus), bootMs: run.bootMs }, hostLoad: load, runs: perRun.map((r) => Object.fromEntries(r)) }, null, 2))
  process.exit(0)
}

const ms = (v) => (v >= 100 ? Math.round(v).toLocaleString('en') : v.toFixed(1))
const per = (name) => {
  const n = pick(name, 'requests')
  return n > 10 ? (pick(name, 'ms') / n * 1000).toFixed(0) : '—'
}
const range = (name) => {
  const xs = perRun.map((r) => r.get(name).ms)
  return xs.length > 1 ? `${ms(Math.min(...xs))}–${ms(Math.max(...xs))}` : ''
}
const row = (label, name, extra = '') => [label, ms(pick(name, 'ms')), range(name), ms(pick(name, 'cpuMs')), pick(name, 'requests'), per(name), extra]
const restore = first.get('restore')
console.log(`${config.virtualServers} virtual servers × ${config.realServers} real servers = ${config.destinations} destinations ` +
  `(${config.lines} config lines, loaded in ${ms(pick('config', 'loadMs'))} ms); ${runs} run(s), medians; ` +
  `VM: ${run.kernel}, ${opts.cpus} emulated CPU(s), boot ${ms(run.bootMs)} ms; host load ${load.toFixed(1)}\n`)
console.log(formatTable([
  ['', 'wall ms', 'range', 'CPU ms', 'requests', 'µs/request', 'notes'],
  row('program, one sync per VS (daemon start)', 'program', `${first.get('program').installed} destinations in the kernel, ${first.get('program').failed} failed`),
  row('dump (GET_SERVICE + GET_DEST per service)', 'dump', `${first.get('dump').dests} destinations read back`),
  row('one weight changed, whole-table sync', 'change.whole', `${pick('change.whole', 'operations')} operation(s); kernel weight now ${first.get('change.whole').kernelWeight}`),
  row('one weight changed back, its VS synced', 'change.one', `${pick('change.one', 'operations')} operation(s)`),
  row('nothing changed, every VS synced', 'resync', ''),
  row('stop: every VS synced to empty', 'stop', `${first.get('stop').left} destinations left`),
  row('program, whole table in one sync', 'program.whole', `${first.get('program.whole').installed} destinations`),
  row('program, one sync per VS, warm process', 'program.warm', `${first.get('program.warm').installed} destinations`),
  ['ipvsadm-restore of the same rules', ms(pick('restore', 'ms')), range('restore'), ms(pick('restore', 'cpuMs')), restore.requests, (pick('restore', 'ms') / restore.requests * 1000).toFixed(0),
    `${restore.installed} destinations; ipvsadm -Sn ${restore.sameAsOurs ? 'identical to' : 'DIFFERS from'} ours`],
]))
console.log('\nCPU ms: the process\'s user + system time (ours: the node process, kernel work of its requests included; ipvsadm-restore: /usr/bin/time).')
const errors = first.get('errors')
if (errors.length > 0) console.log(`\nIPVS errors logged:\n${errors.join('\n')}`)
