/** Pieces shared by the VRRP blocks: named block headers, notify scripts, tracking contexts. */
import type { SourcePosition } from '../diagnostics.js'
import { type KeywordSpec, noBlock, readScript, requireBlock, type ScriptSpec } from '../schema.js'
import type { Statement } from '../tree.js'
import type { BuildContext } from '../values.js'
import type { NamedDraft, NotifyDraft, ParseState } from './draft.js'

export interface BlockHeader {
  readonly name: string
  readonly body: readonly Statement[]
  readonly close: SourcePosition
}

/**
 * `KEYWORD NAME {`: keepalived skips a block without exactly one name, and a
 * block whose name is taken (the first definition wins).
 */
export function readHeader(stmt: Statement, ctx: BuildContext, taken: readonly NamedDraft[]): BlockHeader | undefined {
  const body = requireBlock(stmt, ctx)
  if (!body) return undefined
  const name = stmt.args[0]
  if (!name || stmt.args.length > 1) {
    ctx.diags.error(stmt.pos, 'KA_CONF_BAD_NAME', `${stmt.keyword} must have exactly one name; the block is skipped`, {
      context: ctx.context,
      hint: stmt.args.length > 1 ? 'a name cannot contain spaces' : undefined,
    })
    return undefined
  }
  const previous = taken.find((d) => d.name === name.text)
  if (previous) {
    ctx.diags.error(stmt.pos, 'KA_CONF_DUPLICATE', `${stmt.keyword} ${name.text} is already defined (${where(previous.pos)}); this block is ignored`, { context: ctx.context })
    return undefined
  }
  return { name: name.text, body, close: stmt.close ?? stmt.pos }
}

export function where(pos: SourcePosition): string {
  return `${pos.file}:${pos.line}`
}

export function namedDraft(stmt: Statement, header: BlockHeader, state: ParseState): NamedDraft {
  return { name: header.name, pos: stmt.pos, close: header.close, seq: ++state.seq, at: new Map() }
}

/** Records where each keyword of a block is written, for checks made after reading. */
export function located<T extends { readonly at: Map<string, SourcePosition> }>(spec: KeywordSpec<T>): KeywordSpec<T> {
  return {
    ...spec,
    parse(stmt, draft, ctx) {
      draft.at.set(spec.name, stmt.pos)
      spec.parse(stmt, draft, ctx)
    },
  }
}

/** {@link located} for a whole keyword table (and a place for the table's type to flow in). */
export function locatedAll<T extends { readonly at: Map<string, SourcePosition> }>(specs: readonly KeywordSpec<T>[]): KeywordSpec<T>[] {
  return specs.map((s) => located(s))
}

type NotifyKey = keyof NotifyDraft

/** Notify scripts: keepalived keeps the first and ignores a second one with a message. */
export function notifyKeyword<T extends NotifyDraft>(name: string, key: NotifyKey): KeywordSpec<T> {
  return {
    name, tier: 2,
    parse(stmt, draft, ctx) {
      if (!noBlock(stmt, ctx)) return
      const s: ScriptSpec | undefined = readScript(stmt, ctx)
      if (!s) return
      if (draft[key]) {
        ctx.diags.warning(stmt.pos, 'KA_CONF_DUPLICATE', `${name} script already specified; ignoring ${s.command}`, {
          context: ctx.context,
          hint: 'keepalived keeps the first one, unlike most keywords where the last one wins',
        })
        return
      }
      draft[key] = s
    },
    dump() {},
  }
}

export const NOTIFY_KEYWORDS: readonly [string, NotifyKey][] = [
  ['notify_master', 'notifyMaster'], ['notify_backup', 'notifyBackup'], ['notify_fault', 'notifyFault'],
  ['notify_stop', 'notifyStop'], ['notify', 'notify'],
]
