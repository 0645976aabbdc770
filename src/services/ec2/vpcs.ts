/**
 * CreateVpc, DescribeVpcs, DeleteVpc. A VPC is created `available` with one primary IPv4 CIDR
 * (/16 to /28, network-aligned); it can be deleted once nothing lives in it.
 */
import type { Ec2Operations } from '../../models/generated/ec2.js';
import { parseCidr4 } from '../../runtime/net/cidr.js';
import { checkDryRun } from '../../state/dry-run.js';
import { applyFilters, type Accessors } from '../../state/filters.js';
import { resourceId } from '../../state/ids.js';
import type { VpcRecord } from '../../state/network.js';
import { paginate } from '../../state/pagination.js';
import type { Tag } from '../../state/tags.js';
import { scopeOf, type OpHandler } from '../service.js';
import { Ec2Errors } from './errors.js';
import { wellFormed, type Ec2Store } from './store.js';
import { putTags, tagsFromSpecifications } from './tagging.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;
type Vpc = VpcRecord & { Tags: Tag[] };


const vpcFilters: Accessors<Vpc> = {
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
};

/** The wire form: kumo-internal attributes (DNS settings) are answered by DescribeVpcAttribute. */
function present(v: Vpc) {
  const { EnableDnsSupport: _s, EnableDnsHostnames: _h, ...wire } = v;
  return wire;
}

export function vpcHandlers(store: Ec2Store) {
  const { vpcs, subnets } = store.network;
  store.registerTaggable('vpc', {
    type: 'vpc',
    exists: (scope, id) => vpcs.get(scope, id) !== undefined,
    notFound: Ec2Errors.vpcNotFound,
  });

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
    const vpc: VpcRecord = {
      VpcId: resourceId('vpc'),
      OwnerId: ctx.account,
      CidrBlock: cidr.text,
      State: 'available',
      DhcpOptionsId: 'default',
      InstanceTenancy: tenancy,
      IsDefault: false,
      CidrBlockAssociationSet: [
        { AssociationId: resourceId('vpc-cidr-assoc'), CidrBlock: cidr.text, CidrBlockState: { State: 'associated' } },
      ],
      Ipv6CidrBlockAssociationSet: [],
      EnableDnsSupport: true,
      EnableDnsHostnames: false,
    };
    store.transaction(() => {
      vpcs.insert(scope, vpc.VpcId, vpc);
      putTags(store, scope, vpc.VpcId, 'vpc', tags);
    });
    return { Vpc: present({ ...vpc, Tags: tags }) };
  };

  const DescribeVpcs: Op<'DescribeVpcs'> = (ctx, input) => {
    if (input.VpcIds?.length && input.MaxResults !== undefined) {
      throw Ec2Errors.invalidCombination('The parameter vpcIds cannot be used with the parameter maxResults');
    }
    checkDryRun(input);
    const scope = scopeOf(ctx);
    let all = store.withTags(scope, 'vpc', (v) => v.VpcId, vpcs.list(scope));
    if (input.VpcIds?.length) {
      const byId = new Map(all.map((v) => [v.VpcId, v]));
      for (const id of input.VpcIds) if (!wellFormed(id, 'vpc')) throw Ec2Errors.vpcMalformed(id);
      for (const id of input.VpcIds) if (!byId.has(id)) throw Ec2Errors.vpcNotFound(id);
      all = [...new Set(input.VpcIds)].map((id) => byId.get(id)!);
    }
    const filtered = applyFilters(all, input.Filters, vpcFilters);
    const page = paginate(filtered, (v) => v.VpcId, { maxResults: input.MaxResults, nextToken: input.NextToken, min: 5, max: 1000 });
    return { Vpcs: page.items.map(present), NextToken: page.nextToken };
  };

  const DeleteVpc: Op<'DeleteVpc'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    if (!wellFormed(input.VpcId, 'vpc')) throw Ec2Errors.vpcMalformed(input.VpcId);
    const vpc = vpcs.get(scope, input.VpcId);
    if (!vpc) throw Ec2Errors.vpcNotFound(input.VpcId);
    if (subnets.list(scope).some((s) => s.VpcId === vpc.VpcId)) throw Ec2Errors.dependencyViolation('vpc', vpc.VpcId);
    checkDryRun(input);
    store.transaction(() => {
      vpcs.delete(scope, vpc.VpcId);
      store.tags.removeAll(scope, vpc.VpcId);
    });
    return {};
  };

  return { CreateVpc, DescribeVpcs, DeleteVpc };
}
