/**
 * vrrp_track_process matching (keepalived.conf(5), reference §1.6, §5.14):
 * which running processes count towards a tracker's quorum. Pure: the
 * runtime reads /proc and hands over each process's name and argv.
 */
import type { TrackProcess } from '../config/vrrp/model.js'

/** One running process as /proc shows it. */
export interface ProcessInfo {
  /** /proc/PID/stat's name: the executable's first 15 characters. */
  readonly comm: string
  /** /proc/PID/cmdline split at NULs; empty for kernel threads. */
  readonly argv: readonly string[]
}

/** The kernel truncates a process name to TASK_COMM_LEN − 1 characters. */
const COMM_LENGTH = 15

/**
 * Whether `p` is one of the processes `spec` tracks: the name is compared with
 * argv[0] under `full_command`, else with the (truncated) process name; the
 * parameters, when given, must be the process's parameters exactly, their
 * initial part (`param_match initial`) or appear in them in order as one run
 * (`param_match partial`).
 */
export function matchesProcess(spec: Pick<TrackProcess, 'process' | 'paramMatch' | 'fullCommand'>, p: ProcessInfo): boolean {
  const [name, ...params] = spec.process
  if (name === undefined) return false
  if (spec.fullCommand) {
    if (p.argv[0] !== name) return false
  } else if (p.comm !== name.slice(0, COMM_LENGTH)) {
    return false
  }
  if (params.length === 0) return true
  const actual = p.argv.slice(1)
  switch (spec.paramMatch) {
    case 'initial':
      return params.every((w, i) => actual[i] === w)
    case 'partial':
      for (let start = 0; start + params.length <= actual.length; start++) {
        if (params.every((w, i) => actual[start + i] === w)) return true
      }
      return false
    default:
      return actual.length === params.length && params.every((w, i) => actual[i] === w)
  }
}

/** Quorum is held with at least `quorum` and, when set, at most `quorum_max` matching processes. */
export function quorumHeld(spec: Pick<TrackProcess, 'quorum' | 'quorumMax'>, count: number): boolean {
  return count >= spec.quorum && (spec.quorumMax === undefined || count <= spec.quorumMax)
}
