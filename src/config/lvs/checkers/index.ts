/** The checker kinds a real_server block accepts, as keywords of that block. */
import type { ConfWriter, KeywordSpec } from '../../schema.js'
import { append, type CheckerDraft, type RealServerDraft } from '../draft.js'
import type { Checker, CheckerKind } from '../model.js'
import { type Inherited, readCheckerBlock } from './common.js'
import { httpGet, sslGet } from './http.js'
import type { CheckerType } from './kind.js'
import { miscCheck } from './misc.js'
import { dnsCheck, pingCheck, smtpCheck, tcpCheck, udpCheck } from './others.js'
import { bfdCheck, fileCheck } from './track.js'

type AnyCheckerType = CheckerType<CheckerDraft, Checker>

const TYPES = [tcpCheck, httpGet, sslGet, miscCheck, smtpCheck, dnsCheck, udpCheck, pingCheck, fileCheck, bfdCheck] as unknown as readonly AnyCheckerType[]

const BY_KIND = new Map<CheckerKind, AnyCheckerType>(TYPES.map((t) => [t.kind, t]))

const TIERS: Partial<Record<CheckerKind, 1 | 2 | 3>> = { TCP_CHECK: 1, HTTP_GET: 1, SSL_GET: 2, MISC_CHECK: 2 }

function checkerKeyword(type: AnyCheckerType): KeywordSpec<RealServerDraft> {
  return {
    name: type.kind, tier: TIERS[type.kind] ?? 3,
    parse(stmt, rs, ctx) {
      const d = readCheckerBlock(stmt, ctx, type.schema, type.create(stmt.pos))
      if (d && type.end(d, rs.address ?? '', ctx)) rs.checkerDrafts = append(rs.checkerDrafts, d)
    },
    // Checkers are written in file order by the real server's own dump.
    dump() {},
  }
}

export const checkerKeywords: readonly KeywordSpec<RealServerDraft>[] = TYPES.map(checkerKeyword)

export function finishChecker(d: CheckerDraft, from: Inherited): Checker {
  return BY_KIND.get(d.kind!)!.finish(d, from)
}

export function dumpChecker(c: Checker, out: ConfWriter): void {
  const type = BY_KIND.get(c.kind)!
  out.block(c.kind, [], () => type.dumpBody(c, out))
}

export type { Inherited }
