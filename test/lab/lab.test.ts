/**
 * The lab proves itself with Debian's keepalived: two nodes elect one MASTER,
 * a client reaches the VIP through the master's MAC, and stopping the master
 * moves the VIP and the client's neighbour entry to the other node. The same
 * shape serves keepalived-ts vs keepalived interop (node.startKeepalivedTs).
 */
import t from 'tap'
import { createLab, type LabNode } from '../helpers/lab.js'

const VIP = '10.33.0.100'

function conf(priority: number): string {
  return `global_defs {
    router_id lab_${priority}
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority ${priority}
    advert_int 1
    virtual_ipaddress {
        ${VIP}/24
    }
}
`
}

async function eventually(cond: () => boolean, what: string, ms: number): Promise<void> {
  const end = Date.now() + ms
  for (;;) {
    if (cond()) return
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

function macFor(client: LabNode, address: string): string | undefined {
  return client.neighbours().find((e) => e.dst === address)?.lladdr
}

t.test('two keepalived nodes elect one master; SIGTERM moves the VIP and the client follows', async (t) => {
  const lab = createLab(t, ['n1', 'n2', 'client'])
  const n1 = lab.node('n1')
  const n2 = lab.node('n2')
  const client = lab.node('client')
  t.ok(client.ping(n1.ipv4), 'the segment works before any VRRP')

  const k1 = n1.startKeepalived(conf(150))
  const k2 = n2.startKeepalived(conf(100))
  await k1.waitForLine(/\(VI_1\) Entering MASTER STATE/, 15_000)
  await k2.waitForLine(/\(VI_1\) Entering BACKUP STATE/, 5_000)
  await eventually(() => n1.hasAddress(VIP) && !n2.hasAddress(VIP), 'VIP on n1 only', 5_000)

  t.ok(client.ping(VIP, 3), 'the client reaches the VIP')
  t.equal(macFor(client, VIP), n1.mac, "the client's neighbour entry names n1's MAC")

  const seen = k2.lines.length
  const t0 = Date.now()
  k1.signal('SIGTERM')
  await k1.waitForLine(/Stopped Keepalived/, 5_000)
  t.same(await k1.exited, { code: 0, signal: null }, 'the old master stops cleanly')
  await k2.waitForLine(/\(VI_1\) Entering MASTER STATE/, 5_000, seen)
  const took = Date.now() - t0
  t.ok(took < 5_000, `n2 took over in ${took} ms`)
  await eventually(() => n2.hasAddress(VIP) && !n1.hasAddress(VIP), 'VIP on n2 only', 5_000)
  // n2's gratuitous ARPs update the client's existing entry.
  await eventually(() => macFor(client, VIP) === n2.mac, "the client's entry names n2's MAC", 5_000)
  t.ok(client.ping(VIP, 3), 'the client still reaches the VIP')
  t.equal(macFor(client, VIP), n2.mac)
})

t.test('link down on the master: the backup takes over; teardown leaves no namespace', async (t) => {
  const lab = createLab(t, 2)
  const [a, b] = lab.nodes as [LabNode, LabNode]
  const ka = a.startKeepalived(conf(150))
  const kb = b.startKeepalived(conf(100))
  await ka.waitForLine(/Entering MASTER STATE/, 15_000)
  const seen = kb.lines.length
  a.linkDown()
  await kb.waitForLine(/Entering MASTER STATE/, 8_000, seen)
  await ka.waitForLine(/Entering FAULT STATE/, 5_000)
  t.ok(b.hasAddress(VIP))
  a.linkUp()
  await ka.waitForLine(/Entering MASTER STATE/, 15_000, ka.lines.findIndex((l) => /FAULT/.test(l)))
  const ns = a.ns
  lab.destroy()
  const { spawnSync } = await import('node:child_process')
  const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout
  t.notOk(left.includes(ns), 'namespaces deleted')
  t.equal(ka.lines.length > 0, true)
})
