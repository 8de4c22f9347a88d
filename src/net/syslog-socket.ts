/**
 * The AF_UNIX datagram socket syslog(3) writes to (/dev/log). Node cannot open
 * a datagram Unix socket, so this calls libc through koffi. Sends are blocking
 * like glibc's, but bounded: a send that waits longer than the send timeout is
 * dropped, and while syslog is congested later lines are tried without waiting,
 * so a wedged syslog daemon can never hold up a VRRP advert for long.
 *
 * Also a tiny listener for tests and labs: bind a private path and read the
 * datagrams a daemon sends (never /dev/log itself on a shared machine).
 */
import koffi from 'koffi'

const AF_UNIX = 1
const SOCK_DGRAM = 2
const SOCK_CLOEXEC = 0o2000000
const SOL_SOCKET = 1
const SO_SNDTIMEO = 21
const MSG_DONTWAIT = 0x40
const MSG_NOSIGNAL = 0x4000
const EINTR = 4
const EAGAIN = 11
/** sizeof(struct sockaddr_un): sa_family_t + 108 bytes of path. */
const SOCKADDR_UN_SIZE = 110
const SUN_PATH_MAX = 107

export const DEFAULT_SYSLOG_PATH = '/dev/log'

/** How long one line may wait for a full syslog queue before it is dropped. */
const SEND_TIMEOUT_MS = 100

interface Libc {
  socket(domain: number, type: number, protocol: number): number
  connect(fd: number, addr: Buffer, len: number): number
  bind(fd: number, addr: Buffer, len: number): number
  send(fd: number, buf: Buffer, len: number, flags: number): number
  recv(fd: number, buf: Buffer, len: number, flags: number): number
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number
  close(fd: number): number
}

let libc: Libc | undefined

function loadLibc(): Libc {
  if (libc) return libc
  const lib = koffi.load('libc.so.6')
  libc = {
    socket: lib.func('int socket(int, int, int)'),
    connect: lib.func('int connect(int, const void *, uint32_t)'),
    bind: lib.func('int bind(int, const void *, uint32_t)'),
    send: lib.func('long send(int, const void *, size_t, int)'),
    recv: lib.func('long recv(int, void *, size_t, int)'),
    setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)'),
    close: lib.func('int close(int)'),
  }
  return libc
}

export class SyslogSocketError extends Error {
  readonly code = 'KA_ERR_SYSLOG_SOCKET'
  constructor(message: string, readonly errno: number) {
    super(message)
  }
}

function sockaddrUn(path: string): Buffer {
  const bytes = Buffer.from(path, 'utf8')
  if (bytes.length > SUN_PATH_MAX) throw new SyslogSocketError(`socket path too long: ${path}`, 36)
  const addr = Buffer.alloc(SOCKADDR_UN_SIZE)
  addr.writeUInt16LE(AF_UNIX, 0)
  bytes.copy(addr, 2)
  return addr
}

function openDatagramSocket(): number {
  const c = loadLibc()
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)
  if (fd < 0) throw new SyslogSocketError('socket(AF_UNIX, SOCK_DGRAM) failed', koffi.errno())
  return fd
}

/** A connected-on-demand sender to a syslog socket. */
export interface SyslogSender {
  /** Send one datagram; false when it was dropped (no listener, congestion). Never throws. */
  send(message: string): boolean
  /** Lines dropped since the sender was opened. */
  readonly dropped: number
  close(): void
}

/**
 * A sender for `path` (default /dev/log). Like glibc it connects lazily and
 * reconnects once when the listener went away (syslog daemon restarted).
 */
export function openSyslogSender(path: string = DEFAULT_SYSLOG_PATH): SyslogSender {
  const c = loadLibc()
  const addr = sockaddrUn(path)
  let fd = -1
  let congested = false
  let dropped = 0

  const connect = (): boolean => {
    if (fd >= 0) return true
    try {
      fd = openDatagramSocket()
    } catch {
      return false
    }
    const timeout = Buffer.alloc(16)
    timeout.writeBigInt64LE(0n, 0)
    timeout.writeBigInt64LE(BigInt(SEND_TIMEOUT_MS * 1000), 8)
    c.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, timeout, timeout.length)
    if (c.connect(fd, addr, addr.length) !== 0) {
      c.close(fd)
      fd = -1
      return false
    }
    return true
  }

  const attempt = (buf: Buffer): number => {
    for (let i = 0; i < 3; i++) {
      const r = c.send(fd, buf, buf.length, MSG_NOSIGNAL | (congested ? MSG_DONTWAIT : 0))
      if (r >= 0) return 0
      const errno = koffi.errno()
      if (errno !== EINTR) return errno
    }
    return EINTR
  }

  return {
    get dropped() {
      return dropped
    },
    send(message) {
      const buf = Buffer.from(message, 'utf8')
      for (let tries = 0; tries < 2; tries++) {
        if (!connect()) break
        const errno = attempt(buf)
        if (errno === 0) {
          congested = false
          return true
        }
        if (errno === EAGAIN) {
          // The queue is full: drop this line and stop waiting until syslog drains.
          congested = true
          break
        }
        // The listener went away (ECONNREFUSED, ENOTCONN…): reconnect once, as glibc does.
        c.close(fd)
        fd = -1
      }
      dropped++
      return false
    },
    close() {
      if (fd >= 0) c.close(fd)
      fd = -1
    },
  }
}

/** A bound datagram socket that collects what senders write to its path. */
export interface SyslogListener {
  readonly path: string
  /** Every datagram waiting now, oldest first; never blocks. */
  drain(): string[]
  close(): void
}

/** Bind `path` (which must not exist) as a datagram socket. The caller removes the file. */
export function openSyslogListener(path: string): SyslogListener {
  const c = loadLibc()
  const fd = openDatagramSocket()
  const addr = sockaddrUn(path)
  if (c.bind(fd, addr, addr.length) !== 0) {
    const errno = koffi.errno()
    c.close(fd)
    throw new SyslogSocketError(`bind(${path}) failed, errno ${errno}`, errno)
  }
  const buf = Buffer.alloc(65536)
  let open = true
  return {
    path,
    drain() {
      const out: string[] = []
      // Bounded: a busy sender cannot keep this loop going forever.
      for (let i = 0; open && i < 100_000; i++) {
        const n = c.recv(fd, buf, buf.length, MSG_DONTWAIT)
        if (n < 0) break
        out.push(buf.toString('utf8', 0, n))
      }
      return out
    },
    close() {
      if (open) c.close(fd)
      open = false
    },
  }
}
