/**
 * vrrp_instance: keywords, keepalived's defaults and the corrections of
 * vrrp_complete_instance(), with the line each diagnostic lands on.
 */
import t from 'tap'
import { loadVrrp, problems } from '../helpers/config.js'

const load = loadVrrp

/** One vrrp_instance VI_1 on eth0 with VRID 51, the `body` lines and `extra` text before it. */
function instance(body: string[], extra = ''): string {
  return [extra, 'vrrp_instance VI_1 {', '  interface eth0', '  virtual_router_id 51', ...body, '}'].filter((l) => l !== '').join('\n') + '\n'
}

const vip = ['  virtual_ipaddress {', '    10.0.0.1', '  }']

t.test('a minimal instance gets keepalived defaults', async (t) => {
  const { vrrp, diags } = load(instance(vip))
  t.same(problems(diags), [])
  const i = vrrp.instances[0]!
  t.match(i, {
    name: 'VI_1', state: 'BACKUP', interface: 'eth0', virtualRouterId: 51, priority: 100, advertInt: 1_000_000,
    version: 2, family: 4, authentication: undefined, nopreempt: false, preemptDelay: 0, accept: true,
    garpMasterDelay: 5_000_000, garpMasterRepeat: 5, garpMasterRefresh: 0, garpMasterRefreshRepeat: 1,
    garpLowerPrioDelay: 5_000_000, garpLowerPrioRepeat: 5, strictMode: false, skipCheckAdvAddr: false,
    checkUnicastSrc: false, smtpAlert: false, useVmac: undefined, vmacXmitBase: false, dontTrackPrimary: false,
  })
  t.same(i.pos, { file: '/k.conf', line: 1, col: 1 })
  t.same(i.virtualIpaddresses.map((a) => [a.address, a.prefix, a.dev]), [['10.0.0.1', 32, undefined]])
})

t.test('priority and state derive from each other', async (t) => {
  const master = load(instance(['  state MASTER', ...vip]))
  t.match(master.vrrp.instances[0]!, { state: 'MASTER', priority: 255 })
  t.match(master.diags, [{ verdict: 'none', pos: { line: 4 }, message: /address owner \(priority 255\)/ }])
  const owner = load(instance(['  priority 255', ...vip])).vrrp.instances[0]!
  t.match(owner, { state: 'MASTER', priority: 255 })
  const backup = load(instance(['  state MASTER', '  priority 150', ...vip])).vrrp.instances[0]!
  t.match(backup, { state: 'MASTER', priority: 150 })
})

t.test('an unknown state becomes BACKUP with a warning', async (t) => {
  const { vrrp, diags } = load(instance(['  state master', ...vip]))
  t.equal(vrrp.instances[0]!.state, 'BACKUP')
  t.same(problems(diags), [[4, 'warning', "unknown state 'master'; keepalived uses BACKUP"]])
  t.match(diags[0]!.hint, /case-sensitive/)
})

t.test('range errors keep the default', async (t) => {
  const { vrrp, diags } = load(instance(['  priority 256', '  advert_int 0', '  preempt_delay 2000', '  version 4', ...vip]))
  t.match(vrrp.instances[0]!, { priority: 100, advertInt: 1_000_000, preemptDelay: 0, version: 2 })
  t.same(problems(diags).map((p) => [p[0], p[1]]), [[4, 'error'], [5, 'error'], [6, 'error'], [7, 'error']])
})

t.test('version: global default, IPv6 means 3, strict mode corrects 2', async (t) => {
  const global = load(instance(vip, 'global_defs {\n  vrrp_version 3\n}')).vrrp.instances[0]!
  t.equal(global.version, 3)
  const v6 = load(instance(['  virtual_ipaddress {', '    fe80::1', '  }'])).vrrp.instances[0]!
  t.match(v6, { version: 3, family: 6 })
  const explicit = load(instance(['  version 2', '  virtual_ipaddress {', '    fe80::1', '  }']))
  t.equal(explicit.vrrp.instances[0]!.version, 2, 'keepalived keeps an explicit version 2 for IPv6')
  t.same(problems(explicit.diags), [])
  t.match(explicit.diags, [{ verdict: 'none', pos: { line: 4 } }])
  const strict = load(instance(['  version 2', '  strict_mode', '  virtual_ipaddress {', '    fe80::1', '  }']))
  t.equal(strict.vrrp.instances[0]!.version, 3)
  t.match(problems(strict.diags), [[4, 'warning', /version 2 cannot carry IPv6/]])
})

t.test('authentication: truncation, version 3, AH with MASTER', async (t) => {
  const auth = (type: string, pass: string): string[] => ['  authentication {', `    auth_type ${type}`, `    auth_pass ${pass}`, '  }']
  const long = load(instance([...auth('PASS', '123456789'), ...vip]))
  t.same(long.vrrp.instances[0]!.authentication, { type: 'PASS', password: '12345678' })
  t.same(problems(long.diags), [[6, 'warning', "auth_pass is longer than 8 characters; keepalived uses '12345678'"]])

  const v3 = load(instance(['  version 3', ...auth('PASS', 'x'), ...vip]))
  t.equal(v3.vrrp.instances[0]!.authentication, undefined)
  t.same(problems(v3.diags), [[5, 'warning', 'VRRP version 3 does not support authentication; ignored']])

  const ah = load(instance(['  state MASTER', '  priority 100', ...auth('AH', 'secret'), ...vip]))
  t.match(ah.vrrp.instances[0]!, { state: 'BACKUP', authentication: { type: 'AH', password: 'secret' } })
  t.same(problems(ah.diags), [[4, 'warning', 'initial state MASTER is incompatible with AH authentication; keepalived uses BACKUP']])

  const noPass = load(instance(['  authentication {', '    auth_type PASS', '  }', ...vip]))
  t.equal(noPass.vrrp.instances[0]!.authentication, undefined)
  t.same(problems(noPass.diags), [[4, 'warning', 'authentication has no auth_pass; ignored']])

  const badType = load(instance(['  authentication {', '    auth_type pass', '    auth_pass x', '  }', ...vip]))
  t.match(badType.diags, [{ severity: 'error', pos: { line: 5 }, hint: 'auth_type is case-sensitive' }])
})

t.test('advert_int rounding per version', async (t) => {
  const v2 = load(instance(['  advert_int 1.5', ...vip]))
  t.equal(v2.vrrp.instances[0]!.advertInt, 2_000_000)
  t.same(problems(v2.diags), [[4, 'warning', 'VRRPv2 advert_int must be whole seconds; keepalived rounds 1.5s to 2s']])
  t.equal(load(instance(['  advert_int 0.4', ...vip])).vrrp.instances[0]!.advertInt, 1_000_000, 'never below one unit')
  const v3 = load(instance(['  version 3', '  advert_int 0.015', ...vip]))
  t.equal(v3.vrrp.instances[0]!.advertInt, 20_000)
  t.match(problems(v3.diags), [[5, 'warning', /units of 10ms/]])
  const big = load(instance(['  version 3', '  advert_int 50', ...vip]))
  t.equal(big.vrrp.instances[0]!.advertInt, 40_950_000)
  t.equal(load(instance(['  version 3', '  advert_int 0.25', ...vip])).vrrp.instances[0]!.advertInt, 250_000)
})

t.test('preemption corrections', async (t) => {
  const owner = load(instance(['  priority 255', '  nopreempt', ...vip]))
  t.equal(owner.vrrp.instances[0]!.nopreempt, false)
  t.same(problems(owner.diags), [[5, 'warning', 'nopreempt is incompatible with priority 255; ignored']])

  const master = load(instance(['  state MASTER', '  priority 100', '  nopreempt', '  preempt_delay 10', ...vip]))
  t.match(master.vrrp.instances[0]!, { nopreempt: false, preemptDelay: 0 })
  t.same(problems(master.diags).map((p) => p[0]), [6, 7])

  const both = load(instance(['  nopreempt', '  preempt_delay 10', ...vip]))
  t.match(both.vrrp.instances[0]!, { nopreempt: true, preemptDelay: 0 })
  t.same(problems(both.diags), [[5, 'warning', 'preempt_delay is incompatible with nopreempt; ignored']])

  t.equal(load(instance(['  nopreempt', '  preempt', ...vip])).vrrp.instances[0]!.nopreempt, false, 'preempt clears nopreempt')
  t.equal(load(instance(['  preempt_delay 2.5', ...vip])).vrrp.instances[0]!.preemptDelay, 2_500_000)
})

t.test('VIPs: a warning for VRRPv2, an error for VRRPv3', async (t) => {
  const v2 = load(instance([]))
  t.equal(v2.vrrp.instances.length, 1)
  t.same(problems(v2.diags), [[1, 'warning', 'no virtual_ipaddress; at least one is sensible']])
  const v3 = load(instance(['  version 3']))
  t.equal(v3.vrrp.instances.length, 0, 'keepalived removes the instance')
  t.match(problems(v3.diags), [[1, 'error', /at least one is required/]])
})

t.test('virtual_router_id and interface are required', async (t) => {
  const { vrrp, diags } = load('vrrp_instance VI_1 {\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n')
  t.equal(vrrp.instances.length, 0)
  t.same(diags.map((d) => [d.pos?.line, d.code]), [[1, 'KA_CONF_NO_VRID'], [1, 'KA_CONF_NO_INTERFACE']])
  const unicast = load('vrrp_instance VI_1 {\n  virtual_router_id 5\n  unicast_peer {\n    10.0.0.2\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n')
  t.equal(unicast.vrrp.instances[0]!.interface, undefined, 'a unicast instance may omit the interface')
  t.same(problems(unicast.diags), [])
})

t.test('a bad virtual_router_id is reported once, where it is written', async (t) => {
  const { vrrp, diags } = load(instance(vip).replace('virtual_router_id 51', 'virtual_router_id 256'))
  t.equal(vrrp.instances.length, 0)
  t.same(problems(diags), [[3, 'error', "virtual_router_id: number '256' outside range [1, 255]"]])
})

t.test('an empty VIP block is reported at its closing brace', async (t) => {
  const { diags } = load(instance(['  virtual_ipaddress {', '    10.0.0.300', '  }']))
  t.same(problems(diags).map((p) => [p[0], p[1]]), [[5, 'error'], [6, 'warning']])
  t.equal(problems(diags)[1]![2], 'virtual_ipaddress has no usable address; at least one is sensible')
})

t.test('loopback interface is refused', async (t) => {
  const { vrrp, diags } = load(instance(vip).replace('interface eth0', 'interface lo'))
  t.equal(vrrp.instances.length, 0)
  t.match(problems(diags), [[2, 'error', /loopback/]], 'no second error for the missing interface')
})

t.test('duplicate VRIDs on one interface and family', async (t) => {
  const two = (a: string[], b: string[]): string =>
    ['vrrp_instance A {', ...a, '  virtual_router_id 7', '  virtual_ipaddress {', '    10.0.0.1', '  }', '}',
      'vrrp_instance B {', ...b, '  virtual_router_id 7', '  virtual_ipaddress {', '    10.0.0.2', '  }', '}'].join('\n')
  const clash = load(two(['  interface eth0'], ['  interface eth0']))
  t.match(problems(clash.diags), [[10, 'error', /VRID 7 is also used by vrrp_instance A .* with IPv4 on eth0/]])
  t.same(problems(load(two(['  interface eth0'], ['  interface eth1'])).diags), [], 'other interface')
  const peers = (p: string): string[] => ['  interface eth0', '  unicast_peer {', `    ${p}`, '  }']
  t.same(problems(load(two(peers('10.1.1.1'), peers('10.1.1.2'))).diags), [], 'unicast with other peers')
  t.equal(problems(load(two(peers('10.1.1.1'), peers('10.1.1.1'))).diags).length, 1, 'unicast with a shared peer')
  t.same(problems(load(two(peers('10.1.1.1'), ['  interface eth0'])).diags), [], 'unicast and multicast')
})

t.test('a unicast keyword without peers falls back to multicast', async (t) => {
  const { vrrp, diags } = load(instance(['  unicast_src_ip 10.0.0.9', ...vip]))
  t.equal(vrrp.instances[0]!.unicastSrcIp, '10.0.0.9')
  t.match(problems(diags), [[4, 'warning', /unicast keyword is given without any unicast peers/]])
  t.match(problems(load(instance(['  unicast_peer {', '  }', ...vip])).diags), [[4, 'warning', /without any unicast peers/]])
})

t.test('unicast peers: TTLs, family, bad entries', async (t) => {
  const { vrrp, diags } = load(instance([
    '  unicast_peer {', '    10.0.0.7 min_ttl 3 max_ttl 10', '    10.0.0.8 bogus', '    10.0.0.300', '    fe80::1', '  }', ...vip,
  ]))
  const i = vrrp.instances[0]!
  t.same(i.unicastPeers.map((p) => [p.address, p.minTtl, p.maxTtl]), [['10.0.0.7', 3, 10], ['10.0.0.8', undefined, undefined]])
  t.equal(i.checkUnicastSrc, true, 'min_ttl/max_ttl turn on check_unicast_src')
  t.same(problems(diags).map((p) => [p[0], p[1]]), [[6, 'error'], [7, 'error'], [8, 'error']])
})

t.test('source addresses fix the family', async (t) => {
  const { vrrp, diags } = load(instance(['  mcast_src_ip fe80::9', '  virtual_ipaddress {', '    fe80::1', '    10.0.0.1', '  }']))
  t.match(vrrp.instances[0]!, { family: 6, mcastSrcIp: 'fe80::9' })
  t.same(vrrp.instances[0]!.virtualIpaddresses.map((a) => a.address), ['fe80::1'])
  t.match(problems(diags), [[7, 'error', /address 10.0.0.1 is IPv4 but the instance is IPv6/]])
})

t.test('notify scripts: the first one wins', async (t) => {
  const { vrrp, diags } = load(instance(['  notify_master /bin/a', '  notify_master /bin/b', '  notify "/bin/n x" root wheel', ...vip]))
  const i = vrrp.instances[0]!
  t.same(i.notifyMaster, { command: '/bin/a', user: undefined, group: undefined })
  t.same(i.notify, { command: '/bin/n x', user: 'root', group: 'wheel' })
  t.same(problems(diags), [[5, 'warning', 'notify_master script already specified; ignoring /bin/b']])
})

t.test('GARP settings: instance, global, defaults', async (t) => {
  const g = 'global_defs {\n  vrrp_garp_master_delay 3\n  vrrp_garp_master_repeat 2\n  vrrp_garp_master_refresh 60\n}'
  const inherited = load(instance(vip, g)).vrrp.instances[0]!
  t.match(inherited, { garpMasterDelay: 3_000_000, garpMasterRepeat: 2, garpMasterRefresh: 60_000_000, garpLowerPrioDelay: 3_000_000, garpLowerPrioRepeat: 2 })
  const own = load(instance(['  garp_master_delay 1', '  garp_master_repeat 0', '  garp_master_refresh_repeat 3', '  garp_lower_prio_repeat 0', '  garp_lower_prio_delay 7', ...vip], g))
  t.match(own.vrrp.instances[0]!, { garpMasterDelay: 1_000_000, garpMasterRepeat: 1, garpMasterRefreshRepeat: 3, garpLowerPrioRepeat: 0, garpLowerPrioDelay: 7_000_000 })
  t.same(problems(own.diags), [[10, 'warning', 'garp_master_repeat must be greater than 0; keepalived uses 1']])
  t.match(problems(load(instance(['  garp_master_delay 0.5', ...vip])).diags), [[4, 'error', /not an integer/]])
})

t.test('use_vmac and vmac_xmit_base', async (t) => {
  const named = load(instance(['  use_vmac vrrp51 02:11:22:33:44:55', ...vip])).vrrp.instances[0]!
  t.same(named.useVmac, { interface: 'vrrp51', mac: '02:11:22:33:44:55' })
  t.same(load(instance(['  use_vmac', ...vip])).vrrp.instances[0]!.useVmac, { interface: undefined, mac: undefined })
  const rfc = load(instance(['  use_vmac vrrp51 00:00:5e:00:01:33', ...vip]))
  t.same(rfc.vrrp.instances[0]!.useVmac, { interface: 'vrrp51', mac: undefined })
  t.match(problems(rfc.diags), [[4, 'warning', /RFC 5798 address/]])
  const xmit = load(instance(['  vmac_xmit_base', ...vip]))
  t.equal(xmit.vrrp.instances[0]!.vmacXmitBase, false)
  t.same(problems(xmit.diags), [[4, 'warning', 'vmac_xmit_base is only valid with use_vmac; ignored']])
  const unicast = load(instance(['  use_vmac', '  unicast_peer {', '    10.0.0.2', '  }', ...vip]))
  t.equal(unicast.vrrp.instances[0]!.vmacXmitBase, true)
  t.same(problems(unicast.diags), [[11, 'warning', 'unicast with use_vmac requires vmac_xmit_base; keepalived sets it']])
})

t.test('strict mode', async (t) => {
  const g = 'global_defs {\n  vrrp_strict\n}'
  const { vrrp, diags } = load(instance([
    '  state MASTER', '  priority 100', '  authentication {', '    auth_type PASS', '    auth_pass x', '  }',
    '  preempt_delay 3', '  accept', '  garp_lower_prio_repeat 2', ...vip,
  ], g))
  t.match(vrrp.instances[0]!, {
    strictMode: true, state: 'BACKUP', authentication: undefined, preemptDelay: 0, accept: false, garpLowerPrioRepeat: 0, garpLowerPrioDelay: 0,
  })
  t.same(problems(diags).map((p) => [p[0], p[1]]), [[7, 'warning'], [9, 'warning'], [13, 'warning'], [14, 'warning'], [15, 'warning']])
  t.match(problems(diags).map((p) => p[2]), [
    /state MASTER must match/, /strict mode does not support authentication/, /preempt_delay is incompatible with strict mode/,
    /accept mode with VRRP version 2/, /strict mode requires garp_lower_prio_repeat 0/,
  ])
  const off = load(instance(['  strict_mode off', ...vip], g)).vrrp.instances[0]!
  t.match(off, { strictMode: false, accept: true })
  const linkLocal = load(instance(['  virtual_ipaddress {', '    2001:db8::1', '  }'], g))
  t.match(problems(linkLocal.diags), [[8, 'warning', /first IPv6 VIP must be a link-local/]])
  const noVip = load(instance([], g))
  t.equal(noVip.vrrp.instances.length, 0)
})

t.test('flags and booleans', async (t) => {
  const i = load(instance([
    '  dont_track_primary', '  check_unicast_src', '  skip_check_adv_addr on', '  smtp_alert', '  no_accept', ...vip,
  ])).vrrp.instances[0]!
  t.match(i, { dontTrackPrimary: true, checkUnicastSrc: true, skipCheckAdvAddr: true, smtpAlert: true, accept: false })
  const g = load(instance(vip, 'global_defs {\n  smtp_alert\n  vrrp_skip_check_adv_addr\n  vrrp_check_unicast_src\n}')).vrrp.instances[0]!
  t.match(g, { smtpAlert: true, skipCheckAdvAddr: true, checkUnicastSrc: true })
  const bad = load(instance(['  smtp_alert maybe', ...vip]))
  t.match(problems(bad.diags), [[4, 'error', /'maybe' is not one of/]])
})

t.test('lvs_sync_daemon_interface is deprecated but kept', async (t) => {
  const { vrrp, diags } = load(instance(['  lvs_sync_daemon_interface eth1', ...vip]))
  t.equal(vrrp.instances[0]!.lvsSyncDaemonInterface, 'eth1')
  t.match(problems(diags), [[4, 'warning', /deprecated/]])
  t.match(diags.find((d) => d.code === 'KA_CONF_DEPRECATED')?.hint, /lvs_sync_daemon eth1 VI_1/)
})

t.test('T3 keywords are kept as written; unknown ones get a hint', async (t) => {
  const { vrrp, diags } = load(instance(['  promote_secondaries', '  garp_extra_if all 30', '  auth_pass x', ...vip]))
  t.same(vrrp.instances[0]!.unsupported, [
    { keyword: 'promote_secondaries', args: [], block: undefined },
    { keyword: 'garp_extra_if', args: ['all', '30'], block: undefined },
  ])
  t.match(diags.filter((d) => d.code === 'KA_CONF_NOT_SUPPORTED'), [{ verdict: 'none', pos: { line: 4 } }, { pos: { line: 5 } }])
  t.match(problems(diags), [[6, 'error', "unknown keyword 'auth_pass'"]])
  t.match(diags.find((d) => d.code === 'KA_CONF_UNKNOWN_KEYWORD')?.hint, /authentication/)
})

t.test('a second instance with the same name is ignored', async (t) => {
  const { vrrp, diags } = load(instance(vip) + 'vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 52\n}\n')
  t.equal(vrrp.instances.length, 1)
  t.equal(vrrp.instances[0]!.virtualRouterId, 51)
  t.match(problems(diags), [[8, 'error', /vrrp_instance VI_1 is already defined \(\/k.conf:1\)/]])
  t.match(problems(load('vrrp_instance {\n}\nvrrp_instance A B {\n}\n').diags), [[1, 'error', /exactly one name/], [3, 'error', /exactly one name/]])
})
