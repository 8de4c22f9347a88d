/**
 * The signal dumps of the VRRP side (reference §3.2): the stats file in
 * keepalived's exact layout, the JSON with keepalived's fields, the data
 * file's sections, and where and how the files are written.
 */
import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config/config.js'
import type { Config } from '../../src/config/config.js'
import { emptyStats } from '../../src/vrrp/advert-check.js'
import { formatData } from '../../src/vrrp/dump-data.js'
import { dumpDirectory, writeDumpFile } from '../../src/vrrp/dump-file.js'
import type { DumpInput } from '../../src/vrrp/dump-format.js'
import { timestampText } from '../../src/vrrp/dump-format.js'
import { formatJson, formatStats } from '../../src/vrrp/dump-stats.js'
import { createInstance, nextDeadline, step } from '../../src/vrrp/instance.js'
import { emptyHistory } from '../../src/vrrp/instance-io.js'
import { instanceParams } from '../../src/vrrp/params.js'
import { memFiles } from '../helpers/config.js'

const CONF = `global_defs {
  router_id lb1
}
vrrp_script chk {
  script "/bin/true"
  interval 1
  weight -10
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass secret
  }
  track_script {
    chk
  }
  virtual_ipaddress {
    10.9.0.100/24
    10.9.0.101/24 dev eth0 label eth0:1
  }
  virtual_ipaddress_excluded {
    10.9.0.102
  }
}
`

function config(text = CONF): Config {
  const { config, diagnostics } = loadConfig('/k.conf', { configId: 'x', files: memFiles({ '/k.conf': text }) })
  const errors = diagnostics.list.filter((d) => d.severity === 'error')
  if (errors.length) throw new Error(errors.map((d) => d.message).join('; '))
  return config
}

/** VI_1 as MASTER with some traffic counted. */
function input(): DumpInput {
  const c = config()
  const inst = c.vrrp.instances[0]!
  let state = step(createInstance(instanceParams(inst, c.global)), { type: 'start', now: 0 }).state
  state = step(state, { type: 'timer', now: nextDeadline(state)! }).state
  const history = emptyHistory()
  history.stats = { ...emptyStats(), advertsReceived: 3, advertsSent: 14, becameMaster: 1 }
  history.since = Date.UTC(2026, 10, 21, 4, 48, 1, 358)
  history.reason = 'master down timer expired'
  return {
    global: c.global,
    instances: [{ config: inst, state, history, source: '10.9.0.1', group: '224.0.0.18', syncGroup: undefined, socketKey: 'eth0|4|m|224.0.0.18', deadlineMs: undefined }],
    sockets: [{ key: 'eth0|4|m|224.0.0.18', interface: 'eth0', family: 4, unicast: false, address: '224.0.0.18' }],
    syncGroups: [],
    scripts: [{ config: c.vrrp.scripts[0]!, status: 'ok', users: [{ instance: 'VI_1', weight: -10, reverse: false }] }],
    interfaces: [{ name: 'eth0', index: 2, mac: '02:00:00:00:00:01', up: true }],
  }
}

t.test('the stats file is keepalived 2.2.7\'s, byte for byte (reference §3.2)', async (t) => {
  const text = formatStats([{ name: 'VI_1', stats: { ...emptyStats(), advertsReceived: 3, advertsSent: 14, becameMaster: 1 } }])
  t.equal(text, `VRRP Instance: VI_1
  Advertisements:
    Received: 3
    Sent: 14
  Became master: 1
  Released master: 0
  Packet Errors:
    Length: 0
    TTL: 0
    Invalid Type: 0
    Advertisement Interval: 0
    Address List: 0
  Authentication Errors:
    Invalid Type: 0
    Type Mismatch: 0
    Failure: 0
  Priority Zero:
    Received: 0
    Sent: 0
`)
  const two = formatStats([{ name: 'A', stats: emptyStats() }, { name: 'B', stats: { ...emptyStats(), priorityZeroSent: 2 } }])
  t.equal(two.split('\n').filter((l) => l.startsWith('VRRP Instance: ')).length, 2)
  t.match(two, /VRRP Instance: B\n[\s\S]*Priority Zero:\n    Received: 0\n    Sent: 2\n$/)
  t.equal(formatStats([]), '')
})

t.test('the JSON: keepalived\'s fields, one line, json-c\'s escaped slashes', async (t) => {
  const text = formatJson(input())
  t.ok(text.endsWith('}}]\n'))
  t.equal(text.split('\n').length, 2, 'one line')
  t.match(text, /"10\.9\.0\.100\\\/24 dev eth0 scope global set"/)
  const [entry] = JSON.parse(text) as [{ data: Record<string, unknown>; stats: Record<string, unknown> }]
  t.match(entry.data, {
    iname: 'VI_1', vrid: 51, base_priority: 150, effective_priority: 150, vipset: true, state: 2, wantstate: 2, version: 2,
    ifp_ifname: 'eth0', adver_int: 1, garp_rep: 5, garp_delay: 5, accept: 1, nopreempt: false, auth_type: 1, auth_data: 'secret',
    last_transition: 1795236481.358,
  })
  t.same(entry.data.vips, ['10.9.0.100/24 dev eth0 scope global set', '10.9.0.101/24 dev eth0 scope global label eth0:1 set'])
  t.same(entry.data.evips, ['10.9.0.102 dev eth0 scope global set'])
  t.same(entry.data.track_script, ["'/bin/true'"])
  t.same(entry.stats, {
    advert_rcvd: 3, advert_sent: 14, become_master: 1, release_master: 0, packet_len_err: 0, advert_interval_err: 0, ip_ttl_err: 0,
    invalid_type_rcvd: 0, addr_list_err: 0, invalid_authtype: 0, authtype_mismatch: 0, auth_failure: 0, pri_zero_rcvd: 0, pri_zero_sent: 0,
  })
})

t.test('the data file has keepalived\'s sections and instance lines', async (t) => {
  const text = formatData(input())
  const lines = text.split('\n')
  for (const header of ['------< Global definitions >------', '------< VRRP Topology >------', '------< VRRP Sockpool >------', '------< VRRP Scripts >------', '------< Interfaces >------']) {
    t.ok(lines.includes(header), header)
  }
  for (const line of [
    ' Router ID = lb1', ' VRRP Instance = VI_1', '   VRRP Version = 2', '   State = MASTER', '   Wantstate = MASTER',
    '   Virtual Router ID = 51', '   Priority = 150', '   Effective priority = 150', '   Advert interval = 1 sec',
    '   Authentication type = SIMPLE_PASSWORD', '   Password = secret', '   Virtual IP (2):',
    '     10.9.0.100/24 dev eth0 scope global set', '   Virtual IP Excluded :', '     10.9.0.102 dev eth0 scope global set',
    '   Tracked scripts :', '     chk weight -10', '   Read timeout = DISABLED', ' VRRP Script = chk', '   Status = GOOD', '     VI_1, weight -10',
    '   Multicast address 224.0.0.18', '   Using src_ip = 10.9.0.1', '     VI_1 vrid 51',
  ]) t.ok(lines.includes(line), line)
  t.ok(text.endsWith('\n'))
})

t.test('timestamps as keepalived prints them', async (t) => {
  const ms = new Date(2026, 10, 1, 9, 5, 7, 250).getTime()
  t.equal(timestampText(ms), `${Math.floor(ms / 1000)}.250000 (Sun Nov  1 09:05:07.250000 2026)`)
})

t.test('files go to $TMPDIR when absolute, else /tmp, mode 0600, replacing what was there', async (t) => {
  t.equal(dumpDirectory({}), '/tmp')
  t.equal(dumpDirectory({ TMPDIR: 'relative/dir' }), '/tmp')
  t.equal(dumpDirectory({ TMPDIR: '' }), '/tmp')
  const dir = mkdtempSync(join(tmpdir(), 'kats-dump-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  t.equal(dumpDirectory({ TMPDIR: dir }), dir)
  const old = process.umask(0)
  try {
    const r = writeDumpFile('keepalived.stats', 'hello\n', { TMPDIR: dir })
    t.same(r, { ok: true, path: join(dir, 'keepalived.stats') })
    t.equal(statSync(join(dir, 'keepalived.stats')).mode & 0o777, 0o600, 'mode 0600 whatever the umask')
    t.equal(readFileSync(join(dir, 'keepalived.stats'), 'utf8'), 'hello\n')
  } finally {
    process.umask(old)
  }
  // A symlink planted at the name is replaced, not written through.
  const victim = join(dir, 'victim')
  writeFileSync(victim, 'untouched')
  symlinkSync(victim, join(dir, 'keepalived.json'))
  t.equal(writeDumpFile('keepalived.json', '[]\n', { TMPDIR: dir }).ok, true)
  t.equal(readFileSync(victim, 'utf8'), 'untouched')
  t.ok(lstatSync(join(dir, 'keepalived.json')).isFile())
  const bad = writeDumpFile('keepalived.data', 'x', { TMPDIR: join(dir, 'missing') })
  t.equal(bad.ok, false, 'a failure is a value, not a throw')
})
