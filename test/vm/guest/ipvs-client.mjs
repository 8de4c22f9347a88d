// Runs as root inside the IPVS test VM (test/vm/ipvs-client.test.ts), after
// the host's bash script gave the guest routes to the real servers: a veth
// pair `vd` (192.168.50.1/24, 10.60.0.1/16, fd50::1/64) whose other end sits
// in the namespace `rs`. Drives the built client (dist/net/ipvs.js) through
// every command keepalived uses and prints what happened as
// `@@IPVS <name> <json>` lines, with ipvsadm's own view of the same table,
// for the host to assert on. It decides nothing itself.
import { execFileSync } from 'node:child_process'
import { openIpvs } from '../../../dist/net/ipvs.js'

const PERSISTENT = 0x1
const ONEPACKET = 0x4
const SCHED1 = 0x8
const SCHED2 = 0x10

const out = (name, value) => process.stdout.write(`@@IPVS ${name} ${JSON.stringify(value)}\n`)
const ipvsadm = (...args) => execFileSync('ipvsadm', args, { encoding: 'utf8', timeout: 10_000 })
const outcome = (r) => (r instanceof Error ? { code: r.code, errno: r.errno?.name, operation: r.operation, address: r.address, message: r.message } : null)

const tcp = (address, port) => ({ kind: 'address', family: address.includes(':') ? 6 : 4, protocol: 'TCP', address, port })
const udp = (address, port) => ({ ...tcp(address, port), protocol: 'UDP' })
const sctp = (address, port) => ({ ...tcp(address, port), protocol: 'SCTP' })
const fwm = (family, fwmark) => ({ kind: 'fwmark', family, fwmark })
const service = (key, scheduler, more = {}) => ({
  key, scheduler, flags: 0, timeout: 0, netmask: key.family === 4 ? 0xffffffff : 128, persistenceEngine: undefined, ...more,
})
const dest = (address, port, forwarding, weight, more = {}) => ({
  family: address.includes(':') ? 6 : 4, address, port, forwarding, weight, upperThreshold: 0, lowerThreshold: 0,
  tunnelType: undefined, tunnelPort: undefined, tunnelChecksum: undefined, ...more,
})

const web = tcp('10.0.0.1', 80)
const web6 = tcp('2001:db8::1', 443)
const schedulers = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh']
/** [service, its destinations] as this script adds them. */
const table = [
  [service(web, 'wlc'), [
    dest('192.168.50.2', 8080, 'NAT', 1),
    dest('192.168.50.3', 80, 'DR', 5, { upperThreshold: 100, lowerThreshold: 10 }),
    dest('192.168.50.4', 80, 'TUN', 2, { tunnelType: 'ipip' }),
    dest('192.168.50.5', 80, 'TUN', 3, { tunnelType: 'gue', tunnelPort: 6080, tunnelChecksum: 'csum' }),
    dest('192.168.50.6', 80, 'TUN', 4, { tunnelType: 'gre', tunnelChecksum: 'nocsum' }),
    dest('192.168.50.8', 80, 'TUN', 4, { tunnelType: 'gue', tunnelPort: 6081, tunnelChecksum: 'nocsum' }),
  ]],
  [service(udp('10.0.0.2', 53), 'rr'), [dest('192.168.50.2', 53, 'NAT', 1)]],
  [service(sctp('10.0.0.3', 3868), 'rr'), [dest('192.168.50.3', 3868, 'DR', 1)]],
  [service(web6, 'wlc'), [
    dest('fd50::2', 8443, 'NAT', 1),
    dest('fd50::3', 443, 'DR', 2),
    dest('fd50::4', 443, 'TUN', 1, { tunnelType: 'ipip' }),
    // An IPv4 real server behind an IPv6 service: only tunnels can do that.
    dest('192.168.50.7', 443, 'TUN', 1, { tunnelType: 'ipip' }),
  ]],
  [service(fwm(4, 1), 'rr'), [dest('192.168.50.3', 0, 'DR', 1)]],
  [service(fwm(6, 2), 'wrr', { flags: PERSISTENT, timeout: 300, netmask: 64 }), [dest('fd50::3', 0, 'DR', 1)]],
  [service(tcp('10.0.0.4', 443), 'lc', { flags: PERSISTENT, timeout: 600, netmask: 0xffffff00 }), [dest('192.168.50.2', 443, 'NAT', 1)]],
  [service(udp('10.0.0.5', 5060), 'rr', { flags: ONEPACKET }), [dest('192.168.50.2', 5060, 'NAT', 1)]],
  [service(udp('10.0.0.6', 5060), 'sh', { flags: PERSISTENT, timeout: 60, persistenceEngine: 'sip' }), []],
  ...schedulers.map((s, i) => [
    service(tcp('10.0.0.10', 8001 + i), s, { flags: s === 'sh' || s === 'mh' ? SCHED1 | SCHED2 : 0 }),
    [dest('192.168.50.2', 8001 + i, 'NAT', i + 1)],
  ]),
]

const keyText = (k) => (k.kind === 'fwmark' ? `FWM ${k.fwmark} IPv${k.family}` : `${k.protocol} ${k.family === 6 ? `[${k.address}]` : k.address}:${k.port}`)
const destText = (d) => `${d.family === 6 ? `[${d.address}]` : d.address}:${d.port}`
/** Entries in a stable order, destinations without their counters. */
function normalise(entries) {
  return entries
    .map(({ service: s, dests }) => ({
      service: s,
      dests: dests
        .map(({ activeConnections, inactiveConnections, persistentConnections, ...d }) => d)
        .sort((a, b) => destText(a).localeCompare(destText(b))),
    }))
    .sort((a, b) => keyText(a.service.key).localeCompare(keyText(b.service.key)))
}
const expected = () => normalise(table.map(([s, dests]) => ({ service: s, dests })))

async function dump(ipvs, name) {
  const entries = await ipvs.services()
  if (entries instanceof Error) return out(name, { error: outcome(entries) })
  const counters = entries.every((e) => e.dests.every((d) => [d.activeConnections, d.inactiveConnections, d.persistentConnections].every(Number.isInteger)))
  out(name, { entries: normalise(entries), counters, expected: expected(), save: ipvsadm('-Sn'), thresholds: ipvsadm('-Ln', '--thresholds') })
}

async function main() {
  const ipvs = await openIpvs()
  if (ipvs instanceof Error) return out('open', { error: outcome(ipvs) })
  out('open', { ok: true })
  out('info', { info: await ipvs.info(), ipvsadm: ipvsadm('-Ln').split('\n')[0] })
  out('flush-first', outcome(await ipvs.flush()))

  // Add everything without awaiting one by one: the client keeps the order.
  const before = ipvs.operations
  const added = await Promise.all(table.flatMap(([s, dests]) => [ipvs.addService(s), ...dests.map((d) => ipvs.addDest(s.key, d))]))
  out('add', { results: added.map(outcome), operations: ipvs.operations - before, requests: added.length })
  await dump(ipvs, 'dump-added')

  // Edits: scheduler and persistence; weight (inhibit) and thresholds; tunnel port/checksum; NAT → DR.
  const [s1, s1dests] = table[0]
  const edited = { ...s1, scheduler: 'rr', flags: PERSISTENT, timeout: 120, netmask: 0xffffffff }
  table[0][0] = edited
  s1dests[0] = { ...s1dests[0], weight: 0, upperThreshold: 50, lowerThreshold: 5 }
  s1dests[3] = { ...s1dests[3], tunnelPort: 7000, tunnelChecksum: 'remcsum' }
  s1dests[4] = { ...s1dests[4], tunnelChecksum: 'csum' }
  const dns = table[1]
  dns[1][0] = { ...dns[1][0], forwarding: 'DR' }
  const edits = [
    await ipvs.editService(edited),
    await ipvs.editDest(web, s1dests[0]),
    await ipvs.editDest(web, s1dests[3]),
    await ipvs.editDest(web, s1dests[4]),
    await ipvs.editDest(dns[0].key, dns[1][0]),
  ]
  out('edit', edits.map(outcome))
  await dump(ipvs, 'dump-edited')

  // The kernel's refusals, as coded errors.
  const nat = dest('192.168.50.2', 8080, 'NAT', 1)
  const daemon = { state: 'master', interface: 'vd', syncId: 7, maxLength: undefined, port: undefined, ttl: undefined, group: undefined }
  out('errors', {
    serviceExists: outcome(await ipvs.addService(edited)),
    destExists: outcome(await ipvs.addDest(web, s1dests[0])),
    deleteMissingDest: outcome(await ipvs.deleteDest(web, { family: 4, address: '192.168.50.99', port: 80 })),
    editMissingDest: outcome(await ipvs.editDest(web, { ...nat, address: '192.168.50.99' })),
    deleteMissingService: outcome(await ipvs.deleteService(tcp('10.0.0.99', 80))),
    destOfMissingService: outcome(await ipvs.addDest(tcp('10.0.0.99', 80), nat)),
    unknownScheduler: outcome(await ipvs.addService(service(tcp('10.0.0.98', 80), 'nosuch'))),
    multicastDest: outcome(await ipvs.addDest(web, dest('224.0.0.5', 80, 'DR', 1))),
    mixedFamilyNat: outcome(await ipvs.addDest(web6, dest('192.168.50.9', 443, 'NAT', 1))),
    daemonWithMixedFamilies: outcome(await ipvs.startDaemon(daemon)),
    stopMissingDaemon: outcome(await ipvs.stopDaemon('backup')),
  })

  // Timeouts: read, set, compare with ipvsadm, restore.
  const original = await ipvs.timeouts()
  const set = await ipvs.setTimeouts({ tcp: 1000, tcpFin: 100, udp: 200 })
  const changed = await ipvs.timeouts()
  const changedText = ipvsadm('-Ln', '--timeout')
  const partial = await ipvs.setTimeouts({ tcp: 0, tcpFin: 0, udp: 250 })
  const partialRead = await ipvs.timeouts()
  const restore = await ipvs.setTimeouts(original)
  out('timeouts', { original, set: outcome(set), changed, changedText, partial: outcome(partial), partialRead, restore: outcome(restore), restored: await ipvs.timeouts(), restoredText: ipvsadm('-Ln', '--timeout') })

  // Sync daemons need a table without mixed-family destinations.
  const mixed = table[3][1].pop()
  const removeMixed = await ipvs.deleteDest(web6, mixed)
  const master = { ...daemon, port: 8848, ttl: 2, group: '224.0.0.81', maxLength: 1400 }
  const backup = { ...daemon, state: 'backup', syncId: 7 }
  const started = [await ipvs.startDaemon(master), await ipvs.startDaemon(backup)]
  const running = await ipvs.daemons()
  const runningText = ipvsadm('-Ln', '--daemon')
  const stopped = [await ipvs.stopDaemon('master'), await ipvs.stopDaemon('backup')]
  out('daemons', {
    removeMixed: outcome(removeMixed), started: started.map(outcome), running, runningText, stopped: stopped.map(outcome),
    after: await ipvs.daemons(), afterText: ipvsadm('-Ln', '--daemon'),
  })

  // Deletions: a destination of each kind, then whole services.
  const removals = []
  for (const index of [5, 4, 2]) removals.push(await ipvs.deleteDest(web, s1dests.splice(index, 1)[0]))
  for (const gone of table.splice(9)) removals.push(await ipvs.deleteService(gone[0].key))
  out('delete', removals.map(outcome))
  await dump(ipvs, 'dump-deleted')

  out('flush', outcome(await ipvs.flush()))
  out('dump-flushed', { entries: await ipvs.services(), save: ipvsadm('-Sn') })

  // Benchmarks: 1000 sequential NEW_DEST, a dump of 1000 destinations, then the same 1000 pipelined.
  const bench = tcp('10.0.0.200', 80)
  const many = Array.from({ length: 1000 }, (_, i) => dest(`10.60.${1 + (i >> 8)}.${i & 0xff}`, 80, 'DR', 1))
  await ipvs.addService(service(bench, 'wlc'))
  const startOps = ipvs.operations
  let failures = 0
  let t0 = performance.now()
  for (const d of many) if ((await ipvs.addDest(bench, d)) instanceof Error) failures++
  const sequentialMs = performance.now() - t0
  const ops = ipvs.operations - startOps
  // The first dump runs cold (the emulated CPU compiles the decoder as it goes); the second is the steady state.
  const dumps = []
  for (let i = 0; i < 2; i++) {
    t0 = performance.now()
    const big = await ipvs.services()
    dumps.push({ ms: performance.now() - t0, dests: big instanceof Error ? outcome(big) : big[0]?.dests.length })
  }
  await ipvs.flush()
  await ipvs.addService(service(bench, 'wlc'))
  t0 = performance.now()
  const pipelined = await Promise.all(many.map((d) => ipvs.addDest(bench, d)))
  const pipelinedMs = performance.now() - t0
  const pipelinedFailures = pipelined.filter((r) => r instanceof Error).length
  const count = (ipvsadm('-Sn').match(/^-a /gm) ?? []).length
  await ipvs.flush()
  out('bench', { sequentialMs, failures, operations: ops, dumps, pipelinedMs, pipelinedFailures, ipvsadmCount: count })

  ipvs.close()
  out('closed', outcome(await ipvs.info()))
  out('done', true)
}

main().catch((err) => {
  out('crash', String(err?.stack ?? err))
  process.exitCode = 1
})
