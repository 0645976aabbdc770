// SCENARIO.md Part B step 4 as the seed's reader types it, with the aws CLI and with boto3 (their
// serializers differ from the SDK's: lists, nested actions and conditions, attributes), against a
// real kumo on the process runtime (no traffic here; test/runtime/elb-traffic.test.ts has it).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { clientConfig, startKumoForTest, type TestKumo } from '../helpers/kumo.js';
import { aws, awsJson, boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';
import { CreateSubnetCommand, CreateVpcCommand, CreateInternetGatewayCommand, AttachInternetGatewayCommand, CreateSecurityGroupCommand, EC2Client } from '@aws-sdk/client-ec2';

let kumo: TestKumo;
let vpc = '';
let subnets: string[] = [];
let sg = '';

before(async () => {
  kumo = await startKumoForTest({ runtime: 'process' });
  const ec2 = new EC2Client(clientConfig(kumo.url));
  vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
  const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
  await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }));
  for (const [cidr, zone] of [['10.0.0.0/24', 'ap-northeast-1a'], ['10.0.1.0/24', 'ap-northeast-1c']]) {
    subnets.push((await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: cidr, AvailabilityZone: zone }))).Subnet!.SubnetId!);
  }
  sg = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpc, GroupName: 'elb-sg', Description: 'elb' }))).GroupId!;
  ec2.destroy();
});
after(async () => {
  await kumo.stop();
});

describe('ELBv2 with the aws CLI and boto3', () => {
  test('aws elbv2: target group, load balancer, listener, rule, attributes, tags', { skip: missing('aws') }, async () => {
    const tg = (await awsJson<{ TargetGroups: { TargetGroupArn: string; Matcher: { HttpCode: string } }[] }>(kumo.url, [
      'elbv2', 'create-target-group', '--name', 'elb-targetgroup', '--protocol', 'HTTP', '--port', '80', '--vpc-id', vpc,
      '--health-check-path', '/wp-includes/images/blank.gif', '--matcher', 'HttpCode=200-299',
    ])).TargetGroups[0]!;
    assert.equal(tg.Matcher.HttpCode, '200-299');
    const lb = (await awsJson<{ LoadBalancers: { LoadBalancerArn: string; DNSName: string }[] }>(kumo.url, [
      'elbv2', 'create-load-balancer', '--name', 'Test-ELB', '--subnets', ...subnets, '--security-groups', sg, '--tags', 'Key=Name,Value=Test-ELB',
    ])).LoadBalancers[0]!;
    assert.match(lb.DNSName, /^Test-ELB-\d+\.ap-northeast-1\.elb\.amazonaws\.com$/);
    const listener = (await awsJson<{ Listeners: { ListenerArn: string }[] }>(kumo.url, [
      'elbv2', 'create-listener', '--load-balancer-arn', lb.LoadBalancerArn, '--protocol', 'HTTP', '--port', '80',
      '--default-actions', `Type=forward,TargetGroupArn=${tg.TargetGroupArn}`,
    ])).Listeners[0]!;
    const rule = (await awsJson<{ Rules: { Priority: string; Conditions: { Field: string; Values: string[] }[] }[] }>(kumo.url, [
      'elbv2', 'create-rule', '--listener-arn', listener.ListenerArn, '--priority', '5',
      '--conditions', 'Field=path-pattern,Values=/admin/*',
      '--actions', 'Type=fixed-response,FixedResponseConfig={StatusCode=403,ContentType=text/plain,MessageBody=no}',
    ])).Rules[0]!;
    assert.deepEqual([rule.Priority, rule.Conditions[0]!.Values], ['5', ['/admin/*']]);
    const attrs = (await awsJson<{ Attributes: { Key: string; Value: string }[] }>(kumo.url, [
      'elbv2', 'modify-target-group-attributes', '--target-group-arn', tg.TargetGroupArn, '--attributes', 'Key=deregistration_delay.timeout_seconds,Value=30',
    ])).Attributes;
    assert.equal(attrs.find((a) => a.Key === 'deregistration_delay.timeout_seconds')!.Value, '30');
    const tags = await awsJson<{ TagDescriptions: { Tags: { Key: string; Value: string }[] }[] }>(kumo.url, ['elbv2', 'describe-tags', '--resource-arns', lb.LoadBalancerArn]);
    assert.deepEqual(tags.TagDescriptions[0]!.Tags, [{ Key: 'Name', Value: 'Test-ELB' }]);
    const refused = await aws(kumo.url, ['elbv2', 'delete-target-group', '--target-group-arn', tg.TargetGroupArn]);
    assert.match(refused.stderr, /ResourceInUse/);
    for (const args of [['delete-listener', '--listener-arn', listener.ListenerArn], ['delete-load-balancer', '--load-balancer-arn', lb.LoadBalancerArn], ['delete-target-group', '--target-group-arn', tg.TargetGroupArn]]) {
      const r = await aws(kumo.url, ['elbv2', ...args]);
      assert.equal(r.code, 0, r.stderr);
    }
  });

  test('boto3: the same, with weighted forwarding and a waiter', { skip: missing('boto3') }, async () => {
    const out = await boto3<{ state: string; weights: number[]; health: string[]; lbs: number }>(kumo.url, `
import boto3, json, os
elb = boto3.client('elbv2', endpoint_url=os.environ['KUMO_URL'])
a = elb.create_target_group(Name='blue', Protocol='HTTP', Port=80, VpcId='${vpc}')['TargetGroups'][0]['TargetGroupArn']
b = elb.create_target_group(Name='green', Protocol='HTTP', Port=80, VpcId='${vpc}')['TargetGroups'][0]['TargetGroupArn']
lb = elb.create_load_balancer(Name='boto-elb', Subnets=${JSON.stringify(subnets)}, SecurityGroups=['${sg}'], Scheme='internet-facing')['LoadBalancers'][0]
elb.get_waiter('load_balancer_available').wait(LoadBalancerArns=[lb['LoadBalancerArn']], WaiterConfig={'Delay': 1, 'MaxAttempts': 30})
l = elb.create_listener(LoadBalancerArn=lb['LoadBalancerArn'], Protocol='HTTP', Port=80,
    DefaultActions=[{'Type': 'forward', 'ForwardConfig': {'TargetGroups': [{'TargetGroupArn': a, 'Weight': 80}, {'TargetGroupArn': b, 'Weight': 20}]}}])['Listeners'][0]
state = elb.describe_load_balancers(LoadBalancerArns=[lb['LoadBalancerArn']])['LoadBalancers'][0]['State']['Code']
weights = [t['Weight'] for t in l['DefaultActions'][0]['ForwardConfig']['TargetGroups']]
health = [d['TargetHealth']['State'] for d in elb.describe_target_health(TargetGroupArn=a)['TargetHealthDescriptions']]
elb.delete_listener(ListenerArn=l['ListenerArn'])
elb.delete_load_balancer(LoadBalancerArn=lb['LoadBalancerArn'])
elb.get_waiter('load_balancers_deleted').wait(LoadBalancerArns=[lb['LoadBalancerArn']], WaiterConfig={'Delay': 1, 'MaxAttempts': 30})
print(json.dumps({'state': state, 'weights': weights, 'health': health, 'lbs': len(elb.describe_load_balancers()['LoadBalancers'])}))
`);
    assert.deepEqual(out, { state: 'active', weights: [80, 20], health: [], lbs: 0 });
  });
});
