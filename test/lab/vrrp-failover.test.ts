/**
 * Two keepalived-ts directors and a client on one bridge: the scenarios of the
 * VRRP issue — election, failover on SIGKILL (master-down timer), preempt and
 * nopreempt, a sync group moving together, a failing track_script handing
 * over, interface down → FAULT → takeover and recovery. (SIGTERM handover is
 * in vrrp-interop.test.ts, against keepalived and ours alike.)
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createLab, type LabNode, type TeardownHost } from '../helpers/lab.js'
import { eventually, globalDefs, instanceConf, neighbourMac, ownsVip, reach, VARIANTS } from '../helpers/vrrp-scenario.js'

const V2 = VARIANTS[0]!
const VIP = '10.33.0.100'
const VIP2 = '10.33.0.101'

function nodes(t: TeardownHost): [LabNode, LabNode, LabNode] {
  const lab = createLab(t, ['a', 'b', 'client'])
  return [lab.node('a'), lab.node('b'), lab.node('client')]
}

t.test('election, then SIGKILL of the master: the backup takes over when its master-down timer expires', async (t) => {
  const [a, b, client] = nodes(t)
  const pa = a.startKeepalivedTs(globalDefs('a') + instanceConf(V2, a, b, { priority: 150 }))
  const pb = b.startKeepalivedTs(globalDefs('b') + instanceConf(V2, b, a, { priority: 100 }))
  await pa.waitForLine(/\(VI_1\) Entering MASTER STATE/, 15_000)
  await pb.waitForLine(/\(VI_1\) Entering BACKUP STATE \(init\)/, 5_000)
  await eventually(() => a.hasAddress(VIP) && !b.hasAddress(VIP), 'the VIP on a only', 5_000)
  t.ok(reach(client, VIP), 'the client reaches the VIP')
  t.equal(neighbourMac(client, VIP), a.mac)

  const seen = pb.lines.length
  const killedAt = Date.now()
  // A hard death of the whole daemon: the VRRP child and the parent in one kill(1), so the parent
  // cannot respawn the child, and the child gets no chance to send priority 0.
  const vrrpPid = readFileSync(join(a.dir, 'keepalived-ts_vrrp.pid'), 'utf8').trim()
  a.exec(['kill', '-9', vrrpPid, String(pa.pid)])
  await pb.waitForLine(/\(VI_1\) Receive advertisement timeout/, 8_000, seen)
  const took = Date.now() - killedAt
  // Master_Down_Interval at priority 100, 1 s: 3 × 1 s + (256 − 100) / 256 s ≈ 3.61 s.
  t.ok(took >= 2_500 && took <= 6_000, `takeover after the master-down interval (${took} ms)`)
  await pb.waitForLine(/\(VI_1\) Entering MASTER STATE/, 2_000, seen)
  t.notOk(pb.lines.slice(seen).some((l) => /priority 0/.test(l)), 'no priority-0 advert came from a killed master')
  await eventually(() => neighbourMac(client, VIP) === b.mac, "the client's entry follows b's GARP", 8_000)
  t.ok(b.hasAddress(VIP))
  t.ok(a.hasAddress(VIP), 'a killed master leaves its VIP behind (nothing ran to remove it)')

  // Restarted, a removes the leftover VIP before anything else, then preempts as the higher priority.
  const again = a.startKeepalivedTs(globalDefs('a') + instanceConf(V2, a, b, { priority: 150 }))
  await again.waitForLine(/\(VI_1\) removing VIPs\./, 5_000)
  await again.waitForLine(/\(VI_1\) Entering BACKUP STATE \(init\)/, 5_000)
  await eventually(() => !a.hasAddress(VIP), 'the leftover VIP removed at start', 2_000)
  await again.waitForLine(/\(VI_1\) Entering MASTER STATE/, 10_000)
  await ownsVip(client, a, VIP, [b])
})

t.test('preempt: a higher priority starting later takes over; nopreempt: it stays backup', async (t) => {
  const [a, b, client] = nodes(t)
  const low = a.startKeepalivedTs(globalDefs('a') + instanceConf(V2, a, b, { priority: 100 }))
  await low.waitForLine(/\(VI_1\) Entering MASTER STATE/, 15_000)
  await eventually(() => a.hasAddress(VIP), 'VIP on a', 5_000)
  t.ok(reach(client, VIP))

  const high = b.startKeepalivedTs(globalDefs('b') + instanceConf(V2, b, a, { priority: 150 }))
  await high.waitForLine(/received lower priority \(100\) advert from 10\.33\.0\.1 - discarding/, 5_000)
  await high.waitForLine(/\(VI_1\) Entering MASTER STATE/, 8_000)
  await low.waitForLine(/\(VI_1\) Master received advert from 10\.33\.0\.2 with higher priority 150, ours 100/, 5_000)
  await low.waitForLine(/\(VI_1\) Entering BACKUP STATE/, 2_000)
  await ownsVip(client, b, VIP, [a])

  await high.stop()
  await low.waitForLine(/\(VI_1\) Entering MASTER STATE/, 8_000, low.lines.findIndex((l) => /Entering BACKUP STATE$/.test(l)))
  const quiet = b.startKeepalivedTs(globalDefs('b') + instanceConf(V2, b, a, { priority: 150, nopreempt: true }))
  await quiet.waitForLine(/\(VI_1\) Entering BACKUP STATE \(init\)/, 5_000)
  await new Promise((r) => setTimeout(r, 6_000))
  t.notOk(quiet.lines.some((l) => /Entering MASTER STATE/.test(l)), 'with nopreempt the higher priority stays backup')
  t.ok(a.hasAddress(VIP) && !b.hasAddress(VIP), 'the VIP stays on the lower-priority master')
})

t.test('a sync group moves together: one member failing takes the other instance to the peer too', async (t) => {
  const [a, b, client] = nodes(t)
  const flag = join(a.dir, 'fail')
  const script = `vrrp_script chk_flag {\n    script "/usr/bin/test ! -e ${flag}"\n    interval 1\n    fall 1\n    rise 1\n}\n`
  const group = 'vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n}\n'
  const pair = (self: LabNode, peer: LabNode, priority: number, track: boolean): string =>
    globalDefs(self.name) + (track ? script : '') + group +
    instanceConf(V2, self, peer, { priority, ...(track ? { extra: '    track_script {\n        chk_flag\n    }\n' } : {}) }) +
    instanceConf(V2, self, peer, { priority, name: 'VI_2', vrid: 52, vip: VIP2 })
  const pa = a.startKeepalivedTs(pair(a, b, 150, true))
  const pb = b.startKeepalivedTs(pair(b, a, 100, false))
  await pa.waitForLine(/VRRP_Group\(G\) Syncing instances to MASTER state/, 15_000)
  await eventually(() => a.hasAddress(VIP) && a.hasAddress(VIP2), 'both VIPs on a', 5_000)
  t.ok(reach(client, VIP) && reach(client, VIP2))

  writeFileSync(flag, '')
  t.teardown(() => rmSync(flag, { force: true }))
  await pa.waitForLine(/VRRP_Script\(chk_flag\) failed \(exited with status 1\)/, 5_000)
  await pa.waitForLine(/VRRP_Group\(G\) Syncing instances to FAULT state/, 3_000)
  await pb.waitForLine(/VRRP_Group\(G\) Syncing instances to MASTER state/, 8_000)
  await ownsVip(client, b, VIP, [a])
  await ownsVip(client, b, VIP2, [a])
  t.ok(pa.lines.some((l) => /\(VI_2\) Entering FAULT STATE/.test(l)) || pa.lines.some((l) => /\(VI_2\).*FAULT/.test(l)), 'VI_2 followed VI_1 into FAULT')

  rmSync(flag)
  t.notOk(existsSync(flag))
  await pa.waitForLine(/VRRP_Script\(chk_flag\) succeeded/, 5_000)
  await pa.waitForLine(/VRRP_Group\(G\) Syncing instances to MASTER state/, 10_000, pa.lines.findIndex((l) => /Syncing instances to FAULT/.test(l)))
  await ownsVip(client, a, VIP, [b])
  await ownsVip(client, a, VIP2, [b])
})

t.test('a failing track_script lowers the priority and the peer takes over', async (t) => {
  const [a, b, client] = nodes(t)
  const flag = join(a.dir, 'fail')
  const script = `vrrp_script chk_flag {\n    script "/usr/bin/test ! -e ${flag}"\n    interval 1\n    weight -60\n    fall 2\n    rise 1\n}\n`
  const pa = a.startKeepalivedTs(globalDefs('a') + instanceConf(V2, a, b, { priority: 150, before: script, extra: '    track_script {\n        chk_flag\n    }\n' }))
  const pb = b.startKeepalivedTs(globalDefs('b') + instanceConf(V2, b, a, { priority: 100 }))
  await pa.waitForLine(/\(VI_1\) Entering MASTER STATE/, 15_000)
  await eventually(() => a.hasAddress(VIP), 'VIP on a', 5_000)
  t.ok(reach(client, VIP))

  writeFileSync(flag, '')
  t.teardown(() => rmSync(flag, { force: true }))
  await pa.waitForLine(/Script `chk_flag` now returning 1/, 5_000)
  await pa.waitForLine(/VRRP_Script\(chk_flag\) failed \(exited with status 1\)/, 5_000)
  await pa.waitForLine(/\(VI_1\) Changing effective priority from 150 to 90/, 2_000)
  await pb.waitForLine(/\(VI_1\) Entering MASTER STATE/, 8_000)
  await pa.waitForLine(/\(VI_1\) Master received advert from 10\.33\.0\.2 with higher priority 100, ours 90/, 5_000)
  await ownsVip(client, b, VIP, [a])
  t.ok(pb.lines.some((l) => /received lower priority \(90\) advert/.test(l)), 'b saw the lowered priority and preempted')
})

t.test('interface down: the master goes to FAULT and the peer takes over; link up: it recovers; notify scripts see it all', async (t) => {
  const [a, b, client] = nodes(t)
  const record = join(a.dir, 'notify.log')
  const notify = join(a.dir, 'notify.sh')
  writeFileSync(notify, `#!/bin/sh\necho "$*" >> ${record}\n`, { mode: 0o755 })
  const scripts = `    notify_master "${notify} became-master"\n    notify ${notify}\n`
  const pa = a.startKeepalivedTs(globalDefs('a') + instanceConf(V2, a, b, { priority: 150, extra: scripts }))
  const pb = b.startKeepalivedTs(globalDefs('b') + instanceConf(V2, b, a, { priority: 100 }))
  await pa.waitForLine(/\(VI_1\) Entering MASTER STATE/, 15_000)
  await eventually(() => a.hasAddress(VIP), 'VIP on a', 5_000)
  t.ok(reach(client, VIP))

  const seen = pb.lines.length
  a.linkDown()
  await pa.waitForLine(/Netlink reports eth0 down/, 5_000)
  await pa.waitForLine(/\(VI_1\) Entering FAULT STATE/, 2_000)
  await pb.waitForLine(/\(VI_1\) Entering MASTER STATE/, 8_000, seen)
  await eventually(() => !a.hasAddress(VIP), 'a released the VIP in FAULT', 5_000)
  await ownsVip(client, b, VIP)

  a.linkUp()
  await pa.waitForLine(/Netlink reports eth0 up/, 5_000)
  await pa.waitForLine(/\(VI_1\) Entering BACKUP STATE/, 5_000)
  await pa.waitForLine(/\(VI_1\) Entering MASTER STATE/, 10_000, pa.lines.findIndex((l) => /Entering FAULT STATE/.test(l)))
  await ownsVip(client, a, VIP, [b])

  // Scripts are forked, not awaited: give the last one a moment, then stop (STOP is awaited up to 1 s).
  await pa.stop()
  const calls = readFileSync(record, 'utf8').trim().split('\n')
  const allowed = new Set(['became-master', ...['BACKUP', 'MASTER', 'FAULT', 'STOP'].map((st) => `INSTANCE VI_1 ${st} 150`)])
  t.same(calls.filter((l) => !allowed.has(l)), [], 'every call has keepalived\'s arguments')
  const order = calls.filter((l) => l.startsWith('INSTANCE')).map((l) => l.split(' ')[2])
  t.same(order, ['BACKUP', 'MASTER', 'FAULT', 'BACKUP', 'MASTER', 'STOP'], 'the generic notify saw every transition in order')
  t.equal(calls.filter((l) => l === 'became-master').length, 2, 'notify_master ran on each takeover')
})

t.test('a tracked process losing its quorum puts the master in FAULT; its return brings it back', async (t) => {
  const [a, b, client] = nodes(t)
  // A parameter no other process on the machine has, so only ours counts.
  const marker = `${process.pid}.321`
  let sleeper = a.spawn('sleeper', ['sleep', marker])
  const tracked = `vrrp_track_process chk_sleep {\n    process sleep ${marker}\n    weight 0\n}\n`
  const pa = a.startKeepalivedTs(globalDefs('a') + instanceConf(V2, a, b, { priority: 150, before: tracked, extra: '    track_process {\n        chk_sleep\n    }\n' }))
  const pb = b.startKeepalivedTs(globalDefs('b') + instanceConf(V2, b, a, { priority: 100 }))
  await pa.waitForLine(/\(VI_1\) Entering MASTER STATE/, 15_000)
  await eventually(() => a.hasAddress(VIP), 'VIP on a', 5_000)
  t.ok(reach(client, VIP))

  await sleeper.stop()
  await pa.waitForLine(/Quorum lost for tracked process chk_sleep/, 5_000)
  await pa.waitForLine(/\(VI_1\) Entering FAULT STATE/, 2_000)
  await pb.waitForLine(/\(VI_1\) Entering MASTER STATE/, 8_000)
  await ownsVip(client, b, VIP, [a])

  sleeper = a.spawn('sleeper', ['sleep', marker])
  t.teardown(() => { void sleeper.stop() })
  await pa.waitForLine(/Quorum gained for tracked process chk_sleep/, 5_000)
  await pa.waitForLine(/\(VI_1\) Entering MASTER STATE/, 10_000, pa.lines.findIndex((l) => /Entering FAULT STATE/.test(l)))
  await ownsVip(client, a, VIP, [b])
})
