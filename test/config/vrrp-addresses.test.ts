/** VIP lines (§1.8.1), static_ipaddress, and one address in two places. */
import t from 'tap'
import { formatAddress } from '../../src/config/vrrp/address.js'
import { loadVrrp, problems } from '../helpers/config.js'

const load = loadVrrp

/** An instance whose VIP block starts on line 4 (its first entry on line 5). */
function vips(lines: string[], block = 'virtual_ipaddress', more: string[] = []): string {
  return ['vrrp_instance VI_1 {', '  interface eth0', '  virtual_router_id 51', `  ${block} {`, ...lines.map((l) => `    ${l}`), '  }', ...more, '}'].join('\n')
}

t.test('every option of an address line', async (t) => {
  const { vrrp, diags } = load(vips([
    '10.0.0.1/24 brd 10.0.0.255 dev eth0 scope link label eth0:1',
    '10.0.0.2/24 broadcast + home -nodad mngtmpaddr noprefixroute autojoin no_track use_vmac',
    '10.0.0.3 peer 10.0.0.4/30',
    '10.0.0.5 scope 200',
  ]))
  t.same(problems(diags), [])
  const [a, b, c, d] = vrrp.instances[0]!.virtualIpaddresses
  t.match(a, { address: '10.0.0.1', prefix: 24, broadcast: '10.0.0.255', dev: 'eth0', scope: 'link', label: 'eth0:1', family: 4, pos: { line: 5 } })
  t.match(b, { broadcast: '+', home: true, noDad: true, mngTmpAddr: true, noPrefixRoute: true, autoJoin: true, noTrack: true, useVmac: true })
  t.match(c, { address: '10.0.0.3', peer: '10.0.0.4', prefix: 30 })
  t.match(d, { scope: '200', prefix: 32, preferredLft: undefined })
})

t.test('IPv6 addresses: default preferred_lft, no scope or label', async (t) => {
  const { vrrp, diags } = load(vips(['fe80::1', '2001:db8::1/64 scope link label x', '2001:db8::2 preferred_lft forever', '2001:db8::3 preferred_lft 30']))
  const [a, b, c, d] = vrrp.instances[0]!.virtualIpaddresses
  t.match(a, { prefix: 128, preferredLft: 0 })
  t.match(b, { prefix: 64, preferredLft: 'forever', scope: undefined, label: undefined })
  t.match(c, { preferredLft: 'forever' })
  t.match(d, { preferredLft: 30 })
  t.same(problems(diags), [
    [6, 'warning', 'IPv6 address 2001:db8::1 cannot have a scope; ignored'],
    [6, 'warning', 'IPv6 address 2001:db8::1 cannot have a label; ignored'],
  ])
})

t.test('bad address lines: what keepalived skips and what it ignores', async (t) => {
  const { vrrp, diags } = load(vips([
    '10.0.0.2/24 scope bogus',
    '10.0.0.4 label',
    '10.0.0.5 dev',
    '10.0.0.7 preferred_lft abc',
    '10.0.0.8 track_group x',
    '10.0.0.9/24 brd 10.0.0.300',
    '10.0.0.10 peer x',
    '10.0.0.11 label averyveryverylonglabel',
    '10.0.0.13 10.0.0.14',
    '10.0.0.15/33',
    '10.0.0.300',
    'fe80::9 brd +',
    '10.0.0.16/31 brd +',
    '10.0.0.17 dev eth0 dev eth1',
  ]))
  t.same(vrrp.instances[0]!.virtualIpaddresses.map((a) => `${a.address}/${a.prefix}`), [
    '10.0.0.2/24', '10.0.0.7/32', '10.0.0.8/32', '10.0.0.10/32', '10.0.0.13/32', '10.0.0.15/32', '10.0.0.16/31',
  ])
  t.same(problems(diags).map((p) => [p[0], p[1]]), [
    [5, 'error'], [6, 'error'], [7, 'error'], [8, 'error'], [9, 'error'], [9, 'error'], [10, 'error'], [11, 'error'], [12, 'error'],
    [13, 'error'], [14, 'warning'], [15, 'error'], [16, 'error'], [17, 'warning'], [18, 'error'],
  ])
  t.match(diags.find((d) => d.pos?.line === 13)?.hint, /one address per line/)
  t.match(diags.find((d) => d.pos?.line === 12)?.message, /longer than 15 characters/)
})

t.test('VIPs share the family of the instance; excluded addresses may mix', async (t) => {
  const { vrrp, diags } = load(vips(['10.0.0.1', '2001:db8::1'], 'virtual_ipaddress', ['  virtual_ipaddress_excluded {', '    2001:db8::2/64', '    10.9.9.9 use_vmac', '  }']))
  const i = vrrp.instances[0]!
  t.same(i.virtualIpaddresses.map((a) => a.address), ['10.0.0.1'])
  t.same(i.virtualIpaddressesExcluded.map((a) => a.address), ['2001:db8::2', '10.9.9.9'])
  t.match(problems(diags), [[6, 'error', /2001:db8::1 is IPv6 but the instance is IPv4/]])
})

t.test('static_ipaddress takes track_group, not use_vmac', async (t) => {
  const { vrrp, diags } = load(['static_ipaddress {', '  192.168.1.1/24 dev eth0 scope link track_group G', '  192.168.1.2 use_vmac', '  192.168.1.3 track_group G', '}'].join('\n'))
  t.match(vrrp.staticAddresses, [
    { address: '192.168.1.1', dev: 'eth0', scope: 'link', trackGroup: 'G' },
    { address: '192.168.1.2', useVmac: false },
    { address: '192.168.1.3', trackGroup: undefined },
  ])
  t.same(problems(diags).map((p) => [p[0], p[1]]), [[3, 'error'], [4, 'warning']])
  t.match(diags, [{ code: 'KA_CONF_NOT_SUPPORTED', verdict: 'none', pos: { line: 1 } }])
})

t.test('one address in two instances is an error; twice in one is a note', async (t) => {
  const text = [
    'static_ipaddress {', '  10.0.0.9/24 dev eth0', '}',
    'vrrp_instance A {', '  interface eth0', '  virtual_router_id 1', '  virtual_ipaddress {', '    10.0.0.1', '    10.0.0.1/24', '  }', '}',
    'vrrp_instance B {', '  interface eth1', '  virtual_router_id 2', '  virtual_ipaddress {', '    10.0.0.1/32', '  }',
    '  virtual_ipaddress_excluded {', '    10.0.0.9', '  }', '}',
    'vrrp_instance C {', '  interface eth1', '  virtual_router_id 3', '  virtual_ipaddress {', '    2001:db8::0:1', '    2001:DB8::1', '  }', '}',
  ].join('\n')
  const { diags } = load(text)
  t.same(problems(diags).map((p) => [p[0], p[2]]), [
    [16, 'address 10.0.0.1 is also managed by vrrp_instance A (/k.conf:8)'],
    [19, 'address 10.0.0.9 is also managed by static_ipaddress (/k.conf:2)'],
  ])
  t.same(diags.filter((d) => d.code === 'KA_CONF_DUPLICATE_VIP' && d.verdict === 'none').map((d) => d.pos?.line), [9, 27], 'IPv6 spellings compare equal')
})

t.test('formatAddress writes what readAddress reads', async (t) => {
  const { vrrp } = load(vips(['10.0.0.3 peer 10.0.0.4/30 dev eth0', '10.0.0.1/24 brd - label "a b" no_track', 'fe80::1/64'], 'virtual_ipaddress_excluded'))
  t.same(vrrp.instances[0]!.virtualIpaddressesExcluded.map(formatAddress), [
    '10.0.0.3 peer 10.0.0.4/30 dev eth0',
    '10.0.0.1/24 brd - label "a b" no_track',
    'fe80::1/64 preferred_lft forever',
  ])
})
