/**
 * One line of `virtual_rules` / `static_rules` in `ip rule add` syntax, read as
 * vrrp_iprule.c's alloc_rule() reads it. Selectors and actions the daemon does
 * not reason about stay as words.
 */
import type { Word } from '../lexer.js'
import type { Statement } from '../tree.js'
import { type BuildContext, type IpFamily, quoteWord, wordPos } from '../values.js'
import type { ParseState } from './draft.js'
import { checkPrefix, failLine, type LineReader, lineReader, lineValue, parsePrefixed, setLineFamily, SkipLine, warnLine } from './ip.js'
import type { IpRule } from './model.js'
import { ROUTE_TYPES } from './routes.js'

type Draft = Omit<{ -readonly [K in keyof IpRule]: IpRule[K] }, 'family' | 'preference' | 'options'> & {
  family: IpFamily | undefined
  preference: number | undefined
  options: string[]
  actions: string[]
  protocol: string | undefined
  tableOption: boolean
  gotoTarget: number | undefined
}

const SELECTORS = new Set([
  'tos', 'dsfield', 'fwmark', 'tunnel-id', 'uidrange', 'ipproto',
])
/** Options that only make sense with a `table` action. */
const TABLE_OPTIONS = new Set(['realms', 'suppress_prefixlength', 'sup_pl', 'suppress_ifgroup', 'sup_group'])
const RULE_ACTIONS = new Set(['blackhole', 'unreachable', 'prohibit'])

type Reader = LineReader

function readSelector(r: Reader, d: Draft, what: 'from' | 'to'): void {
  const v = lineValue(r)
  if (v.text === 'all' || v.text === 'any' || v.text === 'default') {
    d[what] = 'all'
    return
  }
  const p = parsePrefixed(v.text)
  if (!p) failLine(r, v, `invalid rule ${what} address '${v.text}'`)
  setLineFamily(r, d, p.family, v)
  d[what] = `${p.address}/${checkPrefix(r.stmt, r.ctx, v, p)}`
}

function readPreference(r: Reader, d: Draft): void {
  const v = lineValue(r)
  if (!/^\d+$/.test(v.text) || Number(v.text) > 0xffffffff) failLine(r, v, `invalid rule preference '${v.text}'`)
  d.preference = Number(v.text)
}

function addAction(r: Reader, d: Draft, w: Word, words: string[]): void {
  if (d.actions.length) failLine(r, w, 'a rule takes only one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev')
  d.actions.push(w.text)
  d.options.push(...words)
}

function readAction(r: Reader, d: Draft, w: Word): void {
  let word = w
  if (word.text === 'type') word = lineValue(r)
  if (word.text === 'goto') {
    const v = lineValue(r)
    if (!/^\d+$/.test(v.text)) failLine(r, v, `invalid goto target '${v.text}'`)
    d.gotoTarget = Number(v.text)
    return addAction(r, d, word, ['goto', v.text])
  }
  if (word.text === 'nop' || RULE_ACTIONS.has(word.text)) return addAction(r, d, word, [word.text])
  if (ROUTE_TYPES.has(word.text)) failLine(r, word, `invalid rule action '${word.text}'`)
  failLine(r, word, `unknown rule option '${word.text}'`)
}

function readOne(r: Reader, d: Draft): void {
  const w = r.words[r.i]!
  const t = w.text
  if (t === 'inet' || t === 'inet6') {
    setLineFamily(r, d, t === 'inet6' ? 6 : 4, w)
    // keepalived 2.2.7 steps over the next word (the option and the loop both advance).
    const skipped = r.words[++r.i]
    if (skipped) warnLine(r, skipped, `keepalived ignores the word '${skipped.text}' after '${t}'`, `write '${t}' at the end of the line`)
  } else if (t === 'from' || t === 'to') readSelector(r, d, t)
  else if (t === 'table' || t === 'lookup') readTable(r, d, w)
  else if (t === 'preference' || t === 'order' || t === 'priority') readPreference(r, d)
  else if (t === 'dev' || t === 'iif') d.iif = lineValue(r).text
  else if (t === 'oif') d.oif = lineValue(r).text
  else if (t === 'no_track') d.noTrack = true
  else if (t === 'track_group' && r.allowTrackGroup) d.trackGroup = lineValue(r).text
  else if (t === 'protocol') d.protocol = lineValue(r).text
  else if (t === 'not') d.options.push(t)
  else if (t === 'l3mdev') addAction(r, d, w, [t])
  else if (t === 'sport' || t === 'dport') readPortRange(r, d, w)
  else if (SELECTORS.has(t)) d.options.push(t, lineValue(r).text)
  else if (TABLE_OPTIONS.has(t)) {
    if (t === 'realms') setLineFamily(r, d, 4, w)
    d.tableOption = true
    d.options.push(t, lineValue(r).text)
  } else readAction(r, d, w)
}

/** keepalived 2.2.7 rejects a single port (its sscanf wants `N-M`) and drops the selector. */
function readPortRange(r: Reader, d: Draft, w: Word): void {
  const v = lineValue(r)
  if (/^\d+-\d+$/.test(v.text)) {
    d.options.push(w.text, v.text)
    return
  }
  r.ctx.diags.error(wordPos(r.stmt, v), 'KA_CONF_BAD_RULE', `invalid ${w.text} range '${v.text}'; the selector is ignored`, {
    context: r.ctx.context, hint: /^\d+$/.test(v.text) ? `keepalived 2.2.7 needs a range: write ${v.text}-${v.text}` : undefined,
  })
}

function readTable(r: Reader, d: Draft, w: Word): void {
  const v = lineValue(r)
  if (v.text === '0') failLine(r, v, 'table 0 is not valid')
  if (d.actions.length) failLine(r, w, 'a rule takes only one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev')
  d.actions.push('table')
  d.table = v.text
}

export interface RuleKind {
  readonly isStatic: boolean
}

export function readRule(stmt: Statement, ctx: BuildContext, kind: RuleKind, state: ParseState): IpRule | undefined {
  const r = lineReader(stmt, ctx, 'rule', kind.isStatic)
  const d: Draft = {
    pos: stmt.pos, family: undefined, from: undefined, to: undefined, table: undefined, preference: undefined,
    iif: undefined, oif: undefined, noTrack: false, trackGroup: undefined, options: [], actions: [], protocol: undefined,
    tableOption: false, gotoTarget: undefined,
  }
  try {
    for (; r.i < r.words.length; r.i++) readOne(r, d)
    checkRule(r, d)
  } catch (err) {
    if (err instanceof SkipLine) return undefined
    throw err
  }
  return finishRule(r, d, state)
}

function checkRule(r: Reader, d: Draft): void {
  if (d.gotoTarget !== undefined) {
    if (d.preference === undefined) failLine(r, undefined, `goto target ${d.gotoTarget} needs a preference`)
    if (d.preference >= d.gotoTarget) failLine(r, undefined, `preference ${d.preference} must be below goto target ${d.gotoTarget}`)
  }
  if (!d.actions.length) failLine(r, undefined, 'no action specified for the rule', "add 'table N', 'goto N', 'nop', 'blackhole', 'prohibit' or 'unreachable'")
  if (d.tableOption && !d.actions.includes('table')) failLine(r, undefined, 'realms/suppress_* need a table action')
  if (d.table !== undefined && d.actions.includes('l3mdev')) failLine(r, undefined, 'a table cannot be given for an l3mdev rule')
}

function finishRule(r: Reader, d: Draft, state: ParseState): IpRule {
  if (d.protocol !== undefined) {
    if (!d.noTrack && d.protocol !== '18') warnLine(r, undefined, "a tracked rule's protocol must be keepalived (18); keepalived resets it", "add 'no_track' to keep the protocol")
    d.options.push('protocol', d.protocol)
  }
  if (d.trackGroup !== undefined && d.iif === undefined) {
    warnLine(r, undefined, `a static rule needs 'dev'/'iif' to be tracked by track_group ${d.trackGroup}; track_group ignored`)
    d.trackGroup = undefined
  }
  const family = d.family ?? 4
  let preference = d.preference
  if (preference === undefined) {
    preference = state.nextRulePreference[family]--
    warnLine(r, undefined, `rule has no preference; keepalived sets ${preference}`, 'rules are added and removed as instances change state; give each a fixed preference')
  }
  const { actions: _a, protocol: _p, tableOption: _t, gotoTarget: _g, ...rule } = d
  return { ...rule, family, preference }
}

/** The rule as one canonical line; reading it back gives the same value. */
export function formatRule(rule: IpRule): string {
  const words: string[] = []
  if (rule.from !== undefined) words.push('from', rule.from)
  if (rule.to !== undefined) words.push('to', rule.to)
  if (rule.iif !== undefined) words.push('iif', rule.iif)
  if (rule.oif !== undefined) words.push('oif', rule.oif)
  words.push(...rule.options)
  if (rule.table !== undefined) words.push('table', rule.table)
  words.push('preference', String(rule.preference))
  if (rule.noTrack) words.push('no_track')
  if (rule.trackGroup !== undefined) words.push('track_group', rule.trackGroup)
  const addressFamily = [rule.from, rule.to].some((a) => a !== undefined && a !== 'all')
  // Last: keepalived ignores the word after `inet6`.
  if (rule.family === 6 && !addressFamily) words.push('inet6')
  return words.map(quoteWord).join(' ')
}

/** Interfaces a rule names. */
export function ruleInterfaces(rule: IpRule): string[] {
  return [rule.iif, rule.oif].filter((x): x is string => x !== undefined)
}
