/**
 * Notify scripts and FIFO lines for VRRP transitions (reference §5.15–§5.16):
 * the state's own script, then the generic `notify` with keepalived's four
 * extra words, then the FIFO line. Scripts are forked and not awaited, except
 * STOP ones, which shutdown waits for up to a second.
 */
import type { GlobalDefs } from '../config/global/model.js'
import type { ScriptSpec } from '../config/schema.js'
import type { NotifyScripts } from '../config/vrrp/model.js'
import { type PreparedScript, type ScriptRunner, STOP_SCRIPT_TIMEOUT_MS } from '../daemon/notify.js'
import { NotifyFifo } from '../daemon/notify-fifo.js'
import type { Logger } from '../log/logger.js'
import { groupNotifyPlan, instanceNotifyPlan, masterRxLowerPriFifoLine, type NotifyState } from './notify-plan.js'

export type NotifyKind = 'INSTANCE' | 'GROUP'

export class Notifier {
  /** Prepared once per command line: keepalived checks a script's security once, at start. */
  private readonly prepared = new Map<string, PreparedScript | undefined>()
  private readonly stopScripts: Promise<unknown>[] = []
  private readonly fifo: NotifyFifo | undefined

  constructor(private readonly runner: ScriptRunner, log: Logger, global: GlobalDefs) {
    const fifo = global.vrrpNotifyFifo ?? global.notifyFifo
    this.fifo = fifo ? NotifyFifo.open(fifo.path, log, fifo === global.vrrpNotifyFifo ? 'vrrp_' : '') : undefined
  }

  /** Run the plan of a transition (notify-plan.ts); groups always pass priority 0. */
  transition(scripts: NotifyScripts, kind: NotifyKind, name: string, state: NotifyState, priority: number): void {
    const plan = kind === 'INSTANCE' ? instanceNotifyPlan(scripts, name, state, priority) : groupNotifyPlan(scripts, name, state)
    for (const { script, args } of plan.scripts) {
      const prepared = this.prepare(script)
      if (!prepared) continue
      const running = this.runner.run(prepared, { args, ...(state === 'STOP' ? { timeoutMs: STOP_SCRIPT_TIMEOUT_MS } : {}) })
      if (state === 'STOP') this.stopScripts.push(running)
    }
    this.fifo?.write(`${plan.fifoLine}\n`)
  }

  /** The FIFO-only `MASTER_RX_LOWER_PRI` event. */
  masterRxLowerPriority(name: string, priority: number): void {
    this.fifo?.write(`${masterRxLowerPriFifoLine(name, priority)}\n`)
  }

  private prepare(script: ScriptSpec): PreparedScript | undefined {
    if (!this.prepared.has(script.command)) this.prepared.set(script.command, this.runner.prepare(script))
    return this.prepared.get(script.command)
  }

  /** Wait for the STOP scripts (at most keepalived's second), then close the FIFO. */
  async close(): Promise<void> {
    await Promise.race([Promise.allSettled(this.stopScripts), delay(STOP_SCRIPT_TIMEOUT_MS)])
    this.fifo?.close()
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
