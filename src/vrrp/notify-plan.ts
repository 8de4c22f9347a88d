/**
 * What a transition notifies, as data (reference §5.15, §5.16; keepalived
 * vrrp_notify.c): the state-specific script with its configured argv only,
 * then the generic `notify` with `INSTANCE|GROUP <name> <STATE> <priority>`
 * appended, then the notify_fifo line. Running them is the runtime's job.
 */
import type { ScriptSpec } from '../config/schema.js'
import type { NotifyScripts } from '../config/vrrp/model.js'

export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP'

export interface NotifyCommand {
  readonly argv: readonly string[]
  /** Run-as user and group; undefined: `script_user`. */
  readonly user: string | undefined
  readonly group: string | undefined
}

export interface NotifyPlan {
  /** In the order keepalived forks them. */
  readonly scripts: readonly NotifyCommand[]
  /** The FIFO line without its newline, e.g. `INSTANCE "VI_1" MASTER 100`. */
  readonly fifoLine: string
}

/**
 * A command line split into words as keepalived's notify parser does:
 * whitespace separates, double or single quotes group, a backslash escapes
 * the next character.
 */
export function splitCommand(command: string): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: string | undefined
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!
    if (c === '\\' && i + 1 < command.length) {
      word += command[++i]
      inWord = true
    } else if (quote !== undefined) {
      if (c === quote) quote = undefined
      else word += c
    } else if (c === '"' || c === "'") {
      quote = c
      inWord = true
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += c
      inWord = true
    }
  }
  if (inWord) words.push(word)
  return words
}

function command(spec: ScriptSpec, extra: readonly string[] = []): NotifyCommand {
  return { argv: [...splitCommand(spec.command), ...extra], user: spec.user, group: spec.group }
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
