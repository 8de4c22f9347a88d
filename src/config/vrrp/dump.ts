/**
 * {@link VrrpConfig} → canonical keepalived.conf text. Every effective value is
 * written out, so reading the text back (with the same global_defs) gives the
 * same model. Tracked objects come before the instances: keepalived resolves
 * tracker names as it reads.
 */
import { type ConfWriter, dumpRaw, type ScriptSpec, scriptWords } from '../schema.js'
import { formatTimer, quoteWord } from '../values.js'
import { formatAddress } from './address.js'
import type {
  IpRoute, IpRule, NotifyScripts, SyncGroup, TrackedInterface, TrackedRef, Trackers, TrackFile, TrackProcess,
  VirtualAddress, VrrpConfig, VrrpInstance, VrrpScript,
} from './model.js'
import { formatRoute } from './routes.js'
import { formatRule } from './rules.js'
import { formatTracked } from './track.js'

function lines<E>(out: ConfWriter, keyword: string, list: readonly E[], format: (e: E) => string): void {
  if (list.length) out.block(keyword, [], () => list.forEach((e) => out.rawLine(format(e))))
}

const addresses = (out: ConfWriter, keyword: string, list: readonly VirtualAddress[]): void => lines(out, keyword, list, formatAddress)
const routes = (out: ConfWriter, keyword: string, list: readonly IpRoute[]): void => lines(out, keyword, list, formatRoute)
const rules = (out: ConfWriter, keyword: string, list: readonly IpRule[]): void => lines(out, keyword, list, formatRule)

function weight(out: ConfWriter, t: { weight: number; reverse: boolean }): void {
  out.line('weight', String(t.weight), ...(t.reverse ? ['reverse'] : []))
}

const seconds = (us: number): string => formatTimer(us)
const bool = (b: boolean): string[] => (b ? [] : ['false'])

function script(out: ConfWriter, s: VrrpScript): void {
  out.block('vrrp_script', [s.name], () => {
    out.line('script', s.script.command)
    if (s.script.user !== undefined) out.line('user', s.script.user, ...(s.script.group !== undefined ? [s.script.group] : []))
    out.line('interval', seconds(s.interval))
    out.line('timeout', seconds(s.timeout))
    weight(out, s)
    out.line('rise', String(s.rise))
    out.line('fall', String(s.fall))
    if (s.initFail) out.line('init_fail')
  })
}

function trackFile(out: ConfWriter, f: TrackFile): void {
  out.block('track_file', [f.name], () => {
    out.line('file', f.file)
    weight(out, f)
    if (f.initFile) out.line('init_file', String(f.initFile.value), ...(f.initFile.overwrite ? ['overwrite'] : []))
  })
}

function trackProcess(out: ConfWriter, p: TrackProcess): void {
  out.block('vrrp_track_process', [p.name], () => {
    out.line('process', ...p.process)
    if (p.paramMatch !== undefined) out.line('param_match', p.paramMatch)
    weight(out, p)
    out.line('quorum', String(p.quorum))
    if (p.quorumMax !== undefined) out.line('quorum_max', String(p.quorumMax))
    out.line('fork_delay', seconds(p.forkDelay))
    out.line('terminate_delay', seconds(p.terminateDelay))
    if (p.fullCommand) out.line('full_command')
  })
}

function trackers(out: ConfWriter, t: Trackers): void {
  const list = (keyword: string, l: readonly (TrackedInterface | TrackedRef)[]): void => lines(out, keyword, l, formatTracked)
  list('track_interface', t.trackInterfaces)
  list('track_script', t.trackScripts)
  list('track_file', t.trackFiles)
  list('track_process', t.trackProcesses)
}

function notifies(out: ConfWriter, n: NotifyScripts): void {
  const one = (keyword: string, s: ScriptSpec | undefined): void => {
    if (s) out.line(keyword, ...scriptWords(s))
  }
  one('notify_master', n.notifyMaster)
  one('notify_backup', n.notifyBackup)
  one('notify_fault', n.notifyFault)
  one('notify_stop', n.notifyStop)
  one('notify', n.notify)
}

function instanceCore(out: ConfWriter, i: VrrpInstance): void {
  out.line('state', i.state)
  if (i.interface !== undefined) out.line('interface', i.interface)
  out.line('virtual_router_id', String(i.virtualRouterId))
  out.line('priority', String(i.priority))
  out.line('advert_int', seconds(i.advertInt))
  out.line('version', String(i.version))
  if (i.authentication) {
    const a = i.authentication
    out.block('authentication', [], () => {
      out.line('auth_type', a.type)
      out.line('auth_pass', a.password)
    })
  }
  addresses(out, 'virtual_ipaddress', i.virtualIpaddresses)
  addresses(out, 'virtual_ipaddress_excluded', i.virtualIpaddressesExcluded)
  routes(out, 'virtual_routes', i.virtualRoutes)
  rules(out, 'virtual_rules', i.virtualRules)
  if (i.unicastSrcIp !== undefined) out.line('unicast_src_ip', i.unicastSrcIp)
  if (i.mcastSrcIp !== undefined) out.line('mcast_src_ip', i.mcastSrcIp)
  lines(out, 'unicast_peer', i.unicastPeers, (p) => [
    p.address, ...(p.minTtl !== undefined ? ['min_ttl', String(p.minTtl)] : []), ...(p.maxTtl !== undefined ? ['max_ttl', String(p.maxTtl)] : []),
  ].join(' '))
}

function instanceOptions(out: ConfWriter, i: VrrpInstance): void {
  out.line('garp_master_delay', seconds(i.garpMasterDelay))
  out.line('garp_master_repeat', String(i.garpMasterRepeat))
  out.line('garp_master_refresh', seconds(i.garpMasterRefresh))
  out.line('garp_master_refresh_repeat', String(i.garpMasterRefreshRepeat))
  out.line('garp_lower_prio_delay', seconds(i.garpLowerPrioDelay))
  out.line('garp_lower_prio_repeat', String(i.garpLowerPrioRepeat))
  if (i.useVmac) out.line('use_vmac', ...[i.useVmac.interface, i.useVmac.mac].filter((x): x is string => x !== undefined))
  if (i.vmacXmitBase) out.line('vmac_xmit_base')
  if (i.nopreempt) out.line('nopreempt')
  if (i.preemptDelay) out.line('preempt_delay', seconds(i.preemptDelay))
  out.line(i.accept ? 'accept' : 'no_accept')
  if (i.dontTrackPrimary) out.line('dont_track_primary')
  out.line('strict_mode', ...bool(i.strictMode))
  out.line('skip_check_adv_addr', ...bool(i.skipCheckAdvAddr))
  if (i.checkUnicastSrc) out.line('check_unicast_src')
  out.line('smtp_alert', ...bool(i.smtpAlert))
  if (i.lvsSyncDaemonInterface !== undefined) out.line('lvs_sync_daemon_interface', i.lvsSyncDaemonInterface)
}

function instance(out: ConfWriter, i: VrrpInstance): void {
  out.block('vrrp_instance', [i.name], () => {
    instanceCore(out, i)
    trackers(out, i)
    notifies(out, i)
    instanceOptions(out, i)
    dumpRaw(i.unsupported, out)
  })
}

function syncGroup(out: ConfWriter, g: SyncGroup): void {
  out.block('vrrp_sync_group', [g.name], () => {
    lines(out, 'group', g.members, quoteWord)
    trackers(out, g)
    notifies(out, g)
    out.line('smtp_alert', ...bool(g.smtpAlert))
    if (g.syncGroupTrackingWeight) out.line('sync_group_tracking_weight')
    dumpRaw(g.unsupported, out)
  })
}

export function dumpVrrp(c: VrrpConfig, out: ConfWriter): void {
  addresses(out, 'static_ipaddress', c.staticAddresses)
  routes(out, 'static_routes', c.staticRoutes)
  rules(out, 'static_rules', c.staticRules)
  c.scripts.forEach((s) => script(out, s))
  c.trackFiles.forEach((f) => trackFile(out, f))
  c.trackProcesses.forEach((p) => trackProcess(out, p))
  c.instances.forEach((i) => instance(out, i))
  c.syncGroups.forEach((g) => syncGroup(out, g))
}
