/**
 * kumo's own lifecycle with instances in it: `kumo stop` (SIGTERM) shuts every instance down
 * cleanly and leaves nothing on the host; the next start boots the instances whose rows say
 * running (their enabled services start again, user data does not). A kumo that dies (`kill -9`)
 * leaves its instances running, and the next kumo takes them over as they are: an instance
 * serving HTTP through its public IP answers every request across the crash and the restart,
 * from the same process (its in-memory counter never resets), and is not booted again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, DescribeInstanceStatusCommand, EC2Client, RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { clientConfig, ROOT, tempDir, waitFor } from '../helpers/kumo.js';
import { ensureDist, spawnKumo, type SpawnedKumo } from '../helpers/kumo-process.js';
import { consoleText, COUNTER_SERVICE, debianImageId, describeInstance, HELLO_SERVICE, occurrences, waitForState } from '../helpers/ec2.js';
import { leftovers, nativeSkipReason } from './support.js';
import { Fabric } from '../../src/runtime/network/fabric.js';
import { loopsUnder } from '../../src/runtime/loop.js';

const skip = nativeSkipReason();
const exec = promisify(execFile);
const dataDir = skip ? '' : tempDir('kumo-restart-');
let kumo: SpawnedKumo | undefined;

/** A web server that counts the requests it answered, in memory: a reboot would start it at 1 again. */
const USER_DATA = `#!/bin/bash
${HELLO_SERVICE}
${COUNTER_SERVICE}systemctl enable --now counter.service hello.service
echo user-data-ran
`;

async function boot(): Promise<EC2Client> {
  kumo = await spawnKumo(dataDir, ['--quiet']);
  return new EC2Client(clientConfig(kumo.url));
}

/** Stops kumo; after a clean stop, nothing of its VPC fabric (namespaces, veths, nft tables, slot lock) may remain. */
async function stopKumo(signal: NodeJS.Signals): Promise<string | undefined> {
  const slot = /fabric slot (\d+)/.exec(kumo!.output())?.[1];
  kumo!.child.kill(signal);
  await kumo!.exited;
  kumo = undefined;
  if (signal === 'SIGTERM' && slot !== undefined) assert.deepEqual(await Fabric.leftovers(Number(slot)), [], `fabric slot ${slot} left behind`);
  return slot;
}

/** One GET on a new connection: the counter's value, or the error that stood in for it. */
function hit(ip: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request({ host: ip, port: 80, path: '/', agent: false, timeout: 3_000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 ? Number(body) : `HTTP ${res.statusCode}`));
      res.on('error', (e) => resolve(e.message));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => resolve(e.message));
    req.end();
  });
}

/** Requests one after another until stopped; every answer in order. */
function load(ip: string): { results: (number | string)[]; stop(): Promise<void> } {
  const results: (number | string)[] = [];
  let running = true;
  const done = (async () => {
    while (running) results.push(await hit(ip));
  })();
  return { results, stop: async () => { running = false; await done; } };
}

async function instanceStatus(ec2: EC2Client, id: string): Promise<string | undefined> {
  const out = await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [id] }));
  return out.InstanceStatuses?.[0]?.InstanceStatus?.Status;
}

before(async () => {
  if (!skip) await ensureDist();
});

after(async () => {
  if (skip) return;
  if (kumo) await stopKumo('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

test('instances survive kumo stop/start, and a kill -9 of kumo interrupts nothing', { skip, timeout: 10 * 60_000 }, async (t) => {
  let ec2 = await boot();
  const ami = await debianImageId(ec2);
  const sg = await ec2.send(new CreateSecurityGroupCommand({ GroupName: `web-${process.pid}`, Description: 'web' }));
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg.GroupId, IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '0.0.0.0/0' }));
  const r = await ec2.send(new RunInstancesCommand({
    ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', SecurityGroupIds: [sg.GroupId!], UserData: Buffer.from(USER_DATA).toString('base64'),
  }));
  const id = r.Instances![0]!.InstanceId!;
  await waitForState(ec2, id, 'running');
  await waitFor('user data', async () => (await consoleText(ec2, id)).includes('user-data-ran'), 60_000);

  const stopping = Date.now();
  assert.ok((await stopKumo('SIGTERM')) !== undefined, 'the VPC data plane was up, and is gone');
  t.diagnostic(`kumo stop with one instance: ${Date.now() - stopping} ms`);
  assert.deepEqual(leftovers(id), [], 'kumo stop leaves no container, mount, namespace or cgroup of the instance');
  assert.deepEqual(await loopsUnder(dataDir), [], 'nor a loop device of its root volume');

  ec2 = await boot();
  await waitFor('the instance to boot again', async () => occurrences(await consoleText(ec2, id), 'hello-service-started') >= 2, 60_000);
  assert.equal((await waitForState(ec2, id, 'running', 10_000)).State?.Name, 'running');
  assert.equal(occurrences(await consoleText(ec2, id), 'user-data-ran'), 1, 'user data ran once');

  const ip = (await describeInstance(ec2, id)).PublicIpAddress!;
  await waitFor('the counter to answer on the public IP', async () => typeof (await hit(ip)) === 'number', 30_000);
  await waitFor('status checks to pass', async () => (await instanceStatus(ec2, id)) === 'ok', 60_000);

  const traffic = load(ip);
  await waitFor('traffic before the crash', () => traffic.results.length >= 20, 30_000);
  const crashed = Date.now();
  await stopKumo('SIGKILL');
  assert.ok(leftovers(id).some((l) => l.startsWith('process')), 'a killed kumo leaves its containers running');
  ec2 = await boot();
  await waitFor('the instance to be taken over (status checks pass again)', async () => (await instanceStatus(ec2, id)) === 'ok', 60_000);
  t.diagnostic(`kill -9 to taken over: ${Date.now() - crashed} ms`);
  const after = traffic.results.length;
  await waitFor('traffic after the takeover', () => traffic.results.length >= after + 20, 30_000);
  await traffic.stop();

  const failures = traffic.results.filter((x) => typeof x !== 'number');
  assert.deepEqual(failures, [], `no request failed across the crash and restart (${traffic.results.length} sent)`);
  const counts = traffic.results as number[];
  assert.ok(counts.every((c, i) => i === 0 || c === counts[i - 1]! + 1), 'one server process answered them all, counting on: it was never restarted');
  const seen = await consoleText(ec2, id);
  assert.equal(occurrences(seen, 'hello-service-started'), 2, 'the instance was not booted again');
  assert.match(kumo!.output(), /1 still running, taken over as they are/);
  const nspawns = leftovers(id).filter((l) => l.startsWith('process'));
  assert.equal(nspawns.length, 1, `one container for the instance, not two: ${nspawns.join('; ')}`);

  // An adopted instance is stopped by kumo stop as cleanly as one kumo booted itself.
  await stopKumo('SIGTERM');
  assert.deepEqual(leftovers(id), [], 'kumo stop ends adopted instances too');
  ec2 = await boot();
  await waitFor('the instance to boot again', async () => occurrences(await consoleText(ec2, id), 'hello-service-started') >= 3, 60_000);

  // A kumo that died and is never started again: `kumo reset` ends its instances and its network.
  const slot = await stopKumo('SIGKILL');
  assert.ok(slot !== undefined && (await Fabric.leftovers(Number(slot))).length > 0, 'a killed kumo leaves its fabric in place for its successor');
  await exec(process.execPath, [join(ROOT, 'bin', 'kumo.js'), 'reset', '--data-dir', dataDir]);
  assert.deepEqual(leftovers(id), [], 'kumo reset ends the instances a dead kumo left running');
  assert.deepEqual(await Fabric.leftovers(Number(slot)), [], 'and removes the network kept for them');
});

test('an instance terminated as soon as it runs leaves nothing, and neither does kumo stop', { skip, timeout: 5 * 60_000 }, async (t) => {
  const ec2 = await boot();
  const r = await ec2.send(new RunInstancesCommand({ ImageId: await debianImageId(ec2), MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }));
  const id = r.Instances![0]!.InstanceId!;
  await waitForState(ec2, id, 'running');
  const terminating = Date.now();
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'terminated', 60_000);
  // A halt asked for while the OS still boots used to be lost, and terminate waited out its 20 s deadline.
  t.diagnostic(`terminate of an instance still booting: ${Date.now() - terminating} ms`);
  await stopKumo('SIGTERM');
  assert.deepEqual(leftovers(id), []);
});
