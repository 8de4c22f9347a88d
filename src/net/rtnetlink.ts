/**
 * One rtnetlink request socket (netlink 0.3.0) with errors turned into values.
 *
 * Requests go through the package's low-level `request` with `checkError:
 * false`, so the kernel's NLMSG_ERROR is read here as a number (the package's
 * own check throws `Error("Request rejected: EEXIST")`). Replies are parsed
 * with `rt.parseMessage`. The socket lives in the network namespace it was
 * created in (see netns.ts). The package only encodes creations correctly with
 * CREATE|EXCL given explicitly (else ENODEV; platform.md).
 */
import { AttrStream, FlagsNew, MessageType as NetlinkMessageType, createRtNetlink, parseError, rt } from 'netlink'
import type { RtNetlinkSocket } from 'netlink'
import { NetError, errnoOf, fromNetlinkFailure } from './errors.js'

/** What each request may take; the kernel answers in 1–3 ms (platform.md). */
const REQUEST_TIMEOUT_MS = 5_000

/** The rtnetlink message kinds we send. */
export const RTM = rt.MessageType

/** Flags for a creation that must not replace anything (`ip addr add`, `ip link add`). */
export const CREATE_EXCL = FlagsNew.CREATE | FlagsNew.EXCL

/** What the request concerns, for the NetError. */
export interface RequestAbout {
  operation: string
  interface?: string | undefined
  address?: string | undefined
}

/** A parsed answer; an NLMSG_ERROR with errno 0 (an ACK) yields no messages. */
export type RtReply = rt.Message[]

/** An open rtnetlink request channel. */
export interface Rtnetlink {
  /** Send one request (REQUEST|ACK added) and wait for its answer. */
  request(type: rt.MessageType, body: (out: AttrStream) => void, flags: number, about: RequestAbout): Promise<RtReply | NetError>
  /** Safe to call more than once. */
  close(): void
}

/** Open an rtnetlink socket in the current network namespace. */
export function openRtnetlink(): Rtnetlink | NetError {
  let socket: RtNetlinkSocket
  try {
    socket = createRtNetlink()
  } catch (err) {
    return fromNetlinkFailure(err, 'open rtnetlink socket')
  }
  let closed = false
  return {
    async request(type, body, flags, about) {
      if (closed) return new NetError('KA_NET_CLOSED', 'the rtnetlink socket is closed', about)
      const out = new AttrStream()
      try {
        body(out)
      } catch (err) {
        return new NetError('KA_NET_INVALID_ADDRESS', `cannot encode ${about.operation}: ${(err as Error).message}`, { ...about, cause: err })
      }
      try {
        const [messages] = await socket.socket.request(type, out.bufs, { flags, checkError: false, timeout: REQUEST_TIMEOUT_MS })
        const parsed: rt.Message[] = []
        for (const m of messages) {
          if (m.type === NetlinkMessageType.ERROR) {
            const errno = parseError(m.data, m.flags).errno
            if (errno !== 0) {
              const e = errnoOf(errno)
              const what = [about.interface && `interface ${about.interface}`, about.address && `address ${about.address}`].filter(Boolean).join(', ')
              return new NetError('KA_NET_NETLINK', `${about.operation} rejected: ${e.name}${what ? ` (${what})` : ''}`, { ...about, errno: e })
            }
            continue
          }
          if (m.type === NetlinkMessageType.DONE || m.type === NetlinkMessageType.NOOP) continue
          parsed.push(rt.parseMessage(m.type, m.data))
        }
        return parsed
      } catch (err) {
        return fromNetlinkFailure(err, about.operation, about)
      }
    },
    close() {
      if (closed) return
      closed = true
      socket.socket.close()
    },
  }
}

/** Whether a result is the given errno (by name), so callers can treat e.g. EEXIST as "already there". */
export function isErrno(result: unknown, name: string): result is NetError {
  return result instanceof NetError && result.errno?.name === name
}
