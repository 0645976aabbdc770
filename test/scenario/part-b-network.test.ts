// SCENARIO.md Part B, the network pieces kumo has today, built and torn down as a user would:
// Test-VPC (DNS resolution on, hostnames off) with four named subnets in 1a/1c, names changed
// through Name tags, an internet gateway and a public route table (0.0.0.0/0 → igw) for the public
// subnets, web-sg / db-sg (3306 from web-sg) / elb-sg, the target group elb-targetgroup and the DB
// subnet group db-subnetgroup, and (aws CLI) the load balancer Test-ELB with its HTTP:80 listener;
// then everything deleted in order, each delete refused while a dependent remains. Once with the
// aws CLI v1 and once with boto3, against one kumo.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startKumoForTest, type TestKumo } from '../helpers/kumo.js';
import { aws, awsJson, boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';

let kumo: TestKumo;
let url: string;
before(async () => {
  kumo = await startKumoForTest();
  url = kumo.url;
});
after(() => kumo.stop());

interface Json {
  [k: string]: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const SUBNETS = [
  ['10.0.0.0/24', 'ap-northeast-1a', 'public-subnet-a'],
  ['10.0.1.0/24', 'ap-northeast-1c', 'public-subnet-c'],
  ['10.0.2.0/24', 'ap-northeast-1a', 'private-subnet-a'],
  ['10.0.3.0/24', 'ap-northeast-1c', 'private-subnet-c'],
];

describe('scenario Part B: the network', () => {
  test('aws CLI v1: build Test-VPC with its subnets, gateway, routes, groups, target group and DB subnet group; tear it down', { skip: missing('aws') }, async () => {
    const j = (...args: string[]) => awsJson<Json>(url, args);
    const ok = async (...args: string[]) => {
      const r = await aws(url, args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const refused = async (expected: string, ...args: string[]) => {
      const r = await aws(url, args);
      assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
      // The wire code is AWS's, without the SDK's Exception suffix.
      assert.match(r.stderr, new RegExp(`\\(${expected.replace('.', '\\.')}\\)`), r.stderr);
    };

    // 1. The VPC, found by its name; DNS resolution on and hostnames off.
    const { Vpc } = await j('ec2', 'create-vpc', '--cidr-block', '10.0.0.0/16', '--tag-specifications', 'ResourceType=vpc,Tags=[{Key=Name,Value=Test-VPC}]');
    const vpcId: string = Vpc.VpcId;
    assert.match(vpcId, /^vpc-[0-9a-f]{17}$/);
    assert.deepEqual(Vpc.Tags, [{ Key: 'Name', Value: 'Test-VPC' }]);
    const found = await j('ec2', 'describe-vpcs', '--filters', 'Name=tag:Name,Values=Test-VPC');
    assert.deepEqual(found.Vpcs.map((v: Json) => v.VpcId), [vpcId]);
    await ok('ec2', 'modify-vpc-attribute', '--vpc-id', vpcId, '--enable-dns-support', '{"Value":true}');
    await ok('ec2', 'modify-vpc-attribute', '--vpc-id', vpcId, '--enable-dns-hostnames', '{"Value":false}');
    assert.deepEqual(await j('ec2', 'describe-vpc-attribute', '--vpc-id', vpcId, '--attribute', 'enableDnsSupport'), { VpcId: vpcId, EnableDnsSupport: { Value: true } });
    assert.deepEqual((await j('ec2', 'describe-vpc-attribute', '--vpc-id', vpcId, '--attribute', 'enableDnsHostnames')).EnableDnsHostnames, { Value: false });

    // Four subnets across two zones; the public ones map public IPs on launch.
    const subnet: Record<string, string> = {};
    for (const [cidr, zone, name] of SUBNETS) {
      const { Subnet } = await j(
        'ec2', 'create-subnet', '--vpc-id', vpcId, '--cidr-block', cidr, '--availability-zone', zone,
        '--tag-specifications', `ResourceType=subnet,Tags=[{Key=Name,Value=${name}}]`,
      );
      assert.equal(Subnet.AvailabilityZone, zone);
      subnet[name] = Subnet.SubnetId;
    }
    const listed = await j('ec2', 'describe-subnets', '--filters', `Name=vpc-id,Values=${vpcId}`, '--query', 'Subnets[].[CidrBlock,AvailabilityZone]');
    assert.deepEqual(listed.sort(), SUBNETS.map(([c, z]) => [c, z]).sort());
    for (const name of ['public-subnet-a', 'public-subnet-c']) await ok('ec2', 'modify-subnet-attribute', '--subnet-id', subnet[name], '--map-public-ip-on-launch');
    const mapping = await j('ec2', 'describe-subnets', '--filters', `Name=vpc-id,Values=${vpcId}`, 'Name=map-public-ip-on-launch,Values=true', '--query', 'Subnets[].Tags[0].Value');
    assert.deepEqual(mapping.sort(), ['public-subnet-a', 'public-subnet-c']);

    // Names are Name tags, and can be changed.
    assert.equal(await ok('ec2', 'create-tags', '--resources', vpcId, '--tags', 'Key=Name,Value=Renamed-VPC'), '', 'create-tags prints nothing');
    assert.deepEqual(await j('ec2', 'describe-vpcs', '--vpc-ids', vpcId, '--query', 'Vpcs[0].Tags'), [{ Key: 'Name', Value: 'Renamed-VPC' }]);
    const tags = await j('ec2', 'describe-tags', '--filters', `Name=resource-id,Values=${subnet['public-subnet-a']}`);
    assert.deepEqual(tags.Tags, [{ Key: 'Name', Value: 'public-subnet-a', ResourceId: subnet['public-subnet-a'], ResourceType: 'subnet' }]);

    // The internet gateway and the public route table, associated with the public subnets.
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

    // The target group, and the DB subnet group over the private subnets (two zones at least).
    const { TargetGroups } = await j(
      'elbv2', 'create-target-group', '--name', 'elb-targetgroup', '--protocol', 'HTTP', '--port', '80',
      '--vpc-id', vpcId, '--target-type', 'instance', '--health-check-path', '/',
    );
    const tgArn: string = TargetGroups[0].TargetGroupArn;
    assert.match(tgArn, /^arn:aws:elasticloadbalancing:ap-northeast-1:000000000000:targetgroup\/elb-targetgroup\/[0-9a-f]{16}$/);
    await refused('DuplicateTargetGroupName', 'elbv2', 'create-target-group', '--name', 'elb-targetgroup', '--protocol', 'HTTP', '--port', '8080', '--vpc-id', vpcId);
    const { DBSubnetGroup } = await j(
      'rds', 'create-db-subnet-group', '--db-subnet-group-name', 'db-subnetgroup',
      '--db-subnet-group-description', 'test', '--subnet-ids', subnet['private-subnet-a'], subnet['private-subnet-c'],
    );
    assert.equal(DBSubnetGroup.DBSubnetGroupArn, 'arn:aws:rds:ap-northeast-1:000000000000:subgrp:db-subnetgroup');
    assert.deepEqual(DBSubnetGroup.Subnets.map((s: Json) => s.SubnetAvailabilityZone.Name).sort(), ['ap-northeast-1a', 'ap-northeast-1c']);
    await refused('DBSubnetGroupDoesNotCoverEnoughAZs', 'rds', 'create-db-subnet-group', '--db-subnet-group-name', 'one-zone', '--db-subnet-group-description', 'x', '--subnet-ids', subnet['public-subnet-a'], subnet['private-subnet-a']);

    // 4. The application load balancer Test-ELB in both public subnets, elb-sg, HTTP:80 → the target group.
    const { LoadBalancers } = await j('elbv2', 'create-load-balancer', '--name', 'Test-ELB', '--subnets', subnet['public-subnet-a'], subnet['public-subnet-c'], '--security-groups', elb);
    const lbArn: string = LoadBalancers[0].LoadBalancerArn;
    assert.match(LoadBalancers[0].DNSName, /^Test-ELB-\d+\.ap-northeast-1\.elb\.amazonaws\.com$/);
    await ok('elbv2', 'create-listener', '--load-balancer-arn', lbArn, '--protocol', 'HTTP', '--port', '80', '--default-actions', `Type=forward,TargetGroupArn=${tgArn}`);
    await refused('ValidationError', 'elbv2', 'create-load-balancer', '--name', 'one-zone-elb', '--subnets', subnet['public-subnet-a']);

    // 11. Tear down: DeleteVpc is refused while anything but the VPC's own defaults remains.
    await refused('DependencyViolation', 'ec2', 'delete-vpc', '--vpc-id', vpcId);
    await ok('rds', 'delete-db-subnet-group', '--db-subnet-group-name', 'db-subnetgroup');
    // The load balancer holds its target group, its group and its subnets until it is deleted.
    await refused('ResourceInUse', 'elbv2', 'delete-target-group', '--target-group-arn', tgArn);
    await refused('DependencyViolation', 'ec2', 'delete-security-group', '--group-id', elb);
    await ok('elbv2', 'delete-load-balancer', '--load-balancer-arn', lbArn);
    for (let i = 0; ; i++) {
      const left = (await j('ec2', 'describe-network-interfaces', '--filters', `Name=vpc-id,Values=${vpcId}`)).NetworkInterfaces as Json[];
      if (!left.some((e) => String(e.Description).startsWith('ELB app/Test-ELB/'))) break;
      assert.ok(i < 100, 'the load balancer\'s interfaces are released');
      await new Promise((r) => setTimeout(r, 100));
    }
    await ok('elbv2', 'delete-target-group', '--target-group-arn', tgArn);
    await refused('DependencyViolation', 'ec2', 'delete-security-group', '--group-id', web);
    for (const id of [db, web, elb]) await ok('ec2', 'delete-security-group', '--group-id', id);
    await refused('DependencyViolation', 'ec2', 'delete-route-table', '--route-table-id', rtbId);
    for (const id of associations) await ok('ec2', 'disassociate-route-table', '--association-id', id);
    await ok('ec2', 'delete-route-table', '--route-table-id', rtbId);
    await refused('DependencyViolation', 'ec2', 'delete-internet-gateway', '--internet-gateway-id', igwId);
    await ok('ec2', 'detach-internet-gateway', '--internet-gateway-id', igwId, '--vpc-id', vpcId);
    await ok('ec2', 'delete-internet-gateway', '--internet-gateway-id', igwId);
    await refused('DependencyViolation', 'ec2', 'delete-vpc', '--vpc-id', vpcId);
    for (const id of Object.values(subnet).reverse()) await ok('ec2', 'delete-subnet', '--subnet-id', id);
    await ok('ec2', 'delete-vpc', '--vpc-id', vpcId);

    await refused('InvalidVpcID.NotFound', 'ec2', 'describe-vpcs', '--vpc-ids', vpcId);
    assert.deepEqual((await j('ec2', 'describe-security-groups', '--filters', `Name=vpc-id,Values=${vpcId}`)).SecurityGroups, []);
    assert.deepEqual((await j('ec2', 'describe-route-tables', '--filters', `Name=vpc-id,Values=${vpcId}`)).RouteTables, []);
    await refused('DBSubnetGroupNotFoundFault', 'rds', 'describe-db-subnet-groups', '--db-subnet-group-name', 'db-subnetgroup');
    await refused('TargetGroupNotFound', 'elbv2', 'describe-target-groups', '--names', 'elb-targetgroup');
  });

  test('boto3: the same network, its paginators, and the same refusals', { skip: missing('boto3') }, async () => {
    const out = await boto3<Json>(
      url,
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

vpc_id = ec2.create_vpc(CidrBlock='10.0.0.0/16', TagSpecifications=[{'ResourceType': 'vpc', 'Tags': [{'Key': 'Name', 'Value': 'Test-VPC'}]}])['Vpc']['VpcId']
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

igw_id = ec2.create_internet_gateway()['InternetGateway']['InternetGatewayId']
ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
rtb_id = ec2.create_route_table(VpcId=vpc_id)['RouteTable']['RouteTableId']
ec2.create_route(RouteTableId=rtb_id, DestinationCidrBlock='0.0.0.0/0', GatewayId=igw_id)
assoc_id = ec2.associate_route_table(RouteTableId=rtb_id, SubnetId=subnets[0])['AssociationId']
routes = ec2.describe_route_tables(RouteTableIds=[rtb_id])['RouteTables'][0]['Routes']
web = ec2.create_security_group(GroupName='web-sg', Description='web', VpcId=vpc_id)['GroupId']
ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[{'IpProtocol': 'tcp', 'FromPort': p, 'ToPort': p, 'IpRanges': [{'CidrIp': '0.0.0.0/0'}]} for p in (22, 80)])
db = ec2.create_security_group(GroupName='db-sg', Description='db', VpcId=vpc_id)['GroupId']
ec2.authorize_security_group_ingress(GroupId=db, IpPermissions=[{'IpProtocol': 'tcp', 'FromPort': 3306, 'ToPort': 3306, 'UserIdGroupPairs': [{'GroupId': web}]}])
db_perms = ec2.describe_security_groups(GroupIds=[db])['SecurityGroups'][0]['IpPermissions']

tg = elb.create_target_group(Name='elb-targetgroup', Protocol='HTTP', Port=80, VpcId=vpc_id,
                             TargetType='instance', HealthCheckPath='/')['TargetGroups'][0]
group = rds.create_db_subnet_group(DBSubnetGroupName='db-subnetgroup', DBSubnetGroupDescription='test',
                                   SubnetIds=subnets[2:])['DBSubnetGroup']
exists = error_code(rds.create_db_subnet_group, DBSubnetGroupName='db-subnetgroup', DBSubnetGroupDescription='test', SubnetIds=subnets[2:])

in_use = error_code(ec2.delete_vpc, VpcId=vpc_id)
rds.delete_db_subnet_group(DBSubnetGroupName='db-subnetgroup')
elb.delete_target_group(TargetGroupArn=tg['TargetGroupArn'])
referenced = error_code(ec2.delete_security_group, GroupId=web)
for g in (db, web):
    ec2.delete_security_group(GroupId=g)
ec2.disassociate_route_table(AssociationId=assoc_id)
ec2.delete_route_table(RouteTableId=rtb_id)
ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
ec2.delete_internet_gateway(InternetGatewayId=igw_id)
for s in reversed(subnets):
    ec2.delete_subnet(SubnetId=s)
ec2.delete_vpc(VpcId=vpc_id)
print(json.dumps({
    'found': [v['VpcId'] for v in found] == [vpc_id],
    'renamed': renamed,
    'paged': sorted(paged) == sorted(subnets),
    'igw': igw_id, 'routes': routes,
    'web': web, 'db_perms': db_perms,
    'tgName': tg['TargetGroupName'], 'tgInterval': tg['HealthCheckIntervalSeconds'],
    'groupArn': group['DBSubnetGroupArn'], 'groupZones': sorted(s['SubnetAvailabilityZone']['Name'] for s in group['Subnets']),
    'exists': exists, 'inUse': in_use, 'referenced': referenced,
    'vpcGone': error_code(ec2.describe_vpcs, VpcIds=[vpc_id]),
    'groupGone': error_code(rds.describe_db_subnet_groups, DBSubnetGroupName='db-subnetgroup'),
    'tgGone': error_code(elb.describe_target_groups, Names=['elb-targetgroup']),
}))
`,
    );
    assert.deepEqual(out.routes.map((r: Json) => [r.DestinationCidrBlock, r.GatewayId, r.State]), [
      ['10.0.0.0/16', 'local', 'active'],
      ['0.0.0.0/0', out.igw, 'active'],
    ]);
    assert.deepEqual(out.db_perms, [
      { IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, IpRanges: [], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [{ GroupId: out.web, UserId: '000000000000' }] },
    ]);
    const { routes: _r, igw: _i, web: _w, db_perms: _d, ...rest } = out;
    assert.deepEqual(rest, {
      found: true,
      renamed: [{ Key: 'Name', Value: 'Renamed-VPC' }],
      paged: true,
      tgName: 'elb-targetgroup',
      tgInterval: 30,
      groupArn: 'arn:aws:rds:ap-northeast-1:000000000000:subgrp:db-subnetgroup',
      groupZones: ['ap-northeast-1a', 'ap-northeast-1c'],
      exists: 'DBSubnetGroupAlreadyExists',
      inUse: 'DependencyViolation',
      referenced: 'DependencyViolation',
      vpcGone: 'InvalidVpcID.NotFound',
      groupGone: 'DBSubnetGroupNotFoundFault',
      tgGone: 'TargetGroupNotFound',
    });
  });
});
