# keepalived.conf after preprocessing and lexing (src/config/preprocess.ts,
# src/config/lexer.ts): statements, some of which open a block. The terminals
# are the lexer's tokens, each ending at a brace and carrying the plain
# statements before it: `open` (… keyword {), `close` (… }) and `end` (the
# statements after the last brace). The grammar pairs the braces, and so
# decides which block every statement belongs to.
#
# Lists are built as cons cells and flattened once per block: postprocessors
# never mutate their inputs (Earley keeps abandoned alternatives alive) and a
# copy-on-append list would make a 100k-line file quadratic.
@preprocessor typescript

@{%
import { type CloseToken, type EndToken, type OpenToken, StatementNode } from './lexer.js'
import type { Statement } from './tree.js'

/** What one `block` contributes to its parent: the plain statements before it, then itself. */
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

function blockItem(open: OpenToken, body: Cons | null, close: CloseToken): Item {
  // balanceBraces drops every `{` that has no keyword before it.
  const h = open.header!
  const block = flatten(body, close.statements)
  // Statements built by hand (tests) may be plain objects.
  const node = h instanceof StatementNode
    ? new StatementNode(h.keywordWord, h.args, h.file, h.line, block, open.pos, close.pos)
    : new StatementNode(h.keywordWord, h.args, h.pos.file, h.pos.line, block, open.pos, close.pos)
  return { before: open.statements, block: node }
}
%}

@lexer lexer

config -> items %end                   {% ([items, end]) => flatten(items, (end as EndToken).statements) %}

items  -> null                         {% () => null %}
        | items block                  {% ([tail, head]) => ({ head, tail }) %}

block  -> %open items %close           {% ([open, body, close]) => blockItem(open, body, close) %}
