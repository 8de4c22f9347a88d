/**
 * keepalived's validate_check_config() (check_data.c), in its order: defaults
 * and corrections for each virtual server, its real servers and its checkers,
 * with keepalived's own messages. keepalived prints these without a line; we
 * put each on the statement it concerns (the `protocol` line for a fwmark
 * service's protocol, the real server's header for its port, ...).
 */
import type { SourcePosition } from '../diagnostics.js'
import type { FinishEnv } from '../section.js'
import { canonicalAddress } from './address.js'
import { finishChecker } from './checkers/index.js'
import type { RealServerDraft, SorryDraft, VirtualServerDraft } from './draft.js'
import { formatTrio, formatVs } from './keywords.js'
import type { LvsMethod, Protocol, RealServer, SorryServer, VirtualServer, VirtualServerGroup } from './model.js'
import { DEFAULT_PERSISTENCE } from './virtual-server.js'

const NAT: LvsMethod = { kind: 'NAT', tunnelType: undefined, tunnelPort: undefined, tunnelChecksum: undefined }

/** The virtual server as validation goes: what keepalived has corrected so far. */
interface Work {
  readonly d: VirtualServerDraft
  readonly env: FinishEnv
  readonly group: VirtualServerGroup | undefined
  protocol: Protocol | undefined
  persistence: number | undefined
  method: LvsMethod | undefined
  haSuspend: boolean
}

function warn(w: Work, at: SourcePosition | undefined, message: string, hint?: string, context = w.d.context): void {
  w.env.diags.warning(at ?? w.d.pos, 'KA_CONF_CORRECTED', message, { context, hint })
}

function name(w: Work): string {
  return formatVs({ ...w.d, protocol: w.protocol })
}

function rsName(w: Work, address: string, port: number): string {
  return formatTrio(address, w.protocol, port)
}

/** keepalived reports this once, when the first server needs the default; we put it on that server. */
function defaultMethod(w: Work, at: SourcePosition | undefined): LvsMethod {
  if (!w.method) {
    warn(w, at, `Virtual server ${name(w)}: no forwarding method set, setting default NAT`, "add 'lvs_method NAT|DR|TUN' to the virtual_server")
    w.method = NAT
  }
  return w.method
}

function checkService(w: Work): void {
  const d = w.d
  const groupMarks = w.group?.entries.some((e) => e.kind === 'fwmark') ?? false
  const groupAddresses = w.group?.entries.some((e) => e.kind === 'address') ?? false
  if (w.haSuspend && (d.fwmark !== undefined || groupMarks)) {
    warn(w, d.haSuspendPos, `Virtual server ${name(w)}: cannot use ha_suspend with fwmarks - clearing ha_suspend`)
    w.haSuspend = false
  }
  if (groupAddresses || (!w.group && d.fwmark === undefined)) {
    if (!w.protocol) {
      warn(w, undefined, `Virtual server ${name(w)}: no protocol set - defaulting to UDP`, "keepalived's default is UDP; add 'protocol TCP' for a TCP service")
      w.protocol = 'UDP'
    }
    if (d.ops && w.protocol !== 'UDP') warn(w, d.opsPos, `Virtual server ${name(w)}: one packet scheduling requires UDP - resetting`)
    if (!w.persistence && !w.group && !d.port) {
      warn(w, undefined, `Virtual server ${name(w)}: zero port only valid for persistent services - setting`, `persistence_timeout ${DEFAULT_PERSISTENCE} is set`)
      w.persistence = DEFAULT_PERSISTENCE
    }
  }
  if (!w.persistence && w.group?.entries.some((e) => e.kind === 'address' && !e.port)) {
    warn(w, undefined, `Virtual server ${name(w)}: zero port only valid for persistent services - setting`, `persistence_timeout ${DEFAULT_PERSISTENCE} is set`)
    w.persistence = DEFAULT_PERSISTENCE
  }
  if (w.protocol && ((w.group && !groupAddresses && groupMarks) || (!w.group && d.fwmark !== undefined))) {
    warn(w, d.protocolPos, `Warning: Virtual server ${name(w)}: protocol specified for fwmark - protocol will be ignored`, 'a fwmark service matches packets by mark; delete the protocol line')
    w.protocol = undefined
  }
}

interface RsWork {
  readonly d: RealServerDraft
  /** As written: what keepalived compares for duplicates. */
  readonly writtenPort: number
  port: number
  method: LvsMethod
  inhibit: boolean
}

/** keepalived's real server loop: duplicates, forwarding method, weights, the sorry server's inhibit. */
function checkRealServers(w: Work, sorry: SorryDraft | undefined): { servers: RsWork[]; weightSum: number } {
  const seen = new Set<string>()
  const servers: RsWork[] = []
  let weightSum = 0
  for (const rs of w.d.realServerDrafts ?? []) {
    const key = `${canonicalAddress(rs.address!)}|${rs.port ?? 0}`
    if (seen.has(key)) {
      warn(w, rs.pos, `VS ${name(w)}: real server ${rsName(w, rs.address!, rs.port ?? 0)} is duplicated - removing second rs`, undefined, rs.context)
      continue
    }
    seen.add(key)
    const r: RsWork = { d: rs, writtenPort: rs.port ?? 0, port: rs.port ?? 0, method: rs.lvsMethod ?? defaultMethod(w, rs.pos), inhibit: rs.inhibitOnFailure ?? w.d.inhibitOnFailure ?? false }
    weightSum += rs.weight ?? w.d.weight ?? 1
    if (sorry && canonicalAddress(sorry.address!) === canonicalAddress(rs.address!) && sorry.port === r.writtenPort && (sorry.inhibit ?? false) !== r.inhibit) {
      warn(w, rs.pos, `Virtual server ${name(w)}: real server ${rsName(w, rs.address!, r.port)} matches sorry server, but inhibit setting differs, ${r.inhibit ? 'sett' : 'clear'}ing on sorry server`, undefined, rs.context)
      sorry.inhibit = r.inhibit
    }
    servers.push(r)
  }
  return { servers, weightSum }
}

function checkQuorum(w: Work, weightSum: number): { quorum: number; hysteresis: number } {
  let quorum = w.d.quorum ?? 1
  let hysteresis = w.d.hysteresis ?? 0
  if (quorum > weightSum) {
    warn(w, w.d.quorumPos, `Warning - quorum ${quorum} for ${name(w)} exceeds total weight of real servers ${weightSum}, reducing quorum to ${weightSum}`,
      weightSum ? undefined : 'every real server has weight 0, so the quorum can never be met')
    // A quorum of 0 is not writable; keepalived's state is degenerate anyway.
    if (weightSum > 0) quorum = weightSum
  }
  if (hysteresis >= quorum) {
    warn(w, w.d.hysteresisPos, `Virtual server ${name(w)}: hysteresis ${hysteresis} >= quorum ${quorum}; setting hysteresis to ${quorum - 1}`)
    hysteresis = quorum - 1
  }
  return { quorum, hysteresis }
}

/** Ports of a virtual server group's real servers are checked against each entry but not changed. */
function checkGroupPorts(w: Work, group: VirtualServerGroup, servers: readonly RsWork[], sorry: SorryDraft | undefined): void {
  const tunnelled = servers.filter((r) => r.method.kind !== 'NAT' && r.port)
  if (group.entries.some((e) => e.kind === 'fwmark')) {
    for (const r of tunnelled) warn(w, r.d.pos, `WARNING - fwmark virtual server ${name(w)}, real server ${rsName(w, r.d.address!, r.port)} has port specified - port will be ignored`, undefined, r.d.context)
    if (sorry && sorry.lvsMethod?.kind !== 'NAT' && sorry.port) warn(w, sorry.pos, `WARNING - fwmark virtual server ${name(w)}, sorry server has port specified - port will be ignored`)
  }
  for (const e of group.entries) {
    if (e.kind !== 'address') continue
    const entry = `${e.first}${e.first !== e.last ? `-${e.last}` : ''},${e.port}`
    for (const r of tunnelled) {
      if (r.port !== e.port) warn(w, r.d.pos, `virtual server ${name(w)}:[${entry}] and real server ${rsName(w, r.d.address!, r.port)} ports don't match`, 'DR and TUN real servers use the service port', r.d.context)
    }
    if (sorry && sorry.lvsMethod?.kind !== 'NAT' && sorry.port && sorry.port !== e.port) warn(w, sorry.pos, `WARNING - virtual server ${name(w)}, sorry server has port specified - port will be ignored`)
  }
}

/** Plain and fwmark services: NAT takes the service port when none is given; DR/TUN always use it. */
function fixPorts(w: Work, servers: readonly RsWork[], sorry: SorryDraft | undefined): void {
  const vsPort = w.d.port ?? 0
  const fwmark = w.d.fwmark !== undefined
  for (const r of servers) {
    if (r.method.kind === 'NAT') {
      if (!fwmark && !r.port) r.port = vsPort
    } else if (fwmark) {
      if (r.port) {
        warn(w, r.d.pos, `WARNING - fwmark virtual server ${name(w)}, real server ${rsName(w, r.d.address!, r.port)} has port specified - clearing`, 'DR and TUN real servers of a fwmark service take no port', r.d.context)
        r.port = 0
      }
    } else if (!r.port) r.port = vsPort
    else if (r.port !== vsPort) {
      warn(w, r.d.pos, `WARNING - virtual server ${name(w)} and real server ${rsName(w, r.d.address!, r.port)} ports don't match - resetting`,
        `with ${r.method.kind} the real server receives the service port ${vsPort}; use NAT to map to another port`, r.d.context)
      r.port = vsPort
    }
  }
  if (!sorry || sorry.lvsMethod?.kind === 'NAT') return
  if (fwmark) {
    if (sorry.port) {
      warn(w, sorry.pos, `WARNING - virtual server ${name(w)}, sorry server has port specified - clearing`)
      sorry.port = 0
    }
  } else if (!sorry.port) sorry.port = vsPort
  else if (sorry.port !== vsPort) {
    warn(w, sorry.pos, `WARNING - virtual server ${name(w)} and sorry server ports don't match - resetting`)
    sorry.port = vsPort
  }
}

/** Our own check: two real servers that only differ before keepalived fills in ports are one IPVS destination. */
function sameDestination(w: Work, servers: readonly RsWork[]): RsWork[] {
  if (servers.length < 2) return servers.slice()
  const seen = new Map<string, RsWork>()
  const kept: RsWork[] = []
  for (const r of servers) {
    const key = `${canonicalAddress(r.d.address!)}|${r.port}`
    const first = seen.get(key)
    if (!first) {
      seen.set(key, r)
      kept.push(r)
      continue
    }
    w.env.diags.error(r.d.pos, 'KA_CONF_DUPLICATE', `real server ${r.d.address} port ${r.port} is the same IPVS destination as the one at line ${first.d.pos!.line}`, {
      context: r.d.context, verdict: 'none',
      hint: 'keepalived does not notice (its duplicate test runs before ports are filled in); both checkers would drive one destination',
    })
  }
  return kept
}

function finishRealServer(w: Work, r: RsWork, vs: VirtualServer): RealServer {
  const d = r.d
  const g = w.env.global
  const rs: RealServer = {
    pos: d.pos!, address: d.address!, port: r.port,
    weight: d.weight ?? vs.weight,
    lvsMethod: r.method,
    inhibitOnFailure: r.inhibit,
    alpha: d.alpha ?? vs.alpha,
    notifyUp: d.notifyUp, notifyDown: d.notifyDown,
    uthreshold: d.uthreshold, lthreshold: d.lthreshold,
    smtpAlert: d.smtpAlert,
    virtualhost: d.virtualhost, snmpName: d.snmpName,
    connectTimeout: d.connectTimeout, retry: d.retry, delayBeforeRetry: d.delayBeforeRetry, warmup: d.warmup, delayLoop: d.delayLoop,
    checkers: [],
  }
  const from = { vs, rs, logAllFailures: g.checkerLogAllFailures ?? false }
  ;(rs as { checkers: RealServer['checkers'] }).checkers = (d.checkerDrafts ?? []).map((c) => finishChecker(c, from))
  return rs
}

function finishSorry(s: SorryDraft | undefined, w: Work): SorryServer | undefined {
  if (!s) return undefined
  return { pos: s.pos!, address: s.address!, port: s.port ?? 0, inhibit: s.inhibit ?? false, lvsMethod: s.lvsMethod ?? w.method ?? NAT }
}

export function finishVirtualServer(d: VirtualServerDraft, env: FinishEnv, groups: ReadonlyMap<string, VirtualServerGroup>): VirtualServer | undefined {
  const group = d.group !== undefined ? groups.get(d.group) : undefined
  const w: Work = {
    d, env, group, protocol: d.protocol, method: d.lvsMethod, haSuspend: d.haSuspend ?? false,
    persistence: d.persistenceTimeout ?? (d.persistenceGranularity !== undefined ? DEFAULT_PERSISTENCE : undefined),
  }
  if (d.group !== undefined && !group) {
    env.diags.error(d.pos, 'KA_CONF_UNKNOWN_GROUP', `Virtual server group ${d.group} specified but not configured - ignoring virtual server ${name(w)}`, {
      context: d.context, verdict: 'none', hint: 'keepalived drops the virtual server when it starts (keepalived -t does not say so)',
    })
    return undefined
  }
  if (!d.realServerDrafts?.length) {
    // At the closing brace, where a real_server was expected: the cause (a skipped real_server, say) comes first.
    warn(w, d.close, `Virtual server ${name(w)} has no real servers - ignoring`)
    return undefined
  }
  checkService(w)
  if (!d.lvsSched) warn(w, undefined, `Virtual server ${name(w)}: no scheduler set, setting default 'wlc'`, "add 'lvs_sched' (lb_algo)")
  const sorry: SorryDraft | undefined = d.sorry && { ...d.sorry }
  const { servers, weightSum } = checkRealServers(w, sorry)
  if (sorry && !sorry.lvsMethod) sorry.lvsMethod = defaultMethod(w, sorry.pos)
  const { quorum, hysteresis } = checkQuorum(w, weightSum)
  if (group) checkGroupPorts(w, group, servers, sorry)
  else fixPorts(w, servers, sorry)
  const vs: VirtualServer = {
    pos: d.pos!, address: d.address, port: d.port, fwmark: d.fwmark, group: d.group, ipFamily: d.ipFamily,
    protocol: w.protocol, lvsSched: d.lvsSched ?? 'wlc', lvsMethod: w.method ?? NAT,
    ops: (d.ops ?? false) && (w.protocol === 'UDP' || w.protocol === undefined),
    flag1: d.flag1 ?? false, flag2: d.flag2 ?? false, flag3: d.flag3 ?? false,
    shPort: d.shPort ?? false, shFallback: d.shFallback ?? false, mhPort: d.mhPort ?? false, mhFallback: d.mhFallback ?? false,
    persistenceTimeout: w.persistence, persistenceGranularity: d.persistenceGranularity, persistenceEngine: d.persistenceEngine,
    haSuspend: w.haSuspend, virtualhost: d.virtualhost, alpha: d.alpha ?? false, omega: d.omega ?? false,
    quorum, hysteresis, quorumUp: d.quorumUp, quorumDown: d.quorumDown,
    sorryServer: finishSorry(sorry, w),
    inhibitOnFailure: d.inhibitOnFailure ?? false, weight: d.weight ?? 1,
    delayLoop: d.delayLoop ?? 60_000_000, connectTimeout: d.connectTimeout ?? 5_000_000,
    retry: d.retry, delayBeforeRetry: d.delayBeforeRetry, warmup: d.warmup,
    smtpAlert: d.smtpAlert,
    snmpName: d.snmpName,
    realServers: [],
  }
  ;(vs as { realServers: VirtualServer['realServers'] }).realServers = sameDestination(w, servers).map((r) => finishRealServer(w, r, vs))
  return vs
}
