/**
 * Read readiness for our koffi-created sockets, without a native addon.
 *
 * Node cannot watch an arbitrary raw-socket fd, and a blocking recvmsg per
 * socket on the libuv threadpool (platform.md) would hold one of its four
 * threads per socket — two interfaces × two families would starve fs and dns.
 * So one poll(2) over every registered fd plus an eventfd runs on a single
 * threadpool thread; when it returns, the owners read with MSG_DONTWAIT on the
 * main thread. Registering or removing an fd writes the eventfd so poll returns
 * and is re-armed with the new set. Closing is deferred until poll has returned,
 * so a number the kernel reuses for a new fd is never polled as the old one.
 * With no fd registered nothing is pending, so the event loop can exit.
 */
import * as libc from './libc.js'
import { C } from './libc.js'

/** Called on the main thread when `fd` is readable (or has an error pending to read). */
export type ReadableHandler = () => void

class Poller {
  private readonly handlers = new Map<number, ReadableHandler>()
  private readonly closeAfterPoll = new Set<number>()
  private wakeFd = -1
  private polling = false
  private wakePending = false
  private dispatching = false

  /** Watch `fd`; `onReadable` runs each time poll reports it readable. */
  add(fd: number, onReadable: ReadableHandler): void {
    this.handlers.set(fd, onReadable)
    this.rearm()
  }

  /** Stop watching `fd` and close it once no poll(2) can still be looking at it. */
  removeAndClose(fd: number): void {
    this.handlers.delete(fd)
    if (this.polling) {
      this.closeAfterPoll.add(fd)
      this.wake()
    } else {
      libc.close(fd)
    }
  }

  private ensureWakeFd(): boolean {
    if (this.wakeFd >= 0) return true
    const r = libc.eventfd(C.EFD_NONBLOCK | C.EFD_CLOEXEC)
    if (r.value < 0) return false
    this.wakeFd = r.value
    return true
  }

  private wake(): void {
    if (this.wakePending || this.wakeFd < 0) return
    this.wakePending = true
    const one = Buffer.alloc(8)
    one.writeBigUInt64LE(1n)
    libc.write(this.wakeFd, one)
  }

  private rearm(): void {
    if (this.dispatching) return
    if (this.polling) {
      this.wake()
      return
    }
    if (this.handlers.size === 0) return
    if (!this.ensureWakeFd()) return
    const fds = [this.wakeFd, ...this.handlers.keys()]
    const set = Buffer.alloc(fds.length * 8)
    fds.forEach((fd, i) => {
      set.writeInt32LE(fd, i * 8)
      set.writeInt16LE(C.POLLIN, i * 8 + 4)
    })
    this.polling = true
    libc.pollAsync(set, fds.length, -1, (err, ready) => this.onPollReturn(set, fds, err, ready))
  }

  private onPollReturn(set: Buffer, fds: number[], err: unknown, ready: number): void {
    this.polling = false
    for (const fd of this.closeAfterPoll) libc.close(fd)
    this.closeAfterPoll.clear()
    if (!err && ready > 0) {
      this.dispatching = true
      fds.forEach((fd, i) => {
        const revents = set.readInt16LE(i * 8 + 6)
        if (revents === 0) return
        if (fd === this.wakeFd) {
          libc.read(this.wakeFd, Buffer.alloc(8))
          this.wakePending = false
          return
        }
        // POLLERR/POLLHUP are handed to the owner too: its next recvmsg reports the error.
        if (revents & C.POLLNVAL) return
        try {
          this.handlers.get(fd)?.()
        } catch {
          // Owners report their own failures (vrrp-socket never throws); one
          // faulty handler must not stop the others or the poll loop.
        }
      })
      this.dispatching = false
    }
    this.rearm()
  }
}

/** The process's one poller (sockets are created on the main thread only). */
export const poller = new Poller()
