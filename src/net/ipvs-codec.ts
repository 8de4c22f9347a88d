/**
 * The IPVS generic netlink payloads (uapi linux/ip_vs.h, reference §6), pure.
 *
 * {@link encodeRequest} turns one request keepalived makes into the attribute
 * payload that follows the genl header; the decoders read the kernel's replies
 * (dump entries, GET_INFO, GET_CONFIG, GET_DAEMON). Nothing here throws: bad
 * input gives a NetError (`KA_NET_INVALID_*` when encoding, `KA_NET_MALFORMED`
 * when decoding). The uapi rules the kernel enforces:
 * - integers are host order, except addresses (16-byte `union nf_inet_addr`,
 *   IPv4 in the first 4 bytes), ports (u16 in network order), the IPv4
 *   persistence netmask and the sync daemon's IPv4 group (network order);
 * - NEW/SET_SERVICE must carry SCHED_NAME, FLAGS, TIMEOUT and NETMASK, else
 *   EINVAL; FLAGS is `{u32 flags; u32 mask}` and the mask is all ones, so the
 *   kernel takes our flags whole;
 * - the kernel parses IPVS nests liberally (the nested flag is neither required
 *   nor refused); we set NLA_F_NESTED as current kernels expect of new code
 *   (Debian's 6.1 accepts it, test/vm/ipvs-client.test.ts), and mask it (and
 *   NLA_F_NET_BYTEORDER) off when reading: the kernel's own replies omit it.
 * DR/TUN destination ports are the caller's: the desired table already holds
 * the port keepalived would send (the VS port, or 0 under a fwmark service).
 */
import { NetError } from './errors.js'
import { addressBytes, addressText } from './ip-address.js'
import { serviceKeyText } from './ipvs-types.js'
import type { IpvsDest, IpvsDestCounters, IpvsDestKey, IpvsFamily, IpvsService, IpvsServiceKey, IpvsSyncDaemon, IpvsTimeouts } from './ipvs-types.js'
import {
  AF_OF, CHECKSUM_NUMBER, CHECKSUM_OF, CMD_ATTR, CTRL_ATTR, DAEMON, DAEMON_STATE, DEST, FAMILY_OF, FORWARDING_NUMBER, FORWARDING_OF, FWD_MASK, INFO, IPVS_CMD,
  NAME_MAX_BYTES, PROTOCOL_NUMBER, PROTOCOL_OF, SVC, SVC_F_HASHED, TUNNEL_NUMBER, TUNNEL_OF, attr, be16, be32, nest, parseAttrs, readU16, readU32, u16, u32, u8,
} from './ipvs-uapi.js'
import type { Attrs } from './ipvs-uapi.js'

export { IPVS_CMD, IPVS_GENL_NAME, IPVS_GENL_VERSION, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, type IpvsCommand } from './ipvs-uapi.js'

// ─── Encoding ────────────────────────────────────────────────────────────────

/** Every request keepalived makes, by command. */
export type IpvsRequest =
  | { readonly command: 'NEW_SERVICE' | 'SET_SERVICE'; readonly service: IpvsService }
  | { readonly command: 'DEL_SERVICE' | 'GET_DEST'; readonly key: IpvsServiceKey }
  | { readonly command: 'NEW_DEST' | 'SET_DEST'; readonly key: IpvsServiceKey; readonly dest: IpvsDest }
  | { readonly command: 'DEL_DEST'; readonly key: IpvsServiceKey; readonly dest: IpvsDestKey }
  | { readonly command: 'NEW_DAEMON'; readonly daemon: IpvsSyncDaemon }
  | { readonly command: 'DEL_DAEMON'; readonly state: IpvsSyncDaemon['state'] }
  | { readonly command: 'SET_CONFIG'; readonly timeouts: IpvsTimeouts }
  | { readonly command: 'GET_SERVICE' | 'GET_DAEMON' | 'GET_CONFIG' | 'GET_INFO' | 'FLUSH' }

/** A request ready for the genl header. */
export interface EncodedRequest {
  readonly cmd: number
  /** Sent with NLM_F_DUMP; the answer is a multipart series ended by NLMSG_DONE. */
  readonly dump: boolean
  /** The attributes after the genl header. */
  readonly payload: Buffer
  /** keepalived's name for it, e.g. `IPVS_CMD_NEW_DEST`. */
  readonly operation: string
  /** The service / destination concerned, for error messages. */
  readonly subject: string | undefined
}

/** Thrown inside the encoder only, caught by {@link encodeRequest}. */
class Invalid {
  constructor(readonly code: 'KA_NET_INVALID_ADDRESS' | 'KA_NET_INVALID_ARGUMENT', readonly reason: string) {}
}

function integer(value: number, max: number, what: string, min = 0): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new Invalid('KA_NET_INVALID_ARGUMENT', `${what} ${value} is outside ${min}..${max}`)
  return value
}
function name(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, 'utf8')
  if (bytes.length === 0 || bytes.length > NAME_MAX_BYTES || bytes.includes(0)) {
    throw new Invalid('KA_NET_INVALID_ARGUMENT', `${what} "${text}" must be 1..${NAME_MAX_BYTES} bytes`)
  }
  return Buffer.concat([bytes, Buffer.of(0)])
}
/** A table lookup; TypeScript rules out a miss, but the value may come from untyped config code. */
function known<K extends string | number>(table: Record<K, number>, key: K, what: string): number {
  const n = (table as Record<string | number, number | undefined>)[key]
  if (n === undefined) throw new Invalid('KA_NET_INVALID_ARGUMENT', `unknown ${what} ${String(key)}`)
  return n
}
/** A `union nf_inet_addr`: 16 bytes, IPv4 in the first 4. */
function inetAddr(family: IpvsFamily, text: string): Buffer {
  const bytes = addressBytes(text)
  if (!bytes || bytes.length !== (family === 4 ? 4 : 16)) throw new Invalid('KA_NET_INVALID_ADDRESS', `"${text}" is not an IPv${family} address`)
  const out = Buffer.alloc(16)
  bytes.copy(out)
  return out
}

function serviceKeyAttrs(key: IpvsServiceKey): Buffer[] {
  const af = attr(SVC.AF, u16(known(AF_OF, key.family, 'address family')))
  if (key.kind === 'fwmark') return [af, attr(SVC.FWMARK, u32(integer(key.fwmark, 0xffffffff, 'fwmark', 1)))]
  return [
    af,
    attr(SVC.PROTOCOL, u16(known(PROTOCOL_NUMBER, key.protocol, 'protocol'))),
    attr(SVC.ADDR, inetAddr(key.family, key.address)),
    attr(SVC.PORT, be16(integer(key.port, 0xffff, 'port'))),
  ]
}

function serviceAttrs(s: IpvsService): Buffer[] {
  const flags = Buffer.concat([u32(integer(s.flags, 0xffffffff, 'flags')), u32(0xffffffff)])
  // IPv4: the mask itself, in network order; IPv6: a prefix length, host order.
  const netmask = s.key.family === 4 ? be32(integer(s.netmask, 0xffffffff, 'netmask')) : u32(integer(s.netmask, 128, 'prefix length', 1))
  return [
    ...serviceKeyAttrs(s.key),
    attr(SVC.SCHED_NAME, name(s.scheduler, 'scheduler')),
    ...(s.persistenceEngine === undefined ? [] : [attr(SVC.PE_NAME, name(s.persistenceEngine, 'persistence engine'))]),
    attr(SVC.FLAGS, flags),
    attr(SVC.TIMEOUT, u32(integer(s.timeout, 0xffffffff, 'persistence timeout'))),
    attr(SVC.NETMASK, netmask),
  ]
}

function destKeyAttrs(d: IpvsDestKey): Buffer[] {
  return [
    attr(DEST.ADDR_FAMILY, u16(known(AF_OF, d.family, 'address family'))),
    attr(DEST.ADDR, inetAddr(d.family, d.address)),
    attr(DEST.PORT, be16(integer(d.port, 0xffff, 'port'))),
  ]
}

function destAttrs(d: IpvsDest): Buffer[] {
  const out = [
    ...destKeyAttrs(d),
    attr(DEST.FWD_METHOD, u32(known(FORWARDING_NUMBER, d.forwarding, 'forwarding method'))),
    attr(DEST.WEIGHT, u32(integer(d.weight, 0x7fffffff, 'weight'))),
  ]
  if (d.forwarding === 'TUN') {
    const type = d.tunnelType ?? 'ipip'
    out.push(attr(DEST.TUN_TYPE, u8(known(TUNNEL_NUMBER, type, 'tunnel type'))))
    if (type === 'gue') {
      if (d.tunnelPort === undefined) throw new Invalid('KA_NET_INVALID_ARGUMENT', 'a gue tunnel needs a port')
      out.push(attr(DEST.TUN_PORT, be16(integer(d.tunnelPort, 0xffff, 'tunnel port', 1))))
    }
    if (type !== 'ipip') out.push(attr(DEST.TUN_FLAGS, u16(known(CHECKSUM_NUMBER, d.tunnelChecksum ?? 'nocsum', 'tunnel checksum'))))
  }
  out.push(
    attr(DEST.U_THRESH, u32(integer(d.upperThreshold, 0xffffffff, 'upper threshold'))),
    attr(DEST.L_THRESH, u32(integer(d.lowerThreshold, 0xffffffff, 'lower threshold'))),
  )
  return out
}

function daemonAttrs(d: IpvsSyncDaemon): Buffer[] {
  const out = [
    attr(DAEMON.STATE, u32(known(DAEMON_STATE, d.state, 'daemon state'))),
    attr(DAEMON.MCAST_IFN, name(d.interface, 'interface')),
    attr(DAEMON.SYNC_ID, u32(integer(d.syncId, 255, 'sync id'))),
  ]
  if (d.maxLength !== undefined) out.push(attr(DAEMON.SYNC_MAXLEN, u16(integer(d.maxLength, 0xffff, 'sync max length'))))
  if (d.port !== undefined) out.push(attr(DAEMON.MCAST_PORT, u16(integer(d.port, 0xffff, 'multicast port', 1))))
  if (d.ttl !== undefined) out.push(attr(DAEMON.MCAST_TTL, u8(integer(d.ttl, 255, 'multicast TTL', 1))))
  if (d.group !== undefined) {
    const bytes = addressBytes(d.group)
    if (!bytes) throw new Invalid('KA_NET_INVALID_ADDRESS', `"${d.group}" is not an IP address`)
    out.push(attr(bytes.length === 4 ? DAEMON.MCAST_GROUP : DAEMON.MCAST_GROUP6, bytes))
  }
  return out
}

function timeoutAttrs(t: IpvsTimeouts): Buffer[] {
  return [
    attr(CMD_ATTR.TIMEOUT_TCP, u32(integer(t.tcp, 0xffffffff, 'tcp timeout'))),
    attr(CMD_ATTR.TIMEOUT_TCP_FIN, u32(integer(t.tcpFin, 0xffffffff, 'tcp fin timeout'))),
    attr(CMD_ATTR.TIMEOUT_UDP, u32(integer(t.udp, 0xffffffff, 'udp timeout'))),
  ]
}

function attrsOfRequest(req: IpvsRequest): Buffer[] {
  switch (req.command) {
    case 'NEW_SERVICE':
    case 'SET_SERVICE':
      return [nest(CMD_ATTR.SERVICE, serviceAttrs(req.service))]
    case 'DEL_SERVICE':
    case 'GET_DEST':
      return [nest(CMD_ATTR.SERVICE, serviceKeyAttrs(req.key))]
    case 'NEW_DEST':
    case 'SET_DEST':
    case 'DEL_DEST':
      // The service nest only selects the parent: its key is all the kernel reads.
      return [nest(CMD_ATTR.SERVICE, serviceKeyAttrs(req.key)), nest(CMD_ATTR.DEST, req.command === 'DEL_DEST' ? destKeyAttrs(req.dest) : destAttrs(req.dest))]
    case 'NEW_DAEMON':
      return [nest(CMD_ATTR.DAEMON, daemonAttrs(req.daemon))]
    case 'DEL_DAEMON':
      return [nest(CMD_ATTR.DAEMON, [attr(DAEMON.STATE, u32(known(DAEMON_STATE, req.state, 'daemon state')))])]
    case 'SET_CONFIG':
      return timeoutAttrs(req.timeouts)
    default:
      return []
  }
}

/** What a request concerns, as errors print it: `[10.0.0.1]:tcp:80 real server [192.168.1.1]:80`. */
export function requestSubject(req: IpvsRequest): string | undefined {
  switch (req.command) {
    case 'NEW_SERVICE':
    case 'SET_SERVICE':
      return serviceKeyText(req.service.key)
    case 'DEL_SERVICE':
    case 'GET_DEST':
      return serviceKeyText(req.key)
    case 'NEW_DEST':
    case 'SET_DEST':
    case 'DEL_DEST':
      return `${serviceKeyText(req.key)} real server [${req.dest.address}]:${req.dest.port}`
    case 'NEW_DAEMON':
      return `${req.daemon.state} sync daemon on ${req.daemon.interface}`
    case 'DEL_DAEMON':
      return `${req.state} sync daemon`
    default:
      return undefined
  }
}

/** Encode one request; a value the message cannot carry gives a NetError. */
export function encodeRequest(req: IpvsRequest): EncodedRequest | NetError {
  const operation = `IPVS_CMD_${req.command}`
  const subject = requestSubject(req)
  try {
    const payload = Buffer.concat(attrsOfRequest(req))
    const dump = req.command === 'GET_SERVICE' || req.command === 'GET_DEST' || req.command === 'GET_DAEMON'
    return { cmd: IPVS_CMD[req.command], dump, payload, operation, subject }
  } catch (err) {
    const why = err instanceof Invalid ? err : new Invalid('KA_NET_INVALID_ARGUMENT', (err as Error).message)
    return new NetError(why.code, `${operation}: ${why.reason}${subject ? ` (${subject})` : ''}`, { operation, address: subject })
  }
}

/** CTRL_CMD_GETFAMILY's payload: the family name, NUL-terminated. */
export function encodeGetFamily(family: string): Buffer {
  return attr(CTRL_ATTR.FAMILY_NAME, Buffer.from(`${family}\0`, 'utf8'))
}

// ─── Decoding ────────────────────────────────────────────────────────────────

/** Thrown inside the decoders only, caught by {@link decoding}. */
class Malformed {
  constructor(readonly reason: string) {}
}

function attrsOf(buf: Buffer, what: string): Attrs {
  const attrs = parseAttrs(buf)
  if (typeof attrs === 'string') throw new Malformed(`${what}: ${attrs}`)
  return attrs
}

function need(attrs: Attrs, type: number, bytes: number, what: string): Buffer {
  const data = attrs.get(type)
  if (data === undefined) throw new Malformed(`no ${what}`)
  if (data.length < bytes) throw new Malformed(`${what} has ${data.length} bytes, needs ${bytes}`)
  return data
}
function optional(attrs: Attrs, type: number, bytes: number, what: string): Buffer | undefined {
  return attrs.has(type) ? need(attrs, type, bytes, what) : undefined
}
function readName(b: Buffer): string {
  const end = b.indexOf(0)
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8')
}
function lookup<T>(table: Map<number, T>, n: number, what: string): T {
  const v = table.get(n)
  if (v === undefined) throw new Malformed(`unsupported ${what} ${n}`)
  return v
}
function readAddress(family: IpvsFamily, b: Buffer): string {
  return addressText(b.subarray(0, family === 4 ? 4 : 16))
}

function nested(payload: Buffer, type: number, what: string): Attrs {
  return attrsOf(need(attrsOf(payload, 'message'), type, 0, what), what)
}

function decoding<T>(operation: string, fn: () => T): T | NetError {
  try {
    return fn()
  } catch (err) {
    const reason = err instanceof Malformed ? err.reason : (err as Error).message
    return new NetError('KA_NET_MALFORMED', `${operation} reply: ${reason}`, { operation, cause: err instanceof Malformed ? undefined : err })
  }
}

/** One GET_SERVICE dump entry (HASHED, kernel-internal, is dropped from the flags). */
export function decodeService(payload: Buffer): IpvsService | NetError {
  return decoding('IPVS_CMD_GET_SERVICE', () => {
    const a = nested(payload, CMD_ATTR.SERVICE, 'service')
    const family = lookup(FAMILY_OF, readU16(need(a, SVC.AF, 2, 'address family')), 'address family')
    const fwmark = optional(a, SVC.FWMARK, 4, 'fwmark')
    let key: IpvsServiceKey
    if (fwmark !== undefined && readU32(fwmark) !== 0) {
      key = { kind: 'fwmark', family, fwmark: readU32(fwmark) }
    } else {
      const protocol = lookup(PROTOCOL_OF, readU16(need(a, SVC.PROTOCOL, 2, 'protocol')), 'protocol')
      const address = readAddress(family, need(a, SVC.ADDR, family === 4 ? 4 : 16, 'address'))
      key = { kind: 'address', family, protocol, address, port: need(a, SVC.PORT, 2, 'port').readUInt16BE(0) }
    }
    const netmask = need(a, SVC.NETMASK, 4, 'netmask')
    const pe = a.get(SVC.PE_NAME)
    return {
      key,
      scheduler: readName(need(a, SVC.SCHED_NAME, 1, 'scheduler')),
      flags: (readU32(need(a, SVC.FLAGS, 8, 'flags')) & ~SVC_F_HASHED) >>> 0,
      timeout: readU32(need(a, SVC.TIMEOUT, 4, 'timeout')),
      netmask: family === 4 ? netmask.readUInt32BE(0) : readU32(netmask),
      persistenceEngine: pe === undefined || readName(pe) === '' ? undefined : readName(pe),
    }
  })
}

/**
 * One GET_DEST dump entry. Kernels before 4.x send no ADDR_FAMILY: the
 * service's family is then the destination's.
 */
export function decodeDest(payload: Buffer, serviceFamily?: IpvsFamily): (IpvsDest & Partial<IpvsDestCounters>) | NetError {
  return decoding('IPVS_CMD_GET_DEST', () => {
    const a = nested(payload, CMD_ATTR.DEST, 'destination')
    const af = optional(a, DEST.ADDR_FAMILY, 2, 'address family')
    const family = af === undefined ? serviceFamily : lookup(FAMILY_OF, readU16(af), 'address family')
    if (family === undefined) throw new Malformed('no address family')
    const forwarding = lookup(FORWARDING_OF, readU32(need(a, DEST.FWD_METHOD, 4, 'forwarding method')) & FWD_MASK, 'forwarding method')
    // The kernel reports tunnel attributes for every destination; they mean something for TUN only.
    const tunType = optional(a, DEST.TUN_TYPE, 1, 'tunnel type')
    const tunnelType = forwarding === 'TUN' ? lookup(TUNNEL_OF, tunType?.[0] ?? 0, 'tunnel type') : undefined
    const tunPort = optional(a, DEST.TUN_PORT, 2, 'tunnel port')
    const tunFlags = optional(a, DEST.TUN_FLAGS, 2, 'tunnel flags')
    const counters: Partial<{ -readonly [K in keyof IpvsDestCounters]: number }> = {}
    const active = optional(a, DEST.ACTIVE_CONNS, 4, 'active connections')
    const inactive = optional(a, DEST.INACT_CONNS, 4, 'inactive connections')
    const persistent = optional(a, DEST.PERSIST_CONNS, 4, 'persistent connections')
    if (active) counters.activeConnections = readU32(active)
    if (inactive) counters.inactiveConnections = readU32(inactive)
    if (persistent) counters.persistentConnections = readU32(persistent)
    return {
      family,
      address: readAddress(family, need(a, DEST.ADDR, family === 4 ? 4 : 16, 'address')),
      port: need(a, DEST.PORT, 2, 'port').readUInt16BE(0),
      forwarding,
      weight: readU32(need(a, DEST.WEIGHT, 4, 'weight')) | 0,
      upperThreshold: readU32(need(a, DEST.U_THRESH, 4, 'upper threshold')),
      lowerThreshold: readU32(need(a, DEST.L_THRESH, 4, 'lower threshold')),
      tunnelType,
      tunnelPort: tunnelType === 'gue' ? (tunPort?.readUInt16BE(0) ?? 0) : undefined,
      tunnelChecksum: tunnelType === 'gue' || tunnelType === 'gre' ? lookup(CHECKSUM_OF, tunFlags ? readU16(tunFlags) : 0, 'tunnel flags') : undefined,
      ...counters,
    }
  })
}

/** GET_INFO: IPVS version (`1.2.1`) and connection table size. */
export function decodeInfo(payload: Buffer): { version: string; connTableSize: number } | NetError {
  return decoding('IPVS_CMD_GET_INFO', () => {
    const a = attrsOf(payload, 'message')
    const v = readU32(need(a, INFO.VERSION, 4, 'version'))
    return { version: `${(v >> 16) & 0xff}.${(v >> 8) & 0xff}.${v & 0xff}`, connTableSize: readU32(need(a, INFO.CONN_TAB_SIZE, 4, 'connection table size')) }
  })
}

/** GET_CONFIG: the TCP, TCP FIN and UDP timeouts in seconds (0 when the kernel leaves one out). */
export function decodeTimeouts(payload: Buffer): IpvsTimeouts | NetError {
  return decoding('IPVS_CMD_GET_CONFIG', () => {
    const a = attrsOf(payload, 'message')
    const get = (type: number, what: string): number => {
      const b = optional(a, type, 4, what)
      return b === undefined ? 0 : readU32(b)
    }
    return { tcp: get(CMD_ATTR.TIMEOUT_TCP, 'tcp timeout'), tcpFin: get(CMD_ATTR.TIMEOUT_TCP_FIN, 'tcp fin timeout'), udp: get(CMD_ATTR.TIMEOUT_UDP, 'udp timeout') }
  })
}

/** One GET_DAEMON dump entry (also reads a NEW_DAEMON payload). */
export function decodeDaemon(payload: Buffer): IpvsSyncDaemon | NetError {
  return decoding('IPVS_CMD_GET_DAEMON', () => {
    const a = nested(payload, CMD_ATTR.DAEMON, 'daemon')
    const stateNumber = readU32(need(a, DAEMON.STATE, 4, 'state'))
    const state = stateNumber === 1 ? 'master' : stateNumber === 2 ? 'backup' : undefined
    if (state === undefined) throw new Malformed(`unsupported daemon state ${stateNumber}`)
    const maxLength = optional(a, DAEMON.SYNC_MAXLEN, 2, 'sync max length')
    const port = optional(a, DAEMON.MCAST_PORT, 2, 'multicast port')
    const ttl = optional(a, DAEMON.MCAST_TTL, 1, 'multicast TTL')
    const group4 = optional(a, DAEMON.MCAST_GROUP, 4, 'multicast group')
    const group6 = optional(a, DAEMON.MCAST_GROUP6, 16, 'IPv6 multicast group')
    return {
      state,
      interface: readName(need(a, DAEMON.MCAST_IFN, 1, 'interface')),
      syncId: readU32(need(a, DAEMON.SYNC_ID, 4, 'sync id')),
      maxLength: maxLength && readU16(maxLength),
      port: port && readU16(port),
      ttl: ttl?.[0],
      group: group6 ? addressText(group6.subarray(0, 16)) : group4 ? addressText(group4.subarray(0, 4)) : undefined,
    }
  })
}

/** CTRL_CMD_GETFAMILY's answer: the family id (and version) to address IPVS by. */
export function decodeFamily(payload: Buffer): { id: number; version: number | undefined } | NetError {
  return decoding('CTRL_CMD_GETFAMILY', () => {
    const a = attrsOf(payload, 'message')
    const version = optional(a, CTRL_ATTR.VERSION, 4, 'version')
    return { id: readU16(need(a, CTRL_ATTR.FAMILY_ID, 2, 'family id')), version: version && readU32(version) }
  })
}
