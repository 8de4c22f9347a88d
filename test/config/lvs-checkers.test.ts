/** Checkers: each kind's keywords, the inherited defaults keepalived resolves, and its messages. */
import t from 'tap'
import { memFiles } from '../helpers/config.js'
import { loadConfig } from '../../src/config/config.js'
import type { Diagnostic } from '../../src/config/diagnostics.js'
import type { Checker } from '../../src/config/lvs/index.js'

const FILE = '/etc/keepalived/keepalived.conf'


function load(text: string) {
  const { config, diagnostics } = loadConfig(FILE, { files: memFiles({ [FILE]: text }), configId: 'test' })
  const diags = diagnostics.list.filter((d) => d.code !== 'KA_CONF_NOT_SUPPORTED')
  return { config, lvs: config.lvs, diags, counted: diags.filter((d) => d.verdict !== 'none') }
}

function at(d: Diagnostic | undefined): number | undefined {
  return d?.pos?.line
}

/**
 * `checkers` inside real_server 10.0.0.2 80 of virtual_server 10.0.0.1 80; the
 * first checker line is line 6. `vsExtra`/`rsExtra` go before the real server /
 * before the checkers and shift those lines.
 */
function checkers(body: string, opts: { vsExtra?: string; rsExtra?: string; global?: string } = {}) {
  const lines = [
    ...(opts.global ? [`global_defs {\n${opts.global}\n}`] : []),
    'virtual_server 10.0.0.1 80 {',
    'protocol TCP',
    'lvs_sched rr',
    'lvs_method NAT',
    ...(opts.vsExtra ? [opts.vsExtra] : []),
    'real_server 10.0.0.2 80 {',
    ...(opts.rsExtra ? [opts.rsExtra] : []),
    body,
    '}',
    '}',
  ]
  const r = load(lines.join('\n'))
  return { ...r, list: (r.lvs.virtualServers[0]?.realServers[0]?.checkers ?? []) as readonly Checker[] }
}

function first<K extends Checker['kind']>(list: readonly Checker[], kind: K): Checker & { kind: K } {
  const c = list.find((x): x is Checker & { kind: K } => x.kind === kind)
  if (!c) throw new Error(`no ${kind}`)
  return c
}

t.test('TCP_CHECK: common keywords, resolved defaults', async (t) => {
  const { list, counted } = checkers(`TCP_CHECK {
connect_ip 10.0.0.22
connect_port 8080
bindto 10.0.0.1
bind_port 4000
bind_if eth0
connect_timeout 1.25
fwmark 7
retry 0
delay_before_retry 2
warmup 1
delay_loop 3
alpha yes
log_all_failures
}
TCP_CHECK {
}`)
  t.same(counted, [])
  t.match(list[0], {
    kind: 'TCP_CHECK', connectIp: '10.0.0.22', connectPort: 8080, bindto: '10.0.0.1', bindPort: 4000, bindIf: 'eth0',
    connectTimeout: 1_250_000, fwmark: 7, retry: 0, delayBeforeRetry: 2_000_000, warmup: 1_000_000, delayLoop: 3_000_000,
    alpha: true, logAllFailures: true,
  })
  t.same(list[1], {
    kind: 'TCP_CHECK', pos: list[1]!.pos, retry: 1, delayBeforeRetry: 1_000_000, warmup: 60_000_000, delayLoop: 60_000_000,
    alpha: false, logAllFailures: false, connectIp: undefined, connectPort: undefined, bindto: undefined, bindPort: undefined,
    bindIf: undefined, connectTimeout: 5_000_000, fwmark: undefined,
  }, 'an empty TCP_CHECK: retry 1, delay_before_retry 1 s, connect_timeout 5 s, delay_loop and warmup 60 s')
})

t.test('inheritance: checker, then real server, then virtual server, then the checker default', async (t) => {
  const { list } = checkers('TCP_CHECK {\n}\nHTTP_GET {\nurl {\npath /\n}\n}\nDNS_CHECK {\n}\nMISC_CHECK {\nmisc_path /bin/true\n}\nTCP_CHECK {\nretry 9\n}', {
    vsExtra: 'delay_loop 10\nconnect_timeout 4\nretry 2\nalpha',
    rsExtra: 'delay_before_retry 0.5\nwarmup 3',
  })
  t.match(list[0], { retry: 2, delayBeforeRetry: 500_000, warmup: 3_000_000, delayLoop: 10_000_000, connectTimeout: 4_000_000, alpha: true })
  t.match(list[1], { kind: 'HTTP_GET', retry: 2, delayBeforeRetry: 500_000 })
  t.match(list[2], { kind: 'DNS_CHECK', retry: 2 })
  t.match(list[3], { kind: 'MISC_CHECK', retry: 2 })
  t.match(list[4], { retry: 9 })
  const plain = checkers('HTTP_GET {\nurl {\npath /\n}\n}\nSSL_GET {\nurl {\npath /\n}\n}\nDNS_CHECK {\n}\nMISC_CHECK {\nmisc_path /bin/true\n}\nSMTP_CHECK {\n}\nUDP_CHECK {\n}\nPING_CHECK {\n}', { vsExtra: 'delay_loop 6' }).list
  t.same(plain.map((c) => 'retry' in c && [c.kind, c.retry, c.delayBeforeRetry, c.warmup]), [
    ['HTTP_GET', 1, 3_000_000, 6_000_000],
    ['SSL_GET', 1, 3_000_000, 6_000_000],
    ['DNS_CHECK', 3, 6_000_000, 6_000_000],
    ['MISC_CHECK', 0, 1_000_000, 6_000_000],
    ['SMTP_CHECK', 1, 1_000_000, 6_000_000],
    ['UDP_CHECK', 1, 1_000_000, 6_000_000],
    ['PING_CHECK', 1, 1_000_000, 6_000_000],
  ], 'per-kind defaults; DNS waits delay_loop before a retry')
  const global = checkers('TCP_CHECK {\n}\nTCP_CHECK {\nlog_all_failures off\n}', { global: 'checker_log_all_failures' }).list
  t.same(global.map((c) => c.kind === 'TCP_CHECK' && c.logAllFailures), [true, true], 'keepalived ORs global checker_log_all_failures with the checker\'s')
})

t.test('nb_get_retry: a deprecated alias in HTTP_GET, an unknown keyword in TCP_CHECK', async (t) => {
  const http = checkers('HTTP_GET {\nnb_get_retry 3\nurl {\npath /\n}\n}')
  t.equal(first(http.list, 'HTTP_GET').retry, 3)
  t.same(http.counted.map((d) => [at(d), d.severity, d.verdict, d.message]), [[7, 'warning', 'config', "nb_get_retry is deprecated - please use 'retry'"]])
  const tcp = checkers('TCP_CHECK {\nconnect_timeout 3\nnb_get_retry 3\n}')
  t.equal(first(tcp.list, 'TCP_CHECK').retry, 1, 'keepalived ignores it: the check keeps retry 1')
  t.same(tcp.counted.map((d) => [at(d), d.severity, d.code, d.message]), [[8, 'error', 'KA_CONF_UNKNOWN_KEYWORD', "unknown keyword 'nb_get_retry'"]])
  t.equal(tcp.counted[0]?.hint, "keepalived ignores nb_get_retry in TCP_CHECK (the check uses retry 1 unless the real or virtual server sets one); use 'retry'")
  t.match(checkers('DNS_CHECK {\nnb_get_retry 1\n}').counted[0]?.hint, /retry 3/)
})

t.test('HTTP_GET and SSL_GET: urls, digests, status codes, regexes', async (t) => {
  const { list, counted } = checkers(`HTTP_GET {
virtualhost chk.example.com
http_protocol 1.0c
fast_recovery
url {
path /health
digest 0123456789ABCDEF0123456789abcdef
status_code 200 301-302
status_code 404
virtualhost url.example.com
regex "^OK$"
regex_no_match
regex_options caseless multiline
regex_stack 1024 4096
regex_min_offset 2
regex_max_offset 100
}
url {
path /other
}
}
SSL_GET {
enable_sni
url {
path /
}
}`)
  t.same(counted, [])
  const http = first(list, 'HTTP_GET')
  t.match(http, { virtualhost: 'chk.example.com', httpProtocol: '1.0C', fastRecovery: true, enableSni: false })
  t.match(http.urls[0], {
    path: '/health', digest: '0123456789abcdef0123456789abcdef', statusCodes: [{ min: 200, max: 200 }, { min: 301, max: 302 }, { min: 404, max: 404 }],
    virtualhost: 'url.example.com', regex: '^OK$', regexNoMatch: true, regexOptions: ['caseless', 'multiline'], regexStack: { start: 1024, max: 4096 },
    regexMinOffset: 2, regexMaxOffset: 100,
  })
  t.match(http.urls[1], { path: '/other', statusCodes: [{ min: 200, max: 299 }], digest: undefined, regexNoMatch: false })
  t.match(first(list, 'SSL_GET'), { enableSni: true, httpProtocol: '1.0', urls: [{ path: '/' }] })
})

t.test('HTTP_GET errors, at the lines keepalived uses', async (t) => {
  const { list, counted, diags } = checkers(`HTTP_GET {
url {
digest 123
}
url {
path /
digest 0123456789abcdef0123456789abcdeg
status_code 200 99 300-200 abc 600
}
http_protocol 2.0
}
HTTP_GET {
}
SSL_GET {
url {
path /x
regex_no_match
}
}`)
  t.same(counted.map((d) => [at(d), d.message]), [
    [8, "digest '123' character length should be 32 rather than 3"],
    [9, 'HTTP/SSL_GET checker url has no path - ignoring'],
    [12, "Unable to interpret hex digit in '0123456789abcdef0123456789abcdeg' at offset 30/31"],
    [13, "Invalid HTTP_GET status code '99'"],
    [13, "Invalid HTTP_GET status code '300-200'"],
    [13, "Invalid HTTP_GET status code 'abc'"],
    [13, "Invalid HTTP_GET status code '600'"],
    [15, 'Invalid http_protocol version 2.0'],
    [18, 'HTTP/SSL_GET checker has no urls specified - ignoring'],
  ])
  t.same(list.map((c) => c.kind), ['HTTP_GET', 'SSL_GET'], 'the checker without urls is dropped')
  t.match(first(list, 'HTTP_GET').urls, [{ path: '/', statusCodes: [{ min: 200, max: 200 }] }])
  t.match(diags.find((d) => at(d) === 23), { verdict: 'none', message: 'regex parameters specified without regex' })
  t.equal(first(list, 'SSL_GET').urls[0]?.regexNoMatch, false)
})

t.test('MISC_CHECK', async (t) => {
  const { list, counted } = checkers(`MISC_CHECK {
misc_path "/usr/local/bin/check.sh arg1" arg2
misc_timeout 10
misc_dynamic
user nobody nogroup
}
MISC_CHECK {
misc_path /bin/true
misc_timeout 0
}
MISC_CHECK {
misc_timeout 5
}
MISC_CHECK {
misc_path /bin/true
connect_port 80
misc_timeout 99999
}`)
  t.match(list[0], { kind: 'MISC_CHECK', path: ['/usr/local/bin/check.sh arg1', 'arg2'], timeout: 10, dynamic: true, user: 'nobody', group: 'nogroup', retry: 0 })
  t.match(list[1], { timeout: undefined, dynamic: false, user: undefined }, 'misc_timeout 0 means the virtual server delay_loop')
  t.equal(list.length, 3)
  t.same(counted.map((d) => [at(d), d.code]), [[18, 'KA_CONF_CHECKER_DROPPED'], [21, 'KA_CONF_UNKNOWN_KEYWORD'], [22, 'KA_CONF_BAD_VALUE']])
  t.equal(counted[0]?.message, 'No script path has been specified for MISC_CHECKER - skipping')
  t.match(counted[1]?.hint, /no connection keywords/)
})

t.test('SMTP_CHECK with deprecated host blocks', async (t) => {
  const { list, counted, diags } = checkers(`SMTP_CHECK {
connect_timeout 7
host {
connect_ip 10.0.0.30
connect_port 25
retry 4
}
host {
connect_ip 10.0.0.31
connect_timeout 2
}
}
SMTP_CHECK {
helo_name mail.example.com
}`)
  t.same(counted, [])
  t.match(first(list, 'SMTP_CHECK'), {
    heloName: 'smtpchecker.keepalived.org', retry: 4, connectTimeout: 7_000_000,
    hosts: [{ connectIp: '10.0.0.30', connectPort: 25, connectTimeout: 7_000_000 }, { connectIp: '10.0.0.31', connectTimeout: 2_000_000 }],
  })
  t.match(list[1], { heloName: 'mail.example.com', hosts: [] })
  t.same(diags.filter((d) => d.code === 'KA_CONF_DEPRECATED').map((d) => [at(d), d.verdict]), [[8, 'none'], [13, 'none']])
})

t.test('DNS_CHECK, including keepalived 2.2.7\'s one-character-label quirk', async (t) => {
  const { list, counted } = checkers(`DNS_CHECK {
type aaaa
name www.example.com
}
DNS_CHECK {
}
DNS_CHECK {
type ANY
name ..
name .a
name a.example.com
name ok.example.com
name other.example.com
}`)
  t.match(list[0], { kind: 'DNS_CHECK', type: 'AAAA', name: 'www.example.com' })
  t.match(list[1], { type: 'SOA', name: '.' })
  t.match(list[2], { type: 'SOA', name: 'ok.example.com' })
  t.same(counted.map((d) => [at(d), d.message]), [
    [13, 'Unknown DNS check type ANY - ignoring'],
    [14, "DNS_CHECK name '..' has empty label - ignoring"],
    [15, "DNS_CHECK name '.a' has empty label - ignoring"],
    [16, "DNS_CHECK name 'a.example.com' has empty label - ignoring"],
    [18, 'DNS_CHECK name already specified - ignoring'],
  ])
  t.match(counted[3]?.hint, /one character/)
})

t.test('UDP_CHECK', async (t) => {
  const { list, counted } = checkers(`UDP_CHECK {
payload ab 12 3
require_reply ab xX
min_reply_length 2
max_reply_length 100
}
UDP_CHECK {
require_reply
}
UDP_CHECK {
payload 12 zz
require_reply q
min_reply_length 300
max_reply_length 10
}`)
  t.match(list[0], { kind: 'UDP_CHECK', payload: 'ab 12 3', requireReply: true, replyData: 'ab xX', minReplyLength: 2, maxReplyLength: 100 })
  t.match(list[1], { payload: undefined, requireReply: true, replyData: undefined, minReplyLength: 0, maxReplyLength: 255 })
  t.same(counted.map((d) => [at(d), d.message]), [
    [16, 'Invalid hex string for UDP_CHECK payload'],
    [17, 'Invalid hex string for UDP_CHECK reply'],
    [20, 'UDP_CHECK min_reply length 300 > max_reply_length 10 - will always fail'],
  ])
})

t.test('PING_CHECK, FILE_CHECK and BFD_CHECK', async (t) => {
  const { list, counted } = checkers(`PING_CHECK {
retry 2
}
FILE_CHECK {
track_file tf
weight -5 reverse
}
FILE_CHECK {
track_file tf
}
FILE_CHECK {
weight 5
}
BFD_CHECK {
name bfd1
alpha
}
BFD_CHECK {
retry 2
}`)
  t.match(list, [
    { kind: 'PING_CHECK', retry: 2 },
    { kind: 'FILE_CHECK', trackFile: 'tf', weight: -5, reverse: true },
    { kind: 'FILE_CHECK', trackFile: 'tf', weight: undefined, reverse: false },
    { kind: 'BFD_CHECK', name: 'bfd1', alpha: true },
  ])
  t.same(counted.map((d) => [at(d), d.message]), [
    [18, 'FILE_CHECK has no track_file specified - ignoring'],
    [24, "unknown keyword 'retry'"],
    [25, 'No name has been specified for BFD_CHECKER - skipping'],
  ])
  t.match(counted[1]?.hint, /only name and alpha/)
})

t.test('connection checks: families of connect_ip and bindto, link-local needs bind_if', async (t) => {
  const { list, counted } = checkers(`TCP_CHECK {
bindto 10.0.0.1
connect_ip fd00::1
}
TCP_CHECK {
connect_ip fe80::1
}
TCP_CHECK {
connect_ip fe80::1
bind_if eth0
}
TCP_CHECK {
bind_if abcdefghijklmnopq
bind_port 0
}`)
  t.same(counted.map((d) => [at(d), d.message]), [
    [8, 'connect_ip address fd00::1 does not match address family of bindto - skipping'],
    [12, 'Checker link local address fe80::1 requires a bind_if'],
    [18, 'Interface name abcdefghijklmnopq is too long - ignoring'],
    [19, "bind_port: number '0' outside range [1, 65535]"],
  ])
  t.match(list, [{ bindto: '10.0.0.1', connectIp: undefined }, { connectIp: 'fe80::1', bindIf: 'eth0' }, { bindIf: undefined }])
})

t.test('checker values out of range are keepalived errors', async (t) => {
  const { counted } = checkers('TCP_CHECK {\nconnect_port 0\nretry -1\nconnect_timeout 0\ndelay_loop 0\nbindto 10.0.0.300\nalpha maybe\n}')
  t.same(counted.map(at), [7, 8, 9, 10, 11, 12])
  t.ok(counted.every((d) => d.severity === 'error' && d.verdict === 'config'))
})
