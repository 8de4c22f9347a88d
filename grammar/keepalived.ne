# keepalived.conf after preprocessing and lexing (src/config/preprocess.ts,
# src/config/lexer.ts): statements, some of which open a block. The terminals
# are the lexer's tokens, each ending at a brace and carrying the plain
# statements before it: `open` (… keyword {), `close` (… }) and `end` (the
# statements after the last brace). The grammar pairs the braces, and so
# decides which block every statement belongs to.
#
# A block is `%open` then its `body` (the items and the `}`), not a rule
# `%open items %close` of its own: nearley then makes 5 states per terminal
# instead of 5.5. (Writing the block out in full inside `items` makes 4, but
# nearley's completed states keep their left siblings, so the whole parse
# forest stays alive to the end: 2.5× the heap. A `next` terminal for
# `} … keyword {` was measured too: fewer terminals, more states.)
#
# Lists are built as cons cells and flattened once per block: postprocessors
# never mutate their inputs (Earley keeps abandoned alternatives alive) and a
# copy-on-append list would make a 100k-line file quadratic.
@preprocessor typescript

@{%
import { BlockStatementNode, type CloseToken, type EndToken, type OpenToken, StatementBase } from './lexer.js'
import type { Statement } from './tree.js'

/** What one block contributes to its parent: the plain statements before it, then itself. */
interface Item { readonly before: readonly Statement[]; readonly block: Statement }
interface Cons { readonly head: Item; readonly tail: Cons | null }

const tokenTypes = new Set(['open', 'close', 'end'])
const lexer = { has: (name: string) => tokenTypes.has(name) }

/** The statements of `items` in file order, then `after`, in an array of exactly their number. */
function flatten(items: Cons | null, after: readonly Statement[]): Statement[] {
  let n = after.length
  for (let c = items; c !== null; c = c.tail) n += c.head.before.length + 1
  const out = new Array<Statement>(n)
  for (let k = after.length - 1; k >= 0; k--) out[--n] = after[k]!
  // The cons list runs from the last item back to the first.
  for (let c = items; c !== null; c = c.tail) {
    out[--n] = c.head.block
    const before = c.head.before
    for (let k = before.length - 1; k >= 0; k--) out[--n] = before[k]!
  }
  return out
}

/** A block's statements and its closing brace. */
interface Body { readonly statements: Statement[]; readonly close: CloseToken }

function body(items: Cons | null, close: CloseToken): Body {
  // A block of plain statements is the closing token's own array: the lexer makes
  // one of exactly the right size per token, shared with nothing but the empty one.
  return { statements: items === null ? (close.statements as Statement[]) : flatten(items, close.statements), close }
}

/** `items`, then the block `open body`. */
function block(items: Cons | null, open: OpenToken, b: Body): Cons {
  // balanceBraces drops every `{` that has no keyword before it.
  const h = open.header!
  const close = b.close.pos
  // Statements built by hand (tests) may be plain objects.
  const node = h instanceof StatementBase
    ? new BlockStatementNode(h.keywordWord, h.args, h.file, h.line, b.statements, open.pos, close)
    : new BlockStatementNode(h.keywordWord, h.args, h.pos.file, h.pos.line, b.statements, open.pos, close)
  return { head: { before: open.statements, block: node }, tail: items }
}
%}

@lexer lexer

config -> items %end                   {% ([items, end]) => flatten(items, (end as EndToken).statements) %}

items  -> null                         {% () => null %}
        | items %open body             {% ([items, open, b]) => block(items, open, b) %}

body   -> items %close                 {% ([items, close]) => body(items, close) %}
