/**
 * Checks across blocks, made once everything is read: VRID clashes, one address
 * in two instances, interfaces missing on this host, and tracked objects nobody
 * tracks.
 */
import type { SourcePosition } from '../diagnostics.js'
import type { FinishEnv } from '../section.js'
import { where } from './common.js'
import type { InstanceDraft, SyncGroupDraft, VrrpDraft } from './draft.js'
import { canonicalIp } from './ip.js'
import type { IpRoute, IpRule, SyncGroup, VirtualAddress, VrrpInstance, VrrpScript } from './model.js'
import { routeInterfaces } from './routes.js'
import { ruleInterfaces } from './rules.js'

export interface Finished {
  readonly draft: InstanceDraft
  readonly model: VrrpInstance
}

function instanceContext(name: string): string {
  return `vrrp_instance ${name}`
}

/**
 * keepalived rejects two instances with one VRID on one interface and family
 * (they share a socket and a virtual MAC). Unicast instances may share a VRID
 * when their peers differ; a shared peer would get both instances' adverts.
 */
export function checkVrids(list: readonly Finished[], env: FinishEnv): void {
  const seen: Finished[] = []
  for (const f of list) {
    const m = f.model
    const clash = seen.find((o) => o.model.virtualRouterId === m.virtualRouterId && o.model.family === m.family &&
      o.model.interface === m.interface && sharesTransport(o.model, m))
    if (clash) {
      env.diags.error(f.draft.at.get('virtual_router_id') ?? f.draft.pos, 'KA_CONF_DUPLICATE_VRID',
        `VRID ${m.virtualRouterId} is also used by vrrp_instance ${clash.model.name} (${where(clash.model.pos)}) with IPv${m.family} on ${m.interface ?? 'the same interface'}`,
        { context: instanceContext(m.name), hint: 'each virtual router on a link needs its own virtual_router_id' })
    }
    seen.push(f)
  }
}

function sharesTransport(a: VrrpInstance, b: VrrpInstance): boolean {
  if (!a.unicastPeers.length && !b.unicastPeers.length) return true
  if (!a.unicastPeers.length || !b.unicastPeers.length) return false
  const peers = new Set(a.unicastPeers.map((p) => canonicalIp(p.address)))
  return b.unicastPeers.some((p) => peers.has(canonicalIp(p.address)))
}

/**
 * One address managed by two instances (or by an instance and static_ipaddress)
 * is added by one and deleted by the other as they change state. keepalived
 * does not check this; it is a classic cause of outages.
 */
export function checkSharedAddresses(statics: readonly VirtualAddress[], list: readonly VrrpInstance[], env: FinishEnv): void {
  const owners = new Map<string, { owner: string; pos: SourcePosition }>()
  for (const a of statics) owners.set(canonicalIp(a.address), { owner: 'static_ipaddress', pos: a.pos })
  for (const m of list) {
    for (const a of [...m.virtualIpaddresses, ...m.virtualIpaddressesExcluded]) {
      const key = canonicalIp(a.address)
      const first = owners.get(key)
      const ctx = { context: instanceContext(m.name) }
      if (!first) owners.set(key, { owner: instanceContext(m.name), pos: a.pos })
      else if (first.owner === instanceContext(m.name)) {
        env.diags.warning(a.pos, 'KA_CONF_DUPLICATE_VIP', `address ${a.address} is listed twice in this instance`, { ...ctx, verdict: 'none' })
      } else {
        env.diags.error(a.pos, 'KA_CONF_DUPLICATE_VIP', `address ${a.address} is also managed by ${first.owner} (${where(first.pos)})`, {
          ...ctx, hint: 'each would delete it when it leaves MASTER while the other still needs it; keep every address in one place',
        })
      }
    }
  }
}

/** Host checks, made only when the host's interfaces are known (reference §1.16). */
export function checkInterfaces(d: VrrpDraft, env: FinishEnv): void {
  const ifs = env.host.interfaces
  if (!ifs) return
  const missing = (name: string | undefined, pos: SourcePosition, message: string, context: string | undefined): void => {
    if (name === undefined || ifs.has(name)) return
    env.diags.warning(pos, 'KA_CONF_NO_INTERFACE', message, { context, host: true })
  }
  const addresses = (list: readonly VirtualAddress[], context: string | undefined): void => {
    for (const a of list) missing(a.dev, a.pos, `interface ${a.dev} for address ${a.address} doesn't exist`, context)
  }
  const routes = (list: readonly IpRoute[], context: string): void => {
    for (const r of list) for (const n of routeInterfaces(r)) missing(n, r.pos, `interface ${n} for route ${r.destination} doesn't exist`, context)
  }
  const rules = (list: readonly IpRule[], context: string): void => {
    for (const r of list) for (const n of ruleInterfaces(r)) missing(n, r.pos, `interface ${n} for rule doesn't exist`, context)
  }
  addresses(d.staticAddresses, 'static_ipaddress')
  routes(d.staticRoutes, 'static_routes')
  rules(d.staticRules, 'static_rules')
  for (const i of d.instances) {
    const context = instanceContext(i.name)
    missing(i.interface, i.at.get('interface') ?? i.pos, `interface ${i.interface} doesn't exist`, context)
    trackedInterfaces(i, context, missing)
    addresses([...i.virtualIpaddresses, ...i.virtualIpaddressesExcluded], context)
    routes(i.virtualRoutes, context)
    rules(i.virtualRules, context)
  }
  for (const g of d.syncGroups) trackedInterfaces(g, `vrrp_sync_group ${g.name}`, missing)
}

function trackedInterfaces(
  d: InstanceDraft | SyncGroupDraft, context: string,
  missing: (name: string, pos: SourcePosition, message: string, context: string) => void,
): void {
  for (const t of d.trackInterfaces) missing(t.name, t.pos, `tracked interface ${t.name} doesn't exist`, context)
}

/** keepalived never runs a script nobody tracks (`Warning - script X is not used`, logged after the config test). */
export function checkUnusedScripts(scripts: readonly VrrpScript[], instances: readonly VrrpInstance[], groups: readonly SyncGroup[], env: FinishEnv): void {
  const used = new Set([...instances, ...groups].flatMap((x) => x.trackScripts.map((t) => t.name)))
  for (const s of scripts) {
    if (used.has(s.name)) continue
    env.diags.warning(s.pos, 'KA_CONF_UNUSED', `vrrp_script ${s.name} is not used; keepalived never runs it`, {
      context: `vrrp_script ${s.name}`, verdict: 'none',
      hint: 'track it in a vrrp_instance or vrrp_sync_group with track_script',
    })
  }
}
