/**
 * Notify scripts and FIFO lines for VRRP transitions (reference §5.15–§5.16):
 * the state's own script, then the generic `notify` with keepalived's four
 * extra words, then the FIFO line. Scripts are forked and not awaited, except
 * STOP ones, which shutdown waits for up to a second.
 */
import type { GlobalDefs } from '../config/global/model.js'
import type { NotifyScripts } from '../config/vrrp/model.js'
import { notifyArgs, type PreparedScript, type ScriptRunner, STOP_SCRIPT_TIMEOUT_MS } from '../daemon/notify.js'
import { NotifyFifo, vrrpFifoLine } from '../daemon/notify-fifo.js'
import type { Logger } from '../log/logger.js'

export type NotifyKind = 'INSTANCE' | 'GROUP'
export type NotifiedState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP'

export class Notifier {
  /** Prepared once per command line: keepalived checks a script's security once, at start. */
  private readonly prepared = new Map<string, PreparedScript | undefined>()
  private readonly stopScripts: Promise<unknown>[] = []
  private readonly fifo: NotifyFifo | undefined

  constructor(private readonly runner: ScriptRunner, log: Logger, global: GlobalDefs) {
    const fifo = global.vrrpNotifyFifo ?? global.notifyFifo
    this.fifo = fifo ? NotifyFifo.open(fifo.path, log, fifo === global.vrrpNotifyFifo ? 'vrrp_' : '') : undefined
  }

  transition(scripts: NotifyScripts, kind: NotifyKind, name: string, state: NotifiedState, priority: number): void {
    const specific = { MASTER: scripts.notifyMaster, BACKUP: scripts.notifyBackup, FAULT: scripts.notifyFault, STOP: scripts.notifyStop }[state]
    const run = (spec: typeof specific, args: readonly string[]): void => {
      if (!spec) return
      if (!this.prepared.has(spec.command)) this.prepared.set(spec.command, this.runner.prepare(spec))
      const prepared = this.prepared.get(spec.command)
      if (!prepared) return
      const running = this.runner.run(prepared, { args, ...(state === 'STOP' ? { timeoutMs: STOP_SCRIPT_TIMEOUT_MS } : {}) })
      if (state === 'STOP') this.stopScripts.push(running)
    }
    run(specific, [])
    run(scripts.notify, notifyArgs(kind, name, state, priority))
    this.fifo?.write(vrrpFifoLine(kind, name, state, priority))
  }

  /** A FIFO-only event such as `MASTER_RX_LOWER_PRI`. */
  event(name: string, event: string, priority: number): void {
    this.fifo?.write(vrrpFifoLine('INSTANCE', name, event, priority))
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
