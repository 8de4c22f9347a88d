/** `static_ipaddress`, `static_routes`, `static_rules` (reference §1.3): kept on the host, never moved by VRRP. */
import { childContext, type KeywordSpec, requireBlock } from '../schema.js'
import type { Statement } from '../tree.js'
import type { BuildContext } from '../values.js'
import { readAddress } from './address.js'
import type { ParseState, VrrpDraft } from './draft.js'
import type { IpRoute, IpRule, VirtualAddress } from './model.js'
import { readRoute } from './routes.js'
import { readRule } from './rules.js'

function staticBlock<E>(
  name: string,
  push: (v: VrrpDraft, e: E) => void,
  read: (entry: Statement, ctx: BuildContext, state: ParseState) => E | undefined,
): KeywordSpec<VrrpDraft> {
  return {
    name, tier: 3,
    parse(stmt, v, ctx) {
      const body = requireBlock(stmt, ctx)
      if (!body) return
      const inner = childContext(ctx, name)
      for (const entry of body) {
        if (entry.block) {
          ctx.diags.error(entry.open ?? entry.pos, 'KA_CONF_UNEXPECTED_BLOCK', `entries of '${name}' do not take a block; the block is skipped`, { context: inner.context })
          continue
        }
        const e = read(entry, inner, v.state)
        if (e !== undefined) push(v, e)
      }
    },
    dump() {},
  }
}

export const staticKeywords: readonly KeywordSpec<VrrpDraft>[] = [
  staticBlock<VirtualAddress>('static_ipaddress', (v, a) => v.staticAddresses.push(a), (s, ctx) => readAddress(s, ctx, { isStatic: true })),
  staticBlock<IpRoute>('static_routes', (v, r) => v.staticRoutes.push(r), (s, ctx) => readRoute(s, ctx, { isStatic: true })),
  staticBlock<IpRule>('static_rules', (v, r) => v.staticRules.push(r), (s, ctx, state) => readRule(s, ctx, { isStatic: true }, state)),
]
