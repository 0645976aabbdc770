// Elastic IPs through @aws-sdk/client-ec2 v3 and the aws CLI against a real kumo: addresses come
// from the loopback pool, never from real public space; allocate, describe, filters, tags, map to
// an interface (the VPC needs an internet gateway), re-associate, disassociate, release, errors,
// a configured pool, and the quota of five.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
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
  DescribeTagsCommand,
  DetachInternetGatewayCommand,
  DisassociateAddressCommand,
  ModifyVpcAttributeCommand,
  EC2Client,
  ReleaseAddressCommand,
} from '@aws-sdk/client-ec2';
import { ipToInt, parseCidr4, containsIp } from '../../src/lib/cidr.js';
import { clientConfig, errorCode, startKumoForTest, tempDir, uniqueName, type TestKumo } from '../helpers/kumo.js';
import { useEc2 } from '../helpers/ec2.js';
import { awsJson } from '../helpers/python.js';

let kumo: TestKumo;
let ec2: EC2Client;

useEc2((f) => ({ kumo, ec2 } = f));

const code = errorCode;
const DEFAULT_POOL = parseCidr4('127.100.0.0/16')!;

describe('Elastic IPs', () => {
  test('allocate from the loopback pool, describe, filter, tag, release', async () => {
    const a = await ec2.send(
      new AllocateAddressCommand({ Domain: 'vpc', TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: [{ Key: 'Name', Value: 'web-eip' }] }] }),
    );
    const b = await ec2.send(new AllocateAddressCommand({}));
    for (const x of [a, b]) {
      assert.match(x.AllocationId!, /^eipalloc-[0-9a-f]{17}$/);
      assert.ok(containsIp(DEFAULT_POOL, ipToInt(x.PublicIp!)), x.PublicIp);
      assert.equal(x.Domain, 'vpc');
      assert.equal(x.PublicIpv4Pool, 'amazon');
      assert.equal(x.NetworkBorderGroup, 'ap-northeast-1');
    }
    assert.notEqual(a.PublicIp, b.PublicIp);

    const byId = await ec2.send(new DescribeAddressesCommand({ AllocationIds: [a.AllocationId!] }));
    assert.deepEqual(
      byId.Addresses!.map((x) => [x.AllocationId, x.PublicIp, x.Domain, x.Tags]),
      [[a.AllocationId, a.PublicIp, 'vpc', [{ Key: 'Name', Value: 'web-eip' }]]],
    );
    const byIp = await ec2.send(new DescribeAddressesCommand({ PublicIps: [b.PublicIp!] }));
    assert.deepEqual(byIp.Addresses!.map((x) => x.AllocationId), [b.AllocationId]);
    const byTag = await ec2.send(new DescribeAddressesCommand({ Filters: [{ Name: 'tag:Name', Values: ['web-*'] }] }));
    assert.deepEqual(byTag.Addresses!.map((x) => x.AllocationId), [a.AllocationId]);
    const byFilter = await ec2.send(new DescribeAddressesCommand({ Filters: [{ Name: 'public-ip', Values: [a.PublicIp!, b.PublicIp!] }] }));
    assert.equal(byFilter.Addresses!.length, 2);
    const unassociated = await ec2.send(new DescribeAddressesCommand({ Filters: [{ Name: 'instance-id', Values: ['*'] }] }));
    assert.deepEqual(unassociated.Addresses, [], 'no address is associated with an instance');
    const tags = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [a.AllocationId!] }] }));
    assert.deepEqual(tags.Tags!.map((t) => [t.ResourceType, t.Key]), [['elastic-ip', 'Name']]);

    await ec2.send(new ReleaseAddressCommand({ AllocationId: a.AllocationId }));
    assert.equal(await errorCode(ec2.send(new ReleaseAddressCommand({ AllocationId: a.AllocationId }))), 'InvalidAllocationID.NotFound');
    assert.equal(await errorCode(ec2.send(new DescribeAddressesCommand({ AllocationIds: [a.AllocationId!] }))), 'InvalidAllocationID.NotFound');
    assert.equal(await errorCode(ec2.send(new DescribeAddressesCommand({ PublicIps: [a.PublicIp!] }))), 'InvalidAddress.NotFound');
    const tagsAfter = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [a.AllocationId!] }] }));
    assert.deepEqual(tagsAfter.Tags, []);
    await ec2.send(new ReleaseAddressCommand({ AllocationId: b.AllocationId }));
  });

  test('bad input is refused and changes nothing', async () => {
    const before = (await ec2.send(new DescribeAddressesCommand({}))).Addresses!.length;
    const refused = [
      new AllocateAddressCommand({ Domain: 'standard' }),
      new AllocateAddressCommand({ Address: '203.0.113.7' }),
      new AllocateAddressCommand({ PublicIpv4Pool: 'ipv4pool-ec2-0123456789abcdef0' }),
      new AllocateAddressCommand({ NetworkBorderGroup: 'us-west-2-lax-1' }),
      new AllocateAddressCommand({ TagSpecifications: [{ ResourceType: 'vpc', Tags: [] }] }),
    ];
    for (const cmd of refused) assert.equal(await errorCode(ec2.send(cmd)), 'InvalidParameterValue');
    assert.equal(await errorCode(ec2.send(new AllocateAddressCommand({ DryRun: true }))), 'DryRunOperation');
    assert.equal((await ec2.send(new DescribeAddressesCommand({}))).Addresses!.length, before);

    assert.equal(await errorCode(ec2.send(new ReleaseAddressCommand({ AllocationId: 'eipalloc-nope' }))), 'InvalidAllocationID.Malformed');
    assert.equal(
      await errorCode(ec2.send(new ReleaseAddressCommand({ AllocationId: 'eipalloc-0123456789abcdef0' }))),
      'InvalidAllocationID.NotFound',
    );
    assert.equal(await errorCode(ec2.send(new ReleaseAddressCommand({}))), 'MissingParameter');
    const { AllocationId, PublicIp } = await ec2.send(new AllocateAddressCommand({}));
    assert.equal(await errorCode(ec2.send(new ReleaseAddressCommand({ PublicIp }))), 'InvalidParameterValue');
    assert.equal(await errorCode(ec2.send(new ReleaseAddressCommand({ AllocationId, DryRun: true }))), 'DryRunOperation');
    assert.equal((await ec2.send(new DescribeAddressesCommand({ AllocationIds: [AllocationId!] }))).Addresses!.length, 1);
    await ec2.send(new ReleaseAddressCommand({ AllocationId }));
  });

  test('a configured pool: addresses stay inside it, and it can run out', async () => {
    const small = await startKumoForTest({ elasticIpPool: '127.100.7.0/30' });
    const client = new EC2Client(clientConfig(small.url));
    try {
      const a = await client.send(new AllocateAddressCommand({}));
      const b = await client.send(new AllocateAddressCommand({}));
      assert.deepEqual([a.PublicIp, b.PublicIp].sort(), ['127.100.7.1', '127.100.7.2']);
      // Another region of the same host cannot get the same addresses either.
      const other = new EC2Client(clientConfig(small.url, { region: 'us-east-1' }));
      assert.equal(await errorCode(other.send(new AllocateAddressCommand({}))), 'AddressLimitExceeded');
      other.destroy();
      await client.send(new ReleaseAddressCommand({ AllocationId: a.AllocationId }));
      assert.equal((await client.send(new AllocateAddressCommand({}))).PublicIp, a.PublicIp);
    } finally {
      client.destroy();
      await small.stop();
    }
    const dataDir = tempDir();
    await assert.rejects(startKumoForTest({ dataDir, elasticIpPool: '203.0.113.0/24' }), /inside 127\.0\.0\.0\/8/);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('aws CLI: allocate-address, describe-addresses, release-address', async () => {
    const j = (...args: string[]) => awsJson<{ [k: string]: any }>(kumo.url, args); // eslint-disable-line @typescript-eslint/no-explicit-any
    const alloc = await j('ec2', 'allocate-address', '--domain', 'vpc');
    assert.match(alloc.PublicIp, /^127\.100\./);
    const found = await j('ec2', 'describe-addresses', '--allocation-ids', alloc.AllocationId);
    assert.equal(found.Addresses[0].PublicIp, alloc.PublicIp);
    await j('ec2', 'release-address', '--allocation-id', alloc.AllocationId);
    const after = await j('ec2', 'describe-addresses', '--filters', `Name=allocation-id,Values=${alloc.AllocationId}`);
    assert.deepEqual(after.Addresses, []);
  });

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
    assert.equal(shown.Association!.PublicDnsName, '', 'a new VPC gives no public DNS names (enableDnsHostnames is off)');
    await ec2.send(new ModifyVpcAttributeCommand({ VpcId, EnableDnsHostnames: { Value: true } }));
    const named = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }))).NetworkInterfaces![0];
    assert.equal(named.Association!.PublicDnsName, `ec2-${a.PublicIp!.replaceAll('.', '-')}.ap-northeast-1.compute.amazonaws.com`);
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
