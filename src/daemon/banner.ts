/**
 * The lifecycle lines that describe the process rather than the configuration:
 * `Running on …` and the CPU times keepalived prints when it stops
 * (reference §3.5, §4.2).
 */
import { readFileSync } from 'node:fs'
import { release, type, version } from 'node:os'

/** `Running on Linux 6.1.0 #1 SMP … (Node.js v20.20.2)`; keepalived ends with `(built for Linux x.y.z)`. */
export function runningOnLine(): string {
  return `Running on ${type()} ${release()} ${version()} (Node.js ${process.version})`
}

export interface CpuTimes {
  /** Microseconds. */
  readonly selfUser: number
  readonly selfSystem: number
  readonly childrenUser: number
  readonly childrenSystem: number
}

/** Clock ticks per second of /proc/<pid>/stat on Linux (USER_HZ). */
const USER_HZ = 100

/** This process's CPU times and those of its reaped children (scripts). */
export function cpuTimes(): CpuTimes {
  const usage = process.resourceUsage()
  let childrenUser = 0
  let childrenSystem = 0
  try {
    // Fields after the parenthesised command name: cutime and cstime are the 14th and 15th.
    const stat = readFileSync('/proc/self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    childrenUser = (Number(fields[13]) * 1_000_000) / USER_HZ
    childrenSystem = (Number(fields[14]) * 1_000_000) / USER_HZ
  } catch {
    // Not Linux, or /proc not mounted: report no children rather than fail a shutdown.
  }
  return { selfUser: usage.userCPUTime, selfSystem: usage.systemCPUTime, childrenUser, childrenSystem }
}

/** keepalived's `%ld.%6.6ld` seconds. */
export function seconds(us: number): string {
  const whole = Math.floor(us / 1_000_000)
  const frac = Math.round(us - whole * 1_000_000)
  return `${whole}.${String(frac).padStart(6, '0')}`
}

/** The child's `Stopped - used %s user time, %s system time`. */
export function stoppedUsedLine(t: CpuTimes): string {
  return `Stopped - used ${seconds(t.selfUser)} user time, ${seconds(t.selfSystem)} system time`
}

/** The parent's `CPU usage (self/children) user: %s/%s system: %s/%s`. */
export function cpuUsageLine(t: CpuTimes): string {
  return `CPU usage (self/children) user: ${seconds(t.selfUser)}/${seconds(t.childrenUser)} system: ${seconds(t.selfSystem)}/${seconds(t.childrenSystem)}`
}
