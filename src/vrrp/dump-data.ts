/**
 * SIGUSR1's /tmp/keepalived.data for the VRRP side, in keepalived 2.2.7's
 * layout as far as this implementation has the same things to say (reference
 * §3.2; keepalived vrrp_data.c dump_data_vrrp): global definitions, the VRRP
 * topology, the socket pool, sync groups, scripts and interfaces. keepalived
 * calls the format unstable; operators read it, nothing parses it. Pure.
 */
import type { GlobalDefs } from '../config/global/model.js'
import {
  addressText, commandText, type DumpInput, type DumpInstance, routeText, ruleText, timestampText,
} from './dump-format.js'
import { announcedAddresses } from './kernel-actions.js'
import { VRRP_MCAST_GROUP4, VRRP_MCAST_GROUP6 } from './packet.js'

const SECOND = 1_000_000

function yesNo(b: boolean | undefined): string {
  return b ? 'true' : 'false'
}

function globalSection(g: GlobalDefs): string[] {
  const delay = g.vrrpGarpMasterDelay ?? 5 * SECOND
  const repeat = g.vrrpGarpMasterRepeat ?? 5
  return [
    '------< Global definitions >------',
    ` Router ID = ${g.routerId ?? '(unset)'}`,
    ` Default smtp_alert = ${g.smtpAlert === undefined ? 'unset' : g.smtpAlert ? 'on' : 'off'}`,
    ` Default smtp_alert_vrrp = ${g.smtpAlertVrrp === undefined ? 'unset' : g.smtpAlertVrrp ? 'on' : 'off'}`,
    ...(g.smtpServer ? [` Smtp server = ${g.smtpServer.host}`, ` Smtp server port = ${g.smtpServer.port}`] : []),
    ...(g.notificationEmailFrom !== undefined ? [` Email notification from = ${g.notificationEmailFrom}`] : []),
    ...(g.notificationEmail?.length ? [' Email notification to:', ...g.notificationEmail.map((e) => `   ${e}`)] : []),
    ...(g.defaultInterface !== undefined ? [` Default interface = ${g.defaultInterface}`] : []),
    ` VRRP IPv4 mcast group = ${g.vrrpMcastGroup4 ?? VRRP_MCAST_GROUP4}`,
    ` VRRP IPv6 mcast group = ${g.vrrpMcastGroup6 ?? VRRP_MCAST_GROUP6}`,
    ` Gratuitous ARP delay = ${Math.floor(delay / SECOND)}`,
    ` Gratuitous ARP repeat = ${repeat}`,
    ` Gratuitous ARP refresh timer = ${Math.floor((g.vrrpGarpMasterRefresh ?? 0) / SECOND)}`,
    ` Gratuitous ARP refresh repeat = ${g.vrrpGarpMasterRefreshRepeat ?? 1}`,
    ` Gratuitous ARP lower priority delay = ${Math.floor((g.vrrpGarpLowerPrioDelay ?? delay) / SECOND)}`,
    ` Gratuitous ARP lower priority repeat = ${g.vrrpGarpLowerPrioRepeat ?? repeat}`,
    ` Num adverts before down = ${g.vrrpDownTimerAdverts ?? 3}`,
    ` Send advert after receive lower priority advert = ${yesNo(!g.vrrpLowerPrioNoAdvert)}`,
    ` Send advert after receive higher priority advert = ${yesNo(g.vrrpHigherPrioSendAdvert)}`,
    ` Gratuitous ARP interval = ${((g.vrrpGarpInterval ?? 0) / SECOND).toFixed(6)}`,
    ` Gratuitous NA interval = ${((g.vrrpGnaInterval ?? 0) / SECOND).toFixed(6)}`,
    ` VRRP default protocol version = ${g.vrrpVersion ?? 2}`,
    ` VRRP check unicast_src = ${yesNo(g.vrrpCheckUnicastSrc)}`,
    ` VRRP skip check advert addresses = ${yesNo(g.vrrpSkipCheckAdvAddr)}`,
    ` VRRP strict mode = ${yesNo(g.vrrpStrict)}`,
    ...(g.vrrpStartupDelay ? [` VRRP startup delay = ${(g.vrrpStartupDelay / SECOND).toFixed(3)}`] : []),
    ` Script security ${g.enableScriptSecurity ? 'enabled' : 'disabled'}`,
    ...(g.scriptUser ? [` Default script user = ${g.scriptUser.user}${g.scriptUser.group !== undefined ? `:${g.scriptUser.group}` : ''}`] : []),
  ]
}

function instanceLines(i: DumpInstance, input: DumpInput): string[] {
  const c = i.config
  const s = i.state
  const p = s.params
  const sock = input.sockets.find((x) => x.key === i.socketKey)
  const addresses = announcedAddresses(c)
  const vips = addresses.slice(0, c.virtualIpaddresses.length)
  const evips = addresses.slice(c.virtualIpaddresses.length)
  const tracked = [
    ...c.trackInterfaces.map((t) => `     ${t.name} weight ${t.weight}${t.reverse ? ' reverse' : ''}`),
  ]
  const lines = [
    ` VRRP Instance = ${c.name}`,
    `   VRRP Version = ${c.version}`,
    ...(i.syncGroup !== undefined ? [`   Sync group = ${i.syncGroup}`] : []),
    ...(c.family === 6 ? ['   Using Native IPv6'] : []),
    `   State = ${s.state}`,
    ...(s.state === 'BACKUP' && s.masterAddress !== undefined
      ? [`   Master router = ${s.masterAddress}`, `   Master priority = ${s.masterPriority ?? 0}`,
        ...(c.version === 3 ? [`   Master advert int = ${(s.masterAdverInt / SECOND).toFixed(2)} sec`] : [])]
      : []),
    '   Flags: none',
    `   Wantstate = ${s.wantState}`,
    `   Number of interface and track script faults = ${s.faults.length}`,
    `   Number of track scripts init = ${s.initPending.length}`,
    `   Last transition = ${i.history.since === undefined ? '0.000000' : timestampText(i.history.since)}`,
    `   Read timeout = ${i.deadlineMs === undefined ? 'DISABLED' : timestampText(i.deadlineMs)}`,
    `   Master down timer = ${s.msDownTimer} usecs`,
    ...(c.useVmac ? [`   Use VMAC, i/f name ${c.useVmac.interface ?? `vrrp.${c.virtualRouterId}`}, is_up = true, xmit_base = ${yesNo(c.vmacXmitBase)}`] : []),
    `   Interface = ${c.interface ?? 'not configured'}`,
    ...(c.dontTrackPrimary ? ['   VRRP interface tracking disabled'] : []),
    ...(c.skipCheckAdvAddr ? ['   Skip checking advert IP addresses'] : []),
    ...(c.strictMode ? ['   Enforcing strict VRRP compliance'] : []),
    `   Using src_ip = ${i.source}${c.unicastSrcIp ?? c.mcastSrcIp ? ' (from configuration)' : ''}`,
    ...(c.unicastPeers.length ? [] : [`   Multicast address ${i.group}`]),
    `   Gratuitous ARP delay = ${Math.floor(p.garp.masterDelay / SECOND)}`,
    `   Gratuitous ARP repeat = ${p.garp.masterRepeat}`,
    `   Gratuitous ARP refresh = ${Math.floor(p.garp.masterRefresh / SECOND)}`,
    `   Gratuitous ARP refresh repeat = ${p.garp.masterRefreshRepeat}`,
    `   Gratuitous ARP lower priority delay = ${Math.floor(p.garp.lowerPrioDelay / SECOND)}`,
    `   Gratuitous ARP lower priority repeat = ${p.garp.lowerPrioRepeat}`,
    `   Down timer adverts = ${p.downTimerAdverts}`,
    `   Send advert after receive lower priority advert = ${yesNo(!p.lowerPrioNoAdvert)}`,
    `   Send advert after receive higher priority advert = ${yesNo(p.higherPrioSendAdvert)}`,
    `   Virtual Router ID = ${c.virtualRouterId}`,
    `   Priority = ${s.basePriority}`,
    `   Effective priority = ${s.effectivePriority}`,
    `   Total priority = ${s.effectivePriority}`,
    c.version === 2 ? `   Advert interval = ${Math.floor(c.advertInt / SECOND)} sec` : `   Advert interval = ${Math.floor(c.advertInt / 1000)} milli-sec`,
    ...(s.state === 'BACKUP' && c.version === 3 ? [`   Master advert interval = ${Math.floor(s.masterAdverInt / 1000)} milli-sec`] : []),
    `   Accept = ${p.accept ? 'enabled' : 'disabled'}`,
    `   Preempt = ${p.nopreempt ? 'disabled' : 'enabled'}`,
    ...(p.preemptDelay ? [`   Preempt delay = ${p.preemptDelay / SECOND} secs`] : []),
    '   Promote_secondaries = disabled',
    ...(c.version === 2 && c.authentication?.type === 'PASS'
      ? ['   Authentication type = SIMPLE_PASSWORD', `   Password = ${c.authentication.password}`]
      : c.version === 2 && c.authentication?.type === 'AH' ? ['   Authentication type = IPSEC_AH'] : c.version === 2 ? ['   Authentication type = none'] : []),
    ...(vips.length ? [`   Virtual IP (${vips.length}):`, ...vips.map((a) => `     ${addressText(a.vip, a.dev, s.vipsSet)}`)] : []),
    ...(evips.length ? ['   Virtual IP Excluded :', ...evips.map((a) => `     ${addressText(a.vip, a.dev, s.vipsSet)}`)] : []),
    ...(c.unicastPeers.length
      ? [`   Check unicast src : ${c.checkUnicastSrc ? 'yes' : 'no'}`, '   Unicast Peer :',
        ...c.unicastPeers.map((u) => `     ${u.address} min_ttl ${u.minTtl ?? 0} max_ttl ${u.maxTtl ?? 255}`)]
      : []),
    sock ? `   Socket = ${sock.interface} IPv${sock.family} ${sock.unicast ? 'unicast' : 'multicast'} ${sock.address}` : '   No sockets allocated',
    ...(c.virtualRoutes.length ? ['   Virtual Routes :', ...c.virtualRoutes.map((r) => `     ${routeText(r)}`)] : []),
    ...(c.virtualRules.length ? ['   Virtual Rules :', ...c.virtualRules.map((r) => `     ${ruleText(r)}`)] : []),
    ...(tracked.length ? ['   Tracked interfaces :', ...tracked] : []),
    ...(c.trackScripts.length ? ['   Tracked scripts :', ...c.trackScripts.map((t) => `     ${t.name} weight ${t.weight}${t.reverse ? ' reverse' : ''}`)] : []),
    ...(c.trackFiles.length ? ['   Tracked files :', ...c.trackFiles.map((t) => `     ${t.name} weight ${t.weight}${t.reverse ? ' reverse' : ''}`)] : []),
    ...(c.trackProcesses.length ? ['   Tracked processes :', ...c.trackProcesses.map((t) => `     ${t.name} weight ${t.weight}${t.reverse ? ' reverse' : ''}`)] : []),
    `   Using smtp notification = ${c.smtpAlert ? 'yes' : 'no'}`,
    '   Notify deleted = Fault',
  ]
  const notify: [string, typeof c.notifyBackup][] = [
    ['Backup', c.notifyBackup], ['Master', c.notifyMaster], ['Fault', c.notifyFault], ['Stop', c.notifyStop], ['Generic', c.notify],
  ]
  for (const [kind, script] of notify) {
    if (script) lines.push(`   ${kind} state transition script = ${commandText(script.command)}${script.user !== undefined ? `, user ${script.user}` : ''}`)
  }
  lines.push('   Notify priority changes = false')
  return lines
}

/** The whole file. */
export function formatData(input: DumpInput): string {
  const lines = globalSection(input.global)
  if (input.instances.length) {
    lines.push('------< VRRP Topology >------')
    for (const i of input.instances) lines.push(...instanceLines(i, input))
  }
  if (input.sockets.length) {
    lines.push('------< VRRP Sockpool >------')
    for (const s of input.sockets) {
      lines.push(
        ` Socket ${s.key}`,
        `   Interface = ${s.interface}`,
        `   Family = IPv${s.family}`,
        '   Protocol = VRRP',
        `   Type = ${s.unicast ? 'Unicast' : 'Multicast'}`,
        ...(s.unicast ? [`   Address = ${s.address}`] : []),
        '   VRRP instances',
        ...input.instances.filter((i) => i.socketKey === s.key).map((i) => `     ${i.config.name} vrid ${i.config.virtualRouterId}`),
      )
    }
  }
  if (input.syncGroups.length) {
    lines.push('------< VRRP Sync groups >------')
    for (const g of input.syncGroups) {
      const members = input.instances.filter((i) => g.members.includes(i.config.name))
      lines.push(
        ` VRRP Sync Group = ${g.name}, ${g.state}`,
        `   Num member fault ${members.filter((m) => m.state.faults.length > 0).length}, num member init ${members.filter((m) => m.state.initPending.length > 0).length}`,
        '   VRRP member instances :',
        ...g.members.map((m) => `     ${m}`),
        `   Using smtp notification = ${g.smtpAlert ? 'yes' : 'no'}`,
      )
    }
  }
  if (input.scripts.length) {
    lines.push('------< VRRP Scripts >------')
    for (const { config: s, status, users } of input.scripts) {
      lines.push(
        ` VRRP Script = ${s.name}`,
        `   Command = ${commandText(s.script.command)}`,
        `   Interval = ${Math.floor(s.interval / SECOND)} sec`,
        `   Timeout = ${Math.floor(s.timeout / SECOND)} sec`,
        `   Weight = ${s.weight}${s.reverse ? ' reverse' : ''}`,
        `   Rise = ${s.rise}`,
        `   Fall = ${s.fall}`,
        `   Insecure = ${status === 'disabled' ? 'yes' : 'no'}`,
        `   Status = ${status === 'init' ? 'INIT' : status === 'ok' ? 'GOOD' : status === 'failed' ? 'BAD' : 'DISABLED'}`,
        '   Tracking instances :',
        ...users.map((u) => `     ${u.instance}, weight ${u.weight}${u.reverse ? ' reverse' : ''}`),
      )
    }
  }
  if (input.interfaces.length) {
    lines.push('------< Interfaces >------')
    for (const l of input.interfaces) {
      const users = input.instances.filter((i) => i.config.interface === l.name).map((i) => `     ${i.config.name}`)
      lines.push(
        ` Name = ${l.name}`,
        `   index = ${l.index}`,
        ...(l.mac ? [`   MAC = ${l.mac}`] : []),
        `   State = ${l.up ? 'UP, RUNNING' : 'DOWN'}`,
        ...(users.length ? ['   Tracking VRRP instances :', ...users] : []),
      )
    }
  }
  return lines.map((l) => `${l}\n`).join('')
}
