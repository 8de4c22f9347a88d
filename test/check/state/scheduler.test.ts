/** The checker scheduler under a simulated clock: start spread, bounded concurrency, deadlines, ha_suspend, removal, and the detection bound. */
import t from 'tap'
import fc from 'fast-check'
import { detectionBoundUs } from '../../../src/check/checker-state.js'
import type { CheckerLines, CheckerRunner, ProbeOutcome } from '../../../src/check/probe.js'
import { BOOTSTRAP_DELAY_US, CheckScheduler, type Clock, defaultDeadlineUs, type SchedulerOptions, type Timer } from '../../../src/check/scheduler.js'
import { VirtualServerPool } from '../../../src/check/virtual-server.js'
import type { CheckerTiming, LvsMethod, RealServer, VirtualServer } from '../../../src/config/lvs/model.js'

const S = 1_000_000
const MS = 1_000

interface FakeTimer extends Timer {
  at: number
  seq: number
  fn: () => void
  live: boolean
}

/** A simulated clock in microseconds; timers fire in time order, promise continuations run between them. */
class FakeClock implements Clock {
  private t = 0
  private seq = 0
  private heap: FakeTimer[] = []

  now(): number {
    return this.t
  }

  setTimer(delayUs: number, fn: () => void): Timer {
    const timer: FakeTimer = { at: this.t + Math.max(0, delayUs), seq: ++this.seq, fn, live: true }
    this.push(timer)
    return timer
  }

  clearTimer(timer: Timer): void {
    ;(timer as FakeTimer).live = false
  }

  /** A promise that settles after `us` of simulated time. */
  sleep(us: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(us, resolve))
  }

  async advanceTo(target: number): Promise<void> {
    await flush()
    for (;;) {
      const next = this.heap[0]
      if (!next || next.at > target) break
      this.pop()
      if (!next.live) continue
      this.t = next.at
      next.fn()
      await flush()
    }
    this.t = target
  }

  async advance(us: number): Promise<void> {
    await this.advanceTo(this.t + us)
  }

  private less(a: FakeTimer, b: FakeTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq)
  }

  private push(x: FakeTimer): void {
    const h = this.heap
    h.push(x)
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1
      if (!this.less(h[i]!, h[p]!)) break
      ;[h[i], h[p]] = [h[p]!, h[i]!]
      i = p
    }
  }

  private pop(): void {
    const h = this.heap
    const last = h.pop()!
    if (h.length === 0) return
    h[0] = last
    for (let i = 0; ;) {
      const l = 2 * i + 1, r = l + 1
      let m = i
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r
      if (m === i) break
      ;[h[i], h[m]] = [h[m]!, h[i]!]
      i = m
    }
  }
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve))

/** A seeded PRNG (mulberry32), so the spread tests are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

function timing(over: Partial<CheckerTiming> = {}): CheckerTiming {
  return { retry: 1, delayBeforeRetry: 1 * S, warmup: 0, delayLoop: 10 * S, alpha: false, logAllFailures: false, ...over }
}

const lines = (rs: string): CheckerLines => ({
  up: () => `TCP connection to ${rs} success.`,
  down: (_o, retry, firstRun) => (retry && !firstRun ? `TCP_CHECK on service ${rs} failed after ${retry} retries.` : `TCP_CHECK on service ${rs} failed.`),
})

/** A runner whose probe is `probe`; its target text is `[<id>]:tcp:80`. */
function runner(id: string, probe: CheckerRunner['probe'], over: Partial<CheckerTiming> = {}, kind = 'TCP_CHECK'): CheckerRunner {
  const text = `[${id}]:tcp:80`
  return {
    kind, id, timing: timing(over), lines: lines(text), probe,
    target: { address: id, port: 80, family: 4, protocol: 'TCP', text, vsText: '[10.0.0.1]:tcp:80', virtualhost: undefined },
  }
}

const success = (latencyMs = 0): ProbeOutcome => ({ ok: true, failure: undefined, latencyMs })
const failed: ProbeOutcome = { ok: false, failure: undefined, latencyMs: 0 }

function setup(over: Partial<SchedulerOptions> = {}) {
  const clock = new FakeClock()
  const logged: string[] = []
  const scheduler = new CheckScheduler({ clock, random: seeded(1), log: (l) => logged.push(l), ...over })
  return { clock, logged, scheduler }
}

t.test('the first run comes 1 s + random(0..warmup) after add; Activating is logged', async (t) => {
  const { clock, logged, scheduler } = setup({ random: () => 0.5 })
  const runs: number[] = []
  scheduler.add(runner('a', async () => (runs.push(clock.now()), success()), { warmup: 4 * S }))
  t.same(logged, ['Activating healthchecker for service [a]:tcp:80 for VS [10.0.0.1]:tcp:80'])
  t.equal(scheduler.status('a')!.nextRunAt, BOOTSTRAP_DELAY_US + 2 * S)
  await clock.advanceTo(3 * S - 1)
  t.same(runs, [])
  await clock.advanceTo(3 * S)
  t.same(runs, [3 * S])
  t.throws(() => scheduler.add(runner('a', async () => success())), 'ids are unique')
})

t.test('10,000 checkers: first runs spread over the warmup, never more than maxConcurrent in flight', async (t) => {
  const warmup = 60 * S
  let inFlight = 0, maxInFlight = 0
  const firstRun = new Map<string, number>()
  const { clock, scheduler } = setup({ random: seeded(42) })
  for (let i = 0; i < 10_000; i++) {
    const id = `10.1.${i >> 8}.${i & 255}`
    scheduler.add(runner(id, async () => {
      if (!firstRun.has(id)) firstRun.set(id, clock.now())
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      await clock.sleep(20 * MS)
      inFlight--
      return success(20)
    }, { warmup, delayLoop: 60 * S }))
  }
  await clock.advanceTo(BOOTSTRAP_DELAY_US + warmup + 1 * S)
  t.equal(firstRun.size, 10_000, 'every checker ran once')
  const times = [...firstRun.values()]
  t.ok(Math.min(...times) >= BOOTSTRAP_DELAY_US)
  t.ok(Math.max(...times) <= BOOTSTRAP_DELAY_US + warmup + 20 * MS)
  const perSecond = new Array<number>(61).fill(0)
  for (const at of times) perSecond[Math.min(60, Math.floor((at - BOOTSTRAP_DELAY_US) / S))]!++
  t.ok(Math.max(...perSecond) < 250, `no burst: at most ${Math.max(...perSecond)} first runs in any second (mean 164)`)
  t.ok(maxInFlight <= 256)
})

t.test('a saturated scheduler queues: in flight never exceeds maxConcurrent, everyone still runs', async (t) => {
  let inFlight = 0, maxInFlight = 0, maxQueued = 0
  const ran = new Set<string>()
  const { clock, scheduler } = setup({ maxConcurrent: 16 })
  for (let i = 0; i < 500; i++) {
    scheduler.add(runner(`r${i}`, async () => {
      ran.add(`r${i}`)
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      maxQueued = Math.max(maxQueued, scheduler.stats().queued)
      await clock.sleep(2 * S)
      inFlight--
      return success(2000)
    }, { warmup: 10 * S, delayLoop: 600 * S }))
  }
  await clock.advanceTo(100 * S)
  t.equal(maxInFlight, 16)
  t.ok(maxQueued > 100, `the queue held ${maxQueued}`)
  t.equal(ran.size, 500)
  t.same(scheduler.stats(), { checkers: 500, inFlight: 0, queued: 0 })
})

t.test('a probe that never settles holds one slot until its deadline, then is aborted and counts as a failure', async (t) => {
  let signal: AbortSignal | undefined
  const fastRuns: number[] = []
  const verdicts: string[] = []
  const { clock, logged, scheduler } = setup({
    maxConcurrent: 2,
    deadlineUs: () => 8 * S,
    onTransition: (id, up) => verdicts.push(`${id} ${up ? 'up' : 'down'} @${clock.now() / S}`),
  })
  scheduler.add(runner('hung', (s) => ((signal = s), new Promise<ProbeOutcome>(() => {})), { retry: 0 }))
  scheduler.add(runner('fast', async () => (fastRuns.push(clock.now() / S), success()), { delayLoop: 2 * S }))
  await clock.advanceTo(12 * S)
  t.same(fastRuns, [1, 3, 5, 7, 9, 11], 'the other checker keeps its cadence')
  t.equal(signal?.aborted, true)
  t.same(verdicts, ['fast up @1', 'hung down @9'])
  t.ok(logged.includes('TCP_CHECK on service [hung]:tcp:80 of VS [10.0.0.1]:tcp:80: attempt did not settle in 8000 ms - aborted'))
  t.ok(logged.includes('TCP_CHECK on service [hung]:tcp:80 failed.'))
  t.equal(scheduler.status('hung')!.inFlight, false)
})

t.test('a checker\'s attempts share one signal until one is aborted; the next attempt gets a fresh one', async (t) => {
  const signals: AbortSignal[] = []
  let hang = false
  const { clock, scheduler } = setup({ deadlineUs: () => 4 * S })
  scheduler.add(runner('a', (s) => {
    signals.push(s)
    return hang ? new Promise<ProbeOutcome>(() => {}) : Promise.resolve(success())
  }, { delayLoop: 2 * S, retry: 0 }))
  scheduler.add(runner('b', (s) => (signals.push(s), Promise.resolve(success())), { delayLoop: 2 * S }))
  await clock.advanceTo(6 * S)
  const [a1, b1, a2] = signals
  t.equal(signals.length, 6)
  t.equal(a1, a2, 'the same signal for the next attempt')
  t.not(a1, b1, 'each checker has its own')
  hang = true
  await clock.advanceTo(12 * S)
  t.equal(a1!.aborted, true, 'the attempt past its deadline aborted it')
  hang = false
  await clock.advanceTo(16 * S)
  const last = signals.filter((s) => s !== b1).at(-1)!
  t.not(last, a1, 'a fresh signal after the abort')
  t.equal(last.aborted, false)
})

t.test('the default deadline: twice connect_timeout (or misc_timeout, or delay_loop) plus 5 s', async (t) => {
  const r = runner('x', async () => success())
  t.equal(defaultDeadlineUs({ ...r, timing: { ...r.timing, connectTimeout: 3 * S } as CheckerTiming }), 11 * S)
  t.equal(defaultDeadlineUs({ ...r, timing: { ...r.timing, kind: 'MISC_CHECK', timeout: 4 } as CheckerTiming }), 13 * S)
  t.equal(defaultDeadlineUs(r), 25 * S)
})

t.test('ha_suspend: suspended checkers skip their attempts, keep their state, resume within delay_loop', async (t) => {
  const runs: number[] = []
  const { clock, logged, scheduler } = setup()
  scheduler.add(runner('a', async () => (runs.push(clock.now() / S), success()), { delayLoop: 5 * S }))
  scheduler.add(runner('b', async () => success()), { suspended: true })
  t.same(logged, [
    'Activating healthchecker for service [a]:tcp:80 for VS [10.0.0.1]:tcp:80',
    'Deactivating healthchecker for service [b]:tcp:80 for VS [10.0.0.1]:tcp:80',
  ])
  await clock.advanceTo(7 * S)
  t.same(runs, [1, 6])
  scheduler.suspend(['a', 'b'])
  scheduler.suspend(['a'])
  t.same(logged.slice(2), ['TCP connection to [a]:tcp:80 success.', 'Suspending healthchecker for service [a]:tcp:80 for VS [10.0.0.1]:tcp:80'])
  await clock.advanceTo(20 * S)
  t.same(runs, [1, 6], 'no attempt while suspended')
  t.equal(scheduler.status('a')!.state.up, true)
  scheduler.resume(['a', 'b'])
  t.same(logged.slice(4), [
    'Activating healthchecker for service [a]:tcp:80 for VS [10.0.0.1]:tcp:80',
    'Activating healthchecker for service [b]:tcp:80 for VS [10.0.0.1]:tcp:80',
  ])
  await clock.advanceTo(26 * S)
  t.same(runs, [1, 6, 21, 26])
})

t.test('remove aborts the attempt in flight, and its late result is ignored', async (t) => {
  let signal: AbortSignal | undefined
  let calls = 0
  const results: string[] = []
  const { clock, scheduler } = setup({ onResult: (id) => results.push(id) })
  scheduler.add(runner('a', (s) => ((signal = s), calls++, clock.sleep(3 * S).then(() => success()))))
  await clock.advanceTo(2 * S)
  t.same(scheduler.stats(), { checkers: 1, inFlight: 1, queued: 0 })
  scheduler.remove('a')
  t.equal(signal?.aborted, true)
  t.same(scheduler.stats(), { checkers: 0, inFlight: 0, queued: 0 })
  await clock.advanceTo(60 * S)
  t.equal(calls, 1)
  t.same(results, [])
  t.equal(scheduler.status('a'), undefined)
})

t.test('remove takes a queued checker out of the queue', async (t) => {
  const runs: string[] = []
  const { clock, scheduler } = setup({ maxConcurrent: 1 })
  scheduler.add(runner('slow', () => (runs.push('slow'), clock.sleep(5 * S).then(() => success()))))
  scheduler.add(runner('queued', async () => (runs.push('queued'), success())))
  await clock.advanceTo(2 * S)
  t.equal(scheduler.status('queued')!.queued, true)
  scheduler.remove('queued')
  await clock.advanceTo(20 * S)
  t.same(runs, ['slow', 'slow'])
})

t.test('stop aborts everything and accepts no more', async (t) => {
  const signals: AbortSignal[] = []
  let calls = 0
  const { clock, scheduler } = setup()
  for (const id of ['a', 'b', 'c']) scheduler.add(runner(id, (s) => (signals.push(s), calls++, clock.sleep(4 * S).then(() => success()))))
  await clock.advanceTo(2 * S)
  scheduler.stop()
  t.same(signals.map((s) => s.aborted), [true, true, true])
  scheduler.add(runner('d', async () => (calls++, success())))
  await clock.advanceTo(100 * S)
  t.equal(calls, 3)
  t.same(scheduler.stats(), { checkers: 0, inFlight: 0, queued: 0 })
})

t.test('callbacks in keepalived\'s order: weight, lines, verdict, result; a throwing one does not stop scheduling', async (t) => {
  const order: string[] = []
  const { clock, scheduler } = setup({
    log: (l) => order.push(`log ${l}`),
    onWeight: (id, w) => order.push(`weight ${id} ${w}`),
    onTransition: (id, up) => {
      order.push(`verdict ${id} ${up}`)
      throw new Error('boom')
    },
    onResult: (id, o) => order.push(`result ${id} ${o.ok}`),
  })
  let n = 0
  scheduler.add(runner('m', async () => ({ ...success(), weight: 3 + n++ }), { delayLoop: 5 * S }, 'MISC_CHECK'))
  await clock.advanceTo(6 * S)
  t.same(order, [
    'log Activating healthchecker for service [m]:tcp:80 for VS [10.0.0.1]:tcp:80',
    'weight m 3', 'log TCP connection to [m]:tcp:80 success.', 'verdict m true', 'log Checker callback failed: boom', 'result m true',
    'weight m 4', 'result m true',
  ])
})

t.test('MISC_CHECK measures delay_loop from the start of the attempt, the others from its end', async (t) => {
  const starts: Record<string, number[]> = { misc: [], tcp: [] }
  const { clock, scheduler } = setup()
  const slow = (id: string) => async () => (starts[id]!.push(clock.now() / S), await clock.sleep(2 * S), success(2000))
  scheduler.add(runner('misc', slow('misc'), { delayLoop: 10 * S }, 'MISC_CHECK'))
  scheduler.add(runner('tcp', slow('tcp'), { delayLoop: 10 * S }))
  await clock.advanceTo(40 * S)
  t.same(starts, { misc: [1, 11, 21, 31], tcp: [1, 13, 25, 37] })
})

/** A TCP checker against a server that dies at `deathAt`: an attempt answers at once while alive, times out after C once dead. */
async function detection(p: { delayLoop: number; retry: number; connect: number; dbr: number; deathAt: number }): Promise<{ removedAt: number | undefined; lines: string[] }> {
  const clock = new FakeClock()
  const logged: string[] = []
  const nat: LvsMethod = { kind: 'NAT', tunnelType: undefined, tunnelPort: undefined, tunnelChecksum: undefined }
  const rs = { address: '10.0.0.2', port: 80, weight: 1, inhibitOnFailure: false, notifyUp: undefined, notifyDown: undefined } as RealServer
  const vs = { quorum: 1, hysteresis: 0, omega: false, sorryServer: undefined, lvsMethod: nat, realServers: [rs] } as unknown as VirtualServer
  const pool = new VirtualServerPool({ config: vs, text: '[10.0.0.1]:tcp:80', realServers: [{ config: rs, text: '[10.0.0.2]:tcp:80', checkers: [{ id: '10.0.0.2', alpha: false }] }] })
  let removedAt: number | undefined
  const scheduler = new CheckScheduler({
    clock, random: () => 0, log: (l) => logged.push(l),
    onTransition: (id, up) => {
      for (const line of pool.checkerVerdict(id, up).lines) {
        logged.push(line)
        if (line.startsWith('Removing service') && removedAt === undefined) removedAt = clock.now()
      }
    },
  })
  pool.start()
  const r = runner('10.0.0.2', async () => {
    if (clock.now() < p.deathAt) return success()
    await clock.sleep(p.connect)
    return { ok: false, failure: 'TCP connection to [10.0.0.2]:tcp:80 timedout.', latencyMs: p.connect / MS }
  }, { delayLoop: p.delayLoop, retry: p.retry, delayBeforeRetry: p.dbr, warmup: 0 })
  scheduler.add({ ...r, timing: { ...r.timing, connectTimeout: p.connect } as CheckerTiming })
  await clock.advanceTo(p.deathAt + detectionBoundUs({ delayLoop: p.delayLoop, retry: p.retry, delayBeforeRetry: p.dbr }, p.connect) + 1)
  scheduler.stop()
  return { removedAt, lines: logged }
}

t.test('detection bound: dead right after a success, removed exactly D + R x (C + B) + C later', async (t) => {
  // D 10 s, R 2, C 3 s, B 1 s: attempts at 1 s (ok), 11 s, 15 s, 19 s (each failing 3 s later).
  const { removedAt, lines } = await detection({ delayLoop: 10 * S, retry: 2, connect: 3 * S, dbr: 1 * S, deathAt: 1 * S + 1 })
  t.equal(removedAt, 1 * S + 10 * S + 2 * (3 * S + 1 * S) + 3 * S)
  t.same(lines.slice(-3), [
    'TCP_CHECK on service [10.0.0.2]:tcp:80 failed after 2 retries.',
    'Removing service [10.0.0.2]:tcp:80 from VS [10.0.0.1]:tcp:80',
    'Lost quorum 1-0=1 > 0 for VS [10.0.0.1]:tcp:80',
  ])
})

t.test('detection bound holds whenever the server dies', async (t) => {
  await fc.assert(fc.asyncProperty(
    fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 5 }),
    fc.integer({ min: 1, max: 100_000 }),
    async (d, retry, c, b, deathMs) => {
      const p = { delayLoop: d * S, retry, connect: c * S, dbr: b * S, deathAt: BOOTSTRAP_DELAY_US + deathMs * MS }
      const { removedAt } = await detection(p)
      const bound = detectionBoundUs({ delayLoop: p.delayLoop, retry, delayBeforeRetry: p.dbr }, p.connect)
      return removedAt !== undefined && removedAt > p.deathAt && removedAt - p.deathAt <= bound
    },
  ), { numRuns: 60 })
  t.pass('removed within the bound in 60 random runs')
})
