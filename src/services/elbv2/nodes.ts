/**
 * A load balancer's nodes as the VPC sees them: one requester-managed network interface per
 * subnet (`ELB app/<name>/<id>`, as AWS's are), holding a private address of the subnet and, for
 * internet-facing load balancers, a public (loopback) address. Being real interface rows, they
 * keep subnets and security groups in use, as on AWS. Call inside a transaction.
 */
import { randomBytes } from 'node:crypto';
import type { NetworkStore, SubnetRecord } from '../../state/network.js';
import { resourceId } from '../../state/ids.js';
import type { Scope } from '../../state/scope.js';
import type { TagStore } from '../../state/tags.js';
import { Elbv2Errors } from './errors.js';
import type { Elbv2Store, LoadBalancerNode, LoadBalancerRecord } from './store.js';

const macAddress = () => ['02', ...[...randomBytes(5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');

export function description(lb: Pick<LoadBalancerRecord, 'LoadBalancerArn'>): string {
  return `ELB ${lb.LoadBalancerArn.split(':loadbalancer/')[1]}`;
}

export function createNode(
  n: NetworkStore,
  scope: Scope,
  lb: Pick<LoadBalancerRecord, 'LoadBalancerArn' | 'Scheme' | 'SecurityGroups'>,
  subnet: SubnetRecord,
  wantedIp?: string,
): LoadBalancerNode {
  const eniId = resourceId('eni');
  const ip = n.addresses.allocate(scope, subnet.SubnetId, subnet.CidrBlock, eniId, wantedIp);
  if (!ip) {
    throw wantedIp
      ? Elbv2Errors.invalidConfiguration(`The private IPv4 address '${wantedIp}' is not available in subnet '${subnet.SubnetId}'`)
      : Elbv2Errors.invalidSubnet(`Not enough IP space available in ${subnet.SubnetId}. ELB requires at least 8 free IP addresses in each subnet.`);
  }
  const publicIp = lb.Scheme === 'internet-facing' ? n.publicIps.allocate(scope, eniId) : undefined;
  if (lb.Scheme === 'internet-facing' && !publicIp) throw Elbv2Errors.invalidConfiguration('No public IPv4 address is left in kumo\'s pool');
  n.networkInterfaces.insert(scope, eniId, {
    NetworkInterfaceId: eniId,
    SubnetId: subnet.SubnetId,
    VpcId: subnet.VpcId,
    AvailabilityZone: subnet.AvailabilityZone,
    OwnerId: scope.account,
    Description: description(lb),
    InterfaceType: 'interface',
    MacAddress: macAddress(),
    PrivateIpAddresses: [{ PrivateIpAddress: ip, Primary: true }],
    GroupIds: [...lb.SecurityGroups],
    SourceDestCheck: true,
    RequesterManaged: true,
    Status: 'in-use',
  });
  return { SubnetId: subnet.SubnetId, ZoneName: subnet.AvailabilityZone, NetworkInterfaceId: eniId, PrivateIp: ip, PublicIp: publicIp };
}

/** The node's interface, addresses and public IP go back (after its port is unplugged). */
export function releaseNode(n: NetworkStore, tags: TagStore, scope: Scope, node: LoadBalancerNode): void {
  n.addresses.releaseOwner(scope, node.NetworkInterfaceId);
  if (node.PublicIp) n.publicIps.release(node.PublicIp);
  n.networkInterfaces.delete(scope, node.NetworkInterfaceId);
  tags.removeAll(scope, node.NetworkInterfaceId);
}

/** A load balancer's security groups change, on its row and on its nodes' interfaces (both APIs). */
export function setGroups(store: Elbv2Store, n: NetworkStore, scope: Scope, lb: LoadBalancerRecord, groups: string[]): void {
  store.transaction(() => {
    store.loadBalancers.update(scope, lb.LoadBalancerArn, { ...lb, SecurityGroups: groups });
    for (const node of lb.Nodes) {
      const eni = n.networkInterfaces.get(scope, node.NetworkInterfaceId);
      if (eni) n.networkInterfaces.update(scope, eni.NetworkInterfaceId, { ...eni, GroupIds: [...groups] });
    }
  });
}

/**
 * A load balancer's nodes become those of `subnets` (both APIs): nodes of subnets it keeps stay,
 * new subnets get new nodes, the others are retired (the supervisor releases them once unplugged).
 */
export function setSubnets(store: Elbv2Store, n: NetworkStore, scope: Scope, lb: LoadBalancerRecord, subnets: { subnet: SubnetRecord; ip?: string }[]): LoadBalancerRecord {
  const kept = lb.Nodes.filter((node) => subnets.some((s) => s.subnet.SubnetId === node.SubnetId));
  const gone = lb.Nodes.filter((node) => !kept.includes(node));
  return store.transaction(() => {
    const nodes = subnets.map(({ subnet, ip }) => kept.find((k) => k.SubnetId === subnet.SubnetId) ?? createNode(n, scope, lb, subnet, ip));
    const next = { ...lb, Nodes: nodes, Retired: [...(lb.Retired ?? []), ...gone] };
    store.loadBalancers.update(scope, lb.LoadBalancerArn, next);
    return next;
  });
}

/** A deleted load balancer: hidden at once, its nodes retired; the supervisor drops the row once they are released. Call in a transaction. */
export function markDeleting(store: Elbv2Store, tags: TagStore, scope: Scope, lb: LoadBalancerRecord): void {
  tags.removeAll(scope, lb.LoadBalancerArn);
  store.loadBalancers.update(scope, lb.LoadBalancerArn, { ...lb, State: { Code: 'deleting' }, Nodes: [], Retired: [...(lb.Retired ?? []), ...lb.Nodes] });
}
