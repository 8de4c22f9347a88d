/** The per-checker retry state machine against keepalived's epilogs (check_tcp.c, check_udp.c, check_http.c, check_misc.c). */
import t from 'tap'
import fc from 'fast-check'
import {
  type CheckerState, DEFAULT_POLICY, detectionBoundUs, initialCheckerState, onOutcome, retryPolicy,
} from '../../../src/check/checker-state.js'
import type { CheckerLines, ProbeOutcome } from '../../../src/check/probe.js'
import type { CheckerTiming } from '../../../src/config/lvs/model.js'

const S = 1_000_000
const RS = '[10.0.0.2]:tcp:80'

function timing(over: Partial<CheckerTiming> = {}): CheckerTiming {
  return { retry: 2, delayBeforeRetry: 1 * S, warmup: 60 * S, delayLoop: 60 * S, alpha: false, logAllFailures: false, ...over }
}

/** tcp.ts's lines, as check_tcp.c prints them. */
const tcpLines: CheckerLines = {
  up: () => `TCP connection to ${RS} success.`,
  down: (_o, retry, firstRun) => (retry && !firstRun ? `TCP_CHECK on service ${RS} failed after ${retry} retries.` : `TCP_CHECK on service ${RS} failed.`),
}

const ok: ProbeOutcome = { ok: true, failure: undefined, latencyMs: 3 }
const timeout: ProbeOutcome = { ok: false, failure: `TCP connection to ${RS} timedout.`, latencyMs: 5000 }

/** A checker that has run and is up. */
const upAndRunning: CheckerState = { up: true, hasRun: true, retryIt: 0 }

t.test('initial state: alpha starts down, otherwise up; both with the retry counter exhausted', async (t) => {
  t.same(initialCheckerState(timing({ retry: 3 })), { up: true, hasRun: false, retryIt: 3 })
  t.same(initialCheckerState(timing({ retry: 3, alpha: true })), { up: false, hasRun: false, retryIt: 3 })
})

t.test('without alpha one failure at start is enough: down at once, "failed." without retries', async (t) => {
  const d = onOutcome(initialCheckerState(timing()), timeout, timing(), tcpLines)
  t.same(d.state, { up: false, hasRun: true, retryIt: 0 })
  t.equal(d.transition, 'down')
  t.equal(d.verdict, 'down')
  t.equal(d.nextDelayUs, 60 * S)
  t.same(d.log, [`TCP_CHECK on service ${RS} failed.`])
})

t.test('without alpha a first success logs the up line and reports a verdict, but is no transition', async (t) => {
  const d = onOutcome(initialCheckerState(timing()), ok, timing(), tcpLines)
  t.same(d.state, { up: true, hasRun: true, retryIt: 0 })
  t.equal(d.transition, undefined)
  t.equal(d.verdict, 'up')
  t.same(d.log, [`TCP connection to ${RS} success.`])
})

t.test('alpha: first success is a transition up; first failure a down verdict without transition', async (t) => {
  const tm = timing({ alpha: true })
  const up = onOutcome(initialCheckerState(tm), ok, tm, tcpLines)
  t.equal(up.transition, 'up')
  t.equal(up.verdict, 'up')
  t.same(up.log, [`TCP connection to ${RS} success.`])
  const down = onOutcome(initialCheckerState(tm), timeout, tm, tcpLines)
  t.equal(down.transition, undefined)
  t.equal(down.verdict, 'down')
  t.same(down.log, [`TCP_CHECK on service ${RS} failed.`])
  t.same(down.state, { up: false, hasRun: true, retryIt: 0 })
})

t.test('a success while up is silent and waits delay_loop', async (t) => {
  const d = onOutcome({ up: true, hasRun: true, retryIt: 1 }, ok, timing(), tcpLines)
  t.same(d, { state: upAndRunning, nextDelayUs: 60 * S, log: [], transition: undefined, verdict: undefined })
})

t.test('retry R: exactly R+1 failures in a row bring it down, delay_before_retry between them', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 6 }), (retry) => {
    const tm = timing({ retry, delayBeforeRetry: 3 * S, delayLoop: 20 * S })
    let s = upAndRunning
    const delays: number[] = []
    for (let i = 1; i <= retry; i++) {
      const d = onOutcome(s, timeout, tm, tcpLines)
      t.equal(d.transition, undefined)
      t.equal(d.state.up, true)
      t.same(d.log, [])
      delays.push(d.nextDelayUs)
      s = d.state
    }
    const last = onOutcome(s, timeout, tm, tcpLines)
    t.equal(last.transition, 'down')
    t.same(last.log, [retry ? `TCP_CHECK on service ${RS} failed after ${retry} retries.` : `TCP_CHECK on service ${RS} failed.`])
    t.same(delays, Array(retry).fill(3 * S))
    t.equal(last.nextDelayUs, 20 * S)
  }), { numRuns: 20 })
})

t.test('log_all_failures logs each retried attempt while up; the final one gets the down line only', async (t) => {
  const tm = timing({ retry: 1, logAllFailures: true })
  const first = onOutcome(upAndRunning, timeout, tm, tcpLines)
  t.same(first.log, [timeout.failure])
  const second = onOutcome(first.state, timeout, tm, tcpLines)
  t.same(second.log, [`TCP_CHECK on service ${RS} failed after 1 retries.`])
  // Once down, failures are silent.
  t.same(onOutcome(second.state, timeout, tm, tcpLines).log, [])
  // Without log_all_failures only the down line.
  const quiet = timing({ retry: 1 })
  t.same(onOutcome(onOutcome(upAndRunning, timeout, quiet, tcpLines).state, timeout, quiet, tcpLines).log,
    [`TCP_CHECK on service ${RS} failed after 1 retries.`])
})

t.test('a kind with its own retrying lines (MISC_CHECK) gets the attempt number and owns those lines', async (t) => {
  const calls: [number, number][] = []
  const misc: CheckerLines = {
    up: () => 'Misc check succeeded.',
    down: (_o, retry) => `Misc check failed after ${retry} retries.`,
    retrying: (_o, attempt, retry) => {
      calls.push([attempt, retry])
      return attempt === 2 ? undefined : `Misc check failed, retry ${attempt}/${retry}.`
    },
  }
  const tm = timing({ retry: 3, logAllFailures: true })
  let s = upAndRunning
  const logs: string[][] = []
  for (let i = 0; i < 4; i++) {
    const d = onOutcome(s, { ...timeout, failure: 'ignored when retrying() exists' }, tm, misc, retryPolicy('MISC_CHECK'))
    logs.push([...d.log])
    s = d.state
  }
  t.same(calls, [[1, 3], [2, 3], [3, 3]])
  t.same(logs, [['Misc check failed, retry 1/3.'], [], ['Misc check failed, retry 3/3.'], ['Misc check failed after 3 retries.']])
})

t.test('flapping: with retry >= 1 a success between failures resets the counter, so it never goes down', async (t) => {
  const tm = timing({ retry: 1 })
  let s = upAndRunning
  for (let i = 0; i < 10; i++) {
    const d = onOutcome(s, i % 2 ? ok : timeout, tm, tcpLines)
    t.equal(d.transition, undefined)
    t.same(d.log, [])
    s = d.state
  }
  t.equal(s.up, true)
})

t.test('flapping: with retry 0 every failure goes down and every success comes back, each logged', async (t) => {
  const tm = timing({ retry: 0 })
  let s = upAndRunning
  const transitions: (string | undefined)[] = []
  const lines: string[] = []
  for (let i = 0; i < 6; i++) {
    const d = onOutcome(s, i % 2 ? ok : timeout, tm, tcpLines)
    transitions.push(d.transition)
    lines.push(...d.log)
    s = d.state
  }
  t.same(transitions, ['down', 'up', 'down', 'up', 'down', 'up'])
  t.same(lines, [
    `TCP_CHECK on service ${RS} failed.`, `TCP connection to ${RS} success.`,
    `TCP_CHECK on service ${RS} failed.`, `TCP connection to ${RS} success.`,
    `TCP_CHECK on service ${RS} failed.`, `TCP connection to ${RS} success.`,
  ])
})

t.test('failures while down: TCP keeps cycling its retries, UDP/DNS wait delay_loop, HTTP the longer timer', async (t) => {
  const tm = timing({ retry: 2, delayBeforeRetry: 3 * S, delayLoop: 2 * S })
  const down: CheckerState = { up: false, hasRun: true, retryIt: 0 }
  const tcp = retryPolicy('TCP_CHECK')
  const delays: number[] = []
  let s = down
  for (let i = 0; i < 6; i++) {
    const d = onOutcome(s, timeout, tm, tcpLines, tcp)
    t.same(d.log, [])
    t.equal(d.verdict, undefined)
    delays.push(d.nextDelayUs)
    s = d.state
  }
  t.same(delays, [3 * S, 3 * S, 2 * S, 3 * S, 3 * S, 2 * S])
  t.equal(onOutcome(down, timeout, tm, tcpLines, retryPolicy('UDP_CHECK')).nextDelayUs, 2 * S)
  t.equal(onOutcome(down, timeout, tm, tcpLines, retryPolicy('DNS_CHECK')).nextDelayUs, 2 * S)
  t.equal(onOutcome(down, timeout, tm, tcpLines, retryPolicy('HTTP_GET')).nextDelayUs, 3 * S)
  // HTTP's final failure also waits the longer timer (failed_url is set).
  const http = onOutcome({ up: true, hasRun: true, retryIt: 2 }, timeout, tm, tcpLines, retryPolicy('HTTP_GET'))
  t.equal(http.transition, 'down')
  t.equal(http.nextDelayUs, 3 * S)
})

t.test('policies: TCP retries while down, MISC measures from the start, unknown kinds get the default', async (t) => {
  t.equal(retryPolicy('TCP_CHECK').retryWhileDown, true)
  t.equal(retryPolicy('MISC_CHECK').measureFrom, 'start')
  t.equal(retryPolicy('SSL_GET').downDelay, 'longer')
  t.same(retryPolicy('PING_CHECK'), DEFAULT_POLICY)
})

t.test('a dynamic weight is passed through, success or not', async (t) => {
  t.equal(onOutcome(upAndRunning, { ...ok, weight: 7 }, timing(), tcpLines).weight, 7)
  t.equal(onOutcome(upAndRunning, { ...timeout, weight: 0 }, timing(), tcpLines).weight, 0)
  t.notOk('weight' in onOutcome(upAndRunning, ok, timing(), tcpLines))
})

t.test('detection bound D + R x (C + B) + C', async (t) => {
  t.equal(detectionBoundUs({ delayLoop: 10 * S, retry: 2, delayBeforeRetry: 1 * S }, 3 * S), 10 * S + 2 * 4 * S + 3 * S)
  t.equal(detectionBoundUs({ delayLoop: 6 * S, retry: 0, delayBeforeRetry: 1 * S }, 5 * S), 11 * S)
})

t.test('a kind\'s notices are logged whatever the state, before the decision\'s lines; several up lines are kept in order', async (t) => {
  const lines: CheckerLines = { ...tcpLines, up: () => ['url(/) success', 'up'] }
  const notice = 'content_length mismatch'
  const quiet = onOutcome(upAndRunning, { ...ok, notices: [notice] }, timing(), lines)
  t.same(quiet.log, [notice], 'no transition: the notice alone')
  const back = onOutcome({ up: false, hasRun: true, retryIt: 0 }, { ...ok, notices: [notice] }, timing(), lines)
  t.same(back.log, [notice, 'url(/) success', 'up'])
  t.equal(back.transition, 'up')
})
