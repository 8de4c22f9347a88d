/**
 * The two per-instance dumps built from counters and state: SIGUSR2's
 * /tmp/keepalived.stats in keepalived 2.2.7's exact layout, and the JSON
 * signal's /tmp/keepalived.json with keepalived's field names (json-c's
 * escaped slashes included). Reference §3.2. Pure.
 */
import type { VrrpStats } from './advert-check.js'
import { addressText, commandText, type DumpInput, type DumpInstance, routeText, ruleText, stateNumber } from './dump-format.js'
import { announcedAddresses } from './kernel-actions.js'

/** The stats file for `instances`, in order. */
export function formatStats(instances: readonly { readonly name: string; readonly stats: VrrpStats }[]): string {
  const lines: string[] = []
  for (const { name, stats: s } of instances) {
    lines.push(
      `VRRP Instance: ${name}`,
      '  Advertisements:',
      `    Received: ${s.advertsReceived}`,
      `    Sent: ${s.advertsSent}`,
      `  Became master: ${s.becameMaster}`,
      `  Released master: ${s.releasedMaster}`,
      '  Packet Errors:',
      `    Length: ${s.lengthErrors}`,
      `    TTL: ${s.ttlErrors}`,
      `    Invalid Type: ${s.invalidTypeErrors}`,
      `    Advertisement Interval: ${s.advertIntervalErrors}`,
      `    Address List: ${s.addressListErrors}`,
      '  Authentication Errors:',
      `    Invalid Type: ${s.authInvalidType}`,
      `    Type Mismatch: ${s.authTypeMismatch}`,
      `    Failure: ${s.authFailure}`,
      '  Priority Zero:',
      `    Received: ${s.priorityZeroReceived}`,
      `    Sent: ${s.priorityZeroSent}`,
    )
  }
  return lines.map((l) => `${l}\n`).join('')
}

const SECOND = 1_000_000

function seconds(us: number): number {
  return us / SECOND
}

function jsonData(i: DumpInstance, input: DumpInput): Record<string, unknown> {
  const c = i.config
  const s = i.state
  const vmac = c.useVmac ? (c.useVmac.interface ?? `vrrp.${c.virtualRouterId}`) : ''
  const addresses = announcedAddresses(c)
  const vips = addresses.slice(0, c.virtualIpaddresses.length).map((a) => addressText(a.vip, a.dev, s.vipsSet))
  const evips = addresses.slice(c.virtualIpaddresses.length).map((a) => addressText(a.vip, a.dev, s.vipsSet))
  const scripts = c.trackScripts.map((t) => input.scripts.find((x) => x.config.name === t.name)).filter((x) => x !== undefined)
  const pass = c.version === 2 && c.authentication?.type === 'PASS'
  return {
    iname: c.name,
    dont_track_primary: c.dontTrackPrimary ? 1 : 0,
    skip_check_adv_addr: c.skipCheckAdvAddr ? 1 : 0,
    strict_mode: c.strictMode ? 1 : 0,
    vmac_ifname: vmac,
    ifp_ifname: c.interface ?? '',
    master_priority: s.state === 'BACKUP' ? (s.masterPriority ?? 0) : 0,
    last_transition: i.history.since === undefined ? 0 : Number((i.history.since / 1000).toFixed(6)),
    garp_delay: seconds(s.params.garp.masterDelay),
    garp_refresh: seconds(s.params.garp.masterRefresh),
    garp_rep: s.params.garp.masterRepeat,
    garp_refresh_rep: s.params.garp.masterRefreshRepeat,
    garp_lower_prio_delay: seconds(s.params.garp.lowerPrioDelay),
    garp_lower_prio_rep: s.params.garp.lowerPrioRepeat,
    lower_prio_no_advert: s.params.lowerPrioNoAdvert ? 1 : 0,
    higher_prio_send_advert: s.params.higherPrioSendAdvert ? 1 : 0,
    vrid: c.virtualRouterId,
    base_priority: s.basePriority,
    effective_priority: s.effectivePriority,
    vipset: s.vipsSet,
    promote_secondaries: false,
    adver_int: seconds(c.advertInt),
    master_adver_int: seconds(s.masterAdverInt),
    accept: s.params.accept ? 1 : 0,
    nopreempt: s.params.nopreempt,
    preempt_delay: seconds(s.params.preemptDelay),
    state: stateNumber(s.state),
    wantstate: stateNumber(s.wantState),
    version: c.version,
    smtp_alert: c.smtpAlert,
    notify_deleted: false,
    ...(vips.length ? { vips } : {}),
    ...(evips.length ? { evips } : {}),
    ...(c.virtualRoutes.length ? { vroutes: c.virtualRoutes.map(routeText) } : {}),
    ...(c.virtualRules.length ? { vrules: c.virtualRules.map(ruleText) } : {}),
    ...(scripts.length ? { track_script: scripts.map((x) => commandText(x.config.script.command)) } : {}),
    auth_type: pass ? 1 : 0,
    ...(pass ? { auth_data: c.authentication!.password } : {}),
  }
}

function jsonStats(s: VrrpStats): Record<string, number> {
  return {
    advert_rcvd: s.advertsReceived,
    advert_sent: s.advertsSent,
    become_master: s.becameMaster,
    release_master: s.releasedMaster,
    packet_len_err: s.lengthErrors,
    advert_interval_err: s.advertIntervalErrors,
    ip_ttl_err: s.ttlErrors,
    invalid_type_rcvd: s.invalidTypeErrors,
    addr_list_err: s.addressListErrors,
    invalid_authtype: s.authInvalidType,
    authtype_mismatch: s.authTypeMismatch,
    auth_failure: s.authFailure,
    pri_zero_rcvd: s.priorityZeroReceived,
    pri_zero_sent: s.priorityZeroSent,
  }
}

/** keepalived.json: one array of `{ data, stats }`, one line, json-c's `\/`. */
export function formatJson(input: DumpInput): string {
  const list = input.instances.map((i) => ({ data: jsonData(i, input), stats: jsonStats(i.history.stats) }))
  return `${JSON.stringify(list).replace(/\//g, '\\/')}\n`
}
