/** `virtual_server IP [PORT] | fwmark N | group NAME { }` (reference §1.11): keyword table, header, end-of-block checks. */
import {
  applySchema, type BlockSchema, boolKeyword, childContext, type ConfWriter, dumpSchema, intKeyword, type KeywordSpec, noBlock,
  requireBlock, stringKeyword, timerKeyword,
} from '../schema.js'
import type { Statement } from '../tree.js'
import { arg, argsText, type BuildContext, ipFamily, noExtraArgs, readInt, wordPos } from '../values.js'
import { MAX_CONNECT_TIMEOUT_US } from './checkers/common.js'
import type { Family, VirtualServerDraft } from './draft.js'
import { configError, lvsMethodKeyword, onceScriptKeyword, vsFlagKeyword } from './keywords.js'
import { LVS_SCHEDULERS, type LvsScheduler, type Protocol, type VirtualServer } from './model.js'
import { realServerKeyword } from './real-server.js'
import { checkSorryFamily, sorryServerKeywords } from './sorry-server.js'

type V = VirtualServerDraft

const UINT_MAX = 4294967295
const WEIGHT_LIMIT = 2147483647
/** keepalived's LVS_MAX_TIMEOUT: 31 days. */
const MAX_PERSISTENCE = 2678400
export const DEFAULT_PERSISTENCE = 360

const schedulerKeyword: KeywordSpec<V> = {
  name: 'lvs_sched', tier: 1, aliases: [{ name: 'lb_algo' }],
  parse(stmt, vs, ctx) {
    if (!noBlock(stmt, ctx)) return
    const w = arg(stmt, ctx, 0, 'a scheduler')
    if (!w) return
    const s = LVS_SCHEDULERS.find((x) => x === w.text)
    if (!s) return configError(stmt, ctx, `Invalid lvs_scheduler '${w.text}' - ignoring`, `one of ${LVS_SCHEDULERS.join(' ')}`)
    vs.lvsSched = s
    noExtraArgs(stmt, ctx, 1)
  },
  dump(vs, out) {
    if (vs.lvsSched) out.line('lvs_sched', vs.lvsSched)
  },
}

type FlagKey = 'ops' | 'flag1' | 'flag2' | 'flag3' | 'shPort' | 'shFallback' | 'mhPort' | 'mhFallback'

/**
 * Scheduler flags. keepalived judges sh-/mh- flags by the scheduler set so far:
 * with another scheduler they are an error, with sh an mh- flag is silently dropped.
 */
function schedulerFlag(name: string, key: FlagKey | undefined, needs?: LvsScheduler): KeywordSpec<V> {
  return {
    name, tier: 3,
    parse(stmt, vs, ctx) {
      if (!noBlock(stmt, ctx)) return
      if (key === 'ops') vs.opsPos = stmt.pos
      const sched = vs.lvsSched
      if (key && (!needs || sched === needs)) vs[key] = true
      else if (sched === 'sh' || sched === 'mh') {
        ctx.diags.warning(stmt.pos, 'KA_CONF_IGNORED', `'${name}' has no effect with scheduler ${sched}; keepalived ignores it`, { context: ctx.context, verdict: 'none' })
      } else {
        configError(stmt, ctx, `${name} only applies to sh scheduler - ignoring`, needs ? `set 'lvs_sched ${needs}' before '${name}'` : undefined)
      }
    },
    dump(vs, out) {
      if (key && vs[key] === true) out.line(name)
    },
  }
}

const protocolKeyword: KeywordSpec<V> = {
  name: 'protocol', tier: 1,
  parse(stmt, vs, ctx) {
    if (!noBlock(stmt, ctx)) return
    const w = arg(stmt, ctx, 0, 'TCP, UDP or SCTP')
    if (!w) return
    vs.protocolPos = stmt.pos
    const p = (['TCP', 'UDP', 'SCTP'] as const).find((x) => x === w.text.toUpperCase())
    if (!p) return configError(stmt, ctx, `Unknown protocol ${w.text} - ignoring`, 'TCP, UDP or SCTP')
    vs.protocol = p as Protocol
    noExtraArgs(stmt, ctx, 1)
  },
  dump(vs, out) {
    if (vs.protocol) out.line('protocol', vs.protocol)
  },
}

/** `persistence_timeout [SECONDS]`: alone it means 360. */
const persistenceTimeoutKeyword: KeywordSpec<V> = {
  name: 'persistence_timeout', tier: 1,
  parse(stmt, vs, ctx) {
    if (!noBlock(stmt, ctx)) return
    if (!stmt.args.length) {
      vs.persistenceTimeout = DEFAULT_PERSISTENCE
      return
    }
    const v = readInt(stmt, ctx, stmt.args[0], 1, MAX_PERSISTENCE)
    if (v !== undefined) vs.persistenceTimeout = v
    noExtraArgs(stmt, ctx, 1)
  },
  dump(vs, out) {
    if (vs.persistenceTimeout !== undefined) out.line('persistence_timeout', String(vs.persistenceTimeout))
  },
}

/** An IPv4 netmask or an IPv6 prefix length, by the family known so far (else by the look of the value). */
const persistenceGranularityKeyword: KeywordSpec<V> = {
  name: 'persistence_granularity', tier: 2,
  parse(stmt, vs, ctx) {
    if (!noBlock(stmt, ctx)) return
    const w = arg(stmt, ctx, 0, 'a netmask or prefix length')
    if (!w) return
    const family: Family = vs.family ?? (w.text.includes('.') ? 4 : 6)
    if (family === 6) {
      const prefix = /^\d+$/.test(w.text) ? Number(w.text) : NaN
      if (!(prefix >= 1 && prefix <= 128)) return configError(stmt, ctx, `Invalid IPv6 persistence_granularity specified - ${w.text}`, 'an IPv6 service takes a prefix length, 1-128')
    } else if (ipFamily(w.text) !== 4) {
      if (!/^\d+$/.test(w.text)) return configError(stmt, ctx, `Invalid IPv4 persistence_granularity specified - ${w.text}`)
      ctx.diags.warning(wordPos(stmt, w), 'KA_CONF_SURPRISE', `persistence_granularity '${w.text}' is read as the IPv4 netmask 0.0.0.${Number(w.text) & 255}...`, {
        context: ctx.context, verdict: 'none', hint: 'an IPv4 service takes a netmask such as 255.255.255.0',
      })
    }
    vs.persistenceGranularity = w.text
    vs.family ??= family
    noExtraArgs(stmt, ctx, 1)
  },
  dump(vs, out) {
    if (vs.persistenceGranularity !== undefined) out.line('persistence_granularity', vs.persistenceGranularity)
  },
}

/** keepalived copies the name into IP_VS_PENAME_MAXLEN bytes. */
const persistenceEngineKeyword: KeywordSpec<V> = {
  ...stringKeyword<V>('persistence_engine', 'persistenceEngine', { tier: 3, what: 'an engine name' }),
  parse(stmt, vs, ctx) {
    if (!noBlock(stmt, ctx)) return
    const w = arg(stmt, ctx, 0, 'an engine name')
    if (!w) return
    if (w.text.length > 15) configError(stmt, ctx, `persistence_name too long, truncating - ${w.text}`)
    vs.persistenceEngine = w.text.slice(0, 15)
    noExtraArgs(stmt, ctx, 1)
  },
}

const ipFamilyKeyword: KeywordSpec<V> = {
  name: 'ip_family', tier: 3,
  parse(stmt, vs, ctx) {
    if (!noBlock(stmt, ctx)) return
    const w = arg(stmt, ctx, 0, 'inet or inet6')
    if (!w) return
    if (w.text !== 'inet' && w.text !== 'inet6') return configError(stmt, ctx, `unknown address family ${w.text}`, 'inet or inet6')
    const family: Family = w.text === 'inet' ? 4 : 6
    if (vs.family !== undefined && vs.family !== family) return configError(stmt, ctx, `Virtual server specified family ${w.text} conflicts with server family`)
    vs.family = family
    vs.ipFamily = w.text
    noExtraArgs(stmt, ctx, 1)
  },
  dump(vs, out) {
    if (vs.ipFamily) out.line('ip_family', vs.ipFamily)
  },
}

/** keepalived replaces a bad quorum by 1 rather than ignoring it. */
const quorumKeyword: KeywordSpec<V> = {
  name: 'quorum', tier: 2,
  parse(stmt, vs, ctx) {
    if (!noBlock(stmt, ctx)) return
    vs.quorumPos = stmt.pos
    const v = readInt(stmt, ctx, arg(stmt, ctx, 0, 'a weight sum'), 1, UINT_MAX)
    vs.quorum = v ?? 1
    noExtraArgs(stmt, ctx, 1)
  },
  dump(vs, out) {
    if (vs.quorum !== undefined) out.line('quorum', String(vs.quorum))
  },
}

const hysteresisInt = intKeyword<V>('hysteresis', 'hysteresis', 0, UINT_MAX)
const hysteresisKeyword: KeywordSpec<V> = {
  ...hysteresisInt,
  parse(stmt, vs, ctx) {
    vs.hysteresisPos = stmt.pos
    hysteresisInt.parse(stmt, vs, ctx)
  },
}

/** Tier 3 with a constant default: written only when it is not 1. */
const weightKeyword: KeywordSpec<V> = {
  ...intKeyword<V>('weight', 'weight', 1, WEIGHT_LIMIT, { tier: 3 }),
  dump(vs, out) {
    if (vs.weight !== undefined && vs.weight !== 1) out.line('weight', String(vs.weight))
  },
}

/** `hashed` is accepted by 2.2.7 but sets nothing. */
const hashedKeyword = schedulerFlag('hashed', undefined)

export const virtualServerSchema: BlockSchema<V> = {
  name: 'virtual_server',
  keywords: [
    ipFamilyKeyword,
    timerKeyword<V>('delay_loop', 'delayLoop', 1, undefined, { tier: 1 }),
    schedulerKeyword,
    schedulerFlag('ops', 'ops'),
    schedulerFlag('flag-1', 'flag1'),
    schedulerFlag('flag-2', 'flag2'),
    schedulerFlag('flag-3', 'flag3'),
    schedulerFlag('sh-port', 'shPort', 'sh'),
    schedulerFlag('sh-fallback', 'shFallback', 'sh'),
    schedulerFlag('mh-port', 'mhPort', 'mh'),
    schedulerFlag('mh-fallback', 'mhFallback', 'mh'),
    hashedKeyword,
    lvsMethodKeyword<V>('lvs_method', 'virtual', { aliases: ['lb_kind'] }),
    persistenceEngineKeyword,
    persistenceTimeoutKeyword,
    protocolKeyword,
    vsFlagKeyword('ha_suspend', 'haSuspend', (vs, stmt) => { vs.haSuspendPos = stmt.pos }),
    boolKeyword<V>('smtp_alert', 'smtpAlert', { tier: 3 }),
    stringKeyword<V>('virtualhost', 'virtualhost', { what: 'a host name' }),
    stringKeyword<V>('snmp_name', 'snmpName', { tier: 3 }),
    vsFlagKeyword('alpha', 'alpha'),
    vsFlagKeyword('omega', 'omega'),
    onceScriptKeyword<V>('quorum_up', (d) => d.quorumUp, (d, s) => { d.quorumUp = s }),
    onceScriptKeyword<V>('quorum_down', (d) => d.quorumDown, (d, s) => { d.quorumDown = s }),
    quorumKeyword,
    hysteresisKeyword,
    weightKeyword,
    timerKeyword<V>('connect_timeout', 'connectTimeout', 1, MAX_CONNECT_TIMEOUT_US),
    // keepalived refuses 0 here although a checker accepts it.
    intKeyword<V>('retry', 'retry', 1, UINT_MAX),
    timerKeyword<V>('delay_before_retry', 'delayBeforeRetry'),
    timerKeyword<V>('warmup', 'warmup', 0, undefined),
    vsFlagKeyword('inhibit_on_failure', 'inhibitOnFailure'),
    ...sorryServerKeywords,
    realServerKeyword,
    // Last, so the real servers have fixed the address family that decides how it reads (as in the source, or the same).
    persistenceGranularityKeyword,
  ],
  misplaced: {
    nat_mask: "'nat_mask' was removed in keepalived 1.x; NAT needs no mask, delete the line",
    nb_get_retry: "'nb_get_retry' is an old HTTP_GET/SSL_GET keyword; use 'retry'",
    TCP_CHECK: 'checkers go inside a real_server block',
    HTTP_GET: 'checkers go inside a real_server block',
    SSL_GET: 'checkers go inside a real_server block',
    MISC_CHECK: 'checkers go inside a real_server block',
    notify_up: "'notify_up' belongs in a real_server block",
    notify_down: "'notify_down' belongs in a real_server block",
    lvs_id: "'lvs_id' was renamed 'router_id' (global_defs) in keepalived 1.1.8",
  },
}

export type VsHeader = Pick<VirtualServerDraft, 'address' | 'port' | 'fwmark' | 'group' | 'family'>

/** keepalived's alloc_vs(): a bad header skips the whole block. */
export function readVirtualServerHeader(stmt: Statement, ctx: BuildContext): VsHeader | undefined {
  const [first, second] = stmt.args
  if (!first) {
    ctx.diags.error(stmt.pos, 'KA_CONF_MISSING_VALUE', "'virtual_server' needs an address, 'fwmark N' or 'group NAME'", { context: ctx.context })
    return undefined
  }
  if (first.text === 'group') {
    const name = arg(stmt, ctx, 1, 'a virtual_server_group name')
    return name && { group: name.text }
  }
  if (first.text === 'fwmark') {
    const mark = readInt(stmt, ctx, arg(stmt, ctx, 1, 'a firewall mark'), 1, UINT_MAX)
    return mark === undefined ? undefined : { fwmark: mark }
  }
  const port = second === undefined || /^0+$/.test(second.text) ? 0 : /^\d+$/.test(second.text) ? Number(second.text) : NaN
  const family = ipFamily(first.text)
  if (!family || !(port >= 0 && port <= 65535)) {
    ctx.diags.error(wordPos(stmt, family ? second : first), 'KA_CONF_BAD_VALUE', `Invalid virtual server IP address/port ${first.text}/${second?.text ?? ''} - skipping`, {
      context: ctx.context,
      hint: 'the whole virtual_server block is skipped',
    })
    return undefined
  }
  return { address: first.text, port, family }
}

export function headerWords(vs: Pick<VirtualServer, 'address' | 'port' | 'fwmark' | 'group'>): string[] {
  if (vs.group !== undefined) return ['group', vs.group]
  if (vs.fwmark !== undefined) return ['fwmark', String(vs.fwmark)]
  return vs.port ? [vs.address!, String(vs.port)] : [vs.address!]
}

export function readVirtualServer(stmt: Statement, ctx: BuildContext): VirtualServerDraft | undefined {
  const body = requireBlock(stmt, ctx)
  const header = body && readVirtualServerHeader(stmt, ctx)
  if (!body || !header) return undefined
  noExtraArgs(stmt, ctx, 2)
  const inner = childContext(ctx, `virtual_server ${argsText(stmt)}`)
  const vs: VirtualServerDraft = { pos: stmt.pos, ...header, context: inner.context, close: stmt.close ?? stmt.pos }
  applySchema(virtualServerSchema, body, vs, inner)
  checkSorryFamily(vs, inner)
  return vs
}

export function dumpVirtualServer(vs: VirtualServer, out: ConfWriter): void {
  out.block('virtual_server', headerWords(vs), () => dumpSchema(virtualServerSchema, vs, out))
}
