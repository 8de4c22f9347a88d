/**
 * What a transition notifies, as data (reference §5.15, §5.16; keepalived
 * vrrp_notify.c): the state-specific script with its configured argv only,
 * then the generic `notify` with `INSTANCE|GROUP <name> <STATE> <priority>`
 * appended, then the notify_fifo line. Running them is the runtime's job
 * (src/vrrp/notifier.ts).
 */
import type { ScriptSpec } from '../config/schema.js'
import type { NotifyScripts } from '../config/vrrp/model.js'

export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP'

/**
 * One script to run: the configured script (its words, user and security are
 * the script runner's business, src/daemon/notify.ts) and the words appended.
 */
export interface NotifyCommand {
  readonly script: ScriptSpec
  readonly args: readonly string[]
}

export interface NotifyPlan {
  /** In the order keepalived forks them. */
  readonly scripts: readonly NotifyCommand[]
  /** The FIFO line without its newline, e.g. `INSTANCE "VI_1" MASTER 100`. */
  readonly fifoLine: string
}

function command(script: ScriptSpec, args: readonly string[] = []): NotifyCommand {
  return { script, args }
}

function specific(scripts: NotifyScripts, state: NotifyState): ScriptSpec | undefined {
  switch (state) {
    case 'MASTER': return scripts.notifyMaster
    case 'BACKUP': return scripts.notifyBackup
    case 'FAULT': return scripts.notifyFault
    case 'STOP': return scripts.notifyStop
  }
}

function plan(kind: 'INSTANCE' | 'GROUP', scripts: NotifyScripts, name: string, state: NotifyState, priority: number): NotifyPlan {
  const own = specific(scripts, state)
  const list: NotifyCommand[] = []
  if (own) list.push(command(own))
  if (scripts.notify) list.push(command(scripts.notify, [kind, name, state, String(priority)]))
  return { scripts: list, fifoLine: `${kind} "${name}" ${state} ${priority}` }
}

/** An instance transition; `priority` is the effective priority. */
export function instanceNotifyPlan(scripts: NotifyScripts, name: string, state: NotifyState, priority: number): NotifyPlan {
  return plan('INSTANCE', scripts, name, state, priority)
}

/** A sync-group transition: keepalived always passes priority 0 for groups. */
export function groupNotifyPlan(scripts: NotifyScripts, name: string, state: NotifyState): NotifyPlan {
  return plan('GROUP', scripts, name, state, 0)
}

/**
 * `MASTER_RX_LOWER_PRI`: only the FIFO line here; `notify_master_rx_lower_pri`
 * is not in the config model yet.
 */
export function masterRxLowerPriFifoLine(name: string, priority: number): string {
  return `INSTANCE "${name}" MASTER_RX_LOWER_PRI ${priority}`
}
