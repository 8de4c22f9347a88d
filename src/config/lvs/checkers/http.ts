/** HTTP_GET and SSL_GET (keepalived check_http.c): urls, digests, status codes, regexes. */
import {
  applySchema, type BlockSchema, boolKeyword, childContext, dumpSchema, flagKeyword, type KeywordSpec, noBlock, requireBlock, stringKeyword,
} from '../../schema.js'
import type { Statement } from '../../tree.js'
import { arg, type BuildContext, noExtraArgs, readInt, wordPos } from '../../values.js'
import { append, type HttpDraft, type UrlDraft } from '../draft.js'
import { configError } from '../keywords.js'
import type { HttpCheck, HttpProtocol, HttpUrl, StatusCodeRange } from '../model.js'
import { checkerMisplaced, connectionKeywords, linkLocalNeedsBindIf, resolveConnection, resolveTiming, timingKeywords } from './common.js'
import type { CheckerType } from './kind.js'

const DEFAULT_STATUS: readonly StatusCodeRange[] = [{ min: 200, max: 299 }]

/** keepalived keeps a digest as 16 bytes and reports the last bad hex pair. */
const digestKeyword: KeywordSpec<UrlDraft> = {
  name: 'digest', tier: 1,
  parse(stmt, url, ctx) {
    if (!noBlock(stmt, ctx)) return
    const w = arg(stmt, ctx, 0, 'an MD5 digest (32 hex digits)')
    if (!w) return
    noExtraArgs(stmt, ctx, 1)
    const text = w.text
    if (url.digest !== undefined) return configError(stmt, ctx, `Digest '${text}' is a duplicate`, 'keepalived keeps the first digest')
    if (text.length !== 32) return configError(stmt, ctx, `digest '${text}' character length should be 32 rather than ${text.length}`, "compute it with 'genhash'")
    for (let i = 15; i >= 0; i--) {
      if (!/^[0-9a-fA-F]{2}$/.test(text.slice(2 * i, 2 * i + 2))) {
        return configError(stmt, ctx, `Unable to interpret hex digit in '${text}' at offset ${2 * i}/${2 * i + 1}`)
      }
    }
    url.digest = text.toLowerCase()
  },
  dump(url, out) {
    if (url.digest !== undefined) out.line('digest', url.digest)
  },
}

/** `status_code 200 301-302 ...`, accumulated like keepalived's bitmap. */
const statusCodeKeyword: KeywordSpec<UrlDraft> = {
  name: 'status_code', tier: 1,
  parse(stmt, url, ctx) {
    if (!noBlock(stmt, ctx) || !arg(stmt, ctx, 0, 'a status code or range')) return
    for (const w of stmt.args) {
      const m = /^(\d+)(?:-(\d+))?$/.exec(w.text)
      const min = m ? Number(m[1]) : NaN
      const max = m?.[2] !== undefined ? Number(m[2]) : min
      if (!(min >= 100 && max <= 599 && min <= max)) {
        ctx.diags.error(wordPos(stmt, w), 'KA_CONF_BAD_VALUE', `Invalid HTTP_GET status code '${w.text}'`, { context: ctx.context, hint: 'codes are 100-599, ranges low-high' })
        continue
      }
      url.statusCodes = append(url.statusCodes, { min, max })
    }
  },
  dump(url, out) {
    if (url.statusCodes?.length) out.line('status_code', ...url.statusCodes.map((r) => (r.min === r.max ? String(r.min) : `${r.min}-${r.max}`)))
  },
}

const REGEX_OPTIONS = new Set([
  'allow_empty_class', 'alt_bsux', 'auto_callout', 'caseless', 'dollar_endonly', 'dotall', 'dupnames', 'extended', 'firstline',
  'match_unset_backref', 'multiline', 'never_ucp', 'never_utf', 'no_auto_capture', 'no_auto_possess', 'no_dotstar_anchor',
  'no_start_optimize', 'ucp', 'ungreedy', 'utf', 'never_backslash_c', 'alt_circumflex', 'alt_verbnames', 'use_offset_limit',
])

/** keepalived logs these problems but does not count them as configuration errors. */
function note(stmt: Statement, ctx: BuildContext, message: string, at = stmt.pos): void {
  ctx.diags.warning(at, 'KA_CONF_IGNORED', message, { context: ctx.context, verdict: 'none' })
}

const regexOptionsKeyword: KeywordSpec<UrlDraft> = {
  name: 'regex_options', tier: 2,
  parse(stmt, url, ctx) {
    if (!noBlock(stmt, ctx)) return
    for (const w of stmt.args) {
      if (REGEX_OPTIONS.has(w.text)) url.regexOptions = append(url.regexOptions, w.text)
      else note(stmt, ctx, `regex_options: unknown option '${w.text}' is ignored`, wordPos(stmt, w))
    }
  },
  dump(url, out) {
    if (url.regexOptions?.length) out.line('regex_options', ...url.regexOptions)
  },
}

const regexStackKeyword: KeywordSpec<UrlDraft> = {
  name: 'regex_stack', tier: 3,
  parse(stmt, url, ctx) {
    if (!noBlock(stmt, ctx)) return
    const [a, b] = stmt.args
    const start = a && /^\d+$/.test(a.text) ? Number(a.text) : undefined
    const max = b && /^\d+$/.test(b.text) ? Number(b.text) : undefined
    if (stmt.args.length !== 2 || start === undefined || max === undefined) return note(stmt, ctx, 'regex_stack requires start and max values')
    if (start > max) return note(stmt, ctx, 'regex stack start cannot exceed max value')
    url.regexStack = { start, max }
  },
  dump(url, out) {
    if (url.regexStack) out.line('regex_stack', String(url.regexStack.start), String(url.regexStack.max))
  },
}

function regexOffsetKeyword(which: 'min' | 'max', key: 'regexMinOffset' | 'regexMaxOffset'): KeywordSpec<UrlDraft> {
  const name = `regex_${which}_offset`
  return {
    name, tier: 2,
    parse(stmt, url, ctx) {
      if (!noBlock(stmt, ctx)) return
      const w = stmt.args[0]
      if (stmt.args.length !== 1) return note(stmt, ctx, `Missing or too may options for ${name}`)
      if (!/^\d+$/.test(w!.text)) return note(stmt, ctx, `Invalid ${name} ${w!.text} specified`)
      url[key] = Number(w!.text)
    },
    dump(url, out) {
      const v = url[key]
      if (v !== undefined) out.line(name, String(v))
    },
  }
}

export const urlSchema: BlockSchema<UrlDraft> = {
  name: 'url',
  keywords: [
    stringKeyword<UrlDraft>('path', 'path', { tier: 1, what: 'a URL path' }),
    digestKeyword,
    statusCodeKeyword,
    stringKeyword<UrlDraft>('virtualhost', 'virtualhost', { what: 'a host name' }),
    stringKeyword<UrlDraft>('regex', 'regex', { what: 'a regular expression' }),
    flagKeyword<UrlDraft>('regex_no_match', 'regexNoMatch'),
    regexOptionsKeyword,
    regexStackKeyword,
    regexOffsetKeyword('min', 'regexMinOffset'),
    regexOffsetKeyword('max', 'regexMaxOffset'),
  ],
}

/** keepalived's url_check(): a url without a path is dropped; regex details without a regex are cleared. */
function endUrl(url: UrlDraft, ctx: BuildContext): boolean {
  if (url.path === undefined) {
    ctx.diags.error(url.close, 'KA_CONF_MISSING_VALUE', 'HTTP/SSL_GET checker url has no path - ignoring', { context: url.context, hint: "add 'path /...'" })
    return false
  }
  const regexDetails = url.regexOptions?.length || url.regexNoMatch || url.regexMinOffset !== undefined || url.regexMaxOffset !== undefined || url.regexStack
  if (url.regex === undefined && regexDetails) {
    ctx.diags.warning(url.close, 'KA_CONF_IGNORED', 'regex parameters specified without regex', { context: url.context, verdict: 'none' })
    url.regexOptions = undefined
    url.regexNoMatch = undefined
    url.regexMinOffset = url.regexMaxOffset = url.regexStack = undefined
  }
  if (url.regexMaxOffset !== undefined && (url.regexMinOffset ?? 0) > url.regexMaxOffset) {
    ctx.diags.warning(url.close, 'KA_CONF_IGNORED', `regex min offset ${url.regexMinOffset} > regex_max_offset ${url.regexMaxOffset} - ignoring`, { context: url.context, verdict: 'none' })
    url.regexMinOffset = url.regexMaxOffset = undefined
  }
  return true
}

const urlKeyword: KeywordSpec<HttpDraft> = {
  name: 'url', tier: 1,
  parse(stmt, http, ctx) {
    const body = requireBlock(stmt, ctx)
    if (!body) return
    const inner = childContext(ctx, 'url')
    const url: UrlDraft = { pos: stmt.pos, context: inner.context, close: stmt.close ?? stmt.pos }
    applySchema(urlSchema, body, url, inner)
    if (endUrl(url, ctx)) http.urlDrafts = append(http.urlDrafts, url)
  },
  dump(http, out) {
    for (const url of http.urls ?? []) out.block('url', [], () => dumpSchema(urlSchema, url, out))
  },
}

/** Deprecated alias of retry, kept with keepalived's own message (a configuration error for `-t`). */
const nbGetRetryKeyword: KeywordSpec<HttpDraft> = {
  name: 'nb_get_retry', tier: 2,
  parse(stmt, http, ctx) {
    if (!noBlock(stmt, ctx)) return
    ctx.diags.warning(stmt.pos, 'KA_CONF_DEPRECATED', "nb_get_retry is deprecated - please use 'retry'", { context: ctx.context })
    const v = readInt(stmt, ctx, arg(stmt, ctx, 0, 'a number'), 0, 4294967295)
    if (v !== undefined) http.retry = v
    noExtraArgs(stmt, ctx, 1)
  },
  // Written back as `retry`.
  dump() {},
}

const PROTOCOLS: Record<string, HttpProtocol> = { '1.0': '1.0', '1.1': '1.1', '1.0C': '1.0C', '1.0c': '1.0C' }

const httpProtocolKeyword: KeywordSpec<HttpDraft> = {
  name: 'http_protocol', tier: 2,
  parse(stmt, http, ctx) {
    if (!noBlock(stmt, ctx)) return
    const w = arg(stmt, ctx, 0, 'a version (1.0, 1.0C or 1.1)')
    if (!w) return
    const p = PROTOCOLS[w.text]
    if (!p) return configError(stmt, ctx, `Invalid http_protocol version ${w.text}`, 'one of 1.0, 1.0C, 1.1')
    http.httpProtocol = p
    noExtraArgs(stmt, ctx, 1)
  },
  dump(http, out) {
    if (http.httpProtocol) out.line('http_protocol', http.httpProtocol)
  },
}

/** Tier 3 with a constant default: written only when on, so reading a dump back does not warn about it. */
const enableSniKeyword: KeywordSpec<HttpDraft> = {
  ...boolKeyword<HttpDraft>('enable_sni', 'enableSni', { tier: 3 }),
  dump(d, out) {
    if (d.enableSni) out.line('enable_sni')
  },
}

function httpSchema(kind: 'HTTP_GET' | 'SSL_GET'): BlockSchema<HttpDraft> {
  return {
    name: kind,
    keywords: [
      ...timingKeywords,
      ...connectionKeywords,
      nbGetRetryKeyword,
      stringKeyword<HttpDraft>('virtualhost', 'virtualhost', { what: 'a host name' }),
      httpProtocolKeyword,
      enableSniKeyword,
      boolKeyword<HttpDraft>('fast_recovery', 'fastRecovery'),
      urlKeyword,
    ],
    misplaced: checkerMisplaced(kind, 1),
  }
}

function finishUrl(u: UrlDraft): HttpUrl {
  return {
    pos: u.pos!,
    path: u.path!,
    digest: u.digest,
    statusCodes: u.statusCodes ?? DEFAULT_STATUS,
    virtualhost: u.virtualhost,
    regex: u.regex,
    regexNoMatch: u.regexNoMatch ?? false,
    regexOptions: u.regexOptions ?? [],
    regexStack: u.regexStack,
    regexMinOffset: u.regexMinOffset,
    regexMaxOffset: u.regexMaxOffset,
  }
}

function httpType(kind: 'HTTP_GET' | 'SSL_GET'): CheckerType<HttpDraft, HttpCheck> {
  const schema = httpSchema(kind)
  return {
    kind, schema,
    create: (pos) => ({ kind, pos }),
    end(d, rsAddress, ctx) {
      if (!d.urlDrafts?.length) {
        ctx.diags.error(d.close, 'KA_CONF_CHECKER_DROPPED', 'HTTP/SSL_GET checker has no urls specified - ignoring', { context: d.context, hint: 'add a url { path ... } block' })
        return false
      }
      return linkLocalNeedsBindIf(d, rsAddress, ctx)
    },
    finish: (d, from) => ({
      kind, pos: d.pos!,
      ...resolveTiming(d, from, { retry: 1, delayBeforeRetry: 3_000_000 }),
      ...resolveConnection(d, from),
      urls: d.urlDrafts!.map(finishUrl),
      httpProtocol: d.httpProtocol ?? '1.0',
      virtualhost: d.virtualhost,
      fastRecovery: d.fastRecovery ?? false,
      enableSni: d.enableSni ?? false,
    }),
    dumpBody: (m, out) => dumpSchema(schema, m, out),
  }
}

export const httpGet = httpType('HTTP_GET')
export const sslGet = httpType('SSL_GET')

