/** Generated checker-side configurations, right and wrong: parse(dump(parse(x))) = parse(x), and the canonical text adds no problem. */
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import t from 'tap'
import { memFiles } from '../helpers/config.js'
import { type Config, dumpConfig, loadConfig } from '../../src/config/config.js'
import type { Diagnostic } from '../../src/config/diagnostics.js'

const FILE = '/etc/keepalived/keepalived.conf'


function load(text: string): { config: Config; diags: Diagnostic[] } {
  const { config, diagnostics } = loadConfig(FILE, { files: memFiles({ [FILE]: text }), configId: 'test' })
  return { config, diags: diagnostics.list }
}

function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip)
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) if (k !== 'pos') out[k] = strip(v)
    return out
  }
  return value
}

const octet = fc.integer({ min: 1, max: 254 })
const ipv4 = fc.tuple(octet, octet).map(([a, b]) => `10.0.${a}.${b}`)
const ipv6 = fc.integer({ min: 1, max: 0xffff }).map((a) => `fd00::${a.toString(16)}`)
const port = fc.oneof(fc.constant(''), fc.constantFrom('80', '8080', '0', '99999'))
const timer = fc.constantFrom('1', '2.5', '0', '0.000001', '60', 'x')
const method = fc.constantFrom('NAT', 'DR', 'TUN', 'TUN type gue port 6080 csum', 'TUN type gre', 'TUN type ipip csum', 'BOGUS')

/** Some of `items`, in a random order. */
function some(items: fc.Arbitrary<string>[]): fc.Arbitrary<string> {
  return fc.shuffledSubarray(items).chain((picked) => (picked.length ? fc.tuple(...picked).map((ls) => ls.join('\n')) : fc.constant('')))
}

const common = [
  fc.constantFrom('retry 0', 'retry 3', 'retry -1'), timer.map((x) => `delay_before_retry ${x}`), timer.map((x) => `warmup ${x}`),
  timer.map((x) => `delay_loop ${x}`), fc.constantFrom('alpha', 'alpha no', 'log_all_failures'),
]
const connection = [
  fc.oneof(ipv4, ipv6).map((a) => `connect_ip ${a}`), fc.constantFrom('connect_port 81', 'connect_port 0'), ipv4.map((a) => `bindto ${a}`),
  fc.constantFrom('bind_port 4000', 'bind_if eth0', 'fwmark 3'), timer.map((x) => `connect_timeout ${x}`),
]
const url = some([
  fc.constantFrom('path /', 'path "/a b"'), fc.constantFrom('digest 0123456789abcdef0123456789abcdef', 'digest 12'),
  fc.constantFrom('status_code 200', 'status_code 200-299 404', 'status_code 99'), fc.constantFrom('virtualhost v.example', 'regex ^ok', 'regex_no_match', 'regex_options caseless'),
]).map((b) => `url {\n${b}\n}`)
const checker = fc.oneof(
  some([...common, ...connection]).map((b) => `TCP_CHECK {\n${b}\n}`),
  fc.tuple(fc.constantFrom('HTTP_GET', 'SSL_GET'), some([...common, ...connection, url, url, fc.constantFrom('nb_get_retry 2', 'http_protocol 1.1', 'fast_recovery', 'enable_sni', 'virtualhost h.example')]))
    .map(([k, b]) => `${k} {\n${b}\n}`),
  some([...common, fc.constantFrom('misc_path /bin/true', 'misc_path "/bin/x a" b'), fc.constantFrom('misc_timeout 5', 'misc_dynamic', 'user nobody')]).map((b) => `MISC_CHECK {\n${b}\n}`),
  some([...common, fc.constantFrom('helo_name h.example', 'host {\nconnect_ip 10.0.0.9\n}')]).map((b) => `SMTP_CHECK {\n${b}\n}`),
  some([...common, fc.constantFrom('type A', 'type aaaa', 'type ANY'), fc.constantFrom('name ok.example', 'name a.b')]).map((b) => `DNS_CHECK {\n${b}\n}`),
  some([...common, fc.constantFrom('payload ab 12', 'require_reply', 'require_reply xX', 'min_reply_length 300', 'max_reply_length 10')]).map((b) => `UDP_CHECK {\n${b}\n}`),
  some(common).map((b) => `PING_CHECK {\n${b}\n}`),
  some([fc.constant('track_file tf'), fc.constantFrom('weight 3', 'weight -2 reverse')]).map((b) => `FILE_CHECK {\n${b}\n}`),
  some([fc.constant('name b1'), fc.constant('alpha')]).map((b) => `BFD_CHECK {\n${b}\n}`),
)
const realServer = fc.tuple(fc.oneof(ipv4, ipv4, ipv6), port, some([
  fc.constantFrom('weight 0', 'weight 5', 'weight -1'), method.map((m) => `lvs_method ${m}`), fc.constantFrom('inhibit_on_failure', 'inhibit_on_failure off', 'alpha yes'),
  fc.constantFrom('notify_up /bin/up', 'notify_down "/bin/d x" root'), fc.constantFrom('uthreshold 10', 'lthreshold 1', 'smtp_alert', 'virtualhost r.example'),
  fc.constantFrom('retry 2', 'retry 0'), timer.map((x) => `delay_loop ${x}`), timer.map((x) => `connect_timeout ${x}`), checker, checker,
])).map(([a, p, b]) => `real_server ${a} ${p} {\n${b}\n}`)
const header = fc.oneof(
  fc.tuple(ipv4, port).map(([a, p]) => `${a} ${p}`), ipv6.map((a) => `${a} 443`),
  fc.constantFrom('fwmark 1', 'fwmark 2', 'group G', 'group V', 'group NONE'),
)
const virtualServer = fc.tuple(header, some([
  timer.map((x) => `delay_loop ${x}`), fc.constantFrom('lb_algo rr', 'lvs_sched sh', 'lvs_sched mh', 'lb_algo foo'), fc.constantFrom('sh-port', 'mh-fallback', 'flag-1', 'ops', 'hashed'),
  method.map((m) => `lb_kind ${m}`), fc.constantFrom('persistence_timeout', 'persistence_timeout 50', 'persistence_granularity 255.255.255.0', 'persistence_granularity 64'),
  fc.constantFrom('protocol TCP', 'protocol udp', 'protocol SCTP', 'protocol FOO'), fc.constantFrom('ha_suspend', 'alpha', 'omega', 'inhibit_on_failure', 'smtp_alert off'),
  fc.constantFrom('quorum 2', 'quorum 0', 'hysteresis 1', 'hysteresis 9', 'weight 4'), fc.constantFrom('quorum_up /bin/q', 'virtualhost v.example', 'ip_family inet6'),
  fc.tuple(fc.oneof(ipv4, ipv6), port).map(([a, p]) => `sorry_server ${a} ${p}`), fc.constantFrom('sorry_server_inhibit', 'sorry_server_lvs_method DR'),
  fc.constantFrom('retry 2', 'delay_before_retry 1', 'warmup 0', 'connect_timeout 3'), realServer, realServer, realServer,
])).map(([h, b]) => `virtual_server ${h} {\n${b}\n}`)
const group = fc.tuple(fc.constantFrom('G', 'V'), some([
  fc.constantFrom('10.1.1.1 80', '10.1.1.2-10 80', '10.1.2.0/29', '10.1.1.9-3 80', 'fd00::1-1f 443', 'fwmark 5', 'fwmark 6 inet', '10.1.1.300'),
  fc.constantFrom('10.2.0.1 8080', 'fwmark 7 inet6', '10.2.0.0/24 80'),
])).map(([n, b]) => `virtual_server_group ${n} {\n${b}\n}`)
const lvsConfig = fc.tuple(fc.array(group, { maxLength: 2 }), fc.array(virtualServer, { maxLength: 3 })).map(([gs, vss]) => [...gs, ...vss].join('\n'))

t.test('generated checker-side configurations survive dump → parse', async (t) => {
  fc.assert(
    fc.property(lvsConfig, (text) => {
      const original = load(text)
      const first = original.config
      const canonical = dumpConfig(first)
      const again = load(canonical)
      const same = isDeepStrictEqual(strip(again.config.lvs), strip(first.lvs))
      // Problems in the content itself (an impossible reply length, real servers that all weigh 0)
      // survive any spelling; the canonical text must not add one.
      const before = new Set(original.diags.map((d) => d.message))
      const clean = !again.diags.some((d) => d.verdict !== 'none' && d.context?.includes('virtual_server') && !before.has(d.message))
      if (!same || !clean || dumpConfig(again.config) !== canonical) t.fail('round trip', { text, canonical, diags: again.diags.filter((d) => d.verdict !== 'none') })
      return same && clean
    }),
    { numRuns: 300, seed: 2027 },
  )
  t.pass('300 generated configurations')
})
