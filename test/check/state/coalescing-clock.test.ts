/** CoalescingClock: timers gathered into ticks over one timer of the clock underneath. */
import t from 'tap'
import fc from 'fast-check'
import { CoalescingClock } from '../../../src/check/coalescing-clock.js'
import type { Clock, Timer } from '../../../src/check/scheduler.js'

interface BaseTimer extends Timer {
  at: number
  fn: () => void
  live: boolean
}

/** The clock underneath: microseconds, timers run in time order by advanceTo; counts what was asked of it. */
class BaseClock implements Clock {
  t = 0
  timers: BaseTimer[] = []
  sets = 0

  now(): number {
    return this.t
  }

  setTimer(delayUs: number, fn: () => void): Timer {
    this.sets++
    const timer: BaseTimer = { at: this.t + Math.max(0, delayUs), fn, live: true }
    this.timers.push(timer)
    return timer
  }

  clearTimer(timer: Timer): void {
    ;(timer as BaseTimer).live = false
  }

  get live(): number {
    return this.timers.filter((x) => x.live).length
  }

  advanceTo(target: number): void {
    for (let guard = 0; guard < 100_000; guard++) {
      const next = this.timers.filter((x) => x.live).sort((a, b) => a.at - b.at)[0]
      if (!next || next.at > target) break
      next.live = false
      this.t = Math.max(this.t, next.at)
      next.fn()
    }
    this.t = Math.max(this.t, target)
  }
}

const TICK = 10_000

function setup() {
  const base = new BaseClock()
  const errors: unknown[] = []
  const clock = new CoalescingClock(base, TICK, (e) => errors.push(e))
  const fired: string[] = []
  const at = (name: string) => () => fired.push(`${name}@${base.now()}`)
  return { base, clock, fired, at, errors }
}

t.test('a timer fires at the end of the tick its due time falls in: never early, at most one tick late', async (t) => {
  const { base, clock, fired, at } = setup()
  base.t = 3_000
  clock.setTimer(0, at('a'))
  clock.setTimer(6_999, at('b'))
  clock.setTimer(7_000, at('c'))
  clock.setTimer(7_001, at('d'))
  clock.setTimer(25_000, at('e'))
  base.advanceTo(100_000)
  t.same(fired, ['a@10000', 'b@10000', 'c@10000', 'd@20000', 'e@30000'])
})

t.test('every timer of a tick runs from one timer underneath, in the order set', async (t) => {
  const { base, clock, fired, at } = setup()
  for (let i = 0; i < 100; i++) clock.setTimer(1_000 + i * 50, at(`t${i}`))
  t.equal(base.sets, 1, 'one timer underneath for a hundred')
  base.advanceTo(TICK)
  t.same(fired, Array.from({ length: 100 }, (_, i) => `t${i}@10000`))
  t.equal(base.live, 0, 'nothing left armed underneath')
})

t.test('an earlier tick re-arms the timer underneath; a cleared timer never fires', async (t) => {
  const { base, clock, fired, at } = setup()
  clock.setTimer(50_000, at('late'))
  const early = clock.setTimer(5_000, at('early'))
  const kept = clock.setTimer(5_000, at('kept'))
  t.equal(base.live, 1)
  t.equal(clock.pending, 3)
  clock.clearTimer(early)
  t.equal(clock.pending, 2)
  base.advanceTo(100_000)
  t.same(fired, ['kept@10000', 'late@50000'])
  t.equal(clock.pending, 0)
  clock.clearTimer(kept)
  t.pass('clearing a timer that already fired does nothing')
})

t.test('a timer set from a callback, even with no delay, runs in a later tick: the loop ends', async (t) => {
  const { base, clock, fired } = setup()
  let runs = 0
  const again = (): void => {
    fired.push(`run@${base.now()}`)
    if (++runs < 3) clock.setTimer(0, again)
  }
  clock.setTimer(0, again)
  base.advanceTo(100_000)
  t.same(fired, ['run@0', 'run@10000', 'run@20000'])
})

t.test('a throwing callback is reported; the others of its tick still run', async (t) => {
  const { base, clock, fired, at, errors } = setup()
  clock.setTimer(1_000, () => {
    throw new Error('boom')
  })
  clock.setTimer(2_000, at('after'))
  base.advanceTo(TICK)
  t.same(fired, ['after@10000'])
  t.equal((errors[0] as Error).message, 'boom')
})

t.test('property: each live timer fires once, no earlier than due and less than a tick after; cleared ones never', async (t) => {
  const op = fc.record({ delay: fc.integer({ min: 0, max: 80_000 }), clearAfter: fc.option(fc.integer({ min: 0, max: 90_000 })), step: fc.integer({ min: 0, max: 15_000 }) })
  fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
    const { base, clock } = setup()
    const seen = new Map<number, number[]>()
    const due = new Map<number, number>()
    const cleared = new Set<number>()
    const clears: { at: number; id: number; timer: Timer }[] = []
    ops.forEach((o, id) => {
      base.advanceTo(base.now() + o.step)
      // Clears due by now happen first, in time order.
      for (const c of clears.filter((c) => c.at <= base.now())) {
        if (!seen.has(c.id)) cleared.add(c.id)
        clock.clearTimer(c.timer)
      }
      clears.splice(0, clears.length, ...clears.filter((c) => c.at > base.now()))
      due.set(id, base.now() + o.delay)
      const timer = clock.setTimer(o.delay, () => seen.set(id, [...(seen.get(id) ?? []), base.now()]))
      if (o.clearAfter !== null) clears.push({ at: base.now() + o.clearAfter, id, timer })
    })
    base.advanceTo(base.now() + 200_000)
    for (const [id, when] of due) {
      const times = seen.get(id) ?? []
      if (cleared.has(id)) {
        if (times.length !== 0) return false
        continue
      }
      if (times.length !== 1) return false
      if (times[0]! < when || times[0]! >= when + TICK) return false
    }
    return true
  }), { numRuns: 300 })
  t.pass('held for 300 random runs')
})
