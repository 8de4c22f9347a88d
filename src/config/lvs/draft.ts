/**
 * Drafts: what the keyword tables fill while reading a block, before
 * keepalived's defaults and corrections are applied. A draft has the model's
 * field names with every field optional, so a finished model is also a valid
 * draft: the same keyword table that reads a block writes the model back.
 */
import type { SourcePosition } from '../diagnostics.js'
import type {
  BfdCheck, CheckerConnection, CheckerTiming, DnsCheck, FileCheck, GroupEntry, HttpCheck, HttpUrl,
  MiscCheck, PingCheck, RealServer, SmtpCheck, SmtpHost, SorryServer, TcpCheck, UdpCheck, VirtualServer,
} from './model.js'

export type Draft<M> = { -readonly [K in keyof M]?: M[K] }

/** Where a block ends and how to name it in later diagnostics. */
export interface BlockMarks {
  /** The block in the operator's words, e.g. `real_server 10.0.0.2 80 of virtual_server 10.0.0.1 80`. */
  context?: string
  /** The closing brace: keepalived reports end-of-block checks there. */
  close?: SourcePosition
}

export type TimingDraft = Draft<CheckerTiming>
export type ConnectionDraft = Draft<CheckerConnection>

export type UrlDraft = Draft<HttpUrl> & BlockMarks
export type SmtpHostDraft = Draft<SmtpHost & CheckerTiming>

export type TcpDraft = Draft<TcpCheck> & BlockMarks
export type HttpDraft = Draft<HttpCheck> & BlockMarks & { urlDrafts?: UrlDraft[] }
export type MiscDraft = Draft<MiscCheck> & BlockMarks
export type SmtpDraft = Draft<SmtpCheck> & BlockMarks & { hostDrafts?: SmtpHostDraft[] }
export type DnsDraft = Draft<DnsCheck> & BlockMarks
export type UdpDraft = Draft<UdpCheck> & BlockMarks
export type PingDraft = Draft<PingCheck> & BlockMarks
export type FileDraft = Draft<FileCheck> & BlockMarks
export type BfdDraft = Draft<BfdCheck> & BlockMarks

export type CheckerDraft = TcpDraft | HttpDraft | MiscDraft | SmtpDraft | DnsDraft | UdpDraft | PingDraft | FileDraft | BfdDraft

/** keepalived's address family of a virtual server as it reads the block (vs->af). */
export type Family = 4 | 6

export type RealServerDraft = Draft<RealServer> & BlockMarks & {
  checkerDrafts?: CheckerDraft[]
}

export type SorryDraft = Draft<SorryServer>

export type VirtualServerDraft = Draft<VirtualServer> & BlockMarks & {
  family?: Family
  realServerDrafts?: RealServerDraft[]
  sorry?: SorryDraft
  /** Statements whose line carries a finish-time diagnostic. */
  protocolPos?: SourcePosition
  opsPos?: SourcePosition
  quorumPos?: SourcePosition
  hysteresisPos?: SourcePosition
  haSuspendPos?: SourcePosition
  /** Seen once per real server, as keepalived warns once per real server. */
  dynamicMiscSeen?: boolean
}

export interface GroupDraft {
  pos: SourcePosition
  name: string
  entries: GroupEntry[]
}

export interface LvsDraft {
  groups: GroupDraft[]
  virtualServers: VirtualServerDraft[]
}

/** Append to a list the draft owns; the readonly type is what lets a model stand in for its draft. */
export function append<T>(list: readonly T[] | undefined, item: T): T[] {
  const l = (list ?? []) as T[]
  l.push(item)
  return l
}

