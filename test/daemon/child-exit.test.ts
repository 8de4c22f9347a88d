/** keepalived's child-exit lines and respawn-rate delay (report_child_status, calc_restart_delay). */
import t from 'tap'
import { exitingLine, reportChildExit, respawningLines, RestartDelay } from '../../src/daemon/child-exit.js'

t.test('exit codes and signals read as keepalived reports them', async (t) => {
  t.same(reportChildExit(7, { code: 1, signal: null }), { lines: ['pid 7 exited with permanent error FATAL. Terminating'], permanent: 1 })
  t.same(reportChildExit(7, { code: 2, signal: null }), { lines: ['pid 7 exited with permanent error CONFIG. Terminating'], permanent: 2 })
  t.same(reportChildExit(7, { code: 4, signal: null }).lines, ['pid 7 exited with permanent error missing permission. Terminating'])
  t.same(reportChildExit(7, { code: 0, signal: null }), { lines: [], permanent: undefined })
  t.same(reportChildExit(7, { code: 70, signal: null }), { lines: ['pid 7 exited with status 70'], permanent: undefined })
  t.same(reportChildExit(7, { code: null, signal: 'SIGKILL' }).lines, ['pid 7 exited due to signal 9 (Killed) - has rlimit_rttime been exceeded?'])
  t.same(reportChildExit(7, { code: null, signal: 'SIGTERM' }).lines, ['pid 7 exited due to signal 15 (Terminated)'])
  t.same(reportChildExit(7, { code: null, signal: 'SIGSEGV' }).lines, ['pid 7 exited due to segmentation fault (SIGSEGV).'])
  t.equal(respawningLines('checkers', 9).alert, 'Healthcheck child process(9) died: Respawning')
  t.equal(respawningLines('vrrp', 9).info.length, 3)
  t.equal(exitingLine('vrrp', 9), 'VRRP child process(9) died: Exiting')
})

t.test('the respawn delay: 0, 1, 2, 4 … 32, 60 while the child dies within a minute; reset after a minute', async (t) => {
  const d = new RestartDelay('vrrp')
  const seen = Array.from({ length: 9 }, () => d.next(1000).seconds)
  t.same(seen, [0, 1, 2, 4, 8, 16, 32, 60, 60])
  t.equal(new RestartDelay('checkers').next(10).line, 'Restart of Healthcheck process delayed 0 seconds to limit respawn rate')
  t.same(d.next(60_000), { seconds: 0, line: undefined }, 'a child that ran a minute restarts at once, silently')
  t.equal(d.next(5).seconds, 0, 'and the sequence starts over')
  t.equal(d.next(5).seconds, 1)
})
