/**
 * use_vmac end to end (reference §5.9): the master's VIP lives on a private
 * macvlan vrrp.51 with the virtual router MAC 00:00:5e:00:01:33, so ARP for
 * the VIP is answered with that MAC — by whichever node is master, which is
 * the point of a VMAC. A stopped node leaves no vrrp.51 behind and gets its
 * base interface's ARP sysctls back.
 *
 * Why the ARP reply is captured rather than the client's entry read after the
 * ping: the master replies through eth0 (the first 10.33.0.0/24 route) and
 * first ARPs for the client from eth0 with the VIP as sender, which rewrites
 * the client's entry to eth0's MAC — Debian's keepalived 2.2.7 does exactly
 * the same with these sysctls (checked with tcpdump in this lab).
 */
import t from 'tap'
import { createLab, type LabNode } from '../helpers/lab.js'
import { eventually, globalDefs, type Implementation, instanceConf, neighbourMac, reach, start, VARIANTS } from '../helpers/vrrp-scenario.js'

const V2 = VARIANTS[0]!
const VIP = '10.33.0.100'
const VMAC = '00:00:5e:00:01:33'

/** vrrp.51 as `ip -j link` shows it, or undefined when there is none. */
function vmacLink(node: LabNode): { address?: string; link?: string; linkinfo?: { info_kind?: string; info_data?: { mode?: string } } } | undefined {
  const r = node.exec(['ip', '-d', '-j', 'link', 'show', 'vrrp.51'])
  if (r.status !== 0) return undefined
  return (JSON.parse(r.stdout) as { address?: string }[])[0]
}

/** Whether `address` is on vrrp.51 (and so not on eth0). */
function onVmac(node: LabNode, address: string): boolean {
  return node.addresses().some((l) => /^\d+: vrrp\.51\s/.test(l) && l.includes(` ${address}/`))
}

/** The MACs that answered the client's ARP for `vip` while it pinged it (entry flushed first). */
async function arpAnswers(client: LabNode, vip: string): Promise<{ reached: boolean; macs: string[] }> {
  client.exec(['ip', 'neigh', 'flush', 'to', vip])
  const dump = client.spawn('tcpdump', ['tcpdump', '-l', '-n', '-i', 'eth0', 'arp'])
  await dump.waitForLine(/listening on eth0/, 5_000)
  const reached = reach(client, vip)
  await new Promise((r) => setTimeout(r, 300))
  dump.signal('SIGTERM')
  await new Promise((r) => setTimeout(r, 300))
  const macs = dump.lines.flatMap((l) => new RegExp(`Reply ${vip.replace(/\./g, '\\.')} is-at (\\S+),`).exec(l)?.[1] ?? [])
  return { reached, macs }
}

function sysctl(node: LabNode, name: string): string {
  return node.exec(['cat', `/proc/sys/net/ipv4/conf/eth0/${name}`]).stdout.trim()
}

for (const backupImpl of ['ours', 'keepalived'] as Implementation[]) {
  t.test(`use_vmac: the VIP on vrrp.51 with the virtual MAC, which still answers for it after a SIGTERM failover (backup: ${backupImpl})`, async (t) => {
    const lab = createLab(t, ['a', 'b', 'client'])
    const [a, b, client] = [lab.node('a'), lab.node('b'), lab.node('client')]
    t.equal(sysctl(a, 'arp_ignore'), '0', 'the lab starts with arp_ignore 0')
    const vmac = { extra: '    use_vmac\n' }
    const pa = a.startKeepalivedTs(globalDefs('a') + instanceConf(V2, a, b, { priority: 150, ...vmac }))
    await pa.waitForLine(/\(VI_1\) Entering MASTER STATE/, 15_000)
    const pb = start(b, backupImpl, globalDefs('b') + instanceConf(V2, b, a, { priority: 100, ...vmac }))
    await pb.waitForLine(/\(VI_1\) Entering BACKUP STATE/, 5_000)
    await pa.waitForLine(/\(VI_1\): Success creating VMAC interface vrrp\.51/, 1_000)
    await eventually(() => onVmac(a, VIP), 'the VIP on a\'s vrrp.51', 5_000)
    t.notOk(b.hasAddress(VIP), 'the backup has no VIP')
    t.notOk(pa.lines.some((l) => /use_vmac is not supported/.test(l)), 'no "not supported" warning')

    const link = vmacLink(a)
    t.equal(link?.address, VMAC, 'vrrp.51 has the virtual router MAC')
    t.equal(link?.link, 'eth0', 'on eth0')
    t.equal(link?.linkinfo?.info_kind, 'macvlan')
    t.equal(link?.linkinfo?.info_data?.mode, 'private')
    t.equal(vmacLink(b)?.address, VMAC, 'the backup has its VMAC too, without the VIP')
    t.equal(sysctl(a, 'arp_ignore'), '1', 'arp_ignore on the base interface')
    t.equal(sysctl(a, 'arp_filter'), '1', 'arp_filter on the base interface')
    t.equal(a.exec(['cat', '/proc/sys/net/ipv4/conf/vrrp.51/arp_ignore']).stdout.trim(), '1', 'arp_ignore on the VMAC')

    const before = await arpAnswers(client, VIP)
    t.ok(before.reached, 'the client reaches the VIP')
    t.same(before.macs, [VMAC], 'only the virtual MAC answers ARP for the VIP (eth0 ignores it: arp_ignore)')

    // Nothing but the master's adverts keeps b in BACKUP: with both VMACs up, b must still hear them.
    await new Promise((r) => setTimeout(r, 4_000))
    t.notOk(pb.lines.some((l) => /Entering MASTER STATE/.test(l)), 'the backup hears the adverts a sends from its VMAC')

    const seen = pb.lines.length
    await pa.stop()
    await pb.waitForLine(/\(VI_1\) Entering MASTER STATE/, 8_000, seen)
    await eventually(() => onVmac(b, VIP), 'the VIP on b\'s vrrp.51', 5_000)
    await eventually(() => neighbourMac(client, VIP) === VMAC, "b's GARP sets the client's entry to the virtual MAC", 5_000)
    t.equal(vmacLink(a), undefined, 'the stopped node deleted vrrp.51')
    t.notOk(a.hasAddress(VIP), 'and has no VIP')
    t.equal(sysctl(a, 'arp_ignore'), '0', 'arp_ignore restored on stop')
    t.equal(sysctl(a, 'arp_filter'), '0', 'arp_filter restored on stop')
    const after = await arpAnswers(client, VIP)
    t.ok(after.reached, 'the client reaches the VIP on the new master')
    t.same(after.macs, [VMAC], 'the new master answers ARP for the VIP with the same virtual MAC')
    await pb.stop()
    t.equal(vmacLink(b), undefined, 'the backup deleted its vrrp.51 too')
  })
}
