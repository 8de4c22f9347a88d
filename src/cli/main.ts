#!/usr/bin/env node
/**
 * keepalived-ts's command line. Today it runs the configuration test (`-t`) and
 * dumps the parsed model (`-d`, `--dump-conf=json`); the daemon itself comes with
 * the VRRP, checker and process-model work.
 */
import { writeFileSync } from 'node:fs'
import { type Config, dumpConfig, loadConfig } from '../config/config.js'
import { type Diagnostic, exitCodeFor, formatDiagnostic, sortDiagnostics } from '../config/diagnostics.js'
import { listInterfaces } from '../net/interfaces.js'
import { type Options, parseOptions, usage, UsageError } from './options.js'

export const VERSION = 'Keepalived-ts v0.1.0 (keepalived 2.2.7 compatible)'

/** Daemon exit codes (reference §3.1). */
const EXIT_PROGRAM_ERROR = 70

export interface Io {
  stdout(text: string): void
  stderr(text: string): void
}

const processIo: Io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
}

export function main(argv: readonly string[], io: Io = processIo): number {
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
  io.stderr('keepalived-ts: only the configuration test (-t) and dump (-d) are available in this version\n')
  return 1
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
  try {
    process.exitCode = main(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`keepalived-ts: internal error: ${(err as Error).stack ?? String(err)}\n`)
    process.exitCode = EXIT_PROGRAM_ERROR
  }
}
