/** `real_server IP [PORT] { }` (reference §1.12): keyword table, reading, writing. */
import {
  applySchema, type BlockSchema, boolKeyword, childContext, type ConfWriter, dumpSchema, intKeyword, type KeywordSpec,
  requireBlock, stringKeyword, timerKeyword,
} from '../schema.js'
import type { Statement } from '../tree.js'
import { argsText, type BuildContext, ipFamily, type IpFamily, isDigits, noExtraArgs, wordPos } from '../values.js'
import { checkerKeywords, dumpChecker } from './checkers/index.js'
import { MAX_CONNECT_TIMEOUT_US } from './checkers/common.js'
import { append, type RealServerDraft, type VirtualServerDraft } from './draft.js'
import { lvsMethodKeyword, onceScriptKeyword, sameMethod } from './keywords.js'
import type { LvsMethod, RealServer } from './model.js'

const UINT_MAX = 4294967295
export const WEIGHT_LIMIT = 2147483647

const VS_ONLY = `belongs in the virtual_server block`

export const realServerSchema: BlockSchema<RealServerDraft> = {
  name: 'real_server',
  keywords: [
    intKeyword<RealServerDraft>('weight', 'weight', 0, WEIGHT_LIMIT, { tier: 1 }),
    lvsMethodKeyword<RealServerDraft>('lvs_method', 'real', { tier: 3 }),
    boolKeyword<RealServerDraft>('inhibit_on_failure', 'inhibitOnFailure'),
    boolKeyword<RealServerDraft>('alpha', 'alpha'),
    onceScriptKeyword<RealServerDraft>('notify_up', (d) => d.notifyUp, (d, s) => { d.notifyUp = s }),
    onceScriptKeyword<RealServerDraft>('notify_down', (d) => d.notifyDown, (d, s) => { d.notifyDown = s }),
    intKeyword<RealServerDraft>('uthreshold', 'uthreshold', 0, UINT_MAX, { tier: 3 }),
    intKeyword<RealServerDraft>('lthreshold', 'lthreshold', 0, UINT_MAX, { tier: 3 }),
    boolKeyword<RealServerDraft>('smtp_alert', 'smtpAlert', { tier: 3 }),
    stringKeyword<RealServerDraft>('virtualhost', 'virtualhost', { tier: 3, what: 'a host name' }),
    stringKeyword<RealServerDraft>('snmp_name', 'snmpName', { tier: 3 }),
    timerKeyword<RealServerDraft>('connect_timeout', 'connectTimeout', 1, MAX_CONNECT_TIMEOUT_US),
    // keepalived refuses 0 here although a checker accepts it.
    intKeyword<RealServerDraft>('retry', 'retry', 1, UINT_MAX),
    timerKeyword<RealServerDraft>('delay_before_retry', 'delayBeforeRetry'),
    timerKeyword<RealServerDraft>('warmup', 'warmup', 0, undefined),
    timerKeyword<RealServerDraft>('delay_loop', 'delayLoop', 1),
    ...checkerKeywords,
  ],
  misplaced: {
    nb_get_retry: "'nb_get_retry' is an old HTTP_GET/SSL_GET keyword; use 'retry' here or in the checker",
    lb_algo: `'lb_algo' ${VS_ONLY}`,
    lvs_sched: `'lvs_sched' ${VS_ONLY}`,
    lb_kind: "'lb_kind' is spelled 'lvs_method' in a real_server",
    protocol: `'protocol' ${VS_ONLY}`,
    persistence_timeout: `'persistence_timeout' ${VS_ONLY}`,
    real_server: 'real_server blocks go directly inside virtual_server',
    url: "'url' blocks go inside HTTP_GET or SSL_GET",
    connect_port: "'connect_port' goes inside a checker block such as TCP_CHECK",
    connect_ip: "'connect_ip' goes inside a checker block such as TCP_CHECK",
  },
}

/** `IP [PORT]` of a real or sorry server; a port of 0 (or omitted) means "take the virtual server's". */
export function readServerAddress(stmt: Statement, ctx: BuildContext, what: string): { address: string; port: number; family: IpFamily } | undefined {
  const ip = stmt.args[0]
  const portWord = stmt.args[1]
  if (!ip) {
    ctx.diags.error(stmt.pos, 'KA_CONF_MISSING_VALUE', `'${stmt.keyword}' needs an IP address`, { context: ctx.context })
    return undefined
  }
  // All zeros, or all digits: Number() of either is the port.
  const port = portWord === undefined ? 0 : isDigits(portWord.text) ? Number(portWord.text) : NaN
  const family = ipFamily(ip.text)
  if (!family || !(port >= 0 && port <= 65535)) {
    const bad = !family ? ip : portWord
    ctx.diags.error(wordPos(stmt, bad), 'KA_CONF_BAD_VALUE', `Invalid ${what} ip address/port ${ip.text}/${portWord?.text ?? ''} - skipping`, {
      context: ctx.context,
      hint: 'the whole block is skipped',
    })
    return undefined
  }
  noExtraArgs(stmt, ctx, 2)
  return { address: ip.text, port, family }
}

/**
 * Read a real_server block into the virtual server's draft. keepalived's
 * rs_end_handler() then drops a non-tunnelled real server of the other address
 * family, judging by the forwarding method known at that point.
 */
export function readRealServer(stmt: Statement, vs: VirtualServerDraft, ctx: BuildContext): void {
  const body = requireBlock(stmt, ctx)
  const where = body && readServerAddress(stmt, ctx, 'real server')
  if (!body || !where) return
  const inner = childContext(ctx, `real_server ${argsText(stmt)}`)
  const rs: RealServerDraft = { pos: stmt.pos, address: where.address, port: where.port, context: inner.context, close: stmt.close ?? stmt.pos }
  applySchema(realServerSchema, body, rs, inner)
  if ((rs.lvsMethod ?? vs.lvsMethod)?.kind !== 'TUN') {
    const family = where.family
    if (vs.family === undefined) vs.family = family
    else if (vs.family !== family) {
      ctx.diags.error(rs.close, 'KA_CONF_FAMILY', `Address family of virtual server and real server ${where.address} don't match - skipping real server.`, {
        context: inner.context,
        hint: 'only tunnelled (TUN) real servers may differ in address family',
      })
      return
    }
  }
  vs.realServerDrafts = append(vs.realServerDrafts, rs)
}

export const realServerKeyword: KeywordSpec<VirtualServerDraft> = {
  name: 'real_server', tier: 1,
  parse: (stmt, vs, ctx) => readRealServer(stmt, vs, ctx),
  dump(vs, out) {
    for (const rs of vs.realServers ?? []) dumpRealServer(rs, vs.lvsMethod, out)
  },
}

/** The forwarding method is written only where it differs from the virtual server's (it is tier 3 here). */
export function dumpRealServer(rs: RealServer, vsMethod: LvsMethod | undefined, out: ConfWriter): void {
  out.block('real_server', rs.port ? [rs.address, String(rs.port)] : [rs.address], () => {
    dumpSchema(realServerSchema, sameMethod(rs.lvsMethod, vsMethod) ? { ...rs, lvsMethod: undefined } : rs, out)
    for (const c of rs.checkers) dumpChecker(c, out)
  })
}
