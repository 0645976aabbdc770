/**
 * Route tables and their associations: Create/Describe/DeleteRouteTable, Associate/Disassociate/
 * ReplaceRouteTableAssociation. Each VPC has one main table (made with the VPC, never deleted
 * while main); a subnet without an explicit association uses it. ReplaceRouteTableAssociation on
 * the main association makes another table main. Routes themselves are in ./routes.ts; a route's
 * `State` is derived here on read (`blackhole` once its gateway is detached or gone, or its interface deleted).
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { checkDryRun } from '../../../state/dry-run.js';
import type { Accessors } from '../../../state/filters.js';
import { resourceId } from '../../../state/ids.js';
import type { RouteRecord, RouteTableRecord } from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import type { Tag } from '../../../state/tags.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { describe, mustGet } from '../describe.js';
import { Ec2Errors } from '../errors.js';
import type { Ec2Store } from '../store.js';
import { putTags, tagsFromSpecifications } from '../tagging.js';
import { newRouteTable } from './vpc-network.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;
type Shown = Omit<RouteTableRecord, 'Routes'> & { Tags: Tag[]; Routes: (RouteRecord & { State: string })[] };

const rtbFilters: Accessors<Shown> = {
  'route-table-id': (t) => t.RouteTableId,
  'vpc-id': (t) => t.VpcId,
  'owner-id': (t) => t.OwnerId,
  'association.main': (t) => t.Associations.map((a) => a.Main),
  'association.route-table-association-id': (t) => t.Associations.map((a) => a.RouteTableAssociationId),
  'association.route-table-id': (t) => t.Associations.map((a) => a.RouteTableId),
  'association.subnet-id': (t) => t.Associations.map((a) => a.SubnetId),
  'route.destination-cidr-block': (t) => t.Routes.map((r) => r.DestinationCidrBlock),
  'route.destination-prefix-list-id': (t) => t.Routes.map((r) => r.DestinationPrefixListId),
  'route.gateway-id': (t) => t.Routes.map((r) => r.GatewayId),
  'route.instance-id': (t) => t.Routes.map((r) => r.InstanceId),
  'route.network-interface-id': (t) => t.Routes.map((r) => r.NetworkInterfaceId),
  'route.origin': (t) => t.Routes.map((r) => r.Origin),
  'route.state': (t) => t.Routes.map((r) => r.State),
};

/** `active` while the route's target exists and (for an internet gateway) is attached to the VPC. */
export function routeState(store: Ec2Store, scope: Scope, vpcId: string, route: RouteRecord): string {
  if (route.GatewayId && route.GatewayId !== 'local') {
    const igw = store.network.internetGateways.get(scope, route.GatewayId);
    return igw?.Attachments.some((a) => a.VpcId === vpcId) ? 'active' : 'blackhole';
  }
  if (route.NetworkInterfaceId) return store.network.networkInterfaces.get(scope, route.NetworkInterfaceId) ? 'active' : 'blackhole';
  return 'active';
}

export function routeTableHandlers(store: Ec2Store) {
  const { routeTables, vpcs, subnets } = store.network;
  store.registerTaggable('rtb', {
    type: 'route-table',
    exists: (scope, id) => routeTables.get(scope, id) !== undefined,
    notFound: Ec2Errors.rtbNotFound,
  });
  const rtbOf = (scope: Scope, id: string) =>
    mustGet((x) => routeTables.get(scope, x), id, 'rtb', Ec2Errors.rtbNotFound, Ec2Errors.rtbMalformed);
  const show = (scope: Scope, t: RouteTableRecord & { Tags: Tag[] }): Shown => ({
    ...t,
    Routes: t.Routes.map((r) => ({ ...r, State: routeState(store, scope, t.VpcId, r) })),
  });
  const findAssociation = (scope: Scope, id: string) => {
    for (const t of routeTables.list(scope)) {
      const a = t.Associations.find((x) => x.RouteTableAssociationId === id);
      if (a) return { table: t, association: a };
    }
    throw Ec2Errors.associationNotFound(id);
  };

  const CreateRouteTable: Op<'CreateRouteTable'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const vpc = mustGet((x) => vpcs.get(scope, x), input.VpcId, 'vpc', Ec2Errors.vpcNotFound, Ec2Errors.vpcMalformed);
    const tags = tagsFromSpecifications(input.TagSpecifications, 'route-table');
    checkDryRun(input);
    const rtb = newRouteTable(vpc, false);
    store.transaction(() => {
      routeTables.insert(scope, rtb.RouteTableId, rtb);
      putTags(store, scope, rtb.RouteTableId, 'route-table', tags);
    });
    return { RouteTable: show(scope, { ...rtb, Tags: tags }), ClientToken: input.ClientToken };
  };

  const DescribeRouteTables: Op<'DescribeRouteTables'> = (ctx, input) => {
    checkDryRun(input);
    const scope = scopeOf(ctx);
    const rows = store.withTags(scope, 'route-table', (t) => t.RouteTableId, routeTables.list(scope)).map((t) => show(scope, t));
    const page = describe(store, scope, 'route-table', rows, (t) => t.RouteTableId, rtbFilters, {
      ids: input.RouteTableIds,
      idsParam: 'routeTableIds',
      prefix: 'rtb',
      malformed: Ec2Errors.rtbMalformed,
      notFound: Ec2Errors.rtbNotFound,
      filters: input.Filters,
      maxResults: input.MaxResults,
      nextToken: input.NextToken,
    });
    return { RouteTables: page.items, NextToken: page.nextToken };
  };

  const DeleteRouteTable: Op<'DeleteRouteTable'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const rtb = rtbOf(scope, input.RouteTableId);
    // The main table and tables still associated with subnets are in use.
    if (rtb.Associations.length) throw Ec2Errors.dependencyViolation('routeTable', rtb.RouteTableId);
    checkDryRun(input);
    store.transaction(() => {
      routeTables.delete(scope, rtb.RouteTableId);
      store.tags.removeAll(scope, rtb.RouteTableId);
    });
    return {};
  };

  const AssociateRouteTable: Op<'AssociateRouteTable'> = (ctx, input) => {
    if (input.GatewayId) throw Ec2Errors.unsupported('gateway route table associations');
    if (!input.SubnetId) throw Ec2Errors.missingParameter('SubnetId');
    const scope = scopeOf(ctx);
    const rtb = rtbOf(scope, input.RouteTableId);
    const subnet = mustGet((x) => subnets.get(scope, x), input.SubnetId, 'subnet', Ec2Errors.subnetNotFound, Ec2Errors.subnetMalformed);
    if (subnet.VpcId !== rtb.VpcId) {
      throw Ec2Errors.invalidParameter(`Route table ${rtb.RouteTableId} and subnet ${subnet.SubnetId} belong to different networks`);
    }
    if (routeTables.list(scope).some((t) => t.Associations.some((a) => a.SubnetId === subnet.SubnetId))) {
      throw Ec2Errors.alreadyAssociated(subnet.SubnetId);
    }
    checkDryRun(input);
    const association = {
      Main: false,
      RouteTableAssociationId: resourceId('rtbassoc'),
      RouteTableId: rtb.RouteTableId,
      SubnetId: subnet.SubnetId,
      AssociationState: { State: 'associated' },
    };
    routeTables.update(scope, rtb.RouteTableId, { ...rtb, Associations: [...rtb.Associations, association] });
    return { AssociationId: association.RouteTableAssociationId, AssociationState: association.AssociationState };
  };

  const DisassociateRouteTable: Op<'DisassociateRouteTable'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const { table, association } = findAssociation(scope, input.AssociationId);
    if (association.Main) throw Ec2Errors.invalidParameter(`cannot disassociate the main route table association ${input.AssociationId}`);
    checkDryRun(input);
    routeTables.update(scope, table.RouteTableId, { ...table, Associations: table.Associations.filter((a) => a !== association) });
    return {};
  };

  const ReplaceRouteTableAssociation: Op<'ReplaceRouteTableAssociation'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const { table, association } = findAssociation(scope, input.AssociationId);
    const target = rtbOf(scope, input.RouteTableId);
    if (target.VpcId !== table.VpcId) {
      throw Ec2Errors.invalidParameter(`Route table ${target.RouteTableId} and association ${input.AssociationId} belong to different networks`);
    }
    checkDryRun(input);
    const moved = { ...association, RouteTableAssociationId: resourceId('rtbassoc'), RouteTableId: target.RouteTableId };
    store.transaction(() => {
      const remaining = table.Associations.filter((a) => a !== association);
      if (target.RouteTableId === table.RouteTableId) {
        routeTables.update(scope, table.RouteTableId, { ...table, Associations: [...remaining, moved] });
      } else {
        routeTables.update(scope, table.RouteTableId, { ...table, Associations: remaining });
        routeTables.update(scope, target.RouteTableId, { ...target, Associations: [...target.Associations, moved] });
      }
    });
    return { NewAssociationId: moved.RouteTableAssociationId, AssociationState: moved.AssociationState };
  };

  return {
    CreateRouteTable,
    DescribeRouteTables,
    DeleteRouteTable,
    AssociateRouteTable,
    DisassociateRouteTable,
    ReplaceRouteTableAssociation,
  };
}
