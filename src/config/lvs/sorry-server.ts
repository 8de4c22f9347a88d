/** `sorry_server IP [PORT]` and its two companions, which must follow it. */
import { type KeywordSpec, noBlock } from '../schema.js'
import { type BuildContext, ipFamily } from '../values.js'
import type { VirtualServerDraft } from './draft.js'
import { configError, lvsMethodWords, readLvsMethod, sameMethod } from './keywords.js'

type V = VirtualServerDraft

const sorryServerKeyword: KeywordSpec<V> = {
  name: 'sorry_server', tier: 2,
  parse(stmt, vs, ctx) {
    if (!noBlock(stmt, ctx)) return
    const ip = stmt.args[0]
    const portWord = stmt.args[1]
    const port = portWord === undefined || /^0+$/.test(portWord.text) ? 0 : /^\d+$/.test(portWord.text) ? Number(portWord.text) : NaN
    if (!ip || !ipFamily(ip.text) || !(port >= 0 && port <= 65535)) {
      return configError(stmt, ctx, `Invalid sorry server IP address ${ip?.text ?? ''} - skipping`)
    }
    // A second sorry_server replaces the first, inhibit and method included; the
    // method starts as the virtual server's so far, as in keepalived's alloc_ssvr().
    vs.sorry = { pos: stmt.pos, address: ip.text, port, lvsMethod: vs.lvsMethod }
  },
  dump(vs, out) {
    const s = vs.sorryServer
    if (!s) return
    out.line('sorry_server', s.address, ...(s.port ? [String(s.port)] : []))
    if (s.inhibit) out.line('sorry_server_inhibit')
    if (!sameMethod(s.lvsMethod, vs.lvsMethod)) out.line('sorry_server_lvs_method', ...lvsMethodWords(s.lvsMethod))
  },
}

const sorryInhibitKeyword: KeywordSpec<V> = {
  name: 'sorry_server_inhibit', tier: 3,
  parse(stmt, vs, ctx) {
    if (!noBlock(stmt, ctx)) return
    if (!vs.sorry) return configError(stmt, ctx, 'Ignoring sorry_server inhibit used before or without sorry_server', "write it after 'sorry_server'")
    vs.sorry.inhibit = true
  },
  // Written with sorry_server.
  dump() {},
}

const sorryMethodKeyword: KeywordSpec<V> = {
  name: 'sorry_server_lvs_method', tier: 3,
  parse(stmt, vs, ctx) {
    if (!noBlock(stmt, ctx)) return
    if (!vs.sorry) return configError(stmt, ctx, 'sorry_server forwarding used without sorry_server', "write it after 'sorry_server'")
    const m = readLvsMethod(stmt, ctx, 'sorry')
    if (m) vs.sorry.lvsMethod = m
  },
  dump() {},
}

/** keepalived's vs_end_handler(): a non-tunnelled sorry server of the other family is dropped. */
export function checkSorryFamily(vs: V, ctx: BuildContext): void {
  const s = vs.sorry
  if (!s || s.lvsMethod?.kind === 'TUN') return
  const family = ipFamily(s.address!)!
  if (vs.family === undefined) vs.family = family
  else if (vs.family !== family) {
    ctx.diags.error(vs.close, 'KA_CONF_FAMILY', `Address family of virtual server and sorry server ${s.address} don't match - skipping sorry server.`, { context: ctx.context })
    vs.sorry = undefined
  }
}

export const sorryServerKeywords: readonly KeywordSpec<V>[] = [sorryServerKeyword, sorryInhibitKeyword, sorryMethodKeyword]
