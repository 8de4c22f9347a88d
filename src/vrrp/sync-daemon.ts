/**
 * `lvs_sync_daemon IF [INSTANCE] …` (reference §6.2): the kernel's IPVS
 * connection synchronisation daemon follows a VRRP instance, as keepalived's
 * VRRP process drives it — the master daemon while the instance is MASTER,
 * the backup daemon otherwise, both stopped at exit. Without an instance both
 * run. Leftover daemons (a previous run killed) are stopped first.
 *
 * {@link syncDaemonSteps} is the pure decision; {@link LvsSyncDaemon} performs
 * it through an injected IPVS client, one change at a time, in order.
 */
import type { SyncDaemon } from '../config/global/model.js'
import type { Logger } from '../log/logger.js'
import { NetError } from '../net/errors.js'
import type { IpvsSyncDaemon } from '../net/ipvs-types.js'

type DaemonState = IpvsSyncDaemon['state']

export interface SyncDaemonStep {
  readonly op: 'start' | 'stop'
  readonly state: DaemonState
}

/** What to do when the followed instance's state becomes `vrrpState`, given the daemon running now. */
export function syncDaemonSteps(running: DaemonState | undefined, vrrpState: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP'): SyncDaemonStep[] {
  if (vrrpState === 'STOP') return running ? [{ op: 'stop', state: running }] : []
  const wanted: DaemonState = vrrpState === 'MASTER' ? 'master' : 'backup'
  if (running === wanted) return []
  return [...(running ? [{ op: 'stop' as const, state: running }] : []), { op: 'start', state: wanted }]
}

/** The part of the IPVS client this needs. */
export interface SyncDaemonClient {
  startDaemon(d: IpvsSyncDaemon): Promise<void | NetError>
  stopDaemon(state: DaemonState): Promise<void | NetError>
  close(): void
}

export class LvsSyncDaemon {
  private running: DaemonState | undefined
  private work: Promise<void> = Promise.resolve()

  constructor(
    private readonly config: SyncDaemon,
    private readonly client: SyncDaemonClient,
    private readonly log: Logger,
  ) {}

  /** The instance whose transitions drive the daemon; undefined: both daemons run. */
  get instance(): string | undefined {
    return this.config.instance
  }

  /** Stop leftovers, then start both daemons when no instance is named (else wait for its state). */
  start(): Promise<void> {
    return this.enqueue(async () => {
      for (const state of ['master', 'backup'] as const) await this.client.stopDaemon(state)
      if (this.config.instance === undefined) {
        for (const state of ['master', 'backup'] as const) await this.perform({ op: 'start', state })
      }
    })
  }

  /** The followed instance entered `state`. */
  transition(state: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP'): Promise<void> {
    return this.enqueue(async () => {
      for (const step of syncDaemonSteps(this.running, state)) await this.perform(step)
    })
  }

  /** Stop whatever runs and close the client. */
  stop(): Promise<void> {
    return this.enqueue(async () => {
      for (const state of ['master', 'backup'] as const) {
        if (this.config.instance === undefined || this.running === state) await this.perform({ op: 'stop', state })
      }
      this.client.close()
    })
  }

  private async perform(step: SyncDaemonStep): Promise<void> {
    const c = this.config
    const r = step.op === 'start'
      ? await this.client.startDaemon({ state: step.state, interface: c.interface, syncId: c.id ?? 0, maxLength: c.maxlen, port: c.port, ttl: c.ttl, group: c.group })
      : await this.client.stopDaemon(step.state)
    if (r instanceof NetError && !(step.op === 'stop' && r.errno?.name === 'ESRCH')) {
      this.log.error(`IPVS: cannot ${step.op} the ${step.state} sync daemon on ${c.interface}: ${r.message}`)
      return
    }
    if (step.op === 'start') {
      this.running = step.state
      this.log.info(`Starting IPVS ${step.state} sync daemon on ${c.interface} (syncid ${c.id ?? 0})`)
    } else {
      if (this.running === step.state) this.running = undefined
      this.log.detail(`Stopped IPVS ${step.state} sync daemon`)
    }
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    this.work = this.work.then(fn).catch((err: unknown) => this.log.error(`IPVS sync daemon: ${(err as Error).message}`))
    return this.work
  }
}
