/**
 * The subsystems this build can run: VRRP (src/vrrp/runtime.ts).
 * Checkers (IPVS and health checks) come with their own issue.
 */
import { createVrrpRuntime } from '../vrrp/runtime.js'
import type { SubsystemRegistry } from './subsystem.js'

/** The registry the command line uses. */
export function builtinSubsystems(): SubsystemRegistry {
  return {
    vrrp: createVrrpRuntime,
  }
}
