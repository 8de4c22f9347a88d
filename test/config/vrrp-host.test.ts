/** Interfaces missing on the host: warnings on the line keepalived names, only when the host is known. */
import t from 'tap'
import { sortDiagnostics } from '../../src/config/diagnostics.js'
import { loadText } from '../helpers/config.js'

function load(text: string, interfaces: string[] | undefined) {
  return sortDiagnostics(loadText(text, interfaces).diagnostics.list).filter((d) => d.host)
}

const text = [
  'static_ipaddress {', '  10.9.0.1/24 dev eth5', '}',
  'static_routes {', '  10.8.0.0/16 dev eth6', '  10.7.0.0/16 dev eth0 nexthop via 10.0.0.1 dev eth7', '}',
  'static_rules {', '  iif eth8 table 5 preference 10', '}',
  'vrrp_sync_group G {', '  group {', '    VI_1', '    VI_2', '  }', '  track_interface {', '    eth9', '  }', '}',
  'vrrp_instance VI_1 {',
  '  interface eth1',
  '  virtual_router_id 51',
  '  track_interface {', '    eth0', '    eth2 weight 5', '  }',
  '  virtual_ipaddress {', '    10.0.0.1', '    10.0.0.2 dev eth3', '  }',
  '  virtual_ipaddress_excluded {', '    10.0.1.2 dev eth4', '  }',
  '  virtual_routes {', '    10.6.0.0/16 dev eth1', '  }',
  '  virtual_rules {', '    oif eth2 table 6 preference 11', '  }',
  '}',
  'vrrp_instance VI_2 {', '  interface eth0', '  virtual_router_id 52', '  virtual_ipaddress {', '    10.0.0.3', '  }', '}',
].join('\n')

t.test('every interface a block names is checked', async (t) => {
  const found = load(text, ['lo', 'eth0'])
  t.same(found.map((d) => [d.pos?.line, d.message]), [
    [2, "interface eth5 for address 10.9.0.1 doesn't exist"],
    [5, "interface eth6 for route 10.8.0.0/16 doesn't exist"],
    [6, "interface eth7 for route 10.7.0.0/16 doesn't exist"],
    [9, "interface eth8 for rule doesn't exist"],
    [17, "tracked interface eth9 doesn't exist"],
    [21, "interface eth1 doesn't exist"],
    [25, "tracked interface eth2 doesn't exist"],
    [29, "interface eth3 for address 10.0.0.2 doesn't exist"],
    [32, "interface eth4 for address 10.0.1.2 doesn't exist"],
    [35, "interface eth1 for route 10.6.0.0/16 doesn't exist"],
    [38, "interface eth2 for rule doesn't exist"],
  ])
  t.ok(found.every((d) => d.severity === 'warning' && d.verdict === 'config'))
  t.match(found[5], { context: 'vrrp_instance VI_1', code: 'KA_CONF_NO_INTERFACE' })
})

t.test('no host checks when the host is not known', async (t) => {
  t.same(load(text, undefined), [])
})

t.test('a host with every interface is quiet', async (t) => {
  t.same(load(text, ['lo', 'eth0', 'eth1', 'eth2', 'eth3', 'eth4', 'eth5', 'eth6', 'eth7', 'eth8', 'eth9']), [])
})
