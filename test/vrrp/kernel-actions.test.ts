/**
 * From an instance's configuration to what goes on the wire and into the
 * kernel: the advert it sends (byte-exact against keepalived's captured one),
 * the GARP / NA frames of its VIPs and eVIPs (on the VMAC with use_vmac), and the warnings for what the
 * runtime does not do yet.
 */
import t from 'tap'
import { loadConfig } from '../../src/config/config.js'
import type { VrrpInstance } from '../../src/config/vrrp/model.js'
import { advertFields, announcedAddresses, announcementFrames, type InterfaceInfo, vmacName } from '../../src/vrrp/kernel-actions.js'
import { encodeAdvert } from '../../src/vrrp/packet.js'
import { unsupportedWarnings } from '../../src/vrrp/unsupported.js'
import { memFiles } from '../helpers/config.js'

function instances(text: string): { list: readonly VrrpInstance[]; global: ReturnType<typeof loadConfig>['config']['global'] } {
  const { config, diagnostics } = loadConfig('/k.conf', { configId: 'x', files: memFiles({ '/k.conf': text }) })
  const errors = diagnostics.list.filter((d) => d.severity === 'error')
  if (errors.length) throw new Error(errors.map((d) => d.message).join('; '))
  return { list: config.vrrp.instances, global: config.global }
}

const V2_PASS = `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    10.9.0.100/24
  }
  virtual_ipaddress_excluded {
    10.9.0.200/24 dev eth1
    fd00::200/64
  }
}
`

t.test('the advert of a VRRPv2 PASS instance is the one keepalived sends (reference §5.1)', async (t) => {
  const inst = instances(V2_PASS).list[0]!
  const payload = encodeAdvert(advertFields(inst, 150), { family: 4, src: '10.9.0.1', dst: '224.0.0.18' })
  t.equal(payload.toString('hex'), '2133960101010111' + '0a090064' + '7365637265740000')
  const zero = advertFields(inst, 0)
  t.equal(zero.priority, 0)
  t.same(zero.addresses, ['10.9.0.100'], 'excluded VIPs are never advertised')
})

t.test('a VRRPv3 instance carries centiseconds and no auth bytes', async (t) => {
  const inst = instances(V2_PASS.replace('advert_int 1', 'advert_int 0.5\n  version 3').replace(/  authentication \{[^}]*\}\n/, '')).list[0]!
  const f = advertFields(inst, 100)
  t.equal(f.version, 3)
  t.equal(f.advertIntervalCs, 50)
  t.equal(f.authType, 0)
  t.equal(f.authData, undefined)
})

t.test('GARP and NA frames for every VIP and eVIP whose interface exists and does ARP', async (t) => {
  const inst = instances(V2_PASS).list[0]!
  t.same(announcedAddresses(inst).map((a) => `${a.vip.address}@${a.dev}`), ['10.9.0.100@eth0', '10.9.0.200@eth1', 'fd00::200@eth0'])
  const links = new Map<string, InterfaceInfo>([
    ['eth0', { index: 2, name: 'eth0', mac: '02:00:00:00:00:01', noArp: false }],
    ['eth1', { index: 3, name: 'eth1', mac: '02:00:00:00:00:02', noArp: true }],
  ])
  const frames = announcementFrames(inst, links)
  t.same(frames.map((f) => [f.address, f.link.name, f.family, f.frame.length]), [['10.9.0.100', 'eth0', 4, 42], ['fd00::200', 'eth0', 6, 86]],
    'no frame on a NOARP link; keepalived-sized frames')
  t.equal(frames[0]!.frame.subarray(0, 6).toString('hex'), 'ffffffffffff')
  t.equal(frames[0]!.frame.subarray(6, 12).toString('hex'), '020000000001')
})

t.test('use_vmac: VIPs and eVIPs without their own dev go on the VMAC, and GARPs / NAs carry the virtual MAC', async (t) => {
  const inst = instances(V2_PASS.replace('advert_int 1', 'advert_int 1\n  use_vmac')).list[0]!
  t.equal(vmacName(inst), 'vrrp.51', "keepalived's default name")
  t.same(announcedAddresses(inst).map((a) => `${a.vip.address}@${a.dev}`), ['10.9.0.100@vrrp.51', '10.9.0.200@eth1', 'fd00::200@vrrp.51'])
  const links = new Map<string, InterfaceInfo>([
    ['eth0', { index: 2, name: 'eth0', mac: '02:00:00:00:00:01', noArp: false }],
    ['vrrp.51', { index: 7, name: 'vrrp.51', mac: '00:00:5e:00:01:33', noArp: false }],
  ])
  const frames = announcementFrames(inst, links)
  t.same(frames.map((f) => [f.address, f.link.name]), [['10.9.0.100', 'vrrp.51'], ['fd00::200', 'vrrp.51']], 'no frame for the eVIP on a missing eth1')
  t.equal(frames[0]!.frame.subarray(6, 12).toString('hex'), '00005e000133', 'the GARP comes from the virtual MAC')
  t.equal(vmacName(instances(V2_PASS.replace('advert_int 1', 'advert_int 1\n  use_vmac vip51')).list[0]!), 'vip51', 'a configured name')
  t.equal(vmacName(instances(V2_PASS).list[0]!), undefined)
})

t.test('what the runtime does not do yet is a warning naming the instance', async (t) => {
  const { list, global } = instances(`global_defs {\n  vrrp_garp_interval 0.01\n}\n${V2_PASS.replace('advert_int 1', 'advert_int 1\n  use_vmac\n  no_accept')}`)
  t.ok(global.vrrpGarpInterval, 'garp pacing is configured (and done: garp-pacer.ts), so no warning for it')
  t.match(unsupportedWarnings(list), [/^\(VI_1\) no_accept: the firewall drop rule is not supported yet/], 'use_vmac is supported: no warning for it')
  t.equal(unsupportedWarnings(list).length, 1)
  t.same(unsupportedWarnings(instances(V2_PASS).list), [], 'nothing to say for a plain instance')
})
