/** virtual_server_group: entry forms, keepalived's entry errors, empty and missing groups, group services. */
import t from 'tap'
import { memFiles } from '../helpers/config.js'
import { loadConfig } from '../../src/config/config.js'
import type { Diagnostic } from '../../src/config/diagnostics.js'

const FILE = '/etc/keepalived/keepalived.conf'


function load(text: string) {
  const { config, diagnostics } = loadConfig(FILE, { files: memFiles({ [FILE]: text }), configId: 'test' })
  const diags = diagnostics.list.filter((d) => d.code !== 'KA_CONF_NOT_SUPPORTED')
  return { lvs: config.lvs, diags, counted: diags.filter((d) => d.verdict !== 'none') }
}

function at(d: Diagnostic | undefined): number | undefined {
  return d?.pos?.line
}

const SERVICE = 'protocol TCP\nlvs_sched rr\nlvs_method NAT\nreal_server 10.0.0.2 80 {\n}'

t.test('entry forms: address, last-octet range, address range, prefix, fwmark', async (t) => {
  const { lvs, counted } = load(`virtual_server_group G {
10.1.1.1 80
10.1.1.2-10 80
10.1.2.0/29 8080
10.1.3.1-10.1.3.9 80
10.1.4.1 0
fwmark 5
fwmark 6 inet
}
virtual_server_group V6 {
2001:db8::1-1f 443
2001:db8:1::/120 443
2001:db8::1-2001:db8::5 443
}`)
  t.same(counted, [])
  t.same(lvs.virtualServerGroups.map((g) => g.name), ['G', 'V6'])
  t.match(lvs.virtualServerGroups[0]?.entries, [
    { kind: 'address', first: '10.1.1.1', last: '10.1.1.1', prefixLength: undefined, port: 80 },
    { kind: 'address', first: '10.1.1.2', last: '10.1.1.10', port: 80 },
    { kind: 'address', first: '10.1.2.0', last: '10.1.2.7', prefixLength: 29, port: 8080 },
    { kind: 'address', first: '10.1.3.1', last: '10.1.3.9', port: 80 },
    { kind: 'address', first: '10.1.4.1', port: 0 },
    { kind: 'fwmark', fwmark: 5, family: undefined },
    { kind: 'fwmark', fwmark: 6, family: 'inet' },
  ])
  t.match(lvs.virtualServerGroups[1]?.entries, [
    { first: '2001:db8::1', last: '2001:db8::1f' },
    { first: '2001:db8:1::', last: '2001:db8:1::ff', prefixLength: 120 },
    { first: '2001:db8::1', last: '2001:db8::5' },
  ])
})

t.test('bad entries are skipped with keepalived\'s messages, on their lines', async (t) => {
  const { lvs, counted } = load(`virtual_server_group G {
10.1.1.1 80
10.1.1.300 80
10.1.1.1/33 80
10.1.1.1/24 80
fwmark 7 foo
10.1.1.9-3 80
10.1.1.1 99999
10.1.1.1 http
10.0.0.1-10.0.0.0 80
10.0.0.1-1x 80
fwmark abc
}`)
  t.equal(lvs.virtualServerGroups[0]?.entries.length, 1)
  t.same(counted.map((d) => [at(d), d.message]), [
    [3, 'Invalid virtual server group IP address 10.1.1.300 /port/80 - skipping'],
    [4, 'Invalid netmask - 10.1.1.1/33 - skipping'],
    [5, 'Address mask bits not empty - 10.1.1.1/24 - skipping'],
    [6, "(G): fwmark '7' family foo unknown - ignoring"],
    [7, 'Address range end is not greater than address range start - 10.1.1.9-3 - skipping'],
    [8, 'Invalid virtual server group IP address 10.1.1.1 /port/99999 - skipping'],
    [9, 'Invalid virtual server group IP address 10.1.1.1 /port/http - skipping'],
    [10, 'Address range end is less than address range start - 10.0.0.1-10.0.0.0 - skipping'],
    [11, "Virtual server group range '10.0.0.1-1x' has extra characters at end 'x'"],
    [12, "(G): fwmark 'abc' must be in [0, 4294967295] - ignoring"],
  ])
})

t.test('an empty group is removed, reported at its closing brace', async (t) => {
  const { lvs, counted, diags } = load(`virtual_server_group EMPTY {\n}\nvirtual_server group EMPTY {\n${SERVICE}\n}`)
  t.same(lvs.virtualServerGroups, [])
  t.same(lvs.virtualServers, [], 'its virtual server goes too')
  t.same(counted.map((d) => [at(d), d.severity, d.message]), [[2, 'warning', 'virtual server group EMPTY has no entries - removing']])
  t.match(diags.find((d) => d.code === 'KA_CONF_UNKNOWN_GROUP'), { verdict: 'none' })
})

t.test('a virtual server using a group that does not exist: an error keepalived -t does not report', async (t) => {
  const { lvs, diags, counted } = load(`virtual_server group MISSING {\n${SERVICE}\n}`)
  t.same(lvs.virtualServers, [])
  t.same(counted, [])
  t.match(diags, [{ severity: 'error', verdict: 'none', code: 'KA_CONF_UNKNOWN_GROUP', message: 'Virtual server group MISSING specified but not configured - ignoring virtual server [MISSING]:0' }])
})

t.test('a group mixing families needs a family on each fwmark', async (t) => {
  const { lvs, counted } = load('virtual_server_group M {\n10.0.0.1 80\nfd00::1 80\nfwmark 3\n}')
  t.same(lvs.virtualServerGroups, [])
  t.same(counted.map(at), [5])
  t.equal(load('virtual_server_group M {\n10.0.0.1 80\nfd00::1 80\nfwmark 3 inet\n}').lvs.virtualServerGroups.length, 1)
})

t.test('group services: protocol and port checks by the group\'s entries', async (t) => {
  const r = load(`virtual_server_group G {
10.0.0.1 80
10.0.0.2
fwmark 3
}
virtual_server group G {
lvs_sched rr
lvs_method DR
real_server 10.0.0.3 8080 {
}
}
virtual_server_group F {
fwmark 4
}
virtual_server group F {
protocol TCP
lvs_sched rr
lvs_method DR
ha_suspend
real_server 10.0.0.3 8080 {
}
}`)
  t.same([...r.counted].sort((x, y) => at(x)! - at(y)!).map((d) => [at(d), d.message]), [
    [6, 'Virtual server [G]:0: no protocol set - defaulting to UDP'],
    [6, 'Virtual server [G]:0: zero port only valid for persistent services - setting'],
    [9, 'WARNING - fwmark virtual server [G]:0, real server [10.0.0.3]:udp:8080 has port specified - port will be ignored'],
    [9, "virtual server [G]:0:[10.0.0.1,80] and real server [10.0.0.3]:udp:8080 ports don't match"],
    [9, "virtual server [G]:0:[10.0.0.2,0] and real server [10.0.0.3]:udp:8080 ports don't match"],
    [16, 'Warning: Virtual server [F]:0: protocol specified for fwmark - protocol will be ignored'],
    [19, 'Virtual server [F]:0: cannot use ha_suspend with fwmarks - clearing ha_suspend'],
    [20, 'WARNING - fwmark virtual server [F]:0, real server [10.0.0.3]:none:8080 has port specified - port will be ignored'],
  ])
  t.match(r.lvs.virtualServers, [
    { group: 'G', protocol: 'UDP', persistenceTimeout: 360, realServers: [{ port: 8080 }] },
    { group: 'F', protocol: undefined, haSuspend: false },
  ])
})

t.test('a second group of the same name is ignored, as keepalived takes the first', async (t) => {
  const { lvs, diags } = load('virtual_server_group G {\n10.0.0.1 80\n}\nvirtual_server_group G {\n10.0.0.2 80\n}')
  t.equal(lvs.virtualServerGroups.length, 1)
  t.match(diags, [{ code: 'KA_CONF_DUPLICATE', verdict: 'none', message: 'virtual_server_group G is already defined at line 1; this one is ignored' }])
})
