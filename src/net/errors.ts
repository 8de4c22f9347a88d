/**
 * Errors from the kernel side, as values with stable codes.
 *
 * Everything in src/net reports failures as {@link NetError}: a `code` callers
 * branch on, the kernel's errno (number and name) when there is one, the
 * operation that failed, and the interface or address it concerns. Callers
 * never match message text (the netlink package only gives strings such as
 * "Request rejected: EEXIST"; {@link fromNetlinkFailure} parses them once, here).
 */
import { constants as osConstants } from 'node:os'
import { getSystemErrorName } from 'node:util'

/** Stable codes; the set only grows. */
export type NetErrorCode =
  /** socket(2) failed. */
  | 'KA_NET_SOCKET'
  /** setsockopt(2) failed. */
  | 'KA_NET_SOCKOPT'
  /** bind(2) failed. */
  | 'KA_NET_BIND'
  /** sendto(2)/sendmsg(2) failed. */
  | 'KA_NET_SEND'
  /** recvmsg(2) failed. */
  | 'KA_NET_RECV'
  /** A datagram could not be read as what the socket carries (short, truncated, bad header). */
  | 'KA_NET_MALFORMED'
  /** A receive callback threw; reported instead of breaking the receive loop. */
  | 'KA_NET_HANDLER'
  /** The interface does not exist (if_nametoindex or the link dump found nothing). */
  | 'KA_NET_NO_INTERFACE'
  /** An address, prefix or MAC that cannot be parsed. */
  | 'KA_NET_INVALID_ADDRESS'
  /** The socket or netlink handle is already closed. */
  | 'KA_NET_CLOSED'
  /** The kernel rejected an rtnetlink request (errno says why). */
  | 'KA_NET_NETLINK'
  /** A netlink request (rtnetlink, IPVS) got no answer in time. */
  | 'KA_NET_TIMEOUT'
  /** setns(2) or opening a namespace file failed. */
  | 'KA_NET_NAMESPACE'
  /** The kernel has no generic netlink family "IPVS" (no IPVS in this kernel, or ip_vs not loaded). */
  | 'KA_NET_IPVS_UNAVAILABLE'
  /** The kernel rejected an IPVS request (errno says why: EEXIST, ENOENT, EINVAL, ESRCH …). */
  | 'KA_NET_IPVS'
  /** A value a kernel message cannot carry (out of range, name too long). */
  | 'KA_NET_INVALID_ARGUMENT'

/** An errno as the kernel gave it: the positive number and its symbolic name. */
export interface Errno {
  readonly number: number
  /** e.g. `EEXIST`; `E<number>` when Node does not know the number. */
  readonly name: string
}

/** What a {@link NetError} concerns, beyond its code. */
export interface NetErrorDetails {
  /** The errno, when the kernel gave one. */
  errno?: Errno | undefined
  /** The system call or netlink operation, e.g. `sendto`, `RTM_NEWADDR`. */
  operation: string
  /** The interface concerned, by the operator's name (e.g. `eth0`). */
  interface?: string | undefined
  /** The address concerned (VIP, peer, group), as text. */
  address?: string | undefined
  /** The underlying error, when there is one. */
  cause?: unknown
}

/** A failed kernel operation. `code` is stable; the message is for people. */
export class NetError extends Error {
  readonly code: NetErrorCode
  readonly errno: Errno | undefined
  readonly operation: string
  readonly interface: string | undefined
  readonly address: string | undefined

  constructor(code: NetErrorCode, message: string, details: NetErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'NetError'
    this.code = code
    this.errno = details.errno
    this.operation = details.operation
    this.interface = details.interface
    this.address = details.address
  }
}

/** The errno for a positive (or, as netlink sends it, negative) number. */
export function errnoOf(n: number): Errno {
  const number = Math.abs(n)
  let name = `E${number}`
  try {
    // For numbers it has no name for, Node answers "Unknown system error -N" (or throws).
    const known = getSystemErrorName(-number)
    if (/^E[A-Z0-9]+$/.test(known)) name = known
  } catch {
    // The number is still there.
  }
  return { number, name }
}

/** The errno for a symbolic name such as `EEXIST`, or undefined when unknown. */
export function errnoNamed(name: string): Errno | undefined {
  const table = osConstants.errno as Record<string, number | undefined>
  const number = table[name]
  return number === undefined ? undefined : { number, name }
}

/** The errno behind an error Node threw or passed (its `code` name, else its number), if any. */
export function errnoFromNodeError(err: unknown): Errno | undefined {
  const e = err as NodeJS.ErrnoException | undefined
  if (typeof e?.code === 'string') {
    const named = errnoNamed(e.code)
    if (named) return named
  }
  return typeof e?.errno === 'number' ? errnoOf(e.errno) : undefined
}

/** Build a NetError for a failed system call from its errno. */
export function syscallError(
  code: NetErrorCode,
  operation: string,
  errno: number,
  about: { interface?: string | undefined; address?: string | undefined } = {},
): NetError {
  const e = errnoOf(errno)
  const where = [about.interface && `interface ${about.interface}`, about.address && `address ${about.address}`].filter(Boolean).join(', ')
  return new NetError(code, `${operation} failed: ${e.name}${where ? ` (${where})` : ''}`, { errno: e, operation, ...about })
}

/**
 * Turn whatever the netlink package rejected with into a NetError. Its request
 * errors are `Error("Request rejected: EEXIST")` (or a bare number when Node
 * has no name for it), and a timeout is `Error("Timeout has been reached")`.
 */
export function fromNetlinkFailure(
  err: unknown,
  operation: string,
  about: { interface?: string | undefined; address?: string | undefined } = {},
): NetError {
  if (err instanceof NetError) return err
  const text = err instanceof Error ? err.message : String(err)
  const rejected = /Request rejected: (-?\d+|E[A-Z0-9]+)/.exec(text)
  if (rejected) {
    const token = rejected[1]!
    const errno = /^-?\d+$/.test(token) ? errnoOf(Number(token)) : (errnoNamed(token) ?? { number: 0, name: token })
    return new NetError('KA_NET_NETLINK', `${operation} rejected: ${errno.name}`, { errno, operation, ...about, cause: err })
  }
  if (/Timeout/.test(text)) {
    return new NetError('KA_NET_TIMEOUT', `${operation}: no answer from the kernel`, { operation, ...about, cause: err })
  }
  const errnoCode = (err as NodeJS.ErrnoException | undefined)?.code
  const errno = typeof errnoCode === 'string' ? errnoNamed(errnoCode) : undefined
  return new NetError('KA_NET_NETLINK', `${operation} failed: ${text}`, { errno, operation, ...about, cause: err })
}
