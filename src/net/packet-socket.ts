/**
 * A send-only AF_PACKET socket for gratuitous ARP and unsolicited neighbour
 * advertisements (reference §5.8; keepalived vrrp_arp.c / vrrp_ndisc.c send
 * whole frames on a PF_PACKET socket too). Protocol 0 means the kernel hands it
 * no incoming frames at all (packet(7)), so nothing queues up on a socket we
 * never read. platform.md: a GARP sent this way was byte-identical to
 * keepalived's, ≈40 µs per frame.
 */
import * as libc from './libc.js'
import { C } from './libc.js'
import { NetError, syscallError } from './errors.js'
import { sockaddrLl } from './sockaddr.js'

/** Sends complete Ethernet frames (destination MAC, source MAC, ethertype, payload). */
export interface PacketSocket {
  /** Send `frame` out of `ifindex` (from `listLinks` / `interfaceIndex`); the frame's own header is used as is. */
  send(frame: Buffer, ifindex: number, interfaceName?: string): NetError | undefined
  /** Safe to call more than once. */
  close(): void
}

/** Open the socket; needs CAP_NET_RAW. */
export function openPacketSocket(): PacketSocket | NetError {
  const s = libc.socket(C.AF_PACKET, C.SOCK_RAW | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0)
  if (s.value < 0) return syscallError('KA_NET_SOCKET', 'socket(AF_PACKET, SOCK_RAW, 0)', s.errno)
  let fd = s.value
  return {
    send(frame, ifindex, interfaceName) {
      if (fd < 0) return new NetError('KA_NET_CLOSED', 'the packet socket is closed', { operation: 'sendto', interface: interfaceName })
      if (frame.length < 14) {
        return new NetError('KA_NET_MALFORMED', `a ${frame.length}-byte frame has no Ethernet header`, { operation: 'sendto', interface: interfaceName })
      }
      const r = libc.sendto(fd, frame, 0, sockaddrLl(ifindex, frame.subarray(0, 6)))
      return r.value < 0 ? syscallError('KA_NET_SEND', 'sendto', r.errno, { interface: interfaceName }) : undefined
    },
    close() {
      if (fd < 0) return
      libc.close(fd)
      fd = -1
    },
  }
}

/** The index of interface `name` in this namespace, or a NetError when there is none. */
export function interfaceIndex(name: string): number | NetError {
  const index = libc.ifNameToIndex(name)
  return index > 0 ? index : new NetError('KA_NET_NO_INTERFACE', `interface ${name} does not exist`, { operation: 'if_nametoindex', interface: name })
}
