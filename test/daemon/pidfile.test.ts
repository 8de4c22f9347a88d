import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_PID_FILES, pidFileState, readPidFile, removePidFile, writePidFile } from '../../src/daemon/pidfile.js'

const dir = mkdtempSync(join(tmpdir(), 'kats-pid-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

t.test('written as "%d\\n", mode 0644, read back', async (t) => {
  const p = join(dir, 'a.pid')
  writePidFile(p, 1234)
  t.equal(readFileSync(p, 'utf8'), '1234\n')
  t.equal(statSync(p).mode & 0o777, 0o644)
  t.equal(readPidFile(p), 1234)
})

t.test('a live process makes the file "running"; a dead or garbled one is stale; ours is stale', async (t) => {
  const child = spawn('sleep', ['30'])
  t.teardown(() => child.kill('SIGKILL'))
  const p = join(dir, 'b.pid')
  writePidFile(p, child.pid!)
  t.same(pidFileState(p), { kind: 'running', pid: child.pid })
  writePidFile(p, process.pid)
  t.same(pidFileState(p), { kind: 'stale', pid: process.pid })
  writeFileSync(p, 'junk\n')
  t.same(pidFileState(p), { kind: 'stale', pid: undefined })
  const dead = spawn('true')
  await new Promise((r) => dead.on('exit', r))
  writePidFile(p, dead.pid!)
  t.same(pidFileState(p), { kind: 'stale', pid: dead.pid })
  t.same(pidFileState(join(dir, 'none.pid')), { kind: 'absent' })
})

t.test('removed only while it still names us', async (t) => {
  const p = join(dir, 'c.pid')
  writePidFile(p, 99999999)
  removePidFile(p)
  t.ok(existsSync(p), 'a successor\'s file is left alone')
  writePidFile(p)
  removePidFile(p)
  t.notOk(existsSync(p))
})

t.test('an unwritable path is a coded error', async (t) => {
  t.throws(() => writePidFile(join(dir, 'no', 'such', 'x.pid')), { code: 'KA_ERR_PIDFILE_WRITE' })
  t.equal(DEFAULT_PID_FILES.vrrp, '/run/keepalived_vrrp.pid')
})
