/**
 * The reload diff (reference §5.17): which old instance continues as which
 * new one (by identity, never by name), and what of its addresses, routes
 * and rules a reload deletes and adds, with keepalived's lines.
 */
import t from 'tap'
import { loadConfig } from '../../src/config/config.js'
import type { VrrpInstance } from '../../src/config/vrrp/model.js'
import {
  addressDiff, instanceIdentity, isEmpty, matchInstances, removalLines, settingLines,
} from '../../src/vrrp/reload-plan.js'
import { memFiles } from '../helpers/config.js'

function instances(text: string): readonly VrrpInstance[] {
  const { config, diagnostics } = loadConfig('/k.conf', { configId: 'x', files: memFiles({ '/k.conf': text }) })
  const errors = diagnostics.list.filter((d) => d.severity === 'error')
  if (errors.length) throw new Error(errors.map((d) => d.message).join('; '))
  return config.vrrp.instances
}

interface Inst {
  name?: string
  vrid?: number
  iface?: string
  body?: string
  vips?: string
}

function conf(...list: Inst[]): string {
  return list.map((i) => `vrrp_instance ${i.name ?? 'VI_1'} {
  interface ${i.iface ?? 'eth0'}
  virtual_router_id ${i.vrid ?? 51}
  priority 100
${i.body ?? ''}  virtual_ipaddress {
${i.vips ?? `    10.9.${i.vrid ?? 51}.100/24\n`}  }
}
`).join('')
}

const GROUP = '224.0.0.18'
const id = (inst: VrrpInstance, source = '10.9.0.1', group = GROUP) => instanceIdentity({ config: inst, source, group })

function names(m: ReturnType<typeof matchInstances<VrrpInstance, VrrpInstance>>) {
  return {
    kept: m.kept.map(([o, n]) => `${o.name}->${n.name}`),
    removed: m.removed.map((o) => o.name),
    added: m.added.map((n) => n.name),
  }
}

t.test('matched by VRID, family and interface, not by name', async (t) => {
  const old = instances(conf({ name: 'VI_1' }, { name: 'VI_2', vrid: 52 }, { name: 'VI_3', vrid: 53, iface: 'eth1' }))
  const next = instances(conf({ name: 'web' }, { name: 'VI_2', vrid: 62 }, { name: 'VI_3', vrid: 53, iface: 'eth2' }, { name: 'VI_4', vrid: 54 }))
  t.same(names(matchInstances(old, next, (i) => id(i))), {
    kept: ['VI_1->web'],
    removed: ['VI_2', 'VI_3'],
    added: ['VI_2', 'VI_3', 'VI_4'],
  })
  const v6 = instances(conf({ name: 'VI_6', vips: '    fd00::100/64\n' }))
  t.not(id(v6[0]!, 'fe80::1'), id(old[0]!), 'another family is another router')
})

t.test('unicast: the source must be the same; multicast: the group; VMAC: the same one', async (t) => {
  const uni = (src: string) => instances(conf({ body: `  unicast_src_ip ${src}\n  unicast_peer {\n    10.9.0.2\n  }\n` }))[0]!
  t.equal(id(uni('10.9.0.1'), '10.9.0.1'), id(uni('10.9.0.1'), '10.9.0.1'))
  t.not(id(uni('10.9.0.1'), '10.9.0.1'), id(uni('10.9.0.3'), '10.9.0.3'))
  const multi = instances(conf({}))[0]!
  t.not(id(uni('10.9.0.1'), '10.9.0.1'), id(multi, '10.9.0.1'), 'unicast and multicast never match')
  t.equal(id(multi, '10.9.0.1'), id(multi, '10.9.0.7'), 'a multicast instance does not care about its source')
  t.not(id(multi, '10.9.0.1', GROUP), id(multi, '10.9.0.1', '224.0.0.19'), 'a new vrrp_mcast_group4 is a new router')
  const vmac = instances(conf({ body: '  use_vmac\n' }))[0]!
  t.not(id(vmac), id(multi), 'use_vmac added: not the same router')
  const named = instances(conf({ body: '  use_vmac vrrp.x\n' }))[0]!
  t.not(id(vmac), id(named), 'another VMAC name')
  t.equal(id(vmac), id(instances(conf({ body: '  use_vmac\n' }))[0]!))
})

t.test('first come, first served among equals; every instance used once', async (t) => {
  const a = instances(conf({ name: 'A' }))[0]!
  const b = instances(conf({ name: 'B' }))[0]!
  const m = matchInstances([a, b], [b], (i) => id(i))
  t.same(names(m), { kept: ['A->B'], removed: ['B'], added: [] })
})

t.test('the address diff: only what changed; VIP ↔ eVIP moves stay put', async (t) => {
  const [old] = instances(conf({
    vips: '    10.9.0.100/24\n    10.9.0.101/24\n    10.9.0.102/24 label eth0:2\n',
    body: '  virtual_ipaddress_excluded {\n    10.9.0.200\n  }\n  virtual_routes {\n    10.20.0.0/16 via 10.9.0.254\n  }\n  virtual_rules {\n    from 10.9.0.100 table 100 preference 100\n  }\n',
  }))
  const [next] = instances(conf({
    vips: '    10.9.0.100/24\n    10.9.0.200\n    10.9.0.103/24\n    10.9.0.102/24 label eth0:9\n',
    body: '  virtual_routes {\n    10.20.0.0/16 via 10.9.0.254\n    10.30.0.0/16 via 10.9.0.254\n  }\n',
  }))
  const d = addressDiff(old!, next!)
  t.same(d.removed.addresses.map((a) => `${a.vip.address}/${a.vip.prefix}@${a.dev}`), ['10.9.0.101/24@eth0', '10.9.0.102/24@eth0'])
  t.same(d.added.addresses.map((a) => `${a.vip.address}/${a.vip.prefix}@${a.dev}`), ['10.9.0.103/24@eth0', '10.9.0.102/24@eth0'], 'a new label is a new address (IP_ISEQ)')
  t.same(d.removed.routes, [])
  t.same(d.added.routes.map((r) => r.destination), ['10.30.0.0/16'])
  t.same(d.removed.rules.map((r) => r.from), ['10.9.0.100/32'])
  t.same(d.added.rules, [])
  t.same(removalLines('VI_1', d.removed), [
    'ip rule from 10.9.0.100 removed',
    '(VI_1) ip address 10.9.0.101/24 dev eth0, no longer exist',
    '(VI_1) ip address 10.9.0.102/24 dev eth0, no longer exist',
  ])
  t.same(settingLines(next!), ['(VI_1) setting VIPs.', '(VI_1) setting Virtual Routes'])
  const same = addressDiff(old!, old!)
  t.ok(isEmpty(same.removed) && isEmpty(same.added), 'an unchanged instance changes nothing')
  t.notOk(isEmpty(d.added))
})

t.test('a VIP on another device is another address', async (t) => {
  const [a] = instances(conf({ vips: '    10.9.0.100/24\n' }))
  const [b] = instances(conf({ vips: '    10.9.0.100/24 dev eth1\n' }))
  const d = addressDiff(a!, b!)
  t.equal(d.removed.addresses.length, 1)
  t.equal(d.added.addresses[0]?.dev, 'eth1')
})
