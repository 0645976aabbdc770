// Describe* calls narrowed in SQL (IDs, filters on indexed attributes, tag filters with plain
// values) answer exactly what the same call answers when nothing can be narrowed: a filter given
// as a pattern (`vpc-*9`) is only ever applied to every row of the region, so each pair below
// must agree.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  EC2Client,
  type Filter,
} from '@aws-sdk/client-ec2';
import { errorCode, uniqueName, type TestKumo } from '../helpers/kumo.js';
import { useEc2 } from '../helpers/ec2.js';

let kumo: TestKumo;
let ec2: EC2Client;

useEc2((f) => ({ kumo, ec2 } = f));

/** A filter value that matches the same strings but is a pattern (so it cannot be narrowed). */
const asPattern = (v: string) => `${v.slice(0, -1)}?`;

async function subnetIds(Filters: Filter[], extra: { SubnetIds?: string[]; MaxResults?: number; NextToken?: string } = {}) {
  const out = await ec2.send(new DescribeSubnetsCommand({ Filters, ...extra }));
  return { ids: out.Subnets!.map((s) => s.SubnetId!).sort(), next: out.NextToken };
}

describe('narrowed Describe* calls', () => {
  test('a filter on an indexed attribute or a tag answers what the same filter as a pattern does', async () => {
    void kumo;
    const vpcs: string[] = [];
    for (const n of [61, 62]) vpcs.push((await ec2.send(new CreateVpcCommand({ CidrBlock: `10.${n}.0.0/16` }))).Vpc!.VpcId!);
    const subnets: string[][] = [[], []];
    for (let i = 0; i < 6; i++) {
      for (const [v, VpcId] of vpcs.entries()) {
        const AvailabilityZone = `ap-northeast-1${'acd'[i % 3]}`;
        const id = (await ec2.send(new CreateSubnetCommand({ VpcId, CidrBlock: `10.${61 + v}.${i}.0/24`, AvailabilityZone }))).Subnet!.SubnetId!;
        subnets[v].push(id);
      }
    }
    const team = uniqueName('team');
    await ec2.send(new CreateTagsCommand({ Resources: [subnets[0][0], subnets[1][1]], Tags: [{ Key: 'Team', Value: team }] }));

    const pairs: [string, Filter[], Filter[]][] = [
      ['vpc-id', [{ Name: 'vpc-id', Values: [vpcs[0]] }], [{ Name: 'vpc-id', Values: [asPattern(vpcs[0])] }]],
      ['vpc-id, two values', [{ Name: 'vpc-id', Values: vpcs }], [{ Name: 'vpc-id', Values: vpcs.map(asPattern) }]],
      [
        'vpc-id and availability-zone',
        [{ Name: 'vpc-id', Values: [vpcs[1]] }, { Name: 'availability-zone', Values: ['ap-northeast-1c'] }],
        [{ Name: 'vpc-id', Values: [asPattern(vpcs[1])] }, { Name: 'availability-zone', Values: ['ap-northeast-1?'] }, { Name: 'availability-zone', Values: ['*c'] }],
      ],
      ['cidr-block', [{ Name: 'cidr-block', Values: ['10.62.3.0/24'] }], [{ Name: 'cidr-block', Values: ['10.62.3.0/2?'] }]],
      ['tag', [{ Name: 'tag:Team', Values: [team] }], [{ Name: 'tag:Team', Values: [asPattern(team)] }]],
      ['tag and vpc-id', [{ Name: 'tag:Team', Values: [team] }, { Name: 'vpc-id', Values: [vpcs[1]] }], [{ Name: 'tag:Team', Values: [`${team}*`] }, { Name: 'vpc-id', Values: [`${vpcs[1]}*`] }]],
      ['nothing matches', [{ Name: 'vpc-id', Values: ['vpc-0123456789abcdef0'] }], [{ Name: 'vpc-id', Values: ['vpc-0123456789abcdef?'] }]],
    ];
    for (const [what, plain, pattern] of pairs) {
      const a = await subnetIds(plain);
      const b = await subnetIds(pattern);
      assert.deepEqual(a.ids, b.ids, what);
    }
    assert.deepEqual((await subnetIds([{ Name: 'vpc-id', Values: [vpcs[0]] }])).ids, [...subnets[0]].sort());
    assert.deepEqual((await subnetIds([{ Name: 'tag:Team', Values: [team] }])).ids, [subnets[0][0], subnets[1][1]].sort());

    // IDs with filters: the filters apply to the rows of those IDs; a missing ID is still NotFound.
    const asked = [subnets[0][0], subnets[0][1], subnets[1][0]];
    assert.deepEqual((await subnetIds([{ Name: 'vpc-id', Values: [vpcs[0]] }], { SubnetIds: asked })).ids, [subnets[0][0], subnets[0][1]].sort());
    assert.equal(await errorCode(ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnets[0][0], 'subnet-0123456789abcdef0'] }))), 'InvalidSubnetID.NotFound');

    // Paging over a narrowed set walks it whole, once.
    const seen: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await subnetIds([{ Name: 'vpc-id', Values: [vpcs[1]] }], { MaxResults: 5, NextToken });
      seen.push(...page.ids);
      NextToken = page.next;
    } while (NextToken);
    assert.deepEqual(seen.sort(), [...subnets[1]].sort());
  });

  test('other kinds narrowed by vpc-id agree too', async () => {
    const VpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.63.0.0/16' }))).Vpc!.VpcId!;
    await ec2.send(new CreateSecurityGroupCommand({ GroupName: uniqueName('n'), Description: 'n', VpcId }));
    const plain = [{ Name: 'vpc-id', Values: [VpcId] }];
    const pattern = [{ Name: 'vpc-id', Values: [asPattern(VpcId)] }];
    const groups = async (Filters: Filter[]) => (await ec2.send(new DescribeSecurityGroupsCommand({ Filters }))).SecurityGroups!.map((g) => g.GroupId).sort();
    const tables = async (Filters: Filter[]) => (await ec2.send(new DescribeRouteTablesCommand({ Filters }))).RouteTables!.map((t) => t.RouteTableId).sort();
    const acls = async (Filters: Filter[]) => (await ec2.send(new DescribeNetworkAclsCommand({ Filters }))).NetworkAcls!.map((a) => a.NetworkAclId).sort();
    assert.equal((await groups(plain)).length, 2, 'the default group and the new one');
    assert.deepEqual(await groups(plain), await groups(pattern));
    assert.deepEqual(await tables(plain), await tables(pattern));
    assert.deepEqual(await acls(plain), await acls(pattern));
    const named = async (Filters: Filter[]) => (await ec2.send(new DescribeSecurityGroupsCommand({ Filters }))).SecurityGroups!.map((g) => g.GroupId);
    assert.deepEqual(await named([{ Name: 'group-name', Values: ['default'] }, ...plain]), await named([{ Name: 'group-name', Values: ['defaul?'] }, ...plain]));
  });
});
