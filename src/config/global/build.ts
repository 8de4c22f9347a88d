/** `global_defs`: keyword table, defaults, canonical dump. */
import {
  applySchema, boolKeyword, type BlockSchema, childContext, ConfWriter, dumpRaw, dumpSchema,
  flagKeyword, intKeyword, ipKeyword, keptKeyword, type KeywordSpec, listKeyword, noBlock, scriptKeyword, stringKeyword, timerKeyword,
} from '../schema.js'
import type { Statement } from '../tree.js'
import { arg, badValue, type BuildContext, noExtraArgs, quoteWord, readInt, readIp, readPort, wordPos } from '../values.js'
import { emptyGlobalDefs, type GlobalDefs, type NotifyFifo, type SyncDaemon } from './model.js'
import { listenAddressText, parseListenAddress } from '../../status/listen-address.js'

type G = { -readonly [K in keyof GlobalDefs]: GlobalDefs[K] }

const smtpServer: KeywordSpec<G> = {
  name: 'smtp_server', tier: 1,
  parse(stmt, g, ctx) {
    if (!noBlock(stmt, ctx)) return
    const host = arg(stmt, ctx, 0, 'an address or host name')
    if (!host) return
    const port = stmt.args[1] ? readPort(stmt, ctx, stmt.args[1], 1) : 25
    if (port !== undefined) g.smtpServer = { host: host.text, port }
    noExtraArgs(stmt, ctx, 2)
  },
  dump(g, out) {
    if (g.smtpServer) out.line('smtp_server', g.smtpServer.host, String(g.smtpServer.port))
  },
}

const scriptUser: KeywordSpec<G> = {
  name: 'script_user', tier: 2,
  parse(stmt, g, ctx) {
    if (!noBlock(stmt, ctx)) return
    const user = arg(stmt, ctx, 0, 'a user name')
    if (user) g.scriptUser = { user: user.text, group: stmt.args[1]?.text }
    noExtraArgs(stmt, ctx, 2)
  },
  dump(g, out) {
    if (g.scriptUser) out.line('script_user', g.scriptUser.user, ...(g.scriptUser.group ? [g.scriptUser.group] : []))
  },
}

function fifoKeyword(name: string, key: 'notifyFifo' | 'vrrpNotifyFifo' | 'lvsNotifyFifo'): KeywordSpec<G> {
  return {
    name, tier: 2,
    parse(stmt, g, ctx) {
      if (!noBlock(stmt, ctx)) return
      const path = arg(stmt, ctx, 0, 'a FIFO path')
      if (path) g[key] = { path: path.text, user: stmt.args[1]?.text, group: stmt.args[2]?.text }
      noExtraArgs(stmt, ctx, 3)
    },
    dump(g, out) {
      const f: NotifyFifo | undefined = g[key]
      if (f) out.line(name, f.path, ...(f.user ? [f.user] : []), ...(f.group ? [f.group] : []))
    },
  }
}

/** `lvs_sync_daemon IF [[inst] VI] [id N] [maxlen N] [port N] [ttl N] [group IP]`. */
const lvsSyncDaemon: KeywordSpec<G> = {
  name: 'lvs_sync_daemon', tier: 2,
  parse(stmt, g, ctx) {
    if (!noBlock(stmt, ctx)) return
    const iface = arg(stmt, ctx, 0, 'an interface')
    if (!iface) return
    const d: { -readonly [K in keyof SyncDaemon]: SyncDaemon[K] } = {
      interface: iface.text, instance: undefined, id: undefined, maxlen: undefined, port: undefined, ttl: undefined, group: undefined,
    }
    const a = stmt.args
    for (let i = 1; i < a.length; i++) {
      const w = a[i]!
      const next = a[i + 1]
      switch (w.text) {
        case 'inst': d.instance = next?.text; i++; break
        case 'id': d.id = readInt(stmt, ctx, next, 0, 255); i++; break
        case 'maxlen': d.maxlen = readInt(stmt, ctx, next, 1, 65535 - 20 - 8); i++; break
        case 'port': d.port = readPort(stmt, ctx, next, 1); i++; break
        case 'ttl': d.ttl = readInt(stmt, ctx, next, 1, 255); i++; break
        case 'group': d.group = readIp(stmt, ctx, next); i++; break
        default:
          if (i === 1) d.instance = w.text
          else ctx.diags.error(wordPos(stmt, w), 'KA_CONF_BAD_VALUE', `lvs_sync_daemon: unknown option '${w.text}'`, { context: ctx.context })
      }
      if (['inst', 'id', 'maxlen', 'port', 'ttl', 'group'].includes(w.text) && !next) {
        ctx.diags.error(wordPos(stmt, w), 'KA_CONF_MISSING_VALUE', `lvs_sync_daemon: '${w.text}' needs a value`, { context: ctx.context })
      }
    }
    g.lvsSyncDaemon = d
  },
  dump(g, out) {
    const d = g.lvsSyncDaemon
    if (!d) return
    const words = [d.interface]
    if (d.instance !== undefined) words.push('inst', d.instance)
    if (d.id !== undefined) words.push('id', String(d.id))
    if (d.maxlen !== undefined) words.push('maxlen', String(d.maxlen))
    if (d.port !== undefined) words.push('port', String(d.port))
    if (d.ttl !== undefined) words.push('ttl', String(d.ttl))
    if (d.group !== undefined) words.push('group', d.group)
    out.line('lvs_sync_daemon', ...words)
  },
}

/** `lvs_timeouts [tcp S] [tcpfin S] [udp S]`. */
const lvsTimeouts: KeywordSpec<G> = {
  name: 'lvs_timeouts', tier: 3,
  parse(stmt, g, ctx) {
    if (!noBlock(stmt, ctx)) return
    const t = { tcp: undefined as number | undefined, tcpfin: undefined as number | undefined, udp: undefined as number | undefined }
    for (let i = 0; i < stmt.args.length; i += 2) {
      const w = stmt.args[i]!
      if (w.text !== 'tcp' && w.text !== 'tcpfin' && w.text !== 'udp') {
        ctx.diags.error(wordPos(stmt, w), 'KA_CONF_BAD_VALUE', `lvs_timeouts: unknown protocol '${w.text}' (tcp, tcpfin or udp)`, { context: ctx.context })
        continue
      }
      t[w.text] = readInt(stmt, ctx, arg(stmt, ctx, i + 1, `seconds after '${w.text}'`), 0, 86400 * 31)
    }
    g.lvsTimeouts = t
  },
  dump(g, out) {
    const t = g.lvsTimeouts
    if (!t) return
    const words: string[] = []
    for (const k of ['tcp', 'tcpfin', 'udp'] as const) if (t[k] !== undefined) words.push(k, String(t[k]))
    out.line('lvs_timeouts', ...words)
  },
}

const vrrpVersion: KeywordSpec<G> = {
  name: 'vrrp_version', tier: 2,
  parse(stmt, g, ctx) {
    if (!noBlock(stmt, ctx)) return
    const v = readInt(stmt, ctx, arg(stmt, ctx, 0, '2 or 3'), 2, 3)
    if (v === 2 || v === 3) g.vrrpVersion = v
    noExtraArgs(stmt, ctx, 1)
  },
  dump(g, out) {
    if (g.vrrpVersion !== undefined) out.line('vrrp_version', String(g.vrrpVersion))
  },
}

/**
 * `metrics_address ADDRESS:PORT` — keepalived-ts only, not a keepalived
 * keyword (keepalived's -t reports "Unknown keyword 'metrics_address'" and exits 5),
 * serve Prometheus text at /metrics there.
 */
const metricsAddress: KeywordSpec<G> = {
  name: 'metrics_address', tier: 2,
  parse(stmt, g, ctx) {
    if (!noBlock(stmt, ctx)) return
    const word = arg(stmt, ctx, 0, 'ADDRESS:PORT (keepalived-ts only)')
    if (!word) return
    const parsed = parseListenAddress(word.text)
    if (typeof parsed === 'string') badValue(stmt, ctx, word, parsed)
    else g.metricsAddress = { host: parsed.host, port: parsed.port }
    noExtraArgs(stmt, ctx, 1)
  },
  dump(g, out) {
    if (g.metricsAddress) out.line('metrics_address', listenAddressText(g.metricsAddress))
  },
}

const T3_GLOBAL = [
  'smtp_alert_vrrp_x', 'no_email_faults', 'vrrp_garp_extra_if', 'vrrp_vmac_garp_intvl', 'vrrp_iptables', 'vrrp_ipsets',
  'nftables', 'nftables_priority', 'nftables_counters', 'nftables_ifindex', 'nftables_ipvs', 'nftables_ipvs_priority',
  'nftables_ipvs_start_fwmark', 'disable_local_igmp', 'vrrp_notify_priority_changes', 'max_auto_priority',
  'min_auto_priority_delay', 'vrrp_priority', 'checker_priority', 'bfd_priority', 'vrrp_no_swap', 'checker_no_swap',
  'bfd_no_swap', 'vrrp_rt_priority', 'checker_rt_priority', 'bfd_rt_priority', 'vrrp_cpu_affinity', 'checker_cpu_affinity',
  'bfd_cpu_affinity', 'vrrp_rlimit_rttime', 'checker_rlimit_rttime', 'bfd_rlimit_rttime', 'vrrp_rlimit_rtime',
  'checker_rlimit_rtime', 'bfd_rlimit_rtime', 'snmp_socket', 'enable_snmp_vrrp', 'enable_snmp_keepalived',
  'enable_snmp_checker', 'enable_snmp_rfc', 'enable_snmp_rfcv2', 'enable_snmp_rfcv3', 'enable_traps', 'enable_dbus',
  'dbus_service_name', 'notify_fifo_script', 'vrrp_notify_fifo_script', 'lvs_notify_fifo_script',
  'fifo_write_vrrp_states_on_reload', 'dynamic_interfaces', 'vrrp_netlink_cmd_rcv_bufs', 'vrrp_netlink_cmd_rcv_bufs_force',
  'vrrp_netlink_monitor_rcv_bufs', 'vrrp_netlink_monitor_rcv_bufs_force', 'lvs_netlink_cmd_rcv_bufs',
  'lvs_netlink_cmd_rcv_bufs_force', 'lvs_netlink_monitor_rcv_bufs', 'lvs_netlink_monitor_rcv_bufs_force',
  'process_monitor_rcv_bufs', 'process_monitor_rcv_bufs_force', 'vrrp_rx_bufs_policy', 'vrrp_rx_bufs_multiplier',
  'rs_init_notifies', 'no_checker_emails', 'umask', 'log_unknown_vrids', 'vmac_prefix', 'vmac_addr_prefix', 'random_seed',
  'reload_check_config', 'reload_time_file', 'reload_repeat', 'reload_file', 'include_check', 'config_save_dir',
  'tmp_config_directory', 'data_use_instance', 'startup_script_timeout', 'shutdown_script_timeout', 'process_names',
  'process_name', 'vrrp_process_name', 'checker_process_name', 'lvs_process_name', 'bfd_process_name',
].filter((k) => k !== 'smtp_alert_vrrp_x')

export const globalDefsSchema: BlockSchema<G> = {
  name: 'global_defs',
  keywords: [
    listKeyword<G, string>('notification_email', 'notificationEmail', (s, ctx) => { noExtraArgs(s, ctx, 0); return s.keyword }, quoteWord, { tier: 1 }),
    stringKeyword('notification_email_from', 'notificationEmailFrom', { tier: 1, what: 'an e-mail address' }),
    smtpServer,
    stringKeyword('smtp_helo_name', 'smtpHeloName', { tier: 3 }),
    timerKeyword('smtp_connect_timeout', 'smtpConnectTimeout', 1_000_000, 3_600_000_000, { tier: 1 }),
    boolKeyword('smtp_alert', 'smtpAlert'),
    boolKeyword('smtp_alert_vrrp', 'smtpAlertVrrp', { tier: 3 }),
    boolKeyword('smtp_alert_checker', 'smtpAlertChecker', { tier: 3 }),
    stringKeyword('router_id', 'routerId', { tier: 1 }),
    boolKeyword('checker_log_all_failures', 'checkerLogAllFailures'),
    ipKeyword('vrrp_mcast_group4', 'vrrpMcastGroup4', { tier: 3 }),
    ipKeyword('vrrp_mcast_group6', 'vrrpMcastGroup6', { tier: 3 }),
    stringKeyword('default_interface', 'defaultInterface', { tier: 3 }),
    lvsSyncDaemon,
    lvsTimeouts,
    flagKeyword('lvs_flush', 'lvsFlush'),
    flagKeyword('lvs_flush_on_stop', 'lvsFlushOnStop', { tier: 3, aliases: [{ name: 'lvs_flush_onstop' }] }),
    timerKeyword('vrrp_garp_master_delay', 'vrrpGarpMasterDelay'),
    intKeyword('vrrp_garp_master_repeat', 'vrrpGarpMasterRepeat', 1, 65535),
    timerKeyword('vrrp_garp_master_refresh', 'vrrpGarpMasterRefresh'),
    intKeyword('vrrp_garp_master_refresh_repeat', 'vrrpGarpMasterRefreshRepeat', 1, 65535, { tier: 3 }),
    timerKeyword('vrrp_garp_lower_prio_delay', 'vrrpGarpLowerPrioDelay', 0, Number.MAX_SAFE_INTEGER, { tier: 3 }),
    intKeyword('vrrp_garp_lower_prio_repeat', 'vrrpGarpLowerPrioRepeat', 1, 65535, { tier: 3 }),
    timerKeyword('vrrp_garp_interval', 'vrrpGarpInterval'),
    timerKeyword('vrrp_gna_interval', 'vrrpGnaInterval'),
    boolKeyword('vrrp_min_garp', 'vrrpMinGarp', { tier: 3 }),
    intKeyword('vrrp_down_timer_adverts', 'vrrpDownTimerAdverts', 1, 100, { tier: 3 }),
    boolKeyword('vrrp_lower_prio_no_advert', 'vrrpLowerPrioNoAdvert', { tier: 3 }),
    boolKeyword('vrrp_higher_prio_send_advert', 'vrrpHigherPrioSendAdvert', { tier: 3 }),
    vrrpVersion,
    flagKeyword('vrrp_check_unicast_src', 'vrrpCheckUnicastSrc'),
    flagKeyword('vrrp_skip_check_adv_addr', 'vrrpSkipCheckAdvAddr'),
    flagKeyword('vrrp_strict', 'vrrpStrict'),
    timerKeyword('vrrp_startup_delay', 'vrrpStartupDelay', 0, 3_600_000_000, { tier: 3 }),
    scriptUser,
    flagKeyword('enable_script_security', 'enableScriptSecurity'),
    fifoKeyword('notify_fifo', 'notifyFifo'),
    fifoKeyword('vrrp_notify_fifo', 'vrrpNotifyFifo'),
    fifoKeyword('lvs_notify_fifo', 'lvsNotifyFifo'),
    scriptKeyword('startup_script', 'startupScript', { tier: 3 }),
    scriptKeyword('shutdown_script', 'shutdownScript', { tier: 3 }),
    metricsAddress,
    ...T3_GLOBAL.map((k) => keptKeyword<G>(k)),
  ],
  misplaced: {
    lvs_id: "'lvs_id' was renamed 'router_id' in keepalived 1.1.8",
  },
}

export function buildGlobalDefs(statements: readonly Statement[], ctx: BuildContext, into?: GlobalDefs): GlobalDefs {
  const draft: G = { ...(into ?? emptyGlobalDefs()) }
  applySchema(globalDefsSchema, statements, draft, childContext(ctx, 'global_defs'))
  return draft
}

export function dumpGlobalDefs(g: GlobalDefs, out: ConfWriter): void {
  out.block('global_defs', [], () => {
    dumpSchema(globalDefsSchema, g as G, out)
    dumpRaw(g.unsupported, out)
  })
}

