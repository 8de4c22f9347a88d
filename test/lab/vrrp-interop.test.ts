/**
 * keepalived-ts and Debian's keepalived as VRRP peers, in both roles, for every
 * variant (VRRPv2 PASS, VRRPv3 over IPv4 and IPv6, multicast and unicast): the
 * master is elected, neither side rejects the other's adverts, SIGTERM hands
 * the VIP over, and the client's neighbour entry follows the new master
 * because of its gratuitous ARP / unsolicited NA.
 */
import t from 'tap'
import { createLab, type LabNode } from '../helpers/lab.js'
import {
  eventually, globalDefs, type Implementation, instanceConf, neighbourMac, ownsVip, reach, start, VARIANTS, type Variant, vipOf,
} from '../helpers/vrrp-scenario.js'

/** Any of keepalived's advert-drop lines (reference §4.3) means the peers do not interoperate. */
const REJECTED = /invalid|mismatch|wrong version|unexpected|not a unicast peer|not present in MASTER advert|Invalid auth|received a \d auth/

function handover(v: Variant, masterImpl: Implementation, backupImpl: Implementation): void {
  t.test(`${v.name}: ${masterImpl} master, ${backupImpl} backup; SIGTERM hands over`, async (t) => {
    const lab = createLab(t, ['m', 'b', 'client'])
    const [m, b, client] = ['m', 'b', 'client'].map((n) => lab.node(n)) as [LabNode, LabNode, LabNode]
    const vip = vipOf(v)
    const master = start(m, masterImpl, globalDefs('m') + instanceConf(v, m, b, { priority: 150 }))
    await master.waitForLine(/\(VI_1\) Entering BACKUP STATE \(init\)/, 10_000)
    const backup = start(b, backupImpl, globalDefs('b') + instanceConf(v, b, m, { priority: 100 }))
    await master.waitForLine(/\(VI_1\) Entering MASTER STATE/, 15_000)
    await backup.waitForLine(/\(VI_1\) Entering BACKUP STATE/, 10_000)
    await eventually(() => m.hasAddress(vip), 'the VIP on the master', 5_000)
    t.ok(reach(client, vip), 'the client reaches the VIP on the first master')
    t.equal(neighbourMac(client, vip), m.mac, `the client resolves the VIP to ${masterImpl}'s MAC`)
    // Let a few adverts cross, so that a rejection would show in the logs.
    await new Promise((r) => setTimeout(r, 2_500))
    t.ok(b.hasAddress(vip) === false, 'the backup does not hold the VIP')

    const seen = backup.lines.length
    master.signal('SIGTERM')
    t.same(await master.exited, { code: 0, signal: null }, `${masterImpl} stops cleanly`)
    t.notOk(m.hasAddress(vip), 'the stopped master released the VIP')
    await backup.waitForLine(/\(VI_1\) Entering MASTER STATE/, 6_000, seen)
    if (masterImpl === 'ours' || backupImpl === 'ours') {
      // Priority 0 makes the backup take over after its skew time, not the full down interval.
      t.ok(backup.lines.slice(seen).some((l) => /Backup received priority 0 advertisement/.test(l)), 'the backup saw the priority-0 advert')
    }
    // No traffic from the client here: only the new master's GARP / NA can move its entry.
    await ownsVip(client, b, vip, [m])
    t.equal(neighbourMac(client, vip), b.mac, `after takeover the client resolves the VIP to ${backupImpl}'s MAC`)
    t.ok(reach(client, vip), 'and reaches it')

    const rejected = [...master.lines, ...backup.lines].filter((l) => REJECTED.test(l))
    t.same(rejected, [], 'no advert was rejected by either side')
    await backup.stop()
  })
}

for (const v of VARIANTS) {
  handover(v, 'ours', 'keepalived')
  handover(v, 'keepalived', 'ours')
}
