/** real_server: keywords, inheritance from the virtual server, port rules, duplicates, address families. */
import t from 'tap'
import { memFiles } from '../helpers/config.js'
import { loadConfig } from '../../src/config/config.js'
import type { Diagnostic } from '../../src/config/diagnostics.js'
import type { RealServer } from '../../src/config/lvs/index.js'

const FILE = '/etc/keepalived/keepalived.conf'


function load(text: string) {
  const { config, diagnostics } = loadConfig(FILE, { files: memFiles({ [FILE]: text }), configId: 'test' })
  const diags = diagnostics.list.filter((d) => d.code !== 'KA_CONF_NOT_SUPPORTED')
  return { lvs: config.lvs, diags, counted: diags.filter((d) => d.verdict !== 'none') }
}

function at(d: Diagnostic | undefined): number | undefined {
  return d?.pos?.line
}

/** The real servers of a single `virtual_server 10.0.0.1 80` with `head` lines (4 lines before the first real_server). */
function service(head: string, body: string) {
  const r = load(`virtual_server 10.0.0.1 80 {\n${head}\n${body}\n}`)
  return { ...r, servers: (r.lvs.virtualServers[0]?.realServers ?? []) as readonly RealServer[] }
}

const NAT = 'protocol TCP\nlvs_sched rr\nlvs_method NAT'
const DR = 'protocol TCP\nlvs_sched rr\nlvs_method DR'

t.test('every real_server keyword is typed', async (t) => {
  const { servers, counted } = service(NAT, `real_server 10.0.0.2 8080 {
weight 3
lvs_method DR
inhibit_on_failure
alpha no
notify_up "/bin/echo up"
notify_down /bin/down user grp
uthreshold 100
lthreshold 10
smtp_alert off
virtualhost rs.example.com
snmp_name rs1
connect_timeout 2
retry 4
delay_before_retry 0.5
warmup 3
delay_loop 7
}`)
  t.match(servers[0], {
    address: '10.0.0.2', port: 80, weight: 3, lvsMethod: { kind: 'DR' }, inhibitOnFailure: true, alpha: false,
    notifyUp: { command: '/bin/echo up', user: undefined }, notifyDown: { command: '/bin/down', user: 'user', group: 'grp' },
    uthreshold: 100, lthreshold: 10, smtpAlert: false, virtualhost: 'rs.example.com', snmpName: 'rs1',
    connectTimeout: 2_000_000, retry: 4, delayBeforeRetry: 500_000, warmup: 3_000_000, delayLoop: 7_000_000, checkers: [],
  })
  t.same(counted.map((d) => d.message), ["WARNING - virtual server [10.0.0.1]:tcp:80 and real server [10.0.0.2]:tcp:8080 ports don't match - resetting"])
})

t.test('defaults come from the virtual server', async (t) => {
  const { servers } = service(`${NAT}\nweight 5\ninhibit_on_failure\nalpha`, 'real_server 10.0.0.2 80 {\n}\nreal_server 10.0.0.3 80 {\nweight 1\ninhibit_on_failure off\nalpha off\n}')
  t.match(servers[0], { weight: 5, inhibitOnFailure: true, alpha: true, lvsMethod: { kind: 'NAT' }, smtpAlert: undefined })
  t.match(servers[1], { weight: 1, inhibitOnFailure: false, alpha: false })
  const plain = service(NAT, 'real_server 10.0.0.2 80 {\n}').servers[0]
  t.match(plain, { weight: 1, inhibitOnFailure: false, alpha: false, retry: undefined, delayLoop: undefined })
})

t.test('NAT: a real server without a port takes the service port', async (t) => {
  const { servers, counted } = service(NAT, 'real_server 10.0.0.2 {\n}\nreal_server 10.0.0.3 8080 {\n}')
  t.same(servers.map((s) => s.port), [80, 8080])
  t.same(counted, [])
})

t.test('DR and TUN: ports are reset to the service port with keepalived\'s warning on the real server', async (t) => {
  const { servers, counted } = service(DR, 'real_server 10.9.0.2 8080 {\n}\nreal_server 10.9.0.3 {\n}\nreal_server 10.9.0.4 80 {\n}')
  t.same(servers.map((s) => s.port), [80, 80, 80])
  t.same(counted.map((d) => [at(d), d.severity, d.verdict, d.message]), [
    [5, 'warning', 'config', "WARNING - virtual server [10.0.0.1]:tcp:80 and real server [10.9.0.2]:tcp:8080 ports don't match - resetting"],
  ])
  t.match(counted[0]?.hint, /use NAT/)
  t.equal(counted[0]?.context, 'real_server 10.9.0.2 8080 of virtual_server 10.0.0.1 80')
  const tun = service('protocol UDP\nlvs_sched rr\nlvs_method TUN', 'real_server 10.9.0.2 53 {\n}\nreal_server 10.9.0.3 5353 {\nlvs_method NAT\n}')
  t.same(tun.servers.map((s) => [s.lvsMethod.kind, s.port]), [['TUN', 80], ['NAT', 5353]])
})

t.test('duplicates are removed as keepalived does, before ports are filled in', async (t) => {
  const { servers, counted, diags } = service(NAT, 'real_server 10.0.0.5 {\n}\nreal_server 10.0.0.5 {\nweight 9\n}\nreal_server 10.0.0.5 80 {\n}')
  t.same(counted.map((d) => [at(d), d.message]), [[7, 'VS [10.0.0.1]:tcp:80: real server [10.0.0.5]:tcp:0 is duplicated - removing second rs']])
  t.equal(servers.length, 1, 'the third one duplicates the first once its port is filled in')
  const late = diags.find((d) => d.code === 'KA_CONF_DUPLICATE')
  t.match(late, { severity: 'error', verdict: 'none', message: 'real server 10.0.0.5 port 80 is the same IPVS destination as the one at line 5' })
  t.equal(at(late), 10)
  const v6 = service('protocol TCP\nlvs_sched rr\nlvs_method NAT', '')
  t.equal(v6.servers.length, 0)
})

t.test('IPv6 addresses are compared, not their spelling', async (t) => {
  const r = load('virtual_server fd00::1 80 {\nprotocol TCP\nlvs_sched rr\nlvs_method NAT\nreal_server fd00::2 80 {\n}\nreal_server fd00:0::2 80 {\n}\n}')
  t.equal(r.lvs.virtualServers[0]?.realServers.length, 1)
  t.match(r.counted[0]?.message, /is duplicated - removing second rs/)
})

t.test('a real server of the other address family is skipped, at its closing brace', async (t) => {
  const { servers, counted } = service(NAT, 'real_server 10.0.0.2 80 {\n}\nreal_server fe80::1 80 {\n}\nreal_server fd00::3 80 {\nlvs_method TUN\n}')
  t.same(servers.map((s) => s.address), ['10.0.0.2', 'fd00::3'], 'tunnelled real servers may differ')
  t.same(counted.map((d) => [at(d), d.message]), [[8, "Address family of virtual server and real server fe80::1 don't match - skipping real server."]])
})

t.test('a fwmark service takes its family from its first real server', async (t) => {
  const r = load('virtual_server fwmark 9 {\nlvs_sched rr\nlvs_method NAT\npersistence_granularity 64\nreal_server 10.0.0.3 80 {\n}\n}')
  t.equal(r.lvs.virtualServers.length, 0, 'the granularity made it IPv6, so the IPv4 real server is skipped')
  t.same(r.counted.map(at), [6, 7])
})

t.test('bad real_server headers and values', async (t) => {
  const { counted, servers } = service(NAT, 'real_server 10.0.0.300 80 {\nweight 2\n}\nreal_server 10.0.0.3 99999 {\n}\nreal_server 10.0.0.4 80 {\nweight -1\nretry 0\nnotify_up /bin/a\nnotify_up /bin/b\n}')
  t.same(counted.map((d) => [at(d), d.message]), [
    [5, 'Invalid real server ip address/port 10.0.0.300/80 - skipping'],
    [8, 'Invalid real server ip address/port 10.0.0.3/99999 - skipping'],
    [11, "weight: number '-1' outside range [0, 2147483647]"],
    [12, "retry: number '0' outside range [1, 4294967295]"],
    [14, 'notify_up script already specified - ignoring /bin/b'],
  ])
  t.match(servers[0], { address: '10.0.0.4', weight: 1, notifyUp: { command: '/bin/a' } })
})

t.test('hints for keywords that belong elsewhere', async (t) => {
  const { counted } = service(NAT, 'real_server 10.0.0.2 80 {\nlb_algo rr\nconnect_port 80\nnb_get_retry 2\n}')
  t.same(counted.map((d) => d.code), ['KA_CONF_UNKNOWN_KEYWORD', 'KA_CONF_UNKNOWN_KEYWORD', 'KA_CONF_UNKNOWN_KEYWORD'])
  t.match(counted.map((d) => d.hint), [/virtual_server block/, /checker block/, /retry/])
})

t.test('a real server with an empty checker block is fine', async (t) => {
  const { servers, diags } = service(NAT, 'real_server 10.0.0.2 80 {\nTCP_CHECK {\n}\n}')
  t.same(diags, [])
  t.equal(servers[0]?.checkers.length, 1)
})
