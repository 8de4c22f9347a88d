/** The VRRP half of the configuration. (Placeholder: filled by the VRRP config work.) */
import type { Section } from '../section.js'

export interface VrrpConfig {
  readonly instances: readonly unknown[]
}

export type VrrpDraft = { instances: unknown[] }

export const vrrpSection: Section<VrrpDraft, VrrpConfig> = {
  rootKeywords: [],
  empty: () => ({ instances: [] }),
  finish: (d) => ({ instances: d.instances }),
  dump: () => {},
}
