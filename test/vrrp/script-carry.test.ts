/**
 * A vrrp_script's verdict across SIGHUP (keepalived vrrp.c clear_diff_script):
 * good stays good and bad stays bad in the new rise / fall, with keepalived's
 * line; a script still waiting for its first result keeps waiting.
 */
import t from 'tap'
import type { SourcePosition } from '../../src/config/diagnostics.js'
import type { VrrpScript } from '../../src/config/vrrp/model.js'
import { carryScriptTracker, createScriptTracker, scriptRan, scriptStatus } from '../../src/vrrp/script-tracker.js'

const POS: SourcePosition = { file: '/k.conf', line: 1, col: 1 }

function script(rise: number, fall: number): VrrpScript {
  return {
    pos: POS, name: 'chk', script: { command: '/bin/chk', user: undefined, group: undefined },
    interval: 1_000_000, timeout: 1_000_000, weight: 0, reverse: false, rise, fall, initFail: false,
  }
}

t.test('good stays good, bad stays bad, with keepalived\'s lines', async (t) => {
  let good = createScriptTracker(script(2, 3))
  for (let i = 0; i < 3; i++) good = scriptRan(good, { kind: 'exited', status: 0 }).state
  t.equal(scriptStatus(good), 'ok')
  const carried = carryScriptTracker(good, script(5, 1))
  t.equal(carried.log, 'VRRP_Script(chk) considered successful on reload')
  t.equal(scriptStatus(carried.state), 'ok')
  t.equal(carried.state.result, 5, 'at the top of the new range: rise + fall - 1')
  // One failure with fall 1 now takes it down: the new fall applies.
  t.equal(scriptStatus(scriptRan(carried.state, { kind: 'exited', status: 1 }).state), 'failed')

  let bad = createScriptTracker(script(2, 2))
  bad = scriptRan(bad, { kind: 'exited', status: 1 }).state
  t.equal(scriptStatus(bad), 'failed')
  const b = carryScriptTracker(bad, script(3, 3))
  t.equal(b.log, 'VRRP_Script(chk) considered unsuccessful on reload')
  t.equal(scriptStatus(b.state), 'failed')
  t.equal(b.state.lastStatus, 1, 'the last exit status is kept (no second "now returning" line)')
})

t.test('a script without a result yet stays in init, silently', async (t) => {
  const r = carryScriptTracker(createScriptTracker(script(1, 1)), script(2, 2))
  t.equal(r.log, undefined)
  t.equal(scriptStatus(r.state), 'init')
})
