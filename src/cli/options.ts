/**
 * keepalived's command line (reference §3.1), read the way getopt_long reads it:
 * bundled short flags (`-nlD`), `-fFILE` / `-f FILE`, `--use-file=FILE` /
 * `--use-file FILE`, and optional arguments only when attached (`-tLOG`,
 * `--config-test=LOG`). Pure: argv in, options or a usage error out.
 */

export interface Options {
  useFile: string
  configTest: boolean
  /** `--config-test=FILE`: where the config test writes its report. */
  configTestLog: string | undefined
  configId: string | undefined
  dumpConf: false | 'text' | 'json'
  version: boolean
  help: boolean
  vrrpOnly: boolean
  checkOnly: boolean
  noBfd: boolean
  all: boolean
  logConsole: boolean
  logDetail: boolean
  logFacility: string | undefined
  noSyslog: boolean
  logFile: string | undefined
  flushLogFile: boolean
  umask: string | undefined
  releaseVips: boolean
  dontReleaseVrrp: boolean
  dontReleaseIpvs: boolean
  dontRespawn: boolean
  dontFork: boolean
  pidFile: string | undefined
  vrrpPidFile: string | undefined
  checkersPidFile: string | undefined
  bfdPidFile: string | undefined
  addressMonitoring: boolean
  snmp: boolean
  snmpAgentSocket: string | undefined
  namespace: string | undefined
  coreDump: boolean
  coreDumpPattern: string | undefined
  allConfig: boolean
  signum: string | undefined
  /** Words that are not options: keepalived warns `Unexpected argument(s)` and carries on. */
  unexpected: string[]
}

type ArgMode = 'none' | 'required' | 'optional'

interface OptionSpec {
  readonly short?: string
  readonly long: string
  readonly arg: ArgMode
  readonly apply: (o: Options, value: string | undefined) => void
  readonly help: string
}

export const DEFAULT_CONFIG_FILE = '/etc/keepalived/keepalived.conf'

const SPECS: readonly OptionSpec[] = [
  { short: 'f', long: 'use-file', arg: 'required', apply: (o, v) => { o.useFile = v! }, help: 'Use the specified configuration file\n default \'/etc/keepalived/keepalived.conf\'' },
  { short: 'P', long: 'vrrp', arg: 'none', apply: (o) => { o.vrrpOnly = true }, help: 'Only run with VRRP subsystem' },
  { short: 'C', long: 'check', arg: 'none', apply: (o) => { o.checkOnly = true }, help: 'Only run with Health-checker subsystem' },
  { short: 'B', long: 'no_bfd', arg: 'none', apply: (o) => { o.noBfd = true }, help: "Don't run BFD subsystem" },
  { long: 'all', arg: 'none', apply: (o) => { o.all = true }, help: 'Force all child processes to run, even if have no configuration' },
  { short: 'l', long: 'log-console', arg: 'none', apply: (o) => { o.logConsole = true }, help: 'Log messages to local console' },
  { short: 'D', long: 'log-detail', arg: 'none', apply: (o) => { o.logDetail = true }, help: 'Detailed log messages' },
  { short: 'S', long: 'log-facility', arg: 'required', apply: (o, v) => { o.logFacility = v }, help: 'Set syslog facility to LOG_LOCAL[0-7], user or daemon (default)' },
  { short: 'G', long: 'no-syslog', arg: 'none', apply: (o) => { o.noSyslog = true }, help: "Don't log via syslog" },
  { short: 'g', long: 'log-file', arg: 'optional', apply: (o, v) => { o.logFile = v ?? '/tmp/keepalived.log' }, help: 'Also log to FILE (default /tmp/keepalived.log)' },
  { long: 'flush-log-file', arg: 'none', apply: (o) => { o.flushLogFile = true }, help: 'Flush log file on write' },
  { short: 'u', long: 'umask', arg: 'required', apply: (o, v) => { o.umask = v }, help: 'umask for file creation (in numeric form)' },
  { short: 'X', long: 'release-vips', arg: 'none', apply: (o) => { o.releaseVips = true }, help: 'Drop VIP on transition from signal.' },
  { short: 'V', long: 'dont-release-vrrp', arg: 'none', apply: (o) => { o.dontReleaseVrrp = true }, help: "Don't remove VRRP VIPs and VROUTEs on daemon stop" },
  { short: 'I', long: 'dont-release-ipvs', arg: 'none', apply: (o) => { o.dontReleaseIpvs = true }, help: "Don't remove IPVS topology on daemon stop" },
  { short: 'R', long: 'dont-respawn', arg: 'none', apply: (o) => { o.dontRespawn = true }, help: "Don't respawn child processes" },
  { short: 'n', long: 'dont-fork', arg: 'none', apply: (o) => { o.dontFork = true }, help: "Don't fork the daemon process" },
  { short: 'd', long: 'dump-conf', arg: 'optional', apply: (o, v) => { o.dumpConf = v === 'json' ? 'json' : 'text' }, help: 'Dump the configuration data (--dump-conf=json for JSON)' },
  { short: 'p', long: 'pid', arg: 'required', apply: (o, v) => { o.pidFile = v }, help: 'Use specified pidfile for parent process' },
  { short: 'r', long: 'vrrp_pid', arg: 'required', apply: (o, v) => { o.vrrpPidFile = v }, help: 'Use specified pidfile for VRRP child process' },
  { short: 'c', long: 'checkers_pid', arg: 'required', apply: (o, v) => { o.checkersPidFile = v }, help: 'Use specified pidfile for checkers child process' },
  { short: 'a', long: 'address-monitoring', arg: 'none', apply: (o) => { o.addressMonitoring = true }, help: 'Report all address additions/deletions notified via netlink' },
  { short: 'b', long: 'bfd_pid', arg: 'required', apply: (o, v) => { o.bfdPidFile = v }, help: 'Use specified pidfile for BFD child process' },
  { short: 'x', long: 'snmp', arg: 'none', apply: (o) => { o.snmp = true }, help: 'Enable SNMP subsystem' },
  { short: 'A', long: 'snmp-agent-socket', arg: 'required', apply: (o, v) => { o.snmpAgentSocket = v }, help: 'Use the specified socket for master agent' },
  { short: 's', long: 'namespace', arg: 'required', apply: (o, v) => { o.namespace = v }, help: 'Run in network namespace NAME (overrides config)' },
  { short: 'm', long: 'core-dump', arg: 'none', apply: (o) => { o.coreDump = true }, help: 'Produce core dump if terminate abnormally' },
  { short: 'M', long: 'core-dump-pattern', arg: 'optional', apply: (o, v) => { o.coreDumpPattern = v ?? 'core' }, help: "Also set /proc/sys/kernel/core_pattern to PATN (default 'core')" },
  { short: 'e', long: 'all-config', arg: 'none', apply: (o) => { o.allConfig = true }, help: 'Error if any configuration file missing' },
  { short: 'i', long: 'config-id', arg: 'required', apply: (o, v) => { o.configId = v }, help: "Skip any configuration lines beginning '@' that don't match id\n or any lines beginning @^ that do match." },
  { long: 'signum', arg: 'required', apply: (o, v) => { o.signum = v }, help: 'Return signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON' },
  { short: 't', long: 'config-test', arg: 'optional', apply: (o, v) => { o.configTest = true; o.configTestLog = v }, help: 'Check the configuration for obvious errors, output to\n stderr by default' },
  { short: 'v', long: 'version', arg: 'none', apply: (o) => { o.version = true }, help: 'Display the version number' },
  { short: 'h', long: 'help', arg: 'none', apply: (o) => { o.help = true }, help: 'Display this help message' },
]

export function defaultOptions(): Options {
  return {
    useFile: DEFAULT_CONFIG_FILE, configTest: false, configTestLog: undefined, configId: undefined, dumpConf: false,
    version: false, help: false, vrrpOnly: false, checkOnly: false, noBfd: false, all: false, logConsole: false,
    logDetail: false, logFacility: undefined, noSyslog: false, logFile: undefined, flushLogFile: false, umask: undefined,
    releaseVips: false, dontReleaseVrrp: false, dontReleaseIpvs: false, dontRespawn: false, dontFork: false,
    pidFile: undefined, vrrpPidFile: undefined, checkersPidFile: undefined, bfdPidFile: undefined,
    addressMonitoring: false, snmp: false, snmpAgentSocket: undefined, namespace: undefined, coreDump: false,
    coreDumpPattern: undefined, allConfig: false, signum: undefined, unexpected: [],
  }
}

export class UsageError extends Error {
  readonly code = 'KA_ERR_USAGE'
}

export function parseOptions(argv: readonly string[]): Options {
  const o = defaultOptions()
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a.startsWith('--')) {
      const eq = a.indexOf('=')
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq)
      const spec = SPECS.find((s) => s.long === name)
      if (!spec) throw new UsageError(`Unknown option ${a}`)
      let value: string | undefined = eq < 0 ? undefined : a.slice(eq + 1)
      if (spec.arg === 'none' && value !== undefined) throw new UsageError(`Option --${name} takes no argument`)
      if (spec.arg === 'required' && value === undefined) {
        value = argv[++i]
        if (value === undefined) throw new UsageError(`Option --${name} requires an argument`)
      }
      spec.apply(o, value)
    } else if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const spec = SPECS.find((s) => s.short === a[j])
        if (!spec) throw new UsageError(`Unknown option -${a[j]}`)
        if (spec.arg === 'none') {
          spec.apply(o, undefined)
          continue
        }
        let value: string | undefined = a.slice(j + 1) || undefined
        if (spec.arg === 'required' && value === undefined) {
          value = argv[++i]
          if (value === undefined) throw new UsageError(`Option -${a[j]} requires an argument`)
        }
        spec.apply(o, value)
        break
      }
    } else {
      o.unexpected.push(a)
    }
  }
  return o
}

/** `-u MASK` the way keepalived reads it (strtoul base 0): `022`/`0022` octal, `0x12` hex, else decimal. */
export function parseUmask(text: string): number {
  const value = /^0[xX][0-9a-fA-F]+$/.test(text) ? parseInt(text, 16) : /^0[0-7]*$/.test(text) ? parseInt(text, 8) : /^[1-9]\d*$/.test(text) ? Number(text) : NaN
  if (!Number.isInteger(value) || value > 0o777) throw new UsageError(`Invalid umask '${text}'`)
  return value
}

export function usage(program = 'keepalived-ts'): string {
  const lines = [`Usage: ${program} [OPTION...]`]
  for (const s of SPECS) {
    const argText = s.arg === 'required' ? '=ARG' : s.arg === 'optional' ? '[=ARG]' : ''
    const flag = `${s.short ? `-${s.short}, ` : '    '}--${s.long}${argText}`
    const [first, ...rest] = s.help.split('\n')
    lines.push(`  ${flag.padEnd(29)}${first}`)
    for (const r of rest) lines.push(`  ${''.padEnd(29)}${r.trim()}`)
  }
  return lines.join('\n') + '\n'
}
