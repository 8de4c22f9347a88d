/**
 * What the checker side takes from global_defs, kept across reloads: the
 * script runner (script_user, enable_script_security), the LVS notify FIFO
 * (lvs_notify_fifo, else notify_fifo), the SMTP alerter and lvs_timeouts
 * (the kernel's own values saved the first time and restored at stop, or
 * when a reload drops the keyword). A reload replaces only what changed.
 * {@link CheckerGlobals.notify} carries out a pool's notifications: FIFO
 * lines (reference §5.16), quorum mails and notify / quorum scripts.
 */
import type { GlobalDefs } from '../config/global/model.js'
import type { VirtualServer } from '../config/lvs/model.js'
import { ScriptRunner } from '../daemon/notify.js'
import { NotifyFifo } from '../daemon/notify-fifo.js'
import { SmtpAlerter } from '../daemon/smtp-alert.js'
import { quorumMailBody, smtpConfigured } from '../daemon/smtp-message.js'
import type { Logger } from '../log/logger.js'
import { type IpvsClient, type IpvsTimeouts, NetError } from '../net/index.js'
import type { PoolChange } from './virtual-server.js'

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

function smtpSettings(g: GlobalDefs): unknown {
  return [g.notificationEmail, g.notificationEmailFrom, g.smtpServer, g.smtpHeloName, g.smtpConnectTimeout, g.routerId,
    g.smtpAlert, g.smtpAlertChecker]
}

export class CheckerGlobals {
  scripts!: ScriptRunner
  fifo: NotifyFifo | undefined
  smtp: SmtpAlerter | undefined
  private savedTimeouts: IpvsTimeouts | undefined

  constructor(private readonly ipvs: IpvsClient, private readonly log: Logger) {}

  /** Start-up (`previous` undefined) or reload: set up what changed. */
  async apply(previous: GlobalDefs | undefined, next: GlobalDefs): Promise<void> {
    const log = this.log
    if (!previous || !same([previous.scriptUser, previous.enableScriptSecurity], [next.scriptUser, next.enableScriptSecurity])) {
      // Scripts already running under the old runner finish on their own.
      this.scripts = new ScriptRunner({ log, scriptUser: next.scriptUser, enableScriptSecurity: next.enableScriptSecurity })
    }
    const fifoOf = (g: GlobalDefs) => ({ fifo: g.lvsNotifyFifo ?? g.notifyFifo, lvs: g.lvsNotifyFifo !== undefined })
    if (!previous || !same(fifoOf(previous), fifoOf(next))) {
      this.fifo?.close()
      const { fifo, lvs } = fifoOf(next)
      this.fifo = fifo ? NotifyFifo.open(fifo.path, log, lvs ? 'lvs_' : '') : undefined
    }
    if (!previous || !same(smtpSettings(previous), smtpSettings(next))) {
      this.smtp?.close()
      this.smtp = smtpConfigured(next) ? new SmtpAlerter({ global: next, log }) : undefined
    }
    if (!previous || !same(previous.lvsTimeouts, next.lvsTimeouts)) {
      if (next.lvsTimeouts) await this.setTimeouts(next.lvsTimeouts)
      else await this.restoreTimeouts()
    }
  }

  /** A pool change's notifications: `RS <rs> <vs> UP|DOWN` / `VS <vs> UP|DOWN` on the FIFO, the quorum mail, the scripts. */
  notify(change: PoolChange, vs: VirtualServer, weightSum: () => number, init: boolean): void {
    for (const event of change.events) {
      const state = event.up ? 'UP' : 'DOWN'
      this.fifo?.write(event.kind === 'real-server' ? `RS ${event.rs} ${event.vs} ${state}\n` : `VS ${event.vs} ${state}\n`)
      if (event.kind === 'virtual-server' && this.smtp) {
        const { quorum, hysteresis } = vs
        const body = quorumMailBody({
          up: event.up, init, stopping: event.stopping, quorum, hysteresis,
          threshold: event.up ? quorum + hysteresis : quorum - hysteresis, weightSum: weightSum(),
        })
        this.smtp.virtualServer(event.vs, event.up, body, vs.smtpAlert)
      }
      if (!event.script) continue
      const prepared = this.scripts.prepare(event.script)
      if (prepared) void this.scripts.run(prepared, event.stopping ? { timeoutMs: 1000 } : {})
    }
  }

  /** Stop: the kernel's timeouts back, scripts killed, FIFO and SMTP closed. */
  async close(): Promise<void> {
    await this.restoreTimeouts()
    this.scripts?.killAll()
    this.fifo?.close()
    this.smtp?.close()
  }

  private async setTimeouts(wanted: NonNullable<GlobalDefs['lvsTimeouts']>): Promise<void> {
    if (!this.savedTimeouts) {
      const old = await this.ipvs.timeouts()
      if (old instanceof NetError) {
        this.log.error('Failed to set ipvs timeouts')
        return
      }
      this.savedTimeouts = old
    }
    const r = await this.ipvs.setTimeouts({ tcp: wanted.tcp ?? 0, tcpFin: wanted.tcpfin ?? 0, udp: wanted.udp ?? 0 })
    if (r instanceof NetError) this.log.error('Failed to set ipvs timeouts')
  }

  private async restoreTimeouts(): Promise<void> {
    const saved = this.savedTimeouts
    if (!saved) return
    this.savedTimeouts = undefined
    const r = await this.ipvs.setTimeouts(saved)
    if (r instanceof NetError) this.log.error('Failed to set ipvs timeouts')
  }
}
