/**
 * Run Debian's `keepalived -t` and our `keepalived-ts -t` on one file inside a
 * test namespace, and read their reports into the same shape: exit code, the
 * set of lines the verdict rests on, and the raw text for failure messages.
 */
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describeExit, type ExecResult, type Namespace } from './netns.js'

/** Repository root: two levels up from test/diff. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const OUR_CLI = resolve(ROOT, 'dist', 'cli', 'main.js')
export const KEEPALIVED = '/usr/sbin/keepalived'
export const SAMPLES_DIR = '/usr/share/doc/keepalived/samples'

/** keepalived -t takes ~20 ms and node ~100 ms; a run this slow is stuck. */
const RUN_TIMEOUT_MS = 15_000

export interface RunOptions {
  /** Absolute path of the configuration file. */
  file: string
  /** `-i`, passed to both so `@id` lines select the same text. */
  configId: string
  cwd: string
}

export interface Position {
  /** Undefined when keepalived prints `(Line N)` without a file name. */
  readonly file: string | undefined
  readonly line: number
}

export interface Report {
  /** Exit status, or null when killed (keepalived has crashed with SIGSEGV on some inputs). */
  readonly exitCode: number | null
  /** How the process ended, for messages: `5`, `on signal SIGSEGV`, `by timeout`. */
  readonly exit: string
  /** Lines of the problems that make up the verdict. */
  readonly lines: Set<number>
  readonly positions: readonly Position[]
  /** Problem messages printed without a line number. */
  readonly unnumbered: readonly string[]
  /** stderr, then stdout if any: what a developer reads when the two disagree. */
  readonly raw: string
}

export interface KeepalivedReport extends Report {
  readonly messages: readonly { readonly pos: Position | undefined; readonly text: string }[]
}

export interface OurDiagnostic {
  readonly file: string | undefined
  readonly line: number | undefined
  readonly col: number | undefined
  readonly severity: 'error' | 'warning' | 'note'
  /** The message with its `(in CONTEXT)` suffix, as printed. */
  readonly message: string
  readonly hint: string | undefined
}

export interface OurReport extends Report {
  /** Every diagnostic in print order, verdict-affecting or not. */
  readonly diagnostics: readonly OurDiagnostic[]
  /** The diagnostics the verdict rests on: all but the "not supported yet" notes. */
  readonly verdictDiagnostics: readonly OurDiagnostic[]
  /** Lines that are neither diagnostics, hints nor the summary (an internal error, say). */
  readonly unparsed: readonly string[]
}

export function runKeepalived(ns: Namespace, opts: RunOptions): KeepalivedReport {
  const r = ns.exec([KEEPALIVED, '-t', '-f', opts.file, '-i', opts.configId], { cwd: opts.cwd, timeoutMs: RUN_TIMEOUT_MS })
  return { ...parseKeepalived(r.stderr), ...ending(r), raw: rawText(r) }
}

export function runOurs(ns: Namespace, opts: RunOptions): OurReport {
  const r = ns.exec([process.execPath, OUR_CLI, '-t', '-f', opts.file, '-i', opts.configId], {
    cwd: opts.cwd,
    timeoutMs: RUN_TIMEOUT_MS,
    env: operatorEnv(),
  })
  return { ...parseOurs(r.stderr), ...ending(r), raw: rawText(r) }
}

/**
 * keepalived's config-test lines: `(FILE: Line N) message` once several files are
 * involved, `(Line N) message` otherwise, and a few messages with no line at all.
 * keepalived parses the file once per subsystem, so the same line may repeat.
 */
export function parseKeepalived(stderr: string): Omit<KeepalivedReport, 'exitCode' | 'exit' | 'raw'> {
  const messages: { pos: Position | undefined; text: string }[] = []
  for (const line of stderr.split('\n')) {
    if (line.trim() === '') continue
    const m = /^\((?:(.+?): )?Line (\d+)\) (.*)$/.exec(line)
    messages.push(m ? { pos: { file: m[1], line: Number(m[2]) }, text: m[3]!.trim() } : { pos: undefined, text: line.trim() })
  }
  const positions = messages.flatMap((m) => (m.pos ? [m.pos] : []))
  return {
    messages,
    positions,
    lines: new Set(positions.map((p) => p.line)),
    unnumbered: unique(messages.filter((m) => !m.pos).map((m) => m.text)),
  }
}

const DIAGNOSTIC_RE = /^(?:(.+):(\d+):(\d+): )?(error|warning|note): (.*)$/
const SUMMARY_RE = /^.+: \d+ error\(s\), \d+ warning\(s\)$/
const HINT_PREFIX = '    hint: '

/** Our `FILE:LINE:COL: error|warning: message (in CONTEXT)` lines, hints and summary. */
export function parseOurs(stderr: string): Omit<OurReport, 'exitCode' | 'exit' | 'raw'> {
  const diagnostics: OurDiagnostic[] = []
  const unparsed: string[] = []
  for (const line of stderr.split('\n')) {
    if (line.trim() === '') continue
    if (line.startsWith(HINT_PREFIX) && diagnostics.length > 0) {
      const last = diagnostics.pop()!
      diagnostics.push({ ...last, hint: line.slice(HINT_PREFIX.length) })
      continue
    }
    const m = DIAGNOSTIC_RE.exec(line)
    if (m) {
      diagnostics.push({
        file: m[1],
        line: m[2] === undefined ? undefined : Number(m[2]),
        col: m[3] === undefined ? undefined : Number(m[3]),
        severity: m[4] as 'error' | 'warning' | 'note',
        message: m[5]!,
        hint: undefined,
      })
    } else if (!SUMMARY_RE.test(line)) unparsed.push(line)
  }
  const verdictDiagnostics = diagnostics.filter(affectsVerdict)
  const positions = verdictDiagnostics.flatMap((d) => (d.line === undefined ? [] : [{ file: d.file, line: d.line }]))
  return {
    diagnostics,
    verdictDiagnostics,
    positions,
    lines: new Set(positions.map((p) => p.line)),
    unnumbered: verdictDiagnostics.filter((d) => d.line === undefined).map((d) => d.message),
    unparsed,
  }
}

/** Notes and "not supported yet" warnings are ours alone and never change the exit code. */
export function affectsVerdict(d: OurDiagnostic): boolean {
  return d.severity !== 'note' && !d.message.includes('not supported yet')
}

const SYNTAX_ERROR_TEXTS = ["unexpected '{'", "extra '}'", 'never closed', 'unterminated quote', 'syntax error']

/** Diagnostics about the file's syntax (codes KA_CONF_SYNTAX, KA_CONF_BRACE, KA_CONF_QUOTE), known by their text. */
export function syntaxErrors(report: OurReport): OurDiagnostic[] {
  return report.diagnostics.filter((d) => SYNTAX_ERROR_TEXTS.some((s) => d.message.toLowerCase().includes(s)))
}

/** `FILE:LINE:COL: severity: message`, as printed, for messages. */
export function formatOurDiagnostic(d: OurDiagnostic): string {
  const where = d.line === undefined ? '' : `${d.file}:${d.line}:${d.col}: `
  return `${where}${d.severity}: ${d.message}`
}

/**
 * A report for an assertion's diagnostics: how it ended, then its output. Every
 * line is indented so tap's YAML prints it as it is instead of folding long lines.
 */
export function forDisplay(r: Report): string {
  return [`exit ${r.exit}`, ...r.raw.replace(/\n$/, '').split('\n')].map((l) => `  ${l}`).join('\n') + '\n'
}

export function sortedLines(lines: ReadonlySet<number>): number[] {
  return [...lines].sort((a, b) => a - b)
}

/**
 * This process's environment without the loaders tap adds through NODE_OPTIONS:
 * the CLI runs as an operator would run it, and twice as fast.
 */
function operatorEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('_TAPJS_')))
}

function ending(r: ExecResult): { exitCode: number | null; exit: string } {
  return { exitCode: r.timedOut ? null : r.status, exit: describeExit(r) }
}

function rawText(r: ExecResult): string {
  const out = r.stdout.trim() === '' ? '' : `[stdout]\n${r.stdout}`
  const killed = r.timedOut || r.signal ? `[process ended ${describeExit(r)}]\n` : ''
  return r.stderr + out + killed
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)]
}
