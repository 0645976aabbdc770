// EC2 tags, regions, zones and wildcard filters through @aws-sdk/client-ec2 v3 against a real kumo.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DeleteSubnetCommand,
  DeleteTagsCommand,
  DeleteVpcCommand,
  DescribeAvailabilityZonesCommand,
  DescribeRegionsCommand,
  DescribeSubnetsCommand,
  DescribeTagsCommand,
  DescribeVpcsCommand,
  EC2Client,
  paginateDescribeTags,
  type Filter,
} from '@aws-sdk/client-ec2';
import { clientConfig, type TestKumo, errorCode } from '../helpers/kumo.js';
import { useEc2 } from '../helpers/ec2.js';

let kumo: TestKumo;
let ec2: EC2Client;

useEc2((f) => ({ kumo, ec2 } = f));

const code = errorCode;

let nextNet = 100;
/** A fresh VPC (10.<n>.0.0/16) with one subnet per given zone. */
async function network(zones: string[] = ['ap-northeast-1a']) {
  const n = nextNet++;
  const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: `10.${n}.0.0/16` }));
  const subnetIds: string[] = [];
  for (const [i, zone] of zones.entries()) {
    const { Subnet } = await ec2.send(
      new CreateSubnetCommand({ VpcId: Vpc!.VpcId, CidrBlock: `10.${n}.${i}.0/24`, AvailabilityZone: zone }),
    );
    subnetIds.push(Subnet!.SubnetId!);
  }
  return { vpcId: Vpc!.VpcId!, subnetIds };
}

const tagsOf = async (id: string) =>
  (await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [id] }] }))).Tags!.map((t) => [t.Key, t.Value]);

describe('tags', () => {
  test('create, overwrite, describe with filters, delete', async () => {
    const { vpcId, subnetIds } = await network(['ap-northeast-1a', 'ap-northeast-1c']);
    await ec2.send(
      new CreateTagsCommand({
        Resources: [vpcId, ...subnetIds],
        Tags: [
          { Key: 'Name', Value: 'tagged' },
          { Key: 'env', Value: 'test' },
        ],
      }),
    );
    await ec2.send(new CreateTagsCommand({ Resources: [subnetIds[0]], Tags: [{ Key: 'Name', Value: 'public-a' }, { Key: 'empty' }] }));
    assert.deepEqual(await tagsOf(subnetIds[0]), [
      ['Name', 'public-a'],
      ['empty', ''],
      ['env', 'test'],
    ]);

    const mine: Filter = { Name: 'resource-id', Values: [vpcId, ...subnetIds] };
    const byType = await ec2.send(new DescribeTagsCommand({ Filters: [mine, { Name: 'resource-type', Values: ['vpc'] }] }));
    assert.deepEqual(
      byType.Tags!.map((t) => [t.ResourceId, t.ResourceType, t.Key, t.Value]),
      [
        [vpcId, 'vpc', 'Name', 'tagged'],
        [vpcId, 'vpc', 'env', 'test'],
      ],
    );
    const byKey = await ec2.send(new DescribeTagsCommand({ Filters: [mine, { Name: 'key', Values: ['Name'] }] }));
    assert.equal(byKey.Tags!.length, 3);
    const byValue = await ec2.send(new DescribeTagsCommand({ Filters: [mine, { Name: 'value', Values: ['public-*', 'nothing'] }] }));
    assert.deepEqual(byValue.Tags!.map((t) => t.ResourceId), [subnetIds[0]]);
    const byTag = await ec2.send(new DescribeTagsCommand({ Filters: [mine, { Name: 'tag:Name', Values: ['tagged'] }] }));
    assert.deepEqual(byTag.Tags!.map((t) => t.ResourceId).sort(), [vpcId, subnetIds[1]].sort());
    assert.equal(await code(ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'colour', Values: ['x'] }] }))), 'InvalidParameterValue');

    // The tags show on the resources themselves too.
    const { Subnets } = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetIds[1]] }));
    assert.deepEqual(Subnets![0].Tags, [
      { Key: 'Name', Value: 'tagged' },
      { Key: 'env', Value: 'test' },
    ]);

    // A key alone deletes whatever the value; a key with a value only deletes on a match.
    await ec2.send(new DeleteTagsCommand({ Resources: [subnetIds[0]], Tags: [{ Key: 'env', Value: 'other' }, { Key: 'empty' }] }));
    assert.deepEqual(await tagsOf(subnetIds[0]), [
      ['Name', 'public-a'],
      ['env', 'test'],
    ]);
    await ec2.send(new DeleteTagsCommand({ Resources: [subnetIds[0]], Tags: [{ Key: 'env', Value: 'test' }] }));
    assert.deepEqual(await tagsOf(subnetIds[0]), [['Name', 'public-a']]);
    // No Tags at all removes every tag.
    await ec2.send(new DeleteTagsCommand({ Resources: [vpcId] }));
    assert.deepEqual(await tagsOf(vpcId), []);

    // Deleting a resource takes its tags with it.
    await ec2.send(new DeleteSubnetCommand({ SubnetId: subnetIds[1] }));
    assert.deepEqual(await tagsOf(subnetIds[1]), []);
  });

  test('pagination visits every tag once', async () => {
    const { vpcId, subnetIds } = await network(['ap-northeast-1a', 'ap-northeast-1c', 'ap-northeast-1d']);
    const tags = Array.from({ length: 4 }, (_, i) => ({ Key: `k${i}`, Value: `v${i}` }));
    await ec2.send(new CreateTagsCommand({ Resources: [vpcId, ...subnetIds], Tags: tags }));
    const filter = { Filters: [{ Name: 'resource-id', Values: [vpcId, ...subnetIds] }] };
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeTags({ client: ec2, pageSize: 5 }, filter)) {
      pages++;
      assert.ok(page.Tags!.length <= 5);
      seen.push(...page.Tags!.map((t) => `${t.ResourceId}/${t.Key}`));
    }
    assert.equal(pages, 4);
    assert.equal(seen.length, 16);
    assert.equal(new Set(seen).size, 16);
    assert.equal(await code(ec2.send(new DescribeTagsCommand({ MaxResults: 1001 }))), 'InvalidParameterValue');
    assert.equal(await code(ec2.send(new DescribeTagsCommand({ NextToken: 'not-a-token' }))), 'InvalidParameterValue');
  });

  test('bad IDs: malformed is InvalidID, missing is NotFound, and nothing is written', async () => {
    const { vpcId, subnetIds } = await network();
    const tag = [{ Key: 'Name', Value: 'x' }];
    for (const bad of ['banana', 'vpc-xyz', 'vpc-', 'vpc-0123456789abcdef', 'vpc-0123456789ABCDEF0', 'igw']) {
      assert.equal(await code(ec2.send(new CreateTagsCommand({ Resources: [vpcId, bad], Tags: tag }))), 'InvalidID', bad);
    }
    assert.equal(
      await code(ec2.send(new CreateTagsCommand({ Resources: [vpcId, 'vpc-0123456789abcdef0', subnetIds[0]], Tags: tag }))),
      'InvalidVpcID.NotFound',
    );
    assert.equal(await code(ec2.send(new CreateTagsCommand({ Resources: [subnetIds[0], 'subnet-12345678'], Tags: tag }))), 'InvalidSubnetID.NotFound');
    assert.deepEqual(await tagsOf(vpcId), [], 'a refused CreateTags tags nothing');
    assert.deepEqual(await tagsOf(subnetIds[0]), []);

    await ec2.send(new CreateTagsCommand({ Resources: [vpcId], Tags: tag }));
    assert.equal(await code(ec2.send(new DeleteTagsCommand({ Resources: [vpcId, 'vpc-0123456789abcdef0'] }))), 'InvalidVpcID.NotFound');
    assert.deepEqual(await tagsOf(vpcId), [['Name', 'x']], 'a refused DeleteTags deletes nothing');
  });

  test('tag rules: aws: prefix, key and value length, 50 tags per resource', async () => {
    const { vpcId, subnetIds } = await network();
    const both = [vpcId, subnetIds[0]];
    const refused = async (Tags: { Key: string; Value?: string }[]) => code(ec2.send(new CreateTagsCommand({ Resources: both, Tags })));
    assert.equal(await refused([{ Key: 'ok', Value: '1' }, { Key: 'aws:cloudformation:stack-name', Value: 'x' }]), 'InvalidParameterValue');
    assert.equal(await refused([{ Key: 'AWS:upper', Value: 'x' }]), 'InvalidParameterValue');
    assert.equal(await refused([{ Key: 'k'.repeat(129), Value: 'x' }]), 'InvalidParameterValue');
    assert.equal(await refused([{ Key: 'long', Value: 'v'.repeat(257) }]), 'InvalidParameterValue');
    assert.equal(await refused([{ Key: '', Value: 'x' }]), 'InvalidParameterValue');
    assert.deepEqual(await tagsOf(vpcId), []);

    // 128 and 256 characters are fine, and so is 'aws' without the colon.
    await ec2.send(new CreateTagsCommand({ Resources: both, Tags: [{ Key: 'k'.repeat(128), Value: 'v'.repeat(256) }, { Key: 'awsome', Value: '' }] }));
    const forty = Array.from({ length: 48 }, (_, i) => ({ Key: `t${i}`, Value: String(i) }));
    await ec2.send(new CreateTagsCommand({ Resources: both, Tags: forty }));
    assert.equal((await tagsOf(vpcId)).length, 50);
    // Overwriting existing keys does not count against the limit; one new key does.
    await ec2.send(new CreateTagsCommand({ Resources: both, Tags: [{ Key: 't0', Value: 'again' }] }));
    assert.equal(await refused([{ Key: 't1', Value: 'x' }, { Key: 'one-too-many', Value: 'x' }]), 'TagLimitExceeded');
    assert.deepEqual((await tagsOf(subnetIds[0])).find(([k]) => k === 't1'), ['t1', '1'], 'nothing of the refused call was written');
    assert.equal((await tagsOf(subnetIds[0])).length, 50);

    const { vpcId: other } = await network([]);
    const fiftyOne = Array.from({ length: 51 }, (_, i) => ({ Key: `n${i}`, Value: '' }));
    assert.equal(await code(ec2.send(new CreateTagsCommand({ Resources: [other], Tags: fiftyOne }))), 'TagLimitExceeded');
    assert.equal(
      await code(ec2.send(new CreateVpcCommand({ CidrBlock: '10.250.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: fiftyOne }] }))),
      'TagLimitExceeded',
    );
    assert.equal(
      await code(ec2.send(new CreateVpcCommand({ CidrBlock: '10.250.0.0/16', TagSpecifications: [{ ResourceType: 'subnet', Tags: [{ Key: 'a', Value: 'b' }] }] }))),
      'InvalidParameterValue',
    );
  });
});

describe('regions and zones', () => {
  test('DescribeRegions lists the standard regions with their endpoints', async () => {
    const { Regions } = await ec2.send(new DescribeRegionsCommand({}));
    const tokyo = Regions!.find((r) => r.RegionName === 'ap-northeast-1');
    assert.deepEqual(tokyo, { RegionName: 'ap-northeast-1', Endpoint: 'ec2.ap-northeast-1.amazonaws.com', OptInStatus: 'opt-in-not-required' });
    assert.ok(Regions!.every((r) => r.OptInStatus === 'opt-in-not-required'));
    assert.ok(!Regions!.some((r) => r.RegionName === 'af-south-1'), 'opt-in regions only with AllRegions');

    const all = await ec2.send(new DescribeRegionsCommand({ AllRegions: true }));
    assert.equal(all.Regions!.find((r) => r.RegionName === 'af-south-1')?.OptInStatus, 'not-opted-in');
    assert.ok(all.Regions!.length > Regions!.length);

    const some = await ec2.send(new DescribeRegionsCommand({ RegionNames: ['us-east-1', 'ap-northeast-1'] }));
    assert.deepEqual(some.Regions!.map((r) => r.RegionName).sort(), ['ap-northeast-1', 'us-east-1']);
    const filtered = await ec2.send(new DescribeRegionsCommand({ Filters: [{ Name: 'region-name', Values: ['ap-*'] }] }));
    assert.ok(filtered.Regions!.length >= 5 && filtered.Regions!.every((r) => r.RegionName!.startsWith('ap-')));
    const byEndpoint = await ec2.send(new DescribeRegionsCommand({ Filters: [{ Name: 'endpoint', Values: ['ec2.eu-west-?.amazonaws.com'] }] }));
    assert.deepEqual(byEndpoint.Regions!.map((r) => r.RegionName).sort(), ['eu-west-1', 'eu-west-2', 'eu-west-3']);

    await assert.rejects(ec2.send(new DescribeRegionsCommand({ RegionNames: ['ap-northeast-1', 'mars-north-1'] })), {
      name: 'InvalidParameterValue',
      message: 'Invalid region: [mars-north-1]',
    });
  });

  test('DescribeAvailabilityZones in ap-northeast-1: 1a, 1c and 1d', async () => {
    const { AvailabilityZones } = await ec2.send(new DescribeAvailabilityZonesCommand({}));
    assert.deepEqual(
      AvailabilityZones!.map((z) => [z.ZoneName, z.ZoneId, z.State, z.RegionName, z.ZoneType]),
      [
        ['ap-northeast-1a', 'apne1-az4', 'available', 'ap-northeast-1', 'availability-zone'],
        ['ap-northeast-1c', 'apne1-az1', 'available', 'ap-northeast-1', 'availability-zone'],
        ['ap-northeast-1d', 'apne1-az2', 'available', 'ap-northeast-1', 'availability-zone'],
      ],
    );
    const one = await ec2.send(new DescribeAvailabilityZonesCommand({ ZoneNames: ['ap-northeast-1c'] }));
    assert.deepEqual(one.AvailabilityZones!.map((z) => z.ZoneName), ['ap-northeast-1c']);
    const byId = await ec2.send(new DescribeAvailabilityZonesCommand({ ZoneIds: ['apne1-az4'] }));
    assert.deepEqual(byId.AvailabilityZones!.map((z) => z.ZoneName), ['ap-northeast-1a']);
    const filtered = await ec2.send(new DescribeAvailabilityZonesCommand({ Filters: [{ Name: 'zone-name', Values: ['*1[ac]', '*d'] }] }));
    assert.deepEqual(filtered.AvailabilityZones!.map((z) => z.ZoneName), ['ap-northeast-1d'], 'brackets are literal, not a class');

    await assert.rejects(ec2.send(new DescribeAvailabilityZonesCommand({ ZoneNames: ['ap-northeast-1b'] })), {
      name: 'InvalidParameterValue',
      message: 'Invalid availability zone: [ap-northeast-1b]',
    });
    for (const bad of [{ ZoneNames: ['ap-northeast-1b'] }, { ZoneNames: ['us-east-1a'] }, { ZoneIds: ['apne1-az9'] }]) {
      assert.equal(await code(ec2.send(new DescribeAvailabilityZonesCommand(bad))), 'InvalidParameterValue', JSON.stringify(bad));
    }

    const virginia = new EC2Client(clientConfig(kumo.url, { region: 'us-east-1' }));
    try {
      const { AvailabilityZones: use1 } = await virginia.send(new DescribeAvailabilityZonesCommand({}));
      assert.equal(use1!.length, 6);
      assert.ok(use1!.every((z) => z.RegionName === 'us-east-1'));
    } finally {
      virginia.destroy();
    }
  });
});

describe('wildcard filters on VPCs and subnets', () => {
  test('* and ? match, values are ORed, filters are ANDed', async () => {
    const { vpcId, subnetIds } = await network(['ap-northeast-1a', 'ap-northeast-1c', 'ap-northeast-1d']);
    const names = ['web-a', 'web-c', 'db-d'];
    for (const [i, id] of subnetIds.entries()) await ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'Name', Value: names[i] }] }));
    await ec2.send(new CreateTagsCommand({ Resources: [vpcId], Tags: [{ Key: 'Name', Value: 'wild*card?' }] }));
    const inVpc: Filter = { Name: 'vpc-id', Values: [vpcId] };
    const subnetNames = async (...filters: Filter[]) =>
      (await ec2.send(new DescribeSubnetsCommand({ Filters: [inVpc, ...filters] }))).Subnets!.map((s) => s.Tags!.find((t) => t.Key === 'Name')!.Value).sort();

    assert.deepEqual(await subnetNames({ Name: 'tag:Name', Values: ['web-*'] }), ['web-a', 'web-c']);
    assert.deepEqual(await subnetNames({ Name: 'tag:Name', Values: ['???-?'] }), ['web-a', 'web-c']);
    assert.deepEqual(await subnetNames({ Name: 'tag:Name', Values: ['??-?'] }), ['db-d']);
    assert.deepEqual(await subnetNames({ Name: 'tag:Name', Values: ['web-a', 'db-*'] }), ['db-d', 'web-a']);
    assert.deepEqual(await subnetNames({ Name: 'tag:Name', Values: ['*-?'] }, { Name: 'availability-zone', Values: ['*1c', '*1d'] }), ['db-d', 'web-c']);
    assert.deepEqual(await subnetNames({ Name: 'cidr-block', Values: [`10.*.1.0/24`] }), ['web-c']);
    assert.deepEqual(await subnetNames({ Name: 'tag-key', Values: ['Na*'] }), ['db-d', 'web-a', 'web-c']);
    assert.deepEqual(await subnetNames({ Name: 'tag-value', Values: ['WEB-A'] }), [], 'matching is case-sensitive');
    assert.deepEqual(await subnetNames({ Name: 'tag:name', Values: ['*'] }), [], 'tag keys are case-sensitive');
    assert.deepEqual(await subnetNames({ Name: 'available-ip-address-count', Values: ['251'] }), ['db-d', 'web-a', 'web-c']);

    const vpcsNamed = async (v: string) =>
      (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag:Name', Values: [v] }, { Name: 'vpc-id', Values: [vpcId] }] }))).Vpcs!.length;
    assert.equal(await vpcsNamed('wild\\*card\\?'), 1, 'escaped wildcards match themselves');
    assert.equal(await vpcsNamed('wild\\*card'), 0);
    assert.equal(await vpcsNamed('wild*'), 1);
    assert.equal(await vpcsNamed('wildXcard?'), 0);
    assert.equal(
      (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'is-default', Values: ['false'] }] }))).Vpcs!.length,
      1,
    );
    assert.equal(await code(ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] }))), 'InvalidParameterValue');

    for (const id of subnetIds) await ec2.send(new DeleteSubnetCommand({ SubnetId: id }));
    await ec2.send(new DeleteVpcCommand({ VpcId: vpcId }));
  });
});
