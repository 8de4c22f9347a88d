/**
 * The contract between the root of the configuration and its two halves (the
 * VRRP side and the checker / IPVS side): each contributes root keywords, turns
 * its draft into an immutable model with keepalived's defaults and checks, and
 * writes the model back as canonical text.
 */
import type { Diagnostics } from './diagnostics.js'
import type { GlobalDefs } from './global/model.js'
import type { ConfWriter, KeywordSpec } from './schema.js'

/** What the host has, for the checks `keepalived -t` makes against it. */
export interface HostInfo {
  /** Interface names on this host; undefined skips the host checks. */
  readonly interfaces: ReadonlySet<string> | undefined
}

export interface FinishEnv {
  readonly diags: Diagnostics
  readonly global: GlobalDefs
  readonly host: HostInfo
}

export interface Section<Draft, Model> {
  readonly rootKeywords: readonly KeywordSpec<Draft>[]
  empty(): Draft
  finish(draft: Draft, env: FinishEnv): Model
  dump(model: Model, out: ConfWriter): void
}
