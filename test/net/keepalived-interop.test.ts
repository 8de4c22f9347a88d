/**
 * Adverts from Debian's keepalived (2.2.7) reach our sockets: VRRPv2 over
 * IPv4 and VRRPv3 over IPv6. keepalived runs in namespace a as address owner
 * (priority 255, so it is MASTER and advertises at once — any other priority
 * waits Master_Down_Interval, reference §5.4) and is killed afterwards.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NetError } from '../../src/net/errors.js'
import { openVrrpSocket, type ReceivedVrrp, type VrrpSocket } from '../../src/net/vrrp-socket.js'
import { createPair, linkLocal, within, type TeardownHost, type TestNamespace } from './ns.js'

const KEEPALIVED = '/usr/sbin/keepalived'

function must(s: VrrpSocket | NetError): VrrpSocket {
  if (s instanceof NetError) throw s
  return s
}

/** Start keepalived in `ns` with `config`; stopped (SIGTERM, then SIGKILL) in teardown. */
function startKeepalived(t: TeardownHost, ns: TestNamespace, config: string): { output: () => string } {
  const dir = mkdtempSync(join(tmpdir(), 'kats-net-ka-'))
  const conf = join(dir, 'keepalived.conf')
  writeFileSync(conf, config)
  const child = spawn('ip', ['netns', 'exec', ns.name, KEEPALIVED, '-n', '-l', '-P', '-f', conf, '-p', join(dir, 'k.pid'), '-r', join(dir, 'v.pid'), '-c', join(dir, 'c.pid')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  })
  return { output: () => output }
}

t.test('VRRPv2 advert from keepalived is received on our IPv4 socket', async (t) => {
  const { a, b } = createPair(t)
  const receiver = must(b.enter(() => openVrrpSocket({ interface: b.interface, family: 4, mode: 'multicast' })))
  t.teardown(() => receiver.close())
  const got = within<ReceivedVrrp>(5000, 'a keepalived VRRPv2 advert', (resolve) => receiver.onPacket(resolve))
  const ka = startKeepalived(t, a, `vrrp_instance VI_4 {
  state MASTER
  interface ${a.interface}
  virtual_router_id 51
  priority 255
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    10.32.1.100/24
  }
}
`)
  const p = await got.catch((err: Error) => {
    throw new Error(`${err.message}; keepalived said:\n${ka.output()}`)
  })
  t.equal(p.ttlOrHopLimit, 255)
  t.equal(p.src, a.ipv4)
  t.equal(p.dst, '224.0.0.18')
  t.equal(p.ipPacket?.[1], 0xc0, 'keepalived sends TOS 0xc0')
  t.equal(p.ipTotalLength, p.ipPacket?.length)
  // ver 2 / advert, VRID 51, priority 255, 1 address, PASS, 1 s, VIP, "secret\0\0".
  t.equal(p.payload.toString('hex', 0, 4), '2133ff01')
  t.equal(p.payload.toString('hex', 4, 6), '0101')
  t.equal(p.payload.toString('hex', 8), '0a2001647365637265740000')
})

t.test('VRRPv3 IPv6 advert from keepalived is received with hop limit, group and ifindex', async (t) => {
  const { a, b } = createPair(t)
  const receiver = must(b.enter(() => openVrrpSocket({ interface: b.interface, family: 6, mode: 'multicast' })))
  t.teardown(() => receiver.close())
  const got = within<ReceivedVrrp>(5000, 'a keepalived VRRPv3 IPv6 advert', (resolve) => receiver.onPacket(resolve))
  const ka = startKeepalived(t, a, `vrrp_instance VI_6 {
  state MASTER
  interface ${a.interface}
  virtual_router_id 52
  priority 255
  advert_int 1
  version 3
  virtual_ipaddress {
    fd32::100/64
  }
}
`)
  const p = await got.catch((err: Error) => {
    throw new Error(`${err.message}; keepalived said:\n${ka.output()}`)
  })
  t.equal(p.family, 6)
  t.equal(p.ttlOrHopLimit, 255)
  t.equal(p.dst, 'ff02::12')
  t.equal(p.src, linkLocal(a), 'sent from the link-local address (RFC 5798 §5.1.2.1)')
  t.equal(p.ifindex, receiver.ifindex)
  // ver 3 / advert, VRID 52, priority 255, 1 address, max advert int 100 cs.
  t.equal(p.payload.toString('hex', 0, 6), '3134ff010064')
  t.equal(p.payload.toString('hex', 8), 'fd320000000000000000000000000100')
})
