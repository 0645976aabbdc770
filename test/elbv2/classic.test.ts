// Classic load balancers (the 2012-06-01 API of seed 003) through the aws CLI against a real kumo
// (process runtime: no data plane, instances stay OutOfService while registration "is in
// progress"; test/runtime/elb-traffic.test.ts carries traffic through one). kumo's dependencies
// have no SDK v3 client for this API, so the CLI is the client here.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DescribeLoadBalancersCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { clientConfig, startKumoForTest, type TestKumo } from '../helpers/kumo.js';
import { debianImageId } from '../helpers/ec2.js';
import { aws, awsJson } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';

const skip = missing('aws');
let kumo: TestKumo;
let ec2: EC2Client;

before(async () => {
  if (skip) return;
  kumo = await startKumoForTest({ runtime: 'process' });
  ec2 = new EC2Client(clientConfig(kumo.url));
});
after(async () => {
  if (skip) return;
  ec2.destroy();
  await kumo.stop();
});

/** The error code of a failed CLI call (its stderr names it in parentheses). */
async function cliError(args: string[]): Promise<string> {
  const r = await aws(kumo.url, args);
  assert.notEqual(r.code, 0, `aws ${args.join(' ')} succeeded`);
  return /An error occurred \(([A-Za-z]+)\)/.exec(r.stderr)?.[1] ?? r.stderr;
}

describe('classic load balancers', { skip }, () => {
  test('the seed\'s walk-through: create in two zones, health check, instances, attributes, tags, delete', async () => {
    const created = await awsJson<{ DNSName: string }>(kumo.url, [
      'elb', 'create-load-balancer', '--load-balancer-name', 'my-classic',
      '--listeners', 'Protocol=HTTP,LoadBalancerPort=80,InstanceProtocol=HTTP,InstancePort=80',
      '--availability-zones', 'ap-northeast-1a', 'ap-northeast-1c',
    ]);
    assert.match(created.DNSName, /^my-classic-\d+\.ap-northeast-1\.elb\.amazonaws\.com$/);
    type Described = { LoadBalancerDescriptions: { LoadBalancerName: string; DNSName: string; AvailabilityZones: string[]; Subnets: string[]; HealthCheck: Record<string, unknown>; ListenerDescriptions: { Listener: Record<string, unknown> }[]; Instances: { InstanceId: string }[]; SecurityGroups: string[]; Scheme: string }[] };
    const d = (await awsJson<Described>(kumo.url, ['elb', 'describe-load-balancers', '--load-balancer-names', 'my-classic'])).LoadBalancerDescriptions[0]!;
    assert.equal(d.DNSName, created.DNSName);
    assert.deepEqual([...d.AvailabilityZones].sort(), ['ap-northeast-1a', 'ap-northeast-1c']);
    assert.equal(d.Subnets.length, 2);
    assert.equal(d.Scheme, 'internet-facing');
    assert.deepEqual(d.HealthCheck, { Target: 'TCP:80', Interval: 30, Timeout: 5, UnhealthyThreshold: 2, HealthyThreshold: 10 });
    assert.deepEqual(d.ListenerDescriptions[0]!.Listener, { Protocol: 'HTTP', LoadBalancerPort: 80, InstanceProtocol: 'HTTP', InstancePort: 80 });
    assert.equal(d.SecurityGroups.length, 1, 'the VPC\'s default group');

    const hc = await awsJson<{ HealthCheck: Record<string, unknown> }>(kumo.url, [
      'elb', 'configure-health-check', '--load-balancer-name', 'my-classic',
      '--health-check', 'Target=HTTP:80/index.html,Interval=5,Timeout=2,UnhealthyThreshold=2,HealthyThreshold=2',
    ]);
    assert.equal(hc.HealthCheck.Target, 'HTTP:80/index.html');
    assert.equal(await cliError(['elb', 'configure-health-check', '--load-balancer-name', 'my-classic', '--health-check', 'Target=HTTP:80,Interval=5,Timeout=2,UnhealthyThreshold=2,HealthyThreshold=2']), 'ValidationError');

    const ami = await debianImageId(ec2);
    const ids = (await ec2.send(new RunInstancesCommand({ ImageId: ami, MinCount: 2, MaxCount: 2, InstanceType: 't2.micro', Placement: { AvailabilityZone: 'ap-northeast-1a' } }))).Instances!.map((i) => i.InstanceId!);
    const reg = await awsJson<{ Instances: { InstanceId: string }[] }>(kumo.url, ['elb', 'register-instances-with-load-balancer', '--load-balancer-name', 'my-classic', '--instances', ...ids]);
    assert.deepEqual(reg.Instances.map((i) => i.InstanceId).sort(), [...ids].sort());
    assert.equal(await cliError(['elb', 'register-instances-with-load-balancer', '--load-balancer-name', 'my-classic', '--instances', 'i-0123456789abcdef0']), 'InvalidInstance');
    type Health = { InstanceStates: { InstanceId: string; State: string; ReasonCode: string; Description: string }[] };
    const health = await awsJson<Health>(kumo.url, ['elb', 'describe-instance-health', '--load-balancer-name', 'my-classic']);
    assert.equal(health.InstanceStates.length, 2);
    for (const s of health.InstanceStates) assert.deepEqual([s.State, s.ReasonCode, s.Description], ['OutOfService', 'ELB', 'Instance registration is still in progress.']);
    const left = await awsJson<{ Instances: { InstanceId: string }[] }>(kumo.url, ['elb', 'deregister-instances-from-load-balancer', '--load-balancer-name', 'my-classic', '--instances', ids[0]!]);
    assert.deepEqual(left.Instances.map((i) => i.InstanceId), [ids[1]]);
    assert.equal(await cliError(['elb', 'describe-instance-health', '--load-balancer-name', 'my-classic', '--instances', ids[0]!]), 'InvalidInstance');

    const attrs = await awsJson<{ LoadBalancerAttributes: { CrossZoneLoadBalancing: { Enabled: boolean }; ConnectionSettings: { IdleTimeout: number } } }>(kumo.url, [
      'elb', 'modify-load-balancer-attributes', '--load-balancer-name', 'my-classic',
      '--load-balancer-attributes', '{"CrossZoneLoadBalancing":{"Enabled":true},"ConnectionSettings":{"IdleTimeout":30}}',
    ]);
    assert.equal(attrs.LoadBalancerAttributes.CrossZoneLoadBalancing.Enabled, true);
    assert.equal(attrs.LoadBalancerAttributes.ConnectionSettings.IdleTimeout, 30);

    await aws(kumo.url, ['elb', 'add-tags', '--load-balancer-names', 'my-classic', '--tags', 'Key=Name,Value=classic']);
    const tags = await awsJson<{ TagDescriptions: { Tags: { Key: string; Value: string }[] }[] }>(kumo.url, ['elb', 'describe-tags', '--load-balancer-names', 'my-classic']);
    assert.deepEqual(tags.TagDescriptions[0]!.Tags, [{ Key: 'Name', Value: 'classic' }]);

    await aws(kumo.url, ['elb', 'create-load-balancer-listeners', '--load-balancer-name', 'my-classic', '--listeners', 'Protocol=TCP,LoadBalancerPort=2222,InstanceProtocol=TCP,InstancePort=22']);
    assert.equal(await cliError(['elb', 'create-load-balancer-listeners', '--load-balancer-name', 'my-classic', '--listeners', 'Protocol=TCP,LoadBalancerPort=80,InstanceProtocol=TCP,InstancePort=8080']), 'DuplicateListener');
    await aws(kumo.url, ['elb', 'delete-load-balancer-listeners', '--load-balancer-name', 'my-classic', '--load-balancer-ports', '2222']);
    const zones = await awsJson<{ AvailabilityZones: string[] }>(kumo.url, ['elb', 'disable-availability-zones-for-load-balancer', '--load-balancer-name', 'my-classic', '--availability-zones', 'ap-northeast-1c']);
    assert.deepEqual(zones.AvailabilityZones, ['ap-northeast-1a']);

    // ELBv2 does not show classic load balancers.
    const elbv2 = new ElasticLoadBalancingV2Client(clientConfig(kumo.url));
    assert.deepEqual((await elbv2.send(new DescribeLoadBalancersCommand({}))).LoadBalancers, []);
    elbv2.destroy();

    await aws(kumo.url, ['elb', 'delete-load-balancer', '--load-balancer-name', 'my-classic']);
    assert.equal(await cliError(['elb', 'describe-load-balancers', '--load-balancer-names', 'my-classic']), 'LoadBalancerNotFound');
  });

  test('refusals: listeners, protocols, subnets', async () => {
    assert.equal(await cliError(['elb', 'create-load-balancer', '--load-balancer-name', 'no-zones', '--listeners', 'Protocol=HTTP,LoadBalancerPort=80,InstancePort=80']), 'ValidationError');
    assert.equal(await cliError(['elb', 'create-load-balancer', '--load-balancer-name', 'bad-proto', '--listeners', 'Protocol=UDP,LoadBalancerPort=80,InstancePort=80', '--availability-zones', 'ap-northeast-1a']), 'ValidationError');
    assert.equal(await cliError(['elb', 'create-load-balancer', '--load-balancer-name', 'https', '--listeners', 'Protocol=HTTPS,LoadBalancerPort=443,InstancePort=80,SSLCertificateId=arn:aws:iam::000000000000:server-certificate/x', '--availability-zones', 'ap-northeast-1a']), 'CertificateNotFound');
    assert.equal(await cliError(['elb', 'create-load-balancer', '--load-balancer-name', 'no-subnet', '--listeners', 'Protocol=HTTP,LoadBalancerPort=80,InstancePort=80', '--subnets', 'subnet-0123456789abcdef0']), 'SubnetNotFound');
    assert.equal(await cliError(['elb', 'describe-load-balancers', '--load-balancer-names', 'nothing-here']), 'LoadBalancerNotFound');
  });
});
