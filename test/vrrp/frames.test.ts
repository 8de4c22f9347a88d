/**
 * Gratuitous ARP and unsolicited NA frames against the ones keepalived 2.2.7
 * sent in capture.sh: byte-exact, no padding (keepalived sends 42- and
 * 86-byte frames, below Ethernet's 60-byte minimum).
 */
import fc from 'fast-check'
import t from 'tap'
import { bytesToAddress } from '../../src/vrrp/address.js'
import { internetChecksum, IPPROTO_ICMPV6, ipv6PseudoHeaderSum } from '../../src/vrrp/checksum.js'
import {
  buildGratuitousArp, buildUnsolicitedNeighbourAdvert, formatMac, GRATUITOUS_ARP_LENGTH, macToBuffer, NEIGHBOUR_ADVERT_LENGTH,
} from '../../src/vrrp/frames.js'
import { CAPTURE_NAMES, framesOf, loadCapture } from '../fixtures/vrrp/load.js'

const MAC = '02:00:00:31:00:01'

t.test('MAC addresses: text to bytes and back', async (t) => {
  t.same(macToBuffer('02:00:00:31:00:01'), Buffer.from([2, 0, 0, 0x31, 0, 1]))
  t.same(macToBuffer('AA-BB-CC-DD-EE-FF'), Buffer.from([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]))
  t.equal(macToBuffer('02:00:00:31:00'), undefined)
  t.equal(macToBuffer('02:00:00:31:00:zz'), undefined)
  t.equal(macToBuffer('02:00:00:31:00:100'), undefined)
  t.equal(formatMac(Buffer.from([0, 0x5e, 0, 1, 0x0a, 0xff])), '00:5e:00:01:0a:ff')
  t.throws(() => formatMac(Buffer.alloc(5)), RangeError)
  fc.assert(fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (b) => {
    t.same(macToBuffer(formatMac(b)), Buffer.from(b))
  }), { numRuns: 100 })
})

/** Every ARP frame keepalived sent for a VIP, with the VIP it announced. */
const arpFrames = CAPTURE_NAMES.flatMap((name) => framesOf(loadCapture(name), 'arp').map((f) => ({ name, frame: f })))

t.test('gratuitous ARP: byte-identical to keepalived, 42 bytes, 5 per VIP', async (t) => {
  t.ok(arpFrames.length >= 7, 'one per IPv4 VIP across the captures')
  for (const { name, frame } of arpFrames) {
    const vip = bytesToAddress(frame.bytes.subarray(28, 32))
    t.equal(frame.bytes.length, GRATUITOUS_ARP_LENGTH, `${name} ${vip}: not padded to 60`)
    t.equal(frame.count, 5, `${name} ${vip}: garp_master_repeat default`)
    t.same(buildGratuitousArp(MAC, vip), frame.bytes, `${name} ${vip}`)
  }
  const frame = buildGratuitousArp(macToBuffer(MAC)!, '10.31.0.100')
  t.equal(frame.toString('hex'), 'ffffffffffff' + '020000310001' + '0806' + '0001080006040001' + '020000310001' + '0a1f0064' + 'ffffffffffff' + '0a1f0064')
  t.throws(() => buildGratuitousArp(MAC, 'fd31::1'), RangeError)
  t.throws(() => buildGratuitousArp('nope', '10.0.0.1'), RangeError)
})

t.test('unsolicited NA: byte-identical to keepalived for a link-local and a global VIP', async (t) => {
  const captured = framesOf(loadCapture('v3-ipv6-multicast'), 'neighbour-advert')
  t.equal(captured.length, 2)
  for (const frame of captured) {
    const vip = bytesToAddress(frame.bytes.subarray(62, 78))
    t.equal(frame.bytes.length, NEIGHBOUR_ADVERT_LENGTH, `${vip}: not padded`)
    t.equal(frame.count, 5, `${vip}: garp_master_repeat applies to NAs too`)
    t.equal(bytesToAddress(frame.bytes.subarray(22, 38)), vip, 'sent from the VIP itself')
    t.same(buildUnsolicitedNeighbourAdvert(MAC, vip), frame.bytes, vip)
  }
  t.same(captured.map((f) => bytesToAddress(f.bytes.subarray(62, 78))), ['fe80::31:100', 'fd31::100'])
})

t.test('unsolicited NA: fields and checksum, with and without the Router flag', async (t) => {
  for (const router of [false, true]) {
    const frame = buildUnsolicitedNeighbourAdvert(MAC, 'fd31::100', { router })
    t.equal(frame.subarray(0, 6).toString('hex'), '333300000001', 'all-nodes multicast MAC')
    t.equal(frame.readUInt16BE(12), 0x86dd)
    t.equal(frame[20], IPPROTO_ICMPV6)
    t.equal(frame[21], 255, 'hop limit 255')
    t.equal(bytesToAddress(frame.subarray(38, 54)), 'ff02::1')
    t.equal(frame[54], 136, 'Neighbour Advertisement')
    t.equal(frame[58], router ? 0xa0 : 0x20, 'Override, and Router when asked; never Solicited')
    t.equal(formatMac(frame.subarray(80, 86)), MAC, 'Target Link-Layer Address option')
    const icmp = frame.subarray(54)
    t.equal(internetChecksum(icmp, ipv6PseudoHeaderSum(frame.subarray(22, 38), frame.subarray(38, 54), IPPROTO_ICMPV6, icmp.length)), 0, 'checksum valid')
  }
  t.throws(() => buildUnsolicitedNeighbourAdvert(MAC, '10.0.0.1'), RangeError)
})
