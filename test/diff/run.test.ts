import t from 'tap'
import { parseKeepalived, parseOurs } from './run.js'

t.test('keepalived: numbered lines with and without a file, repeats, unnumbered messages', async (t) => {
  const r = parseKeepalived(
    [
      '(Line 7) Extra \'}\' found',
      '(/etc/k.conf: Line 7) Extra \'}\' found',
      '(inc/a.conf: Line 11)         Please use global lvs_sync_daemon',
      '(VI_1) Initial state master is incompatible with AH authentication - clearing',
      'Non-existent interface specified in configuration',
      'Non-existent interface specified in configuration',
      '',
    ].join('\n'),
  )
  t.same([...r.lines].sort((a, b) => a - b), [7, 11])
  t.same(r.positions, [
    { file: undefined, line: 7 },
    { file: '/etc/k.conf', line: 7 },
    { file: 'inc/a.conf', line: 11 },
  ])
  t.same(r.unnumbered, [
    '(VI_1) Initial state master is incompatible with AH authentication - clearing',
    'Non-existent interface specified in configuration',
  ])
})

t.test('ours: diagnostics, hints, summary; "not supported yet" notes do not count', async (t) => {
  const r = parseOurs(
    [
      "/etc/k.conf:7:5: error: unknown keyword 'rounter_id' (in global_defs)",
      "    hint: did you mean 'router_id'?",
      "/etc/k.conf:3:1: warning: 'net_namespace' is not supported yet; it is kept but has no effect",
      '/etc/inc/a.conf:12:9: warning: interface eth1 does not exist (in vrrp_instance VI_1)',
      "error: cannot read configuration file '/nope': ENOENT",
      'keepalived-ts: internal error: boom',
      '/etc/k.conf: 2 error(s), 2 warning(s)',
    ].join('\n'),
  )
  t.equal(r.diagnostics.length, 4)
  t.equal(r.diagnostics[0]?.hint, "did you mean 'router_id'?")
  t.match(r.diagnostics[3], { file: undefined, line: undefined, severity: 'error' })
  t.same([...r.lines].sort((a, b) => a - b), [7, 12])
  t.same(r.unnumbered, ["cannot read configuration file '/nope': ENOENT"])
  t.same(r.unparsed, ['keepalived-ts: internal error: boom'])
})
