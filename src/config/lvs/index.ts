/**
 * The checker / IPVS half of the configuration: `virtual_server_group` and
 * `virtual_server` at the root, read into drafts, finished with keepalived's
 * defaults and corrections, written back as canonical text.
 */
import type { ConfWriter, KeywordSpec } from '../schema.js'
import type { FinishEnv, Section } from '../section.js'
import { canonicalAddress } from './address.js'
import type { LvsDraft } from './draft.js'
import { dumpGroup, virtualServerGroupKeyword } from './group.js'
import { formatVs } from './keywords.js'
import type { LvsConfig, VirtualServer, VirtualServerGroup } from './model.js'
import { finishVirtualServer } from './validate.js'
import { dumpVirtualServer, readVirtualServer } from './virtual-server.js'

export * from './model.js'
export type { LvsDraft } from './draft.js'

const virtualServerKeyword: KeywordSpec<LvsDraft> = {
  name: 'virtual_server', tier: 1,
  parse(stmt, lvs, ctx) {
    const vs = readVirtualServer(stmt, ctx)
    if (vs) lvs.virtualServers.push(vs)
  },
  dump() {},
}

/** keepalived looks groups up by name and takes the first. */
function groupsByName(lvs: LvsDraft, env: FinishEnv): Map<string, VirtualServerGroup> {
  const byName = new Map<string, VirtualServerGroup>()
  for (const g of lvs.groups) {
    const first = byName.get(g.name)
    if (!first) {
      byName.set(g.name, g)
      continue
    }
    env.diags.warning(g.pos, 'KA_CONF_DUPLICATE', `virtual_server_group ${g.name} is already defined at line ${first.pos.line}; this one is ignored`, {
      context: `virtual_server_group ${g.name}`, verdict: 'none', hint: 'keepalived uses the first group of a name',
    })
  }
  return byName
}

function serviceKey(vs: VirtualServer): string {
  if (vs.group !== undefined) return `group|${vs.group}|${vs.protocol}`
  if (vs.fwmark !== undefined) return `fwmark|${vs.fwmark}|${vs.ipFamily}`
  return `addr|${canonicalAddress(vs.address!)}|${vs.port}|${vs.protocol}`
}

/** Our own check: keepalived accepts the same service twice and then manages it from both blocks. */
function reportDuplicateServices(list: readonly VirtualServer[], env: FinishEnv): void {
  const seen = new Map<string, VirtualServer>()
  for (const vs of list) {
    const key = serviceKey(vs)
    const first = seen.get(key)
    if (!first) {
      seen.set(key, vs)
      continue
    }
    env.diags.error(vs.pos, 'KA_CONF_DUPLICATE', `virtual server ${formatVs(vs)} is already defined at line ${first.pos.line}`, {
      context: `virtual_server ${formatVs(vs)}`, verdict: 'none',
      hint: 'keepalived does not notice; both blocks would add and remove the same IPVS service and real servers',
    })
  }
}

function finish(lvs: LvsDraft, env: FinishEnv): LvsConfig {
  const groups = groupsByName(lvs, env)
  const virtualServers: VirtualServer[] = []
  for (const d of lvs.virtualServers) {
    const vs = finishVirtualServer(d, env, groups)
    if (vs) virtualServers.push(vs)
  }
  reportDuplicateServices(virtualServers, env)
  return { virtualServerGroups: [...groups.values()], virtualServers }
}

function dump(lvs: LvsConfig, out: ConfWriter): void {
  for (const g of lvs.virtualServerGroups) dumpGroup(g, out)
  for (const vs of lvs.virtualServers) dumpVirtualServer(vs, out)
}

export const lvsSection: Section<LvsDraft, LvsConfig> = {
  rootKeywords: [virtualServerGroupKeyword, virtualServerKeyword],
  empty: () => ({ groups: [], virtualServers: [] }),
  finish,
  dump,
}
