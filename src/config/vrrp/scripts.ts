/**
 * The tracked objects: `vrrp_script` (§1.5), `vrrp_track_process` (§1.6) and
 * `track_file` (§1.4). Each is a root block with a name; instances and sync
 * groups refer to them by name.
 */
import {
  applySchema, type BlockSchema, childContext, flagKeyword, type KeywordSpec, noBlock,
} from '../schema.js'
import type { Statement } from '../tree.js'
import { arg, type BuildContext, noExtraArgs, readInt, readTimer, wordPos } from '../values.js'
import { locatedAll, namedDraft, readHeader } from './common.js'
import type { NamedDraft, ScriptDraft, TrackFileDraft, TrackProcessDraft, VrrpDraft } from './draft.js'

/** keepalived's TIMER_MAX_SEC: the largest whole-second interval it accepts. */
const MAX_SECONDS = 4294

/** `weight W [reverse]` of a tracked object. */
function weightKeyword<T extends NamedDraft & { weight: number | undefined; reverse: boolean }>(limit: number): KeywordSpec<T> {
  return {
    name: 'weight', tier: 2,
    parse(stmt, d, ctx) {
      if (!noBlock(stmt, ctx)) return
      const w = readInt(stmt, ctx, arg(stmt, ctx, 0, 'a weight'), -limit, limit)
      if (w === undefined) return
      d.weight = w
      d.reverse = false
      const option = stmt.args[1]
      if (option?.text === 'reverse') d.reverse = true
      else if (option && option.text !== 'noreverse') {
        ctx.diags.warning(wordPos(stmt, option), 'KA_CONF_BAD_VALUE', `unknown weight option '${option.text}'; ignored`, { context: ctx.context })
      }
      noExtraArgs(stmt, ctx, 2)
    },
    dump() {},
  }
}

/** Whole seconds, stored in microseconds; keepalived turns 0 into 1. */
function secondsKeyword<T extends NamedDraft>(name: string, set: (d: T, us: number) => void): KeywordSpec<T> {
  return {
    name, tier: 2,
    parse(stmt, d, ctx) {
      if (!noBlock(stmt, ctx)) return
      const s = readInt(stmt, ctx, arg(stmt, ctx, 0, 'a number of seconds'), 0, MAX_SECONDS)
      noExtraArgs(stmt, ctx, 1)
      if (s === undefined) return
      if (s === 0) {
        ctx.diags.warning(stmt.pos, 'KA_CONF_BAD_VALUE', `${name} must be greater than 0; keepalived uses 1`, { context: ctx.context })
      }
      set(d, Math.max(s, 1) * 1_000_000)
    },
    dump() {},
  }
}

function countKeyword<T extends NamedDraft>(name: string, set: (d: T, n: number) => void, min: number, max: number): KeywordSpec<T> {
  return {
    name, tier: 2,
    parse(stmt, d, ctx) {
      if (!noBlock(stmt, ctx)) return
      const n = readInt(stmt, ctx, arg(stmt, ctx, 0, 'a number'), min, max)
      if (n !== undefined) set(d, n)
      noExtraArgs(stmt, ctx, 1)
    },
    dump() {},
  }
}

function timerOf<T extends NamedDraft>(name: string, set: (d: T, us: number) => void): KeywordSpec<T> {
  return {
    name, tier: 2,
    parse(stmt, d, ctx) {
      if (!noBlock(stmt, ctx)) return
      const us = readTimer(stmt, ctx, arg(stmt, ctx, 0, 'a time in seconds'), 0, MAX_SECONDS * 1_000_000)
      if (us !== undefined) set(d, us)
      noExtraArgs(stmt, ctx, 1)
    },
    dump() {},
  }
}

/** The words of the statement as one command line (a quoted word keeps its spaces). */
function commandOf(stmt: Statement, ctx: BuildContext): string | undefined {
  if (!arg(stmt, ctx, 0, 'a command')) return undefined
  return stmt.args.map((w) => w.text).join(' ')
}

const scriptSchema: BlockSchema<ScriptDraft> = {
  name: 'vrrp_script',
  keywords: locatedAll<ScriptDraft>([
    {
      name: 'script', tier: 2,
      parse(stmt, d, ctx) {
        if (noBlock(stmt, ctx)) d.command = commandOf(stmt, ctx) ?? d.command
      },
      dump() {},
    },
    secondsKeyword('interval', (d, us) => { d.interval = us }),
    secondsKeyword('timeout', (d, us) => { d.timeout = us }),
    weightKeyword(253),
    countKeyword('rise', (d, n) => { d.rise = n }, 1, 2147483647),
    countKeyword('fall', (d, n) => { d.fall = n }, 1, 2147483647),
    {
      name: 'user', tier: 2,
      parse(stmt, d, ctx) {
        if (!noBlock(stmt, ctx)) return
        const user = arg(stmt, ctx, 0, 'a user name')
        if (user) d.user = { user: user.text, group: stmt.args[1]?.text }
        noExtraArgs(stmt, ctx, 2)
      },
      dump() {},
    },
    flagKeyword('init_fail', 'initFail', { tier: 3 }),
  ]),
}

const processSchema: BlockSchema<TrackProcessDraft> = {
  name: 'vrrp_track_process',
  keywords: locatedAll<TrackProcessDraft>([
    {
      name: 'process', tier: 2,
      parse(stmt, d, ctx) {
        if (noBlock(stmt, ctx) && arg(stmt, ctx, 0, 'a process name')) d.process = stmt.args.map((w) => w.text)
      },
      dump() {},
    },
    {
      name: 'param_match', tier: 2,
      parse(stmt, d, ctx) {
        if (!noBlock(stmt, ctx)) return
        const w = arg(stmt, ctx, 0, 'initial or partial')
        if (w?.text === 'initial' || w?.text === 'partial') d.paramMatch = w.text
        else if (w) ctx.diags.error(wordPos(stmt, w), 'KA_CONF_BAD_VALUE', `param_match: '${w.text}' is not initial|partial`, { context: ctx.context })
        noExtraArgs(stmt, ctx, 1)
      },
      dump() {},
    },
    weightKeyword(254),
    countKeyword('quorum', (d, n) => { d.quorum = n }, 1, 65535),
    countKeyword('quorum_max', (d, n) => { d.quorumMax = n }, 0, 65535),
    timerOf('fork_delay', (d, us) => { d.forkDelay = us }),
    timerOf('terminate_delay', (d, us) => { d.terminateDelay = us }),
    timerOf('delay', (d, us) => { d.forkDelay = us; d.terminateDelay = us }),
    flagKeyword('full_command', 'fullCommand'),
  ]),
}

const fileSchema: BlockSchema<TrackFileDraft> = {
  name: 'track_file',
  keywords: locatedAll<TrackFileDraft>([
    {
      name: 'file', tier: 2,
      parse(stmt, d, ctx) {
        if (!noBlock(stmt, ctx)) return
        const w = arg(stmt, ctx, 0, 'a file path')
        if (w) d.file = w.text
        noExtraArgs(stmt, ctx, 1)
      },
      dump() {},
    },
    weightKeyword(254),
    {
      name: 'init_file', tier: 2,
      parse(stmt, d, ctx) {
        if (!noBlock(stmt, ctx)) return
        let i = 0
        let value = 0
        if (stmt.args[0] && stmt.args[0].text !== 'overwrite') {
          const v = readInt(stmt, ctx, stmt.args[0], -2147483647, 2147483647)
          if (v === undefined) return
          value = v
          i = 1
        }
        const overwrite = stmt.args[i]?.text === 'overwrite'
        noExtraArgs(stmt, ctx, i + (overwrite ? 1 : 0))
        d.initFile = { value, overwrite }
      },
      dump() {},
    },
  ]),
}

/** A root block keyword that reads a named block into a list of the VRRP draft. */
function rootBlock<D extends NamedDraft>(
  keyword: string, tier: 1 | 2 | 3, schema: BlockSchema<D>,
  list: (v: VrrpDraft) => D[], make: (base: NamedDraft) => D,
  complete: (d: D, ctx: BuildContext) => boolean,
  opts: Pick<KeywordSpec<VrrpDraft>, 'aliases'> = {},
): KeywordSpec<VrrpDraft> {
  return {
    name: keyword, tier, aliases: opts.aliases,
    parse(stmt, v, ctx) {
      const header = readHeader(stmt, ctx, list(v))
      if (!header) return
      const inner = childContext(ctx, `${keyword} ${header.name}`)
      const d = make(namedDraft(stmt, header, v.state))
      applySchema(schema, header.body, d, inner)
      if (complete(d, inner)) list(v).push(d)
    },
    dump() {},
  }
}

/** keepalived drops a tracked object without its command or file, at the closing brace. */
function required<D extends NamedDraft>(what: (d: D) => unknown, message: (d: D) => string) {
  return (d: D, ctx: BuildContext): boolean => {
    if (what(d) !== undefined) return true
    ctx.diags.error(d.close, 'KA_CONF_MISSING_VALUE', message(d), { context: ctx.context })
    return false
  }
}

export const vrrpScriptKeyword = rootBlock<ScriptDraft>(
  'vrrp_script', 2, scriptSchema, (v) => v.scripts,
  (b) => ({ ...b, command: undefined, user: undefined, interval: undefined, timeout: undefined, weight: undefined, reverse: false, rise: undefined, fall: undefined, initFail: false }),
  required((d) => d.command, (d) => `no script set for vrrp_script ${d.name}; keepalived removes it`),
)

export const trackProcessKeyword = rootBlock<TrackProcessDraft>(
  'vrrp_track_process', 2, processSchema, (v) => v.trackProcesses,
  (b) => ({ ...b, process: undefined, paramMatch: undefined, weight: undefined, reverse: false, quorum: undefined, quorumMax: undefined, forkDelay: undefined, terminateDelay: undefined, fullCommand: false }),
  required((d) => d.process, (d) => `no process set for vrrp_track_process ${d.name}; keepalived removes it`),
)

export const trackFileKeyword = rootBlock<TrackFileDraft>(
  'track_file', 3, fileSchema, (v) => v.trackFiles,
  (b) => ({ ...b, file: undefined, weight: undefined, reverse: false, initFile: undefined }),
  required((d) => d.file, (d) => `no file set for track_file ${d.name}; keepalived removes it`),
  { aliases: [{ name: 'vrrp_track_file', deprecated: '"vrrp_track_file" is deprecated, please use "track_file"' }] },
)
