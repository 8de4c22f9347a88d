/** The contract each checker kind fulfils so real_server can read, finish and write it. */
import type { SourcePosition } from '../../diagnostics.js'
import type { BlockSchema, ConfWriter } from '../../schema.js'
import type { BuildContext } from '../../values.js'
import type { BlockMarks, CheckerDraft } from '../draft.js'
import type { Checker, CheckerKind } from '../model.js'
import type { Inherited } from './common.js'

export interface CheckerType<D extends CheckerDraft & BlockMarks, M extends Checker> {
  readonly kind: CheckerKind
  readonly schema: BlockSchema<D>
  create(pos: SourcePosition): D
  /** keepalived's end-of-block handler: false drops the checker (after reporting why). */
  end(draft: D, rsAddress: string, ctx: BuildContext): boolean
  finish(draft: D, from: Inherited): M
  /** The block's contents (the caller writes `KIND {` and `}`). */
  dumpBody(model: M, out: ConfWriter): void
}
