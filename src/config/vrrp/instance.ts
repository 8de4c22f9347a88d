/** `vrrp_instance NAME { ... }` (reference §1.8): keyword table and reading. */
import {
  applySchema, type BlockSchema, boolKeyword, childContext, flagKeyword, keptKeyword, type KeywordSpec, noBlock, timerKeyword,
} from '../schema.js'
import { arg, noExtraArgs, readInt, wordPos } from '../values.js'
import { locatedAll, namedDraft, NOTIFY_KEYWORDS, notifyKeyword, readHeader } from './common.js'
import { emptyNotify, emptyTrackers, type InstanceDraft, type VrrpDraft } from './draft.js'
import {
  authentication, sourceIpKeyword, unicastPeer, useVmac, virtualIpaddress, virtualIpaddressExcluded, virtualRoutes, virtualRules,
} from './instance-values.js'
import { trackKeyword } from './track.js'

type D = InstanceDraft

const state: KeywordSpec<D> = {
  name: 'state', tier: 1,
  parse(stmt, d, ctx) {
    if (!noBlock(stmt, ctx)) return
    const w = arg(stmt, ctx, 0, 'MASTER or BACKUP')
    if (!w) return
    noExtraArgs(stmt, ctx, 1)
    if (w.text === 'MASTER' || w.text === 'BACKUP') {
      d.initialState = w.text
      return
    }
    d.initialState = 'BACKUP'
    const upper = w.text.toUpperCase()
    ctx.diags.warning(wordPos(stmt, w), 'KA_CONF_BAD_VALUE', `unknown state '${w.text}'; keepalived uses BACKUP`, {
      context: ctx.context,
      hint: upper === 'MASTER' || upper === 'BACKUP' ? `state is case-sensitive: write ${upper}` : 'state is MASTER or BACKUP',
    })
  },
  dump() {},
}

const iface: KeywordSpec<D> = {
  name: 'interface', tier: 1,
  parse(stmt, d, ctx) {
    if (!noBlock(stmt, ctx)) return
    const w = arg(stmt, ctx, 0, 'an interface name')
    if (!w) return
    noExtraArgs(stmt, ctx, 1)
    // keepalived checks the hardware type; on Linux `lo` is the loopback.
    if (w.text === 'lo') {
      ctx.diags.error(wordPos(stmt, w), 'KA_CONF_BAD_VALUE', 'cannot use a loopback interface (lo) for VRRP; ignored', { context: ctx.context })
      return
    }
    d.interface = w.text
  },
  dump() {},
}

function intOf(name: string, set: (d: D, n: number) => void, min: number, max: number, tier: 1 | 2 | 3 = 2): KeywordSpec<D> {
  return {
    name, tier,
    parse(stmt, d, ctx) {
      if (!noBlock(stmt, ctx)) return
      const n = readInt(stmt, ctx, arg(stmt, ctx, 0, 'a number'), min, max)
      noExtraArgs(stmt, ctx, 1)
      if (n !== undefined) set(d, n)
    },
    dump() {},
  }
}

/** keepalived's TIMER_MAX_SEC, the limit of its whole-second GARP timers. */
const MAX_SECONDS = 4294

/** GARP delays: whole seconds, kept in microseconds. */
function garpDelay(name: string, set: (d: D, us: number) => void, tier: 2 | 3): KeywordSpec<D> {
  return intOf(name, (d, s) => set(d, s * 1_000_000), 0, MAX_SECONDS, tier)
}

/** GARP repeats: keepalived turns 0 into 1 for the master repeats. */
function garpRepeat(name: string, set: (d: D, n: number) => void, min: 0 | 1, tier: 2 | 3): KeywordSpec<D> {
  return {
    name, tier,
    parse(stmt, d, ctx) {
      if (!noBlock(stmt, ctx)) return
      const n = readInt(stmt, ctx, arg(stmt, ctx, 0, 'a number'), 0, 65535)
      noExtraArgs(stmt, ctx, 1)
      if (n === undefined) return
      if (n < min) ctx.diags.warning(stmt.pos, 'KA_CONF_BAD_VALUE', `${name} must be greater than 0; keepalived uses 1`, { context: ctx.context })
      set(d, Math.max(n, min))
    },
    dump() {},
  }
}

const version: KeywordSpec<D> = intOf('version', (d, n) => { d.version = n === 3 ? 3 : 2 }, 2, 3)

const lvsSyncDaemonInterface: KeywordSpec<D> = {
  name: 'lvs_sync_daemon_interface', tier: 3,
  parse(stmt, d, ctx) {
    if (!noBlock(stmt, ctx)) return
    const w = arg(stmt, ctx, 0, 'an interface name')
    noExtraArgs(stmt, ctx, 1)
    if (w) d.lvsSyncDaemonInterface = w.text
    ctx.diags.warning(stmt.pos, 'KA_CONF_DEPRECATED', 'specifying lvs_sync_daemon_interface against a vrrp_instance is deprecated', {
      context: ctx.context, hint: `use 'lvs_sync_daemon ${w?.text ?? 'IF'} ${d.name}' in global_defs`,
    })
  },
  dump() {},
}

const T3_INSTANCE = [
  'promote_secondaries', 'unicast_ttl', 'unicast_fault_no_peer', 'mcast_dst_ip', 'track_src_ip', 'native_ipv6', 'track_bfd',
  'notify_deleted', 'notify_master_rx_lower_pri', 'notify_priority_changes', 'garp_extra_if', 'vmac_garp_intvl',
  'down_timer_adverts', 'lower_prio_no_advert', 'higher_prio_send_advert', 'use_vmac_addr', 'use_ipvlan', 'vrf',
  'old_unicast_checksum', 'kernel_rx_buf_size', 'linkbeat_use_polling', 'debug',
]

export const instanceSchema: BlockSchema<D> = {
  name: 'vrrp_instance',
  keywords: locatedAll<D>([
    state,
    iface,
    intOf('virtual_router_id', (d, n) => { d.virtualRouterId = n }, 1, 255, 1),
    intOf('priority', (d, n) => { d.priority = n }, 1, 255, 1),
    timerKeyword<D>('advert_int', 'advertInt', 10_000, 255_000_000, { tier: 1 }),
    authentication,
    virtualIpaddress,
    virtualIpaddressExcluded,
    virtualRoutes,
    virtualRules,
    sourceIpKeyword('unicast_src_ip', 'unicastSrcIp'),
    unicastPeer,
    sourceIpKeyword('mcast_src_ip', 'mcastSrcIp'),
    flagKeyword<D>('check_unicast_src', 'checkUnicastSrc'),
    version,
    flagKeyword<D>('dont_track_primary', 'dontTrackPrimary'),
    trackKeyword<D>('track_interface', 2),
    trackKeyword<D>('track_script', 2),
    trackKeyword<D>('track_file', 3),
    trackKeyword<D>('track_process', 2),
    ...NOTIFY_KEYWORDS.map(([name, key]) => notifyKeyword<D>(name, key)),
    boolKeyword<D>('smtp_alert', 'smtpAlert'),
    garpDelay('garp_master_delay', (d, us) => { d.garpMasterDelay = us }, 2),
    garpRepeat('garp_master_repeat', (d, n) => { d.garpMasterRepeat = n }, 1, 2),
    garpDelay('garp_master_refresh', (d, us) => { d.garpMasterRefresh = us }, 2),
    garpRepeat('garp_master_refresh_repeat', (d, n) => { d.garpMasterRefreshRepeat = n }, 1, 3),
    garpDelay('garp_lower_prio_delay', (d, us) => { d.garpLowerPrioDelay = us }, 3),
    garpRepeat('garp_lower_prio_repeat', (d, n) => { d.garpLowerPrioRepeat = n }, 0, 3),
    useVmac,
    flagKeyword<D>('vmac_xmit_base', 'vmacXmitBase', { tier: 3 }),
    flagKeyword<D>('nopreempt', 'nopreempt'),
    {
      name: 'preempt', tier: 2,
      parse(stmt, d, ctx) {
        if (!noBlock(stmt, ctx)) return
        noExtraArgs(stmt, ctx, 0)
        d.nopreempt = false
      },
      dump() {},
    },
    timerKeyword<D>('preempt_delay', 'preemptDelay', 0, 1000_000_000),
    {
      name: 'accept', tier: 3,
      parse(stmt, d, ctx) {
        if (noBlock(stmt, ctx)) d.accept = true
        noExtraArgs(stmt, ctx, 0)
      },
      dump() {},
    },
    {
      name: 'no_accept', tier: 3,
      parse(stmt, d, ctx) {
        if (noBlock(stmt, ctx)) d.accept = false
        noExtraArgs(stmt, ctx, 0)
      },
      dump() {},
    },
    boolKeyword<D>('skip_check_adv_addr', 'skipCheckAdvAddr'),
    boolKeyword<D>('strict_mode', 'strictMode', { tier: 3 }),
    lvsSyncDaemonInterface,
    ...T3_INSTANCE.map((k) => keptKeyword<D>(k)),
  ]),
  misplaced: {
    auth_type: "'auth_type' goes inside 'authentication { }'",
    auth_pass: "'auth_pass' goes inside 'authentication { }'",
    group: "'group' belongs in a vrrp_sync_group",
    script: "'script' belongs in a vrrp_script block; track it with 'track_script { NAME }'",
    lvs_sync_daemon: "'lvs_sync_daemon' belongs in global_defs",
  },
}

function emptyInstance(base: ReturnType<typeof namedDraft>, v: VrrpDraft): InstanceDraft {
  return {
    ...base, ...emptyTrackers(), ...emptyNotify(), state: v.state,
    initialState: undefined, interface: undefined, virtualRouterId: undefined, priority: undefined, advertInt: undefined,
    version: undefined, family: undefined, authType: undefined, authPass: undefined,
    virtualIpaddresses: [], virtualIpaddressEnd: undefined, virtualIpaddressesExcluded: [], virtualRoutes: [], virtualRules: [],
    unicastSrcIp: undefined, unicastPeers: [], mcastSrcIp: undefined,
    garpMasterDelay: undefined, garpMasterRepeat: undefined, garpMasterRefresh: undefined, garpMasterRefreshRepeat: undefined,
    garpLowerPrioDelay: undefined, garpLowerPrioRepeat: undefined, useVmac: undefined, vmacXmitBase: false,
    nopreempt: false, preemptDelay: undefined, accept: undefined, dontTrackPrimary: false, strictMode: undefined,
    skipCheckAdvAddr: undefined, checkUnicastSrc: undefined, smtpAlert: undefined, lvsSyncDaemonInterface: undefined,
    unsupported: [],
  }
}

export const instanceKeyword: KeywordSpec<VrrpDraft> = {
  name: 'vrrp_instance', tier: 1,
  parse(stmt, v, ctx) {
    const header = readHeader(stmt, ctx, v.instances)
    if (!header) return
    const d = emptyInstance(namedDraft(stmt, header, v.state), v)
    applySchema(instanceSchema, header.body, d, childContext(ctx, `vrrp_instance ${header.name}`))
    v.instances.push(d)
  },
  dump() {},
}
