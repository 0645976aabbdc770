/**
 * CreateRoute, ReplaceRoute, DeleteRoute over IPv4 destinations and the account's own IPv4
 * managed prefix lists (DestinationPrefixListId). Targets kumo has today are
 * internet gateways attached to the table's VPC and network interfaces in it (which may also
 * take routes more specific than a VPC CIDR); instance targets answer InvalidInstanceID.NotFound
 * until instances exist, as do NAT gateways, peering connections, transit gateways and the rest
 * with their own codes, because no such resource can exist in kumo yet. The `local` route of
 * each VPC CIDR cannot be deleted, only pointed at an interface and back (LocalTarget).
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { contains, parseCidr4 } from '../../../lib/cidr.js';
import { AwsError } from '../../../protocol/errors.js';
import { checkDryRun } from '../../../state/dry-run.js';
import type { RouteRecord, RouteTableRecord } from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { Ec2Errors } from '../errors.js';
import { lookup } from '../resource-kind.js';
import { awsManagedPrefixLists, customerPrefixList } from './prefix-list-data.js';
import { wellFormed, type Ec2Store } from '../store.js';
import { NETWORK_INTERFACES } from './network-interfaces.js';
import { ROUTE_TABLES } from './route-tables.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;
type RouteInput = Ec2Operations['CreateRoute']['input'] & { LocalTarget?: boolean };
/** A route's destination as stored: a CIDR or a prefix list. */
type Destination = Pick<RouteRecord, 'DestinationCidrBlock' | 'DestinationPrefixListId'>;
const keyOf = (d: Destination) => d.DestinationCidrBlock ?? d.DestinationPrefixListId!;

const e = (code: string, message: string) => new AwsError(code, message, 400);

/** Targets no kumo resource can be yet: each answers its own NotFound. */
const ABSENT_TARGETS: [keyof RouteInput, string][] = [
  ['NatGatewayId', 'InvalidNatGatewayID.NotFound'],
  ['VpcPeeringConnectionId', 'InvalidVpcPeeringConnectionID.NotFound'],
  ['TransitGatewayId', 'InvalidTransitGatewayID.NotFound'],
  ['VpcEndpointId', 'InvalidVpcEndpointId.NotFound'],
  ['EgressOnlyInternetGatewayId', 'InvalidGatewayID.NotFound'],
  ['LocalGatewayId', 'InvalidLocalGatewayID.NotFound'],
  ['CarrierGatewayId', 'InvalidCarrierGatewayID.NotFound'],
];

export function routeHandlers(store: Ec2Store) {
  const { routeTables, internetGateways } = store.network;
  const rtbOf = (scope: Scope, id: string) =>
    lookup(store, scope, ROUTE_TABLES, id);

  const destinationOf = (scope: Scope, input: RouteInput): Destination => {
    if (input.DestinationIpv6CidrBlock) throw Ec2Errors.unsupported('IPv6 route destinations');
    const pl = input.DestinationPrefixListId;
    if (pl && input.DestinationCidrBlock) {
      throw Ec2Errors.invalidCombination('Only one of destinationCidrBlock and destinationPrefixListId may be specified.');
    }
    if (pl) {
      if (!wellFormed(pl, 'pl')) throw Ec2Errors.prefixListMalformed(pl);
      const list = customerPrefixList(store, scope, pl);
      if (!list) {
        // AWS-managed lists reach route tables only through gateway VPC endpoints.
        throw findAwsManaged(scope.region, pl) ? Ec2Errors.unsupported('AWS-managed prefix lists as route destinations') : Ec2Errors.prefixListNotFound(pl);
      }
      if (list.AddressFamily !== 'IPv4') throw Ec2Errors.unsupported('IPv6 route destinations');
      return { DestinationPrefixListId: pl };
    }
    if (!input.DestinationCidrBlock) throw Ec2Errors.missingParameter('destinationCidrBlock');
    const cidr = parseCidr4(input.DestinationCidrBlock);
    if (!cidr) throw Ec2Errors.invalidCidr(input.DestinationCidrBlock, 'destinationCidrBlock');
    return { DestinationCidrBlock: cidr.text };
  };
  const findAwsManaged = (region: string, id: string) => awsManagedPrefixLists(region).some((l) => l.PrefixListId === id);
  /** Within a VPC CIDR only interfaces (and instances) may be targets (AWS's "more specific routes"). */
  const insideVpc = (scope: Scope, rtb: RouteTableRecord, dest: Destination) =>
    dest.DestinationCidrBlock !== undefined && vpcCidrs(scope, rtb).some((c) => contains(c, parseCidr4(dest.DestinationCidrBlock!)!));

  /** Validates the one target of a route and returns it as stored. */
  const targetOf = (scope: Scope, rtb: RouteTableRecord, input: RouteInput): Pick<RouteRecord, 'GatewayId' | 'NetworkInterfaceId'> => {
    const given = [
      input.GatewayId,
      input.InstanceId,
      input.NetworkInterfaceId,
      input.CoreNetworkArn,
      input.LocalTarget ? 'local' : undefined,
      ...ABSENT_TARGETS.map(([k]) => input[k]),
    ].filter((x) => x !== undefined && x !== '');
    if (given.length === 0) throw Ec2Errors.missingParameter('target (gatewayId, instanceId, networkInterfaceId, …)');
    if (given.length > 1) throw Ec2Errors.invalidCombination('More than one target specified for the route.');
    for (const [key, code] of ABSENT_TARGETS) {
      const id = input[key];
      if (typeof id === 'string' && id) throw e(code, `The ${key.replace(/Id$/, '')} ID '${id}' does not exist`);
    }
    if (input.CoreNetworkArn) throw Ec2Errors.invalidParameter(`The core network '${input.CoreNetworkArn}' does not exist`);
    // No instances exist in kumo yet.
    if (input.InstanceId) throw Ec2Errors.instanceNotFound(input.InstanceId);
    if (input.NetworkInterfaceId) {
      const eni = lookup(store, scope, NETWORK_INTERFACES, input.NetworkInterfaceId);
      if (eni.VpcId !== rtb.VpcId) throw Ec2Errors.differentNetworks();
      return { NetworkInterfaceId: eni.NetworkInterfaceId };
    }
    if (input.LocalTarget) return { GatewayId: 'local' };
    const gw = input.GatewayId!;
    if (gw.startsWith('igw-')) {
      const igw = internetGateways.get(scope, gw);
      if (!igw) throw Ec2Errors.igwNotFound(gw);
      if (!igw.Attachments.some((a) => a.VpcId === rtb.VpcId)) {
        throw Ec2Errors.invalidParameter(`route table ${rtb.RouteTableId} and network gateway ${gw} belong to different networks`);
      }
      return { GatewayId: gw };
    }
    if (gw === 'local') throw Ec2Errors.invalidParameter('The gateway ID \'local\' is only valid as the target of a VPC CIDR route (use LocalTarget with ReplaceRoute).');
    throw Ec2Errors.gatewayNotFound(gw);
  };

  const vpcCidrs = (scope: Scope, rtb: RouteTableRecord) =>
    (store.network.vpcs.get(scope, rtb.VpcId)?.CidrBlockAssociationSet ?? []).map((a) => parseCidr4(a.CidrBlock)!);

  const CreateRoute: Op<'CreateRoute'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const rtb = rtbOf(scope, input.RouteTableId);
    const dest = destinationOf(scope, input);
    const target = targetOf(scope, rtb, input);
    if (rtb.Routes.some((r) => keyOf(r) === keyOf(dest))) throw Ec2Errors.routeExists(rtb.RouteTableId, keyOf(dest));
    if (!target.NetworkInterfaceId && insideVpc(scope, rtb, dest)) throw Ec2Errors.routeInvalidLocal(keyOf(dest));
    checkDryRun(input);
    routeTables.update(scope, rtb.RouteTableId, { ...rtb, Routes: [...rtb.Routes, { ...dest, ...target, Origin: 'CreateRoute' }] });
    return { Return: true };
  };

  /** The route a Replace/DeleteRoute names: its table, its destination and the route itself (RouteNotFound if absent). */
  const namedRoute = (scope: Scope, input: { RouteTableId: string } & Parameters<typeof destinationOf>[1]) => {
    const rtb = rtbOf(scope, input.RouteTableId);
    const dest = destinationOf(scope, input);
    const key = keyOf(dest);
    const existing = rtb.Routes.find((r) => keyOf(r) === key);
    if (!existing) throw Ec2Errors.routeNotFound(rtb.RouteTableId, key);
    return { rtb, dest, key, existing };
  };

  const ReplaceRoute: Op<'ReplaceRoute'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const { rtb, dest, key, existing } = namedRoute(scope, input);
    const target = targetOf(scope, rtb, input);
    const isVpcCidr = vpcCidrs(scope, rtb).some((c) => c.text === dest.DestinationCidrBlock);
    if (target.GatewayId === 'local' && !isVpcCidr) throw Ec2Errors.invalidParameter(`The destination ${key} is not a CIDR block of the VPC; LocalTarget applies only to VPC CIDR routes.`);
    if (target.GatewayId && target.GatewayId !== 'local' && insideVpc(scope, rtb, dest)) throw Ec2Errors.routeInvalidLocal(key);
    checkDryRun(input);
    const replaced: RouteRecord = { ...dest, ...target, Origin: existing.Origin };
    routeTables.update(scope, rtb.RouteTableId, { ...rtb, Routes: rtb.Routes.map((r) => (r === existing ? replaced : r)) });
    return {};
  };

  const DeleteRoute: Op<'DeleteRoute'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const { rtb, dest, key, existing } = namedRoute(scope, input);
    // A VPC CIDR's route stays, whether it targets `local` or (after ReplaceRoute) an interface.
    if (vpcCidrs(scope, rtb).some((c) => c.text === dest.DestinationCidrBlock)) {
      throw Ec2Errors.invalidParameter(`cannot remove local route ${key} in route table ${rtb.RouteTableId}`);
    }
    checkDryRun(input);
    routeTables.update(scope, rtb.RouteTableId, { ...rtb, Routes: rtb.Routes.filter((r) => r !== existing) });
    return {};
  };

  return { CreateRoute, ReplaceRoute, DeleteRoute };
}
