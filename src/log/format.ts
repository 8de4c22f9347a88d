/**
 * keepalived's log line shapes, as pure functions: the console line of `-n -l`,
 * the datagram glibc's syslog(3) sends to /dev/log, syslog facilities for `-S`,
 * and the wrapped `Command line:` lines. Checked against keepalived 2.2.7's own
 * output (reference §4.1, §4.2).
 */

/** syslog(3) severities (RFC 5424 numbers), the PRI's low three bits. */
export const SEVERITY = {
  emerg: 0, alert: 1, crit: 2, err: 3, warning: 4, notice: 5, info: 6, debug: 7,
} as const
export type SeverityName = keyof typeof SEVERITY

/** syslog facility numbers keepalived accepts with `-S` (the PRI's high bits). */
export const FACILITY = {
  user: 1, daemon: 3,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
} as const
export type FacilityName = keyof typeof FACILITY

export const DEFAULT_FACILITY: number = FACILITY.daemon

export class LogFacilityError extends Error {
  readonly code = 'KA_ERR_LOG_FACILITY'
}

/**
 * `-S` value → facility number. keepalived takes `0`–`7` as local0–local7, the
 * names `local0`–`local7`, `user` and `daemon`.
 */
export function parseFacility(text: string): number {
  if (/^[0-7]$/.test(text)) return FACILITY.local0 + Number(text)
  const known = FACILITY[text as FacilityName]
  if (known === undefined) throw new LogFacilityError(`Invalid log facility '${text}'`)
  return known
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n)
}

/** `%e`: the day of the month padded with a space, as strftime and glibc's syslog write it. */
function spaceDay(n: number): string {
  return n < 10 ? ` ${n}` : String(n)
}

function clock(d: Date): string {
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`
}

/** strftime `%c` in the C locale, local time: `Sat Nov 21 04:48:01 2026`. */
export function cTimestamp(d: Date): string {
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${spaceDay(d.getDate())} ${clock(d)} ${d.getFullYear()}`
}

/** keepalived's console line (`-l`): `%c: msg` and a newline; no ident, no pid, no level. */
export function consoleLine(d: Date, text: string): string {
  return `${cTimestamp(d)}: ${text}\n`
}

/**
 * The datagram glibc's syslog(3) sends for `openlog(ident, LOG_PID, facility)`:
 * `<PRI>Mmm dd hh:mm:ss ident[pid]: msg`, local time, no hostname, no newline.
 */
export function syslogDatagram(facility: number, severity: number, d: Date, ident: string, pid: number, text: string): string {
  return `<${facility * 8 + severity}>${MONTHS[d.getMonth()]} ${spaceDay(d.getDate())} ${clock(d)} ${ident}[${pid}]: ${text}`
}

/** keepalived breaks `Command line:` lines at 88 characters of arguments (measured on 2.2.7). */
const COMMAND_LINE_WIDTH = 88
const COMMAND_LINE_PREFIX = 'Command line: '

/**
 * The `Command line: 'a' 'b' …` lines keepalived logs at start: each argument in
 * single quotes, wrapped at a word boundary, continuation lines indented under
 * the first argument; a single argument wider than a line is cut.
 */
export function commandLineLines(argv: readonly string[]): string[] {
  const lines: string[] = []
  let current = ''
  for (const arg of argv) {
    const word = `'${arg}'`
    if (current !== '' && current.length + 1 + word.length <= COMMAND_LINE_WIDTH) {
      current += ` ${word}`
      continue
    }
    if (current !== '') lines.push(current)
    current = word
    while (current.length > COMMAND_LINE_WIDTH) {
      lines.push(current.slice(0, COMMAND_LINE_WIDTH))
      current = current.slice(COMMAND_LINE_WIDTH)
    }
  }
  if (current !== '' || lines.length === 0) lines.push(current)
  const indent = ' '.repeat(COMMAND_LINE_PREFIX.length)
  return lines.map((l, i) => (i === 0 ? COMMAND_LINE_PREFIX : indent) + l)
}
