/**
 * The pure half of keepalived's SMTP alerts (core/smtp.c, vrrp/vrrp_notify.c,
 * check/ipwrapper.c, check/check_data.c in 2.2.7): who gets mail for what,
 * the subjects and bodies keepalived writes, the message it sends after DATA,
 * the commands of its dialogue and the reply parser. The I/O half is
 * smtp-alert.ts.
 *
 * Kept on purpose: the header set and order (`Date`, `From`, `Subject`,
 * `X-Mailer: Keepalived`, `To`), the blank line keepalived leaves between the
 * body and the final dot, the 255-character subject and 511-character body
 * limits (MAX_HEADERS_LENGTH / MAX_BODY_LENGTH less the NUL). Added on
 * purpose (RFC 5321 §4.5.2, RFC 5322 §2.2): body lines that start with a dot
 * are dot-stuffed, every line ends in CRLF and header values are kept on one
 * line — keepalived's own texts never need it, a checker's reason might.
 */
import type { GlobalDefs } from '../config/global/model.js'

/** DEFAULT_SMTP_CONNECTION_TIMEOUT: 30 s. */
export const SMTP_DEFAULT_TIMEOUT_MS = 30_000
/** SMTP_BUFFER_MAX: a reply that does not end within this many bytes is refused. */
export const SMTP_REPLY_MAX = 1024
const SUBJECT_MAX = 255
const BODY_MAX = 511

/** The states keepalived mails about (vrrp_smtp_notifier); INIT never is. */
export type MailState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP'

export interface MailText {
  readonly subject: string
  readonly body: string
}

// ---------------------------------------------------------------------------
// Who gets mail for what

/** smtp_alert(): nothing is sent unless both `smtp_server` and a `notification_email` are set. */
export function smtpConfigured(global: GlobalDefs): boolean {
  return global.smtpServer !== undefined && (global.notificationEmail?.length ?? 0) > 0
}

/** vrrp_complete_instance() / sync group: as written, else `smtp_alert_vrrp`, else `smtp_alert`, else false. */
export function vrrpSmtpAlert(written: boolean | undefined, global: GlobalDefs): boolean {
  return written ?? global.smtpAlertVrrp ?? global.smtpAlert ?? false
}

/** check_data.c: as written, else `smtp_alert_checker`, else `smtp_alert`, else **true** (keepalived's backward compatibility). */
export function realServerSmtpAlert(written: boolean | undefined, global: GlobalDefs): boolean {
  return written ?? global.smtpAlertChecker ?? global.smtpAlert ?? true
}

/** check_data.c: as written, else `smtp_alert_checker`, else `smtp_alert`, else false. */
export function virtualServerSmtpAlert(written: boolean | undefined, global: GlobalDefs): boolean {
  return written ?? global.smtpAlertChecker ?? global.smtpAlert ?? false
}

/** A tier-3 global flag kept as written (`no_email_faults`, `no_checker_emails`). */
export function globalFlag(global: GlobalDefs, keyword: 'no_email_faults' | 'no_checker_emails'): boolean {
  return global.unsupported.some((s) => s.keyword === keyword)
}

// ---------------------------------------------------------------------------
// Subjects and bodies

const INSTANCE_TEXT: Readonly<Record<MailState, readonly [string, string]>> = {
  MASTER: ['Entering MASTER state', '=> VRRP Instance is now owning VRRP VIPs <='],
  BACKUP: ['Entering BACKUP state', '=> VRRP Instance is no longer owning VRRP VIPs <='],
  FAULT: ['Entering FAULT state', '=> VRRP Instance is no longer owning VRRP VIPs <='],
  STOP: ['Stopping', '=> VRRP Instance stopping <='],
}

const GROUP_TEXT: Readonly<Record<MailState, readonly [string, string]>> = {
  MASTER: ['Entering MASTER state', '=> All VRRP group instances are now in MASTER state <='],
  BACKUP: ['Entering BACKUP state', '=> All VRRP group instances are now in BACKUP state <='],
  FAULT: ['Entering FAULT state', '=> All VRRP group instances are now in FAULT state <='],
  STOP: ['Stopping', '=> All VRRP group instances are now stopping <='],
}

/** `[router] VRRP Instance VI_1 - Entering MASTER state`. */
export function vrrpInstanceMail(routerId: string, name: string, state: MailState): MailText {
  const [what, body] = INSTANCE_TEXT[state]
  return { subject: `[${routerId}] VRRP Instance ${name} - ${what}`, body }
}

/** `[router] VRRP Group VG1 - Entering BACKUP state`. */
export function vrrpGroupMail(routerId: string, name: string, state: MailState): MailText {
  const [what, body] = GROUP_TEXT[state]
  return { subject: `[${routerId}] VRRP Group ${name} - ${what}`, body }
}

/** `[router] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN`; the body is the checker's. */
export function realServerMail(routerId: string, rsText: string, vsText: string, up: boolean, body: string): MailText {
  return { subject: `[${routerId}] Realserver ${rsText} of virtual server ${vsText} - ${up ? 'UP' : 'DOWN'}`, body }
}

/** `[router] Virtualserver [10.0.0.1]:tcp:80 - UP`. */
export function virtualServerMail(routerId: string, vsText: string, up: boolean, body: string): MailText {
  return { subject: `[${routerId}] Virtualserver ${vsText} - ${up ? 'UP' : 'DOWN'}`, body }
}

export interface QuorumMailInput {
  /** The quorum state after the change. */
  readonly up: boolean
  /** At start-up (`Starting with quorum up|down`). */
  readonly init?: boolean
  /** At shutdown (omega): `=> Shutting down <=`. */
  readonly stopping?: boolean
  readonly quorum: number
  readonly hysteresis: number
  /** quorum + hysteresis when gaining, quorum − hysteresis when losing, as the log line has it. */
  readonly threshold: number
  readonly weightSum: number
}

/**
 * do_vs_notifies(): `=> Gained quorum 1+0=1 <= 2 <=`. keepalived writes `+` and
 * `<=` whichever way the quorum went (`=> Lost quorum 2+1=1 <= 0 <=`), unlike
 * its log line; kept.
 */
export function quorumMailBody(q: QuorumMailInput): string {
  if (q.stopping) return '=> Shutting down <='
  const what = q.up ? (q.init ? 'Starting with quorum up' : 'Gained quorum') : q.init ? 'Starting with quorum down' : 'Lost quorum'
  return `=> ${what} ${q.quorum}+${q.hysteresis}=${q.threshold} <= ${q.weightSum} <=`
}

// ---------------------------------------------------------------------------
// The message and the dialogue

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const two = (n: number): string => String(n).padStart(2, '0')

/**
 * strftime("%a, %d %b %Y %H:%M:%S %z") in the C locale: `Mon, 01 Mar 2021 09:44:08 +0100`.
 * Local time unless an offset (minutes east of UTC) is given.
 */
export function rfc2822Date(date: Date, offsetMinutes = -date.getTimezoneOffset()): string {
  const t = new Date(date.getTime() + offsetMinutes * 60_000)
  const sign = offsetMinutes < 0 ? '-' : '+'
  const abs = Math.abs(offsetMinutes)
  return `${DAYS[t.getUTCDay()]}, ${two(t.getUTCDate())} ${MONTHS[t.getUTCMonth()]} ${t.getUTCFullYear()} ` +
    `${two(t.getUTCHours())}:${two(t.getUTCMinutes())}:${two(t.getUTCSeconds())} ${sign}${two(Math.floor(abs / 60))}${two(abs % 60)}`
}

/** set_default_email_from(): `<user>@<local name>`, the user being the daemon's (getpwuid(getuid())). */
export function defaultEmailFrom(user: string, localName: string): string {
  return `${user}@${localName}`
}

/** A header value on one line: a CR or LF in it would start a header (or the body) of its own. */
function oneLine(text: string): string {
  return text.replace(/\r\n|[\r\n]/g, ' ')
}

/** The reverse-/forward-path: `Name <a@b>` keeps its own brackets, a bare address gets them. */
export function mailPath(address: string): string {
  const open = address.lastIndexOf('<')
  return address.endsWith('>') && open >= 0 ? address.slice(open) : `<${address}>`
}

export const heloCommand = (name: string): string => `HELO ${oneLine(name)}\r\n`
export const mailFromCommand = (from: string): string => `MAIL FROM:${oneLine(mailPath(from))}\r\n`
export const rcptToCommand = (to: string): string => `RCPT TO:${oneLine(mailPath(to))}\r\n`
export const DATA_COMMAND = 'DATA\r\n'
export const QUIT_COMMAND = 'QUIT\r\n'

export interface MessageInput extends MailText {
  readonly date: string
  readonly from: string
  readonly to: readonly string[]
}

/**
 * What follows DATA, up to and including the final `.` line: keepalived's
 * headers, a blank line, the body, keepalived's extra blank line, the dot.
 */
export function messageData(m: MessageInput): string {
  const headers = [
    `Date: ${oneLine(m.date)}`,
    `From: ${oneLine(m.from)}`,
    `Subject: ${oneLine(m.subject.slice(0, SUBJECT_MAX))}`,
    'X-Mailer: Keepalived',
    `To: ${oneLine(m.to.join(', '))}`,
  ]
  const body = m.body.slice(0, BODY_MAX).split(/\r\n|[\r\n]/).map((line) => (line.startsWith('.') ? `.${line}` : line))
  return `${headers.join('\r\n')}\r\n\r\n${body.join('\r\n')}\r\n\r\n.\r\n`
}

export type ReplyParse =
  /** A complete reply: its code and how many bytes it took (continuation lines included). */
  | { readonly kind: 'reply'; readonly code: number; readonly length: number }
  /** No final line yet. */
  | { readonly kind: 'partial' }

/**
 * smtp_read_thread(): skip `250-` continuation lines, take the code of the
 * first final line. A line without three digits counts as code 0 (keepalived
 * would compute a meaningless number from its characters).
 */
export function parseReply(buffer: Buffer): ReplyParse {
  let start = 0
  for (;;) {
    const end = buffer.indexOf('\r\n', start)
    if (end < 0) return { kind: 'partial' }
    const line = buffer.toString('latin1', start, end)
    start = end + 2
    if (line[3] === '-') continue
    const digits = /^\d{3}/.exec(line)
    return { kind: 'reply', code: digits ? Number(digits[0]) : 0, length: start }
  }
}
