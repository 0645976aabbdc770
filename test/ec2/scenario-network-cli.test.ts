// SCENARIO.md Part B, the network pieces that exist today (VPC, four subnets, names, target group,
// DB subnet group), built and torn down as a user would: with the aws CLI v1, then with boto3.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startKumoForTest, type TestKumo } from '../helpers/kumo.js';
import { aws, awsJson, boto3, pythonWithBoto3 } from '../helpers/python.js';

let kumo: TestKumo;

before(async () => {
  kumo = await startKumoForTest();
});
after(async () => {
  await kumo.stop();
});

interface Json {
  [k: string]: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const SUBNETS = [
  ['10.0.0.0/24', 'ap-northeast-1a', 'public-subnet-a'],
  ['10.0.1.0/24', 'ap-northeast-1c', 'public-subnet-c'],
  ['10.0.2.0/24', 'ap-northeast-1a', 'private-subnet-a'],
  ['10.0.3.0/24', 'ap-northeast-1c', 'private-subnet-c'],
];

describe('scenario Part B network', () => {
  test('aws CLI v1', async () => {
    const j = (...args: string[]) => awsJson<Json>(kumo.url, args);
    const { Vpc } = await j('ec2', 'create-vpc', '--cidr-block', '10.0.0.0/16', '--tag-specifications', 'ResourceType=vpc,Tags=[{Key=Name,Value=Test-VPC}]');
    assert.match(Vpc.VpcId, /^vpc-[0-9a-f]{17}$/);
    assert.deepEqual(Vpc.Tags, [{ Key: 'Name', Value: 'Test-VPC' }]);
    const found = await j('ec2', 'describe-vpcs', '--filters', 'Name=tag:Name,Values=Test-VPC');
    assert.deepEqual(found.Vpcs.map((v: Json) => v.VpcId), [Vpc.VpcId]);

    const subnetIds: string[] = [];
    for (const [cidr, zone, name] of SUBNETS) {
      const { Subnet } = await j(
        'ec2', 'create-subnet', '--vpc-id', Vpc.VpcId, '--cidr-block', cidr, '--availability-zone', zone,
        '--tag-specifications', `ResourceType=subnet,Tags=[{Key=Name,Value=${name}}]`,
      );
      assert.equal(Subnet.AvailabilityZone, zone);
      subnetIds.push(Subnet.SubnetId);
    }
    const listed = await j('ec2', 'describe-subnets', '--filters', `Name=vpc-id,Values=${Vpc.VpcId}`, '--query', 'Subnets[].[CidrBlock,AvailabilityZone]');
    assert.deepEqual(listed.sort(), SUBNETS.map(([c, z]) => [c, z]).sort());

    // Names are Name tags, and can be changed.
    const rename = await aws(kumo.url, ['ec2', 'create-tags', '--resources', Vpc.VpcId, '--tags', 'Key=Name,Value=Renamed-VPC']);
    assert.equal(rename.code, 0, rename.stderr);
    assert.equal(rename.stdout, '', 'create-tags prints nothing');
    const renamed = await j('ec2', 'describe-vpcs', '--vpc-ids', Vpc.VpcId, '--query', 'Vpcs[0].Tags');
    assert.deepEqual(renamed, [{ Key: 'Name', Value: 'Renamed-VPC' }]);
    const tags = await j('ec2', 'describe-tags', '--filters', `Name=resource-id,Values=${subnetIds[0]}`);
    assert.deepEqual(tags.Tags, [{ Key: 'Name', Value: 'public-subnet-a', ResourceId: subnetIds[0], ResourceType: 'subnet' }]);

    const { TargetGroups } = await j(
      'elbv2', 'create-target-group', '--name', 'elb-targetgroup', '--protocol', 'HTTP', '--port', '80',
      '--vpc-id', Vpc.VpcId, '--target-type', 'instance', '--health-check-path', '/',
    );
    const tgArn: string = TargetGroups[0].TargetGroupArn;
    assert.match(tgArn, /^arn:aws:elasticloadbalancing:ap-northeast-1:000000000000:targetgroup\/elb-targetgroup\/[0-9a-f]{16}$/);
    const dup = await aws(kumo.url, ['elbv2', 'create-target-group', '--name', 'elb-targetgroup', '--protocol', 'HTTP', '--port', '8080', '--vpc-id', Vpc.VpcId]);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /\(DuplicateTargetGroupName\)/, 'the wire code is AWS\'s, without the SDK\'s Exception suffix');

    const { DBSubnetGroup } = await j(
      'rds', 'create-db-subnet-group', '--db-subnet-group-name', 'db-subnetgroup',
      '--db-subnet-group-description', 'test', '--subnet-ids', subnetIds[2], subnetIds[3],
    );
    assert.equal(DBSubnetGroup.DBSubnetGroupArn, 'arn:aws:rds:ap-northeast-1:000000000000:subgrp:db-subnetgroup');
    assert.equal(DBSubnetGroup.Subnets.length, 2);
    const oneZone = await aws(kumo.url, ['rds', 'create-db-subnet-group', '--db-subnet-group-name', 'one-zone', '--db-subnet-group-description', 'x', '--subnet-ids', subnetIds[0], subnetIds[2]]);
    assert.match(oneZone.stderr, /\(DBSubnetGroupDoesNotCoverEnoughAZs\)/);

    // Clean up in reverse order; the VPC is refused while subnets remain.
    const ok = async (...args: string[]) => {
      const r = await aws(kumo.url, args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    };
    await ok('rds', 'delete-db-subnet-group', '--db-subnet-group-name', 'db-subnetgroup');
    await ok('elbv2', 'delete-target-group', '--target-group-arn', tgArn);
    const early = await aws(kumo.url, ['ec2', 'delete-vpc', '--vpc-id', Vpc.VpcId]);
    assert.match(early.stderr, /\(DependencyViolation\)/);
    for (const id of [...subnetIds].reverse()) await ok('ec2', 'delete-subnet', '--subnet-id', id);
    await ok('ec2', 'delete-vpc', '--vpc-id', Vpc.VpcId);

    const gone = await aws(kumo.url, ['ec2', 'describe-vpcs', '--vpc-ids', Vpc.VpcId]);
    assert.match(gone.stderr, /\(InvalidVpcID\.NotFound\)/);
    const noGroup = await aws(kumo.url, ['rds', 'describe-db-subnet-groups', '--db-subnet-group-name', 'db-subnetgroup']);
    assert.match(noGroup.stderr, /\(DBSubnetGroupNotFoundFault\)/);
    const noTg = await aws(kumo.url, ['elbv2', 'describe-target-groups', '--names', 'elb-targetgroup']);
    assert.match(noTg.stderr, /\(TargetGroupNotFound\)/);
  });

  test('boto3', async (t) => {
    if (!pythonWithBoto3()) {
      t.skip('no python3 with boto3 on this machine');
      return;
    }
    const out = await boto3<Json>(
      kumo.url,
      `
import boto3, json, os
from botocore.exceptions import ClientError
url = os.environ['KUMO_URL']
ec2 = boto3.client('ec2', endpoint_url=url)
elb = boto3.client('elbv2', endpoint_url=url)
rds = boto3.client('rds', endpoint_url=url)

def error_code(fn, **kw):
    try:
        fn(**kw)
    except ClientError as e:
        return e.response['Error']['Code']
    return None

vpc = ec2.create_vpc(CidrBlock='10.0.0.0/16', TagSpecifications=[{'ResourceType': 'vpc', 'Tags': [{'Key': 'Name', 'Value': 'Test-VPC'}]}])['Vpc']
vpc_id = vpc['VpcId']
found = ec2.describe_vpcs(Filters=[{'Name': 'tag:Name', 'Values': ['Test-VPC']}])['Vpcs']
subnets = []
for cidr, zone, name in ${JSON.stringify(SUBNETS)}:
    s = ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=zone,
                          TagSpecifications=[{'ResourceType': 'subnet', 'Tags': [{'Key': 'Name', 'Value': name}]}])['Subnet']
    subnets.append(s['SubnetId'])
ec2.create_tags(Resources=[vpc_id], Tags=[{'Key': 'Name', 'Value': 'Renamed-VPC'}])
renamed = ec2.describe_vpcs(VpcIds=[vpc_id])['Vpcs'][0]['Tags']
paged = [s['SubnetId'] for page in ec2.get_paginator('describe_subnets').paginate(
    Filters=[{'Name': 'vpc-id', 'Values': [vpc_id]}], PaginationConfig={'PageSize': 5}) for s in page['Subnets']]

tg = elb.create_target_group(Name='elb-targetgroup', Protocol='HTTP', Port=80, VpcId=vpc_id,
                             TargetType='instance', HealthCheckPath='/')['TargetGroups'][0]
group = rds.create_db_subnet_group(DBSubnetGroupName='db-subnetgroup', DBSubnetGroupDescription='test',
                                   SubnetIds=subnets[2:])['DBSubnetGroup']
exists = error_code(rds.create_db_subnet_group, DBSubnetGroupName='db-subnetgroup', DBSubnetGroupDescription='test', SubnetIds=subnets[2:])

rds.delete_db_subnet_group(DBSubnetGroupName='db-subnetgroup')
elb.delete_target_group(TargetGroupArn=tg['TargetGroupArn'])
in_use = error_code(ec2.delete_vpc, VpcId=vpc_id)
for s in reversed(subnets):
    ec2.delete_subnet(SubnetId=s)
ec2.delete_vpc(VpcId=vpc_id)
print(json.dumps({
    'found': [v['VpcId'] for v in found] == [vpc_id],
    'renamed': renamed,
    'paged': sorted(paged) == sorted(subnets),
    'tgName': tg['TargetGroupName'], 'tgInterval': tg['HealthCheckIntervalSeconds'],
    'groupArn': group['DBSubnetGroupArn'], 'groupZones': sorted(s['SubnetAvailabilityZone']['Name'] for s in group['Subnets']),
    'exists': exists, 'inUse': in_use,
    'vpcGone': error_code(ec2.describe_vpcs, VpcIds=[vpc_id]),
    'groupGone': error_code(rds.describe_db_subnet_groups, DBSubnetGroupName='db-subnetgroup'),
    'tgGone': error_code(elb.describe_target_groups, Names=['elb-targetgroup']),
}))
`,
    );
    assert.deepEqual(out, {
      found: true,
      renamed: [{ Key: 'Name', Value: 'Renamed-VPC' }],
      paged: true,
      tgName: 'elb-targetgroup',
      tgInterval: 30,
      groupArn: 'arn:aws:rds:ap-northeast-1:000000000000:subgrp:db-subnetgroup',
      groupZones: ['ap-northeast-1a', 'ap-northeast-1c'],
      exists: 'DBSubnetGroupAlreadyExists',
      inUse: 'DependencyViolation',
      vpcGone: 'InvalidVpcID.NotFound',
      groupGone: 'DBSubnetGroupNotFoundFault',
      tgGone: 'TargetGroupNotFound',
    });
  });
});
