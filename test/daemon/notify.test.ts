import t from 'tap'
import { chmodSync, closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NotifyFifo } from '../../src/daemon/notify-fifo.js'
import { notifyArgs, pathIsSafe, ScriptRunner, STOP_SCRIPT_TIMEOUT_MS } from '../../src/daemon/notify.js'
import { defaultScriptUser, resolveScriptUser } from '../../src/daemon/script-user.js'
import { splitScriptWords } from '../../src/daemon/script-words.js'
import { captureLogging } from '../../src/log/logger.js'

const dir = mkdtempSync(join(tmpdir(), 'kats-notify-'))
chmodSync(dir, 0o755)
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const out = join(dir, 'out')
mkdirSync(out, { mode: 0o777 })
chmodSync(out, 0o1777)

function script(name: string, body: string, mode = 0o755): string {
  const p = join(dir, name)
  writeFileSync(p, `#!/bin/sh\n${body}\n`)
  chmodSync(p, mode)
  return p
}

const accounts = join(dir, 'accounts')
mkdirSync(accounts)
const passwd = join(accounts, 'passwd')
const group = join(accounts, 'group')
writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n')
writeFileSync(group, 'root:x:0:\nnogroup:x:65534:\nstaff:x:50:\n')
const files = { passwd, group }

function runner(security = false) {
  const cap = captureLogging()
  return { cap, r: new ScriptRunner({ log: cap.logging.logger('vrrp'), enableScriptSecurity: security, accounts: files }) }
}

t.test('script lines split into argv like keepalived, quotes honoured', async (t) => {
  t.same(splitScriptWords('/etc/keepalived/notify.sh node1'), ['/etc/keepalived/notify.sh', 'node1'])
  t.same(splitScriptWords(`/bin/x  'a b'  "c \\" d" e\\ f ''`), ['/bin/x', 'a b', 'c " d', 'e f', ''])
  t.same(splitScriptWords('  '), [])
  t.same(notifyArgs('INSTANCE', 'VI_1', 'MASTER', 150), ['INSTANCE', 'VI_1', 'MASTER', '150'])
  t.equal(STOP_SCRIPT_TIMEOUT_MS, 1000)
})

t.test('argv with the notify words appended; exit status and signal are values', async (t) => {
  const { r } = runner()
  const p = script('args.sh', `printf '%s|' "$@" > ${out}/args; exit 3`)
  const prepared = r.prepare({ command: `${p} node1 'x y'`, user: undefined, group: undefined })!
  t.ok(prepared)
  t.same(await r.run(prepared, { args: notifyArgs('INSTANCE', 'VI_1', 'MASTER', 150) }), { kind: 'exited', status: 3 })
  t.equal(readFileSync(join(out, 'args'), 'utf8'), 'node1|x y|INSTANCE|VI_1|MASTER|150|')
  const killer = r.prepare({ command: script('sig.sh', 'kill -USR1 $$'), user: undefined, group: undefined })!
  t.same(await r.run(killer), { kind: 'signalled', signal: 'SIGUSR1' })
})

t.test('a timeout kills the script and its children (own process group)', async (t) => {
  const { r } = runner()
  const pidFile = join(out, 'child.pid')
  const p = script('slow.sh', `sleep 30 & echo $! > ${pidFile}; wait`)
  const prepared = r.prepare({ command: p, user: undefined, group: undefined })!
  const start = Date.now()
  const outcome = await r.run(prepared, { timeoutMs: 300 })
  t.same(outcome, { kind: 'timed-out' })
  t.ok(Date.now() - start < 2500, 'bounded')
  const child = Number(readFileSync(pidFile, 'utf8'))
  await new Promise((res) => setTimeout(res, 100))
  // Dead or a zombie waiting for init to reap it ("Z" in /proc/PID/stat).
  let state = 'gone'
  try { state = readFileSync(`/proc/${child}/stat`, 'utf8').split(') ')[1]![0]! } catch { /* reaped */ }
  t.ok(state === 'gone' || state === 'Z', `the background sleep died with the group (state ${state})`)
  t.equal(r.running, 0)
})

t.test('script_user: runs as the configured user, resolved from passwd/group', async (t) => {
  const { r } = runner()
  const p = script('id.sh', `id -u > ${out}/uid; id -g > ${out}/gid`)
  const prepared = r.prepare({ command: p, user: 'nobody', group: 'staff' })!
  t.same(prepared.runAs, { user: 'nobody', uid: 65534, gid: 50 })
  t.same(await r.run(prepared), { kind: 'exited', status: 0 })
  t.equal(readFileSync(join(out, 'uid'), 'utf8').trim(), '65534')
  t.equal(readFileSync(join(out, 'gid'), 'utf8').trim(), '50')
  t.throws(() => resolveScriptUser('ghost', undefined, files), { code: 'KA_ERR_SCRIPT_USER' })
  t.same(defaultScriptUser(undefined, files).uid, process.getuid!(), 'no keepalived_script: ourselves')
  writeFileSync(passwd, readFileSync(passwd, 'utf8') + 'keepalived_script:x:990:990::/:/bin/false\n')
  t.same(defaultScriptUser(undefined, files), { user: 'keepalived_script', uid: 990, gid: 990 })
  const cap = captureLogging()
  const r2 = new ScriptRunner({ log: cap.logging.logger('vrrp'), accounts: files })
  t.equal(r2.prepare({ command: p, user: 'ghost', group: undefined }), undefined)
  t.match(cap.texts()[0], "Script user 'ghost' does not exist")
})

t.test('enable_script_security: a root script writable by others is refused with keepalived\'s line', async (t) => {
  const unsafe = script('unsafe.sh', 'exit 0', 0o757)
  const { r, cap } = runner(true)
  t.equal(r.prepare({ command: unsafe, user: 'root', group: undefined }), undefined)
  t.same(cap.texts(), [`Unsafe permissions found for script '${unsafe}' - disabling.`])
  const open = runner(false)
  const prepared = open.r.prepare({ command: unsafe, user: 'root', group: undefined })!
  t.equal(prepared.insecure, true, 'without script security it still runs, flagged')
  t.same(open.cap.texts(), [`Unsafe permissions found for script '${unsafe}'.`])

  const wideDir = join(dir, 'wide')
  mkdirSync(wideDir)
  chmodSync(wideDir, 0o777)
  const inWide = join(wideDir, 'ok.sh')
  writeFileSync(inWide, '#!/bin/sh\n')
  chmodSync(inWide, 0o755)
  t.notOk(pathIsSafe(inWide), 'a world-writable parent directory is unsafe')
  t.ok(pathIsSafe(script('safe.sh', 'exit 0')), '0755 in a root 0755 dir under sticky /tmp is safe')
  t.notOk(pathIsSafe(join(dir, 'missing.sh')))
})

t.test('not executable, missing, or found on PATH', async (t) => {
  const { r, cap } = runner()
  const plain = script('plain.sh', 'exit 0', 0o644)
  t.equal(r.prepare({ command: plain, user: 'root', group: undefined }), undefined)
  t.equal(r.prepare({ command: join(dir, 'nope.sh'), user: undefined, group: undefined }), undefined)
  t.equal(r.prepare({ command: 'kats-no-such-command-xyz', user: undefined, group: undefined }), undefined)
  const viaPath = r.prepare({ command: 'true', user: undefined, group: undefined })!
  t.match(viaPath.argv[0], /\/true$/)
  t.same(cap.texts().slice(0, 3), [
    `WARNING - script '${plain}' is not executable for uid:gid 0:0 - disabling.`,
    `Script ${join(dir, 'nope.sh')} cannot be accessed - ENOENT`,
    'Cannot find script kats-no-such-command-xyz in path - disabling',
  ])
  t.match(cap.texts()[3], /^WARNING - script `true` resolved by path search to `.*\/true`\. Please specify full path\.$/)
})

t.test('notify_fifo: created 0644, lines readable, never blocks without a reader, removed on close', async (t) => {
  const cap = captureLogging()
  const path = join(dir, 'notify.fifo')
  const fifo = NotifyFifo.open(path, cap.logging.logger('vrrp'), 'vrrp_')!
  t.ok(fifo)
  t.ok(statSync(path).isFIFO())
  t.equal(statSync(path).mode & 0o777, 0o644)
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  t.teardown(() => closeSync(reader))
  t.ok(fifo.write('INSTANCE "VI_1" MASTER 100\n'))
  t.ok(fifo.write('GROUP "VG1" BACKUP 0\n'))
  const buf = Buffer.alloc(256)
  const n = readSync(reader, buf)
  t.equal(buf.toString('utf8', 0, n), 'INSTANCE "VI_1" MASTER 100\nGROUP "VG1" BACKUP 0\n')
  const start = Date.now()
  for (let i = 0; i < 3000; i++) fifo.write(`INSTANCE "VI_${i}" BACKUP 100\n`)
  t.ok(fifo.dropped > 0, `a full pipe drops lines (${fifo.dropped})`)
  t.ok(Date.now() - start < 1000, 'and does not block')
  fifo.close()
  t.notOk(existsSync(path), 'a fifo we created is removed')

  const planted = join(dir, 'planted')
  writeFileSync(planted, '')
  t.equal(NotifyFifo.open(planted, cap.logging.logger('vrrp')), undefined)
  t.match(cap.texts().at(-1), `notify fifo ${planted} is not a fifo we own - not using`)
})
