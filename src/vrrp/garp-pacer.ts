/**
 * Pacing of gratuitous ARPs and unsolicited NAs (reference §5.8):
 * `vrrp_garp_interval` / `vrrp_gna_interval` keep consecutive frames on one
 * interface that far apart, whichever instance queued them; 0 sends them back
 * to back. Frames still queued for an instance are dropped when it leaves
 * MASTER (keepalived clears its GARP queue with the VIPs). Time is injected.
 */

/** One frame to send on an interface, on behalf of an instance. */
export interface PacedFrame<F> {
  readonly ifindex: number
  readonly family: 4 | 6
  readonly frame: F
}

export interface PacerClock {
  /** Monotonic microseconds. */
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export interface PacerIntervals {
  /** µs between two GARPs on one interface. */
  readonly garp: number
  /** µs between two unsolicited NAs on one interface. */
  readonly gna: number
}

export class FramePacer<F> {
  /** Per interface and family: the earliest time the next frame may go. */
  private readonly nextFree = new Map<string, number>()
  private readonly queued = new Map<string, Set<unknown>>()

  constructor(
    private readonly send: (frame: PacedFrame<F>) => void,
    private readonly intervals: PacerIntervals,
    private readonly clock: PacerClock,
  ) {}

  /** Send `frames` in order for `owner`, now or as the interval allows. */
  queue(owner: string, frames: readonly PacedFrame<F>[]): void {
    const now = this.clock.now()
    for (const f of frames) {
      const interval = f.family === 4 ? this.intervals.garp : this.intervals.gna
      if (interval <= 0) {
        this.send(f)
        continue
      }
      const key = `${f.ifindex}/${f.family}`
      const at = Math.max(now, this.nextFree.get(key) ?? now)
      this.nextFree.set(key, at + interval)
      if (at <= now) {
        this.send(f)
        continue
      }
      let handles = this.queued.get(owner)
      if (!handles) this.queued.set(owner, (handles = new Set()))
      const set = handles
      const handle = this.clock.setTimeout(() => {
        set.delete(handle)
        this.send(f)
      }, Math.ceil((at - now) / 1000))
      set.add(handle)
    }
  }

  /** Drop what `owner` still has queued. */
  cancel(owner: string): void {
    const handles = this.queued.get(owner)
    if (!handles) return
    for (const h of handles) this.clock.clearTimeout(h)
    this.queued.delete(owner)
  }

  /** Frames waiting, for `owner` or in all. */
  pending(owner?: string): number {
    if (owner !== undefined) return this.queued.get(owner)?.size ?? 0
    let n = 0
    for (const s of this.queued.values()) n += s.size
    return n
  }
}
