/**
 * The kernel side of keepalived-ts, as typed interfaces: everything above
 * src/net imports from here and never from raw-socket, koffi or netlink.
 */
export { NetError, errnoOf, errnoNamed, type Errno, type NetErrorCode } from './errors.js'
export { openVrrpSocket, VRRP_GROUP_IPV4, VRRP_GROUP_IPV6, type ReceivedVrrp, type VrrpSocket, type VrrpSocketOptions } from './vrrp-socket.js'
export { buildIpv4Header, readIpv4Header, IPV4_HEADER_LENGTH, type Ipv4HeaderFields } from './ipv4-header.js'
export { openPacketSocket, interfaceIndex, type PacketSocket } from './packet-socket.js'
export { openRtnetlink, type Rtnetlink } from './rtnetlink.js'
export { listLinks, findLink, setLinkUp, type Link } from './links.js'
export {
  addAddress,
  deleteAddress,
  listAddresses,
  primaryIpv4,
  linkLocalIpv6,
  SCOPES,
  type AddressChange,
  type AddressSpec,
  type InterfaceAddress,
  type ScopeName,
} from './addresses.js'
export { watchNetworkEvents, type AddressEvent, type LinkEvent, type NetworkEvent, type NetworkEventWatcher, type WatchOptions } from './events.js'
export { addRoute, deleteRoute, addRule, deleteRule, RTPROT_KEEPALIVED, type RouteSpec, type RuleSpec } from './routes.js'
export { createVmac, deleteVmac, vrrpMac, type VmacResult, type VmacSpec } from './vmac.js'
export { interfaceSysctlPath, readInterfaceSysctl, writeInterfaceSysctl } from './sysctl.js'
export { withNetworkNamespace, namedNamespacePath } from './netns.js'
export { addressBytes, addressText, addressFamily, isMulticast, macBytes, macText } from './ip-address.js'
export { openIpvs, type IpvsClient, type IpvsOptions } from './ipvs.js'
export * from './ipvs-types.js'
export { connectStream } from './stream-probe.js'
