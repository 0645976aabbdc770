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
import { applyFilters, type Accessors } from '../../../state/filters.js';
import { resourceId } from '../../../state/ids.js';
import type { SubnetRecord } from '../../../state/network.js';
import { paginate } from '../../../state/pagination.js';
import { findZone, zonesOf, type ZoneInfo } from '../../../state/regions.js';
import type { Tag } from '../../../state/tags.js';
import { RESERVED_ADDRESSES } from '../../../state/subnet-addresses.js';
import type { Scope } from '../../../state/scope.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { Ec2Errors } from '../errors.js';
import { wellFormed, type Ec2Store } from '../store.js';
import { putTags, tagsFromSpecifications } from '../tagging.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;
type Subnet = SubnetRecord & { Tags: Tag[] };


const subnetFilters: Accessors<Subnet> = {
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
};

export function subnetHandlers(store: Ec2Store) {
  const { vpcs, subnets } = store.network;
  store.registerTaggable('subnet', {
    type: 'subnet',
    exists: (scope, id) => subnets.get(scope, id) !== undefined,
    notFound: Ec2Errors.subnetNotFound,
  });

  const CreateSubnet: Op<'CreateSubnet'> = (ctx, input) => {
    if (input.Ipv6CidrBlock || input.Ipv6Native || input.Ipv4IpamPoolId || input.Ipv6IpamPoolId || input.OutpostArn) {
      throw Ec2Errors.invalidParameter('kumo does not support IPv6, IPAM or Outposts subnets yet.');
    }
    const scope = scopeOf(ctx);
    if (!wellFormed(input.VpcId, 'vpc')) throw Ec2Errors.vpcMalformed(input.VpcId);
    const vpc = vpcs.get(scope, input.VpcId);
    if (!vpc) throw Ec2Errors.vpcNotFound(input.VpcId);
    if (!input.CidrBlock) throw Ec2Errors.missingParameter('CidrBlock');
    const cidr = parseCidr4(input.CidrBlock);
    if (!cidr) throw Ec2Errors.invalidCidr(input.CidrBlock);
    const vpcCidrs = vpc.CidrBlockAssociationSet.map((a) => parseCidr4(a.CidrBlock)!);
    if (cidr.prefix < 16 || cidr.prefix > 28 || !vpcCidrs.some((v) => contains(v, cidr))) {
      throw Ec2Errors.subnetRange(input.CidrBlock);
    }
    const siblings = subnets.list(scope).filter((s) => s.VpcId === vpc.VpcId);
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

  const DescribeSubnets: Op<'DescribeSubnets'> = (ctx, input) => {
    if (input.SubnetIds?.length && input.MaxResults !== undefined) {
      throw Ec2Errors.invalidCombination('The parameter subnetIds cannot be used with the parameter maxResults');
    }
    checkDryRun(input);
    const scope = scopeOf(ctx);
    let all = store.withTags(scope, 'subnet', (s) => s.SubnetId, subnets.list(scope));
    if (input.SubnetIds?.length) {
      const byId = new Map(all.map((s) => [s.SubnetId, s]));
      for (const id of input.SubnetIds) if (!wellFormed(id, 'subnet')) throw Ec2Errors.subnetMalformed(id);
      for (const id of input.SubnetIds) if (!byId.has(id)) throw Ec2Errors.subnetNotFound(id);
      all = [...new Set(input.SubnetIds)].map((id) => byId.get(id)!);
    }
    const used = store.network.addresses.inUseBySubnet(scope);
    all = all.map((s) => ({ ...s, AvailableIpAddressCount: s.AvailableIpAddressCount - (used.get(s.SubnetId) ?? 0) }));
    const filtered = applyFilters(all, input.Filters, subnetFilters);
    const page = paginate(filtered, (s) => s.SubnetId, { maxResults: input.MaxResults, nextToken: input.NextToken, min: 5, max: 1000 });
    return { Subnets: page.items, NextToken: page.nextToken };
  };

  const DeleteSubnet: Op<'DeleteSubnet'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    if (!wellFormed(input.SubnetId, 'subnet')) throw Ec2Errors.subnetMalformed(input.SubnetId);
    const subnet = subnets.get(scope, input.SubnetId);
    if (!subnet) throw Ec2Errors.subnetNotFound(input.SubnetId);
    // Anything holding an address here (an interface, an instance, a load balancer) must go first.
    if (store.network.addresses.inUse(scope, subnet.SubnetId) > 0) throw Ec2Errors.dependencyViolation('subnet', subnet.SubnetId);
    checkDryRun(input);
    store.transaction(() => removeSubnet(store, scope, subnet.SubnetId));
    return {};
  };

  const ModifySubnetAttribute: Op<'ModifySubnetAttribute'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    if (!wellFormed(input.SubnetId, 'subnet')) throw Ec2Errors.subnetMalformed(input.SubnetId);
    const subnet = subnets.get(scope, input.SubnetId);
    if (!subnet) throw Ec2Errors.subnetNotFound(input.SubnetId);
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
  const acl = n.networkAcls.list(scope).find((a) => a.VpcId === subnet.VpcId && a.IsDefault);
  if (acl) {
    acl.Associations.push({ NetworkAclAssociationId: resourceId('aclassoc'), NetworkAclId: acl.NetworkAclId, SubnetId: subnet.SubnetId });
    n.networkAcls.update(scope, acl.NetworkAclId, acl);
  }
  putTags(store, scope, subnet.SubnetId, 'subnet', tags);
}

/** Removes a subnet and its network ACL and route table associations. */
function removeSubnet(store: Ec2Store, scope: Scope, subnetId: string): void {
  const n = store.network;
  for (const acl of n.networkAcls.list(scope)) {
    if (!acl.Associations.some((a) => a.SubnetId === subnetId)) continue;
    n.networkAcls.update(scope, acl.NetworkAclId, { ...acl, Associations: acl.Associations.filter((a) => a.SubnetId !== subnetId) });
  }
  for (const rtb of n.routeTables.list(scope)) {
    if (!rtb.Associations.some((a) => a.SubnetId === subnetId)) continue;
    n.routeTables.update(scope, rtb.RouteTableId, { ...rtb, Associations: rtb.Associations.filter((a) => a.SubnetId !== subnetId) });
  }
  n.subnets.delete(scope, subnetId);
  store.tags.removeAll(scope, subnetId);
}
