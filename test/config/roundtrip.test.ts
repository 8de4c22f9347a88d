/**
 * `-d` prints canonical keepalived.conf; parsing it must give the same model.
 * fast-check generates configurations across every block family, valid values
 * mostly and wrong ones sometimes, and checks parse(dump(parse(x))) = parse(x).
 */
import fc from 'fast-check'
import t from 'tap'
import { type Config, dumpConfig, loadConfig } from '../../src/config/config.js'
import type { ConfigFiles } from '../../src/config/preprocess.js'

function parse(text: string): Config {
  const files: ConfigFiles = {
    read: (p) => {
      if (p !== '/k.conf') throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' })
      return text
    },
    glob: () => [],
  }
  return loadConfig('/k.conf', { configId: 'main', files, host: { interfaces: undefined }, random: () => 0 }).config
}

/** The model without source positions, which canonical text cannot keep. */
function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip)
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) if (k !== 'pos' && k !== 'files' && !k.endsWith('Pos')) out[k] = strip(v)
    return out
  }
  return value
}

const octet = fc.integer({ min: 1, max: 254 })
const ipv4 = fc.tuple(octet, octet, octet, octet).map((a) => a.join('.'))
const ipv6 = fc.tuple(fc.integer({ min: 1, max: 0xffff }), fc.integer({ min: 1, max: 0xffff })).map(([a, b]) => `fd00:${a.toString(16)}::${b.toString(16)}`)
const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,8}$/)
const timer = fc.oneof(fc.integer({ min: 1, max: 120 }).map(String), fc.integer({ min: 1, max: 99 }).map((n) => `0.${String(n).padStart(2, '0')}`))
const bool = fc.constantFrom('', ' on', ' off', ' true', ' no')
const iface = fc.constantFrom('eth0', 'eth1', 'bond0', 'eth0.100')
const script = fc.constantFrom('/usr/local/bin/notify.sh', '"/bin/echo a b"', '/bin/true root', '"/usr/bin/x --y" nobody nogroup')

/** One statement per generated line; `sometimes` adds a keyword with a wrong value. */
function lines(...gens: fc.Arbitrary<string>[]): fc.Arbitrary<string> {
  return fc.subarray(gens.map((g, i) => ({ g, i })), { minLength: 0 }).chain((picked) =>
    picked.length === 0 ? fc.constant('') : fc.tuple(...picked.map((p) => p.g)).map((ls) => ls.join('\n')),
  )
}

const globalDefs = lines(
  fc.array(fc.emailAddress(), { minLength: 1, maxLength: 3 }).map((es) => `notification_email {\n${es.join('\n')}\n}`),
  fc.emailAddress().map((e) => `notification_email_from ${e}`),
  fc.tuple(ipv4, fc.option(fc.integer({ min: 1, max: 65535 }))).map(([a, p]) => `smtp_server ${a}${p ? ` ${p}` : ''}`),
  timer.map((x) => `smtp_connect_timeout ${Math.max(1, Math.round(Number(x)))}`),
  name.map((n) => `router_id ${n}`),
  bool.map((b) => `checker_log_all_failures${b}`),
  fc.constantFrom('vrrp_strict', 'lvs_flush', 'enable_script_security', 'vrrp_skip_check_adv_addr', 'vrrp_check_unicast_src'),
  fc.integer({ min: 0, max: 20 }).map((n) => `vrrp_garp_master_delay ${n}`),
  fc.integer({ min: 1, max: 20 }).map((n) => `vrrp_garp_master_repeat ${n}`),
  timer.map((x) => `vrrp_garp_interval ${x}`),
  fc.constantFrom(2, 3).map((v) => `vrrp_version ${v}`),
  fc.tuple(iface, name, fc.integer({ min: 0, max: 255 })).map(([i, n, id]) => `lvs_sync_daemon ${i} ${n} id ${id}`),
  fc.constantFrom('max_auto_priority 10', 'vrrp_rt_priority 50', 'umask 0077'),
  fc.constantFrom('script_user root', 'script_user nobody nogroup'),
).map((body) => `global_defs {\n${body}\n}`)

const vrrpScript = fc.tuple(name, script, fc.integer({ min: 1, max: 10 }), fc.integer({ min: -50, max: 50 }), fc.integer({ min: 1, max: 5 }))
  .map(([n, s, i, w, r]) => `vrrp_script chk_${n} {\n script ${s}\n interval ${i}\n weight ${w}\n rise ${r}\n fall ${r}\n}`)

const vip = fc.tuple(ipv4, fc.option(fc.integer({ min: 8, max: 32 })), fc.option(iface), fc.option(fc.constantFrom('global', 'link', 'host')), fc.option(name))
  .map(([a, p, d, s, l]) => [a + (p ? `/${p}` : ''), d ? `dev ${d}` : '', s ? `scope ${s}` : '', l && d ? `label ${d}:${l.slice(0, 4)}` : ''].filter(Boolean).join(' '))

const vrrpInstance = fc.tuple(
  name, iface, fc.integer({ min: 1, max: 255 }),
  lines(
    fc.constantFrom('MASTER', 'BACKUP').map((s) => `state ${s}`),
    fc.integer({ min: 1, max: 254 }).map((p) => `priority ${p}`),
    fc.integer({ min: 1, max: 5 }).map((a) => `advert_int ${a}`),
    fc.string({ minLength: 1, maxLength: 10, unit: fc.constantFrom('a', 'b', '1', '2', 'x') }).map((p) => `authentication {\nauth_type PASS\nauth_pass ${p}\n}`),
    fc.array(vip, { minLength: 1, maxLength: 3 }).map((vs) => `virtual_ipaddress {\n${vs.join('\n')}\n}`),
    fc.array(ipv6, { minLength: 1, maxLength: 2 }).map((vs) => `virtual_ipaddress_excluded {\n${vs.join('\n')}\n}`),
    fc.constantFrom('nopreempt', 'preempt_delay 5', 'dont_track_primary', 'garp_master_delay 3', 'garp_master_refresh 10'),
    fc.tuple(ipv4, fc.array(ipv4, { minLength: 1, maxLength: 2 })).map(([s, ps]) => `unicast_src_ip ${s}\nunicast_peer {\n${ps.join('\n')}\n}`),
    fc.array(fc.tuple(iface, fc.option(fc.integer({ min: -50, max: 50 }))), { minLength: 1, maxLength: 2 }).map((ts) => `track_interface {\n${ts.map(([i, w]) => (w === null ? i : `${i} weight ${w}`)).join('\n')}\n}`),
    script.map((s) => `notify_master ${s}`),
    script.map((s) => `notify ${s}`),
    fc.constantFrom('use_vmac', 'use_vmac vrrp.51', 'kernel_rx_buf_size 8192'),
  ),
).map(([n, i, id, body]) => `vrrp_instance VI_${n} {\ninterface ${i}\nvirtual_router_id ${id}\n${body}\n}`)

const checker = fc.oneof(
  lines(fc.integer({ min: 1, max: 65535 }).map((p) => `connect_port ${p}`), timer.map((x) => `connect_timeout ${x}`), fc.integer({ min: 0, max: 5 }).map((r) => `retry ${r}`), timer.map((x) => `delay_before_retry ${x}`))
    .map((b) => `TCP_CHECK {\n${b}\n}`),
  fc.tuple(fc.constantFrom('HTTP_GET', 'SSL_GET'), fc.constantFrom('/', '/health', '/a b'), fc.option(fc.constantFrom('200', '200-299', '301 302')), fc.option(fc.stringMatching(/^[0-9a-f]{32}$/)))
    .map(([k, p, sc, dg]) => `${k} {\nurl {\npath ${p.includes(' ') ? `"${p}"` : p}\n${sc ? `status_code ${sc}\n` : ''}${dg ? `digest ${dg}\n` : ''}}\nnb_get_retry 2\n}`),
  fc.tuple(script, fc.boolean()).map(([s, d]) => `MISC_CHECK {\nmisc_path ${s}\nmisc_timeout 5\n${d ? 'misc_dynamic\n' : ''}}`),
  fc.constantFrom('PING_CHECK {\n}', 'SMTP_CHECK {\nhelo_name me.example\n}', 'DNS_CHECK {\ntype A\nname example.com\n}', 'UDP_CHECK {\npayload 0a0b\n}'),
)

const realServer = fc.tuple(ipv4, fc.option(fc.integer({ min: 1, max: 65535 })), fc.integer({ min: 0, max: 100 }), fc.array(checker, { maxLength: 2 }), fc.boolean())
  .map(([a, p, w, cs, inhibit]) => `real_server ${a}${p ? ` ${p}` : ''} {\nweight ${w}\n${inhibit ? 'inhibit_on_failure\n' : ''}${cs.join('\n')}\n}`)

const virtualServer = fc.tuple(
  fc.oneof(fc.tuple(ipv4, fc.integer({ min: 1, max: 65535 })).map(([a, p]) => `${a} ${p}`), fc.integer({ min: 1, max: 1000 }).map((m) => `fwmark ${m}`)),
  lines(
    timer.map((x) => `delay_loop ${x}`),
    fc.constantFrom('rr', 'wrr', 'lc', 'wlc', 'sh', 'dh', 'sed', 'nq', 'lblc', 'lblcr').map((s) => `lb_algo ${s}`),
    fc.constantFrom('NAT', 'DR', 'TUN').map((k) => `lb_kind ${k}`),
    fc.constantFrom('TCP', 'UDP', 'tcp').map((p) => `protocol ${p}`),
    fc.integer({ min: 1, max: 3600 }).map((s) => `persistence_timeout ${s}`),
    fc.constantFrom('ha_suspend', 'alpha', 'omega', 'quorum 2', 'hysteresis 1', 'virtualhost www.example.com'),
    fc.tuple(ipv4, fc.integer({ min: 1, max: 65535 })).map(([a, p]) => `sorry_server ${a} ${p}`),
  ),
  fc.array(realServer, { minLength: 0, maxLength: 3 }),
).map(([h, body, rss]) => `virtual_server ${h} {\n${body}\n${rss.join('\n')}\n}`)

const config = fc.tuple(fc.option(globalDefs), fc.array(vrrpScript, { maxLength: 2 }), fc.array(vrrpInstance, { maxLength: 3 }), fc.array(virtualServer, { maxLength: 3 }))
  .map(([g, ss, is, vs]) => [g ?? '', ...ss, ...is, ...vs].join('\n'))

t.test('parse(dump(parse(x))) equals parse(x) with positions stripped', async (t) => {
  fc.assert(
    fc.property(config, (text) => {
      const first = parse(text)
      const canonical = dumpConfig(first)
      const second = parse(canonical)
      t.same(strip(second), strip(first), 'same model', { text, canonical })
      return JSON.stringify(strip(second)) === JSON.stringify(strip(first))
    }),
    { numRuns: 200, seed: 20261121 },
  )
})

t.test('dump is a fixed point: dumping the re-parsed model gives the same text', async (t) => {
  fc.assert(
    fc.property(config, (text) => {
      const canonical = dumpConfig(parse(text))
      return dumpConfig(parse(canonical)) === canonical
    }),
    { numRuns: 100, seed: 7 },
  )
  t.pass('fixed point over 100 generated configs')
})
