# keepalived.conf after preprocessing and lexing (src/config/preprocess.ts,
# src/config/lexer.ts): a sequence of statements, each a line of words that may
# open a block. Terminals are the lexer's tokens: `line`, `lbrace`, `rbrace`.
#
# Lists are built as cons cells and flattened once per block: postprocessors
# never mutate their inputs (Earley keeps abandoned alternatives alive) and a
# copy-on-append list would make a 100k-line file quadratic.
@preprocessor typescript

@{%
import type { Token } from './lexer.js'
import type { Statement } from './tree.js'

interface Cons { readonly head: Statement; readonly tail: Cons | null }

const tokenTypes = new Set(['line', 'lbrace', 'rbrace'])
const lexer = { has: (name: string) => tokenTypes.has(name) }

function flatten(list: Cons | null): Statement[] {
  const out: Statement[] = []
  for (let c = list; c !== null; c = c.tail) out.push(c.head)
  return out.reverse()
}

function leaf(line: Token & { type: 'line' }): Statement {
  const [keyword, ...args] = line.words
  return { keyword: keyword!.text, args, pos: line.pos, keywordWord: keyword!, block: undefined, open: undefined, close: undefined }
}
%}

@lexer lexer

config     -> statements                               {% ([s]) => flatten(s) %}

statements -> null                                     {% () => null %}
            | statements statement                     {% ([tail, head]) => ({ head, tail }) %}

statement  -> %line                                    {% ([l]) => leaf(l) %}
            | %line %lbrace statements %rbrace         {% ([l, open, body, close]) => ({ ...leaf(l), block: flatten(body), open: open.pos, close: close.pos }) %}
