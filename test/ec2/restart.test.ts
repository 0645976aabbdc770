// The network survives a restart on the same data dir: the default VPC is made once (not again
// on the next start), security groups and their rules come back as they were, and so do managed
// prefix lists with every version.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateManagedPrefixListCommand,
  CreateSecurityGroupCommand,
  CreateVpcCommand,
  DescribeManagedPrefixListsCommand,
  DescribePrefixListsCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  EC2Client,
  GetManagedPrefixListEntriesCommand,
  ModifyManagedPrefixListCommand,
} from '@aws-sdk/client-ec2';
import { clientConfig, startKumoForTest, tempDir } from '../helpers/kumo.js';

const dataDir = tempDir('kumo-vpc-restart-');
after(() => rmSync(dataDir, { recursive: true, force: true }));

async function withKumo<T>(fn: (ec2: EC2Client) => Promise<T>): Promise<T> {
  const kumo = await startKumoForTest({ dataDir });
  const ec2 = new EC2Client(clientConfig(kumo.url));
  try {
    return await fn(ec2);
  } finally {
    ec2.destroy();
    await kumo.stop();
  }
}

describe('restart', () => {
  test('one default VPC across restarts; groups and rules persist', async () => {
    const before = await withKumo(async (ec2) => {
      const VpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.70.0.0/16' }))).Vpc!.VpcId!;
      const GroupId = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'web-sg', Description: 'web', VpcId }))).GroupId!;
      await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
      const defaults = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }))).Vpcs!;
      return { GroupId, defaults: defaults.map((v) => v.VpcId) };
    });
    assert.equal(before.defaults.length, 1);

    await withKumo(async (ec2) => {
      const defaults = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }))).Vpcs!;
      assert.deepEqual(defaults.map((v) => v.VpcId), before.defaults, 'the same default VPC, not a second one');
      const sg = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [before.GroupId] }))).SecurityGroups![0];
      assert.deepEqual(sg.IpPermissions!.map((p) => [p.IpProtocol, p.FromPort, p.IpRanges![0].CidrIp]), [['tcp', 80, '0.0.0.0/0']]);
    });
  });

  test('prefix lists persist with their versions; AWS-managed IDs stay the same', async () => {
    const before = await withKumo(async (ec2) => {
      const pl = (await ec2.send(new CreateManagedPrefixListCommand({ PrefixListName: 'office', MaxEntries: 4, AddressFamily: 'IPv4', Entries: [{ Cidr: '203.0.113.0/24' }] })))
        .PrefixList!;
      await ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: pl.PrefixListId!, CurrentVersion: 1, AddEntries: [{ Cidr: '198.51.100.0/24' }] }));
      const aws = (await ec2.send(new DescribePrefixListsCommand({}))).PrefixLists!.map((l) => l.PrefixListId).sort();
      return { id: pl.PrefixListId!, aws };
    });
    await withKumo(async (ec2) => {
      const [pl] = (await ec2.send(new DescribeManagedPrefixListsCommand({ PrefixListIds: [before.id] }))).PrefixLists!;
      assert.deepEqual([pl.PrefixListName, pl.Version, pl.MaxEntries], ['office', 2, 4]);
      const v1 = (await ec2.send(new GetManagedPrefixListEntriesCommand({ PrefixListId: before.id, TargetVersion: 1 }))).Entries!;
      assert.deepEqual(v1.map((e) => e.Cidr), ['203.0.113.0/24']);
      const aws = (await ec2.send(new DescribePrefixListsCommand({}))).PrefixLists!.map((l) => l.PrefixListId).sort();
      assert.deepEqual(aws, before.aws);
    });
  });
});
