/**
 * Network interfaces as rtnetlink reports them (RTM_GETLINK): what VRRP needs
 * to pick sockets, send GARPs (MAC, NOARP) and track interface state.
 */
import type { rt } from 'netlink'
import { NetError } from './errors.js'
import { macText } from './ip-address.js'
import { RTM, type Rtnetlink } from './rtnetlink.js'

/** DUMP = ROOT|MATCH (netlink(7)). */
const DUMP = 0x300

/** One interface. */
export interface Link {
  index: number
  name: string
  /** Hardware address as `ip link` prints it; '' when the link has none. */
  mac: string
  /** IFF_UP: administratively up. */
  up: boolean
  /** IFF_RUNNING: operationally up (carrier). keepalived's "interface is up" needs both. */
  running: boolean
  /** IFF_NOARP: keepalived sends no GARP on such interfaces (reference §5.8). */
  noArp: boolean
  mtu: number
  /** IFLA_INFO_KIND, e.g. `veth`, `macvlan`; undefined for plain devices. */
  kind: string | undefined
  /** IFLA_LINK: the lower device's index (a macvlan's base interface). */
  parentIndex: number | undefined
}

/** Turn a parsed RTM_NEWLINK into a {@link Link}; exported for the event watcher. */
export function linkFromMessage(m: rt.LinkMessage): Link {
  const flags = m.data.flags ?? {}
  return {
    index: m.data.index ?? 0,
    name: m.attrs.ifname ?? '',
    mac: m.attrs.address ? macText(m.attrs.address) : '',
    up: flags.up === true,
    running: flags.running === true,
    noArp: flags.noarp === true,
    mtu: m.attrs.mtu ?? 0,
    kind: linkKind(m.attrs.linkinfo),
    parentIndex: m.attrs.link && m.attrs.link.length >= 4 ? m.attrs.link.readUInt32LE(0) : undefined,
  }
}

/** IFLA_INFO_KIND (type 1) inside the nested IFLA_LINKINFO bytes. */
function linkKind(linkinfo: Buffer | undefined): string | undefined {
  if (!linkinfo) return undefined
  for (let off = 0; off + 4 <= linkinfo.length; ) {
    const len = linkinfo.readUInt16LE(off)
    const type = linkinfo.readUInt16LE(off + 2) & 0x3fff
    if (len < 4 || off + len > linkinfo.length) return undefined
    if (type === 1) return linkinfo.toString('latin1', off + 4, off + len).replace(/\0+$/, '')
    off += (len + 3) & ~3
  }
  return undefined
}

/** Every interface in the socket's namespace. */
export async function listLinks(nl: Rtnetlink): Promise<Link[] | NetError> {
  const reply = await nl.request(RTM.GETLINK, (out) => out.emit(Buffer.alloc(16)), DUMP, { operation: 'RTM_GETLINK dump' })
  if (reply instanceof NetError) return reply
  return reply.filter((m): m is rt.LinkMessage => m.kind === 'link').map(linkFromMessage)
}

/** One interface by name; a KA_NET_NO_INTERFACE NetError when it does not exist. */
export async function findLink(nl: Rtnetlink, name: string): Promise<Link | NetError> {
  const links = await listLinks(nl)
  if (links instanceof NetError) return links
  const link = links.find((l) => l.name === name)
  return link ?? new NetError('KA_NET_NO_INTERFACE', `interface ${name} does not exist`, { operation: 'RTM_GETLINK', interface: name })
}

/** Set an interface administratively up or down (`ip link set NAME up|down`). */
export async function setLinkUp(nl: Rtnetlink, link: Pick<Link, 'index' | 'name'>, up: boolean): Promise<NetError | undefined> {
  const flags = up ? 0x1 : 0
  const reply = await nl.request(
    RTM.SETLINK,
    (out) => {
      // struct ifinfomsg: family, pad, type, index, flags, change (IFF_UP only).
      const h = Buffer.alloc(16)
      h.writeInt32LE(link.index, 4)
      h.writeUInt32LE(flags, 8)
      h.writeUInt32LE(0x1, 12)
      out.emit(h)
    },
    0,
    { operation: `RTM_SETLINK ${up ? 'up' : 'down'}`, interface: link.name },
  )
  return reply instanceof NetError ? reply : undefined
}
