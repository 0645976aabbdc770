/**
 * Instances that go wrong, and what EC2 then reports: a failing user data script (the instance
 * runs on; the console says why), an OS that powers itself off (stopped, or terminated when
 * InstanceInitiatedShutdownBehavior says so), a hung init and a dead one (status checks fail and
 * recover after a reboot). Needs root (skips otherwise; fails under KUMO_REQUIRE_NATIVE=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import {
  DescribeInstanceStatusCommand, RebootInstancesCommand, RunInstancesCommand, TerminateInstancesCommand, type EC2Client,
} from '@aws-sdk/client-ec2';
import { waitFor } from '../helpers/kumo.js';
import { consoleText, debianImageId, ec2Fixture, waitForState, type Ec2Fixture } from '../helpers/ec2.js';
import { nativeSkipReason } from './support.js';

const skip = nativeSkipReason();
let f: Ec2Fixture;
let ec2: EC2Client;
let ami = '';

before(async () => {
  if (skip) return;
  f = await ec2Fixture();
  ec2 = f.ec2;
  ami = await debianImageId(ec2);
});

after(async () => {
  if (skip) return;
  await f.stop();
});

async function launch(userData: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await ec2.send(new RunInstancesCommand({ ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', UserData: Buffer.from(userData).toString('base64'), ...extra }));
  return r.Instances![0]!.InstanceId!;
}

const consoleOf = (id: string) => consoleText(ec2, id);

async function instanceCheck(id: string): Promise<string | undefined> {
  const s = await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [id] }));
  return s.InstanceStatuses?.[0]?.InstanceStatus?.Status;
}

/** The container's init (its pid 1) as the host sees it: the child of the instance's systemd-nspawn. */
function containerInit(id: string): number {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.startsWith('systemd-nspawn') || !cmd.includes(`--machine=${id}`)) continue;
      const child = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
      if (child) return Number(child);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no container init for ${id}`);
}

test('a failing user data script leaves the instance running, and the console says why', { skip, timeout: 5 * 60_000 }, async () => {
  const id = await launch('#!/bin/sh\necho about-to-fail\nexit 3\n');
  await waitForState(ec2, id, 'running');
  const text = await waitFor('the script to end', async () => {
    const c = await consoleOf(id);
    return c.includes('user data exited with status 3') ? c : undefined;
  }, 60_000);
  assert.match(text!, /about-to-fail/);
  await waitFor('status ok', async () => (await instanceCheck(id)) === 'ok', 60_000);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'terminated', 60_000);
});

test('an OS that powers off stops the instance, or terminates it when told to', { skip, timeout: 5 * 60_000 }, async () => {
  const poweroff = '#!/bin/sh\nsystemctl poweroff --no-block\n';
  const stops = await launch(poweroff);
  const stopped = await waitForState(ec2, stops, 'stopped', 120_000);
  assert.equal(stopped.StateReason?.Code, 'Client.InstanceInitiatedShutdown');
  const ends = await launch(poweroff, { InstanceInitiatedShutdownBehavior: 'terminate' });
  const ended = await waitForState(ec2, ends, 'terminated', 120_000);
  assert.equal(ended.StateReason?.Code, 'Client.InstanceInitiatedShutdown');
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [stops] }));
  await waitForState(ec2, stops, 'terminated', 60_000);
});

test('a hung or dead instance fails its status check; a reboot brings it back', { skip, timeout: 5 * 60_000 }, async () => {
  const id = await launch('#!/bin/sh\necho up\n');
  await waitForState(ec2, id, 'running');
  await waitFor('status ok', async () => (await instanceCheck(id)) === 'ok', 60_000);

  const init = containerInit(id);
  process.kill(init, 'SIGSTOP');
  try {
    await waitFor('a hung init to fail the check', async () => (await instanceCheck(id)) === 'impaired', 30_000);
  } finally {
    process.kill(init, 'SIGCONT');
  }
  await waitFor('the check to pass again', async () => (await instanceCheck(id)) === 'ok', 30_000);

  process.kill(containerInit(id), 'SIGKILL');
  await waitFor('a dead instance to fail the check', async () => (await instanceCheck(id)) === 'impaired', 30_000);
  const s = await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [id] }));
  assert.equal(s.InstanceStatuses![0]!.InstanceState?.Name, 'running', 'EC2 still calls it running');
  assert.equal(s.InstanceStatuses![0]!.InstanceStatus?.Details?.[0]?.Status, 'failed');

  await ec2.send(new RebootInstancesCommand({ InstanceIds: [id] }));
  await waitFor('a reboot to bring it back', async () => (await instanceCheck(id)) === 'ok', 60_000);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'terminated', 60_000);
});
