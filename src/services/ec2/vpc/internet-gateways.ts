/**
 * Internet gateways: Create/Describe/Delete/Attach/DetachInternetGateway. A gateway attaches to
 * at most one VPC and a VPC has at most one gateway (Resource.AlreadyAssociated); an attached
 * gateway cannot be deleted, nor detached while Elastic IPs are mapped in its VPC. Routes through a detached gateway turn `blackhole` (route-tables.ts
 * derives that on read).
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { resourceId } from '../../../state/ids.js';
import type { InternetGatewayRecord } from '../../../state/network.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { Ec2Errors } from '../errors.js';
import { createRow, deleteKind, describeKind, lookup, pageAs, registerKind, type ResourceKind } from '../resource-kind.js';
import type { Ec2Store } from '../store.js';
import { tagsFromSpecifications } from '../tagging.js';
import { VPCS } from './vpcs.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;

export const INTERNET_GATEWAYS: ResourceKind<InternetGatewayRecord> = {
  type: 'internet-gateway', prefix: 'igw', id: (g) => g.InternetGatewayId, table: (n) => n.internetGateways, idsParam: 'internetGatewayIds',
  notFound: Ec2Errors.igwNotFound, malformed: Ec2Errors.igwMalformed,
  filters: {
    'internet-gateway-id': (g) => g.InternetGatewayId,
    'attachment.state': (g) => g.Attachments.map((a) => a.State),
    'attachment.vpc-id': (g) => g.Attachments.map((a) => a.VpcId),
    'owner-id': (g) => g.OwnerId,
  },
  blocksDelete: (g) => (g.Attachments.length ? Ec2Errors.dependencyViolation('internetGateway', g.InternetGatewayId) : undefined),
};

export function internetGatewayHandlers(store: Ec2Store) {
  const { internetGateways } = store.network;
  registerKind(store, INTERNET_GATEWAYS);

  const CreateInternetGateway: Op<'CreateInternetGateway'> = (ctx, input) => {
    const tags = tagsFromSpecifications(input.TagSpecifications, 'internet-gateway');
    checkDryRun(input);
    const igw: InternetGatewayRecord = { InternetGatewayId: resourceId('igw'), OwnerId: ctx.account, Attachments: [] };
    return { InternetGateway: createRow(store, scopeOf(ctx), INTERNET_GATEWAYS, igw, tags) };
  };

  const DescribeInternetGateways: Op<'DescribeInternetGateways'> = (ctx, input) =>
    pageAs('InternetGateways', describeKind(store, ctx, INTERNET_GATEWAYS, input, input.InternetGatewayIds));

  const DeleteInternetGateway: Op<'DeleteInternetGateway'> = (ctx, input) => deleteKind(store, ctx, INTERNET_GATEWAYS, input.InternetGatewayId, input);

  const AttachInternetGateway: Op<'AttachInternetGateway'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const igw = lookup(store, scope, INTERNET_GATEWAYS, input.InternetGatewayId);
    const vpc = lookup(store, scope, VPCS, input.VpcId);
    if (igw.Attachments.length) throw Ec2Errors.alreadyAssociated(igw.InternetGatewayId);
    const other = internetGateways.list(scope).find((g) => g.Attachments.some((a) => a.VpcId === vpc.VpcId));
    if (other) throw Ec2Errors.alreadyAssociated(vpc.VpcId);
    checkDryRun(input);
    internetGateways.update(scope, igw.InternetGatewayId, { ...igw, Attachments: [{ VpcId: vpc.VpcId, State: 'available' }] });
    return {};
  };

  const DetachInternetGateway: Op<'DetachInternetGateway'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const igw = lookup(store, scope, INTERNET_GATEWAYS, input.InternetGatewayId);
    const vpc = lookup(store, scope, VPCS, input.VpcId);
    if (!igw.Attachments.some((a) => a.VpcId === vpc.VpcId)) throw Ec2Errors.gatewayNotAttached(igw.InternetGatewayId, vpc.VpcId);
    const mapped = store.network.elasticIps
      .list(scope)
      .some((a) => a.NetworkInterfaceId && store.network.networkInterfaces.get(scope, a.NetworkInterfaceId)?.VpcId === vpc.VpcId);
    if (mapped) throw Ec2Errors.mappedAddresses(vpc.VpcId);
    checkDryRun(input);
    internetGateways.update(scope, igw.InternetGatewayId, { ...igw, Attachments: [] });
    return {};
  };

  return { CreateInternetGateway, DescribeInternetGateways, DeleteInternetGateway, AttachInternetGateway, DetachInternetGateway };
}
