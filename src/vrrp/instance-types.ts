/**
 * The data of the VRRP instance state machine: its state, the events the
 * runtime feeds it and the actions it returns (reference §5.4). Times are
 * integer microseconds on the runtime's monotonic clock.
 */
import type { GarpRound } from './garp-schedule.js'
import type { InstanceParams } from './params.js'

/** keepalived's states; STOP is the internal state after shutdown. */
export type VrrpStateName = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP'

/** Deadlines (absolute µs) the runtime must call back for, with a `timer` event. */
export interface InstanceDeadlines {
  /** MASTER: when to send the next advert. */
  readonly advert: number | undefined
  /** BACKUP: when the master is declared down (keepalived's `sands`). */
  readonly masterDown: number | undefined
  /** MASTER: the second GARP round after becoming master. */
  readonly garpMasterDelayed: number | undefined
  /** MASTER: the second GARP round after a lower-priority advert. */
  readonly garpLowerPrioDelayed: number | undefined
}

export interface InstanceState {
  readonly params: InstanceParams
  readonly state: VrrpStateName
  /** The state this instance would be in disregarding its sync group. */
  readonly wantState: VrrpStateName
  /** The configured priority, lowered to 254 after an owner conflict. */
  readonly basePriority: number
  /** The priority advertised and used for the skew: base + tracking, 1..254 (owners: base). */
  readonly effectivePriority: number
  /** Master_Adver_Interval in µs (v3 backups learn it from the master). */
  readonly masterAdverInt: number
  /** keepalived's ms_down_timer: what the backup deadline was last set from. */
  readonly msDownTimer: number
  readonly deadlines: InstanceDeadlines
  /** MASTER: the first advert at or after this time also sends a GARP refresh round. */
  readonly garpRefreshAt: number | undefined
  /** BACKUP with preempt_delay: preemption is allowed once this time has passed. */
  readonly preemptAt: number | undefined
  /** Active fault causes (keepalived's num_script_if_fault), e.g. `interface eth0`. */
  readonly faults: readonly string[]
  /** Weight-0 trackers that have not reported yet (keepalived's num_script_init). */
  readonly initPending: readonly string[]
  /** Whether our VIPs (and routes, rules) are installed. */
  readonly vipsSet: boolean
  /** Backup side: the master we last accepted an advert from. */
  readonly masterAddress: string | undefined
  readonly masterPriority: number | undefined
  /** With `vrrp_startup_delay`: backup timers start no earlier than this. */
  readonly startupUntil: number | undefined
  /**
   * BACKUP: why the running master-down timer would make us MASTER when it
   * expires, if not plain silence (a priority-0 advert, a lower priority we
   * preempt, the address owner starting); the transition's reason.
   */
  readonly downReason: string | undefined
}

/** Start the instance: what INIT does in keepalived's vrrp_init_state(). */
export interface StartEvent {
  readonly type: 'start'
  readonly now: number
  /** Fault causes already known, with the reason line keepalived logs at start. */
  readonly faults?: readonly { readonly cause: string; readonly reason: string }[]
  /** Weight-0 trackers with no result yet: the instance waits in FAULT, silently. */
  readonly initPending?: readonly string[]
  /** Effective priority from tracking at start (defaults to the base priority). */
  readonly priority?: number
}

/** An advert that passed validation (wire codec and advert-check are someone else's). */
export interface AdvertEvent {
  readonly type: 'advert'
  readonly now: number
  /** Source address of the advert. */
  readonly from: string
  readonly priority: number
  /** The advertised interval in µs (v3 Max Adver Int × 10 ms; v2 seconds × 10⁶). */
  readonly adverInt: number
  /** Our own source address for the equal-priority tie-break (configured src or interface primary). */
  readonly ourAddress: string | undefined
}

/** A deadline reported by {@link nextDeadline} has come. */
export interface TimerEvent {
  readonly type: 'timer'
  readonly now: number
}

/** New effective priority from tracking (already clamped to 1..254 by tracking). */
export interface PriorityEvent {
  readonly type: 'priority'
  readonly now: number
  readonly priority: number
}

/** A fault cause appears or clears (interface down, weight-0 script failed, …). */
export interface FaultEvent {
  readonly type: 'fault'
  readonly now: number
  readonly cause: string
  readonly active: boolean
}

/** A weight-0 tracker reported its first result: one fewer reason to wait in INIT. */
export interface TrackerReadyEvent {
  readonly type: 'trackerReady'
  readonly now: number
  readonly cause: string
}

/** The sync group moves this member (vrrp_sync.c). */
export interface SyncEvent {
  readonly type: 'sync'
  readonly now: number
  readonly state: 'MASTER' | 'BACKUP' | 'FAULT'
  /** The group's name, for the transition's reason. */
  readonly group?: string
}

/** Shutdown: a MASTER sends priority 0 and releases its VIPs; every instance notifies STOP. */
export interface StopEvent {
  readonly type: 'stop'
  readonly now: number
}

/**
 * Instead of `start`, after the VRRP process was restarted (respawn) while
 * this instance was MASTER: take MASTER at once — an advert now, the VIPs
 * re-asserted, one GARP / NA burst — so a healthy master does not flap. With
 * a fault it starts as `start` would. Weight-0 trackers without a result do
 * not hold it back: their first result decides, as for a running instance.
 */
export interface ResumeEvent {
  readonly type: 'resume'
  readonly now: number
  readonly faults?: readonly { readonly cause: string; readonly reason: string }[]
  readonly priority?: number
}

/**
 * SIGHUP, for an instance matched to one of the new configuration (reload
 * semantics, reference §5.17): new parameters, the state kept. A MASTER stays
 * MASTER with its VIPs (the runtime applies the address diff); new faults
 * take it down as tracking would; cleared faults let a FAULT instance up.
 */
export interface ReloadEvent {
  readonly type: 'reload'
  readonly now: number
  readonly params: InstanceParams
  readonly faults: readonly { readonly cause: string; readonly reason: string }[]
  readonly initPending: readonly string[]
  /** Effective priority from tracking with the new configuration. */
  readonly priority: number
}

/** SIGHUP removed the instance: a MASTER sends priority 0 and releases its VIPs; FAULT is notified. */
export interface DeleteEvent {
  readonly type: 'delete'
  readonly now: number
}

export type InstanceEvent =
  | StartEvent | AdvertEvent | TimerEvent | PriorityEvent | FaultEvent | TrackerReadyEvent | SyncEvent | StopEvent
  | ResumeEvent | ReloadEvent | DeleteEvent

/** How the sync group constrains a member's step (vrrp_sync_can_goto_master, num_member_fault). */
export interface StepOptions {
  /** False when another member of the group does not want MASTER: stay BACKUP. */
  readonly mayBecomeMaster?: boolean
  /** True when another member of the group still has a fault: stay FAULT. */
  readonly groupFaulted?: boolean
}

/** A log line without the process prefix; `detail` lines are printed only with -D. */
export interface LogAction {
  readonly type: 'log'
  readonly line: string
  readonly detail: boolean
}

/** Send one advert now with this priority (0 on stop/fault). */
export interface SendAdvertAction {
  readonly type: 'sendAdvert'
  readonly priority: number
}

/**
 * Install, in keepalived's order, the firewall drop rule (no accept), VIPs,
 * eVIPs, virtual routes and virtual rules.
 */
export interface AddVipsAction {
  readonly type: 'addVips'
}

/** Remove, in keepalived's order, virtual rules, routes, VIPs, eVIPs and the drop rule; cancel queued GARPs. */
export interface RemoveVipsAction {
  readonly type: 'removeVips'
}

/** Send `repeat` gratuitous ARPs / unsolicited NAs for every VIP and eVIP (the runtime logs them). */
export interface GarpAction {
  readonly type: 'garp'
  readonly round: GarpRound
  readonly repeat: number
}

/** Leaving FAULT with unicast: one GARP/NA for our source address so the peer relearns our MAC. */
export interface SourceGarpAction {
  readonly type: 'sourceGarp'
}

/** Run the notify plan for this state (see notify-plan.ts) with this priority. */
export interface NotifyAction {
  readonly type: 'notify'
  readonly state: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP'
  readonly priority: number
}

/** A notify event that is not a state: `notify_master_rx_lower_pri` and the FIFO line. */
export interface NotifyEventAction {
  readonly type: 'notifyEvent'
  readonly event: 'MASTER_RX_LOWER_PRI'
  readonly priority: number
}

export type StatCounter = 'becomeMaster' | 'releaseMaster' | 'priorityZeroSent' | 'priorityZeroReceived'

export interface StatAction {
  readonly type: 'stat'
  readonly counter: StatCounter
}

/**
 * The instance changed state (always the last action of its step): for
 * listeners, the status' "since" and "why", the transition counter and the
 * LVS sync daemon. `reason` is a few words for an operator.
 */
export interface TransitionAction {
  readonly type: 'transition'
  readonly from: VrrpStateName
  readonly to: VrrpStateName
  readonly reason: string
}

export type InstanceAction =
  | LogAction | SendAdvertAction | AddVipsAction | RemoveVipsAction | GarpAction | SourceGarpAction
  | NotifyAction | NotifyEventAction | StatAction | TransitionAction

export interface StepResult {
  readonly state: InstanceState
  readonly actions: readonly InstanceAction[]
}
