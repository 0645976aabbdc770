/**
 * The scenario's first step the way the hands-on guides do it, with the aws CLI and boto3: find
 * the newest Amazon Linux 2023 AMI by name, launch "cms01" with user data from a file, wait with
 * the CLI's own waiters (instance-running, instance-status-ok), read the console, and terminate
 * with boto3's waiter. Needs root (skips otherwise; fails under KUMO_REQUIRE_NATIVE=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startKumoForTest, tempDir, TEST_PUBLIC_IP_POOL, waitFor, type TestKumo } from '../helpers/kumo.js';
import { aws, awsJson, boto3 } from '../helpers/python.js';
import { nativeSkipReason } from './support.js';

const skip = nativeSkipReason();
let kumo: TestKumo;
let dir = '';

before(async () => {
  if (skip) return;
  kumo = await startKumoForTest({ elasticIpPool: TEST_PUBLIC_IP_POOL });
  dir = tempDir('kumo-cli-');
});

after(async () => {
  if (skip) return;
  await kumo.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('aws CLI and boto3: launch, wait, console, terminate', { skip, timeout: 5 * 60_000 }, async () => {
  const ami = (await aws(kumo.url, ['ec2', 'describe-images', '--owners', 'amazon', '--filters', 'Name=name,Values=al2023-ami-2023.*-x86_64',
    '--query', 'sort_by(Images,&CreationDate)[-1].ImageId', '--output', 'text'])).stdout.trim();
  assert.match(ami, /^ami-[0-9a-f]{17}$/);
  const userData = join(dir, 'user-data.sh');
  writeFileSync(userData, '#!/bin/bash\necho "cms01 says hello"\n');
  const run = await awsJson<{ Instances: { InstanceId: string }[] }>(kumo.url, ['ec2', 'run-instances', '--image-id', ami, '--instance-type', 't2.micro',
    '--count', '1', '--user-data', `file://${userData}`, '--tag-specifications', 'ResourceType=instance,Tags=[{Key=Name,Value=cms01}]']);
  const id = run.Instances[0]!.InstanceId;
  for (const waiter of ['instance-running', 'instance-status-ok']) {
    const w = await aws(kumo.url, ['ec2', 'wait', waiter, '--instance-ids', id]);
    assert.equal(w.code, 0, `aws ec2 wait ${waiter}: ${w.stderr}`);
  }
  const name = await aws(kumo.url, ['ec2', 'describe-instances', '--filters', 'Name=tag:Name,Values=cms01', '--query', 'Reservations[].Instances[].State.Name', '--output', 'text']);
  assert.equal(name.stdout.trim(), 'running');
  const text = await waitFor('the console to show user data', async () => {
    const c = await aws(kumo.url, ['ec2', 'get-console-output', '--instance-id', id, '--output', 'text']);
    return c.stdout.includes('cms01 says hello') ? c.stdout : undefined;
  }, 60_000);
  assert.ok(text);
  const state = await boto3<string>(kumo.url, `
import boto3, json
ec2 = boto3.client('ec2')
ec2.terminate_instances(InstanceIds=['${id}'])
ec2.get_waiter('instance_terminated').wait(InstanceIds=['${id}'], WaiterConfig={'Delay': 1, 'MaxAttempts': 60})
print(json.dumps(ec2.describe_instances(InstanceIds=['${id}'])['Reservations'][0]['Instances'][0]['State']['Name']))
`);
  assert.equal(state, 'terminated');
});
