// Query-family requests built by the RDS, ELBv2 and STS clients' own serializers, decoded by
// kumo's QueryCodec; and outputs encoded by kumo, parsed by the same clients' deserializers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CreateListenerCommand,
  CreateTargetGroupCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
  ModifyTargetGroupAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  CreateDBInstanceCommand,
  CreateDBSubnetGroupCommand,
  DescribeDBSubnetGroupsCommand,
  DescribeEventsCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { loadModel } from '../../src/models/loader.js';
import type { Operation } from '../../src/models/shapes.js';
import { AwsError } from '../../src/protocol/errors.js';
import { QueryCodec } from '../../src/protocol/query.js';
import { mirror, plain } from './sdk-wire.js';

const rds = new QueryCodec(loadModel('rds-2014-10-31'));
const elbv2 = new QueryCodec(loadModel('elasticloadbalancingv2-2015-12-01'));
const sts = new QueryCodec(loadModel('sts-2011-06-15'));

type Answer = (op: Operation, input: Record<string, unknown>) => Record<string, unknown> | undefined;
type Client = { send(c: unknown): Promise<unknown>; destroy(): void };

async function through<C extends Client>(make: (config: object) => C, codec: QueryCodec, command: unknown, answer?: Answer) {
  const m = mirror(codec, answer);
  const client = make(m.config);
  try {
    const output = await client.send(command);
    return { decoded: m.last().decoded, output, body: String(m.last().request.body) };
  } finally {
    client.destroy();
  }
}
const viaRds = (command: unknown, answer?: Answer) => through((c) => new RDSClient(c), rds, command, answer);
const viaElb = (command: unknown, answer?: Answer) => through((c) => new ElasticLoadBalancingV2Client(c), elbv2, command, answer);

describe('query requests from the SDK serializer', () => {
  test('RDS CreateDBSubnetGroup: SubnetIds and Tags use their member names', async () => {
    const input = {
      DBSubnetGroupName: 'my-group',
      DBSubnetGroupDescription: 'two zones, "quoted" & <angled>',
      SubnetIds: ['subnet-1', 'subnet-2', 'subnet-3'],
      Tags: [{ Key: 'env', Value: 'test' }, { Key: 'Name', Value: 'sg ü' }],
    };
    const { decoded, body } = await viaRds(new CreateDBSubnetGroupCommand(input));
    assert.match(body, /SubnetIds\.SubnetIdentifier\.3=subnet-3/);
    assert.equal(decoded.operation.name, 'CreateDBSubnetGroup');
    assert.deepEqual(decoded.input, input);
  });

  test('RDS CreateDBInstance: integers, booleans and lists of several kinds', async () => {
    const input = {
      DBInstanceIdentifier: 'db1',
      DBInstanceClass: 'db.t3.micro',
      Engine: 'postgres',
      AllocatedStorage: 20,
      MultiAZ: true,
      PubliclyAccessible: false,
      Port: 5432,
      MasterUsername: 'admin',
      MasterUserPassword: 'p@ss=w&rd+/',
      VpcSecurityGroupIds: ['sg-1', 'sg-2'],
      EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
      ProcessorFeatures: [{ Name: 'coreCount', Value: '2' }],
      Tags: [{ Key: 'a', Value: 'b' }],
    };
    assert.deepEqual((await viaRds(new CreateDBInstanceCommand(input))).decoded.input, input);
  });

  test('RDS DescribeEvents: timestamps', async () => {
    const input = { StartTime: new Date('2024-01-01T00:00:00.000Z'), EndTime: new Date('2024-01-02T12:30:00.000Z'), Duration: 60 };
    assert.deepEqual((await viaRds(new DescribeEventsCommand(input))).decoded.input, input);
  });

  test('ELBv2 CreateTargetGroup: Matcher structure and Tags', async () => {
    const input = {
      Name: 'web-tg',
      Protocol: 'HTTP' as const,
      Port: 80,
      VpcId: 'vpc-1',
      HealthCheckEnabled: true,
      HealthCheckPath: '/health?x=1&y=2',
      HealthCheckIntervalSeconds: 10,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 3,
      Matcher: { HttpCode: '200-299' },
      TargetType: 'instance' as const,
      Tags: [{ Key: 'Name', Value: 'web' }, { Key: 'team', Value: 'a' }],
    };
    const { decoded, body } = await viaElb(new CreateTargetGroupCommand(input));
    assert.match(body, /Tags\.member\.2\.Key=team/);
    assert.deepEqual(decoded.input, input);
  });

  test('ELBv2 DescribeTargetGroups: Names list, and an empty list sent as `Names=`', async () => {
    const names = await viaElb(new DescribeTargetGroupsCommand({ Names: ['a', 'b', 'c'], PageSize: 2 }));
    assert.deepEqual(names.decoded.input, { Names: ['a', 'b', 'c'], PageSize: 2 });
    const empty = await viaElb(new DescribeTargetGroupsCommand({ Names: [] }));
    assert.deepEqual(empty.decoded.input, { Names: [] });
  });

  test('ELBv2 CreateListener: actions nested three deep', async () => {
    const input = {
      LoadBalancerArn: 'arn:aws:elasticloadbalancing:ap-northeast-1:000000000000:loadbalancer/app/lb/1',
      Protocol: 'HTTP' as const,
      Port: 80,
      DefaultActions: [
        {
          Type: 'forward' as const,
          Order: 1,
          ForwardConfig: {
            TargetGroups: [{ TargetGroupArn: 'tg-1', Weight: 3 }, { TargetGroupArn: 'tg-2', Weight: 1 }],
            TargetGroupStickinessConfig: { Enabled: false, DurationSeconds: 60 },
          },
        },
      ],
    };
    assert.deepEqual((await viaElb(new CreateListenerCommand(input))).decoded.input, input);
  });

  test('ELBv2 ModifyTargetGroupAttributes: key/value lists', async () => {
    const input = { TargetGroupArn: 'tg-1', Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }, { Key: 'stickiness.enabled', Value: 'true' }] };
    assert.deepEqual((await viaElb(new ModifyTargetGroupAttributesCommand(input))).decoded.input, input);
  });

  test('a map decodes from `Name.entry.N.key/value` (SNS CreateTopic attributes, as documented)', async () => {
    const sns = new QueryCodec(loadModel('sns-2010-03-31'));
    const body = 'Action=CreateTopic&Version=2010-03-31&Name=t&Attributes.entry.1.key=DisplayName&Attributes.entry.1.value=Hi%20there&Attributes.entry.2.key=FifoTopic&Attributes.entry.2.value=false';
    const d = await sns.decode({ method: 'POST', rawPath: '/', query: [], headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(body) });
    assert.deepEqual(d.input, { Name: 't', Attributes: { DisplayName: 'Hi there', FifoTopic: 'false' } });
  });
});

describe('query responses parsed by the SDK deserializer', () => {
  test('ELBv2 DescribeTargetGroups output with lists, integers, booleans and a structure', async () => {
    const output = {
      TargetGroups: [
        {
          TargetGroupArn: 'arn:aws:elasticloadbalancing:ap-northeast-1:000000000000:targetgroup/web/1',
          TargetGroupName: 'web',
          Protocol: 'HTTP',
          Port: 80,
          VpcId: 'vpc-1',
          HealthCheckEnabled: true,
          HealthCheckIntervalSeconds: 30,
          HealthCheckPath: '/a?b=c&d=<e>',
          Matcher: { HttpCode: '200' },
          LoadBalancerArns: ['lb-1', 'lb-2'],
          TargetType: 'instance',
        },
        { TargetGroupArn: 'tg-2', TargetGroupName: 'empty', LoadBalancerArns: [] },
      ],
      NextMarker: 'm/+=',
    };
    const { output: got } = await viaElb(new DescribeTargetGroupsCommand({}), () => output);
    assert.deepEqual(plain(got), plain(output));
  });

  test('RDS DescribeDBSubnetGroups output: lists named by the model (DBSubnetGroup, Subnet)', async () => {
    const output = {
      DBSubnetGroups: [
        {
          DBSubnetGroupName: 'g',
          DBSubnetGroupDescription: 'd',
          VpcId: 'vpc-1',
          SubnetGroupStatus: 'Complete',
          Subnets: [
            { SubnetIdentifier: 'subnet-1', SubnetAvailabilityZone: { Name: 'ap-northeast-1a' }, SubnetStatus: 'Active' },
            { SubnetIdentifier: 'subnet-2', SubnetAvailabilityZone: { Name: 'ap-northeast-1c' }, SubnetStatus: 'Active' },
          ],
          DBSubnetGroupArn: 'arn:aws:rds:ap-northeast-1:000000000000:subgrp:g',
          SupportedNetworkTypes: ['IPV4'],
        },
      ],
    };
    const { output: got } = await viaRds(new DescribeDBSubnetGroupsCommand({}), () => output);
    assert.deepEqual(plain(got), plain(output));
  });

  test('STS GetCallerIdentity output', async () => {
    const output = { UserId: 'AIDA', Account: '000000000000', Arn: 'arn:aws:iam::000000000000:root' };
    const got = await through((c) => new STSClient(c), sts, new GetCallerIdentityCommand({}), () => output);
    assert.deepEqual(plain(got.output), output);
  });

  test('errors: code, message, status and sender/receiver fault reach the SDK', async () => {
    const fail = (e: AwsError) => () => {
      throw e;
    };
    await assert.rejects(viaRds(new DescribeDBSubnetGroupsCommand({}), fail(new AwsError('DBSubnetGroupNotFoundFault', 'DBSubnetGroup x not found.', 404))), (e: Error & { $metadata: { httpStatusCode: number }; $fault: string }) => {
      assert.equal(e.name, 'DBSubnetGroupNotFoundFault');
      assert.equal(e.message, 'DBSubnetGroup x not found.');
      assert.equal(e.$metadata.httpStatusCode, 404);
      assert.equal(e.$fault, 'client');
      return true;
    });
    await assert.rejects(viaElb(new DescribeTargetGroupsCommand({}), fail(new AwsError('InternalFailure', 'boom <&>', 500))), (e: Error & { $metadata: { httpStatusCode: number }; $fault: string }) => {
      assert.equal(e.name, 'InternalFailure');
      assert.equal(e.message, 'boom <&>');
      assert.equal(e.$metadata.httpStatusCode, 500);
      assert.equal(e.$fault, 'server');
      return true;
    });
  });
});
