/**
 * Gratuitous ARPs and unsolicited NAs on the wire (reference §5.8): the one
 * packet socket, the pacer of vrrp_garp_interval / vrrp_gna_interval, and
 * keepalived's lines for each burst and each frame.
 */
import { performance } from 'node:perf_hooks'
import type { GlobalDefs } from '../config/global/model.js'
import type { VrrpInstance } from '../config/vrrp/model.js'
import type { Logger } from '../log/logger.js'
import { NetError, openPacketSocket, type PacketSocket } from '../net/index.js'
import { buildGratuitousArp, buildUnsolicitedNeighbourAdvert } from './frames.js'
import { FramePacer, type PacedFrame } from './garp-pacer.js'
import { type AnnouncementFrame, announcementFrames, type InterfaceInfo, type InterfaceTable } from './kernel-actions.js'

/** Microseconds on a monotonic clock: what the state machines and the pacer count in. */
export function nowUs(): number {
  return Math.round(performance.now() * 1000)
}

export class Announcer {
  private readonly pacer: FramePacer<AnnouncementFrame>

  private constructor(private readonly log: Logger, private readonly packets: PacketSocket | undefined, global: GlobalDefs) {
    this.pacer = new FramePacer<AnnouncementFrame>((f) => this.send(f.frame), {
      garp: global.vrrpGarpInterval ?? 0,
      gna: global.vrrpGnaInterval ?? 0,
    }, { now: nowUs, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) })
  }

  /** Open the packet socket; without it (logged) nothing is announced but VRRP still runs. */
  static open(log: Logger, global: GlobalDefs): Announcer {
    const packets = openPacketSocket()
    if (packets instanceof NetError) log.error(`Unable to open the gratuitous ARP channel: ${packets.message}`)
    else log.info('Registering gratuitous ARP shared channel')
    return new Announcer(log, packets instanceof NetError ? undefined : packets, global)
  }

  /**
   * A burst: `repeat` rounds over every VIP and eVIP of `inst` (or those in
   * `only`), in keepalived's order, paced per interface.
   */
  announce(inst: VrrpInstance, links: InterfaceTable, repeat: number, only?: ReadonlySet<string>): void {
    if (repeat <= 0) return
    const frames = announcementFrames(inst, links, only)
    for (const f of frames) {
      const what = f.family === 4 ? 'gratuitous ARPs' : 'Unsolicited Neighbour Adverts'
      this.log.detail(`(${inst.name}) Sending/queueing ${what} on ${f.link.name} for ${f.address}`)
    }
    const rounds: PacedFrame<AnnouncementFrame>[] = []
    for (let i = 0; i < repeat; i++) for (const f of frames) rounds.push({ ifindex: f.link.index, family: f.family, frame: f })
    this.pacer.queue(inst.name, rounds)
  }

  /** Leaving FAULT in unicast mode: one GARP / NA for our own address, so the peer relearns our MAC. */
  announceSource(inst: VrrpInstance, link: InterfaceInfo | undefined, source: string): void {
    if (!this.packets || !link || link.noArp) return
    const frame = inst.family === 4 ? buildGratuitousArp(link.mac, source) : buildUnsolicitedNeighbourAdvert(link.mac, source)
    const err = this.packets.send(frame, link.index, link.name)
    if (err) this.log.error(`Error ${err.errno?.number ?? 0} (${err.errno?.name ?? err.message}) sending gratuitous ARP on ${link.name} for ${source}`)
  }

  /** Drop what `name` still has queued (it left MASTER). */
  cancel(name: string): void {
    this.pacer.cancel(name)
  }

  close(): void {
    this.packets?.close()
  }

  private send(f: AnnouncementFrame): void {
    const log = this.log
    log.detail(f.family === 4 ? `Sending gratuitous ARP on ${f.link.name} for ${f.address}` : `Sending unsolicited Neighbour Advert on ${f.link.name} for ${f.address}`)
    const err = this.packets?.send(f.frame, f.link.index, f.link.name)
    if (err) log.error(`Error ${err.errno?.number ?? 0} (${err.errno?.name ?? err.message}) sending ${f.family === 4 ? 'gratuitous ARP' : 'unsolicited Neighbour Advert'} on ${f.link.name} for ${f.address}`)
  }
}
