/**
 * What the parent and its children say to each other over the IPC channel of
 * child_process.fork: the configuration snapshot to start or reload with, the
 * dump requests of SIGUSR1/SIGUSR2/JSON/STATS_CLEAR, status requests, and from
 * the child its readiness, reload results, status answers and every VRRP
 * state change (the respawn hints). Messages are plain JSON; anything that
 * does not look like one is ignored, never trusted.
 */
import type { CheckersStatus, VrrpStateName, VrrpStatus } from '../status/types.js'
import type { ConfigSnapshot } from './config-snapshot.js'
import type { StartHints, SubsystemRole } from './subsystem.js'

/** The environment variable that makes dist/cli/main.js a child: `vrrp` or `checkers`. Never set by hand. */
export const CHILD_ROLE_ENV = 'KEEPALIVED_TS_CHILD_ROLE'

export type DumpKind = 'data' | 'stats' | 'stats-clear' | 'json'

export type ParentMessage =
  | { readonly type: 'start'; readonly snapshot: ConfigSnapshot; readonly hints: StartHints }
  | { readonly type: 'reload'; readonly id: number; readonly snapshot: ConfigSnapshot }
  | { readonly type: 'dump'; readonly kind: DumpKind }
  | { readonly type: 'status'; readonly id: number }

export type ChildMessage =
  /** Configuration read and the subsystem started (keepalived's children report the same before `Startup complete`). */
  | { readonly type: 'started' }
  | { readonly type: 'reloaded'; readonly id: number; readonly ok: boolean }
  | { readonly type: 'status'; readonly id: number; readonly status: VrrpStatus | CheckersStatus | null }
  | { readonly type: 'state'; readonly instance: string; readonly state: VrrpStateName }

const DUMPS: readonly string[] = ['data', 'stats', 'stats-clear', 'json']
const STATES: readonly string[] = ['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP']

function record(x: unknown): Record<string, unknown> | undefined {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined
}

/** The message, when `x` is one a parent sends. */
export function asParentMessage(x: unknown): ParentMessage | undefined {
  const m = record(x)
  if (!m) return undefined
  switch (m.type) {
    case 'start':
      return record(m.snapshot) && record(m.hints) ? (m as unknown as ParentMessage) : undefined
    case 'reload':
      return typeof m.id === 'number' && record(m.snapshot) ? (m as unknown as ParentMessage) : undefined
    case 'dump':
      return typeof m.kind === 'string' && DUMPS.includes(m.kind) ? (m as unknown as ParentMessage) : undefined
    case 'status':
      return typeof m.id === 'number' ? (m as unknown as ParentMessage) : undefined
    default:
      return undefined
  }
}

/** The message, when `x` is one a child sends. */
export function asChildMessage(x: unknown): ChildMessage | undefined {
  const m = record(x)
  if (!m) return undefined
  switch (m.type) {
    case 'started':
      return { type: 'started' }
    case 'reloaded':
      return typeof m.id === 'number' && typeof m.ok === 'boolean' ? { type: 'reloaded', id: m.id, ok: m.ok } : undefined
    case 'status':
      return typeof m.id === 'number' && (m.status === null || record(m.status))
        ? { type: 'status', id: m.id, status: m.status as VrrpStatus | CheckersStatus | null }
        : undefined
    case 'state':
      return typeof m.instance === 'string' && typeof m.state === 'string' && STATES.includes(m.state)
        ? { type: 'state', instance: m.instance, state: m.state as VrrpStateName }
        : undefined
    default:
      return undefined
  }
}

/** The role named by {@link CHILD_ROLE_ENV}, if it names one. */
export function childRoleFrom(env: NodeJS.ProcessEnv): SubsystemRole | undefined {
  const v = env[CHILD_ROLE_ENV]
  return v === 'vrrp' || v === 'checkers' ? v : undefined
}
