import t from 'tap'
import { DEFAULT_CONFIG_FILE, parseOptions, usage } from '../../src/cli/options.js'

t.test('defaults', async (t) => {
  const o = parseOptions([])
  t.equal(o.useFile, DEFAULT_CONFIG_FILE)
  t.equal(o.configTest, false)
  t.equal(o.dumpConf, false)
})

t.test('short flags bundle and take attached or separate arguments like getopt', async (t) => {
  const o = parseOptions(['-nlD', '-f', '/tmp/a.conf', '-pP.pid', '-r', 'V.pid', '-cC.pid'])
  t.ok(o.dontFork && o.logConsole && o.logDetail)
  t.equal(o.useFile, '/tmp/a.conf')
  t.equal(o.pidFile, 'P.pid')
  t.equal(o.vrrpPidFile, 'V.pid')
  t.equal(o.checkersPidFile, 'C.pid')
  t.equal(parseOptions(['-f/tmp/b.conf']).useFile, '/tmp/b.conf')
})

t.test('long options with = or a separate argument', async (t) => {
  t.equal(parseOptions(['--use-file=/x']).useFile, '/x')
  t.equal(parseOptions(['--use-file', '/y']).useFile, '/y')
  t.equal(parseOptions(['--config-id', 'backup']).configId, 'backup')
  t.equal(parseOptions(['-i', 'main']).configId, 'main')
})

t.test('optional arguments only when attached: -t FILE is not a log file', async (t) => {
  const a = parseOptions(['-t', '-f', 'k.conf'])
  t.equal(a.configTest, true)
  t.equal(a.configTestLog, undefined)
  t.equal(a.useFile, 'k.conf')
  t.equal(parseOptions(['--config-test=/tmp/log']).configTestLog, '/tmp/log')
  t.equal(parseOptions(['-t/tmp/log']).configTestLog, '/tmp/log')
  t.same(parseOptions(['-t', 'stray']).unexpected, ['stray'])
})

t.test('dump-conf text and json', async (t) => {
  t.equal(parseOptions(['-d']).dumpConf, 'text')
  t.equal(parseOptions(['--dump-conf']).dumpConf, 'text')
  t.equal(parseOptions(['--dump-conf=json']).dumpConf, 'json')
})

t.test('unknown options and missing arguments are usage errors', async (t) => {
  t.throws(() => parseOptions(['--bogus']), { code: 'KA_ERR_USAGE', message: 'Unknown option --bogus' })
  t.throws(() => parseOptions(['-Z']), { message: 'Unknown option -Z' })
  t.throws(() => parseOptions(['-f']), { message: 'Option -f requires an argument' })
  t.throws(() => parseOptions(['--use-file']), { message: 'Option --use-file requires an argument' })
  t.throws(() => parseOptions(['--dont-fork=yes']), { message: 'Option --dont-fork takes no argument' })
})

t.test('usage lists every keepalived flag', async (t) => {
  const u = usage()
  for (const flag of ['--use-file', '--vrrp', '--check', '--log-console', '--log-detail', '--dont-fork', '--dump-conf', '--pid', '--vrrp_pid', '--checkers_pid', '--config-id', '--config-test', '--version', '--help']) {
    t.match(u, flag)
  }
})

t.test('-u reads the umask as strtoul base 0 does', async (t) => {
  const { parseUmask } = await import('../../src/cli/options.js')
  t.equal(parseUmask('022'), 0o22)
  t.equal(parseUmask('0077'), 0o77)
  t.equal(parseUmask('0x12'), 0x12)
  t.equal(parseUmask('18'), 18)
  t.throws(() => parseUmask('abc'), { code: 'KA_ERR_USAGE' })
  t.throws(() => parseUmask('01000'), { code: 'KA_ERR_USAGE' })
})
