// Responses from a running kumo, read by both official parsers: what SDK v3 and botocore make of
// the same bytes must agree with each other and with what the create calls returned.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateSubnetCommand, CreateVpcCommand, DescribeSubnetsCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateTargetGroupCommand, DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateDBSubnetGroupCommand, DescribeDBSubnetGroupsCommand, RDSClient } from '@aws-sdk/client-rds';
import { clientConfig, REGION, startKumoForTest, type TestKumo } from '../helpers/kumo.js';
import { boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';
import { plain } from './sdk-wire.js';

let kumo: TestKumo;
let ec2: EC2Client;
let elbv2: ElasticLoadBalancingV2Client;
let rds: RDSClient;
before(async () => {
  kumo = await startKumoForTest();
  ec2 = new EC2Client(clientConfig(kumo.url));
  elbv2 = new ElasticLoadBalancingV2Client(clientConfig(kumo.url));
  rds = new RDSClient(clientConfig(kumo.url));
});
after(async () => {
  for (const c of [ec2, elbv2, rds]) c.destroy();
  await kumo.stop();
});

/** What boto3 parsed, with datetimes as ISO strings like plain() makes of SDK Dates. */
async function viaBoto3(calls: string): Promise<Record<string, unknown>> {
  return boto3(
    kumo.url,
    `import boto3, json, os, datetime
def c(name): return boto3.client(name, endpoint_url=os.environ['KUMO_URL'])
def iso(o):
    if isinstance(o, datetime.datetime): return o.astimezone(datetime.timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z')
    raise TypeError(o)
out = {${calls}}
for v in out.values(): v.pop('ResponseMetadata', None)
print(json.dumps(out, default=iso))`,
  );
}

describe('kumo responses, parsed by SDK v3 and by botocore', () => {
  test('VPCs, subnets, target groups and DB subnet groups read the same through both', { skip: missing('boto3') }, async () => {
    const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: 'a <b> & "c"' }] }] }))).Vpc!;
    const subnets = [];
    for (const [i, az] of [`${REGION}a`, `${REGION}c`].entries()) {
      subnets.push((await ec2.send(new CreateSubnetCommand({ VpcId: vpc.VpcId, CidrBlock: `10.20.${i}.0/24`, AvailabilityZone: az }))).Subnet!);
    }
    const tg = (await elbv2.send(new CreateTargetGroupCommand({ Name: 'live-tg', Protocol: 'HTTP', Port: 8080, VpcId: vpc.VpcId, Matcher: { HttpCode: '200-399' } }))).TargetGroups![0];
    const group = (await rds.send(new CreateDBSubnetGroupCommand({ DBSubnetGroupName: 'live-group', DBSubnetGroupDescription: 'd', SubnetIds: subnets.map((s) => s.SubnetId!) }))).DBSubnetGroup!;

    const sdk = {
      vpcs: plain(await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpc.VpcId!] }))) as { Vpcs: unknown[] },
      subnets: plain(await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc.VpcId!] }] }))) as { Subnets: { SubnetId: string }[] },
      tgs: plain(await elbv2.send(new DescribeTargetGroupsCommand({ Names: ['live-tg'] }))) as { TargetGroups: unknown[] },
      groups: plain(await rds.send(new DescribeDBSubnetGroupsCommand({ DBSubnetGroupName: 'live-group' }))) as { DBSubnetGroups: unknown[] },
    };
    // Describe gives back what create returned.
    assert.deepEqual(sdk.vpcs.Vpcs, [plain(vpc)]);
    assert.deepEqual(
      sdk.subnets.Subnets.sort((a, b) => a.SubnetId.localeCompare(b.SubnetId)),
      subnets.map(plain).sort((a, b) => (a as { SubnetId: string }).SubnetId.localeCompare((b as { SubnetId: string }).SubnetId)),
    );
    assert.deepEqual(sdk.tgs.TargetGroups, [plain(tg)]);
    assert.deepEqual(sdk.groups.DBSubnetGroups, [plain(group)]);

    const py = await viaBoto3(
      `'vpcs': c('ec2').describe_vpcs(VpcIds=['${vpc.VpcId}']),
       'subnets': c('ec2').describe_subnets(Filters=[{'Name': 'vpc-id', 'Values': ['${vpc.VpcId}']}]),
       'tgs': c('elbv2').describe_target_groups(Names=['live-tg']),
       'groups': c('rds').describe_db_subnet_groups(DBSubnetGroupName='live-group')`,
    );
    const sortSubnets = (x: { Subnets: { SubnetId: string }[] }) => ({ Subnets: [...x.Subnets].sort((a, b) => a.SubnetId.localeCompare(b.SubnetId)) });
    assert.deepEqual(py.vpcs, sdk.vpcs);
    assert.deepEqual(sortSubnets(py.subnets as typeof sdk.subnets), sortSubnets(sdk.subnets));
    assert.deepEqual(py.tgs, sdk.tgs);
    assert.deepEqual(py.groups, sdk.groups);
  });
});
