/**
 * Tracker lists of instances and sync groups: `track_interface`, `track_script`,
 * `track_file`, `track_process`, one `NAME [weight W [reverse|noreverse]]` per line.
 */
import type { KeywordSpec, Tier } from '../schema.js'
import { childContext, requireBlock } from '../schema.js'
import type { Statement } from '../tree.js'
import { type BuildContext, quoteWord, readInt, wordPos } from '../values.js'
import type { ParseState, TrackersDraft, TrackRefDraft } from './draft.js'
import type { TrackedInterface, TrackedRef } from './model.js'

export type TrackerKeyword = 'track_interface' | 'track_script' | 'track_file' | 'track_process'

const KEYS: Record<TrackerKeyword, keyof TrackersDraft> = {
  track_interface: 'trackInterfaces', track_script: 'trackScripts', track_file: 'trackFiles', track_process: 'trackProcesses',
}

/** keepalived's weight ranges: scripts and interfaces ±253, files and processes ±254. */
const WEIGHT_LIMIT: Record<TrackerKeyword, number> = {
  track_interface: 253, track_script: 253, track_file: 254, track_process: 254,
}

/** Undefined when keepalived ignores the entry. */
export function readTrackEntry(stmt: Statement, ctx: BuildContext, keyword: TrackerKeyword, state: ParseState): TrackRefDraft | undefined {
  const [weightWord, value, direction, ...rest] = stmt.args
  const entry = { pos: stmt.pos, name: stmt.keyword, seq: ++state.seq }
  if (!weightWord) return { ...entry, weight: undefined, reverse: undefined }
  if (weightWord.text !== 'weight') {
    ctx.diags.error(wordPos(stmt, weightWord), 'KA_CONF_BAD_VALUE', `${keyword} ${stmt.keyword}: expected 'weight', not '${weightWord.text}'; the entry is ignored`, { context: ctx.context })
    return undefined
  }
  const limit = WEIGHT_LIMIT[keyword]
  if (!value) {
    ctx.diags.error(wordPos(stmt, weightWord), 'KA_CONF_MISSING_VALUE', `${keyword} ${stmt.keyword}: 'weight' needs a value; the entry is ignored`, { context: ctx.context })
    return undefined
  }
  const weight = readInt(stmt, ctx, value, -limit, limit)
  if (weight === undefined) return undefined
  let reverse = false
  if (direction?.text === 'reverse') reverse = true
  else if (direction?.text === 'no_reverse') {
    ctx.diags.warning(wordPos(stmt, direction), 'KA_CONF_BAD_VALUE', `${keyword} ${stmt.keyword}: keepalived 2.2.7 does not know 'no_reverse'; ignored`, {
      context: ctx.context, hint: "write 'noreverse', or nothing: not reversing is the default",
    })
  } else if (direction && direction.text !== 'noreverse') {
    ctx.diags.warning(wordPos(stmt, direction), 'KA_CONF_BAD_VALUE', `${keyword} ${stmt.keyword}: unknown weight option '${direction.text}'; ignored`, { context: ctx.context })
  }
  if (rest.length) {
    ctx.diags.warning(wordPos(stmt, rest[0]), 'KA_CONF_EXTRA_ARGS', `${keyword} ${stmt.keyword}: '${rest.map((w) => w.text).join(' ')}' ignored`, { context: ctx.context })
  }
  return { ...entry, weight, reverse }
}

/** A tracker block of an instance or a sync group. Duplicate names are dropped, as keepalived does. */
export function trackKeyword<T extends TrackersDraft & { readonly state: ParseState }>(keyword: TrackerKeyword, tier: Tier): KeywordSpec<T> {
  const key = KEYS[keyword]
  return {
    name: keyword, tier,
    parse(stmt, draft, ctx) {
      const body = requireBlock(stmt, ctx)
      if (!body) return
      const inner = childContext(ctx, keyword)
      for (const entry of body) {
        if (entry.block) {
          ctx.diags.error(entry.open ?? entry.pos, 'KA_CONF_UNEXPECTED_BLOCK', `entries of '${keyword}' do not take a block; the block is skipped`, { context: inner.context })
          continue
        }
        const e = readTrackEntry(entry, inner, keyword, draft.state)
        if (!e) continue
        const list = draft[key]
        if (list.some((x) => x.name === e.name)) {
          ctx.diags.warning(entry.pos, 'KA_CONF_DUPLICATE', `duplicate ${keyword} ${e.name}; ignored`, { context: ctx.context })
          continue
        }
        list.push(e)
      }
    },
    dump() {},
  }
}

export function formatTracked(t: TrackedInterface | TrackedRef): string {
  return [t.name, 'weight', String(t.weight), ...(t.reverse ? ['reverse'] : [])].map(quoteWord).join(' ')
}
