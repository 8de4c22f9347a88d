/** The host's network interfaces, as `keepalived -t` checks them. */
import { readdirSync } from 'node:fs'

/** Interface names in this network namespace (from sysfs), or undefined when sysfs is not readable. */
export function listInterfaces(): Set<string> | undefined {
  try {
    return new Set(readdirSync('/sys/class/net'))
  } catch {
    return undefined
  }
}
