/** TCP_CHECK, PING_CHECK, SMTP_CHECK, DNS_CHECK and UDP_CHECK (keepalived check_tcp.c, check_ping.c, check_smtp.c, check_dns.c, check_udp.c). */
import {
  applySchema, type BlockSchema, childContext, type ConfWriter, dumpSchema, intKeyword, type KeywordSpec, noBlock, requireBlock, stringKeyword,
} from '../../schema.js'
import type { Statement } from '../../tree.js'
import { arg, type BuildContext, noExtraArgs } from '../../values.js'
import { append, type ConnectionDraft, type TimingDraft, type DnsDraft, type PingDraft, type SmtpDraft, type SmtpHostDraft, type TcpDraft, type UdpDraft } from '../draft.js'
import { configError } from '../keywords.js'
import { DNS_TYPES, type DnsCheck, type PingCheck, type SmtpCheck, type SmtpHost, type TcpCheck, type UdpCheck } from '../model.js'
import { checkerMisplaced, connectingChecker, connectionKeywords, type Inherited, linkLocalNeedsBindIf, resolveConnection, resolveTiming, timingKeywords } from './common.js'
import type { CheckerType } from './kind.js'

const commonKeywords: readonly KeywordSpec<TimingDraft & ConnectionDraft>[] = [...timingKeywords, ...connectionKeywords]

// ---------------------------------------------------------------------------
// TCP_CHECK and PING_CHECK: only the common keywords

const tcpSchema: BlockSchema<TcpDraft> = { name: 'TCP_CHECK', keywords: commonKeywords, misplaced: checkerMisplaced('TCP_CHECK', 1) }

export const tcpCheck: CheckerType<TcpDraft, TcpCheck> = {
  kind: 'TCP_CHECK', schema: tcpSchema,
  create: (pos) => ({ kind: 'TCP_CHECK', pos }),
  end: (d, rsAddress, ctx) => linkLocalNeedsBindIf(d, rsAddress, ctx),
  finish: (d, from) => connectingChecker('TCP_CHECK', d, from, { retry: 1, delayBeforeRetry: 1_000_000 }),
  dumpBody: (m, out) => dumpSchema(tcpSchema, m, out),
}

const pingSchema: BlockSchema<PingDraft> = { name: 'PING_CHECK', keywords: commonKeywords, misplaced: checkerMisplaced('PING_CHECK', 1) }

export const pingCheck: CheckerType<PingDraft, PingCheck> = {
  kind: 'PING_CHECK', schema: pingSchema,
  create: (pos) => ({ kind: 'PING_CHECK', pos }),
  end: (d, rsAddress, ctx) => linkLocalNeedsBindIf(d, rsAddress, ctx),
  finish: (d, from) => connectingChecker('PING_CHECK', d, from, { retry: 1, delayBeforeRetry: 1_000_000 }),
  dumpBody: (m, out) => dumpSchema(pingSchema, m, out),
}

// ---------------------------------------------------------------------------
// SMTP_CHECK

const hostSchema: BlockSchema<SmtpHostDraft> = { name: 'host', keywords: commonKeywords }

/** Deprecated `host { }`: another connection; its scheduling keywords act on the checker itself, as in keepalived. */
const hostKeyword: KeywordSpec<SmtpDraft> = {
  name: 'host', tier: 2,
  parse(stmt, smtp, ctx) {
    const body = requireBlock(stmt, ctx)
    if (!body) return
    ctx.diags.warning(stmt.pos, 'KA_CONF_DEPRECATED', 'The SMTP_CHECK host block is deprecated. Please define additional checkers.', { context: ctx.context, verdict: 'none' })
    const inner = childContext(ctx, 'host')
    const host: SmtpHostDraft = { pos: stmt.pos }
    applySchema(hostSchema, body, host, inner)
    for (const k of ['retry', 'delayBeforeRetry', 'warmup', 'delayLoop', 'alpha', 'logAllFailures'] as const) {
      if (host[k] !== undefined) (smtp as Record<string, unknown>)[k] = host[k]
    }
    if (linkLocalNeedsBindIf({ ...host, context: inner.context, close: stmt.close ?? stmt.pos }, smtp.connectIp ?? '', ctx)) {
      smtp.hostDrafts = append(smtp.hostDrafts, host)
    }
  },
  dump(smtp, out) {
    for (const h of smtp.hosts ?? []) out.block('host', [], () => dumpSchema(hostSchema, h, out))
  },
}

const smtpSchema: BlockSchema<SmtpDraft> = {
  name: 'SMTP_CHECK',
  keywords: [...commonKeywords, stringKeyword<SmtpDraft>('helo_name', 'heloName', { what: 'a host name' }), hostKeyword],
  misplaced: checkerMisplaced('SMTP_CHECK', 1),
}

function finishHost(h: SmtpHostDraft, checkerTimeout: number): SmtpHost {
  return {
    pos: h.pos!,
    connectIp: h.connectIp, connectPort: h.connectPort, bindto: h.bindto, bindPort: h.bindPort, bindIf: h.bindIf,
    connectTimeout: h.connectTimeout ?? checkerTimeout,
    fwmark: h.fwmark,
  }
}

export const smtpCheck: CheckerType<SmtpDraft, SmtpCheck> = {
  kind: 'SMTP_CHECK', schema: smtpSchema,
  create: (pos) => ({ kind: 'SMTP_CHECK', pos }),
  end: (d, rsAddress, ctx) => linkLocalNeedsBindIf(d, rsAddress, ctx),
  finish(d, from: Inherited) {
    const connection = resolveConnection(d, from)
    return {
      kind: 'SMTP_CHECK', pos: d.pos!,
      ...resolveTiming(d, from, { retry: 1, delayBeforeRetry: 1_000_000 }),
      ...connection,
      heloName: d.heloName ?? 'smtpchecker.keepalived.org',
      hosts: (d.hostDrafts ?? []).map((h) => finishHost(h, connection.connectTimeout)),
    }
  },
  dumpBody: (m, out) => dumpSchema(smtpSchema, m, out),
}

// ---------------------------------------------------------------------------
// DNS_CHECK

const dnsTypeKeyword: KeywordSpec<DnsDraft> = {
  name: 'type', tier: 2,
  parse(stmt, d, ctx) {
    if (!noBlock(stmt, ctx)) return
    const w = arg(stmt, ctx, 0, `one of ${DNS_TYPES.join('|')}`)
    if (!w) return
    const t = DNS_TYPES.find((x) => x === w.text.toUpperCase())
    if (!t) return configError(stmt, ctx, `Unknown DNS check type ${w.text} - ignoring`, `one of ${DNS_TYPES.join(', ')}`)
    d.type = t
    noExtraArgs(stmt, ctx, 1)
  },
  dump(d, out) {
    if (d.type) out.line('type', d.type)
  },
}

/** keepalived 2.2.7's empty-label test also rejects any name whose second character is a dot (`a.example.com`). */
const dnsNameKeyword: KeywordSpec<DnsDraft> = {
  name: 'name', tier: 2,
  parse(stmt, d, ctx) {
    if (!noBlock(stmt, ctx)) return
    const w = arg(stmt, ctx, 0, 'a domain name')
    if (!w) return
    if (d.name !== undefined) return configError(stmt, ctx, 'DNS_CHECK name already specified - ignoring')
    const n = w.text
    const emptyLabel = (n[0] === '.' && n.length > 1) || n.includes('..')
    if (emptyLabel || n[1] === '.') {
      return configError(stmt, ctx, `DNS_CHECK name '${n}' has empty label - ignoring`,
        emptyLabel ? undefined : 'keepalived 2.2.7 rejects any name whose first label is one character long')
    }
    d.name = n
    noExtraArgs(stmt, ctx, 1)
  },
  dump(d, out) {
    if (d.name !== undefined) out.line('name', d.name)
  },
}

const dnsSchema: BlockSchema<DnsDraft> = {
  name: 'DNS_CHECK',
  keywords: [...commonKeywords, dnsTypeKeyword, dnsNameKeyword],
  misplaced: checkerMisplaced('DNS_CHECK', 3),
}

export const dnsCheck: CheckerType<DnsDraft, DnsCheck> = {
  kind: 'DNS_CHECK', schema: dnsSchema,
  create: (pos) => ({ kind: 'DNS_CHECK', pos }),
  end: (d, rsAddress, ctx) => linkLocalNeedsBindIf(d, rsAddress, ctx),
  finish: (d, from) => ({
    kind: 'DNS_CHECK', pos: d.pos!,
    // No delay_before_retry default: keepalived falls back to delay_loop.
    ...resolveTiming(d, from, { retry: 3, delayBeforeRetry: undefined }),
    ...resolveConnection(d, from),
    type: d.type ?? 'SOA',
    name: d.name ?? '.',
  }),
  dumpBody: (m, out) => dumpSchema(dnsSchema, m, out),
}

// ---------------------------------------------------------------------------
// UDP_CHECK

/** keepalived's read_hex_str(): hex digits in free-form groups; `x` masks a nibble in a reply. */
function validHex(text: string, allowMask: boolean): boolean {
  return (allowMask ? /^[\s0-9a-fA-FxX]*[0-9a-fA-FxX][\s0-9a-fA-FxX]*$/ : /^[\s0-9a-fA-F]*[0-9a-fA-F][\s0-9a-fA-F]*$/).test(text)
}

function hexWords(stmt: Statement): string {
  return stmt.args.map((w) => w.text).join(' ')
}

const payloadKeyword: KeywordSpec<UdpDraft> = {
  name: 'payload', tier: 2,
  parse(stmt, d, ctx) {
    if (!noBlock(stmt, ctx)) return
    if (!stmt.args.length) return configError(stmt, ctx, 'UDP_CHECK payload requires a payload')
    const hex = hexWords(stmt)
    if (!validHex(hex, false)) return configError(stmt, ctx, 'Invalid hex string for UDP_CHECK payload', 'hex digits, optionally in space-separated groups')
    d.payload = hex
  },
  dump(d, out) {
    if (d.payload !== undefined) out.line('payload', ...d.payload.split(' '))
  },
}

const requireReplyKeyword: KeywordSpec<UdpDraft> = {
  name: 'require_reply', tier: 2,
  parse(stmt, d, ctx) {
    if (!noBlock(stmt, ctx)) return
    d.requireReply = true
    if (!stmt.args.length) return
    const hex = hexWords(stmt)
    if (!validHex(hex, true)) return configError(stmt, ctx, 'Invalid hex string for UDP_CHECK reply')
    d.replyData = hex
  },
  dump(d, out) {
    if (d.requireReply) out.line('require_reply', ...(d.replyData !== undefined ? d.replyData.split(' ') : []))
  },
}

const udpSchema: BlockSchema<UdpDraft> = {
  name: 'UDP_CHECK',
  keywords: [
    ...commonKeywords,
    payloadKeyword,
    requireReplyKeyword,
    intKeyword<UdpDraft>('min_reply_length', 'minReplyLength', 0, 65535),
    intKeyword<UdpDraft>('max_reply_length', 'maxReplyLength', 0, 65535),
  ],
  misplaced: checkerMisplaced('UDP_CHECK', 1),
}

export const udpCheck: CheckerType<UdpDraft, UdpCheck> = {
  kind: 'UDP_CHECK', schema: udpSchema,
  create: (pos) => ({ kind: 'UDP_CHECK', pos }),
  end(d, rsAddress, ctx: BuildContext) {
    const min = d.minReplyLength ?? 0
    const max = d.maxReplyLength ?? 255
    if (min > max) {
      ctx.diags.error(d.close, 'KA_CONF_BAD_VALUE', `UDP_CHECK min_reply length ${min} > max_reply_length ${max} - will always fail`, { context: d.context })
    }
    return linkLocalNeedsBindIf(d, rsAddress, ctx)
  },
  finish: (d, from) => ({
    kind: 'UDP_CHECK', pos: d.pos!,
    ...resolveTiming(d, from, { retry: 1, delayBeforeRetry: 1_000_000 }),
    ...resolveConnection(d, from),
    payload: d.payload,
    requireReply: d.requireReply ?? false,
    replyData: d.replyData,
    minReplyLength: d.minReplyLength ?? 0,
    maxReplyLength: d.maxReplyLength ?? 255,
  }),
  dumpBody: (m: UdpCheck, out: ConfWriter) => dumpSchema(udpSchema, m, out),
}
