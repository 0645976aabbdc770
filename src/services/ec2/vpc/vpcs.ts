/**
 * CreateVpc, DescribeVpcs, DeleteVpc. A VPC is created `available` with one primary IPv4 CIDR
 * (/16 to /28, network-aligned), the region's default DHCP options, and (./vpc-network.ts) its
 * main route table, default network ACL and default security group; it can be deleted once
 * nothing but those lives in it.
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { parseCidr4 } from '../../../lib/cidr.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { resourceId } from '../../../state/ids.js';
import type { VpcRecord } from '../../../state/network.js';
import type { Tag } from '../../../state/tags.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { Ec2Errors } from '../errors.js';
import { deleteKind, describeKind, pageAs, registerKind, type ResourceKind } from '../resource-kind.js';
import type { Ec2Store } from '../store.js';
import { tagsFromSpecifications } from '../tagging.js';
import { insertVpc, removeVpcDefaults, vpcDependents } from './vpc-network.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;
type Vpc = VpcRecord & { Tags: Tag[] };

/** The wire form: kumo-internal attributes (DNS settings) are answered by DescribeVpcAttribute. */
export function present(v: Vpc) {
  const { EnableDnsSupport: _s, EnableDnsHostnames: _h, EnableNetworkAddressUsageMetrics: _m, ...wire } = v;
  return wire;
}

export const VPCS: ResourceKind<VpcRecord, Vpc, ReturnType<typeof present>> = {
  type: 'vpc', prefix: 'vpc', id: (v) => v.VpcId, table: (n) => n.vpcs, idsParam: 'vpcIds',
  notFound: Ec2Errors.vpcNotFound, malformed: Ec2Errors.vpcMalformed,
  columns: { 'vpc-id': 'VpcId' },
  filters: {
    'vpc-id': (v) => v.VpcId,
    cidr: (v) => v.CidrBlock,
    'cidr-block': (v) => v.CidrBlock,
    'cidr-block-association.cidr-block': (v) => v.CidrBlockAssociationSet.map((a) => a.CidrBlock),
    'cidr-block-association.association-id': (v) => v.CidrBlockAssociationSet.map((a) => a.AssociationId),
    'cidr-block-association.state': (v) => v.CidrBlockAssociationSet.map((a) => a.CidrBlockState.State),
    'dhcp-options-id': (v) => v.DhcpOptionsId,
    'is-default': (v) => v.IsDefault,
    'owner-id': (v) => v.OwnerId,
    state: (v) => v.State,
  },
  view: present,
  // Only what the VPC came with may remain; that goes with it.
  blocksDelete: (v, store, scope) => (vpcDependents(store, scope, v.VpcId).length ? Ec2Errors.dependencyViolation('vpc', v.VpcId) : undefined),
  cleanup: (v, store, scope) => removeVpcDefaults(store, scope, v.VpcId),
};

export function vpcHandlers(store: Ec2Store) {
  registerKind(store, VPCS);

  const CreateVpc: Op<'CreateVpc'> = (ctx, input) => {
    if (
      input.Ipv4IpamPoolId ||
      input.Ipv6IpamPoolId ||
      input.Ipv4NetmaskLength !== undefined ||
      input.Ipv6NetmaskLength !== undefined ||
      input.AmazonProvidedIpv6CidrBlock ||
      input.Ipv6CidrBlock ||
      input.Ipv6Pool ||
      input.Ipv6CidrBlockNetworkBorderGroup
    ) {
      throw Ec2Errors.invalidParameter('kumo does not support IPAM pools or IPv6 CIDR blocks on CreateVpc yet.');
    }
    if (!input.CidrBlock) throw Ec2Errors.missingParameter('CidrBlock');
    const cidr = parseCidr4(input.CidrBlock);
    if (!cidr) throw Ec2Errors.invalidCidr(input.CidrBlock);
    if (cidr.prefix < 16 || cidr.prefix > 28) throw Ec2Errors.vpcRange(input.CidrBlock);
    const tenancy = input.InstanceTenancy ?? 'default';
    if (tenancy !== 'default' && tenancy !== 'dedicated') {
      throw Ec2Errors.invalidParameter(`Value (${tenancy}) for parameter instanceTenancy is invalid.`);
    }
    const tags = tagsFromSpecifications(input.TagSpecifications, 'vpc');
    checkDryRun(input);
    const scope = scopeOf(ctx);
    const vpc = newVpcRecord(ctx.account, cidr.text, tenancy, store.network.regionDefaultDhcpOptions(scope) ?? 'default', false);
    store.transaction(() => insertVpc(store, scope, vpc, tags));
    return { Vpc: present({ ...vpc, Tags: tags }) };
  };

  const DescribeVpcs: Op<'DescribeVpcs'> = (ctx, input) =>
    pageAs('Vpcs', describeKind(store, ctx, VPCS, input, input.VpcIds));

  const DeleteVpc: Op<'DeleteVpc'> = (ctx, input) => deleteKind(store, ctx, VPCS, input.VpcId, input);

  return { CreateVpc, DescribeVpcs, DeleteVpc };
}

export function newVpcRecord(account: string, cidr: string, tenancy: string, dhcpOptionsId: string, isDefault: boolean): VpcRecord {
  return {
    VpcId: resourceId('vpc'),
    OwnerId: account,
    CidrBlock: cidr,
    State: 'available',
    DhcpOptionsId: dhcpOptionsId,
    InstanceTenancy: tenancy,
    IsDefault: isDefault,
    CidrBlockAssociationSet: [{ AssociationId: resourceId('vpc-cidr-assoc'), CidrBlock: cidr, CidrBlockState: { State: 'associated' } }],
    Ipv6CidrBlockAssociationSet: [],
    EnableDnsSupport: true,
    // AWS turns DNS hostnames on only in default VPCs.
    EnableDnsHostnames: isDefault,
  };
}
