#!/usr/bin/env node
/**
 * keepalived-ts's command line: keepalived's flags (options.ts), the
 * configuration test (`-t`), the model dump (`-d`, `--dump-conf=json`),
 * `--signum`, `keepalived-ts status …` (status.ts, loaded on demand), and
 * otherwise the daemon (daemon.ts, loaded on demand so that `-t` stays fast):
 * the parent, or — when started by the parent with the hidden role variable —
 * one of its children.
 */
import { writeFileSync } from 'node:fs'
import { type Config, dumpConfig, loadConfig } from '../config/config.js'
import { type Diagnostic, exitCodeFor, formatDiagnostic, sortDiagnostics } from '../config/diagnostics.js'
import type { DaemonEnvironment } from './daemon.js'
import { childRoleFrom } from '../daemon/ipc.js'
import { signalNumber } from '../daemon/signals.js'
import { EXIT } from '../daemon/subsystem.js'
import { VERSION } from '../daemon/version.js'
import { listInterfaces } from '../net/interfaces.js'
import { runningOnLine } from '../daemon/banner.js'
import { type Options, readCommandLine, usage } from './options.js'

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
 * Run the command line. `-t`, `-d`, `-h`, `-v`, `--signum` and usage errors
 * answer at once (a number); the daemon and `status` answer when they are done
 * (a promise of the exit code).
 */
export function main(argv: readonly string[], io: Io = processIo, daemon: DaemonEnvironment = {}): number | Promise<number> {
  const role = childRoleFrom(daemon.env ?? process.env)
  if (role) {
    const { options } = readCommandLine(argv)
    return import('./daemon.js').then((m) => m.runChildProcess(role, options, io, daemon))
  }
  if (argv[0] === 'status') return import('./status.js').then((m) => m.runStatus(argv.slice(1), io))
  const line = readCommandLine(argv)
  const opts = line.options
  // keepalived reports each bad option as it meets it; -v, -h and --signum answer at once.
  for (const p of line.problems.slice(0, line.problemsBeforeAction)) io.stderr(`${p.text}\n`)
  if (line.action !== undefined) return immediate(line.action, io)
  if (line.problems.length > 0) {
    io.stderr(usage())
    return EXIT.FATAL
  }
  if (opts.unexpected.length > 0) io.stderr(`Unexpected argument(s): ${opts.unexpected.join(' ')} \n`)
  if (opts.genhash) {
    io.stderr('keepalived-ts: genhash mode (-T, --genhash) is not implemented; use the genhash program of keepalived\n')
    return EXIT.FATAL
  }
  if (opts.configTest || opts.dumpConf) return configTest(opts, io)
  // The daemon's modules (pino, koffi, netlink, the subsystems) load only here:
  // `-t` on a large file is timed against keepalived's, and they cost ~100 ms to import.
  return import('./daemon.js').then((m) => m.runDaemon(argv, opts, io, daemon))
}

function immediate(action: NonNullable<ReturnType<typeof readCommandLine>['action']>, io: Io): number {
  if (action === 'help') {
    io.stderr(usage())
    return EXIT.OK
  }
  if (action === 'version') {
    io.stderr(`${VERSION}\n\n${runningOnLine()}\n`)
    return EXIT.OK
  }
  const n = signalNumber(action.signum)
  if (n === undefined) {
    io.stderr(`Unknown sigfunc ${action.signum}\n`)
    return EXIT.FATAL
  }
  io.stdout(`${n}\n`)
  return EXIT.OK
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
