/** `global_defs` (reference §1.2). Timers are in microseconds. */
import type { RawStatement, ScriptSpec } from '../schema.js'

export interface SmtpServer {
  readonly host: string
  readonly port: number
}

export interface SyncDaemon {
  readonly interface: string
  /** The vrrp_instance whose state starts and stops the daemon. */
  readonly instance: string | undefined
  readonly id: number | undefined
  readonly maxlen: number | undefined
  readonly port: number | undefined
  readonly ttl: number | undefined
  readonly group: string | undefined
}

export interface LvsTimeouts {
  readonly tcp: number | undefined
  readonly tcpfin: number | undefined
  readonly udp: number | undefined
}

export interface NotifyFifo {
  readonly path: string
  readonly user: string | undefined
  readonly group: string | undefined
}

export interface GlobalDefs {
  readonly notificationEmail: readonly string[] | undefined
  readonly notificationEmailFrom: string | undefined
  readonly smtpServer: SmtpServer | undefined
  readonly smtpHeloName: string | undefined
  readonly smtpConnectTimeout: number | undefined
  readonly smtpAlert: boolean | undefined
  readonly smtpAlertVrrp: boolean | undefined
  readonly smtpAlertChecker: boolean | undefined
  readonly routerId: string | undefined
  readonly checkerLogAllFailures: boolean | undefined
  readonly vrrpMcastGroup4: string | undefined
  readonly vrrpMcastGroup6: string | undefined
  readonly lvsSyncDaemon: SyncDaemon | undefined
  readonly lvsTimeouts: LvsTimeouts | undefined
  readonly lvsFlush: boolean | undefined
  readonly lvsFlushOnStop: boolean | undefined
  readonly vrrpGarpMasterDelay: number | undefined
  readonly vrrpGarpMasterRepeat: number | undefined
  readonly vrrpGarpMasterRefresh: number | undefined
  readonly vrrpGarpMasterRefreshRepeat: number | undefined
  readonly vrrpGarpLowerPrioDelay: number | undefined
  readonly vrrpGarpLowerPrioRepeat: number | undefined
  readonly vrrpGarpInterval: number | undefined
  readonly vrrpGnaInterval: number | undefined
  readonly vrrpMinGarp: boolean | undefined
  readonly vrrpDownTimerAdverts: number | undefined
  readonly vrrpLowerPrioNoAdvert: boolean | undefined
  readonly vrrpHigherPrioSendAdvert: boolean | undefined
  readonly vrrpVersion: 2 | 3 | undefined
  readonly vrrpCheckUnicastSrc: boolean | undefined
  readonly vrrpSkipCheckAdvAddr: boolean | undefined
  readonly vrrpStrict: boolean | undefined
  readonly vrrpStartupDelay: number | undefined
  readonly scriptUser: { readonly user: string; readonly group: string | undefined } | undefined
  readonly enableScriptSecurity: boolean | undefined
  readonly notifyFifo: NotifyFifo | undefined
  readonly vrrpNotifyFifo: NotifyFifo | undefined
  readonly lvsNotifyFifo: NotifyFifo | undefined
  readonly defaultInterface: string | undefined
  readonly startupScript: ScriptSpec | undefined
  readonly shutdownScript: ScriptSpec | undefined
  /**
   * keepalived-ts only (not a keepalived keyword): `metrics_address ADDRESS:PORT`,
   * where the Prometheus text is served; off when absent.
   */
  readonly metricsAddress: MetricsAddress | undefined
  /** T3 keywords, kept as written. */
  readonly unsupported: readonly RawStatement[]
}

/** keepalived-ts only: the Prometheus listen address (an IP literal and a port). */
export interface MetricsAddress {
  readonly host: string
  readonly port: number
}

export function emptyGlobalDefs(): GlobalDefs {
  return {
    notificationEmail: undefined, notificationEmailFrom: undefined, smtpServer: undefined, smtpHeloName: undefined,
    smtpConnectTimeout: undefined, smtpAlert: undefined, smtpAlertVrrp: undefined, smtpAlertChecker: undefined,
    routerId: undefined, checkerLogAllFailures: undefined, vrrpMcastGroup4: undefined, vrrpMcastGroup6: undefined,
    lvsSyncDaemon: undefined, lvsTimeouts: undefined, lvsFlush: undefined, lvsFlushOnStop: undefined,
    vrrpGarpMasterDelay: undefined, vrrpGarpMasterRepeat: undefined, vrrpGarpMasterRefresh: undefined,
    vrrpGarpMasterRefreshRepeat: undefined, vrrpGarpLowerPrioDelay: undefined, vrrpGarpLowerPrioRepeat: undefined,
    vrrpGarpInterval: undefined, vrrpGnaInterval: undefined, vrrpMinGarp: undefined, vrrpDownTimerAdverts: undefined,
    vrrpLowerPrioNoAdvert: undefined, vrrpHigherPrioSendAdvert: undefined, vrrpVersion: undefined,
    vrrpCheckUnicastSrc: undefined, vrrpSkipCheckAdvAddr: undefined, vrrpStrict: undefined, vrrpStartupDelay: undefined,
    scriptUser: undefined, enableScriptSecurity: undefined, notifyFifo: undefined, vrrpNotifyFifo: undefined,
    lvsNotifyFifo: undefined, defaultInterface: undefined, startupScript: undefined, shutdownScript: undefined,
    metricsAddress: undefined, unsupported: [],
  }
}
