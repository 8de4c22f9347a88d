/**
 * keepalived's command line (reference §3.1), read the way keepalived's
 * getopt_long loop reads it: bundled short flags (`-nlD`), `-fFILE` / `-f FILE`,
 * `--use-file=FILE` / `--use-file FILE`, unambiguous long prefixes (`--ver`),
 * optional arguments only when attached (`-tLOG`, `--config-test=LOG`). A bad
 * option does not stop the loop: keepalived reports each one and exits 1 at the
 * end, unless `-v`, `-h` or `--signum` comes first and answers at once. Pure:
 * argv in, options, problems and the immediate action out.
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
  genhash: boolean
  signum: string | undefined
  /** Not keepalived's: the status socket of `keepalived-ts status` (`none` turns it off). */
  controlSocket: string
  /** Not keepalived's: where Prometheus metrics are served (`127.0.0.1:9650`); off by default. */
  metrics: string | undefined
  /** Words that are not options: keepalived warns `Unexpected argument(s)` and carries on. */
  unexpected: string[]
}

type ArgMode = 'none' | 'required' | 'optional'

interface OptionSpec {
  readonly short?: string
  readonly long: string
  readonly arg: ArgMode
  readonly apply: (o: Options, value: string | undefined) => void
  /** The `--help` lines, keepalived's layout: the flag column then the text. */
  readonly help: readonly string[]
}

export const DEFAULT_CONFIG_FILE = '/etc/keepalived/keepalived.conf'
export const DEFAULT_CONTROL_SOCKET = '/run/keepalived-ts.sock'

/** The flags keepalived accepts but keepalived-ts does not act on, with why. */
export const NOT_IMPLEMENTED: Readonly<Partial<Record<keyof Options, string>>> = {
  snmp: '-x (--snmp): SNMP is not supported by keepalived-ts',
  snmpAgentSocket: '-A (--snmp-agent-socket): SNMP is not supported by keepalived-ts',
  namespace: '-s (--namespace): network namespaces are not supported by keepalived-ts; run it with `ip netns exec NAME` instead',
  coreDump: '-m (--core-dump): core dumps are not configured by keepalived-ts',
  coreDumpPattern: '-M (--core-dump-pattern): core dumps are not configured by keepalived-ts',
  bfdPidFile: '-b (--bfd_pid): keepalived-ts has no BFD child',
}

const col = (flag: string, text: string): string => `  ${flag.padEnd(29)}${text}`
const more = (text: string): string => `${''.padEnd(31)} ${text}`

// keepalived 2.2.7's order and wording (Debian's build), then keepalived-ts's own flags.
const SPECS: readonly OptionSpec[] = [
  { short: 'f', long: 'use-file', arg: 'required', apply: (o, v) => { o.useFile = v! },
    help: [col('-f, --use-file=FILE', 'Use the specified configuration file'), more(`default '${DEFAULT_CONFIG_FILE}'`)] },
  { short: 'P', long: 'vrrp', arg: 'none', apply: (o) => { o.vrrpOnly = true }, help: [col('-P, --vrrp', 'Only run with VRRP subsystem')] },
  { short: 'C', long: 'check', arg: 'none', apply: (o) => { o.checkOnly = true }, help: [col('-C, --check', 'Only run with Health-checker subsystem')] },
  { short: 'B', long: 'no_bfd', arg: 'none', apply: (o) => { o.noBfd = true }, help: [col('-B, --no_bfd', "Don't run BFD subsystem")] },
  { long: 'all', arg: 'none', apply: (o) => { o.all = true }, help: [col('    --all', 'Force all child processes to run, even if have no configuration')] },
  { short: 'l', long: 'log-console', arg: 'none', apply: (o) => { o.logConsole = true }, help: [col('-l, --log-console', 'Log messages to local console')] },
  { short: 'D', long: 'log-detail', arg: 'none', apply: (o) => { o.logDetail = true }, help: [col('-D, --log-detail', 'Detailed log messages')] },
  { short: 'S', long: 'log-facility', arg: 'required', apply: (o, v) => { o.logFacility = v },
    help: ['  -S, --log-facility=([0-7]|local[0-7]|user|daemon)', `${''.padEnd(31)}Set syslog facility to LOG_LOCAL[0-7], user or daemon (default)`] },
  { short: 'g', long: 'log-file', arg: 'optional', apply: (o, v) => { o.logFile = v ?? '/tmp/keepalived.log' },
    help: [col('-g, --log-file=FILE', 'Also log to FILE (default /tmp/keepalived.log)')] },
  { long: 'flush-log-file', arg: 'none', apply: (o) => { o.flushLogFile = true }, help: [col('    --flush-log-file', 'Flush log file on write')] },
  { short: 'G', long: 'no-syslog', arg: 'none', apply: (o) => { o.noSyslog = true }, help: [col('-G, --no-syslog', "Don't log via syslog")] },
  { short: 'u', long: 'umask', arg: 'required', apply: (o, v) => { o.umask = v }, help: [col('-u, --umask=MASK', 'umask for file creation (in numeric form)')] },
  { short: 'X', long: 'release-vips', arg: 'none', apply: (o) => { o.releaseVips = true }, help: [col('-X, --release-vips', 'Drop VIP on transition from signal.')] },
  { short: 'V', long: 'dont-release-vrrp', arg: 'none', apply: (o) => { o.dontReleaseVrrp = true }, help: [col('-V, --dont-release-vrrp', "Don't remove VRRP VIPs and VROUTEs on daemon stop")] },
  { short: 'I', long: 'dont-release-ipvs', arg: 'none', apply: (o) => { o.dontReleaseIpvs = true }, help: [col('-I, --dont-release-ipvs', "Don't remove IPVS topology on daemon stop")] },
  { short: 'R', long: 'dont-respawn', arg: 'none', apply: (o) => { o.dontRespawn = true }, help: [col('-R, --dont-respawn', "Don't respawn child processes")] },
  { short: 'n', long: 'dont-fork', arg: 'none', apply: (o) => { o.dontFork = true }, help: [col('-n, --dont-fork', "Don't fork the daemon process")] },
  { short: 'd', long: 'dump-conf', arg: 'optional', apply: (o, v) => { o.dumpConf = v === 'json' ? 'json' : 'text' },
    help: [col('-d, --dump-conf', 'Dump the configuration data (--dump-conf=json: the model as JSON)')] },
  { short: 'p', long: 'pid', arg: 'required', apply: (o, v) => { o.pidFile = v }, help: [col('-p, --pid=FILE', 'Use specified pidfile for parent process')] },
  { short: 'r', long: 'vrrp_pid', arg: 'required', apply: (o, v) => { o.vrrpPidFile = v }, help: [col('-r, --vrrp_pid=FILE', 'Use specified pidfile for VRRP child process')] },
  { short: 'T', long: 'genhash', arg: 'none', apply: (o) => { o.genhash = true },
    help: [col('-T, --genhash', 'Enter into genhash utility mode (this should be the first option used).')] },
  { short: 'c', long: 'checkers_pid', arg: 'required', apply: (o, v) => { o.checkersPidFile = v }, help: [col('-c, --checkers_pid=FILE', 'Use specified pidfile for checkers child process')] },
  { short: 'a', long: 'address-monitoring', arg: 'none', apply: (o) => { o.addressMonitoring = true },
    help: [col('-a, --address-monitoring', 'Report all address additions/deletions notified via netlink')] },
  { short: 'b', long: 'bfd_pid', arg: 'required', apply: (o, v) => { o.bfdPidFile = v }, help: [col('-b, --bfd_pid=FILE', 'Use specified pidfile for BFD child process')] },
  { short: 'x', long: 'snmp', arg: 'none', apply: (o) => { o.snmp = true }, help: [col('-x, --snmp', 'Enable SNMP subsystem')] },
  { short: 'A', long: 'snmp-agent-socket', arg: 'required', apply: (o, v) => { o.snmpAgentSocket = v }, help: [col('-A, --snmp-agent-socket=FILE', 'Use the specified socket for master agent')] },
  { short: 's', long: 'namespace', arg: 'required', apply: (o, v) => { o.namespace = v }, help: [col('-s, --namespace=NAME', 'Run in network namespace NAME (overrides config)')] },
  { short: 'm', long: 'core-dump', arg: 'none', apply: (o) => { o.coreDump = true }, help: [col('-m, --core-dump', 'Produce core dump if terminate abnormally')] },
  { short: 'M', long: 'core-dump-pattern', arg: 'optional', apply: (o, v) => { o.coreDumpPattern = v ?? 'core' },
    help: [col('-M, --core-dump-pattern=PATN', "Also set /proc/sys/kernel/core_pattern to PATN (default 'core')")] },
  { short: 'e', long: 'all-config', arg: 'none', apply: (o) => { o.allConfig = true }, help: [col('-e, --all-config', 'Error if any configuration file missing (same as includet)')] },
  { short: 'i', long: 'config-id', arg: 'required', apply: (o, v) => { o.configId = v },
    help: [col('-i, --config-id id', "Skip any configuration lines beginning '@' that don't match id"), more('or any lines beginning @^ that do match.'),
      more('The config-id defaults to the node name if option not used')] },
  { long: 'signum', arg: 'required', apply: (o, v) => { o.signum = v }, help: [col('    --signum=SIGFUNC', 'Return signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON')] },
  { short: 't', long: 'config-test', arg: 'optional', apply: (o, v) => { o.configTest = true; o.configTestLog = v },
    help: [col('-t, --config-test[=LOG_FILE]', 'Check the configuration for obvious errors, output to'), more('stderr by default')] },
  { long: 'control-socket', arg: 'required', apply: (o, v) => { o.controlSocket = v! },
    help: [col('    --control-socket=PATH', `Socket for 'keepalived-ts status' (default ${DEFAULT_CONTROL_SOCKET}, 'none': off)`)] },
  { long: 'metrics', arg: 'required', apply: (o, v) => { o.metrics = v },
    help: [col('    --metrics=ADDR', 'Serve Prometheus metrics on ADDR (e.g. 127.0.0.1:9650; default off)')] },
  { short: 'v', long: 'version', arg: 'none', apply: (o) => { o.version = true }, help: [col('-v, --version', 'Display the version number')] },
  { short: 'h', long: 'help', arg: 'none', apply: (o) => { o.help = true }, help: [col('-h, --help', 'Display this help message')] },
]

export function defaultOptions(): Options {
  return {
    useFile: DEFAULT_CONFIG_FILE, configTest: false, configTestLog: undefined, configId: undefined, dumpConf: false,
    version: false, help: false, vrrpOnly: false, checkOnly: false, noBfd: false, all: false, logConsole: false,
    logDetail: false, logFacility: undefined, noSyslog: false, logFile: undefined, flushLogFile: false, umask: undefined,
    releaseVips: false, dontReleaseVrrp: false, dontReleaseIpvs: false, dontRespawn: false, dontFork: false,
    pidFile: undefined, vrrpPidFile: undefined, checkersPidFile: undefined, bfdPidFile: undefined,
    addressMonitoring: false, snmp: false, snmpAgentSocket: undefined, namespace: undefined, coreDump: false,
    coreDumpPattern: undefined, allConfig: false, genhash: false, signum: undefined,
    controlSocket: DEFAULT_CONTROL_SOCKET, metrics: undefined, unexpected: [],
  }
}

export class UsageError extends Error {
  readonly code = 'KA_ERR_USAGE'
}

/** One bad option: keepalived's message and the shorter one {@link parseOptions} throws. */
export interface OptionProblem {
  /** keepalived's own line: `Unknown option --bogus`, `Missing parameter for option -f`. */
  readonly text: string
  readonly legacy: string
}

/** What answers at once, in the order keepalived's loop meets it. */
export type ImmediateAction = 'version' | 'help' | { readonly signum: string }

export interface CommandLine {
  readonly options: Options
  /** Every bad option, in order. */
  readonly problems: readonly OptionProblem[]
  /** The first `-v` / `-h` / `--signum`; keepalived answers it and exits 0 (no error for what follows). */
  readonly action: ImmediateAction | undefined
  /** How many problems came before the action (keepalived printed those before answering). */
  readonly problemsBeforeAction: number
}

function findLong(name: string): OptionSpec | undefined {
  const exact = SPECS.find((s) => s.long === name)
  if (exact) return exact
  // getopt_long accepts any unambiguous prefix of a long option.
  const prefixed = name === '' ? [] : SPECS.filter((s) => s.long.startsWith(name))
  return prefixed.length === 1 ? prefixed[0] : undefined
}

/** Read argv as keepalived does; never throws. */
export function readCommandLine(argv: readonly string[]): CommandLine {
  const o = defaultOptions()
  const problems: OptionProblem[] = []
  let action: ImmediateAction | undefined
  let problemsBeforeAction = 0
  const applied = (spec: OptionSpec, value: string | undefined): void => {
    spec.apply(o, value)
    if (action !== undefined) return
    if (spec.long === 'version') action = 'version'
    else if (spec.long === 'help') action = 'help'
    else if (spec.long === 'signum') action = { signum: value! }
    if (action !== undefined) problemsBeforeAction = problems.length
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=')
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq)
      const spec = findLong(name)
      let value: string | undefined = eq < 0 ? undefined : a.slice(eq + 1)
      if (!spec || (spec.arg === 'none' && value !== undefined)) {
        problems.push({ text: `Unknown option ${a}`, legacy: spec ? `Option --${spec.long} takes no argument` : `Unknown option ${a}` })
        continue
      }
      if (spec.arg === 'required' && value === undefined) {
        value = argv[++i]
        if (value === undefined) {
          problems.push({ text: `Missing parameter for option --${spec.long}`, legacy: `Option --${spec.long} requires an argument` })
          continue
        }
      }
      applied(spec, value)
    } else if (a.startsWith('-') && a.length > 1 && a !== '--') {
      for (let j = 1; j < a.length; j++) {
        const spec = SPECS.find((s) => s.short === a[j])
        if (!spec) {
          problems.push({ text: `Unknown option -${a[j]}`, legacy: `Unknown option -${a[j]}` })
          continue
        }
        if (spec.arg === 'none') {
          applied(spec, undefined)
          continue
        }
        let value: string | undefined = a.slice(j + 1) || undefined
        if (spec.arg === 'required' && value === undefined) {
          value = argv[++i]
          if (value === undefined) {
            problems.push({ text: `Missing parameter for option -${a[j]}`, legacy: `Option -${a[j]} requires an argument` })
            break
          }
        }
        applied(spec, value)
        break
      }
    } else {
      o.unexpected.push(a)
    }
  }
  return { options: o, problems, action, problemsBeforeAction: action === undefined ? problems.length : problemsBeforeAction }
}

/** Strict form for callers that want one error: throws {@link UsageError} on the first bad option. */
export function parseOptions(argv: readonly string[]): Options {
  const r = readCommandLine(argv)
  const first = r.problems[0]
  if (first) throw new UsageError(first.legacy)
  return r.options
}

/** `-u MASK` the way keepalived reads it (strtoul base 0): `022`/`0022` octal, `0x12` hex, else decimal. */
export function parseUmask(text: string): number {
  const value = /^0[xX][0-9a-fA-F]+$/.test(text) ? parseInt(text, 16) : /^0[0-7]*$/.test(text) ? parseInt(text, 8) : /^[1-9]\d*$/.test(text) ? Number(text) : NaN
  if (!Number.isInteger(value) || value > 0o777) throw new UsageError(`Invalid --umask option ${text}`)
  return value
}

/** keepalived's `--help` text, with keepalived-ts's two extra flags. */
export function usage(program = 'keepalived-ts'): string {
  const lines = [`Usage: ${program} [OPTION...]`, ...SPECS.flatMap((s) => s.help)]
  lines.push('', `   or: ${program} status [OPTION...]  Show the running daemon's state ('${program} status --help')`)
  return lines.join('\n') + '\n'
}

/** The options the user set that keepalived-ts accepts but does not act on, as log lines. */
export function notImplementedLines(o: Options): string[] {
  const defaults = defaultOptions()
  return (Object.keys(NOT_IMPLEMENTED) as (keyof Options)[])
    .filter((k) => o[k] !== defaults[k])
    .map((k) => `WARNING - option ${NOT_IMPLEMENTED[k]}; ignored`)
}
