/**
 * Where a connecting checker (TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK)
 * connects, from its `connect_ip`/`connect_port`/`bindto`/`bind_port`/
 * `bind_if`/`fwmark`/`connect_timeout` and the real server it belongs to, in
 * the shape src/net/stream-probe.ts takes; and keepalived's texts for a
 * connection's address (inet_sockaddrtos / inet_sockaddrtopair).
 */
import { isIPv6 } from 'node:net'
import type { CheckerConnection } from '../config/lvs/model.js'
import { addressBytes, addressText } from '../net/ip-address.js'
import type { CheckTarget } from './probe.js'

/** A checker's destination and socket options, resolved. */
export interface Destination {
  readonly address: string
  readonly port: number
  readonly family: 4 | 6
  readonly bindAddress: string | undefined
  readonly bindPort: number | undefined
  readonly bindInterface: string | undefined
  readonly fwmark: number | undefined
  /** connect_timeout in milliseconds (the model keeps microseconds). */
  readonly timeoutMs: number
}

/** The checker's connect_ip/connect_port, else the real server's. */
export function destinationOf(conn: CheckerConnection, target: CheckTarget): Destination {
  const address = conn.connectIp ?? target.address
  return {
    address,
    port: conn.connectPort ?? target.port,
    family: conn.connectIp === undefined ? target.family : isIPv6(conn.connectIp.split('%')[0]!) ? 6 : 4,
    bindAddress: conn.bindto,
    bindPort: conn.bindPort,
    bindInterface: conn.bindIf,
    fwmark: conn.fwmark,
    timeoutMs: Math.max(1, Math.round(conn.connectTimeout / 1000)),
  }
}

/** The address as inet_ntop prints it (IPv6 compressed, lower case, no scope). */
export function addressString(address: string): string {
  const bare = address.split('%')[0]!
  if (!isIPv6(bare)) return bare
  const bytes = addressBytes(bare)
  return bytes ? addressText(bytes) : bare
}

/** keepalived's inet_sockaddrtopair(): `[10.0.0.2]:25`, `[2001:db8::2]:25`. */
export function addressPortText(d: Pick<Destination, 'address' | 'port'>): string {
  return `[${addressString(d.address)}]:${d.port}`
}
