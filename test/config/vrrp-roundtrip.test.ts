/** Canonical VRRP text: dump → parse gives the same model, and the text is a fixed point. */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { dumpConfig } from '../../src/config/config.js'
import { loadText } from '../helpers/config.js'

const load = (text: string) => loadText(text)

type TestContext = Parameters<Parameters<typeof t.test>[0]>[0]

function strip(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (k, v: unknown) => (k === 'pos' || k === 'files' ? undefined : v)))
}

function roundTrip(t: TestContext, text: string, name: string): string {
  const first = load(text)
  const canonical = dumpConfig(first.config)
  const second = load(canonical)
  t.same(strip(second.config.vrrp), strip(first.config.vrrp), `${name}: same model`)
  t.equal(dumpConfig(second.config), canonical, `${name}: fixed point`)
  t.same(second.diagnostics.list.filter((d) => d.verdict !== 'none' && !/deprecated/.test(d.message)).map((d) => d.message), [], `${name}: canonical text is clean`)
  return canonical
}

const rich = `
global_defs {
  vrrp_version 3
  vrrp_garp_master_delay 2
  smtp_alert
}
static_ipaddress {
  192.168.1.1/24 dev eth0 scope link
  fd00::1/64 dev eth0
}
static_routes {
  192.168.2.0/24 via 192.168.1.254 dev eth0 table 10 metric 5
  10.0.0.0/8 via 192.168.1.254
}
static_rules {
  from 192.168.2.0/24 table 10
  from all table 11 inet6
}
vrrp_script chk_http {
  script "/usr/bin/curl -sf http://localhost/"
  interval 2
  weight -20
  fall 3
  rise 2
  user nobody
}
track_file tf {
  file /run/keepalived/prio
  weight 2 reverse
  init_file 0 overwrite
}
vrrp_track_process haproxy {
  process haproxy
  quorum 1
  delay 1.5
}
vrrp_sync_group VG {
  group {
    VI_1
    VI_2
  }
  notify "/etc/keepalived/notify.sh group"
  track_script {
    chk_http weight 0
  }
}
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 0.5
  unicast_src_ip 192.168.1.10
  unicast_peer {
    192.168.1.11 min_ttl 250
    192.168.1.12
  }
  virtual_ipaddress {
    192.168.1.100/24 dev eth0 label eth0:vip
    192.168.1.101 brd + no_track
  }
  virtual_ipaddress_excluded {
    fd00::100/64
  }
  virtual_routes {
    172.16.0.0/16 via 192.168.1.254 dev eth0
  }
  virtual_rules {
    from 192.168.1.100 table 100 preference 50
  }
  track_interface {
    eth1
  }
  track_file {
    tf
  }
  track_process {
    haproxy weight 0
  }
  notify_master "/etc/keepalived/master.sh VI_1" root
  notify_backup /etc/keepalived/backup.sh
  garp_master_refresh 60
  use_vmac vrrp51
  nopreempt
  promote_secondaries
  notify_priority_changes true
}
vrrp_instance VI_2 {
  interface eth1
  virtual_router_id 52
  authentication {
    auth_type PASS
    auth_pass longerpassword
  }
  virtual_ipaddress {
    fe80::52
    fd00::52/64
  }
  preempt_delay 30
  smtp_alert off
}
vrrp_instance VI_3 {
  interface eth2
  virtual_router_id 53
  version 2
  authentication {
    auth_type AH
    auth_pass secret
  }
  virtual_ipaddress {
    10.3.0.1
  }
  strict_mode
  accept
}
`

t.test('a rich configuration survives dump and parse', async (t) => {
  const canonical = roundTrip(t, rich, 'rich')
  t.match(canonical, /vrrp_instance VI_1 \{\n {4}state MASTER\n/)
  t.notMatch(canonical, /nopreempt/, 'keepalived clears nopreempt with state MASTER')
  t.match(canonical, /track_script \{\n {8}chk_http weight 0\n {4}\}/)
  t.match(canonical, /advert_int 0.5\n {4}version 3/)
})

t.test('the canonical text of an instance', async (t) => {
  const { config } = load('vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n')
  t.equal(dumpConfig(config).replace(/^global_defs \{\n\}\n/, ''), [
    'vrrp_instance VI_1 {',
    '    state BACKUP',
    '    interface eth0',
    '    virtual_router_id 7',
    '    priority 100',
    '    advert_int 1',
    '    version 2',
    '    virtual_ipaddress {',
    '        10.0.0.1/32',
    '    }',
    '    garp_master_delay 5',
    '    garp_master_repeat 5',
    '    garp_master_refresh 0',
    '    garp_master_refresh_repeat 1',
    '    garp_lower_prio_delay 5',
    '    garp_lower_prio_repeat 5',
    '    accept',
    '    strict_mode false',
    '    skip_check_adv_addr false',
    '    smtp_alert false',
    '}',
    '',
  ].join('\n'))
})

t.test('corrected values are written as corrected', async (t) => {
  const text = [
    'vrrp_script w {', '  script /bin/w', '  weight 5', '}',
    'vrrp_sync_group G {', '  group {', '    A', '    B', '  }', '}',
    'vrrp_instance A {', '  state MASTER', '  interface eth0', '  virtual_router_id 1', '  advert_int 1.4', '  nopreempt',
    '  authentication {', '    auth_type PASS', '    auth_pass 0123456789', '  }',
    '  track_script {', '    w', '  }', '  track_interface {', '    eth1 weight 3', '  }',
    '  virtual_ipaddress {', '    10.0.0.1', '  }', '}',
    'vrrp_instance B {', '  interface eth0', '  virtual_router_id 2', '  virtual_ipaddress {', '    10.0.0.2', '  }', '}',
  ].join('\n')
  const canonical = roundTrip(t, text, 'corrected')
  t.match(canonical, /priority 255/)
  t.match(canonical, /advert_int 1\n/)
  t.match(canonical, /auth_pass 01234567\n/)
  t.notMatch(canonical, /nopreempt|track_script/)
  t.match(canonical, /eth1 weight 0/)
})

const SAMPLES = '/usr/share/doc/keepalived/samples'

// Debian's keepalived is installed by the test command (scripts/test.sh): without its samples this fails, it does not skip.
t.test("keepalived's samples survive dump and parse", async (t) => {
  t.ok(existsSync(SAMPLES), `keepalived's samples are at ${SAMPLES}`)
  for (const f of readdirSync(SAMPLES).filter((n) => n.startsWith('keepalived.conf.')).sort()) {
    const first = load(readFileSync(join(SAMPLES, f), 'utf8'))
    const canonical = dumpConfig(first.config)
    const second = load(canonical)
    t.same(strip(second.config.vrrp), strip(first.config.vrrp), f)
  }
})
