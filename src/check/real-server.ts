/**
 * One real server's health as keepalived's ipwrapper.c keeps it: each of its
 * checkers up or down (`is_up`, `has_run`), the count of failed ones
 * (`num_failed_checkers`), whether it is alive, and its effective weight.
 *
 * A real server is alive only when none of its checkers has failed; one with
 * no checker is always alive. An `alpha` checker starts failed, so its real
 * server starts out of the pool. {@link RealServerHealth.verdict} is
 * update_svr_checker_state() / set_checker_state(): it says whether the real
 * server must now go up or down (perform_svr_state(), which the virtual
 * server does, with its quorum) and whether a first result that changed
 * nothing must still fire the real server's notifications. A reload carries
 * a kept real server's state in ({@link RealServerCarried}, each checker's
 * {@link CheckerInitial}); a respawn starts its checkers from what the kernel
 * table shows. Pure.
 */
import type { RealServer } from '../config/lvs/model.js'

/** keepalived's IPVS_WEIGHT_LIMIT (INT32_MAX). */
export const IPVS_WEIGHT_LIMIT = 2147483647

/** keepalived's real_weight(): an effective weight (which a FILE_CHECK may push out of range) as IPVS takes it. */
export function realWeight(effective: number): number {
  if (!(effective > 0)) return 0
  return Math.min(Math.trunc(effective), IPVS_WEIGHT_LIMIT)
}

/** A checker's health, as carried across a reload or adopted from the kernel at a respawn. */
export interface CheckerInitial {
  readonly up: boolean
  readonly hasRun: boolean
}

/** A checker of a real server, as the pool needs to know it. */
export interface CheckerRef {
  /** The CheckerRunner id. */
  readonly id: string
  readonly alpha: boolean
  /** Start from this health instead of keepalived's start-up rule (alpha: down). */
  readonly initial?: CheckerInitial
}

/** A real server kept by a reload: what the previous configuration's pool knew of it. */
export interface RealServerCarried {
  readonly alive: boolean
  /** Its effective weight then (a dynamic checker's weight included). */
  readonly effectiveWeight: number
  /** Its configured weight then: a change is applied (and logged) by the pool's resume(). */
  readonly weight: number
}

export interface RealServerInput {
  readonly config: RealServer
  /** keepalived's text for it in its virtual server: `[10.0.0.2]:tcp:8080`. */
  readonly text: string
  /** The checkers that run for it (a checker kind that is not run must not be listed: it would never come up). */
  readonly checkers: readonly CheckerRef[]
  /** Reload: the state it had under the previous configuration. */
  readonly carried?: RealServerCarried
  /** Respawn: the effective weight the kernel shows for it (a dynamic weight the previous process had set). */
  readonly effectiveWeight?: number
}

export interface CheckerHealth {
  up: boolean
  hasRun: boolean
  readonly alpha: boolean
}

/** What a checker's verdict means for its real server. */
export interface VerdictEffect {
  /** perform_svr_state(): the real server should become alive (true) or not (false). */
  readonly perform: boolean | undefined
  /** A first result that changed nothing still runs the real server's notify scripts (alpha, or a first failure). */
  readonly notify: boolean
}

const NO_EFFECT: VerdictEffect = { perform: undefined, notify: false }

export class RealServerHealth {
  readonly config: RealServer
  readonly text: string
  /** keepalived's `alive`: counted in the quorum and, unless inhibited or displaced by the sorry server, in the pool. */
  alive = false
  /** keepalived's `effective_weight`: the configured weight until a dynamic checker changes it. */
  effectiveWeight: number
  /** Reload: what the previous configuration's pool knew of it (undefined for a new real server). */
  readonly carried: RealServerCarried | undefined
  private failed = 0
  private readonly checkers = new Map<string, CheckerHealth>()

  constructor(input: RealServerInput) {
    this.config = input.config
    this.text = input.text
    this.carried = input.carried
    this.effectiveWeight = input.carried?.effectiveWeight ?? input.effectiveWeight ?? input.config.weight
    if (input.carried) this.alive = input.carried.alive
    for (const c of input.checkers) {
      // validate_check_config(): an alpha checker is set failed before anything runs.
      const initial = c.initial ?? { up: !c.alpha, hasRun: false }
      this.checkers.set(c.id, { up: initial.up, hasRun: initial.hasRun, alpha: c.alpha })
      if (!initial.up) this.failed++
    }
  }

  get inhibit(): boolean {
    return this.config.inhibitOnFailure
  }

  /** keepalived's `num_failed_checkers`. */
  get failedCheckers(): number {
    return this.failed
  }

  /** The weight IPVS is given while the real server is in the pool and alive. */
  get weight(): number {
    return realWeight(this.effectiveWeight)
  }

  checkerIds(): string[] {
    return [...this.checkers.keys()]
  }

  checker(id: string): Readonly<CheckerHealth> | undefined {
    return this.checkers.get(id)
  }

  /** update_svr_checker_state(): record a checker's final result and say what the real server must do. */
  verdict(checkerId: string, up: boolean): VerdictEffect {
    const checker = this.checkers.get(checkerId)
    if (!checker) return NO_EFFECT
    if (checker.up === up) {
      // `!up` is keepalived's too: it only matters for a checker migrated down by a reload.
      const notify = !checker.hasRun && (checker.alpha || !up)
      checker.hasRun = true
      return { perform: undefined, notify }
    }
    checker.hasRun = true
    // Up when this was the last failed checker; down when it is the first to fail.
    const perform = up ? (this.failed <= 1 ? true : undefined) : (this.failed === 0 ? false : undefined)
    checker.up = up
    if (!up) this.failed++
    else if (this.failed > 0) this.failed--
    return { perform, notify: false }
  }
}
