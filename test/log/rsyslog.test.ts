/**
 * Our syslog lines through a real rsyslogd, side by side with Debian's
 * keepalived 2.2.7 in the same scenario: a VRRP instance alone on a segment
 * (namespace kats-sl-<pid>, 10.37.0.1/24) starts in BACKUP, times out into
 * MASTER, sends its gratuitous ARPs and is stopped with SIGTERM.
 *
 * rsyslogd runs with a private configuration: only imuxsock, on a private
 * socket, writing facility, severity, program name, pid and message to a file.
 * keepalived always logs to /dev/log, so it runs under `unshare -m` with a
 * tmpfs on /dev holding the usual device nodes and the private socket
 * bind-mounted on /dev/log (the host's /dev is never touched); ours is pointed
 * at the socket with KEEPALIVED_TS_SYSLOG_SOCKET (and runs with a private /run
 * for its control socket). Both get the same command line.
 *
 * Asserted: the same idents with numeric pids, the same facility and severity,
 * and, ident by ident and in order, the same message texts — except the lines
 * listed in BY_DESIGN below, which are checked for their own shape.
 */
import t from 'tap'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { guardCleanup } from '../helpers/cleanup.js'

const MAIN = resolve(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)))
const KEEPALIVED = '/usr/sbin/keepalived'
const RSYSLOGD = '/usr/sbin/rsyslogd'
const NS = `kats-sl-${process.pid}`
const WAIT_MS = 20_000

interface SyslogLine {
  readonly facility: string
  readonly severity: string
  readonly ident: string
  readonly pid: number
  readonly text: string
}

type Who = 'keepalived' | 'keepalived-ts'

function run(cmd: string, args: readonly string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000, killSignal: 'SIGKILL' })
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` }
}

function must(cmd: string, args: readonly string[]): void {
  const r = run(cmd, args)
  if (r.status !== 0) throw new Error(`setup: ${cmd} ${args.join(' ')} failed (needs root, iproute2, rsyslog): ${r.out}`)
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function until<T>(probe: () => T | undefined, what: string, ms = WAIT_MS): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = probe()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(100)
  }
}

// --- the rig: a namespace, rsyslogd on a private socket, a scratch directory ---
const dir = mkdtempSync(join(tmpdir(), 'kats-sl-'))
const sock = join(dir, 'log.sock')
const out = join(dir, 'syslog.txt')
const children = new Set<ChildProcess>()
const cleanup = guardCleanup(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  run('ip', ['netns', 'delete', NS])
  rmSync(dir, { recursive: true, force: true })
})
t.teardown(cleanup)

if (!existsSync(RSYSLOGD)) throw new Error(`${RSYSLOGD} missing: scripts/test.sh installs the rsyslog package`)
run('ip', ['netns', 'delete', NS])
must('ip', ['netns', 'add', NS])
must('ip', ['-n', NS, 'link', 'set', 'lo', 'up'])
must('ip', ['-n', NS, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1'])
must('ip', ['-n', NS, 'addr', 'add', '10.37.0.1/24', 'dev', 'eth0'])
must('ip', ['-n', NS, 'link', 'set', 'eth0', 'up'])
must('ip', ['-n', NS, 'link', 'set', 'eth1', 'up'])

writeFileSync(join(dir, 'rsyslog.conf'), [
  `global(workDirectory="${dir}")`,
  'module(load="imuxsock" SysSock.Use="off")',
  `input(type="imuxsock" Socket="${sock}")`,
  'template(name="kats" type="string" string="%syslogfacility-text%|%syslogseverity-text%|%programname%|%procid%|%msg%\\n")',
  `*.* action(type="omfile" file="${out}" template="kats")`,
  '',
].join('\n'))
const rsyslogd = spawn(RSYSLOGD, ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')], { stdio: 'ignore' })
children.add(rsyslogd)

const conf = join(dir, 'keepalived.conf')
writeFileSync(conf, `vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 37
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.37.0.100/24
    }
}
`)
mkdirSync(join(dir, 'hostdev'))

/** Every Keepalived* line rsyslogd has written so far. */
function syslogLines(): SyslogLine[] {
  if (!existsSync(out)) return []
  return readFileSync(out, 'utf8').split('\n').flatMap((raw) => {
    const m = /^([^|]*)\|([^|]*)\|([^|]*)\|([^|]*)\| ?(.*)$/.exec(raw)
    if (!m || !m[3]!.startsWith('Keepalived')) return []
    return [{ facility: m[1]!, severity: m[2]!, ident: m[3]!, pid: Number(m[4]), text: m[5]! }]
  })
}

/** The command line of one daemon run: the same flags and files for both. */
function command(who: Who, flags: readonly string[]): string[] {
  const args = ['-n', '-D', ...flags, '-f', conf, '-p', join(dir, 'ka.pid'), '-r', join(dir, 'ka_vrrp.pid'), '-c', join(dir, 'ka_check.pid')]
  if (who === 'keepalived-ts') {
    // A private /run: our control socket (/run/keepalived-ts.sock) must not meet another test's.
    const script = `mount -t tmpfs -o mode=755 kats-run /run && exec ${[process.execPath, MAIN, ...args].map((a) => `'${a}'`).join(' ')}`
    return ['ip', 'netns', 'exec', NS, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', script]
  }
  // keepalived's syslog(3) goes to /dev/log, whatever the environment says: give it a private /dev.
  const quoted = [KEEPALIVED, ...args].map((a) => `'${a}'`).join(' ')
  const script = [
    'set -e',
    `mount --bind /dev '${dir}/hostdev'`,
    'mount -t tmpfs -o mode=755 kats-dev /dev',
    `for n in null zero full random urandom; do touch /dev/$n; mount --bind '${dir}/hostdev/'$n /dev/$n; done`,
    `touch /dev/log; mount --bind '${sock}' /dev/log`,
    `exec ${quoted}`,
  ].join('\n')
  return ['ip', 'netns', 'exec', NS, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', script]
}

/**
 * Start one daemon, wait until `ready` has been logged (and the lines after it
 * settle), SIGTERM it, and return the lines it wrote through rsyslogd.
 */
async function scenario(who: Who, flags: readonly string[], ready: (lines: SyslogLine[]) => boolean): Promise<SyslogLine[]> {
  const before = syslogLines().length
  const [cmd, ...args] = command(who, flags)
  const env = { ...process.env, KEEPALIVED_TS_SYSLOG_SOCKET: sock }
  const child = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'], env })
  children.add(child)
  let stderr = ''
  child.stderr!.on('data', (b: Buffer) => { stderr += b.toString() })
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)))
  const mine = (): SyslogLine[] => syslogLines().slice(before)
  try {
    await until(() => (ready(mine()) ? true : undefined), `${who} to be ready`)
    // Let a burst of lines (gratuitous ARPs) finish before stopping.
    await sleep(1500)
    child.kill('SIGTERM')
    const code = await Promise.race([exited, sleep(WAIT_MS).then(() => 'hung' as const)])
    if (code === 'hung') throw new Error(`${who} did not stop within ${WAIT_MS} ms`)
    if (code !== 0) throw new Error(`${who} exited ${code}: ${stderr}`)
    return await until(() => {
      const lines = mine()
      return lines.some((l) => l.ident === 'Keepalived' && /^Stopped Keepalived/.test(l.text)) ? lines : undefined
    }, `${who}'s last line in rsyslogd's file`)
  } catch (err) {
    child.kill('SIGKILL')
    throw new Error(`${(err as Error).message}\n--- its lines so far ---\n${mine().map(show).join('\n')}\n--- stderr ---\n${stderr}`)
  }
}

function show(l: SyslogLine): string {
  return `${l.facility}.${l.severity} ${l.ident}[${l.pid}]: ${l.text}`
}

const becameMaster = (lines: SyslogLine[]): boolean =>
  lines.filter((l) => l.text === 'Sending gratuitous ARP on eth0 for 10.37.0.100').length >= 5

/**
 * Lines whose text differs by design, with the shape each side must have:
 * the program's name and version, what it runs on, and keepalived's notice
 * about a realtime-scheduling option keepalived-ts does not have.
 */
const BY_DESIGN: ReadonlyArray<{ readonly theirs: RegExp; readonly ours: RegExp | undefined; readonly why: string }> = [
  { theirs: /^Starting Keepalived v2\.2\.7 \(01\/16,2022\)$/, ours: /^Starting Keepalived-ts v\d+\.\d+\.\d+ \(keepalived 2\.2\.7 compatible\)$/, why: 'name and version' },
  { theirs: /^Stopped Keepalived v2\.2\.7 \(01\/16,2022\)$/, ours: /^Stopped Keepalived-ts v\d+\.\d+\.\d+ \(keepalived 2\.2\.7 compatible\)$/, why: 'name and version' },
  { theirs: /^Running on Linux .* \(built for Linux [\d.]+\)$/, ours: /^Running on Linux .* \(Node\.js v[\d.]+\)$/, why: 'a Node.js program is not built against kernel headers' },
  { theirs: /^NOTICE: setting config option max_auto_priority should result in better keepalived performance$/, ours: undefined, why: 'no realtime scheduling to suggest' },
]


/** keepalived-ts's own lines, for what keepalived does not have (the `status` control socket). */
const OURS_ONLY: readonly RegExp[] = [
  /^Control socket listening on \S+$/,
]

/** The process-model line, checked on its own (pids differ by nature). */
const CHILD_STARTED = /^Starting VRRP (child process|subsystem in this process), pid=(\d+)$/
/** Where in the sequence the socket-pool line comes is an implementation detail. */
const SOCKPOOL = /^VRRP sockpool: /

/** A text with the numbers that vary from run to run made fixed. */
function normalise(text: string): string {
  return text
    .replace(/\d+\.\d{6}/g, 'T')
    .replace(/fd\(\d+,\d+\) /, '')
}

/** The texts of one ident in order, without the lines compared separately. */
function sequence(lines: readonly SyslogLine[], ident: string, side: 'theirs' | 'ours'): string[] {
  const texts = lines.filter((l) => l.ident === ident).map((l) => l.text)
  const joined: string[] = []
  for (const text of texts) {
    if (/^ {14}\S/.test(text) && joined.at(-1)?.startsWith('Command line: ')) {
      joined[joined.length - 1] += ` ${text.trim()}`
      continue
    }
    joined.push(text)
  }
  return joined.flatMap((text) => {
    if (BY_DESIGN.some((d) => (side === 'theirs' ? d.theirs : d.ours)?.test(text))) return []
    if (side === 'ours' && OURS_ONLY.some((re) => re.test(text))) return []
    if (CHILD_STARTED.test(text) || SOCKPOOL.test(text)) return []
    // The program's path differs; the arguments after it must not.
    if (text.startsWith('Command line: ')) return [text.replace(/^Command line: '[^']*'/, 'Command line: PROGRAM')]
    return [normalise(text)]
  })
}

function identsOf(lines: readonly SyslogLine[]): string[] {
  return [...new Set(lines.map((l) => l.ident))].sort()
}

t.test('rsyslogd is up on its private socket', async () => {
  await until(() => (existsSync(sock) ? true : undefined), 'rsyslogd to create its socket', 10_000)
})

t.test('VRRP MASTER then SIGTERM: the same lines in rsyslogd as keepalived 2.2.7', async (t) => {
  const theirs = await scenario('keepalived', [], becameMaster)
  const ours = await scenario('keepalived-ts', [], becameMaster)
  t.comment(`keepalived:\n${theirs.map(show).join('\n')}`)
  t.comment(`keepalived-ts:\n${ours.map(show).join('\n')}`)

  t.same(identsOf(ours), identsOf(theirs), 'the same idents')
  t.same(identsOf(theirs), ['Keepalived', 'Keepalived_vrrp'])
  for (const l of ours) t.ok(Number.isInteger(l.pid) && l.pid > 1, `a pid on ${show(l)}`)
  const channels = (lines: readonly SyslogLine[]): string[] => [...new Set(lines.map((l) => `${l.ident} ${l.facility}.${l.severity}`))].sort()
  t.same(channels(ours), channels(theirs), 'the same facility and severity per ident')
  t.same(channels(theirs), ['Keepalived daemon.info', 'Keepalived_vrrp daemon.info'])

  for (const ident of ['Keepalived', 'Keepalived_vrrp']) {
    t.same(sequence(ours, ident, 'ours'), sequence(theirs, ident, 'theirs'), `${ident}: the same texts in the same order`)
  }
  const pool = (lines: readonly SyslogLine[]): string[] => lines.filter((l) => SOCKPOOL.test(l.text)).map((l) => normalise(l.text))
  t.same(pool(ours), pool(theirs), 'the socket pool line (fd numbers aside)')

  for (const d of BY_DESIGN) {
    const theirLine = theirs.find((l) => d.theirs.test(l.text))
    t.ok(theirLine, `keepalived wrote ${d.theirs}`)
    if (d.ours) t.ok(ours.some((l) => d.ours!.test(l.text)), `ours wrote ${d.ours} (${d.why})`)
    else t.notOk(ours.some((l) => d.theirs.test(l.text)), `ours leaves out ${d.theirs} (${d.why})`)
  }
  for (const plumbing of [/^Registering Kernel netlink reflector$/, /^Registering Kernel netlink command channel$/, /^Assigned address \S+ for interface eth0$/, /^Registering gratuitous ARP shared channel$/]) {
    t.ok(theirs.some((l) => plumbing.test(l.text)) && ours.some((l) => plumbing.test(l.text)), `both write ${plumbing}`)
  }
  t.comment(`keepalived-ts lines keepalived does not have: ${JSON.stringify(ours.filter((l) => OURS_ONLY.some((re) => re.test(l.text))).map((l) => l.text))}`)
  t.ok(ours.some((l) => /^Command line: '.*main\.js' '-n' '-D' '-f'/.test(l.text)), 'our command line names our program')

  t.test('a VRRP process of its own, announced by the parent with its pid', async (t) => {
    for (const [side, lines] of [['keepalived', theirs], ['keepalived-ts', ours]] as const) {
      const parentPid = lines.find((l) => l.ident === 'Keepalived')!.pid
      const vrrpPid = lines.find((l) => l.ident === 'Keepalived_vrrp')!.pid
      t.ok(lines.filter((l) => l.ident === 'Keepalived').every((l) => l.pid === parentPid), `${side}: one parent pid`)
      t.ok(lines.filter((l) => l.ident === 'Keepalived_vrrp').every((l) => l.pid === vrrpPid), `${side}: one VRRP pid`)
      t.not(vrrpPid, parentPid, `${side}: the VRRP lines come from another process`)
      const announced = lines.find((l) => l.ident === 'Keepalived' && CHILD_STARTED.test(l.text))?.text
      t.equal(announced, `Starting VRRP child process, pid=${vrrpPid}`, `${side}: the parent names its VRRP child`)
    }
  })
})

t.test('-S 3: every process logs to local3, as keepalived does', async (t) => {
  // `-S 3`, not `-S local3`: keepalived 2.2.7 takes the name too, but first logs
  // "invalid number 'local3'" (at facility daemon), a quirk not worth copying.
  const init = (lines: SyslogLine[]): boolean => lines.some((l) => l.text === '(VI_1) Entering BACKUP STATE (init)')
  const theirs = await scenario('keepalived', ['-S', '3'], init)
  const ours = await scenario('keepalived-ts', ['-S', '3'], init)
  const facilities = (lines: readonly SyslogLine[]): string[] => [...new Set(lines.map((l) => `${l.ident} ${l.facility}`))].sort()
  t.same(facilities(theirs), ['Keepalived local3', 'Keepalived_vrrp local3'])
  t.same(facilities(ours), facilities(theirs))
})
