// ELBv2 load balancers, listeners, rules, targets and tags through
// @aws-sdk/client-elastic-load-balancing-v2 against a real kumo (process runtime: no data plane,
// so load balancers go active at once and targets stay `initial`; test/runtime/elb-*.test.ts
// carries real traffic).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AttachInternetGatewayCommand, CreateInternetGatewayCommand, CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, DeleteSecurityGroupCommand,
  DeleteSubnetCommand, DescribeNetworkInterfacesCommand, EC2Client, RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  AddTagsCommand, CreateListenerCommand, CreateLoadBalancerCommand, CreateRuleCommand, CreateTargetGroupCommand, DeleteListenerCommand,
  DeleteLoadBalancerCommand, DeleteRuleCommand, DeleteTargetGroupCommand, DeregisterTargetsCommand, DescribeListenersCommand,
  DescribeLoadBalancerAttributesCommand, DescribeLoadBalancersCommand, DescribeRulesCommand, DescribeTagsCommand, DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client, ModifyListenerCommand, ModifyLoadBalancerAttributesCommand,
  ModifyRuleCommand, ModifyTargetGroupAttributesCommand, ModifyTargetGroupCommand, RegisterTargetsCommand, RemoveTagsCommand, SetRulePrioritiesCommand,
  SetSecurityGroupsCommand, SetSubnetsCommand, type CreateLoadBalancerCommandInput,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { debianImageId } from '../helpers/ec2.js';
import { clientConfig, errorCode as sdkError, startKumoForTest, uniqueName, waitFor, type TestKumo } from '../helpers/kumo.js';

let kumo: TestKumo;
let ec2: EC2Client;
let elb: ElasticLoadBalancingV2Client;
let vpcId: string;
let subnetA: string;
let subnetC: string;
let subnetD: string;
let subnetA2: string;
let elbSg: string;

/** The wire code: the SDK names modeled errors `<code>Exception`. */
const errorCode = async (p: Promise<unknown>) => (await sdkError(p)).replace(/Exception$/, '');

const name = (prefix: string) => uniqueName(prefix).replace(/[^a-z0-9]/g, '').slice(-28);

before(async () => {
  kumo = await startKumoForTest({ runtime: 'process' });
  ec2 = new EC2Client(clientConfig(kumo.url));
  elb = new ElasticLoadBalancingV2Client(clientConfig(kumo.url));
  vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
  const subnet = async (cidr: string, az: string) => (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: az }))).Subnet!.SubnetId!;
  subnetA = await subnet('10.0.0.0/24', 'ap-northeast-1a');
  subnetC = await subnet('10.0.1.0/24', 'ap-northeast-1c');
  subnetD = await subnet('10.0.2.0/24', 'ap-northeast-1d');
  subnetA2 = await subnet('10.0.3.0/24', 'ap-northeast-1a');
  const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
  await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpcId }));
  elbSg = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'elb-sg', Description: 'elb', VpcId: vpcId }))).GroupId!;
});
after(async () => {
  ec2.destroy();
  elb.destroy();
  await kumo.stop();
});

async function createLb(extra: Partial<CreateLoadBalancerCommandInput> = {}) {
  const out = await elb.send(new CreateLoadBalancerCommand({ Name: name('lb'), Subnets: [subnetA, subnetC], SecurityGroups: [elbSg], ...extra }));
  return out.LoadBalancers![0]!;
}

async function createTg(extra: Record<string, unknown> = {}) {
  return (await elb.send(new CreateTargetGroupCommand({ Name: name('tg'), Protocol: 'HTTP', Port: 80, VpcId: vpcId, ...extra }))).TargetGroups![0]!;
}

describe('load balancers', () => {
  test('Test-ELB: internet-facing in two zones, DNS name, nodes as interfaces, active', async () => {
    const lb = (await elb.send(new CreateLoadBalancerCommand({ Name: 'Test-ELB', Subnets: [subnetA, subnetC], SecurityGroups: [elbSg], Tags: [{ Key: 'Name', Value: 'Test-ELB' }] }))).LoadBalancers![0]!;
    assert.match(lb.LoadBalancerArn!, /^arn:aws:elasticloadbalancing:ap-northeast-1:000000000000:loadbalancer\/app\/Test-ELB\/[0-9a-f]{16}$/);
    assert.match(lb.DNSName!, /^Test-ELB-\d+\.ap-northeast-1\.elb\.amazonaws\.com$/);
    assert.equal(lb.Scheme, 'internet-facing');
    assert.equal(lb.Type, 'application');
    assert.equal(lb.VpcId, vpcId);
    assert.equal(lb.CanonicalHostedZoneId, 'Z14GRHDCWA56QT');
    assert.deepEqual(lb.SecurityGroups, [elbSg]);
    assert.deepEqual(lb.AvailabilityZones!.map((z) => [z.ZoneName, z.SubnetId]).sort(), [['ap-northeast-1a', subnetA], ['ap-northeast-1c', subnetC]]);
    await waitFor('active', async () => (await elb.send(new DescribeLoadBalancersCommand({ Names: ['Test-ELB'] }))).LoadBalancers![0]!.State!.Code === 'active');
    const enis = (await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))).NetworkInterfaces!;
    const mine = enis.filter((e) => e.Description === `ELB app/Test-ELB/${lb.LoadBalancerArn!.split('/').at(-1)}`);
    assert.equal(mine.length, 2);
    assert.ok(mine.every((e) => e.RequesterManaged && e.Groups!.some((g) => g.GroupId === elbSg)));
    // Same settings again: the same load balancer; different ones: DuplicateLoadBalancerName.
    const again = (await elb.send(new CreateLoadBalancerCommand({ Name: 'Test-ELB', Subnets: [subnetA, subnetC], SecurityGroups: [elbSg] }))).LoadBalancers![0]!;
    assert.equal(again.LoadBalancerArn, lb.LoadBalancerArn);
    assert.equal(await errorCode(elb.send(new CreateLoadBalancerCommand({ Name: 'Test-ELB', Subnets: [subnetA, subnetD], SecurityGroups: [elbSg] }))), 'DuplicateLoadBalancerName');
    // The security group and subnets are in use while it exists.
    assert.equal(await errorCode(ec2.send(new DeleteSecurityGroupCommand({ GroupId: elbSg }))), 'DependencyViolation');
    assert.equal(await errorCode(ec2.send(new DeleteSubnetCommand({ SubnetId: subnetC }))), 'DependencyViolation');
    const tags = (await elb.send(new DescribeTagsCommand({ ResourceArns: [lb.LoadBalancerArn!] }))).TagDescriptions![0]!.Tags;
    assert.deepEqual(tags, [{ Key: 'Name', Value: 'Test-ELB' }]);
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
    assert.equal(await errorCode(elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [lb.LoadBalancerArn!] }))), 'LoadBalancerNotFound');
    await waitFor('interfaces released', async () => {
      const left = (await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))).NetworkInterfaces!;
      return !left.some((e) => e.Description?.startsWith('ELB app/Test-ELB/'));
    });
    // Deleting what is gone succeeds.
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
  });

  test('refusals: zones, subnets, groups, names, types, internet gateway', async () => {
    assert.equal(await errorCode(elb.send(new CreateLoadBalancerCommand({ Name: name('one'), Subnets: [subnetA] }))), 'ValidationError');
    assert.equal(await errorCode(elb.send(new CreateLoadBalancerCommand({ Name: name('same'), Subnets: [subnetA, subnetA2] }))), 'InvalidConfigurationRequest');
    assert.equal(await errorCode(elb.send(new CreateLoadBalancerCommand({ Name: name('nosub'), Subnets: [subnetA, 'subnet-0123456789abcdef0'] }))), 'SubnetNotFound');
    assert.equal(await errorCode(elb.send(new CreateLoadBalancerCommand({ Name: name('nosg'), Subnets: [subnetA, subnetC], SecurityGroups: ['sg-0123456789abcdef0'] }))), 'InvalidSecurityGroup');
    assert.equal(await errorCode(elb.send(new CreateLoadBalancerCommand({ Name: 'internal-x', Subnets: [subnetA, subnetC] }))), 'ValidationError');
    assert.equal(await errorCode(elb.send(new CreateLoadBalancerCommand({ Name: 'bad_name', Subnets: [subnetA, subnetC] }))), 'ValidationError');
    assert.equal(await errorCode(elb.send(new CreateLoadBalancerCommand({ Name: name('gwlb'), Subnets: [subnetA, subnetC], Type: 'gateway' }))), 'ValidationError');
    const bare = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' }))).Vpc!.VpcId!;
    const s1 = (await ec2.send(new CreateSubnetCommand({ VpcId: bare, CidrBlock: '10.9.0.0/24', AvailabilityZone: 'ap-northeast-1a' }))).Subnet!.SubnetId!;
    const s2 = (await ec2.send(new CreateSubnetCommand({ VpcId: bare, CidrBlock: '10.9.1.0/24', AvailabilityZone: 'ap-northeast-1c' }))).Subnet!.SubnetId!;
    assert.equal(await errorCode(elb.send(new CreateLoadBalancerCommand({ Name: name('noigw'), Subnets: [s1, s2] }))), 'InvalidSubnet');
    // Internal load balancers need no internet gateway and get the VPC's default group.
    const internal = (await elb.send(new CreateLoadBalancerCommand({ Name: name('int'), Subnets: [s1, s2], Scheme: 'internal' }))).LoadBalancers![0]!;
    assert.match(internal.DNSName!, /^internal-/);
    assert.equal(internal.SecurityGroups!.length, 1);
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: internal.LoadBalancerArn }));
  });

  test('attributes, security groups, subnets, deletion protection', async () => {
    const lb = await createLb();
    const attrs = (await elb.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).Attributes!;
    const get = (k: string) => attrs.find((a) => a.Key === k)?.Value;
    assert.equal(get('idle_timeout.timeout_seconds'), '60');
    assert.equal(get('deletion_protection.enabled'), 'false');
    assert.equal(get('routing.http2.enabled'), 'true');
    const changed = (await elb.send(new ModifyLoadBalancerAttributesCommand({
      LoadBalancerArn: lb.LoadBalancerArn,
      Attributes: [{ Key: 'idle_timeout.timeout_seconds', Value: '5' }, { Key: 'deletion_protection.enabled', Value: 'true' }],
    }))).Attributes!;
    assert.equal(changed.find((a) => a.Key === 'idle_timeout.timeout_seconds')!.Value, '5');
    assert.equal(await errorCode(elb.send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn, Attributes: [{ Key: 'idle_timeout.timeout_seconds', Value: '0' }] }))), 'ValidationError');
    assert.equal(await errorCode(elb.send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn, Attributes: [{ Key: 'no.such.key', Value: '1' }] }))), 'ValidationError');
    assert.equal(await errorCode(elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }))), 'OperationNotPermitted');
    const other = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: name('sg'), Description: 'x', VpcId: vpcId }))).GroupId!;
    assert.deepEqual((await elb.send(new SetSecurityGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn, SecurityGroups: [other] }))).SecurityGroupIds, [other]);
    const zones = (await elb.send(new SetSubnetsCommand({ LoadBalancerArn: lb.LoadBalancerArn, Subnets: [subnetA, subnetD] }))).AvailabilityZones!;
    assert.deepEqual(zones.map((z) => z.ZoneName).sort(), ['ap-northeast-1a', 'ap-northeast-1d']);
    const now = (await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [lb.LoadBalancerArn!] }))).LoadBalancers![0]!;
    assert.deepEqual(now.SecurityGroups, [other]);
    assert.deepEqual(now.AvailabilityZones!.map((z) => z.SubnetId).sort(), [subnetA, subnetD].sort());
    await elb.send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn, Attributes: [{ Key: 'deletion_protection.enabled', Value: 'false' }] }));
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
  });
});

describe('network load balancers', () => {
  test('one subnet, a TCP listener to a TCP group; no HTTP, no rules; cross-zone off', async () => {
    const nlb = (await elb.send(new CreateLoadBalancerCommand({ Name: 'my-nlb', Type: 'network', Subnets: [subnetA], SecurityGroups: [elbSg] }))).LoadBalancers![0]!;
    assert.match(nlb.LoadBalancerArn!, /:loadbalancer\/net\/my-nlb\/[0-9a-f]{16}$/);
    assert.match(nlb.DNSName!, /^my-nlb-[0-9a-f]{16}\.elb\.ap-northeast-1\.amazonaws\.com$/);
    assert.equal(nlb.Type, 'network');
    assert.equal(nlb.CanonicalHostedZoneId, 'Z31USIVHYNEOWT');
    const tcp = await createTg({ Protocol: 'TCP' });
    assert.equal(tcp.HealthCheckProtocol, 'TCP');
    const http = await createTg();
    const listener = (await elb.send(new CreateListenerCommand({ LoadBalancerArn: nlb.LoadBalancerArn, Protocol: 'TCP', Port: 5432, DefaultActions: [{ Type: 'forward', TargetGroupArn: tcp.TargetGroupArn }] }))).Listeners![0]!;
    assert.match(listener.ListenerArn!, /:listener\/net\/my-nlb\//);
    assert.equal(await errorCode(elb.send(new CreateListenerCommand({ LoadBalancerArn: nlb.LoadBalancerArn, Protocol: 'HTTP', Port: 80, DefaultActions: [{ Type: 'forward', TargetGroupArn: http.TargetGroupArn }] }))), 'UnsupportedProtocol');
    assert.equal(await errorCode(elb.send(new CreateListenerCommand({ LoadBalancerArn: nlb.LoadBalancerArn, Protocol: 'TCP', Port: 81, DefaultActions: [{ Type: 'forward', TargetGroupArn: http.TargetGroupArn }] }))), 'IncompatibleProtocols');
    assert.equal(await errorCode(elb.send(new CreateRuleCommand({ ListenerArn: listener.ListenerArn, Priority: 1, Conditions: [{ Field: 'path-pattern', Values: ['/x'] }], Actions: [{ Type: 'forward', TargetGroupArn: tcp.TargetGroupArn }] }))), 'ValidationError');
    const attrs = (await elb.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: nlb.LoadBalancerArn }))).Attributes!;
    assert.equal(attrs.find((x) => x.Key === 'load_balancing.cross_zone.enabled')!.Value, 'false');
    await elb.send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: nlb.LoadBalancerArn, Attributes: [{ Key: 'load_balancing.cross_zone.enabled', Value: 'true' }] }));
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: nlb.LoadBalancerArn }));
  });
});

describe('listeners and rules', () => {
  test('elb-targetgroup behind an HTTP:80 listener; rules by priority; default rule', async () => {
    const lb = await createLb();
    const tg = await createTg();
    const tg2 = await createTg();
    const listener = (await elb.send(new CreateListenerCommand({
      LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTP', Port: 80, DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }],
    }))).Listeners![0]!;
    assert.match(listener.ListenerArn!, /:listener\/app\/[a-z0-9]+\/[0-9a-f]{16}\/[0-9a-f]{16}$/);
    assert.equal(listener.DefaultActions![0]!.ForwardConfig!.TargetGroups![0]!.TargetGroupArn, tg.TargetGroupArn);
    assert.equal(await errorCode(elb.send(new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTP', Port: 80, DefaultActions: [{ Type: 'forward', TargetGroupArn: tg2.TargetGroupArn }] }))), 'DuplicateListener');
    assert.equal(await errorCode(elb.send(new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'TCP', Port: 81, DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }] }))), 'UnsupportedProtocol');
    assert.equal(await errorCode(elb.send(new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTPS', Port: 443, Certificates: [{ CertificateArn: 'arn:aws:acm:ap-northeast-1:000000000000:certificate/x' }], DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }] }))), 'CertificateNotFound');
    // The group now lists its load balancer, and cannot be deleted while used.
    const described = (await elb.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).TargetGroups!;
    assert.deepEqual(described.map((t) => t.TargetGroupArn), [tg.TargetGroupArn]);
    assert.deepEqual(described[0]!.LoadBalancerArns, [lb.LoadBalancerArn]);
    assert.equal(await errorCode(elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn }))), 'ResourceInUse');

    const api = (await elb.send(new CreateRuleCommand({
      ListenerArn: listener.ListenerArn, Priority: 10,
      Conditions: [{ Field: 'path-pattern', Values: ['/api/*'] }],
      Actions: [{ Type: 'forward', TargetGroupArn: tg2.TargetGroupArn }],
    }))).Rules![0]!;
    assert.equal(api.Priority, '10');
    assert.deepEqual(api.Conditions![0]!.PathPatternConfig!.Values, ['/api/*']);
    const fixed = (await elb.send(new CreateRuleCommand({
      ListenerArn: listener.ListenerArn, Priority: 5,
      Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: ['*.example.com'] } }, { Field: 'http-request-method', HttpRequestMethodConfig: { Values: ['GET'] } }],
      Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '418', ContentType: 'text/plain', MessageBody: 'teapot' } }],
    }))).Rules![0]!;
    await elb.send(new CreateRuleCommand({
      ListenerArn: listener.ListenerArn, Priority: 20,
      Conditions: [{ Field: 'query-string', QueryStringConfig: { Values: [{ Key: 'v', Value: '2' }] } }, { Field: 'source-ip', SourceIpConfig: { Values: ['10.0.0.0/8'] } }],
      Actions: [{ Type: 'redirect', RedirectConfig: { StatusCode: 'HTTP_301', Path: '/v2/#{path}' } }],
    }));
    assert.equal(await errorCode(elb.send(new CreateRuleCommand({ ListenerArn: listener.ListenerArn, Priority: 10, Conditions: [{ Field: 'path-pattern', Values: ['/x'] }], Actions: [{ Type: 'forward', TargetGroupArn: tg2.TargetGroupArn }] }))), 'PriorityInUse');
    assert.equal(await errorCode(elb.send(new CreateRuleCommand({ ListenerArn: listener.ListenerArn, Priority: 11, Conditions: [], Actions: [{ Type: 'forward', TargetGroupArn: tg2.TargetGroupArn }] }))), 'ValidationError');
    assert.equal(await errorCode(elb.send(new CreateRuleCommand({ ListenerArn: listener.ListenerArn, Priority: 12, Conditions: [{ Field: 'path-pattern', Values: ['/x'] }], Actions: [{ Type: 'redirect', RedirectConfig: { StatusCode: 'HTTP_301' } }] }))), 'InvalidLoadBalancerAction');

    const rules = (await elb.send(new DescribeRulesCommand({ ListenerArn: listener.ListenerArn }))).Rules!;
    assert.deepEqual(rules.map((r) => r.Priority), ['5', '10', '20', 'default']);
    const def = rules.at(-1)!;
    assert.equal(def.IsDefault, true);
    assert.equal(await errorCode(elb.send(new DeleteRuleCommand({ RuleArn: def.RuleArn }))), 'OperationNotPermitted');
    // The default rule's actions are the listener's.
    await elb.send(new ModifyRuleCommand({ RuleArn: def.RuleArn, Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }] }));
    const l2 = (await elb.send(new DescribeListenersCommand({ ListenerArns: [listener.ListenerArn!] }))).Listeners![0]!;
    assert.equal(l2.DefaultActions![0]!.Type, 'fixed-response');
    await elb.send(new ModifyListenerCommand({ ListenerArn: listener.ListenerArn, DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }] }));

    const swapped = (await elb.send(new SetRulePrioritiesCommand({ RulePriorities: [{ RuleArn: fixed.RuleArn, Priority: 30 }, { RuleArn: api.RuleArn, Priority: 1 }] }))).Rules!;
    assert.deepEqual(swapped.map((r) => r.Priority), ['30', '1']);
    assert.equal(await errorCode(elb.send(new SetRulePrioritiesCommand({ RulePriorities: [{ RuleArn: fixed.RuleArn, Priority: 20 }] }))), 'PriorityInUse');
    const modified = (await elb.send(new ModifyRuleCommand({ RuleArn: api.RuleArn, Conditions: [{ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Env', Values: ['dev'] } }] }))).Rules![0]!;
    assert.equal(modified.Conditions![0]!.HttpHeaderConfig!.HttpHeaderName, 'X-Env');
    await elb.send(new DeleteRuleCommand({ RuleArn: fixed.RuleArn }));
    assert.equal(await errorCode(elb.send(new DescribeRulesCommand({ RuleArns: [fixed.RuleArn!] }))), 'RuleNotFound');

    // A target group serves one load balancer.
    const lb2 = await createLb();
    assert.equal(await errorCode(elb.send(new CreateListenerCommand({ LoadBalancerArn: lb2.LoadBalancerArn, Protocol: 'HTTP', Port: 80, DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }] }))), 'TargetGroupAssociationLimit');

    await elb.send(new DeleteListenerCommand({ ListenerArn: listener.ListenerArn }));
    assert.equal(await errorCode(elb.send(new DescribeListenersCommand({ ListenerArns: [listener.ListenerArn!] }))), 'ListenerNotFound');
    await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn }));
    for (const l of [lb, lb2]) await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: l.LoadBalancerArn }));
  });
});

describe('targets', () => {
  test('register, health states and reasons, deregister with draining, attributes', async () => {
    const ami = await debianImageId(ec2);
    const tg = await createTg({ HealthCheckPath: '/health', HealthCheckIntervalSeconds: 5, HealthCheckTimeoutSeconds: 2, HealthyThresholdCount: 2 });
    const [a, b] = (await ec2.send(new RunInstancesCommand({ ImageId: ami, MinCount: 2, MaxCount: 2, InstanceType: 't2.micro', SubnetId: subnetA }))).Instances!;
    const other = (await ec2.send(new RunInstancesCommand({ ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't2.micro', SubnetId: subnetD }))).Instances![0]!;
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: a!.InstanceId! }, { Id: b!.InstanceId!, Port: 8080 }, { Id: other.InstanceId! }] }));
    assert.equal(await errorCode(elb.send(new RegisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: 'i-0123456789abcdef0' }] }))), 'InvalidTarget');
    const health = async () => (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn }))).TargetHealthDescriptions!;
    // No load balancer uses the group: unused, not in use.
    for (const d of await health()) assert.deepEqual([d.TargetHealth!.State, d.TargetHealth!.Reason], ['unused', 'Target.NotInUse']);
    assert.equal((await health()).find((d) => d.Target!.Id === b!.InstanceId)!.Target!.Port, 8080);

    const lb = await createLb();
    await elb.send(new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTP', Port: 80, DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }] }));
    await waitFor('instances running', async () => (await health()).filter((d) => d.TargetHealth!.State === 'initial').length === 2, 30_000);
    const byId = new Map((await health()).map((d) => [d.Target!.Id, d]));
    assert.equal(byId.get(a!.InstanceId!)!.TargetHealth!.Reason, 'Elb.InitialHealthChecking');
    assert.equal(byId.get(a!.InstanceId!)!.Target!.AvailabilityZone, 'ap-northeast-1a');
    // Zone d is not one the load balancer spans.
    assert.deepEqual([byId.get(other.InstanceId!)!.TargetHealth!.State, byId.get(other.InstanceId!)!.TargetHealth!.Reason], ['unused', 'Target.NotInUse']);
    // Asked by id: an unregistered one is unavailable, not registered.
    const asked = (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: 'i-0123456789abcdef0' }] }))).TargetHealthDescriptions!;
    assert.equal(asked[0]!.TargetHealth!.Reason, 'Target.NotRegistered');

    await elb.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '1' }, { Key: 'stickiness.enabled', Value: 'true' }] }));
    const tgAttrs = (await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn }))).Attributes!;
    assert.equal(tgAttrs.find((x) => x.Key === 'deregistration_delay.timeout_seconds')!.Value, '1');
    assert.equal(tgAttrs.find((x) => x.Key === 'stickiness.type')!.Value, 'lb_cookie');
    assert.equal(await errorCode(elb.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '4000' }] }))), 'ValidationError');

    await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: a!.InstanceId! }] }));
    const draining = (await health()).find((d) => d.Target!.Id === a!.InstanceId)!;
    assert.deepEqual([draining.TargetHealth!.State, draining.TargetHealth!.Reason], ['draining', 'Target.DeregistrationInProgress']);
    await waitFor('drained', async () => !(await health()).some((d) => d.Target!.Id === a!.InstanceId), 5_000);
    assert.equal(await errorCode(elb.send(new DeregisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: a!.InstanceId! }] }))), 'InvalidTarget');

    const modified = (await elb.send(new ModifyTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn, HealthCheckPath: '/ok', Matcher: { HttpCode: '200-299' }, UnhealthyThresholdCount: 3 }))).TargetGroups![0]!;
    assert.equal(modified.HealthCheckPath, '/ok');
    assert.equal(modified.Matcher!.HttpCode, '200-299');
    assert.equal(modified.UnhealthyThresholdCount, 3);
    assert.equal(await errorCode(elb.send(new ModifyTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn, HealthCheckTimeoutSeconds: 10, HealthCheckIntervalSeconds: 5 }))), 'ValidationError');
  });

  test('ip targets must be in the VPC unless their zone is all', async () => {
    const tg = await createTg({ TargetType: 'ip' });
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: '10.0.1.50' }, { Id: '192.168.1.1', AvailabilityZone: 'all' }] }));
    assert.equal(await errorCode(elb.send(new RegisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: '10.1.0.5' }] }))), 'InvalidTarget');
    const health = (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn }))).TargetHealthDescriptions!;
    assert.deepEqual(health.map((d) => d.Target!.AvailabilityZone).sort(), ['all', 'ap-northeast-1c']);
  });
});

describe('tags', () => {
  test('add, describe, remove on load balancers, groups, listeners and rules', async () => {
    const lb = await createLb();
    const tg = await createTg({ Tags: [{ Key: 'team', Value: 'web' }] });
    const arns = [lb.LoadBalancerArn!, tg.TargetGroupArn!];
    await elb.send(new AddTagsCommand({ ResourceArns: arns, Tags: [{ Key: 'env', Value: 'test' }] }));
    const got = (await elb.send(new DescribeTagsCommand({ ResourceArns: arns }))).TagDescriptions!;
    assert.deepEqual(got.map((d) => d.Tags!.map((t) => t.Key).sort()), [['env'], ['env', 'team']]);
    await elb.send(new RemoveTagsCommand({ ResourceArns: [tg.TargetGroupArn!], TagKeys: ['team'] }));
    assert.deepEqual((await elb.send(new DescribeTagsCommand({ ResourceArns: [tg.TargetGroupArn!] }))).TagDescriptions![0]!.Tags, [{ Key: 'env', Value: 'test' }]);
    assert.equal(await errorCode(elb.send(new AddTagsCommand({ ResourceArns: [`${lb.LoadBalancerArn!.slice(0, -16)}0000000000000000`], Tags: [{ Key: 'a', Value: 'b' }] }))), 'LoadBalancerNotFound');
    assert.equal(await errorCode(elb.send(new AddTagsCommand({ ResourceArns: [lb.LoadBalancerArn!], Tags: [{ Key: 'a', Value: 'b' }, { Key: 'a', Value: 'c' }] }))), 'DuplicateTagKeys');
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
  });
});
