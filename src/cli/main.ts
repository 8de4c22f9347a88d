#!/usr/bin/env node
/**
 * keepalived-ts's command line: the configuration test (`-t`), the model dump
 * (`-d`, `--dump-conf=json`) and otherwise the daemon, in the foreground (the
 * detaching parent and its children come with the process-model issue).
 */
import { writeFileSync } from 'node:fs'
import { type Config, dumpConfig, loadConfig } from '../config/config.js'
import { type Diagnostic, exitCodeFor, formatDiagnostic, sortDiagnostics } from '../config/diagnostics.js'
import type { DaemonEnvironment } from './daemon.js'
import { EXIT } from '../daemon/subsystem.js'
import { VERSION } from '../daemon/version.js'
import { listInterfaces } from '../net/interfaces.js'
import { type Options, parseOptions, usage, UsageError } from './options.js'

export { VERSION }
export type { DaemonEnvironment }

export interface Io {
  stdout(text: string): void
  stderr(text: string): void
}

const processIo: Io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
}

/**
 * Run the command line. `-t`, `-d`, `-h`, `-v` and usage errors answer at once
 * (a number); the daemon answers when it stops (a promise of its exit code).
 */
export function main(argv: readonly string[], io: Io = processIo, daemon: DaemonEnvironment = {}): number | Promise<number> {
  let opts: Options
  try {
    opts = parseOptions(argv)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    io.stderr(`${err.message}\n${usage()}`)
    return 1
  }
  if (opts.unexpected.length > 0) io.stderr(`Unexpected argument(s): ${opts.unexpected.join(' ')} \n`)
  if (opts.help) {
    io.stderr(usage())
    return 0
  }
  if (opts.version) {
    io.stderr(`${VERSION}\n`)
    return 0
  }
  if (opts.configTest || opts.dumpConf) return configTest(opts, io)
  // The daemon's modules (pino, koffi, netlink, the VRRP runtime) load only here:
  // `-t` on a large file is timed against keepalived's, and they cost ~100 ms to import.
  return import('./daemon.js').then((m) => m.runDaemon(argv, opts, io, daemon))
}

function configTest(opts: Options, io: Io): number {
  const { config, diagnostics } = loadConfig(opts.useFile, {
    configId: opts.configId,
    host: { interfaces: listInterfaces() },
  })
  const list = sortDiagnostics(diagnostics.list)
  if (opts.dumpConf) io.stdout(opts.dumpConf === 'json' ? `${JSON.stringify(config, null, 2)}\n` : dumpConfig(config))
  if (opts.configTest) report(list, config, opts, io)
  return exitCodeFor(list)
}

function report(list: readonly Diagnostic[], config: Config, opts: Options, io: Io): void {
  const errors = list.filter((d) => d.severity === 'error').length
  const warnings = list.length - errors
  const lines = list.map(formatDiagnostic)
  const file = config.files[0] ?? opts.useFile
  lines.push(`${file}: ${errors} error(s), ${warnings} warning(s)`)
  const text = lines.join('\n') + '\n'
  if (opts.configTestLog) writeFileSync(opts.configTestLog, text)
  else io.stderr(text)
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))
if (invokedDirectly || process.argv[1]?.endsWith('/keepalived-ts')) {
  const internalError = (err: unknown): void => {
    process.stderr.write(`keepalived-ts: internal error: ${(err as Error).stack ?? String(err)}\n`)
    process.exit(EXIT.PROGRAM_ERROR)
  }
  try {
    const result = main(process.argv.slice(2))
    // The daemon exits when it has stopped, whatever handles its subsystems left open.
    if (typeof result === 'number') process.exitCode = result
    else result.then((code) => process.exit(code), internalError)
  } catch (err) {
    internalError(err)
  }
}
