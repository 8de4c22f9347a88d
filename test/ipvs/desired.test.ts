/** The desired IPVS table from real configuration text: services, destinations, the owned set and keepalived's names. */
import { readFileSync, readdirSync } from 'node:fs'
import t from 'tap'
import { loadText } from '../helpers/config.js'
import type { LvsConfig, VirtualServer } from '../../src/config/lvs/model.js'
import {
  clampWeight, desiredTable, destId, destOf, ipv4Netmask, ownedOf, rangeAddresses, rsText, serviceId, servicesOf, vsText,
} from '../../src/ipvs/index.js'
import { IPVS_SVC_FLAGS as F, serviceKeyText } from '../../src/net/ipvs-types.js'

const SAMPLES = '/usr/share/doc/keepalived/samples/'

type TestContext = Parameters<Parameters<typeof t.test>[0]>[0]

/** The LVS model of `text`; a configuration error fails the test, so a typo cannot pass unnoticed. */
function lvsOf(t: TestContext, text: string): LvsConfig {
  const r = loadText(text)
  t.same(r.diagnostics.list.filter((d) => d.severity === 'error').map((d) => d.message), [], 'the configuration has no errors')
  return r.config.lvs
}

function services(lvs: LvsConfig, i = 0) {
  return servicesOf(lvs.virtualServers[i]!, lvs.virtualServerGroups)
}

const texts = (lvs: LvsConfig, i = 0): string[] => services(lvs, i).map((s) => serviceKeyText(s.key))

/** A virtual server block with a NAT real server and no checker, `body` first. */
const vs = (header: string, body: string, rs = 'real_server 10.1.0.1 80 {\n}'): string =>
  `virtual_server ${header} {\n${body}\n${rs}\n}\n`

// Per sample, per virtual server: [service texts, scheduler, flags, timeout] (read off the sample text).
const P = F.PERSISTENT
const SAMPLE_SERVICES: Record<string, [string[], string, number, number][]> = {
  'keepalived.conf.HTTP_GET.port': [[['[192.168.200.100]:tcp:443'], 'rr', P, 50]],
  'keepalived.conf.IPv6': [[['[ae00::1]:tcp:80'], 'rr', P, 50]],
  'keepalived.conf.PING_CHECK': [[['[10.10.10.2]:udp:1358'], 'rr', P, 50]],
  'keepalived.conf.SMTP_CHECK': [[['[192.168.200.100]:tcp:25'], 'rr', 0, 0]],
  'keepalived.conf.SSL_GET': [[['[192.168.200.100]:tcp:443'], 'rr', P, 50], [['[192.168.200.100]:tcp:80'], 'rr', P, 50]],
  'keepalived.conf.UDP_CHECK': [[['[10.10.10.2]:udp:1358'], 'rr', P, 50]],
  'keepalived.conf.fwmark': [[['FWM 1'], 'rr', P, 900]],
  'keepalived.conf.inhibit': [[['[10.10.10.2]:tcp:1358'], 'rr', P, 50]],
  'keepalived.conf.misc_check': [[['[10.10.10.2]:tcp:1358'], 'rr', P, 50]],
  'keepalived.conf.misc_check_arg': [[['[10.10.10.2]:tcp:1358'], 'rr', P, 50]],
  'keepalived.conf.quorum': [[['[10.0.1.1]:tcp:80'], 'wrr', P, 900]],
  'keepalived.conf.sample': [[['[10.10.10.2]:tcp:1358'], 'rr', P, 50]],
  'keepalived.conf.status_code': [[['[192.168.200.100]:tcp:443'], 'rr', P, 50]],
  'keepalived.conf.virtual_server_group': [[[
    '[10.0.0.1]:tcp:8080', '[10.0.0.2]:tcp:80', '[192.168.200.1]:tcp:1358',
    ...[3, 4, 5, 6, 7, 8, 9, 10].map((n) => `[192.168.200.${n}]:tcp:80`), 'FWM 1', 'FWM 2',
  ], 'rr', P, 50]],
  'keepalived.conf.virtualhost': [[['[192.168.200.100]:tcp:80'], 'rr', P, 50]],
  'keepalived.conf.vrrp.lvs_syncd': [[['[192.168.200.19]:tcp:80'], 'rr', P, 50]],
}

t.test("every keepalived sample with a virtual_server gives the services its text names", async (t) => {
  const withServers = readdirSync(SAMPLES).filter((f) => f.startsWith('keepalived.conf.') && /^\s*virtual_server\s/m.test(readFileSync(SAMPLES + f, 'utf8')))
  t.same(withServers.sort(), Object.keys(SAMPLE_SERVICES).sort(), 'the table covers every such sample')
  for (const [file, expected] of Object.entries(SAMPLE_SERVICES)) {
    const lvs = loadText(readFileSync(SAMPLES + file, 'utf8')).config.lvs
    t.equal(lvs.virtualServers.length, expected.length, `${file}: virtual servers`)
    expected.forEach(([keys, scheduler, flags, timeout], i) => {
      const list = services(lvs, i)
      t.same(list.map((s) => serviceKeyText(s.key)), keys, `${file} #${i}: keys`)
      t.same(list.map((s) => [s.scheduler, s.flags, s.timeout, s.persistenceEngine]), keys.map(() => [scheduler, flags, timeout, undefined]), `${file} #${i}: attributes`)
    })
  }
})

t.test('sample details: IPv6, fwmark family, NAT real and sorry servers', async (t) => {
  const v6 = loadText(readFileSync(SAMPLES + 'keepalived.conf.IPv6', 'utf8')).config.lvs
  t.match(services(v6)[0], { key: { kind: 'address', family: 6, protocol: 'TCP', address: 'ae00::1', port: 80 }, netmask: 128 })
  t.same(destOf(v6.virtualServers[0]!.realServers[0]!, 1), {
    family: 6, address: 'ae00::10', port: 25, forwarding: 'NAT', weight: 1, upperThreshold: 0, lowerThreshold: 0,
    tunnelType: undefined, tunnelPort: undefined, tunnelChecksum: undefined,
  })
  const fwm = loadText(readFileSync(SAMPLES + 'keepalived.conf.fwmark', 'utf8')).config.lvs
  t.same(services(fwm)[0]!.key, { kind: 'fwmark', family: 4, fwmark: 1 })
  t.equal(services(fwm)[0]!.netmask, 0xffffffff)
  t.same(fwm.virtualServers[0]!.realServers.map((r) => destOf(r, r.weight, services(fwm)[0]!.key).port), [0, 0], 'NAT servers of a fwmark service keep port 0')
  const sample = loadText(readFileSync(SAMPLES + 'keepalived.conf.sample', 'utf8')).config.lvs
  const sorry = sample.virtualServers[0]!.sorryServer!
  t.match(destOf(sorry, 1, services(sample)[0]!.key), { address: '192.168.200.200', port: 1358, forwarding: 'NAT', weight: 1 })
})

t.test('groups: ranges, prefixes, address entries before fwmark entries, default UDP', async (t) => {
  const lvs = lvsOf(t, `virtual_server_group G {
fwmark 7
10.0.0.1-3 80
10.0.0.254-10.0.1.1 443
192.168.1.0/30 8080
}
${vs('group G', 'lvs_sched rr\nlvs_method NAT')}`)
  t.same(texts(lvs), [
    '[10.0.0.1]:udp:80', '[10.0.0.2]:udp:80', '[10.0.0.3]:udp:80',
    '[10.0.0.254]:udp:443', '[10.0.0.255]:udp:443', '[10.0.1.0]:udp:443', '[10.0.1.1]:udp:443',
    '[192.168.1.0]:udp:8080', '[192.168.1.1]:udp:8080', '[192.168.1.2]:udp:8080', '[192.168.1.3]:udp:8080',
    'FWM 7',
  ])
  t.ok(services(lvs).every((s) => s.scheduler === 'rr' && s.key.family === 4 && s.flags === 0 && s.timeout === 0))
})

t.test('IPv6 groups: the last group counts in hex; a prefix is every address; keepalived steps only the last 16 bits', async (t) => {
  const sample = readFileSync(SAMPLES + 'keepalived.conf.IPv6', 'utf8')
  const lvs = lvsOf(t, `${sample}\n${vs('group IPv6_group', 'protocol TCP\nlvs_method NAT', 'real_server ae00::10 25 {\n}')}`)
  t.same(texts(lvs, 1), [2, 3, 4, 5, 6, 7, 8, 9, 1].map((n) => `[ae00::${n}]:tcp:80`))
  const v6 = lvsOf(t, `virtual_server_group V {
2001:DB8::a-c 53
2001:db8:1::/126 53
fwmark 9
}
${vs('group V', 'protocol UDP\nlvs_method NAT', 'real_server 2001:db8::99 53 {\n}')}`)
  t.same(texts(v6), [
    '[2001:db8::a]:udp:53', '[2001:db8::b]:udp:53', '[2001:db8::c]:udp:53',
    '[2001:db8:1::]:udp:53', '[2001:db8:1::1]:udp:53', '[2001:db8:1::2]:udp:53', '[2001:db8:1::3]:udp:53',
    'FWM 9',
  ])
  t.same(services(v6).map((s) => [s.key.family, s.netmask]), services(v6).map(() => [6, 128]), 'a family-less fwmark takes the real servers\' family')
  t.same(rangeAddresses({ first: '2001:db8::fffe', last: '2001:db8::1:1' }), ['2001:db8::fffe', '2001:db8::ffff', '2001:db8::', '2001:db8::1'])
  t.same(rangeAddresses({ first: '10.0.0.5', last: '10.0.0.5' }), ['10.0.0.5'])
})

t.test('group fwmark family: the entry\'s, else the virtual server\'s, else IPv4', async (t) => {
  const groups = ['F1', 'F2', 'F3'].map((name) => `virtual_server_group ${name} {\nfwmark 1\nfwmark 2 inet6\n}\n`).join('')
  const lvs = lvsOf(t, `${groups}
${vs('group F1', 'lvs_method TUN', 'real_server 2001:db8::5 {\n}')}
${vs('group F2', 'lvs_method TUN\nip_family inet6', 'real_server 10.1.0.6 {\n}')}
${vs('group F3', 'lvs_method NAT')}`)
  t.same(services(lvs, 0).map((s) => s.key), [{ kind: 'fwmark', family: 4, fwmark: 1 }, { kind: 'fwmark', family: 6, fwmark: 2 }], 'tunnelled only: IPv4')
  t.same(services(lvs, 1).map((s) => s.key.family), [6, 6], 'ip_family')
  t.same(services(lvs, 2).map((s) => s.key.family), [4, 6], 'the NAT real server\'s family')
})

t.test('groups: port 0 makes the service persistent; granularity is reset as keepalived does for groups', async (t) => {
  const lvs = lvsOf(t, `virtual_server_group G {
10.0.0.9
fwmark 3
}
${vs('group G', 'protocol TCP\nlvs_method NAT\npersistence_granularity 255.255.255.0')}
${vs('10.0.0.20 80', 'protocol TCP\nlvs_method NAT\npersistence_granularity 255.255.255.0')}`)
  t.same(services(lvs, 0).map((s) => [serviceKeyText(s.key), s.flags, s.timeout, s.netmask]), [
    ['[10.0.0.9]:tcp:0', P, 360, 0xffffffff],
    ['FWM 3', P, 360, 0xffffffff],
  ])
  t.same(services(lvs, 1).map((s) => [s.flags, s.timeout, s.netmask]), [[P, 360, 0xffffff00]], 'a plain service keeps its granularity')
})

t.test('a group entry gives DR/TUN servers its port (0 for fwmark); NAT servers keep theirs', async (t) => {
  const lvs = lvsOf(t, `virtual_server_group G {
10.0.0.1 80
10.0.0.2 443
fwmark 3
}
${vs('group G', 'protocol TCP\nlvs_method DR\npersistence_timeout 60', 'real_server 10.1.0.1 {\n}\nreal_server 10.1.0.2 8080 {\nlvs_method NAT\n}')}`)
  const table = desiredTable(lvs, (v) => v.realServers.map((server) => ({ server, weight: server.weight })))
  t.same(table.map((e) => [serviceKeyText(e.service.key), e.dests.map((d) => `${d.address}:${d.port}/${d.forwarding}`)]), [
    ['[10.0.0.1]:tcp:80', ['10.1.0.1:80/DR', '10.1.0.2:8080/NAT']],
    ['[10.0.0.2]:tcp:443', ['10.1.0.1:443/DR', '10.1.0.2:8080/NAT']],
    ['FWM 3', ['10.1.0.1:0/DR', '10.1.0.2:8080/NAT']],
  ])
  const owned = ownedOf(lvs)
  t.same([...owned.services], table.map((e) => serviceId(e.service.key)))
  t.same([...owned.dests.get(serviceId(table[1]!.service.key))!], ['4/10.1.0.1/443', '4/10.1.0.2/8080'])
})

t.test('fwmark family: ip_family, a non-tunnelled server, the look of the granularity, tunnelled servers agreeing, else IPv4', async (t) => {
  const lvs = lvsOf(t, [
    vs('fwmark 1', 'lvs_method TUN\nip_family inet6', 'real_server 10.1.0.1 {\n}'),
    vs('fwmark 2', 'lvs_method NAT', 'real_server 2001:db8::1 {\n}'),
    vs('fwmark 3', 'lvs_method TUN', 'real_server 2001:db8::1 {\n}\nreal_server 2001:db8::2 {\n}'),
    vs('fwmark 4', 'lvs_method TUN', 'real_server 2001:db8::1 {\n}\nreal_server 10.1.0.2 {\n}'),
    vs('fwmark 5', 'lvs_method TUN\npersistence_granularity 64', 'real_server 10.1.0.1 {\n}'),
  ].join(''))
  t.same(lvs.virtualServers.map((_, i) => services(lvs, i)[0]!.key.family), [6, 6, 6, 4, 6])
  t.same(services(lvs, 4)[0], {
    key: { kind: 'fwmark', family: 6, fwmark: 5 }, scheduler: 'wlc', flags: P, timeout: 360, netmask: 64, persistenceEngine: undefined,
  })
})

t.test('persistence: timeout, granularity masks, engine only when persistent', async (t) => {
  const attrs = (body: string, header = '10.0.0.1 80', rs?: string) => {
    const s = services(lvsOf(t, vs(header, `protocol TCP\nlvs_method NAT\n${body}`, rs)))[0]!
    return [s.flags, s.timeout, s.netmask, s.persistenceEngine]
  }
  t.same(attrs(''), [0, 0, 0xffffffff, undefined], 'not persistent')
  t.same(attrs('persistence_timeout'), [P, 360, 0xffffffff, undefined], 'keyword alone: 360')
  t.same(attrs('persistence_timeout 120\npersistence_granularity 255.255.255.0'), [P, 120, 0xffffff00, undefined])
  t.same(attrs('persistence_granularity 255.255.0.0'), [P, 360, 0xffff0000, undefined], 'granularity implies 360')
  t.same(attrs('persistence_granularity 24'), [P, 360, 24, undefined], "inet_aton('24') is 0.0.0.24, not /24")
  t.same(attrs('persistence_timeout 60\npersistence_engine sip'), [P, 60, 0xffffffff, 'sip'])
  t.same(attrs('persistence_engine sip'), [0, 0, 0xffffffff, undefined], 'engine without persistence is not sent')
  const v6 = 'real_server 2001:db8::2 80 {\n}'
  t.same(attrs('persistence_timeout 60', '2001:db8::1 80', v6), [P, 60, 128, undefined])
  t.same(attrs('persistence_granularity 64', '2001:db8::1 80', v6), [P, 360, 64, undefined])
  t.same(attrs('', '10.0.0.1', undefined), [P, 360, 0xffffffff, undefined], 'port 0 needs persistence')
  t.equal(ipv4Netmask('0xffffff00'), 0xffffff00)
  t.equal(ipv4Netmask('255.255.255'), 0xffff00ff, 'three parts: the last fills two bytes')
  t.equal(ipv4Netmask('0377.0.0.0'), 0xff000000, 'octal')
  t.equal(ipv4Netmask('256.0.0.0'), undefined)
  t.equal(ipv4Netmask('1.2.3.4.5'), undefined)
  t.equal(ipv4Netmask('255.255.255.x'), undefined)
})

t.test('scheduler flags', async (t) => {
  const flags = (body: string) => services(lvsOf(t, vs('10.0.0.1 53', `lvs_method NAT\n${body}`)))[0]!.flags
  t.equal(flags('protocol UDP\nops'), F.ONEPACKET)
  t.equal(flags('protocol TCP\nops'), 0, 'ops needs UDP')
  t.equal(flags('protocol TCP\nflag-1\nflag-2\nflag-3'), F.SCHED1 | F.SCHED2 | F.SCHED3)
  t.equal(flags('protocol TCP\nlvs_sched sh\nsh-port'), F.SCHED2)
  t.equal(flags('protocol TCP\nlvs_sched sh\nsh-fallback'), F.SCHED1)
  t.equal(flags('protocol TCP\nlvs_sched mh\nmh-port\nmh-fallback'), F.SCHED1 | F.SCHED2)
  t.equal(services(lvsOf(t, vs('10.0.0.1 53', 'protocol TCP\nlvs_method NAT\nlvs_sched mh')))[0]!.scheduler, 'mh')
})

t.test('destinations: DR, TUN (ipip, gue, gre), thresholds, weights, canonical IPv6', async (t) => {
  const lvs = lvsOf(t, vs('10.0.0.1 80', 'protocol TCP\nlvs_method DR', [
    'real_server 10.1.0.1 {\n}',
    'real_server 10.1.0.2 {\nlvs_method TUN\n}',
    'real_server 2001:DB8:0:0::A {\nlvs_method TUN type gue port 6080 csum\n}',
    'real_server 10.1.0.4 {\nlvs_method TUN type gre\n}',
    'real_server 10.1.0.5 8080 {\nlvs_method NAT\nuthreshold 100\nlthreshold 10\nweight 3\n}',
  ].join('\n')))
  const key = services(lvs)[0]!.key
  const d = lvs.virtualServers[0]!.realServers.map((r) => destOf(r, r.weight, key))
  t.match(d[0], { address: '10.1.0.1', port: 80, forwarding: 'DR', tunnelType: undefined, tunnelChecksum: undefined })
  t.match(d[1], { forwarding: 'TUN', tunnelType: 'ipip', tunnelPort: undefined, tunnelChecksum: undefined })
  t.match(d[2], { family: 6, address: '2001:db8::a', port: 80, forwarding: 'TUN', tunnelType: 'gue', tunnelPort: 6080, tunnelChecksum: 'csum' })
  t.match(d[3], { tunnelType: 'gre', tunnelPort: undefined, tunnelChecksum: 'nocsum' })
  t.match(d[4], { port: 8080, forwarding: 'NAT', weight: 3, upperThreshold: 100, lowerThreshold: 10 })
  const rs = lvs.virtualServers[0]!.realServers[0]!
  t.same([-5, 0, 2.7, 3e9, NaN].map((w) => destOf(rs, w).weight), [0, 0, 2, 2147483647, 0])
  t.equal(clampWeight(2147483647), 2147483647)
  t.equal(destId(d[2]!), destId({ family: 6, address: '2001:db8:0::a', port: 80 }), 'identity ignores the spelling')
})

t.test('desiredTable: every service of every virtual server, each with its pool; shared services merge', async (t) => {
  const lvs = lvsOf(t, `virtual_server_group G {
10.0.0.1 80
10.0.0.2 80
}
${vs('group G', 'protocol TCP\nlvs_method NAT', 'real_server 10.1.0.1 80 {\n}\nreal_server 10.1.0.2 80 {\n}')}
${vs('10.0.0.3 80', 'protocol TCP\nlvs_method NAT\nsorry_server 10.9.0.1 80', 'real_server 10.1.0.1 80 {\n}')}
${vs('10.0.0.1 80', 'protocol TCP\nlvs_method NAT\nlvs_sched rr', 'real_server 10.1.0.7 80 {\n}')}`)
  const [group, plain, dup] = lvs.virtualServers as [VirtualServer, VirtualServer, VirtualServer]
  const pools = new Map([
    [group, [{ server: group.realServers[0]!, weight: 5 }, { server: group.realServers[1]!, weight: 0 }]],
    [plain, [{ server: plain.sorryServer!, weight: 1 }]],
    [dup, [{ server: dup.realServers[0]!, weight: 1 }]],
  ])
  const table = desiredTable(lvs, (v) => pools.get(v))
  t.same(table.map((e) => [serviceKeyText(e.service.key), e.service.scheduler, e.dests.map((d) => `${d.address}/${d.weight}`)]), [
    ['[10.0.0.1]:tcp:80', 'wlc', ['10.1.0.1/5', '10.1.0.2/0', '10.1.0.7/1']],
    ['[10.0.0.2]:tcp:80', 'wlc', ['10.1.0.1/5', '10.1.0.2/0']],
    ['[10.0.0.3]:tcp:80', 'wlc', ['10.9.0.1/1']],
  ])
  t.same(desiredTable(lvs, () => undefined).map((e) => e.dests.length), [0, 0, 0], 'no pool: the services stay, empty')
  const owned = ownedOf(lvs)
  t.same([...owned.dests.get(serviceId(table[2]!.service.key))!], ['4/10.1.0.1/80', '4/10.9.0.1/80'], 'real and sorry servers, in the pool or not')
})

t.test("keepalived's names: FMT_VS and FMT_RS", async (t) => {
  const read = (f: string) => loadText(readFileSync(SAMPLES + f, 'utf8')).config.lvs.virtualServers[0]!
  const sample = read('keepalived.conf.sample')
  t.equal(vsText(sample), '[10.10.10.2]:tcp:1358')
  t.equal(rsText(sample.realServers[0]!, sample), '[192.168.200.2]:tcp:1358')
  t.equal(rsText(sample.sorryServer!, sample), '[192.168.200.200]:tcp:1358')
  const fwm = read('keepalived.conf.fwmark')
  t.equal(vsText(fwm), 'FWM 1')
  t.equal(rsText(fwm.realServers[0]!, fwm), '[192.168.201.100]:none:0')
  t.equal(vsText(read('keepalived.conf.virtual_server_group')), '[VSG_1]:0')
  t.equal(vsText(read('keepalived.conf.IPv6')), '[ae00::1]:tcp:80')
  const v6 = lvsOf(t, vs('2001:DB8::0:1 53', 'protocol UDP\nlvs_method NAT', 'real_server 2001:DB8::2 53 {\n}')).virtualServers[0]!
  t.equal(vsText(v6), '[2001:db8::1]:udp:53')
  t.equal(rsText(v6.realServers[0]!, v6), '[2001:db8::2]:udp:53')
})
