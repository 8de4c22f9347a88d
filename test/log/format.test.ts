import t from 'tap'
import { commandLineLines, consoleLine, cTimestamp, FACILITY, parseFacility, syslogDatagram } from '../../src/log/format.js'

t.test('console lines are strftime %c, a colon and the text (keepalived -n -l)', async (t) => {
  t.equal(cTimestamp(new Date(2026, 10, 21, 7, 20, 3)), 'Sat Nov 21 07:20:03 2026')
  t.equal(cTimestamp(new Date(2026, 1, 1, 4, 5, 6)), 'Sun Feb  1 04:05:06 2026')
  t.equal(consoleLine(new Date(2026, 10, 21, 7, 20, 3), 'Startup complete'), 'Sat Nov 21 07:20:03 2026: Startup complete\n')
})

t.test('syslog datagrams are what glibc syslog(3) sends: no hostname, %e day', async (t) => {
  const d = new Date(2026, 10, 3, 4, 48, 37)
  t.equal(syslogDatagram(FACILITY.daemon, 6, d, 'Keepalived_vrrp', 32370, '(VI_1) Entering BACKUP STATE (init)'),
    '<30>Nov  3 04:48:37 Keepalived_vrrp[32370]: (VI_1) Entering BACKUP STATE (init)')
  t.equal(syslogDatagram(FACILITY.local7, 7, d, 'Keepalived', 1, 'x'), '<191>Nov  3 04:48:37 Keepalived[1]: x')
})

t.test('-S takes 0-7, local0-7, user and daemon', async (t) => {
  t.equal(parseFacility('0'), 16)
  t.equal(parseFacility('7'), 23)
  t.equal(parseFacility('local3'), 19)
  t.equal(parseFacility('user'), 1)
  t.equal(parseFacility('daemon'), 3)
  t.throws(() => parseFacility('8'), { code: 'KA_ERR_LOG_FACILITY' })
  t.throws(() => parseFacility('kern'), { code: 'KA_ERR_LOG_FACILITY' })
})

t.test('Command line wraps like keepalived 2.2.7 (captured output)', async (t) => {
  const d = '/tmp/tmp.82KP7TcUYb'
  const argv = ['/usr/sbin/keepalived', '-n', '-l', '-G', '-f', `${d}/none.conf`, '-p', `${d}/p`, '-r', `${d}/v`, '-c', `${d}/c`, '-i', 'x'.repeat(200), '-i', 'b']
  t.same(commandLineLines(argv), [
    `Command line: '/usr/sbin/keepalived' '-n' '-l' '-G' '-f' '${d}/none.conf' '-p'`,
    `              '${d}/p' '-r' '${d}/v' '-c' '${d}/c' '-i'`,
    `              '${'x'.repeat(87)}`,
    `              ${'x'.repeat(88)}`,
    `              ${'x'.repeat(25)}' '-i' 'b'`,
  ])
  // An 86-character argument plus its quotes fills a line exactly.
  t.same(commandLineLines(['a', 'x'.repeat(86)]), ["Command line: 'a'", `              '${'x'.repeat(86)}'`])
  t.same(commandLineLines(['k', '-n']), ["Command line: 'k' '-n'"])
})
