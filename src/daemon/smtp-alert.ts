/**
 * keepalived's SMTP alerts on the wire (core/smtp.c, 2.2.7): each alert is
 * one connection to `smtp_server` speaking keepalived's dialogue — greeting
 * 220, `HELO`, `MAIL FROM`, one `RCPT TO` per `notification_email`, `DATA`,
 * the message (smtp-message.ts), `QUIT` — with every step (connect, each
 * reply) bounded by `smtp_connect_timeout`. A wrong reply code, a read
 * timeout or an over-long reply logs keepalived's line and ends with `QUIT`.
 *
 * Unlike keepalived, which opens a connection per alert at once, mails are
 * sent one at a time from a bounded queue: a failover that mails for every
 * instance and real server must not open dozens of sockets to a relay that
 * may be the thing that is down. A full queue drops the new alert with a line.
 *
 * Differences kept on purpose, each from a keepalived line that is
 * unreachable or unhelpful here: a refused or reset connection logs
 * `SMTP connection ERROR to [ip]:port.` (keepalived closes silently when
 * connect(2) fails at once and logs `smtp fd N returned write error` when it
 * fails later); a server that closes the connection logs keepalived's
 * `Remote SMTP server [ip]:port has closed the connection.`; a second
 * non-221 reply to QUIT is not answered with yet another QUIT.
 *
 * Nothing here throws or rejects; every socket and timer is released by the
 * end of each mail and by {@link SmtpAlerter.close}.
 */
import { lookup as dnsLookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { hostname as osHostname, userInfo } from 'node:os'
import { canonicalAddress } from '../config/lvs/address.js'
import type { GlobalDefs } from '../config/global/model.js'
import type { Logger } from '../log/logger.js'
import { connectStream, type ProbeStream } from '../net/stream-probe.js'
import {
  DATA_COMMAND, defaultEmailFrom, globalFlag, heloCommand, type MailState, type MailText, mailFromCommand, messageData,
  parseReply, QUIT_COMMAND, rcptToCommand, realServerMail, realServerSmtpAlert, rfc2822Date, SMTP_DEFAULT_TIMEOUT_MS,
  SMTP_REPLY_MAX, smtpConfigured, virtualServerMail, virtualServerSmtpAlert, vrrpGroupMail, vrrpInstanceMail, vrrpSmtpAlert,
} from './smtp-message.js'

export type { MailState } from './smtp-message.js'

/** Alerts waiting behind the one being sent; more are dropped. */
export const SMTP_QUEUE_MAX = 32

export interface ResolvedServer {
  readonly address: string
  readonly family: 4 | 6
}

export interface SmtpAlerterOptions {
  readonly global: GlobalDefs
  readonly log: Logger
  readonly connect?: typeof connectStream
  readonly now?: () => Date
  /** The local name (keepalived's get_local_name()): default router_id, HELO name and From domain. Default os.hostname(). */
  readonly hostname?: string
  /** The daemon's user, for the default From. Default os.userInfo().username. */
  readonly userName?: string
  /** Resolves a host-name `smtp_server`; default dns.lookup. undefined = not found. */
  readonly lookup?: (host: string) => Promise<ResolvedServer | undefined>
  readonly queueMax?: number
}

/** How one step of the dialogue went. */
type StepOutcome = 'ok' | 'quit' | 'end'

const UNKNOWN_NAME = '[unknown]'

export class SmtpAlerter {
  private readonly global: GlobalDefs
  private readonly log: Logger
  private readonly connect: typeof connectStream
  private readonly now: () => Date
  private readonly lookup: (host: string) => Promise<ResolvedServer | undefined>
  private readonly queueMax: number
  private readonly routerId: string
  private readonly heloName: string
  private readonly from: string
  private readonly timeoutMs: number
  private readonly queue: MailText[] = []
  /** vrrp->last_email_state / vgroup->last_email_state: one mail per state entered. */
  private readonly lastMailed = new Map<string, MailState>()
  private resolved: ResolvedServer | undefined
  private inFlight: AbortController | undefined
  private idleWaiters: (() => void)[] = []
  private closed = false

  constructor(o: SmtpAlerterOptions) {
    this.global = o.global
    this.log = o.log
    this.connect = o.connect ?? connectStream
    this.now = o.now ?? (() => new Date())
    this.lookup = o.lookup ?? defaultLookup
    this.queueMax = o.queueMax ?? SMTP_QUEUE_MAX
    const local = (o.hostname ?? safeHostname()) || UNKNOWN_NAME
    const known = local !== UNKNOWN_NAME
    this.routerId = o.global.routerId ?? local
    // helo_cmd() falls back to "localhost" when the local name is unknown.
    this.heloName = o.global.smtpHeloName ?? (known ? local : 'localhost')
    this.from = o.global.notificationEmailFrom ?? defaultEmailFrom(o.userName ?? safeUserName(), known ? local : 'localhost')
    const us = o.global.smtpConnectTimeout
    this.timeoutMs = us === undefined ? SMTP_DEFAULT_TIMEOUT_MS : Math.max(1, Math.round(us / 1000))
  }

  /** Alerts queued and not yet started. */
  get pending(): number {
    return this.queue.length
  }

  /**
   * vrrp_smtp_notifier(): an instance entered `state`. `enabled` is the
   * instance's smtp_alert (undefined: the global default). One mail per state
   * entered; none for FAULT with `no_email_faults`. True when queued.
   */
  vrrpInstance(name: string, state: MailState, enabled?: boolean): boolean {
    return this.vrrp(`I ${name}`, state, enabled, () => vrrpInstanceMail(this.routerId, name, state))
  }

  /** vrrp_sync_smtp_notifier(): the same for a sync group. */
  vrrpGroup(name: string, state: MailState, enabled?: boolean): boolean {
    return this.vrrp(`G ${name}`, state, enabled, () => vrrpGroupMail(this.routerId, name, state))
  }

  /**
   * A checker changed the state of a real server (SMTP_MSG_RS / SMTP_MSG_RS_SHUT).
   * `up` is the real server's state now, `body` the checker's text
   * (`=> TCP CHECK failed on service <=`), `enabled` the real server's
   * smtp_alert as written. With `no_checker_emails` a checker change that left
   * the real server as it was (`aliveChanged` false) is not mailed.
   */
  realServer(rsText: string, vsText: string, up: boolean, body: string, enabled: boolean | undefined, aliveChanged = true): boolean {
    if (!realServerSmtpAlert(enabled, this.global)) return false
    if (!aliveChanged && globalFlag(this.global, 'no_checker_emails')) return false
    return this.enqueue(realServerMail(this.routerId, rsText, vsText, up, body))
  }

  /** The quorum of a virtual server changed (SMTP_MSG_VS); body from quorumMailBody(). */
  virtualServer(vsText: string, up: boolean, body: string, enabled: boolean | undefined): boolean {
    if (!virtualServerSmtpAlert(enabled, this.global)) return false
    return this.enqueue(virtualServerMail(this.routerId, vsText, up, body))
  }

  /** Resolves once nothing is queued or being sent (or the alerter is closed). */
  whenIdle(): Promise<void> {
    if (this.closed || (!this.inFlight && this.queue.length === 0)) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /** Drop what is queued and abort the mail being sent; idempotent. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.queue.length = 0
    this.inFlight?.abort()
    this.settleIdle()
  }

  private vrrp(key: string, state: MailState, enabled: boolean | undefined, text: () => MailText): boolean {
    if (!vrrpSmtpAlert(enabled, this.global)) return false
    if (state === 'FAULT' && globalFlag(this.global, 'no_email_faults')) return false
    if (this.lastMailed.get(key) === state) return false
    this.lastMailed.set(key, state)
    return this.enqueue(text())
  }

  private enqueue(mail: MailText): boolean {
    if (this.closed || !smtpConfigured(this.global)) return false
    if (this.queue.length >= this.queueMax) {
      this.log.info(`SMTP alert queue full (${this.queueMax}) - dropping alert "${mail.subject}"`)
      return false
    }
    this.queue.push(mail)
    this.pump()
    return true
  }

  private pump(): void {
    if (this.inFlight || this.closed) return
    const mail = this.queue.shift()
    if (!mail) {
      this.settleIdle()
      return
    }
    const controller = new AbortController()
    this.inFlight = controller
    this.deliver(mail, controller.signal)
      .catch((err: unknown) => this.log.error(`SMTP alert failed: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        this.inFlight = undefined
        this.pump()
      })
  }

  private settleIdle(): void {
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const w of waiters) w()
  }

  private async deliver(mail: MailText, signal: AbortSignal): Promise<void> {
    const server = this.global.smtpServer!
    const target = await this.resolve(server.host)
    if (signal.aborted) return
    if (!target) {
      this.log.info(`SMTP connection ERROR to [${server.host}]:${server.port}.`)
      return
    }
    const host = `[${canonicalAddress(target.address)}]:${server.port}`
    const c = await this.connect({ address: target.address, port: server.port, family: target.family, timeoutMs: this.timeoutMs, signal })
    if (!c.ok) {
      if (c.error.kind === 'aborted') return
      // connection_in_progress(): the write timeout is tested before tcp_socket_state() could report connect_timeout.
      this.log.info(c.error.kind === 'connect-timeout' ? `Timeout opening connection to remote SMTP server ${host}.` : `SMTP connection ERROR to ${host}.`)
      return
    }
    this.log.detail(`Remote SMTP server ${host} connected.`)
    const session = new SmtpSession(c.stream, host, this.timeoutMs, this.log)
    try {
      await session.run([
        { command: undefined, expect: 220, name: '(E)SMTP' },
        { command: heloCommand(this.heloName), expect: 250, name: 'HELO' },
        { command: mailFromCommand(this.from), expect: 250, name: 'MAIL' },
        ...(this.global.notificationEmail ?? []).map((to) => ({ command: rcptToCommand(to), expect: 250, name: 'RCPT' })),
        { command: DATA_COMMAND, expect: 354, name: 'DATA' },
        {
          command: () => messageData({ ...mail, date: rfc2822Date(this.now()), from: this.from, to: this.global.notificationEmail ?? [] }),
          expect: 250,
          name: 'BODY',
          done: () => this.log.detail('SMTP alert successfully sent.'),
        },
      ])
    } finally {
      c.stream.close()
    }
  }

  /** keepalived resolves `smtp_server` once, when it reads the configuration; a failure here is retried next mail. */
  private async resolve(host: string): Promise<ResolvedServer | undefined> {
    const family = isIP(host)
    if (family === 4 || family === 6) return { address: host, family }
    this.resolved ??= await this.lookup(host).catch(() => undefined)
    return this.resolved
  }
}

interface DialogueStep {
  /** What to send first (built when sent, so the Date is the sending time); undefined for the greeting. */
  readonly command: string | (() => string) | undefined
  readonly expect: number
  /** keepalived's name in `Error processing %s cmd`. */
  readonly name: string
  readonly done?: () => void
}

/** One connection's dialogue; lines as smtp.c logs them. */
class SmtpSession {
  private buffer: Buffer = Buffer.alloc(0)

  constructor(
    private readonly stream: ProbeStream,
    private readonly host: string,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  async run(steps: readonly DialogueStep[]): Promise<void> {
    for (const step of steps) {
      const outcome = await this.step(step)
      if (outcome === 'end') return
      if (outcome === 'quit') break
      step.done?.()
    }
    await this.step({ command: QUIT_COMMAND, expect: 221, name: 'QUIT' }, true)
  }

  /** Send, read one reply, compare its code; 'quit' when keepalived would go on to QUIT. */
  private async step(step: DialogueStep, quitting = false): Promise<StepOutcome> {
    if (step.command !== undefined) {
      const text = typeof step.command === 'string' ? step.command : step.command()
      const err = await this.stream.write(text, this.timeoutMs)
      if (err) {
        if (err.kind !== 'aborted') this.log.info(`Cannot send data to remote SMTP server ${this.host}.`)
        return 'end'
      }
    }
    const reply = await this.readReply()
    if (typeof reply === 'number') {
      if (reply === step.expect) return 'ok'
      this.log.info(`Error processing ${step.name} cmd on SMTP server ${this.host}. SMTP status code = ${reply}`)
      return quitting ? 'end' : 'quit'
    }
    switch (reply) {
      case 'timeout':
        this.log.info(`Timeout reading data to remote SMTP server ${this.host}.`)
        break
      case 'overflow':
        this.log.info(`Received buffer from remote SMTP server ${this.host} overflow our get read buffer length.`)
        break
      case 'error':
        this.log.info(`Error reading data from remote SMTP server ${this.host}.`)
        break
      case 'closed':
        this.log.info(`Remote SMTP server ${this.host} has closed the connection.`)
        return 'end'
      case 'aborted':
        return 'end'
    }
    return quitting ? 'end' : 'quit'
  }

  /** The code of the next complete reply, or why there is none. */
  private async readReply(): Promise<number | 'timeout' | 'overflow' | 'error' | 'closed' | 'aborted'> {
    for (;;) {
      const parsed = parseReply(this.buffer)
      if (parsed.kind === 'reply') {
        this.buffer = this.buffer.subarray(parsed.length)
        return parsed.code
      }
      if (this.buffer.length >= SMTP_REPLY_MAX) {
        this.buffer = Buffer.alloc(0)
        return 'overflow'
      }
      const r = await this.stream.read(this.timeoutMs)
      if (r.kind === 'end') return 'closed'
      if (r.kind === 'error') {
        if (r.error.kind === 'read-timeout') return 'timeout'
        return r.error.kind === 'aborted' ? 'aborted' : 'error'
      }
      this.buffer = this.buffer.length === 0 ? r.data : Buffer.concat([this.buffer, r.data])
    }
  }
}

async function defaultLookup(host: string): Promise<ResolvedServer | undefined> {
  const r = await dnsLookup(host)
  return r.family === 4 || r.family === 6 ? { address: r.address, family: r.family } : undefined
}

function safeHostname(): string {
  try {
    return osHostname()
  } catch {
    return ''
  }
}

/** getpwuid(getuid()) fails in a container without a passwd entry; keepalived then has no default From. */
function safeUserName(): string {
  try {
    return userInfo().username || 'keepalived'
  } catch {
    return 'keepalived'
  }
}
