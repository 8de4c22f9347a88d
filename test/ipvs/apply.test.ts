/** KernelTable: reconcile against the mirror, keepalived's tolerances and error lines, operation counts. */
import t from 'tap'
import { NetError } from '../../src/net/errors.js'
import type { IpvsDest, IpvsDestKey, IpvsService, IpvsServiceKey } from '../../src/net/ipvs-types.js'
import { ipvsErrorLine, type IpvsWriter, KernelTable } from '../../src/ipvs/apply.js'
import { destId, type Owned, serviceId } from '../../src/ipvs/desired.js'

const KEY: IpvsServiceKey = { kind: 'address', family: 4, protocol: 'TCP', address: '10.0.0.1', port: 80 }
const SERVICE: IpvsService = { key: KEY, scheduler: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff, persistenceEngine: undefined }

function dest(address: string, weight: number): IpvsDest {
  return { family: 4, address, port: 8080, forwarding: 'NAT', weight, upperThreshold: 0, lowerThreshold: 0, tunnelType: undefined, tunnelPort: undefined, tunnelChecksum: undefined }
}

function owned(...addresses: string[]): Owned {
  const id = serviceId(KEY)
  return { services: new Set([id]), dests: new Map([[id, new Set(addresses.map((a) => destId(dest(a, 0))))]]) }
}

function errno(name: string, number: number, operation = 'IPVS_CMD_NEW_DEST'): NetError {
  return new NetError('KA_NET_NETLINK', `kernel said ${name}`, { operation, errno: { name, number } })
}

/** A writer that records calls and answers from a script of errors (undefined = success). */
function fakeWriter(answers: Record<string, (NetError | undefined)[]> = {}): IpvsWriter & { calls: string[] } {
  const calls: string[] = []
  const answer = (name: string, what: string): Promise<void | NetError> => {
    calls.push(`${name} ${what}`)
    return Promise.resolve(answers[name]?.shift())
  }
  return {
    calls,
    addService: (s: IpvsService) => answer('addService', s.key.kind),
    editService: (s: IpvsService) => answer('editService', s.scheduler),
    deleteService: (k: IpvsServiceKey) => answer('deleteService', k.kind),
    addDest: (_k: IpvsServiceKey, d: IpvsDest) => answer('addDest', `${d.address}/${d.weight}`),
    editDest: (_k: IpvsServiceKey, d: IpvsDest) => answer('editDest', `${d.address}/${d.weight}`),
    deleteDest: (_k: IpvsServiceKey, d: IpvsDestKey) => answer('deleteDest', d.address),
  }
}

t.test('start-up from an empty kernel, then a weight change is one SET_DEST, then nothing', async (t) => {
  const w = fakeWriter()
  const lines: string[] = []
  const table = new KernelTable(w, (l) => lines.push(l))
  table.load([])
  const own = owned('10.0.1.1', '10.0.1.2')
  await table.sync([{ service: SERVICE, dests: [dest('10.0.1.1', 1), dest('10.0.1.2', 1)] }], own)
  t.same(w.calls, ['addService address', 'addDest 10.0.1.1/1', 'addDest 10.0.1.2/1'])
  w.calls.length = 0
  const before = table.operations
  await table.sync([{ service: SERVICE, dests: [dest('10.0.1.1', 1), dest('10.0.1.2', 5)] }], own)
  t.same(w.calls, ['editDest 10.0.1.2/5'])
  t.equal(table.operations - before, 1)
  w.calls.length = 0
  await table.sync([{ service: SERVICE, dests: [dest('10.0.1.1', 1), dest('10.0.1.2', 5)] }], own)
  t.same(w.calls, [], 'unchanged: no request')
  t.same(lines, [])
})

t.test('EEXIST on add and ENOENT on delete are not errors; SET_DEST on a missing dest becomes NEW_DEST', async (t) => {
  const w = fakeWriter({ addService: [errno('EEXIST', 17)], addDest: [errno('EEXIST', 17)], deleteDest: [errno('ENOENT', 2)], editDest: [errno('ENOENT', 2)] })
  const lines: string[] = []
  const table = new KernelTable(w, (l) => lines.push(l))
  table.load([])
  const own = owned('10.0.1.1', '10.0.1.2')
  await table.sync([{ service: SERVICE, dests: [dest('10.0.1.1', 1), dest('10.0.1.2', 1)] }], own)
  await table.sync([{ service: SERVICE, dests: [dest('10.0.1.2', 1)] }], own)
  await table.sync([{ service: SERVICE, dests: [dest('10.0.1.2', 3)] }], own)
  t.same(w.calls.slice(-2), ['editDest 10.0.1.2/3', 'addDest 10.0.1.2/3'])
  t.same(lines, [])
  t.same(table.view()[0]?.dests.map((d) => `${d.address}/${d.weight}`), ['10.0.1.2/3'])
})

t.test('a failure is logged in keepalived format, not mirrored, and the next operations still run', async (t) => {
  const w = fakeWriter({ addDest: [errno('EINVAL', 22)] })
  const lines: string[] = []
  const table = new KernelTable(w, (l) => lines.push(l))
  table.load([])
  const result = await table.sync([{ service: SERVICE, dests: [dest('10.0.1.1', 1), dest('10.0.1.2', 1)] }], owned('10.0.1.1', '10.0.1.2'))
  t.same(result, { sent: 3, failed: 1 })
  t.same(lines, ['IPVS cmd IP_VS_SO_SET_ADDDEST(1159) error: Invalid argument(22) (10.0.0.1:tcp:80 -> 10.0.1.1:8080)'])
  t.same(table.view()[0]?.dests.map((d) => d.address), ['10.0.1.2'], 'only what succeeded is mirrored')
  t.equal(table.errors, 1, 'counted for status and metrics')
  t.equal(table.dest(KEY, dest('10.0.1.1', 0)), undefined, 'the lookup sees the mirror: not there')
  t.equal(table.dest(KEY, dest('10.0.1.2', 0))?.weight, 1)
  t.equal(table.hasService(KEY), true)
  t.equal(table.hasService({ ...KEY, port: 81 }), false)
  w.calls.length = 0
  await table.sync([{ service: SERVICE, dests: [dest('10.0.1.1', 1), dest('10.0.1.2', 1)] }], owned('10.0.1.1', '10.0.1.2'))
  t.same(w.calls, ['addDest 10.0.1.1/1'], 'the failed one is tried again at the next change')
})

t.test('an entry deleted by hand is not re-created by an unrelated change (the mirror, not a re-dump)', async (t) => {
  const w = fakeWriter()
  const table = new KernelTable(w, () => {})
  table.load([{ service: SERVICE, dests: [dest('10.0.1.1', 1), dest('10.0.1.2', 1)] }])
  const own = owned('10.0.1.1', '10.0.1.2')
  await table.sync([{ service: SERVICE, dests: [dest('10.0.1.1', 1), dest('10.0.1.2', 1)] }], own)
  t.same(w.calls, [], 'adopted from the dump as it is')
  // An operator now runs `ipvsadm -d … -r 10.0.1.1:8080`; the kernel no longer has it, the mirror still does.
  await table.sync([{ service: SERVICE, dests: [dest('10.0.1.1', 1), dest('10.0.1.2', 4)] }], own)
  t.same(w.calls, ['editDest 10.0.1.2/4'], 'only the change is sent; 10.0.1.1 is not re-added (keepalived #1877)')
})

t.test('shutdown removes our service and leaves a foreign one alone', async (t) => {
  const foreignKey: IpvsServiceKey = { kind: 'fwmark', family: 4, fwmark: 9 }
  const w = fakeWriter({ deleteService: [errno('ESRCH', 3)] })
  const lines: string[] = []
  const table = new KernelTable(w, (l) => lines.push(l))
  table.load([{ service: SERVICE, dests: [dest('10.0.1.1', 1)] }, { service: { ...SERVICE, key: foreignKey }, dests: [] }])
  await table.sync([], owned('10.0.1.1'))
  t.same(w.calls, ['deleteService address'])
  t.same(lines, [], 'ESRCH (already gone) is not an error')
  t.same(table.view().map((e) => e.service.key.kind), ['fwmark'])
})

t.test('error lines name IPv6 and fwmark services as keepalived does', async (t) => {
  const v6: IpvsServiceKey = { kind: 'address', family: 6, protocol: 'UDP', address: '2001:db8::1', port: 53 }
  const d6 = { ...dest('2001:db8::2', 1), family: 6 as const, port: 53 }
  t.equal(ipvsErrorLine({ kind: 'delete-dest', service: v6, dest: d6 }, errno('ENOENT', 2)),
    'IPVS cmd IP_VS_SO_SET_DELDEST(1160) error: No such file or directory(2) ([2001:db8::1]:udp:53 -> [2001:db8::2]:53)')
  t.equal(ipvsErrorLine({ kind: 'add-service', service: { ...SERVICE, key: { kind: 'fwmark', family: 4, fwmark: 5 } } }, errno('EINVAL', 22)),
    'IPVS cmd IP_VS_SO_SET_ADD(1154) error: Invalid argument(22) (FWM 5)')
})
