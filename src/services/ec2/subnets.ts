/**
 * CreateSubnet, DescribeSubnets, DeleteSubnet. A subnet's CIDR lies inside its VPC's, is /16 to
 * /28 and overlaps no other subnet of the VPC; AWS reserves five addresses in each (network,
 * router, DNS, future use, broadcast), which AvailableIpAddressCount leaves out.
 */
import type { Ec2Operations } from '../../models/generated/ec2.js';
import { contains, overlaps, parseCidr4, size } from '../../runtime/net/cidr.js';
import { checkDryRun } from '../../state/dry-run.js';
import { applyFilters, type Accessors } from '../../state/filters.js';
import { resourceId } from '../../state/ids.js';
import type { SubnetRecord } from '../../state/network.js';
import { paginate } from '../../state/pagination.js';
import { findZone, zonesOf } from '../../state/regions.js';
import type { Tag } from '../../state/tags.js';
import { scopeOf, type OpHandler } from '../service.js';
import { Ec2Errors } from './errors.js';
import { wellFormed, type Ec2Store } from './store.js';
import { putTags, tagsFromSpecifications } from './tagging.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;
type Subnet = SubnetRecord & { Tags: Tag[] };

export const RESERVED_ADDRESSES = 5;

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
    const id = resourceId('subnet');
    const subnet: SubnetRecord = {
      SubnetId: id,
      SubnetArn: `arn:aws:ec2:${ctx.region}:${ctx.account}:subnet/${id}`,
      VpcId: vpc.VpcId,
      OwnerId: ctx.account,
      CidrBlock: cidr.text,
      AvailabilityZone: zone.zoneName,
      AvailabilityZoneId: zone.zoneId,
      AvailableIpAddressCount: size(cidr) - RESERVED_ADDRESSES,
      State: 'available',
      DefaultForAz: false,
      MapPublicIpOnLaunch: false,
      MapCustomerOwnedIpOnLaunch: false,
      AssignIpv6AddressOnCreation: false,
      Ipv6CidrBlockAssociationSet: [],
      EnableDns64: false,
      Ipv6Native: false,
      PrivateDnsNameOptionsOnLaunch: { HostnameType: 'ip-name', EnableResourceNameDnsARecord: false, EnableResourceNameDnsAAAARecord: false },
    };
    store.transaction(() => {
      subnets.insert(scope, id, subnet);
      putTags(store, scope, id, 'subnet', tags);
    });
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
    const filtered = applyFilters(all, input.Filters, subnetFilters);
    const page = paginate(filtered, (s) => s.SubnetId, { maxResults: input.MaxResults, nextToken: input.NextToken, min: 5, max: 1000 });
    return { Subnets: page.items, NextToken: page.nextToken };
  };

  const DeleteSubnet: Op<'DeleteSubnet'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    if (!wellFormed(input.SubnetId, 'subnet')) throw Ec2Errors.subnetMalformed(input.SubnetId);
    const subnet = subnets.get(scope, input.SubnetId);
    if (!subnet) throw Ec2Errors.subnetNotFound(input.SubnetId);
    checkDryRun(input);
    store.transaction(() => {
      subnets.delete(scope, subnet.SubnetId);
      store.tags.removeAll(scope, subnet.SubnetId);
    });
    return {};
  };

  return { CreateSubnet, DescribeSubnets, DeleteSubnet };
}
