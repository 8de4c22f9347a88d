/**
 * HTTP_GET and SSL_GET (keepalived check_http.c, check_ssl.c): for each
 * `url { }`, one connection (TLS for SSL_GET, certificate not verified, SNI
 * with enable_sni), one `GET`, the response read until the server closes,
 * then status code, MD5 digest and regex checked (http-response.ts). An
 * attempt passes when every URL passes; the first failing URL ends it.
 *
 * keepalived itself checks one URL per delay_loop and remembers a failed URL
 * between runs; the runner contract keeps no state between attempts, so an
 * attempt here walks all URLs at once.
 *
 * Lines, naming the real server (`FMT_CHK`): `Remote Web server %s succeed on
 * service.` (up); `HTTP_CHECK on service %s failed after %u retries.` /
 * `… failed.` (down, SSL_GET too; keepalived marks the checker as run before
 * that test, so a first-run failure with retries also says "after");
 * `%s server %s.` for a failed attempt with keepalived's reasons (`Timeout
 * connecting`, `Connection failed`, `HTTP status code error to`, …).
 * Per-URL `%s success to %s url(%s)` lines, logged by keepalived while the
 * checker is down, and the Content-Length mismatch line come back in
 * {@link HttpProbeOutcome}.
 */
import { performance } from 'node:perf_hooks'
import type { HttpCheck, HttpUrl } from '../config/lvs/model.js'
import { connectStream, type ProbeStream, type StreamError } from '../net/stream-probe.js'
import { addressString, destinationOf, type Destination } from './connection.js'
import {
  compileUrlRegex, hostHeader, httpRequestText, HttpResponseReader, judgeResponse, type HttpResponse, type UrlSuccess,
} from './http-response.js'
import type { CheckerLines, CheckerRunner, CheckTarget, ProbeOutcome } from './probe.js'

/** Read no further than this, then judge what came (keepalived reads forever, digesting). */
export const MAX_RESPONSE_BYTES = 64 << 20

export interface HttpProbeOutcome extends ProbeOutcome {
  /**
   * `MD5 digest success to [10.0.0.2]:tcp:80 url(/)` for each URL that passed,
   * in order: keepalived logs these while the checker is down (before its up line).
   */
  readonly urlSuccesses: readonly string[]
  /** Lines keepalived logs whatever the checker's state: the Content-Length mismatch, once per new difference. */
  readonly notices: readonly string[]
}

/** Whether an outcome came from an HTTP_GET/SSL_GET runner (and so carries its extra lines). */
export function isHttpProbeOutcome(outcome: ProbeOutcome): outcome is HttpProbeOutcome {
  return Array.isArray((outcome as Partial<HttpProbeOutcome>).urlSuccesses) && Array.isArray((outcome as Partial<HttpProbeOutcome>).notices)
}

type UrlResult =
  | { readonly kind: 'pass'; readonly success: UrlSuccess; readonly notice: string | undefined }
  /** `line` is the whole log line. */
  | { readonly kind: 'fail'; readonly line: string; readonly notice?: string | undefined }
  | { readonly kind: 'aborted' }

/** HTTP_GET/SSL_GET's up and down lines. */
export function httpLines(target: CheckTarget): CheckerLines {
  return {
    up: (outcome) => [...(isHttpProbeOutcome(outcome) ? outcome.urlSuccesses : []), `Remote Web server ${target.text} succeed on service.`],
    down: (_outcome, retry) =>
      retry > 0 ? `HTTP_CHECK on service ${target.text} failed after ${retry} retries.` : `HTTP_CHECK on service ${target.text} failed.`,
  }
}

/** The virtualhost for a URL: url, then checker, then real server / virtual server (target). */
export function urlVirtualhost(url: HttpUrl, check: Pick<HttpCheck, 'virtualhost'>, target: CheckTarget): string | undefined {
  return url.virtualhost ?? check.virtualhost ?? target.virtualhost
}

/** The exact request keepalived sends for `url`. */
export function requestFor(url: HttpUrl, check: Pick<HttpCheck, 'virtualhost' | 'httpProtocol'>, target: CheckTarget, destination: Destination): string {
  const host = hostHeader(urlVirtualhost(url, check, target), addressString(destination.address), destination.port, destination.family)
  return httpRequestText(url.path, check.httpProtocol, host)
}

/** keepalived's reason for a connection that could not be made (a whole line for the "Rescheduling" ones). */
function connectFailure(error: StreamError, target: CheckTarget): string | undefined {
  const line = (reason: string): string => `${reason} server ${target.text}.`
  switch (error.kind) {
    case 'connect-timeout':
      return line('Timeout connecting')
    case 'unreachable':
      return line('HTTP_CHECK - network unreachable')
    case 'tls':
      return line('SSL handshake/communication error connecting to')
    case 'socket':
      return 'WEB connection fail to create socket. Rescheduling.'
    case 'sockopt':
    case 'bind':
      return 'WEB socket bind failed. Rescheduling'
    case 'aborted':
      return undefined
    default:
      return line('Connection failed')
  }
}

/** Read the response as keepalived does; the reader, or the reason reading stopped short. */
async function readResponse(stream: ProbeStream, reader: HttpResponseReader, timeoutMs: number, ssl: boolean): Promise<string | 'aborted' | undefined> {
  let received = 0
  for (;;) {
    const r = await stream.read(timeoutMs)
    if (r.kind === 'data') {
      reader.push(r.data)
      received += r.data.length
      if (reader.overflowed || received >= MAX_RESPONSE_BYTES) return undefined
      continue
    }
    if (r.kind === 'end') return ssl && !reader.headersComplete ? 'SSL read error from' : undefined
    switch (r.error.kind) {
      case 'aborted':
        return 'aborted'
      case 'read-timeout':
        // http_response_thread waits for the first byte; the stream readers for the rest.
        if (received === 0) return 'Timeout WEB read'
        if (!ssl) return 'Timeout HTTP read'
        return reader.headersComplete ? undefined : 'Timeout SSL read'
      default:
        // ssl_read_thread judges what it has (no headers: "no data"); http_read_thread gives up.
        return ssl ? undefined : 'Read error with'
    }
  }
}

/** One HTTP_GET/SSL_GET made runnable. */
export function httpRunner(check: HttpCheck, target: CheckTarget, id: string): CheckerRunner {
  const destination = destinationOf(check, target)
  const ssl = check.kind === 'SSL_GET'
  const regexes = check.urls.map((u) => compileUrlRegex(u))
  // Only for the notice's "once per new difference" (keepalived's url->len_mismatch).
  const lengthMismatch = new Map<number, number>()

  async function fetchUrl(index: number, signal: AbortSignal): Promise<UrlResult> {
    const url = check.urls[index]!
    const vhost = urlVirtualhost(url, check, target)
    // SNI takes the Host: choice; keepalived's ssl_connect skips the real server's virtualhost there,
    // which CheckTarget does not keep apart from the virtual server's.
    const tls = ssl ? { servername: check.enableSni ? vhost : undefined } : undefined
    const conn = await connectStream({ ...destination, tls, signal })
    if (!conn.ok) {
      const line = connectFailure(conn.error, target)
      return line === undefined ? { kind: 'aborted' } : { kind: 'fail', line }
    }
    const stream = conn.stream
    try {
      const fail = (reason: string): UrlResult & { kind: 'fail' } => ({ kind: 'fail', line: `${reason} server ${target.text}.` })
      const written = await stream.write(requestFor(url, check, target, destination), destination.timeoutMs)
      if (written?.kind === 'aborted') return { kind: 'aborted' }
      if (written) return fail(written.kind === 'write-timeout' ? 'Timeout WEB write' : 'Cannot send get request to')
      const regex = regexes[index]
      const reader = new HttpResponseReader({ digest: url.digest !== undefined, regex: regex !== undefined })
      const stopped = await readResponse(stream, reader, destination.timeoutMs, ssl)
      if (stopped === 'aborted') return { kind: 'aborted' }
      if (stopped !== undefined) return fail(stopped)
      const response = reader.finish()
      const verdict = judgeResponse(url, response, regex)
      // http_handle_response checks the length after the status code, before digest and regex.
      const statusPassed = verdict.ok || verdict.reason === 'MD5 digest error to' || verdict.reason === 'Regex match failed'
      const notice = statusPassed ? lengthNotice(index, response) : undefined
      return verdict.ok ? { kind: 'pass', success: verdict.success, notice } : { ...fail(verdict.reason), notice }
    } finally {
      stream.close()
    }
  }

  function lengthNotice(index: number, response: HttpResponse): string | undefined {
    const url = check.urls[index]!
    if (response.contentLength === undefined || response.contentLength === response.bodyBytes) {
      lengthMismatch.delete(index)
      return undefined
    }
    const difference = response.contentLength - response.bodyBytes
    if (lengthMismatch.get(index) === difference) return undefined
    lengthMismatch.set(index, difference)
    return `http_check for RS ${target.text} VS ${target.vsText} url ${url.virtualhost ?? ''}${url.path}: content_length (${response.contentLength}) does not match received bytes (${response.bodyBytes})`
  }

  return {
    kind: check.kind,
    id,
    target,
    timing: check,
    lines: httpLines(target),
    async probe(signal: AbortSignal): Promise<HttpProbeOutcome> {
      const started = performance.now()
      const urlSuccesses: string[] = []
      const notices: string[] = []
      const done = (ok: boolean, failure: string | undefined): HttpProbeOutcome => ({
        ok, failure, latencyMs: performance.now() - started, urlSuccesses, notices,
      })
      for (let i = 0; i < check.urls.length; i++) {
        const r = await fetchUrl(i, signal)
        if (r.kind === 'aborted') return done(false, undefined)
        if (r.notice !== undefined) notices.push(r.notice)
        if (r.kind === 'fail') return done(false, r.line)
        urlSuccesses.push(`${r.success} success to ${target.text} url(${check.urls[i]!.path})`)
      }
      return done(true, undefined)
    },
  }
}
