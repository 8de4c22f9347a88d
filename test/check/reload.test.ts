/**
 * The checker side's reload and respawn against a recording in-memory IPVS
 * (keepalived's reference §6.3): an unchanged configuration sends nothing, a
 * new real server is one NEW_DEST, a removed one one DEL_DEST, a weight
 * change one SET_DEST, a scheduler change one SET_SERVICE; health survives a
 * reload (a down real server stays down and out), unchanged checkers keep
 * running untouched; a respawn adopts a correct table without a request.
 * Real TCP_CHECKs against local listeners, on a manual clock.
 */
import t from 'tap'
import { CheckerRuntime } from '../../src/check/runtime.js'
import type { Clock, Timer } from '../../src/check/scheduler.js'
import type { Config } from '../../src/config/config.js'
import type { SubsystemContext } from '../../src/daemon/subsystem.js'
import { captureLogging } from '../../src/log/logger.js'
import { loadText } from '../helpers/config.js'
import { closedPort, closeServer as close, serverPort as portOf, tcpListener as listen } from '../fixtures/check/servers.js'
import { fakeIpvs } from '../helpers/fake-ipvs.js'
import { until } from '../helpers/process.js'

const waitFor = (what: string, test: () => boolean, timeoutMs = 8000): Promise<void> => until(test, what, timeoutMs)

function conf(text: string): Config {
  const r = loadText(text)
  const errors = r.diagnostics.list.filter((d) => d.severity === 'error')
  if (errors.length > 0) throw new Error(`test config: ${errors.map((d) => d.message).join('; ')}`)
  return r.config
}

/** A clock whose timers run only when advanced. */
function manualClock() {
  let now = 0
  let seq = 0
  const timers = new Map<number, { at: number; fn: () => void }>()
  const clock: Clock = {
    now: () => now,
    setTimer: (delayUs, fn) => {
      timers.set(++seq, { at: now + Math.max(0, delayUs), fn })
      return seq as unknown as Timer
    },
    clearTimer: (timer) => void timers.delete(timer as unknown as number),
  }
  const advance = (us: number): void => {
    const end = now + us
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined
      for (const e of timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e
      if (!next) break
      timers.delete(next[0])
      now = next[1].at
      next[1].fn()
    }
    now = end
  }
  return { clock, advance }
}




interface Rs {
  readonly port: number
  readonly weight?: number
  /** Extra lines in the real_server block. */
  readonly extra?: string
  /** TCP_CHECK lines. */
  readonly check?: string
}

/** One NAT virtual server 10.0.0.1:80 with TCP_CHECKed real servers on 127.0.0.1. */
function lvsConf(realServers: readonly Rs[], vsExtra = '', more = ''): string {
  const rs = realServers.map((r) => `
    real_server 127.0.0.1 ${r.port} {
        weight ${r.weight ?? 1}
        ${r.extra ?? ''}
        TCP_CHECK {
            connect_timeout 1
            retry 0
            ${r.check ?? ''}
        }
    }`).join('')
  return `
virtual_server 10.0.0.1 80 {
    delay_loop 5
    lb_algo rr
    lb_kind NAT
    protocol TCP
    ${vsExtra}
${rs}
}
${more}`
}

function setup(t: { teardown(fn: () => unknown): void }, ipvs = fakeIpvs(), opts: { dataFile?: string } = {}) {
  const logging = captureLogging()
  const { clock, advance } = manualClock()
  const ctx: SubsystemContext = {
    role: 'checkers',
    log: logging.logging.logger('checkers'),
    options: { logDetail: true, releaseVips: false, dontReleaseVrrp: false, dontReleaseIpvs: false, addressMonitoring: false },
    requestStop: () => {},
  }
  const rt = new CheckerRuntime(ctx, { openIpvs: () => Promise.resolve(ipvs.client), clock, random: () => 0, ...opts })
  t.teardown(() => rt.stop())
  const lines = () => logging.texts('Keepalived_healthcheckers')
  /** Advance the clock and wait until `line` has been logged `count` times in all. */
  const tickUntil = async (us: number, line: string, count = 1) => {
    advance(us)
    await waitFor(line, () => lines().filter((l) => l === line).length >= count)
  }
  return { rt, ipvs, lines, advance, tickUntil }
}

const VS = '[10.0.0.1]:tcp:80'
const rsName = (port: number) => `[127.0.0.1]:tcp:${port}`

t.test('an unchanged configuration: no IPVS request, checkers untouched, health and results kept', async (t) => {
  const a = await listen()
  const dead = await closedPort()
  t.teardown(() => close(a))
  const pa = portOf(a)
  const text = lvsConf([{ port: pa }, { port: dead }])
  const { rt, ipvs, lines, tickUntil } = setup(t)
  await rt.start(conf(text))
  await tickUntil(1_000_000, `TCP connection to ${rsName(pa)} success.`)
  await waitFor('the dead one removed', () => ipvs.calls.includes(`delete-dest 80 ${dead}`))
  const before = ipvs.view()
  const activations = lines().filter((l) => l.startsWith('Activating healthchecker')).length
  const lastAt = rt.status().virtualServers[0]!.realServers[0]!.checkers[0]!.lastAt
  ipvs.calls.length = 0

  await rt.reload(conf(text))
  t.same(ipvs.calls, [], 'zero operations')
  t.same(ipvs.view(), before)
  t.equal(lines().filter((l) => l.startsWith('Activating healthchecker')).length, activations, 'no checker restarted')
  const rs = rt.status().virtualServers[0]!.realServers
  t.same(rs.map((r) => [r.alive, r.kernelWeight]), [[true, 1], [false, undefined]], 'the down real server stays down and out')
  t.equal(rs[0]!.checkers[0]!.lastAt, lastAt, 'the checker\'s last result survives')
  t.equal(rs[0]!.checkers[0]!.lastResult, 'success')

  // Positions are not configuration: the same blocks further down the file are unchanged.
  await rt.reload(conf(`# a comment\n\n${text}`))
  t.same(ipvs.calls, [], 'zero operations when only line numbers moved')
  t.equal(lines().filter((l) => l.startsWith('Activating healthchecker')).length, activations, 'still no checker restarted')
})

t.test('a new real server is one NEW_DEST; a removed one one DEL_DEST with keepalived\'s lines; a weight change one SET_DEST', async (t) => {
  const a = await listen()
  const b = await listen()
  t.teardown(async () => { await close(a); await close(b) })
  const pa = portOf(a)
  const pb = portOf(b)
  const { rt, ipvs, lines, tickUntil } = setup(t)
  await rt.start(conf(lvsConf([{ port: pa }])))
  await tickUntil(1_000_000, `TCP connection to ${rsName(pa)} success.`)
  ipvs.calls.length = 0

  await rt.reload(conf(lvsConf([{ port: pa }, { port: pb, weight: 2 }])))
  t.same(ipvs.calls, [`add-dest 80 ${pb} w2`], 'exactly one add-dest')
  t.ok(lines().includes(`Activating healthchecker for service ${rsName(pb)} for VS ${VS}`), 'its checker starts')
  await tickUntil(1_000_000, `TCP connection to ${rsName(pb)} success.`)
  t.same(ipvs.calls, [`add-dest 80 ${pb} w2`], 'its first success changes nothing')

  ipvs.calls.length = 0
  await rt.reload(conf(lvsConf([{ port: pa, weight: 3 }, { port: pb, weight: 2 }])))
  t.same(ipvs.calls, [`edit-dest 80 ${pa} w3`], 'exactly one edit-dest')
  t.ok(lines().includes(`Changing weight from 1 to 3 for active service ${rsName(pa)} of VS ${VS}`))

  ipvs.calls.length = 0
  await rt.reload(conf(lvsConf([{ port: pb, weight: 2 }])))
  t.same(ipvs.calls, [`delete-dest 80 ${pa}`], 'exactly one delete-dest')
  t.ok(lines().includes(`service ${rsName(pa)} no longer exist`))
  t.ok(lines().includes(`Removing service ${rsName(pa)} from VS ${VS}`))
  t.same(ipvs.view(), [`80: ${pb}=2`])
})

t.test('a down real server stays down and out across a reload that adds another, and comes back on its own success', async (t) => {
  const dead = await closedPort()
  const b = await listen()
  t.teardown(() => close(b))
  const pb = portOf(b)
  const { rt, ipvs, lines, advance } = setup(t)
  await rt.start(conf(lvsConf([{ port: dead }])))
  advance(1_000_000)
  await waitFor('removed', () => ipvs.calls.includes(`delete-dest 80 ${dead}`))
  ipvs.calls.length = 0

  await rt.reload(conf(lvsConf([{ port: dead }, { port: pb }])))
  t.same(ipvs.calls, [`add-dest 80 ${pb} w1`], 'only the new one is added')
  t.notOk(lines().includes(`Adding service ${rsName(dead)} to VS ${VS}`), 'the down one is not re-added')
  t.same(rt.status().virtualServers[0]!.realServers.map((r) => r.alive), [false, true])

  // Its checker kept its state: it comes back on a success, with keepalived's line.
  const revived = await listen(dead)
  t.teardown(() => close(revived))
  advance(5_000_000)
  await waitFor('re-added', () => ipvs.calls.includes(`add-dest 80 ${dead} w1`))
  t.ok(lines().includes(`Adding service ${rsName(dead)} to VS ${VS}`))
})

t.test('an entry deleted by hand is not re-created by a reload of an unchanged configuration (issue #1877)', async (t) => {
  const a = await listen()
  t.teardown(() => close(a))
  const pa = portOf(a)
  const text = lvsConf([{ port: pa }])
  const { rt, ipvs } = setup(t)
  await rt.start(conf(text))
  for (const s of ipvs.table.values()) s.dests.clear()
  ipvs.calls.length = 0
  await rt.reload(conf(text))
  t.same(ipvs.calls, [])
  t.same(ipvs.view(), ['80: '])
})

t.test('a scheduler change is one SET_SERVICE; a removed virtual server one DEL_SERVICE with keepalived\'s line; a new one starts like start-up', async (t) => {
  const a = await listen()
  t.teardown(() => close(a))
  const pa = portOf(a)
  const other = `
virtual_server 10.0.0.2 443 {
    delay_loop 5
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 ${pa} {
    }
}`
  const { rt, ipvs, lines } = setup(t)
  await rt.start(conf(lvsConf([{ port: pa }], '', other)))
  ipvs.calls.length = 0
  await rt.reload(conf(lvsConf([{ port: pa }], 'lb_algo wrr').replace('lb_algo rr', '') + other))
  t.same(ipvs.calls, ['edit-service 80 wrr'], 'one SET_SERVICE')
  ipvs.calls.length = 0
  await rt.reload(conf(lvsConf([{ port: pa }], 'lb_algo wrr').replace('lb_algo rr', '')))
  t.same(ipvs.calls, ['delete-service 443'])
  t.ok(lines().includes('Removing Virtual Server [10.0.0.2]:tcp:443'))
  ipvs.calls.length = 0
  await rt.reload(conf(lvsConf([{ port: pa }], 'lb_algo wrr').replace('lb_algo rr', '') + other))
  t.same(ipvs.calls, ['add-service 443 wlc', `add-dest 443 ${pa} w1`])
})

t.test('a changed checker restarts alone and keeps its real server\'s health', async (t) => {
  const a = await listen()
  const b = await listen()
  t.teardown(async () => { await close(a); await close(b) })
  const pa = portOf(a)
  const pb = portOf(b)
  const { rt, ipvs, lines, tickUntil } = setup(t)
  await rt.start(conf(lvsConf([{ port: pa }, { port: pb }])))
  await tickUntil(1_000_000, `TCP connection to ${rsName(pb)} success.`)
  ipvs.calls.length = 0
  const count = (port: number) => lines().filter((l) => l === `Activating healthchecker for service ${rsName(port)} for VS ${VS}`).length
  await rt.reload(conf(lvsConf([{ port: pa, check: 'delay_before_retry 2' }, { port: pb }])))
  t.same([count(pa), count(pb)], [2, 1], 'only the changed checker is activated again')
  t.same(ipvs.calls, [], 'nothing in the kernel')
  t.same(rt.status().virtualServers[0]!.realServers.map((r) => r.checkers[0]!.up), [true, true])
})

t.test('respawn: a correct table is adopted without one request (plain, alpha, inhibited, sorry server)', async (t) => {
  const up1 = await listen()
  const up2 = await listen()
  t.teardown(async () => { await close(up1); await close(up2) })
  const dead = await closedPort()
  const dead2 = await closedPort()
  const [p1, p2] = [portOf(up1), portOf(up2)]
  const more = `
virtual_server 10.0.0.1 8000 {
    delay_loop 5
    lb_kind NAT
    protocol TCP
    quorum 2
    sorry_server 127.0.0.1 9
    real_server 127.0.0.1 ${dead2} {
        weight 2
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}`
  const text = lvsConf([
    { port: p1 },
    { port: p2, extra: 'alpha' },
    { port: dead, extra: 'inhibit_on_failure', weight: 4 },
  ], '', more)
  // The first process: every checker has run once.
  const first = setup(t)
  await first.rt.start(conf(text))
  first.advance(1_000_000)
  await waitFor('settled', () => first.ipvs.calls.includes(`edit-dest 80 ${dead} w0`) &&
    first.ipvs.calls.includes(`add-dest 80 ${p2} w1`) && first.ipvs.calls.includes('add-dest 8000 9 w1'))
  await waitFor('sorry server alone', () => first.ipvs.view().includes('8000: 9=1'))
  const table = first.ipvs.snapshot()
  t.same(first.ipvs.view(), [`80: ${[`${dead}=0`, `${p1}=1`, `${p2}=1`].sort().join(' ')}`, '8000: 9=1'].sort())

  // The respawned process starts from the kernel as the first left it.
  const second = setup(t, fakeIpvs(table))
  await second.rt.start(conf(text), { respawn: true })
  t.same(second.ipvs.calls, [], 'no request at start')
  second.advance(1_000_000)
  await waitFor('first results', () => second.lines().includes(`TCP connection to ${rsName(p2)} success.`) &&
    second.lines().includes(`TCP connection to ${rsName(p1)} success.`))
  await new Promise((r) => setTimeout(r, 100))
  t.same(second.ipvs.calls, [], 'nor after the first results')
  t.same(second.ipvs.view(), first.ipvs.view())
  const rs = second.rt.status().virtualServers[0]!.realServers
  t.same(rs.map((r) => [r.alive, r.kernelWeight]), [[true, 1], [true, 1], [false, 0]])
  t.same(second.rt.status().virtualServers[1]!.sorryServerActive, true)
})

t.test('status: counters, latency buckets and the kernel weight; SIGUSR1 writes keepalived_check.data mode 0600', async (t) => {
  const a = await listen()
  const dead = await closedPort()
  t.teardown(() => close(a))
  const pa = portOf(a)
  const { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const dir = mkdtempSync(join(tmpdir(), 'kats-chk-dump-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const dataFile = join(dir, 'keepalived_check.data')
  writeFileSync(dataFile, 'stale', { mode: 0o644 })
  const { rt, ipvs, advance } = setup(t, fakeIpvs(), { dataFile })
  await rt.start(conf(lvsConf([{ port: pa }, { port: dead }])))
  advance(1_000_000)
  await waitFor('both results', () => ipvs.calls.includes(`delete-dest 80 ${dead}`) && rt.status().counters.latencyCount === 2)
  const s = rt.status()
  t.equal(s.ipvsAvailable, true)
  t.same(s.counters.checks, { TCP_CHECK: { success: 1, failure: 1 } })
  t.equal(s.counters.latencyBucketsMs['+Inf'], 2)
  t.same(Object.keys(s.counters.latencyBucketsMs), ['1', '5', '10', '25', '50', '100', '250', '500', '1000', '2500', '5000', '+Inf'])
  t.equal(s.counters.ipvsOperations, 4, 'add-service, two add-dest, delete-dest')
  t.equal(s.counters.ipvsErrors, 0)
  const [ra, rd] = s.virtualServers[0]!.realServers
  t.match(ra, { name: rsName(pa), alive: true, weight: 1, kernelWeight: 1, checkers: [{ kind: 'TCP_CHECK', up: true, lastResult: 'success' }] })
  t.match(rd, { name: rsName(dead), alive: false, kernelWeight: undefined, checkers: [{ up: false, lastResult: 'failure' }] })
  t.type(rd!.checkers[0]!.lastFailure, 'string')

  rt.dumpData()
  t.equal(statSync(dataFile).mode & 0o777, 0o600)
  const text = readFileSync(dataFile, 'utf8')
  t.match(text, /------< LVS Topology >------\n/)
  t.match(text, / VS VIP = 10\.0\.0\.1, VPORT = 80\n/)
  t.match(text, new RegExp(`   RIP = 127\\.0\\.0\\.1, RPORT = ${pa}, WEIGHT = 1 EFF WEIGHT = 1\\n`))
  t.match(text, /   lvs_sched = rr\n/)
  t.match(text, /------< Health checkers >------\n/)
  t.match(text, / TCP_CHECK: 1 success, 1 failure\n/)
})

t.test('the data file follows an absolute $TMPDIR only', async (t) => {
  const { dataFilePath } = await import('../../src/check/status.js')
  t.equal(dataFilePath({ TMPDIR: '/var/tmp' }), '/var/tmp/keepalived_check.data')
  t.equal(dataFilePath({ TMPDIR: 'relative' }), '/tmp/keepalived_check.data')
  t.equal(dataFilePath({}), '/tmp/keepalived_check.data')
})

t.test('virtual_server_group: keepalived\'s lines for an entry added and one dropped; only those services change', async (t) => {
  const a = await listen()
  t.teardown(() => close(a))
  const pa = portOf(a)
  const group = (entries: string) => `
virtual_server_group G1 {
${entries}
}
virtual_server group G1 {
    delay_loop 5
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 ${pa} {
    }
}`
  const { rt, ipvs, lines } = setup(t)
  await rt.start(conf(group('    10.0.0.5 80\n    10.0.0.6 80')))
  ipvs.calls.length = 0
  await rt.reload(conf(group('    10.0.0.6 80\n    10.0.0.7 80')))
  t.same(ipvs.calls, ['add-service 80 wlc', `add-dest 80 ${pa} w1`, 'delete-service 80'])
  t.ok(lines().includes('VS [[10.0.0.5]:tcp:80] in group G1 no longer exists'))
  t.ok(lines().includes('VS [[10.0.0.7]:tcp:80] added into group G1'))
  t.same([...ipvs.table.keys()].map((k) => (JSON.parse(k) as { address: string }).address).sort(), ['10.0.0.6', '10.0.0.7'])
})

t.test('a reload dropping the sorry server while it stands in puts the alive real servers back', async (t) => {
  const a = await listen()
  const dead = await closedPort()
  t.teardown(() => close(a))
  const pa = portOf(a)
  const body = (sorry: string) => `
virtual_server 10.0.0.1 80 {
    delay_loop 5
    lb_kind NAT
    protocol TCP
    quorum 2
    ${sorry}
    real_server 127.0.0.1 ${pa} {
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 127.0.0.1 ${dead} {
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}`
  const { rt, ipvs, lines, advance } = setup(t)
  await rt.start(conf(body('sorry_server 127.0.0.1 9')))
  advance(1_000_000)
  await waitFor('sorry server in', () => ipvs.view().includes('80: 9=1'))
  ipvs.calls.length = 0
  await rt.reload(conf(body('')))
  t.ok(lines().includes('Removing sorry server [127.0.0.1]:tcp:9 from VS [10.0.0.1]:tcp:80'))
  t.ok(lines().includes('Adding alive servers to the pool for VS [10.0.0.1]:tcp:80'))
  t.same(ipvs.calls, [`add-dest 80 ${pa} w1`, 'delete-dest 80 9'], 'make before break')
})
