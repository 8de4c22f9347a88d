/** Routes and rules (static and virtual), with keepalived 2.2.7's messages on the same lines. */
import t from 'tap'
import { type Diagnostic } from '../../src/config/diagnostics.js'
import { formatRoute } from '../../src/config/vrrp/routes.js'
import { formatRule } from '../../src/config/vrrp/rules.js'
import { loadVrrp, problems } from '../helpers/config.js'

const load = loadVrrp

/** `static_routes` with its first entry on line 2. */
function block(keyword: string, lines: string[]): string {
  return [`${keyword} {`, ...lines.map((l) => `    ${l}`), '}'].join('\n')
}

t.test('routes: typed parts and option words', async (t) => {
  const { vrrp, diags } = load(block('static_routes', [
    'src 192.168.100.1 192.168.209.0/24 via 192.168.200.254 dev eth0',
    'default via 10.0.0.1 dev eth0 table 100 metric 5',
    'to 10.9.0.0/16 dev eth0 no_track',
    'blackhole 10.10.0.0/16 dev eth0',
    '10.15.0.0 dev eth0 mtu lock 1400 onlink',
    '2001:db8::/64 dev eth0 expires 10 pref high',
    '10.14.0.0/16 dev eth0 nexthop via 10.0.0.1 dev eth1 weight 2 nexthop via 10.0.0.2 dev eth2',
    'default6 dev eth0',
  ]))
  t.same(problems(diags), [])
  t.match(vrrp.staticRoutes, [
    { destination: '192.168.209.0/24', src: '192.168.100.1', via: '192.168.200.254', dev: 'eth0', family: 4, noTrack: false, options: [], pos: { line: 2 } },
    { destination: '0.0.0.0/0', table: '100', options: ['metric', '5'] },
    { destination: '10.9.0.0/16', noTrack: true },
    { type: 'blackhole', destination: '10.10.0.0/16' },
    { destination: '10.15.0.0/32', options: ['mtu', 'lock', '1400', 'onlink'] },
    { destination: '2001:db8::/64', family: 6, options: ['expires', '10', 'pref', 'high'] },
    { options: ['nexthop', 'via', '10.0.0.1', 'dev', 'eth1', 'weight', '2', 'nexthop', 'via', '10.0.0.2', 'dev', 'eth2'] },
    { destination: '::/0', family: 6 },
  ])
})

t.test('route messages keepalived prints, on the same lines', async (t) => {
  const { vrrp, diags } = load(block('static_routes', [
    '192.168.1.0/24 via 10.0.0.1',
    'blackhole 192.168.3.0/24',
    '192.168.4.0/33 dev eth0',
    '192.168.5.0/24 via 10.0.0.x dev eth0',
    '192.168.6.0/24 dev eth0 bogus 3',
    'inet6 default via fe80::1 dev eth0',
    '10.11.0.0/16 dev eth0 protocol static',
    '10.13.0.0/16 via 10.0.0.1 dev eth0 or 10.0.0.2',
    '0.0.0.0/0 gw 192.168.0.1 table 100',
    'fe80::/64 via 10.0.0.1 dev eth0',
    '10.9.0.0/16 dev eth0 from 10.0.0.0/8',
    '10.10.0.0/16 dev eth0 table bogus',
    '10.15.0.0/16 dev eth0 expires 10',
    '10.16.0.0/16 dev eth0 metric',
    '10.17.0.0/16 dev eth0 as to 10.0.0.1',
  ]))
  t.same(problems(diags).map((p) => p[0]), [2, 3, 4, 5, 6, 7, 7, 8, 9, 10, 10, 11, 12, 13, 14, 15, 16])
  t.same(vrrp.staticRoutes.map((r) => r.destination), ['192.168.1.0/24', '192.168.3.0/24', '192.168.4.0/32', '10.11.0.0/16', '10.13.0.0/16', '0.0.0.0/0', '10.17.0.0/16'])
  t.match(vrrp.staticRoutes[0], { noTrack: true }, 'a route without dev is not tracked')
  const byLine = (line: number): Diagnostic[] => diags.filter((d) => d.pos?.line === line)
  t.match(byLine(2), [{ severity: 'warning', message: /cannot track route 192.168.1.0\/24 with no interface specified/ }])
  t.match(byLine(7), [{ severity: 'warning', message: /keepalived ignores the word 'default' after 'inet6'/ }, { severity: 'error', message: /must have a destination/ }])
  t.match(byLine(10), [{ message: /'gw' in routes is deprecated/ }, { message: /cannot track/ }])
})

t.test('virtual routes and rules live in the instance', async (t) => {
  const text = [
    'vrrp_instance VI_1 {', '  interface eth0', '  virtual_router_id 51', '  virtual_ipaddress {', '    10.0.0.1', '  }',
    '  virtual_routes {', '    10.1.0.0/16 dev eth1', '    10.2.0.0/16 via 10.0.0.254', '  }',
    '  virtual_rules {', '    from 10.1.0.0/16 table 9', '    to 10.2.0.0/16 table 9 no_track preference 10', '  }', '}',
  ].join('\n')
  const { vrrp, diags } = load(text)
  const i = vrrp.instances[0]!
  t.match(i.virtualRoutes, [{ destination: '10.1.0.0/16', dev: 'eth1', noTrack: false }, { destination: '10.2.0.0/16', noTrack: true }])
  t.match(i.virtualRules, [{ from: '10.1.0.0/16', table: '9', preference: 16384 }, { to: '10.2.0.0/16', noTrack: true, preference: 10 }])
  t.same(problems(diags).map((p) => p[0]), [9, 12])
  const trackGroup = load(text.replace('    10.2.0.0/16 via 10.0.0.254', '    10.2.0.0/16 dev eth0 track_group G'))
  t.match(problems(trackGroup.diags), [[9, 'error', /invalid destination 'track_group'/], [12, 'warning', /no preference/]], 'track_group is for static routes only')
})

t.test('rules: preference numbering, actions, selectors', async (t) => {
  const { vrrp, diags } = load(block('static_rules', [
    'from 10.0.0.0/8 table 5 preference 100',
    'to 10.0.0.0/8 lookup 6',
    'from all fwmark 3 table 7 priority 50',
    'from 2001:db8::/32 table 4',
    'from all table 5 inet6',
    'to 10.1.0.0/16 table 6',
    'not from 10.0.0.0/8 table 5 tos 10 preference 7',
    'from all table 5 realms 3/4 sport 10-20 ipproto tcp preference 8',
    'from all goto 300 preference 200',
    'from all nop preference 1',
    'iif eth0 oif eth1 blackhole preference 2',
  ]))
  t.same(problems(diags).map((p) => [p[0], p[2]]), [
    [3, 'rule has no preference; keepalived sets 16384'],
    [5, 'rule has no preference; keepalived sets 16384'],
    [6, 'rule has no preference; keepalived sets 16383'],
    [7, 'rule has no preference; keepalived sets 16383'],
  ])
  t.match(vrrp.staticRules, [
    { from: '10.0.0.0/8', table: '5', preference: 100, family: 4 },
    { to: '10.0.0.0/8', table: '6', preference: 16384 },
    { from: 'all', options: ['fwmark', '3'], preference: 50 },
    { family: 6, preference: 16384 },
    { from: 'all', family: 6, preference: 16383 },
    { preference: 16383 },
    { options: ['not', 'tos', '10'] },
    { options: ['realms', '3/4', 'sport', '10-20', 'ipproto', 'tcp'] },
    { table: undefined, options: ['goto', '300'] },
    { options: ['nop'] },
    { iif: 'eth0', oif: 'eth1', options: ['blackhole'] },
  ])
})

t.test('rule errors keepalived reports', async (t) => {
  const { vrrp, diags } = load(block('static_rules', [
    'from 1.2.3.4 bogus',
    'from 1.2.3.0/24 table 3 pref 9',
    'to 192.168.100./24 table 1',
    'from all goto 100',
    'from all goto 100 preference 200',
    'from all unicast preference 3',
    'from all table 5 blackhole preference 4',
    'from all preference 5',
    'from all table 0 preference 6',
    'from 10.0.0.0/8 to 2001:db8::/32 table 5',
    'from all table 5 dport 30 preference 8',
    'from all goto 400 realms 3 preference 9',
    'inet6 from all table 5',
  ]))
  t.same(problems(diags).map((p) => [p[0], p[1]]), [
    [2, 'error'], [3, 'error'], [4, 'error'], [5, 'error'], [6, 'error'], [7, 'error'], [8, 'error'], [9, 'error'], [10, 'error'],
    [11, 'error'], [12, 'error'], [13, 'error'], [14, 'warning'], [14, 'error'],
  ])
  t.same(vrrp.staticRules.map((r) => r.preference), [8], 'only the rule whose bad selector is dropped survives')
  t.match(diags.find((d) => d.pos?.line === 12)?.hint, /30-30/)
})

t.test('canonical route and rule lines read back the same', async (t) => {
  const routes = [
    'src 192.168.100.1 192.168.209.0/24 via 192.168.200.254 dev eth0',
    '0.0.0.0/0 gw 192.168.0.1 table 100',
    '192.168.113.0/24 via 192.168.100.252 or 192.168.100.253',
    'unreachable 2001:db8::/32 dev eth0 metric 7',
  ]
  const rules = ['from all table 5 inet6', 'to 10.0.0.0/8 lookup 6 iif eth0', 'from 10.0.0.0/8 goto 9 preference 3']
  const first = load(`${block('static_routes', routes)}\n${block('static_rules', rules)}`).vrrp
  const text = `${block('static_routes', first.staticRoutes.map(formatRoute))}\n${block('static_rules', first.staticRules.map(formatRule))}`
  t.same(first.staticRoutes.map(formatRoute), [
    '192.168.209.0/24 src 192.168.100.1 via 192.168.200.254 dev eth0',
    '0.0.0.0/0 via 192.168.0.1 table 100 no_track',
    '192.168.113.0/24 via 192.168.100.252 no_track or 192.168.100.253',
    'unreachable 2001:db8::/32 dev eth0 metric 7',
  ])
  t.same(first.staticRules.map(formatRule), [
    'from all table 5 preference 16384 inet6',
    'to 10.0.0.0/8 iif eth0 table 6 preference 16384',
    'from 10.0.0.0/8 goto 9 preference 3',
  ])
  const second = load(text)
  const strip = (x: unknown): string => JSON.stringify(x, (k, v: unknown) => (k === 'pos' ? undefined : v))
  t.equal(strip(second.vrrp.staticRoutes), strip(first.staticRoutes))
  t.equal(strip(second.vrrp.staticRules), strip(first.staticRules))
  t.same(problems(second.diags).filter((p) => !/deprecated/.test(p[2])), [])
})
