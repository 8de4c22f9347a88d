/**
 * The VRRP side of SIGHUP, respawn and the signal dumps, on a namespace lab
 * (kats-rl-*, 10.36.0.0/24, fd36::/64) with Debian's keepalived as the peer:
 * a MASTER reloaded with one more VIP and another priority keeps its VIP
 * (polled every 50 ms), adds and announces the new one, and neither it nor
 * its peer changes state; an instance the reload removes sends priority 0
 * and its VIP goes to the peer; SIGUSR1 / SIGUSR2 / SIGRTMIN+2 write the
 * files. Signals go to the pid in the daemon's -p file and the checks look
 * only at files, addresses and log lines, so they hold whatever the process
 * model behind it. The respawn case runs the VRRP runtime alone
 * (test/helpers/vrrp-runtime-driver.mjs), as a restarted VRRP child would.
 */
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { LabProcess } from '../helpers/lab.js'
import { createReloadLab, type RlNode } from '../helpers/reload-lab.js'
import { eventually } from '../helpers/vrrp-scenario.js'

const DRIVER = fileURLToPath(new URL('../helpers/vrrp-runtime-driver.mjs', import.meta.url))
const VIP = '10.36.0.100'
const NEW_VIP = '10.36.0.101'
const GONE_VIP = '10.36.0.200'
const SIGRTMIN_2 = 36

interface Instance {
  readonly name: string
  readonly vrid: number
  readonly priority: number
  readonly vips: readonly string[]
  /** More lines in the block. */
  readonly extra?: string
}

function conf(id: string, instances: readonly Instance[], before = ''): string {
  return `global_defs {\n    router_id ${id}\n}\n${before}` + instances.map((i) => `vrrp_instance ${i.name} {
    state BACKUP
    interface eth0
    virtual_router_id ${i.vrid}
    priority ${i.priority}
    advert_int 1
    skip_check_adv_addr
    authentication {
        auth_type PASS
        auth_pass rl5
    }
${i.extra ?? ''}    virtual_ipaddress {
${i.vips.map((v) => `        ${v}/24\n`).join('')}    }
}
`).join('')
}

/** Sample `address` on `node` every 50 ms until stopped; how many samples, and which missed it. */
function watchAddress(node: RlNode, address: string): { stop(): Promise<{ samples: number; missing: number }> } {
  let running = true
  let samples = 0
  let missing = 0
  const loop = (async () => {
    for (let i = 0; running && i < 2_000; i++) {
      samples++
      if (!node.hasAddress(address)) missing++
      await new Promise((r) => setTimeout(r, 50))
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      return { samples, missing }
    },
  }
}

function after(p: LabProcess, from: number, re: RegExp): string[] {
  return p.lines.slice(from).filter((l) => re.test(l))
}

function fileMode(path: string): number {
  return statSync(path).mode & 0o777
}

t.test('reload of a MASTER: one more VIP, another priority, one instance removed', async (t) => {
  const lab = createReloadLab(t, ['a', 'b', 'client'])
  const [a, b, client] = [lab.node('a'), lab.node('b'), lab.node('client')]
  // Gratuitous ARP may create neighbour entries here: the new VIP's GARP shows on the client.
  client.exec(['sysctl', '-q', '-w', 'net.ipv4.conf.all.arp_accept=1', 'net.ipv4.conf.eth0.arp_accept=1'])
  const before: Instance[] = [
    { name: 'VI_1', vrid: 51, priority: 150, vips: [VIP] },
    { name: 'VI_2', vrid: 52, priority: 150, vips: [GONE_VIP] },
  ]
  const ours = a.startDaemon('ours', conf('a', before))
  await ours.waitForLine(/\(VI_1\) Entering MASTER STATE/, 15_000)
  await ours.waitForLine(/\(VI_2\) Entering MASTER STATE/, 5_000)
  const peer = b.startDaemon('keepalived', conf('b', before.map((i) => ({ ...i, priority: 100 }))))
  await peer.waitForLine(/\(VI_1\) Entering BACKUP STATE/, 10_000)
  await peer.waitForLine(/\(VI_2\) Entering BACKUP STATE/, 10_000)
  await eventually(() => a.hasAddress(VIP) && a.hasAddress(GONE_VIP), 'both VIPs on a', 5_000)
  // The second GARP round of becoming MASTER (garp_master_delay 5 s) is over before the reload.
  await eventually(() => ours.lines.filter((l) => l.endsWith(`Sending gratuitous ARP on eth0 for ${VIP}`)).length >= 10, 'both GARP rounds of the election', 10_000)
  t.notOk(b.hasAddress(VIP) || b.hasAddress(GONE_VIP), 'the peer holds no VIP')

  const watch = watchAddress(a, VIP)
  await new Promise((r) => setTimeout(r, 500))
  const oursFrom = ours.lines.length
  const peerFrom = peer.lines.length
  a.writeConf('ours', conf('a', [{ name: 'VI_1', vrid: 51, priority: 160, vips: [VIP, NEW_VIP] }]))
  process.kill(a.daemonPid('ours'), 'SIGHUP')

  await eventually(() => a.hasAddress(NEW_VIP), 'the new VIP on a', 5_000)
  await eventually(() => !a.hasAddress(GONE_VIP), 'the removed instance\'s VIP gone from a', 5_000)
  await peer.waitForLine(/\(VI_2\) Backup received priority 0 advertisement/, 5_000, peerFrom)
  await peer.waitForLine(/\(VI_2\) Entering MASTER STATE/, 5_000, peerFrom)
  await eventually(() => b.hasAddress(GONE_VIP), 'the peer took the removed instance\'s VIP', 5_000)
  await eventually(() => client.neighbourMac(NEW_VIP) === a.mac, 'the client learnt the new VIP from its GARP', 5_000)
  // Several adverts with the new priority and the new VIP list cross before we look.
  await new Promise((r) => setTimeout(r, 3_000))
  const polled = await watch.stop()
  t.ok(polled.samples >= 40, `the VIP was polled (${polled.samples} samples)`)
  t.equal(polled.missing, 0, 'the old VIP never disappeared from the master')

  t.ok(after(ours, oursFrom, /\(VI_2\) sent 0 priority/).length > 0, 'the removed MASTER sent priority 0')
  t.same(after(ours, oursFrom, /\(VI_1\) Entering/), [], 'the reloaded instance stayed MASTER')
  t.same(after(peer, peerFrom, /\(VI_1\) Entering/), [], 'the peer saw no transition of VI_1')
  t.same(after(peer, peerFrom, /invalid|mismatch|unexpected/), [], 'the peer rejected nothing')
  t.ok(after(ours, oursFrom, new RegExp(`Sending gratuitous ARP on eth0 for ${NEW_VIP.replace(/\./g, '\\.')}$`)).length >= 1, 'GARPs for the new VIP')
  t.same(after(ours, oursFrom, new RegExp(`Sending gratuitous ARP on eth0 for ${VIP.replace(/\./g, '\\.')}$`)), [], 'none for the VIP that was already there')
  t.ok(a.hasAddress(VIP) && a.hasAddress(NEW_VIP) && !b.hasAddress(VIP) && !b.hasAddress(NEW_VIP), 'VI_1\'s VIPs on a only')

  // The dumps, on the signals, from whichever process runs VRRP behind the -p pid.
  const pid = a.daemonPid('ours')
  process.kill(pid, 'SIGUSR1')
  process.kill(pid, 'SIGUSR2')
  process.kill(pid, SIGRTMIN_2)
  const file = (name: string) => join(a.dumpDir, name)
  const readable = (name: string) => {
    try {
      return readFileSync(file(name), 'utf8').length > 0
    } catch {
      return false
    }
  }
  await eventually(() => ['keepalived.data', 'keepalived.stats', 'keepalived.json'].every(readable), 'the three dump files', 5_000)
  for (const name of ['keepalived.data', 'keepalived.stats', 'keepalived.json']) t.equal(fileMode(file(name)), 0o600, `${name} is 0600`)
  const stats = readFileSync(file('keepalived.stats'), 'utf8')
  t.match(stats, /^VRRP Instance: VI_1\n  Advertisements:\n    Received: \d+\n    Sent: [1-9]\d*\n  Became master: 1\n/)
  t.notMatch(stats, /VI_2/, 'the removed instance is gone from the stats')
  const data = readFileSync(file('keepalived.data'), 'utf8').split('\n')
  for (const line of [' VRRP Instance = VI_1', '   State = MASTER', '   Priority = 160', `     ${VIP}/24 dev eth0 scope global set`, `     ${NEW_VIP}/24 dev eth0 scope global set`]) {
    t.ok(data.includes(line), `data: ${line.trim()}`)
  }
  const json = JSON.parse(readFileSync(file('keepalived.json'), 'utf8')) as { data: Record<string, unknown>; stats: Record<string, number> }[]
  t.equal(json.length, 1)
  t.match(json[0]!.data, { iname: 'VI_1', vrid: 51, base_priority: 160, effective_priority: 160, state: 2, vipset: true })
  t.same(json[0]!.data.vips, [`${VIP}/24 dev eth0 scope global set`, `${NEW_VIP}/24 dev eth0 scope global set`])
  t.ok(json[0]!.stats.advert_sent! > 0 && json[0]!.stats.become_master === 1, 'the counters survived the reload')

  // Debian's keepalived, as BACKUP, reports the master's new priority.
  process.kill(b.daemonPid('keepalived'), 'SIGUSR1')
  await eventually(() => {
    try {
      return readFileSync(join(b.dumpDir, 'keepalived.data'), 'utf8').includes('Master priority = 160')
    } catch {
      return false
    }
  }, 'the peer saw priority 160 in the adverts', 5_000)

  await ours.stop()
  await peer.stop()
})

t.test('respawn: a MASTER resumes at once, its VIP never leaves and the peer sees nothing', async (t) => {
  const lab = createReloadLab(t, ['a', 'b'])
  const [a, b] = [lab.node('a'), lab.node('b')]
  const instances: Instance[] = [{ name: 'VI_1', vrid: 61, priority: 150, vips: [VIP] }]
  a.writeConf('ours', conf('a', instances))
  const confPath = join(a.dir, 'keepalived-ts.conf')
  const env = { ...process.env, TMPDIR: a.dumpDir }
  const first = a.spawn('driver-1', [process.execPath, DRIVER, confPath], env)
  await first.waitForLine(/^STATE VI_1 MASTER$/, 15_000)
  const peer = b.startDaemon('keepalived', conf('b', instances.map((i) => ({ ...i, priority: 100 }))))
  await peer.waitForLine(/\(VI_1\) Entering BACKUP STATE/, 10_000)
  await eventually(() => a.hasAddress(VIP), 'the VIP on a', 5_000)
  await new Promise((r) => setTimeout(r, 1_500))

  const watch = watchAddress(a, VIP)
  const peerFrom = peer.lines.length
  first.signal('SIGKILL')
  await first.exited
  t.ok(a.hasAddress(VIP), 'the killed process left its VIP')
  const second = a.spawn('driver-2', [process.execPath, DRIVER, confPath, JSON.stringify({ respawn: true, vrrpStates: { VI_1: 'MASTER' } })], env)
  await second.waitForLine(/\(VI_1\) resuming MASTER state after a restart of the VRRP process/, 10_000)
  await second.waitForLine(/^STATE VI_1 MASTER$/, 2_000)
  // Longer than the peer's master-down interval (3 × 1 s + skew).
  await new Promise((r) => setTimeout(r, 5_000))
  const polled = await watch.stop()
  t.ok(polled.samples >= 60, `the VIP was polled (${polled.samples} samples)`)
  t.equal(polled.missing, 0, 'the VIP never left the resumed master')
  t.same(second.lines.filter((l) => /\(VI_1\) (removing VIPs|Entering)/.test(l)), [], 'no leftover removal, no election')
  t.ok(second.lines.some((l) => /Sending gratuitous ARP on eth0 for 10\.36\.0\.100$/.test(l)), 'one GARP burst')
  t.same(after(peer, peerFrom, /\(VI_1\) (Entering|Receive advertisement timeout)/), [], 'the peer saw no transition')

  const from = second.lines.length
  second.signal('SIGUSR1')
  const line = await second.waitForLine(/^STATUS /, 5_000, from)
  const status = JSON.parse(line.slice('STATUS '.length)) as { instances: { name: string; state: string; reason: string; master: string; priority: number }[] }
  t.match(status.instances, [{ name: 'VI_1', state: 'MASTER', reason: 'resumed after a restart of the VRRP process', master: a.ipv4, priority: 150 }])

  second.signal('SIGTERM')
  await second.waitForLine(/^STOPPED$/, 10_000)
  t.notOk(a.hasAddress(VIP), 'a clean stop releases the VIP')
  await peer.waitForLine(/\(VI_1\) Entering MASTER STATE/, 5_000, peerFrom)
  await peer.stop()
})

t.test('reload adds a failing weight-0 track_script: FAULT, the peer takes over; removing it brings the master back', async (t) => {
  const lab = createReloadLab(t, ['a', 'b'])
  const [a, b] = [lab.node('a'), lab.node('b')]
  const plain: Instance = { name: 'VI_1', vrid: 71, priority: 150, vips: [VIP] }
  a.writeConf('ours', conf('a', [plain]))
  const confPath = join(a.dir, 'keepalived-ts.conf')
  const ours = a.spawn('driver', [process.execPath, DRIVER, confPath], { ...process.env, TMPDIR: a.dumpDir })
  await ours.waitForLine(/^STATE VI_1 MASTER$/, 15_000)
  const peer = b.startDaemon('keepalived', conf('b', [{ ...plain, priority: 100 }]))
  await peer.waitForLine(/\(VI_1\) Entering BACKUP STATE/, 10_000)
  const status = async (): Promise<{ state: string; reason: string; counters: { transitions: number } }> => {
    const from = ours.lines.length
    ours.signal('SIGUSR1')
    const line = await ours.waitForLine(/^STATUS /, 5_000, from)
    return (JSON.parse(line.slice('STATUS '.length)) as { instances: { state: string; reason: string; counters: { transitions: number } }[] }).instances[0]!
  }

  let from = ours.lines.length
  a.writeConf('ours', conf('a', [{ ...plain, extra: '    track_script {\n        chk\n    }\n' }], 'vrrp_script chk {\n    script "/bin/false"\n    interval 1\n}\n'))
  ours.signal('SIGHUP')
  await ours.waitForLine(/^RELOADED$/, 5_000, from)
  await ours.waitForLine(/VRRP_Script\(chk\) failed \(exited with status 1\)/, 5_000, from)
  await ours.waitForLine(/^STATE VI_1 FAULT$/, 5_000, from)
  t.match(await status(), { state: 'FAULT', reason: 'tracked script chk down' })
  await eventually(() => !a.hasAddress(VIP), 'the faulty master released the VIP', 5_000)
  await peer.waitForLine(/\(VI_1\) Entering MASTER STATE/, 8_000)
  await eventually(() => b.hasAddress(VIP), 'the peer holds the VIP', 5_000)

  from = ours.lines.length
  a.writeConf('ours', conf('a', [plain]))
  ours.signal('SIGHUP')
  await ours.waitForLine(/^STATE VI_1 BACKUP$/, 5_000, from)
  t.ok(ours.lines.slice(from).some((l) => /\(VI_1\) Entering BACKUP STATE$/.test(l)), 'the cleared fault is keepalived\'s Entering BACKUP STATE')
  // Priority 150 against the peer's 100: preempted after the master-down interval.
  await ours.waitForLine(/^STATE VI_1 MASTER$/, 8_000, from)
  t.match(await status(), { state: 'MASTER', reason: `preempting lower priority master ${b.ipv4}` })
  await eventually(() => a.hasAddress(VIP) && !b.hasAddress(VIP), 'the VIP back on a only', 5_000)
  ours.signal('SIGTERM')
  await ours.waitForLine(/^STOPPED$/, 10_000)
  await peer.stop()
})
