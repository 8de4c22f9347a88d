/**
 * The text form of the metrics listen address, shared by the `metrics_address`
 * keyword (global_defs, keepalived-ts only) and the command-line flag:
 * `IPV4:PORT` or `[IPV6]:PORT`, an IP literal so that start-up never waits on
 * name resolution. Pure; no socket is opened here.
 */
import { isIP } from 'node:net'

export interface ListenAddress {
  /** The IP literal, without brackets. */
  readonly host: string
  readonly port: number
  readonly family: 4 | 6
}

/** The parsed address, or a sentence saying what is wrong with it. */
export function parseListenAddress(text: string): ListenAddress | string {
  const bracketed = /^\[([^\]]*)\]:(\d{1,5})$/.exec(text)
  const plain = bracketed ? undefined : /^([^:[\]]*):(\d{1,5})$/.exec(text)
  const match = bracketed ?? plain
  if (!match) return `'${text}' is not ADDRESS:PORT (an IPv6 address goes in brackets: [::1]:9650)`
  const host = match[1]!
  const port = Number(match[2])
  const family = isIP(host)
  if (family === 0) return `'${host}' is not an IP address`
  if (bracketed ? family !== 6 : family !== 4) return `'${text}': only an IPv6 address goes in brackets`
  if (port < 1 || port > 65535) return `port ${match[2]} is not in 1..65535`
  return { host, port, family: family === 4 ? 4 : 6 }
}

/** The canonical text: `127.0.0.1:9650`, `[::1]:9650`. */
export function listenAddressText(a: { readonly host: string; readonly port: number }): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`
}
