// VPCs and subnets through @aws-sdk/client-ec2 v3 against a real kumo.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  paginateDescribeSubnets,
} from '@aws-sdk/client-ec2';
import { type TestKumo, errorCode } from '../helpers/kumo.js';
import { useEc2 } from '../helpers/ec2.js';

let kumo: TestKumo;
let ec2: EC2Client;

useEc2((f) => ({ kumo, ec2 } = f));

const code = errorCode;

describe('VPCs', () => {
  test('create, find by tag, delete', async () => {
    const created = await ec2.send(
      new CreateVpcCommand({
        CidrBlock: '10.0.0.0/16',
        TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: 'Test-VPC' }] }],
      }),
    );
    const vpc = created.Vpc!;
    assert.match(vpc.VpcId!, /^vpc-[0-9a-f]{17}$/);
    assert.equal(vpc.CidrBlock, '10.0.0.0/16');
    assert.equal(vpc.State, 'available');
    assert.equal(vpc.OwnerId, '000000000000');
    assert.deepEqual(vpc.Tags, [{ Key: 'Name', Value: 'Test-VPC' }]);

    const found = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag:Name', Values: ['Test-*'] }] }));
    assert.deepEqual(found.Vpcs!.map((v) => v.VpcId), [vpc.VpcId]);
    const none = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag:Name', Values: ['Other'] }] }));
    assert.equal(none.Vpcs!.length, 0);

    await ec2.send(new DeleteVpcCommand({ VpcId: vpc.VpcId }));
    assert.equal(await code(ec2.send(new DescribeVpcsCommand({ VpcIds: [vpc.VpcId!] }))), 'InvalidVpcID.NotFound');
  });

  test('CIDR rules: malformed, out of /16–/28, host bits set', async () => {
    assert.equal(await code(ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/8' }))), 'InvalidVpc.Range');
    assert.equal(await code(ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/29' }))), 'InvalidVpc.Range');
    assert.equal(await code(ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.300/16' }))), 'InvalidParameterValue');
    assert.equal(await code(ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.1.0/16' }))), 'InvalidParameterValue');
    assert.equal(await code(ec2.send(new CreateVpcCommand({ CidrBlock: 'banana' }))), 'InvalidParameterValue');
    // The region's default VPC is there from the first call; a refused CreateVpc adds nothing.
    const all = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['false'] }] }));
    assert.equal(all.Vpcs!.length, 0, 'a refused CreateVpc writes nothing');
  });

  test('DryRun answers DryRunOperation and creates nothing', async () => {
    assert.equal(await code(ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16', DryRun: true }))), 'DryRunOperation');
    const all = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'cidr', Values: ['10.9.0.0/16'] }] }));
    assert.equal(all.Vpcs!.length, 0);
  });
});

describe('subnets', () => {
  test('the scenario network: two zones, public and private subnets', async () => {
    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
    const layout = [
      ['10.0.0.0/24', 'ap-northeast-1a'],
      ['10.0.1.0/24', 'ap-northeast-1c'],
      ['10.0.2.0/24', 'ap-northeast-1a'],
      ['10.0.3.0/24', 'ap-northeast-1c'],
    ];
    const ids: string[] = [];
    for (const [cidr, zone] of layout) {
      const { Subnet } = await ec2.send(new CreateSubnetCommand({ VpcId: Vpc!.VpcId, CidrBlock: cidr, AvailabilityZone: zone }));
      assert.match(Subnet!.SubnetId!, /^subnet-[0-9a-f]{17}$/);
      assert.equal(Subnet!.AvailabilityZone, zone);
      assert.equal(Subnet!.AvailableIpAddressCount, 251);
      assert.equal(Subnet!.SubnetArn, `arn:aws:ec2:ap-northeast-1:000000000000:subnet/${Subnet!.SubnetId}`);
      ids.push(Subnet!.SubnetId!);
    }
    const inZoneA = await ec2.send(
      new DescribeSubnetsCommand({
        Filters: [
          { Name: 'vpc-id', Values: [Vpc!.VpcId!] },
          { Name: 'availability-zone', Values: ['ap-northeast-1a'] },
        ],
      }),
    );
    assert.deepEqual(inZoneA.Subnets!.map((s) => s.CidrBlock).sort(), ['10.0.0.0/24', '10.0.2.0/24']);

    assert.equal(await code(ec2.send(new DeleteVpcCommand({ VpcId: Vpc!.VpcId }))), 'DependencyViolation');
    for (const id of ids) await ec2.send(new DeleteSubnetCommand({ SubnetId: id }));
    await ec2.send(new DeleteVpcCommand({ VpcId: Vpc!.VpcId }));
  });

  test('CIDR validation: outside the VPC, overlapping, too small, bad zone', async () => {
    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16' }));
    const VpcId = Vpc!.VpcId!;
    await ec2.send(new CreateSubnetCommand({ VpcId, CidrBlock: '10.1.0.0/24', AvailabilityZone: 'ap-northeast-1a' }));
    assert.equal(await code(ec2.send(new CreateSubnetCommand({ VpcId, CidrBlock: '10.2.0.0/24' }))), 'InvalidSubnet.Range');
    assert.equal(await code(ec2.send(new CreateSubnetCommand({ VpcId, CidrBlock: '10.1.0.128/25' }))), 'InvalidSubnet.Conflict');
    assert.equal(await code(ec2.send(new CreateSubnetCommand({ VpcId, CidrBlock: '10.1.1.0/29' }))), 'InvalidSubnet.Range');
    assert.equal(
      await code(ec2.send(new CreateSubnetCommand({ VpcId, CidrBlock: '10.1.1.0/24', AvailabilityZone: 'ap-northeast-1b' }))),
      'InvalidParameterValue',
    );
    assert.equal(await code(ec2.send(new CreateSubnetCommand({ VpcId: 'vpc-0123456789abcdef0', CidrBlock: '10.1.1.0/24' }))), 'InvalidVpcID.NotFound');
    const { Subnets } = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [VpcId] }] }));
    assert.equal(Subnets!.length, 1, 'refused subnets were not written');
  });

  test('pagination with MaxResults and NextToken visits every subnet once', async () => {
    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.50.0.0/16' }));
    const want = new Set<string>();
    for (let i = 0; i < 23; i++) {
      const { Subnet } = await ec2.send(new CreateSubnetCommand({ VpcId: Vpc!.VpcId, CidrBlock: `10.50.${i}.0/24` }));
      want.add(Subnet!.SubnetId!);
    }
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeSubnets(
      { client: ec2, pageSize: 5 },
      { Filters: [{ Name: 'vpc-id', Values: [Vpc!.VpcId!] }] },
    )) {
      pages++;
      assert.ok(page.Subnets!.length <= 5);
      seen.push(...page.Subnets!.map((s) => s.SubnetId!));
    }
    assert.equal(pages, 5);
    assert.equal(seen.length, 23);
    assert.deepEqual(new Set(seen), want);
    assert.equal(await code(ec2.send(new DescribeSubnetsCommand({ MaxResults: 4 }))), 'InvalidParameterValue');
    assert.equal(await code(ec2.send(new DescribeSubnetsCommand({ NextToken: 'garbage' }))), 'InvalidParameterValue');
  });
});

describe('malformed and missing IDs', () => {
  test('a malformed ID is .Malformed, a well-formed missing one .NotFound', async () => {
    for (const bad of ['banana', 'vpc-xyz', 'vpc-0123', 'subnet-0123456789abcdef0']) {
      assert.equal(await code(ec2.send(new DescribeVpcsCommand({ VpcIds: [bad] }))), 'InvalidVpcID.Malformed', bad);
      assert.equal(await code(ec2.send(new DeleteVpcCommand({ VpcId: bad }))), 'InvalidVpcID.Malformed', bad);
      assert.equal(await code(ec2.send(new CreateSubnetCommand({ VpcId: bad, CidrBlock: '10.0.0.0/24' }))), 'InvalidVpcID.Malformed', bad);
    }
    for (const bad of ['banana', 'subnet-xyz', 'vpc-0123456789abcdef0']) {
      assert.equal(await code(ec2.send(new DescribeSubnetsCommand({ SubnetIds: [bad] }))), 'InvalidSubnetID.Malformed', bad);
      assert.equal(await code(ec2.send(new DeleteSubnetCommand({ SubnetId: bad }))), 'InvalidSubnetID.Malformed', bad);
    }
    // Both AWS ID lengths are well-formed: 8 hex digits (older resources) and 17.
    for (const missing of ['vpc-01234567', 'vpc-0123456789abcdef0']) {
      assert.equal(await code(ec2.send(new DescribeVpcsCommand({ VpcIds: [missing] }))), 'InvalidVpcID.NotFound', missing);
      assert.equal(await code(ec2.send(new DeleteVpcCommand({ VpcId: missing }))), 'InvalidVpcID.NotFound', missing);
    }
    assert.equal(await code(ec2.send(new DeleteSubnetCommand({ SubnetId: 'subnet-01234567' }))), 'InvalidSubnetID.NotFound');
  });
});
