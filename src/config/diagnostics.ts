/**
 * Configuration problems as values. The parser never throws on bad input: every
 * stage appends to a {@link Diagnostics} collector and carries on, so one run
 * reports every problem in the file.
 */

/** Where a configuration element came from. Lines and columns are 1-based. */
export interface SourcePosition {
  readonly file: string
  readonly line: number
  readonly col: number
}

export type Severity = 'error' | 'warning'

/**
 * What a problem means for `keepalived -t`'s exit code (reference §3.1):
 * - `none`: reported, but keepalived would not count it (our extra notes);
 * - `config`: a configuration error, exit 5;
 * - `fatal`: cannot run at all (missing file, bad interface in strict cases), exit 4;
 * - `security`: script security, exit 6.
 */
export type Verdict = 'none' | 'config' | 'fatal' | 'security'

export interface Diagnostic {
  readonly severity: Severity
  /** Stable machine-readable code, e.g. `KA_CONF_UNKNOWN_KEYWORD`. */
  readonly code: string
  readonly message: string
  readonly pos: SourcePosition | undefined
  /** The enclosing block, in the operator's words: `TCP_CHECK of real_server 10.0.0.2 80`. */
  readonly context: string | undefined
  /** What to do about it, where keepalived's behaviour surprises. */
  readonly hint: string | undefined
  readonly verdict: Verdict
  /** True when the problem comes from the host (missing interface), not from the text. */
  readonly host: boolean
}

export interface ReportOptions {
  context?: string | undefined
  hint?: string | undefined
  verdict?: Verdict
  host?: boolean
}

export class Diagnostics {
  readonly list: Diagnostic[] = []

  error(pos: SourcePosition | undefined, code: string, message: string, opts: ReportOptions = {}): void {
    this.add('error', pos, code, message, opts)
  }

  warning(pos: SourcePosition | undefined, code: string, message: string, opts: ReportOptions = {}): void {
    this.add('warning', pos, code, message, opts)
  }

  /** A keyword we keep but do not act on yet: visible, but it does not change the verdict. */
  unsupported(pos: SourcePosition, keyword: string, context: string | undefined): void {
    this.add('warning', pos, 'KA_CONF_NOT_SUPPORTED', `'${keyword}' is not supported yet; it is kept but has no effect`, {
      context,
      verdict: 'none',
    })
  }

  get errorCount(): number {
    return this.list.filter((d) => d.severity === 'error').length
  }

  get hasErrors(): boolean {
    return this.list.some((d) => d.severity === 'error')
  }

  private add(severity: Severity, pos: SourcePosition | undefined, code: string, message: string, opts: ReportOptions): void {
    this.list.push({
      severity,
      code,
      message,
      pos,
      context: opts.context,
      hint: opts.hint,
      verdict: opts.verdict ?? 'config',
      host: opts.host ?? false,
    })
  }
}

/**
 * `file:line:col: error: message (in CONTEXT)` and, indented below, the hint. A warning
 * keepalived would not count (a deprecated alias it accepts silently) is a `note`, so the
 * label alone says whether it changes the exit code; "not supported yet" stays a warning.
 */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.pos ? `${d.pos.file}:${d.pos.line}:${d.pos.col}: ` : ''
  const context = d.context ? ` (in ${d.context})` : ''
  const hint = d.hint ? `\n    hint: ${d.hint}` : ''
  const label = d.severity === 'warning' && d.verdict === 'none' && d.code !== 'KA_CONF_NOT_SUPPORTED' ? 'note' : d.severity
  return `${where}${label}: ${d.message}${context}${hint}`
}

/** Diagnostics in file order, so the first line printed is the first problem in the file. */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return list
    .map((d, i) => ({ d, i }))
    .sort((a, b) => {
      const pa = a.d.pos
      const pb = b.d.pos
      if (!pa || !pb) return pa ? -1 : pb ? 1 : a.i - b.i
      if (pa.file !== pb.file) return a.i - b.i
      return pa.line - pb.line || pa.col - pb.col || a.i - b.i
    })
    .map((x) => x.d)
}

/** keepalived's config-test exit codes (reference §3.1): 0 OK, 4 fatal, 5 config errors, 6 script security. */
export function exitCodeFor(list: readonly Diagnostic[]): number {
  if (list.some((d) => d.verdict === 'fatal')) return 4
  if (list.some((d) => d.verdict === 'security')) return 6
  if (list.some((d) => d.verdict === 'config')) return 5
  return 0
}
