/**
 * The IPVS client: one generic netlink socket (netlink 0.3.0) in the current
 * network namespace, speaking to the family "IPVS" (version 1) the way
 * keepalived's libipvs does — one request per operation, each acknowledged.
 *
 * The package's NetlinkSocket.request() is not used: it throws strings on
 * NLMSG_ERROR, keeps one multipart buffer for all sequence numbers (a reply to
 * another request arriving between two parts of a dump ends the dump early),
 * and drops the errno NLMSG_DONE carries. So this module reads the package's
 * RawNetlinkSocket itself and matches every message to its request by sequence
 * number: a request ends at its NLMSG_ERROR (errno 0 is the ACK, and comes
 * after the reply of a GET), a dump at NLMSG_DONE. Requests go out in the
 * order they were made (the kernel handles each during sendmsg, so an
 * addService not awaited before its addDest still comes first), at most
 * {@link MAX_IN_FLIGHT} at a time so that acknowledgements cannot overflow the
 * receive buffer, and one dump at a time (the kernel answers EBUSY to a second
 * dump on a socket). Each waits at most `timeoutMs`.
 *
 * Failures are NetError values: KA_NET_IPVS_UNAVAILABLE when the kernel has no
 * family "IPVS" (no IPVS built in, or ip_vs not loaded); KA_NET_IPVS with the
 * errno and keepalived's operation name (`IPVS_CMD_NEW_DEST`) when the kernel
 * refuses a request, the service / real server in `address`.
 */
import { endianness } from 'node:os'
import { Flags, FlagsGet, MessageType, Protocol, RawNetlinkSocket, formatGenlHeader, formatMessage, parseMessages } from 'netlink'
import type { MessageInfo, NetlinkMessage } from 'netlink'
import { NetError, errnoOf, fromNetlinkFailure } from './errors.js'
import {
  CTRL_CMD_GETFAMILY, GENL_ID_CTRL, IPVS_GENL_NAME, IPVS_GENL_VERSION, decodeDaemon, decodeDest, decodeFamily, decodeInfo, decodeService, decodeTimeouts,
  encodeGetFamily, encodeRequest,
} from './ipvs-codec.js'
import type { IpvsRequest } from './ipvs-codec.js'
import type { IpvsDest, IpvsDestKey, IpvsService, IpvsServiceEntry, IpvsServiceKey, IpvsSyncDaemon, IpvsTimeouts } from './ipvs-types.js'

/** Per request; the kernel answers in well under a millisecond, 2 ms in the emulated VM (platform.md). */
const DEFAULT_TIMEOUT_MS = 5_000
/** Requests sent and not yet answered. A success ACK is a few hundred bytes of receive buffer. */
export const MAX_IN_FLIGHT = 32
/** SO_RCVBUF asked for (the kernel caps it at net.core.rmem_max). */
const RECEIVE_BUFFER_BYTES = 1 << 20
const CTRL_VERSION = 1
const LITTLE_ENDIAN = endianness() === 'LE'

export interface IpvsClient {
  /** GET_INFO: IPVS version (`1.2.1`) and the connection table size. */
  info(): Promise<{ version: string; connTableSize: number } | NetError>
  /** Every service with its destinations: one GET_SERVICE dump, then one GET_DEST dump per service. */
  services(): Promise<IpvsServiceEntry[] | NetError>
  addService(service: IpvsService): Promise<void | NetError>
  editService(service: IpvsService): Promise<void | NetError>
  deleteService(key: IpvsServiceKey): Promise<void | NetError>
  addDest(key: IpvsServiceKey, dest: IpvsDest): Promise<void | NetError>
  editDest(key: IpvsServiceKey, dest: IpvsDest): Promise<void | NetError>
  deleteDest(key: IpvsServiceKey, dest: IpvsDestKey): Promise<void | NetError>
  /** GET_CONFIG: TCP, TCP FIN and UDP timeouts in seconds. */
  timeouts(): Promise<IpvsTimeouts | NetError>
  /** SET_CONFIG; a 0 leaves that timeout as it is. */
  setTimeouts(timeouts: IpvsTimeouts): Promise<void | NetError>
  startDaemon(daemon: IpvsSyncDaemon): Promise<void | NetError>
  /** DEL_DAEMON; ESRCH when that daemon is not running. */
  stopDaemon(state: IpvsSyncDaemon['state']): Promise<void | NetError>
  daemons(): Promise<IpvsSyncDaemon[] | NetError>
  /** FLUSH: every service and destination in this namespace. */
  flush(): Promise<void | NetError>
  /** IPVS requests sent so far (the family lookup at open is not counted). */
  readonly operations: number
  /** Pending requests end with KA_NET_CLOSED. Safe to call more than once. */
  close(): void
}

export interface IpvsOptions {
  /** How long one request may wait for its answer. */
  timeoutMs?: number
}

/** What a finished request gives: the genl payloads (attributes) of its replies. */
type Answer = Buffer[] | NetError

interface Job {
  readonly family: number
  readonly cmd: number
  readonly version: number
  readonly payload: Buffer
  readonly dump: boolean
  readonly operation: string
  readonly subject: string | undefined
  readonly replies: Buffer[]
  done(answer: Answer): void
  seq?: number
  timer?: NodeJS.Timeout
}

/**
 * Generic netlink requests over one raw socket, answered by sequence number.
 * Exported for the tests, which drive it with the controller family (nlctrl)
 * on hosts without IPVS.
 */
export class GenlChannel {
  private readonly pending = new Map<number, Job>()
  private readonly queue: Job[] = []
  private dumping = false
  private seq = 0
  private closed = false
  private pumping = false
  private readonly port: number

  constructor(private readonly socket: RawNetlinkSocket, private readonly timeoutMs: number) {
    this.port = socket.address().port
    socket.on('message', (data, rinfo) => this.receive(data, rinfo))
    socket.on('truncatedMessage', (data) => this.truncated(data))
    // Without a listener an 'error' event would throw; a failed recvmsg (ENOBUFS) may have lost answers.
    socket.on('error', (err) => this.failAll(err))
    socket.on('close', () => this.shut())
    socket.unref()
  }

  request(family: number, cmd: number, version: number, payload: Buffer, about: { dump: boolean; operation: string; subject: string | undefined }): Promise<Answer> {
    if (this.closed) return Promise.resolve(new NetError('KA_NET_CLOSED', `${about.operation}: the IPVS socket is closed`, { operation: about.operation, address: about.subject }))
    return new Promise((resolve) => {
      this.queue.push({ family, cmd, version, payload, ...about, replies: [], done: resolve })
      this.pump()
    })
  }

  close(): void {
    if (this.closed) return
    this.shut()
    this.socket.close()
  }

  private shut(): void {
    this.closed = true
    const all = [...this.queue, ...this.pending.values()]
    this.queue.length = 0
    for (const job of all) this.finish(job, new NetError('KA_NET_CLOSED', `${job.operation}: the IPVS socket was closed`, { operation: job.operation, address: job.subject }))
  }

  /** Send from the head of the queue, in order, while the window allows. */
  private pump(): void {
    // A send that fails at once finishes its job, which pumps again: the outer loop carries on instead.
    if (this.pumping) return
    this.pumping = true
    while (this.queue.length > 0 && this.pending.size < MAX_IN_FLIGHT) {
      const job = this.queue[0]!
      if (job.dump && this.dumping) break
      this.queue.shift()
      this.send(job)
    }
    this.pumping = false
    if (this.pending.size + this.queue.length > 0) this.socket.ref()
    else this.socket.unref()
  }

  private send(job: Job): void {
    do this.seq = (this.seq % 0xffffffff) + 1
    while (this.pending.has(this.seq))
    const seq = this.seq
    job.seq = seq
    if (job.dump) this.dumping = true
    this.pending.set(seq, job)
    job.timer = setTimeout(() => {
      this.finish(job, new NetError('KA_NET_TIMEOUT', `${job.operation}: no answer from the kernel in ${this.timeoutMs} ms`, { operation: job.operation, address: job.subject }))
    }, this.timeoutMs)
    const flags = Flags.REQUEST | Flags.ACK | (job.dump ? FlagsGet.DUMP : 0)
    const header = formatGenlHeader({ cmd: job.cmd, version: job.version })
    try {
      const message = formatMessage({ type: job.family, flags, seq, port: this.port, data: [header, job.payload] })
      this.socket.send(message, {}, (error) => {
        if (error) this.finish(job, fromNetlinkFailure(error, job.operation, { address: job.subject }))
      })
    } catch (err) {
      this.finish(job, fromNetlinkFailure(err, job.operation, { address: job.subject }))
    }
  }

  private finish(job: Job, answer: Answer): void {
    if (job.seq !== undefined) {
      if (this.pending.get(job.seq) !== job) return
      this.pending.delete(job.seq)
      clearTimeout(job.timer)
      if (job.dump) this.dumping = false
    }
    job.done(answer)
    if (!this.closed) this.pump()
  }

  private failAll(error: unknown): void {
    for (const job of [...this.pending.values()]) this.finish(job, fromNetlinkFailure(error, job.operation, { address: job.subject }))
  }

  private receive(data: Buffer, rinfo: MessageInfo): void {
    if (rinfo.port !== 0) return // only the kernel answers requests
    let messages: NetlinkMessage[]
    try {
      messages = parseMessages(data)
    } catch (err) {
      this.truncated(data, err)
      return
    }
    for (const m of messages) {
      const job = this.pending.get(m.seq)
      if (job) this.take(job, m)
    }
  }

  /** A datagram that cannot be read: fail the request its first header names, if any. */
  private truncated(data: Buffer, cause?: unknown): void {
    const job = data.length >= 16 ? this.pending.get(LITTLE_ENDIAN ? data.readUInt32LE(8) : data.readUInt32BE(8)) : undefined
    if (job) this.finish(job, new NetError('KA_NET_MALFORMED', `${job.operation}: unreadable answer from the kernel`, { operation: job.operation, address: job.subject, cause }))
  }

  private take(job: Job, m: NetlinkMessage): void {
    if (m.type === MessageType.NOOP || m.type === MessageType.OVERRUN) return
    if (m.type === MessageType.ERROR || m.type === MessageType.DONE) {
      // NLMSG_ERROR: errno (0 = ACK) and our header; NLMSG_DONE of a dump: the dump's errno, if any.
      const errno = m.data.length >= 4 ? (LITTLE_ENDIAN ? m.data.readInt32LE(0) : m.data.readInt32BE(0)) : m.type === MessageType.DONE ? 0 : undefined
      if (errno === undefined) this.finish(job, new NetError('KA_NET_MALFORMED', `${job.operation}: short NLMSG_ERROR`, { operation: job.operation, address: job.subject }))
      else if (errno !== 0) this.finish(job, rejection(job.operation, job.subject, errno))
      else this.finish(job, job.replies)
      return
    }
    if (m.type !== job.family || m.data.length < 4) {
      this.finish(job, new NetError('KA_NET_MALFORMED', `${job.operation}: unexpected answer of type ${m.type}`, { operation: job.operation, address: job.subject }))
      return
    }
    job.replies.push(m.data.subarray(4))
  }
}

function rejection(operation: string, subject: string | undefined, errno: number): NetError {
  const e = errnoOf(errno)
  return new NetError('KA_NET_IPVS', `${operation} rejected: ${e.name}${subject ? ` (${subject})` : ''}`, { operation, address: subject, errno: e })
}

/** Decode every reply of a request, or the first failure. */
function decodeAll<T>(replies: Buffer[], decode: (payload: Buffer) => T | NetError): T[] | NetError {
  const out: T[] = []
  for (const payload of replies) {
    const value = decode(payload)
    if (value instanceof NetError) return value
    out.push(value)
  }
  return out
}

/**
 * Open the IPVS client in the current network namespace: a generic netlink
 * socket and the family id of "IPVS". KA_NET_IPVS_UNAVAILABLE when the kernel
 * has none (keepalived then runs `modprobe ip_vs` and tries once more).
 */
export async function openIpvs(options: IpvsOptions = {}): Promise<IpvsClient | NetError> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  let socket: RawNetlinkSocket
  try {
    socket = new RawNetlinkSocket(Protocol.GENERIC, { recvBufferSize: RECEIVE_BUFFER_BYTES, sendBufferSize: 0 })
  } catch (err) {
    return fromNetlinkFailure(err, 'open generic netlink socket')
  }
  const channel = new GenlChannel(socket, timeoutMs)
  const about = { dump: false, operation: 'CTRL_CMD_GETFAMILY', subject: IPVS_GENL_NAME }
  const answer = await channel.request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_VERSION, encodeGetFamily(IPVS_GENL_NAME), about)
  const family = answer instanceof NetError ? answer : answer[0] ? decodeFamily(answer[0]) : new NetError('KA_NET_MALFORMED', 'CTRL_CMD_GETFAMILY: no answer', { operation: about.operation })
  if (family instanceof NetError) {
    channel.close()
    if (family.errno?.name !== 'ENOENT') return family
    const message = `the kernel has no IPVS (no generic netlink family "${IPVS_GENL_NAME}"; is ip_vs loaded?)`
    return new NetError('KA_NET_IPVS_UNAVAILABLE', message, { operation: about.operation, errno: family.errno, cause: family })
  }

  let operations = 0
  const run = async (req: IpvsRequest): Promise<Answer> => {
    const e = encodeRequest(req)
    if (e instanceof NetError) return e
    operations++
    return channel.request(family.id, e.cmd, IPVS_GENL_VERSION, e.payload, e)
  }
  const act = async (req: IpvsRequest): Promise<void | NetError> => {
    const answer = await run(req)
    return answer instanceof NetError ? answer : undefined
  }
  const one = async <T>(req: IpvsRequest, decode: (payload: Buffer) => T | NetError): Promise<T | NetError> => {
    const answer = await run(req)
    if (answer instanceof NetError) return answer
    if (!answer[0]) return new NetError('KA_NET_MALFORMED', `IPVS_CMD_${req.command}: the kernel sent no reply`, { operation: `IPVS_CMD_${req.command}` })
    return decode(answer[0])
  }
  const all = async <T>(req: IpvsRequest, decode: (payload: Buffer) => T | NetError): Promise<T[] | NetError> => {
    const answer = await run(req)
    return answer instanceof NetError ? answer : decodeAll(answer, decode)
  }

  return {
    info: () => one({ command: 'GET_INFO' }, decodeInfo),
    async services() {
      const services = await all({ command: 'GET_SERVICE' }, decodeService)
      if (services instanceof NetError) return services
      const entries: IpvsServiceEntry[] = []
      for (const service of services) {
        const dests = await all({ command: 'GET_DEST', key: service.key }, (p) => decodeDest(p, service.key.family))
        if (dests instanceof NetError) return dests
        entries.push({ service, dests })
      }
      return entries
    },
    addService: (service) => act({ command: 'NEW_SERVICE', service }),
    editService: (service) => act({ command: 'SET_SERVICE', service }),
    deleteService: (key) => act({ command: 'DEL_SERVICE', key }),
    addDest: (key, dest) => act({ command: 'NEW_DEST', key, dest }),
    editDest: (key, dest) => act({ command: 'SET_DEST', key, dest }),
    deleteDest: (key, dest) => act({ command: 'DEL_DEST', key, dest }),
    timeouts: () => one({ command: 'GET_CONFIG' }, decodeTimeouts),
    setTimeouts: (timeouts) => act({ command: 'SET_CONFIG', timeouts }),
    startDaemon: (daemon) => act({ command: 'NEW_DAEMON', daemon }),
    stopDaemon: (state) => act({ command: 'DEL_DAEMON', state }),
    daemons: () => all({ command: 'GET_DAEMON' }, decodeDaemon),
    flush: () => act({ command: 'FLUSH' }),
    get operations() {
      return operations
    },
    close: () => channel.close(),
  }
}
