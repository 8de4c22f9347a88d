/**
 * MISC_CHECK (keepalived check_misc.c): each attempt runs misc_path — no
 * shell, as `user [group]` or script_user, through the daemon's ScriptRunner —
 * and reads its end:
 *  - exit 0: success; with misc_dynamic, exit 2..255 is a success too and sets
 *    the real server's weight to status − 2 (exit 0 puts the configured weight
 *    back); exit 1, or 2..255 without misc_dynamic, is a failure;
 *  - killed by a signal: a failure; killed because it outran its timeout
 *    (misc_timeout, else the virtual server's delay_loop — keepalived's rule,
 *    not the checker's): `timed out`.
 *
 * keepalived 2.2.7's lines (read from its binary: check_misc.c formats
 * `Misc check for [%s VS %s] by [%s] %s%s.` and `… %s%s (%s %d).`):
 *   succeeded                     when it comes (or starts) up
 *   failed / timed out + ` after N retry|retries` or ` with retry disabled`
 *                                 when it goes down
 *   + `, will do N retry|retries` (first failed attempt), ` on retry i/N`
 *     (later ones)                only with log_all_failures, for attempts
 *                                 that will be retried
 * each failure with ` (exited with status N)` or ` (due to signal N)`; a
 * timeout has no such part. The script's name is its argv[0].
 */
import { constants } from 'node:os'
import type { MiscCheck } from '../config/lvs/model.js'
import type { PreparedScript, ScriptOutcome, ScriptRunner } from '../daemon/notify.js'
import type { CheckerLines, CheckerRunner, CheckTarget, ProbeOutcome } from './probe.js'

/** What keepalived says about one run of the script. */
export interface MiscVerdict {
  readonly ok: boolean
  /** `succeeded`, `failed` or `timed out`. */
  readonly exitType: 'succeeded' | 'failed' | 'timed out'
  /** `exited with status 1`, `due to signal 9`; undefined for a success or a timeout. */
  readonly reason: string | undefined
  /** misc_dynamic: the weight the real server should now have. */
  readonly weight: number | undefined
}

/** A MISC_CHECK attempt's outcome: a ProbeOutcome that also carries the verdict its lines are made from. */
export interface MiscOutcome extends ProbeOutcome {
  readonly misc: MiscVerdict
}

function isMiscOutcome(o: ProbeOutcome): o is MiscOutcome {
  return (o as Partial<MiscOutcome>).misc !== undefined
}

/**
 * keepalived's reading of a script's end. `configuredWeight` is what exit 0
 * restores under misc_dynamic (keepalived keeps the dynamic weight as an
 * offset from it and clears the offset on exit 0).
 */
export function miscVerdict(outcome: ScriptOutcome, dynamic: boolean, configuredWeight: number): MiscVerdict {
  switch (outcome.kind) {
    case 'exited': {
      const status = outcome.status
      if (status === 0) return { ok: true, exitType: 'succeeded', reason: undefined, weight: dynamic ? configuredWeight : undefined }
      if (dynamic && status >= 2 && status <= 255) return { ok: true, exitType: 'succeeded', reason: undefined, weight: status - 2 }
      return { ok: false, exitType: 'failed', reason: `exited with status ${status}`, weight: undefined }
    }
    case 'signalled':
      return { ok: false, exitType: 'failed', reason: `due to signal ${constants.signals[outcome.signal] ?? 0}`, weight: undefined }
    case 'timed-out':
      return { ok: false, exitType: 'timed out', reason: undefined, weight: undefined }
    case 'failed':
      // keepalived's child exits EXIT_FAILURE when execve fails.
      return { ok: false, exitType: 'failed', reason: 'exited with status 1', weight: undefined }
  }
}

const retries = (n: number): string => `${n} ${n === 1 ? 'retry' : 'retries'}`

/** `Misc check for [RS VS VS] by [script]`: the start of every MISC_CHECK line. */
export function miscHead(target: CheckTarget, script: string): string {
  return `Misc check for [${target.text} VS ${target.vsText}] by [${script}]`
}

/** One line: the head, what happened, keepalived's retry suffix, and why. */
export function miscLine(head: string, verdict: MiscVerdict | undefined, suffix: string): string {
  const reason = verdict?.reason === undefined ? '' : ` (${verdict.reason})`
  return `${head} ${verdict?.exitType ?? 'failed'}${suffix}${reason}.`
}

/** keepalived's lines for a MISC_CHECK on `target` running `script` (its argv[0]). */
export function miscLines(target: CheckTarget, script: string, logAllFailures: boolean): CheckerLines {
  const head = miscHead(target, script)
  const verdict = (o: ProbeOutcome): MiscVerdict | undefined => (isMiscOutcome(o) ? o.misc : undefined)
  return {
    up: () => `${head} succeeded.`,
    down: (o, retry) => miscLine(head, verdict(o), retry > 0 ? ` after ${retries(retry)}` : ' with retry disabled'),
    retrying: (o, attempt, retry) => {
      if (!logAllFailures) return undefined
      return miscLine(head, verdict(o), attempt <= 1 ? `, will do ${retries(retry)}` : ` on retry ${attempt - 1}/${retry}`)
    },
  }
}

/**
 * misc_path's words as one command line for ScriptRunner: a single word is
 * the quoted command keepalived splits itself; several words are argv as
 * they stand, so each is quoted to survive the split.
 */
export function miscCommand(path: readonly string[]): string {
  if (path.length === 1) return path[0]!
  return path.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ')
}

export interface MiscRunnerOptions {
  readonly id: string
  readonly target: CheckTarget
  readonly check: MiscCheck
  readonly scripts: ScriptRunner
  /** The virtual server's delay_loop (µs): the timeout when misc_timeout is unset or 0. */
  readonly virtualServerDelayLoop: number
  /** The real server's configured weight (what a misc_dynamic exit 0 restores). */
  readonly realServerWeight: number
}

/**
 * The runner, or undefined when the script cannot run (missing, not
 * executable, unsafe under enable_script_security, unknown user): the
 * ScriptRunner has logged why, and keepalived drops such a checker.
 */
export function createMiscCheckRunner(options: MiscRunnerOptions): CheckerRunner | undefined {
  const { check, target } = options
  const prepared: PreparedScript | undefined = options.scripts.prepare({ command: miscCommand(check.path), user: check.user, group: check.group })
  if (!prepared) return undefined
  const timeoutMs = check.timeout ? check.timeout * 1000 : options.virtualServerDelayLoop / 1000
  const script = prepared.argv[0]!
  const head = miscHead(target, script)
  return {
    kind: 'MISC_CHECK',
    id: options.id,
    target,
    timing: check,
    lines: miscLines(target, script, check.logAllFailures),
    async probe(signal: AbortSignal): Promise<ProbeOutcome> {
      const started = performance.now()
      if (signal.aborted) return { ok: false, failure: undefined, latencyMs: 0 }
      // ScriptRunner.run takes no AbortSignal: on abort the attempt settles now
      // and the script is left to its timeout (or to ScriptRunner.killAll at stop).
      let onAbort: (() => void) | undefined
      const aborted = new Promise<undefined>((resolve) => {
        onAbort = () => resolve(undefined)
        signal.addEventListener('abort', onAbort, { once: true })
      })
      const ran = await Promise.race([options.scripts.run(prepared, { timeoutMs, signal }), aborted])
      signal.removeEventListener('abort', onAbort!)
      const latencyMs = performance.now() - started
      if (ran === undefined) return { ok: false, failure: undefined, latencyMs }
      const misc = miscVerdict(ran, check.dynamic, options.realServerWeight)
      const failure = misc.ok ? undefined : miscLine(head, misc, '')
      const outcome: MiscOutcome = { ok: misc.ok, failure, latencyMs, misc, ...(misc.weight === undefined ? {} : { weight: misc.weight }) }
      return outcome
    },
  }
}
