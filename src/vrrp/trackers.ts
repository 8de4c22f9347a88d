/**
 * The live side of tracking: vrrp_script runs on their interval, track_file
 * values, interface states from netlink. It keeps the observations that
 * tracking.ts evaluates; the runtime recomputes an instance when one changes.
 */
import { readdirSync, readFileSync, unwatchFile, watchFile } from 'node:fs'
import { constants } from 'node:os'
import type { TrackFile, TrackProcess, VrrpScript } from '../config/vrrp/model.js'
import type { ScriptOutcome as RunOutcome, ScriptRunner } from '../daemon/notify.js'
import type { Logger } from '../log/logger.js'
import { matchesProcess, type ProcessInfo, quorumHeld } from './process-match.js'
import {
  carryScriptTracker, createScriptTracker, type ScriptOutcome, scriptRan, type ScriptStatus, type ScriptTrackerState, scriptStatus,
} from './script-tracker.js'
import type { TrackerStatus } from './tracking.js'

/** keepalived watches track files with inotify; a 1 s poll is close enough and needs no native code. */
const FILE_POLL_MS = 1000
/** keepalived follows processes with the netlink process connector; a 1 s scan of /proc is the portable stand-in. */
const PROCESS_POLL_MS = 1000

interface RunningScript {
  readonly config: VrrpScript
  tracker: ScriptTrackerState
  timer: NodeJS.Timeout | undefined
  busy: boolean
}

function trackerOutcome(o: RunOutcome): ScriptOutcome {
  switch (o.kind) {
    case 'exited': return { kind: 'exited', status: o.status }
    case 'signalled': return { kind: 'signaled', signal: constants.signals[o.signal] ?? 0 }
    case 'timed-out': return { kind: 'timedOut' }
    // A script that cannot start fails the way keepalived's exec failure does: exit 127 from the child.
    case 'failed': return { kind: 'exited', status: 127 }
  }
}

export class LiveTrackers {
  readonly interfaces = new Map<string, boolean>()
  readonly scripts = new Map<string, ScriptStatus>()
  readonly files = new Map<string, number>()
  readonly processes = new Map<string, boolean>()
  /** Scripts that could not be prepared (insecure, missing): their trackers are dropped, as keepalived does. */
  readonly disabledScripts = new Set<string>()
  private readonly running = new Map<string, RunningScript>()
  private readonly watchedFiles = new Map<string, string>()
  private processTimer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(
    private readonly log: Logger,
    private readonly runner: ScriptRunner,
    /** Called when an observation changed; the runtime recomputes the instances. */
    private readonly changed: () => void,
  ) {}

  get status(): TrackerStatus {
    return { interfaces: this.interfaces, scripts: this.scripts, files: this.files, processes: this.processes }
  }

  /** Start running the scripts some instance tracks; the first run is now, as keepalived's. */
  startScripts(scripts: readonly VrrpScript[]): void {
    for (const config of scripts) this.startScript(config, createScriptTracker(config))
  }

  /**
   * SIGHUP: the scripts the new configuration tracks. A script that stays
   * keeps its verdict (carried into its new rise / fall, keepalived's line),
   * one that goes stops, a new one starts.
   */
  reconfigureScripts(scripts: readonly VrrpScript[]): void {
    const wanted = new Set(scripts.map((s) => s.name))
    const previous = new Map<string, ScriptTrackerState>()
    for (const [name, entry] of this.running) {
      if (entry.timer) clearInterval(entry.timer)
      this.running.delete(name)
      if (wanted.has(name)) previous.set(name, entry.tracker)
      else this.scripts.delete(name)
    }
    this.disabledScripts.clear()
    for (const config of scripts) {
      const old = previous.get(config.name)
      if (!old) {
        this.scripts.delete(config.name)
        this.startScript(config, createScriptTracker(config))
        continue
      }
      const carried = carryScriptTracker(old, config)
      if (carried.log !== undefined) this.log.info(carried.log)
      this.startScript(config, carried.state)
    }
  }

  private startScript(config: VrrpScript, tracker: ScriptTrackerState): void {
    const prepared = this.runner.prepare(config.script)
    if (prepared === undefined) {
      this.log.info(`Disabling track script ${config.name} since not found/accessible`)
      this.disabledScripts.add(config.name)
      return
    }
    const entry: RunningScript = { config, tracker, timer: undefined, busy: false }
    this.running.set(config.name, entry)
    this.scripts.set(config.name, scriptStatus(entry.tracker))
    const run = (): void => {
      if (this.stopped || entry.busy || this.running.get(config.name) !== entry) return
      entry.busy = true
      void this.runner.run(prepared, { timeoutMs: Math.max(1, Math.round(config.timeout / 1000)) }).then((outcome) => {
        entry.busy = false
        // Stopped, or replaced by a reload while it ran: this result is nobody's.
        if (this.stopped || this.running.get(config.name) !== entry) return
        const r = scriptRan(entry.tracker, trackerOutcome(outcome))
        entry.tracker = r.state
        for (const line of r.logs) this.log.info(line)
        const status = scriptStatus(r.state)
        if (status !== this.scripts.get(config.name)) {
          this.scripts.set(config.name, status)
          this.changed()
        }
      })
    }
    run()
    entry.timer = setInterval(run, Math.max(1, Math.round(config.interval / 1000)))
  }

  /** What each script is doing, for the data dump. */
  scriptStates(): ReadonlyMap<string, ScriptStatus> {
    return this.scripts
  }

  /** Read each track_file now and whenever it changes. */
  startFiles(files: readonly TrackFile[]): void {
    for (const f of files) this.watchTrackFile(f)
  }

  /** SIGHUP: stop watching files gone from the configuration, watch new ones; the others carry on. */
  reconfigureFiles(files: readonly TrackFile[]): void {
    const wanted = new Map(files.map((f) => [f.name, f.file]))
    for (const [name, path] of this.watchedFiles) {
      if (wanted.get(name) === path) continue
      unwatchFile(path)
      this.watchedFiles.delete(name)
      this.files.delete(name)
    }
    for (const f of files) if (!this.watchedFiles.has(f.name)) this.watchTrackFile(f)
  }

  private watchTrackFile(f: TrackFile): void {
    this.files.set(f.name, readTrackFile(f.file, f.initFile?.value))
    watchFile(f.file, { interval: FILE_POLL_MS, persistent: false }, () => {
      if (this.watchedFiles.get(f.name) !== f.file) return
      const value = readTrackFile(f.file, undefined)
      if (value !== this.files.get(f.name)) {
        this.files.set(f.name, value)
        this.changed()
      }
    })
    this.watchedFiles.set(f.name, f.file)
  }

  /**
   * Count each tracker's processes now and every second. A gain waits
   * `fork_delay`, a loss `terminate_delay`, and only then counts (keepalived's
   * debounce for restarts); the lines are keepalived's `Quorum %s for tracked process %s`.
   */
  startProcesses(trackers: readonly TrackProcess[], now: () => number = Date.now): void {
    if (this.processTimer) clearInterval(this.processTimer)
    this.processTimer = undefined
    // SIGHUP: a tracker that stays keeps its quorum; one that goes is forgotten.
    for (const name of [...this.processes.keys()]) if (!trackers.some((t) => t.name === name)) this.processes.delete(name)
    if (trackers.length === 0) return
    const since = new Map<string, number>()
    const scan = (first: boolean): void => {
      if (this.stopped) return
      const processes = readProcesses()
      let changed = false
      for (const tp of trackers) {
        const held = quorumHeld(tp, processes.filter((p) => matchesProcess(tp, p)).length)
        if (first && !this.processes.has(tp.name)) {
          this.processes.set(tp.name, held)
          continue
        }
        if (held === this.processes.get(tp.name)) {
          since.delete(tp.name)
          continue
        }
        const start = since.get(tp.name) ?? now()
        since.set(tp.name, start)
        if (now() - start < (held ? tp.forkDelay : tp.terminateDelay) / 1000) continue
        since.delete(tp.name)
        this.processes.set(tp.name, held)
        this.log.info(`Quorum ${held ? 'gained' : 'lost'} for tracked process ${tp.name}`)
        changed = true
      }
      if (changed) this.changed()
    }
    scan(true)
    this.processTimer = setInterval(() => scan(false), PROCESS_POLL_MS)
  }

  stop(): void {
    this.stopped = true
    if (this.processTimer) clearInterval(this.processTimer)
    for (const s of this.running.values()) if (s.timer) clearInterval(s.timer)
    for (const file of this.watchedFiles.values()) unwatchFile(file)
  }
}

/** keepalived reads a track file as a number; missing or unreadable is 0 unless init_file says otherwise. */
function readTrackFile(path: string, initial: number | undefined): number {
  try {
    const value = Number.parseInt(readFileSync(path, 'utf8').trim(), 10)
    return Number.isFinite(value) ? value : 0
  } catch {
    return initial ?? 0
  }
}

/** Every process's name and argv from /proc; processes that vanish mid-scan are skipped. */
function readProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = []
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return out
  }
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      if (argv[argv.length - 1] === '') argv.pop()
      out.push({ comm, argv })
    } catch {
      // Gone between readdir and read.
    }
  }
  return out
}
