/**
 * Blocks as data. A {@link BlockSchema} lists the keywords a block accepts;
 * each {@link KeywordSpec} knows how to read its statement into a draft and how
 * to write the value back as canonical keepalived.conf text. One table drives
 * parsing, `--dump-conf` and the round-trip property test, so they cannot drift.
 */
import type { Diagnostics } from './diagnostics.js'
import type { Statement } from './tree.js'
import {
  arg,
  type BuildContext,
  closest,
  formatTimer,
  noExtraArgs,
  quoteWord,
  readInt,
  readIp,
  readOptionalBool,
  readTimer,
  wordPos,
} from './values.js'

/** Tiers from the reference: T1/T2 are typed fields; T3 are kept with a "not supported yet" warning. */
export type Tier = 1 | 2 | 3

export interface KeywordSpec<T> {
  readonly name: string
  /** Other spellings keepalived accepts for the same keyword. */
  readonly aliases?: readonly Alias[]
  readonly tier: Tier
  /** Read the statement (and its block, if any) into the draft. */
  parse(stmt: Statement, draft: T, ctx: BuildContext): void
  /** Write the value back; nothing when it is absent. */
  dump(model: T, out: ConfWriter): void
}

export interface Alias {
  readonly name: string
  /** keepalived's deprecation message, where it prints one. */
  readonly deprecated?: string
}

export interface BlockSchema<T> {
  /** The block's keyword as written in the file, e.g. `TCP_CHECK`. */
  readonly name: string
  readonly keywords: readonly KeywordSpec<T>[]
  /** Hints for keywords that are not valid here but that operators write here anyway. */
  readonly misplaced?: Readonly<Record<string, string>>
}

/** Keyword lookup tables, built once per schema. */
const lookups = new WeakMap<BlockSchema<unknown>, Map<string, { spec: KeywordSpec<unknown>; alias: Alias | undefined }>>()

function lookup<T>(schema: BlockSchema<T>): Map<string, { spec: KeywordSpec<T>; alias: Alias | undefined }> {
  let table = lookups.get(schema as BlockSchema<unknown>)
  if (!table) {
    table = new Map()
    for (const spec of schema.keywords as readonly KeywordSpec<unknown>[]) {
      table.set(spec.name, { spec, alias: undefined })
      for (const alias of spec.aliases ?? []) table.set(alias.name, { spec, alias })
    }
    lookups.set(schema as BlockSchema<unknown>, table)
  }
  return table as Map<string, { spec: KeywordSpec<T>; alias: Alias | undefined }>
}

/** Statements of a block whose keyword no spec claims, kept for the "not supported" path. */
export interface RawStatement {
  readonly keyword: string
  readonly args: readonly string[]
  readonly block: readonly RawStatement[] | undefined
}

export function toRaw(stmt: Statement): RawStatement {
  return { keyword: stmt.keyword, args: stmt.args.map((w) => w.text), block: stmt.block?.map(toRaw) }
}

/**
 * Read `statements` into `draft` with `schema`. Unknown keywords are errors with a
 * "did you mean"; an unknown keyword that opens a block skips the whole block
 * (keepalived would apply its contents to the enclosing block: reference §0.1).
 */
export function applySchema<T>(schema: BlockSchema<T>, statements: readonly Statement[], draft: T, ctx: BuildContext): T {
  const table = lookup(schema)
  for (let i = 0; i < statements.length; i++) {
    const stmt = statements[i]!
    const hit = table.get(stmt.keyword)
    if (!hit) {
      reportUnknown(schema, stmt, ctx, [...table.keys()])
      continue
    }
    if (hit.alias?.deprecated) {
      ctx.diags.warning(stmt.pos, 'KA_CONF_DEPRECATED', hit.alias.deprecated, { context: ctx.context, verdict: 'none' })
    }
    if (hit.spec.tier === 3) ctx.diags.unsupported(stmt.pos, stmt.keyword, ctx.context)
    hit.spec.parse(stmt, draft, ctx)
  }
  return draft
}

function reportUnknown<T>(schema: BlockSchema<T>, stmt: Statement, ctx: BuildContext, known: string[]): void {
  const misplaced = schema.misplaced?.[stmt.keyword]
  const suggestion = misplaced ? undefined : closest(stmt.keyword, known)
  const hint = misplaced ?? (suggestion ? `did you mean '${suggestion}'?` : undefined)
  if (stmt.block) {
    ctx.diags.error(stmt.pos, 'KA_CONF_UNKNOWN_BLOCK', `unknown keyword '${stmt.keyword}' opens a block; the whole block is skipped`, {
      context: ctx.context,
      hint: hint ?? "keepalived would apply the block's contents to the enclosing block",
    })
  } else {
    ctx.diags.error(stmt.pos, 'KA_CONF_UNKNOWN_KEYWORD', `unknown keyword '${stmt.keyword}'`, { context: ctx.context, hint })
  }
}

/** A statement that must open a block: report if it does not. */
export function requireBlock(stmt: Statement, ctx: BuildContext): readonly Statement[] | undefined {
  if (!stmt.block) {
    ctx.diags.error(stmt.pos, 'KA_CONF_MISSING_BLOCK', `'${stmt.keyword}' must be followed by a '{' block`, { context: ctx.context })
    return undefined
  }
  return stmt.block
}

/** A statement that takes values and must not open a block. */
export function noBlock(stmt: Statement, ctx: BuildContext): boolean {
  if (stmt.block) {
    ctx.diags.error(stmt.open ?? stmt.pos, 'KA_CONF_UNEXPECTED_BLOCK', `'${stmt.keyword}' does not take a block; the block is skipped`, { context: ctx.context })
    return false
  }
  return true
}

export function childContext(ctx: BuildContext, what: string): BuildContext {
  return { diags: ctx.diags, context: ctx.context ? `${what} of ${ctx.context}` : what }
}

export function rootContext(diags: Diagnostics, what = ''): BuildContext {
  return { diags, context: what }
}

// ---------------------------------------------------------------------------
// Canonical text

/** Writes keepalived.conf text with four-space indentation. */
export class ConfWriter {
  private readonly lines: string[] = []
  private depth = 0

  line(keyword: string, ...args: readonly string[]): void {
    this.lines.push('    '.repeat(this.depth) + [keyword, ...args.map(quoteWord)].join(' '))
  }

  /** A line of words written as they are (already quoted where needed). */
  rawLine(text: string): void {
    this.lines.push('    '.repeat(this.depth) + text)
  }

  block(keyword: string, args: readonly string[], body: () => void): void {
    this.lines.push('    '.repeat(this.depth) + [keyword, ...args.map(quoteWord), '{'].join(' '))
    this.depth++
    body()
    this.depth--
    this.lines.push('    '.repeat(this.depth) + '}')
  }

  toString(): string {
    return this.lines.join('\n') + (this.lines.length ? '\n' : '')
  }
}

export function dumpSchema<T>(schema: BlockSchema<T>, model: T, out: ConfWriter): void {
  for (const spec of schema.keywords) spec.dump(model, out)
}

export function dumpRaw(raw: readonly RawStatement[], out: ConfWriter): void {
  for (const r of raw) {
    if (r.block) out.block(r.keyword, r.args, () => dumpRaw(r.block!, out))
    else out.line(r.keyword, ...r.args)
  }
}

// ---------------------------------------------------------------------------
// Keyword spec factories for the common value shapes. `K` is a key of the draft
// whose type matches the value read.

type KeysOfType<T, V> = { [K in keyof T]-?: NonNullable<T[K]> extends V ? (V extends NonNullable<T[K]> ? K : never) : never }[keyof T]
type Mutable<T> = { -readonly [K in keyof T]: T[K] }

interface Common {
  aliases?: readonly Alias[]
  tier?: Tier
}

function set<T>(draft: T, key: keyof T, value: unknown): void {
  ;(draft as Mutable<T>)[key] = value as T[keyof T]
}

/** `keyword N` with a range. */
export function intKeyword<T>(name: string, key: KeysOfType<T, number>, min: number, max: number, opts: Common = {}): KeywordSpec<T> {
  return {
    name, tier: opts.tier ?? 2, aliases: opts.aliases,
    parse(stmt, draft, ctx) {
      if (!noBlock(stmt, ctx)) return
      const v = readInt(stmt, ctx, arg(stmt, ctx, 0, 'a number'), min, max)
      if (v !== undefined) set(draft, key, v)
      noExtraArgs(stmt, ctx, 1)
    },
    dump(model, out) {
      const v = model[key]
      if (v !== undefined) out.line(name, String(v))
    },
  }
}

/** `keyword SECONDS` as a `<TIMER>` stored in microseconds. */
export function timerKeyword<T>(name: string, key: KeysOfType<T, number>, minUs = 0, maxUs = Number.MAX_SAFE_INTEGER, opts: Common = {}): KeywordSpec<T> {
  return {
    name, tier: opts.tier ?? 2, aliases: opts.aliases,
    parse(stmt, draft, ctx) {
      if (!noBlock(stmt, ctx)) return
      const v = readTimer(stmt, ctx, arg(stmt, ctx, 0, 'a time in seconds'), minUs, maxUs)
      if (v !== undefined) set(draft, key, v)
      noExtraArgs(stmt, ctx, 1)
    },
    dump(model, out) {
      const v = model[key]
      if (v !== undefined) out.line(name, formatTimer(v as number))
    },
  }
}

/** `keyword [<BOOL>]`: present alone means true. Dumps `keyword` or `keyword false`. */
export function boolKeyword<T>(name: string, key: KeysOfType<T, boolean>, opts: Common = {}): KeywordSpec<T> {
  return {
    name, tier: opts.tier ?? 2, aliases: opts.aliases,
    parse(stmt, draft, ctx) {
      if (!noBlock(stmt, ctx)) return
      const v = readOptionalBool(stmt, ctx)
      if (v !== undefined) set(draft, key, v)
    },
    dump(model, out) {
      const v = model[key]
      if (v === true) out.line(name)
      else if (v === false) out.line(name, 'false')
    },
  }
}

/** A flag that takes no value (`nopreempt`, `lvs_flush`). */
export function flagKeyword<T>(name: string, key: KeysOfType<T, boolean>, opts: Common = {}): KeywordSpec<T> {
  return {
    name, tier: opts.tier ?? 2, aliases: opts.aliases,
    parse(stmt, draft, ctx) {
      if (!noBlock(stmt, ctx)) return
      set(draft, key, true)
      noExtraArgs(stmt, ctx, 0)
    },
    dump(model, out) {
      if (model[key] === true) out.line(name)
    },
  }
}

/** `keyword WORD` (one word, possibly quoted). */
export function stringKeyword<T>(name: string, key: KeysOfType<T, string>, opts: Common & { what?: string } = {}): KeywordSpec<T> {
  return {
    name, tier: opts.tier ?? 2, aliases: opts.aliases,
    parse(stmt, draft, ctx) {
      if (!noBlock(stmt, ctx)) return
      const w = arg(stmt, ctx, 0, opts.what ?? 'a value')
      if (w) set(draft, key, w.text)
      noExtraArgs(stmt, ctx, 1)
    },
    dump(model, out) {
      const v = model[key]
      if (v !== undefined) out.line(name, v as string)
    },
  }
}

/** `keyword WORD` from a fixed set. */
export function enumKeyword<T, V extends string>(name: string, key: KeysOfType<T, V>, values: readonly V[], opts: Common & { caseInsensitive?: boolean } = {}): KeywordSpec<T> {
  return {
    name, tier: opts.tier ?? 2, aliases: opts.aliases,
    parse(stmt, draft, ctx) {
      if (!noBlock(stmt, ctx)) return
      const w = arg(stmt, ctx, 0, `one of ${values.join('|')}`)
      if (!w) return
      const text = opts.caseInsensitive ? w.text.toUpperCase() : w.text
      const v = values.find((x) => (opts.caseInsensitive ? x.toUpperCase() : x) === text)
      if (v === undefined) {
        const near = closest(w.text, values)
        ctx.diags.error(wordPos(stmt, w), 'KA_CONF_BAD_VALUE', `${name}: '${w.text}' is not one of ${values.join('|')}`, {
          context: ctx.context,
          hint: near ? `did you mean '${near}'?` : undefined,
        })
      } else set(draft, key, v)
      noExtraArgs(stmt, ctx, 1)
    },
    dump(model, out) {
      const v = model[key]
      if (v !== undefined) out.line(name, v as string)
    },
  }
}

/** `keyword IP`. */
export function ipKeyword<T>(name: string, key: KeysOfType<T, string>, opts: Common = {}): KeywordSpec<T> {
  return {
    name, tier: opts.tier ?? 2, aliases: opts.aliases,
    parse(stmt, draft, ctx) {
      if (!noBlock(stmt, ctx)) return
      const v = readIp(stmt, ctx, arg(stmt, ctx, 0, 'an IP address'))
      if (v !== undefined) set(draft, key, v)
      noExtraArgs(stmt, ctx, 1)
    },
    dump(model, out) {
      const v = model[key]
      if (v !== undefined) out.line(name, v as string)
    },
  }
}

/** A value block: `keyword { entry \n entry }`, one entry per line (reference §0.5). */
export function listKeyword<T, E>(
  name: string,
  key: KeysOfType<T, readonly E[]>,
  readEntry: (stmt: Statement, ctx: BuildContext) => E | undefined,
  writeEntry: (entry: E) => string,
  opts: Common = {},
): KeywordSpec<T> {
  return {
    name, tier: opts.tier ?? 2, aliases: opts.aliases,
    parse(stmt, draft, ctx) {
      const body = requireBlock(stmt, ctx)
      if (!body) return
      const list = [...(((draft as Record<keyof T, unknown>)[key] as E[] | undefined) ?? [])]
      const inner = childContext(ctx, name)
      for (const entry of body) {
        if (entry.block) {
          ctx.diags.error(entry.open ?? entry.pos, 'KA_CONF_UNEXPECTED_BLOCK', `entries of '${name}' do not take a block; the block is skipped`, { context: inner.context })
          continue
        }
        const e = readEntry(entry, inner)
        if (e !== undefined) list.push(e)
      }
      set(draft, key, list)
    },
    dump(model, out) {
      const list = model[key] as readonly E[] | undefined
      if (list === undefined) return
      out.block(name, [], () => {
        for (const e of list) out.rawLine(writeEntry(e))
      })
    },
  }
}

/** `keyword SCRIPT [USER [GROUP]]` as keepalived reads notify and check scripts. */
export interface ScriptSpec {
  /** The command as written (a quoted command keeps its spaces). */
  readonly command: string
  readonly user: string | undefined
  readonly group: string | undefined
}

export function readScript(stmt: Statement, ctx: BuildContext): ScriptSpec | undefined {
  const cmd = arg(stmt, ctx, 0, 'a script')
  if (!cmd) return undefined
  noExtraArgs(stmt, ctx, 3)
  return { command: cmd.text, user: stmt.args[1]?.text, group: stmt.args[2]?.text }
}

export function scriptWords(s: ScriptSpec): string[] {
  return [s.command, ...(s.user !== undefined ? [s.user] : []), ...(s.group !== undefined ? [s.group] : [])]
}

export function scriptKeyword<T>(name: string, key: KeysOfType<T, ScriptSpec>, opts: Common = {}): KeywordSpec<T> {
  return {
    name, tier: opts.tier ?? 2, aliases: opts.aliases,
    parse(stmt, draft, ctx) {
      if (!noBlock(stmt, ctx)) return
      const s = readScript(stmt, ctx)
      if (s) set(draft, key, s)
    },
    dump(model, out) {
      const v = model[key] as ScriptSpec | undefined
      if (v !== undefined) out.line(name, ...scriptWords(v))
    },
  }
}

/**
 * A T3 keyword we keep as written: any arguments, any block. Parsing stores it in the
 * draft's `unsupported` list (the warning is issued by {@link applySchema}).
 */
export function keptKeyword<T extends { unsupported: readonly RawStatement[] }>(name: string): KeywordSpec<T> {
  return {
    name, tier: 3,
    parse(stmt, draft) {
      set(draft, 'unsupported', [...draft.unsupported, toRaw(stmt)])
    },
    // Written once for all kept keywords by the block's own dump, in file order.
    dump() {},
  }
}
