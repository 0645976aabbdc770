/**
 * Internet gateways: Create/Describe/Delete/Attach/DetachInternetGateway. A gateway attaches to
 * at most one VPC and a VPC has at most one gateway (Resource.AlreadyAssociated); an attached
 * gateway cannot be deleted, nor detached while Elastic IPs are mapped in its VPC. Routes through a detached gateway turn `blackhole` (route-tables.ts
 * derives that on read).
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { checkDryRun } from '../../../state/dry-run.js';
import type { Accessors } from '../../../state/filters.js';
import { resourceId } from '../../../state/ids.js';
import type { InternetGatewayRecord } from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import type { Tag } from '../../../state/tags.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { describe, mustGet } from '../describe.js';
import { Ec2Errors } from '../errors.js';
import type { Ec2Store } from '../store.js';
import { putTags, tagsFromSpecifications } from '../tagging.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;

const igwFilters: Accessors<InternetGatewayRecord & { Tags: Tag[] }> = {
  'internet-gateway-id': (g) => g.InternetGatewayId,
  'attachment.state': (g) => g.Attachments.map((a) => a.State),
  'attachment.vpc-id': (g) => g.Attachments.map((a) => a.VpcId),
  'owner-id': (g) => g.OwnerId,
};

export function internetGatewayHandlers(store: Ec2Store) {
  const { internetGateways, vpcs } = store.network;
  store.registerTaggable('igw', {
    type: 'internet-gateway',
    exists: (scope, id) => internetGateways.get(scope, id) !== undefined,
    notFound: Ec2Errors.igwNotFound,
  });
  const igwOf = (scope: Scope, id: string) =>
    mustGet((x) => internetGateways.get(scope, x), id, 'igw', Ec2Errors.igwNotFound, Ec2Errors.igwMalformed);
  const vpcOf = (scope: Scope, id: string) => mustGet((x) => vpcs.get(scope, x), id, 'vpc', Ec2Errors.vpcNotFound, Ec2Errors.vpcMalformed);

  const CreateInternetGateway: Op<'CreateInternetGateway'> = (ctx, input) => {
    const tags = tagsFromSpecifications(input.TagSpecifications, 'internet-gateway');
    checkDryRun(input);
    const scope = scopeOf(ctx);
    const igw: InternetGatewayRecord = { InternetGatewayId: resourceId('igw'), OwnerId: ctx.account, Attachments: [] };
    store.transaction(() => {
      internetGateways.insert(scope, igw.InternetGatewayId, igw);
      putTags(store, scope, igw.InternetGatewayId, 'internet-gateway', tags);
    });
    return { InternetGateway: { ...igw, Tags: tags } };
  };

  const DescribeInternetGateways: Op<'DescribeInternetGateways'> = (ctx, input) => {
    checkDryRun(input);
    const scope = scopeOf(ctx);
    const page = describe(store, scope, 'internet-gateway', internetGateways.list(scope), (g) => g.InternetGatewayId, igwFilters, {
      ids: input.InternetGatewayIds,
      idsParam: 'internetGatewayIds',
      prefix: 'igw',
      malformed: Ec2Errors.igwMalformed,
      notFound: Ec2Errors.igwNotFound,
      filters: input.Filters,
      maxResults: input.MaxResults,
      nextToken: input.NextToken,
    });
    return { InternetGateways: page.items, NextToken: page.nextToken };
  };

  const DeleteInternetGateway: Op<'DeleteInternetGateway'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const igw = igwOf(scope, input.InternetGatewayId);
    if (igw.Attachments.length) throw Ec2Errors.dependencyViolation('internetGateway', igw.InternetGatewayId);
    checkDryRun(input);
    store.transaction(() => {
      internetGateways.delete(scope, igw.InternetGatewayId);
      store.tags.removeAll(scope, igw.InternetGatewayId);
    });
    return {};
  };

  const AttachInternetGateway: Op<'AttachInternetGateway'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const igw = igwOf(scope, input.InternetGatewayId);
    const vpc = vpcOf(scope, input.VpcId);
    if (igw.Attachments.length) throw Ec2Errors.alreadyAssociated(igw.InternetGatewayId);
    const other = internetGateways.list(scope).find((g) => g.Attachments.some((a) => a.VpcId === vpc.VpcId));
    if (other) throw Ec2Errors.alreadyAssociated(vpc.VpcId);
    checkDryRun(input);
    internetGateways.update(scope, igw.InternetGatewayId, { ...igw, Attachments: [{ VpcId: vpc.VpcId, State: 'available' }] });
    return {};
  };

  const DetachInternetGateway: Op<'DetachInternetGateway'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const igw = igwOf(scope, input.InternetGatewayId);
    const vpc = vpcOf(scope, input.VpcId);
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
