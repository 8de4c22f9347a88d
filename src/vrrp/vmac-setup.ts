/**
 * `use_vmac` at run time (reference §5.9, keepalived's vrrp_vmac.c and
 * vrrp_if_config.c): a private-mode macvlan on the instance's interface with
 * the virtual router MAC, the sysctls keepalived sets on it and on its base
 * interface, and the way back at stop (VMACs deleted, base sysctls restored).
 *
 * Which addresses go on the VMAC is kernel-actions.ts's business (vmacName);
 * which socket sends the adverts is the runtime's.
 */
import type { VrrpInstance } from '../config/vrrp/model.js'
import type { Logger } from '../log/logger.js'
import {
  addAddress, createVmac, deleteVmac, linkLocalIpv6, NetError, readInterfaceSysctl, type Rtnetlink, setLinkUp, writeInterfaceSysctl,
} from '../net/index.js'
import type { InterfaceInfo } from './kernel-actions.js'
import { vmacName } from './kernel-actions.js'

type Addresses = Parameters<typeof linkLocalIpv6>[0]

/** On the VMAC: answer ARP only for its own addresses, accept our own source, no reverse-path filter. */
const VMAC_SYSCTLS: readonly [string, number][] = [['arp_ignore', 1], ['accept_local', 1], ['rp_filter', 0]]
/** On the base interface: no answering ARP for the VIPs with the real MAC (restored at stop). */
const BASE_SYSCTLS: readonly [string, number][] = [['arp_ignore', 1], ['arp_filter', 1]]
/** net.ipv6.conf.<if>.addr_gen_mode: IN6_ADDR_GEN_MODE_NONE, no automatic link-local. */
const ADDR_GEN_MODE_NONE = 1

export class VmacSetup {
  /** VMACs this run uses, by name. */
  private readonly vmacs = new Map<string, InterfaceInfo>()
  /** Base interfaces' sysctls as they were before the first VMAC on them. */
  private readonly saved = new Map<string, [string, string][]>()

  constructor(private readonly nl: Rtnetlink, private readonly log: Logger) {}

  /**
   * Create (or adopt a leftover) VMAC for `inst` on `base`, configured and up.
   * Undefined (logged) when it cannot be had: the instance is then disabled.
   */
  async setup(inst: VrrpInstance, base: InterfaceInfo, addresses: Addresses): Promise<InterfaceInfo | undefined> {
    const name = vmacName(inst)
    if (name === undefined) return undefined
    const known = this.vmacs.get(name)
    if (known) return known
    const log = this.log
    const created = await createVmac(this.nl, {
      name, baseIndex: base.index, vrid: inst.virtualRouterId, family: inst.family, up: false,
      ...(inst.useVmac?.mac !== undefined ? { mac: inst.useVmac.mac } : {}),
    })
    if (created instanceof NetError) {
      log.error(`(${inst.name}) cannot create VMAC interface ${name} on ${base.name}: ${created.message}`)
      return undefined
    }
    const link = created.link
    if (created.created) log.info(`(${inst.name}): Success creating VMAC interface ${name}`)
    else log.info(`(${inst.name}) VMAC interface ${name} already exists - using it`)
    const info: InterfaceInfo = { index: link.index, name: link.name, mac: link.mac, noArp: false }
    this.vmacs.set(name, info)

    // Without a link-local of its own the VMAC sends nothing (DAD, router solicitations)
    // with the shared virtual MAC while BACKUP; IPv6 instances get the base's link-local.
    this.warn(inst, writeInterfaceSysctl(6, name, 'addr_gen_mode', ADDR_GEN_MODE_NONE))
    for (const [key, value] of VMAC_SYSCTLS) this.warn(inst, writeInterfaceSysctl(4, name, key, value))
    this.saveAndSetBase(inst, base.name)
    const up = await setLinkUp(this.nl, link, true)
    if (up) {
      log.error(`(${inst.name}) cannot bring VMAC interface ${name} up: ${up.message}`)
      return undefined
    }
    if (inst.family === 6) {
      const ll = linkLocalIpv6(addresses, base.index)
      const added = ll === undefined ? undefined : await addAddress(this.nl, { index: link.index, interface: name, address: ll, prefixLength: 64, scope: 'link', noDad: true })
      if (added instanceof NetError && added.errno?.name !== 'EEXIST') log.error(`(${inst.name}) cannot add link-local ${ll ?? '?'} to ${name}: ${added.message}`)
    }
    return info
  }

  /** SIGHUP removed the last instance on VMAC `name`: delete it (the base's sysctls stay until stop). */
  async remove(name: string): Promise<void> {
    if (!this.vmacs.has(name)) return
    this.vmacs.delete(name)
    const r = await deleteVmac(this.nl, name)
    if (r instanceof NetError) this.log.error(`cannot delete VMAC interface ${name}: ${r.message}`)
    else this.log.info(`Deleting VMAC interface ${name}`)
  }

  /** Delete every VMAC of this run and restore the base interfaces' sysctls. */
  async teardown(): Promise<void> {
    for (const name of this.vmacs.keys()) {
      const r = await deleteVmac(this.nl, name)
      if (r instanceof NetError) this.log.error(`cannot delete VMAC interface ${name}: ${r.message}`)
      else this.log.info(`Deleting VMAC interface ${name}`)
    }
    this.vmacs.clear()
    for (const [base, values] of this.saved) {
      for (const [key, value] of values) {
        const err = writeInterfaceSysctl(4, base, key, value)
        if (err) this.log.error(`cannot restore ${key} on ${base}: ${err.message}`)
      }
    }
    this.saved.clear()
  }

  private saveAndSetBase(inst: VrrpInstance, base: string): void {
    if (this.saved.has(base)) return
    const values: [string, string][] = []
    for (const [key, value] of BASE_SYSCTLS) {
      const old = readInterfaceSysctl(4, base, key)
      if (old instanceof NetError) {
        this.warn(inst, old)
        continue
      }
      values.push([key, old])
      this.warn(inst, writeInterfaceSysctl(4, base, key, value))
    }
    this.saved.set(base, values)
  }

  private warn(inst: VrrpInstance, err: NetError | undefined): void {
    if (err) this.log.warning(`(${inst.name}) ${err.message}`)
  }
}
