/** Broken checker-side configurations against keepalived -t itself: the same messages, on the same lines, with the same verdict. */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { memFiles } from '../helpers/config.js'
import { type Config, loadConfig } from '../../src/config/config.js'
import type { Diagnostic } from '../../src/config/diagnostics.js'

const FILE = '/etc/keepalived/keepalived.conf'


function load(text: string): { config: Config; diags: Diagnostic[] } {
  const { config, diagnostics } = loadConfig(FILE, { files: memFiles({ [FILE]: text }), configId: 'test' })
  return { config, diags: diagnostics.list }
}

const KEEPALIVED = ['/usr/sbin/keepalived', '/sbin/keepalived'].find(existsSync)

/** Broken checker-side configurations (none runs a script: keepalived -t would try them). */
const BROKEN: Record<string, string> = {
  'defaults-and-ports': `virtual_server 10.9.0.100 80 {
  delay_loop 6
  real_server 10.9.0.2 8080 {
    TCP_CHECK {
      connect_timeout 3
      nb_get_retry 3
    }
  }
}
virtual_server 10.9.0.101 80 {
  lvs_method DR
  protocol TCP
  real_server 10.9.0.2 8080 {
  }
  real_server 10.9.0.3 {
  }
  real_server fe80::1 80 {
  }
  nat_mask 255.255.255.0
}
virtual_server 10.9.0.102 {
  protocol TCP
  lvs_sched foo
}`,
  'groups': `virtual_server_group G1 {
  10.1.1.1 80
  10.1.1.300 80
  10.1.1.1/33 80
  10.1.1.1/24 80
  fwmark 7 foo
  10.1.1.9-3 80
  10.1.1.1 99999
}
virtual_server_group EMPTY {
}
virtual_server group G1 {
  lvs_sched rr
  lvs_method DR
  real_server 10.0.0.3 8080 {
  }
}
virtual_server 10.9.9.300 80 {
  protocol TCP
}`,
  'checkers': `virtual_server 10.0.0.1 80 {
  protocol TCP
  lvs_sched rr
  lvs_method NAT
  real_server 10.0.0.2 80 {
    weight -1
    TCP_CHECK {
      connect_port 0
      retry -1
      connect_timeout 0
      bindto 10.0.0.300
      connect_ip fe80::1
      alpha maybe
    }
    HTTP_GET {
      url {
        digest 123
      }
      url {
        path /
        digest 0123456789abcdef0123456789abcdeg
        status_code 200 99 300-200
      }
      http_protocol 2.0
      nb_get_retry 2
    }
    HTTP_GET {
    }
    DNS_CHECK {
      type ANY
      name a.example.com
    }
    UDP_CHECK {
      payload 12 zz
      min_reply_length 300
      max_reply_length 10
    }
    FILE_CHECK {
      weight 5
    }
    BFD_CHECK {
    }
  }
}`,
  'service': `virtual_server 10.0.0.1 80 {
  protocol FOO
  lvs_sched rr
  lvs_method TUN type gue
  lvs_method DR extra
  persistence_timeout 0
  quorum 0
  hysteresis -1
  sh-port
  sorry_server_inhibit
  sorry_server 10.0.0.9 8080
  lvs_method DR
  real_server 10.0.0.2 80 {
    notify_up /bin/up
    notify_up /bin/up2
    retry 0
  }
}
virtual_server fwmark 3 {
  lvs_sched rr
  lvs_method DR
  protocol TCP
  ha_suspend
  quorum 5
  hysteresis 5
  real_server 10.0.0.3 80 {
  }
  real_server 10.0.0.3 {
  }
}
virtual_server 10.0.0.5 80 {
  protocol TCP
  lvs_sched rr
  lvs_method NAT
  ops
  sorry_server fd00::3 80
  real_server 10.0.0.3 80 {
  }
}`,
}

function keepalivedReport(text: string): { lines: Set<number>; unnumbered: string[]; exit: number | null } {
  const dir = mkdtempSync(join(tmpdir(), 'kats-lvs-'))
  try {
    const path = join(dir, 'keepalived.conf')
    writeFileSync(path, text)
    const r = spawnSync(KEEPALIVED!, ['-t', '-f', path], { encoding: 'utf8', timeout: 20_000 })
    const lines = new Set<number>()
    const unnumbered: string[] = []
    for (const l of `${r.stdout}${r.stderr}`.split('\n').filter(Boolean)) {
      const m = /\(.*: Line (\d+)\) /.exec(l)
      if (m) lines.add(Number(m[1]))
      else unnumbered.push(l)
    }
    return { lines, unnumbered, exit: r.status }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

t.test('broken configurations: keepalived\'s lines and messages', async (t) => {
  t.ok(KEEPALIVED, 'Debian keepalived is installed (the test command installs it)')
  for (const [name, text] of Object.entries(BROKEN)) {
    const ka = keepalivedReport(text)
    const counted = load(text).diags.filter((d) => d.verdict !== 'none')
    const ourMessages = new Set(counted.map((d) => d.message))
    t.same(ka.unnumbered.filter((m) => !ourMessages.has(m)), [], `${name}: every message keepalived prints without a line is ours word for word`)
    const numbered = new Set(counted.filter((d) => !ka.unnumbered.includes(d.message)).map((d) => d.pos?.line))
    t.same([...numbered].sort((a, b) => a! - b!), [...ka.lines].sort((a, b) => a - b), `${name}: the other problems are on keepalived's lines`)
    t.equal(ka.exit === 0 ? 0 : 5, counted.length ? 5 : 0, `${name}: same verdict (keepalived exit ${ka.exit})`)
  }
})

