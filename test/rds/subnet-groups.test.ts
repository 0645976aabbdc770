// RDS DB subnet groups through @aws-sdk/client-rds against a real kumo.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateDBSubnetGroupCommand,
  DeleteDBSubnetGroupCommand,
  DescribeDBSubnetGroupsCommand,
  paginateDescribeDBSubnetGroups,
  RDSClient,
} from '@aws-sdk/client-rds';
import { clientConfig, startKumoForTest, uniqueName, type TestKumo } from '../helpers/kumo.js';

let kumo: TestKumo;
let ec2: EC2Client;
let rds: RDSClient;
/** The scenario's network: public 10.0.0.0/24 (1a), 10.0.1.0/24 (1c); private 10.0.2.0/24 (1a), 10.0.3.0/24 (1c). */
let vpcId: string;
let publicA: string;
let privateA: string;
let privateC: string;

before(async () => {
  kumo = await startKumoForTest();
  ec2 = new EC2Client(clientConfig(kumo.url));
  rds = new RDSClient(clientConfig(kumo.url));
  vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
  const subnet = async (cidr: string, zone: string) =>
    (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: zone }))).Subnet!.SubnetId!;
  publicA = await subnet('10.0.0.0/24', 'ap-northeast-1a');
  await subnet('10.0.1.0/24', 'ap-northeast-1c');
  privateA = await subnet('10.0.2.0/24', 'ap-northeast-1a');
  privateC = await subnet('10.0.3.0/24', 'ap-northeast-1c');
});
after(async () => {
  ec2.destroy();
  rds.destroy();
  await kumo.stop();
});

/** The error a call fails with: its SDK name and HTTP status. */
async function failure(p: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: err.name, status: err.$metadata?.httpStatusCode };
  }
  return { name: 'no error' };
}

describe('DB subnet groups', () => {
  test('db-subnetgroup over the two private subnets: create, describe, delete', async () => {
    const { DBSubnetGroup: group } = await rds.send(
      new CreateDBSubnetGroupCommand({
        DBSubnetGroupName: 'db-subnetgroup',
        DBSubnetGroupDescription: 'private subnets for test-rds-1',
        SubnetIds: [privateA, privateC],
      }),
    );
    assert.equal(group!.DBSubnetGroupName, 'db-subnetgroup');
    assert.equal(group!.DBSubnetGroupDescription, 'private subnets for test-rds-1');
    assert.equal(group!.VpcId, vpcId);
    assert.equal(group!.SubnetGroupStatus, 'Complete');
    assert.equal(group!.DBSubnetGroupArn, 'arn:aws:rds:ap-northeast-1:000000000000:subgrp:db-subnetgroup');
    assert.deepEqual(
      group!.Subnets!.map((s) => [s.SubnetIdentifier, s.SubnetAvailabilityZone?.Name, s.SubnetStatus]).sort(),
      [
        [privateA, 'ap-northeast-1a', 'Active'],
        [privateC, 'ap-northeast-1c', 'Active'],
      ].sort(),
    );

    const one = await rds.send(new DescribeDBSubnetGroupsCommand({ DBSubnetGroupName: 'db-subnetgroup' }));
    assert.deepEqual(one.DBSubnetGroups, [group]);
    // RDS names are case-insensitive: they are stored and found in lower case.
    const upper = await rds.send(new DescribeDBSubnetGroupsCommand({ DBSubnetGroupName: 'DB-SubnetGroup' }));
    assert.equal(upper.DBSubnetGroups![0].DBSubnetGroupName, 'db-subnetgroup');
    const all = await rds.send(new DescribeDBSubnetGroupsCommand({}));
    assert.ok(all.DBSubnetGroups!.some((g) => g.DBSubnetGroupName === 'db-subnetgroup'));

    assert.deepEqual(
      await failure(rds.send(new CreateDBSubnetGroupCommand({ DBSubnetGroupName: 'DB-SUBNETGROUP', DBSubnetGroupDescription: 'again', SubnetIds: [privateA, privateC] }))),
      { name: 'DBSubnetGroupAlreadyExistsFault', status: 400 },
    );

    await rds.send(new DeleteDBSubnetGroupCommand({ DBSubnetGroupName: 'db-subnetgroup' }));
    assert.deepEqual(await failure(rds.send(new DescribeDBSubnetGroupsCommand({ DBSubnetGroupName: 'db-subnetgroup' }))), {
      name: 'DBSubnetGroupNotFoundFault',
      status: 404,
    });
    assert.deepEqual(await failure(rds.send(new DeleteDBSubnetGroupCommand({ DBSubnetGroupName: 'db-subnetgroup' }))), {
      name: 'DBSubnetGroupNotFoundFault',
      status: 404,
    });
  });

  test('refusals: one zone, unknown subnet, mixed VPCs, bad names; nothing is written', async () => {
    const name = uniqueName('refused');
    const create = (SubnetIds: string[], DBSubnetGroupName = name) =>
      failure(rds.send(new CreateDBSubnetGroupCommand({ DBSubnetGroupName, DBSubnetGroupDescription: 'x', SubnetIds })));

    assert.deepEqual(await create([publicA, privateA]), { name: 'DBSubnetGroupDoesNotCoverEnoughAZs', status: 400 });
    assert.deepEqual(await create([privateA]), { name: 'DBSubnetGroupDoesNotCoverEnoughAZs', status: 400 });
    assert.deepEqual(await create([privateA, 'subnet-0123456789abcdef0']), { name: 'InvalidSubnet', status: 400 });

    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '172.16.0.0/16' }));
    const { Subnet } = await ec2.send(new CreateSubnetCommand({ VpcId: Vpc!.VpcId, CidrBlock: '172.16.0.0/24', AvailabilityZone: 'ap-northeast-1c' }));
    assert.equal((await create([privateA, Subnet!.SubnetId!])).status, 400, 'subnets of two VPCs');

    assert.equal((await create([privateA, privateC], 'default')).name, 'InvalidParameterValue');
    assert.equal((await create([privateA, privateC], 'bad/name')).name, 'InvalidParameterValue');
    assert.equal((await create([privateA, privateC], 'x'.repeat(256))).name, 'InvalidParameterValue');

    assert.equal((await failure(rds.send(new DescribeDBSubnetGroupsCommand({ DBSubnetGroupName: name })))).name, 'DBSubnetGroupNotFoundFault');
  });

  test('paging with MaxRecords and Marker', async () => {
    const names: string[] = [];
    for (let i = 0; i < 25; i++) {
      const DBSubnetGroupName = uniqueName(`page${i}`);
      names.push(DBSubnetGroupName);
      await rds.send(new CreateDBSubnetGroupCommand({ DBSubnetGroupName, DBSubnetGroupDescription: 'paging', SubnetIds: [privateA, privateC] }));
    }
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeDBSubnetGroups({ client: rds, pageSize: 20 }, {})) {
      pages++;
      assert.ok(page.DBSubnetGroups!.length <= 20);
      seen.push(...page.DBSubnetGroups!.map((g) => g.DBSubnetGroupName!));
    }
    assert.equal(new Set(seen).size, seen.length);
    for (const n of names) assert.ok(seen.includes(n), n);
    assert.equal(pages, Math.ceil(seen.length / 20));
    assert.equal((await failure(rds.send(new DescribeDBSubnetGroupsCommand({ MaxRecords: 19 })))).name, 'InvalidParameterValue');
    assert.equal((await failure(rds.send(new DescribeDBSubnetGroupsCommand({ MaxRecords: 101 })))).name, 'InvalidParameterValue');
    for (const DBSubnetGroupName of names) await rds.send(new DeleteDBSubnetGroupCommand({ DBSubnetGroupName }));
  });
});
