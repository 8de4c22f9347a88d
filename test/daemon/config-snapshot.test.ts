/** The parent's configuration snapshot: a child replaying it gets the parent's model, whatever the disk says now. */
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadRecorded, loadSnapshot } from '../../src/daemon/config-snapshot.js'
import { memFiles } from '../helpers/config.js'

t.test('includes, globs, ${_RANDOM} and the config-id replay to the same model', async (t) => {
  const files = {
    '/etc/k/keepalived.conf': 'global_defs {\n    router_id R${_RANDOM 1 1000}\n}\ninclude /etc/k/conf.d/*.conf\n@backup vrrp_instance VI_B {\n@backup     interface eth0\n@backup     virtual_router_id 9\n@backup }\n',
    '/etc/k/conf.d/a.conf': 'vrrp_instance VI_A {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.35.0.100/24\n    }\n}\n',
  }
  let r = 0
  const parent = loadRecorded('/etc/k/keepalived.conf', { configId: 'main', interfaces: new Set(['lo', 'eth0']), files: memFiles(files), random: () => [0.25, 0.75][r++ % 2]! })
  const snap = JSON.parse(JSON.stringify(parent.snapshot))
  t.same(Object.keys(snap.files).sort(), ['/etc/k/conf.d/a.conf', '/etc/k/keepalived.conf'])
  t.same(snap.randoms, [0.25])
  t.same(snap.interfaces, ['eth0', 'lo'])
  const child = loadSnapshot(snap)
  t.same(child.config, parent.result.config, 'identical model')
  t.equal(child.config.global.routerId, parent.result.config.global.routerId)
  t.same(child.config.vrrp.instances.map((i) => i.name), ['VI_A'], 'the parent\'s config-id applies')
  t.same(child.diagnostics.list, parent.result.diagnostics.list)
})

t.test('files read from disk are kept as read; a missing file replays as missing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kats-snap-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const main = join(dir, 'keepalived.conf')
  writeFileSync(main, 'global_defs {\n    router_id FIRST\n}\n')
  const parent = loadRecorded(main, { configId: undefined, interfaces: undefined })
  writeFileSync(main, 'global_defs {\n    router_id SECOND\n}\n')
  t.equal(loadSnapshot(parent.snapshot).config.global.routerId, 'FIRST')
  t.equal(parent.snapshot.interfaces, null)
  t.ok(parent.snapshot.configId.length >= 0, 'the default config-id is resolved by the parent')

  const missing = loadRecorded(join(dir, 'nope.conf'), { configId: 'x', interfaces: undefined })
  t.same(missing.snapshot.files[join(dir, 'nope.conf')], { error: 'ENOENT' })
  t.ok(loadSnapshot(missing.snapshot).diagnostics.list.some((d) => d.code === 'KA_CONF_NO_FILE'))
})
