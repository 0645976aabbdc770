// ELBv2 target groups through @aws-sdk/client-elastic-load-balancing-v2 against a real kumo.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateTargetGroupCommand,
  DeleteTargetGroupCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
  paginateDescribeTargetGroups,
  type CreateTargetGroupCommandInput,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { clientConfig, startKumoForTest, uniqueName, type TestKumo, errorCode } from '../helpers/kumo.js';

let kumo: TestKumo;
let ec2: EC2Client;
let elb: ElasticLoadBalancingV2Client;
let vpcId: string;

before(async () => {
  kumo = await startKumoForTest();
  ec2 = new EC2Client(clientConfig(kumo.url));
  elb = new ElasticLoadBalancingV2Client(clientConfig(kumo.url));
  vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
});
after(async () => {
  ec2.destroy();
  elb.destroy();
  await kumo.stop();
});

const code = errorCode;

const ARN = /^arn:aws:elasticloadbalancing:ap-northeast-1:000000000000:targetgroup\/([A-Za-z0-9-]+)\/([0-9a-f]{16})$/;
/** Target group names are at most 32 characters; uniqueName's are longer. */
const tgName = (prefix: string) => uniqueName(prefix).replace(/[^a-z0-9]/g, '').slice(-32);

describe('target groups', () => {
  test('elb-targetgroup: create with AWS defaults, describe, delete', async () => {
    const input: CreateTargetGroupCommandInput = {
      Name: 'elb-targetgroup',
      Protocol: 'HTTP',
      Port: 80,
      VpcId: vpcId,
      TargetType: 'instance',
      HealthCheckPath: '/wp-includes/images/blank.gif',
    };
    const { TargetGroups } = await elb.send(new CreateTargetGroupCommand(input));
    assert.equal(TargetGroups!.length, 1);
    const tg = TargetGroups![0];
    const m = ARN.exec(tg.TargetGroupArn!);
    assert.ok(m, tg.TargetGroupArn);
    assert.equal(m[1], 'elb-targetgroup');
    assert.equal(tg.TargetGroupName, 'elb-targetgroup');
    assert.equal(tg.Protocol, 'HTTP');
    assert.equal(tg.ProtocolVersion, 'HTTP1');
    assert.equal(tg.Port, 80);
    assert.equal(tg.VpcId, vpcId);
    assert.equal(tg.TargetType, 'instance');
    assert.equal(tg.IpAddressType, 'ipv4');
    assert.equal(tg.HealthCheckProtocol, 'HTTP');
    assert.equal(tg.HealthCheckPort, 'traffic-port');
    assert.equal(tg.HealthCheckEnabled, true);
    assert.equal(tg.HealthCheckPath, '/wp-includes/images/blank.gif');
    assert.equal(tg.HealthCheckIntervalSeconds, 30);
    assert.equal(tg.HealthCheckTimeoutSeconds, 5);
    assert.equal(tg.HealthyThresholdCount, 5);
    assert.equal(tg.UnhealthyThresholdCount, 2);
    assert.deepEqual(tg.Matcher, { HttpCode: '200' });
    assert.deepEqual(tg.LoadBalancerArns, []);

    // The same request again is not an error: it returns the same group.
    const again = await elb.send(new CreateTargetGroupCommand(input));
    assert.equal(again.TargetGroups![0].TargetGroupArn, tg.TargetGroupArn);
    // Spelling out the defaults is still the same settings.
    const explicit = await elb.send(new CreateTargetGroupCommand({ ...input, HealthCheckIntervalSeconds: 30, HealthCheckProtocol: 'HTTP', Matcher: { HttpCode: '200' } }));
    assert.equal(explicit.TargetGroups![0].TargetGroupArn, tg.TargetGroupArn);
    assert.equal(await code(elb.send(new CreateTargetGroupCommand({ ...input, Port: 8080 }))), 'DuplicateTargetGroupNameException');
    assert.equal(await code(elb.send(new CreateTargetGroupCommand({ ...input, HealthCheckPath: '/' }))), 'DuplicateTargetGroupNameException');

    const byName = await elb.send(new DescribeTargetGroupsCommand({ Names: ['elb-targetgroup'] }));
    assert.deepEqual(byName.TargetGroups, [tg]);
    const byArn = await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [tg.TargetGroupArn!] }));
    assert.deepEqual(byArn.TargetGroups, [tg]);

    await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn }));
    assert.equal(await code(elb.send(new DescribeTargetGroupsCommand({ Names: ['elb-targetgroup'] }))), 'TargetGroupNotFoundException');
    assert.equal(await code(elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [tg.TargetGroupArn!] }))), 'TargetGroupNotFoundException');
    // Deleting what is already gone succeeds, as on AWS.
    await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn }));
  });

  test('per-protocol defaults: TCP health checks have no path or matcher', async () => {
    const name = tgName('tcp');
    const { TargetGroups } = await elb.send(new CreateTargetGroupCommand({ Name: name, Protocol: 'TCP', Port: 3306, VpcId: vpcId }));
    const tg = TargetGroups![0];
    assert.equal(tg.HealthCheckProtocol, 'TCP');
    assert.equal(tg.HealthCheckTimeoutSeconds, 10);
    assert.equal(tg.HealthCheckPath, undefined);
    assert.equal(tg.Matcher, undefined);
    assert.equal(tg.ProtocolVersion, undefined);
    const lambda = (await elb.send(new CreateTargetGroupCommand({ Name: tgName('fn'), TargetType: 'lambda' }))).TargetGroups![0];
    assert.deepEqual(
      [lambda.Protocol, lambda.Port, lambda.VpcId, lambda.HealthCheckEnabled, lambda.HealthCheckIntervalSeconds, lambda.HealthCheckTimeoutSeconds],
      [undefined, undefined, undefined, false, 35, 30],
    );
    assert.equal(await code(elb.send(new CreateTargetGroupCommand({ Name: tgName('fn'), TargetType: 'lambda', Port: 80 }))), 'ValidationError');
    const custom = await elb.send(
      new CreateTargetGroupCommand({
        Name: tgName('custom'),
        Protocol: 'HTTP',
        Port: 8080,
        VpcId: vpcId,
        TargetType: 'ip',
        HealthCheckIntervalSeconds: 10,
        HealthCheckTimeoutSeconds: 3,
        HealthyThresholdCount: 3,
        UnhealthyThresholdCount: 4,
        HealthCheckPort: '8081',
        Matcher: { HttpCode: '200-299' },
      }),
    );
    const c = custom.TargetGroups![0];
    assert.deepEqual(
      [c.TargetType, c.HealthCheckIntervalSeconds, c.HealthCheckTimeoutSeconds, c.HealthyThresholdCount, c.UnhealthyThresholdCount, c.HealthCheckPort, c.Matcher?.HttpCode],
      ['ip', 10, 3, 3, 4, '8081', '200-299'],
    );
  });

  test('validation: names, protocol, port, VPC, health-check ranges', async () => {
    const base = { Protocol: 'HTTP' as const, Port: 80, VpcId: vpcId };
    for (const Name of ['-leading', 'trailing-', 'under_score', 'dot.ted', 'x'.repeat(33), '']) {
      assert.equal(await code(elb.send(new CreateTargetGroupCommand({ ...base, Name }))), 'ValidationError', `name '${Name}'`);
    }
    const ok = tgName('ok');
    assert.equal(await code(elb.send(new CreateTargetGroupCommand({ ...base, Name: 'A'.repeat(32) }))), 'no error');
    await assert.rejects(elb.send(new CreateTargetGroupCommand({ ...base, Name: ok, VpcId: 'vpc-0123456789abcdef0' })), {
      name: 'ValidationError',
      message: "The VPC ID 'vpc-0123456789abcdef0' is not found",
    });
    assert.equal(await code(elb.send(new CreateTargetGroupCommand({ Name: ok, Protocol: 'HTTP', Port: 80 }))), 'ValidationError');
    assert.equal(await code(elb.send(new CreateTargetGroupCommand({ Name: ok, Port: 80, VpcId: vpcId }))), 'ValidationError');
    assert.equal(await code(elb.send(new CreateTargetGroupCommand({ ...base, Name: ok, Port: 0 }))), 'ValidationError');
    assert.equal(await code(elb.send(new CreateTargetGroupCommand({ ...base, Name: ok, Port: 65536 }))), 'ValidationError');
    assert.equal(await code(elb.send(new CreateTargetGroupCommand({ ...base, Name: ok, HealthyThresholdCount: 11 }))), 'ValidationError');
    assert.equal(await code(elb.send(new CreateTargetGroupCommand({ ...base, Name: ok, HealthCheckIntervalSeconds: 4 }))), 'ValidationError');
    assert.equal(
      await code(elb.send(new CreateTargetGroupCommand({ ...base, Name: ok, HealthCheckIntervalSeconds: 10, HealthCheckTimeoutSeconds: 10 }))),
      'ValidationError',
    );
    assert.equal(await code(elb.send(new CreateTargetGroupCommand({ ...base, Name: ok, TargetType: 'computer' as 'ip' }))), 'ValidationError');
    assert.equal(
      await code(elb.send(new CreateTargetGroupCommand({ Name: ok, Protocol: 'TCP', Port: 80, VpcId: vpcId, HealthCheckPath: '/' }))),
      'ValidationError',
    );
    assert.equal(await code(elb.send(new CreateTargetGroupCommand({ ...base, Name: ok, HealthCheckPath: 'no-slash' }))), 'ValidationError');
    assert.equal(await code(elb.send(new DescribeTargetGroupsCommand({ Names: [ok] }))), 'TargetGroupNotFoundException', 'nothing was created');
    assert.equal(await code(elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: 'not-an-arn' }))), 'ValidationError');
    assert.equal(await code(elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: ['not-an-arn'] }))), 'ValidationError');
  });

  test('describe: by names and ARNs, one missing fails all, paging with PageSize and Marker', async () => {
    const created: string[] = [];
    const names: string[] = [];
    for (let i = 0; i < 7; i++) {
      const Name = tgName(`page${i}`);
      names.push(Name);
      const { TargetGroups } = await elb.send(new CreateTargetGroupCommand({ Name, Protocol: 'HTTP', Port: 80 + i, VpcId: vpcId }));
      created.push(TargetGroups![0].TargetGroupArn!);
    }
    const two = await elb.send(new DescribeTargetGroupsCommand({ Names: [names[3], names[5]] }));
    assert.deepEqual(two.TargetGroups!.map((t) => t.TargetGroupName).sort(), [names[3], names[5]].sort());
    assert.equal(await code(elb.send(new DescribeTargetGroupsCommand({ Names: [names[0], 'nope'] }))), 'TargetGroupNotFoundException');
    const missingArn = created[0].replace(/[0-9a-f]{16}$/, '0000000000000000');
    assert.equal(await code(elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [created[1], missingArn] }))), 'TargetGroupNotFoundException');

    const seen: string[] = [];
    let pages = 0;
    // The SDK's paginator has no page-size key for this operation, so PageSize goes in the input.
    for await (const page of paginateDescribeTargetGroups({ client: elb }, { PageSize: 3 })) {
      pages++;
      assert.ok(page.TargetGroups!.length <= 3);
      seen.push(...page.TargetGroups!.map((t) => t.TargetGroupArn!));
    }
    assert.equal(new Set(seen).size, seen.length, 'no group twice');
    for (const arn of created) assert.ok(seen.includes(arn));
    assert.equal(pages, Math.ceil(seen.length / 3));

    const first = await elb.send(new DescribeTargetGroupsCommand({ PageSize: 2 }));
    assert.ok(first.NextMarker);
    const second = await elb.send(new DescribeTargetGroupsCommand({ PageSize: 2, Marker: first.NextMarker }));
    assert.notDeepEqual(second.TargetGroups![0], first.TargetGroups![0]);
    const noSuchLb = 'arn:aws:elasticloadbalancing:ap-northeast-1:000000000000:loadbalancer/app/none/0123456789abcdef';
    assert.equal(await code(elb.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: noSuchLb }))), 'LoadBalancerNotFoundException');
    assert.equal(await code(elb.send(new DescribeTargetGroupsCommand({ PageSize: 0 }))), 'ValidationError');
    assert.equal(await code(elb.send(new DescribeTargetGroupsCommand({ PageSize: 401 }))), 'ValidationError');
    assert.equal(await code(elb.send(new DescribeTargetGroupsCommand({ Marker: 'bogus' }))), 'ValidationError');

    for (const arn of created) await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn }));
    const left = await elb.send(new DescribeTargetGroupsCommand({}));
    assert.ok(!left.TargetGroups!.some((t) => created.includes(t.TargetGroupArn!)));
  });

  test('target groups are per region', async () => {
    const Name = tgName('regional');
    await elb.send(new CreateTargetGroupCommand({ Name, Protocol: 'HTTP', Port: 80, VpcId: vpcId }));
    const osaka = new ElasticLoadBalancingV2Client(clientConfig(kumo.url, { region: 'ap-northeast-3' }));
    try {
      assert.equal(await code(osaka.send(new DescribeTargetGroupsCommand({ Names: [Name] }))), 'TargetGroupNotFoundException');
    } finally {
      osaka.destroy();
    }
  });
});
