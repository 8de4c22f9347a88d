/**
 * A {@link Clock} whose timers fire in ticks: every timer due within the same
 * tick (10 ms in the checker process) runs from one timer of the clock
 * underneath, in one turn of the event loop, in the order it was set.
 *
 * The scheduler sets two timers per attempt (the next attempt, and the hard
 * deadline of the one in flight, cleared when it settles). With thousands of
 * checkers a second, one Node timer each — an object, a list insertion, and
 * mostly a turn of the event loop of its own — cost more than the probes
 * themselves, above all on a slow CPU. Here a timer is an entry in its tick's
 * bucket, and clearing one only marks it: nothing is searched.
 *
 * A timer never fires early: it fires at the end of the tick its due time
 * falls in, so up to one tick late (keepalived's own timers are no finer than
 * its event loop either; delay_loop and timeouts are whole seconds or tenths).
 */
import type { Clock, Timer } from './scheduler.js'

interface Entry extends Timer {
  readonly fn: () => void
  live: boolean
}

export class CoalescingClock implements Clock {
  /** Timers by tick number. */
  private readonly buckets = new Map<number, Entry[]>()
  /** Tick numbers that have a bucket, as a binary min-heap. */
  private readonly ticks: number[] = []
  private armedTick = Infinity
  private armed: Timer | undefined
  /** The last tick run: a timer set later goes in a tick after it, never back into one already run. */
  private lastFired = -Infinity

  /**
   * @param base  the clock underneath (its timers are the real ones)
   * @param tickUs  the resolution, in microseconds
   * @param onError  a timer callback that throws is reported here and the others still run
   */
  constructor(private readonly base: Clock, private readonly tickUs: number, private readonly onError: (err: unknown) => void = () => {}) {
    if (!(tickUs > 0)) throw new RangeError(`a tick must be positive, not ${tickUs}`)
  }

  now(): number {
    return this.base.now()
  }

  setTimer(delayUs: number, fn: () => void): Timer {
    const tick = Math.max(this.lastFired + 1, Math.ceil((this.base.now() + Math.max(0, delayUs)) / this.tickUs))
    const entry: Entry = { fn, live: true }
    const bucket = this.buckets.get(tick)
    if (bucket) bucket.push(entry)
    else {
      this.buckets.set(tick, [entry])
      this.push(tick)
      if (tick < this.armedTick) this.arm(tick)
    }
    return entry
  }

  clearTimer(timer: Timer): void {
    ;(timer as Entry).live = false
  }

  /** Timers set and not yet fired or cleared (tests look at it). */
  get pending(): number {
    let n = 0
    for (const bucket of this.buckets.values()) for (const e of bucket) if (e.live) n++
    return n
  }

  private arm(tick: number): void {
    if (this.armed !== undefined) this.base.clearTimer(this.armed)
    this.armedTick = tick
    this.armed = this.base.setTimer(Math.max(0, tick * this.tickUs - this.base.now()), () => this.fire())
  }

  private fire(): void {
    this.armed = undefined
    this.armedTick = Infinity
    const due = Math.floor(this.base.now() / this.tickUs)
    while (this.ticks.length > 0 && this.ticks[0]! <= due) {
      const tick = this.pop()
      const bucket = this.buckets.get(tick)!
      this.buckets.delete(tick)
      this.lastFired = tick
      // What the callbacks set, even with no delay, goes in a later tick: this loop always ends.
      for (const entry of bucket) {
        if (!entry.live) continue
        entry.live = false
        try {
          entry.fn()
        } catch (err) {
          this.onError(err)
        }
      }
    }
    if (this.ticks.length > 0) this.arm(this.ticks[0]!)
  }

  private push(tick: number): void {
    const h = this.ticks
    h.push(tick)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (h[parent]! <= tick) break
      h[i] = h[parent]!
      i = parent
    }
    h[i] = tick
  }

  private pop(): number {
    const h = this.ticks
    const top = h[0]!
    const last = h.pop()!
    if (h.length > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= h.length) break
        const c = l + 1 < h.length && h[l + 1]! < h[l]! ? l + 1 : l
        if (h[c]! >= last) break
        h[i] = h[c]!
        i = c
      }
      h[i] = last
    }
    return top
  }
}
