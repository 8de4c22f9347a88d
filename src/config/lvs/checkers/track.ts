/** FILE_CHECK and BFD_CHECK: checkers that follow something else, with none of the common keywords. */
import { type BlockSchema, boolKeyword, dumpSchema, type KeywordSpec, noBlock, stringKeyword } from '../../schema.js'
import { arg, readInt, wordPos } from '../../values.js'
import type { BfdDraft, FileDraft } from '../draft.js'
import type { BfdCheck, FileCheck } from '../model.js'
import type { CheckerType } from './kind.js'

const WEIGHT_LIMIT = 2147483647

const NOT_COMMON = ['retry', 'delay_before_retry', 'delay_loop', 'warmup', 'connect_timeout', 'connect_ip', 'connect_port']

function onlyHint(kind: string, what: string): Record<string, string> {
  return Object.fromEntries(NOT_COMMON.map((k) => [k, `${kind} takes only ${what}`]))
}

/** `weight W [reverse|noreverse]`. */
const fileWeightKeyword: KeywordSpec<FileDraft> = {
  name: 'weight', tier: 2,
  parse(stmt, d, ctx) {
    if (!noBlock(stmt, ctx) || !arg(stmt, ctx, 0, 'a weight')) return
    const w = readInt(stmt, ctx, stmt.args[0], -WEIGHT_LIMIT, WEIGHT_LIMIT)
    if (w === undefined) return
    const opt = stmt.args[1]
    if (opt && opt.text !== 'reverse' && opt.text !== 'noreverse') {
      ctx.diags.error(wordPos(stmt, opt), 'KA_CONF_BAD_VALUE', `unknown track file weight option ${opt.text} - ignoring`, { context: ctx.context, hint: 'reverse or noreverse' })
      return
    }
    d.weight = w
    d.reverse = opt?.text === 'reverse'
  },
  dump(d, out) {
    if (d.weight !== undefined) out.line('weight', String(d.weight), ...(d.reverse ? ['reverse'] : []))
  },
}

const fileSchema: BlockSchema<FileDraft> = {
  name: 'FILE_CHECK',
  keywords: [stringKeyword<FileDraft>('track_file', 'trackFile', { what: 'a track_file name' }), fileWeightKeyword],
  misplaced: { ...onlyHint('FILE_CHECK', 'track_file and weight'), dynamic: "'dynamic' is documented but is not a keyword in keepalived 2.2.7" },
}

export const fileCheck: CheckerType<FileDraft, FileCheck> = {
  kind: 'FILE_CHECK', schema: fileSchema,
  create: (pos) => ({ kind: 'FILE_CHECK', pos }),
  end(d, _rs, ctx) {
    if (d.trackFile !== undefined) return true
    ctx.diags.error(d.close, 'KA_CONF_CHECKER_DROPPED', 'FILE_CHECK has no track_file specified - ignoring', { context: d.context })
    return false
  },
  finish: (d) => ({ kind: 'FILE_CHECK', pos: d.pos!, trackFile: d.trackFile!, weight: d.weight, reverse: d.reverse ?? false }),
  dumpBody: (m, out) => dumpSchema(fileSchema, m, out),
}

const bfdSchema: BlockSchema<BfdDraft> = {
  name: 'BFD_CHECK',
  keywords: [stringKeyword<BfdDraft>('name', 'name', { what: 'a bfd_instance name' }), boolKeyword<BfdDraft>('alpha', 'alpha')],
  misplaced: onlyHint('BFD_CHECK', 'name and alpha'),
}

export const bfdCheck: CheckerType<BfdDraft, BfdCheck> = {
  kind: 'BFD_CHECK', schema: bfdSchema,
  create: (pos) => ({ kind: 'BFD_CHECK', pos }),
  end(d, _rs, ctx) {
    if (d.name !== undefined) return true
    ctx.diags.error(d.close, 'KA_CONF_CHECKER_DROPPED', 'No name has been specified for BFD_CHECKER - skipping', { context: d.context })
    return false
  },
  finish: (d, from) => ({ kind: 'BFD_CHECK', pos: d.pos!, name: d.name!, alpha: d.alpha ?? from.rs.alpha }),
  dumpBody: (m, out) => dumpSchema(bfdSchema, m, out),
}

