import t from 'tap'
import { NetError, errnoNamed, errnoOf, fromNetlinkFailure, syscallError } from '../../src/net/errors.js'
import { addressBytes, addressFamily, addressText, isMulticast, macBytes, macText } from '../../src/net/ip-address.js'
import { ahHeaderLength, buildIpv4Header, readIpv4Header } from '../../src/net/ipv4-header.js'
import { cmsg, ipMreqn, ipv6Mreq, parseIpv4ReceiveInfo, parseIpv6ReceiveInfo, sockaddrAddress, sockaddrIn6, sockaddrLl } from '../../src/net/sockaddr.js'
import { macvlanLinkInfo } from '../../src/net/vmac.js'

t.test('netlink failure strings become errno values', async (t) => {
  const eexist = fromNetlinkFailure(new Error('Request rejected: EEXIST'), 'RTM_NEWADDR', { interface: 'eth0', address: '10.32.1.100/24' })
  t.equal(eexist.code, 'KA_NET_NETLINK')
  t.same(eexist.errno, { number: 17, name: 'EEXIST' })
  t.equal(eexist.interface, 'eth0')
  t.equal(eexist.address, '10.32.1.100/24')
  t.same(fromNetlinkFailure(new Error('Request rejected: -99'), 'x').errno, { number: 99, name: 'EADDRNOTAVAIL' })
  t.equal(fromNetlinkFailure(new Error('Timeout has been reached'), 'x').code, 'KA_NET_TIMEOUT')
  const already = new NetError('KA_NET_SEND', 'm', { operation: 'o' })
  t.equal(fromNetlinkFailure(already, 'x'), already)
  t.same(errnoOf(-1), { number: 1, name: 'EPERM' })
  t.equal(errnoOf(4000).name, 'E4000')
  t.equal(errnoNamed('ENODEV')?.number, 19)
  t.equal(errnoNamed('ENOTREAL'), undefined)
  const e = syscallError('KA_NET_SOCKOPT', 'setsockopt IP_ADD_MEMBERSHIP', 19, { interface: 'eth9' })
  t.equal(e.message, 'setsockopt IP_ADD_MEMBERSHIP failed: ENODEV (interface eth9)')
  t.ok(e instanceof Error)
})

t.test('IP and MAC text ⇄ bytes', async (t) => {
  for (const text of ['10.32.1.1', '::', '::1', 'fe80::1', 'fd32::100', 'ff02::12', '2001:db8:0:1:1:1:1:1', '2001:db8::1:0:0:1', '1:2:3:4:5:6:7:8']) {
    t.equal(addressText(addressBytes(text)!), text, text)
  }
  t.equal(addressText(addressBytes('::ffff:10.32.1.1')!), '::ffff:a20:101')
  t.equal(addressText(addressBytes('fe80::1%veth-a')!), 'fe80::1')
  t.equal(addressBytes('10.32.1'), undefined)
  t.equal(addressFamily('fd32::1'), 6)
  t.equal(addressFamily('nope'), undefined)
  t.throws(() => addressText(Buffer.alloc(5)))
  t.ok(isMulticast('224.0.0.18'))
  t.ok(isMulticast('ff02::12'))
  t.notOk(isMulticast('10.32.1.1'))
  t.notOk(isMulticast('bad'))
  t.equal(macText(macBytes('00:00:5E:00:01:33')!), '00:00:5e:00:01:33')
  t.equal(macBytes('00:00:5e:00:01'), undefined)
})

t.test('IPv4 header as keepalived writes it (reference §5.1 vector)', async (t) => {
  const h = buildIpv4Header({ source: Buffer.from([10, 9, 0, 1]), destination: Buffer.from([224, 0, 0, 18]), payloadLength: 20, id: 1 })
  // Captured: 45 c0 00 28 00 01 00 00 ff 70 d0 88 0a 09 00 01 e0 00 00 12 (checksum left to the kernel).
  t.equal(h.toString('hex'), '45c000280001000' + '0ff7000000a090001e0000012')
  const view = readIpv4Header(Buffer.concat([h, Buffer.alloc(20)]))
  t.match(view, { headerLength: 20, totalLength: 40, ttl: 255, protocol: 112 })
  t.equal(readIpv4Header(Buffer.alloc(10)), undefined)
  t.equal(readIpv4Header(Buffer.from('46000000000000000000000000000000000000000000', 'hex')), undefined, 'IHL beyond the data')
  const ah = Buffer.alloc(24)
  ah[1] = 4
  t.equal(ahHeaderLength(ah), 24)
  t.equal(ahHeaderLength(ah.subarray(0, 20)), undefined)
})

t.test('sockaddrs, multicast requests and ancillary data', async (t) => {
  const s6 = sockaddrIn6(addressBytes('fe80::1')!, 7)
  t.equal(s6.length, 28)
  t.equal(sockaddrAddress(s6, 28), 'fe80::1')
  t.equal(sockaddrAddress(s6, 1), undefined)
  t.equal(sockaddrLl(3, Buffer.from('ffffffffffff', 'hex')).toString('hex'), '1100000003000000000000' + '06ffffffffffff0000')
  t.equal(ipMreqn(addressBytes('224.0.0.18')!, 5).toString('hex'), 'e000001200000000' + '05000000')
  t.equal(ipv6Mreq(addressBytes('ff02::12')!, 5).toString('hex'), 'ff020000000000000000000000000012' + '05000000')
  const hop = Buffer.alloc(4)
  hop.writeInt32LE(255)
  const info = Buffer.concat([addressBytes('ff02::12')!, Buffer.from([9, 0, 0, 0])])
  const control = Buffer.concat([cmsg(41, 52, hop), cmsg(41, 50, info)])
  t.same(parseIpv6ReceiveInfo(control, control.length), { hopLimit: 255, destination: 'ff02::12', ifindex: 9 })
  t.same(parseIpv6ReceiveInfo(control, 10), {}, 'a truncated block is ignored')
  const pktinfo = Buffer.alloc(12)
  pktinfo.writeInt32LE(4)
  const c4 = cmsg(0, 8, pktinfo)
  t.same(parseIpv4ReceiveInfo(c4, c4.length), { ifindex: 4 })
})

t.test('macvlan IFLA_LINKINFO bytes (linux/if_link.h)', async (t) => {
  // {len 12, KIND, "macvlan\0"} {len 12, DATA|NESTED, {len 8, MACVLAN_MODE, 1}}
  t.equal(macvlanLinkInfo().toString('hex'), '0c0001006d6163766c616e00' + '0c0002800800010001000000')
})
