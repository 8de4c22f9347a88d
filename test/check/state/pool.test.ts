/** A virtual server's pool (real-server.ts, virtual-server.ts) against keepalived's ipwrapper.c. */
import t from 'tap'
import fc from 'fast-check'
import { type CheckerRef, realWeight } from '../../../src/check/real-server.js'
import { type PoolChange, VirtualServerPool } from '../../../src/check/virtual-server.js'
import type { LvsMethod, RealServer, SorryServer, VirtualServer } from '../../../src/config/lvs/model.js'
import type { ScriptSpec } from '../../../src/config/schema.js'

const pos = { file: 'keepalived.conf', line: 1, col: 1 }
const nat: LvsMethod = { kind: 'NAT', tunnelType: undefined, tunnelPort: undefined, tunnelChecksum: undefined }
const VS = '[10.0.0.1]:tcp:80'
const script = (command: string): ScriptSpec => ({ command, user: undefined, group: undefined })

function realServer(address: string, over: Partial<RealServer> = {}): RealServer {
  return {
    pos, address, port: 80, weight: 1, lvsMethod: nat, inhibitOnFailure: false, alpha: false,
    notifyUp: script(`/up ${address}`), notifyDown: script(`/down ${address}`),
    uthreshold: undefined, lthreshold: undefined, smtpAlert: undefined, virtualhost: undefined, snmpName: undefined,
    connectTimeout: undefined, retry: undefined, delayBeforeRetry: undefined, warmup: undefined, delayLoop: undefined,
    checkers: [], ...over,
  }
}

function sorryServer(over: Partial<SorryServer> = {}): SorryServer {
  return { pos, address: '10.0.0.99', port: 80, inhibit: false, lvsMethod: nat, ...over }
}

function virtualServer(realServers: RealServer[], over: Partial<VirtualServer> = {}): VirtualServer {
  return {
    pos, address: '10.0.0.1', port: 80, fwmark: undefined, group: undefined, ipFamily: undefined, protocol: 'TCP',
    lvsSched: 'wlc', lvsMethod: nat, persistenceTimeout: undefined, persistenceGranularity: undefined,
    persistenceEngine: undefined, haSuspend: false, virtualhost: undefined, alpha: false, omega: false,
    quorum: 1, hysteresis: 0, quorumUp: script('/quorum-up'), quorumDown: script('/quorum-down'),
    sorryServer: undefined, inhibitOnFailure: false, weight: 1, delayLoop: 60_000_000, connectTimeout: 5_000_000,
    retry: undefined, delayBeforeRetry: undefined, warmup: undefined, smtpAlert: undefined, snmpName: undefined,
    ops: false, flag1: false, flag2: false, flag3: false, shPort: false, shFallback: false, mhPort: false, mhFallback: false,
    realServers, ...over,
  }
}

const rsText = (rs: RealServer) => `[${rs.address}]:tcp:${rs.port}`

/** A pool whose real server i has checkers `c<i>.<j>` (alpha per `alphas[i][j]`). */
function makePool(vs: VirtualServer, checkers: boolean[][] = [], extra: { rsInitNotifies?: boolean } = {}): VirtualServerPool {
  return new VirtualServerPool({
    config: vs,
    text: VS,
    realServers: vs.realServers.map((rs, i) => ({
      config: rs,
      text: rsText(rs),
      checkers: (checkers[i] ?? []).map((alpha, j): CheckerRef => ({ id: `c${i}.${j}`, alpha })),
    })),
    sorryServerText: vs.sorryServer ? `[${vs.sorryServer.address}]:tcp:${vs.sorryServer.port}` : undefined,
    ...extra,
  })
}

const SORRY = '[10.0.0.99]:tcp:80'
const poolOf = (p: VirtualServerPool) => p.pool().map((e) => `${e.server.address}=${e.weight}`)
const eventsOf = (c: PoolChange) => c.events.map((e) => `${e.kind === 'real-server' ? `RS ${e.rs}` : 'VS'} ${e.up ? 'UP' : 'DOWN'} ${e.script?.command ?? '-'}${e.stopping ? ' stopping' : ''}`)

t.test('start: servers without failed checkers are alive; quorum, starting down, is gained with its arithmetic', async (t) => {
  const a = realServer('10.0.0.2'), b = realServer('10.0.0.3', { weight: 3 })
  const p = makePool(virtualServer([a, b]), [[false], []])
  const c = p.start()
  t.same(c.lines, [`Gained quorum 1+0=1 <= 4 for VS ${VS}`])
  t.same(eventsOf(c), ['VS UP /quorum-up'])
  t.same(poolOf(p), ['10.0.0.2=1', '10.0.0.3=3'])
  t.equal(p.status().quorumUp, true)
  t.same(p.start(), { lines: [], events: [] }, 'start is once')
})

t.test('a verdict before start() is a wiring error', async (t) => {
  const p = makePool(virtualServer([realServer('10.0.0.2')]), [[false]])
  t.throws(() => p.checkerVerdict('c0.0', false))
})

t.test('rs_init_notifies: notify_up for the servers alive at start', async (t) => {
  const p = makePool(virtualServer([realServer('10.0.0.2'), realServer('10.0.0.3')]), [[true]], { rsInitNotifies: true })
  t.same(eventsOf(p.start()), ['RS [10.0.0.3]:tcp:80 UP /up 10.0.0.3', 'VS UP /quorum-up'])
})

t.test('removal: down removes the server, up adds it back, each with its notify script', async (t) => {
  const a = realServer('10.0.0.2'), b = realServer('10.0.0.3')
  const p = makePool(virtualServer([a, b]), [[false], [false]])
  p.start()
  const down = p.checkerVerdict('c0.0', false)
  t.same(down.lines, [`Removing service [10.0.0.2]:tcp:80 from VS ${VS}`])
  t.same(eventsOf(down), ['RS [10.0.0.2]:tcp:80 DOWN /down 10.0.0.2'])
  t.same(poolOf(p), ['10.0.0.3=1'])
  const up = p.checkerVerdict('c0.0', true)
  t.same(up.lines, [`Adding service [10.0.0.2]:tcp:80 to VS ${VS}`])
  t.same(eventsOf(up), ['RS [10.0.0.2]:tcp:80 UP /up 10.0.0.2'])
  t.same(poolOf(p), ['10.0.0.2=1', '10.0.0.3=1'])
  t.same(p.checkerVerdict('c0.0', true), { lines: [], events: [] }, 'a repeated verdict changes nothing')
  t.same(p.checkerVerdict('nope', false), { lines: [], events: [] }, 'an unknown checker is ignored')
})

t.test('inhibit_on_failure: the server stays at weight 0, Disabling/Enabling ... of VS', async (t) => {
  const a = realServer('10.0.0.2', { inhibitOnFailure: true, weight: 5 }), b = realServer('10.0.0.3')
  const p = makePool(virtualServer([a, b]), [[false], []])
  p.start()
  t.same(p.checkerVerdict('c0.0', false).lines, [`Disabling service [10.0.0.2]:tcp:80 of VS ${VS}`])
  t.same(poolOf(p), ['10.0.0.2=0', '10.0.0.3=1'])
  t.same(p.checkerVerdict('c0.0', true).lines, [`Enabling service [10.0.0.2]:tcp:80 of VS ${VS}`])
  t.same(poolOf(p), ['10.0.0.2=5', '10.0.0.3=1'])
})

t.test('alpha: the server starts out of the pool; first failure only notifies; success adds it', async (t) => {
  const a = realServer('10.0.0.2'), b = realServer('10.0.0.3')
  const p = makePool(virtualServer([a, b]), [[true], []])
  p.start()
  t.same(poolOf(p), ['10.0.0.3=1'])
  t.equal(p.status().realServers[0]!.alive, false)
  const first = p.checkerVerdict('c0.0', false)
  t.same(first.lines, [])
  t.same(eventsOf(first), ['RS [10.0.0.2]:tcp:80 DOWN /down 10.0.0.2'], 'keepalived notifies on an alpha checker\'s first result')
  t.same(p.checkerVerdict('c0.0', false), { lines: [], events: [] })
  t.same(p.checkerVerdict('c0.0', true).lines, [`Adding service [10.0.0.2]:tcp:80 to VS ${VS}`])
  // Alpha with inhibit: present from the start at weight 0.
  const q = makePool(virtualServer([realServer('10.0.0.4', { inhibitOnFailure: true })]), [[true]])
  q.start()
  t.same(poolOf(q), ['10.0.0.4=0'])
})

t.test('a non-alpha first success changes nothing and notifies nothing', async (t) => {
  const p = makePool(virtualServer([realServer('10.0.0.2')]), [[false]])
  p.start()
  const revision = p.revision
  t.same(p.checkerVerdict('c0.0', true), { lines: [], events: [] })
  t.equal(p.revision, revision, 'the revision stays: the IPVS side has nothing to reconcile')
  p.checkerVerdict('c0.0', false)
  t.not(p.revision, revision, 'a removal moves it')
})

t.test('several checkers: down on the first failure, up only when all are up again', async (t) => {
  const p = makePool(virtualServer([realServer('10.0.0.2'), realServer('10.0.0.3')]), [[false, false, false], []])
  p.start()
  t.same(p.checkerVerdict('c0.1', false).lines, [`Removing service [10.0.0.2]:tcp:80 from VS ${VS}`])
  t.same(p.checkerVerdict('c0.2', false), { lines: [], events: [] })
  t.equal(p.status().realServers[0]!.failedCheckers, 2)
  t.same(p.checkerVerdict('c0.1', true), { lines: [], events: [] })
  t.same(poolOf(p), ['10.0.0.3=1'])
  t.same(p.checkerVerdict('c0.2', true).lines, [`Adding service [10.0.0.2]:tcp:80 to VS ${VS}`])
  t.same(p.status().realServers[0]!.checkers.map((c) => c.up), [true, true, true])
})

t.test('quorum with hysteresis: gained at quorum+hysteresis, lost below quorum-hysteresis, keepalived\'s lines', async (t) => {
  const servers = ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'].map((a) => realServer(a))
  const p = makePool(virtualServer(servers, { quorum: 3, hysteresis: 1 }), servers.map(() => [false]))
  const start = p.start()
  t.same(start.lines, [`Gained quorum 3+1=4 <= 4 for VS ${VS}`])
  const lines = (id: string, up: boolean) => p.checkerVerdict(id, up).lines
  t.same(lines('c0.0', false), [`Removing service [10.0.0.2]:tcp:80 from VS ${VS}`])
  t.same(lines('c1.0', false), [`Removing service [10.0.0.3]:tcp:80 from VS ${VS}`], 'sum 2 is not < 3-1')
  const lost = p.checkerVerdict('c2.0', false)
  t.same(lost.lines, [`Removing service [10.0.0.4]:tcp:80 from VS ${VS}`, `Lost quorum 3-1=2 > 1 for VS ${VS}`])
  t.same(eventsOf(lost), ['RS [10.0.0.4]:tcp:80 DOWN /down 10.0.0.4', 'VS DOWN /quorum-down'])
  t.same(poolOf(p), ['10.0.0.5=1'], 'without a sorry server the pool keeps what is alive')
  t.same(lines('c0.0', true), [`Adding service [10.0.0.2]:tcp:80 to VS ${VS}`])
  t.same(lines('c1.0', true), [`Adding service [10.0.0.3]:tcp:80 to VS ${VS}`], 'sum 3 is not >= 3+1')
  t.same(lines('c2.0', true), [`Adding service [10.0.0.4]:tcp:80 to VS ${VS}`, `Gained quorum 3+1=4 <= 4 for VS ${VS}`])
})

t.test('quorum never met at start without a sorry server: nothing is logged', async (t) => {
  const p = makePool(virtualServer([realServer('10.0.0.2')]), [[true]])
  t.same(p.start(), { lines: [], events: [] })
  t.equal(p.status().quorumUp, false)
})

t.test('sorry server: in on loss (Starting with quorum down at start), out on regain; changes below quorum not pushed', async (t) => {
  const a = realServer('10.0.0.2'), b = realServer('10.0.0.3')
  const p = makePool(virtualServer([a, b], { quorum: 2, sorryServer: sorryServer() }), [[true], [true]])
  const start = p.start()
  t.same(start.lines, [
    `Starting with quorum down 2-0=2 > 0 for VS ${VS}`,
    `Adding sorry server ${SORRY} to VS ${VS}`,
    `Removing alive servers from the pool for VS ${VS}`,
  ])
  t.same(eventsOf(start), ['VS DOWN /quorum-down'])
  t.same(poolOf(p), ['10.0.0.99=1'])
  t.same(p.checkerVerdict('c0.0', true).lines, [`Adding service [10.0.0.2]:tcp:80 to VS ${VS}`])
  t.same(poolOf(p), ['10.0.0.99=1'], 'recorded, not pushed: the sorry server still stands in')
  const gained = p.checkerVerdict('c1.0', true)
  t.same(gained.lines, [
    `Adding service [10.0.0.3]:tcp:80 to VS ${VS}`,
    `Gained quorum 2+0=2 <= 2 for VS ${VS}`,
    `Removing sorry server ${SORRY} from VS ${VS}`,
    `Adding alive servers to the pool for VS ${VS}`,
  ])
  t.same(poolOf(p), ['10.0.0.2=1', '10.0.0.3=1'])
  const lost = p.checkerVerdict('c0.0', false)
  t.same(lost.lines, [
    `Removing service [10.0.0.2]:tcp:80 from VS ${VS}`,
    `Lost quorum 2-0=2 > 1 for VS ${VS}`,
    `Adding sorry server ${SORRY} to VS ${VS}`,
    `Removing alive servers from the pool for VS ${VS}`,
  ])
  t.same(poolOf(p), ['10.0.0.99=1'])
  t.equal(p.status().sorryServerActive, true)
})

t.test('sorry_server_inhibit: pre-added at weight 0, Enabling on loss, Disabling on regain', async (t) => {
  const a = realServer('10.0.0.2', { inhibitOnFailure: true })
  const p = makePool(virtualServer([a], { sorryServer: sorryServer({ inhibit: true }) }), [[false]])
  p.start()
  t.same(poolOf(p), ['10.0.0.2=1', '10.0.0.99=0'])
  t.same(p.checkerVerdict('c0.0', false).lines, [
    `Disabling service [10.0.0.2]:tcp:80 of VS ${VS}`,
    `Lost quorum 1-0=1 > 0 for VS ${VS}`,
    `Enabling sorry server ${SORRY} to VS ${VS}`,
    `Removing alive servers from the pool for VS ${VS}`,
  ])
  t.same(poolOf(p), ['10.0.0.2=0', '10.0.0.99=1'])
  t.same(p.checkerVerdict('c0.0', true).lines, [
    `Enabling service [10.0.0.2]:tcp:80 of VS ${VS}`,
    `Gained quorum 1+0=1 <= 1 for VS ${VS}`,
    `Disabling sorry server ${SORRY} from VS ${VS}`,
    `Adding alive servers to the pool for VS ${VS}`,
  ])
  t.same(poolOf(p), ['10.0.0.2=1', '10.0.0.99=0'])
})

t.test('a sorry server that is also a real server is one destination', async (t) => {
  const a = realServer('10.0.0.2'), twin = realServer('10.0.0.99')
  const p = makePool(virtualServer([a, twin], { quorum: 2, sorryServer: sorryServer({ inhibit: true }) }), [[false], [false]])
  p.start()
  t.same(poolOf(p), ['10.0.0.2=1', '10.0.0.99=1'])
  p.checkerVerdict('c0.0', false)
  t.same(poolOf(p), ['10.0.0.99=1'])
})

t.test('dynamic weights: Changing weight lines, active/inactive, clamping, and their effect on quorum', async (t) => {
  const a = realServer('10.0.0.2'), b = realServer('10.0.0.3')
  const p = makePool(virtualServer([a, b], { quorum: 3 }), [[false], [false]])
  t.same(p.start().lines, [], 'quorum 3 is not met by weight 2')
  const up = p.checkerWeight('c0.0', 5)
  t.same(up.lines, [`Changing weight from 1 to 5 for active service [10.0.0.2]:tcp:80 of VS ${VS}`, `Gained quorum 3+0=3 <= 6 for VS ${VS}`])
  t.same(poolOf(p), ['10.0.0.2=5', '10.0.0.3=1'])
  t.same(p.checkerWeight('c0.0', 5), { lines: [], events: [] }, 'same weight: nothing')
  p.checkerVerdict('c1.0', false)
  t.same(p.checkerWeight('c1.0', 4).lines, [`Changing weight from 1 to 4 for inactive service [10.0.0.3]:tcp:80 of VS ${VS}`])
  const drop = p.checkerWeight('c0.0', -20)
  t.same(drop.lines, [`Changing weight from 5 to 0 for active service [10.0.0.2]:tcp:80 of VS ${VS}`, `Lost quorum 3-0=3 > 0 for VS ${VS}`])
  t.same(poolOf(p), ['10.0.0.2=0'])
  t.same(p.checkerWeight('c0.0', -1), { lines: [], events: [] }, 'an effective weight that clamps to the same weight logs nothing')
  t.equal(realWeight(2 ** 40), 2147483647)
})

t.test('shutdown with omega: every server shut down, down scripts (1 s budget) and quorum_down run', async (t) => {
  const a = realServer('10.0.0.2'), b = realServer('10.0.0.3', { inhibitOnFailure: true }), c = realServer('10.0.0.4')
  const p = makePool(virtualServer([a, b, c], { omega: true }), [[false], [false], [false]])
  p.start()
  p.checkerVerdict('c1.0', false)
  p.checkerVerdict('c2.0', false)
  const stop = p.shutdown()
  t.same(stop.lines, [
    `Shutting down service [10.0.0.2]:tcp:80 from VS ${VS}`,
    `Shutting down (inhibited) service [10.0.0.3]:tcp:80 from VS ${VS}`,
    `Shutting down service [10.0.0.4]:tcp:80 from VS ${VS}`,
  ])
  t.same(eventsOf(stop), ['RS [10.0.0.2]:tcp:80 DOWN /down 10.0.0.2 stopping', 'VS DOWN /quorum-down stopping'])
  t.same(poolOf(p), [])
  t.same(p.checkerVerdict('c0.0', true), { lines: [], events: [] }, 'results after shutdown are ignored')
  t.same(p.shutdown(), { lines: [], events: [] })
})

t.test('shutdown without omega: the lines, no scripts', async (t) => {
  const p = makePool(virtualServer([realServer('10.0.0.2')]), [[false]])
  p.start()
  const stop = p.shutdown()
  t.same(stop.lines, [`Shutting down service [10.0.0.2]:tcp:80 from VS ${VS}`])
  t.same(stop.events, [])
})

t.test('shutdown with omega while the sorry server stands in: displaced servers are not notified, quorum_down still is', async (t) => {
  const p = makePool(virtualServer([realServer('10.0.0.2'), realServer('10.0.0.3')], { omega: true, quorum: 2, sorryServer: sorryServer() }), [[false], [false]])
  p.start()
  p.checkerVerdict('c0.0', false)
  t.same(eventsOf(p.shutdown()), ['VS DOWN /quorum-down stopping'])
})

t.test('property: alive iff no failed checker, quorum state within its hysteresis band, pool without duplicates, pool changes move the revision', async (t) => {
  const step = fc.record({ rs: fc.nat(3), checker: fc.nat(1), up: fc.boolean(), weight: fc.option(fc.integer({ min: -3, max: 6 })) })
  fc.assert(fc.property(
    fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    fc.integer({ min: 1, max: 5 }), fc.nat(4), fc.boolean(), fc.boolean(), fc.array(step, { maxLength: 60 }),
    (alphas, quorum, hyst, withSorry, inhibit, steps) => {
      const servers = [0, 1, 2, 3].map((i) => realServer(`10.0.0.${i + 2}`, { weight: 2, inhibitOnFailure: inhibit && i % 2 === 0 }))
      const vs = virtualServer(servers, { quorum, hysteresis: Math.min(hyst, quorum - 1), sorryServer: withSorry ? sorryServer() : undefined })
      const p = makePool(vs, servers.map((_, i) => [alphas[2 * i]!, alphas[2 * i + 1]!]))
      p.start()
      let kernel = JSON.stringify(p.pool())
      for (const s of steps) {
        const id = `c${s.rs}.${s.checker}`
        const revision = p.revision
        if (s.weight !== null) p.checkerWeight(id, s.weight)
        else p.checkerVerdict(id, s.up)
        // The runtime reconciles only when the revision moved: an unmoved one must mean an unchanged pool.
        const now = JSON.stringify(p.pool())
        if (p.revision === revision && now !== kernel) return false
        kernel = now
        const st = p.status()
        if (st.realServers.some((rs, i) => p.isAlive(i) !== rs.alive)) return false
        for (const rs of st.realServers) {
          if (rs.alive !== (rs.failedCheckers === 0)) return false
          if (rs.failedCheckers !== rs.checkers.filter((c) => !c.up).length) return false
        }
        const { quorum: q, hysteresis: h } = vs
        if (st.quorumUp && !(st.weightSum > 0 && st.weightSum >= q - h)) return false
        if (!st.quorumUp && st.weightSum >= q + h) return false
        if (st.sorryServerActive !== (withSorry && !st.quorumUp)) return false
        const dests = p.pool().map((e) => e.server.address)
        if (new Set(dests).size !== dests.length) return false
      }
      return true
    },
  ), { numRuns: 300 })
  t.pass('held for 300 random runs')
})

/** A pool for a reload: real server i carried as `carried[i]` (undefined: new), its checker `c<i>.0` with `health[i]`. */
function resumedPool(vs: VirtualServer, carried: ({ alive: boolean; weight: number; effectiveWeight: number } | undefined)[], health: ({ up: boolean; hasRun: boolean } | undefined)[]): VirtualServerPool {
  return new VirtualServerPool({
    config: vs,
    text: VS,
    realServers: vs.realServers.map((rs, i) => ({
      config: rs,
      text: rsText(rs),
      checkers: [{ id: `c${i}.0`, alpha: false, ...(health[i] ? { initial: health[i] } : {}) }],
      ...(carried[i] ? { carried: carried[i] } : {}),
    })),
  })
}

t.test('resume (reload): kept state without a line; a new server joins silently; quorum kept', async (t) => {
  const vs = virtualServer([realServer('10.0.0.2'), realServer('10.0.0.3'), realServer('10.0.0.4')])
  const p = resumedPool(vs, [{ alive: true, weight: 1, effectiveWeight: 1 }, { alive: false, weight: 1, effectiveWeight: 1 }, undefined],
    [{ up: true, hasRun: true }, { up: false, hasRun: true }, undefined])
  const c = p.resume({ quorumUp: true, sorryAlive: false })
  t.same(c, { lines: [], events: [] }, 'nothing to say: the pool goes on')
  t.same(poolOf(p), ['10.0.0.2=1', '10.0.0.4=1'], 'the down one stays out, the new one is in')
  t.same(p.resume({ quorumUp: true, sorryAlive: false }), { lines: [], events: [] }, 'resume is once')
})

t.test('resume: a kept server whose failed checker went away comes up; a weight change is logged; one with a failed checker leaves silently', async (t) => {
  const vs = virtualServer([realServer('10.0.0.2', { weight: 4 }), realServer('10.0.0.3'), realServer('10.0.0.4')])
  const p = resumedPool(vs, [{ alive: true, weight: 1, effectiveWeight: 1 }, { alive: false, weight: 1, effectiveWeight: 1 }, { alive: true, weight: 1, effectiveWeight: 1 }],
    [{ up: true, hasRun: true }, { up: true, hasRun: false }, { up: false, hasRun: true }])
  const c = p.resume({ quorumUp: true, sorryAlive: false })
  t.same(c.lines, [`Changing weight from 1 to 4 for active service [10.0.0.2]:tcp:80 of VS ${VS}`, `Adding service [10.0.0.3]:tcp:80 to VS ${VS}`])
  t.same(eventsOf(c), ['RS [10.0.0.3]:tcp:80 UP /up 10.0.0.3'])
  t.same(poolOf(p), ['10.0.0.2=4', '10.0.0.3=1'])
})

t.test('retire: dropped servers\' lines and notifications; a removed virtual server loses its quorum', async (t) => {
  const a = realServer('10.0.0.2'), b = realServer('10.0.0.3', { inhibitOnFailure: true }), c = realServer('10.0.0.4')
  const p = makePool(virtualServer([a, b, c]), [[false], [false], [false]])
  p.start()
  p.checkerVerdict('c1.0', false)
  p.checkerVerdict('c2.0', false)
  const dropped = p.retire([1, 2])
  t.same(dropped.lines, ['service [10.0.0.3]:tcp:80 no longer exist', `Removing (inhibited) service [10.0.0.3]:tcp:80 from VS ${VS}`,
    'service [10.0.0.4]:tcp:80 no longer exist'], 'the inhibited one is in the kernel, the removed one is not')
  t.same(dropped.events, [])
  t.same(poolOf(p), ['10.0.0.2=1'], 'out of this pool for good')
  const all = p.retire('all')
  t.same(all.lines, [`Removing service [10.0.0.2]:tcp:80 from VS ${VS}`])
  t.same(eventsOf(all), ['RS [10.0.0.2]:tcp:80 DOWN /down 10.0.0.2', 'VS DOWN /quorum-down'])
  t.same(poolOf(p), [])
  t.same(p.retire('all'), { lines: [], events: [] })
})
