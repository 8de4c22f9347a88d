/** vrrp_script, vrrp_track_process, track_file, tracker lists and sync groups. */
import t from 'tap'
import { loadVrrp, problems } from '../helpers/config.js'

const load = loadVrrp

function instance(name: string, vrid: number, body: string[] = []): string[] {
  return [`vrrp_instance ${name} {`, '  interface eth0', `  virtual_router_id ${vrid}`, '  virtual_ipaddress {', `    10.0.0.${vrid}`, '  }', ...body, '}']
}

t.test('vrrp_script defaults and values', async (t) => {
  const { vrrp, diags } = load([
    'vrrp_script chk {', '  script "/bin/check a"', '}',
    'vrrp_script full {', '  script /bin/check --x y', '  interval 3', '  timeout 2', '  weight -10 reverse', '  rise 2', '  fall 4', '  user nobody nogroup', '  init_fail', '}',
    ...instance('VI_1', 1, ['  track_script {', '    chk', '    full', '  }']),
  ].join('\n'))
  t.same(problems(diags), [])
  t.match(vrrp.scripts, [
    { name: 'chk', script: { command: '/bin/check a', user: undefined }, interval: 1_000_000, timeout: 1_000_000, weight: 0, reverse: false, rise: 1, fall: 1, initFail: false, pos: { line: 1 } },
    { name: 'full', script: { command: '/bin/check --x y', user: 'nobody', group: 'nogroup' }, interval: 3_000_000, timeout: 2_000_000, weight: -10, reverse: true, rise: 2, fall: 4, initFail: true },
  ])
  t.match(diags, [{ code: 'KA_CONF_NOT_SUPPORTED', pos: { line: 12 } }], 'init_fail is typed but not supported yet')
})

t.test('vrrp_script errors on keepalived lines', async (t) => {
  const { vrrp, diags } = load([
    'vrrp_script s1 {', '  script "/bin/true"', '  interval 0.5', '  timeout 0', '  weight 254', '  rise 0', '}',
    'vrrp_script s2 {', '  script "/bin/true"', '  interval 0', '  weight 5 foo', '}',
    'vrrp_script s3 {', '  interval 2', '}',
  ].join('\n'))
  t.same(problems(diags).map((p) => [p[0], p[1]]), [[3, 'error'], [4, 'warning'], [5, 'error'], [6, 'error'], [10, 'warning'], [11, 'warning'], [15, 'error']])
  t.same(problems(diags).at(-1), [15, 'error', 'no script set for vrrp_script s3; keepalived removes it'])
  t.match(vrrp.scripts, [{ name: 's1', interval: 1_000_000, timeout: 1_000_000, weight: 0, rise: 1 }, { name: 's2', interval: 1_000_000, weight: 5 }])
  t.equal(vrrp.scripts.length, 2)
})

t.test('track_script: weights, missing and later scripts, duplicates', async (t) => {
  const { vrrp, diags } = load([
    'vrrp_script a {', '  script /bin/a', '  weight 10', '}',
    ...instance('VI_1', 1, [
      '  track_script {', '    a', '    a weight 5', '    missing', '    later', '    a2 weight 300', '    a2 weight 5 no_reverse', '  }',
      '  track_script {', '    a2 weight -3 reverse', '  }',
    ]),
    'vrrp_script later {', '  script /bin/later', '}',
    'vrrp_script a2 {', '  script /bin/a2', '}',
  ].join('\n'))
  t.same(problems(diags).map((p) => [p[0], p[2]]), [
    [13, 'duplicate track_script a; ignored'],
    [14, 'track script missing not found; ignored'],
    [15, 'track script later not found; ignored'],
    [16, 'a2: number \'300\' outside range [-253, 253]'],
    [17, 'track script a2 not found; ignored'],
    [17, "track_script a2: keepalived 2.2.7 does not know 'no_reverse'; ignored"],
    [20, 'duplicate track_script a2; ignored'],
  ])
  t.match(diags.find((d) => d.pos?.line === 15)?.hint, /defined further down \(\/k.conf:23\)/)
  t.match(diags.find((d) => d.pos?.line === 17 && d.severity === 'warning')?.message, /does not know 'no_reverse'/)
  t.same(vrrp.instances[0]!.trackScripts.map((s) => [s.name, s.weight, s.reverse]), [['a', 10, false]])
  t.same(diags.filter((d) => d.code === 'KA_CONF_UNUSED').map((d) => [d.pos?.line, d.verdict]), [[23, 'none'], [26, 'none']])
})

t.test('track_interface, track_file and track_process', async (t) => {
  const { vrrp, diags } = load([
    'vrrp_track_file f {', '  file /run/f', '  weight 3 reverse', '  init_file 5 overwrite', '}',
    'track_file g {', '  file "/run/g"', '}',
    'vrrp_track_process p {', '  process haproxy -f x', '  param_match partial', '  weight 2', '  quorum 2', '  quorum_max 4', '  delay 0.5', '  fork_delay 1', '  full_command', '}',
    ...instance('VI_1', 1, [
      '  track_interface {', '    eth1', '    eth2 weight -20 reverse', '    eth0', '    eth3 foo', '  }',
      '  track_file {', '    f', '    g weight 7', '  }',
      '  track_process {', '    p', '    p2', '  }',
    ]),
  ].join('\n'))
  t.match(vrrp.trackFiles, [
    { name: 'f', file: '/run/f', weight: 3, reverse: true, initFile: { value: 5, overwrite: true } },
    { name: 'g', file: '/run/g', weight: 1, reverse: false, initFile: undefined },
  ])
  t.match(vrrp.trackProcesses, [{
    name: 'p', process: ['haproxy', '-f', 'x'], paramMatch: 'partial', weight: 2, quorum: 2, quorumMax: 4, forkDelay: 1_000_000, terminateDelay: 500_000, fullCommand: true,
  }])
  const i = vrrp.instances[0]!
  t.same(i.trackInterfaces.map((x) => [x.name, x.weight, x.reverse]), [['eth1', 0, false], ['eth2', -20, true]])
  t.same(i.trackFiles.map((x) => [x.name, x.weight, x.reverse]), [['f', 3, true], ['g', 7, false]])
  t.same(i.trackProcesses.map((x) => [x.name, x.weight]), [['p', 2]])
  t.same(problems(diags).map((p) => [p[0], p[2]]), [
    [28, "ignoring track_interface eth0: it is the instance's own interface"],
    [29, "track_interface eth3: expected 'weight', not 'foo'; the entry is ignored"],
    [37, 'track process p2 not found; ignored'],
  ])
  t.match(diags.find((d) => d.code === 'KA_CONF_DEPRECATED'), { pos: { line: 1 }, verdict: 'none', message: '"vrrp_track_file" is deprecated, please use "track_file"' })
})

t.test('sync groups: members, one line, stray names, checks', async (t) => {
  const { vrrp, diags } = load([
    'vrrp_sync_group G1 {', '  group { VI_1 VI_2 }', '  notify_master /bin/m', '  notify_master /bin/m2', '  smtp_alert', '}',
    'vrrp_sync_group G2 {', '  group {', '    VI_1', '    VI_X', '    VI_3', '  }', '}',
    'vrrp_sync_group G3 {', '  VI_3', '}',
    'vrrp_sync_group G1 {', '  group {', '    VI_3', '  }', '}',
    ...instance('VI_1', 1), ...instance('VI_2', 2), ...instance('VI_3', 3),
  ].join('\n'))
  t.same(problems(diags).map((p) => [p[0], p[1], p[2]]), [
    [4, 'warning', 'notify_master script already specified; ignoring /bin/m2'],
    [9, 'error', 'vrrp_instance VI_1 is already in sync group G1 (/k.conf:1); an instance can be in one sync group only'],
    [10, 'error', "vrrp_instance VI_X in sync group G2 doesn't exist; ignored"],
    [15, 'error', "unknown keyword 'VI_3'"],
    [17, 'error', 'vrrp_sync_group G1 is already defined (/k.conf:1); this block is ignored'],
  ])
  t.match(diags.find((d) => d.pos?.line === 15)?.hint, /inside 'group/)
  t.match(diags.find((d) => d.code === 'KA_CONF_EMPTY_GROUP'), { pos: { line: 14 }, verdict: 'none' })
  t.match(vrrp.syncGroups, [
    { name: 'G1', members: ['VI_1', 'VI_2'], notifyMaster: { command: '/bin/m' }, smtpAlert: true, syncGroupTrackingWeight: false },
    { name: 'G2', members: ['VI_3'], smtpAlert: false },
  ])
})

t.test('a sync group with one instance gets a warning', async (t) => {
  const { vrrp, diags } = load(['vrrp_sync_group G {', '  group {', '    VI_1', '  }', '}', ...instance('VI_1', 1)].join('\n'))
  t.same(vrrp.syncGroups[0]!.members, ['VI_1'])
  t.same(problems(diags), [[1, 'warning', "sync group G has only 1 vrrp_instance; this probably isn't what you want"]])
})

t.test('weighted trackers: dropped in sync groups and for the address owner', async (t) => {
  const { vrrp, diags } = load([
    'vrrp_script w {', '  script /bin/w', '  weight 10', '}',
    'vrrp_script z {', '  script /bin/z', '}',
    'track_file f {', '  file /run/f', '}',
    'vrrp_sync_group G {', '  group {', '    A', '    B', '  }', '  track_script {', '    w weight 4', '  }', '}',
    ...instance('A', 1, ['  track_script {', '    w', '    z', '  }', '  track_interface {', '    eth1 weight 5', '  }', '  track_file {', '    f', '  }']),
    ...instance('B', 2),
    ...instance('C', 3, ['  priority 255', '  track_script {', '    w', '  }', '  track_interface {', '    eth1 weight 5', '    eth2', '  }']),
  ].join('\n'))
  const [a, , c] = vrrp.instances
  t.same(a!.trackScripts.map((s) => s.name), ['z'])
  t.same(a!.trackInterfaces.map((i) => [i.name, i.weight]), [['eth1', 0]])
  t.same(a!.trackFiles.map((f) => [f.name, f.weight]), [['f', 0]])
  t.same(c!.trackScripts, [])
  t.same(c!.trackInterfaces.map((i) => i.name), ['eth2'])
  t.same(vrrp.syncGroups[0]!.trackScripts.map((s) => [s.name, s.weight]), [['w', 4]], 'weights on the group itself are fine')
  t.same(problems(diags).map((p) => [p[0], p[2]]), [
    [27, 'ignoring tracked script w with weight 10 (sync group); it is not tracked'],
    [31, 'ignoring the weight of tracked interface eth1 (sync group); it is tracked with weight 0'],
    [34, 'ignoring the default weight of tracked file f (sync group); it is tracked with weight 0'],
    [52, 'ignoring tracked script w with weight 10 (address owner); it is not tracked'],
    [55, 'ignoring tracked interface eth1 with weight 5 (address owner); it is not tracked'],
  ])
  const allowed = load([
    'vrrp_script w {', '  script /bin/w', '  weight 10', '}',
    'vrrp_sync_group G {', '  group {', '    A', '    B', '  }', '  sync_group_tracking_weight', '}',
    ...instance('A', 1, ['  track_script {', '    w', '  }']), ...instance('B', 2),
  ].join('\n'))
  t.same(allowed.vrrp.instances[0]!.trackScripts.map((s) => s.weight), [10])
  t.same(problems(allowed.diags), [])
})
