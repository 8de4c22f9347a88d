/** GARP / NA pacing under a simulated clock: spacing per interface and family, cancel on leaving MASTER. */
import t from 'tap'
import { FramePacer, type PacedFrame, type PacerClock } from '../../src/vrrp/garp-pacer.js'

function fakeClock(): PacerClock & { advance(ms: number): void } {
  let now = 0
  let id = 0
  const timers = new Map<number, { at: number; fn: () => void }>()
  return {
    now: () => now * 1000,
    setTimeout(fn, ms) {
      timers.set(++id, { at: now + ms, fn })
      return id
    },
    clearTimeout(h) {
      timers.delete(h as number)
    },
    advance(ms) {
      const end = now + ms
      for (;;) {
        const due = [...timers.entries()].filter(([, v]) => v.at <= end).sort((a, b) => a[1].at - b[1].at)[0]
        if (!due) break
        timers.delete(due[0])
        now = due[1].at
        due[1].fn()
      }
      now = end
    },
  }
}

const frame = (ifindex: number, family: 4 | 6, frame: string): PacedFrame<string> => ({ ifindex, family, frame })

t.test('interval 0: every frame goes at once', async (t) => {
  const clock = fakeClock()
  const sent: string[] = []
  const pacer = new FramePacer<string>((f) => sent.push(f.frame), { garp: 0, gna: 0 }, clock)
  pacer.queue('VI_1', [frame(2, 4, 'a'), frame(2, 4, 'b'), frame(2, 6, 'c')])
  t.same(sent, ['a', 'b', 'c'])
  t.equal(pacer.pending(), 0)
})

t.test('frames on one interface are spaced by the interval; other interfaces and families are not held up', async (t) => {
  const clock = fakeClock()
  const sent: [number, string][] = []
  const pacer = new FramePacer<string>((f) => sent.push([clock.now() / 1000, f.frame]), { garp: 10_000, gna: 20_000 }, clock)
  pacer.queue('VI_1', [frame(2, 4, 'a1'), frame(2, 4, 'a2'), frame(3, 4, 'b1'), frame(2, 6, 'n1'), frame(2, 6, 'n2')])
  pacer.queue('VI_2', [frame(2, 4, 'a3')])
  t.same(sent, [[0, 'a1'], [0, 'b1'], [0, 'n1']], 'the first of each interface and family goes at once')
  t.equal(pacer.pending('VI_1'), 2)
  t.equal(pacer.pending('VI_2'), 1)
  clock.advance(100)
  t.same(sent.slice(3), [[10, 'a2'], [20, 'n2'], [20, 'a3']], 'then 10 ms apart for GARPs, 20 ms for NAs, across instances')
  t.equal(pacer.pending(), 0)
})

t.test('cancel drops what an instance still has queued, and only that', async (t) => {
  const clock = fakeClock()
  const sent: string[] = []
  const pacer = new FramePacer<string>((f) => sent.push(f.frame), { garp: 10_000, gna: 0 }, clock)
  pacer.queue('VI_1', [frame(2, 4, 'a1'), frame(2, 4, 'a2'), frame(2, 4, 'a3')])
  pacer.queue('VI_2', [frame(2, 4, 'b1')])
  pacer.cancel('VI_1')
  pacer.cancel('nobody')
  clock.advance(100)
  t.same(sent, ['a1', 'b1'])
})
