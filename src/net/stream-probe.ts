/**
 * TCP (and TLS) client connections for the health checkers (TCP_CHECK,
 * HTTP_GET, SSL_GET, SMTP_CHECK): connect with an optional source address,
 * source port, interface (SO_BINDTODEVICE) and firewall mark (SO_MARK), then
 * write and read with timeouts. Every outcome is a value — nothing throws or
 * rejects — and every socket and timer is released on close, on error and on
 * abort.
 *
 * The socket is made with socket(2) through koffi, synchronously inside
 * {@link connectStream}, and handed to Node as an fd. That is how `fwmark` and
 * `bind_if` get set before connect(2) (Node's net has no setsockopt), and why a
 * probe started inside `withNetworkNamespace` (netns.ts) runs in that
 * namespace: Node would otherwise create its socket a tick later, back home.
 *
 * Failures carry the distinctions keepalived's checkers log (layer4.c
 * socket_bind_connect / socket_state): a connect that fails at once
 * (ENETUNREACH…, keepalived's "network unreachable"), one refused or reset
 * later ("Connection failed"), a timeout, a failed bind or socket option
 * ("bind failed. Rescheduling"), and the read/write/TLS failures after it.
 */
import * as net from 'node:net'
import * as tls from 'node:tls'
import * as libc from './libc.js'
import { errnoNamed, errnoOf, type Errno } from './errors.js'

/** What went wrong, in the categories keepalived's checkers tell apart. */
export type StreamErrorKind =
  /** socket(2) failed. */
  | 'socket'
  /** SO_MARK (fwmark) or SO_BINDTODEVICE (bind_if) was refused. */
  | 'sockopt'
  /** bind(2) to bindto/bind_port failed. */
  | 'bind'
  /** connect(2) failed at once: no route, network down (keepalived's connect_fail before polling). */
  | 'unreachable'
  /** No connection (and, for TLS, no completed handshake) within the timeout. */
  | 'connect-timeout'
  /** The connection was refused or reset, or the host did not answer ARP/ND. */
  | 'connect-failed'
  /** The TLS handshake failed. */
  | 'tls'
  | 'write-timeout'
  | 'write-failed'
  | 'read-timeout'
  | 'read-failed'
  /** The caller's AbortSignal fired, or the stream was closed while waiting. */
  | 'aborted'

export interface StreamError {
  readonly kind: StreamErrorKind
  /** The errno behind it, when there is one. */
  readonly errno: Errno | undefined
  /** For people (logs, test output); branch on `kind`. */
  readonly message: string
}

export interface StreamConnectOptions {
  readonly address: string
  readonly port: number
  readonly family: 4 | 6
  /** Source address (keepalived `bindto`); a link-local one needs `bindInterface`. */
  readonly bindAddress?: string | undefined
  /** Source port (keepalived `bind_port`). */
  readonly bindPort?: number | undefined
  /** SO_BINDTODEVICE (keepalived `bind_if`); also the scope of link-local addresses. */
  readonly bindInterface?: string | undefined
  /** SO_MARK (keepalived `fwmark`); 0 or undefined leaves it unset. Needs CAP_NET_ADMIN. */
  readonly fwmark?: number | undefined
  /** For the TCP connect and the TLS handshake together, as keepalived counts it. */
  readonly timeoutMs: number
  /** Speak TLS after connecting, without verifying the certificate (keepalived's default). */
  readonly tls?: { readonly servername?: string | undefined } | undefined
  readonly signal: AbortSignal
}

export type ReadResult =
  | { readonly kind: 'data'; readonly data: Buffer }
  | { readonly kind: 'end' }
  | { readonly kind: 'error'; readonly error: StreamError }

export interface ReadAllResult {
  /** What arrived, at most `maxBytes`. */
  readonly data: Buffer
  /** The peer closed its side (false when stopped by maxBytes or an error). */
  readonly end: boolean
  readonly error: StreamError | undefined
}

/** A connected stream. One read and one write may be pending at a time. */
export interface ProbeStream {
  readonly localAddress: string | undefined
  readonly localPort: number | undefined
  /** Resolves once the data is handed to the kernel: undefined, or why not. */
  write(data: string | Buffer, timeoutMs: number): Promise<StreamError | undefined>
  /** Everything received since the last read, like read(2); waits up to `timeoutMs` for something. */
  read(timeoutMs: number): Promise<ReadResult>
  /** Read until the peer closes, `maxBytes` arrived, or a read waits longer than `timeoutMs`. */
  readAll(options: { readonly timeoutMs: number; readonly maxBytes: number }): Promise<ReadAllResult>
  /** Release the socket; idempotent; a pending read or write resolves as `aborted`. */
  close(): void
}

export type ConnectResult =
  | { readonly ok: true; readonly stream: ProbeStream }
  | { readonly ok: false; readonly error: StreamError }

const SOCK_STREAM = 1
const IPPROTO_TCP = 6
const SO_MARK = 36
/** Stop reading from the kernel while this much is queued and unread. */
const QUEUE_HIGH_WATER = 1 << 20
/** connect(2) errors that mean the network, not the peer, said no. */
const UNREACHABLE = new Set(['ENETUNREACH', 'ENETDOWN', 'EHOSTDOWN'])

const ignore = (): void => undefined

function streamError(kind: StreamErrorKind, message: string, errno?: Errno): StreamError {
  return { kind, errno, message }
}

function fromNodeError(kind: StreamErrorKind, err: unknown): StreamError {
  const e = err as NodeJS.ErrnoException
  const errno = typeof e?.code === 'string' ? errnoNamed(e.code) : undefined
  return streamError(kind, e instanceof Error ? e.message : String(err), errno)
}

/** A failed bind(2) or connect(2), in keepalived's categories. */
export function classifyConnectError(err: NodeJS.ErrnoException, syscall: string | undefined): StreamError {
  const code = err.code ?? ''
  const kind: StreamErrorKind =
    syscall === 'bind' ? 'bind' : code === 'ETIMEDOUT' ? 'connect-timeout' : UNREACHABLE.has(code) ? 'unreachable' : 'connect-failed'
  return fromNodeError(kind, err)
}

/** A link-local IPv6 address needs its interface as scope (`fe80::1%eth0`). */
function scopedAddress(address: string, iface: string | undefined): string {
  if (iface === undefined || address.includes('%') || !/^fe[89ab][0-9a-f]:/i.test(address)) return address
  return `${address}%${iface}`
}

/** Make the socket and apply what must precede connect(2) (SO_MARK, SO_BINDTODEVICE); the fd, or why not. */
export function openProbeSocket(o: Pick<StreamConnectOptions, 'family' | 'fwmark' | 'bindInterface'>): number | StreamError {
  const s = libc.socket(o.family === 6 ? libc.C.AF_INET6 : libc.C.AF_INET, SOCK_STREAM | libc.C.SOCK_NONBLOCK | libc.C.SOCK_CLOEXEC, IPPROTO_TCP)
  if (s.value < 0) return streamError('socket', `socket failed: ${errnoOf(s.errno).name}`, errnoOf(s.errno))
  const fd = s.value
  const fail = (what: string, errno: number): StreamError => {
    libc.close(fd)
    return streamError('sockopt', `${what} failed: ${errnoOf(errno).name}`, errnoOf(errno))
  }
  if (o.fwmark) {
    const r = libc.setsockoptInt(fd, libc.C.SOL_SOCKET, SO_MARK, o.fwmark)
    if (r.value < 0) return fail(`SO_MARK ${o.fwmark}`, r.errno)
  }
  if (o.bindInterface !== undefined) {
    const r = libc.setsockopt(fd, libc.C.SOL_SOCKET, libc.C.SO_BINDTODEVICE, Buffer.from(`${o.bindInterface}\0`))
    if (r.value < 0) return fail(`SO_BINDTODEVICE ${o.bindInterface}`, r.errno)
  }
  return fd
}

/** Connect (and shake hands, for TLS); always resolves. */
export function connectStream(o: StreamConnectOptions): Promise<ConnectResult> {
  if (o.signal.aborted) return Promise.resolve({ ok: false, error: streamError('aborted', 'aborted before connecting') })
  const fd = openProbeSocket(o)
  if (typeof fd !== 'number') return Promise.resolve({ ok: false, error: fd })

  let raw: net.Socket
  try {
    // Paused until the stream wrapper listens, so nothing is read (or lost) before.
    raw = new net.Socket({ fd, pauseOnCreate: true } as net.SocketConstructorOpts)
  } catch (err) {
    libc.close(fd)
    return Promise.resolve({ ok: false, error: fromNodeError('socket', err) })
  }

  return new Promise<ConnectResult>((resolve) => {
    let secure: tls.TLSSocket | undefined
    let settled = false
    const settle = (r: ConnectResult): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      o.signal.removeEventListener('abort', onAbort)
      raw.off('error', onConnectError)
      secure?.off('error', onTlsError)
      raw.off('error', onTlsError)
      if (!r.ok) {
        // Late errors from a socket being torn down have nowhere useful to go.
        secure?.on('error', ignore).destroy()
        raw.on('error', ignore).destroy()
      }
      resolve(r)
    }
    const onAbort = (): void => settle({ ok: false, error: streamError('aborted', 'aborted while connecting') })
    const onConnectError = (err: NodeJS.ErrnoException): void => settle({ ok: false, error: classifyConnectError(err, err.syscall) })
    const onTlsError = (err: Error): void => settle({ ok: false, error: fromNodeError('tls', err) })
    const timer = setTimeout(
      () => settle({ ok: false, error: streamError('connect-timeout', `no connection${o.tls ? ' and TLS handshake' : ''} within ${o.timeoutMs} ms`) }),
      Math.max(1, o.timeoutMs),
    )
    o.signal.addEventListener('abort', onAbort, { once: true })
    raw.on('error', onConnectError)

    try {
      raw.connect(
        {
          host: scopedAddress(o.address, o.bindInterface),
          port: o.port,
          ...(o.bindAddress !== undefined ? { localAddress: scopedAddress(o.bindAddress, o.bindInterface) } : {}),
          ...(o.bindPort ? { localPort: o.bindPort } : {}),
        },
        () => {
          if (settled) return
          if (!o.tls) {
            settle({ ok: true, stream: wrapStream(raw, raw, o.signal) })
            return
          }
          const servername = o.tls.servername
          // Node warns about an IP address as SNI (RFC 6066 forbids it); keepalived would send it.
          const sni = servername !== undefined && servername !== '' && net.isIP(servername) === 0 ? { servername } : {}
          // From here a reset or close is a failed handshake, as SSL_connect reports it.
          raw.off('error', onConnectError).on('error', onTlsError)
          secure = tls.connect({ socket: raw, rejectUnauthorized: false, ...sni })
          secure.on('error', onTlsError)
          secure.once('secureConnect', () => settle({ ok: true, stream: wrapStream(secure!, raw, o.signal) }))
        },
      )
    } catch (err) {
      // Node refuses a bad port or source address before any system call.
      const code = (err as NodeJS.ErrnoException).code
      settle({ ok: false, error: fromNodeError(code === 'ERR_INVALID_IP_ADDRESS' ? 'bind' : 'connect-failed', err) })
    }
  })
}

/** The read queue, timers and abort handling around a connected socket. */
function wrapStream(duplex: net.Socket, raw: net.Socket, signal: AbortSignal): ProbeStream {
  const queue: Buffer[] = []
  let queued = 0
  let ended = false
  let failure: StreamError | undefined
  let closed = false
  let waiter: ((r: ReadResult) => void) | undefined
  let pendingWrite: ((e: StreamError | undefined) => void) | undefined

  const wake = (): void => {
    const w = waiter
    if (!w) return
    waiter = undefined
    w(take())
  }
  const take = (): ReadResult => {
    if (queue.length > 0) {
      const data = queue.length === 1 ? queue[0]! : Buffer.concat(queue)
      queue.length = 0
      queued = 0
      if (!closed && duplex.isPaused()) duplex.resume()
      return { kind: 'data', data }
    }
    if (failure) return { kind: 'error', error: failure }
    if (closed) return { kind: 'error', error: streamError('aborted', 'stream closed') }
    return { kind: 'end' }
  }

  duplex.on('data', (chunk: Buffer) => {
    queue.push(chunk)
    queued += chunk.length
    if (queued >= QUEUE_HIGH_WATER) duplex.pause()
    wake()
  })
  duplex.on('end', () => {
    ended = true
    wake()
  })
  duplex.on('error', (err) => {
    failure ??= fromNodeError('read-failed', err)
    wake()
  })
  duplex.on('close', () => {
    ended = true
    wake()
  })
  // The TLS layer reads through the raw socket; its errors surface on `duplex`.
  if (raw !== duplex) raw.on('error', ignore)
  duplex.resume()

  const close = (): void => {
    if (closed) return
    closed = true
    signal.removeEventListener('abort', close)
    duplex.destroy()
    raw.destroy()
    pendingWrite?.(streamError('aborted', 'stream closed while writing'))
    wake()
  }
  signal.addEventListener('abort', close, { once: true })

  const read = (timeoutMs: number): Promise<ReadResult> => {
    if (queue.length > 0 || failure || ended || closed) return Promise.resolve(take())
    if (waiter) return Promise.resolve({ kind: 'error', error: streamError('read-failed', 'a read is already pending') })
    return new Promise<ReadResult>((resolve) => {
      const timer = setTimeout(() => {
        waiter = undefined
        resolve({ kind: 'error', error: streamError('read-timeout', `nothing received within ${timeoutMs} ms`) })
      }, Math.max(1, timeoutMs))
      waiter = (r) => {
        clearTimeout(timer)
        resolve(r)
      }
    })
  }

  return {
    localAddress: raw.localAddress,
    localPort: raw.localPort,
    write(data, timeoutMs) {
      if (closed) return Promise.resolve(streamError('aborted', 'stream closed'))
      if (failure) return Promise.resolve(streamError('write-failed', failure.message, failure.errno))
      if (pendingWrite) return Promise.resolve(streamError('write-failed', 'a write is already pending'))
      return new Promise<StreamError | undefined>((resolve) => {
        const finish = (e: StreamError | undefined): void => {
          if (!pendingWrite) return
          pendingWrite = undefined
          clearTimeout(timer)
          resolve(e)
        }
        pendingWrite = finish
        const timer = setTimeout(() => finish(streamError('write-timeout', `not sent within ${timeoutMs} ms`)), Math.max(1, timeoutMs))
        duplex.write(data, (err) => finish(err ? fromNodeError(closed ? 'aborted' : 'write-failed', err) : undefined))
      })
    },
    read,
    async readAll({ timeoutMs, maxBytes }) {
      const parts: Buffer[] = []
      let size = 0
      for (;;) {
        const r = await read(timeoutMs)
        if (r.kind === 'end') return { data: Buffer.concat(parts), end: true, error: undefined }
        if (r.kind === 'error') return { data: Buffer.concat(parts), end: false, error: r.error }
        const room = maxBytes - size
        parts.push(r.data.length > room ? r.data.subarray(0, room) : r.data)
        size += Math.min(room, r.data.length)
        if (size >= maxBytes) return { data: Buffer.concat(parts), end: false, error: undefined }
      }
    },
    close,
  }
}
