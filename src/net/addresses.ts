/**
 * Interface addresses (RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR): VIPs, and the
 * primary IPv4 and link-local IPv6 addresses adverts are sent from.
 *
 * keepalived treats "already there" as success when adding a VIP (its netlink
 * layer ignores EEXIST) and "not there" as success when removing one
 * (EADDRNOTAVAIL), which is what makes restart and reload idempotent; the
 * result says which case happened so the caller can log it.
 */
import { rt } from 'netlink'
import { NetError } from './errors.js'
import { addressBytes, addressFamily, addressText } from './ip-address.js'
import { CREATE_EXCL, RTM, isErrno, type Rtnetlink } from './rtnetlink.js'

const DUMP = 0x300
const AF_INET = 2
const AF_INET6 = 10

/** Address scopes by the names `ip` uses (rtnetlink.h RT_SCOPE_*). */
export const SCOPES = { global: 0, site: 200, link: 253, host: 254, nowhere: 255 } as const
export type ScopeName = keyof typeof SCOPES

/** One address on an interface. */
export interface InterfaceAddress {
  index: number
  family: 4 | 6
  /** IFA_LOCAL (or IFA_ADDRESS when there is no local one). */
  address: string
  prefixLength: number
  /** IFA_ADDRESS when it differs from the local address (point-to-point peer). */
  peer: string | undefined
  broadcast: string | undefined
  /** IPv4 label (`eth0:vip`); undefined for IPv6. */
  label: string | undefined
  scope: number
  secondary: boolean
  /** IPv6 DAD not finished: the kernel will not use it as a source yet. */
  tentative: boolean
  noDad: boolean
}

/** An address to add or delete, in `ip addr add` terms. */
export interface AddressSpec {
  /** Interface index (from listLinks / interfaceIndex). */
  index: number
  /** The interface's name, for messages only. */
  interface?: string
  address: string
  prefixLength: number
  /** IPv4 only (`label eth0:1`); the kernel requires it to start with the interface name. */
  label?: string
  /** Default `global`. */
  scope?: ScopeName | number
  /** IPv4 broadcast address. */
  broadcast?: string
  /** Point-to-point peer (`peer`). */
  peer?: string
  /** IPv6: skip duplicate address detection (`nodad`), as keepalived does for VIPs. */
  noDad?: boolean
}

/** What an add or delete did. */
export type AddressChange = { changed: true } | { changed: false; reason: 'already-present' | 'not-present' }

/** Turn a parsed address message into an {@link InterfaceAddress}; exported for the event watcher. */
export function addressFromMessage(m: rt.AddressMessage): InterfaceAddress | undefined {
  const bytes = m.attrs.local ?? m.attrs.address
  if (!bytes || (bytes.length !== 4 && bytes.length !== 16)) return undefined
  const flags = m.attrs.flags ?? m.data.flags ?? {}
  const peer = m.attrs.local && m.attrs.address && !m.attrs.local.equals(m.attrs.address) ? addressText(m.attrs.address) : undefined
  return {
    index: m.data.index ?? 0,
    family: bytes.length === 4 ? 4 : 6,
    address: addressText(bytes),
    prefixLength: m.data.prefixlen ?? 0,
    peer,
    broadcast: m.attrs.broadcast ? addressText(m.attrs.broadcast) : undefined,
    label: m.attrs.label,
    scope: m.data.scope ?? 0,
    secondary: flags.secondary === true,
    tentative: flags.tentative === true,
    noDad: flags.nodad === true,
  }
}

/** Every address (optionally of one family) in the socket's namespace. */
export async function listAddresses(nl: Rtnetlink, family?: 4 | 6): Promise<InterfaceAddress[] | NetError> {
  const reply = await nl.request(
    RTM.GETADDR,
    (out) => rt.formatAddressMessage({ kind: 'address', data: { family: family === 4 ? AF_INET : family === 6 ? AF_INET6 : 0 }, attrs: {} }, out),
    DUMP,
    { operation: 'RTM_GETADDR dump' },
  )
  if (reply instanceof NetError) return reply
  const out: InterfaceAddress[] = []
  for (const m of reply) {
    if (m.kind !== 'address') continue
    const a = addressFromMessage(m)
    if (a && (family === undefined || a.family === family)) out.push(a)
  }
  return out
}

/**
 * The address keepalived sends IPv4 adverts from when none is configured: the
 * interface's first primary (non-secondary) IPv4 address.
 */
export function primaryIpv4(addresses: readonly InterfaceAddress[], index: number): string | undefined {
  return addresses.find((a) => a.index === index && a.family === 4 && !a.secondary)?.address
}

/** The interface's IPv6 link-local address (RFC 5798 §5.1.2.1: the source of IPv6 adverts), if usable. */
export function linkLocalIpv6(addresses: readonly InterfaceAddress[], index: number): string | undefined {
  return addresses.find((a) => a.index === index && a.family === 6 && a.scope === SCOPES.link && !a.tentative)?.address
}

function encode(spec: AddressSpec, forDelete: boolean): (out: import('netlink').AttrStream) => void {
  return (out) => {
    const family = addressFamily(spec.address)
    const local = addressBytes(spec.address)
    if (!family || !local) throw new Error(`'${spec.address}' is not an IP address`)
    const peer = spec.peer === undefined ? undefined : addressBytes(spec.peer)
    const broadcast = spec.broadcast === undefined ? undefined : addressBytes(spec.broadcast)
    if ((spec.peer !== undefined && peer?.length !== local.length) || (spec.broadcast !== undefined && broadcast?.length !== 4)) {
      throw new Error(`peer/broadcast of ${spec.address} is not an address of its family`)
    }
    const scope = typeof spec.scope === 'number' ? spec.scope : SCOPES[spec.scope ?? 'global']
    const attrs: rt.AddressAttrs = { local, address: peer ?? local }
    if (!forDelete) {
      if (spec.label !== undefined && family === 4) attrs.label = spec.label
      if (broadcast) attrs.broadcast = broadcast
    }
    const data: rt.Address = { family: family === 4 ? AF_INET : AF_INET6, prefixlen: spec.prefixLength, scope, index: spec.index }
    if (spec.noDad && family === 6 && !forDelete) data.flags = { nodad: true }
    rt.formatAddressMessage({ kind: 'address', data, attrs }, out)
  }
}

/** `ip addr add`; an address that is already there is `{ changed: false, reason: 'already-present' }`. */
export async function addAddress(nl: Rtnetlink, spec: AddressSpec): Promise<AddressChange | NetError> {
  const about = { operation: 'RTM_NEWADDR', interface: spec.interface ?? `#${spec.index}`, address: `${spec.address}/${spec.prefixLength}` }
  const reply = await nl.request(RTM.NEWADDR, encode(spec, false), CREATE_EXCL, about)
  if (isErrno(reply, 'EEXIST')) return { changed: false, reason: 'already-present' }
  return reply instanceof NetError ? reply : { changed: true }
}

/** `ip addr del`; an address that is not there is `{ changed: false, reason: 'not-present' }`. */
export async function deleteAddress(nl: Rtnetlink, spec: AddressSpec): Promise<AddressChange | NetError> {
  const about = { operation: 'RTM_DELADDR', interface: spec.interface ?? `#${spec.index}`, address: `${spec.address}/${spec.prefixLength}` }
  const reply = await nl.request(RTM.DELADDR, encode(spec, true), 0, about)
  if (isErrno(reply, 'EADDRNOTAVAIL')) return { changed: false, reason: 'not-present' }
  return reply instanceof NetError ? reply : { changed: true }
}
