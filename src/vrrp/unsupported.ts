/**
 * What the VRRP runtime does not do yet, said once at start as a warning that
 * names the instance — never silently skipped (DESIGN.md).
 */
import type { VrrpInstance } from '../config/vrrp/model.js'

export function unsupportedWarnings(instances: readonly VrrpInstance[]): string[] {
  const lines: string[] = []
  for (const inst of instances) {
    for (const vip of [...inst.virtualIpaddresses, ...inst.virtualIpaddressesExcluded]) {
      if (vip.useVmac) lines.push(`(${inst.name}) use_vmac on virtual address ${vip.address} is not supported yet - it goes on ${vip.dev ?? inst.interface ?? '?'}`)
    }
    if (!inst.accept && inst.priority !== 255) lines.push(`(${inst.name}) no_accept: the firewall drop rule is not supported yet - VIPs accept traffic`)
    if (inst.authentication?.type === 'AH') lines.push(`(${inst.name}) auth_type AH is not supported yet - adverts go without authentication`)
  }
  return lines
}
