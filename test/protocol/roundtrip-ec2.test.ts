// EC2 requests built by @aws-sdk/client-ec2's own serializer, decoded by kumo's Ec2Codec; and
// outputs encoded by kumo, parsed by the same client's deserializer.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  DescribeSpotPriceHistoryCommand,
  DescribeSubnetsCommand,
  EC2Client,
  ImportKeyPairCommand,
  ModifyInstanceAttributeCommand,
  RunInstancesCommand,
  type DescribeInstancesCommandOutput,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { loadModel } from '../../src/models/loader.js';
import { AwsError } from '../../src/protocol/errors.js';
import { Ec2Codec } from '../../src/protocol/query.js';
import { mirror, plain } from './sdk-wire.js';

const codec = new Ec2Codec(loadModel('ec2-2016-11-15'));

/** Sends `command` through the client and returns what kumo decoded from the wire. */
async function decoded(command: object) {
  const m = mirror(codec);
  const client = new EC2Client(m.config);
  try {
    await (client.send as (c: object) => Promise<unknown>)(command);
  } finally {
    client.destroy();
  }
  return m.last().decoded;
}

describe('ec2 requests from the SDK serializer', () => {
  test('CreateVpc with TagSpecifications', async () => {
    const input = {
      CidrBlock: '10.1.0.0/16',
      InstanceTenancy: 'default' as const,
      TagSpecifications: [
        { ResourceType: 'vpc' as const, Tags: [{ Key: 'Name', Value: 'a b&c=d' }, { Key: 'empty', Value: '' }] },
      ],
    };
    const d = await decoded(new CreateVpcCommand(input));
    assert.equal(d.operation.name, 'CreateVpc');
    assert.deepEqual(d.input, input);
  });

  test('DescribeSubnets with several filters of several values', async () => {
    const input = {
      Filters: [
        { Name: 'vpc-id', Values: ['vpc-1', 'vpc-2', 'vpc-3'] },
        { Name: 'tag:Name', Values: ['web-*', 'db ?', 'ünïcödé/%+'] },
      ],
      SubnetIds: ['subnet-1', 'subnet-2'],
      MaxResults: 5,
      NextToken: 'tok/en+==',
    };
    assert.deepEqual((await decoded(new DescribeSubnetsCommand(input))).input, input);
  });

  test('CreateTags with several resources and tags', async () => {
    const input = {
      Resources: ['vpc-1', 'subnet-2', 'i-3'],
      Tags: [
        { Key: 'Name', Value: 'x' },
        { Key: 'team', Value: 'platform' },
        { Key: 'cost:center', Value: '12.5%' },
      ],
    };
    assert.deepEqual((await decoded(new CreateTagsCommand(input))).input, input);
  });

  test('RunInstances with nested block devices, network interfaces, booleans, integers and user data', async () => {
    const input: RunInstancesCommandInput = {
      ImageId: 'ami-12345678',
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 3,
      KeyName: 'k',
      UserData: Buffer.from('#!/bin/sh\necho "hi" > /tmp/x\n').toString('base64'),
      DisableApiTermination: false,
      EbsOptimized: true,
      ClientToken: 'token-1',
      BlockDeviceMappings: [
        { DeviceName: '/dev/xvda', Ebs: { VolumeSize: 30, VolumeType: 'gp3', DeleteOnTermination: true, Encrypted: false, Iops: 3000 } },
        { DeviceName: '/dev/sdb', VirtualName: 'ephemeral0' },
        { DeviceName: '/dev/sdc', NoDevice: '' },
      ],
      NetworkInterfaces: [
        { DeviceIndex: 0, SubnetId: 'subnet-1', AssociatePublicIpAddress: true, Groups: ['sg-1', 'sg-2'], PrivateIpAddresses: [{ PrivateIpAddress: '10.0.0.5', Primary: true }] },
      ],
      Placement: { AvailabilityZone: 'ap-northeast-1a', Tenancy: 'default' },
      Monitoring: { Enabled: false },
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 },
      InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { ValidUntil: new Date('2030-01-02T03:04:05.678Z'), BlockDurationMinutes: 60 } },
      TagSpecifications: [
        { ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'web' }] },
        { ResourceType: 'volume', Tags: [{ Key: 'Name', Value: 'web-root' }] },
      ],
    };
    const d = await decoded(new RunInstancesCommand(input));
    assert.deepEqual(plain(d.input), plain(input));
  });

  test('AuthorizeSecurityGroupIngress: lists nested in lists keep their query names', async () => {
    const input = {
      GroupId: 'sg-1',
      IpPermissions: [
        {
          IpProtocol: 'tcp',
          FromPort: 22,
          ToPort: 22,
          IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'ssh from vpc' }, { CidrIp: '192.168.0.0/16' }],
          Ipv6Ranges: [{ CidrIpv6: '::/0' }],
          UserIdGroupPairs: [{ GroupId: 'sg-2', UserId: '000000000000' }],
          PrefixListIds: [{ PrefixListId: 'pl-1' }],
        },
        { IpProtocol: '-1', FromPort: -1, ToPort: -1 },
      ],
    };
    assert.deepEqual((await decoded(new AuthorizeSecurityGroupIngressCommand(input))).input, input);
  });

  test('a blob member arrives as the bytes the caller gave', async () => {
    const key = Buffer.from('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI+/= user@host\n');
    const d = await decoded(new ImportKeyPairCommand({ KeyName: 'k', PublicKeyMaterial: key }));
    assert.ok(Buffer.isBuffer(d.input.PublicKeyMaterial));
    assert.deepEqual(d.input.PublicKeyMaterial, key);
  });

  test('timestamps and structures of one boolean', async () => {
    const start = new Date('2024-02-29T23:59:59.000Z');
    const d = await decoded(new DescribeSpotPriceHistoryCommand({ StartTime: start, InstanceTypes: ['t3.micro', 'm5.large'] }));
    assert.deepEqual(d.input, { StartTime: start, InstanceTypes: ['t3.micro', 'm5.large'] });
    const m = await decoded(new ModifyInstanceAttributeCommand({ InstanceId: 'i-1', SourceDestCheck: { Value: false }, Groups: ['sg-1'] }));
    assert.deepEqual(m.input, { InstanceId: 'i-1', SourceDestCheck: { Value: false }, Groups: ['sg-1'] });
  });

  test('an empty list is sent as nothing and decodes as absent', async () => {
    const d = await decoded(new DescribeSubnetsCommand({ SubnetIds: [], Filters: [] }));
    assert.deepEqual(d.input, {});
  });
});

describe('ec2 responses parsed by the SDK deserializer', () => {
  test('DescribeInstances: nested lists, booleans, integers, timestamps and escaping survive', async () => {
    const output = {
      Reservations: [
        {
          ReservationId: 'r-1',
          OwnerId: '000000000000',
          Groups: [{ GroupId: 'sg-1', GroupName: 'web <&> "quoted"' }],
          Instances: [
            {
              InstanceId: 'i-1',
              ImageId: 'ami-1',
              State: { Code: 16, Name: 'running' },
              LaunchTime: new Date('2024-05-06T07:08:09.000Z'),
              AmiLaunchIndex: 0,
              EbsOptimized: false,
              SourceDestCheck: true,
              Placement: { AvailabilityZone: 'ap-northeast-1a', Tenancy: 'default' },
              BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeId: 'vol-1', Status: 'attached', DeleteOnTermination: true, AttachTime: new Date('2024-05-06T07:08:10.000Z') } }],
              SecurityGroups: [{ GroupId: 'sg-1', GroupName: 'web' }],
              Tags: [{ Key: 'Name', Value: 'line1\r\nline2 ünï' }],
              NetworkInterfaces: [{ NetworkInterfaceId: 'eni-1', PrivateIpAddresses: [{ PrivateIpAddress: '10.0.0.5', Primary: true }], Groups: [] }],
            },
          ],
        },
      ],
    };
    const m = mirror(codec, () => output);
    const client = new EC2Client(m.config);
    const got: DescribeInstancesCommandOutput = await client.send(new DescribeInstancesCommand({}));
    client.destroy();
    assert.deepEqual(plain(got), plain(output));
  });

  test('an AwsError becomes an EC2 error the SDK throws with its code, message and status', async () => {
    const m = mirror(codec, () => {
      throw new AwsError('InvalidVpcID.NotFound', "The vpc ID 'vpc-1' does not exist", 400);
    });
    const client = new EC2Client(m.config);
    await assert.rejects(client.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' })), (e: Error & { $metadata: { httpStatusCode: number }; $fault: string }) => {
      assert.equal(e.name, 'InvalidVpcID.NotFound');
      assert.equal(e.message, "The vpc ID 'vpc-1' does not exist");
      assert.equal(e.$metadata.httpStatusCode, 400);
      assert.equal(e.$fault, 'client');
      return true;
    });
    client.destroy();
  });
});
