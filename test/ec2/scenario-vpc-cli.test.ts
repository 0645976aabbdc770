// SCENARIO.md Part B steps 1–4, the network, as a user builds it with the aws CLI v1: Test-VPC
// with DNS resolution on and hostnames off, four subnets in 1a/1c, an internet gateway, a public
// route table (0.0.0.0/0 → igw) for the public subnets, and web-sg, db-sg (3306 from web-sg)
// and elb-sg; then torn down, with DeleteVpc refused until its dependents are gone. The same
// network's gateway, route and group reference once more with boto3.
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

describe('scenario Part B network with the aws CLI', () => {
  test('build Test-VPC with its gateway, routes and security groups, then tear it down', async () => {
    const j = (...args: string[]) => awsJson<Json>(kumo.url, args);
    const ok = async (...args: string[]) => {
      const r = await aws(kumo.url, args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const refused = async (expected: string, ...args: string[]) => {
      const r = await aws(kumo.url, args);
      assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
      assert.match(r.stderr, new RegExp(`\\(${expected.replace('.', '\\.')}\\)`), r.stderr);
    };

    // 1. The VPC, DNS resolution on and hostnames off, its subnets, gateway and public route table.
    const vpcId: string = (await j('ec2', 'create-vpc', '--cidr-block', '10.0.0.0/16', '--tag-specifications', 'ResourceType=vpc,Tags=[{Key=Name,Value=Test-VPC}]')).Vpc.VpcId;
    await ok('ec2', 'modify-vpc-attribute', '--vpc-id', vpcId, '--enable-dns-support', '{"Value":true}');
    await ok('ec2', 'modify-vpc-attribute', '--vpc-id', vpcId, '--enable-dns-hostnames', '{"Value":false}');
    const dns = await j('ec2', 'describe-vpc-attribute', '--vpc-id', vpcId, '--attribute', 'enableDnsSupport');
    assert.deepEqual(dns, { VpcId: vpcId, EnableDnsSupport: { Value: true } });
    const hostnames = await j('ec2', 'describe-vpc-attribute', '--vpc-id', vpcId, '--attribute', 'enableDnsHostnames');
    assert.deepEqual(hostnames.EnableDnsHostnames, { Value: false });

    const subnet: Record<string, string> = {};
    for (const [cidr, zone, name] of SUBNETS) {
      const out = await j('ec2', 'create-subnet', '--vpc-id', vpcId, '--cidr-block', cidr, '--availability-zone', zone, '--tag-specifications', `ResourceType=subnet,Tags=[{Key=Name,Value=${name}}]`);
      subnet[name] = out.Subnet.SubnetId;
    }
    for (const name of ['public-subnet-a', 'public-subnet-c']) {
      await ok('ec2', 'modify-subnet-attribute', '--subnet-id', subnet[name], '--map-public-ip-on-launch');
    }
    const mapping = await j('ec2', 'describe-subnets', '--filters', `Name=vpc-id,Values=${vpcId}`, 'Name=map-public-ip-on-launch,Values=true', '--query', 'Subnets[].Tags[0].Value');
    assert.deepEqual(mapping.sort(), ['public-subnet-a', 'public-subnet-c']);

    const igwId: string = (await j('ec2', 'create-internet-gateway', '--tag-specifications', 'ResourceType=internet-gateway,Tags=[{Key=Name,Value=Test-IGW}]')).InternetGateway.InternetGatewayId;
    assert.equal(await ok('ec2', 'attach-internet-gateway', '--internet-gateway-id', igwId, '--vpc-id', vpcId), '');
    const rtbId: string = (await j('ec2', 'create-route-table', '--vpc-id', vpcId, '--tag-specifications', 'ResourceType=route-table,Tags=[{Key=Name,Value=public-rt}]')).RouteTable.RouteTableId;
    assert.deepEqual(await j('ec2', 'create-route', '--route-table-id', rtbId, '--destination-cidr-block', '0.0.0.0/0', '--gateway-id', igwId), { Return: true });
    const associations: string[] = [];
    for (const name of ['public-subnet-a', 'public-subnet-c']) {
      associations.push((await j('ec2', 'associate-route-table', '--route-table-id', rtbId, '--subnet-id', subnet[name])).AssociationId);
    }
    const publicRt = (await j('ec2', 'describe-route-tables', '--filters', 'Name=tag:Name,Values=public-rt')).RouteTables[0];
    assert.deepEqual(publicRt.Routes.map((r: Json) => [r.DestinationCidrBlock, r.GatewayId, r.State]), [
      ['10.0.0.0/16', 'local', 'active'],
      ['0.0.0.0/0', igwId, 'active'],
    ]);
    assert.deepEqual(publicRt.Associations.map((a: Json) => a.SubnetId).sort(), [subnet['public-subnet-a'], subnet['public-subnet-c']].sort());

    // 2–4. Security groups: web-sg (22, 80 from anywhere), db-sg (3306 from web-sg), elb-sg (80).
    const sg = async (name: string) => (await j('ec2', 'create-security-group', '--group-name', name, '--description', name, '--vpc-id', vpcId)).GroupId as string;
    const web = await sg('web-sg');
    for (const port of ['22', '80']) await ok('ec2', 'authorize-security-group-ingress', '--group-id', web, '--protocol', 'tcp', '--port', port, '--cidr', '0.0.0.0/0');
    const db = await sg('db-sg');
    await ok('ec2', 'authorize-security-group-ingress', '--group-id', db, '--protocol', 'tcp', '--port', '3306', '--source-group', web);
    const elb = await sg('elb-sg');
    await ok('ec2', 'authorize-security-group-ingress', '--group-id', elb, '--ip-permissions', 'IpProtocol=tcp,FromPort=80,ToPort=80,IpRanges=[{CidrIp=0.0.0.0/0}]');
    await refused('InvalidPermission.Duplicate', 'ec2', 'authorize-security-group-ingress', '--group-id', web, '--protocol', 'tcp', '--port', '80', '--cidr', '0.0.0.0/0');
    await refused('InvalidGroup.Duplicate', 'ec2', 'create-security-group', '--group-name', 'web-sg', '--description', 'again', '--vpc-id', vpcId);

    const groups = await j('ec2', 'describe-security-groups', '--filters', `Name=vpc-id,Values=${vpcId}`, '--query', 'SecurityGroups[].[GroupName,IpPermissions[].[IpProtocol,FromPort,ToPort,IpRanges[].CidrIp,UserIdGroupPairs[].GroupId]]');
    const byName = Object.fromEntries(groups.map(([n, p]: [string, unknown]) => [n, p]));
    assert.deepEqual(byName['web-sg'], [['tcp', 22, 22, ['0.0.0.0/0'], []], ['tcp', 80, 80, ['0.0.0.0/0'], []]]);
    assert.deepEqual(byName['db-sg'], [['tcp', 3306, 3306, [], [web]]]);
    assert.deepEqual(byName['elb-sg'], [['tcp', 80, 80, ['0.0.0.0/0'], []]]);
    assert.ok(byName.default, 'the VPC has its default group');

    // 11. Tear down: DeleteVpc is refused while anything but the VPC's own defaults remains.
    await refused('DependencyViolation', 'ec2', 'delete-vpc', '--vpc-id', vpcId);
    await refused('DependencyViolation', 'ec2', 'delete-security-group', '--group-id', web);
    for (const id of [db, web, elb]) await ok('ec2', 'delete-security-group', '--group-id', id);
    await refused('DependencyViolation', 'ec2', 'delete-route-table', '--route-table-id', rtbId);
    for (const id of associations) await ok('ec2', 'disassociate-route-table', '--association-id', id);
    await ok('ec2', 'delete-route-table', '--route-table-id', rtbId);
    await refused('DependencyViolation', 'ec2', 'delete-internet-gateway', '--internet-gateway-id', igwId);
    await ok('ec2', 'detach-internet-gateway', '--internet-gateway-id', igwId, '--vpc-id', vpcId);
    await ok('ec2', 'delete-internet-gateway', '--internet-gateway-id', igwId);
    await refused('DependencyViolation', 'ec2', 'delete-vpc', '--vpc-id', vpcId);
    for (const id of Object.values(subnet)) await ok('ec2', 'delete-subnet', '--subnet-id', id);
    await ok('ec2', 'delete-vpc', '--vpc-id', vpcId);

    await refused('InvalidVpcID.NotFound', 'ec2', 'describe-vpcs', '--vpc-ids', vpcId);
    const leftovers = await j('ec2', 'describe-security-groups', '--filters', `Name=vpc-id,Values=${vpcId}`);
    assert.deepEqual(leftovers.SecurityGroups, []);
    const tables = await j('ec2', 'describe-route-tables', '--filters', `Name=vpc-id,Values=${vpcId}`);
    assert.deepEqual(tables.RouteTables, []);
  });

  test('boto3: gateway, public route, web-sg → db-sg reference, DependencyViolation', async (t) => {
    if (!pythonWithBoto3()) {
      t.skip('no python3 with boto3 on this machine');
      return;
    }
    const out = await boto3<Json>(
      kumo.url,
      `
import boto3, json, os
from botocore.exceptions import ClientError
ec2 = boto3.client('ec2', endpoint_url=os.environ['KUMO_URL'])

def error_code(fn, **kw):
    try:
        fn(**kw)
    except ClientError as e:
        return e.response['Error']['Code']
    return None

vpc_id = ec2.create_vpc(CidrBlock='10.0.0.0/16')['Vpc']['VpcId']
subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock='10.0.0.0/24', AvailabilityZone='ap-northeast-1a')['Subnet']['SubnetId']
igw_id = ec2.create_internet_gateway()['InternetGateway']['InternetGatewayId']
ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
rtb_id = ec2.create_route_table(VpcId=vpc_id)['RouteTable']['RouteTableId']
ec2.create_route(RouteTableId=rtb_id, DestinationCidrBlock='0.0.0.0/0', GatewayId=igw_id)
assoc_id = ec2.associate_route_table(RouteTableId=rtb_id, SubnetId=subnet_id)['AssociationId']
web = ec2.create_security_group(GroupName='web-sg', Description='web', VpcId=vpc_id)['GroupId']
ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[{'IpProtocol': 'tcp', 'FromPort': p, 'ToPort': p, 'IpRanges': [{'CidrIp': '0.0.0.0/0'}]} for p in (22, 80)])
db = ec2.create_security_group(GroupName='db-sg', Description='db', VpcId=vpc_id)['GroupId']
ec2.authorize_security_group_ingress(GroupId=db, IpPermissions=[{'IpProtocol': 'tcp', 'FromPort': 3306, 'ToPort': 3306, 'UserIdGroupPairs': [{'GroupId': web}]}])
db_perms = ec2.describe_security_groups(GroupIds=[db])['SecurityGroups'][0]['IpPermissions']
routes = ec2.describe_route_tables(RouteTableIds=[rtb_id])['RouteTables'][0]['Routes']
refused = error_code(ec2.delete_vpc, VpcId=vpc_id)
for g in (db, web):
    ec2.delete_security_group(GroupId=g)
ec2.disassociate_route_table(AssociationId=assoc_id)
ec2.delete_route_table(RouteTableId=rtb_id)
ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
ec2.delete_internet_gateway(InternetGatewayId=igw_id)
ec2.delete_subnet(SubnetId=subnet_id)
ec2.delete_vpc(VpcId=vpc_id)
print(json.dumps({'web': web, 'igw': igw_id, 'db_perms': db_perms, 'routes': routes, 'refused': refused,
                  'gone': error_code(ec2.describe_vpcs, VpcIds=[vpc_id])}))
`,
    );
    assert.deepEqual(out.db_perms, [
      { IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, IpRanges: [], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [{ GroupId: out.web, UserId: '000000000000' }] },
    ]);
    assert.deepEqual(out.routes.map((r: Json) => [r.DestinationCidrBlock, r.GatewayId, r.State]), [
      ['10.0.0.0/16', 'local', 'active'],
      ['0.0.0.0/0', out.igw, 'active'],
    ]);
    assert.equal(out.refused, 'DependencyViolation');
    assert.equal(out.gone, 'InvalidVpcID.NotFound');
  });
});
