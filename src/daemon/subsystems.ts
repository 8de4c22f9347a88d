/**
 * The subsystems this build can run: VRRP (src/vrrp/runtime.ts) and the
 * checkers with the IPVS table (src/check/runtime.ts).
 */
import { createCheckerRuntime } from '../check/runtime.js'
import { createVrrpRuntime } from '../vrrp/runtime.js'
import type { SubsystemRegistry } from './subsystem.js'

/** The registry the command line uses. */
export function builtinSubsystems(): SubsystemRegistry {
  return {
    vrrp: createVrrpRuntime,
    checkers: createCheckerRuntime,
  }
}
