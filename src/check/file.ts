/**
 * FILE_CHECK (keepalived check_file.c, track_file.c): the real server follows
 * a track_file's number. Each probe reads the file as keepalived does — at
 * most 127 bytes, strtol base 0 (so `0x10` is 16 and `010` is 8, leading
 * blanks skipped, trailing text ignored, no digits 0); a missing, unreadable
 * or empty file is 0; a number outside [-2^31, 2^31] is logged (`Invalid
 * number %ld read from %s - ignoring`) and the previous value kept. Then,
 * with the checker's weight W (or the track_file's, with its reverse) and
 * m = −1 when reversed, else 1:
 *  - W = 0: a non-zero value is a failure (reversed: a zero one);
 *  - W ≠ 0: value × W × m, clamped to int32, is added to the configured
 *    weight (the IPVS weight is that, clamped to 0..2^31−1); a product at or
 *    below INT_MIN is a failure.
 * keepalived watches the file with inotify; here the scheduler polls it every
 * delay_loop of the runner's timing (default 1 s, as the VRRP track files).
 *
 * keepalived logs a FILE_CHECK going down only with -D: `(%s): tracked file
 * %s now FAULT state`; that is the `down` line, and there is no `up` line.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs'
import type { FileCheck } from '../config/lvs/model.js'
import type { CheckerLines, CheckerRunner, CheckTarget, ProbeOutcome } from './probe.js'

const INT_MIN = -(2 ** 31)
const INT_MAX = 2 ** 31 - 1
/** What keepalived reads of the file (a 128-byte buffer, NUL-terminated). */
const READ_LIMIT = 127
const DEFAULT_POLL_US = 1_000_000

/** The number in a track file, or `invalid` with the number keepalived would print. */
export type TrackFileValue = { readonly value: number } | { readonly invalid: bigint }

/** strtol(text, NULL, 0) on 64-bit Linux, then keepalived's range check. */
export function parseTrackFileValue(text: string): TrackFileValue {
  let i = 0
  while (i < text.length && ' \t\n\v\f\r'.includes(text[i]!)) i++
  let negative = false
  if (text[i] === '+' || text[i] === '-') negative = text[i++] === '-'
  let base = 10n
  if (text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X') && /[0-9a-fA-F]/.test(text[i + 2] ?? '')) {
    base = 16n
    i += 2
  } else if (text[i] === '0') {
    base = 8n
  }
  let n = 0n
  for (; i < text.length; i++) {
    const d = parseInt(text[i]!, 16)
    if (Number.isNaN(d) || BigInt(d) >= base) break
    n = n * base + BigInt(d)
  }
  if (negative) n = -n
  // strtol saturates at LONG_MIN / LONG_MAX (ERANGE), which keepalived rejects as well.
  const LONG_MAX = 2n ** 63n - 1n
  if (n > LONG_MAX) return { invalid: LONG_MAX }
  if (n < -LONG_MAX - 1n) return { invalid: -LONG_MAX - 1n }
  if (n < BigInt(INT_MIN) || n > BigInt(INT_MAX) + 1n) return { invalid: n }
  return { value: Number(n) }
}

/** What keepalived takes from a track file: 0 when it cannot read any byte. */
export function readTrackFileValue(path: string): TrackFileValue {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch {
    return { value: 0 }
  }
  try {
    const buf = Buffer.alloc(READ_LIMIT)
    const len = readSync(fd, buf, 0, READ_LIMIT, null)
    return len > 0 ? parseTrackFileValue(buf.toString('latin1', 0, len)) : { value: 0 }
  } catch {
    return { value: 0 }
  } finally {
    closeSync(fd)
  }
}

export interface FileWeight {
  readonly weight: number
  readonly reverse: boolean
}

/** The file's effect on the real server: down, or up with the weight it should now have. */
export function fileVerdict(value: number, tracking: FileWeight, configuredWeight: number): { ok: false } | { ok: true; weight: number } {
  if (tracking.weight === 0) {
    const fault = (value !== 0) !== tracking.reverse
    return fault ? { ok: false } : { ok: true, weight: clamp(configuredWeight, 0, INT_MAX) }
  }
  const contribution = clamp(value * tracking.weight * (tracking.reverse ? -1 : 1), INT_MIN, INT_MAX)
  if (contribution === INT_MIN) return { ok: false }
  return { ok: true, weight: clamp(configuredWeight + contribution, 0, INT_MAX) }
}

function clamp(n: number, low: number, high: number): number {
  return n < low ? low : n > high ? high : n
}

/** The resolved track_file block the check names (the VRRP config model's TrackFile has these). */
export interface TrackedFile {
  readonly name: string
  readonly file: string
  readonly weight: number
  readonly reverse: boolean
}

/** keepalived's lines for a FILE_CHECK on `target` following `trackFile`. */
export function fileLines(target: CheckTarget, trackFile: TrackedFile): CheckerLines {
  return {
    up: () => undefined,
    down: () => `(${target.text}): tracked file ${trackFile.name} now FAULT state`,
  }
}

export interface FileRunnerOptions {
  readonly id: string
  readonly target: CheckTarget
  readonly check: FileCheck
  readonly trackFile: TrackedFile
  /** The real server's configured weight, which the file's number adds to. */
  readonly realServerWeight: number
  /** How often to read the file (µs); default 1 s. */
  readonly pollInterval?: number | undefined
  /** Where `Invalid number … - ignoring` goes. */
  readonly log?: { info(text: string): void } | undefined
}

export function createFileCheckRunner(options: FileRunnerOptions): CheckerRunner {
  const { check, trackFile, target } = options
  // A FILE_CHECK `weight` replaces the track_file's weight and reverse; without one both come from the block.
  const tracking: FileWeight = check.weight === undefined ? { weight: trackFile.weight, reverse: trackFile.reverse } : { weight: check.weight, reverse: check.reverse }
  const poll = options.pollInterval ?? DEFAULT_POLL_US
  const lines = fileLines(target, trackFile)
  let last = 0
  return {
    kind: 'FILE_CHECK',
    id: options.id,
    target,
    // keepalived clears alpha for a FILE_CHECK: the file's state is known at once.
    timing: { retry: 0, delayBeforeRetry: poll, warmup: 0, delayLoop: poll, alpha: false, logAllFailures: false },
    lines,
    probe(signal: AbortSignal): Promise<ProbeOutcome> {
      const started = performance.now()
      if (signal.aborted) return Promise.resolve({ ok: false, failure: undefined, latencyMs: 0 })
      const read = readTrackFileValue(trackFile.file)
      if ('invalid' in read) options.log?.info(`Invalid number ${read.invalid} read from ${trackFile.file} - ignoring`)
      else last = read.value
      const verdict = fileVerdict(last, tracking, options.realServerWeight)
      const latencyMs = performance.now() - started
      return Promise.resolve(verdict.ok
        ? { ok: true, failure: undefined, latencyMs, weight: verdict.weight }
        : { ok: false, failure: lines.down({ ok: false, failure: undefined, latencyMs }, 0, false), latencyMs })
    },
  }
}
