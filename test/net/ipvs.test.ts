/**
 * The IPVS client on this host. Its kernel has no IPVS (CONFIG_IP_VS is not
 * set and there are no modules), so openIpvs() must say so with a coded error;
 * the request machinery underneath (sequence numbers, dumps, ACKs, timeouts,
 * close) is driven here through the controller family "nlctrl", which every
 * kernel has. The IPVS commands themselves run in the VM
 * (test/vm/ipvs-client.test.ts).
 */
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { Protocol, RawNetlinkSocket } from 'netlink'
import t from 'tap'
import { NetError } from '../../src/net/errors.js'
import { CTRL_CMD_GETFAMILY, GENL_ID_CTRL, decodeFamily, encodeGetFamily } from '../../src/net/ipvs-codec.js'
import { GenlChannel, openIpvs, type IpvsClient } from '../../src/net/ipvs.js'
import { createPair } from './ns.js'

/** What the running kernel's config says about IPVS: built in, a module, or absent. */
function kernelIpvs(): 'y' | 'm' | 'absent' {
  const config = gunzipSync(readFileSync('/proc/config.gz')).toString()
  const value = /^CONFIG_IP_VS=(\w)/m.exec(config)?.[1]
  if (value === 'y') return 'y'
  if (value === 'm' && !/^# CONFIG_MODULES is not set/m.test(config)) return 'm'
  return 'absent'
}

type TestContext = Parameters<Parameters<typeof t.test>[0]>[0]

async function checkOpen(t: TestContext, opened: Promise<IpvsClient | NetError>): Promise<void> {
  const ipvs = await opened
  const kernel = kernelIpvs()
  t.comment(`kernel IPVS: ${kernel}`)
  if (ipvs instanceof NetError) {
    t.not(kernel, 'y', 'a kernel with IPVS built in has the family')
    t.equal(ipvs.code, 'KA_NET_IPVS_UNAVAILABLE')
    t.equal(ipvs.errno?.name, 'ENOENT')
    t.equal(ipvs.operation, 'CTRL_CMD_GETFAMILY')
    t.match(ipvs.message, /no IPVS/)
  } else {
    t.not(kernel, 'absent', 'a kernel without IPVS has no family "IPVS"')
    t.match(await ipvs.info(), { version: /^\d+\.\d+\.\d+$/ }, 'read-only use')
    ipvs.close()
  }
}

t.test('openIpvs in the host namespace: KA_NET_IPVS_UNAVAILABLE (ENOENT) on a kernel without IPVS', async (t) => {
  await checkOpen(t, openIpvs())
})

t.test('openIpvs in a fresh network namespace: the same', async (t) => {
  const { a } = createPair(t)
  await checkOpen(t, a.enter(() => openIpvs()))
})

function channel(t: TestContext, timeoutMs = 5_000): GenlChannel {
  const c = new GenlChannel(new RawNetlinkSocket(Protocol.GENERIC, { recvBufferSize: 0, sendBufferSize: 0 }), timeoutMs)
  t.teardown(() => c.close())
  return c
}
const getFamily = (c: GenlChannel, name: string) =>
  c.request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, encodeGetFamily(name), { dump: false, operation: 'CTRL_CMD_GETFAMILY', subject: name })
const dumpFamilies = (c: GenlChannel) => c.request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, Buffer.alloc(0), { dump: true, operation: 'CTRL_CMD_GETFAMILY', subject: undefined })

t.test('one request: reply then ACK; a rejection is KA_NET_IPVS with the errno', async (t) => {
  const c = channel(t)
  const answer = await getFamily(c, 'nlctrl')
  t.notOk(answer instanceof NetError)
  t.equal((answer as Buffer[]).length, 1)
  t.same(decodeFamily((answer as Buffer[])[0]!), { id: GENL_ID_CTRL, version: 2 })
  const missing = await getFamily(c, 'kats-no-such')
  t.ok(missing instanceof NetError)
  t.match(missing, { code: 'KA_NET_IPVS', errno: { name: 'ENOENT', number: 2 }, operation: 'CTRL_CMD_GETFAMILY', address: 'kats-no-such' })
  t.equal((missing as NetError).message, 'CTRL_CMD_GETFAMILY rejected: ENOENT (kats-no-such)')
})

t.test('300 concurrent requests, dumps among them: each gets its own whole answer', async (t) => {
  const c = channel(t)
  const families = await dumpFamilies(c)
  t.notOk(families instanceof NetError)
  const ids = (families as Buffer[]).map((p) => (decodeFamily(p) as { id: number }).id).sort((x, y) => x - y)
  t.ok(ids.includes(GENL_ID_CTRL), 'the dump lists nlctrl')
  t.ok(ids.length >= 3, `${ids.length} families`)
  const kinds = Array.from({ length: 300 }, (_, i) => (i % 10 === 0 ? 'dump' : i % 3 === 0 ? 'missing' : 'nlctrl'))
  const answers = await Promise.all(kinds.map((k) => (k === 'dump' ? dumpFamilies(c) : getFamily(c, k === 'missing' ? 'kats-no-such' : 'nlctrl'))))
  let right = 0
  answers.forEach((answer, i) => {
    const kind = kinds[i]
    if (kind === 'missing') {
      if (answer instanceof NetError && answer.errno?.name === 'ENOENT') right++
    } else if (kind === 'dump') {
      if (!(answer instanceof NetError) && answer.map((p) => (decodeFamily(p) as { id: number }).id).sort((x, y) => x - y).join() === ids.join()) right++
    } else if (!(answer instanceof NetError) && answer.length === 1 && (decodeFamily(answer[0]!) as { id: number }).id === GENL_ID_CTRL) {
      right++
    }
  })
  t.equal(right, 300)
})

t.test('a request with no answer in time is KA_NET_TIMEOUT; its late answer goes nowhere', async (t) => {
  const c = channel(t, 5)
  const late = getFamily(c, 'nlctrl')
  // Block the loop past the timeout: libuv runs expired timers before it reads the socket.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50)
  t.match(await late, { code: 'KA_NET_TIMEOUT', operation: 'CTRL_CMD_GETFAMILY', address: 'nlctrl' })
  const next = await getFamily(c, 'kats-no-such')
  t.match(next, { code: 'KA_NET_IPVS', errno: { name: 'ENOENT' } }, 'the next request gets its own answer')
})

t.test('close: pending and later requests end with KA_NET_CLOSED', async (t) => {
  const c = channel(t)
  const pending = [getFamily(c, 'nlctrl'), dumpFamilies(c), dumpFamilies(c)]
  c.close()
  for (const p of pending) t.match(await p, { code: 'KA_NET_CLOSED' })
  t.match(await getFamily(c, 'nlctrl'), { code: 'KA_NET_CLOSED' })
  c.close()
})
