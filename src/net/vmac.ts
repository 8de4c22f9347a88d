/**
 * keepalived's `use_vmac` interface (reference §5.9, vrrp_vmac.c): a macvlan
 * in private mode on the instance's interface, with the VRRP virtual MAC
 * 00:00:5e:00:01:VRID (IPv6: 00:00:5e:00:02:VRID, RFC 5798 §7.3).
 *
 * The netlink package has no encoder for IFLA_LINKINFO, so it is built here
 * (platform.md): IFLA_INFO_KIND "macvlan" and IFLA_INFO_DATA holding
 * IFLA_MACVLAN_MODE = MACVLAN_MODE_PRIVATE (1), from linux/if_link.h. The
 * creation needs CREATE|EXCL or the kernel answers ENODEV. The sysctls keepalived
 * sets on it (arp_ignore, accept_local, rp_filter) are in sysctl.ts.
 */
import { rt } from 'netlink'
import { NetError } from './errors.js'
import { macBytes } from './ip-address.js'
import { findLink, setLinkUp, type Link } from './links.js'
import { CREATE_EXCL, RTM, isErrno, type Rtnetlink } from './rtnetlink.js'

const IFLA_INFO_KIND = 1
const IFLA_INFO_DATA = 2
const IFLA_MACVLAN_MODE = 1
const MACVLAN_MODE_PRIVATE = 1
const NLA_F_NESTED = 0x8000

/** The VRRP virtual router MAC for a VRID (RFC 3768 §7.3, RFC 5798 §7.3). */
export function vrrpMac(vrid: number, family: 4 | 6 = 4): string {
  return `00:00:5e:00:0${family === 4 ? 1 : 2}:${vrid.toString(16).padStart(2, '0')}`
}

function attribute(type: number, payload: Buffer): Buffer {
  const b = Buffer.alloc((4 + payload.length + 3) & ~3)
  b.writeUInt16LE(4 + payload.length, 0)
  b.writeUInt16LE(type, 2)
  payload.copy(b, 4)
  return b
}

/** The IFLA_LINKINFO payload for a private-mode macvlan. */
export function macvlanLinkInfo(): Buffer {
  const mode = Buffer.alloc(4)
  mode.writeUInt32LE(MACVLAN_MODE_PRIVATE)
  return Buffer.concat([
    attribute(IFLA_INFO_KIND, Buffer.from('macvlan\0')),
    attribute(IFLA_INFO_DATA | NLA_F_NESTED, attribute(IFLA_MACVLAN_MODE, mode)),
  ])
}

/** A VMAC to create. */
export interface VmacSpec {
  /** e.g. `vrrp.51` (keepalived's default name is `vrrp.<VRID>`). */
  name: string
  /** The instance's interface index (the macvlan's lower device). */
  baseIndex: number
  vrid: number
  /** Which virtual MAC: 00:00:5e:00:01:xx (4, default) or 00:00:5e:00:02:xx (6). */
  family?: 4 | 6
  /** A configured MAC (`use_vmac NAME MAC`) instead of the VRRP one. */
  mac?: string
  /** Bring it up after creation (keepalived does). Default true. */
  up?: boolean
}

/** What createVmac did. */
export type VmacResult = { created: true; link: Link } | { created: false; reason: 'already-present'; link: Link }

/**
 * Create the macvlan. When an interface of that name exists already (left by a
 * previous run), it is reported as `already-present` and left as it is.
 */
export async function createVmac(nl: Rtnetlink, spec: VmacSpec): Promise<VmacResult | NetError> {
  const mac = macBytes(spec.mac ?? vrrpMac(spec.vrid, spec.family))
  if (!mac) return new NetError('KA_NET_INVALID_ADDRESS', `'${spec.mac ?? ''}' is not a MAC address`, { operation: 'RTM_NEWLINK macvlan', interface: spec.name })
  const about = { operation: 'RTM_NEWLINK macvlan', interface: spec.name }
  const reply = await nl.request(
    RTM.NEWLINK,
    (out) => {
      const link = Buffer.alloc(4)
      link.writeUInt32LE(spec.baseIndex)
      rt.formatLinkMessage({ kind: 'link', data: {}, attrs: { ifname: spec.name, address: mac, link, linkinfo: macvlanLinkInfo() } }, out)
    },
    CREATE_EXCL,
    about,
  )
  const existed = isErrno(reply, 'EEXIST')
  if (reply instanceof NetError && !existed) return reply
  const link = await findLink(nl, spec.name)
  if (link instanceof NetError) return link
  if (existed) return { created: false, reason: 'already-present', link }
  if (spec.up ?? true) {
    const upped = await setLinkUp(nl, link, true)
    if (upped) return upped
    return { created: true, link: { ...link, up: true } }
  }
  return { created: true, link }
}

/** Delete a VMAC by name; one that is not there is `{ deleted: false }`. */
export async function deleteVmac(nl: Rtnetlink, name: string): Promise<{ deleted: boolean } | NetError> {
  const reply = await nl.request(
    RTM.DELLINK,
    (out) => rt.formatLinkMessage({ kind: 'link', data: {}, attrs: { ifname: name } }, out),
    0,
    { operation: 'RTM_DELLINK', interface: name },
  )
  if (isErrno(reply, 'ENODEV')) return { deleted: false }
  return reply instanceof NetError ? reply : { deleted: true }
}
