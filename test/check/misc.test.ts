/**
 * MISC_CHECK with real scripts in a temp dir, run through the daemon's
 * ScriptRunner: exit 0 / 1, misc_dynamic (exit 5 → weight 3, exit 0 → the
 * configured weight back, exit 1 still a failure), a script killed by a
 * signal, one that outruns misc_timeout or the virtual server's delay_loop,
 * argv from misc_path words, a missing script, abort, and keepalived 2.2.7's
 * exact lines for every case.
 */
import t from 'tap'
import { getEventListeners } from 'node:events'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MiscCheck } from '../../src/config/lvs/model.js'
import { ScriptRunner } from '../../src/daemon/notify.js'
import { captureLogging } from '../../src/log/logger.js'
import { createMiscCheckRunner, miscCommand, miscLines, miscVerdict, type MiscOutcome } from '../../src/check/misc.js'
import type { CheckTarget, ProbeOutcome } from '../../src/check/probe.js'

/** One signal for the attempts below, as the scheduler reuses a checker's. */
const attempts = new AbortController().signal

const dir = mkdtempSync(join(tmpdir(), 'kats-chk-misc-'))
chmodSync(dir, 0o755)
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const accounts = join(dir, 'accounts')
mkdirSync(accounts)
writeFileSync(join(accounts, 'passwd'), `root:x:0:0:root:/root:/bin/sh\n`)
writeFileSync(join(accounts, 'group'), `root:x:0:\n`)

function script(name: string, body: string): string {
  const p = join(dir, name)
  writeFileSync(p, `#!/bin/sh\n${body}\n`)
  chmodSync(p, 0o755)
  return p
}

const target: CheckTarget = { address: '10.41.0.2', port: 80, family: 4, protocol: 'TCP', text: '[10.41.0.2]:tcp:80', vsText: '[10.41.0.1]:tcp:80', virtualhost: undefined }

function check(path: string[], overrides: Partial<MiscCheck> = {}): MiscCheck {
  return {
    kind: 'MISC_CHECK',
    pos: { file: 'test.conf', line: 1, col: 1 },
    retry: 0,
    delayBeforeRetry: 1_000_000,
    warmup: 0,
    delayLoop: 5_000_000,
    alpha: false,
    logAllFailures: false,
    path,
    timeout: undefined,
    dynamic: false,
    user: undefined,
    group: undefined,
    ...overrides,
  }
}

function setup(c: MiscCheck, delayLoop = 10_000_000) {
  const cap = captureLogging()
  const scripts = new ScriptRunner({ log: cap.logging.logger('checkers'), accounts: { passwd: join(accounts, 'passwd'), group: join(accounts, 'group') } })
  const runner = createMiscCheckRunner({ id: 'm', target, check: c, scripts, virtualServerDelayLoop: delayLoop, realServerWeight: 7 })
  return { runner, scripts, cap }
}

async function run(c: MiscCheck, delayLoop?: number): Promise<{ outcome: MiscOutcome; down: string; up: string | readonly string[] | undefined }> {
  const { runner } = setup(c, delayLoop)
  if (!runner) throw new Error('runner not created')
  const outcome = (await runner.probe(attempts)) as MiscOutcome
  return { outcome, down: runner.lines.down(outcome, c.retry, false), up: runner.lines.up(outcome) }
}

const ok = script('ok.sh', 'exit 0')
const bad = script('bad.sh', 'exit 1')
const five = script('five.sh', 'exit 5')
const killed = script('killed.sh', 'kill -KILL $$')
const slow = script('slow.sh', 'sleep 30')
const head = (s: string): string => `Misc check for [[10.41.0.2]:tcp:80 VS [10.41.0.1]:tcp:80] by [${s}]`

t.test('exit 0 succeeds, exit 1 fails with its status', async (t) => {
  const good = await run(check([ok]))
  t.equal(good.outcome.ok, true)
  t.equal(good.outcome.failure, undefined)
  t.equal(good.outcome.weight, undefined, 'no weight without misc_dynamic')
  t.equal(good.up, `${head(ok)} succeeded.`)
  const failed = await run(check([bad]))
  t.equal(failed.outcome.ok, false)
  t.equal(failed.outcome.failure, `${head(bad)} failed (exited with status 1).`)
  t.equal(failed.down, `${head(bad)} failed with retry disabled (exited with status 1).`)
})

t.test('misc_dynamic: exit 5 → weight 3, exit 0 → configured weight, exit 1 still fails; 5 without it fails', async (t) => {
  const dyn = await run(check([five], { dynamic: true }))
  t.same({ ok: dyn.outcome.ok, weight: dyn.outcome.weight }, { ok: true, weight: 3 })
  t.equal(dyn.up, `${head(five)} succeeded.`)
  const back = await run(check([ok], { dynamic: true }))
  t.same({ ok: back.outcome.ok, weight: back.outcome.weight }, { ok: true, weight: 7 })
  const one = await run(check([bad], { dynamic: true }))
  t.equal(one.outcome.ok, false, 'status 1 is a failure even with misc_dynamic')
  const plain = await run(check([five], { retry: 2 }))
  t.equal(plain.outcome.ok, false)
  t.equal(plain.down, `${head(five)} failed after 2 retries (exited with status 5).`)
  t.same(miscVerdict({ kind: 'exited', status: 255 }, true, 1), { ok: true, exitType: 'succeeded', reason: undefined, weight: 253 })
  t.same(miscVerdict({ kind: 'exited', status: 2 }, true, 1).weight, 0)
})

t.test('killed by a signal: failed (due to signal 9)', async (t) => {
  const r = await run(check([killed], { retry: 1 }))
  t.equal(r.outcome.ok, false)
  t.equal(r.outcome.failure, `${head(killed)} failed (due to signal 9).`)
  t.equal(r.down, `${head(killed)} failed after 1 retry (due to signal 9).`)
})

t.test('timeout: the virtual server delay_loop when misc_timeout is unset, else misc_timeout', async (t) => {
  const started = performance.now()
  const r = await run(check([slow]), 300_000)
  const took = performance.now() - started
  t.equal(r.outcome.ok, false)
  t.equal(r.outcome.failure, `${head(slow)} timed out.`)
  t.equal(r.down, `${head(slow)} timed out with retry disabled.`)
  t.ok(took >= 290 && took < 3000, `delay_loop 300 ms: took ${took} ms`)
  const before = performance.now()
  const own = await run(check([slow], { timeout: 1, retry: 3 }), 300_000)
  const ownTook = performance.now() - before
  t.equal(own.down, `${head(slow)} timed out after 3 retries.`)
  t.ok(ownTook >= 990 && ownTook < 4000, `misc_timeout 1 s: took ${ownTook} ms`)
})

t.test('retry lines, only with log_all_failures', async (t) => {
  const o: MiscOutcome = { ok: false, failure: undefined, latencyMs: 1, misc: { ok: false, exitType: 'failed', reason: 'exited with status 1', weight: undefined } }
  const quiet = miscLines(target, '/x.sh', false)
  t.equal(quiet.retrying?.(o, 1, 3), undefined)
  const all = miscLines(target, '/x.sh', true)
  t.equal(all.retrying?.(o, 1, 3), `${head('/x.sh')} failed, will do 3 retries (exited with status 1).`)
  t.equal(all.retrying?.(o, 1, 1), `${head('/x.sh')} failed, will do 1 retry (exited with status 1).`)
  t.equal(all.retrying?.(o, 2, 3), `${head('/x.sh')} failed on retry 1/3 (exited with status 1).`)
  t.equal(all.retrying?.(o, 3, 3), `${head('/x.sh')} failed on retry 2/3 (exited with status 1).`)
  const timedOut: MiscOutcome = { ...o, misc: { ok: false, exitType: 'timed out', reason: undefined, weight: undefined } }
  t.equal(all.retrying?.(timedOut, 2, 2), `${head('/x.sh')} timed out on retry 1/2.`)
  t.equal(all.down({ ok: false, failure: undefined, latencyMs: 0 } as ProbeOutcome, 1, false), `${head('/x.sh')} failed after 1 retry.`)
})

t.test('misc_path words are argv; one quoted word is split like a notify script', async (t) => {
  const out = join(dir, 'args.out')
  const echo = script('args.sh', `printf '%s|' "$@" > ${out}`)
  t.equal((await run(check([echo, 'a b', "it's"]))).outcome.ok, true)
  t.equal(readFileSync(out, 'utf8'), "a b|it's|")
  t.equal((await run(check([`${echo} one "two three"`]))).outcome.ok, true)
  t.equal(readFileSync(out, 'utf8'), 'one|two three|')
  t.equal(miscCommand(['/bin/x']), '/bin/x')
  t.equal(miscCommand(['/bin/x', "a'b"]), `'/bin/x' 'a'\\''b'`)
})

t.test('a script that cannot run gives no runner (keepalived drops the checker)', async (t) => {
  const { runner, cap } = setup(check([join(dir, 'missing.sh')]))
  t.equal(runner, undefined)
  t.match(cap.texts().join('\n'), /missing\.sh cannot be accessed/)
})

t.test('abort settles the attempt at once', async (t) => {
  const { runner, scripts } = setup(check([slow]), 20_000_000)
  const ac = new AbortController()
  setTimeout(() => ac.abort(), 50)
  const before = performance.now()
  const outcome = await runner!.probe(ac.signal)
  t.same({ ok: outcome.ok, failure: outcome.failure }, { ok: false, failure: undefined })
  t.ok(performance.now() - before < 1000)
  // The abort reaches the script itself: its process group is signalled, not left to run out its timeout.
  const deadline = Date.now() + 3000
  while (scripts.running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  t.equal(scripts.running, 0, 'the aborted script was killed')
  const pre = await runner!.probe(AbortSignal.abort())
  t.equal(pre.ok, false, 'an aborted signal runs nothing')
})

t.test('no listener outlives its attempt on the signal (the scheduler reuses it)', async (t) => {
  t.equal(getEventListeners(attempts, 'abort').length, 0)
})
