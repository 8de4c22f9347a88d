/**
 * `-g FILE` log files: keepalived's per-process names (make_file_name: the
 * program part and the namespace/instance suffix go before the extension), the
 * console line format, appending, `--flush-log-file`, the write before exit,
 * and files that cannot be opened costing lines, never an exception.
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createLogging } from '../../src/log/logger.js'
import { DEFAULT_LOG_FILE, logFileName, openLogFile } from '../../src/log/log-file.js'

const dir = mkdtempSync(join(tmpdir(), 'kats-logfile-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const fixed = new Date(2026, 10, 3, 4, 48, 37)
const read = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8') : '<missing>')
const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

t.test("file names as keepalived's make_file_name builds them", async (t) => {
  t.equal(DEFAULT_LOG_FILE, '/tmp/keepalived.log')
  t.equal(logFileName('/tmp/keepalived.log', 'parent'), '/tmp/keepalived.log')
  t.equal(logFileName('/tmp/keepalived.log', 'vrrp'), '/tmp/keepalived_vrrp.log')
  t.equal(logFileName('/tmp/keepalived.log', 'checkers'), '/tmp/keepalived_check.log')
  t.equal(logFileName('/var/log/ka', 'vrrp'), '/var/log/ka_vrrp', 'no extension: appended')
  t.equal(logFileName('/var/log.d/ka', 'checkers'), '/var/log.d/ka_check', 'a dot in a directory is not an extension')
  t.equal(logFileName('ka.x.log', 'vrrp'), 'ka.x_vrrp.log', 'the last dot only')
  t.equal(logFileName('/tmp/.ka', 'vrrp'), '/tmp/_vrrp.ka', 'a leading dot counts as the extension, as strrchr finds it')
  t.equal(logFileName('/tmp/keepalived.log', 'vrrp', '_blue_lb1'), '/tmp/keepalived_vrrp_blue_lb1.log', 'namespace then instance after the program')
  t.equal(logFileName('/tmp/keepalived.log', 'parent', '_blue'), '/tmp/keepalived_blue.log')
})

t.test('-g: each role writes its own file in the console format, appending', async (t) => {
  const base = join(dir, 'ka.log')
  writeFileSync(logFileName(base, 'vrrp'), 'earlier line\n')
  const logging = createLogging({ syslog: false, logFile: base, flushLogFile: true, now: () => fixed, detail: false })
  logging.logger('parent').info('Starting Keepalived-ts v0.1.0')
  logging.logger('vrrp').info('(VI_1) Entering BACKUP STATE (init)')
  logging.logger('vrrp').detail('(VI_1) removing VIPs.')
  logging.logger('checkers').debug('Initializing ipvs')
  t.equal(read(base), 'Tue Nov  3 04:48:37 2026: Starting Keepalived-ts v0.1.0\n', 'written at once with --flush-log-file')
  t.equal(read(join(dir, 'ka_vrrp.log')), 'earlier line\nTue Nov  3 04:48:37 2026: (VI_1) Entering BACKUP STATE (init)\n', 'appended; -D lines only with -D')
  t.equal(read(join(dir, 'ka_check.log')), 'Tue Nov  3 04:48:37 2026: Initializing ipvs\n', 'every severity, like the console')
  t.same([...logging.logFilePaths()].sort(), [['checkers', join(dir, 'ka_check.log')], ['parent', base], ['vrrp', join(dir, 'ka_vrrp.log')]])
  t.equal(logging.logFileDropped, 0)
  logging.close()
  logging.logger('parent').info('after close')
  t.notMatch(read(base), /after close/, 'nothing written after close')
})

t.test('-g with an ident suffix and -D; the console still works beside it', async (t) => {
  const base = join(dir, 'sfx.log')
  let console = ''
  const logging = createLogging({ syslog: false, logFile: base, flushLogFile: true, now: () => fixed, detail: true, identSuffix: '_blue', console: true, consoleWrite: (l) => { console += l } })
  logging.logger('vrrp').detail('(VI_1) removing VIPs.')
  logging.close()
  t.equal(read(join(dir, 'sfx_vrrp_blue.log')), 'Tue Nov  3 04:48:37 2026: (VI_1) removing VIPs.\n')
  t.equal(console, 'Tue Nov  3 04:48:37 2026: (VI_1) removing VIPs.\n')
})

t.test('without --flush-log-file lines are gathered, then written within the turn, at 4 KiB or at close', async (t) => {
  const base = join(dir, 'batch.log')
  const logging = createLogging({ syslog: false, logFile: base, now: () => fixed })
  const vrrp = logging.logger('vrrp')
  vrrp.info('one')
  vrrp.info('two')
  const file = join(dir, 'batch_vrrp.log')
  t.equal(read(file), '<missing>', 'nothing written yet (the file opens at its first write)')
  await tick()
  t.equal(read(file), 'Tue Nov  3 04:48:37 2026: one\nTue Nov  3 04:48:37 2026: two\n', 'written after the turn')
  for (let i = 0; i < 200; i++) vrrp.info(`line ${i} ${'x'.repeat(20)}`)
  const synchronously = read(file).split('\n').length - 1
  t.ok(synchronously > 2 && synchronously < 202, `a full buffer is written without waiting (${synchronously} lines)`)
  vrrp.info('last')
  logging.close()
  t.match(read(file), /: last\n$/, 'close writes the rest')
  t.equal(read(file).split('\n').length - 1, 203)
})

t.test('a file that cannot be opened costs lines, never an exception, and is retried later', async (t) => {
  let ms = 0
  const path = join(dir, 'no-such-dir', 'ka.log')
  const w = openLogFile(path, { flushEachLine: true, nowMs: () => ms })
  w.write('a\n')
  w.write('b\n')
  t.equal(w.dropped, 2)
  t.match(w.lastError, /ENOENT/)
  execFileSync('mkdir', ['-p', join(dir, 'no-such-dir')])
  ms = 5_000
  w.write('c\n')
  t.equal(w.dropped, 3, 'no new attempt before the back-off')
  ms = 10_000
  w.write('d\n')
  t.equal(w.dropped, 3)
  t.equal(read(path), 'd\n', 'reopened once the directory exists')
  w.close()
})

t.test('a FIFO with no reader never blocks the writer', async (t) => {
  const fifo = join(dir, 'fifo')
  execFileSync('mkfifo', [fifo])
  const started = Date.now()
  const w = openLogFile(fifo, { flushEachLine: true })
  w.write('x\n')
  t.equal(w.dropped, 1)
  t.match(w.lastError, /ENXIO/)
  t.ok(Date.now() - started < 1000)
  w.close()
})

t.test('gathered lines reach the file when the process exits at once', async (t) => {
  // dist/ is built before tap runs (scripts/test.sh); a child process shows the exit path.
  const logger = resolve(fileURLToPath(new URL('../../dist/log/logger.js', import.meta.url)))
  const base = join(dir, 'exit.log')
  const script = `const m = await import(${JSON.stringify(logger)}); const l = m.createLogging({ syslog: false, logFile: ${JSON.stringify(base)} }); l.logger('parent').info('before exit'); process.exit(3)`
  let status = 0
  try {
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000 })
  } catch (err) {
    status = (err as { status: number }).status
  }
  t.equal(status, 3)
  t.match(read(base), /^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}: before exit\n$/)
})
