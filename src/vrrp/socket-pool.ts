/**
 * keepalived's VRRP sockpool: one socket per (interface, family, unicast
 * source or multicast group), shared by every instance that uses it, opened
 * when the first user arrives and closed when the last one leaves (a reload
 * can do either). Datagrams are handed up with the socket's key; which
 * instance they are for is the runtime's business.
 */
import type { Logger } from '../log/logger.js'
import { NetError, openVrrpSocket, type ReceivedVrrp, type VrrpSocket } from '../net/index.js'
import type { InterfaceInfo } from './kernel-actions.js'

export interface SocketSpec {
  /** The interface the socket is bound to (the VMAC when adverts go from it). */
  readonly link: InterfaceInfo
  readonly family: 4 | 6
  readonly unicast: boolean
  readonly source: string
  readonly group: string
}

/** One pooled socket, for the data dump. */
export interface PooledSocket {
  readonly key: string
  readonly spec: SocketSpec
  readonly socket: VrrpSocket
  readonly users: ReadonlySet<string>
}

export function socketKey(spec: SocketSpec): string {
  return `${spec.link.name}|${spec.family}|${spec.unicast ? 'u' : 'm'}|${spec.unicast ? spec.source : spec.group}`
}

export class SocketPool {
  private readonly pool = new Map<string, { spec: SocketSpec; socket: VrrpSocket; users: Set<string> }>()

  constructor(
    private readonly log: Logger,
    private readonly onPacket: (key: string, packet: ReceivedVrrp) => void,
  ) {}

  /**
   * The socket for `spec`, opened if new, with `user` (a token unique to one
   * live instance) counted in; undefined (logged for instance `name`) if it
   * cannot be opened.
   */
  acquire(user: string, name: string, spec: SocketSpec): { key: string; socket: VrrpSocket } | undefined {
    const key = socketKey(spec)
    const known = this.pool.get(key)
    if (known) {
      known.users.add(user)
      return { key, socket: known.socket }
    }
    const { link, family, unicast, source, group } = spec
    const opened = openVrrpSocket({ interface: link.name, family, mode: unicast ? 'unicast' : 'multicast', group, source })
    if (opened instanceof NetError) {
      this.log.error(`(${name}) cannot open VRRP socket on ${link.name}: ${opened.message}`)
      return undefined
    }
    opened.onPacket((p) => this.onPacket(key, p))
    opened.onError((e) => this.log.error(`VRRP socket on ${link.name}: ${e.message}`))
    this.pool.set(key, { spec, socket: opened, users: new Set([user]) })
    this.log.info(`VRRP sockpool: [ifindex(${String(link.index).padStart(3)}), family(IPv${family}), proto(112), ${unicast ? 'unicast' : 'multicast'}, address(${unicast ? source : group})]`)
    return { key, socket: opened }
  }

  /** `user` no longer uses its socket; a socket nobody uses is closed. */
  release(user: string): void {
    for (const [key, entry] of this.pool) {
      if (!entry.users.delete(user) || entry.users.size > 0) continue
      entry.socket.close()
      this.pool.delete(key)
    }
  }

  get(key: string): VrrpSocket | undefined {
    return this.pool.get(key)?.socket
  }

  list(): PooledSocket[] {
    return [...this.pool].map(([key, e]) => ({ key, spec: e.spec, socket: e.socket, users: e.users }))
  }

  closeAll(): void {
    for (const e of this.pool.values()) e.socket.close()
    this.pool.clear()
  }
}
