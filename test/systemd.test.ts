/**
 * The files an operator installs (README "Installing"): systemd/keepalived-ts.service
 * passes `systemd-analyze verify` and carries the directives keepalived's units
 * have; its ExecStart, ExecReload and stop behave as Type=forking, PIDFile= and
 * KillMode=mixed expect (played by hand: PID 1 here is not systemd);
 * etc/default/keepalived-ts's DAEMON_ARGS examples are flags we accept;
 * etc/keepalived/keepalived.conf (master, and backup with `-i backup`) passes
 * both Debian's `keepalived -t` and ours, and means what its comments say.
 * Daemons and config tests run in a namespace of their own (kats-sl-cfg-*,
 * 10.37.9.1/24 on an eth0), the daemon with a private /run and /etc/keepalived.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseOptions } from '../src/cli/options.js'
import { guardCleanup } from './helpers/cleanup.js'

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))
const UNIT = join(ROOT, 'systemd', 'keepalived-ts.service')
const ENV_FILE = join(ROOT, 'etc', 'default', 'keepalived-ts')
const CONF = join(ROOT, 'etc', 'keepalived', 'keepalived.conf')
const MAIN = join(ROOT, 'dist', 'cli', 'main.js')
const dir = mkdtempSync(join(tmpdir(), 'kats-unit-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

function run(cmd: string, args: readonly string[], timeout = 20_000) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout, killSignal: 'SIGKILL' })
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error }
}

/** `[Section]` → key → values (a key may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>()
  let current: Map<string, string[]> | undefined
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const section = /^\[(.+)\]$/.exec(line)
    if (section) {
      current = new Map()
      sections.set(section[1]!, current)
      continue
    }
    const eq = line.indexOf('=')
    if (!current || eq < 0) throw new Error(`not a unit line: ${line}`)
    const key = line.slice(0, eq)
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)])
  }
  return sections
}

/** systemd-analyze verify on a copy whose ExecStart names this checkout's daemon (verify wants an executable). */
function verify(unitText: string, name: string) {
  const sub = join(dir, name)
  rmSync(sub, { recursive: true, force: true })
  spawnSync('mkdir', ['-p', sub])
  const path = join(sub, 'keepalived-ts.service')
  writeFileSync(path, unitText.replaceAll('/usr/bin/keepalived-ts', MAIN))
  return run('systemd-analyze', ['verify', path])
}

t.test('the unit passes systemd-analyze verify without a warning', async (t) => {
  const text = readFileSync(UNIT, 'utf8')
  const r = verify(text, 'good')
  t.equal(r.error, undefined, 'systemd-analyze runs (package systemd)')
  t.equal(r.status, 0)
  t.equal(r.stdout + r.stderr, '', 'no warning')
  // The check can fail: a broken copy is reported.
  const bad = verify(text.replace(/^Type=forking$/m, 'Type=forkin').replace(/^KillMode=mixed$/m, 'KillMode=mixed\nRestartSecs=1'), 'bad')
  t.match(bad.stdout + bad.stderr, /service type/)
  t.match(bad.stdout + bad.stderr, /Unknown key 'RestartSecs'/)
})

t.test('the unit has what keepalived.service has, and a restart policy', async (t) => {
  const unit = parseUnit(readFileSync(UNIT, 'utf8'))
  const u = unit.get('Unit')!
  const s = unit.get('Service')!
  const words = (m: Map<string, string[]>, key: string): string[] => (m.get(key) ?? []).flatMap((v) => v.split(/\s+/))
  t.ok(words(u, 'After').includes('network-online.target'))
  t.ok(words(u, 'Wants').includes('network-online.target'))
  t.ok(words(u, 'Conflicts').includes('keepalived.service'))
  t.ok(words(u, 'After').includes('keepalived.service'), 'ordered, so a switch stops keepalived before starting us')
  t.same(u.get('ConditionFileNotEmpty'), ['/etc/keepalived/keepalived.conf'])
  t.same(s.get('Type'), ['forking'], 'the daemon detaches; it does not send sd_notify')
  t.same(s.get('PIDFile'), ['/run/keepalived.pid'], "keepalived's default parent pid file")
  t.same(s.get('ExecStart'), ['/usr/bin/keepalived-ts $DAEMON_ARGS'])
  t.same(s.get('ExecReload'), ['/bin/kill -HUP $MAINPID'])
  t.same(s.get('EnvironmentFile'), ['-/etc/default/keepalived-ts'])
  t.same(s.get('Restart'), ['on-failure'])
  t.same(s.get('KillMode'), ['mixed'], 'SIGTERM to the parent only: it stops its children itself')
  t.same(unit.get('Install')?.get('WantedBy'), ['multi-user.target'])
})

t.test('ExecStart, PIDFile, ExecReload and stop as systemd runs them (Type=forking, KillMode=mixed)', async (t) => {
  const service = parseUnit(readFileSync(UNIT, 'utf8')).get('Service')!
  const execStart = service.get('ExecStart')![0]!.replace('/usr/bin/keepalived-ts', MAIN)
  const execReload = service.get('ExecReload')![0]!
  const pidFile = service.get('PIDFile')![0]!
  // A private /run (pid files, control socket, log files) and /etc/keepalived
  // holding the example; -P because this kernel has no IPVS for the checkers.
  const script = `set -u
mount -t tmpfs -o mode=755 kats-run /run
mount -t tmpfs -o mode=755 kats-etc /etc/keepalived
cp '${CONF}' /etc/keepalived/keepalived.conf
set -a; . '${ENV_FILE}'; set +a
DAEMON_ARGS="$DAEMON_ARGS -P -G --log-file=/run/kats.log --flush-log-file"
${execStart}
echo "start_status=$?"
MAINPID=$(cat '${pidFile}' 2>/dev/null)
echo "mainpid=$MAINPID"
kill -0 "$MAINPID" 2>/dev/null && echo alive=yes
# The pid file is written before the children start; a SIGHUP in between is
# the process model's business (see its tests), not the unit's.
for i in $(seq 50); do grep -q 'Startup complete' /run/kats.log 2>/dev/null && break; sleep 0.2; done
${execReload}
for i in $(seq 50); do grep -q 'Reload complete' /run/kats.log 2>/dev/null && break; sleep 0.2; done
grep -q 'Reload complete' /run/kats.log && echo reloaded=yes
kill -TERM "$MAINPID"
for i in $(seq 100); do kill -0 "$MAINPID" 2>/dev/null || break; sleep 0.2; done
kill -0 "$MAINPID" 2>/dev/null || echo stopped=yes
# Ours, by their command line (the daemon's, not this script's); killed if any is left.
for p in $(pgrep -f 'main[.]js -P -G --log-file=/run/kats[.]log'); do echo "left=$p"; kill -KILL "$p"; done
[ -e '${pidFile}' ] && echo pidfile_left=yes
echo "files=$(cd /run && echo kats*)"
echo "--- kats.log"; cat /run/kats.log
echo "--- kats_vrrp.log"; cat /run/kats_vrrp.log
`
  const r = inNs(['unshare', '-m', '--propagation', 'private', 'bash', '-c', script], 60_000)
  const out = r.stdout
  t.comment(out + r.stderr)
  t.equal(r.status, 0)
  t.match(out, /^start_status=0$/m, 'ExecStart returns 0 once the daemon is up')
  t.match(out, /^mainpid=\d+$/m, 'and the PIDFile names the main process')
  t.match(out, /^alive=yes$/m)
  t.match(out, /^reloaded=yes$/m, 'ExecReload: SIGHUP to $MAINPID reloads')
  t.match(out, /^stopped=yes$/m, 'SIGTERM to the main process alone stops the daemon within TimeoutStopSec')
  t.notMatch(out, /^left=/m, 'no process of ours is left for the final SIGKILL')
  t.notMatch(out, /^pidfile_left=/m, 'the pid file is removed')
  t.match(out, /^files=kats\.log kats_vrrp\.log$/m, '-g: the parent writes FILE, the VRRP child FILE_vrrp')
  t.match(out, /--- kats\.log\n(.*\n)*\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}: Reloading \.\.\.\n/, 'the parent file has the parent\'s lines')
  t.match(out, /--- kats_vrrp\.log\n(.*\n)*.*: \(VI_1\) Entering (BACKUP|MASTER) STATE/, 'the VRRP file has the VRRP lines')
})

t.test('the environment file: DAEMON_ARGS empty, and every example is flags we accept', async (t) => {
  const text = readFileSync(ENV_FILE, 'utf8')
  const sourced = run('bash', ['-c', `set -a; . ${JSON.stringify(ENV_FILE)}; printf '[%s]' "$DAEMON_ARGS"`])
  t.equal(sourced.stdout, '[]')
  const examples = [...text.matchAll(/^#DAEMON_ARGS="([^"]*)"/gm)].map((m) => m[1]!)
  t.ok(examples.length >= 4, `${examples.length} examples`)
  for (const example of examples) {
    // systemd splits an unquoted $DAEMON_ARGS at whitespace, like this.
    const opts = parseOptions(example.split(/\s+/).filter((w) => w !== ''))
    t.same(opts.unexpected, [], example)
    t.equal(opts.dontFork, false, `${example}: no -n (Type=forking)`)
    t.equal(opts.pidFile, undefined, `${example}: no -p (PIDFile=)`)
  }
})

const NS = `kats-sl-cfg-${process.pid}`
let nsReady = false
/** A namespace with an eth0 (the example's interface), made on first use. */
function inNs(argv: readonly string[], timeout?: number) {
  if (!nsReady) {
    t.teardown(guardCleanup(() => void run('ip', ['netns', 'delete', NS])))
    run('ip', ['netns', 'delete', NS])
    for (const args of [['netns', 'add', NS], ['-n', NS, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1'],
      ['-n', NS, 'addr', 'add', '10.37.9.1/24', 'dev', 'eth0'], ['-n', NS, 'link', 'set', 'eth0', 'up'], ['-n', NS, 'link', 'set', 'eth1', 'up']]) {
      const r = run('ip', args)
      if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr} (needs root)`)
    }
    nsReady = true
  }
  return run('ip', ['netns', 'exec', NS, ...argv], timeout)
}

t.test('etc/keepalived/keepalived.conf: master and backup pass keepalived -t and ours, and say what the comments say', async (t) => {
  for (const id of [[], ['-i', 'backup']]) {
    const name = id.length === 0 ? 'master' : 'backup'
    const theirs = inNs(['/usr/sbin/keepalived', '-t', ...id, '-f', CONF])
    t.equal(theirs.status, 0, `keepalived -t (${name})`)
    t.equal(theirs.stderr, '', `keepalived -t reports nothing (${name})`)
    const ours = inNs([process.execPath, MAIN, '-t', ...id, '-f', CONF])
    t.equal(ours.status, 0, `keepalived-ts -t (${name})`)
    t.match(ours.stderr, /: 0 error\(s\), 0 warning\(s\)\n$/, `keepalived-ts -t reports nothing (${name})`)
    const dump = inNs([process.execPath, MAIN, '--dump-conf=json', ...id, '-f', CONF])
    t.equal(dump.status, 0)
    const config = JSON.parse(dump.stdout) as {
      global: { routerId: string }
      vrrp: { instances: Array<{ name: string; state: string; priority: number; interface: string; virtualRouterId: number; virtualIpaddresses: Array<{ address: string; prefix: number }> }> }
      lvs: { virtualServers: Array<{ address: string; port: number; lvsSched: string; lvsMethod: { kind: string }; realServers: Array<{ address: string; port: number; checkers: Array<{ kind: string }> }> }> }
    }
    const [vi] = config.vrrp.instances
    t.equal(config.vrrp.instances.length, 1)
    t.match(vi, { name: 'VI_1', interface: 'eth0', virtualRouterId: 51 })
    t.same(vi!.virtualIpaddresses.map((a) => `${a.address}/${a.prefix}`), ['192.168.100.100/32'])
    if (name === 'master') t.match(vi, { state: 'MASTER', priority: 150 })
    else t.match(vi, { state: 'BACKUP', priority: 100 })
    t.equal(config.global.routerId, name === 'master' ? 'lvs_master' : 'lvs_backup')
    const [vs] = config.lvs.virtualServers
    t.equal(config.lvs.virtualServers.length, 1)
    t.match(vs, { address: '192.168.100.100', port: 80, lvsSched: 'rr', lvsMethod: { kind: 'DR' } })
    t.same(vs!.realServers.map((r) => [r.address, r.port, r.checkers.map((c) => c.kind)]),
      [['192.168.100.11', 80, ['HTTP_GET']], ['192.168.100.12', 80, ['TCP_CHECK']]])
  }
  // The check can fail: a file with an error is refused by both.
  const broken = join(dir, 'broken.conf')
  writeFileSync(broken, readFileSync(CONF, 'utf8').replace('lb_kind DR', 'lb_kind DRR'))
  t.not(inNs(['/usr/sbin/keepalived', '-t', '-f', broken]).status, 0)
  t.not(inNs([process.execPath, MAIN, '-t', '-f', broken]).status, 0)
})
