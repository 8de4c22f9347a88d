/**
 * The value blocks and multi-word keywords of `vrrp_instance`: addresses, routes,
 * rules, unicast peers, authentication and `use_vmac`. Addresses set the
 * instance's family as keepalived does while reading: the first one wins.
 */
import type { SourcePosition } from '../diagnostics.js'
import { applySchema, type BlockSchema, childContext, type KeywordSpec, noBlock, requireBlock } from '../schema.js'
import type { Statement } from '../tree.js'
import { arg, type BuildContext, type IpFamily, noExtraArgs, readInt, readIp, wordPos } from '../values.js'
import { readAddress } from './address.js'
import type { InstanceDraft } from './draft.js'
import { parsePrefixed } from './ip.js'
import type { UnicastPeer } from './model.js'
import { readRoute } from './routes.js'
import { readRule } from './rules.js'

/** The entries of a value block, one per line (reference §0.5). */
function entries(stmt: Statement, ctx: BuildContext): readonly Statement[] {
  const body = requireBlock(stmt, ctx) ?? []
  return body.filter((entry) => {
    if (!entry.block) return true
    ctx.diags.error(entry.open ?? entry.pos, 'KA_CONF_UNEXPECTED_BLOCK', `entries of '${stmt.keyword}' do not take a block; the block is skipped`, { context: ctx.context })
    return false
  })
}

/** False (after an error) when `family` differs from the instance's. */
function sameFamily(d: InstanceDraft, family: IpFamily, pos: SourcePosition, what: string, ctx: BuildContext): boolean {
  if (d.family === undefined) d.family = family
  if (d.family === family) return true
  ctx.diags.error(pos, 'KA_CONF_FAMILY', `${what} is IPv${family} but the instance is IPv${d.family}; ignored`, {
    context: ctx.context,
    hint: 'all VIPs, the source address and the peers of an instance share one family; put other addresses in virtual_ipaddress_excluded',
  })
  return false
}

export const virtualIpaddress: KeywordSpec<InstanceDraft> = {
  name: 'virtual_ipaddress', tier: 1,
  parse(stmt, d, ctx) {
    const inner = childContext(ctx, stmt.keyword)
    d.virtualIpaddressEnd = stmt.close ?? stmt.pos
    for (const entry of entries(stmt, inner)) {
      const a = readAddress(entry, inner, { isStatic: false })
      if (a && sameFamily(d, a.family, entry.pos, `address ${a.address}`, inner)) d.virtualIpaddresses.push(a)
    }
  },
  dump() {},
}

export const virtualIpaddressExcluded: KeywordSpec<InstanceDraft> = {
  name: 'virtual_ipaddress_excluded', tier: 2,
  parse(stmt, d, ctx) {
    const inner = childContext(ctx, stmt.keyword)
    for (const entry of entries(stmt, inner)) {
      const a = readAddress(entry, inner, { isStatic: false })
      if (a) d.virtualIpaddressesExcluded.push(a)
    }
  },
  dump() {},
}

export const virtualRoutes: KeywordSpec<InstanceDraft> = {
  name: 'virtual_routes', tier: 2,
  parse(stmt, d, ctx) {
    const inner = childContext(ctx, stmt.keyword)
    for (const entry of entries(stmt, inner)) {
      const r = readRoute(entry, inner, { isStatic: false })
      if (r) d.virtualRoutes.push(r)
    }
  },
  dump() {},
}

export const virtualRules: KeywordSpec<InstanceDraft> = {
  name: 'virtual_rules', tier: 2,
  parse(stmt, d, ctx) {
    const inner = childContext(ctx, stmt.keyword)
    for (const entry of entries(stmt, inner)) {
      const r = readRule(entry, inner, { isStatic: false }, d.state)
      if (r) d.virtualRules.push(r)
    }
  },
  dump() {},
}

/** `unicast_src_ip` / `mcast_src_ip`: the advert source, which also fixes the family. */
export function sourceIpKeyword(name: 'unicast_src_ip' | 'mcast_src_ip', key: 'unicastSrcIp' | 'mcastSrcIp'): KeywordSpec<InstanceDraft> {
  return {
    name, tier: 2,
    parse(stmt, d, ctx) {
      if (!noBlock(stmt, ctx)) return
      const w = arg(stmt, ctx, 0, 'an IP address')
      const ip = readIp(stmt, ctx, w)
      noExtraArgs(stmt, ctx, 1)
      if (ip !== undefined && sameFamily(d, parsePrefixed(ip)!.family, wordPos(stmt, w), `${name} ${ip}`, ctx)) d[key] = ip
    },
    dump() {},
  }
}

function readPeer(entry: Statement, ctx: BuildContext): UnicastPeer | undefined {
  const first = entry.keywordWord
  if (!parsePrefixed(first.text) || first.text.includes('/')) {
    ctx.diags.error(wordPos(entry, first), 'KA_CONF_BAD_VALUE', `'${first.text}' is not an IP address; the peer is skipped`, { context: ctx.context })
    return undefined
  }
  const peer = { pos: entry.pos, address: first.text, minTtl: undefined as number | undefined, maxTtl: undefined as number | undefined }
  for (let i = 0; i < entry.args.length; i += 2) {
    const key = entry.args[i]!
    if (key.text !== 'min_ttl' && key.text !== 'max_ttl') {
      ctx.diags.error(wordPos(entry, key), 'KA_CONF_BAD_VALUE', `unknown unicast_peer option '${key.text}'; ignored`, { context: ctx.context, hint: 'options are min_ttl N and max_ttl N' })
      continue
    }
    const value = entry.args[i + 1]
    if (!value) {
      ctx.diags.error(wordPos(entry, key), 'KA_CONF_MISSING_VALUE', `'${key.text}' needs a value`, { context: ctx.context })
      continue
    }
    const n = readInt(entry, ctx, value, 0, 255)
    if (n !== undefined) peer[key.text === 'min_ttl' ? 'minTtl' : 'maxTtl'] = n
  }
  return peer
}

export const unicastPeer: KeywordSpec<InstanceDraft> = {
  name: 'unicast_peer', tier: 2,
  parse(stmt, d, ctx) {
    const inner = childContext(ctx, stmt.keyword)
    for (const entry of entries(stmt, inner)) {
      const p = readPeer(entry, inner)
      if (p && sameFamily(d, parsePrefixed(p.address)!.family, entry.pos, `unicast peer ${p.address}`, inner)) d.unicastPeers.push(p)
    }
  },
  dump() {},
}

/** VRRPv2 carries 8 bytes of password (RFC 2338 §5.3.7). */
const AUTH_PASS_MAX = 8

const authenticationSchema: BlockSchema<InstanceDraft> = {
  name: 'authentication',
  keywords: [
    {
      name: 'auth_type', tier: 1,
      parse(stmt, d, ctx) {
        if (!noBlock(stmt, ctx)) return
        const w = arg(stmt, ctx, 0, 'PASS or AH')
        if (w?.text === 'PASS' || w?.text === 'AH') d.authType = w.text
        else if (w) {
          ctx.diags.error(wordPos(stmt, w), 'KA_CONF_BAD_VALUE', `auth_type: '${w.text}' is not PASS|AH`, {
            context: ctx.context, hint: ['PASS', 'AH'].includes(w.text.toUpperCase()) ? 'auth_type is case-sensitive' : undefined,
          })
        }
        noExtraArgs(stmt, ctx, 1)
      },
      dump() {},
    },
    {
      name: 'auth_pass', tier: 1,
      parse(stmt, d, ctx) {
        if (!noBlock(stmt, ctx)) return
        const w = arg(stmt, ctx, 0, 'a password')
        if (!w) return
        noExtraArgs(stmt, ctx, 1)
        d.authPass = w.text.slice(0, AUTH_PASS_MAX)
        if (w.text.length > AUTH_PASS_MAX) {
          ctx.diags.warning(stmt.pos, 'KA_CONF_TRUNCATED', `auth_pass is longer than ${AUTH_PASS_MAX} characters; keepalived uses '${d.authPass}'`, {
            context: ctx.context, hint: 'peers that use the full password will still match: only 8 characters are sent',
          })
        }
      },
      dump() {},
    },
  ],
}

export const authentication: KeywordSpec<InstanceDraft> = {
  name: 'authentication', tier: 1,
  parse(stmt, d, ctx) {
    const body = requireBlock(stmt, ctx)
    if (body) applySchema(authenticationSchema, body, d, childContext(ctx, 'authentication'))
  },
  dump() {},
}

const MAC = /^[0-9a-f]{1,2}(:[0-9a-f]{1,2}){4,5}$/i
/** The RFC 5798 virtual router MACs keepalived reserves for itself. */
const RFC5798_MAC = /^0?0:0?0:5e:0?0:0?[12](:|$)/i
const IFNAMSIZ = 16

/** `use_vmac [IFNAME] [MAC]`. */
export const useVmac: KeywordSpec<InstanceDraft> = {
  name: 'use_vmac', tier: 2,
  parse(stmt, d, ctx) {
    if (!noBlock(stmt, ctx)) return
    const [first, second] = stmt.args
    const vmac: { interface: string | undefined; mac: string | undefined } = { interface: undefined, mac: undefined }
    const macWord = first && MAC.test(first.text) ? first : second
    if (first && first !== macWord) {
      if (first.text.length >= IFNAMSIZ) {
        ctx.diags.error(wordPos(stmt, first), 'KA_CONF_BAD_VALUE', `VMAC interface name '${first.text}' is longer than ${IFNAMSIZ - 1} characters; ignored`, { context: ctx.context })
      } else vmac.interface = first.text
    }
    if (macWord) {
      if (!MAC.test(macWord.text)) {
        ctx.diags.error(wordPos(stmt, macWord), 'KA_CONF_BAD_VALUE', `'${macWord.text}' is not a MAC address; ignored`, { context: ctx.context })
      } else if (RFC5798_MAC.test(macWord.text)) {
        ctx.diags.warning(wordPos(stmt, macWord), 'KA_CONF_BAD_VALUE', `VMAC address ${macWord.text} is an RFC 5798 address; ignored`, {
          context: ctx.context, hint: 'keepalived derives that address from the VRID itself; give another MAC or none',
        })
      } else vmac.mac = macWord.text.toLowerCase()
    }
    noExtraArgs(stmt, ctx, macWord === first ? 1 : 2)
    d.useVmac = vmac
  },
  dump() {},
}
