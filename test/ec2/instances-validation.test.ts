/**
 * RunInstances and friends refuse bad input with AWS's codes and launch nothing. None of these
 * requests gets as far as booting, so they run on any host.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, DescribeInstancesCommand, RunInstancesCommand,
  StopInstancesCommand, TerminateInstancesCommand, type EC2Client,
} from '@aws-sdk/client-ec2';
import { errorCode } from '../helpers/kumo.js';
import { debianImageId, ec2Fixture, type Ec2Fixture } from '../helpers/ec2.js';

let f: Ec2Fixture;
let ec2: EC2Client;
let ami = '';
let subnetId = '';
let otherVpcGroup = '';

before(async () => {
  f = await ec2Fixture();
  ec2 = f.ec2;
  ami = await debianImageId(ec2);
  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }))).Vpc!.VpcId!;
  // A /28 has 16 addresses, 11 usable once AWS's 5 are reserved.
  subnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.40.1.0/28' }))).Subnet!.SubnetId!;
  const other = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.41.0.0/16' }))).Vpc!.VpcId!;
  otherVpcGroup = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: other, GroupName: 'elsewhere', Description: 'x' }))).GroupId!;
});

after(() => f.stop());

const run = (extra: Record<string, unknown>) =>
  ec2.send(new RunInstancesCommand({ ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', SubnetId: subnetId, ...extra }));

describe('RunInstances refuses', () => {
  test('an unknown or malformed image', async () => {
    assert.equal(await errorCode(run({ ImageId: 'ami-0123456789abcdef0' })), 'InvalidAMIID.NotFound');
    assert.equal(await errorCode(run({ ImageId: 'ami-nothex' })), 'InvalidAMIID.Malformed');
  });

  test('an unknown instance type, and one whose architecture the image cannot run', async () => {
    assert.equal(await errorCode(run({ InstanceType: 't9.enormous' })), 'InvalidParameterValue');
    assert.equal(await errorCode(run({ InstanceType: 't4g.micro' })), 'InvalidParameterValue');
  });

  test('an unknown subnet, a group of another VPC, an unknown key pair', async () => {
    assert.equal(await errorCode(run({ SubnetId: 'subnet-0123456789abcdef0' })), 'InvalidSubnetID.NotFound');
    assert.equal(await errorCode(run({ SecurityGroupIds: ['sg-0123456789abcdef0'] })), 'InvalidGroup.NotFound');
    assert.equal(await errorCode(run({ SecurityGroupIds: [otherVpcGroup] })), 'InvalidParameter');
    assert.equal(await errorCode(run({ KeyName: 'no-such-key' })), 'InvalidKeyPair.NotFound');
  });

  test('user data over 16 KiB, and user data that is not base64', async () => {
    const big = Buffer.alloc(16 * 1024 + 1, 'a').toString('base64');
    assert.equal(await errorCode(run({ UserData: big })), 'InvalidParameterValue');
    assert.equal(await errorCode(run({ UserData: 'not base64!' })), 'InvalidUserData.Malformed');
  });

  test('a private IP outside the subnet or reserved, and counts that make no sense', async () => {
    assert.equal(await errorCode(run({ PrivateIpAddress: '10.40.2.9' })), 'InvalidParameterValue');
    assert.equal(await errorCode(run({ PrivateIpAddress: '10.40.1.1' })), 'InvalidParameterValue');
    assert.equal(await errorCode(run({ MinCount: 3, MaxCount: 2 })), 'InvalidParameterValue');
    assert.equal(await errorCode(run({ MinCount: 2, MaxCount: 2, PrivateIpAddress: '10.40.1.9' })), 'InvalidParameterCombination');
  });

  test('more instances than the subnet has free addresses', async () => {
    assert.equal(await errorCode(run({ MinCount: 12, MaxCount: 12 })), 'InsufficientFreeAddressesInSubnet');
  });

  test('a root volume smaller than the image', async () => {
    assert.equal(await errorCode(run({ BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 1 } }] })), 'InvalidBlockDeviceMapping');
  });

  test('DryRun checks and launches nothing', async () => {
    assert.equal(await errorCode(run({ DryRun: true })), 'DryRunOperation');
  });

  test('after all of it, no instance exists', async () => {
    const out = await ec2.send(new DescribeInstancesCommand({}));
    assert.deepEqual(out.Reservations, []);
  });
});

describe('lifecycle calls refuse', () => {
  test('unknown and malformed instance IDs, naming the missing ones', async () => {
    assert.equal(await errorCode(ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] }))), 'InvalidInstanceID.NotFound');
    assert.equal(await errorCode(ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-xyz'] }))), 'InvalidInstanceID.Malformed');
    assert.equal(await errorCode(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] }))), 'InvalidInstanceID.NotFound');
  });
});
