/**
 * The desired IPVS table as data and a pure reconcile against the kernel's
 * (reference §6): the checker side builds the table from its pools, the
 * runtime dumps the kernel's, and the operations between them go to the
 * generic netlink client in src/net.
 */
export {
  canonicalServiceKey, clampWeight, desiredTable, destId, destOf, destText, ipv4Netmask, IPVS_WEIGHT_MAX, mergeOwned, ownedOf,
  rangeAddresses, rsText, serviceId, servicesOf, trioText, vsText, type Owned, type PoolMember,
} from './desired.js'
export { reconcile, sameDest, sameService, type IpvsOperation, type IpvsOperationKind } from './reconcile.js'
