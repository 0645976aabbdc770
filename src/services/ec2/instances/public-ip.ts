/**
 * Auto-assigned public IPv4 addresses (AssociatePublicIpAddress, or a subnet's
 * MapPublicIpOnLaunch): given at launch, released at stop (./supervisor.ts) and at termination,
 * and a new one given at every start and whenever an Elastic IP that replaced it goes away, as
 * AWS does. They come from the same loopback pool as Elastic IPs (state/public-ips.ts).
 */
import type { Scope } from '../../../state/scope.js';
import { Ec2Errors } from '../errors.js';
import type { InstanceRecord } from './store.js';
import type { Ec2Store } from '../store.js';

/** A free public IP for `owner`; AddressLimitExceeded when the pool is exhausted. Call in a transaction. */
export function allocatePublicIp(store: Ec2Store, scope: Scope, owner: string): string {
  const ip = store.network.publicIps.allocate(scope, owner);
  if (!ip) throw Ec2Errors.addressLimit();
  return ip;
}

/**
 * The auto-assigned public IP the instance should have now: the one it has, a new one if it
 * wants one, or none (it never asked, or an Elastic IP holds its primary address). Call in a
 * transaction and store the result in the row.
 */
export function autoPublicIp(store: Ec2Store, scope: Scope, i: InstanceRecord): string | undefined {
  if (i.PublicIpAddress) return i.PublicIpAddress;
  if (!i.WantsPublicIp) return undefined;
  const elastic = store.network.elasticIps.list(scope).some((a) => a.NetworkInterfaceId === i.NetworkInterfaceId && a.PrivateIpAddress === i.PrivateIpAddress);
  return elastic ? undefined : allocatePublicIp(store, scope, i.InstanceId);
}
