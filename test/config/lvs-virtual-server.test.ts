/** virtual_server: headers, keywords, keepalived's defaults and corrections with its messages and lines. */
import t from 'tap'
import { memFiles } from '../helpers/config.js'
import { loadConfig } from '../../src/config/config.js'
import type { Diagnostic } from '../../src/config/diagnostics.js'
import type { VirtualServer } from '../../src/config/lvs/index.js'

const FILE = '/etc/keepalived/keepalived.conf'


function load(text: string) {
  const { config, diagnostics } = loadConfig(FILE, { files: memFiles({ [FILE]: text }), configId: 'test' })
  const diags = diagnostics.list.filter((d) => d.code !== 'KA_CONF_NOT_SUPPORTED')
  return { lvs: config.lvs, diags, counted: diags.filter((d) => d.verdict !== 'none') }
}

/** The only virtual server of `text`. */
function vs(text: string): VirtualServer {
  const { lvs } = load(text)
  if (lvs.virtualServers.length !== 1) throw new Error(`expected one virtual server, got ${lvs.virtualServers.length}`)
  return lvs.virtualServers[0]!
}

const HEAD = 'protocol TCP\nlvs_sched rr\nlvs_method NAT'
const RS = 'real_server 10.0.0.2 80 {\n}'

function at(d: Diagnostic | undefined): number | undefined {
  return d?.pos?.line
}

t.test('headers: address and port, address alone, fwmark, group', async (t) => {
  t.match(vs(`virtual_server 10.0.0.1 80 {\n${HEAD}\n${RS}\n}`), { address: '10.0.0.1', port: 80, fwmark: undefined, group: undefined })
  t.match(vs(`virtual_server 10.0.0.1 {\n${HEAD}\npersistence_timeout 50\n${RS}\n}`), { address: '10.0.0.1', port: 0, persistenceTimeout: 50 })
  t.match(vs(`virtual_server fwmark 7 {\nlvs_sched rr\nlvs_method DR\nreal_server 10.0.0.2 {\n}\n}`), { address: undefined, fwmark: 7, protocol: undefined })
  const g = load(`virtual_server_group G {\n10.0.0.1 80\n}\nvirtual_server group G {\n${HEAD}\n${RS}\n}`)
  t.match(g.lvs.virtualServers[0], { group: 'G', protocol: 'TCP' })
  t.same(g.counted, [])
})

t.test('a bad header skips the whole block, as keepalived does', async (t) => {
  const r = load(`virtual_server 10.0.0.300 80 {\n${HEAD}\nbogus_keyword\n${RS}\n}\nvirtual_server 10.0.0.1 99999 {\n}\nvirtual_server fwmark abc {\n}`)
  t.equal(r.lvs.virtualServers.length, 0)
  t.same(r.counted.map(at), [1, 9, 11], 'one error per header, nothing from inside the skipped block')
  t.match(r.counted[0]?.message, 'Invalid virtual server IP address/port 10.0.0.300/80 - skipping')
  t.match(r.counted[1]?.message, 'Invalid virtual server IP address/port 10.0.0.1/99999 - skipping')
})

t.test('every virtual_server keyword is typed', async (t) => {
  const v = vs(`virtual_server 10.0.0.1 80 {
delay_loop 2.5
lb_algo sh
sh-port
sh-fallback
flag-1
flag-2
flag-3
lb_kind TUN type gue port 6080 csum
persistence_timeout 100
persistence_granularity 255.255.255.0
persistence_engine sip
protocol sctp
ha_suspend
smtp_alert no
virtualhost www.example.com
snmp_name web
alpha
omega
quorum_up "/usr/bin/q up" root
quorum_down /usr/bin/qdown
quorum 2
hysteresis 1
weight 3
connect_timeout 4
retry 2
delay_before_retry 1.5
warmup 0
inhibit_on_failure
ip_family inet
${RS}
}`)
  t.match(v, {
    delayLoop: 2_500_000, lvsSched: 'sh', shPort: true, shFallback: true, flag1: true, flag2: true, flag3: true, mhPort: false, ops: false,
    lvsMethod: { kind: 'TUN', tunnelType: 'gue', tunnelPort: 6080, tunnelChecksum: 'csum' },
    persistenceTimeout: 100, persistenceGranularity: '255.255.255.0', persistenceEngine: 'sip', protocol: 'SCTP',
    haSuspend: true, smtpAlert: false, virtualhost: 'www.example.com', snmpName: 'web', alpha: true, omega: true,
    quorumUp: { command: '/usr/bin/q up', user: 'root', group: undefined }, quorumDown: { command: '/usr/bin/qdown' },
    quorum: 2, hysteresis: 1, weight: 3, connectTimeout: 4_000_000, retry: 2, delayBeforeRetry: 1_500_000, warmup: 0,
    inhibitOnFailure: true, ipFamily: 'inet',
  })
  t.equal(v.realServers[0]?.weight, 3, 'the virtual server weight is the real servers\' default')
})

t.test('keepalived defaults: wlc, NAT and UDP, each reported as keepalived does', async (t) => {
  const r = load(`virtual_server 10.0.0.1 80 {\ndelay_loop 6\n${RS}\n}`)
  const v = r.lvs.virtualServers[0]!
  t.match(v, { lvsSched: 'wlc', lvsMethod: { kind: 'NAT' }, protocol: 'UDP', delayLoop: 6_000_000, connectTimeout: 5_000_000, quorum: 1, hysteresis: 0, weight: 1 })
  t.same(r.counted.map((d) => d.message), [
    'Virtual server [10.0.0.1]:none:80: no protocol set - defaulting to UDP',
    "Virtual server [10.0.0.1]:udp:80: no scheduler set, setting default 'wlc'",
    'Virtual server [10.0.0.1]:udp:80: no forwarding method set, setting default NAT',
  ])
  t.same(r.counted.map(at), [1, 1, 3], 'protocol and scheduler on the header, the method on the real server that needed it')
  t.ok(r.counted.every((d) => d.severity === 'warning' && d.verdict === 'config'), 'corrected and counted, like keepalived -t (exit 5)')
  t.equal(vs(`virtual_server 10.0.0.1 80 {\n${HEAD}\n${RS}\n}`).delayLoop, 60_000_000, 'delay_loop 60 s')
})

t.test('lb_algo and lb_kind are silent aliases; bad values are keepalived errors', async (t) => {
  const r = load(`virtual_server 10.0.0.1 80 {\nprotocol TCP\nlb_algo foo\nlb_kind BOGUS\nlb_kind DR\n${RS}\n}`)
  t.match(r.lvs.virtualServers[0], { lvsSched: 'wlc', lvsMethod: { kind: 'DR' } })
  t.match(r.counted.find((d) => at(d) === 3)?.message, "Invalid lvs_scheduler 'foo' - ignoring")
  t.match(r.counted.find((d) => at(d) === 4)?.message, 'PARSER : unknown [BOGUS] routing method for virtual server.')
  t.notOk(r.diags.some((d) => d.code === 'KA_CONF_DEPRECATED'), 'no deprecation message for lb_algo / lb_kind')
  t.match(vs(`virtual_server 10.0.0.1 80 {\nprotocol TCP\nlvs_sched twos\nlvs_method NAT\n${RS}\n}`), { lvsSched: 'twos' })
})

t.test('tunnel options are checked as keepalived checks them', async (t) => {
  const cases: [string, string | undefined][] = [
    ['TUN', undefined],
    ['TUN type ipip', undefined],
    ['TUN type gre csum', undefined],
    ['TUN type gue', 'gue tunnels require port, otherwise cannot have port.'],
    ['TUN type ipip csum', 'ipip tunnels do not support checksum option.'],
    ['TUN type gre remcsum', 'gre tunnels do not support remote checksum option.'],
    ['TUN type vxlan', 'Unknown tunnel type vxlan for virtual server.'],
    ['DR extra', 'Invalid tunnel option extra for virtual server.'],
  ]
  for (const [method, message] of cases) {
    const r = load(`virtual_server 10.0.0.1 80 {\nprotocol TCP\nlvs_sched rr\nlvs_method ${method}\n${RS}\n}`)
    if (message) t.equal(r.counted.find((d) => at(d) === 4)?.message, message, method)
    else t.same(r.counted, [], method)
  }
  t.match(vs(`virtual_server 10.0.0.1 80 {\nprotocol TCP\nlvs_sched rr\nlvs_method TUN\n${RS}\n}`).lvsMethod, { kind: 'TUN', tunnelType: 'ipip', tunnelChecksum: 'nocsum' })
})

t.test('persistence: keyword alone is 360, a granularity implies it, port 0 forces it', async (t) => {
  t.equal(vs(`virtual_server 10.0.0.1 80 {\n${HEAD}\npersistence_timeout\n${RS}\n}`).persistenceTimeout, 360)
  t.equal(vs(`virtual_server 10.0.0.1 80 {\n${HEAD}\npersistence_granularity 255.255.0.0\n${RS}\n}`).persistenceTimeout, 360)
  t.equal(vs(`virtual_server 10.0.0.1 80 {\n${HEAD}\npersistence_timeout 30\npersistence_granularity 255.255.0.0\n${RS}\n}`).persistenceTimeout, 30)
  const r = load(`virtual_server 10.0.0.1 {\n${HEAD}\n${RS}\n}`)
  t.equal(r.lvs.virtualServers[0]?.persistenceTimeout, 360)
  t.match(r.counted[0], { line: undefined, message: 'Virtual server [10.0.0.1]:tcp:0: zero port only valid for persistent services - setting', verdict: 'config' })
  const bad = load(`virtual_server 10.0.0.1 80 {\n${HEAD}\npersistence_timeout 0\npersistence_granularity 129\n${RS}\n}`)
  t.same(bad.counted.map(at), [5], 'keepalived reads 129 as the IPv4 netmask 0.0.0.129')
  t.equal(bad.diags.find((d) => at(d) === 6)?.verdict, 'none')
  const v6 = load(`virtual_server fd00::1 80 {\n${HEAD}\npersistence_granularity 129\n${RS.replace('10.0.0.2', 'fd00::2')}\n}`)
  t.equal(v6.counted[0]?.message, 'Invalid IPv6 persistence_granularity specified - 129')
})

t.test('fwmark services: protocol ignored (reported on the protocol line), DR/TUN ports cleared', async (t) => {
  const r = load(`virtual_server fwmark 1 {\nlvs_sched rr\nlvs_method DR\nprotocol TCP\nreal_server 10.0.0.2 80 {\n}\nreal_server 10.0.0.3 8080 {\nlvs_method NAT\n}\n}`)
  const v = r.lvs.virtualServers[0]!
  t.equal(v.protocol, undefined)
  t.same(v.realServers.map((s) => s.port), [0, 8080], 'NAT keeps its port')
  t.same(r.counted.map((d) => [at(d), d.message]), [
    [4, 'Warning: Virtual server FWM 1: protocol specified for fwmark - protocol will be ignored'],
    [5, 'WARNING - fwmark virtual server FWM 1, real server [10.0.0.2]:none:80 has port specified - clearing'],
  ])
  const ha = load(`virtual_server fwmark 1 {\nlvs_sched rr\nlvs_method DR\nha_suspend\n${RS}\n}`)
  t.equal(ha.lvs.virtualServers[0]?.haSuspend, false)
  t.match(ha.counted[0], { line: undefined, message: 'Virtual server FWM 1: cannot use ha_suspend with fwmarks - clearing ha_suspend' })
  t.equal(at(ha.counted[0]), 4)
})

t.test('ops needs UDP', async (t) => {
  const r = load(`virtual_server 10.0.0.1 80 {\n${HEAD}\nops\n${RS}\n}`)
  t.equal(r.lvs.virtualServers[0]?.ops, false)
  t.same(r.counted.map((d) => [at(d), d.message]), [[5, 'Virtual server [10.0.0.1]:tcp:80: one packet scheduling requires UDP - resetting']])
  t.equal(vs(`virtual_server 10.0.0.1 53 {\nprotocol UDP\nlvs_sched rr\nlvs_method NAT\nops\n${RS}\n}`).ops, true)
})

t.test('quorum is reduced to the total weight and hysteresis kept below it', async (t) => {
  const r = load(`virtual_server 10.0.0.1 80 {\n${HEAD}\nquorum 5\nhysteresis 5\nreal_server 10.0.0.2 80 {\nweight 2\n}\nreal_server 10.0.0.3 80 {\nweight 0\n}\n}`)
  t.match(r.lvs.virtualServers[0], { quorum: 2, hysteresis: 1 })
  t.same(r.counted.map((d) => [at(d), d.message]), [
    [5, 'Warning - quorum 5 for [10.0.0.1]:tcp:80 exceeds total weight of real servers 2, reducing quorum to 2'],
    [6, 'Virtual server [10.0.0.1]:tcp:80: hysteresis 5 >= quorum 2; setting hysteresis to 1'],
  ])
  const q0 = load(`virtual_server 10.0.0.1 80 {\n${HEAD}\nquorum 0\n${RS}\n}`)
  t.equal(q0.lvs.virtualServers[0]?.quorum, 1, 'keepalived replaces a bad quorum by 1')
  t.equal(at(q0.counted[0]), 5)
})

t.test('scheduler flags depend on the scheduler set before them', async (t) => {
  const r = load(`virtual_server 10.0.0.1 80 {\n${HEAD}\nsh-port\nmh-port\nhashed\n${RS}\n}`)
  t.same(r.counted.map((d) => d.message), ['sh-port only applies to sh scheduler - ignoring', 'mh-port only applies to sh scheduler - ignoring', 'hashed only applies to sh scheduler - ignoring'])
  const sh = load(`virtual_server 10.0.0.1 80 {\nprotocol TCP\nlvs_sched sh\nlvs_method NAT\nmh-port\nsh-port\n${RS}\n}`)
  t.match(sh.lvs.virtualServers[0], { shPort: true, mhPort: false })
  t.same(sh.counted, [], 'mh-port under sh is dropped silently by keepalived')
  t.equal(sh.diags.find((d) => d.code === 'KA_CONF_IGNORED')?.verdict, 'none', 'we still say so')
})

t.test('virtual_server flags ignore their value: alpha no turns alpha on', async (t) => {
  const r = load(`virtual_server 10.0.0.1 80 {\n${HEAD}\nalpha no\n${RS}\n}`)
  t.equal(r.lvs.virtualServers[0]?.alpha, true)
  t.same(r.counted, [])
  t.match(r.diags[0], { code: 'KA_CONF_SURPRISE', verdict: 'none' })
})

t.test('sorry server: inhibit and method must follow it; ports follow the real-server rules', async (t) => {
  const r = load(`virtual_server 10.0.0.1 80 {\nprotocol TCP\nlvs_sched rr\nlvs_method DR\nsorry_server_inhibit\nsorry_server 10.0.0.9 8080\nsorry_server_inhibit\n${RS}\n}`)
  t.match(r.lvs.virtualServers[0]?.sorryServer, { address: '10.0.0.9', port: 80, inhibit: true, lvsMethod: { kind: 'DR' } })
  t.same(r.counted.map((d) => [at(d), d.message]), [
    [5, 'Ignoring sorry_server inhibit used before or without sorry_server'],
    [6, "WARNING - virtual server [10.0.0.1]:tcp:80 and sorry server ports don't match - resetting"],
  ])
  const fam = load(`virtual_server 10.0.0.1 80 {\n${HEAD}\nsorry_server fd00::9 80\n${RS}\n}`)
  t.equal(fam.lvs.virtualServers[0]?.sorryServer, undefined)
  t.match(fam.counted[0], { message: "Address family of virtual server and sorry server fd00::9 don't match - skipping sorry server." })
  t.equal(at(fam.counted[0]), 8, 'at the closing brace, as keepalived')
  const inhibit = load(`virtual_server 10.0.0.1 80 {\n${HEAD}\nsorry_server 10.0.0.2 80\nreal_server 10.0.0.2 80 {\ninhibit_on_failure\n}\n}`)
  t.equal(inhibit.lvs.virtualServers[0]?.sorryServer?.inhibit, true)
  t.equal(inhibit.counted[0]?.message, 'Virtual server [10.0.0.1]:tcp:80: real server [10.0.0.2]:tcp:80 matches sorry server, but inhibit setting differs, setting on sorry server')
})

t.test('a virtual server without real servers is ignored, reported at its closing brace', async (t) => {
  const r = load(`virtual_server 10.0.0.1 80 {\n${HEAD}\nreal_server 10.0.0.300 80 {\n}\n}`)
  t.equal(r.lvs.virtualServers.length, 0)
  t.same(r.counted.map((d) => [at(d), d.message]), [
    [5, 'Invalid real server ip address/port 10.0.0.300/80 - skipping'],
    [7, 'Virtual server [10.0.0.1]:tcp:80 has no real servers - ignoring'],
  ])
})

t.test('the same service twice is an error keepalived misses', async (t) => {
  const r = load(`virtual_server 10.0.0.1 80 {\n${HEAD}\n${RS}\n}\nvirtual_server 10.0.0.1 80 {\nprotocol tcp\nlvs_sched rr\nlvs_method NAT\nreal_server 10.0.0.3 80 {\n}\n}\nvirtual_server 10.0.0.1 80 {\nprotocol UDP\n${RS}\nlvs_sched rr\nlvs_method NAT\n}`)
  const dup = r.diags.filter((d) => d.code === 'KA_CONF_DUPLICATE')
  t.equal(dup.length, 1, 'UDP on the same port is another service')
  t.match(dup[0], { severity: 'error', verdict: 'none', message: 'virtual server [10.0.0.1]:tcp:80 is already defined at line 1' })
  t.equal(at(dup[0]), 8)
})

t.test('unknown keywords, with hints where keepalived surprises', async (t) => {
  const r = load(`virtual_server 10.0.0.1 80 {\n${HEAD}\nnat_mask 255.255.255.0\nnb_get_retry 3\nTCP_CHECK {\n}\n${RS}\n}`)
  t.same(r.counted.map((d) => [at(d), d.code]), [[5, 'KA_CONF_UNKNOWN_KEYWORD'], [6, 'KA_CONF_UNKNOWN_KEYWORD'], [7, 'KA_CONF_UNKNOWN_BLOCK']])
  t.match(r.counted[0]?.hint, /removed in keepalived 1\.x/)
  t.match(r.counted[2]?.hint, /inside a real_server/)
})

t.test('diagnostics name the enclosing block', async (t) => {
  const r = load(`virtual_server 10.0.0.1 80 {\n${HEAD}\nreal_server 10.0.0.2 80 {\nTCP_CHECK {\nbogus 1\n}\n}\n}`)
  t.equal(r.counted[0]?.context, 'TCP_CHECK of real_server 10.0.0.2 80 of virtual_server 10.0.0.1 80')
})
