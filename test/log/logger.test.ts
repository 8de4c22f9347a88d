import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { captureLogging, createLogging } from '../../src/log/logger.js'
import { FACILITY } from '../../src/log/format.js'
import { openSyslogListener, openSyslogSender } from '../../src/net/syslog-socket.js'

const dir = mkdtempSync(join(tmpdir(), 'kats-log-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const fixed = new Date(2026, 10, 3, 4, 48, 37)

t.test('syslog datagrams reach a private socket exactly as glibc would write them', async (t) => {
  const path = join(dir, 'log.sock')
  const listener = openSyslogListener(path)
  t.teardown(() => listener.close())
  const logging = createLogging({ syslogPath: path, pid: 4242, now: () => fixed })
  logging.logger('parent').info('Starting Keepalived-ts v0.1.0')
  logging.logger('vrrp').info('(VI_1) Entering BACKUP STATE (init)')
  logging.logger('checkers').debug('Initializing ipvs')
  logging.logger('vrrp').detail('(VI_1) removing VIPs.')
  logging.logger('parent').warning('w')
  logging.logger('parent').error('e')
  logging.logger('parent').alert('a')
  logging.logger('parent').notice('n')
  logging.close()
  t.same(listener.drain(), [
    '<30>Nov  3 04:48:37 Keepalived[4242]: Starting Keepalived-ts v0.1.0',
    '<30>Nov  3 04:48:37 Keepalived_vrrp[4242]: (VI_1) Entering BACKUP STATE (init)',
    '<31>Nov  3 04:48:37 Keepalived_healthcheckers[4242]: Initializing ipvs',
    '<28>Nov  3 04:48:37 Keepalived[4242]: w',
    '<27>Nov  3 04:48:37 Keepalived[4242]: e',
    '<25>Nov  3 04:48:37 Keepalived[4242]: a',
    '<29>Nov  3 04:48:37 Keepalived[4242]: n',
  ])
})

t.test('-S facility, -D detail lines, ident suffix and the console format', async (t) => {
  const path = join(dir, 'log2.sock')
  const listener = openSyslogListener(path)
  t.teardown(() => listener.close())
  let console = ''
  const logging = createLogging({
    syslogPath: path, pid: 7, now: () => fixed, facility: FACILITY.local7, detail: true, identSuffix: '_blue',
    console: true, consoleWrite: (l) => { console += l },
  })
  logging.logger('vrrp').detail('(VI_1) removing VIPs.')
  logging.close()
  t.same(listener.drain(), ['<190>Nov  3 04:48:37 Keepalived_vrrp_blue[7]: (VI_1) removing VIPs.'])
  t.equal(console, 'Tue Nov  3 04:48:37 2026: (VI_1) removing VIPs.\n')
})

t.test('-G: nothing is sent to syslog; without a listener lines are dropped, never thrown', async (t) => {
  const path = join(dir, 'log3.sock')
  const listener = openSyslogListener(path)
  t.teardown(() => listener.close())
  const quiet = createLogging({ syslog: false, syslogPath: path })
  quiet.logger('parent').info('not sent')
  t.same(listener.drain(), [])
  const nowhere = createLogging({ syslogPath: join(dir, 'nobody.sock') })
  nowhere.logger('parent').info('lost')
  t.equal(nowhere.syslogDropped, 1)
  nowhere.close()
})

t.test('a burst of 2000 lines arrives whole when the reader keeps up', async (t) => {
  const path = join(dir, 'burst.sock')
  const listener = openSyslogListener(path)
  t.teardown(() => listener.close())
  const sender = openSyslogSender(path)
  const got: string[] = []
  for (let i = 0; i < 2000; i++) {
    sender.send(`<30>line ${i}`)
    if (i % 8 === 7) got.push(...listener.drain())
  }
  got.push(...listener.drain())
  t.equal(got.length, 2000)
  t.equal(got[1999], '<30>line 1999')
  t.equal(sender.dropped, 0)
  sender.close()
})

t.test('a reader that never reads costs at most the send timeout once, then lines drop without waiting', async (t) => {
  const path = join(dir, 'stuck.sock')
  const listener = openSyslogListener(path)
  t.teardown(() => listener.close())
  const sender = openSyslogSender(path)
  const start = Date.now()
  for (let i = 0; i < 500; i++) sender.send(`<30>line ${i}`)
  const took = Date.now() - start
  t.ok(sender.dropped > 0, `dropped ${sender.dropped}`)
  t.ok(took < 1000, `500 sends took ${took} ms`)
  listener.drain()
  t.equal(sender.send('<30>after'), true)
  t.same(listener.drain(), ['<30>after'])
  sender.close()
})

t.test('captureLogging records texts per ident', async (t) => {
  const c = captureLogging({ detail: false })
  c.logging.logger('vrrp').info('a')
  c.logging.logger('vrrp').detail('hidden')
  c.logging.logger('parent').info('b')
  t.same(c.texts(), ['a', 'b'])
  t.same(c.texts('Keepalived_vrrp'), ['a'])
  t.equal(c.records[0]!.severity, 6)
})
