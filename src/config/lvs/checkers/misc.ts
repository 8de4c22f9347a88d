/** MISC_CHECK (keepalived check_misc.c): run a program; no connection keywords. */
import { type BlockSchema, dumpSchema, flagKeyword, intKeyword, type KeywordSpec, noBlock } from '../../schema.js'
import { arg, noExtraArgs } from '../../values.js'
import type { MiscDraft } from '../draft.js'
import type { MiscCheck } from '../model.js'
import { checkerMisplaced, resolveTiming, timingKeywords } from './common.js'
import type { CheckerType } from './kind.js'

/** The program and its arguments as written; a quoted command stays one word. */
const miscPathKeyword: KeywordSpec<MiscDraft> = {
  name: 'misc_path', tier: 2,
  parse(stmt, d, ctx) {
    if (!noBlock(stmt, ctx) || !arg(stmt, ctx, 0, 'a program')) return
    d.path = stmt.args.map((w) => w.text)
  },
  dump(d, out) {
    if (d.path?.length) out.line('misc_path', ...d.path)
  },
}

const userKeyword: KeywordSpec<MiscDraft> = {
  name: 'user', tier: 2,
  parse(stmt, d, ctx) {
    if (!noBlock(stmt, ctx)) return
    const user = arg(stmt, ctx, 0, 'a user name')
    if (!user) return
    d.user = user.text
    d.group = stmt.args[1]?.text
    noExtraArgs(stmt, ctx, 2)
  },
  dump(d, out) {
    if (d.user !== undefined) out.line('user', d.user, ...(d.group !== undefined ? [d.group] : []))
  },
}

const schema: BlockSchema<MiscDraft> = {
  name: 'MISC_CHECK',
  keywords: [
    ...timingKeywords,
    miscPathKeyword,
    // keepalived reads whole seconds here, unlike the other timers.
    intKeyword<MiscDraft>('misc_timeout', 'timeout', 0, 4294),
    flagKeyword<MiscDraft>('misc_dynamic', 'dynamic'),
    userKeyword,
  ],
  misplaced: {
    ...checkerMisplaced('MISC_CHECK', 0),
    connect_ip: 'MISC_CHECK has no connection keywords; the script decides what to probe',
    connect_port: 'MISC_CHECK has no connection keywords; the script decides what to probe',
    connect_timeout: "MISC_CHECK has no connect_timeout; use 'misc_timeout SECONDS'",
  },
}

export const miscCheck: CheckerType<MiscDraft, MiscCheck> = {
  kind: 'MISC_CHECK', schema,
  create: (pos) => ({ kind: 'MISC_CHECK', pos }),
  end(d, _rs, ctx) {
    if (d.path?.length) return true
    ctx.diags.error(d.close, 'KA_CONF_CHECKER_DROPPED', 'No script path has been specified for MISC_CHECKER - skipping', { context: d.context, hint: "add 'misc_path PROGRAM'" })
    return false
  },
  finish: (d, from) => ({
    kind: 'MISC_CHECK', pos: d.pos!,
    ...resolveTiming(d, from, { retry: 0, delayBeforeRetry: 1_000_000 }),
    path: d.path!,
    // 0 and unset both mean "the virtual server's delay_loop" in keepalived.
    timeout: d.timeout === 0 ? undefined : d.timeout,
    dynamic: d.dynamic ?? false,
    user: d.user,
    group: d.group,
  }),
  dumpBody: (m, out) => dumpSchema(schema, m, out),
}
