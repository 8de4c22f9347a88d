/** The checker / IPVS half of the configuration. (Placeholder: filled by the LVS config work.) */
import type { Section } from '../section.js'

export interface LvsConfig {
  readonly virtualServers: readonly unknown[]
}

export type LvsDraft = { virtualServers: unknown[] }

export const lvsSection: Section<LvsDraft, LvsConfig> = {
  rootKeywords: [],
  empty: () => ({ virtualServers: [] }),
  finish: (d) => ({ virtualServers: d.virtualServers }),
  dump: () => {},
}
