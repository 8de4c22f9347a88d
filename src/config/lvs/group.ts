/** `virtual_server_group NAME { }` (reference §1.10): one entry per line, as keepalived's alloc_vsg_entry() reads it. */
import { childContext, type ConfWriter, type KeywordSpec, requireBlock } from '../schema.js'
import type { Statement } from '../tree.js'
import { arg, type BuildContext, noExtraArgs, wordPos } from '../values.js'
import { compareAddresses, formatAddress, type Groups, parseAddress, prefixEnd } from './address.js'
import type { GroupDraft, LvsDraft } from './draft.js'
import { configError } from './keywords.js'
import type { GroupAddressEntry, GroupEntry, GroupFwmarkEntry, VirtualServerGroup } from './model.js'

const UINT_MAX = 4294967295

function readFwmarkEntry(stmt: Statement, group: string, ctx: BuildContext): GroupFwmarkEntry | undefined {
  const w = arg(stmt, ctx, 0, 'a firewall mark')
  if (!w) return undefined
  const mark = /^\d+$/.test(w.text) ? Number(w.text) : NaN
  if (!(mark <= UINT_MAX)) return void configError(stmt, ctx, `(${group}): fwmark '${w.text}' must be in [0, ${UINT_MAX}] - ignoring`)
  const f = stmt.args[1]
  if (f && f.text !== 'inet' && f.text !== 'inet6') return void configError(stmt, ctx, `(${group}): fwmark '${mark}' family ${f.text} unknown - ignoring`, 'inet or inet6')
  noExtraArgs(stmt, ctx, 2)
  return { kind: 'fwmark', pos: stmt.pos, fwmark: mark, family: f?.text as 'inet' | 'inet6' | undefined }
}

interface Range {
  first: string
  last: string
  prefixLength: number | undefined
}

/** `IP/PREFIX`: the host bits must be clear. */
function prefixRange(stmt: Statement, ctx: BuildContext, text: string, start: Groups, first: string, mask: string): Range | undefined {
  const bits = start.length * 16
  const prefix = /^\d+$/.test(mask) ? Number(mask) : NaN
  if (!(prefix >= 1 && prefix <= bits)) return void configError(stmt, ctx, `Invalid netmask - ${text} - skipping`)
  const end = prefixEnd(start, prefix)
  if (!end) return void configError(stmt, ctx, `Address mask bits not empty - ${text} - skipping`, `the first address of a /${prefix} has its last ${bits - prefix} bits clear`)
  return { first, last: formatAddress(end), prefixLength: prefix }
}

/** `IP-LAST`: the last IPv4 octet in decimal or the last IPv6 group in hex, which must exceed the start's. */
function lastPartRange(stmt: Statement, ctx: BuildContext, text: string, start: Groups, first: string, rest: string): Range | undefined {
  const v6 = start.length === 8
  const m = (v6 ? /^[0-9a-fA-F]*/ : /^\d*/).exec(rest)![0]
  const extra = rest.slice(m.length)
  if (extra) return void configError(stmt, ctx, `Virtual server group range '${text}' has extra characters at end '${extra}'`)
  const end = m ? parseInt(m, v6 ? 16 : 10) : 0
  if (end > (v6 ? 0xffff : 255)) return void configError(stmt, ctx, `Virtual server group range '${text}' end '${rest}' too large`)
  const last = start.slice()
  const startPart = v6 ? start[7]! : start[1]! & 255
  if (v6) last[7] = end
  else last[1] = (start[1]! & 0xff00) | end
  if (startPart >= end) return void configError(stmt, ctx, `Address range end is not greater than address range start - ${text} - skipping`)
  return { first, last: formatAddress(last), prefixLength: undefined }
}

function readRange(stmt: Statement, ctx: BuildContext, text: string, badAddress: () => undefined): Range | undefined {
  const slash = text.indexOf('/')
  const dash = text.indexOf('-')
  const cut = slash >= 0 ? slash : dash
  const first = cut >= 0 ? text.slice(0, cut) : text
  const start = parseAddress(first)
  if (!start) return badAddress()
  if (slash >= 0) return prefixRange(stmt, ctx, text, start, first, text.slice(slash + 1))
  if (dash < 0) return { first, last: first, prefixLength: undefined }
  const rest = text.slice(dash + 1)
  if (!rest.includes(start.length === 8 ? ':' : '.')) return lastPartRange(stmt, ctx, text, start, first, rest)
  const end = parseAddress(rest)
  if (!end) return void configError(stmt, ctx, `Invalid range end ${text} - skipping`)
  if (end.length !== start.length) return void configError(stmt, ctx, `Range address families do not match ${text} - skipping`)
  if (compareAddresses(end, start) < 0) return void configError(stmt, ctx, `Address range end is less than address range start - ${text} - skipping`)
  return { first, last: rest, prefixLength: undefined }
}

function readAddressEntry(stmt: Statement, ctx: BuildContext): GroupAddressEntry | undefined {
  const text = stmt.keyword
  const portWord = stmt.args[0]
  const zero = portWord === undefined || /^0+$/.test(portWord.text)
  const port = zero ? 0 : /^\d+$/.test(portWord.text) ? Number(portWord.text) : NaN
  const badAddress = (): undefined => {
    const portText = zero ? '' : `/port/${portWord!.text}`
    ctx.diags.error(wordPos(stmt, !zero && parseAddress(text.split(/[-/]/)[0]!) ? portWord : stmt.keywordWord), 'KA_CONF_BAD_VALUE',
      `Invalid virtual server group IP address ${text} ${portText} - skipping`, { context: ctx.context })
    return undefined
  }
  if (!(port >= 0 && port <= 65535)) return badAddress()
  const range = readRange(stmt, ctx, text, badAddress)
  if (!range) return undefined
  noExtraArgs(stmt, ctx, 1)
  return { kind: 'address', pos: stmt.pos, ...range, port }
}

function readEntry(stmt: Statement, group: string, ctx: BuildContext): GroupEntry | undefined {
  if (stmt.block) {
    ctx.diags.error(stmt.open ?? stmt.pos, 'KA_CONF_UNEXPECTED_BLOCK', 'entries of virtual_server_group do not take a block; the block is skipped', { context: ctx.context })
    return undefined
  }
  return stmt.keyword === 'fwmark' ? readFwmarkEntry(stmt, group, ctx) : readAddressEntry(stmt, ctx)
}

/** keepalived's vsg_handler(): an empty group, or one mixing families with a family-less fwmark, is removed. */
function groupUsable(stmt: Statement, name: string, entries: readonly GroupEntry[], ctx: BuildContext): boolean {
  const at = stmt.close ?? stmt.pos
  if (!entries.length) {
    ctx.diags.warning(at, 'KA_CONF_EMPTY', `virtual server group ${name} has no entries - removing`, { context: ctx.context })
    return false
  }
  let v4 = false
  let v6 = false
  let bareFwmark = false
  for (const e of entries) {
    if (e.kind === 'fwmark') {
      if (e.family === 'inet') v4 = true
      else if (e.family === 'inet6') v6 = true
      else bareFwmark = true
    } else if (e.first.includes(':')) v6 = true
    else v4 = true
  }
  if (v4 && v6 && bareFwmark) {
    ctx.diags.error(at, 'KA_CONF_FAMILY', `virtual server group ${name} cannot have IPv4, IPv6 and fwmark without family - removing`, {
      context: ctx.context, hint: "give each fwmark entry 'inet' or 'inet6'",
    })
    return false
  }
  return true
}

export const virtualServerGroupKeyword: KeywordSpec<LvsDraft> = {
  name: 'virtual_server_group', tier: 2,
  parse(stmt, lvs, ctx) {
    const body = requireBlock(stmt, ctx)
    const name = body && arg(stmt, ctx, 0, 'a group name')
    if (!body || !name) return
    noExtraArgs(stmt, ctx, 1)
    const inner = childContext(ctx, `virtual_server_group ${name.text}`)
    const entries: GroupEntry[] = []
    for (const s of body) {
      const e = readEntry(s, name.text, inner)
      if (e) entries.push(e)
    }
    if (groupUsable(stmt, name.text, entries, inner)) lvs.groups.push({ pos: stmt.pos, name: name.text, entries } satisfies GroupDraft)
  },
  // Groups are written by the section, before the virtual servers that use them.
  dump() {},
}

function entryWords(e: GroupEntry): string {
  if (e.kind === 'fwmark') return ['fwmark', String(e.fwmark), ...(e.family ? [e.family] : [])].join(' ')
  const range = e.prefixLength !== undefined ? `${e.first}/${e.prefixLength}` : e.first === e.last ? e.first : `${e.first}-${e.last}`
  return e.port ? `${range} ${e.port}` : range
}

export function dumpGroup(g: VirtualServerGroup, out: ConfWriter): void {
  out.block('virtual_server_group', [g.name], () => {
    for (const e of g.entries) out.rawLine(entryWords(e))
  })
}
