/**
 * The checker side end to end: dump → parse gives the same model (resolved
 * defaults included), keepalived's samples survive it with keepalived's
 * verdicts, and a large configuration builds quickly.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { memFiles } from '../helpers/config.js'
import { type Config, dumpConfig, loadConfig } from '../../src/config/config.js'
import type { Diagnostic } from '../../src/config/diagnostics.js'

const FILE = '/etc/keepalived/keepalived.conf'
const SAMPLES = '/usr/share/doc/keepalived/samples'


function load(text: string): { config: Config; diags: Diagnostic[] } {
  const { config, diagnostics } = loadConfig(FILE, { files: memFiles({ [FILE]: text }), configId: 'test' })
  return { config, diags: diagnostics.list }
}

type TestContext = Parameters<Parameters<typeof t.test>[0]>[0]

function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip)
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) if (k !== 'pos') out[k] = strip(v)
    return out
  }
  return value
}

/** Dump, parse again: the same checker-side model, no new counted diagnostic, and the text is a fixed point. */
function roundTrip(t: TestContext, text: string, name: string): void {
  const first = load(text).config
  const canonical = dumpConfig(first)
  const again = load(canonical)
  t.same(strip(again.config.lvs), strip(first.lvs), `${name}: same model`)
  t.same(again.diags.filter((d) => d.verdict !== 'none' && d.context?.includes('virtual_server')), [], `${name}: canonical text is clean`)
  t.equal(dumpConfig(again.config), canonical, `${name}: dump is a fixed point`)
}


const RICH = `global_defs {
  smtp_alert_checker
  checker_log_all_failures
}
virtual_server_group WEB {
  10.1.1.1 80
  10.1.1.2-10 80
  10.1.2.0/29 8080
  10.1.3.1-10.1.3.9 80
  fwmark 5 inet
}
virtual_server_group V6 {
  2001:db8::1-1f 443
  2001:db8:1::/120 443
  fwmark 9 inet6
}
virtual_server 10.0.0.1 80 {
  delay_loop 2.5
  lb_algo sh
  sh-port
  sh-fallback
  flag-2
  lb_kind TUN type gue port 6080 csum
  persistence_timeout
  persistence_granularity 255.255.255.0
  persistence_engine sip
  protocol tcp
  ha_suspend
  smtp_alert no
  virtualhost www.example.com
  snmp_name vs1
  alpha
  omega
  quorum_up "/usr/bin/q up" root
  quorum_down /usr/bin/qdown
  quorum 3
  hysteresis 1
  weight 2
  connect_timeout 4
  retry 2
  delay_before_retry 1.5
  warmup 0
  inhibit_on_failure
  sorry_server 10.0.0.200
  sorry_server_inhibit
  sorry_server_lvs_method DR
  real_server 10.0.0.2 80 {
    weight 3
    lvs_method TUN type gre nocsum
    inhibit_on_failure no
    alpha off
    notify_up "/bin/echo up"
    notify_down /bin/down user grp
    uthreshold 100
    lthreshold 10
    smtp_alert
    virtualhost rs.example.com
    snmp_name rs1
    connect_timeout 2
    retry 4
    delay_before_retry 0.5
    warmup 3
    delay_loop 7
    TCP_CHECK {
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
      log_all_failures no
    }
    TCP_CHECK {
    }
    HTTP_GET {
      nb_get_retry 5
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
        path "/with space"
      }
    }
    SSL_GET {
      enable_sni
      url {
        path /
      }
    }
    MISC_CHECK {
      misc_path "/usr/local/bin/check.sh arg1" arg2
      misc_timeout 10
      misc_dynamic
      user nobody nogroup
      retry 1
    }
    SMTP_CHECK {
      helo_name mail.example.com
      host {
        connect_ip 10.0.0.30
        connect_port 25
        connect_timeout 9
      }
    }
    DNS_CHECK {
      type aaaa
      name www.example.com
    }
    UDP_CHECK {
      payload ab 12 3
      require_reply ab xX
      min_reply_length 2
      max_reply_length 100
    }
    PING_CHECK {
      retry 2
    }
    FILE_CHECK {
      track_file tf
      weight -3 reverse
    }
    BFD_CHECK {
      name bfd1
      alpha
    }
  }
  real_server 10.0.0.3 80 {
  }
}
virtual_server fwmark 5 {
  lvs_sched wrr
  lvs_method DR
  ip_family inet
  real_server 10.0.0.4 {
    weight 0
  }
  real_server 10.0.0.5 {
    lvs_method NAT
    MISC_CHECK {
      misc_path /bin/true
    }
  }
}
virtual_server group WEB {
  protocol TCP
  lvs_sched lc
  lvs_method NAT
  real_server 10.0.1.1 80 {
    HTTP_GET {
      url {
        path /
        status_code 200
      }
    }
  }
}
virtual_server fe80::1 443 {
  protocol SCTP
  lvs_sched rr
  lvs_method NAT
  real_server fe80::2 443 {
    TCP_CHECK {
      bind_if eth1
    }
  }
}
virtual_server 10.0.0.9 53 {
  protocol UDP
  lvs_sched mh
  mh-port
  mh-fallback
  ops
  lvs_method NAT
  real_server 10.0.0.10 5353 {
    DNS_CHECK {
    }
  }
}
`

t.test('a configuration using every keyword survives dump → parse', async (t) => {
  const { config, diags } = load(RICH)
  t.same(diags.filter((d) => d.verdict !== 'none').map((d) => d.message), ["nb_get_retry is deprecated - please use 'retry'"])
  t.equal(config.lvs.virtualServers.length, 5)
  t.equal(config.lvs.virtualServerGroups.length, 2)
  roundTrip(t, RICH, 'rich')
})

t.test('corrected values are written as keepalived applied them', async (t) => {
  const text = `virtual_server 10.0.0.1 {
delay_loop 6
real_server 10.0.0.2 8080 {
HTTP_GET {
url {
path /
}
url {
}
}
}
}
virtual_server fwmark 1 {
lvs_method DR
protocol TCP
quorum 9
hysteresis 9
real_server 10.0.0.3 80 {
}
real_server 10.0.0.3 80 {
}
}
virtual_server 10.0.0.4 80 {
protocol TCP
lvs_method DR
sorry_server 10.0.0.9 8080
real_server 10.0.0.5 8080 {
}
}`
  const { config, diags } = load(text)
  t.ok(diags.some((d) => d.verdict === 'config'), 'the original has keepalived corrections')
  const canonical = dumpConfig(config)
  t.match(canonical, /virtual_server 10\.0\.0\.1 \{\n {4}delay_loop 6\n {4}lvs_sched wlc\n {4}lvs_method NAT\n {4}persistence_timeout 360\n {4}protocol UDP\n/)
  t.match(canonical, /real_server 10\.0\.0\.5 80 \{/)
  t.notMatch(canonical.split('virtual_server fwmark 1 {')[1]?.split('\n}\n')[0], /protocol/, 'the fwmark protocol is gone')
  roundTrip(t, text, 'corrected')
})

// Debian's keepalived is installed by the test command (scripts/test.sh): without its samples this fails, it does not skip.
t.test('keepalived\'s own samples survive dump → parse', async (t) => {
  t.ok(existsSync(SAMPLES), `keepalived's samples are at ${SAMPLES}`)
  const samples = readdirSync(SAMPLES).filter((f) => f.startsWith('keepalived.conf.') && readFileSync(join(SAMPLES, f), 'utf8').includes('virtual_server'))
  t.ok(samples.length >= 10, `${samples.length} samples with virtual servers`)
  for (const f of samples) {
    const text = readFileSync(join(SAMPLES, f), 'utf8')
    roundTrip(t, text, f)
    const counted = load(text).diags.filter((d) => d.verdict !== 'none' && d.context?.includes('virtual_server'))
    const expected = f === 'keepalived.conf.fwmark' ? [[12, 'Warning: Virtual server FWM 1: protocol specified for fwmark - protocol will be ignored']] : []
    t.same(counted.map((d) => [d.pos?.line, d.message]), expected, `${f}: keepalived's checker-side verdict`)
  }
})

t.test('1,000 virtual servers × 10 real servers build quickly', async (t) => {
  const out: string[] = []
  for (let v = 0; v < 1000; v++) {
    out.push(`virtual_server 10.${v >> 8}.${v & 255}.1 80 {`, 'delay_loop 6', 'lb_algo wrr', 'lb_kind NAT', 'persistence_timeout 50', 'protocol TCP')
    for (let r = 0; r < 10; r++) {
      out.push(`real_server 172.16.${v & 255}.${r + 10} 8080 {`, 'weight 1', 'TCP_CHECK {', 'connect_port 8080', 'connect_timeout 3', 'retry 3', 'delay_before_retry 2', '}', '}')
    }
    out.push('}')
  }
  const text = out.join('\n')
  const started = performance.now()
  const { config, diags } = load(text)
  const elapsed = performance.now() - started
  t.equal(config.lvs.virtualServers.length, 1000)
  t.equal(config.lvs.virtualServers.reduce((n, vs) => n + vs.realServers.length, 0), 10_000)
  t.same(diags, [])
  // Generous: the point is to catch quadratic work, not to benchmark.
  t.ok(elapsed < 15_000, `built ${out.length} lines in ${elapsed.toFixed(0)} ms`)
})
