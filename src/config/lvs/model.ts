/**
 * The checker / IPVS half of the configuration (reference §1.10–§1.13) as
 * plain readonly data. Every value keepalived defaults or corrects is resolved
 * here (a real server's port, weight and forwarding method, a checker's retry,
 * delay_before_retry, delay_loop, warmup, connect_timeout...), so the runtime
 * never re-derives keepalived's inheritance rules. Timers are microseconds.
 */
import type { SourcePosition } from '../diagnostics.js'
import type { ScriptSpec } from '../schema.js'

export type Protocol = 'TCP' | 'UDP' | 'SCTP'

/** keepalived 2.2.7's list (check_parser.c), `twos` included. */
export const LVS_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'sh', 'mh', 'dh', 'fo', 'ovf', 'lblcr', 'sed', 'nq', 'twos'] as const
export type LvsScheduler = (typeof LVS_SCHEDULERS)[number]

export type ForwardingKind = 'NAT' | 'DR' | 'TUN'
export type TunnelType = 'ipip' | 'gue' | 'gre'
export type TunnelChecksum = 'nocsum' | 'csum' | 'remcsum'
export type AddressFamily = 'inet' | 'inet6'

/** `lvs_method NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`. */
export interface LvsMethod {
  readonly kind: ForwardingKind
  /** TUN only; keepalived's default is ipip. */
  readonly tunnelType: TunnelType | undefined
  /** TUN type gue only (required there). */
  readonly tunnelPort: number | undefined
  /** TUN only; keepalived's default is nocsum. */
  readonly tunnelChecksum: TunnelChecksum | undefined
}

// ---------------------------------------------------------------------------
// virtual_server_group

/** `IP [PORT]`, `IP-LASTOCTET [PORT]`, `IP-IP [PORT]` or `IP/PREFIX [PORT]`: a range first..last. */
export interface GroupAddressEntry {
  readonly kind: 'address'
  readonly pos: SourcePosition
  readonly first: string
  /** Equal to `first` for a single address. */
  readonly last: string
  /** Set when written as `IP/PREFIX`. */
  readonly prefixLength: number | undefined
  /** 0 when omitted (the service must then be persistent). */
  readonly port: number
}

/** `fwmark N [inet|inet6]`. */
export interface GroupFwmarkEntry {
  readonly kind: 'fwmark'
  readonly pos: SourcePosition
  readonly fwmark: number
  readonly family: AddressFamily | undefined
}

export type GroupEntry = GroupAddressEntry | GroupFwmarkEntry

export interface VirtualServerGroup {
  readonly pos: SourcePosition
  readonly name: string
  /** Never empty: keepalived removes an empty group. */
  readonly entries: readonly GroupEntry[]
}

// ---------------------------------------------------------------------------
// Checkers (reference §1.13)

export type CheckerKind =
  | 'TCP_CHECK' | 'HTTP_GET' | 'SSL_GET' | 'MISC_CHECK' | 'SMTP_CHECK'
  | 'DNS_CHECK' | 'UDP_CHECK' | 'PING_CHECK' | 'FILE_CHECK' | 'BFD_CHECK'

/** Scheduling keywords every running checker has, resolved checker → real server → virtual server → default. */
export interface CheckerTiming {
  /** Extra attempts before DOWN. Default TCP/HTTP/SSL/SMTP/UDP/PING 1, DNS 3, MISC 0. */
  readonly retry: number
  /** Default HTTP/SSL 3 s, DNS = delayLoop, others 1 s. */
  readonly delayBeforeRetry: number
  /** Default = delayLoop. */
  readonly warmup: number
  /** Default the virtual server's delay_loop (60 s). */
  readonly delayLoop: number
  readonly alpha: boolean
  /** The checker's own setting or global checker_log_all_failures (keepalived ORs them). */
  readonly logAllFailures: boolean
}

/** Where a checker connects; `connectIp`/`connectPort` undefined mean the real server's. */
export interface CheckerConnection {
  readonly connectIp: string | undefined
  readonly connectPort: number | undefined
  readonly bindto: string | undefined
  readonly bindPort: number | undefined
  readonly bindIf: string | undefined
  /** Resolved: checker → real server → virtual server (5 s). */
  readonly connectTimeout: number
  /** SO_MARK on probe packets. */
  readonly fwmark: number | undefined
}

interface CheckerBase extends CheckerTiming {
  readonly pos: SourcePosition
}

export interface TcpCheck extends CheckerBase, CheckerConnection {
  readonly kind: 'TCP_CHECK'
}

export interface StatusCodeRange {
  readonly min: number
  readonly max: number
}

export interface HttpUrl {
  readonly pos: SourcePosition
  readonly path: string
  /** MD5 of the body, 32 lower-case hex digits. */
  readonly digest: string | undefined
  /** As written, in order; default 200-299. */
  readonly statusCodes: readonly StatusCodeRange[]
  readonly virtualhost: string | undefined
  readonly regex: string | undefined
  readonly regexNoMatch: boolean
  readonly regexOptions: readonly string[]
  readonly regexStack: { readonly start: number; readonly max: number } | undefined
  readonly regexMinOffset: number | undefined
  readonly regexMaxOffset: number | undefined
}

export type HttpProtocol = '1.0' | '1.0C' | '1.1'

export interface HttpCheck extends CheckerBase, CheckerConnection {
  readonly kind: 'HTTP_GET' | 'SSL_GET'
  /** Never empty: keepalived drops a checker without a url. */
  readonly urls: readonly HttpUrl[]
  readonly httpProtocol: HttpProtocol
  readonly virtualhost: string | undefined
  readonly fastRecovery: boolean
  readonly enableSni: boolean
}

export interface MiscCheck extends CheckerBase {
  readonly kind: 'MISC_CHECK'
  /** `misc_path` words as written: a quoted command stays one word (the runtime splits it). */
  readonly path: readonly string[]
  /** Whole seconds; undefined means the virtual server's delay_loop (keepalived's rule, not the checker's). */
  readonly timeout: number | undefined
  readonly dynamic: boolean
  readonly user: string | undefined
  readonly group: string | undefined
}

/** A deprecated `host { }` sub-block of SMTP_CHECK: one more connection to check. */
export interface SmtpHost extends CheckerConnection {
  readonly pos: SourcePosition
}

export interface SmtpCheck extends CheckerBase, CheckerConnection {
  readonly kind: 'SMTP_CHECK'
  /** Default `smtpchecker.keepalived.org`. */
  readonly heloName: string
  readonly hosts: readonly SmtpHost[]
}

export const DNS_TYPES = ['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA'] as const
export type DnsType = (typeof DNS_TYPES)[number]

export interface DnsCheck extends CheckerBase, CheckerConnection {
  readonly kind: 'DNS_CHECK'
  /** Default SOA. */
  readonly type: DnsType
  /** Default `.`. */
  readonly name: string
}

export interface UdpCheck extends CheckerBase, CheckerConnection {
  readonly kind: 'UDP_CHECK'
  /** Hex string as written (words joined by one space); undefined sends a random payload. */
  readonly payload: string | undefined
  readonly requireReply: boolean
  /** Hex string the reply must match (x/X = any nibble). */
  readonly replyData: string | undefined
  readonly minReplyLength: number
  readonly maxReplyLength: number
}

export interface PingCheck extends CheckerBase, CheckerConnection {
  readonly kind: 'PING_CHECK'
}

/** FILE_CHECK has none of the common checker keywords. */
export interface FileCheck {
  readonly kind: 'FILE_CHECK'
  readonly pos: SourcePosition
  readonly trackFile: string
  /** Undefined: the track_file block's own weight. */
  readonly weight: number | undefined
  readonly reverse: boolean
}

export interface BfdCheck {
  readonly kind: 'BFD_CHECK'
  readonly pos: SourcePosition
  readonly name: string
  readonly alpha: boolean
}

export type Checker = TcpCheck | HttpCheck | MiscCheck | SmtpCheck | DnsCheck | UdpCheck | PingCheck | FileCheck | BfdCheck

// ---------------------------------------------------------------------------
// Servers

export interface SorryServer {
  readonly pos: SourcePosition
  readonly address: string
  /** Resolved like a real server's port for DR/TUN; as written (0 if omitted) for NAT. */
  readonly port: number
  readonly inhibit: boolean
  /** Default the virtual server's. */
  readonly lvsMethod: LvsMethod
}

export interface RealServer {
  readonly pos: SourcePosition
  readonly address: string
  /** Resolved: NAT without a port takes the virtual server's; DR/TUN always the virtual server's; fwmark non-NAT 0. */
  readonly port: number
  /** Default the virtual server's `weight` (1). */
  readonly weight: number
  /** Default the virtual server's. */
  readonly lvsMethod: LvsMethod
  readonly inhibitOnFailure: boolean
  readonly alpha: boolean
  readonly notifyUp: ScriptSpec | undefined
  readonly notifyDown: ScriptSpec | undefined
  readonly uthreshold: number | undefined
  readonly lthreshold: number | undefined
  /** As written (tier 3); undefined follows global smtp_alert_checker, then smtp_alert, else true (keepalived's backward compatibility). */
  readonly smtpAlert: boolean | undefined
  readonly virtualhost: string | undefined
  readonly snmpName: string | undefined
  /** Overrides as written for the checkers; each checker carries the resolved values. */
  readonly connectTimeout: number | undefined
  readonly retry: number | undefined
  readonly delayBeforeRetry: number | undefined
  readonly warmup: number | undefined
  readonly delayLoop: number | undefined
  /** None: the real server is always up. */
  readonly checkers: readonly Checker[]
}

export interface SchedulerFlags {
  readonly ops: boolean
  readonly flag1: boolean
  readonly flag2: boolean
  readonly flag3: boolean
  readonly shPort: boolean
  readonly shFallback: boolean
  readonly mhPort: boolean
  readonly mhFallback: boolean
}

export interface VirtualServer extends SchedulerFlags {
  readonly pos: SourcePosition
  /** Header `IP [PORT]`: exactly one of address, fwmark and group is set. */
  readonly address: string | undefined
  /** With address: 0 when omitted. */
  readonly port: number | undefined
  readonly fwmark: number | undefined
  readonly group: string | undefined
  readonly ipFamily: AddressFamily | undefined
  /** Resolved (UDP when missing); undefined for fwmark services, where keepalived ignores it. */
  readonly protocol: Protocol | undefined
  /** Default wlc. */
  readonly lvsSched: LvsScheduler
  /** Default NAT. */
  readonly lvsMethod: LvsMethod
  /** Seconds; undefined = not persistent. Port 0 or a granularity imply 360. */
  readonly persistenceTimeout: number | undefined
  /** IPv4 netmask or IPv6 prefix length, as written. */
  readonly persistenceGranularity: string | undefined
  readonly persistenceEngine: string | undefined
  readonly haSuspend: boolean
  readonly virtualhost: string | undefined
  readonly alpha: boolean
  readonly omega: boolean
  /** Default 1; reduced to the total real server weight, as keepalived does. */
  readonly quorum: number
  /** Default 0; always below quorum. */
  readonly hysteresis: number
  readonly quorumUp: ScriptSpec | undefined
  readonly quorumDown: ScriptSpec | undefined
  readonly sorryServer: SorryServer | undefined
  readonly inhibitOnFailure: boolean
  /** Default weight of the real servers. */
  readonly weight: number
  /** Default 60 s. */
  readonly delayLoop: number
  /** Default 5 s. */
  readonly connectTimeout: number
  readonly retry: number | undefined
  readonly delayBeforeRetry: number | undefined
  readonly warmup: number | undefined
  /** As written (tier 3); undefined follows global smtp_alert_checker, then smtp_alert, else false. */
  readonly smtpAlert: boolean | undefined
  readonly snmpName: string | undefined
  /** Never empty: keepalived ignores a virtual server without real servers. */
  readonly realServers: readonly RealServer[]
}

export interface LvsConfig {
  /** In file order. */
  readonly virtualServerGroups: readonly VirtualServerGroup[]
  /** In file order. */
  readonly virtualServers: readonly VirtualServer[]
}
