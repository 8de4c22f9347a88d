/**
 * TCP_CHECK's whole attempt: can a TCP connection be made within the
 * timeout? It is closed as soon as it is made, and nothing is read or
 * written, so no stream is built. A checker process runs thousands of these
 * a second, and a Node `net.Socket` (a Duplex, its handle and connect
 * request objects, a callback through the event loop's async machinery per
 * connection) cost several times the connect itself — most of all under an
 * emulated CPU, where keepalived's C loop stayed far ahead.
 *
 * So this works as keepalived's checker loop does: a non-blocking socket(2)
 * and connect(2) through koffi, the socket registered with one epoll instance
 * (EPOLLOUT), and one epoll_wait(2) at a time on the libuv threadpool
 * returning every connection that completed, handled in one turn of the event
 * loop: SO_ERROR read only when epoll reports an error, then close(2).
 * Per attempt that is socket, connect, epoll_ctl and close (plus getsockopt
 * on a failure, and SO_MARK / SO_BINDTODEVICE / bind when configured) — the
 * system calls keepalived makes, and nothing from Node's net.
 *
 * Each registration carries a token, not the fd, as its epoll data: an fd
 * closed by an abort or a timeout may be reused at once, and an event already
 * collected for the old one is then recognised as stale. Deadlines are kept
 * in one FIFO per timeout (every attempt of a checker has the same one), so
 * one timer covers them all. The socket is made synchronously in the calling
 * thread, so a probe started inside `withNetworkNamespace` (netns.ts) runs in
 * that namespace.
 *
 * Outcomes are the same as {@link connectStream} followed by close would give
 * (test/net/connect-probe.test.ts runs both), so TCP_CHECK logs the same lines.
 */
import { performance } from 'node:perf_hooks'
import { errnoNamed, errnoOf } from './errors.js'
import * as libc from './libc.js'
import { C } from './libc.js'
import { familyBytes, sockaddrIn, sockaddrIn6 } from './sockaddr.js'
import { classifyConnectError, openProbeSocket, type StreamConnectOptions, type StreamError } from './stream-probe.js'

/** Where and how to connect: a plain TCP connection (no TLS), without the signal. */
export type ConnectTarget = Omit<StreamConnectOptions, 'tls' | 'signal'>

/** {@link ConnectTarget} with the attempt's AbortSignal. */
export type ConnectProbeOptions = Omit<StreamConnectOptions, 'tls'>

/** One destination prepared once (its sockaddrs built), probed many times. */
export interface ConnectProbe {
  /** undefined when a connection was made within the timeout (and closed), else why not. Always resolves. */
  probe(signal: AbortSignal): Promise<StreamError | undefined>
}

/** struct epoll_event: packed on x86_64 (12 bytes), naturally aligned elsewhere (16). */
const EVENT_SIZE = process.arch === 'x64' ? 12 : 16
const DATA_OFFSET = process.arch === 'x64' ? 4 : 8
const MAX_EVENTS = 256
/** How long one epoll_wait may hold its threadpool thread; the event loop may exit at most this late once idle. */
const WAIT_MS = 200

const failed = (kind: StreamError['kind'], message: string): StreamError => ({ kind, errno: undefined, message })

function systemError(errno: number, syscall: string, where: string): NodeJS.ErrnoException {
  const { name } = errnoOf(errno)
  const err: NodeJS.ErrnoException = new Error(`${syscall} ${name} ${where}`)
  err.code = name
  err.errno = -errno
  err.syscall = syscall
  return err
}

interface Pending {
  readonly token: number
  readonly fd: number
  readonly deadline: number
  readonly timeoutMs: number
  readonly where: string
  readonly signal: AbortSignal
  readonly resolve: (r: StreamError | undefined) => void
  done: boolean
}

/** FIFO queues of deadlines, one per timeout length, behind one timer. */
class Deadlines {
  private readonly queues = new Map<number, { items: Pending[]; head: number }>()
  private timer: NodeJS.Timeout | undefined
  private timerAt = Infinity

  constructor(private readonly expire: (p: Pending) => void) {}

  add(p: Pending): void {
    let q = this.queues.get(p.timeoutMs)
    if (!q) this.queues.set(p.timeoutMs, (q = { items: [], head: 0 }))
    q.items.push(p)
    if (p.deadline < this.timerAt) this.arm(p.deadline)
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer)
    this.timerAt = at
    // Unreferenced: the epoll_wait in flight keeps the process alive while anything is pending.
    this.timer = setTimeout(() => this.sweep(), Math.max(1, Math.ceil(at - performance.now()))).unref()
  }

  private sweep(): void {
    this.timer = undefined
    this.timerAt = Infinity
    const now = performance.now()
    let next = Infinity
    for (const [length, q] of this.queues) {
      while (q.head < q.items.length) {
        const p = q.items[q.head]!
        if (!p.done && p.deadline > now) {
          next = Math.min(next, p.deadline)
          break
        }
        q.head++
        if (!p.done) this.expire(p)
      }
      if (q.head >= q.items.length) this.queues.delete(length)
      else if (q.head > 1024 && q.head * 2 > q.items.length) {
        q.items = q.items.slice(q.head)
        q.head = 0
      }
    }
    if (next < Infinity) this.arm(next)
  }
}

/** The epoll instance and what is registered with it. */
class ConnectEngine {
  private epfd = -1
  private readonly pending = new Map<number, Pending>()
  private nextToken = 0
  private waiting = false
  private readonly events = Buffer.alloc(EVENT_SIZE * MAX_EVENTS)
  private readonly event = Buffer.alloc(EVENT_SIZE)
  private readonly deadlines = new Deadlines((p) => this.settle(p, failed('connect-timeout', `no connection within ${p.timeoutMs} ms`)))
  /**
   * The attempts in flight under each signal. A checker's signal lives from
   * attempt to attempt (scheduler.ts), so it gets one abort listener for good
   * rather than an add and a remove per attempt, which cost more than the
   * connect's own JavaScript.
   */
  private readonly bySignal = new WeakMap<AbortSignal, Set<Pending>>()

  /** Wait for `fd`'s connect(2) to complete. */
  watch(fd: number, timeoutMs: number, where: string, signal: AbortSignal): Promise<StreamError | undefined> {
    if (this.epfd < 0) {
      const r = libc.epollCreate(C.EPOLL_CLOEXEC)
      if (r.value < 0) {
        libc.close(fd)
        return Promise.resolve({ kind: 'socket', errno: errnoOf(r.errno), message: `epoll_create1 failed: ${errnoOf(r.errno).name}` })
      }
      this.epfd = r.value
    }
    const token = (this.nextToken = (this.nextToken + 1) >>> 0)
    this.event.writeUInt32LE(C.EPOLLOUT, 0)
    this.event.writeUInt32LE(token, DATA_OFFSET)
    this.event.writeUInt32LE(0, DATA_OFFSET + 4)
    const r = libc.epollCtl(this.epfd, C.EPOLL_CTL_ADD, fd, this.event)
    if (r.value < 0) {
      libc.close(fd)
      return Promise.resolve({ kind: 'socket', errno: errnoOf(r.errno), message: `epoll_ctl failed: ${errnoOf(r.errno).name}` })
    }
    let inFlight = this.bySignal.get(signal)
    if (!inFlight) {
      const attempts = (inFlight = new Set())
      this.bySignal.set(signal, attempts)
      signal.addEventListener('abort', () => {
        for (const p of attempts) this.settle(p, failed('aborted', 'aborted while connecting'))
      }, { once: true })
    }
    const attempts = inFlight
    return new Promise((resolve) => {
      const p: Pending = { token, fd, deadline: performance.now() + timeoutMs, timeoutMs, where, signal, resolve, done: false }
      attempts.add(p)
      this.pending.set(token, p)
      this.deadlines.add(p)
      this.wait()
    })
  }

  private settle(p: Pending, result: StreamError | undefined): void {
    if (p.done) return
    p.done = true
    this.pending.delete(p.token)
    this.bySignal.get(p.signal)?.delete(p)
    // Closing removes it from the epoll set; an event already collected for it is stale by its token.
    libc.close(p.fd)
    p.resolve(result)
  }

  private wait(): void {
    if (this.waiting || this.pending.size === 0) return
    this.waiting = true
    libc.epollWaitAsync(this.epfd, this.events, MAX_EVENTS, WAIT_MS, (err, ready) => {
      this.waiting = false
      if (!err) {
        for (let i = 0; i < ready; i++) {
          const base = i * EVENT_SIZE
          const p = this.pending.get(this.events.readUInt32LE(base + DATA_OFFSET))
          if (p) this.completed(p, this.events.readUInt32LE(base))
        }
      }
      this.wait()
    })
  }

  private completed(p: Pending, events: number): void {
    if ((events & (C.EPOLLERR | C.EPOLLHUP)) === 0) return this.settle(p, undefined)
    // As keepalived's tcp_socket_state(): SO_ERROR decides; none means the connection was made.
    const so = libc.getsockoptInt(p.fd, C.SOL_SOCKET, C.SO_ERROR)
    const errno = so.value < 0 ? so.errno : so.value
    this.settle(p, errno === 0 ? undefined : classifyConnectError(systemError(errno, 'connect', p.where), 'connect'))
  }
}

const engine = new ConnectEngine()

/** Prepare `target` once; each probe() is one attempt. */
export function connectProbe(target: ConnectTarget): ConnectProbe {
  const { family, port, bindPort } = target
  const where = `${target.address}:${port}`
  // Node's net refuses these before any system call; so does this.
  if (!Number.isInteger(port) || port < 0 || port > 65535) return refusing(failed('connect-failed', `port ${port} is out of range`))
  if (bindPort !== undefined && (!Number.isInteger(bindPort) || bindPort < 0 || bindPort > 65535)) {
    return refusing(failed('bind', `bind_port ${bindPort} is out of range`))
  }
  const remote = familyBytes(target.address.split('%')[0]!, family)
  if (!remote) return refusing(classifyConnectError(systemError(errnoNamed('EINVAL')!.number, 'connect', where), 'connect'))
  const binding = target.bindAddress !== undefined || bindPort
  const local = target.bindAddress !== undefined ? familyBytes(target.bindAddress.split('%')[0]!, family) : Buffer.alloc(family === 6 ? 16 : 4)
  if (binding && !local) return refusing(classifyConnectError(systemError(errnoNamed('EINVAL')!.number, 'bind', `${target.bindAddress}`), 'bind'))
  const linkLocal = (b: Buffer): boolean => family === 6 && b[0] === 0xfe && (b[1]! & 0xc0) === 0x80
  const scopeOf = (b: Buffer): number => (linkLocal(b) && target.bindInterface !== undefined ? libc.ifNameToIndex(target.bindInterface) : 0)
  const sockaddr = (b: Buffer, p: number): Buffer => (family === 6 ? sockaddrIn6(b, scopeOf(b), p) : sockaddrIn(b, p))
  // Built once, unless a link-local scope must follow the interface's index.
  const fixedRemote = linkLocal(remote) ? undefined : sockaddr(remote, port)
  const timeoutMs = Math.max(1, target.timeoutMs)

  return {
    probe(signal) {
      if (signal.aborted) return Promise.resolve(failed('aborted', 'aborted before connecting'))
      const fd = openProbeSocket(target)
      if (typeof fd !== 'number') return Promise.resolve(fd)
      const fail = (error: StreamError): Promise<StreamError> => {
        libc.close(fd)
        return Promise.resolve(error)
      }
      if (binding) {
        // As libuv does before bind(2): a source port in TIME_WAIT may be bound again.
        libc.setsockoptInt(fd, C.SOL_SOCKET, C.SO_REUSEADDR, 1)
        const r = libc.bind(fd, sockaddr(local!, bindPort ?? 0))
        if (r.value < 0) return fail(classifyConnectError(systemError(r.errno, 'bind', `${target.bindAddress ?? ''}:${bindPort ?? 0}`), 'bind'))
      }
      const c = libc.connect(fd, fixedRemote ?? sockaddr(remote, port))
      if (c.value === 0) {
        // Connected at once (possible on loopback).
        libc.close(fd)
        return Promise.resolve(undefined)
      }
      if (c.errno !== C.EINPROGRESS) return fail(classifyConnectError(systemError(c.errno, 'connect', where), 'connect'))
      return engine.watch(fd, timeoutMs, where, signal)
    },
  }
}

/** A probe whose every attempt fails the same way, before any system call. */
function refusing(error: StreamError): ConnectProbe {
  return { probe: (signal) => Promise.resolve(signal.aborted ? failed('aborted', 'aborted before connecting') : error) }
}

/** One attempt at `o` (connectProbe(o).probe(o.signal)). */
export function probeConnect(o: ConnectProbeOptions): Promise<StreamError | undefined> {
  return connectProbe(o).probe(o.signal)
}
