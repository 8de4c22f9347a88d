/**
 * `keepalived-ts status [--json] [--socket PATH] [--timeout SECONDS]`: asks the running daemon
 * over its control socket and prints its VRRP instances and virtual servers
 * as a table, or the status as JSON. Exit codes: 0 printed, 1 the daemon
 * answered with an error or with something that is not a status, 2 usage,
 * 3 no daemon answers, 4 permission denied (the socket is root's).
 */
import { fetchDaemonStatus } from '../status/client.js'
import { formatStatusJson, formatStatusTable } from '../status/format.js'
import { DEFAULT_CONTROL_SOCKET } from '../status/protocol.js'

export const STATUS_EXIT = {
  OK: 0,
  BAD_ANSWER: 1,
  USAGE: 2,
  NO_DAEMON: 3,
  PERMISSION: 4,
} as const

export interface StatusIo {
  stdout(s: string): void
  stderr(s: string): void
}

export function statusUsage(): string {
  return [
    'Usage: keepalived-ts status [--json] [--socket PATH] [--timeout SECONDS]',
    '  -j, --json           print the status as JSON',
    `  -s, --socket=PATH    the daemon's control socket (default ${DEFAULT_CONTROL_SOCKET})`,
    '  --timeout=SECONDS    how long to wait for the answer (default 10)',
    '  -h, --help           this text',
    '',
  ].join('\n')
}

interface StatusArgs {
  readonly json: boolean
  readonly socket: string
  readonly help: boolean
  readonly timeoutMs: number
}

/** `--name VALUE` or `--name=VALUE`: the value and the index of the last word used, or an error. */
function optionValue(words: readonly string[], i: number, names: readonly string[]): { value: string; next: number } | string | undefined {
  const w = words[i]!
  if (names.includes(w)) {
    const value = words[i + 1]
    return value === undefined || value === '' ? `${w} needs a value` : { value, next: i + 1 }
  }
  const long = names.find((n) => n.startsWith('--') && w.startsWith(`${n}=`))
  if (!long) return undefined
  const value = w.slice(long.length + 1)
  return value === '' ? `${long} needs a value` : { value, next: i }
}

function parseArgs(argv: readonly string[]): StatusArgs | string {
  let json = false
  let help = false
  let socket: string = DEFAULT_CONTROL_SOCKET
  let timeoutMs = 10_000
  // The words after `status`; a leading `status` is tolerated so either slice works.
  const words = argv[0] === 'status' ? argv.slice(1) : argv
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!
    if (w === '--json' || w === '-j') json = true
    else if (w === '--help' || w === '-h') help = true
    else {
      const socketOpt = optionValue(words, i, ['--socket', '-s'])
      const timeoutOpt = socketOpt === undefined ? optionValue(words, i, ['--timeout']) : undefined
      const opt = socketOpt ?? timeoutOpt
      if (opt === undefined) return `unknown argument '${w}'`
      if (typeof opt === 'string') return opt
      i = opt.next
      if (socketOpt !== undefined) socket = opt.value
      else {
        const seconds = Number(opt.value)
        if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) return `--timeout takes seconds (0 < s <= 3600), not '${opt.value}'`
        timeoutMs = Math.round(seconds * 1000)
      }
    }
  }
  return { json, socket, help, timeoutMs }
}

/** Run `keepalived-ts status`; `argv` is what follows `status` on the command line. */
export async function runStatus(argv: string[], io: StatusIo): Promise<number> {
  const args = parseArgs(argv)
  if (typeof args === 'string') {
    io.stderr(`keepalived-ts status: ${args}\n${statusUsage()}`)
    return STATUS_EXIT.USAGE
  }
  if (args.help) {
    io.stdout(statusUsage())
    return STATUS_EXIT.OK
  }
  const result = await fetchDaemonStatus(args.socket, { timeoutMs: args.timeoutMs })
  if (result.ok) {
    io.stdout(args.json ? formatStatusJson(result.status) : formatStatusTable(result.status))
    return STATUS_EXIT.OK
  }
  switch (result.code) {
    case 'KA_NET_NO_SERVER':
      io.stderr(`keepalived-ts status: ${result.message}: is keepalived-ts running?\n`)
      return STATUS_EXIT.NO_DAEMON
    case 'KA_NET_TIMEOUT':
      io.stderr(`keepalived-ts status: ${result.message}: the daemon is not answering\n`)
      return STATUS_EXIT.NO_DAEMON
    case 'KA_NET_PERMISSION':
      io.stderr(`keepalived-ts status: ${result.message}; run it as root\n`)
      return STATUS_EXIT.PERMISSION
    case 'KA_NET_INVALID_ADDRESS':
      io.stderr(`keepalived-ts status: ${result.message}\n`)
      return STATUS_EXIT.USAGE
    default:
      io.stderr(`keepalived-ts status: ${result.message}\n`)
      return STATUS_EXIT.BAD_ANSWER
  }
}
