/**
 * Route tables and their associations: Create/Describe/DeleteRouteTable, Associate/Disassociate/
 * ReplaceRouteTableAssociation. Each VPC has one main table (made with the VPC, never deleted
 * while main); a subnet without an explicit association uses it. ReplaceRouteTableAssociation on
 * the main association makes another table main. Routes themselves are in ./routes.ts; a route's
 * `State` is derived here on read (`blackhole` once its gateway is detached or gone, or its interface deleted).
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { resourceId } from '../../../state/ids.js';
import type { RouteRecord, RouteTableRecord } from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import type { Tag } from '../../../state/tags.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { Ec2Errors } from '../errors.js';
import { createRow, deleteKind, describeKind, lookup, pageAs, registerKind, type ResourceKind } from '../resource-kind.js';
import type { Ec2Store } from '../store.js';
import { tagsFromSpecifications } from '../tagging.js';
import { SUBNETS } from './subnets.js';
import { newRouteTable } from './vpc-network.js';
import { VPCS } from './vpcs.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;
type Shown = Omit<RouteTableRecord, 'Routes'> & { Tags: Tag[]; Routes: (RouteRecord & { State: string })[] };

/** `active` while the route's target exists and (for an internet gateway) is attached to the VPC. */
export function routeState(store: Ec2Store, scope: Scope, vpcId: string, route: RouteRecord): string {
  if (route.GatewayId && route.GatewayId !== 'local') {
    const igw = store.network.internetGateways.get(scope, route.GatewayId);
    return igw?.Attachments.some((a) => a.VpcId === vpcId) ? 'active' : 'blackhole';
  }
  if (route.NetworkInterfaceId) return store.network.networkInterfaces.get(scope, route.NetworkInterfaceId) ? 'active' : 'blackhole';
  return 'active';
}

const show = (store: Ec2Store, scope: Scope, t: RouteTableRecord & { Tags: Tag[] }): Shown => ({
  ...t,
  Routes: t.Routes.map((r) => ({ ...r, State: routeState(store, scope, t.VpcId, r) })),
});

export const ROUTE_TABLES: ResourceKind<RouteTableRecord, Shown> = {
  type: 'route-table', prefix: 'rtb', id: (t) => t.RouteTableId, table: (n) => n.routeTables, idsParam: 'routeTableIds',
  notFound: Ec2Errors.rtbNotFound, malformed: Ec2Errors.rtbMalformed,
  columns: { 'vpc-id': 'VpcId', 'route-table-id': 'RouteTableId' },
  filters: {
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
  },
  // A route's state is derived, never stored: its gateway may since have been detached or deleted.
  read: (rows, store, scope) => rows.map((t) => show(store, scope, t)),
  // The main table and tables still associated with subnets are in use.
  blocksDelete: (t) => (t.Associations.length ? Ec2Errors.dependencyViolation('routeTable', t.RouteTableId) : undefined),
};

export function routeTableHandlers(store: Ec2Store) {
  const { routeTables } = store.network;
  registerKind(store, ROUTE_TABLES);
  const rtbOf = (scope: Scope, id: string) => lookup(store, scope, ROUTE_TABLES, id);
  const findAssociation = (scope: Scope, id: string) => {
    for (const t of routeTables.list(scope)) {
      const a = t.Associations.find((x) => x.RouteTableAssociationId === id);
      if (a) return { table: t, association: a };
    }
    throw Ec2Errors.associationNotFound(id);
  };

  const CreateRouteTable: Op<'CreateRouteTable'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const vpc = lookup(store, scope, VPCS, input.VpcId);
    const tags = tagsFromSpecifications(input.TagSpecifications, 'route-table');
    checkDryRun(input);
    const rtb = createRow(store, scope, ROUTE_TABLES, newRouteTable(vpc, false), tags);
    return { RouteTable: show(store, scope, rtb), ClientToken: input.ClientToken };
  };

  const DescribeRouteTables: Op<'DescribeRouteTables'> = (ctx, input) =>
    pageAs('RouteTables', describeKind(store, ctx, ROUTE_TABLES, input, input.RouteTableIds));

  const DeleteRouteTable: Op<'DeleteRouteTable'> = (ctx, input) => deleteKind(store, ctx, ROUTE_TABLES, input.RouteTableId, input);

  const AssociateRouteTable: Op<'AssociateRouteTable'> = (ctx, input) => {
    if (input.GatewayId) throw Ec2Errors.unsupported('gateway route table associations');
    if (!input.SubnetId) throw Ec2Errors.missingParameter('SubnetId');
    const scope = scopeOf(ctx);
    const rtb = rtbOf(scope, input.RouteTableId);
    const subnet = lookup(store, scope, SUBNETS, input.SubnetId);
    if (subnet.VpcId !== rtb.VpcId) {
      throw Ec2Errors.invalidParameter(`Route table ${rtb.RouteTableId} and subnet ${subnet.SubnetId} belong to different networks`);
    }
    if (routeTables.listWhere(scope, 'VpcId', [subnet.VpcId]).some((t) => t.Associations.some((a) => a.SubnetId === subnet.SubnetId))) {
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
