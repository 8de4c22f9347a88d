/**
 * One virtual server's pool, as keepalived 2.2.7's ipwrapper.c decides it:
 * which real servers are alive, the quorum over their weights (with
 * hysteresis), the sorry server that replaces them while the quorum is lost,
 * inhibit_on_failure (weight 0 instead of removal), dynamic weights, and the
 * notify / quorum scripts each change fires (never run here: returned as
 * {@link PoolEvent}s, with keepalived's log lines, in a {@link PoolChange}).
 *
 * The kernel side is declarative: {@link VirtualServerPool.pool} is the set of
 * destinations (server and weight) the kernel should hold now, which the IPVS
 * reconcile applies. keepalived's ipvs_cmd() rules are folded into it: an
 * inhibited real server is always present (weight 0 unless alive and pushed),
 * a change while the sorry server stands in for the pool is recorded but not
 * pushed, a sorry_server_inhibit sorry server is pre-added with weight 0.
 *
 * Quirks kept on purpose (update_quorum_state): the quorum starts down
 * (set_quorum_states() runs before any real server is alive), so a virtual
 * server that has it at start-up logs `Gained quorum …` and runs quorum_up;
 * `Starting with quorum down q-h=T` prints T = quorum + hysteresis, the
 * threshold it must reach. A reload builds the new configuration's pool with
 * each kept real server's carried state and calls {@link
 * VirtualServerPool.resume} instead of start(); what it drops goes through
 * {@link VirtualServerPool.retire} on the old pool.
 */
import type { RealServer, SorryServer, VirtualServer } from '../config/lvs/model.js'
import type { ScriptSpec } from '../config/schema.js'
import { RealServerHealth, type RealServerInput, realWeight } from './real-server.js'

/** alloc_ssvr(): a sorry server always has weight 1. */
export const SORRY_SERVER_WEIGHT = 1

/** A destination the kernel should hold for this virtual server, with its weight (0 = inhibited). */
export interface PoolEntry {
  readonly server: RealServer | SorryServer
  readonly weight: number
}

/** A real server went up or down: its notify_up / notify_down (if any) and the LVS FIFO line `RS <rs> <vs> UP|DOWN`. */
export interface RealServerNotify {
  readonly kind: 'real-server'
  readonly vs: string
  readonly rs: string
  readonly up: boolean
  readonly script: ScriptSpec | undefined
  /** At shutdown (omega): keepalived gives the script one second. */
  readonly stopping: boolean
}

/** The quorum was gained or lost: quorum_up / quorum_down (if any) and the LVS FIFO line `VS <vs> UP|DOWN`. */
export interface QuorumNotify {
  readonly kind: 'virtual-server'
  readonly vs: string
  readonly up: boolean
  readonly script: ScriptSpec | undefined
  readonly stopping: boolean
}

export type PoolEvent = RealServerNotify | QuorumNotify

/** What one step produced: keepalived's lines to log and the notifications to fire, in order. */
export interface PoolChange {
  readonly lines: readonly string[]
  readonly events: readonly PoolEvent[]
}

export interface VirtualServerInput {
  readonly config: VirtualServer
  /** keepalived's text for it: `[10.0.0.1]:tcp:80`, `FWM 5`, `[GROUP]:80`. */
  readonly text: string
  /** One per configured real server, in config order. */
  readonly realServers: readonly RealServerInput[]
  /** keepalived's text for the sorry server (rsText()); without it `[address]:proto:port` is used. */
  readonly sorryServerText?: string
  /** global_defs rs_init_notifies: fire notify_up for the real servers alive at start-up. */
  readonly rsInitNotifies?: boolean
}

export interface RealServerStatus {
  readonly text: string
  readonly alive: boolean
  /** The weight it has (or will have) in the pool when alive. */
  readonly weight: number
  readonly effectiveWeight: number
  readonly failedCheckers: number
  readonly checkers: readonly { readonly id: string; readonly up: boolean; readonly hasRun: boolean }[]
}

export interface VirtualServerStatus {
  readonly text: string
  readonly quorumUp: boolean
  readonly sorryServerActive: boolean
  /** weigh_live_realservers(). */
  readonly weightSum: number
  readonly realServers: readonly RealServerStatus[]
}

interface Changes {
  readonly lines: string[]
  readonly events: PoolEvent[]
}

const NOTHING: PoolChange = { lines: [], events: [] }

export class VirtualServerPool {
  readonly config: VirtualServer
  readonly text: string
  private readonly sorryText: string
  private readonly rsInitNotifies: boolean
  private readonly realServers: readonly RealServerHealth[]
  private readonly byChecker = new Map<string, RealServerHealth>()
  /** The real server the sorry server duplicates (s_svr_duplicates_rs), if any. */
  private readonly sorryTwin: RealServerHealth | undefined
  private phase: 'new' | 'running' | 'stopped' = 'new'
  /** Real servers a reload dropped: out of the pool for good. */
  private readonly retired = new Set<RealServerHealth>()
  private quorumUp = false
  private sorryAlive = false
  /** Counts changes that can change {@link pool}: the IPVS side reconciles only when it moved. */
  private changes = 0

  constructor(input: VirtualServerInput) {
    this.config = input.config
    this.text = input.text
    this.rsInitNotifies = input.rsInitNotifies ?? false
    const sorry = input.config.sorryServer
    const proto = input.config.protocol?.toLowerCase() ?? 'none'
    this.sorryText = input.sorryServerText ?? (sorry ? `[${sorry.address}]:${proto}:${sorry.port}` : '')
    this.realServers = input.realServers.map((rs) => new RealServerHealth(rs))
    for (const rs of this.realServers) for (const id of rs.checkerIds()) this.byChecker.set(id, rs)
    this.sorryTwin = sorry && this.realServers.find((rs) => rs.config.address === sorry.address && rs.config.port === sorry.port)
  }

  /**
   * Moves whenever {@link pool} may have changed (a real server's aliveness or
   * weight, the sorry server, start, reload, stop); a checker verdict that
   * changes nothing (a first success, say) leaves it, and the kernel alone.
   */
  get revision(): number {
    return this.changes
  }

  /** Whether the real server at `index` (config order) is alive, without building status(). */
  isAlive(index: number): boolean | undefined {
    return this.realServers[index]?.alive
  }

  /** The checker ids this virtual server listens to. */
  checkerIds(): string[] {
    return [...this.byChecker.keys()]
  }

  /**
   * Start-up (init_service_vs): every real server without a failed checker
   * is alive (alpha ones are not), then the quorum is evaluated.
   */
  start(): PoolChange {
    if (this.phase !== 'new') return NOTHING
    this.changes++
    this.phase = 'running'
    const out: Changes = { lines: [], events: [] }
    this.quorumUp = this.weightSum() >= this.config.quorum + this.config.hysteresis
    for (const rs of this.realServers) {
      if (rs.failedCheckers > 0) continue
      rs.alive = true
      if (this.rsInitNotifies) this.notifyRealServer(rs, false, out)
    }
    this.updateQuorum(true, out)
    return out
  }

  /**
   * Reload (clear_diff_services, then init_service_vs on a kept virtual
   * server): go on from the previous configuration's quorum and sorry server
   * state instead of start(). Kept real servers (built with `carried`) keep
   * their aliveness: one whose checkers now all pass comes up (`Adding
   * service …`), one with a failed checker leaves without a line (as in
   * migrate_checkers), a changed configured weight is logged `Changing
   * weight from …`. New real servers join as at start-up. Then the quorum,
   * with keepalived's `init` wording.
   */
  resume(previous: { readonly quorumUp: boolean; readonly sorryAlive: boolean }): PoolChange {
    if (this.phase !== 'new') return NOTHING
    this.changes++
    this.phase = 'running'
    this.quorumUp = previous.quorumUp
    this.sorryAlive = previous.sorryAlive && this.config.sorryServer !== undefined
    const out: Changes = { lines: [], events: [] }
    for (const rs of this.realServers) {
      const carried = rs.carried
      if (!carried) {
        if (rs.failedCheckers > 0) continue
        rs.alive = true
        if (this.rsInitNotifies) this.notifyRealServer(rs, false, out)
        continue
      }
      if (rs.failedCheckers === 0 && !rs.alive) this.perform(rs, true, out)
      else if (rs.failedCheckers > 0 && rs.alive) rs.alive = false
      if (carried.weight !== rs.config.weight) {
        const before = rs.weight
        rs.effectiveWeight = rs.config.weight
        if (rs.weight !== before) {
          out.lines.push(`Changing weight from ${before} to ${rs.weight} for ${rs.alive ? '' : 'in'}active service ${rs.text} of VS ${this.text}`)
        }
      }
    }
    this.updateQuorum(true, out)
    return out
  }

  /**
   * Reload: real servers the new configuration drops (clear_diff_rs:
   * `service … no longer exist`), or every one when the virtual server itself
   * goes (clear_service_vs, after the caller's `Removing Virtual Server …`).
   * One in the kernel logs `Removing [(inhibited) ]service …`; an alive one
   * in the kernel fires its down notifications. A removed virtual server that
   * had its quorum loses it (quorum_down, `VS … DOWN`).
   */
  retire(indexes: readonly number[] | 'all'): PoolChange {
    if (this.phase !== 'running') return NOTHING
    this.changes++
    const out: Changes = { lines: [], events: [] }
    const whole = indexes === 'all'
    const sorryActive = this.sorryActive()
    const picked = whole ? this.realServers : indexes.map((i) => this.realServers[i]).filter((rs) => rs !== undefined)
    for (const rs of picked) {
      if (this.retired.has(rs)) continue
      this.retired.add(rs)
      if (!whole) out.lines.push(`service ${rs.text} no longer exist`)
      const inKernel = rs.inhibit || (rs.alive && !sorryActive)
      if (!inKernel) continue
      out.lines.push(`Removing ${rs.inhibit && !rs.alive ? '(inhibited) ' : ''}service ${rs.text} from VS ${this.text}`)
      if (!rs.alive) continue
      rs.alive = false
      this.notifyRealServer(rs, false, out)
    }
    if (whole) {
      if (this.quorumUp) out.events.push({ kind: 'virtual-server', vs: this.text, up: false, script: this.config.quorumDown, stopping: false })
      this.quorumUp = false
      this.sorryAlive = false
      this.phase = 'stopped'
    }
    return out
  }

  /** A checker's verdict (CheckerDecision.verdict): update_svr_checker_state(). */
  checkerVerdict(checkerId: string, up: boolean): PoolChange {
    const rs = this.running(checkerId)
    if (!rs) return NOTHING
    const out: Changes = { lines: [], events: [] }
    const effect = rs.verdict(checkerId, up)
    if (effect.notify) this.notifyRealServer(rs, false, out)
    if (effect.perform !== undefined) this.perform(rs, effect.perform, out)
    return out
  }

  /** A weight from a checker (misc_dynamic, FILE_CHECK): update_svr_wgt(). */
  checkerWeight(checkerId: string, weight: number): PoolChange {
    const rs = this.running(checkerId)
    if (!rs) return NOTHING
    const out: Changes = { lines: [], events: [] }
    const before = rs.weight
    rs.effectiveWeight = weight
    if (rs.weight === before) return out
    this.changes++
    out.lines.push(`Changing weight from ${before} to ${rs.weight} for ${rs.alive ? '' : 'in'}active service ${rs.text} of VS ${this.text}`)
    this.updateQuorum(false, out)
    return out
  }

  /**
   * Shutdown (clear_service_vs with `stopping`): every real server is taken
   * out; with `omega` the real servers that were alive in the pool fire their
   * down notifications and the virtual server its quorum_down, whatever its
   * quorum was.
   */
  shutdown(): PoolChange {
    if (this.phase !== 'running') return NOTHING
    this.changes++
    const out: Changes = { lines: [], events: [] }
    const sorryActive = this.sorryActive()
    for (const rs of this.realServers) {
      out.lines.push(`Shutting down ${rs.inhibit && !rs.alive ? '(inhibited) ' : ''}service ${rs.text} from VS ${this.text}`)
      // Only a real server in the kernel (rs->set) and alive goes on to its notifications.
      const inKernel = rs.inhibit || (rs.alive && !sorryActive)
      if (!inKernel || !rs.alive) continue
      rs.alive = false
      if (this.config.omega) this.notifyRealServer(rs, true, out)
    }
    this.quorumUp = false
    this.sorryAlive = false
    if (this.config.omega) {
      out.events.push({ kind: 'virtual-server', vs: this.text, up: false, script: this.config.quorumDown, stopping: true })
    }
    this.phase = 'stopped'
    return out
  }

  /** The destinations the kernel should hold for this virtual server now. */
  pool(): readonly PoolEntry[] {
    if (this.phase !== 'running') return []
    const entries: PoolEntry[] = []
    const sorry = this.config.sorryServer
    const sorryActive = this.sorryActive()
    for (const rs of this.realServers) {
      if (this.retired.has(rs) || (sorryActive && rs === this.sorryTwin)) continue
      // Displaced by the sorry server, only inhibited real servers stay (at weight 0).
      if (rs.alive && !sorryActive) entries.push({ server: rs.config, weight: rs.weight })
      else if (rs.inhibit) entries.push({ server: rs.config, weight: 0 })
    }
    if (sorry && sorryActive) entries.push({ server: sorry, weight: SORRY_SERVER_WEIGHT })
    else if (sorry && sorry.inhibit && !this.sorryTwin) entries.push({ server: sorry, weight: 0 })
    return entries
  }

  status(): VirtualServerStatus {
    return {
      text: this.text,
      quorumUp: this.quorumUp,
      sorryServerActive: this.sorryActive(),
      weightSum: this.weightSum(),
      realServers: this.realServers.map((rs) => ({
        text: rs.text,
        alive: rs.alive,
        weight: rs.weight,
        effectiveWeight: rs.effectiveWeight,
        failedCheckers: rs.failedCheckers,
        checkers: rs.checkerIds().map((id) => {
          const c = rs.checker(id)!
          return { id, up: c.up, hasRun: c.hasRun }
        }),
      })),
    }
  }

  private running(checkerId: string): RealServerHealth | undefined {
    if (this.phase === 'new') throw new Error(`virtual server ${this.text}: start() must come before checker results`)
    return this.phase === 'running' ? this.byChecker.get(checkerId) : undefined
  }

  private sorryActive(): boolean {
    return this.config.sorryServer !== undefined && this.sorryAlive
  }

  /** weigh_live_realservers(). */
  private weightSum(): number {
    let sum = 0
    for (const rs of this.realServers) if (rs.alive) sum += realWeight(rs.effectiveWeight)
    return sum
  }

  /** perform_svr_state(): the line is logged even when the sorry server keeps the change out of the kernel. */
  private perform(rs: RealServerHealth, alive: boolean, out: Changes): void {
    if (rs.alive === alive) return
    const verb = alive ? (rs.inhibit ? 'Enabling' : 'Adding') : (rs.inhibit ? 'Disabling' : 'Removing')
    const preposition = rs.inhibit ? 'of' : alive ? 'to' : 'from'
    out.lines.push(`${verb} service ${rs.text} ${preposition} VS ${this.text}`)
    rs.alive = alive
    this.changes++
    this.notifyRealServer(rs, false, out)
    this.updateQuorum(false, out)
  }

  /** update_quorum_state(), with keepalived's arithmetic in the lines. */
  private updateQuorum(init: boolean, out: Changes): void {
    const { quorum, hysteresis, sorryServer } = this.config
    const sum = this.weightSum()
    const threshold = quorum + (this.quorumUp ? -1 : 1) * hysteresis
    if (!this.quorumUp && sum >= threshold) {
      this.quorumUp = true
      out.lines.push(`Gained quorum ${quorum}+${hysteresis}=${threshold} <= ${sum} for VS ${this.text}`)
      if (sorryServer && this.sorryAlive) {
        out.lines.push(`${sorryServer.inhibit ? 'Disabling' : 'Removing'} sorry server ${this.sorryText} from VS ${this.text}`)
        this.sorryAlive = false
        this.changes++
        out.lines.push(`Adding alive servers to the pool for VS ${this.text}`)
      }
      out.events.push({ kind: 'virtual-server', vs: this.text, up: true, script: this.config.quorumUp, stopping: false })
      return
    }
    const lost = this.quorumUp && (sum === 0 || sum < threshold)
    const startingWithSorry = init && !this.quorumUp && sorryServer !== undefined && !this.sorryAlive
    if (!lost && !startingWithSorry) return
    this.quorumUp = false
    out.lines.push(`${init ? 'Starting with quorum down' : 'Lost quorum'} ${quorum}-${hysteresis}=${threshold} > ${sum} for VS ${this.text}`)
    if (sorryServer && !this.sorryAlive) {
      out.lines.push(`${sorryServer.inhibit ? 'Enabling' : 'Adding'} sorry server ${this.sorryText} to VS ${this.text}`)
      out.lines.push(`Removing alive servers from the pool for VS ${this.text}`)
      this.sorryAlive = true
      this.changes++
    }
    out.events.push({ kind: 'virtual-server', vs: this.text, up: false, script: this.config.quorumDown, stopping: false })
  }

  /** do_rs_notifies(): the script for the real server's current state. */
  private notifyRealServer(rs: RealServerHealth, stopping: boolean, out: Changes): void {
    out.events.push({
      kind: 'real-server',
      vs: this.text,
      rs: rs.text,
      up: rs.alive,
      script: rs.alive ? rs.config.notifyUp : rs.config.notifyDown,
      stopping,
    })
  }
}
