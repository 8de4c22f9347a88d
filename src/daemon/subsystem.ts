/**
 * The contract between the process shell and what runs inside it. A subsystem
 * is what keepalived runs in a child process (VRRP, checkers); each runs in a
 * child forked by the parent (src/daemon/child.ts drives it there).
 */
import type { Config } from '../config/config.js'
import type { Logger } from '../log/logger.js'
import type { CheckersStatus, VrrpStateName, VrrpStatus } from '../status/types.js'

export type SubsystemRole = 'vrrp' | 'checkers'

/** The command-line choices a subsystem honours (reference §3.1). */
export interface SubsystemOptions {
  /** `-D`. */
  readonly logDetail: boolean
  /** `-X`: drop VIPs on a transition caused by a signal (reload). */
  readonly releaseVips: boolean
  /** `-V`: keep VIPs, routes and rules at exit. */
  readonly dontReleaseVrrp: boolean
  /** `-I`: keep the IPVS table at exit. */
  readonly dontReleaseIpvs: boolean
  /** `-a`: log every address change netlink reports. */
  readonly addressMonitoring: boolean
}

/** What the shell hands a subsystem when it creates it. */
export interface SubsystemContext {
  readonly role: SubsystemRole
  /** Logs as `Keepalived_vrrp` / `Keepalived_healthcheckers`. */
  readonly log: Logger
  readonly options: SubsystemOptions
  /**
   * Ask the daemon to stop, e.g. after an unrecoverable socket error; `exitCode`
   * uses keepalived's daemon codes ({@link EXIT}). Safe to call more than once.
   */
  requestStop(exitCode: number, reason: string): void
}

/**
 * One subsystem. The shell calls `start` once after `Startup` lines and pid
 * files, `reload` on SIGHUP with a configuration that loaded without fatal
 * errors, `dumpData` on SIGUSR1, `dumpStats` on SIGUSR2, and `stop` once on
 * SIGTERM/SIGINT (bounded by the shell: 5 s, keepalived's child_wait_time).
 */
/**
 * What a restarted child is told about the one that died (reference §3.4
 * respawn): the VRRP states it last reported, so a healthy MASTER resumes as
 * MASTER (VIPs kept, no flap); the checker side adopts the kernel's table
 * as it stands.
 */
export interface StartHints {
  /** True when this start replaces a child that died. */
  readonly respawn: boolean
  /** VRRP: each instance's last state reported by the previous child. */
  readonly vrrpStates?: Readonly<Record<string, VrrpStateName>>
}

export interface Subsystem {
  start(config: Config, hints?: StartHints): Promise<void>
  stop(): Promise<void>
  /** SIGHUP with a configuration that loaded without fatal errors: apply only the difference. */
  reload?(config: Config): Promise<void>
  /** For `keepalived-ts status`, metrics and dumps. */
  status?(): VrrpStatus | CheckersStatus
  /** VRRP: called on every instance state change (the shell forwards it to the parent for respawn hints). */
  onStateChange?(listener: (instance: string, state: VrrpStateName) => void): void
  /**
   * SIGUSR1: keepalived writes /tmp/keepalived.data (VRRP) or /tmp/keepalived_check.data.
   * The shell (src/daemon/child.ts) logs keepalived's `Printing … for process(%d) on signal`
   * line before each dump call; the subsystem writes the file only.
   */
  dumpData?(): void
  /** SIGUSR2: keepalived writes /tmp/keepalived.stats; `clear` (SIGRTMAX-1, STATS_CLEAR) then zeroes the counters. */
  dumpStats?(clear?: boolean): void
  /** The JSON signal (SIGRTMIN+2): keepalived writes /tmp/keepalived.json (VRRP). */
  dumpJson?(): void
}

export type SubsystemFactory = (ctx: SubsystemContext) => Subsystem

/** Which factory runs each role; a missing role is "not available in this build". */
export type SubsystemRegistry = Partial<Record<SubsystemRole, SubsystemFactory>>

/** keepalived's daemon exit codes (reference §3.1). */
export const EXIT = {
  OK: 0,
  FATAL: 1,
  CONFIG: 2,
  MISSING_PERMISSION: 4,
  NO_CONFIG: 6,
  PROGRAM_ERROR: 70,
} as const

/** The names keepalived's lifecycle lines use for each role. */
export const ROLE_NAMES: Readonly<Record<SubsystemRole, string>> = {
  vrrp: 'VRRP',
  checkers: 'Healthcheck',
}
