/**
 * Per-interface sysctls under /proc/sys/net (keepalived's vrrp_if_config.c):
 * what a VMAC needs (arp_ignore, arp_filter, accept_local, rp_filter), read
 * and written for the calling process's network namespace. Nothing throws:
 * failures come back as NetError.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { NetError } from './errors.js'

/** The file of `net.<family>.conf.<ifname>.<name>`. */
export function interfaceSysctlPath(family: 4 | 6, ifname: string, name: string): string {
  return `/proc/sys/net/${family === 4 ? 'ipv4' : 'ipv6'}/conf/${ifname}/${name}`
}

/**
 * errors.ts has no sysctl code (it is not this file's to grow): a missing file
 * means the interface is gone; any other failure is an option that could not
 * be set, like a failed setsockopt.
 */
function failure(operation: string, path: string, ifname: string, cause: unknown): NetError {
  const code = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'KA_NET_NO_INTERFACE' : 'KA_NET_SOCKOPT'
  return new NetError(code, `${operation} ${path}: ${(cause as Error).message}`, { operation, interface: ifname, cause })
}

/** The current value, e.g. `1`. */
export function readInterfaceSysctl(family: 4 | 6, ifname: string, name: string): string | NetError {
  const path = interfaceSysctlPath(family, ifname, name)
  try {
    return readFileSync(path, 'utf8').trim()
  } catch (cause) {
    return failure('read', path, ifname, cause)
  }
}

export function writeInterfaceSysctl(family: 4 | 6, ifname: string, name: string, value: string | number): NetError | undefined {
  const path = interfaceSysctlPath(family, ifname, name)
  try {
    writeFileSync(path, `${value}\n`)
    return undefined
  } catch (cause) {
    return failure('write', path, ifname, cause)
  }
}
