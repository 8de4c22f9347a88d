/**
 * Keeps the kernel's IPVS table in step with the desired one through an
 * injected client (src/net/ipvs.ts in the daemon, a fake in tests).
 *
 * The table is read from the kernel once, at start-up; after that a mirror of
 * what we have set is what the next desired table is reconciled against, so an
 * unchanged entry is never touched and an entry an operator deleted by hand is
 * not re-created by an unrelated change (keepalived's behaviour, issue #1877).
 * keepalived's tolerances apply: ADD of something that exists (EEXIST) and
 * DEL of something missing (ENOENT) are not errors; SET_DEST on a missing
 * destination is retried as NEW_DEST. Failures are logged in keepalived's
 * format, `IPVS cmd IP_VS_SO_SET_ADDDEST(1159) error: No such file or
 * directory(2) (10.0.0.1:tcp:80 -> 10.0.0.2:80)`, and never stop the others.
 */
import type { NetError } from '../net/errors.js'
import type { IpvsDest, IpvsDestKey, IpvsService, IpvsServiceEntry, IpvsServiceKey, IpvsTable } from '../net/ipvs-types.js'
import { destId, type Owned, serviceId } from './desired.js'
import { type IpvsOperation, reconcile } from './reconcile.js'

/** The part of the IPVS client the applier uses. */
export interface IpvsWriter {
  addService(service: IpvsService): Promise<void | NetError>
  editService(service: IpvsService): Promise<void | NetError>
  deleteService(key: IpvsServiceKey): Promise<void | NetError>
  addDest(key: IpvsServiceKey, dest: IpvsDest): Promise<void | NetError>
  editDest(key: IpvsServiceKey, dest: IpvsDest): Promise<void | NetError>
  deleteDest(key: IpvsServiceKey, dest: IpvsDestKey): Promise<void | NetError>
}

/** keepalived's command names and numbers (its IP_VS_SO_SET_* codes, reference §6.1). */
const COMMANDS: Readonly<Record<IpvsOperation['kind'], string>> = {
  'add-service': 'IP_VS_SO_SET_ADD(1154)',
  'edit-service': 'IP_VS_SO_SET_EDIT(1155)',
  'delete-service': 'IP_VS_SO_SET_DEL(1156)',
  'add-dest': 'IP_VS_SO_SET_ADDDEST(1159)',
  'delete-dest': 'IP_VS_SO_SET_DELDEST(1160)',
  'edit-dest': 'IP_VS_SO_SET_EDITDEST(1161)',
}

/** strerror() texts for the errnos IPVS returns. */
const STRERROR: Readonly<Record<string, string>> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  EEXIST: 'File exists',
  EINVAL: 'Invalid argument',
  ENOMEM: 'Cannot allocate memory',
  EBUSY: 'Device or resource busy',
  ENOTSUP: 'Operation not supported',
  EOPNOTSUPP: 'Operation not supported',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  ENOPROTOOPT: 'Protocol not available',
}

function keyText(key: IpvsServiceKey): string {
  if (key.kind === 'fwmark') return `FWM ${key.fwmark}`
  const host = key.family === 6 ? `[${key.address}]` : key.address
  return `${host}:${key.protocol.toLowerCase()}:${key.port}`
}

function destKeyText(d: IpvsDestKey): string {
  return `${d.family === 6 ? `[${d.address}]` : d.address}:${d.port}`
}

/** keepalived's `IPVS cmd …` line for a failed operation. */
export function ipvsErrorLine(op: IpvsOperation, err: NetError): string {
  const errno = err.errno
  const reason = errno ? `${STRERROR[errno.name] ?? errno.name}(${errno.number})` : err.message
  const service = serviceKeyOf(op)
  const subject = 'dest' in op ? `${keyText(service)} -> ${destKeyText(op.dest)}` : keyText(service)
  return `IPVS cmd ${COMMANDS[op.kind]} error: ${reason} (${subject})`
}

function serviceKeyOf(op: IpvsOperation): IpvsServiceKey {
  return op.kind === 'add-service' || op.kind === 'edit-service' || op.kind === 'delete-service' ? op.service.key : op.service
}

interface MirrorEntry {
  service: IpvsService
  readonly dests: Map<string, IpvsDest>
}

export interface ApplyResult {
  /** Operations sent to the kernel (including a SET_DEST retried as NEW_DEST: 2). */
  readonly sent: number
  readonly failed: number
}

export class KernelTable {
  private readonly mirror = new Map<string, MirrorEntry>()
  /** Requests sent since creation (bench/ipvs-apply counts them). */
  operations = 0
  /** Operations the kernel refused (each logged), since creation. */
  errors = 0

  constructor(private readonly client: IpvsWriter, private readonly log: (line: string) => void) {}

  /** Start from what the kernel holds (a GET dump). */
  load(table: IpvsTable): void {
    this.mirror.clear()
    for (const e of table) this.mirror.set(serviceId(e.service.key), { service: e.service, dests: new Map(e.dests.map((d) => [destId(d), d])) })
  }

  /** Our view of the kernel, restricted to the given service ids (all when omitted). */
  view(ids?: Iterable<string>): IpvsServiceEntry[] {
    const pick = ids ? [...ids].map((id) => this.mirror.get(id)).filter((e) => e !== undefined) : [...this.mirror.values()]
    return pick.map((e) => ({ service: e.service, dests: [...e.dests.values()] }))
  }

  /** The destination as we set it (or found it at start-up); undefined when not in the mirror. */
  dest(service: IpvsServiceKey, dest: IpvsDestKey): IpvsDest | undefined {
    return this.mirror.get(serviceId(service))?.dests.get(destId(dest))
  }

  /** Whether the service is in the mirror. */
  hasService(service: IpvsServiceKey): boolean {
    return this.mirror.has(serviceId(service))
  }

  /** Reconcile the services `desired` and `owned` name against the mirror, and apply. */
  async sync(desired: IpvsTable, owned: Owned): Promise<ApplyResult> {
    const ids = new Set([...owned.services, ...desired.map((e) => serviceId(e.service.key))])
    return this.apply(reconcile(this.view(ids), desired, owned))
  }

  /** Apply operations in order; each failure is logged and the rest still run. */
  async apply(ops: readonly IpvsOperation[]): Promise<ApplyResult> {
    let sent = 0
    let failed = 0
    for (const op of ops) {
      const { requests, error } = await this.run(op)
      sent += requests
      this.operations += requests
      if (error) {
        failed++
        this.errors++
        this.log(ipvsErrorLine(op, error))
      } else {
        this.record(op)
      }
    }
    return { sent, failed }
  }

  private async run(op: IpvsOperation): Promise<{ requests: number; error: NetError | undefined }> {
    const c = this.client
    const errnoIs = (r: void | NetError, name: string): boolean => r !== undefined && r.errno?.name === name
    switch (op.kind) {
      case 'add-service': {
        const r = await c.addService(op.service)
        return { requests: 1, error: r && !errnoIs(r, 'EEXIST') ? r : undefined }
      }
      case 'edit-service':
        return { requests: 1, error: (await c.editService(op.service)) || undefined }
      case 'delete-service': {
        const r = await c.deleteService(op.service.key)
        return { requests: 1, error: r && !errnoIs(r, 'ESRCH') && !errnoIs(r, 'ENOENT') ? r : undefined }
      }
      case 'add-dest': {
        const r = await c.addDest(op.service, op.dest)
        return { requests: 1, error: r && !errnoIs(r, 'EEXIST') ? r : undefined }
      }
      case 'edit-dest': {
        const r = await c.editDest(op.service, op.dest)
        if (!errnoIs(r, 'ENOENT')) return { requests: 1, error: r || undefined }
        const again = await c.addDest(op.service, op.dest)
        return { requests: 2, error: again || undefined }
      }
      case 'delete-dest': {
        const r = await c.deleteDest(op.service, op.dest)
        return { requests: 1, error: r && !errnoIs(r, 'ENOENT') ? r : undefined }
      }
    }
  }

  private record(op: IpvsOperation): void {
    const id = serviceId(serviceKeyOf(op))
    switch (op.kind) {
      case 'add-service':
        if (!this.mirror.has(id)) this.mirror.set(id, { service: op.service, dests: new Map() })
        return
      case 'edit-service': {
        const e = this.mirror.get(id)
        if (e) e.service = op.service
        else this.mirror.set(id, { service: op.service, dests: new Map() })
        return
      }
      case 'delete-service':
        this.mirror.delete(id)
        return
      case 'add-dest':
      case 'edit-dest':
        this.mirror.get(id)?.dests.set(destId(op.dest), op.dest)
        return
      case 'delete-dest':
        this.mirror.get(id)?.dests.delete(destId(op.dest))
        return
    }
  }
}
