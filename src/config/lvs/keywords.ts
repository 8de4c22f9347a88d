/** Keyword shapes the checker side shares: forwarding methods, run-once scripts, bare flags, keepalived's names for servers. */
import { type KeywordSpec, noBlock, readScript, type ScriptSpec, scriptWords } from '../schema.js'
import type { Statement } from '../tree.js'
import { arg, type BuildContext, wordPos } from '../values.js'
import type { VirtualServerDraft } from './draft.js'
import type { ForwardingKind, LvsMethod, Protocol, TunnelChecksum, TunnelType } from './model.js'

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** A keepalived message about the statement itself, at the statement's line. */
export function configError(stmt: Statement, ctx: BuildContext, message: string, hint?: string): void {
  ctx.diags.error(stmt.pos, 'KA_CONF_BAD_VALUE', message, { context: ctx.context, hint })
}

// ---------------------------------------------------------------------------
// lvs_method

const KINDS: readonly ForwardingKind[] = ['NAT', 'DR', 'TUN']
const TUNNEL_TYPES: readonly TunnelType[] = ['ipip', 'gue', 'gre']
const CHECKSUMS: readonly TunnelChecksum[] = ['nocsum', 'csum', 'remcsum']

/**
 * keepalived's svr_forwarding_handler(): the options are read (and checked) for
 * every method, but only TUN keeps them. `server` is keepalived's word for the
 * block in its messages: virtual, real or sorry.
 */
export function readLvsMethod(stmt: Statement, ctx: BuildContext, server: string): LvsMethod | undefined {
  const w = arg(stmt, ctx, 0, 'NAT, DR or TUN')
  if (!w) return undefined
  const kind = KINDS.find((k) => k === w.text)
  if (!kind) {
    ctx.diags.error(wordPos(stmt, w), 'KA_CONF_BAD_VALUE', `PARSER : unknown [${w.text}] routing method for ${server} server.`, {
      context: ctx.context,
      hint: 'the method is NAT, DR or TUN, in capitals',
    })
    return undefined
  }
  const m: Mutable<LvsMethod> = { kind, tunnelType: 'ipip', tunnelPort: undefined, tunnelChecksum: 'nocsum' }
  if (!readTunnelOptions(stmt, ctx, server, m)) return undefined
  if (kind !== 'TUN') return { kind, tunnelType: undefined, tunnelPort: undefined, tunnelChecksum: undefined }
  return m
}

function readTunnelOptions(stmt: Statement, ctx: BuildContext, server: string, m: Mutable<LvsMethod>): boolean {
  const a = stmt.args
  for (let i = 1; i < a.length; i++) {
    const w = a[i]!
    const next = a[i + 1]
    if (w.text === 'type') {
      if (!next) return fail(stmt, ctx, `Missing tunnel type for ${server} server.`)
      const t = TUNNEL_TYPES.find((x) => x === next.text)
      if (!t) return fail(stmt, ctx, `Unknown tunnel type ${next.text} for ${server} server.`)
      m.tunnelType = t
      i++
    } else if (w.text === 'port') {
      if (!next) return fail(stmt, ctx, `Missing port for ${server} server gue tunnel.`)
      const port = /^\d+$/.test(next.text) ? Number(next.text) : NaN
      if (!(port >= 1 && port <= 65535)) return fail(stmt, ctx, `Invalid gue tunnel port ${next.text} for ${server} server.`)
      m.tunnelPort = port
      i++
    } else {
      const c = CHECKSUMS.find((x) => x === w.text)
      if (!c) return fail(stmt, ctx, `Invalid tunnel option ${w.text} for ${server} server.`)
      m.tunnelChecksum = c
    }
  }
  if ((m.tunnelType === 'gue') !== (m.tunnelPort !== undefined)) return fail(stmt, ctx, 'gue tunnels require port, otherwise cannot have port.')
  if (m.tunnelType === 'ipip' && m.tunnelChecksum !== 'nocsum') return fail(stmt, ctx, 'ipip tunnels do not support checksum option.')
  if (m.tunnelType === 'gre' && m.tunnelChecksum === 'remcsum') return fail(stmt, ctx, 'gre tunnels do not support remote checksum option.')
  return true
}

function fail(stmt: Statement, ctx: BuildContext, message: string): false {
  configError(stmt, ctx, message)
  return false
}

export function lvsMethodWords(m: LvsMethod): string[] {
  if (m.kind !== 'TUN') return [m.kind]
  const words: string[] = ['TUN', 'type', m.tunnelType ?? 'ipip']
  if (m.tunnelPort !== undefined) words.push('port', String(m.tunnelPort))
  if (m.tunnelType !== 'ipip' && m.tunnelChecksum) words.push(m.tunnelChecksum)
  return words
}

export function sameMethod(a: LvsMethod | undefined, b: LvsMethod | undefined): boolean {
  return a === b || (!!a && !!b && a.kind === b.kind && a.tunnelType === b.tunnelType && a.tunnelPort === b.tunnelPort && a.tunnelChecksum === b.tunnelChecksum)
}

export function lvsMethodKeyword<T extends { lvsMethod?: LvsMethod | undefined }>(name: string, server: string, opts: { aliases?: string[]; tier?: 1 | 2 | 3 } = {}): KeywordSpec<T> {
  return {
    name, tier: opts.tier ?? 1, aliases: opts.aliases?.map((a) => ({ name: a })),
    parse(stmt, draft, ctx) {
      if (!noBlock(stmt, ctx)) return
      const m = readLvsMethod(stmt, ctx, server)
      if (m) draft.lvsMethod = m
    },
    dump(model, out) {
      if (model.lvsMethod) out.line(name, ...lvsMethodWords(model.lvsMethod))
    },
  }
}

// ---------------------------------------------------------------------------
// Scripts given once

/** notify_up / quorum_up and the like: keepalived keeps the first and reports the second. */
export function onceScriptKeyword<T>(name: string, get: (d: T) => ScriptSpec | undefined, set: (d: T, s: ScriptSpec) => void, tier: 1 | 2 | 3 = 2): KeywordSpec<T> {
  return {
    name, tier,
    parse(stmt, draft, ctx) {
      if (!noBlock(stmt, ctx)) return
      const s = readScript(stmt, ctx)
      if (!s) return
      if (get(draft)) {
        configError(stmt, ctx, `${name} script already specified - ignoring ${s.command}`, 'keepalived keeps the first one')
        return
      }
      set(draft, s)
    },
    dump(model, out) {
      const s = get(model)
      if (s) out.line(name, ...scriptWords(s))
    },
  }
}

// ---------------------------------------------------------------------------
// Flags that ignore their value

const FALSE_WORDS = new Set(['off', 'false', 'no', '0'])

/**
 * A virtual_server flag (`alpha`, `omega`, `ha_suspend`, `inhibit_on_failure`):
 * keepalived sets it whatever follows, so `alpha no` turns alpha on.
 */
export function vsFlagKeyword(name: string, key: 'alpha' | 'omega' | 'haSuspend' | 'inhibitOnFailure', onParse?: (d: VirtualServerDraft, stmt: Statement) => void): KeywordSpec<VirtualServerDraft> {
  return {
    name, tier: 2,
    parse(stmt, draft, ctx) {
      if (!noBlock(stmt, ctx)) return
      draft[key] = true
      onParse?.(draft, stmt)
      const w = stmt.args[0]
      if (w && FALSE_WORDS.has(w.text)) {
        ctx.diags.warning(wordPos(stmt, w), 'KA_CONF_SURPRISE', `'${name}' takes no value in a virtual_server; '${w.text}' is ignored and ${name} is on`, {
          context: ctx.context,
          verdict: 'none',
          hint: `remove the line to leave ${name} off`,
        })
      }
    },
    dump(model, out) {
      if (model[key] === true) out.line(name)
    },
  }
}

// ---------------------------------------------------------------------------
// Names as keepalived prints them (FMT_VS / FMT_RS)

export function protocolWord(p: Protocol | undefined): string {
  return p ? p.toLowerCase() : 'none'
}

/** `[10.0.0.1]:tcp:80`, as inet_sockaddrtotrio() writes it. */
export function formatTrio(address: string, protocol: Protocol | undefined, port: number): string {
  return `[${address}]:${protocolWord(protocol)}:${port}`
}

export interface VsName {
  readonly address?: string | undefined
  readonly port?: number | undefined
  readonly fwmark?: number | undefined
  readonly group?: string | undefined
  readonly protocol?: Protocol | undefined
}

export function formatVs(vs: VsName): string {
  if (vs.group !== undefined) return `[${vs.group}]:0`
  if (vs.fwmark !== undefined) return `FWM ${vs.fwmark}`
  return formatTrio(vs.address ?? '', vs.protocol, vs.port ?? 0)
}
