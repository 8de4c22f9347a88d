/**
 * The daemon's local control socket (`keepalived-ts status`): a Unix stream
 * socket that answers one JSON request per connection with one JSON answer,
 * both a single line, then closes.
 *
 * Who may ask: the socket file is made mode 0600 (umask set around bind(2),
 * chmod after), so connect(2) needs write permission on it — root, and the
 * daemon's own uid when that is not root. That alone would do, but a file mode
 * can be loosened by hand and a directory can be shared, so every connection
 * is also checked with SO_PEERCRED (getsockopt through koffi, as syslog-socket
 * does): only uid 0 or the daemon's own uid gets an answer; anyone else gets
 * `permission-denied` and the connection is closed.
 *
 * A stale file (no one accepts on it: ECONNREFUSED) is removed at start; a
 * path a live server answers on, or one that is not a socket, is never
 * removed: start fails with a coded error. Requests, answers and time are
 * bounded on both sides. Failures are values ({@link EndpointError}); nothing
 * throws. metrics-http.ts shares the error type.
 */
import { chmodSync, lstatSync, statSync, unlinkSync } from 'node:fs'
import * as net from 'node:net'
import { dirname } from 'node:path'
import { errnoFromNodeError, type Errno } from './errors.js'

/** Stable codes of {@link EndpointError}; the set only grows. */
export type EndpointErrorCode =
  /** A live server already answers on that socket path or address. */
  | 'KA_NET_IN_USE'
  /** The socket path exists and is not a socket: it is left alone. */
  | 'KA_NET_NOT_SOCKET'
  /** Creating, binding or listening failed (errno says why). */
  | 'KA_NET_LISTEN'
  /** Nothing listens there (no file, or connection refused). */
  | 'KA_NET_NO_SERVER'
  /** Not allowed: the file's mode (EACCES), or the server refused this uid. */
  | 'KA_NET_PERMISSION'
  /** No (complete) answer in time. */
  | 'KA_NET_TIMEOUT'
  /** The answer was larger than the bound. */
  | 'KA_NET_TOO_LARGE'
  /** The answer is not a JSON answer line. */
  | 'KA_NET_MALFORMED'
  /** A path or address that cannot be used (too long, not an IP). */
  | 'KA_NET_INVALID_ADDRESS'
  /** Another connection or read failure (errno says which). */
  | 'KA_NET_IO'

/** A failed local endpoint operation. `code` is stable; the message is for people. */
export class EndpointError extends Error {
  readonly code: EndpointErrorCode
  readonly errno: Errno | undefined
  /** The socket path or `address:port` concerned. */
  readonly address: string

  constructor(code: EndpointErrorCode, message: string, address: string, errno?: Errno) {
    super(message)
    this.name = 'EndpointError'
    this.code = code
    this.address = address
    this.errno = errno
  }
}

/** What the server sends: `{ ok: true, … }` from the handler, or a refusal. */
export type ControlAnswer =
  | ({ readonly ok: true } & Readonly<Record<string, unknown>>)
  | { readonly ok: false; readonly error: string; readonly message: string }

/** The peer of one connection, from SO_PEERCRED. */
export interface PeerCredentials {
  readonly pid: number
  readonly uid: number
  readonly gid: number
}

export type ControlHandler = (request: unknown, peer: PeerCredentials) => Promise<ControlAnswer>

export interface ControlServerOptions {
  /** Largest request line, in bytes; default 4096. */
  readonly maxRequestBytes?: number
  /** Time to receive the request, and to drain the answer; default 2000 ms each. */
  readonly requestTimeoutMs?: number
  /** Time the handler may take before the answer is `timeout`; default 10000 ms. */
  readonly answerTimeoutMs?: number
  /** Connections served at once; default 8. */
  readonly maxConnections?: number
  /** Who gets an answer; default root and the daemon's own uid. */
  readonly allowedUids?: readonly number[]
  /** Told of each refused or broken connection (for a log line). */
  readonly onRefused?: (reason: string, peer: PeerCredentials | undefined) => void
}

export interface ControlServer {
  readonly path: string
  /** Stops accepting, drops open connections, removes the socket file if it is still ours. */
  close(): Promise<void>
}

/** sun_path holds 108 bytes with the terminating NUL. */
const SUN_PATH_MAX = 107
const SOL_SOCKET = 1
const SO_PEERCRED = 17
/** struct ucred: pid_t pid, uid_t uid, gid_t gid. */
const UCRED_SIZE = 12

type Getsockopt = (fd: number, level: number, name: number, value: Buffer, length: Buffer) => number
let getsockopt: Getsockopt | undefined

async function loadGetsockopt(): Promise<Getsockopt> {
  if (getsockopt) return getsockopt
  // Loaded here, not at import: the `status` client imports this module and never needs koffi.
  const koffi = (await import('koffi')).default
  const lib = koffi.load('libc.so.6')
  getsockopt = lib.func('int getsockopt(int, int, int, void *, void *)') as Getsockopt
  return getsockopt
}

/** SO_PEERCRED of a connected Unix socket, or undefined when it cannot be read (the caller refuses). */
function peerOf(socket: net.Socket, call: Getsockopt): PeerCredentials | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd
  if (typeof fd !== 'number' || fd < 0) return undefined
  const cred = Buffer.alloc(UCRED_SIZE)
  const length = Buffer.alloc(4)
  length.writeUInt32LE(UCRED_SIZE, 0)
  if (call(fd, SOL_SOCKET, SO_PEERCRED, cred, length) !== 0 || length.readUInt32LE(0) < UCRED_SIZE) return undefined
  return { pid: cred.readInt32LE(0), uid: cred.readUInt32LE(4), gid: cred.readUInt32LE(8) }
}


function pathError(path: string): EndpointError | undefined {
  if (path === '' || Buffer.byteLength(path) > SUN_PATH_MAX || path.includes('\0')) {
    return new EndpointError('KA_NET_INVALID_ADDRESS', `control socket path '${path}' is empty or longer than ${SUN_PATH_MAX} bytes`, path)
  }
  return undefined
}

/** Whether something answers on `path`: 'live', 'stale' (refused), 'absent' (no file), or an error. */
function probe(path: string, timeoutMs: number): Promise<'live' | 'stale' | 'absent' | EndpointError> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ path })
    const finish = (r: 'live' | 'stale' | 'absent' | EndpointError): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(r)
    }
    // A server that does not even accept in time is alive but stuck: still not ours to remove.
    const timer = setTimeout(() => finish('live'), timeoutMs)
    socket.once('connect', () => finish('live'))
    socket.once('error', (err) => {
      const errno = errnoFromNodeError(err)
      if (errno?.name === 'ECONNREFUSED') finish('stale')
      else if (errno?.name === 'ENOENT') finish('absent')
      else finish(connectError(path, err))
    })
  })
}

/** Make room at `path`: remove a stale socket; refuse a live one, a non-socket, a missing directory. */
async function clearStale(path: string): Promise<EndpointError | undefined> {
  const fail = (code: EndpointErrorCode, what: string, err?: unknown): EndpointError => {
    const errno = err === undefined ? undefined : errnoFromNodeError(err)
    return new EndpointError(code, `control socket ${path}: ${what}${errno ? ` (${errno.name})` : ''}`, path, errno)
  }
  let existing: ReturnType<typeof lstatSync>
  try {
    existing = lstatSync(path)
  } catch (err) {
    if (errnoFromNodeError(err)?.name !== 'ENOENT') return fail('KA_NET_LISTEN', 'cannot look at the path', err)
    // libuv reports a missing directory as EACCES on bind; say what it is.
    try {
      return statSync(dirname(path)).isDirectory() ? undefined : fail('KA_NET_LISTEN', `${dirname(path)} is not a directory`)
    } catch (dirErr) {
      return fail('KA_NET_LISTEN', `no directory ${dirname(path)}`, dirErr)
    }
  }
  if (!existing.isSocket()) return fail('KA_NET_NOT_SOCKET', 'exists and is not a socket; not removing it')
  const state = await probe(path, 1000)
  if (state instanceof EndpointError) return state
  if (state === 'live') return fail('KA_NET_IN_USE', 'served by a running daemon')
  if (state === 'stale') {
    try {
      unlinkSync(path)
    } catch (err) {
      if (errnoFromNodeError(err)?.name !== 'ENOENT') return fail('KA_NET_LISTEN', 'cannot remove the stale socket', err)
    }
  }
  return undefined
}

/**
 * Listen on `path`. Removes a stale socket file first; refuses a live one and
 * anything that is not a socket.
 */
export async function listenControlSocket(path: string, handler: ControlHandler, opts: ControlServerOptions = {}): Promise<ControlServer | EndpointError> {
  const invalid = pathError(path)
  if (invalid) return invalid
  let call: Getsockopt
  try {
    call = await loadGetsockopt()
  } catch (err) {
    return new EndpointError('KA_NET_LISTEN', `control socket: cannot load libc for SO_PEERCRED: ${(err as Error).message}`, path)
  }
  const cleared = await clearStale(path)
  if (cleared) return cleared
  return serve(path, handler, call, opts)
}

async function serve(path: string, handler: ControlHandler, call: Getsockopt, opts: ControlServerOptions): Promise<ControlServer | EndpointError> {
  const allowed = new Set(opts.allowedUids ?? [0, process.getuid?.() ?? 0])
  const live = new Set<net.Socket>()
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    live.add(socket)
    socket.once('close', () => live.delete(socket))
    serveConnection(socket, handler, opts, (s) => {
      const peer = peerOf(s, call)
      return peer && allowed.has(peer.uid) ? { ok: true, peer } : { ok: false, peer }
    })
  })
  server.maxConnections = opts.maxConnections ?? 8
  const listened = new Promise<EndpointError | undefined>((resolve) => {
    server.once('listening', () => resolve(undefined))
    server.once('error', (err) => {
      const errno = errnoFromNodeError(err)
      const code = errno?.name === 'EADDRINUSE' ? 'KA_NET_IN_USE' : errno?.name === 'EACCES' ? 'KA_NET_PERMISSION' : 'KA_NET_LISTEN'
      resolve(new EndpointError(code, `control socket ${path}: ${errno?.name ?? (err as Error).message}`, path, errno))
    })
  })
  // bind(2) runs synchronously inside listen(): the file is born 0600, with no window.
  const previousUmask = process.umask(0o177)
  try {
    server.listen(path)
  } finally {
    process.umask(previousUmask)
  }
  const failed = await listened
  if (failed) {
    server.close()
    return failed
  }
  let identity: { dev: number; ino: number } | undefined
  try {
    chmodSync(path, 0o600)
    const st = lstatSync(path)
    identity = { dev: st.dev, ino: st.ino }
  } catch (err) {
    server.close()
    const errno = errnoFromNodeError(err)
    return new EndpointError('KA_NET_LISTEN', `control socket ${path}: chmod failed: ${errno?.name}`, path, errno)
  }
  let closed: Promise<void> | undefined
  return {
    path,
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const s of live) s.destroy()
        server.close(() => resolve())
        try {
          const st = lstatSync(path)
          if (st.dev === identity?.dev && st.ino === identity.ino) unlinkSync(path)
        } catch {
          // Already gone (libuv removes the file it bound when the handle closes).
        }
      })
      return closed
    },
  }
}

type PeerCheck = (socket: net.Socket) => { ok: boolean; peer: PeerCredentials | undefined }

function serveConnection(socket: net.Socket, handler: ControlHandler, opts: ControlServerOptions, check: PeerCheck): void {
  const maxBytes = opts.maxRequestBytes ?? 4096
  const ioTimeout = opts.requestTimeoutMs ?? 2000
  const answerTimeout = opts.answerTimeoutMs ?? 10_000
  socket.on('error', () => socket.destroy())
  socket.setTimeout(ioTimeout, () => socket.destroy())
  let replied = false
  const reply = (answer: ControlAnswer): void => {
    if (replied || socket.destroyed) return
    replied = true
    socket.setTimeout(ioTimeout, () => socket.destroy())
    // Read (and drop) whatever follows, so the peer's close is seen and the socket freed.
    socket.removeAllListeners('data')
    socket.resume()
    let line: string
    try {
      line = JSON.stringify(answer) + '\n'
    } catch (err) {
      line = JSON.stringify({ ok: false, error: 'internal', message: `answer not serialisable: ${(err as Error).message}` }) + '\n'
    }
    socket.end(line)
  }
  const { ok, peer } = check(socket)
  if (!ok) {
    opts.onRefused?.(peer ? `uid ${peer.uid} is not allowed` : 'peer credentials unavailable', peer)
    reply({ ok: false, error: 'permission-denied', message: 'the control socket answers root and the daemon user only' })
    return
  }
  const chunks: Buffer[] = []
  let size = 0
  let done = false
  const handle = (text: string): void => {
    done = true
    socket.pause()
    socket.removeAllListeners('data')
    if (text.trim() === '') {
      socket.destroy()
      return
    }
    let request: unknown
    try {
      request = JSON.parse(text)
    } catch {
      reply({ ok: false, error: 'malformed-request', message: 'the request is not JSON' })
      return
    }
    socket.setTimeout(0)
    const timer = setTimeout(() => reply({ ok: false, error: 'timeout', message: `no answer within ${answerTimeout} ms` }), answerTimeout)
    handler(request, peer!).then(
      (answer) => {
        clearTimeout(timer)
        reply(answer)
      },
      (err: unknown) => {
        clearTimeout(timer)
        reply({ ok: false, error: 'internal', message: err instanceof Error ? err.message : String(err) })
      },
    )
  }
  socket.on('data', (chunk: Buffer) => {
    if (done) return
    const newline = chunk.indexOf(0x0a)
    const part = newline >= 0 ? chunk.subarray(0, newline) : chunk
    size += part.length
    if (size > maxBytes) {
      done = true
      socket.removeAllListeners('data')
      opts.onRefused?.(`request larger than ${maxBytes} bytes`, peer)
      reply({ ok: false, error: 'too-large', message: `requests are limited to ${maxBytes} bytes` })
      return
    }
    chunks.push(part)
    if (newline >= 0) handle(Buffer.concat(chunks).toString('utf8'))
  })
  socket.once('end', () => {
    if (!done) handle(Buffer.concat(chunks).toString('utf8'))
  })
}

function connectError(path: string, err: unknown): EndpointError {
  const errno = errnoFromNodeError(err)
  switch (errno?.name) {
    case 'ENOENT':
    case 'ECONNREFUSED':
      return new EndpointError('KA_NET_NO_SERVER', `no daemon answers on ${path} (${errno.name === 'ENOENT' ? 'no such socket' : 'connection refused'})`, path, errno)
    case 'EACCES':
    case 'EPERM':
      return new EndpointError('KA_NET_PERMISSION', `permission denied on ${path}: the control socket is for root`, path, errno)
    default:
      return new EndpointError('KA_NET_IO', `control socket ${path}: ${errno?.name ?? (err as Error).message}`, path, errno)
  }
}

export interface ControlRequestOptions {
  /** For connecting, asking and reading the whole answer; default 10000 ms. */
  readonly timeoutMs?: number
  /** Largest answer accepted; default 64 MiB. */
  readonly maxAnswerBytes?: number
}

/** Send one request to the server on `path` and read its answer. */
export function requestControl(path: string, request: unknown, opts: ControlRequestOptions = {}): Promise<ControlAnswer | EndpointError> {
  const invalid = pathError(path)
  if (invalid) return Promise.resolve(invalid)
  const timeoutMs = opts.timeoutMs ?? 10_000
  const maxBytes = opts.maxAnswerBytes ?? 64 * 1024 * 1024
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    const socket = net.createConnection({ path })
    const finish = (r: ControlAnswer | EndpointError): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => finish(new EndpointError('KA_NET_TIMEOUT', `no answer on ${path} within ${timeoutMs} ms`, path)), timeoutMs)
    socket.once('connect', () => socket.write(JSON.stringify(request) + '\n'))
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) finish(new EndpointError('KA_NET_TOO_LARGE', `the answer on ${path} is larger than ${maxBytes} bytes`, path))
      else chunks.push(chunk)
    })
    socket.once('end', () => finish(readAnswer(path, Buffer.concat(chunks).toString('utf8'))))
    socket.once('error', (err) => {
      // A reset after a complete answer line still counts as the answer.
      const text = Buffer.concat(chunks).toString('utf8')
      finish(text.endsWith('\n') ? readAnswer(path, text) : connectError(path, err))
    })
  })
}

function readAnswer(path: string, text: string): ControlAnswer | EndpointError {
  const malformed = (why: string): EndpointError => new EndpointError('KA_NET_MALFORMED', `the answer on ${path} ${why}`, path)
  if (text === '') return malformed('is empty (the server closed without answering)')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return malformed('is not JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return malformed('is not a JSON object')
  const answer = value as Record<string, unknown>
  if (answer.ok === true) return answer as ControlAnswer
  if (answer.ok !== false || typeof answer.error !== 'string') return malformed("has neither 'ok': true nor an error")
  const message = typeof answer.message === 'string' ? answer.message : answer.error
  if (answer.error === 'permission-denied') return new EndpointError('KA_NET_PERMISSION', `permission denied on ${path}: ${message}`, path)
  return { ok: false, error: answer.error, message }
}
