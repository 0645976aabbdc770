/**
 * CreateSubnet, DescribeSubnets, DeleteSubnet, ModifySubnetAttribute. A subnet's CIDR lies inside
 * one of its VPC's, is /16 to /28 and overlaps no other subnet of the VPC; it starts associated
 * with its VPC's default network ACL (and, implicitly, the main route table). AWS reserves five
 * addresses in each (network, router, DNS, future use, broadcast); AvailableIpAddressCount leaves
 * those out and whatever state/subnet-addresses.ts records as in use.
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { contains, overlaps, parseCidr4, size } from '../../../lib/cidr.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { resourceId } from '../../../state/ids.js';
import type { SubnetRecord } from '../../../state/network.js';
import { findZone, zonesOf, type ZoneInfo } from '../../../state/regions.js';
import type { Tag } from '../../../state/tags.js';
import { RESERVED_ADDRESSES } from '../../../state/subnet-addresses.js';
import type { Scope } from '../../../state/scope.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { Ec2Errors } from '../errors.js';
import { deleteKind, describeKind, lookup, pageAs, registerKind, type ResourceKind } from '../resource-kind.js';
import type { Ec2Store } from '../store.js';
import { putTags, tagsFromSpecifications } from '../tagging.js';
import { VPCS } from './vpcs.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;

export const SUBNETS: ResourceKind<SubnetRecord> = {
  type: 'subnet', prefix: 'subnet', id: (s) => s.SubnetId, table: (n) => n.subnets, idsParam: 'subnetIds',
  notFound: Ec2Errors.subnetNotFound, malformed: Ec2Errors.subnetMalformed,
  columns: { 'vpc-id': 'VpcId', 'subnet-id': 'SubnetId', 'availability-zone': 'AvailabilityZone', 'cidr-block': 'CidrBlock' },
  filters: {
    'subnet-id': (s) => s.SubnetId,
    'subnet-arn': (s) => s.SubnetArn,
    'vpc-id': (s) => s.VpcId,
    'availability-zone': (s) => s.AvailabilityZone,
    availabilityZone: (s) => s.AvailabilityZone,
    'availability-zone-id': (s) => s.AvailabilityZoneId,
    availabilityZoneId: (s) => s.AvailabilityZoneId,
    'available-ip-address-count': (s) => s.AvailableIpAddressCount,
    'cidr-block': (s) => s.CidrBlock,
    cidr: (s) => s.CidrBlock,
    cidrBlock: (s) => s.CidrBlock,
    'default-for-az': (s) => s.DefaultForAz,
    defaultForAz: (s) => s.DefaultForAz,
    'map-public-ip-on-launch': (s) => s.MapPublicIpOnLaunch,
    'owner-id': (s) => s.OwnerId,
    state: (s) => s.State,
    'ipv6-native': (s) => s.Ipv6Native,
  },
  // The row leaves AWS's reserved addresses out; those in use now come off as it is read.
  read: (rows, store, scope) => {
    const used = store.network.addresses.inUseBySubnet(scope);
    return rows.map((s) => ({ ...s, AvailableIpAddressCount: s.AvailableIpAddressCount - (used.get(s.SubnetId) ?? 0) }));
  },
  // Anything holding an address here (an interface, an instance, a load balancer) must go first.
  blocksDelete: (s, store, scope) => (store.network.addresses.inUse(scope, s.SubnetId) > 0 ? Ec2Errors.dependencyViolation('subnet', s.SubnetId) : undefined),
  cleanup: (s, store, scope) => dropAssociations(store, scope, s.SubnetId),
};

export function subnetHandlers(store: Ec2Store) {
  const { subnets } = store.network;
  registerKind(store, SUBNETS);

  const CreateSubnet: Op<'CreateSubnet'> = (ctx, input) => {
    if (input.Ipv6CidrBlock || input.Ipv6Native || input.Ipv4IpamPoolId || input.Ipv6IpamPoolId || input.OutpostArn) {
      throw Ec2Errors.invalidParameter('kumo does not support IPv6, IPAM or Outposts subnets yet.');
    }
    const scope = scopeOf(ctx);
    const vpc = lookup(store, scope, VPCS, input.VpcId);
    if (!input.CidrBlock) throw Ec2Errors.missingParameter('CidrBlock');
    const cidr = parseCidr4(input.CidrBlock);
    if (!cidr) throw Ec2Errors.invalidCidr(input.CidrBlock);
    const vpcCidrs = vpc.CidrBlockAssociationSet.map((a) => parseCidr4(a.CidrBlock)!);
    if (cidr.prefix < 16 || cidr.prefix > 28 || !vpcCidrs.some((v) => contains(v, cidr))) {
      throw Ec2Errors.subnetRange(input.CidrBlock);
    }
    const siblings = subnets.listWhere(scope, 'VpcId', [vpc.VpcId]);
    if (siblings.some((s) => overlaps(parseCidr4(s.CidrBlock)!, cidr))) throw Ec2Errors.subnetConflict(input.CidrBlock);
    const zones = zonesOf(ctx.region);
    if (input.AvailabilityZone && input.AvailabilityZoneId) {
      throw Ec2Errors.invalidCombination('Only one of AvailabilityZone or AvailabilityZoneId may be specified.');
    }
    const asked = input.AvailabilityZone ?? input.AvailabilityZoneId;
    const zone = asked ? findZone(ctx.region, asked) : zones[Math.floor(Math.random() * zones.length)];
    if (!zone) throw Ec2Errors.invalidZone(asked ?? '', zones.map((z) => z.zoneName));
    const tags = tagsFromSpecifications(input.TagSpecifications, 'subnet');
    checkDryRun(input);
    const subnet = newSubnetRecord(ctx.region, ctx.account, vpc.VpcId, cidr.text, zone, false);
    store.transaction(() => insertSubnet(store, scope, subnet, tags));
    return { Subnet: { ...subnet, Tags: tags } };
  };

  const DescribeSubnets: Op<'DescribeSubnets'> = (ctx, input) =>
    pageAs('Subnets', describeKind(store, ctx, SUBNETS, input, input.SubnetIds));

  const DeleteSubnet: Op<'DeleteSubnet'> = (ctx, input) => deleteKind(store, ctx, SUBNETS, input.SubnetId, input);

  const ModifySubnetAttribute: Op<'ModifySubnetAttribute'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const subnet = lookup(store, scope, SUBNETS, input.SubnetId);
    if (
      input.AssignIpv6AddressOnCreation?.Value ||
      input.MapCustomerOwnedIpOnLaunch?.Value ||
      input.CustomerOwnedIpv4Pool ||
      input.EnableDns64?.Value ||
      input.EnableLniAtDeviceIndex !== undefined ||
      input.DisableLniAtDeviceIndex?.Value ||
      input.EnableResourceNameDnsAAAARecordOnLaunch?.Value
    ) {
      throw Ec2Errors.unsupported('IPv6, customer-owned IP pools or local network interfaces on subnets');
    }
    const set = [
      input.MapPublicIpOnLaunch,
      input.AssignIpv6AddressOnCreation,
      input.MapCustomerOwnedIpOnLaunch,
      input.EnableDns64,
      input.EnableResourceNameDnsARecordOnLaunch,
      input.EnableResourceNameDnsAAAARecordOnLaunch,
      input.PrivateDnsHostnameTypeOnLaunch,
      input.DisableLniAtDeviceIndex,
    ].filter((x) => x !== undefined);
    // AWS modifies one attribute per call.
    if (set.length !== 1) throw Ec2Errors.invalidCombination('Only one attribute can be modified at a time');
    const hostnameType = input.PrivateDnsHostnameTypeOnLaunch;
    if (hostnameType !== undefined && hostnameType !== 'ip-name' && hostnameType !== 'resource-name') {
      throw Ec2Errors.invalidParameter(`Value (${hostnameType}) for parameter PrivateDnsHostnameTypeOnLaunch is invalid.`);
    }
    const next: SubnetRecord = { ...subnet, PrivateDnsNameOptionsOnLaunch: { ...subnet.PrivateDnsNameOptionsOnLaunch } };
    if (input.MapPublicIpOnLaunch) next.MapPublicIpOnLaunch = input.MapPublicIpOnLaunch.Value ?? false;
    if (input.AssignIpv6AddressOnCreation) next.AssignIpv6AddressOnCreation = false;
    if (input.MapCustomerOwnedIpOnLaunch) next.MapCustomerOwnedIpOnLaunch = false;
    if (input.EnableDns64) next.EnableDns64 = false;
    if (input.EnableResourceNameDnsARecordOnLaunch) {
      next.PrivateDnsNameOptionsOnLaunch.EnableResourceNameDnsARecord = input.EnableResourceNameDnsARecordOnLaunch.Value ?? false;
    }
    if (hostnameType) next.PrivateDnsNameOptionsOnLaunch.HostnameType = hostnameType;
    subnets.update(scope, subnet.SubnetId, next);
    return {};
  };

  return { CreateSubnet, DescribeSubnets, DeleteSubnet, ModifySubnetAttribute };
}

export function newSubnetRecord(region: string, account: string, vpcId: string, cidr: string, zone: ZoneInfo, isDefault: boolean): SubnetRecord {
  const id = resourceId('subnet');
  return {
    SubnetId: id,
    SubnetArn: `arn:aws:ec2:${region}:${account}:subnet/${id}`,
    VpcId: vpcId,
    OwnerId: account,
    CidrBlock: cidr,
    AvailabilityZone: zone.zoneName,
    AvailabilityZoneId: zone.zoneId,
    AvailableIpAddressCount: size(parseCidr4(cidr)!) - RESERVED_ADDRESSES,
    State: 'available',
    DefaultForAz: isDefault,
    MapPublicIpOnLaunch: isDefault,
    MapCustomerOwnedIpOnLaunch: false,
    AssignIpv6AddressOnCreation: false,
    Ipv6CidrBlockAssociationSet: [],
    EnableDns64: false,
    Ipv6Native: false,
    PrivateDnsNameOptionsOnLaunch: { HostnameType: 'ip-name', EnableResourceNameDnsARecord: false, EnableResourceNameDnsAAAARecord: false },
  };
}

/** Writes a subnet associated with its VPC's default network ACL; call inside a transaction. */
export function insertSubnet(store: Ec2Store, scope: Scope, subnet: SubnetRecord, tags: Tag[]): void {
  const n = store.network;
  n.subnets.insert(scope, subnet.SubnetId, subnet);
  const acl = n.networkAcls.listWhere(scope, 'VpcId', [subnet.VpcId]).find((a) => a.IsDefault);
  if (acl) {
    acl.Associations.push({ NetworkAclAssociationId: resourceId('aclassoc'), NetworkAclId: acl.NetworkAclId, SubnetId: subnet.SubnetId });
    n.networkAcls.update(scope, acl.NetworkAclId, acl);
  }
  putTags(store, scope, subnet.SubnetId, 'subnet', tags);
}

/** Drops a subnet's network ACL and route table associations as the subnet goes. */
function dropAssociations(store: Ec2Store, scope: Scope, subnetId: string): void {
  const n = store.network;
  for (const acl of n.networkAcls.list(scope)) {
    if (!acl.Associations.some((a) => a.SubnetId === subnetId)) continue;
    n.networkAcls.update(scope, acl.NetworkAclId, { ...acl, Associations: acl.Associations.filter((a) => a.SubnetId !== subnetId) });
  }
  for (const rtb of n.routeTables.list(scope)) {
    if (!rtb.Associations.some((a) => a.SubnetId === subnetId)) continue;
    n.routeTables.update(scope, rtb.RouteTableId, { ...rtb, Associations: rtb.Associations.filter((a) => a.SubnetId !== subnetId) });
  }
}
