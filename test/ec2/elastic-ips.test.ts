// Elastic IPs through SDK v3: allocate, tag, map to an interface (the VPC needs an internet
// gateway), re-associate, disassociate, release, and the quota of five.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AllocateAddressCommand,
  AssociateAddressCommand,
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateNetworkInterfaceCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeAddressesCommand,
  DescribeNetworkInterfacesCommand,
  DetachInternetGatewayCommand,
  DisassociateAddressCommand,
  EC2Client,
  ReleaseAddressCommand,
} from '@aws-sdk/client-ec2';
import { clientConfig, errorCode, startKumoForTest, uniqueName, type TestKumo } from '../helpers/kumo.js';

let kumo: TestKumo;
let ec2: EC2Client;

before(async () => {
  kumo = await startKumoForTest();
  ec2 = new EC2Client(clientConfig(kumo.url));
});
after(async () => {
  ec2.destroy();
  await kumo.stop();
});

const code = errorCode;

describe('Elastic IPs', () => {
  test('allocate, associate with an interface, move, disassociate, release', async () => {
    const name = uniqueName('eip');
    const a = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc', TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: [{ Key: 'Name', Value: name }] }] }));
    assert.match(a.AllocationId!, /^eipalloc-[0-9a-f]{17}$/);
    assert.match(a.PublicIp!, /^127\.100\.[0-9]+\.[0-9]+$/);
    assert.deepEqual([a.Domain, a.PublicIpv4Pool, a.NetworkBorderGroup], ['vpc', 'amazon', 'ap-northeast-1']);
    const listed = await ec2.send(new DescribeAddressesCommand({ Filters: [{ Name: 'tag:Name', Values: [name] }] }));
    assert.deepEqual(listed.Addresses!.map((x) => [x.AllocationId, x.PublicIp, x.AssociationId]), [[a.AllocationId, a.PublicIp, undefined]]);

    const VpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.60.0.0/16' }))).Vpc!.VpcId!;
    const SubnetId = (await ec2.send(new CreateSubnetCommand({ VpcId, CidrBlock: '10.60.0.0/24' }))).Subnet!.SubnetId!;
    const eni = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId, SecondaryPrivateIpAddressCount: 1 }))).NetworkInterface!;
    const eniId = eni.NetworkInterfaceId!;
    const assoc = (extra: object = {}) => ec2.send(new AssociateAddressCommand({ AllocationId: a.AllocationId, NetworkInterfaceId: eniId, ...extra }));
    assert.equal(await code(assoc()), 'Gateway.NotAttached', 'the VPC needs an internet gateway');
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId }));
    assert.equal(await code(assoc({ PrivateIpAddress: '10.60.0.99' })), 'InvalidParameterValue');
    assert.equal(await code(ec2.send(new AssociateAddressCommand({ AllocationId: a.AllocationId, InstanceId: 'i-0123456789abcdef0' }))), 'InvalidInstanceID.NotFound');

    const first = await assoc();
    assert.match(first.AssociationId!, /^eipassoc-[0-9a-f]{17}$/);
    const shown = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }))).NetworkInterfaces![0];
    assert.equal(shown.Association!.PublicIp, a.PublicIp);
    assert.equal(shown.Association!.PublicDnsName, `ec2-${a.PublicIp!.replaceAll('.', '-')}.ap-northeast-1.compute.amazonaws.com`);
    const mapped = (await ec2.send(new DescribeAddressesCommand({ AllocationIds: [a.AllocationId!] }))).Addresses![0];
    assert.deepEqual([mapped.AssociationId, mapped.NetworkInterfaceId, mapped.PrivateIpAddress], [first.AssociationId, eniId, eni.PrivateIpAddress]);

    assert.equal(await code(ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: igw, VpcId }))), 'DependencyViolation');
    assert.equal(await code(ec2.send(new ReleaseAddressCommand({ AllocationId: a.AllocationId }))), 'InvalidIPAddress.InUse');

    // Move it to the secondary address: refused without AllowReassociation.
    const secondary = eni.PrivateIpAddresses!.find((p) => !p.Primary)!.PrivateIpAddress!;
    assert.equal(await code(assoc({ PrivateIpAddress: secondary })), 'Resource.AlreadyAssociated');
    const second = await assoc({ PrivateIpAddress: secondary, AllowReassociation: true });
    const byPrivate = await ec2.send(new DescribeAddressesCommand({ Filters: [{ Name: 'private-ip-address', Values: [secondary] }] }));
    assert.deepEqual(byPrivate.Addresses!.map((x) => x.AssociationId), [second.AssociationId]);

    assert.equal(await code(ec2.send(new DisassociateAddressCommand({ AssociationId: first.AssociationId }))), 'InvalidAssociationID.NotFound');
    await ec2.send(new DisassociateAddressCommand({ AssociationId: second.AssociationId }));
    await ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: igw, VpcId }));
    await ec2.send(new ReleaseAddressCommand({ AllocationId: a.AllocationId }));
    assert.equal(await code(ec2.send(new DescribeAddressesCommand({ AllocationIds: [a.AllocationId!] }))), 'InvalidAllocationID.NotFound');
    assert.equal(await code(ec2.send(new DescribeAddressesCommand({ PublicIps: [a.PublicIp!] }))), 'InvalidAddress.NotFound');
  });

  test('five per region', async () => {
    const client = new EC2Client(clientConfig(kumo.url, { region: 'eu-north-1' }));
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await client.send(new AllocateAddressCommand({ Domain: 'vpc' }))).AllocationId!);
      assert.equal(await code(client.send(new AllocateAddressCommand({ Domain: 'vpc' }))), 'AddressLimitExceeded');
      const ips = (await client.send(new DescribeAddressesCommand({}))).Addresses!.map((x) => x.PublicIp);
      assert.equal(new Set(ips).size, 5, 'addresses are distinct');
      for (const id of ids) await client.send(new ReleaseAddressCommand({ AllocationId: id }));
      assert.deepEqual((await client.send(new DescribeAddressesCommand({}))).Addresses, []);
    } finally {
      client.destroy();
    }
  });
});
