/**
 * The fallback: where the native driver cannot run (forced here with runtime 'process', as
 * KUMO_RUNTIME=process does), kumo still starts, says so in /_kumo/health, and instances run
 * their user data as supervised host processes: launch, console output, stop, start (no second
 * run), terminate. Runs on any host.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RunInstancesCommand, StartInstancesCommand, StopInstancesCommand, TerminateInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { waitFor } from '../helpers/kumo.js';
import { consoleText, debianImageId, ec2Fixture, occurrences, waitForState, type Ec2Fixture } from '../helpers/ec2.js';

let f: Ec2Fixture;
let ec2: EC2Client;

before(async () => {
  f = await ec2Fixture({ runtime: 'process' });
  ec2 = f.ec2;
});

after(() => f.stop());

test('kumo reports the process runtime', async () => {
  const health = (await (await fetch(`${f.kumo.url}/_kumo/health`)).json()) as { runtime: { mode: string; reason: string } };
  assert.equal(health.runtime.mode, 'process');
  assert.match(health.runtime.reason, /KUMO_RUNTIME=process/);
});

test('an instance runs its user data as a host process, once', { timeout: 60_000 }, async () => {
  const ami = await debianImageId(ec2);
  const r = await ec2.send(new RunInstancesCommand({
    ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro',
    UserData: Buffer.from('#!/bin/sh\necho "process-user-data $INSTANCE_ID"\n').toString('base64'),
  }));
  const id = r.Instances![0]!.InstanceId!;
  await waitForState(ec2, id, 'running', 30_000);
  await waitFor('the user data output', async () => (await consoleText(ec2, id)).includes(`process-user-data ${id}`), 30_000);
  await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'stopped', 30_000);
  await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'running', 30_000);
  assert.equal(occurrences(await consoleText(ec2, id), 'process-user-data'), 1, 'user data runs at first boot only');
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'terminated', 30_000);
});
