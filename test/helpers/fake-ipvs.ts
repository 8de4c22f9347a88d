/**
 * An in-memory IPVS client for the checker side's tests: it keeps the table
 * the runtime programs and records each write as `add-dest 80 8080 w2`
 * (service by port or `fwmN`, then destination port and weight).
 */
import type { IpvsClient } from '../../src/net/ipvs.js'
import type { IpvsDest, IpvsServiceEntry } from '../../src/net/ipvs-types.js'

/** An in-memory IPVS that records each write. */
export function fakeIpvs(initial: readonly IpvsServiceEntry[] = []) {
  const calls: string[] = []
  const table = new Map<string, { service: IpvsServiceEntry['service']; dests: Map<string, IpvsDest> }>()
  const load = (entries: readonly IpvsServiceEntry[]) => {
    for (const e of entries) table.set(JSON.stringify(e.service.key), { service: e.service, dests: new Map(e.dests.map((d) => [`${d.address}:${d.port}`, d])) })
  }
  load(initial)
  const ok = (call: string): Promise<void> => {
    calls.push(call)
    return Promise.resolve()
  }
  const svc = (k: { kind: string; port?: number; fwmark?: number }) => (k.kind === 'fwmark' ? `fwm${k.fwmark}` : `${k.port}`)
  const client: IpvsClient = {
    info: () => Promise.resolve({ version: '1.2.1', connTableSize: 4096 }),
    services: () => Promise.resolve(snapshot()),
    addService: (s) => {
      table.set(JSON.stringify(s.key), { service: s, dests: new Map() })
      return ok(`add-service ${svc(s.key)} ${s.scheduler}`)
    },
    editService: (s) => {
      const e = table.get(JSON.stringify(s.key))
      if (e) e.service = s
      return ok(`edit-service ${svc(s.key)} ${s.scheduler}`)
    },
    deleteService: (k) => {
      table.delete(JSON.stringify(k))
      return ok(`delete-service ${svc(k)}`)
    },
    addDest: (k, d) => {
      table.get(JSON.stringify(k))?.dests.set(`${d.address}:${d.port}`, d)
      return ok(`add-dest ${svc(k)} ${d.port} w${d.weight}`)
    },
    editDest: (k, d) => {
      table.get(JSON.stringify(k))?.dests.set(`${d.address}:${d.port}`, d)
      return ok(`edit-dest ${svc(k)} ${d.port} w${d.weight}`)
    },
    deleteDest: (k, d) => {
      table.get(JSON.stringify(k))?.dests.delete(`${d.address}:${d.port}`)
      return ok(`delete-dest ${svc(k)} ${d.port}`)
    },
    timeouts: () => Promise.resolve({ tcp: 900, tcpFin: 120, udp: 300 }),
    setTimeouts: (x) => ok(`set-timeouts ${x.tcp}/${x.tcpFin}/${x.udp}`),
    startDaemon: () => ok('start-daemon'),
    stopDaemon: () => ok('stop-daemon'),
    daemons: () => Promise.resolve([]),
    flush: () => ok('flush'),
    operations: 0,
    close: () => void calls.push('close'),
  }
  function snapshot(): IpvsServiceEntry[] {
    return [...table.values()].map((s) => ({ service: s.service, dests: [...s.dests.values()] }))
  }
  /** `port: dest=weight …` per service, sorted: what the kernel holds. */
  const view = () => [...table.values()].map((s) => `${svc(s.service.key)}: ${[...s.dests.values()].map((d) => `${d.port}=${d.weight}`).sort().join(' ')}`).sort()
  return { client, calls, table, snapshot, view }
}
