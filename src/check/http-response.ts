/**
 * The HTTP half of HTTP_GET/SSL_GET, as pure functions: the request text
 * keepalived sends (check_http.c http_request_thread), and the response read
 * the way keepalived reads it (html.c, check_http.c http_process_response /
 * http_handle_response), checked against one `url { }` block.
 *
 * keepalived's reading, kept on purpose (checked against Debian's 2.2.7
 * `genhash`, which shares the code):
 * - The header block, through its blank line, must arrive within the first
 *   4095 bytes; otherwise the response counts as "no data received".
 * - The status code is the three digits after the first space of the status
 *   line, followed by a space (`HTTP/1.1 200\r\n` has none: an error).
 * - The MD5 digest covers the raw body bytes after the headers (chunked
 *   encoding is not decoded), cut at Content-Length when the header
 *   `Content-Length:` (exact case, even as part of another name) carries
 *   digits ending the line; a longer Content-Length digests what came.
 * - The regex sees the whole response, headers included (keepalived matches
 *   its first read buffer, headers and all); offsets count from its first
 *   byte. PCRE2 is approximated by a JavaScript RegExp (see {@link compileUrlRegex}).
 */
import { createHash, type Hash } from 'node:crypto'
import type { HttpProtocol, HttpUrl } from '../config/lvs/model.js'

/** keepalived's MAX_BUFFER_LENGTH − 1: room for the header block. */
export const MAX_HEADER_BYTES = 4095
/** How much of the response the regex sees (keepalived streams with partial matching; we keep a prefix). */
export const MAX_REGEX_SUBJECT_BYTES = 1 << 20

/** `GET <path> HTTP/1.<0|1>` with keepalived's three headers (request_template). */
export function httpRequestText(path: string, protocol: HttpProtocol, host: string): string {
  const minor = protocol === '1.1' ? 1 : 0
  const close = protocol === '1.0' ? '' : 'Connection: close\r\n'
  return `GET ${path} HTTP/1.${minor}\r\nUser-Agent: KeepAliveClient\r\n${close}Host: ${host}\r\n\r\n`
}

/**
 * The Host: value: the virtualhost as written, else the address and port
 * connected to (`[...]` around IPv6, RFC 2732). `address` is inet_ntop's text.
 */
export function hostHeader(virtualhost: string | undefined, address: string, port: number, family: 4 | 6): string {
  if (virtualhost !== undefined) return virtualhost
  return family === 6 ? `[${address}]:${port}` : `${address}:${port}`
}

/** html.c extract_status_code(): 0 when the status line does not have it. */
export function statusCodeOf(head: Buffer): number {
  let i = 0
  while (i < head.length && head[i] !== 0x20 && head[i] !== 0x0d) i++
  if (head[i] !== 0x20) return 0
  i++
  if (i + 3 >= head.length || head[i] === 0x20 || head[i + 3] !== 0x20) return 0
  const digits = head.toString('latin1', i, i + 3)
  return /^\d{3}$/.test(digits) ? Number(digits) : 0
}

/** html.c extract_content_length(): undefined when absent or not digits ending the line. */
export function contentLengthOf(head: Buffer): number | undefined {
  const text = head.toString('latin1')
  const at = text.indexOf('Content-Length:')
  if (at < 0) return undefined
  const m = /^[ \t]*(\d+)(?:\r|\n|$)/.exec(text.slice(at + 'Content-Length:'.length))
  return m ? Number(m[1]) : undefined
}

/** A response read so far. */
export interface HttpResponse {
  /** The header block was found (within {@link MAX_HEADER_BYTES}). */
  readonly headersComplete: boolean
  /** 0 when unreadable. */
  readonly statusCode: number
  readonly contentLength: number | undefined
  /** Body bytes received. */
  readonly bodyBytes: number
  /** MD5 of the body (lower-case hex), when asked for. */
  readonly digest: string | undefined
  /** The response's first bytes, as the regex sees them (latin1: one char per byte). */
  readonly regexSubject: string | undefined
}

/** Reads a response chunk by chunk, digesting the body as it streams. */
export class HttpResponseReader {
  private head = Buffer.alloc(0)
  private headEnd = -1
  private statusCode = 0
  private contentLength: number | undefined
  private bodyBytes = 0
  private readonly md5: Hash | undefined
  private readonly subject: Buffer[] | undefined
  private subjectBytes = 0

  constructor(options: { readonly digest: boolean; readonly regex: boolean }) {
    this.md5 = options.digest ? createHash('md5') : undefined
    this.subject = options.regex ? [] : undefined
  }

  /** True once no more data can change the verdict: keepalived stops at a full header buffer. */
  get overflowed(): boolean {
    return this.headEnd < 0 && this.head.length >= MAX_HEADER_BYTES
  }

  get headersComplete(): boolean {
    return this.headEnd >= 0
  }

  push(chunk: Buffer): void {
    if (this.subject && this.subjectBytes < MAX_REGEX_SUBJECT_BYTES) {
      const part = chunk.subarray(0, MAX_REGEX_SUBJECT_BYTES - this.subjectBytes)
      this.subject.push(part)
      this.subjectBytes += part.length
    }
    if (this.headEnd >= 0) {
      this.body(chunk)
      return
    }
    if (this.overflowed) return
    const room = MAX_HEADER_BYTES - this.head.length
    const searchFrom = Math.max(0, this.head.length - 3)
    this.head = Buffer.concat([this.head, chunk.subarray(0, room)])
    const at = this.head.indexOf('\r\n\r\n', searchFrom, 'latin1')
    if (at < 0) return
    this.headEnd = at + 4
    const head = this.head.subarray(0, this.headEnd)
    this.statusCode = statusCodeOf(head)
    this.contentLength = contentLengthOf(head)
    // What came after the blank line, in the buffered part and beyond it.
    this.body(this.head.subarray(this.headEnd))
    if (chunk.length > room) this.body(chunk.subarray(room))
    this.head = head
  }

  private body(bytes: Buffer): void {
    if (bytes.length === 0) return
    if (this.md5) {
      const wanted = this.contentLength === undefined ? bytes.length : Math.max(0, Math.min(bytes.length, this.contentLength - this.bodyBytes))
      if (wanted > 0) this.md5.update(bytes.subarray(0, wanted))
    }
    this.bodyBytes += bytes.length
  }

  /** The response as read; call once, at the end. */
  finish(): HttpResponse {
    return {
      headersComplete: this.headEnd >= 0,
      statusCode: this.statusCode,
      contentLength: this.contentLength,
      bodyBytes: this.bodyBytes,
      digest: this.md5?.digest('hex'),
      regexSubject: this.subject ? Buffer.concat(this.subject).toString('latin1') : undefined,
    }
  }
}

/** PCRE2 options with a JavaScript flag; the others are not honoured. */
const REGEX_FLAGS: Readonly<Record<string, string>> = { caseless: 'i', multiline: 'm', dotall: 's', utf: 'u', ucp: 'u' }

/** The url's regex as a RegExp (global, for lastIndex), or the reason it cannot be one. */
export function compileUrlRegex(url: Pick<HttpUrl, 'regex' | 'regexOptions'>): RegExp | { readonly error: string } | undefined {
  if (url.regex === undefined) return undefined
  const flags = new Set(['g'])
  for (const o of url.regexOptions) {
    const f = REGEX_FLAGS[o]
    if (f) flags.add(f)
  }
  try {
    return new RegExp(url.regex, [...flags].join(''))
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) }
  }
}

/** regex_options keywords a RegExp cannot honour (for a warning at start-up). */
export function unsupportedRegexOptions(url: Pick<HttpUrl, 'regexOptions'>): string[] {
  return url.regexOptions.filter((o) => REGEX_FLAGS[o] === undefined)
}

/** Whether the regex matches at an offset within [regex_min_offset, regex_max_offset]. */
export function regexMatches(regex: RegExp, subject: string, minOffset: number | undefined, maxOffset: number | undefined): boolean {
  regex.lastIndex = minOffset ?? 0
  const m = regex.exec(subject)
  regex.lastIndex = 0
  return m !== null && (maxOffset === undefined || m.index <= maxOffset)
}

/** Which check passed last: keepalived's `%s success to %s url(%s)`. */
export type UrlSuccess = 'HTTP status code' | 'MD5 digest' | 'Regex match'

export type UrlVerdict =
  | { readonly ok: true; readonly success: UrlSuccess }
  /** `reason` is keepalived's debug_msg for `%s server %s.` */
  | { readonly ok: false; readonly reason: string }

/** http_handle_response(): data, then status code, then digest, then regex. */
export function judgeResponse(url: HttpUrl, response: HttpResponse, regex: RegExp | { readonly error: string } | undefined): UrlVerdict {
  if (!response.headersComplete) return { ok: false, reason: 'Read, no data received from ' }
  const code = response.statusCode
  if (code < 100 || !url.statusCodes.some((r) => code >= r.min && code <= r.max)) return { ok: false, reason: 'HTTP status code error to' }
  let success: UrlSuccess = 'HTTP status code'
  if (url.digest !== undefined) {
    if (response.digest !== url.digest.toLowerCase()) return { ok: false, reason: 'MD5 digest error to' }
    success = 'MD5 digest'
  }
  if (regex !== undefined) {
    // A pattern that does not compile never passes (keepalived's behaviour there is undefined).
    if ('error' in regex) return { ok: false, reason: 'Regex match failed' }
    const matched = regexMatches(regex, response.regexSubject ?? '', url.regexMinOffset, url.regexMaxOffset)
    if (matched === url.regexNoMatch) return { ok: false, reason: 'Regex match failed' }
    success = 'Regex match'
  }
  return { ok: true, success }
}
