// Which subnets the fabric treats as public (kumo start --internet lets their instances out): a
// route table (the subnet's own, else the VPC's main one) sending 0.0.0.0/0 to an internet
// gateway attached to that VPC.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NetworkStore, RouteTableRecord } from '../../src/state/network.js';
import { vpcSpecOf } from '../../src/state/vpc-policy.js';
import { TEST_SCOPE as scope, useNetworkStore } from '../helpers/network-store.js';

let net: NetworkStore;
useNetworkStore((n) => (net = n));

const table = (id: string, vpcId: string, opts: { main?: boolean; subnets?: string[]; gateway?: string }): RouteTableRecord => ({
  RouteTableId: id,
  VpcId: vpcId,
  OwnerId: scope.account,
  Routes: [
    { DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', Origin: 'CreateRouteTable' },
    ...(opts.gateway ? [{ DestinationCidrBlock: '0.0.0.0/0', GatewayId: opts.gateway, Origin: 'CreateRoute' }] : []),
  ],
  Associations: [
    ...(opts.main ? [{ Main: true, RouteTableAssociationId: `${id}-main`, RouteTableId: id, AssociationState: { State: 'associated' } }] : []),
    ...(opts.subnets ?? []).map((s) => ({ Main: false, RouteTableAssociationId: `${id}-${s}`, RouteTableId: id, SubnetId: s, AssociationState: { State: 'associated' } })),
  ],
  PropagatingVgws: [],
});

test('public subnets: routed to an internet gateway of their own VPC, by their own table or the main one', () => {
  const vpc = (id: string) => net.vpcs.insert(scope, id, { VpcId: id, CidrBlockAssociationSet: [{ CidrBlock: '10.0.0.0/16', CidrBlockState: { State: 'associated' } }] } as never);
  const subnet = (id: string, vpcId: string, cidr: string) => net.subnets.insert(scope, id, { SubnetId: id, VpcId: vpcId, CidrBlock: cidr } as never);
  vpc('vpc-a');
  vpc('vpc-b');
  net.internetGateways.insert(scope, 'igw-a', { InternetGatewayId: 'igw-a', OwnerId: scope.account, Attachments: [{ VpcId: 'vpc-a', State: 'available' }] });
  net.internetGateways.insert(scope, 'igw-b', { InternetGatewayId: 'igw-b', OwnerId: scope.account, Attachments: [{ VpcId: 'vpc-b', State: 'available' }] });
  subnet('subnet-public', 'vpc-a', '10.0.0.0/24');
  subnet('subnet-private', 'vpc-a', '10.0.2.0/24');
  subnet('subnet-b', 'vpc-b', '10.0.0.0/24');
  net.routeTables.insert(scope, 'rtb-main-a', table('rtb-main-a', 'vpc-a', { main: true }));
  net.routeTables.insert(scope, 'rtb-public', table('rtb-public', 'vpc-a', { subnets: ['subnet-public'], gateway: 'igw-a' }));
  // vpc-b's main table names vpc-a's gateway: not a way out of vpc-b.
  net.routeTables.insert(scope, 'rtb-main-b', table('rtb-main-b', 'vpc-b', { main: true, gateway: 'igw-a' }));
  const flags = (vpcId: string) => Object.fromEntries(vpcSpecOf(net, scope, vpcId)!.subnets.map((s) => [s.subnetId, s.internet ?? false]));
  assert.deepEqual(flags('vpc-a'), { 'subnet-public': true, 'subnet-private': false });
  assert.deepEqual(flags('vpc-b'), { 'subnet-b': false });
  // The main table routed out: every subnet without a table of its own is public.
  net.routeTables.update(scope, 'rtb-main-a', table('rtb-main-a', 'vpc-a', { main: true, gateway: 'igw-a' }));
  assert.deepEqual(flags('vpc-a'), { 'subnet-public': true, 'subnet-private': true });
});
