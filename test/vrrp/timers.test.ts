/** Skew_Time and Master_Down_Interval with keepalived's integer arithmetic (reference §5.3). */
import t from 'tap'
import { minimumSkewTime, skewTime, vrrpTimers } from '../../src/vrrp/timers.js'

t.test('v2: (256 - priority) / 256 s, truncated to µs, whatever the interval', async (t) => {
  t.equal(skewTime(2, 150, 1_000_000), 414_062, '106/256 s = 414062.5 µs, truncated')
  t.equal(skewTime(2, 100, 1_000_000), 609_375, 'the ~0.6 s takeover after priority 0 (§4.5)')
  t.equal(skewTime(2, 100, 5_000_000), 609_375, 'RFC 3768: the v2 skew ignores the interval')
  t.equal(skewTime(2, 255, 1_000_000), 3_906)
})

t.test('v2: the live figure, priority 150 at 1 s waits 3.414 s', async (t) => {
  t.same(vrrpTimers({ version: 2, priority: 150, masterAdverInt: 1_000_000, downTimerAdverts: 3 }),
    { skewTime: 414_062, masterDownInterval: 3_414_062 })
})

t.test('v3: RFC 5798 example, priority 200 at 1000 ms: keepalived gives 218.75 ms, not FRR 210 ms', async (t) => {
  const timers = vrrpTimers({ version: 3, priority: 200, masterAdverInt: 1_000_000, downTimerAdverts: 3 })
  t.same(timers, { skewTime: 218_750, masterDownInterval: 3_218_750 })
})

t.test('v3: computed from whole centiseconds, prio * adv_cs * 625 / 16 truncated', async (t) => {
  t.equal(skewTime(3, 100, 500_000), Math.floor((156 * 50 * 625) / 16), '0.5 s')
  t.equal(skewTime(3, 100, 500_000), 304_687)
  t.equal(skewTime(3, 254, 10_000), 78, '2 × 1 cs × 625 / 16 = 78.125, truncated')
})

t.test('down_timer_adverts scales the interval, not the skew', async (t) => {
  t.equal(vrrpTimers({ version: 2, priority: 100, masterAdverInt: 2_000_000, downTimerAdverts: 5 }).masterDownInterval, 10_609_375)
})

t.test('minimum skew is priority 255s', async (t) => {
  t.equal(minimumSkewTime(2, 1_000_000), 3_906)
  t.equal(minimumSkewTime(3, 1_000_000), 3_906, '100 cs × 625 / 16 = 3906.25')
})
