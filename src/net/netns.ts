/**
 * Create kernel handles inside another network namespace without a child
 * process: setns(2) on the main thread, create, switch back. A socket (raw,
 * packet or netlink) keeps the namespace it was created in for its whole life,
 * so src/net objects made inside `withNetworkNamespace` act there while the rest
 * of the process stays where it was. (keepalived's `net_namespace` moves the
 * whole process instead; the tests use this to drive two namespaces at once.)
 *
 * Only what runs synchronously inside `fn` is in the namespace: libuv threads
 * and later callbacks are not.
 */
import * as libc from './libc.js'
import { NetError, errnoOf, syscallError } from './errors.js'

/** Where `ip netns add NAME` puts the namespace file. */
export function namedNamespacePath(name: string): string {
  return `/run/netns/${name}`
}

/**
 * Run `fn` with the calling (main) thread in the network namespace at `path`
 * (e.g. `/run/netns/NAME`, `/proc/PID/ns/net`), then return to the original one.
 * Returns a NetError when the namespace cannot be entered; what `fn` throws
 * propagates after the thread is back home.
 */
export function withNetworkNamespace<T>(path: string, fn: () => T): T | NetError {
  const home = libc.openReadOnly('/proc/thread-self/ns/net')
  if (home.value < 0) return syscallError('KA_NET_NAMESPACE', 'open /proc/thread-self/ns/net', home.errno)
  const target = libc.openReadOnly(path)
  if (target.value < 0) {
    libc.close(home.value)
    return syscallError('KA_NET_NAMESPACE', `open ${path}`, target.errno)
  }
  const entered = libc.setNetworkNamespace(target.value)
  libc.close(target.value)
  if (entered.value < 0) {
    libc.close(home.value)
    return syscallError('KA_NET_NAMESPACE', `setns ${path}`, entered.errno)
  }
  try {
    return fn()
  } finally {
    const back = libc.setNetworkNamespace(home.value)
    libc.close(home.value)
    // Staying in the wrong namespace would silently misdirect every later socket.
    if (back.value < 0) throw new NetError('KA_NET_NAMESPACE', 'cannot return to the original network namespace', { operation: 'setns', errno: errnoOf(back.errno) })
  }
}
