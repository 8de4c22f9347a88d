/**
 * The configuration as the parent read it, so that every process sees the
 * same text (keepalived passes its children a memfd copy for the same reason,
 * reference §2.8): each file's content (or why it could not be read), each
 * `include` glob's matches, the `${_RANDOM}` draws, the config-id and the
 * host's interfaces. The parent loads through a recorder; a child replays the
 * snapshot and gets the identical model, whatever changed on disk since.
 * Plain JSON, sent over the IPC channel.
 */
import { type Config, defaultConfigId, loadConfig, type LoadResult } from '../config/config.js'
import { type ConfigFiles, diskFiles } from '../config/preprocess.js'

export interface ConfigSnapshot {
  readonly mainFile: string
  readonly configId: string
  /** Path → content, or the error code reading it failed with. */
  readonly files: Readonly<Record<string, string | { readonly error: string }>>
  /** `cwd\0pattern` → the glob's matches. */
  readonly globs: Readonly<Record<string, readonly string[]>>
  /** `${_RANDOM}` draws, in order. */
  readonly randoms: readonly number[]
  /** The host's interface names when the parent loaded; null when unknown. */
  readonly interfaces: readonly string[] | null
}

export interface SnapshotLoad {
  readonly result: LoadResult
  readonly snapshot: ConfigSnapshot
}

export interface RecordOptions {
  readonly configId: string | undefined
  readonly interfaces: ReadonlySet<string> | undefined
  /** Where files come from; the disk by default. */
  readonly files?: ConfigFiles
  readonly random?: () => number
}

const globKey = (pattern: string, cwd: string): string => `${cwd}\0${pattern}`

/** Load `path` as the parent does, recording everything the load read. */
export function loadRecorded(path: string, opts: RecordOptions): SnapshotLoad {
  const files: Record<string, string | { error: string }> = {}
  const globs: Record<string, string[]> = {}
  const randoms: number[] = []
  const configId = opts.configId ?? defaultConfigId()
  const inner = opts.files ?? diskFiles
  const recorder: ConfigFiles = {
    read(p) {
      try {
        const content = inner.read(p)
        files[p] = content
        return content
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? String(err)
        files[p] = { error: code }
        throw err
      }
    },
    glob(pattern, cwd) {
      const matches = inner.glob(pattern, cwd)
      globs[globKey(pattern, cwd)] = [...matches]
      return matches
    },
  }
  const random = opts.random ?? Math.random
  const result = loadConfig(path, {
    configId,
    files: recorder,
    host: { interfaces: opts.interfaces },
    random: () => {
      const r = random()
      randoms.push(r)
      return r
    },
  })
  const interfaces = opts.interfaces ? [...opts.interfaces].sort() : null
  return { result, snapshot: { mainFile: path, configId, files, globs, randoms, interfaces } }
}

/** The snapshot's configuration, as the parent saw it. */
export function loadSnapshot(s: ConfigSnapshot): LoadResult {
  let draw = 0
  const replay: ConfigFiles = {
    read(p) {
      const entry = s.files[p]
      if (entry === undefined) throw Object.assign(new Error(`${p} is not in the configuration snapshot`), { code: 'KA_ERR_SNAPSHOT_MISSING' })
      if (typeof entry !== 'string') throw Object.assign(new Error(entry.error), { code: entry.error })
      return entry
    },
    glob: (pattern, cwd) => [...(s.globs[globKey(pattern, cwd)] ?? [])],
  }
  return loadConfig(s.mainFile, {
    configId: s.configId,
    files: replay,
    host: { interfaces: s.interfaces ? new Set(s.interfaces) : undefined },
    random: () => s.randoms[draw++] ?? Math.random(),
  })
}

/** The snapshot's model only (the parent already reported its diagnostics). */
export function snapshotConfig(s: ConfigSnapshot): Config {
  return loadSnapshot(s).config
}
