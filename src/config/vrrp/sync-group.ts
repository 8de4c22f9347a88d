/** `vrrp_sync_group NAME { group { VI... } ... }` (reference §1.7): keyword table. */
import {
  applySchema, type BlockSchema, boolKeyword, childContext, flagKeyword, keptKeyword, type KeywordSpec, requireBlock,
} from '../schema.js'
import type { Statement } from '../tree.js'
import { type BuildContext, closest } from '../values.js'
import { locatedAll, namedDraft, NOTIFY_KEYWORDS, notifyKeyword, readHeader } from './common.js'
import { emptyNotify, emptyTrackers, type SyncGroupDraft, type VrrpDraft } from './draft.js'
import { trackKeyword } from './track.js'

/** `group { VI_1 VI_2 }`: unlike VIP blocks, every word of a line is a member. */
const groupKeyword: KeywordSpec<SyncGroupDraft> = {
  name: 'group', tier: 1,
  parse(stmt, g, ctx) {
    const body = requireBlock(stmt, ctx)
    if (!body) return
    if (g.members !== undefined) {
      ctx.diags.error(stmt.pos, 'KA_CONF_DUPLICATE', `the group list is already given for sync group ${g.name}; this one is ignored`, { context: ctx.context })
      return
    }
    g.members = []
    for (const entry of body) {
      if (entry.block) {
        ctx.diags.error(entry.open ?? entry.pos, 'KA_CONF_UNEXPECTED_BLOCK', "entries of 'group' do not take a block; the block is skipped", { context: ctx.context })
        continue
      }
      for (const w of [entry.keywordWord, ...entry.args]) g.members.push({ name: w.text, pos: { ...entry.pos, col: w.col } })
    }
  },
  dump() {},
}

const T3_SYNC_GROUP = ['track_bfd', 'notify_priority_changes']

const syncGroupSchema: BlockSchema<SyncGroupDraft> = {
  name: 'vrrp_sync_group',
  keywords: locatedAll<SyncGroupDraft>([
    groupKeyword,
    trackKeyword<SyncGroupDraft>('track_interface', 3),
    trackKeyword<SyncGroupDraft>('track_script', 2),
    trackKeyword<SyncGroupDraft>('track_file', 3),
    trackKeyword<SyncGroupDraft>('track_process', 3),
    ...NOTIFY_KEYWORDS.map(([name, key]) => notifyKeyword<SyncGroupDraft>(name, key)),
    boolKeyword<SyncGroupDraft>('smtp_alert', 'smtpAlert'),
    flagKeyword<SyncGroupDraft>('sync_group_tracking_weight', 'syncGroupTrackingWeight', {
      tier: 3,
      aliases: [{ name: 'global_tracking', deprecated: 'global_tracking is deprecated. Use track_interface/script/file on the sync group' }],
    }),
    ...T3_SYNC_GROUP.map((k) => keptKeyword<SyncGroupDraft>(k)),
  ]),
}

/**
 * Instance names written straight in the sync group block, without `group { }`:
 * keepalived reports each as an unknown keyword; we say what was meant.
 */
function strayMembers(body: readonly Statement[], ctx: BuildContext): Statement[] {
  const known = new Set(syncGroupSchema.keywords.map((k) => k.name).concat('global_tracking'))
  return body.filter((s) => {
    if (known.has(s.keyword) || s.block || s.args.length || closest(s.keyword, known)) return true
    ctx.diags.error(s.pos, 'KA_CONF_UNKNOWN_KEYWORD', `unknown keyword '${s.keyword}'`, {
      context: ctx.context,
      hint: "the instances of a sync group go inside 'group { ... }'",
    })
    return false
  })
}

export const syncGroupKeyword: KeywordSpec<VrrpDraft> = {
  name: 'vrrp_sync_group', tier: 1,
  parse(stmt, v, ctx) {
    const header = readHeader(stmt, ctx, v.syncGroups)
    if (!header) return
    const inner = childContext(ctx, `vrrp_sync_group ${header.name}`)
    const g: SyncGroupDraft = {
      ...namedDraft(stmt, header, v.state), ...emptyTrackers(), ...emptyNotify(),
      members: undefined, smtpAlert: undefined, syncGroupTrackingWeight: false, unsupported: [], state: v.state,
    }
    applySchema(syncGroupSchema, strayMembers(header.body, inner), g, inner)
    v.syncGroups.push(g)
  },
  dump() {},
}
