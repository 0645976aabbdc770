/**
 * A DB instance's servers as the network sees them: each node has a requester-managed interface
 * in its subnet (as RDS makes one: DescribeNetworkInterfaces lists it, and its subnet and VPC
 * cannot be deleted under it), an address, and the instance's internal group so that a primary
 * and its standby reach each other whatever the security groups say. Call in a transaction.
 */
import { createHash, randomBytes } from 'node:crypto';
import { resourceId } from '../../../state/ids.js';
import type { NetworkStore, SubnetRecord } from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import { RdsErrors } from '../errors.js';
import type { DbNode } from '../store.js';

export function allocateNode(network: NetworkStore, scope: Scope, subnet: SubnetRecord, groups: string[], internalGroup: string): DbNode {
  const eniId = resourceId('eni');
  const ip = network.addresses.allocate(scope, subnet.SubnetId, subnet.CidrBlock, eniId);
  if (!ip) throw RdsErrors.vpcState(`The subnet ${subnet.SubnetId} has no free IP address.`);
  network.networkInterfaces.insert(scope, eniId, {
    NetworkInterfaceId: eniId,
    SubnetId: subnet.SubnetId,
    VpcId: subnet.VpcId,
    AvailabilityZone: subnet.AvailabilityZone,
    OwnerId: scope.account,
    Description: 'RDSNetworkInterface',
    InterfaceType: 'interface',
    MacAddress: macOf(eniId),
    PrivateIpAddresses: [{ PrivateIpAddress: ip, Primary: true }],
    GroupIds: groups,
    SourceDestCheck: true,
    RequesterManaged: true,
    Status: 'in-use',
    InternalGroup: internalGroup,
  });
  return { NodeId: nodeId(), AvailabilityZone: subnet.AvailabilityZone, SubnetId: subnet.SubnetId, PrivateIpAddress: ip, NetworkInterfaceId: eniId };
}

export function releaseNode(network: NetworkStore, scope: Scope, node: DbNode): void {
  network.addresses.releaseOwner(scope, node.NetworkInterfaceId);
  network.networkInterfaces.delete(scope, node.NetworkInterfaceId);
}

/** `db-` and 26 base-32 characters, lower case (a container and host name). */
export const nodeId = () => `db-${Array.from(randomBytes(26), (b) => 'abcdefghijklmnopqrstuvwxyz234567'[b % 32]).join('')}`;

/** A stable locally administered MAC for an interface kumo makes on RDS's behalf. */
function macOf(eniId: string): string {
  const b = createHash('sha256').update(eniId).digest();
  return ['02', ...Array.from(b.subarray(0, 5), (x) => x.toString(16).padStart(2, '0'))].join(':');
}
