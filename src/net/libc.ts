/**
 * The libc calls src/net needs that Node and raw-socket do not offer, through
 * koffi (platform.md: koffi 3.3.4 calls libc reliably; ≈ µs per sync call).
 *
 * Calls are synchronous on the main thread so `errno` is read right after the
 * call on the same thread (koffi.errno()). The only blocking call, poll(2), runs
 * asynchronously on the libuv threadpool (see poller.ts). Numbers are Linux
 * x86_64/aarch64 values from /usr/include (linux/in.h, linux/in6.h,
 * bits/socket.h, bits/eventfd.h, linux/sched.h).
 */
import * as koffi from 'koffi'

/** Socket-level and protocol constants (Linux). */
export const C = {
  AF_INET: 2,
  AF_INET6: 10,
  AF_PACKET: 17,
  SOCK_RAW: 3,
  SOCK_NONBLOCK: 0o4000,
  SOCK_CLOEXEC: 0o2000000,
  SOL_SOCKET: 1,
  SO_RCVBUF: 8,
  SO_PRIORITY: 12,
  SO_BINDTODEVICE: 25,
  IPPROTO_IP: 0,
  IPPROTO_IPV6: 41,
  IPPROTO_AH: 51,
  IPPROTO_VRRP: 112,
  IP_HDRINCL: 3,
  IP_PKTINFO: 8,
  IP_MULTICAST_IF: 32,
  IP_MULTICAST_TTL: 33,
  IP_MULTICAST_LOOP: 34,
  IP_ADD_MEMBERSHIP: 35,
  IP_MULTICAST_ALL: 49,
  IPV6_CHECKSUM: 7,
  IPV6_UNICAST_HOPS: 16,
  IPV6_MULTICAST_IF: 17,
  IPV6_MULTICAST_HOPS: 18,
  IPV6_MULTICAST_LOOP: 19,
  IPV6_JOIN_GROUP: 20,
  IPV6_MULTICAST_ALL: 29,
  IPV6_RECVPKTINFO: 49,
  IPV6_PKTINFO: 50,
  IPV6_RECVHOPLIMIT: 51,
  IPV6_HOPLIMIT: 52,
  MSG_DONTROUTE: 0x4,
  MSG_CTRUNC: 0x8,
  MSG_TRUNC: 0x20,
  MSG_DONTWAIT: 0x40,
  POLLIN: 0x1,
  POLLERR: 0x8,
  POLLHUP: 0x10,
  POLLNVAL: 0x20,
  EFD_NONBLOCK: 0o4000,
  EFD_CLOEXEC: 0o2000000,
  O_RDONLY: 0,
  O_CLOEXEC: 0o2000000,
  CLONE_NEWNET: 0x40000000,
  EAGAIN: 11,
  EINTR: 4,
  EINPROGRESS: 115,
  SO_REUSEADDR: 2,
  SO_ERROR: 4,
  EPOLL_CLOEXEC: 0o2000000,
  EPOLL_CTL_ADD: 1,
  EPOLLOUT: 0x4,
  EPOLLERR: 0x8,
  EPOLLHUP: 0x10,
} as const

const lib = koffi.load('libc.so.6')

const iovec = koffi.struct('ka_iovec', { iov_base: 'void *', iov_len: 'size_t' })
/** struct msghdr (56 bytes on 64-bit Linux); Buffers given for the `void *` members are used in place. */
const msghdr = koffi.struct('ka_msghdr', {
  msg_name: 'void *',
  msg_namelen: 'uint32_t',
  msg_iov: koffi.pointer(iovec),
  msg_iovlen: 'size_t',
  msg_control: 'void *',
  msg_controllen: 'size_t',
  msg_flags: 'int',
})

const fn = {
  socket: lib.func('int socket(int domain, int type, int protocol)'),
  setsockopt: lib.func('int setsockopt(int fd, int level, int name, void *value, uint32_t len)'),
  bind: lib.func('int bind(int fd, void *addr, uint32_t len)'),
  sendto: lib.func('int64_t sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t addrlen)'),
  sendmsg: lib.func('int64_t sendmsg(int fd, ka_msghdr *msg, int flags)'),
  recvmsg: lib.func('int64_t recvmsg(int fd, _Inout_ ka_msghdr *msg, int flags)'),
  close: lib.func('int close(int fd)'),
  ifNameToIndex: lib.func('unsigned int if_nametoindex(const char *name)'),
  poll: lib.func('int poll(void *fds, uint64_t nfds, int timeout)'),
  eventfd: lib.func('int eventfd(unsigned int initval, int flags)'),
  write: lib.func('int64_t write(int fd, void *buf, size_t len)'),
  read: lib.func('int64_t read(int fd, void *buf, size_t len)'),
  open: lib.func('int open(const char *path, int flags)'),
  setns: lib.func('int setns(int fd, int nstype)'),
  connect: lib.func('int connect(int fd, void *addr, uint32_t len)'),
  getsockopt: lib.func('int getsockopt(int fd, int level, int name, void *value, void *len)'),
  epollCreate1: lib.func('int epoll_create1(int flags)'),
  epollCtl: lib.func('int epoll_ctl(int epfd, int op, int fd, void *event)'),
  epollWait: lib.func('int epoll_wait(int epfd, void *events, int maxevents, int timeout)'),
}

/** A call's return value, or -1 with the errno it left. */
export interface SysResult {
  readonly value: number
  /** 0 when the call succeeded. */
  readonly errno: number
}

function result(value: number | bigint): SysResult {
  const v = Number(value)
  return { value: v, errno: v < 0 ? koffi.errno() : 0 }
}

/** socket(2). */
export function socket(domain: number, type: number, protocol: number): SysResult {
  return result(fn.socket(domain, type, protocol))
}

/** setsockopt(2) with a raw option value. */
export function setsockopt(fd: number, level: number, name: number, value: Buffer): SysResult {
  return result(fn.setsockopt(fd, level, name, value, value.length))
}

/** setsockopt(2) with an `int` value, the common case. */
export function setsockoptInt(fd: number, level: number, name: number, value: number): SysResult {
  const b = Buffer.alloc(4)
  b.writeInt32LE(value, 0)
  return setsockopt(fd, level, name, b)
}

/** bind(2). */
export function bind(fd: number, addr: Buffer): SysResult {
  return result(fn.bind(fd, addr, addr.length))
}

/** sendto(2). */
export function sendto(fd: number, data: Buffer, flags: number, addr: Buffer): SysResult {
  return result(fn.sendto(fd, data, data.length, flags, addr, addr.length))
}

/** sendmsg(2) with one data buffer and optional ancillary data. */
export function sendmsg(fd: number, data: Buffer, flags: number, addr: Buffer, control?: Buffer): SysResult {
  const msg = {
    msg_name: addr,
    msg_namelen: addr.length,
    msg_iov: [{ iov_base: data, iov_len: data.length }],
    msg_iovlen: 1,
    msg_control: control ?? null,
    msg_controllen: control?.length ?? 0,
    msg_flags: 0,
  }
  return result(fn.sendmsg(fd, msg, flags))
}

/** What one recvmsg(2) filled in. */
export interface RecvResult extends SysResult {
  /** Bytes of the sender's address written to `name`. */
  readonly nameLength: number
  /** Bytes of ancillary data written to `control`. */
  readonly controlLength: number
  /** msg_flags (MSG_TRUNC, MSG_CTRUNC). */
  readonly flags: number
}

/** recvmsg(2) into caller-owned buffers (reused between calls; no allocation per packet). */
export function recvmsg(fd: number, data: Buffer, name: Buffer, control: Buffer, flags: number): RecvResult {
  const msg = {
    msg_name: name,
    msg_namelen: name.length,
    msg_iov: [{ iov_base: data, iov_len: data.length }],
    msg_iovlen: 1,
    msg_control: control,
    msg_controllen: control.length,
    msg_flags: 0,
  }
  const r = result(fn.recvmsg(fd, msg, flags))
  return { ...r, nameLength: msg.msg_namelen, controlLength: Number(msg.msg_controllen), flags: msg.msg_flags }
}

/** connect(2); a non-blocking socket says EINPROGRESS. */
export function connect(fd: number, addr: Buffer): SysResult {
  return result(fn.connect(fd, addr, addr.length))
}

const intValue = Buffer.alloc(4)
const intLength = Buffer.alloc(4)

/** getsockopt(2) of an `int` option (SO_ERROR): the value, or -1 with errno. */
export function getsockoptInt(fd: number, level: number, name: number): SysResult {
  intLength.writeUInt32LE(4, 0)
  const r = result(fn.getsockopt(fd, level, name, intValue, intLength))
  return r.value < 0 ? r : { value: intValue.readInt32LE(0), errno: 0 }
}

/** epoll_create1(2). */
export function epollCreate(flags: number): SysResult {
  return result(fn.epollCreate1(flags))
}

/** epoll_ctl(2); `event` is a struct epoll_event (see connect-probe.ts for its layout). */
export function epollCtl(epfd: number, op: number, fd: number, event: Buffer | null): SysResult {
  return result(fn.epollCtl(epfd, op, fd, event))
}

/**
 * epoll_wait(2) on the libuv threadpool; the kernel fills `events` (struct
 * epoll_event each). A negative count has no errno here (it was the worker
 * thread's): callers wait again.
 */
export function epollWaitAsync(epfd: number, events: Buffer, max: number, timeoutMs: number, done: (err: unknown, ready: number) => void): void {
  fn.epollWait.async(epfd, events, max, timeoutMs, (err: unknown, ready: number) => done(err, Number(ready)))
}

/** close(2). */
export function close(fd: number): SysResult {
  return result(fn.close(fd))
}

/** if_nametoindex(3): 0 when there is no such interface. */
export function ifNameToIndex(name: string): number {
  return Number(fn.ifNameToIndex(name))
}

/** eventfd(2), used to wake the poller. */
export function eventfd(flags: number): SysResult {
  return result(fn.eventfd(0, flags))
}

/** write(2). */
export function write(fd: number, data: Buffer): SysResult {
  return result(fn.write(fd, data, data.length))
}

/** read(2). */
export function read(fd: number, data: Buffer): SysResult {
  return result(fn.read(fd, data, data.length))
}

/** open(2), read-only and close-on-exec (namespace files). */
export function openReadOnly(path: string): SysResult {
  return result(fn.open(path, C.O_RDONLY | C.O_CLOEXEC))
}

/**
 * setns(2) for a network namespace. It changes the calling thread only — here
 * always the main thread, where src/net creates its sockets; a socket keeps the
 * namespace it was created in.
 */
export function setNetworkNamespace(fd: number): SysResult {
  return result(fn.setns(fd, C.CLONE_NEWNET))
}

/**
 * poll(2) on the libuv threadpool; `fds` is an array of struct pollfd (8 bytes
 * each) that the kernel updates in place (revents).
 */
export function pollAsync(fds: Buffer, count: number, timeoutMs: number, done: (err: unknown, ready: number) => void): void {
  fn.poll.async(fds, count, timeoutMs, (err: unknown, ready: number) => done(err, Number(ready)))
}
