// RDS DB instances through @aws-sdk/client-rds against a kumo on the process runtime: every
// refusal CreateDBInstance makes before a database would run (on this runtime none does), the
// engine and class listings, and the lifecycle calls on unknown instances. Databases that really
// run are in test/runtime/rds.test.ts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateDBInstanceCommand, CreateDBSnapshotCommand, CreateDBSubnetGroupCommand, DeleteDBInstanceCommand, DeleteDBSnapshotCommand, DescribeDBEngineVersionsCommand,
  DescribeDBInstancesCommand, DescribeDBParameterGroupsCommand, DescribeDBParametersCommand, DescribeDBSnapshotsCommand, DescribeEventCategoriesCommand,
  DescribeEventsCommand, DescribeOrderableDBInstanceOptionsCommand, RDSClient, RebootDBInstanceCommand, RestoreDBInstanceFromDBSnapshotCommand,
  type CreateDBInstanceCommandInput,
} from '@aws-sdk/client-rds';
import { clientConfig, errorCode, startKumoForTest, type TestKumo } from '../helpers/kumo.js';

let kumo: TestKumo;
let rds: RDSClient;
let ec2: EC2Client;

before(async () => {
  kumo = await startKumoForTest({ runtime: 'process' });
  rds = new RDSClient(clientConfig(kumo.url));
  ec2 = new EC2Client(clientConfig(kumo.url));
});
after(async () => {
  rds.destroy();
  ec2.destroy();
  await kumo.stop();
});

const good: CreateDBInstanceCommandInput = {
  DBInstanceIdentifier: 'test-rds-1', Engine: 'mysql', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'admin', MasterUserPassword: 'Secret123!',
};
const create = (change: Partial<CreateDBInstanceCommandInput>) => errorCode(rds.send(new CreateDBInstanceCommand({ ...good, ...change })));

test('CreateDBInstance refuses what RDS refuses, before anything runs', async () => {
  assert.equal(await create({ DBInstanceIdentifier: '1starts-with-digit' }), 'InvalidParameterValue');
  assert.equal(await create({ DBInstanceIdentifier: 'two--hyphens' }), 'InvalidParameterValue');
  assert.equal(await create({ DBInstanceIdentifier: 'ends-with-' }), 'InvalidParameterValue');
  assert.equal(await create({ Engine: 'oracle-ee' }), 'InvalidParameterValue');
  assert.equal(await create({ EngineVersion: '5.1' }), 'InvalidParameterCombination');
  assert.equal(await create({ Engine: 'postgres', EngineVersion: '16.4' }), 'InvalidParameterCombination', 'kumo runs PostgreSQL 15 only');
  assert.equal(await create({ DBInstanceClass: 'db.x99.huge' }), 'InvalidParameterValue');
  assert.equal(await create({ MasterUserPassword: 'short' }), 'InvalidParameterValue');
  assert.equal(await create({ MasterUserPassword: undefined }), 'InvalidParameterValue');
  assert.equal(await create({ MasterUserPassword: 'has a space1' }), 'InvalidParameterValue');
  assert.equal(await create({ MasterUserPassword: 'with@sign123' }), 'InvalidParameterValue');
  assert.equal(await create({ MasterUsername: 'rdsadmin' }), 'InvalidParameterValue');
  assert.equal(await create({ MasterUsername: '9admin' }), 'InvalidParameterValue');
  assert.equal(await create({ AllocatedStorage: 10 }), 'InvalidParameterValue', 'gp2 starts at 20 GiB');
  assert.equal(await create({ AllocatedStorage: 70000 }), 'InvalidParameterValue');
  assert.equal(await create({ StorageType: 'io1', AllocatedStorage: 100 }), 'InvalidParameterCombination', 'io1 needs Iops');
  assert.equal(await create({ DBName: 'bad-name' }), 'InvalidParameterValue');
  assert.equal(await create({ DBSubnetGroupName: 'nope' }), 'DBSubnetGroupNotFoundFault');
  assert.equal(await create({ DBParameterGroupName: 'custom-pg' }), 'DBParameterGroupNotFoundFault');
  assert.equal(await create({ VpcSecurityGroupIds: ['sg-0123456789abcdef0'] }), 'InvalidParameterValue');
  assert.equal(await create({ BackupRetentionPeriod: 36 }), 'InvalidParameterValue');
  assert.equal(await create({ Port: 80 }), 'InvalidParameterValue');
  // Every check passes: the process runtime has nothing to run the database on.
  assert.equal(await create({}), 'InvalidParameterCombination');
  assert.deepEqual((await rds.send(new DescribeDBInstancesCommand({}))).DBInstances, [], 'a refused create leaves nothing');
});

test('a DB subnet group names its VPC and zones; the zone asked for must be one of them', async () => {
  const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' }))).Vpc!.VpcId!;
  const subnets = [];
  for (const [cidr, zone] of [['10.9.2.0/24', 'ap-northeast-1a'], ['10.9.3.0/24', 'ap-northeast-1c']]) {
    subnets.push((await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: zone }))).Subnet!.SubnetId!);
  }
  await rds.send(new CreateDBSubnetGroupCommand({ DBSubnetGroupName: 'db-subnetgroup', DBSubnetGroupDescription: 'db', SubnetIds: subnets }));
  assert.equal(await create({ DBSubnetGroupName: 'db-subnetgroup', AvailabilityZone: 'ap-northeast-1d' }), 'InvalidParameterValue');
});

test('unknown instances are DBInstanceNotFound; engines and classes are listed', async () => {
  assert.equal(await errorCode(rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'nope' }))), 'DBInstanceNotFoundFault');
  assert.equal(await errorCode(rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'nope', SkipFinalSnapshot: true }))), 'DBInstanceNotFoundFault');
  assert.equal(await errorCode(rds.send(new RebootDBInstanceCommand({ DBInstanceIdentifier: 'nope' }))), 'DBInstanceNotFoundFault');
  const versions = (await rds.send(new DescribeDBEngineVersionsCommand({ Engine: 'mysql', EngineVersion: '8.0' }))).DBEngineVersions!;
  assert.ok(versions.length > 0 && versions.every((v) => v.EngineVersion!.startsWith('8.0.') && v.DBParameterGroupFamily === 'mysql8.0'));
  const pg = (await rds.send(new DescribeDBEngineVersionsCommand({ Engine: 'postgres', DefaultOnly: true }))).DBEngineVersions!;
  assert.deepEqual(pg.map((v) => v.EngineVersion!.split('.')[0]), ['15']);
  const options = (await rds.send(new DescribeOrderableDBInstanceOptionsCommand({ Engine: 'mysql', DBInstanceClass: 'db.t3.micro', EngineVersion: versions[0]!.EngineVersion }))).OrderableDBInstanceOptions!;
  assert.ok(options.some((o) => o.StorageType === 'gp2' && o.MinStorageSize === 20 && o.AvailabilityZones!.some((z) => z.Name === 'ap-northeast-1a')));
});

test('snapshots, events and parameter groups answer as RDS does when there is nothing to show', async () => {
  assert.deepEqual((await rds.send(new DescribeDBSnapshotsCommand({}))).DBSnapshots, []);
  assert.equal(await errorCode(rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 'nope' }))), 'DBSnapshotNotFoundFault');
  assert.equal(await errorCode(rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: 'nope' }))), 'DBSnapshotNotFoundFault');
  assert.equal(await errorCode(rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'nope', DBSnapshotIdentifier: 'snap' }))), 'DBInstanceNotFoundFault');
  assert.equal(await errorCode(rds.send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: 'copy', DBSnapshotIdentifier: 'nope' }))), 'DBSnapshotNotFoundFault');
  assert.equal(await errorCode(rds.send(new DescribeDBSnapshotsCommand({ Filters: [{ Name: 'colour', Values: ['red'] }] }))), 'InvalidParameterValue');

  assert.deepEqual((await rds.send(new DescribeEventsCommand({}))).Events, []);
  assert.equal(await errorCode(rds.send(new DescribeEventsCommand({ SourceIdentifier: 'test-rds-1' }))), 'InvalidParameterCombination', 'a source needs its type');
  assert.equal(await errorCode(rds.send(new DescribeEventsCommand({ SourceType: 'db-toaster' as never }))), 'InvalidParameterValue');
  const categories = (await rds.send(new DescribeEventCategoriesCommand({ SourceType: 'db-instance' }))).EventCategoriesMapList!;
  assert.ok(categories[0]!.EventCategories!.includes('failover') && categories[0]!.EventCategories!.includes('backup'));

  const groups = (await rds.send(new DescribeDBParameterGroupsCommand({}))).DBParameterGroups!.map((g) => g.DBParameterGroupName);
  assert.ok(groups.includes('default.mysql8.0') && groups.includes('default.postgres15'), `groups: ${groups}`);
  assert.equal(await errorCode(rds.send(new DescribeDBParameterGroupsCommand({ DBParameterGroupName: 'custom' }))), 'DBParameterGroupNotFoundFault');
  const params = (await rds.send(new DescribeDBParametersCommand({ DBParameterGroupName: 'default.mysql8.0' }))).Parameters!;
  assert.equal(params.find((p) => p.ParameterName === 'character_set_server')?.ParameterValue, 'utf8mb4');
});
