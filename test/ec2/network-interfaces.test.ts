// Network interfaces through SDK v3: addresses from the subnet (and AvailableIpAddressCount),
// groups, secondary addresses, routes through an interface, and what an interface holds up.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AssignPrivateIpAddressesCommand,
  CreateNetworkInterfaceCommand,
  CreateRouteCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteNetworkInterfaceCommand,
  DeleteRouteCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
  UnassignPrivateIpAddressesCommand,
} from '@aws-sdk/client-ec2';
import { errorCode, uniqueName, type TestKumo } from '../helpers/kumo.js';
import { useEc2 } from '../helpers/ec2.js';

let kumo: TestKumo;
let ec2: EC2Client;

useEc2((f) => ({ kumo, ec2 } = f));

const code = errorCode;

describe('network interfaces', () => {
  test('addresses come from the subnet, in order, and the subnet counts them', async () => {
    const VpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.50.0.0/16' }))).Vpc!.VpcId!;
    const SubnetId = (await ec2.send(new CreateSubnetCommand({ VpcId, CidrBlock: '10.50.1.0/24', AvailabilityZone: 'ap-northeast-1a' }))).Subnet!.SubnetId!;
    const available = async () => (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [SubnetId] }))).Subnets![0].AvailableIpAddressCount;
    assert.equal(await available(), 251);

    const first = (
      await ec2.send(
        new CreateNetworkInterfaceCommand({
          SubnetId,
          Description: 'web',
          TagSpecifications: [{ ResourceType: 'network-interface', Tags: [{ Key: 'Name', Value: 'web-eni' }] }],
        }),
      )
    ).NetworkInterface!;
    assert.match(first.NetworkInterfaceId!, /^eni-[0-9a-f]{17}$/);
    assert.equal(first.PrivateIpAddress, '10.50.1.4');
    assert.equal(first.PrivateDnsName, 'ip-10-50-1-4.ap-northeast-1.compute.internal');
    assert.equal(first.Status, 'available');
    assert.equal(first.AvailabilityZone, 'ap-northeast-1a');
    assert.match(first.MacAddress!, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    assert.deepEqual(first.Groups!.map((g) => g.GroupName), ['default']);
    assert.deepEqual(first.TagSet, [{ Key: 'Name', Value: 'web-eni' }]);

    const second = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId, PrivateIpAddress: '10.50.1.20', SecondaryPrivateIpAddressCount: 2 }))).NetworkInterface!;
    assert.deepEqual(second.PrivateIpAddresses!.map((a) => [a.PrivateIpAddress, a.Primary]), [
      ['10.50.1.20', true],
      ['10.50.1.5', false],
      ['10.50.1.6', false],
    ]);
    assert.equal(await available(), 247);

    assert.equal(await code(ec2.send(new CreateNetworkInterfaceCommand({ SubnetId, PrivateIpAddress: '10.50.1.20' }))), 'InvalidIPAddress.InUse');
    assert.equal(await code(ec2.send(new CreateNetworkInterfaceCommand({ SubnetId, PrivateIpAddress: '10.50.2.5' }))), 'InvalidParameterValue');
    assert.equal(await code(ec2.send(new CreateNetworkInterfaceCommand({ SubnetId, PrivateIpAddress: '10.50.1.2' }))), 'InvalidParameterValue');
    assert.equal(await code(ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: 'subnet-0123456789abcdef0' }))), 'InvalidSubnetID.NotFound');
    assert.equal(await available(), 247, 'refused creates take no address');

    const assigned = await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: first.NetworkInterfaceId, SecondaryPrivateIpAddressCount: 1 }));
    assert.deepEqual(assigned.AssignedPrivateIpAddresses, [{ PrivateIpAddress: '10.50.1.7' }]);
    assert.equal(await code(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: first.NetworkInterfaceId, PrivateIpAddresses: ['10.50.1.5'] }))), 'InvalidIPAddress.InUse');
    await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: first.NetworkInterfaceId, PrivateIpAddresses: ['10.50.1.5'], AllowReassignment: true }));
    const moved = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'addresses.private-ip-address', Values: ['10.50.1.5'] }] }));
    assert.deepEqual(moved.NetworkInterfaces!.map((e) => e.NetworkInterfaceId), [first.NetworkInterfaceId]);
    assert.equal(
      await code(ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: first.NetworkInterfaceId, PrivateIpAddresses: ['10.50.1.4'] }))),
      'InvalidParameterValue',
    );
    await ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: first.NetworkInterfaceId, PrivateIpAddresses: ['10.50.1.5', '10.50.1.7'] }));
    assert.equal(await available(), 248);

    // The subnet is held up by its interfaces.
    assert.equal(await code(ec2.send(new DeleteSubnetCommand({ SubnetId }))), 'DependencyViolation');
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: first.NetworkInterfaceId }));
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: second.NetworkInterfaceId }));
    assert.equal(await available(), 251);
    assert.equal(await code(ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [first.NetworkInterfaceId!] }))), 'InvalidNetworkInterfaceID.NotFound');
    await ec2.send(new DeleteSubnetCommand({ SubnetId }));
  });

  test('security groups of the VPC only; a group on an interface stays; attributes one at a time', async () => {
    const VpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.51.0.0/16' }))).Vpc!.VpcId!;
    const SubnetId = (await ec2.send(new CreateSubnetCommand({ VpcId, CidrBlock: '10.51.0.0/24' }))).Subnet!.SubnetId!;
    const sg = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: uniqueName('eni'), Description: 'x', VpcId }))).GroupId!;
    const otherVpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.52.0.0/16' }))).Vpc!.VpcId!;
    const foreign = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: uniqueName('far'), Description: 'x', VpcId: otherVpc }))).GroupId!;
    assert.equal(await code(ec2.send(new CreateNetworkInterfaceCommand({ SubnetId, Groups: [foreign] }))), 'InvalidParameter');
    const eni = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId, Groups: [sg] }))).NetworkInterface!;
    assert.deepEqual(eni.Groups!.map((g) => g.GroupId), [sg]);
    assert.equal(await code(ec2.send(new DeleteSecurityGroupCommand({ GroupId: sg }))), 'DependencyViolation');

    await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, SourceDestCheck: { Value: false } }));
    await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, Description: { Value: 'router' } }));
    assert.equal(
      await code(ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, Description: { Value: 'x' }, SourceDestCheck: { Value: true } }))),
      'InvalidParameterCombination',
    );
    const now = (await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'description', Values: ['router'] }] }))).NetworkInterfaces!;
    assert.deepEqual(now.map((e) => [e.NetworkInterfaceId, e.SourceDestCheck]), [[eni.NetworkInterfaceId, false]]);

    // A route through the interface (even more specific than the VPC CIDR), blackhole once it is gone.
    const main = (await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [VpcId] }] }))).RouteTables![0];
    await ec2.send(new CreateRouteCommand({ RouteTableId: main.RouteTableId, DestinationCidrBlock: '10.51.128.0/17', NetworkInterfaceId: eni.NetworkInterfaceId }));
    await ec2.send(new CreateRouteCommand({ RouteTableId: main.RouteTableId, DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: eni.NetworkInterfaceId }));
    const state = async () =>
      (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [main.RouteTableId!] }))).RouteTables![0].Routes!.filter((r) => r.NetworkInterfaceId).map((r) => r.State);
    assert.deepEqual(await state(), ['active', 'active']);
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni.NetworkInterfaceId }));
    assert.deepEqual(await state(), ['blackhole', 'blackhole']);
    await ec2.send(new DeleteRouteCommand({ RouteTableId: main.RouteTableId, DestinationCidrBlock: '10.51.128.0/17' }));
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: sg }));
  });
});
