// Internet gateways, route tables, routes and associations through SDK v3, with AWS's error codes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteInternetGatewayCommand,
  DeleteRouteCommand,
  DeleteRouteTableCommand,
  DescribeInternetGatewaysCommand,
  DescribeRouteTablesCommand,
  DetachInternetGatewayCommand,
  DisassociateRouteTableCommand,
  EC2Client,
  ReplaceRouteCommand,
  ReplaceRouteTableAssociationCommand,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import { errorCode, type TestKumo } from '../helpers/kumo.js';
import { useEc2 } from '../helpers/ec2.js';

let kumo: TestKumo;
let ec2: EC2Client;

useEc2((f) => ({ kumo, ec2 } = f));

const code = errorCode;
const MISSING_IGW = 'igw-0123456789abcdef0';
const MISSING_RTB = 'rtb-0123456789abcdef0';

async function vpc(cidr: string): Promise<string> {
  return (await ec2.send(new CreateVpcCommand({ CidrBlock: cidr }))).Vpc!.VpcId!;
}
async function igw(name?: string): Promise<string> {
  const tags = name ? [{ ResourceType: 'internet-gateway' as const, Tags: [{ Key: 'Name', Value: name }] }] : undefined;
  return (await ec2.send(new CreateInternetGatewayCommand({ TagSpecifications: tags }))).InternetGateway!.InternetGatewayId!;
}
async function table(id: string): Promise<RouteTable> {
  return (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [id] }))).RouteTables![0];
}

describe('internet gateways', () => {
  test('create, attach (one per VPC), detach, delete', async () => {
    const a = await vpc('10.10.0.0/16');
    const b = await vpc('10.11.0.0/16');
    const g1 = await igw('Test-IGW');
    const g2 = await igw();
    assert.match(g1, /^igw-[0-9a-f]{17}$/);
    const tagged = await ec2.send(new DescribeInternetGatewaysCommand({ Filters: [{ Name: 'tag:Name', Values: ['Test-IGW'] }] }));
    assert.deepEqual(tagged.InternetGateways!.map((g) => [g.InternetGatewayId, g.Attachments]), [[g1, []]]);

    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: g1, VpcId: a }));
    const attached = await ec2.send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: [g1] }));
    assert.deepEqual(attached.InternetGateways![0].Attachments, [{ VpcId: a, State: 'available' }]);
    assert.equal(await code(ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: g1, VpcId: b }))), 'Resource.AlreadyAssociated');
    assert.equal(await code(ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: g2, VpcId: a }))), 'Resource.AlreadyAssociated');
    assert.equal(await code(ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: g1 }))), 'DependencyViolation');
    assert.equal(await code(ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: g1, VpcId: b }))), 'Gateway.NotAttached');
    assert.equal(await code(ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: g2, VpcId: a }))), 'Gateway.NotAttached');

    const byVpc = await ec2.send(new DescribeInternetGatewaysCommand({ Filters: [{ Name: 'attachment.vpc-id', Values: [a] }] }));
    assert.deepEqual(byVpc.InternetGateways!.map((g) => g.InternetGatewayId), [g1]);

    await ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: g1, VpcId: a }));
    await ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: g1 }));
    await ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: g2 }));
    assert.equal(await code(ec2.send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: [g1] }))), 'InvalidInternetGatewayID.NotFound');
    assert.equal(await code(ec2.send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: ['igw-nope'] }))), 'InvalidInternetGatewayId.Malformed');
    assert.equal(await code(ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: MISSING_IGW, VpcId: a }))), 'InvalidInternetGatewayID.NotFound');
  });
});

describe('route tables', () => {
  test('a public route table: 0.0.0.0/0 to the gateway, associated with a subnet; blackhole once detached', async () => {
    const v = await vpc('10.20.0.0/16');
    const g = await igw();
    const { Subnet } = await ec2.send(new CreateSubnetCommand({ VpcId: v, CidrBlock: '10.20.0.0/24' }));
    const subnetId = Subnet!.SubnetId!;
    const created = await ec2.send(
      new CreateRouteTableCommand({ VpcId: v, TagSpecifications: [{ ResourceType: 'route-table', Tags: [{ Key: 'Name', Value: 'public-rt' }] }] }),
    );
    const rtb = created.RouteTable!.RouteTableId!;
    assert.deepEqual(created.RouteTable!.Associations, []);
    assert.deepEqual(created.RouteTable!.Tags, [{ Key: 'Name', Value: 'public-rt' }]);

    // The gateway must be attached to the table's VPC first.
    assert.equal(await code(ec2.send(new CreateRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0', GatewayId: g }))), 'InvalidParameterValue');
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: g, VpcId: v }));
    const made = await ec2.send(new CreateRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0', GatewayId: g }));
    assert.equal(made.Return, true);
    assert.equal(await code(ec2.send(new CreateRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0', GatewayId: g }))), 'RouteAlreadyExists');
    assert.deepEqual((await table(rtb)).Routes, [
      { DestinationCidrBlock: '10.20.0.0/16', GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' },
      { DestinationCidrBlock: '0.0.0.0/0', GatewayId: g, Origin: 'CreateRoute', State: 'active' },
    ]);

    const assoc = await ec2.send(new AssociateRouteTableCommand({ RouteTableId: rtb, SubnetId: subnetId }));
    assert.match(assoc.AssociationId!, /^rtbassoc-[0-9a-f]{17}$/);
    assert.equal(assoc.AssociationState!.State, 'associated');
    const found = await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] }));
    assert.deepEqual(found.RouteTables!.map((t) => t.RouteTableId), [rtb]);
    const viaGateway = await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'route.gateway-id', Values: [g] }] }));
    assert.deepEqual(viaGateway.RouteTables!.map((t) => t.RouteTableId), [rtb]);
    assert.equal(await code(ec2.send(new AssociateRouteTableCommand({ RouteTableId: rtb, SubnetId: subnetId }))), 'Resource.AlreadyAssociated');
    assert.equal(await code(ec2.send(new DeleteRouteTableCommand({ RouteTableId: rtb }))), 'DependencyViolation');

    await ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: g, VpcId: v }));
    const out = (await table(rtb)).Routes!.find((r) => r.DestinationCidrBlock === '0.0.0.0/0')!;
    assert.equal(out.State, 'blackhole');
    const blackholes = await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'route.state', Values: ['blackhole'] }] }));
    assert.deepEqual(blackholes.RouteTables!.map((t) => t.RouteTableId), [rtb]);

    await ec2.send(new DisassociateRouteTableCommand({ AssociationId: assoc.AssociationId }));
    assert.equal(await code(ec2.send(new DisassociateRouteTableCommand({ AssociationId: assoc.AssociationId }))), 'InvalidAssociationID.NotFound');
    await ec2.send(new DeleteRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0' }));
    assert.equal(await code(ec2.send(new DeleteRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0' }))), 'InvalidRoute.NotFound');
    await ec2.send(new DeleteRouteTableCommand({ RouteTableId: rtb }));
    assert.equal(await code(ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [rtb] }))), 'InvalidRouteTableID.NotFound');
  });

  test('routes: targets kumo lacks answer their NotFound, the local route stays, ReplaceRoute', async () => {
    const v = await vpc('10.21.0.0/16');
    const g = await igw();
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: g, VpcId: v }));
    const rtb = (await ec2.send(new CreateRouteTableCommand({ VpcId: v }))).RouteTable!.RouteTableId!;
    const route = (extra: object) => ec2.send(new CreateRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '192.168.0.0/16', ...extra }));
    assert.equal(await code(route({ InstanceId: 'i-0123456789abcdef0' })), 'InvalidInstanceID.NotFound');
    assert.equal(await code(route({ NetworkInterfaceId: 'eni-0123456789abcdef0' })), 'InvalidNetworkInterfaceID.NotFound');
    assert.equal(await code(route({ NatGatewayId: 'nat-0123456789abcdef0' })), 'InvalidNatGatewayID.NotFound');
    assert.equal(await code(route({ VpcPeeringConnectionId: 'pcx-0123456789abcdef0' })), 'InvalidVpcPeeringConnectionID.NotFound');
    assert.equal(await code(route({ GatewayId: MISSING_IGW })), 'InvalidInternetGatewayID.NotFound');
    assert.equal(await code(route({ GatewayId: 'vgw-0123456789abcdef0' })), 'InvalidGatewayID.NotFound');
    assert.equal(await code(route({})), 'MissingParameter');
    assert.equal(await code(route({ GatewayId: g, InstanceId: 'i-0123456789abcdef0' })), 'InvalidParameterCombination');
    assert.equal(await code(ec2.send(new CreateRouteCommand({ RouteTableId: MISSING_RTB, DestinationCidrBlock: '0.0.0.0/0', GatewayId: g }))), 'InvalidRouteTableID.NotFound');
    assert.equal(await code(ec2.send(new CreateRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '10.21.1.0/24', GatewayId: g }))), 'InvalidParameterValue');
    assert.equal(await code(ec2.send(new CreateRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.1/0', GatewayId: g }))), 'InvalidParameterValue');
    assert.equal((await table(rtb)).Routes!.length, 1, 'refused routes wrote nothing');

    assert.equal(await code(ec2.send(new DeleteRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '10.21.0.0/16' }))), 'InvalidParameterValue');
    assert.equal(await code(ec2.send(new ReplaceRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0', GatewayId: g }))), 'InvalidRoute.NotFound');
    await route({ GatewayId: g });
    const other = await igw();
    assert.equal(await code(ec2.send(new ReplaceRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '192.168.0.0/16', GatewayId: other }))), 'InvalidParameterValue');
    await ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: g, VpcId: v }));
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: other, VpcId: v }));
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '192.168.0.0/16', GatewayId: other }));
    const replaced = (await table(rtb)).Routes!.find((r) => r.DestinationCidrBlock === '192.168.0.0/16')!;
    assert.deepEqual([replaced.GatewayId, replaced.State], [other, 'active']);
  });

  test('the main association moves with ReplaceRouteTableAssociation; a main table cannot be deleted', async () => {
    const v = await vpc('10.22.0.0/16');
    const { RouteTables } = await ec2.send(
      new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [v] }, { Name: 'association.main', Values: ['true'] }] }),
    );
    const main = RouteTables![0];
    assert.equal(await code(ec2.send(new DeleteRouteTableCommand({ RouteTableId: main.RouteTableId }))), 'DependencyViolation');
    const mainAssoc = main.Associations![0].RouteTableAssociationId!;
    assert.equal(await code(ec2.send(new DisassociateRouteTableCommand({ AssociationId: mainAssoc }))), 'InvalidParameterValue');

    const custom = (await ec2.send(new CreateRouteTableCommand({ VpcId: v }))).RouteTable!.RouteTableId!;
    const other = (await ec2.send(new CreateRouteTableCommand({ VpcId: await vpc('10.23.0.0/16') }))).RouteTable!.RouteTableId!;
    assert.equal(await code(ec2.send(new ReplaceRouteTableAssociationCommand({ AssociationId: mainAssoc, RouteTableId: other }))), 'InvalidParameterValue');
    const moved = await ec2.send(new ReplaceRouteTableAssociationCommand({ AssociationId: mainAssoc, RouteTableId: custom }));
    assert.match(moved.NewAssociationId!, /^rtbassoc-[0-9a-f]{17}$/);
    const now = await ec2.send(
      new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [v] }, { Name: 'association.main', Values: ['true'] }] }),
    );
    assert.deepEqual(now.RouteTables!.map((t) => t.RouteTableId), [custom]);
    // The former main table is an ordinary one now and can go.
    await ec2.send(new DeleteRouteTableCommand({ RouteTableId: main.RouteTableId }));
  });

  test('paging with MaxResults and NextToken', async () => {
    const v = await vpc('10.24.0.0/16');
    for (let i = 0; i < 6; i++) await ec2.send(new CreateRouteTableCommand({ VpcId: v }));
    const seen: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [v] }], MaxResults: 5, NextToken }));
      assert.ok(page.RouteTables!.length <= 5);
      seen.push(...page.RouteTables!.map((t) => t.RouteTableId!));
      NextToken = page.NextToken;
    } while (NextToken);
    assert.equal(new Set(seen).size, 7);
  });
});
