/**
 * Link and address changes from the kernel (rtnetlink multicast groups LINK,
 * IPV4_IFADDR, IPV6_IFADDR), as typed events.
 *
 * We read the underlying netlink socket and parse each message with its type,
 * because the package's high-level `message` event drops the type and an
 * RTM_NEWADDR looks like an RTM_DELADDR there (platform.md). Each link event
 * carries the link's whole current state: the kernel coalesces a quick
 * down/up into one message, so consumers must act on the state, not on the
 * number of events.
 */
import { createRtNetlink, rt } from 'netlink'
import type { RtNetlinkSocket } from 'netlink'
import { NetError, fromNetlinkFailure } from './errors.js'
import { addressFromMessage, type InterfaceAddress } from './addresses.js'
import { linkFromMessage, type Link } from './links.js'

/** An interface appeared, changed or disappeared. */
export interface LinkEvent extends Link {
  type: 'link'
  /** `removed` for RTM_DELLINK; otherwise the state below is current. */
  change: 'changed' | 'removed'
}

/** An address was added to or removed from an interface. */
export interface AddressEvent extends InterfaceAddress {
  type: 'address'
  change: 'added' | 'removed'
  /** The interface's name when a link event or message named it; IPv6 messages carry only the index. */
  interface: string | undefined
}

export type NetworkEvent = LinkEvent | AddressEvent

/** A running watcher; `close` stops it. */
export interface NetworkEventWatcher {
  close(): void
}

/** Options for {@link watchNetworkEvents}. */
export interface WatchOptions {
  /** Interface names known beforehand (index → name), e.g. from listLinks, for IPv6 address events. */
  names?: ReadonlyMap<number, string>
  /** Keep the event loop alive while watching (default false: the daemon's timers do that). */
  keepAlive?: boolean
}

/**
 * Subscribe in the current network namespace. `onEvent` is called once per
 * kernel message; a message that cannot be parsed goes to `onError` and the
 * watcher carries on.
 */
export function watchNetworkEvents(
  onEvent: (event: NetworkEvent) => void,
  onError: (error: NetError) => void,
  options: WatchOptions = {},
): NetworkEventWatcher | NetError {
  let socket: RtNetlinkSocket
  try {
    // A large receive buffer: a burst of changes (many VIPs at once) must not end in ENOBUFS.
    socket = createRtNetlink({ ref: options.keepAlive ?? false, recvBufferSize: 1 << 20, sendBufferSize: 65_536 })
    socket.addMembership('LINK')
    socket.addMembership('IPV4_IFADDR')
    socket.addMembership('IPV6_IFADDR')
  } catch (err) {
    return fromNetlinkFailure(err, 'subscribe to rtnetlink link and address groups')
  }
  const names = new Map(options.names ?? [])
  socket.socket.on('message', (messages) => {
    for (const m of messages) {
      try {
        const event = toEvent(m.type, m.data, names)
        if (event) onEvent(event)
      } catch (cause) {
        onError(new NetError('KA_NET_MALFORMED', `unreadable rtnetlink event (type ${m.type})`, { operation: 'rtnetlink event', cause }))
      }
    }
  })
  socket.socket.on('error', (err) => onError(fromNetlinkFailure(err, 'rtnetlink event socket')))
  let closed = false
  return {
    close() {
      if (closed) return
      closed = true
      socket.socket.close()
    },
  }
}

function toEvent(type: number, data: Buffer, names: Map<number, string>): NetworkEvent | undefined {
  if (type === rt.MessageType.NEWLINK || type === rt.MessageType.DELLINK) {
    const link = linkFromMessage(rt.parseMessage(type, data) as rt.LinkMessage)
    if (type === rt.MessageType.DELLINK) names.delete(link.index)
    else names.set(link.index, link.name)
    return { type: 'link', change: type === rt.MessageType.DELLINK ? 'removed' : 'changed', ...link }
  }
  if (type === rt.MessageType.NEWADDR || type === rt.MessageType.DELADDR) {
    const address = addressFromMessage(rt.parseMessage(type, data) as rt.AddressMessage)
    if (!address) return undefined
    // An IPv4 label is the interface name optionally followed by ":something".
    const name = names.get(address.index) ?? address.label?.split(':')[0]
    return { type: 'address', change: type === rt.MessageType.NEWADDR ? 'added' : 'removed', interface: name, ...address }
  }
  return undefined
}
