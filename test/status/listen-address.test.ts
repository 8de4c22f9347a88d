/** The metrics listen address: its text form, and `metrics_address` in global_defs (keepalived-ts only). */
import t from 'tap'
import { listenAddressText, parseListenAddress } from '../../src/status/listen-address.js'
import { dumpConfig } from '../../src/config/config.js'
import { loadText, problems } from '../helpers/config.js'

t.test('ADDRESS:PORT and [IPV6]:PORT; everything else says why not', async (t) => {
  t.same(parseListenAddress('127.0.0.1:9650'), { host: '127.0.0.1', port: 9650, family: 4 })
  t.same(parseListenAddress('[::1]:9650'), { host: '::1', port: 9650, family: 6 })
  t.same(parseListenAddress('[2001:db8::1]:1'), { host: '2001:db8::1', port: 1, family: 6 })
  const bad: [string, RegExp][] = [
    ['127.0.0.1', /is not ADDRESS:PORT/],
    ['::1:9650', /is not ADDRESS:PORT/],
    ['localhost:9650', /'localhost' is not an IP address/],
    ['[127.0.0.1]:9650', /only an IPv6 address goes in brackets/],
    ['127.0.0.1:0', /port 0 is not in 1\.\.65535/],
    ['127.0.0.1:65536', /port 65536/],
    ['127.0.0.1:123456', /is not ADDRESS:PORT/],
    ['', /is not ADDRESS:PORT/],
  ]
  for (const [text, why] of bad) t.match(parseListenAddress(text), why, text)
  t.equal(listenAddressText({ host: '::1', port: 80 }), '[::1]:80')
  t.equal(listenAddressText({ host: '10.1.2.3', port: 80 }), '10.1.2.3:80')
})

t.test('metrics_address in global_defs: read, dumped back, errors at the word', async (t) => {
  const ok = loadText('global_defs {\n  metrics_address [::1]:9650\n}\n')
  t.same(problems(ok.diagnostics.list), [])
  t.same(ok.config.global.metricsAddress, { host: '::1', port: 9650 })
  t.match(dumpConfig(ok.config), /global_defs \{\n(.*\n)*\s+metrics_address \[::1\]:9650\n/)
  const round = loadText(dumpConfig(ok.config))
  t.same(round.config.global.metricsAddress, ok.config.global.metricsAddress, 'the dump reads back the same')

  t.equal(loadText('global_defs {\n}\n').config.global.metricsAddress, undefined, 'off by default')

  const bad = loadText('global_defs {\n  metrics_address localhost:9650\n  metrics_address\n  metrics_address 10.0.0.1:80 extra\n}\n')
  t.same(problems(bad.diagnostics.list), [
    [2, 'error', "metrics_address: 'localhost' is not an IP address"],
    [3, 'error', "'metrics_address' needs ADDRESS:PORT (keepalived-ts only)"],
    [4, 'warning', "'metrics_address' takes 1 value(s); 'extra' ignored"],
  ])
  t.same(bad.config.global.metricsAddress, { host: '10.0.0.1', port: 80 })
})
