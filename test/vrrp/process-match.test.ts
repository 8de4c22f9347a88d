/** vrrp_track_process matching and quorum, as keepalived.conf(5) describes them. */
import t from 'tap'
import { matchesProcess, quorumHeld } from '../../src/vrrp/process-match.js'

const haproxy = { comm: 'haproxy', argv: ['/usr/sbin/haproxy', '-f', '/etc/haproxy.cfg', '-D'] }

t.test('by process name, truncated as the kernel truncates it', async (t) => {
  t.ok(matchesProcess({ process: ['haproxy'], paramMatch: undefined, fullCommand: false }, haproxy))
  t.notOk(matchesProcess({ process: ['nginx'], paramMatch: undefined, fullCommand: false }, haproxy))
  const long = { comm: 'a-very-long-dae', argv: ['/usr/bin/a-very-long-daemon-name'] }
  t.ok(matchesProcess({ process: ['a-very-long-daemon-name'], paramMatch: undefined, fullCommand: false }, long))
})

t.test('full_command compares argv[0]', async (t) => {
  t.ok(matchesProcess({ process: ['/usr/sbin/haproxy'], paramMatch: undefined, fullCommand: true }, haproxy))
  t.notOk(matchesProcess({ process: ['haproxy'], paramMatch: undefined, fullCommand: true }, haproxy))
})

t.test('parameters: exact by default, initial, partial', async (t) => {
  const spec = (params: string[], paramMatch?: 'initial' | 'partial') => ({ process: ['haproxy', ...params], paramMatch, fullCommand: false })
  t.ok(matchesProcess(spec(['-f', '/etc/haproxy.cfg', '-D']), haproxy))
  t.notOk(matchesProcess(spec(['-f', '/etc/haproxy.cfg']), haproxy), 'exact needs every parameter')
  t.ok(matchesProcess(spec(['-f', '/etc/haproxy.cfg'], 'initial'), haproxy))
  t.notOk(matchesProcess(spec(['/etc/haproxy.cfg'], 'initial'), haproxy))
  t.ok(matchesProcess(spec(['/etc/haproxy.cfg', '-D'], 'partial'), haproxy))
  t.notOk(matchesProcess(spec(['-f', '-D'], 'partial'), haproxy), 'partial needs one run in order')
})

t.test('quorum and quorum_max', async (t) => {
  t.notOk(quorumHeld({ quorum: 1, quorumMax: undefined }, 0))
  t.ok(quorumHeld({ quorum: 1, quorumMax: undefined }, 5))
  t.notOk(quorumHeld({ quorum: 2, quorumMax: 3 }, 1))
  t.ok(quorumHeld({ quorum: 2, quorumMax: 3 }, 3))
  t.notOk(quorumHeld({ quorum: 2, quorumMax: 3 }, 4), 'too many is a loss too')
})
