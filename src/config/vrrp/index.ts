/**
 * The VRRP half of the configuration (reference §1.3–§1.8): static addresses,
 * routes and rules, tracked objects, sync groups and instances.
 */
import type { Section } from '../section.js'
import { emptyVrrpDraft, type VrrpDraft } from './draft.js'
import { dumpVrrp } from './dump.js'
import { finishVrrp } from './finish.js'
import { instanceKeyword } from './instance.js'
import type { VrrpConfig } from './model.js'
import { trackFileKeyword, trackProcessKeyword, vrrpScriptKeyword } from './scripts.js'
import { staticKeywords } from './static.js'
import { syncGroupKeyword } from './sync-group.js'

export type * from './model.js'
export type { VrrpDraft } from './draft.js'

export const vrrpSection: Section<VrrpDraft, VrrpConfig> = {
  rootKeywords: [
    ...staticKeywords,
    vrrpScriptKeyword,
    trackProcessKeyword,
    trackFileKeyword,
    syncGroupKeyword,
    instanceKeyword,
  ],
  empty: emptyVrrpDraft,
  finish: finishVrrp,
  dump: dumpVrrp,
}
