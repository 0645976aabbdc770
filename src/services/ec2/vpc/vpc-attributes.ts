/**
 * A VPC's settings after creation: DNS support and hostnames and network address usage metrics
 * (DescribeVpcAttribute/ModifyVpcAttribute, one attribute per call and hostnames only with DNS
 * support, as AWS requires), instance tenancy (ModifyVpcTenancy: only back to `default`), and
 * additional IPv4 CIDR blocks (Associate/DisassociateVpcCidrBlock), which add and remove the
 * `local` route in every route table of the VPC.
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { contains, overlaps, parseCidr4, type Cidr4 } from '../../../lib/cidr.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { resourceId } from '../../../state/ids.js';
import type { VpcRecord } from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { Ec2Errors } from '../errors.js';
import { lookup } from '../resource-kind.js';
import type { Ec2Store } from '../store.js';
import { VPCS } from './vpcs.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;

const MAX_IPV4_CIDRS = 5;

const RFC1918 = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((c) => parseCidr4(c)!);
const CGNAT = parseCidr4('100.64.0.0/10')!;
const BENCHMARK = parseCidr4('198.19.0.0/16')!;
const NEVER = ['0.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4', '240.0.0.0/4'].map((c) => parseCidr4(c)!);

/**
 * AWS's table of ranges an additional CIDR may come from, by the range of the primary CIDR: a
 * VPC whose primary is in one RFC 1918 block (or 198.19.0.0/16) may only add from that same
 * block, 100.64.0.0/10 or publicly routable space; a VPC with a public primary may not add RFC
 * 1918 or 198.19.0.0/16 space.
 */
function restricted(primary: Cidr4, added: Cidr4): boolean {
  if (NEVER.some((r) => overlaps(r, added))) return true;
  const home = [...RFC1918, BENCHMARK].find((r) => contains(r, primary));
  const addedHome = [...RFC1918, BENCHMARK].find((r) => overlaps(r, added));
  if (contains(CGNAT, added) || !addedHome) return false;
  return home === undefined || !contains(home, added);
}

export function vpcAttributeHandlers(store: Ec2Store) {
  const { vpcs, routeTables, subnets } = store.network;
  const vpcOf = (scope: Scope, id: string) => lookup(store, scope, VPCS, id);

  const DescribeVpcAttribute: Op<'DescribeVpcAttribute'> = (ctx, input) => {
    const vpc = vpcOf(scopeOf(ctx), input.VpcId);
    checkDryRun(input);
    switch (input.Attribute) {
      case 'enableDnsSupport':
        return { VpcId: vpc.VpcId, EnableDnsSupport: { Value: vpc.EnableDnsSupport } };
      case 'enableDnsHostnames':
        return { VpcId: vpc.VpcId, EnableDnsHostnames: { Value: vpc.EnableDnsHostnames } };
      case 'enableNetworkAddressUsageMetrics':
        return { VpcId: vpc.VpcId, EnableNetworkAddressUsageMetrics: { Value: vpc.EnableNetworkAddressUsageMetrics ?? false } };
      default:
        throw Ec2Errors.invalidParameter(`Value (${input.Attribute}) for parameter attribute is invalid. Unknown attribute.`);
    }
  };

  const ModifyVpcAttribute: Op<'ModifyVpcAttribute'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const vpc = vpcOf(scope, input.VpcId);
    const given = (
      [
        ['enableDnsHostnames', input.EnableDnsHostnames],
        ['enableDnsSupport', input.EnableDnsSupport],
        ['enableNetworkAddressUsageMetrics', input.EnableNetworkAddressUsageMetrics],
      ] as const
    ).filter(([, v]) => v !== undefined);
    if (given.length === 0) throw Ec2Errors.missingParameter('EnableDnsHostnames, EnableDnsSupport or EnableNetworkAddressUsageMetrics');
    if (given.length > 1) {
      throw Ec2Errors.invalidCombination(`Fields for multiple attribute types specified: ${given.map(([k]) => k).join(', ')}`);
    }
    const [name, value] = given[0];
    if (value?.Value === undefined) throw Ec2Errors.missingParameter(`${name}.Value`);
    if (name === 'enableDnsHostnames' && value.Value && !vpc.EnableDnsSupport) {
      throw Ec2Errors.invalidParameter('DNS hostnames can only be enabled in a VPC with DNS support enabled.');
    }
    const next: VpcRecord = { ...vpc };
    if (name === 'enableDnsHostnames') next.EnableDnsHostnames = value.Value;
    else if (name === 'enableDnsSupport') next.EnableDnsSupport = value.Value;
    else next.EnableNetworkAddressUsageMetrics = value.Value;
    vpcs.update(scope, vpc.VpcId, next);
    return {};
  };

  const ModifyVpcTenancy: Op<'ModifyVpcTenancy'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const vpc = vpcOf(scope, input.VpcId);
    if (input.InstanceTenancy !== 'default') {
      throw Ec2Errors.invalidParameter(`Value (${input.InstanceTenancy}) for parameter InstanceTenancy is invalid. Only 'default' is supported.`);
    }
    checkDryRun(input);
    vpcs.update(scope, vpc.VpcId, { ...vpc, InstanceTenancy: 'default' });
    return { ReturnValue: true };
  };

  const AssociateVpcCidrBlock: Op<'AssociateVpcCidrBlock'> = (ctx, input) => {
    if (
      input.AmazonProvidedIpv6CidrBlock ||
      input.Ipv6CidrBlock ||
      input.Ipv6Pool ||
      input.Ipv6CidrBlockNetworkBorderGroup ||
      input.Ipv4IpamPoolId ||
      input.Ipv6IpamPoolId ||
      input.Ipv4NetmaskLength !== undefined ||
      input.Ipv6NetmaskLength !== undefined
    ) {
      throw Ec2Errors.unsupported('IPv6 or IPAM CIDR blocks');
    }
    const scope = scopeOf(ctx);
    const vpc = vpcOf(scope, input.VpcId);
    if (!input.CidrBlock) throw Ec2Errors.missingParameter('CidrBlock');
    const cidr = parseCidr4(input.CidrBlock);
    if (!cidr) throw Ec2Errors.invalidCidr(input.CidrBlock);
    if (cidr.prefix < 16 || cidr.prefix > 28) throw Ec2Errors.vpcRange(input.CidrBlock);
    const current = vpc.CidrBlockAssociationSet.map((a) => parseCidr4(a.CidrBlock)!);
    if (current.some((c) => overlaps(c, cidr))) throw Ec2Errors.cidrConflict(cidr.text, vpc.VpcId);
    if (restricted(parseCidr4(vpc.CidrBlock)!, cidr)) throw Ec2Errors.cidrRestricted(cidr.text);
    if (current.length >= MAX_IPV4_CIDRS) throw Ec2Errors.cidrLimit(vpc.VpcId);
    // A route already as specific as the new range (or more) would clash with its `local` route.
    const clash = routeTables
      .list(scope)
      .filter((r) => r.VpcId === vpc.VpcId)
      .some((r) => r.Routes.some((route) => route.DestinationCidrBlock !== undefined && contains(cidr, parseCidr4(route.DestinationCidrBlock)!)));
    if (clash) throw Ec2Errors.cidrConflict(cidr.text, vpc.VpcId);
    const association = { AssociationId: resourceId('vpc-cidr-assoc'), CidrBlock: cidr.text, CidrBlockState: { State: 'associated' } };
    store.transaction(() => {
      vpcs.update(scope, vpc.VpcId, { ...vpc, CidrBlockAssociationSet: [...vpc.CidrBlockAssociationSet, association] });
      for (const rtb of routeTables.list(scope).filter((r) => r.VpcId === vpc.VpcId)) {
        rtb.Routes.push({ DestinationCidrBlock: cidr.text, GatewayId: 'local', Origin: 'CreateRouteTable' });
        routeTables.update(scope, rtb.RouteTableId, rtb);
      }
    });
    return { VpcId: vpc.VpcId, CidrBlockAssociation: { ...association, CidrBlockState: { State: 'associating' } } };
  };

  const DisassociateVpcCidrBlock: Op<'DisassociateVpcCidrBlock'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const vpc = vpcs.list(scope).find((v) => v.CidrBlockAssociationSet.some((a) => a.AssociationId === input.AssociationId));
    if (!vpc) throw Ec2Errors.cidrAssocNotFound(input.AssociationId);
    const association = vpc.CidrBlockAssociationSet.find((a) => a.AssociationId === input.AssociationId)!;
    if (association.CidrBlock === vpc.CidrBlock) throw Ec2Errors.invalidCidrAssocState(input.AssociationId);
    const cidr = parseCidr4(association.CidrBlock)!;
    const inUse = subnets.list(scope).some((s) => s.VpcId === vpc.VpcId && contains(cidr, parseCidr4(s.CidrBlock)!));
    if (inUse) throw Ec2Errors.dependencyViolation('vpc-cidr-assoc', input.AssociationId);
    store.transaction(() => {
      vpcs.update(scope, vpc.VpcId, { ...vpc, CidrBlockAssociationSet: vpc.CidrBlockAssociationSet.filter((a) => a !== association) });
      for (const rtb of routeTables.list(scope).filter((r) => r.VpcId === vpc.VpcId)) {
        rtb.Routes = rtb.Routes.filter((r) => r.DestinationCidrBlock !== cidr.text);
        routeTables.update(scope, rtb.RouteTableId, rtb);
      }
    });
    return { VpcId: vpc.VpcId, CidrBlockAssociation: { ...association, CidrBlockState: { State: 'disassociating' } } };
  };

  return { DescribeVpcAttribute, ModifyVpcAttribute, ModifyVpcTenancy, AssociateVpcCidrBlock, DisassociateVpcCidrBlock };
}
