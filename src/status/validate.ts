/**
 * Reading a {@link DaemonStatus} back from JSON (the control socket's answer):
 * every field the readers use is checked for its type, so a malformed or
 * foreign answer becomes one sentence naming the first bad field, and the
 * table and metrics code never meets a shape it does not expect. Fields that
 * are `X | undefined` in the contract may be absent (JSON drops undefined).
 * Unknown extra fields are allowed (the contract grows additively).
 */
import type { DaemonStatus } from './types.js'

/** A check returns undefined when `v` fits, or what is wrong at `at`. */
type Check = (v: unknown, at: string) => string | undefined

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v)

const str: Check = (v, at) => (typeof v === 'string' ? undefined : `${at} is ${describe(v)}, not a string`)
const num: Check = (v, at) => (typeof v === 'number' && Number.isFinite(v) ? undefined : `${at} is ${describe(v)}, not a number`)
const bool: Check = (v, at) => (typeof v === 'boolean' ? undefined : `${at} is ${describe(v)}, not true or false`)

function optional(check: Check): Check {
  return (v, at) => (v === undefined || v === null ? undefined : check(v, at))
}

function oneOf(...values: readonly unknown[]): Check {
  return (v, at) => (values.includes(v) ? undefined : `${at} is ${JSON.stringify(v) ?? 'absent'}, not one of ${values.map((x) => JSON.stringify(x)).join(', ')}`)
}

function list(item: Check): Check {
  return (v, at) => {
    if (!Array.isArray(v)) return `${at} is ${describe(v)}, not a list`
    for (let i = 0; i < v.length; i++) {
      const bad = item(v[i], `${at}[${i}]`)
      if (bad) return bad
    }
    return undefined
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function record(value: Check): Check {
  return (v, at) => {
    if (!isObject(v)) return `${at} is ${describe(v)}, not an object`
    for (const [k, x] of Object.entries(v)) {
      const bad = value(x, `${at}.${k}`)
      if (bad) return bad
    }
    return undefined
  }
}

function shape(fields: Readonly<Record<string, Check>>): Check {
  return (v, at) => {
    if (!isObject(v)) return `${at} is ${describe(v)}, not an object`
    for (const [k, check] of Object.entries(fields)) {
      const bad = check(v[k], `${at}.${k}`)
      if (bad) return bad
    }
    return undefined
  }
}

const vrrpInstance = shape({
  name: str,
  interface: optional(str),
  vrid: num,
  version: oneOf(2, 3),
  family: oneOf(4, 6),
  state: oneOf('INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP'),
  priority: num,
  basePriority: num,
  master: optional(str),
  since: optional(str),
  reason: optional(str),
  vips: list(str),
  counters: shape({
    advertsSent: num,
    advertsReceived: num,
    becameMaster: num,
    releasedMaster: num,
    transitions: num,
    rejected: record(num),
    priorityZeroSent: num,
    priorityZeroReceived: num,
  }),
})

const checker = shape({
  kind: str,
  up: bool,
  suspended: bool,
  lastResult: optional(oneOf('success', 'failure')),
  lastLatencyMs: optional(num),
  lastAt: optional(str),
  lastFailure: optional(str),
})

const realServer = shape({ name: str, alive: bool, weight: num, kernelWeight: optional(num), checkers: list(checker) })

const virtualServer = shape({ name: str, quorumUp: bool, sorryServerActive: bool, weightSum: num, realServers: list(realServer) })

const checkers = shape({
  ipvsAvailable: bool,
  virtualServers: list(virtualServer),
  counters: shape({
    checks: record(shape({ success: num, failure: num })),
    latencyBucketsMs: record(num),
    latencySumMs: num,
    latencyCount: num,
    ipvsOperations: num,
    ipvsErrors: num,
  }),
})

const daemon = shape({
  version: str,
  pid: num,
  startedAt: str,
  configFile: str,
  reloadedAt: optional(str),
  processes: list(shape({ role: oneOf('vrrp', 'checkers'), pid: optional(num), restarts: num })),
  vrrp: optional(shape({ instances: list(vrrpInstance) })),
  checkers: optional(checkers),
})

/** The status, or the first thing wrong with it (`status.vrrp.instances[0].state is …`). */
export function parseDaemonStatus(value: unknown): { readonly status: DaemonStatus } | { readonly error: string } {
  const bad = daemon(value, 'status')
  return bad ? { error: bad } : { status: value as DaemonStatus }
}
